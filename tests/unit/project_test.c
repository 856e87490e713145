/* project_test.c -- AppProject rules as Argo CD matches them, and the agent's bundle check */
#include "harness.h"

#include "gitfleet/error.h"
#include "gitfleet/project.h"
#include "gitfleet/yaml_parse.h"

#include <stdlib.h>
#include <string.h>

static gf_project *parse(const char *yaml)
{
    json_t *spec = NULL;
    gf_project *p = NULL;

    GF_ASSERT_INT(gf_yaml_parse_one(&spec, yaml, strlen(yaml), "spec", NULL), 0);
    GF_ASSERT_INT(gf_project_parse(&p, "team", spec), 0);
    json_decref(spec);
    return p;
}

static void test_project__globs(void)
{
    GF_ASSERT(gf_project_glob("*", "anything/at/all", '/'));
    GF_ASSERT(gf_project_glob("https://github.com/acme/*", "https://github.com/acme/web", '/'));
    GF_ASSERT(!gf_project_glob("https://github.com/acme/*", "https://github.com/acme/a/b", '/'));
    GF_ASSERT(gf_project_glob("https://github.com/acme/**", "https://github.com/acme/a/b", '/'));
    GF_ASSERT(gf_project_glob("shop-?", "shop-1", 0));
    GF_ASSERT(!gf_project_glob("shop-?", "shop-12", 0));
    GF_ASSERT(gf_project_glob("team-[a-c]", "team-b", 0));
    GF_ASSERT(!gf_project_glob("team-[!a-c]", "team-b", 0));
    GF_ASSERT(gf_project_glob("{prod,stage}-*", "stage-eu", 0));
    GF_ASSERT(!gf_project_glob("{prod,stage}-*", "dev-eu", 0));
    GF_ASSERT(gf_project_glob("", "", 0));
    GF_ASSERT(!gf_project_glob("", "x", 0));
}

static void test_project__sources(void)
{
    gf_project *p = parse("sourceRepos: ['https://github.com/acme/*', "
                          "'!https://github.com/acme/secret']\n");

    GF_ASSERT_INT(gf_project_check_source(p, "https://github.com/acme/web.git"), 0);
    GF_ASSERT_INT(gf_project_check_source(p, "https://bob:pw@GitHub.com/acme/web/"), 0);
    GF_ASSERT_INT(gf_project_check_source(p, "https://github.com/acme/secret"), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "denied by spec.sourceRepos[1]");
    /* as in Argo CD, a deny entry permits everything it does not deny */
    GF_ASSERT_INT(gf_project_check_source(p, "https://gitlab.com/acme/web"), 0);
    gf_project_free(p);
    p = parse("sourceRepos: ['https://github.com/acme/*']\n");
    GF_ASSERT_INT(gf_project_check_source(p, "https://gitlab.com/acme/web"), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "no spec.sourceRepos entry matches it");
    gf_project_free(p);
}

static void test_project__destinations(void)
{
    /* Argo CD: any entry matching permits, an unmatched deny pattern refuses */
    gf_project *p = parse("destinations:\n"
                          "- {server: 'https://prod-*', namespace: 'shop-*'}\n"
                          "- {name: dev, namespace: '*'}\n"
                          "- {name: '*', namespace: '!kube-system'}\n");

    GF_ASSERT_INT(gf_project_check_destination(p, "eu", "https://prod-eu", "shop-a"), 0);
    GF_ASSERT_INT(gf_project_check_destination(p, "dev", "gitfleet://dev", "anything"), 0);
    GF_ASSERT_INT(gf_project_check_destination(p, "dev", "gitfleet://dev", "kube-system"),
                  GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "denied by spec.destinations[2]");
    gf_project_free(p);
    p = parse("destinations: [{name: c1, namespace: shop}]\n");
    GF_ASSERT_INT(gf_project_check_destination(p, "c1", "gitfleet://c1", "shop"), 0);
    GF_ASSERT_INT(gf_project_check_destination(p, "c2", "gitfleet://c2", "shop"), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "does not match any of the allowed destinations");
    GF_ASSERT_INT(gf_project_check_destination(p, "c1", "gitfleet://c1", "other"), GF_EPERM);
    gf_project_free(p);
}

static void test_project__kinds(void)
{
    /* no lists: every namespaced kind, no cluster-scoped one */
    gf_project *p = parse("destinations: [{server: '*', namespace: '*'}]\n");

    GF_ASSERT_INT(gf_project_check_resource(p, "c", "s", "apps", "Deployment", "ns", "d"), 0);
    GF_ASSERT_INT(gf_project_check_resource(p, "c", "s", "", "Namespace", "", "ns"), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "cluster-scoped: spec.clusterResourceWhitelist does not list");
    gf_project_free(p);

    p = parse("destinations: [{server: '*', namespace: '*'}]\n"
              "clusterResourceWhitelist: [{group: '*', kind: '*'}]\n"
              "clusterResourceBlacklist: [{group: rbac.authorization.k8s.io, kind: 'Cluster*'}]\n"
              "namespaceResourceBlacklist: [{group: '', kind: Secret}]\n");
    GF_ASSERT_INT(gf_project_check_resource(p, "c", "s", "", "Namespace", "", "ns"), 0);
    GF_ASSERT_INT(gf_project_check_resource(p, "c", "s", "rbac.authorization.k8s.io",
                                            "ClusterRoleBinding", "", "x"),
                  GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "spec.clusterResourceBlacklist[0]");
    GF_ASSERT_INT(gf_project_check_resource(p, "c", "s", "", "Secret", "ns", "s"), GF_EPERM);
    GF_ASSERT_INT(gf_project_check_resource(p, "c", "s", "", "ConfigMap", "ns", "s"), 0);
    gf_project_free(p);

    /* an empty namespace whitelist allows nothing namespaced */
    p = parse("destinations: [{server: '*', namespace: '*'}]\nnamespaceResourceWhitelist: []\n");
    GF_ASSERT_INT(gf_project_check_resource(p, "c", "s", "", "ConfigMap", "ns", "s"), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "namespaced: spec.namespaceResourceWhitelist does not list");
    gf_project_free(p);
}

