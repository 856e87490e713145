/* patch.c -- JSON patch (RFC 6902), JSON merge patch (RFC 7386) and API-server strategic merge
 * patch */
#include "patch.h"

#include "gitfleet/error.h"
#include "gitfleet/k8s_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 100

/* ---- JSON patch --------------------------------------------------------------------------- */

/* Decode one reference token (~1 -> '/', ~0 -> '~') of a JSON pointer. */
static void pointer_token(char *out, size_t n, const char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < n; i++) {
        if (s[i] == '~' && i + 1 < len && (s[i + 1] == '0' || s[i + 1] == '1')) {
            out[o++] = s[i + 1] == '0' ? '~' : '/';
            i++;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
}

static int parse_index(const char *tok, size_t size, int allow_end, size_t *out)
{
    char *end;
    if (allow_end && strcmp(tok, "-") == 0) {
        *out = size;
        return 0;
    }
    if (tok[0] == '\0' || (tok[0] == '0' && tok[1] != '\0'))
        return -1;
    unsigned long v = strtoul(tok, &end, 10);
    if (*end != '\0' || v > size || (!allow_end && v == size))
        return -1;
    *out = v;
    return 0;
}

/* Find the parent container of `path` and the last token. */
static int resolve_parent(json_t **parent_out, char *last, size_t n, json_t *doc, const char *path)
{
    json_t *cur = doc;
    char tok[1024];

    if (path[0] != '/')
        return gf_error_set(GF_EINVAL, "invalid JSON pointer \"%s\"", path);
    const char *p = path + 1;
    for (;;) {
        size_t len = strcspn(p, "/");
        if (p[len] == '\0') {
            pointer_token(last, n, p, len);
            *parent_out = cur;
            return 0;
        }
        pointer_token(tok, sizeof(tok), p, len);
        size_t idx;
        if (json_is_object(cur))
            cur = json_object_get(cur, tok);
        else if (json_is_array(cur) && parse_index(tok, json_array_size(cur), 0, &idx) == 0)
            cur = json_array_get(cur, idx);
        else
            cur = NULL;
        if (cur == NULL)
            return gf_error_set(GF_EINVAL, "doc is missing path: \"%s\"", path);
        p += len + 1;
    }
}

static json_t *pointer_get(json_t *doc, const char *path)
{
    json_t *parent;
    char last[1024];
    size_t idx;

    if (path[0] == '\0')
        return doc;
    if (resolve_parent(&parent, last, sizeof(last), doc, path) < 0)
        return NULL;
    if (json_is_object(parent))
        return json_object_get(parent, last);
    if (json_is_array(parent) && parse_index(last, json_array_size(parent), 0, &idx) == 0)
        return json_array_get(parent, idx);
    return NULL;
}

/* Remove and return (new reference) the value at path. */
static json_t *pointer_take(json_t *doc, const char *path)
{
    json_t *parent, *v = NULL;
    char last[1024];
    size_t idx;

    if (resolve_parent(&parent, last, sizeof(last), doc, path) < 0)
        return NULL;
    if (json_is_object(parent) && (v = json_object_get(parent, last)) != NULL) {
        json_incref(v);
        json_object_del(parent, last);
    } else if (json_is_array(parent) && parse_index(last, json_array_size(parent), 0, &idx) == 0) {
        v = json_incref(json_array_get(parent, idx));
        json_array_remove(parent, idx);
    }
    if (v == NULL)
        gf_error_set(GF_EINVAL, "unable to remove nonexistent key: \"%s\"", path);
    return v;
}

/* Insert `value` (stolen) at path: object member set, array insert. */
static int pointer_add(json_t **doc, const char *path, json_t *value, int replace)
{
    json_t *parent;
    char last[1024];
    size_t idx;

    if (path[0] == '\0') {
        json_decref(*doc);
        *doc = value;
        return 0;
    }
    if (resolve_parent(&parent, last, sizeof(last), *doc, path) < 0) {
        json_decref(value);
        return GF_EINVAL;
    }
    if (json_is_object(parent)) {
        if (replace && json_object_get(parent, last) == NULL) {
            json_decref(value);
            return gf_error_set(GF_EINVAL,
                                "replace operation does not apply: doc is missing "
                                "key: %s",
                                path);
        }
        json_object_set_new(parent, last, value);
        return 0;
    }
    if (json_is_array(parent) && parse_index(last, json_array_size(parent), !replace, &idx) == 0) {
        if (replace)
            json_array_set_new(parent, idx, value);
        else
            json_array_insert_new(parent, idx, value);
        return 0;
    }
    json_decref(value);
    return gf_error_set(GF_EINVAL, "doc is missing path: \"%s\"", path);
}

static int json_patch_op(json_t **doc, const json_t *op)
{
    const char *name = json_string_value(json_object_get(op, "op"));
    const char *path = json_string_value(json_object_get(op, "path"));
    const char *from = json_string_value(json_object_get(op, "from"));
    json_t *value = json_object_get(op, "value"), *v;

    if (name == NULL || path == NULL)
        return gf_error_set(GF_EINVAL, "a JSON patch operation needs \"op\" and \"path\"");
    if (strcmp(name, "add") == 0 || strcmp(name, "replace") == 0) {
        if (value == NULL)
            return gf_error_set(GF_EINVAL, "%s operation needs a value", name);
        return pointer_add(doc, path, json_deep_copy(value), name[0] == 'r');
    }
    if (strcmp(name, "remove") == 0) {
        v = pointer_take(*doc, path);
        json_decref(v);
        return v != NULL ? 0 : GF_EINVAL;
    }
    if (strcmp(name, "test") == 0) {
        v = pointer_get(*doc, path);
        if (v == NULL || value == NULL || !json_equal(v, value))
            return gf_error_set(GF_ECONFLICT, "testing value %s failed", path);
        return 0;
    }
    if ((strcmp(name, "move") == 0 || strcmp(name, "copy") == 0) && from != NULL) {
        v = name[0] == 'm' ? pointer_take(*doc, from) : json_deep_copy(pointer_get(*doc, from));
        if (v == NULL)
            return gf_error_set(GF_EINVAL, "%s operation: missing from \"%s\"", name, from);
        return pointer_add(doc, path, v, 0);
    }
    return gf_error_set(GF_EINVAL, "unexpected JSON patch operation \"%s\"", name);
}

int ks_patch_json(json_t **out, const json_t *doc, const json_t *ops)
{
    json_t *cur;
    size_t i;
    json_t *op;
    int error;

    if (!json_is_array(ops))
        return gf_error_set(GF_EINVAL, "a JSON patch must be an array of operations");
    cur = json_deep_copy(doc);
    json_array_foreach(ops, i, op)
    {
        if ((error = json_patch_op(&cur, op)) < 0) {
            json_decref(cur);
            return error;
        }
    }
    *out = cur;
    return 0;
}

/* ---- merge patch -------------------------------------------------------------------------- */

json_t *ks_patch_merge(const json_t *doc, const json_t *patch)
{
    const char *key;
    json_t *v;

    if (!json_is_object(patch))
        return json_deep_copy(patch);
    json_t *out = json_is_object(doc) ? json_deep_copy(doc) : json_object();
    json_object_foreach((json_t *)patch, key, v)
    {
        if (json_is_null(v))
            json_object_del(out, key);
        else
            json_object_set_new(out, key, ks_patch_merge(json_object_get(out, key), v));
    }
    return out;
}

/* ---- strategic merge patch ---------------------------------------------------------------- */

struct smp {
    const char *group, *kind;
};

static int merge_map(struct smp *s, json_t *orig, json_t *patch, const char *path, int depth);

static void join_path(char *buf, size_t n, const char *path, const char *key)
{
    if (path[0] == '\0')
        snprintf(buf, n, "%s", key);
    else
        snprintf(buf, n, "%s.%s", path, key);
}

static int is_directive(const char *key)
{
    return key[0] == '$';
}

/* A copy with every $-directive removed (for items new to a list). */
static json_t *strip_directives(const json_t *v)
{
    const char *key;
    json_t *m, *out;
    size_t i;

    if (json_is_array(v)) {
        out = json_array();
        json_array_foreach((json_t *)v, i, m) json_array_append_new(out, strip_directives(m));
        return out;
    }
    if (!json_is_object(v))
        return json_deep_copy(v);
    out = json_object();
    json_object_foreach((json_t *)v, key, m) if (!is_directive(key) && !json_is_null(m))
        json_object_set_new(out, key, strip_directives(m));
    return out;
}

static int item_matches(json_t *item, const char *key, json_t *want)
{
    json_t *v = json_object_get(item, key);
    return v != NULL && want != NULL && json_equal(v, want);
}

static long find_item(json_t *list, const char *key, json_t *want)
{
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it) if (key != NULL ? item_matches(it, key, want)
                                                    : json_equal(it, want)) return (long)i;
    return -1;
}

