/* writes.c -- create, update, patch (JSON, merge, strategic, apply), delete and deletecollection */
#include "apierr.h"
#include "objects.h"
#include "patch.h"
#include "request.h"
#include "select.h"
#include "ssa.h"
#include "store.h"

#include "gitfleet/error.h"
#include "gitfleet/yaml_parse.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CRD_KEY "customresourcedefinitions.apiextensions.k8s.io"

static void send_locked(struct ks_req *r, int code, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    ks_store_unlock();
    ks_http_respond(r->conn, code, "application/json", text, strlen(text), NULL);
    free(text);
}

/* ---- request options -------------------------------------------------------------------- */

static int param_is(struct ks_req *r, const char *name, const char *value)
{
    const char *v = ks_http_param(r->http, name);
    return v != NULL && strcmp(v, value) == 0;
}

static int strict(struct ks_req *r)
{
    return param_is(r, "fieldValidation", "Strict");
}

static int dry_run(struct ks_req *r)
{
    return ks_http_param(r->http, "dryRun") != NULL;
}

/* fieldManager, else the User-Agent up to its first '/' (printable, <= 128 bytes). */
static void manager_name(struct ks_req *r, char *buf, size_t n)
{
    const char *fm = ks_http_param(r->http, "fieldManager");
    const char *ua = ks_http_header(r->http, "User-Agent");
    size_t o = 0;

    if (fm != NULL && fm[0] != '\0') {
        snprintf(buf, n, "%s", fm);
        return;
    }
    for (; ua != NULL && *ua != '\0' && *ua != '/' && o + 1 < n && o < 128; ua++)
        if (isprint((unsigned char)*ua))
            buf[o++] = *ua;
    buf[o] = '\0';
    if (o == 0)
        snprintf(buf, n, "unknown");
}

struct write_ctx {
    char manager[160];
    char api_version[300];
    char now[32];
    struct ks_ssa_opts ssa;
};

static void default_ports(json_t *obj, const void *type)
{
    ks_obj_default_ports(type, obj);
}

static void write_ctx_init(struct write_ctx *w, struct ks_req *r)
{
    manager_name(r, w->manager, sizeof(w->manager));
    ks_disc_api_version(w->api_version, sizeof(w->api_version), &r->t);
    ks_obj_now(w->now, sizeof(w->now));
    w->ssa.group = r->t.group;
    w->ssa.kind = r->t.kind;
    w->ssa.api_version = w->api_version;
    w->ssa.manager = w->manager;
    w->ssa.subresource = strcmp(r->sub, "status") == 0 ? "status" : NULL;
    w->ssa.now = w->now;
    w->ssa.force = param_is(r, "force", "true");
    w->ssa.defaults = default_ports;
    w->ssa.defaults_arg = &r->t;
}

/* The request body as JSON (YAML too for apply patches); NULL and *err set. */
static json_t *parse_body(struct ks_req *r, int yaml_ok, json_t **err)
{
    json_error_t jerr;
    json_t *body = json_loadb(r->http->body, r->http->body_len, 0, &jerr);

    if (body == NULL && yaml_ok) {
        if (gf_yaml_parse_one(&body, r->http->body, r->http->body_len, "body", NULL) < 0) {
            *err = ks_err_bad_request("error decoding YAML: %s", gf_error_last());
            return NULL;
        }
    }
    if (body == NULL)
        *err = ks_err_bad_request("the body of the request could not be decoded: line %d: %s",
                                  jerr.line, jerr.text);
    return body;
}

/* ---- committing ------------------------------------------------------------------------- */

static int same_but_version(const json_t *a, const json_t *b)
{
    json_t *x = json_deep_copy(a), *y = json_deep_copy(b);
    json_object_del(json_object_get(x, "metadata"), "resourceVersion");
    json_object_del(json_object_get(y, "metadata"), "resourceVersion");
    int eq = json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return eq;
}

static void crd_changed(const json_t *before, json_t *after)
{
    if (before != NULL)
        ks_disc_remove_crd((json_t *)before);
    if (after != NULL)
        ks_disc_add_crd(after);
}

/* Store `obj` (stolen) over `live` and answer. `applied`: managedFields are done. */
static void commit(struct ks_req *r, struct write_ctx *w, const json_t *live, json_t *obj,
                   int applied, int code)
{
    ks_obj_update_meta(&r->t, obj, live);
    if (!applied)
        ks_ssa_update(obj, live, &w->ssa);
    if (same_but_version(obj, live) || dry_run(r)) {
        json_t *out = same_but_version(obj, live) ? json_incref((json_t *)live) : obj;
        if (out != obj)
            json_decref(obj);
        if (strcmp(r->sub, "scale") == 0)
            return send_locked(r, code, ks_reads_scale(out, &r->t)), json_decref(out);
        return send_locked(r, code, out);
    }
    json_t *hold = json_incref((json_t *)live);
    json_t *keep = json_incref(obj);
    json_t *stored = ks_obj_store(&r->t, obj);
    if (stored != NULL && strcmp(r->t.key, CRD_KEY) == 0)
        crd_changed(hold, stored);
    json_t *out = keep;
    if (stored != NULL) {
        out = json_incref(stored);
        json_decref(keep);
    }
    json_decref(hold);
    if (strcmp(r->sub, "scale") == 0) {
        send_locked(r, code, ks_reads_scale(out, &r->t));
        json_decref(out);
        return;
    }
    send_locked(r, code, out);
}

