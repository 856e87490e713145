/* health.c -- Argo CD's built-in health checks per kind (gitops-engine pkg/health) */
#include "health.h"
#include "healthlua.h"
#include "gitfleet/error.h"
#include "gitfleet/healthscripts.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * The rules, messages and their order follow gitops-engine as Argo CD ships
 * it (/work/shared/corpus/health/RULES.md describes them). Go converts the
 * object to a typed struct first and reports "failed to convert unstructured
 * <Kind> to typed: <why>" when a field has the wrong type; here the fields a
 * check reads are type-checked as they are read, and the first mismatch
 * turns the result into that Unknown (the <why> text is ours, not Go's).
 * Absent and null fields read as zero values, as after Go's conversion.
 */

#define HOOK_FINALIZER "argocd.argoproj.io/hook-finalizer"

struct check {
    const json_t *obj;
    enum agent_health_variant variant;
    const char *label;    /* the kind as Go's error messages name it; NULL: no typing */
    const char *where;    /* prefix for type errors inside list elements */
    char type_error[256]; /* the first field of the wrong type */
    struct agent_health *out;
    int oom;
};

/* --- results ------------------------------------------------------------ */

static void set(struct check *c, enum agent_health_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set(struct check *c, enum agent_health_status status, const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0) {
        msg = NULL;
        c->oom = 1;
    }
    va_end(ap);
    free(c->out->message);
    c->out->message = msg;
    c->out->status = status;
}

/* `s` quoted as Go's %q does for valid UTF-8: \" \\ and the C escapes,
 * other ASCII controls as \xNN, U+0080..U+00A0 and U+00AD as \u00NN; other
 * characters as they are (Go also escapes rarer non-printable code points). */
static char *go_quote(const char *s)
{
    static const char short_esc[] = "\a\b\f\n\r\t\v", letters[] = "abfnrtv";
    char *q = malloc(strlen(s) * 6 + 3), *p = q;

    if (q == NULL)
        return NULL;
    *p++ = '"';
    for (const unsigned char *u = (const unsigned char *)s; *u != '\0'; u++) {
        const char *e = *u ? strchr(short_esc, *u) : NULL;
        if (*u == '"' || *u == '\\') {
            *p++ = '\\';
            *p++ = (char)*u;
        } else if (e != NULL) {
            *p++ = '\\';
            *p++ = letters[e - short_esc];
        } else if (*u < 0x20 || *u == 0x7f) {
            p += sprintf(p, "\\x%02x", *u);
        } else if (u[0] == 0xc2 && ((u[1] >= 0x80 && u[1] <= 0xa0) || u[1] == 0xad)) {
            p += sprintf(p, "\\u00%02x", u[1]);
            u++;
        } else {
            *p++ = (char)*u;
        }
    }
    *p++ = '"';
    *p = '\0';
    return q;
}

/* --- typed reads -------------------------------------------------------- */

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    default:
        return "null";
    }
}

static void type_error(struct check *c, const char *path, const char *want, const json_t *got)
{
    if (c->type_error[0] == '\0')
        snprintf(c->type_error, sizeof(c->type_error), "%s%s%s: expected %s, found %s",
                 c->where ? c->where : "", c->where && *path ? "." : "", path, want,
                 json_kind(got));
}

/* The value at dotted `path` under `base`, NULL when absent or null. An
 * intermediate that exists but is not an object is a type error. */
static const json_t *field(struct check *c, const json_t *base, const char *path)
{
    const json_t *cur = base;
    const char *p = path;

    while (cur != NULL && !json_is_null(cur)) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!json_is_object(cur)) {
            type_error(c, path, "object on the way", cur);
            return NULL;
        }
        cur = json_object_getn(cur, p, n);
        if (dot == NULL)
            return json_is_null(cur) ? NULL : cur;
        p = dot + 1;
    }
    return NULL;
}

static int has(struct check *c, const json_t *base, const char *path)
{
    return field(c, base, path) != NULL;
}

static long long get_int(struct check *c, const json_t *base, const char *path)
{
    const json_t *v = field(c, base, path);

    if (v == NULL)
        return 0;
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_real(v) && json_real_value(v) == (double)(long long)json_real_value(v))
        return (long long)json_real_value(v);
    type_error(c, path, "integer", v);
    return 0;
}

static const char *get_str(struct check *c, const json_t *base, const char *path)
{
    const json_t *v = field(c, base, path);

    if (v == NULL)
        return "";
    if (json_is_string(v))
        return json_string_value(v);
    type_error(c, path, "string", v);
    return "";
}

static int get_bool(struct check *c, const json_t *base, const char *path)
{
    const json_t *v = field(c, base, path);

    if (v != NULL && !json_is_boolean(v))
        type_error(c, path, "boolean", v);
    return json_is_true(v);
}

