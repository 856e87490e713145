/* clusterrows.h -- every cluster's row (key, last seen, applied generation) kept in memory in front
 * of the store */
#ifndef HUB_CLUSTERROWS_H
#define HUB_CLUSTERROWS_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

/*
 * The status list reads every cluster's row, and the agent endpoint one
 * row per request. Read from SQLite, each was a statement under the
 * store's one lock: the list waited there for the checkpoint after each
 * pass (up to ~0.4 s at 10,000 clusters), the endpoint's workers for the
 * pass. The store keeps the rows here as it writes them (write-through
 * under its lock; the database stays the durable copy). Until loaded, and
 * again after hub_cluster_rows_invalidate() (a rolled back transaction,
 * another process's write), the reads say "not known here" and the store
 * reads the database, then loads them. Thread-safe.
 */
typedef struct hub_cluster_rows hub_cluster_rows;

int hub_cluster_rows_new(hub_cluster_rows **out);
void hub_cluster_rows_free(hub_cluster_rows *rows);

/* Forget them all: reads go to the database until the next load. */
void hub_cluster_rows_invalidate(hub_cluster_rows *rows);
/* Take `list` (sorted by name, as the database orders them) as every row. */
void hub_cluster_rows_load(hub_cluster_rows *rows, const struct hub_store_cluster *list,
                           size_t count);

/* 1 and a copy of every row, sorted by name (free *out); 0 when not loaded;
 * GF_ENOMEM. */
int hub_cluster_rows_list(hub_cluster_rows *rows, struct hub_store_cluster **out,
                          size_t *count_out);
/* 1 and the cluster's row; 0 when it has none; -1 when not loaded. */
int hub_cluster_rows_get(hub_cluster_rows *rows, const char *cluster,
                         struct hub_store_cluster *out);

/* Write-through, each after the store's statement did it (no-ops while
 * not loaded, and for clusters that have no row). */
void hub_cluster_rows_add(hub_cluster_rows *rows, const char *cluster);
void hub_cluster_rows_remove(hub_cluster_rows *rows, const char *cluster);
void hub_cluster_rows_set_key(hub_cluster_rows *rows, const char *cluster,
                              const unsigned char public_key[32], int64_t joined_ms);
void hub_cluster_rows_seen(hub_cluster_rows *rows, const char *cluster, int64_t last_seen_ms);
void hub_cluster_rows_applied(hub_cluster_rows *rows, const char *cluster, int64_t last_seen_ms,
                              uint64_t generation, const char *revision);

#endif
