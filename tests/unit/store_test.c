/* store_test.c -- the hub's SQLite state: tokens, keys, generations, reports, history, restarts */
#include "harness.h"

#include "gitfleet/error.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static hub_store *open_store(void)
{
    char path[512];
    hub_store *store = NULL;

    snprintf(path, sizeof(path), "%s/hub.db", gf_test_tmpdir());
    GF_ASSERT_INT(hub_store_open(&store, path), 0);
    return store;
}

static void test_store__token_is_one_time_and_expires(void)
{
    hub_store *store = open_store();
    char cluster[HUB_STORE_NAME_MAX];

    GF_ASSERT_INT(hub_store_token_add(store, "dev-1", "hash-a", 2000), 0);
    GF_ASSERT_INT(hub_store_token_add(store, "dev-2", "hash-b", 1000), 0);
    GF_ASSERT_INT(hub_store_token_redeem(store, cluster, "hash-x", 1500), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "not valid");
    GF_ASSERT_INT(hub_store_token_redeem(store, cluster, "hash-b", 1500), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "expired");
    GF_ASSERT_INT(hub_store_token_redeem(store, cluster, "hash-a", 1500), 0);
    GF_ASSERT_STR(cluster, "dev-1");
    GF_ASSERT_INT(hub_store_token_redeem(store, cluster, "hash-a", 1600), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "already used");
    hub_store_close(store);
}

/* Issue 13: `cluster add` again issues a new token and the older unused one
 * stops working; a used one stays recorded as used. */
static void test_store__newer_token_replaces_older(void)
{
    hub_store *store = open_store();
    char cluster[HUB_STORE_NAME_MAX];

    GF_ASSERT_INT(hub_store_token_add(store, "dev-1", "hash-old", 5000), 0);
    GF_ASSERT_INT(hub_store_token_add(store, "dev-1", "hash-new", 5000), 0);
    GF_ASSERT_INT(hub_store_token_redeem(store, cluster, "hash-old", 1000), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "not valid");
    GF_ASSERT_INT(hub_store_token_redeem(store, cluster, "hash-new", 1000), 0);
    GF_ASSERT_INT(hub_store_token_add(store, "dev-1", "hash-third", 5000), 0);
    GF_ASSERT_INT(hub_store_token_redeem(store, cluster, "hash-new", 1100), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "already used");
    /* another cluster's token is not touched */
    GF_ASSERT_INT(hub_store_token_add(store, "dev-2", "hash-two", 5000), 0);
    GF_ASSERT_INT(hub_store_token_add(store, "dev-1", "hash-fourth", 5000), 0);
    GF_ASSERT_INT(hub_store_token_redeem(store, cluster, "hash-two", 1200), 0);
    GF_ASSERT_STR(cluster, "dev-2");
    hub_store_close(store);
}

static void test_store__join_binds_key_and_remove_revokes(void)
{
    hub_store *store = open_store();
    unsigned char key[32] = {1, 2, 3};
    struct hub_store_cluster c;
    struct hub_store_cluster *list = NULL;
    size_t n = 0;

    GF_ASSERT_INT(hub_store_cluster_set_key(store, "nope", key, 5), GF_ENOTFOUND);
    GF_ASSERT_INT(hub_store_token_add(store, "prod-1", "t1", 100), 0);
    GF_ASSERT_INT(hub_store_token_add(store, "dev-1", "t2", 100), 0);
    GF_ASSERT_INT(hub_store_cluster_get(store, "prod-1", &c), 0);
    GF_ASSERT(!c.joined);
    GF_ASSERT_INT(hub_store_cluster_set_key(store, "prod-1", key, 50), 0);
    GF_ASSERT_INT(hub_store_cluster_get(store, "prod-1", &c), 0);
    GF_ASSERT(c.joined);
    GF_ASSERT_INT(c.public_key[2], 3);
    GF_ASSERT_INT(hub_store_cluster_list(store, &list, &n), 0);
    GF_ASSERT_INT(n, 2);
    GF_ASSERT_STR(list[0].name, "dev-1");
    free(list);
    GF_ASSERT_INT(hub_store_cluster_remove(store, "prod-1"), 0);
    GF_ASSERT_INT(hub_store_cluster_get(store, "prod-1", &c), GF_ENOTFOUND);
    GF_ASSERT_INT(hub_store_cluster_remove(store, "prod-1"), GF_ENOTFOUND);
    hub_store_close(store);
}

