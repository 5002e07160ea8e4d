/* test_email_set.c - Email/set against the private Dovecot: keywords
 * patched and replaced (UID STORE, $seen <-> \Seen ...), custom keywords,
 * mailboxIds moved (MOVE, the Email id kept), copied and trimmed (COPY,
 * UID EXPUNGE of that uid only), destroy from every mailbox, create
 * reported as email_create_one() answers, and the SetErrors of bad
 * updates. Each write is checked from a plain IMAP connection and through
 * Email/Mailbox/Thread /changes. The tests run in order on one account. */
#define _GNU_SOURCE 1
#include "harness_set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_dovecot.h"

static struct {
    struct harness_mail_env env;
    struct harness_imap *imap;
    struct hs_states st;
    char inbox[64], work[64], other[64];
    char a[64], a_thread[64];   /* the message moved around */
    char b[64];                 /* a bystander in INBOX that must never change */
} fx;

#define call(method, ...) harness_mail_call(&fx.env, method, __VA_ARGS__)

static const char msg_a[] = "From: Ann <ann@example.org>\r\nTo: demo@example.org\r\n"
                            "Subject: set-test alpha\r\nMessage-ID: <alpha@set.example>\r\n"
                            "Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n\r\nalpha body\r\n";
static const char msg_b[] = "From: Bob <bob@example.org>\r\nTo: demo@example.org\r\n"
                            "Subject: set-test beta\r\nMessage-ID: <beta@set.example>\r\n"
                            "Date: Mon, 2 Nov 2026 11:00:00 +0000\r\n\r\nbeta body\r\n";

static void copy_id(char out[64], const char *id)
{
    H_ASSERT_MSG(id != NULL && strlen(id) < 64, "no id");
    strcpy(out, id);
}

static void email_by_subject(const char *subject, char out[64])
{
    json_t *r = call("Email/query", "\"filter\": {\"subject\": \"%s\"}", subject);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(r, "ids")), 1);
    copy_id(out, json_string_value(json_array_get(json_object_get(r, "ids"), 0)));
    json_decref(r);
}

static int group_setup(void **state)
{
    (void)state;
    if (harness_mail_env_start(&fx.env) != 0)
        return -1;
    fx.imap = harness_imap_login(demo_dovecot_imap_port(fx.env.dovecot), "demo", "demo");
    if (fx.imap == NULL || harness_imap_cmd(fx.imap, "CREATE Work") != 0 ||
        harness_imap_cmd(fx.imap, "CREATE Other") != 0 ||
        harness_imap_append(fx.imap, "INBOX", NULL, msg_a, sizeof(msg_a) - 1, NULL) != 0 ||
        harness_imap_append(fx.imap, "INBOX", "\\Seen", msg_b, sizeof(msg_b) - 1, NULL) != 0)
        return -1;
    json_t *r = call("Mailbox/query", "\"filter\": {\"role\": \"inbox\"}");
    copy_id(fx.inbox, json_string_value(json_array_get(json_object_get(r, "ids"), 0)));
    json_decref(r);
    r = call("Mailbox/query", "\"filter\": {\"name\": \"Work\"}");
    copy_id(fx.work, json_string_value(json_array_get(json_object_get(r, "ids"), 0)));
    json_decref(r);
    r = call("Mailbox/query", "\"filter\": {\"name\": \"Other\"}");
    copy_id(fx.other, json_string_value(json_array_get(json_object_get(r, "ids"), 0)));
    json_decref(r);
    email_by_subject("alpha", fx.a);
    email_by_subject("beta", fx.b);
    r = call("Email/get", "\"ids\": [\"%s\"], \"properties\": [\"threadId\"]", fx.a);
    copy_id(fx.a_thread, json_string_value(json_object_get(
                             json_array_get(json_object_get(r, "list"), 0), "threadId")));
    json_decref(r);
    hs_states_read(&fx.env, &fx.st);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    harness_imap_logout(&fx.imap);
    return harness_mail_env_stop(&fx.env);
}

