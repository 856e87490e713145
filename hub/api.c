/* api.c -- the hub's HTTP/JSON API for the CLI, dashboards, scripts and Git webhooks */
#include "api.h"

#include "appops.h"

#include "audit.h"
#include "auth.h"
#include "gitfleet/error.h"
#include "gitfleet/log.h"
#include "gitfleet/wire.h"
#include "http.h"
#include "hub.h"
#include "rollouts.h"
#include "seckeys.h"
#include "status.h"
#include "ui.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hub_api {
    hub *h;
    hub_http *server;
    hub_auth *auth;   /* issue 17: tokens and roles */
    hub_audit *audit; /* every mutating call and webhook */
};

/* One request being answered: what every handler gets. */
struct call {
    struct hub_api *api;
    hub_http_call *http;
    const char *method;
    const char *path; /* decoded, without the query */
    /* Who is calling (passed the gate in dispatch). Handlers of app
     * operations check hub_auth_may_operate(&c->who, app's project). */
    struct hub_principal who;
    int audit; /* record the reply in the audit log */
};

static void audit_reply(struct call *c, unsigned status, const char *body);

/* ---- responses and request helpers (thin names over http.h) ---- */

/* Every answer of the API passes here (the audit log sees it). */
static void reply(struct call *c, unsigned status, const char *content_type, const char *body)
{
    if (status == 401)
        hub_http_add_header(c->http, "WWW-Authenticate", "Bearer realm=\"gitfleet\"");
    audit_reply(c, status, body);
    hub_http_reply(c->http, status, content_type, body, strlen(body));
}

/* Reply with a JSON document, which this function releases. */
static void reply_json(struct call *c, unsigned status, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

    reply(c, text ? status : 500, "application/json",
          text ? text : "{\"error\":\"out of memory\",\"code\":\"ENOMEM\"}");
    free(text);
    json_decref(doc);
}

/* {"error": gf_error_last(), "code": "E..."} with the status of the code. */
static void reply_error(struct call *c, int code)
{
    reply_json(c, hub_http_status_of(code),
               json_pack("{s:s, s:s}", "error", gf_error_last(), "code", gf_error_name(code)));
}

/* The value of `key` in the query string, decoded, into buf; NULL if absent. */
static const char *query_param(const struct call *c, const char *key, char *buf, size_t len)
{
    return hub_http_query_param(c->http, key, buf, len);
}

/* The body as JSON into *out (NULL when empty); GF_EINVAL when malformed. */
static int request_json(struct call *c, json_t **out)
{
    return hub_http_request_json(c->http, out);
}

/* ---- webhooks ---- */

/* "sha256=<hex>" (GitHub) or "<hex>" (Gitea): HMAC-SHA256 of the body. */
static int hmac_matches(const char *secret, const char *given, const void *body, size_t len)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];

    if (strncmp(given, "sha256=", 7) == 0)
        given += 7;
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), body, len, mac, &mac_len) == NULL)
        return 0;
    for (unsigned int i = 0; i < mac_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    return strlen(given) == 2 * mac_len && CRYPTO_memcmp(given, hex, 2 * mac_len) == 0;
}

int hub_api_check_webhook(const char *secret, const char *(*header)(void *, const char *),
                          void *arg, const void *body, size_t len)
{
    const char *github = header(arg, "X-Hub-Signature-256");
    const char *gitea = header(arg, "X-Gitea-Signature");
    const char *gitlab = header(arg, "X-Gitlab-Token");

    if (secret == NULL || secret[0] == '\0')
        return 0;
    if (github)
        return hmac_matches(secret, github, body, len)
                   ? 0
                   : gf_error_set(GF_EPERM, "X-Hub-Signature-256 does not match the body");
    if (gitea)
        return hmac_matches(secret, gitea, body, len)
                   ? 0
                   : gf_error_set(GF_EPERM, "X-Gitea-Signature does not match the body");
    if (gitlab)
        return strlen(gitlab) == strlen(secret) &&
                       CRYPTO_memcmp(gitlab, secret, strlen(secret)) == 0
                   ? 0
                   : gf_error_set(GF_EPERM, "X-Gitlab-Token is wrong");
    return gf_error_set(GF_EPERM, "webhook carries no signature (X-Hub-Signature-256, "
                                  "X-Gitea-Signature or X-Gitlab-Token)");
}

