/* test_mailbox.c - Mailbox/get over the demo account's special-use
 * mailboxes (roles, every property, notFound), Mailbox/changes across a
 * CREATE, RENAME and DELETE done by a plain IMAP client, Mailbox/queryChanges
 * replayed onto cached tree and filterAsTree results after another client
 * renamed, created, deleted and unsubscribed mailboxes, and every method
 * error of the Mailbox methods. test_read_sync covers more of
 * Mailbox/query. */
#define _GNU_SOURCE 1
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void imap(const char *const *cmds)
{
    harness_imap_session(demo_dovecot_imap_port(fx.dovecot), "demo", "demo", "INBOX", NULL, 0,
                         cmds);
}

/* The mailbox object named name in a Mailbox/get list, or NULL. */
static json_t *named(json_t *res, const char *name)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(res, "list"), i, m)
        if (strcmp(json_string_value(json_object_get(m, "name")), name) == 0)
            return m;
    return NULL;
}

static char *mailbox_state(void)
{
    json_t *r = call("Mailbox/get", "\"ids\": []");
    char *s = strdup(json_string_value(json_object_get(r, "state")));
    json_decref(r);
    return s;
}

static void test_demo_mailboxes(void **unused)
{
    (void)unused;
    static const char *const roles[][2] = { { "INBOX", "inbox" },  { "Drafts", "drafts" },
                                            { "Sent", "sent" },    { "Trash", "trash" },
                                            { "Junk", "junk" },    { "Archive", "archive" } };
    static const char *const rights[] = { "mayReadItems", "mayAddItems", "mayRemoveItems",
                                          "maySetSeen", "maySetKeywords", "mayCreateChild",
                                          "mayRename", "mayDelete", "maySubmit" };
    json_t *r = call("Mailbox/get", "\"ids\": null");
    H_ASSERT(json_is_string(json_object_get(r, "state")));
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(r, "notFound")), 0);
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        json_t *m = named(r, roles[i][0]);
        H_ASSERT_MSG(m != NULL, "no mailbox %s", roles[i][0]);
        H_ASSERT_STR_EQ(json_string_value(json_object_get(m, "role")), roles[i][1]);
        H_ASSERT(json_is_null(json_object_get(m, "parentId")));
        /* Dovecot's "auto = subscribe" subscribes the special-use ones;
         * nothing subscribes the INBOX. */
        H_ASSERT(i == 0 ? json_is_boolean(json_object_get(m, "isSubscribed"))
                        : json_is_true(json_object_get(m, "isSubscribed")));
        H_ASSERT_INT_EQ((long long)json_object_size(m), 11);
        H_ASSERT(json_integer_value(json_object_get(m, "unreadEmails")) <=
                 json_integer_value(json_object_get(m, "totalEmails")));
        H_ASSERT(json_integer_value(json_object_get(m, "unreadThreads")) <=
                 json_integer_value(json_object_get(m, "totalThreads")));
        H_ASSERT(json_integer_value(json_object_get(m, "totalThreads")) <=
                 json_integer_value(json_object_get(m, "totalEmails")));
        H_ASSERT(json_is_integer(json_object_get(m, "sortOrder")));
        json_t *my = json_object_get(m, "myRights");
        H_ASSERT_INT_EQ((long long)json_object_size(my), 9);
        for (size_t k = 0; k < sizeof(rights) / sizeof(rights[0]); k++)
            H_ASSERT_MSG(json_is_boolean(json_object_get(my, rights[k])), "%s: no %s",
                         roles[i][0], rights[k]);
    }
    /* The inbox sorts before the other role mailboxes. */
    H_ASSERT(json_integer_value(json_object_get(named(r, "INBOX"), "sortOrder")) <
             json_integer_value(json_object_get(named(r, "Trash"), "sortOrder")));
    const char *inbox = json_string_value(json_object_get(named(r, "INBOX"), "id"));
    json_t *one = call("Mailbox/get", "\"ids\": [\"%s\", \"Mnosuchmailbox\", \"%s\","
                       " \"Mnosuchmailbox\"], \"properties\": [\"name\", \"unreadEmails\"]",
                       inbox, inbox);
    /* Repeated ids are answered once. */
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(one, "list")), 1);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(one, "notFound")), 1);
    json_t *m = json_array_get(json_object_get(one, "list"), 0);
    H_ASSERT_INT_EQ((long long)json_object_size(m), 3);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(m, "id")), inbox);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(m, "name")), "INBOX");
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(one, "notFound"), 0)),
                    "Mnosuchmailbox");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(one, "state")),
                    json_string_value(json_object_get(r, "state")));
    json_decref(one);
    json_decref(r);
}

