/* publish_ops_test.c -- what publish puts over rendered apps: content hashes, Git's states kept,
 * pins (held, released by a Git change), operation requests delivered until finished or expired */
#include "harness.h"

#include "appstate.h"
#include "gitfleet/apphash.h"
#include "gitfleet/error.h"
#include "gitfleet/wire.h"
#include "opreq.h"
#include "pin.h"
#include "publish.h"
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Two apps on cluster dev-1, "web" with one ConfigMap whose data we vary. */
struct fixture {
    hub_store *store;
    gf_sign_key *key;
    struct hub_app apps[2];
    struct hub_resource res[2];
    struct hub_bundle_app bapps[2];
    struct hub_bundle bundle;
};

static void fixture_open(struct fixture *f)
{
    char path[512];

    memset(f, 0, sizeof(*f));
    snprintf(path, sizeof(path), "%s/hub.db", gf_test_tmpdir());
    GF_ASSERT_INT(hub_store_open(&f->store, path), 0);
    GF_ASSERT_INT(hub_pin_init(f->store), 0);
    GF_ASSERT_INT(hub_appstate_init(f->store), 0);
    GF_ASSERT_INT(hub_opreq_init(f->store), 0);
    GF_ASSERT_INT(gf_sign_key_generate(&f->key), 0);
    const char *names[] = {"api", "web"};
    for (int i = 0; i < 2; i++) {
        f->apps[i] = (struct hub_app){.name = (char *)names[i],
                                      .cluster = "dev-1",
                                      .namespace = (char *)names[i],
                                      .project = "default"};
        f->apps[i].policy.automated = 1;
        f->res[i] = (struct hub_resource){.group = "",
                                          .version = "v1",
                                          .kind = "ConfigMap",
                                          .namespace = (char *)names[i],
                                          .name = "config"};
        f->res[i].body =
            json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                      "metadata", "name", "config", "namespace", names[i], "data", "v", "1");
        f->bapps[i] = (struct hub_bundle_app){
            .app = &f->apps[i], .revision = "rev1", .resources = &f->res[i], .n_resources = 1};
    }
    f->bundle =
        (struct hub_bundle){.cluster = "dev-1", .revision = "rev1", .apps = f->bapps, .n_apps = 2};
}

static void fixture_close(struct fixture *f)
{
    for (int i = 0; i < 2; i++)
        json_decref(f->res[i].body);
    gf_sign_key_free(f->key);
    hub_store_close(f->store);
}

/* A new commit: `web`'s data becomes `value`, every app is at `rev`. */
static void commit(struct fixture *f, const char *rev, const char *value)
{
    json_object_set_new(json_object_get(f->res[1].body, "data"), "v", json_string(value));
    f->bundle.revision = (char *)rev;
    for (int i = 0; i < 2; i++)
        f->bapps[i].revision = (char *)rev;
}

static uint64_t publish(struct fixture *f, int expect_new)
{
    uint64_t gen = 0;
    int published = -1;

    GF_ASSERT_INT(hub_publish_bundle(f->store, f->key, &f->bundle, NULL, NULL, &gen, &published),
                  0);
    GF_ASSERT_INT(published, expect_new);
    return gen;
}

/* The newest stored bundle, verified and decoded. */
static Gitfleet__Bundle *latest(struct fixture *f)
{
    struct hub_store_bundle b;
    Gitfleet__Bundle *out = NULL;

    GF_ASSERT_INT(hub_store_bundle_latest(f->store, "dev-1", &b), 0);
    GF_ASSERT_INT(gf_wire_bundle_open(&out, b.signed_bytes, b.signed_len, f->key), 0);
    hub_store_bundle_clear(&b);
    return out;
}

static const Gitfleet__App *app_in(const Gitfleet__Bundle *b, const char *name)
{
    for (size_t i = 0; i < b->n_apps; i++)
        if (strcmp(b->apps[i]->name, name) == 0)
            return b->apps[i];
    return NULL;
}

