/* store.c -- the hub's durable state in SQLite: clusters, join tokens, bundles, reports, history */
#include "store.h"

#include "gitfleet/error.h"
#include "gitfleet/hash.h"
#include "gitfleet/wire.h"
#include "latest.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define STORE_STMT_CACHE                                                                           \
    96                               /* prepared statements kept (the store and the modules with   \
                                      * tables of their own have fewer) */
#define STORE_BATCH_MAX_MS      200  /* a batch transaction commits at least this often */
#define STORE_BATCH_LAZY_MAX_MS 1000 /* ... or this often when only lazy ends come */
#define STORE_LATEST_BUDGET     (256u << 20) /* newest bundles kept in memory (latest.h) */
#define STORE_EXTERNAL_CHECK_MS 250          /* how often to look for another process's writes */
#define STORE_CHECKPOINT_FRAMES 1000  /* WAL pages that make a checkpoint due (SQLite's default) */
#define STORE_CHECKPOINT_FORCE  65536 /* ... due even inside a batch (256 MiB of 4 KiB pages) */

/* A statement prepared once and reused: preparing costs more than running
 * most of our statements. */
struct cached_stmt {
    char *sql;
    sqlite3_stmt *stmt;
    int in_use;
};

struct hub_store {
    sqlite3 *db;
    pthread_mutex_t lock;
    int64_t nonces_purged_ms; /* when expired nonces were last deleted */
    struct cached_stmt stmts[STORE_STMT_CACHE];
    int n_stmts;
    int batch_depth;             /* callers inside hub_store_batch_begin/end */
    int64_t batch_opened_ms;     /* when the open transaction began, 0: none */
    int batch_failed;            /* a commit of the batch failed: batch_end says so */
    hub_latest *latest;          /* each cluster's newest bundle, as written (own lock) */
    int64_t data_version;        /* SQLite's count of other connections' commits */
    int64_t external_checked_ms; /* when it was last read (atomic) */
    /* Which clusters have pins, operations or prune allowances: see
     * hub_store_overrides_may_have(). */
    uint64_t overrides_version;     /* bumped after each write that adds one (atomic) */
    pthread_mutex_t overrides_lock; /* the list below */
    uint64_t overrides_built;       /* the version the list was read at; UINT64_MAX: never */
    int overrides_unreadable;       /* the query failed: any cluster may have some */
    char **override_clusters;       /* sorted by strcmp */
    size_t n_override_clusters;
};

/* Pages freed by deletes (old bundles, removed clusters) go back to the
 * file system: incremental auto-vacuum (set before the first table), run by
 * hub_store_compact(). The WAL file is not cut back below 256 MiB (the most
 * a batch lets it grow): a pass at 10,000 clusters writes 120-170 MiB to it,
 * and writing into a file cut to nothing allocated and zeroed every block
 * again (a quarter of the render threads' time). */
#define STORE_COMPACT_PAGES 256 /* free pages worth giving back (1 MiB of 4 KiB pages) */

static const char schema[] =
    "PRAGMA auto_vacuum=INCREMENTAL;"
    "PRAGMA journal_mode=WAL;"
    "PRAGMA journal_size_limit=268435456;"
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA foreign_keys=ON;"
    /* SQLite's default page cache (2 MiB) holds a few hundred clusters'
     * rows: past that every statement re-reads and re-parses its B-tree
     * pages. 64 MiB, allocated only as pages are used. */
    "PRAGMA cache_size=-65536;"
    "PRAGMA temp_store=MEMORY;"
    "CREATE TABLE IF NOT EXISTS clusters ("
    "  name TEXT PRIMARY KEY, public_key BLOB, joined_ms INTEGER NOT NULL DEFAULT 0,"
    "  last_seen_ms INTEGER NOT NULL DEFAULT 0, applied_generation INTEGER NOT NULL DEFAULT 0,"
    "  applied_revision TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS tokens ("
    "  hash TEXT PRIMARY KEY, cluster TEXT NOT NULL, expires_ms INTEGER NOT NULL,"
    "  used_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS nonces ("
    "  cluster TEXT NOT NULL, nonce TEXT NOT NULL, expires_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (cluster, nonce));"
    "CREATE INDEX IF NOT EXISTS nonces_by_expiry ON nonces (expires_ms);"
    "CREATE TABLE IF NOT EXISTS bundles ("
    "  cluster TEXT NOT NULL, generation INTEGER NOT NULL, content_hash TEXT NOT NULL,"
    "  revision TEXT NOT NULL, created_ms INTEGER NOT NULL, signed BLOB NOT NULL,"
    "  PRIMARY KEY (cluster, generation));"
    /* Only the latest report of each cluster: agents report every 30 s and
     * on every change, and a report of 1,000 objects is hundreds of KB. What
     * changed over time goes to `history`, one row per app result. */
    "CREATE TABLE IF NOT EXISTS reports ("
    "  cluster TEXT PRIMARY KEY, time_ms INTEGER NOT NULL, generation INTEGER NOT NULL,"
    "  revision TEXT NOT NULL, report TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS allow_prune ("
    "  cluster TEXT NOT NULL, app TEXT NOT NULL, expires_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (cluster, app));"
    "CREATE TABLE IF NOT EXISTS history ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, cluster TEXT NOT NULL, app TEXT NOT NULL,"
    "  time_ms INTEGER NOT NULL, generation INTEGER NOT NULL, revision TEXT NOT NULL,"
    "  result TEXT NOT NULL, message TEXT NOT NULL);"
    /* Progressive rollouts (hub/rollouts.c): one JSON document each. */
    "CREATE TABLE IF NOT EXISTS rollouts ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, appset TEXT NOT NULL, revision TEXT NOT NULL,"
    "  active INTEGER NOT NULL, updated_ms INTEGER NOT NULL, doc TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS rollouts_active ON rollouts (active, id);"
    /* Issue 15: each cluster's age recipients for sealed secrets. The current
     * one has retires_ms 0; after a rotation the old one is kept, and still
     * listed, until its grace period ends. */
    "CREATE TABLE IF NOT EXISTS secret_recipients ("
    "  cluster TEXT NOT NULL, recipient TEXT NOT NULL, created_ms INTEGER NOT NULL,"
    "  retires_ms INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (cluster, recipient));"
    "CREATE TABLE IF NOT EXISTS secret_rotations ("
    "  cluster TEXT PRIMARY KEY, id TEXT NOT NULL, requested_ms INTEGER NOT NULL,"
    "  grace_ms INTEGER NOT NULL, done_ms INTEGER NOT NULL DEFAULT 0);";