/* An array (NULL when absent, null or of the wrong type). */
static const json_t *get_list(struct check *c, const json_t *base, const char *path)
{
    const json_t *v = field(c, base, path);

    if (v != NULL && !json_is_array(v)) {
        type_error(c, path, "array", v);
        return NULL;
    }
    return v;
}

static const json_t *get_obj(struct check *c, const json_t *base, const char *path)
{
    const json_t *v = field(c, base, path);

    if (v != NULL && !json_is_object(v)) {
        type_error(c, path, "object", v);
        return NULL;
    }
    return v;
}

/* The string value of annotation `key` (keys hold dots, so no dotted path). */
static const char *annotation(struct check *c, const char *key)
{
    const json_t *ann = get_obj(c, c->obj, "metadata.annotations");
    const json_t *v = ann ? json_object_get(ann, key) : NULL;

    if (v == NULL || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        type_error(c, "metadata.annotations", "string values", v);
        return NULL;
    }
    return json_string_value(v);
}

/* The first entry of the condition list at `path` whose type is `type`;
 * every entry's type, status, reason and message are type-checked. */
static const json_t *condition(struct check *c, const char *path, const char *type)
{
    const json_t *list = get_list(c, c->obj, path), *found = NULL, *el;
    char where[128];
    size_t i;

    snprintf(where, sizeof(where), "%s[]", path);
    c->where = where;
    json_array_foreach(list, i, el)
    {
        if (!json_is_object(el) && !json_is_null(el)) {
            type_error(c, "", "object", el);
            continue;
        }
        const char *t = get_str(c, el, "type");
        get_str(c, el, "status"), get_str(c, el, "reason"), get_str(c, el, "message");
        if (found == NULL && strcmp(t, type) == 0)
            found = el;
    }
    c->where = NULL;
    return found;
}

/* A string field of a condition found by condition(); "" for none. */
static const char *cond_str(const json_t *cond, const char *key)
{
    const char *s = json_string_value(json_object_get(cond, key));

    return s ? s : "";
}

/* --- apps/v1 workloads ---------------------------------------------------- */

/* go_quote() for a message; NULL (and the check marked out of memory) on
 * failure, which callers print as "". */
static char *quote(struct check *c, const char *s)
{
    char *q = go_quote(s);

    if (q == NULL)
        c->oom = 1;
    return q;
}

static void check_deployment(struct check *c)
{
    const json_t *o = c->obj;
    int paused = get_bool(c, o, "spec.paused");
    long long gen = get_int(c, o, "metadata.generation");
    long long observed = get_int(c, o, "status.observedGeneration");
    int has_replicas = has(c, o, "spec.replicas");
    long long replicas = get_int(c, o, "spec.replicas");
    long long current = get_int(c, o, "status.replicas");
    long long updated = get_int(c, o, "status.updatedReplicas");
    long long available = get_int(c, o, "status.availableReplicas");
    const json_t *progress = condition(c, "status.conditions", "Progressing");

    if (paused)
        set(c, AGENT_HEALTH_SUSPENDED, "Deployment is paused");
    else if (gen > observed)
        set(c, AGENT_HEALTH_PROGRESSING,
            "Waiting for rollout to finish: observed deployment "
            "generation less than desired generation");
    else if (strcmp(cond_str(progress, "reason"), "ProgressDeadlineExceeded") == 0) {
        char *q = quote(c, get_str(c, o, "metadata.name"));
        set(c, AGENT_HEALTH_DEGRADED, "Deployment %s exceeded its progress deadline", q ? q : "");
        free(q);
    } else if (has_replicas && updated < replicas)
        set(c, AGENT_HEALTH_PROGRESSING,
            "Waiting for rollout to finish: %lld out of %lld new replicas have been updated...",
            updated, replicas);
    else if (current > updated)
        set(c, AGENT_HEALTH_PROGRESSING,
            "Waiting for rollout to finish: %lld old replicas are pending termination...",
            current - updated);
    else if (available < updated)
        set(c, AGENT_HEALTH_PROGRESSING,
            "Waiting for rollout to finish: %lld of %lld updated replicas are available...",
            available, updated);
    else
        set(c, AGENT_HEALTH_HEALTHY, "%s", "");
}

/* StatefulSets with a rollingUpdate block report on the partition only. */
static void statefulset_partitioned(struct check *c, int has_replicas, long long replicas,
                                    long long updated)
{
    int has_partition = has(c, c->obj, "spec.updateStrategy.rollingUpdate.partition");
    long long partition = get_int(c, c->obj, "spec.updateStrategy.rollingUpdate.partition");

    if (has_replicas && has_partition && updated < replicas - partition)
        set(c, AGENT_HEALTH_PROGRESSING,
            "Waiting for partitioned roll out to finish: %lld out of %lld new pods have been "
            "updated...",
            updated, replicas - partition);
    else
        set(c, AGENT_HEALTH_HEALTHY,
            "partitioned roll out complete: %lld new pods have been updated...", updated);
}

