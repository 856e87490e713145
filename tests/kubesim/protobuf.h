/* protobuf.h -- decode the Kubernetes protobuf request bodies kubectl's typed commands send */
#ifndef KUBESIM_PROTOBUF_H
#define KUBESIM_PROTOBUF_H

#include <jansson.h>
#include <stddef.h>

/*
 * Decode a `application/vnd.kubernetes.protobuf` body ("k8s\0" + runtime.Unknown)
 * into the object's JSON form. Only the kinds and fields that kubectl's typed
 * commands produce are known (kubectl create namespace, configmap, secret,
 * serviceaccount, deployment, job, cronjob, service, role, clusterrole,
 * rolebinding, clusterrolebinding, poddisruptionbudget, ingress); other
 * fields are skipped. Returns 0 and a new object in *out, or GF_EINVAL /
 * GF_EUNSUPPORTED with a message.
 */
int ks_protobuf_decode(json_t **out, const unsigned char *data, size_t len);

#endif
