/* test_imap_mime.c - message structure, body parts, search and sort of
 * backend_mail.h against a private Dovecot (imap_read_session.h): a
 * multipart message with encoded headers, a base64 attachment fetched
 * decoded by BINARY to the exact bytes, size caps, X-GUID across MOVE,
 * ESEARCH and SORT results; then the same primitives against a Dovecot
 * advertising only IMAP4rev1-era capabilities (LIST + LSUB + STATUS,
 * plain SEARCH, BODY.PEEK, synchronising literals).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "imap_read_session.h"

static const char mime_head[] =
    "From: =?UTF-8?B?SsO8cmdlbg==?= <juergen@example.com>\r\n"
    "To: a@example.org, \"B Person\" <b@example.org>\r\n"
    "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n"
    "Message-ID: <mp1@example.com>\r\nIn-Reply-To: <parent@example.com>\r\n"
    "Date: Tue, 03 Nov 2026 12:00:00 +0100\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n"
    "--XYZ\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    "Hallo Welt\r\n"
    "--XYZ\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\n"
    "Content-Disposition: attachment; filename=\"data.bin\"\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\n";
static const char mime_tail[] =
    "--XYZ\r\nContent-Type: message/rfc822\r\n\r\n"
    "Subject: inner\r\nFrom: x@example.net\r\n\r\ninner body\r\n"
    "--XYZ--\r\n";

/* The multipart test message: its attachment is the bytes 0..255. */
static char *mime_message(unsigned char *bin, size_t *len)
{
    unsigned char b64[400];
    for (int i = 0; i < 256; i++)
        bin[i] = (unsigned char)i;
    int n = EVP_EncodeBlock(b64, bin, 256);
    assert_true(n > 76);
    char *msg = NULL;
    /* Lines of 76 characters, as RFC 2045 wants. */
    assert_true(asprintf(&msg, "%s%.76s\r\n%.76s\r\n%.76s\r\n%s\r\n%s", mime_head, b64, b64 + 76,
                         b64 + 152, (char *)b64 + 228, mime_tail) > 0);
    *len = strlen(msg);
    return msg;
}

static int on_one(void *ctx, struct backend_message_summary **mp, struct gw_error *err)
{
    (void)err;
    struct backend_message_summary **keep = ctx;
    assert_null(*keep);
    *keep = *mp;    /* take ownership */
    *mp = NULL;
    return 0;
}

static struct backend_message_summary *fetch_one(struct mail_backend *b, uint32_t uid, unsigned items)
{
    struct backend_message_summary *m = NULL;
    struct backend_fetch_req req = { .uids = &uid, .n_uids = 1, .items = items };
    struct gw_error err = { 0 };
    if (backend_fetch_summaries(b, &req, on_one, &m, &err) != 0)
        fail_msg("fetch: %s", err.msg);
    assert_non_null(m);
    assert_int_equal(m->uid, uid);
    return m;
}

static void check_structure(const struct backend_message_summary *m)
{
    const struct backend_envelope *e = m->envelope;
    assert_string_equal(e->subject, "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=");
    assert_string_equal(e->date, "Tue, 03 Nov 2026 12:00:00 +0100");
    assert_int_equal(e->from.n, 1);
    assert_string_equal(e->from.v[0].name, "=?UTF-8?B?SsO8cmdlbg==?=");
    assert_string_equal(e->from.v[0].mailbox, "juergen");
    assert_string_equal(e->from.v[0].host, "example.com");
    assert_int_equal(e->to.n, 2);
    assert_null(e->to.v[0].name);
    assert_string_equal(e->to.v[1].name, "B Person");
    assert_int_equal(e->cc.n, 0);
    assert_string_equal(e->in_reply_to, "<parent@example.com>");
    assert_string_equal(e->message_id, "<mp1@example.com>");

    const struct backend_mime_part *p = m->body;
    assert_string_equal(p->type, "multipart");
    assert_string_equal(p->subtype, "mixed");
    assert_string_equal(p->part_id, "");
    assert_int_equal(p->n_params, 1);
    assert_string_equal(p->params[0].name, "boundary");
    assert_string_equal(p->params[0].value, "XYZ");
    assert_int_equal(p->n_children, 3);
    const struct backend_mime_part *text = &p->children[0], *att = &p->children[1];
    const struct backend_mime_part *msg = &p->children[2];
    assert_string_equal(text->part_id, "1");
    assert_string_equal(text->subtype, "plain");
    assert_string_equal(text->params[0].value, "utf-8");
    assert_string_equal(text->encoding, "8bit");
    /* "Hallo Welt": the CRLF before the boundary belongs to the boundary. */
    assert_int_equal(text->lines, 0);
    assert_int_equal(text->size, 10);
    assert_string_equal(att->part_id, "2");
    assert_string_equal(att->type, "application");
    assert_string_equal(att->subtype, "octet-stream");
    assert_string_equal(att->params[0].name, "name");
    assert_string_equal(att->params[0].value, "data.bin");
    assert_string_equal(att->disposition, "attachment");
    assert_int_equal(att->n_disposition_params, 1);
    assert_string_equal(att->disposition_params[0].value, "data.bin");
    assert_true(strcasecmp(att->encoding, "base64") == 0);
    assert_string_equal(msg->part_id, "3");
    assert_string_equal(msg->subtype, "rfc822");
    assert_non_null(msg->envelope);
    assert_string_equal(msg->envelope->subject, "inner");
    assert_int_equal(msg->n_children, 1);
    assert_string_equal(msg->children[0].part_id, "3.1");
    assert_string_equal(msg->children[0].type, "text");
}

