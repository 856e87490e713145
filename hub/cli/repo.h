/* repo.h -- what `render` and `apps` share: open --repo at --revision and load the fleet */
#ifndef GF_CLI_REPO_H
#define GF_CLI_REPO_H

#include "creds.h"
#include "filesrc.h"
#include "fleet.h"
#include "render.h"
#include "source.h"

#include <getopt.h>

struct gf_cli_repo_options {
    const char *location;  /* --repo: a Git repository path, a URL, or a plain directory */
    const char *revision;  /* --revision, NULL: HEAD */
    const char *cache_dir; /* --cache-dir, NULL: $GITFLEET_CACHE_DIR or ~/.cache/gitfleet */
    const char *repo_url;  /* --repo-url: another URL Applications use for this repository */
    const char *apps_dir;  /* --apps-dir, NULL: argocd */
    /* --credentials, --ssh-key, --known-hosts, --username, --password-file,
     * --bearer-token-file, --ssh-passphrase-file: as the hub's repo-* settings */
    struct hub_creds_settings creds;
};

struct gf_cli_repo {
    hub_source *source; /* NULL when --repo is a plain directory */
    hub_creds *creds;
    char *location;
    char *url; /* the repository's own URL (clone URL or remote.origin.url) */
    hub_filesrc *tree;
    char revision[41]; /* commit id, or "working-tree" */
    const char *revision_ref;
    struct hub_fleet *fleet;
    struct hub_render_cache *cache;
};

/* The options every command that reads a fleet repository takes, as
 * getopt_long entries, and their handling: 1 when `c` was one of them. */
#define GF_CLI_REPO_LONGOPTS                                                                       \
    {"repo", required_argument, NULL, 'r'}, {"revision", required_argument, NULL, 'v'},            \
        {"repo-url", required_argument, NULL, 'u'}, {"cache-dir", required_argument, NULL, 'd'},   \
        {"apps-dir", required_argument, NULL, 'p'},                                                \
        {"credentials", required_argument, NULL, GF_CLI_REPO_OPT + 0},                             \
        {"ssh-key", required_argument, NULL, GF_CLI_REPO_OPT + 1},                                 \
        {"known-hosts", required_argument, NULL, GF_CLI_REPO_OPT + 2},                             \
        {"username", required_argument, NULL, GF_CLI_REPO_OPT + 3},                                \
        {"password-file", required_argument, NULL, GF_CLI_REPO_OPT + 4},                           \
        {"bearer-token-file", required_argument, NULL, GF_CLI_REPO_OPT + 5},                       \
    {                                                                                              \
        "ssh-passphrase-file", required_argument, NULL, GF_CLI_REPO_OPT + 6                        \
    }
#define GF_CLI_REPO_OPT 1700 /* getopt values of the credential options */
int gf_cli_repo_option(struct gf_cli_repo_options *opts, int c, const char *arg);

/* Open the repository, resolve the revision, read the fleet. On failure the
 * message is in gf_error_last() and *repo is cleared. */
int gf_cli_repo_open(struct gf_cli_repo *repo, const struct gf_cli_repo_options *opts);

/* A render context over the opened repository. */
void gf_cli_repo_render_ctx(struct hub_render_ctx *ctx, struct gf_cli_repo *repo);

/* Print the fleet's problems as "gitfleet: ..." lines; returns how many. */
size_t gf_cli_repo_print_problems(const struct gf_cli_repo *repo);

/* "a, b, c": the cluster names, for messages. Static buffer. */
const char *gf_cli_repo_cluster_names(const struct gf_cli_repo *repo);

void gf_cli_repo_close(struct gf_cli_repo *repo);

#endif
