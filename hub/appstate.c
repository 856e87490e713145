/* appstate.c -- the states each cluster's apps were published and synced at, kept to roll back to
 */
#include "appstate.h"

#include "gitfleet/error.h"

#include <ctype.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS app_contents ("
    "  hash TEXT PRIMARY KEY, app BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS app_states ("
    "  cluster TEXT NOT NULL, app TEXT NOT NULL, hash TEXT NOT NULL, revision TEXT NOT NULL,"
    "  generation INTEGER NOT NULL, published_ms INTEGER NOT NULL,"
    "  synced_generation INTEGER NOT NULL DEFAULT 0, synced_ms INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (cluster, app, hash));"
    "CREATE INDEX IF NOT EXISTS app_states_by_hash ON app_states (hash);"
    "CREATE TABLE IF NOT EXISTS app_git ("
    "  cluster TEXT NOT NULL, app TEXT NOT NULL, hash TEXT NOT NULL, revision TEXT NOT NULL,"
    "  PRIMARY KEY (cluster, app));"
    "CREATE INDEX IF NOT EXISTS app_git_by_hash ON app_git (hash);";

#define REF_COLUMNS "hash, revision, generation, synced_generation, published_ms, synced_ms"

int hub_appstate_init(hub_store *store)
{
    int error;

    hub_store_lock(store);
    error = hub_store_exec(store, schema);
    hub_store_unlock(store);
    return error;
}

static void read_ref(sqlite3_stmt *stmt, struct hub_appstate_ref *r)
{
    const unsigned char *hash = sqlite3_column_text(stmt, 0);
    const unsigned char *rev = sqlite3_column_text(stmt, 1);

    memset(r, 0, sizeof(*r));
    snprintf(r->hash, sizeof(r->hash), "%s", hash ? (const char *)hash : "");
    snprintf(r->revision, sizeof(r->revision), "%s", rev ? (const char *)rev : "");
    r->generation = (uint64_t)sqlite3_column_int64(stmt, 2);
    r->synced_generation = (uint64_t)sqlite3_column_int64(stmt, 3);
    r->published_ms = sqlite3_column_int64(stmt, 4);
    r->synced_ms = sqlite3_column_int64(stmt, 5);
}

/* The packed App as it is hashed: no revision, hash, pin fields. */
static int pack_content(uint8_t **out, size_t *len_out, const Gitfleet__App *app)
{
    Gitfleet__App copy = *app;

    copy.revision = NULL;
    copy.content_hash = NULL;
    copy.has_auto_sync_suspended = 0;
    copy.has_rollback_generation = 0;
    copy.rollback_revision = NULL;
    *len_out = gitfleet__app__get_packed_size(&copy);
    if ((*out = malloc(*len_out ? *len_out : 1)) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    gitfleet__app__pack(&copy, *out);
    return 0;
}

/* Run `sql` with the text arguments bound as ?1, ?2, ... (lock held). */
static int run(hub_store *store, const char *sql, const char *what, int n, const char *const *args)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    if ((error = hub_store_prepare(store, &stmt, sql)) == 0) {
        for (int i = 0; i < n; i++)
            sqlite3_bind_text(stmt, i + 1, args[i], -1, SQLITE_STATIC);
        error = hub_store_step_done(store, stmt, what);
    }
    hub_store_release(store, stmt);
    return error;
}

/* Run the DELETE `sql` (it ends in RETURNING hash) with (cluster, app) as
 * ?1 and ?2, then drop the content of each removed state that nothing names
 * any more: an indexed lookup per removed state, never a scan of every
 * content (which, once each cluster had its ten states, made every publish
 * cost as much as the whole fleet's history). */