static void test_publish_ops__content_hash_per_app(void)
{
    struct fixture f;
    char hash[65], api_before[65];

    fixture_open(&f);
    publish(&f, 1);
    Gitfleet__Bundle *b = latest(&f);
    const Gitfleet__App *web = app_in(b, "web");
    GF_ASSERT(web && web->content_hash && strlen(web->content_hash) == 64);
    GF_ASSERT_STR(web->revision, "rev1");
    /* the agent computes the same hash from what it got */
    GF_ASSERT_INT(gf_apphash_compute(hash, (Gitfleet__App *)web), 0);
    GF_ASSERT_STR(hash, web->content_hash);
    snprintf(api_before, sizeof(api_before), "%s", app_in(b, "api")->content_hash);
    gitfleet__bundle__free_unpacked(b, NULL);
    /* a docs-only commit: nothing new; a change to web: only web's hash moves */
    commit(&f, "rev2", "1");
    publish(&f, 0);
    commit(&f, "rev3", "2");
    GF_ASSERT_INT(publish(&f, 1), 2);
    b = latest(&f);
    GF_ASSERT_STR(app_in(b, "api")->content_hash, api_before);
    GF_ASSERT(strcmp(app_in(b, "web")->content_hash, hash) != 0);
    gitfleet__bundle__free_unpacked(b, NULL);
    fixture_close(&f);
}

static void test_publish_ops__git_states_kept_and_synced(void)
{
    struct fixture f;
    struct hub_appstate_ref git, pick, *list = NULL;
    size_t n = 0;
    int known = 0;

    fixture_open(&f);
    publish(&f, 1);
    GF_ASSERT_INT(hub_appstate_git(f.store, "dev-1", "web", &git), 0);
    char first[65];
    snprintf(first, sizeof(first), "%s", git.hash);
    GF_ASSERT_INT(hub_appstate_mark_synced(f.store, "dev-1", "web", first, 1, 1000, &known), 0);
    GF_ASSERT_INT(known, 1);
    commit(&f, "rev2", "2");
    publish(&f, 1);
    GF_ASSERT_INT(hub_appstate_git(f.store, "dev-1", "web", &git), 0);
    GF_ASSERT_STR(git.revision, "rev2");
    GF_ASSERT_INT(hub_appstate_mark_synced(f.store, "dev-1", "web", git.hash, 2, 2000, &known), 0);
    /* unknown hashes are no states */
    GF_ASSERT_INT(hub_appstate_mark_synced(f.store, "dev-1", "web", "0000", 2, 2000, &known), 0);
    GF_ASSERT_INT(known, 0);
    GF_ASSERT_INT(hub_appstate_synced(f.store, "dev-1", "web", &list, &n), 0);
    GF_ASSERT_INT(n, 2);
    GF_ASSERT_STR(list[0].revision, "rev2");
    GF_ASSERT_INT(list[1].synced_generation, 1);
    free(list);
    /* the state before the current one, by default, by generation or revision */
    GF_ASSERT_INT(hub_appstate_pick(f.store, "dev-1", "web", NULL, git.hash, &pick), 0);
    GF_ASSERT_STR(pick.hash, first);
    GF_ASSERT_INT(hub_appstate_pick(f.store, "dev-1", "web", "1", git.hash, &pick), 0);
    GF_ASSERT_STR(pick.revision, "rev1");
    GF_ASSERT_INT(hub_appstate_pick(f.store, "dev-1", "web", "rev2", NULL, &pick), 0);
    GF_ASSERT_STR(pick.hash, git.hash);
    GF_ASSERT_INT(hub_appstate_pick(f.store, "dev-1", "web", "7", NULL, &pick), GF_ENOTFOUND);
    GF_ASSERT_HAS(gf_error_last(), "gitfleet history web");
    GF_ASSERT_INT(hub_appstate_pick(f.store, "dev-1", "api", NULL, NULL, &pick), GF_ENOTFOUND);
    /* the stored content is the app as published, without its revision */
    Gitfleet__App *app = NULL;
    GF_ASSERT_INT(hub_appstate_load(&app, f.store, first), 0);
    GF_ASSERT_STR(app->name, "web");
    GF_ASSERT(app->revision == NULL);
    GF_ASSERT_INT(app->n_resources, 1);
    GF_ASSERT_HAS((const char *)app->resources[0]->body.data, "\"v\":\"1\"");
    gitfleet__app__free_unpacked(app, NULL);
    fixture_close(&f);
}

/* The single integer `sql` answers. */
static long long count_rows(hub_store *store, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    long long n = -1;

    hub_store_lock(store);
    if (hub_store_prepare(store, &stmt, sql) == 0 && sqlite3_step(stmt) == SQLITE_ROW)
        n = sqlite3_column_int64(stmt, 0);
    hub_store_release(store, stmt);
    hub_store_unlock(store);
    return n;
}

