/* fieldpath.c -- dotted field paths of replacements and vars: a.b.[name=x].c, a.b[0], a.* */
#include "fieldpath.h"
#include "internal.h"

#include "gitfleet/error.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

void kz_fieldpath_free(struct kz_fieldpath *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->segs[i]);
    free(p->segs);
    p->segs = NULL;
    p->n = 0;
}

static void push(struct kz_fieldpath *p, const char *s, size_t len)
{
    p->segs = realloc(p->segs, (p->n + 1) * sizeof(char *));
    p->segs[p->n++] = strndup(s, len);
}

/* Split at dots outside brackets; "ports[0]" becomes "ports", "[0]". */
int kz_fieldpath_split(struct kz_fieldpath *out, const char *path)
{
    const char *start = path;
    int depth = 0;

    memset(out, 0, sizeof(*out));
    for (const char *p = path;; p++) {
        if (*p == '[')
            depth++;
        else if (*p == ']')
            depth--;
        if ((*p == '.' && depth == 0) || *p == '\0') {
            size_t len = (size_t)(p - start);
            const char *br = len > 0 && start[0] != '[' ? memchr(start, '[', len) : NULL;
            if (br != NULL && start[len - 1] == ']') {
                push(out, start, (size_t)(br - start));
                push(out, br, (size_t)(start + len - br));
            } else if (len > 0) {
                push(out, start, len);
            }
            if (*p == '\0')
                break;
            start = p + 1;
        }
    }
    if (depth != 0 || out->n == 0) {
        kz_fieldpath_free(out);
        return gf_error_set(GF_EINVAL, "invalid field path '%s'", path);
    }
    return 0;
}

static int scalar_text_eq(const json_t *v, const char *text)
{
    char buf[64];
    if (json_is_string(v))
        return strcmp(json_string_value(v), text) == 0;
    if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        return strcmp(buf, text) == 0;
    }
    if (json_is_boolean(v))
        return strcmp(json_is_true(v) ? "true" : "false", text) == 0;
    return 0;
}

/* The value's text matched by an unanchored regex (Go's MatchString). */
static int regex_text_match(const json_t *v, const char *pat)
{
    char *text = kz_scalar_string(v);
    regex_t re;
    int ok = 0;

    if (text != NULL && regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) == 0) {
        ok = regexec(&re, text, 0, NULL, 0) == 0;
        regfree(&re);
    }
    free(text);
    return ok;
}

/* "[k=v]" matches a map item with k == v; "[=v]" a scalar item equal to v;
 * with regex, v is an unanchored regex instead. */
static int filter_matches(const json_t *item, const char *seg, int regex)
{
    size_t len = strlen(seg);
    char *inner = strndup(seg + 1, len - 2);
    char *eq = strchr(inner, '=');
    int ok = 0;

    if (eq != NULL) {
        *eq = '\0';
        const json_t *v =
            inner[0] == '\0' ? item : (json_is_object(item) ? json_object_get(item, inner) : NULL);
        ok = v != NULL && (regex ? regex_text_match(v, eq + 1) : scalar_text_eq(v, eq + 1));
    }
    free(inner);
    return ok;
}

static int is_index(const char *seg, long *idx)
{
    const char *s = seg[0] == '[' ? seg + 1 : seg;
    char *end;
    if (*s < '0' || *s > '9')
        return 0;
    *idx = strtol(s, &end, 10);
    return seg[0] == '[' ? strcmp(end, "]") == 0 : *end == '\0';
}

static int is_index(const char *seg, long *idx);

static json_t *new_container(const struct kz_fieldpath *p, size_t i)
{
    long idx;
    if (i + 1 < p->n && (p->segs[i + 1][0] == '[' || strcmp(p->segs[i + 1], "*") == 0 ||
                         is_index(p->segs[i + 1], &idx)))
        return json_array();
    return json_object();
}

static int walk(json_t *node, const struct kz_fieldpath *p, size_t i, int create,
                const json_t *leaf, kz_fieldpath_fn fn, void *ctx);

static int visit_child(json_t *parent, const char *key, size_t index, json_t *child,
                       const struct kz_fieldpath *p, size_t i, int create, const json_t *leaf,
                       kz_fieldpath_fn fn, void *ctx)
{
    if (i + 1 == p->n)
        return fn(parent, key, index, child, ctx);
    return walk(child, p, i + 1, create, leaf, fn, ctx);
}

