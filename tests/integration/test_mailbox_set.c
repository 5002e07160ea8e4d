/* test_mailbox_set.c - Mailbox/set against the private Dovecot: create
 * (with parentId, a creation-id reference inside one call and across two
 * calls of one request, isSubscribed), rename and move in the hierarchy
 * with the id kept, (un)subscribe, destroy (mailboxHasChild,
 * mailboxHasEmail, onDestroyRemoveEmails, a whole subtree in one call),
 * role at create, and every SetError the handler gives. Each write is
 * checked from a plain IMAP connection and through Mailbox/changes. The
 * tests run in order on one account. */
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
    char projects[64], year[64], inbox[64];
} fx;

#define call(method, ...) harness_mail_call(&fx.env, method, __VA_ARGS__)

static int group_setup(void **state)
{
    (void)state;
    if (harness_mail_env_start(&fx.env) != 0)
        return -1;
    fx.imap = harness_imap_login(demo_dovecot_imap_port(fx.env.dovecot), "demo", "demo");
    return fx.imap != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    harness_imap_logout(&fx.imap);
    return harness_mail_env_stop(&fx.env);
}

static json_t *mailbox(const char *id)
{
    json_t *r = call("Mailbox/get", "\"ids\": [\"%s\"]", id);
    json_t *m = json_incref(json_array_get(json_object_get(r, "list"), 0));
    json_decref(r);
    H_ASSERT_MSG(m != NULL, "mailbox %s not found", id);
    return m;
}

static void copy_id(char out[64], const char *id)
{
    H_ASSERT(id != NULL && strlen(id) < 64);
    strcpy(out, id);
}

static void test_create(void **unused)
{
    (void)unused;
    hs_states_read(&fx.env, &fx.st);
    /* Two calls of one request: the second names the first's creation id. */
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"using\":[\"urn:ietf:params:jmap:core\",\"urn:ietf:params:jmap:mail\"],"
             "\"createdIds\":{},\"methodCalls\":["
             "[\"Mailbox/set\",{\"accountId\":\"%s\",\"create\":{\"p\":{\"name\":\"Projects\","
             "\"isSubscribed\":true}}},\"0\"],"
             "[\"Mailbox/set\",{\"accountId\":\"%s\",\"create\":{\"y\":{\"name\":\"2026\","
             "\"parentId\":\"#p\"}}},\"1\"]]}",
             fx.env.account_id, fx.env.account_id);
    json_t *resp = harness_api_ok(fx.env.gw->port, "demo", "demo", body);
    json_t *r0 = json_array_get(json_array_get(json_object_get(resp, "methodResponses"), 0), 1);
    json_t *r1 = json_array_get(json_array_get(json_object_get(resp, "methodResponses"), 1), 1);
    copy_id(fx.projects,
            json_string_value(json_object_get(json_object_get(json_object_get(r0, "created"), "p"), "id")));
    copy_id(fx.year,
            json_string_value(json_object_get(json_object_get(json_object_get(r1, "created"), "y"), "id")));
    H_ASSERT(json_is_null(json_object_get(r0, "notCreated")));
    H_ASSERT(json_is_null(json_object_get(r0, "updated")));
    H_ASSERT(json_is_null(json_object_get(r0, "destroyed")));
    H_ASSERT_STR_EQ(json_string_value(json_object_get(r0, "oldState")), fx.st.s[HS_MAILBOX]);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(r1, "oldState")),
                    json_string_value(json_object_get(r0, "newState")));
    /* createdIds of the response names both */
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(resp, "createdIds"), "y")),
                    fx.year);
    char state1[64];
    copy_id(state1, json_string_value(json_object_get(r1, "newState")));
    json_decref(resp);

    /* IMAP sees both, with the hierarchy and the subscription asked for */
    H_ASSERT(hs_imap_lists(fx.imap, "LIST", "Projects/2026"));
    H_ASSERT(hs_imap_lists(fx.imap, "LSUB", "Projects"));
    H_ASSERT(!hs_imap_lists(fx.imap, "LSUB", "Projects/2026"));
    json_t *m = mailbox(fx.year);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(m, "name")), "2026");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(m, "parentId")), fx.projects);
    H_ASSERT(json_is_false(json_object_get(m, "isSubscribed")));
    json_decref(m);
    const char *created[] = { fx.projects, fx.year, NULL };
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, created, NULL, NULL);
    H_ASSERT_STR_EQ(fx.st.s[HS_MAILBOX], state1);
}

