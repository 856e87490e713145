/* json6902.c -- JSON patches (RFC 6902) over document trees */
#include "internal.h"

#include "gitfleet/error.h"

#include <stdlib.h>
#include <string.h>

#define PTR_MAX_SEGMENTS 256

/* Split a JSON pointer into unescaped segments. */
static int pointer_split(const char *ptr, char ***segs_out, size_t *n_out)
{
    char **segs = NULL;
    size_t n = 0;

    *segs_out = NULL;
    *n_out = 0;
    if (ptr[0] == '\0')
        return 0;
    if (ptr[0] != '/')
        return gf_error_set(GF_EINVAL, "JSON pointer '%s' must start with '/'", ptr);
    const char *p = ptr + 1;
    for (;;) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *s = malloc(len + 1), *o = s;
        for (size_t i = 0; i < len; i++) {
            if (p[i] == '~' && i + 1 < len && (p[i + 1] == '0' || p[i + 1] == '1')) {
                *o++ = p[i + 1] == '0' ? '~' : '/';
                i++;
            } else {
                *o++ = p[i];
            }
        }
        *o = '\0';
        if (n >= PTR_MAX_SEGMENTS) {
            free(s);
            for (size_t i = 0; i < n; i++)
                free(segs[i]);
            free(segs);
            return gf_error_set(GF_EINVAL, "JSON pointer '%s' is too deep", ptr);
        }
        segs = realloc(segs, (n + 1) * sizeof(char *));
        segs[n++] = s;
        if (end == NULL)
            break;
        p = end + 1;
    }
    *segs_out = segs;
    *n_out = n;
    return 0;
}

static void segs_free(char **segs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(segs[i]);
    free(segs);
}

/* Parse an array index; -1 for "-" (append), -2 for invalid. */
static long parse_index(const char *s)
{
    char *end;
    if (strcmp(s, "-") == 0)
        return -1;
    if (s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1] != '\0'))
        return -2;
    long v = strtol(s, &end, 10);
    return *end == '\0' ? v : -2;
}

/* The container holding the last segment of the pointer. */
static json_t *resolve_parent(json_t *doc, char **segs, size_t n)
{
    json_t *cur = doc;
    for (size_t i = 0; i + 1 < n && cur != NULL; i++) {
        if (json_is_object(cur)) {
            cur = json_object_get(cur, segs[i]);
        } else if (json_is_array(cur)) {
            long idx = parse_index(segs[i]);
            cur = idx >= 0 ? json_array_get(cur, (size_t)idx) : NULL;
        } else {
            cur = NULL;
        }
    }
    return cur;
}

static json_t *get_at(json_t *doc, char **segs, size_t n)
{
    if (n == 0)
        return doc;
    json_t *parent = resolve_parent(doc, segs, n);
    if (json_is_object(parent))
        return json_object_get(parent, segs[n - 1]);
    if (json_is_array(parent)) {
        long idx = parse_index(segs[n - 1]);
        return idx >= 0 ? json_array_get(parent, (size_t)idx) : NULL;
    }
    return NULL;
}

static int op_add(json_t **doc, char **segs, size_t n, json_t *value, const char *path)
{
    if (n == 0) {
        json_decref(*doc);
        *doc = value;
        return 0;
    }
    json_t *parent = resolve_parent(*doc, segs, n);
    if (json_is_object(parent)) {
        json_object_set_new(parent, segs[n - 1], value);
        return 0;
    }
    if (json_is_array(parent)) {
        long idx = parse_index(segs[n - 1]);
        if (idx == -1 || (idx >= 0 && (size_t)idx == json_array_size(parent)))
            return json_array_append_new(parent, value) == 0 ? 0 : GF_ENOMEM;
        if (idx >= 0 && (size_t)idx < json_array_size(parent)) {
            json_array_insert_new(parent, (size_t)idx, value);
            return 0;
        }
    }
    json_decref(value);
    return gf_error_set(GF_EINVAL, "add operation does not apply: doc is missing path: \"%s\"",
                        path);
}

