/* test_mail_store_email.c - the email sync against a private Dovecot while
 * a second IMAP client changes the account behind the cache's back: new
 * mail, flags, move (id kept through X-GUID), copy (one Email, two
 * mailboxIds), expunge, threads across mailboxes, a mailbox deleted and
 * recreated (UIDVALIDITY reset), quiet syncs and a store restart. */
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

struct fx {
    struct store *st;
    struct mail_store *ms;
    struct mail_backend *gw;     /* the cache's connection */
    struct mail_backend *other;  /* another IMAP client */
};

static void open_store(struct fx *f)
{
    struct gw_error err = { 0 };
    if (store_open(db_path, &f->st, &err) != 0)
        fail_msg("store_open: %s", err.msg);
    assert_int_equal(store_account_ensure(f->st, "a1", "test", &err), 0);
    if (mail_store_open(f->st, &f->ms, &err) != 0)
        fail_msg("mail_store_open: %s", err.msg);
}

static void close_store(struct fx *f)
{
    mail_store_close(&f->ms);
    store_close(&f->st);
}

static void sync_now(struct fx *f)
{
    struct gw_error err = { 0 };
    if (mail_store_sync(f->ms, "a1", f->gw, &err) != 0)
        fail_msg("sync: %s", err.msg);
}

static void state(struct fx *f, enum mail_store_type t, char out[MAIL_STORE_STATE_MAX])
{
    struct gw_error err = { 0 };
    assert_int_equal(mail_store_state(f->ms, "a1", t, out, &err), 0);
}

static void changes(struct fx *f, enum mail_store_type t, const char *since,
                    struct mail_store_changes *c)
{
    struct gw_error err = { 0 };
    memset(c, 0, sizeof(*c));
    if (mail_store_changes(f->ms, "a1", t, since, 0, c, &err) != 0)
        fail_msg("changes: %s", err.msg);
}

static bool ids_have(const struct mail_store_ids *ids, const char *id)
{
    for (size_t i = 0; i < ids->n; i++)
        if (strcmp(ids->v[i], id) == 0)
            return true;
    return false;
}

static char *mailbox_id(struct fx *f, const char *name)
{
    struct mail_store_mailbox_list *l = NULL;
    struct gw_error err = { 0 };
    char *id = NULL;
    assert_int_equal(mail_store_list_mailboxes(f->ms, "a1", &l, &err), 0);
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            id = strdup(l->v[i].id);
    mail_store_mailbox_list_free(&l);
    assert_non_null(id);
    return id;
}

static const struct mail_store_mailbox *find_box(const struct mail_store_mailbox_list *l,
                                                 const char *id)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].id, id) == 0)
            return &l->v[i];
    fail_msg("no mailbox %s", id);
    return NULL;
}

/* The Emails of a mailbox, newest first. */
static struct mail_store_email_list *list(struct fx *f, const char *mailbox)
{
    struct mail_store_email_list *l = NULL;
    struct gw_error err = { 0 };
    if (mail_store_list_emails(f->ms, "a1", mailbox, MAIL_STORE_WITH_HEADERS, &l, &err) != 0)
        fail_msg("list: %s", err.msg);
    return l;
}

static bool has_keyword(const struct mail_store_email *e, const char *k)
{
    for (size_t i = 0; i < e->n_keywords; i++)
        if (strcmp(e->keywords[i], k) == 0)
            return true;
    return false;
}

static const char msg_a[] =
    "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\n"
    "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nDate: Mon, 2 Nov 2026 10:00:00 +0100\r\n"
    "Message-ID: <a@example.org>\r\n\r\nHello Bob.\r\n";
static const char msg_b[] =
    "From: bob@example.org\r\nTo: Alice <alice@example.org>\r\nSubject: Re: Gruesse\r\n"
    "Date: Mon, 2 Nov 2026 11:00:00 +0100\r\nMessage-ID: <b@example.org>\r\n"
    "In-Reply-To: <a@example.org>\r\nReferences: <a@example.org>\r\n\r\nHi Alice.\r\n";
static const char msg_c[] =
    "From: carol@example.org\r\nTo: bob@example.org\r\nSubject: Other\r\n"
    "Date: Mon, 2 Nov 2026 12:00:00 +0100\r\nMessage-ID: <c@example.org>\r\n"
    "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\n"
    "See attached.\r\n--x\r\nContent-Type: application/pdf\r\n"
    "Content-Disposition: attachment; filename=a.pdf\r\n\r\nPDF\r\n--x--\r\n";

