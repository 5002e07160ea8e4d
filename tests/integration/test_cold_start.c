/* test_cold_start.c - the cold inbox page (include/mail_store.h, "Cold
 * start"): on an account of a few thousand messages whose cache is empty,
 * the first request gets the true newest page while the backfill is
 * provably still running (held by the JMAPGW_BACKFILL_HOLD hook, seen in
 * the gateway's store), so do the page of a small mailbox cached whole
 * and Mailbox/get (IMAP's counts for the inbox until its backfill is
 * done, then a Mailbox change), a whole-mailbox query waits for it, and
 * after it
 * Email/query, Email/changes, Thread/get and Mailbox counts equal those of
 * a gateway that synced everything at once (JMAPGW_COLD_START=0). A
 * gateway stopped mid-backfill, between two batches or between two
 * slices of one batch, restarts and completes it without duplicates or
 * gaps, keeping the ids it gave. A request made while a batch is half
 * written (held between two slices) is answered, its sync included,
 * while the backfill provably still waits. At every hold the Mailbox
 * counts equal a recount of what is cached. With the change watcher on,
 * the first sync takes the watcher's listing and gives the same. */
#define _GNU_SOURCE 1
#include "harness.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "demo_dovecot.h"

/* MAIL_BACKFILL_FIRST_BATCH: the newest INBOX messages a cold sync fetches. */
#define FIRST_BATCH 128
/* MAIL_BACKFILL_BATCH: what one backfill step adds. */
#define BACKFILL_BATCH 500
/* MAIL_BACKFILL_SLICE: what one transaction of a step adds. */
#define SLICE 32

#define N_MSGS 2500
#define PER_THREAD 4
#define APPEND_BATCH 100
#define USER "alice"
#define BOX "INBOX"     /* emptied of the demo mail first */

static struct harness_mail_env fx;      /* its gateway is the reference */
static char *hold_path;
static char *ref_account;

/* Message i arrived at minute (i * 7919) % N_MSGS after 2020-01-01: the
 * arrival order is not the uid order, and every date is distinct. */
static time_t arrival(size_t i)
{
    return (time_t)1577836800 + (time_t)((i * 7919u) % N_MSGS) * 60;
}

static char *message(size_t i, void *ctx, const char **flags, time_t *date)
{
    (void)ctx;
    char *m = NULL;
    size_t root = i - i % PER_THREAD;
    char refs[160] = "";
    if (i != root)
        H_ASSERT(snprintf(refs, sizeof(refs),
                          "References: <cold%zu@example.com> <cold%zu@example.com>\r\n"
                          "In-Reply-To: <cold%zu@example.com>\r\n",
                          root, i - 1, i - 1) < (int)sizeof(refs));
    H_ASSERT(asprintf(&m,
                      "From: Sender %zu <s%zu@example.com>\r\nTo: alice@example.com\r\n"
                      "Subject: Cold %zu\r\nMessage-ID: <cold%zu@example.com>\r\n%s"
                      "Date: Wed, 1 Jan 2020 00:00:00 +0000\r\n\r\nBody of %zu.\r\n",
                      i % 17, i % 17, i, i, refs, i) > 0);
    *flags = i % 3 == 0 ? "\\Seen" : "";
    *date = arrival(i);
    return m;
}

/* Mailbox Other starts with N_OTHER messages: small enough to be synced
 * whole, so it has no backfill of its own. Message i arrived on day i
 * of 2019. */
#define N_OTHER 3

static char *other_message(size_t i, void *ctx, const char **flags, time_t *date)
{
    (void)ctx;
    char *m = NULL;
    H_ASSERT(asprintf(&m,
                      "From: Other <other@example.com>\r\nSubject: Other %zu\r\n"
                      "Message-ID: <other%zu@example.com>\r\n\r\nFiled.\r\n",
                      i, i) > 0);
    *flags = "";
    *date = (time_t)1546300800 + (time_t)i * 86400;
    return m;
}

static void load_mailbox(void)
{
    struct harness_imap *c = harness_imap_login(demo_dovecot_imap_port(fx.dovecot), USER, USER);
    H_ASSERT(c != NULL);
    H_ASSERT(harness_imap_cmd(c, "CREATE Other") == 0);
    harness_imap_fill(c, "Other", N_OTHER, N_OTHER, other_message, NULL);
    H_ASSERT(harness_imap_cmd(c, "SELECT " BOX) == 0);
    if (harness_imap_cmd(c, "UID STORE 1:* +FLAGS.SILENT (\\Deleted)") == 0)
        H_ASSERT(harness_imap_cmd(c, "EXPUNGE") == 0);
    harness_imap_fill(c, BOX, N_MSGS, APPEND_BATCH, message, NULL);
    harness_imap_logout(&c);
}

