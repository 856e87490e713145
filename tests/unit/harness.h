/* harness.h -- a small unit-test runner: a table of cases per test file */
#ifndef GF_TEST_HARNESS_H
#define GF_TEST_HARNESS_H

#include <stddef.h>
#include <string.h>

struct gf_test {
    const char *name; /* test_<module>__<case> */
    void (*run)(void);
};

/* Each *_test.c defines its table, terminated by {NULL, NULL}, with
 * GF_TESTS(...) and the harness's main() runs every case in order. */
extern const struct gf_test gf_tests[];
#define GF_TESTS(...) const struct gf_test gf_tests[] = {__VA_ARGS__, {NULL, NULL}}
#define GF_TEST(fn)                                                                                \
    {                                                                                              \
#fn, fn                                                                                    \
    }

/* Record a failure and leave the current case. */
void gf_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

#define GF_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            gf_test_fail(__FILE__, __LINE__, "assertion failed: %s", #cond);                       \
    } while (0)
#define GF_ASSERT_INT(a, b)                                                                        \
    do {                                                                                           \
        long long gf_a_ = (long long)(a), gf_b_ = (long long)(b);                                  \
        if (gf_a_ != gf_b_)                                                                        \
            gf_test_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, gf_a_, #b,     \
                         gf_b_);                                                                   \
    } while (0)
#define GF_ASSERT_STR(a, b)                                                                        \
    do {                                                                                           \
        const char *gf_a_ = (a), *gf_b_ = (b);                                                     \
        if (gf_a_ == NULL || gf_b_ == NULL || strcmp(gf_a_, gf_b_) != 0)                           \
            gf_test_fail(__FILE__, __LINE__, "%s:\n--- got\n%s\n--- expected\n%s", #a,             \
                         gf_a_ ? gf_a_ : "(null)", gf_b_ ? gf_b_ : "(null)");                      \
    } while (0)
/* The string contains the substring. */
#define GF_ASSERT_HAS(a, sub)                                                                      \
    do {                                                                                           \
        const char *gf_a_ = (a), *gf_s_ = (sub);                                                   \
        if (gf_a_ == NULL || strstr(gf_a_, gf_s_) == NULL)                                         \
            gf_test_fail(__FILE__, __LINE__, "%s = \"%s\" does not contain \"%s\"", #a,            \
                         gf_a_ ? gf_a_ : "(null)", gf_s_);                                         \
    } while (0)

/* Paths from the environment that ctest sets; NULL when unset. */
const char *gf_test_source_dir(void);
const char *gf_test_shared_dir(void); /* ../shared, NULL if absent */
const char *gf_test_bin_dir(void);

/* A fresh temporary directory for this case, removed after the run. */
const char *gf_test_tmpdir(void);

/* Whole file into a NUL-terminated malloc'd buffer (NULL if unreadable). */
char *gf_test_read_file(const char *path, size_t *len_out);
/* Write bytes to path (creating parents); fails the test on error. */
void gf_test_write_file(const char *path, const char *data, size_t len);

/* Run a shell command, return its exit status (or -1). */
int gf_test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
