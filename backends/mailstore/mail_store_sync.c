/* mail_store_sync.c - the email sync's IMAP side (include/mail_store.h,
 * mail_store_sync): which mailboxes changed, and per changed mailbox one
 * SELECT (QRESYNC when offered), one UID SEARCH ALL, at most one FLAGS
 * fetch (skipped with QRESYNC) and one batched summary FETCH of the new
 * uids. Nothing here holds the store lock across IMAP I/O. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail_store_backfill.h"
#include "mail_store_sync_internal.h"

#define BACKFILL_RUNNING                                                                \
    "EXISTS (SELECT 1 FROM mail_backfill b WHERE b.account_id = m.account_id"           \
    "   AND b.mailbox_id = m.mailbox_id AND b.uidvalidity = m.synced_uidvalidity)"
static const char *const sql_boxes MAIL_STORE_SQL =
    "SELECT m.mailbox_id, m.name_raw, m.uidvalidity, m.uidnext, m.highestmodseq, m.total,"
    " m.synced_uidvalidity, m.synced_uidnext, m.synced_highestmodseq,"
    /* The count scans every location of the mailbox (most of a dirty
     * sync's cost on a big one), and only decides when the status alone
     * says quiet and no backfill runs: else -1, never compared. */
    " CASE WHEN m.synced_uidvalidity = m.uidvalidity AND m.synced_uidnext = m.uidnext"
    "   AND m.synced_highestmodseq = m.highestmodseq AND m.highestmodseq != 0"
    "   AND NOT " BACKFILL_RUNNING
    " THEN (SELECT count(*) FROM email_locations l WHERE l.account_id = m.account_id"
    "   AND l.mailbox_id = m.mailbox_id) ELSE -1 END,"
    " " BACKFILL_RUNNING
    " FROM mailboxes m WHERE m.account_id = ?1 AND m.destroyed_modseq IS NULL"
    " AND m.uidvalidity != 0";
static const char *const sql_any_box MAIL_STORE_SQL =
    "SELECT 1 FROM mailboxes WHERE account_id = ?1 LIMIT 1";
static const char *const sql_known MAIL_STORE_SQL =
    "SELECT uid FROM email_locations WHERE account_id = ?1 AND mailbox_id = ?2 ORDER BY uid";

static const char *const header_fields[] = { MAIL_STORE_HEADER_FIELDS };

static int nomem(struct gw_error *err)
{
    return gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
}

void mail_sync_box_clear(struct mail_sync_box *x)
{
    free(x->name_raw);
    free(x->known);
    free(x->current);
    for (size_t i = 0; i < x->n_flags; i++)
        backend_flags_clear(&x->flags[i].flags);
    free(x->flags);
    for (size_t i = 0; i < x->n_fresh; i++)
        backend_message_summary_free(&x->fresh[i]);
    free(x->fresh);
}

/* The uids the cache holds for one mailbox. Lock held. */
static int load_known(struct mail_store *ms, const char *account_id, struct mail_sync_box *x,
                      struct gw_error *err)
{
    sqlite3_stmt *st = mail_store_stmt(ms, sql_known, err);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, x->id, -1, SQLITE_STATIC);
    return mail_sync_collect_known(ms, st, x, "known uids", err);
}

int mail_sync_collect_known(struct mail_store *ms, sqlite3_stmt *st, struct mail_sync_box *x,
                            const char *what, struct gw_error *err)
{
    size_t cap = x->n_known;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (x->n_known == cap) {
            cap = cap ? cap * 2 : 64;
            uint32_t *nv = realloc(x->known, cap * sizeof(*nv));
            if (nv == NULL) {
                sqlite3_reset(st);
                return nomem(err);
            }
            x->known = nv;
        }
        x->known[x->n_known++] = (uint32_t)sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    return step == SQLITE_DONE ? 0 : mail_store_db_fail(ms, err, what);
}

/* The mailboxes whose IMAP status differs from what the cache last saw
 * (no CONDSTORE: always), with their cached uids. */