static int group_setup(void **state)
{
    (void)state;
    harness_http_set_timeout(60);
    setenv("JMAPGW_COLD_START", "0", 1);    /* the reference syncs whole mailboxes */
    if (harness_mail_env_start(&fx) != 0)
        return -1;
    unsetenv("JMAPGW_COLD_START");
    load_mailbox();
    json_t *s = harness_session_ok(fx.gw->port, USER, USER);
    ref_account = strdup(harness_session_account_id(s));
    json_decref(s);
    char *dir = harness_mkdtemp("coldhold");
    H_ASSERT(dir != NULL && asprintf(&hold_path, "%s/hold", dir) > 0);
    free(dir);
    setenv("JMAPGW_BACKFILL_HOLD", hold_path, 1);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    char *dir = strdup(hold_path);
    *strrchr(dir, '/') = '\0';
    harness_rmtree(dir);
    free(dir);
    free(hold_path);
    free(ref_account);
    return harness_mail_env_stop(&fx);
}

static void hold(const char *batches)
{
    H_ASSERT(harness_write_file(hold_path, batches, strlen(batches)) == 0);
}

/* ---- JMAP ------------------------------------------------------------- */

static json_t *request(uint16_t port, const char *calls)
{
    char *body = NULL;
    H_ASSERT(asprintf(&body,
                      "{\"using\": [\"urn:ietf:params:jmap:core\", \"urn:ietf:params:jmap:mail\"],"
                      " \"methodCalls\": %s}",
                      calls) > 0);
    json_t *r = harness_api_ok(port, USER, USER, body);
    free(body);
    return r;
}

/* The arguments of response i, which must be named method. */
static json_t *response(json_t *r, size_t i, const char *method)
{
    json_t *c = json_array_get(json_object_get(r, "methodResponses"), i);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(c, 0)), method);
    return json_array_get(c, 1);
}

static json_t *call(uint16_t port, const char *method, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_t *call(uint16_t port, const char *method, const char *fmt, ...)
{
    char *args = NULL, *calls = NULL;
    va_list ap;
    va_start(ap, fmt);
    H_ASSERT(vasprintf(&args, fmt, ap) > 0);
    va_end(ap);
    H_ASSERT(asprintf(&calls, "[[\"%s\", %s, \"c\"]]", method, args) > 0);
    json_t *r = request(port, calls);
    json_t *out = json_incref(response(r, 0, method));
    json_decref(r);
    free(args);
    free(calls);
    return out;
}

static char *inbox_id(uint16_t port, const char *account)
{
    json_t *q = call(port, "Mailbox/query",
                     "{\"accountId\": \"%s\", \"filter\": {\"role\": \"inbox\"}}", account);
    char *id = strdup(json_string_value(json_array_get(json_object_get(q, "ids"), 0)));
    json_decref(q);
    return id;
}

/* Email/get of ids (chunked under maxObjectsInGet): messageId[0] and
 * threadId by Email id, in one object {id: [messageId, threadId]}. */
static json_t *facts(uint16_t port, const char *account, json_t *ids)
{
    json_t *out = json_object();
    for (size_t at = 0; at < json_array_size(ids); at += 200) {
        json_t *chunk = json_array();
        for (size_t i = at; i < at + 200 && i < json_array_size(ids); i++)
            json_array_append(chunk, json_array_get(ids, i));
        char *list = json_dumps(chunk, JSON_COMPACT);
        json_t *g = call(port, "Email/get",
                         "{\"accountId\": \"%s\", \"ids\": %s,"
                         " \"properties\": [\"messageId\", \"threadId\"]}",
                         account, list);
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(g, "list"), i, e)
            json_object_set_new(out, json_string_value(json_object_get(e, "id")),
                                json_pack("[OO]", json_array_get(json_object_get(e, "messageId"), 0),
                                          json_object_get(e, "threadId")));
        H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(g, "list")),
                        (long long)json_array_size(chunk));
        json_decref(g);
        free(list);
        json_decref(chunk);
    }
    return out;
}

/* What a client sees of the inbox, in gateway-independent terms: the
 * Message-IDs newest first, the threads as lists of Message-IDs (oldest
 * first, as Thread/get gives them, the lists sorted), and the counts. */
struct view {
    json_t *order, *threads, *counts;
};

static void view_clear(struct view *v)
{
    json_decref(v->order);
    json_decref(v->threads);
    json_decref(v->counts);
}