/* The FLAGS and uids of the message with this Message-ID in mailbox, from
 * IMAP: the number of copies found (0 when none). flags gets the first's. */
static int imap_find(const char *mailbox, const char *message_id, char *flags, size_t size)
{
    H_ASSERT(harness_imap_cmd(fx.imap, "EXAMINE \"%s\"", mailbox) == 0);
    H_ASSERT(harness_imap_cmd(fx.imap, "UID SEARCH HEADER Message-ID \"%s\"", message_id) == 0);
    const char *s = strstr(harness_imap_last(fx.imap), "* SEARCH");
    H_ASSERT(s != NULL);
    int n = 0;
    unsigned first = 0;
    for (const char *p = s + 8; *p == ' ';) {
        char *end;
        unsigned long v = strtoul(p + 1, &end, 10);
        if (end == p + 1)
            break;
        if (n++ == 0)
            first = (unsigned)v;
        p = end;
    }
    if (n > 0 && flags != NULL) {
        H_ASSERT(harness_imap_cmd(fx.imap, "UID FETCH %u (FLAGS)", first) == 0);
        const char *f = strstr(harness_imap_last(fx.imap), "FLAGS (");
        H_ASSERT(f != NULL);
        f += 7;
        const char *end = strchr(f, ')');
        H_ASSERT(end != NULL && (size_t)(end - f) < size);
        memcpy(flags, f, (size_t)(end - f));
        flags[end - f] = '\0';
    }
    H_ASSERT(harness_imap_cmd(fx.imap, "UNSELECT") == 0);
    return n;
}

/* IMAP's flags of the message as JMAP keywords must equal want (JSON). */
static void expect_imap_keywords(const char *mailbox, const char *message_id, const char *want)
{
    char flags[512];
    H_ASSERT_MSG(imap_find(mailbox, message_id, flags, sizeof(flags)) == 1, "%s not in %s",
                 message_id, mailbox);
    json_t *got = harness_imap_keywords(flags, strlen(flags));
    json_t *w = json_loads(want, 0, NULL);
    H_ASSERT_MSG(json_equal(got, w), "%s in %s has flags (%s), want %s", message_id, mailbox,
                 flags, want);
    json_decref(got);
    json_decref(w);
}

static json_t *email(const char *id)
{
    json_t *r = call("Email/get", "\"ids\": [\"%s\"], \"properties\": [\"keywords\", "
                                  "\"mailboxIds\", \"threadId\"]", id);
    json_t *e = json_incref(json_array_get(json_object_get(r, "list"), 0));
    json_decref(r);
    return e;
}

static void expect_updated(json_t *r, const char *id)
{
    char *d = json_dumps(r, JSON_COMPACT);
    H_ASSERT_MSG(json_object_get(json_object_get(r, "updated"), id) != NULL, "not updated: %s", d);
    H_ASSERT_MSG(json_is_null(json_object_get(r, "notUpdated")), "%s", d);
    free(d);
}

