/* rollout_test.c -- RollingSync steps as Argo CD reads them, gitfleet's gates, the rollout state
 * machine */
#include "harness.h"

#include "gitfleet/error.h"
#include "rollout.h"
#include "strategy.h"

#include <stdio.h>
#include <stdlib.h>

static json_t *appset(const char *strategy, const char *annotations)
{
    char text[4096];
    json_t *j;

    snprintf(text, sizeof(text),
             "{\"metadata\":{\"name\":\"web\",\"annotations\":{%s}},\"spec\":{\"strategy\":%s}}",
             annotations ? annotations : "", strategy);
    j = json_loads(text, 0, NULL);
    GF_ASSERT(j != NULL);
    return j;
}

#define THREE_STEPS                                                                                \
    "{\"type\":\"RollingSync\",\"rollingSync\":{\"steps\":["                                       \
    "{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"In\",\"values\":[\"dev\"]}]},"         \
    "{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"In\",\"values\":[\"staging\"]}],"      \
    "\"maxUpdate\":1},"                                                                            \
    "{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"In\",\"values\":[\"prod\"]},"          \
    "{\"key\":\"region\",\"operator\":\"NotIn\",\"values\":[\"cn\"]}],\"maxUpdate\":\"50%\"}]}}"

static void parse_ok(struct hub_strategy *s, const char *strategy, const char *ann)
{
    json_t *a = appset(strategy, ann);
    int error = hub_strategy_parse(s, a);
    json_decref(a);
    if (error < 0)
        gf_test_fail(__FILE__, __LINE__, "parse: %s", gf_error_last());
}

static void parse_fails(const char *strategy, const char *ann, const char *message)
{
    struct hub_strategy s;
    json_t *a = appset(strategy, ann);
    GF_ASSERT_INT(hub_strategy_parse(&s, a), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), message);
    json_decref(a);
}

static void test_rollout__no_strategy_or_all_at_once_is_not_rolling(void)
{
    struct hub_strategy s;

    parse_ok(&s, "{\"type\":\"AllAtOnce\"}", NULL);
    GF_ASSERT_INT(s.rolling, 0);
    parse_ok(&s, "{\"type\":\"RollingSync\",\"rollingSync\":{\"steps\":[]}}", NULL);
    GF_ASSERT_INT(s.rolling, 0);
}

static void test_rollout__steps_select_as_argocd(void)
{
    struct hub_strategy s;
    json_t *dev = json_pack("{s:s}", "env", "dev");
    json_t *prod_eu = json_pack("{s:s, s:s}", "env", "prod", "region", "eu");
    json_t *prod_cn = json_pack("{s:s, s:s}", "env", "prod", "region", "cn");
    json_t *prod = json_pack("{s:s}", "env", "prod"); /* NotIn holds for a missing label */
    json_t *none = json_object();

    parse_ok(&s, THREE_STEPS, NULL);
    GF_ASSERT_INT(s.rolling, 1);
    GF_ASSERT_INT(s.n_steps, 3);
    GF_ASSERT_INT(hub_strategy_step_of(&s, dev), 0);
    GF_ASSERT_INT(hub_strategy_step_of(&s, prod_eu), 2);
    GF_ASSERT_INT(hub_strategy_step_of(&s, prod_cn), -1); /* NotIn wins over In */
    GF_ASSERT_INT(hub_strategy_step_of(&s, prod), 2);
    GF_ASSERT_INT(hub_strategy_step_of(&s, none), -1); /* In needs the label */
    hub_strategy_clear(&s);
    json_decref(dev);
    json_decref(prod_eu);
    json_decref(prod_cn);
    json_decref(prod);
    json_decref(none);
}

static void test_rollout__max_update_rounds_as_argocd(void)
{
    struct hub_quantity q = {.percent = 1, .value = 10};

    GF_ASSERT_INT(hub_strategy_max_update(&q, 100), 10);
    GF_ASSERT_INT(hub_strategy_max_update(&q, 25), 2); /* rounds down */
    GF_ASSERT_INT(hub_strategy_max_update(&q, 3), 1);  /* at least one above 0% */
    q.value = 0;
    GF_ASSERT_INT(hub_strategy_max_update(&q, 30), 0);
    q = (struct hub_quantity){.percent = 0, .value = 3};
    GF_ASSERT_INT(hub_strategy_max_update(&q, 30), 3);
    q = (struct hub_quantity){.percent = 1, .value = 10};
    GF_ASSERT_INT(hub_strategy_max_failures(&q, 5), 0); /* tolerance rounds down to none */
}

