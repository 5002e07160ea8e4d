/* mail_store_backfill.c - the background half of the cold start
 * (mail_store_backfill.h, include/mail_store.h "Cold start"): one worker
 * thread per account with mailboxes left to fetch, and the wait of the
 * methods whose answer needs every message. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_log.h"
#include "../net/net.h"
#include "mail_store_backfill.h"

/* How long a method waits for the backfill before serverUnavailable. */
#define BACKFILL_WAIT_S 60
/* Upper bound of batches one worker runs (a 1,000,000-message account
 * needs 2,000): a broken invariant must not spin forever. */
#define BACKFILL_MAX_STEPS 100000u
/* The test hook (JMAPGW_BACKFILL_HOLD) holds a batch at most this long. */
#define BACKFILL_HOLD_MAX_MS 60000
/* Slices between two checkpoints of ours: a slice of 32 messages writes
 * ~365 WAL pages (random Email ids: a new leaf per index and message), so
 * two stay below SQLite's autocheckpoint (1,000 pages) and our copy is
 * the only one. Every slice (measured at 30,000): the same lock times but
 * 34 s instead of 28 s of backfill, each copy paying its fsyncs and the
 * WAL restart after it its header sync; none: 16% of the slices commit in
 * over 20 ms, 19 s. */
#define BACKFILL_CKPT_SLICES 2
/* The pause between two slices for the requests they held up: a woken
 * thread runs within tens of microseconds; 30,000 messages take ~1,000
 * slices, so this adds 0.2 s to their backfill. */
#define BACKFILL_YIELD_US 200

static const char *const sql_table =
    "CREATE TABLE IF NOT EXISTS mail_backfill(account_id TEXT NOT NULL,"
    " mailbox_id TEXT NOT NULL, uidvalidity INTEGER NOT NULL, base_modseq INTEGER NOT NULL,"
    " todo_below INTEGER NOT NULL, cutoff INTEGER, deleted_at_start INTEGER NOT NULL,"
    " PRIMARY KEY(account_id, mailbox_id))";

struct bf_account {
    struct bf_account *next;
    char *account_id;
    struct mail_backfill *r;
    struct backend_pool *pool;  /* borrowed: the account stops us before freeing it */
    pthread_t thread;
    bool joinable, running, stop;
    bool pending;               /* rows left (as the last sync or batch saw) */
    unsigned batches;           /* written since the worker started */
    unsigned slices;            /* of the batch being written, committed */
};

struct mail_backfill {
    struct mail_store *ms;
    pthread_mutex_t lock;       /* the list and every entry's flags */
    pthread_cond_t changed;     /* CLOCK_MONOTONIC; any flag or batch count moved */
    struct bf_account *accounts;
    char *hold_path;            /* test hook, see mail_store.h */
    bool off;                   /* JMAPGW_COLD_START=0: whole syncs only */
    pthread_mutex_t ckpt_lock;  /* ckpt and db_path */
    char *db_path;              /* the store's file; NULL: no checkpoints of ours */
    sqlite3 *ckpt;              /* our own connection to it, opened on first use */
};

