/* render_test.c -- rendering apps into bundles: manifests, namespaces, tracking, order, cache */
#include "harness.h"

#include "fleet.h"
#include "render.h"
#include "source.h"
#include "gitfleet/error.h"
#include "gitfleet/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GIT "git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main "

struct file {
    const char *path, *text;
};

struct world {
    char root[512];
    hub_source *src;
    hub_filesrc *tree;
    struct hub_fleet *fleet;
    char commit[41];
};

/* Write `files` (NULL text: delete) into the work tree and commit them. */
static void commit_files(struct world *w, const struct file *files, const char *msg)
{
    char path[1024];

    for (const struct file *f = files; f->path; f++) {
        snprintf(path, sizeof(path), "%s/%s", w->root, f->path);
        if (f->text == NULL)
            GF_ASSERT_INT(gf_test_sh("rm -f %s", path), 0);
        else if (strncmp(f->text, "@link:", 6) == 0)
            GF_ASSERT_INT(
                gf_test_sh("mkdir -p $(dirname %s) && ln -sf %s %s", path, f->text + 6, path), 0);
        else
            gf_test_write_file(path, f->text, strlen(f->text));
    }
    GF_ASSERT_INT(gf_test_sh("cd %s && " GIT "add -A && " GIT "commit -qm '%s'", w->root, msg), 0);
}

/* (Re)load the fleet at HEAD. */
static void load_head(struct world *w)
{
    hub_fleet_free(w->fleet);
    hub_filesrc_free(w->tree);
    GF_ASSERT_INT(hub_source_resolve(w->commit, w->src, NULL), 0);
    GF_ASSERT_INT(hub_source_tree(&w->tree, w->src, w->commit), 0);
    GF_ASSERT_INT(hub_fleet_load(&w->fleet, w->tree, NULL), 0);
}

static void world_init(struct world *w, const struct file *files)
{
    static int seq;

    memset(w, 0, sizeof(*w));
    snprintf(w->root, sizeof(w->root), "%s/repo%d", gf_test_tmpdir(), seq++);
    GF_ASSERT_INT(gf_test_sh("mkdir -p %s && cd %s && " GIT "init -q .", w->root, w->root), 0);
    commit_files(w, files, "first");
    GF_ASSERT_INT(hub_source_open(&w->src, w->root, NULL), 0);
    load_head(w);
}

static void world_free(struct world *w)
{
    hub_fleet_free(w->fleet);
    hub_filesrc_free(w->tree);
    hub_source_free(w->src);
}

static int tree_at(hub_filesrc **out, char commit_out[41], void *arg, const char *revision)
{
    struct world *w = arg;
    int error = hub_source_resolve(commit_out, w->src, revision);

    return error < 0 ? error : hub_source_tree(out, w->src, commit_out);
}

static struct hub_bundle *render(struct world *w, struct hub_render_cache *cache,
                                 const char *cluster)
{
    struct hub_render_ctx ctx = {
        .tree = w->tree, .revision = w->commit, .tree_at = tree_at, .tree_arg = w, .cache = cache};
    struct hub_bundle *b = NULL;

    GF_ASSERT_INT(hub_render_cluster(&b, &ctx, w->fleet, cluster, NULL), 0);
    return b;
}

static const struct hub_bundle_app *bundle_app(const struct hub_bundle *b, const char *name)
{
    for (size_t i = 0; i < b->n_apps; i++)
        if (strcmp(b->apps[i].app->name, name) == 0)
            return &b->apps[i];
    gf_test_fail(__FILE__, __LINE__, "bundle of %s has no app %s", b->cluster, name);
}

/* "Kind/ns/name" of every resource in apply order, joined by spaces. */
static void order_text(char *out, size_t cap, const struct hub_bundle *b)
{
    size_t n = 0;

    out[0] = '\0';
    for (size_t i = 0; i < b->n_order && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s/%s/%s", i ? " " : "", b->order[i]->kind,
                              b->order[i]->namespace, b->order[i]->name);
}

