/* mail_store_sync_first.c - the IMAP and database sides of the cold start
 * (mail_store_backfill.h): the first batch of a big mailbox, the rows
 * that remember what is left, and one backfill batch. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail_store_backfill.h"

static const char *const sql_row MAIL_STORE_SQL =
    "SELECT todo_below FROM mail_backfill WHERE account_id = ?1 AND mailbox_id = ?2"
    " AND uidvalidity = ?3";
static const char *const sql_insert MAIL_STORE_SQL =
    "INSERT OR REPLACE INTO mail_backfill(account_id, mailbox_id, uidvalidity, base_modseq,"
    " todo_below, cutoff, deleted_at_start) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char *const sql_progress MAIL_STORE_SQL =
    "UPDATE mail_backfill SET todo_below = ?3 WHERE account_id = ?1 AND mailbox_id = ?2";
static const char *const sql_drop MAIL_STORE_SQL =
    "DELETE FROM mail_backfill WHERE account_id = ?1 AND mailbox_id = ?2";
/* The inbox first: it is what a client opens first. */
static const char *const sql_next MAIL_STORE_SQL =
    "SELECT b.mailbox_id, m.name_raw, b.uidvalidity, b.base_modseq, b.todo_below"
    " FROM mail_backfill b LEFT JOIN mailboxes m ON m.account_id = b.account_id"
    " AND m.mailbox_id = b.mailbox_id AND m.destroyed_modseq IS NULL"
    " WHERE b.account_id = ?1 ORDER BY ifnull(m.role, '') != 'inbox', b.mailbox_id LIMIT 1";
static const char *const sql_cached_below MAIL_STORE_SQL =
    "SELECT uid FROM email_locations WHERE account_id = ?1 AND mailbox_id = ?2 AND uid < ?3"
    " ORDER BY uid";
static const char *const sql_valid MAIL_STORE_SQL =
    "SELECT 1 FROM mail_backfill b JOIN mailboxes m ON m.account_id = b.account_id"
    " AND m.mailbox_id = b.mailbox_id AND m.destroyed_modseq IS NULL"
    " AND m.uidvalidity = b.uidvalidity"
    " WHERE b.account_id = ?1 AND b.mailbox_id = ?2 AND b.uidvalidity = ?3"
    " AND b.base_modseq = ?4";
static const char *const sql_left MAIL_STORE_SQL =
    "SELECT 1 FROM mail_backfill WHERE account_id = ?1 LIMIT 1";
/* A mailbox without a backfill row that a sync has seen whole under its
 * current UIDVALIDITY is cached whole. */
static const char *const sql_cover MAIL_STORE_SQL =
    "SELECT b.mailbox_id IS NOT NULL, b.cutoff, b.deleted_at_start, m.total, m.jmap_total,"
    " m.uidvalidity != 0 AND m.synced_uidvalidity = m.uidvalidity"
    " FROM mailboxes m LEFT JOIN mail_backfill b"
    " ON b.account_id = m.account_id AND b.mailbox_id = m.mailbox_id"
    " WHERE m.account_id = ?1 AND m.mailbox_id = ?2 AND m.destroyed_modseq IS NULL";

static int nomem(struct gw_error *err)
{
    return gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
}

/* The statement for sql with the account as ?1 and mailbox_id (if any) as
 * ?2. Lock held. */
static sqlite3_stmt *prepare(struct mail_store *ms, const char *sql, const char *account_id,
                             const char *mailbox_id, struct gw_error *err)
{
    sqlite3_stmt *st = mail_store_stmt(ms, sql, err);
    if (st == NULL)
        return NULL;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    if (mailbox_id != NULL)
        sqlite3_bind_text(st, 2, mailbox_id, -1, SQLITE_STATIC);
    return st;
}

static int run(struct mail_store *ms, sqlite3_stmt *st, const char *what, struct gw_error *err)
{
    if (st == NULL)
        return -1;
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    return step == SQLITE_DONE ? 0 : mail_store_db_fail(ms, err, what);
}

int mail_backfill_todo_below(struct mail_store *ms, const char *account_id,
                             struct mail_sync_box *x, struct gw_error *err)
{
    x->todo_below = 0;
    sqlite3_stmt *st = prepare(ms, sql_row, account_id, x->id, err);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 3, x->uidvalidity);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        x->todo_below = (uint32_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0
                                                      : mail_store_db_fail(ms, err, "backfill row");
}

