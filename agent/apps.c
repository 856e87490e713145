/* apps.c -- the apps of the enforced bundle: who syncs when, operations on a bounded pool, the
 * report */
#include "apps.h"

#include "appsync.h"
#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"
#include "gitfleet/log.h"
#include "gitfleet/wire.h"
#include "retry.h"
#include "state.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define APPS_DEFAULT_PARALLEL 4
#define APPS_HISTORY_KEEP     100

/* A bundle the loop and the syncs running on it share; freed by the last. */
struct shared {
    Gitfleet__Bundle *b;
    int refs; /* guarded by agent_apps.lock */
};

/* One app's operation, run on a pool thread. */
struct job {
    struct agent_apps *apps;
    struct shared *bundle;
    const Gitfleet__App *app; /* in bundle->b */
    char name[256];
    char hash[65];
    Gitfleet__AppOperationRequest *request; /* an owned copy, or NULL (automated) */
    struct agent_apply_op op;
    json_t *progress; /* the latest operation state (guarded by lock) */
    json_t *entry;    /* the result */
    int transient;
    struct job *next;
};

/* What the loop knows of an app between bundles (not persisted). */
struct app_rt {
    char name[256];
    struct job *running; /* NULL when idle */
    int64_t retry_at;    /* unix ms; 0: no retry scheduled */
    int retries;         /* retries of the failed state so far */
    int64_t transient_delay;
    uint64_t allowed_generation;             /* the bundle whose allow_prune was acted on */
    int restored;                            /* the persisted retry was looked at */
    char retry_hash[65];                     /* the state the retries are for */
    Gitfleet__AppOperationRequest *retry_of; /* owned: the request to retry, or NULL */
};

struct agent_apps {
    struct agent_apps_config cfg;
    struct agent_apply_config apply;
    struct agent_appsync_store *store;
    struct shared *bundle;
    char (*hashes)[65]; /* per app of the bundle */
    struct agent_apply_index *index;
    json_t *report;
    int dirty;
    struct app_rt *rt;
    size_t n_rt;
    pthread_t *threads;
    int n_threads;
    pthread_mutex_t lock; /* guards what follows, and shared.refs */
    pthread_cond_t work;
    struct job *queue, *queue_tail; /* waiting for a thread */
    struct job *done;               /* finished, for the loop */
    struct job *active;             /* running (for progress), linked by `next` too */
    volatile int stopping;          /* also every sync's cancel flag */
};

static int64_t now_ms(void)
{
    return gf_wire_now_ms();
}

/* ---- shared bundles and requests ---- */

static void shared_release(struct agent_apps *a, struct shared *s)
{
    int last;

    if (s == NULL)
        return;
    pthread_mutex_lock(&a->lock);
    last = --s->refs == 0;
    pthread_mutex_unlock(&a->lock);
    if (last) {
        gitfleet__bundle__free_unpacked(s->b, NULL);
        free(s);
    }
}

/* An independent copy of a request (its bundle may go before it is retried). */
static Gitfleet__AppOperationRequest *request_copy(const Gitfleet__AppOperationRequest *r)
{
    size_t len = gitfleet__app_operation_request__get_packed_size(r);
    uint8_t *buf = malloc(len ? len : 1);
    Gitfleet__AppOperationRequest *copy = NULL;

    if (buf != NULL) {
        gitfleet__app_operation_request__pack(r, buf);
        copy = gitfleet__app_operation_request__unpack(NULL, len, buf);
        free(buf);
    }
    return copy;
}

static void request_free(Gitfleet__AppOperationRequest *r)
{
    if (r != NULL)
        gitfleet__app_operation_request__free_unpacked(r, NULL);
}

static void job_free(struct agent_apps *a, struct job *j)
{
    if (j == NULL)
        return;
    shared_release(a, j->bundle);
    request_free(j->request);
    json_decref(j->progress);
    json_decref(j->entry);
    free(j);
}

/* ---- the pool ---- */

static void on_progress(void *arg, json_t *operation_state)
{
    struct job *j = arg;

    pthread_mutex_lock(&j->apps->lock);
    json_decref(j->progress);
    j->progress = operation_state;
    pthread_mutex_unlock(&j->apps->lock);
    j->apps->cfg.wake(j->apps->cfg.wake_arg);
}

