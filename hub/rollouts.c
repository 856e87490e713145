/* rollouts.c -- the hub's progressive rollouts: started by commits, driven by reports, kept in the
 * store */
#include "rollouts.h"

#include "gitfleet/error.h"
#include "gitfleet/log.h"
#include "appstate.h"
#include "events.h"
#include "gitfleet/wire.h"
#include "hub.h"
#include "opreq.h"
#include "pin.h"
#include "status.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROLLOUTS_LIST_MAX 100 /* finished rollouts the API lists */

/* The hub's own environment, and the report being read (the strings of
 * the last observation point into it). */
struct hub_env {
    hub *h;
    json_t *report;
};

/* An app a pass held: a target of the rollout the pass starts. */
struct pending {
    char *cluster, *app, *appset;
    json_t *labels;
    char from[65], to[65];
    int automated;
};

struct hub_rollouts {
    struct hub_rollouts_env env;
    pthread_mutex_t lock;
    hub_rollout **latest; /* the newest rollout of each ApplicationSet, active or ended */
    size_t n_latest, cap_latest;
    struct pending *pending; /* held by the pass under way */
    size_t n_pending, cap_pending;
    unsigned long ended[7];  /* rollouts ended since start, by phase */
    struct hub_env *own_env; /* hub_rollouts_open_hub's, freed with it */
    int n_active;            /* atomic: rollouts active (for readers without the lock) */
};

/* ---- keeping rollouts ---- */

