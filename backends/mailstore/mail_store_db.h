/* mail_store_db.h - backends-internal: the SQLite handle and lock of a
 * struct store (defined in backends/store/store.c), for the mail cache.
 * Hold the lock for every use of the handle; never across IMAP I/O. */
#ifndef BACKENDS_MAIL_STORE_DB_H
#define BACKENDS_MAIL_STORE_DB_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>

#include "mail_store.h"
#include "store.h"

sqlite3 *store_db_handle(struct store *s);
pthread_mutex_t *store_db_lock(struct store *s);
/* Commits of the handle: returns how many are settled (visible to every
 * other connection, or rolled back), *begun how many have started. They
 * differ while a commit is in flight. */
uint64_t store_db_commits(struct store *s, uint64_t *begun);

/* Declares a statement of the mail cache, one SQL text run through
 * mail_store_stmt():
 *     static const char *const sql_x MAIL_STORE_SQL = "SELECT ...";
 * The linker gathers every such pointer into the section mail_store_sql,
 * which mail_store_stmt_warm() walks: the writer and each reader prepare
 * their statements when they open, so no request pays for parsing SQL. */
#define MAIL_STORE_SQL __attribute__((used, section("mail_store_sql")))
/* The bounds of that section (the linker defines them). */
extern const char *const __start_mail_store_sql[];
extern const char *const __stop_mail_store_sql[];

/* Statements one connection keeps: more MAIL_STORE_SQL statements than
 * this aborts at startup (mail_store_stmt_warm), a programming error. */
#define MAIL_STORE_STMT_SLOTS 96

struct mail_store {
    struct store *st;
    struct mail_store_options opts;
    sqlite3 *db;
    sqlite3_stmt *live_mailboxes, *insert_mailbox, *update_mailbox, *destroy_mailbox,
        *drop_locations, *bump, *state;
    sqlite3_stmt *changes[3];  /* by enum mail_store_type */
    /* The MAIL_STORE_SQL statements, prepared when the connection opens
     * (mail_store_stmt_warm) and kept (mail_store_stmt); keyed by the
     * address of their SQL text. */
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } cache[MAIL_STORE_STMT_SLOTS];
    struct mail_backfill *backfill;     /* the cold start (mail_store_backfill.h) */
    struct mail_read_cache *read_cache; /* states and lists between writes
                                         * (mail_store_read.h) */
    struct mail_readers *readers;       /* read-only connections (idem); NULL:
                                         * the writer's reads all */
    struct mail_store_expected *expected;  /* locations the gateway made (store lock) */
    size_t n_expected;
};

/* A location a write of the gateway made for a known Email (COPYUID):
 * the next sync that sees it new gives it to that Email. */
struct mail_store_expected {
    char account_id[256];
    char email_id[MAIL_STORE_ID_MAX];
    char mailbox_id[MAIL_STORE_ID_MAX];
    uint32_t uidvalidity, uid;
};

/* The Email expected at (mailbox_id, uidvalidity, uid) of account_id into
 * email_id, forgetting the expectation; false (email_id "") when none.
 * Call with the store lock held. */
bool mail_store_take_expected(struct mail_store *ms, const char *account_id,
                              const char *mailbox_id, uint32_t uidvalidity, uint32_t uid,
                              char email_id[MAIL_STORE_ID_MAX]);

/* The prepared statement for sql (a string constant: its address is the
 * key), reset and with its bindings cleared, or NULL with err set. Call
 * with the store lock held. */
sqlite3_stmt *mail_store_stmt(struct mail_store *ms, const char *sql, struct gw_error *err);

/* Prepares every MAIL_STORE_SQL statement into ms's cache; with read_only
 * (a reader) only those that write nothing. Best effort: a statement that
 * does not prepare here (a reader lacks the writer's temp tables) is
 * prepared, or its error reported, at first use. Call with the store lock
 * held (a reader: before it is shared). */
void mail_store_stmt_warm(struct mail_store *ms, bool read_only);

/* Sets err from the connection's last error; returns -1. */
int mail_store_db_fail(struct mail_store *ms, struct gw_error *err, const char *what);

/* A fresh random id: prefix + 13 base32 characters (64 bits); out[15]. */
int mail_store_mint_id(char prefix, char out[16], struct gw_error *err);

#endif
