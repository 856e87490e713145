/* run.c -- the agent's main loop: fetch, verify, apply, cache, report, keep enforcing */
#include "run.h"

#include "apply.h"
#include "apps.h"
#include "fetch.h"
#include "gitfleet/error.h"
#include "gitfleet/log.h"
#include "gitfleet/os.h"
#include "gitfleet/report.h"
#include "healthsrc.h"
#include "kube.h"
#include "link.h"
#include "retry.h"
#include "secrets.h"
#include "state.h"
#include "verify.h"
#include "watch.h"

#include <pthread.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

int agent_run_join(const char *state_dir, const char *hub_url, const char *token,
                   const struct gf_wire_tls *tls, int if_not_joined)
{
    struct agent_state state;
    struct agent_link_config lc = {.hub_url = hub_url, .cluster = "", .timeout_ms = 10000};
    unsigned char hub_key[GF_SIGN_PUBLIC_KEY_LEN];
    char cluster[64], recipient[GF_AGE_RECIPIENT_MAX];
    agent_link *link = NULL;
    int error;

    if (if_not_joined) {
        int joined = agent_state_load(&state, state_dir) == 0;
        if (joined)
            gf_log_info("AGENT-ALREADY-JOINED", "cluster=%s hub=%s", state.cluster, state.hub_url);
        agent_state_clear(&state);
        if (joined)
            return 0;
    }
    if ((error = agent_state_init(&state, state_dir)) < 0)
        goto out;
    lc.key = state.agent_key;
    lc.tls = *tls;
    /* The key pair for sealed secrets: its secret half stays in the state
     * directory; the hub learns the recipient. */
    if ((error = agent_secrets_create(state_dir, recipient)) < 0)
        goto out;
    lc.secret_recipient = recipient;
    if ((error = agent_link_open(&link, &lc)) < 0 ||
        (error = agent_link_join(link, token, cluster, sizeof(cluster), hub_key)) < 0 ||
        (error = agent_state_save_join(&state, cluster, hub_url, hub_key, tls)) < 0)
        goto out;
    gf_log_info("AGENT-JOINED", "cluster=%s hub=%s", cluster, hub_url);
out:
    agent_link_close(link);
    agent_state_clear(&state);
    return error;
}

int agent_run_probe(const char *state_dir, int64_t max_age_ms)
{
    int64_t age;
    int error = agent_state_heartbeat_age(state_dir, &age);

    if (error < 0)
        return error;
    if (age > max_age_ms)
        return gf_error_set(GF_ETIMEDOUT, "the agent loop last ran %lld ms ago", (long long)age);
    return 0;
}

/* Everything the main loop owns, and what the other threads hand it. */
struct loop {
    const struct agent_run_config *config;
    struct agent_apply_config apply;
    struct agent_state state;
    agent_kube *kube;
    agent_link *link;
    struct agent_fetch *fetch;
    struct agent_watchset *watches;
    struct agent_apps *apps; /* the bundle being enforced, its apps and their report */
    json_t *saved_report;    /* report.json from the last run, until a bundle is adopted */
    int report_dirty;        /* the hub has not heard the latest report */
    int64_t last_report_ms, last_resync_ms;
    int64_t report_backoff_ms; /* after failed reports: 1 s doubling; 0 when the last one went */
    int64_t last_trim_ms;
    char refusal[512]; /* why the last bundle was refused, for the report */

    pthread_mutex_t lock; /* guards what follows: filled by the fetch, watch and sync threads */
    pthread_cond_t wake;
    json_t *events; /* [{"type","group","kind","namespace","name","object"}] from watches */
    int poked;      /* the fetch thread or a sync has something */
};

static int64_t now_ms(void)
{
    return gf_wire_now_ms();
}

static void poke(void *arg)
{
    struct loop *lp = arg;

    pthread_mutex_lock(&lp->lock);
    lp->poked = 1;
    pthread_cond_signal(&lp->wake);
    pthread_mutex_unlock(&lp->lock);
}

