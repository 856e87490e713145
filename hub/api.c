/* api.c -- the hub's HTTP/JSON API for the CLI, dashboards, scripts and Git webhooks */
#include "api.h"

#include "gitfleet/error.h"
#include "gitfleet/log.h"
#include "gitfleet/wire.h"
#include "http.h"
#include "hub.h"
#include "status.h"

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
};

/* One request being answered: what every handler gets. */
struct call {
    struct hub_api *api;
    hub_http_call *http;
    const char *method;
    const char *path; /* decoded, without the query */
};

/* ---- responses and request helpers (thin names over http.h) ---- */

static void reply(struct call *c, unsigned status, const char *content_type, const char *body)
{
    hub_http_reply(c->http, status, content_type, body, strlen(body));
}

/* Reply with a JSON document, which this function releases. */
static void reply_json(struct call *c, unsigned status, json_t *doc)
{
    hub_http_reply_json(c->http, status, doc);
}

/* {"error": gf_error_last(), "code": "E..."} with the status of the code. */
static void reply_error(struct call *c, int code)
{
    hub_http_reply_error(c->http, code);
}

/* The value of `key` in the query string, decoded, into buf; NULL if absent. */
static const char *query_param(const struct call *c, const char *key, char *buf, size_t len)
{
    return hub_http_query_param(c->http, key, buf, len);
}

static int is_admin(struct call *c)
{
    const char *auth = hub_http_header(c->http, "Authorization");

    return auth && strncmp(auth, "Bearer ", 7) == 0 && hub_check_admin(c->api->h, auth + 7);
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

static void handle_history(struct call *c, const char *unused)
{
    char cluster[128], app[128], limit_text[32];
    const char *limit = query_param(c, "limit", limit_text, sizeof(limit_text));
    json_t *rows = NULL;
    int error;

    (void)unused;
    error = hub_store_history_list(hub_get_store(c->api->h),
                                   query_param(c, "cluster", cluster, sizeof(cluster)),
                                   query_param(c, "app", app, sizeof(app)),
                                   limit ? (size_t)strtoul(limit, NULL, 10) : 100, &rows);
    if (error < 0)
        reply_error(c, error);
    else
        reply_json(c, 200, json_pack("{s:o}", "history", rows));
}

static void handle_healthz(struct call *c, const char *unused)
{
    (void)unused;
    reply(c, 200, "text/plain", "ok\n");
}

static void handle_metrics(struct call *c, const char *unused)
{
    char *text = hub_status_metrics(c->api->h);

    (void)unused;
    reply(c, 200, "text/plain; version=0.0.4", text ? text : "");
    free(text);
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

/* Who may call a route. */
enum route_auth {
    AUTH_NONE,    /* reads */
    AUTH_ADMIN,   /* changes: "Authorization: Bearer <admin token>" */
    AUTH_WEBHOOK, /* the webhook's signature, checked by its handler */
};

/*
 * The routes. `path` ending in '/' takes exactly one more segment, handed to
 * the handler as its second argument (a cluster name); otherwise it must
 * match whole and the handler gets NULL. Add a route: one row here, one in
 * docs/api.md.
 */
static const struct route {
    const char *method;
    const char *path;
    enum route_auth auth;
    void (*handle)(struct call *c, const char *name);
} routes[] = {
    {"GET", "/healthz", AUTH_NONE, handle_healthz},
    {"GET", "/metrics", AUTH_NONE, handle_metrics},
    {"GET", "/api/v1/status", AUTH_NONE, handle_status},
    {"GET", "/api/v1/status/", AUTH_NONE, handle_status},
    {"GET", "/api/v1/clusters", AUTH_NONE, handle_clusters},
    {"GET", "/api/v1/apps", AUTH_NONE, handle_apps},
    {"GET", "/api/v1/history", AUTH_NONE, handle_history},
    {"POST", "/api/v1/clusters", AUTH_ADMIN, handle_cluster_add},
    {"DELETE", "/api/v1/clusters/", AUTH_ADMIN, handle_cluster_remove},
    {"POST", "/api/v1/sync", AUTH_ADMIN, handle_sync},
    {"POST", "/api/v1/webhook/git", AUTH_WEBHOOK, handle_webhook},
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

/* Does `path` fit the route's pattern? *name_out: the trailing segment. */
static int path_matches(const struct route *r, const char *path, const char **name_out)
{
    size_t n = strlen(r->path);

    *name_out = NULL;
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

    for (size_t i = 0; i < N_ROUTES; i++) {
        const struct route *r = &routes[i];
        if (!path_matches(r, c.path, &name))
            continue;
        if (strcmp(r->method, c.method) != 0) {
            size_t used = strlen(allow);
            snprintf(allow + used, sizeof(allow) - used, "%s%s", used ? ", " : "", r->method);
            continue;
        }
        if (r->auth == AUTH_ADMIN && !is_admin(&c)) {
            reply_error(&c,
                        gf_error_set(GF_EPERM, "this call needs the admin token "
                                               "(Authorization: Bearer <data-dir>/admin.token)"));
            return;
        }
        r->handle(&c, name);
        return;
    }
    /* A change under /api/v1/ is refused before the route is looked at, so
     * that no one without the token learns which routes exist. */
    if (strcmp(c.method, "GET") != 0 && strcmp(c.method, "HEAD") != 0 &&
        strncmp(c.path, "/api/v1/", 8) == 0 && !is_admin(&c)) {
        reply_error(&c, gf_error_set(GF_EPERM, "this call needs the admin token "
                                               "(Authorization: Bearer <data-dir>/admin.token)"));
    } else if (allow[0] != '\0') {
        hub_http_add_header(http, "Allow", allow);
        hub_http_reply_status(http, 405, GF_EUNSUPPORTED, "%s is not allowed on %s (allowed: %s)",
                              c.method, c.path, allow);
    } else {
        reply_error(&c, gf_error_set(GF_ENOTFOUND, "no route for %s %s", c.method, c.path));
    }
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
    if ((error = hub_http_start(&api->server, url, limits, dispatch, api)) < 0) {
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
    free(api);
}