static int store_rollout(hub_rollouts *rs, hub_rollout *r, int64_t now)
{
    json_t *doc = hub_rollout_to_json(r, now);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    int error;

    json_decref(doc);
    if (text == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    error =
        hub_store_rollout_put(rs->env.store, hub_rollout_id(r), hub_rollout_active(r), text, now);
    free(text);
    if (error == 0 && rs->own_env != NULL) /* the dashboard's feed: every change is stored here */
        hub_events_rollout(hub_get_events(rs->own_env->h), hub_rollout_appset(r));
    return error;
}

static hub_rollout *latest_of(hub_rollouts *rs, const char *appset)
{
    for (size_t i = 0; i < rs->n_latest; i++)
        if (strcmp(hub_rollout_appset(rs->latest[i]), appset) == 0)
            return rs->latest[i];
    return NULL;
}

/* `r` becomes its ApplicationSet's newest rollout (the one before is in the store). */
static int set_latest(hub_rollouts *rs, hub_rollout *r)
{
    for (size_t i = 0; i < rs->n_latest; i++)
        if (strcmp(hub_rollout_appset(rs->latest[i]), hub_rollout_appset(r)) == 0) {
            hub_rollout_free(rs->latest[i]);
            rs->latest[i] = r;
            return 0;
        }
    if (rs->n_latest == rs->cap_latest) {
        size_t cap = rs->cap_latest ? rs->cap_latest * 2 : 8;
        hub_rollout **grown = realloc(rs->latest, cap * sizeof(*grown));
        if (grown == NULL)
            return gf_error_set(GF_ENOMEM, "out of memory");
        rs->latest = grown;
        rs->cap_latest = cap;
    }
    rs->latest[rs->n_latest++] = r;
    return 0;
}

/* Log and count a rollout that has just ended. */
static void note_end(hub_rollouts *rs, const hub_rollout *r, int was_active)
{
    if (!was_active || hub_rollout_active(r))
        return;
    rs->ended[hub_rollout_phase(r)]++;
    gf_log_info("HUB-ROLLOUT-END", "appset=%s id=%lld revision=%.12s phase=%s",
                hub_rollout_appset(r), (long long)hub_rollout_id(r), hub_rollout_revision(r),
                hub_rollout_phase_name(hub_rollout_phase(r)));
}

/* How many rollouts are active, for readers that must not take the lock. */
static void recount(hub_rollouts *rs)
{
    int n = 0;

    for (size_t i = 0; i < rs->n_latest; i++)
        n += hub_rollout_active(rs->latest[i]);
    __atomic_store_n(&rs->n_active, n, __ATOMIC_RELAXED);
}

/* The newest rollout of each ApplicationSet, back from the store. */
static int load_latest(hub_rollouts *rs)
{
    json_t *docs = NULL, *doc;
    size_t i;
    int error;

    if ((error = hub_store_rollout_list(rs->env.store, 0, HUB_STORE_KEEP_ROLLOUTS, &docs)) < 0)
        return error;
    json_array_foreach(docs, i, doc)
    {
        hub_rollout *r = NULL;
        const char *appset = json_string_value(json_object_get(doc, "appset"));
        if (appset == NULL || latest_of(rs, appset) != NULL)
            continue; /* newest first: an older one of a set already loaded */
        if ((error = hub_rollout_from_json(&r, doc)) < 0 || (error = set_latest(rs, r)) < 0) {
            hub_rollout_free(r);
            break;
        }
        if (hub_rollout_active(r))
            gf_log_info("HUB-ROLLOUT-RESUME", "appset=%s id=%lld phase=%s", appset,
                        (long long)hub_rollout_id(r), hub_rollout_phase_name(hub_rollout_phase(r)));
    }
    json_decref(docs);
    return error;
}

int hub_rollouts_open(hub_rollouts **out, const struct hub_rollouts_env *env)
{
    hub_rollouts *rs = calloc(1, sizeof(*rs));
    int error;

    *out = NULL;
    if (rs == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    rs->env = *env;
    pthread_mutex_init(&rs->lock, NULL);
    if ((error = load_latest(rs)) < 0) {
        hub_rollouts_free(rs);
        return error;
    }
    recount(rs);
    *out = rs;
    return 0;
}

static void pending_clear(hub_rollouts *rs)
{
    for (size_t i = 0; i < rs->n_pending; i++) {
        free(rs->pending[i].cluster);
        free(rs->pending[i].app);
        free(rs->pending[i].appset);
        json_decref(rs->pending[i].labels);
    }
    rs->n_pending = 0;
}

void hub_rollouts_free(hub_rollouts *rs)
{
    if (rs == NULL)
        return;
    for (size_t i = 0; i < rs->n_latest; i++)
        hub_rollout_free(rs->latest[i]);
    free(rs->latest);
    pending_clear(rs);
    free(rs->pending);
    if (rs->own_env) {
        json_decref(rs->own_env->report);
        free(rs->own_env);
    }
    pthread_mutex_destroy(&rs->lock);
    free(rs);
}

/* ---- a render pass ---- */

static int is_released(enum hub_target_state s)
{
    return s == HUB_TARGET_UPDATING || s == HUB_TARGET_BAKING || s == HUB_TARGET_DONE ||
           s == HUB_TARGET_FAILED;
}

static int add_pending(hub_rollouts *rs, const struct hub_rollouts_app *a)
{
    struct pending *p;

    if (rs->n_pending == rs->cap_pending) {
        size_t cap = rs->cap_pending ? rs->cap_pending * 2 : 16;
        struct pending *grown = realloc(rs->pending, cap * sizeof(*grown));
        if (grown == NULL)
            return gf_error_set(GF_ENOMEM, "out of memory");
        rs->pending = grown;
        rs->cap_pending = cap;
    }
    p = &rs->pending[rs->n_pending++];
    memset(p, 0, sizeof(*p));
    p->cluster = strdup(a->cluster);
    p->app = strdup(a->app);
    p->appset = strdup(a->appset->name);
    p->labels = json_incref((json_t *)a->labels);
    snprintf(p->from, sizeof(p->from), "%s", a->in_effect_hash ? a->in_effect_hash : "");
    snprintf(p->to, sizeof(p->to), "%s", a->rendered_hash);
    p->automated = a->automated;
    return p->cluster && p->app && p->appset ? 0 : gf_error_set(GF_ENOMEM, "out of memory");
}

int hub_rollouts_decide(hub_rollouts *rs, const struct hub_rollouts_app *a)
{
    const struct hub_rollout_target *t;
    hub_rollout *r;
    int hold = 0;

    if (a->appset == NULL || !a->appset->strategy.rolling)
        return 0;
    pthread_mutex_lock(&rs->lock);
    r = latest_of(rs, a->appset->name);
    t = r ? hub_rollout_target(r, a->cluster, a->app) : NULL;
    if (t != NULL && strcmp(t->to_hash, a->rendered_hash) == 0 && is_released(t->state))
        hold = 0; /* this rollout let it through */
    else
        hold = strcmp(a->rendered_hash, a->in_effect_hash ? a->in_effect_hash : "") != 0;
    if (hold && add_pending(rs, a) < 0)
        gf_log_error("HUB-ROLLOUT-FAIL", "appset=%s cluster=%s app=%s error=\"%s\"",
                     a->appset->name, a->cluster, a->app, gf_error_last());
    pthread_mutex_unlock(&rs->lock);
    return hold;
}

/* Does the newest rollout `r` already cover every pending target of its
 * ApplicationSet, each at the same new state? Then nothing starts over: a
 * rollout under way goes on, and one that ended (rolled back, say) keeps its
 * holds until Git changes again. */
static int covers(const hub_rollout *r, const hub_rollouts *rs)
{
    for (size_t i = 0; i < rs->n_pending; i++) {
        const struct pending *p = &rs->pending[i];
        const struct hub_rollout_target *t;
        if (strcmp(p->appset, hub_rollout_appset(r)) != 0)
            continue;
        t = hub_rollout_target(r, p->cluster, p->app);
        if (t == NULL || strcmp(t->to_hash, p->to) != 0)
            return 0;
    }
    return 1;
}

static int start_rollout(hub_rollouts *rs, const struct hub_fleet_appset *set, const char *revision,
                         int64_t now)
{
    struct hub_rollout_target *targets = calloc(rs->n_pending, sizeof(*targets));
    hub_rollout *r = NULL;
    int64_t id = 0;
    size_t n = 0;
    int error;

    if (targets == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    for (size_t i = 0; i < rs->n_pending; i++) {
        const struct pending *p = &rs->pending[i];
        if (strcmp(p->appset, set->name) != 0)
            continue;
        targets[n] = (struct hub_rollout_target){
            .cluster = p->cluster, .app = p->app, .automated = p->automated};
        targets[n].step = hub_strategy_step_of(&set->strategy, p->labels);
        memcpy(targets[n].from_hash, p->from, sizeof(p->from));
        memcpy(targets[n].to_hash, p->to, sizeof(p->to));
        n++;
    }
    if ((error = hub_rollout_new(&r, set->name, revision, &set->strategy, targets, n, now)) < 0 ||
        (error = hub_store_rollout_add(rs->env.store, set->name, revision, now, &id)) < 0)
        goto out;
    hub_rollout_set_id(r, id);
    if ((error = store_rollout(rs, r, now)) < 0 || (error = set_latest(rs, r)) < 0)
        goto out;
    gf_log_info("HUB-ROLLOUT-START", "appset=%s id=%lld revision=%.12s targets=%zu steps=%zu",
                set->name, (long long)id, revision, n, set->strategy.n_steps);
    r = NULL;
out:
    hub_rollout_free(r);
    free(targets);
    return error;
}

int hub_rollouts_after_pass(hub_rollouts *rs, const struct hub_fleet *fleet, const char *revision,
                            int64_t now_ms)
{
    int error = 0;

    pthread_mutex_lock(&rs->lock);
    for (size_t i = 0; i < fleet->n_appsets && error == 0; i++) {
        const struct hub_fleet_appset *set = &fleet->appsets[i];
        hub_rollout *r = latest_of(rs, set->name);
        int any = 0;
        for (size_t k = 0; k < rs->n_pending && !any; k++)
            any = strcmp(rs->pending[k].appset, set->name) == 0;
        if (!any || !set->strategy.rolling || (r != NULL && covers(r, rs)))
            continue;
        if (r != NULL && hub_rollout_active(r)) {
            hub_rollout_supersede(r, now_ms);
            note_end(rs, r, 1);
            if ((error = store_rollout(rs, r, now_ms)) < 0)
                break;
        }
        error = start_rollout(rs, set, revision, now_ms);
    }
    pending_clear(rs);
    recount(rs);
    pthread_mutex_unlock(&rs->lock);
    return error;
}

/* ---- driving ---- */

static void observe_target(void *arg, const struct hub_rollout_target *t,
                           struct hub_rollout_observation *o)
{
    hub_rollouts *rs = arg;

    /* A held target's reports say nothing of the new state: skip reading them. */
    if ((o->held = rs->env.is_held(rs->env.arg, t->cluster, t->app)) != 0)
        return;
    rs->env.observe(rs->env.arg, t, o);
}

/* A release or hold to carry out once the controller's lock is let go:
 * carrying it out republishes a cluster, which wakes the agent endpoint,
 * whose threads may be waiting for this lock (a report). */
struct job {
    enum hub_rollout_action_kind kind;
    char appset[256];
    int64_t id;
    char cluster[HUB_STORE_NAME_MAX], app[256], hash[65];
    int sync, step;
};

struct jobs {
    struct job *items;
    size_t n, cap;
};

static int queue_actions(struct jobs *j, const hub_rollout *r, const struct hub_rollout_action *a,
                         size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct hub_rollout_target *t = a[i].target;
        struct job *job;
        if (j->n == j->cap) {
            size_t cap = j->cap ? j->cap * 2 : 16;
            struct job *grown = realloc(j->items, cap * sizeof(*grown));
            if (grown == NULL)
                return gf_error_set(GF_ENOMEM, "out of memory");
            j->items = grown;
            j->cap = cap;
        }
        job = &j->items[j->n++];
        job->kind = a[i].kind;
        job->id = hub_rollout_id(r);
        job->sync = !t->automated;
        job->step = t->step + 1;
        snprintf(job->appset, sizeof(job->appset), "%s", hub_rollout_appset(r));
        snprintf(job->cluster, sizeof(job->cluster), "%s", t->cluster);
        snprintf(job->app, sizeof(job->app), "%s", t->app);
        snprintf(job->hash, sizeof(job->hash), "%s", t->from_hash);
    }
    return 0;
}

/* Carry out the queued releases and holds (the lock not held). A failure
 * is logged; the machine notices from what the cluster reports. */
static size_t run_jobs(hub_rollouts *rs, struct jobs *j)
{
    size_t done = 0;

    for (size_t i = 0; i < j->n; i++) {
        const struct job *job = &j->items[i];
        const char *what = job->kind == HUB_ROLLOUT_RELEASE ? "release" : "hold";
        int error = job->kind == HUB_ROLLOUT_RELEASE
                        ? rs->env.release(rs->env.arg, job->cluster, job->app, job->sync)
                        : rs->env.hold(rs->env.arg, job->cluster, job->app, job->hash);
        if (error < 0) {
            gf_log_error("HUB-ROLLOUT-FAIL", "appset=%s cluster=%s app=%s action=%s error=\"%s\"",
                         job->appset, job->cluster, job->app, what, gf_error_last());
            continue;
        }
        gf_log_info("HUB-ROLLOUT-STEP", "appset=%s id=%lld cluster=%s app=%s action=%s step=%d",
                    job->appset, (long long)job->id, job->cluster, job->app, what, job->step);
        done++;
    }
    free(j->items);
    memset(j, 0, sizeof(*j));
    return done;
}

int hub_rollouts_tick(hub_rollouts *rs, int64_t now_ms, size_t *changed_out)
{
    struct jobs jobs = {0};
    int error = 0;

    *changed_out = 0;
    pthread_mutex_lock(&rs->lock);
    for (size_t i = 0; i < rs->n_latest && error == 0; i++) {
        hub_rollout *r = rs->latest[i];
        struct hub_rollout_action *actions = NULL;
        size_t n = 0;
        int was_active = hub_rollout_active(r);
        int changed = hub_rollout_step_once(r, observe_target, rs, now_ms, &actions, &n);
        if (changed < 0)
            error = changed;
        else if (changed && (error = store_rollout(rs, r, now_ms)) == 0)
            error = queue_actions(&jobs, r, actions, n);
        note_end(rs, r, was_active);
        free(actions);
    }
    recount(rs);
    pthread_mutex_unlock(&rs->lock);
    *changed_out = run_jobs(rs, &jobs);
    return error;
}

int hub_rollouts_any_active(hub_rollouts *rs)
{
    return __atomic_load_n(&rs->n_active, __ATOMIC_RELAXED) > 0;
}

/* ---- operators ---- */

static int run_verb(hub_rollouts *rs, hub_rollout *r, const char *verb, int64_t now,
                    struct jobs *jobs)
{
    struct hub_rollout_action *actions = NULL;
    size_t n = 0;
    int error;

    if (strcmp(verb, "pause") == 0)
        error = hub_rollout_pause(r, now);
    else if (strcmp(verb, "resume") == 0)
        error = hub_rollout_resume(r, now);
    else if (strcmp(verb, "promote") == 0)
        error = hub_rollout_promote(r);
    else if (strcmp(verb, "abort") == 0)
        error = hub_rollout_abort(r, &actions, &n);
    else
        return gf_error_set(GF_EINVAL, "'%s': expected pause, resume, promote or abort", verb);
    if (error == 0 && (error = store_rollout(rs, r, now)) == 0)
        error = queue_actions(jobs, r, actions, n);
    free(actions);
    return error;
}

int hub_rollouts_command(hub_rollouts *rs, const char *appset, const char *verb, int64_t now_ms)
{
    struct jobs jobs = {0};
    hub_rollout *r;
    int error;

    pthread_mutex_lock(&rs->lock);
    if ((r = latest_of(rs, appset)) == NULL || !hub_rollout_active(r)) {
        error = gf_error_set(GF_ENOTFOUND, "ApplicationSet %s has no rollout under way", appset);
    } else if ((error = run_verb(rs, r, verb, now_ms, &jobs)) == 0) {
        gf_log_info("HUB-ROLLOUT-COMMAND", "appset=%s id=%lld verb=%s phase=%s", appset,
                    (long long)hub_rollout_id(r), verb,
                    hub_rollout_phase_name(hub_rollout_phase(r)));
        note_end(rs, r, 1);
    }
    recount(rs);
    pthread_mutex_unlock(&rs->lock);
    run_jobs(rs, &jobs);
    return error;
}

/* ---- views ---- */

static int active_id(hub_rollouts *rs, json_int_t id)
{
    for (size_t i = 0; i < rs->n_latest; i++)
        if (hub_rollout_id(rs->latest[i]) == id)
            return hub_rollout_active(rs->latest[i]);
    return 0;
}

int hub_rollouts_list_json(hub_rollouts *rs, json_t **out, int64_t now_ms)
{
    json_t *stored = NULL, *list = json_array(), *doc;
    size_t i;
    int error;

    *out = NULL;
    pthread_mutex_lock(&rs->lock);
    for (i = 0; i < rs->n_latest; i++) /* the fresh view of the newest ones, active first */
        if (hub_rollout_active(rs->latest[i]))
            json_array_append_new(list, hub_rollout_to_json(rs->latest[i], now_ms));
    if ((error = hub_store_rollout_list(rs->env.store, 0, ROLLOUTS_LIST_MAX, &stored)) == 0) {
        json_array_foreach(stored, i, doc)
        {
            json_int_t id = json_integer_value(json_object_get(doc, "id"));
            if (!active_id(rs, id)) /* active ones are listed fresh, above */
                json_array_append(list, doc);
        }
    }
    pthread_mutex_unlock(&rs->lock);
    json_decref(stored);
    if (error < 0) {
        json_decref(list);
        return error;
    }
    *out = list;
    return 0;
}

int hub_rollouts_get_json(hub_rollouts *rs, const char *appset, json_t **out, int64_t now_ms)
{
    json_t *all = NULL, *doc;
    size_t i;
    int error;

    *out = NULL;
    if ((error = hub_rollouts_list_json(rs, &all, now_ms)) < 0)
        return error;
    json_array_foreach(all, i, doc)
    {
        if (strcmp(json_string_value(json_object_get(doc, "appset")), appset) == 0) {
            *out = json_incref(doc);
            break;
        }
    }
    json_decref(all);
    return *out ? 0 : gf_error_set(GF_ENOTFOUND, "ApplicationSet %s has had no rollout", appset);
}

/* ---- the hub's environment: reports from the store, holds as pins ---- */

/* A sync request for a released app that does not sync itself expires. */
#define ROLLOUTS_SYNC_TTL_MS (60 * 60 * 1000)

/* The kept state `hash` of the app: its revision and generation, for the pin. */
static void state_ref(hub_store *store, const char *cluster, const char *app, const char *hash,
                      struct hub_pin *pin)
{
    struct hub_appstate_ref git, *synced = NULL;
    size_t n = 0;

    if (hub_appstate_git(store, cluster, app, &git) == 0 && strcmp(git.hash, hash) == 0) {
        snprintf(pin->revision, sizeof(pin->revision), "%s", git.revision);
        pin->generation = git.generation;
        return;
    }
    if (hub_appstate_synced(store, cluster, app, &synced, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++)
        if (strcmp(synced[i].hash, hash) == 0) {
            snprintf(pin->revision, sizeof(pin->revision), "%s", synced[i].revision);
            pin->generation = synced[i].synced_generation;
            break;
        }
    free(synced);
}

/* Hold: a pin of holder "rollout" (auto-sync stays on; Git's changes do not
 * lift it), then the cluster's bundle is published again without a render. */
static int env_hold(void *arg, const char *cluster, const char *app, const char *hash)
{
    struct hub_env *env = arg;
    hub_store *store = hub_get_store(env->h);
    struct hub_pin pin = {.created_ms = gf_wire_now_ms()};
    int error;

    snprintf(pin.cluster, sizeof(pin.cluster), "%s", cluster);
    snprintf(pin.app, sizeof(pin.app), "%s", app);
    snprintf(pin.holder, sizeof(pin.holder), "rollout");
    snprintf(pin.hash, sizeof(pin.hash), "%s", hash);
    if (hash[0] != '\0')
        state_ref(store, cluster, app, hash, &pin);
    if ((error = hub_pin_hold(store, &pin)) < 0)
        return error;
    error = hub_republish(env->h, cluster);
    return error == GF_ENOTFOUND ? 0 : error;
}

/* Release: Git's state goes out; an app that does not sync itself gets a
 * sync request in the same bundle, as Argo CD's RollingSync syncs it. */
static int env_release(void *arg, const char *cluster, const char *app, int sync)
{
    struct hub_env *env = arg;
    hub_store *store = hub_get_store(env->h);
    struct hub_pin pin;
    int error, off = hub_pin_lookup(store, cluster, app, &pin) == 0 && pin.hash[0] == '\0';

    if ((error = hub_pin_release(store, cluster, app, "rollout", NULL)) < 0)
        return error;
    if (sync) {
        struct hub_opreq req = {.requested_ms = gf_wire_now_ms()};
        snprintf(req.cluster, sizeof(req.cluster), "%s", cluster);
        snprintf(req.app, sizeof(req.app), "%s", app);
        snprintf(req.kind, sizeof(req.kind), "sync");
        snprintf(req.requested_by, sizeof(req.requested_by), "rollout");
        req.expires_ms = req.requested_ms + ROLLOUTS_SYNC_TTL_MS;
        if ((error = hub_opreq_add(store, &req)) < 0)
            return error;
    }
    /* An app held off the cluster is in no stored bundle: only a render
     * brings it; otherwise the stored bundle is published again. */
    if (off)
        return hub_sync_now(env->h, 0, NULL);
    error = hub_republish(env->h, cluster);
    return error == GF_ENOTFOUND ? 0 : error;
}

static const char *member(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static int env_held(void *arg, const char *cluster, const char *app)
{
    struct hub_env *env = arg;
    struct hub_pin pin;

    return hub_pin_lookup(hub_get_store(env->h), cluster, app, &pin) == 0;
}

/* The report's entry for the target's app, kept alive by `report`. */
static void env_observe(void *arg, const struct hub_rollout_target *t,
                        struct hub_rollout_observation *o)
{
    struct hub_env *env = arg;
    hub_store *store = hub_get_store(env->h);
    struct hub_store_cluster c;
    const json_t *app, *op;
    size_t i;

    json_decref(env->report);
    env->report = NULL;
    if (hub_store_cluster_get(store, t->cluster, &c) == 0)
        o->connected =
            c.last_seen_ms > 0 && gf_wire_now_ms() - c.last_seen_ms < HUB_CONNECTED_WINDOW_MS;
    if ((env->report = hub_reports_get(hub_get_reports(env->h), t->cluster)) == NULL)
        return;
    json_array_foreach(json_object_get(env->report, "apps"), i, app)
    {
        if (!json_is_string(json_object_get(app, "name")) ||
            strcmp(member(app, "name"), t->app) != 0)
            continue;
        op = json_object_get(app, "operationState");
        o->synced_hash = member(app, "syncedHash");
        o->health = member(app, "health");
        o->op_phase = member(op, "phase");
        o->op_hash = member(op, "contentHash");
        o->message = member(app, "message");
        break;
    }
}

int hub_rollouts_open_hub(hub_rollouts **out, hub *h)
{
    struct hub_env *henv = calloc(1, sizeof(*henv));
    struct hub_rollouts_env env = {.store = hub_get_store(h),
                                   .hold = env_hold,
                                   .release = env_release,
                                   .is_held = env_held,
                                   .observe = env_observe,
                                   .arg = henv};
    int error;

    if (henv == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    henv->h = h;
    if ((error = hub_rollouts_open(out, &env)) < 0) {
        free(henv);
        return error;
    }
    (*out)->own_env = henv;
    return 0;
}

/* ---- metrics ---- */

static void append(char **buf, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char **buf, size_t *len, const char *fmt, ...)
{
    va_list ap;
    char *more = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&more, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    char *grown = realloc(*buf, *len + (size_t)n + 1);
    if (grown != NULL) {
        memcpy(grown + *len, more, (size_t)n + 1);
        *buf = grown;
        *len += (size_t)n;
    }
    free(more);
}

char *hub_rollouts_metrics(hub_rollouts *rs)
{
    char *buf = strdup("");
    size_t len = 0;

    append(&buf, &len,
           "# HELP gitfleet_rollout_step Current step (1-based) of each active rollout.\n"
           "# TYPE gitfleet_rollout_step gauge\n");
    pthread_mutex_lock(&rs->lock);
    for (size_t i = 0; i < rs->n_latest; i++) {
        const hub_rollout *r = rs->latest[i];
        if (!hub_rollout_active(r))
            continue;
        json_t *doc = hub_rollout_to_json(r, 0);
        append(&buf, &len, "gitfleet_rollout_step{appset=\"%s\",phase=\"%s\"} %lld\n",
               hub_rollout_appset(r), hub_rollout_phase_name(hub_rollout_phase(r)),
               (long long)json_integer_value(json_object_get(doc, "step")));
        json_decref(doc);
    }
    append(&buf, &len,
           "# HELP gitfleet_rollout_targets Targets of active rollouts by state.\n"
           "# TYPE gitfleet_rollout_targets gauge\n");
    for (size_t i = 0; i < rs->n_latest; i++) {
        const hub_rollout *r = rs->latest[i];
        size_t counts[8] = {0};
        if (!hub_rollout_active(r))
            continue;
        for (size_t k = 0; k < hub_rollout_n_targets(r); k++)
            counts[hub_rollout_target_at(r, k)->state]++;
        for (int s = 0; s < 8; s++)
            append(&buf, &len, "gitfleet_rollout_targets{appset=\"%s\",state=\"%s\"} %zu\n",
                   hub_rollout_appset(r), hub_rollout_target_state_name((enum hub_target_state)s),
                   counts[s]);
    }
    append(&buf, &len,
           "# HELP gitfleet_rollouts_ended_total Rollouts ended since the hub started, "
           "by how they ended.\n# TYPE gitfleet_rollouts_ended_total counter\n");
    for (int p = HUB_ROLLOUT_COMPLETED; p <= HUB_ROLLOUT_SUPERSEDED; p++)
        append(&buf, &len, "gitfleet_rollouts_ended_total{phase=\"%s\"} %lu\n",
               hub_rollout_phase_name((enum hub_rollout_phase)p), rs->ended[p]);
    pthread_mutex_unlock(&rs->lock);
    return buf;
}
