/* watch.h -- list+watch of one resource type, on its own thread, with relist on 410 */
#ifndef AGENT_WATCH_H
#define AGENT_WATCH_H

#include "kube.h"

#include <jansson.h>

/*
 * Called on the watch's thread for every object seen: at each (re)list with
 * type "LIST", then "ADDED", "MODIFIED", "DELETED" as they happen. `object`
 * is borrowed for the call. Keep it short: hand the work to another thread.
 */
typedef void (*agent_watch_fn)(void *arg, const char *type, const json_t *object);

struct agent_watch;

/*
 * Watch every object of `res` (all namespaces) that matches `label_selector`
 * (e.g. "gitfleet.io/app": only what gitfleet applied). The thread lists,
 * then watches from the list's resourceVersion; a 410 Gone (or an ERROR
 * event) relists; a broken stream reconnects with backoff (0.5 s doubling
 * to 30 s, with jitter); the server's end of a stream re-watches from the
 * last version seen.
 */
int agent_watch_start(struct agent_watch **out, agent_kube *kube,
                      const struct agent_kube_resource *res, const char *label_selector,
                      agent_watch_fn fn, void *arg);
/* Stop the thread (within about a second) and free. Accepts NULL. */
void agent_watch_stop(struct agent_watch *watch);

/* Which resource this watch follows. */
const struct agent_kube_resource *agent_watch_resource(const struct agent_watch *watch);

/*
 * The set of watches an agent needs: one per resource type its bundle
 * holds. agent_watchset_update() starts the missing ones and stops those no
 * longer needed; kinds the server does not know (yet) are retried at the
 * next update.
 */
struct agent_watchset;

int agent_watchset_new(struct agent_watchset **out, agent_kube *kube, const char *label_selector,
                       agent_watch_fn fn, void *arg);
/* `kinds` is a JSON array of ["apiVersion", "kind"] pairs. */
int agent_watchset_update(struct agent_watchset *set, const json_t *kinds);
size_t agent_watchset_size(const struct agent_watchset *set);
void agent_watchset_free(struct agent_watchset *set);

#endif
