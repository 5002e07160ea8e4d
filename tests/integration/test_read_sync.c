/* test_read_sync.c - the read path kept in sync with an account that
 * another IMAP client (and a mail server over LMTP) changes behind the
 * gateway's back: after each change Mailbox/changes, Email/changes and
 * Thread/changes report exactly it and the /get methods agree with IMAP;
 * old states still work after a gateway restart; Mailbox/query filters,
 * sorts and trees; the errors of these methods. */
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

static void imap(const char *mailbox, const char *const *msgs, size_t n, const char *const *cmds)
{
    harness_imap_session(demo_dovecot_imap_port(fx.dovecot), "demo", "demo", mailbox, msgs, n,
                         cmds);
}

/* method(args) with "accountId" added; its response arguments. */
/* method({"accountId": ours, args}): its response arguments. */
#define call(method, ...) harness_mail_call(&fx, method, __VA_ARGS__)

/* The method error type of method(args), which must fail. */
static char *error_of(const char *method, const char *args)
{
    json_t *c = harness_jmap_call(fx.gw->port, "demo", "demo", method, args);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(c, 0)), "error");
    char *type = strdup(json_string_value(json_object_get(json_array_get(c, 1), "type")));
    json_decref(c);
    return type;
}

/* method({"accountId": account (NULL: ours), rest}) must fail with type. */
static void expect_error(const char *method, const char *account, const char *rest,
                         const char *type)
{
    char full[1024];
    H_ASSERT(snprintf(full, sizeof(full), "{\"accountId\": \"%s\"%s%s}",
                      account != NULL ? account : fx.account_id, rest[0] ? ", " : "",
                      rest) < (int)sizeof(full));
    char *got = error_of(method, full);
    H_ASSERT_STR_EQ(got, type);
    free(got);
}

static char *state_of(const char *type)
{
    char method[32];
    snprintf(method, sizeof(method), "%s/get", type);
    json_t *r = call(method, "\"ids\": []");
    char *s = strdup(json_string_value(json_object_get(r, "state")));
    json_decref(r);
    return s;
}

struct changes {
    json_t *res;
    size_t created, updated, destroyed;
};

static struct changes changes_since(const char *type, const char *since)
{
    char method[32];
    snprintf(method, sizeof(method), "%s/changes", type);
    struct changes c;
    c.res = call(method, "\"sinceState\": \"%s\"", since);
    c.created = json_array_size(json_object_get(c.res, "created"));
    c.updated = json_array_size(json_object_get(c.res, "updated"));
    c.destroyed = json_array_size(json_object_get(c.res, "destroyed"));
    H_ASSERT(json_is_false(json_object_get(c.res, "hasMoreChanges")));
    return c;
}

static const char *first_id(const struct changes *c, const char *list)
{
    return json_string_value(json_array_get(json_object_get(c->res, list), 0));
}

static json_t *email(const char *id, const char *props)
{
    json_t *r = call("Email/get", "\"ids\": [\"%s\"], \"properties\": [%s]", id, props);
    json_t *e = json_incref(json_array_get(json_object_get(r, "list"), 0));
    json_decref(r);
    H_ASSERT_MSG(e != NULL, "Email %s not found", id);
    return e;
}

/* The id of the mailbox with this name (NULL: none). New string. */
static char *mailbox_named(const char *name)
{
    json_t *r = call("Mailbox/get", "\"ids\": null");
    char *id = NULL;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(r, "list"), i, m)
        if (strcmp(json_string_value(json_object_get(m, "name")), name) == 0)
            id = strdup(json_string_value(json_object_get(m, "id")));
    json_decref(r);
    return id;
}

static const char m1[] = "From: a@example.org\r\nTo: demo@jmap-gateway.test\r\nSubject: sync one\r\n"
                         "Message-ID: <sync-1@example.org>\r\n\r\nOne.\r\n";
static const char m2[] = "From: b@example.org\r\nTo: demo@jmap-gateway.test\r\nSubject: Re: sync one\r\n"
                         "Message-ID: <sync-2@example.org>\r\nIn-Reply-To: <sync-1@example.org>\r\n"
                         "References: <sync-1@example.org>\r\n\r\nTwo.\r\n";
static const char m3[] = "From: c@example.org\r\nTo: demo@jmap-gateway.test\r\nSubject: delivered\r\n"
                         "Message-ID: <sync-3@example.org>\r\n\r\nThree.\r\n";