/* One id in list of a Mailbox/changes answer, and nothing else. */
static void expect_only(json_t *c, const char *list, const char *id)
{
    static const char *const lists[] = { "created", "updated", "destroyed" };
    for (size_t i = 0; i < 3; i++) {
        json_t *a = json_object_get(c, lists[i]);
        H_ASSERT(json_is_array(a));
        H_ASSERT_INT_EQ((long long)json_array_size(a), strcmp(lists[i], list) == 0 ? 1 : 0);
    }
    if (id != NULL)
        H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(c, list), 0)), id);
    H_ASSERT(json_is_null(json_object_get(c, "updatedProperties")));
    H_ASSERT(json_is_false(json_object_get(c, "hasMoreChanges")));
}

static void test_changes_after_imap(void **unused)
{
    (void)unused;
    char *s0 = mailbox_state();
    json_t *c = call("Mailbox/changes", "\"sinceState\": \"%s\"", s0);
    expect_only(c, "none", NULL);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(c, "newState")), s0);
    json_decref(c);

    const char *const mk[] = { "CREATE Receipts", NULL };
    imap(mk);
    c = call("Mailbox/changes", "\"sinceState\": \"%s\"", s0);
    expect_only(c, "created", NULL);
    char *id = strdup(json_string_value(json_array_get(json_object_get(c, "created"), 0)));
    char *s1 = strdup(json_string_value(json_object_get(c, "newState")));
    json_decref(c);
    H_ASSERT(strcmp(s0, s1) != 0);

    const char *const mv[] = { "RENAME Receipts Invoices", NULL };
    imap(mv);
    c = call("Mailbox/changes", "\"sinceState\": \"%s\"", s1);
    expect_only(c, "updated", id);
    char *s2 = strdup(json_string_value(json_object_get(c, "newState")));
    json_decref(c);
    json_t *g = call("Mailbox/get", "\"ids\": [\"%s\"]", id);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(json_object_get(g, "list"),
                                                                      0), "name")), "Invoices");
    json_decref(g);

    const char *const rm[] = { "DELETE Invoices", NULL };
    imap(rm);
    c = call("Mailbox/changes", "\"sinceState\": \"%s\"", s2);
    expect_only(c, "destroyed", id);
    json_decref(c);
    /* Created and destroyed since s0: not reported at all. */
    c = call("Mailbox/changes", "\"sinceState\": \"%s\"", s0);
    for (size_t i = 0; i < json_array_size(json_object_get(c, "created")); i++)
        H_ASSERT(strcmp(json_string_value(json_array_get(json_object_get(c, "created"), i)), id));
    json_decref(c);
    g = call("Mailbox/get", "\"ids\": [\"%s\"]", id);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(g, "notFound")), 1);
    json_decref(g);
    free(s0);
    free(s1);
    free(s2);
    free(id);
}

/* The ids of a Mailbox/query answer as a JSON array (new reference). */
static json_t *query_ids(const char *query)
{
    json_t *q = call("Mailbox/query", "%s", query);
    json_t *ids = json_incref(json_object_get(q, "ids"));
    H_ASSERT(json_is_true(json_object_get(q, "canCalculateChanges")));
    json_decref(q);
    return ids;
}

/* The client's splice of a queryChanges answer onto a cached result
 * (RFC 8620 §5.6): removed spliced out, added spliced in lowest index
 * first. */
static void splice(json_t *cached, json_t *changes)
{
    size_t i, k;
    json_t *v, *x;
    json_array_foreach(json_object_get(changes, "removed"), i, v)
        json_array_foreach(cached, k, x)
            if (json_equal(x, v)) {
                json_array_remove(cached, k);
                break;
            }
    json_array_foreach(json_object_get(changes, "added"), i, v) {
        size_t at = (size_t)json_integer_value(json_object_get(v, "index"));
        H_ASSERT(at <= json_array_size(cached));
        json_array_insert(cached, at, json_object_get(v, "id"));
    }
}

static const char tree_query[] =
    "\"sort\": [{\"property\": \"name\"}], \"sortAsTree\": true";
static const char subscribed_query[] =
    "\"filter\": {\"operator\": \"AND\", \"conditions\": [{\"isSubscribed\": true},"
    " {\"operator\": \"NOT\", \"conditions\": [{\"hasAnyRole\": true}]}]},"
    " \"sort\": [{\"property\": \"sortOrder\"}, {\"property\": \"name\","
    " \"isAscending\": false}], \"filterAsTree\": true";

