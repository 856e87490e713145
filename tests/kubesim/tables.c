/* tables.c -- meta.k8s.io/v1 Table responses with kubectl's per-kind columns */
#include "tables.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

struct column {
    const char *name, *type, *format;
    int priority;
};

typedef json_t *(*row_fn)(json_t *obj);

static const char *str(json_t *obj, const char *a, const char *b, const char *c)
{
    json_t *v = json_object_get(obj, a);
    if (b != NULL)
        v = json_object_get(v, b);
    if (c != NULL)
        v = json_object_get(v, c);
    return json_string_value(v) != NULL ? json_string_value(v) : "";
}

static long long num(json_t *obj, const char *a, const char *b)
{
    return json_integer_value(json_object_get(json_object_get(obj, a), b));
}

void ks_table_age(char *buf, size_t n, const char *ts)
{
    struct tm tm = {0};
    if (ts == NULL || strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL) {
        snprintf(buf, n, "<unknown>");
        return;
    }
    long long d = (long long)(time(NULL) - timegm(&tm));
    if (d < 0)
        d = 0;
    if (d < 120)
        snprintf(buf, n, "%llds", d);
    else if (d < 600)
        snprintf(buf, n, "%lldm%llds", d / 60, d % 60);
    else if (d < 3 * 3600)
        snprintf(buf, n, "%lldm", d / 60);
    else if (d < 8 * 3600)
        snprintf(buf, n, "%lldh%lldm", d / 3600, d / 60 % 60);
    else if (d < 48 * 3600)
        snprintf(buf, n, "%lldh", d / 3600);
    else
        snprintf(buf, n, "%lldd", d / 86400);
}

static json_t *age(json_t *obj)
{
    char buf[32];
    ks_table_age(buf, sizeof(buf), str(obj, "metadata", "creationTimestamp", NULL));
    return json_string(buf);
}

static json_t *name(json_t *obj)
{
    return json_string(str(obj, "metadata", "name", NULL));
}

static json_t *ratio(long long a, long long b)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%lld/%lld", a, b);
    return json_string(buf);
}

static long long replicas(json_t *obj)
{
    json_t *r = json_object_get(json_object_get(obj, "spec"), "replicas");
    return r != NULL ? json_integer_value(r) : 1;
}

static json_t *row_default(json_t *obj)
{
    return json_pack("[o,o]", name(obj), age(obj));
}

static json_t *row_deploy(json_t *o)
{
    return json_pack("[o,o,I,I,o]", name(o), ratio(num(o, "status", "readyReplicas"), replicas(o)),
                     (json_int_t)num(o, "status", "updatedReplicas"),
                     (json_int_t)num(o, "status", "availableReplicas"), age(o));
}

static json_t *row_sts(json_t *o)
{
    return json_pack("[o,o,o]", name(o), ratio(num(o, "status", "readyReplicas"), replicas(o)),
                     age(o));
}

static json_t *row_rs(json_t *o)
{
    return json_pack("[o,I,I,I,o]", name(o), (json_int_t)replicas(o),
                     (json_int_t)num(o, "status", "replicas"),
                     (json_int_t)num(o, "status", "readyReplicas"), age(o));
}

static json_t *row_ds(json_t *o)
{
    return json_pack("[o,I,I,I,I,I,o]", name(o),
                     (json_int_t)num(o, "status", "desiredNumberScheduled"),
                     (json_int_t)num(o, "status", "currentNumberScheduled"),
                     (json_int_t)num(o, "status", "numberReady"),
                     (json_int_t)num(o, "status", "updatedNumberScheduled"),
                     (json_int_t)num(o, "status", "numberAvailable"), age(o));
}

static const char *condition_true(json_t *o, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(o, "status"), "conditions"), i, c)
    {
        if (strcmp(str(c, "type", NULL, NULL), type) == 0 &&
            strcmp(str(c, "status", NULL, NULL), "True") == 0)
            return type;
    }
    return NULL;
}

static json_t *row_job(json_t *o)
{
    json_t *c = json_object_get(json_object_get(o, "spec"), "completions");
    long long want = c != NULL ? json_integer_value(c) : 1;
    const char *st = condition_true(o, "Complete") ? "Complete"
                     : condition_true(o, "Failed") ? "Failed"
                                                   : "Running";
    return json_pack("[o,s,o,o]", name(o), st, ratio(num(o, "status", "succeeded"), want), age(o));
}

