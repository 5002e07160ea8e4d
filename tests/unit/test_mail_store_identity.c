/* test_mail_store_identity.c - Email ids across moves by another IMAP
 * client when the server's X-GUID is not used (content-key matching, one
 * to one), a move by APPEND + EXPUNGE with X-GUID, myRights from
 * MYRIGHTS on a private Dovecot with the acl plugin, the rights letter
 * table, and the cost of a quiet sync (one command, no FETCH). */
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
#include "backend_mail_write.h"
#include "mail_store.h"
#include "store.h"

static const char acl_conf[] =
    "mail_plugins = $mail_plugins acl\n"
    "protocol imap {\n  mail_plugins = $mail_plugins imap_acl\n}\n"
    "plugin {\n  acl = vfile\n}\n";

static int setup(void **state)
{
    (void)state;
    char conf[2048];
    W = calloc(1, sizeof(*W));
    assert_non_null(W);
    snprintf(W->root, sizeof(W->root), "/tmp/jmapgw-ident-XXXXXX");
    assert_non_null(mkdtemp(W->root));
    assert_int_equal(chmod(W->root, 0755), 0);
    int n = snprintf(conf, sizeof(conf), "%s%s", special_use_conf, acl_conf);
    assert_true(n > 0 && n < (int)sizeof(conf));
    dovecot_start(&W->dv, W->root, "ident", NULL, conf);
    return 0;
}

struct fx {
    struct store *st;
    struct mail_store *ms;
    struct mail_backend *gw, *other;
    char account[8];
};

static void fx_open(struct fx *f, const char *db, const char *account, bool ignore_xguid)
{
    char path[160];
    struct gw_error err = { 0 };
    assert_true(snprintf(path, sizeof(path), "%s/%s", W->root, db) < (int)sizeof(path));
    if (store_open(path, &f->st, &err) != 0)
        fail_msg("store_open: %s", err.msg);
    snprintf(f->account, sizeof(f->account), "%s", account);
    assert_int_equal(store_account_ensure(f->st, account, "test", &err), 0);
    if (mail_store_open(f->st, &f->ms, &err) != 0)
        fail_msg("mail_store_open: %s", err.msg);
    struct mail_store_options o = { .ignore_xguid = ignore_xguid, .rights_ttl_s = 3600 };
    mail_store_set_options(f->ms, &o);
    f->gw = conn();
    f->other = conn();
}

static void fx_close(struct fx *f)
{
    backend_close(&f->gw);
    backend_close(&f->other);
    mail_store_close(&f->ms);
    store_close(&f->st);
}

static void sync_now(struct fx *f)
{
    struct gw_error err = { 0 };
    if (mail_store_sync(f->ms, f->account, f->gw, &err) != 0)
        fail_msg("sync: %s", err.msg);
}

static void state(struct fx *f, enum mail_store_type t, char out[MAIL_STORE_STATE_MAX])
{
    struct gw_error err = { 0 };
    assert_int_equal(mail_store_state(f->ms, f->account, t, out, &err), 0);
}

static void changes(struct fx *f, enum mail_store_type t, const char *since,
                    struct mail_store_changes *c)
{
    struct gw_error err = { 0 };
    memset(c, 0, sizeof(*c));
    if (mail_store_changes(f->ms, f->account, t, since, 0, c, &err) != 0)
        fail_msg("changes: %s", err.msg);
}

static bool ids_have(const struct mail_store_ids *ids, const char *id)
{
    for (size_t i = 0; i < ids->n; i++)
        if (strcmp(ids->v[i], id) == 0)
            return true;
    return false;
}

/* A mailbox by its name; *rights gets its myRights when asked. */
static char *mailbox_id(struct fx *f, const char *name, unsigned *rights)
{
    struct mail_store_mailbox_list *l = NULL;
    struct gw_error err = { 0 };
    char *id = NULL;
    assert_int_equal(mail_store_list_mailboxes(f->ms, f->account, &l, &err), 0);
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].name, name) == 0) {
            id = strdup(l->v[i].id);
            if (rights != NULL)
                *rights = l->v[i].rights;
        }
    }
    mail_store_mailbox_list_free(&l);
    assert_non_null(id);
    return id;
}

