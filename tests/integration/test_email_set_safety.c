/* test_email_set_safety.c - Email/set never leaves mail the client does
 * not know of, against the private Dovecot:
 * - a create whose APPEND succeeded but whose sync then fails (the test
 *   hook JMAPGW_TEST_FAIL_SYNC_AFTER_APPEND) is taken back: notCreated,
 *   and the mailbox holds no copy over plain IMAP, so a retry (which then
 *   succeeds) leaves exactly one;
 * - a draft created, replaced (create + destroy in one call, as mail
 *   clients save drafts) and destroyed leaves no copy and no \Deleted
 *   leftover on the server;
 * - RFC 8621 §4.6 MUSTs of create/update: no mailbox left, invalid
 *   keywords, immutable properties -> invalidProperties naming them. */
#define _GNU_SOURCE 1
#include "harness_set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo_dovecot.h"

static struct {
    struct harness_mail_env env;
    struct harness_imap *imap;
    char *tmp;
    char hook[256];             /* exists: the sync after APPEND fails */
    char drafts[64];
} fx;

#define call(method, ...) harness_mail_call(&fx.env, method, __VA_ARGS__)

static int group_setup(void **state)
{
    (void)state;
    fx.tmp = harness_mkdtemp("safety");
    if (fx.tmp == NULL ||
        snprintf(fx.hook, sizeof(fx.hook), "%s/fail-sync", fx.tmp) >= (int)sizeof(fx.hook))
        return -1;
    /* inherited by the gateway the harness starts */
    setenv("JMAPGW_TEST_FAIL_SYNC_AFTER_APPEND", fx.hook, 1);
    if (harness_mail_env_start(&fx.env) != 0)
        return -1;
    fx.imap = harness_imap_login(demo_dovecot_imap_port(fx.env.dovecot), "demo", "demo");
    if (fx.imap == NULL || harness_imap_cmd(fx.imap, "CREATE Scratch") != 0)
        return -1;
    json_t *r = call("Mailbox/query", "\"filter\": {\"name\": \"Scratch\"}");
    const char *id = json_string_value(json_array_get(json_object_get(r, "ids"), 0));
    if (id == NULL || strlen(id) >= sizeof(fx.drafts)) {
        json_decref(r);
        return -1;
    }
    strcpy(fx.drafts, id);
    json_decref(r);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    harness_imap_logout(&fx.imap);
    int rc = harness_mail_env_stop(&fx.env);
    harness_rmtree(fx.tmp);
    free(fx.tmp);
    return rc;
}

/* Email/set create of a draft with this subject into Scratch. */
static json_t *create_draft(const char *cid, const char *subject, const char *also)
{
    return call("Email/set",
                "\"create\": {\"%s\": {\"mailboxIds\": {\"%s\": true}, \"subject\": \"%s\", "
                "\"keywords\": {\"$draft\": true}, \"bodyValues\": {\"1\": {\"value\": \"v\"}}, "
                "\"textBody\": [{\"partId\": \"1\", \"type\": \"text/plain\"}]}}%s",
                cid, fx.drafts, subject, also != NULL ? also : "");
}

/* The id created for cid in a /set response, into out (64 bytes). */
static void created_id(json_t *r, const char *cid, char out[64])
{
    const char *id = json_string_value(
        json_object_get(json_object_get(json_object_get(r, "created"), cid), "id"));
    H_ASSERT_MSG(id != NULL && strlen(id) < 64, "%s was not created", cid);
    strcpy(out, id);
}

static size_t scratch_count(void)
{
    uint32_t uids[16];
    return hs_imap_uids(fx.imap, "Scratch", uids, 16);
}