#define CLUSTER(name, env)                                                                         \
    "apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata:\n  name: " name "\n"                     \
    "  labels: {env: " env "}\n"
#define APP(name, cluster, path, extra)                                                            \
    "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: " name "}\nspec:\n"     \
    "  source: {repoURL: '', path: " path extra "}\n"                                              \
    "  destination: {name: " cluster ", namespace: shop}\n---\n"
#define CM(name, extra)                                                                            \
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " name "\n" extra "data: {k: v}\n"

static const struct file plain_files[] = {
    {"clusters/c.yaml", CLUSTER("c1", "prod") "---\n" CLUSTER("c2", "prod")},
    {"argocd/apps.yaml",
     APP("plain", "c1", "apps/plain", "") APP("deep", "c2", "apps/plain",
                                              ", directory: {recurse: true, include: '*.yaml', "
                                              "exclude: '{skip.yaml,sub/y*}'}")},
    {"apps/plain/a.yaml", CM("cm-a", "") "---\n---\n"
                                         "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
                                         "  name: d\n  annotations:\n"
                                         "    argocd.argoproj.io/sync-wave: '1'\n"
                                         "spec: {replicas: 1}\n"},
    {"apps/plain/b.yml", "apiVersion: v1\nkind: Service\nmetadata: {name: svc}\n"},
    {"apps/plain/c.json", "{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": "
                          "{\"name\": \"s1\", \"namespace\": \"other\"}}"},
    {"apps/plain/list.yaml", "apiVersion: v1\nkind: List\nitems:\n"
                             "- {apiVersion: v1, kind: ConfigMap, metadata: {name: cm-l}}\n"},
    {"apps/plain/rbac.yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
                             "metadata: {name: cr}\n---\n"
                             "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"},
    {"apps/plain/README.md", "not a manifest"},
    {"apps/plain/skip.yaml", CM("skipped", "")},
    {"apps/plain/sub/x.yaml", CM("cm-sub", "")},
    {"apps/plain/sub/y.yaml", CM("cm-y", "")},
    {NULL, NULL}};

static void test_render__plain_manifests(void)
{
    struct world w;
    struct hub_bundle *b;
    char order[4096];

    world_init(&w, plain_files);
    GF_ASSERT_INT(w.fleet->n_problems, 0);
    b = render(&w, NULL, "c1");
    GF_ASSERT_INT(hub_bundle_failures(b), 0);
    order_text(order, sizeof(order), b);
    GF_ASSERT_STR(order, "Namespace//shop Secret/other/s1 ConfigMap/shop/cm-a ConfigMap/shop/cm-l "
                         "ConfigMap/shop/skipped ClusterRole//cr Service/shop/svc "
                         "Deployment/shop/d");
    GF_ASSERT_INT(b->order[7]->wave, 1);
    GF_ASSERT_STR(b->order[7]->group, "apps");
    GF_ASSERT_STR(b->order[7]->version, "v1");
    const json_t *md = json_object_get(b->order[2]->body, "metadata");
    GF_ASSERT_STR(json_string_value(json_object_get(md, "namespace")), "shop");
    GF_ASSERT_STR(
        json_string_value(json_object_get(json_object_get(md, "labels"), "gitfleet.io/app")),
        "plain");
    GF_ASSERT_STR(json_string_value(json_object_get(json_object_get(md, "annotations"),
                                                    "gitfleet.io/tracking-id")),
                  "plain:/ConfigMap:shop/cm-a");
    md = json_object_get(b->order[5]->body, "metadata"); /* ClusterRole: no namespace */
    GF_ASSERT(json_object_get(md, "namespace") == NULL);
    GF_ASSERT_STR(json_string_value(json_object_get(json_object_get(md, "annotations"),
                                                    "gitfleet.io/tracking-id")),
                  "plain:rbac.authorization.k8s.io/ClusterRole:/cr");
    hub_bundle_free(b);

    /* recurse + include/exclude: only .yaml, sub/ included, skip.yaml and sub/y* out */
    b = render(&w, NULL, "c2");
    order_text(order, sizeof(order), b);
    GF_ASSERT_STR(order, "Namespace//shop ConfigMap/shop/cm-a ConfigMap/shop/cm-l "
                         "ConfigMap/shop/cm-sub ClusterRole//cr Deployment/shop/d");
    hub_bundle_free(b);
    world_free(&w);
}

