/* mail_store_email_apply.c - the email sync's database side: writes what
 * mail_store_sync.c fetched in one transaction under the store lock, one
 * account modseq step when anything changed (include/mail_store.h has the
 * rules for ids and threads). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jmap_text.h"
#include "mail_store_apply.h"
#include "mail_store_backfill.h"
#include "mail_store_sync_internal.h"

/* Temp tables (this connection only) collect the Emails and Threads a
 * sync touched, so the follow-up work is a few set-wise statements. */
static const char *const sql_temp =
    "CREATE TEMP TABLE IF NOT EXISTS sync_emails(id TEXT PRIMARY KEY);"
    "CREATE TEMP TABLE IF NOT EXISTS sync_threads(id TEXT PRIMARY KEY);"
    "DELETE FROM temp.sync_emails; DELETE FROM temp.sync_threads;";
static const char *const sql_modseq MAIL_STORE_SQL =
    "SELECT modseq FROM accounts WHERE account_id = ?1";
static const char *const sql_touch_box MAIL_STORE_SQL =
    "INSERT OR IGNORE INTO temp.sync_emails SELECT email_id FROM email_locations"
    " WHERE account_id = ?1 AND mailbox_id = ?2";
static const char *const sql_drop_box MAIL_STORE_SQL =
    "DELETE FROM email_locations WHERE account_id = ?1 AND mailbox_id = ?2";
static const char *const sql_touch_uid MAIL_STORE_SQL =
    "INSERT OR IGNORE INTO temp.sync_emails SELECT email_id FROM email_locations"
    " WHERE account_id = ?1 AND mailbox_id = ?2 AND uid = ?3";
static const char *const sql_drop_uid MAIL_STORE_SQL =
    "DELETE FROM email_locations WHERE account_id = ?1 AND mailbox_id = ?2 AND uid = ?3";
static const char *const sql_set_flags MAIL_STORE_SQL =
    "UPDATE email_locations SET flags = ?4"
    " WHERE account_id = ?1 AND mailbox_id = ?2 AND uid = ?3 AND flags != ?4";
static const char *const sql_location MAIL_STORE_SQL =
    "INSERT OR REPLACE INTO email_locations(account_id, email_id, mailbox_id, uidvalidity, uid,"
    " flags, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char *const sql_touch_email MAIL_STORE_SQL =
    "INSERT OR IGNORE INTO temp.sync_emails VALUES (?1)";
const char *const mail_apply_sql_touch_thread MAIL_STORE_SQL =
    "INSERT OR IGNORE INTO temp.sync_threads VALUES (?1)";
static const char *const sql_mark_synced MAIL_STORE_SQL =
    "UPDATE mailboxes SET synced_uidvalidity = ?3, synced_uidnext = ?4, synced_highestmodseq = ?5"
    " WHERE account_id = ?1 AND mailbox_id = ?2";
/* Emails whose locations vanished while their mailbox went away or was
 * reset (mailbox sync) are swept with the touched ones. */
static const char *const sql_touch_orphans MAIL_STORE_SQL =
    "INSERT OR IGNORE INTO temp.sync_emails SELECT e.email_id FROM emails e"
    " WHERE e.account_id = ?1 AND e.destroyed_modseq IS NULL AND NOT EXISTS"
    " (SELECT 1 FROM email_locations l INDEXED BY email_locations_email"
    "  WHERE l.account_id = e.account_id AND l.email_id = e.email_id)";
/* INDEXED BY here and below: without it SQLite answers these correlated
 * subqueries from an index on the account alone, a scan of every row per
 * Email or Thread, which made the first sync of 6,000 messages take 20 s.
 * CROSS JOIN: the touched ones drive; SQLite knows nothing of the temp
 * table's size and would scan the account's Emails instead (25 ms per
 * slice of a backfill at 30,000). */
static const char *const sql_touched MAIL_STORE_SQL =
    "SELECT s.id, e.keywords, e.thread_id,"
    " (SELECT group_concat(l.flags, '') FROM email_locations l INDEXED BY email_locations_email"
    "   WHERE l.account_id = e.account_id AND l.email_id = e.email_id),"
    " (SELECT count(*) FROM email_locations l INDEXED BY email_locations_email"
    "   WHERE l.account_id = e.account_id AND l.email_id = e.email_id),"
    " e.updated_modseq = 0, e.updated_modseq"
    " FROM temp.sync_emails s CROSS JOIN emails e ON e.account_id = ?1 AND e.email_id = s.id"
    " WHERE e.destroyed_modseq IS NULL";
