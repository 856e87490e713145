/* auth.c -- API tokens with roles, stored hashed; the gate every API request passes */
#include "auth.h"

#include "gitfleet/doc.h"
#include "gitfleet/error.h"
#include "gitfleet/wire.h"
#include "store.h"
#include "ui.h"

#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AUTH_TOKEN_PREFIX "gft_"
#define AUTH_NAME_MAX     63

struct hub_auth {
    hub_store *store; /* its connection and lock: see hub_auth_open() */
    int anonymous_read;
    int (*is_admin)(void *arg, const char *token);
    void *arg;
};

static const char schema[] = "CREATE TABLE IF NOT EXISTS api_tokens ("
                             " name TEXT PRIMARY KEY,"
                             " role TEXT NOT NULL,"
                             " projects TEXT NOT NULL DEFAULT '',"
                             " hash TEXT NOT NULL UNIQUE,"
                             " created_ms INTEGER NOT NULL,"
                             " expires_ms INTEGER NOT NULL DEFAULT 0,"
                             " last_used_ms INTEGER NOT NULL DEFAULT 0,"
                             " revoked_ms INTEGER NOT NULL DEFAULT 0);";

int hub_auth_open(hub_auth **out, hub_store *store, int anonymous_read,
                  int (*is_admin)(void *arg, const char *token), void *arg)
{
    hub_auth *a = calloc(1, sizeof(*a));
    int error;

    *out = NULL;
    if (a == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    a->store = store;
    a->anonymous_read = anonymous_read;
    a->is_admin = is_admin;
    a->arg = arg;
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

void hub_auth_close(hub_auth *a)
{
    free(a);
}

const char *hub_auth_role_name(enum hub_auth_role role)
{
    switch (role) {
    case HUB_ROLE_ADMIN:
        return "admin";
    case HUB_ROLE_VIEWER:
        return "viewer";
    case HUB_ROLE_PROJECT:
        return "project";
    default:
        return "none";
    }
}

static enum hub_auth_role role_parse(const char *s)
{
    if (strcmp(s, "admin") == 0)
        return HUB_ROLE_ADMIN;
    if (strcmp(s, "viewer") == 0)
        return HUB_ROLE_VIEWER;
    if (strcmp(s, "project") == 0)
        return HUB_ROLE_PROJECT;
    return HUB_ROLE_NONE;
}

/* ---- who is calling ---- */

/* A stored token by the hash of the secret given: only hashes are compared,
 * and the final comparison is constant-time. */
static int lookup(hub_auth *a, const char *secret, struct hub_principal *who)
{
    char hash[65];
    sqlite3_stmt *st = NULL;
    int64_t now = gf_wire_now_ms();
    int found = 0;

    gf_sha256_hex(hash, secret, strlen(secret));
    hub_store_lock(a->store);
    if (hub_store_prepare(a->store, &st,
                          "SELECT name, role, projects, hash FROM api_tokens WHERE hash = ?1 "
                          "AND revoked_ms = 0 AND (expires_ms = 0 OR expires_ms > ?2)") == 0) {
        sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now);
        if (sqlite3_step(st) == SQLITE_ROW &&
            CRYPTO_memcmp(sqlite3_column_text(st, 3), hash, 64) == 0) {
            snprintf(who->name, sizeof(who->name), "%s", sqlite3_column_text(st, 0));
            who->role = role_parse((const char *)sqlite3_column_text(st, 1));
            snprintf(who->projects, sizeof(who->projects), "%s", sqlite3_column_text(st, 2));
            found = who->role != HUB_ROLE_NONE;
        }
    }
    hub_store_release(a->store, st);
    st = NULL;
    if (found &&
        hub_store_prepare(a->store, &st,
                          "UPDATE api_tokens SET last_used_ms = ?1 WHERE hash = ?2") == 0) {
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
        hub_store_step_done(a->store, st,
                            "token last used"); /* a lost time is no reason to refuse */
        hub_store_release(a->store, st);
    }
    hub_store_unlock(a->store);
    return found;
}

/* 1 with *who filled, 0 for no token, -1 for a token that is not valid. */
static int authenticate(hub_auth *a, const char *header, struct hub_principal *who)
{
    memset(who, 0, sizeof(*who));
    snprintf(who->name, sizeof(who->name), "anonymous");
    if (header == NULL || header[0] == '\0')
        return 0;
    if (strncasecmp(header, "Bearer ", 7) != 0)
        return -1;
    const char *token = header + 7;
    while (*token == ' ')
        token++;
    if (token[0] == '\0' || strlen(token) > 512)
        return -1;
    if (a->is_admin != NULL && a->is_admin(a->arg, token)) {
        snprintf(who->name, sizeof(who->name), "admin");
        who->role = HUB_ROLE_ADMIN;
        return 1;
    }
    return lookup(a, token, who) ? 1 : -1;
}

/* ---- what a call needs ---- */

enum need { NEED_NOTHING, NEED_READ, NEED_OPERATE, NEED_ADMIN };

static int is_write(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
           strcmp(method, "OPTIONS") != 0;
}

static enum need need_of(const char *method, const char *path)
{
    if (strcmp(path, "/healthz") == 0)
        return NEED_NOTHING;
    /* the dashboard's own files hold no fleet data; the page asks for a token */
    if (!is_write(method) && hub_ui_is_page(path))
        return NEED_NOTHING;
    if (strcmp(path, "/api/v1/webhook/git") == 0 && strcmp(method, "POST") == 0)
        return NEED_NOTHING; /* its own secret authenticates it */
    /* tokens and the audit log are the admin's, to read as to change */
    if (strncmp(path, "/api/v1/tokens", 14) == 0 || strncmp(path, "/api/v1/audit", 13) == 0)
        return NEED_ADMIN;
    if (!is_write(method))
        return NEED_READ;
    if (strncmp(path, "/api/v1/apps/", 13) == 0)
        return NEED_OPERATE;
    return NEED_ADMIN;
}

static const char *need_name(enum need n)
{
    return n == NEED_ADMIN     ? "an admin token"
           : n == NEED_OPERATE ? "an admin or project token"
                               : "a viewer token";
}

int hub_auth_request(hub_auth *a, const char *method, const char *path, const char *authorization,
                     struct hub_principal *who, unsigned *status_out)
{
    enum need need = need_of(method, path);
    int known = authenticate(a, authorization, who);

    *status_out = 0;
    if (known < 0) {
        *status_out = 401;
        return gf_error_set(GF_EPERM, "invalid token (unknown, revoked or expired)");
    }
    if (need == NEED_NOTHING || (need == NEED_READ && (known || a->anonymous_read)))
        return 0;
    if (!known) {
        *status_out = 401;
        return gf_error_set(GF_EPERM, "token required: %s %s needs %s (Authorization: Bearer ...)",
                            method, path, need_name(need));
    }
    if (who->role == HUB_ROLE_ADMIN || (need == NEED_OPERATE && who->role == HUB_ROLE_PROJECT))
        return 0;
    *status_out = 403;
    return gf_error_set(GF_EPERM, "token '%s' (role %s) may not %s %s: it needs %s", who->name,
                        hub_auth_role_name(who->role), method, path, need_name(need));
}

int hub_auth_may_operate(const struct hub_principal *who, const char *project)
{
    char list[sizeof(who->projects) + 2], want[300];

    if (who->role == HUB_ROLE_ADMIN)
        return 0;
    snprintf(list, sizeof(list), ",%s,", who->projects);
    snprintf(want, sizeof(want), ",%s,", project ? project : "");
    if (who->role == HUB_ROLE_PROJECT && project && project[0] && strstr(list, want) != NULL)
        return 0;
    return gf_error_set(GF_EPERM, "token '%s' (role %s%s%s) may not operate apps of project '%s'",
                        who->name, hub_auth_role_name(who->role),
                        who->role == HUB_ROLE_PROJECT ? ": " : "",
                        who->role == HUB_ROLE_PROJECT ? who->projects : "", project ? project : "");
}

/* ---- tokens ---- */

static int valid_token_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > AUTH_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
              s[i] == '_' || s[i] == '.'))
            return 0;
    return 1;
}