static void test_render__scopes_waves_and_kind_order(void)
{
    static const struct file files[] = {
        {"clusters/c.yaml", CLUSTER("c1", "prod")},
        {"argocd/apps.yaml", APP("crds", "c1", "apps/crds", "") APP("late", "c1", "apps/late", "")},
        {"apps/crds/crd.yaml",
         "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
         "metadata: {name: widgets.example.io}\n"
         "spec: {group: example.io, scope: Cluster, names: {kind: Widget, plural: widgets}}\n"},
        {"apps/late/objs.yaml",
         "apiVersion: example.io/v1\nkind: Widget\nmetadata: {name: a-w}\n---\n"
         "apiVersion: other.io/v1\nkind: Gadget\nmetadata: {name: z-g}\n---\n"
         "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: pre\n  annotations:\n"
         "    gitfleet.io/sync-wave: '-2'\n---\n"
         "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: a-sts}\n---\n"
         "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: z-dep}\n---\n" CM(
             "b-cm",
             "") "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"
                 "  annotations: {argocd.argoproj.io/sync-wave: '5'}\n---\n"
                 "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
                 "metadata:\n  name: things.t.io\n  annotations: {gitfleet.io/sync-wave: '3'}\n"
                 "spec: {group: t.io, scope: Namespaced, names: {kind: Thing, plural: "
                 "things}}\n---\n"
                 "apiVersion: t.io/v1\nkind: Thing\nmetadata: {name: th}\n"},
        {NULL, NULL}};
    struct world w;
    struct hub_bundle *b;
    char order[4096];

    world_init(&w, files);
    b = render(&w, NULL, "c1");
    GF_ASSERT_INT(hub_bundle_failures(b), 0);
    order_text(order, sizeof(order), b);
    /* wave -2 first; then Argo CD's kind order; unknown kinds last, by name. The
     * Namespace and the CRD move up to the wave of the first object needing them. */
    GF_ASSERT_STR(order, "Namespace//shop Job/shop/pre ConfigMap/shop/b-cm "
                         "CustomResourceDefinition//things.t.io "
                         "CustomResourceDefinition//widgets.example.io Deployment/shop/z-dep "
                         "StatefulSet/shop/a-sts Widget//a-w Thing/shop/th Gadget/shop/z-g");
    GF_ASSERT_INT(b->order[0]->wave, -2);
    GF_ASSERT_INT(b->order[1]->wave, -2);
    GF_ASSERT_INT(b->order[3]->wave, 0);
    GF_ASSERT_INT(hub_render_kind_rank("Namespace"), 0);
    GF_ASSERT(hub_render_kind_rank("APIService") < hub_render_kind_rank("Gadget"));
    /* each app's own list is in apply order too */
    const struct hub_bundle_app *late = bundle_app(b, "late");
    GF_ASSERT_INT(late->n_resources, 9);
    GF_ASSERT_STR(late->resources[0].kind, "Namespace");
    GF_ASSERT_STR(late->resources[1].name, "pre");
    GF_ASSERT_STR(late->resources[8].kind, "Gadget");
    hub_bundle_free(b);
    world_free(&w);
}

#define HOOK_JOB                                                                                   \
    "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: migrate-\n"                       \
    "  annotations: {argocd.argoproj.io/hook: PreSync}\n"

