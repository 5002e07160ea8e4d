/* gw_hash.h - FNV-1a (64 bits), the hash of the gateway's in-memory
 * caches. Their keys are short, and a collision only costs a miss or an
 * eviction (every cache compares the whole key), so a simple hash does. */
#ifndef GW_HASH_H
#define GW_HASH_H

#include <stddef.h>
#include <stdint.h>

#define GW_HASH_INIT UINT64_C(14695981039346656037)

/* h continued over the n bytes at data (start with GW_HASH_INIT). */
static inline uint64_t gw_hash_bytes(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * UINT64_C(1099511628211);
    return h;
}

/* h continued over the string s, without its NUL. */
static inline uint64_t gw_hash_str(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        h = (h ^ *p) * UINT64_C(1099511628211);
    return h;
}

#endif
