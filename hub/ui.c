/* ui.c -- the dashboard (issue 14): serves its embedded files and the compact views the page reads
 */
#include "ui.h"

#include "gitfleet/error.h"
#include "gitfleet/wire.h"
#include "http.h"
#include "hub.h"
#include "rollouts.h"
#include "status.h"

#include <stdio.h>
#include <string.h>

int hub_ui_is_page(const char *path)
{
    return strcmp(path, "/") == 0 || strcmp(path, "/ui") == 0 || strncmp(path, "/ui/", 4) == 0;
}

static const struct hub_ui_asset *find_asset(const char *name)
{
    for (size_t i = 0; i < hub_ui_assets_count; i++)
        if (strcmp(hub_ui_assets[i].name, name) == 0)
            return &hub_ui_assets[i];
    return NULL;
}

/* The page loads only its own files and talks only to this hub. */
static void add_security_headers(hub_http_call *c)
{
    hub_http_add_header(c, "Content-Security-Policy",
                        "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
                        "base-uri 'none'; form-action 'none'");
    hub_http_add_header(c, "X-Content-Type-Options", "nosniff");
    hub_http_add_header(c, "Referrer-Policy", "no-referrer");
    hub_http_add_header(c, "X-Frame-Options", "DENY");
}

void hub_ui_serve(hub_http_call *c)
{
    const char *path = hub_http_path(c);
    const char *method = hub_http_method(c);
    const struct hub_ui_asset *a;

    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        hub_http_add_header(c, "Allow", "GET, HEAD");
        hub_http_reply_status(c, 405, GF_EUNSUPPORTED, "%s is not allowed on %s (allowed: GET)",
                              method, path);
        return;
    }
    if (strncmp(path, "/ui/assets/", 11) == 0)
        a = find_asset(path + 11);
    else
        a = find_asset("index.html");
    if (a == NULL) {
        hub_http_reply_status(c, 404, GF_ENOTFOUND, "no dashboard file %s", path);
        return;
    }
    const char *match = hub_http_header(c, "If-None-Match");
    add_security_headers(c);
    /* Revalidated on every load (cheap: 304), so a new hub's page is used at once. */
    hub_http_add_header(c, "Cache-Control", "no-cache");
    hub_http_add_header(c, "ETag", a->etag);
    if (match && strcmp(match, a->etag) == 0)
        hub_http_reply(c, 304, a->type, "", 0);
    else
        hub_http_reply(c, 200, a->type, a->data, a->len);
}

/* OutOfSync > Unknown > Synced, over a cluster's apps. */
static const char *cluster_sync(const json_t *apps, int *out_of_sync, int *degraded)
{
    int unknown = 0;
    size_t i;
    json_t *app;

    *out_of_sync = *degraded = 0;
    json_array_foreach(apps, i, app)
    {
        const char *sync = json_string_value(json_object_get(app, "sync"));
        const char *health = json_string_value(json_object_get(app, "health"));
        if (sync && strcmp(sync, "OutOfSync") == 0)
            (*out_of_sync)++;
        else if (sync == NULL || strcmp(sync, "Synced") != 0)
            unknown++;
        if (health && strcmp(health, "Healthy") != 0)
            (*degraded)++;
    }
    return *out_of_sync ? "OutOfSync" : unknown ? "Unknown" : "Synced";
}

static json_t *labels_of(const struct hub_view *v, const char *cluster)
{
    const struct hub_cluster *c = v->fleet ? hub_fleet_cluster(v->fleet, cluster) : NULL;

    /* The pass's fleet is immutable: share its labels, do not copy them. */
    return c && c->labels ? json_incref(c->labels) : json_object();
}

/* "a,b,c" as a set (a JSON object), at most 256 names. */
static int parse_names(const char *names, json_t **out)
{
    json_t *set = json_object();
    char name[256];

    for (const char *p = names; *p;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof(name) || json_object_size(set) >= 256) {
            json_decref(set);
            return gf_error_set(GF_EINVAL,
                                "names: expected at most 256 cluster names, comma-separated");
        }
        snprintf(name, sizeof(name), "%.*s", (int)len, p);
        json_object_set_new(set, name, json_false());
        p += len + (p[len] == ',');
    }
    *out = set;
    return 0;
}

/* Below this many names, one status query each; above, one of the whole
 * fleet, filtered (a one-cluster query still lists every cluster). */
#define NAMES_ONE_BY_ONE 8

/* The status of the clusters in `set` (values become true when found), in
 * one document. */