static void test_sync_fails_after_append(void **unused)
{
    (void)unused;
    H_ASSERT(harness_write_file(fx.hook, "1", 1) == 0);
    json_t *r = create_draft("c1", "hook draft", NULL);
    H_ASSERT(json_is_null(json_object_get(r, "created")));
    H_ASSERT_STR_EQ(hs_set_error(r, "notCreated", "c1"), "serverFail");
    const char *d = json_string_value(
        json_object_get(json_object_get(json_object_get(r, "notCreated"), "c1"), "description"));
    H_ASSERT_MSG(d != NULL && strstr(d, "safe to try again") != NULL, "description: %s",
                 d != NULL ? d : "(none)");
    json_decref(r);
    /* taken back: nothing on the server that a retry would duplicate */
    H_ASSERT_INT_EQ((long long)scratch_count(), 0);

    H_ASSERT(unlink(fx.hook) == 0);
    r = create_draft("c1", "hook draft", NULL);
    char created[64];
    created_id(r, "c1", created);
    json_decref(r);
    H_ASSERT_INT_EQ((long long)scratch_count(), 1);
    r = call("Email/set", "\"destroy\": [\"%s\"]", created);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(r, "destroyed"), 0)),
                    created);
    json_decref(r);
    H_ASSERT_INT_EQ((long long)scratch_count(), 0);
}

static void test_draft_leaves_no_orphans(void **unused)
{
    (void)unused;
    json_t *r = create_draft("v1", "orphan check v1", NULL);
    char v1[64];
    created_id(r, "v1", v1);
    json_decref(r);
    H_ASSERT_INT_EQ((long long)scratch_count(), 1);

    /* saved again: the new version created and the old destroyed at once */
    char destroy[128];
    snprintf(destroy, sizeof(destroy), ", \"destroy\": [\"%s\"]", v1);
    r = create_draft("v2", "orphan check v2", destroy);
    char v2[64];
    created_id(r, "v2", v2);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(r, "destroyed"), 0)), v1);
    json_decref(r);
    H_ASSERT_INT_EQ((long long)scratch_count(), 1);
    H_ASSERT(hs_imap_says(fx.imap, "EXAMINE Scratch", "EXISTS"));
    H_ASSERT(!hs_imap_says(fx.imap, "SEARCH SUBJECT \"orphan check v1\"", "SEARCH 1"));
    H_ASSERT(hs_imap_says(fx.imap, "SEARCH SUBJECT \"orphan check v2\"", "SEARCH 1"));
    H_ASSERT(harness_imap_cmd(fx.imap, "UNSELECT") == 0);

    r = call("Email/set", "\"destroy\": [\"%s\"]", v2);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(r, "destroyed"), 0)), v2);
    json_decref(r);
    /* SEARCH ALL counts \Deleted messages too: none may be left behind */
    H_ASSERT_INT_EQ((long long)scratch_count(), 0);
    r = call("Email/query", "\"filter\": {\"inMailbox\": \"%s\"}", fx.drafts);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(r, "ids")), 0);
    json_decref(r);
}

/* invalidProperties whose "properties" holds want. */
static void expect_invalid(json_t *r, const char *which, const char *id, const char *want)
{
    json_t *e = json_object_get(json_object_get(r, which), id);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "type")), "invalidProperties");
    json_t *props = json_object_get(e, "properties");
    bool named = false;
    for (size_t i = 0; i < json_array_size(props); i++)
        named = named || strcmp(json_string_value(json_array_get(props, i)), want) == 0;
    H_ASSERT_MSG(named, "%s of %s does not name %s", which, id, want);
}