static int pick_boxes(struct mail_store *ms, const char *account_id, struct mail_sync_box **out,
                      size_t *n_out, struct gw_error *err)
{
    struct mail_sync_box *v = NULL;
    size_t n = 0, cap = 0;
    int rc = -1, step;
    pthread_mutex_lock(store_db_lock(ms->st));
    sqlite3_stmt *st = mail_store_stmt(ms, sql_boxes, err);
    if (st == NULL)
        goto out;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        uint32_t uidvalidity = (uint32_t)sqlite3_column_int64(st, 2);
        uint32_t uidnext = (uint32_t)sqlite3_column_int64(st, 3);
        uint64_t modseq = (uint64_t)sqlite3_column_int64(st, 4);
        uint32_t total = (uint32_t)sqlite3_column_int64(st, 5);
        /* While a mailbox is backfilled its cached count is short by
         * design; once done, a count that differs (a message a batch
         * inserted as a concurrent sync saw it go) makes it not quiet. */
        bool quiet = (uint32_t)sqlite3_column_int64(st, 6) == uidvalidity &&
                     (uint32_t)sqlite3_column_int64(st, 7) == uidnext &&
                     (uint64_t)sqlite3_column_int64(st, 8) == modseq && modseq != 0 &&
                     ((uint32_t)sqlite3_column_int64(st, 9) == total ||
                      sqlite3_column_int(st, 10) != 0);
        if (quiet)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            struct mail_sync_box *nv = realloc(v, cap * sizeof(*nv));
            if (nv == NULL) {
                nomem(err);
                sqlite3_reset(st);
                goto out;
            }
            v = nv;
        }
        struct mail_sync_box *x = &v[n++];
        memset(x, 0, sizeof(*x));
        snprintf(x->id, sizeof(x->id), "%s", (const char *)sqlite3_column_text(st, 0));
        x->name_raw = strdup((const char *)sqlite3_column_text(st, 1));
        x->status = (struct backend_selected){ .uidvalidity = uidvalidity, .uidnext = uidnext,
                                               .exists = total, .highestmodseq = modseq };
        x->uidvalidity = (uint32_t)sqlite3_column_int64(st, 6);   /* the synced one */
        x->highestmodseq = (uint64_t)sqlite3_column_int64(st, 8);
        if (x->name_raw == NULL) {
            nomem(err);
            sqlite3_reset(st);
            goto out;
        }
    }
    sqlite3_reset(st);
    if (step != SQLITE_DONE) {
        mail_store_db_fail(ms, err, "changed mailboxes");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (load_known(ms, account_id, &v[i], err) < 0 ||
            mail_backfill_todo_below(ms, account_id, &v[i], err) < 0)
            goto out;
    rc = 0;
out:
    pthread_mutex_unlock(store_db_lock(ms->st));
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            mail_sync_box_clear(&v[i]);
        free(v);
        return -1;
    }
    *out = v;
    *n_out = n;
    return 0;
}

static int keep_flags(void *ctx, struct backend_message_summary **m, struct gw_error *err)
{
    struct mail_sync_box *x = ctx;
    if (x->n_flags == x->cap_flags) {
        x->cap_flags = x->cap_flags ? x->cap_flags * 2 : 64;
        struct backend_msg_change *nv = realloc(x->flags, x->cap_flags * sizeof(*nv));
        if (nv == NULL)
            return nomem(err);
        x->flags = nv;
    }
    struct backend_msg_change *c = &x->flags[x->n_flags++];
    c->uid = (*m)->uid;
    c->modseq = (*m)->modseq;
    c->flags = (*m)->flags;       /* stolen */
    (*m)->flags = (struct backend_flags){ 0 };
    return 0;
}

