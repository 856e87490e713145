/* latest.h -- each cluster's newest signed bundle, kept in memory in front of the store */
#ifndef HUB_LATEST_H
#define HUB_LATEST_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Every agent request reads its cluster's newest bundle (a long-poll's
 * answer, the generation a fetch compares with) and every publish reads
 * the newest generation and content hash before it writes the next. At
 * fleet scale those reads, each a statement under the store's one lock,
 * queued the sync pass behind the agent endpoint's workers. The store
 * keeps the newest bundle of each cluster here as it writes it (write
 * through; the database stays the durable copy; a write by another process
 * is noticed through SQLite's data_version, see store.c) and answers those
 * reads without its lock. Entries are copies; a budget of bytes bounds the
 * whole (past it, bundles are read from the database as before).
 * Thread-safe.
 */
typedef struct hub_latest hub_latest;

int hub_latest_new(hub_latest **out, size_t budget_bytes);
void hub_latest_free(hub_latest *latest);

/* Remember `b` as the cluster's newest, unless a newer generation is known. */
void hub_latest_put(hub_latest *latest, const char *cluster, const struct hub_store_bundle *b);
/* A copy of the cluster's newest bundle into *out (free with
 * hub_store_bundle_clear); GF_ENOTFOUND when none is kept. `with_bytes`
 * 0: only the generation, hash, revision and time. */
int hub_latest_get(hub_latest *latest, const char *cluster, struct hub_store_bundle *out,
                   int with_bytes);
/* Forget every cluster's (a transaction that wrote bundles was rolled back). */
void hub_latest_clear(hub_latest *latest);

/* A removed cluster's entry goes and a mark stays until it joins again, so
 * that the agent endpoint can tell, without the store's lock, that a held
 * long-poll must not get the bundle a render stored after the removal. */
void hub_latest_remove(hub_latest *latest, const char *cluster);
void hub_latest_rejoin(hub_latest *latest, const char *cluster);
int hub_latest_removed(hub_latest *latest, const char *cluster);

#endif
