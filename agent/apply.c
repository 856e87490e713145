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

/* The app's ignoreDifferences rules (*out NULL when none). < 0, with the
 * message naming the entry, when they cannot be compiled (a jq expression
 * beyond the supported subset, ...). */
static int compile_rules(const Gitfleet__App *app, struct agent_drift_rules **out)
{
    const Gitfleet__SyncPolicy *p = policy_of(app);
    json_t *list;
    int error;

    *out = NULL;
    if (p == NULL || !p->has_ignore_differences)
        return 0;
    list = json_loadb((const char *)p->ignore_differences.data, p->ignore_differences.len, 0, NULL);
    if (list == NULL)
        return gf_error_set(GF_EINVAL, "ignoreDifferences: not JSON");
    error = agent_drift_rules_parse(out, list);
    json_decref(list);
    return error < 0 ? gf_error_wrap(error, "ignoreDifferences") : 0;
}

/* The rules, or NULL (logged) when they do not compile. */
static struct agent_drift_rules *rules_of(const Gitfleet__App *app)
{
    struct agent_drift_rules *rules = NULL;

    if (compile_rules(app, &rules) < 0)
        gf_log_warn("AGENT-IGNORE-DIFFERENCES", "app=%s error=\"%s\"", app->name, gf_error_last());
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
    /* While its operation runs, the app is Progressing whatever its objects say. */
    const char *op = json_string_value(json_object_get(app_entry, "operation"));
    if (op && strcmp(op, "Running") == 0)
        worst = AGENT_HEALTH_PROGRESSING;
    json_object_set_new(
        app_entry, "health",
        json_string(worst == AGENT_HEALTH_NONE ? "Healthy" : agent_health_status_name(worst)));
}

/* ---- the cluster side of a sync: callbacks of the plan executor ---- */

