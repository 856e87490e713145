/* vars.c -- the legacy vars field: $(VAR) substitution after name references are fixed */
#include "fieldpath.h"
#include "internal.h"

#include "gitfleet/error.h"
#include "gitfleet/k8s_schema.h"
#include "gitfleet/strbuf.h"

#include <stdlib.h>
#include <string.h>

struct var_value {
    const char *name;
    json_t *value; /* typed: a string, number or bool */
};

struct vars_ctx {
    struct var_value *vals;
    size_t n;
};

static int objref_matches(const json_t *ref, const struct kz_id *id)
{
    const char *kind = json_string_value(json_object_get(ref, "kind"));
    const char *name = json_string_value(json_object_get(ref, "name"));
    const char *ns = json_string_value(json_object_get(ref, "namespace"));
    const char *api = json_string_value(json_object_get(ref, "apiVersion"));
    char buf[256];
    const char *g = NULL, *v = NULL;

    if (api != NULL && api[0])
        gf_k8s_split_api_version(api, buf, sizeof(buf), &g, &v);
    const char *grp = json_string_value(json_object_get(ref, "group"));
    const char *ver = json_string_value(json_object_get(ref, "version"));
    g = grp && grp[0] ? grp : g;
    v = ver && ver[0] ? ver : v;
    return kind != NULL && strcmp(kind, id->kind) == 0 && name != NULL &&
           strcmp(name, id->name) == 0 && (g == NULL || g[0] == '\0' || !strcmp(g, id->group)) &&
           (v == NULL || v[0] == '\0' || strcmp(v, id->version) == 0) &&
           (ns == NULL || ns[0] == '\0' ||
            strcmp(ns, id->ns && id->ns[0] ? id->ns : "default") == 0);
}

static int res_matches(const struct kz_res *r, const json_t *ref)
{
    struct kz_id cur = {0};
    kz_res_cur_id(&cur, r);
    int ok = objref_matches(ref, &cur);
    kz_id_clear(&cur);
    for (size_t i = 0; !ok && i < r->nprev; i++)
        ok = objref_matches(ref, &r->prev[i]);
    return ok;
}

int kz_vars_bind(struct kz_resmap *m, const json_t *vars)
{
    size_t i;
    json_t *var;

    json_array_foreach((json_t *)vars, i, var)
    {
        const char *name = json_string_value(json_object_get(var, "name"));
        const json_t *ref = json_object_get(var, "objref");
        struct kz_res *found = NULL;
        size_t n = 0;
        if (name == NULL)
            return gf_error_set(GF_EINVAL, "vars: a var needs a name");
        for (size_t k = 0; k < m->len; k++)
            if (res_matches(m->items[k], ref)) {
                found = m->items[k];
                n++;
            }
        if (n > 1)
            return gf_error_set(GF_ECONFLICT,
                                "found %zu resId matches for var %s (unable to disambiguate)", n,
                                name);
        if (found != NULL)
            json_array_append_new(found->var_names, json_string(name));
    }
    return 0;
}

static int bound_to(const struct kz_res *r, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(r->var_names, i, v)
    {
        if (strcmp(json_string_value(v), name) == 0)
            return 1;
    }
    return 0;
}

static int var_value(json_t **out, const struct kz_resmap *m, const json_t *var)
{
    const char *name = json_string_value(json_object_get(var, "name"));
    const char *fp =
        json_string_value(json_object_get(json_object_get(var, "fieldref"), "fieldpath"));
    struct kz_res *found = NULL;

    for (size_t i = 0; i < m->len && found == NULL; i++)
        if (bound_to(m->items[i], name))
            found = m->items[i];
    if (found == NULL)
        return gf_error_set(
            GF_ENOTFOUND, "var %s cannot be mapped to a field in the set of known resources", name);
    json_t *v = kz_fieldpath_get(found->obj, fp && fp[0] ? fp : "metadata.name");
    if (v == NULL || json_is_object(v) || json_is_array(v))
        return gf_error_set(GF_EINVAL,
                            "field specified in var %s (%s) not found in corresponding resource",
                            name, fp && fp[0] ? fp : "metadata.name");
    *out = json_incref(v);
    return 0;
}

