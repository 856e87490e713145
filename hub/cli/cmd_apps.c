/* cmd_apps.c -- gitfleet apps: which apps each cluster gets, and why (from a repo or the hub) */
#include "cli.h"
#include "hubapi.h"
#include "repo.h"
#include "table.h"

#include "gitfleet/error.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

struct apps_args {
    struct gf_cli_repo_options repo;
    const char *cluster, *output;
    const char *hub, *token_file; /* without --repo, ask the hub */
};

static int parse_args(struct apps_args *a, int argc, char **argv)
{
    static const struct option longopts[] = {GF_CLI_REPO_LONGOPTS,
                                             {"cluster", required_argument, NULL, 'c'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"hub", required_argument, NULL, 'H'},
                                             {"token-file", required_argument, NULL, 't'},
                                             {NULL, 0, NULL, 0}};
    int c;

    memset(a, 0, sizeof(*a));
    a->output = "table";
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        if (gf_cli_repo_option(&a->repo, c, optarg))
            continue;
        switch (c) {
        case 'c':
            a->cluster = optarg;
            break;
        case 'o':
            a->output = optarg;
            break;
        case 'H':
            a->hub = optarg;
            break;
        case 't':
            a->token_file = optarg;
            break;
        default:
            return -1;
        }
    }
    if (optind != argc)
        return -1;
    return strcmp(a->output, "table") == 0 || strcmp(a->output, "json") == 0 ? 0 : -1;
}

static const char *field(const json_t *app, const char *key)
{
    const char *s = json_string_value(json_object_get(app, key));
    return s != NULL && s[0] != '\0' ? s : "-";
}

/* Print the apps (hub_fleet_app_json objects) as a table or as JSON. */
static void print_apps(const json_t *apps, const char *output)
{
    size_t i;
    json_t *app;

    if (strcmp(output, "json") == 0) {
        json_dumpf(apps, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        return;
    }
    struct gf_cli_table *t = gf_cli_table_new(6);
    gf_cli_table_row(t, "CLUSTER", "APP", "PROJECT", "NAMESPACE", "PATH", "WHY");
    json_array_foreach(apps, i, app)
    {
        char why[1024];
        snprintf(why, sizeof(why), "%s%s%s", field(app, "origin"),
                 json_object_get(app, "error") ? "  ERROR: " : "",
                 json_object_get(app, "error") ? field(app, "error") : "");
        gf_cli_table_row(t, field(app, "cluster"), field(app, "name"), field(app, "project"),
                         field(app, "namespace"), field(app, "path"), why);
    }
    gf_cli_table_print(t, stdout);
    gf_cli_table_free(t);
}

/* The apps of a local or remote repository, rendered nowhere: only the model. */
static int apps_from_repo(const struct apps_args *a)
{
    struct gf_cli_repo repo;
    json_t *list = json_array();
    size_t errors = 0;
    int rc = GF_CLI_OK;

    if (gf_cli_repo_open(&repo, &a->repo) < 0) {
        json_decref(list);
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    }
    if (a->cluster != NULL && hub_fleet_cluster(repo.fleet, a->cluster) == NULL) {
        rc = gf_cli_error(GF_CLI_FAIL, "no cluster named '%s' in %s (clusters: %s)", a->cluster,
                          a->repo.location, gf_cli_repo_cluster_names(&repo));
    } else {
        size_t problems = gf_cli_repo_print_problems(&repo);
        for (size_t i = 0; i < repo.fleet->n_apps; i++) {
            const struct hub_app *app = &repo.fleet->apps[i];
            if (a->cluster != NULL && strcmp(app->cluster, a->cluster) != 0)
                continue;
            errors += app->error != NULL;
            json_array_append_new(list, hub_fleet_app_json(app));
        }
        print_apps(list, a->output);
        rc = problems > 0 || errors > 0 ? GF_CLI_FAIL : GF_CLI_OK;
    }
    json_decref(list);
    gf_cli_repo_close(&repo);
    return rc;
}

/* The apps the hub rendered at its current revision. */
static int apps_from_hub(const struct apps_args *a)
{
    struct gf_cli_hubapi api;
    char path[300] = "/api/v1/apps";
    json_t *doc = NULL;

    if (a->cluster)
        snprintf(path, sizeof(path), "/api/v1/apps?cluster=%s", a->cluster);
    if (gf_cli_hubapi_init(&api, a->hub, a->token_file) < 0 ||
        gf_cli_hubapi_call(&api, "GET", path, NULL, &doc) < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    print_apps(json_object_get(doc, "apps"), a->output);
    json_decref(doc);
    return GF_CLI_OK;
}

static int run_apps(int argc, char **argv)
{
    struct apps_args a;

    if (parse_args(&a, argc, argv) < 0)
        return gf_cli_usage(&gf_cmd_apps);
    return a.repo.location ? apps_from_repo(&a) : apps_from_hub(&a);
}

const struct gf_cli_command gf_cmd_apps = {
    .name = "apps",
    .usage = "apps [--repo PATH_OR_URL [--revision REV] | --hub URL] [--cluster NAME] "
             "[-o table|json]",
    .summary = "list the apps each cluster gets from the fleet repo, and which generator and "
               "labels gave them",
    .run = run_apps,
};
