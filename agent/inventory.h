/* inventory.h -- the objects each app owns, where that list is kept, and what to prune */
#ifndef GF_AGENT_INVENTORY_H
#define GF_AGENT_INVENTORY_H

#include "gitfleet.pb-c.h"
#include "syncopts.h"

#include <jansson.h>
#include <stddef.h>

#define AGENT_INVENTORY_TRACKING_ANNOTATION "gitfleet.io/tracking-id"
#define AGENT_INVENTORY_APP_LABEL           "gitfleet.io/app"
#define AGENT_INVENTORY_CM_PREFIX           "gitfleet-inventory-"
#define AGENT_INVENTORY_CM_KEY              "inventory.json"

/*
 * An inventory is the list of objects gitfleet applied for one app (hooks
 * excluded: Argo CD does not prune them). Stored form, the same bytes in the
 * state-dir file <state_dir>/inventory/<app>.json and in the data key
 * "inventory.json" of ConfigMap gitfleet-inventory-<app> in the agent's
 * namespace (labels app.kubernetes.io/managed-by=gitfleet,
 * gitfleet.io/inventory-for=<app>): canonical JSON
 *   {"app":"web","objects":[{"group":"apps","kind":"Deployment",
 *    "name":"web","namespace":"prod","version":"v1"}, ...]}
 * with objects sorted (group, kind, namespace, name) and unique; "" for the
 * core group and for cluster-scoped objects.
 */
struct agent_inventory_id {
    char *group, *version, *kind, *namespace_, *name; /* owned, never NULL */
};

struct agent_inventory {
    char *app; /* owned */
    struct agent_inventory_id *ids;
    size_t n, cap;
};

/* An empty inventory for `app` (a DNS-1123 subdomain: it names a file and a
 * ConfigMap). 0, GF_EINVAL for a bad name, GF_ENOMEM. */
int agent_inventory_new(struct agent_inventory **out, const char *app);
void agent_inventory_free(struct agent_inventory *inv);

/* Add the identity of object `obj` (borrowed; apiVersion, kind,
 * metadata.namespace, metadata.name). Hooks (argocd.argoproj.io/hook) are
 * not added. A duplicate (same group, kind, namespace, name) is ignored.
 * 0, GF_EINVAL for an object without them, GF_ENOMEM. */
int agent_inventory_add_object(struct agent_inventory *inv, const json_t *obj);

/* The inventory a bundle app asks for: the id of every resource that is
 * not a hook (bodies are read for the hook annotation). 0, GF_EINVAL naming
 * a resource without an id or with a body that is not JSON, GF_ENOMEM. */
int agent_inventory_from_app(struct agent_inventory **out, const Gitfleet__App *app);

/* 1 when the inventory holds that identity (the version is not compared:
 * an object keeps its identity across API versions). */
int agent_inventory_has(const struct agent_inventory *inv, const char *group, const char *kind,
                        const char *namespace_, const char *name);

/* The stored form (see above), as a new JSON document (caller owns), or NULL on OOM. */
json_t *agent_inventory_to_json(const struct agent_inventory *inv);
/* Read the stored form (borrowed). Checks every field; GF_EINVAL with the
 * field path at fault, GF_ETOOBIG over 100000 objects. */
int agent_inventory_from_json(struct agent_inventory **out, const json_t *doc);

/* The ConfigMap holding `inv` in `namespace_`, ready for server-side apply
 * (caller owns). NULL on OOM. */
json_t *agent_inventory_configmap(const struct agent_inventory *inv, const char *namespace_);
/* Read an inventory back from its live ConfigMap (borrowed). GF_EINVAL when
 * it is not one. */
int agent_inventory_from_configmap(struct agent_inventory **out, const json_t *cm);

/* Write to / read from <state_dir>/inventory/<app>.json (atomic write,
 * mode 0600). load: GF_ENOTFOUND when there is no file for `app`. */
int agent_inventory_save(const struct agent_inventory *inv, const char *state_dir);
int agent_inventory_load(struct agent_inventory **out, const char *state_dir, const char *app);