static void put_bundle_to(hub_store *store, const char *cluster, uint64_t gen, int expect)
{
    struct hub_store_bundle b = {.generation = gen, .created_ms = 7};
    unsigned char bytes[3] = {0xde, 0xad, (unsigned char)gen};

    snprintf(b.content_hash, sizeof(b.content_hash), "hash%llu", (unsigned long long)gen);
    snprintf(b.revision, sizeof(b.revision), "rev%llu", (unsigned long long)gen);
    b.signed_bytes = bytes;
    b.signed_len = sizeof(bytes);
    GF_ASSERT_INT(hub_store_bundle_put(store, cluster, &b), expect);
}

static void put_bundle(hub_store *store, uint64_t gen, int expect)
{
    put_bundle_to(store, "dev-1", gen, expect);
}

/* How many of generations 1..last the cluster still has. */
static int kept_bundles(hub_store *store, const char *cluster, uint64_t last)
{
    struct hub_store_bundle b;
    int kept = 0;

    for (uint64_t g = 1; g <= last; g++)
        if (hub_store_bundle_get(store, cluster, g, &b) == 0) {
            hub_store_bundle_clear(&b);
            kept++;
        }
    return kept;
}

static void test_store__generations_never_go_backwards(void)
{
    hub_store *store = open_store();
    struct hub_store_bundle b;
    uint64_t max;

    GF_ASSERT_INT(hub_store_bundle_latest(store, "dev-1", &b), GF_ENOTFOUND);
    put_bundle(store, 1, 0);
    put_bundle(store, 2, 0);
    put_bundle(store, 2, GF_ECONFLICT);
    put_bundle(store, 1, GF_ECONFLICT);
    GF_ASSERT_INT(hub_store_bundle_max_generation(store, "dev-1", &max), 0);
    GF_ASSERT_INT(max, 2);
    GF_ASSERT_INT(hub_store_bundle_latest(store, "dev-1", &b), 0);
    GF_ASSERT_INT(b.generation, 2);
    GF_ASSERT_STR(b.revision, "rev2");
    GF_ASSERT_INT(b.signed_len, 3);
    GF_ASSERT_INT(b.signed_bytes[2], 2);
    hub_store_bundle_clear(&b);
    GF_ASSERT_INT(hub_store_bundle_get(store, "dev-1", 1, &b), 0);
    GF_ASSERT_STR(b.content_hash, "hash1");
    hub_store_bundle_clear(&b);
    hub_store_close(store);
}

static void test_store__old_generations_are_dropped(void)
{
    hub_store *store = open_store();
    struct hub_store_bundle b;
    uint64_t max;

    /* Every generation for a while: the newest KEEP always stay, at most
     * TRIM_EVERY - 1 more wait for the next trim, the oldest are gone. */
    uint64_t last = 3 * HUB_STORE_TRIM_EVERY + HUB_STORE_KEEP_BUNDLES;
    for (uint64_t g = 1; g <= last; g++) {
        put_bundle(store, g, 0);
        int kept = kept_bundles(store, "dev-1", g);
        GF_ASSERT(kept <= HUB_STORE_KEEP_BUNDLES + HUB_STORE_TRIM_EVERY - 1);
        GF_ASSERT(kept >= (g < HUB_STORE_KEEP_BUNDLES ? (int)g : HUB_STORE_KEEP_BUNDLES));
    }
    GF_ASSERT_INT(hub_store_bundle_get(store, "dev-1", 1, &b), GF_ENOTFOUND);
    GF_ASSERT_INT(hub_store_bundle_get(store, "dev-1", last - HUB_STORE_KEEP_BUNDLES + 1, &b), 0);
    hub_store_bundle_clear(&b);
    GF_ASSERT_INT(hub_store_bundle_max_generation(store, "dev-1", &max), 0);
    GF_ASSERT_INT(max, last);
    put_bundle(store, 3, GF_ECONFLICT); /* still never backwards */
    /* Clusters trim at phases of their own, not all in one pass: after the
     * same generations, sixteen clusters do not all keep as many. */
    char name[16];
    int counts[HUB_STORE_KEEP_BUNDLES + HUB_STORE_TRIM_EVERY] = {0}, distinct = 0;
    for (int c = 0; c < 16; c++) {
        snprintf(name, sizeof(name), "c%d", c);
        for (uint64_t g = 1; g <= last; g++)
            put_bundle_to(store, name, g, 0);
        counts[kept_bundles(store, name, last)]++;
    }
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
        distinct += counts[i] > 0;
    GF_ASSERT(distinct > 1);
    hub_store_close(store);
}

