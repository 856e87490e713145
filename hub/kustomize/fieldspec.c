/* fieldspec.c -- field specs (where a transformer writes) and kustomize's builtin transformer
 * configuration */
#include "internal.h"

#include "gitfleet/error.h"
#include "gitfleet/yaml_parse.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/*
 * The builtin configuration, as kustomize v5.5 ships it: which fields each
 * transformer touches per kind. Flow style, one spec per line:
 * {path, kind, group, version, create}.
 */
static const char builtin_config[] =
    "namePrefix:\n"
    "- {path: metadata/name}\n"
    "nameSuffix:\n"
    "- {path: metadata/name}\n"
    "namespace:\n"
    "- {path: metadata/name, kind: Namespace, create: true}\n"
    "- {path: spec/service/namespace, group: apiregistration.k8s.io, kind: APIService, create: "
    "true}\n"
    "- {path: spec/conversion/webhook/clientConfig/service/namespace, group: apiextensions.k8s.io,"
    " kind: CustomResourceDefinition}\n"
    "templateLabels:\n"
    "- {path: spec/template/metadata/labels, create: true, version: v1, kind: "
    "ReplicationController}\n"
    "- {path: spec/template/metadata/labels, create: true, kind: Deployment}\n"
    "- {path: spec/template/metadata/labels, create: true, kind: ReplicaSet}\n"
    "- {path: spec/template/metadata/labels, create: true, kind: DaemonSet}\n"
    "- {path: spec/template/metadata/labels, create: true, group: apps, kind: StatefulSet}\n"
    "- {path: 'spec/volumeClaimTemplates[]/metadata/labels', create: true, group: apps, kind: "
    "StatefulSet}\n"
    "- {path: spec/template/metadata/labels, create: true, group: batch, kind: Job}\n"
    "- {path: spec/jobTemplate/metadata/labels, create: true, group: batch, kind: CronJob}\n"
    "- {path: spec/jobTemplate/spec/template/metadata/labels, create: true, group: batch, kind: "
    "CronJob}\n"
    "commonLabels:\n"
    "- {path: spec/selector, create: true, version: v1, kind: Service}\n"
    "- {path: spec/selector, create: true, version: v1, kind: ReplicationController}\n"
    "- {path: spec/selector/matchLabels, create: true, kind: Deployment}\n"
    "- {path: "
    "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/"
    "podAffinityTerm/labelSelector/matchLabels, group: apps, kind: Deployment}\n"
    "- {path: "
    "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/"
    "labelSelector/matchLabels, group: apps, kind: Deployment}\n"
    "- {path: "
    "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/"
    "podAffinityTerm/labelSelector/matchLabels, group: apps, kind: Deployment}\n"
    "- {path: "
    "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/"
    "labelSelector/matchLabels, group: apps, kind: Deployment}\n"
    "- {path: spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels, group: apps, "
    "kind: Deployment}\n"
    "- {path: spec/selector/matchLabels, create: true, kind: ReplicaSet}\n"
    "- {path: spec/selector/matchLabels, create: true, kind: DaemonSet}\n"
    "- {path: spec/selector/matchLabels, create: true, group: apps, kind: StatefulSet}\n"
    "- {path: "
    "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/"
    "podAffinityTerm/labelSelector/matchLabels, group: apps, kind: StatefulSet}\n"
    "- {path: "
    "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/"
    "labelSelector/matchLabels, group: apps, kind: StatefulSet}\n"
    "- {path: "
    "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/"
    "podAffinityTerm/labelSelector/matchLabels, group: apps, kind: StatefulSet}\n"
    "- {path: "
    "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/"
    "labelSelector/matchLabels, group: apps, kind: StatefulSet}\n"
    "- {path: spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels, group: apps, "
    "kind: StatefulSet}\n"
    "- {path: spec/selector/matchLabels, group: batch, kind: Job}\n"
    "- {path: spec/jobTemplate/spec/selector/matchLabels, group: batch, kind: CronJob}\n"
    "- {path: spec/selector/matchLabels, group: policy, kind: PodDisruptionBudget}\n"
    "- {path: spec/podSelector/matchLabels, group: networking.k8s.io, kind: NetworkPolicy}\n"
    "- {path: spec/ingress/from/podSelector/matchLabels, group: networking.k8s.io, kind: "
    "NetworkPolicy}\n"
    "- {path: spec/egress/to/podSelector/matchLabels, group: networking.k8s.io, kind: "
    "NetworkPolicy}\n"
    "commonAnnotations:\n"
    "- {path: metadata/annotations, create: true}\n"
    "- {path: spec/template/metadata/annotations, create: true, version: v1, kind: "
    "ReplicationController}\n"
    "- {path: spec/template/metadata/annotations, create: true, kind: Deployment}\n"
    "- {path: spec/template/metadata/annotations, create: true, kind: ReplicaSet}\n"
    "- {path: spec/template/metadata/annotations, create: true, kind: DaemonSet}\n"
    "- {path: spec/template/metadata/annotations, create: true, kind: StatefulSet}\n"
    "- {path: spec/template/metadata/annotations, create: true, group: batch, kind: Job}\n"
    "- {path: spec/jobTemplate/metadata/annotations, create: true, group: batch, kind: CronJob}\n"
    "- {path: spec/jobTemplate/spec/template/metadata/annotations, create: true, group: batch, "
    "kind: CronJob}\n"
    "images:\n"
    "- {path: 'spec/containers[]/image', create: true}\n"
    "- {path: 'spec/initContainers[]/image', create: true}\n"
    "- {path: 'spec/template/spec/containers[]/image', create: true}\n"
    "- {path: 'spec/template/spec/initContainers[]/image', create: true}\n"
    "replicas:\n"
    "- {path: spec/replicas, create: true, kind: Deployment}\n"
    "- {path: spec/replicas, create: true, kind: ReplicationController}\n"
    "- {path: spec/replicas, create: true, kind: ReplicaSet}\n"
    "- {path: spec/replicas, create: true, kind: StatefulSet}\n"
    "varReference:\n"
    "- {path: spec/jobTemplate/spec/template/spec/containers/args, kind: CronJob}\n"
    "- {path: spec/jobTemplate/spec/template/spec/containers/command, kind: CronJob}\n"
    "- {path: spec/jobTemplate/spec/template/spec/containers/env/value, kind: CronJob}\n"
    "- {path: spec/jobTemplate/spec/template/spec/containers/volumeMounts/mountPath, kind: "
    "CronJob}\n"
    "- {path: spec/jobTemplate/spec/template/spec/initContainers/args, kind: CronJob}\n"
    "- {path: spec/jobTemplate/spec/template/spec/initContainers/command, kind: CronJob}\n"
    "- {path: spec/jobTemplate/spec/template/spec/initContainers/env/value, kind: CronJob}\n"
    "- {path: spec/jobTemplate/spec/template/spec/initContainers/volumeMounts/mountPath, kind: "
    "CronJob}\n"
    "- {path: spec/jobTemplate/spec/template/spec/volumes/nfs/server, kind: CronJob}\n"
    "- {path: spec/template/spec/containers/args, kind: DaemonSet}\n"
    "- {path: spec/template/spec/containers/command, kind: DaemonSet}\n"
    "- {path: spec/template/spec/containers/env/value, kind: DaemonSet}\n"
    "- {path: spec/template/spec/containers/volumeMounts/mountPath, kind: DaemonSet}\n"
    "- {path: spec/template/spec/initContainers/args, kind: DaemonSet}\n"
    "- {path: spec/template/spec/initContainers/command, kind: DaemonSet}\n"
    "- {path: spec/template/spec/initContainers/env/value, kind: DaemonSet}\n"
    "- {path: spec/template/spec/initContainers/volumeMounts/mountPath, kind: DaemonSet}\n"
    "- {path: spec/template/spec/volumes/nfs/server, kind: DaemonSet}\n"
    "- {path: spec/template/spec/containers/args, kind: Deployment}\n"
    "- {path: spec/template/spec/containers/command, kind: Deployment}\n"
    "- {path: spec/template/spec/containers/env/value, kind: Deployment}\n"
    "- {path: spec/template/spec/containers/volumeMounts/mountPath, kind: Deployment}\n"
    "- {path: spec/template/spec/initContainers/args, kind: Deployment}\n"
    "- {path: spec/template/spec/initContainers/command, kind: Deployment}\n"
    "- {path: spec/template/spec/initContainers/env/value, kind: Deployment}\n"
    "- {path: spec/template/spec/initContainers/volumeMounts/mountPath, kind: Deployment}\n"
    "- {path: spec/template/spec/volumes/nfs/server, kind: Deployment}\n"
    "- {path: spec/template/metadata/annotations, kind: Deployment}\n"
    "- {path: spec/template/spec/containers/args, kind: Job}\n"
    "- {path: spec/template/spec/containers/command, kind: Job}\n"
    "- {path: spec/template/spec/containers/env/value, kind: Job}\n"
    "- {path: spec/template/spec/containers/volumeMounts/mountPath, kind: Job}\n"
    "- {path: spec/template/spec/initContainers/args, kind: Job}\n"
    "- {path: spec/template/spec/initContainers/command, kind: Job}\n"
    "- {path: spec/template/spec/initContainers/env/value, kind: Job}\n"
    "- {path: spec/template/spec/initContainers/volumeMounts/mountPath, kind: Job}\n"
    "- {path: spec/template/spec/volumes/nfs/server, kind: Job}\n"
    "- {path: spec/template/spec/containers/args, kind: ReplicaSet}\n"
    "- {path: spec/template/spec/containers/command, kind: ReplicaSet}\n"
    "- {path: spec/template/spec/containers/env/value, kind: ReplicaSet}\n"
    "- {path: spec/template/spec/containers/volumeMounts/mountPath, kind: ReplicaSet}\n"
    "- {path: spec/template/spec/initContainers/args, kind: ReplicaSet}\n"
    "- {path: spec/template/spec/initContainers/command, kind: ReplicaSet}\n"
    "- {path: spec/template/spec/initContainers/env/value, kind: ReplicaSet}\n"
    "- {path: spec/template/spec/initContainers/volumeMounts/mountPath, kind: ReplicaSet}\n"
    "- {path: spec/template/spec/volumes/nfs/server, kind: ReplicaSet}\n"
    "- {path: spec/containers/args, kind: Pod}\n"
    "- {path: spec/containers/command, kind: Pod}\n"
    "- {path: spec/containers/env/value, kind: Pod}\n"
    "- {path: spec/containers/volumeMounts/mountPath, kind: Pod}\n"
    "- {path: spec/initContainers/args, kind: Pod}\n"
    "- {path: spec/initContainers/command, kind: Pod}\n"
    "- {path: spec/initContainers/env/value, kind: Pod}\n"
    "- {path: spec/initContainers/volumeMounts/mountPath, kind: Pod}\n"
    "- {path: spec/volumes/nfs/server, kind: Pod}\n"
    "- {path: spec/template/spec/containers/args, kind: StatefulSet}\n"
    "- {path: spec/template/spec/containers/command, kind: StatefulSet}\n"
    "- {path: spec/template/spec/containers/env/value, kind: StatefulSet}\n"
    "- {path: spec/template/spec/containers/volumeMounts/mountPath, kind: StatefulSet}\n"
    "- {path: spec/template/spec/initContainers/args, kind: StatefulSet}\n"
    "- {path: spec/template/spec/initContainers/command, kind: StatefulSet}\n"
    "- {path: spec/template/spec/initContainers/env/value, kind: StatefulSet}\n"
    "- {path: spec/template/spec/initContainers/volumeMounts/mountPath, kind: StatefulSet}\n"
    "- {path: spec/volumeClaimTemplates/spec/nfs/server, kind: StatefulSet}\n"
    "- {path: spec/template/spec/volumes/nfs/server, kind: StatefulSet}\n"
    "- {path: spec/ports/port, kind: Service}\n"
    "- {path: spec/ports/targetPort, kind: Service}\n"
    "- {path: spec/rules/host, kind: Ingress}\n"
    "- {path: spec/tls/hosts, kind: Ingress}\n"
    "- {path: spec/tls/secretName, kind: Ingress}\n"
    "- {path: metadata/labels}\n"
    "- {path: metadata/annotations}\n";

