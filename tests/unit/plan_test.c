/* plan_test.c -- sync order (phases, waves, kinds, hooks, prunes) and the executor with fake
 * callbacks */
#include "harness.h"

#include "plan.h"
#include "gitfleet/doc.h"
#include "gitfleet/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- building objects --------------------------------------------------- */

/* An object from "apiVersion kind ns/name" plus annotation pairs, NULL-terminated. */
static json_t *obj(const char *api_version, const char *kind, const char *ns, const char *name, ...)
{
    json_t *o = json_pack("{s:s,s:s,s:{s:{}}}", "apiVersion", api_version, "kind", kind, "metadata",
                          "annotations");
    json_t *meta = json_object_get(o, "metadata"), *ann = json_object_get(meta, "annotations");
    va_list ap;
    const char *k;

    if (ns != NULL)
        json_object_set_new(meta, "namespace", json_string(ns));
    if (name != NULL && strncmp(name, "gen:", 4) == 0)
        json_object_set_new(meta, "generateName", json_string(name + 4));
    else if (name != NULL)
        json_object_set_new(meta, "name", json_string(name));
    va_start(ap, name);
    while ((k = va_arg(ap, const char *)) != NULL)
        json_object_set_new(ann, k, json_string(va_arg(ap, const char *)));
    va_end(ap);
    return o;
}

struct objs {
    json_t *v[32];
    size_t n;
};

static void add(struct objs *l, json_t *o)
{
    l->v[l->n++] = o;
}

static void drop(struct objs *l)
{
    for (size_t i = 0; i < l->n; i++)
        json_decref(l->v[i]);
    l->n = 0;
}

/* The plan of `apply` and `prune` described, or NULL on error. */
static char *describe(struct objs *apply, struct objs *prune, int prune_last, int *error)
{
    struct agent_plan_input in = {.apply = apply->v,
                                  .n_apply = apply->n,
                                  .prune = prune ? prune->v : NULL,
                                  .n_prune = prune ? prune->n : 0,
                                  .prune_last = prune_last};
    struct agent_plan *plan = NULL;
    char *text = NULL;

    *error = agent_plan_build(&plan, &in);
    if (*error == 0)
        text = agent_plan_describe(plan);
    agent_plan_free(plan);
    return text;
}

#define HOOK "argocd.argoproj.io/hook"
#define DEL  "argocd.argoproj.io/hook-delete-policy"
#define WAVE "argocd.argoproj.io/sync-wave"

static void test_plan__kinds_in_argocd_order_then_name(void)
{
    struct objs a = {0};
    int error;
    char *text;

    add(&a, obj("example.com/v1", "Widget", "app", "w", NULL));
    add(&a, obj("apps/v1", "Deployment", "app", "b", NULL));
    add(&a, obj("apps/v1", "Deployment", "app", "a", NULL));
    add(&a, obj("v1", "Service", "app", "svc", NULL));
    add(&a, obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", NULL, "widgets.example.com",
                NULL));
    add(&a, obj("v1", "ConfigMap", "app", "cfg", NULL));
    add(&a, obj("v1", "Namespace", NULL, "app", NULL));
    add(&a, obj("networking.k8s.io/v1", "NetworkPolicy", "app", "np", NULL));
    text = describe(&a, NULL, 0, &error);
    GF_ASSERT_INT(error, 0);
    GF_ASSERT_STR(text, "Sync 0 apply Namespace app\n"
                        "Sync 0 apply networking.k8s.io/NetworkPolicy app/np\n"
                        "Sync 0 apply ConfigMap app/cfg\n"
                        "Sync 0 apply apiextensions.k8s.io/CustomResourceDefinition "
                        "widgets.example.com\n"
                        "Sync 0 apply Service app/svc\n"
                        "Sync 0 apply apps/Deployment app/a\n"
                        "Sync 0 apply apps/Deployment app/b\n"
                        "Sync 0 apply example.com/Widget app/w\n");
    free(text);
    drop(&a);
}

