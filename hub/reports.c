/* reports.c -- each cluster's last report (parsed) and desired generation, kept in memory */
#include "reports.h"

#include "gitfleet/error.h"
#include "nametab.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    struct hub_name_link link; /* first: the table's, named by `name` */
    json_t *report;            /* NULL: none */
    int report_loaded;         /* the store was asked (or a report was put) */
    uint64_t desired;
    int desired_loaded;
    json_t *row;      /* status.c's row made from them, NULL: none */
    json_t *row_text; /* a JSON string, NULL: not made yet */
    struct hub_row_stamp row_stamp;
    char name[];
};

struct hub_reports {
    hub_store *store;
    pthread_mutex_t lock;
    struct hub_nametab table;
};

int hub_reports_new(hub_reports **out, hub_store *store)
{
    hub_reports *r = calloc(1, sizeof(*r));

    *out = NULL;
    if (r == NULL || hub_nametab_init(&r->table) < 0) {
        free(r);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    r->store = store;
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return 0;
}

/* The report or desired generation changed: the row made from them is stale. */
static void drop_row(struct entry *e)
{
    json_decref(e->row);
    json_decref(e->row_text);
    e->row = NULL;
    e->row_text = NULL;
}

static void entry_free(struct hub_name_link *link, void *arg)
{
    struct entry *e = (struct entry *)link;

    (void)arg;
    json_decref(e->report);
    drop_row(e);
    free(e);
}

void hub_reports_free(hub_reports *r)
{
    if (r == NULL)
        return;
    hub_nametab_drain(&r->table, entry_free, NULL);
    hub_nametab_release(&r->table);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* The cluster's entry, created when new; NULL only when out of memory.
 * Caller holds the lock. */
static struct entry *entry_of(hub_reports *r, const char *cluster)
{
    struct entry *e = (struct entry *)hub_nametab_find(&r->table, cluster);

    if (e != NULL)
        return e;
    if ((e = calloc(1, sizeof(*e) + strlen(cluster) + 1)) == NULL)
        return NULL;
    strcpy(e->name, cluster);
    e->link.name = e->name;
    hub_nametab_insert(&r->table, &e->link);
    return e;
}

json_t *hub_reports_get(hub_reports *r, const char *cluster)
{
    json_t *report = NULL;

    pthread_mutex_lock(&r->lock);
    struct entry *e = entry_of(r, cluster);
    if (e != NULL && !e->report_loaded) {
        /* First use since the start: the durable copy (an indexed lookup). */
        hub_store_report_latest(r->store, cluster, &e->report);
        e->report_loaded = 1;
    }
    if (e != NULL)
        report = json_incref(e->report);
    pthread_mutex_unlock(&r->lock);
    return report;
}

json_t *hub_reports_put(hub_reports *r, const char *cluster, json_t *report)
{
    json_t *previous = NULL;

    pthread_mutex_lock(&r->lock);
    struct entry *e = entry_of(r, cluster);
    if (e != NULL) {
        if (!e->report_loaded)
            hub_store_report_latest(r->store, cluster, &e->report);
        previous = e->report;
        e->report = json_incref(report);
        e->report_loaded = 1;
        drop_row(e);
    }
    pthread_mutex_unlock(&r->lock);
    return previous;
}

uint64_t hub_reports_desired(hub_reports *r, const char *cluster)
{
    uint64_t g = 0;

    pthread_mutex_lock(&r->lock);
    struct entry *e = entry_of(r, cluster);
    if (e != NULL && !e->desired_loaded) {
        hub_store_bundle_max_generation(r->store, cluster, &e->desired);
        e->desired_loaded = 1;
    }
    if (e != NULL)
        g = e->desired;
    pthread_mutex_unlock(&r->lock);
    return g;
}

void hub_reports_set_desired(hub_reports *r, const char *cluster, uint64_t generation)
{
    pthread_mutex_lock(&r->lock);
    struct entry *e = entry_of(r, cluster);
    if (e != NULL && (generation > e->desired || !e->desired_loaded)) {
        e->desired = generation;
        e->desired_loaded = 1;
        drop_row(e);
    }
    pthread_mutex_unlock(&r->lock);
}

void hub_reports_forget_desired(hub_reports *r, const char *cluster)
{
    pthread_mutex_lock(&r->lock);
    struct entry *e = entry_of(r, cluster);
    if (e != NULL) {
        e->desired_loaded = 0;
        drop_row(e);
    }
    pthread_mutex_unlock(&r->lock);
}

static int same_stamp(const struct hub_row_stamp *a, const struct hub_row_stamp *b)
{
    return a->report == b->report && a->desired == b->desired && a->pass == b->pass &&
           a->applied == b->applied && a->joined == b->joined &&
           strcmp(a->revision, b->revision) == 0;
}

int hub_reports_row_get(hub_reports *r, const char *cluster, const struct hub_row_stamp *stamp,
                        json_t **row, json_t **text)
{
    pthread_mutex_lock(&r->lock);
    struct entry *e = entry_of(r, cluster);
    int found = e != NULL && e->row != NULL && same_stamp(&e->row_stamp, stamp);
    *row = found ? json_incref(e->row) : NULL;
    *text = found ? json_incref(e->row_text) : NULL;
    pthread_mutex_unlock(&r->lock);
    return found;
}

void hub_reports_row_put(hub_reports *r, const char *cluster, const struct hub_row_stamp *stamp,
                         json_t *row, json_t *text)
{
    pthread_mutex_lock(&r->lock);
    struct entry *e = entry_of(r, cluster);
    /* A report that came while the row was made makes it stale at once. */
    if (e != NULL && e->report_loaded && e->report == stamp->report && e->desired_loaded &&
        e->desired == stamp->desired) {
        drop_row(e);
        e->row = json_incref(row);
        e->row_text = json_incref(text);
        e->row_stamp = *stamp;
    }
    pthread_mutex_unlock(&r->lock);
}
