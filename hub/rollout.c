/* rollout.c -- one progressive rollout of an ApplicationSet's change: steps, gates, the state
 * machine */
#include "rollout.h"

#include "gitfleet/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A step's gates, copied from the strategy when the rollout starts, so that
 * a later edit of the ApplicationSet does not change a rollout under way. */
struct step_gates {
    struct hub_quantity max_update, max_failures;
    int64_t bake_ms, deadline_ms;
};

struct hub_rollout {
    int64_t id;
    char *appset;
    char revision[41];
    enum hub_rollout_phase phase;
    enum hub_failure_policy policy;
    struct step_gates *steps;
    size_t n_steps;
    size_t step; /* the current step; n_steps once all are complete */
    int64_t started_ms, step_started_ms, finished_ms, paused_ms;
    int promoted; /* the current step's bake is skipped */
    char message[512];
    struct hub_rollout_target *targets;
    size_t n_targets;
};

/* ---- the action list ---- */

struct actions {
    struct hub_rollout_action *items;
    size_t n, cap;
};

static int add_action(struct actions *a, enum hub_rollout_action_kind kind,
                      const struct hub_rollout_target *t)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        struct hub_rollout_action *grown = realloc(a->items, cap * sizeof(*grown));
        if (grown == NULL)
            return gf_error_set(GF_ENOMEM, "out of memory");
        a->items = grown;
        a->cap = cap;
    }
    a->items[a->n++] = (struct hub_rollout_action){.kind = kind, .target = t};
    return 0;
}

/* ---- names ---- */

static const char *const phase_names[] = {"Progressing", "Paused",  "Halted",    "Completed",
                                          "RolledBack",  "Aborted", "Superseded"};
static const char *const state_names[] = {"Waiting", "Pending", "Manual", "Updating",
                                          "Baking",  "Done",    "Failed", "RolledBack"};

const char *hub_rollout_phase_name(enum hub_rollout_phase phase)
{
    return phase_names[phase];
}

const char *hub_rollout_target_state_name(enum hub_target_state state)
{
    return state_names[state];
}

static int name_index(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; name != NULL && i < n; i++)
        if (strcmp(names[i], name) == 0)
            return (int)i;
    return -1;
}

/* ---- construction ---- */

static void copy_hash(char out[65], const char *hash)
{
    snprintf(out, 65, "%s", hash ? hash : "");
}

static int copy_targets(hub_rollout *r, const struct hub_rollout_target *targets, size_t n)
{
    if (n > 0 && (r->targets = calloc(n, sizeof(*r->targets))) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct hub_rollout_target *t = &r->targets[i];
        *t = targets[i];
        t->cluster = strdup(targets[i].cluster);
        t->app = strdup(targets[i].app);
        r->n_targets = i + 1;
        if (t->cluster == NULL || t->app == NULL)
            return gf_error_set(GF_ENOMEM, "out of memory");
    }
    return 0;
}

/* Steps in order, the targets no step selects last; by cluster within. */
static int compare_targets(const void *a, const void *b)
{
    const struct hub_rollout_target *x = a, *y = b;
    unsigned sx = (unsigned)x->step, sy = (unsigned)y->step; /* -1 sorts last */
    int c = sx < sy ? -1 : sx > sy;
    if (c == 0)
        c = strcmp(x->cluster, y->cluster);
    return c ? c : strcmp(x->app, y->app);
}

static void initial_state(hub_rollout *r, struct hub_rollout_target *t)
{
    t->released_ms = t->healthy_since_ms = 0;
    t->message[0] = '\0';
    if (t->step < 0 || (size_t)t->step >= r->n_steps || r->steps[t->step].max_update.value == 0)
        t->state = HUB_TARGET_MANUAL;
    else
        t->state = HUB_TARGET_WAITING;
}