static void test_plan__waves_order_and_group_steps(void)
{
    struct objs a = {0};
    struct agent_plan *plan = NULL;
    struct agent_plan_input in = {0};
    int error;
    char *text;

    add(&a, obj("v1", "Namespace", NULL, "late", WAVE, "5", NULL));
    add(&a, obj("v1", "ConfigMap", "x", "early", WAVE, "-2", NULL));
    add(&a, obj("v1", "ConfigMap", "x", "mid", "gitfleet.io/sync-wave", "1", NULL));
    /* Argo CD's annotation wins over gitfleet's */
    add(&a, obj("v1", "Secret", "x", "both", WAVE, "1", "gitfleet.io/sync-wave", "7", NULL));
    add(&a, obj("v1", "ConfigMap", "x", "zero", NULL));
    text = describe(&a, NULL, 0, &error);
    GF_ASSERT_STR(text, "Sync -2 apply ConfigMap x/early\n"
                        "Sync 0 apply ConfigMap x/zero\n"
                        "Sync 1 apply Secret x/both\n"
                        "Sync 1 apply ConfigMap x/mid\n"
                        "Sync 5 apply Namespace late\n");
    free(text);
    in.apply = a.v;
    in.n_apply = a.n;
    GF_ASSERT_INT(agent_plan_build(&plan, &in), 0);
    GF_ASSERT_INT(plan->n_steps, 4);
    GF_ASSERT_INT(plan->steps[2].wave, 1);
    GF_ASSERT_INT(plan->steps[2].first, 2);
    GF_ASSERT_INT(plan->steps[2].count, 2);
    agent_plan_free(plan);
    drop(&a);
}

static void test_plan__hooks_by_phase_with_delete_policies(void)
{
    struct objs a = {0};
    int error;
    char *text;

    add(&a, obj("apps/v1", "Deployment", "x", "web", NULL));
    add(&a, obj("batch/v1", "Job", "x", "migrate", HOOK, "PreSync", NULL));
    add(&a, obj("batch/v1", "Job", "x", "smoke", HOOK, "PostSync", DEL, "HookSucceeded", NULL));
    add(&a, obj("batch/v1", "Job", "x", "cleanup", HOOK, "SyncFail", DEL,
                "HookFailed, BeforeHookCreation", NULL));
    add(&a, obj("v1", "Pod", "x", "twice", HOOK, "PreSync,PostSync", NULL));
    add(&a, obj("batch/v1", "Job", "x", "during", HOOK, "Sync", WAVE, "1", NULL));
    text = describe(&a, NULL, 0, &error);
    GF_ASSERT_INT(error, 0);
    GF_ASSERT_STR(text,
                  "PreSync 0 hook Pod x/twice delete=BeforeHookCreation\n"
                  "PreSync 0 hook batch/Job x/migrate delete=BeforeHookCreation\n"
                  "Sync 0 apply apps/Deployment x/web\n"
                  "Sync 1 hook batch/Job x/during delete=BeforeHookCreation\n"
                  "PostSync 0 hook Pod x/twice delete=BeforeHookCreation\n"
                  "PostSync 0 hook batch/Job x/smoke delete=HookSucceeded\n"
                  "SyncFail 0 hook batch/Job x/cleanup delete=BeforeHookCreation,HookFailed\n");
    free(text);
    drop(&a);
}

static void test_plan__skip_and_delete_hooks_left_out(void)
{
    struct objs a = {0};
    struct agent_plan *plan = NULL;
    struct agent_plan_input in = {0};

    add(&a, obj("v1", "ConfigMap", "x", "skipped", HOOK, "Skip", NULL));
    add(&a, obj("batch/v1", "Job", "x", "predel", HOOK, "PreDelete", NULL));
    add(&a, obj("batch/v1", "Job", "x", "postdel", HOOK, "PostDelete", NULL));
    add(&a, obj("v1", "ConfigMap", "x", "kept", NULL));
    add(&a, obj("batch/v1", "Job", "x", "skip-pre", HOOK, "Skip, PreSync", NULL));
    in.apply = a.v;
    in.n_apply = a.n;
    GF_ASSERT_INT(agent_plan_build(&plan, &in), 0);
    GF_ASSERT_INT(plan->n_items, 2);
    GF_ASSERT_INT(plan->n_skipped, 3);
    GF_ASSERT_STR(plan->items[0].name, "skip-pre");
    GF_ASSERT_INT(plan->items[0].phase, AGENT_PLAN_PRESYNC);
    GF_ASSERT_STR(plan->items[1].name, "kept");
    agent_plan_free(plan);
    drop(&a);
}

static void expect_error(json_t *o, const char *what)
{
    struct objs a = {0};
    int error;
    char *text;

    add(&a, o);
    text = describe(&a, NULL, 0, &error);
    GF_ASSERT(text == NULL);
    GF_ASSERT_INT(error, GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), what);
    drop(&a);
}