static void unlink_active(struct agent_apps *a, struct job *j)
{
    for (struct job **p = &a->active; *p; p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            break;
        }
}

static void *worker(void *arg)
{
    struct agent_apps *a = arg;

    pthread_mutex_lock(&a->lock);
    for (;;) {
        while (!a->stopping && a->queue == NULL)
            pthread_cond_wait(&a->work, &a->lock);
        if (a->stopping)
            break;
        struct job *j = a->queue;
        a->queue = j->next;
        if (a->queue == NULL)
            a->queue_tail = NULL;
        j->next = a->active;
        a->active = j;
        pthread_mutex_unlock(&a->lock);
        if (agent_apply_sync_app(&j->entry, a->cfg.kube, j->bundle->b, j->app, &j->op, &a->apply,
                                 &j->transient) < 0)
            gf_log_error("AGENT-SYNC-ERROR", "app=%s error=\"%s\"", j->name, gf_error_last());
        pthread_mutex_lock(&a->lock);
        unlink_active(a, j);
        j->next = a->done;
        a->done = j;
        pthread_mutex_unlock(&a->lock);
        a->cfg.wake(a->cfg.wake_arg);
        pthread_mutex_lock(&a->lock);
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

int agent_apps_new(struct agent_apps **out, const struct agent_apps_config *config)
{
    struct agent_apps *a = calloc(1, sizeof(*a));
    int error;

    *out = NULL;
    if (a == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    a->cfg = *config;
    a->apply = *config->apply;
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->work, NULL);
    if ((error = agent_appsync_load(&a->store, config->state_dir)) < 0) {
        agent_apps_free(a);
        return error;
    }
    int n = config->parallel > 0 ? config->parallel : APPS_DEFAULT_PARALLEL;
    if ((a->threads = calloc((size_t)n, sizeof(*a->threads))) == NULL) {
        agent_apps_free(a);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    for (; a->n_threads < n; a->n_threads++)
        if (pthread_create(&a->threads[a->n_threads], NULL, worker, a) != 0) {
            agent_apps_free(a);
            return gf_error_set(GF_EIO, "cannot start a sync thread");
        }
    *out = a;
    return 0;
}

static void free_list(struct agent_apps *a, struct job *j)
{
    while (j != NULL) {
        struct job *next = j->next;
        job_free(a, j);
        j = next;
    }
}

void agent_apps_free(struct agent_apps *a)
{
    if (a == NULL)
        return;
    pthread_mutex_lock(&a->lock);
    a->stopping = 1;
    pthread_cond_broadcast(&a->work);
    pthread_mutex_unlock(&a->lock);
    for (int i = 0; i < a->n_threads; i++)
        pthread_join(a->threads[i], NULL);
    free(a->threads);
    free_list(a, a->queue);
    free_list(a, a->done);
    for (size_t i = 0; i < a->n_rt; i++)
        request_free(a->rt[i].retry_of);
    free(a->rt);
    agent_apply_index_free(a->index);
    shared_release(a, a->bundle);
    free(a->hashes);
    json_decref(a->report);
    agent_appsync_free(a->store);
    pthread_cond_destroy(&a->work);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

/* ---- per-app memory ---- */

static struct app_rt *rt_get(struct agent_apps *a, const char *name)
{
    for (size_t i = 0; i < a->n_rt; i++)
        if (strcmp(a->rt[i].name, name) == 0)
            return &a->rt[i];
    struct app_rt *grown = realloc(a->rt, (a->n_rt + 1) * sizeof(*grown));
    if (grown == NULL)
        return NULL;
    a->rt = grown;
    memset(&a->rt[a->n_rt], 0, sizeof(a->rt[0]));
    snprintf(a->rt[a->n_rt].name, sizeof(a->rt[0].name), "%s", name);
    return &a->rt[a->n_rt++];
}

static void rt_clear_retry(struct app_rt *rt)
{
    rt->retry_at = 0;
    rt->retries = 0;
    rt->transient_delay = 0;
    rt->retry_hash[0] = '\0';
    request_free(rt->retry_of);
    rt->retry_of = NULL;
}

static const Gitfleet__Bundle *bundle_of(const struct agent_apps *a)
{
    return a->bundle ? a->bundle->b : NULL;
}

static long app_index(const struct agent_apps *a, const char *name)
{
    const Gitfleet__Bundle *b = bundle_of(a);

    for (size_t i = 0; b && i < b->n_apps; i++)
        if (strcmp(b->apps[i]->name, name) == 0)
            return (long)i;
    return -1;
}

static json_t *report_entry(const struct agent_apps *a, size_t i)
{
    return json_array_get(json_object_get(a->report, "apps"), i);
}

static const char *app_revision(const Gitfleet__Bundle *b, const Gitfleet__App *app)
{
    return app->revision && app->revision[0] ? app->revision : b->revision ? b->revision : "";
}

/* The members every entry carries: hashes, suspension, revision, and the
 * app's current or last operation. */
static void decorate(struct agent_apps *a, size_t i, json_t *entry)
{
    const Gitfleet__Bundle *b = bundle_of(a);
    const Gitfleet__App *app = b->apps[i];
    json_t *record = agent_appsync_app(a->store, app->name);
    struct app_rt *rt = rt_get(a, app->name);

    json_object_set_new(entry, "revision", json_string(app_revision(b, app)));
    json_object_set_new(entry, "generation", json_integer((json_int_t)b->generation));
    json_object_set_new(entry, "desiredHash", json_string(a->hashes[i]));
    json_object_set_new(entry, "syncedHash", json_string(agent_appsync_get(record, "syncedHash")));
    json_object_set_new(entry, "autoSyncSuspended",
                        json_boolean(app->has_auto_sync_suspended && app->auto_sync_suspended));
    if (app->has_auto_sync_suspended && app->auto_sync_suspended) {
        /* Say plainly that this is not Git's state (Argo CD: OutOfSync after a rollback). */
        char message[512];
        snprintf(message, sizeof(message),
                 "rolled back to generation %llu%s%.12s: auto-sync suspended until the app "
                 "changes in Git or `gitfleet sync %s`",
                 (unsigned long long)app->rollback_generation,
                 app->rollback_revision && app->rollback_revision[0] ? " at " : "",
                 app->rollback_revision ? app->rollback_revision : "", app->name);
        const char *said = json_string_value(json_object_get(entry, "message"));
        if (said == NULL || said[0] == '\0' || strncmp(said, "rolled back", 11) == 0)
            json_object_set_new(entry, "message", json_string(message));
    }
    if (rt && rt->running) {
        json_object_set_new(entry, "operation", json_string("Running"));
        json_object_set_new(entry, "health", json_string("Progressing"));
        return;
    }
    const json_t *last = json_object_get(record, "operationState");
    if (json_is_object(last)) {
        json_object_set_new(entry, "operationState", json_deep_copy(last));
        json_object_set(entry, "operation", json_object_get(last, "phase"));
    }
}

/* ---- comparing and syncing ---- */

/* A fresh comparison of app i (reads only). */
static json_t *assess(struct agent_apps *a, size_t i)
{
    json_t *entry = NULL;
    int transient = 0;

    if (agent_apply_assess_app(&entry, a->cfg.kube, bundle_of(a), bundle_of(a)->apps[i], &a->apply,
                               &transient) < 0)
        entry =
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s], s:[]}", "name", bundle_of(a)->apps[i]->name,
                      "sync", "Unknown", "health", "Unknown", "message", gf_error_last(),
                      "operation", "", "errors", gf_error_last(), "resources");
    return entry;
}

/* The operation state shown the moment a sync is queued. */
static json_t *queued_state(const struct job *j, const Gitfleet__Bundle *b)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:s, s:s, s:b, s:s, s:s, s:i, s:[]}",
                     "id", j->op.id, "phase", "Running", "message", "waiting to start", "syncPhase",
                     "", "wave", 0, "startedAt", (json_int_t)now_ms(), "finishedAt", (json_int_t)0,
                     "revision", app_revision(b, j->app), "contentHash", j->hash, "dryRun",
                     j->op.dry_run, "initiatedBy", j->op.initiated_by, "kind", j->op.kind,
                     "retryCount", j->op.retry_count, "results");
}

