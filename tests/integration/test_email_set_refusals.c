/* test_email_set_refusals.c - Email/set when the IMAP server refuses part
 * of a write, through the whole gateway, against a private Dovecot whose
 * acl plugin takes rights away (RFC 4314):
 * - a mailbox without the "w" right has PERMANENTFLAGS without \* and
 *   without \Flagged: a custom keyword or $flagged is forbidden naming
 *   keywords, nothing is stored, $seen ("s") still works;
 * - a mailbox without "t"/"e" cannot lose a message: a move out of it
 *   copies (or not) but the original stays; the client gets a SetError
 *   that says so, and Email/get, read afterwards, shows the mailboxes
 *   a plain IMAP connection sees. Nothing is lost. */
#define _GNU_SOURCE 1
#include "harness_set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/dovecot_test.h"

static const char acl_conf[] =
    "namespace inbox {\n  inbox = yes\n  separator = /\n}\n"
    "mail_plugins = $mail_plugins acl\n"
    "protocol imap {\n  mail_plugins = $mail_plugins imap_acl\n}\n"
    "plugin {\n  acl = vfile\n}\n";

static const char msg_kw[] = "From: a@example.org\r\nSubject: no keywords here\r\n"
                             "Message-ID: <nokw@refuse.example>\r\n\r\nbody\r\n";
static const char msg_locked[] = "From: a@example.org\r\nSubject: cannot leave\r\n"
                                 "Message-ID: <locked@refuse.example>\r\n\r\nbody\r\n";

static struct {
    char *root;
    struct dovecot d;
    struct harness_gateway *gw;
    struct harness_imap *imap;
    char *account;
} fx;

static json_t *jcall(const char *method, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* method with {"accountId": ..., <fmt>}: the response's arguments. */
static json_t *jcall(const char *method, const char *fmt, ...)
{
    char inner[2048], body[2300];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(inner, sizeof(inner), fmt, ap);
    va_end(ap);
    H_ASSERT(n >= 0 && n < (int)sizeof(inner));
    n = snprintf(body, sizeof(body), "{\"accountId\": \"%s\", %s}", fx.account, inner);
    H_ASSERT(n >= 0 && n < (int)sizeof(body));
    return harness_jmap_ok(fx.gw->port, "test", "secret", method, body);
}

static void query_one(const char *what, char out[64])
{
    json_t *r = strncmp(what, "mbox:", 5) == 0
                    ? jcall("Mailbox/query", "\"filter\": {\"name\": \"%s\"}", what + 5)
                    : jcall("Email/query", "\"filter\": {\"header\": [\"Message-ID\", \"%s\"]}",
                            what);
    json_t *ids = json_object_get(r, "ids");
    H_ASSERT_MSG(json_array_size(ids) == 1, "%s: %zu found", what, json_array_size(ids));
    snprintf(out, 64, "%s", json_string_value(json_array_get(ids, 0)));
    json_decref(r);
}

static int setup(void **state)
{
    (void)state;
    fx.root = harness_mkdtemp("refusals");
    if (fx.root == NULL || chmod(fx.root, 0755) != 0)
        return -1;
    dovecot_start(&fx.d, fx.root, "acl", NULL, acl_conf);
    fx.imap = harness_imap_login(fx.d.imap_port, "test", "secret");
    if (fx.imap == NULL || harness_imap_cmd(fx.imap, "CREATE NoKw") != 0 ||
        harness_imap_cmd(fx.imap, "CREATE Locked") != 0 ||
        harness_imap_append(fx.imap, "NoKw", NULL, msg_kw, sizeof(msg_kw) - 1, NULL) != 0 ||
        harness_imap_append(fx.imap, "Locked", NULL, msg_locked, sizeof(msg_locked) - 1,
                            NULL) != 0 ||
        harness_imap_cmd(fx.imap, "SETACL NoKw owner lrsitea") != 0 ||
        harness_imap_cmd(fx.imap, "SETACL Locked owner lrwsia") != 0)
        return -1;
    char port[16];
    snprintf(port, sizeof(port), "%u", fx.d.imap_port);
    const char *args[] = { "--imap-host", "127.0.0.1", "--imap-port", port, "--imap-tls", "none",
                           NULL };
    struct harness_gateway_opts opts = { .args = args };
    fx.gw = harness_gateway_start(&opts);
    if (fx.gw == NULL)
        return -1;
    json_t *session = harness_session_ok(fx.gw->port, "test", "secret");
    const char *account = harness_session_account_id(session);
    fx.account = account != NULL ? strdup(account) : NULL;
    json_decref(session);
    return fx.account != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = 0;
    harness_imap_logout(&fx.imap);
    if (fx.gw != NULL)
        rc = harness_gateway_stop(fx.gw);
    harness_gateway_free(&fx.gw);
    dovecot_stop(&fx.d);
    if (fx.root != NULL)
        harness_rmtree(fx.root);
    free(fx.root);
    free(fx.account);
    return rc;
}

/* The FLAGS of the only message in mailbox, over plain IMAP. */
static void imap_flags(const char *mailbox, char *out, size_t size)
{
    H_ASSERT(harness_imap_cmd(fx.imap, "EXAMINE \"%s\"", mailbox) == 0);
    H_ASSERT(harness_imap_cmd(fx.imap, "FETCH 1 (FLAGS)") == 0);
    const char *f = strstr(harness_imap_last(fx.imap), "FLAGS (");
    H_ASSERT(f != NULL);
    f += 7;
    const char *end = strchr(f, ')');
    H_ASSERT(end != NULL && (size_t)(end - f) < size);
    memcpy(out, f, (size_t)(end - f));
    out[end - f] = '\0';
    H_ASSERT(harness_imap_cmd(fx.imap, "UNSELECT") == 0);
}

static void test_keyword_refused(void **unused)
{
    (void)unused;
    char id[64], flags[256];
    query_one("<nokw@refuse.example>", id);
    static const char *const refused[] = { "keywords/project-x", "keywords/$flagged" };
    for (size_t i = 0; i < 2; i++) {
        json_t *r = jcall("Email/set", "\"update\": {\"%s\": {\"%s\": true}}", id, refused[i]);
        json_t *e = json_object_get(json_object_get(r, "notUpdated"), id);
        H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "type")), "forbidden");
        H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(e, "properties"), 0)),
                        "keywords");
        H_ASSERT(json_is_null(json_object_get(r, "updated")));
        json_decref(r);
    }
    imap_flags("NoKw", flags, sizeof(flags));
    H_ASSERT_MSG(strstr(flags, "project-x") == NULL && strstr(flags, "\\Flagged") == NULL,
                 "flags stored anyway: %s", flags);
    /* the "s" right is still there */
    json_t *r = jcall("Email/set", "\"update\": {\"%s\": {\"keywords/$seen\": true}}", id);
    H_ASSERT(json_object_get(json_object_get(r, "updated"), id) != NULL);
    json_decref(r);
    imap_flags("NoKw", flags, sizeof(flags));
    H_ASSERT_MSG(strstr(flags, "\\Seen") != NULL, "flags: %s", flags);
}

