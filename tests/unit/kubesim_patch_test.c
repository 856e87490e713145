/* kubesim_patch_test.c -- kubesim's JSON patch, merge patch and API-server strategic merge patch */
#include "harness.h"

#include "../kubesim/patch.h"

#include "gitfleet/error.h"

#include <stdlib.h>

static json_t *J(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &err);
    if (v == NULL)
        gf_test_fail(__FILE__, __LINE__, "bad test JSON: %s: %s", text, err.text);
    return v;
}

/* Compact JSON text of v (sorted keys), freed at the next call. */
static const char *S(json_t *v)
{
    static char *last;
    free(last);
    last = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    return last;
}

/* Strategic merge of patch into doc for a Deployment; the result as text. */
static const char *smp(const char *kind, const char *doc, const char *patch)
{
    json_t *d = J(doc), *p = J(patch), *out = NULL;
    int rc = ks_patch_strategic(&out, d, p, kind[0] == 'D' ? "apps" : "", kind);
    json_decref(d);
    json_decref(p);
    if (rc < 0)
        gf_test_fail(__FILE__, __LINE__, "strategic merge failed: %s", gf_error_last());
    const char *text = S(out);
    json_decref(out);
    return text;
}

#define CONTAINERS(list) "{\"spec\":{\"template\":{\"spec\":{\"containers\":" list "}}}}"

static void test_kubesim_patch__smp_merges_containers_by_name(void)
{
    const char *out = smp("Deployment", CONTAINERS("[{\"name\":\"a\",\"image\":\"x:1\"}]"),
                          CONTAINERS("[{\"name\":\"a\",\"image\":\"x:2\"}]"));
    GF_ASSERT_STR(out, CONTAINERS("[{\"image\":\"x:2\",\"name\":\"a\"}]"));
}

static void test_kubesim_patch__smp_order_interleaves_server_items(void)
{
    /* live [A,B] + patch [B',C] gives [A,B',C] (mergeSortedSlice) */
    const char *out = smp("Deployment", CONTAINERS("[{\"name\":\"A\"},{\"name\":\"B\"}]"),
                          CONTAINERS("[{\"name\":\"B\",\"image\":\"b\"},{\"name\":\"C\"}]"));
    GF_ASSERT_STR(out, CONTAINERS("[{\"name\":\"A\"},{\"image\":\"b\",\"name\":\"B\"},{\"name\":"
                                  "\"C\"}]"));
    /* live [A,B] + patch [C,B'] gives [C,A,B'] */
    out = smp("Deployment", CONTAINERS("[{\"name\":\"A\"},{\"name\":\"B\"}]"),
              CONTAINERS("[{\"name\":\"C\"},{\"name\":\"B\",\"image\":\"b\"}]"));
    GF_ASSERT_STR(out, CONTAINERS("[{\"name\":\"C\"},{\"name\":\"A\"},{\"image\":\"b\",\"name\":"
                                  "\"B\"}]"));
}

static void test_kubesim_patch__smp_delete_and_replace_directives(void)
{
    const char *out = smp("Deployment", CONTAINERS("[{\"name\":\"A\"},{\"name\":\"B\"}]"),
                          CONTAINERS("[{\"name\":\"A\",\"$patch\":\"delete\"}]"));
    GF_ASSERT_STR(out, CONTAINERS("[{\"name\":\"B\"}]"));
    out = smp("Deployment", CONTAINERS("[{\"name\":\"A\"},{\"name\":\"B\"}]"),
              CONTAINERS("[{\"$patch\":\"replace\"},{\"name\":\"Z\"}]"));
    GF_ASSERT_STR(out, CONTAINERS("[{\"name\":\"Z\"}]"));
    out = smp("ConfigMap", "{\"data\":{\"a\":\"1\",\"b\":\"2\"}}",
              "{\"data\":{\"$patch\":\"replace\",\"c\":\"3\"}}");
    GF_ASSERT_STR(out, "{\"data\":{\"c\":\"3\"}}");
    out =
        smp("ConfigMap", "{\"data\":{\"a\":\"1\"},\"x\":1}", "{\"data\":{\"$patch\":\"delete\"}}");
    GF_ASSERT_STR(out, "{\"x\":1}");
    out = smp("ConfigMap", "{\"data\":{\"a\":\"1\",\"b\":\"2\"}}", "{\"data\":{\"a\":null}}");
    GF_ASSERT_STR(out, "{\"data\":{\"b\":\"2\"}}");
}

static void test_kubesim_patch__smp_atomic_lists_are_replaced(void)
{
    const char *out = smp(
        "Deployment",
        "{\"spec\":{\"template\":{\"spec\":{\"tolerations\":[{\"key\":\"a\"},{\"key\":\"b\"}]}}}}",
        "{\"spec\":{\"template\":{\"spec\":{\"tolerations\":[{\"key\":\"c\"}]}}}}");
    GF_ASSERT_STR(out, "{\"spec\":{\"template\":{\"spec\":{\"tolerations\":[{\"key\":\"c\"}]}}}}");
    /* a custom resource has no schema: even a list of named items is atomic */
    json_t *d = J("{\"spec\":{\"items\":[{\"name\":\"a\"}]}}"), *out2 = NULL;
    json_t *p = J("{\"spec\":{\"items\":[{\"name\":\"b\"}]}}");
    GF_ASSERT_INT(ks_patch_strategic(&out2, d, p, "example.com", "Widget"), 0);
    GF_ASSERT_STR(S(out2), "{\"spec\":{\"items\":[{\"name\":\"b\"}]}}");
    json_decref(d);
    json_decref(p);
    json_decref(out2);
}

