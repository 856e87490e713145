/* hash.h -- FNV-1a (64-bit): the non-cryptographic hash of the hash tables and cache names */
#ifndef GITFLEET_HASH_H
#define GITFLEET_HASH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a of `len` bytes; of a NUL-terminated string. Stable across runs and
 * builds (cache directory names on disk depend on it); not for secrets. */
uint64_t gf_hash_bytes(const void *data, size_t len);
uint64_t gf_hash_string(const char *s);

#endif
