/* resource.c -- resources being built: ids, rename history, ordered resource lists */
#include "internal.h"

#include "gitfleet/error.h"
#include "gitfleet/k8s_schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *kz_strdup(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

char *kz_printf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

char *kz_scalar_string(const json_t *v)
{
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_integer(v))
        return kz_printf("%lld", (long long)json_integer_value(v));
    if (json_is_real(v))
        return kz_printf("%g", json_real_value(v));
    if (json_is_true(v))
        return strdup("true");
    if (json_is_false(v))
        return strdup("false");
    return NULL;
}

int kz_res_new(struct kz_res **out, json_t *obj)
{
    struct kz_res *r = calloc(1, sizeof(*r));

    *out = NULL;
    if (r == NULL) {
        json_decref(obj);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    r->obj = obj;
    r->prefixes = json_array();
    r->suffixes = json_array();
    r->var_names = json_array();
    *out = r;
    return 0;
}

void kz_id_clear(struct kz_id *id)
{
    free(id->group);
    free(id->version);
    free(id->kind);
    free(id->name);
    free(id->ns);
    memset(id, 0, sizeof(*id));
}

int kz_id_copy(struct kz_id *out, const struct kz_id *id)
{
    out->group = kz_strdup(id->group);
    out->version = kz_strdup(id->version);
    out->kind = kz_strdup(id->kind);
    out->name = kz_strdup(id->name);
    out->ns = kz_strdup(id->ns);
    return 0;
}

void kz_res_free(struct kz_res *r)
{
    if (r == NULL)
        return;
    json_decref(r->obj);
    for (size_t i = 0; i < r->nprev; i++)
        kz_id_clear(&r->prev[i]);
    free(r->prev);
    json_decref(r->prefixes);
    json_decref(r->suffixes);
    json_decref(r->var_names);
    json_decref(r->origin);
    json_decref(r->transforms);
    free(r);
}

int kz_res_copy(struct kz_res **out, const struct kz_res *r)
{
    struct kz_res *c;
    int error;

    if ((error = kz_res_new(&c, json_deep_copy(r->obj))) < 0)
        return error;
    json_decref(c->prefixes);
    json_decref(c->suffixes);
    c->prefixes = json_deep_copy(r->prefixes);
    c->suffixes = json_deep_copy(r->suffixes);
    json_decref(c->var_names);
    c->var_names = json_deep_copy(r->var_names);
    c->needs_hash = r->needs_hash;
    c->behavior = r->behavior;
    /* immutable once recorded: shared, not copied */
    c->origin = json_incref(r->origin);
    c->transforms = json_copy(r->transforms);
    if (r->nprev > 0) {
        c->prev = calloc(r->nprev, sizeof(*c->prev));
        for (size_t i = 0; i < r->nprev; i++)
            kz_id_copy(&c->prev[i], &r->prev[i]);
        c->nprev = r->nprev;
    }
    *out = c;
    return 0;
}

static const char *obj_string(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s != NULL ? s : "";
}

const char *kz_res_kind(const struct kz_res *r)
{
    return obj_string(r->obj, "kind");
}

const char *kz_res_api_version(const struct kz_res *r)
{
    return obj_string(r->obj, "apiVersion");
}

const char *kz_res_name(const struct kz_res *r)
{
    return obj_string(json_object_get(r->obj, "metadata"), "name");
}

const char *kz_res_namespace(const struct kz_res *r)
{
    return obj_string(json_object_get(r->obj, "metadata"), "namespace");
}

void kz_res_gv(const struct kz_res *r, char *buf, size_t buflen, const char **group,
               const char **version)
{
    gf_k8s_split_api_version(kz_res_api_version(r), buf, buflen, group, version);
}

static json_t *metadata_of(json_t *obj)
{
    json_t *md = json_object_get(obj, "metadata");
    if (!json_is_object(md)) {
        md = json_object();
        json_object_set_new(obj, "metadata", md);
    }
    return md;
}

int kz_res_set_name(struct kz_res *r, const char *name)
{
    json_object_set_new(metadata_of(r->obj), "name", json_string(name));
    return 0;
}

int kz_res_set_namespace(struct kz_res *r, const char *ns)
{
    json_t *md = metadata_of(r->obj);
    if (ns == NULL || ns[0] == '\0')
        json_object_del(md, "namespace");
    else
        json_object_set_new(md, "namespace", json_string(ns));
    return 0;
}

int kz_res_cur_id(struct kz_id *out, const struct kz_res *r)
{
    char buf[256];
    const char *g, *v;

    kz_res_gv(r, buf, sizeof(buf), &g, &v);
    out->group = strdup(g);
    out->version = strdup(v);
    out->kind = strdup(kz_res_kind(r));
    out->name = strdup(kz_res_name(r));
    out->ns = strdup(kz_res_namespace(r));
    return 0;
}

int kz_res_org_id(struct kz_id *out, const struct kz_res *r)
{
    if (r->nprev > 0)
        return kz_id_copy(out, &r->prev[0]);
    return kz_res_cur_id(out, r);
}

int kz_res_store_prev(struct kz_res *r)
{
    struct kz_id *p = realloc(r->prev, (r->nprev + 1) * sizeof(*p));
    if (p == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    r->prev = p;
    kz_res_cur_id(&r->prev[r->nprev++], r);
    return 0;
}

int kz_id_cluster_scoped(const struct kz_id *id)
{
    return gf_k8s_is_cluster_scoped(id->group ? id->group : "", id->kind ? id->kind : "");
}

int kz_res_is_cluster_scoped(const struct kz_res *r)
{
    char buf[256];
    const char *g, *v;
    kz_res_gv(r, buf, sizeof(buf), &g, &v);
    return gf_k8s_is_cluster_scoped(g, kz_res_kind(r));
}

static int str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static int ns_eq(const char *a, const char *b)
{
    a = a && a[0] ? a : "default";
    b = b && b[0] ? b : "default";
    return strcmp(a, b) == 0;
}

int kz_id_equals(const struct kz_id *a, const struct kz_id *b)
{
    return str_eq(a->group, b->group) && str_eq(a->version, b->version) &&
           str_eq(a->kind, b->kind) && str_eq(a->name, b->name) && ns_eq(a->ns, b->ns);
}

char *kz_id_string(const struct kz_id *id)
{
    const char *g = id->group && id->group[0] ? id->group : "";
    const char *ns = id->ns && id->ns[0] ? id->ns : "";
    if (g[0])
        return kz_printf("%s.%s.%s/%s.%s", id->kind, id->version, g, id->name,
                         ns[0] ? ns : "[noNs]");
    return kz_printf("%s.%s.[noGrp]/%s.%s", id->kind, id->version, id->name, ns[0] ? ns : "[noNs]");
}

void kz_resmap_init(struct kz_resmap *m)
{
    memset(m, 0, sizeof(*m));
}

void kz_resmap_clear(struct kz_resmap *m)
{
    for (size_t i = 0; i < m->len; i++)
        kz_res_free(m->items[i]);
    free(m->items);
    kz_resmap_init(m);
}

static int resmap_has_cur_id(const struct kz_resmap *m, const struct kz_id *id)
{
    for (size_t i = 0; i < m->len; i++) {
        struct kz_id cur = {0};
        kz_res_cur_id(&cur, m->items[i]);
        int eq = kz_id_equals(&cur, id);
        kz_id_clear(&cur);
        if (eq)
            return 1;
    }
    return 0;
}

int kz_resmap_append(struct kz_resmap *m, struct kz_res *r, int check_dup)
{
    if (check_dup) {
        struct kz_id id = {0};
        kz_res_cur_id(&id, r);
        if (resmap_has_cur_id(m, &id)) {
            char *s = kz_id_string(&id);
            gf_error_set(GF_EEXISTS, "may not add resource with an already registered id: %s",
                         s ? s : "?");
            free(s);
            kz_id_clear(&id);
            kz_res_free(r);
            return GF_EEXISTS;
        }
        kz_id_clear(&id);
    }
    if (m->len == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        struct kz_res **items = realloc(m->items, cap * sizeof(*items));
        if (items == NULL) {
            kz_res_free(r);
            return gf_error_set(GF_ENOMEM, "out of memory");
        }
        m->items = items;
        m->cap = cap;
    }
    m->items[m->len++] = r;
    return 0;
}

int kz_resmap_copy(struct kz_resmap *out, const struct kz_resmap *m)
{
    int error;

    kz_resmap_init(out);
    for (size_t i = 0; i < m->len; i++) {
        struct kz_res *c;
        if ((error = kz_res_copy(&c, m->items[i])) < 0 ||
            (error = kz_resmap_append(out, c, 0)) < 0) {
            kz_resmap_clear(out);
            return error;
        }
    }
    return 0;
}

void kz_resmap_remove_at(struct kz_resmap *m, size_t i)
{
    kz_res_free(m->items[i]);
    memmove(&m->items[i], &m->items[i + 1], (m->len - i - 1) * sizeof(m->items[0]));
    m->len--;
}

static int res_has_id(const struct kz_res *r, const struct kz_id *id)
{
    struct kz_id cur = {0};
    kz_res_cur_id(&cur, r);
    int eq = kz_id_equals(&cur, id);
    kz_id_clear(&cur);
    for (size_t i = 0; !eq && i < r->nprev; i++)
        eq = kz_id_equals(&r->prev[i], id);
    return eq;
}

size_t kz_resmap_find_any_id(const struct kz_resmap *m, const struct kz_id *id, size_t *idx,
                             size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < m->len; i++)
        if (res_has_id(m->items[i], id)) {
            if (n < max)
                idx[n] = i;
            n++;
        }
    return n;
}
