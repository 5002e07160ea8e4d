/* test_mail_store_objectid.c - the mail cache on a server with RFC 8474
 * OBJECTID and RFC 4314 ACL (Dovecot 2.3 has neither OBJECTID nor, by
 * default, ACL), played by a scripted fake IMAP server in two phases:
 * - EMAILID decides identity: a message moved with another size keeps its
 *   id, a copy is the same Email, an identical message with its own
 *   EMAILID is another Email;
 * - THREADID decides threads, over Message-ID and References;
 * - MAILBOXID decides mailboxes: two mailboxes swapping names keep their
 *   ids (and their Emails), where names alone would mix them up;
 * - MYRIGHTS letters become myRights. */
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

#include "../../backends/imap/imap_read.h"
#include "backend_mail.h"
#include "fake_objectid.h"
#include "mail_store.h"
#include "store.h"

static void test_objectid(void **unused)
{
    (void)unused;
    struct gw_error err = { 0 };
    struct store *st = NULL;
    struct mail_store *ms = NULL;
    char db[128];
    assert_true(snprintf(db, sizeof(db), "%s/o.db", dir) < (int)sizeof(db));
    assert_int_equal(store_open(db, &st, &err), 0);
    assert_int_equal(store_account_ensure(st, "a1", "test", &err), 0);
    assert_int_equal(mail_store_open(st, &ms, &err), 0);
    write_phase(0);

    struct mail_backend *b = connect_fake();
    assert_true(backend_has_capability(b, "OBJECTID"));

    /* Phase 0. */
    sync_now(ms, b);
    struct mail_store_mailbox_list *ml = NULL;
    assert_int_equal(mail_store_list_mailboxes(ms, "a1", &ml, &err), 0);
    char inbox[MAIL_STORE_ID_MAX], work[MAIL_STORE_ID_MAX], docs[MAIL_STORE_ID_MAX];
    snprintf(inbox, sizeof(inbox), "%s", box(ml, "INBOX")->id);
    snprintf(work, sizeof(work), "%s", box(ml, "Work")->id);
    snprintf(docs, sizeof(docs), "%s", box(ml, "Docs")->id);
    assert_int_equal(box(ml, "Work")->rights, MAIL_STORE_MAY_READ_ITEMS);
    assert_int_equal(box(ml, "Docs")->rights, MAIL_STORE_RIGHTS_ALL);
    assert_int_equal(box(ml, "INBOX")->rights, MAIL_STORE_RIGHTS_ALL);
    mail_store_mailbox_list_free(&ml);

    struct mail_store_email_list *l = emails(ms, inbox);
    assert_int_equal(l->n, 3);
    char id_a[MAIL_STORE_ID_MAX], id_b[MAIL_STORE_ID_MAX], t_a[MAIL_STORE_ID_MAX];
    const struct mail_store_email *a = with_header(l, "Message-ID: <a@x>"), *b2 = with_header(l, "Message-ID: <b@x>"),
                                   *c = with_header(l, "Message-ID: <c@x>");
    snprintf(id_a, sizeof(id_a), "%s", a->id);
    snprintf(id_b, sizeof(id_b), "%s", b2->id);
    snprintf(t_a, sizeof(t_a), "%s", a->thread_id);
    assert_string_equal(b2->thread_id, t_a);
    /* References <a@x>, yet the server threads it apart: THREADID wins. */
    assert_string_not_equal(c->thread_id, t_a);
    mail_store_email_list_free(&l);
    l = emails(ms, work);
    assert_int_equal(l->n, 1);
    char id_d[MAIL_STORE_ID_MAX];
    snprintf(id_d, sizeof(id_d), "%s", l->v[0].id);
    mail_store_email_list_free(&l);

    /* Phase 1. */
    char e1[MAIL_STORE_STATE_MAX];
    assert_int_equal(mail_store_state(ms, "a1", MAIL_STORE_EMAIL, e1, &err), 0);
    write_phase(1);
    sync_now(ms, b);
    assert_int_equal(mail_store_list_mailboxes(ms, "a1", &ml, &err), 0);
    /* MAILBOXID: the swapped names follow the server's ids. */
    assert_string_equal(box(ml, "Docs")->id, work);
    assert_string_equal(box(ml, "Work")->id, docs);
    assert_int_equal(box(ml, "Docs")->rights, MAIL_STORE_MAY_READ_ITEMS);
    mail_store_mailbox_list_free(&ml);

    struct mail_store_changes ch = { 0 };
    assert_int_equal(mail_store_changes(ms, "a1", MAIL_STORE_EMAIL, e1, 0, &ch, &err), 0);
    assert_int_equal(ch.created.n, 2);      /* Mfive, Msix */
    assert_int_equal(ch.destroyed.n, 0);
    mail_store_changes_clear(&ch);

    l = emails(ms, work);   /* the mailbox now called Docs */
    assert_int_equal(l->n, 3);
    assert_string_equal(with_header(l, "Message-ID: <a@x>")->id, id_a);    /* moved, other size */
    assert_string_equal(with_header(l, "Message-ID: <b@x>")->id, id_b);    /* copied */
    assert_int_equal(with_header(l, "Message-ID: <b@x>")->n_mailbox_ids, 2);
    assert_string_equal(with_header(l, "Message-ID: <d@x>")->id, id_d);
    mail_store_email_list_free(&l);

    l = emails(ms, inbox);
    assert_int_equal(l->n, 4);
    /* No References to the thread, same THREADID: same thread. */
    assert_string_equal(with_header(l, "Message-ID: <e@x>")->thread_id, t_a);
    /* Byte-identical to Mfour but its own EMAILID: another Email. */
    const struct mail_store_email *twin = with_header(l, "Message-ID: <d@x>");
    assert_string_not_equal(twin->id, id_d);
    assert_int_equal(twin->n_mailbox_ids, 1);
    mail_store_email_list_free(&l);

    backend_close(&b);
    mail_store_close(&ms);
    store_close(&st);
}

