/* appops.h -- the hub's side of per-app operations: sync and rollback requests, their end, views */
#ifndef HUB_APPOPS_H
#define HUB_APPOPS_H

#include "auth.h"
#include "hub.h"

#include <jansson.h>

/*
 * Issue 10. `POST /api/v1/apps/APP/sync` and `.../rollback` land here: the
 * clusters targeted are resolved from the current fleet, each gets a stored
 * request (hub/opreq.h) and its bundle is republished with it; a rollback
 * first pins the app at the chosen synced state (hub/pin.h,
 * hub/appstate.h), and a sync releases a rollback pin. Each report then
 * finishes requests and records the states the agent synced.
 */

/* The tables of pin, appstate and opreq (once, at hub start). */
int hub_appops_init(hub_store *store);

/*
 * A sync request for `app`: body {"clusters": [..] | "selector": "k=v,k!=v,k,!k",
 * "prune", "dryRun", "force": bool, "resources": [{"group","kind",
 * "namespace","name"}]}; no clusters and no selector: every cluster Git
 * gives the app. `who` must be allowed to operate the app's project.
 * *out: {"app", "operations": [request...], "released": [clusters whose
 * rollback pin the sync ended]}.
 */
int hub_appops_sync(hub *h, const struct hub_principal *who, const char *app, const json_t *body,
                    json_t **out);

/* A rollback of `app` on body {"cluster": C, "to": "GENERATION|REVISION"
 * (optional), "prune": bool}. *out: {"app", "cluster", "to": state,
 * "operation": request}. */
int hub_appops_rollback(hub *h, const struct hub_principal *who, const char *app,
                        const json_t *body, json_t **out);

/* A report of `cluster` was stored (`previous` is the one before, may be
 * NULL): finish requests, remember synced states, republish if needed. */
void hub_appops_on_report(hub *h, const char *cluster, const json_t *previous,
                          const json_t *report);

/* The states of `app` one may roll back to, per cluster (`cluster` may be
 * NULL): {"app", "clusters": [{"cluster", "current", "git", "pin",
 * "states": [...]}]}. GF_ENOTFOUND when no cluster has the app. */
int hub_appops_states(hub *h, const char *app, const char *cluster, json_t **out);

/* One app across clusters (`cluster` may be NULL): {"app", "clusters":
 * [the status row of the app with "cluster", its resources and its
 * "operations" (the newest requests)]}. GF_ENOTFOUND when no cluster has it. */
int hub_appops_get(hub *h, const char *app, const char *cluster, json_t **out);

/* Open requests of `cluster` (NULL: of every cluster) as {cluster:
 * [request, ...]} (status.c shows them per app). */
json_t *hub_appops_open_requests_by_cluster(hub *h, const char *cluster);

#endif
