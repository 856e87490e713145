/* opreq.h -- operators' requests for one app (sync, rollback): stored, carried in bundles, finished
 */
#ifndef HUB_OPREQ_H
#define HUB_OPREQ_H

#include "gitfleet.pb-c.h"
#include "store.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A request (`gitfleet sync APP`, `gitfleet rollback`) is one row per
 * targeted cluster in `app_operations`. Publish puts every request of a
 * cluster that is neither finished nor expired into its signed bundle
 * (Bundle.operations); the agent runs each id once and reports its
 * progress as the app's operationState with that id; once that says
 * Succeeded, Failed or Error the request is finished and leaves the next
 * bundle. The newest HUB_OPREQ_KEEP requests are kept.
 */
#define HUB_OPREQ_KEEP 10000

struct hub_opreq {
    char id[40]; /* "op-" and 16 hex digits; assigned by hub_opreq_add() */
    char cluster[HUB_STORE_NAME_MAX];
    char app[256];
    char kind[16]; /* "sync" | "rollback" */
    int prune, dry_run, force;
    const json_t *resources; /* [{"group","kind","namespace","name"}] or NULL: the whole app */
    int64_t requested_ms, expires_ms;
    char requested_by[72];
};

int hub_opreq_init(hub_store *store);

/* Store `req` (its id is filled in). */
int hub_opreq_add(hub_store *store, struct hub_opreq *req);

/* The requests of `cluster` to carry at `now_ms`, oldest first, as proto
 * messages (free with hub_opreq_proto_free()). */
int hub_opreq_pending_proto(hub_store *store, const char *cluster, int64_t now_ms,
                            Gitfleet__AppOperationRequest ***out, size_t *count_out);
void hub_opreq_proto_free(Gitfleet__AppOperationRequest **ops, size_t count);

/* The agent of `cluster` reported `state` (an operationState, JSON) whose
 * id names one of its requests: keep it; *finished_out is 1 when this
 * report finished the request (it leaves the bundle). Other ids: ignored. */
int hub_opreq_update(hub_store *store, const char *cluster, const json_t *state, int64_t now_ms,
                     int *finished_out);

/* Requests, newest first, of `cluster` and `app` (NULL: any), at most
 * `limit`; each {"id","cluster","app","kind","prune","dryRun","force",
 * "resources","requestedAt","requestedBy","expiresAt","phase","message",
 * "finishedAt","state"}. phase: Pending (not reported yet), Expired, or the
 * agent's (Running, Succeeded, Failed, Error). */
int hub_opreq_list(hub_store *store, const char *cluster, const char *app, int64_t now_ms,
                   size_t limit, json_t **out);

/* The open requests of `cluster` (NULL: of every cluster; neither finished
 * nor expired), oldest first, in the same JSON form. */
int hub_opreq_open(hub_store *store, const char *cluster, int64_t now_ms, json_t **out);

#endif
