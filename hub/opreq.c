/* opreq.c -- operators' requests for one app (sync, rollback): stored, carried in bundles, finished
 */
#include "opreq.h"

#include "gitfleet/error.h"
#include "gitfleet/wire.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS app_operations ("
    "  id TEXT PRIMARY KEY, seq INTEGER NOT NULL, cluster TEXT NOT NULL, app TEXT NOT NULL,"
    "  kind TEXT NOT NULL, prune INTEGER NOT NULL, dry_run INTEGER NOT NULL,"
    "  force INTEGER NOT NULL, resources TEXT NOT NULL, requested_ms INTEGER NOT NULL,"
    "  requested_by TEXT NOT NULL, expires_ms INTEGER NOT NULL,"
    "  phase TEXT NOT NULL DEFAULT '', message TEXT NOT NULL DEFAULT '',"
    "  finished_ms INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS app_operations_open ON app_operations (cluster, finished_ms);"
    "CREATE INDEX IF NOT EXISTS app_operations_seq ON app_operations (seq);";

#define OP_COLUMNS                                                                                 \
    "id, cluster, app, kind, prune, dry_run, force, resources, requested_ms, requested_by, "       \
    "expires_ms, phase, message, finished_ms, state"

int hub_opreq_init(hub_store *store)
{
    int error;

    hub_store_lock(store);
    error = hub_store_exec(store, schema);
    hub_store_unlock(store);
    hub_store_overrides_added(store); /* the table is there to be read now */
    return error;
}

static const char *text(sqlite3_stmt *stmt, int col)
{
    const unsigned char *t = sqlite3_column_text(stmt, col);
    return t ? (const char *)t : "";
}

static int new_id(char out[40])
{
    unsigned char raw[8];
    int error;

    if ((error = gf_wire_random(raw, sizeof(raw))) < 0)
        return error;
    int n = snprintf(out, 40, "op-");
    for (size_t i = 0; i < sizeof(raw); i++)
        n += snprintf(out + n, (size_t)(40 - n), "%02x", raw[i]);
    return 0;
}

/* Drop the oldest requests beyond HUB_OPREQ_KEEP (lock held). */
static int trim(hub_store *store, sqlite3_int64 seq)
{
    sqlite3_stmt *stmt = NULL;
    int error;

    if (seq % 100 != 0)
        return 0;
    if ((error = hub_store_prepare(store, &stmt, "DELETE FROM app_operations WHERE seq <= ?1")) ==
        0) {
        sqlite3_bind_int64(stmt, 1, seq - HUB_OPREQ_KEEP);
        error = hub_store_step_done(store, stmt, "trim operations");
    }
    hub_store_release(store, stmt);
    return error;
}

