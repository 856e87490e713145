/* apply.c -- syncing a verified bundle: waves and hooks, prune with an inventory, drift, health */
#include "apply.h"

#include "drift.h"
#include "gitfleet/doc.h"
#include "gitfleet/error.h"
#include "gitfleet/log.h"
#include "gitfleet/wire.h"
#include "health.h"
#include "inventory.h"
#include "plan.h"
#include "secrets.h"
#include "syncopts.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- objects and report entries ---- */

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

static void api_version_of(char *buf, size_t len, const char *group, const char *version)
{
    snprintf(buf, len, "%s%s%s", group, group[0] ? "/" : "", version);
}

static void app_error(json_t *entry, const char *message);

/* The desired object of resource `i` (its body parsed, a SealedSecret
 * opened into its Secret), or NULL; *sealed_error is set when the body was a
 * SealedSecret that does not open (the reason in gf_error_last()). */
static json_t *parse_body(const Gitfleet__Resource *res, int *sealed_error)
{
    json_t *obj =
        res->has_body ? json_loadb((const char *)res->body.data, res->body.len, 0, NULL) : NULL;

    *sealed_error = 0;
    if (agent_secrets_unseal(&obj, NULL) < 0) {
        *sealed_error = 1;
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/* A resource whose SealedSecret cannot be opened: it fails, nothing is
 * applied, and the live Secret (if any) stays as it was. */
static void sealed_failed(json_t *entry, json_t *res_entry)
{
    char msg[1024];

    json_object_set_new(res_entry, "sync", json_string("OutOfSync"));
    json_object_set_new(res_entry, "health", json_string("Degraded"));
    json_object_set_new(res_entry, "message", json_string(gf_error_last()));
    snprintf(msg, sizeof(msg), "%s", gf_error_last());
    app_error(entry, msg);
}

static json_t *new_entry(const Gitfleet__ResourceId *id)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[]}", "group",
                     or_empty(id ? id->group : NULL), "version", or_empty(id ? id->version : NULL),
                     "kind", or_empty(id ? id->kind : NULL), "namespace",
                     or_empty(id ? id->namespace_ : NULL), "name", or_empty(id ? id->name : NULL),
                     "sync", "OutOfSync", "health", "Missing", "message", "", "drift");
}

static const Gitfleet__SyncPolicy *policy_of(const Gitfleet__App *app)
{
    return app->sync_policy;
}

/* The app's ignoreDifferences rules (NULL when none or unparsable). */
static struct agent_drift_rules *rules_of(const Gitfleet__App *app)
{
    const Gitfleet__SyncPolicy *p = policy_of(app);
    struct agent_drift_rules *rules = NULL;
    json_t *list;

    if (p == NULL || !p->has_ignore_differences)
        return NULL;
    list = json_loadb((const char *)p->ignore_differences.data, p->ignore_differences.len, 0, NULL);
    if (list && agent_drift_rules_parse(&rules, list) < 0)
        gf_log_warn("AGENT-IGNORE-DIFFERENCES", "app=%s error=\"%s\"", app->name, gf_error_last());
    json_decref(list);
    return rules;
}

static int is_hook(const json_t *obj)
{
    return json_object_get(json_object_get(json_object_get(obj, "metadata"), "annotations"),
                           "argocd.argoproj.io/hook") != NULL;
}

/* Health and drift of one object from its live state (NULL: absent). Hooks
 * are run, not kept: one that is gone after its sync is fine. */
static void judge(json_t *entry, const json_t *desired, const json_t *live,
                  const struct agent_drift_rules *rules)
{
    struct agent_health health = {0};
    struct agent_drift drift = {0};

    if (is_hook(desired)) {
        json_object_set_new(entry, "hook", json_true());
        json_object_set_new(entry, "sync", json_string("Synced"));
        json_object_set_new(entry, "health", json_string("Healthy"));
        if (live == NULL)
            return;
        agent_health_assess(&health, live);
        if (health.status != AGENT_HEALTH_NONE)
            json_object_set_new(entry, "health",
                                json_string(agent_health_status_name(health.status)));
        agent_health_clear(&health);
        return;
    }
    if (live == NULL) {
        json_object_set_new(entry, "sync", json_string("OutOfSync"));
        json_object_set_new(entry, "health", json_string("Missing"));
        json_object_set_new(entry, "message", json_string("object is missing from the cluster"));
        json_object_set_new(entry, "drift", json_array());
        return;
    }
    if (agent_drift_compare(&drift, desired, live, rules) == 0) {
        json_object_set_new(entry, "drift", agent_drift_to_json(&drift));
        json_object_set_new(entry, "sync", json_string(drift.n ? "OutOfSync" : "Synced"));
        agent_drift_clear(&drift);
    }
    agent_health_assess(&health, live);
    json_object_set_new(entry, "health",
                        json_string(health.status == AGENT_HEALTH_NONE
                                        ? "Healthy"
                                        : agent_health_status_name(health.status)));
    json_object_set_new(entry, "message", json_string(or_empty(health.message)));
    agent_health_clear(&health);
}