int hub_rollout_new(hub_rollout **out, const char *appset, const char *revision,
                    const struct hub_strategy *strategy, const struct hub_rollout_target *targets,
                    size_t n_targets, int64_t now_ms)
{
    hub_rollout *r = calloc(1, sizeof(*r));
    int error;

    *out = NULL;
    if (r == NULL || (r->appset = strdup(appset)) == NULL ||
        (strategy->n_steps && (r->steps = calloc(strategy->n_steps, sizeof(*r->steps))) == NULL)) {
        hub_rollout_free(r);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    snprintf(r->revision, sizeof(r->revision), "%s", revision);
    r->policy = strategy->failure_policy;
    r->n_steps = strategy->n_steps;
    for (size_t i = 0; i < r->n_steps; i++) {
        const struct hub_rollout_step *s = &strategy->steps[i];
        r->steps[i] =
            (struct step_gates){s->max_update, s->max_failures, s->bake_ms, s->deadline_ms};
    }
    if ((error = copy_targets(r, targets, n_targets)) < 0) {
        hub_rollout_free(r);
        return error;
    }
    if (r->n_targets > 1)
        qsort(r->targets, r->n_targets, sizeof(*r->targets), compare_targets);
    for (size_t i = 0; i < r->n_targets; i++)
        initial_state(r, &r->targets[i]);
    r->phase = HUB_ROLLOUT_PROGRESSING;
    r->started_ms = r->step_started_ms = now_ms;
    *out = r;
    return 0;
}

void hub_rollout_free(hub_rollout *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_targets; i++) {
        free(r->targets[i].cluster);
        free(r->targets[i].app);
    }
    free(r->targets);
    free(r->steps);
    free(r->appset);
    free(r);
}

/* ---- observing targets ---- */

static int is_released(enum hub_target_state s)
{
    return s == HUB_TARGET_UPDATING || s == HUB_TARGET_BAKING || s == HUB_TARGET_DONE ||
           s == HUB_TARGET_FAILED;
}

static int str_is(const char *a, const char *b)
{
    return a != NULL && strcmp(a, b) == 0;
}

/* Did the target fail at its new state? Sets its message. */
static int observed_failure(struct hub_rollout_target *t, const struct hub_rollout_observation *o)
{
    int at_new = str_is(o->synced_hash, t->to_hash);

    if (str_is(o->op_hash, t->to_hash) &&
        (str_is(o->op_phase, "Failed") || str_is(o->op_phase, "Error"))) {
        snprintf(t->message, sizeof(t->message), "sync %s: %s", o->op_phase,
                 o->message ? o->message : "");
        return 1;
    }
    if (at_new && str_is(o->health, "Degraded")) {
        snprintf(t->message, sizeof(t->message), "Degraded: %s", o->message ? o->message : "");
        return 1;
    }
    return 0;
}

/* Follow one released (or manually synced) target through Updating, Baking
 * and Done. Returns 1 when its state changed. */
static int follow(hub_rollout *r, struct hub_rollout_target *t,
                  const struct hub_rollout_observation *o, int64_t now)
{
    enum hub_target_state before = t->state;
    int64_t bake = t->step >= 0 && (size_t)t->step < r->n_steps ? r->steps[t->step].bake_ms : 0;
    int healthy =
        o->connected && str_is(o->synced_hash, t->to_hash) && str_is(o->health, "Healthy");

    if (t->state == HUB_TARGET_DONE || t->state == HUB_TARGET_FAILED)
        return 0;
    if (observed_failure(t, o)) {
        t->state = HUB_TARGET_FAILED;
        return 1;
    }
    if (!healthy) {
        t->state = HUB_TARGET_UPDATING;
        t->healthy_since_ms = 0;
        return t->state != before;
    }
    if (t->healthy_since_ms == 0)
        t->healthy_since_ms = now;
    t->state = (now - t->healthy_since_ms >= bake || (r->promoted && t->step == (int)r->step))
                   ? HUB_TARGET_DONE
                   : HUB_TARGET_BAKING;
    if (t->state != before)
        t->message[0] = '\0';
    return t->state != before;
}

/* An operator synced a held target by hand: it counts as released. */
static int picked_up_by_hand(struct hub_rollout_target *t, const struct hub_rollout_observation *o,
                             int64_t now)
{
    if (t->state != HUB_TARGET_MANUAL && t->state != HUB_TARGET_WAITING &&
        t->state != HUB_TARGET_PENDING)
        return 0;
    if (o->held)
        return 0;
    t->state = HUB_TARGET_UPDATING;
    t->released_ms = now;
    return 1;
}

