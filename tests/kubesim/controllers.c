/* controllers.c -- simulated controllers: workload rollouts, Jobs, PVC binding, Service addresses,
 * and the garbage collector */
#include "controllers.h"

#include "discovery.h"
#include "objects.h"
#include "store.h"
#include "workloads.h"

#include "gitfleet/error.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FAIL_ANNOTATION "kubesim.gitfleet.io/fail"

static pthread_t thread;
static int running;
static volatile int stopping;
static int delay;
static json_t *seen;      /* uid -> {"gen": generation, "at": ms first seen} */
static json_t *next_seen; /* this tick's entries: objects gone drop out */

/* What a controller derives its status from. */
struct rollout {
    const struct ks_type *t;
    json_t *obj;     /* borrowed live object */
    json_t *prev;    /* borrowed previous status (may be NULL) */
    long long gen;   /* metadata.generation */
    long long want;  /* desired replicas */
    int done;        /* the delay passed for this generation */
    int fail;        /* marked to never become ready */
    char rs[300];    /* "<name>-<template hash>" */
    const char *now; /* RFC 3339 */
};

/* ---- helpers ---------------------------------------------------------------------------- */

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static json_t *template_of(const struct ks_type *t, json_t *obj)
{
    json_t *spec = json_object_get(obj, "spec");
    if (strcmp(t->kind, "Pod") == 0)
        return obj;
    return json_object_get(spec, "template");
}

static int image_fails(json_t *pod_spec)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(pod_spec, "containers"), i, c)
    {
        const char *img = json_string_value(json_object_get(c, "image"));
        size_t n = img != NULL ? strlen(img) : 0;
        if (n >= 5 && strcmp(img + n - 5, ":fail") == 0)
            return 1;
    }
    return 0;
}

static int annotated_fail(json_t *obj)
{
    json_t *a = json_object_get(json_object_get(obj, "metadata"), "annotations");
    const char *v = json_string_value(json_object_get(a, FAIL_ANNOTATION));
    return v != NULL && strcmp(v, "true") == 0;
}

static int marked_fail(const struct ks_type *t, json_t *obj)
{
    json_t *tpl = template_of(t, obj);
    return annotated_fail(obj) || annotated_fail(tpl) || image_fails(json_object_get(tpl, "spec"));
}

static const char *str_or(const json_t *v, const char *dflt)
{
    return json_is_string(v) ? json_string_value(v) : dflt;
}

/* A condition, keeping the previous times when nothing about it changed. */
static json_t *condition(json_t *prev, const char *type, const char *status, const char *reason,
                         const char *message, const char *now, int update_time)
{
    json_t *old = NULL, *c;
    size_t i;

    json_array_foreach(json_object_get(prev, "conditions"), i,
                       c) if (strcmp(str_or(json_object_get(c, "type"), ""), type) == 0) old = c;
    const char *ostatus = json_string_value(json_object_get(old, "status"));
    const char *oreason = json_string_value(json_object_get(old, "reason"));
    const char *omsg = json_string_value(json_object_get(old, "message"));
    int same_status = ostatus != NULL && strcmp(ostatus, status) == 0;
    int same = same_status && oreason && strcmp(oreason, reason) == 0 && omsg &&
               strcmp(omsg, message) == 0;
    const char *ltt =
        same_status ? json_string_value(json_object_get(old, "lastTransitionTime")) : now;
    json_t *out = json_pack("{s:s,s:s}", "type", type, "status", status);
    if (update_time)
        json_object_set_new(
            out, "lastUpdateTime",
            json_string(same ? str_or(json_object_get(old, "lastUpdateTime"), now) : now));
    json_object_set_new(out, "lastTransitionTime", json_string(ltt ? ltt : now));
    json_object_set_new(out, "reason", json_string(reason));
    json_object_set_new(out, "message", json_string(message));
    return out;
}

static long long prev_int(json_t *prev, const char *key)
{
    return json_integer_value(json_object_get(prev, key));
}

