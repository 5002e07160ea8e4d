/* test_email_query_multisearch.c - Email/query's text conditions on a
 * server with MULTISEARCH (RFC 7377), played by the scripted world of
 * fake_objectid.h: one ESEARCH IN (...) answers every mailbox, answers are
 * mapped by mailbox name and trusted only in the cached UIDVALIDITY. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../api/mail/email_query.h"
#include "../../backends/imap/imap_read.h"
#include "fake_objectid.h"

/* backend_multi_search()'s answers, as "name uidvalidity uids;" each. */
static int collect_answer(void *ctx, const char *name_raw, uint32_t uidvalidity,
                          const uint32_t *uids, size_t n, struct gw_error *err)
{
    (void)err;
    char *out = ctx;
    size_t used = strlen(out);
    used += (size_t)snprintf(out + used, 256 - used, "%s %u ", name_raw, uidvalidity);
    for (size_t i = 0; i < n && used < 256; i++)
        used += (size_t)snprintf(out + used, 256 - used, "%s%u", i > 0 ? "," : "", uids[i]);
    if (used < 256)
        snprintf(out + used, 256 - used, ";");
    return 0;
}

/* The backend alone: IN (mailboxes ...) for a list, answers of another
 * command's TAG dropped, a mailbox without a match reported empty. */
static void test_multisearch_backend(void **unused)
{
    (void)unused;
    write_phase(0);
    struct mail_backend *b = connect_fake();
    static const char *const names[] = { "INBOX", "Work" };
    struct backend_search crit = { .op = BACKEND_SEARCH_TEXT, .text = "Re: Plans" };
    struct gw_error err = { 0 };
    char got[256] = "";
    assert_int_equal(backend_multi_search(b, names, 2, &crit, collect_answer, got, &err), 0);
    assert_string_equal(got, "Ghost 5 1,2,3;INBOX 1 2,3;Work 7 ;Docs 9 ;");
    backend_close(&b);

    /* A server without MULTISEARCH is never sent ESEARCH IN. */
    struct fake_imap plain;
    assert_int_equal(fake_imap_start(&plain, FAKE_IMAP_GOOD_LOGIN), 0);
    b = fake_imap_connect(plain.port, 3000);
    got[0] = '\0';
    assert_int_equal(backend_multi_search(b, NULL, 0, &crit, collect_answer, got, &err), -1);
    assert_int_equal(err.code, GW_ERR_INVALID);
    assert_string_equal(got, "");
    backend_close(&b);
    fake_imap_stop(&plain);
}

/* Asserts that {"text": text}, searched by email_query_search_on(), finds
 * exactly the Emails of all whose header block holds one of want[]. */
static void assert_hits(struct mail_store *ms, struct mail_backend *b,
                        const struct mail_store_email_list *all, const char *text,
                        const char *const *want, size_t n_want)
{
    struct jmap_mail m = { .ms = ms, .account_id = "a1" };
    struct email_query q = { .m = &m, .backend = b };
    struct gw_error err = { 0 };
    json_t *filter = json_pack("{ss}", "text", text);
    json_t *cond = json_object_get(filter, "text");
    assert_int_equal(mail_store_list_mailboxes(ms, "a1", &q.mailboxes, &err), 0);
    json_t *error = email_query_search_on(&q, filter);
    if (error != NULL)
        fail_msg("search: %s", json_string_value(json_object_get(error, "description")));
    size_t found = 0;
    for (size_t i = 0; i < all->n; i++)
        found += email_query_hit(&q, cond, all->v[i].id);
    assert_int_equal(found, n_want);
    for (size_t i = 0; i < n_want; i++)
        assert_true(email_query_hit(&q, cond, with_header(all, want[i])->id));
    q.backend = NULL;   /* the test's own connection, not the pool's */
    email_query_clear(&q);
    json_decref(filter);
}

/* A whole-account text search on a MULTISEARCH server: one ESEARCH (the
 * fake refuses any other form, and answers UID SEARCH with every uid), the
 * answers mapped by mailbox name and trusted only in the cached epoch. */
static void test_multisearch(void **unused)
{
    (void)unused;
    struct gw_error err = { 0 };
    struct store *st = NULL;
    struct mail_store *ms = NULL;
    char db[128];
    assert_true(snprintf(db, sizeof(db), "%s/m.db", dir) < (int)sizeof(db));
    assert_int_equal(store_open(db, &st, &err), 0);
    assert_int_equal(store_account_ensure(st, "a1", "test", &err), 0);
    assert_int_equal(mail_store_open(st, &ms, &err), 0);
    write_phase(0);
    struct mail_backend *b = connect_fake();
    sync_now(ms, b);
    struct mail_store_email_list *all = NULL;
    assert_int_equal(mail_store_list_emails(ms, "a1", NULL, MAIL_STORE_WITH_HEADERS, &all, &err),
                     0);
    assert_int_equal(all->n, 4);

    static const char *const replies[] = { "<b@x>", "<c@x>" }, *const notes[] = { "<d@x>" };
    assert_hits(ms, b, all, "Re: Plans", replies, 2);
    assert_hits(ms, b, all, "Notes", notes, 1);     /* Work's only message */
    /* INBOX answers from another epoch (uids of unknown messages): only
     * Work's answer counts. */
    assert_hits(ms, b, all, "stale", notes, 1);

    mail_store_email_list_free(&all);
    backend_close(&b);
    mail_store_close(&ms);
    store_close(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multisearch_backend),
        cmocka_unit_test(test_multisearch),
    };
    return cmocka_run_group_tests(tests, fake_objectid_setup, fake_objectid_teardown);
}
