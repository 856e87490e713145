/* rollouts.h -- the hub's progressive rollouts: started by commits, driven by reports, kept in the
 * store */
#ifndef HUB_ROLLOUTS_H
#define HUB_ROLLOUTS_H

#include "fleet.h"
#include "rollout.h"
#include "store.h"

#include <jansson.h>

/*
 * The hub runs one rollout per RollingSync ApplicationSet at a time
 * (docs/rollouts.md). A render pass asks, for every app of such a set,
 * whether to publish what Git now renders or to keep holding what the
 * cluster has (hub_rollouts_decide); after the pass, the apps it held become
 * the targets of a new rollout, and a rollout under way whose targets Git
 * moved again is superseded by it (restarting at step 1 with the newer
 * revision). Between passes, hub_rollouts_tick() advances every active
 * rollout from what the agents report and asks the hub to release or hold
 * targets; operator commands act through the same path. Every change is
 * written to the store before its actions are carried out, so a restart
 * neither repeats nor skips a step.
 *
 * Thread safety: every function takes the controller's own lock; the env
 * callbacks are called with it held and must not call back in.
 */
typedef struct hub_rollouts hub_rollouts;

struct hub_rollouts_env {
    hub_store *store;
    /* Keep publishing `hash` (the state the cluster has; "" when the app is
     * new there) for the app on the cluster / let Git's state through. With
     * `sync`, the app is not automated: ask its agent to sync it. */
    int (*hold)(void *arg, const char *cluster, const char *app, const char *hash);
    int (*release)(void *arg, const char *cluster, const char *app, int sync);
    /* Is the app held on that cluster (a pin in place)? */
    int (*is_held)(void *arg, const char *cluster, const char *app);
    /* What the cluster reports for the target's app. */
    hub_rollout_observe_fn observe;
    void *arg;
};

int hub_rollouts_open(hub_rollouts **out, const struct hub_rollouts_env *env);
/* The hub's: reports read from its store; holds made as pins (hub/pin.h,
 * holder "rollout"), each followed by a republish of that cluster. */
struct hub;
int hub_rollouts_open_hub(hub_rollouts **out, struct hub *h);
void hub_rollouts_free(hub_rollouts *rs);

/* One app of a RollingSync ApplicationSet, as a render pass sees it. */
struct hub_rollouts_app {
    const char *cluster, *app;
    const struct hub_fleet_appset *appset;
    const json_t *labels;
    const char *rendered_hash;  /* what Git renders now */
    const char *in_effect_hash; /* what the cluster was last given ("" when none) */
    int automated;
};

/* During a pass, per app of a RollingSync ApplicationSet: 1 to keep holding
 * the cluster's state, 0 to publish Git's. An app no rollout has released
 * to `rendered_hash` is held when Git changed it. The held apps are noted
 * for hub_rollouts_after_pass(). Safe from render threads. */
int hub_rollouts_decide(hub_rollouts *rs, const struct hub_rollouts_app *app);

/* After a pass at `revision`: start (or supersede into) one rollout per
 * ApplicationSet whose apps were held, stored before returning. */
int hub_rollouts_after_pass(hub_rollouts *rs, const struct hub_fleet *fleet, const char *revision,
                            int64_t now_ms);

/* Advance every active rollout; *changed_out counts the releases and holds
 * carried out (the hub republishes when it is not 0). */
int hub_rollouts_tick(hub_rollouts *rs, int64_t now_ms, size_t *changed_out);

/* Is any rollout active (the hub ticks often while one is)? */
int hub_rollouts_any_active(hub_rollouts *rs);

/* pause | resume | promote | abort the active rollout of `appset`
 * (GF_ENOTFOUND when none, GF_ECONFLICT when the phase does not allow it,
 * GF_EINVAL for another verb). */
int hub_rollouts_command(hub_rollouts *rs, const char *appset, const char *verb, int64_t now_ms);

/* The API's views (new references): every rollout kept (active first, then
 * the newest finished), and one ApplicationSet's newest rollout
 * (GF_ENOTFOUND when it never had one). */
int hub_rollouts_list_json(hub_rollouts *rs, json_t **out, int64_t now_ms);
int hub_rollouts_get_json(hub_rollouts *rs, const char *appset, json_t **out, int64_t now_ms);

/* Prometheus lines for /metrics (malloc'd text). */
char *hub_rollouts_metrics(hub_rollouts *rs);

#endif
