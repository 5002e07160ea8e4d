/* imap_write.h - backends-internal: what the IMAP write primitives of
 * backend_mail_write.h share (imap_write.c, imap_write_copy.c,
 * imap_write_mailbox.c). */
#ifndef BACKENDS_IMAP_WRITE_H
#define BACKENDS_IMAP_WRITE_H

#include "backend_mail_write.h"
#include "imap_read.h"

/* The IMAP session behind b for the write call named what, or NULL with
 * err: no connection, a broken one, or a backend that is not IMAP. */
struct imap_backend *imap_write_begin(struct mail_backend *b, const char *what,
                                      struct gw_error *err);

/* Checks set (a mailbox, at least one uid, none 0), opens its mailbox
 * read-write unless the last write left it open, and compares its
 * UIDVALIDITY. Returns 0 or -1 with err (GW_ERR_NOTFOUND for a mailbox
 * that cannot be opened or whose UIDVALIDITY changed, GW_ERR_FORBIDDEN for
 * a read-only one). */
int imap_write_open(struct imap_backend *ib, const struct backend_msgset *set, const char *what,
                    struct gw_error *err);

/* imap_wire_run() for a write command: afterwards the read path's
 * selection cache is dropped (the command may have changed the open
 * mailbox), and the write path keeps its open mailbox only when keep_open
 * and it was valid before. */
int imap_write_run(struct imap_backend *ib, struct imap_cmd *c, const char *what, bool keep_open,
                   imap_untagged_fn fn, void *ctx, struct gw_error *err);

/* Checks flag syntax: the settable system flags (\Seen \Answered \Flagged
 * \Deleted \Draft, any case) or keyword atoms. GW_ERR_INVALID names the
 * first bad one. */
int imap_write_check_flags(const char *const *flags, size_t n, struct gw_error *err);

/* Appends "(f1 f2 ...)" (flags already checked). */
void imap_write_add_flags(struct imap_cmd *c, const char *const *flags, size_t n);

/* UID STORE +FLAGS.SILENT (\Deleted) then UID EXPUNGE of exactly uids in
 * the open mailbox (caller checked UIDPLUS). *flagged (may be NULL) is set
 * once the STORE was sent, so a caller knows the originals may carry
 * \Deleted when a later step failed. */
int imap_write_expunge(struct imap_backend *ib, const uint32_t *uids, size_t n, bool *flagged,
                       struct gw_error *err);

#endif