/* The nameReference part, in the same flow style: {kind, group, version, specs: [...]}. */
static const char builtin_nameref[] =
    "nameReference:\n"
    "- kind: Deployment\n"
    "  fieldSpecs: [{path: spec/scaleTargetRef/name, kind: HorizontalPodAutoscaler}]\n"
    "- kind: ReplicationController\n"
    "  fieldSpecs: [{path: spec/scaleTargetRef/name, kind: HorizontalPodAutoscaler}]\n"
    "- kind: ReplicaSet\n"
    "  fieldSpecs: [{path: spec/scaleTargetRef/name, kind: HorizontalPodAutoscaler}]\n"
    "- kind: StatefulSet\n"
    "  fieldSpecs: [{path: spec/scaleTargetRef/name, kind: HorizontalPodAutoscaler}]\n"
    "- kind: ConfigMap\n"
    "  version: v1\n"
    "  fieldSpecs:\n"
    "  - {path: spec/configSource/configMap, kind: Node}\n"
    "  - {path: rules/resourceNames, kind: Role}\n"
    "  - {path: rules/resourceNames, kind: ClusterRole}\n"
    "  - {path: 'metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap', "
    "kind: "
    "Ingress}\n"
    "- kind: Secret\n"
    "  version: v1\n"
    "  fieldSpecs:\n"
    "  - {path: spec/tls/secretName, kind: Ingress}\n"
    "  - {path: 'metadata/annotations/ingress.kubernetes.io\\/auth-secret', kind: Ingress}\n"
    "  - {path: 'metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret', kind: Ingress}\n"
    "  - {path: 'metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret', kind: "
    "Ingress}\n"
    "  - {path: imagePullSecrets/name, kind: ServiceAccount}\n"
    "  - {path: parameters/secretName, kind: StorageClass}\n"
    "  - {path: parameters/adminSecretName, kind: StorageClass}\n"
    "  - {path: parameters/userSecretName, kind: StorageClass}\n"
    "  - {path: parameters/secretRef, kind: StorageClass}\n"
    "  - {path: rules/resourceNames, kind: Role}\n"
    "  - {path: rules/resourceNames, kind: ClusterRole}\n"
    "  - {path: spec/template/spec/containers/env/valueFrom/secretKeyRef/name, kind: Service, "
    "group: serving.knative.dev, version: v1}\n"
    "  - {path: spec/azureFile/secretName, kind: PersistentVolume}\n"
    "- kind: Service\n"
    "  version: v1\n"
    "  fieldSpecs:\n"
    "  - {path: spec/serviceName, kind: StatefulSet, group: apps}\n"
    "  - {path: spec/rules/http/paths/backend/serviceName, kind: Ingress}\n"
    "  - {path: spec/backend/serviceName, kind: Ingress}\n"
    "  - {path: spec/rules/http/paths/backend/service/name, kind: Ingress}\n"
    "  - {path: spec/defaultBackend/service/name, kind: Ingress}\n"
    "  - {path: spec/service/name, kind: APIService, group: apiregistration.k8s.io}\n"
    "  - {path: webhooks/clientConfig/service, kind: ValidatingWebhookConfiguration, group: "
    "admissionregistration.k8s.io}\n"
    "  - {path: webhooks/clientConfig/service, kind: MutatingWebhookConfiguration, group: "
    "admissionregistration.k8s.io}\n"
    "  - {path: spec/rules/backendRefs/name, kind: HTTPRoute}\n"
    "- kind: Role\n"
    "  group: rbac.authorization.k8s.io\n"
    "  fieldSpecs: [{path: roleRef/name, kind: RoleBinding, group: rbac.authorization.k8s.io}]\n"
    "- kind: ClusterRole\n"
    "  group: rbac.authorization.k8s.io\n"
    "  fieldSpecs:\n"
    "  - {path: roleRef/name, kind: RoleBinding, group: rbac.authorization.k8s.io}\n"
    "  - {path: roleRef/name, kind: ClusterRoleBinding, group: rbac.authorization.k8s.io}\n"
    "- kind: ServiceAccount\n"
    "  version: v1\n"
    "  fieldSpecs:\n"
    "  - {path: subjects, kind: RoleBinding, group: rbac.authorization.k8s.io}\n"
    "  - {path: subjects, kind: ClusterRoleBinding, group: rbac.authorization.k8s.io}\n"
    "  - {path: spec/serviceAccountName, kind: Pod}\n"
    "  - {path: spec/template/spec/serviceAccountName, kind: StatefulSet}\n"
    "  - {path: spec/template/spec/serviceAccountName, kind: Deployment}\n"
    "  - {path: spec/template/spec/serviceAccountName, kind: ReplicationController}\n"
    "  - {path: spec/jobTemplate/spec/template/spec/serviceAccountName, kind: CronJob}\n"
    "  - {path: spec/template/spec/serviceAccountName, kind: Job}\n"
    "  - {path: spec/template/spec/serviceAccountName, kind: DaemonSet}\n"
    "- kind: PersistentVolumeClaim\n"
    "  version: v1\n"
    "  fieldSpecs:\n"
    "  - {path: spec/volumes/persistentVolumeClaim/claimName, kind: Pod}\n"
    "  - {path: spec/template/spec/volumes/persistentVolumeClaim/claimName, kind: StatefulSet}\n"
    "  - {path: spec/template/spec/volumes/persistentVolumeClaim/claimName, kind: Deployment}\n"
    "  - {path: spec/template/spec/volumes/persistentVolumeClaim/claimName, kind: "
    "ReplicationController}\n"
    "  - {path: spec/jobTemplate/spec/template/spec/volumes/persistentVolumeClaim/claimName, "
    "kind: CronJob}\n"
    "  - {path: spec/template/spec/volumes/persistentVolumeClaim/claimName, kind: Job}\n"
    "  - {path: spec/template/spec/volumes/persistentVolumeClaim/claimName, kind: DaemonSet}\n"
    "- kind: PersistentVolume\n"
    "  version: v1\n"
    "  fieldSpecs:\n"
    "  - {path: spec/volumeName, kind: PersistentVolumeClaim}\n"
    "  - {path: rules/resourceNames, kind: ClusterRole}\n"
    "- kind: StorageClass\n"
    "  version: v1\n"
    "  group: storage.k8s.io\n"
    "  fieldSpecs:\n"
    "  - {path: spec/storageClassName, kind: PersistentVolume}\n"
    "  - {path: spec/storageClassName, kind: PersistentVolumeClaim}\n"
    "  - {path: spec/volumeClaimTemplates/spec/storageClassName, kind: StatefulSet}\n"
    "- kind: PriorityClass\n"
    "  version: v1\n"
    "  group: scheduling.k8s.io\n"
    "  fieldSpecs:\n"
    "  - {path: spec/priorityClassName, kind: Pod}\n"
    "  - {path: spec/template/spec/priorityClassName, kind: StatefulSet}\n"
    "  - {path: spec/template/spec/priorityClassName, kind: Deployment}\n"
    "  - {path: spec/template/spec/priorityClassName, kind: ReplicationController}\n"
    "  - {path: spec/jobTemplate/spec/template/spec/priorityClassName, kind: CronJob}\n"
    "  - {path: spec/template/spec/priorityClassName, kind: Job}\n"
    "  - {path: spec/template/spec/priorityClassName, kind: DaemonSet}\n"
    "- kind: IngressClass\n"
    "  version: v1\n"
    "  group: networking.k8s.io/v1\n"
    "  fieldSpecs: [{path: spec/ingressClassName, kind: Ingress}]\n"
    "- kind: ValidatingAdmissionPolicy\n"
    "  group: admissionregistration.k8s.io\n"
    "  fieldSpecs: [{path: spec/policyName, kind: ValidatingAdmissionPolicyBinding, group: "
    "admissionregistration.k8s.io}]\n";