static void start_job(struct agent_apps *a, size_t i, const Gitfleet__AppOperationRequest *req,
                      enum agent_appsync_trigger trigger, struct app_rt *rt)
{
    const Gitfleet__Bundle *b = bundle_of(a);
    const Gitfleet__App *app = b->apps[i];
    const Gitfleet__SyncPolicy *p = app->sync_policy;
    struct job *j = calloc(1, sizeof(*j));

    if (j == NULL || (req != NULL && (j->request = request_copy(req)) == NULL)) {
        free(j);
        gf_log_error("AGENT-SYNC-START", "app=%s error=\"out of memory\"", app->name);
        return;
    }
    j->apps = a;
    j->bundle = a->bundle;
    j->app = app;
    snprintf(j->name, sizeof(j->name), "%s", app->name);
    memcpy(j->hash, a->hashes[i], sizeof(j->hash));
    req = j->request;
    j->op.id = req && req->id ? req->id : "";
    j->op.kind = req && req->kind && req->kind[0] ? req->kind : "sync";
    j->op.initiated_by = agent_appsync_trigger_name(trigger);
    j->op.desired_hash = j->hash;
    j->op.prune = req ? req->prune : (p && p->automated && p->prune);
    j->op.dry_run = req && req->dry_run;
    j->op.force = req && req->force;
    j->op.retry_count = trigger == AGENT_APPSYNC_RETRY ? rt->retries : 0;
    j->op.resources = req ? req->resources : NULL;
    j->op.n_resources = req ? req->n_resources : 0;
    j->op.progress = on_progress;
    j->op.progress_arg = j;
    j->op.cancel = &a->stopping;
    pthread_mutex_lock(&a->lock);
    a->bundle->refs++;
    pthread_mutex_unlock(&a->lock);
    rt->running = j;
    json_t *entry = report_entry(a, i);
    json_object_set_new(entry, "operationState", queued_state(j, b));
    decorate(a, i, entry);
    a->dirty = 1;
    gf_log_info("AGENT-SYNC-START", "app=%s trigger=%s id=%s kind=%s dry_run=%d hash=%.12s",
                app->name, j->op.initiated_by, j->op.id, j->op.kind, j->op.dry_run, j->hash);
    pthread_mutex_lock(&a->lock);
    if (a->queue_tail)
        a->queue_tail->next = j;
    else
        a->queue = j;
    a->queue_tail = j;
    pthread_cond_signal(&a->work);
    pthread_mutex_unlock(&a->lock);
}