/* queryChanges for q since state qs, spliced onto cached, must give the
 * current result of q exactly. */
static void expect_replay(const char *q, const char *qs, json_t *cached)
{
    json_t *c = call("Mailbox/queryChanges", "\"sinceQueryState\": \"%s\", %s,"
                     " \"calculateTotal\": true", qs, q);
    json_t *now = query_ids(q);
    char *got, *want;
    H_ASSERT_STR_EQ(json_string_value(json_object_get(c, "oldQueryState")), qs);
    H_ASSERT(strcmp(json_string_value(json_object_get(c, "newQueryState")), qs) != 0);
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(c, "total")),
                    (long long)json_array_size(now));
    splice(cached, c);
    got = json_dumps(cached, JSON_COMPACT);
    want = json_dumps(now, JSON_COMPACT);
    H_ASSERT_STR_EQ(got, want);
    free(got);
    free(want);
    json_decref(now);
    json_decref(c);
}

static void test_query_changes(void **unused)
{
    (void)unused;
    json_t *q = call("Mailbox/query", "\"filter\": {\"hasAnyRole\": true}, \"calculateTotal\":"
                     " true");
    H_ASSERT(json_is_true(json_object_get(q, "canCalculateChanges")));
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(q, "total")), 6);
    char *qs = strdup(json_string_value(json_object_get(q, "queryState")));
    json_decref(q);
    json_t *c = call("Mailbox/queryChanges", "\"sinceQueryState\": \"%s\", \"filter\":"
                     " {\"hasAnyRole\": true}, \"calculateTotal\": true", qs);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(c, "newQueryState")), qs);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(c, "removed")), 0);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(c, "added")), 0);
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(c, "total")), 6);
    json_decref(c);

    /* A tree, cached by two queries; then another client reshapes it. */
    const char *const mk[] = { "CREATE Later", "CREATE Later/Sub", "CREATE Later/Sub/Deep",
                               "CREATE Zoo", "CREATE Zoo/Keep", "SUBSCRIBE Later",
                               "SUBSCRIBE Later/Sub", "SUBSCRIBE Later/Sub/Deep",
                               "SUBSCRIBE Zoo", "SUBSCRIBE Zoo/Keep", NULL };
    imap(mk);
    char *s1 = mailbox_state();
    json_t *tree = query_ids(tree_query), *flat = query_ids(subscribed_query);

    /* Sub and Deep move with their renamed parent; Deep is subscribed
     * but its parent Sub is not (Dovecot keeps subscriptions by name). */
    const char *const mv[] = { "RENAME Later Aaa", "CREATE Aaa/New", "DELETE Zoo/Keep",
                               "UNSUBSCRIBE Zoo", "SUBSCRIBE Aaa",
                               "SUBSCRIBE Aaa/Sub/Deep", NULL };
    imap(mv);
    expect_replay(tree_query, s1, tree);
    expect_replay(subscribed_query, s1, flat);
    json_decref(tree);
    json_decref(flat);

    /* The role filter does not see the new mailboxes: nothing to splice. */
    c = call("Mailbox/queryChanges", "\"sinceQueryState\": \"%s\", \"filter\":"
             " {\"hasAnyRole\": true}", qs);
    H_ASSERT(strcmp(json_string_value(json_object_get(c, "newQueryState")), qs) != 0);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(c, "added")), 0);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(c, "removed")), 0);
    json_decref(c);
    free(s1);
    free(qs);
}

/* The method error type of Mailbox method with rest of the arguments, for
 * the account account (NULL: ours). */
static void expect_error(const char *method, const char *account, const char *rest,
                         const char *type)
{
    char args[512];
    H_ASSERT(snprintf(args, sizeof(args), "{\"accountId\": \"%s\"%s%s}",
                      account != NULL ? account : fx.account_id, rest[0] ? ", " : "",
                      rest) < (int)sizeof(args));
    json_t *e = harness_jmap_call(fx.gw->port, "demo", "demo", method, args);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(e, 0)), "error");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(e, 1), "type")), type);
    json_decref(e);
}