static int db_error(hub_store *store, const char *what)
{
    return gf_error_set(GF_EIO, "store: %s: %s", what, sqlite3_errmsg(store->db));
}

/* The single integer a PRAGMA returns; -1 on error. */
static int64_t pragma_int(hub_store *store, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    int64_t v = -1;

    if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

/*
 * SQLite's own automatic checkpoint runs inside the commit that finds the
 * WAL over 1,000 pages: under our lock, with two fsyncs (~16 ms here).
 * During a sync pass, whose render threads commit every 200 ms, that held
 * the pass and the agent endpoint's workers several times a second. This
 * hook replaces it: the checkpoint waits for a commit that leaves no batch
 * open (a pass keeps its batch open throughout; after the pass,
 * hub_store_compact() does it), unless the WAL has grown past
 * STORE_CHECKPOINT_FORCE pages.
 */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    hub_store *store = arg;

    if (frames >= STORE_CHECKPOINT_FORCE ||
        (frames >= STORE_CHECKPOINT_FRAMES && store->batch_depth == 0))
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

int hub_store_open(hub_store **out, const char *path)
{
    hub_store *store;
    char *msg = NULL;

    *out = NULL;
    if ((store = calloc(1, sizeof(*store))) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    pthread_mutex_init(&store->lock, NULL);
    pthread_mutex_init(&store->overrides_lock, NULL);
    store->overrides_built = UINT64_MAX;
    if (hub_latest_new(&store->latest, STORE_LATEST_BUDGET) < 0) {
        hub_store_close(store);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    if (sqlite3_open_v2(path, &store->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        int error = gf_error_set(GF_EIO, "store: cannot open %s: %s", path,
                                 store->db ? sqlite3_errmsg(store->db) : "out of memory");
        hub_store_close(store);
        return error;
    }
    sqlite3_busy_timeout(store->db, 5000);
    sqlite3_wal_hook(store->db, wal_hook, store);
    if (sqlite3_exec(store->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        int error = gf_error_set(GF_EIO, "store: %s: %s", path, msg ? msg : "schema failed");
        sqlite3_free(msg);
        hub_store_close(store);
        return error;
    }
    if (pragma_int(store, "PRAGMA auto_vacuum") == 0) {
        /* a hub.db from before incremental vacuum: converting needs one VACUUM */
        if (sqlite3_exec(store->db, "PRAGMA auto_vacuum=INCREMENTAL; VACUUM;", NULL, NULL, NULL) !=
            SQLITE_OK) {
            int error = db_error(store, "converting to incremental vacuum");
            hub_store_close(store);
            return error;
        }
    }
    *out = store;
    return 0;
}

static void free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

void hub_store_close(hub_store *store)
{
    if (store == NULL)
        return;
    if (store->batch_opened_ms)
        sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL);
    for (int i = 0; i < store->n_stmts; i++) {
        sqlite3_finalize(store->stmts[i].stmt);
        free(store->stmts[i].sql);
    }
    sqlite3_close(store->db);
    hub_latest_free(store->latest);
    free_names(store->override_clusters, store->n_override_clusters);
    pthread_mutex_destroy(&store->overrides_lock);
    pthread_mutex_destroy(&store->lock);
    free(store);
}

/* Prepare `sql` (reused from the cache when it was prepared before) or set
 * the error; the caller holds the lock and gives it back with release(). */
static int prepare(hub_store *store, sqlite3_stmt **stmt, const char *sql)
{
    for (int i = 0; i < store->n_stmts; i++)
        if (!store->stmts[i].in_use && store->stmts[i].sql &&
            strcmp(store->stmts[i].sql, sql) == 0) {
            store->stmts[i].in_use = 1;
            *stmt = store->stmts[i].stmt;
            return 0;
        }
    if (sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL) != SQLITE_OK)
        return db_error(store, "prepare");
    if (store->n_stmts < STORE_STMT_CACHE)
        store->stmts[store->n_stmts++] = (struct cached_stmt){strdup(sql), *stmt, 1};
    return 0;
}

/* Done with a statement from prepare() (NULL is fine). */
static void release(hub_store *store, sqlite3_stmt *stmt)
{
    if (stmt == NULL)
        return;
    for (int i = 0; i < store->n_stmts; i++)
        if (store->stmts[i].stmt == stmt) {
            sqlite3_reset(stmt);
            sqlite3_clear_bindings(stmt);
            store->stmts[i].in_use = 0;
            return;
        }
    sqlite3_finalize(stmt); /* prepared when the cache was full */
}

/* ---- for modules with tables of their own ---- */

void hub_store_lock(hub_store *store)
{
    pthread_mutex_lock(&store->lock);
}

void hub_store_unlock(hub_store *store)
{
    pthread_mutex_unlock(&store->lock);
}

int hub_store_prepare(hub_store *store, sqlite3_stmt **out, const char *sql)
{
    return prepare(store, out, sql);
}

void hub_store_release(hub_store *store, sqlite3_stmt *stmt)
{
    release(store, stmt);
}

static int step_done(hub_store *store, sqlite3_stmt *stmt, const char *what);

int hub_store_step_done(hub_store *store, sqlite3_stmt *stmt, const char *what)
{
    return step_done(store, stmt, what);
}

int hub_store_exec(hub_store *store, const char *sql)
{
    char *msg = NULL;
    int error = 0;

    if (sqlite3_exec(store->db, sql, NULL, NULL, &msg) != SQLITE_OK)
        error = gf_error_set(GF_EIO, "store: %s", msg ? msg : sqlite3_errmsg(store->db));
    sqlite3_free(msg);
    return error;
}

int hub_store_changes(hub_store *store)
{
    return sqlite3_changes(store->db);
}

/* ---- batches ---- */

/* Roll the open transaction back: the newest bundles kept in memory may be
 * among what it took back, so they are read from the database again. */
static void rollback(hub_store *store)
{
    sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
    hub_latest_clear(store->latest);
}

int hub_store_batch_begin(hub_store *store)
{
    int error = 0;

    pthread_mutex_lock(&store->lock);
    if (store->batch_depth++ == 0 && store->batch_opened_ms == 0) {
        if (sqlite3_exec(store->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK)
            store->batch_opened_ms = gf_wire_now_ms();
        else
            error = db_error(store, "begin");
    }
    pthread_mutex_unlock(&store->lock);
    return error;
}

static int batch_end(hub_store *store, int64_t max_open_ms)
{
    int error = 0;

    pthread_mutex_lock(&store->lock);
    store->batch_depth--;
    if (store->batch_failed) {
        store->batch_failed = 0;
        error = gf_error_set(GF_EIO, "store: a batch was not committed");
    }
    /* Commit when the last batch ends, or when batches overlap for so long
     * that the transaction would never end; then go on in a new one. */
    if (store->batch_opened_ms != 0 &&
        (store->batch_depth == 0 || gf_wire_now_ms() - store->batch_opened_ms >= max_open_ms)) {
        store->batch_opened_ms = 0;
        if (sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            error = db_error(store, "commit");
            rollback(store);
        }
        if (store->batch_depth > 0 &&
            sqlite3_exec(store->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK)
            store->batch_opened_ms = gf_wire_now_ms();
    }
    pthread_mutex_unlock(&store->lock);
    return error;
}

int hub_store_batch_end(hub_store *store)
{
    return batch_end(store, STORE_BATCH_MAX_MS);
}

int hub_store_batch_end_lazy(hub_store *store)
{
    return batch_end(store, STORE_BATCH_LAZY_MAX_MS);
}

/* Commit the open batch's transaction (a failure is reported at the batch's end). */
static void commit_open_batch(hub_store *store)
{
    if (store->batch_opened_ms != 0) {
        store->batch_opened_ms = 0;
        if (sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            store->batch_failed = 1;
            rollback(store);
        }
    }
}

/* The batches still open go on in a new transaction. */
static void reopen_batch(hub_store *store)
{
    if (store->batch_depth > 0 &&
        sqlite3_exec(store->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK)
        store->batch_opened_ms = gf_wire_now_ms();
}

/*
 * A change that must be durable when the call returns, whole or not at all
 * (a cluster row with its token), even while the sync thread's batch is
 * open: the batch so far is committed first, then this runs in its own
 * transaction, then the batch goes on. The caller holds the lock.
 */
static int own_begin(hub_store *store)
{
    commit_open_batch(store);
    if (sqlite3_exec(store->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_error(store, "begin");
    return 0;
}

static int own_end(hub_store *store, int error)
{
    if (error == 0 && sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        error = db_error(store, "commit");
    if (error < 0)
        rollback(store);
    reopen_batch(store);
    return error;
}

/*
 * After a pass. The agent endpoint's workers may have a batch open (they
 * end theirs lazily, and while reports keep coming one nearly always is):
 * its transaction is committed here and goes on in a new one, so that the
 * checkpoint writes the whole WAL back and the next pass starts it from
 * its beginning. Waiting for a moment with no batch open put the
 * checkpoint (0.1-0.6 s under the lock) into the next pass, or let the
 * WAL grow until a checkpoint was forced in the middle of one.
 */
int hub_store_compact(hub_store *store, int64_t *freed_pages_out)
{
    int error = 0;
    int64_t free_pages;

    if (freed_pages_out)
        *freed_pages_out = 0;
    pthread_mutex_lock(&store->lock);
    commit_open_batch(store);
    if ((free_pages = pragma_int(store, "PRAGMA freelist_count")) >= STORE_COMPACT_PAGES) {
        if (sqlite3_exec(store->db, "PRAGMA incremental_vacuum", NULL, NULL, NULL) != SQLITE_OK)
            error = db_error(store, "compact");
        else if (freed_pages_out)
            *freed_pages_out = free_pages;
    }
    if (error == 0 && sqlite3_wal_checkpoint_v2(store->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL,
                                                NULL) != SQLITE_OK)
        error = db_error(store, "checkpoint");
    reopen_batch(store);
    pthread_mutex_unlock(&store->lock);
    return error;
}

/* Run a statement that returns no rows; SQLITE_CONSTRAINT maps to ECONFLICT. */
static int step_done(hub_store *store, sqlite3_stmt *stmt, const char *what)
{
    int rc = sqlite3_step(stmt);

    if (rc == SQLITE_DONE)
        return 0;
    if (rc == SQLITE_CONSTRAINT)
        return gf_error_set(GF_ECONFLICT, "store: %s: %s", what, sqlite3_errmsg(store->db));
    return db_error(store, what);
}

static const char *column_text(sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    return text ? (const char *)text : "";
}

static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);

    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int hub_store_token_add(hub_store *store, const char *cluster, const char *token_hash,
                        int64_t expires_ms)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    pthread_mutex_lock(&store->lock);
    if ((error = own_begin(store)) < 0)
        goto unlock;
    if ((error = prepare(store, &stmt, "INSERT OR IGNORE INTO clusters (name) VALUES (?1)")) < 0)
        goto out;
    sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
    if ((error = step_done(store, stmt, "add cluster")) < 0)
        goto out;
    release(store, stmt);
    stmt = NULL;
    /* A new token replaces the cluster's unused ones: only the newest works. */
    if ((error = prepare(store, &stmt, "DELETE FROM tokens WHERE cluster = ?1 AND used_ms = 0")) <
        0)
        goto out;
    sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
    if ((error = step_done(store, stmt, "replace tokens")) < 0)
        goto out;
    release(store, stmt);
    stmt = NULL;
    if ((error = prepare(store, &stmt,
                         "INSERT INTO tokens (hash, cluster, expires_ms) VALUES (?1, ?2, ?3)")) < 0)
        goto out;
    sqlite3_bind_text(stmt, 1, token_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, expires_ms);
    error = step_done(store, stmt, "add token");
out:
    release(store, stmt);
    error = own_end(store, error);
unlock:
    pthread_mutex_unlock(&store->lock);
    return error;
}

int hub_store_token_redeem(hub_store *store, char cluster_out[HUB_STORE_NAME_MAX],
                           const char *token_hash, int64_t now_ms)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    cluster_out[0] = '\0';
    pthread_mutex_lock(&store->lock);
    if ((error = prepare(store, &stmt,
                         "SELECT cluster, expires_ms, used_ms FROM tokens WHERE hash = ?1")) < 0)
        goto out;
    sqlite3_bind_text(stmt, 1, token_hash, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        error = gf_error_set(GF_EPERM, "join token is not valid");
        goto out;
    }
    if (sqlite3_column_int64(stmt, 2) != 0) {
        error = gf_error_set(GF_EPERM, "join token was already used");
        goto out;
    }
    if (sqlite3_column_int64(stmt, 1) <= now_ms) {
        error = gf_error_set(GF_EPERM, "join token has expired");
        goto out;
    }
    copy_text(cluster_out, HUB_STORE_NAME_MAX, column_text(stmt, 0));
    release(store, stmt);
    stmt = NULL;
    if ((error = prepare(store, &stmt, "UPDATE tokens SET used_ms = ?2 WHERE hash = ?1")) < 0)
        goto out;
    sqlite3_bind_text(stmt, 1, token_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, now_ms);
    error = step_done(store, stmt, "use token");
out:
    release(store, stmt);
    pthread_mutex_unlock(&store->lock);
    return error;
}

int hub_store_cluster_set_key(hub_store *store, const char *cluster,
                              const unsigned char public_key[32], int64_t now_ms)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    pthread_mutex_lock(&store->lock);
    if ((error = prepare(store, &stmt,
                         "UPDATE clusters SET public_key = ?2, joined_ms = ?3 WHERE name = ?1")) <
        0)
        goto out;
    sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 2, public_key, 32, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, now_ms);
    if ((error = step_done(store, stmt, "set key")) == 0 && sqlite3_changes(store->db) == 0)
        error = gf_error_set(GF_ENOTFOUND, "cluster '%s' is not known", cluster);
    if (error == 0)
        hub_latest_rejoin(store->latest, cluster);
out:
    release(store, stmt);
    pthread_mutex_unlock(&store->lock);
    return error;
}

#define CLUSTER_COLUMNS                                                                            \
    "name, public_key, joined_ms, last_seen_ms, applied_generation, applied_revision"

static void read_cluster(sqlite3_stmt *stmt, struct hub_store_cluster *c)
{
    memset(c, 0, sizeof(*c));
    copy_text(c->name, sizeof(c->name), column_text(stmt, 0));
    if (sqlite3_column_bytes(stmt, 1) == 32) {
        memcpy(c->public_key, sqlite3_column_blob(stmt, 1), 32);
        c->joined = 1;
    }
    c->joined_ms = sqlite3_column_int64(stmt, 2);
    c->last_seen_ms = sqlite3_column_int64(stmt, 3);
    c->applied_generation = (uint64_t)sqlite3_column_int64(stmt, 4);
    copy_text(c->applied_revision, sizeof(c->applied_revision), column_text(stmt, 5));
}

int hub_store_cluster_get(hub_store *store, const char *cluster, struct hub_store_cluster *out)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    pthread_mutex_lock(&store->lock);
    if ((error =
             prepare(store, &stmt, "SELECT " CLUSTER_COLUMNS " FROM clusters WHERE name = ?1")) < 0)
        goto out;
    sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        read_cluster(stmt, out);
    else
        error = gf_error_set(GF_ENOTFOUND, "cluster '%s' is not known", cluster);
out:
    release(store, stmt);
    pthread_mutex_unlock(&store->lock);
    return error;
}

int hub_store_cluster_list(hub_store *store, struct hub_store_cluster **out, size_t *count_out)
{
    sqlite3_stmt *stmt = NULL;
    struct hub_store_cluster *list = NULL;
    size_t count = 0, cap = 0;
    int error;

    *out = NULL;
    *count_out = 0;
    pthread_mutex_lock(&store->lock);
    if ((error = prepare(store, &stmt, "SELECT " CLUSTER_COLUMNS " FROM clusters ORDER BY name")) <
        0)
        goto out;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            struct hub_store_cluster *grown = realloc(list, cap * sizeof(*list));
            if (grown == NULL) {
                error = gf_error_set(GF_ENOMEM, "out of memory");
                goto out;
            }
            list = grown;
        }
        read_cluster(stmt, &list[count++]);
    }
    *out = list;
    *count_out = count;
    list = NULL;
out:
    free(list);
    release(store, stmt);
    pthread_mutex_unlock(&store->lock);
    return error;
}

/* Run one statement with the cluster name bound as ?1. */
static int exec_for_cluster(hub_store *store, const char *sql, const char *cluster)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    if ((error = prepare(store, &stmt, sql)) == 0) {
        sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
        error = step_done(store, stmt, sql);
    }
    release(store, stmt);
    return error;
}

