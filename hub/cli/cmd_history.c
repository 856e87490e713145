/* cmd_history.c -- gitfleet history [APP]: sync results the agents reported, newest first */
#include "cli.h"
#include "hubapi.h"
#include "table.h"

#include "gitfleet/error.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

/* Append "&key=value" (URL-escaped) to a query string. */
static void add_param(char *buf, size_t len, const char *key, const char *value)
{
    char *escaped = curl_easy_escape(NULL, value, 0);
    size_t used = strlen(buf);

    snprintf(buf + used, len - used, "%s%s=%s", strchr(buf, '?') ? "&" : "?", key,
             escaped ? escaped : "");
    curl_free(escaped);
}

static void print_history(const json_t *rows)
{
    struct gf_cli_table *t = gf_cli_table_new(7);
    size_t i;
    json_t *r;

    gf_cli_table_row(t, "TIME", "CLUSTER", "APP", "GENERATION", "REVISION", "RESULT", "MESSAGE");
    json_array_foreach(rows, i, r)
    {
        char when[32], gen[32], rev[13];
        time_t secs = (time_t)(json_integer_value(json_object_get(r, "time")) / 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        snprintf(gen, sizeof(gen), "%lld",
                 (long long)json_integer_value(json_object_get(r, "generation")));
        snprintf(rev, sizeof(rev), "%.12s", str(r, "revision"));
        gf_cli_table_row(t, when, str(r, "cluster"), str(r, "app"), gen, rev, str(r, "result"),
                         str(r, "message"));
    }
    gf_cli_table_print(t, stdout);
    gf_cli_table_free(t);
}

/* The states of an app one may roll back to, per cluster. */
static void print_states(const json_t *doc)
{
    struct gf_cli_table *t = gf_cli_table_new(6);
    size_t i, j, n = 0;
    json_t *c, *st;

    gf_cli_table_row(t, "CLUSTER", "GENERATION", "REVISION", "SYNCED AT", "STATE", "HASH");
    json_array_foreach(json_object_get(doc, "clusters"), i, c)
    {
        json_array_foreach(json_object_get(c, "states"), j, st)
        {
            char gen[32], rev[13], when[32], hash[13], state[64] = "";
            time_t secs = (time_t)(json_integer_value(json_object_get(st, "syncedAt")) / 1000);
            struct tm tm;
            gmtime_r(&secs, &tm);
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
            snprintf(gen, sizeof(gen), "%lld",
                     (long long)json_integer_value(json_object_get(st, "syncedGeneration")));
            snprintf(rev, sizeof(rev), "%.12s", str(st, "revision"));
            snprintf(hash, sizeof(hash), "%.12s", str(st, "hash"));
            snprintf(state, sizeof(state), "%s%s%s",
                     json_is_true(json_object_get(st, "current")) ? "running" : "",
                     json_is_true(json_object_get(st, "current")) &&
                             json_is_true(json_object_get(st, "git"))
                         ? ", "
                         : "",
                     json_is_true(json_object_get(st, "git")) ? "Git" : "");
            gf_cli_table_row(t, str(c, "cluster"), gen, rev, when, state, hash);
            n++;
        }
    }
    if (n > 0) {
        printf("states of %s one may roll back to (gitfleet rollback %s --cluster C --to "
               "GENERATION):\n",
               str(doc, "app"), str(doc, "app"));
        gf_cli_table_print(t, stdout);
        printf("\n");
    }
    gf_cli_table_free(t);
}

static int run_history(int argc, char **argv)
{
    struct gf_cli_hub_flags flags;
    struct gf_cli_hubapi api;
    char path[1024] = "/api/v1/history";
    json_t *doc = NULL;
    int first = gf_cli_hubapi_flags(&gf_cmd_history, &flags, argc, argv);

    if (first < 0 || argc - first > 1)
        return gf_cli_usage(&gf_cmd_history);
    if (argc - first == 1)
        add_param(path, sizeof(path), "app", argv[first]);
    if (flags.cluster)
        add_param(path, sizeof(path), "cluster", flags.cluster);
    if (flags.limit)
        add_param(path, sizeof(path), "limit", flags.limit);
    if (gf_cli_hubapi_init(&api, flags.hub, flags.token_file) < 0 ||
        gf_cli_hubapi_call(&api, "GET", path, NULL, &doc) < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    json_t *states = NULL;
    if (argc - first == 1) {
        /* An app Git no longer gives any cluster has no states: only results. */
        char *app = curl_easy_escape(NULL, argv[first], 0);
        snprintf(path, sizeof(path), "/api/v1/apps/%s/history", app ? app : "");
        curl_free(app);
        if (flags.cluster)
            add_param(path, sizeof(path), "cluster", flags.cluster);
        int error = gf_cli_hubapi_call(&api, "GET", path, NULL, &states);
        if (error < 0 && error != GF_ENOTFOUND) {
            json_decref(doc);
            return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
        }
    }
    if (strcmp(flags.output, "table") != 0) {
        if (states)
            json_object_set(doc, "states", json_object_get(states, "clusters"));
        json_decref(states);
        return gf_cli_hubapi_print(doc, flags.output);
    }
    if (states)
        print_states(states);
    print_history(json_object_get(doc, "history"));
    json_decref(states);
    json_decref(doc);
    return GF_CLI_OK;
}

const struct gf_cli_command gf_cmd_history = {
    .name = "history",
    .usage = "history [APP] [--cluster C] [--limit N] [-o table|json|yaml] [--hub URL]",
    .summary = "sync results per app and cluster, newest first; with APP, first the states of "
               "the app one may roll back to (gitfleet rollback)",
    .run = run_history,
    .hub_flags = GF_CLI_TAKES_CLUSTER | GF_CLI_TAKES_LIMIT,
};
