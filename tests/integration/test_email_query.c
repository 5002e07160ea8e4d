/* test_email_query.c - Email/query, Email/queryChanges and
 * SearchSnippet/get over a private Dovecot: messages APPENDed by IMAP, then
 * text search pushed to IMAP, inMailbox/inMailboxOtherThan, sorts,
 * collapseThreads, windows, exact queryChanges after an IMAP flag change,
 * snippets. Results are checked by the subjects of the Emails found. */
#define _GNU_SOURCE 1
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "demo_dovecot.h"

static struct harness_mail_env fx;

static int group_setup(void **state)
{
    (void)state;
    return harness_mail_env_start(&fx);
}

static int group_teardown(void **state)
{
    (void)state;
    return harness_mail_env_stop(&fx);
}

/* method({"accountId": ours, args}): its response arguments. */
#define call(method, ...) harness_mail_call(&fx, method, __VA_ARGS__)

static char *mailbox_named(const char *name)
{
    json_t *r = call("Mailbox/get", "\"ids\": null, \"properties\": [\"name\"]");
    char *id = NULL;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(r, "list"), i, m)
        if (strcasecmp(json_string_value(json_object_get(m, "name")), name) == 0)
            id = strdup(json_string_value(json_object_get(m, "id")));
    json_decref(r);
    H_ASSERT_MSG(id != NULL, "no mailbox %s", name);
    return id;
}

/* The subjects of ids (a JSON array), joined by spaces, into out. */
static void subjects(json_t *ids, char *out, size_t len)
{
    out[0] = '\0';
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id) {
        json_t *r = call("Email/get", "\"ids\": [\"%s\"], \"properties\": [\"subject\"]",
                         json_string_value(id));
        const char *s = json_string_value(json_object_get(
            json_array_get(json_object_get(r, "list"), 0), "subject"));
        size_t used = strlen(out);
        H_ASSERT(s != NULL);
        H_ASSERT(snprintf(out + used, len - used, "%s%s", i > 0 ? " " : "", s) <
                 (int)(len - used));
        json_decref(r);
    }
}

/* Email/query(args): the subjects of the ids, in order, compared to want. */
static void expect_query(const char *want, const char *args_fmt, ...)
{
    char args[1024], got[512];
    va_list ap;
    va_start(ap, args_fmt);
    int n = vsnprintf(args, sizeof(args), args_fmt, ap);
    va_end(ap);
    H_ASSERT(n >= 0 && (size_t)n < sizeof(args));
    json_t *r = call("Email/query", "%s", args);
    subjects(json_object_get(r, "ids"), got, sizeof(got));
    H_ASSERT_MSG(strcmp(got, want) == 0, "Email/query %s: got \"%s\", want \"%s\"", args, got,
                 want);
    json_decref(r);
}

#define MSG(from, subject, extra, body)                                                        \
    "From: " from "\r\nTo: demo@jmap-gateway.test\r\nSubject: " subject "\r\n" extra           \
    "Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n\r\n" body "\r\n"