static const char m4[] = "From: d@example.org\r\nTo: demo@jmap-gateway.test\r\nSubject: work\r\n"
                         "Message-ID: <sync-4@example.org>\r\n\r\nFour.\r\n";

static void test_changes_follow_imap(void **unused)
{
    (void)unused;
    char *e0 = state_of("Email"), *t0 = state_of("Thread"), *mb0 = state_of("Mailbox");
    char *inbox = mailbox_named("INBOX");
    H_ASSERT(inbox != NULL);

    /* New mail by APPEND: two Emails, one new Thread, INBOX counts move. */
    const char *const pair[] = { m1, m2 };
    imap("INBOX", pair, 2, NULL);
    struct changes c = changes_since("Email", e0);
    H_ASSERT_INT_EQ((long long)c.created, 2);
    H_ASSERT_INT_EQ((long long)(c.updated + c.destroyed), 0);
    char *id1 = strdup(json_string_value(json_array_get(json_object_get(c.res, "created"), 0)));
    char *id2 = strdup(json_string_value(json_array_get(json_object_get(c.res, "created"), 1)));
    char *e1 = strdup(json_string_value(json_object_get(c.res, "newState")));
    json_decref(c.res);
    c = changes_since("Thread", t0);
    H_ASSERT_INT_EQ((long long)c.created, 1);
    char *thread = strdup(first_id(&c, "created"));
    json_decref(c.res);
    c = changes_since("Mailbox", mb0);
    H_ASSERT_STR_EQ(first_id(&c, "updated"), inbox);
    H_ASSERT(json_is_null(json_object_get(c.res, "updatedProperties")));
    json_decref(c.res);
    json_t *r = call("Thread/get", "\"ids\": [\"%s\", \"Tnosuchthread\"]", thread);
    json_t *ids = json_object_get(json_array_get(json_object_get(r, "list"), 0), "emailIds");
    H_ASSERT_INT_EQ((long long)json_array_size(ids), 2);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(r, "notFound")), 1);
    json_decref(r);
    json_t *e = email(id2, "\"threadId\", \"subject\", \"mailboxIds\"");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "threadId")), thread);
    H_ASSERT(json_is_true(json_object_get(json_object_get(e, "mailboxIds"), inbox)));
    json_decref(e);

    /* New mail by LMTP delivery. */
    /* The gateway hears of a delivery from the server's NOTIFY. */
    struct harness_notify *notify =
        harness_notify_begin(demo_dovecot_imap_port(fx.dovecot), "demo", "demo");
    harness_lmtp_deliver(demo_dovecot_lmtp_port(fx.dovecot), "demo", m3);
    harness_notify_wait(&notify);
    c = changes_since("Email", e1);
    H_ASSERT_INT_EQ((long long)c.created, 1);
    H_ASSERT_INT_EQ((long long)(c.updated + c.destroyed), 0);
    e = email(first_id(&c, "created"), "\"subject\"");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "subject")), "delivered");
    json_decref(e);
    free(e1);
    e1 = strdup(json_string_value(json_object_get(c.res, "newState")));
    json_decref(c.res);

    /* A flag set elsewhere; a move (the id is kept); an expunge. */
    const char *const work_cmds[] = { "CREATE Work", NULL };
    imap("INBOX", NULL, 0, work_cmds);
    const char *const work_msgs[] = { m4 };
    imap("Work", work_msgs, 1, NULL);
    c = changes_since("Email", e1);
    H_ASSERT_INT_EQ((long long)c.created, 1);
    char *id4 = strdup(first_id(&c, "created"));
    free(e1);
    e1 = strdup(json_string_value(json_object_get(c.res, "newState")));
    json_decref(c.res);
    const char *const flag[] = { "SELECT Work", "UID STORE 1 +FLAGS (\\Flagged)", NULL };
    imap("Work", NULL, 0, flag);
    c = changes_since("Email", e1);
    H_ASSERT_INT_EQ((long long)c.updated, 1);
    H_ASSERT_STR_EQ(first_id(&c, "updated"), id4);
    H_ASSERT_INT_EQ((long long)(c.created + c.destroyed), 0);
    free(e1);
    e1 = strdup(json_string_value(json_object_get(c.res, "newState")));
    json_decref(c.res);
    e = email(id4, "\"keywords\"");
    H_ASSERT(json_is_true(json_object_get(json_object_get(e, "keywords"), "$flagged")));
    json_decref(e);

    const char *const move[] = { "SELECT Work", "UID MOVE 1 INBOX", NULL };
    imap("Work", NULL, 0, move);
    c = changes_since("Email", e1);
    H_ASSERT_INT_EQ((long long)c.updated, 1);
    H_ASSERT_STR_EQ(first_id(&c, "updated"), id4);
    H_ASSERT_INT_EQ((long long)(c.created + c.destroyed), 0);
    free(e1);
    e1 = strdup(json_string_value(json_object_get(c.res, "newState")));
    json_decref(c.res);
    e = email(id4, "\"mailboxIds\"");
    H_ASSERT_INT_EQ((long long)json_object_size(json_object_get(e, "mailboxIds")), 1);
    H_ASSERT(json_is_true(json_object_get(json_object_get(e, "mailboxIds"), inbox)));
    json_decref(e);

    /* A copy of m1 in another mailbox joins m1's thread; expunged, it is
     * destroyed and the thread only updated. */
    const char *const mk_x[] = { "CREATE X", NULL };
    imap("INBOX", NULL, 0, mk_x);
    const char *const copy[] = { m1 };
    char *t1 = state_of("Thread");
    imap("X", copy, 1, NULL);
    c = changes_since("Email", e1);
    H_ASSERT_INT_EQ((long long)c.created, 1);
    char *idx = strdup(first_id(&c, "created"));
    free(e1);
    e1 = strdup(json_string_value(json_object_get(c.res, "newState")));
    json_decref(c.res);
    e = email(idx, "\"threadId\"");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "threadId")), thread);
    json_decref(e);
    const char *const del[] = { "SELECT X", "UID STORE 1 +FLAGS (\\Deleted)", "UID EXPUNGE 1",
                                NULL };
    imap("X", NULL, 0, del);
    c = changes_since("Email", e1);
    H_ASSERT_INT_EQ((long long)c.destroyed, 1);
    H_ASSERT_STR_EQ(first_id(&c, "destroyed"), idx);
    H_ASSERT_INT_EQ((long long)(c.created + c.updated), 0);
    json_decref(c.res);
    c = changes_since("Thread", t1);
    H_ASSERT_INT_EQ((long long)c.updated, 1);
    H_ASSERT_STR_EQ(first_id(&c, "updated"), thread);
    H_ASSERT_INT_EQ((long long)(c.created + c.destroyed), 0);
    json_decref(c.res);
    r = call("Thread/get", "\"ids\": [\"%s\"]", thread);
    ids = json_object_get(json_array_get(json_object_get(r, "list"), 0), "emailIds");
    H_ASSERT_INT_EQ((long long)json_array_size(ids), 2);
    json_decref(r);
    r = call("Email/get", "\"ids\": [\"%s\"]", idx);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(r, "notFound"), 0)), idx);
    json_decref(r);
    free(idx);
    free(t1);

    /* Rename a mailbox: the same id, a new name. */
    char *work = mailbox_named("Work");
    char *mb1 = state_of("Mailbox");
    const char *const rename[] = { "RENAME Work Play", NULL };
    imap("INBOX", NULL, 0, rename);
    c = changes_since("Mailbox", mb1);
    H_ASSERT_INT_EQ((long long)c.updated, 1);
    H_ASSERT_STR_EQ(first_id(&c, "updated"), work);
    H_ASSERT_INT_EQ((long long)(c.created + c.destroyed), 0);
    json_decref(c.res);
    char *play = mailbox_named("Play");
    H_ASSERT(play != NULL);
    H_ASSERT_STR_EQ(play, work);

    /* Restart the gateway between two /changes calls. */
    char *e_before = state_of("Email");
    struct harness_gateway *old = fx.gw;
    H_ASSERT(harness_gateway_stop(old) == 0);
    const char *const later[] = { m3 };
    imap("Play", later, 1, NULL);
    /* The old gateway's folder (and state) lives until it is freed. */
    fx.gw = harness_gateway_for_dovecot_in(fx.dovecot, "starttls", true, NULL, old->state_dir);
    H_ASSERT(fx.gw != NULL);
    c = changes_since("Email", e_before);
    H_ASSERT_INT_EQ((long long)c.created, 1);
    H_ASSERT_INT_EQ((long long)(c.updated + c.destroyed), 0);
    json_decref(c.res);

    /* UIDVALIDITY reset: Play deleted and created again. Its old Email is
     * destroyed, the new one created; the mailbox keeps its id. */
    char *e2 = state_of("Email");
    const char *const reset[] = { "DELETE Play", "CREATE Play", NULL };
    imap("INBOX", NULL, 0, reset);
    const char *const again[] = { m4 };
    imap("Play", again, 1, NULL);
    c = changes_since("Email", e2);
    H_ASSERT_INT_EQ((long long)c.created, 1);
    H_ASSERT_INT_EQ((long long)c.destroyed, 1);
    json_decref(c.res);
    char *play2 = mailbox_named("Play");
    H_ASSERT_STR_EQ(play2, play);

    free(play2);
    free(e2);
    harness_gateway_free(&old);
    free(e_before);
    free(play);
    free(work);
    free(mb1);
    free(id1);
    free(id2);
    free(id4);
    free(thread);
    free(e1);
    free(inbox);
    free(e0);
    free(t0);
    free(mb0);
}