/* Watch threads hand each event over; the main loop judges it. */
static void on_watch_event(void *arg, const char *type, const json_t *obj)
{
    struct loop *lp = arg;
    const json_t *md = json_object_get(obj, "metadata");
    const char *api_version = json_string_value(json_object_get(obj, "apiVersion"));
    const char *slash = api_version ? strrchr(api_version, '/') : NULL;
    json_t *event =
        json_pack("{s:s, s:s%, s:s, s:s, s:s, s:O}", "type", type, "group",
                  api_version ? api_version : "", slash ? (size_t)(slash - api_version) : 0, "kind",
                  json_string_value(json_object_get(obj, "kind")) ?: "", "namespace",
                  json_string_value(json_object_get(md, "namespace")) ?: "", "name",
                  json_string_value(json_object_get(md, "name")) ?: "", "object", obj);

    if (event == NULL)
        return;
    pthread_mutex_lock(&lp->lock);
    json_array_append_new(lp->events, event);
    pthread_cond_signal(&lp->wake);
    pthread_mutex_unlock(&lp->lock);
}

/* The (apiVersion, kind) pairs of the bundle, for the watches. */
static json_t *bundle_kinds(const Gitfleet__Bundle *b)
{
    json_t *kinds = json_array();

    for (size_t i = 0; b && i < b->n_apps; i++)
        for (size_t j = 0; j < b->apps[i]->n_resources; j++) {
            const Gitfleet__ResourceId *id = b->apps[i]->resources[j]->id;
            char api_version[256];
            if (id == NULL || id->kind == NULL || id->version == NULL)
                continue;
            snprintf(api_version, sizeof(api_version), "%s%s%s", id->group ? id->group : "",
                     id->group && id->group[0] ? "/" : "", id->version);
            json_array_append_new(kinds, json_pack("[s,s]", api_version, id->kind));
        }
    return kinds;
}

static void send_report(struct loop *lp);

/* Take a verified bundle as the one to enforce, cache it, sync the apps
 * that need it, and watch what it holds. */
static void adopt(struct loop *lp, Gitfleet__Bundle *bundle, const unsigned char *bytes, size_t len,
                  int write_cache)
{
    json_t *kinds;

    agent_secrets_retarget(bundle); /* SealedSecrets are tracked as their Secrets */
    kinds = bundle_kinds(bundle);
    /* The high-water mark first: a crash between the two writes leaves it
     * ahead of the cache, never behind. */
    if (write_cache && (agent_state_write_high_water(&lp->state, bundle->generation) < 0 ||
                        agent_state_write_bundle(&lp->state, bytes, len) < 0))
        gf_log_error("AGENT-CACHE-FAIL", "error=\"%s\"", gf_error_last());
    if (agent_healthsrc_install_bundle(bundle) < 0)
        gf_log_error("AGENT-HEALTH-SCRIPTS", "error=\"%s\"", gf_error_last());
    gf_log_info("AGENT-BUNDLE", "generation=%llu revision=%s apps=%zu operations=%zu",
                (unsigned long long)bundle->generation, bundle->revision ? bundle->revision : "",
                bundle->n_apps, bundle->n_operations);
    agent_apps_adopt(lp->apps, bundle);
    lp->report_dirty = 1;
    lp->last_resync_ms = now_ms();
    if (agent_watchset_update(lp->watches, kinds) < 0)
        gf_log_warn("AGENT-WATCH-FAIL", "error=\"%s\"", gf_error_last());
    json_decref(kinds);
}

/* After a restart: enforce the cached bundle even if the hub is away, but
 * only if it is the newest generation this agent ever accepted (the
 * high-water mark lives apart from the cache). Returns the mark. */