static const char *const sql_update_email MAIL_STORE_SQL =
    "UPDATE emails SET keywords = ?3, updated_modseq = ?4 WHERE account_id = ?1 AND email_id = ?2";
static const char *const sql_destroy_email MAIL_STORE_SQL =
    "UPDATE emails SET destroyed_modseq = ?3, updated_modseq = ?3"
    " WHERE account_id = ?1 AND email_id = ?2";
static const char *const sql_stamp_threads MAIL_STORE_SQL =
    "UPDATE threads SET updated_modseq = max(updated_modseq, ?2),"
    " destroyed_modseq = CASE WHEN EXISTS (SELECT 1 FROM emails e INDEXED BY emails_thread"
    "   WHERE e.account_id = ?1"
    "   AND e.thread_id = threads.thread_id AND e.destroyed_modseq IS NULL) THEN NULL ELSE ?2 END"
    " WHERE account_id = ?1 AND destroyed_modseq IS NULL"
    " AND thread_id IN (SELECT id FROM temp.sync_threads)";
static const char *const sql_stamp_mailboxes MAIL_STORE_SQL =
    "UPDATE mailboxes SET updated_modseq = ?2 WHERE account_id = ?1 AND destroyed_modseq IS NULL";
static const char *const sql_bump MAIL_STORE_SQL =
    "UPDATE accounts SET modseq = ?2,"
    " email_state = CASE WHEN ?3 THEN ?2 ELSE email_state END,"
    " thread_state = CASE WHEN ?4 THEN ?2 ELSE thread_state END,"
    " mailbox_state = CASE WHEN ?5 THEN ?2 ELSE mailbox_state END"
    " WHERE account_id = ?1";

int mail_apply_scratch(sqlite3 *db)
{
    if (sqlite3_exec(db, sql_temp, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, mail_apply_sql_count_tables, NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    return 0;
}

int mail_apply_fail(struct mail_apply *a, const char *what)
{
    return mail_store_db_fail(a->ms, a->err, what);
}

/* Prepares sql, binds the account as ?1 and text args as ?2.. (NULL ends
 * them). NULL with err set on failure. */
sqlite3_stmt *mail_apply_stmt(struct mail_apply *a, const char *sql)
{
    sqlite3_stmt *st = mail_store_stmt(a->ms, sql, a->err);
    if (st != NULL)
        sqlite3_bind_text(st, 1, a->account_id, -1, SQLITE_STATIC);
    return st;
}

/* Steps a statement that returns no rows; -1 with err. */
int mail_apply_run(struct mail_apply *a, sqlite3_stmt *st, const char *what)
{
    if (st == NULL)
        return -1;
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    return step == SQLITE_DONE ? 0 : mail_apply_fail(a, what);
}

int mail_apply_touch(struct mail_apply *a, const char *sql, const char *id)
{
    sqlite3_stmt *st = mail_store_stmt(a->ms, sql, a->err);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    return mail_apply_run(a, st, "touch");
}

static int uid_op(struct mail_apply *a, const char *sql, const char *box, uint32_t uid)
{
    sqlite3_stmt *st = mail_apply_stmt(a, sql);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 2, box, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, uid);
    return mail_apply_run(a, st, "location");
}

/* " \Seen foo " : the flags joined, with a space at both ends. NULL with
 * *deleted set for a message flagged \Deleted (hidden from JMAP). */
static char *flags_text(const struct backend_flags *f, bool *deleted)
{
    size_t len = 2;
    *deleted = false;
    for (size_t i = 0; i < f->n; i++) {
        if (strcasecmp(f->v[i], "\\Deleted") == 0)
            *deleted = true;
        len += strlen(f->v[i]) + 1;
    }
    char *out = malloc(len);
    if (out == NULL)
        return NULL;
    char *o = out;
    *o++ = ' ';
    for (size_t i = 0; i < f->n; i++) {
        if (strcasecmp(f->v[i], "\\Recent") == 0)
            continue;
        size_t l = strlen(f->v[i]);
        memcpy(o, f->v[i], l);
        o += l;
        *o++ = ' ';
    }
    *o = '\0';
    return out;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The JMAP keywords of space-separated IMAP flags (of all locations),
 * sorted, unique, " $seen foo ". New string or NULL. */
static char *keywords_of(const char *flags)
{
    char *copy = strdup(flags != NULL ? flags : "");
    size_t n = 0, cap = 8;
    char **v = malloc(cap * sizeof(*v));
    char *out = NULL;
    if (copy == NULL || v == NULL)
        goto out;
    char *save = NULL;
    for (char *t = strtok_r(copy, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
        bool skip = false;
        char *k = jmap_keyword_from_imap(t, &skip);
        if (skip)
            continue;
        if (k == NULL)
            goto out;
        if (n == cap) {
            char **nv = realloc(v, (cap *= 2) * sizeof(*v));
            if (nv == NULL) {
                free(k);
                goto out;
            }
            v = nv;
        }
        v[n++] = k;
    }
    qsort(v, n, sizeof(*v), cmp_str);
    size_t len = 2;
    for (size_t i = 0; i < n; i++)
        len += strlen(v[i]) + 1;
    if ((out = malloc(len)) == NULL)
        goto out;
    char *o = out;
    *o++ = ' ';
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
            continue;
        size_t l = strlen(v[i]);
        memcpy(o, v[i], l);
        o += l;
        *o++ = ' ';
    }
    *o = '\0';
out:
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    free(copy);
    return out;
}

static int add_fresh(struct mail_apply *a, const struct mail_sync_box *x,
                     const struct backend_message_summary *m)
{
    bool deleted = false;
    char id[MAIL_STORE_ID_MAX];
    char *flags = flags_text(&m->flags, &deleted);
    int rc = -1;
    if (flags == NULL) {
        gw_error_set(a->err, GW_ERR_NOMEM, "mail store: out of memory");
        goto out;
    }
    if (deleted) {
        rc = 0;
        goto out;
    }
    if (mail_identity_expected(&a->idn, x->id, x->uidvalidity, m->uid, id, a->err) < 0 ||
        (id[0] == '\0' && mail_identity_email(&a->idn, m, id, a->err) < 0))
        goto out;
    if (id[0] == '\0') {
        /* Its keywords now, so the settle step has nothing to rewrite; a
         * backfill slice counts its Threads before they settle
         * (mail_apply_count_threads), so its Emails start with none. */
        char *kw = a->backfill ? NULL : keywords_of(flags);
        if (!a->backfill && kw == NULL) {
            gw_error_set(a->err, GW_ERR_NOMEM, "mail store: out of memory");
            goto out;
        }
        int inserted = mail_apply_insert_email(a, m, kw, id);
        free(kw);
        if (inserted < 0)
            goto out;
    }
    sqlite3_stmt *st = mail_apply_stmt(a, sql_location);
    if (st == NULL)
        goto out;
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, x->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, x->uidvalidity);
    sqlite3_bind_int64(st, 5, m->uid);
    sqlite3_bind_text(st, 6, flags, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)m->internaldate);
    if (mail_apply_run(a, st, "new location") < 0 || mail_apply_touch(a, sql_touch_email, id) < 0 ||
        (a->backfill && mail_apply_new_location(a, x->id, m->uid) < 0))
        goto out;
    rc = 0;
out:
    free(flags);
    return rc;
}

