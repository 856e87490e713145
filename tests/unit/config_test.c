/* config_test.c -- settings table: defaults, YAML file, flags, bounds, durations */
#include "harness.h"

#include "gitfleet/config.h"
#include "gitfleet/error.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct settings {
    char *config;
    char *repo;
    long long contexts;
    int verbose;
    int64_t poll;
};

static const struct gf_config_option table[] = {
    {"config", GF_CONFIG_STRING, offsetof(struct settings, config), 0, 0, NULL, "a file"},
    {"repo", GF_CONFIG_STRING, offsetof(struct settings, repo), 0, 0, NULL, "the repository"},
    {"contexts", GF_CONFIG_INT, offsetof(struct settings, contexts), 1, 100, "10", "contexts"},
    {"verbose", GF_CONFIG_BOOL, offsetof(struct settings, verbose), 0, 0, "false", "talk more"},
    {"poll-interval", GF_CONFIG_DURATION, offsetof(struct settings, poll), 1000, 3600000, "3m",
     "how often to fetch"},
};
#define N (sizeof(table) / sizeof(table[0]))

static void test_config__durations(void)
{
    int64_t ms;
    char buf[32];

    GF_ASSERT_INT(gf_duration_parse(&ms, "1h30m"), 0);
    GF_ASSERT_INT(ms, 5400000);
    GF_ASSERT_INT(gf_duration_parse(&ms, "250ms"), 0);
    GF_ASSERT_INT(ms, 250);
    GF_ASSERT_INT(gf_duration_parse(&ms, "5s"), 0);
    GF_ASSERT_INT(ms, 5000);
    GF_ASSERT_INT(gf_duration_parse(&ms, "5"), GF_EINVAL);
    GF_ASSERT_INT(gf_duration_parse(&ms, "5d"), GF_EINVAL);
    GF_ASSERT_INT(gf_duration_parse(&ms, "-5s"), GF_EINVAL);
    gf_duration_format(buf, sizeof(buf), 5400000);
    GF_ASSERT_STR(buf, "1h30m");
    gf_duration_format(buf, sizeof(buf), 1500);
    GF_ASSERT_STR(buf, "1s500ms");
}

static void test_config__defaults_file_then_flags(void)
{
    struct settings s = {0};
    char path[512];
    char *argv[] = {"--contexts=20", "--verbose", "--repo", "/srv/fleet", "run", "x"};
    int next = -1;
    const char *yaml = "repo: /from/file\npoll-interval: 10s\ncontexts: 5\n";

    GF_ASSERT_INT(gf_config_defaults(&s, table, N), 0);
    GF_ASSERT_INT(s.contexts, 10);
    GF_ASSERT_INT(s.poll, 180000);
    snprintf(path, sizeof(path), "%s/hub.yaml", gf_test_tmpdir());
    gf_test_write_file(path, yaml, strlen(yaml));
    GF_ASSERT_INT(gf_config_load_file(&s, table, N, path), 0);
    GF_ASSERT_STR(s.repo, "/from/file");
    GF_ASSERT_INT(s.poll, 10000);
    GF_ASSERT_INT(gf_config_parse_flags(&s, table, N, 6, argv, &next), 0);
    GF_ASSERT_INT(next, 4);
    GF_ASSERT_STR(s.repo, "/srv/fleet");
    GF_ASSERT_INT(s.contexts, 20);
    GF_ASSERT_INT(s.verbose, 1);
    gf_config_free(&s, table, N);
    GF_ASSERT(s.repo == NULL);
}

static void test_config__errors_name_the_setting(void)
{
    struct settings s = {0};
    char path[512];
    char *bad_flag[] = {"--colour"};
    char *bad_value[] = {"--contexts", "1000"};
    char *missing[] = {"--repo"};
    int next;

    gf_config_defaults(&s, table, N);
    GF_ASSERT_INT(gf_config_parse_flags(&s, table, N, 1, bad_flag, &next), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "unknown flag '--colour'");
    GF_ASSERT_INT(gf_config_parse_flags(&s, table, N, 2, bad_value, &next), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "contexts: 1000 is out of range [1, 100]");
    GF_ASSERT_INT(gf_config_parse_flags(&s, table, N, 1, missing, &next), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "needs a value");
    snprintf(path, sizeof(path), "%s/bad.yaml", gf_test_tmpdir());
    gf_test_write_file(path, "repoo: x\n", 9);
    GF_ASSERT_INT(gf_config_load_file(&s, table, N, path), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "unknown setting 'repoo'");
    gf_test_write_file(path, "verbose: maybe\n", 15);
    GF_ASSERT_INT(gf_config_load_file(&s, table, N, path), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "bad.yaml: verbose: 'maybe' is not true or false");
    gf_test_write_file(path, "- a\n", 4);
    GF_ASSERT_INT(gf_config_load_file(&s, table, N, path), GF_EINVAL);
    gf_config_free(&s, table, N);
}

static void test_config__load_file_then_flags_win(void)
{
    struct settings s = {0};
    char path[512];
    char *argv[] = {"--config", path, "--contexts", "30"};
    char *stray[] = {"--contexts", "30", "extra"};
    const char *yaml = "contexts: 5\nrepo: /from/file\n";

    snprintf(path, sizeof(path), "%s/hub.yaml", gf_test_tmpdir());
    gf_test_write_file(path, yaml, strlen(yaml));
    GF_ASSERT_INT(gf_config_load(&s, table, N, 4, argv), 0);
    GF_ASSERT_STR(s.repo, "/from/file");
    GF_ASSERT_INT(s.contexts, 30);
    gf_config_free(&s, table, N);
    GF_ASSERT_INT(gf_config_load(&s, table, N, 3, stray), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "unexpected argument 'extra'");
    gf_config_free(&s, table, N);
}

GF_TESTS(GF_TEST(test_config__durations), GF_TEST(test_config__load_file_then_flags_win),
         GF_TEST(test_config__defaults_file_then_flags),
         GF_TEST(test_config__errors_name_the_setting));
