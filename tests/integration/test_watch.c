/* test_watch.c - the change watcher path (backends/imap/imap_watch.c):
 * a request on a quiet, watched account sends no IMAP command at all, and
 * a change made by another client reaches the next request through the
 * server's NOTIFY announcement, inside the window in which the gateway
 * would otherwise trust its cache.
 *
 * A new account's watcher starts at its authentication and takes its own
 * LIST-STATUS once its NOTIFY is in force; the account's first sync and
 * the request after it use that listing instead of asking the server.
 *
 * The gateway talks to the private Dovecot through a counting proxy in
 * this process (plain IMAP on loopback so the proxy can read it): every
 * line the gateway sends is a command (or a literal line, which reads
 * never send), and a connection that sent NOTIFY is the watcher. */
#define _GNU_SOURCE 1
#include "harness.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "demo_dovecot.h"

#define PROXY_MAX_CONN 32

static struct {
    int listen_fd;
    uint16_t port, upstream;
    pthread_t acceptor;
    pthread_t pumps[PROXY_MAX_CONN];
    int n_pumps;
    atomic_bool stop;
    atomic_long lines;          /* lines the gateway sent, all connections */
    atomic_int notify_sets;     /* NOTIFY SET commands seen */
    atomic_long announced;      /* untagged lines sent to the watcher after its NOTIFY */
    atomic_int baselines;       /* the watcher's LIST commands the server completed */
    atomic_int other_lists;     /* LIST commands sent on the other connections */
    atomic_long selects;        /* SELECT, EXAMINE, UNSELECT and CLOSE sent */
} px;

static struct harness_mail_env fx;
static char inbox_id[64];
static long first_sync_selects;     /* px.selects after the account's first request */
static int first_sync_lists;        /* px.other_lists after it */
static bool watched_at_login;       /* NOTIFY sent before the first API request */

struct pump {
    int client, server;
};

/* What the proxy knows of one connection. */
struct conn_seen {
    bool watcher;           /* it sent NOTIFY SET */
    char list_tag[32];      /* the tag of the watcher's LIST, while it runs */
};

/* Copies what one side sent to the other; counts and inspects the
 * gateway's lines and what the server says to the watcher. */
static bool relay(int from, int to, bool from_gateway, struct conn_seen *cs, char *line,
                  size_t *len)
{
    char buf[16384];
    ssize_t n = read(from, buf, sizeof(buf));
    if (n <= 0 || harness_send_all(to, buf, (size_t)n) != 0)
        return false;
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] != '\n') {
            if (*len + 1 < 512)
                line[(*len)++] = buf[i];
            continue;
        }
        line[*len] = '\0';
        if (from_gateway) {
            atomic_fetch_add(&px.lines, 1);
            const char *verb = strchr(line, ' ');
            if (verb != NULL && (strncmp(verb, " SELECT ", 8) == 0 ||
                                 strncmp(verb, " EXAMINE ", 9) == 0 ||
                                 strncmp(verb, " UNSELECT", 9) == 0 ||
                                 strncmp(verb, " CLOSE", 6) == 0))
                atomic_fetch_add(&px.selects, 1);
            if (strstr(line, " NOTIFY SET ") != NULL) {
                cs->watcher = true;
                atomic_fetch_add(&px.notify_sets, 1);
            }
            bool list = verb != NULL && strncmp(verb, " LIST ", 6) == 0;
            if (list && !cs->watcher)
                atomic_fetch_add(&px.other_lists, 1);
            if (list && cs->watcher && (size_t)(verb - line) < sizeof(cs->list_tag) - 1)
                snprintf(cs->list_tag, sizeof(cs->list_tag), "%.*s ", (int)(verb - line), line);
        } else if (cs->watcher && strncmp(line, "* ", 2) == 0) {
            atomic_fetch_add(&px.announced, 1);
        } else if (cs->list_tag[0] != '\0' &&
                   strncmp(line, cs->list_tag, strlen(cs->list_tag)) == 0) {
            cs->list_tag[0] = '\0';
            atomic_fetch_add(&px.baselines, 1);
        }
        *len = 0;
    }
    return true;
}

static void *pump_main(void *arg)
{
    struct pump *p = arg;
    struct conn_seen cs = { 0 };
    char up[512], down[512];
    size_t up_len = 0, down_len = 0;
    while (!atomic_load(&px.stop)) {
        struct pollfd fds[2] = { { .fd = p->client, .events = POLLIN },
                                 { .fd = p->server, .events = POLLIN } };
        int r = poll(fds, 2, 100);
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;
        if (fds[0].revents != 0 && !relay(p->client, p->server, true, &cs, up, &up_len))
            break;
        if (fds[1].revents != 0 && !relay(p->server, p->client, false, &cs, down, &down_len))
            break;
    }
    close(p->client);
    close(p->server);
    free(p);
    return NULL;
}

