/* doc.h -- helpers over jansson document trees: canonical JSON, hashes, paths */
#ifndef GITFLEET_DOC_H
#define GITFLEET_DOC_H

#include <jansson.h>
#include <stddef.h>

/* Canonical JSON: object keys sorted bytewise, no whitespace, UTF-8 as is,
 * '/' not escaped, integers plain, reals in their shortest round-trip form
 * ("0.1", "1.0", "1e20"; doc.c states the exact rules). These bytes are what
 * gets hashed and signed. *out is malloc'd and NUL-terminated. GF_ETOOBIG
 * for trees nested deeper than 512 levels. */
int gf_doc_canonical(char **out, size_t *len_out, const json_t *doc);

/* SHA-256 of the canonical JSON; hex form is lowercase, 64 chars + NUL. */
int gf_doc_sha256(unsigned char out[32], const json_t *doc);
int gf_doc_sha256_hex(char out[65], const json_t *doc);

/* SHA-256 of bytes, as lowercase hex (65 bytes with NUL). */
void gf_sha256_hex(char out[65], const void *data, size_t len);

/* Borrowed value at a dotted path ("metadata.name"); NULL if absent. A
 * decimal segment indexes an array ("spec.containers.0.image"). Keys with
 * dots cannot be reached this way: use json_object_get(). */
json_t *gf_doc_get(const json_t *doc, const char *path);
/* The string at a dotted path, or NULL when absent or not a string. */
const char *gf_doc_string(const json_t *doc, const char *path);

#endif
