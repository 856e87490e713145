/* latest.c -- each cluster's newest signed bundle, in a hash table with a byte budget */
#include "latest.h"

#include "gitfleet/error.h"
#include "gitfleet/hash.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    struct entry *next;
    struct hub_store_bundle bundle; /* none when removed */
    int removed;                    /* the cluster was removed: no bundle kept */
    char cluster[];
};

struct hub_latest {
    pthread_mutex_t lock;
    struct entry **buckets;
    size_t n_buckets, count;
    size_t bytes, budget; /* signed bytes held, and the most to hold */
};

int hub_latest_new(hub_latest **out, size_t budget_bytes)
{
    hub_latest *l = calloc(1, sizeof(*l));

    *out = NULL;
    if (l == NULL || (l->buckets = calloc(1024, sizeof(*l->buckets))) == NULL) {
        free(l);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    l->n_buckets = 1024;
    l->budget = budget_bytes;
    pthread_mutex_init(&l->lock, NULL);
    *out = l;
    return 0;
}

static void entry_free(hub_latest *l, struct entry *e)
{
    l->bytes -= e->bundle.signed_len;
    l->count--;
    free(e->bundle.signed_bytes);
    free(e);
}

static void clear_locked(hub_latest *l)
{
    for (size_t i = 0; i < l->n_buckets; i++)
        while (l->buckets[i]) {
            struct entry *e = l->buckets[i];
            l->buckets[i] = e->next;
            entry_free(l, e);
        }
}

void hub_latest_free(hub_latest *latest)
{
    if (latest == NULL)
        return;
    clear_locked(latest);
    free(latest->buckets);
    pthread_mutex_destroy(&latest->lock);
    free(latest);
}

static struct entry **find(hub_latest *l, const char *cluster)
{
    struct entry **link = &l->buckets[gf_hash_string(cluster) % l->n_buckets];

    while (*link && strcmp((*link)->cluster, cluster) != 0)
        link = &(*link)->next;
    return link;
}

/* Twice the buckets once there are more entries than buckets (a failed
 * allocation keeps the table as it is: longer chains, still correct). */
static void grow(hub_latest *l)
{
    size_t n = l->n_buckets * 2;
    struct entry **buckets = calloc(n, sizeof(*buckets));

    if (buckets == NULL)
        return;
    for (size_t i = 0; i < l->n_buckets; i++)
        while (l->buckets[i]) {
            struct entry *e = l->buckets[i];
            l->buckets[i] = e->next;
            size_t k = gf_hash_string(e->cluster) % n;
            e->next = buckets[k];
            buckets[k] = e;
        }
    free(l->buckets);
    l->buckets = buckets;
    l->n_buckets = n;
}

/* Put `e` (its cluster not in the table) in the table. */
static void insert(hub_latest *l, struct entry *e)
{
    struct entry **link = find(l, e->cluster);

    e->next = *link;
    *link = e;
    l->bytes += e->bundle.signed_len;
    if (++l->count > l->n_buckets)
        grow(l);
}

void hub_latest_put(hub_latest *latest, const char *cluster, const struct hub_store_bundle *b)
{
    size_t name_len = strlen(cluster) + 1;

    pthread_mutex_lock(&latest->lock);
    struct entry **link = find(latest, cluster), *old = *link;
    if (old != NULL && (old->removed || old->bundle.generation >= b->generation))
        goto out;      /* removed, or a newer one got here first */
    if (old != NULL) { /* replaced, or dropped when the new one does not fit */
        *link = old->next;
        entry_free(latest, old);
    }
    if (latest->bytes + b->signed_len > latest->budget)
        goto out; /* read from the database instead */
    struct entry *e = malloc(sizeof(*e) + name_len);
    unsigned char *bytes = malloc(b->signed_len ? b->signed_len : 1);
    if (e == NULL || bytes == NULL) {
        free(e);
        free(bytes);
        goto out;
    }
    memcpy(e->cluster, cluster, name_len);
    e->removed = 0;
    e->bundle = *b;
    memcpy(bytes, b->signed_bytes, b->signed_len);
    e->bundle.signed_bytes = bytes;
    insert(latest, e);
out:
    pthread_mutex_unlock(&latest->lock);
}

int hub_latest_get(hub_latest *latest, const char *cluster, struct hub_store_bundle *out,
                   int with_bytes)
{
    int error = 0;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&latest->lock);
    struct entry *e = *find(latest, cluster);
    if (e == NULL || e->removed) {
        error = GF_ENOTFOUND;
    } else {
        *out = e->bundle;
        out->signed_bytes = NULL;
        out->signed_len = 0;
        if (with_bytes) {
            if ((out->signed_bytes = malloc(e->bundle.signed_len ? e->bundle.signed_len : 1)) ==
                NULL)
                error = gf_error_set(GF_ENOMEM, "out of memory");
            else {
                memcpy(out->signed_bytes, e->bundle.signed_bytes, e->bundle.signed_len);
                out->signed_len = e->bundle.signed_len;
            }
        }
    }
    pthread_mutex_unlock(&latest->lock);
    return error;
}

void hub_latest_clear(hub_latest *latest)
{
    pthread_mutex_lock(&latest->lock);
    clear_locked(latest);
    pthread_mutex_unlock(&latest->lock);
}

void hub_latest_remove(hub_latest *latest, const char *cluster)
{
    size_t name_len = strlen(cluster) + 1;

    pthread_mutex_lock(&latest->lock);
    struct entry **link = find(latest, cluster), *e = *link;
    if (e != NULL) {
        *link = e->next;
        entry_free(latest, e);
    }
    /* Without memory for the mark, the store's read is what answers. */
    if ((e = calloc(1, sizeof(*e) + name_len)) != NULL) {
        memcpy(e->cluster, cluster, name_len);
        e->removed = 1;
        insert(latest, e);
    }
    pthread_mutex_unlock(&latest->lock);
}

void hub_latest_rejoin(hub_latest *latest, const char *cluster)
{
    pthread_mutex_lock(&latest->lock);
    struct entry **link = find(latest, cluster), *e = *link;
    if (e != NULL && e->removed) {
        *link = e->next;
        entry_free(latest, e);
    }
    pthread_mutex_unlock(&latest->lock);
}

int hub_latest_removed(hub_latest *latest, const char *cluster)
{
    pthread_mutex_lock(&latest->lock);
    struct entry *e = *find(latest, cluster);
    int removed = e != NULL && e->removed;
    pthread_mutex_unlock(&latest->lock);
    return removed;
}
