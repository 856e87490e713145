/* hash.h -- FNV-1a (64-bit): the non-cryptographic hash of the hash tables and cache names */
#ifndef GITFLEET_HASH_H
#define GITFLEET_HASH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a of `len` bytes; of a NUL-terminated string. Stable across runs and
 * builds (cache directory names on disk depend on it); not for secrets. The
 * offset basis is the one the project's copies always used,
 * 1469598103934665603: the published one has a seventh digit more
 * (14695981039346656037). Kept, so that existing clone caches keep their
 * names; the mixing is FNV-1a's either way. */
uint64_t gf_hash_bytes(const void *data, size_t len);
uint64_t gf_hash_string(const char *s);

#endif
