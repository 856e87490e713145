/* pin_test.c -- pins: hold, replace, lookup, release by holder, list, a restart keeps them, and
 * the store's list of clusters with pins, operations or prune allowances follows their writes */
#include "harness.h"

#include "gitfleet/error.h"
#include "opreq.h"
#include "pin.h"
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static hub_store *open_store(void)
{
    char path[512];
    hub_store *store = NULL;

    snprintf(path, sizeof(path), "%s/hub.db", gf_test_tmpdir());
    GF_ASSERT_INT(hub_store_open(&store, path), 0);
    GF_ASSERT_INT(hub_pin_init(store), 0);
    return store;
}

static struct hub_pin pin_of(const char *cluster, const char *app, char hash_digit,
                             const char *holder)
{
    struct hub_pin p = {
        .generation = 3, .suspend_auto_sync = 1, .release_on_change = 1, .created_ms = 1000};

    snprintf(p.cluster, sizeof(p.cluster), "%s", cluster);
    snprintf(p.app, sizeof(p.app), "%s", app);
    snprintf(p.holder, sizeof(p.holder), "%s", holder);
    memset(p.hash, hash_digit, 64);
    memset(p.git_hash, 'f', 64);
    snprintf(p.revision, sizeof(p.revision), "abc123");
    return p;
}

static void test_pin__hold_lookup_replace(void)
{
    hub_store *store = open_store();
    struct hub_pin p = pin_of("dev-1", "web", 'a', "rollback"), got;

    GF_ASSERT_INT(hub_pin_lookup(store, "dev-1", "web", &got), GF_ENOTFOUND);
    GF_ASSERT_INT(hub_pin_hold(store, &p), 0);
    GF_ASSERT_INT(hub_pin_lookup(store, "dev-1", "web", &got), 0);
    GF_ASSERT_STR(got.hash, p.hash);
    GF_ASSERT_STR(got.git_hash, p.git_hash);
    GF_ASSERT_STR(got.holder, "rollback");
    GF_ASSERT_STR(got.revision, "abc123");
    GF_ASSERT_INT(got.generation, 3);
    GF_ASSERT_INT(got.suspend_auto_sync, 1);
    GF_ASSERT_INT(got.release_on_change, 1);
    /* one pin per (cluster, app): holding again replaces it */
    p = pin_of("dev-1", "web", 'b', "rollout");
    p.suspend_auto_sync = 0;
    GF_ASSERT_INT(hub_pin_hold(store, &p), 0);
    GF_ASSERT_INT(hub_pin_lookup(store, "dev-1", "web", &got), 0);
    GF_ASSERT_STR(got.holder, "rollout");
    GF_ASSERT_INT(got.suspend_auto_sync, 0);
    GF_ASSERT(got.hash[0] == 'b');
    /* the same app elsewhere is another pin */
    GF_ASSERT_INT(hub_pin_lookup(store, "prod-1", "web", &got), GF_ENOTFOUND);
    hub_store_close(store);
}

static void test_pin__release_only_by_its_holder(void)
{
    hub_store *store = open_store();
    struct hub_pin p = pin_of("dev-1", "web", 'a', "rollout"), got;
    int released = -1;

    GF_ASSERT_INT(hub_pin_hold(store, &p), 0);
    GF_ASSERT_INT(hub_pin_release(store, "dev-1", "web", "rollback", &released), 0);
    GF_ASSERT_INT(released, 0);
    GF_ASSERT_INT(hub_pin_lookup(store, "dev-1", "web", &got), 0);
    GF_ASSERT_INT(hub_pin_release(store, "dev-1", "web", NULL, &released), 0);
    GF_ASSERT_INT(released, 1);
    GF_ASSERT_INT(hub_pin_lookup(store, "dev-1", "web", &got), GF_ENOTFOUND);
    GF_ASSERT_INT(hub_pin_release(store, "dev-1", "web", NULL, &released), 0);
    GF_ASSERT_INT(released, 0);
    hub_store_close(store);
}

