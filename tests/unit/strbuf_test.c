/* strbuf_test.c -- appends, printf, growth across many appends, nothing appended */
#include "harness.h"

#include "gitfleet/strbuf.h"

#include <string.h>

static void test_strbuf__appends_and_printf(void)
{
    struct gf_strbuf sb = {0};

    gf_strbuf_puts(&sb, "{\"a\":");
    gf_strbuf_printf(&sb, "%d,\"b\":\"%s\"", 42, "x");
    gf_strbuf_add(&sb, "}tail", 1);
    GF_ASSERT_STR(sb.data, "{\"a\":42,\"b\":\"x\"}");
    GF_ASSERT_INT(sb.len, strlen(sb.data));
    GF_ASSERT_INT(sb.failed, 0);
    gf_strbuf_free(&sb);
    GF_ASSERT(sb.data == NULL && sb.len == 0);
}

static void test_strbuf__grows_past_many_doublings(void)
{
    struct gf_strbuf sb = {0};

    for (int i = 0; i < 100000; i++)
        gf_strbuf_printf(&sb, "%05d", i % 100000);
    GF_ASSERT_INT(sb.len, 500000);
    GF_ASSERT(memcmp(sb.data + 5 * 99999, "99999", 5) == 0);
    GF_ASSERT(sb.cap > sb.len);
    gf_strbuf_free(&sb);
}

static void test_strbuf__empty(void)
{
    struct gf_strbuf sb = {0};

    gf_strbuf_add(&sb, "", 0);
    GF_ASSERT_STR(sb.data, "");
    gf_strbuf_free(&sb);
}

GF_TESTS(GF_TEST(test_strbuf__appends_and_printf), GF_TEST(test_strbuf__grows_past_many_doublings),
         GF_TEST(test_strbuf__empty));