static const char *req_header(void *arg, const char *name)
{
    return hub_http_header(arg, name);
}

static void handle_webhook(struct call *c, const char *unused)
{
    hub *h = c->api->h;
    size_t len;
    const void *body = hub_http_body(c->http, &len);
    json_t *payload = NULL;
    char want[300];
    int error;

    (void)unused;
    if ((error = hub_api_check_webhook(hub_webhook_secret(h), req_header, c->http, body, len)) <
        0) {
        gf_log_warn("HUB-WEBHOOK-REFUSED", "error=\"%s\"", gf_error_last());
        reply_error(c, error);
        return;
    }
    if ((error = request_json(c, &payload)) < 0) {
        reply_error(c, error);
        return;
    }
    const char *ref = json_string_value(json_object_get(payload, "ref"));
    snprintf(want, sizeof(want), "refs/heads/%s", hub_get_settings(h)->branch);
    if (ref && strcmp(ref, want) != 0) {
        reply_json(c, 202,
                   json_pack("{s:s, s:s}", "ignored", ref, "branch", hub_get_settings(h)->branch));
    } else {
        hub_sync_now(h, 0, NULL);
        gf_log_info("HUB-WEBHOOK", "ref=%s", ref ? ref : "(none)");
        reply_json(c, 202, json_pack("{s:b}", "syncing", 1));
    }
    json_decref(payload);
}

/* `POST /api/v1/sync` waits for the pass; that wait runs on its own thread
 * so that no server thread is held (the call is deferred). */
static void *sync_thread(void *arg)
{
    struct call *c = arg;
    char *message = NULL;
    int error = hub_sync_now(c->api->h, 1, &message);

    if (error < 0)
        reply_json(c, 500, json_pack("{s:s}", "error", message ? message : "sync failed"));
    else
        reply_json(c, 200, json_pack("{s:s}", "revision", message ? message : ""));
    free(message);
    free(c);
    return NULL;
}

/* How long an --allow-prune stays in force: long enough for every agent to
 * get the new generation, short enough not to linger. */
#define ALLOW_PRUNE_TTL_MS (15 * 60 * 1000)

/* {"allowPrune": "APP", "cluster": "C"}: allow the held prunes of APP on C
 * (or on every cluster that has an app of that name, or had one). */
static int allow_prune(struct call *c, const json_t *body)
{
    hub *h = c->api->h;
    const char *app = json_string_value(json_object_get(body, "allowPrune"));
    const char *cluster = json_string_value(json_object_get(body, "cluster"));
    json_t *status = NULL, *row;
    size_t i, n = 0;
    int error;

    if (app == NULL)
        return 0;
    if ((error = hub_status_fleet(h, cluster, 0, &status)) < 0)
        return error;
    json_array_foreach(json_object_get(status, "clusters"), i, row)
    {
        const char *name = json_string_value(json_object_get(row, "name"));
        json_t *apps = json_object_get(row, "apps"), *a;
        size_t j;
        json_array_foreach(apps, j, a)
        {
            if (strcmp(json_string_value(json_object_get(a, "name")), app) != 0)
                continue;
            if ((error = hub_store_allow_prune(hub_get_store(h), name, app,
                                               gf_wire_now_ms() + ALLOW_PRUNE_TTL_MS)) < 0)
                break;
            n++;
            gf_log_info("HUB-ALLOW-PRUNE", "cluster=%s app=%s", name, app);
        }
    }
    json_decref(status);
    if (error == 0 && n == 0)
        error = gf_error_set(GF_ENOTFOUND, "no cluster%s%s has an app named '%s'",
                             cluster ? " " : "", cluster ? cluster : "", app);
    return error;
}

static void handle_sync(struct call *c, const char *unused)
{
    struct call *copy = NULL;
    json_t *body = NULL;
    pthread_t thread;
    int error;

    (void)unused;
    if ((error = request_json(c, &body)) == 0)
        error = allow_prune(c, body);
    json_decref(body);
    if (error < 0) {
        reply_error(c, error);
        return;
    }
    if ((copy = malloc(sizeof(*copy))) == NULL) {
        reply_error(c, gf_error_set(GF_ENOMEM, "out of memory"));
        return;
    }
    *copy = *c;
    hub_http_defer(c->http);
    if (pthread_create(&thread, NULL, sync_thread, copy) != 0) {
        free(copy);
        reply_error(c, gf_error_set(GF_ERROR, "cannot start a sync"));
        return;
    }
    pthread_detach(thread);
}

