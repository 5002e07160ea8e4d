/* submission_store.c - include/submission_store.h on the gateway's SQLite
 * store. Every write bumps the account's modseq and stamps it as the
 * EmailSubmission state in the same transaction, under the store lock;
 * queue moves that the client cannot see (a retry) do not. */
#include "submission_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "object_table.h"
#include "gw_log.h"

_Static_assert(SUBMISSION_STATE_MAX == OBJECT_STATE_MAX, "state sizes differ");

static const struct object_table submission_table = {
    "email_submissions", "submission_id", "submission_state", "submission", "EmailSubmission",
};

/* A blob parameter for sub_run ('b'). */
struct sub_blob {
    const char *data;
    size_t len;
};

/* One statement with text/int64/blob parameters run to completion: fmt has
 * one letter per parameter ('t' text, 'i' int64, 'b' struct sub_blob).
 * Returns the changed rows, or -1 with err. */
static int sub_run(struct mail_store *ms, const char *sql, const char *fmt, const void *const *v,
                   struct gw_error *err)
{
    sqlite3_stmt *st = object_table_prepare(ms, sql, err);

    if (st == NULL)
        return -1;
    for (int i = 0; fmt[i] != '\0'; i++) {
        if (fmt[i] == 't') {
            sqlite3_bind_text(st, i + 1, (const char *)v[i], -1, SQLITE_STATIC);
        } else if (fmt[i] == 'b') {
            const struct sub_blob *b = v[i];
            if (b->data == NULL)
                sqlite3_bind_null(st, i + 1);
            else
                sqlite3_bind_blob64(st, i + 1, b->data, b->len, SQLITE_STATIC);
        } else {
            sqlite3_bind_int64(st, i + 1, *(const int64_t *)v[i]);
        }
    }
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return mail_store_db_fail(ms, err, "submission write");
    return sqlite3_changes(ms->db);
}

int submission_store_create(struct mail_store *ms, const char *account_id, json_t *obj,
                            const char *queue_state, int64_t next_try, const char *msg,
                            size_t msg_len, char id[SUBMISSION_ID_MAX], struct gw_error *err)
{
    struct sub_blob blob = {msg, msg_len};
    char fresh[16];
    int64_t modseq;
    int ret = -1;
    char *text = NULL;

    if (mail_store_mint_id('S', fresh, err) < 0)
        return -1;
    json_t *copy = json_copy(obj);
    if (copy != NULL)
        json_object_del(copy, "id");
    text = copy != NULL ? json_dumps(copy, JSON_COMPACT) : NULL;
    json_decref(copy);
    if (text == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    if (object_table_begin(ms, err) < 0)
        goto out;
    const void *v[] = {account_id, fresh, text, queue_state, &next_try, &modseq, &blob};
    if (object_table_bump(ms, &submission_table, account_id, &modseq, err) == 0 &&
        sub_run(ms,
                "INSERT INTO email_submissions (account_id, submission_id, object, queue_state,"
                " next_try, created_modseq, updated_modseq, message)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
                "ttttiib", v, err) == 1)
        ret = 0;
    ret = object_table_end(ms, ret, err);
    if (ret == 0)
        memcpy(id, fresh, sizeof(fresh));
out:
    free(text);
    return ret;
}

/* The object of a row (columns: id, object). */
static json_t *row_object(sqlite3_stmt *st)
{
    json_t *o = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);

    if (o != NULL && json_is_object(o))
        json_object_set_new(o, "id", json_string((const char *)sqlite3_column_text(st, 0)));
    return o;
}

int submission_store_list(struct mail_store *ms, const char *account_id, json_t **out,
                          char state[SUBMISSION_STATE_MAX], struct gw_error *err)
{
    return object_table_list(ms, &submission_table, account_id, "submission_id, object",
                             row_object, out, state, err);
}

int submission_store_state(struct mail_store *ms, const char *account_id,
                           char state[SUBMISSION_STATE_MAX], struct gw_error *err)
{
    return object_table_state(ms, &submission_table, account_id, state, err);
}