static int keep_fresh(void *ctx, struct backend_message_summary **m, struct gw_error *err)
{
    struct mail_sync_box *x = ctx;
    if (x->n_fresh == x->cap_fresh) {
        x->cap_fresh = x->cap_fresh ? x->cap_fresh * 2 : 64;
        struct backend_message_summary **nv = realloc(x->fresh, x->cap_fresh * sizeof(*nv));
        if (nv == NULL)
            return nomem(err);
        x->fresh = nv;
    }
    x->fresh[x->n_fresh++] = *m;
    *m = NULL;
    return 0;
}

/* Sorted-set difference a - b into a new array. */
static int uid_difference(const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                          uint32_t **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (na == 0)
        return 0;
    uint32_t *v = malloc(na * sizeof(*v));
    if (v == NULL)
        return -1;
    size_t n = 0, j = 0;
    for (size_t i = 0; i < na; i++) {
        while (j < nb && b[j] < a[i])
            j++;
        if (j >= nb || b[j] != a[i])
            v[n++] = a[i];
    }
    *out = v;
    *n_out = n;
    return 0;
}

int mail_sync_fetch_fresh(const struct mail_store *ms, struct mail_backend *b,
                          struct mail_sync_box *x, const uint32_t *uids, size_t n,
                          struct gw_error *err)
{
    if (n == 0)
        return 0;
    /* Only what the cache keeps: no MODSEQ (SELECT gives the mailbox's),
     * no ENVELOPE (the header block has it all, undecoded). */
    struct backend_fetch_req fr = {
        .uids = uids, .n_uids = n,
        .items = BACKEND_FETCH_FLAGS | BACKEND_FETCH_INTERNALDATE | BACKEND_FETCH_SIZE |
                 BACKEND_FETCH_BODYSTRUCTURE | BACKEND_FETCH_PREVIEW | BACKEND_FETCH_HEADERS |
                 BACKEND_FETCH_OBJECTID | (ms->opts.ignore_xguid ? 0 : BACKEND_FETCH_GUID),
        .header_fields = header_fields,
        .n_header_fields = sizeof(header_fields) / sizeof(header_fields[0]),
    };
    return backend_fetch_summaries(b, &fr, keep_fresh, x, err);
}

/* Uids below x->todo_below are the backfill's (mail_store_backfill.h):
 * drops them from the n sorted fresh ones, returns how many are left. */
static size_t leave_backfill(const struct mail_sync_box *x, uint32_t *fresh, size_t n)
{
    size_t skip = 0;
    if (x->todo_below == 0)
        return n;
    while (skip < n && fresh[skip] < x->todo_below)
        skip++;
    memmove(fresh, fresh + skip, (n - skip) * sizeof(*fresh));
    return n - skip;
}

/* Takes the mailbox's numbers from its status instead of a SELECT when
 * that alone settles it: nothing of it is cached and it is empty, or
 * (cold) it is big and not the inbox, so all of it is the backfill's.
 * Returns true when x needs nothing more from the server. A message that
 * arrives after the LIST-STATUS raises UIDNEXT past the one recorded here,
 * so the next sync looks again. */
static bool settled_by_status(const struct mail_store *ms, struct mail_sync_box *x, bool cold)
{
    const struct backend_selected *st = &x->status;
    if (x->n_known > 0 || x->todo_below != 0 || st->uidvalidity == 0)
        return false;
    bool empty = st->exists == 0;
    bool deferred = cold && st->exists > MAIL_BACKFILL_FIRST_BATCH && st->uidnext != 0 &&
                    strcasecmp(x->name_raw, "INBOX") != 0;
    if (!empty && !deferred)
        return false;
    x->uidvalidity_changed = st->uidvalidity != x->uidvalidity;
    x->uidvalidity = st->uidvalidity;
    x->uidnext = st->uidnext;
    x->highestmodseq = st->highestmodseq;
    /* Not the inbox, big: the first batch only records what the
     * backfill will fetch, sends nothing, and returns 1. */
    if (deferred)
        mail_backfill_first_batch(ms, NULL, x, st, NULL);
    return true;
}

/* The IMAP side for one changed mailbox; cold: a big mailbox new to the
 * cache gets only its first batch. */