int mail_backfill_valid(struct mail_store *ms, const char *account_id,
                        const struct mail_sync_box *x, struct gw_error *err)
{
    sqlite3_stmt *st = prepare(ms, sql_valid, account_id, x->id, err);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 3, x->uidvalidity);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)x->backfill_base);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return mail_store_db_fail(ms, err, "backfill check");
    return step == SQLITE_ROW;
}

int mail_backfill_rows_left(struct mail_store *ms, const char *account_id, bool *left,
                            struct gw_error *err)
{
    sqlite3_stmt *st = prepare(ms, sql_left, account_id, NULL, err);
    if (st == NULL)
        return -1;
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    *left = step == SQLITE_ROW;
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0
                                                      : mail_store_db_fail(ms, err, "backfill rows");
}

int mail_backfill_cover(struct mail_store *ms, const char *account_id, const char *mailbox_id,
                        struct mail_backfill_cover *c, struct gw_error *err)
{
    bool usable = false;
    memset(c, 0, sizeof(*c));
    sqlite3_stmt *st = prepare(ms, sql_cover, account_id, mailbox_id, err);
    if (st == NULL)
        return -1;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW && sqlite3_column_int(st, 0) != 0) {
        /* Being backfilled: usable once its first batch came from SORT. */
        usable = sqlite3_column_type(st, 1) != SQLITE_NULL;
        c->cutoff = sqlite3_column_int64(st, 1);
        c->deleted_at_start = (uint32_t)sqlite3_column_int64(st, 2);
        c->total = (uint32_t)sqlite3_column_int64(st, 3);
    } else if (step == SQLITE_ROW && sqlite3_column_int(st, 5) != 0) {
        usable = c->whole = true;
        c->cutoff = INT64_MIN;
        c->total = (uint32_t)sqlite3_column_int64(st, 4);
    }
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return mail_store_db_fail(ms, err, "backfill cover");
    return usable;
}

/* ---- The first batch -------------------------------------------------- */

int mail_backfill_first_batch(const struct mail_store *ms, struct mail_backend *b,
                              struct mail_sync_box *x,
                              const struct backend_selected *sel, struct gw_error *err)
{
    uint32_t *uids = NULL;
    size_t n = 0;
    int rc = -1;
    if (sel->exists <= MAIL_BACKFILL_FIRST_BATCH || sel->uidnext == 0)
        return 0;
    x->first_batch = true;
    x->todo_below = sel->uidnext;
    x->deleted_at_start = UINT32_MAX;
    /* The inbox is what a client opens first; every other big mailbox
     * waits for the worker, which does the inbox first, so the first
     * request pays for one mailbox only. */
    if (strcasecmp(x->name_raw, "INBOX") != 0)
        return 1;
    /* receivedAt is INTERNALDATE, not uid order: with SORT the batch is
     * exactly the newest by arrival, which makes the early page exact. */
    bool sorted = backend_has_capability(b, "SORT");
    if (sorted) {
        struct backend_sort_key key = { .key = BACKEND_SORT_ARRIVAL, .reverse = true };
        struct backend_search deleted = { .op = BACKEND_SEARCH_KEYWORD, .text = "\\Deleted" };
        struct backend_search live = { .op = BACKEND_SEARCH_NOT, .children = &deleted,
                                       .n_children = 1 };
        if (backend_uid_sort(b, &key, 1, &live, &uids, &n, err) < 0)
            goto out;
    } else {
        struct backend_search all = { .op = BACKEND_SEARCH_ALL };
        if (backend_uid_search(b, &all, &uids, &n, err) < 0)
            goto out;
    }
    if (n <= MAIL_BACKFILL_FIRST_BATCH) {
        x->first_batch = false;     /* mostly \Deleted: small enough to sync whole */
        x->todo_below = 0;
        rc = 0;
        goto out;
    }
    const uint32_t *pick = sorted ? uids : uids + (n - MAIL_BACKFILL_FIRST_BATCH);
    if (mail_sync_fetch_fresh(ms, b, x, pick, MAIL_BACKFILL_FIRST_BATCH, err) < 0)
        goto out;
    if (sorted && n <= sel->exists)
        x->deleted_at_start = sel->exists - (uint32_t)n;
    /* Every message SORT left out arrived no later than the oldest one it
     * gave (one that vanished since only raises the minimum). */
    x->has_cutoff = sorted && x->n_fresh > 0;
    for (size_t i = 0; x->has_cutoff && i < x->n_fresh; i++)
        if (i == 0 || (int64_t)x->fresh[i]->internaldate < x->cutoff)
            x->cutoff = (int64_t)x->fresh[i]->internaldate;
    rc = 1;
out:
    free(uids);
    return rc;
}