/* Fold an app's objects into its sync and health. */
static void summarize_app(json_t *app_entry)
{
    enum agent_health_status worst = AGENT_HEALTH_NONE;
    const char *sync = "Synced";
    size_t i;
    json_t *entry;

    json_array_foreach(json_object_get(app_entry, "resources"), i, entry)
    {
        const char *h = json_string_value(json_object_get(entry, "health"));
        for (int s = AGENT_HEALTH_HEALTHY; s <= AGENT_HEALTH_UNKNOWN; s++)
            if (h && strcmp(h, agent_health_status_name(s)) == 0)
                worst = agent_health_worst(worst, s);
        if (strcmp(json_string_value(json_object_get(entry, "sync")), "Synced") != 0)
            sync = "OutOfSync";
    }
    if (json_array_size(json_object_get(app_entry, "errors")) > 0 ||
        json_is_true(json_object_get(app_entry, "held")))
        sync = "OutOfSync";
    json_object_set_new(app_entry, "sync", json_string(sync));
    json_object_set_new(
        app_entry, "health",
        json_string(worst == AGENT_HEALTH_NONE ? "Healthy" : agent_health_status_name(worst)));
}

/* ---- the cluster side of a sync: callbacks of the plan executor ---- */

struct sync_ctx {
    agent_kube *kube;
    const struct agent_apply_config *config;
    const struct agent_syncopts *app_opts; /* of the app being synced */
    int transient;                         /* a failure worth retrying happened */
};

static int note_transient(struct sync_ctx *ctx, int error)
{
    if (error == GF_EIO || error == GF_ETIMEDOUT)
        ctx->transient = 1;
    return error;
}

/* Replace=true: PUT the whole object (POST when absent), as `kubectl replace`. */
static int replace_object(struct sync_ctx *ctx, const struct agent_plan_item *item)
{
    struct agent_kube_resource res;
    char path[2048], *body = NULL;
    size_t len;
    int exists, error;

    if ((error = agent_kube_resource(ctx->kube, item->api_version, item->kind, &res)) < 0)
        return error;
    exists = agent_kube_path(path, sizeof(path), &res, item->namespace_, item->name) == 0 &&
             agent_kube_request(ctx->kube, "GET", path, NULL, NULL, NULL, NULL) == 0;
    if (!exists && (error = agent_kube_path(path, sizeof(path), &res, item->namespace_, NULL)) < 0)
        return error;
    if ((error = gf_doc_canonical(&body, &len, item->obj)) < 0)
        return error;
    error = agent_kube_request(ctx->kube, exists ? "PUT" : "POST", path, "application/json", body,
                               NULL, NULL);
    free(body);
    return error;
}

static int cb_apply(void *arg, const struct agent_plan_item *item)
{
    struct sync_ctx *ctx = arg;
    struct agent_syncopts opts;
    int replace = 0;

    if (agent_syncopts_for_object(&opts, ctx->app_opts, item->obj) == 0) {
        replace = opts.replace;
        agent_syncopts_clear(&opts);
    }
    if (replace)
        return note_transient(ctx, replace_object(ctx, item));
    return note_transient(ctx,
                          agent_kube_apply(ctx->kube, item->obj, AGENT_FIELD_MANAGER, 1, NULL));
}

static int cb_health(void *arg, const struct agent_plan_item *item, struct agent_health *out)
{
    struct sync_ctx *ctx = arg;
    json_t *live = NULL;
    int error = agent_kube_get(ctx->kube, item->api_version, item->kind, item->namespace_,
                               item->name, &live);

    if (error < 0 && error != GF_ENOTFOUND)
        return note_transient(ctx, error);
    error = agent_health_assess(out, live);
    json_decref(live);
    return error;
}

static int cb_remove(void *arg, const struct agent_plan_item *item)
{
    struct sync_ctx *ctx = arg;

    return note_transient(ctx, agent_kube_delete(ctx->kube, item->api_version, item->kind,
                                                 item->namespace_, item->name));
}

