/* appset.c -- ApplicationSet expansion: clusters/list/matrix generators and Argo CD templates */
#include "appset.h"

#include "gitfleet/error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define APPSET_MAX_DEPTH  3 /* matrix nesting */
#define APPSET_MAX_SETS   100000
#define APPSET_MAX_STRING (1 << 20)

/* One parameter set: {"p": params, "why": origin text, "cluster": name|null, "error": msg} */

static json_t *entry_new(json_t *params, const char *why, const char *cluster)
{
    json_t *e = json_object();

    json_object_set_new(e, "p", params);
    json_object_set_new(e, "why", json_string(why));
    json_object_set_new(e, "cluster", cluster ? json_string(cluster) : json_null());
    return e;
}

/* ---- a growable string ---- */

struct buf {
    char *data;
    size_t len, cap;
};

static int buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > APPSET_MAX_STRING)
        return gf_error_set(GF_ETOOBIG, "rendered string over %d bytes", APPSET_MAX_STRING);
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *grown = realloc(b->data, cap);
        if (grown == NULL)
            return gf_error_set(GF_ENOMEM, "out of memory");
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* ---- parameter lookup ---- */

/* Default syntax: "metadata.labels.app.kubernetes.io/name" walks objects,
 * preferring the longest remaining key at each level (label keys hold dots). */
static const json_t *lookup_dotted(const json_t *params, const char *key)
{
    const json_t *o = params;
    char part[256];

    while (json_is_object(o)) {
        const json_t *whole = json_object_get(o, key);
        if (whole != NULL)
            return whole;
        size_t n = strcspn(key, ".");
        if (key[n] == '\0' || n >= sizeof(part))
            return NULL;
        memcpy(part, key, n);
        part[n] = '\0';
        o = json_object_get(o, part);
        key += n + 1;
    }
    return NULL;
}