static void test_rollout__annotations_per_step(void)
{
    struct hub_strategy s;

    parse_ok(&s, THREE_STEPS,
             "\"gitfleet.io/rollout-bake-time\":\"30s, 2m\","
             "\"gitfleet.io/rollout-progress-deadline\":\"5m\","
             "\"gitfleet.io/rollout-failure-policy\":\"rollback\","
             "\"gitfleet.io/rollout-max-failures\":\"0,1,10%\"");
    GF_ASSERT_INT(s.steps[0].bake_ms, 30000);
    GF_ASSERT_INT(s.steps[1].bake_ms, 120000);
    GF_ASSERT_INT(s.steps[2].bake_ms, 120000); /* the last value holds on */
    GF_ASSERT_INT(s.steps[2].deadline_ms, 300000);
    GF_ASSERT_INT(s.failure_policy, HUB_FAILURE_ROLLBACK);
    GF_ASSERT_INT(s.steps[1].max_failures.value, 1);
    GF_ASSERT_INT(s.steps[2].max_failures.percent, 1);
    hub_strategy_clear(&s);
}

static void test_rollout__bad_strategies_name_the_field(void)
{
    parse_fails("{\"type\":\"Canary\"}", NULL, "spec.strategy.type: 'Canary'");
    parse_fails("{\"type\":\"RollingSync\",\"rollingSync\":{\"steps\":[{\"matchExpressions\":"
                "[{\"key\":\"env\",\"operator\":\"Exists\"}]}]}}",
                NULL, "steps[0].matchExpressions[0].operator: 'Exists'");
    parse_fails("{\"type\":\"RollingSync\",\"rollingSync\":{\"steps\":[{\"maxUpdate\":\"1x\"}]}}",
                NULL, "steps[0].maxUpdate: '1x'");
    parse_fails("{\"type\":\"RollingSync\",\"rollingSync\":{\"steps\":[{\"maxUpdate\":-1}]}}", NULL,
                "steps[0].maxUpdate: -1 is negative");
    parse_fails("{\"type\":\"RollingSync\",\"rollingSync\":{\"steps\":[{\"maxUpdate\":\"150%\"}]}}",
                NULL, "over 100%");
    parse_fails(THREE_STEPS, "\"gitfleet.io/rollout-bake-time\":\"soon\"", "rollout-bake-time");
    parse_fails(THREE_STEPS, "\"gitfleet.io/rollout-failure-policy\":\"pray\"", "'pray'");
    parse_fails("{\"type\":\"RollingSync\",\"deletionOrder\":\"Random\"}", NULL, "deletionOrder");
}

/* ---- the state machine, against a scripted fleet ---- */

struct fake_fleet {
    struct {
        const char *cluster;
        int connected, held;
        const char *synced, *health, *op_phase;
    } c[8];
    size_t n;
};

static void observe(void *arg, const struct hub_rollout_target *t,
                    struct hub_rollout_observation *o)
{
    struct fake_fleet *f = arg;

    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->c[i].cluster, t->cluster) == 0) {
            o->connected = f->c[i].connected;
            o->held = f->c[i].held;
            o->synced_hash = f->c[i].synced;
            o->health = f->c[i].health;
            o->op_phase = f->c[i].op_phase;
            o->op_hash = f->c[i].synced;
            o->message = "from the fake fleet";
        }
}

/* Five clusters: dev-1 (step 1), stage-1 and stage-2 (step 2, maxUpdate 1),
 * prod-1 and prod-2 (step 3). Everyone runs "old"; Git says "new". */
