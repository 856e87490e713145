/* report_test.c -- JSON report -> protobuf -> JSON keeps every member */
#include "harness.h"

#include "gitfleet/report.h"

#include <stdlib.h>

static void test_report__round_trip(void)
{
    const char *text =
        "{\"cluster\":\"dev-1\",\"generation\":4,\"revision\":\"abc\",\"time\":1700,"
        "\"error\":\"\",\"apps\":[{\"name\":\"web\",\"sync\":\"OutOfSync\",\"health\":"
        "\"Progressing\",\"revision\":\"abc\",\"generation\":4,\"message\":\"m\",\"operation\":"
        "\"Succeeded\",\"errors\":[\"e1\",\"e2\"],\"resources\":[{\"group\":\"apps\",\"version\":"
        "\"v1\",\"kind\":\"Deployment\",\"namespace\":\"web\",\"name\":\"web\",\"sync\":"
        "\"OutOfSync\",\"health\":\"Progressing\",\"message\":\"x\",\"drift\":[{\"path\":"
        "\".spec.replicas\",\"desired\":\"2\",\"live\":\"3\"}]},{\"kind\":\"Service\",\"name\":"
        "\"web\"}]},{\"name\":\"empty\"}]}";
    json_t *in = json_loads(text, 0, NULL), *out;
    unsigned char *bytes = NULL;
    size_t len = 0;

    GF_ASSERT(in != NULL);
    GF_ASSERT_INT(gf_report_pack(&bytes, &len, in), 0);
    Gitfleet__Report *r = gitfleet__report__unpack(NULL, len, bytes);
    GF_ASSERT(r != NULL);
    out = gf_report_from_proto(r);
    gitfleet__report__free_unpacked(r, NULL);
    free(bytes);

    json_t *app = json_array_get(json_object_get(out, "apps"), 0);
    json_t *res = json_array_get(json_object_get(app, "resources"), 0);
    GF_ASSERT_STR(json_string_value(json_object_get(out, "cluster")), "dev-1");
    GF_ASSERT_INT(json_integer_value(json_object_get(out, "generation")), 4);
    GF_ASSERT_STR(json_string_value(json_object_get(app, "operation")), "Succeeded");
    GF_ASSERT_INT(json_array_size(json_object_get(app, "errors")), 2);
    GF_ASSERT_STR(json_string_value(json_object_get(res, "kind")), "Deployment");
    GF_ASSERT_STR(json_string_value(
                      json_object_get(json_array_get(json_object_get(res, "drift"), 0), "live")),
                  "3");
    GF_ASSERT_INT(json_array_size(json_object_get(out, "apps")), 2);
    json_decref(in);
    json_decref(out);
}

/* Issue 10's members: hashes, suspension and the operation with its results. */
static void test_report__operation_state(void)
{
    const char *text =
        "{\"cluster\":\"c\",\"generation\":2,\"apps\":[{\"name\":\"web\",\"desiredHash\":"
        "\"d1\",\"syncedHash\":\"s1\",\"autoSyncSuspended\":true,\"operationState\":{\"id\":"
        "\"op-7\",\"phase\":\"Failed\",\"message\":\"m\",\"syncPhase\":\"PreSync\",\"wave\":"
        "-1,\"startedAt\":1000,\"finishedAt\":2000,\"revision\":\"abc\",\"contentHash\":\"d1\","
        "\"dryRun\":true,\"initiatedBy\":\"operator\",\"kind\":\"rollback\",\"retryCount\":3,"
        "\"results\":[{\"group\":\"batch\",\"version\":\"v1\",\"kind\":\"Job\",\"namespace\":"
        "\"web\",\"name\":\"migrate\",\"action\":\"hook\",\"phase\":\"PreSync\",\"wave\":-1,"
        "\"status\":\"Failed\",\"message\":\"boom\"},{\"kind\":\"ConfigMap\",\"name\":\"x\","
        "\"action\":\"prune\"}]},\"resources\":[{\"kind\":\"ConfigMap\",\"name\":\"old\","
        "\"requiresPruning\":true},{\"kind\":\"ConfigMap\",\"name\":\"kept\"}]},{\"name\":"
        "\"plain\"}]}";
    json_t *in = json_loads(text, 0, NULL), *out;
    unsigned char *bytes = NULL;
    size_t len = 0;

    GF_ASSERT(in != NULL);
    GF_ASSERT_INT(gf_report_pack(&bytes, &len, in), 0);
    Gitfleet__Report *r = gitfleet__report__unpack(NULL, len, bytes);
    GF_ASSERT(r != NULL);
    out = gf_report_from_proto(r);
    gitfleet__report__free_unpacked(r, NULL);
    free(bytes);

    json_t *app = json_array_get(json_object_get(out, "apps"), 0);
    json_t *op = json_object_get(app, "operationState");
    json_t *res = json_array_get(json_object_get(op, "results"), 0);
    GF_ASSERT_STR(json_string_value(json_object_get(app, "desiredHash")), "d1");
    GF_ASSERT_STR(json_string_value(json_object_get(app, "syncedHash")), "s1");
    GF_ASSERT(json_is_true(json_object_get(app, "autoSyncSuspended")));
    GF_ASSERT_STR(json_string_value(json_object_get(op, "id")), "op-7");
    GF_ASSERT_STR(json_string_value(json_object_get(op, "phase")), "Failed");
    GF_ASSERT_STR(json_string_value(json_object_get(op, "syncPhase")), "PreSync");
    GF_ASSERT_INT(json_integer_value(json_object_get(op, "wave")), -1);
    GF_ASSERT_INT(json_integer_value(json_object_get(op, "startedAt")), 1000);
    GF_ASSERT_INT(json_integer_value(json_object_get(op, "finishedAt")), 2000);
    GF_ASSERT(json_is_true(json_object_get(op, "dryRun")));
    GF_ASSERT_STR(json_string_value(json_object_get(op, "initiatedBy")), "operator");
    GF_ASSERT_STR(json_string_value(json_object_get(op, "kind")), "rollback");
    GF_ASSERT_INT(json_integer_value(json_object_get(op, "retryCount")), 3);
    GF_ASSERT_INT(json_array_size(json_object_get(op, "results")), 2);
    GF_ASSERT_STR(json_string_value(json_object_get(res, "name")), "migrate");
    GF_ASSERT_STR(json_string_value(json_object_get(res, "action")), "hook");
    GF_ASSERT_INT(json_integer_value(json_object_get(res, "wave")), -1);
    GF_ASSERT_STR(json_string_value(json_object_get(res, "message")), "boom");
    json_t *rs = json_object_get(app, "resources");
    GF_ASSERT(json_is_true(json_object_get(json_array_get(rs, 0), "requiresPruning")));
    GF_ASSERT(json_object_get(json_array_get(rs, 1), "requiresPruning") == NULL);
    app = json_array_get(json_object_get(out, "apps"), 1);
    GF_ASSERT(json_object_get(app, "operationState") == NULL);
    GF_ASSERT(json_is_false(json_object_get(app, "autoSyncSuspended")));
    json_decref(in);
    json_decref(out);
}

GF_TESTS(GF_TEST(test_report__round_trip), GF_TEST(test_report__operation_state));