static void *accept_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&px.stop)) {
        if (harness_fd_readable(px.listen_fd, 100) <= 0)
            continue;
        int c = accept(px.listen_fd, NULL, NULL);
        if (c < 0)
            continue;
        int s = harness_connect(px.upstream);
        struct pump *p = malloc(sizeof(*p));
        if (s < 0 || p == NULL || px.n_pumps >= PROXY_MAX_CONN) {
            close(c);
            if (s >= 0)
                close(s);
            free(p);
            continue;
        }
        *p = (struct pump){ .client = c, .server = s };
        if (pthread_create(&px.pumps[px.n_pumps], NULL, pump_main, p) == 0) {
            px.n_pumps++;
        } else {
            close(c);
            close(s);
            free(p);
        }
    }
    return NULL;
}

static int proxy_start(uint16_t upstream)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);
    px.upstream = upstream;
    px.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (px.listen_fd < 0 || bind(px.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(px.listen_fd, 16) != 0 || getsockname(px.listen_fd, (struct sockaddr *)&sa, &sl) != 0)
        return -1;
    px.port = ntohs(sa.sin_port);
    return pthread_create(&px.acceptor, NULL, accept_main, NULL) == 0 ? 0 : -1;
}

static void proxy_stop(void)
{
    atomic_store(&px.stop, true);
    pthread_join(px.acceptor, NULL);
    for (int i = 0; i < px.n_pumps; i++)
        pthread_join(px.pumps[i], NULL);
    close(px.listen_fd);
}

static int group_setup(void **state)
{
    (void)state;
    memset(&fx, 0, sizeof(fx));
    fx.dovecot = harness_dovecot_start(NULL, &fx.dovecot_dir);
    if (fx.dovecot == NULL || proxy_start(demo_dovecot_imap_port(fx.dovecot)) != 0)
        return -1;
    char port[16];
    snprintf(port, sizeof(port), "%u", px.port);
    /* Plain IMAP on loopback, so the proxy can read the commands. */
    /* A quiet cache trusted for a long time: only announcements can make
     * these requests sync. The first sync waits for the watcher's listing
     * however slow the machine. */
    const char *args[] = { "--imap-host", "127.0.0.1", "--imap-port", port, "--imap-tls", "none",
                           "--imap-watch-max-age", "60s", "--imap-watch-first-wait", "10s",
                           NULL };
    const char *env[] = { "JMAPGW_IMAP_WATCH=on", NULL };   /* test gateways default to off */
    struct harness_gateway_opts opts = { .args = args, .env = env };
    fx.gw = harness_gateway_start(&opts);
    if (fx.gw == NULL)
        return -1;
    json_t *s = harness_session_ok(fx.gw->port, "demo", "demo");
    const char *id = harness_session_account_id(s);
    fx.account_id = id != NULL ? strdup(id) : NULL;
    json_decref(s);
    if (fx.account_id == NULL)
        return -1;
    /* Only the session was asked for: the new account's watcher starts
     * at its authentication all the same. */
    int64_t deadline = harness_now_ms() + 10000;
    while (atomic_load(&px.notify_sets) == 0 && harness_now_ms() < deadline)
        usleep(10000);
    watched_at_login = atomic_load(&px.notify_sets) == 1;
    json_t *q = harness_mail_call(&fx, "Mailbox/query", "\"filter\": {\"role\": \"inbox\"}");
    first_sync_selects = atomic_load(&px.selects);
    first_sync_lists = atomic_load(&px.other_lists);
    const char *inbox = json_string_value(json_array_get(json_object_get(q, "ids"), 0));
    int rc = inbox != NULL && strlen(inbox) < sizeof(inbox_id) ? 0 : -1;
    if (rc == 0)
        strcpy(inbox_id, inbox);
    json_decref(q);
    return rc;
}

static int group_teardown(void **state)
{
    (void)state;
    int rc = harness_mail_env_stop(&fx);
    proxy_stop();
    return rc;
}

/* The inbox view of the benchmark in one request (Mailbox/query,
 * Email/query of INBOX, Email/get of the page): the number of Emails in
 * INBOX. */