/* Live objects for the inventory's prune decision. */
static int lookup_live(void *arg, const struct agent_inventory_id *id, json_t **out)
{
    struct sync_ctx *ctx = arg;
    char api_version[256];
    int error;

    api_version_of(api_version, sizeof(api_version), id->group, id->version);
    error = agent_kube_get(ctx->kube, api_version, id->kind, id->namespace_, id->name, out);
    if (error == GF_ENOTFOUND) {
        *out = NULL;
        return 0;
    }
    return note_transient(ctx, error);
}

static int ensure_namespace(struct sync_ctx *ctx, const char *name)
{
    json_t *ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                           "metadata", "name", name);
    int error = agent_kube_apply(ctx->kube, ns, AGENT_FIELD_MANAGER, 1, NULL);

    json_decref(ns);
    return note_transient(ctx, error);
}

/* The inventory is kept in the state directory and, when the agent has a
 * namespace, in a ConfigMap there, so that it survives the loss of either. */
static int save_inventory(struct sync_ctx *ctx, const struct agent_inventory *inv)
{
    const char *ns = ctx->config->namespace_;
    int error = agent_inventory_save(inv, ctx->config->state_dir);

    if (error == 0 && ns && ns[0]) {
        json_t *cm = agent_inventory_configmap(inv, ns);
        if (ensure_namespace(ctx, ns) < 0 ||
            agent_kube_apply(ctx->kube, cm, AGENT_FIELD_MANAGER, 1, NULL) < 0)
            gf_log_warn("AGENT-INVENTORY-CM", "app=%s error=\"%s\"", inv->app, gf_error_last());
        json_decref(cm);
    }
    return error;
}

static int load_inventory(struct sync_ctx *ctx, const char *app, struct agent_inventory **out)
{
    const char *ns = ctx->config->namespace_;
    char name[300];
    json_t *cm = NULL;
    int error = agent_inventory_load(out, ctx->config->state_dir, app);

    if (error != GF_ENOTFOUND || ns == NULL || ns[0] == '\0')
        return error;
    /* The state directory was lost: the cluster still knows what we own. */
    snprintf(name, sizeof(name), "%s%s", AGENT_INVENTORY_CM_PREFIX, app);
    if (agent_kube_get(ctx->kube, "v1", "ConfigMap", ns, name, &cm) < 0)
        return GF_ENOTFOUND;
    error = agent_inventory_from_configmap(out, cm);
    json_decref(cm);
    return error;
}

/* ---- one app ---- */

static json_t *app_entry_new(const Gitfleet__App *app, const Gitfleet__Bundle *b)
{
    return json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:[], s:[]}", "name", app->name,
                     "revision", app->revision ? app->revision : or_empty(b->revision),
                     "generation", (json_int_t)b->generation, "sync", "OutOfSync", "health",
                     "Missing", "message", "", "operation", "Running", "errors", "resources");
}

static void app_error(json_t *entry, const char *message)
{
    json_array_append_new(json_object_get(entry, "errors"), json_string(message));
    if (json_string_value(json_object_get(entry, "message"))[0] == '\0')
        json_object_set_new(entry, "message", json_string(message));
    json_object_set_new(entry, "operation", json_string("Failed"));
}

static int bundle_allows_prune(const Gitfleet__Bundle *b, const char *app)
{
    for (size_t i = 0; i < b->n_allow_prune; i++)
        if (strcmp(b->allow_prune[i], app) == 0)
            return 1;
    return 0;
}

/* The app's sync options from the bundle's list. */
static void app_syncopts(struct agent_syncopts *opts, const Gitfleet__App *app, json_t *entry)
{
    const Gitfleet__SyncPolicy *p = policy_of(app);
    json_t *list = json_array();

    agent_syncopts_init(opts);
    for (size_t i = 0; p && i < p->n_sync_options; i++)
        json_array_append_new(list, json_string(p->sync_options[i]));
    if (agent_syncopts_parse(opts, list) < 0)
        app_error(entry, gf_error_last());
    if (opts->warnings)
        gf_log_warn("AGENT-SYNC-OPTIONS", "app=%s warning=\"%s\"", app->name, opts->warnings);
    json_decref(list);
}

