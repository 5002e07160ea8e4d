/* jmap_download.h - the bytes behind a blob id for the downloadUrl
 * (RFC 8620 §6.2): the whole message of an Email, or one part of it fetched
 * alone (BINARY.PEEK[section], include/jmap_blob.h), with its transfer
 * encoding removed. Knows nothing of HTTP. */
#ifndef JMAP_DOWNLOAD_H
#define JMAP_DOWNLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "gw_error.h"

struct account;

/* Blobs larger than this are refused (GW_ERR_TOO_LARGE), never buffered. */
#define JMAP_DOWNLOAD_MAX (64u << 20)

struct jmap_blob_bytes {
    char *data;     /* len bytes, NUL-terminated; free() */
    size_t len;
};

/* Fetches blob_id of the account. A blob whose Email moved or vanished
 * since the cache last looked triggers one sync and one retry. Errors:
 * GW_ERR_NOTFOUND (unknown or malformed blob id, Email gone),
 * GW_ERR_TOO_LARGE, and the backend's (GW_ERR_UNAVAILABLE ...). */
int jmap_download_blob(struct account *account, const char *blob_id, struct jmap_blob_bytes *out,
                       struct gw_error *err);

/* jmap_download_blob() for a byte range starting at offset (an HTTP Range
 * request): out holds the blob's bytes from offset to its end (none when
 * offset is at or past the end) and *total the blob's whole size. The
 * whole message (a blob without a section) is fetched from offset only,
 * so a resumed download costs just its tail; a part is fetched whole,
 * decoded, and cut, since its decoded offsets are not the server's.
 * Same errors. */
int jmap_download_blob_from(struct account *account, const char *blob_id, uint64_t offset,
                            struct jmap_blob_bytes *out, uint64_t *total, struct gw_error *err);

#endif
