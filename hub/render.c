/* render.c -- an app's path into resources (plain manifests or kustomize), tracking, order, cache
 */
#include "render.h"

#include "gitfleet/error.h"
#include "gitfleet/hash.h"
#include "gitfleet/limits.h"
#include "gitfleet/k8s_schema.h"
#include "gitfleet/os.h"
#include "gitfleet/yaml_parse.h"
#include "kustomize/kustomize.h"
#include "secretpolicy.h"

#include <fnmatch.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RENDER_MAX_DEPTH       32 /* directory levels under an app's path */
#define RENDER_MAX_DOCS        100000
#define RENDER_MAX_GLOB        32    /* alternatives of one {a,b} pattern */
#define RENDER_MAX_PINNED      32    /* distinct targetRevisions on one cluster */
#define RENDER_MAX_PASS_PINNED 256   /* ... in one pass over the fleet */
#define CACHE_BUCKETS          16384 /* a fleet of 10,000 overlays: chains of one or two */
#define LABEL_APP              "gitfleet.io/app"
#define ANNOTATION_TRACK       "gitfleet.io/tracking-id"
#define ANNOTATION_WAVE        "argocd.argoproj.io/sync-wave"
#define ANNOTATION_WAVE_2      "gitfleet.io/sync-wave"
#define ANNOTATION_HOOK        "argocd.argoproj.io/hook"

/* ---- the render cache ---- */

struct cache_entry {
    struct cache_entry *next;
    char *key;     /* path and directory options */
    uint64_t hash; /* of the key: compared before the key (keys share long prefixes) */
    json_t *deps;  /* {path: content id or "-"} of everything the render read */
    json_t *docs;  /* the documents, before namespace and tracking */
    int used;
};

/* A tree at another revision, opened once per pass for every app that
 * names that revision (targetRevision: main on 10,000 clusters resolves
 * `main` once, not 10,000 times). */
struct pinned_tree {
    struct pinned_tree *next;
    char *ref;
    char commit[41];
    hub_filesrc *tree;
};

/* A kustomize session not in use by any render right now. */
struct idle_session {
    struct idle_session *next;
    hub_kustomize_session *session;
};

struct hub_render_cache {
    pthread_mutex_t lock; /* everything below: renders run on many threads */
    struct cache_entry *buckets[CACHE_BUCKETS];
    unsigned long hits, misses;
    /* Parsed files and built kustomize bases (many overlays of one base),
     * one session per concurrent render (a session is single-threaded);
     * swept at the end of each pass, which keeps what that pass used (the
     * next commit's unchanged overlays parse once, not once per commit). */
    struct idle_session *sessions;
    struct pinned_tree *pinned;
    size_t n_pinned;
    /* Keys being rendered right now: another render of the same key waits
     * for that one and takes its result (a shared base renders once). */
    struct in_flight *rendering;
    pthread_cond_t rendered;
};

struct in_flight {
    struct in_flight *next;
    const char *key;
};

