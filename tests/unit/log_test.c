/* log_test.c -- log lines: peer-controlled values cannot forge a line or a pair, in text or JSON */
#include "harness.h"

#include "gitfleet/log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Log one event in `format` and return what was written (malloc'd). */
static char *capture(enum gf_log_format format, const char *name, const char *error)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);

    GF_ASSERT(out != NULL);
    gf_log_configure(GF_LOG_INFO, format, out);
    gf_log_info("HUB-AGENT-JOINED", "cluster=%s gen=%llu error=\"%s\" short=%.3s n=%d%%", name,
                (unsigned long long)7, error, "abcdef", -2);
    fclose(out);
    gf_log_configure(GF_LOG_INFO, GF_LOG_TEXT, stderr);
    return buf;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_log__plain_values_unchanged(void)
{
    char *line = capture(GF_LOG_TEXT, "dev-1", "no such file");

    GF_ASSERT_HAS(line, " info  HUB-AGENT-JOINED cluster=dev-1 gen=7 error=\"no such file\" "
                        "short=abc n=-2%\n");
    free(line);
}

static void test_log__text_cannot_forge_lines_or_pairs(void)
{
    const char *forged = "x\n2026-01-01T00:00:00.000Z info  HUB-AGENT-JOINED cluster=admin";
    char *line = capture(GF_LOG_TEXT, forged, "a\" admin=\"yes\\");

    GF_ASSERT_INT(count_lines(line), 1);
    GF_ASSERT_HAS(line, "cluster=\"x\\n2026-01-01T00:00:00.000Z info  HUB-AGENT-JOINED "
                        "cluster=admin\"");
    GF_ASSERT_HAS(line, "error=\"a\\\" admin=\\\"yes\\\\\"");
    free(line);
    line = capture(GF_LOG_TEXT, "a b=c\r\x01\xff\xc3\xa9", "");
    GF_ASSERT_HAS(line, "cluster=\"a b=c\\r\\x01\\xff\xc3\xa9\" ");
    free(line);
}

static void test_log__json_keeps_values_whole(void)
{
    const char *forged = "x\" error=\"forged\n{\"event\":\"HUB-AGENT-JOINED\"}";
    char *line = capture(GF_LOG_JSON, forged, "bad \"quote\" \\ and\nnewline");
    json_error_t err;

    GF_ASSERT_INT(count_lines(line), 1);
    json_t *doc = json_loads(line, 0, &err);
    GF_ASSERT(doc != NULL);
    GF_ASSERT_STR(json_string_value(json_object_get(doc, "cluster")), forged);
    GF_ASSERT_STR(json_string_value(json_object_get(doc, "error")),
                  "bad \"quote\" \\ and\nnewline");
    GF_ASSERT_STR(json_string_value(json_object_get(doc, "gen")), "7");
    GF_ASSERT_STR(json_string_value(json_object_get(doc, "event")), "HUB-AGENT-JOINED");
    json_decref(doc);
    free(line);
}

GF_TESTS(GF_TEST(test_log__plain_values_unchanged),
         GF_TEST(test_log__text_cannot_forge_lines_or_pairs),
         GF_TEST(test_log__json_keeps_values_whole));
