/* objects.c -- object lifecycle rules shared by handlers and controllers: metadata, defaults,
 * validation, namespaces, deletion with finalizers and owner references */
#include "objects.h"

#include "apierr.h"
#include "store.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SUBDOMAIN_MSG                                                                              \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "   \
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "  \
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define LABEL_MSG                                                                                  \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "   \
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "     \
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"

void ks_obj_now(char *buf, size_t n)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

const char *ks_obj_meta(const json_t *obj, const char *field)
{
    const char *s = json_string_value(json_object_get(json_object_get(obj, "metadata"), field));
    return s != NULL ? s : "";
}

static json_t *meta_of(json_t *obj)
{
    json_t *md = json_object_get(obj, "metadata");
    if (!json_is_object(md))
        json_object_set_new(obj, "metadata", md = json_object());
    return md;
}

/* ---- validation ------------------------------------------------------------------------- */

static int is_alnum_lower(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int valid_label(const char *s, size_t n)
{
    if (n == 0 || n > 63 || !is_alnum_lower(s[0]) || !is_alnum_lower(s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum_lower(s[i]) && s[i] != '-')
            return 0;
    return 1;
}

static int valid_subdomain(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return 0;
    while (*s != '\0') {
        size_t len = strcspn(s, ".");
        for (size_t i = 0; i < len; i++)
            if (s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z'))
                return 0;
        if (len == 0 || !is_alnum_lower(s[0]) || !is_alnum_lower(s[len - 1]))
            return 0;
        for (size_t i = 0; i < len; i++)
            if (!is_alnum_lower(s[i]) && s[i] != '-')
                return 0;
        s += len;
        if (*s == '.')
            s++;
    }
    return 1;
}

static int label_named(const struct ks_type *t)
{
    return strcmp(t->key, "namespaces") == 0 || strcmp(t->key, "services") == 0;
}

static void random_suffix(char *buf, size_t n)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    unsigned char r[8];
    RAND_bytes(r, sizeof(r));
    for (size_t i = 0; i + 1 < n && i < sizeof(r); i++)
        buf[i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
    buf[n - 1 < sizeof(r) ? n - 1 : 5] = '\0';
}

static json_t *check_name(const struct ks_type *t, json_t *obj, json_t *causes)
{
    json_t *md = meta_of(obj);
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *gen = json_string_value(json_object_get(md, "generateName"));
    char buf[300], suffix[6];

    if ((name == NULL || name[0] == '\0') && gen != NULL && gen[0] != '\0') {
        random_suffix(suffix, sizeof(suffix));
        snprintf(buf, sizeof(buf), "%s%s", gen, suffix);
        json_object_set_new(md, "name", json_string(buf));
        name = json_string_value(json_object_get(md, "name"));
    }
    if (name == NULL || name[0] == '\0') {
        json_array_append_new(causes,
                              ks_cause("FieldValueRequired", "metadata.name", "Required value",
                                       NULL, "name or generateName is required"));
    } else if (label_named(t) ? !valid_label(name, strlen(name)) : !valid_subdomain(name)) {
        json_array_append_new(causes,
                              ks_cause("FieldValueInvalid", "metadata.name", "Invalid value", name,
                                       label_named(t) ? LABEL_MSG : SUBDOMAIN_MSG));
    }
    return causes;
}

static void check_type_fields(const struct ks_type *t, json_t *obj, json_t *causes)
{
    char want[300];
    const char *av = json_string_value(json_object_get(obj, "apiVersion"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));

    ks_disc_api_version(want, sizeof(want), t);
    if (kind == NULL || kind[0] == '\0')
        json_array_append_new(causes,
                              ks_cause("FieldValueRequired", "kind", "Required value", NULL, NULL));
    if (av == NULL || av[0] == '\0')
        json_array_append_new(
            causes, ks_cause("FieldValueRequired", "apiVersion", "Required value", NULL, NULL));
}

static json_t *check_strict(const struct ks_type *t, json_t *obj)
{
    static const char *const meta_fields[] = {"name",
                                              "generateName",
                                              "namespace",
                                              "uid",
                                              "resourceVersion",
                                              "generation",
                                              "creationTimestamp",
                                              "deletionTimestamp",
                                              "deletionGracePeriodSeconds",
                                              "labels",
                                              "annotations",
                                              "ownerReferences",
                                              "finalizers",
                                              "managedFields",
                                              "selfLink"};
    const char *const *top = ks_disc_top_fields(t);
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        int ok = top == NULL;
        for (int i = 0; !ok && top[i] != NULL; i++)
            ok = strcmp(top[i], key) == 0;
        if (!ok)
            return ks_err_bad_request("strict decoding error: unknown field \"%s\"", key);
    }
    json_object_foreach(json_object_get(obj, "metadata"), key, v)
    {
        int ok = 0;
        for (size_t i = 0; !ok && i < sizeof(meta_fields) / sizeof(meta_fields[0]); i++)
            ok = strcmp(meta_fields[i], key) == 0;
        if (!ok)
            return ks_err_bad_request("strict decoding error: unknown field \"metadata.%s\"", key);
    }
    return NULL;
}

static json_t *check_crd_name(json_t *obj)
{
    json_t *spec = json_object_get(obj, "spec");
    const char *group = json_string_value(json_object_get(spec, "group"));
    const char *plural =
        json_string_value(json_object_get(json_object_get(spec, "names"), "plural"));
    char want[400];

    snprintf(want, sizeof(want), "%s.%s", plural ? plural : "", group ? group : "");
    if (strcmp(ks_obj_meta(obj, "name"), want) == 0)
        return NULL;
    return ks_cause("FieldValueInvalid", "metadata.name", "Invalid value", ks_obj_meta(obj, "name"),
                    "must be spec.names.plural+\".\"+spec.group");
}

json_t *ks_obj_validate(const struct ks_type *t, json_t *obj, const char *url_ns,
                        const char *url_name, int strict)
{
    json_t *causes = json_array(), *md, *c, *err;
    const char *ns;

    if (!json_is_object(obj)) {
        json_decref(causes);
        return ks_err_bad_request("the body of the request is not a JSON object");
    }
    md = meta_of(obj);
    ns = json_string_value(json_object_get(md, "namespace"));
    if (t->namespaced && url_ns != NULL && url_ns[0] != '\0') {
        if (ns != NULL && ns[0] != '\0' && strcmp(ns, url_ns) != 0) {
            json_decref(causes);
            return ks_err_bad_request("the namespace of the provided object does not match the "
                                      "namespace sent on the request");
        }
        json_object_set_new(md, "namespace", json_string(url_ns));
    } else if (!t->namespaced) {
        json_object_del(md, "namespace");
    }
    check_type_fields(t, obj, causes);
    check_name(t, obj, causes);
    if (url_name != NULL && strcmp(ks_obj_meta(obj, "name"), url_name) != 0 &&
        json_array_size(causes) == 0) {
        json_decref(causes);
        return ks_err_bad_request("the name of the object (%s) does not match the name on the "
                                  "URL (%s)",
                                  ks_obj_meta(obj, "name"), url_name);
    }
    if (strcmp(t->key, "customresourcedefinitions.apiextensions.k8s.io") == 0 &&
        json_array_size(causes) == 0 && (c = check_crd_name(obj)) != NULL)
        json_array_append_new(causes, c);
    if (json_array_size(causes) > 0)
        return ks_err_invalid(t, ks_obj_meta(obj, "name"), causes);
    json_decref(causes);
    if (strict && (err = check_strict(t, obj)) != NULL)
        return err;
    return NULL;
}

json_t *ks_obj_check_namespace(const struct ks_type *t, const char *ns, const char *name)
{
    if (!t->namespaced)
        return NULL;
    json_t *nso = ks_store_get("namespaces", "", ns);
    if (nso == NULL)
        return ks_err(404, "NotFound", json_pack("{s:s,s:s}", "name", ns, "kind", "namespaces"),
                      "namespaces \"%s\" not found", ns);
    if (ks_obj_meta(nso, "deletionTimestamp")[0] != '\0')
        return ks_err(403, "Forbidden", json_pack("{s:s,s:s}", "name", name, "kind", t->resource),
                      "%s \"%s\" is forbidden: unable to create new content in namespace %s "
                      "because it is being terminated",
                      t->key, name, ns);
    return NULL;
}

/* ---- defaults and server-owned fields --------------------------------------------------- */

static void default_protocols(json_t *ports)
{
    size_t i;
    json_t *p;
    json_array_foreach(ports, i, p) if (json_is_object(p) && json_object_get(p, "protocol") == NULL)
        json_object_set_new(p, "protocol", json_string("TCP"));
}

static json_t *pod_spec(const struct ks_type *t, json_t *obj)
{
    json_t *spec = json_object_get(obj, "spec");
    if (strcmp(t->kind, "Pod") == 0)
        return spec;
    if (strcmp(t->kind, "CronJob") == 0)
        spec = json_object_get(json_object_get(spec, "jobTemplate"), "spec");
    return json_object_get(json_object_get(spec, "template"), "spec");
}

void ks_obj_default_ports(const struct ks_type *t, json_t *obj)
{
    static const char *const lists[] = {"containers", "initContainers", "ephemeralContainers"};
    json_t *ps = t->crd ? NULL : pod_spec(t, obj), *c;
    size_t i;

    if (strcmp(t->key, "services") == 0)
        default_protocols(json_object_get(json_object_get(obj, "spec"), "ports"));
    for (size_t l = 0; ps != NULL && l < 3; l++)
        json_array_foreach(json_object_get(ps, lists[l]), i, c)
            default_protocols(json_object_get(c, "ports"));
}

static void set_default(json_t *obj, const char *key, json_t *value)
{
    if (json_is_object(obj) && json_object_get(obj, key) == NULL)
        json_object_set_new(obj, key, value);
    else
        json_decref(value);
}

void ks_obj_defaults(const struct ks_type *t, json_t *obj)
{
    json_t *spec = json_object_get(obj, "spec");

    if (t->crd)
        return;
    ks_obj_default_ports(t, obj);
    if (strcmp(t->key, "services") == 0) {
        set_default(spec, "type", json_string("ClusterIP"));
        set_default(spec, "sessionAffinity", json_string("None"));
    } else if (strcmp(t->key, "deployments.apps") == 0) {
        set_default(spec, "replicas", json_integer(1));
        set_default(spec, "progressDeadlineSeconds", json_integer(600));
        set_default(spec, "revisionHistoryLimit", json_integer(10));
        set_default(spec, "strategy",
                    json_pack("{s:s,s:{s:s,s:s}}", "type", "RollingUpdate", "rollingUpdate",
                              "maxUnavailable", "25%", "maxSurge", "25%"));
    } else if (strcmp(t->key, "statefulsets.apps") == 0) {
        set_default(spec, "replicas", json_integer(1));
        set_default(spec, "podManagementPolicy", json_string("OrderedReady"));
        set_default(
            spec, "updateStrategy",
            json_pack("{s:s,s:{s:i}}", "type", "RollingUpdate", "rollingUpdate", "partition", 0));
    } else if (strcmp(t->key, "daemonsets.apps") == 0) {
        set_default(spec, "updateStrategy",
                    json_pack("{s:s,s:{s:i,s:i}}", "type", "RollingUpdate", "rollingUpdate",
                              "maxUnavailable", 1, "maxSurge", 0));
    } else if (strcmp(t->key, "replicasets.apps") == 0) {
        set_default(spec, "replicas", json_integer(1));
    } else if (strcmp(t->key, "jobs.batch") == 0) {
        set_default(spec, "backoffLimit", json_integer(6));
        set_default(spec, "completions", json_integer(1));
        set_default(spec, "parallelism", json_integer(1));
    }
}

static void new_uid(char *buf, size_t n)
{
    unsigned char r[16];
    RAND_bytes(r, sizeof(r));
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(buf, n, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0],
             r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
             r[14], r[15]);
}

static void assign_cluster_ip(json_t *obj)
{
    json_t *spec = json_object_get(obj, "spec");
    char ip[32];
    unsigned h = 2166136261u;

    const char *type = json_string_value(json_object_get(spec, "type"));
    if (!json_is_object(spec) || json_object_get(spec, "clusterIP") != NULL ||
        (type != NULL && strcmp(type, "ExternalName") == 0))
        return;
    for (const char *s = ks_obj_meta(obj, "uid"); *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    snprintf(ip, sizeof(ip), "10.96.%u.%u", (h >> 8) & 255, (h & 253) + 1);
    json_object_set_new(spec, "clusterIP", json_string(ip));
    json_object_set_new(spec, "clusterIPs", json_pack("[s]", ip));
}

static void crd_status(json_t *obj)
{
    char now[32];
    json_t *spec = json_object_get(obj, "spec"), *stored = json_array(), *v;
    size_t i;

    ks_obj_now(now, sizeof(now));
    json_array_foreach(json_object_get(spec, "versions"), i,
                       v) if (json_is_true(json_object_get(v, "storage")))
        json_array_append(stored, json_object_get(v, "name"));
    json_object_set_new(
        obj, "status",
        json_pack("{s:[{s:s,s:s,s:s,s:s,s:s},{s:s,s:s,s:s,s:s,s:s}],s:O*,s:o}", "conditions",
                  "type", "NamesAccepted", "status", "True", "lastTransitionTime", now, "reason",
                  "NoConflicts", "message", "no conflicts found", "type", "Established", "status",
                  "True", "lastTransitionTime", now, "reason", "InitialNamesAccepted", "message",
                  "the initial names have been accepted", "acceptedNames",
                  json_object_get(spec, "names"), "storedVersions", stored));
}

void ks_obj_create_meta(const struct ks_type *t, json_t *obj)
{
    json_t *md = meta_of(obj);
    char buf[64];

    new_uid(buf, sizeof(buf));
    json_object_set_new(md, "uid", json_string(buf));
    ks_obj_now(buf, sizeof(buf));
    json_object_set_new(md, "creationTimestamp", json_string(buf));
    json_object_del(md, "deletionTimestamp");
    json_object_del(md, "resourceVersion");
    if (t->has_generation)
        json_object_set_new(md, "generation", json_integer(1));
    else
        json_object_del(md, "generation");
    if (t->has_status && strcmp(t->key, "namespaces") != 0)
        json_object_del(obj, "status");
    ks_obj_defaults(t, obj);
    if (strcmp(t->key, "services") == 0)
        assign_cluster_ip(obj);
    else if (strcmp(t->key, "namespaces") == 0) {
        json_object_set_new(obj, "spec", json_pack("{s:[s]}", "finalizers", "kubernetes"));
        json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Active"));
    } else if (strcmp(t->key, "customresourcedefinitions.apiextensions.k8s.io") == 0)
        crd_status(obj);
}

/* Everything but metadata and status: what metadata.generation tracks. */
static json_t *spec_part(const json_t *obj)
{
    json_t *c = json_copy((json_t *)obj);
    json_object_del(c, "metadata");
    json_object_del(c, "status");
    return c;
}

void ks_obj_update_meta(const struct ks_type *t, json_t *obj, const json_t *live)
{
    static const char *const keep[] = {"uid", "creationTimestamp", "deletionTimestamp",
                                       "generation", "deletionGracePeriodSeconds"};
    json_t *md = meta_of(obj), *lmd = json_object_get(live, "metadata");

    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        json_t *v = json_object_get(lmd, keep[i]);
        if (v != NULL)
            json_object_set(md, keep[i], v);
        else
            json_object_del(md, keep[i]);
    }
    ks_obj_defaults(t, obj);
    json_t *lspec = json_object_get(live, "spec"), *spec = json_object_get(obj, "spec");
    if (strcmp(t->key, "services") == 0 && json_is_object(spec) &&
        json_object_get(spec, "clusterIP") == NULL && json_object_get(lspec, "clusterIP")) {
        json_object_set(spec, "clusterIP", json_object_get(lspec, "clusterIP"));
        json_object_set(spec, "clusterIPs", json_object_get(lspec, "clusterIPs"));
    }
    if (strcmp(t->key, "namespaces") == 0 && json_object_get(obj, "spec") == NULL)
        json_object_set(obj, "spec", lspec);
    if (!t->has_generation)
        return;
    json_t *a = spec_part(obj), *b = spec_part(live);
    json_int_t gen = json_integer_value(json_object_get(lmd, "generation"));
    json_object_set_new(md, "generation", json_integer(json_equal(a, b) ? gen : gen + 1));
    json_decref(a);
    json_decref(b);
}

/* ---- deletion --------------------------------------------------------------------------- */

static int gc_pending;

static const char *str_or_empty(const json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : "";
}

static void remove_now(const struct ks_type *t, const json_t *obj)
{
    const char *ns = ks_obj_meta(obj, "namespace");
    json_t *hold = json_incref((json_t *)obj);

    ks_store_remove(t->key, ns, ks_obj_meta(obj, "name"));
    if (strcmp(t->key, "customresourcedefinitions.apiextensions.k8s.io") == 0) {
        json_t *spec = json_object_get(hold, "spec");
        char key[300];
        snprintf(key, sizeof(key), "%s.%s",
                 json_string_value(json_object_get(json_object_get(spec, "names"), "plural")),
                 json_string_value(json_object_get(spec, "group")));
        ks_store_drop_resource(key);
        ks_disc_remove_crd(hold);
    }
    json_decref(hold);
    gc_pending = 1;
}

json_t *ks_obj_store(const struct ks_type *t, json_t *obj)
{
    json_t *fin = json_object_get(json_object_get(obj, "metadata"), "finalizers");
    const char *ns = ks_obj_meta(obj, "namespace");

    if (ks_obj_meta(obj, "deletionTimestamp")[0] != '\0' && json_array_size(fin) == 0 &&
        strcmp(t->key, "namespaces") != 0) {
        remove_now(t, obj);
        json_decref(obj);
        return NULL;
    }
    if (ks_obj_meta(obj, "deletionTimestamp")[0] != '\0')
        gc_pending = 1;
    return ks_store_put(t->key, ns, ks_obj_meta(obj, "name"), obj);
}

static int has_string(json_t *list, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i,
                       v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return 1;
    return 0;
}

/* Drop owner references to `uid` from every object (Orphan). */
static void orphan_dependents(const char *uid)
{
    json_t *all = json_deep_copy(ks_store_all()), *bucket, *obj;
    const char *res, *key;

    json_object_foreach(all, res, bucket)
    {
        const struct ks_type *t = ks_disc_find_key(res);
        json_object_foreach(bucket, key, obj)
        {
            json_t *refs = json_object_get(json_object_get(obj, "metadata"), "ownerReferences");
            size_t i, before = json_array_size(refs);
            json_t *r;
            for (i = json_array_size(refs); i-- > 0;)
                if ((r = json_array_get(refs, i)) &&
                    strcmp(str_or_empty(json_object_get(r, "uid")), uid) == 0)
                    json_array_remove(refs, i);
            int changed = json_array_size(refs) != before;
            if (refs != NULL && json_array_size(refs) == 0)
                json_object_del(json_object_get(obj, "metadata"), "ownerReferences");
            if (t != NULL && changed)
                ks_store_put(t->key, ks_obj_meta(obj, "namespace"), ks_obj_meta(obj, "name"),
                             json_incref(obj));
        }
    }
    json_decref(all);
}

json_t *ks_obj_delete(const struct ks_type *t, const json_t *live, const char *policy)
{
    json_t *copy = json_deep_copy(live), *md = meta_of(copy);
    json_t *fin = json_object_get(md, "finalizers");
    char now[32];
    int foreground = policy != NULL && strcmp(policy, "Foreground") == 0;

    ks_obj_now(now, sizeof(now));
    if (policy != NULL && strcmp(policy, "Orphan") == 0)
        orphan_dependents(ks_obj_meta(live, "uid"));
    if (strcmp(t->key, "namespaces") == 0 || foreground || json_array_size(fin) > 0) {
        if (ks_obj_meta(live, "deletionTimestamp")[0] != '\0')
            return copy;
        json_object_set_new(md, "deletionTimestamp", json_string(now));
        json_object_set_new(md, "deletionGracePeriodSeconds", json_integer(0));
        if (foreground && !has_string(fin, "foregroundDeletion")) {
            if (fin == NULL)
                json_object_set_new(md, "finalizers", fin = json_array());
            json_array_append_new(fin, json_string("foregroundDeletion"));
        }
        if (strcmp(t->key, "namespaces") == 0)
            json_object_set_new(copy, "status", json_pack("{s:s}", "phase", "Terminating"));
        gc_pending = 1;
        json_t *stored = ks_store_put(t->key, ks_obj_meta(copy, "namespace"),
                                      ks_obj_meta(copy, "name"), json_incref(copy));
        json_decref(copy);
        return json_incref(stored);
    }
    remove_now(t, live);
    return copy;
}

/* ---- garbage collection ----------------------------------------------------------------- */

struct gc_state {
    json_t *uids;       /* uid -> object of every stored object */
    json_t *referenced; /* uid -> true for every owner some object points at */
    int changed;
};

static void index_objects(struct gc_state *g, json_t *all)
{
    const char *res, *key;
    json_t *bucket, *obj, *r;
    size_t i;

    json_object_foreach(all, res, bucket) json_object_foreach(bucket, key, obj)
    {
        json_object_set(g->uids, ks_obj_meta(obj, "uid"), obj);
        json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), i,
                           r) if (json_string_value(json_object_get(r, "uid")))
            json_object_set_new(g->referenced, json_string_value(json_object_get(r, "uid")),
                                json_true());
    }
}