static void create_new(struct ks_req *r, struct write_ctx *w, json_t *obj, int applied)
{
    json_t *err;
    const char *name = ks_obj_meta(obj, "name");

    if ((err = ks_obj_check_namespace(&r->t, r->ns, name)) != NULL) {
        json_decref(obj);
        return send_locked(r, ks_err_code(err), err);
    }
    if (ks_store_get(r->t.key, r->ns, name) != NULL) {
        err = ks_err_exists(&r->t, name);
        json_decref(obj);
        return send_locked(r, 409, err);
    }
    ks_obj_create_meta(&r->t, obj);
    if (strcmp(r->t.key, CRD_KEY) == 0 && ks_disc_add_crd(obj) < 0) {
        json_t *causes = json_pack(
            "[o]", ks_cause("FieldValueRequired", "spec", "Required value", NULL, gf_error_last()));
        err = ks_err_invalid(&r->t, name, causes);
        json_decref(obj);
        return send_locked(r, 422, err);
    }
    if (!applied)
        ks_ssa_update(obj, NULL, &w->ssa);
    if (dry_run(r))
        return send_locked(r, 201, obj);
    json_t *stored = ks_obj_store(&r->t, obj);
    send_locked(r, 201, json_incref(stored));
}

void ks_writes_create(struct ks_req *r)
{
    struct write_ctx w;
    json_t *err = NULL, *obj;

    write_ctx_init(&w, r);
    if ((obj = parse_body(r, 0, &err)) == NULL)
        return ks_reply_status(r, err);
    ks_store_lock();
    if ((err = ks_obj_validate(&r->t, obj, r->ns, NULL, strict(r))) != NULL) {
        json_decref(obj);
        return send_locked(r, ks_err_code(err), err);
    }
    create_new(r, &w, obj, 0);
}

/* ---- update ----------------------------------------------------------------------------- */

static json_t *stale_check(struct ks_req *r, const json_t *live, const json_t *obj)
{
    const char *want = ks_obj_meta(obj, "resourceVersion");
    if (want[0] != '\0' && strcmp(want, ks_obj_meta(live, "resourceVersion")) != 0)
        return ks_err_stale(&r->t, r->name);
    return NULL;
}

/* The object a subresource write produces from `live` and the sent `body`. */
static json_t *apply_subresource(struct ks_req *r, const json_t *live, const json_t *body)
{
    json_t *obj = json_deep_copy(live);
    if (strcmp(r->sub, "status") == 0) {
        json_t *st = json_object_get(body, "status");
        if (st != NULL)
            json_object_set(obj, "status", st);
        else
            json_object_del(obj, "status");
    } else if (strcmp(r->sub, "scale") == 0) {
        json_t *rep = json_object_get(json_object_get(body, "spec"), "replicas");
        json_t *spec = json_object_get(obj, "spec");
        if (json_is_integer(rep) && json_is_object(spec))
            json_object_set(spec, "replicas", rep);
    } else if (strcmp(r->sub, "finalize") == 0) {
        json_t *fin = json_object_get(json_object_get(body, "spec"), "finalizers");
        json_t *spec = json_object_get(obj, "spec");
        if (json_is_object(spec))
            json_object_set_new(spec, "finalizers", fin ? json_incref(fin) : json_array());
    }
    return obj;
}

/* A main-resource write keeps the live status. */
static void keep_status(struct ks_req *r, json_t *obj, const json_t *live)
{
    json_t *st = json_object_get(live, "status");
    if (!r->t.has_status || strcmp(r->t.key, "namespaces") == 0)
        return;
    if (st != NULL)
        json_object_set(obj, "status", st);
    else
        json_object_del(obj, "status");
}