static long inbox_total(void)
{
    char body[2048];
    int n = snprintf(body, sizeof(body),
                     "{\"using\": [\"urn:ietf:params:jmap:core\", \"urn:ietf:params:jmap:mail\"],"
                     " \"methodCalls\": ["
                     "[\"Mailbox/query\", {\"accountId\": \"%s\", \"filter\": {\"role\": \"inbox\"}}, \"a\"],"
                     "[\"Email/query\", {\"accountId\": \"%s\", \"calculateTotal\": true,"
                     " \"sort\": [{\"property\": \"receivedAt\", \"isAscending\": false}],"
                     " \"filter\": {\"inMailbox\": \"%s\"}, \"limit\": 50}, \"b\"],"
                     "[\"Email/get\", {\"accountId\": \"%s\", \"#ids\": {\"resultOf\": \"b\","
                     " \"name\": \"Email/query\", \"path\": \"/ids\"},"
                     " \"properties\": [\"id\", \"threadId\", \"mailboxIds\", \"keywords\","
                     " \"from\", \"subject\", \"receivedAt\", \"size\", \"preview\"]}, \"c\"]]}",
                     fx.account_id, fx.account_id, inbox_id, fx.account_id);
    H_ASSERT(n > 0 && (size_t)n < sizeof(body));
    json_t *r = harness_api_ok(fx.gw->port, "demo", "demo", body);
    json_t *calls = json_object_get(r, "methodResponses");
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_array_get(calls, 1), 0)), "Email/query");
    json_t *total = json_object_get(json_array_get(json_array_get(calls, 1), 1), "total");
    H_ASSERT(json_is_integer(total));
    long v = (long)json_integer_value(total);
    json_t *got = json_array_get(json_array_get(calls, 2), 1);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(got, "list")), v < 50 ? v : 50);
    json_decref(r);
    return v;
}

/* The watcher takes its own LIST-STATUS once its NOTIFY is in force:
 * with nothing announced since, that is what the server holds, so the
 * account's first requests sync from it and, once it is in, send
 * nothing. */
static void test_quiet_account_sends_nothing(void **state)
{
    (void)state;
    int64_t deadline = harness_now_ms() + 10000;
    while (atomic_load(&px.baselines) == 0 && harness_now_ms() < deadline)
        usleep(20000);
    H_ASSERT_INT_EQ(atomic_load(&px.notify_sets), 1);
    H_ASSERT_INT_EQ(atomic_load(&px.baselines), 1);
    usleep(100000);     /* the gateway reads the answer the proxy saw */
    long lines = atomic_load(&px.lines);
    long before_total = inbox_total();
    H_ASSERT(before_total > 0);
    for (int i = 0; i < 5; i++)
        H_ASSERT_INT_EQ(inbox_total(), before_total);
    H_ASSERT_INT_EQ(atomic_load(&px.lines), lines);
}

static void test_outside_append_announced(void **state)
{
    (void)state;
    static const char msg[] = "From: someone@example.net\r\nTo: demo@jmap-gateway.test\r\n"
                              "Subject: watcher test\r\n"
                              "Message-ID: <watcher-test@example.net>\r\n\r\nhello\r\n";
    long before_total = inbox_total();
    long lines;
    long announced = atomic_load(&px.announced);
    lines = atomic_load(&px.lines);
    struct harness_imap *c = harness_imap_login(demo_dovecot_imap_port(fx.dovecot), "demo", "demo");
    H_ASSERT(c != NULL);
    /* Returns once the server announced the APPEND (harness_notify.c). */
    H_ASSERT(harness_imap_append(c, "INBOX", NULL, msg, sizeof(msg) - 1, NULL) == 0);
    harness_imap_logout(&c);
    H_ASSERT(atomic_load(&px.announced) > announced);
    /* Well inside the 60 s a quiet cache is trusted: only the
     * announcement can make this request sync and see the new mail. */
    H_ASSERT_INT_EQ(inbox_total(), before_total + 1);
    H_ASSERT(atomic_load(&px.lines) > lines);
    /* Quiet again. */
    lines = atomic_load(&px.lines);
    H_ASSERT_INT_EQ(inbox_total(), before_total + 1);
    H_ASSERT_INT_EQ(atomic_load(&px.lines), lines);
}

/* open_message of the benchmark: one Email with its text body values. */
static void open_message(const char *id)
{
    char args[512];
    int n = snprintf(args, sizeof(args),
                     "\"ids\": [\"%s\"], \"fetchTextBodyValues\": true,"
                     " \"fetchHTMLBodyValues\": true", id);
    H_ASSERT(n > 0 && (size_t)n < sizeof(args));
    json_t *r = harness_mail_call(&fx, "Email/get", "%s", args);
    json_t *e = json_array_get(json_object_get(r, "list"), 0);
    H_ASSERT(json_object_size(json_object_get(e, "bodyValues")) > 0);
    json_decref(r);
}