static void test_plan__bad_annotations_are_errors(void)
{
    expect_error(obj("batch/v1", "Job", "x", "j", HOOK, "Presync", NULL),
                 "unknown hook type \"Presync\"");
    expect_error(obj("batch/v1", "Job", "x", "j", HOOK, "PreSync", DEL, "OnSuccess", NULL),
                 "unknown hook delete policy");
    expect_error(obj("v1", "ConfigMap", "x", "c", WAVE, "one", NULL), "ConfigMap x/c");
    expect_error(obj("v1", "ConfigMap", "x", "c", WAVE, "1.5", NULL), "is not an integer");
    expect_error(obj("v1", "ConfigMap", "x", "c", WAVE, "99999999999", NULL), "not an integer");
    expect_error(obj("v1", "ConfigMap", "x", NULL, NULL), "metadata.name is required");
    expect_error(json_pack("{s:s}", "kind", "ConfigMap"), "apiVersion and kind are required");
}

static void test_plan__generate_name_only_on_hooks(void)
{
    struct objs a = {0};
    int error;
    char *text;

    add(&a,
        obj("batch/v1", "Job", "x", "gen:migrate-", HOOK, "PreSync", DEL, "HookSucceeded", NULL));
    text = describe(&a, NULL, 0, &error);
    GF_ASSERT_STR(text, "PreSync 0 hook batch/Job x/migrate--presync-0 delete=HookSucceeded\n");
    free(text);
    drop(&a);
    expect_error(obj("batch/v1", "Job", "x", "gen:migrate-", NULL),
                 "generateName is only allowed on hooks");
}

static void test_plan__prunes_mirror_waves_and_precede_applies(void)
{
    struct objs a = {0}, p = {0};
    int error;
    char *text;

    add(&a, obj("v1", "ConfigMap", "x", "new", NULL));
    add(&a, obj("v1", "ConfigMap", "x", "later", WAVE, "3", NULL));
    /* live waves -1, 0, 3 are pruned in waves 3, 0, -1 */
    add(&p, obj("v1", "Namespace", NULL, "oldns", WAVE, "-1", NULL));
    add(&p, obj("apps/v1", "Deployment", "x", "olddep", NULL));
    add(&p, obj("v1", "ConfigMap", "x", "oldcm", NULL));
    add(&p, obj("v1", "Service", "x", "oldsvc", WAVE, "3", NULL));
    text = describe(&a, &p, 0, &error);
    GF_ASSERT_INT(error, 0);
    GF_ASSERT_STR(text, "Sync -1 prune Service x/oldsvc\n"
                        "Sync 0 prune apps/Deployment x/olddep\n"
                        "Sync 0 prune ConfigMap x/oldcm\n"
                        "Sync 0 apply ConfigMap x/new\n"
                        "Sync 3 prune Namespace oldns\n"
                        "Sync 3 apply ConfigMap x/later\n");
    free(text);
    drop(&a);
    drop(&p);
}

static void test_plan__prune_last_after_the_last_sync_wave(void)
{
    struct objs a = {0}, p = {0};
    int error;
    char *text;

    add(&a, obj("v1", "ConfigMap", "x", "a", WAVE, "2", NULL));
    add(&a, obj("batch/v1", "Job", "x", "post", HOOK, "PostSync", WAVE, "9", NULL));
    add(&p, obj("v1", "ConfigMap", "x", "old", NULL));
    text = describe(&a, &p, 1, &error);
    GF_ASSERT_STR(text, "Sync 2 apply ConfigMap x/a\n"
                        "Sync 3 prune ConfigMap x/old\n"
                        "PostSync 9 hook batch/Job x/post delete=BeforeHookCreation\n");
    free(text);
    drop(&a);
    drop(&p);
    /* per object, from the live sync-options; only negative waves: wave 1 */
    add(&a, obj("v1", "ConfigMap", "x", "a", WAVE, "-3", NULL));
    add(&p, obj("v1", "ConfigMap", "x", "old1", "argocd.argoproj.io/sync-options", "PruneLast=true",
                NULL));
    add(&p, obj("v1", "ConfigMap", "x", "old2", NULL));
    text = describe(&a, &p, 0, &error);
    GF_ASSERT_STR(text, "Sync -3 apply ConfigMap x/a\n"
                        "Sync 0 prune ConfigMap x/old2\n"
                        "Sync 1 prune ConfigMap x/old1\n");
    free(text);
    drop(&a);
    drop(&p);
}

/* --- the executor with a fake cluster ------------------------------------ */

struct fake_obj {
    char name[64];
    char script[128]; /* health per read: "Progressing,Healthy"; the last one sticks */
    int reads, exists;
};

struct fake {
    double t;
    char log[2048];
    struct fake_obj objs[16];
    size_t n;
    const char *fail_apply;
    int progress_calls, progress_running;
    enum agent_plan_state first_item_state;
    double cancel_at; /* > 0: cancelled() is true from this time on */
};

