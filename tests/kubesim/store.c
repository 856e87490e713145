/* store.c -- the object store: one lock, one resourceVersion counter, an event log for watches */
#include "store.h"

#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct event {
    uint64_t rv;
    enum ks_event_type type;
    char *res;
    json_t *obj;
    json_t *prev; /* MODIFIED: the state before, for selector transitions */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static json_t *root; /* res -> {ns/name -> obj} */
static uint64_t rv;
static uint64_t writes;
static struct event *ring;
static size_t ring_cap, ring_len, ring_head; /* head: index of the oldest event */
static uint64_t window;                      /* versions <= window are gone from the log */

void ks_store_init(size_t log_size)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&cv, &attr);
    pthread_condattr_destroy(&attr);
    root = json_object();
    rv = 1;
    window = 1;
    ring_cap = log_size;
    ring = calloc(ring_cap, sizeof(*ring));
}

static void event_clear(struct event *e)
{
    free(e->res);
    json_decref(e->obj);
    json_decref(e->prev);
    memset(e, 0, sizeof(*e));
}

void ks_store_shutdown(void)
{
    for (size_t i = 0; i < ring_len; i++)
        event_clear(&ring[(ring_head + i) % ring_cap]);
    free(ring);
    ring = NULL;
    ring_len = 0;
    json_decref(root);
    root = NULL;
    pthread_cond_destroy(&cv);
}

void ks_store_lock(void)
{
    pthread_mutex_lock(&mu);
}

void ks_store_unlock(void)
{
    pthread_mutex_unlock(&mu);
}

uint64_t ks_store_rv(void)
{
    return rv;
}

uint64_t ks_store_writes(void)
{
    return writes;
}

static void make_key(char *buf, size_t n, const char *ns, const char *name)
{
    snprintf(buf, n, "%s/%s", ns != NULL ? ns : "", name);
}

void ks_store_key(char *buf, size_t n, json_t *obj)
{
    json_t *md = json_object_get(obj, "metadata");
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    make_key(buf, n, ns, json_string_value(json_object_get(md, "name")));
}

json_t *ks_store_get(const char *res, const char *ns, const char *name)
{
    char key[1024];
    make_key(key, sizeof(key), ns, name);
    return json_object_get(json_object_get(root, res), key);
}

static void log_event(enum ks_event_type type, const char *res, json_t *obj, json_t *prev)
{
    struct event *e;

    if (ring_len == ring_cap) {
        e = &ring[ring_head];
        window = e->rv;
        event_clear(e);
        ring_head = (ring_head + 1) % ring_cap;
        ring_len--;
    }
    e = &ring[(ring_head + ring_len) % ring_cap];
    e->rv = rv;
    e->type = type;
    e->res = strdup(res);
    e->obj = json_incref(obj);
    e->prev = json_incref(prev);
    ring_len++;
    writes++;
    pthread_cond_broadcast(&cv);
}

static void set_rv(json_t *obj)
{
    char buf[32];
    json_t *md = json_object_get(obj, "metadata");
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)rv);
    if (md == NULL)
        json_object_set_new(obj, "metadata", md = json_object());
    json_object_set_new(md, "resourceVersion", json_string(buf));
}

json_t *ks_store_put(const char *res, const char *ns, const char *name, json_t *obj)
{
    char key[1024];
    json_t *bucket = json_object_get(root, res);

    if (bucket == NULL)
        json_object_set_new(root, res, bucket = json_object());
    make_key(key, sizeof(key), ns, name);
    json_t *prev = json_incref(json_object_get(bucket, key));
    rv++;
    set_rv(obj);
    json_object_set_new(bucket, key, obj);
    log_event(prev != NULL ? KS_MODIFIED : KS_ADDED, res, obj, prev);
    json_decref(prev);
    return obj;
}