/* ---- routes ---- */

static void handle_cluster_add(struct call *c, const char *unused)
{
    json_t *body = NULL;
    const char *name;
    char *token = NULL;
    int64_t expires = 0;
    int error;

    (void)unused;
    if ((error = request_json(c, &body)) < 0) {
        reply_error(c, error);
        return;
    }
    if ((name = json_string_value(json_object_get(body, "name"))) == NULL)
        error = gf_error_set(GF_EINVAL, "expected a JSON body {\"name\": \"CLUSTER\"}");
    else
        error = hub_cluster_add(c->api->h, name, &token, &expires);
    if (error < 0)
        reply_error(c, error);
    else
        reply_json(c, 201,
                   json_pack("{s:s, s:s, s:I}", "cluster", name, "token", token, "expiresUnixMs",
                             (json_int_t)expires));
    free(token);
    json_decref(body);
}

static void handle_cluster_remove(struct call *c, const char *name)
{
    int error = hub_cluster_remove(c->api->h, name);

    if (error < 0)
        reply_error(c, error);
    else
        reply_json(c, 200, json_pack("{s:s}", "removed", name));
}

static int one_of(const char *value, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(value, *allowed) == 0)
            return 1;
    return 0;
}

/* ?selector= ?health= ?sync= ?limit= ?continue= into a status query; the
 * caller frees q->selector. */
static int status_query(struct call *c, struct hub_status_query *q, char bufs[5][256])
{
    static const char *const healths[] = {"Healthy", "Progressing", "Degraded", "Suspended",
                                          "Missing", "Unknown",     NULL};
    static const char *const syncs[] = {"Synced", "OutOfSync", "Unknown", NULL};
    const char *selector = query_param(c, "selector", bufs[0], sizeof(bufs[0]));
    const char *limit = query_param(c, "limit", bufs[1], sizeof(bufs[1]));
    hub_selector *sel = NULL;
    char *end = NULL;
    int error;

    q->health = query_param(c, "health", bufs[2], sizeof(bufs[2]));
    q->sync = query_param(c, "sync", bufs[3], sizeof(bufs[3]));
    q->after = query_param(c, "continue", bufs[4], sizeof(bufs[4]));
    if (q->health && !one_of(q->health, healths))
        return gf_error_set(GF_EINVAL,
                            "health '%s': expected Healthy, Progressing, Degraded, "
                            "Suspended, Missing or Unknown",
                            q->health);
    if (q->sync && !one_of(q->sync, syncs))
        return gf_error_set(GF_EINVAL, "sync '%s': expected Synced, OutOfSync or Unknown", q->sync);
    if (limit) {
        long n = strtol(limit, &end, 10);
        if (end == limit || *end != '\0' || n < 1 || n > 100000)
            return gf_error_set(GF_EINVAL, "limit '%s': expected 1 to 100000", limit);
        q->limit = (size_t)n;
    }
    if (selector && (error = hub_selector_parse(&sel, selector)) < 0)
        return error;
    q->selector = sel;
    return 0;
}

static void handle_status(struct call *c, const char *cluster)
{
    char buf[128], bufs[5][256];
    struct hub_status_query q = {.detail = cluster != NULL};
    json_t *doc = NULL;
    int error;

    q.cluster = cluster ? cluster : query_param(c, "cluster", buf, sizeof(buf));
    if ((error = status_query(c, &q, bufs)) == 0 && !q.detail) {
        /* The fleet list: text from cached rows (docs/benchmarks.md). */
        char *text = NULL;
        if ((error = hub_status_query_text(c->api->h, &q, &text)) == 0)
            reply(c, 200, "application/json", text);
        free(text);
    } else if (error == 0 && (error = hub_status_query(c->api->h, &q, &doc)) == 0) {
        reply_json(c, 200, doc);
    }
    hub_selector_free((hub_selector *)q.selector);
    if (error < 0)
        reply_error(c, error);
}