static void set_count(json_t *st, const char *key, long long v)
{
    if (v > 0)
        json_object_set_new(st, key, json_integer(v));
}

/* ---- workloads -------------------------------------------------------------------------- */

/* A marked rollout never gets ready pods of its own: what was ready before
 * (the old ReplicaSet's pods) stays, and the first rollout has none. */
static json_t *deployment_status(struct rollout *r)
{
    json_t *st = json_pack("{s:I}", "observedGeneration", (json_int_t)r->gen);
    long long ready = r->done && !r->fail ? r->want : prev_int(r->prev, "readyReplicas");
    long long updated = r->done ? r->want : 0;
    char msg[512];

    if (ready > r->want)
        ready = r->want;
    json_object_set_new(st, "replicas", json_integer(r->want));
    set_count(st, "updatedReplicas", updated);
    set_count(st, "readyReplicas", ready);
    set_count(st, "availableReplicas", ready);
    set_count(st, "unavailableReplicas", r->want - ready);
    long long max_unavail = r->want / 4;
    int available = ready >= r->want - max_unavail;
    json_t *conds = json_array();
    json_array_append_new(
        conds, condition(r->prev, "Available", available ? "True" : "False",
                         available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
                         available ? "Deployment has minimum availability."
                                   : "Deployment does not have minimum availability.",
                         r->now, 1));
    if (r->done && r->fail) {
        snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" has timed out progressing.", r->rs);
        json_array_append_new(conds, condition(r->prev, "Progressing", "False",
                                               "ProgressDeadlineExceeded", msg, r->now, 1));
    } else if (r->done) {
        snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" has successfully progressed.", r->rs);
        json_array_append_new(conds, condition(r->prev, "Progressing", "True",
                                               "NewReplicaSetAvailable", msg, r->now, 1));
    } else {
        snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" is progressing.", r->rs);
        json_array_append_new(
            conds, condition(r->prev, "Progressing", "True", "ReplicaSetUpdated", msg, r->now, 1));
    }
    json_object_set_new(st, "conditions", conds);
    return st;
}

static json_t *statefulset_status(struct rollout *r)
{
    long long ready = r->done && !r->fail ? r->want : prev_int(r->prev, "readyReplicas");
    const char *cur = json_string_value(json_object_get(r->prev, "updateRevision"));
    json_t *st = json_pack("{s:I,s:I}", "observedGeneration", (json_int_t)r->gen, "replicas",
                           (json_int_t)r->want);

    if (ready > r->want)
        ready = r->want;
    set_count(st, "readyReplicas", ready);
    set_count(st, "availableReplicas", ready);
    set_count(st, "currentReplicas", r->done ? r->want : prev_int(r->prev, "currentReplicas"));
    set_count(st, "updatedReplicas", r->done ? r->want : 0);
    json_object_set_new(st, "currentRevision",
                        json_string(r->done && !r->fail ? r->rs
                                    : cur != NULL       ? cur
                                                        : r->rs));
    json_object_set_new(st, "updateRevision", json_string(r->rs));
    json_object_set_new(st, "collisionCount", json_integer(0));
    return st;
}

static json_t *daemonset_status(struct rollout *r)
{
    long long ready = r->done && !r->fail ? 1 : 0;
    json_t *st = json_pack("{s:I,s:i,s:i,s:i}", "observedGeneration", (json_int_t)r->gen,
                           "desiredNumberScheduled", 1, "currentNumberScheduled", 1,
                           "numberMisscheduled", 0);
    json_object_set_new(st, "numberReady", json_integer(ready));
    set_count(st, "updatedNumberScheduled", r->done ? 1 : 0);
    set_count(st, "numberAvailable", ready);
    set_count(st, "numberUnavailable", 1 - ready);
    return st;
}