static void test_keywords(void **unused)
{
    (void)unused;
    const char *a[] = { fx.a, NULL }, *inbox[] = { fx.inbox, NULL };
    json_t *r = call("Email/set", "\"update\": {\"%s\": {\"keywords/$seen\": true, "
                                  "\"keywords/$Flagged\": true}}", fx.a);
    expect_updated(r, fx.a);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(r, "oldState")), fx.st.s[HS_EMAIL]);
    char new_state[64];
    copy_id(new_state, json_string_value(json_object_get(r, "newState")));
    json_decref(r);
    expect_imap_keywords("INBOX", "<alpha@set.example>", "{\"$seen\":true,\"$flagged\":true}");
    hs_expect_changes(&fx.env, &fx.st, HS_EMAIL, NULL, a, NULL);
    H_ASSERT_STR_EQ(fx.st.s[HS_EMAIL], new_state);
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, NULL, inbox, NULL);  /* unread count */
    hs_expect_changes(&fx.env, &fx.st, HS_THREAD, NULL, NULL, NULL);

    /* whole replacement, a custom keyword and $answered; $seen removed */
    r = call("Email/set", "\"update\": {\"%s\": {\"keywords\": {\"$answered\": true, "
                          "\"$flagged\": true, \"project-x\": true}}}", fx.a);
    expect_updated(r, fx.a);
    json_decref(r);
    expect_imap_keywords("INBOX", "<alpha@set.example>",
                         "{\"$answered\":true,\"$flagged\":true,\"project-x\":true}");
    json_t *e = email(fx.a);
    json_t *want = json_pack("{s:b, s:b, s:b}", "$answered", 1, "$flagged", 1, "project-x", 1);
    H_ASSERT(json_equal(json_object_get(e, "keywords"), want));
    json_decref(want);
    json_decref(e);
    hs_expect_changes(&fx.env, &fx.st, HS_EMAIL, NULL, a, NULL);
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, NULL, inbox, NULL);

    /* the bystander kept its \Seen and nothing else */
    expect_imap_keywords("INBOX", "<beta@set.example>", "{\"$seen\":true}");
    /* an update that changes nothing changes no state */
    r = call("Email/set", "\"update\": {\"%s\": {\"keywords/$flagged\": true}}", fx.a);
    expect_updated(r, fx.a);
    json_decref(r);
    hs_expect_changes(&fx.env, &fx.st, HS_EMAIL, NULL, NULL, NULL);
}

static void test_move_copy(void **unused)
{
    (void)unused;
    const char *a[] = { fx.a, NULL }, *both[] = { fx.inbox, fx.work, NULL };
    const char *work[] = { fx.work, NULL };
    json_t *r = call("Email/set", "\"update\": {\"%s\": {\"mailboxIds\": {\"%s\": true}}}", fx.a,
                     fx.work);
    expect_updated(r, fx.a);
    json_decref(r);
    H_ASSERT_INT_EQ(imap_find("INBOX", "<alpha@set.example>", NULL, 0), 0);
    expect_imap_keywords("Work", "<alpha@set.example>",
                         "{\"$answered\":true,\"$flagged\":true,\"project-x\":true}");
    json_t *e = email(fx.a);     /* the same id, now in Work, same thread */
    H_ASSERT_MSG(e != NULL, "the Email id changed with the move");
    json_t *want = json_pack("{s:b}", fx.work, 1);
    H_ASSERT(json_equal(json_object_get(e, "mailboxIds"), want));
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "threadId")), fx.a_thread);
    json_decref(want);
    json_decref(e);
    hs_expect_changes(&fx.env, &fx.st, HS_EMAIL, NULL, a, NULL);
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, NULL, both, NULL);
    hs_expect_changes(&fx.env, &fx.st, HS_THREAD, NULL, NULL, NULL);

    /* copy back into INBOX by a patch: in both, one Email */
    r = call("Email/set", "\"update\": {\"%s\": {\"mailboxIds/%s\": true}}", fx.a, fx.inbox);
    expect_updated(r, fx.a);
    json_decref(r);
    H_ASSERT_INT_EQ(imap_find("INBOX", "<alpha@set.example>", NULL, 0), 1);
    H_ASSERT_INT_EQ(imap_find("Work", "<alpha@set.example>", NULL, 0), 1);
    e = email(fx.a);
    H_ASSERT_INT_EQ((long long)json_object_size(json_object_get(e, "mailboxIds")), 2);
    json_decref(e);
    hs_expect_changes(&fx.env, &fx.st, HS_EMAIL, NULL, a, NULL);
    const char *inbox[] = { fx.inbox, NULL };
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, NULL, inbox, NULL);

    /* out of Work again: that copy only is expunged */
    r = call("Email/set", "\"update\": {\"%s\": {\"mailboxIds/%s\": null}}", fx.a, fx.work);
    expect_updated(r, fx.a);
    json_decref(r);
    H_ASSERT_INT_EQ(imap_find("Work", "<alpha@set.example>", NULL, 0), 0);
    H_ASSERT_INT_EQ(imap_find("INBOX", "<alpha@set.example>", NULL, 0), 1);
    H_ASSERT_INT_EQ(imap_find("INBOX", "<beta@set.example>", NULL, 0), 1);
    hs_expect_changes(&fx.env, &fx.st, HS_EMAIL, NULL, a, NULL);
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, NULL, work, NULL);

    /* one mailbox to two others at once (copy, then move), and back */
    r = call("Email/set", "\"update\": {\"%s\": {\"mailboxIds\": {\"%s\": true, \"%s\": true}}}",
             fx.a, fx.work, fx.other);
    expect_updated(r, fx.a);
    json_decref(r);
    H_ASSERT_INT_EQ(imap_find("INBOX", "<alpha@set.example>", NULL, 0), 0);
    H_ASSERT_INT_EQ(imap_find("Work", "<alpha@set.example>", NULL, 0), 1);
    H_ASSERT_INT_EQ(imap_find("Other", "<alpha@set.example>", NULL, 0), 1);
    const char *three[] = { fx.inbox, fx.work, fx.other, NULL };
    hs_expect_changes(&fx.env, &fx.st, HS_EMAIL, NULL, a, NULL);
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, NULL, three, NULL);
    r = call("Email/set", "\"update\": {\"%s\": {\"mailboxIds\": {\"%s\": true}}}", fx.a,
             fx.inbox);
    expect_updated(r, fx.a);
    json_decref(r);
    H_ASSERT_INT_EQ(imap_find("INBOX", "<alpha@set.example>", NULL, 0), 1);
    H_ASSERT_INT_EQ(imap_find("Work", "<alpha@set.example>", NULL, 0), 0);
    H_ASSERT_INT_EQ(imap_find("Other", "<alpha@set.example>", NULL, 0), 0);
    e = email(fx.a);
    H_ASSERT_MSG(e != NULL, "the Email id changed");
    json_decref(e);
    hs_expect_changes(&fx.env, &fx.st, HS_EMAIL, NULL, a, NULL);
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, NULL, three, NULL);
}

