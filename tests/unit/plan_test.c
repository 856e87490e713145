/* plan_test.c -- sync order (phases, waves, kinds, hooks, prunes) and the executor with fake
 * callbacks */
#include "harness.h"

#include "plan.h"
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
    struct agent_plan_input in = {apply->v, apply->n, prune ? prune->v : NULL, prune ? prune->n : 0,
                                  prune_last};
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
    in.apply = a.v;
    in.n_apply = a.n;
    GF_ASSERT_INT(agent_plan_build(&plan, &in), 0);
    GF_ASSERT_INT(plan->n_items, 1);
    GF_ASSERT_INT(plan->n_skipped, 3);
    GF_ASSERT_STR(plan->items[0].name, "kept");
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
    GF_ASSERT_STR(text, "PreSync 0 hook batch/Job x/migrate- delete=HookSucceeded\n");
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
    int gen_seq;
    int progress_calls, progress_running;
    enum agent_plan_state first_item_state;
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

static int fake_apply(void *ctx, const struct agent_plan_item *item, char **created)
{
    struct fake *f = ctx;
    char name[64];

    if (f->fail_apply && strcmp(f->fail_apply, item->name) == 0)
        return gf_error_set(GF_EINVAL, "admission webhook said no");
    if (created != NULL) {
        snprintf(name, sizeof(name), "%s%05d", item->generate_name, ++f->gen_seq);
        *created = strdup(name);
    } else {
        snprintf(name, sizeof(name), "%s", item->name);
    }
    fake_log(f, "apply", name);
    fake_get(f, name)->exists = 1;
    fake_get(f, name)->reads = 0;
    return 0;
}

static int fake_health(void *ctx, const struct agent_plan_item *item, const char *name,
                       struct agent_health *out)
{
    struct fake *f = ctx;
    struct fake_obj *o = fake_get(f, name);
    char buf[128], *tok, *save = NULL, *pick = NULL;
    int n = 0;

    (void)item;
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
    out->status = strcmp(pick, "None") == 0
                      ? AGENT_HEALTH_NONE
                      : (enum agent_health_status)agent_health_status_parse(pick);
    return 0;
}

static int fake_remove(void *ctx, const struct agent_plan_item *item, const char *name)
{
    struct fake *f = ctx;
    struct fake_obj *o = fake_get(f, name);

    (void)item;
    if (!o->exists)
        return GF_ENOTFOUND;
    fake_log(f, "delete", name);
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
                                      .progress = fake_progress};
    struct agent_plan_input in = {a->v, a->n, p ? p->v : NULL, p ? p->n : 0, 0};
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
    /* cfg never applied; the failed hook and the succeeded SyncFail hook deleted at the end */
    GF_ASSERT_STR(f.log, "apply migrate@0 apply alert@0 delete migrate@5 delete alert@5");
    agent_plan_result_clear(&res);
    drop(&a);
}

static void test_plan__generate_name_hook_uses_created_name(void)
{
    struct objs a = {0};
    struct fake f = {0};
    struct agent_plan_result res;

    add(&a, obj("batch/v1", "Job", "x", "gen:migrate-", HOOK, "PreSync", DEL,
                "HookSucceeded,BeforeHookCreation", NULL));
    add(&a, obj("v1", "ConfigMap", "x", "cfg", NULL));
    fake_script(&f, "migrate-00001", "Running,Progressing,Healthy");
    run(&res, &f, &a, NULL);
    GF_ASSERT_INT(res.state, AGENT_PLAN_SUCCEEDED);
    GF_ASSERT_STR(res.items[0].created_name, "migrate-00001");
    GF_ASSERT_STR(f.log, "apply migrate-00001@0 apply cfg@12 delete migrate-00001@12");
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
         GF_TEST(test_plan__generate_name_hook_uses_created_name),
         GF_TEST(test_plan__apply_error_fails_with_message),
         GF_TEST(test_plan__prune_waits_until_gone_before_next_wave),
         GF_TEST(test_plan__operation_timeout));
