/* fleet_test.c -- the fleet model: Clusters, Applications, sync policies, bad input per app */
#include "harness.h"

#include "gitfleet/config.h"

#include "fleet.h"
#include "source.h"
#include "gitfleet/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GIT "git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main "

struct file {
    const char *path, *text;
};

/* Commit `files` to a new Git repository and return its tree at HEAD. */
static hub_filesrc *repo_tree(const struct file *files)
{
    char root[512], path[1024], commit[41];
    hub_source *src = NULL;
    hub_filesrc *tree = NULL;

    static int seq;

    snprintf(root, sizeof(root), "%s/repo%d", gf_test_tmpdir(), seq++);
    for (const struct file *f = files; f->path; f++) {
        snprintf(path, sizeof(path), "%s/%s", root, f->path);
        gf_test_write_file(path, f->text, strlen(f->text));
    }
    GF_ASSERT_INT(
        gf_test_sh("cd %s && " GIT "init -q . && " GIT "add -A && " GIT "commit -qm c", root), 0);
    GF_ASSERT_INT(hub_source_open(&src, root, NULL), 0);
    GF_ASSERT_INT(hub_source_resolve(commit, src, NULL), 0);
    GF_ASSERT_INT(hub_source_tree(&tree, src, commit), 0);
    hub_source_free(src);
    return tree;
}

static struct hub_fleet *load(const struct file *files, const struct hub_fleet_options *opts)
{
    hub_filesrc *tree = repo_tree(files);
    struct hub_fleet *fleet = NULL;

    GF_ASSERT_INT(hub_fleet_load(&fleet, tree, opts), 0);
    hub_filesrc_free(tree);
    return fleet;
}

static const struct hub_app *find_app(const struct hub_fleet *f, const char *name)
{
    for (size_t i = 0; i < f->n_apps; i++)
        if (strcmp(f->apps[i].name, name) == 0)
            return &f->apps[i];
    gf_test_fail(__FILE__, __LINE__, "no app %s", name);
}

#define CLUSTERS                                                                                   \
    {"clusters/a.yaml", "apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata:\n  name: prod-1\n"   \
                        "  labels:\n    env: prod\n    region: eu\nspec:\n  values:\n"             \
                        "    replicas: \"3\"\n    nested: {a: 1}\n"},                              \
    {                                                                                              \
        "clusters/b.yml", "apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata:\n  name: dev-1\n"  \
                          "  labels: {env: dev}\nspec:\n  server: https://dev.example:6443\n"      \
    }

static const char full_app[] = "apiVersion: argoproj.io/v1alpha1\n"
                               "kind: Application\n"
                               "metadata:\n  name: web\n  namespace: argocd\n"
                               "spec:\n"
                               "  project: shop\n"
                               "  source:\n"
                               "    repoURL: https://git.example/fleet.git\n"
                               "    targetRevision: main\n"
                               "    path: apps/web\n"
                               "    directory:\n      recurse: true\n"
                               "      include: '*.yaml'\n      exclude: '{a.yaml,b/*}'\n"
                               "  destination:\n    name: prod-1\n    namespace: shop\n"
                               "  syncPolicy:\n"
                               "    automated: {prune: true, selfHeal: true}\n"
                               "    syncOptions: [CreateNamespace=true, ServerSideApply=true]\n"
                               "    retry:\n      limit: 5\n"
                               "      backoff: {duration: 10s, factor: 3, maxDuration: 1h30m}\n"
                               "  ignoreDifferences:\n"
                               "    - group: apps\n      kind: Deployment\n"
                               "      jsonPointers: [/spec/replicas]\n";

static const char shop_project[] = "apiVersion: argoproj.io/v1alpha1\n"
                                   "kind: AppProject\n"
                                   "metadata: {name: shop, namespace: argocd}\n"
                                   "spec:\n"
                                   "  sourceRepos: ['https://git.example/*']\n"
                                   "  destinations: [{name: prod-1, namespace: shop}]\n";

