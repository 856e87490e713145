/* nametab.c -- a chained hash table of embedded links by name, doubling its buckets as it fills */
#include "nametab.h"

#include "gitfleet/error.h"
#include "gitfleet/hash.h"

#include <stdlib.h>
#include <string.h>

#define NAMETAB_FIRST_BUCKETS 1024

int hub_nametab_init(struct hub_nametab *t)
{
    t->count = 0;
    t->n_buckets = NAMETAB_FIRST_BUCKETS;
    if ((t->buckets = calloc(t->n_buckets, sizeof(*t->buckets))) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    return 0;
}

void hub_nametab_release(struct hub_nametab *t)
{
    free(t->buckets);
    t->buckets = NULL;
    t->n_buckets = t->count = 0;
}

static struct hub_name_link **slot(const struct hub_nametab *t, const char *name)
{
    struct hub_name_link **link = &t->buckets[gf_hash_string(name) % t->n_buckets];

    while (*link && strcmp((*link)->name, name) != 0)
        link = &(*link)->next;
    return link;
}

struct hub_name_link *hub_nametab_find(const struct hub_nametab *t, const char *name)
{
    return *slot(t, name);
}

/* Twice the buckets once there are more entries than buckets (a failed
 * allocation keeps the table as it is: longer chains, still correct). */
static void grow(struct hub_nametab *t)
{
    size_t n = t->n_buckets * 2;
    struct hub_name_link **buckets = calloc(n, sizeof(*buckets));

    if (buckets == NULL)
        return;
    for (size_t i = 0; i < t->n_buckets; i++)
        while (t->buckets[i]) {
            struct hub_name_link *e = t->buckets[i];
            t->buckets[i] = e->next;
            size_t k = gf_hash_string(e->name) % n;
            e->next = buckets[k];
            buckets[k] = e;
        }
    free(t->buckets);
    t->buckets = buckets;
    t->n_buckets = n;
}

void hub_nametab_insert(struct hub_nametab *t, struct hub_name_link *link)
{
    struct hub_name_link **at = slot(t, link->name);

    link->next = *at;
    *at = link;
    if (++t->count > t->n_buckets)
        grow(t);
}

struct hub_name_link *hub_nametab_remove(struct hub_nametab *t, const char *name)
{
    struct hub_name_link **at = slot(t, name), *link = *at;

    if (link != NULL) {
        *at = link->next;
        t->count--;
    }
    return link;
}

void hub_nametab_drain(struct hub_nametab *t, void (*each)(struct hub_name_link *link, void *arg),
                       void *arg)
{
    for (size_t i = 0; i < t->n_buckets; i++)
        while (t->buckets[i]) {
            struct hub_name_link *link = t->buckets[i];
            t->buckets[i] = link->next;
            t->count--;
            each(link, arg);
        }
}