static void test_render__conflicts_and_failures_stay_per_app(void)
{
    static const struct file files[] = {
        {"clusters/c.yaml", CLUSTER("c1", "prod")},
        {"argocd/apps.yaml",
         APP("a-first", "c1", "apps/one", "") APP("b-second", "c1", "apps/two", "")
             APP("c-other-ns", "c1", "apps/three", "") APP("missing", "c1", "apps/nothing", "")
                 APP("kust", "c1", "apps/kust", "") APP("badwave", "c1", "apps/badwave", "") APP(
                     "badyaml", "c1", "apps/badyaml", "") APP("noname", "c1", "apps/noname", "")
                     APP("hooks", "c1", "apps/hooks", "") APP("nohook", "c1", "apps/nohook", "")
                         APP("dup", "c1", "apps/dup", "") APP("file", "c1", "apps/one/cm.yaml", "")
                             APP("badns", "c1", "apps/badns", "") APP("bad-type", "c1", "7", "")},
        {"apps/one/cm.yaml", CM("shared", "")},
        {"apps/two/cm.yaml", CM("shared", "") "---\n" CM("only-two", "")},
        {"apps/three/cm.yaml", CM("shared", "  namespace: elsewhere\n")},
        {"apps/kust/kustomization.yaml", "resources: [cm.yaml, gone.yaml]\n"},
        {"apps/kust/cm.yaml", CM("k", "")},
        {"apps/badwave/cm.yaml", CM("w", "  annotations: {argocd.argoproj.io/sync-wave: soon}\n")},
        {"apps/badyaml/cm.yaml", "a: [1,\n"},
        {"apps/noname/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"},
        {"apps/hooks/jobs.yaml", HOOK_JOB "---\n" HOOK_JOB},
        {"apps/nohook/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: x-}\n"},
        {"apps/badns/cm.yaml", CM("n", "  namespace: [x]\n")},
        {"apps/dup/cm.yaml", CM("d", "") "---\n" CM("d", "")},
        {"7/cm.yaml", CM("seven", "")},
        {NULL, NULL}};
    struct world w;
    struct hub_bundle *b;

    world_init(&w, files);
    b = render(&w, NULL, "c1");
    GF_ASSERT(bundle_app(b, "a-first")->error == NULL);
    GF_ASSERT_INT(bundle_app(b, "a-first")->n_resources, 1);
    GF_ASSERT(bundle_app(b, "c-other-ns")->error == NULL);
    GF_ASSERT_INT(b->n_conflicts, 1);
    GF_ASSERT_STR(b->conflicts[0],
                  "apps a-first and b-second both claim core/ConfigMap shop/shared on cluster c1");
    GF_ASSERT_HAS(bundle_app(b, "b-second")->error, "both claim");
    GF_ASSERT_INT(bundle_app(b, "b-second")->n_resources, 0);
    GF_ASSERT_HAS(bundle_app(b, "missing")->error,
                  "app missing: spec.source.path: 'apps/nothing' does not exist");
    GF_ASSERT_HAS(bundle_app(b, "kust")->error, "app kust: kustomize build apps/kust: ");
    GF_ASSERT_HAS(bundle_app(b, "kust")->error, "gone.yaml");
    GF_ASSERT_HAS(bundle_app(b, "badwave")->error,
                  "ConfigMap w: metadata.annotations[argocd.argoproj.io/sync-wave]: 'soon'");
    GF_ASSERT_HAS(bundle_app(b, "badyaml")->error, "apps/badyaml/cm.yaml:");
    GF_ASSERT_HAS(bundle_app(b, "noname")->error, "metadata.name are needed");
    /* hooks named at sync time: kept, tracked by their generateName, never a duplicate */
    GF_ASSERT(bundle_app(b, "hooks")->error == NULL);
    GF_ASSERT_INT(bundle_app(b, "hooks")->n_resources, 2);
    GF_ASSERT_STR(bundle_app(b, "hooks")->resources[0].name, "");
    GF_ASSERT_STR(
        json_string_value(json_object_get(
            json_object_get(json_object_get(bundle_app(b, "hooks")->resources[0].body, "metadata"),
                            "annotations"),
            "gitfleet.io/tracking-id")),
        "hooks:batch/Job:shop/migrate-");
    GF_ASSERT_HAS(bundle_app(b, "nohook")->error,
                  "ConfigMap x-: metadata.generateName is only allowed on hooks");
    GF_ASSERT_HAS(bundle_app(b, "dup")->error, "core/ConfigMap shop/d appears twice");
    GF_ASSERT_HAS(bundle_app(b, "file")->error, "is not a directory");
    GF_ASSERT_HAS(bundle_app(b, "bad-type")->error, "spec.source.path: expected a string");
    GF_ASSERT_HAS(bundle_app(b, "badns")->error,
                  "ConfigMap n: metadata.namespace: expected a string");
    GF_ASSERT_INT(hub_bundle_failures(b), 11);
    GF_ASSERT_INT(b->n_order, 4);
    hub_bundle_free(b);

    struct hub_render_ctx ctx = {.tree = w.tree, .revision = w.commit};
    GF_ASSERT_INT(hub_render_cluster(&b, &ctx, w.fleet, "mars", NULL), GF_ENOTFOUND);
    GF_ASSERT_HAS(gf_error_last(), "no cluster named 'mars'");
    GF_ASSERT_INT(hub_render_cluster(&b, &ctx, w.fleet, "c1", "nope"), GF_ENOTFOUND);
    GF_ASSERT_INT(hub_render_cluster(&b, &ctx, w.fleet, "c1", "a-first"), 0);
    GF_ASSERT_INT(b->n_apps, 1);
    hub_bundle_free(b);
    world_free(&w);
}

