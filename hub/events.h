/* events.h -- the hub's change feed for the dashboard: reports, sync passes and rollouts, as
 * server-sent events */
#ifndef HUB_EVENTS_H
#define HUB_EVENTS_H

#include <jansson.h>

typedef struct hub_events hub_events;
typedef struct hub_http_call hub_http_call;

/*
 * Producers (the report handler, the sync loop, cluster add/remove, the
 * rollout engine) note what changed; nothing is sent from their threads. A
 * feed thread coalesces the notes and, at most every HUB_EVENTS_WINDOW_MS,
 * sends each subscriber one event of each kind:
 *   event: change
 *   data: {"seq":N,"clusters":["dev-1",...],"all":false,"revision":"<commit>","error":""}
 * `clusters` names those with a new report (at most 256; past that, "all" is
 * true and the list is empty: reload everything). `revision` and `error`
 * are the last sync pass's. A rollout that changed (started, a target or
 * step moved, paused, resumed, promoted, ended) is its own kind, sent in the
 * same window:
 *   event: rollout
 *   data: {"seq":N,"rollouts":["web",...],"all":false,"revision":"<commit>","error":""}
 * (`rollouts`: ApplicationSets, at most 256; past that "all" is true and the
 * list is empty). A new subscriber first gets `event: hello` with the same
 * members as a change and no clusters. Quiet feeds get a ":" comment every
 * 15 s.
 */
#define HUB_EVENTS_WINDOW_MS 500

int hub_events_new(hub_events **out);
/* Ends every subscriber's stream. NULL is fine. */
void hub_events_free(hub_events *ev);

void hub_events_cluster(hub_events *ev, const char *cluster);
/* A report of `cluster` was stored: noted only when it says something new
 * (`previous`, may be NULL, differs in more than its time), so a fleet whose
 * agents report the same state every 30 s sends no events. */
void hub_events_report(hub_events *ev, const char *cluster, const json_t *previous,
                       const json_t *report);
void hub_events_pass(hub_events *ev, const char *revision, const char *error);
/* The rollout of ApplicationSet `appset` changed (the rollout engine calls
 * this whenever it stores one). NULL `ev` is fine. */
void hub_events_rollout(hub_events *ev, const char *appset);

/* Answer `c` with the feed (text/event-stream) until the client goes or the
 * hub stops. GF_ETOOBIG (the caller answers 503) past 1,024 subscribers. */
int hub_events_subscribe(hub_events *ev, hub_http_call *c);

/* Subscribers now (for tests and /metrics). */
unsigned hub_events_subscribers(hub_events *ev);

#endif