static void test_create_errors(void **unused)
{
    (void)unused;
    json_t *r = call("Mailbox/set",
                     "\"create\": {"
                     "\"slash\": {\"name\": \"a/b\"},"
                     "\"empty\": {\"name\": \"\"},"
                     "\"dup\": {\"name\": \"2026\", \"parentId\": \"%s\"},"
                     "\"inbox\": {\"name\": \"inbox\"},"
                     "\"orphan\": {\"name\": \"x\", \"parentId\": \"Mnosuchmailbox\"},"
                     "\"badref\": {\"name\": \"x\", \"parentId\": \"#nope\"},"
                     "\"sort\": {\"name\": \"x\", \"sortOrder\": 5},"
                     "\"server\": {\"name\": \"x\", \"totalEmails\": 3},"
                     "\"unknown\": {\"name\": \"x\", \"colour\": \"red\"},"
                     "\"role\": {\"name\": \"x\", \"role\": \"inbox\"},"
                     "\"takenrole\": {\"name\": \"x\", \"role\": \"trash\"},"
                     "\"sub\": {\"name\": \"x\", \"isSubscribed\": 1}}",
                     fx.projects);
    static const struct { const char *cid, *property; } want[] = {
        { "slash", "name" },       { "empty", "name" },     { "dup", "name" },
        { "inbox", "name" },       { "orphan", "parentId" }, { "badref", "parentId" },
        { "sort", "sortOrder" },   { "server", "totalEmails" }, { "unknown", "colour" },
        { "role", "role" },        { "takenrole", "role" }, { "sub", "isSubscribed" },
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        json_t *e = json_object_get(json_object_get(r, "notCreated"), want[i].cid);
        H_ASSERT_MSG(e != NULL, "%s was created", want[i].cid);
        H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "type")), "invalidProperties");
        H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(e, "properties"), 0)),
                        want[i].property);
    }
    H_ASSERT(json_is_null(json_object_get(r, "created")));
    H_ASSERT_STR_EQ(json_string_value(json_object_get(r, "newState")), fx.st.s[HS_MAILBOX]);
    json_decref(r);
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, NULL, NULL, NULL);
    H_ASSERT(!hs_imap_lists(fx.imap, "LIST", "x"));

    /* ifInState */
    json_t *e = harness_jmap_call(fx.env.gw->port, "demo", "demo", "Mailbox/set", "{}");
    json_decref(e);
    char args[256];
    snprintf(args, sizeof(args),
             "{\"accountId\":\"%s\",\"ifInState\":\"1%s\",\"create\":{\"a\":{\"name\":\"n\"}}}",
             fx.env.account_id, fx.st.s[HS_MAILBOX]);
    e = harness_jmap_call(fx.env.gw->port, "demo", "demo", "Mailbox/set", args);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(e, 0)), "error");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(e, 1), "type")),
                    "stateMismatch");
    json_decref(e);
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, NULL, NULL, NULL);
}