/* ---- One mailbox ------------------------------------------------------ */

static bool uid_in(const uint32_t *v, size_t n, uint32_t uid)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] == uid)
            return true;
        if (v[mid] < uid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static int remove_uid(struct mail_apply *a, const struct mail_sync_box *x, uint32_t uid)
{
    if (mail_identity_note_lost(&a->idn, x->id, uid, a->err) < 0 ||
        uid_op(a, sql_touch_uid, x->id, uid) < 0 || uid_op(a, sql_drop_uid, x->id, uid) < 0)
        return -1;
    return 0;
}

/* What left one mailbox, and flag changes. Every mailbox's losses come
 * before any mailbox's new messages, so a move is matched whichever of
 * its two mailboxes the sync saw first. */
static int apply_box_losses(struct mail_apply *a, struct mail_sync_box *x)
{
    int valid = x->backfill_base != 0 ? mail_backfill_valid(a->ms, a->account_id, x, a->err) : 1;
    if (valid < 0)
        return -1;
    if (valid == 0) {   /* a batch for a mailbox reset or deleted meanwhile */
        x->stale = true;
        return 0;
    }
    if (x->uidvalidity_changed) {
        sqlite3_stmt *st = mail_apply_stmt(a, sql_touch_box);
        if (st != NULL)
            sqlite3_bind_text(st, 2, x->id, -1, SQLITE_STATIC);
        if (mail_apply_run(a, st, "touch mailbox") < 0)
            return -1;
        st = mail_apply_stmt(a, sql_drop_box);
        if (st != NULL)
            sqlite3_bind_text(st, 2, x->id, -1, SQLITE_STATIC);
        if (mail_apply_run(a, st, "drop mailbox") < 0)
            return -1;
    }
    for (size_t i = 0; i < x->n_known; i++)
        if (!uid_in(x->current, x->n_current, x->known[i]) && remove_uid(a, x, x->known[i]) < 0)
            return -1;
    for (size_t i = 0; i < x->n_flags; i++) {
        const struct backend_msg_change *c = &x->flags[i];
        if (!uid_in(x->known, x->n_known, c->uid) || !uid_in(x->current, x->n_current, c->uid))
            continue;
        bool deleted = false;
        char *flags = flags_text(&c->flags, &deleted);
        if (flags == NULL)
            return gw_error_set(a->err, GW_ERR_NOMEM, "mail store: out of memory");
        int rc;
        if (deleted) {
            rc = remove_uid(a, x, c->uid);
        } else {
            sqlite3_stmt *st = mail_apply_stmt(a, sql_set_flags);
            if (st != NULL) {
                sqlite3_bind_text(st, 2, x->id, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 3, c->uid);
                sqlite3_bind_text(st, 4, flags, -1, SQLITE_STATIC);
            }
            rc = mail_apply_run(a, st, "flags");
            if (rc == 0 && sqlite3_changes(a->ms->db) > 0)
                rc = uid_op(a, sql_touch_uid, x->id, c->uid);
        }
        free(flags);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int apply_box_fresh(struct mail_apply *a, const struct mail_sync_box *x)
{
    if (x->stale)
        return 0;   /* nor its progress: the row may be a new backfill's */
    for (size_t i = 0; i < x->n_fresh; i++)
        if (add_fresh(a, x, x->fresh[i]) < 0)
            return -1;
    if (mail_backfill_note(a->ms, a->account_id, x, a->modseq, a->err) < 0)
        return -1;
    a->backfill_done |= a->backfill && x->todo_below == 0;
    if (x->backfill_base != 0)
        return 0;   /* its SELECT is no news for the regular sync */
    sqlite3_stmt *st = mail_apply_stmt(a, sql_mark_synced);
    if (st != NULL) {
        sqlite3_bind_text(st, 2, x->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, x->uidvalidity);
        sqlite3_bind_int64(st, 4, x->uidnext);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)x->highestmodseq);
    }
    return mail_apply_run(a, st, "mark synced");
}

/* ---- After every mailbox ---------------------------------------------- */

/* Touched Emails: new keywords and mailboxIds (stamped), or destroyed
 * when no location is left; their threads are re-stamped. */
static int settle_emails(struct mail_apply *a)
{
    /* A backfill slice removes no location, and the sync that did sweeps
     * its own orphans: a slice skips this scan of every Email. */
    if (!a->backfill && mail_apply_run(a, mail_apply_stmt(a, sql_touch_orphans), "orphans") < 0)
        return -1;
    /* Collect first: the loop below writes to the tables it reads. */
    struct row {
        char id[MAIL_STORE_ID_MAX], thread[MAIL_STORE_ID_MAX];
        char *kw;
        bool gone, backfilled;
        bool settled;   /* the row already holds kw at the modseq it would get */
    };
    struct row *rows = NULL;
    size_t n = 0, cap = 0;
    int rc = -1, step;
    sqlite3_stmt *st = mail_apply_stmt(a, sql_touched);
    if (st == NULL)
        return -1;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            struct row *nv = realloc(rows, cap * sizeof(*nv));
            if (nv == NULL)
                break;
            rows = nv;
        }
        struct row *r = &rows[n++];
        snprintf(r->id, sizeof(r->id), "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(r->thread, sizeof(r->thread), "%s", (const char *)sqlite3_column_text(st, 2));
        r->gone = sqlite3_column_int64(st, 4) == 0;
        r->backfilled = sqlite3_column_int(st, 5) != 0;
        r->kw = r->gone ? NULL : keywords_of((const char *)sqlite3_column_text(st, 3));
        if (!r->gone && r->kw == NULL) {
            n--;
            break;
        }
        /* A new Email was inserted with its keywords and this modseq. */
        const char *kw_now = (const char *)sqlite3_column_text(st, 1);
        r->settled = !r->gone && !r->backfilled && kw_now != NULL && strcmp(kw_now, r->kw) == 0 &&
                     (uint64_t)sqlite3_column_int64(st, 6) == a->modseq;
    }
    sqlite3_reset(st);
    if (step != SQLITE_DONE) {
        if (step == SQLITE_ROW)
            gw_error_set(a->err, GW_ERR_NOMEM, "mail store: out of memory");
        else
            mail_apply_fail(a, "touched emails");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct row *r = &rows[i];
        a->emails_changed |= !r->backfilled;
        if (r->settled)
            continue;
        st = mail_apply_stmt(a, r->gone ? sql_destroy_email : sql_update_email);
        if (st == NULL)
            goto out;
        sqlite3_bind_text(st, 2, r->id, -1, SQLITE_STATIC);
        if (r->gone) {
            sqlite3_bind_int64(st, 3, (sqlite3_int64)a->modseq);
        } else {
            sqlite3_bind_text(st, 3, r->kw, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 4,
                               (sqlite3_int64)(r->backfilled ? a->created_modseq : a->modseq));
        }
        if (mail_apply_run(a, st, "settle email") < 0)
            goto out;
        if (r->gone && mail_apply_touch(a, mail_apply_sql_touch_thread, r->thread) < 0)
            goto out;
        a->threads_changed |= r->gone;
    }
    rc = 0;
out:
    for (size_t i = 0; i < n; i++)
        free(rows[i].kw);
    free(rows);
    return rc;
}