static void check_statefulset(struct check *c)
{
    const json_t *o = c->obj;
    long long gen = get_int(c, o, "metadata.generation");
    long long observed = get_int(c, o, "status.observedGeneration");
    int has_replicas = has(c, o, "spec.replicas");
    long long replicas = get_int(c, o, "spec.replicas");
    long long ready = get_int(c, o, "status.readyReplicas");
    long long updated = get_int(c, o, "status.updatedReplicas");
    long long current = get_int(c, o, "status.currentReplicas");
    const char *strategy = get_str(c, o, "spec.updateStrategy.type");
    const json_t *rolling = get_obj(c, o, "spec.updateStrategy.rollingUpdate");
    const char *update_rev = get_str(c, o, "status.updateRevision");
    const char *current_rev = get_str(c, o, "status.currentRevision");

    if (observed == 0 || gen > observed)
        set(c, AGENT_HEALTH_PROGRESSING, "Waiting for statefulset spec update to be observed...");
    else if (has_replicas && ready < replicas)
        set(c, AGENT_HEALTH_PROGRESSING, "Waiting for %lld pods to be ready...", replicas - ready);
    else if (strcmp(strategy, "RollingUpdate") == 0 && rolling != NULL)
        statefulset_partitioned(c, has_replicas, replicas, updated);
    else if (strcmp(strategy, "OnDelete") == 0)
        set(c, AGENT_HEALTH_HEALTHY, "statefulset has %lld ready pods", ready);
    else if (strcmp(update_rev, current_rev) != 0)
        set(c, AGENT_HEALTH_PROGRESSING,
            "waiting for statefulset rolling update to complete %lld pods at revision %s...",
            updated, update_rev);
    else
        set(c, AGENT_HEALTH_HEALTHY,
            "statefulset rolling update complete %lld pods at revision %s...", current,
            current_rev);
}

static void check_daemonset(struct check *c)
{
    const json_t *o = c->obj;
    long long gen = get_int(c, o, "metadata.generation");
    long long observed = get_int(c, o, "status.observedGeneration");
    long long updated = get_int(c, o, "status.updatedNumberScheduled");
    long long desired = get_int(c, o, "status.desiredNumberScheduled");
    long long available = get_int(c, o, "status.numberAvailable");
    const char *strategy = get_str(c, o, "spec.updateStrategy.type");
    char *name = quote(c, get_str(c, o, "metadata.name"));

    if (gen > observed)
        set(c, AGENT_HEALTH_PROGRESSING,
            "Waiting for rollout to finish: observed daemon set "
            "generation less than desired generation");
    else if (strcmp(strategy, "OnDelete") == 0)
        set(c, AGENT_HEALTH_HEALTHY, "daemon set %lld out of %lld new pods have been updated",
            updated, desired);
    else if (updated < desired)
        set(c, AGENT_HEALTH_PROGRESSING,
            "Waiting for daemon set %s rollout to finish: %lld out of %lld new pods have been "
            "updated...",
            name ? name : "", updated, desired);
    else if (available < desired)
        set(c, AGENT_HEALTH_PROGRESSING,
            "Waiting for daemon set %s rollout to finish: %lld of %lld updated pods are "
            "available...",
            name ? name : "", available, desired);
    else
        set(c, AGENT_HEALTH_HEALTHY, "%s", "");
    free(name);
}

static void check_replicaset(struct check *c)
{
    const json_t *o = c->obj;
    long long gen = get_int(c, o, "metadata.generation");
    long long observed = get_int(c, o, "status.observedGeneration");
    int has_replicas = has(c, o, "spec.replicas");
    long long replicas = get_int(c, o, "spec.replicas");
    long long available = get_int(c, o, "status.availableReplicas");
    const json_t *failure = condition(c, "status.conditions", "ReplicaFailure");

    if (gen > observed)
        set(c, AGENT_HEALTH_PROGRESSING,
            "Waiting for rollout to finish: observed replica set "
            "generation less than desired generation");
    else if (strcmp(cond_str(failure, "status"), "True") == 0)
        set(c, AGENT_HEALTH_DEGRADED, "%s", cond_str(failure, "message"));
    else if (has_replicas && available < replicas)
        set(c, AGENT_HEALTH_PROGRESSING,
            "Waiting for rollout to finish: %lld out of %lld new replicas are available...",
            available, replicas);
    else
        set(c, AGENT_HEALTH_HEALTHY, "%s", "");
}

/* --- Pod ------------------------------------------------------------------ */

/* Argo CD's hook test: an argocd.argoproj.io/hook annotation makes a hook
 * unless its valid values are exactly one "Skip"; without it, any
 * helm.sh/hook but crd-install does. */