static struct backend_part_data *part_ok(struct mail_backend *b, uint32_t uid, const char *part,
                                         uint64_t offset, size_t max, bool decode)
{
    struct backend_part_data *d = NULL;
    struct gw_error err = { 0 };
    if (backend_fetch_part(b, uid, part, offset, max, decode, &d, &err) != 0)
        fail_msg("fetch part %s: %s", part != NULL ? part : "(all)", err.msg);
    return d;
}

static void test_structure_and_parts(void **state)
{
    (void)state;
    struct mail_backend *b = conn();
    struct gw_error err = { 0 };
    unsigned char bin[256];
    size_t len;
    char *msg = mime_message(bin, &len);
    const char *one[] = { msg };

    raw(b, "CREATE Parts");
    raw(b, "CREATE Moved");
    append(b, "Parts", one, 1, "");
    open_box(b, "Parts");
    struct backend_message_summary *m = fetch_one(b, 1, ~0u);
    assert_int_equal(m->size, len);
    check_structure(m);
    char *guid = strdup(m->guid);
    backend_message_summary_free(&m);
    assert_null(m);

    struct backend_part_data *d = part_ok(b, 1, "2", 0, 1000, true);
    assert_true(d->decoded);
    assert_int_equal(d->len, 256);
    assert_memory_equal(d->data, bin, 256);
    backend_part_data_free(&d);
    d = part_ok(b, 1, "2", 0, 256, true);     /* exactly the cap */
    assert_int_equal(d->len, 256);
    backend_part_data_free(&d);
    d = part_ok(b, 1, "2", 250, 10, true);
    assert_int_equal(d->len, 6);
    assert_memory_equal(d->data, bin + 250, 6);
    backend_part_data_free(&d);
    d = part_ok(b, 1, "2", 0, 1000, false);
    assert_false(d->decoded);
    assert_memory_equal(d->data, "AAECAwQFBgcICQoL", 16);
    backend_part_data_free(&d);
    d = part_ok(b, 1, NULL, 0, 100000, true);
    assert_int_equal(d->len, len);
    assert_memory_equal(d->data, msg, len);
    backend_part_data_free(&d);

    assert_int_equal(backend_fetch_part(b, 1, "2", 0, 255, true, &d, &err), -1);
    assert_int_equal(err.code, GW_ERR_TOO_LARGE);
    assert_null(d);
    assert_false(backend_is_broken(b));
    assert_int_equal(backend_fetch_part(b, 77, "1", 0, 1000, true, &d, &err), -1);
    assert_int_equal(err.code, GW_ERR_NOTFOUND);
    assert_int_equal(backend_fetch_part(b, 1, "1;x", 0, 1000, true, &d, &err), -1);
    assert_int_equal(err.code, GW_ERR_INVALID);

    /* X-GUID survives MOVE: same message, new mailbox, new uid. */
    raw(b, "UID MOVE 1 Moved");
    open_box(b, "Moved");
    m = fetch_one(b, 1, BACKEND_FETCH_GUID);
    assert_int_equal(m->items, BACKEND_FETCH_GUID);
    assert_string_equal(m->guid, guid);
    backend_message_summary_free(&m);
    free(guid);
    free(msg);
    backend_close(&b);
}

static void expect_uids(struct mail_backend *b, const struct backend_search *q,
                        const struct backend_sort_key *keys, size_t n_keys, const uint32_t *want,
                        size_t n_want)
{
    uint32_t *uids = NULL;
    size_t n = 0;
    struct gw_error err = { 0 };
    int r = keys != NULL ? backend_uid_sort(b, keys, n_keys, q, &uids, &n, &err)
                         : backend_uid_search(b, q, &uids, &n, &err);
    if (r != 0)
        fail_msg("search/sort: %s", err.msg);
    assert_int_equal(n, n_want);
    if (n != 0)
        assert_memory_equal(uids, want, n * sizeof(*uids));
    free(uids);
}

