/* replacements.c -- the replacements field: copy a source field into target fields */
#include "fieldpath.h"
#include "internal.h"

#include "gitfleet/error.h"
#include "gitfleet/yaml_parse.h"

#include <stdlib.h>
#include <string.h>

/* ---- selecting ---- */

static int str_is(const char *want, const char *have)
{
    return want == NULL || want[0] == '\0' || strcmp(want, have ? have : "") == 0;
}

static void ids_of(const struct kz_res *r, struct kz_id **ids, size_t *n)
{
    *n = r->nprev + 1;
    *ids = calloc(*n, sizeof(**ids));
    kz_res_cur_id(&(*ids)[0], r);
    for (size_t i = 0; i < r->nprev; i++)
        kz_id_copy(&(*ids)[i + 1], &r->prev[i]);
}

static void ids_free(struct kz_id *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        kz_id_clear(&ids[i]);
    free(ids);
}

/* kustomize's ResId.IsSelectedBy for a replacement source (exact fields). */
static int source_selects(const json_t *sel, const struct kz_id *id)
{
    const char *ns = json_string_value(json_object_get(sel, "namespace"));
    return str_is(json_string_value(json_object_get(sel, "name")), id->name) &&
           (ns == NULL || ns[0] == '\0' ||
            strcmp(ns[0] ? ns : "default", id->ns && id->ns[0] ? id->ns : "default") == 0) &&
           str_is(json_string_value(json_object_get(sel, "kind")), id->kind) &&
           str_is(json_string_value(json_object_get(sel, "group")), id->group) &&
           str_is(json_string_value(json_object_get(sel, "version")), id->version);
}

/* A target `select` entry: kustomize v5.5 (kubectl v1.32) matches its
 * fields exactly, as ResId.IsSelectedBy; a regex such as `Deployment|.*Set`
 * selects nothing there (later kustomize releases read regexes). */
static int target_selects(const json_t *sel, const struct kz_id *id)
{
    return source_selects(sel, id);
}

static int meta_selectors_match(const json_t *sel, const struct kz_res *r)
{
    const json_t *md = json_object_get(r->obj, "metadata");
    const char *ls = json_string_value(json_object_get(sel, "labelSelector"));
    const char *as = json_string_value(json_object_get(sel, "annotationSelector"));
    return (ls == NULL || kz_labels_match(ls, json_object_get(md, "labels"))) &&
           (as == NULL || kz_labels_match(as, json_object_get(md, "annotations")));
}

/* ---- the source value ---- */

static const char *field_or(const json_t *sel, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(sel, key));
    return s != NULL && s[0] ? s : dflt;
}

static char *sel_string(const json_t *sel)
{
    return kz_printf("%s.%s.%s/%s.%s", field_or(sel, "kind", "[noKind]"),
                     field_or(sel, "version", "[noVer]"), field_or(sel, "group", "[noGrp]"),
                     field_or(sel, "name", "[noName]"), field_or(sel, "namespace", "[noNs]"));
}

static int find_source(struct kz_res **out, const struct kz_resmap *m, const json_t *src)
{
    *out = NULL;
    for (size_t i = 0; i < m->len; i++) {
        struct kz_id *ids;
        size_t n, k;
        ids_of(m->items[i], &ids, &n);
        for (k = 0; k < n && !source_selects(src, &ids[k]); k++)
            ;
        ids_free(ids, n);
        if (k == n)
            continue;
        if (*out != NULL)
            return gf_error_set(GF_ECONFLICT,
                                "replacements: more than one resource matches the source");
        *out = m->items[i];
    }
    if (*out == NULL) {
        char *s = sel_string(src);
        gf_error_set(GF_ENOTFOUND, "replacements: nothing selected by %s", s ? s : "source");
        free(s);
        return GF_ENOTFOUND;
    }
    return 0;
}

/* Apply source options (delimiter, index) to the value. */
static int refine(json_t **value, const json_t *opts)
{
    const char *delim = json_string_value(json_object_get(opts, "delimiter"));
    if (delim == NULL || delim[0] == '\0')
        return 0;
    char *s = kz_scalar_string(*value);
    long index = (long)json_integer_value(json_object_get(opts, "index"));
    json_t *part = NULL;
    char *p = s;
    for (long i = 0; p != NULL; i++) {
        char *next = strstr(p, delim);
        if (i == index) {
            part = next ? json_stringn(p, (size_t)(next - p)) : json_string(p);
            break;
        }
        p = next ? next + strlen(delim) : NULL;
    }
    free(s);
    if (part == NULL)
        return gf_error_set(GF_EINVAL, "replacements: options.index %ld is out of bounds", index);
    json_decref(*value);
    *value = part;
    return 0;
}

