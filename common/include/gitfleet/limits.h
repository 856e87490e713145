/* limits.h -- the size limits hub and agent share: one object, one cluster's bundle, one message */
#ifndef GITFLEET_LIMITS_H
#define GITFLEET_LIMITS_H

#include <stddef.h>

/*
 * One Kubernetes object, as compact JSON. etcd refuses requests over 1.5 MiB
 * by default (--max-request-bytes 1572864), so no real cluster stores a larger
 * object, and the API server's own request limit (3 MiB) is looser still.
 * The hub refuses such an object at render: its app fails with a message
 * that names it, and its other apps and clusters go on.
 */
#define GF_LIMIT_OBJECT_BYTES ((size_t)1536 * 1024)

/*
 * One cluster's signed bundle. The agent holds the bundle, its decoded form
 * and its index at once, so this bounds the agent's memory (~4x). When a
 * cluster's apps add up to more, the hub fails its largest apps (each with
 * a message) until the rest fit, rather than publish a bundle no agent takes.
 */
#define GF_LIMIT_BUNDLE_BYTES ((size_t)32 << 20)

/*
 * One nng message in either direction (NNG_OPT_RECVMAXSZ on the hub's and
 * every agent's socket): the largest bundle with its response envelope and
 * signature, or the largest report. Both sides use this one number.
 */
#define GF_LIMIT_MESSAGE_BYTES (GF_LIMIT_BUNDLE_BYTES + ((size_t)1 << 20))

#endif
