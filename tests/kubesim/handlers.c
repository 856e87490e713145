/* handlers.c -- the API server's request entry point: auth, faults, discovery and resource routing
 */
#include "handlers.h"

#include "apierr.h"
#include "discovery.h"
#include "faults.h"
#include "protobuf.h"
#include "request.h"
#include "store.h"

#include "gitfleet/error.h"
#include "gitfleet/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_SEGS 12

static const char *required_token;

void ks_handlers_init(const char *token)
{
    required_token = token;
}

void ks_reply(struct ks_req *r, int code, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    ks_http_respond(r->conn, code, "application/json", text, strlen(text), NULL);
    free(text);
    json_decref(body);
}

void ks_reply_status(struct ks_req *r, json_t *status)
{
    ks_reply(r, ks_err_code(status), status);
}

static void reply_locked(struct ks_req *r, int code, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    ks_store_unlock();
    ks_http_respond(r->conn, code, "application/json", text, strlen(text), NULL);
    free(text);
}

static void not_found(struct ks_req *r)
{
    ks_reply(
        r, 404,
        ks_err(404, "NotFound", json_object(), "the server could not find the requested resource"));
}

/* ---- auth and faults -------------------------------------------------------------------- */

static int authorized(const struct ks_http_req *req)
{
    const char *h = ks_http_header(req, "Authorization");
    if (required_token == NULL)
        return 1;
    return h != NULL && strncmp(h, "Bearer ", 7) == 0 && strcmp(h + 7, required_token) == 0;
}

static const char *verb_of(const struct ks_req *r)
{
    const char *m = r->http->method, *w = ks_http_param(r->http, "watch");
    if (strcmp(m, "GET") == 0)
        return r->name[0]                                               ? "get"
               : (w != NULL && (!strcmp(w, "true") || !strcmp(w, "1"))) ? "watch"
                                                                        : "list";
    if (strcmp(m, "POST") == 0)
        return "create";
    if (strcmp(m, "PUT") == 0)
        return "update";
    if (strcmp(m, "PATCH") == 0)
        return "patch";
    if (strcmp(m, "DELETE") == 0)
        return r->name[0] ? "delete" : "deletecollection";
    return "unknown";
}