static hub_rollout *five_clusters(struct fake_fleet *f, const char *ann, int64_t now)
{
    static const char *names[] = {"dev-1", "stage-1", "stage-2", "prod-1", "prod-2"};
    static const int steps[] = {0, 1, 1, 2, 2};
    struct hub_rollout_target targets[5];
    struct hub_strategy s;
    hub_rollout *r;

    parse_ok(&s, THREE_STEPS, ann);
    memset(targets, 0, sizeof(targets));
    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < 5; i++) {
        targets[i].cluster = (char *)names[i];
        targets[i].app = "web";
        targets[i].step = steps[i];
        strcpy(targets[i].from_hash, "old");
        strcpy(targets[i].to_hash, "new");
        f->c[i].cluster = names[i];
        f->c[i].connected = 1;
        f->c[i].held = 1;
        f->c[i].synced = "old";
        f->c[i].health = "Healthy";
        f->c[i].op_phase = "Succeeded";
    }
    f->n = 5;
    GF_ASSERT_INT(hub_rollout_new(&r, "web", "c0ffee", &s, targets, 5, now), 0);
    hub_strategy_clear(&s);
    return r;
}

/* Run step_once; return the released (R) and held (H) clusters as "R:dev-1 ". */
static char *tick(hub_rollout *r, struct fake_fleet *f, int64_t now)
{
    static char out[512];
    struct hub_rollout_action *a;
    size_t n;

    out[0] = '\0';
    GF_ASSERT(hub_rollout_step_once(r, observe, f, now, &a, &n) >= 0);
    for (size_t i = 0; i < n; i++) {
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s:%s ",
                 a[i].kind == HUB_ROLLOUT_RELEASE ? "R" : "H", a[i].target->cluster);
        for (size_t k = 0; k < f->n; k++)
            if (strcmp(f->c[k].cluster, a[i].target->cluster) == 0)
                f->c[k].held = a[i].kind == HUB_ROLLOUT_HOLD;
    }
    free(a);
    return out;
}

static void set(struct fake_fleet *f, const char *cluster, const char *synced, const char *health)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->c[i].cluster, cluster) == 0) {
            f->c[i].synced = synced;
            f->c[i].health = health;
        }
}

static const char *state_of(hub_rollout *r, const char *cluster)
{
    return hub_rollout_target_state_name(hub_rollout_target(r, cluster, "web")->state);
}

static void test_rollout__steps_in_order_with_max_update(void)
{
    struct fake_fleet f;
    hub_rollout *r = five_clusters(&f, NULL, 0);

    GF_ASSERT_STR(tick(r, &f, 0), "R:dev-1 ");
    GF_ASSERT_STR(tick(r, &f, 1000), ""); /* dev-1 has not synced yet */
    set(&f, "dev-1", "new", "Progressing");
    GF_ASSERT_STR(tick(r, &f, 2000), "");
    set(&f, "dev-1", "new", "Healthy");
    GF_ASSERT_STR(tick(r, &f, 3000), "R:stage-1 "); /* maxUpdate 1 */
    GF_ASSERT_STR(state_of(r, "stage-2"), "Pending");
    set(&f, "stage-1", "new", "Healthy");
    GF_ASSERT_STR(tick(r, &f, 4000), "R:stage-2 ");
    set(&f, "stage-2", "new", "Healthy");
    GF_ASSERT_STR(tick(r, &f, 5000), "R:prod-1 "); /* 50% of 2 */
    set(&f, "prod-1", "new", "Healthy");
    GF_ASSERT_STR(tick(r, &f, 6000), "R:prod-2 ");
    set(&f, "prod-2", "new", "Healthy");
    GF_ASSERT_STR(tick(r, &f, 7000), "");
    GF_ASSERT_INT(hub_rollout_phase(r), HUB_ROLLOUT_COMPLETED);
    hub_rollout_free(r);
}

