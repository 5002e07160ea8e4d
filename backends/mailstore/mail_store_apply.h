/* mail_store_apply.h - backends-internal: one email apply in progress
 * (mail_store_email_apply.c), shared with the new-message path that
 * creates Emails and assigns their Threads (mail_store_email_new.c). */
#ifndef BACKENDS_MAIL_STORE_APPLY_H
#define BACKENDS_MAIL_STORE_APPLY_H

#include "backend_mail.h"
#include "mail_store_db.h"
#include "mail_store_identity.h"

struct mail_apply {
    struct mail_store *ms;
    const char *account_id;
    uint64_t modseq;            /* the step this sync writes */
    /* A backfill batch (mail_store_backfill.h): what it creates existed
     * before the states given out, so it is stamped with the base modseq
     * of the first batch and moves no state. */
    bool backfill;
    uint64_t created_modseq;    /* modseq, or the base of a backfill */
    /* The batch finished its mailbox's backfill: Mailbox/get moves from
     * IMAP's counts to the cache's, a real Mailbox change. */
    bool backfill_done;
    bool emails_changed, threads_changed;
    struct mail_identity idn;
    struct gw_error *err;
};

/* mail_store_db_fail() for a: -1 with a->err set. */
int mail_apply_fail(struct mail_apply *a, const char *what);

/* Prepares sql (cached) with the account bound as ?1. NULL with a->err
 * set on failure. */
sqlite3_stmt *mail_apply_stmt(struct mail_apply *a, const char *sql);

/* Steps a statement that returns no rows, then resets it; -1 with err
 * (also for st NULL, whose error is already set). */
int mail_apply_run(struct mail_apply *a, sqlite3_stmt *st, const char *what);

/* Runs sql with id bound as ?1: records id in one of the temp tables of
 * what this sync touched. */
int mail_apply_touch(struct mail_apply *a, const char *sql, const char *id);

/* Creates (once per connection) and empties the temp tables an apply
 * works in; 0, or -1 with the connection's error. */
int mail_apply_scratch(sqlite3 *db);

/* The temp-table insert that marks a Thread as touched (for
 * mail_apply_touch()). */
extern const char *const mail_apply_sql_touch_thread;

/* ---- Mailbox counts (mail_store_email_counts.c) ---- */

/* The temp tables of the count of a backfill slice, created and emptied
 * (sqlite3_exec text, run at the start of every apply). */
extern const char *const mail_apply_sql_count_tables;

/* A regular apply, after its Emails settled: recounts every mailbox of
 * the account, stamping those that moved with a->created_modseq;
 * *changed tells whether any did. 0, or -1 with a->err. */
int mail_apply_recount(struct mail_apply *a, bool *changed);

/* A backfill slice: records a location it inserted (one the count of
 * the state before the slice leaves out). 0, or -1 with a->err. */
int mail_apply_new_location(struct mail_apply *a, const char *mailbox_id, uint32_t uid);

/* A backfill slice, in place of mail_apply_recount(): called with before
 * true once its rows are in but before its Emails settle (their keywords
 * are still the old ones), then with before false after they settled,
 * which adds to each mailbox what the slice's Threads changed in it
 * (stamped with a->created_modseq). 0, or -1 with a->err. */
int mail_apply_count_threads(struct mail_apply *a, bool before);

/* A new Email for message m (no cached Email has its identity): its
 * header facts, its Thread (the server's THREADID, else Message-ID,
 * References and In-Reply-To against the cached threads), the row, with
 * keywords (" $seen ... ", as the settle step computes them) or, when
 * NULL, none yet. id gets the new Email id. 0, or -1 with a->err. */
int mail_apply_insert_email(struct mail_apply *a, const struct backend_message_summary *m,
                            const char *keywords, char id[MAIL_STORE_ID_MAX]);

#endif
