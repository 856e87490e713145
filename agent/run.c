/* run.c -- the agent's main loop: fetch, verify, apply, cache, report, keep enforcing */
#include "run.h"

#include "apply.h"
#include "gitfleet/error.h"
#include "gitfleet/log.h"
#include "gitfleet/report.h"
#include "kube.h"
#include "link.h"
#include "state.h"
#include "verify.h"

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
    char cluster[64];
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
    if ((error = agent_link_open(&link, &lc)) < 0 ||
        (error = agent_link_join(link, token, cluster, sizeof(cluster), hub_key)) < 0 ||
        (error = agent_state_save_join(&state, cluster, hub_url, hub_key)) < 0)
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

/* Everything the loop carries between iterations. */
struct loop {
    const struct agent_run_config *config;
    struct agent_state state;
    agent_kube *kube;
    agent_link *link;
    Gitfleet__Bundle *bundle; /* the bundle being enforced, or NULL */
    json_t *report;           /* its latest report */
    int report_dirty;         /* the hub has not heard the latest report */
    int64_t last_report_ms, last_resync_ms, retry_at_ms, retry_delay_ms;
    char refusal[512]; /* why the last bundle was refused, for the report */
};

static int64_t now_ms(void)
{
    return gf_wire_now_ms();
}

static int bundle_has_app(const Gitfleet__Bundle *bundle, const char *name)
{
    for (size_t i = 0; i < bundle->n_apps; i++)
        if (strcmp(bundle->apps[i]->name, name) == 0)
            return 1;
    return 0;
}

/* Apps the previous report had but the bundle no longer holds keep their
 * objects (nothing is pruned here) and stay in the report, so the hub can
 * show what was left behind. */
static void carry_retained_apps(const json_t *old_report, json_t *report,
                                const Gitfleet__Bundle *bundle)
{
    size_t i;
    json_t *app;

    json_array_foreach(json_object_get(old_report, "apps"), i, app)
    {
        const char *name = json_string_value(json_object_get(app, "name"));
        if (name == NULL || bundle_has_app(bundle, name))
            continue;
        json_t *kept = json_deep_copy(app);
        json_object_set_new(kept, "sync", json_string("OutOfSync"));
        json_object_set_new(kept, "operation", json_string(""));
        json_object_set_new(kept, "message",
                            json_string("removed from Git; its objects stay in "
                                        "the cluster (no prune)"));
        json_object_set_new(kept, "retained", json_true());
        json_array_append_new(json_object_get(report, "apps"), kept);
    }
}

/* Apply the current bundle; schedule a retry with backoff and jitter when
 * something failed transiently (the API server returned 429/5xx). */
static void enforce(struct loop *lp)
{
    int transient = 0;
    json_t *report = NULL;

    if (lp->bundle == NULL || agent_apply_bundle(&report, lp->kube, lp->bundle, &transient) < 0)
        return;
    carry_retained_apps(lp->report, report, lp->bundle);
    json_decref(lp->report);
    lp->report = report;
    agent_state_write_report(&lp->state, report);
    lp->report_dirty = 1;
    lp->last_resync_ms = now_ms();
    if (transient) {
        lp->retry_delay_ms = lp->retry_delay_ms ? lp->retry_delay_ms * 2 : 1000;
        if (lp->retry_delay_ms > 30000)
            lp->retry_delay_ms = 30000;
        lp->retry_at_ms = now_ms() + lp->retry_delay_ms + rand() % (lp->retry_delay_ms / 4 + 1);
        gf_log_warn("AGENT-APPLY-RETRY", "generation=%llu in_ms=%lld",
                    (unsigned long long)lp->bundle->generation, (long long)lp->retry_delay_ms);
    } else {
        lp->retry_at_ms = 0;
        lp->retry_delay_ms = 0;
    }
}

/* Take a verified bundle as the one to enforce, cache it, apply it. */
static void adopt(struct loop *lp, Gitfleet__Bundle *bundle, const unsigned char *bytes, size_t len,
                  int write_cache)
{
    if (write_cache && agent_state_write_bundle(&lp->state, bytes, len) < 0)
        gf_log_error("AGENT-CACHE-FAIL", "error=\"%s\"", gf_error_last());
    if (lp->bundle)
        gitfleet__bundle__free_unpacked(lp->bundle, NULL);
    lp->bundle = bundle;
    lp->refusal[0] = '\0';
    gf_log_info("AGENT-BUNDLE", "generation=%llu revision=%s apps=%zu",
                (unsigned long long)bundle->generation, bundle->revision ? bundle->revision : "",
                bundle->n_apps);
    enforce(lp);
}

/* After a restart: enforce the cached bundle even if the hub is away. */
static void load_cached(struct loop *lp)
{
    unsigned char *bytes = NULL;
    size_t len = 0;
    Gitfleet__Bundle *bundle = NULL;

    if (agent_state_read_bundle(&lp->state, &bytes, &len) < 0)
        return;
    if (agent_verify_bundle(&bundle, bytes, len, lp->state.hub_key, lp->state.cluster, 0) == 0)
        adopt(lp, bundle, bytes, len, 0);
    else
        gf_log_error("AGENT-CACHE-REFUSED", "error=\"%s\"", gf_error_last());
    free(bytes);
}

