/* retry_test.c -- syncPolicy.retry: parsing, Argo CD's backoff formula, giving up */
#include "harness.h"

#include "retry.h"
#include "gitfleet/error.h"

#include <math.h>
#include <stdlib.h>

static int parse(struct agent_retry *r, const char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    int error = agent_retry_parse(r, j);
    json_decref(j);
    return error;
}

#define ASSERT_NEAR(a, b) GF_ASSERT((a) - (b) < 1e-9 && (b) - (a) < 1e-9)

static void test_retry__absent_policy_never_retries(void)
{
    struct agent_retry r;

    GF_ASSERT_INT(parse(&r, NULL), 0);
    GF_ASSERT_INT(agent_retry_allowed(&r, 0), 0);
    GF_ASSERT_INT(parse(&r, "{\"limit\": 0}"), 0);
    GF_ASSERT_INT(agent_retry_allowed(&r, 0), 0);
}

static void test_retry__defaults_are_argocd(void)
{
    struct agent_retry r;

    /* limit without backoff: 5s, factor 2, cap 3m */
    GF_ASSERT_INT(parse(&r, "{\"limit\": 5}"), 0);
    ASSERT_NEAR(agent_retry_delay(&r, 0), 5);
    ASSERT_NEAR(agent_retry_delay(&r, 1), 10);
    ASSERT_NEAR(agent_retry_delay(&r, 2), 20);
    ASSERT_NEAR(agent_retry_delay(&r, 5), 160);
    ASSERT_NEAR(agent_retry_delay(&r, 6), 180); /* 320 capped at maxDuration 3m */
    ASSERT_NEAR(agent_retry_delay(&r, 60), 180);
}

static void test_retry__first_retry_waits_duration(void)
{
    struct agent_retry r;

    GF_ASSERT_INT(parse(&r, "{\"limit\":3,\"backoff\":{\"duration\":\"30s\",\"factor\":3,"
                            "\"maxDuration\":\"10m\"}}"),
                  0);
    ASSERT_NEAR(agent_retry_delay(&r, 0), 30);
    ASSERT_NEAR(agent_retry_delay(&r, 1), 90);
    ASSERT_NEAR(agent_retry_delay(&r, 2), 270);
    ASSERT_NEAR(agent_retry_delay(&r, 3), 600);
}

static void test_retry__limit_counts_retries(void)
{
    struct agent_retry r;

    GF_ASSERT_INT(parse(&r, "{\"limit\": 2}"), 0);
    GF_ASSERT_INT(agent_retry_allowed(&r, 0), 1);
    GF_ASSERT_INT(agent_retry_allowed(&r, 1), 1);
    GF_ASSERT_INT(agent_retry_allowed(&r, 2), 0);
    GF_ASSERT_INT(parse(&r, "{\"limit\": -1}"), 0);
    GF_ASSERT_INT(agent_retry_allowed(&r, 1000000), 1);
}

static void test_retry__durations_seconds_and_go_forms(void)
{
    double d;

    GF_ASSERT_INT(agent_retry_parse_duration(&d, "30"), 0);
    ASSERT_NEAR(d, 30);
    GF_ASSERT_INT(agent_retry_parse_duration(&d, "1m30s"), 0);
    ASSERT_NEAR(d, 90);
    GF_ASSERT_INT(agent_retry_parse_duration(&d, "1.5h"), 0);
    ASSERT_NEAR(d, 5400);
    GF_ASSERT_INT(agent_retry_parse_duration(&d, "300ms"), 0);
    ASSERT_NEAR(d, 0.3);
    GF_ASSERT_INT(agent_retry_parse_duration(&d, "2h45m"), 0);
    ASSERT_NEAR(d, 9900);
    GF_ASSERT_INT(agent_retry_parse_duration(&d, "0"), 0);
    ASSERT_NEAR(d, 0);
    GF_ASSERT_INT(agent_retry_parse_duration(&d, "10us"), 0);
    ASSERT_NEAR(d, 1e-5);
}

static void test_retry__bad_durations_rejected(void)
{
    double d;
    const char *bad[] = {"", "abc", "5x", "m", "-5s", "-3", "5 s", "1d", ".s", NULL};

    for (int i = 0; bad[i] != NULL; i++) {
        GF_ASSERT_INT(agent_retry_parse_duration(&d, bad[i]), GF_EINVAL);
    }
}

static void test_retry__bad_fields_name_the_field(void)
{
    struct agent_retry r;

    GF_ASSERT_INT(parse(&r, "{\"limit\":\"5\"}"), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "retry.limit");
    GF_ASSERT_INT(parse(&r, "{\"backoff\":{\"factor\":1.5}}"), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "retry.backoff.factor");
    GF_ASSERT_INT(parse(&r, "{\"backoff\":{\"duration\":\"soon\"}}"), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "retry.backoff.duration");
    GF_ASSERT_INT(parse(&r, "{\"backof\":{}}"), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "unknown field \"backof\"");
}

static void test_retry__empty_strings_keep_defaults(void)
{
    struct agent_retry r;

    GF_ASSERT_INT(parse(&r, "{\"limit\":1,\"backoff\":{\"duration\":\"\",\"maxDuration\":\"\"}}"),
                  0);
    ASSERT_NEAR(r.duration, 5);
    ASSERT_NEAR(r.max_duration, 180);
}

static void test_retry__zero_max_duration_means_no_cap(void)
{
    struct agent_retry r;

    GF_ASSERT_INT(
        parse(&r, "{\"limit\":-1,\"backoff\":{\"duration\":\"1s\",\"maxDuration\":\"0\"}}"), 0);
    ASSERT_NEAR(agent_retry_delay(&r, 10), 1024);
    GF_ASSERT(agent_retry_delay(&r, 100000) > 1e9); /* huge but finite */
    GF_ASSERT(isfinite(agent_retry_delay(&r, 100000)));
}

GF_TESTS(GF_TEST(test_retry__absent_policy_never_retries), GF_TEST(test_retry__defaults_are_argocd),
         GF_TEST(test_retry__first_retry_waits_duration), GF_TEST(test_retry__limit_counts_retries),
         GF_TEST(test_retry__durations_seconds_and_go_forms),
         GF_TEST(test_retry__bad_durations_rejected),
         GF_TEST(test_retry__bad_fields_name_the_field),
         GF_TEST(test_retry__empty_strings_keep_defaults),
         GF_TEST(test_retry__zero_max_duration_means_no_cap));