static long order_index(json_t *order, json_t *item, const char *key)
{
    return find_item(order, key, key != NULL ? json_object_get(item, key) : item);
}

/* apimachinery mergeSortedSlice: server-only items go before a patch item
 * only when both are in the server order and the server item comes first. */
static json_t *merge_sorted(json_t *server_only, json_t *patch_items, json_t *server_order,
                            const char *key)
{
    json_t *out = json_array();
    size_t i = 0, j = 0, nl = json_array_size(server_only), nr = json_array_size(patch_items);

    while (i < nl || j < nr) {
        if (j >= nr) {
            json_array_append(out, json_array_get(server_only, i++));
        } else if (i >= nl) {
            json_array_append(out, json_array_get(patch_items, j++));
        } else {
            long li = order_index(server_order, json_array_get(server_only, i), key);
            long ri = order_index(server_order, json_array_get(patch_items, j), key);
            if (li >= 0 && ri >= 0 && li < ri)
                json_array_append(out, json_array_get(server_only, i++));
            else
                json_array_append(out, json_array_get(patch_items, j++));
        }
    }
    return out;
}

/* Stable sort of `items` by position in `order` (items absent keep their place at the end). */
static json_t *sort_by(json_t *items, json_t *order, const char *key)
{
    json_t *out = json_array();
    size_t i;
    json_t *o, *it;

    json_array_foreach(order, i, o)
    {
        long at = find_item(items, key, key != NULL ? json_object_get(o, key) : o);
        if (at >= 0 && find_item(out, NULL, json_array_get(items, (size_t)at)) < 0)
            json_array_append(out, json_array_get(items, (size_t)at));
    }
    json_array_foreach(items, i, it) if (find_item(out, NULL, it) < 0) json_array_append(out, it);
    return out;
}

