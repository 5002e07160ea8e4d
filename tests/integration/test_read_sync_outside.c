/* test_read_sync_outside.c - the read path follows changes made by another
 * client, one change at a time (test_read_sync.c checks them together).
 *
 * A second IMAP client (harness_imap_*) and LMTP change the private Dovecot
 * behind the gateway's back; after each change Mailbox/changes,
 * Email/changes and Thread/changes (RFC 8620 §5.2, RFC 8621) must report
 * exactly that change, and Email/get must agree with what IMAP says. The
 * tests run in order and share one account: each starts from the states
 * the previous one left.
 *
 * Needs Mailbox/get, Email/get, Thread/get and the three /changes methods.
 */
#define _GNU_SOURCE 1
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "demo_dovecot.h"


enum { T_MAILBOX, T_EMAIL, T_THREAD, T_COUNT };
static const char *const type_names[T_COUNT] = { "Mailbox", "Email", "Thread" };

static struct {
    struct demo_dovecot *dovecot;
    char *dovecot_dir;
    struct harness_gateway *gw;
    struct harness_imap *imap;
    char *account_id;
    char state[T_COUNT][64];    /* the states the last check ended at */
    char inbox_id[64];
    char email_id[64];          /* the message the tests move around */
    char thread_id[64];
    char box_id[64];            /* the mailbox created by another client */
    char lmtp_email[64], lmtp_thread[64];
} fx;

/* ------------------------------------------------------------ JMAP */

/* One method call on the demo account: the response arguments (new
 * reference); fails the test on a method error. */
static json_t *call(const char *method, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static json_t *call(const char *method, const char *fmt, ...)
{
    char *more = NULL, *args = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&more, fmt, ap);
    va_end(ap);
    H_ASSERT(n >= 0);
    H_ASSERT(asprintf(&args, "{\"accountId\": \"%s\"%s%s}", fx.account_id, more[0] ? ", " : "",
                      more) > 0);
    free(more);
    json_t *r = harness_jmap_ok(fx.gw->port, "demo", "demo", method, args);
    free(args);
    return r;
}

/* Stops the gateway and starts it again on the same state dir. */
static void restart_gateway(void)
{
    char port[16];
    snprintf(port, sizeof(port), "%u", demo_dovecot_imap_port(fx.dovecot));
    const char *args[] = { "--imap-host", "127.0.0.1", "--imap-port", port, "--imap-tls",
                           "starttls", "--tls-ca-file", demo_dovecot_ca_file(fx.dovecot), NULL };
    struct harness_gateway_opts opts = { .args = args };
    H_ASSERT(harness_gateway_restart(fx.gw, &opts) == 0);
}

static void current_state(int type, char out[64])
{
    char method[32];
    snprintf(method, sizeof(method), "%s/get", type_names[type]);
    json_t *r = call(method, "\"ids\": []");
    const char *s = json_string_value(json_object_get(r, "state"));
    H_ASSERT_MSG(s != NULL && strlen(s) < 64, "%s gave no state", method);
    strcpy(out, s);
    json_decref(r);
}

static bool ids_equal(json_t *array, const char *const *want)
{
    size_t n = 0;
    while (want[n] != NULL)
        n++;
    if (!json_is_array(array) || json_array_size(array) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t j = 0; j < n && !found; j++) {
            const char *got = json_string_value(json_array_get(array, j));
            found = got != NULL && strcmp(got, want[i]) == 0;
        }
        if (!found)
            return false;
    }
    return true;
}

struct expect {
    const char *created[4], *updated[4], *destroyed[4];
};

/* X/changes since the state of the last check must list exactly e (NULL:
 * nothing changed and the state stays); the new state is kept. */
