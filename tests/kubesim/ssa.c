/* ssa.c -- server-side apply: field sets, managedFields per manager, merge, prune and conflicts */
#include "ssa.h"

#include "apierr.h"

#include "gitfleet/error.h"
#include "gitfleet/k8s_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A path is a string of path elements ("f:spec", "k:{\"name\":\"x\"}",
 * "v:\"a\"", "i:0") joined by SEP, which compact JSON never contains raw.
 * A field set is a JSON object whose keys are paths.
 */
#define SEP       '\x1f'
#define MAX_PATH  4096
#define MAX_DEPTH 64

struct walk {
    const char *group, *kind;
    json_t *set;
};

/* ---- schema facts ----------------------------------------------------------------------- */

/* LabelSelectors are atomic maps; a Service's selector is a plain map. */
static int atomic_map(const struct walk *w, const char *schema)
{
    if (strcmp(schema, "spec.selector") == 0)
        return strcmp(w->kind, "Service") != 0 && strcmp(w->kind, "ReplicationController") != 0;
    return strcmp(schema, "spec.jobTemplate.spec.selector") == 0;
}

static int top_excluded(const char *key)
{
    return strcmp(key, "apiVersion") == 0 || strcmp(key, "kind") == 0;
}

static int meta_excluded(const char *key)
{
    static const char *const skip[] = {"name",
                                       "namespace",
                                       "uid",
                                       "resourceVersion",
                                       "generation",
                                       "creationTimestamp",
                                       "managedFields",
                                       "selfLink",
                                       "deletionTimestamp",
                                       "clusterName",
                                       "deletionGracePeriodSeconds"};
    for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
        if (strcmp(key, skip[i]) == 0)
            return 1;
    return 0;
}

/* ---- building paths --------------------------------------------------------------------- */

static void path_push(char *buf, size_t *len, const char *pe)
{
    size_t n = strlen(pe);
    if (*len + n + 2 >= MAX_PATH)
        return;
    if (*len > 0)
        buf[(*len)++] = SEP;
    memcpy(buf + *len, pe, n);
    *len += n;
    buf[*len] = '\0';
}

static void schema_push(char *buf, size_t n, const char *schema, const char *key)
{
    if (schema[0] == '\0')
        snprintf(buf, n, "%s", key);
    else
        snprintf(buf, n, "%s.%s", schema, key);
}

