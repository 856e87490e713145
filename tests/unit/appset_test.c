/* appset_test.c -- ApplicationSet generators (clusters, list, matrix) and both template syntaxes */
#include "harness.h"

#include "appset.h"
#include "gitfleet/error.h"
#include "gitfleet/yaml_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *yaml(const char *text)
{
    json_t *doc = NULL;

    GF_ASSERT_INT(gf_yaml_parse_one(&doc, text, strlen(text), "test", NULL), 0);
    return doc;
}

/* Three clusters as hub_fleet_load would give them. */
static struct hub_cluster clusters[3];

static void make_clusters(void)
{
    static const char *const names[] = {"dev-1", "prod-eu", "prod-us"};
    static const char *const labels[] = {
        "{env: dev, tier: small}",
        "{env: prod, region: eu, app.kubernetes.io/part-of: shop}",
        "{env: prod, region: us}",
    };

    for (int i = 0; i < 3; i++) {
        clusters[i].name = (char *)names[i];
        clusters[i].labels = yaml(labels[i]);
        clusters[i].annotations = yaml("{owner: team-a}");
        clusters[i].values = yaml(i == 0 ? "{replicas: '1', size: 5}" : "{replicas: '3'}");
        clusters[i].server = (char *)(i == 2 ? "https://us:6443" : "gitfleet://x");
        clusters[i].project = (char *)(i == 1 ? "shop" : "");
    }
}

static void free_clusters(void)
{
    for (int i = 0; i < 3; i++) {
        json_decref(clusters[i].labels);
        json_decref(clusters[i].annotations);
        json_decref(clusters[i].values);
    }
}

static json_t *expand(const char *appset_yaml)
{
    json_t *set = yaml(appset_yaml), *out = NULL;

    make_clusters();
    GF_ASSERT_INT(hub_appset_expand(&out, set, clusters, 3), 0);
    json_decref(set);
    free_clusters();
    return out;
}

static int expand_error(const char *appset_yaml)
{
    json_t *set = yaml(appset_yaml), *out = NULL;
    int error;

    make_clusters();
    error = hub_appset_expand(&out, set, clusters, 3);
    GF_ASSERT(out == NULL);
    json_decref(set);
    free_clusters();
    return error;
}

static const char *field(const json_t *entries, size_t i, const char *path)
{
    const json_t *v = json_object_get(json_array_get(entries, i), "object");
    char key[64];

    while (v != NULL && *path) {
        size_t n = strcspn(path, ".");
        snprintf(key, sizeof(key), "%.*s", (int)n, path);
        v = json_object_get(v, key);
        path += n + (path[n] == '.');
    }
    return json_string_value(v);
}

#define HEAD "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: s}\nspec:\n"
#define TEMPLATE(name, path, dest)                                                                 \
    "  template:\n    metadata: {name: '" name "'}\n    spec:\n"                                   \
    "      source: {repoURL: '', path: '" path "'}\n"                                              \
    "      destination: {name: '" dest "', namespace: web}\n"

static void test_appset__clusters_by_labels_default_syntax(void)
{
    json_t *out = expand(HEAD "  generators:\n  - clusters:\n      selector:\n"
                              "        matchLabels: {env: prod}\n" TEMPLATE(
                                  "web-{{name}}",
                                  "apps/web/{{metadata.labels.region}}/{{ "
                                  "values.replicas }}/{{server}}{{project}}",
                                  "{{nameNormalized}}"));

    GF_ASSERT_INT(json_array_size(out), 2);
    GF_ASSERT_STR(field(out, 0, "metadata.name"), "web-prod-eu");
    GF_ASSERT_STR(field(out, 0, "spec.source.path"), "apps/web/eu/3/gitfleet://xshop");
    GF_ASSERT_STR(field(out, 0, "spec.destination.name"), "prod-eu");
    GF_ASSERT_STR(field(out, 0, "kind"), "Application");
    GF_ASSERT_STR(field(out, 1, "spec.source.path"), "apps/web/us/3/https://us:6443");
    GF_ASSERT_STR(json_string_value(json_object_get(json_array_get(out, 1), "cluster")), "prod-us");
    GF_ASSERT_HAS(json_string_value(json_object_get(json_array_get(out, 0), "origin")),
                  "clusters generator, selector env=prod; cluster labels env=prod,region=eu");
    json_decref(out);
}

