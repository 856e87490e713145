/* audit.h -- the hub's audit log: every mutating API call and webhook, who, what, when, result */
#ifndef HUB_AUDIT_H
#define HUB_AUDIT_H

#include "store.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Kept in the hub's SQLite store (table audit), the newest 100,000 rows. */
typedef struct hub_audit hub_audit;

#define HUB_AUDIT_KEEP 100000

/* The audit table lives in the store's database and is written through its
 * one connection (hub/store.h: a second connection's writes waited for a
 * sync pass's batch, and made the store drop what it keeps in memory). */
int hub_audit_open(hub_audit **out, hub_store *store);
void hub_audit_close(hub_audit *a);

/* One call: `who` (a token's name, "admin", "webhook", "anonymous"), the
 * method and path, a short detail (the request, credentials redacted), the
 * HTTP status and, when it failed, the message. */
int hub_audit_record(hub_audit *a, const char *who, const char *method, const char *path,
                     const char *detail, unsigned status, const char *message);

/* Newest first: [{"time","who","method","path","detail","status","message"}]. */
int hub_audit_list(hub_audit *a, size_t limit, json_t **out);

#endif
