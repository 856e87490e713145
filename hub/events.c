/* events.c -- the hub's change feed for the dashboard: reports, sync passes and rollouts, as
 * server-sent events */
#include "events.h"

#include "gitfleet/error.h"
#include "gitfleet/log.h"
#include "gitfleet/os.h"
#include "http.h"

#include <jansson.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SUBSCRIBERS 1024
#define MAX_NAMES       256 /* changed clusters (or rollouts) listed in one event; past it: "all" */
#define KEEPALIVE_S     15

struct subscriber {
    hub_http_stream *stream;
    struct subscriber *next;
};

struct hub_events {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    int stopping;
    struct subscriber *subs;
    unsigned n_subs;
    /* what changed since the last event */
    json_t *names; /* object used as a set */
    int all, pass_changed;
    json_t *rollouts; /* ApplicationSets whose rollout changed (a set) */
    int rollouts_all;
    char revision[41];
    char error[512];
    unsigned long long seq;
};

/* An event's data: `list` (new reference, NULL for []) under `member`. */
static json_t *event_doc(hub_events *ev, const char *member, json_t *list, int all)
{
    return json_pack("{s:I, s:o, s:b, s:s, s:s}", "seq", (json_int_t)ev->seq, member,
                     list ? list : json_array(), "all", all, "revision", ev->revision, "error",
                     ev->error);
}

/* Send `text` as event `name` to every subscriber; forget those gone. Called
 * with the lock held: a write only appends to the stream's buffer. */
static void broadcast(hub_events *ev, const char *name, const char *text)
{
    struct subscriber **p = &ev->subs;

    while (*p) {
        struct subscriber *s = *p;
        int error = name ? hub_http_stream_event(s->stream, name, text)
                         : hub_http_stream_write(s->stream, text, strlen(text));
        if (error < 0) {
            *p = s->next;
            hub_http_stream_close(s->stream);
            free(s);
            ev->n_subs--;
            continue;
        }
        p = &s->next;
    }
}

/* Send one event `name` listing the keys of `set` (or "all"), then empty it. */
static void send_names(hub_events *ev, const char *name, const char *member, json_t *set, int all)
{
    json_t *list = json_array();
    const char *key;
    json_t *value;

    if (!all) {
        json_object_foreach(set, key, value)
        {
            json_array_append_new(list, json_string(key));
        }
    }
    ev->seq++;
    json_t *doc = event_doc(ev, member, list, all);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (text)
        broadcast(ev, name, text);
    free(text);
    json_decref(doc);
    json_object_clear(set);
}

/* The coalesced events for what the notes since the last ones say: a
 * change (clusters, a pass), a rollout, or both. */
static void flush(hub_events *ev)
{
    if (ev->all || ev->pass_changed || json_object_size(ev->names) > 0)
        send_names(ev, "change", "clusters", ev->names, ev->all);
    if (ev->rollouts_all || json_object_size(ev->rollouts) > 0)
        send_names(ev, "rollout", "rollouts", ev->rollouts, ev->rollouts_all);
    ev->all = ev->pass_changed = ev->rollouts_all = 0;
}