int hub_store_cluster_remove(hub_store *store, const char *cluster)
{
    int error;

    pthread_mutex_lock(&store->lock);
    if ((error = exec_for_cluster(store, "DELETE FROM clusters WHERE name = ?1", cluster)) == 0) {
        if (sqlite3_changes(store->db) == 0)
            error = gf_error_set(GF_ENOTFOUND, "cluster '%s' is not known", cluster);
        else if ((error = exec_for_cluster(store, "DELETE FROM tokens WHERE cluster = ?1",
                                           cluster)) == 0 &&
                 (error = exec_for_cluster(
                      store, "DELETE FROM secret_recipients WHERE cluster = ?1", cluster)) == 0)
            error =
                exec_for_cluster(store, "DELETE FROM secret_rotations WHERE cluster = ?1", cluster);
        if (error == 0)
            hub_latest_remove(store->latest, cluster);
    }
    pthread_mutex_unlock(&store->lock);
    return error;
}

/* ---- sealed-secret recipients and key rotations (issue 15) ---- */

/* Bind ?1 cluster, ?2 text, ?3 and ?4 integers, and run. */
static int exec4(hub_store *store, const char *sql, const char *cluster, const char *text,
                 int64_t a, int64_t b)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    if ((error = prepare(store, &stmt, sql)) == 0) {
        sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, a);
        sqlite3_bind_int64(stmt, 4, b);
        error = step_done(store, stmt, sql);
    }
    release(store, stmt);
    return error;
}

