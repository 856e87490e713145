/* openapi.c -- merge rules from a custom OpenAPI schema (the kustomization's `openapi` field) */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPENAPI_MAX_DEPTH 64

static int gvk_listed(const json_t *def, const char *group, const char *version, const char *kind)
{
    const json_t *list = json_object_get(def, "x-kubernetes-group-version-kind"), *e;
    size_t i;

    json_array_foreach((json_t *)list, i, e)
    {
        const char *g = json_string_value(json_object_get(e, "group"));
        const char *v = json_string_value(json_object_get(e, "version"));
        const char *k = json_string_value(json_object_get(e, "kind"));
        if (k != NULL && strcmp(k, kind) == 0 && strcmp(g ? g : "", group) == 0 &&
            strcmp(v ? v : "", version) == 0)
            return 1;
    }
    return 0;
}

/* The definition of a kind in the schema; NULL when the schema does not have it. */
static const json_t *kind_definition(const json_t *openapi, const char *group, const char *version,
                                     const char *kind)
{
    const json_t *defs = json_object_get(openapi, "definitions"), *def;
    const char *name;

    json_object_foreach((json_t *)defs, name, def)
    {
        if (gvk_listed(def, group, version, kind))
            return def;
    }
    return NULL;
}

static struct gf_k8s_list_info info_from(const json_t *prop)
{
    struct gf_k8s_list_info info = {GF_K8S_LIST_ATOMIC, {NULL, NULL, NULL}, 0};
    const char *strategy = json_string_value(json_object_get(prop, "x-kubernetes-patch-strategy"));
    const json_t *keys = json_object_get(prop, "x-kubernetes-list-map-keys");
    const char *key = json_string_value(json_object_get(prop, "x-kubernetes-patch-merge-key"));

    if (strategy == NULL || strstr(strategy, "merge") == NULL)
        return info;
    if (json_array_size(keys) > 0) {
        info.type = GF_K8S_LIST_MAP;
        for (size_t i = 0; i < 3 && i < json_array_size(keys); i++)
            info.keys[i] = json_string_value(json_array_get(keys, i));
    } else if (key != NULL) {
        info.type = GF_K8S_LIST_MAP;
        info.keys[0] = key;
    } else {
        info.type = GF_K8S_LIST_SET;
    }
    info.retain_keys = strstr(strategy, "retainKeys") != NULL;
    return info;
}

/* A $ref the custom schema lacks names a built-in type: kyaml resolves it in
 * the built-in schema. The ones with lists that merge: map them to a kind
 * whose built-in rules gitfleet has. */
static int builtin_fallback(struct gf_k8s_list_info *out, const char *ref, const char *rest)
{
    static const struct {
        const char *type, *kind, *prefix;
    } types[] = {
        {"io.k8s.api.core.v1.PodTemplateSpec", "PodTemplate", "template"},
        {"io.k8s.api.core.v1.PodSpec", "Pod", "spec"},
        {"io.k8s.api.core.v1.Container", "Pod", "spec.containers"},
        {"io.k8s.api.core.v1.ObjectMeta", "Pod", "metadata"},
        {"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "Pod", "metadata"},
    };
    const char *name = strncmp(ref, "#/definitions/", 14) == 0 ? ref + 14 : ref;

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(types[i].type, name) != 0)
            continue;
        char *path = kz_printf("%s.%s", types[i].prefix, rest);
        *out = gf_k8s_list_info("", types[i].kind, path);
        free(path);
        return 1;
    }
    return 0;
}

/* Follow $refs; on a dangling one, try the built-in rules for the rest of the path. */
static const json_t *step(const json_t *defs, const json_t *node, const char *rest,
                          struct gf_k8s_list_info *out, int *done)
{
    for (int i = 0; i < 16 && node != NULL; i++) {
        const char *ref = json_string_value(json_object_get(node, "$ref"));
        if (ref == NULL)
            return node;
        const json_t *next =
            json_object_get(defs, strncmp(ref, "#/definitions/", 14) == 0 ? ref + 14 : ref);
        if (next == NULL) {
            *done = builtin_fallback(out, ref, rest);
            return NULL;
        }
        node = next;
    }
    return node;
}

int kz_openapi_list_info(struct gf_k8s_list_info *out, const json_t *openapi, const char *group,
                         const char *version, const char *kind, const char *path)
{
    const json_t *defs = json_object_get(openapi, "definitions");
    const json_t *cur = kind_definition(openapi, group, version, kind);
    const char *seg = path;
    int done = 0, depth = 0;

    if (cur == NULL)
        return 0;
    while (cur != NULL && *seg && !done && ++depth < OPENAPI_MAX_DEPTH) {
        size_t len = strcspn(seg, ".");
        cur = step(defs, cur, seg, out, &done);
        if (cur != NULL && json_object_get(cur, "items") != NULL)
            cur = step(defs, json_object_get(cur, "items"), seg, out, &done);
        if (cur == NULL)
            break;
        char name[256];
        snprintf(name, sizeof(name), "%.*s", (int)len, seg);
        const json_t *prop = json_object_get(json_object_get(cur, "properties"), name);
        if (prop == NULL)
            break;
        if (seg[len] == '\0') {
            *out = info_from(prop);
            return 1;
        }
        cur = prop;
        seg += len + 1;
    }
    if (done)
        return 1;
    /* a kind the schema describes, a field it does not: replaced whole */
    out->type = GF_K8S_LIST_ATOMIC;
    out->keys[0] = out->keys[1] = out->keys[2] = NULL;
    out->retain_keys = 0;
    return 1;
}
