/* appops.c -- the hub's side of per-app operations: sync and rollback requests, their end, views */
#include "appops.h"

#include "appstate.h"
#include "gitfleet/error.h"
#include "gitfleet/log.h"
#include "gitfleet/wire.h"
#include "opreq.h"
#include "pin.h"
#include "selector.h"
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a request waits for its agent: long enough for an agent that
 * reconnects, short enough that a forgotten one does not run hours later. */
#define REQUEST_TTL_MS (15 * 60 * 1000)

int hub_appops_init(hub_store *store)
{
    int error;

    if ((error = hub_pin_init(store)) < 0 || (error = hub_appstate_init(store)) < 0 ||
        (error = hub_opreq_init(store)) < 0)
        return error;
    return 0;
}

/* ---- which clusters ---- */

/* The fleet's app `name` on `cluster`, or NULL. */
static const struct hub_app *fleet_app(const struct hub_fleet *fleet, const char *cluster,
                                       const char *name)
{
    for (size_t i = 0; fleet && i < fleet->n_apps; i++)
        if (strcmp(fleet->apps[i].cluster, cluster) == 0 && strcmp(fleet->apps[i].name, name) == 0)
            return &fleet->apps[i];
    return NULL;
}

static int listed(const json_t *clusters, const char *name)
{
    size_t i;
    json_t *c;

    json_array_foreach(clusters, i, c) if (json_string_value(c) &&
                                           strcmp(json_string_value(c), name) == 0) return 1;
    return 0;
}

/* targets()'s walk over the fleet, with the selector parsed. */
static int targets_matching(json_t *out, const struct hub_fleet *fleet,
                            const struct hub_principal *who, const char *app,
                            const json_t *clusters, const hub_selector *sel)
{
    size_t i;
    json_t *c;
    int error;

    if (clusters && !json_is_array(clusters))
        return gf_error_set(GF_EINVAL, "\"clusters\" must be an array of cluster names");
    json_array_foreach(clusters, i, c)
    {
        if (!json_is_string(c))
            return gf_error_set(GF_EINVAL, "\"clusters\" must be an array of cluster names");
        if (fleet_app(fleet, json_string_value(c), app) == NULL)
            return gf_error_set(GF_ENOTFOUND, "cluster '%s' has no app named '%s' in Git",
                                json_string_value(c), app);
    }
    for (size_t k = 0; fleet && k < fleet->n_clusters; k++) {
        const struct hub_cluster *cl = &fleet->clusters[k];
        const struct hub_app *a = fleet_app(fleet, cl->name, app);
        if (a == NULL || (json_array_size(clusters) > 0 && !listed(clusters, cl->name)) ||
            (sel && !hub_selector_matches(sel, cl->labels)))
            continue;
        if ((error = hub_auth_may_operate(who, a->project)) < 0)
            return error;
        json_array_append_new(out, json_string(cl->name));
    }
    return 0;
}

/* The clusters of the fleet that get `app` and that `body` targets, as a
 * JSON array of names; every app targeted must be `who`'s to operate. */
static int targets(json_t **out, const struct hub_fleet *fleet, const struct hub_principal *who,
                   const char *app, const json_t *body)
{
    const json_t *clusters = json_object_get(body, "clusters");
    const char *selector = json_string_value(json_object_get(body, "selector"));
    hub_selector *sel = NULL;
    int error;

    *out = json_array();
    if (selector && (error = hub_selector_parse(&sel, selector)) < 0)
        return error;
    error = targets_matching(*out, fleet, who, app, clusters, sel);
    hub_selector_free(sel);
    if (error == 0 && json_array_size(*out) == 0)
        error = gf_error_set(GF_ENOTFOUND, "no cluster%s%s gets an app named '%s' from Git",
                             selector ? " matching " : "", selector ? selector : "", app);
    return error;
}

/* ---- requests ---- */

static int flag(const json_t *body, const char *key)
{
    return json_is_true(json_object_get(body, key));
}

/* "resources": [{"group","kind","namespace","name"}], each with a kind and a name. */
static int check_resources(const json_t *resources)
{
    size_t i;
    json_t *r;

    if (resources == NULL)
        return 0;
    if (!json_is_array(resources))
        return gf_error_set(GF_EINVAL, "\"resources\" must be an array of objects");
    json_array_foreach(resources, i, r)
    {
        const char *kind = json_string_value(json_object_get(r, "kind"));
        const char *name = json_string_value(json_object_get(r, "name"));
        if (!json_is_object(r) || !kind || !kind[0] || !name || !name[0])
            return gf_error_set(GF_EINVAL, "resources[%zu]: needs \"kind\" and \"name\"", i);
    }
    return 0;
}