/* The ConfigMap and Secret references inside pod templates follow one
 * pattern per workload kind; they are generated rather than spelled out. */
struct pod_kind {
    const char *kind;
    const char *prefix; /* path to the PodSpec */
    const char *version;
};

static const struct pod_kind pod_kinds[] = {
    {"Pod", "spec", "v1"},
    {"PodTemplate", "template/spec", NULL},
    {"Deployment", "spec/template/spec", NULL},
    {"ReplicaSet", "spec/template/spec", NULL},
    {"DaemonSet", "spec/template/spec", NULL},
    {"StatefulSet", "spec/template/spec", NULL},
    {"Job", "spec/template/spec", NULL},
    {"CronJob", "spec/jobTemplate/spec/template/spec", NULL},
};

static const char *const cm_refs[] = {
    "volumes/configMap/name",
    "containers/env/valueFrom/configMapKeyRef/name",
    "initContainers/env/valueFrom/configMapKeyRef/name",
    "containers/envFrom/configMapRef/name",
    "initContainers/envFrom/configMapRef/name",
    "volumes/projected/sources/configMap/name",
};

static const char *const secret_refs[] = {
    "volumes/secret/secretName",
    "containers/env/valueFrom/secretKeyRef/name",
    "initContainers/env/valueFrom/secretKeyRef/name",
    "containers/envFrom/secretRef/name",
    "initContainers/envFrom/secretRef/name",
    "imagePullSecrets/name",
    "volumes/projected/sources/secret/name",
};