/* A request that expired before it could run is answered, not dropped. */
static void answer_expired(struct agent_apps *a, size_t i, const Gitfleet__AppOperationRequest *r)
{
    json_t *record = agent_appsync_app(a->store, r->app);
    json_t *op =
        json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:s, s:s, s:b, s:s, s:s, s:i, "
                  "s:[]}",
                  "id", r->id, "phase", "Error", "message",
                  "the request expired before the agent could run it", "syncPhase", "", "wave", 0,
                  "startedAt", (json_int_t)now_ms(), "finishedAt", (json_int_t)now_ms(), "revision",
                  "", "contentHash", a->hashes[i], "dryRun", (int)r->dry_run, "initiatedBy",
                  "operator", "kind", r->kind ? r->kind : "sync", "retryCount", 0, "results");

    json_object_set_new(record, "operationState", op);
    agent_appsync_mark_ran(a->store, r->id, now_ms());
    decorate(a, i, report_entry(a, i));
    a->dirty = 1;
    gf_log_warn("AGENT-OPERATION-EXPIRED", "app=%s id=%s", r->app, r->id);
}

/* Does the comparison show drift or missing objects (not counting what
 * only needs pruning, which a self-heal cannot do)? */
static int live_out_of_sync(const json_t *entry, size_t n_resources)
{
    for (size_t j = 0; j < n_resources; j++) {
        const char *sync = json_string_value(
            json_object_get(json_array_get(json_object_get(entry, "resources"), j), "sync"));
        if (sync && strcmp(sync, "Synced") != 0)
            return 1;
    }
    return 0;
}

/* A retry scheduled before a restart goes on where it was (automated ones:
 * an operator's request is not kept across restarts). */