void ks_writes_update(struct ks_req *r)
{
    struct write_ctx w;
    json_t *err = NULL, *body, *live, *obj;

    write_ctx_init(&w, r);
    if ((body = parse_body(r, 0, &err)) == NULL)
        return ks_reply_status(r, err);
    ks_store_lock();
    live = ks_store_get(r->t.key, r->ns, r->name);
    if (live == NULL)
        err = ks_err_not_found(&r->t, r->name);
    else if (r->sub[0] == '\0')
        err = ks_obj_validate(&r->t, body, r->ns, r->name, strict(r));
    if (err == NULL)
        err = stale_check(r, live, body);
    if (err != NULL) {
        json_decref(body);
        return send_locked(r, ks_err_code(err), err);
    }
    if (r->sub[0] != '\0') {
        obj = apply_subresource(r, live, body);
        json_decref(body);
    } else {
        obj = body;
        keep_status(r, obj, live);
    }
    commit(r, &w, live, obj, 0, 200);
}

/* ---- patch ------------------------------------------------------------------------------ */

static void media_type(char *buf, size_t n, const char *ct)
{
    size_t len = ct != NULL ? strcspn(ct, ";") : 0;
    snprintf(buf, n, "%.*s", (int)len, ct != NULL ? ct : "");
    while (len > 0 && buf[len - 1] == ' ')
        buf[--len] = '\0';
}

static json_t *unsupported_media(void)
{
    return ks_err(415, "UnsupportedMediaType", NULL,
                  "the body of the request was in an unknown format - accepted media types "
                  "include: application/json-patch+json, application/merge-patch+json, "
                  "application/apply-patch+yaml");
}

/* Run a non-apply patch of type `mt` on `base`; NULL and *err on failure. */
static json_t *run_patch(struct ks_req *r, const char *mt, const json_t *base, json_t *patch,
                         json_t **err)
{
    json_t *out = NULL;
    int rc = 0;

    if (strcmp(mt, "application/json-patch+json") == 0)
        rc = ks_patch_json(&out, base, patch);
    else if (strcmp(mt, "application/merge-patch+json") == 0)
        out = ks_patch_merge(base, patch);
    else if (strcmp(mt, "application/strategic-merge-patch+json") == 0 && !r->t.crd)
        rc = ks_patch_strategic(&out, base, patch, r->t.group,
                                strcmp(r->sub, "scale") == 0 ? "Scale" : r->t.kind);
    else
        *err = unsupported_media();
    if (rc < 0)
        *err = ks_err(422, "Invalid", NULL, "%s", gf_error_last());
    return *err != NULL ? NULL : out;
}

static json_t *apply_checks(struct ks_req *r, const json_t *body, const char *av)
{
    const char *got = json_string_value(json_object_get(body, "apiVersion"));
    const char *kind = json_string_value(json_object_get(body, "kind"));

    if (ks_http_param(r->http, "fieldManager") == NULL)
        return ks_err(422, "Invalid",
                      json_pack("{s:s,s:s,s:[{s:s,s:s,s:s}]}", "group", "meta.k8s.io", "kind",
                                "PatchOptions", "causes", "reason", "FieldValueRequired", "message",
                                "Required value: is required for apply patch", "field",
                                "fieldManager"),
                      "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: "
                      "is required for apply patch");
    if (!json_is_object(body))
        return ks_err_bad_request("an apply patch must be an object");
    if (got != NULL && strcmp(got, av) != 0 && r->sub[0] != 's')
        return ks_err_bad_request("Incorrect version specified in apply patch. Specified patch "
                                  "version: %s, expected: %s",
                                  got, av);
    if (kind != NULL && strcmp(kind, r->t.kind) != 0 && r->sub[0] == '\0')
        return ks_err_bad_request("Incorrect kind specified in apply patch. Specified patch "
                                  "kind: %s, expected: %s",
                                  kind, r->t.kind);
    if (json_object_get(json_object_get(body, "metadata"), "managedFields") != NULL)
        return ks_err_bad_request("metadata.managedFields must be nil");
    return NULL;
}

static void do_apply(struct ks_req *r, struct write_ctx *w, json_t *body)
{
    json_t *err, *out = NULL, *live = ks_store_get(r->t.key, r->ns, r->name);

    if ((err = apply_checks(r, body, w->api_version)) != NULL ||
        (err = ks_obj_validate(&r->t, body, r->ns, r->name, strict(r))) != NULL) {
        json_decref(body);
        return send_locked(r, ks_err_code(err), err);
    }
    if (live == NULL && r->sub[0] != '\0') {
        json_decref(body);
        return send_locked(r, 404, ks_err_not_found(&r->t, r->name));
    }
    int rc = ks_ssa_apply(&out, &err, live, body, &w->ssa);
    json_decref(body);
    if (rc < 0)
        return send_locked(r, ks_err_code(err), err);
    if (live == NULL)
        return create_new(r, w, out, 1);
    commit(r, w, live, out, 1, 200);
}

static json_t *patch_rv_check(struct ks_req *r, const json_t *live, const json_t *patch)
{
    const char *want =
        json_string_value(json_object_get(json_object_get(patch, "metadata"), "resourceVersion"));
    if (want != NULL && strcmp(want, ks_obj_meta(live, "resourceVersion")) != 0)
        return ks_err_stale(&r->t, r->name);
    return NULL;
}

