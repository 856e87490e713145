/* cmd_app.c -- gitfleet app get APP: one app across clusters, with its operation and objects */
#include "cli.h"
#include "hubapi.h"
#include "table.h"

#include "gitfleet/error.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

static void print_row(const json_t *row)
{
    const json_t *op = json_object_get(row, "operationState");
    const json_t *rb = json_object_get(row, "rolledBack");
    struct gf_cli_table *t = gf_cli_table_new(6);
    size_t i;
    json_t *r;

    printf("cluster %s: %s, %s, revision %.12s%s%s\n", str(row, "cluster"), str(row, "sync"),
           str(row, "health"), str(row, "revision"), str(row, "message")[0] ? "\n  " : "",
           str(row, "message"));
    if (json_is_object(rb))
        printf("  rolled back to generation %lld (revision %.12s); auto-sync suspended: %s\n",
               (long long)json_integer_value(json_object_get(rb, "generation")),
               str(rb, "revision"),
               json_is_true(json_object_get(row, "autoSyncSuspended")) ? "yes" : "no");
    if (json_is_object(op))
        printf("  operation %s%s (%s, %s): %s%s%s\n", str(op, "id")[0] ? str(op, "id") : "auto",
               json_is_true(json_object_get(op, "dryRun")) ? " dry run" : "", str(op, "kind"),
               str(op, "initiatedBy"), str(op, "phase"), str(op, "message")[0] ? ": " : "",
               str(op, "message"));
    json_array_foreach(json_object_get(row, "pendingOperations"), i, r)
        printf("  requested: %s %s%s (%s)\n", str(r, "kind"), str(r, "id"),
               json_is_true(json_object_get(r, "dryRun")) ? " dry run" : "", str(r, "phase"));
    gf_cli_table_row(t, "OBJECT", "NAMESPACE", "SYNC", "HEALTH", "DRIFT", "MESSAGE");
    json_array_foreach(json_object_get(row, "resources"), i, r)
    {
        char object[300], drift[16];
        snprintf(object, sizeof(object), "%s/%s", str(r, "kind"), str(r, "name"));
        snprintf(drift, sizeof(drift), "%zu", json_array_size(json_object_get(r, "drift")));
        gf_cli_table_row(t, object, str(r, "namespace"), str(r, "sync"), str(r, "health"), drift,
                         str(r, "message"));
    }
    if (json_array_size(json_object_get(row, "resources")) > 0)
        gf_cli_table_print(t, stdout);
    gf_cli_table_free(t);
}

static int run_app(int argc, char **argv)
{
    static const struct option longopts[] = {{"hub", required_argument, NULL, 'H'},
                                             {"token-file", required_argument, NULL, 't'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"cluster", required_argument, NULL, 'c'},
                                             {NULL, 0, NULL, 0}};
    struct gf_cli_hub_flags flags = {.output = "table"};
    struct gf_cli_hubapi api;
    char path[800];
    json_t *doc = NULL, *row;
    size_t i;
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        if (!gf_cli_hub_flag(&flags, c, optarg))
            return gf_cli_usage(&gf_cmd_app);
    }
    if (argc - optind != 2 || strcmp(argv[optind], "get") != 0 ||
        !gf_cli_output_known(flags.output))
        return gf_cli_usage(&gf_cmd_app);
    char *app = curl_easy_escape(NULL, argv[optind + 1], 0);
    char *cl = flags.cluster ? curl_easy_escape(NULL, flags.cluster, 0) : NULL;
    snprintf(path, sizeof(path), "/api/v1/apps/%s%s%s", app ? app : "", cl ? "?cluster=" : "",
             cl ? cl : "");
    curl_free(app);
    curl_free(cl);
    if (gf_cli_hubapi_init(&api, flags.hub, flags.token_file) < 0 ||
        gf_cli_hubapi_call(&api, "GET", path, NULL, &doc) < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    if (strcmp(flags.output, "table") != 0)
        return gf_cli_hubapi_print(doc, flags.output);
    printf("app %s\n", str(doc, "app"));
    json_array_foreach(json_object_get(doc, "clusters"), i, row) print_row(row);
    json_decref(doc);
    return GF_CLI_OK;
}

const struct gf_cli_command gf_cmd_app = {
    .name = "app",
    .usage = "app get APP [--cluster C] [-o table|json|yaml] [--hub URL]",
    .summary = "one app across its clusters: sync, health, revision, its current or last "
               "operation, requests waiting, a rollback in force, and its objects",
    .run = run_app,
};