static void test_store__state_survives_reopen(void)
{
    hub_store *store = open_store();
    json_t *report = NULL;
    struct hub_store_cluster c;

    GF_ASSERT_INT(hub_store_token_add(store, "dev-1", "t", 100), 0);
    put_bundle(store, 5, 0);
    GF_ASSERT_INT(hub_store_report_put(store, "dev-1", 1000, 5, "abc", "{\"apps\":[]}"), 0);
    hub_store_close(store);

    store = open_store();
    put_bundle(store, 4, GF_ECONFLICT);
    GF_ASSERT_INT(hub_store_report_latest(store, "dev-1", &report), 0);
    GF_ASSERT(json_is_array(json_object_get(report, "apps")));
    json_decref(report);
    GF_ASSERT_INT(hub_store_cluster_get(store, "dev-1", &c), 0);
    GF_ASSERT_INT(c.applied_generation, 5);
    GF_ASSERT_STR(c.applied_revision, "abc");
    GF_ASSERT_INT(c.last_seen_ms, 1000);
    hub_store_close(store);
}

static void test_store__nonce_replay_is_refused(void)
{
    hub_store *store = open_store();

    GF_ASSERT_INT(hub_store_nonce_use(store, "dev-1", "n1", 100, 200), 0);
    GF_ASSERT_INT(hub_store_nonce_use(store, "dev-1", "n1", 150, 250), GF_ECONFLICT);
    GF_ASSERT_HAS(gf_error_last(), "replay");
    GF_ASSERT_INT(hub_store_nonce_use(store, "dev-2", "n1", 150, 250), 0);
    hub_store_close(store);
}

static void test_store__history_filters_newest_first(void)
{
    hub_store *store = open_store();
    json_t *rows = NULL;

    GF_ASSERT_INT(hub_store_history_add(store, "dev-1", "web", 10, 1, "r1", "Succeeded", ""), 0);
    GF_ASSERT_INT(hub_store_history_add(store, "dev-1", "api", 20, 1, "r1", "Failed", "boom"), 0);
    GF_ASSERT_INT(hub_store_history_add(store, "prod", "web", 30, 2, "r2", "Succeeded", NULL), 0);
    GF_ASSERT_INT(hub_store_history_list(store, NULL, "web", 10, &rows), 0);
    GF_ASSERT_INT(json_array_size(rows), 2);
    GF_ASSERT_STR(json_string_value(json_object_get(json_array_get(rows, 0), "cluster")), "prod");
    json_decref(rows);
    GF_ASSERT_INT(hub_store_history_list(store, "dev-1", NULL, 1, &rows), 0);
    GF_ASSERT_INT(json_array_size(rows), 1);
    GF_ASSERT_STR(json_string_value(json_object_get(json_array_get(rows, 0), "message")), "boom");
    json_decref(rows);
    hub_store_close(store);
}

/* Issue 13: hub.db gives back what deletes freed (328 MB holding 340 KB
 * before): large bundles, then small ones that push them out, then compact. */
