/* cmd_apps.c -- gitfleet apps: which apps each cluster gets from the fleet repository, and why */
#include "cli.h"
#include "repo.h"

#include "gitfleet/error.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

struct apps_args {
    struct gf_cli_repo_options repo;
    const char *cluster, *output;
};

static int parse_args(struct apps_args *a, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"repo", required_argument, NULL, 'r'},     {"cluster", required_argument, NULL, 'c'},
        {"revision", required_argument, NULL, 'v'}, {"output", required_argument, NULL, 'o'},
        {"repo-url", required_argument, NULL, 'u'}, {"cache-dir", required_argument, NULL, 'd'},
        {"apps-dir", required_argument, NULL, 'p'}, {NULL, 0, NULL, 0}};
    int c;

    memset(a, 0, sizeof(*a));
    a->output = "table";
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            a->repo.location = optarg;
            break;
        case 'c':
            a->cluster = optarg;
            break;
        case 'v':
            a->repo.revision = optarg;
            break;
        case 'o':
            a->output = optarg;
            break;
        case 'u':
            a->repo.repo_url = optarg;
            break;
        case 'd':
            a->repo.cache_dir = optarg;
            break;
        case 'p':
            a->repo.apps_dir = optarg;
            break;
        default:
            return -1;
        }
    }
    if (optind != argc || a->repo.location == NULL)
        return -1;
    return strcmp(a->output, "table") == 0 || strcmp(a->output, "json") == 0 ? 0 : -1;
}

static json_t *app_json(const struct hub_app *app)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "cluster", app->cluster, "name",
                          app->name, "namespace", app->namespace ? app->namespace : "", "project",
                          app->project ? app->project : "", "path", app->path ? app->path : "",
                          "targetRevision", app->target_revision ? app->target_revision : "",
                          "file", app->file, "origin", app->origin);

    if (app->error != NULL)
        json_object_set_new(j, "error", json_string(app->error));
    return j;
}

static const char *or_dash(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : "-";
}

/* Column widths that fit the longest cluster, app, namespace and path. */
struct widths {
    int cluster, app, ns, path;
};

static void widen(int *w, const char *s)
{
    int n = (int)strlen(or_dash(s));
    if (n > *w)
        *w = n;
}

static void print_row(const struct widths *w, const struct hub_app *app)
{
    printf("%-*s  %-*s  %-*s  %-*s  %s%s%s\n", w->cluster, or_dash(app->cluster), w->app,
           or_dash(app->name), w->ns, or_dash(app->namespace), w->path, or_dash(app->path),
           app->origin, app->error ? "  ERROR: " : "", app->error ? app->error : "");
}

static int selected(const struct apps_args *a, const struct hub_app *app)
{
    return a->cluster == NULL || strcmp(app->cluster, a->cluster) == 0;
}

static void print_table(const struct hub_fleet *f, const struct apps_args *a)
{
    struct widths w = {7, 3, 9, 4}; /* the headers */

    for (size_t i = 0; i < f->n_apps; i++)
        if (selected(a, &f->apps[i])) {
            widen(&w.cluster, f->apps[i].cluster);
            widen(&w.app, f->apps[i].name);
            widen(&w.ns, f->apps[i].namespace);
            widen(&w.path, f->apps[i].path);
        }
    printf("%-*s  %-*s  %-*s  %-*s  %s\n", w.cluster, "CLUSTER", w.app, "APP", w.ns, "NAMESPACE",
           w.path, "PATH", "WHY");
    for (size_t i = 0; i < f->n_apps; i++)
        if (selected(a, &f->apps[i]))
            print_row(&w, &f->apps[i]);
}

static int list_apps(const struct gf_cli_repo *repo, const struct apps_args *a)
{
    const struct hub_fleet *f = repo->fleet;
    size_t errors = 0;

    for (size_t i = 0; i < f->n_apps; i++)
        errors += selected(a, &f->apps[i]) && f->apps[i].error != NULL;
    if (strcmp(a->output, "table") == 0) {
        print_table(f, a);
    } else {
        json_t *list = json_array();
        for (size_t i = 0; i < f->n_apps; i++)
            if (selected(a, &f->apps[i]))
                json_array_append_new(list, app_json(&f->apps[i]));
        json_dumpf(list, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(list);
    }
    return errors > 0 ? GF_CLI_FAIL : GF_CLI_OK;
}

static int run_apps(int argc, char **argv)
{
    struct apps_args a;
    struct gf_cli_repo repo;
    int rc;

    if (parse_args(&a, argc, argv) < 0)
        return gf_cli_usage(&gf_cmd_apps);
    if (gf_cli_repo_open(&repo, &a.repo) < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    if (a.cluster != NULL && hub_fleet_cluster(repo.fleet, a.cluster) == NULL) {
        rc = gf_cli_error(GF_CLI_FAIL, "no cluster named '%s' in %s (clusters: %s)", a.cluster,
                          a.repo.location, gf_cli_repo_cluster_names(&repo));
    } else {
        size_t problems = gf_cli_repo_print_problems(&repo);
        rc = list_apps(&repo, &a);
        if (problems > 0)
            rc = GF_CLI_FAIL;
    }
    gf_cli_repo_close(&repo);
    return rc;
}

const struct gf_cli_command gf_cmd_apps = {
    .name = "apps",
    .usage = "apps --repo PATH_OR_URL [--cluster NAME] [--revision REV] [-o table|json]",
    .summary = "list the apps each cluster gets from the fleet repo, and which generator and "
               "labels gave them",
    .run = run_apps,
};
