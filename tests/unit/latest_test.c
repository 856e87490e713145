/* latest_test.c -- the newest bundle of each cluster in memory: newer wins, budget, removal marks
 */
#include "harness.h"

#include "gitfleet/error.h"
#include "latest.h"

#include <stdio.h>
#include <stdlib.h>

/* Its bytes all equal the generation; one buffer per generation (up to 8). */
static struct hub_store_bundle bundle(uint64_t generation, size_t len)
{
    static unsigned char buffers[8][4096];
    unsigned char *bytes = buffers[generation % 8];
    struct hub_store_bundle b = {.generation = generation, .created_ms = 7};

    snprintf(b.content_hash, sizeof(b.content_hash), "hash-%llu", (unsigned long long)generation);
    snprintf(b.revision, sizeof(b.revision), "rev");
    memset(bytes, (int)generation, sizeof(buffers[0]));
    b.signed_bytes = bytes;
    b.signed_len = len;
    return b;
}

static void test_latest__newest_generation_wins(void)
{
    hub_latest *l = NULL;
    struct hub_store_bundle b1 = bundle(1, 100), b3 = bundle(3, 300), b2 = bundle(2, 200), got;

    GF_ASSERT_INT(hub_latest_new(&l, 1 << 20), 0);
    GF_ASSERT_INT(hub_latest_get(l, "c1", &got, 1), GF_ENOTFOUND);
    hub_latest_put(l, "c1", &b1);
    hub_latest_put(l, "c1", &b3);
    hub_latest_put(l, "c1", &b2); /* older than what is kept: ignored */
    GF_ASSERT_INT(hub_latest_get(l, "c1", &got, 1), 0);
    GF_ASSERT_INT(got.generation, 3);
    GF_ASSERT_STR(got.content_hash, "hash-3");
    GF_ASSERT_INT(got.signed_len, 300);
    GF_ASSERT(got.signed_bytes != b3.signed_bytes); /* a copy */
    GF_ASSERT_INT(got.signed_bytes[299], 3);
    hub_store_bundle_clear(&got);
    GF_ASSERT_INT(hub_latest_get(l, "c1", &got, 0), 0); /* without the bytes */
    GF_ASSERT(got.signed_bytes == NULL);
    GF_ASSERT_INT(got.generation, 3);
    hub_latest_clear(l);
    GF_ASSERT_INT(hub_latest_get(l, "c1", &got, 0), GF_ENOTFOUND);
    hub_latest_free(l);
}

/* Past the budget a bundle is not kept (and the older one it replaces goes:
 * nothing stale is answered); many clusters grow the table. */
static void test_latest__budget_and_many_clusters(void)
{
    hub_latest *l = NULL;
    struct hub_store_bundle small = bundle(1, 1000), big = bundle(2, 4000), got;
    char name[32];

    GF_ASSERT_INT(hub_latest_new(&l, 3000), 0);
    hub_latest_put(l, "a", &small);
    hub_latest_put(l, "a", &big);
    GF_ASSERT_INT(hub_latest_get(l, "a", &got, 0), GF_ENOTFOUND);
    hub_latest_free(l);

    GF_ASSERT_INT(hub_latest_new(&l, 64 << 20), 0);
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "c%d", i);
        struct hub_store_bundle b = bundle((uint64_t)i + 1, 16);
        hub_latest_put(l, name, &b);
    }
    for (int i = 0; i < 5000; i += 97) {
        snprintf(name, sizeof(name), "c%d", i);
        GF_ASSERT_INT(hub_latest_get(l, name, &got, 0), 0);
        GF_ASSERT_INT(got.generation, (uint64_t)i + 1);
    }
    hub_latest_free(l);
}

/* A removed cluster keeps no bundle and takes none until it joins again. */
static void test_latest__removed_until_rejoined(void)
{
    hub_latest *l = NULL;
    struct hub_store_bundle b1 = bundle(1, 10), b2 = bundle(2, 10), got;

    GF_ASSERT_INT(hub_latest_new(&l, 1 << 20), 0);
    hub_latest_put(l, "c1", &b1);
    GF_ASSERT(!hub_latest_removed(l, "c1"));
    hub_latest_remove(l, "c1");
    GF_ASSERT(hub_latest_removed(l, "c1"));
    GF_ASSERT_INT(hub_latest_get(l, "c1", &got, 0), GF_ENOTFOUND);
    hub_latest_put(l, "c1", &b2); /* rendered after the removal: not kept */
    GF_ASSERT_INT(hub_latest_get(l, "c1", &got, 0), GF_ENOTFOUND);
    hub_latest_rejoin(l, "c1");
    GF_ASSERT(!hub_latest_removed(l, "c1"));
    hub_latest_put(l, "c1", &b2);
    GF_ASSERT_INT(hub_latest_get(l, "c1", &got, 0), 0);
    GF_ASSERT_INT(got.generation, 2);
    hub_latest_free(l);
}

GF_TESTS(GF_TEST(test_latest__newest_generation_wins),
         GF_TEST(test_latest__budget_and_many_clusters),
         GF_TEST(test_latest__removed_until_rejoined));
