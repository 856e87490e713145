/* main.c -- gitfleet-agent: parse arguments, then join a hub or run the agent */
#include "gitfleet/config.h"
#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"
#include "gitfleet/log.h"
#include "run.h"
#include "state.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct settings {
    char *config;
    char *state_dir;
    char *hub;
    char *token;
    char *token_file;
    char *kubeconfig;
    char *context;
    int in_cluster;
    int if_not_joined;
    int64_t max_age;
    char *hub_ca;
    char *client_cert;
    char *client_key;
    char *tls_server_name;
    int64_t poll_wait;
    int64_t resync_interval;
    int64_t report_interval;
    char *namespace_;
    int64_t wave_timeout, sync_timeout, wave_delay;
    long long prune_max_percent;
    long long parallel_syncs;
    char *log_level;
    char *log_format;
};

#define OPT(name, type, field, min, max, def, help)                                                \
    {                                                                                              \
        name, type, offsetof(struct settings, field), min, max, def, help                          \
    }

static const struct gf_config_option options[] = {
    OPT("config", GF_CONFIG_STRING, config, 0, 0, NULL, "agent.yaml with any of these settings"),
    OPT("state-dir", GF_CONFIG_STRING, state_dir, 0, 0, "/var/lib/gitfleet-agent",
        "where the key, the pinned hub key and the last bundle live"),
    OPT("hub", GF_CONFIG_STRING, hub, 0, 0, NULL,
        "join: the hub's agent URL (tcp:// or tls+tcp://)"),
    OPT("token", GF_CONFIG_STRING, token, 0, 0, NULL, "join: the one-time join token"),
    OPT("token-file", GF_CONFIG_STRING, token_file, 0, 0, NULL,
        "join: read the token from this file (e.g. a mounted Secret)"),
    OPT("if-not-joined", GF_CONFIG_BOOL, if_not_joined, 0, 0, "false",
        "join: do nothing when the state directory already joined"),
    OPT("max-age", GF_CONFIG_DURATION, max_age, 1000, 3600000, "2m",
        "probe: how old the run loop's heartbeat may be"),
    OPT("kubeconfig", GF_CONFIG_STRING, kubeconfig, 0, 0, NULL, "run: the cluster's kubeconfig"),
    OPT("context", GF_CONFIG_STRING, context, 0, 0, NULL, "run: kubeconfig context to use"),
    OPT("in-cluster", GF_CONFIG_BOOL, in_cluster, 0, 0, "false",
        "run: use the pod's service account"),
    OPT("hub-ca", GF_CONFIG_STRING, hub_ca, 0, 0, NULL, "CA that signed the hub's TLS certificate"),
    OPT("client-cert", GF_CONFIG_STRING, client_cert, 0, 0, NULL, "TLS client certificate (PEM)"),
    OPT("client-key", GF_CONFIG_STRING, client_key, 0, 0, NULL, "TLS client key (PEM)"),
    OPT("tls-server-name", GF_CONFIG_STRING, tls_server_name, 0, 0, NULL,
        "name to verify in the hub's certificate (default: the URL's host; required "
        "when the URL has an IP address)"),
    OPT("poll-wait", GF_CONFIG_DURATION, poll_wait, 100, 600000, "5s",
        "how long the hub may hold a bundle request"),
    OPT("resync-interval", GF_CONFIG_DURATION, resync_interval, 100, 3600000, "60s",
        "re-read every managed object this often (watches see changes at once)"),
    OPT("namespace", GF_CONFIG_STRING, namespace_, 0, 0, "gitfleet",
        "the agent's namespace, where app inventories are kept as ConfigMaps (\"\": none)"),
    OPT("wave-timeout", GF_CONFIG_DURATION, wave_timeout, 1000, 86400000, "5m",
        "how long a sync wave may take to become healthy"),
    OPT("sync-timeout", GF_CONFIG_DURATION, sync_timeout, 0, 86400000, "30m",
        "how long one app's sync may take (0: no limit)"),
    OPT("wave-delay", GF_CONFIG_DURATION, wave_delay, 0, 600000, "2s",
        "pause between sync waves, as Argo CD makes"),
    OPT("prune-max-percent", GF_CONFIG_INT, prune_max_percent, 1, 100, "50",
        "hold a sync that would delete more than this share of an app's objects"),
    OPT("parallel-syncs", GF_CONFIG_INT, parallel_syncs, 1, 64, "4",
        "how many apps may sync at once (each with its own waves, hooks and timeouts)"),
    OPT("report-interval", GF_CONFIG_DURATION, report_interval, 1000, 3600000, "30s",
        "report to the hub at least this often"),
    OPT("log-level", GF_CONFIG_STRING, log_level, 0, 0, "info", "debug, info, warn or error"),
    OPT("log-format", GF_CONFIG_STRING, log_format, 0, 0, "text", "text or json"),
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static void usage(FILE *out)
{
    fputs("usage: gitfleet-agent join --hub URL (--token T | --token-file F) [--state-dir DIR]\n"
          "       gitfleet-agent run [--state-dir DIR] (--kubeconfig FILE [--context C] | "
          "--in-cluster)\n"
          "       gitfleet-agent probe [--state-dir DIR] [--max-age 2m]\n"
          "       gitfleet-agent --help | --version\n"
          "\n"
          "The gitfleet agent pulls its cluster's signed bundle from the hub, verifies it\n"
          "against the hub key pinned at join, applies it with server-side apply, keeps\n"
          "enforcing the last good bundle while the hub is away, and reports back.\n"
          "At join it also makes an age key pair for sealed secrets (DIR/secret.key, 0600;\n"
          "only the public recipient goes to the hub): SealedSecrets are opened just\n"
          "before apply (docs/secrets.md).\n"
          "\nsettings (flags, or keys of --config FILE):\n",
          out);
    gf_config_usage(out, options, N_OPTIONS);
}

/* Settings: defaults, then --config FILE, then the flags (flags win). */
static int load_settings(struct settings *s, int argc, char **argv)
{
    int error = gf_config_load(s, options, N_OPTIONS, argc, argv);

    return error < 0 ? error : gf_log_configure_names(s->log_level, s->log_format, stderr);
}

static struct gf_wire_tls tls_of(const struct settings *s)
{
    struct gf_wire_tls tls = {.cert_file = s->client_cert,
                              .key_file = s->client_key,
                              .ca_file = s->hub_ca,
                              .server_name = s->tls_server_name};
    return tls;
}

static int run_join(struct settings *s)
{
    char *token = NULL;
    int error;

    if (s->hub == NULL || (s->token == NULL && s->token_file == NULL))
        return gf_error_set(GF_EINVAL, "join needs --hub and --token or --token-file");
    if (s->if_not_joined) {
        struct agent_state probe;
        int joined = agent_state_load(&probe, s->state_dir) == 0;
        agent_state_clear(&probe);
        if (joined)
            return 0; /* the token may be gone already: do not read it */
    }
    if (s->token_file) {
        if ((error = gf_fs_read(&token, NULL, s->token_file, 4096)) < 0)
            return error;
        token[strcspn(token, "\r\n")] = '\0';
    }
    struct gf_wire_tls tls = tls_of(s);
    error = agent_run_join(s->state_dir, s->hub, token ? token : s->token, &tls, s->if_not_joined);
    free(token);
    return error;
}

static int run_agent(struct settings *s)
{
    struct agent_run_config rc = {
        .state_dir = s->state_dir,
        .kubeconfig = s->kubeconfig,
        .context = s->context,
        .in_cluster = s->in_cluster,
        .tls = tls_of(s),
        .poll_wait_ms = s->poll_wait,
        .resync_ms = s->resync_interval,
        .report_ms = s->report_interval,
        .parallel_syncs = (int)s->parallel_syncs,
        .apply = {.namespace_ = s->namespace_,
                  .wave_timeout = (double)s->wave_timeout / 1000.0,
                  .sync_timeout = (double)s->sync_timeout / 1000.0,
                  .wave_delay = (double)s->wave_delay / 1000.0,
                  .prune_max_share = (double)s->prune_max_percent / 100.0}};
    return agent_run(&rc);
}

int main(int argc, char **argv)
{
    struct settings s = {0};
    int error;

    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("gitfleet-agent %s\n", GF_VERSION);
        return 0;
    }
    if (argc < 2 || (strcmp(argv[1], "join") != 0 && strcmp(argv[1], "run") != 0 &&
                     strcmp(argv[1], "probe") != 0)) {
        fprintf(stderr, "gitfleet-agent: expected 'join', 'run' or 'probe'\n");
        usage(stderr);
        return 2;
    }
    if ((error = load_settings(&s, argc - 2, argv + 2)) < 0) {
        fprintf(stderr, "gitfleet-agent: %s\n", gf_error_last());
        gf_config_free(&s, options, N_OPTIONS);
        return 2;
    }
    if (strcmp(argv[1], "probe") == 0)
        error = agent_run_probe(s.state_dir, s.max_age);
    else
        error = strcmp(argv[1], "join") == 0 ? run_join(&s) : run_agent(&s);
    if (error < 0)
        fprintf(stderr, "gitfleet-agent: %s\n", gf_error_last());
    else if (strcmp(argv[1], "join") == 0)
        printf("joined; run `gitfleet-agent run --state-dir %s` next\n", s.state_dir);
    else if (strcmp(argv[1], "probe") == 0)
        printf("alive\n");
    gf_config_free(&s, options, N_OPTIONS);
    return error < 0 ? 1 : 0;
}
