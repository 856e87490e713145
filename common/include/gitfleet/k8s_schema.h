/* k8s_schema.h -- the few schema facts about built-in Kubernetes kinds that merging needs */
#ifndef GITFLEET_K8S_SCHEMA_H
#define GITFLEET_K8S_SCHEMA_H

#include <stddef.h>

/* How a list field merges in a strategic merge patch or server-side apply. */
enum gf_k8s_list_type {
    GF_K8S_LIST_ATOMIC = 0, /* replaced whole (also every list of a kind with no schema) */
    GF_K8S_LIST_MAP,        /* items matched by merge keys */
    GF_K8S_LIST_SET         /* primitive items, merged as a set (finalizers) */
};

struct gf_k8s_list_info {
    enum gf_k8s_list_type type;
    const char *keys[3]; /* GF_K8S_LIST_MAP: the merge keys, NULL-terminated */
    int retain_keys;     /* patchStrategy includes retainKeys (volumes) */
};

/*
 * The merge behaviour of the list at `path` in an object of `group` (""
 * for core) and `kind`. `path` is the dotted chain of field names from the
 * object's root with list items skipped: "spec.template.spec.containers.env".
 * Kinds that are not built in (custom resources) have no schema: every list
 * is atomic. The keys are those of kustomize's embedded schema (the
 * patchMergeKey, or the list-map keys where both exist: ports are keyed by
 * containerPort+protocol).
 */
struct gf_k8s_list_info gf_k8s_list_info(const char *group, const char *kind, const char *path);

/* 1 when `group`/`kind` is a built-in type whose schema gitfleet knows. */
int gf_k8s_is_builtin(const char *group, const char *kind);

/* 1 for the built-in cluster-scoped kinds (Namespace, ClusterRole, CRD, ...). */
int gf_k8s_is_cluster_scoped(const char *group, const char *kind);

/* Position of `kind` in Argo CD's (gitops-engine's) apply order within one
 * sync wave: Namespace, NetworkPolicy, ResourceQuota, ..., Ingress,
 * APIService (0 = Namespace); every other kind shares the last rank. */
size_t gf_k8s_sync_kind_rank(const char *kind);

/* Split an apiVersion "apps/v1" into group "apps" and version "v1" ("v1" ->
 * group "", version "v1"). The outputs point into `buf` (size >= len+1). */
void gf_k8s_split_api_version(const char *api_version, char *buf, size_t buflen,
                              const char **group_out, const char **version_out);

#endif