int mail_store_email_apply(struct mail_store *ms, const char *account_id,
                           struct mail_sync_box *boxes, size_t n_boxes, struct gw_error *err)
{
    struct mail_apply a = { .ms = ms, .account_id = account_id, .err = err };
    int rc = -1;
    mail_identity_init(&a.idn, ms, account_id);
    bool in_tx = false;
    pthread_mutex_lock(store_db_lock(ms->st));
    if (sqlite3_exec(ms->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        mail_apply_fail(&a, "begin");
        goto out;
    }
    in_tx = true;
    if (mail_apply_scratch(ms->db) < 0) {
        mail_apply_fail(&a, "temp tables");
        goto out;
    }
    sqlite3_stmt *st = mail_apply_stmt(&a, sql_modseq);
    if (st == NULL)
        goto out;
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        gw_error_set(err, GW_ERR_NOTFOUND, "mail store: no account %s", account_id);
        goto out;
    }
    a.modseq = (uint64_t)sqlite3_column_int64(st, 0) + 1;
    sqlite3_reset(st);
    a.created_modseq = a.modseq;
    if (n_boxes == 1 && boxes[0].backfill_base != 0) {
        a.backfill = true;
        a.created_modseq = boxes[0].backfill_base;
    }

    for (size_t i = 0; i < n_boxes; i++)
        if (apply_box_losses(&a, &boxes[i]) < 0)
            goto out;
    for (size_t i = 0; i < n_boxes; i++)
        if (apply_box_fresh(&a, &boxes[i]) < 0)
            goto out;
    if ((a.backfill && mail_apply_count_threads(&a, true) < 0) || settle_emails(&a) < 0)
        goto out;
    bool mailboxes_changed = false;
    if (a.emails_changed || a.backfill) {
        st = mail_apply_stmt(&a, sql_stamp_threads);
        if (st != NULL)
            sqlite3_bind_int64(st, 2, (sqlite3_int64)a.created_modseq);
        if (mail_apply_run(&a, st, "threads") < 0)
            goto out;
        /* A backfill moves no Mailbox state (mail_store_backfill.h)... */
        if (a.backfill ? mail_apply_count_threads(&a, false) < 0
                       : mail_apply_recount(&a, &mailboxes_changed) < 0)
            goto out;
    }
    /* ...until it ends for a mailbox: then every Mailbox of the account is
     * news, the one whose counts Mailbox/get now takes from the cache and
     * the others, whose unreadThreads the backfilled threads may have
     * moved. */
    if (a.backfill_done) {
        st = mail_apply_stmt(&a, sql_stamp_mailboxes);
        if (st != NULL)
            sqlite3_bind_int64(st, 2, (sqlite3_int64)a.modseq);
        if (mail_apply_run(&a, st, "backfill done") < 0)
            goto out;
        mailboxes_changed = true;
    }
    if (a.emails_changed || a.threads_changed || mailboxes_changed) {
        st = mail_apply_stmt(&a, sql_bump);
        if (st != NULL) {
            sqlite3_bind_int64(st, 2, (sqlite3_int64)a.modseq);
            sqlite3_bind_int(st, 3, a.emails_changed);
            sqlite3_bind_int(st, 4, a.threads_changed);
            sqlite3_bind_int(st, 5, mailboxes_changed);
        }
        if (mail_apply_run(&a, st, "bump") < 0)
            goto out;
    }
    if (sqlite3_exec(ms->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        mail_apply_fail(&a, "commit");
        goto out;
    }
    in_tx = false;
    rc = 0;
out:
    if (in_tx)
        sqlite3_exec(ms->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(store_db_lock(ms->st));
    mail_identity_clear(&a.idn);
    return rc;
}
