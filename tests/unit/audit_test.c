/* audit_test.c -- the audit log: rows newest first, limits, credentials redacted */
#include "harness.h"

#include "audit.h"
#include "gitfleet/error.h"

#include <stdio.h>
#include <string.h>

static void test_audit__record_and_list(void)
{
    char path[512];
    hub_audit *a = NULL;
    hub_store *store = NULL;
    json_t *rows = NULL;

    snprintf(path, sizeof(path), "%s/hub.db", gf_test_tmpdir());
    GF_ASSERT_INT(hub_store_open(&store, path), 0);
    GF_ASSERT_INT(hub_audit_open(&a, store), 0);
    GF_ASSERT_INT(hub_audit_record(a, "admin", "POST", "/api/v1/sync", "{}", 200, ""), 0);
    GF_ASSERT_INT(hub_audit_record(a, "ci", "POST", "/api/v1/clusters",
                                   "{\"repo\":\"https://bob:hunter2@h/r\"}", 403, "no"),
                  0);
    GF_ASSERT_INT(hub_audit_list(a, 10, &rows), 0);
    GF_ASSERT_INT(json_array_size(rows), 2);
    json_t *first = json_array_get(rows, 0);
    GF_ASSERT_STR(json_string_value(json_object_get(first, "who")), "ci");
    GF_ASSERT_INT(json_integer_value(json_object_get(first, "status")), 403);
    GF_ASSERT_STR(json_string_value(json_object_get(first, "detail")),
                  "{\"repo\":\"https://bob:***@h/r\"}");
    json_decref(rows);
    GF_ASSERT_INT(hub_audit_list(a, 1, &rows), 0);
    GF_ASSERT_INT(json_array_size(rows), 1);
    json_decref(rows);
    hub_audit_close(a);
    hub_store_close(store);
    /* rows survive a reopen */
    GF_ASSERT_INT(hub_store_open(&store, path), 0);
    GF_ASSERT_INT(hub_audit_open(&a, store), 0);
    GF_ASSERT_INT(hub_audit_list(a, 0, &rows), 0);
    GF_ASSERT_INT(json_array_size(rows), 2);
    json_decref(rows);
    hub_audit_close(a);
    hub_store_close(store);
}

GF_TESTS(GF_TEST(test_audit__record_and_list));
