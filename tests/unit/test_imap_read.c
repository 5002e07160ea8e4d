/* test_imap_read.c - the read primitives of backend_mail.h against a
 * private Dovecot (dovecot_test.h) with special-use mailboxes. The parser,
 * the name codec and malformed server lines are in test_imap_wire.c.
 *
 * Test data goes in through raw IMAP on the connection's own wire layer
 * (CREATE, APPEND with literals, STORE, EXPUNGE, MOVE), and every
 * primitive's output is compared field by field.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../backends/imap/imap_wire.h"
#include "backend_mail.h"
#include <openssl/evp.h>

#include "dovecot_test.h"
#include "fake_imap.h"

static const char special_use_conf[] =
    "namespace inbox {\n  inbox = yes\n  separator = /\n"
    "  mailbox Drafts {\n    special_use = \\Drafts\n    auto = subscribe\n  }\n"
    "  mailbox Sent {\n    special_use = \\Sent\n    auto = subscribe\n  }\n"
    "  mailbox Trash {\n    special_use = \\Trash\n    auto = create\n  }\n"
    "  mailbox Junk {\n    special_use = \\Junk\n    auto = create\n  }\n}\n";

static struct {
    char root[64];
    struct dovecot dv;
} *W;

static int world_setup(void **state)
{
    (void)state;
    W = calloc(1, sizeof(*W));
    assert_non_null(W);
    snprintf(W->root, sizeof(W->root), "/tmp/jmapgw-read-XXXXXX");
    assert_non_null(mkdtemp(W->root));
    assert_int_equal(chmod(W->root, 0755), 0);
    dovecot_start(&W->dv, W->root, "read", NULL, special_use_conf);
    return 0;
}

static int world_teardown(void **state)
{
    (void)state;
    dovecot_stop(&W->dv);
    dovecot_remove_tree(W->root);
    free(W);
    W = NULL;
    return 0;
}

static struct mail_backend *conn(void)
{
    struct backend_endpoint ep = { .host = "127.0.0.1", .port = W->dv.imap_port,
                                   .tls = GW_TLS_NONE, .connect_timeout_ms = 5000,
                                   .command_timeout_ms = 10000 };
    struct backend_credentials cred = { "test", "secret" };
    struct mail_backend *b = NULL;
    struct gw_error err = { 0 };
    if (backend_imap_open(&ep, &cred, &b, &err) != 0)
        fail_msg("open: %s", err.msg);
    return b;
}

static void raw(struct mail_backend *b, const char *command)
{
    struct gw_error err = { 0 };
    if (imap_wire_simple(imap_backend_from(b), command, &err) != 0)
        fail_msg("%s: %s", command, err.msg);
}

/* One MULTIAPPEND of n messages; flags[i] (or "") and dates[i] (or none)
 * per message when the arrays are given. */
static void append_with(struct mail_backend *b, const char *mailbox, const char *const *msgs,
                        size_t n, const char *const *flags, const time_t *dates)
{
    struct imap_backend *ib = imap_backend_from(b);
    struct imap_cmd c;
    struct gw_error err = { 0 };
    imap_cmd_init(&c, ib);
    imap_cmd_add(&c, "APPEND ");
    imap_cmd_add_string(&c, mailbox, strlen(mailbox));
    for (size_t i = 0; i < n; i++) {
        imap_cmd_addf(&c, " (%s) ", flags != NULL ? flags[i] : "");
        if (dates != NULL) {
            char d[40];
            struct tm tm;
            assert_non_null(gmtime_r(&dates[i], &tm));
            assert_true(strftime(d, sizeof(d), "\"%d-%b-%Y %H:%M:%S +0000\" ", &tm) > 0);
            imap_cmd_add(&c, d);
        }
        imap_cmd_add_string(&c, msgs[i], strlen(msgs[i]));
    }
    if (imap_wire_run(ib, &c, "APPEND", 0, NULL, NULL, &err) != 0)
        fail_msg("APPEND: %s", err.msg);
    imap_cmd_free(&c);
}

static void append(struct mail_backend *b, const char *mailbox, const char *const *msgs, size_t n,
                   const char *flag)
{
    const char *flags[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++)
        flags[i] = flag;
    append_with(b, mailbox, msgs, n, flags, NULL);
}

static struct backend_selected *sel(struct mail_backend *b, const char *name)
{
    struct backend_select_req req = { .name_raw = name };
    struct backend_selected *s = NULL;
    struct gw_error err = { 0 };
    if (backend_select(b, &req, &s, &err) != 0)
        fail_msg("select %s: %s", name, err.msg);
    return s;
}

/* Selects name when only the side effect matters. */
static void open_box(struct mail_backend *b, const char *name)
{
    struct backend_selected *s = sel(b, name);
    backend_selected_free(&s);
}

static const struct backend_mailbox *find_mb(const struct backend_mailbox_list *l, const char *utf8)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->items[i].name_utf8, utf8) == 0)
            return &l->items[i];
    }
    fail_msg("mailbox %s not listed", utf8);
    return NULL;
}

static bool has_flag(const struct backend_flags *f, const char *flag)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcasecmp(f->v[i], flag) == 0)
            return true;
    }
    return false;
}

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_mailboxes),
        cmocka_unit_test(test_select_qresync),
        cmocka_unit_test(test_fetch_bulk),
        cmocka_unit_test(test_structure_and_parts),
        cmocka_unit_test(test_search_sort),
    };
    return cmocka_run_group_tests(tests, world_setup, world_teardown);
}