/* The row's object (new reference) and queue state (into qs, "" for
 * none), or NULL with NOTFOUND when not live. */
static json_t *live_row(struct mail_store *ms, const char *account_id, const char *id,
                        char qs[16], struct gw_error *err)
{
    sqlite3_stmt *st = object_table_prepare(ms,
                                   "SELECT submission_id, object, coalesce(queue_state, '')"
                                   " FROM email_submissions WHERE account_id = ? AND"
                                   " submission_id = ? AND destroyed_modseq IS NULL",
                                   err);
    json_t *o = NULL;

    if (st == NULL)
        return NULL;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        /* Our own short words ('queued', 'sending'); anything else is none. */
        if (snprintf(qs, 16, "%s", (const char *)sqlite3_column_text(st, 2)) >= 16)
            qs[0] = '\0';
        o = row_object(st);
        if (o == NULL)
            gw_error_set(err, GW_ERR_NOMEM, "submission: bad row or out of memory");
    } else if (rc == SQLITE_DONE) {
        gw_error_set(err, GW_ERR_NOTFOUND, "no submission %s", id);
    } else {
        mail_store_db_fail(ms, err, "submission lookup");
    }
    sqlite3_finalize(st);
    return o;
}

/* Writes obj (borrowed) and the queue columns of id, stamped with a new
 * state when visible. */
static int write_row(struct mail_store *ms, const char *account_id, const char *id, json_t *obj,
                     const char *queue_state, int64_t next_try, bool count_attempt,
                     struct gw_error *err)
{
    int64_t modseq, attempt = count_attempt ? 1 : 0;
    json_t *copy = json_copy(obj);
    char *text = NULL;
    int ret = -1;

    if (copy != NULL)
        json_object_del(copy, "id");
    text = copy != NULL ? json_dumps(copy, JSON_COMPACT) : NULL;
    json_decref(copy);
    if (text == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    const void *v[] = {text, queue_state, &next_try, &attempt, &modseq, account_id, id};
    if (object_table_bump(ms, &submission_table, account_id, &modseq, err) == 0 &&
        sub_run(ms,
                "UPDATE email_submissions SET object = ?1, queue_state = ?2, next_try = ?3,"
                " attempts = attempts + ?4, updated_modseq = ?5,"
                " message = CASE WHEN ?2 IS NULL THEN NULL ELSE message END"
                " WHERE account_id = ?6 AND"
                " submission_id = ?7",
                "ttiiitt", v, err) == 1)
        ret = 0;
    free(text);
    return ret;
}

int submission_store_cancel(struct mail_store *ms, const char *account_id, const char *id,
                            struct gw_error *err)
{
    char qs[16] = "";
    int ret = -1;

    if (object_table_begin(ms, err) < 0)
        return -1;
    json_t *o = live_row(ms, account_id, id, qs, err);
    if (o == NULL)
        goto out;
    if (strcmp(qs, "queued") != 0) {
        ret = gw_error_set(err, GW_ERR_FORBIDDEN, "the submission is no longer pending");
        goto out;
    }
    json_object_set_new(o, "undoStatus", json_string("canceled"));
    ret = write_row(ms, account_id, id, o, NULL, 0, false, err);
out:
    json_decref(o);
    return object_table_end(ms, ret, err);
}

int submission_store_destroy(struct mail_store *ms, const char *account_id, const char *id,
                             struct gw_error *err)
{
    char qs[16] = "";
    int64_t modseq;
    int ret = -1;

