/* healthscripts_test.c -- argocd-cm keys, the resource_customizations layout, Argo CD's precedence
 */
#include "harness.h"

#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"
#include "gitfleet/healthscripts.h"
#include "gitfleet/yaml_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static json_t *yaml(const char *text)
{
    json_t *doc = NULL;

    if (gf_yaml_parse_one(&doc, text, strlen(text), "test", NULL) < 0)
        gf_test_fail(__FILE__, __LINE__, "%s", gf_error_last());
    return doc;
}

static int add_cm(gf_healthscripts *set, const char *text)
{
    json_t *cm = yaml(text);
    int error = gf_healthscripts_add_configmap(set, cm, "argocd/argocd-cm.yaml");

    json_decref(cm);
    return error;
}

/* The script text resolved for group/kind, "" when none. */
static const char *lua_for(const gf_healthscripts *set, const char *group, const char *kind)
{
    const struct gf_healthscript *s = gf_healthscripts_resolve(set, group, kind);

    return s ? s->lua : "";
}

static void test_healthscripts__configmap_split_keys(void)
{
    gf_healthscripts *set = NULL;

    GF_ASSERT_INT(gf_healthscripts_new(&set), 0);
    GF_ASSERT_INT(add_cm(set, "data:\n"
                              "  resource.customizations.health.cert-manager.io_Certificate: A\n"
                              "  resource.customizations.useOpenLibs.cert-manager.io_Certificate: "
                              "'true'\n"
                              "  resource.customizations.health.Secret: B\n"
                              "  resource.customizations.actions.apps_Deployment: ignored\n"
                              "  resource.customizations.ignoreDifferences.all: ignored\n"
                              "  resource.customizations.health: too few parts\n"
                              "  admin.enabled: 'false'\n"),
                  0);
    GF_ASSERT_STR(lua_for(set, "cert-manager.io", "Certificate"), "A");
    GF_ASSERT_INT(gf_healthscripts_resolve(set, "cert-manager.io", "Certificate")->use_open_libs,
                  1);
    GF_ASSERT_STR(gf_healthscripts_resolve(set, "cert-manager.io", "Certificate")->source,
                  "argocd/argocd-cm.yaml: "
                  "resource.customizations.health.cert-manager.io_Certificate");
    GF_ASSERT_STR(lua_for(set, "", "Secret"), "B");
    GF_ASSERT_STR(lua_for(set, "apps", "Deployment"), "");
    GF_ASSERT_STR(lua_for(set, "cert-manager.io", "Issuer"), "");
    gf_healthscripts_free(set);
}

static void test_healthscripts__configmap_block_and_precedence(void)
{
    gf_healthscripts *set = NULL;

    GF_ASSERT_INT(gf_healthscripts_new(&set), 0);
    /* the old block, then split keys that win; a wildcard below an exact key */
    GF_ASSERT_INT(add_cm(set,
                         "data:\n"
                         "  resource.customizations: |\n"
                         "    argoproj.io/Rollout:\n"
                         "      health.lua: BLOCK\n"
                         "      health.lua.useOpenLibs: true\n"
                         "    keda.sh/ScaledObject:\n"
                         "      health.lua: KEDA\n"
                         "  resource.customizations.health.argoproj.io_Rollout: SPLIT\n"
                         "  resource.customizations.health.*.crossplane.io_*: XP\n"
                         "  resource.customizations.health.aws.crossplane.io_Bucket: BUCKET\n"),
                  0);
    GF_ASSERT_STR(lua_for(set, "argoproj.io", "Rollout"), "SPLIT");
    GF_ASSERT_INT(gf_healthscripts_resolve(set, "argoproj.io", "Rollout")->use_open_libs, 1);
    GF_ASSERT_STR(lua_for(set, "keda.sh", "ScaledObject"), "KEDA");
    GF_ASSERT_STR(lua_for(set, "aws.crossplane.io", "Bucket"), "BUCKET");
    GF_ASSERT_STR(lua_for(set, "gcp.crossplane.io", "Instance"), "XP");
    GF_ASSERT_STR(lua_for(set, "crossplane.io", "X"), "");
    gf_healthscripts_free(set);
}