static void expect_changes(int type, const struct expect *e)
{
    static const struct expect none = { { NULL }, { NULL }, { NULL } };
    char method[32];
    snprintf(method, sizeof(method), "%s/changes", type_names[type]);
    if (e == NULL)
        e = &none;
    json_t *r = call(method, "\"sinceState\": \"%s\"", fx.state[type]);
    char *dump = json_dumps(r, JSON_COMPACT);
    H_ASSERT_MSG(json_is_false(json_object_get(r, "hasMoreChanges")), "%s: %s", method, dump);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(r, "oldState")), fx.state[type]);
    H_ASSERT_MSG(ids_equal(json_object_get(r, "created"), e->created), "%s created: %s", method,
                 dump);
    H_ASSERT_MSG(ids_equal(json_object_get(r, "updated"), e->updated), "%s updated: %s", method,
                 dump);
    H_ASSERT_MSG(ids_equal(json_object_get(r, "destroyed"), e->destroyed), "%s destroyed: %s",
                 method, dump);
    const char *ns = json_string_value(json_object_get(r, "newState"));
    H_ASSERT(ns != NULL && strlen(ns) < 64);
    if (e == &none)
        H_ASSERT_MSG(strcmp(ns, fx.state[type]) == 0, "%s: state moved with no change: %s",
                     method, dump);
    else
        H_ASSERT_MSG(strcmp(ns, fx.state[type]) != 0, "%s: state kept after a change: %s",
                     method, dump);
    strcpy(fx.state[type], ns);
    free(dump);
    json_decref(r);
}

/* The only created id of a type since the last check (also checks that
 * nothing else of that type changed); the new state is kept. */
static void one_created(int type, char out[64])
{
    char method[32];
    snprintf(method, sizeof(method), "%s/changes", type_names[type]);
    json_t *r = call(method, "\"sinceState\": \"%s\"", fx.state[type]);
    json_t *created = json_object_get(r, "created");
    H_ASSERT_INT_EQ((long long)json_array_size(created), 1);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(r, "updated")), 0);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(r, "destroyed")), 0);
    const char *id = json_string_value(json_array_get(created, 0));
    H_ASSERT(id != NULL && strlen(id) < 64);
    strcpy(out, id);
    strcpy(fx.state[type], json_string_value(json_object_get(r, "newState")));
    json_decref(r);
}

static json_t *get_one(const char *type, const char *id, const char *properties)
{
    char method[32];
    snprintf(method, sizeof(method), "%s/get", type);
    json_t *r = call(method, "\"ids\": [\"%s\"], \"properties\": %s", id, properties);
    json_t *list = json_object_get(r, "list");
    H_ASSERT_MSG(json_array_size(list) == 1, "%s %s not found", type, id);
    json_t *obj = json_incref(json_array_get(list, 0));
    json_decref(r);
    return obj;
}

/* The top-level mailbox with this name, or (name "inbox") the Inbox role. */
static void mailbox_id_by_name(const char *name, char out[64])
{
    json_t *r = call("Mailbox/get",
                     "\"ids\": null, \"properties\": [\"name\", \"parentId\", \"role\"]");
    size_t i;
    json_t *m;
    out[0] = '\0';
    json_array_foreach(json_object_get(r, "list"), i, m) {
        const char *n = json_string_value(json_object_get(m, "name"));
        const char *role = json_string_value(json_object_get(m, "role"));
        if (strcmp(name, "inbox") == 0 ? role != NULL && strcmp(role, "inbox") == 0
                                       : n != NULL && strcmp(n, name) == 0 &&
                                             json_is_null(json_object_get(m, "parentId")))
            snprintf(out, 64, "%s", json_string_value(json_object_get(m, "id")));
    }
    json_decref(r);
    H_ASSERT_MSG(out[0] != '\0', "no top-level mailbox named %s", name);
}

/* ------------------------------------------------------------ IMAP view */

static void imap_ok(const char *cmd)
{
    H_ASSERT_MSG(harness_imap_cmd(fx.imap, "%s", cmd) == 0, "IMAP %s: %s", cmd,
                 harness_imap_last(fx.imap));
}

/* Every message of the IMAP mailbox `name` must be an Email in mailbox_id
 * with the same keywords (matched by Message-ID), and the mailbox must hold
 * no other Email. */