static void test_update_errors(void **unused)
{
    (void)unused;
    json_t *r = call("Email/set",
                     "\"update\": {\"Enosuchemail\": {\"keywords/$seen\": true},"
                     "\"%s\": {\"subject\": \"new\"}}",
                     fx.a);
    H_ASSERT_STR_EQ(hs_set_error(r, "notUpdated", "Enosuchemail"), "notFound");
    H_ASSERT_STR_EQ(hs_set_error(r, "notUpdated", fx.a), "invalidProperties");
    json_decref(r);
    static const char *const bad[][2] = {
        { "{\"keywords/a(b\": true}", "invalidProperties" },
        { "{\"keywords\": {\"$seen\": false}}", "invalidProperties" },
        { "{\"mailboxIds\": {}}", "invalidProperties" },
        { "{\"mailboxIds/Mnosuchmailbox\": true}", "invalidProperties" },
        { "{\"mailboxIds/#nope\": true}", "invalidProperties" },
        { "{\"keywords\": {}, \"keywords/$seen\": true}", "invalidPatch" },
        { "{\"nothing/here\": true}", "invalidPatch" },
        { "{\"id\": \"Eother\"}", "invalidProperties" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = call("Email/set", "\"update\": {\"%s\": %s}", fx.a, bad[i][0]);
        const char *t = hs_set_error(r, "notUpdated", fx.a);
        H_ASSERT_MSG(t != NULL && strcmp(t, bad[i][1]) == 0, "%s gave %s", bad[i][0],
                     t != NULL ? t : "success");
        json_decref(r);
    }
    char args[256];
    snprintf(args, sizeof(args), "{\"accountId\":\"%s\",\"ifInState\":\"x%s\",\"destroy\":[\"%s\"]}",
             fx.env.account_id, fx.st.s[HS_EMAIL], fx.a);
    json_t *e = harness_jmap_call(fx.env.gw->port, "demo", "demo", "Email/set", args);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(e, 1), "type")),
                    "stateMismatch");
    json_decref(e);
    hs_expect_changes(&fx.env, &fx.st, HS_EMAIL, NULL, NULL, NULL);
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, NULL, NULL, NULL);
    H_ASSERT_INT_EQ(imap_find("INBOX", "<alpha@set.example>", NULL, 0), 1);
}