static void restore_retry(struct app_rt *rt, const json_t *record, const char *hash)
{
    const json_t *retry = json_object_get(record, "retry");

    if (rt->restored || rt->retry_at || rt->running)
        return;
    rt->restored = 1;
    if (strcmp(agent_appsync_get(retry, "hash"), hash) != 0)
        return;
    rt->retry_at = (int64_t)json_integer_value(json_object_get(retry, "at"));
    if (rt->retry_at <= 0)
        rt->retry_at = now_ms();
    rt->retries = (int)json_integer_value(json_object_get(retry, "count"));
    snprintf(rt->retry_hash, sizeof(rt->retry_hash), "%s", hash);
}

/* The retry to persist, or none. */
static void save_retry(json_t *record, const struct app_rt *rt)
{
    if (rt->retry_at == 0 || rt->retry_of != NULL)
        json_object_del(record, "retry");
    else
        json_object_set_new(record, "retry",
                            json_pack("{s:I, s:i, s:s}", "at", (json_int_t)rt->retry_at, "count",
                                      rt->retries, "hash", rt->retry_hash));
}

/* The bundle allows the app's held prunes, and some are waiting. */
static int prune_allowed(const Gitfleet__Bundle *b, const Gitfleet__App *app, const json_t *entry)
{
    int allowed = 0, waiting = json_is_true(json_object_get(entry, "held"));
    size_t j;
    json_t *res;

    for (size_t i = 0; i < b->n_allow_prune; i++)
        allowed |= strcmp(b->allow_prune[i], app->name) == 0;
    json_array_foreach(json_object_get(entry, "resources"), j, res) waiting |=
        json_is_true(json_object_get(res, "requiresPruning"));
    return allowed && waiting;
}

/* Decide every app; start what is due; heal drift when `heal` allows. */
static void decide_all(struct agent_apps *a, int heal)
{
    const Gitfleet__Bundle *b = bundle_of(a);
    int *heal_apps = b ? calloc(b->n_apps + 1, sizeof(int)) : NULL;
    int any_heal = 0, save = 0;

    for (size_t i = 0; b && heal_apps && i < b->n_apps; i++) {
        const Gitfleet__App *app = b->apps[i];
        const Gitfleet__SyncPolicy *p = app->sync_policy;
        json_t *record = agent_appsync_app(a->store, app->name);
        struct app_rt *rt = rt_get(a, app->name);
        const Gitfleet__AppOperationRequest *expired = NULL, *req;
        if (rt == NULL)
            continue;
        restore_retry(rt, record, a->hashes[i]);
        if (rt->retry_at && strcmp(rt->retry_hash, a->hashes[i]) != 0)
            rt_clear_retry(rt); /* a new state: the old one's retries are moot */
        req = agent_appsync_pending_request(b, app->name, agent_appsync_ran(a->store), now_ms(),
                                            &expired);
        if (expired != NULL && !rt->running) {
            answer_expired(a, i, expired);
            save = 1;
        }
        struct agent_appsync_facts f = {
            .automated = p && p->automated,
            .self_heal = p && p->self_heal,
            .suspended = app->has_auto_sync_suspended && app->auto_sync_suspended,
            .render_error = app->render_error && app->render_error[0],
            .running = rt->running != NULL,
            .live_out_of_sync = live_out_of_sync(report_entry(a, i), app->n_resources),
            .desired_hash = a->hashes[i],
            .synced_hash = agent_appsync_get(record, "syncedHash"),
            .failed_hash = agent_appsync_get(record, "failedHash"),
            .request_pending = req != NULL,
            .prune_allowed = rt->allowed_generation != b->generation &&
                             prune_allowed(b, app, report_entry(a, i)),
            .retry_due = rt->retry_at && now_ms() >= rt->retry_at};
        enum agent_appsync_trigger t = agent_appsync_decide(&f);
        if (t == AGENT_APPSYNC_OPERATOR && req == NULL) {
            rt->allowed_generation = b->generation; /* once per allowing bundle */
            start_job(a, i, NULL, t, rt);
        } else if (t == AGENT_APPSYNC_OPERATOR) {
            agent_appsync_mark_ran(a->store, req->id, now_ms()); /* at most once */
            save = 1;
            start_job(a, i, req, t, rt);
        } else if (t == AGENT_APPSYNC_RETRY) {
            rt->retry_at = 0;
            start_job(a, i, rt->retry_of, t, rt);
        } else if (t == AGENT_APPSYNC_AUTOMATED) {
            start_job(a, i, NULL, t, rt);
        } else if (t == AGENT_APPSYNC_SELF_HEAL) {
            /* a state whose sync failed: only what exists is held to Git */
            heal_apps[i] = strcmp(f.desired_hash, f.synced_hash) == 0 ? AGENT_APPLY_HEAL_ALL
                                                                      : AGENT_APPLY_HEAL_DRIFTED;
            any_heal = 1;
        }
    }
    if (save && agent_appsync_save(a->store) < 0)
        gf_log_error("AGENT-APPS-STATE", "error=\"%s\"", gf_error_last());
    if (heal && any_heal && a->index) {
        int healed = 0;
        agent_apply_heal(a->cfg.kube, a->index, a->report, heal_apps, &healed);
        if (healed > 0) {
            gf_log_info("AGENT-SELF-HEAL", "objects=%d", healed);
            a->dirty = 1;
        }
    }
    free(heal_apps);
}