static void test_rename_and_move(void **unused)
{
    (void)unused;
    /* ifInState matching: accepted */
    json_t *r = call("Mailbox/set",
                     "\"ifInState\": \"%s\", \"update\": {\"%s\": {\"name\": \"Y2026\", "
                     "\"parentId\": null, \"isSubscribed\": true}}",
                     fx.st.s[HS_MAILBOX], fx.year);
    H_ASSERT_MSG(json_object_get(json_object_get(r, "updated"), fx.year) != NULL, "not updated");
    H_ASSERT(json_is_null(json_object_get(r, "notUpdated")));
    json_decref(r);
    H_ASSERT(hs_imap_lists(fx.imap, "LIST", "Y2026"));
    H_ASSERT(!hs_imap_lists(fx.imap, "LIST", "Projects/2026"));
    H_ASSERT(hs_imap_lists(fx.imap, "LSUB", "Y2026"));
    json_t *m = mailbox(fx.year);      /* the same id after RENAME */
    H_ASSERT_STR_EQ(json_string_value(json_object_get(m, "name")), "Y2026");
    H_ASSERT(json_is_null(json_object_get(m, "parentId")));
    H_ASSERT(json_is_true(json_object_get(m, "isSubscribed")));
    json_decref(m);
    const char *updated[] = { fx.year, NULL };
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, NULL, updated, NULL);

    /* back below Projects by a patch of parentId only; then unsubscribe */
    r = call("Mailbox/set", "\"update\": {\"%s\": {\"parentId\": \"%s\"}}", fx.year, fx.projects);
    H_ASSERT(json_object_get(json_object_get(r, "updated"), fx.year) != NULL);
    json_decref(r);
    H_ASSERT(hs_imap_lists(fx.imap, "LIST", "Projects/Y2026"));
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, NULL, updated, NULL);
    r = call("Mailbox/set", "\"update\": {\"%s\": {\"isSubscribed\": false}}", fx.year);
    json_decref(r);
    H_ASSERT(!hs_imap_lists(fx.imap, "LSUB", "Projects/Y2026"));
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, NULL, updated, NULL);

    /* errors: below itself, role change, sortOrder, notFound, the inbox */
    json_t *ib = call("Mailbox/query", "\"filter\": {\"role\": \"inbox\"}");
    copy_id(fx.inbox, json_string_value(json_array_get(json_object_get(ib, "ids"), 0)));
    json_decref(ib);
    r = call("Mailbox/set", "\"update\": {\"%s\": {\"name/x\": 1}}", fx.projects);
    H_ASSERT_STR_EQ(hs_set_error(r, "notUpdated", fx.projects), "invalidPatch");
    json_decref(r);
    r = call("Mailbox/set", "\"update\": {\"%s\": {\"parentId\": \"%s\"}, \"%s\": {\"role\": \"junk\"},"
             "\"Mnosuch\": {\"name\": \"z\"}, \"%s\": {\"name\": \"Eingang\"}}",
             fx.projects, fx.year, fx.year, fx.inbox);
    H_ASSERT_STR_EQ(hs_set_error(r, "notUpdated", fx.projects), "invalidProperties");
    H_ASSERT_STR_EQ(hs_set_error(r, "notUpdated", fx.year), "invalidProperties");
    H_ASSERT_STR_EQ(hs_set_error(r, "notUpdated", "Mnosuch"), "notFound");
    H_ASSERT_STR_EQ(hs_set_error(r, "notUpdated", fx.inbox), "forbidden");
    H_ASSERT(json_is_null(json_object_get(r, "updated")));
    json_decref(r);
    r = call("Mailbox/set", "\"update\": {\"%s\": {\"sortOrder\": 3}}", fx.projects);
    H_ASSERT_STR_EQ(hs_set_error(r, "notUpdated", fx.projects), "invalidProperties");
    json_decref(r);
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, NULL, NULL, NULL);
    H_ASSERT(hs_imap_lists(fx.imap, "LIST", "INBOX"));

    /* renaming the parent (to a non-ASCII name) keeps both ids */
    r = call("Mailbox/set", "\"update\": {\"%s\": {\"name\": \"Projekte \u00e4\"}}", fx.projects);
    H_ASSERT(json_object_get(json_object_get(r, "updated"), fx.projects) != NULL);
    json_decref(r);
    H_ASSERT(hs_imap_lists(fx.imap, "LIST", "Projekte &AOQ-/Y2026"));
    json_t *child = mailbox(fx.year);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(child, "parentId")), fx.projects);
    json_decref(child);
    json_t *parent = mailbox(fx.projects);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(parent, "name")), "Projekte \xc3\xa4");
    json_decref(parent);
    const char *both[] = { fx.projects, fx.year, NULL };
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, NULL, both, NULL);
    r = call("Mailbox/set", "\"update\": {\"%s\": {\"name\": \"Projects\"}}", fx.projects);
    json_decref(r);
    H_ASSERT(hs_imap_lists(fx.imap, "LIST", "Projects/Y2026"));
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, NULL, both, NULL);
}