/* A parameter as text; objects and lists cannot be printed into a string. */
static int value_text(struct buf *out, const json_t *v, const char *expr, size_t len)
{
    char num[64];

    if (json_is_string(v))
        return buf_add(out, json_string_value(v), json_string_length(v));
    if (json_is_integer(v))
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(num, sizeof(num), "%g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(num, sizeof(num), "%s", json_is_true(v) ? "true" : "false");
    else
        return gf_error_set(GF_EINVAL, "'{{%.*s}}' is a mapping or list, not a value", (int)len,
                            expr);
    return buf_add(out, num, strlen(num));
}

/* ---- Go template subset: {{.a.b}}, {{index .a.b "key"}} ---- */

static const json_t *go_field(const json_t *params, const char *chain, size_t len)
{
    const json_t *o = params;
    char part[256];
    size_t i = 1; /* past the leading '.' */

    while (i < len) {
        size_t n = 0;
        while (i + n < len && chain[i + n] != '.')
            n++;
        if (n == 0 || n >= sizeof(part) || !json_is_object(o))
            return NULL;
        memcpy(part, chain + i, n);
        part[n] = '\0';
        o = json_object_get(o, part);
        i += n + 1;
    }
    return o;
}

/* Next token of an action: a word, or a "quoted" string (returned unquoted). */
static int go_token(const char **p, const char *end, const char **tok, size_t *len, int *quoted)
{
    while (*p < end && isspace((unsigned char)**p))
        (*p)++;
    if (*p >= end)
        return 0;
    *quoted = (**p == '"');
    if (*quoted) {
        const char *close = memchr(*p + 1, '"', (size_t)(end - *p - 1));
        if (close == NULL)
            return -1;
        *tok = *p + 1;
        *len = (size_t)(close - *p - 1);
        *p = close + 1;
        return 1;
    }
    *tok = *p;
    while (*p < end && !isspace((unsigned char)**p))
        (*p)++;
    *len = (size_t)(*p - *tok);
    return 1;
}

static int go_eval(const json_t **out, const json_t *params, const char *expr, size_t len)
{
    const char *p = expr, *end = expr + len, *tok;
    size_t tlen;
    int quoted;

    *out = NULL;
    if (go_token(&p, end, &tok, &tlen, &quoted) != 1 || quoted)
        return gf_error_set(GF_EINVAL, "'{{%.*s}}': unsupported expression", (int)len, expr);
    if (tok[0] == '.' && tlen > 1) {
        const char *field = tok;
        size_t flen = tlen;
        if (go_token(&p, end, &tok, &tlen, &quoted) != 0)
            return gf_error_set(GF_EINVAL, "'{{%.*s}}': pipelines and functions are not supported",
                                (int)len, expr);
        *out = go_field(params, field, flen);
        return 0;
    }
    if (tlen != 5 || strncmp(tok, "index", 5) != 0 ||
        go_token(&p, end, &tok, &tlen, &quoted) != 1 || quoted || tok[0] != '.')
        return gf_error_set(GF_EINVAL,
                            "'{{%.*s}}': unsupported expression (supported: .field.path and "
                            "index .map \"key\")",
                            (int)len, expr);
    const json_t *v = go_field(params, tok, tlen);
    int r;
    while (v != NULL && (r = go_token(&p, end, &tok, &tlen, &quoted)) == 1) {
        char key[256];
        if (!quoted || tlen >= sizeof(key) || !json_is_object(v))
            return gf_error_set(GF_EINVAL, "'{{%.*s}}': index takes quoted keys of a mapping",
                                (int)len, expr);
        memcpy(key, tok, tlen);
        key[tlen] = '\0';
        v = json_object_get(v, key);
    }
    *out = v;
    return 0;
}

/* ---- rendering one string ---- */

static int render_action(struct buf *out, const char *expr, size_t len, const json_t *params,
                         int go_template)
{
    const json_t *v = NULL;
    char key[512];
    int error;

    while (len > 0 && isspace((unsigned char)expr[0]))
        expr++, len--;
    while (len > 0 && isspace((unsigned char)expr[len - 1]))
        len--;
    if (go_template) {
        if ((error = go_eval(&v, params, expr, len)) < 0)
            return error;
    } else if (len < sizeof(key)) {
        memcpy(key, expr, len);
        key[len] = '\0';
        v = lookup_dotted(params, key);
    }
    if (v == NULL || json_is_null(v))
        return gf_error_set(GF_EINVAL, "'{{%.*s}}': no such parameter", (int)len, expr);
    return value_text(out, v, expr, len);
}

int hub_appset_render_string(char **out, const char *text, const json_t *params, int go_template)
{
    struct buf b = {0};
    const char *p = text;
    int error = buf_add(&b, "", 0);

    *out = NULL;
    while (error == 0 && *p) {
        const char *open = strstr(p, "{{"), *close;
        if (open == NULL || (close = strstr(open + 2, "}}")) == NULL) {
            error = buf_add(&b, p, strlen(p));
            break;
        }
        const char *body = open + 2, *after = close + 2;
        size_t textlen = (size_t)(open - p);
        if (go_template && body[0] == '-' && isspace((unsigned char)body[1])) {
            while (textlen > 0 && isspace((unsigned char)p[textlen - 1]))
                textlen--; /* {{- trims the space before */
            body++;
        }
        int trim_after = go_template && close - body >= 2 && close[-1] == '-' &&
                         isspace((unsigned char)close[-2]);
        if ((error = buf_add(&b, p, textlen)) < 0 ||
            (error = render_action(&b, body, (size_t)(close - body - trim_after), params,
                                   go_template)) < 0)
            break;
        p = after;
        while (trim_after && isspace((unsigned char)*p))
            p++;
    }
    if (error < 0) {
        free(b.data);
        return error;
    }
    *out = b.data;
    return 0;
}

/* Render every string (keys included) of a template tree. `path` names the
 * field for messages. New reference in *out. */
static int render_tree(json_t **out, const json_t *t, const json_t *params, int go, char *path,
                       size_t pathcap)
{
    size_t plen = strlen(path);
    char *s = NULL;
    int error = 0;

    *out = NULL;
    if (json_is_string(t)) {
        if ((error = hub_appset_render_string(&s, json_string_value(t), params, go)) < 0)
            return gf_error_wrap(error, "%s", path);
        *out = json_string(s);
        free(s);
        return *out ? 0 : gf_error_set(GF_EINVAL, "%s: rendered text is not UTF-8", path);
    }
    if (json_is_array(t)) {
        const json_t *v;
        size_t i;
        *out = json_array();
        json_array_foreach(t, i, v)
        {
            json_t *r = NULL;
            snprintf(path + plen, pathcap - plen, "[%zu]", i);
            if ((error = render_tree(&r, v, params, go, path, pathcap)) < 0)
                break;
            json_array_append_new(*out, r);
        }
    } else if (json_is_object(t)) {
        const char *k;
        json_t *v;
        *out = json_object();
        json_object_foreach((json_t *)t, k, v)
        {
            json_t *r = NULL;
            snprintf(path + plen, pathcap - plen, ".%s", k);
            if ((error = hub_appset_render_string(&s, k, params, go)) < 0) {
                error = gf_error_wrap(error, "%s", path);
                break;
            }
            if ((error = render_tree(&r, v, params, go, path, pathcap)) == 0)
                json_object_set_new(*out, s, r);
            free(s);
            if (error < 0)
                break;
        }
    } else {
        *out = json_deep_copy(t);
    }
    path[plen] = '\0';
    if (error < 0) {
        json_decref(*out);
        *out = NULL;
    }
    return error;
}

/* ---- the clusters generator ---- */

static json_t *cluster_params(const struct hub_cluster *cl)
{
    char *norm = strdup(cl->name);

    for (char *c = norm; *c; c++) {
        *c = (char)tolower((unsigned char)*c);
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.')
            *c = '-';
    }
    json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:{s:O,s:O},s:o}", "name", cl->name, "nameNormalized",
                          norm, "server", cl->server, "project", cl->project ? cl->project : "",
                          "metadata", "labels", cl->labels, "annotations", cl->annotations,
                          "values", json_deep_copy(cl->values));
    free(norm);
    return p;
}