static void test_pin__list_find_and_restart(void)
{
    hub_store *store = open_store();
    struct hub_pin a = pin_of("dev-1", "web", 'a', "rollback"),
                   b = pin_of("dev-1", "api", 'b', "rollback"),
                   c = pin_of("prod-1", "web", 'c', "rollback");
    struct hub_pin *list = NULL;
    size_t n = 0;

    GF_ASSERT_INT(hub_pin_hold(store, &a), 0);
    GF_ASSERT_INT(hub_pin_hold(store, &b), 0);
    GF_ASSERT_INT(hub_pin_hold(store, &c), 0);
    hub_store_close(store);
    store = open_store(); /* durable */
    GF_ASSERT_INT(hub_pin_list(store, "dev-1", &list, &n), 0);
    GF_ASSERT_INT(n, 2);
    GF_ASSERT_STR(list[0].app, "api");
    GF_ASSERT(hub_pin_find(list, n, "web") != NULL);
    GF_ASSERT(hub_pin_find(list, n, "db") == NULL);
    free(list);
    GF_ASSERT_INT(hub_pin_list(store, NULL, &list, &n), 0);
    GF_ASSERT_INT(n, 3);
    free(list);
    hub_store_close(store);
}

static void test_pin__refuses_incomplete_pins(void)
{
    hub_store *store = open_store();
    struct hub_pin p = pin_of("dev-1", "web", 'a', "rollback");

    p.hash[10] = '\0';
    GF_ASSERT_INT(hub_pin_hold(store, &p), GF_EINVAL);
    p = pin_of("", "web", 'a', "rollback");
    GF_ASSERT_INT(hub_pin_hold(store, &p), GF_EINVAL);
    hub_store_close(store);
}

/* A publish skips the lookups for clusters the list leaves out: each write
 * that adds a pin, an operation or a prune allowance must put its cluster
 * in, and so must another process's write. */
static void test_pin__overrides_list_follows_writes(void)
{
    hub_store *store = open_store();
    struct hub_pin p = pin_of("dev-1", "web", 'a', "rollback"), *list = NULL;
    struct hub_opreq op = {.kind = "sync", .requested_ms = 1000, .expires_ms = 60000};
    Gitfleet__AppOperationRequest **ops = NULL;
    json_t *allowed = NULL;
    size_t n = 9;
    char path[512];
    sqlite3 *other = NULL;

    GF_ASSERT_INT(hub_opreq_init(store), 0);
    GF_ASSERT_INT(hub_store_overrides_may_have(store, "dev-1"), 0);
    GF_ASSERT_INT(hub_pin_hold(store, &p), 0);
    GF_ASSERT_INT(hub_store_overrides_may_have(store, "dev-1"), 1);
    GF_ASSERT_INT(hub_store_overrides_may_have(store, "dev-2"), 0);
    GF_ASSERT_INT(hub_pin_list(store, "dev-1", &list, &n), 0);
    GF_ASSERT_INT(n, 1);
    free(list);
    GF_ASSERT_INT(hub_store_allow_prune(store, "dev-2", "web", 60000), 0);
    GF_ASSERT_INT(hub_store_allowed_prunes(store, "dev-2", 1000, &allowed), 0);
    GF_ASSERT_INT(json_array_size(allowed), 1);
    json_decref(allowed);
    snprintf(op.cluster, sizeof(op.cluster), "dev-3");
    snprintf(op.app, sizeof(op.app), "web");
    GF_ASSERT_INT(hub_store_overrides_may_have(store, "dev-3"), 0);
    GF_ASSERT_INT(hub_opreq_add(store, &op), 0);
    GF_ASSERT_INT(hub_opreq_pending_proto(store, "dev-3", 2000, &ops, &n), 0);
    GF_ASSERT_INT(n, 1);
    hub_opreq_proto_free(ops, n);
    /* another process (a maintenance command) pins dev-4: seen within a
     * few hundred milliseconds, as its bundles are */
    snprintf(path, sizeof(path), "%s/hub.db", gf_test_tmpdir());
    GF_ASSERT_INT(sqlite3_open(path, &other), SQLITE_OK);
    GF_ASSERT_INT(sqlite3_exec(other,
                               "INSERT INTO pins VALUES ('dev-4', 'web', 'rollback', 'x', 1, "
                               "'', '', 1, 0, 1000)",
                               NULL, NULL, NULL),
                  SQLITE_OK);
    sqlite3_close(other);
    struct timespec pause = {.tv_nsec = 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
    GF_ASSERT_INT(hub_store_overrides_may_have(store, "dev-4"), 1);
    GF_ASSERT_INT(hub_pin_list(store, "dev-4", &list, &n), 0);
    GF_ASSERT_INT(n, 1);
    free(list);
    GF_ASSERT_INT(hub_store_overrides_may_have(store, "dev-5"), 0);
    hub_store_close(store);
}

GF_TESTS(GF_TEST(test_pin__hold_lookup_replace), GF_TEST(test_pin__release_only_by_its_holder),
         GF_TEST(test_pin__list_find_and_restart), GF_TEST(test_pin__refuses_incomplete_pins),
         GF_TEST(test_pin__overrides_list_follows_writes));