static void test_rollout__bake_time_and_promote(void)
{
    struct fake_fleet f;
    hub_rollout *r = five_clusters(&f,
                                   "\"gitfleet.io/rollout-bake-time\":\"1m\","
                                   "\"gitfleet.io/rollout-progress-deadline\":\"30s\"",
                                   0);

    tick(r, &f, 0);
    set(&f, "dev-1", "new", "Healthy");
    GF_ASSERT_STR(tick(r, &f, 1000), "");
    GF_ASSERT_STR(state_of(r, "dev-1"), "Baking");
    GF_ASSERT_STR(tick(r, &f, 45000), ""); /* past the deadline: baking is not late */
    GF_ASSERT_STR(state_of(r, "dev-1"), "Baking");
    GF_ASSERT_STR(tick(r, &f, 61000), "R:stage-1 "); /* baked a minute */
    set(&f, "stage-1", "new", "Healthy");
    tick(r, &f, 62000);
    GF_ASSERT_INT(hub_rollout_promote(r), 0);
    GF_ASSERT_STR(tick(r, &f, 63000), "R:stage-2 "); /* promote ends stage-1's bake */
    hub_rollout_free(r);
}

static void test_rollout__degraded_halts_by_default(void)
{
    struct fake_fleet f;
    hub_rollout *r = five_clusters(&f, NULL, 0);
    json_t *doc;

    tick(r, &f, 0);
    set(&f, "dev-1", "new", "Degraded");
    GF_ASSERT_STR(tick(r, &f, 1000), "");
    GF_ASSERT_INT(hub_rollout_phase(r), HUB_ROLLOUT_HALTED);
    GF_ASSERT_STR(state_of(r, "dev-1"), "Failed");
    GF_ASSERT_STR(state_of(r, "stage-1"), "Waiting"); /* later steps never see it */
    doc = hub_rollout_to_json(r, 1000);
    GF_ASSERT_HAS(json_string_value(json_object_get(doc, "message")), "step 1: 1 of 1 failed");
    json_decref(doc);
    /* Fixed in place and resumed: it goes on. */
    set(&f, "dev-1", "new", "Healthy");
    GF_ASSERT_INT(hub_rollout_resume(r, 2000), 0);
    GF_ASSERT_STR(tick(r, &f, 2000), "R:stage-1 ");
    hub_rollout_free(r);
}

static void test_rollout__rollback_policy_holds_back_released_steps(void)
{
    struct fake_fleet f;
    hub_rollout *r = five_clusters(&f, "\"gitfleet.io/rollout-failure-policy\":\"rollback\"", 0);

    tick(r, &f, 0);
    set(&f, "dev-1", "new", "Healthy");
    GF_ASSERT_STR(tick(r, &f, 1000), "R:stage-1 ");
    f.c[1].op_phase = "Failed";
    set(&f, "stage-1", "new", "Progressing");
    GF_ASSERT_STR(tick(r, &f, 2000), "H:dev-1 H:stage-1 ");
    GF_ASSERT_INT(hub_rollout_phase(r), HUB_ROLLOUT_ROLLED_BACK);
    GF_ASSERT_STR(state_of(r, "stage-2"), "Pending"); /* never released */
    GF_ASSERT_STR(state_of(r, "prod-1"), "Waiting");
    hub_rollout_free(r);
}

static void test_rollout__deadline_and_tolerance(void)
{
    struct fake_fleet f;
    hub_rollout *r = five_clusters(&f,
                                   "\"gitfleet.io/rollout-progress-deadline\":\"1m\","
                                   "\"gitfleet.io/rollout-max-failures\":\"0,2,0\"",
                                   0);

    tick(r, &f, 0);
    set(&f, "dev-1", "new", "Healthy");
    tick(r, &f, 1000);    /* step 2 starts at 1 s: stage-1 released */
    f.c[1].connected = 0; /* disconnected: never Done */
    GF_ASSERT_STR(tick(r, &f, 30000), "");
    GF_ASSERT_STR(tick(r, &f, 62000), "R:prod-1 "); /* two failures tolerated */
    GF_ASSERT_STR(state_of(r, "stage-1"), "Failed");
    GF_ASSERT_HAS(hub_rollout_target(r, "stage-1", "web")->message, "progress deadline");
    GF_ASSERT_STR(state_of(r, "stage-2"), "Failed"); /* held all along: no free slot */
    /* Step 3 tolerates none: its deadline passing halts the rollout. */
    GF_ASSERT_STR(tick(r, &f, 123000), "");
    GF_ASSERT_INT(hub_rollout_phase(r), HUB_ROLLOUT_HALTED);
    hub_rollout_free(r);
}

