/* test_imap_write.c - the write primitives of backend_mail_write.h against
 * a private Dovecot: flag stores (add, remove, replace, UNCHANGEDSINCE
 * conflicts), copy and move with COPYUID, the COPY + UID EXPUNGE fallback
 * on a server without MOVE (other \Deleted messages untouched), exact
 * expunges, APPEND with flags and date, mailbox CREATE/RENAME/DELETE/
 * SUBSCRIBE and their error codes, and name encoding. Failures half way
 * are in test_imap_write_fail.c (scripted server). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backend_mail_write.h"
#include "imap_read_session.h"

static const char msg[] = "From: A <a@example.com>\r\nSubject: w\r\n\r\nbody\r\n";

/* Without MOVE: the fallback path. */
static const char no_move_conf[] =
    "protocol imap {\n  imap_capability = IMAP4rev1 SASL-IR ID ENABLE IDLE UIDPLUS CONDSTORE\n}\n";
static struct dovecot no_move;

static int setup(void **state)
{
    world_setup(state);
    dovecot_start(&no_move, W->root, "nomove", NULL, no_move_conf);
    return 0;
}

static int teardown(void **state)
{
    dovecot_stop(&no_move);
    return world_teardown(state);
}

struct seen {
    uint32_t uids[16];
    char flags[16][128];
    uint64_t modseq[16];
    size_t n;
};

static int collect(void *ctx, struct backend_message_summary **m, struct gw_error *err)
{
    struct seen *s = ctx;
    (void)err;
    if (s->n == 16)
        return 0;
    s->uids[s->n] = (*m)->uid;
    s->modseq[s->n] = (*m)->modseq;
    s->flags[s->n][0] = '\0';
    for (size_t i = 0; i < (*m)->flags.n; i++) {
        if (strcasecmp((*m)->flags.v[i], "\\Recent") == 0)
            continue;
        size_t used = strlen(s->flags[s->n]);
        snprintf(s->flags[s->n] + used, sizeof(s->flags[0]) - used, "%s%s", used ? " " : "",
                 (*m)->flags.v[i]);
    }
    s->n++;
    return 0;
}

/* Every message of mailbox with its flags (as a fresh reader sees them). */
static void look(struct mail_backend *b, const char *mailbox, struct seen *s)
{
    struct gw_error err = { 0 };
    struct backend_fetch_req req = { .items = BACKEND_FETCH_FLAGS | BACKEND_FETCH_MODSEQ };
    memset(s, 0, sizeof(*s));
    open_box(b, mailbox);
    if (backend_fetch_summaries(b, &req, collect, s, &err) != 0)
        fail_msg("fetch %s: %s", mailbox, err.msg);
}

static uint32_t validity(struct mail_backend *b, const char *mailbox)
{
    struct backend_selected *s = sel(b, mailbox);
    uint32_t v = s->uidvalidity;
    backend_selected_free(&s);
    return v;
}

static void test_store_flags(void **state)
{
    (void)state;
    struct mail_backend *b = conn();
    struct gw_error err = { 0 };
    const char *three[] = { msg, msg, msg };
    raw(b, "CREATE Flags");
    append(b, "Flags", three, 3, "");
    uint32_t uv = validity(b, "Flags");
    uint32_t uids[] = { 3, 1, 3 };
    const char *add[] = { "\\Seen", "$Label1" };
    struct backend_store_req req = { .set = { "Flags", uv, uids, 3 }, .op = BACKEND_STORE_ADD,
                                     .flags = add, .n_flags = 2 };
    assert_int_equal(backend_store_flags(b, &req, NULL, &err), 0);
    struct seen s;
    look(b, "Flags", &s);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.flags[0], "\\Seen $Label1");
    assert_string_equal(s.flags[1], "");
    assert_string_equal(s.flags[2], "\\Seen $Label1");

    const char *rm[] = { "\\Seen" };
    req.op = BACKEND_STORE_REMOVE;
    req.flags = rm;
    req.n_flags = 1;
    assert_int_equal(backend_store_flags(b, &req, NULL, &err), 0);
    look(b, "Flags", &s);
    assert_string_equal(s.flags[0], "$Label1");

    uint32_t two[] = { 2 };
    const char *rep[] = { "\\Flagged", "\\Answered" };
    struct backend_store_req r2 = { .set = { "Flags", uv, two, 1 }, .op = BACKEND_STORE_REPLACE,
                                    .flags = rep, .n_flags = 2 };
    assert_int_equal(backend_store_flags(b, &r2, NULL, &err), 0);
    look(b, "Flags", &s);
    assert_true(strstr(s.flags[1], "\\Flagged") != NULL && strstr(s.flags[1], "\\Answered"));

    /* UNCHANGEDSINCE an older modseq: message 1 is reported, not changed */
    uint64_t old = s.modseq[0];
    req.op = BACKEND_STORE_ADD;
    req.flags = add;
    req.n_flags = 1;
    req.set.uids = uids + 1;
    req.set.n_uids = 1;
    assert_int_equal(backend_store_flags(b, &req, NULL, &err), 0);    /* bumps 1's modseq */
    struct backend_store_result *res = NULL;
    req.unchangedsince = old;
    req.flags = rep;
    assert_int_equal(backend_store_flags(b, &req, &res, &err), 0);
    assert_int_equal(res->n_modified, 1);
    assert_int_equal(res->modified[0], 1);
    backend_store_result_free(&res);
    look(b, "Flags", &s);
    assert_null(strstr(s.flags[0], "\\Flagged"));

    /* bad flags and a stale UIDVALIDITY change nothing */
    const char *bad[] = { "\\Recent" };
    req.unchangedsince = 0;
    req.flags = bad;
    assert_int_equal(backend_store_flags(b, &req, NULL, &err), -1);
    assert_int_equal(err.code, GW_ERR_INVALID);
    req.flags = add;
    req.set.uidvalidity = uv + 1;
    assert_int_equal(backend_store_flags(b, &req, NULL, &err), -1);
    assert_int_equal(err.code, GW_ERR_NOTFOUND);
    backend_close(&b);
}