static int delete_states(hub_store *store, const char *sql, const char *what,
                         const char *const *args)
{
    sqlite3_stmt *stmt = NULL;
    char(*hashes)[65] = NULL;
    size_t n = 0, cap = 0;
    int error, rc = SQLITE_DONE;

    if ((error = hub_store_prepare(store, &stmt, sql)) == 0) {
        sqlite3_bind_text(stmt, 1, args[0], -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, args[1], -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            if (n == cap) {
                char(*grown)[65] = realloc(hashes, (cap = cap ? 2 * cap : 4) * sizeof(*hashes));
                if (grown == NULL) {
                    error = gf_error_set(GF_ENOMEM, "out of memory");
                    break;
                }
                hashes = grown;
            }
            const unsigned char *hash = sqlite3_column_text(stmt, 0);
            snprintf(hashes[n++], sizeof(*hashes), "%s", hash ? (const char *)hash : "");
        }
        if (error == 0 && rc != SQLITE_DONE)
            error = gf_error_set(GF_EIO, "store: %s: %s", what, sqlite3_errstr(rc));
    }
    hub_store_release(store, stmt);
    for (size_t i = 0; i < n && error == 0; i++) {
        const char *hash = hashes[i];
        error = run(store,
                    "DELETE FROM app_contents WHERE hash = ?1 AND "
                    "NOT EXISTS (SELECT 1 FROM app_states WHERE hash = ?1) AND "
                    "NOT EXISTS (SELECT 1 FROM app_git WHERE hash = ?1)",
                    "drop unused content", 1, &hash);
    }
    free(hashes);
    return error;
}

/* How many states (cluster, app) has. */
static int64_t count_states(hub_store *store, const char *cluster, const char *app)
{
    sqlite3_stmt *stmt = NULL;
    int64_t n = -1;

    if (hub_store_prepare(store, &stmt,
                          "SELECT COUNT(*) FROM app_states WHERE cluster = ?1 AND app = ?2") == 0) {
        sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, app, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) == SQLITE_ROW)
            n = sqlite3_column_int64(stmt, 0);
    }
    hub_store_release(store, stmt);
    return n;
}

/* Keep the newest HUB_APPSTATE_KEEP synced and unsynced states of (cluster,
 * app), never Git's own; drop contents no state names any more. Only once
 * HUB_APPSTATE_SLACK states more than that have piled up: the two deletes
 * cost as much for one state as for several, and at fleet scale they were
 * the dearest part of a publish when they ran every time. */
static int trim(hub_store *store, const char *cluster, const char *app)
{
    const char *args[] = {cluster, app};
    int64_t n = count_states(store, cluster, app);
    int error;

    if (n >= 0 && n <= 2 * HUB_APPSTATE_KEEP + HUB_APPSTATE_SLACK)
        return 0;
    if ((error = delete_states(
             store,
             "DELETE FROM app_states WHERE cluster = ?1 AND app = ?2 AND synced_ms > 0 AND "
             "hash NOT IN (SELECT hash FROM app_git WHERE cluster = ?1 AND app = ?2) AND "
             "hash NOT IN (SELECT hash FROM app_states WHERE cluster = ?1 AND app = ?2 "
             "AND synced_ms > 0 ORDER BY synced_ms DESC LIMIT 10) RETURNING hash",
             "trim synced states", args)) < 0)
        return error;
    return delete_states(
        store,
        "DELETE FROM app_states WHERE cluster = ?1 AND app = ?2 AND synced_ms = 0 AND "
        "hash NOT IN (SELECT hash FROM app_git WHERE cluster = ?1 AND app = ?2) AND "
        "hash NOT IN (SELECT hash FROM app_states WHERE cluster = ?1 AND app = ?2 "
        "AND synced_ms = 0 ORDER BY published_ms DESC LIMIT 10) RETURNING hash",
        "trim published states", args);
}

static int put_content(hub_store *store, const char *hash, const uint8_t *bytes, size_t len)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    if ((error = hub_store_prepare(
             store, &stmt, "INSERT OR IGNORE INTO app_contents (hash, app) VALUES (?1, ?2)")) ==
        0) {
        sqlite3_bind_text(stmt, 1, hash, -1, SQLITE_STATIC);
        sqlite3_bind_blob(stmt, 2, bytes, (int)len, SQLITE_STATIC);
        error = hub_store_step_done(store, stmt, "put app content");
    }
    hub_store_release(store, stmt);
    return error;
}

static int put_state(hub_store *store, const char *cluster, const Gitfleet__App *app,
                     uint64_t generation, int64_t now_ms)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    if ((error = hub_store_prepare(
             store, &stmt,
             "INSERT OR IGNORE INTO app_states (cluster, app, hash, revision, generation, "
             "published_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")) == 0) {
        sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, app->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, app->content_hash, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 4, app->revision ? app->revision : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 5, (sqlite3_int64)generation);
        sqlite3_bind_int64(stmt, 6, now_ms);
        error = hub_store_step_done(store, stmt, "put app state");
    }
    hub_store_release(store, stmt);
    return error;
}

