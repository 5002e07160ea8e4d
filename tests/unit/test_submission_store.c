/* test_submission_store.c - the email_submissions table (schema 6): an
 * older database with an account migrates and keeps its modseq; create,
 * cancel and destroy move the EmailSubmission state; /changes answers
 * from earlier states (tombstones) and cuts at maxChanges; the queue
 * gives a due submission once (claimed), keeps its bytes until it is
 * final, retries when asked; a row left 'sending' by a crash is never
 * given again and becomes final. */
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

#include "mail_store.h"
#include "store.h"
#include "submission_store.h"

struct fixture {
    char dir[64];
    char path[128];
    struct store *st;
    struct mail_store *ms;
};

static void write_v1_database(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE accounts ("
                                  "  account_id TEXT PRIMARY KEY,"
                                  "  username TEXT NOT NULL,"
                                  "  modseq INTEGER NOT NULL DEFAULT 0 CHECK (modseq >= 0),"
                                  "  created_at INTEGER NOT NULL DEFAULT (unixepoch()),"
                                  "  updated_at INTEGER NOT NULL DEFAULT (unixepoch())"
                                  ") WITHOUT ROWID;"
                                  "CREATE INDEX accounts_username ON accounts(username);"
                                  "INSERT INTO accounts(account_id, username, modseq)"
                                  " VALUES ('a1','alice',41);"
                                  "PRAGMA user_version = 1;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
}

static void open_store(struct fixture *f)
{
    struct gw_error err = {0};
    assert_int_equal(store_open(f->path, &f->st, &err), 0);
    assert_int_equal(store_schema_version(f->st), store_schema_latest());
    assert_int_equal(mail_store_open(f->st, &f->ms, &err), 0);
}

static void close_store(struct fixture *f)
{
    mail_store_close(&f->ms);
    store_close(&f->st);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/jmapgw-substore-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_true(snprintf(f->path, sizeof(f->path), "%s/gateway.db", f->dir) <
                (int)sizeof(f->path));
    write_v1_database(f->path);
    open_store(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    close_store(f);
    for (size_t i = 0; i < 3; i++) {
        char p[160];
        snprintf(p, sizeof(p), "%s%s", f->path, suffixes[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static json_t *object(const char *email_id)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:n}", "identityId", "I1", "emailId", email_id,
                     "threadId", "T1", "sendAt", "2026-11-23T10:00:00Z", "undoStatus", "pending",
                     "deliveryStatus");
}

static void state_now(struct fixture *f, char out[SUBMISSION_STATE_MAX])
{
    struct gw_error err = {0};
    assert_int_equal(submission_store_state(f->ms, "a1", out, &err), 0);
}

static void test_lifecycle_and_changes(void **state)
{
    struct fixture *f = *state;
    struct gw_error err = {0};
    char s0[SUBMISSION_STATE_MAX], s1[SUBMISSION_STATE_MAX], id1[SUBMISSION_ID_MAX],
        id2[SUBMISSION_ID_MAX];

    state_now(f, s0);
    assert_string_equal(s0, "0");
    json_t *o = object("E1");
    assert_int_equal(submission_store_create(f->ms, "a1", o, "queued", 100, "bytes", 5, id1, &err),
                     0);
    json_decref(o);
    state_now(f, s1);
    assert_string_equal(s1, "42");   /* the account's modseq went on from 41 */
    o = object("E2");
    assert_int_equal(submission_store_create(f->ms, "a1", o, NULL, 0, NULL, 0, id2, &err), 0);
    json_decref(o);
    assert_string_not_equal(id1, id2);
    assert_int_equal(id1[0], 'S');

    /* Only a queued one may be canceled. */
    assert_int_equal(submission_store_cancel(f->ms, "a1", id2, &err), -1);
    assert_int_equal(err.code, GW_ERR_FORBIDDEN);
    assert_int_equal(submission_store_cancel(f->ms, "a1", id1, &err), 0);
    assert_int_equal(submission_store_cancel(f->ms, "a1", "Snope", &err), -1);
    assert_int_equal(err.code, GW_ERR_NOTFOUND);
    assert_int_equal(submission_store_has_queued(f->ms, "a1"), 0);

    json_t *list = NULL;
    char st[SUBMISSION_STATE_MAX];
    assert_int_equal(submission_store_list(f->ms, "a1", &list, st, &err), 0);
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "undoStatus")),
                        "canceled");
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "id")), id1);
    json_decref(list);

    struct submission_changes ch;
    assert_int_equal(submission_store_changes(f->ms, "a1", s0, SIZE_MAX, &ch, &err), 0);
    assert_int_equal(json_array_size(ch.created), 2);
    assert_int_equal(json_array_size(ch.updated), 0);
    submission_changes_clear(&ch);
    assert_int_equal(submission_store_changes(f->ms, "a1", s1, SIZE_MAX, &ch, &err), 0);
    assert_int_equal(json_array_size(ch.created), 1);     /* id2 */
    assert_int_equal(json_array_size(ch.updated), 1);     /* id1 canceled */
    submission_changes_clear(&ch);
    assert_int_equal(submission_store_changes(f->ms, "a1", s0, 1, &ch, &err), 0);
    assert_true(ch.has_more);
    submission_changes_clear(&ch);

    state_now(f, s1);
    assert_int_equal(submission_store_destroy(f->ms, "a1", id2, &err), 0);
    assert_int_equal(submission_store_destroy(f->ms, "a1", id2, &err), -1);
    assert_int_equal(submission_store_changes(f->ms, "a1", s1, SIZE_MAX, &ch, &err), 0);
    assert_int_equal(json_array_size(ch.destroyed), 1);
    assert_string_equal(json_string_value(json_array_get(ch.destroyed, 0)), id2);
    submission_changes_clear(&ch);
    assert_int_equal(submission_store_changes(f->ms, "a1", "999", SIZE_MAX, &ch, &err), -1);
    assert_int_equal(err.code, GW_ERR_INVALID);
}

