/* apierr.h -- Kubernetes Status error bodies (NotFound, AlreadyExists, Conflict, Invalid, ...) */
#ifndef KUBESIM_APIERR_H
#define KUBESIM_APIERR_H

#include "discovery.h"

#include <jansson.h>

/* A Failure Status object: `details` (stolen, may be NULL) and a formatted message. */
json_t *ks_err(int code, const char *reason, json_t *details, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

json_t *ks_err_not_found(const struct ks_type *t, const char *name);
json_t *ks_err_exists(const struct ks_type *t, const char *name);
json_t *ks_err_stale(const struct ks_type *t, const char *name);
json_t *ks_err_bad_request(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
json_t *ks_err_method(const char *action, const struct ks_type *t);

/* 422 Invalid from an array of causes (stolen) made by ks_cause(). */
json_t *ks_err_invalid(const struct ks_type *t, const char *name, json_t *causes);

/* One Invalid cause: `type` is "Required value", "Invalid value", ...; `value`
 * (may be NULL) is quoted into the message. */
json_t *ks_cause(const char *reason, const char *field, const char *type, const char *value,
                 const char *detail);

/* The HTTP status of a Status object (its code member). */
int ks_err_code(const json_t *status);

#endif