static struct view view_of(uint16_t port, const char *account)
{
    struct view v;
    char *inbox = inbox_id(port, account);
    json_t *q = call(port, "Email/query",
                     "{\"accountId\": \"%s\", \"filter\": {\"inMailbox\": \"%s\"},"
                     " \"sort\": [{\"property\": \"receivedAt\", \"isAscending\": false}],"
                     " \"calculateTotal\": true}",
                     account, inbox);
    json_t *ids = json_object_get(q, "ids");
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(q, "total")), (long long)json_array_size(ids));
    json_t *f = facts(port, account, ids);
    v.order = json_array();
    json_t *thread_ids = json_object();
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id) {
        json_t *fact = json_object_get(f, json_string_value(id));
        json_array_append(v.order, json_array_get(fact, 0));
        json_object_set(thread_ids, json_string_value(json_array_get(fact, 1)), json_true());
    }
    /* Thread/get in chunks; each thread's emails mapped to Message-IDs
     * (members outside the inbox looked up too). */
    json_t *all = json_array(), *strings = json_array(), *lists = json_array();
    json_t *missing = json_array();
    const char *tid;
    json_t *unused;
    json_object_foreach(thread_ids, tid, unused)
        json_array_append_new(all, json_string(tid));
    for (size_t at = 0; at < json_array_size(all); at += 200) {
        json_t *chunk = json_array();
        for (size_t k = at; k < at + 200 && k < json_array_size(all); k++)
            json_array_append(chunk, json_array_get(all, k));
        char *list = json_dumps(chunk, JSON_COMPACT);
        json_t *t = call(port, "Thread/get", "{\"accountId\": \"%s\", \"ids\": %s}", account, list);
        H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(t, "list")),
                        (long long)json_array_size(chunk));
        json_t *th;
        json_array_foreach(json_object_get(t, "list"), i, th) {
            size_t k;
            json_t *eid;
            json_array_append(lists, json_object_get(th, "emailIds"));
            json_array_foreach(json_object_get(th, "emailIds"), k, eid)
                if (json_object_get(f, json_string_value(eid)) == NULL)
                    json_array_append(missing, eid);
        }
        json_decref(t);
        free(list);
        json_decref(chunk);
    }
    json_t *more = facts(port, account, missing);
    json_object_update(f, more);
    json_decref(more);
    json_decref(missing);
    json_t *members;
    json_array_foreach(lists, i, members) {
        json_t *mids = json_array();
        size_t k;
        json_t *eid;
        json_array_foreach(members, k, eid)
            json_array_append(mids, json_array_get(json_object_get(f, json_string_value(eid)), 0));
        char *s = json_dumps(mids, JSON_COMPACT);
        json_array_append_new(strings, json_string(s));
        free(s);
        json_decref(mids);
    }
    json_decref(lists);
    /* A canonical order for the partition. */
    size_t n = json_array_size(strings);
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0 && strcmp(json_string_value(json_array_get(strings, b - 1)),
                                           json_string_value(json_array_get(strings, b))) > 0;
             b--) {
            json_t *x = json_incref(json_array_get(strings, b - 1));
            json_array_set(strings, b - 1, json_array_get(strings, b));
            json_array_set_new(strings, b, x);
        }
    v.threads = strings;
    json_t *m = call(port, "Mailbox/get",
                     "{\"accountId\": \"%s\", \"ids\": [\"%s\"], \"properties\":"
                     " [\"totalEmails\", \"unreadEmails\", \"totalThreads\", \"unreadThreads\"]}",
                     account, inbox);
    v.counts = json_incref(json_array_get(json_object_get(m, "list"), 0));
    json_object_del(v.counts, "id");
    json_decref(m);
    json_decref(all);
    json_decref(thread_ids);
    json_decref(f);
    json_decref(q);
    free(inbox);
    return v;
}

static void assert_same_view(const struct view *got, const struct view *want)
{
    H_ASSERT_INT_EQ((long long)json_array_size(got->order), (long long)json_array_size(want->order));
    H_ASSERT_MSG(json_equal(got->order, want->order), "Email/query order differs");
    H_ASSERT_INT_EQ((long long)json_array_size(got->threads),
                    (long long)json_array_size(want->threads));
    H_ASSERT_MSG(json_equal(got->threads, want->threads), "thread partition differs");
    char *a = json_dumps(got->counts, JSON_SORT_KEYS), *b = json_dumps(want->counts, JSON_SORT_KEYS);
    H_ASSERT_STR_EQ(a, b);
    free(a);
    free(b);
}

/* ---- The gateway's store, read beside it (WAL allows it) ------------- */