/* The destination vanished behind the gateway's back (the request's sync
 * sees it gone): the move is refused as a whole, the message stays where
 * it was, and the client is told which property is wrong. */
static void test_move_to_vanished_mailbox(void **unused)
{
    (void)unused;
    H_ASSERT(harness_imap_cmd(fx.imap, "CREATE Gone") == 0);
    json_t *r = call("Mailbox/query", "\"filter\": {\"name\": \"Gone\"}");
    char gone[64];
    copy_id(gone, json_string_value(json_array_get(json_object_get(r, "ids"), 0)));
    json_decref(r);
    hs_states_read(&fx.env, &fx.st);
    H_ASSERT(harness_imap_cmd(fx.imap, "DELETE Gone") == 0);
    r = call("Email/set", "\"update\": {\"%s\": {\"mailboxIds\": {\"%s\": true}}}", fx.a, gone);
    const char *t = hs_set_error(r, "notUpdated", fx.a);
    H_ASSERT_MSG(t != NULL && strcmp(t, "invalidProperties") == 0,
                 "move into a deleted mailbox gave %s", t != NULL ? t : "success");
    json_decref(r);
    H_ASSERT_INT_EQ(imap_find("INBOX", "<alpha@set.example>", NULL, 0), 1);
    json_t *e = email(fx.a);
    json_t *want = json_pack("{s:b}", fx.inbox, 1);
    H_ASSERT(json_equal(json_object_get(e, "mailboxIds"), want));
    json_decref(want);
    json_decref(e);
    const char *gone_ids[] = { gone, NULL };
    hs_expect_changes(&fx.env, &fx.st, HS_EMAIL, NULL, NULL, NULL);
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, NULL, NULL, gone_ids);
}

/* A mailbox created by the first call of a request is named by its
 * creation id in the second call's mailboxIds patch. */
static void test_creation_reference(void **unused)
{
    (void)unused;
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"using\":[\"urn:ietf:params:jmap:core\",\"urn:ietf:params:jmap:mail\"],"
             "\"methodCalls\":["
             "[\"Mailbox/set\",{\"accountId\":\"%s\",\"create\":{\"n\":{\"name\":\"Fresh\"}}},\"0\"],"
             "[\"Email/set\",{\"accountId\":\"%s\",\"update\":{\"%s\":{\"mailboxIds/#n\":true}}},"
             "\"1\"]]}",
             fx.env.account_id, fx.env.account_id, fx.a);
    json_t *resp = harness_api_ok(fx.env.gw->port, "demo", "demo", body);
    json_t *calls = json_object_get(resp, "methodResponses");
    const char *fresh = json_string_value(json_object_get(
        json_object_get(json_object_get(json_array_get(json_array_get(calls, 0), 1), "created"),
                        "n"),
        "id"));
    H_ASSERT(fresh != NULL);
    char fresh_id[64];
    copy_id(fresh_id, fresh);
    expect_updated(json_array_get(json_array_get(calls, 1), 1), fx.a);
    json_decref(resp);
    H_ASSERT_INT_EQ(imap_find("Fresh", "<alpha@set.example>", NULL, 0), 1);
    H_ASSERT_INT_EQ(imap_find("INBOX", "<alpha@set.example>", NULL, 0), 1);
    json_t *e = email(fx.a);
    H_ASSERT(json_object_get(json_object_get(e, "mailboxIds"), fresh_id) != NULL);
    json_decref(e);
    const char *a[] = { fx.a, NULL }, *created[] = { fresh_id, NULL };
    hs_expect_changes(&fx.env, &fx.st, HS_EMAIL, NULL, a, NULL);
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, created, NULL, NULL);

    json_t *r = call("Email/set", "\"update\": {\"%s\": {\"mailboxIds/%s\": null}}", fx.a,
                     fresh_id);
    expect_updated(r, fx.a);
    json_decref(r);
    H_ASSERT_INT_EQ(imap_find("Fresh", "<alpha@set.example>", NULL, 0), 0);
    hs_states_read(&fx.env, &fx.st);
}