static int walk_seq(json_t *node, const struct kz_fieldpath *p, size_t i, int create,
                    const json_t *leaf, kz_fieldpath_fn fn, void *ctx)
{
    const char *seg = p->segs[i];
    long idx;
    size_t k;
    json_t *item;
    int error, found = 0;

    if (is_index(seg, &idx)) {
        if (create && (size_t)idx == json_array_size(node)) /* one past the end: appended */
            json_array_append_new(node, i + 1 == p->n ? json_null() : new_container(p, i));
        if ((size_t)idx >= json_array_size(node))
            return create
                       ? gf_error_set(GF_EINVAL, "index %ld specified but only %zu elements found",
                                      idx, json_array_size(node))
                       : 0;
        return visit_child(node, NULL, (size_t)idx, json_array_get(node, (size_t)idx), p, i, create,
                           leaf, fn, ctx);
    }
    if (strcmp(seg, "*") == 0 || strcmp(seg, "[*]") == 0 || seg[0] != '[') {
        if (seg[0] != '[' && strcmp(seg, "*") != 0)
            return 0;
        json_array_foreach(node, k, item)
        {
            if ((error = visit_child(node, NULL, k, item, p, i, create, leaf, fn, ctx)) < 0)
                return error;
        }
        return 0;
    }
    json_array_foreach(node, k, item)
    {
        if (!filter_matches(item, seg, p->regex))
            continue;
        found = 1;
        if ((error = visit_child(node, NULL, k, item, p, i, create, leaf, fn, ctx)) < 0)
            return error;
    }
    if (!found && create && strchr(seg, '=') != NULL && seg[1] != '=') {
        char *inner = strndup(seg + 1, strlen(seg) - 2), *eq = strchr(inner, '=');
        *eq = '\0';
        json_t *obj = json_object();
        json_object_set_new(obj, inner, json_string(eq + 1));
        free(inner);
        json_array_append_new(node, obj);
        return visit_child(node, NULL, json_array_size(node) - 1, obj, p, i, create, leaf, fn, ctx);
    }
    return 0;
}

static int walk(json_t *node, const struct kz_fieldpath *p, size_t i, int create,
                const json_t *leaf, kz_fieldpath_fn fn, void *ctx)
{
    const char *seg = p->segs[i];

    if (json_is_array(node))
        return walk_seq(node, p, i, create, leaf, fn, ctx);
    if (!json_is_object(node))
        return 0;
    if (strcmp(seg, "*") == 0) {
        const char *k;
        json_t *v;
        int error;
        json_object_foreach(node, k, v)
        {
            if ((error = visit_child(node, k, 0, v, p, i, create, leaf, fn, ctx)) < 0)
                return error;
        }
        return 0;
    }
    const char *key = seg;
    char *unbr = NULL;
    if (seg[0] == '[' && strchr(seg, '=') == NULL) /* [a.b/c]: a key with dots */
        key = unbr = strndup(seg + 1, strlen(seg) - 2);
    json_t *child = json_object_get(node, key);
    int error;
    if ((child == NULL || json_is_null(child)) && create) {
        child = i + 1 == p->n ? json_null() : new_container(p, i);
        json_object_set_new(node, key, child);
    }
    error = child == NULL ? 0 : visit_child(node, key, 0, child, p, i, create, leaf, fn, ctx);
    free(unbr);
    return error;
}

int kz_fieldpath_visit(json_t *obj, const struct kz_fieldpath *p, int create, const json_t *leaf,
                       kz_fieldpath_fn fn, void *ctx)
{
    return walk(obj, p, 0, create, leaf, fn, ctx);
}

static int get_first(json_t *parent, const char *key, size_t index, json_t *value, void *ctx)
{
    json_t **out = ctx;
    if (*out == NULL)
        *out = value;
    return 0;
}

json_t *kz_fieldpath_get(json_t *obj, const char *path)
{
    struct kz_fieldpath p;
    json_t *found = NULL;

    if (kz_fieldpath_split(&p, path) < 0) {
        gf_error_clear();
        return NULL;
    }
    kz_fieldpath_visit(obj, &p, 0, NULL, get_first, &found);
    kz_fieldpath_free(&p);
    return found;
}
