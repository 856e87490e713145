/* selector_test.c -- label selectors in kubectl's string form, as the status filters use them */
#include "harness.h"

#include "selector.h"
#include "gitfleet/error.h"

static int match(const char *text, const char *labels_json)
{
    hub_selector *sel = NULL;
    json_t *labels = json_loads(labels_json, 0, NULL);

    GF_ASSERT_INT(hub_selector_parse(&sel, text), 0);
    int ok = hub_selector_matches(sel, labels);
    hub_selector_free(sel);
    json_decref(labels);
    return ok;
}

static void test_selector__equality_and_existence(void)
{
    const char *prod = "{\"env\": \"prod\", \"region\": \"eu\", \"gpu\": \"\"}";

    GF_ASSERT(match("env=prod", prod));
    GF_ASSERT(match("env==prod", prod));
    GF_ASSERT(!match("env=dev", prod));
    GF_ASSERT(match("env!=dev", prod));
    GF_ASSERT(match("tier!=db", prod)); /* absent is not equal */
    GF_ASSERT(match("gpu", prod));
    GF_ASSERT(!match("!gpu", prod));
    GF_ASSERT(match("!legacy", prod));
    GF_ASSERT(match(" env = prod , region=eu ", prod));
    GF_ASSERT(!match("env=prod,region=us", prod));
    GF_ASSERT(match("", prod)); /* no requirement: everything */
    GF_ASSERT(!match("env=prod", "{}"));
}

static void test_selector__sets(void)
{
    const char *prod = "{\"env\": \"prod\", \"region\": \"eu\"}";

    GF_ASSERT(match("region in (us, eu)", prod));
    GF_ASSERT(!match("region in (us)", prod));
    GF_ASSERT(match("region notin (us,ap)", prod));
    GF_ASSERT(!match("region notin (eu)", prod));
    GF_ASSERT(match("zone notin (a)", prod));
    GF_ASSERT(match("env=prod,region in (eu)", prod));
}

static void test_selector__malformed_is_refused(void)
{
    static const char *const bad[] = {"=prod",     "env=prod,",     "env in prod",
                                      "env in (a", "env ~ prod",    "env=prod region=eu",
                                      "!",         "env notin (a,", NULL};
    hub_selector *sel = NULL;

    for (const char *const *t = bad; *t; t++) {
        GF_ASSERT_INT(hub_selector_parse(&sel, *t), GF_EINVAL);
        GF_ASSERT(sel == NULL);
    }
}

GF_TESTS(GF_TEST(test_selector__equality_and_existence), GF_TEST(test_selector__sets),
         GF_TEST(test_selector__malformed_is_refused));
