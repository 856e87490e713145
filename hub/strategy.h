/* strategy.h -- an ApplicationSet's rollout strategy: Argo CD's RollingSync plus gitfleet's gates
 */
#ifndef HUB_STRATEGY_H
#define HUB_STRATEGY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/*
 * `spec.strategy` is read as Argo CD writes it:
 *
 *   strategy:
 *     type: RollingSync              # or AllAtOnce (the default)
 *     deletionOrder: Reverse         # or AllAtOnce
 *     rollingSync:
 *       steps:
 *         - matchExpressions:        # on the generated Applications' labels
 *             - {key: env, operator: In, values: [dev]}
 *           maxUpdate: 25%           # integer or percent; default 100%
 *
 * What Argo CD does not have comes from annotations on the ApplicationSet,
 * so the file still validates against Argo CD's CRD (docs/rollouts.md):
 *
 *   gitfleet.io/rollout-bake-time: "2m"          # per step: "30s,2m,10m"
 *   gitfleet.io/rollout-progress-deadline: "10m" # per step likewise
 *   gitfleet.io/rollout-failure-policy: halt     # or rollback
 *   gitfleet.io/rollout-max-failures: "0"        # per step; count or percent
 *
 * A comma list gives one value per step; its last value holds for the
 * steps after it.
 */

enum hub_failure_policy { HUB_FAILURE_HALT, HUB_FAILURE_ROLLBACK };

/* An integer or a percentage of a step's apps (Argo CD's IntOrString). */
struct hub_quantity {
    int percent; /* value is a percentage */
    int64_t value;
};

struct hub_rollout_step {
    json_t *match_expressions; /* the list as written (validated) */
    struct hub_quantity max_update;
    struct hub_quantity max_failures;
    int64_t bake_ms;
    int64_t deadline_ms;
};

struct hub_strategy {
    int rolling;          /* type RollingSync with at least one step */
    int deletion_reverse; /* deletionOrder: Reverse */
    enum hub_failure_policy failure_policy;
    struct hub_rollout_step *steps;
    size_t n_steps;
};

#define HUB_STRATEGY_DEFAULT_DEADLINE_MS (10 * 60 * 1000)

/* Parse `appset`'s spec.strategy and its rollout annotations into *out.
 * An ApplicationSet without a strategy (or AllAtOnce) gives rolling = 0.
 * GF_EINVAL names the field ("spec.strategy.rollingSync.steps[1].maxUpdate:
 * ..."); *out is then cleared. */
int hub_strategy_parse(struct hub_strategy *out, const json_t *appset);
void hub_strategy_clear(struct hub_strategy *s);

/* The first step whose matchExpressions all hold for `labels` (an object of
 * strings), or -1 when no step selects the app (it waits for a manual sync).
 * In holds when the label is present with one of the values; NotIn when the
 * label is absent or has none of them. */
int hub_strategy_step_of(const struct hub_strategy *s, const json_t *labels);

/* How many of a step's `n_apps` may be updating at once: maxUpdate as Argo
 * CD rounds it (a percentage rounds down but is at least 1 when above 0%;
 * 0 means none: the step's apps wait for a manual sync). */
size_t hub_strategy_max_update(const struct hub_quantity *max_update, size_t n_apps);

/* How many failed apps a step tolerates before the failure policy acts (a
 * percentage rounds down). */
size_t hub_strategy_max_failures(const struct hub_quantity *max_failures, size_t n_apps);

#endif
