/* cmd_audit.c -- gitfleet audit: the hub's audit log of mutating calls and webhooks */
#include "cli.h"
#include "hubapi.h"
#include "table.h"

#include "gitfleet/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s && s[0] ? s : "-";
}

static int run_audit(int argc, char **argv)
{
    struct gf_cli_hub_flags flags;
    struct gf_cli_hubapi api;
    char path[128];
    json_t *doc = NULL, *row;
    size_t i;

    if (gf_cli_hubapi_flags(&gf_cmd_audit, &flags, argc, argv) != argc)
        return gf_cli_usage(&gf_cmd_audit);
    if (flags.limit && strspn(flags.limit, "0123456789") != strlen(flags.limit))
        return gf_cli_error(GF_CLI_USAGE, "--limit: expected a number");
    snprintf(path, sizeof(path), "/api/v1/audit?limit=%s", flags.limit ? flags.limit : "100");
    if (gf_cli_hubapi_init(&api, flags.hub, flags.token_file) < 0 ||
        gf_cli_hubapi_call(&api, "GET", path, NULL, &doc) < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    if (strcmp(flags.output, "table") != 0)
        return gf_cli_hubapi_print(doc, flags.output);
    struct gf_cli_table *t = gf_cli_table_new(6);
    gf_cli_table_row(t, "TIME", "WHO", "CALL", "STATUS", "DETAIL", "MESSAGE");
    json_array_foreach(json_object_get(doc, "audit"), i, row)
    {
        char when[64], call[1100], status[16];
        time_t s = (time_t)(json_integer_value(json_object_get(row, "time")) / 1000);
        struct tm tm;
        gmtime_r(&s, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        snprintf(call, sizeof(call), "%s %s", str(row, "method"), str(row, "path"));
        snprintf(status, sizeof(status), "%d",
                 (int)json_integer_value(json_object_get(row, "status")));
        gf_cli_table_row(t, when, str(row, "who"), call, status, str(row, "detail"),
                         str(row, "message"));
    }
    gf_cli_table_print(t, stdout);
    gf_cli_table_free(t);
    json_decref(doc);
    return GF_CLI_OK;
}

const struct gf_cli_command gf_cmd_audit = {
    .name = "audit",
    .usage = "audit [--limit N] [-o table|json|yaml] [--hub URL] [--token-file F]",
    .summary = "the hub's audit log, newest first: who (the token's name) called what, when, "
               "and the result (admin token needed)",
    .run = run_audit,
    .hub_flags = GF_CLI_TAKES_LIMIT,
};