static void assert_agrees(const char *name, const char *mailbox_id)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "EXAMINE \"%s\"", name);
    imap_ok(cmd);
    /* UID FETCH: "1:*" is fine on an empty mailbox too */
    imap_ok("UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])");
    char *answer = strdup(harness_imap_last(fx.imap));
    H_ASSERT(answer != NULL);

    json_t *r = call("Email/get", "\"ids\": null, \"properties\": [\"messageId\", \"keywords\","
                                  " \"mailboxIds\"]");
    json_t *list = json_object_get(r, "list");
    size_t in_box = 0, i, imap_count = 0;
    json_t *e;
    json_array_foreach(list, i, e) {
        if (json_is_true(json_object_get(json_object_get(e, "mailboxIds"), mailbox_id)))
            in_box++;
    }
    for (char *p = strstr(answer, "* "); p != NULL; p = strstr(p + 1, "\r\n* ")) {
        char *flags = strstr(p, "FLAGS (");
        char *mid = strcasestr(p, "Message-ID: <");
        char *next = strstr(p + 2, "\r\n* ");
        if (flags == NULL || (next != NULL && flags > next))
            continue;
        imap_count++;
        char *flags_end = strchr(flags + 7, ')');
        H_ASSERT(flags_end != NULL);
        H_ASSERT_MSG(mid != NULL && (next == NULL || mid < next), "message without Message-ID");
        char *mid_end = strchr(mid + 13, '>');
        H_ASSERT(mid_end != NULL);
        *mid_end = '\0';
        json_t *want = harness_imap_keywords(flags + 7, (size_t)(flags_end - flags - 7));
        bool matched = false;
        json_array_foreach(list, i, e) {
            const char *m = json_string_value(json_array_get(json_object_get(e, "messageId"), 0));
            if (m == NULL || strcmp(m, mid + 13) != 0 ||
                !json_is_true(json_object_get(json_object_get(e, "mailboxIds"), mailbox_id)))
                continue;
            matched = true;
            char *got = json_dumps(json_object_get(e, "keywords"), JSON_SORT_KEYS);
            char *exp = json_dumps(want, JSON_SORT_KEYS);
            H_ASSERT_MSG(json_equal(json_object_get(e, "keywords"), want),
                         "<%s>: keywords %s, IMAP says %s", mid + 13, got, exp);
            free(got);
            free(exp);
        }
        json_decref(want);
        H_ASSERT_MSG(matched, "IMAP message <%s> in %s is not an Email there", mid + 13, name);
        *mid_end = '>';
    }
    H_ASSERT_MSG(in_box == imap_count, "%s: %zu Emails, IMAP has %zu messages", name, in_box,
                 imap_count);
    json_decref(r);
    free(answer);
    imap_ok("CLOSE");
}

static void append(const char *mailbox, const char *flags, const char *msg)
{
    H_ASSERT_MSG(harness_imap_append(fx.imap, mailbox, flags, msg, strlen(msg), NULL) == 0,
                 "APPEND: %s", harness_imap_last(fx.imap));
}

/* ------------------------------------------------------------ fixture */

static int group_setup(void **state)
{
    (void)state;
    fx.dovecot = harness_dovecot_start(NULL, &fx.dovecot_dir);
    if (fx.dovecot == NULL)
        return -1;
    fx.gw = harness_gateway_for_dovecot(fx.dovecot, "starttls", true, NULL);
    if (fx.gw == NULL)
        return -1;
    json_t *s = harness_session_ok(fx.gw->port, "demo", "demo");
    const char *id = harness_session_account_id(s);
    fx.account_id = id != NULL ? strdup(id) : NULL;
    json_decref(s);
    fx.imap = harness_imap_login(demo_dovecot_imap_port(fx.dovecot), "demo", "demo");
    return fx.account_id != NULL && fx.imap != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    int rc = 0;
    (void)state;
    harness_imap_logout(&fx.imap);
    if (fx.gw != NULL && fx.gw->pid > 0)
        rc = harness_gateway_stop(fx.gw);
    harness_gateway_free(&fx.gw);
    harness_dovecot_free(&fx.dovecot, &fx.dovecot_dir);
    free(fx.account_id);
    return rc;
}

/* The starting point: states, the Inbox, and Email/get agreeing with IMAP
 * on the seeded demo mail. */
static void test_initial_view(void **state)
{
    (void)state;
    for (int t = 0; t < T_COUNT; t++)
        current_state(t, fx.state[t]);
    mailbox_id_by_name("inbox", fx.inbox_id);
    assert_agrees("INBOX", fx.inbox_id);
    for (int t = 0; t < T_COUNT; t++)
        expect_changes(t, NULL);
}