static void handle_summary(struct call *c, const char *unused)
{
    char bufs[5][256];
    struct hub_status_query q = {0};
    json_t *doc = NULL;
    int error;

    (void)unused;
    if ((error = status_query(c, &q, bufs)) == 0)
        error = hub_status_summary(c->api->h, &q, &doc);
    hub_selector_free((hub_selector *)q.selector);
    if (error < 0)
        reply_error(c, error);
    else
        reply_json(c, 200, doc);
}

/* Most rows one list call returns: ?limit= is refused past it. */
#define API_MAX_LIMIT 1000

/* ?limit=N (1..API_MAX_LIMIT, default 100) into *out; GF_EINVAL otherwise. */
static int limit_param(const struct call *c, size_t *out)
{
    char text[32], *end = NULL;
    const char *v = query_param(c, "limit", text, sizeof(text));

    *out = 100;
    if (v == NULL)
        return 0;
    long long n = strtoll(v, &end, 10);
    if (end == v || *end != '\0' || n < 1 || n > API_MAX_LIMIT)
        return gf_error_set(GF_EINVAL, "limit must be a number from 1 to %d, not '%s'",
                            API_MAX_LIMIT, v);
    *out = (size_t)n;
    return 0;
}

static void handle_history(struct call *c, const char *unused)
{
    char cluster[128], app[128];
    json_t *rows = NULL;
    size_t limit;
    int error;

    (void)unused;
    if ((error = limit_param(c, &limit)) == 0)
        error = hub_store_history_list(hub_get_store(c->api->h),
                                       query_param(c, "cluster", cluster, sizeof(cluster)),
                                       query_param(c, "app", app, sizeof(app)), limit, &rows);
    if (error < 0)
        reply_error(c, error);
    else
        reply_json(c, 200, json_pack("{s:o}", "history", rows));
}

/* ---- sealed-secret recipients (issue 15) ---- */

/* Each recipient with its cluster's labels from Git (for --selector). */
static void add_labels(hub *h, json_t *rows)
{
    struct hub_view view;
    json_t *row;
    size_t i;

    hub_view_get(h, &view);
    json_array_foreach(rows, i, row)
    {
        const char *name = json_string_value(json_object_get(row, "cluster"));
        const struct hub_cluster *cl = view.fleet ? hub_fleet_cluster(view.fleet, name) : NULL;
        json_object_set_new(row, "labels", cl ? json_deep_copy(cl->labels) : json_object());
    }
    hub_view_put(&view);
}

/* GET /api/v1/recipients[?cluster=C] (every joined cluster's recipients),
 * GET /api/v1/recipients/C (one cluster: its current recipient first). */
static void handle_recipients(struct call *c, const char *cluster)
{
    char buf[128];
    json_t *rows = NULL;
    int error;

    if (cluster == NULL)
        cluster = query_param(c, "cluster", buf, sizeof(buf));
    error = hub_store_recipients(hub_get_store(c->api->h), cluster, gf_wire_now_ms(), &rows);
    if (error == 0 && cluster != NULL && json_array_size(rows) == 0)
        error = gf_error_set(GF_ENOTFOUND,
                             "cluster '%s' has no secret recipient (not joined, revoked, or "
                             "joined by an agent older than sealed secrets)",
                             cluster);
    if (error < 0) {
        json_decref(rows);
        reply_error(c, error);
        return;
    }
    add_labels(c->api->h, rows);
    if (cluster == NULL || buf == cluster)
        reply_json(c, 200, json_pack("{s:o}", "recipients", rows));
    else
        reply_json(c, 200,
                   json_pack("{s:s, s:O, s:o}", "cluster", cluster, "recipient",
                             json_object_get(json_array_get(rows, 0), "recipient"), "recipients",
                             rows));
}

/* POST /api/v1/key-rotations/C {"graceSeconds": N}: ask C's agent for a new
 * key pair (admin). */