static json_t *normalize_order(json_t *merged, json_t *patch_order, json_t *server_order,
                               const char *key)
{
    json_t *patch_items = json_array(), *server_only = json_array(), *it;
    size_t i;

    json_array_foreach(merged, i, it)
    {
        json_t *want = key != NULL ? json_object_get(it, key) : it;
        json_array_append(find_item(patch_order, key, want) >= 0 ? patch_items : server_only, it);
    }
    json_t *ps = sort_by(patch_items, patch_order, key);
    json_t *ss = sort_by(server_only, server_order, key);
    json_t *out = merge_sorted(ss, ps, server_order, key);
    json_decref(patch_items);
    json_decref(server_only);
    json_decref(ps);
    json_decref(ss);
    return out;
}

static int merge_keyed_item(struct smp *s, json_t *merged, json_t *item, const char *key,
                            const char *path, int depth)
{
    json_t *kv = json_object_get(item, key);
    const char *directive = json_string_value(json_object_get(item, "$patch"));

    if (kv == NULL)
        return gf_error_set(GF_EINVAL, "map: %s does not contain declared merge key: %s", path,
                            key);
    long at = find_item(merged, key, kv);
    if (directive != NULL && strcmp(directive, "delete") == 0) {
        while ((at = find_item(merged, key, kv)) >= 0)
            json_array_remove(merged, (size_t)at);
        return 0;
    }
    if (at < 0) {
        json_array_append_new(merged, strip_directives(item));
        return 0;
    }
    json_t *copy = json_deep_copy(json_array_get(merged, (size_t)at));
    int error = merge_map(s, copy, item, path, depth + 1);
    json_array_set_new(merged, (size_t)at, copy);
    return error;
}

static int has_replace_item(json_t *patch)
{
    size_t i;
    json_t *it;
    json_array_foreach(patch, i, it)
    {
        const char *d = json_string_value(json_object_get(it, "$patch"));
        if (d != NULL && strcmp(d, "replace") == 0)
            return 1;
    }
    return 0;
}

static json_t *replaced_list(json_t *patch)
{
    json_t *out = json_array(), *it;
    size_t i;
    json_array_foreach(patch, i,
                       it) if (!(json_is_object(it) && json_object_get(it, "$patch") != NULL))
        json_array_append_new(out, strip_directives(it));
    return out;
}

/* Merge list `patch` into list `orig`; *out is the new list. */
static int merge_list(struct smp *s, json_t **out, json_t *orig, json_t *patch, json_t *order,
                      const char *path, int depth)
{
    struct gf_k8s_list_info info = gf_k8s_list_info(s->group, s->kind, path);
    const char *key = info.type == GF_K8S_LIST_MAP ? info.keys[0] : NULL;
    size_t i;
    json_t *it;
    int error = 0;

    if (info.type == GF_K8S_LIST_ATOMIC || !json_is_array(orig) || has_replace_item(patch)) {
        *out = replaced_list(patch);
        return 0;
    }
    json_t *merged = json_deep_copy(orig);
    json_array_foreach(patch, i, it)
    {
        if (key != NULL && json_is_object(it))
            error = merge_keyed_item(s, merged, it, key, path, depth);
        else if (key == NULL && find_item(merged, NULL, it) < 0)
            json_array_append(merged, it);
        if (error < 0)
            break;
    }
    if (error == 0)
        *out = normalize_order(merged, order != NULL ? order : patch, orig, key);
    json_decref(merged);
    return error;
}