int hub_store_recipient_put(hub_store *store, const char *cluster, const char *recipient,
                            int64_t now_ms, int64_t grace_ms)
{
    int error;

    pthread_mutex_lock(&store->lock);
    /* Others still current retire after the grace (at once without one). */
    if ((error = exec4(store,
                       "UPDATE secret_recipients SET retires_ms = ?3 + ?4 WHERE cluster = ?1 "
                       "AND recipient != ?2 AND (retires_ms = 0 OR retires_ms > ?3 + ?4)",
                       cluster, recipient, now_ms, grace_ms)) == 0 &&
        (error = exec4(store,
                       "DELETE FROM secret_recipients WHERE cluster = ?1 AND recipient != ?2 "
                       "AND retires_ms <= ?3",
                       cluster, recipient, now_ms, 0)) == 0)
        error = exec4(store,
                      "INSERT INTO secret_recipients (cluster, recipient, created_ms, retires_ms) "
                      "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (cluster, recipient) DO UPDATE SET "
                      "retires_ms = 0",
                      cluster, recipient, now_ms, 0);
    pthread_mutex_unlock(&store->lock);
    return error;
}

int hub_store_recipients(hub_store *store, const char *cluster, int64_t now_ms, json_t **out)
{
    sqlite3_stmt *stmt = NULL;
    int error, rc;

    *out = json_array();
    pthread_mutex_lock(&store->lock);
    if ((error = prepare(store, &stmt,
                         "SELECT r.cluster, r.recipient, r.created_ms, r.retires_ms "
                         "FROM secret_recipients r JOIN clusters c ON c.name = r.cluster "
                         "WHERE c.public_key IS NOT NULL AND (?1 IS NULL OR r.cluster = ?1) "
                         "AND (r.retires_ms = 0 OR r.retires_ms > ?2) "
                         "ORDER BY r.cluster, r.retires_ms != 0, r.created_ms DESC")) == 0) {
        if (cluster)
            sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, now_ms);
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
            json_array_append_new(
                *out, json_pack("{s:s, s:s, s:I, s:I, s:b}", "cluster", column_text(stmt, 0),
                                "recipient", column_text(stmt, 1), "createdUnixMs",
                                (json_int_t)sqlite3_column_int64(stmt, 2), "retiresUnixMs",
                                (json_int_t)sqlite3_column_int64(stmt, 3), "current",
                                sqlite3_column_int64(stmt, 3) == 0));
        if (rc != SQLITE_DONE)
            error = db_error(store, "list recipients");
    }
    release(store, stmt);
    pthread_mutex_unlock(&store->lock);
    return error;
}

