/* generators.c -- configMapGenerator and secretGenerator, and kustomize's content-hash name suffix
 */
#include "internal.h"

#include "gitfleet/error.h"
#include "gitfleet/strbuf.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

/* ---- Go encoding/json string escaping (what kustomize hashes) ---- */

static void go_json_string(struct gf_strbuf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;

    gf_strbuf_puts(b, "\"");
    for (; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"':
            gf_strbuf_puts(b, "\\\"");
            continue;
        case '\\':
            gf_strbuf_puts(b, "\\\\");
            continue;
        case '\n':
            gf_strbuf_puts(b, "\\n");
            continue;
        case '\r':
            gf_strbuf_puts(b, "\\r");
            continue;
        case '\t':
            gf_strbuf_puts(b, "\\t");
            continue;
        case '\b':
            gf_strbuf_puts(b, "\\b");
            continue;
        case '\f':
            gf_strbuf_puts(b, "\\f");
            continue;
        case '<':
        case '>':
        case '&':
            snprintf(esc, sizeof(esc), "\\u00%c%c", hex[*p >> 4], hex[*p & 15]);
            gf_strbuf_puts(b, esc);
            continue;
        default:
            break;
        }
        if (*p < 0x20) {
            snprintf(esc, sizeof(esc), "\\u00%c%c", hex[*p >> 4], hex[*p & 15]);
            gf_strbuf_puts(b, esc);
        } else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
            gf_strbuf_puts(b, p[2] == 0xa8 ? "\\u2028" : "\\u2029");
            p += 2;
        } else {
            gf_strbuf_add(b, (const char *)p, 1);
        }
    }
    gf_strbuf_puts(b, "\"");
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A string map as Go marshals map[string]string: keys sorted bytewise. */
static void go_json_string_map(struct gf_strbuf *b, const json_t *map)
{
    size_t n = json_object_size(map), i = 0;
    const char **keys = calloc(n + 1, sizeof(char *));
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)map, key, v) keys[i++] = key;
    qsort(keys, n, sizeof(char *), key_cmp);
    gf_strbuf_puts(b, "{");
    for (i = 0; i < n; i++) {
        char *s = kz_scalar_string(json_object_get(map, keys[i]));
        if (i > 0)
            gf_strbuf_puts(b, ",");
        go_json_string(b, keys[i]);
        gf_strbuf_puts(b, ":");
        go_json_string(b, s ? s : "");
        free(s);
    }
    gf_strbuf_puts(b, "}");
    free(keys);
}

static void hash_field_map(struct gf_strbuf *b, const char *name, const json_t *v, int always)
{
    if (v == NULL && !always)
        return;
    go_json_string(b, name);
    gf_strbuf_puts(b, ":");
    if (json_is_object(v))
        go_json_string_map(b, v);
    else
        gf_strbuf_puts(b, "\"\"");
    gf_strbuf_puts(b, ",");
}

int kz_generators_hash(char out[11], const json_t *obj)
{
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    int secret = kind != NULL && strcmp(kind, "Secret") == 0;
    struct gf_strbuf b = {0};
    unsigned char md[32];
    unsigned int mdlen = 0;

    /* Members in Go's sorted order: binaryData, data, kind, name, stringData, type. */
    gf_strbuf_puts(&b, "{");
    if (!secret)
        hash_field_map(&b, "binaryData", json_object_get(obj, "binaryData"), 0);
    hash_field_map(&b, "data", json_object_get(obj, "data"), 1);
    gf_strbuf_puts(&b, "\"kind\":");
    go_json_string(&b, secret ? "Secret" : "ConfigMap");
    gf_strbuf_puts(&b, ",\"name\":\"\"");
    if (secret) {
        const json_t *sd = json_object_get(obj, "stringData");
        const char *type = json_string_value(json_object_get(obj, "type"));
        gf_strbuf_puts(&b, ",");
        hash_field_map(&b, "stringData", sd, 0);
        gf_strbuf_puts(&b, "\"type\":");
        go_json_string(&b, type ? type : "");
    }
    gf_strbuf_puts(&b, "}");
    if (b.failed) {
        gf_strbuf_free(&b);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    EVP_Digest(b.data, b.len, md, &mdlen, EVP_sha256(), NULL);
    gf_strbuf_free(&b);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 10; i++) {
        char c = hex[(md[i / 2] >> (i % 2 ? 0 : 4)) & 15];
        out[i] = c == '0'   ? 'g'
                 : c == '1' ? 'h'
                 : c == '3' ? 'k'
                 : c == 'a' ? 'm'
                 : c == 'e' ? 't'
                            : c;
    }
    out[10] = '\0';
    return 0;
}