static int fetch_box(struct mail_store *ms, struct mail_backend *b, struct mail_sync_box *x,
                     bool cold, struct gw_error *err)
{
    struct backend_selected *sel = NULL;
    uint32_t *fresh = NULL;
    size_t n_fresh = 0;
    int rc = -1;
    if (settled_by_status(ms, x, cold))
        return 0;
    struct backend_select_req req = { .name_raw = x->name_raw, .read_only = true };
    bool qresync = x->uidvalidity != 0 && x->highestmodseq != 0 && x->n_known > 0;
    if (qresync) {
        req.known_uidvalidity = x->uidvalidity;
        req.known_modseq = x->highestmodseq;
        req.known_uids = x->known;
        req.n_known_uids = x->n_known;
    }
    uint64_t synced_modseq = x->highestmodseq;
    if (backend_select(b, &req, &sel, err) < 0)
        goto out;
    x->uidvalidity_changed = sel->uidvalidity != x->uidvalidity;
    x->uidvalidity = sel->uidvalidity;
    x->uidnext = sel->uidnext;
    x->highestmodseq = sel->highestmodseq;
    if (x->uidvalidity_changed) {
        x->n_known = 0;     /* nothing cached refers to these messages */
        x->todo_below = 0;  /* nor does a backfill of the old ones */
    }
    if (cold && x->n_known == 0 && x->todo_below == 0) {
        int first = mail_backfill_first_batch(ms, b, x, sel, err);
        if (first != 0) {   /* handled (1) or failed (-1) */
            rc = first < 0 ? -1 : 0;
            goto out;
        }
    }

    struct backend_search all = { .op = BACKEND_SEARCH_ALL };
    if (backend_uid_search(b, &all, &x->current, &x->n_current, err) < 0)
        goto out;

    if (sel->qresync && !x->uidvalidity_changed) {
        /* The SELECT answer already holds every flag change. */
        x->flags = sel->changed;
        x->n_flags = x->cap_flags = sel->n_changed;
        sel->changed = NULL;
        sel->n_changed = 0;
    } else if (x->n_known > 0) {
        /* Gone uids are simply absent from the answer. */
        struct backend_fetch_req fr = {
            .uids = x->known, .n_uids = x->n_known, .items = BACKEND_FETCH_FLAGS,
            .changedsince = sel->highestmodseq != 0 ? synced_modseq : 0,
        };
        if (backend_fetch_summaries(b, &fr, keep_flags, x, err) < 0)
            goto out;
    }

    if (uid_difference(x->current, x->n_current, x->known, x->n_known, &fresh, &n_fresh) < 0)
        goto nomem;
    n_fresh = leave_backfill(x, fresh, n_fresh);
    if (mail_sync_fetch_fresh(ms, b, x, fresh, n_fresh, err) < 0)
        goto out;
    rc = 0;
    goto out;
nomem:
    nomem(err);
out:
    free(fresh);
    backend_selected_free(&sel);
    return rc;
}

/* 1 when the account has no mailbox cached (its first sync), 0, -1. */
static int nothing_cached(struct mail_store *ms, const char *account_id, struct gw_error *err)
{
    pthread_mutex_lock(store_db_lock(ms->st));
    sqlite3_stmt *st = mail_store_stmt(ms, sql_any_box, err);
    int step = SQLITE_ERROR;
    if (st != NULL) {
        sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
        step = sqlite3_step(st);
        sqlite3_reset(st);
    }
    int rc = step == SQLITE_ROW ? 0 : step == SQLITE_DONE ? 1 : -1;
    if (rc < 0 && st != NULL)
        mail_store_db_fail(ms, err, "any mailbox");
    pthread_mutex_unlock(store_db_lock(ms->st));
    return rc;
}

/* The first sync of an account with a listing coming: the inbox's first
 * batch into *inbox before any listing (INBOX always exists; if the
 * server says otherwise, the usual path finds out). 0, or -1. */
