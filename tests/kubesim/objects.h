/* objects.h -- object lifecycle rules shared by handlers and controllers: metadata, defaults,
 * validation, namespaces, deletion with finalizers and owner references */
#ifndef KUBESIM_OBJECTS_H
#define KUBESIM_OBJECTS_H

#include "discovery.h"

#include <jansson.h>

/* RFC 3339 UTC "now" in whole seconds. */
void ks_obj_now(char *buf, size_t n);

/* Strings of an object's metadata ("" when absent). */
const char *ks_obj_meta(const json_t *obj, const char *field);

/* Checks for a new or changed object of type `t` sent to `url_ns`/`url_name`
 * (url_name NULL on create): NULL when fine, else a Status object. Fills
 * metadata.namespace and a generateName. */
json_t *ks_obj_validate(const struct ks_type *t, json_t *obj, const char *url_ns,
                        const char *url_name, int strict);

/* Namespace admission for creating in `ns`: NULL or a 404/403 Status. */
json_t *ks_obj_check_namespace(const struct ks_type *t, const char *ns, const char *name);

/* New object: uid, creationTimestamp, generation, defaults and admission
 * side effects (clusterIP, namespace phase, CRD status). */
void ks_obj_create_meta(const struct ks_type *t, json_t *obj);

/* Carry the server-owned fields of `live` into `obj` for an update, and
 * bump generation when anything outside metadata and status changed. */
void ks_obj_update_meta(const struct ks_type *t, json_t *obj, const json_t *live);

/* Defaulting that SSA keys depend on (ports protocol) and kinds' defaults. */
void ks_obj_defaults(const struct ks_type *t, json_t *obj);

/* Only the defaults list keys depend on (ports protocol TCP): applied
 * configurations get these before their field sets are computed. */
void ks_obj_default_ports(const struct ks_type *t, json_t *obj);

/* Store a written object: puts it, or removes it when it is being deleted
 * and has no finalizers left. Returns the stored object (borrowed) or NULL. */
json_t *ks_obj_store(const struct ks_type *t, json_t *obj);

/* Delete with Kubernetes semantics: finalizers and foreground deletion set
 * deletionTimestamp; otherwise the object goes now. `policy` is Background,
 * Foreground or Orphan (NULL: Background). Returns the last state (new ref). */
json_t *ks_obj_delete(const struct ks_type *t, const json_t *live, const char *policy);

/* Background work for controllers: remove dependents whose owners are gone,
 * finish foreground deletions and terminating namespaces. */
void ks_obj_collect_garbage(void);

#endif