/* ---- the current step ---- */

struct step_count {
    size_t total, updating, done, failed, pending;
};

static struct step_count count_step(const hub_rollout *r, size_t step)
{
    struct step_count c = {0};

    for (size_t i = 0; i < r->n_targets; i++) {
        const struct hub_rollout_target *t = &r->targets[i];
        if (t->step != (int)step)
            continue;
        c.total++;
        c.updating += t->state == HUB_TARGET_UPDATING || t->state == HUB_TARGET_BAKING;
        c.done += t->state == HUB_TARGET_DONE;
        c.failed += t->state == HUB_TARGET_FAILED;
        c.pending += t->state == HUB_TARGET_PENDING || t->state == HUB_TARGET_WAITING;
    }
    return c;
}

/* Release Pending targets of the current step while maxUpdate allows. */
static int release_batch(hub_rollout *r, struct actions *a, int64_t now)
{
    struct step_count c = count_step(r, r->step);
    size_t max = hub_strategy_max_update(&r->steps[r->step].max_update, c.total);
    int changed = 0, error;

    for (size_t i = 0; i < r->n_targets && c.updating < max; i++) {
        struct hub_rollout_target *t = &r->targets[i];
        if (t->step != (int)r->step ||
            (t->state != HUB_TARGET_PENDING && t->state != HUB_TARGET_WAITING))
            continue;
        if ((error = add_action(a, HUB_ROLLOUT_RELEASE, t)) < 0)
            return error;
        t->state = HUB_TARGET_UPDATING;
        t->released_ms = now;
        t->message[0] = '\0';
        c.updating++;
        changed = 1;
    }
    for (size_t i = 0; i < r->n_targets; i++)
        if (r->targets[i].step == (int)r->step && r->targets[i].state == HUB_TARGET_WAITING) {
            r->targets[i].state = HUB_TARGET_PENDING;
            changed = 1;
        }
    return changed;
}

/* Targets of the current step still not Done when its deadline passes fail. */
static int check_deadline(hub_rollout *r, int64_t now)
{
    int64_t deadline = r->steps[r->step].deadline_ms;
    int changed = 0;

    if (deadline <= 0 || now - r->step_started_ms < deadline)
        return 0;
    for (size_t i = 0; i < r->n_targets; i++) {
        struct hub_rollout_target *t = &r->targets[i];
        if (t->step != (int)r->step || t->state == HUB_TARGET_DONE ||
            t->state == HUB_TARGET_FAILED || t->state == HUB_TARGET_BAKING)
            continue; /* reached Synced and Healthy in time: the bake is not bounded */
        if (t->state == HUB_TARGET_MANUAL)
            continue; /* waiting for an operator is not a failure */
        t->state = HUB_TARGET_FAILED;
        snprintf(t->message, sizeof(t->message),
                 "not Synced and Healthy within the step's %llds "
                 "progress deadline",
                 (long long)(deadline / 1000));
        changed = 1;
    }
    return changed;
}

/* Hold again, at their old state, every target of steps up to `last` that
 * took the new state. */
static int roll_back(hub_rollout *r, size_t last, struct actions *a)
{
    int error;

    for (size_t i = 0; i < r->n_targets; i++) {
        struct hub_rollout_target *t = &r->targets[i];
        if (!is_released(t->state) || t->step < 0 || (size_t)t->step > last)
            continue; /* targets outside the steps were synced by hand: left alone */
        if ((error = add_action(a, HUB_ROLLOUT_HOLD, t)) < 0)
            return error;
        t->state = HUB_TARGET_ROLLED_BACK;
    }
    return 0;
}