static long long db_count(const struct harness_gateway *gw, const char *sql)
{
    char *path = NULL;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long n = -1;
    H_ASSERT(asprintf(&path, "%s/gateway.db", gw->state_dir) > 0);
    H_ASSERT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    H_ASSERT(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(path);
    return n;
}

static const char *const sql_cached =
    "SELECT count(*) FROM email_locations l JOIN mailboxes m ON m.mailbox_id = l.mailbox_id"
    " WHERE m.name_raw = '" BOX "'";
static const char *const sql_rows = "SELECT count(*) FROM mail_backfill";
/* The backfill's mark: how many uids at or above todo_below are missing
 * from the cache (the INBOX's uids are contiguous, the highest cached). */
static const char *const sql_gaps_above_mark =
    "SELECT max(l.uid) - b.todo_below + 1 - count(*) FROM mail_backfill b"
    " JOIN email_locations l ON l.account_id = b.account_id AND l.mailbox_id = b.mailbox_id"
    " AND l.uid >= b.todo_below";
/* Mailboxes whose stored counts differ from a recount of the cache by
 * the rules of RFC 8621 §2 (unread: neither $seen nor $draft; a thread is
 * unread when any of its Emails is). */
#define UNREAD(e) "instr(" e ".keywords, ' $seen ') = 0 AND instr(" e ".keywords, ' $draft ') = 0"
#define IN_BOX                                                                                 \
    " FROM email_locations l JOIN emails e ON e.account_id = l.account_id"                    \
    " AND e.email_id = l.email_id WHERE l.account_id = m.account_id AND l.mailbox_id = m.mailbox_id"
static const char *const sql_miscounted =
    "SELECT count(*) FROM mailboxes m WHERE m.destroyed_modseq IS NULL"
    " AND (m.jmap_total, m.jmap_unread, m.total_threads, m.unread_threads) IS NOT ("
    " (SELECT count(*)" IN_BOX "),"
    " (SELECT count(*)" IN_BOX " AND " UNREAD("e") "),"
    " (SELECT count(DISTINCT e.thread_id)" IN_BOX "),"
    " (SELECT count(DISTINCT e.thread_id)" IN_BOX " AND EXISTS (SELECT 1 FROM emails u"
    "   WHERE u.account_id = e.account_id AND u.thread_id = e.thread_id"
    "   AND u.destroyed_modseq IS NULL AND " UNREAD("u") ")))";

static const char *const sql_other_unread_threads =
    "SELECT unread_threads FROM mailboxes WHERE name_raw = 'Other'";

/* Waits (bounded) until the INBOX holds n cached messages, then checks
 * the worker stays there (it is held) with its mark and counts right. */
static void wait_held_at(const struct harness_gateway *gw, long long n)
{
    for (int64_t end = harness_now_ms() + 60000;
         db_count(gw, sql_cached) < n && harness_now_ms() < end;)
        usleep(50 * 1000);
    usleep(200 * 1000);
    H_ASSERT_INT_EQ(db_count(gw, sql_cached), n);
    H_ASSERT_INT_EQ(db_count(gw, sql_rows), 1);
    H_ASSERT_INT_EQ(db_count(gw, sql_gaps_above_mark), 0);
    H_ASSERT_INT_EQ(db_count(gw, sql_miscounted), 0);
}

/* The expected newest page: the generated messages by arrival, newest
 * first. */
static json_t *expected_page(size_t limit)
{
    json_t *v = json_array();
    for (size_t minute = N_MSGS; minute-- > 0 && json_array_size(v) < limit;)
        for (size_t i = 0; i < N_MSGS; i++)
            if ((i * 7919u) % N_MSGS == minute) {
                char mid[48];
                snprintf(mid, sizeof(mid), "cold%zu@example.com", i);
                json_array_append_new(v, json_string(mid));
                break;
            }
    return v;
}

/* Email/query of mailbox's newest `limit`, with its total, and Email/get
 * #ids of properties (a JSON list): the whole response. */
static json_t *newest_page(uint16_t port, const char *account, const char *mailbox, int limit,
                           const char *properties)
{
    char *calls = NULL;
    H_ASSERT(asprintf(&calls,
                      "[[\"Email/query\", {\"accountId\": \"%s\", \"filter\": {\"inMailbox\":"
                      " \"%s\"}, \"sort\": [{\"property\": \"receivedAt\", \"isAscending\": false}],"
                      " \"limit\": %d, \"calculateTotal\": true}, \"q\"],"
                      " [\"Email/get\", {\"accountId\": \"%s\", \"#ids\": {\"resultOf\": \"q\","
                      " \"name\": \"Email/query\", \"path\": \"/ids\"}, \"properties\": %s}, \"g\"]]",
                      account, mailbox, limit, account, properties) > 0);
    json_t *r = request(port, calls);
    free(calls);
    return r;
}

/* The cold inbox page: Mailbox/query, then Email/query + Email/get #ids.
 * Returns the Email/get list; *state gets the Email state, *total the
 * query's total. */
static json_t *inbox_page(uint16_t port, const char *account, char **state, long long *total)
{
    char *inbox = inbox_id(port, account);
    json_t *r = newest_page(port, account, inbox, 50,
                            "[\"messageId\", \"threadId\", \"receivedAt\", \"keywords\"]");
    json_t *q = response(r, 0, "Email/query");
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(q, "position")), 0);
    *total = json_integer_value(json_object_get(q, "total"));
    json_t *g = response(r, 1, "Email/get");
    *state = strdup(json_string_value(json_object_get(g, "state")));
    json_t *list = json_incref(json_object_get(g, "list"));
    json_decref(r);
    free(inbox);
    return list;
}

