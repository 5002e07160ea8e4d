/* test_imap_write_fail.c - what a real server will not do on demand, from
 * a scripted IMAP server: a move that stops half way (COPY done, then
 * UID EXPUNGE refused, or the connection dropped at the STORE), a
 * connection lost before COPY's answer, MOVE refused with [OVERQUOTA], and
 * a keyword the mailbox cannot keep (PERMANENTFLAGS without \*). The
 * outcome must say exactly where the messages are. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backend_mail_write.h"
#include "fake_imap.h"

enum script {
    S_EXPUNGE_REFUSED,      /* no MOVE: COPY ok, STORE ok, UID EXPUNGE NO [NOPERM] */
    S_DROP_AT_STORE,        /* no MOVE: COPY ok, then the connection drops */
    S_DROP_AT_COPY,         /* the connection drops before COPY is answered */
    S_MOVE_OVERQUOTA,       /* MOVE: NO [OVERQUOTA] */
    S_PERM_NO_KEYWORDS,     /* PERMANENTFLAGS (\Seen \Deleted): no new keywords */
};

static void serve(int fd, enum script sc)
{
    char line[1024], tag[64], cmd[64], arg[512], out[1024];
    const char *caps = sc == S_MOVE_OVERQUOTA ? "IMAP4rev1 UIDPLUS MOVE" : "IMAP4rev1 UIDPLUS";
    const char *perm = sc == S_PERM_NO_KEYWORDS ? "\\Seen \\Deleted" : "\\Seen \\Deleted \\*";
    snprintf(out, sizeof(out), "* OK [CAPABILITY %s] fake ready\r\n", caps);
    fake_imap_send(fd, out);
    for (int i = 0; i < 100; i++) {
        fake_imap_read_line(fd, line, sizeof(line));
        tag[0] = cmd[0] = arg[0] = '\0';
        if (sscanf(line, "%63s %63s %511[^\n]", tag, cmd, arg) < 2)
            _exit(1);
        bool uid = strcasecmp(cmd, "UID") == 0;
        if (strcasecmp(cmd, "CAPABILITY") == 0) {
            snprintf(out, sizeof(out), "* CAPABILITY %s\r\n%s OK done\r\n", caps, tag);
            fake_imap_send(fd, out);
        } else if (strcasecmp(cmd, "LOGIN") == 0) {
            snprintf(out, sizeof(out), "%s OK [CAPABILITY %s] in\r\n", tag, caps);
            fake_imap_send(fd, out);
        } else if (strcasecmp(cmd, "SELECT") == 0 || strcasecmp(cmd, "EXAMINE") == 0) {
            snprintf(out, sizeof(out),
                     "* FLAGS (\\Seen \\Deleted)\r\n* 2 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n"
                     "* OK [UIDNEXT 3] n\r\n* OK [PERMANENTFLAGS (%s)] p\r\n%s OK [READ-WRITE] "
                     "selected\r\n",
                     perm, tag);
            fake_imap_send(fd, out);
        } else if (uid && strncasecmp(arg, "COPY", 4) == 0) {
            if (sc == S_DROP_AT_COPY)
                _exit(0);
            fake_imap_reply(fd, tag, "OK [COPYUID 9 1:2 11:12] copied");
        } else if (uid && strncasecmp(arg, "MOVE", 4) == 0) {
            fake_imap_reply(fd, tag, "NO [OVERQUOTA] quota exceeded");
        } else if (uid && strncasecmp(arg, "STORE", 5) == 0) {
            if (sc == S_DROP_AT_STORE)
                _exit(0);
            if (strstr(arg, "custom") != NULL)
                fake_imap_reply(fd, tag, "NO this STORE should never have been sent");
            else
                fake_imap_reply(fd, tag, "OK stored");
        } else if (uid && strncasecmp(arg, "EXPUNGE", 7) == 0) {
            fake_imap_reply(fd, tag, "NO [NOPERM] you may not expunge here");
        } else if (strcasecmp(cmd, "LOGOUT") == 0) {
            fake_imap_send(fd, "* BYE bye\r\n");
            fake_imap_reply(fd, tag, "OK bye");
            _exit(0);
        } else {
            fake_imap_reply(fd, tag, "OK done");
        }
    }
    _exit(0);
}