/* What the valve and the options decided, for people reading the report. */
static void note_prunes(json_t *entry, const char *app, const struct agent_inventory_prune *pr)
{
    size_t kept = 0;

    for (size_t i = 0; i < pr->n; i++)
        kept += pr->entries[i].verdict != AGENT_INVENTORY_DELETE &&
                pr->entries[i].verdict != AGENT_INVENTORY_GONE &&
                pr->entries[i].verdict != AGENT_INVENTORY_NOT_OWNED;
    if (pr->held) {
        char message[1024];
        snprintf(message, sizeof(message),
                 "prune held: %s; allow it with `gitfleet sync --allow-prune %s`",
                 pr->reason ? pr->reason : "safety valve", app);
        json_object_set_new(entry, "held", json_true());
        json_object_set_new(entry, "message", json_string(message));
    } else if (kept > 0) {
        json_object_set_new(entry, "pruneKept", json_integer((json_int_t)kept));
    }
}

/* Decide what leaves the cluster; *prunes_out holds the live objects to
 * delete (borrowed from `pr`). The new inventory is saved before anything
 * changes, so that a crash mid-sync never forgets an object it created. */
static int decide_prunes(struct sync_ctx *ctx, const Gitfleet__Bundle *b, const char *name,
                         const struct agent_inventory *desired, int prune,
                         struct agent_inventory_prune *pr, json_t **prunes_out)
{
    struct agent_inventory *previous = NULL;
    struct agent_inventory_prune_options opts = {.prune = prune,
                                                 .allowed = bundle_allows_prune(b, name),
                                                 .max_share = ctx->config->prune_max_share,
                                                 .app_opts = ctx->app_opts};
    int error = load_inventory(ctx, name, &previous);

    memset(pr, 0, sizeof(*pr));
    *prunes_out = json_array();
    if (error == GF_ENOTFOUND && (error = agent_inventory_new(&previous, name)) < 0)
        return error;
    if (error < 0 ||
        (error = agent_inventory_prune(pr, previous, desired, lookup_live, ctx, &opts)) < 0) {
        agent_inventory_free(previous);
        return error;
    }
    agent_inventory_free(previous);
    for (size_t i = 0; i < pr->n; i++)
        if (pr->entries[i].verdict == AGENT_INVENTORY_DELETE && pr->entries[i].live)
            json_array_append(*prunes_out, pr->entries[i].live);
    return save_inventory(ctx, pr->next);
}