static int on_failure(hub_rollout *r, struct step_count c, struct actions *a, int64_t now)
{
    int error;

    snprintf(r->message, sizeof(r->message), "step %zu: %zu of %zu failed (tolerates %zu)",
             r->step + 1, c.failed, c.total,
             hub_strategy_max_failures(&r->steps[r->step].max_failures, c.total));
    r->finished_ms = now;
    if (r->policy == HUB_FAILURE_HALT) {
        r->phase = HUB_ROLLOUT_HALTED;
        return 1;
    }
    if ((error = roll_back(r, r->step, a)) < 0)
        return error;
    r->phase = HUB_ROLLOUT_ROLLED_BACK;
    return 1;
}

static void next_step(hub_rollout *r, int64_t now)
{
    r->step++;
    r->step_started_ms = now;
    r->promoted = 0;
    if (r->step >= r->n_steps) {
        r->phase = HUB_ROLLOUT_COMPLETED;
        r->finished_ms = now;
        snprintf(r->message, sizeof(r->message), "all %zu steps complete", r->n_steps);
    }
}

static int observe_all(hub_rollout *r, hub_rollout_observe_fn observe, void *arg, int64_t now)
{
    int changed = 0;

    for (size_t i = 0; i < r->n_targets; i++) {
        struct hub_rollout_target *t = &r->targets[i];
        struct hub_rollout_observation o = {0};
        if (t->state == HUB_TARGET_ROLLED_BACK || t->state == HUB_TARGET_DONE ||
            t->state == HUB_TARGET_FAILED)
            continue; /* settled: nothing they report changes them */
        observe(arg, t, &o);
        changed |= picked_up_by_hand(t, &o, now);
        if (is_released(t->state))
            changed |= follow(r, t, &o, now);
    }
    return changed;
}

/* Walk the current step: release, detect failure, complete, go on. */
static int drive_steps(hub_rollout *r, struct actions *a, int64_t now)
{
    int changed = 0, rc;

    while (r->phase == HUB_ROLLOUT_PROGRESSING && r->step < r->n_steps) {
        struct step_count c;
        size_t tolerated;
        changed |= check_deadline(r, now);
        c = count_step(r, r->step);
        tolerated = hub_strategy_max_failures(&r->steps[r->step].max_failures, c.total);
        if (c.failed > tolerated)
            return on_failure(r, c, a, now);
        if ((rc = release_batch(r, a, now)) < 0)
            return rc;
        changed |= rc;
        c = count_step(r, r->step);
        if (c.done + c.failed < c.total)
            break;
        next_step(r, now);
        changed = 1;
    }
    return changed;
}

int hub_rollout_step_once(hub_rollout *r, hub_rollout_observe_fn observe, void *arg, int64_t now_ms,
                          struct hub_rollout_action **actions_out, size_t *n_out)
{
    struct actions a = {0};
    int changed, rc = 0;

    *actions_out = NULL;
    *n_out = 0;
    if (!hub_rollout_active(r))
        return 0;
    changed = observe_all(r, observe, arg, now_ms);
    if (r->phase == HUB_ROLLOUT_PROGRESSING)
        rc = drive_steps(r, &a, now_ms);
    if (rc < 0) {
        free(a.items);
        return rc;
    }
    *actions_out = a.items;
    *n_out = a.n;
    return changed || rc;
}

/* ---- operator commands ---- */

int hub_rollout_pause(hub_rollout *r, int64_t now_ms)
{
    if (r->phase != HUB_ROLLOUT_PROGRESSING)
        return gf_error_set(GF_ECONFLICT, "rollout %lld is %s, not Progressing", (long long)r->id,
                            phase_names[r->phase]);
    r->phase = HUB_ROLLOUT_PAUSED;
    r->paused_ms = now_ms;
    snprintf(r->message, sizeof(r->message), "paused by an operator");
    return 0;
}

/* Resume a paused rollout (its deadline clock shifted by the pause), or a
 * halted one (its failed targets are followed again from where they are). */
