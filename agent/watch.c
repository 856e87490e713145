/* watch.c -- list+watch of one resource type, on its own thread, with relist on 410 */
#include "watch.h"

#include "gitfleet/error.h"
#include "gitfleet/log.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct agent_watch {
    agent_kube *kube;
    struct agent_kube_resource res;
    char *selector; /* URL-escaped */
    agent_watch_fn fn;
    void *arg;
    pthread_t thread;
    volatile int stop;
    char version[64]; /* resourceVersion to watch from; "" = list first */
};

static const char *collection_path(const struct agent_watch *w, char *buf, size_t len)
{
    struct agent_kube_resource all = w->res;

    all.namespaced = 0; /* the collection across every namespace */
    if (agent_kube_path(buf, len, &all, NULL, NULL) < 0)
        buf[0] = '\0';
    return buf;
}

static void remember_version(struct agent_watch *w, const json_t *obj)
{
    const char *rv =
        json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));

    if (rv)
        snprintf(w->version, sizeof(w->version), "%s", rv);
}

/* List everything, hand each object over, and remember the list's version. */
static int relist(struct agent_watch *w)
{
    char path[2048], base[1024];
    json_t *list = NULL;
    size_t i;
    json_t *item;
    int error;

    snprintf(path, sizeof(path), "%s?labelSelector=%s", collection_path(w, base, sizeof(base)),
             w->selector);
    if ((error = agent_kube_request(w->kube, "GET", path, NULL, NULL, NULL, &list)) < 0)
        return error;
    json_array_foreach(json_object_get(list, "items"), i, item)
    {
        /* Items of a list carry no kind: give them the watch's. */
        json_object_set_new(item, "kind", json_string(w->res.kind));
        w->fn(w->arg, "LIST", item);
    }
    remember_version(w, list);
    json_decref(list);
    return 0;
}

/* One line of a watch stream: {"type": ..., "object": {...}}. */
static int on_line(void *arg, const char *line, size_t len)
{
    struct agent_watch *w = arg;
    json_t *event = json_loadb(line, len, 0, NULL);
    const char *type = json_string_value(json_object_get(event, "type"));
    json_t *obj = json_object_get(event, "object");

    if (type == NULL || !json_is_object(obj)) {
        json_decref(event);
        return gf_error_set(GF_EINVAL, "watch: malformed event");
    }
    if (strcmp(type, "ERROR") == 0) {
        /* 410 Expired/Gone: our version is too old; relist. */
        gf_log_debug("AGENT-WATCH-EXPIRED", "resource=%s message=\"%s\"", w->res.plural,
                     json_string_value(json_object_get(obj, "message")));
        w->version[0] = '\0';
        json_decref(event);
        return GF_ECONFLICT;
    }
    remember_version(w, obj);
    if (strcmp(type, "BOOKMARK") != 0)
        w->fn(w->arg, type, obj);
    json_decref(event);
    return 0;
}

static int watch_once(struct agent_watch *w)
{
    char path[2048], base[1024];

    snprintf(path, sizeof(path),
             "%s?watch=true&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=%s"
             "&labelSelector=%s",
             collection_path(w, base, sizeof(base)), w->version, w->selector);
    return agent_kube_stream(w->kube, path, on_line, w, &w->stop, 330);
}

static void pause_ms(struct agent_watch *w, long ms)
{
    for (long waited = 0; waited < ms && !w->stop; waited += 100)
        nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
}

static void *watch_main(void *arg)
{
    struct agent_watch *w = arg;
    long backoff = 0;

    while (!w->stop) {
        int error = w->version[0] == '\0' ? relist(w) : watch_once(w);
        if (w->stop)
            break;
        if (error == 0) { /* listed, or the server ended the stream: watch on */
            backoff = 0;
            continue;
        }
        if (error == GF_ECONFLICT) /* 410: the version is gone, relist at once */
            continue;
        backoff = backoff ? (backoff * 2 > 30000 ? 30000 : backoff * 2) : 500;
        gf_log_warn("AGENT-WATCH-RETRY", "resource=%s error=\"%s\" retry_in_ms=%ld", w->res.plural,
                    gf_error_last(), backoff);
        pause_ms(w, backoff / 2 + rand() % (backoff / 2 + 1));
    }
    return NULL;
}