static void test_fleet__clusters_and_full_application(void)
{
    const char *urls[] = {"https://git.example/fleet", NULL};
    struct hub_fleet_options opts = {.repo_urls = urls};
    const struct file files[] = {CLUSTERS,
                                 {"argocd/apps/web.yaml", full_app},
                                 {"argocd/projects/shop.yaml", shop_project},
                                 {NULL, NULL}};
    struct hub_fleet *f = load(files, &opts);
    const struct hub_cluster *c;
    const struct hub_app *a;

    GF_ASSERT_INT(f->n_problems, 0);
    GF_ASSERT_INT(f->n_clusters, 2);
    GF_ASSERT_STR(f->clusters[0].name, "dev-1"); /* sorted */
    GF_ASSERT_STR(f->clusters[0].server, "https://dev.example:6443");
    c = hub_fleet_cluster(f, "prod-1");
    GF_ASSERT(c != NULL);
    GF_ASSERT_STR(c->server, "gitfleet://prod-1");
    GF_ASSERT_STR(json_string_value(json_object_get(c->labels, "region")), "eu");
    GF_ASSERT_STR(json_string_value(json_object_get(c->values, "replicas")), "3");
    GF_ASSERT(hub_fleet_cluster(f, "nope") == NULL);

    GF_ASSERT_INT(f->n_apps, 1);
    a = &f->apps[0];
    GF_ASSERT(a->error == NULL);
    GF_ASSERT_STR(a->name, "web");
    GF_ASSERT_STR(a->cluster, "prod-1");
    GF_ASSERT_STR(a->namespace, "shop");
    GF_ASSERT_STR(a->project, "shop");
    GF_ASSERT_STR(a->path, "apps/web");
    GF_ASSERT_STR(a->target_revision, "main");
    GF_ASSERT_INT(a->recurse, 1);
    GF_ASSERT_STR(a->include, "*.yaml");
    GF_ASSERT_STR(a->exclude, "{a.yaml,b/*}");
    GF_ASSERT_STR(a->file, "argocd/apps/web.yaml");
    GF_ASSERT_STR(a->origin, "Application");
    GF_ASSERT_INT(a->policy.automated, 1);
    GF_ASSERT_INT(a->policy.prune, 1);
    GF_ASSERT_INT(a->policy.self_heal, 1);
    GF_ASSERT_INT(a->policy.n_sync_options, 2);
    GF_ASSERT_STR(a->policy.sync_options[1], "ServerSideApply=true");
    GF_ASSERT_INT(a->policy.retry.set, 1);
    GF_ASSERT_INT(a->policy.retry.limit, 5);
    GF_ASSERT_INT(a->policy.retry.backoff_ms, 10000);
    GF_ASSERT_INT(a->policy.retry.factor, 3);
    GF_ASSERT_INT(a->policy.retry.max_backoff_ms, 5400000);
    GF_ASSERT_INT(json_array_size(a->policy.ignore_differences), 1);

    json_t *pj = hub_fleet_policy_json(&a->policy);
    char *text = json_dumps(pj, JSON_SORT_KEYS | JSON_COMPACT);
    GF_ASSERT_HAS(text, "\"retry\":{\"backoffDurationMs\":10000,\"backoffFactor\":3,"
                        "\"backoffMaxDurationMs\":5400000,\"limit\":5}");
    GF_ASSERT_HAS(text, "\"selfHeal\":true");
    free(text);
    json_decref(pj);
    hub_fleet_free(f);
}

