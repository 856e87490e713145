/* kustomize_test.c -- the native kustomize engine: hash suffix, merge rules, builds, sessions,
 * refusals */
#include "harness.h"

#include "filesrc.h"
#include "gitfleet/error.h"
#include "gitfleet/yaml_emit.h"
#include "gitfleet/yaml_parse.h"
#include "kustomize/internal.h"
#include "kustomize/kustomize.h"
#include "source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *parse1(const char *yaml)
{
    json_t *doc = NULL;
    GF_ASSERT_INT(gf_yaml_parse_one(&doc, yaml, strlen(yaml), "test", NULL), 0);
    return doc;
}

static void assert_hash(const char *yaml, const char *want)
{
    char h[11];
    json_t *obj = parse1(yaml);
    GF_ASSERT_INT(kz_generators_hash(h, obj), 0);
    GF_ASSERT_STR(h, want);
    json_decref(obj);
}

/* The suffixes kubectl printed (notes/kubernetes-facts.md §1). */
static void test_kustomize__hash_matches_kubectl(void)
{
    assert_hash("kind: ConfigMap\ndata: {FOO: bar, A: \"1\"}\n", "h5b65ck698");
    assert_hash("kind: ConfigMap\n", "6ct58987ht");
    assert_hash("kind: Secret\ntype: Opaque\ndata: {password: czNjcjN0}\n", "25k92892fb");
    assert_hash("kind: Secret\ntype: kubernetes.io/tls\ndata: {tls.crt: Q0VSVA==, tls.key: S0VZ}\n",
                "4b255hm948");
    assert_hash("kind: ConfigMap\ndata: {html.txt: \"<a&b>\\nline2\\n\"}\n", "b7d7267c9b");
    assert_hash("kind: ConfigMap\ndata: {ctl.txt: \"x\\by\\fz\\x01w\\t\\n\"}\n", "h47h845dk7");
    assert_hash("kind: ConfigMap\nbinaryData: {bin.dat: //4AYmlu}\ndata: {k: v}\n", "dfc866h2tm");
}

static json_t *smp(const char *target, const char *patch, const char *group, const char *kind)
{
    json_t *t = parse1(target), *p = parse1(patch);
    GF_ASSERT_INT(kz_smp_merge(&t, p, group, "v1", kind, NULL), 0);
    json_decref(p);
    return t;
}

static char *emit(const json_t *doc)
{
    char *out = NULL;
    size_t len;
    GF_ASSERT_INT(gf_yaml_emit(&out, &len, doc), 0);
    return out;
}

/* kyaml's list order: one merge key puts patch items first; several keys keep the originals' order.
 */
static void test_kustomize__smp_list_order(void)
{
    json_t *d =
        smp("spec: {template: {spec: {containers: [{name: c, env: [{name: A}, {name: B}]}]}}}",
            "spec: {template: {spec: {containers: [{name: c, env: [{name: B, value: x}, "
            "{name: C}]}]}}}",
            "apps", "Deployment");
    char *y = emit(d);
    GF_ASSERT_HAS(y, "- name: B\n          value: x\n        - name: C\n        - name: A\n");
    free(y);
    json_decref(d);

    d = smp("spec: {ports: [{port: 80, protocol: TCP}, {port: 53, protocol: UDP}]}",
            "spec: {ports: [{port: 53, protocol: UDP, name: dns}, {port: 443, protocol: TCP}]}", "",
            "Service");
    y = emit(d);
    GF_ASSERT_HAS(y, "  - port: 443\n    protocol: TCP\n  - port: 80\n    protocol: TCP\n  - name: "
                     "dns\n");
    free(y);
    json_decref(d);
}

/* kyaml walks keyed lists by key: repeated items collapse when a patch touches the list. */
static void test_kustomize__smp_keyed_duplicates_collapse(void)
{
    json_t *d = smp("spec: {ports: [{port: 9, name: a}, {port: 9, name: a}, {port: 9, protocol: "
                    "UDP}]}",
                    "spec: {ports: [{port: 53, protocol: UDP, $patch: delete}]}", "", "Service");
    GF_ASSERT_INT(json_array_size(json_object_get(json_object_get(d, "spec"), "ports")), 2);
    json_decref(d);
}

