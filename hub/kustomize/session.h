/* session.h -- the build session's caches (shared by build.c and session.c only) */
#ifndef HUB_KUSTOMIZE_SESSION_H
#define HUB_KUSTOMIZE_SESSION_H

#include "internal.h"
#include "kustomize/kustomize.h"

/* A directory the cached base was built from, with its content id then. */
struct kz_dep {
    char *path;
    char cid[65];
};

/* What building a kustomization directory accumulates (before the final
 * hashing, name-reference and variable steps of the top level). */
struct kz_base {
    struct kz_resmap res;
    struct kz_tconfig *tc;
    json_t *vars;    /* JSON array of var definitions */
    int component;   /* kind: Component */
    json_t *openapi; /* the schema the base set for the build, or NULL */
    struct kz_dep *deps;
    size_t ndeps;
};

void kz_base_free(struct kz_base *b);

/* New reference, or NULL. */
json_t *kz_session_file_get(hub_kustomize_session *s, const char *key);
void kz_session_file_put(hub_kustomize_session *s, const char *key, json_t *docs);
/* Borrowed; NULL when absent. */
const struct kz_base *kz_session_base_get(hub_kustomize_session *s, const char *key);
/* Count a base served from the cache (hit) or built. */
void kz_session_count_base(hub_kustomize_session *s, int hit);
/* Takes ownership of base. */
void kz_session_base_put(hub_kustomize_session *s, const char *key, struct kz_base *base);

#endif