static void test_fleet__defaults_and_server_destination(void)
{
    const struct file files[] = {
        CLUSTERS,
        {"argocd/x.yml", "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
                         "metadata: {name: plain}\nspec:\n  source: {repoURL: ., path: p}\n"
                         "  destination: {server: 'https://dev.example:6443'}\n"
                         "  syncPolicy:\n    retry: {}\n---\n"
                         "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\n"
                         "metadata: {name: ignored}\n"},
        {NULL, NULL}};
    struct hub_fleet *f = load(files, NULL);
    const struct hub_app *a = find_app(f, "plain");

    GF_ASSERT_INT(f->n_problems, 0);
    GF_ASSERT_INT(f->n_apps, 1);
    GF_ASSERT(a->error == NULL);
    GF_ASSERT_STR(a->cluster, "dev-1");
    GF_ASSERT_STR(a->project, "default");
    GF_ASSERT_STR(a->namespace, "");
    GF_ASSERT_INT(a->recurse, 0);
    GF_ASSERT_INT(a->policy.automated, 0);
    GF_ASSERT_INT(a->policy.retry.limit, 0);
    GF_ASSERT_INT(a->policy.retry.backoff_ms, 5000);
    GF_ASSERT_INT(a->policy.retry.factor, 2);
    GF_ASSERT_INT(a->policy.retry.max_backoff_ms, 180000);
    hub_fleet_free(f);
}

static void test_fleet__durations(void)
{
    double ms = 0;

    GF_ASSERT_INT(gf_duration_parse_argo(&ms, "5s"), 0);
    GF_ASSERT_INT(ms, 5000);
    GF_ASSERT_INT(gf_duration_parse_argo(&ms, "3m"), 0);
    GF_ASSERT_INT(ms, 180000);
    GF_ASSERT_INT(gf_duration_parse_argo(&ms, "1h30m"), 0);
    GF_ASSERT_INT(ms, 5400000);
    GF_ASSERT_INT(gf_duration_parse_argo(&ms, "250ms"), 0);
    GF_ASSERT_INT(ms, 250);
    GF_ASSERT_INT(gf_duration_parse_argo(&ms, "1m30s500ms"), 0);
    GF_ASSERT_INT(ms, 90500);
    GF_ASSERT_INT(gf_duration_parse_argo(&ms, "1.5h"), 0);
    GF_ASSERT_INT(ms, 5400000);
    GF_ASSERT_INT(gf_duration_parse_argo(&ms, "30"), 0); /* Argo CD: seconds */
    GF_ASSERT_INT(ms, 30000);
    GF_ASSERT_INT(gf_duration_parse_argo(&ms, "5x"), GF_EINVAL);
    GF_ASSERT_INT(gf_duration_parse_argo(&ms, ""), GF_EINVAL);
    GF_ASSERT_INT(gf_duration_parse_argo(&ms, "h"), GF_EINVAL);
    GF_ASSERT_INT(gf_duration_parse_argo(&ms, "5s3"), GF_EINVAL);
    GF_ASSERT_INT(gf_duration_parse_argo(&ms, "-5s"), GF_EINVAL);
}

#define APP(name, spec)                                                                            \
    "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: " name                  \
    "}\nspec:\n" spec "---\n"
#define OK_SPEC "  source: {repoURL: '', path: apps/ok}\n  destination: {name: prod-1}\n"

