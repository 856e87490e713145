/* k8s_schema_test.c -- merge keys and scopes of built-in kinds */
#include "harness.h"

#include "gitfleet/k8s_schema.h"

static void test_k8s_schema__pod_spec_lists_by_kind(void)
{
    struct gf_k8s_list_info info;

    info = gf_k8s_list_info("apps", "Deployment", "spec.template.spec.containers");
    GF_ASSERT_INT(info.type, GF_K8S_LIST_MAP);
    GF_ASSERT_STR(info.keys[0], "name");
    info = gf_k8s_list_info("batch", "CronJob", "spec.jobTemplate.spec.template.spec.volumes");
    GF_ASSERT_INT(info.type, GF_K8S_LIST_MAP);
    GF_ASSERT(info.retain_keys);
    info = gf_k8s_list_info("", "Pod", "spec.initContainers.ports");
    GF_ASSERT_STR(info.keys[0], "containerPort");
    GF_ASSERT_STR(info.keys[1], "protocol");
    GF_ASSERT(info.keys[2] == NULL);
    info = gf_k8s_list_info("apps", "StatefulSet", "spec.template.spec.containers.volumeMounts");
    GF_ASSERT_STR(info.keys[0], "mountPath");
}

static void test_k8s_schema__atomic_lists(void)
{
    GF_ASSERT_INT(gf_k8s_list_info("apps", "Deployment", "spec.template.spec.tolerations").type,
                  GF_K8S_LIST_ATOMIC);
    GF_ASSERT_INT(gf_k8s_list_info("apps", "Deployment", "spec.template.spec.containers.args").type,
                  GF_K8S_LIST_ATOMIC);
    /* A custom resource has no schema, even for a list named containers. */
    GF_ASSERT_INT(gf_k8s_list_info("example.com", "Widget", "spec.containers").type,
                  GF_K8S_LIST_ATOMIC);
    /* The PodSpec path of a Pod is not that of a Deployment. */
    GF_ASSERT_INT(gf_k8s_list_info("", "Pod", "spec.template.spec.containers").type,
                  GF_K8S_LIST_ATOMIC);
}

static void test_k8s_schema__service_ports_and_metadata(void)
{
    struct gf_k8s_list_info info = gf_k8s_list_info("", "Service", "spec.ports");

    GF_ASSERT_STR(info.keys[0], "port");
    GF_ASSERT_STR(info.keys[1], "protocol");
    GF_ASSERT_INT(gf_k8s_list_info("", "ConfigMap", "metadata.finalizers").type, GF_K8S_LIST_SET);
    GF_ASSERT_STR(gf_k8s_list_info("apps", "Deployment", "status.conditions").keys[0], "type");
}

static void test_k8s_schema__scopes_and_api_versions(void)
{
    char buf[64];
    const char *group, *version;

    GF_ASSERT(gf_k8s_is_cluster_scoped("", "Namespace"));
    GF_ASSERT(gf_k8s_is_cluster_scoped("rbac.authorization.k8s.io", "ClusterRole"));
    GF_ASSERT(!gf_k8s_is_cluster_scoped("", "ConfigMap"));
    GF_ASSERT(!gf_k8s_is_cluster_scoped("example.com", "Widget"));
    gf_k8s_split_api_version("apps/v1", buf, sizeof(buf), &group, &version);
    GF_ASSERT_STR(group, "apps");
    GF_ASSERT_STR(version, "v1");
    gf_k8s_split_api_version("v1", buf, sizeof(buf), &group, &version);
    GF_ASSERT_STR(group, "");
    GF_ASSERT_STR(version, "v1");
}

GF_TESTS(GF_TEST(test_k8s_schema__pod_spec_lists_by_kind), GF_TEST(test_k8s_schema__atomic_lists),
         GF_TEST(test_k8s_schema__service_ports_and_metadata),
         GF_TEST(test_k8s_schema__scopes_and_api_versions));
