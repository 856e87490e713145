/* redact.c -- URL credentials replaced before anything is printed or stored */
#include "gitfleet/redact.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Bytes that may appear in a URL's userinfo (RFC 3986: unreserved,
 * pct-encoded, sub-delims and ':'). */
static int userinfo_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("-._~%!$&'()*+,;=:", c) != NULL;
}

static int scheme_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '-' || c == '.';
}

/* With `p` just after "://": the length of "userinfo@" there, 0 if none. */
static size_t userinfo_len(const char *p)
{
    size_t n = 0;

    while (p[n] && userinfo_char(p[n]))
        n++;
    return p[n] == '@' && n > 0 ? n + 1 : 0;
}

/* Does the scheme ending at `end` (the ':' of "://") belong to HTTP? There a
 * lone user name is often a token (https://TOKEN@github.com). */
static int is_http_scheme(const char *text, const char *end)
{
    const char *s = end;

    while (s > text && scheme_char(s[-1]))
        s--;
    return ((size_t)(end - s) == 4 && strncasecmp(s, "http", 4) == 0) ||
           ((size_t)(end - s) == 5 && strncasecmp(s, "https", 5) == 0);
}

struct outbuf {
    char *p;
    size_t len, n;
};

static void put(struct outbuf *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n && o->n + 1 < o->len; i++)
        o->p[o->n++] = s[i];
    o->p[o->n] = '\0';
}

/* Write the redacted form of userinfo `ui` (without its '@'). */
static void put_userinfo(struct outbuf *o, const char *ui, size_t n, int http, int strip)
{
    const char *colon = memchr(ui, ':', n);

    if (strip)
        return;
    if (colon != NULL) {
        put(o, ui, (size_t)(colon - ui));
        put(o, ":***@", 5);
    } else if (http) {
        put(o, "***@", 4);
    } else {
        put(o, ui, n);
        put(o, "@", 1);
    }
}

static int redact(char *out, size_t len, const char *text, int strip)
{
    struct outbuf o = {out, len, 0};
    const char *p = text;
    int found = 0;

    if (len == 0)
        return 0;
    out[0] = '\0';
    while (*p) {
        const char *sep = strstr(p, "://");
        size_t ui = sep ? userinfo_len(sep + 3) : 0;
        if (sep == NULL) {
            put(&o, p, strlen(p));
            break;
        }
        put(&o, p, (size_t)(sep + 3 - p));
        if (ui > 0) {
            put_userinfo(&o, sep + 3, ui - 1, is_http_scheme(text, sep), strip);
            found = 1;
        }
        p = sep + 3 + ui;
    }
    return found;
}

void gf_redact_url(char *out, size_t len, const char *url)
{
    redact(out, len, url ? url : "", 0);
}

void gf_redact_url_strip(char *out, size_t len, const char *url)
{
    redact(out, len, url ? url : "", 1);
}

int gf_redact_text(char *out, size_t len, const char *text)
{
    return redact(out, len, text ? text : "", 0);
}