/* "k:{...}" for a keyed item: the present key fields, sorted, compact JSON. */
static int item_pe(char *out, size_t n, json_t *item, const struct gf_k8s_list_info *info)
{
    json_t *keys = json_object();
    for (int i = 0; i < 3 && info->keys[i] != NULL; i++) {
        json_t *v = json_object_get(item, info->keys[i]);
        if (v != NULL)
            json_object_set(keys, info->keys[i], v);
    }
    if (json_object_size(keys) == 0) {
        json_decref(keys);
        return -1;
    }
    char *text = json_dumps(keys, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(out, n, "k:%s", text);
    free(text);
    json_decref(keys);
    return 0;
}

static void walk_value(struct walk *w, json_t *v, char *path, size_t len, const char *schema,
                       int depth);

static void walk_list(struct walk *w, json_t *list, char *path, size_t len, const char *schema,
                      int depth)
{
    struct gf_k8s_list_info info = gf_k8s_list_info(w->group, w->kind, schema);
    char pe[1024];
    size_t i;
    json_t *it;

    json_object_set_new(w->set, path, json_true());
    if (info.type == GF_K8S_LIST_ATOMIC)
        return;
    json_object_del(w->set, path); /* granular lists are not members themselves */
    json_array_foreach(list, i, it)
    {
        size_t l2 = len;
        if (info.type == GF_K8S_LIST_SET || !json_is_object(it)) {
            char *text = json_dumps(it, JSON_COMPACT | JSON_ENCODE_ANY);
            snprintf(pe, sizeof(pe), "v:%s", text);
            free(text);
        } else if (item_pe(pe, sizeof(pe), it, &info) < 0) {
            snprintf(pe, sizeof(pe), "i:%zu", i);
        }
        path_push(path, &l2, pe);
        json_object_set_new(w->set, path, json_true());
        if (json_is_object(it) && info.type == GF_K8S_LIST_MAP)
            walk_value(w, it, path, l2, schema, depth + 1);
        path[len] = '\0';
    }
}

static void walk_map(struct walk *w, json_t *obj, char *path, size_t len, const char *schema,
                     int depth)
{
    const char *key;
    json_t *v;
    char pe[1024], sub[1024];

    json_object_foreach(obj, key, v)
    {
        if (depth == 0 && top_excluded(key))
            continue;
        if (depth == 1 && strcmp(schema, "metadata") == 0 && meta_excluded(key))
            continue;
        size_t l2 = len;
        snprintf(pe, sizeof(pe), "f:%s", key);
        path_push(path, &l2, pe);
        schema_push(sub, sizeof(sub), schema, key);
        walk_value(w, v, path, l2, sub, depth + 1);
        path[len] = '\0';
    }
}

static void walk_value(struct walk *w, json_t *v, char *path, size_t len, const char *schema,
                       int depth)
{
    if (depth > MAX_DEPTH)
        return;
    if (json_is_array(v)) {
        walk_list(w, v, path, len, schema, depth);
    } else if (json_is_object(v) && json_object_size(v) > 0 && !atomic_map(w, schema)) {
        walk_map(w, v, path, len, schema, depth);
    } else if (len > 0) {
        json_object_set_new(w->set, path, json_true());
    }
}

/* The field set an object sets (status left out unless `status` is on). */
static json_t *field_set(const json_t *obj, const char *group, const char *kind, int status)
{
    struct walk w = {group, kind, json_object()};
    char path[MAX_PATH] = "";
    json_t *copy = json_copy((json_t *)obj);

    if (status) {
        json_t *st = json_object_get(copy, "status");
        json_t *only = json_object();
        if (st != NULL)
            json_object_set(only, "status", st);
        json_decref(copy);
        copy = only;
    } else {
        json_object_del(copy, "status");
    }
    walk_map(&w, copy, path, 0, "", 0);
    json_decref(copy);
    return w.set;
}

/* ---- fieldsV1 encoding ------------------------------------------------------------------ */

static int pe_rank(const char *k)
{
    switch (k[0]) {
    case '.':
        return 0;
    case 'f':
        return 1;
    case 'k':
        return 2;
    case 'v':
        return 3;
    default:
        return 4;
    }
}

static int cmp_pe(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int rx = pe_rank(x), ry = pe_rank(y);
    return rx != ry ? rx - ry : strcmp(x, y);
}

/* A copy of a tree with members ordered as the API server writes them. */
static json_t *sorted_tree(json_t *node)
{
    size_t n = json_object_size(node), k = 0;
    const char **keys = calloc(n + 1, sizeof(*keys));
    const char *key;
    json_t *v, *out = json_object();

    json_object_foreach(node, key, v) keys[k++] = key;
    qsort(keys, k, sizeof(*keys), cmp_pe);
    for (size_t i = 0; i < k; i++)
        json_object_set_new(out, keys[i], sorted_tree(json_object_get(node, keys[i])));
    free(keys);
    return out;
}

static json_t *set_to_tree(json_t *set)
{
    json_t *tree = json_object(), *v;
    const char *path;

    json_object_foreach(set, path, v)
    {
        json_t *node = tree;
        const char *p = path;
        for (;;) {
            const char *sep = strchr(p, SEP);
            size_t n = sep != NULL ? (size_t)(sep - p) : strlen(p);
            char pe[MAX_PATH];
            snprintf(pe, sizeof(pe), "%.*s", (int)n, p);
            json_t *child = json_object_get(node, pe);
            if (child == NULL)
                json_object_set_new(node, pe, child = json_object());
            node = child;
            if (sep == NULL)
                break;
            p = sep + 1;
        }
        json_object_set_new(node, ".", json_object());
    }
    /* A member with no children is written as a bare leaf {}. */
    json_t *out = sorted_tree(tree);
    json_decref(tree);
    return out;
}

static void strip_lone_dots(json_t *node)
{
    const char *key;
    json_t *v;

    if (json_object_size(node) == 1 && json_object_get(node, ".") != NULL) {
        json_object_del(node, ".");
        return;
    }
    json_object_foreach(node, key, v) strip_lone_dots(v);
}

static void tree_to_set(json_t *node, char *path, size_t len, json_t *set, int depth)
{
    const char *key;
    json_t *v;

    if (depth > MAX_DEPTH)
        return;
    json_object_foreach(node, key, v)
    {
        if (strcmp(key, ".") == 0) {
            if (len > 0)
                json_object_set_new(set, path, json_true());
            continue;
        }
        size_t l2 = len;
        path_push(path, &l2, key);
        if (json_object_size(v) == 0)
            json_object_set_new(set, path, json_true());
        else
            tree_to_set(v, path, l2, set, depth + 1);
        path[len] = '\0';
    }
}

json_t *ks_ssa_fields(const json_t *obj, const char *group, const char *kind)
{
    json_t *set = field_set(obj, group, kind, 0);
    json_t *tree = set_to_tree(set);
    strip_lone_dots(tree);
    json_decref(set);
    return tree;
}

/* ---- looking paths up in objects -------------------------------------------------------- */

/* `loose`: a key field the item lacks matches (an applied item before defaulting). */
static int item_has_keys(json_t *item, json_t *keys, int loose)
{
    const char *k;
    json_t *v;
    json_object_foreach(keys, k, v)
    {
        json_t *have = json_object_get(item, k);
        if (!(loose && have == NULL) && !json_equal(have, v))
            return 0;
    }
    return 1;
}

/* Index of the item a PE names in `list`, or -1. */
static long find_pe_item(json_t *list, const char *pe, int loose)
{
    size_t i;
    json_t *it;

    if (pe[0] == 'i')
        return atol(pe + 2) < (long)json_array_size(list) ? atol(pe + 2) : -1;
    json_t *want = json_loads(pe + 2, JSON_DECODE_ANY, NULL);
    long at = -1;
    json_array_foreach(list, i, it)
    {
        if ((pe[0] == 'k' && json_is_object(it) && item_has_keys(it, want, loose)) ||
            (pe[0] == 'v' && json_equal(it, want))) {
            at = (long)i;
            break;
        }
    }
    json_decref(want);
    return at;
}

static json_t *step(json_t *cur, const char *pe, int loose)
{
    if (pe[0] == 'f')
        return json_is_object(cur) ? json_object_get(cur, pe + 2) : NULL;
    if (!json_is_array(cur))
        return NULL;
    long at = find_pe_item(cur, pe, loose);
    return at >= 0 ? json_array_get(cur, (size_t)at) : NULL;
}

/* Split a path into its elements (pointers into `buf`). */
static int split_path(char *buf, const char *path, char **pes, int max)
{
    int n = 0;
    snprintf(buf, MAX_PATH, "%s", path);
    for (char *p = buf; n < max;) {
        pes[n++] = p;
        char *sep = strchr(p, SEP);
        if (sep == NULL)
            break;
        *sep = '\0';
        p = sep + 1;
    }
    return n;
}

static json_t *lookup_in(const json_t *obj, const char *path, int loose)
{
    char buf[MAX_PATH], *pes[MAX_DEPTH];
    int n = split_path(buf, path, pes, MAX_DEPTH);
    json_t *cur = (json_t *)obj;
    for (int i = 0; i < n && cur != NULL; i++)
        cur = step(cur, pes[i], loose);
    return cur;
}

static json_t *lookup(const json_t *obj, const char *path)
{
    return lookup_in(obj, path, 0);
}

static void remove_path(json_t *obj, const char *path)
{
    char buf[MAX_PATH], *pes[MAX_DEPTH];
    int n = split_path(buf, path, pes, MAX_DEPTH);
    json_t *cur = obj;

    for (int i = 0; i < n - 1 && cur != NULL; i++)
        cur = step(cur, pes[i], 0);
    if (cur == NULL)
        return;
    if (pes[n - 1][0] == 'f') {
        json_object_del(cur, pes[n - 1] + 2);
    } else if (json_is_array(cur)) {
        long at = find_pe_item(cur, pes[n - 1], 0);
        if (at >= 0)
            json_array_remove(cur, (size_t)at);
    }
}

static const char *last_pe(const char *path)
{
    const char *s = strrchr(path, SEP);
    return s != NULL ? s + 1 : path;
}

/* Does the field at `path` differ between two objects? Keyed items and set
 * members count by presence; their fields are paths of their own. */
static int differs(const json_t *a, const json_t *b, const char *path)
{
    json_t *x = lookup(a, path), *y = lookup(b, path);
    if (x == NULL || y == NULL)
        return x != y;
    char pe0 = last_pe(path)[0];
    if (pe0 == 'k' || pe0 == 'v' || pe0 == 'i')
        return 0;
    return !json_equal(x, y);
}

/* ---- merging ---------------------------------------------------------------------------- */

static void merge_into(const struct walk *w, json_t *dst, json_t *src, const char *schema,
                       int depth);

static void merge_list_into(const struct walk *w, json_t *dst, const char *key, json_t *src,
                            const char *schema, int depth)
{
    struct gf_k8s_list_info info = gf_k8s_list_info(w->group, w->kind, schema);
    json_t *cur = json_object_get(dst, key), *it;
    char pe[1024];
    size_t i;

    if (info.type == GF_K8S_LIST_ATOMIC || !json_is_array(cur)) {
        json_object_set_new(dst, key, json_deep_copy(src));
        return;
    }
    json_t *out = json_deep_copy(cur);
    json_array_foreach(src, i, it)
    {
        long at = -1;
        if (info.type == GF_K8S_LIST_SET || !json_is_object(it)) {
            char *text = json_dumps(it, JSON_COMPACT | JSON_ENCODE_ANY);
            snprintf(pe, sizeof(pe), "v:%s", text);
            free(text);
            at = find_pe_item(out, pe, 0);
        } else if (item_pe(pe, sizeof(pe), it, &info) == 0) {
            at = find_pe_item(out, pe, 0);
        }
        if (at < 0)
            json_array_append_new(out, json_deep_copy(it));
        else if (json_is_object(it))
            merge_into(w, json_array_get(out, (size_t)at), it, schema, depth + 1);
    }
    json_object_set_new(dst, key, out);
}

static void merge_into(const struct walk *w, json_t *dst, json_t *src, const char *schema,
                       int depth)
{
    const char *key;
    json_t *v;
    char sub[1024];

    json_object_foreach(src, key, v)
    {
        json_t *cur = json_object_get(dst, key);
        schema_push(sub, sizeof(sub), schema, key);
        if (json_is_null(v))
            json_object_del(dst, key);
        else if (json_is_object(v) && json_is_object(cur) && !atomic_map(w, sub) &&
                 depth < MAX_DEPTH)
            merge_into(w, cur, v, sub, depth + 1);
        else if (json_is_array(v))
            merge_list_into(w, dst, key, v, sub, depth);
        else
            json_object_set_new(dst, key, json_deep_copy(v));
    }
}

/* ---- managers --------------------------------------------------------------------------- */

struct manager {
    json_t *entry; /* the managedFields entry without fieldsV1 */
    json_t *set;
};

struct managers {
    struct manager *m;
    size_t n;
};

static void managers_load(struct managers *ms, const json_t *live)
{
    json_t *mf = json_object_get(json_object_get(live, "metadata"), "managedFields"), *e;
    size_t i;
    char path[MAX_PATH] = "";

    ms->n = 0;
    ms->m = calloc(json_array_size(mf) + 1, sizeof(*ms->m));
    json_array_foreach(mf, i, e)
    {
        struct manager *m = &ms->m[ms->n++];
        m->entry = json_deep_copy(e);
        json_object_del(m->entry, "fieldsV1");
        m->set = json_object();
        tree_to_set(json_object_get(e, "fieldsV1"), path, 0, m->set, 0);
    }
}

static const char *mstr(const struct manager *m, const char *k)
{
    const char *s = json_string_value(json_object_get(m->entry, k));
    return s != NULL ? s : "";
}

static int same_manager(const struct manager *m, const struct ks_ssa_opts *o, const char *op)
{
    const char *sub = o->subresource != NULL ? o->subresource : "";
    if (strcmp(mstr(m, "manager"), o->manager) != 0 || strcmp(mstr(m, "operation"), op) != 0 ||
        strcmp(mstr(m, "subresource"), sub) != 0)
        return 0;
    return strcmp(op, "Apply") == 0 || strcmp(mstr(m, "apiVersion"), o->api_version) == 0;
}

static struct manager *find_or_add(struct managers *ms, const struct ks_ssa_opts *o, const char *op)
{
    for (size_t i = 0; i < ms->n; i++)
        if (same_manager(&ms->m[i], o, op))
            return &ms->m[i];
    ms->m = realloc(ms->m, (ms->n + 1) * sizeof(*ms->m));
    struct manager *m = &ms->m[ms->n++];
    m->entry = json_pack("{s:s,s:s,s:s,s:s,s:s}", "manager", o->manager, "operation", op,
                         "apiVersion", o->api_version, "time", o->now, "fieldsType", "FieldsV1");
    if (o->subresource != NULL)
        json_object_set_new(m->entry, "subresource", json_string(o->subresource));
    m->set = json_object();
    return m;
}

static int cmp_manager(const void *a, const void *b)
{
    const struct manager *x = a, *y = b;
    static const char *const keys[] = {"operation", "time", "manager", "apiVersion", "subresource"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        int c = strcmp(mstr(x, keys[i]), mstr(y, keys[i]));
        if (c != 0)
            return c;
    }
    return 0;
}

/* Write the managers into obj.metadata.managedFields and free them. */
static void managers_store(struct managers *ms, json_t *obj)
{
    json_t *list = json_array(), *md = json_object_get(obj, "metadata");

    qsort(ms->m, ms->n, sizeof(*ms->m), cmp_manager);
    for (size_t i = 0; i < ms->n; i++) {
        struct manager *m = &ms->m[i];
        if (json_object_size(m->set) > 0) {
            json_t *e = json_deep_copy(m->entry);
            json_t *tree = set_to_tree(m->set);
            strip_lone_dots(tree);
            json_object_del(e, "subresource");
            json_object_set_new(e, "fieldsV1", tree);
            if (json_object_get(m->entry, "subresource") != NULL)
                json_object_set(e, "subresource", json_object_get(m->entry, "subresource"));
            json_array_append_new(list, e);
        }
        json_decref(m->entry);
        json_decref(m->set);
    }
    free(ms->m);
    ms->m = NULL;
    if (md == NULL)
        json_object_set_new(obj, "metadata", md = json_object());
    if (json_array_size(list) > 0)
        json_object_set_new(md, "managedFields", list);
    else {
        json_object_del(md, "managedFields");
        json_decref(list);
    }
}

static void managers_free(struct managers *ms)
{
    for (size_t i = 0; i < ms->n; i++) {
        json_decref(ms->m[i].entry);
        json_decref(ms->m[i].set);
    }
    free(ms->m);
    ms->m = NULL;
}

static void touch(struct manager *m, const char *now)
{
    json_object_set_new(m->entry, "time", json_string(now));
}

/* ---- conflicts -------------------------------------------------------------------------- */

/* ".spec.containers[name=\"nginx\"].image" from a path. */
static void path_text(char *out, size_t n, const char *path)
{
    char buf[MAX_PATH], *pes[MAX_DEPTH];
    int np = split_path(buf, path, pes, MAX_DEPTH);
    size_t o = 0;

    out[0] = '\0';
    for (int i = 0; i < np && o < n; i++) {
        const char *pe = pes[i];
        if (pe[0] == 'f') {
            o += (size_t)snprintf(out + o, n - o, ".%s", pe + 2);
        } else if (pe[0] == 'v') {
            o += (size_t)snprintf(out + o, n - o, "[=%s]", pe + 2);
        } else if (pe[0] == 'i') {
            o += (size_t)snprintf(out + o, n - o, "[%s]", pe + 2);
        } else {
            json_t *keys = json_loads(pe + 2, 0, NULL), *v;
            const char *k;
            int first = 1;
            o += (size_t)snprintf(out + o, n - o, "[");
            json_object_foreach(keys, k, v)
            {
                char *t = json_dumps(v, JSON_ENCODE_ANY);
                if (o < n)
                    o += (size_t)snprintf(out + o, n - o, "%s%s=%s", first ? "" : ",", k, t);
                free(t);
                first = 0;
            }
            json_decref(keys);
            if (o < n)
                o += (size_t)snprintf(out + o, n - o, "]");
        }
    }
}

static void manager_text(char *out, size_t n, const struct manager *m)
{
    const char *sub = mstr(m, "subresource");
    size_t o;
    if (strcmp(mstr(m, "operation"), "Apply") == 0)
        o = (size_t)snprintf(out, n, "\"%s\"", mstr(m, "manager"));
    else
        o = (size_t)snprintf(out, n, "\"%s\" using %s", mstr(m, "manager"), mstr(m, "apiVersion"));
    if (sub[0] != '\0' && o < n)
        snprintf(out + o, n - o, " with subresource \"%s\"", sub);
}

/* conflicts: [{manager text, [path texts]}] in manager order. */
static json_t *conflict_status(json_t *conflicts, size_t total)
{
    char msg[8192], ptext[2048];
    size_t o = 0, i, j;
    json_t *c, *p, *causes = json_array();

    o = (size_t)snprintf(msg, sizeof(msg), "Apply failed with %zu conflict%s: ", total,
                         total == 1 ? "" : "s");
    json_array_foreach(conflicts, i, c)
    {
        const char *who = json_string_value(json_object_get(c, "who"));
        json_t *paths = json_object_get(c, "paths");
        char cmsg[1024];
        snprintf(cmsg, sizeof(cmsg), "conflict with %s", who);
        if (total == 1) {
            path_text(ptext, sizeof(ptext), json_string_value(json_array_get(paths, 0)));
            o += (size_t)snprintf(msg + o, o < sizeof(msg) ? sizeof(msg) - o : 0, "%s: %s", cmsg,
                                  ptext);
        } else if (o < sizeof(msg)) {
            o += (size_t)snprintf(msg + o, sizeof(msg) - o,
                                  "%sconflicts with %s:", i > 0 ? "\n" : "", who);
        }
        json_array_foreach(paths, j, p)
        {
            path_text(ptext, sizeof(ptext), json_string_value(p));
            if (total > 1 && o < sizeof(msg))
                o += (size_t)snprintf(msg + o, sizeof(msg) - o, "\n- %s", ptext);
            json_array_append_new(causes,
                                  json_pack("{s:s,s:s,s:s}", "reason", "FieldManagerConflict",
                                            "message", cmsg, "field", ptext));
        }
    }
    return ks_err(409, "Conflict", json_pack("{s:o}", "causes", causes), "%s", msg);
}

static int cmp_json_str(const void *a, const void *b)
{
    return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "who")),
                  json_string_value(json_object_get(*(json_t *const *)b, "who")));
}

