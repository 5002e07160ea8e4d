/* test_mail_store_mailbox.c - mailbox sync against a private Dovecot:
 * ids and roles on first sync, a quiet second sync moves nothing, create /
 * rename / delete / UIDVALIDITY reset follow the rules in mail_store.h,
 * and states survive closing and reopening the store. */
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

static void close_all(struct store **st, struct mail_store **ms)
{
    mail_store_close(ms);
    assert_null(*ms);
    store_close(st);
}

static void sync_now(struct mail_store *ms, struct mail_backend *b)
{
    struct gw_error err = { 0 };
    if (mail_store_sync_mailboxes(ms, "a1", b, &err) != 0)
        fail_msg("sync: %s", err.msg);
}

static unsigned long long state_of(struct mail_store *ms)
{
    char s[MAIL_STORE_STATE_MAX];
    struct gw_error err = { 0 };
    assert_int_equal(mail_store_state(ms, "a1", MAIL_STORE_MAILBOX, s, &err), 0);
    return strtoull(s, NULL, 10);
}

/* The id of the live mailbox whose JMAP name (leaf) is leaf, or NULL;
 * optionally its parent id and role (new strings or NULL). */
static char *id_of(struct mail_store *ms, const char *leaf, const char **parent_out, char **role_out)
{
    struct mail_store_mailbox_list *l = NULL;
    struct gw_error err = { 0 };
    char *id = NULL;
    assert_int_equal(mail_store_list_mailboxes(ms, "a1", &l, &err), 0);
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].name, leaf) != 0)
            continue;
        assert_null(id);
        id = strdup(l->v[i].id);
        if (parent_out)
            *parent_out = l->v[i].parent_id ? strdup(l->v[i].parent_id) : NULL;
        if (role_out)
            *role_out = l->v[i].role ? strdup(l->v[i].role) : NULL;
    }
    mail_store_mailbox_list_free(&l);
    assert_null(l);
    return id;
}

static void expect_role(struct mail_store *ms, const char *leaf, const char *role)
{
    char *r = NULL;
    const char *p = NULL;
    char *id = id_of(ms, leaf, &p, &r);
    assert_non_null(id);
    assert_int_equal(id[0], 'M');
    assert_int_equal(strlen(id), 14);
    assert_null(p);
    assert_non_null(r);
    assert_string_equal(r, role);
    free(r);
    free(id);
}

static void test_mailbox_sync(void **state)
{
    (void)state;
    struct store *st = NULL;
    struct mail_store *ms = NULL;
    struct mail_backend *b = conn();
    struct gw_error err = { 0 };

    assert_true(snprintf(db_path, sizeof(db_path), "%s/gateway.db", W->root) < (int)sizeof(db_path));
    open_all(&st, &ms);
    assert_int_equal(state_of(ms), 0);
    assert_int_equal(mail_store_sync_mailboxes(ms, "nobody", b, &err), -1);
    assert_int_equal(err.code, GW_ERR_NOTFOUND);

    sync_now(ms, b);
    unsigned long long s1 = state_of(ms);
    assert_true(s1 > 0);
    expect_role(ms, "INBOX", "inbox");
    expect_role(ms, "Drafts", "drafts");
    expect_role(ms, "Sent", "sent");
    expect_role(ms, "Trash", "trash");
    expect_role(ms, "Junk", "junk");
    char *inbox = id_of(ms, "INBOX", NULL, NULL);

    /* Nothing changed: nothing moves, ids are stable. */
    sync_now(ms, b);
    assert_int_equal(state_of(ms), s1);
    char *inbox2 = id_of(ms, "INBOX", NULL, NULL);
    assert_string_equal(inbox, inbox2);
    free(inbox2);

    /* A child mailbox gets its parent's id; one sync is one modseq step. */
    raw(b, "CREATE Work");
    raw(b, "CREATE Work/Sub");
    sync_now(ms, b);
    unsigned long long s2 = state_of(ms);
    assert_int_equal(s2, s1 + 1);
    const char *parent = NULL;
    char *work = id_of(ms, "Work", NULL, NULL);
    char *sub = id_of(ms, "Sub", &parent, NULL);
    assert_non_null(work);
    assert_non_null(sub);
    assert_non_null(parent);
    assert_string_equal(parent, work);
    free((char *)parent);

    /* A rename keeps the id (same UIDVALIDITY, old name gone). */
    raw(b, "RENAME Work/Sub Work/Renamed");
    sync_now(ms, b);
    assert_int_equal(state_of(ms), s2 + 1);
    assert_null(id_of(ms, "Sub", NULL, NULL));
    char *renamed = id_of(ms, "Renamed", NULL, NULL);
    assert_string_equal(renamed, sub);

    /* Counts are Mailbox properties: new mail moves the state. */
    static const char *const msg[] = { "Subject: hi\r\nMessage-ID: <m1@x>\r\n\r\nbody\r\n" };
    append(b, "INBOX", msg, 1, "");
    sync_now(ms, b);
    assert_int_equal(state_of(ms), s2 + 2);

    /* Delete and recreate (a new UIDVALIDITY): the mailbox keeps its id;
     * only its email locations are dropped. */
    raw(b, "CREATE Reset");
    sync_now(ms, b);
    char *reset = id_of(ms, "Reset", NULL, NULL);
    raw(b, "DELETE Reset");
    raw(b, "CREATE Reset");
    sync_now(ms, b);
    char *reset2 = id_of(ms, "Reset", NULL, NULL);
    assert_string_equal(reset, reset2);
    free(reset);
    free(reset2);
    unsigned long long s_reset = state_of(ms);

    /* Delete: gone from the list (a tombstone). */
    raw(b, "DELETE Work/Renamed");
    sync_now(ms, b);
    assert_int_equal(state_of(ms), s_reset + 1);
    assert_null(id_of(ms, "Renamed", NULL, NULL));
    unsigned long long s3 = state_of(ms);

    /* Restart: states and ids come back from the database. */
    close_all(&st, &ms);
    open_all(&st, &ms);
    assert_int_equal(state_of(ms), s3);
    char *inbox3 = id_of(ms, "INBOX", NULL, NULL);
    assert_string_equal(inbox, inbox3);
    sync_now(ms, b);
    assert_int_equal(state_of(ms), s3);

    free(inbox3);
    free(renamed);
    free(sub);
    free(work);
    free(inbox);
    close_all(&st, &ms);
    backend_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mailbox_sync),
    };
    return cmocka_run_group_tests(tests, world_setup, world_teardown);
}
