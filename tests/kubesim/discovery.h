/* discovery.h -- the served resource types (built-in and from CRDs), discovery and OpenAPI
 * documents */
#ifndef KUBESIM_DISCOVERY_H
#define KUBESIM_DISCOVERY_H

#include <jansson.h>

struct ks_type {
    char group[128];
    char version[32];
    char resource[128]; /* plural */
    char singular[128];
    char kind[128];
    char list_kind[160];
    char short_names[4][32];
    char key[260]; /* the store key: "configmaps", "deployments.apps" */
    int namespaced;
    int has_status;     /* the status subresource exists */
    int has_scale;      /* the scale subresource exists */
    int has_generation; /* metadata.generation is kept */
    int crd;            /* served because of a CustomResourceDefinition */
    int all;            /* in the "all" category */
};

/* Load the built-in types. The table is read and changed under the store lock. */
void ks_disc_init(void);

/* Lookups; NULL when not served. The pointers stay valid while the store
 * lock is held: copy the struct to keep it longer. */
const struct ks_type *ks_disc_find(const char *group, const char *version, const char *resource);
const struct ks_type *ks_disc_find_kind(const char *group, const char *version, const char *kind);

/* The type stored under `key` ("deployments.apps"), any served version. */
const struct ks_type *ks_disc_find_key(const char *key);

/* "apps/v1" or "v1" for a type. */
void ks_disc_api_version(char *buf, size_t n, const struct ks_type *t);

/* Serve (or stop serving) the resources a CRD object defines. Serving
 * validates names: returns 0 or GF_EINVAL with a message. */
int ks_disc_add_crd(json_t *crd);
void ks_disc_remove_crd(json_t *crd);

/* Discovery documents, new references; NULL when the group/version is unknown. */
json_t *ks_disc_version(void);
json_t *ks_disc_api(void);
json_t *ks_disc_apis(void);
json_t *ks_disc_group(const char *group);
json_t *ks_disc_resources(const char *group, const char *version);

/* /openapi/v3 and /openapi/v3/api[s]/GROUP/VERSION documents. */
json_t *ks_disc_openapi_root(void);
json_t *ks_disc_openapi_gv(const char *group, const char *version);

/* An OpenAPI v2 document (JSON) listing the same operations. */
json_t *ks_disc_openapi_v2(void);

/* Top-level members an object of this type may have (for strict field
 * validation); NULL when anything goes (custom resources). */
const char *const *ks_disc_top_fields(const struct ks_type *t);

#endif