static void test_kustomize__smp_directives(void)
{
    json_t *d = smp("spec: {template: {spec: {nodeSelector: {a: a}, tolerations: [{key: k}], "
                    "containers: [{name: a}, {name: b}]}}}",
                    "spec: {template: {spec: {nodeSelector: {$patch: replace, z: z}, tolerations: "
                    "null, containers: [{name: b, $patch: delete}]}}}",
                    "apps", "Deployment");
    char *y = emit(d);
    GF_ASSERT_STR(y, "spec:\n  template:\n    spec:\n      containers:\n      - name: a\n      "
                     "nodeSelector:\n        z: z\n");
    free(y);
    json_decref(d);

    /* Custom resources have no schema: lists are replaced, even lists of names. */
    d = smp("spec: {items: [{name: a, v: 1}, {name: b}]}", "spec: {items: [{name: a, v: 2}]}",
            "example.com", "Widget");
    GF_ASSERT_INT(json_array_size(json_object_get(json_object_get(d, "spec"), "items")), 1);
    json_decref(d);

    d = smp("metadata: {name: x}", "$patch: delete", "", "ConfigMap");
    GF_ASSERT(d == NULL);
}

static void test_kustomize__json6902(void)
{
    json_t *t = parse1("spec: {list: [a, b], m: {x: 1}}");
    json_t *ops = parse1("- {op: add, path: /spec/list/-, value: c}\n"
                         "- {op: replace, path: /spec/m/x, value: 2}\n"
                         "- {op: add, path: /spec/m/a~1b, value: 3}\n"
                         "- {op: remove, path: /spec/list/0}\n"
                         "- {op: copy, from: /spec/m/x, path: /spec/y}\n");
    GF_ASSERT_INT(kz_json6902_apply(&t, ops), 0);
    char *s = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
    GF_ASSERT_STR(s, "{\"spec\":{\"list\":[\"b\",\"c\"],\"m\":{\"a/b\":3,\"x\":2},\"y\":2}}");
    free(s);
    json_decref(ops);
    ops = parse1("- {op: replace, path: /spec/missing, value: 1}");
    GF_ASSERT(kz_json6902_apply(&t, ops) < 0);
    GF_ASSERT_HAS(gf_error_last(), "missing");
    json_decref(ops);
    json_decref(t);
}

static void put_file(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    gf_test_write_file(path, text, strlen(text));
}

static void fleet(const char *root)
{
    put_file(root, "base/kustomization.yaml",
             "resources: [deploy.yaml]\nconfigMapGenerator:\n- name: app-config\n  literals: "
             "[FOO=bar, A=1]\n");
    put_file(root, "base/deploy.yaml",
             "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n"
             "    spec:\n      containers:\n      - name: web\n        image: nginx:1\n"
             "        envFrom: [{configMapRef: {name: app-config}}]\n");
    put_file(root, "a/kustomization.yaml",
             "resources: [../base]\nnamePrefix: a-\nnamespace: team-a\nimages:\n- {name: nginx, "
             "newTag: \"2\"}\n");
    put_file(root, "b/kustomization.yaml", "resources: [../base]\nnamePrefix: b-\n");
}

static char *build_yaml(hub_filesrc *src, hub_kustomize_session *s, const char *dir)
{
    struct hub_kustomize_options o = {s};
    json_t *docs = NULL;
    char *out = NULL;
    size_t len;
    int error = hub_kustomize_build(&docs, src, dir, &o);
    if (error < 0)
        gf_test_fail(__FILE__, __LINE__, "build %s: %s", dir, gf_error_last());
    GF_ASSERT_INT(gf_yaml_emit_stream(&out, &len, docs), 0);
    json_decref(docs);
    return out;
}

/* Two overlays of one base: names, the hash suffix and the reference follow;
 * the session builds the base once. */
