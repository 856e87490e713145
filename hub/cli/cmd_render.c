/* cmd_render.c -- gitfleet render: a cluster's bundle rendered locally from the fleet repository */
#include "cli.h"
#include "repo.h"

#include "gitfleet/error.h"
#include "gitfleet/yaml_emit.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct render_args {
    struct gf_cli_repo_options repo;
    const char *cluster, *app, *output;
    int all;
};

static int parse_args(struct render_args *a, int argc, char **argv)
{
    static const struct option longopts[] = {GF_CLI_REPO_LONGOPTS,
                                             {"cluster", required_argument, NULL, 'c'},
                                             {"app", required_argument, NULL, 'a'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"all", no_argument, NULL, 'A'},
                                             {NULL, 0, NULL, 0}};
    int c;

    memset(a, 0, sizeof(*a));
    a->output = "yaml";
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        if (gf_cli_repo_option(&a->repo, c, optarg))
            continue;
        switch (c) {
        case 'c':
            a->cluster = optarg;
            break;
        case 'a':
            a->app = optarg;
            break;
        case 'o':
            a->output = optarg;
            break;
        case 'A':
            a->all = 1;
            break;
        default:
            return -1;
        }
    }
    if (optind != argc || a->repo.location == NULL || (a->cluster == NULL) == (a->all == 0))
        return -1;
    if (strcmp(a->output, "yaml") != 0 && strcmp(a->output, "json") != 0)
        return -1;
    return (a->all && strcmp(a->output, "json") != 0) || (a->all && a->app) ? -2 : 0;
}

static int print_json(json_t *j)
{
    int rc = json_dumpf(j, stdout, JSON_INDENT(2)) == 0 ? 0 : -1;
    fputc('\n', stdout);
    json_decref(j);
    return rc;
}

static int print_yaml(const struct hub_bundle *b)
{
    json_t *docs = hub_bundle_manifests(b);
    char *text = NULL;
    size_t len = 0;
    int error = gf_yaml_emit_stream(&text, &len, docs);

    json_decref(docs);
    if (error < 0)
        return gf_cli_error(GF_CLI_FAIL, "writing YAML: %s", gf_error_last());
    fwrite(text, 1, len, stdout);
    free(text);
    return 0;
}

/* One line per failed app or conflict; the count of them. */
static size_t report_failures(const struct hub_bundle *b)
{
    for (size_t i = 0; i < b->n_apps; i++)
        if (b->apps[i].error != NULL)
            gf_cli_error(GF_CLI_FAIL, "cluster %s: %s", b->cluster, b->apps[i].error);
    return hub_bundle_failures(b);
}