/* "a, b" -> "a,b", each a DNS-1123-ish project name. */
static int normalize_projects(char *out, size_t len, const char *in)
{
    size_t n = 0;

    out[0] = '\0';
    for (const char *p = in ? in : ""; *p;) {
        size_t w = strcspn(p, ",");
        const char *s = p, *e = p + w;
        while (s < e && *s == ' ')
            s++;
        while (e > s && e[-1] == ' ')
            e--;
        for (const char *c = s; c < e; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
                return gf_error_set(GF_EINVAL, "'%.*s' is not a project name", (int)(e - s), s);
        if (e > s) {
            if (n + (size_t)(e - s) + 2 > len)
                return gf_error_set(GF_EINVAL, "too many projects");
            n += (size_t)snprintf(out + n, len - n, "%s%.*s", n ? "," : "", (int)(e - s), s);
        }
        p += w + (p[w] == ',');
    }
    return 0;
}

int hub_auth_token_create(hub_auth *a, const char *name, const char *role, const char *projects,
                          int64_t expires_ms, char **secret_out)
{
    unsigned char raw[24];
    char secret[80], hash[65], list[512];
    sqlite3_stmt *st = NULL;
    enum hub_auth_role r = role_parse(role ? role : "");
    int error;

    *secret_out = NULL;
    if (!valid_token_name(name ? name : ""))
        return gf_error_set(GF_EINVAL, "'%s' is not a token name (a-z, 0-9, '-', '_', '.')",
                            name ? name : "");
    if (r == HUB_ROLE_NONE)
        return gf_error_set(GF_EINVAL, "role '%s': expected admin, viewer or project",
                            role ? role : "");
    if ((error = normalize_projects(list, sizeof(list), projects)) < 0)
        return error;
    if ((r == HUB_ROLE_PROJECT) != (list[0] != '\0'))
        return gf_error_set(GF_EINVAL, r == HUB_ROLE_PROJECT
                                           ? "a project role needs its projects (--project P)"
                                           : "only a project role names projects");
    if ((error = gf_wire_random(raw, sizeof(raw))) < 0)
        return error;
    int n = snprintf(secret, sizeof(secret), AUTH_TOKEN_PREFIX);
    for (size_t i = 0; i < sizeof(raw); i++)
        n += snprintf(secret + n, sizeof(secret) - (size_t)n, "%02x", raw[i]);
    gf_sha256_hex(hash, secret, strlen(secret));
    hub_store_lock(a->store);
    if ((error = hub_store_prepare(a->store, &st,
                                   "INSERT INTO api_tokens (name, role, projects, hash, "
                                   "created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")) ==
        0) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, hub_auth_role_name(r), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, list, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, gf_wire_now_ms());
        sqlite3_bind_int64(st, 6, expires_ms);
        if ((error = hub_store_step_done(a->store, st, "new token")) == GF_ECONFLICT)
            error = gf_error_set(
                GF_EEXISTS, "a token named '%s' exists (revoked tokens keep their name)", name);
    }
    hub_store_release(a->store, st);
    hub_store_unlock(a->store);
    OPENSSL_cleanse(raw, sizeof(raw));
    if (error == 0 && (*secret_out = strdup(secret)) == NULL)
        error = gf_error_set(GF_ENOMEM, "out of memory");
    OPENSSL_cleanse(secret, sizeof(secret));
    return error;
}

