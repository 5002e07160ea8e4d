/* imap_read_session.h - shared by the read-path tests (test_imap_read.c,
 * test_imap_mime.c; header-only like fake_imap.h): a private Dovecot with
 * special-use mailboxes (and optionally a second one advertising only
 * IMAP4rev1-era capabilities), connections to them, and raw IMAP helpers
 * that put test data in through the connection's own wire layer.
 * Include after <cmocka.h>. */
#ifndef TESTS_IMAP_READ_SESSION_H
#define TESTS_IMAP_READ_SESSION_H

#include <strings.h>
#include <time.h>

#include "../../backends/imap/imap_wire.h"
#include "backend_mail.h"
#include "dovecot_test.h"

static const char special_use_conf[] =
    "namespace inbox {\n  inbox = yes\n  separator = /\n"
    "  mailbox Drafts {\n    special_use = \\Drafts\n    auto = subscribe\n  }\n"
    "  mailbox Sent {\n    special_use = \\Sent\n    auto = subscribe\n  }\n"
    "  mailbox Trash {\n    special_use = \\Trash\n    auto = create\n  }\n"
    "  mailbox Junk {\n    special_use = \\Junk\n    auto = create\n  }\n}\n";

/* The same server advertising only IMAP4rev1-era capabilities, so the
 * fallbacks run: LIST + LSUB + STATUS, SEARCH, BODY.PEEK, synchronising
 * literals, no CONDSTORE/QRESYNC. */
static const char plain_caps_conf[] =
    "protocol imap {\n  imap_capability = IMAP4rev1 SASL-IR ID ENABLE IDLE SORT UIDPLUS MOVE\n}\n";

static struct {
    char root[64];
    struct dovecot dv;      /* full capabilities, special-use mailboxes */
    struct dovecot plain;   /* only with world_setup_plain() */
} *W;

static inline int world_start(bool with_plain)
{
    W = calloc(1, sizeof(*W));
    assert_non_null(W);
    snprintf(W->root, sizeof(W->root), "/tmp/jmapgw-read-XXXXXX");
    assert_non_null(mkdtemp(W->root));
    assert_int_equal(chmod(W->root, 0755), 0);
    dovecot_start(&W->dv, W->root, "read", NULL, special_use_conf);
    if (with_plain)
        dovecot_start(&W->plain, W->root, "plain", NULL, plain_caps_conf);
    return 0;
}

static inline int world_setup(void **state)
{
    (void)state;
    return world_start(false);
}

/* world_setup() plus the "plain" instance. */
static inline int world_setup_plain(void **state)
{
    (void)state;
    return world_start(true);
}

static inline int world_teardown(void **state)
{
    (void)state;
    dovecot_stop(&W->dv);
    dovecot_stop(&W->plain);
    dovecot_remove_tree(W->root);
    free(W);
    W = NULL;
    return 0;
}

static inline struct mail_backend *conn_to(const struct dovecot *d)
{
    struct backend_endpoint ep = { .host = "127.0.0.1", .port = d->imap_port,
                                   .tls = GW_TLS_NONE, .connect_timeout_ms = 5000,
                                   .command_timeout_ms = 10000 };
    struct backend_credentials cred = { "test", "secret" };
    struct mail_backend *b = NULL;
    struct gw_error err = { 0 };
    if (backend_imap_open(&ep, &cred, &b, &err) != 0)
        fail_msg("open: %s", err.msg);
    return b;
}

static inline struct mail_backend *conn(void)
{
    return conn_to(&W->dv);
}

static inline void raw(struct mail_backend *b, const char *command)
{
    struct gw_error err = { 0 };
    if (imap_wire_simple(imap_backend_from(b), command, &err) != 0)
        fail_msg("%s: %s", command, err.msg);
}

/* One MULTIAPPEND of n messages; flags[i] (or "") and dates[i] (or none)
 * per message when the arrays are given. */
static inline void append_with(struct mail_backend *b, const char *mailbox, const char *const *msgs,
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

static inline void append(struct mail_backend *b, const char *mailbox, const char *const *msgs, size_t n,
                   const char *flag)
{
    const char *flags[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++)
        flags[i] = flag;
    append_with(b, mailbox, msgs, n, flags, NULL);
}

static inline struct backend_selected *sel(struct mail_backend *b, const char *name)
{
    struct backend_select_req req = { .name_raw = name };
    struct backend_selected *s = NULL;
    struct gw_error err = { 0 };
    if (backend_select(b, &req, &s, &err) != 0)
        fail_msg("select %s: %s", name, err.msg);
    return s;
}

/* Selects name when only the side effect matters. */
static inline void open_box(struct mail_backend *b, const char *name)
{
    struct backend_selected *s = sel(b, name);
    backend_selected_free(&s);
}

static inline const struct backend_mailbox *find_mb(const struct backend_mailbox_list *l, const char *utf8)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->items[i].name_utf8, utf8) == 0)
            return &l->items[i];
    }
    fail_msg("mailbox %s not listed", utf8);
    return NULL;
}

static inline bool has_flag(const struct backend_flags *f, const char *flag)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcasecmp(f->v[i], flag) == 0)
            return true;
    }
    return false;
}


#endif
