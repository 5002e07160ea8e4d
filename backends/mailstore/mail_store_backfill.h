/* mail_store_backfill.h - backends-internal: the cold start of the mail
 * cache (include/mail_store.h, "Cold start").
 *
 * The first sync of a mailbox bigger than MAIL_BACKFILL_FIRST_BATCH
 * fetches, for INBOX, only its newest messages (UID SORT REVERSE ARRIVAL
 * when the server has SORT, else the highest uids), for any other none,
 * and records in the table
 * mail_backfill (one row per such mailbox, written in the same
 * transaction as the Emails) the modseq of that sync (the base), the
 * uidvalidity, todo_below (every uid at or above it is cached or was
 * deliberately skipped; the rest is still to fetch) and the receivedAt
 * cutoff above which the cache provably holds every message. A
 * background thread per account then fetches the rest, newest uids
 * first, MAIL_BACKFILL_BATCH at a time (one SELECT, UID SEARCH ALL and
 * FETCH each), and writes each batch MAIL_BACKFILL_SLICE messages per
 * transaction, newest first, each slice lowering todo_below to its lowest
 * uid, the last one deleting the row when nothing is left. The store lock
 * is free between slices, so a request waits for one slice at most, and
 * the worker pauses there for waiting requests. A restart finds the rows
 * and carries on where the last committed slice stopped.
 *
 * A regular sync and a backfill batch may run at once (a batch must not
 * hold up a request); they never fetch the same uid: a sync leaves every
 * uid below todo_below alone and a batch takes only uids below the mark
 * it started from, its slices going down from there (todo_below only
 * falls), and each slice's transaction first checks that its row
 * (uidvalidity, base) and its mailbox are still there, else the batch
 * stops and writes nothing more. A message a batch inserts while a
 * concurrent sync saw it expunged is caught by the next sync: the
 * mailbox's cached count differs from STATUS, so it is not quiet, and a
 * cached uid missing from UID SEARCH ALL is removed.
 *
 * A slice moves the Mailbox counts by what its Threads changed
 * (mail_store_email_counts.c) rather than recounting the account, so its
 * cost does not grow with the account; no slice is visible half written,
 * and every slice leaves the counts equal to a recount. */
#ifndef BACKENDS_MAIL_STORE_BACKFILL_H
#define BACKENDS_MAIL_STORE_BACKFILL_H

#include <stdbool.h>
#include <stdint.h>

#include "mail_store_sync_internal.h"

#define MAIL_BACKFILL_FIRST_BATCH 128
#define MAIL_BACKFILL_BATCH 500
#define MAIL_BACKFILL_SLICE 32

struct mail_backfill;

/* Creates the table when missing and the (empty) set of workers. */
int mail_backfill_new(struct mail_store *ms, struct mail_backfill **out, struct gw_error *err);
/* Stops and joins every worker, frees; sets *r NULL. */
void mail_backfill_free(struct mail_backfill **r);

/* mail_store_sync with cold (first batches only) or not; listing as for
 * mail_store_sync_cold (NULL: LIST-STATUS on b). */
int mail_sync_run(struct mail_store *ms, const char *account_id, struct mail_backend *b,
                  bool cold, const struct mail_sync_listing *listing, struct gw_error *err);

/* Store lock held: x->todo_below from the box's row (0: none, or a row of
 * another uidvalidity). */
int mail_backfill_todo_below(struct mail_store *ms, const char *account_id,
                             struct mail_sync_box *x, struct gw_error *err);

/* The IMAP side of the first sync of a mailbox (selected as sel): when it
 * holds more than MAIL_BACKFILL_FIRST_BATCH messages, fetches the newest
 * of INBOX (of another mailbox none) into x->fresh, sets the cold-start
 * fields and returns 1; returns 0 for a small mailbox (the caller syncs
 * it whole), -1 with err. For a mailbox other than INBOX with a UIDNEXT
 * it uses neither b nor err (either may be NULL) and sends nothing. */
int mail_backfill_first_batch(const struct mail_store *ms, struct mail_backend *b,
                              struct mail_sync_box *x,
                              const struct backend_selected *sel, struct gw_error *err);

/* In the apply transaction (store lock held), before a backfill batch's
 * rows: 1 when its row and mailbox are as the batch saw them, 0 when the
 * mailbox was reset or deleted meanwhile (the batch is dropped). */
int mail_backfill_valid(struct mail_store *ms, const char *account_id,
                        const struct mail_sync_box *x, struct gw_error *err);

/* In the apply transaction (store lock held), for each box: records a
 * first batch (base = modseq), the progress of a backfill batch, or drops
 * the row of a mailbox reset by a new uidvalidity. */
int mail_backfill_note(struct mail_store *ms, const char *account_id,
                       const struct mail_sync_box *x, uint64_t modseq, struct gw_error *err);

/* What the worker does between two slices of a batch, store lock not
 * held: lets waiting requests in; returns false to stop the batch there
 * (the worker is being stopped: what was committed stays). */
struct mail_backfill_pace {
    bool (*between)(void *ctx);
    void *ctx;
};

/* One batch of the backfill of account_id (the worker), pace called
 * between its slices: 1 when a batch was written (maybe stopped after a
 * slice), 0 when nothing is left, -1 with err. */
int mail_backfill_step(struct mail_store *ms, const char *account_id, struct mail_backend *b,
                       const struct mail_backfill_pace *pace, struct gw_error *err);

/* What the cache holds of one mailbox while its account backfills. */
struct mail_backfill_cover {
    int64_t cutoff;             /* every live message received after it is cached */
    uint32_t deleted_at_start;  /* \Deleted messages when the first batch was picked */
    uint32_t total;             /* the IMAP message count; whole: the cached locations */
    bool whole;                 /* no backfill of its own: cutoff is INT64_MIN */
};

/* Store lock held: 1 with *c for a mailbox being backfilled whose first
 * batch came from SORT, or for one the cache holds whole (synced, no
 * backfill row); 0 otherwise (a big mailbox still waiting for its first
 * batch, a mailbox never synced or gone). */
int mail_backfill_cover(struct mail_store *ms, const char *account_id, const char *mailbox_id,
                        struct mail_backfill_cover *c, struct gw_error *err);

/* Store lock held: whether the account has rows left. */
int mail_backfill_rows_left(struct mail_store *ms, const char *account_id, bool *left,
                            struct gw_error *err);

#endif
