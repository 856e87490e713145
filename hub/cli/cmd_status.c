/* cmd_status.c -- gitfleet status [CLUSTER]: the fleet, or one cluster's apps, from the hub */
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

static const char *short_rev(const char *rev, char buf[13])
{
    snprintf(buf, 13, "%.12s", rev);
    return buf;
}

/* One line under the table: "10000 clusters: 9990 Synced, 10 OutOfSync, ...". */
static void print_summary(const json_t *status)
{
    static const char *const syncs[] = {"Synced", "OutOfSync", "Unknown"};
    static const char *const healths[] = {"Healthy",   "Progressing", "Degraded",
                                          "Suspended", "Missing",     "Unknown"};
    size_t by_sync[3] = {0}, by_health[6] = {0}, i, n = 0;
    json_t *c;

    json_array_foreach(json_object_get(status, "clusters"), i, c)
    {
        n++;
        for (size_t k = 0; k < 3; k++)
            by_sync[k] += strcmp(str(c, "sync"), syncs[k]) == 0;
        for (size_t k = 0; k < 6; k++)
            by_health[k] += strcmp(str(c, "health"), healths[k]) == 0;
    }
    printf("\n%zu cluster%s:", n, n == 1 ? "" : "s");
    for (size_t k = 0; k < 3; k++)
        if (by_sync[k])
            printf(" %zu %s,", by_sync[k], syncs[k]);
    printf(" health");
    const char *sep = " ";
    for (size_t k = 0; k < 6; k++)
        if (by_health[k]) {
            printf("%s%zu %s", sep, by_health[k], healths[k]);
            sep = ", ";
        }
    printf("%s\n", n ? "" : " -");
}

static void print_fleet(const json_t *status)
{
    struct gf_cli_table *t = gf_cli_table_new(9);
    size_t i, j;
    json_t *c, *app;

    gf_cli_table_row(t, "CLUSTER", "JOINED", "CONNECTED", "LAST SEEN", "REVISION", "GENERATION",
                     "APPS", "HEALTH", "MESSAGE");
    json_array_foreach(json_object_get(status, "clusters"), i, c)
    {
        char gen[64], apps[64], rev[13];
        size_t synced = 0, total = json_array_size(json_object_get(c, "apps"));
        json_array_foreach(json_object_get(c, "apps"), j, app) synced +=
            strcmp(str(app, "sync"), "Synced") == 0;
        json_t *g = json_object_get(c, "generation");
        snprintf(gen, sizeof(gen), "%lld/%lld",
                 (long long)json_integer_value(json_object_get(g, "applied")),
                 (long long)json_integer_value(json_object_get(g, "desired")));
        snprintf(apps, sizeof(apps), "%zu/%zu synced", synced, total);
        gf_cli_table_row(
            t, str(c, "name"), json_is_true(json_object_get(c, "joined")) ? "yes" : "no",
            json_is_true(json_object_get(c, "connected")) ? "yes" : "no",
            str(c, "lastSeen")[0] ? str(c, "lastSeen") : "never",
            short_rev(str(c, "revision"), rev), gen, apps, str(c, "health"), str(c, "message"));
    }
    gf_cli_table_print(t, stdout);
    gf_cli_table_free(t);
    print_summary(status);
    if (str(status, "error")[0])
        printf("\nthe hub's last sync failed: %s\n", str(status, "error"));
    json_array_foreach(json_object_get(status, "problems"), i, c)
        printf("%sproblem in the fleet repository: %s\n", i == 0 ? "\n" : "", json_string_value(c));
}

/* Objects that are out of sync or not healthy, with the reason. */
static void print_problem_objects(const json_t *apps)
{
    struct gf_cli_table *t = gf_cli_table_new(6);
    size_t i, j, n = 0;
    json_t *app, *res;

    gf_cli_table_row(t, "APP", "OBJECT", "NAMESPACE", "SYNC", "HEALTH", "MESSAGE");
    json_array_foreach(apps, i, app)
    {
        json_array_foreach(json_object_get(app, "resources"), j, res)
        {
            if (strcmp(str(res, "sync"), "Synced") == 0 &&
                strcmp(str(res, "health"), "Healthy") == 0)
                continue;
            char object[300];
            snprintf(object, sizeof(object), "%s/%s", str(res, "kind"), str(res, "name"));
            gf_cli_table_row(t, str(app, "name"), object, str(res, "namespace"), str(res, "sync"),
                             str(res, "health"), str(res, "message"));
            n++;
        }
    }
    if (n > 0) {
        printf("\n");
        gf_cli_table_print(t, stdout);
    }
    gf_cli_table_free(t);
}

