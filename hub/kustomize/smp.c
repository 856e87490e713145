/* smp.c -- strategic merge patches with kustomize's (kyaml merge2) semantics */
#include "internal.h"

#include "gitfleet/error.h"
#include "gitfleet/k8s_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMP_MAX_DEPTH 256

struct smp_ctx {
    const char *group, *version, *kind;
    const json_t *openapi;
};

static int merge_value(json_t **dst, const json_t *src, const char *path, const struct smp_ctx *c,
                       int depth);

static const char *directive(const json_t *obj)
{
    return json_is_object(obj) ? json_string_value(json_object_get(obj, "$patch")) : NULL;
}

static char *child_path(const char *path, const char *key)
{
    return path[0] ? kz_printf("%s.%s", path, key) : strdup(key);
}

/* Merge the map src into the map *dst (which may be replaced or become NULL). */
static int merge_map(json_t **dst, const json_t *src, const char *path, const struct smp_ctx *c,
                     int depth)
{
    const char *d = directive(src), *key;
    json_t *sv;
    int error;

    if (d != NULL && strcmp(d, "delete") == 0) {
        json_decref(*dst);
        *dst = NULL;
        return 0;
    }
    if (d != NULL && strcmp(d, "replace") == 0) {
        json_decref(*dst);
        *dst = json_object();
    } else if (d != NULL && strcmp(d, "merge") != 0) {
        return gf_error_set(GF_EINVAL, "%s: unknown patch directive '$patch: %s'",
                            path[0] ? path : "patch", d);
    }
    json_object_foreach((json_t *)src, key, sv)
    {
        if (strcmp(key, "$patch") == 0)
            continue;
        if (json_is_null(sv)) {
            json_object_del(*dst, key);
            continue;
        }
        json_t *dv = json_incref(json_object_get(*dst, key));
        char *cp = child_path(path, key);
        error = merge_value(&dv, sv, cp, c, depth + 1);
        free(cp);
        if (error < 0) {
            json_decref(dv);
            return error;
        }
        if (dv == NULL)
            json_object_del(*dst, key);
        else
            json_object_set_new(*dst, key, dv);
    }
    return 0;
}

static int scalar_eq(const json_t *a, const json_t *b)
{
    char *sa = kz_scalar_string(a), *sb = kz_scalar_string(b);
    int eq = sa != NULL && sb != NULL && strcmp(sa, sb) == 0;
    free(sa);
    free(sb);
    return eq;
}

/* Does the destination item match the patch item on the merge keys the
 * patch item gives (keys it leaves out are ignored)? */
static int keys_match(const json_t *ditem, const json_t *sitem, const char *const *keys)
{
    int any = 0;
    if (!json_is_object(ditem) || !json_is_object(sitem))
        return 0;
    for (size_t k = 0; k < 3 && keys[k] != NULL; k++) {
        const json_t *sv = json_object_get(sitem, keys[k]);
        if (sv == NULL || json_is_null(sv))
            continue;
        any = 1;
        if (!scalar_eq(json_object_get(ditem, keys[k]), sv))
            return 0;
    }
    return any;
}

static int key_value_eq(const json_t *a, const json_t *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return scalar_eq(a, b);
}

/* Two items of a list have the same value for every merge key (absent == absent). */
static int same_keys(const json_t *a, const json_t *b, const char *const *keys)
{
    if (!json_is_object(a) || !json_is_object(b))
        return 0;
    for (size_t k = 0; k < 3 && keys[k] != NULL; k++)
        if (!key_value_eq(json_object_get(a, keys[k]), json_object_get(b, keys[k])))
            return 0;
    return 1;
}

/*
 * Lists keyed by merge keys. With one key kyaml puts the patch's items
 * first (merged with their originals), then the untouched originals; with
 * several keys (ports) it puts the new items first, then the originals in
 * their own order, merged in place.
 */
static int merge_keyed_list(json_t **dst, const json_t *src, const char *path,
                            const struct gf_k8s_list_info *info, const struct smp_ctx *c, int depth)
{
    size_t nd = json_array_size(*dst), i;
    int multi = info->keys[1] != NULL;
    json_t **merged = calloc(nd + 1, sizeof(json_t *));
    char *state = calloc(nd + 1, 1); /* 0 untouched, 1 merged, 2 deleted */
    json_t *result = json_array(), *sitem;
    int error = 0;

    /* kyaml walks an associative list by its keys: items of the resource
     * repeating an earlier item's keys collapse into that one */
    for (size_t j = 0; j < nd; j++)
        for (size_t e = 0; e < j && state[j] == 0; e++)
            if (state[e] == 0 &&
                same_keys(json_array_get(*dst, e), json_array_get(*dst, j), info->keys))
                state[j] = 2;
    json_array_foreach((json_t *)src, i, sitem)
    {
        size_t j;
        for (j = 0; j < nd; j++)
            if (state[j] == 0 && keys_match(json_array_get(*dst, j), sitem, info->keys))
                break;
        const char *d = directive(sitem);
        if (d != NULL && strcmp(d, "delete") == 0) {
            if (j < nd)
                state[j] = 2;
            continue;
        }
        json_t *item = j < nd ? json_deep_copy(json_array_get(*dst, j)) : NULL;
        if ((error = merge_value(&item, sitem, path, c, depth + 1)) < 0) {
            json_decref(item);
            break;
        }
        if (j < nd) {
            state[j] = item != NULL ? 1 : 2;
            merged[j] = item;
            if (multi || item == NULL)
                continue;
            json_incref(item);
        }
        if (item != NULL)
            json_array_append_new(result, item);
    }
    for (size_t j = 0; error == 0 && j < nd; j++) {
        if (state[j] == 0)
            json_array_append(result, json_array_get(*dst, j));
        else if (state[j] == 1 && multi)
            json_array_append(result, merged[j]);
    }
    for (size_t j = 0; j < nd; j++)
        json_decref(merged[j]);
    free(merged);
    free(state);
    if (error < 0) {
        json_decref(result);
        return error;
    }
    json_decref(*dst);
    *dst = result;
    return 0;
}