int mail_backfill_note(struct mail_store *ms, const char *account_id,
                       const struct mail_sync_box *x, uint64_t modseq, struct gw_error *err)
{
    sqlite3_stmt *st;
    if (x->first_batch) {
        st = prepare(ms, sql_insert, account_id, x->id, err);
        if (st == NULL)
            return -1;
        sqlite3_bind_int64(st, 3, x->uidvalidity);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)modseq);
        sqlite3_bind_int64(st, 5, x->todo_below);
        if (x->has_cutoff)
            sqlite3_bind_int64(st, 6, x->cutoff);
        sqlite3_bind_int64(st, 7, x->deleted_at_start);
        return run(ms, st, "backfill start", err);
    }
    if (x->backfill_base != 0 && x->todo_below != 0) {
        st = prepare(ms, sql_progress, account_id, x->id, err);
        if (st != NULL)
            sqlite3_bind_int64(st, 3, x->todo_below);
        return run(ms, st, "backfill progress", err);
    }
    if (x->backfill_base != 0 || x->uidvalidity_changed)
        return run(ms, prepare(ms, sql_drop, account_id, x->id, err), "backfill done", err);
    return 0;
}

/* ---- One backfill batch ----------------------------------------------- */

/* The uids of the box cached below todo_below (the first batch's). */
static int cached_below(struct mail_store *ms, const char *account_id, struct mail_sync_box *x,
                        struct gw_error *err)
{
    sqlite3_stmt *st = prepare(ms, sql_cached_below, account_id, x->id, err);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 3, x->todo_below);
    return mail_sync_collect_known(ms, st, x, "cached uids", err);
}

/* The next row to work on into x; 0 when none. Lock held. */
static int next_row(struct mail_store *ms, const char *account_id, struct mail_sync_box *x,
                    bool *gone, struct gw_error *err)
{
    sqlite3_stmt *st = prepare(ms, sql_next, account_id, NULL, err);
    if (st == NULL)
        return -1;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        snprintf(x->id, sizeof(x->id), "%s", (const char *)sqlite3_column_text(st, 0));
        *gone = sqlite3_column_type(st, 1) == SQLITE_NULL;
        x->name_raw = *gone ? NULL : strdup((const char *)sqlite3_column_text(st, 1));
        x->uidvalidity = (uint32_t)sqlite3_column_int64(st, 2);
        x->backfill_base = (uint64_t)sqlite3_column_int64(st, 3);
        x->todo_below = (uint32_t)sqlite3_column_int64(st, 4);
    }
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return mail_store_db_fail(ms, err, "next backfill");
    if (step == SQLITE_ROW && !*gone && x->name_raw == NULL)
        return nomem(err);
    return step == SQLITE_ROW;
}

static int drop_row(struct mail_store *ms, const char *account_id, const char *mailbox_id,
                    struct gw_error *err)
{
    pthread_mutex_lock(store_db_lock(ms->st));
    int rc = run(ms, prepare(ms, sql_drop, account_id, mailbox_id, err), "backfill drop", err);
    pthread_mutex_unlock(store_db_lock(ms->st));
    return rc;
}

/* Of the uids on the server below todo_below and not cached, the highest
 * MAIL_BACKFILL_BATCH are fetched; todo_below drops to the lowest of
 * them, or to 0 (done) when they were the last: what the last slice
 * writes. */
static int fetch_batch(const struct mail_store *ms, struct mail_backend *b, struct mail_sync_box *x,
                       struct gw_error *err)
{
    size_t n_pending = 0;
    uint32_t *pending = malloc((x->n_current + 1) * sizeof(*pending));
    if (pending == NULL)
        return nomem(err);
    size_t j = 0;
    for (size_t i = 0; i < x->n_current && x->current[i] < x->todo_below; i++) {
        while (j < x->n_known && x->known[j] < x->current[i])
            j++;
        if (j >= x->n_known || x->known[j] != x->current[i])
            pending[n_pending++] = x->current[i];
    }
    size_t take = n_pending < MAIL_BACKFILL_BATCH ? n_pending : MAIL_BACKFILL_BATCH;
    const uint32_t *batch = pending + (n_pending - take);
    x->todo_below = take < n_pending ? batch[0] : 0;
    int rc = mail_sync_fetch_fresh(ms, b, x, batch, take, err);
    free(pending);
    return rc;
}