static int is_hook(struct check *c)
{
    static const char *const types[] = {"PreSync",    "Sync", "PostSync", "SyncFail",
                                        "PostDelete", "Skip", NULL};
    const char *argo = annotation(c, "argocd.argoproj.io/hook");
    const char *helm = annotation(c, "helm.sh/hook");
    int valid = 0, skip = 0;

    if (argo == NULL)
        return helm != NULL && strcmp(helm, "crd-install") != 0;
    for (const char *p = argo; *p != '\0';) {
        size_t n = strcspn(p, ",");
        const char *s = p, *e = p + n;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        for (int k = 0; types[k] != NULL; k++)
            if ((size_t)(e - s) == strlen(types[k]) && strncmp(s, types[k], (size_t)(e - s)) == 0)
                valid++, skip += k == 5;
        p += n + (p[n] == ',');
    }
    return !(skip > 0 && valid == 1);
}

static int pod_long_running(struct check *c)
{
    const char *ignore = annotation(c, "argocd.argoproj.io/ignore-restart-policy");

    if (strcmp(get_str(c, c->obj, "spec.restartPolicy"), "Always") == 0)
        return 1;
    return c->variant == AGENT_HEALTH_ARGOCD && ignore != NULL && strcmp(ignore, "true") == 0 &&
           !is_hook(c);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Degraded with the joined waiting messages when a container waits on an
 * error or a back-off; returns 1 when it set the result. */
static int pod_waiting_errors(struct check *c)
{
    const json_t *list = get_list(c, c->obj, "status.containerStatuses"), *cs;
    char *joined = NULL;
    size_t len = 0, i;
    int found = 0;
    FILE *f = open_memstream(&joined, &len);

    if (f == NULL) {
        c->oom = 1;
        return 1;
    }
    c->where = "status.containerStatuses[]";
    json_array_foreach(list, i, cs)
    {
        const char *reason = get_str(c, cs, "state.waiting.reason");
        if (strncmp(reason, "Err", 3) == 0 || ends_with(reason, "Error") ||
            ends_with(reason, "BackOff"))
            fprintf(f, "%s%s", found++ ? ", " : "", get_str(c, cs, "state.waiting.message"));
    }
    c->where = NULL;
    fclose(f);
    if (found)
        set(c, AGENT_HEALTH_DEGRADED, "%s", joined);
    free(joined);
    return found;
}

/* Why a failed pod failed, from the first terminated container that says. */
static void pod_failed(struct check *c, const char *msg)
{
    static const char *const lists[] = {"status.initContainerStatuses", "status.containerStatuses"};
    const json_t *cs;
    size_t i;

    if (msg[0] != '\0') {
        set(c, AGENT_HEALTH_DEGRADED, "%s", msg);
        return;
    }
    for (int l = 0; l < 2; l++) {
        json_array_foreach(get_list(c, c->obj, lists[l]), i, cs)
        {
            const json_t *term = get_obj(c, cs, "state.terminated");
            long long code = get_int(c, term, "exitCode");
            if (term == NULL)
                continue;
            if (get_str(c, term, "message")[0] != '\0')
                set(c, AGENT_HEALTH_DEGRADED, "%s", get_str(c, term, "message"));
            else if (strcmp(get_str(c, term, "reason"), "OOMKilled") == 0)
                set(c, AGENT_HEALTH_DEGRADED, "OOMKilled");
            else if (code != 0) {
                char *q = quote(c, get_str(c, cs, "name"));
                set(c, AGENT_HEALTH_DEGRADED, "container %s failed with exit code %lld", q ? q : "",
                    code);
                free(q);
            } else
                continue;
            return;
        }
    }
    set(c, AGENT_HEALTH_DEGRADED, "%s", "");
}

static void pod_running_long(struct check *c, const char *msg)
{
    const json_t *ready = condition(c, "status.conditions", "Ready"), *cs;
    size_t i;

    if (strcmp(cond_str(ready, "status"), "True") == 0) {
        set(c, AGENT_HEALTH_HEALTHY, "%s", msg);
        return;
    }
    json_array_foreach(get_list(c, c->obj, "status.containerStatuses"), i, cs)
    {
        if (get_obj(c, cs, "lastState.terminated") != NULL) {
            set(c, AGENT_HEALTH_DEGRADED, "%s", msg);
            return;
        }
    }
    set(c, AGENT_HEALTH_PROGRESSING, "%s", msg);
}

static void check_pod(struct check *c)
{
    const char *phase = get_str(c, c->obj, "status.phase");
    const char *msg = get_str(c, c->obj, "status.message");
    const char *policy = get_str(c, c->obj, "spec.restartPolicy");
    int long_running = pod_long_running(c);

    if (long_running && pod_waiting_errors(c))
        return;
    if (strcmp(phase, "Pending") == 0)
        set(c, AGENT_HEALTH_PROGRESSING, "%s", msg);
    else if (strcmp(phase, "Succeeded") == 0)
        set(c, AGENT_HEALTH_HEALTHY, "%s", msg);
    else if (strcmp(phase, "Failed") == 0)
        pod_failed(c, msg);
    else if (strcmp(phase, "Running") == 0 && long_running)
        pod_running_long(c, msg);
    else if (strcmp(phase, "Running") == 0 &&
             (strcmp(policy, "OnFailure") == 0 || strcmp(policy, "Never") == 0))
        set(c, AGENT_HEALTH_PROGRESSING, "%s", msg);
    else
        set(c, AGENT_HEALTH_UNKNOWN, "%s", msg);
}

/* --- core, networking, batch --------------------------------------------- */

static void check_pvc(struct check *c)
{
    const char *phase = get_str(c, c->obj, "status.phase");

    if (strcmp(phase, "Bound") == 0)
        set(c, AGENT_HEALTH_HEALTHY, "%s", "");
    else if (strcmp(phase, "Pending") == 0)
        set(c, AGENT_HEALTH_PROGRESSING, "%s", "");
    else if (strcmp(phase, "Lost") == 0)
        set(c, AGENT_HEALTH_DEGRADED, "%s", "");
    else
        set(c, AGENT_HEALTH_UNKNOWN, "%s", "");
}

/* Healthy once the load balancer has an address. */
static void load_balancer(struct check *c)
{
    const json_t *ingress = get_list(c, c->obj, "status.loadBalancer.ingress");

    set(c, json_array_size(ingress) > 0 ? AGENT_HEALTH_HEALTHY : AGENT_HEALTH_PROGRESSING, "%s",
        "");
}

static void check_service(struct check *c)
{
    if (strcmp(get_str(c, c->obj, "spec.type"), "LoadBalancer") == 0)
        load_balancer(c);
    else
        set(c, AGENT_HEALTH_HEALTHY, "%s", "");
}

static void check_job(struct check *c)
{
    const json_t *cond;
    const char *msg = "", *fail_msg = "";
    int failed = 0, complete = 0, suspended = 0;
    size_t i;

    c->where = "status.conditions[]";
    json_array_foreach(get_list(c, c->obj, "status.conditions"), i, cond)
    {
        const char *type = get_str(c, cond, "type"), *text = get_str(c, cond, "message");
        const char *status = get_str(c, cond, "status");
        if (strcmp(type, "Failed") == 0)
            failed = complete = 1, fail_msg = text;
        else if (strcmp(type, "Complete") == 0)
            complete = 1, msg = text;
        else if (strcmp(type, "Suspended") == 0) {
            complete = 1, msg = text;
            suspended |= strcmp(status, "True") == 0;
        }
    }
    c->where = NULL;
    if (!complete)
        set(c, AGENT_HEALTH_PROGRESSING, "%s", "");
    else if (failed)
        set(c, AGENT_HEALTH_DEGRADED, "%s", fail_msg);
    else if (suspended)
        set(c, AGENT_HEALTH_SUSPENDED, "%s", c->variant == AGENT_HEALTH_ARGOCD ? msg : fail_msg);
    else
        set(c, AGENT_HEALTH_HEALTHY, "%s", msg);
}

/* --- autoscaling ---------------------------------------------------------- */

struct hpa_cond {
    const char *type, *status, *reason, *message;
};

static int hpa_degrading(const struct hpa_cond *h, enum agent_health_variant variant)
{
    static const char *const pairs[][2] = {
        {"AbleToScale", "FailedGetScale"},
        {"AbleToScale", "FailedUpdateScale"},
        {"ScalingActive", "FailedGetResourceMetric"},
        {"ScalingActive", "InvalidSelector"},
        /* the argocd variant's additions */
        {"ScalingActive", "FailedGetObjectMetric"},
        {"ScalingActive", "FailedGetPodsMetric"},
        {"ScalingActive", "FailedGetExternalMetric"},
        {"ScalingActive", "FailedComputeMetricsReplicas"},
    };
    size_t n = variant == AGENT_HEALTH_ARGOCD ? 8 : 4;

    for (size_t i = 0; i < n; i++)
        if (strcmp(h->type, pairs[i][0]) == 0 && strcmp(h->reason, pairs[i][1]) == 0)
            return 1;
    return 0;
}

static int hpa_healthy(const struct hpa_cond *h)
{
    return (strcmp(h->type, "AbleToScale") == 0 || strcmp(h->type, "ScalingLimited") == 0) &&
           strcmp(h->status, "True") == 0;
}

/* argocd: any degrading condition beats any healthy one; legacy: the first
 * condition that is either decides. */
static void hpa_decide(struct check *c, const struct hpa_cond *conds, size_t n)
{
    const struct hpa_cond *degraded = NULL, *healthy = NULL;

    for (size_t i = 0; i < n; i++) {
        if (degraded == NULL && hpa_degrading(&conds[i], c->variant))
            degraded = &conds[i];
        else if (healthy == NULL && hpa_healthy(&conds[i]))
            healthy = &conds[i];
        if (c->variant == AGENT_HEALTH_LEGACY && (degraded || healthy))
            break;
    }
    if (degraded != NULL)
        set(c, AGENT_HEALTH_DEGRADED, "%s", degraded->message);
    else if (healthy != NULL)
        set(c, AGENT_HEALTH_HEALTHY, "%s", healthy->message);
    else
        set(c, AGENT_HEALTH_PROGRESSING, "Waiting to Autoscale");
}

/* Go's json.Unmarshal into a string field: keys match case-insensitively
 * and the last match wins; null leaves "". Returns 0 or sets `err`. */
static int go_string_field(const char **out, const json_t *el, const char *key, char *err,
                           size_t err_size)
{
    const char *k;
    json_t *v;

    *out = "";
    json_object_foreach((json_t *)el, k, v)
    {
        if (strcasecmp(k, key) != 0 || json_is_null(v))
            continue;
        if (!json_is_string(v)) {
            snprintf(err, err_size,
                     "json: cannot unmarshal %s into Go struct field hpaCondition.%c%s of type "
                     "string",
                     json_kind(v), key[0] - 'a' + 'A', key + 1);
            return -1;
        }
        *out = json_string_value(v);
    }
    return 0;
}

/* The autoscaling/v1 conditions annotation, decoded as Go would. */
static int hpa_v1_conditions(struct check *c, const json_t *list, struct hpa_cond *conds, char *err,
                             size_t err_size)
{
    const json_t *el;
    size_t i;

    json_array_foreach(list, i, el)
    {
        struct hpa_cond *h = &conds[i];
        *h = (struct hpa_cond){"", "", "", ""};
        if (json_is_null(el))
            continue;
        if (!json_is_object(el)) {
            snprintf(err, err_size,
                     "json: cannot unmarshal %s into Go value of type health.hpaCondition",
                     json_kind(el));
            return -1;
        }
        if (go_string_field(&h->type, el, "type", err, err_size) < 0 ||
            go_string_field(&h->status, el, "status", err, err_size) < 0 ||
            go_string_field(&h->reason, el, "reason", err, err_size) < 0 ||
            go_string_field(&h->message, el, "message", err, err_size) < 0)
            return -1;
    }
    return 0;
}

static void check_hpa_v1(struct check *c)
{
    const char *text = annotation(c, "autoscaling.alpha.kubernetes.io/conditions");
    json_error_t jerr;
    json_t *list;
    struct hpa_cond *conds;
    char err[256] = "";

    if (text == NULL) {
        set(c, AGENT_HEALTH_PROGRESSING, "Waiting to Autoscale");
        return;
    }
    list = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (list == NULL)
        snprintf(err, sizeof(err), "%s", jerr.text);
    else if (!json_is_array(list) && !json_is_null(list))
        snprintf(err, sizeof(err),
                 "json: cannot unmarshal %s into Go value of type []health.hpaCondition",
                 json_kind(list));
    conds = calloc(json_array_size(list) + 1, sizeof(*conds));
    if (conds == NULL)
        c->oom = 1;
    else if (err[0] == '\0' && hpa_v1_conditions(c, list, conds, err, sizeof(err)) == 0)
        hpa_decide(c, conds, json_array_size(list));
    if (err[0] != '\0')
        set(c, AGENT_HEALTH_UNKNOWN, "failed to convert conditions annotation to typed: %s", err);
    free(conds);
    json_decref(list);
}

static void check_hpa_v2(struct check *c)
{
    const json_t *list = get_list(c, c->obj, "status.conditions"), *el;
    struct hpa_cond *conds = calloc(json_array_size(list) + 1, sizeof(*conds));
    size_t i;

    if (conds == NULL) {
        c->oom = 1;
        return;
    }
    c->where = "status.conditions[]";
    json_array_foreach(list, i, el)
    {
        conds[i].type = get_str(c, el, "type");
        conds[i].status = get_str(c, el, "status");
        conds[i].reason = get_str(c, el, "reason");
        conds[i].message = get_str(c, el, "message");
    }
    c->where = NULL;
    hpa_decide(c, conds, json_array_size(list));
    free(conds);
}

static void check_hpa(struct check *c)
{
    const char *api = get_str(c, c->obj, "apiVersion");

    if (strcmp(api, "autoscaling/v1") == 0)
        check_hpa_v1(c);
    else
        check_hpa_v2(c);
}

/* --- apiregistration, argoproj -------------------------------------------- */

static void check_apiservice(struct check *c)
{
    const json_t *avail = condition(c, "status.conditions", "Available");

    if (avail == NULL)
        set(c, AGENT_HEALTH_PROGRESSING, "Waiting to be processed");
    else
        set(c,
            strcmp(cond_str(avail, "status"), "True") == 0 ? AGENT_HEALTH_HEALTHY
                                                           : AGENT_HEALTH_PROGRESSING,
            "%s: %s", cond_str(avail, "reason"), cond_str(avail, "message"));
}

static void check_workflow(struct check *c)
{
    const char *phase = get_str(c, c->obj, "status.phase");
    const char *msg = get_str(c, c->obj, "status.message");
    enum agent_health_status s = AGENT_HEALTH_UNKNOWN;

    if (!*phase || !strcmp(phase, "Pending") || !strcmp(phase, "Running"))
        s = AGENT_HEALTH_PROGRESSING;
    else if (strcmp(phase, "Succeeded") == 0)
        s = AGENT_HEALTH_HEALTHY;
    else if (strcmp(phase, "Failed") == 0 || strcmp(phase, "Error") == 0)
        s = AGENT_HEALTH_DEGRADED;
    set(c, s, "%s", msg);
}

/* --- dispatch ------------------------------------------------------------- */

struct rule {
    const char *group, *kind;
    const char *label;          /* names the kind in errors; NULL: untyped check */
    const char *versions[5];    /* allowed versions; none listed: any */
    const char *legacy_more[3]; /* versions only the legacy variant accepts */
    void (*check)(struct check *c);
};

static const struct rule rules[] = {
    {"apps", "Deployment", "Deployment", {"v1"}, {NULL}, check_deployment},
    {"apps", "StatefulSet", "StatefulSet", {"v1"}, {NULL}, check_statefulset},
    {"apps", "DaemonSet", "DaemonSet", {"v1"}, {NULL}, check_daemonset},
    {"apps", "ReplicaSet", "ReplicaSet", {"v1"}, {NULL}, check_replicaset},
    {"", "Service", "Service", {"v1"}, {NULL}, check_service},
    {"", "PersistentVolumeClaim", "PersistentVolumeClaim", {"v1"}, {NULL}, check_pvc},
    {"", "Pod", "Pod", {"v1"}, {NULL}, check_pod},
    {"batch", "Job", "Job", {"v1"}, {NULL}, check_job},
    {"autoscaling",
     "HorizontalPodAutoscaler",
     "HPA",
     {"v1", "v2", "v2beta1", "v2beta2"}, /* Argo CD reads all four (health_hpa.go) */
     {NULL},
     check_hpa},
    {"apiregistration.k8s.io",
     "APIService",
     "APIService",
     {"v1", "v1beta1"},
     {NULL},
     check_apiservice},
    {"extensions", "Ingress", NULL, {NULL}, {NULL}, load_balancer},
    {"networking.k8s.io", "Ingress", NULL, {NULL}, {NULL}, load_balancer},
    {"argoproj.io", "Workflow", "Workflow", {NULL}, {NULL}, check_workflow},
};

static int version_allowed(const struct rule *r, const char *version,
                           enum agent_health_variant variant)
{
    if (r->versions[0] == NULL)
        return 1;
    for (int i = 0; i < 5 && r->versions[i] != NULL; i++)
        if (strcmp(r->versions[i], version) == 0)
            return 1;
    for (int i = 0; variant == AGENT_HEALTH_LEGACY && i < 3 && r->legacy_more[i] != NULL; i++)
        if (strcmp(r->legacy_more[i], version) == 0)
            return 1;
    return 0;
}

/* apiVersion split as Go's schema.ParseGroupVersion does: "v1" is the core
 * group; more than one '/' is an error, which leaves both empty. */
static void split_api_version(const char *api, char *group, char *version, size_t size)
{
    const char *slash = strchr(api, '/');

    group[0] = version[0] = '\0';
    if (slash == NULL) {
        snprintf(version, size, "%s", api);
    } else if (strchr(slash + 1, '/') == NULL) {
        snprintf(group, size, "%.*s", (int)(slash - api), api);
        snprintf(version, size, "%s", slash + 1);
    }
}

static int pending_deletion(struct check *c)
{
    const json_t *ts = field(c, c->obj, "metadata.deletionTimestamp"), *fin;
    size_t i;

    if (!json_is_string(ts) || json_string_length(ts) == 0)
        return 0;
    json_array_foreach(get_list(c, c->obj, "metadata.finalizers"), i, fin)
    {
        if (json_is_string(fin) && strcmp(json_string_value(fin), HOOK_FINALIZER) == 0)
            return 0;
    }
    return 1;
}

static void run_rule(struct check *c, const char *kind, const char *group, const char *version)
{
    const struct rule *r = NULL;

    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]) && r == NULL; i++)
        if (strcmp(rules[i].group, group) == 0 && strcmp(rules[i].kind, kind) == 0)
            r = &rules[i];
    if (r == NULL)
        return; /* Argo CD has no check for this kind: no result */
    if (!version_allowed(r, version, c->variant)) {
        set(c, AGENT_HEALTH_UNKNOWN, "unsupported %s GVK: %s/%s, Kind=%s", r->label, group, version,
            kind);
        return;
    }
    c->label = r->label;
    r->check(c);
    if (c->label != NULL && c->type_error[0] != '\0')
        set(c, AGENT_HEALTH_UNKNOWN, "failed to convert unstructured %s to typed: %s", c->label,
            c->type_error);
}