int hub_store_rotation_request(hub_store *store, const char *cluster, const char *id,
                               int64_t now_ms, int64_t grace_ms)
{
    int error;

    pthread_mutex_lock(&store->lock);
    error = exec4(store,
                  "INSERT INTO secret_rotations (cluster, id, requested_ms, grace_ms, done_ms) "
                  "VALUES (?1, ?2, ?3, ?4, 0) ON CONFLICT (cluster) DO UPDATE SET id = ?2, "
                  "requested_ms = ?3, grace_ms = ?4, done_ms = 0",
                  cluster, id, now_ms, grace_ms);
    pthread_mutex_unlock(&store->lock);
    return error;
}

int hub_store_rotation_get(hub_store *store, const char *cluster, struct hub_store_rotation *out)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&store->lock);
    if ((error = prepare(store, &stmt,
                         "SELECT id, requested_ms, grace_ms, done_ms FROM secret_rotations "
                         "WHERE cluster = ?1")) == 0) {
        sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) == SQLITE_ROW) {
            copy_text(out->id, sizeof(out->id), column_text(stmt, 0));
            out->requested_ms = sqlite3_column_int64(stmt, 1);
            out->grace_ms = sqlite3_column_int64(stmt, 2);
            out->done_ms = sqlite3_column_int64(stmt, 3);
        } else {
            error = gf_error_set(GF_ENOTFOUND, "no key rotation for cluster '%s'", cluster);
        }
    }
    release(store, stmt);
    pthread_mutex_unlock(&store->lock);
    return error;
}

int hub_store_rotation_done(hub_store *store, const char *cluster, const char *id, int64_t now_ms)
{
    int error;

    pthread_mutex_lock(&store->lock);
    error = exec4(store,
                  "UPDATE secret_rotations SET done_ms = ?3 WHERE cluster = ?1 AND id = ?2 "
                  "AND done_ms = 0",
                  cluster, id, now_ms, 0);
    pthread_mutex_unlock(&store->lock);
    return error;
}

int hub_store_cluster_touch(hub_store *store, const char *cluster, int64_t now_ms)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    pthread_mutex_lock(&store->lock);
    if ((error = prepare(store, &stmt, "UPDATE clusters SET last_seen_ms = ?2 WHERE name = ?1")) ==
        0) {
        sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, now_ms);
        error = step_done(store, stmt, "touch cluster");
    }
    release(store, stmt);
    pthread_mutex_unlock(&store->lock);
    return error;
}

int hub_store_nonce_use(hub_store *store, const char *cluster, const char *nonce_hex,
                        int64_t now_ms, int64_t expires_ms)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    pthread_mutex_lock(&store->lock);
    /* Expired nonces go at most once a second: every agent request lands
     * here, and the purge need not run for each. */
    if (now_ms - store->nonces_purged_ms >= 1000) {
        if ((error = prepare(store, &stmt, "DELETE FROM nonces WHERE expires_ms < ?1")) < 0)
            goto out;
        sqlite3_bind_int64(stmt, 1, now_ms);
        if ((error = step_done(store, stmt, "purge nonces")) < 0)
            goto out;
        release(store, stmt);
        stmt = NULL;
        store->nonces_purged_ms = now_ms;
    }
    if ((error = prepare(store, &stmt,
                         "INSERT INTO nonces (cluster, nonce, expires_ms) VALUES (?1, ?2, ?3)")) <
        0)
        goto out;
    sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, nonce_hex, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, expires_ms);
    if ((error = step_done(store, stmt, "use nonce")) == GF_ECONFLICT)
        gf_error_set(GF_ECONFLICT, "request nonce was already used (replay)");
out:
    release(store, stmt);
    pthread_mutex_unlock(&store->lock);
    return error;
}

void hub_store_bundle_clear(struct hub_store_bundle *b)
{
    if (b == NULL)
        return;
    free(b->signed_bytes);
    memset(b, 0, sizeof(*b));
}

