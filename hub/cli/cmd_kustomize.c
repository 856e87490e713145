/* cmd_kustomize.c -- gitfleet kustomize: build a kustomization directory with the native engine */
#include "cli.h"

#include "filesrc.h"
#include "gitfleet/error.h"
#include "gitfleet/yaml_emit.h"
#include "kustomize/kustomize.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct kz_args {
    const char *dir;
    const char *root;
    const char *output; /* "yaml" or "json" */
    int all_under;
};

static int parse_args(struct kz_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof(*a));
    a->output = "yaml";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            a->output = argv[++i];
        else if (strncmp(argv[i], "-o", 2) == 0 && argv[i][2] != '\0')
            a->output = argv[i] + 2;
        else if (strcmp(argv[i], "--root") == 0 && i + 1 < argc)
            a->root = argv[++i];
        else if (strcmp(argv[i], "--all-under") == 0)
            a->all_under = 1;
        else if (argv[i][0] == '-' || a->dir != NULL)
            return -1;
        else
            a->dir = argv[i];
    }
    if (a->dir == NULL)
        return -1;
    return strcmp(a->output, "yaml") == 0 || strcmp(a->output, "json") == 0 ? 0 : -1;
}

/* Split the command's DIR into a file-source root and a path under it.
 * Without --root there is no boundary, as with `kubectl kustomize DIR`
 * (kustomize's own load restrictions still apply); the hub always keeps its
 * repository as the boundary. */
static int resolve_root(const struct kz_args *a, char **root_out, char **rel_out)
{
    char dirabs[PATH_MAX], rootabs[PATH_MAX];
    const char *root = a->root ? a->root : "/";

    if (realpath(a->dir, dirabs) == NULL)
        return gf_error_set(GF_ENOTFOUND, "%s: no such directory", a->dir);
    if (realpath(root, rootabs) == NULL)
        return gf_error_set(GF_ENOTFOUND, "%s: no such directory", root);
    size_t n = strlen(rootabs);
    if (strcmp(rootabs, "/") == 0)
        n = 0;
    if (strncmp(dirabs, rootabs, n) != 0 || (dirabs[n] != '/' && dirabs[n] != '\0'))
        return gf_error_set(GF_EPERM, "%s is not under the root %s", a->dir, rootabs);
    *root_out = strdup(rootabs);
    *rel_out = strdup(dirabs[n] == '/' ? dirabs + n + 1 : "");
    return 0;
}

static int emit(const json_t *docs, const char *format, FILE *out)
{
    char *text = NULL;
    size_t len = 0;
    int error;

    if (strcmp(format, "json") == 0) {
        text = json_dumps(docs, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (text == NULL)
            return gf_error_set(GF_ENOMEM, "out of memory");
        fprintf(out, "%s\n", text);
        free(text);
        return 0;
    }
    if ((error = gf_yaml_emit_stream(&text, &len, docs)) < 0)
        return error;
    fwrite(text, 1, len, out);
    free(text);
    return 0;
}

static int build_one(hub_filesrc *src, hub_kustomize_session *s, const char *rel,
                     const char *format)
{
    struct hub_kustomize_options opts = {s};
    json_t *docs = NULL;
    int error = hub_kustomize_build(&docs, src, rel, &opts);
    if (error == 0)
        error = emit(docs, format, stdout);
    json_decref(docs);
    return error;
}

/* --all-under: every directory holding a kustomization.yaml whose name is
 * not used as a base, built in one process with one shared session. */
static int build_all(hub_filesrc *src, hub_kustomize_session *s, const char *rel,
                     const char *format, int *count)
{
    char **names = NULL;
    size_t n = 0;
    enum hub_filesrc_type t;
    char *kf = NULL;
    int error;

    if ((error = hub_filesrc_join(&kf, rel, "kustomization.yaml")) < 0)
        return error;
    if (hub_filesrc_stat(src, kf, &t) == 0 && t == HUB_FILESRC_FILE) {
        free(kf);
        printf("# %s\n", rel[0] ? rel : ".");
        (*count)++;
        if ((error = build_one(src, s, rel, format)) < 0)
            return gf_error_wrap(error, "%s", rel[0] ? rel : ".");
        return 0;
    }
    free(kf);
    if ((error = hub_filesrc_list(src, rel, &names, &n)) < 0)
        return error;
    for (size_t i = 0; i < n && error == 0; i++) {
        char *child = NULL;
        if (names[i][0] == '.' || hub_filesrc_join(&child, rel, names[i]) < 0)
            continue;
        if (hub_filesrc_stat(src, child, &t) == 0 && t == HUB_FILESRC_DIR)
            error = build_all(src, s, child, format, count);
        free(child);
    }
    hub_filesrc_names_free(names, n);
    return error;
}

static int run_kustomize(int argc, char **argv)
{
    struct kz_args a;
    hub_filesrc *src = NULL;
    hub_kustomize_session *s = NULL;
    char *root = NULL, *rel = NULL;
    int error, count = 0;

    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: gitfleet %s\n\n%s\n", gf_cmd_kustomize.usage, gf_cmd_kustomize.summary);
        return GF_CLI_OK;
    }
    if (parse_args(&a, argc, argv) < 0)
        return gf_cli_usage(&gf_cmd_kustomize);
    if ((error = resolve_root(&a, &root, &rel)) < 0 ||
        (error = hub_filesrc_open_dir(&src, root, 0)) < 0 ||
        (error = hub_kustomize_session_new(&s)) < 0)
        goto out;
    if (a.all_under)
        error = build_all(src, s, rel, a.output, &count);
    else
        error = build_one(src, s, rel, a.output);
out:
    hub_kustomize_session_free(s);
    hub_filesrc_free(src);
    free(root);
    free(rel);
    if (error < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    return GF_CLI_OK;
}

const struct gf_cli_command gf_cmd_kustomize = {
    .name = "kustomize",
    .usage = "kustomize DIR [-o yaml|json] [--root PATH] [--all-under]",
    .summary =
        "build the kustomization in DIR natively, printing what `kubectl kustomize DIR` prints.\n"
        "As kubectl, bases may be anywhere (../base), in a git work tree or not; --root PATH\n"
        "reads files only below PATH (as the hub reads only its repository) and refuses paths\n"
        "or symlinks leaving it.\n"
        "--all-under builds every kustomization directory found under DIR (not descending\n"
        "into one once found) in one process with one shared build session, printing\n"
        "'# <dir>' before each output (for benchmarks and fleet-wide checks).",
    .run = run_kustomize,
};