static int merge_set_list(json_t **dst, const json_t *src)
{
    json_t *result = json_deep_copy(src), *dv;
    size_t i, j;

    json_array_foreach(*dst, i, dv)
    {
        int found = 0;
        for (j = 0; j < json_array_size(src) && !found; j++)
            found = json_equal(dv, json_array_get(src, j));
        if (!found)
            json_array_append(result, dv);
    }
    json_decref(*dst);
    *dst = result;
    return 0;
}

/* `- $patch: replace` inside a list: the list becomes the other patch items. */
static int has_replace_item(const json_t *src)
{
    size_t i;
    json_t *v;
    json_array_foreach((json_t *)src, i, v)
    {
        const char *d = directive(v);
        if (d != NULL && strcmp(d, "replace") == 0)
            return 1;
    }
    return 0;
}

static int merge_list(json_t **dst, const json_t *src, const char *path, const struct smp_ctx *c,
                      int depth)
{
    struct gf_k8s_list_info info;
    if (c->openapi == NULL ||
        !kz_openapi_list_info(&info, c->openapi, c->group, c->version, c->kind, path))
        info = gf_k8s_list_info(c->group, c->kind, path);

    if (has_replace_item(src)) {
        json_t *result = json_array(), *v;
        size_t i;
        json_array_foreach((json_t *)src, i, v)
        {
            const char *d = directive(v);
            if (d == NULL || strcmp(d, "replace") != 0)
                json_array_append_new(result, json_deep_copy(v));
        }
        json_decref(*dst);
        *dst = result;
        return 0;
    }
    if (*dst == NULL || !json_is_array(*dst))
        info.type = info.type == GF_K8S_LIST_MAP ? GF_K8S_LIST_MAP : GF_K8S_LIST_ATOMIC;
    if (info.type == GF_K8S_LIST_MAP) {
        if (*dst == NULL || !json_is_array(*dst)) {
            json_decref(*dst);
            *dst = json_array();
        }
        return merge_keyed_list(dst, src, path, &info, c, depth);
    }
    if (info.type == GF_K8S_LIST_SET && json_is_array(*dst))
        return merge_set_list(dst, src);
    json_decref(*dst);
    *dst = json_deep_copy(src);
    return 0;
}

/* kyaml refuses to merge a map, a list and a scalar into one another. */
static int node_kind(const json_t *v)
{
    return json_is_object(v) ? 1 : json_is_array(v) ? 2 : 0;
}

static const char *kind_name(int k)
{
    return k == 1 ? "a map" : k == 2 ? "a list" : "a scalar";
}

static int merge_value(json_t **dst, const json_t *src, const char *path, const struct smp_ctx *c,
                       int depth)
{
    if (depth > SMP_MAX_DEPTH)
        return gf_error_set(GF_EINVAL, "patch nests deeper than %d levels", SMP_MAX_DEPTH);
    if (*dst != NULL && !json_is_null(*dst) && node_kind(*dst) != node_kind(src))
        return gf_error_set(GF_EINVAL,
                            "%s: wrong node kind: the patch has %s where the resource "
                            "has %s",
                            path[0] ? path : "patch", kind_name(node_kind(src)),
                            kind_name(node_kind(*dst)));
    if (json_is_object(src)) {
        if (*dst == NULL || !json_is_object(*dst)) {
            json_decref(*dst);
            *dst = json_object();
        }
        return merge_map(dst, src, path, c, depth);
    }
    if (json_is_array(src)) {
        return merge_list(dst, src, path, c, depth);
    }
    json_decref(*dst);
    *dst = json_deep_copy(src);
    return 0;
}

int kz_smp_merge(json_t **target, const json_t *patch, const char *group, const char *version,
                 const char *kind, const json_t *openapi)
{
    struct smp_ctx c = {group, version, kind, openapi};

    if (!json_is_object(patch))
        return gf_error_set(GF_EINVAL, "a strategic merge patch must be a map");
    return merge_value(target, patch, "", &c, 0);
}