static void split_path(struct kz_fieldspec *fs, const char *path)
{
    size_t cap = 8;
    char *cur = malloc(strlen(path) + 1);
    size_t n = 0;

    fs->path = calloc(cap, sizeof(char *));
    fs->npath = 0;
    for (const char *p = path;; p++) {
        if (*p == '\\' && p[1] == '/') {
            cur[n++] = '/';
            p++;
            continue;
        }
        if (*p == '/' || *p == '\0') {
            cur[n] = '\0';
            if (fs->npath == cap) {
                cap *= 2;
                fs->path = realloc(fs->path, cap * sizeof(char *));
            }
            fs->path[fs->npath++] = strdup(cur);
            n = 0;
            if (*p == '\0')
                break;
            continue;
        }
        cur[n++] = *p;
    }
    free(cur);
}

static void fieldspec_clear(struct kz_fieldspec *fs)
{
    free(fs->group);
    free(fs->version);
    free(fs->kind);
    for (size_t i = 0; i < fs->npath; i++)
        free(fs->path[i]);
    free(fs->path);
}

static char *opt_string(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s != NULL && s[0] ? strdup(s) : NULL;
}

static int fieldspec_parse(struct kz_fieldspec *fs, const json_t *obj, const char *what)
{
    const char *path = json_string_value(json_object_get(obj, "path"));

    memset(fs, 0, sizeof(*fs));
    if (!json_is_object(obj) || path == NULL)
        return gf_error_set(GF_EINVAL, "%s: a field spec needs a 'path'", what);
    fs->group = opt_string(obj, "group");
    fs->version = opt_string(obj, "version");
    fs->kind = opt_string(obj, "kind");
    fs->create = json_is_true(json_object_get(obj, "create"));
    split_path(fs, path);
    return 0;
}

