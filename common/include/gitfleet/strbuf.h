/* strbuf.h -- a growing NUL-terminated string buffer that remembers running out of memory */
#ifndef GITFLEET_STRBUF_H
#define GITFLEET_STRBUF_H

#include <stddef.h>

/*
 * Zero-initialise, append, then take `data` (malloc'd, NUL-terminated, NULL
 * when nothing was appended) or free it with gf_strbuf_free(). An append
 * that cannot grow the buffer sets `failed` and every later append is a
 * no-op, so a caller checks once at the end.
 */
struct gf_strbuf {
    char *data;
    size_t len, cap;
    int failed;
};

void gf_strbuf_add(struct gf_strbuf *sb, const char *s, size_t n);
void gf_strbuf_puts(struct gf_strbuf *sb, const char *s);
void gf_strbuf_printf(struct gf_strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void gf_strbuf_free(struct gf_strbuf *sb);

#endif