/* Is Git's state of (cluster, app) already `hash`? */
static int git_is(hub_store *store, const char *cluster, const char *app, const char *hash)
{
    sqlite3_stmt *stmt = NULL;
    int same = 0;

    if (hub_store_prepare(store, &stmt,
                          "SELECT 1 FROM app_git WHERE cluster = ?1 AND app = ?2 AND hash = ?3") ==
        0) {
        sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, app, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, hash, -1, SQLITE_STATIC);
        same = sqlite3_step(stmt) == SQLITE_ROW;
    }
    hub_store_release(store, stmt);
    return same;
}

int hub_appstate_put_git(hub_store *store, const char *cluster, const Gitfleet__App *app,
                         uint64_t generation, int64_t now_ms)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    int error;

    if (app->render_error || app->content_hash == NULL || strlen(app->content_hash) != 64 ||
        app->name == NULL)
        return 0;
    hub_store_lock(store);
    /* Most publishes change one app of many: the others are known already. */
    if (git_is(store, cluster, app->name, app->content_hash)) {
        hub_store_unlock(store);
        return 0;
    }
    const char *args[] = {cluster, app->name, app->content_hash,
                          app->revision ? app->revision : ""};
    if ((error = pack_content(&bytes, &len, app)) < 0 ||
        (error = put_content(store, app->content_hash, bytes, len)) < 0 ||
        (error = put_state(store, cluster, app, generation, now_ms)) < 0 ||
        (error = run(store,
                     "INSERT OR REPLACE INTO app_git (cluster, app, hash, revision) VALUES "
                     "(?1, ?2, ?3, ?4)",
                     "put git state", 4, args)) < 0)
        goto out;
    error = trim(store, cluster, app->name);
out:
    hub_store_unlock(store);
    free(bytes);
    return error;
}

/* One state by `sql` with (cluster, app) as ?1, ?2 (lock taken here). */
static int select_ref(hub_store *store, const char *sql, const char *cluster, const char *app,
                      struct hub_appstate_ref *out)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    memset(out, 0, sizeof(*out));
    hub_store_lock(store);
    if ((error = hub_store_prepare(store, &stmt, sql)) == 0) {
        sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, app, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) == SQLITE_ROW)
            read_ref(stmt, out);
        else
            error = GF_ENOTFOUND;
    }
    hub_store_release(store, stmt);
    hub_store_unlock(store);
    return error;
}

int hub_appstate_git(hub_store *store, const char *cluster, const char *app,
                     struct hub_appstate_ref *out)
{
    int error = select_ref(store,
                           "SELECT s.hash, g.revision, s.generation, s.synced_generation, "
                           "s.published_ms, s.synced_ms FROM app_git g JOIN app_states s ON "
                           "s.cluster = g.cluster AND s.app = g.app AND s.hash = g.hash "
                           "WHERE g.cluster = ?1 AND g.app = ?2",
                           cluster, app, out);

    if (error == GF_ENOTFOUND)
        return gf_error_set(GF_ENOTFOUND,
                            "the hub has published no state of app '%s' for "
                            "cluster '%s'",
                            app, cluster);
    return error;
}

int hub_appstate_mark_synced(hub_store *store, const char *cluster, const char *app,
                             const char *hash, uint64_t generation, int64_t time_ms, int *known_out)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    *known_out = 0;
    hub_store_lock(store);
    if ((error = hub_store_prepare(store, &stmt,
                                   "UPDATE app_states SET synced_generation = ?4, synced_ms = ?5 "
                                   "WHERE cluster = ?1 AND app = ?2 AND hash = ?3")) == 0) {
        sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, app, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 4, (sqlite3_int64)generation);
        sqlite3_bind_int64(stmt, 5, time_ms);
        if ((error = hub_store_step_done(store, stmt, "mark synced")) == 0)
            *known_out = hub_store_changes(store) > 0;
    }
    /* No trim here: marking adds no state (publish adds them, and trims),
     * and this runs for every report. */
    hub_store_release(store, stmt);
    hub_store_unlock(store);
    return error;
}

int hub_appstate_load(Gitfleet__App **out, hub_store *store, const char *hash)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    *out = NULL;
    hub_store_lock(store);
    if ((error = hub_store_prepare(store, &stmt, "SELECT app FROM app_contents WHERE hash = ?1")) ==
        0) {
        sqlite3_bind_text(stmt, 1, hash, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) != SQLITE_ROW)
            error = gf_error_set(GF_ENOTFOUND, "the hub no longer keeps app state %.12s", hash);
        else if ((*out = gitfleet__app__unpack(NULL, (size_t)sqlite3_column_bytes(stmt, 0),
                                               sqlite3_column_blob(stmt, 0))) == NULL)
            error = gf_error_set(GF_EIO, "stored app state %.12s is corrupt", hash);
    }
    hub_store_release(store, stmt);
    hub_store_unlock(store);
    return error;
}