static void test_copy_move(void **state)
{
    (void)state;
    struct mail_backend *b = conn();
    struct gw_error err = { 0 };
    const char *two[] = { msg, msg };
    raw(b, "CREATE Src");
    raw(b, "CREATE Dst");
    append(b, "Src", two, 2, "\\Flagged");
    uint32_t uv = validity(b, "Src");
    uint32_t one[] = { 1 }, both[] = { 1, 2 };
    struct backend_msgset set = { "Src", uv, one, 1 };
    struct backend_copy_result *r = NULL;
    assert_int_equal(backend_copy(b, &set, "Dst", &r, &err), 0);
    assert_int_equal(r->outcome, BACKEND_COPY_DONE);
    assert_int_equal(r->n, 1);
    assert_int_equal(r->src_uids[0], 1);
    assert_int_equal(r->dest_uids[0], 1);
    assert_int_equal(r->dest_uidvalidity, validity(b, "Dst"));
    backend_copy_result_free(&r);

    set.uids = both;
    set.n_uids = 2;
    assert_int_equal(backend_move(b, &set, "Dst", &r, &err), 0);
    assert_int_equal(r->outcome, BACKEND_COPY_DONE);
    assert_int_equal(r->n, 2);
    assert_int_equal(r->dest_uids[0], 2);
    assert_int_equal(r->dest_uids[1], 3);
    backend_copy_result_free(&r);
    struct seen s;
    look(b, "Src", &s);
    assert_int_equal(s.n, 0);
    look(b, "Dst", &s);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.flags[2], "\\Flagged");

    /* a missing destination: NOTFOUND ([TRYCREATE]), nothing done */
    set.mailbox_raw = "Dst";
    set.uidvalidity = 0;
    set.uids = one;
    set.n_uids = 1;
    assert_int_equal(backend_move(b, &set, "Nowhere", &r, &err), -1);
    assert_int_equal(err.code, GW_ERR_NOTFOUND);
    assert_int_equal(r->outcome, BACKEND_COPY_NONE);
    backend_copy_result_free(&r);
    look(b, "Dst", &s);
    assert_int_equal(s.n, 3);
    backend_close(&b);
}

/* Without MOVE the move is COPY + \Deleted + UID EXPUNGE of exactly the
 * moved uids: another client's \Deleted message stays. */
