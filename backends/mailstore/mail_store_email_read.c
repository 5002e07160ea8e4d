/* mail_store_email_read.c - reading cached Emails and Threads for the JMAP
 * read path (include/mail_store.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail_store_backfill.h"
#include "mail_store_db.h"

#define EMAIL_COLUMNS \
    "e.email_id, e.thread_id, e.size, e.received_at, e.sent_utc, ifnull(e.subject,''),"     \
    " e.from_sort, e.to_sort, e.cc_sort, e.has_attachment, e.preview, e.keywords,"          \
    " (SELECT group_concat(l2.mailbox_id, ' ') FROM email_locations l2"                     \
    "   INDEXED BY email_locations_email"                                                   \
    "   WHERE l2.account_id = e.account_id AND l2.email_id = e.email_id),"                  \
    " CASE WHEN ?2 THEN e.headers END"

static const char *const sql_get_email =
    "SELECT " EMAIL_COLUMNS " FROM emails e"
    " WHERE e.account_id = ?1 AND e.email_id = ?3 AND e.destroyed_modseq IS NULL";
static const char *const sql_list_mailbox =
    "SELECT " EMAIL_COLUMNS " FROM email_locations l JOIN emails e"
    " ON e.account_id = l.account_id AND e.email_id = l.email_id"
    " WHERE l.account_id = ?1 AND l.mailbox_id = ?3 AND e.destroyed_modseq IS NULL"
    " ORDER BY e.received_at DESC, e.email_id";
static const char *const sql_list_newest =
    "SELECT " EMAIL_COLUMNS " FROM email_locations l JOIN emails e"
    " ON e.account_id = l.account_id AND e.email_id = l.email_id"
    " WHERE l.account_id = ?1 AND l.mailbox_id = ?3 AND e.destroyed_modseq IS NULL"
    " AND e.received_at > ?4 ORDER BY e.received_at DESC, e.email_id LIMIT ?5";
static const char *const sql_list_account =
    "SELECT " EMAIL_COLUMNS " FROM emails e"
    " WHERE e.account_id = ?1 AND e.destroyed_modseq IS NULL"
    " ORDER BY e.received_at DESC, e.email_id";
static const char *const sql_locate =
    "SELECT m.name_raw, l.uidvalidity, l.uid FROM email_locations l JOIN mailboxes m"
    " ON m.account_id = l.account_id AND m.mailbox_id = l.mailbox_id"
    " JOIN emails e ON e.account_id = l.account_id AND e.email_id = l.email_id"
    " WHERE l.account_id = ?1 AND l.email_id = ?2 AND e.destroyed_modseq IS NULL"
    " AND m.destroyed_modseq IS NULL AND m.uidvalidity = l.uidvalidity"
    " ORDER BY m.role IS NULL, l.uid LIMIT 1";
static const char *const sql_by_uid =
    "SELECT email_id FROM email_locations WHERE account_id = ?1 AND mailbox_id = ?2 AND uid = ?3";
static const char *const sql_thread =
    "SELECT e.email_id FROM emails e INDEXED BY emails_thread"
    " WHERE e.account_id = ?1 AND e.thread_id = ?2"
    " AND e.destroyed_modseq IS NULL ORDER BY e.received_at, e.email_id";

static int nomem(struct gw_error *err)
{
    return gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits "a b c" (any spaces) into a sorted array of new strings. */
static int split_words(const char *text, char ***out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (text == NULL)
        return 0;
    size_t n = 0, cap = 0;
    char **v = NULL;
    for (const char *p = text; *p != '\0';) {
        while (*p == ' ')
            p++;
        const char *start = p;
        while (*p != '\0' && *p != ' ')
            p++;
        if (p == start)
            break;
        if (n == cap) {
            cap = cap ? cap * 2 : 4;
            char **nv = realloc(v, cap * sizeof(*v));
            if (nv == NULL)
                goto fail;
            v = nv;
        }
        v[n] = strndup(start, (size_t)(p - start));
        if (v[n] == NULL)
            goto fail;
        n++;
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_str);
    *out = v;
    *n_out = n;
    return 0;
fail:
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return -1;
}