/* Body fetches keep their connection's mailbox open: syncs run on a
 * connection of their own, so opening messages of one mailbox costs no
 * EXAMINE after the first, even across a sync. */
static void test_open_message_keeps_selection(void **state)
{
    (void)state;
    char args[256];
    snprintf(args, sizeof(args), "\"filter\": {\"inMailbox\": \"%s\"}, \"limit\": 2", inbox_id);
    json_t *q = harness_mail_call(&fx, "Email/query", "%s", args);
    char a[64], b[64];
    H_ASSERT(json_array_size(json_object_get(q, "ids")) == 2);
    snprintf(a, sizeof(a), "%s", json_string_value(json_array_get(json_object_get(q, "ids"), 0)));
    snprintf(b, sizeof(b), "%s", json_string_value(json_array_get(json_object_get(q, "ids"), 1)));
    json_decref(q);
    open_message(a);
    long selects = atomic_load(&px.selects);
    open_message(b);
    open_message(a);
    H_ASSERT_INT_EQ(atomic_load(&px.selects), selects);
    /* An outside change, and a request that syncs it. */
    const char *const cmds[] = { "CREATE Elsewhere", NULL };
    harness_imap_session(demo_dovecot_imap_port(fx.dovecot), "demo", "demo", "INBOX", NULL, 0,
                         cmds);
    long lines = atomic_load(&px.lines);
    selects = atomic_load(&px.selects);
    json_decref(harness_mail_call(&fx, "Mailbox/get", "\"ids\": null"));
    H_ASSERT(atomic_load(&px.lines) > lines);
    open_message(b);
    /* The sync may have closed its own mailbox; the body connection's
     * stays open. */
    long after_sync = atomic_load(&px.selects);
    open_message(a);
    H_ASSERT_INT_EQ(atomic_load(&px.selects), after_sync);
    H_ASSERT(after_sync - selects <= 2);
}

static void test_watcher_starts_at_login(void **state)
{
    (void)state;
    H_ASSERT(watched_at_login);
}

/* The account's first sync fetched the inbox's newest messages while
 * the watcher took its listing, and used that listing instead of a
 * LIST-STATUS of its own: the account's first request pays for one. */
static void test_first_sync_takes_watcher_listing(void **state)
{
    (void)state;
    H_ASSERT_INT_EQ(first_sync_lists, 0);
    H_ASSERT_INT_EQ(atomic_load(&px.baselines), 1);
    /* Every mailbox is known, with its counts (the inbox's the sync's). */
    json_t *got = harness_mail_call(&fx, "Mailbox/get", "\"ids\": null");
    json_t *list = json_object_get(got, "list"), *box;
    size_t i;
    bool inbox_seen = false;
    json_array_foreach(list, i, box) {
        const char *role = json_string_value(json_object_get(box, "role"));
        if (role != NULL && strcmp(role, "inbox") == 0) {
            inbox_seen = true;
            H_ASSERT(json_integer_value(json_object_get(box, "totalEmails")) > 0);
        }
    }
    H_ASSERT(inbox_seen && json_array_size(list) > 1);
    json_decref(got);
}

/* The first sync opens only mailboxes that hold messages: an empty one is
 * settled by its LIST-STATUS numbers alone. */
static void test_first_sync_skips_empty_mailboxes(void **state)
{
    (void)state;
    json_t *got = harness_mail_call(&fx, "Mailbox/get", "\"ids\": null");
    json_t *list = json_object_get(got, "list"), *box;
    size_t i;
    long holding = 0, empty = 0;
    json_array_foreach(list, i, box) {
        if (json_integer_value(json_object_get(box, "totalEmails")) > 0)
            holding++;
        else
            empty++;
    }
    json_decref(got);
    H_ASSERT(holding > 0 && empty > 0);     /* else this proves nothing */
    H_ASSERT_INT_EQ(first_sync_selects, holding);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* First: no request may come between the baseline and it. */
        cmocka_unit_test_teardown(test_quiet_account_sends_nothing, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_watcher_starts_at_login, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_first_sync_takes_watcher_listing,
                                  harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_first_sync_skips_empty_mailboxes,
                                  harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_outside_append_announced, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_open_message_keeps_selection,
                                  harness_teardown_check_alive),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