#define C(...) ((const struct backend_search[]){ __VA_ARGS__ })

static void test_search_sort(void **state)
{
    (void)state;
    struct mail_backend *b = conn();
    struct gw_error err = { 0 };
    const char *msgs[] = {
        "From: alice@example.com\r\nSubject: apple\r\nMessage-ID: <s1@x>\r\n"
        "Date: Thu, 01 Jan 2026 10:00:00 +0000\r\n\r\nround\r\n",
        "From: bob@example.com\r\nSubject: =?UTF-8?Q?B=C3=A4nana?=\r\nMessage-ID: <s2@x>\r\n"
        "Date: Sun, 01 Mar 2026 10:00:00 +0000\r\n\r\nyellow fruit, a long body to be the "
        "largest message of the three by a wide margin\r\n",
        "From: bob@example.com\r\nSubject: cherry\r\nMessage-ID: <s3@x>\r\n"
        "Date: Sun, 01 Feb 2026 10:00:00 +0000\r\n\r\nred fruit here\r\n",
    };
    const char *flags[] = { "", "\\Seen", "$Label" };
    const time_t dates[] = { 1767261600, 1772359200, 1769940000 };  /* Jan 1, Mar 1, Feb 1 */
    raw(b, "CREATE Srch");
    append_with(b, "Srch", msgs, 3, flags, dates);
    open_box(b, "Srch");

    const uint32_t u1[] = { 1 }, u2[] = { 2 }, u3[] = { 3 }, u13[] = { 1, 3 }, u23[] = { 2, 3 };
    expect_uids(b, C({ .op = BACKEND_SEARCH_ALL }), NULL, 0, (uint32_t[]){ 1, 2, 3 }, 3);
    expect_uids(b, C({ .op = BACKEND_SEARCH_SUBJECT, .text = "bänana" }), NULL, 0, u2, 1);
    expect_uids(b, C({ .op = BACKEND_SEARCH_OR, .n_children = 2,
                       .children = C({ .op = BACKEND_SEARCH_SUBJECT, .text = "apple" },
                                     { .op = BACKEND_SEARCH_SUBJECT, .text = "cherry" }) }),
                NULL, 0, u13, 2);
    expect_uids(b, C({ .op = BACKEND_SEARCH_AND, .n_children = 2,
                       .children = C({ .op = BACKEND_SEARCH_BODY, .text = "fruit" },
                                     { .op = BACKEND_SEARCH_NOT, .n_children = 1,
                                       .children = C({ .op = BACKEND_SEARCH_KEYWORD,
                                                       .text = "\\Seen" }) }) }),
                NULL, 0, u3, 1);
    expect_uids(b, C({ .op = BACKEND_SEARCH_KEYWORD, .text = "$Label" }), NULL, 0, u3, 1);
    expect_uids(b, C({ .op = BACKEND_SEARCH_UNKEYWORD, .text = "\\seen" }), NULL, 0, u13, 2);
    expect_uids(b, C({ .op = BACKEND_SEARCH_SINCE, .date = dates[2] }), NULL, 0, u23, 2);
    expect_uids(b, C({ .op = BACKEND_SEARCH_BEFORE, .date = dates[2] }), NULL, 0, u1, 1);
    expect_uids(b, C({ .op = BACKEND_SEARCH_LARGER, .number = 200 }), NULL, 0, u2, 1);
    expect_uids(b, C({ .op = BACKEND_SEARCH_HEADER, .header_name = "Message-ID", .text = "<s2@" }),
                NULL, 0, u2, 1);
    expect_uids(b, C({ .op = BACKEND_SEARCH_AND, .n_children = 2,
                       .children = C({ .op = BACKEND_SEARCH_UID, .uids = u13, .n_uids = 2 },
                                     { .op = BACKEND_SEARCH_FROM, .text = "bob" }) }),
                NULL, 0, u3, 1);
    expect_uids(b, C({ .op = BACKEND_SEARCH_TEXT, .text = "no such text anywhere" }), NULL, 0,
                NULL, 0);

    uint32_t *uids = NULL;
    size_t n = 0;
    assert_int_equal(backend_uid_search(b, C({ .op = BACKEND_SEARCH_KEYWORD, .text = "a b" }),
                                        &uids, &n, &err), -1);
    assert_int_equal(err.code, GW_ERR_INVALID);
    assert_int_equal(backend_uid_search(b, C({ .op = BACKEND_SEARCH_OR }), &uids, &n, &err), -1);
    assert_int_equal(err.code, GW_ERR_INVALID);
    assert_false(backend_is_broken(b));

    const struct backend_sort_key rev_arrival[] = { { BACKEND_SORT_ARRIVAL, true } };
    const struct backend_sort_key size[] = { { BACKEND_SORT_SIZE, false } };
    const struct backend_sort_key subject[] = { { BACKEND_SORT_SUBJECT, false } };
    const struct backend_sort_key date[] = { { BACKEND_SORT_DATE, true },
                                             { BACKEND_SORT_SIZE, false } };
    expect_uids(b, NULL, rev_arrival, 1, (uint32_t[]){ 2, 3, 1 }, 3);
    expect_uids(b, NULL, size, 1, (uint32_t[]){ 1, 3, 2 }, 3);
    expect_uids(b, NULL, subject, 1, (uint32_t[]){ 1, 2, 3 }, 3);
    expect_uids(b, C({ .op = BACKEND_SEARCH_BODY, .text = "fruit" }), date, 2,
                (uint32_t[]){ 2, 3 }, 2);
    backend_close(&b);
}


