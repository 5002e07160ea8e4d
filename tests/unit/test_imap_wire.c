/* test_imap_wire.c - the raw IMAP layer of backends/imap on its own: the
 * response parser (table of good and malformed responses, literals,
 * literal8, [sections], nesting limit), the modified UTF-7 codec, uid
 * sets, and a fake server whose malformed LIST and FETCH lines must give
 * GW_ERR_PROTOCOL, a broken connection and no crash, and whose reply that
 * stops half way must give GW_ERR_UNAVAILABLE within the timeout. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../backends/imap/imap_wire.h"
#include "backend_mail.h"
#include "fake_imap.h"

static void test_parser_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int ok;
        size_t n;
    } cases[] = {
        { "1 FETCH (UID 7 FLAGS (\\Seen $x))\r\n", 0, 3 },
        { "1 FETCH (BODY[HEADER.FIELDS (A B)] {5}\r\nab\r\nc)\r\n", 0, 3 },
        { "LIST () \"/\" \"a \\\"q\\\" \\\\\"\r\n", 0, 4 },
        { "ESEARCH (TAG \"J1\") UID ALL 1:3,7\r\n", 0, 5 },
        { "1 FETCH (BINARY[1]<0> ~{3}\r\n\0\1\2)\r\n", 0, 3 },
        { "LIST (\\Noselect \"/\" \"x\r\n", -1, 0 },
        { "1 FETCH (UID 7\r\n", -1, 0 },
        { "1 FETCH (A {9}\r\nab)\r\n", -1, 0 },
        { "1 FETCH ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((x)))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))\r\n", -1, 0 },
        { "X \"unterminated\r\n", -1, 0 },
        { "A)B\r\n", -1, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct imap_arena a = { 0 };
        struct imap_untagged u;
        size_t len = strlen(cases[i].in);
        if (i == 4)
            len = strlen("1 FETCH (BINARY[1]<0> ~{3}\r\n") + 3 + 3;
        int r = imap_parse_response(cases[i].in, len, &a, &u);
        if (r != cases[i].ok)
            fail_msg("case %zu: got %d", i, r);
        if (r == 0)
            assert_int_equal(u.n, cases[i].n);
        if (i == 1) {
            assert_string_equal(u.v[2].items[0].s, "BODY[HEADER.FIELDS (A B)]");
            assert_int_equal(u.v[2].items[1].len, 5);
            assert_memory_equal(u.v[2].items[1].s, "ab\r\nc", 5);
        }
        if (i == 2)
            assert_string_equal(u.v[3].s, "a \"q\" \\");
        if (i == 4) {
            assert_int_equal(u.v[2].items[1].len, 3);
            assert_memory_equal(u.v[2].items[1].s, "\0\1\2", 3);
        }
        imap_arena_free(&a);
    }
    struct imap_arena a = { 0 };
    struct imap_untagged u;
    const char *ok = "OK [PERMANENTFLAGS (\\Seen \\*)] Flags permitted.\r\n";
    assert_int_equal(imap_parse_response(ok, strlen(ok), &a, &u), 0);
    assert_int_equal(u.n_code, 2);
    assert_string_equal(u.code[0].s, "PERMANENTFLAGS");
    assert_int_equal(u.code[1].n, 2);
    assert_string_equal(u.text, "Flags permitted.");
    imap_arena_free(&a);
}

static void test_mutf7(void **state)
{
    (void)state;
    static const struct {
        const char *utf8, *mutf7;
    } cases[] = {
        { "Entwürfe", "Entw&APw-rfe" }, { "日本語", "&ZeVnLIqe-" }, { "A&B", "A&-B" },
        { "~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
        { "😀", "&2D3eAA-" }, { "plain", "plain" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *d = imap_mutf7_decode(cases[i].mutf7, strlen(cases[i].mutf7));
        char *e = imap_mutf7_encode(cases[i].utf8, strlen(cases[i].utf8));
        assert_non_null(d);
        assert_non_null(e);
        assert_string_equal(d, cases[i].utf8);
        assert_string_equal(e, cases[i].mutf7);
        free(d);
        free(e);
    }
    static const char *const bad[] = { "&", "&Jjo", "&AGE-", "&2D0-", "a\x80", "&ZeVnLIq-" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *d = imap_mutf7_decode(bad[i], strlen(bad[i]));
        if (d != NULL)
            fail_msg("decoded bad input %s as %s", bad[i], d);
    }
    assert_null(imap_mutf7_encode("\xc3", 1));
}

static void test_uidset(void **state)
{
    (void)state;
    uint32_t *v = NULL;
    size_t n = 0;
    assert_int_equal(imap_uidset_parse("7,1:3,5", 7, 100, &v, &n), 0);
    assert_int_equal(n, 5);
    uint32_t want[] = { 1, 2, 3, 5, 7 };
    assert_memory_equal(v, want, sizeof(want));
    free(v);
    static const char *const bad[] = { "", "1,", ",1", "0", "1:", "a", "4294967296", "1::2" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = NULL;
        if (imap_uidset_parse(bad[i], strlen(bad[i]), 100, &v, &n) == 0 && strlen(bad[i]) != 0)
            fail_msg("accepted %s", bad[i]);
        free(v);
    }
    assert_int_equal(imap_uidset_parse("1:1000", 6, 999, &v, &n), -1);

    struct imap_cmd c = { 0 };
    uint32_t uids[] = { 9, 3, 1, 2, 3, 10, 20 };
    assert_int_equal(imap_uidset_format(&c, uids, 7), 0);
    assert_string_equal(c.buf.data, "1:3,9:10,20");
    imap_cmd_free(&c);
}

static struct mail_backend *fake_conn(struct fake_imap *f)
{
    return fake_imap_connect(f->port, 500);
}

static int on_summary(void *ctx, struct backend_message_summary **m, struct gw_error *err)
{
    (void)err;
    (void)m;
    (*(int *)ctx)++;
    return 0;
}

static void test_malformed_lines(void **state)
{
    (void)state;
    struct fake_imap f;
    struct gw_error err = { 0 };
    assert_int_equal(fake_imap_start(&f, FAKE_IMAP_MALFORMED_READ), 0);

    struct mail_backend *b = fake_conn(&f);
    struct backend_mailbox_list *l = NULL;
    assert_int_equal(backend_list_mailboxes(b, &l, &err), -1);
    assert_int_equal(err.code, GW_ERR_PROTOCOL);
    assert_null(l);
    assert_true(backend_is_broken(b));
    backend_close(&b);

    b = fake_conn(&f);
    int delivered = 0;
    struct backend_fetch_req req = { .items = BACKEND_FETCH_ENVELOPE | BACKEND_FETCH_SIZE };
    gw_error_clear(&err);
    assert_int_equal(backend_fetch_summaries(b, &req, on_summary, &delivered, &err), -1);
    assert_int_equal(err.code, GW_ERR_PROTOCOL);
    assert_int_equal(delivered, 0);     /* nothing after the first bad message */
    assert_true(backend_is_broken(b));
    /* A broken connection refuses further work at once. */
    assert_int_equal(backend_fetch_summaries(b, &req, on_summary, &delivered, &err), -1);
    assert_int_equal(err.code, GW_ERR_UNAVAILABLE);
    backend_close(&b);

    /* A reply that stops half way is bounded by the command timeout. */
    b = fake_conn(&f);
    uint32_t *uids = NULL;
    size_t n = 0;
    struct backend_search all = { .op = BACKEND_SEARCH_ALL };
    uint64_t start = net_now_ms();
    assert_int_equal(backend_uid_search(b, &all, &uids, &n, &err), -1);
    assert_int_equal(err.code, GW_ERR_UNAVAILABLE);
    assert_true(net_now_ms() - start < 3000);
    assert_null(uids);
    assert_true(backend_is_broken(b));
    backend_close(&b);
    fake_imap_stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser_table),
        cmocka_unit_test(test_mutf7),
        cmocka_unit_test(test_uidset),
        cmocka_unit_test(test_malformed_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
