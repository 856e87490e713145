/* drift_test.c -- only Git's fields count; Kubernetes' equivalences; ignoreDifferences; redaction
 */
#include "harness.h"

#include "drift.h"
#include "gitfleet/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);

    if (v == NULL)
        gf_test_fail(__FILE__, __LINE__, "bad test JSON: %s: %s", e.text, text);
    return v;
}

/* The drift of desired vs live as "path desired live" lines ("-" for NULL). */
static char *diff(const char *desired, const char *live, const char *rules_json)
{
    json_t *d = J(desired), *l = live ? J(live) : NULL, *rj = rules_json ? J(rules_json) : NULL;
    struct agent_drift_rules *rules = NULL;
    struct agent_drift out;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    GF_ASSERT_INT(agent_drift_rules_parse(&rules, rj), 0);
    GF_ASSERT_INT(agent_drift_compare(&out, d, l, rules), 0);
    for (size_t i = 0; i < out.n; i++)
        fprintf(f, "%s %s %s%s\n", out.fields[i].path,
                out.fields[i].desired ? out.fields[i].desired : "-",
                out.fields[i].live ? out.fields[i].live : "-",
                out.fields[i].redacted ? " redacted" : "");
    fclose(f);
    agent_drift_clear(&out);
    agent_drift_rules_free(rules);
    json_decref(d);
    json_decref(l);
    json_decref(rj);
    return buf;
}

#define DEPLOY_DESIRED                                                                             \
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","          \
    "\"namespace\":\"prod\",\"labels\":{\"app\":\"web\"}},\"spec\":{\"replicas\":2,"               \
    "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{"    \
    "\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.26\","      \
    "\"ports\":[{\"containerPort\":80}],\"env\":[{\"name\":\"A\",\"value\":\"1\"}],"               \
    "\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"},\"requests\":{\"cpu\":\"0.5\"}}" \
    "}]}}}}"

/* What an API server returns for DEPLOY_DESIRED: defaults everywhere, a
 * sidecar injected first, quantities canonicalised, status and metadata. */
#define DEPLOY_LIVE_FMT                                                                            \
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","          \
    "\"namespace\":\"prod\",\"uid\":\"u-1\",\"resourceVersion\":\"42\",\"generation\":3,"          \
    "\"labels\":{\"app\":\"web\",\"extra\":\"x\"},\"annotations\":{\"deployment.kubernetes.io/"    \
    "revision\":\"3\"}},\"spec\":{\"replicas\":%d,\"revisionHistoryLimit\":10,"                    \
    "\"progressDeadlineSeconds\":600,\"strategy\":{\"type\":\"RollingUpdate\","                    \
    "\"rollingUpdate\":{\"maxSurge\":\"25%%\",\"maxUnavailable\":\"25%%\"}},"                      \
    "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{"                \
    "\"creationTimestamp\":null,\"labels\":{\"app\":\"web\"}},\"spec\":{\"restartPolicy\":"        \
    "\"Always\",\"dnsPolicy\":\"ClusterFirst\",\"containers\":[{\"name\":\"istio-proxy\","         \
    "\"image\":\"proxy\"},{\"name\":\"web\",\"image\":\"%s\",\"imagePullPolicy\":"                 \
    "\"IfNotPresent\",\"terminationMessagePath\":\"/dev/termination-log\",\"ports\":[{"            \
    "\"containerPort\":80,\"protocol\":\"TCP\"}],\"env\":[{\"name\":\"A\",\"value\":\"1\"}],"      \
    "\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"},\"requests\":{\"cpu\":"          \
    "\"500m\"}}}]}}},\"status\":{\"replicas\":2,\"readyReplicas\":2}}"

static char *live_deploy(int replicas, const char *image)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf), DEPLOY_LIVE_FMT, replicas, image);
    return buf;
}

static void test_drift__defaulted_fields_never_drift(void)
{
    char *text = diff(DEPLOY_DESIRED, live_deploy(2, "nginx:1.26"), NULL);

    GF_ASSERT_STR(text, "");
    free(text);
}

static void test_drift__changed_image_by_container_name(void)
{
    char *text = diff(DEPLOY_DESIRED, live_deploy(5, "nginx:1.25"), NULL);

    GF_ASSERT_STR(text, ".spec.replicas 2 5\n"
                        ".spec.template.spec.containers[name=\"web\"].image \"nginx:1.26\" "
                        "\"nginx:1.25\"\n");
    free(text);
}