/* "<app>:<group>/<kind>:<namespace>/<name>" for `obj` (borrowed), the
 * value the agent puts in gitfleet.io/tracking-id; malloc'd, NULL when obj
 * lacks kind or name. */
char *agent_inventory_tracking_id(const char *app, const json_t *obj);

/* 1 when the live object `live` (borrowed) carries a tracking-id that
 * names `app` and matches the object itself (so a copy of another object
 * does not count), else 0. */
int agent_inventory_owns(const char *app, const json_t *live);

/* --- the prune decision --------------------------------------------------- */

enum agent_inventory_verdict {
    AGENT_INVENTORY_DELETE = 0, /* delete it (hand entry.live to agent_plan as a prune) */
    AGENT_INVENTORY_GONE,       /* no longer in the cluster: nothing to do */
    AGENT_INVENTORY_NOT_OWNED,  /* live object lacks our tracking-id: never touched */
    AGENT_INVENTORY_KEEP,       /* Prune=false (or Delete=false when the app vanished) */
    AGENT_INVENTORY_CONFIRM,    /* Prune=confirm / Delete=confirm and the app is not allowed */
    AGENT_INVENTORY_DISABLED,   /* the app's sync policy does not prune */
    AGENT_INVENTORY_HELD,       /* the safety valve holds the app's prunes */
};

struct agent_inventory_entry {
    struct agent_inventory_id id; /* borrowed from the previous inventory */
    enum agent_inventory_verdict verdict;
    json_t *live; /* a reference held on the live object; NULL when gone */
};

/* Fetch the live object for an id: *out a new reference, NULL when absent.
 * 0, or < 0 when the read failed (the decision then fails with that code). */
typedef int (*agent_inventory_lookup_fn)(void *ctx, const struct agent_inventory_id *id,
                                         json_t **out);

struct agent_inventory_prune_options {
    int prune;        /* syncPolicy.automated.prune (or a manual sync with prune) */
    int allowed;      /* the app is in the allowed set (gitfleet sync --allow-prune) */
    double max_share; /* safety valve: hold when deletes > max_share * |previous|; 0: 0.5 */
    const struct agent_syncopts *app_opts; /* the app's sync options; NULL: defaults */
};

struct agent_inventory_prune {
    struct agent_inventory_entry *entries; /* previous ids not desired, reverse apply order */
    size_t n;
    size_t n_delete; /* entries with verdict DELETE */
    int held;        /* the safety valve tripped (entries are HELD) */
    char *reason;    /* owned: why held, NULL otherwise */
    /* What to record before running the plan: the desired ids plus every
     * entry that may still exist and is ours (DELETE, KEEP, CONFIRM,
     * DISABLED, HELD); ids gone or not owned are dropped. Deleted objects
     * thus leave the inventory on the next sync, once seen gone. */
    struct agent_inventory *next;
};

/*
 * Decide the prunes of `previous` (the recorded inventory) against
 * `desired` (the bundle's objects for this app, or NULL when the app
 * vanished from the bundle: every object is then a candidate, judged by
 * Delete= instead of Prune=, and held unless allowed). Live objects come
 * from `lookup`. Rules in order, per candidate: absent -> GONE; not
 * agent_inventory_owns() -> NOT_OWNED; Prune/Delete=false -> KEEP; =confirm
 * and not allowed -> CONFIRM; prune disabled -> DISABLED; else DELETE. Then
 * the valve: more DELETEs than max_share of |previous|, or a vanished app,
 * turn every DELETE into HELD unless allowed. Fills *out (release with
 * agent_inventory_prune_clear()). 0, or the lookup's error, or GF_ENOMEM.
 */
int agent_inventory_prune(struct agent_inventory_prune *out, const struct agent_inventory *previous,
                          const struct agent_inventory *desired, agent_inventory_lookup_fn lookup,
                          void *ctx, const struct agent_inventory_prune_options *opts);
void agent_inventory_prune_clear(struct agent_inventory_prune *prune);

/* "Delete", "Gone", "NotOwned", "Keep", "Confirm", "Disabled", "Held". */
const char *agent_inventory_verdict_name(enum agent_inventory_verdict verdict);

#endif
