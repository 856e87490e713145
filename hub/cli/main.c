/* main.c -- gitfleet: the CLI's entry point; dispatches to one file per command */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* In the order `gitfleet help` lists them: everyday commands first. One per
 * line, so that adding a command is a one-line change. */
/* clang-format off */
static const struct gf_cli_command *const commands[] = {
    &gf_cmd_status,
    &gf_cmd_clusters,
    &gf_cmd_cluster,
    &gf_cmd_apps,
    &gf_cmd_app,
    &gf_cmd_sync,
    &gf_cmd_wait,
    &gf_cmd_rollback,
    &gf_cmd_diff,
    &gf_cmd_history,
    &gf_cmd_rollout,
    &gf_cmd_token,
    &gf_cmd_audit,
    &gf_cmd_seal,
    &gf_cmd_render,
    &gf_cmd_fmt,
    &gf_cmd_health,
    &gf_cmd_kustomize,
    &gf_cmd_version,
};
/* clang-format on */
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

int gf_cli_error(int code, const char *fmt, ...)
{
    va_list ap;

    fputs("gitfleet: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int gf_cli_usage(const struct gf_cli_command *cmd)
{
    fprintf(stderr, "usage: gitfleet %s\n", cmd->usage);
    return GF_CLI_USAGE;
}

static void print_help(FILE *out)
{
    fputs("usage: gitfleet [--version] [help [COMMAND]] COMMAND [ARGS...]\n\ncommands:\n", out);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        /* The list shows each summary's first line; `help COMMAND` all of it. */
        const char *summary = commands[i]->summary;
        int first_line = (int)strcspn(summary, "\n");
        fprintf(out, "  %s\n      %.*s\n", commands[i]->usage, first_line, summary);
    }
    fputs("\nexit codes: 0 ok, 1 failure (diff: drift; status --exit-code: not all Synced and "
          "Healthy), 2 usage error, 124 wait timed out\n",
          out);
}

static const struct gf_cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return GF_CLI_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("gitfleet %s\n", GF_VERSION);
        return GF_CLI_OK;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        const struct gf_cli_command *cmd = argc > 2 ? find_command(argv[2]) : NULL;
        if (cmd != NULL)
            printf("usage: gitfleet %s\n\n%s\n", cmd->usage, cmd->summary);
        else
            print_help(stdout);
        return GF_CLI_OK;
    }
    const struct gf_cli_command *cmd = find_command(argv[1]);
    if (cmd == NULL) {
        gf_cli_error(GF_CLI_USAGE, "unknown command '%s' (see 'gitfleet help')", argv[1]);
        return GF_CLI_USAGE;
    }
    return cmd->run(argc - 1, argv + 1);
}