static void test_drift__missing_object_and_list_items(void)
{
    char *text = diff(DEPLOY_DESIRED, NULL, NULL);

    GF_ASSERT_STR(text, " - -\n");
    free(text);
    text = diff("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"spec\":{\"containers\":[{\"name\":\"a\","
                "\"env\":[{\"name\":\"X\",\"value\":\"1\"},{\"name\":\"Y\",\"value\":\"2\"}]}]}}",
                "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"spec\":{\"containers\":[{\"name\":\"a\","
                "\"env\":[{\"name\":\"Y\",\"value\":\"2\"}]}]}}",
                NULL);
    GF_ASSERT_STR(text, ".spec.containers[name=\"a\"].env[name=\"X\"] {\"name\":\"X\",\"value\":"
                        "\"1\"} -\n");
    free(text);
}

static void test_drift__quantities_compare_by_value(void)
{
    char *text = diff("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"annotations\":{"
                      "\"cpu\":\"1000m\"}},\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":"
                      "{\"limits\":{\"cpu\":\"1000m\",\"memory\":\"1024Mi\",\"x\":\"1e3\"},"
                      "\"requests\":{\"cpu\":\"0.5\",\"memory\":\"2\",\"gpu\":\"1\"}}}]}}",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"annotations\":{"
                      "\"cpu\":\"1\"}},\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":"
                      "{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\",\"x\":\"1k\"},"
                      "\"requests\":{\"cpu\":\"500m\",\"memory\":2,\"gpu\":\"2\"}}}]}}",
                      NULL);

    /* the annotation is a string, not a quantity; gpu really differs */
    GF_ASSERT_STR(text, ".metadata.annotations.cpu \"1000m\" \"1\"\n"
                        ".spec.containers[name=\"a\"].resources.requests.gpu \"1\" \"2\"\n");
    free(text);
}

static void test_drift__quantity_parser(void)
{
    GF_ASSERT_INT(agent_drift_quantity_equal("1000m", "1"), 1);
    GF_ASSERT_INT(agent_drift_quantity_equal("1Gi", "1024Mi"), 1);
    GF_ASSERT_INT(agent_drift_quantity_equal("0.5", "500m"), 1);
    GF_ASSERT_INT(agent_drift_quantity_equal("1e3", "1k"), 1);
    GF_ASSERT_INT(agent_drift_quantity_equal("1E3", "1000"), 1);
    GF_ASSERT_INT(agent_drift_quantity_equal("100m", "0.1"), 1);
    GF_ASSERT_INT(agent_drift_quantity_equal("1Ki", "1024"), 1);
    GF_ASSERT_INT(agent_drift_quantity_equal("+1", "1.000"), 1);
    GF_ASSERT_INT(agent_drift_quantity_equal("0", "-0m"), 1);
    GF_ASSERT_INT(agent_drift_quantity_equal("1M", "1Mi"), 0);
    GF_ASSERT_INT(agent_drift_quantity_equal("1n", "1u"), 0);
    GF_ASSERT_INT(agent_drift_quantity_equal("1E", "1000P"), 1);
    GF_ASSERT_INT(agent_drift_quantity_equal("1.2.3", "1"), -1);
    GF_ASSERT_INT(agent_drift_quantity_equal("1K", "1000"), -1);
    GF_ASSERT_INT(agent_drift_quantity_equal("abc", "1"), -1);
    GF_ASSERT_INT(agent_drift_quantity_equal("", "0"), -1);
    GF_ASSERT_INT(agent_drift_quantity_equal("1e", "1"), -1);
}

static void test_drift__int_or_string_and_port_keys(void)
{
    char *text =
        diff("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"spec\":{\"ports\":[{\"port\":"
             "80,\"targetPort\":\"8080\"},{\"port\":443,\"targetPort\":8443}]}}",
             "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"spec\":{\"type\":\"ClusterIP\","
             "\"ports\":[{\"port\":443,\"protocol\":\"TCP\",\"targetPort\":9443},"
             "{\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}]}}",
             NULL);

    GF_ASSERT_STR(text, ".spec.ports[port=443].targetPort 8443 9443\n");
    free(text);
}