/* report.json: the last report, for people on the cluster and restarts. */
static void save_report(struct agent_apps *a)
{
    struct agent_state st = {.dir = (char *)a->cfg.state_dir};

    if (agent_state_write_report(&st, a->report) < 0)
        gf_log_warn("AGENT-REPORT-SAVE", "error=\"%s\"", gf_error_last());
}

/* ---- finished syncs ---- */

/* The app's retry policy as Argo CD's fields mean it; 0 when none. */
static int app_retry(const Gitfleet__App *app, struct agent_retry *out)
{
    const Gitfleet__RetryPolicy *r = app->sync_policy ? app->sync_policy->retry : NULL;

    if (r == NULL)
        return 0;
    out->limit = r->has_limit ? r->limit : 0;
    out->duration = r->has_backoff_duration_ms ? (double)r->backoff_duration_ms / 1000.0
                                               : AGENT_RETRY_DEFAULT_DURATION;
    out->factor = r->has_backoff_factor ? r->backoff_factor : AGENT_RETRY_DEFAULT_FACTOR;
    out->max_duration = r->has_backoff_max_duration_ms ? (double)r->backoff_max_duration_ms / 1000.0
                                                       : AGENT_RETRY_DEFAULT_MAX_DURATION;
    return 1;
}

/* A failed operation retries as the app's syncPolicy.retry says (duration
 * * factor^n, capped, at most `limit` times); a transient failure of the
 * API server (429/5xx, no answer) retries with a short backoff anyway. */
static void schedule_retry(struct agent_apps *a, struct job *j, struct app_rt *rt)
{
    struct agent_retry r;
    int64_t delay = -1;

    if (strcmp(rt->retry_hash, j->hash) != 0) {
        rt_clear_retry(rt);
        memcpy(rt->retry_hash, j->hash, sizeof(rt->retry_hash));
    }
    if (app_retry(j->app, &r) && agent_retry_allowed(&r, rt->retries)) {
        delay = (int64_t)(agent_retry_delay(&r, rt->retries) * 1000);
        gf_log_info("AGENT-SYNC-RETRY", "app=%s generation=%llu attempt=%d in_ms=%lld", j->name,
                    (unsigned long long)j->bundle->b->generation, rt->retries + 1,
                    (long long)delay);
        rt->retries++;
    } else if (j->transient) {
        rt->transient_delay = rt->transient_delay ? rt->transient_delay * 2 : 1000;
        if (rt->transient_delay > 30000)
            rt->transient_delay = 30000;
        delay = rt->transient_delay + rand() % (rt->transient_delay / 4 + 1);
        gf_log_warn("AGENT-APPLY-RETRY", "app=%s generation=%llu in_ms=%lld", j->name,
                    (unsigned long long)j->bundle->b->generation, (long long)delay);
    }
    if (delay < 0)
        return;
    rt->retry_at = now_ms() + delay;
    if (j->request != NULL && rt->retry_of == NULL)
        rt->retry_of = request_copy(j->request);
}