/* Mailbox/query: role filter, tree sort with parentId, filterAsTree. */
static void test_mailbox_query(void **unused)
{
    (void)unused;
    const char *const mk[] = { "CREATE Parent", "CREATE Parent/Child", "CREATE Aardvark", NULL };
    imap("INBOX", NULL, 0, mk);
    char *inbox = mailbox_named("INBOX"), *parent = mailbox_named("Parent"),
         *child = mailbox_named("Child"), *aard = mailbox_named("Aardvark");
    H_ASSERT(inbox && parent && child && aard);

    json_t *r = call("Mailbox/get", "\"ids\": [\"%s\"]", child);
    json_t *m = json_array_get(json_object_get(r, "list"), 0);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(m, "parentId")), parent);
    H_ASSERT(json_is_null(json_object_get(m, "role")));
    H_ASSERT_INT_EQ((long long)json_object_size(json_object_get(m, "myRights")), 9);
    H_ASSERT_INT_EQ((long long)json_object_size(m), 11);
    json_decref(r);
    r = call("Mailbox/get", "\"ids\": [\"%s\"], \"properties\": [\"role\"]", inbox);
    m = json_array_get(json_object_get(r, "list"), 0);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(m, "role")), "inbox");
    H_ASSERT_INT_EQ((long long)json_object_size(m), 2);
    json_decref(r);

    r = call("Mailbox/query", "\"filter\": {\"role\": \"inbox\"}, \"calculateTotal\": true");
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(r, "total")), 1);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(r, "ids"), 0)), inbox);
    json_decref(r);

    /* Tree order: Aardvark, Parent, Child (child right after its parent). */
    r = call("Mailbox/query", "\"filter\": {\"hasAnyRole\": false}, \"sort\": [{\"property\":"
         " \"name\"}], \"sortAsTree\": true");
    json_t *ids = json_object_get(r, "ids");
    size_t pa = 99, ch = 99, aa = 99, i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        if (strcmp(json_string_value(v), parent) == 0) pa = i;
        if (strcmp(json_string_value(v), child) == 0) ch = i;
        if (strcmp(json_string_value(v), aard) == 0) aa = i;
        H_ASSERT(strcmp(json_string_value(v), inbox) != 0);
    }
    H_ASSERT(aa < pa && ch == pa + 1);
    json_decref(r);

    /* filterAsTree drops a match whose parent does not match. */
    r = call("Mailbox/query", "\"filter\": {\"name\": \"child\"}, \"filterAsTree\": true");
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(r, "ids")), 0);
    json_decref(r);
    r = call("Mailbox/query", "\"filter\": {\"name\": \"child\"}");
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(r, "ids")), 1);
    json_decref(r);

    /* Windows: anchor + offset, negative position, limit. */
    r = call("Mailbox/query", "\"sort\": [{\"property\": \"name\"}], \"anchor\": \"%s\","
             " \"anchorOffset\": 1, \"limit\": 1", aard);
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(r, "position")), 1);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(r, "ids")), 1);
    json_decref(r);
    r = call("Mailbox/query", "\"position\": -1");
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(r, "ids")), 1);
    char *qs = strdup(json_string_value(json_object_get(r, "queryState")));
    json_decref(r);
    r = call("Mailbox/queryChanges", "\"sinceQueryState\": \"%s\"", qs);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(r, "added")), 0);
    json_decref(r);
    free(qs);
    free(inbox);
    free(parent);
    free(child);
    free(aard);
}