/* The ids of a mailbox's Emails, sorted, joined with spaces. */
static char *ids_in(struct fx *f, const char *mailbox_id)
{
    struct mail_store_email_list *l = NULL;
    struct gw_error err = { 0 };
    if (mail_store_list_emails(f->ms, f->account, mailbox_id, 0, &l, &err) != 0)
        fail_msg("list: %s", err.msg);
    char **v = calloc(l->n + 1, sizeof(*v));
    assert_non_null(v);
    for (size_t i = 0; i < l->n; i++)
        v[i] = l->v[i].id;
    for (size_t i = 1; i < l->n; i++)   /* insertion sort: a handful */
        for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
            char *t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    char *out = calloc(l->n * MAIL_STORE_ID_MAX + 1, 1);
    assert_non_null(out);
    for (size_t i = 0; i < l->n; i++) {
        if (i > 0)
            strcat(out, " ");
        strcat(out, v[i]);
    }
    free(v);
    mail_store_email_list_free(&l);
    return out;
}

static const char msg_a[] =
    "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: Plans\r\n"
    "Date: Mon, 2 Nov 2026 10:00:00 +0100\r\nMessage-ID: <plans@example.org>\r\n\r\n"
    "Lunch?\r\n";
static const char msg_b[] =
    "From: bob@example.org\r\nTo: Alice <alice@example.org>\r\nSubject: Re: Plans\r\n"
    "Date: Mon, 2 Nov 2026 11:00:00 +0100\r\nMessage-ID: <re-plans@example.org>\r\n"
    "In-Reply-To: <plans@example.org>\r\n\r\nSure.\r\n";
/* Sent twice: two identical messages, two Emails without a server id. */
static const char msg_dup[] =
    "From: list@example.org\r\nTo: bob@example.org\r\nSubject: Digest\r\n"
    "Date: Tue, 3 Nov 2026 08:00:00 +0100\r\nMessage-ID: <digest@example.org>\r\n\r\n"
    "Same bytes twice.\r\n";

/* Expunges every message of the open mailbox flagged \Deleted. */
static void expunge_uids(struct mail_backend *b, const char *mailbox, const char *uids)
{
    char cmd[128];
    open_box(b, mailbox);
    snprintf(cmd, sizeof(cmd), "UID STORE %s +FLAGS.SILENT (\\Deleted)", uids);
    raw(b, cmd);
    raw(b, "EXPUNGE");
}

static void test_move_without_guid(void **unused)
{
    (void)unused;
    struct fx f = { 0 };
    struct mail_store_changes c;
    char e0[MAIL_STORE_STATE_MAX], t0[MAIL_STORE_STATE_MAX];
    fx_open(&f, "noguid.db", "a1", true);
    raw(f.other, "CREATE Work");
    const char *msgs[] = { msg_a, msg_b, msg_dup, msg_dup };
    append(f.other, "Work", msgs, 4, "");
    sync_now(&f);
    char *work = mailbox_id(&f, "Work", NULL), *junk = mailbox_id(&f, "Junk", NULL);
    char *before = ids_in(&f, work);
    assert_int_equal(strlen(before), 4 * (MAIL_STORE_ID_MAX - 2) + 3);  /* four Emails */

    /* A copy by another client, original kept: a new Email (X-GUID would
     * have made it the same one, so this also proves it is not used). */
    open_box(f.other, "Work");
    raw(f.other, "UID COPY 1 Junk");
    state(&f, MAIL_STORE_EMAIL, e0);
    sync_now(&f);
    changes(&f, MAIL_STORE_EMAIL, e0, &c);
    assert_int_equal(c.created.n, 1);
    assert_int_equal(c.destroyed.n, 0);
    char copy_id[MAIL_STORE_ID_MAX];
    snprintf(copy_id, sizeof(copy_id), "%s", c.created.v[0]);
    mail_store_changes_clear(&c);
    expunge_uids(f.other, "Junk", "1:*");
    sync_now(&f);

    /* Moves by another client, in both directions of the sync's mailbox
     * order: every Email keeps its id, nothing is created or destroyed. */
    state(&f, MAIL_STORE_EMAIL, e0);
    state(&f, MAIL_STORE_THREAD, t0);
    open_box(f.other, "Work");
    raw(f.other, "UID MOVE 1:4 Junk");
    sync_now(&f);
    changes(&f, MAIL_STORE_EMAIL, e0, &c);
    assert_int_equal(c.created.n, 0);
    assert_int_equal(c.destroyed.n, 0);
    assert_int_equal(c.updated.n, 4);
    assert_false(ids_have(&c.updated, copy_id));
    mail_store_changes_clear(&c);
    changes(&f, MAIL_STORE_THREAD, t0, &c);
    assert_int_equal(c.created.n + c.destroyed.n, 0);
    mail_store_changes_clear(&c);
    char *in_junk = ids_in(&f, junk), *in_work = ids_in(&f, work);
    assert_string_equal(in_junk, before);     /* the two identical copies stay two */
    assert_string_equal(in_work, "");
    free(in_junk);
    free(in_work);

    open_box(f.other, "Junk");
    raw(f.other, "UID MOVE 1:* Work");
    sync_now(&f);
    in_work = ids_in(&f, work);
    assert_string_equal(in_work, before);
    free(in_work);

    /* One of two identical copies moved: the ids stay a one-to-one match,
     * the other copy keeps its own. */
    state(&f, MAIL_STORE_EMAIL, e0);
    open_box(f.other, "Work");
    raw(f.other, "UID SEARCH ALL");
    raw(f.other, "MOVE 3 Junk");     /* the first copy of msg_dup */
    sync_now(&f);
    changes(&f, MAIL_STORE_EMAIL, e0, &c);
    assert_int_equal(c.created.n + c.destroyed.n, 0);
    assert_int_equal(c.updated.n, 1);
    mail_store_changes_clear(&c);
    in_work = ids_in(&f, work);
    in_junk = ids_in(&f, junk);
    assert_int_equal(strlen(in_junk), MAIL_STORE_ID_MAX - 2);
    assert_non_null(strstr(before, in_junk));
    assert_null(strstr(in_work, in_junk));
    free(in_work);
    free(in_junk);

    /* Expunged without a new location: destroyed, as before. */
    state(&f, MAIL_STORE_EMAIL, e0);
    expunge_uids(f.other, "Junk", "1:*");
    sync_now(&f);
    changes(&f, MAIL_STORE_EMAIL, e0, &c);
    assert_int_equal(c.destroyed.n, 1);
    assert_int_equal(c.created.n, 0);
    mail_store_changes_clear(&c);

    free(before);
    free(work);
    free(junk);
    fx_close(&f);
    /* Leave the account's mailboxes as other tests expect them. */
    struct mail_backend *b = conn();
    raw(b, "DELETE Work");
    backend_close(&b);
}

