/* mail_store.c - the mail cache's handle, states and mailbox sync
 * (include/mail_store.h). */
#include "mail_store.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "backend_mail.h"
#include "mail_store_apply.h"
#include "mail_store_backfill.h"
#include "mail_store_read.h"


static const char *const sql_live =
    "SELECT mailbox_id, name_raw, uidvalidity, name_utf8, ifnull(parent_id,''), ifnull(role,''),"
    " subscribed, total, unseen, ifnull(mailboxid,''), rights, rights_checked FROM mailboxes"
    " WHERE account_id = ?1 AND destroyed_modseq IS NULL";
static const char *const sql_insert =
    "INSERT INTO mailboxes(account_id, mailbox_id, name_raw, name_utf8, parent_id, delimiter, role,"
    " subscribed, uidvalidity, uidnext, highestmodseq, total, unseen, created_modseq, updated_modseq)"
    " VALUES (?1, ?2, ?3, ?4, nullif(?5,''), ?6, nullif(?7,''), ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14)";
static const char *const sql_update =
    "UPDATE mailboxes SET name_raw = ?3, name_utf8 = ?4, parent_id = nullif(?5,''), delimiter = ?6,"
    " role = nullif(?7,''), subscribed = ?8, uidvalidity = ?9, uidnext = ?10, highestmodseq = ?11,"
    " total = ?12, unseen = ?13, updated_modseq = CASE WHEN ?14 > 0 THEN ?14 ELSE updated_modseq END"
    " WHERE account_id = ?1 AND mailbox_id = ?2";
static const char *const sql_destroy =
    "UPDATE mailboxes SET destroyed_modseq = ?3, updated_modseq = ?3"
    " WHERE account_id = ?1 AND mailbox_id = ?2";
static const char *const sql_drop_locations =
    "DELETE FROM email_locations WHERE account_id = ?1 AND mailbox_id = ?2";
static const char *const sql_bump =
    "UPDATE accounts SET modseq = ?2, mailbox_state = ?2 WHERE account_id = ?1";
static const char *const sql_state =
    "SELECT CASE ?2 WHEN 0 THEN mailbox_state WHEN 1 THEN email_state ELSE thread_state END,"
    " modseq, CASE ?2 WHEN 0 THEN mailbox_horizon WHEN 1 THEN email_horizon ELSE thread_horizon END"
    " FROM accounts WHERE account_id = ?1";

int mail_store_db_fail(struct mail_store *ms, struct gw_error *err, const char *what)
{
    return gw_error_set(err, GW_ERR_INTERNAL, "mail store: %s: %s", what, sqlite3_errmsg(ms->db));
}

int mail_store_open(struct store *st, struct mail_store **out, struct gw_error *err)
{
    *out = NULL;
    struct mail_store *ms = calloc(1, sizeof(*ms));
    if (!ms)
        return gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
    ms->st = st;
    ms->db = store_db_handle(st);
    const struct { sqlite3_stmt **st; const char *sql; } prep[] = {
        { &ms->live_mailboxes, sql_live }, { &ms->insert_mailbox, sql_insert },
        { &ms->update_mailbox, sql_update }, { &ms->destroy_mailbox, sql_destroy },
        { &ms->drop_locations, sql_drop_locations }, { &ms->bump, sql_bump },
        { &ms->state, sql_state },
    };
    pthread_mutex_lock(store_db_lock(st));
    for (size_t i = 0; i < sizeof(prep) / sizeof(prep[0]); i++) {
        if (sqlite3_prepare_v3(ms->db, prep[i].sql, -1, SQLITE_PREPARE_PERSISTENT, prep[i].st,
                               NULL) != SQLITE_OK) {
            mail_store_db_fail(ms, err, "prepare");
            pthread_mutex_unlock(store_db_lock(st));
            mail_store_close(&ms);
            return -1;
        }
    }
    static const char *const kinds[] = { "mailbox", "email", "thread" };
    static const char *const tables[] = { "mailboxes", "emails", "threads" };
    for (size_t i = 0; i < 3; i++) {
        char sql[320];
        int n = snprintf(sql, sizeof(sql),
                         "SELECT %s_id, created_modseq, destroyed_modseq, updated_modseq FROM %s"
                         " WHERE account_id = ?1 AND updated_modseq > ?2"
                         " ORDER BY updated_modseq, %s_id",
                         kinds[i], tables[i], kinds[i]);
        if (n < 0 || n >= (int)sizeof(sql))
            abort();
        if (sqlite3_prepare_v3(ms->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &ms->changes[i],
                               NULL) != SQLITE_OK) {
            mail_store_db_fail(ms, err, "prepare");
            pthread_mutex_unlock(store_db_lock(st));
            mail_store_close(&ms);
            return -1;
        }
    }
    pthread_mutex_unlock(store_db_lock(st));
    if (mail_read_cache_new(&ms->read_cache) < 0) {
        mail_store_close(&ms);
        return gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
    }
    /* The backfill's table first: the readers read the schema as they
     * open, and a table created after that would make each read it again
     * on its first request. */
    if (mail_backfill_new(ms, &ms->backfill, err) < 0) {
        mail_store_close(&ms);
        return -1;
    }
    /* Every table exists now, the apply's temp tables too: the writer's
     * statements prepare up front, not on an account's first sync. */
    pthread_mutex_lock(store_db_lock(st));
    if (mail_apply_scratch(ms->db) == 0)
        mail_store_stmt_warm(ms, false);
    pthread_mutex_unlock(store_db_lock(st));
    if (mail_readers_open(ms, &ms->readers, err) < 0) {
        mail_store_close(&ms);
        return -1;
    }
    *out = ms;
    return 0;
}