static void test_publish_ops__bounded(void)
{
    struct fixture f;
    struct hub_appstate_ref *list = NULL, git;
    size_t n = 0;
    int known;
    char value[16], rev[16];

    fixture_open(&f);
    for (int i = 0; i < 3 * HUB_APPSTATE_KEEP; i++) {
        snprintf(value, sizeof(value), "%d", i);
        snprintf(rev, sizeof(rev), "rev%d", i);
        commit(&f, rev, value);
        uint64_t gen = publish(&f, 1);
        GF_ASSERT_INT(hub_appstate_git(f.store, "dev-1", "web", &git), 0);
        if (i % 2 == 0) /* half of them synced */
            GF_ASSERT_INT(
                hub_appstate_mark_synced(f.store, "dev-1", "web", git.hash, gen, 1000 + i, &known),
                0);
    }
    GF_ASSERT_INT(hub_appstate_synced(f.store, "dev-1", "web", &list, &n), 0);
    GF_ASSERT_INT(n, HUB_APPSTATE_KEEP);
    GF_ASSERT_STR(list[0].revision, "rev28");
    /* Contents go with the last state that names them, and only then. */
    GF_ASSERT_INT(count_rows(f.store,
                             "SELECT COUNT(*) FROM app_contents WHERE hash NOT IN "
                             "(SELECT hash FROM app_states UNION SELECT hash FROM app_git)"),
                  0);
    GF_ASSERT_INT(count_rows(f.store, "SELECT COUNT(*) FROM (SELECT hash FROM app_states UNION "
                                      "SELECT hash FROM app_git) WHERE hash NOT IN "
                                      "(SELECT hash FROM app_contents)"),
                  0);
    /* Kept: the newest synced and unsynced states, and Git's own, with the
     * slack a trim waits for. */
    GF_ASSERT(count_rows(f.store, "SELECT COUNT(*) FROM app_contents") <=
              2 * HUB_APPSTATE_KEEP + HUB_APPSTATE_SLACK + 1);
    free(list);
    fixture_close(&f);
}

static void test_publish_ops__pin_held_then_released_by_git_change(void)
{
    struct fixture f;
    struct hub_appstate_ref git1, git2;
    struct hub_pin pin = {.generation = 1, .suspend_auto_sync = 1, .release_on_change = 1};

    fixture_open(&f);
    publish(&f, 1);
    GF_ASSERT_INT(hub_appstate_git(f.store, "dev-1", "web", &git1), 0);
    commit(&f, "rev2", "2");
    publish(&f, 1);
    GF_ASSERT_INT(hub_appstate_git(f.store, "dev-1", "web", &git2), 0);
    snprintf(pin.cluster, sizeof(pin.cluster), "dev-1");
    snprintf(pin.app, sizeof(pin.app), "web");
    snprintf(pin.holder, sizeof(pin.holder), "rollback");
    snprintf(pin.hash, sizeof(pin.hash), "%s", git1.hash);
    snprintf(pin.revision, sizeof(pin.revision), "rev1");
    snprintf(pin.git_hash, sizeof(pin.git_hash), "%s", git2.hash);
    GF_ASSERT_INT(hub_pin_hold(f.store, &pin), 0);
    /* republished without a render: web holds rev1's state, suspended */
    uint64_t gen = 0;
    int published = 0;
    GF_ASSERT_INT(hub_publish_refresh(f.store, f.key, "dev-1", &gen, &published), 0);
    GF_ASSERT_INT(published, 1);
    GF_ASSERT_INT(gen, 3);
    Gitfleet__Bundle *b = latest(&f);
    const Gitfleet__App *web = app_in(b, "web");
    GF_ASSERT_STR(web->content_hash, git1.hash);
    GF_ASSERT_STR(web->revision, "rev1");
    GF_ASSERT(web->has_auto_sync_suspended && web->auto_sync_suspended);
    GF_ASSERT_INT(web->rollback_generation, 1);
    GF_ASSERT_STR(web->rollback_revision, "rev1");
    GF_ASSERT_HAS((const char *)web->resources[0]->body.data, "\"v\":\"1\"");
    GF_ASSERT(!app_in(b, "api")->auto_sync_suspended);
    gitfleet__bundle__free_unpacked(b, NULL);
    /* a render of the same commit keeps the pin (nothing new to publish) */
    publish(&f, 0);
    GF_ASSERT_INT(hub_pin_lookup(f.store, "dev-1", "web", &pin), 0);
    /* a docs-only commit keeps it too; the next change of web ends it */
    commit(&f, "rev3", "2");
    publish(&f, 0);
    GF_ASSERT_INT(hub_pin_lookup(f.store, "dev-1", "web", &pin), 0);
    commit(&f, "rev4", "3");
    publish(&f, 1);
    GF_ASSERT_INT(hub_pin_lookup(f.store, "dev-1", "web", &pin), GF_ENOTFOUND);
    b = latest(&f);
    web = app_in(b, "web");
    GF_ASSERT(!web->has_auto_sync_suspended);
    GF_ASSERT_STR(web->revision, "rev4");
    GF_ASSERT_HAS((const char *)web->resources[0]->body.data, "\"v\":\"3\"");
    gitfleet__bundle__free_unpacked(b, NULL);
    fixture_close(&f);
}