/* Store the request for one cluster and republish its bundle with it. */
static int request(hub *h, const struct hub_principal *who, struct hub_opreq *req, json_t *ops)
{
    int error;

    req->requested_ms = gf_wire_now_ms();
    req->expires_ms = req->requested_ms + REQUEST_TTL_MS;
    snprintf(req->requested_by, sizeof(req->requested_by), "%s", who->name);
    if ((error = hub_opreq_add(hub_get_store(h), req)) < 0)
        return error;
    gf_log_info("HUB-APP-OPERATION", "id=%s cluster=%s app=%s kind=%s dry_run=%d by=%s", req->id,
                req->cluster, req->app, req->kind, req->dry_run, req->requested_by);
    /* No bundle yet (a cluster never rendered): the request waits for the first. */
    if ((error = hub_republish(h, req->cluster)) < 0 && error != GF_ENOTFOUND)
        return error;
    json_array_append_new(ops,
                          json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:I}", "id", req->id,
                                    "cluster", req->cluster, "app", req->app, "kind", req->kind,
                                    "prune", req->prune, "dryRun", req->dry_run, "force",
                                    req->force, "expiresAt", (json_int_t)req->expires_ms));
    return 0;
}

int hub_appops_sync(hub *h, const struct hub_principal *who, const char *app, const json_t *body,
                    json_t **out)
{
    struct hub_view view;
    json_t *clusters = NULL, *ops = json_array(), *released = json_array(), *c;
    const json_t *resources = json_object_get(body, "resources");
    size_t i;
    int error, render = 0;

    *out = NULL;
    hub_view_get(h, &view);
    if ((error = check_resources(resources)) < 0 ||
        (error = targets(&clusters, view.fleet, who, app, body)) < 0)
        goto out;
    json_array_foreach(clusters, i, c)
    {
        struct hub_opreq req = {.resources = resources,
                                .prune = flag(body, "prune"),
                                .dry_run = flag(body, "dryRun"),
                                .force = flag(body, "force")};
        struct hub_pin pin;
        int was_pinned = 0, pinned;
        snprintf(req.cluster, sizeof(req.cluster), "%s", json_string_value(c));
        snprintf(req.app, sizeof(req.app), "%s", app);
        snprintf(req.kind, sizeof(req.kind), "sync");
        /* A sync goes back to Git: it ends a rollback, and a rollout's hold
         * (Argo CD: apps a RollingSync step does not reach are synced by
         * hand). A dry run changes nothing. */
        pinned = hub_pin_lookup(hub_get_store(h), req.cluster, app, &pin) == 0;
        if (!req.dry_run && pinned &&
            (error = hub_pin_release(hub_get_store(h), req.cluster, app, NULL, &was_pinned)) < 0)
            goto out;
        if (was_pinned) {
            json_array_append(released, c);
            gf_log_info("HUB-PIN-RELEASED", "cluster=%s app=%s holder=%s reason=\"sync\"",
                        req.cluster, app, pin.holder);
            /* An app held off the cluster is in no stored bundle: a render brings it. */
            render |= pin.hash[0] == '\0';
        }
        if ((error = request(h, who, &req, ops)) < 0)
            goto out;
    }
    *out = json_pack("{s:s, s:O, s:O}", "app", app, "operations", ops, "released", released);
    if (render)
        hub_sync_now(h, 0, NULL);
out:
    json_decref(clusters);
    json_decref(ops);
    json_decref(released);
    hub_view_put(&view);
    return error;
}

/* What the agent of `cluster` reports as `app`'s synced state ("" unknown). */
static void reported_hash(hub *h, const char *cluster, const char *app, char out[65])
{
    json_t *report = NULL, *a;
    size_t i;

    out[0] = '\0';
    if ((report = hub_reports_get(hub_get_reports(h), cluster)) == NULL)
        return;
    json_array_foreach(json_object_get(report, "apps"), i, a)
    {
        const char *name = json_string_value(json_object_get(a, "name"));
        const char *synced = json_string_value(json_object_get(a, "syncedHash"));
        if (name && strcmp(name, app) == 0 && synced)
            snprintf(out, 65, "%s", synced);
    }
    json_decref(report);
}