static void test_rfc_musts(void **unused)
{
    (void)unused;
    json_t *r = create_draft("m1", "musts", NULL);
    char e[64];
    created_id(r, "m1", e);
    json_decref(r);

    /* the last mailbox removed by patch: an Email is always in one */
    r = call("Email/set",
             "\"update\": {\"%s\": {\"mailboxIds/%s\": null}}",
             e, fx.drafts);
    expect_invalid(r, "notUpdated", e, "mailboxIds");
    json_decref(r);
    /* immutable after creation */
    static const char *const immutable[] = { "subject", "receivedAt", "from", "blobId", "size",
                                             "header:X-Foo" };
    for (size_t i = 0; i < sizeof(immutable) / sizeof(immutable[0]); i++) {
        r = call("Email/set", "\"update\": {\"%s\": {\"%s\": null}}", e, immutable[i]);
        expect_invalid(r, "notUpdated", e, immutable[i]);
        json_decref(r);
    }
    /* create: no mailbox, a keyword IMAP cannot carry, a keyword false */
    r = call("Email/set",
             "\"create\": {\"a\": {\"mailboxIds\": {}, \"subject\": \"x\"},"
             " \"b\": {\"mailboxIds\": {\"%s\": true}, \"keywords\": {\"bad(kw\": true}},"
             " \"c\": {\"mailboxIds\": {\"%s\": true}, \"keywords\": {\"$seen\": false}},"
             " \"d\": {\"mailboxIds\": {\"%s\": false}}}",
             fx.drafts, fx.drafts, fx.drafts);
    expect_invalid(r, "notCreated", "a", "mailboxIds");
    expect_invalid(r, "notCreated", "b", "keywords");
    expect_invalid(r, "notCreated", "c", "keywords");
    expect_invalid(r, "notCreated", "d", "mailboxIds");
    H_ASSERT(json_is_null(json_object_get(r, "created")));
    json_decref(r);
    /* RFC 8621 §4.6 creation MUSTs (the composer's checks, through Email/set) */
    static const struct {
        const char *body, *property;
    } bad_create[] = {
        { "\"headers\": [{\"name\": \"X-A\", \"value\": \"b\"}]", "headers" },
        { "\"subject\": \"a\", \"header:Subject:asText\": \"b\"", "header:Subject:asText" },
        { "\"header:Content-Type\": \"text/plain\"", "header:Content-Type" },
        { "\"header:From:asDate\": \"2020-01-01T00:00:00Z\"", "header:From:asDate" },
        { "\"bodyStructure\": {\"partId\": \"1\", \"type\": \"text/plain\"}, "
          "\"bodyValues\": {\"1\": {\"value\": \"x\"}}, "
          "\"textBody\": [{\"partId\": \"1\", \"type\": \"text/plain\"}]", "textBody" },
        { "\"bodyValues\": {\"1\": {\"value\": \"x\"}}, "
          "\"textBody\": [{\"partId\": \"1\", \"type\": \"text/html\"}]", "textBody" },
        { "\"bodyValues\": {\"1\": {\"value\": \"x\"}}, "
          "\"textBody\": [{\"partId\": \"1\", \"type\": \"text/plain\", "
          "\"charset\": \"utf-8\"}]", "textBody" },
        { "\"bodyValues\": {\"1\": {\"value\": \"x\", \"isTruncated\": true}}, "
          "\"textBody\": [{\"partId\": \"1\", \"type\": \"text/plain\"}]", "bodyValues" },
        { "\"bodyValues\": {\"1\": {\"value\": \"x\"}}, "
          "\"textBody\": [{\"partId\": \"1\", \"type\": \"text/plain\", "
          "\"header:Content-Transfer-Encoding\": \"base64\"}]", "textBody" },
    };
    for (size_t i = 0; i < sizeof(bad_create) / sizeof(bad_create[0]); i++) {
        r = call("Email/set", "\"create\": {\"x\": {\"mailboxIds\": {\"%s\": true}, %s}}",
                 fx.drafts, bad_create[i].body);
        const char *t = hs_set_error(r, "notCreated", "x");
        H_ASSERT_MSG(t != NULL && strcmp(t, "invalidProperties") == 0, "%s gave %s",
                     bad_create[i].body, t != NULL ? t : "success");
        json_t *props = json_object_get(json_object_get(json_object_get(r, "notCreated"), "x"),
                                        "properties");
        char *got = json_dumps(props, JSON_COMPACT);
        H_ASSERT_MSG(got != NULL && strstr(got, bad_create[i].property) != NULL,
                     "%s: properties %s do not name %s", bad_create[i].body,
                     got != NULL ? got : "null", bad_create[i].property);
        free(got);
        json_decref(r);
    }
    /* none of it reached the server: only m1 is there */
    H_ASSERT_INT_EQ((long long)scratch_count(), 1);
    r = call("Email/get", "\"ids\": [\"%s\"], \"properties\": [\"mailboxIds\", \"subject\"]", e);
    json_t *got = json_array_get(json_object_get(r, "list"), 0);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(got, "subject")), "musts");
    H_ASSERT(json_is_true(json_object_get(json_object_get(got, "mailboxIds"), fx.drafts)));
    json_decref(r);
    r = call("Email/set", "\"destroy\": [\"%s\"]", e);
    json_decref(r);
    H_ASSERT_INT_EQ((long long)scratch_count(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_fails_after_append),
        cmocka_unit_test(test_draft_leaves_no_orphans),
        cmocka_unit_test(test_rfc_musts),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
