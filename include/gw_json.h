/* gw_json.h - serializing Jansson values for replies, faster than json_dumps.
 *
 * json_dumps spends most of an API response's cost on bookkeeping (a loop
 * check that formats and hashes every container's address, one callback per
 * escaped run, a code point decode per byte). This writer walks the tree
 * once into one growing buffer and produces exactly the bytes
 * json_dumps(json, JSON_COMPACT) would: keys in the object's own order,
 * UTF-8 unescaped, the same escapes ("\\u%04X" for other controls). */
#ifndef GW_JSON_H
#define GW_JSON_H

#include <jansson.h>
#include <stddef.h>

/* Serializes json (borrowed; an object or an array, as json_dumps without
 * JSON_ENCODE_ANY) compactly. Returns a new NUL-terminated string (free()
 * it) and its length in *len_out, or NULL if json is NULL, not a container,
 * nested deeper than GW_JSON_MAX_DEPTH, holds a string that is not UTF-8
 * (json_dumps fails on those too) or memory runs out. */
#define GW_JSON_MAX_DEPTH 2048
char *gw_json_dump_compact(const json_t *json, size_t *len_out);

/* Frozen containers: values shared between replies (a cache's) are
 * serialized once, and gw_json_dump_compact copies that text wherever the
 * value appears instead of walking it again.
 *
 * gw_json_freeze remembers json's (borrowed: an object or an array)
 * compact text and takes a reference to it; from then on json and
 * everything in it must never be modified (nothing checks). Freezing a
 * frozen value again is a no-op. Returns 0, or -1 when json cannot be
 * dumped, memory runs out or GW_JSON_FROZEN_MAX values are frozen (json
 * is then simply dumped the normal way). Thread-safe.
 *
 * gw_json_unfreeze forgets json's text and drops the reference freeze
 * took; json not frozen (or NULL) is ignored. */
#define GW_JSON_FROZEN_MAX 16384
int gw_json_freeze(json_t *json);
void gw_json_unfreeze(json_t *json);

#endif