struct sync_ctx {
    agent_kube *kube;
    const struct agent_apply_config *config;
    const struct agent_syncopts *app_opts; /* of the app being synced */
    const struct agent_apply_op *op;       /* the operation (NULL: only comparing) */
    const Gitfleet__App *app;
    struct agent_drift_rules *rules;  /* the app's ignoreDifferences (may be NULL) */
    const struct agent_plan *plan;    /* while it runs, for progress reports */
    json_t *skipped;                  /* results of prunes not done (PruneSkipped) */
    struct agent_inventory *previous; /* the inventory the last prune decision read */
    const Gitfleet__Bundle *progress_bundle;
    long long started_ms;
    int transient; /* a failure worth retrying happened */
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

/* RespectIgnoreDifferences=true: the object as it is applied, without the
 * fields ignoreDifferences names when the object exists (new reference in
 * *out). A new object is created whole, as Argo CD does. */
static int respecting_ignores(struct sync_ctx *ctx, const struct agent_plan_item *item,
                              json_t **out)
{
    json_t *live = NULL;
    int error;

    *out = NULL;
    if (item->hook || ctx->rules == NULL)
        return 0;
    error = agent_kube_get(ctx->kube, item->api_version, item->kind, item->namespace_, item->name,
                           &live);
    if (error == GF_ENOTFOUND)
        return 0;
    if (error == 0)
        error = agent_drift_strip(out, item->obj, live, ctx->rules);
    json_decref(live);
    return error;
}

/* --force: an apply the API server refuses (an immutable field) becomes a
 * delete and a re-create, as `argocd app sync --force` does. */
static int force_recreate(struct sync_ctx *ctx, const struct agent_plan_item *item,
                          const json_t *obj)
{
    int error =
        agent_kube_delete(ctx->kube, item->api_version, item->kind, item->namespace_, item->name);

    for (int i = 0; error == 0 && i < 100; i++) { /* wait until it is gone (finalizers) */
        json_t *live = NULL;
        if (agent_kube_get(ctx->kube, item->api_version, item->kind, item->namespace_, item->name,
                           &live) == GF_ENOTFOUND)
            break;
        json_decref(live);
        struct timespec ts = {0, 100000000L};
        nanosleep(&ts, NULL);
    }
    return error < 0 ? error : agent_kube_apply(ctx->kube, obj, AGENT_FIELD_MANAGER, 1, NULL);
}

static int cb_apply(void *arg, const struct agent_plan_item *item)
{
    struct sync_ctx *ctx = arg;
    struct agent_syncopts opts;
    json_t *stripped = NULL;
    int replace = 0, respect = 0, error;

    if (agent_syncopts_for_object(&opts, ctx->app_opts, item->obj) == 0) {
        replace = opts.replace;
        respect = opts.respect_ignore_differences;
        agent_syncopts_clear(&opts);
    }
    if (replace)
        return note_transient(ctx, replace_object(ctx, item));
    if (respect && (error = respecting_ignores(ctx, item, &stripped)) < 0)
        return note_transient(ctx, error);
    const json_t *obj = stripped ? stripped : item->obj;
    error = agent_kube_apply(ctx->kube, obj, AGENT_FIELD_MANAGER, 1, NULL);
    if (error == GF_EINVAL && ctx->op && ctx->op->force)
        error = force_recreate(ctx, item, obj);
    json_decref(stripped);
    return note_transient(ctx, error);
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

/* An error of the app that is not its operation's (a comparison that failed). */
static void app_note(json_t *entry, const char *message)
{
    json_array_append_new(json_object_get(entry, "errors"), json_string(message));
    if (json_string_value(json_object_get(entry, "message"))[0] == '\0')
        json_object_set_new(entry, "message", json_string(message));
}

static void app_error(json_t *entry, const char *message)
{
    app_note(entry, message);
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

/* The id of an inventory entry as an operation result / report entry. */
static json_t *id_json(const struct agent_inventory_id *id)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "group", id->group, "version", id->version,
                     "kind", id->kind, "namespace", id->namespace_, "name", id->name);
}

static const char *verdict_reason(enum agent_inventory_verdict v)
{
    switch (v) {
    case AGENT_INVENTORY_KEEP:
        return "Prune=false: kept";
    case AGENT_INVENTORY_CONFIRM:
        return "Prune=confirm: waiting for `gitfleet sync --allow-prune`";
    case AGENT_INVENTORY_DISABLED:
        return "requires pruning (prune is off for this app)";
    case AGENT_INVENTORY_HELD:
        return "requires pruning (held by the safety valve)";
    default:
        return "";
    }
}

/* Objects that left Git but stay in the cluster: the app is OutOfSync
 * ("requires pruning", as Argo CD says), and each is listed after the
 * bundle's resources with requiresPruning set. Prune=false objects are
 * kept on purpose and do not count. */
static void list_extras(json_t *entry, const struct agent_inventory_prune *pr, json_t *skipped)
{
    char message[1024];
    size_t n = 0, at = 0;

    message[0] = '\0';
    for (size_t i = 0; i < pr->n; i++) {
        const struct agent_inventory_entry *e = &pr->entries[i];
        if (e->verdict == AGENT_INVENTORY_DELETE || e->verdict == AGENT_INVENTORY_GONE ||
            e->verdict == AGENT_INVENTORY_NOT_OWNED)
            continue;
        if (skipped != NULL) {
            json_t *r = id_json(&e->id);
            json_object_set_new(r, "action", json_string("prune"));
            json_object_set_new(r, "phase", json_string("Sync"));
            json_object_set_new(r, "wave", json_integer(0));
            json_object_set_new(r, "status", json_string("PruneSkipped"));
            json_object_set_new(r, "message", json_string(verdict_reason(e->verdict)));
            json_array_append_new(skipped, r);
        }
        if (e->verdict == AGENT_INVENTORY_KEEP)
            continue;
        json_t *res = id_json(&e->id);
        json_object_set_new(res, "sync", json_string("OutOfSync"));
        json_object_set_new(res, "health", json_string(""));
        json_object_set_new(res, "message", json_string(verdict_reason(e->verdict)));
        json_object_set_new(res, "drift", json_array());
        json_object_set_new(res, "requiresPruning", json_true());
        json_array_append_new(json_object_get(entry, "resources"), res);
        if (at < sizeof(message) - 1)
            at += (size_t)snprintf(message + at, sizeof(message) - at, "%s%s %s%s%s", n ? ", " : "",
                                   e->id.kind, e->id.namespace_, e->id.namespace_[0] ? "/" : "",
                                   e->id.name);
        n++;
    }
    if (n > 0 && json_string_value(json_object_get(entry, "message"))[0] == '\0') {
        char text[1200];
        snprintf(text, sizeof(text), "%zu object%s require%s pruning: %s", n, n == 1 ? "" : "s",
                 n == 1 ? "s" : "", message);
        json_object_set_new(entry, "message", json_string(text));
    }
}

/* What the valve and the options decided, for people reading the report. */
static void note_prunes(json_t *entry, const char *app, const struct agent_inventory_prune *pr,
                        json_t *skipped)
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
    list_extras(entry, pr, skipped);
}

