/* test_mail_store_schema.c - schema v2 (the mail cache): a version-1
 * database with an account migrates keeping its data, and the tables and
 * indexes the mail store relies on exist with working constraints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "store_fixture.h"

static int setup(void **state)
{
    *state = store_fixture_new("msschema");
    return 0;
}

static int teardown(void **state)
{
    store_fixture_free(*state);
    return 0;
}

static int raw_exec(const char *path, const char *sql)
{
    return store_fixture_exec(path, sql, true);
}

/* A database written by the version-1 binary: migration 1's schema, verbatim. */
static void test_v1_database_migrates(void **state)
{
    struct store_fixture *f = *state;
    struct store *s = NULL;
    struct gw_error err = { 0 };
    uint64_t modseq = 0;

    assert_int_equal(raw_exec(f->path,
                              "CREATE TABLE accounts ("
                              "  account_id TEXT PRIMARY KEY,"
                              "  username TEXT NOT NULL,"
                              "  modseq INTEGER NOT NULL DEFAULT 0 CHECK (modseq >= 0),"
                              "  created_at INTEGER NOT NULL DEFAULT (unixepoch()),"
                              "  updated_at INTEGER NOT NULL DEFAULT (unixepoch())"
                              ") WITHOUT ROWID;"
                              "CREATE INDEX accounts_username ON accounts(username);"
                              "INSERT INTO accounts(account_id, username, modseq) VALUES ('a1','alice',41);"
                              "PRAGMA user_version = 1;"),
                     SQLITE_OK);
    assert_true(store_schema_latest() >= 2);
    assert_int_equal(store_open(f->path, &s, &err), 0);
    assert_int_equal(store_schema_version(s), store_schema_latest());
    assert_int_equal(store_account_modseq(s, "a1", &modseq, &err), 0);
    assert_int_equal(modseq, 41);
    store_close(&s);
    /* New per-type counters start at zero for existing accounts. */
    assert_int_equal(store_fixture_query_int(f->path, "SELECT email_state + mailbox_state + thread_state"
                                            " + email_horizon FROM accounts WHERE account_id='a1'"),
                     0);
}

static void test_tables_and_constraints(void **state)
{
    struct store_fixture *f = *state;
    struct store *s = NULL;
    struct gw_error err = { 0 };

    assert_int_equal(store_open(f->path, &s, &err), 0);
    assert_int_equal(store_account_ensure(s, "a1", "alice", &err), 0);
    store_close(&s);

    static const char *const objects[] = { "mailboxes", "emails", "email_locations", "threads",
                                           "thread_keys", "email_locations_list", "emails_guid" };
    for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
        char q[160];
        assert_true(snprintf(q, sizeof(q), "SELECT count(*) FROM sqlite_master WHERE name='%s'",
                             objects[i]) < (int)sizeof(q));
        assert_int_equal(store_fixture_query_int(f->path, q), 1);
    }
    assert_int_equal(raw_exec(f->path,
                              "INSERT INTO emails(account_id,email_id,guid,thread_id,created_modseq,"
                              "updated_modseq) VALUES ('a1','E1','g1','T1',1,1);"
                              "INSERT INTO email_locations(account_id,email_id,mailbox_id,uidvalidity,uid)"
                              " VALUES ('a1','E1','M1',5,1);"),
                     SQLITE_OK);
    /* One GUID is one Email. */
    assert_int_not_equal(raw_exec(f->path, "INSERT INTO emails(account_id,email_id,guid,thread_id,"
                                           "created_modseq,updated_modseq)"
                                           " VALUES ('a1','E2','g1','T1',2,2);"),
                         SQLITE_OK);
    /* A location needs its Email; deleting the Email drops its locations. */
    assert_int_not_equal(raw_exec(f->path, "INSERT INTO email_locations(account_id,email_id,"
                                           "mailbox_id,uidvalidity,uid)"
                                           " VALUES ('a1','nope','M1',5,2);"),
                         SQLITE_OK);
    assert_int_equal(raw_exec(f->path, "DELETE FROM emails WHERE email_id='E1'"), SQLITE_OK);
    assert_int_equal(store_fixture_query_int(f->path, "SELECT count(*) FROM email_locations"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_v1_database_migrates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tables_and_constraints, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