static void test_store__compact_gives_space_back(void)
{
    char path[1024];
    struct stat st;
    hub_store *store = NULL;
    struct hub_store_bundle b = {0};
    unsigned char *blob = malloc(1 << 20);
    int64_t freed = 0;

    snprintf(path, sizeof(path), "%s/compact.db", gf_test_tmpdir());
    GF_ASSERT_INT(hub_store_open(&store, path), 0);
    for (size_t i = 0; i < (1 << 20); i++)
        blob[i] = (unsigned char)(i * 7919 >> 3); /* no page compresses away */
    /* past the trim that drops the last big one (it waits up to TRIM_EVERY) */
    for (uint64_t g = 1; g <= 25 + HUB_STORE_KEEP_BUNDLES + HUB_STORE_TRIM_EVERY; g++) {
        b.generation = g;
        snprintf(b.content_hash, sizeof(b.content_hash), "h%llu", (unsigned long long)g);
        b.signed_bytes = blob;
        b.signed_len = g <= 25 ? (size_t)1 << 20 : 1000; /* the small ones push the big ones out */
        GF_ASSERT_INT(hub_store_bundle_put(store, "dev-1", &b), 0);
    }
    GF_ASSERT_INT(hub_store_compact(store, &freed), 0);
    /* at least the last KEEP big ones (1 MiB: 256 pages of 4 KiB each) */
    GF_ASSERT(freed > HUB_STORE_KEEP_BUNDLES * 256);
    GF_ASSERT_INT(stat(path, &st), 0);
    GF_ASSERT(st.st_size < 2 << 20);
    GF_ASSERT_INT(hub_store_compact(store, &freed), 0); /* nothing left to give */
    GF_ASSERT_INT(freed, 0);
    hub_store_close(store);
    free(blob);
}

static off_t file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* A checkpoint (two fsyncs, under the store's lock) waits while a batch is
 * open, as a sync pass keeps one throughout; the commit that leaves no
 * batch open runs it: the database file then holds the pages. */
static void test_store__checkpoint_waits_for_the_batch(void)
{
    char path[1024];
    hub_store *store = NULL;
    struct hub_store_bundle b = {0};
    unsigned char *blob = calloc(1, 64 << 10);

    snprintf(path, sizeof(path), "%s/checkpoint.db", gf_test_tmpdir());
    GF_ASSERT_INT(hub_store_open(&store, path), 0);
    off_t empty = file_size(path);
    GF_ASSERT_INT(hub_store_batch_begin(store), 0);
    for (int i = 0; i < 100; i++) { /* 6.4 MB: over 1,000 pages of WAL */
        char cluster[32];
        snprintf(cluster, sizeof(cluster), "c%d", i);
        b.generation = 1;
        snprintf(b.content_hash, sizeof(b.content_hash), "h%d", i);
        blob[0] = (unsigned char)i;
        b.signed_bytes = blob;
        b.signed_len = 64 << 10;
        GF_ASSERT_INT(hub_store_bundle_put(store, cluster, &b), 0);
    }
    /* A token is its own transaction: the batch so far commits first, with
     * the batch still open. */
    GF_ASSERT_INT(hub_store_token_add(store, "dev-2", "hash-t", 1000), 0);
    GF_ASSERT(file_size(path) < empty + (1 << 20));
    b.generation = 2; /* the batch's last write: its commit is the one */
    GF_ASSERT_INT(hub_store_bundle_put(store, "c0", &b), 0);
    GF_ASSERT_INT(hub_store_batch_end(store), 0);
    GF_ASSERT(file_size(path) > empty + (1 << 20)); /* checkpointed now */
    hub_store_close(store);
    free(blob);
}

GF_TESTS(GF_TEST(test_store__token_is_one_time_and_expires),
         GF_TEST(test_store__checkpoint_waits_for_the_batch),
         GF_TEST(test_store__newer_token_replaces_older),
         GF_TEST(test_store__compact_gives_space_back),
         GF_TEST(test_store__join_binds_key_and_remove_revokes),
         GF_TEST(test_store__generations_never_go_backwards),
         GF_TEST(test_store__old_generations_are_dropped),
         GF_TEST(test_store__state_survives_reopen), GF_TEST(test_store__nonce_replay_is_refused),
         GF_TEST(test_store__history_filters_newest_first));
