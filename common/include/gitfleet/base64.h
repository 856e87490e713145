/* base64.h -- RFC 4648 base64: standard alphabet, '=' padding, strict decoding */
#ifndef GITFLEET_BASE64_H
#define GITFLEET_BASE64_H

#include <stddef.h>

/* Encode `len` bytes. *out is malloc'd and NUL-terminated; *len_out (may be
 * NULL) gets its length, always a multiple of 4. */
int gf_base64_encode(char **out, size_t *len_out, const void *data, size_t len);

/* Decode `len` characters of `text` strictly: only A-Z a-z 0-9 + /, length a
 * multiple of 4, '=' only as the last one or two characters, and the unused
 * bits of the last character zero (so each byte string has exactly one
 * encoding). No whitespace is skipped. *out is malloc'd with a NUL after the
 * *len_out decoded bytes (the bytes may contain NULs themselves). GF_EINVAL
 * with the offending offset otherwise. */
int gf_base64_decode(unsigned char **out, size_t *len_out, const char *text, size_t len);

#endif