/* Decide what leaves the cluster; *prunes_out holds the live objects to
 * delete (borrowed from `pr`). The new inventory is saved before anything
 * changes, so that a crash mid-sync never forgets an object it created. */
static int decide_prunes(struct sync_ctx *ctx, const Gitfleet__Bundle *b, const char *name,
                         const struct agent_inventory *desired, int prune, int save,
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
    /* pr's entries borrow their ids from it: kept until the app is done */
    agent_inventory_free(ctx->previous);
    ctx->previous = previous;
    for (size_t i = 0; i < pr->n; i++)
        if (pr->entries[i].verdict == AGENT_INVENTORY_DELETE && pr->entries[i].live)
            json_array_append(*prunes_out, pr->entries[i].live);
    return save ? save_inventory(ctx, pr->next) : 0;
}

static double now_seconds(void *arg)
{
    struct timespec ts;

    (void)arg;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the operation state (report.h "operationState") ---- */

static const char *result_status(const struct agent_plan_item *it, enum agent_plan_state st,
                                 int dry_run)
{
    if (dry_run)
        return "DryRun";
    switch (st) {
    case AGENT_PLAN_SUCCEEDED:
        return it->action == AGENT_PLAN_PRUNE ? "Pruned" : "Synced";
    case AGENT_PLAN_FAILED:
        return "SyncFailed";
    case AGENT_PLAN_RUNNING:
        return "Running";
    case AGENT_PLAN_PENDING:
        break;
    }
    return "Pending";
}

static json_t *item_result(const struct agent_plan_item *it, enum agent_plan_state st,
                           const char *message, int dry_run)
{
    const char *version = strchr(it->api_version, '/');

    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s}", "group", it->group,
                     "version", version ? version + 1 : it->api_version, "kind", it->kind,
                     "namespace", it->namespace_, "name", it->name, "action",
                     it->action == AGENT_PLAN_PRUNE ? "prune"
                     : it->hook                     ? "hook"
                                                    : "apply",
                     "phase", agent_plan_phase_name(it->phase), "wave", it->wave, "status",
                     result_status(it, st, dry_run), "message", or_empty(message));
}

/* The phase and wave the operation is in: those of the last item reached. */
static void current_step(const struct agent_plan *plan, const struct agent_plan_result *r,
                         const char **phase, int *wave)
{
    *phase = "";
    *wave = 0;
    for (size_t i = 0; plan && r && i < plan->n_items && i < r->n_items; i++)
        if (r->items[i].state != AGENT_PLAN_PENDING) {
            *phase = agent_plan_phase_name(plan->items[i].phase);
            *wave = plan->items[i].wave;
        }
}