static void test_sync(void **unused)
{
    (void)unused;
    struct fx f = { 0 };
    struct mail_store_changes c;
    char e0[MAIL_STORE_STATE_MAX], e1[MAIL_STORE_STATE_MAX], t1[MAIL_STORE_STATE_MAX],
        m1[MAIL_STORE_STATE_MAX], x[MAIL_STORE_STATE_MAX];
    assert_true(snprintf(db_path, sizeof(db_path), "%s/email.db", W->root) < (int)sizeof(db_path));
    open_store(&f);
    f.gw = conn();
    f.other = conn();
    state(&f, MAIL_STORE_EMAIL, e0);

    /* New mail: three Emails, two threads (b replies to a). */
    const char *msgs[] = { msg_a, msg_b, msg_c };
    const time_t dates[] = { 1793000000, 1793000100, 1793000200 };
    append_with(f.other, "INBOX", msgs, 3, (const char *const[]){ "\\Seen", "", "" }, dates);
    sync_now(&f);
    char *inbox = mailbox_id(&f, "INBOX"), *junk = mailbox_id(&f, "Junk");
    state(&f, MAIL_STORE_EMAIL, e1);
    state(&f, MAIL_STORE_THREAD, t1);
    state(&f, MAIL_STORE_MAILBOX, m1);
    changes(&f, MAIL_STORE_EMAIL, e0, &c);
    assert_int_equal(c.created.n, 3);
    assert_int_equal(c.updated.n + c.destroyed.n, 0);
    mail_store_changes_clear(&c);
    struct mail_store_email_list *l = list(&f, inbox);
    assert_int_equal(l->n, 3);
    struct mail_store_email *ec = &l->v[0], *eb = &l->v[1], *ea = &l->v[2];
    assert_int_equal(ea->received_at, 1793000000);
    assert_string_equal(ea->subject, "Grüße");
    assert_string_equal(ea->from_sort, "alice");
    assert_int_equal(ea->sent_at, 1793610000);   /* 10:00 +0100 */
    assert_true(has_keyword(ea, "$seen"));
    assert_false(has_keyword(eb, "$seen"));
    assert_string_equal(ea->thread_id, eb->thread_id);
    assert_string_not_equal(ea->thread_id, ec->thread_id);
    assert_true(ec->has_attachment);
    assert_false(ea->has_attachment);
    assert_non_null(ea->headers);
    assert_non_null(strstr(ea->headers, "Message-ID: <a@example.org>"));
    assert_int_equal(ea->n_mailbox_ids, 1);
    assert_string_equal(ea->mailbox_ids[0], inbox);
    char id_a[MAIL_STORE_ID_MAX], id_b[MAIL_STORE_ID_MAX], id_c[MAIL_STORE_ID_MAX],
        thread_ab[MAIL_STORE_ID_MAX];
    strcpy(id_a, ea->id);
    strcpy(id_b, eb->id);
    strcpy(id_c, ec->id);
    strcpy(thread_ab, ea->thread_id);
    mail_store_email_list_free(&l);

    struct mail_store_mailbox_list *ml = NULL;
    struct gw_error err = { 0 };
    assert_int_equal(mail_store_list_mailboxes(f.ms, "a1", &ml, &err), 0);
    const struct mail_store_mailbox *ib = find_box(ml, inbox);
    assert_int_equal(ib->total_emails, 3);
    assert_int_equal(ib->unread_emails, 2);
    assert_int_equal(ib->total_threads, 2);
    assert_int_equal(ib->unread_threads, 2);
    assert_int_equal(ib->sort_order, 1);
    assert_string_equal(ib->name_raw, "INBOX");
    mail_store_mailbox_list_free(&ml);

    /* Thread/get: oldest first. */
    struct mail_store_thread_list *tl = NULL;
    const char *tids[] = { thread_ab, "Tnope" };
    assert_int_equal(mail_store_get_threads(f.ms, "a1", tids, 2, &tl, &err), 0);
    assert_int_equal(tl->n, 1);
    assert_int_equal(tl->v[0].n_email_ids, 2);
    assert_string_equal(tl->v[0].email_ids[0], id_a);
    assert_string_equal(tl->v[0].email_ids[1], id_b);
    mail_store_thread_list_free(&tl);

    /* A quiet sync changes no state. */
    sync_now(&f);
    state(&f, MAIL_STORE_EMAIL, x);
    assert_string_equal(x, e1);
    state(&f, MAIL_STORE_MAILBOX, x);
    assert_string_equal(x, m1);

    /* A flag set elsewhere: that Email is updated, the counts too. */
    open_box(f.other, "INBOX");
    raw(f.other, "UID STORE 2 +FLAGS (\\Seen $Important)");
    sync_now(&f);
    changes(&f, MAIL_STORE_EMAIL, e1, &c);
    assert_int_equal(c.updated.n, 1);
    assert_true(ids_have(&c.updated, id_b));
    assert_int_equal(c.created.n + c.destroyed.n, 0);
    mail_store_changes_clear(&c);
    changes(&f, MAIL_STORE_THREAD, t1, &c);
    assert_int_equal(c.created.n + c.updated.n + c.destroyed.n, 0);
    mail_store_changes_clear(&c);
    changes(&f, MAIL_STORE_MAILBOX, m1, &c);
    assert_true(ids_have(&c.updated, inbox));
    mail_store_changes_clear(&c);
    const char *one[] = { id_b };
    assert_int_equal(mail_store_get_emails(f.ms, "a1", one, 1, 0, &l, &err), 0);
    assert_int_equal(l->n, 1);
    assert_true(has_keyword(&l->v[0], "$seen"));
    assert_true(has_keyword(&l->v[0], "$important"));
    assert_null(l->v[0].headers);
    mail_store_email_list_free(&l);

    /* Moved elsewhere: same id, new mailbox. Copied: one Email, two boxes. */
    state(&f, MAIL_STORE_EMAIL, e1);
    raw(f.other, "UID MOVE 3 Junk");
    raw(f.other, "UID COPY 1 Junk");
    sync_now(&f);
    changes(&f, MAIL_STORE_EMAIL, e1, &c);
    assert_int_equal(c.created.n + c.destroyed.n, 0);
    assert_true(ids_have(&c.updated, id_c) && ids_have(&c.updated, id_a));
    mail_store_changes_clear(&c);
    const char *two[] = { id_c, id_a };
    assert_int_equal(mail_store_get_emails(f.ms, "a1", two, 2, 0, &l, &err), 0);
    assert_int_equal(l->n, 2);
    assert_int_equal(l->v[0].n_mailbox_ids, 1);
    assert_string_equal(l->v[0].mailbox_ids[0], junk);
    assert_int_equal(l->v[1].n_mailbox_ids, 2);
    mail_store_email_list_free(&l);

    /* Expunged everywhere: destroyed, and so is its thread. */
    state(&f, MAIL_STORE_EMAIL, e1);
    state(&f, MAIL_STORE_THREAD, t1);
    open_box(f.other, "Junk");
    raw(f.other, "UID SEARCH ALL");
    raw(f.other, "STORE 1:* +FLAGS (\\Deleted)");
    raw(f.other, "EXPUNGE");
    sync_now(&f);
    changes(&f, MAIL_STORE_EMAIL, e1, &c);
    assert_int_equal(c.destroyed.n, 1);
    assert_true(ids_have(&c.destroyed, id_c));
    assert_true(ids_have(&c.updated, id_a));   /* lost its Junk copy */
    mail_store_changes_clear(&c);
    changes(&f, MAIL_STORE_THREAD, t1, &c);
    assert_int_equal(c.destroyed.n, 1);
    mail_store_changes_clear(&c);
    char *name_raw = NULL;
    uint32_t uv = 0, uid = 0;
    assert_int_equal(mail_store_email_locate(f.ms, "a1", id_c, &name_raw, &uv, &uid, &err), -1);
    assert_int_equal(err.code, GW_ERR_NOTFOUND);
    assert_int_equal(mail_store_email_locate(f.ms, "a1", id_a, &name_raw, &uv, &uid, &err), 0);
    assert_non_null(name_raw);
    free(name_raw);
    char found[2][MAIL_STORE_ID_MAX];
    const uint32_t uids[] = { 1, 99 };
    assert_int_equal(mail_store_emails_by_uid(f.ms, "a1", inbox, uids, 2, found, &err), 0);
    assert_string_equal(found[0], id_a);
    assert_string_equal(found[1], "");

    /* A restart keeps ids and answers old states. */
    state(&f, MAIL_STORE_EMAIL, e1);
    close_store(&f);
    open_store(&f);
    raw(f.other, "CREATE Box");
    const char *more[] = { msg_c };
    append_with(f.other, "Box", more, 1, NULL, NULL);
    sync_now(&f);
    changes(&f, MAIL_STORE_EMAIL, e1, &c);
    assert_int_equal(c.created.n, 1);
    char id_box[MAIL_STORE_ID_MAX];
    snprintf(id_box, sizeof(id_box), "%s", c.created.v[0]);
    mail_store_changes_clear(&c);

    /* UIDVALIDITY reset: the mailbox keeps its id, its Emails are new. */
    char *box = mailbox_id(&f, "Box");
    state(&f, MAIL_STORE_EMAIL, e1);
    raw(f.other, "DELETE Box");
    raw(f.other, "CREATE Box");
    append_with(f.other, "Box", more, 1, NULL, NULL);
    sync_now(&f);
    char *box2 = mailbox_id(&f, "Box");
    assert_string_equal(box, box2);
    changes(&f, MAIL_STORE_EMAIL, e1, &c);
    assert_int_equal(c.created.n, 1);
    assert_int_equal(c.destroyed.n, 1);
    assert_true(ids_have(&c.destroyed, id_box));
    mail_store_changes_clear(&c);

    free(box);
    free(box2);
    free(inbox);
    free(junk);
    backend_close(&f.gw);
    backend_close(&f.other);
    close_store(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync),
    };
    return cmocka_run_group_tests(tests, world_setup, world_teardown);
}
