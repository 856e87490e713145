/* hub.h -- the hub daemon's state and operations, shared by its API and its sync loop */
#ifndef HUB_HUB_H
#define HUB_HUB_H

#include "fleet.h"
#include "gitfleet/sign.h"
#include "gitfleet/wire.h"
#include "render.h"
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
    char *log_level, *log_format;
};

/* Counters behind /metrics. */
struct hub_metrics {
    uint64_t syncs, renders, render_errors, bundles_published, fetch_errors;
};

/*
 * The daemon's state. The sync thread owns `source` and the render cache;
 * `lock` guards the fleet snapshot, the last commit and the counters that
 * the API threads read.
 */
typedef struct hub {
    struct hub_settings settings;
    hub_store *store;
    gf_sign_key *key;
    char admin_token[65];
    hub_source *source;
    struct hub_render_cache *cache;
    hub_serve *serve;
    struct hub_api *api;

    pthread_mutex_t lock;
    pthread_cond_t wake; /* the sync thread waits on it */
    pthread_cond_t done; /* sync_now waiters wait on it */
    int sync_requested;
    int sync_running;
    uint64_t syncs_done;
    int stopping;
    struct hub_fleet *fleet; /* at `commit`; NULL before the first sync */
    char commit[41];
    char last_error[512];  /* of the last sync pass, "" when fine */
    json_t *render_errors; /* cluster -> [app errors], of the last pass */
    struct hub_metrics metrics;
} hub;

/* Create the data directory, the hub key and admin token on first start,
 * open the store and the repository, listen for agents and the API. */
int hub_open(hub **out, const struct hub_settings *settings);
/* Run the sync loop until SIGTERM/SIGINT, then stop everything. */
int hub_run(hub *h);
void hub_close(hub *h);

/* Fetch and render now. With `wait`, return only when that pass is done;
 * *message_out (may be NULL) receives a malloc'd one-line summary. */
int hub_sync_now(hub *h, int wait, char **message_out);

/* Issue a one-time join token for `cluster` (created if new). */
int hub_cluster_add(hub *h, const char *cluster, char **token_out, int64_t *expires_ms_out);
int hub_cluster_remove(hub *h, const char *cluster);

/* Constant-time check of an API bearer token against the admin token. */
int hub_check_admin(hub *h, const char *token);
const char *hub_webhook_secret(hub *h);

/* `gitfleet-hub keys show`: the data directory's public key as PEM. */
int hub_keys_show(const char *data_dir);

#endif
