/* harness.c -- runs the case table of one unit-test executable */
#include "harness.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static jmp_buf case_exit;
static const struct gf_test *volatile current;
static char tmp_root[256];
static char case_tmp[512];
static int case_count;
static int passed, failed;

void gf_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    longjmp(case_exit, 1);
}

const char *gf_test_source_dir(void)
{
    const char *dir = getenv("GF_SOURCE_DIR");
    return dir ? dir : ".";
}

const char *gf_test_shared_dir(void)
{
    static char path[1024];
    struct stat st;
    const char *dir = getenv("GF_SHARED_DIR");

    if (dir == NULL) {
        snprintf(path, sizeof(path), "%s/../shared", gf_test_source_dir());
        dir = path;
    }
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? dir : NULL;
}

const char *gf_test_bin_dir(void)
{
    return getenv("GF_BIN_DIR");
}

const char *gf_test_tmpdir(void)
{
    if (case_tmp[0] == '\0') {
        snprintf(case_tmp, sizeof(case_tmp), "%s/case%d", tmp_root, case_count);
        if (mkdir(case_tmp, 0700) != 0 && errno != EEXIST) {
            perror(case_tmp);
            abort();
        }
    }
    return case_tmp;
}

char *gf_test_read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (f == NULL)
        return NULL;
    do {
        if (cap - len < 65536) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap + 1);
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    buf[len] = '\0';
    if (len_out)
        *len_out = len;
    return buf;
}

void gf_test_write_file(const char *path, const char *data, size_t len)
{
    char cmd[1200];

    snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
    if (system(cmd) != 0)
        gf_test_fail(__FILE__, __LINE__, "mkdir for %s failed", path);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len)
        gf_test_fail(__FILE__, __LINE__, "cannot write %s", path);
    fclose(f);
}

int gf_test_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int status = system(cmd);
    return status == -1 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;

    snprintf(tmp_root, sizeof(tmp_root), "/tmp/gftest.XXXXXX");
    if (mkdtemp(tmp_root) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    for (const struct gf_test *t = gf_tests; t->name != NULL; t++) {
        if (only && strstr(t->name, only) == NULL)
            continue;
        case_count++;
        case_tmp[0] = '\0';
        current = t;
        if (setjmp(case_exit) == 0) {
            current->run();
            printf("ok   %s\n", t->name);
            passed++;
        } else {
            printf("FAIL %s\n", t->name);
            failed++;
        }
        fflush(stdout);
    }
    if (failed == 0 && getenv("GF_KEEP_TMP") == NULL)
        gf_test_sh("rm -rf '%s'", tmp_root);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