/* Find (and with force, take) fields other managers own that this apply changes. */
static size_t find_conflicts(json_t *conflicts, struct managers *ms, struct manager *self,
                             const json_t *live, const json_t *merged, json_t *new_set, int force)
{
    size_t total = 0;
    const char *path;
    json_t *v;
    void *tmp;

    for (size_t i = 0; i < ms->n; i++) {
        struct manager *m = &ms->m[i];
        if (m == self)
            continue;
        json_t *paths = json_array();
        json_object_foreach_safe(m->set, tmp, path, v)
        {
            if (json_object_get(new_set, path) == NULL || !differs(live, merged, path))
                continue;
            if (force)
                json_object_del(m->set, path);
            else
                json_array_append_new(paths, json_string(path));
        }
        if (json_array_size(paths) > 0) {
            char who[600];
            manager_text(who, sizeof(who), m);
            total += json_array_size(paths);
            json_array_append_new(conflicts, json_pack("{s:s,s:o}", "who", who, "paths", paths));
        } else {
            json_decref(paths);
        }
    }
    size_t n = json_array_size(conflicts);
    json_t **items = calloc(n + 1, sizeof(*items));
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(conflicts, i));
    qsort(items, n, sizeof(*items), cmp_json_str);
    json_array_clear(conflicts);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(conflicts, items[i]);
    free(items);
    return total;
}