static void test_drift__empty_alike_absent(void)
{
    char *text = diff("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"labels\":{}},"
                      "\"spec\":{\"hostNetwork\":false,\"containers\":[{\"name\":\"a\",\"args\":[],"
                      "\"env\":[{\"name\":\"E\",\"value\":\"\"}],\"ports\":null,"
                      "\"workingDir\":null}]}}",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{},\"spec\":{"
                      "\"containers\":[{\"name\":\"a\",\"workingDir\":\"/w\",\"env\":[{"
                      "\"name\":\"E\"}]}]}}",
                      NULL);

    GF_ASSERT_STR(text, "");
    free(text);
}

static void test_drift__atomic_and_set_lists(void)
{
    char *text = diff("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"finalizers\":[\"a\","
                      "\"c\"]},\"spec\":{\"containers\":[{\"name\":\"a\",\"args\":[\"x\",\"y\"],"
                      "\"command\":[\"sh\",\"-c\"]}]}}",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"finalizers\":[\"b\","
                      "\"a\"]},\"spec\":{\"containers\":[{\"name\":\"a\",\"args\":[\"x\",\"y\","
                      "\"z\"],\"command\":[\"sh\",\"-e\"]}]}}",
                      NULL);

    GF_ASSERT_STR(text, ".metadata.finalizers[=\"c\"] \"c\" -\n"
                        ".spec.containers[name=\"a\"].args [\"x\",\"y\"] [\"x\",\"y\",\"z\"]\n"
                        ".spec.containers[name=\"a\"].command[1] \"-c\" \"-e\"\n");
    free(text);
}

static void test_drift__custom_resource_lists_are_atomic(void)
{
    char *text = diff("{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"spec\":{\"items\":"
                      "[{\"name\":\"a\"},{\"name\":\"b\"}],\"size\":\"1000m\"}}",
                      "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"spec\":{\"items\":"
                      "[{\"name\":\"b\"},{\"name\":\"a\"}],\"size\":\"1\"}}",
                      NULL);

    GF_ASSERT_STR(text, ".spec.items[0].name \"a\" \"b\"\n"
                        ".spec.items[1].name \"b\" \"a\"\n"
                        ".spec.size \"1000m\" \"1\"\n");
    free(text);
}

static void test_drift__secret_values_redacted(void)
{
    char *text = diff("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"},"
                      "\"type\":\"Opaque\",\"data\":{\"password\":\"czNjcjN0\"},"
                      "\"stringData\":{\"user\":\"admin\",\"token\":\"t0k\"}}",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"},"
                      "\"type\":\"Kubernetes\",\"data\":{\"password\":\"b3RoZXI=\","
                      "\"user\":\"YWRtaW4=\",\"token\":\"eHh4\"}}",
                      NULL);

    /* stringData.user == base64 data.user; password and token differ */
    GF_ASSERT_STR(text, ".type \"Opaque\" \"Kubernetes\"\n"
                        ".data.password - - redacted\n"
                        ".data.token - - redacted\n");
    GF_ASSERT(strstr(text, "czNj") == NULL && strstr(text, "t0k") == NULL);
    free(text);
}

#define RULES_HEAD "[{\"group\":\"apps\",\"kind\":\"Deployment\""

static void test_drift__ignore_json_pointers_and_jq(void)
{
    char *text;

    text = diff(DEPLOY_DESIRED, live_deploy(5, "nginx:1.25"),
                RULES_HEAD ",\"jsonPointers\":[\"/spec/replicas\"]}]");
    GF_ASSERT_STR(text, ".spec.template.spec.containers[name=\"web\"].image \"nginx:1.26\" "
                        "\"nginx:1.25\"\n");
    free(text);
    text = diff(DEPLOY_DESIRED, live_deploy(5, "nginx:1.25"),
                RULES_HEAD ",\"jqPathExpressions\":[\".spec.template.spec.containers[] | "
                           "select(.name == \\\"web\\\") | .image\", \".spec.replicas\"]}]");
    GF_ASSERT_STR(text, "");
    free(text);
    /* pointer by desired index; a numeric token matches list items */
    text = diff(DEPLOY_DESIRED, live_deploy(2, "nginx:1.25"),
                RULES_HEAD ",\"jsonPointers\":[\"/spec/template/spec/containers/0/image\"]}]");
    GF_ASSERT_STR(text, "");
    free(text);
    /* a select that matches nothing hides nothing */
    text = diff(DEPLOY_DESIRED, live_deploy(2, "nginx:1.25"),
                RULES_HEAD ",\"jqPathExpressions\":[\".spec.template.spec.containers[] | "
                           "select(.name == \\\"other\\\")\"]}]");
    GF_ASSERT_HAS(text, ".image");
    free(text);
}

