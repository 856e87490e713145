/* build.c -- building a kustomization: load, accumulate resources and components, run the steps */
#include "session.h"

#include "gitfleet/error.h"
#include "gitfleet/yaml_parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KZ_MAX_DEPTH 64

struct kz_build {
    hub_filesrc *src;
    hub_kustomize_session *session;
    const char *stack[KZ_MAX_DEPTH]; /* directories being built, for cycles */
    size_t depth;
    struct kz_dep *deps; /* directories read by the base being built */
    size_t ndeps;
    const char *kfile; /* the kustomization file being built (root-relative) */
    json_t *openapi;   /* the custom schema in effect: the first `openapi: {path}` met */
    int schema_set;    /* a schema (custom or a built-in version) is chosen for the build */
};

const json_t *kz_build_openapi(const struct kz_build *b)
{
    return b->openapi;
}

const char *kz_build_kfile(const struct kz_build *b)
{
    return b->kfile;
}

/* ---- files ---- */

static int within(const char *dir, const char *path)
{
    size_t n = strlen(dir);
    return n == 0 || (strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0'));
}

static const char *shown(const char *path)
{
    return path[0] ? path : ".";
}

int kz_build_read(struct kz_build *b, const char *kdir, const char *path, char **out,
                  size_t *len_out, char **resolved_out)
{
    char *joined = NULL;
    int error;

    *out = NULL;
    if ((error = hub_filesrc_join(&joined, kdir, path)) < 0)
        return error;
    if (!within(kdir, joined)) {
        error = gf_error_set(GF_EPERM, "security; file '%s' is not in or below '%s'", joined,
                             shown(kdir));
        free(joined);
        return error;
    }
    error = hub_filesrc_read(b->src, joined, out, len_out);
    if (error == GF_ENOTFOUND)
        gf_error_set(error, "%s: no such file or directory", joined);
    if (error == 0 && resolved_out != NULL)
        *resolved_out = joined;
    else
        free(joined);
    return error;
}

/* The cache key of a file or directory: its content id where the source
 * has them, else the source and the path. */
static char *cache_key(struct kz_build *b, const char *tag, const char *path)
{
    char cid[65];
    if (hub_filesrc_content_id(b->src, path, cid) == 0)
        return kz_printf("%s:%s:%s", tag, path, cid);
    gf_error_clear();
    /* '@': good only while this source lives (hub_kustomize_session_sweep) */
    return kz_printf("@%s:%p:%s", tag, (void *)b->src, path);
}

static int read_yaml_at(struct kz_build *b, const char *joined, json_t **out, int flags)
{
    char *key = cache_key(b, "f", joined), *text = NULL;
    size_t len;
    int error;

    if ((*out = kz_session_file_get(b->session, key)) != NULL) {
        free(key);
        return 0;
    }
    if ((error = hub_filesrc_read(b->src, joined, &text, &len)) == 0) {
        error = gf_yaml_parse(out, text, len, joined, NULL, flags);
        if (error == 0)
            kz_session_file_put(b->session, key, *out);
    } else if (error == GF_ENOTFOUND) {
        gf_error_set(error, "%s: no such file or directory", joined);
    }
    free(text);
    free(key);
    return error;
}

int kz_build_read_yaml(struct kz_build *b, const char *kdir, const char *path, json_t **out)
{
    char *joined = NULL;
    int error;

    *out = NULL;
    if ((error = hub_filesrc_join(&joined, kdir, path)) < 0)
        return error;
    if (!within(kdir, joined))
        error = gf_error_set(GF_EPERM, "security; file '%s' is not in or below '%s'", joined,
                             shown(kdir));
    else
        error = read_yaml_at(b, joined, out, 0);
    free(joined);
    return error;
}

/* ---- the kustomization file ---- */

static const char *const kust_names[] = {"kustomization.yaml", "kustomization.yml",
                                         "Kustomization"};

static int nonempty(const json_t *v)
{
    return v != NULL && !json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 0) &&
           !(json_is_object(v) && json_object_size(v) == 0) &&
           !(json_is_string(v) && json_string_value(v)[0] == '\0');
}

