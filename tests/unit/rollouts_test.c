/* rollouts_test.c -- the hub's rollout controller: holds during a pass, steps, restart, supersede,
 * commands */
#include "harness.h"

#include "gitfleet/error.h"
#include "rollouts.h"

#include <stdio.h>
#include <stdlib.h>

/* A fake hub: pins and reports per cluster of one app "web". */
struct fake {
    char pinned[6][65]; /* "" when released */
    int held[6];
    const char *synced[6], *health[6];
    int releases, holds, sync_requests;
};

static const char *names[] = {"dev-1", "dev-2", "prod-1", "prod-2", "prod-3", "lab-1"};
static const char *envs[] = {"dev", "dev", "prod", "prod", "prod", "lab"};

static int index_of(const char *cluster)
{
    for (int i = 0; i < 6; i++)
        if (strcmp(names[i], cluster) == 0)
            return i;
    gf_test_fail(__FILE__, __LINE__, "no cluster %s", cluster);
}

static int hold(void *arg, const char *cluster, const char *app, const char *hash)
{
    struct fake *f = arg;
    int i = index_of(cluster);

    f->held[i] = 1;
    snprintf(f->pinned[i], sizeof(f->pinned[i]), "%s", hash);
    f->holds++;
    return 0;
}

static int release(void *arg, const char *cluster, const char *app, int sync)
{
    struct fake *f = arg;

    f->held[index_of(cluster)] = 0;
    f->releases++;
    f->sync_requests += sync;
    return 0;
}

static int is_held(void *arg, const char *cluster, const char *app)
{
    return ((struct fake *)arg)->held[index_of(cluster)];
}

static void observe(void *arg, const struct hub_rollout_target *t,
                    struct hub_rollout_observation *o)
{
    struct fake *f = arg;
    int i = index_of(t->cluster);

    o->connected = 1;
    o->synced_hash = f->synced[i];
    o->health = f->health[i];
    o->op_phase = "Succeeded";
    o->op_hash = f->synced[i];
}

#define STRATEGY                                                                                   \
    "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"strategy\":{\"type\":\"RollingSync\","           \
    "\"rollingSync\":{\"steps\":["                                                                 \
    "{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"In\",\"values\":[\"dev\"]}]},"         \
    "{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"In\",\"values\":[\"prod\"]}],"         \
    "\"maxUpdate\":2}]}}}}"

struct world {
    struct fake fake;
    hub_store *store;
    struct hub_fleet_appset set;
    struct hub_fleet fleet;
    json_t *labels[6];
    hub_rollouts *rs;
};

static void open_rollouts(struct world *w)
{
    struct hub_rollouts_env env = {.store = w->store,
                                   .hold = hold,
                                   .release = release,
                                   .is_held = is_held,
                                   .observe = observe,
                                   .arg = &w->fake};
    GF_ASSERT_INT(hub_rollouts_open(&w->rs, &env), 0);
}

static void world_init(struct world *w)
{
    char path[512];
    json_t *doc = json_loads(STRATEGY, 0, NULL);

    memset(w, 0, sizeof(*w));
    snprintf(path, sizeof(path), "%s/hub.db", gf_test_tmpdir());
    GF_ASSERT_INT(hub_store_open(&w->store, path), 0);
    w->set.name = "web";
    GF_ASSERT_INT(hub_strategy_parse(&w->set.strategy, doc), 0);
    json_decref(doc);
    w->fleet.appsets = &w->set;
    w->fleet.n_appsets = 1;
    for (int i = 0; i < 6; i++) {
        w->labels[i] = json_pack("{s:s}", "env", envs[i]);
        w->fake.synced[i] = "v1";
        w->fake.health[i] = "Healthy";
    }
    open_rollouts(w);
}

static void world_free(struct world *w)
{
    hub_rollouts_free(w->rs);
    hub_store_close(w->store);
    hub_strategy_clear(&w->set.strategy);
    for (int i = 0; i < 6; i++)
        json_decref(w->labels[i]);
}

/* A render pass at `revision` where Git renders `hash` for every cluster;
 * returns how many apps the pass held. */
static int pass(struct world *w, const char *revision, const char *hash, int64_t now)
{
    int held = 0;

    for (int i = 0; i < 6; i++) {
        /* what the cluster was last given: its pin, or what it synced */
        const char *in_effect = w->fake.held[i] ? w->fake.pinned[i] : w->fake.synced[i];
        struct hub_rollouts_app a = {.cluster = names[i],
                                     .app = "web",
                                     .appset = &w->set,
                                     .labels = w->labels[i],
                                     .rendered_hash = hash,
                                     .in_effect_hash = in_effect,
                                     .automated = 1};
        if (hub_rollouts_decide(w->rs, &a)) {
            held++;
            if (!w->fake.held[i])
                hold(&w->fake, names[i], "web", in_effect);
        }
    }
    GF_ASSERT_INT(hub_rollouts_after_pass(w->rs, &w->fleet, revision, now), 0);
    return held;
}

static size_t tick(struct world *w, int64_t now)
{
    size_t changed = 0;
    GF_ASSERT_INT(hub_rollouts_tick(w->rs, now, &changed), 0);
    return changed;
}

/* The agents sync whatever is no longer held. */
static void agents_sync(struct world *w, const char *hash)
{
    for (int i = 0; i < 6; i++)
        if (!w->fake.held[i])
            w->fake.synced[i] = hash;
}

static const char *field(struct world *w, const char *key)
{
    static char out[256];
    json_t *doc = NULL;

    GF_ASSERT_INT(hub_rollouts_get_json(w->rs, "web", &doc, 0), 0);
    json_t *v = json_object_get(doc, key);
    if (json_is_string(v))
        snprintf(out, sizeof(out), "%s", json_string_value(v));
    else
        snprintf(out, sizeof(out), "%lld", (long long)json_integer_value(v));
    json_decref(doc);
    return out;
}