static void test_errors(void **unused)
{
    (void)unused;
    expect_error("Mailbox/query", NULL, "\"filter\": {\"foo\": 1}", "unsupportedFilter");
    expect_error("Mailbox/query", NULL, "\"filter\": {\"name\": 1}", "invalidArguments");
    expect_error("Mailbox/query", NULL,
                 "\"filter\": {\"operator\": \"XOR\", \"conditions\": []}", "invalidArguments");
    expect_error("Mailbox/query", NULL, "\"sort\": [{\"property\": \"size\"}]", "unsupportedSort");
    expect_error("Mailbox/query", NULL, "\"anchor\": \"Mnosuchmailbox\"", "anchorNotFound");
    expect_error("Mailbox/query", NULL, "\"sortAsTree\": 1", "invalidArguments");
    expect_error("Mailbox/queryChanges", NULL, "\"sinceQueryState\": \"garbage\"",
                 "cannotCalculateChanges");
    expect_error("Email/changes", NULL, "\"sinceState\": \"garbage\"", "cannotCalculateChanges");
    expect_error("Thread/changes", NULL, "", "invalidArguments");
    expect_error("Mailbox/get", "Anotmine", "", "accountNotFound");
    expect_error("Thread/get", NULL, "\"ids\": [\"bad id\"]", "invalidArguments");
}

