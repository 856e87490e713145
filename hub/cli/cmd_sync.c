/* cmd_sync.c -- gitfleet sync: fetch and render now; with an app, ask its agents to sync it */
#include "appwait.h"
#include "cli.h"
#include "hubapi.h"

#include "gitfleet/error.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sync_args {
    const char *hub, *token_file, *output, *allow_prune, *selector, *timeout;
    json_t *clusters;  /* --cluster, repeatable */
    json_t *resources; /* --resource, repeatable */
    int prune, dry_run, force, wait;
};

/* --resource [GROUP/]KIND/NAME or [GROUP:]KIND:NAME (Argo CD's form), with
 * NAMESPACE/NAME allowed as the name part in the slash form: "Deployment/web",
 * "apps/Deployment/web", "apps:Deployment:web". */
static json_t *parse_resource(const char *text)
{
    char buf[512], *parts[4];
    int n = 0;
    const char *sep = strchr(text, ':') ? ":" : "/";

    snprintf(buf, sizeof(buf), "%s", text);
    for (char *p = strtok(buf, sep); p && n < 4; p = strtok(NULL, sep))
        parts[n++] = p;
    if (n == 2)
        return json_pack("{s:s, s:s, s:s, s:s}", "group", "", "kind", parts[0], "namespace", "",
                         "name", parts[1]);
    if (n == 3)
        return json_pack("{s:s, s:s, s:s, s:s}", "group", parts[0], "kind", parts[1], "namespace",
                         "", "name", parts[2]);
    return NULL;
}

