/* kubesim_ssa_test.c -- kubesim's server-side apply: field sets, managers, pruning, conflicts */
#include "harness.h"

#include "../kubesim/ssa.h"

#include "gitfleet/error.h"

#include <stdlib.h>

static json_t *J(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, 0, &err);
    if (v == NULL)
        gf_test_fail(__FILE__, __LINE__, "bad test JSON: %s: %s", text, err.text);
    return v;
}

static const char *S(json_t *v)
{
    static char *last;
    free(last);
    last = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    return last;
}

static struct ks_ssa_opts opts(const char *kind, const char *manager, int force)
{
    struct ks_ssa_opts o = {0};
    o.group = kind[0] == 'D' ? "apps" : "";
    o.kind = kind;
    o.api_version = kind[0] == 'D' ? "apps/v1" : "v1";
    o.manager = manager;
    o.now = "2026-01-01T00:00:00Z";
    o.force = force;
    return o;
}

/* Apply `applied` over `live` (stolen, may be NULL) and return the result; fails the test
 * on an error. */
static json_t *apply(json_t *live, const char *applied, const char *kind, const char *manager)
{
    struct ks_ssa_opts o = opts(kind, manager, 0);
    json_t *a = J(applied), *out = NULL, *status = NULL;
    int rc = ks_ssa_apply(&out, &status, live, a, &o);
    if (rc < 0)
        gf_test_fail(__FILE__, __LINE__, "apply failed: %s", S(status));
    json_decref(a);
    json_decref(live);
    return out;
}

static const char *managers_of(json_t *obj)
{
    json_t *mf = json_object_get(json_object_get(obj, "metadata"), "managedFields"), *e;
    json_t *names = json_array();
    size_t i;
    json_array_foreach(mf, i, e) json_array_append(names, json_object_get(e, "manager"));
    const char *text = S(names);
    json_decref(names);
    return text;
}