/* ---- base64 and UTF-8 ---- */

/* Standard base64, broken into lines of 70 with a newline after each once
 * it is 70 characters or longer: kyaml writes Secret data and binaryData so. */
static char *base64(const unsigned char *p, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t enc = 4 * ((n + 2) / 3), lines = enc / 70 + 1;
    char *flat = malloc(enc + 1), *o = flat;

    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *o++ = tbl[v >> 18 & 63];
        *o++ = tbl[v >> 12 & 63];
        *o++ = i + 1 < n ? tbl[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? tbl[v & 63] : '=';
    }
    *o = '\0';
    if (lines == 1)
        return flat;
    char *out = malloc(enc + lines + 1), *w = out;
    for (size_t i = 0; i < enc; i += 70) {
        size_t len = enc - i < 70 ? enc - i : 70;
        memcpy(w, flat + i, len);
        w += len;
        *w++ = '\n';
    }
    *w = '\0';
    free(flat);
    return out;
}

static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (len == 0 || i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        if (len == 2 && c < 0xc2)
            return 0;
        i += len;
    }
    return 1;
}

/* ---- key/value sources ---- */

struct gen {
    const char *kind; /* "ConfigMap" or "Secret" */
    const char *name;
    json_t *data, *binary; /* string maps being filled */
};

static int add_pair(struct gen *g, const char *key, const char *value, size_t vlen)
{
    const char *lower = strcmp(g->kind, "Secret") == 0 ? "secret" : "configmap";

    /* kustomize v5.5 checks no key syntax (the API server does) */
    if (key[0] == '\0')
        return gf_error_set(GF_EINVAL, "%s %s: an empty key", lower, g->name);
    if (json_object_get(g->data, key) != NULL || json_object_get(g->binary, key) != NULL)
        return gf_error_set(GF_EINVAL, "%s %s illegally repeats the key `%s`", lower, g->name, key);
    if (strcmp(g->kind, "Secret") == 0) {
        char *enc = base64((const unsigned char *)value, vlen);
        json_object_set_new(g->data, key, json_string(enc));
        free(enc);
    } else if (utf8_valid((const unsigned char *)value, vlen) && memchr(value, 0, vlen) == NULL) {
        json_object_set_new(g->data, key, json_stringn(value, vlen));
    } else {
        char *enc = base64((const unsigned char *)value, vlen);
        json_object_set_new(g->binary, key, json_string(enc));
        free(enc);
    }
    return 0;
}

static int add_literal(struct gen *g, const char *src)
{
    const char *eq = strchr(src, '=');
    if (eq == NULL || eq == src)
        return gf_error_set(GF_EINVAL, "invalid literal source %s, expected key=value", src);
    char *key = strndup(src, (size_t)(eq - src));
    const char *v = eq + 1;
    size_t vlen = strlen(v);
    if (vlen >= 2 && (v[0] == '"' || v[0] == '\'') && v[vlen - 1] == v[0]) {
        v++;
        vlen -= 2;
    }
    int error = add_pair(g, key, v, vlen);
    free(key);
    return error;
}

static int add_file(struct kz_build *b, const char *kdir, struct gen *g, const char *src)
{
    const char *eq = strchr(src, '=');
    const char *path = eq ? eq + 1 : src;
    char *key, *data = NULL;
    size_t len;
    int error;

    if (eq != NULL) {
        key = strndup(src, (size_t)(eq - src));
    } else {
        const char *slash = strrchr(src, '/');
        key = strdup(slash ? slash + 1 : src);
    }
    if (eq != NULL && (key[0] == '\0' || path[0] == '\0'))
        error = gf_error_set(GF_EINVAL, "key or file path is missing from %s", src);
    else if ((error = kz_build_read(b, kdir, path, &data, &len, NULL)) == 0)
        error = add_pair(g, key, data, len);
    free(key);
    free(data);
    return error;
}

