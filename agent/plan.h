/* plan.h -- a sync operation's order (phases, waves, kinds) and the executor that walks it */
#ifndef GF_AGENT_PLAN_H
#define GF_AGENT_PLAN_H

#include "health.h"

#include <jansson.h>
#include <stddef.h>

/*
 * Ordering follows Argo CD (gitops-engine pkg/sync): phase, then wave, then
 * kind in Argo CD's kind order (unknown kinds last), then name (ties:
 * namespace, group). Rules and the decisions gitfleet takes where Argo CD
 * is loose:
 * - argocd.argoproj.io/hook is a comma-separated list of PreSync, Sync,
 *   PostSync, SyncFail, Skip, PreDelete, PostDelete. A hook with several
 *   types runs once in each of its sync phases. An object whose types name
 *   no sync phase (Skip alone; PreDelete and PostDelete belong to app
 *   deletion) is left out and counted in n_skipped; "Skip,PreSync" is a
 *   PreSync hook, as in gitops-engine. Any other value is GF_EINVAL (Argo CD
 *   silently drops unknown types, so a typo such as "Presync" would make
 *   the migration Job never run without a word).
 * - Objects without a hook are applied in the Sync phase.
 * - The wave is argocd.argoproj.io/sync-wave, else gitfleet.io/sync-wave,
 *   else 0; hooks too. A value that is not a decimal int is GF_EINVAL.
 * - argocd.argoproj.io/hook-delete-policy is a comma-separated list of
 *   HookSucceeded, HookFailed, BeforeHookCreation; a hook without one gets
 *   BeforeHookCreation (gitops-engine's default). Unknown values: GF_EINVAL.
 * - generateName: allowed on hooks only (as in Argo CD). Like Argo CD, the
 *   plan names such a hook itself, so it can be applied server-side and
 *   found again: generateName + lowercase("<rev>-<Phase>-<started_at>"),
 *   <rev> being the first 7 characters of the revision (all of it when
 *   shorter than 8). item->obj is then a copy carrying that name. Each sync
 *   makes a new object, so BeforeHookCreation does nothing for it: give it
 *   HookSucceeded or a Job ttlSecondsAfterFinished. A non-hook with
 *   generateName and no name is GF_EINVAL.
 * - Prunes run in the Sync phase. By default (Argo CD's), each prune runs in
 *   the wave of the live object, with the prune waves mirrored (highest
 *   wave pruned first), and before the applies of its wave. PruneLast
 *   (the app option or PruneLast=true in the live object's sync-options)
 *   moves the prune to a wave after the last Sync-phase wave
 *   (max(0, last wave) + 1). Argo CD deletes a wave's prunes in parallel;
 *   here they are in reverse kind order (Deployment before Namespace).
 * - As Argo CD does after sorting: a Namespace that comes after an object
 *   in it moves (with that object's phase and wave) right before the first
 *   such object; likewise a CRD before the first custom resource of its
 *   group/kind.
 * - Not done: helm.sh/hook annotations; the hook finalizer Argo CD adds.
 */

enum agent_plan_phase {
    AGENT_PLAN_PRESYNC = 0,
    AGENT_PLAN_SYNC,
    AGENT_PLAN_POSTSYNC,
    AGENT_PLAN_SYNCFAIL,
};

enum agent_plan_action {
    AGENT_PLAN_APPLY = 0, /* server-side apply the desired object */
    AGENT_PLAN_PRUNE,     /* delete the live object */
};

/* Hook delete policies, a bit set. */
#define AGENT_PLAN_DELETE_ON_SUCCESS 1u /* HookSucceeded */
#define AGENT_PLAN_DELETE_ON_FAILURE 2u /* HookFailed */
#define AGENT_PLAN_DELETE_BEFORE     4u /* BeforeHookCreation */