/* ---- apply ------------------------------------------------------------------------------ */

static int owned_by_others(struct managers *ms, struct manager *self, const char *path)
{
    size_t plen = strlen(path);
    for (size_t i = 0; i < ms->n; i++) {
        const char *p;
        json_t *v;
        if (&ms->m[i] == self)
            continue;
        json_object_foreach(ms->m[i].set, p, v) if (strncmp(p, path, plen) == 0 &&
                                                    (p[plen] == '\0' || p[plen] == SEP)) return 1;
    }
    return 0;
}

static int is_prefix_of_any(json_t *set, const char *path)
{
    size_t plen = strlen(path);
    const char *p;
    json_t *v;
    json_object_foreach(set, p, v) if (strncmp(p, path, plen) == 0 && p[plen] == SEP) return 1;
    return 0;
}

/* Remove what the manager applied before and applies no more. Emptied
 * parent maps go too, unless someone owns them. */
static void prune(json_t *merged, json_t *old_set, json_t *new_set, struct managers *ms,
                  struct manager *self)
{
    const char *path;
    json_t *v;

    json_object_foreach(old_set, path, v)
    {
        if (json_object_get(new_set, path) != NULL || is_prefix_of_any(new_set, path) ||
            owned_by_others(ms, self, path))
            continue;
        remove_path(merged, path);
        char parent[MAX_PATH];
        snprintf(parent, sizeof(parent), "%s", path);
        char *sep;
        while ((sep = strrchr(parent, SEP)) != NULL) {
            *sep = '\0';
            json_t *pv = lookup(merged, parent);
            if (!json_is_object(pv) || json_object_size(pv) > 0 ||
                json_object_get(new_set, parent) != NULL || owned_by_others(ms, self, parent) ||
                strchr(parent, SEP) == NULL)
                break;
            remove_path(merged, parent);
        }
    }
}

