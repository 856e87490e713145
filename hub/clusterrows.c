/* clusterrows.c -- every cluster's row kept in memory, sorted by name, in front of the store */
#include "clusterrows.h"

#include "gitfleet/error.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hub_cluster_rows {
    pthread_mutex_t lock; /* everything below */
    int loaded;
    struct hub_store_cluster *list; /* sorted by name (strcmp, as SQLite's BINARY) */
    size_t count, cap;
};

int hub_cluster_rows_new(hub_cluster_rows **out)
{
    hub_cluster_rows *rows = calloc(1, sizeof(*rows));

    *out = NULL;
    if (rows == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    pthread_mutex_init(&rows->lock, NULL);
    *out = rows;
    return 0;
}

void hub_cluster_rows_free(hub_cluster_rows *rows)
{
    if (rows == NULL)
        return;
    free(rows->list);
    pthread_mutex_destroy(&rows->lock);
    free(rows);
}

static void forget(hub_cluster_rows *rows)
{
    free(rows->list);
    rows->list = NULL;
    rows->count = rows->cap = 0;
    rows->loaded = 0;
}

void hub_cluster_rows_invalidate(hub_cluster_rows *rows)
{
    pthread_mutex_lock(&rows->lock);
    forget(rows);
    pthread_mutex_unlock(&rows->lock);
}

void hub_cluster_rows_load(hub_cluster_rows *rows, const struct hub_store_cluster *list,
                           size_t count)
{
    struct hub_store_cluster *copy = malloc((count ? count : 1) * sizeof(*copy));

    pthread_mutex_lock(&rows->lock);
    forget(rows);
    if (copy != NULL) { /* else not loaded: the database answers */
        memcpy(copy, list, count * sizeof(*copy));
        rows->list = copy;
        rows->count = rows->cap = count;
        rows->loaded = 1;
    }
    pthread_mutex_unlock(&rows->lock);
}

/* Where `cluster` is, or would go: *found says which (the lock held). */
static size_t position(const hub_cluster_rows *rows, const char *cluster, int *found)
{
    size_t lo = 0, hi = rows->count;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(rows->list[mid].name, cluster);
        if (cmp == 0) {
            *found = 1;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

/* The cluster's row, or NULL (the lock held; NULL too when not loaded). */
static struct hub_store_cluster *find(hub_cluster_rows *rows, const char *cluster)
{
    int found = 0;
    size_t at = rows->loaded ? position(rows, cluster, &found) : 0;

    return found ? &rows->list[at] : NULL;
}

int hub_cluster_rows_list(hub_cluster_rows *rows, struct hub_store_cluster **out, size_t *count_out)
{
    int result = 0;

    *out = NULL;
    *count_out = 0;
    pthread_mutex_lock(&rows->lock);
    if (rows->loaded) {
        if ((*out = malloc((rows->count ? rows->count : 1) * sizeof(**out))) == NULL)
            result = gf_error_set(GF_ENOMEM, "out of memory");
        else {
            memcpy(*out, rows->list, rows->count * sizeof(**out));
            *count_out = rows->count;
            result = 1;
        }
    }
    pthread_mutex_unlock(&rows->lock);
    return result;
}

int hub_cluster_rows_get(hub_cluster_rows *rows, const char *cluster, struct hub_store_cluster *out)
{
    int result;

    pthread_mutex_lock(&rows->lock);
    const struct hub_store_cluster *row = find(rows, cluster);
    if (!rows->loaded)
        result = -1;
    else if (row == NULL)
        result = 0;
    else {
        *out = *row;
        result = 1;
    }
    pthread_mutex_unlock(&rows->lock);
    return result;
}

void hub_cluster_rows_add(hub_cluster_rows *rows, const char *cluster)
{
    int found = 0;

    pthread_mutex_lock(&rows->lock);
    size_t at = rows->loaded ? position(rows, cluster, &found) : 0;
    if (rows->loaded && !found) {
        if (rows->count == rows->cap) {
            size_t cap = rows->cap ? 2 * rows->cap : 64;
            struct hub_store_cluster *grown = realloc(rows->list, cap * sizeof(*grown));
            if (grown == NULL) {
                forget(rows); /* the database answers until the next load */
                pthread_mutex_unlock(&rows->lock);
                return;
            }
            rows->list = grown;
            rows->cap = cap;
        }
        memmove(&rows->list[at + 1], &rows->list[at], (rows->count - at) * sizeof(*rows->list));
        memset(&rows->list[at], 0, sizeof(*rows->list));
        snprintf(rows->list[at].name, sizeof(rows->list[at].name), "%s", cluster);
        rows->count++;
    }
    pthread_mutex_unlock(&rows->lock);
}

void hub_cluster_rows_remove(hub_cluster_rows *rows, const char *cluster)
{
    int found = 0;

    pthread_mutex_lock(&rows->lock);
    size_t at = rows->loaded ? position(rows, cluster, &found) : 0;
    if (found) {
        memmove(&rows->list[at], &rows->list[at + 1], (rows->count - at - 1) * sizeof(*rows->list));
        rows->count--;
    }
    pthread_mutex_unlock(&rows->lock);
}

void hub_cluster_rows_set_key(hub_cluster_rows *rows, const char *cluster,
                              const unsigned char public_key[32], int64_t joined_ms)
{
    pthread_mutex_lock(&rows->lock);
    struct hub_store_cluster *row = find(rows, cluster);
    if (row != NULL) {
        memcpy(row->public_key, public_key, 32);
        row->joined = 1;
        row->joined_ms = joined_ms;
    }
    pthread_mutex_unlock(&rows->lock);
}

void hub_cluster_rows_seen(hub_cluster_rows *rows, const char *cluster, int64_t last_seen_ms)
{
    pthread_mutex_lock(&rows->lock);
    struct hub_store_cluster *row = find(rows, cluster);
    if (row != NULL)
        row->last_seen_ms = last_seen_ms;
    pthread_mutex_unlock(&rows->lock);
}

void hub_cluster_rows_applied(hub_cluster_rows *rows, const char *cluster, int64_t last_seen_ms,
                              uint64_t generation, const char *revision)
{
    pthread_mutex_lock(&rows->lock);
    struct hub_store_cluster *row = find(rows, cluster);
    if (row != NULL) {
        row->last_seen_ms = last_seen_ms;
        row->applied_generation = generation;
        snprintf(row->applied_revision, sizeof(row->applied_revision), "%s",
                 revision ? revision : "");
    }
    pthread_mutex_unlock(&rows->lock);
}
