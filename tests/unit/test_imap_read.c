/* test_imap_read.c - mailbox listing, selecting and message summaries of
 * backend_mail.h against a private Dovecot (imap_read_session.h): names
 * in modified UTF-7, special use, LIST-STATUS, QRESYNC after changes made
 * by another connection, 1,000 summaries in one FETCH, CHANGEDSINCE.
 * Bodies, parts, search, sort and the fallbacks are in test_imap_mime.c;
 * the parser and malformed lines in test_imap_wire.c.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "imap_read_session.h"

static const char plain_msg[] = "From: A <a@example.com>\r\nSubject: hello\r\n\r\nbody\r\n";

static void test_list_mailboxes(void **state)
{
    (void)state;
    struct mail_backend *b = conn();
    struct backend_mailbox_list *l = NULL;
    struct gw_error err = { 0 };
    const char *two[] = { plain_msg, plain_msg };

    raw(b, "CREATE \"Entw&APw-rfe\"");
    raw(b, "CREATE \"&ZeVnLIqe-/Unter\"");
    raw(b, "SUBSCRIBE \"Entw&APw-rfe\"");
    append(b, "Entw&APw-rfe", two, 1, "\\Seen");
    append(b, "Entw&APw-rfe", two, 2, "");
    assert_int_equal(backend_list_mailboxes(b, &l, &err), 0);

    const struct backend_mailbox *m = find_mb(l, "Entwürfe");
    assert_string_equal(m->name_raw, "Entw&APw-rfe");
    assert_int_equal(m->delimiter, '/');
    assert_true(m->flags & BACKEND_MBOX_SUBSCRIBED);
    assert_true(m->flags & BACKEND_MBOX_HASNOCHILDREN);
    assert_int_equal(m->special_use, BACKEND_USE_NONE);
    assert_true(m->status.valid);
    assert_int_equal(m->status.messages, 3);
    assert_int_equal(m->status.unseen, 2);
    assert_int_equal(m->status.uidnext, 4);
    assert_true(m->status.uidvalidity != 0);
    assert_true(m->status.highestmodseq != 0);

    m = find_mb(l, "日本語");
    assert_string_equal(m->name_raw, "&ZeVnLIqe-");
    assert_true(m->flags & BACKEND_MBOX_HASCHILDREN);
    assert_false(m->flags & BACKEND_MBOX_SUBSCRIBED);
    m = find_mb(l, "日本語/Unter");
    assert_int_equal(m->status.messages, 0);
    assert_int_equal(find_mb(l, "INBOX")->special_use, BACKEND_USE_INBOX);
    m = find_mb(l, "Drafts");
    assert_int_equal(m->special_use, BACKEND_USE_DRAFTS);
    assert_true(m->flags & BACKEND_MBOX_SUBSCRIBED);
    assert_int_equal(find_mb(l, "Sent")->special_use, BACKEND_USE_SENT);
    assert_int_equal(find_mb(l, "Trash")->special_use, BACKEND_USE_TRASH);
    assert_int_equal(find_mb(l, "Junk")->special_use, BACKEND_USE_JUNK);
    backend_mailbox_list_free(&l);
    assert_null(l);
    backend_close(&b);
}

/* A second connection changes flags and expunges; QRESYNC reports both. */
static void test_select_qresync(void **state)
{
    (void)state;
    struct mail_backend *b = conn(), *other = conn();
    struct gw_error err = { 0 };
    const char *five[] = { plain_msg, plain_msg, plain_msg, plain_msg, plain_msg };

    raw(b, "CREATE QR");
    append(b, "QR", five, 5, "");
    struct backend_selected *s = sel(b, "QR");
    assert_int_equal(s->exists, 5);
    assert_int_equal(s->uidnext, 6);
    assert_false(s->reused);
    assert_true(s->permanent_keywords);
    assert_true(has_flag(&s->permanent_flags, "\\Seen"));
    uint32_t uidvalidity = s->uidvalidity;
    uint64_t modseq = s->highestmodseq;
    assert_true(modseq != 0);
    backend_selected_free(&s);

    s = sel(b, "QR");   /* same mailbox, no QRESYNC data: nothing sent */
    assert_true(s->reused);
    assert_int_equal(s->uidvalidity, uidvalidity);
    backend_selected_free(&s);

    raw(other, "SELECT QR");
    raw(other, "UID STORE 2 +FLAGS (\\Flagged $Important)");
    raw(other, "UID STORE 3 +FLAGS (\\Deleted)");
    raw(other, "EXPUNGE");
    backend_close(&other);

    uint32_t known[] = { 1, 2, 3, 4, 5 };
    struct backend_select_req req = { .name_raw = "QR", .known_uidvalidity = uidvalidity,
                                      .known_modseq = modseq, .known_uids = known,
                                      .n_known_uids = 5 };
    assert_int_equal(backend_select(b, &req, &s, &err), 0);
    assert_true(s->qresync);
    assert_int_equal(s->exists, 4);
    assert_true(s->highestmodseq > modseq);
    assert_int_equal(s->n_vanished, 1);
    assert_int_equal(s->vanished[0], 3);
    assert_int_equal(s->n_changed, 1);
    assert_int_equal(s->changed[0].uid, 2);
    assert_true(s->changed[0].modseq > modseq);
    assert_true(has_flag(&s->changed[0].flags, "\\Flagged"));
    assert_true(has_flag(&s->changed[0].flags, "$Important"));
    backend_selected_free(&s);

    struct backend_select_req ro = { .name_raw = "QR", .read_only = true };
    assert_int_equal(backend_select(b, &ro, &s, &err), 0);
    assert_true(s->read_only);
    assert_false(s->reused);
    backend_selected_free(&s);

    struct backend_select_req missing = { .name_raw = "No-Such-Box" };
    assert_int_equal(backend_select(b, &missing, &s, &err), -1);
    if (err.code != GW_ERR_NOTFOUND)
        fail_msg("select of a missing mailbox: %s", err.msg);
    assert_null(s);
    assert_false(backend_is_broken(b));
    backend_close(&b);
}