/* The mailboxes the message is in over IMAP must be the Email's
 * mailboxIds (ids of INBOX and Locked given), and it is somewhere. */
static void expect_truth(const char *email, const char *inbox, const char *locked)
{
    uint32_t uids[8];
    size_t in_inbox = hs_imap_uids(fx.imap, "INBOX", uids, 8);
    size_t in_locked = hs_imap_uids(fx.imap, "Locked", uids, 8);
    H_ASSERT_MSG(in_inbox + in_locked >= 1, "the message is lost");
    json_t *r = jcall("Email/get", "\"ids\": [\"%s\"], \"properties\": [\"mailboxIds\"]", email);
    json_t *m = json_object_get(json_array_get(json_object_get(r, "list"), 0), "mailboxIds");
    H_ASSERT_MSG(m != NULL, "the Email %s is gone", email);
    H_ASSERT_INT_EQ(json_object_get(m, inbox) != NULL, in_inbox > 0);
    H_ASSERT_INT_EQ(json_object_get(m, locked) != NULL, in_locked > 0);
    H_ASSERT_INT_EQ((long long)json_object_size(m), (in_inbox > 0) + (in_locked > 0));
    json_decref(r);
}

static void test_move_out_refused(void **unused)
{
    (void)unused;
    char id[64], inbox[64], locked[64];
    query_one("<locked@refuse.example>", id);
    query_one("mbox:INBOX", inbox);
    query_one("mbox:Locked", locked);

    /* a plain move: the original cannot be removed */
    json_t *r = jcall("Email/set", "\"update\": {\"%s\": {\"mailboxIds\": {\"%s\": true}}}", id,
                      inbox);
    json_t *e = json_object_get(json_object_get(r, "notUpdated"), id);
    H_ASSERT_MSG(e != NULL, "a move out of a mailbox without expunge rights was reported done");
    H_ASSERT(json_is_string(json_object_get(e, "description")));
    json_decref(r);
    expect_truth(id, inbox, locked);
    uint32_t uids[8];
    H_ASSERT_INT_EQ((long long)hs_imap_uids(fx.imap, "Locked", uids, 8), 1);

    /* copy then trim: the copy works, the trim is refused */
    r = jcall("Email/set", "\"update\": {\"%s\": {\"mailboxIds\": {\"%s\": true, \"%s\": true}}}",
              id, inbox, locked);
    H_ASSERT(json_object_get(json_object_get(r, "updated"), id) != NULL);
    json_decref(r);
    expect_truth(id, inbox, locked);
    r = jcall("Email/set", "\"update\": {\"%s\": {\"mailboxIds/%s\": null}}", id, locked);
    e = json_object_get(json_object_get(r, "notUpdated"), id);
    H_ASSERT_MSG(e != NULL, "a removal refused by the server was reported done");
    json_decref(r);
    expect_truth(id, inbox, locked);
    H_ASSERT_INT_EQ((long long)hs_imap_uids(fx.imap, "Locked", uids, 8), 1);
    /* and the copy left in Locked is not hidden as \Deleted */
    char flags[256];
    imap_flags("Locked", flags, sizeof(flags));
    H_ASSERT_MSG(strstr(flags, "\\Deleted") == NULL, "flags: %s", flags);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyword_refused),
        cmocka_unit_test(test_move_out_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