struct agent_plan_item {
    enum agent_plan_action action;
    enum agent_plan_phase phase;
    int wave;
    int hook;               /* 1 for hooks (any phase) */
    unsigned delete_policy; /* hooks only: AGENT_PLAN_DELETE_* bits */
    int generated;          /* the name was made from generateName */
    const json_t *obj;      /* desired (APPLY) or live (PRUNE); borrowed from the input, or
                               owned by the plan for generated names */
    /* Borrowed from obj ("" when absent). */
    const char *api_version, *kind, *namespace_, *name, *generate_name;
    char group[128]; /* from apiVersion; "" for core */
};

/* A run of items with the same phase and wave: items[first .. first+count). */
struct agent_plan_step {
    enum agent_plan_phase phase;
    int wave;
    size_t first, count;
};

struct agent_plan {
    struct agent_plan_item *items; /* in execution order */
    size_t n_items;
    struct agent_plan_step *steps; /* PreSync, Sync, PostSync steps, then SyncFail steps */
    size_t n_steps;
    size_t n_skipped; /* objects left out: Skip, PreDelete, PostDelete hooks */
};

struct agent_plan_input {
    json_t *const *apply; /* desired objects, borrowed: they must outlive the plan */
    size_t n_apply;
    json_t *const *prune; /* live objects to delete (already decided by agent_inventory) */
    size_t n_prune;
    int prune_last;       /* the app's PruneLast=true sync option */
    const char *revision; /* the Git revision synced (names generateName hooks); may be NULL */
    long long started_at; /* the operation's start, Unix seconds (same use) */
};

/*
 * Order `in` into a plan (*out, free with agent_plan_free()). Returns 0,
 * GF_EINVAL naming the object and annotation at fault, or GF_ENOMEM.
 */
int agent_plan_build(struct agent_plan **out, const struct agent_plan_input *in);
void agent_plan_free(struct agent_plan *plan);

/* Position of `kind` in Argo CD's kind order (0 = Namespace); every kind
 * not in the list shares the last rank. */
size_t agent_plan_kind_rank(const char *kind);

/* The sync wave of `obj` (argocd.argoproj.io/sync-wave, else
 * gitfleet.io/sync-wave, else 0). 0 or GF_EINVAL when not an integer. */
int agent_plan_wave(int *out, const json_t *obj);

/* "PreSync", "Sync", "PostSync", "SyncFail". */
const char *agent_plan_phase_name(enum agent_plan_phase phase);

/* "group/Kind namespace/name" of an item (core group: "Kind ns/name";
 * cluster-scoped: "Kind name"), malloc'd. */
char *agent_plan_item_ref(const struct agent_plan_item *item);

/* One line per item: "<phase> <wave> <apply|prune|hook> <ref>[ delete=A,B]",
 * malloc'd; for logs and tests. */
char *agent_plan_describe(const struct agent_plan *plan);

/* --- the executor ---------------------------------------------------------
 *
 * agent_plan_run() walks a plan as gitops-engine does:
 * 1. For each step (PreSync waves, Sync waves, PostSync waves): wait
 *    wave_delay after the previous step; delete the existing objects of
 *    named BeforeHookCreation hooks and wait until they are gone; delete the
 *    step's prunes; apply its objects.
 * 2. Then wait until the step is done: hooks that are Pods, batch Jobs or
 *    argoproj.io Workflows succeed when Healthy and fail when Degraded;
 *    other hooks succeed once created; plain objects must become Healthy
 *    (or have no health rule), Degraded fails them; prunes wait until the
 *    object is gone. In the final step (the last one before SyncFail),
 *    plain objects and prunes are done once applied/deleted, as in Argo CD
 *    ("successful even if those objects subsequently degrade"), so a sync
 *    without hooks or waves is one pass of applies.
 * 3. A failed apply or delete, a failed hook, a Degraded object or a step
 *    that is not done within wave_timeout fails the operation: the SyncFail
 *    steps run (same rules), and the result is Failed with the first
 *    failure's phase, wave, object and message.
 * 4. At the end, as gitops-engine does, hooks that were applied and are not
 *    still running are deleted by their policy against the operation's
 *    outcome: HookSucceeded ones when it succeeded, HookFailed ones when it
 *    failed (SyncFail hooks included).
 */