static uint64_t load_cached(struct loop *lp)
{
    unsigned char *bytes = NULL;
    size_t len = 0;
    Gitfleet__Bundle *bundle = NULL;
    uint64_t high = 0;

    if (agent_state_read_high_water(&lp->state, &high) < 0) {
        /* unreadable: trust no cache; wait for the hub's newest bundle */
        gf_log_error("AGENT-CACHE-REFUSED", "error=\"%s\"", gf_error_last());
        return 0;
    }
    if (agent_state_read_bundle(&lp->state, &bytes, &len) < 0)
        return high;
    if (agent_verify_bundle(&bundle, bytes, len, lp->state.hub_key, lp->state.cluster,
                            high ? high - 1 : 0) == 0) {
        if (high == 0) /* a state directory from before the mark existed */
            agent_state_write_high_water(&lp->state, bundle->generation);
        high = high > bundle->generation ? high : bundle->generation;
        adopt(lp, bundle, bytes, len, 0);
    } else {
        gf_log_error("AGENT-CACHE-REFUSED", "error=\"cached bundle: %s\"", gf_error_last());
    }
    free(bytes);
    return high;
}

/* The report to send: the sync report plus any refusal. */
static json_t *current_report(struct loop *lp)
{
    const json_t *known =
        agent_apps_report(lp->apps) ? agent_apps_report(lp->apps) : lp->saved_report;
    json_t *report = known ? json_deep_copy(known)
                           : json_pack("{s:s, s:I, s:s, s:[]}", "cluster", lp->state.cluster,
                                       "generation", (json_int_t)0, "revision", "", "apps");

    json_object_set_new(report, "time", json_integer(now_ms()));
    json_object_set_new(report, "error", json_string(lp->refusal));
    return report;
}

/* A rotation the hub asked for with the last report's answer: make the new
 * key pair and tell the hub its recipient with the next report, at once. */
static void rotate_if_asked(struct loop *lp)
{
    Gitfleet__SignedSecretKeyRotation *r = agent_link_take_rotation(lp->link);
    int made;

    if (r == NULL)
        return;
    made = agent_secrets_rotate(r, lp->state.hub_key, lp->state.cluster);
    if (made < 0)
        gf_log_warn("AGENT-SECRET-ROTATION-REFUSED", "error=\"%s\"", gf_error_last());
    else if (made > 0)
        lp->report_dirty = 1;
    gitfleet__signed_secret_key_rotation__free_unpacked(r, NULL);
}

/* The longest wait between report attempts while the hub refuses them. */
#define REPORT_REFUSED_MAX_MS (5 * 60 * 1000)

/* Milliseconds until a report is due (0: now): a changed report 200 ms
 * after the last one, a heartbeat every report interval; after failures,
 * not before the backoff has passed. */
static int64_t report_due_in(const struct loop *lp, int64_t now)
{
    int64_t since = now - lp->last_report_ms, due;

    if (lp->report_backoff_ms)
        due = lp->report_backoff_ms;
    else
        due = lp->report_dirty ? 200 : lp->config->report_ms;
    return since >= due ? 0 : due - since;
}

static void send_report(struct loop *lp)
{
    json_t *report = current_report(lp);
    char recipient[GF_AGE_RECIPIENT_MAX], rotation[64];
    Gitfleet__Report proto;
    int error;

    gf_report_to_proto(&proto, report);
    agent_secrets_recipient(recipient);
    agent_secrets_rotation_id(rotation);
    proto.secret_recipient = recipient[0] ? recipient : NULL;
    proto.secret_rotation_id = rotation[0] ? rotation : NULL;
    if ((error = agent_link_report(lp->link, &proto)) == 0) {
        lp->report_dirty = 0;
        lp->report_backoff_ms = 0;
        agent_apps_clear_dirty(lp->apps);
        rotate_if_asked(lp);
    } else {
        /* Back off: 1 s doubling up to the report interval, and up to
         * REPORT_REFUSED_MAX_MS when the hub refuses us (revoked): a
         * revoked agent must not knock every 200 ms forever. */
        int64_t cap = error == GF_EPERM ? REPORT_REFUSED_MAX_MS : lp->config->report_ms;
        lp->report_backoff_ms = lp->report_backoff_ms ? lp->report_backoff_ms * 2 : 1000;
        if (lp->report_backoff_ms > cap)
            lp->report_backoff_ms = cap > 1000 ? cap : 1000;
        gf_log_warn("AGENT-REPORT-FAIL", "error=\"%s\" retry_in_ms=%lld", gf_error_last(),
                    (long long)lp->report_backoff_ms);
    }
    lp->last_report_ms = now_ms();
    gf_report_proto_clear(&proto);
    json_decref(report);
}

