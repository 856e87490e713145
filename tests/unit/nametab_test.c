/* nametab_test.c -- the table by name: find, insert past its first buckets, remove, drain */
#include "harness.h"

#include "nametab.h"

#include <stdio.h>
#include <stdlib.h>

#define N 5000 /* several doublings of the first 1,024 buckets */

struct item {
    struct hub_name_link link;
    char name[16];
};

static void count_drained(struct hub_name_link *link, void *arg)
{
    (void)link;
    ++*(size_t *)arg;
}

static void test_nametab__find_insert_remove_drain(void)
{
    struct hub_nametab t;
    struct item *items = calloc(N, sizeof(*items));
    size_t drained = 0;

    GF_ASSERT_INT(hub_nametab_init(&t), 0);
    for (int i = 0; i < N; i++) {
        snprintf(items[i].name, sizeof(items[i].name), "c%d", i);
        items[i].link.name = items[i].name;
        GF_ASSERT(hub_nametab_find(&t, items[i].name) == NULL);
        hub_nametab_insert(&t, &items[i].link);
    }
    GF_ASSERT_INT(t.count, N);
    GF_ASSERT(t.n_buckets >= N); /* grown */
    for (int i = 0; i < N; i++)
        GF_ASSERT(hub_nametab_find(&t, items[i].name) == &items[i].link);
    for (int i = 0; i < N; i += 2)
        GF_ASSERT(hub_nametab_remove(&t, items[i].name) == &items[i].link);
    GF_ASSERT(hub_nametab_remove(&t, "c0") == NULL);
    GF_ASSERT_INT(t.count, N / 2);
    GF_ASSERT(hub_nametab_find(&t, "c2") == NULL);
    GF_ASSERT(hub_nametab_find(&t, "c3") == &items[3].link);
    hub_nametab_drain(&t, count_drained, &drained);
    GF_ASSERT_INT(drained, N / 2);
    GF_ASSERT_INT(t.count, 0);
    GF_ASSERT(hub_nametab_find(&t, "c3") == NULL);
    hub_nametab_release(&t);
    free(items);
}

GF_TESTS(GF_TEST(test_nametab__find_insert_remove_drain));
