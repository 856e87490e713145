/* sealed.h -- gitfleet's SealedSecret: a Kubernetes Secret whose values are age files bound to a
 * scope */
#ifndef GITFLEET_SEALED_H
#define GITFLEET_SEALED_H

#include "gitfleet/age.h"

#include <jansson.h>

#include <stddef.h>

/*
 * A SealedSecret (apiVersion gitfleet.io/v1) keeps a Secret's metadata
 * (labels, annotations), type and keys in clear, and each value as its own
 * age file (base64 of the binary format) encrypted to the recipients of the
 * clusters allowed to read it (docs/secrets.md):
 *
 *   spec.scope          strict | namespace | cluster
 *   spec.type           the Secret's type (Opaque when absent)
 *   spec.immutable      copied to the Secret
 *   spec.recipients     [{cluster, recipient}]: whom it was sealed for
 *   spec.encryptedData  key -> base64(age file)
 *
 * Every value carries a "gitfleet.io/scope" stanza in its age header,
 * covered by the header MAC: strict binds it to the final namespace and
 * name, namespace to the namespace, cluster to nothing. A value moved into
 * another SealedSecret fails to open there.
 */

#define GF_SEALED_API_VERSION "gitfleet.io/v1"
#define GF_SEALED_KIND        "SealedSecret"

struct gf_sealed_recipient {
    const char *cluster; /* a name for people (and --reseal); may be "" */
    gf_age_recipient recipient;
};

/* Is `obj` a gitfleet.io/v1 SealedSecret? */
int gf_sealed_is_sealed(const json_t *obj);

/*
 * Seal a v1 Secret (data and/or stringData) into a SealedSecret. `scope` is
 * "strict" (default when NULL), "namespace" or "cluster"; `namespace_` and
 * `name` (may be NULL) override the Secret's own — the binding is to where
 * the Secret ends up after rendering (kustomize namespace, namePrefix).
 * Strict and namespace scopes need a namespace.
 */
int gf_sealed_seal(json_t **out, const json_t *secret, const struct gf_sealed_recipient *recipients,
                   size_t n_recipients, const char *scope, const char *namespace_,
                   const char *name);

/*
 * Open a SealedSecret into the v1 Secret it stands for. The scope is checked
 * against the object's final namespace (metadata.namespace, else
 * `default_namespace`) and name. GF_EPERM with a message naming the key and
 * the reason (no identity opens it, tampered, sealed for another scope);
 * GF_EINVAL for a malformed object. Plaintext lives only in *out.
 */
int gf_sealed_open(json_t **out, const json_t *sealed, const gf_age_identity *identities,
                   size_t n_identities, const char *default_namespace);

/* Open with `identities`, then seal again to `recipients`, keeping scope,
 * metadata and binding. */
int gf_sealed_reseal(json_t **out, const json_t *sealed, const gf_age_identity *identities,
                     size_t n_identities, const struct gf_sealed_recipient *recipients,
                     size_t n_recipients);

/* Is `obj` a v1 Secret that holds values (data or stringData not empty)? */
int gf_sealed_is_plain_secret_with_data(const json_t *obj);

#endif