int hub_auth_token_list(hub_auth *a, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *rows = json_array();

    *out = NULL;
    hub_store_lock(a->store);
    int error = hub_store_prepare(a->store, &st,
                                  "SELECT name, role, projects, created_ms, expires_ms, "
                                  "last_used_ms, revoked_ms FROM api_tokens ORDER BY name");
    if (error < 0) {
        hub_store_unlock(a->store);
        json_decref(rows);
        return error;
    }
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(
            rows,
            json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "name", sqlite3_column_text(st, 0),
                      "role", sqlite3_column_text(st, 1), "projects", sqlite3_column_text(st, 2),
                      "createdUnixMs", (json_int_t)sqlite3_column_int64(st, 3), "expiresUnixMs",
                      (json_int_t)sqlite3_column_int64(st, 4), "lastUsedUnixMs",
                      (json_int_t)sqlite3_column_int64(st, 5), "revokedUnixMs",
                      (json_int_t)sqlite3_column_int64(st, 6)));
    hub_store_release(a->store, st);
    hub_store_unlock(a->store);
    *out = rows;
    return 0;
}

int hub_auth_token_revoke(hub_auth *a, const char *name)
{
    sqlite3_stmt *st = NULL;
    int error = 0;

    hub_store_lock(a->store);
    if ((error = hub_store_prepare(a->store, &st,
                                   "UPDATE api_tokens SET revoked_ms = ?1 WHERE name = ?2 AND "
                                   "revoked_ms = 0")) == 0) {
        sqlite3_bind_int64(st, 1, gf_wire_now_ms());
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        if ((error = hub_store_step_done(a->store, st, "revoke token")) == 0 &&
            hub_store_changes(a->store) == 0)
            error = gf_error_set(GF_ENOTFOUND, "no active token named '%s'", name);
    }
    hub_store_release(a->store, st);
    hub_store_unlock(a->store);
    return error;
}