static char *text_dup(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return strdup(t != NULL ? (const char *)t : "");
}

static void email_clear(struct mail_store_email *e)
{
    for (size_t i = 0; i < e->n_mailbox_ids; i++)
        free(e->mailbox_ids[i]);
    free(e->mailbox_ids);
    for (size_t i = 0; i < e->n_keywords; i++)
        free(e->keywords[i]);
    free(e->keywords);
    free(e->subject);
    free(e->from_sort);
    free(e->to_sort);
    free(e->cc_sort);
    free(e->preview);
    free(e->headers);
    memset(e, 0, sizeof(*e));
}

static void copy_id(char out[MAIL_STORE_ID_MAX], sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t len = t != NULL ? strlen((const char *)t) : 0;
    if (len >= MAIL_STORE_ID_MAX)
        len = MAIL_STORE_ID_MAX - 1;
    memcpy(out, t != NULL ? (const char *)t : "", len);
    out[len] = '\0';
}

static int email_from_row(sqlite3_stmt *st, struct mail_store_email *e)
{
    memset(e, 0, sizeof(*e));
    copy_id(e->id, st, 0);
    copy_id(e->thread_id, st, 1);
    e->size = (uint64_t)sqlite3_column_int64(st, 2);
    e->received_at = sqlite3_column_int64(st, 3);
    e->sent_at = sqlite3_column_int64(st, 4);
    e->subject = text_dup(st, 5);
    e->from_sort = text_dup(st, 6);
    e->to_sort = text_dup(st, 7);
    e->cc_sort = text_dup(st, 8);
    e->has_attachment = sqlite3_column_int(st, 9) != 0;
    if (sqlite3_column_type(st, 10) != SQLITE_NULL)
        e->preview = text_dup(st, 10);
    if (!e->subject || !e->from_sort || !e->to_sort || !e->cc_sort ||
        (sqlite3_column_type(st, 10) != SQLITE_NULL && !e->preview))
        goto fail;
    if (split_words((const char *)sqlite3_column_text(st, 11), &e->keywords, &e->n_keywords) < 0 ||
        split_words((const char *)sqlite3_column_text(st, 12), &e->mailbox_ids,
                    &e->n_mailbox_ids) < 0)
        goto fail;
    if (sqlite3_column_type(st, 13) != SQLITE_NULL) {
        int len = sqlite3_column_bytes(st, 13);
        const void *blob = sqlite3_column_blob(st, 13);
        e->headers = malloc((size_t)len + 1);
        if (e->headers == NULL)
            goto fail;
        if (len > 0)
            memcpy(e->headers, blob, (size_t)len);
        e->headers[len] = '\0';
        e->headers_len = (size_t)len;
    }
    return 0;
fail:
    email_clear(e);
    return -1;
}

static int list_append(struct mail_store_email_list *l, size_t *cap, sqlite3_stmt *st)
{
    if (l->n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        struct mail_store_email *nv = realloc(l->v, *cap * sizeof(*nv));
        if (nv == NULL)
            return -1;
        l->v = nv;
    }
    if (email_from_row(st, &l->v[l->n]) < 0)
        return -1;
    l->n++;
    return 0;
}

void mail_store_email_list_free(struct mail_store_email_list **lp)
{
    struct mail_store_email_list *l = *lp;
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        email_clear(&l->v[i]);
    free(l->v);
    free(l);
    *lp = NULL;
}

/* Runs st (bound by the caller) and appends every row; -1 with err. */
static int collect(struct mail_store *ms, sqlite3_stmt *st, struct mail_store_email_list *l,
                   size_t *cap, struct gw_error *err)
{
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        if (list_append(l, cap, st) < 0) {
            sqlite3_reset(st);
            return nomem(err);
        }
    sqlite3_reset(st);
    return step == SQLITE_DONE ? 0 : mail_store_db_fail(ms, err, "read emails");
}

/* Binds what every Email list statement takes first: ?1 the account, ?2
 * whether the header block is wanted. */
static void bind_list(sqlite3_stmt *st, const char *account_id, unsigned fields)
{
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, (fields & MAIL_STORE_WITH_HEADERS) != 0);
}