/* --- Lua scripts ----------------------------------------------------------- */

static pthread_rwlock_t scripts_lock = PTHREAD_RWLOCK_INITIALIZER;
static gf_healthscripts *installed;
static agent_healthlua *runtime;

int agent_health_scripts_install(struct gf_healthscripts *scripts)
{
    gf_healthscripts *old;
    int error = 0;

    pthread_rwlock_wrlock(&scripts_lock);
    if (runtime == NULL && scripts != NULL && (error = agent_healthlua_new(&runtime, NULL)) < 0) {
        pthread_rwlock_unlock(&scripts_lock);
        gf_healthscripts_free(scripts);
        return error;
    }
    old = installed;
    installed = scripts;
    pthread_rwlock_unlock(&scripts_lock);
    gf_healthscripts_free(old);
    return 0;
}

size_t agent_health_scripts_compiled(void)
{
    size_t n;

    pthread_rwlock_rdlock(&scripts_lock);
    n = runtime ? agent_healthlua_compiled(runtime) : 0;
    pthread_rwlock_unlock(&scripts_lock);
    return n;
}

/* 1 when a script decided (even "no health"), 0 when there is none, or an
 * error. */
static int run_script(struct agent_health *out, const json_t *obj, const char *group,
                      const char *kind)
{
    const struct gf_healthscript *s;
    int error = 0;

    pthread_rwlock_rdlock(&scripts_lock);
    if ((s = gf_healthscripts_resolve(installed, group, kind)) != NULL) {
        free(out->message);
        error = agent_healthlua_run(runtime, out, s->lua, s->lua_len, s->use_open_libs, obj);
        error = error < 0 ? error : 1;
    }
    pthread_rwlock_unlock(&scripts_lock);
    return error;
}

