/* object_table.c - backends/store/object_table.h: the state counter,
 * transactions, listing and /changes shared by the gateway-owned JMAP
 * object types. */
#include "object_table.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sqlite3_stmt *object_table_prepare(struct mail_store *ms, const char *sql, struct gw_error *err)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(ms->db, sql, -1, &st, NULL) != SQLITE_OK) {
        mail_store_db_fail(ms, err, "prepare");
        return NULL;
    }
    return st;
}

/* A statement whose SQL names the type's table and columns (fmt takes
 * only our own identifiers) with the account bound to parameter 1. */
__attribute__((format(printf, 4, 5)))
static sqlite3_stmt *prepare_named(struct mail_store *ms, const char *account_id,
                                   struct gw_error *err, const char *fmt, ...)
{
    char sql[512];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(sql)) {
        gw_error_set(err, GW_ERR_INTERNAL, "object table: statement too long");
        return NULL;
    }
    sqlite3_stmt *st = object_table_prepare(ms, sql, err);
    if (st != NULL)
        sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    return st;
}

int object_table_begin(struct mail_store *ms, struct gw_error *err)
{
    pthread_mutex_lock(store_db_lock(ms->st));
    if (sqlite3_exec(ms->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        mail_store_db_fail(ms, err, "begin");
        pthread_mutex_unlock(store_db_lock(ms->st));
        return -1;
    }
    return 0;
}

int object_table_end(struct mail_store *ms, int ret, struct gw_error *err)
{
    if (ret == 0 && sqlite3_exec(ms->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        ret = mail_store_db_fail(ms, err, "commit");
    if (ret != 0)
        sqlite3_exec(ms->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(store_db_lock(ms->st));
    return ret;
}

static int unknown_account(const struct object_table *t, struct gw_error *err)
{
    return gw_error_set(err, GW_ERR_NOTFOUND, "%s store: unknown account", t->label);
}

/* The type's state of the account as a number. Lock held. */
static int state_locked(struct mail_store *ms, const struct object_table *t,
                        const char *account_id, int64_t *out, struct gw_error *err)
{
    sqlite3_stmt *st = prepare_named(ms, account_id, err,
                                     "SELECT %s FROM accounts WHERE account_id = ?",
                                     t->state_column);
    int ret;

    if (st == NULL)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        ret = 0;
    } else if (rc == SQLITE_DONE) {
        ret = unknown_account(t, err);
    } else {
        ret = mail_store_db_fail(ms, err, "object state");
    }
    sqlite3_finalize(st);
    return ret;
}

static void format_state(int64_t v, char out[OBJECT_STATE_MAX])
{
    /* 20 characters at most: always fits. */
    if (snprintf(out, OBJECT_STATE_MAX, "%" PRId64, v) >= OBJECT_STATE_MAX)
        abort();
}

/* Only what format_state writes: decimal digits, nothing else. */
static int parse_state(const char *s, int64_t *out)
{
    char *end;

    if (s == NULL || s[0] < '0' || s[0] > '9' || strlen(s) >= OBJECT_STATE_MAX)
        return -1;
    *out = strtoll(s, &end, 10);
    return *end == '\0' ? 0 : -1;
}

int object_table_bump(struct mail_store *ms, const struct object_table *t,
                      const char *account_id, int64_t *modseq, struct gw_error *err)
{
    sqlite3_stmt *st = prepare_named(ms, account_id, err,
                                     "UPDATE accounts SET modseq = modseq + 1, %s = modseq + 1"
                                     " WHERE account_id = ?",
                                     t->state_column);
    if (st == NULL)
        return -1;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return mail_store_db_fail(ms, err, "object bump");
    if (sqlite3_changes(ms->db) != 1)
        return unknown_account(t, err);
    return state_locked(ms, t, account_id, modseq, err);
}

int object_table_state(struct mail_store *ms, const struct object_table *t,
                       const char *account_id, char state[OBJECT_STATE_MAX],
                       struct gw_error *err)
{
    int64_t v = 0;

    pthread_mutex_lock(store_db_lock(ms->st));
    int ret = state_locked(ms, t, account_id, &v, err);
    pthread_mutex_unlock(store_db_lock(ms->st));
    if (ret == 0)
        format_state(v, state);
    return ret;
}

int object_table_list(struct mail_store *ms, const struct object_table *t,
                      const char *account_id, const char *columns, object_table_row_fn row,
                      json_t **out, char state[OBJECT_STATE_MAX], struct gw_error *err)
{
    int64_t v = 0;
    int ret = -1, rc;
    json_t *list = json_array();

    *out = NULL;
    if (list == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    pthread_mutex_lock(store_db_lock(ms->st));
    sqlite3_stmt *st = prepare_named(ms, account_id, err,
                                     "SELECT %s FROM %s WHERE account_id = ? AND"
                                     " destroyed_modseq IS NULL ORDER BY created_modseq",
                                     columns, t->table);
    if (st == NULL)
        goto out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = row(st);
        if (o == NULL || json_array_append_new(list, o) != 0) {
            gw_error_set(err, GW_ERR_NOMEM, "%s list: bad row or out of memory", t->label);
            goto out;
        }
    }
    if (rc != SQLITE_DONE) {
        mail_store_db_fail(ms, err, "object list");
        goto out;
    }
    if (state_locked(ms, t, account_id, &v, err) < 0)
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

void object_changes_release(json_t **created, json_t **updated, json_t **destroyed)
{
    json_decref(*created);
    json_decref(*updated);
    json_decref(*destroyed);
    *created = *updated = *destroyed = NULL;
}

void object_changes_clear(struct object_changes *c)
{
    object_changes_release(&c->created, &c->updated, &c->destroyed);
    memset(c, 0, sizeof(*c));
}

void object_changes_export(struct object_changes *c, json_t **created, json_t **updated,
                           json_t **destroyed, bool *has_more,
                           char new_state[OBJECT_STATE_MAX])
{
    *created = c->created;
    *updated = c->updated;
    *destroyed = c->destroyed;
    *has_more = c->has_more;
    memcpy(new_state, c->new_state, OBJECT_STATE_MAX);
    memset(c, 0, sizeof(*c));
}

/* The rows stamped after from into out, at most max_changes. Lock held. */
static int collect_changes(struct mail_store *ms, const struct object_table *t,
                           const char *account_id, int64_t from, int64_t now,
                           size_t max_changes, struct object_changes *out,
                           struct gw_error *err)
{
    int64_t reached = now;
    int ret = -1, rc;
    size_t n = 0;
    sqlite3_stmt *st = prepare_named(ms, account_id, err,
                                     "SELECT %s, created_modseq, updated_modseq,"
                                     " destroyed_modseq FROM %s WHERE account_id = ? AND"
                                     " updated_modseq > ? ORDER BY updated_modseq",
                                     t->id_column, t->table);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 2, from);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        bool created = sqlite3_column_int64(st, 1) > from;
        bool destroyed = sqlite3_column_type(st, 3) != SQLITE_NULL;
        if (n == max_changes) {
            out->has_more = true;
            break;
        }
        /* Each write stamps one row with its own modseq: cutting here
         * leaves no half-reported state. */
        reached = sqlite3_column_int64(st, 2);
        n++;
        json_t *into = created ? (destroyed ? NULL : out->created)
                               : (destroyed ? out->destroyed : out->updated);
        if (into != NULL && json_array_append_new(into, json_string(id)) != 0) {
            gw_error_set(err, GW_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    if (!out->has_more && rc != SQLITE_DONE) {
        mail_store_db_fail(ms, err, "object changes");
        goto out;
    }
    format_state(out->has_more ? reached : now, out->new_state);
    ret = 0;
out:
    sqlite3_finalize(st);
    return ret;
}

int object_table_changes(struct mail_store *ms, const struct object_table *t,
                         const char *account_id, const char *since, size_t max_changes,
                         struct object_changes *out, struct gw_error *err)
{
    int64_t from = 0, now = 0;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    out->created = json_array();
    out->updated = json_array();
    out->destroyed = json_array();
    if (out->created == NULL || out->updated == NULL || out->destroyed == NULL) {
        object_changes_clear(out);
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_lock(store_db_lock(ms->st));
    if (state_locked(ms, t, account_id, &now, err) == 0) {
        if (parse_state(since, &from) < 0 || from > now)
            gw_error_set(err, GW_ERR_INVALID, "unknown %s state", t->type_name);
        else
            ret = collect_changes(ms, t, account_id, from, now, max_changes, out, err);
    }
    pthread_mutex_unlock(store_db_lock(ms->st));
    if (ret < 0)
        object_changes_clear(out);
    return ret;
}