#define SET(name, path)                                                                            \
    "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: " name "}\n"         \
    "spec:\n  generators: [{clusters: {}}]\n  template:\n"                                         \
    "    metadata: {name: '" name "-{{name}}'}\n    spec:\n"                                       \
    "      source: {repoURL: '', path: " path "}\n"                                                \
    "      destination: {name: '{{name}}', namespace: '{{metadata.labels.env}}'}\n---\n"

static void render_all(struct world *w, struct hub_render_cache *cache, const char *check)
{
    static const char *const names[] = {"c1", "c2", "c3"};

    for (int i = 0; i < 3; i++) {
        struct hub_bundle *b = render(w, cache, names[i]);
        json_t *j = hub_bundle_json(b);
        char *text = json_dumps(j, JSON_COMPACT);
        GF_ASSERT_INT(hub_bundle_failures(b), 0);
        if (check != NULL)
            GF_ASSERT_HAS(text, check);
        free(text);
        json_decref(j);
        hub_bundle_free(b);
    }
    hub_render_cache_sweep(cache);
}

static void expect_stats(struct hub_render_cache *cache, unsigned long hits, unsigned long misses)
{
    unsigned long h, m;

    hub_render_cache_stats(cache, &h, &m);
    GF_ASSERT_INT(h, hits);
    GF_ASSERT_INT(m, misses);
}

static void render_all_two(struct world *w, struct hub_render_cache *cache)
{
    hub_bundle_free(render(w, cache, "c1"));
    hub_bundle_free(render(w, cache, "c2"));
    hub_render_cache_sweep(cache);
}

/* Three clusters share two apps: each renders once; a commit that touches
 * one app re-renders only that one, and what a symlink reads counts too. */
