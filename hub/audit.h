/* audit.h -- the hub's audit log: every mutating API call and webhook, who, what, when, result */
#ifndef HUB_AUDIT_H
#define HUB_AUDIT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Kept in the hub's SQLite store (table audit), the newest 100,000 rows. */
typedef struct hub_audit hub_audit;

#define HUB_AUDIT_KEEP 100000

int hub_audit_open(hub_audit **out, const char *db_path);
void hub_audit_close(hub_audit *a);

/* One call: `who` (a token's name, "admin", "webhook", "anonymous"), the
 * method and path, a short detail (the request, credentials redacted), the
 * HTTP status and, when it failed, the message. */
int hub_audit_record(hub_audit *a, const char *who, const char *method, const char *path,
                     const char *detail, unsigned status, const char *message);

/* Newest first: [{"time","who","method","path","detail","status","message"}]. */
int hub_audit_list(hub_audit *a, size_t limit, json_t **out);

#endif