void ks_writes_patch(struct ks_req *r)
{
    struct write_ctx w;
    char mt[128];
    json_t *err = NULL, *patch, *live, *out;

    write_ctx_init(&w, r);
    media_type(mt, sizeof(mt), ks_http_header(r->http, "Content-Type"));
    int apply = strcmp(mt, "application/apply-patch+yaml") == 0;
    if ((patch = parse_body(r, apply, &err)) == NULL)
        return ks_reply_status(r, err);
    ks_store_lock();
    if (apply)
        return do_apply(r, &w, patch);
    live = ks_store_get(r->t.key, r->ns, r->name);
    if (live == NULL)
        err = ks_err_not_found(&r->t, r->name);
    else
        err = patch_rv_check(r, live, patch);
    json_t *base = err == NULL && strcmp(r->sub, "scale") == 0 ? ks_reads_scale(live, &r->t)
                                                               : json_incref(live);
    out = err == NULL ? run_patch(r, mt, base, patch, &err) : NULL;
    json_decref(base);
    json_decref(patch);
    if (err == NULL && r->sub[0] == '\0')
        err = ks_obj_validate(&r->t, out, r->ns, r->name, strict(r));
    if (err != NULL) {
        json_decref(out);
        return send_locked(r, ks_err_code(err), err);
    }
    if (r->sub[0] != '\0') {
        json_t *obj = apply_subresource(r, live, out);
        json_decref(out);
        out = obj;
    } else {
        keep_status(r, out, live);
    }
    commit(r, &w, live, out, 0, 200);
}

/* ---- delete ----------------------------------------------------------------------------- */

static const char *propagation(struct ks_req *r, json_t *opts)
{
    const char *p = json_string_value(json_object_get(opts, "propagationPolicy"));
    if (p == NULL)
        p = ks_http_param(r->http, "propagationPolicy");
    if (p == NULL && json_is_true(json_object_get(opts, "orphanDependents")))
        p = "Orphan";
    return p;
}

static json_t *precondition_check(struct ks_req *r, const json_t *live, json_t *opts)
{
    json_t *pre = json_object_get(opts, "preconditions");
    const char *uid = json_string_value(json_object_get(pre, "uid"));
    const char *rv = json_string_value(json_object_get(pre, "resourceVersion"));

    if (uid != NULL && strcmp(uid, ks_obj_meta(live, "uid")) != 0)
        return ks_err(409, "Conflict",
                      json_pack("{s:s,s:s}", "name", r->name, "kind", r->t.resource),
                      "Operation cannot be fulfilled on %s \"%s\": Precondition failed: UID in "
                      "precondition: %s, UID in object meta: %s",
                      r->t.key, r->name, uid, ks_obj_meta(live, "uid"));
    if (rv != NULL && strcmp(rv, ks_obj_meta(live, "resourceVersion")) != 0)
        return ks_err_stale(&r->t, r->name);
    return NULL;
}

void ks_writes_delete(struct ks_req *r)
{
    json_t *opts =
        r->http->body_len > 0 ? json_loadb(r->http->body, r->http->body_len, 0, NULL) : NULL;
    json_t *err = NULL, *live;

    ks_store_lock();
    live = ks_store_get(r->t.key, r->ns, r->name);
    if (live == NULL)
        err = ks_err_not_found(&r->t, r->name);
    else
        err = precondition_check(r, live, opts);
    if (err != NULL) {
        json_decref(opts);
        return send_locked(r, ks_err_code(err), err);
    }
    json_t *last =
        dry_run(r) ? json_incref(live) : ks_obj_delete(&r->t, live, propagation(r, opts));
    json_decref(opts);
    send_locked(r, 200, last);
}

void ks_writes_delete_collection(struct ks_req *r)
{
    json_t *opts =
        r->http->body_len > 0 ? json_loadb(r->http->body, r->http->body_len, 0, NULL) : NULL;
    const char *ls = ks_http_param(r->http, "labelSelector");
    const char *fs = ks_http_param(r->http, "fieldSelector");
    size_t i;
    json_t *it;

    ks_store_lock();
    json_t *all = ks_store_list(r->t.key, r->ns[0] ? r->ns : NULL, NULL);
    json_array_foreach(all, i, it)
    {
        if (ks_select_labels(ls, it) > 0 && ks_select_fields(fs, it) > 0 && !dry_run(r))
            json_decref(ks_obj_delete(&r->t, it, propagation(r, opts)));
    }
    json_decref(all);
    json_decref(opts);
    send_locked(r, 200,
                json_pack("{s:s,s:s,s:{},s:s}", "kind", "Status", "apiVersion", "v1", "metadata",
                          "status", "Success"));
}