static void test_drift__ignore_annotations_with_odd_keys(void)
{
    const char *d = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\","
                    "\"annotations\":{\"a/b\":\"1\",\"c\":\"2\"}}}";
    const char *l = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\","
                    "\"annotations\":{\"a/b\":\"9\",\"c\":\"9\"}}}";
    char *text = diff(d, l, NULL);

    GF_ASSERT_STR(text, ".metadata.annotations[\"a/b\"] \"1\" \"9\"\n"
                        ".metadata.annotations.c \"2\" \"9\"\n");
    free(text);
    text = diff(d, l,
                "[{\"kind\":\"ConfigMap\",\"jsonPointers\":[\"/metadata/annotations/a~1b\"],"
                "\"jqPathExpressions\":[\".metadata.annotations[\\\"c\\\"]\"]}]");
    GF_ASSERT_STR(text, "");
    free(text);
}

static void test_drift__ignore_rule_matching(void)
{
    char *text;

    /* another name, another namespace, another group: not applied */
    text = diff(DEPLOY_DESIRED, live_deploy(5, "nginx:1.26"),
                "[{\"group\":\"apps\",\"kind\":\"Deployment\",\"name\":\"api\",\"jsonPointers\":"
                "[\"/spec/replicas\"]},{\"group\":\"apps\",\"kind\":\"Deployment\",\"namespace\":"
                "\"dev\",\"jsonPointers\":[\"/spec/replicas\"]},{\"group\":\"\",\"kind\":"
                "\"Deployment\",\"jsonPointers\":[\"/spec/replicas\"]}]");
    GF_ASSERT_STR(text, ".spec.replicas 2 5\n");
    free(text);
    /* globs and a matching name + namespace */
    text = diff(DEPLOY_DESIRED, live_deploy(5, "nginx:1.26"),
                "[{\"group\":\"*\",\"kind\":\"Deploy*\",\"name\":\"web\",\"namespace\":\"prod\","
                "\"jsonPointers\":[\"/spec/replicas\"]}]");
    GF_ASSERT_STR(text, "");
    free(text);
}

static void test_drift__ignore_managed_fields_managers(void)
{
    char live[8192];
    char *text;

    snprintf(live, sizeof(live), "%s", live_deploy(5, "nginx:1.25"));
    /* splice managedFields into metadata: the HPA owns replicas, a webhook the image */
    char *meta = strstr(live, "\"uid\"");
    const char *mf =
        "\"managedFields\":[{\"manager\":\"hpa\",\"operation\":\"Update\",\"fieldsType\":"
        "\"FieldsV1\",\"fieldsV1\":{\"f:spec\":{\"f:replicas\":{}}}},{\"manager\":\"hook\","
        "\"operation\":\"Update\",\"fieldsV1\":{\"f:spec\":{\"f:template\":{\"f:spec\":{"
        "\"f:containers\":{\"k:{\\\"name\\\":\\\"web\\\"}\":{\".\":{},\"f:image\":{}}}}}}}},"
        "{\"manager\":\"gitfleet\",\"operation\":\"Apply\",\"fieldsV1\":{\"f:spec\":{"
        "\"f:replicas\":{}}}}],";
    memmove(meta + strlen(mf), meta, strlen(meta) + 1);
    memcpy(meta, mf, strlen(mf));
    text = diff(DEPLOY_DESIRED, live, RULES_HEAD ",\"managedFieldsManagers\":[\"hpa\"]}]");
    GF_ASSERT_STR(text, ".spec.template.spec.containers[name=\"web\"].image \"nginx:1.26\" "
                        "\"nginx:1.25\"\n");
    free(text);
    text = diff(DEPLOY_DESIRED, live, RULES_HEAD ",\"managedFieldsManagers\":[\"hook\",\"hpa\"]}]");
    GF_ASSERT_STR(text, "");
    free(text);
}

static void expect_rules_error(const char *rules_json, int code, const char *what)
{
    json_t *rj = J(rules_json);
    struct agent_drift_rules *rules = NULL;

    GF_ASSERT_INT(agent_drift_rules_parse(&rules, rj), code);
    GF_ASSERT(rules == NULL);
    GF_ASSERT_HAS(gf_error_last(), what);
    json_decref(rj);
}