int hub_rollout_resume(hub_rollout *r, int64_t now_ms)
{
    if (r->phase == HUB_ROLLOUT_PAUSED) {
        r->step_started_ms += now_ms - r->paused_ms;
    } else if (r->phase == HUB_ROLLOUT_HALTED) {
        for (size_t i = 0; i < r->n_targets; i++)
            if (r->targets[i].state == HUB_TARGET_FAILED) {
                r->targets[i].state = HUB_TARGET_UPDATING;
                r->targets[i].healthy_since_ms = 0;
            }
        r->step_started_ms = now_ms;
        r->finished_ms = 0;
    } else {
        return gf_error_set(GF_ECONFLICT, "rollout %lld is %s, not Paused or Halted",
                            (long long)r->id, phase_names[r->phase]);
    }
    r->phase = HUB_ROLLOUT_PROGRESSING;
    r->paused_ms = 0;
    snprintf(r->message, sizeof(r->message), "resumed by an operator");
    return 0;
}

int hub_rollout_promote(hub_rollout *r)
{
    if (r->phase != HUB_ROLLOUT_PROGRESSING && r->phase != HUB_ROLLOUT_PAUSED)
        return gf_error_set(GF_ECONFLICT, "rollout %lld is %s: nothing to promote",
                            (long long)r->id, phase_names[r->phase]);
    r->promoted = 1;
    return 0;
}

int hub_rollout_abort(hub_rollout *r, struct hub_rollout_action **actions_out, size_t *n_out)
{
    struct actions a = {0};
    int error;

    *actions_out = NULL;
    *n_out = 0;
    if (!hub_rollout_active(r))
        return gf_error_set(GF_ECONFLICT, "rollout %lld is %s: nothing to abort", (long long)r->id,
                            phase_names[r->phase]);
    if ((error = roll_back(r, r->n_steps, &a)) < 0) {
        free(a.items);
        return error;
    }
    r->phase = HUB_ROLLOUT_ABORTED;
    snprintf(r->message, sizeof(r->message), "aborted by an operator: %zu target(s) held back",
             a.n);
    *actions_out = a.items;
    *n_out = a.n;
    return 0;
}

void hub_rollout_supersede(hub_rollout *r, int64_t now_ms)
{
    r->phase = HUB_ROLLOUT_SUPERSEDED;
    r->finished_ms = now_ms;
    snprintf(r->message, sizeof(r->message), "superseded by a newer revision");
}

/* ---- accessors ---- */

int64_t hub_rollout_id(const hub_rollout *r)
{
    return r->id;
}

void hub_rollout_set_id(hub_rollout *r, int64_t id)
{
    r->id = id;
}

const char *hub_rollout_appset(const hub_rollout *r)
{
    return r->appset;
}

const char *hub_rollout_revision(const hub_rollout *r)
{
    return r->revision;
}

enum hub_rollout_phase hub_rollout_phase(const hub_rollout *r)
{
    return r->phase;
}

int hub_rollout_active(const hub_rollout *r)
{
    return r->phase == HUB_ROLLOUT_PROGRESSING || r->phase == HUB_ROLLOUT_PAUSED ||
           r->phase == HUB_ROLLOUT_HALTED;
}

const struct hub_rollout_target *hub_rollout_target(const hub_rollout *r, const char *cluster,
                                                    const char *app)
{
    for (size_t i = 0; i < r->n_targets; i++)
        if (strcmp(r->targets[i].cluster, cluster) == 0 && strcmp(r->targets[i].app, app) == 0)
            return &r->targets[i];
    return NULL;
}

size_t hub_rollout_n_targets(const hub_rollout *r)
{
    return r->n_targets;
}

const struct hub_rollout_target *hub_rollout_target_at(const hub_rollout *r, size_t i)
{
    return i < r->n_targets ? &r->targets[i] : NULL;
}

/* ---- JSON ---- */

static json_t *quantity_json(const struct hub_quantity *q)
{
    char text[32];

    if (!q->percent)
        return json_integer(q->value);
    snprintf(text, sizeof(text), "%lld%%", (long long)q->value);
    return json_string(text);
}

static int quantity_from(struct hub_quantity *q, const json_t *v)
{
    if (json_is_integer(v)) {
        *q = (struct hub_quantity){0, json_integer_value(v)};
        return 0;
    }
    if (!json_is_string(v))
        return gf_error_set(GF_EINVAL, "rollout: bad quantity");
    *q = (struct hub_quantity){1, strtoll(json_string_value(v), NULL, 10)};
    return 0;
}