static void test_project__default_and_json(void)
{
    gf_project *p = NULL, *q = NULL;

    GF_ASSERT_INT(gf_project_default(&p), 0);
    GF_ASSERT_INT(gf_project_check_source(p, "https://anything/x"), 0);
    GF_ASSERT_INT(gf_project_check_destination(p, "", "https://k8s", "kube-system"), 0);
    GF_ASSERT_INT(gf_project_check_resource(p, "c", "s", "", "Namespace", "", "x"), 0);
    GF_ASSERT_INT(gf_project_check_app_namespace(p, "argocd"), 0);
    GF_ASSERT_INT(gf_project_check_app_namespace(p, "team-a"), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "spec.sourceNamespaces");
    json_t *spec = gf_project_spec_json(p);
    GF_ASSERT_INT(gf_project_parse(&q, "default", spec), 0);
    json_t *again = gf_project_spec_json(q);
    GF_ASSERT(json_equal(spec, again));
    json_decref(spec);
    json_decref(again);
    gf_project_free(p);
    gf_project_free(q);
}

static void test_project__bad_specs(void)
{
    const char *bad[] = {"sourceRepos: x\n", "destinations: [3]\n",
                         "destinations: [{server: '!*', namespace: a}]\n",
                         "clusterResourceWhitelist: [{group: x}]\n",
                         "namespaceResourceBlacklist: [{group: 1, kind: x}]\n"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *spec = NULL;
        gf_project *p = NULL;
        GF_ASSERT_INT(gf_yaml_parse_one(&spec, bad[i], strlen(bad[i]), "spec", NULL), 0);
        GF_ASSERT_INT(gf_project_parse(&p, "bad", spec), GF_EINVAL);
        GF_ASSERT_HAS(gf_error_last(), "AppProject bad: spec.");
        json_decref(spec);
    }
}

/* The agent's check: rules travel with the app; anything outside them
 * refuses the whole app. */
static void test_project__enforce_bundle(void)
{
    Gitfleet__Bundle b = GITFLEET__BUNDLE__INIT;
    Gitfleet__App *apps[3];
    const char *rules = "{\"destinations\":[{\"name\":\"c1\",\"namespace\":\"shop\"}]}";

    b.cluster = "c1";
    for (int i = 0; i < 3; i++) {
        apps[i] = calloc(1, sizeof(Gitfleet__App));
        gitfleet__app__init(apps[i]);
        apps[i]->name = strdup(i == 0 ? "ok" : i == 1 ? "wide" : "bare");
        apps[i]->namespace_ = strdup("shop");
        if (i < 2) {
            apps[i]->project = strdup("team");
            apps[i]->has_project_rules = 1;
            apps[i]->project_rules.data = (uint8_t *)strdup(rules);
            apps[i]->project_rules.len = strlen(rules);
        }
        Gitfleet__Resource *r = calloc(1, sizeof(*r));
        Gitfleet__ResourceId *id = calloc(1, sizeof(*id));
        gitfleet__resource__init(r);
        gitfleet__resource_id__init(id);
        id->group = strdup("");
        id->kind = strdup("ConfigMap");
        id->namespace_ = strdup(i == 1 ? "kube-system" : "shop");
        id->name = strdup("cm");
        r->id = id;
        apps[i]->resources = calloc(1, sizeof(*apps[i]->resources));
        apps[i]->resources[0] = r;
        apps[i]->n_resources = 1;
    }
    b.apps = apps;
    b.n_apps = 3;
    GF_ASSERT_INT(gf_project_enforce_bundle(&b), 2);
    GF_ASSERT(apps[0]->render_error == NULL);
    GF_ASSERT_INT(apps[0]->n_resources, 1);
    GF_ASSERT_INT(apps[1]->n_resources, 0);
    GF_ASSERT_HAS(apps[1]->render_error,
                  "refused by the agent: namespace kube-system of ConfigMap");
    GF_ASSERT_HAS(apps[2]->render_error, "carries no project rules");
    for (int i = 0; i < 3; i++)
        gitfleet__app__free_unpacked(apps[i], NULL);
}

GF_TESTS(GF_TEST(test_project__globs), GF_TEST(test_project__sources),
         GF_TEST(test_project__destinations), GF_TEST(test_project__kinds),
         GF_TEST(test_project__default_and_json), GF_TEST(test_project__bad_specs),
         GF_TEST(test_project__enforce_bundle));