static int render_one(struct gf_cli_repo *repo, const struct render_args *a)
{
    struct hub_render_ctx ctx;
    struct hub_bundle *b = NULL;
    int rc;

    if (hub_fleet_cluster(repo->fleet, a->cluster) == NULL)
        return gf_cli_error(GF_CLI_FAIL, "no cluster named '%s' in %s (clusters: %s)", a->cluster,
                            a->repo.location, gf_cli_repo_cluster_names(repo));
    gf_cli_repo_render_ctx(&ctx, repo);
    if (hub_render_cluster(&b, &ctx, repo->fleet, a->cluster, a->app) < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    rc = strcmp(a->output, "json") == 0 ? print_json(hub_bundle_json(b)) : print_yaml(b);
    if (report_failures(b) > 0)
        rc = -1;
    hub_bundle_free(b);
    return rc < 0 ? GF_CLI_FAIL : GF_CLI_OK;
}

/* --all renders on a pool of threads; results keep the fleet's order. */
struct render_slots {
    const struct hub_fleet *fleet;
    json_t **json;  /* per cluster: its bundle as JSON, or NULL */
    char **failure; /* per cluster: why it did not render at all, or NULL */
};

static void on_rendered(void *arg, const char *cluster, struct hub_bundle *b)
{
    struct render_slots *slots = arg;
    size_t i = (size_t)(hub_fleet_cluster(slots->fleet, cluster) - slots->fleet->clusters);

    if (b == NULL)
        slots->failure[i] = strdup(gf_error_last());
    else
        slots->json[i] = hub_bundle_json(b);
    hub_bundle_free(b);
}

/* One line per failed app or conflict; the count of them. */
static size_t report_json_failures(const json_t *bundle)
{
    const char *cluster = json_string_value(json_object_get(bundle, "cluster"));
    size_t i, n = 0;
    json_t *app;

    json_array_foreach(json_object_get(bundle, "apps"), i, app)
    {
        const char *error = json_string_value(json_object_get(app, "error"));
        if (error != NULL) {
            gf_cli_error(GF_CLI_FAIL, "cluster %s: %s", cluster, error);
            n++;
        }
    }
    return n;
}

static int render_all(struct gf_cli_repo *repo)
{
    struct hub_render_ctx ctx;
    size_t n = repo->fleet->n_clusters, failures = 0;
    struct render_slots slots = {.fleet = repo->fleet,
                                 .json = calloc(n ? n : 1, sizeof(json_t *)),
                                 .failure = calloc(n ? n : 1, sizeof(char *))};
    json_t *clusters = json_array();
    unsigned long hits, misses;
    int rc = GF_CLI_OK;

    if (slots.json == NULL || slots.failure == NULL)
        rc = gf_cli_error(GF_CLI_FAIL, "out of memory");
    gf_cli_repo_render_ctx(&ctx, repo);
    if (rc == GF_CLI_OK)
        hub_render_fleet(&ctx, repo->fleet, 0, on_rendered, &slots);
    for (size_t i = 0; rc == GF_CLI_OK && i < n; i++) {
        if (slots.failure[i] != NULL) {
            rc = gf_cli_error(GF_CLI_FAIL, "%s", slots.failure[i]);
            break;
        }
        failures += report_json_failures(slots.json[i]);
        json_array_append(clusters, slots.json[i]);
    }
    for (size_t i = 0; i < n && slots.json && slots.failure; i++) {
        json_decref(slots.json[i]);
        free(slots.failure[i]);
    }
    free(slots.json);
    free(slots.failure);
    if (rc != GF_CLI_OK) {
        json_decref(clusters);
        return rc;
    }
    hub_render_cache_stats(repo->cache, &hits, &misses);
    json_t *out =
        json_pack("{s:s,s:o,s:{s:I,s:I}}", "revision", repo->revision, "clusters", clusters,
                  "renderCache", "hits", (json_int_t)hits, "misses", (json_int_t)misses);
    if (print_json(out) < 0 || failures > 0)
        return GF_CLI_FAIL;
    return GF_CLI_OK;
}

static int run_render(int argc, char **argv)
{
    struct render_args a;
    struct gf_cli_repo repo;
    int rc = parse_args(&a, argc, argv);

    if (rc == -2)
        return gf_cli_error(GF_CLI_USAGE, "--all renders every cluster: it needs -o json and "
                                          "no --app");
    if (rc < 0)
        return gf_cli_usage(&gf_cmd_render);
    if (gf_cli_repo_open(&repo, &a.repo) < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    size_t problems = gf_cli_repo_print_problems(&repo);
    rc = a.all ? render_all(&repo) : render_one(&repo, &a);
    gf_cli_repo_close(&repo);
    return problems > 0 ? GF_CLI_FAIL : rc;
}

const struct gf_cli_command gf_cmd_render = {
    .name = "render",
    .usage = "render --repo PATH_OR_URL (--cluster NAME | --all) [--revision REV] [--app APP] "
             "[-o yaml|json] [--repo-url URL] [--cache-dir DIR] [--apps-dir DIR] [credentials]",
    .summary = "render a cluster's bundle (or every cluster's, --all -o json) from the fleet repo\n"
               "credentials of a private repository: --credentials FILE ($GITFLEET_CREDENTIALS),\n"
               "--ssh-key FILE [--ssh-passphrase-file FILE] [--known-hosts FILE],\n"
               "--username NAME --password-file FILE, or --bearer-token-file FILE\n"
               "(docs/security.md; secrets also from $GITFLEET_REPO_PASSWORD, ...)",
    .run = run_render,
};