static int status_of_names(struct hub *h, json_t *set, json_t **out)
{
    json_t *status = NULL, *one, *row, *kept;
    const char *name;
    json_t *seen;
    size_t i;
    int error = 0;

    if (json_object_size(set) > NAMES_ONE_BY_ONE) {
        if ((error = hub_status_fleet(h, NULL, 0, &status)) < 0)
            return error;
        kept = json_array();
        json_array_foreach(json_object_get(status, "clusters"), i, row)
        {
            const char *n = json_string_value(json_object_get(row, "name"));
            if (n && json_object_get(set, n)) {
                json_object_set_new(set, n, json_true());
                json_array_append(kept, row);
            }
        }
        json_object_set_new(status, "clusters", kept);
        *out = status;
        return 0;
    }
    json_object_foreach(set, name, seen)
    {
        if ((error = hub_status_fleet(h, name, 0, &one)) == GF_ENOTFOUND)
            continue;
        if (error < 0)
            break;
        json_object_set_new(set, name, json_true());
        if (status == NULL) {
            status = one;
            continue;
        }
        json_array_extend(json_object_get(status, "clusters"), json_object_get(one, "clusters"));
        json_decref(one);
    }
    if (error < 0 && error != GF_ENOTFOUND) {
        json_decref(status);
        return error;
    }
    if (status == NULL) { /* every name is gone: the pass's members alone */
        struct hub_view v;
        hub_view_get(h, &v);
        status = json_pack("{s:s, s:[], s:[], s:s}", "revision", v.commit, "clusters", "problems",
                           "error", v.last_error);
        hub_view_put(&v);
    }
    *out = status;
    return status ? 0 : gf_error_set(GF_ENOMEM, "out of memory");
}

/* The names of `set` not found. */
static json_t *not_found(const json_t *set)
{
    json_t *removed = json_array(), *seen;
    const char *name;

    json_object_foreach((json_t *)set, name, seen)
    {
        if (!json_is_true(seen))
            json_array_append_new(removed, json_string(name));
    }
    return removed;
}

int hub_ui_fleet(struct hub *h, const char *names, json_t **out)
{
    json_t *status = NULL, *rows = json_array(), *row, *removed = NULL, *set = NULL;
    struct hub_view v;
    size_t i;
    int error;

    *out = NULL;
    if (names && (error = parse_names(names, &set)) == 0) {
        error = status_of_names(h, set, &status);
        removed = error == 0 ? not_found(set) : NULL;
        json_decref(set);
    } else if (names == NULL) {
        error = hub_status_fleet(h, NULL, 0, &status);
    }
    if (error < 0) {
        json_decref(rows);
        return error;
    }
    hub_view_get(h, &v);
    json_array_foreach(json_object_get(status, "clusters"), i, row)
    {
        const char *name = json_string_value(json_object_get(row, "name"));
        json_t *apps = json_object_get(row, "apps");
        int out_of_sync, unhealthy;
        const char *sync = cluster_sync(apps, &out_of_sync, &unhealthy);
        json_array_append_new(
            rows,
            json_pack("{s:s, s:O, s:s, s:O, s:O, s:O, s:O, s:O, s:o, s:I, s:i, s:i}", "name", name,
                      "health", json_object_get(row, "health"), "sync", sync, "connected",
                      json_object_get(row, "connected"), "joined", json_object_get(row, "joined"),
                      "lastSeen", json_object_get(row, "lastSeen"), "revision",
                      json_object_get(row, "revision"), "message", json_object_get(row, "message"),
                      "labels", labels_of(&v, name), "apps", (json_int_t)json_array_size(apps),
                      "outOfSync", out_of_sync, "degraded", unhealthy));
    }
    hub_view_put(&v);
    *out = json_pack("{s:O, s:O, s:O, s:o}", "revision", json_object_get(status, "revision"),
                     "error", json_object_get(status, "error"), "problems",
                     json_object_get(status, "problems"), "clusters", rows);
    if (*out && removed)
        json_object_set_new(*out, "removed", removed);
    else
        json_decref(removed);
    json_decref(status);
    return *out ? 0 : gf_error_set(GF_ENOMEM, "out of memory");
}

/* "appset" (and "rolling" when it rolls out step by step): the
 * ApplicationSet that generates `app`, so the app view can link its
 * rollout. Nothing for an app no ApplicationSet makes. */
static void add_appset_of(json_t *doc, struct hub *h, const char *app)
{
    struct hub_view v;

    hub_view_get(h, &v);
    for (size_t i = 0; v.fleet && i < v.fleet->n_apps; i++) {
        const struct hub_app *a = &v.fleet->apps[i];
        if (a->appset == NULL || strcmp(a->name, app) != 0)
            continue;
        const struct hub_fleet_appset *set = hub_fleet_appset(v.fleet, a->appset);
        json_object_set_new(doc, "appset", json_string(a->appset));
        json_object_set_new(doc, "rolling", json_boolean(set && set->strategy.rolling));
        break;
    }
    hub_view_put(&v);
}