static int read_bundle(sqlite3_stmt *stmt, struct hub_store_bundle *b)
{
    int len = sqlite3_column_bytes(stmt, 4);

    memset(b, 0, sizeof(*b));
    b->generation = (uint64_t)sqlite3_column_int64(stmt, 0);
    copy_text(b->content_hash, sizeof(b->content_hash), column_text(stmt, 1));
    copy_text(b->revision, sizeof(b->revision), column_text(stmt, 2));
    b->created_ms = sqlite3_column_int64(stmt, 3);
    if ((b->signed_bytes = malloc(len > 0 ? (size_t)len : 1)) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    if (len > 0)
        memcpy(b->signed_bytes, sqlite3_column_blob(stmt, 4), (size_t)len);
    b->signed_len = (size_t)len;
    return 0;
}

/* Select one bundle with `sql`, binding the cluster as ?1 and `generation` as
 * ?2 when non-zero. */
static int select_bundle(hub_store *store, const char *sql, const char *cluster,
                         uint64_t generation, struct hub_store_bundle *out)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&store->lock);
    if ((error = prepare(store, &stmt, sql)) < 0)
        goto out;
    sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
    if (generation != 0)
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)generation);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        error = read_bundle(stmt, out);
    else
        error = gf_error_set(GF_ENOTFOUND, "no bundle for cluster '%s'", cluster);
out:
    release(store, stmt);
    pthread_mutex_unlock(&store->lock);
    return error;
}

#define BUNDLE_COLUMNS "generation, content_hash, revision, created_ms, signed"

/* The newest bundles in memory mirror this connection's writes. Another
 * process may write the database too (an operator's sqlite3, a test that
 * plays a lying hub): at most every STORE_EXTERNAL_CHECK_MS, SQLite's
 * data_version tells, and then they are read from the database again. */
static void notice_external_writes(hub_store *store)
{
    int64_t now = gf_wire_now_ms();

    if (now - __atomic_load_n(&store->external_checked_ms, __ATOMIC_RELAXED) <
        STORE_EXTERNAL_CHECK_MS)
        return;
    /* Never wait for the lock here: answerers read the newest bundles
     * so as not to (a compact or a worker may hold it); the next call looks. */
    if (pthread_mutex_trylock(&store->lock) != 0)
        return;
    if (now - store->external_checked_ms >= STORE_EXTERNAL_CHECK_MS) {
        __atomic_store_n(&store->external_checked_ms, now, __ATOMIC_RELAXED);
        int64_t version = pragma_int(store, "PRAGMA data_version");
        if (version != store->data_version) {
            hub_latest_clear(store->latest);
            hub_store_overrides_added(store); /* perhaps: read them again */
        }
        store->data_version = version;
    }
    pthread_mutex_unlock(&store->lock);
}

int hub_store_cluster_removed(hub_store *store, const char *cluster)
{
    return hub_latest_removed(store->latest, cluster);
}

int hub_store_bundle_latest(hub_store *store, const char *cluster, struct hub_store_bundle *out)
{
    int error;

    notice_external_writes(store);
    if (hub_latest_get(store->latest, cluster, out, 1) == 0)
        return 0;
    error = select_bundle(store,
                          "SELECT " BUNDLE_COLUMNS " FROM bundles WHERE cluster = ?1 "
                          "ORDER BY generation DESC LIMIT 1",
                          cluster, 0, out);
    if (error == 0) /* e.g. the first read since the hub started */
        hub_latest_put(store->latest, cluster, out);
    return error;
}

int hub_store_bundle_head(hub_store *store, const char *cluster, uint64_t *generation_out,
                          char hash_out[65])
{
    sqlite3_stmt *stmt = NULL;
    struct hub_store_bundle kept;
    int error;

    *generation_out = 0;
    hash_out[0] = '\0';
    notice_external_writes(store);
    if (hub_latest_get(store->latest, cluster, &kept, 0) == 0) {
        *generation_out = kept.generation;
        memcpy(hash_out, kept.content_hash, 65);
        return 0;
    }
    pthread_mutex_lock(&store->lock);
    if ((error = prepare(store, &stmt,
                         "SELECT generation, content_hash FROM bundles WHERE cluster = ?1 "
                         "ORDER BY generation DESC LIMIT 1")) == 0) {
        sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            *generation_out = (uint64_t)sqlite3_column_int64(stmt, 0);
            copy_text(hash_out, 65, column_text(stmt, 1));
        } else if (rc != SQLITE_DONE) {
            error = db_error(store, "newest bundle");
        }
    }
    release(store, stmt);
    pthread_mutex_unlock(&store->lock);
    return error;
}

int hub_store_bundle_get(hub_store *store, const char *cluster, uint64_t generation,
                         struct hub_store_bundle *out)
{
    if (generation == 0)
        return gf_error_set(GF_EINVAL, "generation 0 does not exist");
    return select_bundle(
        store, "SELECT " BUNDLE_COLUMNS " FROM bundles WHERE cluster = ?1 AND generation = ?2",
        cluster, generation, out);
}

int hub_store_bundle_max_generation(hub_store *store, const char *cluster, uint64_t *out)
{
    char hash[65];

    return hub_store_bundle_head(store, cluster, out, hash);
}

int hub_store_bundle_put(hub_store *store, const char *cluster, const struct hub_store_bundle *b)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    pthread_mutex_lock(&store->lock);
    /* The insert only happens when no equal or newer generation exists, so
     * generations never go backwards even with two renders racing. */
    if ((error = prepare(store, &stmt,
                         "INSERT INTO bundles (cluster, generation, content_hash, revision, "
                         "created_ms, signed) SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE ?2 > "
                         "(SELECT COALESCE(MAX(generation), 0) FROM bundles WHERE cluster = ?1)")) <
        0)
        goto out;
    sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)b->generation);
    sqlite3_bind_text(stmt, 3, b->content_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, b->revision, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 5, b->created_ms);
    sqlite3_bind_blob(stmt, 6, b->signed_bytes, (int)b->signed_len, SQLITE_STATIC);
    if ((error = step_done(store, stmt, "put bundle")) == 0 && sqlite3_changes(store->db) == 0)
        error = gf_error_set(GF_ECONFLICT,
                             "bundle generation %llu for '%s' is not newer than the stored one",
                             (unsigned long long)b->generation, cluster);
    if (error < 0)
        goto out;
    hub_latest_put(store->latest, cluster, b);
    release(store, stmt);
    stmt = NULL;
    /* Old generations are history, not state: Git keeps the content, the
     * history table the outcomes. Keep the last HUB_STORE_KEEP_BUNDLES,
     * trimmed every HUB_STORE_TRIM_EVERY generations: a delete per publish
     * was a tenth of the hub's publish cost at fleet scale. Each cluster
     * trims at its own phase: a commit that changes the whole fleet moves
     * every cluster's generation together, and all of them trimming in
     * the same pass made that pass the slowest of four. */
    if ((b->generation + gf_hash_string(cluster)) % HUB_STORE_TRIM_EVERY != 0)
        goto out;
    if ((error = prepare(store, &stmt,
                         "DELETE FROM bundles WHERE cluster = ?1 AND generation <= ?2")) < 0)
        goto out;
    sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)b->generation - HUB_STORE_KEEP_BUNDLES);
    error = step_done(store, stmt, "drop old bundles");