#define DEPLOY                                                                                     \
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","          \
    "\"labels\":{\"app\":\"web\"}},\"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":{"       \
    "\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"       \
    "\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx\"}]}}}}"

static void test_kubesim_ssa__fields_v1_of_a_deployment(void)
{
    json_t *obj = J(DEPLOY);
    json_t *f = ks_ssa_fields(obj, "apps", "Deployment");
    /* the exact tree of kubernetes-facts.md §5, keys in API-server order */
    GF_ASSERT_STR(S(f), "{\"f:metadata\":{\"f:labels\":{\"f:app\":{}}},\"f:spec\":{\"f:replicas\":"
                        "{},\"f:selector\":{},\"f:template\":{\"f:metadata\":{\"f:labels\":{"
                        "\"f:app\":{}}},\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":"
                        "\\\"nginx\\\"}\":{\".\":{},\"f:image\":{},\"f:name\":{}}}}}}}");
    json_decref(f);
    json_decref(obj);
}

static void test_kubesim_ssa__apply_records_a_manager(void)
{
    json_t *obj = apply(NULL, DEPLOY, "Deployment", "kubectl");
    json_t *e =
        json_array_get(json_object_get(json_object_get(obj, "metadata"), "managedFields"), 0);
    GF_ASSERT_STR(json_string_value(json_object_get(e, "manager")), "kubectl");
    GF_ASSERT_STR(json_string_value(json_object_get(e, "operation")), "Apply");
    GF_ASSERT_STR(json_string_value(json_object_get(e, "fieldsType")), "FieldsV1");
    GF_ASSERT_STR(json_string_value(json_object_get(e, "time")), "2026-01-01T00:00:00Z");
    GF_ASSERT(json_integer_value(json_object_get(json_object_get(obj, "spec"), "replicas")) == 2);
    json_decref(obj);
}

static void test_kubesim_ssa__a_field_no_longer_applied_is_removed(void)
{
    json_t *obj = apply(NULL, "{\"data\":{\"a\":\"1\",\"b\":\"2\"}}", "ConfigMap", "m1");
    obj = apply(obj, "{\"data\":{\"a\":\"1\"}}", "ConfigMap", "m1");
    GF_ASSERT_STR(S(json_object_get(obj, "data")), "{\"a\":\"1\"}");
    json_decref(obj);
}

static void test_kubesim_ssa__shared_fields_stay_until_every_owner_drops_them(void)
{
    json_t *obj = apply(NULL, "{\"data\":{\"a\":\"1\",\"b\":\"2\"}}", "ConfigMap", "m1");
    obj = apply(obj, "{\"data\":{\"a\":\"1\"}}", "ConfigMap", "m2"); /* same value: shared */
    GF_ASSERT_STR(managers_of(obj), "[\"m1\",\"m2\"]");
    obj = apply(obj, "{\"data\":{\"b\":\"2\"}}", "ConfigMap", "m1"); /* m1 drops a */
    GF_ASSERT_STR(S(json_object_get(obj, "data")), "{\"a\":\"1\",\"b\":\"2\"}");
    obj = apply(obj, "{\"data\":{}}", "ConfigMap", "m2"); /* the last owner drops a */
    GF_ASSERT_STR(S(json_object_get(obj, "data")), "{\"b\":\"2\"}");
    json_decref(obj);
}

static void test_kubesim_ssa__conflict_unless_forced(void)
{
    json_t *obj = apply(NULL, "{\"data\":{\"a\":\"1\"}}", "ConfigMap", "m1");
    json_t *a = J("{\"data\":{\"a\":\"2\"}}"), *out = NULL, *status = NULL;
    struct ks_ssa_opts o = opts("ConfigMap", "m2", 0);

    GF_ASSERT(ks_ssa_apply(&out, &status, obj, a, &o) == GF_ECONFLICT);
    GF_ASSERT_INT(json_integer_value(json_object_get(status, "code")), 409);
    GF_ASSERT_STR(json_string_value(json_object_get(status, "message")),
                  "Apply failed with 1 conflict: conflict with \"m1\": .data.a");
    json_t *cause =
        json_array_get(json_object_get(json_object_get(status, "details"), "causes"), 0);
    GF_ASSERT_STR(json_string_value(json_object_get(cause, "reason")), "FieldManagerConflict");
    GF_ASSERT_STR(json_string_value(json_object_get(cause, "field")), ".data.a");
    json_decref(status);

    o.force = 1;
    GF_ASSERT_INT(ks_ssa_apply(&out, &status, obj, a, &o), 0);
    GF_ASSERT_STR(S(json_object_get(out, "data")), "{\"a\":\"2\"}");
    GF_ASSERT_STR(managers_of(out), "[\"m2\"]"); /* m1 lost its only field */
    json_decref(out);
    json_decref(a);
    json_decref(obj);
}

static void test_kubesim_ssa__update_takes_ownership_and_never_conflicts(void)
{
    json_t *obj = apply(NULL, "{\"data\":{\"a\":\"1\",\"b\":\"1\"}}", "ConfigMap", "m1");
    json_t *next = json_deep_copy(obj);
    struct ks_ssa_opts o = opts("ConfigMap", "editor", 0);

    json_object_set_new(json_object_get(next, "data"), "a", json_string("2"));
    ks_ssa_update(next, obj, &o);
    json_t *mf = json_object_get(json_object_get(next, "metadata"), "managedFields");
    GF_ASSERT_INT(json_array_size(mf), 2);
    GF_ASSERT_STR(S(json_object_get(json_array_get(mf, 0), "fieldsV1")),
                  "{\"f:data\":{\"f:b\":{}}}");
    GF_ASSERT_STR(json_string_value(json_object_get(json_array_get(mf, 1), "operation")), "Update");
    GF_ASSERT_STR(S(json_object_get(json_array_get(mf, 1), "fieldsV1")),
                  "{\"f:data\":{\"f:a\":{}}}");

    /* m1 applying a again now conflicts with the Update manager */
    json_t *a = J("{\"data\":{\"a\":\"3\",\"b\":\"1\"}}"), *out = NULL, *status = NULL;
    struct ks_ssa_opts o1 = opts("ConfigMap", "m1", 0);
    GF_ASSERT(ks_ssa_apply(&out, &status, next, a, &o1) == GF_ECONFLICT);
    GF_ASSERT_HAS(json_string_value(json_object_get(status, "message")),
                  "conflict with \"editor\" using v1: .data.a");
    json_decref(status);
    json_decref(a);
    json_decref(next);
    json_decref(obj);
}

static void test_kubesim_ssa__keyed_list_items_are_owned_per_item(void)
{
    json_t *obj = apply(NULL, DEPLOY, "Deployment", "m1");
    obj = apply(obj,
                "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"side\","
                "\"image\":\"busybox\"}]}}}}",
                "Deployment", "m2");
    json_t *cs = json_object_get(
        json_object_get(json_object_get(json_object_get(obj, "spec"), "template"), "spec"),
        "containers");
    GF_ASSERT_INT(json_array_size(cs), 2); /* merged by name, not replaced */
    obj =
        apply(obj, "{\"spec\":{\"template\":{\"spec\":{\"containers\":[]}}}}", "Deployment", "m2");
    cs = json_object_get(
        json_object_get(json_object_get(json_object_get(obj, "spec"), "template"), "spec"),
        "containers");
    GF_ASSERT_INT(json_array_size(cs), 1); /* m2's item pruned, m1's kept */
    GF_ASSERT_STR(json_string_value(json_object_get(json_array_get(cs, 0), "name")), "nginx");
    json_decref(obj);
}

static void test_kubesim_ssa__a_no_op_apply_keeps_the_time(void)
{
    json_t *obj = apply(NULL, "{\"data\":{\"a\":\"1\"}}", "ConfigMap", "m1");
    struct ks_ssa_opts o = opts("ConfigMap", "m1", 0);
    json_t *a = J("{\"data\":{\"a\":\"1\"}}"), *out = NULL, *status = NULL;
    o.now = "2030-01-01T00:00:00Z";
    GF_ASSERT_INT(ks_ssa_apply(&out, &status, obj, a, &o), 0);
    json_t *e =
        json_array_get(json_object_get(json_object_get(out, "metadata"), "managedFields"), 0);
    GF_ASSERT_STR(json_string_value(json_object_get(e, "time")), "2026-01-01T00:00:00Z");
    json_decref(out);
    json_decref(a);
    json_decref(obj);
}

/* What the server defaults: a port's protocol. */
static void default_protocol(json_t *obj, const void *arg)
{
    json_t *p = json_object_get(json_object_get(obj, "spec"), "ports"), *it;
    size_t i;
    (void)arg;
    json_array_foreach(p, i, it) if (json_object_get(it, "protocol") == NULL)
        json_object_set_new(it, "protocol", json_string("TCP"));
}

static void test_kubesim_ssa__defaulted_keys_are_used_but_not_owned(void)
{
    struct ks_ssa_opts o = opts("Service", "m1", 0);
    json_t *a = J("{\"spec\":{\"ports\":[{\"port\":80}]}}"), *out = NULL, *status = NULL;
    json_t *live = J("{\"spec\":{\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}]}}");

    o.defaults = default_protocol;
    GF_ASSERT_INT(ks_ssa_apply(&out, &status, live, a, &o), 0);
    json_t *e =
        json_array_get(json_object_get(json_object_get(out, "metadata"), "managedFields"), 0);
    GF_ASSERT_STR(
        S(json_object_get(e, "fieldsV1")),
        "{\"f:spec\":{\"f:ports\":{\"k:{\\\"port\\\":80,\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},"
        "\"f:port\":{}}}}}");
    GF_ASSERT_INT(json_array_size(json_object_get(json_object_get(out, "spec"), "ports")), 1);
    json_decref(out);
    json_decref(a);
    json_decref(live);
}

GF_TESTS(GF_TEST(test_kubesim_ssa__fields_v1_of_a_deployment),
         GF_TEST(test_kubesim_ssa__apply_records_a_manager),
         GF_TEST(test_kubesim_ssa__a_field_no_longer_applied_is_removed),
         GF_TEST(test_kubesim_ssa__shared_fields_stay_until_every_owner_drops_them),
         GF_TEST(test_kubesim_ssa__conflict_unless_forced),
         GF_TEST(test_kubesim_ssa__update_takes_ownership_and_never_conflicts),
         GF_TEST(test_kubesim_ssa__keyed_list_items_are_owned_per_item),
         GF_TEST(test_kubesim_ssa__a_no_op_apply_keeps_the_time),
         GF_TEST(test_kubesim_ssa__defaulted_keys_are_used_but_not_owned));