static void test_drift__bad_rules_are_errors(void)
{
    expect_rules_error("[{\"kind\":\"X\",\"jqPathExpressions\":[\".spec | length\"]}]",
                       GF_EUNSUPPORTED, "ignoreDifferences[0]: jqPathExpressions[0]");
    expect_rules_error("[{\"kind\":\"X\",\"jqPathExpressions\":[\"del(.a)\"]}]", GF_EUNSUPPORTED,
                       "supported:");
    expect_rules_error("[{\"kind\":\"X\",\"jqPathExpressions\":[\".a[] | select(.n == \\\"x)\"]}]",
                       GF_EUNSUPPORTED, "unterminated");
    expect_rules_error("[{\"kind\":\"X\"},{\"kind\":\"Y\",\"jsonPointers\":[\"spec\"]}]", GF_EINVAL,
                       "ignoreDifferences[1]: jsonPointers[0]");
    expect_rules_error("[{\"kind\":\"X\",\"jsonpointers\":[]}]", GF_EINVAL,
                       "unknown field \"jsonpointers\"");
    expect_rules_error("[{\"group\":\"apps\"}]", GF_EINVAL, "kind is required");
    expect_rules_error("{}", GF_EINVAL, "expected a list");
}

static void test_drift__to_json_and_depth_limit(void)
{
    json_t *d = J("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"data\":{\"a\":\"1\"}}");
    json_t *l = J("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"data\":{\"a\":\"2\"}}");
    json_t *deep = json_object(), *cur = deep, *list;
    struct agent_drift out;
    char *text;

    GF_ASSERT_INT(agent_drift_compare(&out, d, l, NULL), 0);
    list = agent_drift_to_json(&out);
    text = json_dumps(list, JSON_COMPACT | JSON_SORT_KEYS);
    GF_ASSERT_STR(text, "[{\"desired\":\"\\\"1\\\"\",\"live\":\"\\\"2\\\"\",\"path\":\".data.a\","
                        "\"redacted\":false}]");
    free(text);
    json_decref(list);
    agent_drift_clear(&out);
    for (int i = 0; i < 150; i++) {
        json_t *next = json_object();
        json_object_set_new(cur, "x", next);
        cur = next;
    }
    json_object_set_new(cur, "v", json_integer(1));
    GF_ASSERT_INT(agent_drift_compare(&out, deep, deep, NULL), GF_ETOOBIG);
    GF_ASSERT_INT(agent_drift_compare(&out, l, NULL, NULL), 0);
    GF_ASSERT_INT(out.n, 1);
    agent_drift_clear(&out);
    cur = json_string("x");
    GF_ASSERT_INT(agent_drift_compare(&out, cur, l, NULL), GF_EINVAL);
    json_decref(cur);
    json_decref(deep);
    json_decref(d);
    json_decref(l);
}

/* RespectIgnoreDifferences: the object as applied, as canonical-ish JSON text. */
static char *strip(const char *desired, const char *live, const char *rules_json)
{
    json_t *d = J(desired), *l = live ? J(live) : NULL, *rj = J(rules_json), *out = NULL;
    struct agent_drift_rules *rules = NULL;
    char *text;

    GF_ASSERT_INT(agent_drift_rules_parse(&rules, rj), 0);
    GF_ASSERT_INT(agent_drift_strip(&out, d, l, rules), 0);
    text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(out);
    json_decref(d);
    json_decref(l);
    json_decref(rj);
    agent_drift_rules_free(rules);
    return text;
}

#define ASSERT_STRIP(want, desired, live, rules)                                                   \
    do {                                                                                           \
        char *got_ = strip(desired, live, rules);                                                  \
        GF_ASSERT_STR(got_, want);                                                                 \
        free(got_);                                                                                \
    } while (0)