int mail_backfill_new(struct mail_store *ms, struct mail_backfill **out, struct gw_error *err)
{
    *out = NULL;
    struct mail_backfill *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
    r->ms = ms;
    const char *cold = getenv("JMAPGW_COLD_START");
    r->off = cold != NULL && strcmp(cold, "0") == 0;
    const char *hold = getenv("JMAPGW_BACKFILL_HOLD");
    if (hold != NULL && *hold != '\0' && (r->hold_path = strdup(hold)) == NULL) {
        free(r);
        return gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&r->changed, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_init(&r->ckpt_lock, NULL);
    pthread_mutex_lock(store_db_lock(ms->st));
    int rc = sqlite3_exec(ms->db, sql_table, NULL, NULL, NULL);
    const char *path = sqlite3_db_filename(ms->db, "main");
    if (path != NULL && *path != '\0' && (r->db_path = strdup(path)) == NULL)
        rc = SQLITE_NOMEM;
    pthread_mutex_unlock(store_db_lock(ms->st));
    if (rc != SQLITE_OK) {
        mail_store_db_fail(ms, err, "backfill table");
        mail_backfill_free(&r);
        return -1;
    }
    *out = r;
    return 0;
}

static struct bf_account *find(struct mail_backfill *r, const char *account_id)
{
    for (struct bf_account *a = r->accounts; a != NULL; a = a->next)
        if (strcmp(a->account_id, account_id) == 0)
            return a;
    return NULL;
}

/* The account's entry, made on first use. Lock held. */
static struct bf_account *entry(struct mail_backfill *r, const char *account_id)
{
    struct bf_account *a = find(r, account_id);
    if (a != NULL)
        return a;
    if ((a = calloc(1, sizeof(*a))) == NULL || (a->account_id = strdup(account_id)) == NULL) {
        free(a);
        return NULL;
    }
    a->r = r;
    a->next = r->accounts;
    r->accounts = a;
    return a;
}

/* The test hook: while the file names a point "N [S]" (S slices into
 * the batch after N batches, 0 when left out) the worker has reached, it
 * waits (bounded) there: before the next batch, or between slices. Lock
 * held. */
static void hold(struct bf_account *a)
{
    struct mail_backfill *r = a->r;
    for (long waited = 0; r->hold_path != NULL && !a->stop && waited < BACKFILL_HOLD_MAX_MS;
         waited += 20) {
        FILE *f = fopen(r->hold_path, "r");
        if (f == NULL)
            return;
        unsigned batches = 0, slices = 0;
        int got = fscanf(f, "%u %u", &batches, &slices);
        fclose(f);
        if (got < 1)
            batches = 0;
        if (got < 2)
            slices = 0;
        if (a->batches < batches || (a->batches == batches && a->slices < slices))
            return;
        struct timespec ts;
        net_deadline_in(&ts, 20);
        pthread_cond_timedwait(&r->changed, &r->lock, &ts);
    }
}

/* Copies what the last slices wrote from the WAL into the database, on a
 * connection of our own and outside the store lock. Left to the store's
 * connection, that copy (and its fsync) happens inside a commit once the
 * WAL passes 1,000 pages: every third slice or so, 10-25 ms each under
 * the lock. Any failure (BUSY: a checkpoint is running already) leaves it
 * to the store's connection as before. */
static void checkpoint(struct mail_backfill *r)
{
    pthread_mutex_lock(&r->ckpt_lock);
    /* The query reads the file: until then the connection does not know
     * the WAL, and checkpoints nothing. */
    if (r->ckpt == NULL && r->db_path != NULL &&
        (sqlite3_open_v2(r->db_path, &r->ckpt, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                         NULL) != SQLITE_OK ||
         sqlite3_exec(r->ckpt, "PRAGMA journal_mode", NULL, NULL, NULL) != SQLITE_OK)) {
        gw_log_warn("backfill: no checkpoint connection: %s", sqlite3_errmsg(r->ckpt));
        sqlite3_close(r->ckpt);
        r->ckpt = NULL;
        free(r->db_path);   /* tried once */
        r->db_path = NULL;
    }
    if (r->ckpt != NULL)
        (void)sqlite3_wal_checkpoint_v2(r->ckpt, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    pthread_mutex_unlock(&r->ckpt_lock);
}

/* The slice just committed released the store lock and woke a request
 * waiting for it, but the woken thread needs a moment to run while this
 * one would take the lock back at once for the next slice: it sleeps
 * that moment first (often already spent in checkpoint()). */
static void let_requests_in(void)
{
    struct timespec ts = { .tv_sec = 0, .tv_nsec = BACKFILL_YIELD_US * 1000L };
    nanosleep(&ts, NULL);
}

/* Between two slices of a batch (mail_backfill_pace): the test hook, the
 * stop flag, then the pause that lets requests in. */
static bool between_slices(void *ctx)
{
    struct bf_account *a = ctx;
    struct mail_backfill *r = a->r;
    pthread_mutex_lock(&r->lock);
    a->slices++;
    hold(a);
    bool go = !a->stop;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    if (a->slices % BACKFILL_CKPT_SLICES == 0)
        checkpoint(r);
    if (go)
        let_requests_in();
    return go;
}

static void *worker(void *arg)
{
    struct bf_account *a = arg;
    struct mail_backfill *r = a->r;
    struct gw_error err = { 0 };
    struct mail_backfill_pace pace = { .between = between_slices, .ctx = a };
    for (unsigned step = 0; step < BACKFILL_MAX_STEPS; step++) {
        pthread_mutex_lock(&r->lock);
        hold(a);
        bool stop = a->stop;
        pthread_mutex_unlock(&r->lock);
        if (stop)
            break;
        struct mail_backend *b = NULL;
        int rc = -1;
        if (backend_pool_acquire(a->pool, &b, &err) == 0) {
            rc = mail_backfill_step(r->ms, a->account_id, b, &pace, &err);
            backend_pool_release(a->pool, &b);
            checkpoint(r);
        }
        pthread_mutex_lock(&r->lock);
        a->batches += rc > 0;
        a->slices = 0;
        if (rc == 0)
            a->pending = false;
        pthread_cond_broadcast(&r->changed);
        pthread_mutex_unlock(&r->lock);
        if (rc < 0)
            gw_log_warn("account %s: backfill stopped: %s", a->account_id, err.msg);
        if (rc <= 0)
            break;
    }
    pthread_mutex_lock(&r->lock);
    a->running = false;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* Starts the worker when rows are left and none runs. Lock held. */
static void start(struct bf_account *a, struct backend_pool *pool)
{
    if (!a->pending || a->running || a->stop || pool == NULL)
        return;
    if (a->joinable) {  /* finished: it touches nothing of ours any more */
        pthread_join(a->thread, NULL);
        a->joinable = false;
    }
    a->pool = pool;
    a->batches = 0;
    a->running = true;
    if (pthread_create(&a->thread, NULL, worker, a) != 0) {
        a->running = false;
        gw_log_warn("account %s: cannot start the backfill thread", a->account_id);
        return;
    }
    a->joinable = true;
}

int mail_store_sync_cold(struct mail_store *ms, const char *account_id, struct mail_backend *b,
                         struct backend_pool *pool, const struct mail_sync_listing *listing,
                         struct gw_error *err)
{
    struct mail_backfill *r = ms->backfill;
    pthread_mutex_lock(&r->lock);
    struct bf_account *a = entry(r, account_id);
    pthread_mutex_unlock(&r->lock);
    if (a == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
    bool left = false;
    int rc = mail_sync_run(ms, account_id, b, !r->off, listing, err);
    if (rc == 0) {
        pthread_mutex_lock(store_db_lock(ms->st));
        rc = mail_backfill_rows_left(ms, account_id, &left, err);
        pthread_mutex_unlock(store_db_lock(ms->st));
    }
    if (rc < 0)
        return -1;
    pthread_mutex_lock(&r->lock);
    a->pending = left;
    start(a, pool);
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

static void stop_entry(struct mail_backfill *r, struct bf_account *a)
{
    /* Unlinked first: nobody finds it while it is being joined. */
    for (struct bf_account **pp = &r->accounts; *pp != NULL; pp = &(*pp)->next)
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    a->stop = true;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    if (a->joinable)
        pthread_join(a->thread, NULL);
    free(a->account_id);
    free(a);
    pthread_mutex_lock(&r->lock);
}

void mail_store_backfill_stop(struct mail_store *ms, const char *account_id)
{
    struct mail_backfill *r = ms != NULL ? ms->backfill : NULL;
    if (r == NULL || account_id == NULL)
        return;
    pthread_mutex_lock(&r->lock);
    struct bf_account *a = find(r, account_id);
    if (a != NULL)
        stop_entry(r, a);
    pthread_mutex_unlock(&r->lock);
}

void mail_backfill_free(struct mail_backfill **rp)
{
    struct mail_backfill *r = *rp;
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->lock);
    while (r->accounts != NULL)
        stop_entry(r, r->accounts);
    pthread_mutex_unlock(&r->lock);
    pthread_cond_destroy(&r->changed);
    pthread_mutex_destroy(&r->lock);
    sqlite3_close(r->ckpt);
    pthread_mutex_destroy(&r->ckpt_lock);
    free(r->db_path);
    free(r->hold_path);
    free(r);
    *rp = NULL;
}

bool mail_store_backfill_pending(struct mail_store *ms, const char *account_id)
{
    struct mail_backfill *r = ms->backfill;
    pthread_mutex_lock(&r->lock);
    struct bf_account *a = find(r, account_id);
    bool pending = a != NULL && a->pending;
    pthread_mutex_unlock(&r->lock);
    return pending;
}

int mail_store_backfill_wait(struct mail_store *ms, const char *account_id, struct gw_error *err)
{
    struct mail_backfill *r = ms->backfill;
    struct timespec deadline;
    int rc = 0;
    net_deadline_in(&deadline, BACKFILL_WAIT_S * 1000L);
    pthread_mutex_lock(&r->lock);
    for (;;) {
        struct bf_account *a = find(r, account_id);
        if (a == NULL || !a->pending)
            break;
        if (!a->running || a->stop) {
            rc = gw_error_set(err, GW_ERR_UNAVAILABLE,
                              "mail store: the cache of this account is incomplete");
            break;
        }
        if (pthread_cond_timedwait(&r->changed, &r->lock, &deadline) == ETIMEDOUT) {
            rc = gw_error_set(err, GW_ERR_UNAVAILABLE,
                              "mail store: the cache of this account is still being filled");
            break;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}