static const char msg_first[] =
    "From: Other Client <other@example.org>\r\nTo: demo@jmap-gateway.test\r\n"
    "Subject: read-sync first\r\nDate: Mon, 02 Nov 2026 10:00:00 +0000\r\n"
    "Message-ID: <read-sync-1@example.org>\r\n\r\nHello from another client.\r\n";

static void test_append(void **state)
{
    (void)state;
    append("INBOX", NULL, msg_first);
    one_created(T_EMAIL, fx.email_id);
    one_created(T_THREAD, fx.thread_id);
    expect_changes(T_MAILBOX, &(struct expect){ .updated = { fx.inbox_id } });
    json_t *e = get_one("Email", fx.email_id, "[\"subject\", \"threadId\", \"mailboxIds\"]");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "subject")), "read-sync first");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "threadId")), fx.thread_id);
    H_ASSERT_INT_EQ((long long)json_object_size(json_object_get(e, "mailboxIds")), 1);
    json_decref(e);
    json_t *t = get_one("Thread", fx.thread_id, "null");
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(t, "emailIds")), 1);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(t, "emailIds"), 0)),
                    fx.email_id);
    json_decref(t);
    assert_agrees("INBOX", fx.inbox_id);
}

static void test_flag_change(void **state)
{
    (void)state;
    imap_ok("SELECT INBOX");
    imap_ok("SEARCH HEADER Message-ID <read-sync-1@example.org>");
    unsigned seq = 0;
    const char *s = strstr(harness_imap_last(fx.imap), "* SEARCH ");
    H_ASSERT(s != NULL && sscanf(s, "* SEARCH %u", &seq) == 1);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "STORE %u +FLAGS (\\Seen \\Flagged $Label1)", seq);
    imap_ok(cmd);
    imap_ok("CLOSE");
    expect_changes(T_EMAIL, &(struct expect){ .updated = { fx.email_id } });
    /* unreadEmails of the Inbox changed; thread membership did not */
    expect_changes(T_MAILBOX, &(struct expect){ .updated = { fx.inbox_id } });
    expect_changes(T_THREAD, NULL);
    json_t *e = get_one("Email", fx.email_id, "[\"keywords\"]");
    json_t *want = json_pack("{s:b, s:b, s:b}", "$seen", 1, "$flagged", 1, "$label1", 1);
    H_ASSERT_MSG(json_equal(json_object_get(e, "keywords"), want), "keywords differ");
    json_decref(want);
    json_decref(e);
    assert_agrees("INBOX", fx.inbox_id);
}

static void test_create_mailbox(void **state)
{
    (void)state;
    imap_ok("CREATE Projects");
    one_created(T_MAILBOX, fx.box_id);
    expect_changes(T_EMAIL, NULL);
    expect_changes(T_THREAD, NULL);
    json_t *m = get_one("Mailbox", fx.box_id, "[\"name\", \"parentId\", \"totalEmails\"]");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(m, "name")), "Projects");
    H_ASSERT(json_is_null(json_object_get(m, "parentId")));
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(m, "totalEmails")), 0);
    json_decref(m);
}

static void test_move(void **state)
{
    (void)state;
    imap_ok("SELECT INBOX");
    imap_ok("SEARCH HEADER Message-ID <read-sync-1@example.org>");
    unsigned seq = 0;
    const char *s = strstr(harness_imap_last(fx.imap), "* SEARCH ");
    H_ASSERT(s != NULL && sscanf(s, "* SEARCH %u", &seq) == 1);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "MOVE %u Projects", seq);
    imap_ok(cmd);
    imap_ok("CLOSE");
    /* The Email keeps its id (RFC 8621 §4: ids are immutable; Dovecot's
     * X-GUID follows MOVE) and only its mailboxIds change. */
    expect_changes(T_EMAIL, &(struct expect){ .updated = { fx.email_id } });
    expect_changes(T_MAILBOX, &(struct expect){ .updated = { fx.inbox_id, fx.box_id } });
    expect_changes(T_THREAD, NULL);
    json_t *e = get_one("Email", fx.email_id, "[\"mailboxIds\", \"threadId\"]");
    json_t *want = json_pack("{s:b}", fx.box_id, 1);
    H_ASSERT_MSG(json_equal(json_object_get(e, "mailboxIds"), want), "mailboxIds differ");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "threadId")), fx.thread_id);
    json_decref(want);
    json_decref(e);
    assert_agrees("INBOX", fx.inbox_id);
    assert_agrees("Projects", fx.box_id);
}