static void test_rollout__pause_resume_abort(void)
{
    struct fake_fleet f;
    hub_rollout *r = five_clusters(&f, NULL, 0);
    struct hub_rollout_action *a;
    size_t n;

    tick(r, &f, 0);
    GF_ASSERT_INT(hub_rollout_pause(r, 500), 0);
    GF_ASSERT_INT(hub_rollout_pause(r, 600), GF_ECONFLICT);
    set(&f, "dev-1", "new", "Healthy");
    GF_ASSERT_STR(tick(r, &f, 1000), ""); /* paused: nothing released */
    GF_ASSERT_INT(hub_rollout_resume(r, 2000), 0);
    GF_ASSERT_STR(tick(r, &f, 2000), "R:stage-1 ");
    GF_ASSERT_INT(hub_rollout_abort(r, &a, &n), 0);
    GF_ASSERT_INT(n, 2);
    GF_ASSERT_INT(a[0].kind, HUB_ROLLOUT_HOLD);
    free(a);
    GF_ASSERT_INT(hub_rollout_phase(r), HUB_ROLLOUT_ABORTED);
    GF_ASSERT_INT(hub_rollout_abort(r, &a, &n), GF_ECONFLICT);
    hub_rollout_free(r);
}

static void test_rollout__manual_targets_wait_for_an_operator(void)
{
    struct fake_fleet f;
    hub_rollout *r = five_clusters(&f, NULL, 0);

    /* stage-2 synced by hand while still waiting for its step */
    f.c[2].held = 0;
    set(&f, "stage-2", "new", "Healthy");
    tick(r, &f, 0);
    GF_ASSERT_STR(state_of(r, "stage-2"), "Done");
    hub_rollout_free(r);
}

static void test_rollout__json_round_trip_survives_a_restart(void)
{
    struct fake_fleet f;
    hub_rollout *r = five_clusters(&f, "\"gitfleet.io/rollout-bake-time\":\"1m\"", 0), *back;
    json_t *doc, *again;
    char *a, *b;

    hub_rollout_set_id(r, 7);
    tick(r, &f, 0);
    set(&f, "dev-1", "new", "Healthy");
    tick(r, &f, 1000);
    doc = hub_rollout_to_json(r, 1000);
    GF_ASSERT_INT(hub_rollout_from_json(&back, doc), 0);
    again = hub_rollout_to_json(back, 1000);
    a = json_dumps(doc, JSON_SORT_KEYS);
    b = json_dumps(again, JSON_SORT_KEYS);
    GF_ASSERT_STR(b, a);
    /* The restored machine goes on where the old one was: still baking. */
    GF_ASSERT_STR(tick(back, &f, 30000), "");
    GF_ASSERT_STR(tick(back, &f, 62000), "R:stage-1 ");
    free(a);
    free(b);
    json_decref(doc);
    json_decref(again);
    hub_rollout_free(back);
    hub_rollout_free(r);
    doc = json_loads("{\"id\":1}", 0, NULL);
    GF_ASSERT_INT(hub_rollout_from_json(&back, doc), GF_EINVAL);
    json_decref(doc);
}

GF_TESTS(GF_TEST(test_rollout__no_strategy_or_all_at_once_is_not_rolling),
         GF_TEST(test_rollout__steps_select_as_argocd),
         GF_TEST(test_rollout__max_update_rounds_as_argocd),
         GF_TEST(test_rollout__annotations_per_step),
         GF_TEST(test_rollout__bad_strategies_name_the_field),
         GF_TEST(test_rollout__steps_in_order_with_max_update),
         GF_TEST(test_rollout__bake_time_and_promote),
         GF_TEST(test_rollout__degraded_halts_by_default),
         GF_TEST(test_rollout__rollback_policy_holds_back_released_steps),
         GF_TEST(test_rollout__deadline_and_tolerance), GF_TEST(test_rollout__pause_resume_abort),
         GF_TEST(test_rollout__manual_targets_wait_for_an_operator),
         GF_TEST(test_rollout__json_round_trip_survives_a_restart));
