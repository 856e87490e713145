/* auth_test.c -- the API gate: who a token names and what each role may call */
#include "harness.h"

#include "auth.h"
#include "gitfleet/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_admin(void *arg, const char *token)
{
    return strcmp(token, (const char *)arg) == 0;
}

static hub_store *store; /* of the test's hub_auth: open_auth() to close_auth() */

static hub_auth *open_auth(int anonymous)
{
    char path[512];
    hub_auth *a = NULL;

    snprintf(path, sizeof(path), "%s/hub.db", gf_test_tmpdir());
    GF_ASSERT_INT(hub_store_open(&store, path), 0);
    GF_ASSERT_INT(hub_auth_open(&a, store, anonymous, is_admin, "the-admin"), 0);
    return a;
}

static void close_auth(hub_auth *a)
{
    hub_auth_close(a);
    hub_store_close(store);
    store = NULL;
}

/* The status the gate answers (0: allowed). */
static unsigned gate(hub_auth *a, const char *method, const char *path, const char *token)
{
    char header[300];
    struct hub_principal who;
    unsigned status = 0;

    snprintf(header, sizeof(header), "Bearer %s", token ? token : "");
    hub_auth_request(a, method, path, token ? header : NULL, &who, &status);
    return status;
}

static void test_auth__roles(void)
{
    hub_auth *a = open_auth(0);
    char *viewer = NULL, *proj = NULL;

    GF_ASSERT_INT(hub_auth_token_create(a, "v", "viewer", NULL, 0, &viewer), 0);
    GF_ASSERT_INT(hub_auth_token_create(a, "p", "project", "shop, web", 0, &proj), 0);
    GF_ASSERT_INT(gate(a, "GET", "/healthz", NULL), 0);
    GF_ASSERT_INT(gate(a, "GET", "/api/v1/status", NULL), 401);
    GF_ASSERT_HAS(gf_error_last(), "token required");
    GF_ASSERT_INT(gate(a, "GET", "/api/v1/status", "gft_nope"), 401);
    GF_ASSERT_HAS(gf_error_last(), "invalid token");
    GF_ASSERT_INT(gate(a, "GET", "/api/v1/status", viewer), 0);
    GF_ASSERT_INT(gate(a, "POST", "/api/v1/sync", viewer), 403);
    GF_ASSERT_INT(gate(a, "POST", "/api/v1/apps/web/sync", viewer), 403);
    GF_ASSERT_INT(gate(a, "POST", "/api/v1/apps/web/sync", proj), 0);
    GF_ASSERT_INT(gate(a, "POST", "/api/v1/sync", proj), 403);
    GF_ASSERT_INT(gate(a, "GET", "/api/v1/tokens", proj), 403);
    GF_ASSERT_INT(gate(a, "GET", "/api/v1/audit", viewer), 403);
    GF_ASSERT_INT(gate(a, "DELETE", "/api/v1/tokens/v", "the-admin"), 0);
    GF_ASSERT_INT(gate(a, "POST", "/api/v1/webhook/git", NULL), 0);
    GF_ASSERT_INT(hub_auth_token_revoke(a, "v"), 0);
    GF_ASSERT_INT(hub_auth_token_revoke(a, "v"), GF_ENOTFOUND);
    GF_ASSERT_INT(gate(a, "GET", "/api/v1/status", viewer), 401);
    free(viewer);
    free(proj);
    close_auth(a);
}

static void test_auth__anonymous_read_and_expiry(void)
{
    hub_auth *a = open_auth(1);
    char *old = NULL;

    GF_ASSERT_INT(gate(a, "GET", "/api/v1/status", NULL), 0);
    GF_ASSERT_INT(gate(a, "GET", "/api/v1/tokens", NULL), 401);
    GF_ASSERT_INT(gate(a, "POST", "/api/v1/clusters", NULL), 401);
    GF_ASSERT_INT(gate(a, "GET", "/api/v1/status", "wrong"), 401); /* wrong stays wrong */
    GF_ASSERT_INT(hub_auth_token_create(a, "old", "viewer", NULL, 1, &old), 0);
    GF_ASSERT_INT(gate(a, "GET", "/api/v1/status", old), 401);
    free(old);
    close_auth(a);
}

static void test_auth__may_operate(void)
{
    struct hub_principal p = {.name = "t", .role = HUB_ROLE_PROJECT, .projects = "shop,web"};
    struct hub_principal v = {.name = "v", .role = HUB_ROLE_VIEWER};
    struct hub_principal adm = {.name = "admin", .role = HUB_ROLE_ADMIN};

    GF_ASSERT_INT(hub_auth_may_operate(&p, "shop"), 0);
    GF_ASSERT_INT(hub_auth_may_operate(&p, "web"), 0);
    GF_ASSERT_INT(hub_auth_may_operate(&p, "we"), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "token 't' (role project: shop,web) may not operate apps of "
                                   "project 'we'");
    GF_ASSERT_INT(hub_auth_may_operate(&p, "default"), GF_EPERM);
    GF_ASSERT_INT(hub_auth_may_operate(&v, "shop"), GF_EPERM);
    GF_ASSERT_INT(hub_auth_may_operate(&adm, "anything"), 0);
}

static void test_auth__bad_tokens(void)
{
    hub_auth *a = open_auth(0);
    char *s = NULL;

    GF_ASSERT_INT(hub_auth_token_create(a, "Bad Name", "viewer", NULL, 0, &s), GF_EINVAL);
    GF_ASSERT_INT(hub_auth_token_create(a, "x", "root", NULL, 0, &s), GF_EINVAL);
    GF_ASSERT_INT(hub_auth_token_create(a, "x", "viewer", "shop", 0, &s), GF_EINVAL);
    GF_ASSERT_INT(hub_auth_token_create(a, "x", "project", "", 0, &s), GF_EINVAL);
    GF_ASSERT_INT(hub_auth_token_create(a, "x", "project", "sh op", 0, &s), GF_EINVAL);
    GF_ASSERT(s == NULL);
    close_auth(a);
}

GF_TESTS(GF_TEST(test_auth__roles), GF_TEST(test_auth__anonymous_read_and_expiry),
         GF_TEST(test_auth__may_operate), GF_TEST(test_auth__bad_tokens));