static struct fake_obj *fake_get(struct fake *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->objs[i].name, name) == 0)
            return &f->objs[i];
    snprintf(f->objs[f->n].name, sizeof(f->objs[0].name), "%s", name);
    return &f->objs[f->n++];
}

static void fake_script(struct fake *f, const char *name, const char *script)
{
    snprintf(fake_get(f, name)->script, sizeof(f->objs[0].script), "%s", script);
}

static void fake_log(struct fake *f, const char *what, const char *name)
{
    size_t len = strlen(f->log);
    snprintf(f->log + len, sizeof(f->log) - len, "%s%s %s@%g", len ? " " : "", what, name, f->t);
}

static int fake_apply(void *ctx, const struct agent_plan_item *item)
{
    struct fake *f = ctx;

    if (f->fail_apply && strcmp(f->fail_apply, item->name) == 0)
        return gf_error_set(GF_EINVAL, "admission webhook said no");
    fake_log(f, "apply", item->name);
    fake_get(f, item->name)->exists = 1;
    fake_get(f, item->name)->reads = 0;
    return 0;
}

static int fake_health(void *ctx, const struct agent_plan_item *item, struct agent_health *out)
{
    struct fake *f = ctx;
    struct fake_obj *o = fake_get(f, item->name);
    char buf[128], *tok, *save = NULL, *pick = NULL;
    int n = 0;

    out->message = strdup("");
    if (!o->exists) {
        out->status = AGENT_HEALTH_MISSING;
        return 0;
    }
    if (o->script[0] == '\0') {
        out->status = AGENT_HEALTH_HEALTHY;
        return 0;
    }
    snprintf(buf, sizeof(buf), "%s", o->script);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (n++ <= o->reads)
            pick = tok;
    o->reads++;
    if (strcmp(pick, "Error") == 0)
        return gf_error_set(GF_EIO, "connection refused");
    if (strcmp(pick, "None") == 0) {
        out->status = AGENT_HEALTH_NONE;
        return 0;
    }
    if (agent_health_status_parse(pick) < 0)
        gf_test_fail(__FILE__, __LINE__, "bad health script entry %s", pick);
    out->status = (enum agent_health_status)agent_health_status_parse(pick);
    return 0;
}

static int fake_remove(void *ctx, const struct agent_plan_item *item)
{
    struct fake *f = ctx;
    struct fake_obj *o = fake_get(f, item->name);

    if (!o->exists)
        return GF_ENOTFOUND;
    fake_log(f, "delete", item->name);
    o->exists = 0;
    return 0;
}

static double fake_now(void *ctx)
{
    return ((struct fake *)ctx)->t;
}

static void fake_sleep(void *ctx, double s)
{
    ((struct fake *)ctx)->t += s;
}

/* Records what the caller sees while the operation runs. */
static void fake_progress(void *ctx, const struct agent_plan_result *so_far)
{
    struct fake *f = ctx;

    f->progress_calls++;
    f->progress_running &= so_far->state == AGENT_PLAN_RUNNING;
    f->first_item_state = so_far->n_items ? so_far->items[0].state : AGENT_PLAN_PENDING;
}

static int fake_cancelled(void *ctx)
{
    struct fake *f = ctx;
    return f->cancel_at > 0 && f->t >= f->cancel_at;
}

static const struct agent_plan_options opts = {
    .wave_timeout = 60, .wave_delay = 2, .poll_interval = 5};

static void run(struct agent_plan_result *res, struct fake *f, struct objs *a, struct objs *p)
{
    struct agent_plan_callbacks cb = {.ctx = f,
                                      .apply = fake_apply,
                                      .health = fake_health,
                                      .remove = fake_remove,
                                      .now = fake_now,
                                      .sleep = fake_sleep,
                                      .progress = fake_progress,
                                      .cancelled = fake_cancelled};
    struct agent_plan_input in = {
        .apply = a->v, .n_apply = a->n, .prune = p ? p->v : NULL, .n_prune = p ? p->n : 0};
    struct agent_plan *plan = NULL;

    GF_ASSERT_INT(agent_plan_build(&plan, &in), 0);
    GF_ASSERT_INT(agent_plan_run(res, plan, &cb, &opts), 0);
    agent_plan_free(plan);
}

