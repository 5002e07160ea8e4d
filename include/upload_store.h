/* upload_store.h - blobs uploaded through the uploadUrl (RFC 8620 §6.1),
 * kept as files under the gateway's state folder until they expire.
 *
 * Reachable from gateway/ (the upload route writes, the download route
 * reads) and api/ (Email/import, Email/parse, attachments of Email/set):
 * plain C and files, no HTTP, no IMAP.
 *
 * Layout: <dir>/tmp/ holds uploads still arriving (removed when they fail
 * and on open); <dir>/<accountId>/<blobId> the blobs, <blobId>.type their
 * media type. Nothing is kept in memory but the limits.
 *
 * Blob ids of uploads are "U" + 24 lower-case hex digits (96 random bits):
 * they never look like a blob id of the read path (include/jmap_blob.h,
 * which start with "B"), so one id space serves both.
 *
 * Expiry: an upload older than max_age_s is gone; and when an account
 * holds more than max_count uploads or max_bytes bytes, its oldest go
 * first. Expiry runs whenever an upload of that account is committed and
 * can be run for every account with upload_store_expire().
 *
 * Thread-safe: any thread may use one store.
 */
#ifndef UPLOAD_STORE_H
#define UPLOAD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "gw_error.h"

#define UPLOAD_BLOB_ID_LEN 25
#define UPLOAD_TYPE_MAX 256

struct upload_store_limits {
    uint64_t max_size;          /* one upload (maxSizeUpload) */
    unsigned max_count;         /* uploads kept per account */
    uint64_t max_bytes;         /* bytes kept per account */
    unsigned max_age_s;         /* age limit */
};

struct upload_store;
struct upload_spool;

/* Opens (creating) the store in dir; leftovers of unfinished uploads are
 * removed. *out is new: free with upload_store_free(). */
int upload_store_open(const char *dir, const struct upload_store_limits *limits,
                      struct upload_store **out, struct gw_error *err);
void upload_store_free(struct upload_store **s);

/* The process's store, for the API methods (set once at start-up; NULL
 * when uploads are not available: every upload blob id is then unknown). */
void upload_store_set_default(struct upload_store *s);
struct upload_store *upload_store_default(void);

/* True when blob_id has the form of an upload's blob id. */
bool upload_blob_id_is(const char *blob_id);

/* An upload as it arrives: a file in tmp/. */
int upload_spool_begin(struct upload_store *s, struct upload_spool **out, struct gw_error *err);
/* The same, counted against owner (who uploads: the request's
 * credentials; only a hash of the string is kept) until the spool is
 * committed or aborted: GW_ERR_LIMIT when owner already has max_concurrent spools open
 * (maxConcurrentUpload, RFC 8620 §6.1). owner NULL or max_concurrent 0:
 * not counted. */
int upload_spool_begin_for(struct upload_store *s, const char *owner, uint64_t max_concurrent,
                           struct upload_spool **out, struct gw_error *err);
/* Appends bytes. GW_ERR_TOO_LARGE once the upload passes max_size (the
 * spool is then useless: abort it). */
int upload_spool_write(struct upload_spool *sp, const void *data, size_t len,
                       struct gw_error *err);
/* Bytes written so far. */
uint64_t upload_spool_size(const struct upload_spool *sp);
/* Drops the upload (the file is removed); *sp NULL. NULL is fine. */
void upload_spool_abort(struct upload_spool **sp);

struct upload_info {
    char blob_id[UPLOAD_BLOB_ID_LEN + 1];
    char type[UPLOAD_TYPE_MAX];
    uint64_t size;
};

/* Keeps the upload as a blob of account_id (a JMAP id) with media type
 * type (NULL: application/octet-stream; cut at UPLOAD_TYPE_MAX - 1) and
 * expires the account's old uploads. The spool is spent either way: only
 * upload_spool_abort() (which then just frees it) may follow. */
int upload_spool_commit(struct upload_spool *sp, const char *account_id, const char *type,
                        struct upload_info *out, struct gw_error *err);

/* The bytes of an upload of account_id: *data new (free(), NUL after the
 * *len bytes). GW_ERR_NOTFOUND when there is no such upload (or it
 * expired). info may be NULL. s may be NULL (always not found). */
int upload_store_read(struct upload_store *s, const char *account_id, const char *blob_id,
                      char **data, size_t *len, struct upload_info *info, struct gw_error *err);

/* Removes expired uploads of every account as of now. Returns how many
 * were removed. */
unsigned upload_store_expire(struct upload_store *s, time_t now);

#endif