static void assert_page(json_t *list)
{
    json_t *want = expected_page(50);
    H_ASSERT_INT_EQ((long long)json_array_size(list), 50);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
        H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(e, "messageId"), 0)),
                        json_string_value(json_array_get(want, i)));
    json_decref(want);
}

/* The reference view, computed once. */
static struct view reference;

static const struct view *reference_view(void)
{
    if (reference.order == NULL)
        reference = view_of(fx.gw->port, ref_account);
    return &reference;
}

static char *account_of(const struct harness_gateway *gw)
{
    json_t *s = harness_session_ok(gw->port, USER, USER);
    char *id = strdup(harness_session_account_id(s));
    json_decref(s);
    return id;
}

/* Email/changes since state: exactly `created` new Emails (mail that
 * really arrived since), never a backfilled one: the backfill created
 * nothing a client at that state did not already have. */
static void assert_changes(uint16_t port, const char *account, const char *state,
                           size_t created)
{
    json_t *c = call(port, "Email/changes", "{\"accountId\": \"%s\", \"sinceState\": \"%s\"}",
                     account, state);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(c, "created")), (long long)created);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(c, "updated")), 0);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(c, "destroyed")), 0);
    if (created == 0)
        H_ASSERT_STR_EQ(json_string_value(json_object_get(c, "newState")), state);
    json_decref(c);
}

/* Thread ids given with the early page never change. */
static void assert_same_threads(uint16_t port, const char *account, json_t *page)
{
    json_t *ids = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(page, i, e)
        json_array_append(ids, json_object_get(e, "id"));
    json_t *f = facts(port, account, ids);
    json_array_foreach(page, i, e) {
        json_t *fact = json_object_get(f, json_string_value(json_object_get(e, "id")));
        H_ASSERT_STR_EQ(json_string_value(json_array_get(fact, 1)),
                        json_string_value(json_object_get(e, "threadId")));
    }
    json_decref(f);
    json_decref(ids);
}

/* The newest page of Other (limit 2 of its N_OTHER) by Message-ID, with
 * its total. */
static void assert_other_page(uint16_t port, const char *account)
{
    json_t *mq = call(port, "Mailbox/query",
                      "{\"accountId\": \"%s\", \"filter\": {\"name\": \"Other\"}}", account);
    const char *other = json_string_value(json_array_get(json_object_get(mq, "ids"), 0));
    H_ASSERT(other != NULL);
    json_t *r = newest_page(port, account, other, 2, "[\"messageId\"]");
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(response(r, 0, "Email/query"), "total")),
                    N_OTHER);
    json_t *list = json_object_get(response(r, 1, "Email/get"), "list");
    H_ASSERT_INT_EQ((long long)json_array_size(list), 2);
    for (size_t i = 0; i < 2; i++) {
        char want[48];
        snprintf(want, sizeof(want), "other%zu@example.com", N_OTHER - 1 - i);
        H_ASSERT_STR_EQ(json_string_value(json_array_get(
                            json_object_get(json_array_get(list, i), "messageId"), 0)),
                        want);
    }
    json_decref(r);
    json_decref(mq);
}

/* Mailbox/get while the inbox is backfilled: IMAP's numbers for it
 * (every message, the unseen ones; the thread counts too), the cache's
 * for Other, cached whole. Returns the Mailbox state. */
static char *early_mailboxes(uint16_t port, const char *account, const char *inbox)
{
    json_t *g = call(port, "Mailbox/get",
                     "{\"accountId\": \"%s\", \"ids\": null, \"properties\": [\"name\","
                     " \"totalEmails\", \"unreadEmails\", \"totalThreads\", \"unreadThreads\"]}",
                     account);
    long long unseen = N_MSGS - (N_MSGS + 2) / 3;   /* message i is \Seen when i % 3 == 0 */
    size_t i, seen = 0;
    json_t *x;
    json_array_foreach(json_object_get(g, "list"), i, x) {
        bool is_inbox = strcmp(json_string_value(json_object_get(x, "id")), inbox) == 0;
        bool is_other = strcmp(json_string_value(json_object_get(x, "name")), "Other") == 0;
        if (!is_inbox && !is_other)
            continue;
        seen++;
        long long total = is_inbox ? N_MSGS : N_OTHER, unread = is_inbox ? unseen : N_OTHER;
        H_ASSERT_INT_EQ(json_integer_value(json_object_get(x, "totalEmails")), total);
        H_ASSERT_INT_EQ(json_integer_value(json_object_get(x, "unreadEmails")), unread);
        H_ASSERT_INT_EQ(json_integer_value(json_object_get(x, "totalThreads")), total);
        H_ASSERT_INT_EQ(json_integer_value(json_object_get(x, "unreadThreads")), unread);
    }
    H_ASSERT_INT_EQ((long long)seen, 2);
    char *mstate = strdup(json_string_value(json_object_get(g, "state")));
    json_decref(g);
    return mstate;
}

