/* backend_mail_write.h - the write primitives of a mail backend (IMAP now),
 * in the neutral types of backend_mail.h: no libetpan type crosses this
 * header.
 *
 * Same rules as backend_mail.h: every function takes a connection from
 * backend.h (one thread at a time), returns 0 or -1 with err, and each
 * wait for the server is bounded by the endpoint's command timeout. A
 * transport failure, BYE or unparsable answer marks the connection broken
 * (backend_is_broken()). A tagged NO is mapped through the one IMAP
 * response-code table: [OVERQUOTA] -> GW_ERR_OVERQUOTA, [ALREADYEXISTS] ->
 * GW_ERR_EXISTS, [NONEXISTENT] / [TRYCREATE] -> GW_ERR_NOTFOUND, [NOPERM]
 * -> GW_ERR_FORBIDDEN, [LIMIT] -> GW_ERR_LIMIT, [TOOBIG] -> GW_ERR_TOO_LARGE;
 * a NO without a mapped code is GW_ERR_BACKEND_NO.
 * A backend that cannot write (POP3) fails with GW_ERR_INVALID.
 *
 * Mailbox names are raw (as on the wire, modified UTF-7: see
 * backend_mailbox_name_encode()), exactly as backend_mailbox.name_raw.
 *
 * Commands on messages name their mailbox (struct backend_msgset): it is
 * opened read-write when it is not the one the previous write used, so the
 * caller need not select first. Read-path selections stay consistent: a
 * later backend_select() of any mailbox sends a real SELECT/EXAMINE, never
 * a "reused" answer from before the write.
 */
#ifndef BACKEND_MAIL_WRITE_H
#define BACKEND_MAIL_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "backend_mail.h"

/* ---- Mailbox names ---------------------------------------------------- */

/* UTF-8 name (with the server's hierarchy delimiter inside, e.g.
 * "Archiv/Entwürfe") to its raw wire form (modified UTF-7, RFC 3501
 * 5.1.3). On success *out is new (free()). GW_ERR_INVALID for invalid
 * UTF-8, an empty name or control characters. */
int backend_mailbox_name_encode(const char *utf8, char **out, struct gw_error *err);

/* ---- Messages ---------------------------------------------------------- */

/* Messages of one mailbox; everything borrowed. */
struct backend_msgset {
    const char *mailbox_raw;
    uint32_t uidvalidity;       /* non-zero: fail with GW_ERR_NOTFOUND (nothing
                                 * done) when the mailbox's UIDVALIDITY differs,
                                 * as the uids then name other messages */
    const uint32_t *uids;       /* any order, duplicates fine; at least one */
    size_t n_uids;
};

enum backend_store_op {
    BACKEND_STORE_ADD,          /* +FLAGS */
    BACKEND_STORE_REMOVE,       /* -FLAGS */
    BACKEND_STORE_REPLACE,      /* FLAGS: exactly these */
};

struct backend_store_req {
    struct backend_msgset set;
    enum backend_store_op op;
    const char *const *flags;   /* borrowed: "\\Seen" ... or keywords (atoms);
                                 * may be empty for REPLACE (clear all) */
    size_t n_flags;
    uint64_t unchangedsince;    /* non-zero: CONDSTORE UNCHANGEDSINCE (needs
                                 * CONDSTORE, else GW_ERR_INVALID) */
};

struct backend_store_result {
    /* Ascending uids NOT changed because they were modified after
     * unchangedsince ([MODIFIED]); the rest were stored. */
    uint32_t *modified;
    size_t n_modified;
    /* What the server reported for changed messages (uid, new modseq, and
     * flags when it sent them; FLAGS.SILENT usually leaves them empty). */
    struct backend_msg_change *changed;
    size_t n_changed;
};

/* UID STORE <uids> [(UNCHANGEDSINCE n)] [+-]FLAGS.SILENT (...).
 * Before sending anything, each flag to be set is checked against the
 * mailbox's PERMANENTFLAGS: a keyword the mailbox cannot keep (no "\\*"
 * and not listed) or a system flag it does not list fails the whole call
 * with GW_ERR_FORBIDDEN naming the flag, so nothing is stored only for the
 * session. A malformed flag ("\\Recent", spaces, specials) is
 * GW_ERR_INVALID. Uids that no longer exist are silently skipped (the
 * server ignores them). On success *out (when out is non-NULL) is new:
 * free with backend_store_result_free(). */
int backend_store_flags(struct mail_backend *b, const struct backend_store_req *req,
                        struct backend_store_result **out, struct gw_error *err);
void backend_store_result_free(struct backend_store_result **r);

