/* mail_store_read.h - backends-internal: the read path's shared pieces,
 * the Email row layout and its decoder (mail_store_email_row.c) and read
 * transactions, readers and the read cache. */
#ifndef BACKENDS_MAIL_STORE_READ_H
#define BACKENDS_MAIL_STORE_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mail_store_db.h"

/* The columns every Email list statement selects first, in the order
 * mail_store_email_decode() reads them, over "emails e"; ?1 is the
 * account, ?2 whether the header block is wanted. */
#define MAIL_STORE_EMAIL_COLUMNS                                                             \
    "e.email_id, e.thread_id, e.size, e.received_at, e.sent_utc, ifnull(e.subject,''),"     \
    " e.from_sort, e.to_sort, e.cc_sort, e.has_attachment, e.preview, e.keywords,"          \
    " (SELECT group_concat(l2.mailbox_id, ' ') FROM email_locations l2"                     \
    "   INDEXED BY email_locations_email"                                                   \
    "   WHERE l2.account_id = e.account_id AND l2.email_id = e.email_id),"                  \
    " CASE WHEN ?2 THEN e.headers END"

/* The index of the first column after MAIL_STORE_EMAIL_COLUMNS. */
#define MAIL_STORE_EMAIL_NCOLS 14

/* Fills *e from the current row of st (MAIL_STORE_EMAIL_COLUMNS), every
 * string and array in one allocation (e->mem, of *mem_size bytes when
 * mem_size is not NULL); -1 when out of memory (*e then cleared). */
int mail_store_email_decode(sqlite3_stmt *st, struct mail_store_email *e, size_t *mem_size);

/* Column i of st's row into out, cut to MAIL_STORE_ID_MAX - 1 ("" for
 * null). */
void mail_store_copy_id(char out[MAIL_STORE_ID_MAX], sqlite3_stmt *st, int i);

/* Frees what mail_store_email_decode() allocated and zeroes *e. */
void mail_store_email_clear(struct mail_store_email *e);

/* Runs st (bound by the caller) and appends every row to l (*cap entries
 * allocated); -1 with err. st is reset either way. */
int mail_store_email_collect(struct mail_store *ms, sqlite3_stmt *st,
                             struct mail_store_email_list *l, size_t *cap, struct gw_error *err);

/* ---- Readers (mail_store_readers.c) --------------------------------
 * The read path reads on a read-only connection of its own (WAL: the last
 * commit, never waiting for the writer), a "view": a struct mail_store
 * whose db is the reader and whose statement cache is its own, so every
 * helper taking a struct mail_store runs on it unchanged. */

/* Opens the readers of ms's database file (*out NULL for a database with
 * no file: the writer then reads too). */
int mail_readers_open(struct mail_store *ms, struct mail_readers **out, struct gw_error *err);
void mail_readers_close(struct mail_readers **rs);

/* A view held for the caller alone until mail_read_release(): a free
 * reader, else (no readers) ms itself with the store lock taken. */
struct mail_store *mail_read_acquire(struct mail_store *ms);
void mail_read_release(struct mail_store *ms, struct mail_store *rv);

/* The stamp for what rv reads from now on (for the read cache): take it
 * before the first statement. 0: nothing read now may be cached. */
uint64_t mail_read_stamp(struct mail_store *ms, struct mail_store *rv);

/* Opens a read transaction on rv, so the statements up to
 * mail_store_read_end() share one snapshot and one WAL read lock instead
 * of taking one each. Returns whether it opened one (false inside a
 * transaction already, or when BEGIN failed: the statements then run on
 * their own, as before). */
bool mail_store_read_begin(struct mail_store *rv);
void mail_store_read_end(struct mail_store *rv, bool began);

/* ---- The read cache (mail_store_cache.c) ------------------------------
 * Answers kept until the next commit; every call takes the stamp of the
 * read it belongs to (mail_read_stamp(); 0: a miss, nothing kept).
 * Lookups give false/0 on a miss. Thread-safe on its own lock. */
int mail_read_cache_new(struct mail_read_cache **out);
void mail_read_cache_free(struct mail_read_cache **c);

/* The account's states by enum mail_store_type. */
bool mail_read_cache_states(struct mail_store *ms, uint64_t stamp, const char *account_id,
                            uint64_t out[3]);
void mail_read_cache_put_states(struct mail_store *ms, uint64_t stamp, const char *account_id,
                                const uint64_t states[3]);

/* The account's live mailboxes as mail_store_list_mailboxes() gives them:
 * 1 with *out a new copy, 0 on a miss, -1 when out of memory. */
int mail_read_cache_mailboxes(struct mail_store *ms, uint64_t stamp, const char *account_id,
                              struct mail_store_mailbox_list **out);
/* Keeps a copy of l (borrowed). */
void mail_read_cache_put_mailboxes(struct mail_store *ms, uint64_t stamp, const char *account_id,
                                   const struct mail_store_mailbox_list *l);

/* The account's Email id as decoded without the header block: 1 with
 * *out a new copy (free with mail_store_email_clear()), 0 on a miss, -1
 * when out of memory. */
int mail_read_cache_email(struct mail_store *ms, uint64_t stamp, const char *account_id,
                          const char *id, struct mail_store_email *out);
/* Keeps a copy of e (borrowed; decoded without headers, its block
 * mem_size bytes). */
void mail_read_cache_put_email(struct mail_store *ms, uint64_t stamp, const char *account_id,
                               const struct mail_store_email *e, size_t mem_size);

#endif
