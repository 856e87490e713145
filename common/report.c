/* report.c -- a cluster's status report as JSON, and its protobuf form on the wire */
#include "gitfleet/report.h"

#include "gitfleet/error.h"

#include <stdlib.h>
#include <string.h>

/* A string member, "" when absent: protobuf-c packs NULL strings as absent. */
static char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return (char *)(s ? s : "");
}

static uint64_t u64(const json_t *obj, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(obj, key));
    return v > 0 ? (uint64_t)v : 0;
}

/* calloc an array of `n` message structs, each initialised by `init`. */
static void *alloc_array(size_t n, size_t size)
{
    return n ? calloc(n, size) : NULL;
}

static void fill_resource(Gitfleet__ResourceStatus *rs, Gitfleet__ResourceId *id, const json_t *res)
{
    size_t i, n = json_array_size(json_object_get(res, "drift"));
    json_t *d;

    gitfleet__resource_status__init(rs);
    gitfleet__resource_id__init(id);
    id->group = str(res, "group");
    id->version = str(res, "version");
    id->kind = str(res, "kind");
    id->namespace_ = str(res, "namespace");
    id->name = str(res, "name");
    rs->id = id;
    rs->sync = str(res, "sync");
    rs->health = str(res, "health");
    rs->message = str(res, "message");
    if (json_is_true(json_object_get(res, "requiresPruning")))
        rs->has_requires_pruning = rs->requires_pruning = 1;
    rs->drift = alloc_array(n, sizeof(*rs->drift));
    Gitfleet__DriftedField *fields = alloc_array(n, sizeof(*fields));
    json_array_foreach(json_object_get(res, "drift"), i, d)
    {
        gitfleet__drifted_field__init(&fields[i]);
        fields[i].path = str(d, "path");
        fields[i].desired = str(d, "desired");
        fields[i].live = str(d, "live");
        rs->drift[i] = &fields[i];
    }
    rs->n_drift = n;
}

static int64_t i64(const json_t *obj, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(obj, key));
}

static void fill_id(Gitfleet__ResourceId *id, const json_t *obj)
{
    gitfleet__resource_id__init(id);
    id->group = str(obj, "group");
    id->version = str(obj, "version");
    id->kind = str(obj, "kind");
    id->namespace_ = str(obj, "namespace");
    id->name = str(obj, "name");
}

/* One result of an operation: its id is the struct at the same index of
 * `ids`, allocated with the results (freed in gf_report_proto_clear). */
static void fill_result(Gitfleet__ResourceResult *rr, Gitfleet__ResourceId *id, const json_t *res)
{
    gitfleet__resource_result__init(rr);
    fill_id(id, res);
    rr->id = id;
    rr->action = str(res, "action");
    rr->phase = str(res, "phase");
    rr->has_wave = 1;
    rr->wave = (int32_t)i64(res, "wave");
    rr->status = str(res, "status");
    rr->message = str(res, "message");
}

/* The app's operationState (report.h), or NULL when it has none. */
static Gitfleet__AppOperationState *fill_operation(const json_t *op)
{
    const json_t *results = json_object_get(op, "results");
    size_t i, n = json_array_size(results);
    Gitfleet__AppOperationState *os;
    json_t *item;

    if (!json_is_object(op) || (os = calloc(1, sizeof(*os))) == NULL)
        return NULL;
    gitfleet__app_operation_state__init(os);
    os->id = str(op, "id");
    os->phase = str(op, "phase");
    os->message = str(op, "message");
    os->sync_phase = str(op, "syncPhase");
    os->has_wave = os->has_started_unix_ms = os->has_finished_unix_ms = 1;
    os->wave = (int32_t)i64(op, "wave");
    os->started_unix_ms = i64(op, "startedAt");
    os->finished_unix_ms = i64(op, "finishedAt");
    os->revision = str(op, "revision");
    os->content_hash = str(op, "contentHash");
    os->has_dry_run = os->dry_run = json_is_true(json_object_get(op, "dryRun"));
    os->initiated_by = str(op, "initiatedBy");
    os->kind = str(op, "kind");
    os->has_retry_count = 1;
    os->retry_count = (int32_t)i64(op, "retryCount");
    os->results = alloc_array(n, sizeof(*os->results));
    Gitfleet__ResourceResult *rr = alloc_array(n, sizeof(*rr));
    Gitfleet__ResourceId *ids = alloc_array(n, sizeof(*ids));
    if (n > 0 && (os->results == NULL || rr == NULL || ids == NULL)) {
        free(os->results);
        free(rr);
        free(ids);
        free(os);
        return NULL;
    }
    json_array_foreach(results, i, item)
    {
        fill_result(&rr[i], &ids[i], item);
        os->results[i] = &rr[i];
    }
    os->n_results = n;
    return os;
}