/* What became of a copy or move. Read it after failures too. */
enum backend_copy_outcome {
    BACKEND_COPY_NONE,          /* nothing was copied (the command failed) */
    BACKEND_COPY_DONE,          /* copied; for a move also removed from the source */
    BACKEND_COPY_NOT_REMOVED,   /* move only: copied into the destination, but
                                 * removing the originals failed (EXPUNGE
                                 * refused, or the connection died after the
                                 * copy): the messages now exist in BOTH
                                 * mailboxes. source_deleted_flag says whether
                                 * they may carry \Deleted. Nothing is lost. */
    BACKEND_COPY_UNKNOWN,       /* the connection died before the server's
                                 * answer to COPY/MOVE: it may or may not
                                 * have happened; resync both mailboxes */
};

struct backend_copy_result {
    enum backend_copy_outcome outcome;
    bool source_deleted_flag;   /* NOT_REMOVED: \Deleted was (or may have
                                 * been) set on the originals */
    /* COPYUID (UIDPLUS): pairs src_uids[i] -> dest_uids[i], in the server's
     * order; n 0 and dest_uidvalidity 0 when the server sent none. */
    uint32_t dest_uidvalidity;
    uint32_t *src_uids, *dest_uids;
    size_t n;
};

/* UID COPY of set into dest_raw. Returns 0 (outcome DONE) or -1 with err;
 * either way *out is new (outcome NONE or UNKNOWN on failure): free with
 * backend_copy_result_free(). A missing destination is GW_ERR_NOTFOUND
 * ([TRYCREATE]). */
int backend_copy(struct mail_backend *b, const struct backend_msgset *set, const char *dest_raw,
                 struct backend_copy_result **out, struct gw_error *err);

/* Moves set into dest_raw: UID MOVE (RFC 6851) when offered, else UID COPY,
 * UID STORE +FLAGS.SILENT (\Deleted) and UID EXPUNGE of exactly those uids
 * (needs UIDPLUS: never a plain EXPUNGE, which would also remove other
 * clients' \Deleted messages; without MOVE and UIDPLUS it fails with
 * GW_ERR_INVALID before doing anything). Returns 0 (outcome DONE) or -1
 * with err; *out is always new and its outcome says exactly what happened
 * (NOT_REMOVED after a partial move). */
int backend_move(struct mail_backend *b, const struct backend_msgset *set, const char *dest_raw,
                 struct backend_copy_result **out, struct gw_error *err);
void backend_copy_result_free(struct backend_copy_result **r);

/* Removes exactly the uids of set: UID STORE +FLAGS.SILENT (\Deleted), then
 * UID EXPUNGE <uids> (needs UIDPLUS, else GW_ERR_INVALID before anything is
 * sent). Uids already gone are fine. */
int backend_expunge_uids(struct mail_backend *b, const struct backend_msgset *set,
                         struct gw_error *err);

/* ---- Appending ---------------------------------------------------------- */

struct backend_append_req {
    const char *mailbox_raw;    /* borrowed */
    const char *const *flags;   /* borrowed, as in backend_store_req; may be NULL */
    size_t n_flags;
    time_t internaldate;        /* 0: the server's time of arrival */
    int tz_offset_min;          /* zone written with internaldate, e.g. +120 */
    const char *data;           /* the RFC 5322 message, borrowed; sent as one
                                 * literal straight from this memory */
    size_t len;
};

struct backend_append_result {
    uint32_t uidvalidity, uid;  /* APPENDUID (UIDPLUS); 0 when not sent */
};

/* APPEND with flags and internal date, the message as a non-synchronising
 * literal with LITERAL+ (else synchronising: a server refusing it up
 * front, e.g. NO [TOOBIG] or [OVERQUOTA], is reported without sending the
 * bytes). Flags are validated as for backend_store_flags() but not checked
 * against PERMANENTFLAGS (no mailbox is selected). out may be NULL. */
int backend_append(struct mail_backend *b, const struct backend_append_req *req,
                   struct backend_append_result *out, struct gw_error *err);

/* ---- Mailboxes ---------------------------------------------------------- */

/* CREATE name_raw; with use other than BACKEND_USE_NONE/INBOX, CREATE ...
 * (USE (\Drafts)) when CREATE-SPECIAL-USE is offered, else GW_ERR_INVALID
 * before anything is created. GW_ERR_EXISTS when it exists. */
int backend_create_mailbox(struct mail_backend *b, const char *name_raw,
                           enum backend_special_use use, struct gw_error *err);

/* DELETE name_raw. GW_ERR_NOTFOUND when it does not exist. */
int backend_delete_mailbox(struct mail_backend *b, const char *name_raw, struct gw_error *err);

/* RENAME old_raw new_raw (children move along on IMAP servers). */
int backend_rename_mailbox(struct mail_backend *b, const char *old_raw, const char *new_raw,
                           struct gw_error *err);

/* SUBSCRIBE (on) or UNSUBSCRIBE name_raw. */
int backend_subscribe(struct mail_backend *b, const char *name_raw, bool on,
                      struct gw_error *err);

#endif