int hub_opreq_add(hub_store *store, struct hub_opreq *req)
{
    sqlite3_stmt *stmt = NULL;
    char *resources = NULL;
    int error;

    if ((error = new_id(req->id)) < 0)
        return error;
    if ((resources = req->resources ? json_dumps(req->resources, JSON_COMPACT) : strdup("[]")) ==
        NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    hub_store_lock(store);
    if ((error = hub_store_prepare(
             store, &stmt,
             "INSERT INTO app_operations (id, seq, cluster, app, kind, prune, dry_run, force, "
             "resources, requested_ms, requested_by, expires_ms) VALUES (?1, (SELECT "
             "COALESCE(MAX(seq), 0) + 1 FROM app_operations), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
             "?10, ?11)")) == 0) {
        sqlite3_bind_text(stmt, 1, req->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, req->cluster, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, req->app, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 4, req->kind, -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 5, req->prune != 0);
        sqlite3_bind_int(stmt, 6, req->dry_run != 0);
        sqlite3_bind_int(stmt, 7, req->force != 0);
        sqlite3_bind_text(stmt, 8, resources, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 9, req->requested_ms);
        sqlite3_bind_text(stmt, 10, req->requested_by, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 11, req->expires_ms);
        if ((error = hub_store_step_done(store, stmt, "add operation")) == 0) {
            hub_store_overrides_added(store);
            error = trim(store, sqlite3_last_insert_rowid(sqlite3_db_handle(stmt)));
        }
    }
    hub_store_release(store, stmt);
    hub_store_unlock(store);
    free(resources);
    return error;
}

/* ---- into the bundle ---- */

static char *dup(const char *s)
{
    return strdup(s ? s : "");
}

static Gitfleet__ResourceId *resource_id(const json_t *r)
{
    Gitfleet__ResourceId *id = calloc(1, sizeof(*id));

    if (id == NULL)
        return NULL;
    gitfleet__resource_id__init(id);
    id->group = dup(json_string_value(json_object_get(r, "group")));
    id->version = dup(json_string_value(json_object_get(r, "version")));
    id->kind = dup(json_string_value(json_object_get(r, "kind")));
    id->namespace_ = dup(json_string_value(json_object_get(r, "namespace")));
    id->name = dup(json_string_value(json_object_get(r, "name")));
    return id;
}

static void free_op(Gitfleet__AppOperationRequest *op)
{
    if (op == NULL)
        return;
    free(op->id);
    free(op->app);
    free(op->kind);
    free(op->requested_by);
    for (size_t i = 0; i < op->n_resources; i++) {
        Gitfleet__ResourceId *id = op->resources[i];
        free(id->group);
        free(id->version);
        free(id->kind);
        free(id->namespace_);
        free(id->name);
        free(id);
    }
    free(op->resources);
    free(op);
}

static Gitfleet__AppOperationRequest *read_op(sqlite3_stmt *stmt)
{
    Gitfleet__AppOperationRequest *op = calloc(1, sizeof(*op));
    json_t *resources = json_loads(text(stmt, 7), 0, NULL);
    size_t i;
    json_t *r;

    if (op == NULL) {
        json_decref(resources);
        return NULL;
    }
    gitfleet__app_operation_request__init(op);
    op->id = dup(text(stmt, 0));
    op->app = dup(text(stmt, 2));
    op->kind = dup(text(stmt, 3));
    op->has_prune = op->has_dry_run = op->has_force = 1;
    op->prune = sqlite3_column_int(stmt, 4);
    op->dry_run = sqlite3_column_int(stmt, 5);
    op->force = sqlite3_column_int(stmt, 6);
    op->has_requested_unix_ms = op->has_expires_unix_ms = 1;
    op->requested_unix_ms = sqlite3_column_int64(stmt, 8);
    op->requested_by = dup(text(stmt, 9));
    op->expires_unix_ms = sqlite3_column_int64(stmt, 10);
    op->resources = calloc(json_array_size(resources) + 1, sizeof(*op->resources));
    json_array_foreach(resources, i,
                       r) if (op->resources && (op->resources[op->n_resources] = resource_id(r)))
        op->n_resources++;
    json_decref(resources);
    if (!op->id || !op->app || !op->kind || !op->requested_by || !op->resources) {
        free_op(op);
        return NULL;
    }
    return op;
}

void hub_opreq_proto_free(Gitfleet__AppOperationRequest **ops, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free_op(ops[i]);
    free(ops);
}

int hub_opreq_pending_proto(hub_store *store, const char *cluster, int64_t now_ms,
                            Gitfleet__AppOperationRequest ***out, size_t *count_out)
{
    sqlite3_stmt *stmt = NULL;
    Gitfleet__AppOperationRequest **ops = NULL;
    size_t n = 0, cap = 0;
    int error;

    *out = NULL;
    *count_out = 0;
    if (!hub_store_overrides_may_have(store, cluster))
        return 0;
    hub_store_lock(store);
    if ((error = hub_store_prepare(store, &stmt,
                                   "SELECT " OP_COLUMNS " FROM app_operations WHERE cluster = ?1 "
                                   "AND finished_ms = 0 AND expires_ms > ?2 ORDER BY seq")) < 0)
        goto out;
    sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, now_ms);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        if (n == cap) {
            Gitfleet__AppOperationRequest **grown =
                realloc(ops, (cap = cap ? 2 * cap : 4) * sizeof(*ops));
            if (grown == NULL) {
                error = gf_error_set(GF_ENOMEM, "out of memory");
                goto out;
            }
            ops = grown;
        }
        if ((ops[n] = read_op(stmt)) == NULL) {
            error = gf_error_set(GF_ENOMEM, "out of memory");
            goto out;
        }
        n++;
    }
    *out = ops;
    *count_out = n;
    ops = NULL;
out:
    if (ops)
        hub_opreq_proto_free(ops, n);
    hub_store_release(store, stmt);
    hub_store_unlock(store);
    return error;
}

/* ---- progress from the agents ---- */

static int finished_phase(const char *phase)
{
    return strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0 ||
           strcmp(phase, "Error") == 0;
}