static void handle_rotate_key(struct call *c, const char *cluster)
{
    json_t *body = NULL, *grace;
    int64_t grace_ms = 24 * 3600 * 1000;
    char id[64];
    int error = request_json(c, &body);

    grace = json_object_get(body, "graceSeconds");
    if (error == 0 && grace != NULL && !json_is_integer(grace))
        error = gf_error_set(GF_EINVAL, "graceSeconds: expected an integer");
    if (error == 0 && grace != NULL)
        grace_ms = (int64_t)json_integer_value(grace) * 1000;
    if (error == 0)
        error = hub_seckeys_rotate(hub_get_store(c->api->h), cluster, grace_ms, id);
    if (error < 0)
        reply_error(c, error);
    else
        reply_json(c, 202,
                   json_pack("{s:s, s:s, s:I}", "cluster", cluster, "rotation", id, "graceMs",
                             (json_int_t)grace_ms));
    json_decref(body);
}

static void handle_healthz(struct call *c, const char *unused)
{
    (void)unused;
    reply(c, 200, "text/plain", "ok\n");
}

static void handle_metrics(struct call *c, const char *unused)
{
    char *text = hub_status_metrics(c->api->h);
    char *rollouts = hub_rollouts_metrics(hub_get_rollouts(c->api->h));
    char *all = NULL;

    (void)unused;
    if (asprintf(&all, "%s%s", text ? text : "", rollouts ? rollouts : "") < 0)
        all = NULL;
    reply(c, 200, "text/plain; version=0.0.4", all ? all : "");
    free(all);
    free(rollouts);
    free(text);
}

/* ---- rollouts (docs/rollouts.md) ---- */

static void handle_rollouts(struct call *c, const char *unused)
{
    json_t *list = NULL;
    int error = hub_rollouts_list_json(hub_get_rollouts(c->api->h), &list, gf_wire_now_ms());

    (void)unused;
    if (error < 0)
        reply_error(c, error);
    else
        reply_json(c, 200, json_pack("{s:o}", "rollouts", list));
}

static void handle_rollout(struct call *c, const char *appset)
{
    json_t *doc = NULL;
    int error = hub_rollouts_get_json(hub_get_rollouts(c->api->h), appset, &doc, gf_wire_now_ms());

    if (error < 0)
        reply_error(c, error);
    else
        reply_json(c, 200, doc);
}

/* POST /api/v1/rollouts/APPSET/VERB: the rollout after the command (its
 * holds and releases are republished before the answer). */
static void rollout_command(struct call *c, const char *appset, const char *verb)
{
    int error = hub_rollouts_command(hub_get_rollouts(c->api->h), appset, verb, gf_wire_now_ms());

    if (error < 0)
        reply_error(c, error);
    else
        handle_rollout(c, appset);
}

static void handle_rollout_pause(struct call *c, const char *appset)
{
    rollout_command(c, appset, "pause");
}

static void handle_rollout_resume(struct call *c, const char *appset)
{
    rollout_command(c, appset, "resume");
}

static void handle_rollout_promote(struct call *c, const char *appset)
{
    rollout_command(c, appset, "promote");
}

static void handle_rollout_abort(struct call *c, const char *appset)
{
    rollout_command(c, appset, "abort");
}

static void handle_clusters(struct call *c, const char *unused)
{
    (void)unused;
    reply_json(c, 200, json_pack("{s:o}", "clusters", hub_status_clusters(c->api->h)));
}

static void handle_apps(struct call *c, const char *unused)
{
    char buf[128];

    (void)unused;
    reply_json(c, 200,
               json_pack("{s:o}", "apps",
                         hub_status_apps(c->api->h, query_param(c, "cluster", buf, sizeof(buf)))));
}

/* ---- the dashboard (issue 14): its data and its change feed ---- */

static void handle_ui_fleet(struct call *c, const char *unused)
{
    char names[8192];
    json_t *doc = NULL;
    int error = hub_ui_fleet(c->api->h, query_param(c, "names", names, sizeof(names)), &doc);

    (void)unused;
    if (error < 0)
        reply_error(c, error);
    else
        reply_json(c, 200, doc);
}

static void handle_ui_app(struct call *c, const char *app)
{
    json_t *doc = NULL;
    int error = hub_ui_app(c->api->h, app, &doc);

    if (error < 0)
        reply_error(c, error);
    else
        reply_json(c, 200, doc);
}

static void handle_ui_rollouts(struct call *c, const char *appset)
{
    json_t *doc = NULL;
    int error = appset ? hub_ui_rollout(c->api->h, appset, &doc) : hub_ui_rollouts(c->api->h, &doc);

    if (error < 0)
        reply_error(c, error);
    else
        reply_json(c, 200, doc);
}