static void test_query(void **unused)
{
    (void)unused;
    /* Subjects are single words so the joined lists read unambiguously. */
    static const char m1[] = MSG("Cleo <c@example.org>", "one", "Message-ID: <m1@example.org>\r\n",
                                 "a kumquat grows");
    static const char m2[] = MSG("Anna <a@example.org>", "two", "Message-ID: <m2@example.org>\r\n",
                                 "nothing here, nothing at all, padding padding");
    static const char m3[] = MSG("Dora <d@example.org>", "three",
                                 "Message-ID: <m3@example.org>\r\n"
                                 "In-Reply-To: <m1@example.org>\r\nReferences: <m1@example.org>\r\n",
                                 "kumquat again, with a much longer body to be the largest one");
    static const char m4[] = MSG("Bert <b@example.org>", "four", "Message-ID: <m4@example.org>\r\n",
                                 "x");
    static const char m5[] = MSG("Emil <e@example.org>", "five", "Message-ID: <m5@example.org>\r\n",
                                 "in the inbox");
    const char *const work[] = { m1, m2, m3, m4 };
    const char *const mk[] = { "CREATE Work", NULL };
    const char *const inbox[] = { m5 };
    uint16_t port = demo_dovecot_imap_port(fx.dovecot);
    harness_imap_session(port, "demo", "demo", "INBOX", inbox, 1, mk);
    harness_imap_session(port, "demo", "demo", "Work", work, 4, NULL);
    char *w = mailbox_named("Work");
    char *in = mailbox_named("Inbox");

    json_t *r = call("Email/query", "\"filter\": {\"inMailbox\": \"%s\"}, \"calculateTotal\": true",
                     w);
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(r, "total")), 4);
    H_ASSERT(json_is_true(json_object_get(r, "canCalculateChanges")));
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(r, "position")), 0);
    json_decref(r);

    /* Sorts. */
    expect_query("two four one three", "\"filter\": {\"inMailbox\": \"%s\"}, \"sort\":"
                 " [{\"property\": \"from\"}]", w);
    expect_query("three one four two", "\"filter\": {\"inMailbox\": \"%s\"}, \"sort\":"
                 " [{\"property\": \"from\", \"isAscending\": false}]", w);
    expect_query("four one two three", "\"filter\": {\"inMailbox\": \"%s\"}, \"sort\":"
                 " [{\"property\": \"size\"}]", w);
    expect_query("four one three two", "\"filter\": {\"inMailbox\": \"%s\"}, \"sort\":"
                 " [{\"property\": \"subject\"}]", w);
    /* Text conditions answered by IMAP SEARCH. */
    expect_query("one three", "\"filter\": {\"inMailbox\": \"%s\", \"body\": \"kumquat\"},"
                 " \"sort\": [{\"property\": \"size\"}]", w);
    expect_query("one three", "\"filter\": {\"text\": \"KUMQUAT\"}, \"sort\":"
                 " [{\"property\": \"size\"}]%s", "");
    expect_query("four", "\"filter\": {\"from\": \"bert\"}%s", "");
    expect_query("two four", "\"filter\": {\"operator\": \"AND\", \"conditions\": [{\"inMailbox\":"
                 " \"%s\"}, {\"operator\": \"NOT\", \"conditions\": [{\"text\": \"kumquat\"}]}]},"
                 " \"sort\": [{\"property\": \"from\"}]", w);
    expect_query("three", "\"filter\": {\"inMailbox\": \"%s\", \"header\": [\"In-Reply-To\"]}",
                 w);
    /* Mailboxes (the demo account has more mail: narrow by sender). */
    expect_query("five", "\"filter\": {\"inMailbox\": \"%s\", \"from\": \"emil\"}", in);
    expect_query("", "\"filter\": {\"inMailbox\": \"%s\", \"from\": \"emil\"}", w);
    expect_query("five", "\"filter\": {\"inMailboxOtherThan\": [\"%s\"], \"from\": \"emil\"}",
                 w);
    expect_query("", "\"filter\": {\"inMailboxOtherThan\": [\"%s\"], \"text\": \"kumquat\"}",
                 w);
    /* collapseThreads: "three" answers "one". */
    expect_query("four one two", "\"filter\": {\"inMailbox\": \"%s\"}, \"collapseThreads\": true,"
                 " \"sort\": [{\"property\": \"size\"}]", w);
    /* Windows. */
    expect_query("one two", "\"filter\": {\"inMailbox\": \"%s\"}, \"sort\": [{\"property\":"
                 " \"size\"}], \"position\": 1, \"limit\": 2", w);
    expect_query("three", "\"filter\": {\"inMailbox\": \"%s\"}, \"sort\": [{\"property\":"
                 " \"size\"}], \"position\": -1", w);
    r = call("Email/query", "\"filter\": {\"inMailbox\": \"%s\"}, \"sort\": [{\"property\":"
             " \"size\"}]", w);
    char anchor[64];
    snprintf(anchor, sizeof(anchor), "%s", json_string_value(json_array_get(json_object_get(r,
                                                                                      "ids"), 2)));
    json_decref(r);
    expect_query("one two", "\"filter\": {\"inMailbox\": \"%s\"}, \"sort\": [{\"property\":"
                 " \"size\"}], \"anchor\": \"%s\", \"anchorOffset\": -1, \"limit\": 2", w, anchor);

    /* queryChanges: flag "two" behind the gateway's back. */
    r = call("Email/query", "\"filter\": {\"inMailbox\": \"%s\", \"hasKeyword\": \"$flagged\"}",
             w);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(r, "ids")), 0);
    char *old_state = strdup(json_string_value(json_object_get(r, "queryState")));
    json_decref(r);
    const char *const flag[] = { "SELECT Work", "UID STORE 2 +FLAGS (\\Flagged)", NULL };
    harness_imap_session(port, "demo", "demo", "Work", NULL, 0, flag);
    r = call("Email/queryChanges", "\"filter\": {\"inMailbox\": \"%s\", \"hasKeyword\":"
             " \"$flagged\"}, \"sinceQueryState\": \"%s\", \"calculateTotal\": true", w, old_state);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(r, "oldQueryState")), old_state);
    H_ASSERT(strcmp(json_string_value(json_object_get(r, "newQueryState")), old_state) != 0);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(r, "removed")), 0);
    json_t *added = json_object_get(r, "added");
    H_ASSERT_INT_EQ((long long)json_array_size(added), 1);
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(json_array_get(added, 0), "index")), 0);
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(r, "total")), 1);
    json_t *ids = json_pack("[O]", json_object_get(json_array_get(added, 0), "id"));
    char got[128];
    subjects(ids, got, sizeof(got));
    H_ASSERT_STR_EQ(got, "two");
    json_decref(ids);
    json_decref(r);
    char args[256];
    H_ASSERT(snprintf(args, sizeof(args), "{\"accountId\": \"%s\", \"sinceQueryState\":"
                      " \"nonesuch\"}", fx.account_id) < (int)sizeof(args));
    json_t *c = harness_jmap_call(fx.gw->port, "demo", "demo", "Email/queryChanges", args);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(c, 1), "type")),
                    "cannotCalculateChanges");
    json_decref(c);
    free(old_state);

    /* SearchSnippet/get: the subject term is marked; no match is null. */
    r = call("Email/query", "\"filter\": {\"inMailbox\": \"%s\"}, \"sort\": [{\"property\":"
             " \"size\"}]", w);
    const char *four = json_string_value(json_array_get(json_object_get(r, "ids"), 0));
    const char *one = json_string_value(json_array_get(json_object_get(r, "ids"), 1));
    json_t *s = call("SearchSnippet/get", "\"filter\": {\"subject\": \"one\"}, \"emailIds\":"
                     " [\"%s\", \"%s\", \"Enosuchemail00\"]", one, four);
    json_t *list = json_object_get(s, "list");
    H_ASSERT_INT_EQ((long long)json_array_size(list), 2);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(list, 0), "subject")),
                    "<mark>one</mark>");
    H_ASSERT(json_is_null(json_object_get(json_array_get(list, 1), "subject")));
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(s, "notFound"), 0)),
                    "Enosuchemail00");
    json_decref(s);
    /* Each token of a text condition is highlighted on its own (§4.4.1). */
    s = call("SearchSnippet/get", "\"filter\": {\"text\": \"four one\"}, \"emailIds\":"
             " [\"%s\", \"%s\"]", one, four);
    list = json_object_get(s, "list");
    H_ASSERT_INT_EQ((long long)json_array_size(list), 2);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(list, 0), "subject")),
                    "<mark>one</mark>");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(list, 1), "subject")),
                    "<mark>four</mark>");
    json_decref(s);
    json_decref(r);
    free(w);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_query, harness_teardown_check_alive),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
