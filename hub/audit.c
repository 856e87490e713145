/* audit.c -- the audit log in the hub's store: who did what, when, with which result */
#include "audit.h"

#include "gitfleet/error.h"
#include "gitfleet/redact.h"
#include "gitfleet/wire.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_DETAIL_MAX 512

struct hub_audit {
    sqlite3 *db;
    pthread_mutex_t lock;
    unsigned writes; /* trim every so often, not on every row */
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

int hub_audit_open(hub_audit **out, const char *db_path)
{
    hub_audit *a = calloc(1, sizeof(*a));

    *out = NULL;
    if (a == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    pthread_mutex_init(&a->lock, NULL);
    if (sqlite3_open_v2(db_path, &a->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(a->db, 5000) != SQLITE_OK ||
        sqlite3_exec(a->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        int error = gf_error_set(GF_EIO, "audit log %s: %s", db_path, sqlite3_errmsg(a->db));
        hub_audit_close(a);
        return error;
    }
    *out = a;
    return 0;
}

void hub_audit_close(hub_audit *a)
{
    if (a == NULL)
        return;
    sqlite3_close(a->db);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

/* Bound the table: keep the newest HUB_AUDIT_KEEP rows. */
static void trim(hub_audit *a)
{
    char sql[160];

    snprintf(sql, sizeof(sql), "DELETE FROM audit WHERE id <= (SELECT max(id) FROM audit) - %d",
             HUB_AUDIT_KEEP);
    sqlite3_exec(a->db, sql, NULL, NULL, NULL);
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
    pthread_mutex_lock(&a->lock);
    if (sqlite3_prepare_v2(a->db,
                           "INSERT INTO audit (time_ms, who, method, path, detail, status, "
                           "message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &st, NULL) != SQLITE_OK)
        error = gf_error_set(GF_EIO, "audit log: %s", sqlite3_errmsg(a->db));
    else {
        sqlite3_bind_int64(st, 1, gf_wire_now_ms());
        sqlite3_bind_text(st, 2, who ? who : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, method ? method : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, path ? path : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, clean_detail, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 6, (int)status);
        sqlite3_bind_text(st, 7, clean_msg, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            error = gf_error_set(GF_EIO, "audit log: %s", sqlite3_errmsg(a->db));
    }
    sqlite3_finalize(st);
    if (error == 0 && ++a->writes % 1000 == 0)
        trim(a);
    pthread_mutex_unlock(&a->lock);
    return error;
}

int hub_audit_list(hub_audit *a, size_t limit, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *rows = json_array();

    *out = NULL;
    pthread_mutex_lock(&a->lock);
    if (sqlite3_prepare_v2(a->db,
                           "SELECT time_ms, who, method, path, detail, status, message FROM audit "
                           "ORDER BY id DESC LIMIT ?1",
                           -1, &st, NULL) != SQLITE_OK) {
        int error = gf_error_set(GF_EIO, "audit log: %s", sqlite3_errmsg(a->db));
        pthread_mutex_unlock(&a->lock);
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
    sqlite3_finalize(st);
    pthread_mutex_unlock(&a->lock);
    *out = rows;
    return 0;
}
