/* appsync.h -- when an app is synced (Argo CD's rules), and the per-app state those rules rest on
 */
#ifndef GF_AGENT_APPSYNC_H
#define GF_AGENT_APPSYNC_H

#include "gitfleet.pb-c.h"

#include <jansson.h>
#include <stdint.h>

/*
 * The app is the unit of sync. Each app of the bundle carries its desired
 * state hash (App.content_hash, or gf_apphash_compute() when the hub sent
 * none); the agent remembers, per app, the hash it last synced successfully
 * (the "synced hash") and what its automated syncs tried. An app is synced
 * only when (agent_appsync_decide):
 *   1. an operator's request for it is in the bundle and was never run
 *      (any app, automated or not, suspended or not), or the bundle allows
 *      the prunes the app holds (`gitfleet sync --allow-prune`) -- OPERATOR;
 *   2. else a failed sync's retry policy says it is time -- RETRY;
 *   3. else, if it is automated, not suspended (a rollback pin) and renders:
 *      its desired hash differs from the synced hash and was not already
 *      tried and failed (Argo CD does not re-attempt a failed automated
 *      sync of the same state unless a retry policy says so) -- AUTOMATED;
 *   4. else, with selfHeal on and the live state OutOfSync -- SELF_HEAL
 *      (the drifted objects are re-applied; no hooks run), also when the
 *      current state's sync failed: what it applied is held to Git.
 * Otherwise nothing is applied: the app is compared with live and reports
 * Synced or OutOfSync at the bundle's revision.
 */
enum agent_appsync_trigger {
    AGENT_APPSYNC_NONE = 0,
    AGENT_APPSYNC_AUTOMATED,
    AGENT_APPSYNC_SELF_HEAL,
    AGENT_APPSYNC_RETRY,
    AGENT_APPSYNC_OPERATOR,
};

struct agent_appsync_facts {
    int automated, self_heal;
    int suspended;            /* App.auto_sync_suspended (rolled back, pinned) */
    int render_error;         /* the app failed to render: nothing to apply */
    int running;              /* an operation of this app is in progress */
    int live_out_of_sync;     /* the last comparison found drift or missing objects */
    const char *desired_hash; /* of the bundle's app */
    const char *synced_hash;  /* last successful sync ("" when none) */
    const char *failed_hash;  /* the desired hash an automated sync last failed on ("") */
    int request_pending;      /* an operator's request not yet run */
    int prune_allowed;        /* `gitfleet sync --allow-prune`: held prunes may go now */
    int retry_due;            /* a failed operation's retry is due */
};

/* What to do with an app now. */
enum agent_appsync_trigger agent_appsync_decide(const struct agent_appsync_facts *facts);

/* "automated", "selfHeal", "retry", "operator" ("" for NONE): the
 * operation's initiatedBy. */
const char *agent_appsync_trigger_name(enum agent_appsync_trigger trigger);

/* The app's desired hash: App.content_hash when the hub sent one, else
 * computed the same way (gitfleet/apphash.h). */
int agent_appsync_desired_hash(char out[65], Gitfleet__App *app);

/* The request in `bundle` for `app` that should run now (borrowed), or
 * NULL: the first whose id is not in `ran` (a JSON object id -> true),
 * that names this app and has not expired at `now_ms`. Expired requests
 * are returned through *expired_out (may be NULL) so that they can be
 * reported once as not run. */
const Gitfleet__AppOperationRequest *
agent_appsync_pending_request(const Gitfleet__Bundle *bundle, const char *app, const json_t *ran,
                              int64_t now_ms, const Gitfleet__AppOperationRequest **expired_out);

/*
 * The per-app memory, kept in <state_dir>/apps.json so that a restart does
 * not re-apply unchanged apps or re-run operations:
 *   {"apps": {"<app>": {"syncedHash", "syncedRevision", "syncedGeneration",
 *                       "failedHash", "operationState": {...},
 *                       "retry": {"at", "count", "hash"}}},   (a pending retry)
 *    "operationsRun": {"<id>": <unix ms>, ...}}
 * operationsRun keeps the newest 1,000 ids.
 */
struct agent_appsync_store;

/* Load (a missing or unreadable file is an empty store, with a warning in
 * the log for the latter). 0 or GF_ENOMEM. */
int agent_appsync_load(struct agent_appsync_store **out, const char *state_dir);
int agent_appsync_save(struct agent_appsync_store *store);
void agent_appsync_free(struct agent_appsync_store *store);

/* The record of `app` (borrowed; created empty when absent). */
json_t *agent_appsync_app(struct agent_appsync_store *store, const char *app);
/* The ids already run (borrowed). */
const json_t *agent_appsync_ran(const struct agent_appsync_store *store);
/* Remember that request `id` ran (or was refused) at `now_ms`. */
void agent_appsync_mark_ran(struct agent_appsync_store *store, const char *id, int64_t now_ms);
/* Forget apps not in `bundle` whose objects are all gone (their names are
 * passed by the caller). */
void agent_appsync_forget(struct agent_appsync_store *store, const char *app);

/* A string member of an app record ("" when absent). */
const char *agent_appsync_get(const json_t *record, const char *key);

#endif
