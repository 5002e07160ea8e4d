/* test_store.c - the SQLite store: creation, WAL, schema versions and
 * migrations, accounts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../../backends/mailstore/mail_store_db.h"
#include "store.h"
#include "store_fixture.h"

static int setup(void **state)
{
    *state = store_fixture_new("store");
    return 0;
}

static int teardown(void **state)
{
    store_fixture_free(*state);
    return 0;
}

/* Runs sql on the raw file, outside the store. */
static void raw_exec(const char *path, const char *sql)
{
    assert_int_equal(store_fixture_exec(path, sql, false), SQLITE_OK);
}

static void test_create_wal_mode_version(void **state)
{
    struct store_fixture *f = *state;
    struct store *s = NULL;
    struct gw_error err = { 0 };
    struct stat st;

    assert_true(store_schema_latest() >= 1);
    assert_int_equal(store_open(f->path, &s, &err), 0);
    assert_non_null(s);
    assert_int_equal(store_schema_version(s), store_schema_latest());
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    char *mode = NULL;
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    mode = strdup((const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(db);
    assert_string_equal(mode, "wal");
    free(mode);

    assert_int_equal(store_fixture_query_int(f->path, "PRAGMA user_version"), store_schema_latest());
    /* A sync's scratch tables live in memory, not in a temporary file. */
    q = NULL;
    assert_int_equal(sqlite3_prepare_v2(store_db_handle(s), "PRAGMA temp_store", -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 2);  /* MEMORY */
    sqlite3_finalize(q);
    store_close(&s);
    assert_null(s);
}

static void test_accounts_and_reopen(void **state)
{
    struct store_fixture *f = *state;
    struct store *s = NULL;
    struct gw_error err = { 0 };
    uint64_t modseq = 99;

    assert_int_equal(store_open(f->path, &s, &err), 0);
    assert_int_equal(store_account_ensure(s, "a1", "alice", &err), 0);
    assert_int_equal(store_account_ensure(s, "a1", "alice", &err), 0);
    assert_int_equal(store_account_modseq(s, "a1", &modseq, &err), 0);
    assert_int_equal(modseq, 0);
    assert_int_equal(store_account_modseq(s, "nobody", &modseq, &err), -1);
    assert_int_equal(err.code, GW_ERR_NOTFOUND);
    assert_int_equal(store_account_ensure(s, "", "x", &err), -1);
    assert_int_equal(err.code, GW_ERR_INVALID);
    /* The user name follows the account's current one. */
    assert_int_equal(store_account_ensure(s, "a1", "alice2", &err), 0);
    store_close(&s);

    assert_int_equal(store_fixture_query_int(f->path, "SELECT count(*) FROM accounts"), 1);
    assert_int_equal(store_fixture_query_int(f->path,
                                   "SELECT username = 'alice2' FROM accounts WHERE account_id='a1'"),
                     1);

    raw_exec(f->path, "UPDATE accounts SET modseq = 42 WHERE account_id = 'a1'");
    assert_int_equal(store_open(f->path, &s, &err), 0);
    assert_int_equal(store_account_modseq(s, "a1", &modseq, &err), 0);
    assert_int_equal(modseq, 42);
    store_close(&s);
}

static void test_migrates_v0(void **state)
{
    struct store_fixture *f = *state;
    struct store *s = NULL;
    struct gw_error err = { 0 };

    /* A version-0 database: exists, has unrelated content, no schema of ours. */
    raw_exec(f->path, "CREATE TABLE leftover(x); INSERT INTO leftover VALUES (7);");
    assert_int_equal(store_fixture_query_int(f->path, "PRAGMA user_version"), 0);
    assert_int_equal(store_open(f->path, &s, &err), 0);
    assert_int_equal(store_schema_version(s), store_schema_latest());
    assert_int_equal(store_account_ensure(s, "a", "u", &err), 0);
    store_close(&s);
    assert_int_equal(store_fixture_query_int(f->path, "SELECT x FROM leftover"), 7);
    assert_int_equal(store_fixture_query_int(f->path, "PRAGMA user_version"), store_schema_latest());
}

static void test_refuses_newer(void **state)
{
    struct store_fixture *f = *state;
    struct store *s = NULL;
    struct gw_error err = { 0 };
    char sql[64];

    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", store_schema_latest() + 1);
    raw_exec(f->path, sql);
    assert_int_equal(store_open(f->path, &s, &err), -1);
    assert_null(s);
    assert_int_equal(err.code, GW_ERR_INVALID);
    assert_non_null(strstr(err.msg, "newer"));
}

static void test_bad_path(void **state)
{
    (void)state;
    struct store *s = NULL;
    struct gw_error err = { 0 };
    assert_int_equal(store_open("/nonexistent-dir/x/gateway.db", &s, &err), -1);
    assert_null(s);
    assert_int_not_equal(err.code, GW_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_wal_mode_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accounts_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrates_v0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_newer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_path, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