static int add_env_line(struct gen *g, char *line, int first)
{
    if (first && strncmp(line, "\xef\xbb\xbf", 3) == 0)
        line += 3;
    while (*line == ' ' || *line == '\t' || *line == '\v' || *line == '\f' || *line == '\r')
        line++;
    if (*line == '\0' || *line == '#')
        return 0;
    char *eq = strchr(line, '=');
    /* kustomize reads a bare KEY from its own environment; a hub rendering
     * what Git holds must not leak its environment into manifests */
    if (eq == NULL)
        return gf_error_set(GF_EUNSUPPORTED,
                            "%s %s: env line '%s' has no '=': values from the environment of "
                            "gitfleet are not read",
                            g->kind, g->name, line);
    *eq = '\0';
    return add_pair(g, line, eq + 1, strlen(eq + 1));
}

static int add_env_file(struct kz_build *b, const char *kdir, struct gen *g, const char *path)
{
    char *data = NULL;
    size_t len;
    int error, first = 1;

    if ((error = kz_build_read(b, kdir, path, &data, &len, NULL)) < 0)
        return error;
    char *p = data;
    while (error == 0 && p < data + len) {
        char *nl = memchr(p, '\n', (size_t)(data + len - p));
        char *end = nl ? nl : data + len;
        if (end > p && end[-1] == '\r')
            end[-1] = '\0';
        *end = '\0';
        error = add_env_line(g, p, first);
        first = 0;
        p = end + 1;
    }
    free(data);
    return error;
}

static int string_list_foreach(const json_t *list, const char *what,
                               int (*fn)(struct kz_build *, const char *, struct gen *,
                                         const char *),
                               struct kz_build *b, const char *kdir, struct gen *g)
{
    size_t i;
    json_t *v;
    int error;