static void test_healthscripts__configmap_errors(void)
{
    gf_healthscripts *set = NULL;

    GF_ASSERT_INT(gf_healthscripts_new(&set), 0);
    GF_ASSERT_INT(add_cm(set, "data:\n  resource.customizations.health.a_b_c: x\n"), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "got group kind: 'a_b_c'");
    GF_ASSERT_INT(add_cm(set, "data:\n  resource.customizations.colour.a_B: x\n"), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "resource customization type colour not supported");
    GF_ASSERT_INT(add_cm(set, "data:\n  resource.customizations.useOpenLibs.a_B: maybe\n"),
                  GF_EINVAL);
    GF_ASSERT_INT(add_cm(set, "data:\n  resource.customizations: '[1'\n"), GF_EINVAL);
    GF_ASSERT_INT(add_cm(set, "data:\n  resource.customizations: 'a/B: {health.lua: 3}'\n"),
                  GF_EINVAL);
    GF_ASSERT_INT(add_cm(set, "data: [1]\n"), GF_EINVAL);
    GF_ASSERT_INT(add_cm(set, "metadata: {name: argocd-cm}\n"), 0); /* no data: nothing */
    gf_healthscripts_free(set);
}

static void write_script(const char *dir, const char *rel, const char *text)
{
    char path[2048];

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    GF_ASSERT_INT(gf_fs_mkdirs(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/%s/health.lua", dir, rel);
    GF_ASSERT_INT(gf_fs_write_atomic(path, text, strlen(text), 0644), 0);
}

static void test_healthscripts__directory_layout(void)
{
    const char *dir = gf_test_tmpdir();
    gf_healthscripts *set = NULL;

    write_script(dir, "cert-manager.io/Certificate", "CERT");
    write_script(dir, "_.crossplane.io/_", "XP-DIR");
    write_script(dir, "aws.crossplane.io/_", "AWS-DIR");
    write_script(dir, "ConfigMap", "CORE");
    write_script(dir, "apps/Deployment/actions/restart", "not a health script");
    GF_ASSERT_INT(gf_healthscripts_new(&set), 0);
    GF_ASSERT_INT(gf_healthscripts_load_dir(set, dir), 0);
    GF_ASSERT_STR(lua_for(set, "cert-manager.io", "Certificate"), "CERT");
    GF_ASSERT_INT(gf_healthscripts_resolve(set, "cert-manager.io", "Certificate")->use_open_libs,
                  1);
    GF_ASSERT_STR(lua_for(set, "", "ConfigMap"), "CORE");
    /* '_' matches within one segment; the first wildcard in sorted order
     * wins, as Argo CD sorts its wildcard directories ('_' < 'a') */
    GF_ASSERT_STR(lua_for(set, "gcp.crossplane.io", "Instance"), "XP-DIR");
    GF_ASSERT_STR(lua_for(set, "aws.crossplane.io", "Bucket"), "XP-DIR");
    GF_ASSERT_STR(lua_for(set, "crossplane.io", "X"), "");
    GF_ASSERT_STR(lua_for(set, "apps", "Deployment"), "");
    /* argocd-cm wins over the directory, exact or wildcard */
    GF_ASSERT_INT(add_cm(set, "data:\n"
                              "  resource.customizations.health.cert-manager.io_Certificate: CM\n"
                              "  resource.customizations.health.*.crossplane.io_Bucket: CM-XP\n"),
                  0);
    GF_ASSERT_STR(lua_for(set, "cert-manager.io", "Certificate"), "CM");
    GF_ASSERT_STR(lua_for(set, "aws.crossplane.io", "Bucket"), "CM-XP");
    GF_ASSERT_STR(lua_for(set, "aws.crossplane.io", "Other"), "XP-DIR");
    gf_healthscripts_free(set);

    GF_ASSERT_INT(gf_healthscripts_new(&set), 0);
    GF_ASSERT_INT(gf_healthscripts_load_dir(set, "/nonexistent/customizations"), GF_ENOTFOUND);
    gf_healthscripts_free(set);
}

GF_TESTS(GF_TEST(test_healthscripts__configmap_split_keys),
         GF_TEST(test_healthscripts__configmap_block_and_precedence),
         GF_TEST(test_healthscripts__configmap_errors),
         GF_TEST(test_healthscripts__directory_layout));