/* The operation as report.h describes it; `r` may be NULL (not run). */
static json_t *operation_state(struct sync_ctx *ctx, const Gitfleet__Bundle *b,
                               const struct agent_plan *plan, const struct agent_plan_result *r,
                               const char *phase, const char *message)
{
    const struct agent_apply_op *op = ctx->op;
    const char *sync_phase;
    int wave, dry_run = op && op->dry_run;
    json_t *results = json_array(), *item;
    size_t i;

    current_step(plan, r, &sync_phase, &wave);
    if (r && r->state == AGENT_PLAN_FAILED && r->object) {
        sync_phase = agent_plan_phase_name(r->phase);
        wave = r->wave;
    }
    for (i = 0; plan && i < plan->n_items; i++)
        json_array_append_new(
            results, item_result(&plan->items[i],
                                 r && i < r->n_items ? r->items[i].state : AGENT_PLAN_PENDING,
                                 r && i < r->n_items ? r->items[i].message : NULL, dry_run));
    json_array_foreach(ctx->skipped, i, item) json_array_append(results, item);
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:s, s:s, s:b, s:s, s:s, s:i, s:o}", "id",
        or_empty(op ? op->id : NULL), "phase", phase, "message", or_empty(message), "syncPhase",
        sync_phase, "wave", wave, "startedAt", (json_int_t)ctx->started_ms, "finishedAt",
        (json_int_t)(strcmp(phase, "Running") == 0 ? 0 : gf_wire_now_ms()), "revision",
        or_empty(ctx->app && ctx->app->revision && ctx->app->revision[0] ? ctx->app->revision
                                                                         : b->revision),
        "contentHash", or_empty(op ? op->desired_hash : NULL), "dryRun", dry_run, "initiatedBy",
        or_empty(op ? op->initiated_by : NULL), "kind", op && op->kind ? op->kind : "sync",
        "retryCount", op ? op->retry_count : 0, "results", results);
}

static void cb_progress(void *arg, const struct agent_plan_result *so_far)
{
    struct sync_ctx *ctx = arg;

    if (ctx->op && ctx->op->progress)
        ctx->op->progress(
            ctx->op->progress_arg,
            operation_state(ctx, ctx->progress_bundle, ctx->plan, so_far, "Running", "syncing"));
}

static int cb_cancelled(void *arg)
{
    struct sync_ctx *ctx = arg;
    return ctx->op && ctx->op->cancel && *ctx->op->cancel;
}