/* Each invalid app fails alone, with file, object and field in its error. */
static void test_fleet__invalid_apps_fail_alone(void)
{
    const struct file files[] = {
        CLUSTERS,
        {"argocd/bad.yaml",
         APP("ok", OK_SPEC) APP("wrong-type", "  source: {repoURL: '', path: 7}\n"
                                              "  destination: {name: prod-1}\n")
             APP("no-path", "  source: {repoURL: ''}\n  destination: {name: prod-1}\n")
                 APP("no-cluster", "  source: {repoURL: '', path: p}\n"
                                   "  destination: {name: mars}\n")
                     APP("other-repo", "  source: {repoURL: 'https://other/x.git', path: p}\n"
                                       "  destination: {name: prod-1}\n")
                         APP("helm", "  source: {repoURL: '', chart: nginx}\n"
                                     "  destination: {name: prod-1}\n")
                             APP("bad-retry", OK_SPEC "  syncPolicy:\n    retry:\n"
                                                      "      backoff: {duration: soon}\n")
                                 APP("bad-prune", OK_SPEC "  syncPolicy:\n    automated:\n"
                                                          "      prune: 'yes'\n")
                                     APP("bad-opts", OK_SPEC "  syncPolicy:\n"
                                                             "    syncOptions: [1]\n")
                                         APP("Bad_Name", OK_SPEC)},
        {NULL, NULL}};
    struct hub_fleet *f = load(files, NULL);

    GF_ASSERT(find_app(f, "ok")->error == NULL);
    GF_ASSERT_STR(find_app(f, "wrong-type")->error,
                  "argocd/bad.yaml: Application wrong-type: spec.source.path: expected a string");
    GF_ASSERT_STR(find_app(f, "wrong-type")->cluster, "prod-1");
    GF_ASSERT_HAS(find_app(f, "no-path")->error, "spec.source.path: missing");
    GF_ASSERT_HAS(find_app(f, "no-cluster")->error,
                  "Application no-cluster: spec.destination.name: no Cluster named 'mars'");
    GF_ASSERT_HAS(find_app(f, "other-repo")->error, "spec.source.repoURL: 'https://other/x.git' "
                                                    "is another repository: unsupported");
    GF_ASSERT_HAS(find_app(f, "helm")->error, "spec.source.chart: not supported");
    GF_ASSERT_HAS(find_app(f, "bad-retry")->error, "spec.syncPolicy.retry.backoff.duration: "
                                                   "'soon': not a duration");
    GF_ASSERT_HAS(find_app(f, "bad-prune")->error,
                  "spec.syncPolicy.automated.prune: expected true or false");
    GF_ASSERT_HAS(find_app(f, "bad-opts")->error, "spec.syncPolicy.syncOptions: item 0");
    GF_ASSERT_HAS(find_app(f, "")->error, "metadata.name: 'Bad_Name' is not a DNS-1123 label");
    GF_ASSERT_INT(f->n_problems, 0);
    hub_fleet_free(f);
}

static void test_fleet__problems_not_tied_to_an_app(void)
{
    const struct file files[] = {
        CLUSTERS,
        {"clusters/bad.yaml", "apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata:\n"
                              "  name: x\n  labels: {env: [1]}\n"},
        {"clusters/dup.yaml",
         "apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: dev-1}\n"},
        {"clusters/kind.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"},
        {"clusters/notes.txt", "not yaml: ["},
        {"argocd/broken.yaml", "a: [1,\n"},
        {"argocd/v1.yaml", "apiVersion: argoproj.io/v1\nkind: Application\nmetadata: {name: q}\n"},
        {"argocd/ok.yaml", APP("ok", OK_SPEC) APP("ok", OK_SPEC)},
        {NULL, NULL}};
    struct hub_fleet *f = load(files, NULL);
    char all[8192] = "";

    for (size_t i = 0; i < f->n_problems; i++)
        snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s\n", f->problems[i]);
    GF_ASSERT_INT(f->n_problems, 5);
    GF_ASSERT_HAS(all, "clusters/bad.yaml: Cluster x: metadata.labels: 'env': expected a string");
    GF_ASSERT_HAS(all, "clusters/dup.yaml: Cluster dev-1: metadata.name: another Cluster");
    GF_ASSERT_HAS(all, "clusters/kind.yaml: Cluster: apiVersion: expected gitfleet.io/v1");
    GF_ASSERT_HAS(all, "argocd/broken.yaml:");
    GF_ASSERT_HAS(all, "argocd/v1.yaml: Application: apiVersion: 'argoproj.io/v1', expected");
    GF_ASSERT_INT(f->n_clusters, 2);
    /* The valid apps survive, but two of one name on one cluster cannot both be. */
    GF_ASSERT_INT(f->n_apps, 2);
    GF_ASSERT(f->apps[0].error == NULL);
    GF_ASSERT_HAS(f->apps[1].error, "metadata.name: also defined in argocd/ok.yaml");
    hub_fleet_free(f);
}