static void handle_events(struct call *c, const char *unused)
{
    int error = hub_events_subscribe(hub_get_events(c->api->h), c->http);

    (void)unused;
    if (error == GF_ETOOBIG)
        reply_json(c, 503, json_pack("{s:s, s:s}", "error", gf_error_last(), "code", "ETOOBIG"));
    else if (error < 0)
        reply_error(c, error);
}

/* ---- per-app operations (issue 10) ---- */

/* Answer 200 with `doc` or the error. */
static void reply_result(struct call *c, int error, json_t *doc)
{
    if (error < 0)
        reply_error(c, error);
    else
        reply_json(c, 200, doc);
}

static void handle_app_get(struct call *c, const char *app)
{
    char buf[128];
    json_t *doc = NULL;
    int error = hub_appops_get(c->api->h, app, query_param(c, "cluster", buf, sizeof(buf)), &doc);

    reply_result(c, error, doc);
}

static void handle_app_history(struct call *c, const char *app)
{
    char buf[128];
    json_t *doc = NULL;
    int error =
        hub_appops_states(c->api->h, app, query_param(c, "cluster", buf, sizeof(buf)), &doc);

    reply_result(c, error, doc);
}

/* POST /api/v1/apps/APP/sync and .../rollback: a JSON object body. */
static void handle_app_operation(struct call *c, const char *app, int rollback)
{
    json_t *body = NULL, *doc = NULL;
    int error = request_json(c, &body);

    if (error == 0 && body != NULL && !json_is_object(body))
        error = gf_error_set(GF_EINVAL, "expected a JSON object as the body");
    if (error == 0 && rollback)
        error = hub_appops_rollback(c->api->h, &c->who, app, body, &doc);
    else if (error == 0)
        error = hub_appops_sync(c->api->h, &c->who, app, body, &doc);
    json_decref(body);
    if (error < 0)
        reply_error(c, error);
    else
        reply_json(c, 202, doc);
}

static void handle_app_sync(struct call *c, const char *app)
{
    handle_app_operation(c, app, 0);
}

static void handle_app_rollback(struct call *c, const char *app)
{
    handle_app_operation(c, app, 1);
}

/* ---- access (issue 17): tokens, audit log, the gate ---- */

/* The request as the audit log shows it: small bodies as they are (they
 * carry names and options, never secrets), large ones by size. */
static void audit_reply(struct call *c, unsigned status, const char *body)
{
    char detail[600] = "";
    size_t len;
    const char *data;

    if (!c->audit || c->api->audit == NULL)
        return;
    data = hub_http_body(c->http, &len);
    if (len > 0 && len <= 512 && strcmp(c->path, "/api/v1/webhook/git") != 0)
        snprintf(detail, sizeof(detail), "%.*s", (int)len, data);
    else if (len > 0)
        snprintf(detail, sizeof(detail), "(%zu bytes)", len);
    if (hub_audit_record(c->api->audit, c->who.name, c->method, c->path, detail, status,
                         status >= 400 ? body : "") < 0)
        gf_log_error("HUB-AUDIT-FAIL", "error=\"%s\"", gf_error_last());
}

static void handle_token_create(struct call *c, const char *unused)
{
    json_t *body = NULL;
    char *secret = NULL;
    int error;

    (void)unused;
    if ((error = request_json(c, &body)) < 0) {
        reply_error(c, error);
        return;
    }
    const char *name = json_string_value(json_object_get(body, "name"));
    const char *role = json_string_value(json_object_get(body, "role"));
    const char *projects = json_string_value(json_object_get(body, "projects"));
    json_int_t expires = json_integer_value(json_object_get(body, "expiresUnixMs"));
    if ((error = hub_auth_token_create(c->api->auth, name, role, projects, expires, &secret)) < 0)
        reply_error(c, error);
    else
        reply_json(c, 201,
                   json_pack("{s:s, s:s, s:s, s:I, s:s}", "name", name, "role", role, "projects",
                             projects ? projects : "", "expiresUnixMs", expires, "token", secret));
    free(secret);
    json_decref(body);
}