/* A dry run: the plan, nothing run; each item says what would happen. */
static void plan_only(struct sync_ctx *ctx, const Gitfleet__Bundle *b, json_t *entry,
                      const struct agent_plan *plan)
{
    char message[256];
    size_t n_apply = 0, n_prune = 0, n_hook = 0;

    for (size_t i = 0; i < plan->n_items; i++) {
        const struct agent_plan_item *it = &plan->items[i];
        if (it->action == AGENT_PLAN_PRUNE)
            n_prune++;
        else if (it->hook)
            n_hook++;
        else
            n_apply++;
    }
    snprintf(message, sizeof(message),
             "dry run: would apply %zu, prune %zu, run %zu hooks; nothing was changed", n_apply,
             n_prune, n_hook);
    json_object_set_new(entry, "operation", json_string("Succeeded"));
    json_object_set_new(entry, "operationState",
                        operation_state(ctx, b, plan, NULL, "Succeeded", message));
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
                                      .now = now_seconds,
                                      .progress = cb_progress,
                                      .cancelled = cb_cancelled};
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
    ctx->progress_bundle = b;
    if (agent_plan_build(&plan, &in) < 0) {
        app_error(entry, gf_error_last());
        json_object_set_new(entry, "operationState",
                            operation_state(ctx, b, NULL, NULL, "Error", gf_error_last()));
    } else if (ctx->op && ctx->op->dry_run) {
        plan_only(ctx, b, entry, plan);
    } else if ((ctx->plan = plan, agent_plan_run(&result, plan, &cb, &opts)) < 0) {
        app_error(entry, gf_error_last());
        json_object_set_new(entry, "operationState",
                            operation_state(ctx, b, plan, NULL, "Error", gf_error_last()));
    } else {
        char message[1024] = "successfully synced (all tasks run)";
        json_object_set_new(entry, "operation", json_string(agent_plan_state_name(result.state)));
        if (result.state == AGENT_PLAN_FAILED) {
            snprintf(message, sizeof(message), "%s wave %d%s%s: %s",
                     agent_plan_phase_name(result.phase), result.wave, result.object ? " " : "",
                     or_empty(result.object), or_empty(result.message));
            app_error(entry, message);
        }
        json_object_set_new(
            entry, "operationState",
            operation_state(ctx, b, plan, &result, agent_plan_state_name(result.state), message));
    }
    ctx->plan = NULL;
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
    int read_failed = 0;

    for (size_t i = 0; i < app->n_resources; i++) {
        json_t *res = json_array_get(resources, i), *live = NULL;
        json_t *want = json_array_get(desired, i);
        char api_version[256];
        if (json_is_null(want))
            continue; /* a SealedSecret that did not open: its failure stands */
        api_version_of(api_version, sizeof(api_version),
                       json_string_value(json_object_get(res, "group")),
                       json_string_value(json_object_get(res, "version")));
        if (or_empty(gf_doc_string(want, "metadata.name"))[0] == '\0') {
            judge(res, want, NULL, rules); /* a generateName hook: a new object each sync */
            continue;
        }
        int error = agent_kube_get(ctx->kube, api_version, gf_doc_string(want, "kind"),
                                   gf_doc_string(want, "metadata.namespace"),
                                   gf_doc_string(want, "metadata.name"), &live);
        if (error < 0 && error != GF_ENOTFOUND) {
            json_object_set_new(res, "message", json_string(gf_error_last()));
            if (!read_failed++) { /* Argo CD's ComparisonError: said once per app */
                char message[1200];
                snprintf(message, sizeof(message), "comparison failed: %s", gf_error_last());
                gf_log_warn("AGENT-COMPARE-FAIL", "app=%s error=\"%s\"", app->name,
                            gf_error_last());
                app_note(entry, message);
            }
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

/* Is `obj` one of the objects the operation is limited to (all when none)? */
static int selected(const struct agent_apply_op *op, const json_t *obj)
{
    const char *api_version = gf_doc_string(obj, "apiVersion");
    const char *slash = api_version ? strchr(api_version, '/') : NULL;
    size_t glen = slash ? (size_t)(slash - api_version) : 0;

    if (op == NULL || op->n_resources == 0)
        return 1;
    for (size_t i = 0; i < op->n_resources; i++) {
        const Gitfleet__ResourceId *id = op->resources[i];
        const char *g = or_empty(id->group), *ns = or_empty(id->namespace_);
        if (strcmp(or_empty(id->kind), or_empty(gf_doc_string(obj, "kind"))) == 0 &&
            strcmp(or_empty(id->name), or_empty(gf_doc_string(obj, "metadata.name"))) == 0 &&
            (g[0] == '*' || (strlen(g) == glen && strncmp(g, api_version, glen) == 0)) &&
            (ns[0] == '\0' || strcmp(ns, or_empty(gf_doc_string(obj, "metadata.namespace"))) == 0))
            return 1;
    }
    return 0;
}

/* The members of `list` the operation selected (new reference). */
static json_t *only_selected(const struct agent_apply_op *op, json_t *list)
{
    json_t *out = json_array(), *obj;
    size_t i;

    json_array_foreach(list, i, obj) if (selected(op, obj)) json_array_append(out, obj);
    return out;
}

static void sync_app(struct sync_ctx *ctx, const Gitfleet__Bundle *b, const Gitfleet__App *app,
                     json_t *entry)
{
    const struct agent_apply_op *op = ctx->op;
    struct agent_syncopts opts;
    struct agent_inventory *wanted = NULL;
    struct agent_inventory_prune pr = {0};
    json_t *desired, *prunes = NULL;

    if (app->render_error && app->render_error[0]) {
        app_error(entry, app->render_error);
        json_object_set_new(entry, "operationState",
                            operation_state(ctx, b, NULL, NULL, "Error", app->render_error));
        return;
    }
    if ((desired = desired_objects(app, entry)) == NULL)
        return;
    app_syncopts(&opts, app, entry);
    ctx->app_opts = &opts;
    ctx->skipped = json_array();
    /* With RespectIgnoreDifferences, rules that do not compile would make
     * the apply take the very fields it must leave alone: refuse the sync. */
    if (compile_rules(app, &ctx->rules) < 0 && opts.respect_ignore_differences)
        app_error(entry, gf_error_last());
    else if (!op->dry_run && opts.create_namespace && app->namespace_ && app->namespace_[0] &&
             ensure_namespace(ctx, app->namespace_) < 0)
        app_error(entry, gf_error_last());
    else if (agent_inventory_from_app(&wanted, app) < 0 ||
             decide_prunes(ctx, b, app->name, wanted, op->prune, !op->dry_run, &pr, &prunes) < 0)
        app_error(entry, gf_error_last());
    else {
        note_prunes(entry, app->name, &pr, ctx->skipped);
        json_t *all =
            opts.apply_out_of_sync_only ? out_of_sync_only(ctx, app, desired) : openable(desired);
        json_t *apply = only_selected(op, all), *prune = only_selected(op, prunes);
        run_plan(ctx, b, entry, apply, prune);
        if (has_unopened(desired)) { /* sealed_failed(): the operation failed */
            json_t *os = json_object_get(entry, "operationState");
            json_object_set_new(entry, "operation", json_string("Failed"));
            json_object_set_new(os, "phase", json_string("Failed"));
            json_object_set(os, "message", json_object_get(entry, "message"));
        }
        json_decref(apply);
        json_decref(prune);
        json_decref(all);
    }
    if (json_object_get(entry, "operationState") == NULL)
        json_object_set_new(entry, "operationState",
                            operation_state(ctx, b, NULL, NULL, "Error",
                                            json_string_value(json_object_get(entry, "message"))));
    assess_app(ctx, app, entry, desired);
    json_decref(prunes);
    json_decref(ctx->skipped);
    ctx->skipped = NULL;
    agent_drift_rules_free(ctx->rules);
    ctx->rules = NULL;
    agent_inventory_prune_clear(&pr);
    agent_inventory_free(ctx->previous);
    ctx->previous = NULL;
    agent_inventory_free(wanted);
    agent_syncopts_clear(&opts);
    ctx->app_opts = NULL;
    json_decref(desired);
}

/* Compare only: live against Git, and what would have to be pruned. */
static void compare_app(struct sync_ctx *ctx, const Gitfleet__Bundle *b, const Gitfleet__App *app,
                        json_t *entry)
{
    struct agent_syncopts opts;
    struct agent_inventory *wanted = NULL;
    struct agent_inventory_prune pr = {0};
    const Gitfleet__SyncPolicy *policy = policy_of(app);
    json_t *desired, *prunes = NULL;

    if (app->render_error && app->render_error[0]) {
        app_error(entry, app->render_error);
        return;
    }
    if ((desired = desired_objects(app, entry)) == NULL)
        return;
    app_syncopts(&opts, app, entry);
    ctx->app_opts = &opts;
    struct agent_drift_rules *rules = NULL;
    if (compile_rules(app, &rules) < 0)
        app_note(entry, gf_error_last());
    agent_drift_rules_free(rules);
    if (agent_inventory_from_app(&wanted, app) == 0 &&
        decide_prunes(ctx, b, app->name, wanted, policy && policy->automated && policy->prune, 0,
                      &pr, &prunes) == 0)
        list_extras(entry, &pr, NULL);
    assess_app(ctx, app, entry, desired);
    json_decref(prunes);
    agent_inventory_prune_clear(&pr);
    agent_inventory_free(ctx->previous);
    ctx->previous = NULL;
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
    if (decide_prunes(ctx, b, name, NULL, 1, 1, &pr, &prunes) < 0) {
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
    agent_inventory_free(ctx->previous);
    ctx->previous = NULL;
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

int agent_apply_sync_app(json_t **entry_out, agent_kube *kube, const Gitfleet__Bundle *bundle,
                         const Gitfleet__App *app, const struct agent_apply_op *op,
                         const struct agent_apply_config *config, int *transient_out)
{
    struct sync_ctx ctx = {
        .kube = kube, .config = config, .op = op, .app = app, .started_ms = gf_wire_now_ms()};
    json_t *entry = app_entry_new(app, bundle);

    if (entry == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    sync_app(&ctx, bundle, app, entry);
    summarize_app(entry);
    *transient_out = ctx.transient;
    *entry_out = entry;
    return 0;
}

int agent_apply_assess_app(json_t **entry_out, agent_kube *kube, const Gitfleet__Bundle *bundle,
                           const Gitfleet__App *app, const struct agent_apply_config *config,
                           int *transient_out)
{
    struct sync_ctx ctx = {.kube = kube, .config = config, .app = app};
    json_t *entry = app_entry_new(app, bundle);

    if (entry == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    json_object_set_new(entry, "operation", json_string(""));
    compare_app(&ctx, bundle, app, entry);
    summarize_app(entry);
    *transient_out = ctx.transient;
    *entry_out = entry;
    return 0;
}

int agent_apply_retire(json_t *apps, agent_kube *kube, const Gitfleet__Bundle *bundle,
                       const struct agent_apply_config *config, int *transient_out)
{
    struct sync_ctx ctx = {.kube = kube, .config = config, .started_ms = gf_wire_now_ms()};

    retire_vanished_apps(&ctx, bundle, apps);
    *transient_out = ctx.transient;
    return 0;
}

/* ---- after the sync: watching, refreshing, healing ---- */

struct agent_apply_index {
    const Gitfleet__Bundle *bundle;
    struct agent_drift_rules **rules; /* [app] */
    int *create_namespace;            /* [app] */
    int *respect_ignores;             /* [app]: RespectIgnoreDifferences=true */
    json_t *where;                    /* "group/kind/namespace/name" -> [app, resource] */
};

static void index_key(char *buf, size_t len, const char *group, const char *kind,
                      const char *namespace_, const char *name)
{
    snprintf(buf, len, "%s/%s/%s/%s", or_empty(group), or_empty(kind), or_empty(namespace_),
             or_empty(name));
}

/* CreateNamespace (with a namespace) and RespectIgnoreDifferences of an app. */
static void app_index_opts(const Gitfleet__App *app, int *create_namespace, int *respect)
{
    struct agent_syncopts opts;
    json_t *list = json_array();

    *create_namespace = *respect = 0;
    agent_syncopts_init(&opts);
    for (size_t i = 0; app->sync_policy && i < app->sync_policy->n_sync_options; i++)
        json_array_append_new(list, json_string(app->sync_policy->sync_options[i]));
    if (agent_syncopts_parse(&opts, list) == 0) {
        *create_namespace = opts.create_namespace && app->namespace_ && app->namespace_[0];
        *respect = opts.respect_ignore_differences;
    }
    agent_syncopts_clear(&opts);
    json_decref(list);
}

int agent_apply_index_new(struct agent_apply_index **out, const Gitfleet__Bundle *bundle)
{
    struct agent_apply_index *x = calloc(1, sizeof(*x));
    size_t n = bundle->n_apps;

    *out = NULL;
    if (x == NULL || (x->rules = calloc(n + 1, sizeof(*x->rules))) == NULL ||
        (x->create_namespace = calloc(n + 1, sizeof(int))) == NULL ||
        (x->respect_ignores = calloc(n + 1, sizeof(int))) == NULL) {
        agent_apply_index_free(x);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    x->bundle = bundle;
    x->where = json_object();
    for (size_t i = 0; i < n; i++) {
        const Gitfleet__App *app = bundle->apps[i];
        x->rules[i] = rules_of(app);
        app_index_opts(app, &x->create_namespace[i], &x->respect_ignores[i]);
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
    free(x->respect_ignores);
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
    *out = NULL;
    if (or_empty(gf_doc_string(desired, "metadata.name"))[0] == '\0')
        return 0; /* a generateName hook has no one object to read */
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
    if (x->respect_ignores[i] && x->rules[i] && get_live(kube, desired, &live) == 0 && live) {
        json_t *stripped = NULL;
        if (agent_drift_strip(&stripped, desired, live, x->rules[i]) == 0 && stripped) {
            json_decref(desired);
            desired = stripped;
        }
        json_decref(live);
        live = NULL;
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
                     const int *heal, int *healed_out)
{
    const Gitfleet__Bundle *bundle = index->bundle;

    *healed_out = 0;
    for (size_t i = 0; i < bundle->n_apps; i++) {
        const Gitfleet__App *app = bundle->apps[i];
        if (!heal[i])
            continue;
        for (size_t j = 0; j < app->n_resources; j++) {
            json_t *entry = entry_at(report, i, j);
            const char *sync = json_string_value(json_object_get(entry, "sync"));
            const char *health = json_string_value(json_object_get(entry, "health"));
            if (heal[i] == AGENT_APPLY_HEAL_DRIFTED && health && strcmp(health, "Missing") == 0)
                continue; /* never applied: a failed wave stopped the sync before it */
            if (sync && strcmp(sync, "Synced") != 0)
                *healed_out += heal_object(kube, index, report, i, j);
        }
    }
    return 0;
}