int hub_render_cache_new(struct hub_render_cache **out)
{
    if ((*out = calloc(1, sizeof(**out))) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    pthread_mutex_init(&(*out)->lock, NULL);
    pthread_cond_init(&(*out)->rendered, NULL);
    return 0;
}

void hub_render_cache_stats(const struct hub_render_cache *cache, unsigned long *hits_out,
                            unsigned long *misses_out)
{
    *hits_out = cache ? cache->hits : 0;
    *misses_out = cache ? cache->misses : 0;
}

/* Drop what lives for one pass: sessions' unused entries, trees at other
 * revisions. */
static void cache_end_pass(struct hub_render_cache *cache)
{
    for (struct idle_session *s = cache->sessions; s != NULL; s = s->next)
        hub_kustomize_session_sweep(s->session);
    for (struct idle_session *s = cache->sessions; s != NULL; s = s->next)
        for (struct idle_session *t = cache->sessions; t != NULL; t = t->next)
            if (t != s)
                hub_kustomize_session_share_files(s->session, t->session);
    while (cache->pinned) {
        struct pinned_tree *p = cache->pinned;
        cache->pinned = p->next;
        free(p->ref);
        hub_filesrc_free(p->tree);
        free(p);
    }
    cache->n_pinned = 0;
}

/* A session for one render, used by no other thread until given back. */
static int session_take(hub_kustomize_session **out, struct hub_render_cache *cache)
{
    pthread_mutex_lock(&cache->lock);
    struct idle_session *s = cache->sessions;
    if (s)
        cache->sessions = s->next;
    pthread_mutex_unlock(&cache->lock);
    if (s == NULL)
        return hub_kustomize_session_new(out);
    *out = s->session;
    free(s);
    return 0;
}

static void session_give(struct hub_render_cache *cache, hub_kustomize_session *session)
{
    struct idle_session *s = malloc(sizeof(*s));

    if (s == NULL) {
        hub_kustomize_session_free(session);
        return;
    }
    s->session = session;
    pthread_mutex_lock(&cache->lock);
    s->next = cache->sessions;
    cache->sessions = s;
    pthread_mutex_unlock(&cache->lock);
}

static void entry_free(struct cache_entry *e)
{
    free(e->key);
    json_decref(e->deps);
    json_decref(e->docs);
    free(e);
}

void hub_render_cache_sweep(struct hub_render_cache *cache)
{
    if (cache != NULL)
        cache_end_pass(cache);
    for (size_t i = 0; cache && i < CACHE_BUCKETS; i++) {
        struct cache_entry **link = &cache->buckets[i];
        while (*link) {
            struct cache_entry *e = *link;
            if (!e->used) {
                *link = e->next;
                entry_free(e);
            } else {
                e->used = 0;
                link = &e->next;
            }
        }
    }
}

void hub_render_cache_free(struct hub_render_cache *cache)
{
    for (size_t i = 0; cache && i < CACHE_BUCKETS; i++)
        while (cache->buckets[i]) {
            struct cache_entry *e = cache->buckets[i];
            cache->buckets[i] = e->next;
            entry_free(e);
        }
    if (cache != NULL) {
        cache_end_pass(cache);
        while (cache->sessions) {
            struct idle_session *s = cache->sessions;
            cache->sessions = s->next;
            hub_kustomize_session_free(s->session);
            free(s);
        }
        pthread_cond_destroy(&cache->rendered);
        pthread_mutex_destroy(&cache->lock);
    }
    free(cache);
}

static size_t bucket_of(uint64_t hash)
{
    return (size_t)(hash % CACHE_BUCKETS);
}

/* The content id of `path` in `tree`, "-" when it does not exist. */
static void dep_id(char out[65], hub_filesrc *tree, const char *path)
{
    if (hub_filesrc_content_id(tree, path, out) < 0)
        snprintf(out, 65, "-");
}

static int deps_still_hold(const json_t *deps, hub_filesrc *tree)
{
    const char *path;
    json_t *id;
    char now[65];

    json_object_foreach((json_t *)deps, path, id)
    {
        dep_id(now, tree, path);
        if (strcmp(now, json_string_value(id)) != 0)
            return 0;
    }
    return 1;
}

static int is_in_flight(const struct hub_render_cache *cache, const char *key)
{
    for (const struct in_flight *f = cache->rendering; f; f = f->next)
        if (strcmp(f->key, key) == 0)
            return 1;
    return 0;
}

/* The cached documents of `key` if still valid; counts the hit or miss.
 * On a miss, `mine` is registered as rendering `key` until cache_done(). */
static json_t *cache_get(struct hub_render_cache *cache, const char *key, hub_filesrc *tree,
                         struct in_flight *mine)
{
    json_t *docs = NULL;
    uint64_t hash = gf_hash_string(key);

    pthread_mutex_lock(&cache->lock);
    while (is_in_flight(cache, key))
        pthread_cond_wait(&cache->rendered, &cache->lock);
    for (struct cache_entry *e = cache->buckets[bucket_of(hash)]; e && !docs; e = e->next)
        if (e->hash == hash && strcmp(e->key, key) == 0 && deps_still_hold(e->deps, tree)) {
            e->used = 1;
            docs = json_incref(e->docs);
        }
    if (docs)
        cache->hits++;
    else {
        cache->misses++;
        mine->key = key;
        mine->next = cache->rendering;
        cache->rendering = mine;
    }
    pthread_mutex_unlock(&cache->lock);
    return docs;
}

/* The render registered by cache_get() finished (well or not). */
static void cache_done(struct hub_render_cache *cache, struct in_flight *mine)
{
    pthread_mutex_lock(&cache->lock);
    for (struct in_flight **link = &cache->rendering; *link; link = &(*link)->next)
        if (*link == mine) {
            *link = mine->next;
            break;
        }
    pthread_cond_broadcast(&cache->rendered);
    pthread_mutex_unlock(&cache->lock);
}

static void cache_put(struct hub_render_cache *cache, const char *key, json_t *deps, json_t *docs)
{
    struct cache_entry *e = calloc(1, sizeof(*e));

    if (e == NULL)
        return;
    e->hash = gf_hash_string(key);
    size_t b = bucket_of(e->hash);
    if ((e->key = strdup(key)) == NULL) {
        free(e);
        return; /* not cached: the next render of it renders again */
    }
    e->deps = json_incref(deps);
    e->docs = json_incref(docs);
    e->used = 1;
    pthread_mutex_lock(&cache->lock);
    e->next = cache->buckets[b];
    cache->buckets[b] = e;
    pthread_mutex_unlock(&cache->lock);
}

/* ---- a file source that records what a render read ---- */

struct recorder {
    hub_filesrc base;
    hub_filesrc *inner;
    json_t *deps;
};

static void record(struct recorder *r, const char *path)
{
    char *norm = NULL, id[65];

    if (hub_filesrc_join(&norm, "", path) < 0)
        return;
    if (json_object_get(r->deps, norm) == NULL) {
        dep_id(id, r->inner, norm);
        json_object_set_new(r->deps, norm, json_string(id));
    }
    free(norm);
}

static int rec_stat(hub_filesrc *src, const char *path, enum hub_filesrc_type *type_out)
{
    struct recorder *r = (struct recorder *)src;
    record(r, path);
    return hub_filesrc_stat(r->inner, path, type_out);
}

static int rec_read(hub_filesrc *src, const char *path, char **out, size_t *len_out)
{
    struct recorder *r = (struct recorder *)src;
    record(r, path);
    return hub_filesrc_read(r->inner, path, out, len_out);
}

static int rec_list(hub_filesrc *src, const char *dir, char ***names_out, size_t *count_out)
{
    struct recorder *r = (struct recorder *)src;
    record(r, dir);
    return hub_filesrc_list(r->inner, dir, names_out, count_out);
}

static int rec_content_id(hub_filesrc *src, const char *path, char out[65])
{
    struct recorder *r = (struct recorder *)src;
    record(r, path);
    return hub_filesrc_content_id(r->inner, path, out);
}

static void rec_free(hub_filesrc *src)
{
    (void)src; /* lives on the stack of its user */
}

static const struct hub_filesrc_ops recorder_ops = {
    .stat = rec_stat,
    .read = rec_read,
    .list = rec_list,
    .content_id = rec_content_id,
    .free = rec_free,
};

/* ---- plain manifests ---- */

/* Argo CD's include/exclude: a glob over the path relative to the app's
 * path, where '*' also crosses '/', with one level of {a,b} alternatives. */
static int glob_match(const char *pattern, const char *rel)
{
    const char *open = strchr(pattern, '{'), *close = open ? strchr(open, '}') : NULL;
    char buf[1024];

    if (open == NULL || close == NULL)
        return fnmatch(pattern, rel, 0) == 0;
    const char *alt = open + 1;
    for (int n = 0; n < RENDER_MAX_GLOB && alt <= close; n++) {
        size_t altlen = strcspn(alt, ",}");
        if (alt + altlen > close)
            altlen = (size_t)(close - alt);
        snprintf(buf, sizeof(buf), "%.*s%.*s%s", (int)(open - pattern), pattern, (int)altlen, alt,
                 close + 1);
        if (glob_match(buf, rel))
            return 1;
        alt += altlen + 1;
    }
    return 0;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Append the documents of one parsed file; a `List` contributes its items. */
static int add_docs(json_t *docs, json_t *parsed, const char *path)
{
    json_t *doc;
    size_t i;

    json_array_foreach(parsed, i, doc)
    {
        const char *kind = json_string_value(json_object_get(doc, "kind"));
        json_t *items = json_object_get(doc, "items");
        if (json_is_null(doc))
            continue;
        if (kind != NULL && has_suffix(kind, "List") && json_is_array(items)) {
            if (add_docs(docs, items, path) < 0)
                return GF_EINVAL;
            continue;
        }
        if (json_array_size(docs) >= RENDER_MAX_DOCS)
            return gf_error_set(GF_ETOOBIG, "%s: more than %d documents", path, RENDER_MAX_DOCS);
        json_array_append(docs, doc);
    }
    return 0;
}

static int parse_file(json_t *docs, hub_filesrc *tree, const char *path)
{
    json_t *parsed = NULL;
    json_error_t jerr;
    char *data = NULL;
    size_t len = 0;
    int error;

    if ((error = hub_filesrc_read(tree, path, &data, &len)) < 0)
        return error;
    if (has_suffix(path, ".json")) {
        json_t *one = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
        if (one == NULL)
            error =
                gf_error_set(GF_EINVAL, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        else
            parsed = json_is_array(one) ? one : json_pack("[o]", one);
    } else {
        error = gf_yaml_parse(&parsed, data, len, path, NULL, 0);
    }
    free(data);
    if (error == 0)
        error = add_docs(docs, parsed, path);
    json_decref(parsed);
    return error;
}

static int wanted_file(const struct hub_app *app, const char *rel)
{
    if (!has_suffix(rel, ".yaml") && !has_suffix(rel, ".yml") && !has_suffix(rel, ".json"))
        return 0;
    if (app->include[0] && !glob_match(app->include, rel))
        return 0;
    return !(app->exclude[0] && glob_match(app->exclude, rel));
}

static int collect_plain(json_t *docs, hub_filesrc *tree, const struct hub_app *app,
                         const char *dir, const char *rel, int depth)
{
    char **names = NULL;
    size_t count = 0;
    int error;

    if (depth > RENDER_MAX_DEPTH)
        return gf_error_set(GF_ETOOBIG, "%s: directories nested too deep", dir);
    if ((error = hub_filesrc_list(tree, dir, &names, &count)) < 0)
        return error;
    for (size_t i = 0; i < count && error == 0; i++) {
        char *path = NULL, *relpath = NULL;
        enum hub_filesrc_type type = HUB_FILESRC_NONE;
        if ((error = hub_filesrc_join(&path, dir, names[i])) < 0 ||
            (error = hub_filesrc_join(&relpath, rel, names[i])) < 0 ||
            (error = hub_filesrc_stat(tree, path, &type)) < 0) {
        } else if (type == HUB_FILESRC_DIR && app->recurse) {
            error = collect_plain(docs, tree, app, path, relpath, depth + 1);
        } else if (type == HUB_FILESRC_FILE && wanted_file(app, relpath)) {
            error = parse_file(docs, tree, path);
        }
        free(path);
        free(relpath);
    }
    hub_filesrc_names_free(names, count);
    return error;
}

/* ---- kustomize ---- */

static int is_kustomization(hub_filesrc *tree, const char *dir)
{
    static const char *const names[] = {"kustomization.yaml", "kustomization.yml", "Kustomization"};
    enum hub_filesrc_type type;

    for (size_t i = 0; i < 3; i++) {
        char *path = NULL;
        if (hub_filesrc_join(&path, dir, names[i]) < 0)
            continue;
        int ok = hub_filesrc_stat(tree, path, &type) == 0 && type == HUB_FILESRC_FILE;
        free(path);
        if (ok)
            return 1;
    }
    return 0;
}

/* A kustomization, built by the native engine (kubectl kustomize's output).
 * With a cache, the pass's session shares built bases between overlays. */
static int render_kustomize(json_t **out, hub_filesrc *tree, const char *dir,
                            struct hub_render_cache *cache)
{
    struct hub_kustomize_options opts = {.session = NULL};
    int error;

    *out = NULL;
    if (cache != NULL && (error = session_take(&opts.session, cache)) < 0)
        return error;
    error = hub_kustomize_build(out, tree, dir, &opts);
    if (opts.session != NULL)
        session_give(cache, opts.session);
    return error < 0 ? gf_error_wrap(error, "kustomize build %s", dir) : 0;
}

/* ---- one app's documents ---- */

static int render_uncached(json_t **out, hub_filesrc *tree, const struct hub_app *app,
                           struct hub_render_cache *cache)
{
    enum hub_filesrc_type type = HUB_FILESRC_NONE;
    int error;

    *out = NULL;
    if ((error = hub_filesrc_stat(tree, app->path, &type)) < 0)
        return error;
    if (type != HUB_FILESRC_DIR)
        return gf_error_set(GF_ENOTFOUND, "spec.source.path: '%s' %s in %s", app->path,
                            type == HUB_FILESRC_NONE ? "does not exist" : "is not a directory",
                            tree->description);
    if (is_kustomization(tree, app->path))
        return render_kustomize(out, tree, app->path, cache);
    *out = json_array();
    if ((error = collect_plain(*out, tree, app, app->path, "", 0)) < 0) {
        json_decref(*out);
        *out = NULL;
    }
    return error;
}

/* The app's documents, from the cache when every input is unchanged. */
static int render_docs(json_t **out, hub_filesrc *tree, const struct hub_app *app,
                       struct hub_render_cache *cache)
{
    struct recorder rec = {.base = {.ops = &recorder_ops, .description = tree->description},
                           .inner = tree};
    char id[65], *key = NULL;
    int error;

    if (cache == NULL || hub_filesrc_content_id(tree, app->path, id) < 0)
        return render_uncached(out, tree, app, cache); /* no ids: nothing to key on */
    if (asprintf(&key, "%s\n%d\n%s\n%s", app->path, app->recurse, app->include, app->exclude) < 0)
        return gf_error_set(GF_ENOMEM, "out of memory");
    struct in_flight mine;
    if ((*out = cache_get(cache, key, tree, &mine)) != NULL) {
        free(key);
        return 0;
    }
    rec.deps = json_object();
    if ((error = render_uncached(out, &rec.base, app, cache)) == 0)
        cache_put(cache, key, rec.deps, *out);
    cache_done(cache, &mine);
    json_decref(rec.deps);
    free(key);
    return error;
}

/* ---- resources ---- */

int hub_render_kind_rank(const char *kind)
{
    return (int)gf_k8s_sync_kind_rank(kind);
}

static int compare_resources(const struct hub_resource *a, const struct hub_resource *b)
{
    int c;

    if (a->wave != b->wave)
        return a->wave < b->wave ? -1 : 1;
    if ((c = hub_render_kind_rank(a->kind) - hub_render_kind_rank(b->kind)) != 0)
        return c;
    /* Unknown kinds share one rank and go by name, as in gitops-engine; the
     * rest only makes the order total. */
    if ((c = strcmp(a->name, b->name)) != 0 || (c = strcmp(a->kind, b->kind)) != 0)
        return c;
    if ((c = strcmp(a->namespace, b->namespace)) != 0)
        return c;
    return strcmp(a->group, b->group);
}

static int compare_resource_values(const void *a, const void *b)
{
    return compare_resources(a, b);
}

static int compare_resource_ptrs(const void *a, const void *b)
{
    return compare_resources(*(const struct hub_resource *const *)a,
                             *(const struct hub_resource *const *)b);
}

/* Custom kinds that a CRD in this render declares cluster-scoped: {"group/Kind": true}. */
static void collect_crd_scopes(json_t *scopes, const json_t *docs)
{
    const json_t *doc;
    size_t i;

    json_array_foreach(docs, i, doc)
    {
        const char *kind = json_string_value(json_object_get(doc, "kind"));
        const json_t *spec = json_object_get(doc, "spec");
        const char *group = json_string_value(json_object_get(spec, "group"));
        const char *scope = json_string_value(json_object_get(spec, "scope"));
        const char *named =
            json_string_value(json_object_get(json_object_get(spec, "names"), "kind"));
        char key[512];
        if (kind && strcmp(kind, "CustomResourceDefinition") == 0 && group && named && scope &&
            strcmp(scope, "Cluster") == 0) {
            snprintf(key, sizeof(key), "%s/%s", group, named);
            json_object_set_new(scopes, key, json_true());
        }
    }
}

static int cluster_scoped(const json_t *scopes, const char *group, const char *kind)
{
    char key[512];

    snprintf(key, sizeof(key), "%s/%s", group, kind);
    return gf_k8s_is_cluster_scoped(group, kind) || json_object_get(scopes, key) != NULL;
}

static void resource_clear(struct hub_resource *r)
{
    free(r->group);
    free(r->version);
    free(r->kind);
    free(r->namespace);
    free(r->name);
    json_decref(r->body);
}

static int parse_wave(int *out, json_t *annotations, const char *what)
{
    const char *keys[] = {ANNOTATION_WAVE, ANNOTATION_WAVE_2};

    *out = 0;
    for (size_t i = 0; i < 2; i++) {
        const char *v = json_string_value(json_object_get(annotations, keys[i]));
        char *end;
        if (v == NULL)
            continue;
        long w = strtol(v, &end, 10);
        if (*v == '\0' || *end != '\0' || w < -1000000 || w > 1000000)
            return gf_error_set(GF_EINVAL, "%s: metadata.annotations[%s]: '%s' is not an integer",
                                what, keys[i], v);
        *out = (int)w;
        return 0;
    }
    return 0;
}

/* Set or create the string-map member `field` of metadata. */
static json_t *metadata_map(json_t *metadata, const char *field)
{
    json_t *m = json_object_get(metadata, field);

    if (!json_is_object(m)) {
        m = json_object();
        json_object_set_new(metadata, field, m);
    }
    return m;
}

static int identify(struct hub_resource *r, json_t *body, size_t index)
{
    const char *api = json_string_value(json_object_get(body, "apiVersion"));
    const char *kind = json_string_value(json_object_get(body, "kind"));
    json_t *metadata = json_object_get(body, "metadata");
    const char *name = json_string_value(json_object_get(metadata, "name"));
    const char *gen = json_string_value(json_object_get(metadata, "generateName"));
    const char *group, *version;
    char buf[256];

    if (!json_is_object(body))
        return gf_error_set(GF_EINVAL, "document %zu: not a mapping", index + 1);
    if (api != NULL && kind != NULL && (name == NULL || name[0] == '\0') && gen && gen[0]) {
        /* Argo CD hooks may be named by the sync that runs them */
        if (json_object_get(json_object_get(metadata, "annotations"), ANNOTATION_HOOK) == NULL)
            return gf_error_set(GF_EINVAL,
                                "%s %s: metadata.generateName is only allowed on hooks (%s)", kind,
                                gen, ANNOTATION_HOOK);
        name = "";
    }
    if (api == NULL || kind == NULL || name == NULL || (name[0] == '\0' && gen == NULL))
        return gf_error_set(GF_EINVAL,
                            "document %zu (%s %s): apiVersion, kind and metadata.name are needed",
                            index + 1, kind ? kind : "?", name ? name : "?");
    gf_k8s_split_api_version(api, buf, sizeof(buf), &group, &version);
    r->group = strdup(group);
    r->version = strdup(version);
    r->kind = strdup(kind);
    r->name = strdup(name);
    return 0;
}

/* One document into one resource of `app`: id, namespace, tracking, wave. */
static int make_resource(struct hub_resource *r, const json_t *doc, size_t index,
                         const struct hub_app *app, const json_t *scopes)
{
    json_t *body = json_deep_copy(doc), *metadata;
    char what[512], *track = NULL;
    int error;

    memset(r, 0, sizeof(*r));
    r->body = body;
    if ((error = identify(r, body, index)) < 0)
        return error;
    metadata = json_object_get(body, "metadata");
    const json_t *nsv = json_object_get(metadata, "namespace");
    const char *ns = json_string_value(nsv);
    if (nsv != NULL && !json_is_null(nsv) && ns == NULL)
        return gf_error_set(GF_EINVAL, "%s %s: metadata.namespace: expected a string", r->kind,
                            r->name);
    if (cluster_scoped(scopes, r->group, r->kind))
        ns = "";
    else if ((ns == NULL || ns[0] == '\0') && app->namespace[0] != '\0') {
        json_object_set_new(metadata, "namespace", json_string(app->namespace));
        ns = app->namespace;
    }
    r->namespace = strdup(ns ? ns : "");
    /* a hook named at sync time is tracked by its generateName */
    const char *shown =
        r->name[0] ? r->name : json_string_value(json_object_get(metadata, "generateName"));
    snprintf(what, sizeof(what), "%s %s", r->kind, shown);
    json_t *annotations = metadata_map(metadata, "annotations");
    if ((error = parse_wave(&r->wave, annotations, what)) < 0)
        return error;
    json_object_set_new(metadata_map(metadata, "labels"), LABEL_APP, json_string(app->name));
    if (asprintf(&track, "%s:%s/%s:%s/%s", app->name, r->group, r->kind, r->namespace, shown) < 0)
        return gf_error_set(GF_ENOMEM, "out of memory");
    json_object_set_new(annotations, ANNOTATION_TRACK, json_string(track));
    free(track);
    return 0;
}

static void resource_key(char *out, size_t cap, const struct hub_resource *r)
{
    snprintf(out, cap, "%s/%s %s/%s", r->group[0] ? r->group : "core", r->kind,
             r->namespace[0] ? r->namespace : "-", r->name);
}

static void app_clear_resources(struct hub_bundle_app *ba)
{
    for (size_t i = 0; i < ba->n_resources; i++)
        resource_clear(&ba->resources[i]);
    free(ba->resources);
    ba->resources = NULL;
    ba->n_resources = 0;
}

static void app_fail(struct hub_bundle_app *ba, const char *msg)
{
    app_clear_resources(ba);
    free(ba->error);
    ba->error = strdup(msg);
}

/* Does `r` need `dep` to exist first: an object in namespace `dep`, or a
 * custom resource of the kind that CRD `dep` defines? */
static int depends_on(const struct hub_resource *r, const struct hub_resource *dep)
{
    if (dep->group[0] == '\0' && strcmp(dep->kind, "Namespace") == 0)
        return strcmp(r->namespace, dep->name) == 0;
    const json_t *spec = json_object_get(dep->body, "spec");
    const char *group = json_string_value(json_object_get(spec, "group"));
    const char *kind = json_string_value(json_object_get(json_object_get(spec, "names"), "kind"));
    return group && kind && strcmp(r->group, group) == 0 && strcmp(r->kind, kind) == 0;
}

/* As gitops-engine does: a Namespace or CRD moves up to the wave of the
 * first object that needs it, so a later wave never holds what an earlier
 * wave depends on. */
static void lift_dependencies(struct hub_bundle_app *ba)
{
    for (size_t i = 0; i < ba->n_resources; i++) {
        struct hub_resource *dep = &ba->resources[i];
        int is_ns = dep->group[0] == '\0' && strcmp(dep->kind, "Namespace") == 0;
        int is_crd = strcmp(dep->group, "apiextensions.k8s.io") == 0 &&
                     strcmp(dep->kind, "CustomResourceDefinition") == 0;
        if (!is_ns && !is_crd)
            continue;
        for (size_t k = 0; k < ba->n_resources; k++)
            if (k != i && ba->resources[k].wave < dep->wave && depends_on(&ba->resources[k], dep))
                dep->wave = ba->resources[k].wave;
    }
}

/* Every document of the app into resources; one bad document fails the app. */
static void build_app(struct hub_bundle_app *ba, const json_t *docs, const json_t *scopes)
{
    json_t *seen = json_object();
    size_t n = json_array_size(docs);
    char key[1024];

    ba->resources = calloc(n ? n : 1, sizeof(struct hub_resource));
    for (size_t i = 0; i < n && ba->error == NULL; i++) {
        struct hub_resource *r = &ba->resources[ba->n_resources++];
        if (make_resource(r, json_array_get(docs, i), i, ba->app, scopes) < 0) {
            app_fail(ba, gf_error_last());
            break;
        }
        if (r->name[0] == '\0')
            continue; /* generateName hooks are new objects every sync */
        resource_key(key, sizeof(key), r);
        if (json_object_get(seen, key) != NULL) {
            char msg[1200];
            snprintf(msg, sizeof(msg), "%s appears twice", key);
            app_fail(ba, msg);
            break;
        }
        json_object_set_new(seen, key, json_true());
    }
    json_decref(seen);
    if (ba->error == NULL) {
        lift_dependencies(ba);
        qsort(ba->resources, ba->n_resources, sizeof(struct hub_resource), compare_resource_values);
    }
}

/* Issue 17: a resource the app's AppProject forbids (a kind, a namespace)
 * refuses the whole app, naming the rule, as Argo CD fails such a sync. */
static void check_project(struct hub_bundle_app *ba, const struct hub_cluster *cl)
{
    for (size_t k = 0; ba->error == NULL && ba->app->rules && k < ba->n_resources; k++) {
        const struct hub_resource *r = &ba->resources[k];
        if (gf_project_check_resource(ba->app->rules, cl->name, cl->server, r->group, r->kind,
                                      r->namespace, r->name) < 0)
            app_fail(ba, gf_error_last());
    }
}

/* ---- a cluster's bundle ---- */

/* Trees opened for apps pinned to other revisions, shared within one render. */
struct tree_set {
    const struct hub_render_ctx *ctx;
    struct {
        char *ref;
        char commit[41];
        hub_filesrc *tree;
    } pinned[RENDER_MAX_PINNED];
    size_t n;
};

static int is_same_revision(const struct hub_render_ctx *ctx, const char *rev)
{
    return rev[0] == '\0' || strcmp(rev, "HEAD") == 0 || strcmp(rev, ctx->revision) == 0 ||
           (ctx->revision_ref != NULL && strcmp(rev, ctx->revision_ref) == 0);
}

/* With a cache, trees at other revisions are shared by every render of the
 * pass (the cache owns them until the sweep). */
static int pinned_shared(hub_filesrc **out, const char **commit_out,
                         const struct hub_render_ctx *ctx, const char *rev)
{
    struct hub_render_cache *cache = ctx->cache;
    struct pinned_tree *p;
    int error = 0;

    pthread_mutex_lock(&cache->lock);
    for (p = cache->pinned; p && strcmp(p->ref, rev) != 0; p = p->next)
        ;
    if (p == NULL && cache->n_pinned >= RENDER_MAX_PASS_PINNED)
        error = gf_error_set(GF_ETOOBIG, "'%s': more than %d distinct revisions in the fleet", rev,
                             RENDER_MAX_PASS_PINNED);
    else if (p == NULL && (p = calloc(1, sizeof(*p))) != NULL) {
        if ((error = ctx->tree_at(&p->tree, p->commit, ctx->tree_arg, rev)) < 0) {
            free(p);
            p = NULL;
        } else {
            p->ref = strdup(rev);
            p->next = cache->pinned;
            cache->pinned = p;
            cache->n_pinned++;
        }
    } else if (p == NULL)
        error = gf_error_set(GF_ENOMEM, "out of memory");
    pthread_mutex_unlock(&cache->lock);
    if (error < 0)
        return gf_error_wrap(error, "spec.source.targetRevision");
    *out = p->tree;
    *commit_out = p->commit;
    return 0;
}

static int tree_for(hub_filesrc **out, const char **commit_out, struct tree_set *ts,
                    const struct hub_app *app)
{
    const struct hub_render_ctx *ctx = ts->ctx;
    const char *rev = app->target_revision;
    int error;

    *out = ctx->tree;
    *commit_out = ctx->revision;
    if (is_same_revision(ctx, rev))
        return 0;
    for (size_t i = 0; i < ts->n; i++)
        if (strcmp(ts->pinned[i].ref, rev) == 0) {
            *out = ts->pinned[i].tree;
            *commit_out = ts->pinned[i].commit;
            return 0;
        }
    if (ctx->tree_at == NULL)
        return gf_error_set(GF_EUNSUPPORTED,
                            "spec.source.targetRevision: '%s' cannot be rendered with revision %s",
                            rev, ctx->revision);
    if (ctx->cache != NULL)
        return pinned_shared(out, commit_out, ctx, rev);
    if (ts->n == RENDER_MAX_PINNED)
        return gf_error_set(GF_ETOOBIG,
                            "spec.source.targetRevision: '%s': more than %d distinct revisions "
                            "on one cluster",
                            rev, RENDER_MAX_PINNED);
    if ((error = ctx->tree_at(out, ts->pinned[ts->n].commit, ctx->tree_arg, rev)) < 0)
        return gf_error_wrap(error, "spec.source.targetRevision");
    ts->pinned[ts->n].ref = strdup(rev);
    ts->pinned[ts->n].tree = *out;
    *commit_out = ts->pinned[ts->n++].commit;
    return 0;
}

static void tree_set_clear(struct tree_set *ts)
{
    for (size_t i = 0; i < ts->n; i++) {
        free(ts->pinned[i].ref);
        hub_filesrc_free(ts->pinned[i].tree);
    }
}

static void wrap_app_error(struct hub_bundle_app *ba)
{
    char msg[2048];

    snprintf(msg, sizeof(msg), "app %s: %s", ba->app->name, gf_error_last());
    ba->error = strdup(msg);
}

/* Render each app's documents; failures stay with the app. */
static json_t *render_apps(struct hub_bundle *b, const struct hub_render_ctx *ctx)
{
    struct tree_set ts = {.ctx = ctx};
    json_t *all = json_array();

    for (size_t i = 0; i < b->n_apps; i++) {
        struct hub_bundle_app *ba = &b->apps[i];
        hub_filesrc *tree = NULL;
        const char *commit = ctx->revision;
        json_t *docs = NULL;
        if (ba->app->error != NULL)
            ba->error = strdup(ba->app->error);
        else if (tree_for(&tree, &commit, &ts, ba->app) < 0 ||
                 render_docs(&docs, tree, ba->app, ctx->cache) < 0 ||
                 hub_secretpolicy_check(ba->app, docs, tree) < 0)
            wrap_app_error(ba);
        ba->revision = strdup(commit);
        json_array_append_new(all, docs ? docs : json_array());
    }
    tree_set_clear(&ts);
    return all;
}

static void add_conflict(struct hub_bundle *b, const char *msg)
{
    char **grown = realloc(b->conflicts, (b->n_conflicts + 1) * sizeof(char *));

    if (grown == NULL)
        return;
    b->conflicts = grown;
    b->conflicts[b->n_conflicts++] = strdup(msg);
}

/* An object claimed by two apps stays with the first (by name); the other
 * app fails with the conflict, so nothing is applied twice. */
static void resolve_conflicts(struct hub_bundle *b)
{
    json_t *owner = json_object();
    char key[1024], msg[2048];

    for (size_t i = 0; i < b->n_apps; i++) {
        struct hub_bundle_app *ba = &b->apps[i];
        const char *other = NULL;
        for (size_t k = 0; k < ba->n_resources && other == NULL; k++) {
            resource_key(key, sizeof(key), &ba->resources[k]);
            if (ba->resources[k].name[0] != '\0')
                other = json_string_value(json_object_get(owner, key));
        }
        if (other != NULL) {
            snprintf(msg, sizeof(msg), "apps %s and %s both claim %s on cluster %s", other,
                     ba->app->name, key, b->cluster);
            add_conflict(b, msg);
            app_fail(ba, msg);
            continue;
        }
        for (size_t k = 0; k < ba->n_resources; k++) {
            resource_key(key, sizeof(key), &ba->resources[k]);
            if (ba->resources[k].name[0] != '\0')
                json_object_set_new(owner, key, json_string(ba->app->name));
        }
    }
    json_decref(owner);
}

/* ---- size limits (gitfleet/limits.h) ---- */

static size_t object_bytes(const json_t *body)
{
    return json_dumpb(body, NULL, 0, JSON_COMPACT);
}

static void human_size(char *out, size_t cap, size_t bytes)
{
    snprintf(out, cap, "%.1f MiB", (double)bytes / (1024.0 * 1024.0));
}

/* An app with an object larger than any Kubernetes API server stores fails
 * with a message naming it; returns the app's total size otherwise. */
static size_t app_bytes_checked(struct hub_bundle_app *ba)
{
    char key[1024], size[32], msg[1400];
    size_t total = 0;

    for (size_t k = 0; k < ba->n_resources; k++) {
        size_t n = object_bytes(ba->resources[k].body);
        if (n > GF_LIMIT_OBJECT_BYTES) {
            resource_key(key, sizeof(key), &ba->resources[k]);
            human_size(size, sizeof(size), n);
            snprintf(msg, sizeof(msg),
                     "%s is %s, over the 1.5 MiB a Kubernetes object may be (etcd's request "
                     "limit); nothing of this app is applied",
                     key, size);
            app_fail(ba, msg);
            return 0;
        }
        total += n;
    }
    return total;
}

/* Keep the cluster's bundle under GF_LIMIT_BUNDLE_BYTES: fail the largest
 * apps, each with a message, until the rest fit. The agent could not take
 * a larger bundle, and then none of its apps would sync. */
static void enforce_sizes(struct hub_bundle *b)
{
    size_t *sizes = calloc(b->n_apps + 1, sizeof(*sizes)), total = 0;
    char size[32], all[32], msg[512];

    if (sizes == NULL)
        return;
    for (size_t i = 0; i < b->n_apps; i++)
        total += sizes[i] = b->apps[i].error ? 0 : app_bytes_checked(&b->apps[i]);
    /* the envelope, names and policies: a margin rather than a second encoding */
    while (total + total / 16 > GF_LIMIT_BUNDLE_BYTES) {
        size_t big = 0;
        for (size_t i = 1; i < b->n_apps; i++)
            if (sizes[i] > sizes[big])
                big = i;
        if (sizes[big] == 0)
            break;
        human_size(size, sizeof(size), sizes[big]);
        human_size(all, sizeof(all), total);
        snprintf(msg, sizeof(msg),
                 "this app's %s would take cluster %s's bundle to %s, over its 32 MiB limit; "
                 "its largest apps are left out until the rest fit",
                 size, b->cluster, all);
        app_fail(&b->apps[big], msg);
        total -= sizes[big];
        sizes[big] = 0;
    }
    free(sizes);
}

static void order_all(struct hub_bundle *b)
{
    size_t n = 0;

    for (size_t i = 0; i < b->n_apps; i++)
        n += b->apps[i].n_resources;
    b->order = calloc(n ? n : 1, sizeof(*b->order));
    for (size_t i = 0; i < b->n_apps; i++)
        for (size_t k = 0; k < b->apps[i].n_resources; k++)
            b->order[b->n_order++] = &b->apps[i].resources[k];
    qsort(b->order, b->n_order, sizeof(*b->order), compare_resource_ptrs);
}

static int select_apps(struct hub_bundle *b, const struct hub_fleet *fleet, const char *only_app)
{
    const struct hub_app *apps = NULL;
    size_t n = hub_fleet_cluster_apps(fleet, b->cluster, &apps);

    b->apps = calloc(n ? n : 1, sizeof(*b->apps));
    if (b->apps == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (only_app == NULL || strcmp(apps[i].name, only_app) == 0)
            b->apps[b->n_apps++].app = &apps[i];
    if (only_app != NULL && b->n_apps == 0)
        return gf_error_set(GF_ENOTFOUND, "cluster %s has no app named '%s'", b->cluster, only_app);
    return 0;
}

int hub_render_cluster(struct hub_bundle **out, const struct hub_render_ctx *ctx,
                       const struct hub_fleet *fleet, const char *cluster, const char *only_app)
{
    struct hub_bundle *b;
    json_t *docs, *scopes = json_object();
    int error;

    *out = NULL;
    if (hub_fleet_cluster(fleet, cluster) == NULL) {
        json_decref(scopes);
        return gf_error_set(GF_ENOTFOUND, "no cluster named '%s' in the fleet", cluster);
    }
    if ((b = calloc(1, sizeof(*b))) == NULL) {
        json_decref(scopes);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    b->cluster = strdup(cluster);
    b->revision = strdup(ctx->revision);
    if ((error = select_apps(b, fleet, only_app)) < 0) {
        json_decref(scopes);
        hub_bundle_free(b);
        return error;
    }
    docs = render_apps(b, ctx);
    for (size_t i = 0; i < b->n_apps; i++)
        collect_crd_scopes(scopes, json_array_get(docs, i));
    for (size_t i = 0; i < b->n_apps; i++)
        if (b->apps[i].error == NULL) {
            build_app(&b->apps[i], json_array_get(docs, i), scopes);
            check_project(&b->apps[i], hub_fleet_cluster(fleet, cluster));
        }
    json_decref(docs);
    json_decref(scopes);
    resolve_conflicts(b);
    enforce_sizes(b);
    order_all(b);
    *out = b;
    return 0;
}

/* ---- the whole fleet, on a pool of threads ---- */

#define RENDER_MAX_THREADS 64

struct fleet_job {
    const struct hub_render_ctx *ctx;
    const struct hub_fleet *fleet;
    hub_render_done_fn done;
    void *arg;
    size_t next; /* the next cluster to take (atomic) */
};

static void *render_worker(void *p)
{
    struct fleet_job *job = p;
    size_t i;

    while ((i = __atomic_fetch_add(&job->next, 1, __ATOMIC_RELAXED)) < job->fleet->n_clusters) {
        const char *name = job->fleet->clusters[i].name;
        struct hub_bundle *b = NULL;
        hub_render_cluster(&b, job->ctx, job->fleet, name, NULL);
        job->done(job->arg, name, b);
    }
    return NULL;
}

/* A render thread of its own (named for top -H and perf). */
static void *render_thread(void *p)
{
    gf_os_thread_name("gf-render");
    return render_worker(p);
}

int hub_render_fleet(const struct hub_render_ctx *ctx, const struct hub_fleet *fleet, int threads,
                     hub_render_done_fn done, void *arg)
{
    struct fleet_job job = {.ctx = ctx, .fleet = fleet, .done = done, .arg = arg};
    pthread_t tids[RENDER_MAX_THREADS];
    int started = 0;

    if (threads <= 0)
        threads = (int)gf_os_cpu_count();
    if (threads > RENDER_MAX_THREADS)
        threads = RENDER_MAX_THREADS;
    if ((size_t)threads > fleet->n_clusters)
        threads = fleet->n_clusters ? (int)fleet->n_clusters : 1;
    /* The calling thread is one of the workers. */
    for (int t = 1; t < threads; t++)
        if (pthread_create(&tids[started], NULL, render_thread, &job) == 0)
            started++;
    render_worker(&job);
    for (int t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    return 0;
}

/* ---- output ---- */

static json_t *resource_json(const struct hub_resource *r)
{
    return json_pack("{s:{s:s,s:s,s:s,s:s,s:s},s:i,s:O}", "id", "group", r->group, "version",
                     r->version, "kind", r->kind, "namespace", r->namespace, "name", r->name,
                     "syncWave", r->wave, "body", r->body);
}

static json_t *app_json(const struct hub_bundle_app *ba)
{
    const struct hub_app *a = ba->app;
    json_t *resources = json_array();
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "name", a->name, "namespace",
                          a->namespace ? a->namespace : "", "project", a->project ? a->project : "",
                          "revision", ba->revision ? ba->revision : "", "path",
                          a->path ? a->path : "", "file", a->file, "origin", a->origin,
                          "syncPolicy", hub_fleet_policy_json(&a->policy));

    for (size_t i = 0; i < ba->n_resources; i++)
        json_array_append_new(resources, resource_json(&ba->resources[i]));
    json_object_set_new(j, "resources", resources);
    if (ba->error != NULL)
        json_object_set_new(j, "error", json_string(ba->error));
    return j;
}

json_t *hub_bundle_json(const struct hub_bundle *b)
{
    json_t *apps = json_array(), *conflicts = json_array();

    for (size_t i = 0; i < b->n_apps; i++)
        json_array_append_new(apps, app_json(&b->apps[i]));
    for (size_t i = 0; i < b->n_conflicts; i++)
        json_array_append_new(conflicts, json_string(b->conflicts[i]));
    return json_pack("{s:s,s:s,s:o,s:o}", "cluster", b->cluster, "revision", b->revision, "apps",
                     apps, "conflicts", conflicts);
}

json_t *hub_bundle_manifests(const struct hub_bundle *b)
{
    json_t *docs = json_array();

    for (size_t i = 0; i < b->n_order; i++)
        json_array_append(docs, b->order[i]->body);
    return docs;
}

size_t hub_bundle_failures(const struct hub_bundle *b)
{
    size_t n = 0;

    for (size_t i = 0; i < b->n_apps; i++)
        n += b->apps[i].error != NULL;
    return n;
}

void hub_bundle_free(struct hub_bundle *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n_apps; i++) {
        app_clear_resources(&b->apps[i]);
        free(b->apps[i].revision);
        free(b->apps[i].error);
    }
    for (size_t i = 0; i < b->n_conflicts; i++)
        free(b->conflicts[i]);
    free(b->apps);
    free(b->order);
    free(b->conflicts);
    free(b->cluster);
    free(b->revision);
    free(b);
}