static void fill_app(Gitfleet__AppStatus *as, const json_t *app)
{
    const json_t *resources = json_object_get(app, "resources");
    const json_t *errors = json_object_get(app, "errors");
    size_t i, n = json_array_size(resources);
    json_t *item;

    gitfleet__app_status__init(as);
    as->name = str(app, "name");
    as->sync = str(app, "sync");
    as->health = str(app, "health");
    as->revision = str(app, "revision");
    as->has_generation = 1;
    as->generation = u64(app, "generation");
    as->message = str(app, "message");
    as->operation = str(app, "operation");
    as->desired_hash = str(app, "desiredHash");
    as->synced_hash = str(app, "syncedHash");
    if (json_is_true(json_object_get(app, "autoSyncSuspended")))
        as->has_auto_sync_suspended = as->auto_sync_suspended = 1;
    as->operation_state = fill_operation(json_object_get(app, "operationState"));
    as->resources = alloc_array(n, sizeof(*as->resources));
    Gitfleet__ResourceStatus *rs = alloc_array(n, sizeof(*rs));
    Gitfleet__ResourceId *ids = alloc_array(n, sizeof(*ids));
    json_array_foreach(resources, i, item)
    {
        fill_resource(&rs[i], &ids[i], item);
        as->resources[i] = &rs[i];
    }
    as->n_resources = n;
    as->errors = alloc_array(json_array_size(errors), sizeof(char *));
    json_array_foreach(errors, i, item) as->errors[as->n_errors++] =
        (char *)(json_string_value(item) ? json_string_value(item) : "");
}

int gf_report_to_proto(Gitfleet__Report *out, const json_t *report)
{
    const json_t *apps = json_object_get(report, "apps");
    size_t i, n = json_array_size(apps);
    json_t *app;

    gitfleet__report__init(out);
    out->cluster = str(report, "cluster");
    out->has_generation = out->has_time_unix_ms = 1;
    out->generation = u64(report, "generation");
    out->revision = str(report, "revision");
    out->time_unix_ms = (int64_t)u64(report, "time");
    out->error = str(report, "error");
    out->agent_version = GF_VERSION;
    out->apps = alloc_array(n, sizeof(*out->apps));
    Gitfleet__AppStatus *as = alloc_array(n, sizeof(*as));
    json_array_foreach(apps, i, app)
    {
        fill_app(&as[i], app);
        out->apps[i] = &as[i];
    }
    out->n_apps = n;
    return 0;
}

void gf_report_proto_clear(Gitfleet__Report *report)
{
    if (report->n_apps > 0) {
        Gitfleet__AppStatus *as = report->apps[0];
        for (size_t i = 0; i < report->n_apps; i++) {
            Gitfleet__AppStatus *a = report->apps[i];
            if (a->n_resources > 0) {
                for (size_t j = 0; j < a->n_resources; j++)
                    if (a->resources[j]->n_drift > 0)
                        free(a->resources[j]->drift[0]);
                for (size_t j = 0; j < a->n_resources; j++)
                    free(a->resources[j]->drift);
                free(a->resources[0]->id);
                free(a->resources[0]);
            }
            free(a->resources);
            free(a->errors);
            if (a->operation_state != NULL) {
                Gitfleet__AppOperationState *os = a->operation_state;
                if (os->n_results > 0) {
                    free(os->results[0]->id);
                    free(os->results[0]);
                }
                free(os->results);
                free(os);
            }
        }
        free(as);
    }
    free(report->apps);
    gitfleet__report__init(report);
}

