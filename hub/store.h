/* store.h -- the hub's durable state in SQLite: clusters, join tokens, bundles, reports, history */
#ifndef HUB_STORE_H
#define HUB_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One SQLite database (WAL) in the hub's data directory. Every function is
 * safe to call from any thread: a mutex serializes them, which is plenty for
 * the hub's write rate. A restart loses nothing and generations never go
 * backwards, because the next generation is always derived from the largest
 * one stored.
 */
typedef struct hub_store hub_store;

#define HUB_STORE_NAME_MAX 64

/* Bundles kept per cluster; older generations are deleted as new ones come,
 * every HUB_STORE_TRIM_EVERY generations (so up to KEEP + TRIM_EVERY - 1),
 * each cluster at its own phase.
 * Only the newest is ever served; a few more are kept to look at. At fleet
 * scale every kept generation costs: with 20 per cluster the store of 10,000
 * clusters passed 480 MB after 10 commits and each commit cost more hub CPU
 * than the one before. */
#define HUB_STORE_KEEP_BUNDLES 4
#define HUB_STORE_TRIM_EVERY   4
/* Sync results kept in the history, fleet-wide. */
#define HUB_STORE_KEEP_HISTORY 100000

struct hub_store_cluster {
    char name[HUB_STORE_NAME_MAX];
    int joined; /* has a registered public key */
    unsigned char public_key[32];
    int64_t joined_ms;
    int64_t last_seen_ms;        /* 0: never */
    uint64_t applied_generation; /* from the latest report */
    char applied_revision[64];
};

struct hub_store_bundle {
    uint64_t generation;
    char content_hash[65]; /* SHA-256 of the rendered content, without generation */
    char revision[64];
    int64_t created_ms;
    unsigned char *signed_bytes; /* encoded SignedBundle, malloc'd */
    size_t signed_len;
};

int hub_store_open(hub_store **out, const char *path);
void hub_store_close(hub_store *store);
/* Commit any open batch (it goes on in a new transaction), give pages that
 * deletes freed back to the file system (incremental vacuum) when there are
 * enough of them to matter, and write the WAL back into the database (its
 * file keeps its size: see store.c). *freed_pages_out (may be NULL): how
 * many pages were given back. The sync thread calls it after each pass. */
int hub_store_compact(hub_store *store, int64_t *freed_pages_out);

/*
 * Group writes into one transaction: every store call made (by any thread)
 * between begin and end commits together, instead of one commit per
 * statement. Batches may overlap; the transaction commits when the last one
 * ends, and at least every 200 ms while they keep overlapping. Each
 * statement stays atomic on its own. Pair every begin with an end.
 */
int hub_store_batch_begin(hub_store *store);
int hub_store_batch_end(hub_store *store);
/* End a batch, leaving the 200 ms commit to others: the transaction commits
 * here when this was the last batch open, or when it has been open for a
 * second (no one else ended a batch). For threads at a low CPU priority:
 * preempted in a commit (and the checkpoint it may run), they would hold
 * the store from the sync pass for tens of milliseconds. */
int hub_store_batch_end_lazy(hub_store *store);

/*
 * Modules that keep tables of their own in the hub's database (pin.c,
 * appstate.c, opreq.c) reach it through these, so that their writes share
 * the one connection and join the batches (a second connection would wait
 * for a batch's write lock). Between lock and unlock: prepare (statements
 * are cached by their SQL), bind, step, release. hub_store_exec() runs a
 * script (a schema); hub_store_changes() counts the rows the last
 * statement changed.
 */
struct sqlite3_stmt;
void hub_store_lock(hub_store *store);
void hub_store_unlock(hub_store *store);
int hub_store_prepare(hub_store *store, struct sqlite3_stmt **out, const char *sql);
void hub_store_release(hub_store *store, struct sqlite3_stmt *stmt);
/* Step a statement that returns no rows; a constraint failure is GF_ECONFLICT. */
int hub_store_step_done(hub_store *store, struct sqlite3_stmt *stmt, const char *what);
int hub_store_exec(hub_store *store, const char *sql);
int hub_store_changes(hub_store *store);

/* ---- clusters and join tokens ---- */

/* Record a one-time join token (its SHA-256, never the token itself) for
 * `cluster`, valid until `expires_ms`. Creates the cluster row if needed. */
int hub_store_token_add(hub_store *store, const char *cluster, const char *token_hash,
                        int64_t expires_ms);
/* Redeem a token: the cluster it was issued for, once. GF_EPERM with a
 * reason when unknown, already used or expired. */
int hub_store_token_redeem(hub_store *store, char cluster_out[HUB_STORE_NAME_MAX],
                           const char *token_hash, int64_t now_ms);
/* Bind the agent's public key to the cluster (the join). */
int hub_store_cluster_set_key(hub_store *store, const char *cluster,
                              const unsigned char public_key[32], int64_t now_ms);
/* GF_ENOTFOUND when the cluster was never added. */
int hub_store_cluster_get(hub_store *store, const char *cluster, struct hub_store_cluster *out);
/* Every cluster the hub knows (joined or with a pending token), by name. */
int hub_store_cluster_list(hub_store *store, struct hub_store_cluster **out, size_t *count_out);
/* Revoke: forget the key and tokens; reports and history stay for the audit. */
int hub_store_cluster_remove(hub_store *store, const char *cluster);
/* 1 when the cluster was removed since the hub started and has not joined
 * again: read from memory, without the store's lock (latest.h). */
int hub_store_cluster_removed(hub_store *store, const char *cluster);
int hub_store_cluster_touch(hub_store *store, const char *cluster, int64_t now_ms);

/* ---- sealed-secret recipients and key rotations (issue 15) ---- */