/* Judge what the watches saw; heal drift of selfHeal apps at once. */
static void handle_events(struct loop *lp, json_t *events)
{
    size_t i;
    json_t *ev;

    if (json_array_size(events) == 0)
        return;
    gf_log_debug("AGENT-WATCH-EVENTS", "count=%zu", json_array_size(events));
    json_array_foreach(events, i, ev)
    {
        const char *type = json_string_value(json_object_get(ev, "type"));
        agent_apps_observe(lp->apps, json_string_value(json_object_get(ev, "group")),
                           json_string_value(json_object_get(ev, "kind")),
                           json_string_value(json_object_get(ev, "namespace")),
                           json_string_value(json_object_get(ev, "name")),
                           strcmp(type, "DELETED") == 0 ? NULL : json_object_get(ev, "object"));
    }
    agent_apps_heal(lp->apps);
}

/* Periodic work: finished syncs and retries, a full re-read as a backstop
 * to the watches, reports (at once when something changed, else as a
 * heartbeat). */
static void housekeeping(struct loop *lp)
{
    int64_t now = now_ms();
    int resync =
        agent_apps_bundle(lp->apps) != NULL && now - lp->last_resync_ms >= lp->config->resync_ms;

    if (resync)
        lp->last_resync_ms = now;
    agent_apps_tick(lp->apps, resync);
    lp->report_dirty |= agent_apps_dirty(lp->apps);
    char refusal[sizeof(lp->refusal)];
    agent_fetch_refusal(lp->fetch, refusal, sizeof(refusal));
    if (strcmp(refusal, lp->refusal) != 0) {
        snprintf(lp->refusal, sizeof(lp->refusal), "%s", refusal);
        lp->report_dirty = 1;
    }
    if (report_due_in(lp, now) == 0)
        send_report(lp);
    /* Syncs, relists and reports of many objects leave freed memory in
     * glibc's arenas: give it back once a second (with 1,000 objects the
     * agent then rests at 16 MiB instead of 29; docs/benchmarks.md). */
    if (now - lp->last_trim_ms >= 1000) {
        gf_os_release_memory();
        lp->last_trim_ms = now;
    }
}

/* Wait until another thread has something, or a quarter second passed;
 * take the watch events. */
static json_t *wait_for_work(struct loop *lp)
{
    struct timespec deadline;
    json_t *events;

    /* A report held back by the 200 ms spacing goes out as soon as allowed. */
    int64_t wait_ms = 250, due = report_due_in(lp, now_ms());
    if (due < wait_ms)
        wait_ms = due;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += wait_ms * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&lp->lock);
    while (!lp->poked && json_array_size(lp->events) == 0 && !stop_requested &&
           pthread_cond_timedwait(&lp->wake, &lp->lock, &deadline) == 0)
        ;
    lp->poked = 0;
    events = lp->events;
    lp->events = json_array();
    pthread_mutex_unlock(&lp->lock);
    return events;
}