static void test_kustomize__overlays_share_base(void)
{
    const char *root = gf_test_tmpdir();
    hub_filesrc *src = NULL;
    hub_kustomize_session *s = NULL;
    struct hub_kustomize_stats st;

    fleet(root);
    GF_ASSERT_INT(hub_filesrc_open_dir(&src, root, 0), 0);
    GF_ASSERT_INT(hub_kustomize_session_new(&s), 0);
    char *a = build_yaml(src, s, "a"), *b = build_yaml(src, s, "b");
    GF_ASSERT_HAS(a, "  name: a-app-config-h5b65ck698\n  namespace: team-a\n");
    GF_ASSERT_HAS(a, "            name: a-app-config-h5b65ck698\n");
    GF_ASSERT_HAS(a, "image: nginx:2\n");
    GF_ASSERT_HAS(b, "  name: b-app-config-h5b65ck698\n---\n");
    GF_ASSERT(strstr(b, "namespace") == NULL);
    /* ConfigMap before Deployment: the legacy order */
    GF_ASSERT(strstr(a, "kind: ConfigMap") < strstr(a, "kind: Deployment"));
    hub_kustomize_session_stats(s, &st);
    GF_ASSERT_INT(st.base_builds, 1);
    GF_ASSERT_INT(st.base_hits, 1);
    /* the same build again, from the cache, gives the same bytes */
    char *a2 = build_yaml(src, s, "a");
    GF_ASSERT_STR(a2, a);
    free(a);
    free(a2);
    free(b);
    hub_kustomize_session_free(s);
    hub_filesrc_free(src);
}

static char *build_at(hub_source *git, const char *rev, hub_kustomize_session *s, const char *dir)
{
    char commit[41];
    hub_filesrc *tree = NULL;
    GF_ASSERT_INT(hub_source_resolve(commit, git, rev), 0);
    GF_ASSERT_INT(hub_source_tree(&tree, git, commit), 0);
    char *out = build_yaml(tree, s, dir);
    hub_filesrc_free(tree);
    return out;
}

/* The fleet of fleet() as a Git repository: one commit, tagged `one`. */
static void fleet_commit(const char *root)
{
    fleet(root);
    GF_ASSERT_INT(gf_test_sh("cd '%s' && git init -q . && git add -A && git -c user.name=t -c "
                             "user.email=t@t commit -qm one && git tag one",
                             root),
                  0);
}

/* With a Git tree (content ids), a session keeps built bases across commits
 * and rebuilds exactly those whose files changed. */
static void test_kustomize__session_across_commits(void)
{
    const char *root = gf_test_tmpdir();
    hub_source *git = NULL;
    hub_kustomize_session *s = NULL;
    struct hub_kustomize_stats st;

    fleet_commit(root);
    put_file(root, "base/kustomization.yaml",
             "resources: [deploy.yaml]\nconfigMapGenerator:\n- name: app-config\n  literals: "
             "[FOO=baz]\n");
    GF_ASSERT_INT(
        gf_test_sh("cd '%s' && git -c user.name=t -c user.email=t@t commit -qam two", root), 0);
    GF_ASSERT_INT(hub_source_open(&git, root, NULL), 0);
    GF_ASSERT_INT(hub_kustomize_session_new(&s), 0);
    char *a1 = build_at(git, "one", s, "a"), *b1 = build_at(git, "one", s, "b");
    char *a2 = build_at(git, "HEAD", s, "a"), *a1again = build_at(git, "one", s, "a");
    GF_ASSERT_HAS(a1, "A: \"1\"\n  FOO: bar\n");
    GF_ASSERT_HAS(a2, "FOO: baz\n");
    GF_ASSERT(strstr(a2, "A: \"1\"") == NULL);
    GF_ASSERT_STR(a1again, a1);
    hub_kustomize_session_stats(s, &st);
    GF_ASSERT_INT(st.base_builds, 2); /* the base at commit one, then at two */
    GF_ASSERT_INT(st.base_hits, 2);   /* b at one, a at one again */
    free(a1);
    free(b1);
    free(a2);
    free(a1again);
    hub_kustomize_session_free(s);
    hub_source_free(git);
}

/* A sweep keeps what was used since the last one, keyed by content: the
 * hub's sessions live from one pass to the next. */
