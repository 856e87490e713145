/* error.c -- thread-local last-error message behind the GF_E* return codes */
#include "gitfleet/error.h"

#include "gitfleet/redact.h"

#include <stdio.h>
#include <string.h>

#define GF_ERROR_MAX 1024

static _Thread_local char last_message[GF_ERROR_MAX];

int gf_error_setv(int code, const char *fmt, va_list ap)
{
    char raw[GF_ERROR_MAX];

    vsnprintf(raw, sizeof(raw), fmt, ap);
    /* Messages reach logs, the API and terminals: never with a URL's password. */
    gf_redact_text(last_message, sizeof(last_message), raw);
    return code;
}

int gf_error_set(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    gf_error_setv(code, fmt, ap);
    va_end(ap);
    return code;
}

int gf_error_wrap(int code, const char *fmt, ...)
{
    char prefix[GF_ERROR_MAX];
    char old[GF_ERROR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, last_message, sizeof(old));
    if (old[0] != '\0')
        gf_error_set(code, "%s: %s", prefix, old);
    else
        gf_error_set(code, "%s", prefix);
    return code;
}

const char *gf_error_last(void)
{
    return last_message;
}

void gf_error_clear(void)
{
    last_message[0] = '\0';
}

const char *gf_error_name(int code)
{
    switch (code) {
    case GF_OK:
        return "OK";
    case GF_EINVAL:
        return "EINVAL";
    case GF_ENOTFOUND:
        return "ENOTFOUND";
    case GF_EEXISTS:
        return "EEXISTS";
    case GF_ECONFLICT:
        return "ECONFLICT";
    case GF_ETIMEDOUT:
        return "ETIMEDOUT";
    case GF_ENOMEM:
        return "ENOMEM";
    case GF_EIO:
        return "EIO";
    case GF_EPERM:
        return "EPERM";
    case GF_ETOOBIG:
        return "ETOOBIG";
    case GF_EUNSUPPORTED:
        return "EUNSUPPORTED";
    default:
        return "ERROR";
    }
}