static void test_plan__next_wave_waits_for_health(void)
{
    struct objs a = {0};
    struct fake f = {0};
    struct agent_plan_result res;

    add(&a, obj("apps/v1", "Deployment", "x", "db", NULL));
    add(&a, obj("apps/v1", "Deployment", "x", "web", WAVE, "1", NULL));
    fake_script(&f, "db", "Progressing,Progressing,Healthy");
    f.progress_running = 1;
    run(&res, &f, &a, NULL);
    GF_ASSERT_INT(res.state, AGENT_PLAN_SUCCEEDED);
    /* after each step's applies, and after the 2 rounds db was still progressing */
    GF_ASSERT_INT(f.progress_calls, 4);
    GF_ASSERT_INT(f.progress_running, 1);
    GF_ASSERT_INT(f.first_item_state, AGENT_PLAN_SUCCEEDED);
    /* db read at t=0, 5, 10 (healthy), then the 2s wave delay */
    GF_ASSERT_STR(f.log, "apply db@0 apply web@12");
    GF_ASSERT_INT(res.items[0].state, AGENT_PLAN_SUCCEEDED);
    agent_plan_result_clear(&res);
    drop(&a);
}

static void test_plan__last_wave_does_not_wait(void)
{
    struct objs a = {0};
    struct fake f = {0};
    struct agent_plan_result res;

    add(&a, obj("apps/v1", "Deployment", "x", "web", NULL));
    fake_script(&f, "web", "Degraded");
    run(&res, &f, &a, NULL);
    GF_ASSERT_INT(res.state, AGENT_PLAN_SUCCEEDED);
    GF_ASSERT_STR(f.log, "apply web@0");
    agent_plan_result_clear(&res);
    drop(&a);
}

static void test_plan__degraded_wave_fails_and_runs_syncfail(void)
{
    struct objs a = {0};
    struct fake f = {0};
    struct agent_plan_result res;

    add(&a, obj("apps/v1", "Deployment", "x", "db", WAVE, "-1", NULL));
    add(&a, obj("apps/v1", "Deployment", "x", "web", NULL));
    add(&a, obj("batch/v1", "Job", "x", "alert", HOOK, "SyncFail", NULL));
    fake_script(&f, "db", "Progressing,Degraded");
    run(&res, &f, &a, NULL);
    GF_ASSERT_INT(res.state, AGENT_PLAN_FAILED);
    GF_ASSERT_INT(res.phase, AGENT_PLAN_SYNC);
    GF_ASSERT_INT(res.wave, -1);
    GF_ASSERT_STR(res.object, "apps/Deployment x/db");
    GF_ASSERT_HAS(res.message, "Degraded");
    GF_ASSERT_STR(f.log, "apply db@0 apply alert@5");
    GF_ASSERT_INT(res.items[1].state, AGENT_PLAN_PENDING); /* web never applied */
    agent_plan_result_clear(&res);
    drop(&a);
}

static void test_plan__wave_timeout(void)
{
    struct objs a = {0};
    struct fake f = {0};
    struct agent_plan_result res;

    add(&a, obj("apps/v1", "StatefulSet", "x", "db", NULL));
    add(&a, obj("v1", "ConfigMap", "x", "after", WAVE, "1", NULL));
    fake_script(&f, "db", "Progressing,Error,Suspended");
    run(&res, &f, &a, NULL);
    GF_ASSERT_INT(res.state, AGENT_PLAN_FAILED);
    GF_ASSERT_HAS(res.message, "timed out waiting for a healthy state");
    GF_ASSERT_HAS(res.message, "Suspended");
    GF_ASSERT(f.t >= 60 && f.t < 70);
    GF_ASSERT_STR(f.log, "apply db@0");
    agent_plan_result_clear(&res);
    drop(&a);
}

static void test_plan__hooks_run_around_the_sync(void)
{
    struct objs a = {0};
    struct fake f = {0};
    struct agent_plan_result res;

    add(&a, obj("v1", "ConfigMap", "x", "cfg", NULL));
    add(&a, obj("batch/v1", "Job", "x", "migrate", HOOK, "PreSync", NULL));
    add(&a, obj("batch/v1", "Job", "x", "smoke", HOOK, "PostSync", DEL, "HookSucceeded", NULL));
    add(&a, obj("batch/v1", "Job", "x", "alert", HOOK, "SyncFail", NULL));
    fake_get(&f, "migrate")->exists = 1; /* from the last sync: deleted first */
    fake_script(&f, "migrate", "Progressing,Healthy");
    fake_script(&f, "smoke", "Healthy");
    run(&res, &f, &a, NULL);
    GF_ASSERT_INT(res.state, AGENT_PLAN_SUCCEEDED);
    GF_ASSERT_STR(f.log, "delete migrate@0 apply migrate@0 apply cfg@7 apply smoke@9 "
                         "delete smoke@9");
    GF_ASSERT_INT(res.items[3].state, AGENT_PLAN_PENDING); /* SyncFail hook not run */
    agent_plan_result_clear(&res);
    drop(&a);
}

