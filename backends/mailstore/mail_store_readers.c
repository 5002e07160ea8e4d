/* mail_store_readers.c - read-only connections for the read path
 * (mail_store_read.h). In WAL mode a reader sees the last commit and
 * never waits for the writer: a request reading the cache does not queue
 * behind a sync or a backfill batch holding the store lock for its whole
 * transaction. */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mail_store_read.h"

/* As many as the default worker pool runs requests at once. */
#define MAIL_READERS 4

struct mail_reader {
    pthread_mutex_t lock;
    struct mail_store view;     /* db: the reader; its own statement cache */
};

struct mail_readers {
    struct mail_reader r[MAIL_READERS];
    size_t n;
    atomic_uint next;
};

static void reader_close(struct mail_reader *r)
{
    for (size_t i = 0; i < sizeof(r->view.cache) / sizeof(r->view.cache[0]); i++)
        sqlite3_finalize(r->view.cache[i].st);
    sqlite3_close(r->view.db);
    pthread_mutex_destroy(&r->lock);
}

void mail_readers_close(struct mail_readers **rsp)
{
    struct mail_readers *rs = *rsp;
    if (rs == NULL)
        return;
    for (size_t i = 0; i < rs->n; i++)
        reader_close(&rs->r[i]);
    free(rs);
    *rsp = NULL;
}

int mail_readers_open(struct mail_store *ms, struct mail_readers **out, struct gw_error *err)
{
    *out = NULL;
    const char *path = sqlite3_db_filename(ms->db, "main");
    if (path == NULL || path[0] == '\0')
        return 0;   /* a temporary database has no file to share: the writer reads */
    struct mail_readers *rs = calloc(1, sizeof(*rs));
    if (rs == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
    atomic_init(&rs->next, 0);
    for (; rs->n < MAIL_READERS; rs->n++) {
        struct mail_reader *r = &rs->r[rs->n];
        pthread_mutex_init(&r->lock, NULL);
        r->view.st = ms->st;
        r->view.opts = ms->opts;
        if (sqlite3_open_v2(path, &r->view.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                            NULL) != SQLITE_OK) {
            gw_error_set(err, GW_ERR_INTERNAL, "mail store: cannot open a reader: %s",
                         r->view.db != NULL ? sqlite3_errmsg(r->view.db) : "out of memory");
            rs->n++;    /* closed with the others */
            mail_readers_close(&rs);
            return -1;
        }
        sqlite3_busy_timeout(r->view.db, 5000);
        /* A connection reads the schema before its first statement: now,
         * at startup, not on a cold request (~0.5 ms each). A later
         * schema change makes SQLite read it again when needed. */
        (void)sqlite3_exec(r->view.db, "SELECT 1 FROM sqlite_schema LIMIT 1", NULL, NULL, NULL);
        mail_store_stmt_warm(&r->view, true);
    }
    *out = rs;
    return 0;
}

struct mail_store *mail_read_acquire(struct mail_store *ms)
{
    struct mail_readers *rs = ms->readers;
    if (rs == NULL) {
        pthread_mutex_lock(store_db_lock(ms->st));
        return ms;
    }
    /* The first free one: requests one at a time always get the same
     * connection, its statements prepared and its page cache warm; only
     * concurrent requests spread out. */
    for (size_t i = 0; i < rs->n; i++) {
        struct mail_reader *r = &rs->r[i];
        if (pthread_mutex_trylock(&r->lock) == 0)
            return &r->view;
    }
    struct mail_reader *r = &rs->r[atomic_fetch_add(&rs->next, 1) % rs->n];
    pthread_mutex_lock(&r->lock);
    return &r->view;
}

void mail_read_release(struct mail_store *ms, struct mail_store *rv)
{
    if (rv == ms) {
        pthread_mutex_unlock(store_db_lock(ms->st));
        return;
    }
    /* A statement left mid-way, or a transaction left open, would hold its
     * snapshot for the next request on this connection: it would read the
     * past. Every path resets its statements; this makes sure. */
    for (sqlite3_stmt *st = sqlite3_next_stmt(rv->db, NULL); st != NULL;
         st = sqlite3_next_stmt(rv->db, st))
        if (sqlite3_stmt_busy(st))
            sqlite3_reset(st);
    if (sqlite3_get_autocommit(rv->db) == 0)
        (void)sqlite3_exec(rv->db, "ROLLBACK", NULL, NULL, NULL);
    struct mail_reader *r = (struct mail_reader *)(void *)((char *)rv -
                                                           offsetof(struct mail_reader, view));
    pthread_mutex_unlock(&r->lock);
}

uint64_t mail_read_stamp(struct mail_store *ms, struct mail_store *rv)
{
    /* The writer inside its own write transaction reads what may still be
     * rolled back (never the case on the read path, which would deadlock
     * on the store lock first). */
    if (rv == ms && sqlite3_txn_state(ms->db, NULL) == SQLITE_TXN_WRITE)
        return 0;
    /* A commit in flight may or may not be seen by the next statement. */
    uint64_t begun = 0, done = store_db_commits(ms->st, &begun);
    return begun == done ? done + 1 : 0;
}

static const char *const sql_begin MAIL_STORE_SQL = "BEGIN";
static const char *const sql_commit MAIL_STORE_SQL = "COMMIT";

bool mail_store_read_begin(struct mail_store *rv)
{
    struct gw_error ignored = { 0 };
    if (sqlite3_get_autocommit(rv->db) == 0)
        return false;   /* inside a transaction: its snapshot already holds */
    sqlite3_stmt *st = mail_store_stmt(rv, sql_begin, &ignored);
    bool began = st != NULL && sqlite3_step(st) == SQLITE_DONE;
    if (st != NULL)
        sqlite3_reset(st);
    return began;
}

void mail_store_read_end(struct mail_store *rv, bool began)
{
    struct gw_error ignored = { 0 };
    if (!began)
        return;
    sqlite3_stmt *st = mail_store_stmt(rv, sql_commit, &ignored);
    bool done = st != NULL && sqlite3_step(st) == SQLITE_DONE;
    if (st != NULL)
        sqlite3_reset(st);
    /* A read transaction left open would pin its snapshot (and the WAL)
     * for every later statement on the connection. */
    if (!done && sqlite3_get_autocommit(rv->db) == 0)
        (void)sqlite3_exec(rv->db, "ROLLBACK", NULL, NULL, NULL);
}