static void remove_key(const char *res, json_t *bucket, const char *key)
{
    json_t *obj = json_object_get(bucket, key);
    if (obj == NULL)
        return;
    json_t *last = json_deep_copy(obj);
    rv++;
    set_rv(last);
    json_object_del(bucket, key);
    log_event(KS_DELETED, res, last, NULL);
    json_decref(last);
}

void ks_store_remove(const char *res, const char *ns, const char *name)
{
    char key[1024];
    make_key(key, sizeof(key), ns, name);
    remove_key(res, json_object_get(root, res), key);
}

void ks_store_drop_resource(const char *res)
{
    json_t *bucket = json_object_get(root, res);
    const char *key;
    json_t *v;
    void *tmp;

    if (bucket == NULL)
        return;
    json_object_foreach_safe(bucket, tmp, key, v) remove_key(res, bucket, key);
    json_object_del(root, res);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *ks_store_list(const char *res, const char *ns, const char *after)
{
    json_t *bucket = json_object_get(root, res), *out = json_array(), *v;
    size_t n = json_object_size(bucket), k = 0, nslen = ns != NULL ? strlen(ns) : 0;
    const char **keys = calloc(n + 1, sizeof(*keys));
    const char *key;

    json_object_foreach(bucket, key, v)
    {
        if (ns != NULL && (strncmp(key, ns, nslen) != 0 || key[nslen] != '/'))
            continue;
        if (after != NULL && strcmp(key, after) <= 0)
            continue;
        keys[k++] = key;
    }
    qsort(keys, k, sizeof(*keys), cmp_str);
    for (size_t i = 0; i < k; i++)
        json_array_append(out, json_object_get(bucket, keys[i]));
    free(keys);
    return out;
}

json_t *ks_store_all(void)
{
    return root;
}

static const char *type_name(enum ks_event_type t)
{
    return t == KS_ADDED ? "ADDED" : t == KS_MODIFIED ? "MODIFIED" : "DELETED";
}

uint64_t ks_store_events(json_t *out, uint64_t from, const char *res, uint64_t *oldest_out)
{
    if (from < window) {
        *oldest_out = window;
        return 0;
    }
    /* events are in resourceVersion order: skip to the first one after `from` */
    size_t lo = 0, hi = ring_len;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ring[(ring_head + mid) % ring_cap].rv <= from)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < ring_len; i++) {
        struct event *e = &ring[(ring_head + i) % ring_cap];
        if (strcmp(e->res, res) != 0)
            continue;
        json_t *ev = json_pack("{s:s,s:O}", "type", type_name(e->type), "object", e->obj);
        if (e->prev != NULL)
            json_object_set(ev, "previous", e->prev);
        json_array_append_new(out, ev);
    }
    return rv;
}

void ks_store_wait(uint64_t after, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (rv <= after)
        if (pthread_cond_timedwait(&cv, &mu, &until) == ETIMEDOUT)
            break;
}

int ks_store_save(const char *path)
{
    json_t *doc = json_pack("{s:I,s:O}", "resourceVersion", (json_int_t)rv, "objects", root);
    char *text = json_dumps(doc, JSON_COMPACT);
    int error = gf_fs_write_atomic(path, text, strlen(text), 0600);
    free(text);
    json_decref(doc);
    return error;
}

int ks_store_load(const char *path)
{
    char *text;
    size_t len;
    json_error_t jerr;
    int error = gf_fs_read(&text, &len, path, 0);

    if (error == GF_ENOTFOUND)
        return 0; /* first start */
    if (error < 0)
        return error;
    json_t *doc = json_loadb(text, len, 0, &jerr);
    free(text);
    json_t *objs = json_object_get(doc, "objects");
    if (!json_is_object(objs)) {
        json_decref(doc);
        return gf_error_set(GF_EINVAL, "%s:%d: not a kubesim state file: %s", path, jerr.line,
                            jerr.text);
    }
    json_decref(root);
    root = json_incref(objs);
    rv = (uint64_t)json_integer_value(json_object_get(doc, "resourceVersion"));
    window = rv;
    json_decref(doc);
    return 0;
}
