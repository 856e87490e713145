/* repo.c -- opening --repo for the CLI's local commands (render, apps) */
#include "repo.h"

#include "cli.h"
#include "gitfleet/error.h"
#include "gitfleet/redact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void default_cache_dir(char *buf, size_t len)
{
    const char *env = getenv("GITFLEET_CACHE_DIR");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");

    if (env && env[0])
        snprintf(buf, len, "%s", env);
    else if (xdg && xdg[0])
        snprintf(buf, len, "%s/gitfleet/repos", xdg);
    else
        snprintf(buf, len, "%s/.cache/gitfleet/repos", home ? home : "/tmp");
}

/* A plain directory (not a Git repository) renders as it is on disk. */
static int open_plain_dir(struct gf_cli_repo *repo, const struct gf_cli_repo_options *opts)
{
    struct stat st;
    int error;

    if (hub_creds_is_remote(opts->location) || stat(opts->location, &st) != 0 ||
        !S_ISDIR(st.st_mode))
        return gf_error_set(GF_ENOTFOUND, "%s: not a Git repository or a directory",
                            opts->location);
    if (opts->revision != NULL)
        return gf_error_set(GF_EINVAL, "%s is not a Git repository: --revision cannot be used",
                            opts->location);
    if ((error = hub_filesrc_open_dir(&repo->tree, opts->location, 0)) < 0)
        return error;
    snprintf(repo->revision, sizeof(repo->revision), "working-tree");
    return 0;
}

/* --credentials, else $GITFLEET_CREDENTIALS, and the other credential flags. */
static int load_creds(struct gf_cli_repo *repo, const struct gf_cli_repo_options *opts)
{
    struct hub_creds_settings cs = opts->creds;

    if (cs.file == NULL && getenv("GITFLEET_CREDENTIALS") && getenv("GITFLEET_CREDENTIALS")[0])
        cs.file = getenv("GITFLEET_CREDENTIALS");
    return hub_creds_load(&repo->creds, &cs);
}

static int open_git(struct gf_cli_repo *repo, const struct gf_cli_repo_options *opts)
{
    char cache[4096];
    int error;

    if (opts->cache_dir)
        snprintf(cache, sizeof(cache), "%s", opts->cache_dir);
    else
        default_cache_dir(cache, sizeof(cache));
    if (!hub_creds_is_remote(opts->location))
        error = hub_source_open(&repo->source, opts->location, cache);
    else if ((error = load_creds(repo, opts)) == 0)
        error = hub_source_open_creds(&repo->source, opts->location, cache, repo->creds);
    if (error < 0)
        return error;
    if ((error = hub_source_resolve(repo->revision, repo->source, opts->revision)) < 0)
        return error;
    return hub_source_tree(&repo->tree, repo->source, repo->revision);
}

int gf_cli_repo_open(struct gf_cli_repo *repo, const struct gf_cli_repo_options *opts)
{
    const char *urls[4] = {NULL, NULL, NULL, NULL};
    struct hub_fleet_options fo = {.apps_dir = opts->apps_dir, .repo_urls = urls};
    size_t n = 0;
    int error;

    memset(repo, 0, sizeof(*repo));
    repo->revision_ref = opts->revision;
    repo->location = strdup(opts->location);
    if (hub_creds_is_remote(opts->location)) { /* messages show it without credentials */
        char shown[4096];
        gf_redact_url(shown, sizeof(shown), opts->location);
        free(repo->location);
        repo->location = strdup(shown);
    }
    error = open_git(repo, opts);
    if (error == GF_ENOTFOUND && repo->source == NULL)
        error = open_plain_dir(repo, opts);
    if (error < 0)
        goto fail;
    if (repo->source != NULL && (error = hub_source_url(&repo->url, repo->source)) < 0)
        goto fail;
    if (repo->url != NULL)
        urls[n++] = repo->url;
    if (opts->repo_url != NULL)
        urls[n++] = opts->repo_url;
    if ((error = hub_fleet_load(&repo->fleet, repo->tree, &fo)) < 0 ||
        (error = hub_render_cache_new(&repo->cache)) < 0)
        goto fail;
    return 0;
fail:
    gf_cli_repo_close(repo);
    return error;
}

/* Apps pinned to another targetRevision render from that commit. */
static int tree_at(hub_filesrc **out, char commit_out[41], void *arg, const char *revision)
{
    struct gf_cli_repo *repo = arg;
    int error;

    if (repo->source == NULL) { /* a plain directory has one revision: what is on disk */
        snprintf(commit_out, 41, "working-tree");
        return hub_filesrc_open_dir(out, repo->location, 0);
    }
    if ((error = hub_source_resolve(commit_out, repo->source, revision)) < 0)
        return error;
    return hub_source_tree(out, repo->source, commit_out);
}

void gf_cli_repo_render_ctx(struct hub_render_ctx *ctx, struct gf_cli_repo *repo)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->tree = repo->tree;
    ctx->revision = repo->revision;
    ctx->revision_ref = repo->revision_ref;
    ctx->tree_at = tree_at;
    ctx->tree_arg = repo;
    ctx->cache = repo->cache;
}

size_t gf_cli_repo_print_problems(const struct gf_cli_repo *repo)
{
    for (size_t i = 0; i < repo->fleet->n_problems; i++)
        gf_cli_error(GF_CLI_FAIL, "%s", repo->fleet->problems[i]);
    return repo->fleet->n_problems;
}

const char *gf_cli_repo_cluster_names(const struct gf_cli_repo *repo)
{
    static char buf[1024];
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < repo->fleet->n_clusters && n < sizeof(buf); i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? ", " : "",
                              repo->fleet->clusters[i].name);
    return buf[0] ? buf : "none";
}

void gf_cli_repo_close(struct gf_cli_repo *repo)
{
    hub_render_cache_free(repo->cache);
    hub_fleet_free(repo->fleet);
    hub_filesrc_free(repo->tree);
    hub_source_free(repo->source);
    hub_creds_free(repo->creds);
    free(repo->location);
    free(repo->url);
    memset(repo, 0, sizeof(*repo));
}

int gf_cli_repo_option(struct gf_cli_repo_options *opts, int c, const char *arg)
{
    switch (c) {
    case 'r':
        opts->location = arg;
        return 1;
    case 'v':
        opts->revision = arg;
        return 1;
    case 'u':
        opts->repo_url = arg;
        return 1;
    case 'd':
        opts->cache_dir = arg;
        return 1;
    case 'p':
        opts->apps_dir = arg;
        return 1;
    case GF_CLI_REPO_OPT + 0:
        opts->creds.file = arg;
        return 1;
    case GF_CLI_REPO_OPT + 1:
        opts->creds.ssh_key_file = arg;
        return 1;
    case GF_CLI_REPO_OPT + 2:
        opts->creds.known_hosts_file = arg;
        return 1;
    case GF_CLI_REPO_OPT + 3:
        opts->creds.username = arg;
        return 1;
    case GF_CLI_REPO_OPT + 4:
        opts->creds.password_file = arg;
        return 1;
    case GF_CLI_REPO_OPT + 5:
        opts->creds.bearer_token_file = arg;
        return 1;
    case GF_CLI_REPO_OPT + 6:
        opts->creds.ssh_passphrase_file = arg;
        return 1;
    default:
        return 0;
    }
}