/* Mailbox/changes since the state of early_mailboxes(): the inbox is
 * reported updated once its backfill is done (its counts are the
 * cache's now). */
static void assert_inbox_updated(uint16_t port, const char *account, const char *inbox,
                                 const char *mstate)
{
    json_t *c = call(port, "Mailbox/changes", "{\"accountId\": \"%s\", \"sinceState\": \"%s\"}",
                     account, mstate);
    H_ASSERT_MSG(strcmp(json_string_value(json_object_get(c, "newState")), mstate) != 0,
                 "the Mailbox state did not move");
    bool found = false;
    size_t i;
    json_t *id;
    json_array_foreach(json_object_get(c, "updated"), i, id)
        found |= strcmp(json_string_value(id), inbox) == 0;
    H_ASSERT_MSG(found, "the inbox is not reported updated after its backfill");
    json_decref(c);
}

/* A cold gateway: fresh state, made the current one, and the first
 * inbox page of the account on it. */
struct cold {
    struct harness_gateway *gw;
    char *account, *state;
    long long total;
    json_t *page;
};

/* extra: options for the gateway (NULL-terminated, may be NULL). */
static void cold_open(const char *const *extra, struct cold *c)
{
    memset(c, 0, sizeof(*c));
    c->gw = harness_gateway_for_dovecot(fx.dovecot, "starttls", true, extra);
    H_ASSERT(c->gw != NULL);
    harness_set_current_gateway(c->gw);
    c->account = account_of(c->gw);
    c->page = inbox_page(c->gw->port, c->account, &c->state, &c->total);
}

/* Stops the gateway and frees c; fx's gateway is current again. */
static void cold_close(struct cold *c)
{
    json_decref(c->page);
    free(c->state);
    free(c->account);
    H_ASSERT(harness_gateway_stop(c->gw) == 0);
    harness_gateway_free(&c->gw);
    harness_set_current_gateway(fx.gw);
}

/* With the change watcher on, the first sync fetches the inbox's first
 * batch before any listing and then takes the watcher's (waited for
 * however slow the machine): the same early page and small mailbox, and
 * once the backfill is done the same view as a whole sync. */
static void test_cold_page_with_watcher(void **state)
{
    (void)state;
    const struct view *ref = reference_view();
    hold("0");
    const char *const extra[] = { "--imap-watch", "--imap-watch-first-wait", "10s", NULL };
    struct cold c;
    cold_open(extra, &c);
    H_ASSERT_INT_EQ(db_count(c.gw, sql_cached), FIRST_BATCH);
    H_ASSERT_INT_EQ(db_count(c.gw, sql_rows), 1);
    assert_page(c.page);
    H_ASSERT_INT_EQ(c.total, (long long)json_array_size(ref->order));
    assert_other_page(c.gw->port, c.account);

    hold("1000000");
    struct view v = view_of(c.gw->port, c.account);
    assert_same_view(&v, ref);
    H_ASSERT_INT_EQ(db_count(c.gw, sql_rows), 0);
    view_clear(&v);
    cold_close(&c);
}