static json_t *row_pod(json_t *o)
{
    size_t n = json_array_size(json_object_get(json_object_get(o, "spec"), "containers"));
    const char *phase = str(o, "status", "phase", NULL);
    return json_pack("[o,o,s,I,o]", name(o),
                     ratio(condition_true(o, "Ready") ? (long long)n : 0, (long long)n),
                     phase[0] ? phase : "Pending", (json_int_t)0, age(o));
}

static json_t *row_svc(json_t *o)
{
    char ports[512] = "", ext[256] = "<none>";
    size_t off = 0, i;
    json_t *p, *spec = json_object_get(o, "spec"), *ing;
    const char *type = str(spec, "type", NULL, NULL);

    json_array_foreach(json_object_get(spec, "ports"), i, p) if (off < sizeof(ports)) off +=
        (size_t)snprintf(ports + off, sizeof(ports) - off, "%s%lld/%s", i ? "," : "",
                         (long long)json_integer_value(json_object_get(p, "port")),
                         str(p, "protocol", NULL, NULL)[0] ? str(p, "protocol", NULL, NULL)
                                                           : "TCP");
    ing = json_array_get(
        json_object_get(json_object_get(json_object_get(o, "status"), "loadBalancer"), "ingress"),
        0);
    if (strcmp(type, "ExternalName") == 0)
        snprintf(ext, sizeof(ext), "%s", str(spec, "externalName", NULL, NULL));
    else if (ing != NULL)
        snprintf(ext, sizeof(ext), "%s", str(ing, "ip", NULL, NULL));
    else if (strcmp(type, "LoadBalancer") == 0)
        snprintf(ext, sizeof(ext), "<pending>");
    const char *ip = str(spec, "clusterIP", NULL, NULL);
    return json_pack("[o,s,s,s,s,o]", name(o), type[0] ? type : "ClusterIP", ip[0] ? ip : "<none>",
                     ext, ports[0] ? ports : "<none>", age(o));
}

static json_t *row_cm(json_t *o)
{
    return json_pack("[o,I,o]", name(o),
                     (json_int_t)(json_object_size(json_object_get(o, "data")) +
                                  json_object_size(json_object_get(o, "binaryData"))),
                     age(o));
}

static json_t *row_secret(json_t *o)
{
    const char *type = str(o, "type", NULL, NULL);
    return json_pack("[o,s,I,o]", name(o), type[0] ? type : "Opaque",
                     (json_int_t)json_object_size(json_object_get(o, "data")), age(o));
}

static json_t *row_ns(json_t *o)
{
    const char *phase = str(o, "status", "phase", NULL);
    return json_pack("[o,s,o]", name(o), phase[0] ? phase : "Active", age(o));
}

static json_t *row_pvc(json_t *o)
{
    const char *phase = str(o, "status", "phase", NULL);
    return json_pack("[o,s,s,s,o]", name(o), phase[0] ? phase : "Pending",
                     str(o, "spec", "volumeName", NULL), str(o, "status", "capacity", "storage"),
                     age(o));
}

static json_t *row_ing(json_t *o)
{
    char hosts[512] = "";
    size_t off = 0, i;
    json_t *r, *spec = json_object_get(o, "spec");
    const char *cls = str(spec, "ingressClassName", NULL, NULL);
    json_t *lb = json_array_get(
        json_object_get(json_object_get(json_object_get(o, "status"), "loadBalancer"), "ingress"),
        0);

    json_array_foreach(json_object_get(spec, "rules"), i, r) if (off < sizeof(hosts)) off +=
        (size_t)snprintf(hosts + off, sizeof(hosts) - off, "%s%s", i ? "," : "",
                         str(r, "host", NULL, NULL)[0] ? str(r, "host", NULL, NULL) : "*");
    return json_pack("[o,s,s,s,s,o]", name(o), cls[0] ? cls : "<none>", hosts[0] ? hosts : "*",
                     str(lb, "ip", NULL, NULL),
                     json_array_size(json_object_get(spec, "tls")) ? "80, 443" : "80", age(o));
}

static json_t *row_crd(json_t *o)
{
    return json_pack("[o,s]", name(o), str(o, "metadata", "creationTimestamp", NULL));
}

struct kind_table {
    const char *kind;
    row_fn row;
    struct column cols[8];
};

#define NAME_COL                                                                                   \
    {                                                                                              \
        "Name", "string", "name", 0                                                                \
    }
