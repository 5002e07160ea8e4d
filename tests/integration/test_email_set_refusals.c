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

static const char msg_kw[] = "From: a@example.org\r\nSubject: no keywords here\r\n"
                             "Message-ID: <nokw@refuse.example>\r\n\r\nbody\r\n";
static const char msg_locked[] = "From: a@example.org\r\nSubject: cannot leave\r\n"
                                 "Message-ID: <locked@refuse.example>\r\n\r\nbody\r\n";

static struct {
    char *root;
    struct dovecot d;
    struct hs_direct gw;
    struct harness_imap *imap;
} fx;

#define jcall(...) hs_direct_call(&fx.gw, __VA_ARGS__)

static int setup(void **state)
{
    (void)state;
    fx.root = harness_mkdtemp("refusals");
    if (fx.root == NULL || chmod(fx.root, 0755) != 0)
        return -1;
    dovecot_start(&fx.d, fx.root, "acl", NULL, hs_acl_conf);
    fx.imap = harness_imap_login(fx.d.imap_port, "test", "secret");
    if (fx.imap == NULL || harness_imap_cmd(fx.imap, "CREATE NoKw") != 0 ||
        harness_imap_cmd(fx.imap, "CREATE Locked") != 0 ||
        harness_imap_append(fx.imap, "NoKw", NULL, msg_kw, sizeof(msg_kw) - 1, NULL) != 0 ||
        harness_imap_append(fx.imap, "Locked", NULL, msg_locked, sizeof(msg_locked) - 1,
                            NULL) != 0 ||
        harness_imap_cmd(fx.imap, "SETACL NoKw owner lrsitea") != 0 ||
        harness_imap_cmd(fx.imap, "SETACL Locked owner lrwsia") != 0)
        return -1;
    return hs_direct_start(&fx.gw, fx.d.imap_port);
}

static int teardown(void **state)
{
    (void)state;
    harness_imap_logout(&fx.imap);
    int rc = hs_direct_stop(&fx.gw);
    dovecot_stop(&fx.d);
    if (fx.root != NULL)
        harness_rmtree(fx.root);
    free(fx.root);
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
    hs_direct_query_one(&fx.gw, "Email/query",
                        "{\"header\": [\"Message-ID\", \"<nokw@refuse.example>\"]}", id);
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

static void expect_truth(const char *email, const char *inbox, const char *locked)
{
    const char *names[] = { "INBOX", "Locked" }, *ids[] = { inbox, locked };
    hs_direct_expect_where(&fx.gw, fx.imap, email, names, ids, 2);
}

static void test_move_out_refused(void **unused)
{
    (void)unused;
    char id[64], inbox[64], locked[64];
    hs_direct_ids(&fx.gw, "<locked@refuse.example>", "Locked", id, inbox, locked);

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
