/* kubesim_protobuf_test.c -- decoding the protobuf bodies of kubectl's typed commands */
#include "harness.h"

#include "../kubesim/protobuf.h"

#include "gitfleet/error.h"

#include <stdlib.h>

/* The body `kubectl create configmap cmx --from-literal=akey=aval` (v1.32) sent. */
static const char cm_body[] =
    "\x6b\x38\x73\x00\x0a\x0f\x0a\x02\x76\x31\x12\x09\x43\x6f\x6e\x66\x69\x67\x4d\x61\x70\x12"
    "\x23\x0a\x13\x0a\x03\x63\x6d\x78\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00"
    "\x12\x0c\x0a\x04\x61\x6b\x65\x79\x12\x04\x61\x76\x61\x6c\x1a\x00\x22\x00";

static void test_kubesim_protobuf__configmap_from_kubectl(void)
{
    json_t *obj = NULL;
    GF_ASSERT_INT(ks_protobuf_decode(&obj, (const unsigned char *)cm_body, sizeof(cm_body) - 1), 0);
    char *text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    GF_ASSERT_STR(text,
                  "{\"apiVersion\":\"v1\",\"data\":{\"akey\":\"aval\"},\"kind\":\"ConfigMap\","
                  "\"metadata\":{\"name\":\"cmx\"}}");
    free(text);
    json_decref(obj);
}

static void test_kubesim_protobuf__truncated_and_unknown_bodies(void)
{
    json_t *obj = NULL;
    for (size_t n = 5; n < sizeof(cm_body) - 1; n++) {
        int rc = ks_protobuf_decode(&obj, (const unsigned char *)cm_body, n);
        if (rc == 0) /* a cut at a field boundary is a valid, shorter message */
            json_decref(obj);
        else
            GF_ASSERT(rc == GF_EINVAL || rc == GF_EUNSUPPORTED);
    }
    GF_ASSERT(ks_protobuf_decode(&obj, (const unsigned char *)"{}", 2) == GF_EINVAL);
    static const char node[] = "k8s\0\x0a\x08\x0a\x02v1\x12\x02No";
    GF_ASSERT(ks_protobuf_decode(&obj, (const unsigned char *)node, sizeof(node) - 1) ==
              GF_EUNSUPPORTED);
    GF_ASSERT_HAS(gf_error_last(), "v1 No are not supported");
}

GF_TESTS(GF_TEST(test_kubesim_protobuf__configmap_from_kubectl),
         GF_TEST(test_kubesim_protobuf__truncated_and_unknown_bodies));
