/* yaml_parse_test.c -- YAML to json_t: typing as kubectl does, merges, limits, hostile input */
#include "harness.h"

#include "gitfleet/error.h"
#include "gitfleet/yaml_parse.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Parse `text` and return the compact JSON of the array of documents, or
 * "ERR <code name>: <message>". The caller frees. */
static char *parse_str(const char *text, const struct gf_yaml_limits *lim, int flags)
{
    json_t *docs = NULL;
    int rc = gf_yaml_parse(&docs, text, strlen(text), "t.yaml", lim, flags);
    char *s;

    if (rc < 0) {
        char buf[1200];
        snprintf(buf, sizeof(buf), "ERR %s: %s", gf_error_name(rc), gf_error_last());
        return strdup(buf);
    }
    s = json_dumps(docs, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    json_decref(docs);
    return s;
}

#define EXPECT(yaml, json)                                                                         \
    do {                                                                                           \
        char *got_ = parse_str(yaml, NULL, 0);                                                     \
        GF_ASSERT_STR(got_, json);                                                                 \
        free(got_);                                                                                \
    } while (0)

#define EXPECT_ERR(yaml, code, sub)                                                                \
    do {                                                                                           \
        json_t *d_ = NULL;                                                                         \
        int rc_ = gf_yaml_parse(&d_, yaml, strlen(yaml), "t.yaml", NULL, 0);                       \
        GF_ASSERT_INT(rc_, code);                                                                  \
        GF_ASSERT(d_ == NULL);                                                                     \
        GF_ASSERT_HAS(gf_error_last(), sub);                                                       \
    } while (0)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_yaml_parse__mappings_sequences_and_order(void)
{
    EXPECT("z: 1\na: 2\nm:\n  - x\n  - {q: r, b: [1, 2]}\n",
           "[{\"z\":1,\"a\":2,\"m\":[\"x\",{\"q\":\"r\",\"b\":[1,2]}]}]");
    EXPECT("- a\n- - b\n  - c\n- {}\n- []\n", "[[\"a\",[\"b\",\"c\"],{},[]]]");
}

static void test_yaml_parse__multi_document_stream(void)
{
    EXPECT("a: 1\n---\nb: 2\n...\n---\n- 3\n", "[{\"a\":1},{\"b\":2},[3]]");
    /* Empty documents are dropped unless asked for. */
    EXPECT("---\n---\na: 1\n---\n# only a comment\n---\n", "[{\"a\":1}]");
    char *got = parse_str("---\n---\na: 1\n---\n", NULL, GF_YAML_KEEP_EMPTY);
    GF_ASSERT_STR(got, "[null,{\"a\":1},null]");
    free(got);
}

static void test_yaml_parse__empty_stream_and_comments(void)
{
    EXPECT("", "[]");
    EXPECT("# just\n# comments\n\n", "[]");
    char *got = parse_str("# c\n", NULL, GF_YAML_KEEP_EMPTY);
    GF_ASSERT_STR(got, "[]");
    free(got);
}

static void test_yaml_parse__scalar_document(void)
{
    EXPECT("hello\n", "[\"hello\"]");
    EXPECT("--- 42\n", "[42]");
    EXPECT("--- |\n  text\n", "[\"text\\n\"]");
}

static void test_yaml_parse__core_schema_typing(void)
{
    EXPECT("[1, -7, 1.5, true, True, TRUE, false, null, Null, NULL, ~, '1', \"true\"]",
           "[[1,-7,1.5,true,true,true,false,null,null,null,null,\"1\",\"true\"]]");
    EXPECT("a:\nb: ''\n", "[{\"a\":null,\"b\":\"\"}]");
    /* YAML 1.1 booleans are strings, as in Kubernetes. */
    EXPECT("[yes, no, on, off, y, n, Yes, tRUE, nULL]",
           "[[\"yes\",\"no\",\"on\",\"off\",\"y\",\"n\",\"Yes\",\"tRUE\",\"nULL\"]]");
    /* Block scalars are strings. */
    EXPECT("a: |\n  1\nb: >-\n  true\n", "[{\"a\":\"1\\n\",\"b\":\"true\"}]");
}

/* The integer spellings go-yaml v3 accepts (checked with kubectl kustomize). */
static void test_yaml_parse__go_yaml_integers(void)
{
    EXPECT("[0x10, 0o10, 010, 1_000, +5, 0b101, -0b101, 0b-101, 0x_1F, 1__0_, -0, 0, 0X1f, 0o-17]",
           "[[16,8,8,1000,5,5,-5,-5,31,10,0,0,31,-15]]");
    EXPECT("[0x8000000000000000, 0x10000000000000000, -0b-1]",
           "[[9.2233720368547758e18,\"0x10000000000000000\",\"-0b-1\"]]");
    EXPECT("[9223372036854775807, -9223372036854775808]",
           "[[9223372036854775807,-9223372036854775808]]");
    /* 08 is no octal: go-yaml reads it as the float 8. */
    EXPECT("[08, 09]", "[[8.0,9.0]]");
    /* Not numbers. */
    EXPECT("[0x, 0xG, 1-2, 1.2.3, _1, 1e, +, -, 0b, 0x1p3, 1:20, Infinity, .5_0]",
           "[[\"0x\",\"0xG\",\"1-2\",\"1.2.3\",\"_1\",\"1e\",\"+\",\"-\",\"0b\",\"0x1p3\",\"1:20\","
           "\"Infinity\",\".5_0\"]]");
}

static void test_yaml_parse__floats_and_big_numbers(void)
{
    EXPECT("[1.5, .5, 1., 1e3, -2.5E-3, +.5, 1_000.5, -0.0]",
           "[[1.5,0.5,1.0,1000.0,-0.0025000000000000001,0.5,1000.5,-0.0]]");
    /* Beyond int64: a real (json_int_t cannot hold it; precision is lost). */
    EXPECT("[12345678901234567890, -12345678901234567890]",
           "[[1.2345678901234567e19,-1.2345678901234567e19]]");
    /* Overflowing floats stay strings, as go-yaml leaves them. */
    EXPECT("[1e400, 1e-400]", "[[\"1e400\",0.0]]");
    EXPECT_ERR("a: .inf\n", GF_EINVAL, "t.yaml:1:4: .inf cannot be represented in JSON");
    EXPECT_ERR("a: [-.Inf]\n", GF_EINVAL, "-.Inf cannot be represented");
    EXPECT_ERR("a: .nan\n", GF_EINVAL, ".nan cannot be represented");
    EXPECT("a: '.inf'\n", "[{\"a\":\".inf\"}]");
}

/* Plain timestamps become Go's RFC 3339 text, as `kubectl kustomize` prints them
 * (each expectation below was checked with kubectl v1.32). */
static void test_yaml_parse__timestamps_as_kubectl(void)
{
    EXPECT("[2001-12-14t21:59:43.10-05:00, 2001-12-14 21:59:43.10, 2001-12-14T21:59:43Z, "
           "2001-1-2, 2001-12-14T21:59:43.123456789+01:30, 2001-12-14T21:59:43.1234567891Z]",
           "[[\"2001-12-14T21:59:43.1-05:00\",\"2001-12-14T21:59:43.1Z\",\"2001-12-14T21:59:43Z\","
           "\"2001-01-02T00:00:00Z\",\"2001-12-14T21:59:43.123456789+01:30\","
           "\"2001-12-14T21:59:43.123456789Z\"]]");
    EXPECT("[2001-12-14T1:2:3Z, 2001-12-14T21:59:43.000Z, 0001-01-01, 2001-12-14T21:59:43+00:00, "
           "2001-12-14T21:59:43-00:00, 2001-12-14  21:59:43, !!timestamp '2001-12-14', "
           "9999-12-31T23:59:59.999999999-23:59, 2024-02-29]",
           "[[\"2001-12-14T01:02:03Z\",\"2001-12-14T21:59:43Z\",\"0001-01-01T00:00:00Z\","
           "\"2001-12-14T21:59:43Z\",\"2001-12-14T21:59:43Z\",\"2001-12-14T21:59:43Z\","
           "\"2001-12-14T00:00:00Z\",\"9999-12-31T23:59:59.999999999-23:59\","
           "\"2024-02-29T00:00:00Z\"]]");
    EXPECT("- 2001-12-14T21:59:43,5Z\n- 2001-12-14 1:2:3\n- 2001-12-14 21:59:43Z\n"
           "- 2001-12-14T21:59:43.Z\n",
           "[[\"2001-12-14T21:59:43.5Z\",\"2001-12-14T01:02:03Z\",\"2001-12-14 21:59:43Z\","
           "\"2001-12-14T21:59:43.Z\"]]");
    EXPECT_ERR("a: 2001-12-14T21:59:43+24:00\n", GF_EINVAL, "t.yaml:1:4: timestamp");
    /* Not timestamps: they stay as written. */
    EXPECT("[2001-02-30, 2001-12-14 21:59:43.10 -5, 20011-12-14, 2001-12-14T21:59:43, "
           "2001-12-14T24:00:00Z, 2001-12-14T21:59:60Z, 2023-02-29, '2001-12-14']",
           "[[\"2001-02-30\",\"2001-12-14 21:59:43.10 -5\",\"20011-12-14\",\"2001-12-14T21:59:43\","
           "\"2001-12-14T24:00:00Z\",\"2001-12-14T21:59:60Z\",\"2023-02-29\",\"2001-12-14\"]]");
}

/* kustomization.yaml is read by sigs.k8s.io/yaml (go-yaml v2): checked with
 * kubectl, `e: on` in commonAnnotations fails as a bool, a date stays text. */
static void test_yaml_parse__v2_typing_for_kustomization(void)
{
    int fl = GF_YAML_V2_TYPING;
    char *got = parse_str("[y, Yes, ON, n, NO, off, true, yes, 'on', 2024-01-01, 0x10, 0o-17, ~]",
                          NULL, fl);
    GF_ASSERT_STR(got, "[[true,true,true,false,false,false,true,true,\"on\",\"2024-01-01\",16,"
                       "\"0o-17\",null]]");
    free(got);
    got = parse_str("yes: a\n0x10: b\n1.5: c\n1e7: d\n0.0001: e\n'n': f\nq: !!timestamp 2001-1-2\n",
                    NULL, fl);
    GF_ASSERT_STR(got, "[{\"true\":\"a\",\"16\":\"b\",\"1.5\":\"c\",\"1e+07\":\"d\","
                       "\"0.0001\":\"e\",\"n\":\"f\",\"q\":\"2001-1-2\"}]");
    free(got);
    got = parse_str("1e300: a\n-1e300: b\n", NULL, fl);
    GF_ASSERT_STR(got, "[{\".inf\":\"a\",\"-.inf\":\"b\"}]");
    free(got);
    got = parse_str("~: a\n", NULL, fl);
    GF_ASSERT_HAS(got, "ERR EINVAL: t.yaml:1:1: a null mapping key has no JSON spelling");
    free(got);
    /* Keys that resolve alike collide: yes and true are both "true". */
    got = parse_str("yes: a\ntrue: b\n", NULL, fl);
    GF_ASSERT_HAS(got, "duplicate key \"true\" (first at line 1)");
    free(got);
}

static void test_yaml_parse__explicit_tags(void)
{
    EXPECT("[!!str 1, !!str true, !!int \"12\", !!float 1, !!float '2.5', !!bool True, "
           "!!null ~, !!binary aGVsbG8=, ! 12, ! '12']",
           "[[\"1\",\"true\",12,1.0,2.5,true,null,\"hello\",12,\"12\"]]");
    EXPECT("!!map {a: !!seq [x]}", "[{\"a\":[\"x\"]}]");
    EXPECT_ERR("a: !foo bar\n", GF_EINVAL, "t.yaml:1:4: unknown tag !foo");
    EXPECT_ERR("a: !!python/str x\n", GF_EINVAL, "unknown tag !!python/str");
    EXPECT_ERR("a: !!timestamp 2001-02-30\n", GF_EINVAL,
               "cannot read \"2001-02-30\" as !!timestamp");
    EXPECT_ERR("a: !!map [x]\n", GF_EINVAL, "unknown tag !!map on a sequence");
    EXPECT_ERR("a: !!int 1.5\n", GF_EINVAL, "cannot read \"1.5\" as !!int");
    EXPECT_ERR("a: !!bool yes\n", GF_EINVAL, "cannot read \"yes\" as !!bool");
    EXPECT_ERR("a: !!binary 'not base64!'\n", GF_EINVAL, "not valid base64");
    EXPECT_ERR("a: !!binary //4=\n", GF_EINVAL, "not UTF-8");
}

static void test_yaml_parse__keys(void)
{
    /* Scalar keys are their text, whatever they would resolve to. */
    EXPECT("1: x\ntrue: y\n0x10: z\n~: n\n'q': 2\n", "[{\"1\":\"x\",\"true\":\"y\",\"0x10\":\"z\","
                                                     "\"~\":\"n\",\"q\":2}]");
    EXPECT_ERR("? [a, b]\n: x\n", GF_EINVAL, "t.yaml:1:3: a mapping key must be a scalar");
    EXPECT_ERR("{a: 1}: x\n", GF_EINVAL, "a mapping key must be a scalar, found a mapping");
    EXPECT("- &k key\n- {*k : v}\n", "[[\"key\",{\"key\":\"v\"}]]");
}

static void test_yaml_parse__duplicate_keys(void)
{
    EXPECT_ERR("x: 0\na: 1\nb: 2\na: 3\n", GF_EINVAL,
               "t.yaml:4:1: duplicate key \"a\" (first at line 2)");
    EXPECT_ERR("top:\n  inner:\n    k: 1\n  k: 2\n  inner: 3\n", GF_EINVAL,
               "t.yaml:5:3: duplicate key \"inner\" (first at line 2)");
    EXPECT_ERR("{a: 1, a: 2}", GF_EINVAL, "duplicate key \"a\" (first at line 1)");
    EXPECT_ERR("{\"\\0\\e\": 1, \"\\0\\e\": 2}", GF_EINVAL,
               "duplicate key \"\\x00\\x1B\" (first at line 1)");
    /* Same text, different styles: still the same key. */
    EXPECT_ERR("a: 1\n'a': 2\n", GF_EINVAL, "duplicate key \"a\"");
    /* kustomization.yaml semantics: the last one wins, in the first one's place. */
    char *got = parse_str("a: 1\nb: 2\na: [3]\nb: {c: 4}\n", NULL, GF_YAML_LAST_KEY_WINS);
    GF_ASSERT_STR(got, "[{\"a\":[3],\"b\":{\"c\":4}}]");
    free(got);
}

static void test_yaml_parse__anchors_and_aliases(void)
{
    EXPECT("a: &x {p: 1, q: [1, 2]}\nb: *x\nc: &s text\nd: *s\n",
           "[{\"a\":{\"p\":1,\"q\":[1,2]},\"b\":{\"p\":1,\"q\":[1,2]},\"c\":\"text\",\"d\":"
           "\"text\"}]");
    EXPECT_ERR("a: *nope\n", GF_EINVAL, "t.yaml:1:4: alias *nope names no anchor");
    /* Anchors do not cross documents. */
    EXPECT_ERR("a: &x 1\n---\nb: *x\n", GF_EINVAL, "t.yaml:3:4: alias *x names no anchor");
}

/* Aliased nodes are copies: editing one place leaves the others alone. */
static void test_yaml_parse__aliases_are_independent_copies(void)
{
    const char *y = "a: &x {p: [1]}\nb: *x\nc: {<<: *x}\n";
    json_t *docs;

    GF_ASSERT_INT(gf_yaml_parse(&docs, y, strlen(y), NULL, NULL, 0), 0);
    json_t *doc = json_array_get(docs, 0);
    json_t *a = json_object_get(doc, "a"), *b = json_object_get(doc, "b");
    json_t *c = json_object_get(doc, "c");
    GF_ASSERT(a != b);
    GF_ASSERT(json_object_get(a, "p") != json_object_get(c, "p"));
    json_array_append_new(json_object_get(a, "p"), json_integer(2));
    char *s = json_dumps(doc, JSON_COMPACT);
    GF_ASSERT_STR(s, "{\"a\":{\"p\":[1,2]},\"b\":{\"p\":[1]},\"c\":{\"p\":[1]}}");
    free(s);
    json_decref(docs);
}

static void test_yaml_parse__merge_keys(void)
{
    const char *base = "base: &b {p: 1, q: 2}\nother: &o {r: 5, p: 9}\n";
    char buf[512];

    snprintf(buf, sizeof(buf), "%sm:\n  <<: *b\n  q: 3\n", base);
    EXPECT(buf, "[{\"base\":{\"p\":1,\"q\":2},\"other\":{\"r\":5,\"p\":9},"
                "\"m\":{\"p\":1,\"q\":3}}]");
    /* Explicit keys before the merge win too; earlier maps in a list win. */
    snprintf(buf, sizeof(buf), "%sm:\n  q: 4\n  <<: [*b, *o]\n  s: 6\n", base);
    EXPECT(buf, "[{\"base\":{\"p\":1,\"q\":2},\"other\":{\"r\":5,\"p\":9},"
                "\"m\":{\"q\":4,\"p\":1,\"r\":5,\"s\":6}}]");
    EXPECT("m: {<<: {a: 1}, b: 2}\n", "[{\"m\":{\"a\":1,\"b\":2}}]");
    /* A quoted << is an ordinary key. */
    EXPECT("'<<': {a: 1}\n", "[{\"<<\":{\"a\":1}}]");
    /* Overriding a merged key once is fine, twice is a duplicate. */
    snprintf(buf, sizeof(buf), "%sm:\n  <<: *b\n  q: 3\n  q: 4\n", base);
    EXPECT_ERR(buf, GF_EINVAL, "t.yaml:6:3: duplicate key \"q\" (first at line 5)");
    EXPECT_ERR("m:\n  <<: 1\n", GF_EINVAL, "t.yaml:2:7: the << merge key expects a mapping");
    EXPECT_ERR("m:\n  <<: [{a: 1}, x]\n", GF_EINVAL, "item 2 is a string");
    EXPECT_ERR("b: &b {a: 1}\nm:\n  <<: *b\n  <<: *b\n", GF_EINVAL, "duplicate key \"<<\"");
}

/* 200,000 keys in one mapping, then all overridden after a merge: duplicate
 * detection is a hash lookup, so this takes well under a second, where a
 * linear scan per key would take minutes. */
static void test_yaml_parse__big_mapping_is_linear(void)
{
    size_t n = 200000, cap = n * 48 + 64, len = 0;
    char *y = malloc(cap);
    json_t *docs;
    double t0;

    len += (size_t)snprintf(y + len, cap - len, "base: &b\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(y + len, cap - len, "  key%zu: %zu\n", i, i);
    len += (size_t)snprintf(y + len, cap - len, "over:\n  <<: *b\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(y + len, cap - len, "  key%zu: x\n", i);
    t0 = now();
    GF_ASSERT_INT(gf_yaml_parse(&docs, y, len, "t.yaml", NULL, 0), 0);
    printf("  %zu bytes, 400,000 keys and 200,000 overrides in %.3f s\n", len, now() - t0);
    GF_ASSERT(now() - t0 < 10.0);
    json_t *over = json_object_get(json_array_get(docs, 0), "over");
    GF_ASSERT_INT(json_object_size(over), n);
    GF_ASSERT_STR(json_string_value(json_object_get(over, "key77")), "x");
    json_decref(docs);
    /* One more copy of a key is still caught, with the override's line. */
    len += (size_t)snprintf(y + len, cap - len, "  key5: again\n");
    GF_ASSERT_INT(gf_yaml_parse(&docs, y, len, "t.yaml", NULL, 0), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "duplicate key \"key5\" (first at line 200009)");
    free(y);
}

static void test_yaml_parse__syntax_errors_have_position_and_expectation(void)
{
    EXPECT_ERR("a: [1, 2\n", GF_EINVAL, "t.yaml:2:1: did not find expected ',' or ']'");
    EXPECT_ERR("a:\n  b: 1\n c: 2\n", GF_EINVAL, "t.yaml:3:2: did not find expected key");
    EXPECT_ERR("a: 'open\n", GF_EINVAL, "found unexpected end of stream");
    EXPECT_ERR("a: b: c\n", GF_EINVAL, "t.yaml:1:5: mapping values are not allowed");
    EXPECT_ERR("- a\nb: c\n", GF_EINVAL, "t.yaml:2:1: did not find expected '-' indicator");
    EXPECT_ERR("a: {b: 1\n", GF_EINVAL, "while parsing a flow mapping started at line 1");
}

static void test_yaml_parse__truncated_input(void)
{
    const char *full = "spec:\n  containers:\n  - name: a\n    image: \"nginx:1\"\n";
    size_t n = strlen(full);
    json_t *docs;

    /* Every prefix either parses or fails cleanly with a position. */
    for (size_t i = 0; i < n; i++) {
        int rc = gf_yaml_parse(&docs, full, i, "t.yaml", NULL, 0);
        if (rc == 0)
            json_decref(docs);
        else
            GF_ASSERT_HAS(gf_error_last(), "t.yaml:");
    }
    EXPECT_ERR("image: \"nginx:1", GF_EINVAL, "t.yaml:1:16: found unexpected end of stream");
}

static void test_yaml_parse__tabs_in_indentation(void)
{
    EXPECT_ERR("a:\n\tb: 1\n", GF_EINVAL, "t.yaml:2:1: tab character in indentation");
    EXPECT_ERR("a:\n  b:\n  \tc: 1\n", GF_EINVAL, "tab character in indentation");
    EXPECT_ERR("a:\n  b: 1\n\t\n  c: 2\n", GF_EINVAL, "t.yaml:3:1: tab character in indentation");
    EXPECT_ERR("a: |\n  x\n\ty\n", GF_EINVAL, "t.yaml:3:1: tab character in indentation");
    EXPECT_ERR("a:\n  - \tx\n", GF_EINVAL, "t.yaml:2:5: tab character where YAML expects a space");
    /* A tab inside a value, or as a separator after ':' or ',', is fine. */
    EXPECT("a:\t1\nb: [1,\t2]\n", "[{\"a\":1,\"b\":[1,2]}]");
    EXPECT("a: \"x\\ty\"\nb: 'p\tq'\n", "[{\"a\":\"x\\ty\",\"b\":\"p\\tq\"}]");
}

static void test_yaml_parse__invalid_utf8(void)
{
    EXPECT_ERR("a: b\nc: \xff\xfe\n", GF_EINVAL, "t.yaml:2:4: invalid leading UTF-8 octet");
    EXPECT_ERR("a: \xc3\x28\n", GF_EINVAL, "UTF-8");
    EXPECT_ERR("a: \"x\x01y\"\n", GF_EINVAL, "control characters are not allowed");
    EXPECT("a: h\xc3\xa9llo\n", "[{\"a\":\"h\xc3\xa9llo\"}]");
}

/* 10,000 levels: refused by max_depth, not by a crashed stack. */
static void test_yaml_parse__deep_nesting_refused(void)
{
    size_t depth = 10000;
    char *flow = malloc(2 * depth + 1), *block = malloc(2 * depth + 2);
    json_t *docs;

    memset(flow, '[', depth);
    memset(flow + depth, ']', depth);
    flow[2 * depth] = '\0';
    GF_ASSERT_INT(gf_yaml_parse(&docs, flow, strlen(flow), "t.yaml", NULL, 0), GF_ETOOBIG);
    GF_ASSERT_HAS(gf_error_last(), "t.yaml:1:513: collections nested deeper than 512 levels");
    /* "- - - - x": block sequences on one line. */
    for (size_t i = 0; i < depth; i++)
        memcpy(block + 2 * i, "- ", 2);
    memcpy(block + 2 * depth, "x", 2);
    GF_ASSERT_INT(gf_yaml_parse(&docs, block, strlen(block), "t.yaml", NULL, 0), GF_ETOOBIG);
    GF_ASSERT_HAS(gf_error_last(), "nested deeper than 512");
    /* Within a custom limit it parses. */
    struct gf_yaml_limits lim = {.max_depth = 20000};
    GF_ASSERT_INT(gf_yaml_parse(&docs, flow, strlen(flow), "t.yaml", &lim, 0), 0);
    json_decref(docs);
    free(flow);
    free(block);
}

/* An alias reaching past max_depth is refused as well. */
static void test_yaml_parse__alias_depth_counts(void)
{
    struct gf_yaml_limits lim = {.max_depth = 4};
    json_t *docs;
    const char *ok = "a: &x [[1]]\nb: *x\n";
    const char *deep = "a: &x [[[1]]]\nb: [*x]\n";

    GF_ASSERT_INT(gf_yaml_parse(&docs, ok, strlen(ok), "t.yaml", &lim, 0), 0);
    json_decref(docs);
    GF_ASSERT_INT(gf_yaml_parse(&docs, deep, strlen(deep), "t.yaml", &lim, 0), GF_ETOOBIG);
    GF_ASSERT_HAS(gf_error_last(), "t.yaml:2:5: alias *x nests collections deeper than 4");
}

/* Billion laughs: 10^9 nodes once expanded; refused early, in well under a second. */
static void test_yaml_parse__alias_bomb_refused_fast(void)
{
    const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                       "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                       "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                       "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                       "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                       "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
    json_t *docs;
    double t0 = now();

    GF_ASSERT_INT(gf_yaml_parse(&docs, bomb, strlen(bomb), "t.yaml", NULL, 0), GF_ETOOBIG);
    GF_ASSERT_HAS(gf_error_last(), "more than 4000000 nodes");
    GF_ASSERT(now() - t0 < 0.5);
    /* A small max_nodes refuses an ordinary document too. */
    struct gf_yaml_limits lim = {.max_nodes = 5};
    GF_ASSERT_INT(gf_yaml_parse(&docs, "[1, 2, 3, 4, 5]", 15, "t.yaml", &lim, 0), GF_ETOOBIG);
}

/* A 100 MB scalar: refused before any parsing; a smaller one over
 * max_scalar is refused too. */
static void test_yaml_parse__huge_scalar_refused(void)
{
    size_t big = (size_t)100 << 20;
    char *data = malloc(big + 1);
    json_t *docs;
    double t0;

    memcpy(data, "a: ", 3);
    memset(data + 3, 'x', big - 3);
    data[big] = '\0';
    t0 = now();
    GF_ASSERT_INT(gf_yaml_parse(&docs, data, big, "t.yaml", NULL, 0), GF_ETOOBIG);
    GF_ASSERT_HAS(gf_error_last(), "t.yaml: 104857600 bytes of YAML is over the limit of 67108864");
    GF_ASSERT(now() - t0 < 0.1);
    struct gf_yaml_limits lim = {.max_scalar = 1 << 20};
    GF_ASSERT_INT(gf_yaml_parse(&docs, data, (2 << 20), "t.yaml", &lim, 0), GF_ETOOBIG);
    GF_ASSERT_HAS(gf_error_last(), "t.yaml:1:4: scalar of 2097149 bytes is over the limit");

    free(data);

    /* From a file (sparse: no disk used): refused before reading, with the path. */
    char path[512];
    snprintf(path, sizeof(path), "%s/big.yaml", gf_test_tmpdir());
    gf_test_write_file(path, "a: ", 3);
    GF_ASSERT_INT(truncate(path, (off_t)big), 0);
    t0 = now();
    GF_ASSERT_INT(gf_yaml_parse_file(&docs, path, NULL, 0), GF_ETOOBIG);
    GF_ASSERT(now() - t0 < 0.1);
    GF_ASSERT_HAS(gf_error_last(), path);
    GF_ASSERT_HAS(gf_error_last(), "104857600 bytes of YAML is over the limit");
}

static void test_yaml_parse__document_limit(void)
{
    struct gf_yaml_limits lim = {.max_documents = 2};
    json_t *docs;
    const char *y = "a: 1\n---\nb: 2\n---\nc: 3\n";

    GF_ASSERT_INT(gf_yaml_parse(&docs, y, strlen(y), "t.yaml", &lim, 0), GF_ETOOBIG);
    GF_ASSERT_HAS(gf_error_last(), "t.yaml:4:1: more than 2 documents");
}

static void test_yaml_parse__parse_one(void)
{
    json_t *doc;

    GF_ASSERT_INT(gf_yaml_parse_one(&doc, "a: 1\n", 5, "x.yaml", NULL), 0);
    GF_ASSERT_INT(json_integer_value(json_object_get(doc, "a")), 1);
    json_decref(doc);
    GF_ASSERT_INT(gf_yaml_parse_one(&doc, "", 0, "x.yaml", NULL), 0);
    GF_ASSERT(json_is_null(doc));
    GF_ASSERT_INT(gf_yaml_parse_one(&doc, "a: 1\n---\n", 9, "x.yaml", NULL), 0);
    GF_ASSERT(json_is_object(doc));
    json_decref(doc);
    GF_ASSERT_INT(gf_yaml_parse_one(&doc, "a: 1\n---\nb: 2\n", 14, "x.yaml", NULL), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "x.yaml: expected one YAML document, found 2");
}

static void test_yaml_parse__file_errors(void)
{
    char path[512];
    json_t *docs;

    snprintf(path, sizeof(path), "%s/missing.yaml", gf_test_tmpdir());
    GF_ASSERT_INT(gf_yaml_parse_file(&docs, path, NULL, 0), GF_ENOTFOUND);
    GF_ASSERT_HAS(gf_error_last(), path);
    snprintf(path, sizeof(path), "%s/bad.yaml", gf_test_tmpdir());
    gf_test_write_file(path, "ok: 1\nbad: [\n", 13);
    GF_ASSERT_INT(gf_yaml_parse_file(&docs, path, NULL, 0), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), path);
    GF_ASSERT_HAS(gf_error_last(), "bad.yaml:3:1:");
}

/* Every kustomize corpus reference output parses. */
static void test_yaml_parse__corpus_references(void)
{
    const char *shared = gf_test_shared_dir();
    char dir[1024], path[2048];
    struct dirent *de;
    DIR *d;
    int n = 0;

    if (shared == NULL) {
        printf("  skipped: no shared dir, corpus not checked\n");
        return;
    }
    snprintf(dir, sizeof(dir), "%s/corpus/kustomize", shared);
    if ((d = opendir(dir)) == NULL) {
        printf("  skipped: %s absent\n", dir);
        return;
    }
    while ((de = readdir(d)) != NULL) {
        json_t *docs;
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s/reference.yaml", dir, de->d_name);
        if (de->d_name[0] == '.' || stat(path, &st) != 0)
            continue;
        int rc = gf_yaml_parse_file(&docs, path, NULL, 0);
        if (rc < 0) {
            closedir(d);
            gf_test_fail(__FILE__, __LINE__, "%s", gf_error_last());
        }
        /* Only an empty output (TestEmptyList) may give no document. */
        int ok = json_array_size(docs) > 0 || st.st_size == 0;
        json_decref(docs);
        if (!ok) {
            closedir(d);
            gf_test_fail(__FILE__, __LINE__, "%s: no documents", path);
        }
        n++;
    }
    closedir(d);
    GF_ASSERT(n > 0);
    printf("  %d reference.yaml files parsed\n", n);
}

GF_TESTS(GF_TEST(test_yaml_parse__mappings_sequences_and_order),
         GF_TEST(test_yaml_parse__multi_document_stream),
         GF_TEST(test_yaml_parse__empty_stream_and_comments),
         GF_TEST(test_yaml_parse__scalar_document), GF_TEST(test_yaml_parse__core_schema_typing),
         GF_TEST(test_yaml_parse__go_yaml_integers),
         GF_TEST(test_yaml_parse__floats_and_big_numbers),
         GF_TEST(test_yaml_parse__timestamps_as_kubectl), GF_TEST(test_yaml_parse__explicit_tags),
         GF_TEST(test_yaml_parse__v2_typing_for_kustomization), GF_TEST(test_yaml_parse__keys),
         GF_TEST(test_yaml_parse__duplicate_keys), GF_TEST(test_yaml_parse__anchors_and_aliases),
         GF_TEST(test_yaml_parse__aliases_are_independent_copies),
         GF_TEST(test_yaml_parse__merge_keys), GF_TEST(test_yaml_parse__big_mapping_is_linear),
         GF_TEST(test_yaml_parse__syntax_errors_have_position_and_expectation),
         GF_TEST(test_yaml_parse__truncated_input), GF_TEST(test_yaml_parse__tabs_in_indentation),
         GF_TEST(test_yaml_parse__invalid_utf8), GF_TEST(test_yaml_parse__deep_nesting_refused),
         GF_TEST(test_yaml_parse__alias_depth_counts),
         GF_TEST(test_yaml_parse__alias_bomb_refused_fast),
         GF_TEST(test_yaml_parse__huge_scalar_refused), GF_TEST(test_yaml_parse__document_limit),
         GF_TEST(test_yaml_parse__parse_one), GF_TEST(test_yaml_parse__file_errors),
         GF_TEST(test_yaml_parse__corpus_references));