enum agent_plan_state {
    AGENT_PLAN_PENDING = 0, /* items only: not reached */
    AGENT_PLAN_RUNNING,
    AGENT_PLAN_SUCCEEDED,
    AGENT_PLAN_FAILED,
};

struct agent_plan_result;

struct agent_plan_callbacks {
    void *ctx;
    /* Apply item->obj server-side. 0 or < 0 with a gf_error message. */
    int (*apply)(void *ctx, const struct agent_plan_item *item);
    /* Health of the live object of `item`: agent_health_assess() of a GET,
     * AGENT_HEALTH_MISSING when it is absent. A read error (< 0) is retried
     * until the wave times out. */
    int (*health)(void *ctx, const struct agent_plan_item *item, struct agent_health *out);
    /* Delete the live object of `item`; an absent one is 0 (or
     * GF_ENOTFOUND, also fine). */
    int (*remove)(void *ctx, const struct agent_plan_item *item);
    /* Monotonic seconds and a sleep; NULL: the real clock. Tests script
     * time through these. */
    double (*now)(void *ctx);
    void (*sleep)(void *ctx, double seconds);
    /* Optional: called after each step's applies and after each health
     * round that leaves items waiting, with the result so far (state
     * RUNNING, per-item states), so the caller can report progress.
     * Borrowed for the call only. */
    void (*progress)(void *ctx, const struct agent_plan_result *so_far);
    /* Optional: true when the operation must stop now (the agent is
     * stopping). The executor then ends at the next step or health round,
     * Failed with "cancelled", without SyncFail hooks or hook deletions. */
    int (*cancelled)(void *ctx);
};

struct agent_plan_options {
    double timeout;      /* whole operation, seconds; 0: none */
    double wave_timeout; /* one step's wait for health or hooks; 0: 300 */
    double wave_delay; /* pause between steps (Argo CD: 2s, the default with NULL opts); 0: none */
    double poll_interval; /* between health reads; 0: 1s */
};

/* What happened to one item; results[i] belongs to plan->items[i]. */
struct agent_plan_item_result {
    enum agent_plan_state state; /* PENDING: not reached; RUNNING: not finished */
    char *message;               /* owned; NULL when none */
};

struct agent_plan_result {
    enum agent_plan_state state;
    /* On failure: where the first failure happened. */
    enum agent_plan_phase phase;
    int wave;
    char *object;  /* agent_plan_item_ref() of the failed item; NULL for a timeout of the whole
                      operation */
    char *message; /* owned: what failed, plus any SyncFail hook failure */
    struct agent_plan_item_result *items; /* n = plan->n_items, owned */
    size_t n_items;
};

/*
 * Run `plan` to the end with `cb` (borrowed) and `opts` (NULL: defaults),
 * filling *out (release with agent_plan_result_clear()). Returns 0 once the
 * operation has finished, Succeeded or Failed (see out->state), or
 * GF_EINVAL / GF_ENOMEM when it could not be run at all.
 */
int agent_plan_run(struct agent_plan_result *out, const struct agent_plan *plan,
                   const struct agent_plan_callbacks *cb, const struct agent_plan_options *opts);

void agent_plan_result_clear(struct agent_plan_result *result);

/* `result` of running `plan` as JSON for a report (caller owns; NULL on OOM):
 * {"state": "Succeeded", "message"?, "failed"?: {"phase", "wave", "object"},
 *  "items": [{"phase", "wave", "action": "apply"|"hook"|"prune", "object",
 *             "state": "Pending"|"Running"|"Succeeded"|"Failed", "message"?}]} */
json_t *agent_plan_result_to_json(const struct agent_plan *plan,
                                  const struct agent_plan_result *result);

const char *agent_plan_state_name(enum agent_plan_state state);

#endif