static void test_publish_ops__released_pin_gives_git_state_back(void)
{
    struct fixture f;
    struct hub_appstate_ref git1, git2;
    struct hub_pin pin = {.generation = 1, .suspend_auto_sync = 1, .release_on_change = 1};
    uint64_t gen;
    int published;

    fixture_open(&f);
    publish(&f, 1);
    GF_ASSERT_INT(hub_appstate_git(f.store, "dev-1", "web", &git1), 0);
    commit(&f, "rev2", "2");
    publish(&f, 1);
    GF_ASSERT_INT(hub_appstate_git(f.store, "dev-1", "web", &git2), 0);
    snprintf(pin.cluster, sizeof(pin.cluster), "dev-1");
    snprintf(pin.app, sizeof(pin.app), "web");
    snprintf(pin.holder, sizeof(pin.holder), "rollback");
    snprintf(pin.hash, sizeof(pin.hash), "%s", git1.hash);
    snprintf(pin.git_hash, sizeof(pin.git_hash), "%s", git2.hash);
    GF_ASSERT_INT(hub_pin_hold(f.store, &pin), 0);
    GF_ASSERT_INT(hub_publish_refresh(f.store, f.key, "dev-1", &gen, &published), 0);
    GF_ASSERT_INT(hub_pin_release(f.store, "dev-1", "web", "rollback", NULL), 0);
    GF_ASSERT_INT(hub_publish_refresh(f.store, f.key, "dev-1", &gen, &published), 0);
    GF_ASSERT_INT(published, 1);
    Gitfleet__Bundle *b = latest(&f);
    const Gitfleet__App *web = app_in(b, "web");
    GF_ASSERT_STR(web->content_hash, git2.hash);
    GF_ASSERT_STR(web->revision, "rev2");
    GF_ASSERT(!web->has_auto_sync_suspended && !web->has_rollback_generation);
    gitfleet__bundle__free_unpacked(b, NULL);
    /* nothing changed since: a refresh publishes nothing */
    GF_ASSERT_INT(hub_publish_refresh(f.store, f.key, "dev-1", &gen, &published), 0);
    GF_ASSERT_INT(published, 0);
    fixture_close(&f);
}

