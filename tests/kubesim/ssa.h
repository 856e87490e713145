/* ssa.h -- server-side apply: field sets, managedFields per manager, merge, prune and conflicts */
#ifndef KUBESIM_SSA_H
#define KUBESIM_SSA_H

#include <jansson.h>

struct ks_ssa_opts {
    const char *group, *kind;
    const char *api_version; /* of the endpoint: recorded for Update managers */
    const char *manager;
    const char *subresource; /* NULL or "status" */
    const char *now;         /* RFC 3339 time for changed managers */
    int force;
    /* Defaulting applied to a copy of the applied configuration, so that
     * list keys such as a port's protocol match the live object; defaulted
     * fields are not recorded as owned. May be NULL. */
    void (*defaults)(json_t *obj, const void *arg);
    const void *defaults_arg;
};

/*
 * Server-side apply of `applied` onto `live` (NULL when the object does not
 * exist yet). On success *out is the merged object with metadata.managedFields
 * updated (fields the manager stopped applying are pruned unless another
 * manager owns them). GF_ECONFLICT when other managers own changed fields
 * and force is off: *status_out then holds the 409 Status body.
 */
int ks_ssa_apply(json_t **out, json_t **status_out, const json_t *live, const json_t *applied,
                 const struct ks_ssa_opts *o);

/* Record a non-apply write (create, update, patch) of `obj` (changed in
 * place: its managedFields) over `live` (NULL on create): the manager takes
 * the fields it changed from everyone else. */
void ks_ssa_update(json_t *obj, const json_t *live, const struct ks_ssa_opts *o);

/* The fieldsV1 tree of the fields `obj` sets, as Apply records them (tests). */
json_t *ks_ssa_fields(const json_t *obj, const char *group, const char *kind);

#endif
