/* strbuf.c -- a growing NUL-terminated string buffer that remembers running out of memory */
#include "gitfleet/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for `n` more bytes and the NUL; 0, or -1 (and `failed`) when out of memory. */
static int reserve(struct gf_strbuf *sb, size_t n)
{
    if (sb->failed)
        return -1;
    if (sb->len + n + 1 <= sb->cap)
        return 0;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->len + n + 1)
        cap *= 2;
    char *grown = realloc(sb->data, cap);
    if (grown == NULL) {
        sb->failed = 1;
        return -1;
    }
    sb->data = grown;
    sb->cap = cap;
    return 0;
}

void gf_strbuf_add(struct gf_strbuf *sb, const char *s, size_t n)
{
    if (reserve(sb, n) < 0)
        return;
    memcpy(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void gf_strbuf_puts(struct gf_strbuf *sb, const char *s)
{
    gf_strbuf_add(sb, s, strlen(s));
}

void gf_strbuf_printf(struct gf_strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        sb->failed = 1;
        return;
    }
    if (reserve(sb, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

void gf_strbuf_free(struct gf_strbuf *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}