static int parse(struct sync_args *a, int argc, char **argv)
{
    static const struct option longopts[] = {{"hub", required_argument, NULL, 'H'},
                                             {"token-file", required_argument, NULL, 't'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"cluster", required_argument, NULL, 'c'},
                                             {"selector", required_argument, NULL, 'l'},
                                             {"allow-prune", required_argument, NULL, 'a'},
                                             {"prune", no_argument, NULL, 'p'},
                                             {"dry-run", no_argument, NULL, 'd'},
                                             {"force", no_argument, NULL, 'f'},
                                             {"resource", required_argument, NULL, 'r'},
                                             {"wait", no_argument, NULL, 'w'},
                                             {"timeout", required_argument, NULL, 'T'},
                                             {NULL, 0, NULL, 0}};
    int c;
    json_t *r;

    a->output = "table";
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:l:", longopts, NULL)) != -1) {
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
        case 'c':
            json_array_append_new(a->clusters, json_string(optarg));
            break;
        case 'l':
            a->selector = optarg;
            break;
        case 'a':
            a->allow_prune = optarg;
            break;
        case 'p':
            a->prune = 1;
            break;
        case 'd':
            a->dry_run = 1;
            break;
        case 'f':
            a->force = 1;
            break;
        case 'w':
            a->wait = 1;
            break;
        case 'T':
            a->timeout = optarg;
            break;
        case 'r':
            if ((r = parse_resource(optarg)) == NULL) {
                gf_cli_error(GF_CLI_USAGE, "--resource %s: expected KIND/NAME or GROUP/KIND/NAME",
                             optarg);
                return -1;
            }
            json_array_append_new(a->resources, r);
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

/* `gitfleet sync` without an app: the hub fetches and renders now. */
static int sync_fleet(struct sync_args *a, struct gf_cli_hubapi *api)
{
    const char *cluster = json_string_value(json_array_get(a->clusters, 0));
    json_t *body = json_object(), *doc = NULL;
    int error;

    if (a->allow_prune)
        json_object_set_new(body, "allowPrune", json_string(a->allow_prune));
    if (a->allow_prune && cluster)
        json_object_set_new(body, "cluster", json_string(cluster));
    error = gf_cli_hubapi_call(api, "POST", "/api/v1/sync", body, &doc);
    json_decref(body);
    if (error < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    if (a->allow_prune)
        printf("allowed the held prunes of %s for the next 15 minutes\n", a->allow_prune);
    if (strcmp(a->output, "table") != 0)
        return gf_cli_hubapi_print(doc, a->output);
    printf("rendered revision %s\n", json_string_value(json_object_get(doc, "revision")));
    /* Rendering is fleet-wide; --cluster shows where that cluster stands. */
    if (cluster) {
        char path[300];
        json_t *status = NULL;
        snprintf(path, sizeof(path), "/api/v1/status/%s", cluster);
        if (gf_cli_hubapi_call(api, "GET", path, NULL, &status) < 0) {
            json_decref(doc);
            return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
        }
        json_t *g =
            json_object_get(json_array_get(json_object_get(status, "clusters"), 0), "generation");
        printf("cluster %s: generation %lld desired, %lld applied\n", cluster,
               (long long)json_integer_value(json_object_get(g, "desired")),
               (long long)json_integer_value(json_object_get(g, "applied")));
        json_decref(status);
    }
    json_decref(doc);
    return GF_CLI_OK;
}

/* The dry run's plan (or the operation's results) of each request. */
static void print_operations(const json_t *rows, const json_t *ids)
{
    size_t i, j, k;
    json_t *row, *op, *id;

    json_array_foreach(ids, k, id) json_array_foreach(rows, i, row)
        json_array_foreach(json_object_get(row, "operations"), j, op)
    {
        if (strcmp(json_string_value(json_object_get(op, "id")), json_string_value(id)) == 0 &&
            json_is_object(json_object_get(op, "state")))
            gf_cli_print_results(json_string_value(json_object_get(op, "cluster")),
                                 json_object_get(op, "state"));
    }
}

/* Ask the agents of the app's clusters to sync it; with --wait (or
 * --dry-run, whose answer is the plan) wait for the result. */
static int sync_app(struct sync_args *a, struct gf_cli_hubapi *api, const char *app)
{
    char path[600], *escaped = curl_easy_escape(NULL, app, 0);
    json_t *body, *doc = NULL, *ids = json_array(), *op, *rows = NULL;
    int64_t timeout = gf_cli_wait_timeout(a->timeout);
    size_t i;
    int rc;

    if (timeout < 0)
        return gf_cli_error(GF_CLI_USAGE, "--timeout %s: expected a duration such as 90s or 5m",
                            a->timeout);
    body = json_pack("{s:b, s:b, s:b}", "prune", a->prune, "dryRun", a->dry_run, "force", a->force);
    if (json_array_size(a->clusters) > 0)
        json_object_set(body, "clusters", a->clusters);
    if (a->selector)
        json_object_set_new(body, "selector", json_string(a->selector));
    if (json_array_size(a->resources) > 0)
        json_object_set(body, "resources", a->resources);
    snprintf(path, sizeof(path), "/api/v1/apps/%s/sync", escaped ? escaped : app);
    curl_free(escaped);
    rc = gf_cli_hubapi_call(api, "POST", path, body, &doc);
    json_decref(body);
    if (rc < 0) {
        json_decref(ids);
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    }
    json_array_foreach(json_object_get(doc, "operations"), i, op)
    {
        json_array_append(ids, json_object_get(op, "id"));
        if (strcmp(a->output, "table") == 0)
            printf("%ssync of %s requested on %s (operation %s)\n", a->dry_run ? "dry-run " : "",
                   app, json_string_value(json_object_get(op, "cluster")),
                   json_string_value(json_object_get(op, "id")));
    }
    json_array_foreach(json_object_get(doc, "released"), i, op) if (strcmp(a->output, "table") == 0)
        printf("%s: the rollback of %s ends; auto-sync resumes\n", json_string_value(op), app);
    if (strcmp(a->output, "table") != 0 && !a->wait && !a->dry_run) {
        json_decref(ids);
        return gf_cli_hubapi_print(doc, a->output);
    }
    json_decref(doc);
    if (!a->wait && !a->dry_run) {
        json_decref(ids);
        return GF_CLI_OK;
    }
    struct gf_cli_wait w = {.app = app,
                            .ids = ids,
                            .operation = 1,
                            .sync = a->wait && !a->dry_run,
                            .health = a->wait && !a->dry_run,
                            .timeout_ms = timeout ? timeout : (a->wait ? 0 : 120000),
                            .quiet = strcmp(a->output, "table") != 0 || a->dry_run};
    if (json_array_size(a->clusters) == 1)
        w.cluster = json_string_value(json_array_get(a->clusters, 0));
    rc = gf_cli_wait_apps(api, &w, &rows);
    if (strcmp(a->output, "table") == 0)
        print_operations(rows, ids);
    else if (rows)
        gf_cli_hubapi_print(json_pack("{s:s, s:O}", "app", app, "clusters", rows), a->output);
    json_decref(rows);
    json_decref(ids);
    return rc;
}

static int run_sync(int argc, char **argv)
{
    struct sync_args a = {.clusters = json_array(), .resources = json_array()};
    struct gf_cli_hubapi api;
    int first = parse(&a, argc, argv), rc;

    if (first < 0 || argc - first > 1) {
        rc = gf_cli_usage(&gf_cmd_sync);
    } else if (argc - first == 0 && (a.prune || a.dry_run || a.force || a.wait || a.timeout ||
                                     a.selector || json_array_size(a.resources) > 0)) {
        rc = gf_cli_error(GF_CLI_USAGE, "--prune, --dry-run, --force, --resource, --selector, "
                                        "--wait and --timeout sync one app: gitfleet sync APP ...");
    } else if (argc - first == 1 && a.allow_prune) {
        rc = gf_cli_error(GF_CLI_USAGE, "--allow-prune APP goes without an app argument (or "
                                        "use: gitfleet sync APP --prune)");
    } else if (gf_cli_hubapi_init(&api, a.hub, a.token_file) < 0) {
        rc = gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    } else {
        rc = argc - first == 1 ? sync_app(&a, &api, argv[first]) : sync_fleet(&a, &api);
    }
    json_decref(a.clusters);
    json_decref(a.resources);
    return rc;
}

const struct gf_cli_command gf_cmd_sync = {
    .name = "sync",
    .usage = "sync [APP] [--cluster C]... [--selector L] [--prune] [--dry-run] [--force] "
             "[--resource KIND/NAME]... [--wait] [--timeout D] [--allow-prune APP] [-o FORMAT] "
             "[--hub URL] [--token-file F]",
    .summary = "without APP: make the hub fetch and render now (--allow-prune lets an app's held "
               "prunes through)\n"
               "with APP: ask the agents of its clusters (all, --cluster, or --selector "
               "k=v,k!=v) to sync it now, as `argocd app sync`: --prune allows deletions, "
               "--force replaces what cannot be patched, --resource limits the sync to objects; "
               "--dry-run prints what would be applied, pruned and hooked and changes nothing; "
               "--wait waits until it is Synced and Healthy (exit 1 Failed/Degraded, 124 at "
               "--timeout). A sync ends a rollback.",
    .run = run_sync,
};