static void handle_token_list(struct call *c, const char *unused)
{
    json_t *rows = NULL;
    int error;

    (void)unused;
    if ((error = hub_auth_token_list(c->api->auth, &rows)) < 0)
        reply_error(c, error);
    else
        reply_json(c, 200, json_pack("{s:o}", "tokens", rows));
}

static void handle_token_revoke(struct call *c, const char *name)
{
    int error = hub_auth_token_revoke(c->api->auth, name);

    if (error < 0)
        reply_error(c, error);
    else
        reply_json(c, 200, json_pack("{s:s}", "revoked", name));
}

static void handle_audit(struct call *c, const char *unused)
{
    json_t *rows = NULL;
    size_t limit;
    int error;

    (void)unused;
    if ((error = limit_param(c, &limit)) == 0)
        error = hub_audit_list(c->api->audit, limit, &rows);
    if (error < 0)
        reply_error(c, error);
    else
        reply_json(c, 200, json_pack("{s:o}", "audit", rows));
}

/* Every request passes here first: the token names who calls, the route
 * what that needs (auth.c); what changes something is audited. */
static int gate(struct call *c)
{
    unsigned status = 0;
    int writes = strcmp(c->method, "GET") != 0 && strcmp(c->method, "HEAD") != 0;

    c->audit = writes;
    if (hub_auth_request(c->api->auth, c->method, c->path,
                         hub_http_header(c->http, "Authorization"), &c->who, &status) == 0) {
        if (strcmp(c->method, "POST") == 0 && strcmp(c->path, "/api/v1/webhook/git") == 0)
            snprintf(c->who.name, sizeof(c->who.name), "webhook");
        return 1;
    }
    reply_json(c, status, json_pack("{s:s, s:s}", "error", gf_error_last(), "code", "EPERM"));
    return 0;
}

/*
 * The routes. `path` ending in '/' takes exactly one more segment, handed to
 * the handler as its second argument (a cluster name); a `*` segment takes
 * one segment in its place, handed the same way (an app name); otherwise it
 * must match whole and the handler gets NULL. Who may call it is decided before,
 * by the gate (hub/auth.c, by method and path). Add a route: one row here,
 * one in docs/api.md.
 */