static void delete_from_primitive_list(json_t *orig, const char *field, json_t *values)
{
    json_t *list = json_object_get(orig, field), *v;
    size_t i;
    long at;

    if (!json_is_array(list))
        return;
    json_array_foreach(values, i, v) while ((at = find_item(list, NULL, v)) >= 0)
        json_array_remove(list, (size_t)at);
}

static void retain_keys(json_t *orig, json_t *keys)
{
    const char *key;
    json_t *v, *k;
    void *tmp;
    size_t i;

    json_object_foreach_safe(orig, tmp, key, v)
    {
        int keep = 0;
        json_array_foreach(keys, i, k) if (json_is_string(k) &&
                                           strcmp(json_string_value(k), key) == 0) keep = 1;
        if (!keep)
            json_object_del(orig, key);
    }
}

static int merge_field(struct smp *s, json_t *orig, const char *key, json_t *pv, json_t *patch,
                       const char *path, int depth)
{
    char sub[1024], order_key[600];
    json_t *ov = json_object_get(orig, key), *merged = NULL;
    int error;

    join_path(sub, sizeof(sub), path, key);
    if (json_is_null(pv)) {
        json_object_del(orig, key);
        return 0;
    }
    if (json_is_object(pv)) {
        const char *d = json_string_value(json_object_get(pv, "$patch"));
        if (d != NULL && strcmp(d, "delete") == 0) {
            json_object_del(orig, key);
            return 0;
        }
        json_t *copy = json_is_object(ov) ? json_deep_copy(ov) : json_object();
        error = merge_map(s, copy, pv, sub, depth + 1);
        json_object_set_new(orig, key, copy);
        return error;
    }
    if (json_is_array(pv)) {
        snprintf(order_key, sizeof(order_key), "$setElementOrder/%s", key);
        if ((error =
                 merge_list(s, &merged, ov, pv, json_object_get(patch, order_key), sub, depth)) < 0)
            return error;
        json_object_set_new(orig, key, merged);
        return 0;
    }
    json_object_set(orig, key, pv);
    return 0;
}

/* A $setElementOrder for a field the patch does not otherwise touch reorders it. */
static int reorder_only(struct smp *s, json_t *orig, const char *field, json_t *order,
                        const char *path)
{
    char sub[1024];
    json_t *list = json_object_get(orig, field);
    join_path(sub, sizeof(sub), path, field);
    struct gf_k8s_list_info info = gf_k8s_list_info(s->group, s->kind, sub);
    if (!json_is_array(list) || info.type == GF_K8S_LIST_ATOMIC)
        return 0;
    json_t *out =
        normalize_order(list, order, list, info.type == GF_K8S_LIST_MAP ? info.keys[0] : NULL);
    json_object_set_new(orig, field, out);
    return 0;
}

static int merge_map(struct smp *s, json_t *orig, json_t *patch, const char *path, int depth)
{
    const char *key, *d = json_string_value(json_object_get(patch, "$patch"));
    json_t *v;
    int error = 0;

    if (depth > MAX_DEPTH)
        return gf_error_set(GF_EINVAL, "patch nested deeper than %d", MAX_DEPTH);
    if (d != NULL && strcmp(d, "replace") == 0) {
        json_t *clean = strip_directives(patch);
        json_object_clear(orig);
        json_object_update(orig, clean);
        json_decref(clean);
        return 0;
    }
    json_object_foreach(patch, key, v)
    {
        if (strncmp(key, "$deleteFromPrimitiveList/", 25) == 0)
            delete_from_primitive_list(orig, key + 25, v);
        else if (strncmp(key, "$setElementOrder/", 17) == 0 &&
                 json_object_get(patch, key + 17) == NULL)
            error = reorder_only(s, orig, key + 17, v, path);
        else if (!is_directive(key))
            error = merge_field(s, orig, key, v, patch, path, depth);
        if (error < 0)
            return error;
    }
    json_t *retain = json_object_get(patch, "$retainKeys");
    if (json_is_array(retain))
        retain_keys(orig, retain);
    return 0;
}

int ks_patch_strategic(json_t **out, const json_t *doc, const json_t *patch, const char *group,
                       const char *kind)
{
    struct smp s = {group, kind};
    if (!json_is_object(patch))
        return gf_error_set(GF_EINVAL, "a strategic merge patch must be a JSON object");
    json_t *cur = json_is_object(doc) ? json_deep_copy(doc) : json_object();
    int error = merge_map(&s, cur, (json_t *)patch, "", 0);
    if (error < 0) {
        json_decref(cur);
        return error;
    }
    *out = cur;
    return 0;
}