static int match_expression(int *ok, const json_t *expr, const json_t *labels, size_t i)
{
    const char *key = json_string_value(json_object_get(expr, "key"));
    const char *op = json_string_value(json_object_get(expr, "operator"));
    const json_t *values = json_object_get(expr, "values"), *v;
    const char *have;
    size_t k;
    int found = 0;

    if (key == NULL || op == NULL)
        return gf_error_set(GF_EINVAL,
                            "selector.matchExpressions[%zu]: key and operator are needed", i);
    have = json_string_value(json_object_get(labels, key));
    if (strcmp(op, "Exists") == 0 || strcmp(op, "DoesNotExist") == 0) {
        *ok = (have != NULL) == (op[0] == 'E');
        return 0;
    }
    if ((strcmp(op, "In") != 0 && strcmp(op, "NotIn") != 0) || !json_is_array(values))
        return gf_error_set(GF_EINVAL,
                            "selector.matchExpressions[%zu]: operator '%s' with values: expected "
                            "In, NotIn, Exists or DoesNotExist",
                            i, op);
    json_array_foreach(values, k, v)
    {
        if (have != NULL && json_is_string(v) && strcmp(json_string_value(v), have) == 0)
            found = 1;
    }
    *ok = op[0] == 'I' ? found : !found;
    return 0;
}