static void test_destroy(void **unused)
{
    (void)unused;
    static const char msg[] = "From: a@example.org\r\nSubject: keep me\r\n"
                              "Message-ID: <keep@example.org>\r\n\r\nbody\r\n";
    H_ASSERT(harness_imap_append(fx.imap, "Projects/Y2026", NULL, msg, sizeof(msg) - 1, NULL) ==
             0);
    hs_states_read(&fx.env, &fx.st);
    json_t *r = call("Mailbox/set", "\"destroy\": [\"%s\", \"%s\", \"%s\", \"Mnosuch\"]",
                     fx.projects, fx.year, fx.inbox);
    H_ASSERT_STR_EQ(hs_set_error(r, "notDestroyed", fx.year), "mailboxHasEmail");
    H_ASSERT_STR_EQ(hs_set_error(r, "notDestroyed", fx.projects), "mailboxHasChild");
    H_ASSERT_STR_EQ(hs_set_error(r, "notDestroyed", fx.inbox), "forbidden");
    H_ASSERT_STR_EQ(hs_set_error(r, "notDestroyed", "Mnosuch"), "notFound");
    H_ASSERT(json_is_null(json_object_get(r, "destroyed")));
    json_decref(r);
    H_ASSERT(hs_imap_lists(fx.imap, "LIST", "Projects/Y2026"));
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, NULL, NULL, NULL);

    /* parent and child in one call (given parent first), emails removed */
    r = call("Mailbox/set", "\"onDestroyRemoveEmails\": true, \"destroy\": [\"%s\", \"%s\"]",
             fx.projects, fx.year);
    H_ASSERT(json_is_null(json_object_get(r, "notDestroyed")));
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(r, "destroyed")), 2);
    json_decref(r);
    H_ASSERT(!hs_imap_lists(fx.imap, "LIST", "Projects"));
    const char *destroyed[] = { fx.projects, fx.year, NULL };
    hs_expect_changes(&fx.env, &fx.st, HS_MAILBOX, NULL, NULL, destroyed);
    json_t *e = call("Email/query", "\"filter\": {\"text\": \"keep me\"}");
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(e, "ids")), 0);
    json_decref(e);
}

static void test_role(void **unused)
{
    (void)unused;
    bool can = hs_imap_says(fx.imap, "CAPABILITY", "CREATE-SPECIAL-USE");
    json_t *r = call("Mailbox/set", "\"create\": {\"f\": {\"name\": \"Starred\", \"role\": \"flagged\"}}");
    if (can) {
        const char *id = json_string_value(
            json_object_get(json_object_get(json_object_get(r, "created"), "f"), "id"));
        H_ASSERT(id != NULL);
        json_t *m = mailbox(id);
        H_ASSERT_STR_EQ(json_string_value(json_object_get(m, "role")), "flagged");
        json_decref(m);
        H_ASSERT(hs_imap_says(fx.imap, "LIST (SPECIAL-USE) \"\" \"*\"", "\\Flagged"));
    } else {
        H_ASSERT_STR_EQ(hs_set_error(r, "notCreated", "f"), "invalidProperties");
        H_ASSERT(!hs_imap_lists(fx.imap, "LIST", "Starred"));
    }
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_rename_and_move),
        cmocka_unit_test(test_destroy),
        cmocka_unit_test(test_role),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
