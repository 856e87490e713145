/* filesrc_test.c -- path joining and the on-disk file source's confinement */
#include "harness.h"

#include "filesrc.h"
#include "gitfleet/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void expect_join(const char *base, const char *path, const char *want)
{
    char *out = NULL;

    GF_ASSERT_INT(hub_filesrc_join(&out, base, path), 0);
    GF_ASSERT_STR(out, want);
    free(out);
}

static void test_filesrc__join_normalizes(void)
{
    expect_join("apps/web/overlays/dev", "../../base", "apps/web/base");
    expect_join("", "./a//b/./c", "a/b/c");
    expect_join("a/b", "..", "a");
    expect_join("a", "../", "");
    expect_join("", "", "");
}

static void test_filesrc__join_refuses_escapes(void)
{
    char *out = NULL;

    GF_ASSERT_INT(hub_filesrc_join(&out, "a", "../../etc/passwd"), GF_EPERM);
    GF_ASSERT(out == NULL);
    GF_ASSERT_HAS(gf_error_last(), "leaves the repository root");
    GF_ASSERT_INT(hub_filesrc_join(&out, "", "/etc/passwd"), GF_EPERM);
    GF_ASSERT_INT(hub_filesrc_join(&out, "", ".."), GF_EPERM);
}

static void test_filesrc__dir_reads_lists_and_confines(void)
{
    const char *tmp = gf_test_tmpdir();
    char path[512], *data = NULL, **names = NULL;
    size_t len = 0, count = 0;
    enum hub_filesrc_type type;
    hub_filesrc *src = NULL;

    snprintf(path, sizeof(path), "%s/root/b.yaml", tmp);
    gf_test_write_file(path, "b: 1\n", 5);
    snprintf(path, sizeof(path), "%s/root/sub/a.yaml", tmp);
    gf_test_write_file(path, "a: 1\n", 5);
    snprintf(path, sizeof(path), "%s/secret", tmp);
    gf_test_write_file(path, "s", 1);
    GF_ASSERT_INT(
        gf_test_sh("ln -s ../secret %s/root/escape && ln -s sub/a.yaml %s/root/inside", tmp, tmp),
        0);
    snprintf(path, sizeof(path), "%s/root", tmp);
    GF_ASSERT_INT(hub_filesrc_open_dir(&src, path, 0), 0);

    GF_ASSERT_INT(hub_filesrc_read(src, "sub/../b.yaml", &data, &len), 0);
    GF_ASSERT_STR(data, "b: 1\n");
    free(data);
    GF_ASSERT_INT(hub_filesrc_read(src, "inside", &data, &len), 0);
    free(data);
    GF_ASSERT_INT(hub_filesrc_read(src, "escape", &data, &len), GF_EPERM);
    GF_ASSERT_INT(hub_filesrc_read(src, "../secret", &data, &len), GF_EPERM);
    GF_ASSERT_INT(hub_filesrc_read(src, "missing.yaml", &data, &len), GF_ENOTFOUND);
    GF_ASSERT_INT(hub_filesrc_stat(src, "sub", &type), 0);
    GF_ASSERT_INT(type, HUB_FILESRC_DIR);
    GF_ASSERT_INT(hub_filesrc_stat(src, "nothing", &type), 0);
    GF_ASSERT_INT(type, HUB_FILESRC_NONE);
    GF_ASSERT_INT(hub_filesrc_list(src, "", &names, &count), 0);
    GF_ASSERT_INT(count, 4);
    GF_ASSERT_STR(names[0], "b.yaml");
    GF_ASSERT_STR(names[3], "sub");
    hub_filesrc_names_free(names, count);
    hub_filesrc_free(src);
}

GF_TESTS(GF_TEST(test_filesrc__join_normalizes), GF_TEST(test_filesrc__join_refuses_escapes),
         GF_TEST(test_filesrc__dir_reads_lists_and_confines));