static void test_create_reported(void **unused)
{
    (void)unused;
    json_t *r = call("Email/set", "\"create\": {\"d1\": {\"mailboxIds\": {\"%s\": true}, "
                                  "\"subject\": \"draft\", \"keywords\": {\"$draft\": true}, "
                                  "\"bodyValues\": {\"1\": {\"value\": \"hi\"}}, "
                                  "\"textBody\": [{\"partId\": \"1\", \"type\": \"text/plain\"}]}}",
                     fx.inbox);
    json_t *created = json_object_get(json_object_get(r, "created"), "d1");
    json_t *failed = json_object_get(json_object_get(r, "notCreated"), "d1");
    H_ASSERT_MSG((created != NULL) != (failed != NULL), "d1 neither or both created and not");
    if (failed != NULL) {
        H_ASSERT(json_is_string(json_object_get(failed, "type")));
        H_ASSERT(json_is_null(json_object_get(r, "created")));
        hs_expect_changes(&fx.env, &fx.st, HS_EMAIL, NULL, NULL, NULL);
    } else {
        const char *id = json_string_value(json_object_get(created, "id"));
        H_ASSERT(id != NULL);
        json_t *r2 = call("Email/set", "\"destroy\": [\"%s\"]", id);
        json_decref(r2);
        hs_states_read(&fx.env, &fx.st);
    }
    json_decref(r);
}

static void test_destroy(void **unused)
{
    (void)unused;
    /* in two mailboxes first, then destroyed from both */
    json_t *r = call("Email/set", "\"update\": {\"%s\": {\"mailboxIds/%s\": true}}", fx.a, fx.work);
    expect_updated(r, fx.a);
    json_decref(r);
    hs_states_read(&fx.env, &fx.st);
    r = call("Email/set", "\"destroy\": [\"%s\", \"Enosuchemail\"]", fx.a);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(r, "destroyed"), 0)), fx.a);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(r, "destroyed")), 1);
    H_ASSERT_STR_EQ(hs_set_error(r, "notDestroyed", "Enosuchemail"), "notFound");
    json_decref(r);
    H_ASSERT_INT_EQ(imap_find("INBOX", "<alpha@set.example>", NULL, 0), 0);
    H_ASSERT_INT_EQ(imap_find("Work", "<alpha@set.example>", NULL, 0), 0);
    H_ASSERT_INT_EQ(imap_find("INBOX", "<beta@set.example>", NULL, 0), 1);
    const char *a[] = { fx.a, NULL }, *t[] = { fx.a_thread, NULL };
    const char *both[] = { fx.inbox, fx.work, NULL };
    hs_expect_changes(&fx.env, &fx.st, HS_EMAIL, NULL, NULL, a);
    hs_expect_changes(&fx.env, &fx.st, HS_THREAD, NULL, NULL, t);
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, NULL, both, NULL);
    /* destroyed again: notFound, nothing moves */
    r = call("Email/set", "\"destroy\": [\"%s\"]", fx.a);
    H_ASSERT_STR_EQ(hs_set_error(r, "notDestroyed", fx.a), "notFound");
    json_decref(r);
    hs_expect_changes(&fx.env, &fx.st, HS_EMAIL, NULL, NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keywords),      cmocka_unit_test(test_move_copy),
        cmocka_unit_test(test_update_errors), cmocka_unit_test(test_move_to_vanished_mailbox),
        cmocka_unit_test(test_creation_reference), cmocka_unit_test(test_create_reported),
        cmocka_unit_test(test_destroy),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