static json_t *strip_for_compare(const json_t *obj)
{
    json_t *c = json_deep_copy(obj);
    json_t *md = json_object_get(c, "metadata");
    json_object_del(md, "managedFields");
    json_object_del(md, "resourceVersion");
    return c;
}

static int same_object(const json_t *a, const json_t *b)
{
    json_t *x = strip_for_compare(a), *y = strip_for_compare(b);
    int eq = json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return eq;
}

static json_t *applied_part(const json_t *applied, const char *sub)
{
    json_t *c = json_deep_copy(applied);
    if (sub == NULL) {
        json_object_del(c, "status");
    } else {
        json_t *keep =
            json_pack("{s:O*,s:O*,s:O*,s:O*}", "apiVersion", json_object_get(c, "apiVersion"),
                      "kind", json_object_get(c, "kind"), "metadata",
                      json_object_get(c, "metadata"), "status", json_object_get(c, "status"));
        json_decref(c);
        c = keep;
    }
    return c;
}

/* The field set of the defaulted applied configuration, without the fields
 * only defaulting added (their list items keep their defaulted keys). */
static json_t *applied_set(json_t *part, const struct ks_ssa_opts *o)
{
    json_t *raw = json_deep_copy(part), *v;
    const char *path;
    void *tmp;

    if (o->defaults != NULL)
        o->defaults(part, o->defaults_arg);
    json_t *set = field_set(part, o->group, o->kind, o->subresource != NULL);
    json_object_foreach_safe(set, tmp, path, v) if (lookup_in(raw, path, 1) == NULL)
        json_object_del(set, path);
    json_decref(raw);
    return set;
}

