/* hash_test.c -- FNV-1a (64-bit) with the project's offset basis: values pinned (names on disk) */
#include "harness.h"

#include "gitfleet/hash.h"

static void test_hash__values_are_pinned(void)
{
    /* what the copies this replaced computed (see hash.h on the basis) */
    GF_ASSERT(gf_hash_string("") == 0x14650fb0739d0383ULL);
    GF_ASSERT(gf_hash_string("a") == 0x44bd8ad473cd9906ULL);
    GF_ASSERT(gf_hash_string("foobar") == 0x88fad7c0a8ff07f2ULL);
    GF_ASSERT(gf_hash_bytes("foobar", 6) == gf_hash_string("foobar"));
    GF_ASSERT(gf_hash_bytes("foobar", 3) == gf_hash_string("foo"));
}

GF_TESTS(GF_TEST(test_hash__values_are_pinned));