static void test_plan__failed_presync_hook_stops_the_sync(void)
{
    struct objs a = {0};
    struct fake f = {0};
    struct agent_plan_result res;

    add(&a, obj("v1", "ConfigMap", "x", "cfg", NULL));
    add(&a, obj("batch/v1", "Job", "x", "migrate", HOOK, "PreSync", DEL, "HookFailed", NULL));
    add(&a, obj("batch/v1", "Job", "x", "alert", HOOK, "SyncFail", DEL, "HookSucceeded", NULL));
    fake_script(&f, "migrate", "Degraded");
    fake_script(&f, "alert", "Progressing,Healthy");
    run(&res, &f, &a, NULL);
    GF_ASSERT_INT(res.state, AGENT_PLAN_FAILED);
    GF_ASSERT_INT(res.phase, AGENT_PLAN_PRESYNC);
    GF_ASSERT_STR(res.object, "batch/Job x/migrate");
    GF_ASSERT_HAS(res.message, "hook Degraded");
    /* cfg never applied; the operation failed, so only HookFailed hooks are
     * deleted at the end (alert succeeded but its HookSucceeded needs a
     * successful operation) */
    GF_ASSERT_STR(f.log, "apply migrate@0 apply alert@0 delete migrate@5");
    agent_plan_result_clear(&res);
    drop(&a);
}

static void test_plan__generate_name_hook_named_like_argocd(void)
{
    struct objs a = {0};
    struct fake f = {0};
    struct agent_plan_result res;
    struct agent_plan_callbacks cb = {.ctx = &f,
                                      .apply = fake_apply,
                                      .health = fake_health,
                                      .remove = fake_remove,
                                      .now = fake_now,
                                      .sleep = fake_sleep};
    struct agent_plan_input in = {0};
    struct agent_plan *plan = NULL;

    add(&a, obj("batch/v1", "Job", "x", "gen:migrate-", HOOK, "PreSync,PostSync", DEL,
                "HookSucceeded,BeforeHookCreation", NULL));
    add(&a, obj("v1", "ConfigMap", "x", "cfg", NULL));
    in.apply = a.v;
    in.n_apply = a.n;
    in.revision = "0123ABCDEF456";
    in.started_at = 1700000000;
    GF_ASSERT_INT(agent_plan_build(&plan, &in), 0);
    GF_ASSERT_STR(plan->items[0].name, "migrate-0123abc-presync-1700000000");
    GF_ASSERT_STR(gf_doc_string(plan->items[0].obj, "metadata.name"),
                  "migrate-0123abc-presync-1700000000");
    GF_ASSERT_STR(plan->items[2].name, "migrate-0123abc-postsync-1700000000");
    GF_ASSERT(gf_doc_string(a.v[0], "metadata.name") == NULL); /* the input is untouched */
    fake_script(&f, "migrate-0123abc-presync-1700000000", "Progressing,Progressing,Healthy");
    GF_ASSERT_INT(agent_plan_run(&res, plan, &cb, &opts), 0);
    GF_ASSERT_INT(res.state, AGENT_PLAN_SUCCEEDED);
    /* no BeforeHookCreation delete for a fresh name; HookSucceeded at the end */
    GF_ASSERT_STR(f.log, "apply migrate-0123abc-presync-1700000000@0 apply cfg@12 "
                         "apply migrate-0123abc-postsync-1700000000@14 "
                         "delete migrate-0123abc-presync-1700000000@14 "
                         "delete migrate-0123abc-postsync-1700000000@14");
    agent_plan_result_clear(&res);
    agent_plan_free(plan);
    drop(&a);
    /* a short revision is used whole */
    add(&a, obj("v1", "Pod", "x", "gen:p-", HOOK, "Sync", NULL));
    in.apply = a.v;
    in.n_apply = a.n;
    in.revision = "v1.2";
    in.started_at = 5;
    GF_ASSERT_INT(agent_plan_build(&plan, &in), 0);
    GF_ASSERT_STR(plan->items[0].name, "p-v1.2-sync-5");
    agent_plan_free(plan);
    drop(&a);
}