/* Should a dependent go: every owner gone, or one deleted in the foreground? */
static int orphaned(struct gc_state *g, json_t *obj)
{
    json_t *refs = json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), *r;
    size_t i;
    int alive = 0;

    if (json_array_size(refs) == 0)
        return 0;
    json_array_foreach(refs, i, r)
    {
        json_t *owner = json_object_get(g->uids, str_or_empty(json_object_get(r, "uid")));
        if (owner == NULL)
            continue;
        if (has_string(json_object_get(json_object_get(owner, "metadata"), "finalizers"),
                       "foregroundDeletion"))
            return 1;
        alive = 1;
    }
    return !alive;
}

static int in_terminating_ns(struct gc_state *g, const struct ks_type *t, json_t *obj)
{
    if (!t->namespaced)
        return 0;
    json_t *ns = ks_store_get("namespaces", "", ks_obj_meta(obj, "namespace"));
    (void)g;
    return ns == NULL || ks_obj_meta(ns, "deletionTimestamp")[0] != '\0';
}

static void finish_foreground(struct gc_state *g, const struct ks_type *t, json_t *obj)
{
    json_t *copy = json_deep_copy(obj);
    json_t *fin = json_object_get(json_object_get(copy, "metadata"), "finalizers"), *v;
    size_t i;

    if (json_object_get(g->referenced, ks_obj_meta(obj, "uid")) != NULL) {
        json_decref(copy);
        return;
    }
    json_array_foreach(fin, i, v) if (strcmp(str_or_empty(v), "foregroundDeletion") == 0)
    {
        json_array_remove(fin, i);
        break;
    }
    ks_obj_store(t, copy);
    g->changed = 1;
}

