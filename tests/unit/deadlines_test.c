/* deadlines_test.c -- the long-poll deadline heap: earliest first through sets, moves and clears */
#include "harness.h"

#include "deadlines.h"

#include <stdlib.h>

static void test_deadlines__earliest_first(void)
{
    hub_deadlines *d = NULL;
    size_t slot;
    int64_t when;

    GF_ASSERT_INT(hub_deadlines_new(&d, 8), 0);
    GF_ASSERT_INT(hub_deadlines_first(d, &slot, &when), 0);
    hub_deadlines_set(d, 3, 300);
    hub_deadlines_set(d, 1, 100);
    hub_deadlines_set(d, 5, 500);
    GF_ASSERT_INT(hub_deadlines_first(d, &slot, &when), 1);
    GF_ASSERT_INT(slot, 1);
    GF_ASSERT_INT(when, 100);
    hub_deadlines_set(d, 5, 50); /* moved earlier */
    GF_ASSERT_INT(hub_deadlines_first(d, &slot, &when), 1);
    GF_ASSERT_INT(slot, 5);
    hub_deadlines_set(d, 5, 900); /* and later again */
    GF_ASSERT_INT(hub_deadlines_first(d, &slot, &when), 1);
    GF_ASSERT_INT(slot, 1);
    hub_deadlines_clear(d, 1);
    hub_deadlines_clear(d, 1);   /* twice is nothing */
    hub_deadlines_clear(d, 7);   /* never set */
    hub_deadlines_set(d, 99, 1); /* out of range: ignored */
    GF_ASSERT_INT(hub_deadlines_count(d), 2);
    GF_ASSERT_INT(hub_deadlines_first(d, &slot, &when), 1);
    GF_ASSERT_INT(slot, 3);
    GF_ASSERT_INT(when, 300);
    hub_deadlines_free(d);
}

/* Random sets and clears against a plain array: the heap's first is always
 * the array's minimum, and every slot comes out once, in order. */
static void test_deadlines__random_against_a_scan(void)
{
    enum { SLOTS = 257 };
    hub_deadlines *d = NULL;
    int64_t ref[SLOTS];
    size_t slot;
    int64_t when, last = -1;

    GF_ASSERT_INT(hub_deadlines_new(&d, SLOTS), 0);
    for (size_t i = 0; i < SLOTS; i++)
        ref[i] = -1;
    srand(12);
    for (int round = 0; round < 20000; round++) {
        size_t s = (size_t)rand() % SLOTS;
        if (rand() % 3 == 0) {
            hub_deadlines_clear(d, s);
            ref[s] = -1;
        } else {
            ref[s] = rand() % 1000;
            hub_deadlines_set(d, s, ref[s]);
        }
        int64_t min = -1;
        size_t n = 0;
        for (size_t i = 0; i < SLOTS; i++)
            if (ref[i] >= 0) {
                n++;
                if (min < 0 || ref[i] < min)
                    min = ref[i];
            }
        GF_ASSERT_INT(hub_deadlines_count(d), n);
        GF_ASSERT_INT(hub_deadlines_first(d, &slot, &when), n > 0);
        if (n > 0) {
            GF_ASSERT_INT(when, min);
            GF_ASSERT_INT(ref[slot], min);
        }
    }
    while (hub_deadlines_first(d, &slot, &when)) {
        GF_ASSERT(when >= last);
        GF_ASSERT_INT(ref[slot], when);
        last = when;
        ref[slot] = -1;
        hub_deadlines_clear(d, slot);
    }
    for (size_t i = 0; i < SLOTS; i++)
        GF_ASSERT_INT(ref[i], -1);
    hub_deadlines_free(d);
}

GF_TESTS(GF_TEST(test_deadlines__earliest_first), GF_TEST(test_deadlines__random_against_a_scan));