int ks_ssa_apply(json_t **out, json_t **status_out, const json_t *live, const json_t *applied,
                 const struct ks_ssa_opts *o)
{
    struct managers ms;
    json_t *part = applied_part(applied, o->subresource);
    json_t *merged = live != NULL ? json_deep_copy(live) : json_object();
    struct walk w = {o->group, o->kind, NULL};
    json_t *new_set = applied_set(part, o);
    json_t *conflicts = json_array();
    int error = 0;

    managers_load(&ms, live);
    struct manager *self = find_or_add(&ms, o, "Apply");
    json_t *old_set = json_incref(self->set);
    merge_into(&w, merged, part, "", 0);
    prune(merged, old_set, new_set, &ms, self);
    size_t total = find_conflicts(conflicts, &ms, self, live != NULL ? live : json_null(), merged,
                                  new_set, o->force);
    if (total > 0) {
        *status_out = conflict_status(conflicts, total);
        error = GF_ECONFLICT;
        managers_free(&ms);
        json_decref(merged);
    } else {
        if (live == NULL || !same_object(live, merged) || !json_equal(old_set, new_set))
            touch(self, o->now);
        json_decref(self->set);
        self->set = json_incref(new_set);
        managers_store(&ms, merged);
        *out = merged;
    }
    json_decref(old_set);
    json_decref(conflicts);
    json_decref(new_set);
    json_decref(part);
    return error;
}

