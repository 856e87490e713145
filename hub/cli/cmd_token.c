/* cmd_token.c -- gitfleet token create|list|revoke: API tokens with roles, through the hub */
#include "cli.h"
#include "hubapi.h"
#include "table.h"

#include "gitfleet/config.h"
#include "gitfleet/error.h"
#include "gitfleet/wire.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct token_args {
    const char *hub, *token_file, *output, *role, *expires;
    char projects[512];
};

static int parse(struct token_args *a, int argc, char **argv)
{
    static const struct option longopts[] = {{"hub", required_argument, NULL, 'H'},
                                             {"token-file", required_argument, NULL, 't'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"role", required_argument, NULL, 'r'},
                                             {"project", required_argument, NULL, 'p'},
                                             {"expires", required_argument, NULL, 'e'},
                                             {NULL, 0, NULL, 0}};
    int c;

    memset(a, 0, sizeof(*a));
    a->output = "table";
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        size_t n = strlen(a->projects);
        switch (c) {
        case 'H':
            a->hub = optarg;
            break;
        case 't':
            a->token_file = optarg;
            break;
        case 'o':
            a->output = optarg;
            break;
        case 'r':
            a->role = optarg;
            break;
        case 'p':
            snprintf(a->projects + n, sizeof(a->projects) - n, "%s%s", n ? "," : "", optarg);
            break;
        case 'e':
            a->expires = optarg;
            break;
        default:
            return -1;
        }
    }
    if (strcmp(a->output, "table") != 0 && strcmp(a->output, "json") != 0 &&
        strcmp(a->output, "yaml") != 0)
        return -1;
    return optind;
}

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

static void when(char *buf, size_t len, json_int_t ms, const char *zero)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms == 0) {
        snprintf(buf, len, "%s", zero);
        return;
    }
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int token_create(struct gf_cli_hubapi *api, const struct token_args *a, const char *name)
{
    int64_t ttl = 0;
    json_t *body, *doc = NULL;

    if (a->role == NULL)
        return gf_cli_error(GF_CLI_USAGE, "token create needs --role admin|viewer|project");
    if (a->expires && gf_duration_parse(&ttl, a->expires) < 0)
        return gf_cli_error(GF_CLI_USAGE, "--expires: %s", gf_error_last());
    body = json_pack("{s:s, s:s, s:s, s:I}", "name", name, "role", a->role, "projects", a->projects,
                     "expiresUnixMs", (json_int_t)(ttl ? gf_wire_now_ms() + ttl : 0));
    int error = gf_cli_hubapi_call(api, "POST", "/api/v1/tokens", body, &doc);
    json_decref(body);
    if (error < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    if (strcmp(a->output, "table") != 0)
        return gf_cli_hubapi_print(doc, a->output);
    char until[64];
    when(until, sizeof(until), json_integer_value(json_object_get(doc, "expiresUnixMs")),
         "never expires");
    printf("token %s (role %s%s%s, %s%s); shown once, keep it now:\n%s\n", name, a->role,
           a->projects[0] ? ": " : "", a->projects, ttl ? "valid until " : "", until,
           str(doc, "token"));
    json_decref(doc);
    return GF_CLI_OK;
}

static int token_list(struct gf_cli_hubapi *api, const struct token_args *a)
{
    json_t *doc = NULL, *t;
    size_t i;

    if (gf_cli_hubapi_call(api, "GET", "/api/v1/tokens", NULL, &doc) < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    if (strcmp(a->output, "table") != 0)
        return gf_cli_hubapi_print(doc, a->output);
    struct gf_cli_table *tab = gf_cli_table_new(6);
    gf_cli_table_row(tab, "NAME", "ROLE", "PROJECTS", "EXPIRES", "LAST USED", "STATE");
    json_array_foreach(json_object_get(doc, "tokens"), i, t)
    {
        char exp[64], used[64];
        json_int_t e = json_integer_value(json_object_get(t, "expiresUnixMs"));
        int revoked = json_integer_value(json_object_get(t, "revokedUnixMs")) != 0;
        when(exp, sizeof(exp), e, "never");
        when(used, sizeof(used), json_integer_value(json_object_get(t, "lastUsedUnixMs")), "never");
        gf_cli_table_row(tab, str(t, "name"), str(t, "role"),
                         str(t, "projects")[0] ? str(t, "projects") : "-", exp, used,
                         revoked                     ? "revoked"
                         : e && e < gf_wire_now_ms() ? "expired"
                                                     : "active");
    }
    gf_cli_table_print(tab, stdout);
    gf_cli_table_free(tab);
    json_decref(doc);
    return GF_CLI_OK;
}

static int run_token(int argc, char **argv)
{
    struct token_args a;
    struct gf_cli_hubapi api;
    char path[300];
    int first = parse(&a, argc, argv);

    if (first < 0 || first >= argc)
        return gf_cli_usage(&gf_cmd_token);
    const char *verb = argv[first];
    int args = argc - first - 1;
    if (!((strcmp(verb, "list") == 0 && args == 0) ||
          ((strcmp(verb, "create") == 0 || strcmp(verb, "revoke") == 0) && args == 1)))
        return gf_cli_usage(&gf_cmd_token);
    if (strcmp(verb, "create") != 0 && (a.role || a.projects[0] || a.expires))
        return gf_cli_error(GF_CLI_USAGE, "--role, --project and --expires go with create");
    if (gf_cli_hubapi_init(&api, a.hub, a.token_file) < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    if (strcmp(verb, "create") == 0)
        return token_create(&api, &a, argv[first + 1]);
    if (strcmp(verb, "list") == 0)
        return token_list(&api, &a);
    snprintf(path, sizeof(path), "/api/v1/tokens/%s", argv[first + 1]);
    if (gf_cli_hubapi_call(&api, "DELETE", path, NULL, NULL) < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    printf("token %s revoked\n", argv[first + 1]);
    return GF_CLI_OK;
}

const struct gf_cli_command gf_cmd_token = {
    .name = "token",
    .usage = "token create NAME --role admin|viewer|project [--project P]... [--expires 30d] | "
             "token list | token revoke NAME [-o json] [--hub URL] [--token-file F]",
    .summary = "API tokens with roles (admin token needed): the secret is shown once\n"
               "admin: everything; viewer: reads; project: reads, and sync/rollback of the\n"
               "apps of its projects (docs/security.md)",
    .run = run_token,
};
