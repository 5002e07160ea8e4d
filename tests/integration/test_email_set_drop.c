/* test_email_set_drop.c - Email/set moves whose IMAP connection drops half
 * way, through the whole gateway. Between the gateway and a private
 * Dovecot sits a relay (forked here) that, while a trigger file names a
 * command word, passes the first command containing it on to Dovecot and
 * then cuts the connection before the answer comes back: the write may
 * have happened, the gateway cannot know. The client must get a SetError
 * saying so (never "updated"), and Email/get afterwards must show where
 * the message really is, over plain IMAP, with nothing lost. */
#define _GNU_SOURCE 1
#include "harness_set.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/dovecot_test.h"

#define RELAY_LIFETIME_S 120

static const char msg[] = "From: a@example.org\r\nSubject: moved while cut\r\n"
                          "Message-ID: <cut@drop.example>\r\n\r\nbody\r\n";

static struct {
    char *root;
    char trigger[256];
    struct dovecot d;
    pid_t relay;
    uint16_t relay_port;
    struct hs_direct gw;
    struct harness_imap *imap;
} fx;

#define jcall(...) hs_direct_call(&fx.gw, __VA_ARGS__)

static int listen_on(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* Whether this client chunk holds the armed word; disarms it (the unlink
 * succeeds for one connection only). */
static bool triggered(const char *buf, size_t n)
{
    char word[64] = "";
    FILE *f = fopen(fx.trigger, "r");
    if (f == NULL)
        return false;
    bool got = fgets(word, sizeof(word), f) != NULL;
    fclose(f);
    word[strcspn(word, "\r\n")] = '\0';
    if (!got || word[0] == '\0' || memmem(buf, n, word, strlen(word)) == NULL)
        return false;
    return unlink(fx.trigger) == 0;
}

/* One relayed connection; returns when either side closes or the trigger
 * fires (the command passed on, the answer never relayed). */
static void relay_one(int client)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(fx.d.imap_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (server < 0 || connect(server, (struct sockaddr *)&a, sizeof(a)) != 0)
        return;
    char buf[16384];
    for (;;) {
        struct pollfd p[2] = { { .fd = client, .events = POLLIN }, { .fd = server, .events = POLLIN } };
        if (poll(p, 2, 30000) <= 0)
            return;
        for (int i = 0; i < 2; i++) {
            if ((p[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
                continue;
            ssize_t n = recv(p[i].fd, buf, sizeof(buf), 0);
            if (n <= 0)
                return;
            int to = i == 0 ? server : client;
            bool cut = i == 0 && triggered(buf, (size_t)n);
            if (send(to, buf, (size_t)n, MSG_NOSIGNAL) != n)
                return;
            if (cut) {
                usleep(300 * 1000);     /* Dovecot runs it; its answer is dropped */
                return;
            }
        }
    }
}

static pid_t relay_start(int lfd)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    setpgid(0, 0);
    alarm(RELAY_LIFETIME_S);
    signal(SIGCHLD, SIG_IGN);   /* connection children reap themselves */
    for (int i = 0; i < 200; i++) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            continue;
        if (fork() == 0) {
            relay_one(c);
            _exit(0);
        }
        close(c);
    }
    _exit(0);
}

static int setup(void **state)
{
    (void)state;
    fx.root = harness_mkdtemp("drop");
    if (fx.root == NULL || chmod(fx.root, 0755) != 0 ||
        snprintf(fx.trigger, sizeof(fx.trigger), "%s/cut-on", fx.root) >= (int)sizeof(fx.trigger))
        return -1;
    dovecot_start(&fx.d, fx.root, "drop", NULL, NULL);
    fx.imap = harness_imap_login(fx.d.imap_port, "test", "secret");
    if (fx.imap == NULL || harness_imap_cmd(fx.imap, "CREATE Work") != 0 ||
        harness_imap_append(fx.imap, "INBOX", NULL, msg, sizeof(msg) - 1, NULL) != 0)
        return -1;
    int lfd = listen_on(&fx.relay_port);
    if (lfd < 0)
        return -1;
    fx.relay = relay_start(lfd);
    close(lfd);
    if (fx.relay < 0)
        return -1;
    return hs_direct_start(&fx.gw, fx.relay_port);
}

static int teardown(void **state)
{
    (void)state;
    harness_imap_logout(&fx.imap);
    int rc = hs_direct_stop(&fx.gw);
    if (fx.relay > 0) {
        kill(-fx.relay, SIGKILL);
        waitpid(fx.relay, NULL, 0);
    }
    dovecot_stop(&fx.d);
    if (fx.root != NULL)
        harness_rmtree(fx.root);
    free(fx.root);
    return rc;
}

static void expect_truth(const char *email, const char *inbox, const char *work)
{
    const char *names[] = { "INBOX", "Work" }, *ids[] = { inbox, work };
    hs_direct_expect_where(&fx.gw, fx.imap, email, names, ids, 2);
}

static void cut_on(const char *word)
{
    H_ASSERT(harness_write_file(fx.trigger, word, strlen(word)) == 0);
}

static void expect_cut_reported(json_t *r, const char *id)
{
    json_t *e = json_object_get(json_object_get(r, "notUpdated"), id);
    H_ASSERT_MSG(e != NULL, "an update whose connection was cut was reported done");
    H_ASSERT(json_is_string(json_object_get(e, "description")));
    H_ASSERT_MSG(access(fx.trigger, F_OK) != 0, "the relay never cut the connection");
}

static void test_move_cut(void **unused)
{
    (void)unused;
    char id[64], inbox[64], work[64];
    hs_direct_ids(&fx.gw, "<cut@drop.example>", "Work", id, inbox, work);

    /* MOVE sent, its answer lost */
    cut_on("MOVE");
    json_t *r = jcall("Email/set", "\"update\": {\"%s\": {\"mailboxIds\": {\"%s\": true}}}", id,
                      work);
    expect_cut_reported(r, id);
    json_decref(r);
    expect_truth(id, inbox, work);

    /* into both (COPY), then out of one with its UID EXPUNGE's answer lost */
    r = jcall("Email/set", "\"update\": {\"%s\": {\"mailboxIds\": {\"%s\": true, \"%s\": true}}}",
              id, inbox, work);
    H_ASSERT(json_object_get(json_object_get(r, "updated"), id) != NULL);
    json_decref(r);
    expect_truth(id, inbox, work);
    cut_on("EXPUNGE");
    r = jcall("Email/set", "\"update\": {\"%s\": {\"mailboxIds/%s\": null}}", id, inbox);
    expect_cut_reported(r, id);
    json_decref(r);
    expect_truth(id, inbox, work);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_move_cut),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
