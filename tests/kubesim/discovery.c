/* discovery.c -- the served resource types (built-in and from CRDs), discovery and OpenAPI
 * documents */
#include "discovery.h"

#include "gitfleet/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TYPES 512

struct builtin {
    const char *gv, *resource, *singular, *kind, *shorts;
    int namespaced, status, scale, generation, all;
};

/* The built-in types kubesim serves (issue 3). */
static const struct builtin builtins[] = {
    {"v1", "namespaces", "namespace", "Namespace", "ns", 0, 1, 0, 0, 0},
    {"v1", "configmaps", "configmap", "ConfigMap", "cm", 1, 0, 0, 0, 0},
    {"v1", "secrets", "secret", "Secret", "", 1, 0, 0, 0, 0},
    {"v1", "services", "service", "Service", "svc", 1, 1, 0, 0, 1},
    {"v1", "serviceaccounts", "serviceaccount", "ServiceAccount", "sa", 1, 0, 0, 0, 0},
    {"v1", "pods", "pod", "Pod", "po", 1, 1, 0, 0, 1},
    {"v1", "persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", "pvc", 1, 1,
     0, 0, 0},
    {"v1", "events", "event", "Event", "ev", 1, 0, 0, 0, 0},
    {"apps/v1", "deployments", "deployment", "Deployment", "deploy", 1, 1, 1, 1, 1},
    {"apps/v1", "statefulsets", "statefulset", "StatefulSet", "sts", 1, 1, 1, 1, 1},
    {"apps/v1", "daemonsets", "daemonset", "DaemonSet", "ds", 1, 1, 0, 1, 1},
    {"apps/v1", "replicasets", "replicaset", "ReplicaSet", "rs", 1, 1, 1, 1, 1},
    {"batch/v1", "jobs", "job", "Job", "", 1, 1, 0, 1, 1},
    {"batch/v1", "cronjobs", "cronjob", "CronJob", "cj", 1, 1, 0, 1, 1},
    {"networking.k8s.io/v1", "ingresses", "ingress", "Ingress", "ing", 1, 1, 0, 1, 0},
    {"networking.k8s.io/v1", "ingressclasses", "ingressclass", "IngressClass", "", 0, 0, 0, 1, 0},
    {"networking.k8s.io/v1", "networkpolicies", "networkpolicy", "NetworkPolicy", "netpol", 1, 0, 0,
     1, 0},
    {"rbac.authorization.k8s.io/v1", "roles", "role", "Role", "", 1, 0, 0, 0, 0},
    {"rbac.authorization.k8s.io/v1", "rolebindings", "rolebinding", "RoleBinding", "", 1, 0, 0, 0,
     0},
    {"rbac.authorization.k8s.io/v1", "clusterroles", "clusterrole", "ClusterRole", "", 0, 0, 0, 0,
     0},
    {"rbac.authorization.k8s.io/v1", "clusterrolebindings", "clusterrolebinding",
     "ClusterRoleBinding", "", 0, 0, 0, 0, 0},
    {"apiextensions.k8s.io/v1", "customresourcedefinitions", "customresourcedefinition",
     "CustomResourceDefinition", "crd,crds", 0, 1, 0, 1, 0},
    {"autoscaling/v2", "horizontalpodautoscalers", "horizontalpodautoscaler",
     "HorizontalPodAutoscaler", "hpa", 1, 1, 0, 0, 1},
    {"policy/v1", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", "pdb", 1, 1,
     0, 1, 0},
};

static struct ks_type types[MAX_TYPES];
static int ntypes;

static void set_key(struct ks_type *t)
{
    char key[sizeof(t->key)];
    if (t->group[0] == '\0')
        snprintf(key, sizeof(key), "%s", t->resource);
    else
        snprintf(key, sizeof(key), "%s.%s", t->resource, t->group);
    memcpy(t->key, key, sizeof(key));
}