static uint64_t applied_generation(const struct loop *lp)
{
    return lp->bundle ? lp->bundle->generation : 0;
}

static void handle_fetched(struct loop *lp, unsigned char *bytes, size_t len)
{
    Gitfleet__Bundle *bundle = NULL;

    if (agent_verify_bundle(&bundle, bytes, len, lp->state.hub_key, lp->state.cluster,
                            applied_generation(lp)) < 0) {
        snprintf(lp->refusal, sizeof(lp->refusal), "%s", gf_error_last());
        gf_log_error("AGENT-BUNDLE-REFUSED", "error=\"%s\"", lp->refusal);
        lp->report_dirty = 1;
        return;
    }
    adopt(lp, bundle, bytes, len, 1);
}

/* The report to send: the enforcement report plus any refusal. */
static json_t *current_report(struct loop *lp)
{
    json_t *report = lp->report ? json_deep_copy(lp->report)
                                : json_pack("{s:s, s:I, s:s, s:[]}", "cluster", lp->state.cluster,
                                            "generation", (json_int_t)0, "revision", "", "apps");

    json_object_set_new(report, "time", json_integer(now_ms()));
    json_object_set_new(report, "error", json_string(lp->refusal));
    return report;
}

static void send_report(struct loop *lp)
{
    json_t *report = current_report(lp);
    Gitfleet__Report proto;

    gf_report_to_proto(&proto, report);
    if (agent_link_report(lp->link, &proto) == 0) {
        lp->report_dirty = 0;
        lp->last_report_ms = now_ms();
    } else {
        gf_log_warn("AGENT-REPORT-FAIL", "error=\"%s\"", gf_error_last());
    }
    gf_report_proto_clear(&proto);
    json_decref(report);
}

/* Periodic work between fetches: retries, drift re-reads, reports. */
static void housekeeping(struct loop *lp)
{
    int64_t now = now_ms();
    int changed = 0;

    if (lp->retry_at_ms && now >= lp->retry_at_ms) {
        enforce(lp);
    } else if (lp->bundle && lp->report && now - lp->last_resync_ms >= lp->config->resync_ms) {
        lp->last_resync_ms = now;
        agent_apply_refresh(lp->kube, lp->bundle, lp->report, &changed);
        if (changed) {
            lp->report_dirty = 1;
            /* Something vanished or broke behind our back: put Git's state back. */
            enforce(lp);
        }
    }
    if (lp->report_dirty || now - lp->last_report_ms >= lp->config->report_ms)
        send_report(lp);
}

static void fetch_once(struct loop *lp, int64_t *backoff_ms)
{
    unsigned char *bytes = NULL;
    size_t len = 0;
    int64_t wait = lp->report_dirty || lp->retry_at_ms ? 1000 : lp->config->poll_wait_ms;
    int error = agent_link_fetch(lp->link, applied_generation(lp), wait, &bytes, &len);

    if (error == 0) {
        *backoff_ms = 0;
        handle_fetched(lp, bytes, len);
        free(bytes);
        if (lp->refusal[0]) /* the same bad bundle would come straight back */
            nanosleep(&(struct timespec){1, 0}, NULL);
    } else if (error == GF_ENOTFOUND) {
        *backoff_ms = 0;
    } else {
        /* The hub is away: keep enforcing what we have, retry with backoff. */
        *backoff_ms = *backoff_ms ? *backoff_ms * 2 : 500;
        if (*backoff_ms > 30000)
            *backoff_ms = 30000;
        int64_t sleep_ms = *backoff_ms / 2 + rand() % (*backoff_ms / 2 + 1);
        gf_log_warn("AGENT-HUB-UNREACHABLE", "error=\"%s\" retry_in_ms=%lld", gf_error_last(),
                    (long long)sleep_ms);
        nanosleep(&(struct timespec){sleep_ms / 1000, (sleep_ms % 1000) * 1000000L}, NULL);
    }
}

static int open_loop(struct loop *lp, const struct agent_run_config *config)
{
    struct agent_link_config lc = {.timeout_ms = 10000};
    int error;

    memset(lp, 0, sizeof(*lp));
    lp->config = config;
    if ((error = agent_state_load(&lp->state, config->state_dir)) < 0)
        return error;
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
    return agent_link_open(&lp->link, &lc);
}

static void close_loop(struct loop *lp)
{
    agent_link_close(lp->link);
    agent_kube_close(lp->kube);
    if (lp->bundle)
        gitfleet__bundle__free_unpacked(lp->bundle, NULL);
    json_decref(lp->report);
    agent_state_clear(&lp->state);
}

int agent_run(const struct agent_run_config *config)
{
    struct sigaction sa = {.sa_handler = on_signal};
    struct loop lp;
    int64_t backoff = 0;
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
    agent_state_read_report(&lp.state, &lp.report);
    load_cached(&lp);
    while (!stop_requested) {
        agent_state_heartbeat(&lp.state);
        housekeeping(&lp);
        fetch_once(&lp, &backoff);
    }
    gf_log_info("AGENT-STOP", "cluster=%s", lp.state.cluster);
    close_loop(&lp);
    return 0;
}