static void test_plan__namespace_and_crd_move_before_their_users(void)
{
    struct objs a = {0};
    int error;
    char *text;

    add(&a, obj("v1", "Namespace", NULL, "app", WAVE, "5", NULL));
    add(&a, obj("v1", "ConfigMap", "app", "cfg", WAVE, "1", NULL));
    add(&a, obj("batch/v1", "Job", "app", "pre", HOOK, "PreSync", NULL));
    add(&a, obj("v1", "Namespace", NULL, "other", NULL));
    add(&a, obj("example.com/v1", "Widget", "other", "w", WAVE, "-1", NULL));
    add(&a, json_pack("{s:s,s:s,s:{s:s},s:{s:s,s:{s:s}}}", "apiVersion", "apiextensions.k8s.io/v1",
                      "kind", "CustomResourceDefinition", "metadata", "name", "widgets.example.com",
                      "spec", "group", "example.com", "names", "kind", "Widget"));
    text = describe(&a, NULL, 0, &error);
    GF_ASSERT_INT(error, 0);
    GF_ASSERT_STR(text, "PreSync 0 apply Namespace app\n"
                        "PreSync 0 hook batch/Job app/pre delete=BeforeHookCreation\n"
                        "Sync -1 apply Namespace other\n"
                        "Sync -1 apply apiextensions.k8s.io/CustomResourceDefinition "
                        "widgets.example.com\n"
                        "Sync -1 apply example.com/Widget other/w\n"
                        "Sync 1 apply ConfigMap app/cfg\n");
    free(text);
    drop(&a);
}

static void test_plan__untracked_hooks_and_objects_without_health(void)
{
    struct objs a = {0};
    struct fake f = {0};
    struct agent_plan_result res;

    /* a ConfigMap hook is done once created; a Secret without a health rule
     * is done at once; a Job hook with HookFailed stays after a success */
    add(&a, obj("v1", "ConfigMap", "x", "note", HOOK, "Sync", NULL));
    add(&a, obj("v1", "Secret", "x", "s", NULL));
    add(&a, obj("batch/v1", "Job", "x", "check", HOOK, "Sync", DEL, "HookFailed", NULL));
    add(&a, obj("v1", "ConfigMap", "x", "later", WAVE, "1", NULL));
    fake_script(&f, "note", "Progressing");
    fake_script(&f, "s", "None");
    fake_script(&f, "check", "Progressing,Healthy");
    run(&res, &f, &a, NULL);
    GF_ASSERT_INT(res.state, AGENT_PLAN_SUCCEEDED);
    GF_ASSERT_STR(f.log, "apply s@0 apply note@0 apply check@0 apply later@7");
    GF_ASSERT_INT(res.items[1].state, AGENT_PLAN_SUCCEEDED); /* note, though "Progressing" */
    agent_plan_result_clear(&res);
    drop(&a);
}

static void test_plan__apply_error_fails_with_message(void)
{
    struct objs a = {0};
    struct fake f = {.fail_apply = "bad"};
    struct agent_plan_result res;

    add(&a, obj("v1", "ConfigMap", "x", "bad", NULL));
    add(&a, obj("v1", "ConfigMap", "x", "good", WAVE, "1", NULL));
    run(&res, &f, &a, NULL);
    GF_ASSERT_INT(res.state, AGENT_PLAN_FAILED);
    GF_ASSERT_STR(res.object, "ConfigMap x/bad");
    GF_ASSERT_STR(res.message, "apply: admission webhook said no");
    GF_ASSERT_STR(res.items[0].message, "apply: admission webhook said no");
    GF_ASSERT_STR(f.log, "");
    {
        struct agent_plan_input in = {.apply = a.v, .n_apply = a.n};
        struct agent_plan *plan = NULL;
        json_t *doc;
        char *text;
        GF_ASSERT_INT(agent_plan_build(&plan, &in), 0);
        doc = agent_plan_result_to_json(plan, &res);
        text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
        GF_ASSERT_STR(text, "{\"failed\":{\"object\":\"ConfigMap x/bad\",\"phase\":\"Sync\","
                            "\"wave\":0},\"items\":[{\"action\":\"apply\",\"message\":\"apply: "
                            "admission webhook said no\",\"object\":\"ConfigMap x/bad\",\"phase\":"
                            "\"Sync\",\"state\":\"Failed\",\"wave\":0},{\"action\":\"apply\","
                            "\"object\":\"ConfigMap x/good\",\"phase\":\"Sync\",\"state\":"
                            "\"Pending\",\"wave\":1}],\"message\":\"apply: admission webhook "
                            "said no\",\"state\":\"Failed\"}");
        free(text);
        json_decref(doc);
        agent_plan_free(plan);
    }
    agent_plan_result_clear(&res);
    drop(&a);
}