static void split_shorts(struct ks_type *t, const char *shorts)
{
    int n = 0;
    while (*shorts != '\0' && n < 4) {
        size_t len = strcspn(shorts, ",");
        snprintf(t->short_names[n++], sizeof(t->short_names[0]), "%.*s", (int)len, shorts);
        shorts += len;
        if (*shorts == ',')
            shorts++;
    }
}

void ks_disc_init(void)
{
    ntypes = 0;
    for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
        const struct builtin *b = &builtins[i];
        struct ks_type *t = &types[ntypes++];
        const char *slash = strchr(b->gv, '/');
        memset(t, 0, sizeof(*t));
        if (slash != NULL) {
            snprintf(t->group, sizeof(t->group), "%.*s", (int)(slash - b->gv), b->gv);
            snprintf(t->version, sizeof(t->version), "%s", slash + 1);
        } else {
            snprintf(t->version, sizeof(t->version), "%s", b->gv);
        }
        snprintf(t->resource, sizeof(t->resource), "%s", b->resource);
        snprintf(t->singular, sizeof(t->singular), "%s", b->singular);
        snprintf(t->kind, sizeof(t->kind), "%s", b->kind);
        snprintf(t->list_kind, sizeof(t->list_kind), "%sList", b->kind);
        split_shorts(t, b->shorts);
        t->namespaced = b->namespaced;
        t->has_status = b->status;
        t->has_scale = b->scale;
        t->has_generation = b->generation;
        t->all = b->all;
        set_key(t);
    }
}

const struct ks_type *ks_disc_find(const char *group, const char *version, const char *resource)
{
    for (int i = 0; i < ntypes; i++) {
        const struct ks_type *t = &types[i];
        if (t->resource[0] != '\0' && strcmp(t->resource, resource) == 0 &&
            strcmp(t->group, group) == 0 && strcmp(t->version, version) == 0)
            return t;
    }
    return NULL;
}

const struct ks_type *ks_disc_find_kind(const char *group, const char *version, const char *kind)
{
    for (int i = 0; i < ntypes; i++) {
        const struct ks_type *t = &types[i];
        if (t->resource[0] != '\0' && strcmp(t->kind, kind) == 0 && strcmp(t->group, group) == 0 &&
            (version == NULL || strcmp(t->version, version) == 0))
            return t;
    }
    return NULL;
}

const struct ks_type *ks_disc_find_key(const char *key)
{
    for (int i = 0; i < ntypes; i++)
        if (types[i].resource[0] != '\0' && strcmp(types[i].key, key) == 0)
            return &types[i];
    return NULL;
}

void ks_disc_api_version(char *buf, size_t n, const struct ks_type *t)
{
    if (t->group[0] == '\0')
        snprintf(buf, n, "%s", t->version);
    else
        snprintf(buf, n, "%s/%s", t->group, t->version);
}

/* ---- CRDs --------------------------------------------------------------------------------- */

static const char *str_at(json_t *obj, const char *a, const char *b)
{
    json_t *v = json_object_get(obj, a);
    if (b != NULL)
        v = json_object_get(v, b);
    return json_string_value(v);
}

static struct ks_type *free_slot(void)
{
    for (int i = 0; i < ntypes; i++)
        if (types[i].resource[0] == '\0')
            return &types[i];
    return ntypes < MAX_TYPES ? &types[ntypes++] : NULL;
}