/* ---- update ----------------------------------------------------------------------------- */

void ks_ssa_update(json_t *obj, const json_t *live, const struct ks_ssa_opts *o)
{
    struct managers ms;
    int status = o->subresource != NULL;
    json_t *new_fs = field_set(obj, o->group, o->kind, status);
    json_t *old_fs = live != NULL ? field_set(live, o->group, o->kind, status) : json_object();
    json_t *changed = json_object(), *v;
    const char *path;
    void *tmp;

    json_object_foreach(new_fs, path, v) if (live == NULL || differs(live, obj, path))
        json_object_set_new(changed, path, json_true());
    json_object_foreach(old_fs, path, v) if (json_object_get(new_fs, path) == NULL)
        json_object_set_new(changed, path, json_false()); /* removed */
    managers_load(&ms, live);
    struct manager *self = json_object_size(changed) > 0 ? find_or_add(&ms, o, "Update") : NULL;
    for (size_t i = 0; i < ms.n; i++) {
        struct manager *m = &ms.m[i];
        json_object_foreach_safe(m->set, tmp, path, v)
        {
            json_t *c = json_object_get(changed, path);
            if (c != NULL && (m != self || json_is_false(c)))
                json_object_del(m->set, path);
        }
    }
    if (self != NULL) {
        json_object_foreach(changed, path, v) if (json_is_true(v))
            json_object_set_new(self->set, path, json_true());
        touch(self, o->now);
    }
    managers_store(&ms, obj);
    json_decref(new_fs);
    json_decref(old_fs);
    json_decref(changed);
}