out:
    release(store, stmt);
    pthread_mutex_unlock(&store->lock);
    return error;
}

int hub_store_report_put(hub_store *store, const char *cluster, int64_t time_ms,
                         uint64_t generation, const char *revision, const char *report_json)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    pthread_mutex_lock(&store->lock);
    if ((error = prepare(store, &stmt,
                         "INSERT INTO reports (cluster, time_ms, generation, revision, report) "
                         "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (cluster) DO UPDATE SET "
                         "time_ms = ?2, generation = ?3, revision = ?4, report = ?5")) < 0)
        goto out;
    sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, time_ms);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)generation);
    sqlite3_bind_text(stmt, 4, revision, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, report_json, -1, SQLITE_STATIC);
    if ((error = step_done(store, stmt, "put report")) < 0)
        goto out;
    release(store, stmt);
    stmt = NULL;
    if ((error = prepare(store, &stmt,
                         "UPDATE clusters SET last_seen_ms = ?2, applied_generation = ?3, "
                         "applied_revision = ?4 WHERE name = ?1")) < 0)
        goto out;
    sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, time_ms);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)generation);
    sqlite3_bind_text(stmt, 4, revision, -1, SQLITE_STATIC);
    error = step_done(store, stmt, "update cluster from report");
out:
    release(store, stmt);
    pthread_mutex_unlock(&store->lock);
    return error;
}

int hub_store_report_latest(hub_store *store, const char *cluster, json_t **out)
{
    sqlite3_stmt *stmt = NULL;
    json_error_t jerr;
    int error;

    *out = NULL;
    pthread_mutex_lock(&store->lock);
    if ((error = prepare(store, &stmt, "SELECT report FROM reports WHERE cluster = ?1")) < 0)
        goto out;
    sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        error = gf_error_set(GF_ENOTFOUND, "no report from cluster '%s'", cluster);
        goto out;
    }
    if ((*out = json_loads(column_text(stmt, 0), 0, &jerr)) == NULL)
        error =
            gf_error_set(GF_EIO, "store: stored report of '%s' is corrupt: %s", cluster, jerr.text);
out:
    release(store, stmt);
    pthread_mutex_unlock(&store->lock);
    return error;
}

int hub_store_history_add(hub_store *store, const char *cluster, const char *app, int64_t time_ms,
                          uint64_t generation, const char *revision, const char *result,
                          const char *message)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    pthread_mutex_lock(&store->lock);
    if ((error = prepare(store, &stmt,
                         "INSERT INTO history (cluster, app, time_ms, generation, revision, "
                         "result, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")) == 0) {
        sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, app, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, time_ms);
        sqlite3_bind_int64(stmt, 4, (sqlite3_int64)generation);
        sqlite3_bind_text(stmt, 5, revision, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 6, result, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 7, message ? message : "", -1, SQLITE_STATIC);
        error = step_done(store, stmt, "add history");
    }
    sqlite3_int64 id = sqlite3_last_insert_rowid(store->db);
    if (error == 0 && id % 1000 == 0) {
        /* A bounded audit trail: the newest HUB_STORE_KEEP_HISTORY results. */
        release(store, stmt);
        stmt = NULL;
        if ((error = prepare(store, &stmt, "DELETE FROM history WHERE id <= ?1")) == 0) {
            sqlite3_bind_int64(stmt, 1, id - HUB_STORE_KEEP_HISTORY);
            error = step_done(store, stmt, "trim history");
        }
    }
    release(store, stmt);
    pthread_mutex_unlock(&store->lock);
    return error;
}

static json_t *history_row(sqlite3_stmt *stmt)
{
    return json_pack("{s:I, s:s, s:s, s:I, s:s, s:s, s:s}", "time",
                     (json_int_t)sqlite3_column_int64(stmt, 0), "cluster", column_text(stmt, 1),
                     "app", column_text(stmt, 2), "generation",
                     (json_int_t)sqlite3_column_int64(stmt, 3), "revision", column_text(stmt, 4),
                     "result", column_text(stmt, 5), "message", column_text(stmt, 6));
}

int hub_store_history_list(hub_store *store, const char *cluster, const char *app, size_t limit,
                           json_t **out)
{
    sqlite3_stmt *stmt = NULL;
    json_t *rows = json_array();
    int error;

    *out = NULL;
    pthread_mutex_lock(&store->lock);
    if ((error = prepare(store, &stmt,
                         "SELECT time_ms, cluster, app, generation, revision, result, message "
                         "FROM history WHERE (?1 IS NULL OR cluster = ?1) AND "
                         "(?2 IS NULL OR app = ?2) ORDER BY time_ms DESC, id DESC LIMIT ?3")) < 0)
        goto out;
    if (cluster)
        sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
    if (app)
        sqlite3_bind_text(stmt, 2, app, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)limit);
    while (sqlite3_step(stmt) == SQLITE_ROW)
        json_array_append_new(rows, history_row(stmt));
    *out = rows;
    rows = NULL;
out:
    json_decref(rows);
    release(store, stmt);
    pthread_mutex_unlock(&store->lock);
    return error;
}

int hub_store_allow_prune(hub_store *store, const char *cluster, const char *app,
                          int64_t expires_ms)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    pthread_mutex_lock(&store->lock);
    if ((error = prepare(store, &stmt,
                         "INSERT INTO allow_prune (cluster, app, expires_ms) VALUES (?1, ?2, ?3) "
                         "ON CONFLICT (cluster, app) DO UPDATE SET expires_ms = ?3")) == 0) {
        sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, app, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, expires_ms);
        if ((error = step_done(store, stmt, "allow prune")) == 0)
            hub_store_overrides_added(store);
    }
    release(store, stmt);
    pthread_mutex_unlock(&store->lock);
    return error;
}

int hub_store_allowed_prunes(hub_store *store, const char *cluster, int64_t now_ms, json_t **out)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    *out = json_array();
    if (!hub_store_overrides_may_have(store, cluster))
        return 0;
    pthread_mutex_lock(&store->lock);
    if ((error = prepare(store, &stmt,
                         "SELECT app FROM allow_prune WHERE cluster = ?1 AND expires_ms > ?2 "
                         "ORDER BY app")) == 0) {
        sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, now_ms);
        while (sqlite3_step(stmt) == SQLITE_ROW)
            json_array_append_new(*out, json_string(column_text(stmt, 0)));
    }
    release(store, stmt);
    pthread_mutex_unlock(&store->lock);
    return error;
}

