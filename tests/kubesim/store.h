/* store.h -- the object store: one lock, one resourceVersion counter, an event log for watches */
#ifndef KUBESIM_STORE_H
#define KUBESIM_STORE_H

#include <jansson.h>
#include <stdint.h>

enum ks_event_type { KS_ADDED, KS_MODIFIED, KS_DELETED };

/* Set up an empty store (resourceVersion 1) with an event log of `log_size`
 * entries; older versions than the log holds give "too old" to watchers. */
void ks_store_init(size_t log_size);
void ks_store_shutdown(void);

/* Every other function runs under this one lock (handlers and controllers
 * take it around whole read-modify-write sequences). */
void ks_store_lock(void);
void ks_store_unlock(void);

uint64_t ks_store_rv(void);

/* The object `name` of resource key `res` ("configmaps", "deployments.apps")
 * in `ns` ("" for cluster-scoped). Borrowed and immutable: copy before changing. */
json_t *ks_store_get(const char *res, const char *ns, const char *name);

/* Store `obj` (reference stolen) under a new resourceVersion, which is written
 * into obj.metadata.resourceVersion, and log ADDED or MODIFIED. Returns obj. */
json_t *ks_store_put(const char *res, const char *ns, const char *name, json_t *obj);

/* Remove the object and log DELETED (its last state, at a new resourceVersion). */
void ks_store_remove(const char *res, const char *ns, const char *name);

/* Objects of `res` in `ns` (NULL: every namespace), sorted by namespace then
 * name, starting after key `after` (NULL: first). A new array. */
json_t *ks_store_list(const char *res, const char *ns, const char *after);

/* The key ks_store_list() continues after, for `obj`. Writes into buf. */
void ks_store_key(char *buf, size_t n, json_t *obj);

/* Every resource key with at least one object: a borrowed object whose
 * members are res -> {key: obj}. For controllers and the garbage collector. */
json_t *ks_store_all(void);

/* Drop every object of `res` (CRD deletion), logging DELETED for each. */
void ks_store_drop_resource(const char *res);

/* Watch support. ks_store_events() appends to `out` every event after `from`
 * of `res` as {"type", "object"[, "previous"]} (MODIFIED events carry the
 * state before as "previous"; objects shared, never to be changed) and
 * returns the last resourceVersion seen, or 0 when `from` is older than the
 * log keeps (*oldest_out then holds the oldest version still accepted). */
uint64_t ks_store_events(json_t *out, uint64_t from, const char *res, uint64_t *oldest_out);

/* Wait (lock held) until the resourceVersion passes `rv` or `ms` pass. */
void ks_store_wait(uint64_t rv, int ms);

/* Bumped on every write: the state saver compares it. */
uint64_t ks_store_writes(void);

/* Save every object to `path` atomically / load them back. */
int ks_store_save(const char *path);
int ks_store_load(const char *path);

#endif