static int newest_first(const void *p, const void *q)
{
    uint32_t u = (*(struct backend_message_summary *const *)p)->uid;
    uint32_t v = (*(struct backend_message_summary *const *)q)->uid;
    return u < v ? 1 : u > v ? -1 : 0;
}

/* Writes the fetched batch MAIL_BACKFILL_SLICE messages per transaction,
 * newest uid first. Each slice lowers todo_below to its lowest uid (the
 * last one to the batch's mark): every uid at or above it is then cached
 * or skipped, so what a concurrent sync takes as its own and where a
 * restart resumes are right after any slice. 1, or -1 with err. */
static int apply_slices(struct mail_store *ms, const char *account_id, struct mail_sync_box *x,
                        const struct mail_backfill_pace *pace, struct gw_error *err)
{
    uint32_t batch_below = x->todo_below;
    size_t at = 0;
    qsort(x->fresh, x->n_fresh, sizeof(*x->fresh), newest_first);
    do {    /* at least once: an empty batch still records its progress */
        struct mail_sync_box slice = *x;    /* borrows x's arrays */
        size_t n = x->n_fresh - at < MAIL_BACKFILL_SLICE ? x->n_fresh - at : MAIL_BACKFILL_SLICE;
        slice.fresh = x->fresh + at;
        slice.n_fresh = slice.cap_fresh = n;
        at += n;
        slice.todo_below = at < x->n_fresh ? x->fresh[at - 1]->uid : batch_below;
        if (mail_store_email_apply(ms, account_id, &slice, 1, err) < 0)
            return -1;
        if (slice.stale)
            break;  /* the mailbox changed meanwhile: the next step sees how */
    } while (at < x->n_fresh && pace->between(pace->ctx));
    return 1;
}

int mail_backfill_step(struct mail_store *ms, const char *account_id, struct mail_backend *b,
                       const struct mail_backfill_pace *pace, struct gw_error *err)
{
    struct mail_sync_box x;
    struct backend_selected *sel = NULL;
    bool gone = false;
    memset(&x, 0, sizeof(x));
    pthread_mutex_lock(store_db_lock(ms->st));
    int rc = next_row(ms, account_id, &x, &gone, err);
    pthread_mutex_unlock(store_db_lock(ms->st));
    if (rc <= 0)
        goto out;
    if (gone) {     /* the mailbox was deleted: nothing left to fetch */
        rc = drop_row(ms, account_id, x.id, err) < 0 ? -1 : 1;
        goto out;
    }
    rc = -1;
    struct backend_select_req req = { .name_raw = x.name_raw, .read_only = true };
    if (backend_select(b, &req, &sel, err) < 0) {
        if (err->code == GW_ERR_NOTFOUND) {
            gw_error_clear(err);
            rc = drop_row(ms, account_id, x.id, err) < 0 ? -1 : 1;
        }
        goto out;
    }
    if (sel->uidvalidity != x.uidvalidity) {
        /* Reset behind our back: the next sync starts the mailbox over. */
        rc = drop_row(ms, account_id, x.id, err) < 0 ? -1 : 1;
        goto out;
    }
    struct backend_search all = { .op = BACKEND_SEARCH_ALL };
    if (backend_uid_search(b, &all, &x.current, &x.n_current, err) < 0)
        goto out;
    pthread_mutex_lock(store_db_lock(ms->st));
    rc = cached_below(ms, account_id, &x, err);
    pthread_mutex_unlock(store_db_lock(ms->st));
    if (rc < 0 || fetch_batch(ms, b, &x, err) < 0) {
        rc = -1;
        goto out;
    }
    /* known was only the filter above: the apply step must not read the
     * batch's mailbox as a diff against it. */
    free(x.known);
    x.known = NULL;
    x.n_known = 0;
    rc = apply_slices(ms, account_id, &x, pace, err);
out:
    backend_selected_free(&sel);
    mail_sync_box_clear(&x);
    return rc;
}