static void test_publish_ops__requests_delivered_until_finished_or_expired(void)
{
    struct fixture f;
    json_t *resources = json_pack("[{s:s, s:s, s:s, s:s}]", "group", "", "kind", "ConfigMap",
                                  "namespace", "web", "name", "config");
    struct hub_opreq a = {.cluster = "dev-1",
                          .app = "web",
                          .kind = "sync",
                          .dry_run = 1,
                          .resources = resources,
                          .requested_by = "admin"};
    struct hub_opreq b = {
        .cluster = "dev-1", .app = "api", .kind = "sync", .prune = 1, .requested_by = "ci"};
    struct hub_opreq other = {.cluster = "prod-1", .app = "web", .kind = "sync"};
    int64_t now = gf_wire_now_ms();
    uint64_t gen;
    int published, finished;

    fixture_open(&f);
    publish(&f, 1);
    a.requested_ms = b.requested_ms = other.requested_ms = now;
    a.expires_ms = other.expires_ms = now + 60000;
    b.expires_ms = now + 1500;
    GF_ASSERT_INT(hub_opreq_add(f.store, &a), 0);
    GF_ASSERT_INT(hub_opreq_add(f.store, &b), 0);
    GF_ASSERT_INT(hub_opreq_add(f.store, &other), 0);
    GF_ASSERT_HAS(a.id, "op-");
    GF_ASSERT(strcmp(a.id, b.id) != 0);
    GF_ASSERT_INT(hub_publish_refresh(f.store, f.key, "dev-1", &gen, &published), 0);
    GF_ASSERT_INT(published, 1);
    Gitfleet__Bundle *bundle = latest(&f);
    GF_ASSERT_INT(bundle->n_operations, 2); /* prod-1's is not dev-1's */
    GF_ASSERT_STR(bundle->operations[0]->id, a.id);
    GF_ASSERT_STR(bundle->operations[0]->app, "web");
    GF_ASSERT(bundle->operations[0]->dry_run && !bundle->operations[0]->prune);
    GF_ASSERT_INT(bundle->operations[0]->n_resources, 1);
    GF_ASSERT_STR(bundle->operations[0]->resources[0]->kind, "ConfigMap");
    GF_ASSERT_STR(bundle->operations[0]->requested_by, "admin");
    GF_ASSERT_INT(bundle->operations[0]->expires_unix_ms, now + 60000);
    GF_ASSERT(bundle->operations[1]->prune);
    gitfleet__bundle__free_unpacked(bundle, NULL);
    /* a render keeps carrying them */
    commit(&f, "rev2", "2");
    publish(&f, 1);
    bundle = latest(&f);
    GF_ASSERT_INT(bundle->n_operations, 2);
    gitfleet__bundle__free_unpacked(bundle, NULL);
    /* Running does not finish; another cluster cannot finish it; Succeeded does */
    json_t *state = json_pack("{s:s, s:s}", "id", a.id, "phase", "Running");
    GF_ASSERT_INT(hub_opreq_update(f.store, "dev-1", state, now, &finished), 0);
    GF_ASSERT_INT(finished, 0);
    json_object_set_new(state, "phase", json_string("Succeeded"));
    GF_ASSERT_INT(hub_opreq_update(f.store, "prod-1", state, now, &finished), 0);
    GF_ASSERT_INT(finished, 0);
    GF_ASSERT_INT(hub_opreq_update(f.store, "dev-1", state, now, &finished), 0);
    GF_ASSERT_INT(finished, 1);
    GF_ASSERT_INT(hub_opreq_update(f.store, "dev-1", state, now, &finished), 0);
    GF_ASSERT_INT(finished, 0); /* once */
    json_decref(state);
    GF_ASSERT_INT(hub_publish_refresh(f.store, f.key, "dev-1", &gen, &published), 0);
    bundle = latest(&f);
    GF_ASSERT_INT(bundle->n_operations, 1);
    GF_ASSERT_STR(bundle->operations[0]->id, b.id);
    gitfleet__bundle__free_unpacked(bundle, NULL);
    /* b expires: it leaves the next bundle and lists as Expired */
    struct timespec wait = {1, 600000000L};
    nanosleep(&wait, NULL);
    GF_ASSERT_INT(hub_publish_refresh(f.store, f.key, "dev-1", &gen, &published), 0);
    GF_ASSERT_INT(published, 1);
    bundle = latest(&f);
    GF_ASSERT_INT(bundle->n_operations, 0);
    gitfleet__bundle__free_unpacked(bundle, NULL);
    json_t *list = NULL;
    GF_ASSERT_INT(hub_opreq_list(f.store, "dev-1", NULL, gf_wire_now_ms(), 10, &list), 0);
    GF_ASSERT_INT(json_array_size(list), 2);
    GF_ASSERT_STR(json_string_value(json_object_get(json_array_get(list, 0), "phase")), "Expired");
    GF_ASSERT_STR(json_string_value(json_object_get(json_array_get(list, 1), "phase")),
                  "Succeeded");
    json_decref(list);
    json_decref(resources);
    fixture_close(&f);
}

GF_TESTS(GF_TEST(test_publish_ops__content_hash_per_app),
         GF_TEST(test_publish_ops__git_states_kept_and_synced), GF_TEST(test_publish_ops__bounded),
         GF_TEST(test_publish_ops__pin_held_then_released_by_git_change),
         GF_TEST(test_publish_ops__released_pin_gives_git_state_back),
         GF_TEST(test_publish_ops__requests_delivered_until_finished_or_expired));