static json_t *replicaset_status(struct rollout *r)
{
    long long ready = r->done && !r->fail ? r->want : 0;
    json_t *st = json_pack("{s:I,s:I}", "replicas", (json_int_t)r->want, "observedGeneration",
                           (json_int_t)r->gen);
    set_count(st, "fullyLabeledReplicas", r->want);
    set_count(st, "readyReplicas", ready);
    set_count(st, "availableReplicas", ready);
    return st;
}

static json_t *job_status(struct rollout *r)
{
    const char *start = json_string_value(json_object_get(r->prev, "startTime"));
    const char *end = json_string_value(json_object_get(r->prev, "completionTime"));
    json_t *spec = json_object_get(r->obj, "spec");
    json_t *st = json_pack("{s:s}", "startTime", start != NULL ? start : r->now);
    json_t *conds = json_array();

    if (!r->done) {
        json_object_set_new(st, "active", json_integer(1));
        json_object_set_new(st, "ready", json_integer(0));
        json_decref(conds);
        return st;
    }
    if (r->fail) {
        json_object_set_new(
            st, "failed",
            json_integer(json_integer_value(json_object_get(spec, "backoffLimit")) + 1));
        json_array_append_new(conds,
                              condition(r->prev, "FailureTarget", "True", "BackoffLimitExceeded",
                                        "Job has reached the specified backoff limit", r->now, 0));
        json_array_append_new(conds,
                              condition(r->prev, "Failed", "True", "BackoffLimitExceeded",
                                        "Job has reached the specified backoff limit", r->now, 0));
    } else {
        json_t *c = json_object_get(spec, "completions");
        json_object_set_new(st, "succeeded", json_integer(c ? json_integer_value(c) : 1));
        json_object_set_new(st, "completionTime", json_string(end != NULL ? end : r->now));
        json_array_append_new(conds,
                              condition(r->prev, "SuccessCriteriaMet", "True", "CompletionsReached",
                                        "Reached expected number of succeeded pods", r->now, 0));
        json_array_append_new(conds,
                              condition(r->prev, "Complete", "True", "CompletionsReached",
                                        "Reached expected number of succeeded pods", r->now, 0));
    }
    json_object_set_new(st, "ready", json_integer(0));
    json_object_set_new(st, "conditions", conds);
    return st;
}

static json_t *pod_status(struct rollout *r)
{
    int ok = r->done && !r->fail;
    const char *start = json_string_value(json_object_get(r->prev, "startTime"));
    json_t *st = json_pack("{s:s,s:s,s:s}", "phase", ok ? "Running" : "Pending", "hostIP",
                           "10.0.0.1", "startTime", start != NULL ? start : r->now);
    json_t *conds = json_array();
    json_array_append_new(conds,
                          condition(r->prev, "PodScheduled", "True", "Scheduled", "", r->now, 0));
    json_array_append_new(conds,
                          condition(r->prev, "Ready", ok ? "True" : "False",
                                    ok ? "ContainersReady" : "ContainersNotReady", "", r->now, 0));
    json_object_set_new(st, "conditions", conds);
    if (ok)
        json_object_set_new(st, "podIP", json_string("10.244.0.10"));
    return st;
}

/* ---- the loop --------------------------------------------------------------------------- */

static int track(json_t *obj, long long gen, long long now_ms)
{
    const char *uid = ks_obj_meta(obj, "uid");
    json_t *e = json_object_get(seen, uid);

    if (e == NULL || json_integer_value(json_object_get(e, "gen")) != gen) {
        e = json_pack("{s:I,s:I}", "gen", (json_int_t)gen, "at", (json_int_t)now_ms);
        json_object_set_new(seen, uid, e);
    }
    json_object_set(next_seen, uid, e);
    return now_ms - json_integer_value(json_object_get(e, "at")) >= delay;
}

/* 1 when the status changed and was written. */
static int write_status(const struct ks_type *t, json_t *obj, json_t *st)
{
    if (json_equal(json_object_get(obj, "status"), st)) {
        json_decref(st);
        return 0;
    }
    json_t *copy = json_deep_copy(obj);
    json_object_set_new(copy, "status", st);
    ks_obj_store(t, copy);
    return 1;
}