static void test_kustomize__session_sweep(void)
{
    const char *root = gf_test_tmpdir();
    hub_source *git = NULL;
    hub_filesrc *dir = NULL;
    hub_kustomize_session *s = NULL;
    struct hub_kustomize_stats st;

    fleet_commit(root);
    GF_ASSERT_INT(hub_source_open(&git, root, NULL), 0);
    GF_ASSERT_INT(hub_kustomize_session_new(&s), 0);
    char *first = build_at(git, "HEAD", s, "a");
    hub_kustomize_session_sweep(s); /* used since: kept */
    char *again = build_at(git, "HEAD", s, "a");
    GF_ASSERT_STR(again, first);
    hub_kustomize_session_stats(s, &st);
    GF_ASSERT_INT(st.base_builds, 1);
    GF_ASSERT_INT(st.base_hits, 1);
    hub_kustomize_session_sweep(s);
    hub_kustomize_session_sweep(s); /* a pass that did not use it: dropped */
    free(again);
    again = build_at(git, "HEAD", s, "a");
    GF_ASSERT_STR(again, first);
    hub_kustomize_session_stats(s, &st);
    GF_ASSERT_INT(st.base_builds, 2);
    /* A directory on disk has no content ids: its entries never outlive a sweep. */
    GF_ASSERT_INT(hub_filesrc_open_dir(&dir, root, 0), 0);
    free(build_yaml(dir, s, "a"));
    hub_kustomize_session_sweep(s);
    free(build_yaml(dir, s, "a"));
    hub_kustomize_session_stats(s, &st);
    GF_ASSERT_INT(st.base_builds, 4);
    free(first);
    free(again);
    hub_kustomize_session_free(s);
    hub_filesrc_free(dir);
    hub_source_free(git);
}

static void assert_refused(const char *root, const char *dir, int code, const char *msg)
{
    hub_filesrc *src = NULL;
    json_t *docs = NULL;
    GF_ASSERT_INT(hub_filesrc_open_dir(&src, root, 0), 0);
    GF_ASSERT_INT(hub_kustomize_build(&docs, src, dir, NULL), code);
    GF_ASSERT(docs == NULL);
    GF_ASSERT_HAS(gf_error_last(), msg);
    hub_filesrc_free(src);
}

static void test_kustomize__refusals(void)
{
    const char *root = gf_test_tmpdir();
    char link[4096];

    put_file(root, "secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n");
    put_file(root, "up/kustomization.yaml", "resources: [../secret.yaml]\n");
    assert_refused(root, "up", GF_EPERM, "is not in or below");
    put_file(root, "climb/kustomization.yaml", "resources: [../../etc/passwd]\n");
    assert_refused(root, "climb", GF_EPERM, "leaves the repository root");
    put_file(root, "link/kustomization.yaml", "resources: [passwd]\n");
    snprintf(link, sizeof(link), "%s/link/passwd", root);
    GF_ASSERT_INT(symlink("/etc/passwd", link), 0);
    assert_refused(root, "link", GF_EPERM, "leaves the root");
    put_file(root, "helm/kustomization.yaml", "helmCharts:\n- {name: x}\n");
    assert_refused(root, "helm", GF_EUNSUPPORTED, "helmCharts");
    put_file(root, "plugin/kustomization.yaml", "transformers: [t.yaml]\n");
    put_file(root, "plugin/t.yaml", "apiVersion: example.com/v1\nkind: Sed\nmetadata: {name: x}\n");
    assert_refused(root, "plugin", GF_EUNSUPPORTED, "transformers");
    put_file(root, "remote/kustomization.yaml", "resources: [github.com/x/y//z?ref=v1]\n");
    assert_refused(root, "remote", GF_EUNSUPPORTED, "remote");
    put_file(root, "typo/kustomization.yaml", "resourcez: []\n");
    assert_refused(root, "typo", GF_EINVAL, "unknown field \"resourcez\"");
    put_file(root, "cyc1/kustomization.yaml", "resources: [../cyc2]\n");
    put_file(root, "cyc2/kustomization.yaml", "resources: [../cyc1]\n");
    assert_refused(root, "cyc1", GF_EINVAL, "cycle");
    put_file(root, "none/x.yaml", "a: 1\n");
    assert_refused(root, "none", GF_ENOTFOUND, "unable to find one of 'kustomization.yaml'");
}

GF_TESTS(GF_TEST(test_kustomize__hash_matches_kubectl), GF_TEST(test_kustomize__smp_list_order),
         GF_TEST(test_kustomize__smp_keyed_duplicates_collapse),
         GF_TEST(test_kustomize__smp_directives), GF_TEST(test_kustomize__json6902),
         GF_TEST(test_kustomize__overlays_share_base),
         GF_TEST(test_kustomize__session_across_commits), GF_TEST(test_kustomize__session_sweep),
         GF_TEST(test_kustomize__refusals));