static void test_appset__match_expressions(void)
{
    static const struct {
        const char *expr;
        size_t count;
    } cases[] = {
        {"{key: region, operator: In, values: [eu, asia]}", 1},
        {"{key: region, operator: NotIn, values: [eu]}", 2}, /* dev-1 has no region */
        {"{key: region, operator: Exists}", 2},
        {"{key: tier, operator: DoesNotExist}", 2},
    };
    char text[1024];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text),
                 HEAD "  generators:\n  - clusters:\n      selector:\n"
                      "        matchExpressions: [%s]\n" TEMPLATE("a-{{name}}", "p", "{{name}}"),
                 cases[i].expr);
        json_t *out = expand(text);
        GF_ASSERT_INT(json_array_size(out), cases[i].count);
        json_decref(out);
    }
    /* Both parts of a selector must hold; an empty one takes every cluster. */
    json_t *out = expand(HEAD "  generators:\n  - clusters:\n      selector:\n"
                              "        matchLabels: {env: prod}\n"
                              "        matchExpressions: [{key: region, operator: In, values: "
                              "[us]}]\n" TEMPLATE("a-{{name}}", "p", "{{name}}"));
    GF_ASSERT_INT(json_array_size(out), 1);
    GF_ASSERT_STR(field(out, 0, "metadata.name"), "a-prod-us");
    json_decref(out);
    out = expand(HEAD "  generators:\n  - clusters: {}\n" TEMPLATE("a-{{name}}", "p", "{{name}}"));
    GF_ASSERT_INT(json_array_size(out), 3);
    json_decref(out);
    GF_ASSERT_INT(expand_error(HEAD "  generators:\n  - clusters:\n      selector:\n"
                                    "        matchExpressions: [{key: a, operator: Gt}]\n" TEMPLATE(
                                        "x", "p", "d")),
                  GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "spec.generators[0]: clusters: selector.matchExpressions[0]");
}

static void test_appset__values_over_cluster_values(void)
{
    json_t *out =
        expand(HEAD "  generators:\n  - clusters:\n      selector:\n"
                    "        matchLabels: {env: dev}\n"
                    "      values:\n        replicas: '2'\n"
                    "        track: 'track-{{name}}'\n" TEMPLATE(
                        "a", "{{values.replicas}}/{{values.track}}/{{values.size}}", "{{name}}"));

    GF_ASSERT_INT(json_array_size(out), 1);
    GF_ASSERT_STR(field(out, 0, "spec.source.path"), "2/track-dev-1/5");
    json_decref(out);
}

static void test_appset__list_and_matrix(void)
{
    json_t *out = expand(HEAD "  generators:\n  - list:\n      elements:\n"
                              "      - {app: web, cluster: dev-1}\n"
                              "      - {app: api, cluster: prod-eu}\n" TEMPLATE(
                                  "{{app}}-{{cluster}}", "apps/{{app}}", "{{cluster}}"));

    GF_ASSERT_INT(json_array_size(out), 2);
    GF_ASSERT_STR(field(out, 1, "metadata.name"), "api-prod-eu");
    GF_ASSERT(json_is_null(json_object_get(json_array_get(out, 1), "cluster")));
    json_decref(out);

    out =
        expand(HEAD "  generators:\n  - matrix:\n      generators:\n"
                    "      - clusters: {selector: {matchLabels: {env: prod}}}\n"
                    "      - list: {elements: [{app: web}, {app: api}]}\n" TEMPLATE(
                        "{{app}}-{{name}}", "apps/{{app}}/{{metadata.labels.region}}", "{{name}}"));
    GF_ASSERT_INT(json_array_size(out), 4);
    GF_ASSERT_STR(field(out, 0, "metadata.name"), "web-prod-eu");
    GF_ASSERT_STR(field(out, 1, "metadata.name"), "api-prod-eu");
    GF_ASSERT_STR(field(out, 3, "spec.source.path"), "apps/api/us");
    GF_ASSERT_STR(json_string_value(json_object_get(json_array_get(out, 3), "cluster")), "prod-us");
    GF_ASSERT_HAS(json_string_value(json_object_get(json_array_get(out, 3), "origin")),
                  "matrix of clusters generator");
    json_decref(out);

    /* The second generator sees the first one's parameters. */
    out = expand(HEAD "  generators:\n  - matrix:\n      generators:\n"
                      "      - clusters: {selector: {matchLabels: {env: dev}}}\n"
                      "      - list: {elements: [{app: 'web-{{metadata.labels.tier}}'}, "
                      "{app: '{{metadata.labels.zone}}'}]}\n" TEMPLATE("{{app}}-{{name}}",
                                                                       "apps/{{app}}", "{{name}}"));
    GF_ASSERT_INT(json_array_size(out), 2);
    GF_ASSERT_STR(field(out, 0, "metadata.name"), "web-small-dev-1");
    GF_ASSERT_HAS(json_string_value(json_object_get(json_array_get(out, 1), "error")),
                  "matrix.generators[1].app: '{{metadata.labels.zone}}': no such parameter");
    json_decref(out);
}