/* Fields gitfleet refuses rather than ignores. */
static int check_unsupported(const json_t *k, const char *file)
{
    static const char *const refused[][2] = {
        {"helmCharts", "helm charts are not supported"},
        {"helmGlobals", "helm charts are not supported"},
        {"helmChartInflationGenerator", "helm charts are not supported"},
        {"validators", "validator plugins are not supported"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (nonempty(json_object_get(k, refused[i][0])))
            return gf_error_set(GF_EUNSUPPORTED, "%s: field '%s': %s", file, refused[i][0],
                                refused[i][1]);
    return 0;
}

static int find_kust_file(struct kz_build *b, const char *dir, char **path_out)
{
    char *found = NULL;
    int count = 0;

    *path_out = NULL;
    for (size_t i = 0; i < 3; i++) {
        char *p = NULL;
        enum hub_filesrc_type t = HUB_FILESRC_NONE;
        int error = hub_filesrc_join(&p, dir, kust_names[i]);
        if (error == 0)
            error = hub_filesrc_stat(b->src, p, &t);
        if (error < 0) {
            free(p);
            free(found);
            return error;
        }
        if (t == HUB_FILESRC_FILE && count++ == 0)
            found = p;
        else
            free(p);
    }
    if (count > 1) {
        free(found);
        return gf_error_set(GF_EINVAL, "Found multiple kustomization files under: %s", shown(dir));
    }
    if (count == 0)
        return gf_error_set(GF_ENOTFOUND,
                            "unable to find one of 'kustomization.yaml', 'kustomization.yml' or "
                            "'Kustomization' in directory '%s'",
                            shown(dir));
    *path_out = found;
    return 0;
}

static int check_kind(const json_t *k, const char *file, int *component)
{
    const char *kind = json_string_value(json_object_get(k, "kind"));
    const char *api = json_string_value(json_object_get(k, "apiVersion"));

    *component = kind != NULL && strcmp(kind, "Component") == 0;
    if (kind != NULL && kind[0] && !*component && strcmp(kind, "Kustomization") != 0)
        return gf_error_set(
            GF_EINVAL, "%s: unknown kind '%s' (expected Kustomization or Component)", file, kind);
    if (*component && api != NULL && strcmp(api, "kustomize.config.k8s.io/v1alpha1") != 0)
        return gf_error_set(GF_EINVAL,
                            "%s: apiVersion for Component should be "
                            "kustomize.config.k8s.io/v1alpha1",
                            file);
    if (!*component && api != NULL && api[0] && strcmp(api, "kustomize.config.k8s.io/v1beta1") != 0)
        return gf_error_set(GF_EINVAL,
                            "%s: apiVersion for Kustomization should be "
                            "kustomize.config.k8s.io/v1beta1",
                            file);
    return 0;
}

static int load_kust_uncached(struct kz_build *b, const char *dir, json_t **out, char **file_out,
                              int *component)
{
    char *file = NULL;
    json_t *docs = NULL;
    int error;

    *out = NULL;
    if ((error = find_kust_file(b, dir, &file)) < 0)
        return error;
    if ((error = read_yaml_at(b, file, &docs, GF_YAML_LAST_KEY_WINS | GF_YAML_V2_TYPING)) < 0)
        goto out;
    if (json_array_size(docs) > 1) {
        error = gf_error_set(GF_EINVAL, "%s: a kustomization must be one YAML document", file);
        goto out;
    }
    json_t *k = json_array_size(docs) ? json_array_get(docs, 0) : NULL;
    if (k != NULL && !json_is_object(k)) {
        error = gf_error_set(GF_EINVAL, "%s: a kustomization must be a map", file);
        goto out;
    }
    k = k ? json_incref(k) : json_object();
    if ((error = kz_schema_check(k, file)) < 0 || (error = check_unsupported(k, file)) < 0 ||
        (error = check_kind(k, file, component)) < 0) {
        json_decref(k);
        goto out;
    }
    *out = k;
    *file_out = file;
    file = NULL;
out:
    json_decref(docs);
    free(file);
    return error;
}

/* The kustomization of `dir`, checked; cached per session as [file, kust, component]
 * (keyed by the directory's content id), since every build reads it more than once. */
static int load_kust(struct kz_build *b, const char *dir, json_t **out, char **file_out,
                     int *component)
{
    char *key = cache_key(b, "k", dir);
    json_t *hit = kz_session_file_get(b->session, key);
    int error = 0;

    if (hit != NULL) {
        *file_out = strdup(json_string_value(json_array_get(hit, 0)));
        *out = json_incref(json_array_get(hit, 1));
        *component = json_is_true(json_array_get(hit, 2));
    } else if ((error = load_kust_uncached(b, dir, out, file_out, component)) == 0) {
        hit = json_pack("[s, O, b]", *file_out, *out, *component);
        kz_session_file_put(b->session, key, hit);
    }
    json_decref(hit);
    free(key);
    return error;
}

/* ---- accumulating ---- */

static int accumulate(struct kz_build *b, const char *dir, struct kz_base *acc, int as_component);

static int is_remote(const char *p)
{
    return strstr(p, "://") != NULL || strncmp(p, "github.com/", 11) == 0 ||
           strncmp(p, "git@", 4) == 0 || strncmp(p, "gitlab.com/", 11) == 0 ||
           strncmp(p, "bitbucket.org/", 14) == 0;
}

static int add_resource_doc(struct kz_base *acc, json_t *doc, const char *file)
{
    struct kz_res *r;
    int error;

    if (json_is_null(doc))
        return 0;
    if (!json_is_object(doc))
        return gf_error_set(GF_EINVAL, "%s: a resource must be a map", file);
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    if (kind == NULL || kind[0] == '\0')
        return gf_error_set(GF_EINVAL, "%s: missing Resource metadata: a resource needs a kind",
                            file);
    size_t klen = strlen(kind);
    if (strcmp(kind, "List") == 0 || (klen > 4 && strcmp(kind + klen - 4, "List") == 0 &&
                                      json_is_array(json_object_get(doc, "items")))) {
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(doc, "items"), i, item)
        {
            if ((error = add_resource_doc(acc, item, file)) < 0)
                return error;
        }
        return 0;
    }
    if ((error = kz_res_new(&r, json_deep_copy(doc))) < 0)
        return error;
    r->origin = json_pack("{s:s}", "path", file);
    if ((error = kz_resmap_append(&acc->res, r, 1)) < 0)
        return gf_error_wrap(error, "%s", file);
    return 0;
}

static int add_resource_file(struct kz_build *b, const char *kdir, const char *joined,
                             struct kz_base *acc)
{
    json_t *docs = NULL, *doc;
    size_t i;
    int error;

    if (!within(kdir, joined))
        return gf_error_set(GF_EPERM, "security; file '%s' is not in or below '%s'", joined,
                            shown(kdir));
    if ((error = read_yaml_at(b, joined, &docs, 0)) < 0)
        return error;
    json_array_foreach(docs, i, doc)
    {
        if ((error = add_resource_doc(acc, doc, joined)) < 0)
            break;
    }
    json_decref(docs);
    return error;
}

static int merge_vars(json_t *into, const json_t *vars, const char *where)
{
    size_t i, j;
    json_t *v, *w;

    json_array_foreach((json_t *)vars, i, v)
    {
        const char *name = json_string_value(json_object_get(v, "name"));
        json_array_foreach(into, j, w)
        {
            const char *other = json_string_value(json_object_get(w, "name"));
            if (name && other && strcmp(name, other) == 0)
                return gf_error_set(GF_EINVAL, "%s: var '%s' already encountered", where, name);
        }
        json_array_append(into, v);
    }
    return 0;
}

static int add_deps(struct kz_build *b, const struct kz_base *base)
{
    for (size_t i = 0; i < base->ndeps; i++) {
        b->deps = realloc(b->deps, (b->ndeps + 1) * sizeof(*b->deps));
        b->deps[b->ndeps].path = strdup(base->deps[i].path);
        memcpy(b->deps[b->ndeps].cid, base->deps[i].cid, 65);
        b->ndeps++;
    }
    return 0;
}

/* Is a cached base still what the source holds (every directory it read unchanged)? */
static int base_fresh(struct kz_build *b, const struct kz_base *base)
{
    for (size_t i = 0; i < base->ndeps; i++) {
        char cid[65];
        if (base->deps[i].cid[0] == '\0')
            continue;
        if (hub_filesrc_content_id(b->src, base->deps[i].path, cid) < 0 ||
            strcmp(cid, base->deps[i].cid) != 0) {
            gf_error_clear();
            return 0;
        }
    }
    return 1;
}

static int copy_base(struct kz_base **out, const struct kz_base *base)
{
    struct kz_base *c = calloc(1, sizeof(*c));
    int error;

    if (c == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    c->component = base->component;
    c->vars = json_copy(base->vars);
    if ((error = kz_resmap_copy(&c->res, &base->res)) < 0 ||
        (c->tc = kz_tconfig_hold(base->tc)) == NULL) {
        error = error < 0 ? error : gf_error_set(GF_EINVAL, "a base without configuration");
        kz_base_free(c);
        return error;
    }
    *out = c;
    return 0;
}

static int in_stack(struct kz_build *b, const char *dir)
{
    for (size_t i = 0; i < b->depth; i++)
        if (strcmp(b->stack[i], dir) == 0)
            return 1;
    return 0;
}

/* Build a kustomization directory used as a resource (cached per session). */
static int build_base(struct kz_build *b, const char *dir, struct kz_base **out)
{
    char *key = cache_key(b, "b", dir);
    const struct kz_base *cached = kz_session_base_get(b->session, key);
    struct kz_dep *saved_deps = b->deps;
    size_t saved_n = b->ndeps;
    struct kz_base *base = NULL;
    int error;

    *out = NULL;
    /* a schema already in effect changes how the base merges: no cache then */
    int cacheable = b->openapi == NULL && !b->schema_set;
    if (cacheable && cached != NULL && base_fresh(b, cached)) {
        kz_session_count_base(b->session, 1);
        free(key);
        add_deps(b, cached);
        if (cached->openapi != NULL) {
            b->openapi = json_incref(cached->openapi);
            b->schema_set = 1;
        }
        return copy_base(out, cached);
    }
    kz_session_count_base(b->session, 0);
    base = calloc(1, sizeof(*base));
    base->vars = json_array();
    b->deps = NULL;
    b->ndeps = 0;
    error = accumulate(b, dir, base, 0);
    base->deps = b->deps;
    base->ndeps = b->ndeps;
    b->deps = saved_deps;
    b->ndeps = saved_n;
    if (error < 0) {
        kz_base_free(base);
        free(key);
        return error;
    }
    add_deps(b, base);
    struct kz_base *copy = NULL;
    /* a base that chose a built-in version leaves no trace a cache hit could replay */
    if (b->schema_set && b->openapi == NULL)
        cacheable = 0;
    if (cacheable && (error = copy_base(&copy, base)) == 0) {
        copy->openapi = json_incref(b->openapi);
        copy->deps = base->deps;
        copy->ndeps = base->ndeps;
        base->deps = NULL;
        base->ndeps = 0;
        kz_session_base_put(b->session, key, copy);
    }
    free(key);
    *out = base;
    return error;
}

static int add_resource_dir(struct kz_build *b, const char *joined, const char *entry,
                            struct kz_base *acc)
{
    struct kz_base *sub = NULL;
    int error;

    if ((error = build_base(b, joined, &sub)) < 0)
        return gf_error_wrap(error, "accumulating resources from '%s'", entry);
    if (sub->component) {
        kz_base_free(sub);
        return gf_error_set(GF_EINVAL, "expected kind != 'Component' for path '%s'", joined);
    }
    for (size_t i = 0; i < sub->res.len && error == 0; i++) {
        error = kz_resmap_append(&acc->res, sub->res.items[i], 1);
        sub->res.items[i] = NULL;
        if (error < 0) {
            for (size_t k = i + 1; k < sub->res.len; k++) {
                kz_res_free(sub->res.items[k]);
                sub->res.items[k] = NULL;
            }
        }
    }
    sub->res.len = 0;
    if (error == 0)
        error = kz_tconfig_merge(&acc->tc, sub->tc);
    if (error == 0)
        error = merge_vars(acc->vars, sub->vars, joined);
    kz_base_free(sub);
    return error;
}

static int resolve_entry(struct kz_build *b, const char *kdir, const char *entry, const char *field,
                         char **joined_out, enum hub_filesrc_type *type)
{
    int error;

    *joined_out = NULL;
    if (is_remote(entry))
        return gf_error_set(GF_EUNSUPPORTED, "%s: '%s': remote resources are not supported", field,
                            entry);
    if ((error = hub_filesrc_join(joined_out, kdir, entry)) < 0)
        return gf_error_wrap(error, "%s", field);
    if ((error = hub_filesrc_stat(b->src, *joined_out, type)) < 0)
        return gf_error_wrap(error, "%s: '%s'", field, entry);
    if (*type == HUB_FILESRC_NONE)
        return gf_error_set(GF_ENOTFOUND, "accumulating %s: '%s': no such file or directory (%s)",
                            field, entry, *joined_out);
    return 0;
}

static int accumulate_resources(struct kz_build *b, const char *kdir, const json_t *list,
                                struct kz_base *acc)
{
    size_t i;
    json_t *e;
    int error = 0;

    json_array_foreach((json_t *)list, i, e)
    {
        char *joined = NULL;
        enum hub_filesrc_type type;
        if (!json_is_string(e))
            return gf_error_set(GF_EINVAL, "resources: entries must be strings");
        error = resolve_entry(b, kdir, json_string_value(e), "resources", &joined, &type);
        if (error == 0 && type == HUB_FILESRC_DIR)
            error = add_resource_dir(b, joined, json_string_value(e), acc);
        else if (error == 0)
            error = add_resource_file(b, kdir, joined, acc);
        free(joined);
        if (error < 0)
            return error;
    }
    return 0;
}

static int accumulate_components(struct kz_build *b, const char *kdir, const json_t *list,
                                 struct kz_base *acc)
{
    size_t i;
    json_t *e;
    int error = 0;

    json_array_foreach((json_t *)list, i, e)
    {
        char *joined = NULL;
        enum hub_filesrc_type type;
        if (!json_is_string(e))
            return gf_error_set(GF_EINVAL, "components: entries must be strings");
        error = resolve_entry(b, kdir, json_string_value(e), "components", &joined, &type);
        if (error == 0 && type != HUB_FILESRC_DIR)
            error =
                gf_error_set(GF_EINVAL, "components: '%s' must be a directory holding a Component",
                             json_string_value(e));
        else if (error == 0)
            error = accumulate(b, joined, acc, 1);
        free(joined);
        if (error < 0)
            return error;
    }
    return 0;
}

static int load_configurations(struct kz_build *b, const char *kdir, const json_t *list,
                               struct kz_base *acc)
{
    size_t i, k;
    json_t *e, *d;
    int error = 0;

    json_array_foreach((json_t *)list, i, e)
    {
        json_t *docs = NULL;
        if (!json_is_string(e))
            return gf_error_set(GF_EINVAL, "configurations: entries must be strings");
        if ((error = kz_build_read_yaml(b, kdir, json_string_value(e), &docs)) < 0)
            return gf_error_wrap(error, "configurations");
        json_array_foreach(docs, k, d)
        {
            if ((error = kz_tconfig_merge_doc(&acc->tc, d, json_string_value(e))) < 0)
                break;
        }
        json_decref(docs);
        if (error < 0)
            return error;
    }
    return 0;
}

int kz_build_configs(struct kz_build *b, const char *kdir, const char *entry, json_t **out,
                     json_t **files)
{
    char *joined = NULL;
    enum hub_filesrc_type type;
    struct kz_base *sub = NULL;
    int error;

    *out = NULL;
    if ((error = resolve_entry(b, kdir, entry, "plugin configuration", &joined, &type)) < 0) {
        free(joined);
        return error;
    }
    *files = json_array();
    if (type == HUB_FILESRC_FILE) {
        error = kz_build_read_yaml(b, kdir, entry, out);
        for (size_t i = 0; error == 0 && i < json_array_size(*out); i++)
            json_array_append_new(*files, json_string(joined));
        free(joined);
        return error;
    }
    if ((error = build_base(b, joined, &sub)) == 0) {
        *out = json_array();
        for (size_t i = 0; i < sub->res.len; i++) {
            const char *p = json_string_value(json_object_get(sub->res.items[i]->origin, "path"));
            json_array_append(*out, sub->res.items[i]->obj);
            json_array_append_new(*files, json_string(p ? p : joined));
        }
    }
    kz_base_free(sub);
    free(joined);
    return error;
}

/* ---- crds: field specs from OpenAPI definitions (x-kubernetes-* extensions) ---- */

static void crd_add(json_t *cfg, const char *key, const char *kind, const char *path)
{
    json_t *list = json_object_get(cfg, key);
    if (list == NULL)
        json_object_set_new(cfg, key, list = json_array());
    json_array_append_new(list, json_pack("{s:s, s:s}", "path", path, "kind", kind));
}

static void crd_walk(json_t *cfg, const json_t *defs, const char *type, const char *kind,
                     const char *path, int depth)
{
    const json_t *props =
        json_object_get(json_object_get(json_object_get(defs, type), "Schema"), "properties");
    const char *name;
    json_t *p;

    if (depth > 32)
        return;
    json_object_foreach((json_t *)props, name, p)
    {
        char *sub = path[0] ? kz_printf("%s/%s", path, name) : strdup(name);
        const char *ver =
            json_string_value(json_object_get(p, "x-kubernetes-object-ref-api-version"));
        const char *rkind = json_string_value(json_object_get(p, "x-kubernetes-object-ref-kind"));
        const char *ref = json_string_value(json_object_get(p, "$ref"));
        if (json_object_get(p, "x-kubernetes-annotation") != NULL)
            crd_add(cfg, "commonAnnotations", kind, sub);
        if (json_object_get(p, "x-kubernetes-label-selector") != NULL)
            crd_add(cfg, "commonLabels", kind, sub);
        if (json_object_get(p, "x-kubernetes-identity") != NULL)
            crd_add(cfg, "namePrefix", kind, sub);
        if (ver != NULL && rkind != NULL) {
            const char *key =
                json_string_value(json_object_get(p, "x-kubernetes-object-ref-name-key"));
            char *fp = kz_printf("%s/%s", sub, key ? key : "name");
            json_t *nr = json_object_get(cfg, "nameReference");
            if (nr == NULL)
                json_object_set_new(cfg, "nameReference", nr = json_array());
            json_array_append_new(nr,
                                  json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "kind", rkind, "version",
                                            ver, "fieldSpecs", "path", fp, "kind", kind));
            free(fp);
        }
        if (ref != NULL)
            crd_walk(cfg, defs, ref, kind, sub, depth + 1);
        free(sub);
    }
}

static int load_crds(struct kz_build *b, const char *kdir, const json_t *list, struct kz_base *acc)
{
    size_t i;
    json_t *e;
    int error = 0;

    json_array_foreach((json_t *)list, i, e)
    {
        json_t *docs = NULL, *cfg = json_object(), *def;
        const char *type;
        if (!json_is_string(e) ||
            (error = kz_build_read_yaml(b, kdir, json_string_value(e), &docs)) < 0) {
            json_decref(cfg);
            return error < 0 ? gf_error_wrap(error, "crds")
                             : gf_error_set(GF_EINVAL, "crds: entries must be strings");
        }
        const json_t *defs = json_array_get(docs, 0);
        if (json_array_size(docs) != 1 || !json_is_object(defs))
            error = gf_error_set(GF_EINVAL, "crds: %s: expected one map of OpenAPI definitions",
                                 json_string_value(e));
        json_object_foreach((json_t *)defs, type, def)
        {
            if (error == 0 && !json_is_object(def))
                error = gf_error_set(GF_EINVAL, "crds: %s: '%s' is not an OpenAPI definition",
                                     json_string_value(e), type);
            if (error < 0)
                break;
            const json_t *props = json_object_get(json_object_get(def, "Schema"), "properties");
            const char *dot = strrchr(type, '.');
            if (dot == NULL || json_object_get(props, "kind") == NULL ||
                json_object_get(props, "apiVersion") == NULL ||
                json_object_get(props, "metadata") == NULL)
                continue;
            crd_walk(cfg, defs, type, dot + 1, "", 0);
        }
        if (error == 0)
            error = kz_tconfig_merge_doc(&acc->tc, cfg, json_string_value(e));
        json_decref(cfg);
        json_decref(docs);
        if (error < 0)
            return error;
    }
    return 0;
}

/* ---- the transformer steps of one kustomization ---- */

static void fslist_add_all(struct kz_fslist *l, const struct kz_fslist *from)
{
    for (size_t i = 0; i < from->len; i++)
        kz_fslist_append(l, &from->items[i]);
}

/* The `labels` entries: metadata only, or with templates, or with selectors too. */
static int run_label_entries(const json_t *labels, struct kz_base *acc)
{
    struct kz_fieldspec meta = {NULL, NULL, NULL, (char *[]){"metadata", "labels"}, 2, 1};
    size_t i;
    json_t *e;
    int error = 0;

    json_array_foreach((json_t *)labels, i, e)
    {
        struct kz_fslist l = {0};
        const json_t *pairs = json_object_get(e, "pairs");
        if (!json_is_object(pairs))
            continue;
        if (json_is_true(json_object_get(e, "includeSelectors")))
            fslist_add_all(&l, &acc->tc->common_labels);
        if (json_is_true(json_object_get(e, "includeSelectors")) ||
            json_is_true(json_object_get(e, "includeTemplates")))
            fslist_add_all(&l, &acc->tc->template_labels);
        kz_fslist_append(&l, &meta);
        fslist_add_all(&l, &acc->tc->labels);
        if ((error = kz_fslist_parse(&l, json_object_get(e, "fields"), "labels.fields")) == 0)
            error = kz_transform_labels(&acc->res, pairs, &l);
        kz_fslist_free(&l);
        if (error < 0)
            break;
    }
    return error;
}

/* `labels` entries first, then commonLabels (kustomize's order). */
static int run_labels(const json_t *k, struct kz_base *acc)
{
    const json_t *common = json_object_get(k, "commonLabels");
    struct kz_fieldspec meta = {NULL, NULL, NULL, (char *[]){"metadata", "labels"}, 2, 1};
    struct kz_fslist l = {0};
    int error;

    if ((error = run_label_entries(json_object_get(k, "labels"), acc)) < 0 || !nonempty(common))
        return error;
    kz_fslist_append(&l, &meta);
    fslist_add_all(&l, &acc->tc->common_labels);
    fslist_add_all(&l, &acc->tc->template_labels);
    error = kz_transform_labels(&acc->res, common, &l);
    kz_fslist_free(&l);
    return error;
}

/* Note `count` runs of builtin transformer `kind` on every resource (buildMetadata). */
static void noted(struct kz_build *b, struct kz_base *acc, const char *kind, size_t count)
{
    for (size_t i = 0; i < count; i++)
        kz_buildmeta_transformed(&acc->res, b->kfile, kz_buildmeta_by(kind, NULL));
}

static size_t list_len(const json_t *k, const char *field)
{
    const json_t *v = json_object_get(k, field);
    return json_is_array(v) ? json_array_size(v) : 0;
}

static size_t label_runs(const json_t *k)
{
    return list_len(k, "labels") + (nonempty(json_object_get(k, "commonLabels")) ? 1 : 0);
}

static int run_names(struct kz_build *b, const json_t *k, struct kz_base *acc)
{
    const char *s;
    int error = 0;

    if ((s = json_string_value(json_object_get(k, "namespace"))) != NULL && s[0]) {
        error =
            kz_transform_namespace(&acc->res, s, &acc->tc->namespace, 0, KZ_SUBJECTS_DEFAULT_ONLY);
        noted(b, acc, "NamespaceTransformer", 1);
    }
    s = json_string_value(json_object_get(k, "namePrefix"));
    if (error == 0 && (error = kz_transform_affix(&acc->res, s, 1, &acc->tc->name_prefix)) == 0)
        noted(b, acc, "PrefixTransformer", s && s[0] ? 1 : 0);
    s = json_string_value(json_object_get(k, "nameSuffix"));
    if (error == 0 && (error = kz_transform_affix(&acc->res, s, 0, &acc->tc->name_suffix)) == 0)
        noted(b, acc, "SuffixTransformer", s && s[0] ? 1 : 0);
    return error;
}

static int run_transformers(struct kz_build *b, const char *kdir, const json_t *k,
                            struct kz_base *acc)
{
    const json_t *v;
    int error = 0;

    if (nonempty(v = json_object_get(k, "patchesStrategicMerge"))) {
        error = kz_patches_sm_legacy(b, kdir, v, &acc->res);
        noted(b, acc, "PatchStrategicMergeTransformer", 1);
    }
    if (error == 0 && (error = kz_patches_apply(b, kdir, k, &acc->res)) == 0)
        noted(b, acc, "PatchTransformer", list_len(k, "patches"));
    if (error == 0)
        error = run_names(b, k, acc);
    if (error == 0 && (error = run_labels(k, acc)) == 0)
        noted(b, acc, "LabelTransformer", label_runs(k));
    if (error == 0 && nonempty(v = json_object_get(k, "commonAnnotations"))) {
        error = kz_transform_labels(&acc->res, v, &acc->tc->common_annotations);
        noted(b, acc, "AnnotationsTransformer", 1);
    }
    if (error == 0 && nonempty(v = json_object_get(k, "patchesJson6902"))) {
        error = kz_patches_json6902_legacy(b, kdir, v, &acc->res);
        noted(b, acc, "PatchJson6902Transformer", json_array_size(v));
    }
    if (error == 0 && nonempty(v = json_object_get(k, "replicas"))) {
        error = kz_transform_replicas(&acc->res, v, &acc->tc->replicas);
        noted(b, acc, "ReplicaCountTransformer", json_array_size(v));
    }
    if (error == 0 && nonempty(v = json_object_get(k, "images"))) {
        error = kz_transform_images(&acc->res, v, &acc->tc->images);
        noted(b, acc, "ImageTagTransformer", json_array_size(v));
    }
    if (error == 0 && nonempty(v = json_object_get(k, "replacements"))) {
        error = kz_replacements_apply(b, kdir, v, &acc->res);
        noted(b, acc, "ReplacementTransformer", 1);
    }
    if (error == 0 && nonempty(v = json_object_get(k, "transformers")))
        error = kz_plugins_run(b, kdir, v, 0, &acc->res);
    return error;
}

static int list_field(const json_t *k, const char *name, const json_t **out, const char *file)
{
    *out = json_object_get(k, name);
    if (*out == NULL || json_is_null(*out)) {
        *out = NULL;
        return 0;
    }
    if (!json_is_array(*out))
        return gf_error_set(GF_EINVAL, "%s: '%s' must be a list", file, name);
    return 0;
}

static int accumulate_body(struct kz_build *b, const char *dir, const json_t *k,
                           struct kz_base *acc)
{
    const json_t *res, *bases, *comps, *confs, *vars;
    struct kz_resmap gen;
    int error;

    if ((error = list_field(k, "resources", &res, "kustomization")) < 0 ||
        (error = list_field(k, "bases", &bases, "kustomization")) < 0 ||
        (error = list_field(k, "components", &comps, "kustomization")) < 0 ||
        (error = list_field(k, "configurations", &confs, "kustomization")) < 0 ||
        (error = list_field(k, "vars", &vars, "kustomization")) < 0)
        return error;
    /* kustomize v5 runs components after the generators, before the transformers */
    if ((res && (error = accumulate_resources(b, dir, res, acc)) < 0) ||
        (bases && (error = accumulate_resources(b, dir, bases, acc)) < 0) ||
        (confs && (error = load_configurations(b, dir, confs, acc)) < 0))
        return error;
    if (nonempty(json_object_get(k, "crds")) &&
        (error = load_crds(b, dir, json_object_get(k, "crds"), acc)) < 0)
        return error;
    kz_resmap_init(&gen);
    if ((error = kz_generators_run(b, dir, k, &gen)) < 0) {
        kz_resmap_clear(&gen);
        return error;
    }
    if ((error = kz_generators_merge_into(&acc->res, &gen)) < 0 ||
        (nonempty(json_object_get(k, "generators")) &&
         (error = kz_plugins_run(b, dir, json_object_get(k, "generators"), 1, &acc->res)) < 0) ||
        (comps && (error = accumulate_components(b, dir, comps, acc)) < 0) ||
        (error = run_transformers(b, dir, k, acc)) < 0)
        return error;
    if (vars != NULL)
        error = kz_vars_bind(&acc->res, vars);
    if (vars != NULL && error == 0)
        error = merge_vars(acc->vars, vars, dir);
    return error;
}

/* The schema of the build, as kyaml's SetSchema: the top kustomization's
 * `openapi` decides (a custom `path`, or a built-in `version`); below it the
 * first kustomization met that names one decides, and later ones are ignored
 * (their file must still load). Naming both is an error where it counts. */
static int load_openapi(struct kz_build *b, const char *dir, const json_t *oa, const char *file)
{
    const char *path = json_string_value(json_object_get(oa, "path"));
    const char *version = json_string_value(json_object_get(oa, "version"));
    int top = b->depth == 0;
    json_t *docs = NULL;
    int error;

    if (oa == NULL || json_is_null(oa))
        return 0;
    if (path != NULL && (error = kz_build_read_yaml(b, dir, path, &docs)) < 0)
        return gf_error_wrap(error, "%s: openapi", file);
    if (b->schema_set && !top) {
        json_decref(docs);
        return 0;
    }
    if (path != NULL && json_object_get(oa, "version") != NULL) {
        json_decref(docs);
        return gf_error_set(GF_EINVAL,
                            "%s: openapi: builtin version and custom schema provided, cannot use "
                            "both",
                            file);
    }
    if (path == NULL) {
        if (version == NULL || version[0] == '\0')
            return 0;
        if (strcmp(version, "v1.21.2") != 0)
            return gf_error_set(GF_EUNSUPPORTED,
                                "%s: openapi: version %s is not built in (only v1.21.2 is)", file,
                                version);
        json_decref(b->openapi);
        b->openapi = NULL;
        b->schema_set = 1;
        return 0;
    }
    if (json_array_size(docs) != 1 ||
        !json_is_object(json_object_get(json_array_get(docs, 0), "definitions"))) {
        json_decref(docs);
        return gf_error_set(GF_EINVAL, "%s: openapi: %s has no 'definitions'", file, path);
    }
    json_decref(b->openapi);
    b->openapi = json_incref(json_array_get(docs, 0));
    b->schema_set = 1;
    json_decref(docs);
    return 0;
}

static int record_dep(struct kz_build *b, const char *dir)
{
    char cid[65] = "";
    if (hub_filesrc_content_id(b->src, dir, cid) < 0) {
        gf_error_clear();
        cid[0] = '\0';
    }
    b->deps = realloc(b->deps, (b->ndeps + 1) * sizeof(*b->deps));
    b->deps[b->ndeps].path = strdup(dir);
    memcpy(b->deps[b->ndeps].cid, cid, 65);
    b->ndeps++;
    return 0;
}

static int accumulate(struct kz_build *b, const char *dir, struct kz_base *acc, int as_component)
{
    json_t *k = NULL;
    char *file = NULL;
    int component = 0, error;

    if (in_stack(b, dir))
        return gf_error_set(GF_EINVAL, "cycle detected: '%s' includes itself", shown(dir));
    if (b->depth >= KZ_MAX_DEPTH)
        return gf_error_set(GF_ETOOBIG, "kustomizations nest deeper than %d levels", KZ_MAX_DEPTH);
    if ((error = load_kust(b, dir, &k, &file, &component)) < 0)
        return error;
    record_dep(b, dir);
    if ((error = load_openapi(b, dir, json_object_get(k, "openapi"), file)) < 0)
        goto out;
    if (as_component && !component) {
        error = gf_error_set(GF_EINVAL,
                             "%s: expected kind 'Component' for path '%s' but got "
                             "'Kustomization'",
                             file, shown(dir));
        goto out;
    }
    if (acc->tc == NULL && (error = kz_tconfig_builtin(&acc->tc)) < 0)
        goto out;
    if (!as_component)
        acc->component = component;
    b->stack[b->depth++] = dir;
    const char *saved_kfile = b->kfile;
    b->kfile = file;
    error = accumulate_body(b, dir, k, acc);
    b->kfile = saved_kfile;
    b->depth--;
    if (error < 0)
        gf_error_wrap(error, "%s", file);
out:
    json_decref(k);
    free(file);
    return error;
}

/* ---- the top level ---- */

static int add_hashes(struct kz_resmap *m)
{
    int error;
    for (size_t i = 0; i < m->len; i++) {
        struct kz_res *r = m->items[i];
        char h[11];
        if (!r->needs_hash)
            continue;
        if ((error = kz_generators_hash(h, r->obj)) < 0 || (error = kz_res_store_prev(r)) < 0)
            return error;
        char *name = kz_printf("%s-%s", kz_res_name(r), h);
        kz_res_set_name(r, name);
        free(name);
    }
    return 0;
}

static int sort_output(struct kz_build *b, const char *dir, struct kz_resmap *m)
{
    json_t *k = NULL;
    char *file = NULL;
    int component, error;

    if ((error = load_kust(b, dir, &k, &file, &component)) < 0)
        return error;
    const json_t *so = json_object_get(k, "sortOptions");
    const char *order = json_string_value(json_object_get(so, "order"));
    const json_t *legacy = json_object_get(so, "legacySortOptions");
    if (so != NULL && !json_is_null(so) &&
        (order == NULL || (strcmp(order, "legacy") != 0 && strcmp(order, "fifo") != 0)))
        error = gf_error_set(
            GF_EINVAL, "%s: the field 'sortOptions.order' must be one of [fifo, legacy]", file);
    else if (so != NULL && !json_is_null(so) && strcmp(order, "fifo") == 0 && legacy != NULL &&
             !json_is_null(legacy))
        error = gf_error_set(GF_EINVAL,
                             "%s: the field 'sortOptions.legacySortOptions' is set but the "
                             "selected sort order is 'fifo', not 'legacy'",
                             file);
    else if (so != NULL && !json_is_null(so) && strcmp(order, "fifo") == 0)
        error = 0;
    else
        error = kz_order_legacy(m, json_object_get(so, "legacySortOptions"));
    json_decref(k);
    free(file);
    return error;
}

static int apply_build_metadata(struct kz_build *b, const char *dir, struct kz_resmap *m)
{
    json_t *k = NULL;
    char *file = NULL;
    int component, error;

    if ((error = load_kust(b, dir, &k, &file, &component)) < 0)
        return error;
    error = kz_buildmeta_apply(m, json_object_get(k, "buildMetadata"), dir);
    json_decref(k);
    free(file);
    return error;
}

/* kustomize rewrites annotations through a map of strings at the end of
 * every build: numbers and booleans there come out as strings. */
static void stringify_annotations(struct kz_resmap *m)
{
    for (size_t i = 0; i < m->len; i++) {
        json_t *a = json_object_get(json_object_get(m->items[i]->obj, "metadata"), "annotations");
        const char *key;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(a, tmp, key, v)
        {
            if (json_is_string(v) || json_is_object(v) || json_is_array(v))
                continue;
            char *s = json_is_null(v) ? strdup("") : kz_scalar_string(v);
            json_object_set_new(a, key, json_string(s ? s : ""));
            free(s);
        }
    }
}

/* Resources marked config.kubernetes.io/local-config: "true" feed the build
 * (name references, vars) but are not output. */
static void drop_local(struct kz_resmap *m)
{
    for (size_t i = 0; i < m->len;) {
        json_t *annos =
            json_object_get(json_object_get(m->items[i]->obj, "metadata"), "annotations");
        const char *v =
            json_string_value(json_object_get(annos, "config.kubernetes.io/local-config"));
        if (v != NULL && strcmp(v, "true") == 0)
            kz_resmap_remove_at(m, i);
        else
            i++;
    }
}

static int finish(struct kz_build *b, const char *dir, struct kz_base *acc, json_t **out)
{
    int error;

    if ((error = add_hashes(&acc->res)) < 0 || (error = kz_nameref_fix(&acc->res, acc->tc)) < 0 ||
        (error = kz_vars_resolve(&acc->res, acc->vars, acc->tc)) < 0 ||
        (error = sort_output(b, dir, &acc->res)) < 0 ||
        (error = apply_build_metadata(b, dir, &acc->res)) < 0)
        return error;
    drop_local(&acc->res);
    stringify_annotations(&acc->res);
    json_t *docs = json_array();
    for (size_t i = 0; i < acc->res.len; i++)
        json_array_append(docs, acc->res.items[i]->obj);
    *out = docs;
    return 0;
}

int hub_kustomize_build(json_t **out_docs, hub_filesrc *src, const char *dir,
                        const struct hub_kustomize_options *opts)
{
    struct kz_build b = {0};
    struct kz_base acc = {0};
    hub_kustomize_session *own = NULL;
    char *norm = NULL;
    int error;

    *out_docs = NULL;
    b.src = src;
    b.session = opts != NULL ? opts->session : NULL;
    if (b.session == NULL && (error = hub_kustomize_session_new(&own)) < 0)
        return error;
    if (b.session == NULL)
        b.session = own;
    acc.vars = json_array();
    if ((error = hub_filesrc_join(&norm, "", dir)) == 0 &&
        (error = accumulate(&b, norm, &acc, 0)) == 0)
        error = finish(&b, norm, &acc, out_docs);
    kz_resmap_clear(&acc.res);
    kz_tconfig_free(acc.tc);
    json_decref(acc.vars);
    json_decref(b.openapi);
    for (size_t i = 0; i < b.ndeps; i++)
        free(b.deps[i].path);
    free(b.deps);
    free(norm);
    hub_kustomize_session_free(own);
    return error;
}