static void collect_one(struct gc_state *g, const struct ks_type *t, json_t *obj)
{
    int deleting = ks_obj_meta(obj, "deletionTimestamp")[0] != '\0';

    if (strcmp(t->key, "namespaces") == 0)
        return;
    if (!deleting && (in_terminating_ns(g, t, obj) || orphaned(g, obj))) {
        json_decref(ks_obj_delete(t, obj, "Background"));
        g->changed = 1;
    } else if (deleting &&
               has_string(json_object_get(json_object_get(obj, "metadata"), "finalizers"),
                          "foregroundDeletion")) {
        finish_foreground(g, t, obj);
    }
}

static void finish_namespaces(struct gc_state *g)
{
    json_t *all = ks_store_all(), *list = ks_store_list("namespaces", NULL, NULL), *ns, *bucket,
           *obj;
    const char *res, *key;
    size_t i;

    json_array_foreach(list, i, ns)
    {
        if (ks_obj_meta(ns, "deletionTimestamp")[0] == '\0')
            continue;
        int left = 0;
        char prefix[300];
        int plen = snprintf(prefix, sizeof(prefix), "%s/", ks_obj_meta(ns, "name"));
        json_object_foreach(all, res, bucket)
            json_object_foreach(bucket, key, obj) if (strncmp(key, prefix, (size_t)plen) == 0)
                left = 1;
        if (!left) {
            remove_now(ks_disc_find_key("namespaces"), ns);
            g->changed = 1;
        }
    }
    json_decref(list);
}

void ks_obj_collect_garbage(void)
{
    struct gc_state g = {json_object(), json_object(), 0};
    json_t *all, *bucket, *obj;
    const char *res, *key;

    if (!gc_pending)
        goto out;
    gc_pending = 0;
    all = json_copy(ks_store_all()); /* the buckets change while we delete */
    json_object_foreach(all, res, bucket) json_object_set_new(all, res, json_copy(bucket));
    index_objects(&g, all);
    json_object_foreach(all, res, bucket)
    {
        const struct ks_type *t = ks_disc_find_key(res);
        if (t == NULL)
            continue;
        struct ks_type tc = *t;
        json_object_foreach(bucket, key, obj) collect_one(&g, &tc, obj);
    }
    json_decref(all);
    finish_namespaces(&g);
    if (g.changed)
        gc_pending = 1;
out:
    json_decref(g.uids);
    json_decref(g.referenced);
}