    if (list == NULL || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return gf_error_set(GF_EINVAL, "%s %s: '%s' must be a list", g->kind, g->name, what);
    json_array_foreach((json_t *)list, i, v)
    {
        if (!json_is_string(v))
            return gf_error_set(GF_EINVAL, "%s %s: '%s' entries must be strings", g->kind, g->name,
                                what);
        if ((error = fn(b, kdir, g, json_string_value(v))) < 0)
            return error;
    }
    return 0;
}

static int literal_fn(struct kz_build *b, const char *kdir, struct gen *g, const char *s)
{
    return add_literal(g, s);
}

static int file_fn(struct kz_build *b, const char *kdir, struct gen *g, const char *s)
{
    return add_file(b, kdir, g, s);
}

static int env_fn(struct kz_build *b, const char *kdir, struct gen *g, const char *s)
{
    return add_env_file(b, kdir, g, s);
}

/* ---- options ---- */

/* Labels or annotations: the generator's own win over generatorOptions. */
static json_t *merged_map(const json_t *local, const json_t *global)
{
    json_t *m = json_object();
    const char *k;
    json_t *v;

    if (json_is_object(global))
        json_object_foreach((json_t *)global, k, v)
        {
            char *s = kz_scalar_string(v);
            json_object_set_new(m, k, json_string(s ? s : ""));
            free(s);
        }
    if (json_is_object(local))
        json_object_foreach((json_t *)local, k, v)
        {
            char *s = kz_scalar_string(v);
            json_object_set_new(m, k, json_string(s ? s : ""));
            free(s);
        }
    return m;
}

static int parse_behavior(enum kz_behavior *out, const json_t *v, const char *name)
{
    const char *s = json_string_value(v);
    if (v == NULL || s == NULL || s[0] == '\0' || strcmp(s, "create") == 0)
        *out = KZ_BEHAVIOR_CREATE;
    else if (strcmp(s, "replace") == 0)
        *out = KZ_BEHAVIOR_REPLACE;
    else if (strcmp(s, "merge") == 0)
        *out = KZ_BEHAVIOR_MERGE;
    else
        *out = KZ_BEHAVIOR_CREATE; /* kustomize treats unknown behaviors as unspecified */
    return 0;
}

static json_t *new_object(const char *kind, const char *name, const json_t *spec,
                          const json_t *opts, const json_t *gopts)
{
    json_t *obj = json_object(), *md = json_object();
    const char *ns = json_string_value(json_object_get(spec, "namespace"));

    json_object_set_new(obj, "apiVersion", json_string("v1"));
    json_object_set_new(obj, "kind", json_string(kind));
    json_object_set_new(md, "name", json_string(name));
    if (ns != NULL && ns[0])
        json_object_set_new(md, "namespace", json_string(ns));
    json_t *labels = merged_map(json_object_get(opts, "labels"), json_object_get(gopts, "labels"));
    json_t *annos =
        merged_map(json_object_get(opts, "annotations"), json_object_get(gopts, "annotations"));
    if (json_object_size(labels) > 0)
        json_object_set(md, "labels", labels);
    if (json_object_size(annos) > 0)
        json_object_set(md, "annotations", annos);
    json_decref(labels);
    json_decref(annos);
    json_object_set_new(obj, "metadata", md);
    return obj;
}

static int opt_flag(const json_t *opts, const json_t *gopts, const char *key)
{
    return json_is_true(json_object_get(opts, key)) || json_is_true(json_object_get(gopts, key));
}

int kz_generators_one(struct kz_build *b, const char *kdir, const char *kind, const json_t *spec,
                      const json_t *gopts, struct kz_resmap *out)
{
    const char *name = json_string_value(json_object_get(spec, "name"));
    const json_t *opts = json_object_get(spec, "options");
    struct gen g = {kind, name, json_object(), json_object()};
    enum kz_behavior behavior = KZ_BEHAVIOR_CREATE;
    struct kz_res *r = NULL;
    int error;

    if (!json_is_object(spec) || name == NULL || name[0] == '\0') {
        error = gf_error_set(GF_EINVAL, "a %s generator needs a name", kind);
        goto out;
    }
    if ((error = parse_behavior(&behavior, json_object_get(spec, "behavior"), name)) < 0 ||
        (error = string_list_foreach(json_object_get(spec, "envs"), "envs", env_fn, b, kdir, &g)) <
            0)
        goto out;
    const char *env1 = json_string_value(json_object_get(spec, "env"));
    if (env1 != NULL && env1[0] && (error = add_env_file(b, kdir, &g, env1)) < 0)
        goto out;
    if ((error = string_list_foreach(json_object_get(spec, "literals"), "literals", literal_fn, b,
                                     kdir, &g)) < 0 ||
        (error = string_list_foreach(json_object_get(spec, "files"), "files", file_fn, b, kdir,
                                     &g)) < 0)
        goto out;
    json_t *obj = new_object(kind, name, spec, opts, gopts);
    if (json_object_size(g.data) > 0)
        json_object_set(obj, "data", g.data);
    if (json_object_size(g.binary) > 0)
        json_object_set(obj, "binaryData", g.binary);
    if (strcmp(kind, "Secret") == 0) {
        const char *type = json_string_value(json_object_get(spec, "type"));
        json_object_set_new(obj, "type", json_string(type && type[0] ? type : "Opaque"));
    }
    if (opt_flag(opts, gopts, "immutable"))
        json_object_set_new(obj, "immutable", json_true());
    if ((error = kz_res_new(&r, obj)) < 0)
        goto out;
    r->behavior = behavior;
    r->needs_hash = !opt_flag(opts, gopts, "disableNameSuffixHash");
    r->origin = json_pack(
        "{s:s, s:o}", "configuredIn", kz_build_kfile(b), "configuredBy",
        kz_buildmeta_by(strcmp(kind, "Secret") == 0 ? "SecretGenerator" : "ConfigMapGenerator",
                        NULL));
    error = kz_resmap_append(out, r, 1);
out:
    json_decref(g.data);
    json_decref(g.binary);
    return error;
}

int kz_generators_run(struct kz_build *b, const char *kdir, const json_t *kust,
                      struct kz_resmap *out)
{
    static const char *const fields[2][2] = {{"configMapGenerator", "ConfigMap"},
                                             {"secretGenerator", "Secret"}};
    const json_t *gopts = json_object_get(kust, "generatorOptions");
    int error;