static int source_value(json_t **out, const struct kz_resmap *m, const json_t *src)
{
    struct kz_res *r;
    const char *fp = json_string_value(json_object_get(src, "fieldPath"));
    int error;

    *out = NULL;
    if (!json_is_object(src))
        return gf_error_set(GF_EINVAL, "replacements: a replacement needs a source");
    if ((error = find_source(&r, m, src)) < 0)
        return error;
    json_t *v = kz_fieldpath_get(r->obj, fp && fp[0] ? fp : "metadata.name");
    if (v == NULL || json_is_null(v))
        return gf_error_set(GF_EINVAL,
                            "replacements: fieldPath `%s` is missing for replacement "
                            "source",
                            fp && fp[0] ? fp : "metadata.name");
    *out = json_deep_copy(v);
    return refine(out, json_object_get(src, "options"));
}

/* ---- writing targets ---- */

struct put_ctx {
    const json_t *value;
    const json_t *opts;
    int count;
};

/* The source text in the target's type (kustomize keeps the target's tag,
 * so text that is no number cannot replace a number). NULL: it cannot. */
static json_t *typed_like(const json_t *target, const json_t *value)
{
    if (!json_is_string(value) && !json_is_number(value) && !json_is_boolean(value))
        return json_deep_copy(value);
    char *text = kz_scalar_string(value), *end;
    json_t *out = NULL;
    if (json_is_string(target)) {
        out = json_string(text);
    } else if (json_is_integer(target)) {
        long long v = strtoll(text, &end, 10);
        out = *end == '\0' && end != text ? json_integer(v) : NULL;
    } else if (json_is_boolean(target)) {
        out = !strcmp(text, "true") || !strcmp(text, "false")
                  ? json_boolean(strcmp(text, "true") == 0)
                  : NULL;
    } else {
        out = json_deep_copy(value);
    }
    free(text);
    return out;
}

/* A created (or null) field gets the source's text untyped, as a plain YAML
 * scalar would read: "5432" becomes a number there. */
static json_t *untyped(const json_t *value)
{
    json_t *v = NULL;
    const char *text = json_string_value(value);

    if (text == NULL)
        return json_deep_copy(value);
    if (gf_yaml_parse_one(&v, text, strlen(text), "value", NULL) < 0 || json_is_object(v) ||
        json_is_array(v) || json_is_null(v)) {
        gf_error_clear();
        json_decref(v);
        return json_string(text);
    }
    return v;
}

static json_t *with_delimiter(const json_t *target, const json_t *value, const json_t *opts,
                              int *error)
{
    const char *delim = json_string_value(json_object_get(opts, "delimiter"));
    long index = (long)json_integer_value(json_object_get(opts, "index"));
    char *t = kz_scalar_string(target), *v = kz_scalar_string(value);

    *error = 0;
    if (t == NULL && json_is_null(target))
        t = strdup(""); /* a field just created (kyaml makes an empty scalar) */
    if (t == NULL || v == NULL) {
        free(t);
        free(v);
        *error = gf_error_set(GF_EINVAL, "delimiter option can only be used with scalar nodes");
        return NULL;
    }
    json_t *parts = json_array();
    for (char *p = t; p != NULL;) {
        char *next = strstr(p, delim);
        json_array_append_new(parts, next ? json_stringn(p, (size_t)(next - p)) : json_string(p));
        p = next ? next + strlen(delim) : NULL;
    }
    if (index < 0)
        json_array_insert_new(parts, 0, json_string(v));
    else if ((size_t)index >= json_array_size(parts))
        json_array_append_new(parts, json_string(v));
    else
        json_array_set_new(parts, (size_t)index, json_string(v));
    size_t len = 0, i;
    json_t *e;
    json_array_foreach(parts, i, e) len += strlen(json_string_value(e)) + strlen(delim);
    char *joined = calloc(1, len + 1);
    json_array_foreach(parts, i, e)
    {
        if (i > 0)
            strcat(joined, delim);
        strcat(joined, json_string_value(e));
    }
    json_t *res = json_string(joined);
    free(joined);
    free(t);
    free(v);
    json_decref(parts);
    return res;
}