static int add_crd_version(json_t *spec, json_t *ver)
{
    json_t *names = json_object_get(spec, "names");
    const char *vname = json_string_value(json_object_get(ver, "name"));
    const char *group = str_at(spec, "group", NULL), *plural = str_at(names, "plural", NULL);
    const char *kind = str_at(names, "kind", NULL), *scope = str_at(spec, "scope", NULL);
    json_t *sub = json_object_get(ver, "subresources");
    struct ks_type *t;

    if (vname == NULL || json_is_false(json_object_get(ver, "served")))
        return 0;
    if (ks_disc_find(group, vname, plural) != NULL || (t = free_slot()) == NULL)
        return 0;
    memset(t, 0, sizeof(*t));
    snprintf(t->group, sizeof(t->group), "%s", group);
    snprintf(t->version, sizeof(t->version), "%s", vname);
    snprintf(t->resource, sizeof(t->resource), "%s", plural);
    snprintf(t->kind, sizeof(t->kind), "%s", kind);
    const char *singular = str_at(names, "singular", NULL), *lk = str_at(names, "listKind", NULL);
    snprintf(t->singular, sizeof(t->singular), "%s", singular != NULL ? singular : "");
    snprintf(t->list_kind, sizeof(t->list_kind), "%s", lk != NULL ? lk : "");
    if (lk == NULL)
        snprintf(t->list_kind, sizeof(t->list_kind), "%sList", kind);
    size_t i;
    json_t *sn;
    json_array_foreach(json_object_get(names, "shortNames"), i, sn) if (i < 4 && json_is_string(sn))
        snprintf(t->short_names[i], sizeof(t->short_names[0]), "%s", json_string_value(sn));
    t->namespaced = scope == NULL || strcmp(scope, "Cluster") != 0;
    t->has_status = json_object_get(sub, "status") != NULL;
    t->has_scale = json_object_get(sub, "scale") != NULL;
    t->has_generation = 1;
    t->crd = 1;
    set_key(t);
    return 0;
}

int ks_disc_add_crd(json_t *crd)
{
    json_t *spec = json_object_get(crd, "spec"), *ver;
    json_t *names = json_object_get(spec, "names");
    size_t i;

    if (str_at(spec, "group", NULL) == NULL || str_at(names, "plural", NULL) == NULL ||
        str_at(names, "kind", NULL) == NULL)
        return gf_error_set(GF_EINVAL, "spec.group, spec.names.plural and spec.names.kind are "
                                       "required");
    json_array_foreach(json_object_get(spec, "versions"), i, ver) add_crd_version(spec, ver);
    return 0;
}

void ks_disc_remove_crd(json_t *crd)
{
    json_t *spec = json_object_get(crd, "spec");
    const char *group = str_at(spec, "group", NULL);
    const char *plural = str_at(json_object_get(spec, "names"), "plural", NULL);

    if (group == NULL || plural == NULL)
        return;
    for (int i = 0; i < ntypes; i++)
        if (types[i].crd && strcmp(types[i].group, group) == 0 &&
            strcmp(types[i].resource, plural) == 0)
            types[i].resource[0] = '\0';
}

/* ---- discovery documents ------------------------------------------------------------------ */

json_t *ks_disc_version(void)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "major", "1", "minor", "32",
                     "gitVersion", "v1.32.0-kubesim", "gitCommit", "0000000000", "gitTreeState",
                     "clean", "buildDate", "2026-01-01T00:00:00Z", "goVersion", "go1.23",
                     "compiler", "gc", "platform", "linux/amd64");
}

json_t *ks_disc_api(void)
{
    return json_pack("{s:s,s:[s],s:[{s:s,s:s}]}", "kind", "APIVersions", "versions", "v1",
                     "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0", "serverAddress",
                     "127.0.0.1");
}

static json_t *group_doc(const char *group)
{
    json_t *versions = json_array(), *preferred = NULL;
    char gv[300];

    for (int i = 0; i < ntypes; i++) {
        const struct ks_type *t = &types[i];
        if (t->resource[0] == '\0' || strcmp(t->group, group) != 0)
            continue;
        snprintf(gv, sizeof(gv), "%s/%s", group, t->version);
        int seen = 0;
        size_t j;
        json_t *v;
        json_array_foreach(
            versions, j,
            v) if (strcmp(json_string_value(json_object_get(v, "groupVersion")), gv) == 0) seen = 1;
        if (seen)
            continue;
        v = json_pack("{s:s,s:s}", "groupVersion", gv, "version", t->version);
        json_array_append_new(versions, v);
        if (preferred == NULL)
            preferred = json_deep_copy(v);
    }
    if (preferred == NULL) {
        json_decref(versions);
        return NULL;
    }
    return json_pack("{s:s,s:s,s:o,s:o}", "kind", "APIGroup", "name", group, "versions", versions,
                     "preferredVersion", preferred);
}