/* Without X-GUID, a copy whose original stays is a new Email, unless the
 * gateway made it and told the cache where it went (COPYUID): then the
 * Email gains a mailbox and keeps its id. */
static void test_gateway_copy_without_guid(void **unused)
{
    (void)unused;
    struct fx f = { 0 };
    struct mail_store_changes c;
    struct gw_error err = { 0 };
    char e0[MAIL_STORE_STATE_MAX];
    fx_open(&f, "gwcopy.db", "a1", true);
    raw(f.other, "CREATE Keep");
    const char *msgs[] = { msg_a };
    append(f.other, "Keep", msgs, 1, "");
    sync_now(&f);
    char *keep = mailbox_id(&f, "Keep", NULL), *junk = mailbox_id(&f, "Junk", NULL);
    char *id = ids_in(&f, keep);
    assert_int_equal(strlen(id), MAIL_STORE_ID_MAX - 2);

    uint32_t uid = 1;
    struct backend_msgset set = { .mailbox_raw = "Keep", .uids = &uid, .n_uids = 1 };
    struct backend_copy_result *r = NULL;
    if (backend_copy(f.other, &set, "Junk", &r, &err) != 0)
        fail_msg("copy: %s", err.msg);
    assert_int_equal(r->n, 1);
    assert_int_equal(mail_store_expect_location(f.ms, f.account, id, junk, r->dest_uidvalidity,
                                                r->dest_uids[0], &err),
                     0);
    backend_copy_result_free(&r);
    state(&f, MAIL_STORE_EMAIL, e0);
    sync_now(&f);
    changes(&f, MAIL_STORE_EMAIL, e0, &c);
    assert_int_equal(c.created.n, 0);
    assert_int_equal(c.updated.n, 1);
    assert_true(ids_have(&c.updated, id));
    mail_store_changes_clear(&c);
    char *in_junk = ids_in(&f, junk), *in_keep = ids_in(&f, keep);
    assert_string_equal(in_junk, id);
    assert_string_equal(in_keep, id);
    free(in_junk);
    free(in_keep);

    /* the same copy without telling the cache: a new Email, as the rules say */
    if (backend_copy(f.other, &set, "Junk", &r, &err) != 0)
        fail_msg("copy: %s", err.msg);
    backend_copy_result_free(&r);
    state(&f, MAIL_STORE_EMAIL, e0);
    sync_now(&f);
    changes(&f, MAIL_STORE_EMAIL, e0, &c);
    assert_int_equal(c.created.n, 1);
    assert_false(ids_have(&c.created, id));
    mail_store_changes_clear(&c);

    /* an expectation for an unknown location is harmless */
    assert_int_equal(mail_store_expect_location(f.ms, f.account, id, junk, 1, 999999, &err), 0);
    assert_int_equal(mail_store_expect_location(f.ms, f.account, id, junk, 1, 0, &err), -1);
    free(id);
    free(keep);
    free(junk);
    fx_close(&f);
    struct mail_backend *b = conn();
    expunge_uids(b, "Junk", "1:*");
    raw(b, "DELETE Keep");
    backend_close(&b);
}