/* Record `recipient` ("age1...") as the cluster's current one. Any other
 * current recipient retires at now + grace_ms (at once when 0) and is
 * forgotten after. Idempotent for the current one. */
int hub_store_recipient_put(hub_store *store, const char *cluster, const char *recipient,
                            int64_t now_ms, int64_t grace_ms);
/* Recipients of joined clusters (one when `cluster` is not NULL) not retired
 * at now_ms: a JSON array of {"cluster", "recipient", "createdUnixMs",
 * "retiresUnixMs" (0: current), "current"}, current first per cluster.
 * Removing (revoking) a cluster forgets its recipients. */
int hub_store_recipients(hub_store *store, const char *cluster, int64_t now_ms, json_t **out);

struct hub_store_rotation {
    char id[64];
    int64_t requested_ms, grace_ms;
    int64_t done_ms; /* 0: the agent has not answered yet */
};
/* Ask for a new key pair (replaces any earlier request). */
int hub_store_rotation_request(hub_store *store, const char *cluster, const char *id,
                               int64_t now_ms, int64_t grace_ms);
/* The latest request; GF_ENOTFOUND when none. */
int hub_store_rotation_get(hub_store *store, const char *cluster, struct hub_store_rotation *out);
/* The agent answered request `id`. */
int hub_store_rotation_done(hub_store *store, const char *cluster, const char *id, int64_t now_ms);

/* Remember a request nonce until `expires_ms`; GF_ECONFLICT when it was
 * already used (a replay). Expired nonces are purged on the way. */
int hub_store_nonce_use(hub_store *store, const char *cluster, const char *nonce_hex,
                        int64_t now_ms, int64_t expires_ms);

/* ---- bundles ---- */

/* The newest bundle of a cluster; GF_ENOTFOUND when none. Caller frees with
 * hub_store_bundle_clear(). */
int hub_store_bundle_latest(hub_store *store, const char *cluster, struct hub_store_bundle *out);
/* The newest bundle's generation and content hash, no bytes read (0 and ""
 * when none): what a publish compares with, in one read. */
int hub_store_bundle_head(hub_store *store, const char *cluster, uint64_t *generation_out,
                          char hash_out[65]);
int hub_store_bundle_get(hub_store *store, const char *cluster, uint64_t generation,
                         struct hub_store_bundle *out);
/* Store a bundle; its generation must exceed every stored one for the
 * cluster (GF_ECONFLICT otherwise). */
int hub_store_bundle_put(hub_store *store, const char *cluster, const struct hub_store_bundle *b);
/* The largest generation ever stored for the cluster (0 when none). */
int hub_store_bundle_max_generation(hub_store *store, const char *cluster, uint64_t *out);
void hub_store_bundle_clear(struct hub_store_bundle *b);

/* ---- prune allowances (`gitfleet sync --allow-prune APP`) ---- */

/* Allow the held prunes of `app` on `cluster` until `expires_ms`. */
int hub_store_allow_prune(hub_store *store, const char *cluster, const char *app,
                          int64_t expires_ms);
/* The apps allowed on `cluster` at `now_ms`: a JSON array of names, sorted. */
int hub_store_allowed_prunes(hub_store *store, const char *cluster, int64_t now_ms, json_t **out);

/* ---- which clusters have pins, operations or prune allowances ---- */

/*
 * hub_store_overrides_may_have: 0 when `cluster` certainly has no pin
 * (hub/pin.h), open operation request (hub/opreq.h) or prune allowance, so
 * that a publish need not look them up under the store's lock; 1 when it
 * may. Read from a list of the clusters that have any, kept in memory and
 * read again after hub_store_overrides_added(), which every write that
 * adds one calls once the row is written (another process's writes are
 * noticed as the newest bundles' are). Removals need no call: the list
 * only ever says "may".
 */
int hub_store_overrides_may_have(hub_store *store, const char *cluster);
void hub_store_overrides_added(hub_store *store);

/* ---- reports and history ---- */

/* Keep the report (JSON text) as the cluster's latest (only the latest is
 * kept; hub_store_history_add() records what changed). */
int hub_store_report_put(hub_store *store, const char *cluster, int64_t time_ms,
                         uint64_t generation, const char *revision, const char *report_json);
/* The latest report as a JSON object (new reference), GF_ENOTFOUND if none. */
int hub_store_report_latest(hub_store *store, const char *cluster, json_t **out);

/* Append one sync result of an app on a cluster. */
int hub_store_history_add(hub_store *store, const char *cluster, const char *app, int64_t time_ms,
                          uint64_t generation, const char *revision, const char *result,
                          const char *message);
/* Newest first, at most `limit` entries; `cluster`/`app` may be NULL for all.
 * *out is a JSON array of {"time","cluster","app","generation","revision",
 * "result","message"}. */
int hub_store_history_list(hub_store *store, const char *cluster, const char *app, size_t limit,
                           json_t **out);

/* ---- rollouts (hub/rollouts.c) ---- */

/* Finished rollouts kept; active ones are always kept. */
#define HUB_STORE_KEEP_ROLLOUTS 1000

/* A new, active rollout row; its document comes with hub_store_rollout_put(). */
int hub_store_rollout_add(hub_store *store, const char *appset, const char *revision,
                          int64_t now_ms, int64_t *id_out);
/* Store a rollout's JSON document; `active` 0 once it has ended. */
int hub_store_rollout_put(hub_store *store, int64_t id, int active, const char *doc,
                          int64_t now_ms);
/* Rollout documents newest first (*out a JSON array), all or active only. */
int hub_store_rollout_list(hub_store *store, int active_only, size_t limit, json_t **out);

#endif
