/* error_test.c -- the error convention and the log module */
#include "harness.h"

#include "gitfleet/error.h"
#include "gitfleet/log.h"

#include <stdio.h>
#include <stdlib.h>

static void test_error__set_returns_code_and_message(void)
{
    gf_error_clear();
    GF_ASSERT_STR(gf_error_last(), "");
    GF_ASSERT_INT(gf_error_set(GF_EINVAL, "bad %s at %d", "thing", 3), GF_EINVAL);
    GF_ASSERT_STR(gf_error_last(), "bad thing at 3");
    GF_ASSERT_STR(gf_error_name(GF_EINVAL), "EINVAL");
}

static void test_error__wrap_prefixes_context(void)
{
    gf_error_set(GF_ENOTFOUND, "no such file");
    GF_ASSERT_INT(gf_error_wrap(GF_ENOTFOUND, "reading %s", "a.yaml"), GF_ENOTFOUND);
    GF_ASSERT_STR(gf_error_last(), "reading a.yaml: no such file");
}

static char *capture_log(enum gf_log_level level, enum gf_log_format format)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);

    gf_log_configure(level, format, mem);
    gf_log_info("TEST-EVENT", "cluster=%s gen=%d note=\"two words\" done", "dev-1", 7);
    gf_log_debug("TEST-HIDDEN", "x=%d", 1);
    fclose(mem);
    gf_log_configure(GF_LOG_INFO, GF_LOG_TEXT, NULL);
    return buf;
}

static void test_log__text_has_level_event_and_pairs(void)
{
    char *out = capture_log(GF_LOG_INFO, GF_LOG_TEXT);

    GF_ASSERT_HAS(out, "info  TEST-EVENT cluster=dev-1 gen=7");
    GF_ASSERT(strstr(out, "TEST-HIDDEN") == NULL);
    free(out);
}

static void test_log__json_lines_split_pairs(void)
{
    char *out = capture_log(GF_LOG_DEBUG, GF_LOG_JSON);

    GF_ASSERT_HAS(out, "\"level\":\"info\",\"event\":\"TEST-EVENT\",\"cluster\":\"dev-1\","
                       "\"gen\":\"7\",\"note\":\"two words\",\"msg\":\"done\"}");
    GF_ASSERT_HAS(out, "\"event\":\"TEST-HIDDEN\"");
    free(out);
}

static void test_log__parse_names(void)
{
    GF_ASSERT_INT(gf_log_level_parse("warn"), GF_LOG_WARN);
    GF_ASSERT_INT(gf_log_level_parse("loud"), -1);
    GF_ASSERT_INT(gf_log_format_parse("json"), GF_LOG_JSON);
}

GF_TESTS(GF_TEST(test_error__set_returns_code_and_message),
         GF_TEST(test_error__wrap_prefixes_context),
         GF_TEST(test_log__text_has_level_event_and_pairs),
         GF_TEST(test_log__json_lines_split_pairs), GF_TEST(test_log__parse_names));
