/* apply.h -- syncing a verified bundle: waves and hooks, prune with an inventory, drift, health */
#ifndef AGENT_APPLY_H
#define AGENT_APPLY_H

#include "gitfleet.pb-c.h"
#include "kube.h"

#include <jansson.h>

#define AGENT_FIELD_MANAGER "gitfleet"

struct agent_apply_config {
    const char *state_dir;  /* inventories live in <state_dir>/inventory/ */
    const char *namespace_; /* the agent's namespace: inventory ConfigMaps ("" or NULL: none) */
    double wave_timeout;    /* seconds a wave may take to become healthy (0: 300) */
    double sync_timeout;    /* seconds a whole app sync may take (0: none) */
    double wave_delay;      /* pause between waves (Argo CD: 2 s) */
    double prune_max_share; /* safety valve (0: 0.5) */
};

/*
 * One app's sync operation, as the caller decided it (agent/appsync.h).
 * Every pointer is borrowed for the call.
 */
struct agent_apply_op {
    const char *id;           /* the operator's request id; "" for automated syncs */
    const char *kind;         /* "sync" | "rollback" */
    const char *initiated_by; /* automated | selfHeal | retry | operator */
    const char *desired_hash; /* the state being synced */
    int prune;                /* deletions allowed (automated.prune, or the request's) */
    int dry_run;              /* plan, compare and report; change nothing */
    int force;                /* Replace=true,Force=true for every object: delete and recreate
                                 what cannot be patched */
    int retry_count;          /* retries of this operation so far */
    Gitfleet__ResourceId *const *resources; /* only these objects (none: all) */
    size_t n_resources;
    /* Optional: the operation state while it runs (new reference handed
     * over), called on the syncing thread. */
    void (*progress)(void *arg, json_t *operation_state);
    void *progress_arg;
    const volatile int *cancel; /* becomes true: stop at the next step (shutdown) */
};

/*
 * Sync app `app` of `bundle` as Argo CD runs a sync operation: CreateNamespace,
 * then the prune decision against the app's inventory (only objects gitfleet
 * created, never more than the safety valve allows unless the bundle lists
 * the app in allow_prune, and only with op->prune), then phases, waves and
 * hooks (agent/plan.h), each object applied server-side as field manager
 * "gitfleet" (with RespectIgnoreDifferences=true, the ignored fields of
 * objects that exist are left out of the apply). Then every object is read
 * back for drift and health.
 *
 * *entry_out is the app's new report entry (gitfleet/report.h) with its
 * operationState. *transient_out is set when a failure is worth retrying
 * soon (the API server answered 429/5xx or did not answer). Safe to call
 * from several threads at once for different apps.
 */
int agent_apply_sync_app(json_t **entry_out, agent_kube *kube, const Gitfleet__Bundle *bundle,
                         const Gitfleet__App *app, const struct agent_apply_op *op,
                         const struct agent_apply_config *config, int *transient_out);

/*
 * Compare app `app` with the cluster without changing anything: per-object
 * sync (drift) and health, and the objects of its inventory that left Git
 * and are still there ("requires pruning": the app is then OutOfSync and
 * they are listed in its resources with requiresPruning set).
 */
int agent_apply_assess_app(json_t **entry_out, agent_kube *kube, const Gitfleet__Bundle *bundle,
                           const Gitfleet__App *app, const struct agent_apply_config *config,
                           int *transient_out);

/*
 * Apps whose inventory exists but that left the bundle: their objects are
 * held (they stay) unless the bundle allows the app's prunes, then deleted.
 * Appends their entries to the JSON array `apps`.
 */
int agent_apply_retire(json_t *apps, agent_kube *kube, const Gitfleet__Bundle *bundle,
                       const struct agent_apply_config *config, int *transient_out);

/*
 * What the steps after a sync need of a bundle, worked out once: each app's
 * ignoreDifferences rules and CreateNamespace, and where an object sits in
 * the bundle (and so in the
 * report, whose first entries follow the bundle's apps and resources).
 * Build it when a bundle is adopted; watch events then cost a hash lookup.
 * The bundle must outlive the index.
 */
struct agent_apply_index;
int agent_apply_index_new(struct agent_apply_index **out, const Gitfleet__Bundle *bundle);
void agent_apply_index_free(struct agent_apply_index *index);

/*
 * Compare the live object of one managed resource with what Git wants and
 * update its entry in `report`: `live` is the object as a watch delivered it
 * (NULL: deleted). *drifted_out tells whether it now differs; *changed_out
 * whether its entry changed. Objects the bundle does not hold are ignored.
 */
int agent_apply_observe(json_t *report, const struct agent_apply_index *index, const char *group,
                        const char *kind, const char *namespace_, const char *name,
                        const json_t *live, int *drifted_out, int *changed_out);

/* Re-read every object (GET) and update drift and health in `report`. */
int agent_apply_refresh(agent_kube *kube, const struct agent_apply_index *index, json_t *report,
                        int *changed_out);

/*
 * Self-heal: re-apply, in the bundle's order, the drifted objects of the
 * apps whose entry in `heal` (one int per bundle app) is set, then read
 * them back: AGENT_APPLY_HEAL_ALL drifted and missing objects,
 * AGENT_APPLY_HEAL_DRIFTED only objects that exist (the app's last sync of
 * this state failed, so missing ones may sit behind a wave that never ran).
 * *healed_out counts them.
 */
#define AGENT_APPLY_HEAL_ALL     1
#define AGENT_APPLY_HEAL_DRIFTED 2
int agent_apply_heal(agent_kube *kube, const struct agent_apply_index *index, json_t *report,
                     const int *heal, int *healed_out);

#endif