static void reconcile(const struct ks_type *t, json_t *obj, long long now_ms, const char *now)
{
    json_t *rep = json_object_get(json_object_get(obj, "spec"), "replicas");
    struct rollout r = {t, obj, json_object_get(obj, "status"), 0, 1, 0, 0, "", now};
    json_t *st;

    r.gen = json_integer_value(json_object_get(json_object_get(obj, "metadata"), "generation"));
    r.want = rep != NULL ? json_integer_value(rep) : 1;
    r.done = track(obj, r.gen, now_ms) || r.want == 0;
    /* a finished object whose status was already right at this version: nothing to do */
    json_t *entry = json_object_get(seen, ks_obj_meta(obj, "uid"));
    const char *rv = ks_obj_meta(obj, "resourceVersion");
    const char *settled = json_string_value(json_object_get(entry, "settled"));
    if (r.done && settled != NULL && strcmp(settled, rv) == 0)
        return;
    r.fail = marked_fail(t, obj) && r.want > 0;
    ks_workloads_template_hash(r.rs, sizeof(r.rs), ks_obj_meta(obj, "name"), template_of(t, obj));
    if (strcmp(t->kind, "Deployment") == 0)
        st = deployment_status(&r);
    else if (strcmp(t->kind, "StatefulSet") == 0)
        st = statefulset_status(&r);
    else if (strcmp(t->kind, "DaemonSet") == 0)
        st = daemonset_status(&r);
    else if (strcmp(t->kind, "ReplicaSet") == 0)
        st = replicaset_status(&r);
    else if (strcmp(t->kind, "Job") == 0)
        st = job_status(&r);
    else
        st = pod_status(&r);
    if (!write_status(t, obj, st) && r.done)
        json_object_set_new(entry, "settled", json_string(rv));
}

static void bind_pvc(const struct ks_type *t, json_t *obj)
{
    json_t *spec = json_object_get(obj, "spec");
    json_t *req = json_object_get(json_object_get(spec, "resources"), "requests");
    char vol[300];

    if (strcmp(ks_obj_meta(obj, "deletionTimestamp"), "") != 0)
        return;
    json_t *st = json_pack("{s:s,s:O*,s:{s:O*}}", "phase", "Bound", "accessModes",
                           json_object_get(spec, "accessModes"), "capacity", "storage",
                           json_object_get(req, "storage"));
    if (json_equal(json_object_get(obj, "status"), st)) {
        json_decref(st);
        return;
    }
    json_t *copy = json_deep_copy(obj);
    snprintf(vol, sizeof(vol), "pvc-%s", ks_obj_meta(obj, "uid"));
    if (json_is_object(json_object_get(copy, "spec")))
        json_object_set_new(json_object_get(copy, "spec"), "volumeName", json_string(vol));
    json_object_set_new(copy, "status", st);
    ks_obj_store(t, copy);
}

static void balance_service(const struct ks_type *t, json_t *obj)
{
    const char *type = json_string_value(json_object_get(json_object_get(obj, "spec"), "type"));
    const char *ip = json_string_value(json_object_get(json_object_get(obj, "spec"), "clusterIP"));
    char lb[32];

    if (type == NULL || strcmp(type, "LoadBalancer") != 0 || ip == NULL)
        return;
    const char *last = strrchr(ip, '.');
    snprintf(lb, sizeof(lb), "172.18.255.%d", last != NULL ? atoi(last + 1) : 1);
    write_status(
        t, obj,
        json_pack("{s:{s:[{s:s,s:s}]}}", "loadBalancer", "ingress", "ip", lb, "ipMode", "VIP"));
}

static void balance_ingress(const struct ks_type *t, json_t *obj)
{
    write_status(t, obj,
                 json_pack("{s:{s:[{s:s}]}}", "loadBalancer", "ingress", "ip", "172.18.255.200"));
}

