/* jmap_blob.h - blob ids of the read path (RFC 8620 §6, RFC 8621 §4.1.4).
 *
 * A blob of a stored message is named by the Email and an IMAP section, so
 * the download route can fetch exactly that part (BINARY.PEEK[section])
 * and never the whole message for one attachment:
 *   whole message:  "B" + emailId                e.g. "BEabcdefghijklm"
 *   one part:       "B" + emailId + "_" + section with '.' -> '-'
 *                                                e.g. "BEabcdefghijklm_1-2"
 * Email ids never contain '_' (mail_store.h), so the split is unambiguous.
 * Blob ids are immutable like the Email ids they contain.
 */
#ifndef JMAP_BLOB_H
#define JMAP_BLOB_H

#include <stdbool.h>
#include <stddef.h>

/* Longest blob id plus NUL (an Email id, "_" and a deep section). */
#define JMAP_BLOB_ID_MAX 96

/* Writes the blob id of section part_id ("1.2"; NULL or "" for the whole
 * message) of email_id into out. Returns false when it does not fit or
 * part_id is not a section ("1", "1.2", digits and dots, no empty parts). */
bool jmap_blob_id_make(const char *email_id, const char *part_id, char out[JMAP_BLOB_ID_MAX]);

/* Splits a blob id made by jmap_blob_id_make(): email_id gets the Email id,
 * part_id the section ("" for the whole message). Returns false for any
 * other string (the download answers 404, /get notFound). */
bool jmap_blob_id_parse(const char *blob_id, char email_id[JMAP_BLOB_ID_MAX],
                        char part_id[JMAP_BLOB_ID_MAX]);

#endif
