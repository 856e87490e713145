/* cmd_wait.c -- gitfleet wait: block until apps are synced, healthy, done (a pipeline's gate) */
#include "appwait.h"
#include "cli.h"
#include "hubapi.h"

#include "gitfleet/error.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int run_wait(int argc, char **argv)
{
    static const struct option longopts[] = {{"hub", required_argument, NULL, 'H'},
                                             {"token-file", required_argument, NULL, 't'},
                                             {"cluster", required_argument, NULL, 'c'},
                                             {"all", no_argument, NULL, 'a'},
                                             {"sync", no_argument, NULL, 's'},
                                             {"health", no_argument, NULL, 'h'},
                                             {"operation", no_argument, NULL, 'p'},
                                             {"timeout", required_argument, NULL, 'T'},
                                             {NULL, 0, NULL, 0}};
    struct gf_cli_wait w = {0};
    struct gf_cli_hubapi api;
    struct gf_cli_hub_flags flags = {0};
    const char *timeout = NULL;
    int all = 0, c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            all = 1;
            break;
        case 's':
            w.sync = 1;
            break;
        case 'h':
            w.health = 1;
            break;
        case 'p':
            w.operation = 1;
            break;
        case 'T':
            timeout = optarg;
            break;
        default:
            if (!gf_cli_hub_flag(&flags, c, optarg))
                return gf_cli_usage(&gf_cmd_wait);
        }
    }
    if (all == (argc - optind == 1) || argc - optind > 1)
        return gf_cli_usage(&gf_cmd_wait);
    w.app = all ? NULL : argv[optind];
    w.cluster = flags.cluster;
    if ((w.timeout_ms = gf_cli_wait_timeout(timeout)) < 0)
        return gf_cli_error(GF_CLI_USAGE, "--timeout %s: expected a duration such as 90s or 5m",
                            timeout);
    if (gf_cli_hubapi_init(&api, flags.hub, flags.token_file) < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    return gf_cli_wait_apps(&api, &w, NULL);
}

const struct gf_cli_command gf_cmd_wait = {
    .name = "wait",
    .usage = "wait APP|--all [--cluster C] [--sync] [--health] [--operation] [--timeout D] "
             "[--hub URL]",
    .summary = "wait until an app (or every app) is Synced, Healthy and has no operation running "
               "or requested (the flags pick some; none: all three), as `argocd app wait`\n"
               "exit 0 when reached, 1 as soon as one is Degraded or its operation Failed, 124 "
               "at --timeout (default: none)",
    .run = run_wait,
};
