/* cmd_fmt.c -- gitfleet fmt: rewrite YAML the way kubectl prints it */
#include "cli.h"

#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"
#include "gitfleet/yaml_emit.h"
#include "gitfleet/yaml_parse.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FMT_MAX_INPUT (64u << 20) /* the parser's default bound on one stream */

/* All of stdin, bounded like a file. */
static int read_stdin(char **out, size_t *len_out)
{
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap + 1), *grown;
    size_t n;

    if (buf == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    while ((n = fread(buf + len, 1, cap - len, stdin)) > 0) {
        len += n;
        if (len > FMT_MAX_INPUT) {
            free(buf);
            return gf_error_set(GF_ETOOBIG, "<stdin>: more than %u bytes", FMT_MAX_INPUT);
        }
        if (len == cap) {
            if ((grown = realloc(buf, cap * 2 + 1)) == NULL) {
                free(buf);
                return gf_error_set(GF_ENOMEM, "out of memory");
            }
            buf = grown;
            cap *= 2;
        }
    }
    if (ferror(stdin)) {
        free(buf);
        return gf_error_set(GF_EIO, "<stdin>: %s", strerror(errno));
    }
    buf[len] = '\0';
    *out = buf;
    *len_out = len;
    return 0;
}

/* Parse `data` and write it again; *out is the kubectl-style text. */
static int reformat(char **out, size_t *len_out, const char *data, size_t len, const char *name)
{
    json_t *docs = NULL;
    int error;

    if ((error = gf_yaml_parse(&docs, data, len, name, NULL, 0)) < 0)
        return error;
    if ((error = gf_yaml_emit_stream(out, len_out, docs)) < 0)
        gf_error_wrap(error, "%s", name);
    json_decref(docs);
    return error;
}

/* -w: replace the file (through symlinks, keeping its mode) only when the
 * text changed; the rename makes it all or nothing. */
static int rewrite(const char *path, const char *data, size_t len)
{
    char real[PATH_MAX];
    struct stat st;

    if (realpath(path, real) == NULL || stat(real, &st) != 0)
        return gf_error_set(GF_EIO, "%s: %s", path, strerror(errno));
    return gf_fs_write_atomic(real, data, len, st.st_mode & 07777);
}

struct fmt_state {
    bool write;  /* -w */
    int printed; /* streams written to stdout so far */
    bool failed; /* some input was bad: exit 1 at the end */
};

static void format_one(struct fmt_state *st, const char *path)
{
    bool is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "<stdin>" : path;
    char *in = NULL, *out = NULL;
    size_t in_len = 0, out_len = 0;
    int error;

    error = is_stdin ? read_stdin(&in, &in_len) : gf_fs_read(&in, &in_len, path, FMT_MAX_INPUT);
    if (error == 0)
        error = reformat(&out, &out_len, in, in_len, name);
    if (error == 0 && st->write) {
        if (out_len != in_len || memcmp(out, in, in_len) != 0)
            error = rewrite(path, out, out_len);
    } else if (error == 0) {
        /* several inputs print as one stream: "---" between non-empty ones */
        if (out_len > 0 && st->printed++ > 0)
            fputs("---\n", stdout);
        fwrite(out, 1, out_len, stdout);
    }
    if (error < 0) {
        gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
        st->failed = true;
    }
    free(in);
    free(out);
}

static int run_fmt(int argc, char **argv)
{
    struct fmt_state st = {false, 0, false};
    int i = 1;

    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (strcmp(argv[i], "-w") != 0) {
            gf_cli_error(GF_CLI_USAGE, "fmt: unknown flag '%s'", argv[i]);
            return gf_cli_usage(&gf_cmd_fmt);
        }
        st.write = true;
    }
    if (st.write && (i == argc || strcmp(argv[i], "-") == 0)) {
        gf_cli_error(GF_CLI_USAGE, "fmt: -w rewrites files: name at least one (not stdin)");
        return gf_cli_usage(&gf_cmd_fmt);
    }
    if (i == argc)
        format_one(&st, "-");
    for (; i < argc; i++) {
        if (st.write && strcmp(argv[i], "-") == 0) {
            gf_cli_error(GF_CLI_FAIL, "fmt: -w cannot rewrite stdin; skipped '-'");
            st.failed = true;
            continue;
        }
        format_one(&st, argv[i]);
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        return gf_cli_error(GF_CLI_FAIL, "writing the output: %s", strerror(errno));
    return st.failed ? GF_CLI_FAIL : GF_CLI_OK;
}

const struct gf_cli_command gf_cmd_fmt = {
    .name = "fmt",
    .usage = "fmt [-w] [FILE...]",
    .summary = "print YAML as kubectl prints it (stdin or FILEs); -w rewrites files in place",
    .run = run_fmt,
};