static void test_drift__strip_json_pointer(void)
{
    const char *dep = "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
                      "\"web\"},\"spec\":{\"replicas\":2,\"paused\":false}}";
    const char *rules = "[{\"group\":\"apps\",\"kind\":\"Deployment\",\"jsonPointers\":["
                        "\"/spec/replicas\"]}]";

    ASSERT_STRIP("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
                 "\"web\"},\"spec\":{\"paused\":false}}",
                 dep, "{}", rules);
    /* a rule for another kind leaves it alone */
    ASSERT_STRIP("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
                 "\"web\"},\"spec\":{\"paused\":false,\"replicas\":2}}",
                 dep, "{}", "[{\"kind\":\"StatefulSet\",\"jsonPointers\":[\"/spec/replicas\"]}]");
    /* identity is never stripped */
    ASSERT_STRIP("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}",
                 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\","
                 "\"labels\":{\"a\":\"b\"}}}",
                 NULL,
                 "[{\"kind\":\"ConfigMap\",\"jsonPointers\":[\"/metadata/name\",\"/metadata/"
                 "labels\",\"/kind\"]}]");
}

static void test_drift__strip_jq_in_keyed_list(void)
{
    const char *dep =
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"w\"},"
        "\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x:1\"},"
        "{\"name\":\"b\",\"image\":\"y:1\"}]}}}}";
    const char *rules =
        "[{\"group\":\"apps\",\"kind\":\"Deployment\",\"jqPathExpressions\":["
        "\".spec.template.spec.containers[] | select(.name == \\\"b\\\") | .image\"]}]";

    /* containers are keyed by name: b's image is left out, b itself stays */
    ASSERT_STRIP("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
                 "\"w\"},\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"image\":\"x:1\","
                 "\"name\":\"a\"},{\"name\":\"b\"}]}}}}",
                 dep, "{}", rules);
}

static void test_drift__strip_atomic_list_takes_live(void)
{
    /* a custom resource's list is atomic: the ignored field takes the live value */
    const char *cr = "{\"apiVersion\":\"x.io/v1\",\"kind\":\"W\",\"metadata\":{\"name\":\"w\"},"
                     "\"spec\":{\"items\":[{\"n\":1,\"size\":2}]}}";
    const char *live = "{\"spec\":{\"items\":[{\"n\":1,\"size\":7}]}}";
    const char *rules =
        "[{\"group\":\"x.io\",\"kind\":\"W\",\"jsonPointers\":[\"/spec/items/0/size\"]}]";

    ASSERT_STRIP("{\"apiVersion\":\"x.io/v1\",\"kind\":\"W\",\"metadata\":{\"name\":\"w\"},"
                 "\"spec\":{\"items\":[{\"n\":1,\"size\":7}]}}",
                 cr, live, rules);
}

static void test_drift__strip_managed_fields_managers(void)
{
    const char *dep = "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
                      "\"web\"},\"spec\":{\"replicas\":2,\"paused\":false}}";
    const char *live = "{\"metadata\":{\"managedFields\":[{\"manager\":\"hpa\",\"operation\":"
                       "\"Update\",\"fieldsV1\":{\"f:spec\":{\"f:replicas\":{}}}}]},\"spec\":{"
                       "\"replicas\":5}}";
    const char *rules = "[{\"group\":\"apps\",\"kind\":\"Deployment\",\"managedFieldsManagers\":["
                        "\"hpa\"]}]";

    ASSERT_STRIP("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
                 "\"web\"},\"spec\":{\"paused\":false}}",
                 dep, live, rules);
}

GF_TESTS(GF_TEST(test_drift__defaulted_fields_never_drift),
         GF_TEST(test_drift__changed_image_by_container_name),
         GF_TEST(test_drift__missing_object_and_list_items),
         GF_TEST(test_drift__quantities_compare_by_value), GF_TEST(test_drift__quantity_parser),
         GF_TEST(test_drift__int_or_string_and_port_keys), GF_TEST(test_drift__empty_alike_absent),
         GF_TEST(test_drift__atomic_and_set_lists),
         GF_TEST(test_drift__custom_resource_lists_are_atomic),
         GF_TEST(test_drift__secret_values_redacted),
         GF_TEST(test_drift__ignore_json_pointers_and_jq),
         GF_TEST(test_drift__ignore_annotations_with_odd_keys),
         GF_TEST(test_drift__ignore_rule_matching),
         GF_TEST(test_drift__ignore_managed_fields_managers),
         GF_TEST(test_drift__bad_rules_are_errors), GF_TEST(test_drift__to_json_and_depth_limit),
         GF_TEST(test_drift__strip_json_pointer), GF_TEST(test_drift__strip_jq_in_keyed_list),
         GF_TEST(test_drift__strip_atomic_list_takes_live),
         GF_TEST(test_drift__strip_managed_fields_managers));
