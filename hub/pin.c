/* pin.c -- a cluster's app held at a stored state instead of the rendered one (rollback, rollouts)
 */
#include "pin.h"

#include "gitfleet/error.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS pins ("
    "  cluster TEXT NOT NULL, app TEXT NOT NULL, holder TEXT NOT NULL, hash TEXT NOT NULL,"
    "  generation INTEGER NOT NULL, revision TEXT NOT NULL, git_hash TEXT NOT NULL,"
    "  suspend INTEGER NOT NULL, release_on_change INTEGER NOT NULL, created_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (cluster, app));";

#define PIN_COLUMNS                                                                                \
    "cluster, app, holder, hash, generation, revision, git_hash, suspend, release_on_change, "     \
    "created_ms"

int hub_pin_init(hub_store *store)
{
    int error;

    hub_store_lock(store);
    error = hub_store_exec(store, schema);
    hub_store_unlock(store);
    hub_store_overrides_added(store); /* the table is there to be read now */
    return error;
}

static void copy_column(char *dst, size_t cap, sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);

    snprintf(dst, cap, "%s", text ? (const char *)text : "");
}

static void read_pin(sqlite3_stmt *stmt, struct hub_pin *p)
{
    memset(p, 0, sizeof(*p));
    copy_column(p->cluster, sizeof(p->cluster), stmt, 0);
    copy_column(p->app, sizeof(p->app), stmt, 1);
    copy_column(p->holder, sizeof(p->holder), stmt, 2);
    copy_column(p->hash, sizeof(p->hash), stmt, 3);
    p->generation = (uint64_t)sqlite3_column_int64(stmt, 4);
    copy_column(p->revision, sizeof(p->revision), stmt, 5);
    copy_column(p->git_hash, sizeof(p->git_hash), stmt, 6);
    p->suspend_auto_sync = sqlite3_column_int(stmt, 7);
    p->release_on_change = sqlite3_column_int(stmt, 8);
    p->created_ms = sqlite3_column_int64(stmt, 9);
}

int hub_pin_hold(hub_store *store, const struct hub_pin *pin)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    /* The state "" holds an app off a cluster that never had it (a rollout
     * that has not reached it yet); anything else is a kept state's hash. */
    if (pin->cluster[0] == '\0' || pin->app[0] == '\0' ||
        (strlen(pin->hash) != 64 && !(pin->hash[0] == '\0' && !pin->suspend_auto_sync)))
        return gf_error_set(GF_EINVAL, "a pin needs a cluster, an app and a content hash");
    hub_store_lock(store);
    if ((error = hub_store_prepare(store, &stmt,
                                   "INSERT OR REPLACE INTO pins (" PIN_COLUMNS ") VALUES "
                                   "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")) == 0) {
        sqlite3_bind_text(stmt, 1, pin->cluster, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, pin->app, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, pin->holder[0] ? pin->holder : "rollback", -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 4, pin->hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 5, (sqlite3_int64)pin->generation);
        sqlite3_bind_text(stmt, 6, pin->revision, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 7, pin->git_hash, -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 8, pin->suspend_auto_sync != 0);
        sqlite3_bind_int(stmt, 9, pin->release_on_change != 0);
        sqlite3_bind_int64(stmt, 10, pin->created_ms);
        if ((error = hub_store_step_done(store, stmt, "hold pin")) == 0)
            hub_store_overrides_added(store);
    }
    hub_store_release(store, stmt);
    hub_store_unlock(store);
    return error;
}

int hub_pin_release(hub_store *store, const char *cluster, const char *app, const char *holder,
                    int *released_out)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    if (released_out)
        *released_out = 0;
    hub_store_lock(store);
    if ((error = hub_store_prepare(store, &stmt,
                                   "DELETE FROM pins WHERE cluster = ?1 AND app = ?2 AND "
                                   "(?3 IS NULL OR holder = ?3)")) == 0) {
        sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, app, -1, SQLITE_STATIC);
        if (holder)
            sqlite3_bind_text(stmt, 3, holder, -1, SQLITE_STATIC);
        if ((error = hub_store_step_done(store, stmt, "release pin")) == 0 && released_out)
            *released_out = hub_store_changes(store) > 0;
    }
    hub_store_release(store, stmt);
    hub_store_unlock(store);
    return error;
}

int hub_pin_lookup(hub_store *store, const char *cluster, const char *app, struct hub_pin *out)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    memset(out, 0, sizeof(*out));
    hub_store_lock(store);
    if ((error = hub_store_prepare(
             store, &stmt, "SELECT " PIN_COLUMNS " FROM pins WHERE cluster = ?1 AND app = ?2")) ==
        0) {
        sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, app, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) == SQLITE_ROW)
            read_pin(stmt, out);
        else
            error =
                gf_error_set(GF_ENOTFOUND, "app '%s' of cluster '%s' is not pinned", app, cluster);
    }
    hub_store_release(store, stmt);
    hub_store_unlock(store);
    return error;
}

int hub_pin_list(hub_store *store, const char *cluster, struct hub_pin **out, size_t *count_out)
{
    sqlite3_stmt *stmt = NULL;
    struct hub_pin *list = NULL;
    size_t n = 0, cap = 0;
    int error;

    *out = NULL;
    *count_out = 0;
    if (cluster != NULL && !hub_store_overrides_may_have(store, cluster))
        return 0;
    hub_store_lock(store);
    if ((error = hub_store_prepare(store, &stmt,
                                   "SELECT " PIN_COLUMNS " FROM pins WHERE ?1 IS NULL OR "
                                   "cluster = ?1 ORDER BY cluster, app")) < 0)
        goto out;
    if (cluster)
        sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        if (n == cap) {
            struct hub_pin *grown = realloc(list, (cap = cap ? 2 * cap : 4) * sizeof(*list));
            if (grown == NULL) {
                error = gf_error_set(GF_ENOMEM, "out of memory");
                goto out;
            }
            list = grown;
        }
        read_pin(stmt, &list[n++]);
    }
    *out = list;
    *count_out = n;
    list = NULL;
out:
    free(list);
    hub_store_release(store, stmt);
    hub_store_unlock(store);
    return error;
}

const struct hub_pin *hub_pin_find(const struct hub_pin *pins, size_t count, const char *app)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(pins[i].app, app) == 0)
            return &pins[i];
    return NULL;
}