json_t *ks_disc_group(const char *group)
{
    json_t *g = group_doc(group);
    if (g != NULL)
        json_object_set_new(g, "apiVersion", json_string("v1"));
    return g;
}

json_t *ks_disc_apis(void)
{
    json_t *groups = json_array(), *seen = json_object();

    for (int i = 0; i < ntypes; i++) {
        const struct ks_type *t = &types[i];
        if (t->resource[0] == '\0' || t->group[0] == '\0' || json_object_get(seen, t->group))
            continue;
        json_object_set_new(seen, t->group, json_true());
        json_t *g = group_doc(t->group);
        json_object_del(g, "kind");
        json_array_append_new(groups, g);
    }
    json_decref(seen);
    return json_pack("{s:s,s:s,s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups", groups);
}

static json_t *verbs_all(void)
{
    return json_pack("[s,s,s,s,s,s,s,s]", "create", "delete", "deletecollection", "get", "list",
                     "patch", "update", "watch");
}

static json_t *resource_entry(const struct ks_type *t)
{
    json_t *shorts = json_array();
    for (int i = 0; i < 4 && t->short_names[i][0] != '\0'; i++)
        json_array_append_new(shorts, json_string(t->short_names[i]));
    json_t *e = json_pack("{s:s,s:s,s:b,s:s,s:o}", "name", t->resource, "singularName", t->singular,
                          "namespaced", t->namespaced, "kind", t->kind, "verbs", verbs_all());
    if (json_array_size(shorts) > 0)
        json_object_set(e, "shortNames", shorts);
    json_decref(shorts);
    if (t->all)
        json_object_set_new(e, "categories", json_pack("[s]", "all"));
    return e;
}

static json_t *subresource_entry(const struct ks_type *t, const char *sub)
{
    char name[300];
    snprintf(name, sizeof(name), "%s/%s", t->resource, sub);
    json_t *e =
        json_pack("{s:s,s:s,s:b,s:s,s:[s,s,s]}", "name", name, "singularName", "", "namespaced",
                  t->namespaced, "kind", t->kind, "verbs", "get", "patch", "update");
    if (strcmp(sub, "scale") == 0) {
        json_object_set_new(e, "group", json_string("autoscaling"));
        json_object_set_new(e, "version", json_string("v1"));
        json_object_set_new(e, "kind", json_string("Scale"));
    }
    return e;
}

json_t *ks_disc_resources(const char *group, const char *version)
{
    json_t *list = json_array();
    char gv[300];

    for (int i = 0; i < ntypes; i++) {
        const struct ks_type *t = &types[i];
        if (t->resource[0] == '\0' || strcmp(t->group, group) != 0 ||
            strcmp(t->version, version) != 0)
            continue;
        json_array_append_new(list, resource_entry(t));
        if (t->has_status)
            json_array_append_new(list, subresource_entry(t, "status"));
        if (t->has_scale)
            json_array_append_new(list, subresource_entry(t, "scale"));
    }
    if (json_array_size(list) == 0) {
        json_decref(list);
        return NULL;
    }
    if (group[0] == '\0')
        snprintf(gv, sizeof(gv), "%s", version);
    else
        snprintf(gv, sizeof(gv), "%s/%s", group, version);
    return json_pack("{s:s,s:s,s:s,s:o}", "kind", "APIResourceList", "apiVersion", "v1",
                     "groupVersion", gv, "resources", list);
}

/* ---- OpenAPI ------------------------------------------------------------------------------ */

static const char *const top_common[] = {"apiVersion", "kind", "metadata", NULL};
static const char *const top_spec[] = {"apiVersion", "kind", "metadata", "spec", "status", NULL};
static const char *const top_cm[] = {"apiVersion", "kind",      "metadata", "data",
                                     "binaryData", "immutable", "status",   NULL};
