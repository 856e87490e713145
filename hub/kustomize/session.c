/* session.c -- a build session's caches: parsed YAML files and built bases */
#include "session.h"

#include "gitfleet/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct file_entry {
    char *key;
    json_t *docs;
    uint64_t used; /* the session's epoch when last read or written */
    struct file_entry *next;
};

struct base_entry {
    char *key;
    struct kz_base *base;
    uint64_t used;
    struct base_entry *next;
};

#define SESSION_BUCKETS 8192 /* the hub's sessions hold one file per cluster overlay */
/* A long-lived session (the hub's) is flushed whole when it holds this many
 * entries, which bounds its memory without bookkeeping per entry. */
#define SESSION_MAX_FILES 200000
#define SESSION_MAX_BASES 20000

struct hub_kustomize_session {
    struct file_entry *files[SESSION_BUCKETS];
    struct base_entry *bases[SESSION_BUCKETS];
    struct hub_kustomize_stats stats;
    size_t nfiles, nbases;
    uint64_t epoch; /* advanced by each sweep */
};

void hub_kustomize_session_stats(const hub_kustomize_session *s, struct hub_kustomize_stats *out)
{
    *out = s->stats;
}

static size_t bucket(const char *key)
{
    size_t h = 5381;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = h * 33 + *p;
    return h % SESSION_BUCKETS;
}

int hub_kustomize_session_new(hub_kustomize_session **out)
{
    *out = calloc(1, sizeof(**out));
    return *out != NULL ? 0 : gf_error_set(GF_ENOMEM, "out of memory");
}

void kz_base_free(struct kz_base *b)
{
    if (b == NULL)
        return;
    kz_resmap_clear(&b->res);
    kz_tconfig_free(b->tc);
    json_decref(b->vars);
    json_decref(b->openapi);
    for (size_t i = 0; i < b->ndeps; i++) {
        free(b->deps[i].path);
    }
    free(b->deps);
    free(b);
}

static void flush(hub_kustomize_session *s)
{
    for (size_t i = 0; i < SESSION_BUCKETS; i++) {
        for (struct file_entry *e = s->files[i], *n; e != NULL; e = n) {
            n = e->next;
            free(e->key);
            json_decref(e->docs);
            free(e);
        }
        for (struct base_entry *e = s->bases[i], *n; e != NULL; e = n) {
            n = e->next;
            free(e->key);
            kz_base_free(e->base);
            free(e);
        }
        s->files[i] = NULL;
        s->bases[i] = NULL;
    }
    s->nfiles = s->nbases = 0;
}

void hub_kustomize_session_free(hub_kustomize_session *s)
{
    if (s == NULL)
        return;
    flush(s);
    free(s);
}

json_t *kz_session_file_get(hub_kustomize_session *s, const char *key)
{
    for (struct file_entry *e = s->files[bucket(key)]; e != NULL; e = e->next)
        if (strcmp(e->key, key) == 0) {
            s->stats.file_hits++;
            e->used = s->epoch;
            return json_incref(e->docs);
        }
    s->stats.file_misses++;
    return NULL;
}

/* Cache `docs` under `key`, marked used in epoch `used` (out of memory: not cached). */
static void file_insert(hub_kustomize_session *s, const char *key, json_t *docs, uint64_t used)
{
    if (s->nfiles >= SESSION_MAX_FILES || s->nbases >= SESSION_MAX_BASES)
        flush(s);
    struct file_entry *e = calloc(1, sizeof(*e));
    if (e == NULL || (e->key = strdup(key)) == NULL) {
        free(e);
        return;
    }
    e->docs = json_incref(docs);
    e->used = used;
    size_t b = bucket(key);
    e->next = s->files[b];
    s->files[b] = e;
    s->nfiles++;
}

void kz_session_file_put(hub_kustomize_session *s, const char *key, json_t *docs)
{
    file_insert(s, key, docs, s->epoch);
}

const struct kz_base *kz_session_base_get(hub_kustomize_session *s, const char *key)
{
    for (struct base_entry *e = s->bases[bucket(key)]; e != NULL; e = e->next)
        if (strcmp(e->key, key) == 0) {
            e->used = s->epoch;
            return e->base;
        }
    return NULL;
}

void kz_session_count_base(hub_kustomize_session *s, int hit)
{
    if (hit)
        s->stats.base_hits++;
    else
        s->stats.base_builds++;
}

void kz_session_base_put(hub_kustomize_session *s, const char *key, struct kz_base *base)
{
    if (s->nfiles >= SESSION_MAX_FILES || s->nbases >= SESSION_MAX_BASES)
        flush(s);
    s->nbases++;
    struct base_entry *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        kz_base_free(base);
        return;
    }
    e->key = strdup(key);
    e->base = base;
    e->used = s->epoch;
    size_t b = bucket(key);
    e->next = s->bases[b];
    s->bases[b] = e;
}

/* An entry a sweep keeps: used since the last sweep, and keyed by content
 * (keys of sources without content ids start with '@' and hold only while
 * their source lives). */
static int keep(const char *key, uint64_t used, uint64_t epoch)
{
    return used == epoch && key[0] != '@';
}

void hub_kustomize_session_sweep(hub_kustomize_session *s)
{
    for (size_t i = 0; i < SESSION_BUCKETS; i++) {
        for (struct file_entry **link = &s->files[i], *e; (e = *link) != NULL;) {
            if (keep(e->key, e->used, s->epoch)) {
                link = &e->next;
                continue;
            }
            *link = e->next;
            free(e->key);
            json_decref(e->docs);
            free(e);
            s->nfiles--;
        }
        for (struct base_entry **link = &s->bases[i], *e; (e = *link) != NULL;) {
            if (keep(e->key, e->used, s->epoch)) {
                link = &e->next;
                continue;
            }
            *link = e->next;
            free(e->key);
            kz_base_free(e->base);
            free(e);
            s->nbases--;
        }
    }
    s->epoch++;
}

/* Has `s` a file entry under `key`? (No counting, no epoch.) */
static int has_file(const hub_kustomize_session *s, const char *key)
{
    for (const struct file_entry *e = s->files[bucket(key)]; e != NULL; e = e->next)
        if (strcmp(e->key, key) == 0)
            return 1;
    return 0;
}

void hub_kustomize_session_share_files(hub_kustomize_session *dst, const hub_kustomize_session *src)
{
    /* A copy counts as not used in this epoch yet: the next sweep drops it
     * unless a build reads it (else copies would keep each other alive). */
    for (size_t i = 0; i < SESSION_BUCKETS; i++)
        for (const struct file_entry *e = src->files[i]; e != NULL; e = e->next)
            if (!has_file(dst, e->key))
                file_insert(dst, e->key, e->docs, dst->epoch - 1);
}