/* The same primitives where the server offers none of the extensions. */
static void test_plain_server_fallbacks(void **state)
{
    (void)state;
    struct mail_backend *b = conn_to(&W->plain);
    struct backend_mailbox_list *l = NULL;
    struct gw_error err = { 0 };
    unsigned char bin[256];
    size_t len;
    char *msg = mime_message(bin, &len);
    const char *msgs[] = { msg, "Subject: =?UTF-8?Q?B=C3=A4nana?=\r\n\r\nx\r\n" };

    assert_false(backend_has_capability(b, "LITERAL+"));
    assert_false(backend_has_capability(b, "ESEARCH"));
    assert_false(backend_has_capability(b, "LIST-STATUS"));
    raw(b, "CREATE \"Entw&APw-rfe\"");
    raw(b, "SUBSCRIBE \"Entw&APw-rfe\"");
    append(b, "Entw&APw-rfe", msgs, 2, "");     /* synchronising literals */
    raw(b, "CREATE Empty");

    assert_int_equal(backend_list_mailboxes(b, &l, &err), 0);   /* LIST + LSUB + STATUS */
    const struct backend_mailbox *m = find_mb(l, "Entwürfe");
    assert_true(m->flags & BACKEND_MBOX_SUBSCRIBED);
    assert_true(m->status.valid);
    assert_int_equal(m->status.messages, 2);
    assert_int_equal(m->status.unseen, 2);
    assert_int_equal(m->status.uidnext, 3);
    assert_int_equal(m->status.highestmodseq, 0);
    assert_false(find_mb(l, "Empty")->flags & BACKEND_MBOX_SUBSCRIBED);
    assert_int_equal(find_mb(l, "INBOX")->special_use, BACKEND_USE_INBOX);
    backend_mailbox_list_free(&l);

    struct backend_select_req req = { .name_raw = "Entw&APw-rfe", .known_uidvalidity = 1,
                                      .known_modseq = 1 };
    struct backend_selected *s = NULL;
    assert_int_equal(backend_select(b, &req, &s, &err), 0);
    assert_false(s->qresync);
    assert_false(s->reused);
    assert_int_equal(s->exists, 2);
    backend_selected_free(&s);

    /* No BINARY: the part comes encoded and says so. */
    struct backend_part_data *d = part_ok(b, 1, "2", 0, 1000, true);
    assert_false(d->decoded);
    assert_memory_equal(d->data, "AAECAwQFBgcICQoL", 16);
    backend_part_data_free(&d);

    /* No ESEARCH: "* SEARCH"; the 8-bit text goes as a synchronising literal. */
    expect_uids(b, C({ .op = BACKEND_SEARCH_SUBJECT, .text = "bänana" }), NULL, 0,
                (uint32_t[]){ 2 }, 1);
    expect_uids(b, C({ .op = BACKEND_SEARCH_ALL }), NULL, 0, (uint32_t[]){ 1, 2 }, 2);

    struct backend_message_summary *sm = NULL;
    struct backend_fetch_req changed = { .items = BACKEND_FETCH_FLAGS, .changedsince = 1 };
    assert_int_equal(backend_fetch_summaries(b, &changed, on_one, &sm, &err), -1);
    assert_int_equal(err.code, GW_ERR_INVALID);
    sm = fetch_one(b, 2, BACKEND_FETCH_MODSEQ | BACKEND_FETCH_SIZE);
    assert_false(sm->items & BACKEND_FETCH_MODSEQ);
    assert_true(sm->items & BACKEND_FETCH_SIZE);
    backend_message_summary_free(&sm);
    free(msg);
    backend_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure_and_parts),
        cmocka_unit_test(test_search_sort),
        cmocka_unit_test(test_plain_server_fallbacks),
    };
    return cmocka_run_group_tests(tests, world_setup_plain, world_teardown);
}
