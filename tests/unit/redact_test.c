/* redact_test.c -- URL credentials redacted in URLs and in free text */
#include "harness.h"

#include "gitfleet/error.h"
#include "gitfleet/redact.h"

static void test_redact__url(void)
{
    char out[256];

    gf_redact_url(out, sizeof(out), "https://alice:s3cret@git.example.com/org/repo.git");
    GF_ASSERT_STR(out, "https://alice:***@git.example.com/org/repo.git");
    gf_redact_url(out, sizeof(out), "https://ghp_TOKEN@github.com/org/repo");
    GF_ASSERT_STR(out, "https://***@github.com/org/repo");
    gf_redact_url(out, sizeof(out), "ssh://git@host:2222/repo.git");
    GF_ASSERT_STR(out, "ssh://git@host:2222/repo.git");
    gf_redact_url(out, sizeof(out), "ssh://git:pw@host/repo.git");
    GF_ASSERT_STR(out, "ssh://git:***@host/repo.git");
    gf_redact_url(out, sizeof(out), "git@github.com:org/repo.git");
    GF_ASSERT_STR(out, "git@github.com:org/repo.git");
    gf_redact_url(out, sizeof(out), "/srv/git/repo");
    GF_ASSERT_STR(out, "/srv/git/repo");
}

static void test_redact__strip(void)
{
    char out[256];

    gf_redact_url_strip(out, sizeof(out), "HTTPS://alice:s3cret@git.example.com/r.git");
    GF_ASSERT_STR(out, "HTTPS://git.example.com/r.git");
    gf_redact_url_strip(out, sizeof(out), "ssh://git@host/r.git");
    GF_ASSERT_STR(out, "ssh://host/r.git");
}

static void test_redact__text(void)
{
    char out[512];

    GF_ASSERT_INT(gf_redact_text(out, sizeof(out),
                                 "fetch http://u:p4ss@h/x failed; retry https://t0k@h2/y, "
                                 "see http://h3/z and mailto:a@b"),
                  1);
    GF_ASSERT_STR(out, "fetch http://u:***@h/x failed; retry https://***@h2/y, "
                       "see http://h3/z and mailto:a@b");
    GF_ASSERT_INT(gf_redact_text(out, sizeof(out), "no url here: a@b, ://@x"), 0);
    GF_ASSERT_STR(out, "no url here: a@b, ://@x");
    /* truncation keeps the terminator and never the secret's tail */
    gf_redact_text(out, 12, "https://user:secret@h/");
    GF_ASSERT_STR(out, "https://use");
}

/* Error messages are redacted where they are set. */
static void test_redact__errors(void)
{
    gf_error_set(GF_EIO, "clone of %s failed", "https://bob:hunter2@h/r.git");
    GF_ASSERT_STR(gf_error_last(), "clone of https://bob:***@h/r.git failed");
    gf_error_wrap(GF_EIO, "repo %s", "http://x:y@z/");
    GF_ASSERT_STR(gf_error_last(), "repo http://x:***@z/: clone of https://bob:***@h/r.git failed");
}

GF_TESTS(GF_TEST(test_redact__url), GF_TEST(test_redact__strip), GF_TEST(test_redact__text),
         GF_TEST(test_redact__errors));