static int put(json_t *parent, const char *key, size_t index, json_t *target, void *vctx)
{
    struct put_ctx *c = vctx;
    const char *delim = json_string_value(json_object_get(c->opts, "delimiter"));
    json_t *nv;
    int error = 0;

    c->count++;
    if (delim != NULL && delim[0]) {
        nv = with_delimiter(target, c->value, c->opts, &error);
        if (error == 0 && (json_is_integer(target) || json_is_boolean(target))) {
            json_t *typed = typed_like(target, nv); /* the target keeps its type */
            json_decref(nv);
            if ((nv = typed) == NULL)
                error = gf_error_set(
                    GF_EINVAL, "replacements: the joined value is not a %s at '%s'",
                    json_is_integer(target) ? "integer" : "boolean", key ? key : "list");
        }
    } else if (json_is_null(target))
        nv = untyped(c->value);
    else if (json_is_object(target) || json_is_array(target))
        nv = json_deep_copy(c->value);
    else if ((nv = typed_like(target, c->value)) == NULL)
        error =
            gf_error_set(GF_EINVAL, "replacements: cannot put a non-%s value into the %s at '%s'",
                         json_is_integer(target) ? "integer" : "boolean",
                         json_is_integer(target) ? "integer" : "boolean", key ? key : "list");
    if (error < 0)
        return error;
    if (key != NULL)
        json_object_set_new(parent, key, nv);
    else
        json_array_set_new(parent, index, nv);
    return 0;
}

static int copy_to_target(struct kz_res *r, const json_t *value, const json_t *target)
{
    const json_t *fps = json_object_get(target, "fieldPaths");
    const json_t *opts = json_object_get(target, "options");
    int create = json_is_true(json_object_get(opts, "create"));
    json_t *defaults = NULL, *fp;
    size_t i;
    int error = 0;

    if (json_array_size(fps) == 0)
        fps = defaults = json_pack("[s]", "metadata.name");
    json_array_foreach((json_t *)fps, i, fp)
    {
        struct kz_fieldpath p;
        struct put_ctx c = {value, opts, 0};
        if (!json_is_string(fp)) {
            error = gf_error_set(GF_EINVAL, "replacements: fieldPaths must be strings");
            break;
        }
        if ((error = kz_fieldpath_split(&p, json_string_value(fp))) < 0)
            break;
        p.regex = 1;
        error = kz_fieldpath_visit(r->obj, &p, create, value, put, &c);
        kz_fieldpath_free(&p);
        if (error == 0 && c.count == 0)
            error = gf_error_set(GF_EINVAL,
                                 create ? "unable to find or create field \"%s\" in replacement "
                                          "target"
                                        : "unable to find field \"%s\" in replacement target",
                                 json_string_value(fp));
        if (error < 0)
            break;
    }
    json_decref(defaults);
    return error;
}

static int rejected(const json_t *rejects, const struct kz_id *ids, size_t n)
{
    size_t i;
    json_t *rj;
    json_array_foreach((json_t *)rejects, i, rj)
    {
        for (size_t k = 0; k < n; k++)
            if (source_selects(rj, &ids[k])) /* kubectl matches rejects exactly, not as regexes */
                return 1;
    }
    return 0;
}

static int apply_target(struct kz_resmap *m, const json_t *value, const json_t *target)
{
    const json_t *sel = json_object_get(target, "select");
    int error = 0;

    if (!json_is_object(sel))
        return gf_error_set(GF_EINVAL, "replacements: target must specify resources to select");
    for (size_t i = 0; i < m->len && error == 0; i++) {
        struct kz_res *r = m->items[i];
        struct kz_id *ids;
        size_t n, k;
        if (!meta_selectors_match(sel, r))
            continue;
        ids_of(r, &ids, &n);
        for (k = 0; k < n; k++)
            if (target_selects(sel, &ids[k]))
                break;
        int hit = k < n && !rejected(json_object_get(target, "reject"), ids, n);
        ids_free(ids, n);
        if (hit)
            error = copy_to_target(r, value, target);
    }
    return error;
}

static int apply_one(struct kz_resmap *m, const json_t *rep)
{
    json_t *value = NULL, *t;
    size_t i;
    int error;

    if ((error = source_value(&value, m, json_object_get(rep, "source"))) < 0)
        return error;
    json_array_foreach(json_object_get(rep, "targets"), i, t)
    {
        if ((error = apply_target(m, value, t)) < 0)
            break;
    }
    json_decref(value);
    return error;
}

int kz_replacements_apply(struct kz_build *b, const char *kdir, const json_t *list,
                          struct kz_resmap *m)
{
    size_t i, k;
    json_t *e, *d;
    int error;

    json_array_foreach((json_t *)list, i, e)
    {
        const char *path = json_string_value(json_object_get(e, "path"));
        if (path == NULL) {
            if ((error = apply_one(m, e)) < 0)
                return error;
            continue;
        }
        json_t *docs = NULL;
        if ((error = kz_build_read_yaml(b, kdir, path, &docs)) < 0)
            return gf_error_wrap(error, "replacements");
        json_array_foreach(docs, k, d)
        {
            if (json_is_array(d)) {
                size_t j;
                json_t *r;
                json_array_foreach(d, j, r)
                {
                    if ((error = apply_one(m, r)) < 0)
                        break;
                }
            } else {
                error = apply_one(m, d);
            }
            if (error < 0)
                break;
        }
        json_decref(docs);
        if (error < 0)
            return error;
    }
    return 0;
}