static void test_errors(void **unused)
{
    (void)unused;
    char *s = mailbox_state(), future[64];
    H_ASSERT(snprintf(future, sizeof(future), "\"sinceState\": \"%s0\"", s) <
             (int)sizeof(future));
    expect_error("Mailbox/get", "Anotmine", "", "accountNotFound");
    expect_error("Mailbox/query", "Anotmine", "", "accountNotFound");
    expect_error("Mailbox/get", NULL, "\"ids\": [\"bad id\"]", "invalidArguments");
    expect_error("Mailbox/get", NULL, "\"properties\": [\"size\"]", "invalidArguments");
    expect_error("Mailbox/get", NULL, "\"bogus\": 1", "invalidArguments");
    expect_error("Mailbox/changes", NULL, "", "invalidArguments");
    expect_error("Mailbox/changes", NULL, "\"sinceState\": \"1\", \"maxChanges\": 0",
                 "invalidArguments");
    expect_error("Mailbox/changes", NULL, "\"sinceState\": \"garbage\"",
                 "cannotCalculateChanges");
    expect_error("Mailbox/changes", NULL, future, "cannotCalculateChanges");
    expect_error("Mailbox/query", NULL, "\"filter\": {\"totalEmails\": 1}", "unsupportedFilter");
    expect_error("Mailbox/query", NULL, "\"filter\": {\"operator\": \"OR\", \"conditions\":"
                 " [{\"name\": \"a\"}, {\"hasAnyRole\": \"yes\"}]}", "invalidArguments");
    expect_error("Mailbox/query", NULL, "\"sort\": [{\"property\": \"totalEmails\"}]",
                 "unsupportedSort");
    expect_error("Mailbox/query", NULL, "\"sort\": [{\"property\": \"name\", \"collation\":"
                 " \"i;octet\"}]", "unsupportedSort");
    expect_error("Mailbox/query", NULL, "\"anchor\": \"Mnosuchmailbox\"", "anchorNotFound");
    expect_error("Mailbox/query", NULL, "\"limit\": -1", "invalidArguments");
    expect_error("Mailbox/query", NULL, "\"filterAsTree\": \"yes\"", "invalidArguments");
    expect_error("Mailbox/queryChanges", NULL, "\"sinceQueryState\": \"garbage\"",
                 "cannotCalculateChanges");
    expect_error("Mailbox/queryChanges", NULL, "\"filter\": {\"x\": 1}, \"sinceQueryState\":"
                 " \"1\"", "unsupportedFilter");
    /* Two mailboxes created since state 1 at least: more than one change. */
    expect_error("Mailbox/queryChanges", NULL, "\"sinceQueryState\": \"1\", \"maxChanges\": 1",
                 "tooManyChanges");
    free(s);
}

/* Thread/get of each demo Email's threadId: the thread holds it, its
 * emailIds go oldest receivedAt first, a repeated id is answered once. */
static void test_thread_get(void **unused)
{
    (void)unused;
    json_t *r = call("Email/get", "\"ids\": null, \"properties\": [\"threadId\", \"receivedAt\"]");
    json_t *list = json_object_get(r, "list"), *e;
    size_t i;
    H_ASSERT(json_array_size(list) > 0);
    json_array_foreach(list, i, e) {
        const char *tid = json_string_value(json_object_get(e, "threadId"));
        const char *eid = json_string_value(json_object_get(e, "id"));
        json_t *t = call("Thread/get", "\"ids\": [\"%s\", \"%s\", \"Tnosuchthread\"]", tid, tid);
        H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(t, "list")), 1);
        H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(t, "notFound"), 0)),
                        "Tnosuchthread");
        json_t *th = json_array_get(json_object_get(t, "list"), 0), *ids, *x;
        H_ASSERT_STR_EQ(json_string_value(json_object_get(th, "id")), tid);
        ids = json_object_get(th, "emailIds");
        bool has = false;
        const char *prev = "";
        size_t k;
        json_array_foreach(ids, k, x) {
            has = has || strcmp(json_string_value(x), eid) == 0;
            /* receivedAt of each member, in UTCDate form: compares as text. */
            size_t j;
            json_t *o;
            json_array_foreach(list, j, o)
                if (strcmp(json_string_value(json_object_get(o, "id")), json_string_value(x)) == 0) {
                    const char *at = json_string_value(json_object_get(o, "receivedAt"));
                    H_ASSERT_MSG(strcmp(prev, at) <= 0, "thread %s not oldest first", tid);
                    prev = at;
                }
        }
        H_ASSERT_MSG(has, "thread %s lacks its Email %s", tid, eid);
        json_decref(t);
    }
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_mailboxes),
        cmocka_unit_test(test_changes_after_imap),
        cmocka_unit_test(test_query_changes),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_thread_get),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
