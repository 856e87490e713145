/* apierr.c -- Kubernetes Status error bodies (NotFound, AlreadyExists, Conflict, Invalid, ...) */
#include "apierr.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *status_v(int code, const char *reason, json_t *details, const char *fmt, va_list ap)
{
    char msg[4096];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    json_t *s = json_pack("{s:s,s:s,s:{},s:s,s:s,s:s}", "kind", "Status", "apiVersion", "v1",
                          "metadata", "status", "Failure", "message", msg, "reason", reason);
    if (details != NULL)
        json_object_set_new(s, "details", details);
    json_object_set_new(s, "code", json_integer(code));
    return s;
}

json_t *ks_err(int code, const char *reason, json_t *details, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *s = status_v(code, reason, details, fmt, ap);
    va_end(ap);
    return s;
}

/* details {name, group, kind}: empty strings are omitted, kind is the plural resource. */
static json_t *details_of(const struct ks_type *t, const char *name, const char *kind)
{
    json_t *d = json_object();
    if (name != NULL && name[0] != '\0')
        json_object_set_new(d, "name", json_string(name));
    if (t->group[0] != '\0')
        json_object_set_new(d, "group", json_string(t->group));
    json_object_set_new(d, "kind", json_string(kind));
    return d;
}

json_t *ks_err_not_found(const struct ks_type *t, const char *name)
{
    return ks_err(404, "NotFound", details_of(t, name, t->resource), "%s \"%s\" not found", t->key,
                  name);
}

json_t *ks_err_exists(const struct ks_type *t, const char *name)
{
    return ks_err(409, "AlreadyExists", details_of(t, name, t->resource),
                  "%s \"%s\" already exists", t->key, name);
}

json_t *ks_err_stale(const struct ks_type *t, const char *name)
{
    return ks_err(409, "Conflict", details_of(t, name, t->resource),
                  "Operation cannot be fulfilled on %s \"%s\": the object has been modified; "
                  "please apply your changes to the latest version and try again",
                  t->key, name);
}

json_t *ks_err_bad_request(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *s = status_v(400, "BadRequest", NULL, fmt, ap);
    va_end(ap);
    return s;
}

json_t *ks_err_method(const char *action, const struct ks_type *t)
{
    return ks_err(405, "MethodNotAllowed", NULL, "%s is not supported on resources of kind \"%s\"",
                  action, t->key);
}

json_t *ks_cause(const char *reason, const char *field, const char *type, const char *value,
                 const char *detail)
{
    char msg[2048];
    size_t n = (size_t)snprintf(msg, sizeof(msg), "%s", type);
    if (value != NULL) {
        json_t *q = json_string(value);
        char *enc = json_dumps(q, JSON_ENCODE_ANY);
        n += (size_t)snprintf(msg + n, sizeof(msg) - n, ": %s", enc);
        free(enc);
        json_decref(q);
    }
    if (detail != NULL && n < sizeof(msg))
        snprintf(msg + n, sizeof(msg) - n, ": %s", detail);
    return json_pack("{s:s,s:s,s:s}", "reason", reason, "message", msg, "field", field);
}

json_t *ks_err_invalid(const struct ks_type *t, const char *name, json_t *causes)
{
    char msg[4096], qual[300];
    size_t n = 0, i;
    json_t *c;

    if (t->group[0] != '\0')
        snprintf(qual, sizeof(qual), "%s.%s", t->kind, t->group);
    else
        snprintf(qual, sizeof(qual), "%s", t->kind);
    msg[0] = '\0';
    json_array_foreach(causes, i, c)
    {
        n += (size_t)snprintf(msg + n, n < sizeof(msg) ? sizeof(msg) - n : 0, "%s%s: %s",
                              i > 0 ? ", " : "", json_string_value(json_object_get(c, "field")),
                              json_string_value(json_object_get(c, "message")));
        if (n >= sizeof(msg))
            break;
    }
    json_t *d = details_of(t, name, t->kind);
    json_object_set_new(d, "causes", causes);
    if (json_array_size(causes) > 1)
        return ks_err(422, "Invalid", d, "%s \"%s\" is invalid: [%s]", qual, name, msg);
    return ks_err(422, "Invalid", d, "%s \"%s\" is invalid: %s", qual, name, msg);
}

int ks_err_code(const json_t *status)
{
    return (int)json_integer_value(json_object_get(status, "code"));
}