static void deadline_in(struct timespec *t, long ms)
{
    clock_gettime(CLOCK_REALTIME, t);
    t->tv_sec += ms / 1000;
    t->tv_nsec += (ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

static int pending(const hub_events *ev)
{
    return ev->all || ev->pass_changed || json_object_size(ev->names) > 0 || ev->rollouts_all ||
           json_object_size(ev->rollouts) > 0;
}

/* Wait for notes, let more gather for one window, send the events. A quiet
 * feed still wakes every KEEPALIVE_S to write a comment: that is how a
 * subscriber who left is noticed and released. */
static void *feed_main(void *arg)
{
    hub_events *ev = arg;
    struct timespec until;

    gf_os_thread_name("gf-events");
    pthread_mutex_lock(&ev->lock);
    while (!ev->stopping) {
        if (!pending(ev)) {
            deadline_in(&until, KEEPALIVE_S * 1000L);
            if (pthread_cond_timedwait(&ev->wake, &ev->lock, &until) == ETIMEDOUT && !pending(ev))
                broadcast(ev, NULL, ":\n\n");
            continue;
        }
        deadline_in(&until, HUB_EVENTS_WINDOW_MS);
        while (!ev->stopping && pthread_cond_timedwait(&ev->wake, &ev->lock, &until) == 0)
            ;
        if (!ev->stopping)
            flush(ev);
    }
    pthread_mutex_unlock(&ev->lock);
    return NULL;
}

int hub_events_new(hub_events **out)
{
    hub_events *ev = calloc(1, sizeof(*ev));

    *out = NULL;
    if (ev == NULL || (ev->names = json_object()) == NULL ||
        (ev->rollouts = json_object()) == NULL) {
        if (ev)
            json_decref(ev->names);
        free(ev);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&ev->lock, NULL);
    pthread_cond_init(&ev->wake, NULL);
    if (pthread_create(&ev->thread, NULL, feed_main, ev) != 0) {
        json_decref(ev->names);
        json_decref(ev->rollouts);
        pthread_cond_destroy(&ev->wake);
        pthread_mutex_destroy(&ev->lock);
        free(ev);
        return gf_error_set(GF_ERROR, "cannot start the event feed thread");
    }
    *out = ev;
    return 0;
}

void hub_events_free(hub_events *ev)
{
    if (ev == NULL)
        return;
    pthread_mutex_lock(&ev->lock);
    ev->stopping = 1;
    pthread_cond_broadcast(&ev->wake);
    pthread_mutex_unlock(&ev->lock);
    pthread_join(ev->thread, NULL);
    while (ev->subs) {
        struct subscriber *s = ev->subs;
        ev->subs = s->next;
        hub_http_stream_close(s->stream);
        free(s);
    }
    json_decref(ev->names);
    json_decref(ev->rollouts);
    pthread_cond_destroy(&ev->wake);
    pthread_mutex_destroy(&ev->lock);
    free(ev);
}

/* Note `name` in `set`, or give up listing past MAX_NAMES (*all). Lock held. */
static void note_name(json_t *set, int *all, const char *name)
{
    if (!*all && json_object_size(set) >= MAX_NAMES) {
        *all = 1;
        json_object_clear(set);
    }
    if (!*all)
        json_object_set_new(set, name, json_true());
}

void hub_events_cluster(hub_events *ev, const char *cluster)
{
    if (ev == NULL || cluster == NULL)
        return;
    pthread_mutex_lock(&ev->lock);
    note_name(ev->names, &ev->all, cluster);
    pthread_cond_signal(&ev->wake);
    pthread_mutex_unlock(&ev->lock);
}

void hub_events_rollout(hub_events *ev, const char *appset)
{
    if (ev == NULL || appset == NULL)
        return;
    pthread_mutex_lock(&ev->lock);
    note_name(ev->rollouts, &ev->rollouts_all, appset);
    pthread_cond_signal(&ev->wake);
    pthread_mutex_unlock(&ev->lock);
}

/* Equal but for "time"? (agents repeat unchanged reports on a timer) */
static int same_report(const json_t *a, const json_t *b)
{
    const char *key;
    json_t *value;

    if (a == NULL || b == NULL || json_object_size(a) != json_object_size(b))
        return 0;
    json_object_foreach((json_t *)a, key, value)
    {
        if (strcmp(key, "time") != 0 && !json_equal(value, json_object_get(b, key)))
            return 0;
    }
    return 1;
}

void hub_events_report(hub_events *ev, const char *cluster, const json_t *previous,
                       const json_t *report)
{
    if (!same_report(previous, report))
        hub_events_cluster(ev, cluster);
}

void hub_events_pass(hub_events *ev, const char *revision, const char *error)
{
    if (ev == NULL)
        return;
    pthread_mutex_lock(&ev->lock);
    snprintf(ev->revision, sizeof(ev->revision), "%s", revision ? revision : "");
    snprintf(ev->error, sizeof(ev->error), "%s", error ? error : "");
    ev->pass_changed = 1;
    pthread_cond_signal(&ev->wake);
    pthread_mutex_unlock(&ev->lock);
}

int hub_events_subscribe(hub_events *ev, hub_http_call *c)
{
    struct subscriber *s = calloc(1, sizeof(*s));
    int error;

    if (s == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    pthread_mutex_lock(&ev->lock);
    if (ev->n_subs >= MAX_SUBSCRIBERS || ev->stopping) {
        pthread_mutex_unlock(&ev->lock);
        free(s);
        return gf_error_set(GF_ETOOBIG, "too many event subscribers (%d)", MAX_SUBSCRIBERS);
    }
    if ((error = hub_http_stream_start(&s->stream, c, "text/event-stream")) < 0) {
        pthread_mutex_unlock(&ev->lock);
        free(s);
        return error;
    }
    json_t *doc = event_doc(ev, "clusters", NULL, 0);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    /* reconnecting EventSource clients wait 3 s, not the browser's default */
    hub_http_stream_write(s->stream, "retry: 3000\n\n", 13);
    if (text == NULL || hub_http_stream_event(s->stream, "hello", text) < 0) {
        hub_http_stream_close(s->stream);
        free(s);
    } else {
        s->next = ev->subs;
        ev->subs = s;
        ev->n_subs++;
    }
    free(text);
    json_decref(doc);
    pthread_mutex_unlock(&ev->lock);
    return 0;
}

unsigned hub_events_subscribers(hub_events *ev)
{
    unsigned n;

    pthread_mutex_lock(&ev->lock);
    n = ev->n_subs;
    pthread_mutex_unlock(&ev->lock);
    return n;
}
