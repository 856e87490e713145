/* rollout.h -- one progressive rollout of an ApplicationSet's change: steps, gates, the state
 * machine */
#ifndef HUB_ROLLOUT_H
#define HUB_ROLLOUT_H

#include "strategy.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A rollout moves the apps of one RollingSync ApplicationSet from the state
 * each cluster runs ("from", a content hash; "" when the app is new there)
 * to the state Git now renders for it ("to"). Until a target is released the
 * hub holds it at "from" (a pin: the cluster's bundle keeps the old state of
 * that app); releasing it lets the new state through, and the agent syncs it.
 *
 * The machine is pure: hub_rollout_step_once() reads what the fleet reports
 * through a callback, changes the rollout, and says which targets to release
 * or to hold again. The caller applies those actions, stores the rollout
 * (its JSON form) and publishes. Rules (docs/rollouts.md):
 *
 * - Steps run in order. In the current step at most maxUpdate targets are
 *   Updating at once; a target is Updating from its release until it reports
 *   the new state Synced and Healthy, then Baking until it has stayed so for
 *   the step's bake time, then Done. A step is complete when all its targets
 *   are Done (or failed within the step's tolerance).
 * - A target fails when it reports Degraded at the new state, its sync
 *   operation for the new state Failed or Errored, or the step's progress
 *   deadline passes before it is Synced and Healthy (disconnected clusters
 *   simply are not; the bake that follows has no deadline). More failures than the step tolerates
 * trigger the failure policy: halt (the rollout stops; released targets stay, the rest stay held)
 * or rollback (every target of this and earlier steps that took the new state is held at its old
 * state again).
 * - Targets of a step with maxUpdate 0 wait for a manual sync (an operator
 *   releasing them); the step completes when they all are Done. Targets no
 *   step selects are not part of the steps: they stay held until synced by
 *   hand and never block the rollout.
 * - Pause stops releases and freezes the deadline; promote ends the current
 *   step's bake; abort rolls back as the rollback policy would.
 */

enum hub_rollout_phase {
    HUB_ROLLOUT_PROGRESSING,
    HUB_ROLLOUT_PAUSED,
    HUB_ROLLOUT_HALTED,
    HUB_ROLLOUT_COMPLETED,
    HUB_ROLLOUT_ROLLED_BACK,
    HUB_ROLLOUT_ABORTED,
    HUB_ROLLOUT_SUPERSEDED
};

enum hub_target_state {
    HUB_TARGET_WAITING,  /* a later step's, held */
    HUB_TARGET_PENDING,  /* its step runs; held until a maxUpdate slot frees */
    HUB_TARGET_MANUAL,   /* held until an operator syncs it (no step, or maxUpdate 0) */
    HUB_TARGET_UPDATING, /* released; not yet Synced and Healthy at the new state */
    HUB_TARGET_BAKING,   /* Synced and Healthy at the new state since healthy_since_ms */
    HUB_TARGET_DONE,
    HUB_TARGET_FAILED,
    HUB_TARGET_ROLLED_BACK /* held at its old state again */
};

struct hub_rollout_target {
    char *cluster, *app;
    int step;      /* -1: no step selects it */
    int automated; /* the app syncs itself once released; else the hub asks for a sync */
    char from_hash[65], to_hash[65];
    enum hub_target_state state;
    int64_t released_ms, healthy_since_ms;
    char message[256];
};

/* What the fleet says of one target, filled by the caller's callback. */
struct hub_rollout_observation {
    int connected;
    int held;                /* the hub still holds it (a pin is in place) */
    const char *synced_hash; /* the state the agent last synced, "" if none */
    const char *health;      /* Healthy | Progressing | Degraded | ... */
    const char *op_phase;    /* the app's operation: Running | Succeeded | Failed | Error */
    const char *op_hash;     /* the state that operation synced */
    const char *message;
};
typedef void (*hub_rollout_observe_fn)(void *arg, const struct hub_rollout_target *t,
                                       struct hub_rollout_observation *out);

enum hub_rollout_action_kind { HUB_ROLLOUT_RELEASE, HUB_ROLLOUT_HOLD };
struct hub_rollout_action {
    enum hub_rollout_action_kind kind;
    const struct hub_rollout_target *target; /* borrowed from the rollout */
};

typedef struct hub_rollout hub_rollout;

/* A new rollout of `appset` to `revision` over `targets` (step, from and to
 * filled; the rollout takes copies). Every target starts held, except those
 * the first step may release at once (returned by the first step_once). */
int hub_rollout_new(hub_rollout **out, const char *appset, const char *revision,
                    const struct hub_strategy *strategy, const struct hub_rollout_target *targets,
                    size_t n_targets, int64_t now_ms);
void hub_rollout_free(hub_rollout *r);

/* Advance the machine once. *actions_out (malloc'd, may be NULL when
 * *n_out is 0) lists what to release and what to hold again; it borrows
 * targets from `r`. Returns 1 when the rollout changed (store it), 0 when
 * not. */
int hub_rollout_step_once(hub_rollout *r, hub_rollout_observe_fn observe, void *arg, int64_t now_ms,
                          struct hub_rollout_action **actions_out, size_t *n_out);

/* Operator commands. Pause/resume fail with GF_ECONFLICT when the rollout
 * is not in a phase that allows them; abort holds back what was released
 * (its actions as step_once's). */
int hub_rollout_pause(hub_rollout *r, int64_t now_ms);
int hub_rollout_resume(hub_rollout *r, int64_t now_ms);
int hub_rollout_promote(hub_rollout *r);
int hub_rollout_abort(hub_rollout *r, struct hub_rollout_action **actions_out, size_t *n_out);
/* A newer revision takes over: this one ends as Superseded. */
void hub_rollout_supersede(hub_rollout *r, int64_t now_ms);

int64_t hub_rollout_id(const hub_rollout *r);
void hub_rollout_set_id(hub_rollout *r, int64_t id);
const char *hub_rollout_appset(const hub_rollout *r);
const char *hub_rollout_revision(const hub_rollout *r);
enum hub_rollout_phase hub_rollout_phase(const hub_rollout *r);
int hub_rollout_active(const hub_rollout *r); /* progressing, paused or halted */
const char *hub_rollout_phase_name(enum hub_rollout_phase phase);
const char *hub_rollout_target_state_name(enum hub_target_state state);
/* The target for (cluster, app), or NULL. Borrowed. */
const struct hub_rollout_target *hub_rollout_target(const hub_rollout *r, const char *cluster,
                                                    const char *app);
size_t hub_rollout_n_targets(const hub_rollout *r);
const struct hub_rollout_target *hub_rollout_target_at(const hub_rollout *r, size_t i);

/* The durable form (new reference) and back: what the store keeps and the
 * API shows (steps with their gates and counts, targets, timers, why it
 * waits). */
json_t *hub_rollout_to_json(const hub_rollout *r, int64_t now_ms);
int hub_rollout_from_json(hub_rollout **out, const json_t *doc);

#endif