static void test_rename(void **state)
{
    (void)state;
    imap_ok("RENAME Projects Projects2");
    expect_changes(T_MAILBOX, &(struct expect){ .updated = { fx.box_id } });
    expect_changes(T_EMAIL, NULL);
    expect_changes(T_THREAD, NULL);
    json_t *m = get_one("Mailbox", fx.box_id, "[\"name\", \"totalEmails\"]");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(m, "name")), "Projects2");
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(m, "totalEmails")), 1);
    json_decref(m);
    assert_agrees("Projects2", fx.box_id);
}

static void test_expunge(void **state)
{
    (void)state;
    imap_ok("SELECT Projects2");
    imap_ok("STORE 1:* +FLAGS.SILENT (\\Deleted)");
    imap_ok("EXPUNGE");
    imap_ok("CLOSE");
    expect_changes(T_EMAIL, &(struct expect){ .destroyed = { fx.email_id } });
    expect_changes(T_THREAD, &(struct expect){ .destroyed = { fx.thread_id } });
    expect_changes(T_MAILBOX, &(struct expect){ .updated = { fx.box_id } });
    json_t *r = call("Email/get", "\"ids\": [\"%s\"], \"properties\": [\"id\"]", fx.email_id);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(r, "list")), 0);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(r, "notFound"), 0)),
                    fx.email_id);
    json_decref(r);
    assert_agrees("Projects2", fx.box_id);
}

static const char msg_lmtp[] =
    "From: Sender <sender@example.net>\r\nTo: demo@jmap-gateway.test\r\n"
    "Subject: read-sync via LMTP\r\nDate: Mon, 02 Nov 2026 11:00:00 +0000\r\n"
    "Message-ID: <read-sync-lmtp@example.net>\r\n\r\n.leading dot survives\r\n";

static void test_lmtp_delivery(void **state)
{
    (void)state;
    /* The gateway hears of a delivery from the server's NOTIFY. */
    struct harness_notify *notify =
        harness_notify_begin(demo_dovecot_imap_port(fx.dovecot), "demo", "demo");
    harness_lmtp_deliver(demo_dovecot_lmtp_port(fx.dovecot), "demo@jmap-gateway.test", msg_lmtp);
    harness_notify_wait(&notify);
    one_created(T_EMAIL, fx.lmtp_email);
    one_created(T_THREAD, fx.lmtp_thread);
    expect_changes(T_MAILBOX, &(struct expect){ .updated = { fx.inbox_id } });
    json_t *e = get_one("Email", fx.lmtp_email, "[\"subject\", \"threadId\", \"keywords\"]");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "subject")), "read-sync via LMTP");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "threadId")), fx.lmtp_thread);
    H_ASSERT_INT_EQ((long long)json_object_size(json_object_get(e, "keywords")), 0);
    json_decref(e);
    assert_agrees("INBOX", fx.inbox_id);
}

static const char msg_reply[] =
    "From: demo@jmap-gateway.test\r\nTo: Sender <sender@example.net>\r\n"
    "Subject: Re: read-sync via LMTP\r\nDate: Mon, 02 Nov 2026 12:00:00 +0000\r\n"
    "Message-ID: <read-sync-reply@example.org>\r\n"
    "In-Reply-To: <read-sync-lmtp@example.net>\r\n"
    "References: <read-sync-lmtp@example.net>\r\n\r\nA reply.\r\n";

/* A reply joins the thread of what it answers: the Thread is updated,
 * none created. */
static void test_reply_joins_thread(void **state)
{
    (void)state;
    char reply_id[64];
    append("INBOX", "\\Seen", msg_reply);
    one_created(T_EMAIL, reply_id);
    expect_changes(T_THREAD, &(struct expect){ .updated = { fx.lmtp_thread } });
    expect_changes(T_MAILBOX, &(struct expect){ .updated = { fx.inbox_id } });
    json_t *t = get_one("Thread", fx.lmtp_thread, "null");
    json_t *ids = json_object_get(t, "emailIds");
    H_ASSERT_INT_EQ((long long)json_array_size(ids), 2);
    /* oldest first (RFC 8621 §3); both arrived within the same second, so
     * either order is right */
    H_ASSERT(ids_equal(ids, (const char *const[]){ fx.lmtp_email, reply_id, NULL }));
    json_decref(t);
    assert_agrees("INBOX", fx.inbox_id);
}

