/* kube.h -- a small Kubernetes API client over libcurl: kubeconfig, discovery, apply, get, delete
 */
#ifndef AGENT_KUBE_H
#define AGENT_KUBE_H

#include <jansson.h>
#include <stddef.h>

/*
 * The agent talks to its cluster's API server through this client only.
 * Credentials come from a kubeconfig (token, client certificate, CA data or
 * files, insecure-skip-tls-verify) or from the in-cluster service account.
 * Kinds are mapped to resources through the API's discovery, cached and
 * refreshed when a kind is not found (a CRD applied a moment ago).
 *
 * Failures carry the API server's Status message and map to codes:
 * 404 GF_ENOTFOUND, 409 GF_ECONFLICT, 401/403 GF_EPERM, 400/422 GF_EINVAL,
 * 429/5xx and transport errors GF_EIO (worth retrying).
 */
typedef struct agent_kube agent_kube;

/* Load a kubeconfig; `context` NULL means its current-context. */
int agent_kube_open_kubeconfig(agent_kube **out, const char *path, const char *context);
/* Use the pod's service account (KUBERNETES_SERVICE_HOST/PORT, token, ca.crt). */
int agent_kube_open_in_cluster(agent_kube **out);
void agent_kube_close(agent_kube *kube);

/* The API server's base URL (for messages). */
const char *agent_kube_server(const agent_kube *kube);

/* Where the kind of an object lives. `namespaced` tells whether the
 * resource is namespaced. GF_ENOTFOUND when discovery does not know it. */
struct agent_kube_resource {
    char group[128];
    char version[64];
    char kind[128];
    char plural[128];
    int namespaced;
};
int agent_kube_resource(agent_kube *kube, const char *api_version, const char *kind,
                        struct agent_kube_resource *out);

/* The URL path of an object (or of the collection when name is NULL). */
int agent_kube_path(char *buf, size_t len, const struct agent_kube_resource *res,
                    const char *namespace_, const char *name);

/* Server-side apply of `obj` (apiVersion, kind, metadata.name[, namespace]).
 * *live_out (may be NULL) receives the object as the server returns it. */
int agent_kube_apply(agent_kube *kube, const json_t *obj, const char *field_manager, int force,
                     json_t **live_out);

/* GET one object: *out is a new reference; GF_ENOTFOUND when absent. */
int agent_kube_get(agent_kube *kube, const char *api_version, const char *kind,
                   const char *namespace_, const char *name, json_t **out);

/* DELETE one object with propagationPolicy=Background; absent is not an error. */
int agent_kube_delete(agent_kube *kube, const char *api_version, const char *kind,
                      const char *namespace_, const char *name);

/* Any request: `path` from the server root, `body` may be NULL. *out (may be
 * NULL) receives the parsed JSON response. Returns the mapped error code for
 * non-2xx answers, with the Status message. */
int agent_kube_request(agent_kube *kube, const char *method, const char *path,
                       const char *content_type, const char *body, long *status_out, json_t **out);

/* How many requests other than GET (apply, create, replace, delete) this
 * client has sent: the writes the agent made, for logs and benchmarks. */
long long agent_kube_writes(agent_kube *kube);

/* A streaming GET (a watch): `fn` gets each line of the body as it arrives.
 * Runs on its own connection, so it may be used from another thread. It
 * returns when the server ends the stream (0), when `*stop` becomes true
 * (0), when nothing arrived for `idle_seconds` or the connection broke
 * (GF_EIO), or when `fn` returns < 0. */
typedef int (*agent_kube_line_fn)(void *arg, const char *line, size_t len);
int agent_kube_stream(agent_kube *kube, const char *path, agent_kube_line_fn fn, void *arg,
                      volatile int *stop, long idle_seconds);

#endif