int kz_fslist_append(struct kz_fslist *l, const struct kz_fieldspec *fs)
{
    struct kz_fieldspec *items = realloc(l->items, (l->len + 1) * sizeof(*items));
    if (items == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    l->items = items;
    struct kz_fieldspec *c = &l->items[l->len++];
    c->group = kz_strdup(fs->group);
    c->version = kz_strdup(fs->version);
    c->kind = kz_strdup(fs->kind);
    c->create = fs->create;
    c->npath = fs->npath;
    c->path = calloc(fs->npath ? fs->npath : 1, sizeof(char *));
    for (size_t i = 0; i < fs->npath; i++)
        c->path[i] = strdup(fs->path[i]);
    return 0;
}

static int fieldspec_same(const struct kz_fieldspec *a, const struct kz_fieldspec *b)
{
    if (a->npath != b->npath || a->create != b->create)
        return 0;
    for (size_t i = 0; i < a->npath; i++)
        if (strcmp(a->path[i], b->path[i]) != 0)
            return 0;
    return strcmp(a->group ? a->group : "", b->group ? b->group : "") == 0 &&
           strcmp(a->version ? a->version : "", b->version ? b->version : "") == 0 &&
           strcmp(a->kind ? a->kind : "", b->kind ? b->kind : "") == 0;
}

static int opt_selects(const char *want, const char *have)
{
    return want == NULL || (have != NULL && strcmp(want, have) == 0);
}

/* Same path, and one spec's gvk selects the other's (kustomize's "effectively equal"). */
static int fieldspec_overlaps(const struct kz_fieldspec *a, const struct kz_fieldspec *b)
{
    if (a->npath != b->npath)
        return 0;
    for (size_t i = 0; i < a->npath; i++)
        if (strcmp(a->path[i], b->path[i]) != 0)
            return 0;
    return (opt_selects(a->kind, b->kind) && opt_selects(a->group, b->group) &&
            opt_selects(a->version, b->version)) ||
           (opt_selects(b->kind, a->kind) && opt_selects(b->group, a->group) &&
            opt_selects(b->version, a->version));
}

/* Merge one spec into a list as kustomize merges configurations: an equal
 * spec is already there; one on the same path that selects or is selected
 * by it is replaced by it (a `namePrefix: [{path: metadata/name, kind: X}]`
 * configuration narrows the default to kind X); otherwise it is appended. */
static int fslist_add_unique(struct kz_fslist *l, const struct kz_fieldspec *fs)
{
    for (size_t i = 0; i < l->len; i++) {
        if (fieldspec_same(&l->items[i], fs))
            return 0;
        if (fieldspec_overlaps(&l->items[i], fs)) {
            struct kz_fslist one = {0};
            int error = kz_fslist_append(&one, fs);
            if (error < 0)
                return error;
            fieldspec_clear(&l->items[i]);
            l->items[i] = one.items[0];
            free(one.items);
            return 0;
        }
    }
    return kz_fslist_append(l, fs);
}

int kz_fslist_parse(struct kz_fslist *out, const json_t *arr, const char *what)
{
    size_t i;
    json_t *v;
    int error;

    if (arr == NULL || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return gf_error_set(GF_EINVAL, "%s: expected a list of field specs", what);
    json_array_foreach(arr, i, v)
    {
        struct kz_fieldspec fs;
        if ((error = fieldspec_parse(&fs, v, what)) < 0)
            return error;
        error = fslist_add_unique(out, &fs);
        fieldspec_clear(&fs);
        if (error < 0)
            return error;
    }
    return 0;
}

void kz_fslist_free(struct kz_fslist *l)
{
    for (size_t i = 0; i < l->len; i++)
        fieldspec_clear(&l->items[i]);
    free(l->items);
    l->items = NULL;
    l->len = 0;
}

static int fslist_merge(struct kz_fslist *dst, const struct kz_fslist *src)
{
    int error;
    for (size_t i = 0; i < src->len; i++)
        if ((error = fslist_add_unique(dst, &src->items[i])) < 0)
            return error;
    return 0;
}

static int str_match(const char *want, const char *have)
{
    return want == NULL || strcmp(want, have) == 0;
}

int kz_fieldspec_selects(const struct kz_fieldspec *fs, const struct kz_res *r)
{
    char buf[256];
    const char *g, *v;

    kz_res_gv(r, buf, sizeof(buf), &g, &v);
    return str_match(fs->kind, kz_res_kind(r)) && str_match(fs->group, g) &&
           str_match(fs->version, v);
}

static int walk(json_t *node, const struct kz_fieldspec *fs, size_t i, int create_leaf,
                kz_field_fn fn, void *ctx)
{
    size_t k;
    json_t *elem;
    int error;

    if (json_is_array(node)) {
        json_array_foreach(node, k, elem)
        {
            if ((error = walk(elem, fs, i, create_leaf, fn, ctx)) < 0)
                return error;
        }
        return 0;
    }
    if (!json_is_object(node))
        return 0;
    char name[512];
    snprintf(name, sizeof(name), "%s", fs->path[i]);
    size_t nlen = strlen(name);
    int is_seq = nlen > 2 && strcmp(name + nlen - 2, "[]") == 0;
    if (is_seq)
        name[nlen - 2] = '\0';
    json_t *child = json_object_get(node, name);
    if (child != NULL && json_is_null(child))
        child = NULL;
    if (i + 1 == fs->npath) {
        if (child == NULL && !(fs->create && create_leaf))
            return 0;
        return fn(node, name, child, ctx);
    }
    if (child == NULL) {
        if (!fs->create || !create_leaf || is_seq)
            return 0;
        child = json_object();
        json_object_set_new(node, name, child);
    }
    return walk(child, fs, i + 1, create_leaf, fn, ctx);
}

int kz_fieldspec_apply(json_t *obj, const struct kz_fieldspec *fs, int create_leaf, kz_field_fn fn,
                       void *ctx)
{
    if (fs->npath == 0)
        return 0;
    return walk(obj, fs, 0, create_leaf, fn, ctx);
}

int kz_fslist_apply(struct kz_res *r, const struct kz_fslist *l, int create_leaf, kz_field_fn fn,
                    void *ctx)
{
    int error;
    for (size_t i = 0; i < l->len; i++) {
        if (!kz_fieldspec_selects(&l->items[i], r))
            continue;
        if ((error = kz_fieldspec_apply(r->obj, &l->items[i], create_leaf, fn, ctx)) < 0)
            return error;
    }
    return 0;
}

/* ---- the configuration ---- */

static struct kz_nameref *nameref_find(struct kz_tconfig *tc, const char *group,
                                       const char *version, const char *kind)
{
    for (size_t i = 0; i < tc->nnameref; i++) {
        struct kz_nameref *n = &tc->nameref[i];
        if (strcmp(n->kind, kind) == 0 &&
            strcmp(n->group ? n->group : "", group ? group : "") == 0 &&
            strcmp(n->version ? n->version : "", version ? version : "") == 0)
            return n;
    }
    return NULL;
}

static struct kz_nameref *nameref_get(struct kz_tconfig *tc, const char *group, const char *version,
                                      const char *kind)
{
    struct kz_nameref *n = nameref_find(tc, group, version, kind);
    if (n != NULL)
        return n;
    tc->nameref = realloc(tc->nameref, (tc->nnameref + 1) * sizeof(*tc->nameref));
    n = &tc->nameref[tc->nnameref++];
    memset(n, 0, sizeof(*n));
    n->group = group && group[0] ? strdup(group) : NULL;
    n->version = version && version[0] ? strdup(version) : NULL;
    n->kind = strdup(kind);
    return n;
}

static int merge_nameref_doc(struct kz_tconfig *tc, const json_t *arr, const char *file)
{
    size_t i;
    json_t *v;
    int error;

    if (arr == NULL)
        return 0;
    if (!json_is_array(arr))
        return gf_error_set(GF_EINVAL, "%s: nameReference must be a list", file);
    json_array_foreach(arr, i, v)
    {
        const char *kind = json_string_value(json_object_get(v, "kind"));
        if (kind == NULL)
            return gf_error_set(GF_EINVAL, "%s: nameReference entry without kind", file);
        struct kz_nameref *n = nameref_get(tc, json_string_value(json_object_get(v, "group")),
                                           json_string_value(json_object_get(v, "version")), kind);
        if ((error = kz_fslist_parse(&n->specs, json_object_get(v, "fieldSpecs"), file)) < 0)
            return error;
    }
    return 0;
}

static const char *const known_keys[] = {
    "namePrefix",        "nameSuffix", "namespace", "commonLabels", "templateLabels",
    "commonAnnotations", "images",     "replicas",  "varReference", "labels",
    "nameReference",     NULL,
};

static struct kz_fslist *list_for(struct kz_tconfig *tc, const char *key)
{
    struct kz_fslist *lists[] = {&tc->name_prefix,   &tc->name_suffix,     &tc->namespace,
                                 &tc->common_labels, &tc->template_labels, &tc->common_annotations,
                                 &tc->images,        &tc->replicas,        &tc->var_reference,
                                 &tc->labels};
    for (size_t i = 0; i < 10; i++)
        if (strcmp(known_keys[i], key) == 0)
            return lists[i];
    return NULL;
}

static int merge_doc_into(struct kz_tconfig *tc, const json_t *doc, const char *file)
{
    const char *key;
    json_t *v;
    int error;

    if (json_is_null(doc))
        return 0;
    if (!json_is_object(doc))
        return gf_error_set(GF_EINVAL, "%s: a transformer configuration must be a map", file);
    json_object_foreach((json_t *)doc, key, v)
    {
        if (strcmp(key, "nameReference") == 0) {
            if ((error = merge_nameref_doc(tc, v, file)) < 0)
                return error;
            continue;
        }
        struct kz_fslist *l = list_for(tc, key);
        if (l == NULL)
            return gf_error_set(GF_EINVAL, "%s: unknown transformer configuration field '%s'", file,
                                key);
        if ((error = kz_fslist_parse(l, v, file)) < 0)
            return error;
    }
    return 0;
}

/* Add the pod-template ConfigMap/Secret references for every workload kind. */
static void add_pod_refs(struct kz_tconfig *tc)
{
    nameref_get(tc, NULL, "v1", "ConfigMap");
    nameref_get(tc, NULL, "v1", "Secret");
    for (size_t k = 0; k < sizeof(pod_kinds) / sizeof(pod_kinds[0]); k++) {
        for (int which = 0; which < 2; which++) {
            const char *const *refs = which ? secret_refs : cm_refs;
            size_t n = which ? sizeof(secret_refs) / sizeof(secret_refs[0])
                             : sizeof(cm_refs) / sizeof(cm_refs[0]);
            for (size_t i = 0; i < n; i++) {
                struct kz_fieldspec fs = {0};
                char path[256];
                snprintf(path, sizeof(path), "%s/%s", pod_kinds[k].prefix, refs[i]);
                split_path(&fs, path);
                fs.kind = (char *)pod_kinds[k].kind;
                fs.version = (char *)pod_kinds[k].version;
                /* looked up each time: nameref_get may move the array */
                fslist_add_unique(
                    &nameref_get(tc, NULL, "v1", which ? "Secret" : "ConfigMap")->specs, &fs);
                fs.kind = fs.version = NULL;
                fieldspec_clear(&fs);
            }
        }
    }
}

static struct kz_tconfig *builtin_tc;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void builtin_init(void)
{
    json_t *a = NULL, *b = NULL;
    struct kz_tconfig *tc = calloc(1, sizeof(*tc));

    if (gf_yaml_parse_one(&a, builtin_config, strlen(builtin_config), "builtin", NULL) < 0 ||
        gf_yaml_parse_one(&b, builtin_nameref, strlen(builtin_nameref), "builtin", NULL) < 0 ||
        merge_doc_into(tc, a, "builtin") < 0) {
        json_decref(a);
        json_decref(b);
        kz_tconfig_free(tc);
        return;
    }
    add_pod_refs(tc);
    merge_nameref_doc(tc, json_object_get(b, "nameReference"), "builtin");
    json_decref(a);
    json_decref(b);
    tc->refs = -1;
    tc->pristine = 1;
    builtin_tc = tc;
}

int kz_tconfig_builtin(struct kz_tconfig **out)
{
    pthread_once(&builtin_once, builtin_init);
    if (builtin_tc == NULL)
        return gf_error_set(GF_ERROR, "kustomize: the builtin configuration does not parse");
    *out = builtin_tc;
    return 0;
}

struct kz_tconfig *kz_tconfig_hold(struct kz_tconfig *tc)
{
    if (tc != NULL && tc->refs > 0)
        tc->refs++;
    return tc;
}

void kz_tconfig_free(struct kz_tconfig *tc)
{
    if (tc == NULL || tc->refs < 0 || --tc->refs > 0)
        return;
    struct kz_fslist *lists[] = {&tc->name_prefix,   &tc->name_suffix,     &tc->namespace,
                                 &tc->common_labels, &tc->template_labels, &tc->common_annotations,
                                 &tc->images,        &tc->replicas,        &tc->var_reference,
                                 &tc->labels};
    for (size_t i = 0; i < 10; i++)
        kz_fslist_free(lists[i]);
    for (size_t i = 0; i < tc->nnameref; i++) {
        free(tc->nameref[i].group);
        free(tc->nameref[i].version);
        free(tc->nameref[i].kind);
        kz_fslist_free(&tc->nameref[i].specs);
    }
    free(tc->nameref);
    free(tc);
}

static int merge_into(struct kz_tconfig *tc, const struct kz_tconfig *o)
{
    int error;
    for (size_t i = 0; known_keys[i] != NULL && i < 10; i++) {
        if ((error = fslist_merge(list_for(tc, known_keys[i]),
                                  list_for((struct kz_tconfig *)o, known_keys[i]))) < 0)
            return error;
    }
    for (size_t i = 0; i < o->nnameref; i++) {
        const struct kz_nameref *src = &o->nameref[i];
        struct kz_nameref *n = nameref_get(tc, src->group, src->version, src->kind);
        if ((error = fslist_merge(&n->specs, &src->specs)) < 0)
            return error;
    }
    return 0;
}

static int tconfig_copy(struct kz_tconfig **out, const struct kz_tconfig *tc)
{
    struct kz_tconfig *c = calloc(1, sizeof(*c));
    int error;

    *out = NULL;
    if (c == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    c->refs = 1;
    c->pristine = tc->pristine;
    if ((error = merge_into(c, tc)) < 0) {
        kz_tconfig_free(c);
        return error;
    }
    *out = c;
    return 0;
}

/* Make *tc private to the caller before it writes to it. */
static int own(struct kz_tconfig **tc)
{
    struct kz_tconfig *c;
    int error;

    if ((*tc)->refs == 1)
        return 0;
    if ((error = tconfig_copy(&c, *tc)) < 0)
        return error;
    kz_tconfig_free(*tc);
    *tc = c;
    return 0;
}

int kz_tconfig_merge(struct kz_tconfig **tc, const struct kz_tconfig *other)
{
    int error;

    /* Every configuration starts from the builtin one, so merging that is a no-op. */
    if (*tc == other || other->pristine)
        return 0;
    if ((error = own(tc)) < 0)
        return error;
    (*tc)->pristine = 0;
    return merge_into(*tc, other);
}

int kz_tconfig_merge_doc(struct kz_tconfig **tc, const json_t *doc, const char *file)
{
    int error;

    if ((error = own(tc)) < 0)
        return error;
    (*tc)->pristine = 0;
    return merge_doc_into(*tc, doc, file);
}