static void test_move_fallback_exact(void **state)
{
    (void)state;
    struct mail_backend *b = conn_to(&no_move);
    struct gw_error err = { 0 };
    const char *three[] = { msg, msg, msg };
    assert_false(backend_has_capability(b, "MOVE"));
    raw(b, "CREATE Src");
    raw(b, "CREATE Dst");
    append(b, "Src", three, 3, "");
    open_box(b, "Src");
    raw(b, "UID STORE 3 +FLAGS.SILENT (\\Deleted)");   /* someone else's pending delete */
    uint32_t one[] = { 1 };
    struct backend_msgset set = { "Src", 0, one, 1 };
    struct backend_copy_result *r = NULL;
    assert_int_equal(backend_move(b, &set, "Dst", &r, &err), 0);
    assert_int_equal(r->outcome, BACKEND_COPY_DONE);
    assert_int_equal(r->n, 1);
    backend_copy_result_free(&r);
    struct seen s;
    look(b, "Src", &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.uids[0], 2);
    assert_int_equal(s.uids[1], 3);
    assert_string_equal(s.flags[1], "\\Deleted");
    look(b, "Dst", &s);
    assert_int_equal(s.n, 1);

    /* backend_expunge_uids is exact as well */
    uint32_t two[] = { 2, 99 };
    set.uids = two;
    set.n_uids = 2;
    assert_int_equal(backend_expunge_uids(b, &set, &err), 0);
    look(b, "Src", &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.uids[0], 3);
    backend_close(&b);
}

static void test_append(void **state)
{
    (void)state;
    struct mail_backend *b = conn();
    struct gw_error err = { 0 };
    const char *flags[] = { "\\Draft", "$Project" };
    struct backend_append_req req = { .mailbox_raw = "Drafts", .flags = flags, .n_flags = 2,
                                      .internaldate = 1700000000, .tz_offset_min = 60,
                                      .data = msg, .len = sizeof(msg) - 1 };
    struct backend_append_result res = { 0 };
    assert_int_equal(backend_append(b, &req, &res, &err), 0);
    assert_int_equal(res.uidvalidity, validity(b, "Drafts"));
    assert_true(res.uid != 0);
    struct seen s;
    look(b, "Drafts", &s);
    assert_int_equal(s.uids[s.n - 1], res.uid);
    assert_string_equal(s.flags[s.n - 1], "\\Draft $Project");

    req.mailbox_raw = "Nowhere";
    assert_int_equal(backend_append(b, &req, &res, &err), -1);
    assert_int_equal(err.code, GW_ERR_NOTFOUND);
    backend_close(&b);
}

static void test_mailboxes(void **state)
{
    (void)state;
    struct mail_backend *b = conn();
    struct gw_error err = { 0 };
    char *raw_name = NULL;
    assert_int_equal(backend_mailbox_name_encode("Entwürfe/日本", &raw_name, &err), 0);
    assert_string_equal(raw_name, "Entw&APw-rfe/&ZeVnLA-");
    assert_int_equal(backend_create_mailbox(b, "Entw&APw-rfe", BACKEND_USE_NONE, &err), 0);
    assert_int_equal(backend_create_mailbox(b, raw_name, BACKEND_USE_NONE, &err), 0);
    assert_int_equal(backend_create_mailbox(b, raw_name, BACKEND_USE_NONE, &err), -1);
    assert_int_equal(err.code, GW_ERR_EXISTS);
    assert_int_equal(backend_subscribe(b, raw_name, true, &err), 0);
    uint32_t uv = validity(b, raw_name);
    assert_int_equal(backend_rename_mailbox(b, "Entw&APw-rfe", "Renamed", &err), 0);
    struct backend_mailbox_list *l = NULL;
    assert_int_equal(backend_list_mailboxes(b, &l, &err), 0);
    const struct backend_mailbox *m = find_mb(l, "Renamed/日本");    /* children move along */
    assert_int_equal(m->status.uidvalidity, uv);
    backend_mailbox_list_free(&l);
    assert_int_equal(backend_subscribe(b, "Renamed/&ZeVnLA-", false, &err), 0);
    assert_int_equal(backend_delete_mailbox(b, "Renamed/&ZeVnLA-", &err), 0);
    assert_int_equal(backend_delete_mailbox(b, "Renamed/&ZeVnLA-", &err), -1);
    assert_int_equal(err.code, GW_ERR_NOTFOUND);
    assert_int_equal(backend_create_mailbox(b, "Sp", BACKEND_USE_FLAGGED, &err),
                     backend_has_capability(b, "CREATE-SPECIAL-USE") ? 0 : -1);
    free(raw_name);
    assert_int_equal(backend_mailbox_name_encode("", &raw_name, &err), -1);
    assert_int_equal(backend_mailbox_name_encode("a\x01", &raw_name, &err), -1);
    assert_int_equal(backend_mailbox_name_encode("\xc3", &raw_name, &err), -1);
    assert_int_equal(err.code, GW_ERR_INVALID);
    backend_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_flags), cmocka_unit_test(test_copy_move),
        cmocka_unit_test(test_move_fallback_exact), cmocka_unit_test(test_append),
        cmocka_unit_test(test_mailboxes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