static double now_seconds(void *arg)
{
    struct timespec ts;

    (void)arg;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Build the plan of `apply` and `prunes` and walk it; the outcome goes into
 * the app's report entry. */
static void run_plan(struct sync_ctx *ctx, const Gitfleet__Bundle *b, json_t *entry, json_t *apply,
                     json_t *prunes)
{
    struct agent_plan_input in = {.n_apply = json_array_size(apply),
                                  .n_prune = json_array_size(prunes),
                                  .prune_last = ctx->app_opts->prune_last,
                                  .revision = b->revision,
                                  .started_at = (long long)(gf_wire_now_ms() / 1000)};
    struct agent_plan_callbacks cb = {.ctx = ctx,
                                      .apply = cb_apply,
                                      .health = cb_health,
                                      .remove = cb_remove,
                                      .now = now_seconds};
    struct agent_plan_options opts = {.timeout = ctx->config->sync_timeout,
                                      .wave_timeout = ctx->config->wave_timeout,
                                      .wave_delay = ctx->config->wave_delay,
                                      .poll_interval = 0.25};
    struct agent_plan *plan = NULL;
    struct agent_plan_result result = {0};
    json_t **objs = calloc(in.n_apply + in.n_prune + 1, sizeof(*objs));

    for (size_t i = 0; i < in.n_apply; i++)
        objs[i] = json_array_get(apply, i);
    for (size_t i = 0; i < in.n_prune; i++)
        objs[in.n_apply + i] = json_array_get(prunes, i);
    in.apply = objs;
    in.prune = objs + in.n_apply;
    if (agent_plan_build(&plan, &in) < 0 || agent_plan_run(&result, plan, &cb, &opts) < 0) {
        app_error(entry, gf_error_last());
    } else {
        json_object_set_new(entry, "operation", json_string(agent_plan_state_name(result.state)));
        if (result.state == AGENT_PLAN_FAILED) {
            char message[1024];
            snprintf(message, sizeof(message), "%s wave %d%s%s: %s",
                     agent_plan_phase_name(result.phase), result.wave, result.object ? " " : "",
                     or_empty(result.object), or_empty(result.message));
            app_error(entry, message);
        }
        json_object_set_new(entry, "operationState", agent_plan_result_to_json(plan, &result));
    }
    agent_plan_result_clear(&result);
    agent_plan_free(plan);
    free(objs);
}

/* Read every desired object back: drift and health per object. */
static void assess_app(struct sync_ctx *ctx, const Gitfleet__App *app, json_t *entry,
                       json_t *desired)
{
    struct agent_drift_rules *rules = rules_of(app);
    json_t *resources = json_object_get(entry, "resources");

    for (size_t i = 0; i < app->n_resources; i++) {
        json_t *res = json_array_get(resources, i), *live = NULL;
        json_t *want = json_array_get(desired, i);
        char api_version[256];
        if (json_is_null(want))
            continue; /* a SealedSecret that did not open: its failure stands */
        api_version_of(api_version, sizeof(api_version),
                       json_string_value(json_object_get(res, "group")),
                       json_string_value(json_object_get(res, "version")));
        int error = agent_kube_get(ctx->kube, api_version, gf_doc_string(want, "kind"),
                                   gf_doc_string(want, "metadata.namespace"),
                                   gf_doc_string(want, "metadata.name"), &live);
        if (error < 0 && error != GF_ENOTFOUND) {
            json_object_set_new(res, "message", json_string(gf_error_last()));
            note_transient(ctx, error);
            continue;
        }
        judge(res, want, live, rules);
        json_decref(live);
    }
    agent_drift_rules_free(rules);
}

/* Parse the app's resource bodies; NULL (with the error in the entry) when
 * one is not valid JSON. */
static json_t *desired_objects(const Gitfleet__App *app, json_t *entry)
{
    json_t *desired = json_array();

    for (size_t i = 0; i < app->n_resources; i++) {
        int sealed_error;
        json_t *obj = parse_body(app->resources[i], &sealed_error);
        json_t *res_entry = new_entry(app->resources[i]->id);
        json_array_append_new(json_object_get(entry, "resources"), res_entry);
        if (sealed_error) {
            sealed_failed(entry, res_entry);
            json_array_append_new(desired, json_null());
            continue;
        }
        if (obj == NULL) {
            app_error(entry, "a resource body in the bundle is not valid JSON");
            json_decref(desired);
            return NULL;
        }
        json_array_append_new(desired, obj);
    }
    return desired;
}

/* ApplyOutOfSyncOnly=true: only objects that are missing or drifted. */
static json_t *out_of_sync_only(struct sync_ctx *ctx, const Gitfleet__App *app, json_t *desired)
{
    struct agent_drift_rules *rules = rules_of(app);
    json_t *apply = json_array();
    size_t i;
    json_t *want;

    json_array_foreach(desired, i, want)
    {
        struct agent_drift drift = {0};
        json_t *live = NULL;
        if (json_is_null(want))
            continue;
        int error = agent_kube_get(
            ctx->kube, gf_doc_string(want, "apiVersion"), gf_doc_string(want, "kind"),
            gf_doc_string(want, "metadata.namespace"), gf_doc_string(want, "metadata.name"), &live);
        int in_sync = error == 0 && !is_hook(want) &&
                      agent_drift_compare(&drift, want, live, rules) == 0 && drift.n == 0;
        if (!in_sync)
            json_array_append(apply, want);
        agent_drift_clear(&drift);
        json_decref(live);
    }
    agent_drift_rules_free(rules);
    return apply;
}

static int has_unopened(const json_t *desired)
{
    const json_t *want;
    size_t i;

    json_array_foreach(desired, i, want) if (json_is_null(want)) return 1;
    return 0;
}

/* The desired objects less the SealedSecrets that did not open. */
static json_t *openable(json_t *desired)
{
    json_t *apply = json_array(), *want;
    size_t i;

    json_array_foreach(desired, i, want) if (!json_is_null(want)) json_array_append(apply, want);
    return apply;
}

static void sync_app(struct sync_ctx *ctx, const Gitfleet__Bundle *b, const Gitfleet__App *app,
                     json_t *entry)
{
    const Gitfleet__SyncPolicy *policy = policy_of(app);
    struct agent_syncopts opts;
    struct agent_inventory *wanted = NULL;
    struct agent_inventory_prune pr = {0};
    json_t *desired, *prunes = NULL;

    if (app->render_error && app->render_error[0]) {
        app_error(entry, app->render_error);
        return;
    }
    if ((desired = desired_objects(app, entry)) == NULL)
        return;
    app_syncopts(&opts, app, entry);
    ctx->app_opts = &opts;
    if (opts.create_namespace && app->namespace_ && app->namespace_[0] &&
        ensure_namespace(ctx, app->namespace_) < 0)
        app_error(entry, gf_error_last());
    else if (agent_inventory_from_app(&wanted, app) < 0 ||
             decide_prunes(ctx, b, app->name, wanted, policy && policy->prune, &pr, &prunes) < 0)
        app_error(entry, gf_error_last());
    else {
        note_prunes(entry, app->name, &pr);
        json_t *apply =
            opts.apply_out_of_sync_only ? out_of_sync_only(ctx, app, desired) : openable(desired);
        run_plan(ctx, b, entry, apply, prunes);
        if (has_unopened(desired)) /* sealed_failed(): the operation failed */
            json_object_set_new(entry, "operation", json_string("Failed"));
        json_decref(apply);
    }
    assess_app(ctx, app, entry, desired);
    json_decref(prunes);
    agent_inventory_prune_clear(&pr);
    agent_inventory_free(wanted);
    agent_syncopts_clear(&opts);
    ctx->app_opts = NULL;
    json_decref(desired);
}

/* ---- apps that left the bundle ---- */

static int bundle_has_app(const Gitfleet__Bundle *b, const char *name)
{
    for (size_t i = 0; i < b->n_apps; i++)
        if (strcmp(b->apps[i]->name, name) == 0)
            return 1;
    return 0;
}

/* Forget an app whose objects are all gone. */
static void drop_inventory(struct sync_ctx *ctx, const char *app)
{
    const char *ns = ctx->config->namespace_;
    char path[4096], name[300];

    snprintf(path, sizeof(path), "%s/inventory/%s.json", ctx->config->state_dir, app);
    unlink(path);
    if (ns && ns[0]) {
        snprintf(name, sizeof(name), "%s%s", AGENT_INVENTORY_CM_PREFIX, app);
        agent_kube_delete(ctx->kube, "v1", "ConfigMap", ns, name);
    }
}

/* An app Git no longer targets at this cluster: its objects are deleted
 * only when the platform team allowed it; until then they stay, held. */
static void retire_app(struct sync_ctx *ctx, const Gitfleet__Bundle *b, const char *name,
                       json_t *report_apps)
{
    struct agent_syncopts opts;
    struct agent_inventory_prune pr = {0};
    json_t *prunes = NULL;
    json_t *entry = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:[], s:[], s:b}", "name", name,
                              "revision", or_empty(b->revision), "generation",
                              (json_int_t)b->generation, "sync", "OutOfSync", "health", "Healthy",
                              "message", "", "operation", "", "errors", "resources", "retired", 1);

    agent_syncopts_init(&opts);
    ctx->app_opts = &opts;
    if (decide_prunes(ctx, b, name, NULL, 1, &pr, &prunes) < 0) {
        app_error(entry, gf_error_last());
    } else if (json_array_size(prunes) > 0) {
        json_t *nothing = json_array();
        run_plan(ctx, b, entry, nothing, prunes);
        json_decref(nothing);
        json_object_set_new(entry, "message",
                            json_string("removed from Git; its objects were "
                                        "deleted (prune allowed)"));
    } else if (pr.next->n == 0) {
        drop_inventory(ctx, name);
        json_decref(entry);
        entry = NULL;
    } else {
        char message[512];
        snprintf(message, sizeof(message),
                 "removed from Git; its objects stay in the cluster (%zu held: delete them with "
                 "`gitfleet sync --allow-prune %s`)",
                 pr.next->n, name);
        json_object_set_new(entry, "message", json_string(message));
        json_object_set_new(entry, "held", json_true());
    }
    if (entry)
        json_array_append_new(report_apps, entry);
    json_decref(prunes);
    agent_inventory_prune_clear(&pr);
    agent_syncopts_clear(&opts);
    ctx->app_opts = NULL;
}

