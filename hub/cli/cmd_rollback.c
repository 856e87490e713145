/* cmd_rollback.c -- gitfleet rollback APP --cluster C: back to an earlier synced state */
#include "appwait.h"
#include "cli.h"
#include "hubapi.h"

#include "gitfleet/error.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int run_rollback(int argc, char **argv)
{
    static const struct option longopts[] = {{"hub", required_argument, NULL, 'H'},
                                             {"token-file", required_argument, NULL, 't'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"cluster", required_argument, NULL, 'c'},
                                             {"to", required_argument, NULL, 'r'},
                                             {"prune", no_argument, NULL, 'p'},
                                             {"wait", no_argument, NULL, 'w'},
                                             {"timeout", required_argument, NULL, 'T'},
                                             {NULL, 0, NULL, 0}};
    struct gf_cli_hub_flags flags = {.output = "table"};
    const char *to = NULL, *timeout = NULL;
    struct gf_cli_hubapi api;
    int prune = 0, wait = 0, c, rc;
    char path[600];
    json_t *doc = NULL;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            to = optarg;
            break;
        case 'p':
            prune = 1;
            break;
        case 'w':
            wait = 1;
            break;
        case 'T':
            timeout = optarg;
            break;
        default:
            if (!gf_cli_hub_flag(&flags, c, optarg))
                return gf_cli_usage(&gf_cmd_rollback);
        }
    }
    const char *cluster = flags.cluster, *output = flags.output;
    if (argc - optind != 1 || cluster == NULL || !gf_cli_output_known(output))
        return gf_cli_usage(&gf_cmd_rollback);
    const char *app = argv[optind];
    int64_t timeout_ms = gf_cli_wait_timeout(timeout);
    if (timeout_ms < 0)
        return gf_cli_error(GF_CLI_USAGE, "--timeout %s: expected a duration such as 90s or 5m",
                            timeout);
    json_t *body = json_pack("{s:s, s:b}", "cluster", cluster, "prune", prune);
    if (to)
        json_object_set_new(body, "to", json_string(to));
    char *escaped = curl_easy_escape(NULL, app, 0);
    snprintf(path, sizeof(path), "/api/v1/apps/%s/rollback", escaped ? escaped : app);
    curl_free(escaped);
    rc = gf_cli_hubapi_init(&api, flags.hub, flags.token_file);
    if (rc == 0)
        rc = gf_cli_hubapi_call(&api, "POST", path, body, &doc);
    json_decref(body);
    if (rc < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    json_t *state = json_object_get(doc, "to"), *op = json_object_get(doc, "operation");
    json_t *ids = json_pack("[O]", json_object_get(op, "id"));
    if (strcmp(output, "table") == 0)
        printf("rolling %s on %s back to generation %lld (revision %.12s), operation %s;\n"
               "auto-sync of %s on %s is suspended until the app changes in Git or "
               "'gitfleet sync %s --cluster %s'\n",
               app, cluster,
               (long long)json_integer_value(json_object_get(state, "syncedGeneration")),
               json_string_value(json_object_get(state, "revision")),
               json_string_value(json_object_get(op, "id")), app, cluster, app, cluster);
    else
        gf_cli_hubapi_print(json_incref(doc), output);
    json_decref(doc);
    if (wait) {
        /* The rolled-back app differs from Git: it shows OutOfSync, so wait
         * for the operation and health, not for Synced. */
        struct gf_cli_wait w = {.app = app,
                                .cluster = cluster,
                                .ids = ids,
                                .operation = 1,
                                .health = 1,
                                .timeout_ms = timeout_ms,
                                .quiet = strcmp(output, "table") != 0};
        rc = gf_cli_wait_apps(&api, &w, NULL);
    }
    json_decref(ids);
    return wait ? rc : GF_CLI_OK;
}

const struct gf_cli_command gf_cmd_rollback = {
    .name = "rollback",
    .usage = "rollback APP --cluster C [--to GENERATION|REVISION] [--prune] [--wait] "
             "[--timeout D] [-o FORMAT] [--hub URL]",
    .summary = "re-apply an earlier successfully synced state of APP on cluster C (by default "
               "the one before the current; `gitfleet history APP` lists them)\n"
               "As in Argo CD, automated sync of APP on C is suspended until the app changes "
               "in Git or `gitfleet sync APP`. The GitOps way stays first: git revert.",
    .run = run_rollback,
};
