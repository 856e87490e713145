/* hub.c -- the hub daemon: data directory, keys, sync loop (fetch, render, publish) */
#include "hub.h"
#include "healthcm.h"

#include "api.h"
#include "appops.h"
#include "creds.h"
#include "http.h"
#include "gitfleet/doc.h"
#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"
#include "gitfleet/log.h"
#include "gitfleet/os.h"
#include "gitfleet/redact.h"
#include "gitfleet/report.h"
#include "events.h"
#include "publish.h"
#include "rollouts.h"

#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* What one sync pass produced, shared by reference with API readers. */
struct hub_pass {
    int refs;     /* atomic */
    uint64_t seq; /* passes since the start: hub_view.seq */
    struct hub_fleet *fleet;
    json_t *render_errors;
    json_t *revisions; /* cluster -> {app -> the commit it was rendered at} */
};

/*
 * The daemon's state. The sync thread owns `source` and the render cache;
 * `lock` guards the current pass, the last commit and error, and the sync
 * requests; the counters are atomic.
 */
struct hub {
    struct hub_settings settings;
    hub_store *store;
    gf_sign_key *key;
    char admin_token[65];
    hub_source *source;
    struct hub_creds *creds; /* the repository's credentials; outlives source */
    struct hub_render_cache *cache;
    hub_serve *serve;
    struct hub_api *api;
    hub_reports *reports;   /* last reports and desired generations, in memory */
    hub_rollouts *rollouts; /* progressive rollouts (docs/rollouts.md) */
    hub_events *events;     /* issue 14: the dashboard's change feed */

    pthread_mutex_t lock;
    pthread_cond_t wake; /* the sync thread waits on it */
    pthread_cond_t done; /* sync_now waiters wait on it */
    int sync_requested;
    int rollouts_poked; /* a report came while a rollout runs: tick now */
    int sync_running;
    uint64_t syncs_done;
    int stopping;
    struct hub_pass *pass; /* NULL before the first sync */
    char commit[41];
    char last_error[512]; /* of the last sync pass, "" when fine */
    json_t *republish;    /* clusters queued by hub_republish_later() */
    int publish_retry;    /* a bundle was not stored: the next pass re-publishes */
    int64_t retry_ms;     /* and comes this soon (doubling up to the poll interval) */
    struct hub_metrics metrics;
};

#define COUNT(h, field, n) __atomic_fetch_add(&(h)->metrics.field, (n), __ATOMIC_RELAXED)

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    (void)sig;
    stop_signal = 1;
}

static void data_path(char *buf, size_t len, const hub *h, const char *name)
{
    snprintf(buf, len, "%s/%s", h->settings.data_dir, name);
}

/* ---- first start: key and admin token ---- */

static int load_or_create_key(hub *h)
{
    char path[4096];
    int error;

    data_path(path, sizeof(path), h, "hub.key");
    if (access(path, F_OK) == 0)
        return gf_sign_key_load(&h->key, path);
    if ((error = gf_sign_key_generate(&h->key)) < 0 ||
        (error = gf_sign_key_save_private(h->key, path)) < 0)
        return error;
    data_path(path, sizeof(path), h, "hub.pub");
    gf_log_info("HUB-KEY-CREATED", "path=%s", path);
    return gf_sign_key_save_public(h->key, path);
}

static int load_or_create_admin_token(hub *h)
{
    char path[4096], *text = NULL;
    unsigned char raw[24];
    int error;

    data_path(path, sizeof(path), h, "admin.token");
    if (gf_fs_read(&text, NULL, path, 4096) == 0) {
        text[strcspn(text, "\r\n")] = '\0';
        snprintf(h->admin_token, sizeof(h->admin_token), "%s", text);
        free(text);
        return h->admin_token[0] ? 0 : gf_error_set(GF_EINVAL, "%s is empty", path);
    }
    if ((error = gf_wire_random(raw, sizeof(raw))) < 0)
        return error;
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(h->admin_token + 2 * i, 3, "%02x", raw[i]);
    return gf_fs_write_atomic(path, h->admin_token, strlen(h->admin_token), 0600);
}

int hub_check_admin(hub *h, const char *token)
{
    size_t n = strlen(h->admin_token);

    return token != NULL && strlen(token) == n && CRYPTO_memcmp(token, h->admin_token, n) == 0;
}

const char *hub_webhook_secret(hub *h)
{
    return h->settings.webhook_secret;
}

/* ---- what other modules may read ---- */

