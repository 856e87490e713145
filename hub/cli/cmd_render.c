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

static int render_all(struct gf_cli_repo *repo)
{
    struct hub_render_ctx ctx;
    json_t *clusters = json_array();
    size_t failures = 0;
    unsigned long hits, misses;

    gf_cli_repo_render_ctx(&ctx, repo);
    for (size_t i = 0; i < repo->fleet->n_clusters; i++) {
        struct hub_bundle *b = NULL;
        if (hub_render_cluster(&b, &ctx, repo->fleet, repo->fleet->clusters[i].name, NULL) < 0) {
            json_decref(clusters);
            return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
        }
        json_array_append_new(clusters, hub_bundle_json(b));
        failures += report_failures(b);
        hub_bundle_free(b);
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
