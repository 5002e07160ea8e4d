/* test_identity_store.c - the identities table (schema 5): an older
 * database with an account migrates and keeps its modseq; the default
 * identity is made once; create/update/destroy move the Identity state on
 * the account's modseq; changes answer from any earlier state and cut at
 * maxChanges; the default identity cannot be destroyed. */
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

#include "identity_store.h"
#include "mail_store.h"
#include "store.h"

struct fixture {
    char dir[64];
    char path[128];
    struct store *st;
    struct mail_store *ms;
};

/* Schema version 1 with one account at modseq 41, as an old binary left it. */
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

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct gw_error err = {0};
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/jmapgw-idstore-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_true(snprintf(f->path, sizeof(f->path), "%s/gateway.db", f->dir) <
                (int)sizeof(f->path));
    write_v1_database(f->path);
    assert_int_equal(store_open(f->path, &f->st, &err), 0);
    assert_int_equal(store_schema_version(f->st), store_schema_latest());
    assert_int_equal(mail_store_open(f->st, &f->ms, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    mail_store_close(&f->ms);
    store_close(&f->st);
    for (size_t i = 0; i < 3; i++) {
        char p[160];
        snprintf(p, sizeof(p), "%s%s", f->path, suffixes[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static json_t *list_of(struct fixture *f, char state[IDENTITY_STATE_MAX])
{
    json_t *list = NULL;
    struct gw_error err = {0};
    assert_int_equal(identity_store_list(f->ms, "a1", &list, state, &err), 0);
    return list;
}

static void test_default_once(void **state)
{
    struct fixture *f = *state;
    struct gw_error err = {0};
    char s1[IDENTITY_STATE_MAX], s2[IDENTITY_STATE_MAX];

    assert_int_equal(identity_store_ensure_default(f->ms, "a1", "alice@x.test", "Alice", &err), 0);
    json_t *l = list_of(f, s1);
    assert_int_equal(json_array_size(l), 1);
    json_t *d = json_array_get(l, 0);
    assert_string_equal(json_string_value(json_object_get(d, "email")), "alice@x.test");
    assert_string_equal(json_string_value(json_object_get(d, "name")), "Alice");
    assert_true(json_is_false(json_object_get(d, "mayDelete")));
    assert_true(json_is_null(json_object_get(d, "replyTo")));
    /* The state continues the account's modseq (41) rather than restarting. */
    assert_string_equal(s1, "42");
    json_decref(l);
    assert_int_equal(identity_store_ensure_default(f->ms, "a1", "alice@x.test", "", &err), 0);
    l = list_of(f, s2);
    assert_int_equal(json_array_size(l), 1);
    assert_string_equal(s1, s2);
    json_decref(l);
    /* An unknown account has no state. */
    assert_int_equal(identity_store_state(f->ms, "nope", s2, &err), -1);
    assert_int_equal(err.code, GW_ERR_NOTFOUND);
}

static void test_lifecycle_and_changes(void **state)
{
    struct fixture *f = *state;
    struct gw_error err = {0};
    struct identity_changes ch;
    char s0[IDENTITY_STATE_MAX], s[IDENTITY_STATE_MAX], id[24], def[24];

    assert_int_equal(identity_store_ensure_default(f->ms, "a1", "alice@x.test", "", &err), 0);
    json_t *l = list_of(f, s0);
    snprintf(def, sizeof(def), "%s", json_string_value(json_object_get(json_array_get(l, 0), "id")));
    json_decref(l);

    json_t *props = json_pack("{s:s, s:s, s:[{s:s, s:n}]}", "email", "alice@x.test", "name", "W",
                              "bcc", "email", "b@x.test", "name");
    assert_int_equal(identity_store_create(f->ms, "a1", props, id, &err), 0);
    json_decref(props);
    assert_int_equal(id[0], 'I');
    props = json_pack("{s:s, s:n}", "textSignature", "sig", "bcc");
    assert_int_equal(identity_store_update(f->ms, "a1", id, props, &err), 0);
    assert_int_equal(identity_store_update(f->ms, "a1", "Inope", props, &err), -1);
    assert_int_equal(err.code, GW_ERR_NOTFOUND);
    json_decref(props);

    l = list_of(f, s);
    assert_int_equal(json_array_size(l), 2);
    json_t *o = json_array_get(l, 1);
    assert_string_equal(json_string_value(json_object_get(o, "textSignature")), "sig");
    assert_true(json_is_null(json_object_get(o, "bcc")));
    assert_string_equal(json_string_value(json_object_get(o, "name")), "W");
    json_decref(l);

    /* Created then updated since s0: reported once, as created. */
    assert_int_equal(identity_store_changes(f->ms, "a1", s0, 100, &ch, &err), 0);
    assert_int_equal(json_array_size(ch.created), 1);
    assert_int_equal(json_array_size(ch.updated), 0);
    assert_string_equal(ch.new_state, s);
    identity_changes_clear(&ch);

    assert_int_equal(identity_store_destroy(f->ms, "a1", def, &err), -1);
    assert_int_equal(err.code, GW_ERR_FORBIDDEN);
    assert_int_equal(identity_store_destroy(f->ms, "a1", id, &err), 0);
    assert_int_equal(identity_store_destroy(f->ms, "a1", id, &err), -1);
    assert_int_equal(err.code, GW_ERR_NOTFOUND);

    assert_int_equal(identity_store_changes(f->ms, "a1", s, 100, &ch, &err), 0);
    assert_int_equal(json_array_size(ch.destroyed), 1);
    assert_string_equal(json_string_value(json_array_get(ch.destroyed, 0)), id);
    identity_changes_clear(&ch);
    assert_int_equal(identity_store_changes(f->ms, "a1", s0, 100, &ch, &err), 0);
    assert_int_equal(json_array_size(ch.created) + json_array_size(ch.destroyed), 0);
    identity_changes_clear(&ch);

    /* Future and malformed states cannot be answered. */
    assert_int_equal(identity_store_changes(f->ms, "a1", "99999", 10, &ch, &err), -1);
    assert_int_equal(err.code, GW_ERR_INVALID);
    assert_int_equal(identity_store_changes(f->ms, "a1", "1x", 10, &ch, &err), -1);
    assert_int_equal(err.code, GW_ERR_INVALID);
}

static void test_max_changes(void **state)
{
    struct fixture *f = *state;
    struct gw_error err = {0};
    struct identity_changes ch;
    char s0[IDENTITY_STATE_MAX], id[24];

    assert_int_equal(identity_store_ensure_default(f->ms, "a1", "alice@x.test", "", &err), 0);
    assert_int_equal(identity_store_state(f->ms, "a1", s0, &err), 0);
    json_t *props = json_pack("{s:s}", "email", "alice@x.test");
    for (int i = 0; i < 3; i++)
        assert_int_equal(identity_store_create(f->ms, "a1", props, id, &err), 0);
    json_decref(props);
    char since[IDENTITY_STATE_MAX];
    snprintf(since, sizeof(since), "%s", s0);
    size_t seen = 0;
    for (int round = 0; round < 5; round++) {
        assert_int_equal(identity_store_changes(f->ms, "a1", since, 2, &ch, &err), 0);
        seen += json_array_size(ch.created);
        assert_true(json_array_size(ch.created) <= 2);
        bool more = ch.has_more;
        snprintf(since, sizeof(since), "%s", ch.new_state);
        identity_changes_clear(&ch);
        if (!more)
            break;
    }
    assert_int_equal(seen, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_default_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle_and_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_changes, setup, teardown),
    };
    return cmocka_run_group_tests_name("identity_store", tests, NULL, NULL);
}
