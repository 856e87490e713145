/* latest.c -- each cluster's newest signed bundle, in a hash table with a byte budget */
#include "latest.h"

#include "gitfleet/error.h"
#include "nametab.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    struct hub_name_link link;      /* first: the table's, named by `cluster` */
    struct hub_store_bundle bundle; /* none when removed */
    int removed;                    /* the cluster was removed: no bundle kept */
    char cluster[];
};

struct hub_latest {
    pthread_mutex_t lock;
    struct hub_nametab table;
    size_t bytes, budget; /* signed bytes held, and the most to hold */
};

int hub_latest_new(hub_latest **out, size_t budget_bytes)
{
    hub_latest *l = calloc(1, sizeof(*l));

    *out = NULL;
    if (l == NULL || hub_nametab_init(&l->table) < 0) {
        free(l);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    l->budget = budget_bytes;
    pthread_mutex_init(&l->lock, NULL);
    *out = l;
    return 0;
}

/* Free an entry already out of the table. */
static void entry_free(struct hub_name_link *link, void *arg)
{
    hub_latest *l = arg;
    struct entry *e = (struct entry *)link;

    l->bytes -= e->bundle.signed_len;
    free(e->bundle.signed_bytes);
    free(e);
}

static void clear_locked(hub_latest *l)
{
    hub_nametab_drain(&l->table, entry_free, l);
}

void hub_latest_free(hub_latest *latest)
{
    if (latest == NULL)
        return;
    clear_locked(latest);
    hub_nametab_release(&latest->table);
    pthread_mutex_destroy(&latest->lock);
    free(latest);
}

static struct entry *find(hub_latest *l, const char *cluster)
{
    return (struct entry *)hub_nametab_find(&l->table, cluster);
}

/* Take the cluster's entry out and free it, if it has one. */
static void drop(hub_latest *l, const char *cluster)
{
    struct hub_name_link *link = hub_nametab_remove(&l->table, cluster);

    if (link != NULL)
        entry_free(link, l);
}

/* A new entry for `cluster` (not in the table), NULL without memory. */
static struct entry *entry_new(const char *cluster)
{
    size_t name_len = strlen(cluster) + 1;
    struct entry *e = calloc(1, sizeof(*e) + name_len);

    if (e != NULL) {
        memcpy(e->cluster, cluster, name_len);
        e->link.name = e->cluster;
    }
    return e;
}

static void insert(hub_latest *l, struct entry *e)
{
    l->bytes += e->bundle.signed_len;
    hub_nametab_insert(&l->table, &e->link);
}

void hub_latest_put(hub_latest *latest, const char *cluster, const struct hub_store_bundle *b)
{
    pthread_mutex_lock(&latest->lock);
    struct entry *old = find(latest, cluster);
    if (old != NULL && (old->removed || old->bundle.generation >= b->generation))
        goto out;          /* removed, or a newer one got here first */
    drop(latest, cluster); /* replaced, or dropped when the new one does not fit */
    if (latest->bytes + b->signed_len > latest->budget)
        goto out; /* read from the database instead */
    struct entry *e = entry_new(cluster);
    unsigned char *bytes = malloc(b->signed_len ? b->signed_len : 1);
    if (e == NULL || bytes == NULL) {
        free(e);
        free(bytes);
        goto out;
    }
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
    struct entry *e = find(latest, cluster);
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
    pthread_mutex_lock(&latest->lock);
    drop(latest, cluster);
    /* Without memory for the mark, the store's read is what answers. */
    struct entry *e = entry_new(cluster);
    if (e != NULL) {
        e->removed = 1;
        insert(latest, e);
    }
    pthread_mutex_unlock(&latest->lock);
}

void hub_latest_rejoin(hub_latest *latest, const char *cluster)
{
    pthread_mutex_lock(&latest->lock);
    struct entry *e = find(latest, cluster);
    if (e != NULL && e->removed)
        drop(latest, cluster);
    pthread_mutex_unlock(&latest->lock);
}

int hub_latest_removed(hub_latest *latest, const char *cluster)
{
    pthread_mutex_lock(&latest->lock);
    struct entry *e = find(latest, cluster);
    int removed = e != NULL && e->removed;
    pthread_mutex_unlock(&latest->lock);
    return removed;
}
