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
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "group",
                     opt_string(id ? id->group : NULL), "version",
                     opt_string(id ? id->version : NULL), "kind", opt_string(id ? id->kind : NULL),
                     "namespace", opt_string(id ? id->namespace_ : NULL), "name",
                     opt_string(id ? id->name : NULL), "sync", opt_string(rs->sync), "health",
                     opt_string(rs->health), "message", opt_string(rs->message), "drift", drift);
}

static json_t *app_json(const Gitfleet__AppStatus *as)
{
    json_t *resources = json_array(), *errors = json_array();

    for (size_t i = 0; i < as->n_resources; i++)
        json_array_append_new(resources, resource_json(as->resources[i]));
    for (size_t i = 0; i < as->n_errors; i++)
        json_array_append_new(errors, opt_string(as->errors[i]));
    return json_pack("{s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o}", "name", opt_string(as->name),
                     "sync", opt_string(as->sync), "health", opt_string(as->health), "revision",
                     opt_string(as->revision), "generation", (json_int_t)as->generation, "message",
                     opt_string(as->message), "operation", opt_string(as->operation), "errors",
                     errors, "resources", resources);
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
