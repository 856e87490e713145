/* redact.h -- credentials kept out of what is printed: URL userinfo redaction */
#ifndef GF_REDACT_H
#define GF_REDACT_H

#include <stddef.h>

/*
 * A URL may carry credentials in its userinfo (`https://user:secret@host/`,
 * `https://TOKEN@host/`). Whatever the hub or the CLI prints, logs, stores
 * or answers goes through one of these first.
 */

/* `url` with the password (or, for HTTP, a user name that may be a
 * token) replaced by three asterisks, as in "ssh://git:<***>@h/x" without the brackets.
 * Output is truncated to `len` (always NUL-terminated). */
void gf_redact_url(char *out, size_t len, const char *url);

/* `url` without any userinfo at all (https, host, path). What names a
 * repository for caches and comparisons. scp-style "git@host:path" keeps its
 * user (it cannot hold a password). */
void gf_redact_url_strip(char *out, size_t len, const char *url);

/* Redact every "scheme://userinfo@" found anywhere in free `text` into
 * out (truncated to len). Returns 1 when something was redacted. */
int gf_redact_text(char *out, size_t len, const char *text);

#endif