static void test_rollouts__commit_rolls_out_step_by_step(void)
{
    struct world w;

    world_init(&w);
    GF_ASSERT_INT(pass(&w, "rev2", "v2", 0), 6); /* everything held at first */
    GF_ASSERT_STR(field(&w, "phase"), "Progressing");
    GF_ASSERT_INT(tick(&w, 0), 2); /* dev-1, dev-2 */
    GF_ASSERT_INT(w.fake.held[0] + w.fake.held[1], 0);
    GF_ASSERT_INT(w.fake.held[2], 1);
    agents_sync(&w, "v2");
    GF_ASSERT_INT(tick(&w, 1000), 2); /* prod-1, prod-2: maxUpdate 2 */
    agents_sync(&w, "v2");
    GF_ASSERT_INT(tick(&w, 2000), 1); /* prod-3 */
    agents_sync(&w, "v2");
    tick(&w, 3000);
    GF_ASSERT_STR(field(&w, "phase"), "Completed");
    GF_ASSERT_INT(w.fake.held[5], 1); /* lab-1: no step selects it, waits for a manual sync */
    GF_ASSERT_INT(w.fake.sync_requests, 0);
    GF_ASSERT_INT(hub_rollouts_any_active(w.rs), 0);
    /* A pass at the same revision starts nothing new. */
    GF_ASSERT_INT(pass(&w, "rev2", "v2", 4000), 1);
    GF_ASSERT_INT(hub_rollouts_any_active(w.rs), 0);
    world_free(&w);
}

static void test_rollouts__restart_goes_on_at_the_same_step(void)
{
    struct world w;

    world_init(&w);
    pass(&w, "rev2", "v2", 0);
    tick(&w, 0);
    agents_sync(&w, "v2");
    GF_ASSERT_INT(tick(&w, 1000), 2);
    /* The hub stops and starts again: the rollout is read back from the store. */
    hub_rollouts_free(w.rs);
    open_rollouts(&w);
    GF_ASSERT_INT(hub_rollouts_any_active(w.rs), 1);
    GF_ASSERT_STR(field(&w, "step"), "2");
    GF_ASSERT_INT(tick(&w, 1500), 0); /* no step re-done: prod-1/2 are still updating */
    agents_sync(&w, "v2");
    GF_ASSERT_INT(tick(&w, 2000), 1);
    world_free(&w);
}

static void test_rollouts__newer_commit_supersedes(void)
{
    struct world w;
    json_t *list = NULL;

    world_init(&w);
    pass(&w, "rev2", "v2", 0);
    tick(&w, 0);
    agents_sync(&w, "v2"); /* dev-1/2 at v2, prod still held at v1 */
    GF_ASSERT_INT(pass(&w, "rev3", "v3", 500), 6);
    GF_ASSERT_STR(field(&w, "revision"), "rev3");
    GF_ASSERT_STR(field(&w, "step"), "1"); /* from step 1 again */
    GF_ASSERT_INT(hub_rollouts_list_json(w.rs, &list, 600), 0);
    GF_ASSERT_INT(json_array_size(list), 2);
    GF_ASSERT_STR(json_string_value(json_object_get(json_array_get(list, 1), "phase")),
                  "Superseded");
    json_decref(list);
    /* prod clusters keep their old state as the new rollout's starting point */
    GF_ASSERT_STR(w.fake.pinned[2], "v1");
    GF_ASSERT_INT(tick(&w, 600), 2); /* dev-1/2 released to v3 */
    world_free(&w);
}

static void test_rollouts__commands_and_abort(void)
{
    struct world w;
    char *metrics;

    world_init(&w);
    pass(&w, "rev2", "v2", 0);
    tick(&w, 0);
    GF_ASSERT_INT(hub_rollouts_command(w.rs, "web", "pause", 10), 0);
    GF_ASSERT_INT(hub_rollouts_command(w.rs, "web", "pause", 20), GF_ECONFLICT);
    GF_ASSERT_INT(hub_rollouts_command(w.rs, "web", "dance", 20), GF_EINVAL);
    GF_ASSERT_INT(hub_rollouts_command(w.rs, "nope", "pause", 20), GF_ENOTFOUND);
    metrics = hub_rollouts_metrics(w.rs);
    GF_ASSERT_HAS(metrics, "gitfleet_rollout_step{appset=\"web\",phase=\"Paused\"} 1");
    GF_ASSERT_HAS(metrics, "gitfleet_rollout_targets{appset=\"web\",state=\"Updating\"} 2");
    free(metrics);
    GF_ASSERT_INT(hub_rollouts_command(w.rs, "web", "resume", 30), 0);
    GF_ASSERT_INT(hub_rollouts_command(w.rs, "web", "abort", 40), 0);
    GF_ASSERT_INT(w.fake.held[0], 1); /* dev-1 held back at v1 */
    GF_ASSERT_STR(w.fake.pinned[0], "v1");
    GF_ASSERT_STR(field(&w, "phase"), "Aborted");
    metrics = hub_rollouts_metrics(w.rs);
    GF_ASSERT_HAS(metrics, "gitfleet_rollouts_ended_total{phase=\"Aborted\"} 1");
    free(metrics);
    world_free(&w);
}

GF_TESTS(GF_TEST(test_rollouts__commit_rolls_out_step_by_step),
         GF_TEST(test_rollouts__restart_goes_on_at_the_same_step),
         GF_TEST(test_rollouts__newer_commit_supersedes),
         GF_TEST(test_rollouts__commands_and_abort));