static void test_render__cache_shared_and_incremental(void)
{
    static const struct file files[] = {
        {"clusters/c.yaml",
         CLUSTER("c1", "prod") "---\n" CLUSTER("c2", "prod") "---\n" CLUSTER("c3", "dev")},
        {"argocd/sets.yaml", SET("web", "apps/web") SET("api", "apps/api")},
        {"apps/web/cm.yaml", CM("web", "")},
        {"apps/web/shared.yaml", "@link:../../shared/cm.yaml"},
        {"shared/cm.yaml", CM("shared-v1", "")},
        {"apps/api/cm.yaml", CM("api-v1", "")},
        {NULL, NULL}};
    static const struct file change_api[] = {
        {"apps/api/cm.yaml", CM("api-v2", "")}, {"README", "unrelated"}, {NULL, NULL}};
    static const struct file change_shared[] = {{"shared/cm.yaml", CM("shared-v2", "")},
                                                {NULL, NULL}};
    struct hub_render_cache *cache = NULL;
    struct world w;

    world_init(&w, files);
    GF_ASSERT_INT(hub_render_cache_new(&cache), 0);
    render_all(&w, cache, "-v1");
    expect_stats(cache, 4, 2);

    commit_files(&w, change_api, "api only");
    load_head(&w);
    render_all(&w, cache, "api-v2");
    expect_stats(cache, 4 + 5, 2 + 1);

    commit_files(&w, change_shared, "outside the web tree, read through a symlink");
    load_head(&w);
    render_all(&w, cache, "shared-v2");
    expect_stats(cache, 9 + 5, 3 + 1);

    /* Nothing changed: all hits. */
    render_all(&w, cache, NULL);
    expect_stats(cache, 14 + 6, 4);
    hub_render_cache_free(cache);
    world_free(&w);
}

static void test_render__target_revision(void)
{
    static const struct file files[] = {
        {"clusters/c.yaml", CLUSTER("c1", "prod")},
        {"argocd/apps.yaml", APP("pinned", "c1", "apps/web", ", targetRevision: v1")
                                 APP("head", "c1", "apps/api", ", targetRevision: HEAD")},
        {"apps/web/cm.yaml", CM("web-v1", "")},
        {"apps/api/cm.yaml", CM("api-v1", "")},
        {NULL, NULL}};
    static const struct file v2[] = {{"apps/web/cm.yaml", CM("web-v2", "")},
                                     {"apps/api/cm.yaml", CM("api-v2", "")},
                                     {NULL, NULL}};
    struct world w;
    struct hub_bundle *b;
    char v1commit[41];

    world_init(&w, files);
    GF_ASSERT_INT(gf_test_sh("cd %s && git tag v1", w.root), 0);
    GF_ASSERT_INT(hub_source_resolve(v1commit, w.src, "v1"), 0);
    commit_files(&w, v2, "v2");
    load_head(&w);
    b = render(&w, NULL, "c1");
    GF_ASSERT_INT(hub_bundle_failures(b), 0);
    GF_ASSERT_STR(bundle_app(b, "pinned")->resources[0].name, "web-v1");
    GF_ASSERT_STR(bundle_app(b, "pinned")->revision, v1commit);
    GF_ASSERT_STR(bundle_app(b, "head")->resources[0].name, "api-v2");
    GF_ASSERT_STR(bundle_app(b, "head")->revision, w.commit);
    hub_bundle_free(b);

    struct hub_render_ctx ctx = {.tree = w.tree, .revision = w.commit};
    GF_ASSERT_INT(hub_render_cluster(&b, &ctx, w.fleet, "c1", NULL), 0);
    GF_ASSERT_HAS(bundle_app(b, "pinned")->error, "targetRevision: 'v1' cannot be rendered");
    hub_bundle_free(b);
    world_free(&w);
}

