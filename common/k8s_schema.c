/* k8s_schema.c -- merge keys and scopes of built-in Kubernetes kinds */
#include "gitfleet/k8s_schema.h"

#include <string.h>

struct kind_entry {
    const char *group;
    const char *kind;
    const char *pod_spec; /* path of the PodSpec within the object, or NULL */
    int cluster_scoped;
};

/* The built-in kinds gitfleet knows, with where each keeps its PodSpec. */
static const struct kind_entry kinds[] = {
    {"", "Pod", "spec", 0},
    {"", "PodTemplate", "template.spec", 0},
    {"", "ReplicationController", "spec.template.spec", 0},
    {"apps", "Deployment", "spec.template.spec", 0},
    {"apps", "StatefulSet", "spec.template.spec", 0},
    {"apps", "DaemonSet", "spec.template.spec", 0},
    {"apps", "ReplicaSet", "spec.template.spec", 0},
    {"extensions", "Deployment", "spec.template.spec", 0},
    {"extensions", "DaemonSet", "spec.template.spec", 0},
    {"extensions", "ReplicaSet", "spec.template.spec", 0},
    {"batch", "Job", "spec.template.spec", 0},
    {"batch", "CronJob", "spec.jobTemplate.spec.template.spec", 0},
    {"", "Service", NULL, 0},
    {"", "ServiceAccount", NULL, 0},
    {"", "ConfigMap", NULL, 0},
    {"", "Secret", NULL, 0},
    {"", "Endpoints", NULL, 0},
    {"", "Event", NULL, 0},
    {"", "LimitRange", NULL, 0},
    {"", "ResourceQuota", NULL, 0},
    {"", "PersistentVolumeClaim", NULL, 0},
    {"", "Namespace", NULL, 1},
    {"", "Node", NULL, 1},
    {"", "PersistentVolume", NULL, 1},
    {"", "ComponentStatus", NULL, 1},
    {"networking.k8s.io", "Ingress", NULL, 0},
    {"networking.k8s.io", "NetworkPolicy", NULL, 0},
    {"networking.k8s.io", "IngressClass", NULL, 1},
    {"extensions", "Ingress", NULL, 0},
    {"policy", "PodDisruptionBudget", NULL, 0},
    {"policy", "PodSecurityPolicy", NULL, 1},
    {"autoscaling", "HorizontalPodAutoscaler", NULL, 0},
    {"rbac.authorization.k8s.io", "Role", NULL, 0},
    {"rbac.authorization.k8s.io", "RoleBinding", NULL, 0},
    {"rbac.authorization.k8s.io", "ClusterRole", NULL, 1},
    {"rbac.authorization.k8s.io", "ClusterRoleBinding", NULL, 1},
    {"apiextensions.k8s.io", "CustomResourceDefinition", NULL, 1},
    {"apiregistration.k8s.io", "APIService", NULL, 1},
    {"storage.k8s.io", "StorageClass", NULL, 1},
    {"storage.k8s.io", "CSIDriver", NULL, 1},
    {"storage.k8s.io", "VolumeAttachment", NULL, 1},
    {"scheduling.k8s.io", "PriorityClass", NULL, 1},
    {"node.k8s.io", "RuntimeClass", NULL, 1},
    {"admissionregistration.k8s.io", "MutatingWebhookConfiguration", NULL, 1},
    {"admissionregistration.k8s.io", "ValidatingWebhookConfiguration", NULL, 1},
    {"certificates.k8s.io", "CertificateSigningRequest", NULL, 1},
    {"coordination.k8s.io", "Lease", NULL, 0},
};

/* Lists inside a PodSpec, relative to it. "*" stands for any of the
 * container lists (containers, initContainers, ephemeralContainers). */
struct list_entry {
    const char *path;
    enum gf_k8s_list_type type;
    const char *keys[3];
    int retain_keys;
};

static const struct list_entry pod_spec_lists[] = {
    {"containers", GF_K8S_LIST_MAP, {"name"}, 0},
    {"initContainers", GF_K8S_LIST_MAP, {"name"}, 0},
    {"ephemeralContainers", GF_K8S_LIST_MAP, {"name"}, 0},
    {"volumes", GF_K8S_LIST_MAP, {"name"}, 1},
    {"imagePullSecrets", GF_K8S_LIST_MAP, {"name"}, 0},
    {"hostAliases", GF_K8S_LIST_MAP, {"ip"}, 0},
    {"topologySpreadConstraints", GF_K8S_LIST_MAP, {"topologyKey", "whenUnsatisfiable"}, 0},
    {"*.ports", GF_K8S_LIST_MAP, {"containerPort", "protocol"}, 0},
    {"*.env", GF_K8S_LIST_MAP, {"name"}, 0},
    {"*.volumeMounts", GF_K8S_LIST_MAP, {"mountPath"}, 0},
    {"*.volumeDevices", GF_K8S_LIST_MAP, {"devicePath"}, 0},
};

/* Lists at fixed paths of a kind (any group when group is NULL). */
struct kind_list_entry {
    const char *kind;
    const char *path;
    enum gf_k8s_list_type type;
    const char *keys[3];
};