static int selector_matches(int *ok, const json_t *selector, const json_t *labels)
{
    const json_t *ml = json_object_get(selector, "matchLabels");
    const json_t *me = json_object_get(selector, "matchExpressions"), *v;
    const char *k;
    size_t i;
    int error;

    *ok = 1;
    if ((ml != NULL && !json_is_object(ml)) || (me != NULL && !json_is_array(me)))
        return gf_error_set(GF_EINVAL,
                            "selector: matchLabels is a mapping, matchExpressions a list");
    json_object_foreach((json_t *)ml, k, v)
    {
        if (!json_is_string(v))
            return gf_error_set(GF_EINVAL, "selector.matchLabels.%s: expected a string", k);
        const char *have = json_string_value(json_object_get(labels, k));
        if (have == NULL || strcmp(have, json_string_value(v)) != 0)
            *ok = 0;
    }
    json_array_foreach(me, i, v)
    {
        int one = 0;
        if ((error = match_expression(&one, v, labels, i)) < 0)
            return error;
        if (!one)
            *ok = 0;
    }
    return 0;
}

/* "env=prod,region=eu" from a label object. */
static void labels_text(char *out, size_t cap, const json_t *labels)
{
    const char *k;
    json_t *v;
    size_t n = 0;

    out[0] = '\0';
    json_object_foreach((json_t *)labels, k, v)
    {
        n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s=%s", n ? "," : "", k,
                              json_string_value(v));
        if (n >= cap)
            break;
    }
}

static void selector_text(char *out, size_t cap, const json_t *selector)
{
    char labels[512];
    const json_t *me = json_object_get(selector, "matchExpressions"), *e;
    size_t i, n;

    labels_text(labels, sizeof(labels), json_object_get(selector, "matchLabels"));
    n = (size_t)snprintf(out, cap, "%s", labels);
    json_array_foreach(me, i, e)
    {
        const json_t *vals = json_object_get(e, "values");
        char *vs = vals ? json_dumps(vals, JSON_COMPACT) : NULL;
        if (n < cap)
            n += (size_t)snprintf(out + n, cap - n, "%s%s %s%s%s", n ? "," : "",
                                  json_string_value(json_object_get(e, "key")),
                                  json_string_value(json_object_get(e, "operator")), vs ? " " : "",
                                  vs ? vs : "");
        free(vs);
    }
    if (out[0] == '\0')
        snprintf(out, cap, "all clusters");
}

/* The generator's `values`, templated with the cluster's own parameters,
 * over the Cluster's spec.values. */
static int apply_values(json_t *params, const json_t *values, int go)
{
    json_t *into = json_object_get(params, "values"), *v;
    const char *k;
    int error;

    json_object_foreach((json_t *)values, k, v)
    {
        char *s = NULL;
        if (!json_is_string(v))
            return gf_error_set(GF_EINVAL, "values.%s: expected a string", k);
        if ((error = hub_appset_render_string(&s, json_string_value(v), params, go)) < 0)
            return gf_error_wrap(error, "values.%s", k);
        json_object_set_new(into, k, json_string(s));
        free(s);
    }
    return 0;
}

static int gen_clusters(json_t *sets, const json_t *gen, int go, const struct hub_cluster *clusters,
                        size_t n)
{
    const json_t *selector = json_object_get(gen, "selector");
    const json_t *values = json_object_get(gen, "values");
    char sel[512], why[1200], have[512];
    int error;

    if ((selector && !json_is_object(selector)) || (values && !json_is_object(values)))
        return gf_error_set(GF_EINVAL, "clusters: selector and values are mappings");
    selector_text(sel, sizeof(sel), selector);
    for (size_t i = 0; i < n; i++) {
        int ok = 1;
        if (selector && (error = selector_matches(&ok, selector, clusters[i].labels)) < 0)
            return gf_error_wrap(error, "clusters");
        if (!ok)
            continue;
        labels_text(have, sizeof(have), clusters[i].labels);
        snprintf(why, sizeof(why), "clusters generator, selector %s; cluster labels %s", sel,
                 have[0] ? have : "(none)");
        json_t *params = cluster_params(&clusters[i]);
        json_t *e = entry_new(params, why, clusters[i].name);
        if (values && apply_values(params, values, go) < 0)
            json_object_set_new(e, "error", json_string(gf_error_last()));
        json_array_append_new(sets, e);
    }
    return 0;
}