/* Why the current step waits, in one line. */
static void waiting_for(const hub_rollout *r, char *out, size_t cap, int64_t now)
{
    struct step_count c;

    if (r->phase != HUB_ROLLOUT_PROGRESSING || r->step >= r->n_steps) {
        snprintf(out, cap, "%s", r->message);
        return;
    }
    c = count_step(r, r->step);
    if (c.total == 0)
        snprintf(out, cap, "step %zu selects no app", r->step + 1);
    else
        snprintf(out, cap,
                 "step %zu: %zu of %zu done, %zu updating or baking, %zu waiting for a "
                 "slot or an operator; deadline in %llds",
                 r->step + 1, c.done, c.total, c.updating, c.total - c.done - c.updating - c.failed,
                 (long long)((r->step_started_ms + r->steps[r->step].deadline_ms - now) / 1000));
}

static json_t *steps_json(const hub_rollout *r)
{
    json_t *steps = json_array();

    for (size_t i = 0; i < r->n_steps; i++) {
        struct step_count c = count_step(r, i);
        const struct step_gates *g = &r->steps[i];
        json_array_append_new(
            steps, json_pack("{s:i, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I}", "step", (int)i + 1,
                             "maxUpdate", quantity_json(&g->max_update), "maxFailures",
                             quantity_json(&g->max_failures), "bakeMs", (json_int_t)g->bake_ms,
                             "deadlineMs", (json_int_t)g->deadline_ms, "targets",
                             (json_int_t)c.total, "done", (json_int_t)c.done, "updating",
                             (json_int_t)c.updating, "failed", (json_int_t)c.failed));
    }
    return steps;
}

static json_t *target_json(const struct hub_rollout_target *t, int64_t now)
{
    return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:I, s:I, s:s, s:b}", "cluster", t->cluster,
                     "app", t->app, "step", t->step + 1, "from", t->from_hash, "to", t->to_hash,
                     "state", state_names[t->state], "releasedMs", (json_int_t)t->released_ms,
                     "healthySinceMs", (json_int_t)t->healthy_since_ms, "message", t->message,
                     "automated", t->automated);
}

json_t *hub_rollout_to_json(const hub_rollout *r, int64_t now_ms)
{
    json_t *targets = json_array();
    char why[512];

    for (size_t i = 0; i < r->n_targets; i++)
        json_array_append_new(targets, target_json(&r->targets[i], now_ms));
    waiting_for(r, why, sizeof(why), now_ms);
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:i, s:b, s:I, s:I, s:I, s:I, s:s, s:s, s:o, "
                     "s:o}",
                     "id", (json_int_t)r->id, "appset", r->appset, "revision", r->revision, "phase",
                     phase_names[r->phase], "failurePolicy",
                     r->policy == HUB_FAILURE_ROLLBACK ? "rollback" : "halt", "step",
                     (int)(r->step < r->n_steps ? r->step + 1 : r->n_steps), "steps",
                     (int)r->n_steps, "promoted", r->promoted, "startedMs",
                     (json_int_t)r->started_ms, "stepStartedMs", (json_int_t)r->step_started_ms,
                     "finishedMs", (json_int_t)r->finished_ms, "pausedMs", (json_int_t)r->paused_ms,
                     "message", r->message, "waitingFor", why, "stepGates", steps_json(r),
                     "targets", targets);
}

static int target_from(struct hub_rollout_target *t, const json_t *doc)
{
    const char *cluster = NULL, *app = NULL, *from = NULL, *to = NULL, *state = NULL, *msg = NULL;
    json_int_t released = 0, healthy = 0;
    int step = 0, automated = 0;

    if (json_unpack((json_t *)doc, "{s:s, s:s, s:i, s:s, s:s, s:s, s?I, s?I, s?s, s?b}", "cluster",
                    &cluster, "app", &app, "step", &step, "from", &from, "to", &to, "state", &state,
                    "releasedMs", &released, "healthySinceMs", &healthy, "message", &msg,
                    "automated", &automated) != 0 ||
        name_index(state_names, 8, state) < 0)
        return gf_error_set(GF_EINVAL, "rollout: a target is malformed");
    t->cluster = strdup(cluster);
    t->app = strdup(app);
    t->step = step - 1;
    t->automated = automated;
    copy_hash(t->from_hash, from);
    copy_hash(t->to_hash, to);
    t->state = (enum hub_target_state)name_index(state_names, 8, state);
    t->released_ms = released;
    t->healthy_since_ms = healthy;
    snprintf(t->message, sizeof(t->message), "%s", msg ? msg : "");
    return t->cluster && t->app ? 0 : gf_error_set(GF_ENOMEM, "out of memory");
}

