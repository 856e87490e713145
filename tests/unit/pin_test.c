/* pin_test.c -- apps held at a kept state: per-app hashes, rollback pins, rollout holds, in publish
 */
#include "harness.h"

#include "gitfleet/error.h"
#include "gitfleet/sign.h"
#include "gitfleet/wire.h"
#include "pin.h"
#include "publish.h"

#include <stdio.h>
#include <stdlib.h>

struct rig {
    hub_store *store;
    gf_sign_key *key;
    struct hub_app web, api;
};

static void rig_init(struct rig *r)
{
    char path[512];

    memset(r, 0, sizeof(*r));
    snprintf(path, sizeof(path), "%s/hub.db", gf_test_tmpdir());
    GF_ASSERT_INT(hub_store_open(&r->store, path), 0);
    GF_ASSERT_INT(gf_sign_key_generate(&r->key), 0);
    r->web = (struct hub_app){.name = "web", .namespace = "web", .cluster = "c1"};
    r->api = (struct hub_app){.name = "api", .namespace = "api", .cluster = "c1"};
    r->web.policy.automated = r->api.policy.automated = 1;
}

static void rig_free(struct rig *r)
{
    hub_store_close(r->store);
    gf_sign_key_free(r->key);
}

/* Publish a bundle where web's ConfigMap holds `web_value` and api's `api_value`
 * (NULL: the app is not in Git). Returns the generation published, 0 if none. */
static uint64_t publish(struct rig *r, const char *revision, const char *web_value,
                        const char *api_value, const struct hub_publish_hooks *hooks)
{
    struct hub_resource res[2];
    struct hub_bundle_app apps[2];
    struct hub_bundle b = {.cluster = "c1", .revision = (char *)revision, .apps = apps};
    const char *values[2] = {api_value, web_value};
    struct hub_app *defs[2] = {&r->api, &r->web};
    uint64_t generation = 0;
    int published = 0;

    for (int i = 0; i < 2; i++) {
        if (values[i] == NULL)
            continue;
        res[b.n_apps] = (struct hub_resource){.group = "",
                                              .version = "v1",
                                              .kind = "ConfigMap",
                                              .namespace = defs[i]->namespace,
                                              .name = "cm"};
        res[b.n_apps].body = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1",
                                       "kind", "ConfigMap", "metadata", "name", "cm", "namespace",
                                       defs[i]->namespace, "data", "value", values[i]);
        apps[b.n_apps] = (struct hub_bundle_app){.app = defs[i],
                                                 .revision = (char *)revision,
                                                 .resources = &res[b.n_apps],
                                                 .n_resources = 1};
        b.n_apps++;
    }
    GF_ASSERT_INT(hub_publish_bundle(r->store, r->key, &b, NULL, hooks, &generation, &published),
                  0);
    for (size_t i = 0; i < b.n_apps; i++)
        json_decref(res[i].body);
    return published ? generation : 0;
}

/* The newest bundle, verified and decoded. */
static Gitfleet__Bundle *latest(struct rig *r)
{
    struct hub_store_bundle sb;
    Gitfleet__Bundle *b = NULL;

    GF_ASSERT_INT(hub_store_bundle_latest(r->store, "c1", &sb), 0);
    GF_ASSERT_INT(gf_wire_bundle_open(&b, sb.signed_bytes, sb.signed_len, r->key), 0);
    hub_store_bundle_clear(&sb);
    return b;
}

static const Gitfleet__App *app_in(const Gitfleet__Bundle *b, const char *name)
{
    for (size_t i = 0; i < b->n_apps; i++)
        if (strcmp(b->apps[i]->name, name) == 0)
            return b->apps[i];
    return NULL;
}

static const char *value_of(const Gitfleet__App *app)
{
    static char out[64];
    json_t *doc = json_loadb((const char *)app->resources[0]->body.data,
                             app->resources[0]->body.len, 0, NULL);
    snprintf(out, sizeof(out), "%s",
             json_string_value(json_object_get(json_object_get(doc, "data"), "value")));
    json_decref(doc);
    return out;
}

static void hash_of(char out[65], struct rig *r, const char *app)
{
    Gitfleet__Bundle *b = latest(r);
    snprintf(out, 65, "%s", app_in(b, app)->content_hash);
    gitfleet__bundle__free_unpacked(b, NULL);
}

static void test_pin__app_hash_ignores_revision_and_other_apps(void)
{
    struct rig r;
    char web1[65], web2[65], api1[65];

    rig_init(&r);
    GF_ASSERT_INT(publish(&r, "rev1", "a", "x", NULL), 1);
    hash_of(web1, &r, "web");
    hash_of(api1, &r, "api");
    GF_ASSERT_INT(strlen(web1), 64);
    GF_ASSERT_INT(publish(&r, "rev2", "a", "x", NULL), 0); /* a docs-only commit */
    GF_ASSERT_INT(publish(&r, "rev3", "a", "y", NULL), 2);
    hash_of(web2, &r, "web");
    GF_ASSERT_STR(web2, web1); /* api changed, web did not */
    hash_of(web2, &r, "api");
    GF_ASSERT(strcmp(web2, api1) != 0);
    rig_free(&r);
}