/* RFC 8474 objectid values: "(" 1*255(ALPHA / DIGIT / "_" / "-") ")" or NIL. */
static void test_objectid_values(void **unused)
{
    (void)unused;
    static const struct {
        const char *atom;   /* the one item inside the list; NULL: NIL */
        bool list;          /* parenthesised */
        int rc;
        const char *want;
    } cases[] = {
        { "M6d99ac3275bb4e", true, 0, "M6d99ac3275bb4e" },
        { "F2212ea87-6097-4256_9d51", true, 0, "F2212ea87-6097-4256_9d51" },
        { NULL, false, 0, NULL },
        { "M6d99ac3275bb4e", false, -1, NULL },     /* not in parentheses */
        { "a.b", true, -1, NULL },
        { "a/b", true, -1, NULL },
        { "", true, -1, NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct imap_value atom = { .type = IMAP_V_ATOM };
        struct imap_value v = { .type = IMAP_V_NIL };
        if (cases[i].atom != NULL) {
            atom.s = cases[i].atom;
            atom.len = strlen(cases[i].atom);
            v = cases[i].list ? (struct imap_value){ .type = IMAP_V_LIST, .items = &atom, .n = 1 }
                              : atom;
        }
        char *out = NULL;
        assert_int_equal(imap_objectid(&v, &out), cases[i].rc);
        if (cases[i].want != NULL)
            assert_string_equal(out, cases[i].want);
        else
            assert_null(out);
        free(out);
    }
    /* Longer than 255 characters. */
    char longer[300];
    memset(longer, 'a', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    struct imap_value atom = { .type = IMAP_V_ATOM, .s = longer, .len = strlen(longer) };
    struct imap_value v = { .type = IMAP_V_LIST, .items = &atom, .n = 1 };
    char *out = NULL;
    assert_int_equal(imap_objectid(&v, &out), -1);
    assert_null(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_objectid_values),
        cmocka_unit_test(test_objectid),
    };
    return cmocka_run_group_tests(tests, fake_objectid_setup, fake_objectid_teardown);
}
