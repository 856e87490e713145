/* audit.c -- the audit log in the hub's store: who did what, when, with which result */
#include "audit.h"

#include "gitfleet/error.h"
#include "gitfleet/redact.h"
#include "gitfleet/wire.h"
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_DETAIL_MAX 512

struct hub_audit {
    hub_store *store; /* its connection and lock: see hub_audit_open() */
    unsigned writes;  /* trim every so often, not on every row (the store's lock) */
};

static const char schema[] = "CREATE TABLE IF NOT EXISTS audit ("
                             " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                             " time_ms INTEGER NOT NULL,"
                             " who TEXT NOT NULL,"
                             " method TEXT NOT NULL,"
                             " path TEXT NOT NULL,"
                             " detail TEXT NOT NULL DEFAULT '',"
                             " status INTEGER NOT NULL,"
                             " message TEXT NOT NULL DEFAULT '');";

int hub_audit_open(hub_audit **out, hub_store *store)
{
    hub_audit *a = calloc(1, sizeof(*a));
    int error;

    *out = NULL;
    if (a == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    a->store = store;
    hub_store_lock(store);
    error = hub_store_exec(store, schema);
    hub_store_unlock(store);
    if (error < 0) {
        free(a);
        return error;
    }
    *out = a;
    return 0;
}

void hub_audit_close(hub_audit *a)
{
    free(a);
}

/* Bound the table: keep the newest HUB_AUDIT_KEEP rows (the lock held). */
static void trim(hub_audit *a)
{
    char sql[160];

    snprintf(sql, sizeof(sql), "DELETE FROM audit WHERE id <= (SELECT max(id) FROM audit) - %d",
             HUB_AUDIT_KEEP);
    hub_store_exec(a->store, sql);
}

int hub_audit_record(hub_audit *a, const char *who, const char *method, const char *path,
                     const char *detail, unsigned status, const char *message)
{
    char clean_detail[AUDIT_DETAIL_MAX + 64], clean_msg[1100];
    sqlite3_stmt *st = NULL;
    int error = 0;

    /* what is stored is what anyone reading the log may see */
    gf_redact_text(clean_detail, AUDIT_DETAIL_MAX, detail ? detail : "");
    gf_redact_text(clean_msg, sizeof(clean_msg), message ? message : "");
    hub_store_lock(a->store);
    if ((error = hub_store_prepare(a->store, &st,
                                   "INSERT INTO audit (time_ms, who, method, path, detail, "
                                   "status, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")) == 0) {
        sqlite3_bind_int64(st, 1, gf_wire_now_ms());
        sqlite3_bind_text(st, 2, who ? who : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, method ? method : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, path ? path : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, clean_detail, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 6, (int)status);
        sqlite3_bind_text(st, 7, clean_msg, -1, SQLITE_STATIC);
        error = hub_store_step_done(a->store, st, "audit log");
    }
    hub_store_release(a->store, st);
    if (error == 0 && ++a->writes % 1000 == 0)
        trim(a);
    hub_store_unlock(a->store);
    return error;
}

int hub_audit_list(hub_audit *a, size_t limit, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *rows = json_array();

    *out = NULL;
    hub_store_lock(a->store);
    int error = hub_store_prepare(a->store, &st,
                                  "SELECT time_ms, who, method, path, detail, status, message "
                                  "FROM audit ORDER BY id DESC LIMIT ?1");
    if (error < 0) {
        hub_store_unlock(a->store);
        json_decref(rows);
        return error;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)(limit ? limit : 100));
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(
            rows,
            json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:s}", "time",
                      (json_int_t)sqlite3_column_int64(st, 0), "who", sqlite3_column_text(st, 1),
                      "method", sqlite3_column_text(st, 2), "path", sqlite3_column_text(st, 3),
                      "detail", sqlite3_column_text(st, 4), "status", sqlite3_column_int(st, 5),
                      "message", sqlite3_column_text(st, 6)));
    hub_store_release(a->store, st);
    hub_store_unlock(a->store);
    *out = rows;
    return 0;
}