static void pass_put(struct hub_pass *pass)
{
    if (pass == NULL || __atomic_sub_fetch(&pass->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    hub_fleet_free(pass->fleet);
    json_decref(pass->render_errors);
    json_decref(pass->revisions);
    free(pass);
}

void hub_view_get(hub *h, struct hub_view *out)
{
    pthread_mutex_lock(&h->lock);
    out->pass = h->pass;
    if (out->pass)
        __atomic_add_fetch(&out->pass->refs, 1, __ATOMIC_RELAXED);
    memcpy(out->commit, h->commit, sizeof(out->commit));
    memcpy(out->last_error, h->last_error, sizeof(out->last_error));
    pthread_mutex_unlock(&h->lock);
    out->fleet = out->pass ? out->pass->fleet : NULL;
    out->render_errors = out->pass ? out->pass->render_errors : NULL;
    out->revisions = out->pass ? out->pass->revisions : NULL;
    out->seq = out->pass ? out->pass->seq : 0;
}

void hub_view_put(struct hub_view *view)
{
    if (view == NULL)
        return;
    pass_put(view->pass);
    view->pass = NULL;
    view->fleet = NULL;
    view->render_errors = NULL;
    view->revisions = NULL;
}

hub_store *hub_get_store(hub *h)
{
    return h->store;
}

hub_reports *hub_get_reports(hub *h)
{
    return h->reports;
}

hub_rollouts *hub_get_rollouts(hub *h)
{
    return h->rollouts;
}

hub_events *hub_get_events(hub *h)
{
    return h->events;
}

hub_serve *hub_get_serve(hub *h)
{
    return h->serve;
}

const struct hub_settings *hub_get_settings(hub *h)
{
    return &h->settings;
}

void hub_metrics_get(hub *h, struct hub_metrics *out)
{
    out->syncs = __atomic_load_n(&h->metrics.syncs, __ATOMIC_RELAXED);
    out->renders = __atomic_load_n(&h->metrics.renders, __ATOMIC_RELAXED);
    out->render_errors = __atomic_load_n(&h->metrics.render_errors, __ATOMIC_RELAXED);
    out->bundles_published = __atomic_load_n(&h->metrics.bundles_published, __ATOMIC_RELAXED);
    out->fetch_errors = __atomic_load_n(&h->metrics.fetch_errors, __ATOMIC_RELAXED);
    out->publish_errors = __atomic_load_n(&h->metrics.publish_errors, __ATOMIC_RELAXED);
}

int hub_keys_show(const char *data_dir)
{
    char path[4096], *pem = NULL, id[GF_SIGN_KEY_ID_LEN + 1];
    gf_sign_key *key = NULL;
    int error;

    snprintf(path, sizeof(path), "%s/hub.key", data_dir);
    if ((error = gf_sign_key_load(&key, path)) < 0)
        return error;
    if ((error = gf_sign_key_public_pem(&pem, key)) == 0) {
        gf_sign_key_id(id, key);
        printf("key id: %s\n%s", id, pem);
    }
    free(pem);
    gf_sign_key_free(key);
    return error;
}

/* ---- the sync pass ---- */

/* Trees at other revisions, for apps with their own targetRevision. */
static int tree_at(hub_filesrc **out, char commit_out[41], void *arg, const char *revision)
{
    hub *h = arg;
    int error;

    if ((error = hub_source_resolve(commit_out, h->source, revision)) < 0)
        return error;
    return hub_source_tree(out, h->source, commit_out);
}

/* One sync pass's rendering: clusters finish on the render threads. */
struct pass_render {
    hub *h;
    const struct hub_fleet *fleet;
    const gf_healthscripts *health; /* Lua health scripts of this pass */
    pthread_mutex_t lock;           /* errors, revisions, unpublished, first_failure */
    json_t *errors;                 /* cluster -> [app errors] */
    json_t *revisions;              /* cluster -> {app -> commit rendered} */
    json_t *published;              /* cluster -> generation stored in this pass's batch */
    int unpublished;                /* clusters whose bundle could not be stored */
    char first_failure[256];
};

/* A bundle that could not be signed or stored: never silent. It shows in
 * the cluster's problems, in gitfleet_publish_errors_total and in the pass's
 * error (so `gitfleet sync` fails), and the next pass publishes it again. */
static void publish_failed(struct pass_render *pr, const char *cluster, json_t *list)
{
    COUNT(pr->h, publish_errors, 1);
    gf_log_error("HUB-PUBLISH-FAIL", "cluster=%s error=\"%s\"", cluster, gf_error_last());
    if (list)
        json_array_append_new(list, json_sprintf("bundle not published: %s", gf_error_last()));
    pthread_mutex_lock(&pr->lock);
    if (pr->unpublished++ == 0)
        snprintf(pr->first_failure, sizeof(pr->first_failure), "%s: %s", cluster, gf_error_last());
    pthread_mutex_unlock(&pr->lock);
}

static void add_errors(struct pass_render *pr, const char *cluster, json_t *list)
{
    pthread_mutex_lock(&pr->lock);
    json_object_set_new(pr->errors, cluster, list);
    pthread_mutex_unlock(&pr->lock);
}

/* The commit each app of the cluster was rendered at in this pass: what
 * status shows for an app whose unchanged state the agent holds (its bundle
 * may be from an older commit that rendered the same). */
static void add_revisions(struct pass_render *pr, const char *cluster,
                          const struct hub_bundle *bundle)
{
    json_t *apps = json_object();

    for (size_t i = 0; i < bundle->n_apps; i++)
        json_object_set_new(apps, bundle->apps[i].app->name,
                            json_string(bundle->apps[i].revision ? bundle->apps[i].revision : ""));
    pthread_mutex_lock(&pr->lock);
    json_object_set_new(pr->revisions, cluster, apps);
    pthread_mutex_unlock(&pr->lock);
}

/* The pass's new generations become the status's desired ones once stored;
 * after a failed commit, what is stored is read again from the store. */
static void note_desired(hub *h, json_t *published, int committed)
{
    const char *cluster;
    json_t *generation;

    json_object_foreach(published, cluster, generation)
    {
        if (committed)
            hub_reports_set_desired(h->reports, cluster, (uint64_t)json_integer_value(generation));
        else
            hub_reports_forget_desired(h->reports, cluster);
    }
}

/* Publish asks, per app, whether a rollout holds it where the cluster is. */
struct rollout_hold_ctx {
    struct pass_render *pr;
    const struct hub_bundle *bundle;
};

/* The rendered app `name` of the bundle, and its ApplicationSet's strategy if it rolls out. */
static const struct hub_app *rolling_app(const struct rollout_hold_ctx *hc, const char *name,
                                         const struct hub_fleet_appset **set_out)
{
    const struct hub_app *app = NULL;

    for (size_t i = 0; i < hc->bundle->n_apps && app == NULL; i++)
        if (strcmp(hc->bundle->apps[i].app->name, name) == 0)
            app = hc->bundle->apps[i].app;
    *set_out = app && app->appset ? hub_fleet_appset(hc->pr->fleet, app->appset) : NULL;
    return *set_out && (*set_out)->strategy.rolling ? app : NULL;
}

static int rollout_governs(void *arg, const char *name)
{
    const struct hub_fleet_appset *set;

    return rolling_app(arg, name, &set) != NULL;
}

static int rollout_hold(void *arg, const char *cluster, const char *name, const char *rendered,
                        const char *in_effect)
{
    struct rollout_hold_ctx *hc = arg;
    const struct hub_fleet_appset *set;
    const struct hub_app *app = rolling_app(hc, name, &set);

    if (app == NULL)
        return 0;
    struct hub_rollouts_app ra = {.cluster = cluster,
                                  .app = name,
                                  .appset = set,
                                  .labels = app->labels,
                                  .rendered_hash = rendered,
                                  .in_effect_hash = in_effect,
                                  .automated = app->policy.automated};
    return hub_rollouts_decide(hc->pr->h->rollouts, &ra);
}

/* A cluster rendered (on a render thread): record its app errors, then sign
 * and store a new generation if its content changed. */
static void on_rendered(void *arg, const char *cluster, struct hub_bundle *bundle)
{
    struct pass_render *pr = arg;
    hub *h = pr->h;
    uint64_t generation = 0;
    int published = 0;

    COUNT(h, renders, 1);
    if (bundle == NULL) {
        COUNT(h, render_errors, 1);
        add_errors(pr, cluster, json_pack("[s]", gf_error_last()));
        gf_log_error("HUB-RENDER-FAIL", "cluster=%s error=\"%s\"", cluster, gf_error_last());
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < bundle->n_apps; i++)
        if (bundle->apps[i].error) {
            COUNT(h, render_errors, 1);
            json_array_append_new(
                list, json_sprintf("%s: %s", bundle->apps[i].app->name, bundle->apps[i].error));
        }
    for (size_t i = 0; i < bundle->n_conflicts; i++)
        json_array_append_new(list, json_string(bundle->conflicts[i]));
    add_revisions(pr, cluster, bundle);
    json_t *allowed = NULL;
    hub_store_allowed_prunes(h->store, cluster, gf_wire_now_ms(), &allowed);
    bundle->health = pr->health;
    struct rollout_hold_ctx hc = {.pr = pr, .bundle = bundle};
    struct hub_publish_hooks hooks = {.governs = rollout_governs, .hold = rollout_hold, .arg = &hc};
    /* Within the pass's batch: its end commits the transaction when it has
     * been open 200 ms, here on a render thread (the agent endpoint's
     * workers, at a low priority, leave that to the pass). */
    hub_store_batch_begin(h->store);
    int failed =
        hub_publish_bundle(h->store, h->key, bundle, allowed, &hooks, &generation, &published);
    hub_store_batch_end(h->store);
    if (failed < 0)
        publish_failed(pr, cluster, list);
    add_errors(pr, cluster, list);
    if (failed == 0 && published) {
        pthread_mutex_lock(&pr->lock); /* in memory once the batch commits */
        json_object_set_new(pr->published, cluster, json_integer((json_int_t)generation));
        pthread_mutex_unlock(&pr->lock);
        COUNT(h, bundles_published, 1);
        gf_log_info("HUB-BUNDLE", "cluster=%s generation=%llu revision=%.12s apps=%zu", cluster,
                    (unsigned long long)generation, bundle->revision, bundle->n_apps);
        hub_serve_notify(h->serve, cluster);
    }
    json_decref(allowed);
    hub_bundle_free(bundle);
}

/* The pass's Lua health scripts (issue 16); a broken argocd-cm or
 * customizations directory becomes a fleet problem. */
static int load_health(gf_healthscripts **out, hub *h, hub_filesrc *tree, struct hub_fleet *fleet)
{
    char *problem = NULL, **problems;
    int error = hub_healthcm_load(out, &problem, tree, NULL, h->settings.health_customizations);

    if (error < 0 || problem == NULL)
        return error;
    gf_log_warn("HUB-HEALTH-SCRIPTS", "error=\"%s\"", problem);
    problems = realloc(fleet->problems, (fleet->n_problems + 1) * sizeof(*problems));
    if (problems == NULL) {
        free(problem);
        return 0;
    }
    fleet->problems = problems;
    fleet->problems[fleet->n_problems++] = problem;
    return 0;
}

/* Load the fleet at `commit` and publish every cluster's bundle.
 * *unpublished_out: how many bundles could not be stored (the error says
 * which first). */
static int render_commit(hub *h, const char *commit, struct hub_fleet **fleet_out,
                         json_t **errors_out, json_t **revisions_out, int *unpublished_out)
{
    char own[4096];
    const char *urls[] = {h->settings.repo_url, own, NULL};
    struct hub_fleet_options opts = {.repo_urls = urls,
                                     .allow_plain_secrets = h->settings.allow_plain_secrets};
    struct hub_render_ctx ctx = {.revision = commit,
                                 .revision_ref = h->settings.branch,
                                 .tree_at = tree_at,
                                 .tree_arg = h,
                                 .cache = h->cache};
    hub_filesrc *tree = NULL;
    struct hub_fleet *fleet = NULL;
    int error;

    gf_redact_url_strip(own, sizeof(own), h->settings.repo);
    if (h->settings.repo_url == NULL)
        urls[0] = own, urls[1] = NULL;
    if ((error = hub_source_tree(&tree, h->source, commit)) < 0 ||
        (error = hub_fleet_load(&fleet, tree, &opts)) < 0) {
        hub_filesrc_free(tree);
        return error;
    }
    ctx.tree = tree;
    gf_healthscripts *health = NULL;
    if ((error = load_health(&health, h, tree, fleet)) < 0) {
        hub_fleet_free(fleet);
        hub_filesrc_free(tree);
        return error;
    }
    struct pass_render pr = {.h = h,
                             .fleet = fleet,
                             .health = health,
                             .errors = json_object(),
                             .revisions = json_object(),
                             .published = json_object()};
    pthread_mutex_init(&pr.lock, NULL);
    /* One transaction per batch of writes, not one per cluster. */
    hub_store_batch_begin(h->store);
    hub_render_fleet(&ctx, fleet, (int)h->settings.render_threads, on_rendered, &pr);
    int committed = hub_store_batch_end(h->store) == 0;
    if (!committed) /* the batch's bundles are not stored */
        publish_failed(&pr, "(batch commit)", NULL);
    note_desired(h, pr.published, committed);
    json_decref(pr.published);
    pthread_mutex_destroy(&pr.lock);
    *errors_out = pr.errors;
    *revisions_out = pr.revisions;
    *unpublished_out = pr.unpublished;
    if (pr.unpublished)
        gf_error_set(GF_EIO, "%s", pr.first_failure);
    hub_render_cache_sweep(h->cache);
    gf_healthscripts_free(health);
    hub_filesrc_free(tree);
    *fleet_out = fleet;
    return 0;
}

static int sync_pass(hub *h, int force)
{
    char commit[41];
    char fetch_error[300] = "", publish_error[300] = "";
    struct hub_fleet *fleet = NULL;
    json_t *errors = NULL, *revisions = NULL;
    int error, unpublished = 0;

    COUNT(h, syncs, 1);
    if ((error = hub_source_fetch(h->source)) < 0) {
        COUNT(h, fetch_errors, 1);
        snprintf(fetch_error, sizeof(fetch_error), "%s", gf_error_last());
        gf_log_warn("HUB-FETCH-FAIL", "error=\"%s\"", fetch_error);
    }
    if ((error = hub_source_resolve(commit, h->source, h->settings.branch)) < 0)
        return fetch_error[0]
                   ? gf_error_set(GF_EIO, "fetch failed (the hub keeps commit %.12s): %s",
                                  h->commit, fetch_error)
                   : gf_error_wrap(error, "branch '%s'", h->settings.branch);
    if (!force && strcmp(commit, h->commit) == 0)
        return fetch_error[0]
                   ? gf_error_set(GF_EIO, "fetch failed (the hub keeps commit %.12s): %s", commit,
                                  fetch_error)
                   : 0;
    if ((error = render_commit(h, commit, &fleet, &errors, &revisions, &unpublished)) < 0)
        return gf_error_wrap(error, "commit %.12s", commit);
    if (unpublished)
        snprintf(publish_error, sizeof(publish_error), "%s", gf_error_last());
    struct hub_pass *pass = calloc(1, sizeof(*pass)), *old;
    if (pass == NULL) {
        hub_fleet_free(fleet);
        json_decref(errors);
        json_decref(revisions);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    *pass = (struct hub_pass){
        .refs = 1, .fleet = fleet, .render_errors = errors, .revisions = revisions};
    pthread_mutex_lock(&h->lock);
    old = h->pass;
    pass->seq = old ? old->seq + 1 : 1;
    h->pass = pass;
    snprintf(h->commit, sizeof(h->commit), "%s", commit);
    pthread_mutex_unlock(&h->lock);
    pass_put(old);
    if (hub_rollouts_after_pass(h->rollouts, fleet, commit, gf_wire_now_ms()) < 0)
        gf_log_error("HUB-ROLLOUT-FAIL", "revision=%.12s error=\"%s\"", commit, gf_error_last());
    for (size_t i = 0; i < fleet->n_problems; i++)
        gf_log_warn("HUB-FLEET-PROBLEM", "revision=%.12s problem=\"%s\"", commit,
                    fleet->problems[i]);
    gf_log_info("HUB-SYNC", "revision=%.12s clusters=%zu apps=%zu problems=%zu", commit,
                fleet->n_clusters, fleet->n_apps, fleet->n_problems);
    h->publish_retry = unpublished > 0;
    if (unpublished)
        return gf_error_set(GF_EIO,
                            "commit %.12s rendered, but %d cluster bundle(s) were not published "
                            "(retrying): %s",
                            commit, unpublished, publish_error);
    if (fetch_error[0])
        return gf_error_set(GF_EIO, "fetch failed (the hub keeps commit %.12s): %s", commit,
                            fetch_error);
    return 0;
}

/* How long the sync thread sleeps: the poll interval, or sooner while a
 * bundle waits to be published again (1 s, doubling). */
static int64_t next_wait_ms(hub *h)
{
    if (!h->publish_retry) {
        h->retry_ms = 0;
        return h->settings.poll_interval;
    }
    h->retry_ms = h->retry_ms ? h->retry_ms * 2 : 1000;
    if (h->retry_ms > h->settings.poll_interval)
        h->retry_ms = h->settings.poll_interval;
    return h->retry_ms;
}

/* Republish the clusters hub_republish_later() queued (lock held; it is
 * dropped meanwhile). 1 when there were any. */
static int republish_queued(hub *h)
{
    json_t *queued = h->republish;
    const char *cluster;
    json_t *unused;

    if (json_object_size(queued) == 0)
        return 0;
    h->republish = json_object();
    pthread_mutex_unlock(&h->lock);
    json_object_foreach(queued, cluster, unused)
    {
        if (hub_republish(h, cluster) < 0)
            gf_log_error("HUB-PUBLISH-FAIL", "cluster=%s error=\"%s\"", cluster, gf_error_last());
    }
    json_decref(queued);
    pthread_mutex_lock(&h->lock);
    return 1;
}

/* While a rollout runs, it is advanced at least this often (and after
 * every report), so a step's gates are seen within a second. */
#define ROLLOUT_TICK_MS 1000

static struct timespec deadline_in(int64_t ms)
{
    struct timespec t;

    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static int before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Wait (the lock held) until a pass is due at `poll_at` or asked for (0),
 * or a rollout wants a tick (1). */
static int wait_for_work(hub *h, const struct timespec *poll_at_in)
{
    struct timespec poll_at = *poll_at_in;

    while (!h->sync_requested && !h->stopping) {
        int active = hub_rollouts_any_active(h->rollouts);
        if (json_object_size(h->republish) > 0)
            return 1; /* bundles to publish again (hub_republish_later) */
        struct timespec tick_at = deadline_in(ROLLOUT_TICK_MS), now;
        if (active && h->rollouts_poked) {
            h->rollouts_poked = 0;
            return 1;
        }
        pthread_cond_timedwait(&h->wake, &h->lock,
                               active && before(&tick_at, &poll_at) ? &tick_at : &poll_at);
        clock_gettime(CLOCK_REALTIME, &now);
        if (!before(&now, &poll_at))
            return 0; /* time to poll the repository */
        if (active && !before(&now, &tick_at))
            return 1;
    }
    return 0;
}

/* Advance the rollouts (the lock held; released meanwhile). What they
 * release or hold is republished cluster by cluster, without a render. */
static void tick_rollouts(hub *h)
{
    size_t changed = 0;

    pthread_mutex_unlock(&h->lock);
    if (hub_rollouts_tick(h->rollouts, gf_wire_now_ms(), &changed) < 0)
        gf_log_error("HUB-ROLLOUT-FAIL", "error=\"%s\"", gf_error_last());
    pthread_mutex_lock(&h->lock);
}

static void *sync_main(void *arg)
{
    hub *h = arg;
    int64_t last_trim_ms = 0;

    gf_os_thread_name("gf-sync");

    pthread_mutex_lock(&h->lock);
    while (!h->stopping) {
        int force = h->sync_requested || h->publish_retry;
        h->sync_requested = 0;
        h->sync_running = 1;
        pthread_mutex_unlock(&h->lock);
        hub_serve_pass(h->serve, 1);
        int error = sync_pass(h, force);
        hub_serve_pass(h->serve, 0);
        int64_t freed = 0;
        if (hub_store_compact(h->store, &freed) < 0)
            gf_log_warn("HUB-STORE-COMPACT-FAIL", "error=\"%s\"", gf_error_last());
        else if (freed > 0)
            gf_log_info("HUB-STORE-COMPACT", "pages=%lld", (long long)freed);
        /* A pass allocates and frees a whole fleet's renders on many
         * threads; glibc keeps what was freed in each thread's arena. */
        if (gf_wire_now_ms() - last_trim_ms >= 5000) {
            gf_os_release_memory();
            last_trim_ms = gf_wire_now_ms();
        }
        pthread_mutex_lock(&h->lock);
        h->sync_running = 0;
        snprintf(h->last_error, sizeof(h->last_error), "%s", error < 0 ? gf_error_last() : "");
        if (error < 0)
            gf_log_error("HUB-SYNC-FAIL", "error=\"%s\"", h->last_error);
        h->syncs_done++;
        hub_events_pass(h->events, h->commit, h->last_error);
        pthread_cond_broadcast(&h->done);
        struct timespec poll_at = deadline_in(next_wait_ms(h));
        tick_rollouts(h); /* a new pass may have started a rollout */
        while (!h->sync_requested && !h->stopping && wait_for_work(h, &poll_at)) {
            republish_queued(h);
            tick_rollouts(h);
        }
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

int hub_sync_now(hub *h, int wait, char **message_out)
{
    pthread_mutex_lock(&h->lock);
    /* A pass already running may have fetched before the push that asked for
     * this one: wait for the pass after it. */
    uint64_t target = h->syncs_done + (h->sync_running ? 2 : 1);
    h->sync_requested = 1;
    pthread_cond_broadcast(&h->wake);
    while (wait && !h->stopping && h->syncs_done < target)
        pthread_cond_wait(&h->done, &h->lock);
    if (message_out)
        *message_out = strdup(h->last_error[0] ? h->last_error : h->commit);
    int error = wait && h->last_error[0] ? GF_ERROR : 0;
    pthread_mutex_unlock(&h->lock);
    return error;
}

/* ---- reports ---- */

static const json_t *find_app(const json_t *report, const char *name)
{
    size_t i;
    json_t *app;

    json_array_foreach(json_object_get(report, "apps"), i, app)
    {
        const char *n = json_string_value(json_object_get(app, "name"));
        if (n && strcmp(n, name) == 0)
            return app;
    }
    return NULL;
}

static int members_differ(const json_t *a, const json_t *b, const char *const *keys)
{
    for (; *keys; keys++)
        if (!json_equal(json_object_get(a, *keys), json_object_get(b, *keys)))
            return 1;
    return 0;
}

/* An app's sync result goes into the history when its outcome changed. An
 * agent that syncs per app (its report has desiredHash) reports an app that
 * a commit did not touch at the new generation without applying anything:
 * that is no new result, so only an operation, a synced state or the
 * outcome counts. Older agents: a new generation applied counts too. */
static int app_changed(const json_t *before, const json_t *now)
{
    static const char *const outcome[] = {"sync", "health", "operation", "message", NULL};
    static const char *const per_app[] = {"syncedHash", NULL};
    static const char *const op[] = {"id", "phase", "startedAt", NULL};
    static const char *const old[] = {"generation", NULL};

    if (before == NULL || members_differ(before, now, outcome))
        return 1;
    if (json_object_get(now, "desiredHash") == NULL)
        return members_differ(before, now, old);
    return members_differ(before, now, per_app) ||
           members_differ(json_object_get(before, "operationState"),
                          json_object_get(now, "operationState"), op);
}

static void record_history(hub *h, const char *cluster, const json_t *previous,
                           const json_t *report)
{
    size_t i;
    json_t *app;

    json_array_foreach(json_object_get(report, "apps"), i, app)
    {
        const char *name = json_string_value(json_object_get(app, "name"));
        if (name == NULL || !app_changed(find_app(previous, name), app))
            continue;
        const char *op = json_string_value(json_object_get(app, "operation"));
        const char *sync = json_string_value(json_object_get(app, "sync"));
        char result[64];
        snprintf(result, sizeof(result), "%s/%s", op && op[0] ? op : "Unknown",
                 sync && sync[0] ? sync : "Unknown");
        hub_store_history_add(h->store, cluster, name,
                              json_integer_value(json_object_get(report, "time")),
                              (uint64_t)json_integer_value(json_object_get(app, "generation")),
                              json_string_value(json_object_get(app, "revision")), result,
                              json_string_value(json_object_get(app, "message")));
    }
}

static int on_report(void *arg, const char *cluster, const Gitfleet__Report *report)
{
    hub *h = arg;
    json_t *json = gf_report_from_proto(report), *previous = NULL;
    char *text = json_dumps(json, JSON_COMPACT);
    int error;

    /* The previous report from memory (read from the store on first use). */
    previous = hub_reports_get(h->reports, cluster);
    error = text ? hub_store_report_put(h->store, cluster, gf_wire_now_ms(), report->generation,
                                        report->revision ? report->revision : "", text)
                 : gf_error_set(GF_ENOMEM, "out of memory");
    if (error == 0) {
        /* The durable copy is stored: now the one the status API reads. */
        json_decref(hub_reports_put(h->reports, cluster, json));
        record_history(h, cluster, previous, json);
        hub_appops_on_report(h, cluster, previous, json);
        hub_events_report(h->events, cluster, previous, json);
    }
    if (error == 0 && hub_rollouts_any_active(h->rollouts)) {
        pthread_mutex_lock(&h->lock); /* a rollout may be waiting for this report */
        h->rollouts_poked = 1;
        pthread_cond_broadcast(&h->wake);
        pthread_mutex_unlock(&h->lock);
    }
    free(text);
    json_decref(previous);
    json_decref(json);
    return error;
}

/* ---- operations (issue 10) ---- */

int hub_republish(hub *h, const char *cluster)
{
    uint64_t generation = 0;
    int published = 0;
    int error = hub_publish_refresh(h->store, h->key, cluster, &generation, &published);

    if (error < 0)
        return error;
    if (published) {
        hub_reports_set_desired(h->reports, cluster, generation);
        COUNT(h, bundles_published, 1);
        gf_log_info("HUB-BUNDLE", "cluster=%s generation=%llu reason=operations", cluster,
                    (unsigned long long)generation);
        hub_serve_notify(h->serve, cluster);
    }
    return 0;
}

void hub_republish_later(hub *h, const char *cluster)
{
    pthread_mutex_lock(&h->lock);
    json_object_set_new(h->republish, cluster, json_true());
    pthread_cond_broadcast(&h->wake);
    pthread_mutex_unlock(&h->lock);
}

/* ---- clusters ---- */

static int valid_name(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > 63 || name[0] == '-' || name[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '-'))
            return 0;
    return 1;
}

int hub_cluster_add(hub *h, const char *cluster, char **token_out, int64_t *expires_ms_out)
{
    unsigned char raw[32];
    char token[80], hash[65];
    int error;

    *token_out = NULL;
    if (!valid_name(cluster))
        return gf_error_set(GF_EINVAL, "'%s' is not a valid cluster name (a DNS-1123 label)",
                            cluster);
    if ((error = gf_wire_random(raw, sizeof(raw))) < 0)
        return error;
    /* The token names its cluster for people; only its hash is stored. */
    int n = snprintf(token, sizeof(token), "gfj_");
    for (size_t i = 0; i < sizeof(raw); i++)
        n += snprintf(token + n, sizeof(token) - (size_t)n, "%02x", raw[i]);
    gf_sha256_hex(hash, token, strlen(token));
    *expires_ms_out = gf_wire_now_ms() + h->settings.join_token_ttl;
    if ((error = hub_store_token_add(h->store, cluster, hash, *expires_ms_out)) < 0)
        return error;
    hub_events_cluster(h->events, cluster);
    gf_log_info("HUB-CLUSTER-TOKEN", "cluster=%s", cluster);
    return (*token_out = strdup(token)) ? 0 : gf_error_set(GF_ENOMEM, "out of memory");
}

int hub_cluster_remove(hub *h, const char *cluster)
{
    int error = hub_store_cluster_remove(h->store, cluster);

    if (error == 0) {
        /* A long-poll verified before the removal must not get a bundle. */
        hub_serve_revoke(h->serve, cluster);
        gf_log_info("HUB-CLUSTER-REVOKED", "cluster=%s", cluster);
        hub_events_cluster(h->events, cluster);
    }
    return error;
}

/* ---- lifecycle ---- */

static int open_creds(hub *h)
{
    const struct hub_settings *s = &h->settings;
    struct hub_creds_settings cs = {.file = s->repo_credentials,
                                    .username = s->repo_username,
                                    .password_file = s->repo_password_file,
                                    .bearer_token_file = s->repo_bearer_token_file,
                                    .ssh_key_file = s->repo_ssh_key,
                                    .ssh_passphrase_file = s->repo_ssh_passphrase_file,
                                    .known_hosts_file = s->repo_known_hosts,
                                    .insecure_ignore_host_key = s->repo_insecure_ignore_host_key};

    return hub_creds_load(&h->creds, &cs);
}

static int open_parts(hub *h)
{
    const struct hub_settings *s = &h->settings;
    char path[4096];
    struct hub_serve_config sc = {.listen = s->listen,
                                  .max_wait_ms = s->max_wait,
                                  .contexts = (int)s->agent_contexts,
                                  .per_peer = (int)s->agent_per_peer,
                                  .send_timeout_ms = s->agent_send_timeout,
                                  .on_report = on_report,
                                  .arg = h};
    struct hub_http_limits limits;
    int error;

    if ((error = gf_fs_mkdirs(s->data_dir, 0700)) < 0 || (error = load_or_create_key(h)) < 0 ||
        (error = load_or_create_admin_token(h)) < 0)
        return error;
    data_path(path, sizeof(path), h, "hub.db");
    if ((error = hub_store_open(&h->store, path)) < 0 || (error = hub_appops_init(h->store)) < 0 ||
        (error = hub_reports_new(&h->reports, h->store)) < 0 ||
        (error = hub_rollouts_open_hub(&h->rollouts, h)) < 0)
        return error;
    data_path(path, sizeof(path), h, "repo-cache");
    if ((error = open_creds(h)) < 0 ||
        (error = hub_source_open_creds(&h->source, s->repo, path, h->creds)) < 0 ||
        (error = hub_render_cache_new(&h->cache)) < 0)
        return error;
    if ((error = hub_events_new(&h->events)) < 0)
        return error;
    sc.tls.cert_file = s->tls_cert;
    sc.tls.key_file = s->tls_key;
    sc.tls.ca_file = s->tls_client_ca;
    if ((error = hub_serve_start(&h->serve, &sc, h->store, h->key)) < 0)
        return error;
    hub_http_limits_default(&limits);
    limits.max_connections = (unsigned)s->api_max_connections;
    limits.max_connections_per_ip = (unsigned)s->api_max_connections_per_ip;
    limits.idle_timeout_s = (unsigned)(s->api_idle_timeout / 1000);
    return hub_api_start(&h->api, h, s->api_listen, &limits);
}

int hub_open(hub **out, const struct hub_settings *settings)
{
    hub *h = calloc(1, sizeof(*h));
    int error;

    *out = NULL;
    if (h == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    h->settings = *settings;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->wake, NULL);
    pthread_cond_init(&h->done, NULL);
    h->republish = json_object();
    if ((error = open_parts(h)) < 0) {
        hub_close(h);
        return error;
    }
    *out = h;
    return 0;
}

int hub_run(hub *h)
{
    struct sigaction sa = {.sa_handler = on_signal};
    pthread_t sync_thread;

    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (pthread_create(&sync_thread, NULL, sync_main, h) != 0)
        return gf_error_set(GF_ERROR, "cannot start the sync thread");
    gf_log_info("HUB-START", "repo=%s branch=%s agents=%s api=%s", hub_source_location(h->source),
                h->settings.branch, h->settings.listen, h->settings.api_listen);
    while (!stop_signal)
        nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
    pthread_mutex_lock(&h->lock);
    h->stopping = 1;
    pthread_cond_broadcast(&h->wake);
    pthread_cond_broadcast(&h->done);
    pthread_mutex_unlock(&h->lock);
    pthread_join(sync_thread, NULL);
    gf_log_info("HUB-STOP", "revision=%.12s", h->commit);
    return 0;
}

void hub_close(hub *h)
{
    if (h == NULL)
        return;
    hub_api_stop(h->api);
    hub_serve_stop(h->serve);
    hub_events_free(h->events);
    hub_render_cache_free(h->cache);
    hub_source_free(h->source);
    hub_creds_free(h->creds);
    hub_rollouts_free(h->rollouts);
    hub_reports_free(h->reports);
    hub_store_close(h->store);
    pass_put(h->pass);
    gf_sign_key_free(h->key);
    json_decref(h->republish);
    pthread_cond_destroy(&h->wake);
    pthread_cond_destroy(&h->done);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