static void test_render__bundle_json(void)
{
    static const struct file files[] = {
        {"clusters/c.yaml", CLUSTER("c1", "prod")},
        {"argocd/apps.yaml",
         "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: web}\nspec:\n"
         "  source: {repoURL: '', path: apps/web}\n"
         "  destination: {name: c1, namespace: shop}\n"
         "  syncPolicy:\n    automated: {prune: true}\n    syncOptions: [CreateNamespace=true]\n"},
        {"apps/web/cm.yaml", CM("web", "")},
        {NULL, NULL}};
    struct world w;
    struct hub_bundle *b;

    world_init(&w, files);
    b = render(&w, NULL, "c1");
    json_t *j = hub_bundle_json(b), *docs = hub_bundle_manifests(b);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    GF_ASSERT_HAS(text, "\"cluster\":\"c1\"");
    GF_ASSERT_HAS(text, "\"syncPolicy\":{\"automated\":true,\"prune\":true,\"selfHeal\":false,"
                        "\"syncOptions\":[\"CreateNamespace=true\"]}");
    GF_ASSERT_HAS(text, "\"id\":{\"group\":\"\",\"kind\":\"ConfigMap\",\"name\":\"web\","
                        "\"namespace\":\"shop\",\"version\":\"v1\"}");
    GF_ASSERT_HAS(text, "\"syncWave\":0");
    GF_ASSERT_HAS(text, "\"conflicts\":[]");
    GF_ASSERT_INT(json_array_size(docs), 1);
    GF_ASSERT_STR(json_string_value(json_object_get(json_array_get(docs, 0), "kind")), "ConfigMap");
    free(text);
    json_decref(j);
    json_decref(docs);
    hub_bundle_free(b);
    world_free(&w);
}

/* Overlays of one base through the native kustomize engine: namespace and
 * tracking on top, and a change to the base (outside every app's path)
 * re-renders the overlays that use it. */
static void test_render__kustomize_overlays_and_their_base(void)
{
    static const struct file files[] = {
        {"clusters/c.yaml", CLUSTER("c1", "prod") "---\n" CLUSTER("c2", "dev")},
        {"argocd/sets.yaml", SET("web", "'apps/web/overlays/{{metadata.labels.env}}'")},
        {"apps/web/base/kustomization.yaml", "resources: [cm.yaml]\n"},
        {"apps/web/base/cm.yaml", CM("web", "")},
        {"apps/web/overlays/prod/kustomization.yaml",
         "resources: [../../base]\nnamePrefix: prod-\n"},
        {"apps/web/overlays/dev/Kustomization", "resources: [../../base]\nnamePrefix: dev-\n"
                                                "namespace: sandbox\n"},
        {NULL, NULL}};
    static const struct file change_base[] = {
        {"apps/web/base/cm.yaml", CM("web", "  labels: {v: '2'}\n")}, {NULL, NULL}};
    struct hub_render_cache *cache = NULL;
    struct hub_bundle *b;
    struct world w;

    world_init(&w, files);
    GF_ASSERT_INT(hub_render_cache_new(&cache), 0);
    b = render(&w, cache, "c1");
    GF_ASSERT_INT(hub_bundle_failures(b), 0);
    GF_ASSERT_INT(b->n_order, 1);
    GF_ASSERT_STR(b->order[0]->name, "prod-web");
    GF_ASSERT_STR(b->order[0]->namespace, "prod"); /* from the destination */
    GF_ASSERT_STR(
        json_string_value(json_object_get(
            json_object_get(json_object_get(b->order[0]->body, "metadata"), "annotations"),
            "gitfleet.io/tracking-id")),
        "web-c1:/ConfigMap:prod/prod-web");
    hub_bundle_free(b);
    b = render(&w, cache, "c2");
    GF_ASSERT_STR(b->order[0]->name, "dev-web");
    GF_ASSERT_STR(b->order[0]->namespace, "sandbox"); /* the overlay's own wins */
    hub_bundle_free(b);
    hub_render_cache_sweep(cache);
    expect_stats(cache, 0, 2);
    render_all_two(&w, cache);
    expect_stats(cache, 2, 2);

    commit_files(&w, change_base, "base only");
    load_head(&w);
    render_all_two(&w, cache);
    expect_stats(cache, 2, 4);
    b = render(&w, cache, "c1");
    char *text = json_dumps(b->order[0]->body, JSON_COMPACT);
    GF_ASSERT_HAS(text, "\"labels\":{\"v\":\"2\"");
    free(text);
    hub_bundle_free(b);
    hub_render_cache_free(cache);
    world_free(&w);
}