    if (object_table_begin(ms, err) < 0)
        return -1;
    json_t *o = live_row(ms, account_id, id, qs, err);
    const void *v[] = {&modseq, account_id, id};
    if (o != NULL && object_table_bump(ms, &submission_table, account_id, &modseq, err) == 0 &&
        sub_run(ms,
                "UPDATE email_submissions SET queue_state = NULL, message = NULL,"
                " updated_modseq = ?1,"
                " destroyed_modseq = ?1 WHERE account_id = ?2 AND submission_id = ?3",
                "itt", v, err) == 1)
        ret = 0;
    json_decref(o);
    return object_table_end(ms, ret, err);
}

void submission_claim_clear(struct submission_claim *c)
{
    json_decref(c->obj);
    free(c->msg);
    memset(c, 0, sizeof(*c));
}

/* The claim's fields from a row (id, object, message). 0, or -1. */
static int claim_from_row(sqlite3_stmt *st, struct submission_claim *out)
{
    const void *blob = sqlite3_column_blob(st, 2);
    size_t len = (size_t)sqlite3_column_bytes(st, 2);

    if (blob == NULL)
        return -1;      /* a queued row always has its message */
    out->obj = row_object(st);
    out->msg = malloc(len + 1);
    if (out->obj == NULL || out->msg == NULL)
        return -1;
    memcpy(out->msg, blob, len);
    out->msg[len] = '\0';
    out->msg_len = len;
    return snprintf(out->id, SUBMISSION_ID_MAX, "%s", (const char *)sqlite3_column_text(st, 0)) <
                   SUBMISSION_ID_MAX
               ? 0
               : -1;
}

int submission_store_recover(struct mail_store *ms, const char *account_id,
                             struct gw_error *err)
{
    int64_t modseq;
    const void *v[] = {account_id, &modseq};

    if (object_table_begin(ms, err) < 0)
        return -1;
    int n = -1;
    sqlite3_stmt *st = object_table_prepare(ms,
                                   "SELECT count(*) FROM email_submissions WHERE"
                                   " account_id = ? AND queue_state = 'sending'",
                                   err);
    if (st != NULL) {
        sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
        n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0)
                                           : mail_store_db_fail(ms, err, "submission recovery");
        sqlite3_finalize(st);
    }
    if (n > 0 && (object_table_bump(ms, &submission_table, account_id, &modseq, err) < 0 ||
                  sub_run(ms,
                          "UPDATE email_submissions SET queue_state = NULL, message = NULL,"
                          " updated_modseq = ?2, object = json_set(object, '$.undoStatus',"
                          " 'final', '$.deliveryStatus', json('null')) WHERE account_id = ?1"
                          " AND queue_state = 'sending'",
                          "ti", v, err) < 0))
        n = -1;
    if (n > 0)
        gw_log_warn("account %s: %d submission(s) interrupted while sending: not sent again",
                    account_id, n);
    return object_table_end(ms, n < 0 ? -1 : 0, err) < 0 ? -1 : n;
}


int submission_store_claim_due(struct mail_store *ms, const char *account_id, int64_t now,
                               struct submission_claim *out, struct gw_error *err)
{
    int ret = -1;

    memset(out, 0, sizeof(*out));
    if (object_table_begin(ms, err) < 0)
        return -1;
    sqlite3_stmt *st = object_table_prepare(ms,
                                   "SELECT submission_id, object, message FROM email_submissions"
                                   " WHERE account_id = ? AND queue_state = 'queued' AND"
                                   " next_try <= ? AND destroyed_modseq IS NULL"
                                   " ORDER BY next_try LIMIT 1",
                                   err);
    if (st == NULL)
        return object_table_end(ms, -1, err);
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        ret = 0;
    } else if (rc != SQLITE_ROW) {
        mail_store_db_fail(ms, err, "submission queue");
    } else if (claim_from_row(st, out) < 0) {
        gw_error_set(err, GW_ERR_NOMEM, "submission: bad queue row or out of memory");
    } else {
        /* Claimed and committed before any byte goes to SMTP: a crash from
         * here on leaves it 'sending', which is never picked again. */
        const void *v[] = {account_id, out->id};
        ret = sub_run(ms,
                      "UPDATE email_submissions SET queue_state = 'sending' WHERE"
                      " account_id = ? AND submission_id = ?",
                      "tt", v, err) == 1
                  ? 1
                  : -1;
    }
    sqlite3_finalize(st);
    if (object_table_end(ms, ret < 0 ? -1 : 0, err) < 0 || ret < 0) {
        submission_claim_clear(out);
        return -1;
    }
    return ret;
}