static const struct kind_list_entry kind_lists[] = {
    {"Service", "spec.ports", GF_K8S_LIST_MAP, {"port", "protocol"}},
    {"ServiceAccount", "secrets", GF_K8S_LIST_MAP, {"name"}},
    {"MutatingWebhookConfiguration", "webhooks", GF_K8S_LIST_MAP, {"name"}},
    {"ValidatingWebhookConfiguration", "webhooks", GF_K8S_LIST_MAP, {"name"}},
    {"Node", "status.addresses", GF_K8S_LIST_MAP, {"type"}},
    {"Node", "spec.podCIDRs", GF_K8S_LIST_SET, {NULL}},
    {"Pod", "status.podIPs", GF_K8S_LIST_MAP, {"ip"}},
};

static const struct kind_entry *find_kind(const char *group, const char *kind)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kinds[i].kind, kind) == 0 && strcmp(kinds[i].group, group) == 0)
            return &kinds[i];
    return NULL;
}

int gf_k8s_is_builtin(const char *group, const char *kind)
{
    return find_kind(group, kind) != NULL;
}

int gf_k8s_is_cluster_scoped(const char *group, const char *kind)
{
    const struct kind_entry *k = find_kind(group, kind);
    return k != NULL && k->cluster_scoped;
}

/* If `path` starts with `prefix` followed by '.', return the rest. */
static const char *strip_prefix(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(path, prefix, n) == 0 && path[n] == '.' ? path + n + 1 : NULL;
}

static int is_container_list(const char *name, size_t len)
{
    return (len == 10 && strncmp(name, "containers", 10) == 0) ||
           (len == 14 && strncmp(name, "initContainers", 14) == 0) ||
           (len == 19 && strncmp(name, "ephemeralContainers", 19) == 0);
}

/* Match a PodSpec-relative path against a pattern that may start with "*.". */
static int pod_path_matches(const char *pattern, const char *rel)
{
    if (strncmp(pattern, "*.", 2) != 0)
        return strcmp(pattern, rel) == 0;
    const char *dot = strchr(rel, '.');
    return dot != NULL && is_container_list(rel, (size_t)(dot - rel)) &&
           strcmp(dot + 1, pattern + 2) == 0;
}

static struct gf_k8s_list_info info_of(enum gf_k8s_list_type type, const char *const keys[3],
                                       int retain_keys)
{
    struct gf_k8s_list_info info = {type, {keys[0], keys[1], keys[2]}, retain_keys};
    return info;
}

static int is_conditions_path(const char *path)
{
    return strcmp(path, "status.conditions") == 0;
}

struct gf_k8s_list_info gf_k8s_list_info(const char *group, const char *kind, const char *path)
{
    static const char *const none[3] = {NULL, NULL, NULL};
    static const char *const uid[3] = {"uid", NULL, NULL};
    static const char *const type_key[3] = {"type", NULL, NULL};
    const struct kind_entry *k = find_kind(group, kind);
    const char *rel;

    if (k == NULL)
        return info_of(GF_K8S_LIST_ATOMIC, none, 0);
    if (strcmp(path, "metadata.finalizers") == 0)
        return info_of(GF_K8S_LIST_SET, none, 0);
    if (strcmp(path, "metadata.ownerReferences") == 0)
        return info_of(GF_K8S_LIST_MAP, uid, 0);
    if (is_conditions_path(path))
        return info_of(GF_K8S_LIST_MAP, type_key, 0);
    if (k->pod_spec != NULL && (rel = strip_prefix(path, k->pod_spec)) != NULL) {
        for (size_t i = 0; i < sizeof(pod_spec_lists) / sizeof(pod_spec_lists[0]); i++)
            if (pod_path_matches(pod_spec_lists[i].path, rel))
                return info_of(pod_spec_lists[i].type, pod_spec_lists[i].keys,
                               pod_spec_lists[i].retain_keys);
    }
    for (size_t i = 0; i < sizeof(kind_lists) / sizeof(kind_lists[0]); i++)
        if (strcmp(kind_lists[i].kind, kind) == 0 && strcmp(kind_lists[i].path, path) == 0)
            return info_of(kind_lists[i].type, kind_lists[i].keys, 0);
    return info_of(GF_K8S_LIST_ATOMIC, none, 0);
}

void gf_k8s_split_api_version(const char *api_version, char *buf, size_t buflen,
                              const char **group_out, const char **version_out)
{
    size_t n = strlen(api_version);

    if (n >= buflen)
        n = buflen - 1;
    memcpy(buf, api_version, n);
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash == NULL) {
        *group_out = buf + n; /* "" */
        *version_out = buf;
    } else {
        *slash = '\0';
        *group_out = buf;
        *version_out = slash + 1;
    }
}

/* gitops-engine's kind order within a wave; other kinds come after these. */
static const char *const sync_kind_order[] = {
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
};

size_t gf_k8s_sync_kind_rank(const char *kind)
{
    size_t n = sizeof(sync_kind_order) / sizeof(sync_kind_order[0]);

    for (size_t i = 0; i < n; i++)
        if (strcmp(kind, sync_kind_order[i]) == 0)
            return i;
    return n;
}
