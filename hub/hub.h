/* hub.h -- the hub daemon's state and operations, shared by its API and its sync loop */
#ifndef HUB_HUB_H
#define HUB_HUB_H

#include "events.h"
#include "fleet.h"
#include "gitfleet/sign.h"
#include "gitfleet/wire.h"
#include "render.h"
#include "reports.h"
#include "serve.h"
#include "source.h"
#include "store.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

struct hub_settings {
    char *config;
    char *repo;
    char *branch;
    char *data_dir;
    char *listen;     /* agents: tcp:// or tls+tcp:// */
    char *api_listen; /* HTTP API: http://127.0.0.1:8080 */
    long long api_max_connections, api_max_connections_per_ip;
    int64_t api_idle_timeout; /* ms */
    int64_t poll_interval;
    char *tls_cert, *tls_key, *tls_client_ca;
    char *webhook_secret;
    char *repo_url; /* how Applications name this repository */
    int64_t join_token_ttl;
    int64_t max_wait;
    int64_t render_threads; /* 0: one per CPU */
    int64_t agent_contexts; /* agent requests held at once (a long-poll per agent) */
    int64_t agent_per_peer; /* of those, held by one connection */
    int64_t agent_send_timeout;
    char *log_level, *log_format;
    /* issue 17: how the hub authenticates to the fleet repository (creds.h) */
    char *repo_credentials, *repo_username, *repo_password_file, *repo_bearer_token_file;
    char *repo_ssh_key, *repo_ssh_passphrase_file, *repo_known_hosts;
    int repo_insecure_ignore_host_key;
    int anonymous_read; /* issue 17: GET endpoints and the dashboard answer without a token */
    char *health_customizations; /* issue 16: Argo CD resource_customizations layout */
    int allow_plain_secrets;     /* issue 15: plain Secrets in Git for every app */
};

/* Counters behind /metrics: a copy read with hub_metrics_get(). */
struct hub_metrics {
    uint64_t syncs, renders, render_errors, bundles_published, fetch_errors, publish_errors;
};

/* The daemon's state: opaque; other modules read it through the functions
 * below (the sync thread owns the source and the render cache). */
typedef struct hub hub;

struct hub_pass;

/*
 * What the last sync pass produced, as the API threads see it: taken with
 * hub_view_get(), immutable and valid until hub_view_put(), whatever later
 * passes do meanwhile (the fleet and its render errors are shared by
 * reference, the strings copied).
 */
struct hub_view {
    const struct hub_fleet *fleet; /* at `commit`; NULL before the first sync */
    const json_t *render_errors;   /* cluster -> [app errors], of that pass */
    const json_t *revisions;       /* cluster -> {app -> commit it was rendered at} */
    char commit[41];
    char last_error[512];  /* of the last sync pass, "" when fine */
    uint64_t seq;          /* the pass's number since the start (0: none yet) */
    struct hub_pass *pass; /* private: the reference held */
};

void hub_view_get(hub *h, struct hub_view *out);
void hub_view_put(struct hub_view *view);

/* Borrowed parts; each is safe to use from any thread. */
hub_store *hub_get_store(hub *h);
hub_serve *hub_get_serve(hub *h);
hub_reports *hub_get_reports(hub *h);
struct hub_rollouts *hub_get_rollouts(hub *h);
hub_events *hub_get_events(hub *h); /* issue 14: the dashboard's change feed */
const struct hub_settings *hub_get_settings(hub *h);

/* A consistent-enough copy of the counters (each read atomically). */
void hub_metrics_get(hub *h, struct hub_metrics *out);

/* Create the data directory, the hub key and admin token on first start,
 * open the store and the repository, listen for agents and the API. */
int hub_open(hub **out, const struct hub_settings *settings);
/* Run the sync loop until SIGTERM/SIGINT, then stop everything. */
int hub_run(hub *h);
void hub_close(hub *h);

/* Fetch and render now. With `wait`, return only when that pass is done;
 * *message_out (may be NULL) receives a malloc'd one-line summary. */
int hub_sync_now(hub *h, int wait, char **message_out);

/* Republish `cluster`'s newest bundle with its pins and open operation
 * requests as they stand now (hub/publish.h) and wake its agent. */
int hub_republish(hub *h, const char *cluster);
/* The same, done soon by the sync thread: for callers that run where the
 * agent endpoint's lock may be held (a report being stored). */
void hub_republish_later(hub *h, const char *cluster);

/* Issue a one-time join token for `cluster` (created if new). */
int hub_cluster_add(hub *h, const char *cluster, char **token_out, int64_t *expires_ms_out);
int hub_cluster_remove(hub *h, const char *cluster);

/* Constant-time check of an API bearer token against the admin token. */
int hub_check_admin(hub *h, const char *token);
const char *hub_webhook_secret(hub *h);

/* `gitfleet-hub keys show`: the data directory's public key as PEM. */
int hub_keys_show(const char *data_dir);

#endif
