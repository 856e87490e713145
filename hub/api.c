/* api.c -- the hub's HTTP/JSON API for the CLI, dashboards, scripts and Git webhooks */
#include "api.h"

#include "gitfleet/error.h"
#include "gitfleet/log.h"
#include "gitfleet/wire.h"
#include "hub.h"
#include "seckeys.h"
#include "status.h"

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_MAX_BODY (1 << 20)

struct hub_api {
    hub *h;
    nng_http_server *server;
};

/* One request being answered. */
struct call {
    struct hub_api *api;
    nng_aio *aio;
    nng_http_req *req;
    const char *method;
    char path[1024];  /* without the query */
    char query[1024]; /* after '?', "" when none */
};

/* ---- responses ---- */

static void reply(struct call *c, uint16_t status, const char *content_type, const char *body)
{
    nng_http_res *res = NULL;

    if (nng_http_res_alloc(&res) != 0) {
        nng_aio_finish(c->aio, NNG_ENOMEM);
        return;
    }
    nng_http_res_set_status(res, status);
    nng_http_res_set_header(res, "Content-Type", content_type);
    nng_http_res_copy_data(res, body, strlen(body));
    nng_aio_set_output(c->aio, 0, res);
    nng_aio_finish(c->aio, 0);
}

/* Reply with a JSON document, which this function releases. */
static void reply_json(struct call *c, uint16_t status, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);

    reply(c, status, "application/json", text ? text : "{}");
    free(text);
    json_decref(doc);
}

static uint16_t http_status(int code)
{
    switch (code) {
    case GF_EINVAL:
        return 400;
    case GF_EPERM:
        return 403;
    case GF_ENOTFOUND:
        return 404;
    case GF_EEXISTS:
    case GF_ECONFLICT:
        return 409;
    case GF_ETIMEDOUT:
        return 504;
    default:
        return 500;
    }
}

static void reply_error(struct call *c, int code)
{
    reply_json(c, http_status(code),
               json_pack("{s:s, s:s}", "error", gf_error_last(), "code", gf_error_name(code)));
}

/* ---- request helpers ---- */

/* The value of `key` in the query string, decoded, into buf; NULL if absent. */
static const char *query_param(const struct call *c, const char *key, char *buf, size_t len)
{
    size_t klen = strlen(key);
    const char *p = c->query;

    while (*p) {
        const char *end = strchr(p, '&');
        size_t plen = end ? (size_t)(end - p) : strlen(p);
        if (plen > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
            size_t o = 0;
            for (size_t i = klen + 1; i < plen && o + 1 < len; i++) {
                unsigned hex;
                if (p[i] == '%' && i + 2 < plen && sscanf(p + i + 1, "%2x", &hex) == 1) {
                    buf[o++] = (char)hex;
                    i += 2;
                } else {
                    buf[o++] = p[i] == '+' ? ' ' : p[i];
                }
            }
            buf[o] = '\0';
            return buf;
        }
        p += plen + (end ? 1 : 0);
    }
    return NULL;
}

static int is_admin(struct call *c)
{
    const char *auth = nng_http_req_get_header(c->req, "Authorization");

    return auth && strncmp(auth, "Bearer ", 7) == 0 && hub_check_admin(c->api->h, auth + 7);
}

static json_t *request_json(struct call *c)
{
    void *body;
    size_t len;

    nng_http_req_get_data(c->req, &body, &len);
    return len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
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
    return nng_http_req_get_header(arg, name);
}