int hub_appstate_synced(hub_store *store, const char *cluster, const char *app,
                        struct hub_appstate_ref **out, size_t *count_out)
{
    sqlite3_stmt *stmt = NULL;
    struct hub_appstate_ref *list = NULL;
    size_t n = 0;
    int error;

    *out = NULL;
    *count_out = 0;
    if ((list = calloc(HUB_APPSTATE_KEEP + 1, sizeof(*list))) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    hub_store_lock(store);
    if ((error = hub_store_prepare(store, &stmt,
                                   "SELECT " REF_COLUMNS " FROM app_states WHERE cluster = ?1 AND "
                                   "app = ?2 AND synced_ms > 0 ORDER BY synced_ms DESC, "
                                   "synced_generation DESC LIMIT 10")) == 0) {
        sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, app, -1, SQLITE_STATIC);
        while (n < HUB_APPSTATE_KEEP && sqlite3_step(stmt) == SQLITE_ROW)
            read_ref(stmt, &list[n++]);
    }
    hub_store_release(store, stmt);
    hub_store_unlock(store);
    if (error < 0) {
        free(list);
        return error;
    }
    *out = list;
    *count_out = n;
    return 0;
}

static int all_digits(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* Does state `r` answer to `to`? */
static int matches(const struct hub_appstate_ref *r, const char *to)
{
    size_t n = strlen(to);

    if (all_digits(to) && strtoull(to, NULL, 10) == r->synced_generation)
        return 1;
    return n >= 4 && (strncmp(r->revision, to, n) == 0 || strncmp(r->hash, to, n) == 0);
}

int hub_appstate_pick(hub_store *store, const char *cluster, const char *app, const char *to,
                      const char *current_hash, struct hub_appstate_ref *out)
{
    struct hub_appstate_ref *list = NULL;
    size_t n = 0;
    int error;

    memset(out, 0, sizeof(*out));
    if ((error = hub_appstate_synced(store, cluster, app, &list, &n)) < 0)
        return error;
    for (size_t i = 0; i < n; i++) {
        int fits =
            to ? matches(&list[i], to) : !(current_hash && strcmp(list[i].hash, current_hash) == 0);
        if (fits) {
            *out = list[i];
            free(list);
            return 0;
        }
    }
    free(list);
    if (to)
        return gf_error_set(GF_ENOTFOUND,
                            "app '%s' on cluster '%s' has no synced state at '%s' (the states "
                            "one may roll back to: gitfleet history %s)",
                            app, cluster, to, app);
    return gf_error_set(GF_ENOTFOUND,
                        "app '%s' on cluster '%s' has no earlier synced state to roll back to "
                        "(gitfleet history %s)",
                        app, cluster, app);
}

json_t *hub_appstate_json(const struct hub_appstate_ref *r)
{
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "hash", r->hash, "revision", r->revision,
                     "generation", (json_int_t)r->generation, "syncedGeneration",
                     (json_int_t)r->synced_generation, "publishedAt", (json_int_t)r->published_ms,
                     "syncedAt", (json_int_t)r->synced_ms);
}

int hub_appstate_git_all(hub_store *store, const char *cluster, json_t **out)
{
    sqlite3_stmt *stmt = NULL;
    json_t *apps = json_object();
    int error;

    *out = NULL;
    hub_store_lock(store);
    if ((error = hub_store_prepare(
             store, &stmt, "SELECT app, hash, revision FROM app_git WHERE cluster = ?1")) == 0) {
        sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
        while (sqlite3_step(stmt) == SQLITE_ROW)
            json_object_set_new(apps, (const char *)sqlite3_column_text(stmt, 0),
                                json_pack("{s:s, s:s}", "hash",
                                          (const char *)sqlite3_column_text(stmt, 1), "revision",
                                          (const char *)sqlite3_column_text(stmt, 2)));
    }
    hub_store_release(store, stmt);
    hub_store_unlock(store);
    if (error < 0) {
        json_decref(apps);
        return error;
    }
    *out = apps;
    return 0;
}
