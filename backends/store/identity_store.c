/* identity_store.c - include/identity_store.h on the gateway's SQLite
 * store. Every write bumps the account's modseq and stamps it as the
 * Identity state in the same transaction, under the store lock. */
#include "identity_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mailstore/mail_store_db.h"

/* The text columns and their property names, in SELECT order after id. */
static const struct {
    const char *column;
    const char *prop;
    bool json;                  /* stored as JSON text, NULL for null */
} identity_columns[] = {
    {"name", "name", false},
    {"email", "email", false},
    {"reply_to", "replyTo", true},
    {"bcc", "bcc", true},
    {"text_signature", "textSignature", false},
    {"html_signature", "htmlSignature", false},
};

#define N_COLUMNS (sizeof(identity_columns) / sizeof(identity_columns[0]))

static int id_fail(struct mail_store *ms, struct gw_error *err, const char *what)
{
    return mail_store_db_fail(ms, err, what);
}

static sqlite3_stmt *id_prepare(struct mail_store *ms, const char *sql, struct gw_error *err)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(ms->db, sql, -1, &st, NULL) != SQLITE_OK) {
        id_fail(ms, err, "prepare");
        return NULL;
    }
    return st;
}

static int id_exec(struct mail_store *ms, const char *sql, struct gw_error *err)
{
    if (sqlite3_exec(ms->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return id_fail(ms, err, sql);
    return 0;
}

static int id_state_locked(struct mail_store *ms, const char *account_id, uint64_t *out,
                           struct gw_error *err)
{
    sqlite3_stmt *st =
        id_prepare(ms, "SELECT identity_state FROM accounts WHERE account_id = ?", err);
    int ret = -1;

    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = (uint64_t)sqlite3_column_int64(st, 0);
        ret = 0;
    } else if (rc == SQLITE_DONE) {
        ret = gw_error_set(err, GW_ERR_NOTFOUND, "identity store: unknown account");
    } else {
        ret = id_fail(ms, err, "identity state");
    }
    sqlite3_finalize(st);
    return ret;
}

static void format_state(uint64_t v, char out[IDENTITY_STATE_MAX])
{
    snprintf(out, IDENTITY_STATE_MAX, "%" PRIu64, v);
}

/* Bumps the account modseq and makes it the Identity state; the new value. */
static int id_bump(struct mail_store *ms, const char *account_id, uint64_t *modseq,
                   struct gw_error *err)
{
    sqlite3_stmt *st = id_prepare(ms,
                                  "UPDATE accounts SET modseq = modseq + 1, identity_state = "
                                  "modseq + 1 WHERE account_id = ?",
                                  err);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return id_fail(ms, err, "identity bump");
    if (sqlite3_changes(ms->db) != 1)
        return gw_error_set(err, GW_ERR_NOTFOUND, "identity store: unknown account");
    return id_state_locked(ms, account_id, modseq, err);
}

/* Binds a property value to a column parameter (JSON text for arrays). */
static int bind_prop(sqlite3_stmt *st, int idx, json_t *value, bool as_json)
{
    if (value == NULL || json_is_null(value))
        return sqlite3_bind_null(st, idx);
    if (as_json) {
        char *text = json_dumps(value, JSON_COMPACT);
        if (text == NULL)
            return SQLITE_NOMEM;
        return sqlite3_bind_text(st, idx, text, -1, free);
    }
    return sqlite3_bind_text(st, idx, json_string_value(value), -1, SQLITE_TRANSIENT);
}

static json_t *column_value(sqlite3_stmt *st, int col, bool as_json)
{
    const char *text = (const char *)sqlite3_column_text(st, col);

    if (text == NULL)
        return as_json ? json_null() : json_string("");
    if (as_json) {
        json_t *v = json_loads(text, 0, NULL);
        return v != NULL ? v : json_null();
    }
    return json_string(text);
}

/* A transaction around fn's writes; rolled back on failure. */
static int id_begin(struct mail_store *ms, struct gw_error *err)
{
    pthread_mutex_lock(store_db_lock(ms->st));
    if (id_exec(ms, "BEGIN IMMEDIATE", err) < 0) {
        pthread_mutex_unlock(store_db_lock(ms->st));
        return -1;
    }
    return 0;
}

static int id_end(struct mail_store *ms, int ret, struct gw_error *err)
{
    if (ret == 0 && id_exec(ms, "COMMIT", err) < 0)
        ret = -1;
    if (ret != 0)
        sqlite3_exec(ms->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(store_db_lock(ms->st));
    return ret;
}

static int insert_locked(struct mail_store *ms, const char *account_id, json_t *props,
                         bool may_delete, char id[24], struct gw_error *err)
{
    uint64_t modseq;
    char fresh[16];

    if (mail_store_mint_id('I', fresh, err) < 0 || id_bump(ms, account_id, &modseq, err) < 0)
        return -1;
    sqlite3_stmt *st = id_prepare(
        ms,
        "INSERT INTO identities (account_id, identity_id, name, email, reply_to, bcc,"
        " text_signature, html_signature, may_delete, created_modseq, updated_modseq)"
        " VALUES (?, ?, coalesce(?, ''), ?, ?, ?, coalesce(?, ''), coalesce(?, ''), ?, ?, ?)",
        err);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, fresh, -1, SQLITE_STATIC);
    for (size_t i = 0; i < N_COLUMNS; i++)
        bind_prop(st, 3 + (int)i, json_object_get(props, identity_columns[i].prop),
                  identity_columns[i].json);
    sqlite3_bind_int(st, 9, may_delete ? 1 : 0);
    sqlite3_bind_int64(st, 10, (sqlite3_int64)modseq);
    sqlite3_bind_int64(st, 11, (sqlite3_int64)modseq);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return id_fail(ms, err, "identity insert");
    memcpy(id, fresh, sizeof(fresh));
    return 0;
}

int identity_store_ensure_default(struct mail_store *ms, const char *account_id,
                                  const char *email, const char *name, struct gw_error *err)
{
    char id[24];
    int ret = -1;

    if (id_begin(ms, err) < 0)
        return -1;
    sqlite3_stmt *st = id_prepare(
        ms, "SELECT 1 FROM identities WHERE account_id = ? AND may_delete = 0 LIMIT 1", err);
    if (st == NULL)
        return id_end(ms, -1, err);
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) {
        ret = 0;
    } else if (rc == SQLITE_DONE) {
        json_t *props = json_pack("{s:s, s:s}", "email", email, "name", name ? name : "");
        ret = props != NULL ? insert_locked(ms, account_id, props, false, id, err)
                            : gw_error_set(err, GW_ERR_NOMEM, "out of memory");
        json_decref(props);
    } else {
        id_fail(ms, err, "identity default");
    }
    return id_end(ms, ret, err);
}