/* Apps with an inventory in the state directory that the bundle lacks. */
static void retire_vanished_apps(struct sync_ctx *ctx, const Gitfleet__Bundle *b,
                                 json_t *report_apps)
{
    char dir[4096];
    struct dirent *ent;
    DIR *d;

    snprintf(dir, sizeof(dir), "%s/inventory", ctx->config->state_dir);
    if ((d = opendir(dir)) == NULL)
        return;
    while ((ent = readdir(d)) != NULL) {
        size_t n = strlen(ent->d_name);
        if (n <= 5 || strcmp(ent->d_name + n - 5, ".json") != 0)
            continue;
        char app[256];
        snprintf(app, sizeof(app), "%.*s", (int)(n - 5), ent->d_name);
        if (!bundle_has_app(b, app))
            retire_app(ctx, b, app, report_apps);
    }
    closedir(d);
}

int agent_apply_bundle(json_t **report_out, agent_kube *kube, const Gitfleet__Bundle *bundle,
                       const struct agent_apply_config *config, int *transient_out)
{
    struct sync_ctx ctx = {.kube = kube, .config = config};
    json_t *report =
        json_pack("{s:s, s:I, s:s, s:I, s:s, s:[]}", "cluster", bundle->cluster, "generation",
                  (json_int_t)bundle->generation, "revision", or_empty(bundle->revision), "time",
                  (json_int_t)gf_wire_now_ms(), "error", "", "apps");
    json_t *apps = json_object_get(report, "apps");

    if (report == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    for (size_t i = 0; i < bundle->n_apps; i++) {
        json_t *entry = app_entry_new(bundle->apps[i], bundle);
        sync_app(&ctx, bundle, bundle->apps[i], entry);
        summarize_app(entry);
        json_array_append_new(apps, entry);
    }
    retire_vanished_apps(&ctx, bundle, apps);
    *transient_out = ctx.transient;
    *report_out = report;
    return 0;
}

/* ---- after the sync: watching, refreshing, healing ---- */

struct agent_apply_index {
    const Gitfleet__Bundle *bundle;
    struct agent_drift_rules **rules; /* [app] */
    int *create_namespace;            /* [app] */
    json_t *where;                    /* "group/kind/namespace/name" -> [app, resource] */
};

static void index_key(char *buf, size_t len, const char *group, const char *kind,
                      const char *namespace_, const char *name)
{
    snprintf(buf, len, "%s/%s/%s/%s", or_empty(group), or_empty(kind), or_empty(namespace_),
             or_empty(name));
}

static int app_creates_namespace(const Gitfleet__App *app)
{
    struct agent_syncopts opts;
    json_t *list = json_array();
    int yes = 0;

    agent_syncopts_init(&opts);
    for (size_t i = 0; app->sync_policy && i < app->sync_policy->n_sync_options; i++)
        json_array_append_new(list, json_string(app->sync_policy->sync_options[i]));
    if (agent_syncopts_parse(&opts, list) == 0)
        yes = opts.create_namespace && app->namespace_ && app->namespace_[0];
    agent_syncopts_clear(&opts);
    json_decref(list);
    return yes;
}

int agent_apply_index_new(struct agent_apply_index **out, const Gitfleet__Bundle *bundle)
{
    struct agent_apply_index *x = calloc(1, sizeof(*x));
    size_t n = bundle->n_apps;

    *out = NULL;
    if (x == NULL || (x->rules = calloc(n + 1, sizeof(*x->rules))) == NULL ||
        (x->create_namespace = calloc(n + 1, sizeof(int))) == NULL) {
        agent_apply_index_free(x);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    x->bundle = bundle;
    x->where = json_object();
    for (size_t i = 0; i < n; i++) {
        const Gitfleet__App *app = bundle->apps[i];
        x->rules[i] = rules_of(app);
        x->create_namespace[i] = app_creates_namespace(app);
        for (size_t j = 0; j < app->n_resources; j++) {
            const Gitfleet__ResourceId *id = app->resources[j]->id;
            char key[1024];
            if (id == NULL)
                continue;
            index_key(key, sizeof(key), id->group, id->kind, id->namespace_, id->name);
            json_object_set_new(x->where, key, json_pack("[I,I]", (json_int_t)i, (json_int_t)j));
        }
    }
    *out = x;
    return 0;
}

void agent_apply_index_free(struct agent_apply_index *x)
{
    if (x == NULL)
        return;
    for (size_t i = 0; x->rules && x->bundle && i < x->bundle->n_apps; i++)
        agent_drift_rules_free(x->rules[i]);
    free(x->rules);
    free(x->create_namespace);
    json_decref(x->where);
    free(x);
}

/* The desired object of resource j of app i (new reference; NULL when its
 * body is not JSON). Parsed on demand: a compact body parses in
 * microseconds, and holding 1,000 parsed trees would cost megabytes. */
static json_t *desired_at(const struct agent_apply_index *x, size_t i, size_t j)
{
    int sealed_error;

    return parse_body(x->bundle->apps[i]->resources[j], &sealed_error);
}

/* The report entry of resource j of app i; NULL when the report lacks it. */
static json_t *entry_at(json_t *report, size_t i, size_t j)
{
    json_t *app = json_array_get(json_object_get(report, "apps"), i);
    return json_array_get(json_object_get(app, "resources"), j);
}

/* Judge one object of the report against its live state. */
static int rejudge(json_t *report, const struct agent_apply_index *x, size_t i, size_t j,
                   const json_t *live, int *drifted_out)
{
    json_t *app_entry = json_array_get(json_object_get(report, "apps"), i);
    json_t *entry = entry_at(report, i, j);
    json_t *before, *desired;
    int changed;

    *drifted_out = 0;
    if (entry == NULL || (desired = desired_at(x, i, j)) == NULL)
        return 0;
    before = json_deep_copy(entry);
    judge(entry, desired, live, x->rules[i]);
    json_decref(desired);
    *drifted_out = strcmp(json_string_value(json_object_get(entry, "sync")), "Synced") != 0;
    changed = !json_equal(before, entry);
    if (changed)
        summarize_app(app_entry);
    json_decref(before);
    return changed;
}

int agent_apply_observe(json_t *report, const struct agent_apply_index *index, const char *group,
                        const char *kind, const char *namespace_, const char *name,
                        const json_t *live, int *drifted_out, int *changed_out)
{
    char key[1024];
    json_t *at;

    *drifted_out = *changed_out = 0;
    if (report == NULL || index == NULL)
        return 0;
    index_key(key, sizeof(key), group, kind, namespace_, name);
    if ((at = json_object_get(index->where, key)) == NULL)
        return 0;
    *changed_out = rejudge(report, index, (size_t)json_integer_value(json_array_get(at, 0)),
                           (size_t)json_integer_value(json_array_get(at, 1)), live, drifted_out);
    return 0;
}

static int get_live(agent_kube *kube, const json_t *desired, json_t **out)
{
    int error = agent_kube_get(
        kube, gf_doc_string(desired, "apiVersion"), gf_doc_string(desired, "kind"),
        gf_doc_string(desired, "metadata.namespace"), gf_doc_string(desired, "metadata.name"), out);
    return error == GF_ENOTFOUND ? 0 : error;
}

int agent_apply_refresh(agent_kube *kube, const struct agent_apply_index *index, json_t *report,
                        int *changed_out)
{
    const Gitfleet__Bundle *bundle = index->bundle;

    *changed_out = 0;
    for (size_t i = 0; i < bundle->n_apps; i++)
        for (size_t j = 0; j < bundle->apps[i]->n_resources; j++) {
            json_t *desired = desired_at(index, i, j), *live = NULL;
            int drifted;
            if (desired && get_live(kube, desired, &live) == 0)
                *changed_out |= rejudge(report, index, i, j, live, &drifted);
            json_decref(live);
            json_decref(desired);
        }
    if (*changed_out)
        json_object_set_new(report, "time", json_integer(gf_wire_now_ms()));
    return 0;
}

/* Re-apply one drifted object of an app with selfHeal; 1 when healed. */
static int heal_object(agent_kube *kube, const struct agent_apply_index *x, json_t *report,
                       size_t i, size_t j)
{
    const Gitfleet__App *app = x->bundle->apps[i];
    json_t *desired = desired_at(x, i, j), *live = NULL;
    int drifted = 0, ok = 0;

    if (desired == NULL || is_hook(desired)) {
        json_decref(desired);
        return 0;
    }
    if (x->create_namespace[i]) {
        json_t *ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                               "metadata", "name", app->namespace_);
        agent_kube_apply(kube, ns, AGENT_FIELD_MANAGER, 1, NULL);
        json_decref(ns);
    }
    if (agent_kube_apply(kube, desired, AGENT_FIELD_MANAGER, 1, &live) < 0) {
        gf_log_warn("AGENT-HEAL-FAIL", "app=%s object=%s error=\"%s\"", app->name,
                    gf_doc_string(desired, "metadata.name"), gf_error_last());
        json_decref(desired);
        return 0;
    }
    rejudge(report, x, i, j, live, &drifted);
    ok = !drifted;
    json_decref(live);
    json_decref(desired);
    return ok;
}

int agent_apply_heal(agent_kube *kube, const struct agent_apply_index *index, json_t *report,
                     int *healed_out)
{
    const Gitfleet__Bundle *bundle = index->bundle;

    *healed_out = 0;
    for (size_t i = 0; i < bundle->n_apps; i++) {
        const Gitfleet__App *app = bundle->apps[i];
        if (app->sync_policy == NULL || !app->sync_policy->self_heal)
            continue;
        for (size_t j = 0; j < app->n_resources; j++) {
            json_t *entry = entry_at(report, i, j);
            const char *sync = json_string_value(json_object_get(entry, "sync"));
            if (sync && strcmp(sync, "Synced") != 0)
                *healed_out += heal_object(kube, index, report, i, j);
        }
    }
    return 0;
}