int agent_health_assess_variant(struct agent_health *out, const json_t *obj,
                                enum agent_health_variant variant)
{
    struct check c = {.obj = obj, .variant = variant, .out = out};
    char group[256], version[256];

    out->status = AGENT_HEALTH_NONE;
    out->message = NULL;
    if (obj == NULL)
        set(&c, AGENT_HEALTH_MISSING, "%s", "");
    else if (!json_is_object(obj))
        return gf_error_set(GF_EINVAL, "health: a Kubernetes object must be a mapping, not %s",
                            json_kind(obj));
    else if (pending_deletion(&c))
        set(&c, AGENT_HEALTH_PROGRESSING, "Pending deletion");
    else {
        const json_t *api = json_object_get(obj, "apiVersion");
        const json_t *kind = json_object_get(obj, "kind");
        split_api_version(json_is_string(api) ? json_string_value(api) : "", group, version,
                          sizeof(group));
        const char *kind_name = json_is_string(kind) ? json_string_value(kind) : "";
        int scripted = run_script(out, obj, group, kind_name);
        if (scripted < 0)
            return scripted;
        c.type_error[0] = '\0';
        if (scripted == 0)
            run_rule(&c, kind_name, group, version);
    }
    if (out->message == NULL && !c.oom && (out->message = strdup("")) == NULL)
        c.oom = 1;
    if (c.oom) {
        agent_health_clear(out);
        return gf_error_set(GF_ENOMEM, "health: out of memory");
    }
    return 0;
}

