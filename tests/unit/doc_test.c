/* doc_test.c -- canonical JSON bytes, SHA-256 of documents, dotted paths */
#include "harness.h"

#include "gitfleet/doc.h"
#include "gitfleet/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static json_t *load(const char *text)
{
    json_error_t err;
    json_t *doc = json_loads(text, JSON_DECODE_ANY, &err);

    if (doc == NULL)
        gf_test_fail(__FILE__, __LINE__, "bad test JSON: %s", err.text);
    return doc;
}

/* The canonical form of `text`, compared with `expected`. */
static void check_canonical(const char *text, const char *expected)
{
    json_t *doc = load(text);
    char *out = NULL;
    size_t len = 0;
    int error = gf_doc_canonical(&out, &len, doc);

    json_decref(doc);
    GF_ASSERT_INT(error, 0);
    GF_ASSERT_INT(len, strlen(expected));
    GF_ASSERT_STR(out, expected);
    free(out);
}

static void test_doc__keys_sorted_bytewise_and_compact(void)
{
    check_canonical("{ \"b\": 1, \"a\": {\"z\": [1, 2, {\"y\": true, \"x\": null}], \"aa\": false},"
                    " \"B\": \"up\", \"a.b\": 0 }",
                    "{\"B\":\"up\",\"a\":{\"aa\":false,\"z\":[1,2,{\"x\":null,\"y\":true}]},"
                    "\"a.b\":0,\"b\":1}");
    /* Bytewise: a prefix sorts first, and UTF-8 (bytes >= 0x80) after ASCII. */
    check_canonical("{\"\xc3\xa9\":1,\"z\":2,\"ab\":3,\"a\":4,\"\":5}",
                    "{\"\":5,\"a\":4,\"ab\":3,\"z\":2,\"\xc3\xa9\":1}");
}

static void test_doc__strings_keep_utf8_and_slash(void)
{
    check_canonical("{\"url\":\"http://x/y\",\"name\":\"caf\\u00e9 \\u65e5\"}",
                    "{\"name\":\"caf\xc3\xa9 \xe6\x97\xa5\",\"url\":\"http://x/y\"}");
    check_canonical("\"q\\\" b\\\\ \\n\\t\\r\\b\\f \\u0001 \\u001f \\u007f\"",
                    "\"q\\\" b\\\\ \\n\\t\\r\\b\\f \\u0001 \\u001f \x7f\"");
}

static void test_doc__numbers(void)
{
    check_canonical("[0,-1,9223372036854775807,-9223372036854775808]",
                    "[0,-1,9223372036854775807,-9223372036854775808]");
    check_canonical("[0.1,1.0,1.5,-2.25,3.141592653589793,0.0,-0.0,123456789.125]",
                    "[0.1,1.0,1.5,-2.25,3.141592653589793,0.0,-0.0,123456789.125]");
    /* Plain decimals for exponents in [-7, 21), else exponent form. */
    check_canonical("[1e20,1e21,1.5e21,0.000001,1e-7,1.25e-7,100.0,1E+300,2.5e-300,1e16]",
                    "[100000000000000000000.0,1e21,1.5e21,0.000001,1e-7,1.25e-7,100.0,1e300,"
                    "2.5e-300,10000000000000000.0]");
    check_canonical("[0.30000000000000004,5e-324,1.7976931348623157e308]",
                    "[0.30000000000000004,5e-324,1.7976931348623157e308]");
}

/* Reals survive canonical -> json_loads exactly, as reals. */
static void test_doc__reals_round_trip(void)
{
    unsigned int seed = 12345;

    for (int i = 0; i < 2000; i++) {
        /* Random mantissa bits, exponent within 2^-200 .. 2^200, either sign. */
        uint64_t bits =
            ((uint64_t)rand_r(&seed) << 31 ^ (uint64_t)rand_r(&seed)) & ((UINT64_C(1) << 52) - 1);
        double v;
        bits |= (uint64_t)(1023 - 200 + rand_r(&seed) % 401) << 52 | (uint64_t)(i % 2) << 63;
        memcpy(&v, &bits, sizeof(v));
        json_t *r = json_real(v), *back;
        char *out;

        GF_ASSERT_INT(gf_doc_canonical(&out, NULL, r), 0);
        back = load(out);
        GF_ASSERT(json_is_real(back));
        if (json_real_value(back) != json_real_value(r))
            gf_test_fail(__FILE__, __LINE__, "%s does not read back as %.17g", out,
                         json_real_value(r));
        json_decref(back);
        json_decref(r);
        free(out);
    }
}