    for (int f = 0; f < 2; f++) {
        const json_t *list = json_object_get(kust, fields[f][0]);
        size_t i;
        json_t *spec;
        if (list == NULL || json_is_null(list))
            continue;
        if (!json_is_array(list))
            return gf_error_set(GF_EINVAL, "'%s' must be a list", fields[f][0]);
        json_array_foreach((json_t *)list, i, spec)
        {
            if ((error = kz_generators_one(b, kdir, fields[f][1], spec, gopts, out)) < 0)
                return gf_error_wrap(error, "%s", fields[f][0]);
        }
    }
    return 0;
}

/* ---- create / merge / replace into the accumulated resources ---- */

static void merge_string_map(json_t *obj, const char *field, const json_t *old_obj,
                             const char *container)
{
    json_t *oldc = container ? json_object_get(old_obj, container) : (json_t *)old_obj;
    json_t *newc = container ? json_object_get(obj, container) : obj;
    json_t *oldm = json_object_get(oldc, field);
    if (!json_is_object(oldm))
        return;
    if (newc == NULL) {
        newc = json_object();
        json_object_set_new(obj, container, newc);
    }
    json_t *m = json_deep_copy(oldm);
    json_t *newm = json_object_get(newc, field);
    if (json_is_object(newm))
        json_object_update(m, newm);
    json_object_set_new(newc, field, m);
}

static void copy_merge_meta(struct kz_res *nr, const struct kz_res *old)
{
    merge_string_map(nr->obj, "labels", old->obj, "metadata");
    merge_string_map(nr->obj, "annotations", old->obj, "metadata");
    kz_res_set_name(nr, kz_res_name(old));
    kz_res_set_namespace(nr, kz_res_namespace(old));
    json_decref(nr->prefixes);
    json_decref(nr->suffixes);
    nr->prefixes = json_deep_copy(old->prefixes);
    nr->suffixes = json_deep_copy(old->suffixes);
    nr->needs_hash = old->needs_hash && nr->needs_hash; /* either side may disable it */
    for (size_t i = 0; i < nr->nprev; i++)
        kz_id_clear(&nr->prev[i]);
    free(nr->prev);
    nr->prev = NULL;
    nr->nprev = 0;
    if (old->nprev > 0) {
        nr->prev = calloc(old->nprev, sizeof(*nr->prev));
        for (size_t i = 0; i < old->nprev; i++)
            kz_id_copy(&nr->prev[i], &old->prev[i]);
        nr->nprev = old->nprev;
    }
}

static int merge_one(struct kz_resmap *acc, struct kz_res *nr)
{
    struct kz_id id = {0};
    size_t idx[2];
    kz_res_cur_id(&id, nr);
    size_t n = kz_resmap_find_any_id(acc, &id, idx, 2);
    char *ids = kz_id_string(&id);
    int error = 0;

    kz_id_clear(&id);
    if (n == 0 && nr->behavior != KZ_BEHAVIOR_CREATE)
        error = gf_error_set(GF_ENOTFOUND, "id %s does not exist; cannot merge or replace", ids);
    else if (n == 0)
        error = kz_resmap_append(acc, nr, 1), nr = NULL;
    else if (n > 1)
        error =
            gf_error_set(GF_ECONFLICT, "found multiple objects that could accept merge of %s", ids);
    else if (nr->behavior == KZ_BEHAVIOR_CREATE)
        error = gf_error_set(GF_EEXISTS, "id %s exists; behavior must be merge or replace", ids);
    else {
        struct kz_res *old = acc->items[idx[0]];
        copy_merge_meta(nr, old);
        if (nr->behavior == KZ_BEHAVIOR_MERGE) {
            json_decref(nr->origin);
            nr->origin = json_deep_copy(old->origin);
            merge_string_map(nr->obj, "data", old->obj, NULL);
            merge_string_map(nr->obj, "binaryData", old->obj, NULL);
        }
        kz_res_free(old);
        acc->items[idx[0]] = nr;
        nr = NULL;
    }
    free(ids);
    kz_res_free(nr);
    return error;
}

int kz_generators_merge_into(struct kz_resmap *acc, struct kz_resmap *gen)
{
    int error = 0;
    size_t i;

    for (i = 0; i < gen->len && error == 0; i++) {
        error = merge_one(acc, gen->items[i]);
        gen->items[i] = NULL;
    }
    for (; i < gen->len; i++)
        kz_res_free(gen->items[i]);
    free(gen->items);
    kz_resmap_init(gen);
    return error;
}