/* The "ids" of a /query response (new reference); takes the response. */
static json_t *ids_of(json_t *r)
{
    json_t *ids = json_incref(json_object_get(r, "ids"));
    json_decref(r);
    return ids;
}

#define query_ids(...) ids_of(call("Email/query", __VA_ARGS__))

static bool ids_contain(json_t *ids, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
        if (strcmp(json_string_value(v), id) == 0)
            return true;
    return false;
}

/* Email/query over cache and IMAP SEARCH, collapseThreads, sorts, and
 * SearchSnippet/get. */
static void test_email_query(void **unused)
{
    (void)unused;
    static const char q1[] = "From: Xavier <x@example.org>\r\nTo: demo@jmap-gateway.test\r\n"
                             "Subject: alpha money\r\nMessage-ID: <q1@example.org>\r\n"
                             "Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n\r\nFirst.\r\n";
    static const char q2[] = "From: y@example.org\r\nTo: demo@jmap-gateway.test\r\n"
                             "Subject: beta\r\nMessage-ID: <q2@example.org>\r\n"
                             "Date: Tue, 3 Nov 2026 10:00:00 +0000\r\n\r\nmoney talks, a lot\r\n";
    static const char q3[] = "From: z@example.org\r\nTo: demo@jmap-gateway.test\r\n"
                             "Subject: Re: alpha money\r\nMessage-ID: <q3@example.org>\r\n"
                             "In-Reply-To: <q1@example.org>\r\n"
                             "Date: Wed, 4 Nov 2026 10:00:00 +0000\r\n\r\nThird.\r\n";
    const char *const mk[] = { "CREATE Q", NULL };
    imap("INBOX", NULL, 0, mk);
    const char *const msgs[] = { q1, q2, q3 };
    const char *const flag[] = { "SELECT Q", "UID STORE 2 +FLAGS (\\Flagged)", NULL };
    imap("Q", msgs, 3, flag);
    char *q = mailbox_named("Q");
    H_ASSERT(q != NULL);

    /* sentAt ascending: q1, q2, q3. */
    json_t *r = call("Email/query", "\"filter\": {\"inMailbox\": \"%s\"}, \"sort\":"
                     " [{\"property\": \"sentAt\"}], \"calculateTotal\": true", q);
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(r, "total")), 3);
    json_t *all = json_object_get(r, "ids");
    char id1[64], id2[64], id3[64];
    snprintf(id1, sizeof(id1), "%s", json_string_value(json_array_get(all, 0)));
    snprintf(id2, sizeof(id2), "%s", json_string_value(json_array_get(all, 1)));
    snprintf(id3, sizeof(id3), "%s", json_string_value(json_array_get(all, 2)));
    json_decref(r);
    json_t *e = email(id2, "\"subject\"");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "subject")), "beta");
    json_decref(e);

    json_t *ids = query_ids("\"filter\": {\"inMailbox\": \"%s\", \"text\": \"money\"}", q);
    H_ASSERT_INT_EQ((long long)json_array_size(ids), 3);
    json_decref(ids);
    ids = query_ids("\"filter\": {\"inMailbox\": \"%s\", \"body\": \"talks\"}", q);
    H_ASSERT(json_array_size(ids) == 1 && ids_contain(ids, id2));
    json_decref(ids);
    ids = query_ids("\"filter\": {\"operator\": \"AND\", \"conditions\": [{\"inMailbox\": \"%s\"},"
                    " {\"operator\": \"NOT\", \"conditions\": [{\"subject\": \"alpha\"}]}]}", q);
    H_ASSERT(json_array_size(ids) == 1 && ids_contain(ids, id2));
    json_decref(ids);
    ids = query_ids("\"filter\": {\"inMailbox\": \"%s\", \"from\": \"xavier\"}", q);
    H_ASSERT(json_array_size(ids) == 1 && ids_contain(ids, id1));
    json_decref(ids);
    ids = query_ids("\"filter\": {\"inMailbox\": \"%s\", \"hasKeyword\": \"$flagged\"}", q);
    H_ASSERT(json_array_size(ids) == 1 && ids_contain(ids, id2));
    json_decref(ids);
    ids = query_ids("\"filter\": {\"inMailbox\": \"%s\", \"header\": [\"In-Reply-To\"]}", q);
    H_ASSERT(json_array_size(ids) == 1 && ids_contain(ids, id3));
    json_decref(ids);
    /* The whole account, text pushed to every mailbox. */
    ids = query_ids("\"filter\": {\"text\": \"talks\"}%s", "");
    H_ASSERT(json_array_size(ids) == 1 && ids_contain(ids, id2));
    json_decref(ids);

    /* Subject sort ignores "Re:"; collapseThreads keeps one per thread. */
    ids = query_ids("\"filter\": {\"inMailbox\": \"%s\"}, \"sort\": [{\"property\": \"subject\"},"
                    " {\"property\": \"sentAt\", \"isAscending\": false}]", q);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(ids, 0)), id3);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(ids, 1)), id1);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(ids, 2)), id2);
    json_decref(ids);
    /* (The three arrive in the same second: sort by sentAt to be sure.) */
    ids = query_ids("\"filter\": {\"inMailbox\": \"%s\"}, \"collapseThreads\": true, \"sort\":"
                    " [{\"property\": \"sentAt\", \"isAscending\": false}]", q);
    H_ASSERT_INT_EQ((long long)json_array_size(ids), 2);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(ids, 0)), id3);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(ids, 1)), id2);
    json_decref(ids);
    ids = query_ids("\"filter\": {\"inMailbox\": \"%s\", \"someInThreadHaveKeyword\": \"$flagged\"}",
                    q);
    H_ASSERT(json_array_size(ids) == 1 && ids_contain(ids, id2));
    json_decref(ids);

    r = call("SearchSnippet/get", "\"filter\": {\"text\": \"money\"}, \"emailIds\": [\"%s\","
             " \"Enosuchemail00\"]", id1);
    json_t *sn = json_array_get(json_object_get(r, "list"), 0);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(sn, "emailId")), id1);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(sn, "subject")), "alpha <mark>money</mark>");
    H_ASSERT(json_is_null(json_object_get(sn, "preview")));
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(r, "notFound"), 0)),
                    "Enosuchemail00");
    json_decref(r);

    expect_error("Email/query", NULL, "\"filter\": {\"foo\": 1}", "unsupportedFilter");
    expect_error("Email/query", NULL, "\"filter\": {\"before\": \"yesterday\"}",
                 "invalidArguments");
    expect_error("Email/query", NULL, "\"filter\": {\"hasKeyword\": \"a b\"}",
                 "invalidArguments");
    expect_error("Email/query", NULL, "\"sort\": [{\"property\": \"nope\"}]", "unsupportedSort");
    expect_error("Email/query", NULL, "\"sort\": [{\"property\": \"hasKeyword\"}]",
                 "invalidArguments");
    expect_error("Email/query", NULL, "\"anchor\": \"Enosuchemail00\"", "anchorNotFound");
    expect_error("Email/query", NULL, "\"collapseThreads\": 3", "invalidArguments");
    expect_error("Email/queryChanges", NULL, "\"sinceQueryState\": \"0\"", "cannotCalculateChanges");
    expect_error("SearchSnippet/get", NULL, "\"filter\": {\"foo\": 1}, \"emailIds\": []",
                 "unsupportedFilter");
    expect_error("SearchSnippet/get", NULL, "\"filter\": null", "invalidArguments");
    free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_changes_follow_imap, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_mailbox_query, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_errors, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_email_query, harness_teardown_check_alive),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