int agent_health_ignored(const json_t *obj)
{
    struct check c = {.obj = obj};
    const char *ignore;

    if (!json_is_object(obj))
        return 0;
    ignore = annotation(&c, "argocd.argoproj.io/ignore-healthcheck");
    return is_hook(&c) || (ignore != NULL && strcmp(ignore, "true") == 0);
}

int agent_health_assess(struct agent_health *out, const json_t *obj)
{
    return agent_health_assess_variant(out, obj, AGENT_HEALTH_ARGOCD);
}

void agent_health_clear(struct agent_health *health)
{
    if (health == NULL)
        return;
    free(health->message);
    health->message = NULL;
    health->status = AGENT_HEALTH_NONE;
}

enum agent_health_status agent_health_worst(enum agent_health_status a, enum agent_health_status b)
{
    return a > b ? a : b;
}

static const char *const names[] = {"",        "Healthy",  "Suspended", "Progressing",
                                    "Missing", "Degraded", "Unknown"};

const char *agent_health_status_name(enum agent_health_status status)
{
    return (unsigned)status < sizeof(names) / sizeof(names[0]) ? names[status] : "";
}

int agent_health_status_parse(const char *name)
{
    for (int i = 1; i < (int)(sizeof(names) / sizeof(names[0])); i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}