static void test_fleet__options_and_missing_dirs(void)
{
    const struct file files[] = {CLUSTERS,
                                 {"deploy/apps.yaml", APP("ok", OK_SPEC)},
                                 {"argocd/ignored.yaml", APP("ignored", OK_SPEC)},
                                 {NULL, NULL}};
    struct hub_fleet_options opts = {.apps_dir = "deploy"};
    struct hub_fleet *f = load(files, &opts);
    hub_filesrc *tree;

    GF_ASSERT_INT(f->n_apps, 1);
    GF_ASSERT_STR(f->apps[0].name, "ok");
    hub_fleet_free(f);

    opts.apps_dir = "nowhere";
    f = load(files, &opts);
    GF_ASSERT_INT(f->n_apps, 0);
    GF_ASSERT_INT(f->n_problems, 1);
    GF_ASSERT_HAS(f->problems[0], "nowhere: no such directory");
    hub_fleet_free(f);

    const struct file none[] = {{"README", "x"}, {NULL, NULL}};
    tree = repo_tree(none);
    GF_ASSERT_INT(hub_fleet_load(&f, tree, NULL), GF_ENOTFOUND);
    GF_ASSERT_HAS(gf_error_last(), "clusters");
    hub_filesrc_free(tree);
}

#define ROLLING_APPSET(name, strategy)                                                             \
    "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: " name "}\n"         \
    "spec:\n  generators:\n    - clusters: {}\n  template:\n"                                      \
    "    metadata:\n      name: '" name "-{{name}}'\n"                                             \
    "      labels: {env: '{{metadata.labels.env}}'}\n"                                             \
    "    spec:\n      source: {repoURL: '', path: apps/web}\n"                                     \
    "      destination: {name: '{{name}}'}\n"                                                      \
    "  strategy:\n" strategy "---\n"

/* Generated apps keep their labels and their ApplicationSet; a strategy is
 * read per ApplicationSet, and a broken one fails its apps, not the fleet. */
static void test_fleet__appset_strategy_and_labels(void)
{
    const struct file files[] = {
        CLUSTERS,
        {"argocd/sets.yaml",
         ROLLING_APPSET("web", "    type: RollingSync\n    rollingSync:\n      steps:\n"
                               "        - matchExpressions:\n"
                               "            - {key: env, operator: In, values: [dev]}\n"
                               "        - matchExpressions:\n"
                               "            - {key: env, operator: In, values: [prod]}\n"
                               "          maxUpdate: 10%\n")
             ROLLING_APPSET("bad", "    type: RollingSync\n    rollingSync:\n"
                                   "      steps: [{maxUpdate: lots}]\n")},
        {NULL, NULL}};
    struct hub_fleet *f = load(files, NULL);
    const struct hub_fleet_appset *set;
    const struct hub_app *a = find_app(f, "web-prod-1");

    GF_ASSERT_INT(f->n_appsets, 2);
    GF_ASSERT((set = hub_fleet_appset(f, "web")) != NULL);
    GF_ASSERT_INT(set->strategy.rolling, 1);
    GF_ASSERT_INT(set->strategy.n_steps, 2);
    GF_ASSERT(a->error == NULL);
    GF_ASSERT_STR(a->appset, "web");
    GF_ASSERT_STR(json_string_value(json_object_get(a->labels, "env")), "prod");
    GF_ASSERT_INT(hub_strategy_step_of(&set->strategy, a->labels), 1);
    GF_ASSERT_HAS(find_app(f, "bad-dev-1")->error,
                  "ApplicationSet bad: spec.strategy.rollingSync.steps[0].maxUpdate: 'lots'");
    GF_ASSERT(hub_fleet_appset(f, "nope") == NULL);
    hub_fleet_free(f);
}

GF_TESTS(GF_TEST(test_fleet__clusters_and_full_application),
         GF_TEST(test_fleet__appset_strategy_and_labels),
         GF_TEST(test_fleet__defaults_and_server_destination), GF_TEST(test_fleet__durations),
         GF_TEST(test_fleet__invalid_apps_fail_alone),
         GF_TEST(test_fleet__problems_not_tied_to_an_app),
         GF_TEST(test_fleet__options_and_missing_dirs));