int agent_watch_start(struct agent_watch **out, agent_kube *kube,
                      const struct agent_kube_resource *res, const char *label_selector,
                      agent_watch_fn fn, void *arg)
{
    struct agent_watch *w = calloc(1, sizeof(*w));
    char *escaped;

    *out = NULL;
    if (w == NULL || (escaped = curl_easy_escape(NULL, label_selector, 0)) == NULL) {
        free(w);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    w->selector = strdup(escaped);
    curl_free(escaped);
    w->kube = kube;
    w->res = *res;
    w->fn = fn;
    w->arg = arg;
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        free(w->selector);
        free(w);
        return gf_error_set(GF_ERROR, "cannot start a watch thread");
    }
    *out = w;
    return 0;
}

void agent_watch_stop(struct agent_watch *w)
{
    if (w == NULL)
        return;
    w->stop = 1;
    pthread_join(w->thread, NULL);
    free(w->selector);
    free(w);
}

const struct agent_kube_resource *agent_watch_resource(const struct agent_watch *w)
{
    return &w->res;
}

/* ---- a set of watches ---- */

struct agent_watchset {
    agent_kube *kube;
    char *selector;
    agent_watch_fn fn;
    void *arg;
    struct agent_watch **watches;
    size_t n, cap;
};

int agent_watchset_new(struct agent_watchset **out, agent_kube *kube, const char *label_selector,
                       agent_watch_fn fn, void *arg)
{
    struct agent_watchset *set = calloc(1, sizeof(*set));

    *out = NULL;
    if (set == NULL || (set->selector = strdup(label_selector)) == NULL) {
        free(set);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    set->kube = kube;
    set->fn = fn;
    set->arg = arg;
    *out = set;
    return 0;
}

static int same_resource(const struct agent_kube_resource *a, const struct agent_kube_resource *b)
{
    return strcmp(a->group, b->group) == 0 && strcmp(a->version, b->version) == 0 &&
           strcmp(a->plural, b->plural) == 0;
}

/* Resolve the wanted kinds into resources; unknown kinds are skipped. */
static size_t wanted_resources(struct agent_watchset *set, const json_t *kinds,
                               struct agent_kube_resource *out, size_t cap)
{
    size_t i, n = 0;
    json_t *pair;

    json_array_foreach(kinds, i, pair)
    {
        struct agent_kube_resource res;
        const char *api_version = json_string_value(json_array_get(pair, 0));
        const char *kind = json_string_value(json_array_get(pair, 1));
        if (n == cap || !api_version || !kind ||
            agent_kube_resource(set->kube, api_version, kind, &res) < 0)
            continue;
        int dup = 0;
        for (size_t k = 0; k < n; k++)
            dup |= same_resource(&out[k], &res);
        if (!dup)
            out[n++] = res;
    }
    return n;
}

int agent_watchset_update(struct agent_watchset *set, const json_t *kinds)
{
    size_t cap = json_array_size(kinds) + 1, n;
    struct agent_kube_resource *want = calloc(cap, sizeof(*want));
    int error = 0;

    if (want == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    n = wanted_resources(set, kinds, want, cap);
    /* Stop what is no longer wanted. */
    for (size_t i = 0; i < set->n;) {
        int keep = 0;
        for (size_t k = 0; k < n; k++)
            keep |= same_resource(agent_watch_resource(set->watches[i]), &want[k]);
        if (keep) {
            i++;
            continue;
        }
        agent_watch_stop(set->watches[i]);
        set->watches[i] = set->watches[--set->n];
    }
    /* Start what is missing. */
    for (size_t k = 0; k < n && error == 0; k++) {
        int have = 0;
        for (size_t i = 0; i < set->n; i++)
            have |= same_resource(agent_watch_resource(set->watches[i]), &want[k]);
        if (have)
            continue;
        if (set->n == set->cap) {
            size_t ncap = set->cap ? set->cap * 2 : 8;
            struct agent_watch **grown = realloc(set->watches, ncap * sizeof(*grown));
            if (grown == NULL) {
                error = gf_error_set(GF_ENOMEM, "out of memory");
                break;
            }
            set->watches = grown;
            set->cap = ncap;
        }
        error = agent_watch_start(&set->watches[set->n], set->kube, &want[k], set->selector,
                                  set->fn, set->arg);
        if (error == 0)
            set->n++;
    }
    free(want);
    return error;
}

size_t agent_watchset_size(const struct agent_watchset *set)
{
    return set->n;
}

void agent_watchset_free(struct agent_watchset *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n; i++)
        agent_watch_stop(set->watches[i]);
    free(set->watches);
    free(set->selector);
    free(set);
}