static void print_cluster(const json_t *status)
{
    const json_t *c = json_array_get(json_object_get(status, "clusters"), 0);
    struct gf_cli_table *t = gf_cli_table_new(5);
    size_t i;
    json_t *app;
    char rev[13];

    printf("cluster %s: %s, %s, health %s%s%s\n", str(c, "name"),
           json_is_true(json_object_get(c, "joined")) ? "joined" : "not joined",
           json_is_true(json_object_get(c, "connected")) ? "connected" : "not connected",
           str(c, "health"), str(c, "message")[0] ? ": " : "", str(c, "message"));
    gf_cli_table_row(t, "APP", "SYNC", "HEALTH", "REVISION", "MESSAGE");
    json_array_foreach(json_object_get(c, "apps"), i, app)
        gf_cli_table_row(t, str(app, "name"), str(app, "sync"), str(app, "health"),
                         short_rev(str(app, "revision"), rev), str(app, "message"));
    gf_cli_table_print(t, stdout);
    gf_cli_table_free(t);
    print_problem_objects(json_object_get(c, "apps"));
}

/* Every app of every cluster Synced and Healthy (and no hub error)? */
static int all_good(const json_t *status)
{
    size_t i, j;
    json_t *c, *app;

    if (str(status, "error")[0])
        return 0;
    json_array_foreach(json_object_get(status, "clusters"), i, c)
        json_array_foreach(json_object_get(c, "apps"), j, app)
    {
        if (strcmp(str(app, "sync"), "Synced") != 0 || strcmp(str(app, "health"), "Healthy") != 0)
            return 0;
    }
    return 1;
}

static int run_status(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"hub", required_argument, NULL, 'H'},      {"token-file", required_argument, NULL, 't'},
        {"output", required_argument, NULL, 'o'},   {"exit-code", no_argument, NULL, 'e'},
        {"selector", required_argument, NULL, 's'}, {NULL, 0, NULL, 0}};
    struct gf_cli_hub_flags flags = {.output = "table"};
    const char *selector = NULL;
    struct gf_cli_hubapi api;
    char path[8300];
    json_t *status = NULL;
    int exit_code = 0, c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        switch (c) {
        case 'e':
            exit_code = 1;
            break;
        case 's':
            selector = optarg;
            break;
        default:
            if (!gf_cli_hub_flag(&flags, c, optarg))
                return gf_cli_usage(&gf_cmd_status);
        }
    }
    int first = optind;
    const char *output = flags.output;
    if (argc - first > 1 || !gf_cli_output_known(output))
        return gf_cli_usage(&gf_cmd_status);
    if (argc - first == 1 && selector)
        return gf_cli_error(GF_CLI_USAGE, "--selector filters the fleet: give it or a CLUSTER");
    if (argc - first == 1)
        snprintf(path, sizeof(path), "/api/v1/status/%s", argv[first]);
    else if (selector) {
        char *escaped = curl_easy_escape(NULL, selector, 0);
        snprintf(path, sizeof(path), "/api/v1/status?selector=%s", escaped ? escaped : "");
        curl_free(escaped);
    } else
        snprintf(path, sizeof(path), "/api/v1/status");
    if (gf_cli_hubapi_init(&api, flags.hub, flags.token_file) < 0 ||
        gf_cli_hubapi_call(&api, "GET", path, NULL, &status) < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    int good = all_good(status);
    if (strcmp(output, "table") != 0)
        gf_cli_hubapi_print(status, output);
    else {
        if (argc - first == 1)
            print_cluster(status);
        else
            print_fleet(status);
        json_decref(status);
    }
    return exit_code && !good ? GF_CLI_FAIL : GF_CLI_OK;
}

const struct gf_cli_command gf_cmd_status = {
    .name = "status",
    .usage = "status [CLUSTER | --selector LABELS] [--exit-code] [-o table|json|yaml] [--hub URL]",
    .summary = "the fleet's sync and health, or one cluster's apps and objects, from the hub\n"
               "--selector: only the clusters whose labels match (kubectl's syntax)\n"
               "--exit-code: exit 1 unless every app shown is Synced and Healthy (a pipeline's "
               "gate)",
    .run = run_status,
};