/* An HPA that can scale and sits at its minimum. */
static void autoscale(const struct ks_type *t, json_t *obj, const char *now)
{
    json_t *spec = json_object_get(obj, "spec"), *prev = json_object_get(obj, "status");
    json_t *min = json_object_get(spec, "minReplicas");
    json_int_t want = min != NULL ? json_integer_value(min) : 1;
    json_t *conds = json_array();

    json_array_append_new(conds, condition(prev, "AbleToScale", "True", "SucceededGetScale",
                                           "the HPA controller was able to get the target's "
                                           "current scale",
                                           now, 0));
    json_array_append_new(conds, condition(prev, "ScalingActive", "True", "ValidMetricFound",
                                           "the HPA was able to successfully calculate a "
                                           "replica count",
                                           now, 0));
    json_array_append_new(conds,
                          condition(prev, "ScalingLimited", "False", "DesiredWithinRange",
                                    "the desired count is within the acceptable range", now, 0));
    write_status(t, obj,
                 json_pack("{s:I,s:I,s:o}", "currentReplicas", want, "desiredReplicas", want,
                           "conditions", conds));
}

static void each(const char *key, long long now_ms, const char *now)
{
    const struct ks_type *found = ks_disc_find_key(key);
    json_t *list, *obj;
    size_t i;

    if (found == NULL)
        return;
    struct ks_type t = *found;
    list = ks_store_list(key, NULL, NULL);
    json_array_foreach(list, i, obj)
    {
        if (ks_obj_meta(obj, "deletionTimestamp")[0] != '\0')
            continue;
        if (strcmp(key, "persistentvolumeclaims") == 0)
            bind_pvc(&t, obj);
        else if (strcmp(key, "services") == 0)
            balance_service(&t, obj);
        else if (strcmp(key, "ingresses.networking.k8s.io") == 0)
            balance_ingress(&t, obj);
        else if (strcmp(key, "horizontalpodautoscalers.autoscaling") == 0)
            autoscale(&t, obj, now);
        else
            reconcile(&t, obj, now_ms, now);
    }
    json_decref(list);
}

void ks_ctrl_tick(long long now_ms)
{
    static const char *const keys[] = {"deployments.apps",
                                       "statefulsets.apps",
                                       "daemonsets.apps",
                                       "replicasets.apps",
                                       "jobs.batch",
                                       "pods",
                                       "persistentvolumeclaims",
                                       "services",
                                       "ingresses.networking.k8s.io",
                                       "horizontalpodautoscalers.autoscaling"};
    char now[32];

    ks_obj_now(now, sizeof(now));
    ks_store_lock();
    if (seen == NULL)
        seen = json_object();
    next_seen = json_object();
    ks_obj_collect_garbage();
    ks_workloads_sync();
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        each(keys[i], now_ms, now);
    json_decref(seen);
    seen = next_seen;
    next_seen = NULL;
    ks_store_unlock();
}

static void *ctrl_main(void *arg)
{
    int tick = delay / 4 < 10 ? 10 : delay / 4 > 100 ? 100 : delay / 4;
    (void)arg;
    while (!stopping) {
        struct timespec ts = {0, (long)tick * 1000000L};
        nanosleep(&ts, NULL);
        ks_ctrl_tick(mono_ms());
    }
    return NULL;
}

int ks_ctrl_start(int delay_ms)
{
    delay = delay_ms;
    stopping = 0;
    if (pthread_create(&thread, NULL, ctrl_main, NULL) != 0)
        return gf_error_set(GF_EIO, "cannot start the controller thread");
    running = 1;
    return 0;
}

void ks_ctrl_stop(void)
{
    if (!running)
        return;
    stopping = 1;
    pthread_join(thread, NULL);
    running = 0;
    json_decref(seen);
    seen = NULL;
    ks_workloads_shutdown();
}
