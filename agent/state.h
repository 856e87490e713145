/* state.h -- what the agent keeps on disk: its key, the pinned hub key, the last good bundle */
#ifndef AGENT_STATE_H
#define AGENT_STATE_H

#include "gitfleet/sign.h"
#include "gitfleet/wire.h"

#include <jansson.h>

#include <stddef.h>
#include <stdint.h>

/*
 * The state directory (mode 0700) holds:
 *   agent.key      the agent's Ed25519 private key (0600)
 *   hub.pub        the hub's public key, pinned at join
 *   identity.json  {"cluster", "hub", "tls": {"ca", "cert", "key", "serverName"}}
 *   secret.key     age identities for sealed secrets (0600; agent/secrets.h)
 *   report.json    the last report: which apps were applied and how
 *   history.json   the last syncs' results, for people on the cluster
 *   heartbeat      touched on every pass of the run loop (liveness probe)
 *   bundle.signed  the last bundle that verified and was applied (0600),
 *                  so the agent keeps enforcing it while the hub is away
 *   generation     the highest generation ever accepted (the high-water
 *                  mark), kept apart from the cache: a cache file put back
 *                  from an older generation is refused
 * Every file is written atomically.
 */
struct agent_state {
    char *dir;
    char cluster[64];
    char hub_url[512];
    /* The TLS files the join used (absolute paths, "" when none): `run` uses
     * them unless told otherwise. */
    char tls_ca[512], tls_cert[512], tls_key[512], tls_server_name[256];
    gf_sign_key *agent_key;
    gf_sign_key *hub_key;
};

/* Create the directory and a new agent key if there is none yet. */
int agent_state_init(struct agent_state *state, const char *dir);
/* Record the join: cluster name, hub URL, the hub's raw public key. */
int agent_state_save_join(struct agent_state *state, const char *cluster, const char *hub_url,
                          const unsigned char hub_key[GF_SIGN_PUBLIC_KEY_LEN],
                          const struct gf_wire_tls *tls);
/* Load a joined state; GF_ENOTFOUND (with "run `gitfleet-agent join` first") if not joined. */
int agent_state_load(struct agent_state *state, const char *dir);
/* The cached signed bundle; GF_ENOTFOUND when none. */
int agent_state_read_bundle(const struct agent_state *state, unsigned char **out, size_t *len_out);
int agent_state_write_bundle(const struct agent_state *state, const void *data, size_t len);
/* The high-water generation; 0 when none was recorded yet. Written before
 * the bundle it belongs to, never lowered. */
int agent_state_read_high_water(const struct agent_state *state, uint64_t *out);
int agent_state_write_high_water(const struct agent_state *state, uint64_t generation);
/* The last report (report.json): it remembers which apps were applied, so
 * apps that left Git are still known after a restart. */
int agent_state_read_report(const struct agent_state *state, json_t **out);
int agent_state_write_report(const struct agent_state *state, const json_t *report);
/* A short local history of syncs (history.json): the newest `keep` results,
 * each {"time", "generation", "revision", "apps": [{"name", "operation",
 * "sync", "message"}]}, oldest first. */
int agent_state_append_history(const struct agent_state *state, json_t *entry, size_t keep);

/* The run loop touches "heartbeat" on every pass; probes read its age. */
void agent_state_heartbeat(const struct agent_state *state);
int agent_state_heartbeat_age(const char *dir, int64_t *age_ms_out);
void agent_state_clear(struct agent_state *state);

#endif