struct collected {
    size_t n;
    uint32_t uids[8];
};

/* Collects uids (at most 8) of summaries that carry \\Answered. */
static int on_collect(void *ctx, struct backend_message_summary **mp, struct gw_error *err)
{
    struct collected *got = ctx;
    (void)err;
    assert_true(has_flag(&(*mp)->flags, "\\Answered"));
    assert_true(got->n < 8);
    got->uids[got->n++] = (*mp)->uid;
    return 0;
}

/* Stops after 10 messages. */
static int on_stop(void *ctx, struct backend_message_summary **mp, struct gw_error *err)
{
    size_t *seen = ctx;
    (void)mp;
    if (++*seen == 10)
        return gw_error_set(err, GW_ERR_LIMIT, "enough");
    assert_true(*seen < 10);
    return 0;
}

#define BULK 1000

struct bulk_ctx {
    size_t count;
    uint32_t last_uid;
    time_t base;
    size_t sizes[BULK + 1];
};

static int on_bulk(void *ctx, struct backend_message_summary **mp, struct gw_error *err)
{
    struct bulk_ctx *bc = ctx;
    const struct backend_message_summary *m = *mp;
    char subject[32];
    (void)err;
    assert_true(m->uid > bc->last_uid && m->uid <= BULK);
    bc->last_uid = m->uid;
    snprintf(subject, sizeof(subject), "Message #%u", m->uid);
    assert_non_null(m->envelope);
    assert_string_equal(m->envelope->subject, subject);
    assert_int_equal(m->envelope->from.n, 1);
    assert_string_equal(m->envelope->from.v[0].host, "example.com");
    assert_int_equal(m->size, bc->sizes[m->uid]);
    assert_non_null(m->guid);
    assert_true(strlen(m->guid) >= 16);
    assert_true(m->modseq != 0);
    assert_non_null(m->headers);
    assert_non_null(strstr(m->headers, "Message-ID: <m"));
    assert_null(strstr(m->headers, "Subject"));
    assert_string_equal(m->body->type, "text");
    assert_string_equal(m->body->part_id, "1");
    assert_true(has_flag(&m->flags, "\\Seen") == (m->uid % 2 == 0));
    assert_int_equal(m->internaldate, bc->base + (time_t)m->uid);
    assert_int_equal(m->tz_offset_min, 0);
    char preview[32];
    snprintf(preview, sizeof(preview), "Body %u", m->uid - 1);
    assert_non_null(m->preview);
    assert_string_equal(m->preview, preview);
    bc->count++;
    return 0;
}

