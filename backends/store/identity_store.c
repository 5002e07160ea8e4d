/* identity_store.c - include/identity_store.h on the gateway's SQLite
 * store. Every write bumps the account's modseq and stamps it as the
 * Identity state in the same transaction, under the store lock. */
#include "identity_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "object_table.h"

_Static_assert(IDENTITY_STATE_MAX == OBJECT_STATE_MAX, "state sizes differ");

static const struct object_table identity_table = {
    "identities", "identity_id", "identity_state", "identity", "Identity",
};

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

static int insert_locked(struct mail_store *ms, const char *account_id, json_t *props,
                         bool may_delete, char id[24], struct gw_error *err)
{
    int64_t modseq;
    char fresh[16];

    if (mail_store_mint_id('I', fresh, err) < 0 || object_table_bump(ms, &identity_table, account_id, &modseq, err) < 0)
        return -1;
    sqlite3_stmt *st = object_table_prepare(
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
        return mail_store_db_fail(ms, err, "identity insert");
    memcpy(id, fresh, sizeof(fresh));
    return 0;
}

int identity_store_ensure_default(struct mail_store *ms, const char *account_id,
                                  const char *email, const char *name, struct gw_error *err)
{
    char id[24];
    int ret = -1;

    if (object_table_begin(ms, err) < 0)
        return -1;
    sqlite3_stmt *st = object_table_prepare(
        ms, "SELECT 1 FROM identities WHERE account_id = ? AND may_delete = 0 LIMIT 1", err);
    if (st == NULL)
        return object_table_end(ms, -1, err);
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
        mail_store_db_fail(ms, err, "identity default");
    }
    return object_table_end(ms, ret, err);
}

int identity_store_create(struct mail_store *ms, const char *account_id, json_t *props,
                          char id[24], struct gw_error *err)
{
    if (object_table_begin(ms, err) < 0)
        return -1;
    return object_table_end(ms, insert_locked(ms, account_id, props, true, id, err), err);
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
    return object_table_list(ms, &identity_table, account_id,
                             "identity_id, name, email, reply_to, bcc, text_signature,"
                             " html_signature, may_delete",
                             row_object, out, state, err);
}

int identity_store_state(struct mail_store *ms, const char *account_id,
                         char state[IDENTITY_STATE_MAX], struct gw_error *err)
{
    return object_table_state(ms, &identity_table, account_id, state, err);
}

/* may_delete of a live identity: 1/0, or -1 with NOTFOUND. */
static int live_may_delete(struct mail_store *ms, const char *account_id, const char *id,
                           struct gw_error *err)
{
    sqlite3_stmt *st = object_table_prepare(ms,
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
                                  : mail_store_db_fail(ms, err, "identity lookup");
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
    sqlite3_stmt *st = object_table_prepare(ms, sql, err);
    if (st == NULL)
        return -1;
    bind_prop(st, 1, value, identity_columns[col].json);
    sqlite3_bind_text(st, 2, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : mail_store_db_fail(ms, err, "identity update");
}

/* Stamps a row with modseq; with destroy also tombstones it. */
static int stamp_row_as(struct mail_store *ms, const char *account_id, const char *id,
                        int64_t modseq, bool destroy, struct gw_error *err)
{
    sqlite3_stmt *st = object_table_prepare(ms,
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
    return rc == SQLITE_DONE ? 0 : mail_store_db_fail(ms, err, "identity stamp");
}

static int stamp_row(struct mail_store *ms, const char *account_id, const char *id,
                     int64_t modseq, struct gw_error *err)
{
    return stamp_row_as(ms, account_id, id, modseq, false, err);
}

int identity_store_update(struct mail_store *ms, const char *account_id, const char *id,
                          json_t *props, struct gw_error *err)
{
    int64_t modseq;

    if (object_table_begin(ms, err) < 0)
        return -1;
    if (live_may_delete(ms, account_id, id, err) < 0 || object_table_bump(ms, &identity_table, account_id, &modseq, err) < 0)
        return object_table_end(ms, -1, err);
    /* An update that sets nothing new still counts as a change. */
    if (stamp_row(ms, account_id, id, modseq, err) < 0)
        return object_table_end(ms, -1, err);
    for (size_t i = 0; i < N_COLUMNS; i++) {
        json_t *v = json_object_get(props, identity_columns[i].prop);
        if (v != NULL && update_column(ms, account_id, id, i, v, err) < 0)
            return object_table_end(ms, -1, err);
    }
    return object_table_end(ms, 0, err);
}

int identity_store_destroy(struct mail_store *ms, const char *account_id, const char *id,
                           struct gw_error *err)
{
    int64_t modseq;

    if (object_table_begin(ms, err) < 0)
        return -1;
    int may = live_may_delete(ms, account_id, id, err);
    if (may < 0)
        return object_table_end(ms, -1, err);
    if (may == 0)
        return object_table_end(ms, gw_error_set(err, GW_ERR_FORBIDDEN, "identity may not be deleted"),
                      err);
    if (object_table_bump(ms, &identity_table, account_id, &modseq, err) < 0)
        return object_table_end(ms, -1, err);
    return object_table_end(ms, stamp_row_as(ms, account_id, id, modseq, true, err), err);
}

void identity_changes_clear(struct identity_changes *c)
{
    object_changes_release(&c->created, &c->updated, &c->destroyed);
    c->has_more = false;
}

int identity_store_changes(struct mail_store *ms, const char *account_id, const char *since,
                           size_t max_changes, struct identity_changes *out,
                           struct gw_error *err)
{
    struct object_changes oc;

    memset(out, 0, sizeof(*out));
    if (object_table_changes(ms, &identity_table, account_id, since, max_changes, &oc, err) < 0)
        return -1;
    object_changes_export(&oc, &out->created, &out->updated, &out->destroyed, &out->has_more,
                          out->new_state);
    return 0;
}