#define AGE_COL                                                                                    \
    {                                                                                              \
        "Age", "string", "", 0                                                                     \
    }

static const struct kind_table tables[] = {
    {"Deployment",
     row_deploy,
     {NAME_COL,
      {"Ready", "string", "", 0},
      {"Up-to-date", "integer", "", 0},
      {"Available", "integer", "", 0},
      AGE_COL}},
    {"StatefulSet", row_sts, {NAME_COL, {"Ready", "string", "", 0}, AGE_COL}},
    {"ReplicaSet",
     row_rs,
     {NAME_COL,
      {"Desired", "integer", "", 0},
      {"Current", "integer", "", 0},
      {"Ready", "integer", "", 0},
      AGE_COL}},
    {"DaemonSet",
     row_ds,
     {NAME_COL,
      {"Desired", "integer", "", 0},
      {"Current", "integer", "", 0},
      {"Ready", "integer", "", 0},
      {"Up-to-date", "integer", "", 0},
      {"Available", "integer", "", 0},
      AGE_COL}},
    {"Job",
     row_job,
     {NAME_COL, {"Status", "string", "", 0}, {"Completions", "string", "", 0}, AGE_COL}},
    {"Pod",
     row_pod,
     {NAME_COL,
      {"Ready", "string", "", 0},
      {"Status", "string", "", 0},
      {"Restarts", "string", "", 0},
      AGE_COL}},
    {"Service",
     row_svc,
     {NAME_COL,
      {"Type", "string", "", 0},
      {"Cluster-IP", "string", "", 0},
      {"External-IP", "string", "", 0},
      {"Port(s)", "string", "", 0},
      AGE_COL}},
    {"ConfigMap", row_cm, {NAME_COL, {"Data", "integer", "", 0}, AGE_COL}},
    {"Secret",
     row_secret,
     {NAME_COL, {"Type", "string", "", 0}, {"Data", "integer", "", 0}, AGE_COL}},
    {"Namespace", row_ns, {NAME_COL, {"Status", "string", "", 0}, AGE_COL}},
    {"PersistentVolumeClaim",
     row_pvc,
     {NAME_COL,
      {"Status", "string", "", 0},
      {"Volume", "string", "", 0},
      {"Capacity", "string", "", 0},
      AGE_COL}},
    {"Ingress",
     row_ing,
     {NAME_COL,
      {"Class", "string", "", 0},
      {"Hosts", "string", "", 0},
      {"Address", "string", "", 0},
      {"Ports", "string", "", 0},
      AGE_COL}},
    {"CustomResourceDefinition", row_crd, {NAME_COL, {"Created At", "date", "", 0}}},
};

static const struct kind_table default_table = {"", row_default, {NAME_COL, AGE_COL}};

static const struct kind_table *table_of(const struct ks_type *t)
{
    if (t->crd)
        return &default_table;
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
        if (strcmp(tables[i].kind, t->kind) == 0)
            return &tables[i];
    return &default_table;
}

static json_t *columns(const struct kind_table *kt)
{
    json_t *cols = json_array();
    for (int i = 0; i < 8 && kt->cols[i].name != NULL; i++)
        json_array_append_new(cols,
                              json_pack("{s:s,s:s,s:s,s:s,s:i}", "name", kt->cols[i].name, "type",
                                        kt->cols[i].type, "format", kt->cols[i].format,
                                        "description", "", "priority", kt->cols[i].priority));
    return cols;
}

json_t *ks_table(const struct ks_type *t, json_t *items, json_t *list_meta, int full)
{
    const struct kind_table *kt = table_of(t);
    json_t *rows = json_array(), *it;
    size_t i;

    json_array_foreach(items, i, it)
    {
        json_t *object =
            full ? json_incref(it)
                 : json_pack("{s:s,s:s,s:O}", "kind", "PartialObjectMetadata", "apiVersion",
                             "meta.k8s.io/v1", "metadata", json_object_get(it, "metadata"));
        json_array_append_new(rows, json_pack("{s:o,s:o}", "cells", kt->row(it), "object", object));
    }
    return json_pack("{s:s,s:s,s:o,s:o,s:o}", "kind", "Table", "apiVersion", "meta.k8s.io/v1",
                     "metadata", list_meta != NULL ? json_incref(list_meta) : json_object(),
                     "columnDefinitions", columns(kt), "rows", rows);
}