static void test_cold_page_before_backfill(void **state)
{
    (void)state;
    const struct view *ref = reference_view();
    hold("0");      /* the worker writes no batch until told */
    struct cold c;
    cold_open(NULL, &c);
    struct harness_gateway *gw = c.gw;
    const char *account = c.account, *st = c.state;
    long long total = c.total;
    json_t *page = c.page;

    /* Answered while the store holds only the first batch. */
    long long cached = db_count(gw, sql_cached);
    H_ASSERT_INT_EQ(cached, FIRST_BATCH);   /* nothing more */
    H_ASSERT_INT_EQ(db_count(gw, sql_rows), 1);
    assert_page(page);
    H_ASSERT_INT_EQ(total, (long long)json_array_size(ref->order));

    /* A mailbox cached whole answers its newest page too, total and
     * all, while the backfill still waits. */
    assert_other_page(gw->port, account);
    char *inbox = inbox_id(gw->port, account);
    char *mstate = early_mailboxes(gw->port, account, inbox);
    H_ASSERT_INT_EQ(db_count(gw, sql_cached), cached);
    H_ASSERT_INT_EQ(db_count(gw, sql_rows), 1);

    /* Mail that really arrives during the backfill is news. */
    static const char *const fresh[] = {
        "From: New <new@example.com>\r\nSubject: during the backfill\r\n"
        "Message-ID: <new@example.com>\r\n\r\nHello.\r\n",
    };
    harness_imap_session(demo_dovecot_imap_port(fx.dovecot), USER, USER, "Other", fresh, 1, NULL);

    /* A query needing the whole mailbox waits for the backfill. */
    char *body = NULL, *req = NULL;
    char *auth = harness_basic_auth(USER, USER);
    H_ASSERT(asprintf(&body,
                      "{\"using\": [\"urn:ietf:params:jmap:core\", \"urn:ietf:params:jmap:mail\"],"
                      " \"methodCalls\": [[\"Email/query\", {\"accountId\": \"%s\", \"filter\":"
                      " {\"inMailbox\": \"%s\"}, \"calculateTotal\": true}, \"q\"]]}",
                      account, inbox) > 0);
    H_ASSERT(asprintf(&req,
                      "POST /jmap/api HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n%s",
                      auth, strlen(body), body) > 0);
    int fd = harness_connect(gw->port);
    H_ASSERT(fd >= 0);
    int64_t t0 = harness_now_ms();
    H_ASSERT(harness_send_all(fd, req, strlen(req)) == 0);
    H_ASSERT_MSG(harness_fd_readable(fd, 700) == 0, "a whole-mailbox query did not wait");
    H_ASSERT_INT_EQ(db_count(gw, sql_cached), cached);
    hold("1000000");
    struct harness_response resp;
    H_ASSERT(harness_http_read_response(fd, t0, &resp) == 0);
    close(fd);
    H_ASSERT_STATUS(&resp, 200);
    json_t *full = harness_response_json(&resp);
    json_t *q = json_array_get(json_array_get(json_object_get(full, "methodResponses"), 0), 1);
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(q, "total")),
                    (long long)json_array_size(ref->order));
    H_ASSERT_INT_EQ(db_count(gw, sql_rows), 0);

    /* After it: nothing reported as created since the early state, the
     * early thread ids kept, and every answer as a whole sync gives. */
    assert_changes(gw->port, account, st, 1);
    assert_same_threads(gw->port, account, page);
    assert_inbox_updated(gw->port, account, inbox, mstate);
    struct view v = view_of(gw->port, account);
    assert_same_view(&v, ref);
    view_clear(&v);
    free(mstate);

    json_decref(full);
    harness_response_free(&resp);
    free(req);
    free(body);
    free(auth);
    free(inbox);
    cold_close(&c);
}

/* A gateway stopped while held at point (mail_store.h's hook) with cached
 * INBOX messages restarts and completes the backfill: the same page and
 * ids, no duplicate, nothing missing, nothing reported as created since
 * the early state. */
static void restart_held_at(const char *point, long long cached)
{
    const struct view *ref = reference_view();
    hold(point);
    struct harness_gateway *gw = harness_gateway_for_dovecot(fx.dovecot, "starttls", true, NULL);
    H_ASSERT(gw != NULL);
    harness_set_current_gateway(gw);
    char *account = account_of(gw), *st = NULL;
    long long total = 0;
    json_t *page = inbox_page(gw->port, account, &st, &total);
    assert_page(page);
    wait_held_at(gw, cached);

    /* Stopped while held mid-backfill: a clean shutdown. */
    H_ASSERT(harness_gateway_stop(gw) == 0);
    unlink(hold_path);
    struct harness_gateway *gw2 =
        harness_gateway_for_dovecot_in(fx.dovecot, "starttls", true, NULL, gw->state_dir);
    H_ASSERT(gw2 != NULL);
    harness_set_current_gateway(gw2);

    /* The same page, the same ids, and the backfill completes. */
    char *st2 = NULL;
    json_t *page2 = inbox_page(gw2->port, account, &st2, &total);
    H_ASSERT(json_equal(page, page2));
    struct view v = view_of(gw2->port, account);
    assert_same_view(&v, ref);
    view_clear(&v);
    H_ASSERT_INT_EQ(db_count(gw2, sql_rows), 0);
    H_ASSERT_INT_EQ(db_count(gw2, sql_cached), (long long)json_array_size(ref->order));
    H_ASSERT_INT_EQ(db_count(gw2, "SELECT count(*) FROM (SELECT 1 FROM emails"
                                  " WHERE destroyed_modseq IS NULL AND message_id IS NOT NULL"
                                  " GROUP BY message_id HAVING count(*) > 1)"),
                    0);
    H_ASSERT_INT_EQ(db_count(gw2, "SELECT count(*) FROM (SELECT 1 FROM email_locations"
                                  " GROUP BY mailbox_id, uid HAVING count(*) > 1)"),
                    0);
    H_ASSERT_INT_EQ(db_count(gw2, sql_miscounted), 0);
    assert_changes(gw2->port, account, st, 0);
    assert_same_threads(gw2->port, account, page);

    json_decref(page);
    json_decref(page2);
    free(st);
    free(st2);
    free(account);
    H_ASSERT(harness_gateway_stop(gw2) == 0);
    harness_gateway_free(&gw2);
    harness_gateway_free(&gw);
    harness_set_current_gateway(fx.gw);
}

static void test_restart_mid_backfill(void **state)
{
    (void)state;
    restart_held_at("1", FIRST_BATCH + BACKFILL_BATCH);     /* after one whole batch */
}

