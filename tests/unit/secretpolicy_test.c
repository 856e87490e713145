/* secretpolicy_test.c -- plain Secrets in Git: refused with their file named, opt-in, valueless
 * ones pass */
#include "harness.h"

#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"
#include "secretpolicy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(const char *rel, const char *text)
{
    char path[1024];

    snprintf(path, sizeof(path), "%s/repo/%s", gf_test_tmpdir(), rel);
    *strrchr(path, '/') = '\0';
    GF_ASSERT_INT(gf_fs_mkdirs(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/repo/%s", gf_test_tmpdir(), rel);
    GF_ASSERT_INT(gf_fs_write_atomic(path, text, strlen(text), 0644), 0);
}

static hub_filesrc *tree(void)
{
    char root[600];
    hub_filesrc *t = NULL;

    snprintf(root, sizeof(root), "%s/repo", gf_test_tmpdir());
    GF_ASSERT_INT(hub_filesrc_open_dir(&t, root, 0), 0);
    return t;
}

static json_t *secret(const char *name, int with_data)
{
    json_t *s = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "Secret",
                          "metadata", "name", name, "namespace", "db");
    if (with_data)
        json_object_set_new(s, "data", json_pack("{s:s}", "password", "cHc="));
    return s;
}

static void test_secretpolicy__plain_secret_refused_with_file(void)
{
    struct hub_app app = {.name = "db", .path = "apps/db"};
    hub_filesrc *t;
    json_t *docs;

    put("apps/db/config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n");
    put("apps/db/creds.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\n"
                              "stringData: {password: pw}\n");
    t = tree();
    /* Rendered with a kustomize prefix: still found by its name in the file. */
    docs = json_pack("[o]", secret("prod-creds", 1));
    GF_ASSERT_INT(hub_secretpolicy_check(&app, docs, t), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "apps/db/creds.yaml: Secret db/prod-creds holds plaintext");
    GF_ASSERT_HAS(gf_error_last(), HUB_SECRETPOLICY_ANNOTATION);
    app.allow_plain_secrets = 1;
    GF_ASSERT_INT(hub_secretpolicy_check(&app, docs, t), 0);
    json_decref(docs);
    hub_filesrc_free(t);
}

static void test_secretpolicy__generator_and_base_elsewhere(void)
{
    struct hub_app app = {.name = "db", .path = "apps/db/overlays/dev"};
    hub_filesrc *t;
    json_t *docs;

    put("apps/db/overlays/dev/kustomization.yaml", "resources: [../../base]\n");
    put("apps/db/base/kustomization.yaml",
        "secretGenerator:\n- name: gen\n  literals: [password=pw]\n");
    t = tree();
    docs = json_pack("[o]", secret("gen-5g7h8", 1));
    GF_ASSERT_INT(hub_secretpolicy_check(&app, docs, t), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "apps/db/base/kustomization.yaml: Secret db/gen-5g7h8");
    json_decref(docs);
    hub_filesrc_free(t);
}

static void test_secretpolicy__valueless_and_sealed_pass(void)
{
    struct hub_app app = {.name = "db", .path = "apps/db"};
    hub_filesrc *t;
    json_t *docs;

    put("apps/db/x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n");
    t = tree();
    docs = json_pack("[o, {s:s, s:s, s:{s:s}, s:{s:{s:s}}}]", secret("token", 0), "apiVersion",
                     "gitfleet.io/v1", "kind", "SealedSecret", "metadata", "name", "s", "spec",
                     "encryptedData", "k", "YWdl");
    GF_ASSERT_INT(hub_secretpolicy_check(&app, docs, t), 0);
    json_decref(docs);
    hub_filesrc_free(t);
}

GF_TESTS(GF_TEST(test_secretpolicy__plain_secret_refused_with_file),
         GF_TEST(test_secretpolicy__generator_and_base_elsewhere),
         GF_TEST(test_secretpolicy__valueless_and_sealed_pass));
