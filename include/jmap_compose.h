/* jmap_compose.h - the message builder: a JMAP Email create object
 * (RFC 8621 §4.6) to the bytes of an RFC 5322 / MIME message.
 *
 * Pure C over JSON (library gw_message): the bytes of blobs referenced by
 * an EmailBodyPart come from a callback, so the builder knows nothing of
 * IMAP or the upload store. The result is 7-bit clean except inside an
 * attached message/rfc822 blob (kept verbatim, labelled 8bit), uses
 * CRLF line ends, keeps lines within 78 octets where the input allows and
 * within 998 always (a header token that cannot fit is an
 * invalidProperties error naming its property).
 *
 * How the body is made:
 * - bodyStructure: exactly that tree.
 * - textBody / htmlBody / attachments: text alone or html alone is one
 *   part; both are a multipart/alternative; inline attachments (with a
 *   cid, disposition not "attachment") join the html part in a
 *   multipart/related; the other attachments follow the body in a
 *   multipart/mixed. Without any of them the body is an empty text/plain.
 * - text from bodyValues is charset=utf-8, 7bit when it is ASCII with
 *   short lines, else quoted-printable; LF and CR line ends become CRLF.
 * - blobs are base64, except text blobs that are already 7-bit clean
 *   CRLF text with short lines (then 7bit) and message/rfc822 (verbatim,
 *   7bit or 8bit, bare LF or CR line ends made CRLF; only one holding NUL
 *   octets, which no RFC 5322 message has, falls back to base64).
 *   Decoding the part gives the blob's bytes back exactly, but for those
 *   line ends.
 */
#ifndef JMAP_COMPOSE_H
#define JMAP_COMPOSE_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "gw_error.h"

/* Fetches the bytes of blob_id. On success *data is new (free(), len
 * bytes). Returns 0, or -1 with err: GW_ERR_NOTFOUND makes the create a
 * blobNotFound SetError, anything else fails the build with that error. */
typedef int (*jmap_compose_blob_fn)(void *ctx, const char *blob_id, char **data, size_t *len,
                                    struct gw_error *err);

struct jmap_compose_opts {
    jmap_compose_blob_fn blob;  /* NULL: every blobId is blobNotFound */
    void *blob_ctx;
    const char *domain;         /* right side of a generated Message-ID;
                                 * NULL: "jmap-gateway.invalid" */
    time_t now;                 /* Date when sentAt is absent; 0: time(NULL) */
};

/* Builds the message for email (borrowed). Properties that only the store
 * sets or that are metadata (mailboxIds, keywords, receivedAt) are not
 * looked at, except id, blobId, threadId, size, preview and hasAttachment,
 * which are invalidProperties when given (they are server-set).
 *
 * Returns 0 with *out (new, free(), *out_len bytes, NUL-terminated), or -1:
 * - *set_error non-NULL (new reference): the client's mistake, a SetError
 *   object: invalidProperties with "properties" naming every offending
 *   property (paths such as "bodyStructure/subParts/1/charset"), or
 *   blobNotFound with "notFound";
 * - else err says why (GW_ERR_NOMEM, a blob callback's failure). */
int jmap_compose(json_t *email, const struct jmap_compose_opts *opts, char **out, size_t *out_len,
                 json_t **set_error, struct gw_error *err);

#endif
