/* workloads.h -- the objects workload controllers own: ReplicaSets of Deployments, Pods of
 * ReplicaSets, StatefulSets and DaemonSets */
#ifndef KUBESIM_WORKLOADS_H
#define KUBESIM_WORKLOADS_H

#include <jansson.h>
#include <stddef.h>

/* "<name>-<hash of the pod template>": a Deployment's ReplicaSet name. */
void ks_workloads_template_hash(char *buf, size_t n, const char *name, const json_t *tpl);

/* One pass (store lock held): every Deployment has a ReplicaSet for its
 * current template (older ones scaled to 0 once the rollout completed),
 * every ReplicaSet and StatefulSet has spec.replicas Pods, every DaemonSet one. */
void ks_workloads_sync(void);

/* Forget cached template hashes (at shutdown). */
void ks_workloads_shutdown(void);

#endif
