/* mail_store_sync_internal.h - backends-internal: what the email sync
 * fetched from IMAP for one mailbox (mail_store_sync.c), handed to the
 * database side (mail_store_email_apply.c) that writes it under the store
 * lock. */
#ifndef BACKENDS_MAIL_STORE_SYNC_INTERNAL_H
#define BACKENDS_MAIL_STORE_SYNC_INTERNAL_H

#include "backend_mail.h"
#include "mail_store_db.h"

struct mail_sync_box {
    char id[16];
    char *name_raw;
    uint32_t uidvalidity;           /* as SELECT answered */
    struct backend_selected status; /* as the LIST-STATUS of this sync answered
                                     * (exists: MESSAGES; lists empty) */
    uint32_t uidnext;
    uint64_t highestmodseq;
    bool uidvalidity_changed;       /* every cached location of it is void */
    uint32_t *known;                /* uids cached before the sync, ascending */
    size_t n_known;
    uint32_t *current;              /* uids on the server now, ascending */
    size_t n_current;
    struct backend_msg_change *flags;   /* new flags of known uids */
    size_t n_flags;
    size_t cap_flags;
    struct backend_message_summary **fresh; /* uids new to the cache */
    size_t n_fresh;
    size_t cap_fresh;
    /* Cold start (mail_store_backfill.h): */
    uint32_t todo_below;            /* non-zero: uncached uids below this are the
                                     * backfill's, a sync leaves them alone */
    bool first_batch;               /* only the newest messages were fetched */
    bool has_cutoff;                /* first batch picked by SORT (REVERSE ARRIVAL): */
    int64_t cutoff;                 /* every message received after this is cached */
    uint32_t deleted_at_start;      /* \Deleted messages when the first batch was picked */
    uint64_t backfill_base;         /* non-zero: a backfill batch; its new rows
                                     * are stamped with this modseq */
    bool stale;                     /* set by the apply: the batch's row or mailbox
                                     * changed meanwhile, nothing of it was written */
};

/* One batched UID FETCH of uids (any order) into x->fresh: the summary
 * items the cache keeps of a new message, as ms's options allow. */
int mail_sync_fetch_fresh(const struct mail_store *ms, struct mail_backend *b,
                          struct mail_sync_box *x, const uint32_t *uids, size_t n,
                          struct gw_error *err);
void mail_sync_box_clear(struct mail_sync_box *x);

/* Steps st (bound by the caller; uids in column 0, ascending) appending
 * each uid to x->known. 0, or -1 with err (what names the query). */
int mail_sync_collect_known(struct mail_store *ms, sqlite3_stmt *st, struct mail_sync_box *x,
                            const char *what, struct gw_error *err);

/* Writes every box's results in one transaction (one modseq step when
 * anything changed): locations, Emails, Threads, keywords, counts, states. */
int mail_store_email_apply(struct mail_store *ms, const char *account_id,
                           struct mail_sync_box *boxes, size_t n_boxes, struct gw_error *err);

#endif