static int gates_from(hub_rollout *r, const json_t *gates)
{
    const json_t *g;
    size_t i;

    r->n_steps = json_array_size(gates);
    if (r->n_steps && (r->steps = calloc(r->n_steps, sizeof(*r->steps))) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    json_array_foreach(gates, i, g)
    {
        struct step_gates *s = &r->steps[i];
        s->bake_ms = json_integer_value(json_object_get(g, "bakeMs"));
        s->deadline_ms = json_integer_value(json_object_get(g, "deadlineMs"));
        if (quantity_from(&s->max_update, json_object_get(g, "maxUpdate")) < 0 ||
            quantity_from(&s->max_failures, json_object_get(g, "maxFailures")) < 0)
            return GF_EINVAL;
    }
    return 0;
}

static int fill_from(hub_rollout *r, const json_t *doc)
{
    const char *appset = NULL, *revision = NULL, *phase = NULL, *policy = NULL, *msg = NULL;
    const json_t *targets = json_object_get(doc, "targets"), *t;
    json_int_t id = 0, started = 0, step_started = 0, finished = 0, paused = 0;
    int step = 1, promoted = 0, error;
    size_t i;

    if (json_unpack((json_t *)doc, "{s:I, s:s, s:s, s:s, s:s, s:i, s:b, s:I, s:I, s:I, s:I, s:s}",
                    "id", &id, "appset", &appset, "revision", &revision, "phase", &phase,
                    "failurePolicy", &policy, "step", &step, "promoted", &promoted, "startedMs",
                    &started, "stepStartedMs", &step_started, "finishedMs", &finished, "pausedMs",
                    &paused, "message", &msg) != 0 ||
        name_index(phase_names, 7, phase) < 0 || !json_is_array(targets))
        return gf_error_set(GF_EINVAL, "rollout: the stored document is malformed");
    r->id = id;
    r->appset = strdup(appset);
    snprintf(r->revision, sizeof(r->revision), "%s", revision);
    r->phase = (enum hub_rollout_phase)name_index(phase_names, 7, phase);
    r->policy = strcmp(policy, "rollback") == 0 ? HUB_FAILURE_ROLLBACK : HUB_FAILURE_HALT;
    r->step = (size_t)(step > 0 ? step - 1 : 0);
    r->promoted = promoted;
    r->started_ms = started;
    r->step_started_ms = step_started;
    r->finished_ms = finished;
    r->paused_ms = paused;
    snprintf(r->message, sizeof(r->message), "%s", msg);
    if ((error = gates_from(r, json_object_get(doc, "stepGates"))) < 0)
        return error;
    if (r->phase == HUB_ROLLOUT_COMPLETED)
        r->step = r->n_steps; /* shown as the last step; every step is past */
    if (json_array_size(targets) &&
        (r->targets = calloc(json_array_size(targets), sizeof(*r->targets))) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    json_array_foreach(targets, i, t)
    {
        r->n_targets = i + 1;
        if ((error = target_from(&r->targets[i], t)) < 0)
            return error;
    }
    return r->appset ? 0 : gf_error_set(GF_ENOMEM, "out of memory");
}

int hub_rollout_from_json(hub_rollout **out, const json_t *doc)
{
    hub_rollout *r = calloc(1, sizeof(*r));
    int error;

    *out = NULL;
    if (r == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    if ((error = fill_from(r, doc)) < 0) {
        hub_rollout_free(r);
        return error;
    }
    *out = r;
    return 0;
}