/* Without reals, our bytes equal jansson's compact sorted dump. */
static void test_doc__matches_jansson_on_plain_documents(void)
{
    json_t *doc = load("{\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\",\"tier\":"
                       "\"front\"}},\"kind\":\"Deployment\",\"spec\":{\"replicas\":3,"
                       "\"paused\":false,\"x\":[null,\"a/b\",\"\xc3\xa9\"]}}");
    char *ours, *theirs = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

    GF_ASSERT_INT(gf_doc_canonical(&ours, NULL, doc), 0);
    GF_ASSERT_STR(ours, theirs);
    free(ours);
    free(theirs);
    json_decref(doc);
}

static void test_doc__sha256_known_vectors(void)
{
    char hex[65];
    json_t *a = load("{\"b\":[1,2],\"a\":\"x\"}"), *b = load("{\"a\":\"x\",\"b\":[1,2]}");
    json_t *c = load("{\"a\":\"x\",\"b\":[2,1]}");
    char ha[65], hb[65], hc[65];

    gf_sha256_hex(hex, "abc", 3);
    GF_ASSERT_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    gf_sha256_hex(hex, "", 0);
    GF_ASSERT_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    GF_ASSERT_INT(gf_doc_sha256_hex(ha, a), 0);
    GF_ASSERT_INT(gf_doc_sha256_hex(hb, b), 0);
    GF_ASSERT_INT(gf_doc_sha256_hex(hc, c), 0);
    GF_ASSERT_STR(ha, hb);          /* key order does not matter */
    GF_ASSERT(strcmp(ha, hc) != 0); /* array order does */
    gf_sha256_hex(hex, "{\"a\":\"x\",\"b\":[1,2]}", 19);
    GF_ASSERT_STR(ha, hex);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

static void test_doc__too_deep_is_refused(void)
{
    json_t *root = json_array(), *cur = root;
    char *out = (char *)"x";

    for (int i = 0; i < 600; i++) {
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    GF_ASSERT_INT(gf_doc_canonical(&out, NULL, root), GF_ETOOBIG);
    GF_ASSERT(out == NULL);
    GF_ASSERT_HAS(gf_error_last(), "deeper than");
    json_decref(root);
}

static void test_doc__get_dotted_paths(void)
{
    json_t *doc = load("{\"metadata\":{\"name\":\"web\",\"labels\":{\"a.b\":\"dotted\"}},"
                       "\"spec\":{\"replicas\":3,\"containers\":[{\"image\":\"nginx\"},"
                       "{\"image\":\"redis\"}]}}");

    GF_ASSERT_STR(gf_doc_string(doc, "metadata.name"), "web");
    GF_ASSERT_INT(json_integer_value(gf_doc_get(doc, "spec.replicas")), 3);
    GF_ASSERT(gf_doc_string(doc, "spec.replicas") == NULL); /* not a string */
    GF_ASSERT_STR(gf_doc_string(doc, "spec.containers.1.image"), "redis");
    GF_ASSERT(gf_doc_get(doc, "spec.containers.2") == NULL);
    GF_ASSERT(gf_doc_get(doc, "spec.containers.01.image") == NULL);
    GF_ASSERT(gf_doc_get(doc, "spec.containers.x") == NULL);
    GF_ASSERT(gf_doc_get(doc, "metadata.name.more") == NULL);
    GF_ASSERT(gf_doc_get(doc, "metadata.labels.a.b") == NULL); /* dotted keys: not reachable */
    GF_ASSERT(gf_doc_get(doc, "nope") == NULL);
    GF_ASSERT(gf_doc_get(NULL, "a") == NULL);
    GF_ASSERT(json_is_object(gf_doc_get(doc, "metadata")));
    json_decref(doc);
}

GF_TESTS(GF_TEST(test_doc__keys_sorted_bytewise_and_compact),
         GF_TEST(test_doc__strings_keep_utf8_and_slash), GF_TEST(test_doc__numbers),
         GF_TEST(test_doc__reals_round_trip), GF_TEST(test_doc__matches_jansson_on_plain_documents),
         GF_TEST(test_doc__sha256_known_vectors), GF_TEST(test_doc__too_deep_is_refused),
         GF_TEST(test_doc__get_dotted_paths));