/* A client without MOVE moves by APPEND + EXPUNGE: Dovecot gives the new
 * copy a new X-GUID, yet the Email, left without a location, keeps its id
 * by content key and takes the new GUID. */
static void test_append_move_with_guid(void **unused)
{
    (void)unused;
    struct fx f = { 0 };
    struct mail_store_changes c;
    char e0[MAIL_STORE_STATE_MAX];
    fx_open(&f, "guid.db", "a2", false);
    raw(f.other, "CREATE Keep");
    const char *msgs[] = { msg_a };
    append(f.other, "Keep", msgs, 1, "");
    sync_now(&f);
    char *keep = mailbox_id(&f, "Keep", NULL), *trash = mailbox_id(&f, "Trash", NULL);
    char *id = ids_in(&f, keep);
    assert_int_equal(strlen(id), MAIL_STORE_ID_MAX - 2);

    state(&f, MAIL_STORE_EMAIL, e0);
    append(f.other, "Trash", msgs, 1, "");
    expunge_uids(f.other, "Keep", "1:*");
    sync_now(&f);
    changes(&f, MAIL_STORE_EMAIL, e0, &c);
    assert_int_equal(c.created.n + c.destroyed.n, 0);
    assert_true(ids_have(&c.updated, id));
    mail_store_changes_clear(&c);
    char *now = ids_in(&f, trash);
    assert_string_equal(now, id);
    free(now);

    /* It took the new GUID: a COPY of it is the same Email again. */
    state(&f, MAIL_STORE_EMAIL, e0);
    open_box(f.other, "Trash");
    raw(f.other, "UID SEARCH ALL");
    raw(f.other, "COPY 1 Keep");
    sync_now(&f);
    changes(&f, MAIL_STORE_EMAIL, e0, &c);
    assert_int_equal(c.created.n, 0);
    assert_true(ids_have(&c.updated, id));
    mail_store_changes_clear(&c);
    now = ids_in(&f, keep);
    assert_string_equal(now, id);
    free(now);

    free(id);
    free(keep);
    free(trash);
    fx_close(&f);
    struct mail_backend *b = conn();
    raw(b, "DELETE Keep");
    open_box(b, "Trash");
    raw(b, "STORE 1:* +FLAGS.SILENT (\\Deleted)");
    raw(b, "EXPUNGE");
    backend_close(&b);
}

static void test_rights_letters(void **unused)
{
    (void)unused;
    static const struct {
        const char *letters;
        unsigned rights;
    } cases[] = {
        { NULL, 0 },
        { "", 0 },
        { "l", 0 },
        { "r", 0 },
        { "lr", MAIL_STORE_MAY_READ_ITEMS },
        { "lrs", MAIL_STORE_MAY_READ_ITEMS | MAIL_STORE_MAY_SET_SEEN },
        { "lrswipkxtea", MAIL_STORE_RIGHTS_ALL },
        { "lrwstipekxacd", MAIL_STORE_RIGHTS_ALL },     /* Dovecot's owner answer */
        { "t", 0 },
        { "te", MAIL_STORE_MAY_REMOVE_ITEMS },
        { "d", MAIL_STORE_MAY_REMOVE_ITEMS },           /* RFC 2086 */
        { "c", MAIL_STORE_MAY_CREATE_CHILD },           /* RFC 2086 */
        { "k", MAIL_STORE_MAY_CREATE_CHILD },
        { "x", MAIL_STORE_MAY_RENAME | MAIL_STORE_MAY_DELETE },
        { "i", MAIL_STORE_MAY_ADD_ITEMS },
        { "w", MAIL_STORE_MAY_SET_KEYWORDS },
        { "p", MAIL_STORE_MAY_SUBMIT },
        { "a", 0 },
        { "lr0123XYZ", MAIL_STORE_MAY_READ_ITEMS },     /* unknown letters ignored */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned got = mail_store_rights_from_imap(cases[i].letters);
        if (got != cases[i].rights)
            fail_msg("%s: 0x%x, expected 0x%x", cases[i].letters ? cases[i].letters : "NULL",
                     got, cases[i].rights);
    }
}