/* The local history keeps the outcome of each operation. */
static void remember(struct agent_apps *a, const struct job *j)
{
    const json_t *op = json_object_get(j->entry, "operationState");
    json_t *entry = json_pack(
        "{s:I, s:I, s:s, s:[{s:s, s:O, s:O, s:O, s:O, s:O, s:O}]}", "time", (json_int_t)now_ms(),
        "generation", (json_int_t)j->bundle->b->generation, "revision",
        app_revision(j->bundle->b, j->app), "apps", "name", j->name, "operation",
        json_object_get(j->entry, "operation"), "sync", json_object_get(j->entry, "sync"),
        "message", json_object_get(j->entry, "message"), "id", json_object_get(op, "id"),
        "initiatedBy", json_object_get(op, "initiatedBy"), "dryRun", json_object_get(op, "dryRun"));
    struct agent_state st = {.dir = (char *)a->cfg.state_dir};

    if (entry == NULL || agent_state_append_history(&st, entry, APPS_HISTORY_KEEP) < 0)
        gf_log_warn("AGENT-HISTORY-FAIL", "error=\"%s\"", gf_error_last());
    json_decref(entry);
}

static void finish_job(struct agent_apps *a, struct job *j)
{
    struct app_rt *rt = rt_get(a, j->name);
    json_t *record = agent_appsync_app(a->store, j->name);
    const json_t *op = json_object_get(j->entry, "operationState");
    const char *phase = json_string_value(json_object_get(op, "phase"));
    long i = app_index(a, j->name);

    if (rt != NULL && rt->running == j)
        rt->running = NULL;
    if (j->entry == NULL)
        return;
    if (!j->op.dry_run && phase && strcmp(phase, "Succeeded") == 0) {
        json_object_set_new(record, "syncedHash", json_string(j->hash));
        json_object_set_new(record, "syncedRevision",
                            json_string(app_revision(j->bundle->b, j->app)));
        json_object_set_new(record, "syncedGeneration",
                            json_integer((json_int_t)j->bundle->b->generation));
        json_object_set_new(record, "failedHash", json_string(""));
        if (rt)
            rt_clear_retry(rt);
    } else if (!j->op.dry_run) {
        if (strcmp(j->op.initiated_by, "automated") == 0 ||
            strcmp(j->op.initiated_by, "retry") == 0)
            json_object_set_new(record, "failedHash", json_string(j->hash));
        gf_log_warn("AGENT-SYNC-FAILED", "app=%s error=\"%s\"", j->name,
                    json_string_value(json_object_get(j->entry, "message")));
        if (rt)
            schedule_retry(a, j, rt);
    }
    if (json_is_object(op))
        json_object_set(record, "operationState", (json_t *)op);
    if (rt)
        save_retry(record, rt);
    if (agent_appsync_save(a->store) < 0)
        gf_log_error("AGENT-APPS-STATE", "error=\"%s\"", gf_error_last());
    remember(a, j);
    gf_log_info("AGENT-SYNC-DONE", "app=%s phase=%s dry_run=%d writes_total=%lld", j->name,
                phase ? phase : "?", j->op.dry_run, agent_kube_writes(a->cfg.kube));
    if (i >= 0) {
        /* The result describes the state synced; if the bundle moved on to
         * another state of this app, compare that one instead. */
        json_t *entry = strcmp(a->hashes[i], j->hash) == 0 ? json_incref(j->entry) : assess(a, i);
        decorate(a, (size_t)i, entry);
        json_array_set_new(json_object_get(a->report, "apps"), (size_t)i, entry);
    }
    a->dirty = 1;
    save_report(a);
}

/* ---- the loop's entry points ---- */

/* The previous report's entry for `name` when it still describes `hash`. */
static json_t *reusable(const json_t *report, const char *name, const char *hash)
{
    size_t i;
    json_t *e;

    json_array_foreach(json_object_get(report, "apps"), i, e)
    {
        const char *n = json_string_value(json_object_get(e, "name"));
        const char *h = json_string_value(json_object_get(e, "desiredHash"));
        if (n && strcmp(n, name) == 0)
            return h && strcmp(h, hash) == 0 && !json_object_get(e, "retired") ? e : NULL;
    }
    return NULL;
}