static int op_remove(json_t *doc, char **segs, size_t n, const char *path)
{
    json_t *parent = n > 0 ? resolve_parent(doc, segs, n) : NULL;
    if (json_is_object(parent) && json_object_get(parent, segs[n - 1]) != NULL) {
        json_object_del(parent, segs[n - 1]);
        return 0;
    }
    if (json_is_array(parent)) {
        long idx = parse_index(segs[n - 1]);
        if (idx >= 0 && (size_t)idx < json_array_size(parent)) {
            json_array_remove(parent, (size_t)idx);
            return 0;
        }
    }
    return gf_error_set(GF_EINVAL, "remove operation does not apply: doc is missing path: \"%s\"",
                        path);
}

static int op_replace(json_t **doc, char **segs, size_t n, json_t *value, const char *path)
{
    if (n == 0) {
        json_decref(*doc);
        *doc = value;
        return 0;
    }
    json_t *parent = resolve_parent(*doc, segs, n);
    if (json_is_object(parent) && json_object_get(parent, segs[n - 1]) != NULL) {
        json_object_set_new(parent, segs[n - 1], value);
        return 0;
    }
    if (json_is_array(parent)) {
        long idx = parse_index(segs[n - 1]);
        if (idx >= 0 && (size_t)idx < json_array_size(parent)) {
            json_array_set_new(parent, (size_t)idx, value);
            return 0;
        }
    }
    json_decref(value);
    return gf_error_set(GF_EINVAL, "replace operation does not apply: doc is missing key: %s",
                        path);
}

static int apply_one(json_t **doc, const json_t *op)
{
    const char *name = json_string_value(json_object_get(op, "op"));
    const char *path = json_string_value(json_object_get(op, "path"));
    const char *from = json_string_value(json_object_get(op, "from"));
    json_t *value = json_object_get(op, "value");
    char **segs = NULL, **fsegs = NULL;
    size_t n = 0, fn = 0;
    int error;

    if (name == NULL || path == NULL)
        return gf_error_set(GF_EINVAL, "a JSON patch operation needs 'op' and 'path'");
    if ((error = pointer_split(path, &segs, &n)) < 0)
        return error;
    if (strcmp(name, "add") == 0 || strcmp(name, "replace") == 0) {
        if (value == NULL)
            error = gf_error_set(GF_EINVAL, "JSON patch '%s' at %s has no value", name, path);
        else if (name[0] == 'a')
            error = op_add(doc, segs, n, json_deep_copy(value), path);
        else
            error = op_replace(doc, segs, n, json_deep_copy(value), path);
    } else if (strcmp(name, "remove") == 0) {
        error = op_remove(*doc, segs, n, path);
    } else if (strcmp(name, "test") == 0) {
        json_t *cur = get_at(*doc, segs, n);
        if (cur == NULL || value == NULL || !json_equal(cur, value))
            error = gf_error_set(GF_EINVAL, "testing value %s failed", path);
    } else if (strcmp(name, "move") == 0 || strcmp(name, "copy") == 0) {
        if (from == NULL || (error = pointer_split(from, &fsegs, &fn)) < 0) {
            error = from == NULL ? gf_error_set(GF_EINVAL, "JSON patch '%s' needs 'from'", name)
                                 : error;
        } else {
            json_t *src = get_at(*doc, fsegs, fn);
            if (src == NULL) {
                error = gf_error_set(GF_EINVAL,
                                     "%s operation does not apply: doc is missing from path: %s",
                                     name, from);
            } else {
                json_t *copy = json_deep_copy(src);
                if (name[0] == 'm')
                    error = op_remove(*doc, fsegs, fn, from);
                error = error < 0 ? (json_decref(copy), error) : op_add(doc, segs, n, copy, path);
            }
        }
    } else {
        error = gf_error_set(GF_EINVAL, "unknown JSON patch operation '%s'", name);
    }
    segs_free(segs, n);
    segs_free(fsegs, fn);
    return error;
}

int kz_json6902_apply(json_t **target, const json_t *ops)
{
    size_t i;
    json_t *op;
    int error;

    if (!json_is_array(ops))
        return gf_error_set(GF_EINVAL, "a JSON patch must be a list of operations");
    json_array_foreach((json_t *)ops, i, op)
    {
        if (!json_is_object(op))
            return gf_error_set(GF_EINVAL, "JSON patch operation %zu is not a map", i);
        if ((error = apply_one(target, op)) < 0)
            return error;
    }
    return 0;
}
