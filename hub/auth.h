/* auth.h -- who may call the hub's API: tokens with roles (admin, viewer, project roles) */
#ifndef HUB_AUTH_H
#define HUB_AUTH_H

#include "store.h"

#include <jansson.h>
#include <stdint.h>

/*
 * API tokens live in the hub's SQLite store (table api_tokens), only as
 * their SHA-256; the secret is shown once, at creation. Roles:
 *   admin    everything (the bootstrap token in <data-dir>/admin.token is one)
 *   viewer   every read (GET) of the API, metrics and dashboard
 *   project  reads, and operations (sync, rollback) on the apps of its
 *            listed projects
 * Reads need at least a viewer token unless anonymous-read is on;
 * /healthz is always open, and webhooks authenticate with their secret.
 * A missing token is "token required" (HTTP 401), a wrong, revoked or
 * expired one "invalid token" (401), a role too weak 403.
 */
typedef struct hub_auth hub_auth;

enum hub_auth_role { HUB_ROLE_NONE = 0, HUB_ROLE_VIEWER, HUB_ROLE_PROJECT, HUB_ROLE_ADMIN };

/* Who is calling; `name` is what the audit log records. */
struct hub_principal {
    char name[72];           /* the token's name, "admin", "anonymous" or "webhook" */
    enum hub_auth_role role; /* NONE: no token */
    char projects[512];      /* project role: "a,b" */
};

/* `is_admin(arg, token)` checks the bootstrap admin token (constant time).
 * The tokens table lives in the store's database, written through its one
 * connection (as the audit log: hub/audit.h). */
int hub_auth_open(hub_auth **out, hub_store *store, int anonymous_read,
                  int (*is_admin)(void *arg, const char *token), void *arg);
void hub_auth_close(hub_auth *a);

/*
 * The gate of every request: who `authorization` (the header, may be NULL)
 * names, and whether that one may call `method path` at all. 0 when allowed;
 * else GF_EPERM with the message and *status_out 401 or 403. App operations
 * (POST|PUT|DELETE under /api/v1/apps/) pass the gate for project roles:
 * their handlers must call hub_auth_may_operate() with the app's project.
 */
int hub_auth_request(hub_auth *a, const char *method, const char *path, const char *authorization,
                     struct hub_principal *who_out, unsigned *status_out);

/* May `who` sync or roll back an app of `project`? 0, or GF_EPERM naming
 * the token and the project. */
int hub_auth_may_operate(const struct hub_principal *who, const char *project);

/* ---- tokens ---- */

/* Create token `name` ("admin", "viewer" or "project" with `projects`, a
 * comma-separated list), valid until `expires_ms` (0: never). *secret_out is
 * malloc'd and shown once. GF_EEXISTS for a name in use. */
int hub_auth_token_create(hub_auth *a, const char *name, const char *role, const char *projects,
                          int64_t expires_ms, char **secret_out);
/* Every token: name, role, projects, created, expires, lastUsed, revoked. */
int hub_auth_token_list(hub_auth *a, json_t **out);
int hub_auth_token_revoke(hub_auth *a, const char *name);

const char *hub_auth_role_name(enum hub_auth_role role);

#endif
