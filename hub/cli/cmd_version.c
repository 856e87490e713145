/* cmd_version.c -- gitfleet version: print the CLI's version */
#include "cli.h"

#include <stdio.h>

static int run_version(int argc, char **argv)
{
    if (argc != 1)
        return gf_cli_usage(&gf_cmd_version);
    printf("gitfleet %s\n", GF_VERSION);
    return GF_CLI_OK;
}

const struct gf_cli_command gf_cmd_version = {
    .name = "version",
    .usage = "version",
    .summary = "print the version of gitfleet",
    .run = run_version,
};