int hub_appops_rollback(hub *h, const struct hub_principal *who, const char *app,
                        const json_t *body, json_t **out)
{
    const char *cluster = json_string_value(json_object_get(body, "cluster"));
    const char *to = json_string_value(json_object_get(body, "to"));
    hub_store *store = hub_get_store(h);
    struct hub_appstate_ref state, git;
    struct hub_pin pin = {0};
    struct hub_opreq req = {.prune = flag(body, "prune")};
    struct hub_view view;
    const struct hub_app *a;
    char current[65];
    json_t *ops = json_array();
    int error;

    *out = NULL;
    hub_view_get(h, &view);
    if (cluster == NULL)
        error = gf_error_set(GF_EINVAL, "a rollback names its cluster: {\"cluster\": \"NAME\"}");
    else if ((a = fleet_app(view.fleet, cluster, app)) == NULL)
        error =
            gf_error_set(GF_ENOTFOUND, "cluster '%s' has no app named '%s' in Git", cluster, app);
    else
        error = hub_auth_may_operate(who, a->project);
    if (error < 0)
        goto out;
    reported_hash(h, cluster, app, current);
    if ((error = hub_appstate_pick(store, cluster, app, to, current, &state)) < 0 ||
        (error = hub_appstate_git(store, cluster, app, &git)) < 0)
        goto out;
    pin = (struct hub_pin){.generation = state.synced_generation,
                           .suspend_auto_sync = 1,
                           .release_on_change = 1,
                           .created_ms = gf_wire_now_ms()};
    snprintf(pin.cluster, sizeof(pin.cluster), "%s", cluster);
    snprintf(pin.app, sizeof(pin.app), "%s", app);
    snprintf(pin.holder, sizeof(pin.holder), "rollback");
    snprintf(pin.hash, sizeof(pin.hash), "%s", state.hash);
    snprintf(pin.revision, sizeof(pin.revision), "%s", state.revision);
    snprintf(pin.git_hash, sizeof(pin.git_hash), "%s", git.hash);
    if ((error = hub_pin_hold(store, &pin)) < 0)
        goto out;
    gf_log_info("HUB-ROLLBACK", "cluster=%s app=%s generation=%llu revision=%.12s by=%s", cluster,
                app, (unsigned long long)state.synced_generation, state.revision, who->name);
    snprintf(req.cluster, sizeof(req.cluster), "%s", cluster);
    snprintf(req.app, sizeof(req.app), "%s", app);
    snprintf(req.kind, sizeof(req.kind), "rollback");
    if ((error = request(h, who, &req, ops)) < 0)
        goto out;
    *out = json_pack("{s:s, s:s, s:o, s:O}", "app", app, "cluster", cluster, "to",
                     hub_appstate_json(&state), "operation", json_array_get(ops, 0));
out:
    json_decref(ops);
    hub_view_put(&view);
    return error;
}

/* ---- reports ---- */

static const json_t *named(const json_t *report, const char *name)
{
    size_t i;
    json_t *a;

    json_array_foreach(json_object_get(report, "apps"), i, a)
    {
        const char *n = json_string_value(json_object_get(a, "name"));
        if (n && strcmp(n, name) == 0)
            return a;
    }
    return NULL;
}

/* A synced state the agent did not report before becomes one to roll back to. */
static void note_synced(hub_store *store, const char *cluster, const json_t *before,
                        const json_t *app, int64_t time_ms)
{
    const char *name = json_string_value(json_object_get(app, "name"));
    const char *hash = json_string_value(json_object_get(app, "syncedHash"));
    const char *was = json_string_value(json_object_get(before, "syncedHash"));
    int known = 0;

    if (hash == NULL || strlen(hash) != 64 || (was && strcmp(was, hash) == 0))
        return;
    if (hub_appstate_mark_synced(store, cluster, name, hash,
                                 (uint64_t)json_integer_value(json_object_get(app, "generation")),
                                 time_ms, &known) < 0)
        gf_log_error("HUB-APPSTATE-FAIL", "cluster=%s app=%s error=\"%s\"", cluster, name,
                     gf_error_last());
}

void hub_appops_on_report(hub *h, const char *cluster, const json_t *previous, const json_t *report)
{
    hub_store *store = hub_get_store(h);
    int64_t now = gf_wire_now_ms();
    int republish = 0;
    size_t i;
    json_t *app;

    json_array_foreach(json_object_get(report, "apps"), i, app)
    {
        const char *name = json_string_value(json_object_get(app, "name"));
        const json_t *state = json_object_get(app, "operationState");
        int finished = 0;
        if (name == NULL)
            continue;
        note_synced(store, cluster, named(previous, name), app, now);
        if (hub_opreq_update(store, cluster, state, now, &finished) < 0)
            gf_log_error("HUB-OPERATION-FAIL", "cluster=%s app=%s error=\"%s\"", cluster, name,
                         gf_error_last());
        republish |= finished;
    }
    /* A finished request leaves the bundle, so that it stays small (not
     * from here: the agent endpoint may hold its lock while a report is
     * stored, and republishing wakes its long-polls). */
    if (republish)
        hub_republish_later(h, cluster);
}

/* ---- views ---- */

