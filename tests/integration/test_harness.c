/* test_harness.c - the harness's own pieces, without the gateway: the fake
 * IMAP server in every mode and the HTTP client against canned responses.
 * If these are wrong, every other integration test lies. */
#define _GNU_SOURCE 1
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Reads what the peer sends until it stays quiet for quiet_ms or closes;
 * returns the bytes (malloc'd) and sets *closed on EOF. */
static char *read_quiet(int fd, int quiet_ms, bool *closed)
{
    char *out = calloc(1, 8192);
    size_t len = 0;

    *closed = false;
    while (out != NULL && len + 1 < 8192 && harness_fd_readable(fd, quiet_ms)) {
        ssize_t n = recv(fd, out + len, 8191 - len, 0);

        if (n <= 0) {
            *closed = true;
            break;
        }
        len += (size_t)n;
    }
    return out;
}

static char *say(int fd, const char *line, bool *closed)
{
    assert_int_equal(harness_send_all(fd, line, strlen(line)), 0);
    return read_quiet(fd, 300, closed);
}

static void test_fake_normal(void **state)
{
    struct harness_fake_imap *f = harness_fake_imap_start(HARNESS_FAKE_NORMAL);
    bool closed;
    char *s;
    int fd;

    (void)state;
    assert_non_null(f);
    fd = harness_connect(f->port);
    assert_true(fd >= 0);
    s = read_quiet(fd, 300, &closed);
    assert_non_null(strstr(s, "* OK"));
    free(s);
    s = say(fd, "a1 CAPABILITY\r\n", &closed);
    assert_non_null(strstr(s, "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na1 OK"));
    free(s);
    /* A synchronising literal gets a continuation before its bytes. */
    s = say(fd, "a2 LOGIN demo {4}\r\n", &closed);
    assert_string_equal(s, "+ go ahead\r\n");
    free(s);
    s = say(fd, "pass\r\n", &closed);
    assert_non_null(strstr(s, "a2 OK"));
    free(s);
    s = say(fd, "a3 AUTHENTICATE PLAIN\r\n", &closed);
    assert_string_equal(s, "+ \r\n");
    free(s);
    s = say(fd, "AGRlbW8AZGVtbw==\r\n", &closed);
    assert_non_null(strstr(s, "a3 OK"));
    free(s);
    s = say(fd, "a4 AUTHENTICATE PLAIN AGRlbW8AZGVtbw==\r\n", &closed);
    assert_non_null(strstr(s, "a4 OK"));
    free(s);
    s = say(fd, "a5 NOOP\r\na6 LOGOUT\r\n", &closed);
    assert_non_null(strstr(s, "a5 OK"));
    assert_non_null(strstr(s, "* BYE"));
    assert_non_null(strstr(s, "a6 OK"));
    free(s);
    close(fd);
    harness_fake_imap_free(&f);
    assert_null(f);
}

static void test_fake_hang_and_silence(void **state)
{
    struct harness_fake_imap *hang = harness_fake_imap_start(HARNESS_FAKE_GREET_THEN_HANG);
    struct harness_fake_imap *mute = harness_fake_imap_start(HARNESS_FAKE_NO_GREETING);
    int fd1, fd2;
    bool closed;
    char *s;

    (void)state;
    assert_non_null(hang);
    assert_non_null(mute);
    fd1 = harness_connect(hang->port);
    fd2 = harness_connect(mute->port);
    assert_true(fd1 >= 0 && fd2 >= 0);
    s = read_quiet(fd1, 300, &closed);
    assert_string_equal(s, "* OK fake\r\n");
    free(s);
    s = say(fd1, "a1 CAPABILITY\r\n", &closed);
    assert_string_equal(s, "");
    assert_false(closed);
    free(s);
    s = say(fd2, "a1 CAPABILITY\r\n", &closed);
    assert_string_equal(s, "");
    assert_false(closed);
    free(s);
    /* A second connection is served while the first hangs. */
    {
        int fd3 = harness_connect(hang->port);

        s = read_quiet(fd3, 300, &closed);
        assert_string_equal(s, "* OK fake\r\n");
        free(s);
        close(fd3);
    }
    close(fd1);
    close(fd2);
    harness_fake_imap_free(&hang);
    harness_fake_imap_free(&mute);
}

static void test_fake_drop_and_unavailable(void **state)
{
    struct harness_fake_imap *drop = harness_fake_imap_start(HARNESS_FAKE_DROP_MID_COMMAND);
    struct harness_fake_imap *no = harness_fake_imap_start(HARNESS_FAKE_NO_UNAVAILABLE);
    bool closed;
    char *s;
    int fd;

    (void)state;
    assert_non_null(drop);
    assert_non_null(no);
    fd = harness_connect(drop->port);
    free(read_quiet(fd, 300, &closed));
    s = say(fd, "a1 CAPABILITY\r\n", &closed);
    assert_non_null(strstr(s, "a1 OK"));
    free(s);
    s = say(fd, "a2 LOGIN demo demo\r\n", &closed);
    assert_string_equal(s, "");
    assert_true(closed);
    free(s);
    close(fd);

    fd = harness_connect(no->port);
    free(read_quiet(fd, 300, &closed));
    s = say(fd, "a1 LOGIN demo demo\r\n", &closed);
    assert_string_equal(s, "a1 NO [UNAVAILABLE] try later\r\n");
    free(s);
    close(fd);
    harness_fake_imap_free(&drop);
    harness_fake_imap_free(&no);
}

/* A one-shot HTTP server in a child: reads the request head, writes canned. */
static pid_t canned_server(const char *canned, uint16_t *port)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    pid_t pid;

    assert_true(lfd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 4), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char buf[4096];
        int fd;

        alarm(10);
        fd = accept(lfd, NULL, NULL);
        if (fd >= 0 && recv(fd, buf, sizeof(buf), 0) > 0) {
            /* Dribble it out in small pieces to exercise reassembly. */
            for (size_t off = 0, n = strlen(canned); off < n; off += 7) {
                harness_send_all(fd, canned + off, n - off < 7 ? n - off : 7);
                usleep(1000);
            }
        }
        _exit(0);
    }
    close(lfd);
    return pid;
}

