/* hash.c -- FNV-1a (64-bit) */
#include "gitfleet/hash.h"

#define FNV_OFFSET 1469598103934665603ULL /* see hash.h */
#define FNV_PRIME  1099511628211ULL

uint64_t gf_hash_bytes(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = FNV_OFFSET;

    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

uint64_t gf_hash_string(const char *s)
{
    uint64_t h = FNV_OFFSET;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * FNV_PRIME;
    return h;
}