static const char *const top_secret[] = {"apiVersion", "kind", "metadata",  "data",
                                         "stringData", "type", "immutable", NULL};
static const char *const top_sa[] = {
    "apiVersion", "kind", "metadata", "secrets", "imagePullSecrets", "automountServiceAccountToken",
    NULL};
static const char *const top_role[] = {"apiVersion",      "kind", "metadata", "rules",
                                       "aggregationRule", NULL};
static const char *const top_binding[] = {"apiVersion", "kind",    "metadata",
                                          "subjects",   "roleRef", NULL};
static const char *const top_event[] = {"apiVersion",
                                        "kind",
                                        "metadata",
                                        "involvedObject",
                                        "reason",
                                        "message",
                                        "source",
                                        "firstTimestamp",
                                        "lastTimestamp",
                                        "count",
                                        "type",
                                        "eventTime",
                                        "series",
                                        "action",
                                        "related",
                                        "reportingComponent",
                                        "reportingInstance",
                                        NULL};

const char *const *ks_disc_top_fields(const struct ks_type *t)
{
    if (t->crd)
        return NULL;
    if (strcmp(t->kind, "ConfigMap") == 0)
        return top_cm;
    if (strcmp(t->kind, "Secret") == 0)
        return top_secret;
    if (strcmp(t->kind, "ServiceAccount") == 0)
        return top_sa;
    if (strcmp(t->kind, "Role") == 0 || strcmp(t->kind, "ClusterRole") == 0)
        return top_role;
    if (strcmp(t->kind, "RoleBinding") == 0 || strcmp(t->kind, "ClusterRoleBinding") == 0)
        return top_binding;
    if (strcmp(t->kind, "Event") == 0)
        return top_event;
    (void)top_common;
    return top_spec;
}

static json_t *gvk_ext(const struct ks_type *t)
{
    return json_pack("[{s:s,s:s,s:s}]", "group", t->group, "version", t->version, "kind", t->kind);
}

static json_t *query_params(void)
{
    static const char *const names[] = {"dryRun", "fieldManager", "fieldValidation", "force",
                                        "pretty"};
    json_t *a = json_array();
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:{s:s},s:b}", "name", names[i], "in", "query",
                                           "schema", "type", "string", "uniqueItems", 1));
    return a;
}

static json_t *operation(const struct ks_type *t, const char *verb, int v2)
{
    char id[400];
    snprintf(id, sizeof(id), "%s%s", verb, t->kind);
    json_t *op = json_pack("{s:s,s:o,s:{s:{s:s}}}", "operationId", id, "parameters", query_params(),
                           "responses", "200", "description", "OK");
    json_object_set_new(op, "x-kubernetes-action", json_string(verb));
    json_object_set_new(
        op, "x-kubernetes-group-version-kind",
        json_pack("{s:s,s:s,s:s}", "group", t->group, "version", t->version, "kind", t->kind));
    if (v2) {
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(op, "parameters"), i, p)
        {
            json_object_del(p, "schema");
            json_object_set_new(p, "type", json_string("string"));
        }
    }
    return op;
}

static void add_paths(json_t *paths, const struct ks_type *t, int v2)
{
    char path[600], gv[300];
    ks_disc_api_version(gv, sizeof(gv), t);
    snprintf(path, sizeof(path), "/%s/%s%s/%s/{name}", t->group[0] ? "apis" : "api", gv,
             t->namespaced ? "/namespaces/{namespace}" : "", t->resource);
    json_object_set_new(paths, path,
                        json_pack("{s:o,s:o,s:o,s:o}", "get", operation(t, "get", v2), "put",
                                  operation(t, "update", v2), "patch", operation(t, "patch", v2),
                                  "delete", operation(t, "delete", v2)));
    snprintf(path, sizeof(path), "/%s/%s%s/%s", t->group[0] ? "apis" : "api", gv,
             t->namespaced ? "/namespaces/{namespace}" : "", t->resource);
    json_object_set_new(paths, path,
                        json_pack("{s:o,s:o}", "get", operation(t, "list", v2), "post",
                                  operation(t, "create", v2)));
}