/* ---- which clusters have pins, operations or prune allowances ---- */

void hub_store_overrides_added(hub_store *store)
{
    __atomic_add_fetch(&store->overrides_version, 1, __ATOMIC_RELEASE);
}

/* The clusters with a row in any of the three tables, sorted (the lock held). */
static int read_override_clusters(hub_store *store, char ***out, size_t *count_out)
{
    sqlite3_stmt *stmt = NULL;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int error, rc = SQLITE_DONE;

    if ((error = prepare(store, &stmt,
                         "SELECT cluster FROM pins UNION SELECT cluster FROM app_operations "
                         "WHERE finished_ms = 0 UNION SELECT cluster FROM allow_prune "
                         "ORDER BY 1")) < 0)
        return error;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (n == cap) {
            char **grown = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof(*names));
            if (grown == NULL)
                break;
            names = grown;
        }
        if ((names[n] = strdup(column_text(stmt, 0))) == NULL)
            break;
        n++;
    }
    if (rc == SQLITE_ROW)
        error = gf_error_set(GF_ENOMEM, "out of memory");
    else if (rc != SQLITE_DONE)
        error = db_error(store, "clusters with pins or operations");
    release(store, stmt);
    if (error < 0) {
        free_names(names, n);
        return error;
    }
    *out = names;
    *count_out = n;
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Every publish looked up the cluster's pins, open operations and prune
 * allowances: three statements under the store's lock, which the agent
 * endpoint's low-priority workers hold much of the time during a pass (a
 * third of the render threads' time went to waiting for it, at 10,000
 * clusters). Nearly every cluster has none of them, so the store keeps the
 * list of those that do, read again after any write that adds one (the
 * version is bumped after the write, so a list read since has it).
 */
int hub_store_overrides_may_have(hub_store *store, const char *cluster)
{
    uint64_t version;
    int may_have;

    notice_external_writes(store);
    version = __atomic_load_n(&store->overrides_version, __ATOMIC_ACQUIRE);
    pthread_mutex_lock(&store->overrides_lock);
    if (store->overrides_built != version) {
        char **names = NULL;
        size_t n = 0;
        pthread_mutex_lock(&store->lock);
        int error = read_override_clusters(store, &names, &n);
        pthread_mutex_unlock(&store->lock);
        free_names(store->override_clusters, store->n_override_clusters);
        store->override_clusters = names;
        store->n_override_clusters = n;
        store->overrides_unreadable = error < 0; /* then every lookup goes to the tables */
        store->overrides_built = version;
    }
    may_have = store->overrides_unreadable ||
               (store->n_override_clusters > 0 &&
                bsearch(&cluster, store->override_clusters, store->n_override_clusters,
                        sizeof(char *), compare_names) != NULL);
    pthread_mutex_unlock(&store->overrides_lock);
    return may_have;
}

/* ---- rollouts ---- */

int hub_store_rollout_add(hub_store *store, const char *appset, const char *revision,
                          int64_t now_ms, int64_t *id_out)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    pthread_mutex_lock(&store->lock);
    if ((error = prepare(store, &stmt,
                         "INSERT INTO rollouts (appset, revision, active, updated_ms, doc) "
                         "VALUES (?1, ?2, 1, ?3, '{}')")) == 0) {
        sqlite3_bind_text(stmt, 1, appset, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, revision, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, now_ms);
        if ((error = step_done(store, stmt, "add rollout")) == 0)
            *id_out = sqlite3_last_insert_rowid(store->db);
    }
    release(store, stmt);
    pthread_mutex_unlock(&store->lock);
    return error;
}

/* Keep every active rollout and the newest finished ones. */
static int rollouts_trim(hub_store *store)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    if ((error = prepare(store, &stmt,
                         "DELETE FROM rollouts WHERE active = 0 AND id NOT IN (SELECT id FROM "
                         "rollouts WHERE active = 0 ORDER BY id DESC LIMIT ?1)")) == 0) {
        sqlite3_bind_int(stmt, 1, HUB_STORE_KEEP_ROLLOUTS);
        error = step_done(store, stmt, "trim rollouts");
    }
    release(store, stmt);
    return error;
}

int hub_store_rollout_put(hub_store *store, int64_t id, int active, const char *doc, int64_t now_ms)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    pthread_mutex_lock(&store->lock);
    if ((error = prepare(store, &stmt,
                         "UPDATE rollouts SET active = ?2, doc = ?3, updated_ms = ?4 "
                         "WHERE id = ?1")) == 0) {
        sqlite3_bind_int64(stmt, 1, id);
        sqlite3_bind_int(stmt, 2, active);
        sqlite3_bind_text(stmt, 3, doc, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 4, now_ms);
        error = step_done(store, stmt, "store rollout");
        if (error == 0 && sqlite3_changes(store->db) == 0)
            error = gf_error_set(GF_ENOTFOUND, "store: no rollout %lld", (long long)id);
    }
    release(store, stmt);
    if (error == 0 && !active)
        error = rollouts_trim(store);
    pthread_mutex_unlock(&store->lock);
    return error;
}

int hub_store_rollout_list(hub_store *store, int active_only, size_t limit, json_t **out)
{
    sqlite3_stmt *stmt = NULL;
    json_t *docs = json_array();
    int error;

    *out = NULL;
    pthread_mutex_lock(&store->lock);
    if ((error = prepare(store, &stmt,
                         "SELECT doc FROM rollouts WHERE (?1 = 0 OR active = 1) "
                         "ORDER BY id DESC LIMIT ?2")) < 0)
        goto out;
    sqlite3_bind_int(stmt, 1, active_only);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)limit);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        json_t *doc = json_loads((const char *)sqlite3_column_text(stmt, 0), 0, NULL);
        if (doc == NULL) {
            error = gf_error_set(GF_EIO, "store: a stored rollout is not JSON");
            goto out;
        }
        json_array_append_new(docs, doc);
    }
    *out = docs;
    docs = NULL;
out:
    json_decref(docs);
    release(store, stmt);
    pthread_mutex_unlock(&store->lock);
    return error;
}