static int open_loop(struct loop *lp, const struct agent_run_config *config)
{
    struct agent_link_config lc = {.timeout_ms = 10000};
    int error;

    memset(lp, 0, sizeof(*lp));
    lp->config = config;
    lp->events = json_array();
    pthread_mutex_init(&lp->lock, NULL);
    pthread_cond_init(&lp->wake, NULL);
    if ((error = agent_state_load(&lp->state, config->state_dir)) < 0 ||
        (error = agent_secrets_load(config->state_dir)) < 0)
        return error;
    lp->apply = config->apply;
    lp->apply.state_dir = lp->state.dir;
    if (config->in_cluster)
        error = agent_kube_open_in_cluster(&lp->kube);
    else if (config->kubeconfig)
        error = agent_kube_open_kubeconfig(&lp->kube, config->kubeconfig, config->context);
    else
        error = gf_error_set(GF_EINVAL, "give --kubeconfig FILE or --in-cluster");
    if (error < 0)
        return error;
    lc.hub_url = lp->state.hub_url;
    lc.cluster = lp->state.cluster;
    lc.key = lp->state.agent_key;
    lc.tls = config->tls;
    /* TLS files not given again default to those the join used. */
    if (lc.tls.ca_file == NULL && lp->state.tls_ca[0])
        lc.tls.ca_file = lp->state.tls_ca;
    if (lc.tls.cert_file == NULL && lp->state.tls_cert[0])
        lc.tls.cert_file = lp->state.tls_cert;
    if (lc.tls.key_file == NULL && lp->state.tls_key[0])
        lc.tls.key_file = lp->state.tls_key;
    if (lc.tls.server_name == NULL && lp->state.tls_server_name[0])
        lc.tls.server_name = lp->state.tls_server_name;
    if ((error = agent_link_open(&lp->link, &lc)) < 0)
        return error;
    struct agent_apps_config ac = {.kube = lp->kube,
                                   .apply = &lp->apply,
                                   .state_dir = lp->state.dir,
                                   .cluster = lp->state.cluster,
                                   .parallel = config->parallel_syncs,
                                   .wake = poke,
                                   .wake_arg = lp};
    if ((error = agent_apps_new(&lp->apps, &ac)) < 0)
        return error;
    return agent_watchset_new(&lp->watches, lp->kube, "gitfleet.io/app", on_watch_event, lp);
}

static void close_loop(struct loop *lp)
{
    agent_fetch_stop(lp->fetch);
    agent_watchset_free(lp->watches);
    agent_apps_free(lp->apps); /* cancels and waits for running syncs: before the client goes */
    agent_link_close(lp->link);
    agent_kube_close(lp->kube);
    json_decref(lp->saved_report);
    json_decref(lp->events);
    agent_state_clear(&lp->state);
    agent_secrets_unload();
    pthread_cond_destroy(&lp->wake);
    pthread_mutex_destroy(&lp->lock);
}

static void take_fetched(struct loop *lp)
{
    Gitfleet__Bundle *bundle = NULL;
    unsigned char *bytes = NULL;
    size_t len = 0;

    if (agent_fetch_take(lp->fetch, &bundle, &bytes, &len)) {
        adopt(lp, bundle, bytes, len, 1);
        free(bytes);
    }
}

int agent_run(const struct agent_run_config *config)
{
    struct sigaction sa = {.sa_handler = on_signal};
    struct loop lp;
    int error;

    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    srand((unsigned)now_ms());
    if ((error = open_loop(&lp, config)) < 0) {
        close_loop(&lp);
        return error;
    }
    gf_log_info("AGENT-START", "cluster=%s hub=%s server=%s", lp.state.cluster, lp.state.hub_url,
                agent_kube_server(lp.kube));
    agent_state_read_report(&lp.state, &lp.saved_report);
    uint64_t high = load_cached(&lp);
    if ((error = agent_fetch_start(&lp.fetch, lp.link, &lp.state, high, config->poll_wait_ms, poke,
                                   &lp)) < 0) {
        close_loop(&lp);
        return error;
    }
    int64_t last_beat = 0;
    while (!stop_requested) {
        if (now_ms() - last_beat >= 5000) { /* the probe allows minutes; spare the disk */
            agent_state_heartbeat(&lp.state);
            last_beat = now_ms();
        }
        take_fetched(&lp);
        json_t *events = wait_for_work(&lp);
        handle_events(&lp, events);
        json_decref(events);
        take_fetched(&lp);
        housekeeping(&lp);
    }
    gf_log_info("AGENT-STOP", "cluster=%s", lp.state.cluster);
    close_loop(&lp);
    return 0;
}