/* A ConfigMap whose one value makes it about `bytes` long. */
static char *sized_cm(const char *name, size_t bytes)
{
    char *text = malloc(bytes + 200);
    int n = snprintf(
        text, 200, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata:\n  blob: ", name);

    memset(text + n, 'x', bytes);
    strcpy(text + n + bytes, "\n");
    return text;
}

/* Issue 13: an object over 1.5 MiB fails its app at render, naming it; a
 * cluster whose apps add up to more than the bundle limit loses its largest
 * apps, each with a message, and the rest still fit. */
static void test_render__size_limits(void)
{
    char *apps = calloc(1, 64 * 1024), *big = sized_cm("big", 1450 * 1024),
         *huge = sized_cm("huge", 2 << 20);
    size_t n = 0;

    for (int i = 0; i < 24; i++)
        n += (size_t)snprintf(apps + n, 64 * 1024 - n,
                              "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: "
                              "{name: a%02d}\nspec:\n  source: {repoURL: '', path: apps/big}\n"
                              "  destination: {name: c1, namespace: ns%02d}\n---\n",
                              i, i);
    snprintf(apps + n, 64 * 1024 - n, "%s%s", APP("huge", "c1", "apps/huge", ""),
             APP("tiny", "c1", "apps/tiny", ""));
    const struct file files[] = {{"clusters/c.yaml", CLUSTER("c1", "prod")},
                                 {"argocd/apps.yaml", apps},
                                 {"apps/big/cm.yaml", big},
                                 {"apps/huge/cm.yaml", huge},
                                 {"apps/tiny/cm.yaml", CM("tiny", "")},
                                 {NULL, NULL}};
    struct world w;
    struct hub_bundle *b;
    size_t kept = 0, left_out = 0;

    world_init(&w, files);
    b = render(&w, NULL, "c1");
    GF_ASSERT_HAS(bundle_app(b, "huge")->error, "core/ConfigMap shop/huge is 2.0 MiB, over the "
                                                "1.5 MiB a Kubernetes object may be");
    GF_ASSERT_INT(bundle_app(b, "huge")->n_resources, 0);
    GF_ASSERT(bundle_app(b, "tiny")->error == NULL);
    for (size_t i = 0; i < b->n_apps; i++) {
        const struct hub_bundle_app *ba = &b->apps[i];
        if (ba->error && strstr(ba->error, "over its 32 MiB limit")) {
            GF_ASSERT_HAS(ba->error, "cluster c1's bundle");
            GF_ASSERT_INT(ba->n_resources, 0);
            left_out++;
        }
        for (size_t k = 0; k < ba->n_resources; k++)
            kept += json_dumpb(ba->resources[k].body, NULL, 0, JSON_COMPACT);
    }
    GF_ASSERT(left_out >= 3 && left_out <= 5);
    GF_ASSERT(kept + kept / 16 <= GF_LIMIT_BUNDLE_BYTES);
    GF_ASSERT(kept > GF_LIMIT_BUNDLE_BYTES * 3 / 4);
    hub_bundle_free(b);
    world_free(&w);
    free(apps);
    free(big);
    free(huge);
}

GF_TESTS(GF_TEST(test_render__plain_manifests), GF_TEST(test_render__size_limits),
         GF_TEST(test_render__scopes_waves_and_kind_order),
         GF_TEST(test_render__conflicts_and_failures_stay_per_app),
         GF_TEST(test_render__cache_shared_and_incremental),
         GF_TEST(test_render__kustomize_overlays_and_their_base),
         GF_TEST(test_render__target_revision), GF_TEST(test_render__bundle_json));
