/* protobuf.c -- decode the Kubernetes protobuf request bodies kubectl's typed commands send */
#include "protobuf.h"

#include "gitfleet/error.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32

enum ptype {
    PT_STR,     /* string; "" omitted */
    PT_INT,     /* varint; 0 omitted unless KEEP */
    PT_BOOL,    /* varint; false omitted unless KEEP */
    PT_MSG,     /* nested message; {} omitted unless KEEP */
    PT_INLINE,  /* nested message whose members belong to the parent (json:",inline") */
    PT_MAP_SS,  /* map<string,string> */
    PT_MAP_SB,  /* map<string,bytes>, base64 in JSON */
    PT_MAP_QTY, /* map<string,Quantity{string=1}> */
    PT_INTSTR   /* IntOrString{type=1,intVal=2,strVal=3} */
};

enum { REP = 1, KEEP = 2 };

struct pmsg;
struct pfield {
    int num;
    const char *name;
    enum ptype type;
    int flags;
    const struct pmsg *msg;
};
struct pmsg {
    const struct pfield *f;
};

#define MSG(id, ...)                                                                               \
    static const struct pfield id##_f[] = {__VA_ARGS__, {0, NULL, PT_STR, 0, NULL}};               \
    static const struct pmsg id = {id##_f}

/* Field numbers as kubectl v1.32 writes them (k8s.io/api generated.proto). */
MSG(meta, {1, "name", PT_STR, 0, NULL}, {2, "generateName", PT_STR, 0, NULL},
    {3, "namespace", PT_STR, 0, NULL}, {11, "labels", PT_MAP_SS, 0, NULL},
    {12, "annotations", PT_MAP_SS, 0, NULL}, {14, "finalizers", PT_STR, REP, NULL});
MSG(sel_req, {1, "key", PT_STR, 0, NULL}, {2, "operator", PT_STR, 0, NULL},
    {3, "values", PT_STR, REP, NULL});
MSG(label_sel, {1, "matchLabels", PT_MAP_SS, 0, NULL},
    {2, "matchExpressions", PT_MSG, REP, &sel_req});
MSG(cport, {1, "name", PT_STR, 0, NULL}, {2, "hostPort", PT_INT, 0, NULL},
    {3, "containerPort", PT_INT, 0, NULL}, {4, "protocol", PT_STR, 0, NULL},
    {5, "hostIP", PT_STR, 0, NULL});
MSG(env_var, {1, "name", PT_STR, 0, NULL}, {2, "value", PT_STR, 0, NULL});
MSG(resources, {1, "limits", PT_MAP_QTY, 0, NULL}, {2, "requests", PT_MAP_QTY, 0, NULL});
MSG(vmount, {1, "name", PT_STR, 0, NULL}, {2, "readOnly", PT_BOOL, 0, NULL},
    {3, "mountPath", PT_STR, 0, NULL}, {4, "subPath", PT_STR, 0, NULL});
MSG(container, {1, "name", PT_STR, 0, NULL}, {2, "image", PT_STR, 0, NULL},
    {3, "command", PT_STR, REP, NULL}, {4, "args", PT_STR, REP, NULL},
    {5, "workingDir", PT_STR, 0, NULL}, {6, "ports", PT_MSG, REP, &cport},
    {7, "env", PT_MSG, REP, &env_var}, {8, "resources", PT_MSG, 0, &resources},
    {9, "volumeMounts", PT_MSG, REP, &vmount}, {13, "terminationMessagePath", PT_STR, 0, NULL},
    {14, "imagePullPolicy", PT_STR, 0, NULL}, {20, "terminationMessagePolicy", PT_STR, 0, NULL});
MSG(local_ref, {1, "name", PT_STR, 0, NULL});
MSG(pod_spec, {2, "containers", PT_MSG, REP, &container}, {3, "restartPolicy", PT_STR, 0, NULL},
    {4, "terminationGracePeriodSeconds", PT_INT, KEEP, NULL}, {6, "dnsPolicy", PT_STR, 0, NULL},
    {7, "nodeSelector", PT_MAP_SS, 0, NULL}, {8, "serviceAccountName", PT_STR, 0, NULL},
    {10, "nodeName", PT_STR, 0, NULL}, {11, "hostNetwork", PT_BOOL, 0, NULL},
    {15, "imagePullSecrets", PT_MSG, REP, &local_ref},
    {20, "initContainers", PT_MSG, REP, &container});
MSG(pod_tpl, {1, "metadata", PT_MSG, 0, &meta}, {2, "spec", PT_MSG, 0, &pod_spec});
MSG(rolling, {1, "maxUnavailable", PT_INTSTR, 0, NULL}, {2, "maxSurge", PT_INTSTR, 0, NULL});
MSG(strategy, {1, "type", PT_STR, 0, NULL}, {2, "rollingUpdate", PT_MSG, 0, &rolling});
MSG(deploy_spec, {1, "replicas", PT_INT, KEEP, NULL}, {2, "selector", PT_MSG, 0, &label_sel},
    {3, "template", PT_MSG, 0, &pod_tpl}, {4, "strategy", PT_MSG, 0, &strategy},
    {5, "minReadySeconds", PT_INT, 0, NULL}, {6, "revisionHistoryLimit", PT_INT, KEEP, NULL},
    {7, "paused", PT_BOOL, 0, NULL}, {9, "progressDeadlineSeconds", PT_INT, KEEP, NULL});
MSG(job_spec, {1, "parallelism", PT_INT, KEEP, NULL}, {2, "completions", PT_INT, KEEP, NULL},
    {3, "activeDeadlineSeconds", PT_INT, KEEP, NULL}, {4, "selector", PT_MSG, 0, &label_sel},
    {6, "template", PT_MSG, 0, &pod_tpl}, {7, "backoffLimit", PT_INT, KEEP, NULL});
MSG(job_tpl, {1, "metadata", PT_MSG, 0, &meta}, {2, "spec", PT_MSG, 0, &job_spec});
MSG(cronjob_spec, {1, "schedule", PT_STR, 0, NULL},
    {2, "startingDeadlineSeconds", PT_INT, KEEP, NULL}, {3, "concurrencyPolicy", PT_STR, 0, NULL},
    {4, "suspend", PT_BOOL, KEEP, NULL}, {5, "jobTemplate", PT_MSG, 0, &job_tpl},
    {6, "successfulJobsHistoryLimit", PT_INT, KEEP, NULL},
    {7, "failedJobsHistoryLimit", PT_INT, KEEP, NULL});
MSG(svc_port, {1, "name", PT_STR, 0, NULL}, {2, "protocol", PT_STR, 0, NULL},
    {3, "port", PT_INT, 0, NULL}, {4, "targetPort", PT_INTSTR, 0, NULL},
    {5, "nodePort", PT_INT, 0, NULL});
MSG(svc_spec, {1, "ports", PT_MSG, REP, &svc_port}, {2, "selector", PT_MAP_SS, 0, NULL},
    {3, "clusterIP", PT_STR, 0, NULL}, {4, "type", PT_STR, 0, NULL},
    {5, "externalIPs", PT_STR, REP, NULL}, {7, "sessionAffinity", PT_STR, 0, NULL},
    {8, "loadBalancerIP", PT_STR, 0, NULL}, {10, "externalName", PT_STR, 0, NULL},
    {11, "externalTrafficPolicy", PT_STR, 0, NULL});
MSG(ns_spec, {1, "finalizers", PT_STR, REP, NULL});
MSG(rule, {1, "verbs", PT_STR, REP, NULL}, {2, "apiGroups", PT_STR, REP | KEEP, NULL},
    {3, "resources", PT_STR, REP, NULL}, {4, "resourceNames", PT_STR, REP, NULL},
    {5, "nonResourceURLs", PT_STR, REP, NULL});
MSG(subject, {1, "kind", PT_STR, 0, NULL}, {2, "apiGroup", PT_STR, 0, NULL},
    {3, "name", PT_STR, 0, NULL}, {4, "namespace", PT_STR, 0, NULL});
MSG(role_ref, {1, "apiGroup", PT_STR, 0, NULL}, {2, "kind", PT_STR, 0, NULL},
    {3, "name", PT_STR, 0, NULL});
MSG(pdb_spec, {1, "minAvailable", PT_INTSTR, 0, NULL}, {2, "selector", PT_MSG, 0, &label_sel},
    {3, "maxUnavailable", PT_INTSTR, 0, NULL});
MSG(backend_port, {1, "name", PT_STR, 0, NULL}, {2, "number", PT_INT, 0, NULL});
MSG(svc_backend, {1, "name", PT_STR, 0, NULL}, {2, "port", PT_MSG, 0, &backend_port});
MSG(backend, {4, "service", PT_MSG, 0, &svc_backend});
MSG(http_path, {1, "path", PT_STR, 0, NULL}, {2, "backend", PT_MSG, 0, &backend},
    {3, "pathType", PT_STR, 0, NULL});
MSG(http_rule, {1, "paths", PT_MSG, REP, &http_path});
MSG(rule_value, {1, "http", PT_MSG, 0, &http_rule});
MSG(ing_rule, {1, "host", PT_STR, 0, NULL}, {2, "", PT_INLINE, 0, &rule_value});
MSG(ing_tls, {1, "hosts", PT_STR, REP, NULL}, {2, "secretName", PT_STR, 0, NULL});
MSG(ing_spec, {1, "defaultBackend", PT_MSG, 0, &backend}, {2, "tls", PT_MSG, REP, &ing_tls},
    {3, "rules", PT_MSG, REP, &ing_rule}, {4, "ingressClassName", PT_STR, 0, NULL});

MSG(k_namespace, {1, "metadata", PT_MSG, 0, &meta}, {2, "spec", PT_MSG, 0, &ns_spec});
MSG(k_configmap, {1, "metadata", PT_MSG, 0, &meta}, {2, "data", PT_MAP_SS, 0, NULL},
    {3, "binaryData", PT_MAP_SB, 0, NULL}, {4, "immutable", PT_BOOL, KEEP, NULL});
MSG(k_secret, {1, "metadata", PT_MSG, 0, &meta}, {2, "data", PT_MAP_SB, 0, NULL},
    {3, "type", PT_STR, 0, NULL}, {4, "stringData", PT_MAP_SS, 0, NULL},
    {5, "immutable", PT_BOOL, KEEP, NULL});
MSG(k_sa, {1, "metadata", PT_MSG, 0, &meta}, {3, "imagePullSecrets", PT_MSG, REP, &local_ref},
    {4, "automountServiceAccountToken", PT_BOOL, KEEP, NULL});
MSG(k_deploy, {1, "metadata", PT_MSG, 0, &meta}, {2, "spec", PT_MSG, 0, &deploy_spec});
MSG(k_job, {1, "metadata", PT_MSG, 0, &meta}, {2, "spec", PT_MSG, 0, &job_spec});
MSG(k_cronjob, {1, "metadata", PT_MSG, 0, &meta}, {2, "spec", PT_MSG, 0, &cronjob_spec});
MSG(k_service, {1, "metadata", PT_MSG, 0, &meta}, {2, "spec", PT_MSG, 0, &svc_spec});
MSG(k_role, {1, "metadata", PT_MSG, 0, &meta}, {2, "rules", PT_MSG, REP, &rule});
MSG(k_binding, {1, "metadata", PT_MSG, 0, &meta}, {2, "subjects", PT_MSG, REP, &subject},
    {3, "roleRef", PT_MSG, 0, &role_ref});
MSG(k_pdb, {1, "metadata", PT_MSG, 0, &meta}, {2, "spec", PT_MSG, 0, &pdb_spec});
MSG(k_ingress, {1, "metadata", PT_MSG, 0, &meta}, {2, "spec", PT_MSG, 0, &ing_spec});
MSG(k_pod, {1, "metadata", PT_MSG, 0, &meta}, {2, "spec", PT_MSG, 0, &pod_spec});

static const struct {
    const char *api_version, *kind;
    const struct pmsg *msg;
} kinds[] = {
    {"v1", "Namespace", &k_namespace},
    {"v1", "ConfigMap", &k_configmap},
    {"v1", "Secret", &k_secret},
    {"v1", "ServiceAccount", &k_sa},
    {"v1", "Service", &k_service},
    {"v1", "Pod", &k_pod},
    {"apps/v1", "Deployment", &k_deploy},
    {"batch/v1", "Job", &k_job},
    {"batch/v1", "CronJob", &k_cronjob},
    {"rbac.authorization.k8s.io/v1", "Role", &k_role},
    {"rbac.authorization.k8s.io/v1", "ClusterRole", &k_role},
    {"rbac.authorization.k8s.io/v1", "RoleBinding", &k_binding},
    {"rbac.authorization.k8s.io/v1", "ClusterRoleBinding", &k_binding},
    {"policy/v1", "PodDisruptionBudget", &k_pdb},
    {"networking.k8s.io/v1", "Ingress", &k_ingress},
};

/* ---- wire format ------------------------------------------------------------------------ */

struct rd {
    const unsigned char *p, *end;
};

static int varint(struct rd *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return -1;
        unsigned char c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (c < 0x80) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* The next field: number, wire type, and for length-delimited a sub-reader. */
static int next(struct rd *r, int *num, int *wt, uint64_t *v, struct rd *sub)
{
    uint64_t key, n;
    if (varint(r, &key) < 0)
        return -1;
    *num = (int)(key >> 3);
    *wt = (int)(key & 7);
    switch (*wt) {
    case 0:
        return varint(r, v);
    case 1:
    case 5:
        n = *wt == 1 ? 8 : 4;
        if ((uint64_t)(r->end - r->p) < n)
            return -1;
        r->p += n;
        return 0;
    case 2:
        if (varint(r, &n) < 0 || n > (uint64_t)(r->end - r->p))
            return -1;
        sub->p = r->p;
        sub->end = r->p + n;
        r->p += n;
        return 0;
    default:
        return -1;
    }
}

static json_t *bytes_str(struct rd *s)
{
    return json_stringn((const char *)s->p, (size_t)(s->end - s->p));
}

static json_t *bytes_b64(struct rd *s)
{
    size_t n = (size_t)(s->end - s->p);
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, s->p, (int)n);
    json_t *v = json_string(out);
    free(out);
    return v;
}

/* ---- messages --------------------------------------------------------------------------- */

static int decode_msg(json_t *obj, struct rd *r, const struct pmsg *m, int depth);

static const struct pfield *find_field(const struct pmsg *m, int num)
{
    for (const struct pfield *f = m->f; f->name != NULL; f++)
        if (f->num == num)
            return f;
    return NULL;
}

static int map_entry(json_t *obj, const char *name, struct rd *s, enum ptype type)
{
    json_t *map = json_object_get(obj, name), *val = NULL;
    char *key = NULL;
    int num, wt;
    uint64_t v;
    struct rd sub;

    while (s->p < s->end) {
        if (next(s, &num, &wt, &v, &sub) < 0 || wt != 2)
            goto bad;
        if (num == 1) {
            free(key);
            key = strndup((const char *)sub.p, (size_t)(sub.end - sub.p));
        } else if (num == 2) {
            json_decref(val);
            if (type == PT_MAP_QTY) {
                struct rd q = sub;
                val = NULL;
                while (q.p < q.end && next(&q, &num, &wt, &v, &sub) == 0)
                    if (num == 1 && wt == 2)
                        val = bytes_str(&sub);
            } else {
                val = type == PT_MAP_SB ? bytes_b64(&sub) : bytes_str(&sub);
            }
        }
    }
    if (key == NULL)
        goto bad;
    if (map == NULL)
        json_object_set_new(obj, name, map = json_object());
    json_object_set_new(map, key, val != NULL ? val : json_string(""));
    free(key);
    return 0;
bad:
    free(key);
    json_decref(val);
    return gf_error_set(GF_EINVAL, "protobuf: bad map entry in %s", name);
}

static json_t *int_or_string(struct rd *s)
{
    int num, wt, is_str = 0;
    uint64_t v, iv = 0;
    struct rd sub;
    json_t *str = NULL;

    while (s->p < s->end && next(s, &num, &wt, &v, &sub) == 0) {
        if (num == 1 && wt == 0)
            is_str = v == 1;
        else if (num == 2 && wt == 0)
            iv = v;
        else if (num == 3 && wt == 2) {
            json_decref(str);
            str = bytes_str(&sub);
        }
    }
    if (is_str)
        return str != NULL ? str : json_string("");
    json_decref(str);
    return json_integer((json_int_t)(int32_t)iv);
}

static void put(json_t *obj, const struct pfield *f, json_t *v)
{
    if (f->flags & REP) {
        json_t *arr = json_object_get(obj, f->name);
        if (arr == NULL)
            json_object_set_new(obj, f->name, arr = json_array());
        json_array_append_new(arr, v);
        return;
    }
    json_object_set_new(obj, f->name, v);
}

static int field(json_t *obj, const struct pfield *f, int wt, uint64_t v, struct rd *sub, int depth)
{
    json_t *child;
    int error;

    if (f->type == PT_INT || f->type == PT_BOOL) {
        if (wt != 0)
            return gf_error_set(GF_EINVAL, "protobuf: %s is not a varint", f->name);
        if (v != 0 || (f->flags & KEEP))
            put(obj, f, f->type == PT_BOOL ? json_boolean(v) : json_integer((json_int_t)v));
        return 0;
    }
    if (wt != 2)
        return gf_error_set(GF_EINVAL, "protobuf: %s is not length-delimited", f->name);
    switch (f->type) {
    case PT_STR:
        if (sub->p != sub->end || (f->flags & (REP | KEEP)))
            put(obj, f, bytes_str(sub));
        return 0;
    case PT_MAP_SS:
    case PT_MAP_SB:
    case PT_MAP_QTY:
        return map_entry(obj, f->name, sub, f->type);
    case PT_INTSTR:
        put(obj, f, int_or_string(sub));
        return 0;
    case PT_INLINE:
        return decode_msg(obj, sub, f->msg, depth + 1);
    default:
        child = json_object();
        if ((error = decode_msg(child, sub, f->msg, depth + 1)) < 0) {
            json_decref(child);
            return error;
        }
        if (json_object_size(child) > 0 || (f->flags & (REP | KEEP)))
            put(obj, f, child);
        else
            json_decref(child);
        return 0;
    }
}

static int decode_msg(json_t *obj, struct rd *r, const struct pmsg *m, int depth)
{
    int num, wt, error;
    uint64_t v = 0;
    struct rd sub = {NULL, NULL};

    if (depth > MAX_DEPTH)
        return gf_error_set(GF_EINVAL, "protobuf: nested deeper than %d", MAX_DEPTH);
    while (r->p < r->end) {
        if (next(r, &num, &wt, &v, &sub) < 0)
            return gf_error_set(GF_EINVAL, "protobuf: truncated or malformed message");
        const struct pfield *f = find_field(m, num);
        if (f != NULL && (error = field(obj, f, wt, v, &sub, depth)) < 0)
            return error;
    }
    return 0;
}

int ks_protobuf_decode(json_t **out, const unsigned char *data, size_t len)
{
    struct rd r = {data + 4, data + len}, sub, raw = {NULL, NULL};
    char av[128] = "", kind[128] = "";
    int num, wt;
    uint64_t v;

    if (len < 4 || memcmp(data, "k8s\0", 4) != 0)
        return gf_error_set(GF_EINVAL, "protobuf: the body does not start with k8s\\0");
    while (r.p < r.end) {
        if (next(&r, &num, &wt, &v, &sub) < 0)
            return gf_error_set(GF_EINVAL, "protobuf: malformed runtime.Unknown");
        if (num == 1 && wt == 2) { /* TypeMeta */
            struct rd tm = sub, s;
            while (tm.p < tm.end && next(&tm, &num, &wt, &v, &s) == 0)
                if (wt == 2 && (num == 1 || num == 2))
                    snprintf(num == 1 ? av : kind, 128, "%.*s", (int)(s.end - s.p), s.p);
        } else if (num == 2 && wt == 2) {
            raw = sub;
        }
    }
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(kinds[i].api_version, av) != 0 || strcmp(kinds[i].kind, kind) != 0)
            continue;
        json_t *obj = json_pack("{s:s,s:s}", "apiVersion", av, "kind", kind);
        int error = raw.p != NULL ? decode_msg(obj, &raw, kinds[i].msg, 0) : 0;
        if (error < 0) {
            json_decref(obj);
            return error;
        }
        *out = obj;
        return 0;
    }
    return gf_error_set(GF_EUNSUPPORTED, "protobuf bodies of %s %s are not supported; send JSON",
                        av, kind);
}
