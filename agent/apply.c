/* apply.c -- applying a verified bundle to the cluster with server-side apply, and its report */
#include "apply.h"

#include "gitfleet/doc.h"
#include "gitfleet/error.h"
#include "gitfleet/wire.h"
#include "health.h"

#include <stdio.h>
#include <string.h>

static int has_sync_option(const Gitfleet__App *app, const char *option)
{
    const Gitfleet__SyncPolicy *policy = app->sync_policy;

    for (size_t i = 0; policy && i < policy->n_sync_options; i++)
        if (strcmp(policy->sync_options[i], option) == 0)
            return 1;
    return 0;
}

static json_t *resource_entry(const Gitfleet__Resource *res)
{
    const Gitfleet__ResourceId *id = res->id;

    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[]}", "group", id && id->group ? id->group : "",
        "version", id && id->version ? id->version : "", "kind", id && id->kind ? id->kind : "",
        "namespace", id && id->namespace_ ? id->namespace_ : "", "name",
        id && id->name ? id->name : "", "sync", "OutOfSync", "health", "", "message", "", "drift");
}

/* Record health of a live object (NULL: absent) in a resource entry. */
static void set_health(json_t *entry, const json_t *live)
{
    struct agent_health health = {0};

    if (agent_health_assess(&health, live) == 0 && health.status != AGENT_HEALTH_NONE)
        json_object_set_new(entry, "health", json_string(agent_health_status_name(health.status)));
    else
        json_object_set_new(entry, "health", json_string(live ? "Healthy" : "Missing"));
    if (health.message && health.message[0])
        json_object_set_new(entry, "message", json_string(health.message));
    agent_health_clear(&health);
}

static int ensure_namespace(agent_kube *kube, const char *name)
{
    json_t *ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                           "metadata", "name", name);
    int error = agent_kube_apply(kube, ns, AGENT_FIELD_MANAGER, 1, NULL);

    json_decref(ns);
    return error;
}

/* Apply one resource and fill its report entry; returns the apply's code. */
static int apply_resource(agent_kube *kube, const Gitfleet__Resource *res, json_t *entry)
{
    json_t *obj =
        res->has_body ? json_loadb((const char *)res->body.data, res->body.len, 0, NULL) : NULL;
    json_t *live = NULL;
    int error;

    if (obj == NULL) {
        json_object_set_new(entry, "message", json_string("resource body is not valid JSON"));
        return gf_error_set(GF_EINVAL, "resource body is not valid JSON");
    }
    error = agent_kube_apply(kube, obj, AGENT_FIELD_MANAGER, 1, &live);
    json_decref(obj);
    if (error < 0) {
        json_object_set_new(entry, "message", json_string(gf_error_last()));
        json_object_set_new(entry, "health", json_string("Missing"));
        return error;
    }
    json_object_set_new(entry, "sync", json_string("Synced"));
    set_health(entry, live);
    json_decref(live);
    return 0;
}

/* Fold resource entries into the app's sync and health. */
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
    if (json_array_size(json_object_get(app_entry, "errors")) > 0)
        sync = "OutOfSync";
    json_object_set_new(app_entry, "sync", json_string(sync));
    json_object_set_new(
        app_entry, "health",
        json_string(worst == AGENT_HEALTH_NONE ? "Healthy" : agent_health_status_name(worst)));
}

static int is_transient(int error)
{
    return error == GF_EIO || error == GF_ETIMEDOUT;
}

static json_t *apply_app(agent_kube *kube, const Gitfleet__App *app, const Gitfleet__Bundle *b,
                         int *transient)
{
    json_t *entry = json_pack("{s:s, s:s, s:I, s:s, s:s, s:[], s:[]}", "name", app->name,
                              "revision", app->revision ? app->revision : b->revision, "generation",
                              (json_int_t)b->generation, "message", "", "operation", "Succeeded",
                              "errors", "resources");
    json_t *errors = json_object_get(entry, "errors");
    int error;

    if (app->render_error && app->render_error[0]) {
        json_array_append_new(errors, json_string(app->render_error));
        json_object_set_new(entry, "operation", json_string("Failed"));
    } else if (has_sync_option(app, "CreateNamespace=true") && app->namespace_ &&
               app->namespace_[0] && (error = ensure_namespace(kube, app->namespace_)) < 0) {
        json_array_append_new(errors, json_string(gf_error_last()));
        *transient |= is_transient(error);
    }
    for (size_t i = 0; i < app->n_resources; i++) {
        json_t *res = resource_entry(app->resources[i]);
        if ((error = apply_resource(kube, app->resources[i], res)) < 0) {
            json_object_set_new(entry, "operation", json_string("Failed"));
            json_array_append_new(errors, json_string(gf_error_last()));
            *transient |= is_transient(error);
        }
        json_array_append_new(json_object_get(entry, "resources"), res);
    }
    summarize_app(entry);
    if (json_array_size(errors) > 0)
        json_object_set(entry, "message", json_array_get(errors, 0));
    return entry;
}

int agent_apply_bundle(json_t **report_out, agent_kube *kube, const Gitfleet__Bundle *bundle,
                       int *transient_out)
{
    json_t *report = json_pack("{s:s, s:I, s:s, s:I, s:s, s:[]}", "cluster", bundle->cluster,
                               "generation", (json_int_t)bundle->generation, "revision",
                               bundle->revision ? bundle->revision : "", "time",
                               (json_int_t)gf_wire_now_ms(), "error", "", "apps");

    *transient_out = 0;
    if (report == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    for (size_t i = 0; i < bundle->n_apps; i++)
        json_array_append_new(json_object_get(report, "apps"),
                              apply_app(kube, bundle->apps[i], bundle, transient_out));
    *report_out = report;
    return 0;
}

/* Re-read one object and update its entry; 1 when its status changed. */
static int refresh_resource(agent_kube *kube, json_t *entry)
{
    const char *api_group = json_string_value(json_object_get(entry, "group"));
    const char *version = json_string_value(json_object_get(entry, "version"));
    char api_version[256];
    json_t *live = NULL, *before = json_deep_copy(entry);
    int changed, error;

    snprintf(api_version, sizeof(api_version), "%s%s%s", api_group, api_group[0] ? "/" : "",
             version);
    error = agent_kube_get(kube, api_version, json_string_value(json_object_get(entry, "kind")),
                           json_string_value(json_object_get(entry, "namespace")),
                           json_string_value(json_object_get(entry, "name")), &live);
    if (error == 0 || error == GF_ENOTFOUND) {
        json_object_set_new(entry, "message", json_string(""));
        set_health(entry, live);
        if (live == NULL) {
            json_object_set_new(entry, "sync", json_string("OutOfSync"));
            json_object_set_new(entry, "message",
                                json_string("object is missing from the cluster"));
        }
    }
    changed = !json_equal(before, entry);
    json_decref(before);
    json_decref(live);
    return changed;
}

int agent_apply_refresh(agent_kube *kube, const Gitfleet__Bundle *bundle, json_t *report,
                        int *changed_out)
{
    size_t i, j;
    json_t *app, *entry;

    *changed_out = 0;
    json_array_foreach(json_object_get(report, "apps"), i, app)
    {
        int app_changed = 0;
        json_array_foreach(json_object_get(app, "resources"), j, entry) app_changed |=
            refresh_resource(kube, entry);
        if (app_changed)
            summarize_app(app);
        *changed_out |= app_changed;
    }
    if (*changed_out)
        json_object_set_new(report, "time", json_integer(gf_wire_now_ms()));
    return 0;
}