static int compute_hashes(struct agent_apps *a, Gitfleet__Bundle *b)
{
    char(*hashes)[65] = calloc(b->n_apps + 1, sizeof(*hashes));

    if (hashes == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    for (size_t i = 0; i < b->n_apps; i++)
        if (agent_appsync_desired_hash(hashes[i], b->apps[i]) < 0) {
            free(hashes);
            return GF_ENOMEM;
        }
    free(a->hashes);
    a->hashes = hashes;
    return 0;
}

void agent_apps_adopt(struct agent_apps *a, Gitfleet__Bundle *bundle)
{
    struct shared *s = calloc(1, sizeof(*s));
    json_t *old = a->report, *apps;
    int transient = 0;

    if (s == NULL || compute_hashes(a, bundle) < 0) {
        gf_log_error("AGENT-ADOPT", "error=\"out of memory\"");
        free(s);
        gitfleet__bundle__free_unpacked(bundle, NULL);
        return;
    }
    s->b = bundle;
    s->refs = 1;
    agent_apply_index_free(a->index);
    a->index = NULL;
    shared_release(a, a->bundle);
    a->bundle = s;
    if (agent_apply_index_new(&a->index, bundle) < 0)
        gf_log_error("AGENT-INDEX-FAIL", "error=\"%s\"", gf_error_last());
    a->report = json_pack("{s:s, s:I, s:s, s:I, s:s, s:[]}", "cluster", a->cfg.cluster,
                          "generation", (json_int_t)bundle->generation, "revision",
                          bundle->revision ? bundle->revision : "", "time", (json_int_t)now_ms(),
                          "error", "", "apps");
    apps = json_object_get(a->report, "apps");
    for (size_t i = 0; i < bundle->n_apps; i++) {
        json_t *prev = reusable(old, bundle->apps[i]->name, a->hashes[i]);
        json_t *entry = prev ? json_deep_copy(prev) : assess(a, i);
        json_array_append_new(apps, entry);
        decorate(a, i, entry);
    }
    json_decref(old);
    agent_apply_retire(apps, a->cfg.kube, bundle, &a->apply, &transient);
    a->dirty = 1;
    decide_all(a, 1);
    save_report(a);
}

const Gitfleet__Bundle *agent_apps_bundle(const struct agent_apps *a)
{
    return bundle_of(a);
}

void agent_apps_observe(struct agent_apps *a, const char *group, const char *kind,
                        const char *namespace_, const char *name, const json_t *live)
{
    int drifted = 0, changed = 0;

    agent_apply_observe(a->report, a->index, group, kind, namespace_, name, live, &drifted,
                        &changed);
    a->dirty |= changed;
}

void agent_apps_heal(struct agent_apps *a)
{
    decide_all(a, 1);
}

/* Progress of the running syncs into their entries. */
static void take_progress(struct agent_apps *a)
{
    pthread_mutex_lock(&a->lock);
    for (struct job *j = a->active; j; j = j->next) {
        if (j->progress == NULL)
            continue;
        long i = app_index(a, j->name);
        if (i >= 0) {
            json_t *entry = report_entry(a, (size_t)i);
            json_object_set_new(entry, "operationState", j->progress);
            json_object_set_new(entry, "operation", json_string("Running"));
            json_object_set_new(entry, "health", json_string("Progressing"));
            a->dirty = 1;
        } else {
            json_decref(j->progress);
        }
        j->progress = NULL;
    }
    pthread_mutex_unlock(&a->lock);
}

void agent_apps_tick(struct agent_apps *a, int resync)
{
    struct job *done;

    take_progress(a);
    pthread_mutex_lock(&a->lock);
    done = a->done;
    a->done = NULL;
    pthread_mutex_unlock(&a->lock);
    while (done != NULL) {
        struct job *next = done->next;
        finish_job(a, done);
        job_free(a, done);
        done = next;
    }
    if (resync && a->index && a->report) {
        int changed = 0;
        agent_apply_refresh(a->cfg.kube, a->index, a->report, &changed);
        a->dirty |= changed;
    }
    decide_all(a, resync);
}

const json_t *agent_apps_report(const struct agent_apps *a)
{
    return a->report;
}

int agent_apps_dirty(const struct agent_apps *a)
{
    return a->dirty;
}

void agent_apps_clear_dirty(struct agent_apps *a)
{
    a->dirty = 0;
}