/* Commands sent on the gateway's connection so far. */
static unsigned commands(struct fx *f)
{
    return imap_backend_from(f->gw)->wire_tag;
}

static void test_myrights_and_quiet(void **unused)
{
    (void)unused;
    struct fx f = { 0 };
    struct mail_store_changes c;
    char m0[MAIL_STORE_STATE_MAX], x[MAIL_STORE_STATE_MAX];
    fx_open(&f, "rights.db", "a3", false);
    assert_true(backend_has_capability(f.gw, "ACL"));
    raw(f.other, "CREATE Shared");
    const char *msgs[] = { msg_a };
    append(f.other, "Shared", msgs, 1, "");
    sync_now(&f);
    unsigned rights = 0;
    char *shared = mailbox_id(&f, "Shared", &rights);
    assert_int_equal(rights, MAIL_STORE_RIGHTS_ALL);    /* the owner may do anything */
    free(mailbox_id(&f, "INBOX", &rights));
    assert_int_equal(rights, MAIL_STORE_RIGHTS_ALL);

    /* A quiet account: after the sync that closes the last selection, one
     * command per sync (the LIST-STATUS): no SELECT, no FETCH, no MYRIGHTS. */
    sync_now(&f);
    state(&f, MAIL_STORE_MAILBOX, m0);
    unsigned before = commands(&f);
    sync_now(&f);
    assert_int_equal(commands(&f) - before, 1);
    state(&f, MAIL_STORE_MAILBOX, x);
    assert_string_equal(x, m0);

    /* Rights restricted behind the cache's back: not asked again before
     * the TTL... */
    raw(f.other, "SETACL Shared owner lrsa");
    sync_now(&f);
    free(mailbox_id(&f, "Shared", &rights));
    assert_int_equal(rights, MAIL_STORE_RIGHTS_ALL);
    /* ...and seen once it has passed, as a Mailbox update. */
    struct mail_store_options o = { .rights_ttl_s = 1 };
    mail_store_set_options(f.ms, &o);
    sleep(2);
    /* Dovecot's session caches the ACL of a mailbox it opened (vfile
     * cache_secs, 30 s): a fresh pooled connection sees the change. */
    backend_close(&f.gw);
    f.gw = conn();
    sync_now(&f);
    free(mailbox_id(&f, "Shared", &rights));
    assert_int_equal(rights, MAIL_STORE_MAY_READ_ITEMS | MAIL_STORE_MAY_SET_SEEN);
    changes(&f, MAIL_STORE_MAILBOX, m0, &c);
    assert_true(ids_have(&c.updated, shared));
    mail_store_changes_clear(&c);

    /* A renamed mailbox is asked at once, whatever the TTL. */
    o.rights_ttl_s = 3600;
    mail_store_set_options(f.ms, &o);
    raw(f.other, "SETACL Shared owner lrswxa");
    raw(f.other, "RENAME Shared Renamed");
    sync_now(&f);
    char *renamed = mailbox_id(&f, "Renamed", &rights);
    assert_string_equal(renamed, shared);
    /* (Dovecot grants k along with x on a mailbox of one's own.) */
    unsigned want = MAIL_STORE_MAY_READ_ITEMS | MAIL_STORE_MAY_SET_SEEN |
                    MAIL_STORE_MAY_SET_KEYWORDS | MAIL_STORE_MAY_RENAME | MAIL_STORE_MAY_DELETE;
    unsigned denied = MAIL_STORE_MAY_ADD_ITEMS | MAIL_STORE_MAY_REMOVE_ITEMS |
                      MAIL_STORE_MAY_SUBMIT;
    assert_int_equal(rights & want, want);
    assert_int_equal(rights & denied, 0);

    free(renamed);
    free(shared);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rights_letters),
        cmocka_unit_test(test_move_without_guid),
        cmocka_unit_test(test_gateway_copy_without_guid),
        cmocka_unit_test(test_append_move_with_guid),
        cmocka_unit_test(test_myrights_and_quiet),
    };
    return cmocka_run_group_tests(tests, setup, world_teardown);
}
