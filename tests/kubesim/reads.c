/* reads.c -- GET of one object, lists (selectors, limit/continue, Tables) and watch streams */
#include "apierr.h"
#include "objects.h"
#include "request.h"
#include "select.h"
#include "store.h"
#include "tables.h"

#include "gitfleet/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WATCH_DEFAULT_S 1800
#define BOOKMARK_S      10

static void send_locked(struct ks_req *r, int code, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    ks_store_unlock();
    ks_http_respond(r->conn, code, "application/json", text, strlen(text), NULL);
    free(text);
}

static void api_version(char *buf, size_t n, const struct ks_req *r)
{
    ks_disc_api_version(buf, n, &r->t);
}

json_t *ks_reads_scale(const json_t *obj, const struct ks_type *t)
{
    char sel[1024];
    json_t *spec = json_object_get(obj, "spec"), *md = json_object_get(obj, "metadata");
    json_t *rep = json_object_get(spec, "replicas");

    ks_select_format(sel, sizeof(sel), json_object_get(spec, "selector"));
    (void)t;
    return json_pack(
        "{s:s,s:s,s:{s:O*,s:O*,s:O*,s:O*,s:O*},s:{s:I},s:{s:I,s:s}}", "kind", "Scale", "apiVersion",
        "autoscaling/v1", "metadata", "name", json_object_get(md, "name"), "namespace",
        json_object_get(md, "namespace"), "uid", json_object_get(md, "uid"), "resourceVersion",
        json_object_get(md, "resourceVersion"), "creationTimestamp",
        json_object_get(md, "creationTimestamp"), "spec", "replicas",
        (json_int_t)(rep != NULL ? json_integer_value(rep) : 1), "status", "replicas",
        (json_int_t)json_integer_value(json_object_get(json_object_get(obj, "status"), "replicas")),
        "selector", sel);
}

void ks_reads_get(struct ks_req *r)
{
    ks_store_lock();
    json_t *obj = ks_store_get(r->t.key, r->ns, r->name);
    if (obj == NULL)
        return send_locked(r, 404, ks_err_not_found(&r->t, r->name));
    if (strcmp(r->sub, "scale") == 0)
        return send_locked(r, 200, ks_reads_scale(obj, &r->t));
    if (r->table) {
        json_t *items = json_pack("[O]", obj);
        json_t *meta = json_pack("{s:s}", "resourceVersion", ks_obj_meta(obj, "resourceVersion"));
        json_t *table = ks_table(&r->t, items, meta, 0);
        json_decref(items);
        json_decref(meta);
        return send_locked(r, 200, table);
    }
    send_locked(r, 200, json_incref(obj));
}

/* 1 when obj passes the request's selectors, 0 when not, <0 on a bad selector. */
static int matches(struct ks_req *r, const json_t *obj)
{
    int m = ks_select_labels(ks_http_param(r->http, "labelSelector"), obj);
    if (m <= 0)
        return m;
    return ks_select_fields(ks_http_param(r->http, "fieldSelector"), obj);
}

static const char *list_ns(struct ks_req *r)
{
    return r->t.namespaced && r->ns[0] != '\0' ? r->ns : NULL;
}

void ks_reads_list(struct ks_req *r)
{
    const char *lim = ks_http_param(r->http, "limit"), *cont = ks_http_param(r->http, "continue");
    long limit = lim != NULL ? atol(lim) : 0;
    json_t *items = json_array(), *it;
    size_t i, remaining = 0;
    char av[300], rv[32], key[1024] = "";

    ks_store_lock();
    json_t *all = ks_store_list(r->t.key, list_ns(r), cont != NULL && cont[0] ? cont : NULL);
    json_array_foreach(all, i, it)
    {
        int m = matches(r, it);
        if (m < 0) {
            json_decref(all);
            json_decref(items);
            return send_locked(r, 400, ks_err_bad_request("%s", gf_error_last()));
        }
        if (m == 0)
            continue;
        if (limit > 0 && (long)json_array_size(items) >= limit)
            remaining++;
        else
            json_array_append(items, it);
    }
    json_decref(all);
    snprintf(rv, sizeof(rv), "%llu", (unsigned long long)ks_store_rv());
    json_t *meta = json_pack("{s:s}", "resourceVersion", rv);
    if (remaining > 0) {
        ks_store_key(key, sizeof(key), json_array_get(items, json_array_size(items) - 1));
        json_object_set_new(meta, "continue", json_string(key));
        json_object_set_new(meta, "remainingItemCount", json_integer((json_int_t)remaining));
    }
    if (r->table) {
        const char *inc = ks_http_param(r->http, "includeObject");
        json_t *table = ks_table(&r->t, items, meta, inc != NULL && !strcmp(inc, "Object"));
        json_decref(items);
        json_decref(meta);
        return send_locked(r, 200, table);
    }
    api_version(av, sizeof(av), r);
    send_locked(r, 200,
                json_pack("{s:s,s:s,s:o,s:o}", "kind", r->t.list_kind, "apiVersion", av, "metadata",
                          meta, "items", items));
}

/* ---- watch ------------------------------------------------------------------------------ */

struct watch {
    struct ks_req *r;
    char *buf; /* pending event lines */
    size_t len, cap;
    int bookmarks;
};