void mail_store_close(struct mail_store **msp)
{
    struct mail_store *ms = *msp;
    if (!ms)
        return;
    mail_backfill_free(&ms->backfill);     /* its workers use the statements */
    sqlite3_stmt *all[] = { ms->live_mailboxes, ms->insert_mailbox, ms->update_mailbox,
                            ms->destroy_mailbox, ms->drop_locations, ms->bump, ms->state };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        sqlite3_finalize(all[i]);
    for (size_t i = 0; i < 3; i++)
        sqlite3_finalize(ms->changes[i]);
    for (size_t i = 0; i < sizeof(ms->cache) / sizeof(ms->cache[0]); i++)
        sqlite3_finalize(ms->cache[i].st);
    mail_readers_close(&ms->readers);
    mail_read_cache_free(&ms->read_cache);
    free(ms->expected);
    free(ms);
    *msp = NULL;
}

/* The three states at once: one read answers every type until a write. */
static const char *const sql_states MAIL_STORE_SQL =
    "SELECT mailbox_state, email_state, thread_state FROM accounts WHERE account_id = ?1";

static int read_states(struct mail_store *rv, const char *account_id, uint64_t states[3],
                       struct gw_error *err)
{
    sqlite3_stmt *st = mail_store_stmt(rv, sql_states, err);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    for (int i = 0; step == SQLITE_ROW && i < 3; i++)
        states[i] = (uint64_t)sqlite3_column_int64(st, i);
    sqlite3_reset(st);
    if (step == SQLITE_ROW)
        return 0;
    if (step == SQLITE_DONE)
        return gw_error_set(err, GW_ERR_NOTFOUND, "mail store: no account %s", account_id);
    return mail_store_db_fail(rv, err, "state");
}

int mail_store_state(struct mail_store *ms, const char *account_id, enum mail_store_type type,
                     char out[MAIL_STORE_STATE_MAX], struct gw_error *err)
{
    uint64_t states[3];
    int rc = 0;
    if ((unsigned)type > MAIL_STORE_THREAD)
        return gw_error_set(err, GW_ERR_INVALID, "mail store: bad type");
    struct mail_store *rv = mail_read_acquire(ms);
    uint64_t stamp = mail_read_stamp(ms, rv);
    if (!mail_read_cache_states(ms, stamp, account_id, states)) {
        rc = read_states(rv, account_id, states, err);
        if (rc == 0)
            mail_read_cache_put_states(ms, stamp, account_id, states);
    }
    mail_read_release(ms, rv);
    if (rc == 0 && snprintf(out, MAIL_STORE_STATE_MAX, "%llu",
                            (unsigned long long)states[type]) >= MAIL_STORE_STATE_MAX)
        abort();    /* a uint64 has at most 20 digits */
    return rc;
}

/* prefix + 13 base32 characters of 64 random bits. */
int mail_store_mint_id(char prefix, char out[16], struct gw_error *err)
{
    static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
    uint64_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        return gw_error_set(err, GW_ERR_INTERNAL, "mail store: getrandom failed");
    out[0] = prefix;
    for (int i = 1; i <= 13; i++, r >>= 5)
        out[i] = b32[r & 31];
    out[14] = '\0';
    return 0;
}

void mail_store_stmt_warm(struct mail_store *ms, bool read_only)
{
    size_t slots = sizeof(ms->cache) / sizeof(ms->cache[0]), used = 0;
    while (used < slots && ms->cache[used].sql != NULL)
        used++;
    for (const char *const *sql = __start_mail_store_sql; sql < __stop_mail_store_sql; sql++) {
        bool cached = false;
        for (size_t i = 0; i < used && !cached; i++)
            cached = ms->cache[i].sql == *sql;
        sqlite3_stmt *st = NULL;
        if (cached || sqlite3_prepare_v3(ms->db, *sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
                                         NULL) != SQLITE_OK)
            continue;
        if (read_only && !sqlite3_stmt_readonly(st)) {
            sqlite3_finalize(st);
            continue;
        }
        if (used == slots)  /* raise MAIL_STORE_STMT_SLOTS */
            abort();
        ms->cache[used].sql = *sql;
        ms->cache[used++].st = st;
    }
}

sqlite3_stmt *mail_store_stmt(struct mail_store *ms, const char *sql, struct gw_error *err)
{
    size_t n = sizeof(ms->cache) / sizeof(ms->cache[0]);
    for (size_t i = 0; i < n; i++) {
        if (ms->cache[i].sql == sql) {
            sqlite3_reset(ms->cache[i].st);
            sqlite3_clear_bindings(ms->cache[i].st);
            return ms->cache[i].st;
        }
        if (ms->cache[i].sql == NULL) {
            if (sqlite3_prepare_v3(ms->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &ms->cache[i].st,
                                   NULL) != SQLITE_OK) {
                mail_store_db_fail(ms, err, "prepare");
                return NULL;
            }
            ms->cache[i].sql = sql;
            return ms->cache[i].st;
        }
    }
    /* More statements than slots is a programming error, not input. */
    abort();
}

void mail_store_set_options(struct mail_store *ms, const struct mail_store_options *o)
{
    ms->opts = *o;
}