static int gen_list(json_t *sets, const json_t *gen)
{
    const json_t *elements = json_object_get(gen, "elements"), *el;
    char why[64];
    size_t i;

    if (!json_is_array(elements))
        return gf_error_set(GF_EINVAL, "list.elements: expected a list (elementsYaml is not "
                                       "supported)");
    json_array_foreach(elements, i, el)
    {
        if (!json_is_object(el))
            return gf_error_set(GF_EINVAL, "list.elements[%zu]: expected a mapping", i);
        snprintf(why, sizeof(why), "list generator, element %zu", i);
        json_array_append_new(sets, entry_new(json_deep_copy(el), why, NULL));
    }
    return 0;
}

static int generate(json_t *sets, const json_t *gen, int go, const struct hub_cluster *clusters,
                    size_t n, int depth);

/* One set of the product. As in Argo CD, the second generator's parameters
 * may use the first's ({{name}} in a list element). */
static json_t *matrix_pair(const json_t *x, const json_t *y, int go)
{
    const json_t *cx = json_object_get(x, "cluster");
    json_t *err = json_incref(json_object_get(x, "error") ? json_object_get(x, "error")
                                                          : json_object_get(y, "error"));
    json_t *p = json_deep_copy(json_object_get(x, "p")), *second = NULL, *e;
    char why[2048], path[512] = "matrix.generators[1]";

    snprintf(why, sizeof(why), "matrix of %s and %s", json_string_value(json_object_get(x, "why")),
             json_string_value(json_object_get(y, "why")));
    if (render_tree(&second, json_object_get(y, "p"), p, go, path, sizeof(path)) == 0)
        json_object_update_recursive(p, second);
    else if (err == NULL)
        err = json_string(gf_error_last());
    e = entry_new(p, why,
                  json_string_value(json_is_string(cx) ? cx : json_object_get(y, "cluster")));
    if (err != NULL)
        json_object_set_new(e, "error", err);
    json_decref(second);
    return e;
}

/* Every pair of the two child generators' sets, parameters merged. */
static int gen_matrix(json_t *sets, const json_t *gen, int go, const struct hub_cluster *clusters,
                      size_t n, int depth)
{
    const json_t *children = json_object_get(gen, "generators");
    json_t *a = json_array(), *b = json_array(), *x, *y;
    size_t i, j;
    int error;

    if (!json_is_array(children) || json_array_size(children) != 2)
        error = gf_error_set(GF_EINVAL, "matrix.generators: expected exactly two generators");
    else if ((error = generate(a, json_array_get(children, 0), go, clusters, n, depth + 1)) < 0 ||
             (error = generate(b, json_array_get(children, 1), go, clusters, n, depth + 1)) < 0)
        error = gf_error_wrap(error, "matrix");
    json_array_foreach(a, i, x)
    {
        json_array_foreach(b, j, y)
        {
            if (error < 0 || json_array_size(sets) >= APPSET_MAX_SETS)
                break;
            json_array_append_new(sets, matrix_pair(x, y, go));
        }
    }
    json_decref(a);
    json_decref(b);
    return error;
}

static int generate(json_t *sets, const json_t *gen, int go, const struct hub_cluster *clusters,
                    size_t n, int depth)
{
    const char *kind = NULL;
    json_t *body = NULL;

    if (!json_is_object(gen) || json_object_size(gen) == 0)
        return gf_error_set(GF_EINVAL, "a generator is a mapping with one generator");
    if (depth > APPSET_MAX_DEPTH)
        return gf_error_set(GF_EINVAL, "matrix generators nested too deep");
    json_object_foreach((json_t *)gen, kind, body)
    {
        break; /* the first key names the generator */
    }
    if (json_object_size(gen) != 1)
        return gf_error_set(GF_EINVAL, "a generator has exactly one key (clusters, list, matrix)");
    if (!json_is_object(body))
        return gf_error_set(GF_EINVAL, "%s: expected a mapping", kind);
    if (json_object_get(body, "template") != NULL)
        return gf_error_set(GF_EINVAL, "%s.template: per-generator templates are not supported",
                            kind);
    if (strcmp(kind, "clusters") == 0)
        return gen_clusters(sets, body, go, clusters, n);
    if (strcmp(kind, "list") == 0)
        return gen_list(sets, body);
    if (strcmp(kind, "matrix") == 0)
        return gen_matrix(sets, body, go, clusters, n, depth);
    return gf_error_set(GF_EINVAL, "unknown generator '%s' (supported: clusters, list, matrix)",
                        kind);
}