static void test_restart_between_slices(void **state)
{
    (void)state;
    restart_held_at("0 3", FIRST_BATCH + 3 * SLICE);    /* three slices into the first */
}

static bool in_first_batch(size_t i)
{
    return (i * 7919u) % N_MSGS >= N_MSGS - FIRST_BATCH;
}

/* Message i of the corpus in a thread whose messages in the first batch
 * are all \Seen (i one of them) and which has an unread message the
 * backfill adds late (a low uid): a \Seen reply to i in another mailbox
 * shares a thread that turns unread during the backfill. */
static size_t seen_with_unread_mate(void)
{
    for (size_t root = 0; root < N_MSGS; root += PER_THREAD) {
        size_t seen = N_MSGS, unread_later = 0, unread_first = 0;
        for (size_t j = root; j < root + PER_THREAD && j < N_MSGS; j++) {
            if (in_first_batch(j) && j % 3 == 0)
                seen = j;
            unread_first += in_first_batch(j) && j % 3 != 0;
            unread_later += !in_first_batch(j) && j % 3 != 0;
        }
        if (seen < N_MSGS && unread_first == 0 && unread_later > 0)
            return seen;
    }
    H_ASSERT_MSG(false, "the corpus has no such thread");
    return 0;
}

static void test_request_during_batch(void **state)
{
    (void)state;
    const struct view *ref = reference_view();
    hold("0 2");    /* two slices into the first batch, then wait */
    struct cold cs;
    cold_open(NULL, &cs);
    struct harness_gateway *gw = cs.gw;
    const char *account = cs.account, *st = cs.state;
    char *st2 = NULL;
    long long total = cs.total;
    json_t *page = cs.page;
    wait_held_at(gw, FIRST_BATCH + 2 * SLICE);

    /* Mail arrives in another mailbox while the batch is half written: a
     * new message and a \Seen reply joining a read thread of the inbox. */
    size_t mate = seen_with_unread_mate();
    char *reply = NULL;
    H_ASSERT(asprintf(&reply,
                      "From: New <new@example.com>\r\nSubject: Re: Cold %zu\r\n"
                      "Message-ID: <reply%zu@example.com>\r\n"
                      "References: <cold%zu@example.com>\r\n\r\nAgreed.\r\n",
                      mate, mate, mate) > 0);
    struct harness_imap *c = harness_imap_login(demo_dovecot_imap_port(fx.dovecot), USER, USER);
    H_ASSERT(c != NULL);
    static const char fresh[] = "From: New <new@example.com>\r\nSubject: mid-batch\r\n"
                                "Message-ID: <midbatch@example.com>\r\n\r\nHello.\r\n";
    H_ASSERT(harness_imap_append(c, "Other", NULL, fresh, strlen(fresh), NULL) == 0);
    H_ASSERT(harness_imap_append(c, "Other", "\\Seen", reply, strlen(reply), NULL) == 0);
    harness_imap_logout(&c);

    /* The request, its sync writing both, is answered while the worker
     * still waits between the two slices. */
    json_t *page2 = inbox_page(gw->port, account, &st2, &total);
    H_ASSERT(json_equal(page, page2));
    H_ASSERT_MSG(strcmp(st, st2) != 0, "the request's sync wrote nothing");
    H_ASSERT_INT_EQ(db_count(gw, "SELECT count(*) FROM emails WHERE destroyed_modseq IS NULL"
                                 " AND (message_id = 'midbatch@example.com'"
                                 " OR message_id LIKE 'reply%@example.com')"),
                    2);
    wait_held_at(gw, FIRST_BATCH + 2 * SLICE);
    long long other_unread = db_count(gw, sql_other_unread_threads);

    /* Then the backfill completes: the inbox as a whole sync gives it, the
     * two new Emails the only news, and every count (the other mailbox's
     * unread thread included) as a recount gives it. */
    hold("1000000");
    struct view v = view_of(gw->port, account);
    H_ASSERT(json_equal(v.order, ref->order));
    H_ASSERT(json_equal(v.counts, ref->counts));
    view_clear(&v);
    H_ASSERT_INT_EQ(db_count(gw, sql_rows), 0);
    H_ASSERT_INT_EQ(db_count(gw, sql_miscounted), 0);
    H_ASSERT_INT_EQ(db_count(gw, sql_other_unread_threads), other_unread + 1);
    assert_changes(gw->port, account, st, 2);

    json_decref(page2);
    free(reply);
    free(st2);
    cold_close(&cs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* First: the others add mail the reference view does not hold. */
        cmocka_unit_test(test_cold_page_with_watcher),
        cmocka_unit_test(test_cold_page_before_backfill),
        cmocka_unit_test(test_restart_mid_backfill),
        cmocka_unit_test(test_restart_between_slices),
        cmocka_unit_test(test_request_during_batch),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    view_clear(&reference);
    return rc;
}