int hub_opreq_update(hub_store *store, const char *cluster, const json_t *state, int64_t now_ms,
                     int *finished_out)
{
    const char *id = json_string_value(json_object_get(state, "id"));
    const char *phase = json_string_value(json_object_get(state, "phase"));
    const char *message = json_string_value(json_object_get(state, "message"));
    sqlite3_stmt *stmt = NULL;
    char *doc = NULL;
    int error;

    *finished_out = 0;
    if (id == NULL || id[0] == '\0' || phase == NULL || phase[0] == '\0')
        return 0;
    if ((doc = json_dumps(state, JSON_COMPACT)) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    hub_store_lock(store);
    /* Only an open request of this very cluster moves: a finished one stays
     * as it ended, and no agent can touch another cluster's. */
    if ((error =
             hub_store_prepare(store, &stmt,
                               "UPDATE app_operations SET phase = ?3, message = ?4, state = ?5, "
                               "finished_ms = ?6 WHERE id = ?1 AND cluster = ?2 AND "
                               "finished_ms = 0 AND (phase != ?3 OR state != ?5)")) == 0) {
        int done = finished_phase(phase);
        sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, cluster, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, phase, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 4, message ? message : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 5, doc, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 6, done ? now_ms : 0);
        if ((error = hub_store_step_done(store, stmt, "update operation")) == 0)
            *finished_out = done && hub_store_changes(store) > 0;
    }
    hub_store_release(store, stmt);
    hub_store_unlock(store);
    free(doc);
    return error;
}

static json_t *op_json(sqlite3_stmt *stmt, int64_t now_ms)
{
    json_t *resources = json_loads(text(stmt, 7), 0, NULL);
    json_t *state = text(stmt, 14)[0] ? json_loads(text(stmt, 14), 0, NULL) : NULL;
    const char *phase = text(stmt, 11);
    int64_t expires = sqlite3_column_int64(stmt, 10);

    if (phase[0] == '\0')
        phase = expires <= now_ms ? "Expired" : "Pending";
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:o, s:I, s:s, s:I, s:s, s:s, s:I, s:o}", "id",
        text(stmt, 0), "cluster", text(stmt, 1), "app", text(stmt, 2), "kind", text(stmt, 3),
        "prune", sqlite3_column_int(stmt, 4), "dryRun", sqlite3_column_int(stmt, 5), "force",
        sqlite3_column_int(stmt, 6), "resources", resources ? resources : json_array(),
        "requestedAt", (json_int_t)sqlite3_column_int64(stmt, 8), "requestedBy", text(stmt, 9),
        "expiresAt", (json_int_t)expires, "phase", phase, "message", text(stmt, 12), "finishedAt",
        (json_int_t)sqlite3_column_int64(stmt, 13), "state", state ? state : json_null());
}

int hub_opreq_list(hub_store *store, const char *cluster, const char *app, int64_t now_ms,
                   size_t limit, json_t **out)
{
    sqlite3_stmt *stmt = NULL;
    json_t *rows = json_array();
    int error;

    *out = NULL;
    hub_store_lock(store);
    if ((error = hub_store_prepare(store, &stmt,
                                   "SELECT " OP_COLUMNS " FROM app_operations WHERE (?1 IS NULL "
                                   "OR cluster = ?1) AND (?2 IS NULL OR app = ?2) ORDER BY seq "
                                   "DESC LIMIT ?3")) == 0) {
        if (cluster)
            sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
        if (app)
            sqlite3_bind_text(stmt, 2, app, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, (sqlite3_int64)limit);
        while (sqlite3_step(stmt) == SQLITE_ROW)
            json_array_append_new(rows, op_json(stmt, now_ms));
    }
    hub_store_release(store, stmt);
    hub_store_unlock(store);
    if (error < 0) {
        json_decref(rows);
        return error;
    }
    *out = rows;
    return 0;
}

int hub_opreq_open(hub_store *store, const char *cluster, int64_t now_ms, json_t **out)
{
    sqlite3_stmt *stmt = NULL;
    json_t *rows = json_array();
    int error;

    *out = NULL;
    hub_store_lock(store);
    /* Two statements, so that one cluster's query keeps its index. */
    if ((error = hub_store_prepare(
             store, &stmt,
             cluster ? "SELECT " OP_COLUMNS " FROM app_operations WHERE cluster = ?1 "
                       "AND finished_ms = 0 AND expires_ms > ?2 ORDER BY seq"
                     : "SELECT " OP_COLUMNS " FROM app_operations WHERE finished_ms = 0 "
                       "AND expires_ms > ?2 ORDER BY seq")) == 0) {
        if (cluster)
            sqlite3_bind_text(stmt, 1, cluster, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, now_ms);
        while (sqlite3_step(stmt) == SQLITE_ROW)
            json_array_append_new(rows, op_json(stmt, now_ms));
    }
    hub_store_release(store, stmt);
    hub_store_unlock(store);
    if (error < 0) {
        json_decref(rows);
        return error;
    }
    *out = rows;
    return 0;
}
