/* error.h -- the error convention: negative codes plus one thread-local message */
#ifndef GITFLEET_ERROR_H
#define GITFLEET_ERROR_H

#include <stdarg.h>

/*
 * A function that can fail returns int: 0 on success or one of these negative
 * codes, and leaves a one-line message for gf_error_last(). Callers pass the
 * code up unchanged; they may prefix context with gf_error_wrap().
 */
enum gf_error_code {
    GF_OK = 0,
    GF_ERROR = -1,        /* generic failure */
    GF_EINVAL = -2,       /* malformed input or bad argument */
    GF_ENOTFOUND = -3,    /* a named thing does not exist */
    GF_EEXISTS = -4,      /* it already exists */
    GF_ECONFLICT = -5,    /* concurrent or conflicting change */
    GF_ETIMEDOUT = -6,    /* a deadline passed */
    GF_ENOMEM = -7,       /* allocation failed */
    GF_EIO = -8,          /* the OS or a peer failed an I/O operation */
    GF_EPERM = -9,        /* refused: not allowed, not trusted, bad signature */
    GF_ETOOBIG = -10,     /* input over a configured limit */
    GF_EUNSUPPORTED = -11 /* valid, but not something gitfleet does */
};

/* Set the message of the last error and return `code`, so that
 * `return gf_error_set(GF_EINVAL, "...")` reads naturally. */
int gf_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int gf_error_setv(int code, const char *fmt, va_list ap);

/* Prefix the current message with context ("reading x.yaml: <old message>")
 * and return `code` unchanged. */
int gf_error_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The message of the last error on this thread; "" when none. Borrowed:
 * valid until the next gf_error_* call on this thread. */
const char *gf_error_last(void);

/* Forget the last error. */
void gf_error_clear(void);

/* A short stable name for a code: "EINVAL", "ENOTFOUND", ... */
const char *gf_error_name(int code);

#endif