static void test_appset__go_template(void)
{
    json_t *out = expand(HEAD "  goTemplate: true\n  generators:\n  - clusters:\n      selector:\n"
                              "        matchLabels: {env: prod}\n" TEMPLATE(
                                  "{{.name}}-web",
                                  "apps/{{index .metadata.labels \"region\"}}/"
                                  "{{ index .metadata.labels \"app.kubernetes.io/part-of\" }}",
                                  "{{- .name -}}"));

    /* prod-us has no part-of label: that cluster's app fails, the other renders */
    GF_ASSERT_INT(json_array_size(out), 2);
    GF_ASSERT_STR(field(out, 0, "metadata.name"), "prod-eu-web");
    GF_ASSERT_STR(field(out, 0, "spec.source.path"), "apps/eu/shop");
    GF_ASSERT_STR(field(out, 0, "spec.destination.name"), "prod-eu");
    const char *err = json_string_value(json_object_get(json_array_get(out, 1), "error"));
    GF_ASSERT_HAS(err, "spec.template.spec.source.path");
    GF_ASSERT_HAS(err, "no such parameter");
    GF_ASSERT_HAS(err, "for cluster prod-us");
    json_decref(out);
}

static void test_appset__render_string(void)
{
    json_t *p = yaml("{name: c1, n: 3, on: true, metadata: {labels: {env: prod, a.b/c: x}}, "
                     "list: [1]}");
    char *s = NULL;

    GF_ASSERT_INT(
        hub_appset_render_string(&s, "{{name}}:{{n}}:{{on}}:{{metadata.labels.a.b/c}}", p, 0), 0);
    GF_ASSERT_STR(s, "c1:3:true:x");
    free(s);
    GF_ASSERT_INT(
        hub_appset_render_string(&s, "x {{- .name }} {{ .metadata.labels.env -}} y", p, 1), 0);
    GF_ASSERT_STR(s, "xc1 prody");
    free(s);
    GF_ASSERT_INT(hub_appset_render_string(&s, "no actions {{ here", p, 0), 0);
    GF_ASSERT_STR(s, "no actions {{ here");
    free(s);
    GF_ASSERT_INT(hub_appset_render_string(&s, "{{metadata.labels.zone}}", p, 0), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "'{{metadata.labels.zone}}': no such parameter");
    GF_ASSERT_INT(hub_appset_render_string(&s, "{{list}}", p, 0), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "mapping or list");
    GF_ASSERT_INT(hub_appset_render_string(&s, "{{.name | upper}}", p, 1), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "not supported");
    GF_ASSERT_INT(hub_appset_render_string(&s, "{{printf \"%s\" .name}}", p, 1), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "unsupported expression");
    GF_ASSERT_INT(hub_appset_render_string(&s, "{{.nope}}", p, 1), GF_EINVAL);
    json_decref(p);
}

static void test_appset__invalid_sets(void)
{
    GF_ASSERT_INT(
        expand_error(HEAD "  generators:\n  - git: {repoURL: x}\n" TEMPLATE("a", "p", "d")),
        GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "spec.generators[0]: unknown generator 'git'");
    GF_ASSERT_INT(expand_error(HEAD "  generators: []\n" TEMPLATE("a", "p", "d")), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "spec.generators: expected a non-empty list");
    GF_ASSERT_INT(expand_error(HEAD "  generators:\n  - clusters: {}\n"), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "spec.template");
    GF_ASSERT_INT(
        expand_error(
            HEAD "  goTemplate: 'yes'\n  generators:\n  - clusters: {}\n" TEMPLATE("a", "p", "d")),
        GF_EINVAL);
    GF_ASSERT_INT(
        expand_error(HEAD "  generators:\n  - matrix: {generators: [{clusters: {}}]}\n" TEMPLATE(
            "a", "p", "d")),
        GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "exactly two");
    GF_ASSERT_INT(
        expand_error(HEAD "  generators:\n  - list: {elements: [3]}\n" TEMPLATE("a", "p", "d")),
        GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "list.elements[0]: expected a mapping");
}

GF_TESTS(GF_TEST(test_appset__clusters_by_labels_default_syntax),
         GF_TEST(test_appset__match_expressions), GF_TEST(test_appset__values_over_cluster_values),
         GF_TEST(test_appset__list_and_matrix), GF_TEST(test_appset__go_template),
         GF_TEST(test_appset__render_string), GF_TEST(test_appset__invalid_sets));