struct server {
    pid_t pid;
    uint16_t port;
};

/* One scripted connection on a free loopback port (the child exits after
 * it, or after FAKE_IMAP_LIFETIME_S at the latest). */
static void server_start(struct server *s, enum script sc)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sin);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(lfd, 4), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
    s->port = ntohs(sin.sin_port);
    fflush(NULL);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        alarm(FAKE_IMAP_LIFETIME_S);
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0)
            _exit(1);
        serve(cfd, sc);
    }
    close(lfd);
}

static void server_stop(struct server *s)
{
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
}

static struct mail_backend *open_to(const struct server *s)
{
    return fake_imap_connect(s->port, 5000);
}

static const uint32_t two_uids[] = { 1, 2 };

static void test_move_outcomes(void **state)
{
    static const struct {
        enum script sc;
        int rc;
        enum backend_copy_outcome outcome;
        bool deleted_flag;
        size_t n_copyuid;
        enum gw_error_code code;
        bool broken;
    } cases[] = {
        /* copied, \Deleted set, expunge refused: in both mailboxes */
        { S_EXPUNGE_REFUSED, -1, BACKEND_COPY_NOT_REMOVED, true, 2, GW_ERR_FORBIDDEN, false },
        /* copied, the connection died at the STORE: in both (may be \Deleted) */
        { S_DROP_AT_STORE, -1, BACKEND_COPY_NOT_REMOVED, true, 2, GW_ERR_UNAVAILABLE, true },
        /* no answer to COPY: nobody knows */
        { S_DROP_AT_COPY, -1, BACKEND_COPY_UNKNOWN, false, 0, GW_ERR_UNAVAILABLE, true },
        /* MOVE refused as a whole: nothing happened */
        { S_MOVE_OVERQUOTA, -1, BACKEND_COPY_NONE, false, 0, GW_ERR_OVERQUOTA, false },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct server s;
        server_start(&s, cases[i].sc);
        struct mail_backend *b = open_to(&s);
        struct gw_error err = { 0 };
        struct backend_msgset set = { "Src", 7, two_uids, 2 };
        struct backend_copy_result *r = NULL;
        int rc = backend_move(b, &set, "Dst", &r, &err);
        if (rc != cases[i].rc || r == NULL || r->outcome != cases[i].outcome ||
            r->source_deleted_flag != cases[i].deleted_flag || r->n != cases[i].n_copyuid ||
            err.code != cases[i].code || backend_is_broken(b) != cases[i].broken)
            fail_msg("case %zu: rc %d outcome %d deleted %d n %zu code %s broken %d (%s)", i, rc,
                     r != NULL ? (int)r->outcome : -1, r != NULL && r->source_deleted_flag,
                     r != NULL ? r->n : 0, gw_error_code_name(err.code), backend_is_broken(b),
                     err.msg);
        if (cases[i].n_copyuid != 0) {
            assert_int_equal(r->dest_uidvalidity, 9);
            assert_int_equal(r->dest_uids[0], 11);
            assert_int_equal(r->dest_uids[1], 12);
        }
        backend_copy_result_free(&r);
        backend_close(&b);
        server_stop(&s);
    }
}

static void test_permanent_flags(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, S_PERM_NO_KEYWORDS);
    struct mail_backend *b = open_to(&s);
    struct gw_error err = { 0 };
    const char *custom[] = { "\\Seen", "custom" };
    struct backend_store_req req = { .set = { "Src", 7, two_uids, 2 }, .op = BACKEND_STORE_ADD,
                                     .flags = custom, .n_flags = 2 };
    /* refused before anything is sent, naming the keyword */
    assert_int_equal(backend_store_flags(b, &req, NULL, &err), -1);
    assert_int_equal(err.code, GW_ERR_FORBIDDEN);
    assert_non_null(strstr(err.msg, "custom"));
    assert_false(backend_is_broken(b));
    /* a flag the mailbox keeps is stored; removing a keyword needs no check */
    req.n_flags = 1;
    assert_int_equal(backend_store_flags(b, &req, NULL, &err), 0);
    backend_close(&b);
    server_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_move_outcomes),
        cmocka_unit_test(test_permanent_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