static void handle_webhook(struct call *c)
{
    hub *h = c->api->h;
    void *body;
    size_t len;
    char want[300];
    int error;

    nng_http_req_get_data(c->req, &body, &len);
    if ((error = hub_api_check_webhook(hub_webhook_secret(h), req_header, c->req, body, len)) < 0) {
        gf_log_warn("HUB-WEBHOOK-REFUSED", "error=\"%s\"", gf_error_last());
        reply_error(c, error);
        return;
    }
    json_t *payload = request_json(c);
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
 * so that no nng worker is held. */
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

static void handle_sync(struct call *c)
{
    struct call *copy = malloc(sizeof(*copy));
    json_t *body = request_json(c);
    pthread_t thread;
    int error = allow_prune(c, body);

    json_decref(body);
    if (error < 0) {
        free(copy);
        reply_error(c, error);
        return;
    }

    if (copy == NULL) {
        reply_error(c, gf_error_set(GF_ENOMEM, "out of memory"));
        return;
    }
    *copy = *c;
    if (pthread_create(&thread, NULL, sync_thread, copy) != 0) {
        free(copy);
        reply_error(c, gf_error_set(GF_ERROR, "cannot start a sync"));
        return;
    }
    pthread_detach(thread);
}

/* ---- routes ---- */

static void handle_cluster_add(struct call *c)
{
    json_t *body = request_json(c);
    const char *name = json_string_value(json_object_get(body, "name"));
    char *token = NULL;
    int64_t expires = 0;
    int error;

    if (name == NULL)
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

static void handle_status(struct call *c, const char *cluster)
{
    char buf[128];
    json_t *doc = NULL;
    int detail = cluster != NULL;
    int error;

    if (cluster == NULL)
        cluster = query_param(c, "cluster", buf, sizeof(buf));
    if ((error = hub_status_fleet(c->api->h, cluster, detail, &doc)) < 0)
        reply_error(c, error);
    else
        reply_json(c, 200, doc);
}

static void handle_history(struct call *c)
{
    char cluster[128], app[128], limit_text[32];
    const char *limit = query_param(c, "limit", limit_text, sizeof(limit_text));
    json_t *rows = NULL;
    int error = hub_store_history_list(hub_get_store(c->api->h),
                                       query_param(c, "cluster", cluster, sizeof(cluster)),
                                       query_param(c, "app", app, sizeof(app)),
                                       limit ? (size_t)strtoul(limit, NULL, 10) : 100, &rows);

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
        const struct hub_cluster *cl =
            view.fleet
                ? hub_fleet_cluster(view.fleet, json_string_value(json_object_get(row, "cluster")))
                : NULL;
        json_object_set_new(row, "labels", cl ? json_deep_copy(cl->labels) : json_object());
    }
    hub_view_put(&view);
}

/* GET /api/v1/recipients[?cluster=C]: every joined cluster's recipients. */
static void handle_recipients(struct call *c, const char *cluster)
{
    json_t *rows = NULL;
    int error = hub_store_recipients(hub_get_store(c->api->h), cluster, gf_wire_now_ms(), &rows);

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
    if (cluster == NULL)
        reply_json(c, 200, json_pack("{s:o}", "recipients", rows));
    else
        reply_json(c, 200,
                   json_pack("{s:s, s:O, s:o}", "cluster", cluster, "recipient",
                             json_object_get(json_array_get(rows, 0), "recipient"), "recipients",
                             rows));
}

/* POST /api/v1/clusters/C/rotate-key {"graceSeconds": N} */
static void handle_rotate_key(struct call *c, const char *cluster)
{
    json_t *body = request_json(c);
    json_t *grace = json_object_get(body, "graceSeconds");
    int64_t grace_ms = grace ? (int64_t)json_integer_value(grace) * 1000 : 24 * 3600 * 1000;
    char id[64];
    int error;

    if (grace != NULL && !json_is_integer(grace))
        error = gf_error_set(GF_EINVAL, "graceSeconds: expected an integer");
    else
        error = hub_seckeys_rotate(hub_get_store(c->api->h), cluster, grace_ms, id);
    if (error < 0)
        reply_error(c, error);
    else
        reply_json(c, 202,
                   json_pack("{s:s, s:s, s:I}", "cluster", cluster, "rotation", id, "graceMs",
                             (json_int_t)grace_ms));
    json_decref(body);
}

/* "/api/v1/clusters/NAME/<suffix>" for `method`: NAME into `name`. */
static int cluster_route(const struct call *c, const char *method, const char *suffix, char *name,
                         size_t cap)
{
    const char *prefix = "/api/v1/clusters/", *p = c->path + strlen(prefix), *slash;

    if (strcmp(c->method, method) != 0 || strncmp(c->path, prefix, strlen(prefix)) != 0 ||
        (slash = strchr(p, '/')) == NULL || slash == p || strcmp(slash + 1, suffix) != 0 ||
        (size_t)(slash - p) >= cap)
        return 0;
    snprintf(name, cap, "%.*s", (int)(slash - p), p);
    return 1;
}

static int is(const struct call *c, const char *method, const char *path)
{
    return strcmp(c->method, method) == 0 && strcmp(c->path, path) == 0;
}

/* The rest of the path after `prefix`, or NULL. */
static const char *under(const struct call *c, const char *method, const char *prefix)
{
    size_t n = strlen(prefix);

    if (strcmp(c->method, method) != 0 || strncmp(c->path, prefix, n) != 0 || c->path[n] == '\0')
        return NULL;
    return strchr(c->path + n, '/') ? NULL : c->path + n;
}

/* Routes that change something: the admin token is required. */
static int route_admin(struct call *c)
{
    const char *name;
    char name_buf[128];

    if (is(c, "POST", "/api/v1/clusters"))
        handle_cluster_add(c);
    else if ((name = under(c, "DELETE", "/api/v1/clusters/")) != NULL) {
        int error = hub_cluster_remove(c->api->h, name);
        if (error < 0)
            reply_error(c, error);
        else
            reply_json(c, 200, json_pack("{s:s}", "removed", name));
    } else if (is(c, "POST", "/api/v1/sync"))
        handle_sync(c);
    else if (cluster_route(c, "POST", "rotate-key", name_buf, sizeof(name_buf)))
        handle_rotate_key(c, name_buf);
    else
        return 0;
    return 1;
}

static int route_read(struct call *c)
{
    char buf[128];
    const char *name;

    if (is(c, "GET", "/healthz"))
        reply(c, 200, "text/plain", "ok\n");
    else if (is(c, "GET", "/metrics")) {
        char *text = hub_status_metrics(c->api->h);
        reply(c, 200, "text/plain; version=0.0.4", text ? text : "");
        free(text);
    } else if (is(c, "GET", "/api/v1/status"))
        handle_status(c, NULL);
    else if ((name = under(c, "GET", "/api/v1/status/")) != NULL)
        handle_status(c, name);
    else if (is(c, "GET", "/api/v1/clusters"))
        reply_json(c, 200, json_pack("{s:o}", "clusters", hub_status_clusters(c->api->h)));
    else if (is(c, "GET", "/api/v1/apps"))
        reply_json(
            c, 200,
            json_pack("{s:o}", "apps",
                      hub_status_apps(c->api->h, query_param(c, "cluster", buf, sizeof(buf)))));
    else if (is(c, "GET", "/api/v1/history"))
        handle_history(c);
    else if (is(c, "GET", "/api/v1/recipients"))
        handle_recipients(c, query_param(c, "cluster", buf, sizeof(buf)));
    else if (cluster_route(c, "GET", "key", buf, sizeof(buf)))
        handle_recipients(c, buf);
    else
        return 0;
    return 1;
}

static void dispatch(nng_aio *aio)
{
    nng_http_handler *handler = nng_aio_get_input(aio, 1);
    struct call c = {
        .api = nng_http_handler_get_data(handler), .aio = aio, .req = nng_aio_get_input(aio, 0)};
    const char *uri = nng_http_req_get_uri(c.req), *q = strchr(uri, '?');

    c.method = nng_http_req_get_method(c.req);
    snprintf(c.path, sizeof(c.path), "%.*s", (int)(q ? (size_t)(q - uri) : strlen(uri)), uri);
    snprintf(c.query, sizeof(c.query), "%s", q ? q + 1 : "");
    if (is(&c, "POST", "/api/v1/webhook/git")) {
        handle_webhook(&c);
        return;
    }
    if (route_read(&c))
        return;
    if ((strcmp(c.method, "POST") == 0 || strcmp(c.method, "DELETE") == 0) &&
        strncmp(c.path, "/api/v1/", 8) == 0 && !is_admin(&c)) {
        reply_error(&c, gf_error_set(GF_EPERM, "this call needs the admin token "
                                               "(Authorization: Bearer <data-dir>/admin.token)"));
        return;
    }
    if (!route_admin(&c))
        reply_error(&c, gf_error_set(GF_ENOTFOUND, "no route for %s %s", c.method, c.path));
}

int hub_api_start(struct hub_api **out, struct hub *h, const char *url)
{
    struct hub_api *api = calloc(1, sizeof(*api));
    nng_http_handler *handler = NULL;
    nng_url *u = NULL;
    int rv;

    *out = NULL;
    if (api == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    api->h = h;
    if ((rv = nng_url_parse(&u, url)) != 0 || (rv = nng_http_server_hold(&api->server, u)) != 0) {
        if (u)
            nng_url_free(u);
        free(api);
        return gf_error_set(GF_EINVAL, "API address %s: %s", url, nng_strerror(rv));
    }
    nng_url_free(u);
    if ((rv = nng_http_handler_alloc(&handler, "/", dispatch)) != 0 ||
        (rv = nng_http_handler_set_method(handler, NULL)) != 0 ||
        (rv = nng_http_handler_collect_body(handler, true, API_MAX_BODY)) != 0 ||
        (rv = nng_http_handler_set_tree(handler)) != 0 ||
        (rv = nng_http_handler_set_data(handler, api, NULL)) != 0 ||
        (rv = nng_http_server_add_handler(api->server, handler)) != 0 ||
        (rv = nng_http_server_start(api->server)) != 0) {
        nng_http_server_release(api->server);
        free(api);
        return gf_error_set(GF_EIO, "API on %s: %s", url, nng_strerror(rv));
    }
    gf_log_info("HUB-API-LISTEN", "url=%s", url);
    *out = api;
    return 0;
}

void hub_api_stop(struct hub_api *api)
{
    if (api == NULL)
        return;
    nng_http_server_stop(api->server);
    nng_http_server_release(api->server);
    free(api);
}