/* Unlocks the store and hands l to *out when rc is 0, else frees it. */
static int list_done(struct mail_store *ms, int rc, struct mail_store_email_list *l,
                     struct mail_store_email_list **out)
{
    pthread_mutex_unlock(store_db_lock(ms->st));
    if (rc == 0)
        *out = l;
    else
        mail_store_email_list_free(&l);
    return rc;
}

int mail_store_get_emails(struct mail_store *ms, const char *account_id, const char *const *ids,
                          size_t n_ids, unsigned fields, struct mail_store_email_list **out,
                          struct gw_error *err)
{
    struct mail_store_email_list *l = calloc(1, sizeof(*l));
    size_t cap = 0;
    *out = NULL;
    if (l == NULL)
        return nomem(err);
    pthread_mutex_lock(store_db_lock(ms->st));
    sqlite3_stmt *st = mail_store_stmt(ms, sql_get_email, err);
    for (size_t i = 0; st != NULL && i < n_ids; i++) {
        bind_list(st, account_id, fields);
        sqlite3_bind_text(st, 3, ids[i], -1, SQLITE_STATIC);
        if (collect(ms, st, l, &cap, err) < 0)
            return list_done(ms, -1, l, out);
    }
    return list_done(ms, st != NULL ? 0 : -1, l, out);
}

int mail_store_list_emails(struct mail_store *ms, const char *account_id, const char *mailbox_id,
                           unsigned fields, struct mail_store_email_list **out,
                           struct gw_error *err)
{
    *out = NULL;
    if (mail_store_backfill_wait(ms, account_id, err) < 0)    /* needs every message */
        return -1;
    struct mail_store_email_list *l = calloc(1, sizeof(*l));
    size_t cap = 0;
    int rc = -1;
    if (l == NULL)
        return nomem(err);
    pthread_mutex_lock(store_db_lock(ms->st));
    sqlite3_stmt *st =
        mail_store_stmt(ms, mailbox_id != NULL ? sql_list_mailbox : sql_list_account, err);
    if (st != NULL) {
        bind_list(st, account_id, fields);
        if (mailbox_id != NULL)
            sqlite3_bind_text(st, 3, mailbox_id, -1, SQLITE_STATIC);
        rc = collect(ms, st, l, &cap, err);
    }
    return list_done(ms, rc, l, out);
}

int mail_store_list_newest(struct mail_store *ms, const char *account_id, const char *mailbox_id,
                           size_t n, bool want_total, unsigned fields,
                           struct mail_store_email_list **out, uint64_t *total,
                           struct gw_error *err)
{
    int64_t cutoff = 0;
    uint32_t deleted = 0, messages = 0;
    size_t cap = 0;
    *out = NULL;
    if (!mail_store_backfill_pending(ms, account_id))
        return 0;   /* the full query does not wait then */
    struct mail_store_email_list *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return nomem(err);
    pthread_mutex_lock(store_db_lock(ms->st));
    int rc = mail_backfill_cover(ms, account_id, mailbox_id, &cutoff, &deleted, &messages, err);
    if (rc == 1 && want_total && deleted != 0)
        rc = 0;
    sqlite3_stmt *st = rc == 1 ? mail_store_stmt(ms, sql_list_newest, err) : NULL;
    if (rc == 1 && st == NULL)
        rc = -1;
    if (st != NULL) {
        bind_list(st, account_id, fields);
        sqlite3_bind_text(st, 3, mailbox_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, cutoff);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)n);
        if (collect(ms, st, l, &cap, err) < 0)
            rc = -1;
        else if (l->n < n)
            rc = 0;     /* the page reaches past what the first batch covers */
    }
    pthread_mutex_unlock(store_db_lock(ms->st));
    if (rc == 1) {
        *out = l;
        *total = messages;
    } else {
        mail_store_email_list_free(&l);
    }
    return rc;
}