static void test_kubesim_patch__smp_primitive_set_lists(void)
{
    const char *out = smp("ConfigMap", "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
                          "{\"metadata\":{\"finalizers\":[\"c\",\"a\"]}}");
    /* union; patch items in patch order, server-only b before... nothing later in the patch */
    GF_ASSERT_STR(out, "{\"metadata\":{\"finalizers\":[\"c\",\"a\",\"b\"]}}");
    out = smp("ConfigMap", "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}",
              "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"b\"]}}");
    GF_ASSERT_STR(out, "{\"metadata\":{\"finalizers\":[\"a\",\"c\"]}}");
}

static void test_kubesim_patch__smp_set_element_order(void)
{
    const char *out =
        smp("Deployment", CONTAINERS("[{\"name\":\"A\"},{\"name\":\"B\"}]"),
            "{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"B\"},"
            "{\"name\":\"A\"}],\"containers\":[{\"name\":\"A\",\"image\":\"a\"}]}}}}");
    GF_ASSERT_STR(out, CONTAINERS("[{\"name\":\"B\"},{\"image\":\"a\",\"name\":\"A\"}]"));
}

static void test_kubesim_patch__smp_retain_keys(void)
{
    const char *vol = "{\"spec\":{\"template\":{\"spec\":{\"volumes\":[{\"name\":\"v\","
                      "\"configMap\":{\"name\":\"c\"}}]}}}}";
    const char *out = smp("Deployment", vol,
                          "{\"spec\":{\"template\":{\"spec\":{\"volumes\":[{\"name\":\"v\","
                          "\"$retainKeys\":[\"emptyDir\",\"name\"],\"emptyDir\":{}}]}}}}");
    GF_ASSERT_STR(out, "{\"spec\":{\"template\":{\"spec\":{\"volumes\":[{\"emptyDir\":{},"
                       "\"name\":\"v\"}]}}}}");
}

static void test_kubesim_patch__smp_missing_merge_key_is_an_error(void)
{
    json_t *d = J(CONTAINERS("[{\"name\":\"a\"}]")), *p = J(CONTAINERS("[{\"image\":\"x\"}]"));
    json_t *out = NULL;
    GF_ASSERT(ks_patch_strategic(&out, d, p, "apps", "Deployment") == GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "does not contain declared merge key: name");
    json_decref(d);
    json_decref(p);
}

static void test_kubesim_patch__json_patch_operations(void)
{
    json_t *doc = J("{\"a\":{\"b\":[1,2]},\"c\":\"x\"}"), *out = NULL;
    json_t *ops = J("[{\"op\":\"add\",\"path\":\"/a/b/1\",\"value\":9},"
                    "{\"op\":\"add\",\"path\":\"/a/b/-\",\"value\":3},"
                    "{\"op\":\"replace\",\"path\":\"/c\",\"value\":\"y\"},"
                    "{\"op\":\"copy\",\"from\":\"/c\",\"path\":\"/d\"},"
                    "{\"op\":\"move\",\"from\":\"/d\",\"path\":\"/e~1f\"},"
                    "{\"op\":\"test\",\"path\":\"/e~1f\",\"value\":\"y\"},"
                    "{\"op\":\"remove\",\"path\":\"/a/b/0\"}]");
    GF_ASSERT_INT(ks_patch_json(&out, doc, ops), 0);
    GF_ASSERT_STR(S(out), "{\"a\":{\"b\":[9,2,3]},\"c\":\"y\",\"e/f\":\"y\"}");
    json_decref(out);
    json_decref(ops);
    ops = J("[{\"op\":\"test\",\"path\":\"/c\",\"value\":\"no\"}]");
    GF_ASSERT(ks_patch_json(&out, doc, ops) == GF_ECONFLICT);
    json_decref(ops);
    ops = J("[{\"op\":\"remove\",\"path\":\"/nope/x\"}]");
    GF_ASSERT(ks_patch_json(&out, doc, ops) == GF_EINVAL);
    GF_ASSERT_STR(S(doc), "{\"a\":{\"b\":[1,2]},\"c\":\"x\"}"); /* the input is untouched */
    json_decref(ops);
    json_decref(doc);
}

static void test_kubesim_patch__merge_patch(void)
{
    json_t *doc = J("{\"a\":{\"b\":1,\"c\":[1]},\"d\":2}");
    json_t *p = J("{\"a\":{\"b\":null,\"c\":[2],\"e\":{\"f\":1}},\"d\":null}");
    json_t *out = ks_patch_merge(doc, p);
    GF_ASSERT_STR(S(out), "{\"a\":{\"c\":[2],\"e\":{\"f\":1}}}");
    json_decref(out);
    json_decref(p);
    json_decref(doc);
}

GF_TESTS(GF_TEST(test_kubesim_patch__smp_merges_containers_by_name),
         GF_TEST(test_kubesim_patch__smp_order_interleaves_server_items),
         GF_TEST(test_kubesim_patch__smp_delete_and_replace_directives),
         GF_TEST(test_kubesim_patch__smp_atomic_lists_are_replaced),
         GF_TEST(test_kubesim_patch__smp_primitive_set_lists),
         GF_TEST(test_kubesim_patch__smp_set_element_order),
         GF_TEST(test_kubesim_patch__smp_retain_keys),
         GF_TEST(test_kubesim_patch__smp_missing_merge_key_is_an_error),
         GF_TEST(test_kubesim_patch__json_patch_operations),
         GF_TEST(test_kubesim_patch__merge_patch));