/* 1 when a fault answered (or dropped) the request. */
static int inject_fault(struct ks_req *r)
{
    struct ks_fault_action a;
    char extra[64] = "";

    if (!ks_faults_match(&a, verb_of(r), r->http->method, r->t.resource))
        return 0;
    if (a.delay_ms > 0) {
        struct timespec ts = {a.delay_ms / 1000, (long)(a.delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (a.drop) {
        ks_http_drop(r->conn);
        return 1;
    }
    if (a.status == 0)
        return 0;
    json_t *st = ks_err(a.status, a.status == 429 ? "TooManyRequests" : "InternalError", NULL,
                        "kubesim: injected fault (%d)", a.status);
    if (a.retry_after > 0) {
        json_object_set_new(st, "details", json_pack("{s:i}", "retryAfterSeconds", a.retry_after));
        snprintf(extra, sizeof(extra), "Retry-After: %d\r\n", a.retry_after);
    }
    char *text = json_dumps(st, JSON_COMPACT);
    ks_http_respond(r->conn, a.status, "application/json", text, strlen(text), extra);
    free(text);
    json_decref(st);
    return 1;
}

static void handle_faults(struct ks_req *r)
{
    const char *m = r->http->method;
    json_error_t jerr;

    if (strcmp(m, "DELETE") == 0) {
        ks_faults_clear();
        ks_reply(r, 200, json_pack("{s:s}", "status", "Success"));
    } else if (strcmp(m, "GET") == 0) {
        ks_reply(r, 200, json_pack("{s:o}", "faults", ks_faults_list()));
    } else if (strcmp(m, "POST") == 0) {
        json_t *rule = json_loadb(r->http->body, r->http->body_len, 0, &jerr);
        json_t *rules = json_is_array(rule) ? json_incref(rule) : json_pack("[O]", rule);
        size_t i;
        json_t *one;
        int error = rule == NULL ? gf_error_set(GF_EINVAL, "%s", jerr.text) : 0;
        json_array_foreach(rules, i, one) if (error == 0) error = ks_faults_add(one);
        json_decref(rules);
        json_decref(rule);
        if (error < 0)
            ks_reply(r, 400, ks_err_bad_request("%s", gf_error_last()));
        else
            ks_reply(r, 201, json_pack("{s:o}", "faults", ks_faults_list()));
    } else {
        ks_reply(r, 405, ks_err(405, "MethodNotAllowed", NULL, "use GET, POST or DELETE"));
    }
}

/* ---- discovery -------------------------------------------------------------------------- */

static void reply_doc(struct ks_req *r, json_t *doc)
{
    if (doc == NULL)
        reply_locked(r, 404,
                     ks_err(404, "NotFound", json_object(),
                            "the server could not find the requested resource"));
    else
        reply_locked(r, 200, doc);
}

/* kubectl asks for OpenAPI v2 in protobuf only to validate what v3 cannot
 * vouch for ("kind: List" files). A Document with no definitions makes it
 * skip client-side validation and leave it to the server, as v3 does. */
static void openapi_v2(struct ks_req *r)
{
    static const char doc[] = "\x0a\x03"
                              "2.0"
                              "\x12\x13\x0a\x0a"
                              "Kubernetes"
                              "\x12\x05"
                              "v1.32";
    const char *accept = ks_http_header(r->http, "Accept");

    if (accept == NULL || strstr(accept, "protobuf") == NULL)
        return reply_doc(r, ks_disc_openapi_v2());
    ks_store_unlock();
    ks_http_respond(r->conn, 200, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", doc,
                    sizeof(doc) - 1, NULL);
}

/* Discovery and OpenAPI paths; 1 when handled. */
static int handle_meta(struct ks_req *r, char **seg, int n)
{
    if (n == 1 && strcmp(seg[0], "version") == 0)
        return ks_reply(r, 200, ks_disc_version()), 1;
    if (n == 1 &&
        (!strcmp(seg[0], "healthz") || !strcmp(seg[0], "readyz") || !strcmp(seg[0], "livez"))) {
        ks_http_respond(r->conn, 200, "text/plain", "ok", 2, NULL);
        return 1;
    }
    ks_store_lock();
    if (n == 1 && strcmp(seg[0], "api") == 0)
        return reply_doc(r, ks_disc_api()), 1;
    if (n == 2 && strcmp(seg[0], "api") == 0)
        return reply_doc(r, ks_disc_resources("", seg[1])), 1;
    if (n == 1 && strcmp(seg[0], "apis") == 0)
        return reply_doc(r, ks_disc_apis()), 1;
    if (n == 2 && strcmp(seg[0], "apis") == 0)
        return reply_doc(r, ks_disc_group(seg[1])), 1;
    if (n == 3 && strcmp(seg[0], "apis") == 0)
        return reply_doc(r, ks_disc_resources(seg[1], seg[2])), 1;
    if (n >= 2 && strcmp(seg[0], "openapi") == 0 && strcmp(seg[1], "v2") == 0)
        return openapi_v2(r), 1;
    if (n == 2 && strcmp(seg[0], "openapi") == 0 && strcmp(seg[1], "v3") == 0)
        return reply_doc(r, ks_disc_openapi_root()), 1;
    if (n == 4 && strcmp(seg[0], "openapi") == 0 && strcmp(seg[2], "api") == 0)
        return reply_doc(r, ks_disc_openapi_gv("", seg[3])), 1;
    if (n == 5 && strcmp(seg[0], "openapi") == 0 && strcmp(seg[2], "apis") == 0)
        return reply_doc(r, ks_disc_openapi_gv(seg[3], seg[4])), 1;
    ks_store_unlock();
    return 0;
}

/* ---- resources -------------------------------------------------------------------------- */

static int lookup_type(struct ks_req *r, const char *group, const char *version,
                       const char *resource)
{
    ks_store_lock();
    const struct ks_type *t = ks_disc_find(group, version, resource);
    if (t != NULL)
        r->t = *t;
    ks_store_unlock();
    return t != NULL ? 0 : -1;
}

static int copy_seg(char *dst, size_t n, const char *s)
{
    if (strlen(s) >= n)
        return -1;
    snprintf(dst, n, "%s", s);
    return 0;
}

/* Fill r->t/ns/name/sub from the segments after /api/v1 or /apis/G/V. */
static int route(struct ks_req *r, const char *group, const char *version, char **rest, int n)
{
    int ns_form = n >= 3 && strcmp(rest[0], "namespaces") == 0 &&
                  lookup_type(r, group, version, rest[2]) == 0 && r->t.namespaced;
    if (ns_form) {
        if (n > 5 || copy_seg(r->ns, sizeof(r->ns), rest[1]) < 0)
            return -1;
        rest += 2;
        n -= 2;
    } else if (n < 1 || n > 3 || lookup_type(r, group, version, rest[0]) < 0) {
        return -1;
    }
    if ((n >= 2 && copy_seg(r->name, sizeof(r->name), rest[1]) < 0) ||
        (n >= 3 && copy_seg(r->sub, sizeof(r->sub), rest[2]) < 0))
        return -1;
    if (r->sub[0] != '\0' && !(strcmp(r->sub, "status") == 0 && r->t.has_status) &&
        !(strcmp(r->sub, "scale") == 0 && r->t.has_scale) &&
        !(strcmp(r->sub, "finalize") == 0 && strcmp(r->t.key, "namespaces") == 0))
        return -1;
    if (r->t.namespaced && !ns_form && r->name[0] != '\0')
        return -1;
    return 0;
}

/* kubectl's typed commands send protobuf: turn the body into JSON in place. */
static int protobuf_to_json(struct ks_http_req *req)
{
    const char *ct = ks_http_header(req, "Content-Type");
    json_t *obj;
    int error;

    if (ct == NULL || req->body_len == 0 || strstr(ct, "protobuf") == NULL)
        return 0;
    if ((error = ks_protobuf_decode(&obj, (const unsigned char *)req->body, req->body_len)) < 0)
        return error;
    free(req->body);
    req->body = json_dumps(obj, JSON_COMPACT);
    req->body_len = strlen(req->body);
    json_decref(obj);
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, "Content-Type") == 0) {
            free(req->headers[i].value);
            req->headers[i].value = strdup("application/json");
        }
    return 0;
}

static void dispatch(struct ks_req *r)
{
    const char *m = r->http->method, *verb = verb_of(r);

    if (strcmp(verb, "get") == 0)
        ks_reads_get(r);
    else if (strcmp(verb, "list") == 0)
        ks_reads_list(r);
    else if (strcmp(verb, "watch") == 0)
        ks_reads_watch(r);
    else if (strcmp(verb, "create") == 0 && r->name[0] == '\0')
        ks_writes_create(r);
    else if (strcmp(verb, "update") == 0 && r->name[0] != '\0')
        ks_writes_update(r);
    else if (strcmp(verb, "patch") == 0 && r->name[0] != '\0')
        ks_writes_patch(r);
    else if (strcmp(verb, "delete") == 0 && r->sub[0] == '\0')
        ks_writes_delete(r);
    else if (strcmp(verb, "deletecollection") == 0)
        ks_writes_delete_collection(r);
    else
        ks_reply_status(r, ks_err_method(strcmp(m, "POST") == 0 ? "create" : verb, &r->t));
}

static int split(char *path, char **seg)
{
    int n = 0;
    char *save = NULL;
    for (char *s = strtok_r(path, "/", &save); s != NULL; s = strtok_r(NULL, "/", &save)) {
        if (n == MAX_SEGS)
            return -1;
        seg[n++] = s;
    }
    return n;
}

static void handle_resource(struct ks_req *r, char **seg, int n)
{
    int rc;
    if (strcmp(seg[0], "api") == 0 && n >= 3)
        rc = route(r, "", seg[1], seg + 2, n - 2);
    else if (strcmp(seg[0], "apis") == 0 && n >= 4)
        rc = route(r, seg[1], seg[2], seg + 3, n - 3);
    else
        rc = -1;
    if (rc < 0)
        return not_found(r);
    const char *accept = ks_http_header(r->http, "Accept");
    r->table = accept != NULL && strstr(accept, "as=Table") != NULL;
    if (inject_fault(r))
        return;
    if (protobuf_to_json(r->http) < 0)
        return ks_reply(r, 415, ks_err(415, "UnsupportedMediaType", NULL, "%s", gf_error_last()));
    dispatch(r);
}

void ks_handle(struct ks_http_conn *conn, struct ks_http_req *req, void *arg)
{
    struct ks_req r;
    char *seg[MAX_SEGS], path[4096];
    int n;

    memset(&r, 0, sizeof(r));
    r.conn = conn;
    r.http = req;
    gf_log_debug("KUBESIM-REQUEST", "method=%s path=%s", req->method, req->path);
    if (!authorized(req))
        return ks_reply(&r, 401, ks_err(401, "Unauthorized", NULL, "Unauthorized"));
    snprintf(path, sizeof(path), "%s", req->path);
    if ((n = split(path, seg)) <= 0)
        return not_found(&r);
    if (n == 2 && strcmp(seg[0], "kubesim") == 0 && strcmp(seg[1], "faults") == 0)
        return handle_faults(&r);
    if (handle_meta(&r, seg, n))
        return;
    handle_resource(&r, seg, n);
}