static void add_line(struct watch *w, const char *type, json_t *obj)
{
    json_t *payload = obj;
    if (w->r->table && strcmp(type, "BOOKMARK") != 0 && strcmp(type, "ERROR") != 0) {
        json_t *items = json_pack("[O]", obj);
        json_t *meta = json_pack("{s:s}", "resourceVersion", ks_obj_meta(obj, "resourceVersion"));
        payload = ks_table(&w->r->t, items, meta, 0);
        json_decref(items);
        json_decref(meta);
    } else {
        json_incref(payload);
    }
    json_t *ev = json_pack("{s:s,s:o}", "type", type, "object", payload);
    char *text = json_dumps(ev, JSON_COMPACT);
    size_t n = strlen(text);
    if (w->len + n + 2 > w->cap) {
        w->cap = (w->len + n + 2) * 2;
        w->buf = realloc(w->buf, w->cap);
    }
    memcpy(w->buf + w->len, text, n);
    w->len += n;
    w->buf[w->len++] = '\n';
    free(text);
    json_decref(ev);
}

static int event_matches(struct watch *w, json_t *obj)
{
    const char *ns = list_ns(w->r);
    if (ns != NULL && strcmp(ks_obj_meta(obj, "namespace"), ns) != 0)
        return 0;
    return matches(w->r, obj) > 0;
}

/* An update that moves an object into or out of the selection is an ADDED
 * or a DELETED for this watcher, as the API server's watch cache does. */
static void add_event(struct watch *w, json_t *ev)
{
    json_t *obj = json_object_get(ev, "object"), *prev = json_object_get(ev, "previous");
    const char *type = json_string_value(json_object_get(ev, "type"));
    int now = event_matches(w, obj);

    if (prev == NULL) {
        if (now)
            add_line(w, type, obj);
        return;
    }
    int before = event_matches(w, prev);
    if (now)
        add_line(w, before ? "MODIFIED" : "ADDED", obj);
    else if (before)
        add_line(w, "DELETED", obj);
}

/* Unlock, send what is pending, lock again; -1 when the client is gone. */
static int flush(struct watch *w)
{
    int rc = 0;
    if (w->len == 0)
        return 0;
    ks_store_unlock();
    rc = ks_http_chunk(w->r->conn, w->buf, w->len);
    w->len = 0;
    ks_store_lock();
    return rc;
}

static void add_bookmark(struct watch *w, uint64_t rv)
{
    char av[300], rvs[32];
    api_version(av, sizeof(av), w->r);
    snprintf(rvs, sizeof(rvs), "%llu", (unsigned long long)rv);
    json_t *bm = json_pack("{s:s,s:s,s:{s:s}}", "kind", w->r->t.kind, "apiVersion", av, "metadata",
                           "resourceVersion", rvs);
    add_line(w, "BOOKMARK", bm);
    json_decref(bm);
}

static void add_initial(struct watch *w)
{
    json_t *all = ks_store_list(w->r->t.key, list_ns(w->r), NULL), *it;
    size_t i;
    json_array_foreach(all, i, it) if (event_matches(w, it)) add_line(w, "ADDED", it);
    json_decref(all);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Stream events until the deadline, the client leaving or "too old". */
static void watch_loop(struct watch *w, uint64_t from, double deadline)
{
    double last_sent = now_s();
    uint64_t oldest;
    size_t i;
    json_t *ev;

    for (;;) {
        json_t *evs = json_array();
        uint64_t last = ks_store_events(evs, from, w->r->t.key, &oldest);
        if (last == 0) {
            json_t *st = ks_err(410, "Expired", NULL, "too old resource version: %llu (%llu)",
                                (unsigned long long)from, (unsigned long long)oldest);
            add_line(w, "ERROR", st);
            json_decref(st);
            json_decref(evs);
            flush(w);
            return;
        }
        from = last;
        json_array_foreach(evs, i, ev) add_event(w, ev);
        json_decref(evs);
        double now = now_s();
        if (w->bookmarks && w->len == 0 && now - last_sent >= BOOKMARK_S)
            add_bookmark(w, from);
        if (w->len > 0)
            last_sent = now;
        if (w->bookmarks && now >= deadline)
            add_bookmark(w, from); /* where the client resumes its next watch */
        if (flush(w) < 0 || now >= deadline || ks_http_closing(w->r->conn))
            return;
        double left = deadline - now;
        ks_store_wait(from, left < 0.5 ? (int)(left * 1000) + 1 : 500);
    }
}

void ks_reads_watch(struct ks_req *r)
{
    const char *rv = ks_http_param(r->http, "resourceVersion");
    const char *to = ks_http_param(r->http, "timeoutSeconds");
    const char *bm = ks_http_param(r->http, "allowWatchBookmarks");
    struct watch w = {r, NULL, 0, 0, bm != NULL && strcmp(bm, "true") == 0};
    double deadline = now_s() + (to != NULL && atol(to) > 0 ? atol(to) : WATCH_DEFAULT_S);
    uint64_t from;

    if (ks_select_labels(ks_http_param(r->http, "labelSelector"), NULL) < 0 ||
        ks_select_fields(ks_http_param(r->http, "fieldSelector"), json_null()) < 0)
        return ks_reply_status(r, ks_err_bad_request("%s", gf_error_last()));
    if (ks_http_chunked_begin(r->conn, 200, "application/json") < 0)
        return;
    ks_store_lock();
    from = ks_store_rv();
    if (rv == NULL || rv[0] == '\0' || strcmp(rv, "0") == 0)
        add_initial(&w);
    else
        from = strtoull(rv, NULL, 10);
    watch_loop(&w, from, deadline);
    ks_store_unlock();
    free(w.buf);
    ks_http_chunked_end(r->conn);
}