static const json_t *lookup(const struct vars_ctx *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->n; i++)
        if (strlen(c->vals[i].name) == len && strncmp(c->vals[i].name, name, len) == 0)
            return c->vals[i].value;
    return NULL;
}

/* Kubernetes' $(VAR) expansion; a string that is exactly one reference
 * takes the variable's type. Returns a new value or NULL when unchanged. */
static json_t *expand(const struct vars_ctx *c, const char *in)
{
    struct gf_strbuf b = {0};
    size_t len = strlen(in), check = 0;
    int changed = 0;

    gf_strbuf_add(&b, "", 0);
    for (size_t cur = 0; cur < len; cur++) {
        if (in[cur] != '$' || cur + 1 >= len)
            continue;
        gf_strbuf_add(&b, in + check, cur - check);
        const char *rest = in + cur + 1;
        size_t adv = 1;
        if (rest[0] == '$') {
            gf_strbuf_add(&b, "$", 1);
            changed = 1;
        } else if (rest[0] == '(') {
            const char *close = strchr(rest, ')');
            if (close == NULL) {
                gf_strbuf_add(&b, "$(", 2);
            } else {
                size_t nlen = (size_t)(close - rest - 1);
                const json_t *v = lookup(c, rest + 1, nlen);
                adv = nlen + 2;
                if (v != NULL && cur == 0 && adv + 1 == len) {
                    gf_strbuf_free(&b);
                    return json_deep_copy(v);
                }
                if (v != NULL) {
                    char *s = kz_scalar_string(v);
                    gf_strbuf_add(&b, s, strlen(s));
                    free(s);
                    changed = 1;
                } else {
                    gf_strbuf_add(&b, rest - 1, adv + 1);
                }
            }
        } else {
            gf_strbuf_add(&b, rest - 1, 2);
        }
        cur += adv;
        check = cur + 1;
    }
    if (check < len)
        gf_strbuf_add(&b, in + check, len - check);
    json_t *out = changed && !b.failed ? json_string(b.data) : NULL;
    gf_strbuf_free(&b);
    return out;
}

static void expand_in(const struct vars_ctx *c, json_t *container, const char *key, size_t index,
                      json_t *v)
{
    json_t *nv;
    if (!json_is_string(v) || (nv = expand(c, json_string_value(v))) == NULL)
        return;
    if (key != NULL)
        json_object_set_new(container, key, nv);
    else
        json_array_set_new(container, index, nv);
}

static int at_leaf(json_t *parent, const char *key, json_t *value, void *ctx)
{
    const struct vars_ctx *c = ctx;
    const char *k;
    json_t *v;
    size_t i;

    if (json_is_string(value)) {
        expand_in(c, parent, key, 0, value);
    } else if (json_is_array(value)) {
        json_array_foreach(value, i, v) expand_in(c, value, NULL, i, v);
    } else if (json_is_object(value)) {
        void *tmp;
        json_object_foreach_safe(value, tmp, k, v) expand_in(c, value, k, 0, v);
    }
    return 0;
}

int kz_vars_resolve(struct kz_resmap *m, const json_t *vars, const struct kz_tconfig *tc)
{
    struct vars_ctx c = {NULL, 0};
    size_t i;
    json_t *var;
    int error = 0;

    if (json_array_size(vars) == 0)
        return 0;
    c.vals = calloc(json_array_size(vars), sizeof(*c.vals));
    json_array_foreach((json_t *)vars, i, var)
    {
        const char *name = json_string_value(json_object_get(var, "name"));
        if (name == NULL) {
            error = gf_error_set(GF_EINVAL, "vars: a var needs a name");
            break;
        }
        if ((error = var_value(&c.vals[c.n].value, m, var)) < 0)
            break;
        c.vals[c.n++].name = name;
    }
    for (size_t r = 0; error == 0 && r < m->len; r++)
        error = kz_fslist_apply(m->items[r], &tc->var_reference, 0, at_leaf, &c);
    for (size_t k = 0; k < c.n; k++)
        json_decref(c.vals[k].value);
    free(c.vals);
    return error;
}