static void fetch_canned(const char *canned, struct harness_response *r)
{
    uint16_t port;
    pid_t pid = canned_server(canned, &port);
    static const char *const hdrs[] = { "X-Test: 1", NULL };

    assert_int_equal(harness_http_request(port, "GET", "/x", hdrs, NULL, 0, r), 0);
    waitpid(pid, NULL, 0);
}

static void test_http_client(void **state)
{
    struct harness_response r;
    char *auth;

    (void)state;
    fetch_canned("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                 "Content-Length: 11\r\n\r\n{\"a\":[1,2]}trailing-junk", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(harness_response_header(&r, "Content-Type"), "application/json");
    assert_int_equal(r.body_len, 11);
    {
        json_t *j = harness_response_json(&r);

        assert_non_null(j);
        assert_int_equal(json_array_size(json_object_get(j, "a")), 2);
        json_decref(j);
    }
    harness_response_free(&r);

    fetch_canned("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 413 Too Big\r\n"
                 "Transfer-Encoding: chunked\r\nAllow:  GET, POST \r\n\r\n"
                 "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n", &r);
    assert_int_equal(r.status, 413);
    assert_string_equal(r.body, "hello world");
    assert_string_equal(harness_response_header(&r, "allow"), "GET, POST");
    assert_true(harness_header_has_token(harness_response_header(&r, "Allow"), "post"));
    assert_false(harness_header_has_token(harness_response_header(&r, "Allow"), "PUT"));
    harness_response_free(&r);

    fetch_canned("HTTP/1.0 404 Not Found\r\nX-A: b\r\n\r\nuntil close", &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "until close");
    assert_null(harness_response_header(&r, "X-Missing"));
    harness_response_free(&r);

    fetch_canned("HTTP/1.1 204 No Content\r\n\r\n", &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body_len, 0);
    harness_response_free(&r);

    auth = harness_basic_auth("demo", "demo");
    assert_string_equal(auth, "Authorization: Basic ZGVtbzpkZW1v");
    free(auth);
}

static void test_http_client_gives_up(void **state)
{
    struct harness_fake_imap *mute = harness_fake_imap_start(HARNESS_FAKE_NO_GREETING);
    struct harness_response r;
    int64_t start = harness_now_ms();

    (void)state;
    /* A server that never answers: the client must time out, not hang. */
    assert_int_equal(harness_http_request(mute->port, "GET", "/", NULL, NULL, 0, &r), -1);
    assert_true(harness_now_ms() - start < 8000);
    harness_fake_imap_free(&mute);
    /* Nobody listening: refused at once. */
    assert_int_equal(harness_http_request(harness_free_port(), "GET", "/", NULL, NULL, 0, &r), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fake_normal),
        cmocka_unit_test(test_fake_hang_and_silence),
        cmocka_unit_test(test_fake_drop_and_unavailable),
        cmocka_unit_test(test_http_client),
        cmocka_unit_test(test_http_client_gives_up),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("harness", tests, NULL, NULL);
}
