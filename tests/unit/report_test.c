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

GF_TESTS(GF_TEST(test_report__round_trip));