/* The clusters `app` is on (Git's view), or just `cluster`. */
static int app_clusters(json_t **out, hub *h, const char *app, const char *cluster)
{
    struct hub_view view;

    *out = json_array();
    hub_view_get(h, &view);
    for (size_t i = 0; view.fleet && i < view.fleet->n_apps; i++) {
        const struct hub_app *a = &view.fleet->apps[i];
        if (strcmp(a->name, app) == 0 && (cluster == NULL || strcmp(a->cluster, cluster) == 0))
            json_array_append_new(*out, json_string(a->cluster));
    }
    hub_view_put(&view);
    if (json_array_size(*out) > 0)
        return 0;
    return gf_error_set(GF_ENOTFOUND, "no cluster%s%s gets an app named '%s' from Git",
                        cluster ? " named " : "", cluster ? cluster : "", app);
}

static json_t *cluster_states(hub *h, const char *cluster, const char *app)
{
    hub_store *store = hub_get_store(h);
    struct hub_appstate_ref *list = NULL, git;
    struct hub_pin pin;
    size_t n = 0;
    char current[65];
    json_t *states = json_array();

    reported_hash(h, cluster, app, current);
    int has_git = hub_appstate_git(store, cluster, app, &git) == 0;
    int pinned = hub_pin_lookup(store, cluster, app, &pin) == 0;
    if (hub_appstate_synced(store, cluster, app, &list, &n) == 0)
        for (size_t i = 0; i < n; i++) {
            json_t *s = hub_appstate_json(&list[i]);
            json_object_set_new(s, "current", json_boolean(strcmp(list[i].hash, current) == 0));
            json_object_set_new(s, "git",
                                json_boolean(has_git && strcmp(list[i].hash, git.hash) == 0));
            json_array_append_new(states, s);
        }
    free(list);
    return json_pack("{s:s, s:s, s:o, s:o, s:o}", "cluster", cluster, "current", current, "git",
                     has_git ? hub_appstate_json(&git) : json_null(), "pin",
                     pinned ? json_pack("{s:s, s:s, s:I, s:s, s:b, s:I}", "holder", pin.holder,
                                        "hash", pin.hash, "generation", (json_int_t)pin.generation,
                                        "revision", pin.revision, "autoSyncSuspended",
                                        pin.suspend_auto_sync, "since", (json_int_t)pin.created_ms)
                            : json_null(),
                     "states", states);
}

int hub_appops_states(hub *h, const char *app, const char *cluster, json_t **out)
{
    json_t *clusters = NULL, *rows = json_array(), *c;
    size_t i;
    int error;

    *out = NULL;
    if ((error = app_clusters(&clusters, h, app, cluster)) < 0) {
        json_decref(clusters);
        json_decref(rows);
        return error;
    }
    json_array_foreach(clusters, i, c)
        json_array_append_new(rows, cluster_states(h, json_string_value(c), app));
    json_decref(clusters);
    *out = json_pack("{s:s, s:o}", "app", app, "clusters", rows);
    return 0;
}

int hub_appops_get(hub *h, const char *app, const char *cluster, json_t **out)
{
    json_t *clusters = NULL, *rows = json_array(), *c;
    size_t i;
    int error;

    *out = NULL;
    if ((error = app_clusters(&clusters, h, app, cluster)) < 0)
        goto out;
    json_array_foreach(clusters, i, c)
    {
        const char *name = json_string_value(c);
        json_t *status = NULL, *ops = NULL;
        if ((error = hub_status_fleet(h, name, 1, &status)) < 0)
            goto out;
        json_t *row =
            json_deep_copy(named(json_array_get(json_object_get(status, "clusters"), 0), app));
        json_decref(status);
        if (row == NULL)
            continue;
        json_object_set_new(row, "cluster", json_string(name));
        hub_opreq_list(hub_get_store(h), name, app, gf_wire_now_ms(), 5, &ops);
        json_object_set_new(row, "operations", ops ? ops : json_array());
        json_array_append_new(rows, row);
    }
    *out = json_pack("{s:s, s:O}", "app", app, "clusters", rows);
out:
    json_decref(clusters);
    json_decref(rows);
    return error;
}

json_t *hub_appops_open_requests_by_cluster(hub *h, const char *cluster)
{
    json_t *open = NULL, *by_cluster = json_object(), *op;
    size_t i;

    if (hub_opreq_open(hub_get_store(h), cluster, gf_wire_now_ms(), &open) < 0)
        return by_cluster;
    json_array_foreach(open, i, op)
    {
        const char *name = json_string_value(json_object_get(op, "cluster"));
        json_t *list = json_object_get(by_cluster, name);
        if (list == NULL)
            json_object_set_new(by_cluster, name, list = json_array());
        json_array_append(list, op);
    }
    json_decref(open);
    return by_cluster;
}
