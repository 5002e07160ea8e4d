/* test_mail_store_changes.c - Mailbox/changes from the modseq columns
 * against a private Dovecot: created/updated/destroyed windows, a create
 * and destroy inside one window reports nothing, maxChanges cuts between
 * syncs, bad and too-old states give MAIL_STORE_CANNOT_CALCULATE, and
 * answers survive a restart of the store. */
#define _GNU_SOURCE
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

#include "imap_read_session.h"
#include "mail_store.h"
#include "store.h"

static char db_path[128];

static void open_all(struct store **st, struct mail_store **ms)
{
    struct gw_error err = { 0 };
    if (store_open(db_path, st, &err) != 0)
        fail_msg("store_open: %s", err.msg);
    assert_int_equal(store_account_ensure(*st, "a1", "test", &err), 0);
    if (mail_store_open(*st, ms, &err) != 0)
        fail_msg("mail_store_open: %s", err.msg);
}

static void sync_state(struct mail_store *ms, struct mail_backend *b, char out[MAIL_STORE_STATE_MAX])
{
    struct gw_error err = { 0 };
    if (mail_store_sync_mailboxes(ms, "a1", b, &err) != 0)
        fail_msg("sync: %s", err.msg);
    assert_int_equal(mail_store_state(ms, "a1", MAIL_STORE_MAILBOX, out, &err), 0);
}

static char *id_named(struct mail_store *ms, const char *leaf)
{
    struct mail_store_mailbox_list *l = NULL;
    struct gw_error err = { 0 };
    char *id = NULL;
    assert_int_equal(mail_store_list_mailboxes(ms, "a1", &l, &err), 0);
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, leaf) == 0)
            id = strdup(l->v[i].id);
    mail_store_mailbox_list_free(&l);
    assert_non_null(id);
    return id;
}

static void expect_ids(const struct mail_store_ids *ids, const char *a, const char *b)
{
    assert_int_equal(ids->n, (a != NULL) + (b != NULL));
    for (size_t i = 0; i < ids->n; i++)
        assert_true((a && strcmp(ids->v[i], a) == 0) || (b && strcmp(ids->v[i], b) == 0));
    if (a && b)
        assert_string_not_equal(ids->v[0], ids->v[1]);
}

static int changes(struct mail_store *ms, const char *since, size_t max, struct mail_store_changes *c)
{
    struct gw_error err = { 0 };
    return mail_store_changes(ms, "a1", MAIL_STORE_MAILBOX, since, max, c, &err);
}

static void test_changes(void **state)
{
    (void)state;
    struct store *st = NULL;
    struct mail_store *ms = NULL;
    struct mail_backend *b = conn();
    struct mail_store_changes c;
    char s0[MAIL_STORE_STATE_MAX], s1[MAIL_STORE_STATE_MAX], sx[MAIL_STORE_STATE_MAX],
        sy[MAIL_STORE_STATE_MAX], s3[MAIL_STORE_STATE_MAX], s4[MAIL_STORE_STATE_MAX];

    assert_true(snprintf(db_path, sizeof(db_path), "%s/changes.db", W->root) < (int)sizeof(db_path));
    open_all(&st, &ms);
    struct gw_error err = { 0 };
    assert_int_equal(mail_store_state(ms, "a1", MAIL_STORE_MAILBOX, s0, &err), 0);
    assert_string_equal(s0, "0");
    sync_state(ms, b, s1);

    /* Everything is new since "0". */
    assert_int_equal(changes(ms, s0, 0, &c), 0);
    assert_true(c.created.n >= 5);
    assert_int_equal(c.updated.n + c.destroyed.n, 0);
    assert_string_equal(c.new_state, s1);
    assert_false(c.has_more);
    mail_store_changes_clear(&c);
    assert_int_equal(changes(ms, s1, 0, &c), 0);
    assert_int_equal(c.created.n + c.updated.n + c.destroyed.n, 0);
    assert_string_equal(c.new_state, s1);
    mail_store_changes_clear(&c);

    /* maxChanges cuts between syncs. */
    raw(b, "CREATE X");
    sync_state(ms, b, sx);
    raw(b, "CREATE Y");
    sync_state(ms, b, sy);
    char *x = id_named(ms, "X"), *y = id_named(ms, "Y");
    assert_int_equal(changes(ms, s1, 1, &c), 0);
    expect_ids(&c.created, x, NULL);
    assert_true(c.has_more);
    assert_string_equal(c.new_state, sx);
    mail_store_changes_clear(&c);
    assert_int_equal(changes(ms, sx, 1, &c), 0);
    expect_ids(&c.created, y, NULL);
    assert_false(c.has_more);
    assert_string_equal(c.new_state, sy);
    mail_store_changes_clear(&c);
    /* One sync's changes are never split. */
    assert_int_equal(changes(ms, s0, 2, &c), MAIL_STORE_CANNOT_CALCULATE);

    /* Rename = update, delete = destroy; created+destroyed in the window
     * is not reported; seen from inside it, it is a destroy. */
    raw(b, "RENAME X X2");
    raw(b, "DELETE Y");
    raw(b, "CREATE Z");
    sync_state(ms, b, s3);
    char *z = id_named(ms, "Z");
    raw(b, "DELETE Z");
    sync_state(ms, b, s4);
    assert_int_equal(changes(ms, sy, 0, &c), 0);
    expect_ids(&c.created, NULL, NULL);
    expect_ids(&c.updated, x, NULL);
    expect_ids(&c.destroyed, y, NULL);
    assert_string_equal(c.new_state, s4);
    mail_store_changes_clear(&c);
    assert_int_equal(changes(ms, s3, 0, &c), 0);
    expect_ids(&c.destroyed, z, NULL);
    assert_int_equal(c.created.n + c.updated.n, 0);
    mail_store_changes_clear(&c);

    /* Not states of this account. */
    static const char *const bad[] = { "", "abc", "01", "-1", "99999999", "1x" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(changes(ms, bad[i], 0, &c), MAIL_STORE_CANNOT_CALCULATE);
    assert_int_equal(changes(ms, NULL, 0, &c), MAIL_STORE_CANNOT_CALCULATE);

    /* Restart: the same question gets the same answer. */
    mail_store_close(&ms);
    store_close(&st);
    open_all(&st, &ms);
    assert_int_equal(changes(ms, sy, 0, &c), 0);
    expect_ids(&c.updated, x, NULL);
    expect_ids(&c.destroyed, y, NULL);
    assert_string_equal(c.new_state, s4);
    mail_store_changes_clear(&c);
    mail_store_close(&ms);
    store_close(&st);

    /* Tombstones pruned up to s3: older states cannot be answered. */
    sqlite3 *db = NULL;
    char sql[128];
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    assert_true(snprintf(sql, sizeof(sql), "UPDATE accounts SET mailbox_horizon = %s", s3) <
                (int)sizeof(sql));
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    open_all(&st, &ms);
    assert_int_equal(changes(ms, sy, 0, &c), MAIL_STORE_CANNOT_CALCULATE);
    assert_int_equal(changes(ms, s3, 0, &c), 0);
    expect_ids(&c.destroyed, z, NULL);
    mail_store_changes_clear(&c);

    free(x);
    free(y);
    free(z);
    mail_store_close(&ms);
    store_close(&st);
    backend_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_changes),
    };
    return cmocka_run_group_tests(tests, world_setup, world_teardown);
}