static uint32_t uidvalidity_of(const char *name)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "STATUS \"%s\" (UIDVALIDITY)", name);
    imap_ok(cmd);
    const char *p = strstr(harness_imap_last(fx.imap), "UIDVALIDITY ");
    H_ASSERT(p != NULL);
    return (uint32_t)strtoul(p + 12, NULL, 10);
}

static const char msg_reset[] =
    "From: a@example.org\r\nTo: demo@jmap-gateway.test\r\nSubject: read-sync reset\r\n"
    "Message-ID: <read-sync-reset@example.org>\r\n\r\nBefore and after.\r\n";

/* Another client deletes and recreates a mailbox: same name, new
 * UIDVALIDITY. The Mailbox keeps its id (include/mail_store.h); the Emails
 * that were in it are gone and the new messages are new Emails. */
static void test_uidvalidity_reset(void **state)
{
    (void)state;
    char old_email[64], new_email[64];
    uint32_t before = uidvalidity_of("Projects2");
    append("Projects2", NULL, msg_reset);
    one_created(T_EMAIL, old_email);
    for (int t = 0; t < T_COUNT; t++)
        current_state(t, fx.state[t]);
    imap_ok("DELETE Projects2");
    imap_ok("CREATE Projects2");
    H_ASSERT_MSG(uidvalidity_of("Projects2") != before, "Dovecot reused the UIDVALIDITY");
    append("Projects2", NULL, msg_reset);
    expect_changes(T_MAILBOX, &(struct expect){ .updated = { fx.box_id } });
    json_t *r = call("Email/changes", "\"sinceState\": \"%s\"", fx.state[T_EMAIL]);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(r, "created")), 1);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(r, "updated")), 0);
    H_ASSERT(ids_equal(json_object_get(r, "destroyed"), (const char *const[]){ old_email, NULL }));
    snprintf(new_email, sizeof(new_email), "%s",
             json_string_value(json_array_get(json_object_get(r, "created"), 0)));
    strcpy(fx.state[T_EMAIL], json_string_value(json_object_get(r, "newState")));
    json_decref(r);
    H_ASSERT(strcmp(new_email, old_email) != 0);
    json_t *e = get_one("Email", new_email, "[\"mailboxIds\", \"subject\"]");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "subject")), "read-sync reset");
    H_ASSERT(json_is_true(json_object_get(json_object_get(e, "mailboxIds"), fx.box_id)));
    json_decref(e);
    current_state(T_THREAD, fx.state[T_THREAD]);
    assert_agrees("Projects2", fx.box_id);
}

static const char msg_restart[] =
    "From: a@example.org\r\nTo: demo@jmap-gateway.test\r\nSubject: read-sync restart\r\n"
    "Message-ID: <read-sync-restart@example.org>\r\n\r\nWhile the gateway was down.\r\n";

/* States survive a restart: /changes from a state handed out by the old
 * process report what happened in between, and nothing more. */
static void test_restart(void **state)
{
    (void)state;
    for (int t = 0; t < T_COUNT; t++)
        expect_changes(t, NULL);
    restart_gateway();
    for (int t = 0; t < T_COUNT; t++)
        expect_changes(t, NULL);
    H_ASSERT(harness_gateway_stop(fx.gw) == 0);
    append("INBOX", NULL, msg_restart);
    restart_gateway();
    char created[64], thread[64];
    one_created(T_EMAIL, created);
    one_created(T_THREAD, thread);
    expect_changes(T_MAILBOX, &(struct expect){ .updated = { fx.inbox_id } });
    json_t *e = get_one("Email", created, "[\"subject\", \"threadId\"]");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "subject")), "read-sync restart");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "threadId")), thread);
    json_decref(e);
    assert_agrees("INBOX", fx.inbox_id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_initial_view, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_append, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_flag_change, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_create_mailbox, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_move, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_rename, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_expunge, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_lmtp_delivery, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_reply_joins_thread, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_uidvalidity_reset, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_restart, harness_teardown_check_alive),
    };
    return cmocka_run_group_tests_name("read_sync_outside", tests, group_setup, group_teardown);
}