static void test_plan__prune_waits_until_gone_before_next_wave(void)
{
    struct objs a = {0}, p = {0};
    struct fake f = {0};
    struct agent_plan_result res;

    add(&a, obj("v1", "ConfigMap", "x", "new", WAVE, "1", NULL));
    add(&a, obj("v1", "ConfigMap", "x", "first", NULL));
    add(&p, obj("v1", "ConfigMap", "x", "old", WAVE, "1", NULL));
    add(&p, obj("v1", "ConfigMap", "x", "old0", NULL));
    fake_get(&f, "old")->exists = 1;
    fake_get(&f, "old0")->exists = 1;
    run(&res, &f, &a, &p);
    GF_ASSERT_INT(res.state, AGENT_PLAN_SUCCEEDED);
    /* prune waves mirrored: old (wave 1) goes in wave 0, before first */
    GF_ASSERT_STR(f.log, "delete old@0 apply first@0 delete old0@2 apply new@2");
    agent_plan_result_clear(&res);
    drop(&a);
    drop(&p);
}

static void test_plan__operation_timeout(void)
{
    struct objs a = {0};
    struct fake f = {0};
    struct agent_plan_result res;
    struct agent_plan_callbacks cb = {.ctx = &f,
                                      .apply = fake_apply,
                                      .health = fake_health,
                                      .remove = fake_remove,
                                      .now = fake_now,
                                      .sleep = fake_sleep};
    struct agent_plan_options o = {.timeout = 12, .wave_timeout = 60, .poll_interval = 5};
    struct agent_plan_input in = {0};
    struct agent_plan *plan = NULL;

    add(&a, obj("apps/v1", "Deployment", "x", "db", NULL));
    add(&a, obj("apps/v1", "Deployment", "x", "web", WAVE, "1", NULL));
    fake_script(&f, "db", "Progressing");
    in.apply = a.v;
    in.n_apply = a.n;
    GF_ASSERT_INT(agent_plan_build(&plan, &in), 0);
    GF_ASSERT_INT(agent_plan_run(&res, plan, &cb, &o), 0);
    GF_ASSERT_INT(res.state, AGENT_PLAN_FAILED);
    GF_ASSERT(f.t >= 12 && f.t < 20);
    agent_plan_result_clear(&res);
    agent_plan_free(plan);
    drop(&a);
}

/* The agent stopping: the operation ends at the next round, Failed
 * "cancelled", without running SyncFail hooks or deleting hooks. */
static void test_plan__cancelled_stops_without_syncfail(void)
{
    struct objs a = {0};
    struct fake f = {0};
    struct agent_plan_result res;

    add(&a, obj("apps/v1", "Deployment", "x", "db", NULL));
    add(&a, obj("apps/v1", "Deployment", "x", "web", WAVE, "1", NULL));
    add(&a, obj("batch/v1", "Job", "x", "alert", HOOK, "SyncFail", NULL));
    fake_script(&f, "db", "Progressing");
    f.cancel_at = 4;
    run(&res, &f, &a, NULL);
    GF_ASSERT_INT(res.state, AGENT_PLAN_FAILED);
    GF_ASSERT_HAS(res.message, "cancelled");
    GF_ASSERT_STR(f.log, "apply db@0"); /* neither web nor the SyncFail hook */
    agent_plan_result_clear(&res);
    drop(&a);
}

GF_TESTS(GF_TEST(test_plan__kinds_in_argocd_order_then_name),
         GF_TEST(test_plan__waves_order_and_group_steps),
         GF_TEST(test_plan__hooks_by_phase_with_delete_policies),
         GF_TEST(test_plan__skip_and_delete_hooks_left_out),
         GF_TEST(test_plan__bad_annotations_are_errors),
         GF_TEST(test_plan__generate_name_only_on_hooks),
         GF_TEST(test_plan__prunes_mirror_waves_and_precede_applies),
         GF_TEST(test_plan__prune_last_after_the_last_sync_wave),
         GF_TEST(test_plan__next_wave_waits_for_health),
         GF_TEST(test_plan__last_wave_does_not_wait),
         GF_TEST(test_plan__degraded_wave_fails_and_runs_syncfail),
         GF_TEST(test_plan__wave_timeout), GF_TEST(test_plan__hooks_run_around_the_sync),
         GF_TEST(test_plan__failed_presync_hook_stops_the_sync),
         GF_TEST(test_plan__generate_name_hook_named_like_argocd),
         GF_TEST(test_plan__namespace_and_crd_move_before_their_users),
         GF_TEST(test_plan__untracked_hooks_and_objects_without_health),
         GF_TEST(test_plan__apply_error_fails_with_message),
         GF_TEST(test_plan__prune_waits_until_gone_before_next_wave),
         GF_TEST(test_plan__operation_timeout),
         GF_TEST(test_plan__cancelled_stops_without_syncfail));