static void test_queue(void **state)
{
    struct fixture *f = *state;
    struct gw_error err = {0};
    struct submission_claim c;
    char id[SUBMISSION_ID_MAX];

    json_t *o = object("E1");
    assert_int_equal(submission_store_create(f->ms, "a1", o, "queued", 100, "Subject: x\r\n\r\n",
                                             14, id, &err),
                     0);
    json_decref(o);
    assert_int_equal(submission_store_has_queued(f->ms, "a1"), 1);
    assert_int_equal(submission_store_claim_due(f->ms, "a1", 99, &c, &err), 0);   /* not yet */
    assert_int_equal(submission_store_claim_due(f->ms, "a1", 100, &c, &err), 1);
    assert_string_equal(c.id, id);
    assert_int_equal(c.msg_len, 14);
    assert_memory_equal(c.msg, "Subject: x\r\n\r\n", 14);
    /* Claimed: given once, not cancelable any more. */
    struct submission_claim again;
    assert_int_equal(submission_store_claim_due(f->ms, "a1", 1000, &again, &err), 0);
    assert_int_equal(submission_store_cancel(f->ms, "a1", id, &err), -1);
    /* A temporary failure: back in the queue with its bytes. */
    assert_int_equal(submission_store_finish(f->ms, "a1", id, c.obj, 200, &err), 0);
    assert_int_equal(submission_store_attempts(f->ms, "a1", id), 1);
    submission_claim_clear(&c);
    assert_int_equal(submission_store_claim_due(f->ms, "a1", 200, &c, &err), 1);
    json_object_set_new(c.obj, "undoStatus", json_string("final"));
    assert_int_equal(submission_store_finish(f->ms, "a1", id, c.obj, 0, &err), 0);
    submission_claim_clear(&c);
    assert_int_equal(submission_store_claim_due(f->ms, "a1", 10000, &c, &err), 0);
    assert_int_equal(submission_store_has_queued(f->ms, "a1"), 0);
}

