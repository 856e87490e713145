/* nametab.h -- a table of entries by name (chained, growing with its entries) for structs that
 * embed its link */
#ifndef HUB_NAMETAB_H
#define HUB_NAMETAB_H

#include <stddef.h>

/*
 * The in-memory indexes by cluster name (hub/latest.c, hub/reports.c)
 * share this table. An entry embeds a struct hub_name_link as its first
 * member, its `name` pointing at the entry's own copy of the name; the
 * table never allocates or frees entries, only its buckets. Not
 * thread-safe: its owner's lock guards it.
 */
struct hub_name_link {
    struct hub_name_link *next;
    const char *name;
};

struct hub_nametab {
    struct hub_name_link **buckets;
    size_t n_buckets, count;
};

int hub_nametab_init(struct hub_nametab *t);
/* The buckets only: drain the entries first. */
void hub_nametab_release(struct hub_nametab *t);

struct hub_name_link *hub_nametab_find(const struct hub_nametab *t, const char *name);
/* Add `link` (its name not in the table yet). */
void hub_nametab_insert(struct hub_nametab *t, struct hub_name_link *link);
/* Take the entry of `name` out of the table: it, or NULL when none. */
struct hub_name_link *hub_nametab_remove(struct hub_nametab *t, const char *name);
/* Take every entry out, handing each to `each`. */
void hub_nametab_drain(struct hub_nametab *t, void (*each)(struct hub_name_link *link, void *arg),
                       void *arg);

#endif
