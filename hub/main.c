/* main.c -- gitfleet-hub: parse settings, then run the hub or a maintenance command */
#include "gitfleet/config.h"
#include "gitfleet/error.h"
#include "gitfleet/log.h"
#include "gitfleet/os.h"
#include "hub.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Read by jemalloc (linked outside sanitizer builds): see gitfleet/os.h. */
const char *malloc_conf = GF_OS_JEMALLOC_CONF;

#define OPT(name, type, field, min, max, def, help)                                                \
    {                                                                                              \
        name, type, offsetof(struct hub_settings, field), min, max, def, help                      \
    }

static const struct gf_config_option options[] = {
    OPT("config", GF_CONFIG_STRING, config, 0, 0, NULL, "hub.yaml with any of these settings"),
    OPT("repo", GF_CONFIG_STRING, repo, 0, 0, NULL,
        "the fleet repository: a path, file://, git://, http(s):// or ssh:// URL"),
    OPT("repo-credentials", GF_CONFIG_STRING, repo_credentials, 0, 0, NULL,
        "credentials file (YAML: repositories: [{url, username, passwordFile, ...}])"),
    OPT("repo-username", GF_CONFIG_STRING, repo_username, 0, 0, NULL,
        "HTTPS user name for the repository"),
    OPT("repo-password-file", GF_CONFIG_STRING, repo_password_file, 0, 0, NULL,
        "file holding the HTTPS password or token (else $GITFLEET_REPO_PASSWORD)"),
    OPT("repo-bearer-token-file", GF_CONFIG_STRING, repo_bearer_token_file, 0, 0, NULL,
        "file holding an HTTPS bearer token (else $GITFLEET_REPO_BEARER_TOKEN)"),
    OPT("repo-ssh-key", GF_CONFIG_STRING, repo_ssh_key, 0, 0, NULL,
        "SSH private key file for ssh:// and git@host:path repositories"),
    OPT("repo-ssh-passphrase-file", GF_CONFIG_STRING, repo_ssh_passphrase_file, 0, 0, NULL,
        "file holding the SSH key's passphrase (else $GITFLEET_REPO_SSH_PASSPHRASE)"),
    OPT("repo-known-hosts", GF_CONFIG_STRING, repo_known_hosts, 0, 0, NULL,
        "known_hosts file for SSH host keys (default ~/.ssh/known_hosts)"),
    OPT("repo-insecure-ignore-host-key", GF_CONFIG_BOOL, repo_insecure_ignore_host_key, 0, 1,
        "false", "accept any SSH host key (insecure: for tests only)"),
    OPT("branch", GF_CONFIG_STRING, branch, 0, 0, "main", "the branch to follow"),
    OPT("repo-url", GF_CONFIG_STRING, repo_url, 0, 0, NULL,
        "the URL Applications use for this repository (default: --repo)"),
    OPT("data-dir", GF_CONFIG_STRING, data_dir, 0, 0, "/var/lib/gitfleet-hub",
        "keys, admin token, database and the repository cache"),
    OPT("listen", GF_CONFIG_STRING, listen, 0, 0, "tcp://0.0.0.0:7070",
        "where agents connect (tcp:// or tls+tcp://)"),
    OPT("api-listen", GF_CONFIG_STRING, api_listen, 0, 0, "http://127.0.0.1:8080",
        "the HTTP API for the CLI, metrics and webhooks"),
    OPT("api-max-connections", GF_CONFIG_INT, api_max_connections, 1, 100000, "1024",
        "open HTTP API connections, all clients together"),
    OPT("api-max-connections-per-ip", GF_CONFIG_INT, api_max_connections_per_ip, 1, 100000, "256",
        "open HTTP API connections from one address"),
    OPT("api-idle-timeout", GF_CONFIG_DURATION, api_idle_timeout, 1000, 3600000, "30s",
        "close an HTTP API connection silent this long"),
    OPT("poll-interval", GF_CONFIG_DURATION, poll_interval, 1000, 86400000, "3m",
        "fetch the repository this often (webhooks trigger at once)"),
    OPT("tls-cert", GF_CONFIG_STRING, tls_cert, 0, 0, NULL, "hub certificate for tls+tcp://"),
    OPT("tls-key", GF_CONFIG_STRING, tls_key, 0, 0, NULL, "key of the hub certificate"),
    OPT("tls-client-ca", GF_CONFIG_STRING, tls_client_ca, 0, 0, NULL,
        "require agent client certificates signed by this CA"),
    OPT("anonymous-read", GF_CONFIG_BOOL, anonymous_read, 0, 1, "false",
        "let GET endpoints and the dashboard answer without a token (keep the API on loopback)"),
    OPT("webhook-secret", GF_CONFIG_STRING, webhook_secret, 0, 0, NULL,
        "secret of GitHub/Gitea signatures and GitLab tokens"),
    OPT("join-token-ttl", GF_CONFIG_DURATION, join_token_ttl, 1000, 2592000000LL, "24h",
        "how long a join token stays valid"),
    OPT("max-wait", GF_CONFIG_DURATION, max_wait, 100, 600000, "60s",
        "longest an agent's bundle request is held"),
    OPT("agent-contexts", GF_CONFIG_INT, agent_contexts, 16, 1000000, "16384",
        "agent requests held at once: one long-poll per agent, plus headroom"),
    OPT("agent-per-peer", GF_CONFIG_INT, agent_per_peer, 1, 1024, "8",
        "agent requests one connection may have in progress; more are dropped"),
    OPT("agent-send-timeout", GF_CONFIG_DURATION, agent_send_timeout, 100, 600000, "10s",
        "a reply the agent does not take within this closes its connection"),
    OPT("render-threads", GF_CONFIG_INT, render_threads, 0, 64, "0",
        "clusters rendered at once (0: one per CPU)"),
    OPT("health-customizations", GF_CONFIG_STRING, health_customizations, 0, 0, NULL,
        "Lua health scripts in Argo CD's resource_customizations/<group>/<kind>/health.lua "
        "layout"),
    OPT("allow-plain-secrets", GF_CONFIG_BOOL, allow_plain_secrets, 0, 0, "false",
        "let every app keep plain Secrets in Git (else only apps annotated "
        "gitfleet.io/allow-plain-secrets: \"true\"; docs/secrets.md)"),
    OPT("log-level", GF_CONFIG_STRING, log_level, 0, 0, "info", "debug, info, warn or error"),
    OPT("log-format", GF_CONFIG_STRING, log_format, 0, 0, "text", "text or json"),
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static void usage(FILE *out)
{
    fputs("usage: gitfleet-hub [run] --repo REPO [settings...]\n"
          "       gitfleet-hub keys show [--data-dir DIR]\n"
          "       gitfleet-hub --help | --version\n"
          "\n"
          "The gitfleet hub follows one branch of a fleet repository, renders every\n"
          "cluster's desired state, signs it, serves each joined agent its own bundle,\n"
          "and keeps their reports. The admin token for the CLI is written to\n"
          "<data-dir>/admin.token on first start.\n"
          "\nsettings (flags, or keys of --config FILE; flags win):\n",
          out);
    gf_config_usage(out, options, N_OPTIONS);
}

/* Settings: defaults, then --config FILE, then the flags (flags win). */
static int load_settings(struct hub_settings *s, int argc, char **argv)
{
    int error = gf_config_load(s, options, N_OPTIONS, argc, argv);

    return error < 0 ? error : gf_log_configure_names(s->log_level, s->log_format, stderr);
}

static int run_hub(struct hub_settings *s)
{
    hub *h = NULL;
    int error;

    if (s->repo == NULL)
        return gf_error_set(GF_EINVAL, "--repo is required");
    if ((error = hub_open(&h, s)) < 0)
        return error;
    error = hub_run(h);
    hub_close(h);
    return error;
}

int main(int argc, char **argv)
{
    struct hub_settings s = {0};
    int first = 1, keys = 0, error;

    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("gitfleet-hub %s\n", GF_VERSION);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "run") == 0)
        first = 2;
    else if (argc > 2 && strcmp(argv[1], "keys") == 0 && strcmp(argv[2], "show") == 0)
        first = 3, keys = 1;
    if ((error = load_settings(&s, argc - first, argv + first)) < 0) {
        fprintf(stderr, "gitfleet-hub: %s\n", gf_error_last());
        usage(stderr);
        gf_config_free(&s, options, N_OPTIONS);
        return 2;
    }
    error = keys ? hub_keys_show(s.data_dir) : run_hub(&s);
    if (error < 0)
        fprintf(stderr, "gitfleet-hub: %s\n", gf_error_last());
    gf_config_free(&s, options, N_OPTIONS);
    return error < 0 ? 1 : 0;
}