/* A gateway dies between claiming and marking: the row stays 'sending';
 * the next process never gives it out again and makes it final. */
static void test_crash_while_sending(void **state)
{
    struct fixture *f = *state;
    struct gw_error err = {0};
    struct submission_claim c;
    char id[SUBMISSION_ID_MAX];

    json_t *o = object("E9");
    assert_int_equal(submission_store_create(f->ms, "a1", o, "sending", 0, "m", 1, id, &err), 0);
    json_decref(o);
    close_store(f);
    open_store(f);
    assert_int_equal(submission_store_claim_due(f->ms, "a1", 1LL << 40, &c, &err), 0);
    assert_int_equal(submission_store_recover(f->ms, "a1", &err), 1);
    assert_int_equal(submission_store_recover(f->ms, "a1", &err), 0);
    json_t *list = NULL;
    char st[SUBMISSION_STATE_MAX];
    assert_int_equal(submission_store_list(f->ms, "a1", &list, st, &err), 0);
    json_t *row = json_array_get(list, json_array_size(list) - 1);
    assert_string_equal(json_string_value(json_object_get(row, "id")), id);
    assert_string_equal(json_string_value(json_object_get(row, "undoStatus")), "final");
    json_decref(list);
}

/* Delivery reports: an Email is remembered once looked at; applying one
 * rewrites a final submission under a new state, never a queued one. */
static void test_dsn_seen_and_apply(void **state)
{
    struct fixture *f = *state;
    struct gw_error err = {0};
    char s0[SUBMISSION_STATE_MAX], s1[SUBMISSION_STATE_MAX], done[SUBMISSION_ID_MAX],
        queued[SUBMISSION_ID_MAX];

    json_t *o = object("E1");
    assert_int_equal(submission_store_create(f->ms, "a1", o, NULL, 0, NULL, 0, done, &err), 0);
    assert_int_equal(submission_store_create(f->ms, "a1", o, "queued", 100, "m", 1, queued, &err),
                     0);
    json_decref(o);
    state_now(f, s0);
    assert_int_equal(submission_store_dsn_seen(f->ms, "a1", "Ereport"), 0);
    /* Not a report of ours: remembered, nothing else changes. */
    assert_int_equal(submission_store_dsn_apply(f->ms, "a1", "Eother", NULL, NULL, &err), 0);
    assert_int_equal(submission_store_dsn_seen(f->ms, "a1", "Eother"), 1);
    assert_int_equal(submission_store_dsn_seen(f->ms, "a2", "Eother"), 0);
    state_now(f, s1);
    assert_string_equal(s0, s1);

    o = object("E1");
    json_object_set_new(o, "undoStatus", json_string("final"));
    json_object_set_new(o, "dsnBlobIds", json_pack("[s]", "Breport"));
    /* A queued submission cannot have been reported on: nothing recorded. */
    assert_int_equal(submission_store_dsn_apply(f->ms, "a1", "Ereport", queued, o, &err), -1);
    assert_int_equal(err.code, GW_ERR_NOTFOUND);
    assert_int_equal(submission_store_dsn_seen(f->ms, "a1", "Ereport"), 0);
    assert_int_equal(submission_store_dsn_apply(f->ms, "a1", "Ereport", done, o, &err), 0);
    json_decref(o);
    assert_int_equal(submission_store_dsn_seen(f->ms, "a1", "Ereport"), 1);

    struct submission_changes ch;
    assert_int_equal(submission_store_changes(f->ms, "a1", s0, SIZE_MAX, &ch, &err), 0);
    assert_int_equal(json_array_size(ch.updated), 1);
    assert_string_equal(json_string_value(json_array_get(ch.updated, 0)), done);
    submission_changes_clear(&ch);
    json_t *list = NULL;
    assert_int_equal(submission_store_list(f->ms, "a1", &list, s1, &err), 0);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_array_get(list, 0), "dsnBlobIds"), 0)),
                        "Breport");
    json_decref(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lifecycle_and_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_while_sending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dsn_seen_and_apply, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