static void test_pin__rollback_holds_until_git_changes(void)
{
    struct rig r;
    char old[65], now[65];
    Gitfleet__Bundle *b;

    rig_init(&r);
    publish(&r, "rev1", "good", "x", NULL);
    hash_of(old, &r, "web");
    publish(&r, "rev2", "bad", "x", NULL);
    hash_of(now, &r, "web");
    GF_ASSERT_INT(hub_pin_hold(r.store, "c1", "web", "f00d", HUB_PIN_ROLLBACK, now), GF_ENOTFOUND);
    GF_ASSERT_INT(hub_pin_hold(r.store, "c1", "web", old, HUB_PIN_ROLLBACK, now), 0);
    GF_ASSERT_INT(publish(&r, "rev2", "bad", "x", NULL), 3);
    b = latest(&r);
    GF_ASSERT_STR(value_of(app_in(b, "web")), "good");
    GF_ASSERT_STR(app_in(b, "web")->content_hash, old);
    GF_ASSERT_INT(app_in(b, "web")->auto_sync_suspended, 1);
    GF_ASSERT_INT(app_in(b, "web")->rollback_generation, 1);
    GF_ASSERT_STR(app_in(b, "web")->rollback_revision, "rev1");
    GF_ASSERT_STR(app_in(b, "web")->revision, "rev1");
    GF_ASSERT_STR(value_of(app_in(b, "api")), "x");
    gitfleet__bundle__free_unpacked(b, NULL);
    /* Another app's commit keeps the hold. */
    GF_ASSERT_INT(publish(&r, "rev3", "bad", "y", NULL), 4);
    b = latest(&r);
    GF_ASSERT_STR(value_of(app_in(b, "web")), "good");
    gitfleet__bundle__free_unpacked(b, NULL);
    /* The next Git change of the app lifts it. */
    GF_ASSERT_INT(publish(&r, "rev4", "fixed", "y", NULL), 5);
    b = latest(&r);
    GF_ASSERT_STR(value_of(app_in(b, "web")), "fixed");
    GF_ASSERT_INT(app_in(b, "web")->auto_sync_suspended, 0);
    gitfleet__bundle__free_unpacked(b, NULL);
    rig_free(&r);
}

/* The hook of a rollout: hold web whenever Git differs from the cluster. */
static int hold_web(void *arg, const char *cluster, const struct hub_bundle_app *app,
                    const char *rendered, const char *in_effect)
{
    int *calls = arg;
    (*calls)++;
    return strcmp(app->app->name, "web") == 0 && strcmp(rendered, in_effect) != 0;
}

static void test_pin__rollout_holds_old_state_and_new_apps_off(void)
{
    struct rig r;
    struct hub_store_pin *pins;
    size_t n;
    int calls = 0;
    struct hub_publish_hooks hooks = {.hold = hold_web, .arg = &calls};
    Gitfleet__Bundle *b;

    rig_init(&r);
    /* web is new on c1: held off the cluster entirely */
    GF_ASSERT_INT(publish(&r, "rev1", "v1", "x", &hooks), 1);
    b = latest(&r);
    GF_ASSERT(app_in(b, "web") == NULL);
    GF_ASSERT(app_in(b, "api") != NULL);
    gitfleet__bundle__free_unpacked(b, NULL);
    GF_ASSERT_INT(hub_store_pin_list(r.store, "c1", &pins, &n), 0);
    GF_ASSERT_INT(n, 1);
    GF_ASSERT_STR(pins[0].reason, "rollout");
    GF_ASSERT_STR(pins[0].content_hash, "");
    free(pins);
    /* released: Git's state goes out */
    GF_ASSERT_INT(hub_pin_release(r.store, "c1", "web"), 0);
    hooks.hold = NULL;
    GF_ASSERT_INT(publish(&r, "rev1", "v1", "x", &hooks), 2);
    hooks.hold = hold_web;
    /* a new version is held at v1 */
    GF_ASSERT_INT(publish(&r, "rev2", "v2", "x", &hooks), 0);
    b = latest(&r);
    GF_ASSERT_STR(value_of(app_in(b, "web")), "v1");
    GF_ASSERT_INT(app_in(b, "web")->auto_sync_suspended, 0); /* a hold, not a rollback */
    gitfleet__bundle__free_unpacked(b, NULL);
    GF_ASSERT_INT(calls, 4); /* two apps, in the two publishes with the hook */
    /* the app leaves Git: its pin goes with it */
    publish(&r, "rev3", NULL, "x", &hooks);
    GF_ASSERT_INT(hub_store_pin_list(r.store, "c1", &pins, &n), 0);
    GF_ASSERT_INT(n, 0);
    free(pins);
    rig_free(&r);
}

static void test_pin__states_are_kept_and_bounded(void)
{
    struct rig r;
    struct hub_store_app_state *states;
    size_t n;
    char value[16];

    rig_init(&r);
    for (int i = 0; i < HUB_STORE_KEEP_APP_STATES + 5; i++) {
        snprintf(value, sizeof(value), "v%d", i);
        publish(&r, value, value, "x", NULL);
    }
    GF_ASSERT_INT(hub_store_app_state_list(r.store, "c1", "web", &states, &n), 0);
    GF_ASSERT_INT(n, HUB_STORE_KEEP_APP_STATES);
    GF_ASSERT_STR(states[0].revision, "v14"); /* newest first */
    free(states);
    GF_ASSERT_INT(hub_store_app_state_list(r.store, "c1", "api", &states, &n), 0);
    GF_ASSERT_INT(n, 1); /* the same state, deduplicated */
    GF_ASSERT_INT(states[0].generation, HUB_STORE_KEEP_APP_STATES + 5);
    free(states);
    rig_free(&r);
}

GF_TESTS(GF_TEST(test_pin__app_hash_ignores_revision_and_other_apps),
         GF_TEST(test_pin__rollback_holds_until_git_changes),
         GF_TEST(test_pin__rollout_holds_old_state_and_new_apps_off),
         GF_TEST(test_pin__states_are_kept_and_bounded));