int gf_report_pack(unsigned char **out, size_t *len_out, const json_t *report)
{
    Gitfleet__Report r;
    size_t len;

    gf_report_to_proto(&r, report);
    len = gitfleet__report__get_packed_size(&r);
    if ((*out = malloc(len ? len : 1)) == NULL) {
        gf_report_proto_clear(&r);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    gitfleet__report__pack(&r, *out);
    *len_out = len;
    gf_report_proto_clear(&r);
    return 0;
}

static json_t *opt_string(const char *s)
{
    return json_string(s ? s : "");
}

static json_t *resource_json(const Gitfleet__ResourceStatus *rs)
{
    const Gitfleet__ResourceId *id = rs->id;
    json_t *drift = json_array();

    for (size_t i = 0; i < rs->n_drift; i++)
        json_array_append_new(drift,
                              json_pack("{s:o, s:o, s:o}", "path", opt_string(rs->drift[i]->path),
                                        "desired", opt_string(rs->drift[i]->desired), "live",
                                        opt_string(rs->drift[i]->live)));
    json_t *res = json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "group", opt_string(id ? id->group : NULL),
        "version", opt_string(id ? id->version : NULL), "kind", opt_string(id ? id->kind : NULL),
        "namespace", opt_string(id ? id->namespace_ : NULL), "name",
        opt_string(id ? id->name : NULL), "sync", opt_string(rs->sync), "health",
        opt_string(rs->health), "message", opt_string(rs->message), "drift", drift);
    if (res != NULL && rs->has_requires_pruning && rs->requires_pruning)
        json_object_set_new(res, "requiresPruning", json_true());
    return res;
}

static json_t *result_json(const Gitfleet__ResourceResult *rr)
{
    const Gitfleet__ResourceId *id = rr->id;

    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:i, s:o, s:o}", "group",
                     opt_string(id ? id->group : NULL), "version",
                     opt_string(id ? id->version : NULL), "kind", opt_string(id ? id->kind : NULL),
                     "namespace", opt_string(id ? id->namespace_ : NULL), "name",
                     opt_string(id ? id->name : NULL), "action", opt_string(rr->action), "phase",
                     opt_string(rr->phase), "wave", (int)rr->wave, "status", opt_string(rr->status),
                     "message", opt_string(rr->message));
}

static json_t *operation_json(const Gitfleet__AppOperationState *os)
{
    json_t *results = json_array();

    for (size_t i = 0; i < os->n_results; i++)
        json_array_append_new(results, result_json(os->results[i]));
    return json_pack("{s:o, s:o, s:o, s:o, s:i, s:I, s:I, s:o, s:o, s:b, s:o, s:o, s:i, s:o}", "id",
                     opt_string(os->id), "phase", opt_string(os->phase), "message",
                     opt_string(os->message), "syncPhase", opt_string(os->sync_phase), "wave",
                     (int)os->wave, "startedAt", (json_int_t)os->started_unix_ms, "finishedAt",
                     (json_int_t)os->finished_unix_ms, "revision", opt_string(os->revision),
                     "contentHash", opt_string(os->content_hash), "dryRun", (int)os->dry_run,
                     "initiatedBy", opt_string(os->initiated_by), "kind", opt_string(os->kind),
                     "retryCount", (int)os->retry_count, "results", results);
}

static json_t *app_json(const Gitfleet__AppStatus *as)
{
    json_t *resources = json_array(), *errors = json_array(), *app;

    for (size_t i = 0; i < as->n_resources; i++)
        json_array_append_new(resources, resource_json(as->resources[i]));
    for (size_t i = 0; i < as->n_errors; i++)
        json_array_append_new(errors, opt_string(as->errors[i]));
    app = json_pack("{s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "name",
                    opt_string(as->name), "sync", opt_string(as->sync), "health",
                    opt_string(as->health), "revision", opt_string(as->revision), "generation",
                    (json_int_t)as->generation, "message", opt_string(as->message), "operation",
                    opt_string(as->operation), "errors", errors, "resources", resources,
                    "desiredHash", opt_string(as->desired_hash), "syncedHash",
                    opt_string(as->synced_hash), "autoSyncSuspended", (int)as->auto_sync_suspended);
    if (app != NULL && as->operation_state != NULL)
        json_object_set_new(app, "operationState", operation_json(as->operation_state));
    return app;
}

json_t *gf_report_from_proto(const Gitfleet__Report *report)
{
    json_t *apps = json_array();

    for (size_t i = 0; i < report->n_apps; i++)
        json_array_append_new(apps, app_json(report->apps[i]));
    return json_pack("{s:o, s:I, s:o, s:I, s:o, s:o, s:o}", "cluster", opt_string(report->cluster),
                     "generation", (json_int_t)report->generation, "revision",
                     opt_string(report->revision), "time", (json_int_t)report->time_unix_ms,
                     "error", opt_string(report->error), "agentVersion",
                     opt_string(report->agent_version), "apps", apps);
}