static void schema_name(char *buf, size_t n, const struct ks_type *t)
{
    snprintf(buf, n, "io.k8s.kubesim.%s.%s.%s", t->group[0] ? t->group : "core", t->version,
             t->kind);
}

static json_t *schema_of(const struct ks_type *t)
{
    json_t *props = json_object();
    const char *const *top = ks_disc_top_fields(t);
    for (int i = 0; top != NULL && top[i] != NULL; i++)
        json_object_set_new(props, top[i],
                            json_pack("{s:s}", "type",
                                      strcmp(top[i], "apiVersion") == 0 ||
                                              strcmp(top[i], "kind") == 0 ||
                                              strcmp(top[i], "type") == 0
                                          ? "string"
                                          : "object"));
    json_t *s = json_pack("{s:s,s:o,s:o}", "type", "object", "properties", props,
                          "x-kubernetes-group-version-kind", gvk_ext(t));
    if (top == NULL)
        json_object_set_new(s, "x-kubernetes-preserve-unknown-fields", json_true());
    return s;
}

json_t *ks_disc_openapi_gv(const char *group, const char *version)
{
    json_t *paths = json_object(), *schemas = json_object();
    char name[400];
    int found = 0;

    for (int i = 0; i < ntypes; i++) {
        const struct ks_type *t = &types[i];
        if (t->resource[0] == '\0' || strcmp(t->group, group) != 0 ||
            strcmp(t->version, version) != 0)
            continue;
        found = 1;
        add_paths(paths, t, 0);
        schema_name(name, sizeof(name), t);
        json_object_set_new(schemas, name, schema_of(t));
    }
    if (!found) {
        json_decref(paths);
        json_decref(schemas);
        return NULL;
    }
    return json_pack("{s:s,s:{s:s,s:s},s:o,s:{s:o}}", "openapi", "3.0.0", "info", "title",
                     "Kubernetes", "version", "v1.32.0-kubesim", "paths", paths, "components",
                     "schemas", schemas);
}

/* A cheap content hash so that kubectl's cache notices a changed document. */
static unsigned long long fnv(const char *s)
{
    unsigned long long h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

json_t *ks_disc_openapi_root(void)
{
    json_t *paths = json_object();
    char key[400], url[600];

    for (int i = 0; i < ntypes; i++) {
        const struct ks_type *t = &types[i];
        if (t->resource[0] == '\0')
            continue;
        if (t->group[0] == '\0')
            snprintf(key, sizeof(key), "api/%s", t->version);
        else
            snprintf(key, sizeof(key), "apis/%s/%s", t->group, t->version);
        if (json_object_get(paths, key) != NULL)
            continue;
        json_t *doc = ks_disc_openapi_gv(t->group, t->version);
        char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(url, sizeof(url), "/openapi/v3/%s?hash=%016llX", key, fnv(text));
        free(text);
        json_decref(doc);
        json_object_set_new(paths, key, json_pack("{s:s}", "serverRelativeURL", url));
    }
    return json_pack("{s:o}", "paths", paths);
}

json_t *ks_disc_openapi_v2(void)
{
    json_t *paths = json_object(), *defs = json_object();
    char name[400];

    for (int i = 0; i < ntypes; i++) {
        const struct ks_type *t = &types[i];
        if (t->resource[0] == '\0')
            continue;
        add_paths(paths, t, 1);
        schema_name(name, sizeof(name), t);
        json_object_set_new(defs, name, schema_of(t));
    }
    return json_pack("{s:s,s:{s:s,s:s},s:o,s:o}", "swagger", "2.0", "info", "title", "Kubernetes",
                     "version", "v1.32.0-kubesim", "paths", paths, "definitions", defs);
}