int identity_store_create(struct mail_store *ms, const char *account_id, json_t *props,
                          char id[24], struct gw_error *err)
{
    if (id_begin(ms, err) < 0)
        return -1;
    return id_end(ms, insert_locked(ms, account_id, props, true, id, err), err);
}

static json_t *row_object(sqlite3_stmt *st)
{
    json_t *o = json_pack("{s:s, s:b}", "id", (const char *)sqlite3_column_text(st, 0),
                          "mayDelete", sqlite3_column_int(st, 1 + (int)N_COLUMNS));
    if (o == NULL)
        return NULL;
    for (size_t i = 0; i < N_COLUMNS; i++)
        json_object_set_new(o, identity_columns[i].prop,
                            column_value(st, 1 + (int)i, identity_columns[i].json));
    return o;
}

int identity_store_list(struct mail_store *ms, const char *account_id, json_t **out,
                        char state[IDENTITY_STATE_MAX], struct gw_error *err)
{
    uint64_t v;
    int ret = -1;
    json_t *list = json_array();

    *out = NULL;
    if (list == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    pthread_mutex_lock(store_db_lock(ms->st));
    sqlite3_stmt *st = id_prepare(
        ms,
        "SELECT identity_id, name, email, reply_to, bcc, text_signature, html_signature,"
        " may_delete FROM identities WHERE account_id = ? AND destroyed_modseq IS NULL"
        " ORDER BY created_modseq",
        err);
    if (st == NULL)
        goto out;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = row_object(st);
        if (o == NULL || json_array_append_new(list, o) != 0) {
            gw_error_set(err, GW_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    if (rc != SQLITE_DONE) {
        id_fail(ms, err, "identity list");
        goto out;
    }
    if (id_state_locked(ms, account_id, &v, err) < 0)
        goto out;
    format_state(v, state);
    *out = list;
    list = NULL;
    ret = 0;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(store_db_lock(ms->st));
    json_decref(list);
    return ret;
}

int identity_store_state(struct mail_store *ms, const char *account_id,
                         char state[IDENTITY_STATE_MAX], struct gw_error *err)
{
    uint64_t v;

    pthread_mutex_lock(store_db_lock(ms->st));
    int ret = id_state_locked(ms, account_id, &v, err);
    pthread_mutex_unlock(store_db_lock(ms->st));
    if (ret == 0)
        format_state(v, state);
    return ret;
}

/* may_delete of a live identity: 1/0, or -1 with NOTFOUND. */
static int live_may_delete(struct mail_store *ms, const char *account_id, const char *id,
                           struct gw_error *err)
{
    sqlite3_stmt *st = id_prepare(ms,
                                  "SELECT may_delete FROM identities WHERE account_id = ? AND"
                                  " identity_id = ? AND destroyed_modseq IS NULL",
                                  err);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int ret = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) != 0
              : rc == SQLITE_DONE ? gw_error_set(err, GW_ERR_NOTFOUND, "no identity %s", id)
                                  : id_fail(ms, err, "identity lookup");
    sqlite3_finalize(st);
    return ret;
}

static int update_column(struct mail_store *ms, const char *account_id, const char *id,
                         size_t col, json_t *value, struct gw_error *err)
{
    char sql[200];
    const char *fallback = identity_columns[col].json ? "NULL" : "''";

    if (snprintf(sql, sizeof(sql),
                 "UPDATE identities SET %s = coalesce(?, %s) WHERE account_id = ? AND"
                 " identity_id = ?",
                 identity_columns[col].column, fallback) >= (int)sizeof(sql))
        return gw_error_set(err, GW_ERR_INTERNAL, "identity update: statement too long");
    sqlite3_stmt *st = id_prepare(ms, sql, err);
    if (st == NULL)
        return -1;
    bind_prop(st, 1, value, identity_columns[col].json);
    sqlite3_bind_text(st, 2, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : id_fail(ms, err, "identity update");
}

/* Stamps a row with modseq; with destroy also tombstones it. */
static int stamp_row_as(struct mail_store *ms, const char *account_id, const char *id,
                        uint64_t modseq, bool destroy, struct gw_error *err)
{
    sqlite3_stmt *st = id_prepare(ms,
                                  destroy ? "UPDATE identities SET updated_modseq = ?1,"
                                            " destroyed_modseq = ?1 WHERE account_id = ?2 AND"
                                            " identity_id = ?3"
                                          : "UPDATE identities SET updated_modseq = ?1"
                                            " WHERE account_id = ?2 AND identity_id = ?3",
                                  err);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)modseq);
    sqlite3_bind_text(st, 2, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : id_fail(ms, err, "identity stamp");
}

static int stamp_row(struct mail_store *ms, const char *account_id, const char *id,
                     uint64_t modseq, struct gw_error *err)
{
    return stamp_row_as(ms, account_id, id, modseq, false, err);
}

int identity_store_update(struct mail_store *ms, const char *account_id, const char *id,
                          json_t *props, struct gw_error *err)
{
    uint64_t modseq;

    if (id_begin(ms, err) < 0)
        return -1;
    if (live_may_delete(ms, account_id, id, err) < 0 || id_bump(ms, account_id, &modseq, err) < 0)
        return id_end(ms, -1, err);
    /* An update that sets nothing new still counts as a change. */
    if (stamp_row(ms, account_id, id, modseq, err) < 0)
        return id_end(ms, -1, err);
    for (size_t i = 0; i < N_COLUMNS; i++) {
        json_t *v = json_object_get(props, identity_columns[i].prop);
        if (v != NULL && update_column(ms, account_id, id, i, v, err) < 0)
            return id_end(ms, -1, err);
    }
    return id_end(ms, 0, err);
}

int identity_store_destroy(struct mail_store *ms, const char *account_id, const char *id,
                           struct gw_error *err)
{
    uint64_t modseq;

    if (id_begin(ms, err) < 0)
        return -1;
    int may = live_may_delete(ms, account_id, id, err);
    if (may < 0)
        return id_end(ms, -1, err);
    if (may == 0)
        return id_end(ms, gw_error_set(err, GW_ERR_FORBIDDEN, "identity may not be deleted"),
                      err);
    if (id_bump(ms, account_id, &modseq, err) < 0)
        return id_end(ms, -1, err);
    return id_end(ms, stamp_row_as(ms, account_id, id, modseq, true, err), err);
}

static int parse_state(const char *s, uint64_t *out)
{
    char *end;

    if (s == NULL || s[0] < '0' || s[0] > '9' || strlen(s) >= IDENTITY_STATE_MAX)
        return -1;
    *out = strtoull(s, &end, 10);
    return *end == '\0' ? 0 : -1;
}

void identity_changes_clear(struct identity_changes *c)
{
    json_decref(c->created);
    json_decref(c->updated);
    json_decref(c->destroyed);
    memset(c, 0, sizeof(*c));
}

int identity_store_changes(struct mail_store *ms, const char *account_id, const char *since,
                           size_t max_changes, struct identity_changes *out,
                           struct gw_error *err)
{
    uint64_t from, now, reached;
    int ret = -1;
    size_t n = 0;
    sqlite3_stmt *st = NULL;

    memset(out, 0, sizeof(*out));
    out->created = json_array();
    out->updated = json_array();
    out->destroyed = json_array();
    if (out->created == NULL || out->updated == NULL || out->destroyed == NULL) {
        identity_changes_clear(out);
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_lock(store_db_lock(ms->st));
    if (id_state_locked(ms, account_id, &now, err) < 0)
        goto out;
    if (parse_state(since, &from) < 0 || from > now) {
        gw_error_set(err, GW_ERR_INVALID, "unknown Identity state");
        goto out;
    }
    reached = now;
    st = id_prepare(ms,
                    "SELECT identity_id, created_modseq, updated_modseq, destroyed_modseq"
                    " FROM identities WHERE account_id = ? AND updated_modseq > ?"
                    " ORDER BY updated_modseq",
                    err);
    if (st == NULL)
        goto out;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)from);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        uint64_t created = (uint64_t)sqlite3_column_int64(st, 1);
        bool destroyed = sqlite3_column_type(st, 3) != SQLITE_NULL;
        if (n == max_changes) {
            out->has_more = true;
            break;
        }
        /* Every write stamps one row with its own modseq, so cutting here
         * leaves no half-reported state. */
        reached = (uint64_t)sqlite3_column_int64(st, 2);
        n++;
        json_t *into = created > from ? (destroyed ? NULL : out->created)
                                      : (destroyed ? out->destroyed : out->updated);
        if (into != NULL && json_array_append_new(into, json_string(id)) != 0) {
            gw_error_set(err, GW_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    if (!out->has_more && rc != SQLITE_DONE) {
        id_fail(ms, err, "identity changes");
        goto out;
    }
    format_state(out->has_more ? reached : now, out->new_state);
    ret = 0;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(store_db_lock(ms->st));
    if (ret < 0)
        identity_changes_clear(out);
    return ret;
}
