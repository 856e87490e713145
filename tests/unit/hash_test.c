/* hash_test.c -- FNV-1a (64-bit) against the published test vectors */
#include "harness.h"

#include "gitfleet/hash.h"

static void test_hash__fnv1a_vectors(void)
{
    GF_ASSERT(gf_hash_string("") == 0xcbf29ce484222325ULL);
    GF_ASSERT(gf_hash_string("a") == 0xaf63dc4c8601ec8cULL);
    GF_ASSERT(gf_hash_string("foobar") == 0x85944171f73967e8ULL);
    GF_ASSERT(gf_hash_bytes("foobar", 6) == gf_hash_string("foobar"));
    GF_ASSERT(gf_hash_bytes("foobar", 3) == gf_hash_string("foo"));
}

GF_TESTS(GF_TEST(test_hash__fnv1a_vectors));