static int inbox_first(struct mail_store *ms, struct mail_backend *b, struct mail_sync_box *inbox,
                       struct gw_error *err)
{
    memset(inbox, 0, sizeof(*inbox));
    if ((inbox->name_raw = strdup("INBOX")) == NULL)
        return nomem(err);
    if (fetch_box(ms, b, inbox, true, err) == 0)
        return 0;
    mail_sync_box_clear(inbox);
    memset(inbox, 0, sizeof(*inbox));
    if (err->code != GW_ERR_NOTFOUND)
        return -1;
    gw_error_clear(err);
    return 0;
}

/* Puts what inbox_first() fetched in the listed box x when x is that
 * inbox under the same UIDVALIDITY; true when it did (inbox is emptied). */
static bool adopt_inbox(struct mail_sync_box *x, struct mail_sync_box *inbox)
{
    if (inbox->name_raw == NULL || strcasecmp(x->name_raw, "INBOX") != 0 ||
        x->status.uidvalidity != inbox->uidvalidity)
        return false;
    char id[sizeof(x->id)];
    memcpy(id, x->id, sizeof(id));
    struct backend_selected listed = x->status;
    mail_sync_box_clear(x);
    *x = *inbox;
    memset(inbox, 0, sizeof(*inbox));
    memcpy(x->id, id, sizeof(id));
    x->status = listed;
    return true;
}

int mail_sync_run(struct mail_store *ms, const char *account_id, struct mail_backend *b,
                  bool cold, const struct mail_sync_listing *source, struct gw_error *err)
{
    struct mail_sync_box *boxes = NULL, inbox = { 0 };
    struct backend_mailbox_list *awaited = NULL;
    const struct backend_mailbox_list *listing = source != NULL ? source->now : NULL;
    size_t n = 0;
    int rc = -1;
    char before[MAIL_STORE_STATE_MAX], after[MAIL_STORE_STATE_MAX];
    if (listing == NULL && cold && source != NULL && source->coming != NULL &&
        source->coming(source->ctx)) {
        int first = nothing_cached(ms, account_id, err);
        if (first < 0 || (first > 0 && inbox_first(ms, b, &inbox, err) < 0))
            return -1;
        if (first > 0)
            listing = awaited = source->await(source->ctx);
    }
    if (mail_store_state(ms, account_id, MAIL_STORE_MAILBOX, before, err) < 0 ||
        mail_store_sync_mailboxes_listed(ms, account_id, b, listing, err) < 0 ||
        mail_store_state(ms, account_id, MAIL_STORE_MAILBOX, after, err) < 0 ||
        pick_boxes(ms, account_id, &boxes, &n, err) < 0)
        goto out;
    /* A mailbox deleted or reset leaves Emails without a location: the
     * apply step sweeps them even when no mailbox needs fetching. */
    bool mailboxes_moved = strcmp(before, after) != 0;
    for (size_t i = 0; i < n; i++) {
        if (adopt_inbox(&boxes[i], &inbox))
            continue;
        if (fetch_box(ms, b, &boxes[i], cold, err) < 0) {
            /* A mailbox deleted since the LIST is the next sync's news. */
            if (err->code != GW_ERR_NOTFOUND)
                goto out;
            gw_error_clear(err);
            mail_sync_box_clear(&boxes[i]);
            memmove(&boxes[i], &boxes[i + 1], (n - i - 1) * sizeof(*boxes));
            n--;
            i--;
        }
    }
    rc = n > 0 || mailboxes_moved ? mail_store_email_apply(ms, account_id, boxes, n, err) : 0;
out:
    for (size_t i = 0; i < n; i++)
        mail_sync_box_clear(&boxes[i]);
    free(boxes);
    mail_sync_box_clear(&inbox);
    backend_mailbox_list_free(&awaited);
    return rc;
}

int mail_store_sync(struct mail_store *ms, const char *account_id, struct mail_backend *b,
                    struct gw_error *err)
{
    return mail_sync_run(ms, account_id, b, false, NULL, err);
}