static const struct route {
    const char *method;
    const char *path;
    void (*handle)(struct call *c, const char *name);
} routes[] = {
    {"GET", "/healthz", handle_healthz},
    {"GET", "/metrics", handle_metrics},
    {"GET", "/api/v1/status", handle_status},
    {"GET", "/api/v1/status/", handle_status},
    {"GET", "/api/v1/summary", handle_summary},
    {"GET", "/api/v1/clusters", handle_clusters},
    {"GET", "/api/v1/apps", handle_apps},
    {"GET", "/api/v1/history", handle_history},
    {"POST", "/api/v1/clusters", handle_cluster_add},
    {"DELETE", "/api/v1/clusters/", handle_cluster_remove},
    {"POST", "/api/v1/sync", handle_sync},
    {"POST", "/api/v1/webhook/git", handle_webhook},
    {"GET", "/api/v1/tokens", handle_token_list},
    {"POST", "/api/v1/tokens", handle_token_create},
    {"DELETE", "/api/v1/tokens/", handle_token_revoke},
    {"GET", "/api/v1/audit", handle_audit},
    {"GET", "/api/v1/apps/", handle_app_get},
    {"GET", "/api/v1/apps/*/history", handle_app_history},
    {"POST", "/api/v1/apps/*/sync", handle_app_sync},
    {"POST", "/api/v1/apps/*/rollback", handle_app_rollback},
    {"GET", "/api/v1/events", handle_events},
    {"GET", "/api/v1/ui/fleet", handle_ui_fleet},
    {"GET", "/api/v1/ui/apps/", handle_ui_app},
    {"GET", "/api/v1/ui/rollouts", handle_ui_rollouts},
    {"GET", "/api/v1/ui/rollouts/", handle_ui_rollouts},
    {"GET", "/api/v1/recipients", handle_recipients},
    {"GET", "/api/v1/recipients/", handle_recipients},
    {"POST", "/api/v1/key-rotations/", handle_rotate_key},
    {"GET", "/api/v1/rollouts", handle_rollouts},
    {"GET", "/api/v1/rollouts/", handle_rollout},
    {"POST", "/api/v1/rollouts/*/pause", handle_rollout_pause},
    {"POST", "/api/v1/rollouts/*/resume", handle_rollout_resume},
    {"POST", "/api/v1/rollouts/*/promote", handle_rollout_promote},
    {"POST", "/api/v1/rollouts/*/abort", handle_rollout_abort},
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

/* Does `path` fit the route's pattern? *name_out: the trailing segment. */
static int path_matches(const struct route *r, const char *path, const char **name_out)
{
    size_t n = strlen(r->path);
    const char *star = strstr(r->path, "/*/");

    *name_out = NULL;
    if (star != NULL) {
        /* prefix, one segment (the name), then the rest exactly */
        size_t before = (size_t)(star - r->path) + 1, seg;
        if (strncmp(path, r->path, before) != 0)
            return 0;
        seg = strcspn(path + before, "/");
        if (seg == 0 || strcmp(path + before + seg, star + 2) != 0)
            return 0;
        *name_out = path + before;
        return 1;
    }
    if (r->path[n - 1] != '/')
        return strcmp(path, r->path) == 0;
    if (strncmp(path, r->path, n) != 0 || path[n] == '\0' || strchr(path + n, '/'))
        return 0;
    *name_out = path + n;
    return 1;
}

static void dispatch(hub_http_call *http, void *arg)
{
    struct call c = {
        .api = arg, .http = http, .method = hub_http_method(http), .path = hub_http_path(http)};
    char allow[64] = "";
    const char *name;

    if (!gate(&c))
        return;
    if (hub_ui_is_page(c.path)) {
        hub_ui_serve(http);
        return;
    }
    for (size_t i = 0; i < N_ROUTES; i++) {
        const struct route *r = &routes[i];
        if (!path_matches(r, c.path, &name))
            continue;
        if (strcmp(r->method, c.method) != 0) {
            size_t used = strlen(allow);
            snprintf(allow + used, sizeof(allow) - used, "%s%s", used ? ", " : "", r->method);
            continue;
        }
        char segment[256];
        if (name && strchr(name, '/')) { /* a `*` segment: only the segment */
            snprintf(segment, sizeof(segment), "%.*s", (int)strcspn(name, "/"), name);
            name = segment;
        }
        r->handle(&c, name);
        return;
    }
    if (allow[0] != '\0') {
        hub_http_add_header(http, "Allow", allow);
        gf_error_set(GF_EUNSUPPORTED, "%s is not allowed on %s (allowed: %s)", c.method, c.path,
                     allow);
        reply_json(&c, 405,
                   json_pack("{s:s, s:s}", "error", gf_error_last(), "code", "EUNSUPPORTED"));
        return;
    }
    reply_error(&c, gf_error_set(GF_ENOTFOUND, "no route for %s %s", c.method, c.path));
}

static int check_admin(void *arg, const char *token)
{
    return hub_check_admin(arg, token);
}

/* Tokens and the audit log live in the hub's database (their own tables). */
static int open_access(struct hub_api *api)
{
    const struct hub_settings *s = hub_get_settings(api->h);
    hub_store *store = hub_get_store(api->h);
    int error;

    if ((error = hub_auth_open(&api->auth, store, s->anonymous_read, check_admin, api->h)) < 0 ||
        (error = hub_audit_open(&api->audit, store)) < 0)
        return error;
    return 0;
}

int hub_api_start(struct hub_api **out, struct hub *h, const char *url,
                  const struct hub_http_limits *limits)
{
    struct hub_api *api = calloc(1, sizeof(*api));
    int error;

    *out = NULL;
    if (api == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    api->h = h;
    if ((error = open_access(api)) < 0 ||
        (error = hub_http_start(&api->server, url, limits, dispatch, api)) < 0) {
        hub_auth_close(api->auth);
        hub_audit_close(api->audit);
        free(api);
        return error;
    }
    gf_log_info("HUB-API-LISTEN", "url=%s port=%d", url, hub_http_port(api->server));
    *out = api;
    return 0;
}

void hub_api_stop(struct hub_api *api)
{
    if (api == NULL)
        return;
    hub_http_stop(api->server);
    hub_auth_close(api->auth);
    hub_audit_close(api->audit);
    free(api);
}