int submission_store_finish(struct mail_store *ms, const char *account_id, const char *id,
                            json_t *obj, int64_t retry_at, struct gw_error *err)
{
    if (object_table_begin(ms, err) < 0)
        return -1;
    int ret = write_row(ms, account_id, id, obj, retry_at > 0 ? "queued" : NULL,
                        retry_at > 0 ? retry_at : 0, true, err);
    return object_table_end(ms, ret, err);
}

/* Runs a one-column query with one or two text parameters (b may be
 * NULL) under the store lock. Returns 1 with *value (may be NULL) set from
 * the first row, 0 when there is none, -1 on a database error. */
static int query_first_int(struct mail_store *ms, const char *sql, const char *a, const char *b,
                           int *value)
{
    int ret = -1;

    pthread_mutex_lock(store_db_lock(ms->st));
    sqlite3_stmt *st = object_table_prepare(ms, sql, NULL);
    if (st != NULL) {
        sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
        if (b != NULL)
            sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && value != NULL)
            *value = sqlite3_column_int(st, 0);
        ret = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(store_db_lock(ms->st));
    return ret;
}

int submission_store_has_queued(struct mail_store *ms, const char *account_id)
{
    return query_first_int(ms,
                           "SELECT 1 FROM email_submissions WHERE queue_state = 'queued'"
                           " AND account_id = ? LIMIT 1",
                           account_id, NULL, NULL);
}

int submission_store_attempts(struct mail_store *ms, const char *account_id, const char *id)
{
    int n = 0;
    query_first_int(ms,
                    "SELECT attempts FROM email_submissions WHERE"
                    " account_id = ? AND submission_id = ?",
                    account_id, id, &n);
    return n;
}

int submission_store_dsn_seen(struct mail_store *ms, const char *account_id,
                              const char *email_id)
{
    return query_first_int(ms,
                           "SELECT 1 FROM submission_dsn_seen WHERE account_id = ?"
                           " AND email_id = ?",
                           account_id, email_id, NULL);
}

int submission_store_dsn_apply(struct mail_store *ms, const char *account_id,
                               const char *email_id, const char *id, json_t *obj,
                               struct gw_error *err)
{
    char qs[16] = "";
    const void *v[] = {account_id, email_id};

    if (object_table_begin(ms, err) < 0)
        return -1;
    int ret = sub_run(ms,
                      "INSERT OR IGNORE INTO submission_dsn_seen (account_id, email_id)"
                      " VALUES (?, ?)",
                      "tt", v, err) < 0
                  ? -1
                  : 0;
    if (ret == 0 && id != NULL) {
        json_t *o = live_row(ms, account_id, id, qs, err);
        /* Only a submission out of the queue can have been reported on. */
        ret = o == NULL    ? -1
              : qs[0] != 0 ? gw_error_set(err, GW_ERR_NOTFOUND, "submission %s is queued", id)
                           : write_row(ms, account_id, id, obj, NULL, 0, false, err);
        json_decref(o);
    }
    return object_table_end(ms, ret, err);
}

void submission_changes_clear(struct submission_changes *c)
{
    object_changes_release(&c->created, &c->updated, &c->destroyed);
    c->has_more = false;
}

int submission_store_changes(struct mail_store *ms, const char *account_id, const char *since,
                             size_t max_changes, struct submission_changes *out,
                             struct gw_error *err)
{
    struct object_changes oc;

    memset(out, 0, sizeof(*out));
    if (object_table_changes(ms, &submission_table, account_id, since, max_changes, &oc,
                             err) < 0)
        return -1;
    object_changes_export(&oc, &out->created, &out->updated, &out->destroyed, &out->has_more,
                          out->new_state);
    return 0;
}