int mail_store_email_locate(struct mail_store *ms, const char *account_id, const char *email_id,
                            char **mailbox_name_raw, uint32_t *uidvalidity, uint32_t *uid,
                            struct gw_error *err)
{
    int rc = -1;
    *mailbox_name_raw = NULL;
    pthread_mutex_lock(store_db_lock(ms->st));
    sqlite3_stmt *st = mail_store_stmt(ms, sql_locate, err);
    if (st != NULL) {
        sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, email_id, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            *mailbox_name_raw = text_dup(st, 0);
            *uidvalidity = (uint32_t)sqlite3_column_int64(st, 1);
            *uid = (uint32_t)sqlite3_column_int64(st, 2);
            rc = *mailbox_name_raw != NULL ? 0 : nomem(err);
        } else if (step == SQLITE_DONE) {
            gw_error_set(err, GW_ERR_NOTFOUND, "mail store: no email %s", email_id);
        } else {
            mail_store_db_fail(ms, err, "locate");
        }
        sqlite3_reset(st);
    }
    pthread_mutex_unlock(store_db_lock(ms->st));
    return rc;
}

int mail_store_emails_by_uid(struct mail_store *ms, const char *account_id, const char *mailbox_id,
                             const uint32_t *uids, size_t n, char (*ids_out)[MAIL_STORE_ID_MAX],
                             struct gw_error *err)
{
    int rc = 0;
    pthread_mutex_lock(store_db_lock(ms->st));
    sqlite3_stmt *st = mail_store_stmt(ms, sql_by_uid, err);
    if (st == NULL)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, mailbox_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, uids[i]);
        int step = sqlite3_step(st);
        ids_out[i][0] = '\0';
        if (step == SQLITE_ROW)
            copy_id(ids_out[i], st, 0);
        else if (step != SQLITE_DONE)
            rc = mail_store_db_fail(ms, err, "uid lookup");
    }
    if (st != NULL)
        sqlite3_reset(st);
    pthread_mutex_unlock(store_db_lock(ms->st));
    return rc;
}

void mail_store_thread_list_free(struct mail_store_thread_list **lp)
{
    struct mail_store_thread_list *l = *lp;
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].email_ids);
    free(l->v);
    free(l);
    *lp = NULL;
}

/* Fills t with the live Emails of thread id; t->n_email_ids 0 when none. */
static int thread_load(struct mail_store *ms, sqlite3_stmt *st, const char *account_id,
                       const char *id, struct mail_store_thread *t, struct gw_error *err)
{
    size_t cap = 0;
    int step;
    memset(t, 0, sizeof(*t));
    snprintf(t->id, sizeof(t->id), "%s", id);
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (t->n_email_ids == cap) {
            cap = cap ? cap * 2 : 4;
            char (*nv)[MAIL_STORE_ID_MAX] = realloc(t->email_ids, cap * sizeof(*nv));
            if (nv == NULL) {
                sqlite3_reset(st);
                return nomem(err);
            }
            t->email_ids = nv;
        }
        copy_id(t->email_ids[t->n_email_ids++], st, 0);
    }
    sqlite3_reset(st);
    return step == SQLITE_DONE ? 0 : mail_store_db_fail(ms, err, "read thread");
}

int mail_store_get_threads(struct mail_store *ms, const char *account_id, const char *const *ids,
                           size_t n_ids, struct mail_store_thread_list **out, struct gw_error *err)
{
    *out = NULL;
    if (mail_store_backfill_wait(ms, account_id, err) < 0)    /* threads span the account */
        return -1;
    struct mail_store_thread_list *l = calloc(1, sizeof(*l));
    int rc = -1;
    if (l == NULL || (n_ids > 0 && (l->v = calloc(n_ids, sizeof(*l->v))) == NULL)) {
        free(l);
        return nomem(err);
    }
    pthread_mutex_lock(store_db_lock(ms->st));
    sqlite3_stmt *st = mail_store_stmt(ms, sql_thread, err);
    for (size_t i = 0; st != NULL && i < n_ids; i++) {
        struct mail_store_thread *t = &l->v[l->n];
        if (thread_load(ms, st, account_id, ids[i], t, err) < 0)
            goto out;
        if (t->n_email_ids > 0)
            l->n++;
        else
            free(t->email_ids);
    }
    rc = st != NULL ? 0 : -1;
out:
    pthread_mutex_unlock(store_db_lock(ms->st));
    if (rc == 0)
        *out = l;
    else
        mail_store_thread_list_free(&l);
    return rc;
}