/* ---- expansion ---- */

static json_t *expand_one(const json_t *set, const json_t *tmpl, int go)
{
    const char *cluster = json_string_value(json_object_get(set, "cluster"));
    json_t *out = json_pack("{s:O,s:O}", "origin", json_object_get(set, "why"), "cluster",
                            json_object_get(set, "cluster"));
    json_t *err = json_object_get(set, "error"), *rendered = NULL;
    char path[1024] = "spec.template", msg[1400];

    if (err == NULL &&
        render_tree(&rendered, tmpl, json_object_get(set, "p"), go, path, sizeof(path)) < 0) {
        snprintf(msg, sizeof(msg), "%s%s%s", gf_error_last(), cluster ? " for cluster " : "",
                 cluster ? cluster : "");
        err = json_string(msg);
        json_object_set_new(out, "error", err);
    } else if (err != NULL) {
        snprintf(msg, sizeof(msg), "spec.generators: %s%s%s", json_string_value(err),
                 cluster ? " for cluster " : "", cluster ? cluster : "");
        json_object_set_new(out, "error", json_string(msg));
    } else {
        json_object_set_new(out, "object",
                            json_pack("{s:s,s:s,s:O,s:O}", "apiVersion", "argoproj.io/v1alpha1",
                                      "kind", "Application", "metadata",
                                      json_object_get(rendered, "metadata"), "spec",
                                      json_object_get(rendered, "spec")));
        json_decref(rendered);
    }
    return out;
}

static int check_spec(const json_t *spec, const json_t **gens, const json_t **tmpl, int *go)
{
    const json_t *g = json_object_get(spec, "goTemplate");

    *gens = json_object_get(spec, "generators");
    *tmpl = json_object_get(spec, "template");
    if (!json_is_object(spec))
        return gf_error_set(GF_EINVAL, "spec: missing or not a mapping");
    if (g != NULL && !json_is_boolean(g))
        return gf_error_set(GF_EINVAL, "spec.goTemplate: expected true or false");
    *go = json_is_true(g);
    if (!json_is_array(*gens) || json_array_size(*gens) == 0)
        return gf_error_set(GF_EINVAL, "spec.generators: expected a non-empty list");
    if (json_object_get(spec, "templatePatch") != NULL)
        return gf_error_set(GF_EINVAL, "spec.templatePatch: not supported by gitfleet");
    if (!json_is_object(*tmpl) || !json_is_object(json_object_get(*tmpl, "metadata")) ||
        !json_is_object(json_object_get(*tmpl, "spec")))
        return gf_error_set(GF_EINVAL, "spec.template: needs metadata and spec mappings");
    return 0;
}

int hub_appset_expand(json_t **out, const json_t *appset, const struct hub_cluster *clusters,
                      size_t n_clusters)
{
    const json_t *gens, *tmpl, *gen, *set;
    json_t *sets = json_array();
    size_t i;
    int go = 0, error;

    *out = NULL;
    if ((error = check_spec(json_object_get(appset, "spec"), &gens, &tmpl, &go)) < 0) {
        json_decref(sets);
        return error;
    }
    json_array_foreach(gens, i, gen)
    {
        if ((error = generate(sets, gen, go, clusters, n_clusters, 0)) < 0) {
            json_decref(sets);
            return gf_error_wrap(error, "spec.generators[%zu]", i);
        }
    }
    *out = json_array();
    json_array_foreach(sets, i, set)
    {
        json_array_append_new(*out, expand_one(set, tmpl, go));
    }
    json_decref(sets);
    return 0;
}