int hub_ui_app(struct hub *h, const char *app, json_t **out)
{
    json_t *status = NULL, *rows = json_array(), *row, *a;
    struct hub_view v;
    size_t i, j;
    int error;

    *out = NULL;
    if ((error = hub_status_fleet(h, NULL, 0, &status)) < 0) {
        json_decref(rows);
        return error;
    }
    hub_view_get(h, &v);
    json_array_foreach(json_object_get(status, "clusters"), i, row)
    {
        const char *cluster = json_string_value(json_object_get(row, "name"));
        json_array_foreach(json_object_get(row, "apps"), j, a)
        {
            const char *name = json_string_value(json_object_get(a, "name"));
            if (name == NULL || strcmp(name, app) != 0)
                continue;
            json_t *r = json_deep_copy(a);
            json_object_del(r, "name");
            json_object_set_new(r, "cluster", json_string(cluster));
            json_object_set_new(r, "labels", labels_of(&v, cluster));
            json_array_append_new(rows, r);
        }
    }
    hub_view_put(&v);
    if (json_array_size(rows) == 0) {
        json_decref(rows);
        json_decref(status);
        return gf_error_set(GF_ENOTFOUND, "no cluster has an app named '%s'", app);
    }
    *out = json_pack("{s:s, s:O, s:o}", "app", app, "revision", json_object_get(status, "revision"),
                     "clusters", rows);
    json_decref(status);
    if (*out)
        add_appset_of(*out, h, app);
    return *out ? 0 : gf_error_set(GF_ENOMEM, "out of memory");
}

/* ---- rollouts ---- */

static void count_state(json_t *counts, const char *state)
{
    json_object_set_new(counts, state,
                        json_integer(json_integer_value(json_object_get(counts, state)) + 1));
}

/* A rollout's row for the list: all but its targets, which become counts
 * by state, over all and over the current step, and when the current
 * step's bake ends (a rollout of 10,000 clusters stays a few hundred
 * bytes). */
static json_t *rollout_row(const json_t *doc)
{
    json_t *row = json_deep_copy(doc), *states = json_object(), *step = json_object(), *t;
    json_int_t current = json_integer_value(json_object_get(doc, "step")), bake_ends = 0;
    const json_t *gate = json_array_get(json_object_get(doc, "stepGates"), (size_t)current - 1);
    json_int_t bake = json_integer_value(json_object_get(gate, "bakeMs"));
    size_t i;

    if (row == NULL || states == NULL || step == NULL) {
        json_decref(row);
        json_decref(states);
        json_decref(step);
        return NULL;
    }
    json_array_foreach(json_object_get(doc, "targets"), i, t)
    {
        const char *state = json_string_value(json_object_get(t, "state"));
        if (state == NULL)
            continue;
        count_state(states, state);
        if (json_integer_value(json_object_get(t, "step")) != current)
            continue;
        count_state(step, state);
        json_int_t since = json_integer_value(json_object_get(t, "healthySinceMs"));
        if (strcmp(state, "Baking") == 0 && since + bake > bake_ends)
            bake_ends = since + bake;
    }
    json_object_set_new(row, "targetCount",
                        json_integer((json_int_t)json_array_size(json_object_get(doc, "targets"))));
    json_object_set_new(row, "targetStates", states);
    json_object_set_new(row, "stepStates", step);
    if (json_is_true(json_object_get(doc, "promoted")))
        bake_ends = 0; /* the step's bake is skipped */
    json_object_set_new(row, "stepBakeEndsMs", json_integer(bake_ends));
    json_object_del(row, "targets");
    return row;
}

int hub_ui_rollouts(struct hub *h, json_t **out)
{
    int64_t now = gf_wire_now_ms();
    json_t *list = NULL, *rows, *doc;
    size_t i;
    int error;

    *out = NULL;
    if ((error = hub_rollouts_list_json(hub_get_rollouts(h), &list, now)) < 0)
        return error;
    rows = json_array();
    json_array_foreach(list, i, doc)
    {
        json_array_append_new(rows, rollout_row(doc));
    }
    json_decref(list);
    *out = json_pack("{s:I, s:o}", "nowMs", (json_int_t)now, "rollouts", rows);
    return *out ? 0 : gf_error_set(GF_ENOMEM, "out of memory");
}

int hub_ui_rollout(struct hub *h, const char *appset, json_t **out)
{
    int64_t now = gf_wire_now_ms();
    json_t *doc = NULL;
    int error;

    *out = NULL;
    if ((error = hub_rollouts_get_json(hub_get_rollouts(h), appset, &doc, now)) < 0)
        return error;
    *out = json_pack("{s:I, s:o}", "nowMs", (json_int_t)now, "rollout", doc);
    return *out ? 0 : gf_error_set(GF_ENOMEM, "out of memory");
}