static void test_fetch_bulk(void **state)
{
    (void)state;
    struct mail_backend *b = conn();
    struct gw_error err = { 0 };
    struct bulk_ctx *bc = calloc(1, sizeof(*bc));
    char **msgs = calloc(BULK, sizeof(*msgs));
    const char **flags = calloc(BULK, sizeof(*flags));
    time_t *dates = calloc(BULK, sizeof(*dates));
    struct tm base = { .tm_year = 126, .tm_mon = 10, .tm_mday = 2, .tm_hour = 10 };
    assert_true(bc != NULL && msgs != NULL && flags != NULL && dates != NULL);

    bc->base = timegm(&base);
    raw(b, "CREATE Bulk");
    for (int i = 0; i < BULK; i++) {
        assert_true(asprintf(&msgs[i], "From: Sender %d <s%d@example.com>\r\nTo: r@example.org\r\n"
                             "Subject: Message #%d\r\nMessage-ID: <m%d@example.com>\r\n\r\n"
                             "Body %d\r\n", i, i, i + 1, i, i) > 0);
        bc->sizes[i + 1] = strlen(msgs[i]);
        flags[i] = (i + 1) % 2 == 0 ? "\\Seen" : "";
        dates[i] = bc->base + i + 1;
    }
    append_with(b, "Bulk", (const char *const *)msgs, BULK, flags, dates);
    for (int i = 0; i < BULK; i++)
        free(msgs[i]);
    struct backend_selected *s = sel(b, "Bulk");
    assert_int_equal(s->exists, BULK);
    uint64_t modseq = s->highestmodseq;
    backend_selected_free(&s);

    struct backend_fetch_req req = { .items = ~0u };
    assert_int_equal(backend_fetch_summaries(b, &req, on_bulk, bc, &err), 0);
    assert_int_equal(bc->count, BULK);

    /* A callback that stops: its error comes back, the rest of the reply
     * is drained and the connection stays usable. */
    size_t seen = 0;
    struct backend_fetch_req flags_only = { .items = BACKEND_FETCH_FLAGS };
    gw_error_clear(&err);
    assert_int_equal(backend_fetch_summaries(b, &flags_only, on_stop, &seen, &err), -1);
    assert_int_equal(err.code, GW_ERR_LIMIT);
    assert_int_equal(seen, 10);
    assert_false(backend_is_broken(b));
    assert_int_equal(backend_noop(b, &err), 0);

    /* CHANGEDSINCE: only what changed after modseq, on a uid subset. */
    raw(b, "UID STORE 10,20,999 +FLAGS.SILENT (\\Answered)");
    uint32_t subset[] = { 5, 10, 11, 12, 13, 20, 999, 1000, 1001 };
    struct backend_fetch_req changed = { .uids = subset, .n_uids = 9, .changedsince = modseq,
                                         .items = BACKEND_FETCH_FLAGS | BACKEND_FETCH_MODSEQ };
    struct collected got = { 0 };
    assert_int_equal(backend_fetch_summaries(b, &changed, on_collect, &got, &err), 0);
    assert_int_equal(got.n, 3);
    assert_int_equal(got.uids[0], 10);
    assert_int_equal(got.uids[1], 20);
    assert_int_equal(got.uids[2], 999);
    free(msgs);
    free(flags);
    free(dates);
    free(bc);
    backend_close(&b);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_mailboxes),
        cmocka_unit_test(test_select_qresync),
        cmocka_unit_test(test_fetch_bulk),
    };
    return cmocka_run_group_tests(tests, world_setup, world_teardown);
}
