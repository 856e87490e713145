/* base64_test.c -- RFC 4648 vectors, round trips, strict decoding errors */
#include "harness.h"

#include "gitfleet/base64.h"
#include "gitfleet/error.h"

#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>

static void test_base64__rfc4648_vectors(void)
{
    static const char *const vec[][2] = {{"", ""},
                                         {"f", "Zg=="},
                                         {"fo", "Zm8="},
                                         {"foo", "Zm9v"},
                                         {"foob", "Zm9vYg=="},
                                         {"fooba", "Zm9vYmE="},
                                         {"foobar", "Zm9vYmFy"}};

    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        char *text;
        unsigned char *bytes;
        size_t n;

        GF_ASSERT_INT(gf_base64_encode(&text, &n, vec[i][0], strlen(vec[i][0])), 0);
        GF_ASSERT_STR(text, vec[i][1]);
        GF_ASSERT_INT(n, strlen(vec[i][1]));
        GF_ASSERT_INT(gf_base64_decode(&bytes, &n, text, n), 0);
        GF_ASSERT_INT(n, strlen(vec[i][0]));
        GF_ASSERT_STR((char *)bytes, vec[i][0]);
        free(text);
        free(bytes);
    }
}

/* Every length 0..300 of random bytes: encoding equals OpenSSL's
 * EVP_EncodeBlock, and decoding gives the bytes back. */
static void test_base64__round_trip_matches_openssl(void)
{
    unsigned char data[300], ref[410], *back;
    unsigned int seed = 7;

    for (size_t len = 0; len <= sizeof(data); len++) {
        char *text;
        size_t n, m;

        for (size_t i = 0; i < len; i++)
            data[i] = (unsigned char)rand_r(&seed);
        GF_ASSERT_INT(gf_base64_encode(&text, &n, data, len), 0);
        GF_ASSERT_INT(EVP_EncodeBlock(ref, data, (int)len), n);
        GF_ASSERT(memcmp(ref, text, n) == 0);
        GF_ASSERT_INT(gf_base64_decode(&back, &m, text, n), 0);
        GF_ASSERT_INT(m, len);
        GF_ASSERT(memcmp(back, data, len) == 0);
        GF_ASSERT_INT(back[m], 0);
        free(text);
        free(back);
    }
}

static void expect_invalid(const char *text, const char *needle)
{
    unsigned char *bytes = (unsigned char *)"x";

    GF_ASSERT_INT(gf_base64_decode(&bytes, NULL, text, strlen(text)), GF_EINVAL);
    GF_ASSERT(bytes == NULL);
    GF_ASSERT_HAS(gf_error_last(), needle);
}

static void test_base64__strict_decode_errors(void)
{
    expect_invalid("Zm9", "length 3 is not a multiple of 4");
    expect_invalid("Zg", "not a multiple of 4");
    expect_invalid("Zm9v\n", "not a multiple of 4");
    expect_invalid("Zm 9", "invalid byte 0x20 at offset 2");
    expect_invalid("Zm9v Zg==", "not a multiple of 4");
    expect_invalid("Zm9vZ g=", "invalid byte 0x20 at offset 5");
    expect_invalid("Zm-v", "invalid character '-' at offset 2"); /* URL alphabet */
    expect_invalid("Zm_v", "invalid character '_' at offset 2");
    expect_invalid("Zm9v\n\nZg", "invalid byte 0x0a at offset 4");
    expect_invalid("Z===", "'=' at offset 1 before the end");
    expect_invalid("====", "'=' at offset 0");
    expect_invalid("Zg==Zg==", "'=' at offset 2 before the end");
    expect_invalid("Zh==", "non-zero unused bits at offset 1"); /* "Zg==" is canonical */
    expect_invalid("Zm9=", "non-zero unused bits at offset 2"); /* "Zm8=" is */
    expect_invalid("\xc3\xa9\xc3\xa9", "invalid byte 0xc3 at offset 0");
}

static void test_base64__binary_with_nuls(void)
{
    static const unsigned char raw[] = {0, 1, 0, 0xff, 0xfe, 0};
    unsigned char *back;
    char *text;
    size_t n;

    GF_ASSERT_INT(gf_base64_encode(&text, NULL, raw, sizeof(raw)), 0);
    GF_ASSERT_STR(text, "AAEA//4A");
    GF_ASSERT_INT(gf_base64_decode(&back, &n, text, strlen(text)), 0);
    GF_ASSERT_INT(n, sizeof(raw));
    GF_ASSERT(memcmp(back, raw, n) == 0);
    free(text);
    free(back);
}

GF_TESTS(GF_TEST(test_base64__rfc4648_vectors), GF_TEST(test_base64__round_trip_matches_openssl),
         GF_TEST(test_base64__strict_decode_errors), GF_TEST(test_base64__binary_with_nuls));
