/* test_auth_backend.c - credentials passed through to IMAP, and backends
 * that are down, silent, hanging, dropping or refusing: always a prompt
 * 401/503 problem, never a hang, never a crash, and a stalled backend never
 * stalls the gateway's other clients. */
#define _GNU_SOURCE 1
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo_dovecot.h"

static struct {
    struct demo_dovecot *dovecot;
    char *dovecot_dir;
    struct harness_gateway *gw;     /* against Dovecot, --connect-timeout 2s */
} fx;

static int group_setup(void **state)
{
    /* A long command timeout: Dovecot delays the answer to failed logins
     * from one address more each time (2, 4, 8 ... 15 s). */
    static const char *const args[] = { "--connect-timeout", "2s", "--command-timeout", "20s",
                                        NULL };

    (void)state;
    fx.dovecot = harness_dovecot_start(NULL, &fx.dovecot_dir);
    if (fx.dovecot == NULL)
        return -1;
    fx.gw = harness_gateway_for_dovecot(fx.dovecot, "starttls", true, args);
    return fx.gw != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    int rc = 0;

    (void)state;
    if (fx.gw != NULL && fx.gw->pid > 0)
        rc = harness_gateway_stop(fx.gw);
    harness_gateway_free(&fx.gw);
    harness_dovecot_free(&fx.dovecot, &fx.dovecot_dir);
    return rc;
}

/* GET the session with a literal Authorization line (NULL: none). */
static void session_with(const char *auth_line, struct harness_response *r)
{
    const char *headers[2] = { auth_line, NULL };

    H_ASSERT(harness_http_request(fx.gw->port, "GET", "/.well-known/jmap", headers, NULL, 0, r) ==
             0);
}

static void expect_401(struct harness_response *r)
{
    const char *www = harness_response_header(r, "WWW-Authenticate");
    json_t *p = H_ASSERT_PROBLEM(r, 401, NULL);

    H_ASSERT_MSG(www != NULL && strncmp(www, "Basic", 5) == 0, "WWW-Authenticate is %s",
                 www != NULL ? www : "absent");
    json_decref(p);
    harness_response_free(r);
}

static void test_missing_and_malformed_credentials(void **state)
{
    static const char *const bad[] = {
        NULL,
        "Authorization: Basic",
        "Authorization: Basic !!!not-base64!!!",
        "Authorization: Basic ZGVtbw==",          /* "demo": no colon */
        "Authorization: Basic OmRlbW8=",          /* ":demo": empty user */
        "Authorization: Digest username=\"demo\"",
        "Authorization: ZGVtbzpkZW1v",            /* no scheme */
    };
    struct harness_response r;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        session_with(bad[i], &r);
        if (r.status != 401)
            fprintf(stderr, "with %s:\n", bad[i] != NULL ? bad[i] : "no Authorization");
        expect_401(&r);
    }
    /* The API endpoint is protected the same way. */
    H_ASSERT(harness_api_post(fx.gw->port, NULL, NULL, NULL,
                              "{\"using\":[],\"methodCalls\":[]}", &r) == 0);
    expect_401(&r);
}

static void test_wrong_password_and_unknown_user(void **state)
{
    struct harness_response r;

    (void)state;
    harness_http_set_timeout(20);
    H_ASSERT(harness_get_session(fx.gw->port, "demo", "wrong", &r) == 0);
    expect_401(&r);
    H_ASSERT(harness_get_session(fx.gw->port, "nobody", "demo", &r) == 0);
    expect_401(&r);
    /* A success in between must not make a wrong password work after it. */
    json_decref(harness_session_ok(fx.gw->port, "demo", "demo"));
    H_ASSERT(harness_api_post(fx.gw->port, "demo", "wrong", NULL,
                              "{\"using\":[],\"methodCalls\":[]}", &r) == 0);
    expect_401(&r);
    harness_http_set_timeout(0);
}

static void expect_503_within(struct harness_response *r, int64_t max_ms)
{
    json_t *p;

    H_ASSERT_MSG(r->elapsed_ms <= max_ms, "answer took %lld ms (bound %lld)",
                 (long long)r->elapsed_ms, (long long)max_ms);
    p = H_ASSERT_PROBLEM(r, 503, NULL);
    json_decref(p);
    harness_response_free(r);
}

static void test_dovecot_down_then_back(void **state)
{
    struct gw_error err;
    struct harness_response r;

    (void)state;
    /* alice has not logged in on this gateway: nothing cached can answer. */
    H_ASSERT_MSG(demo_dovecot_pause(fx.dovecot, &err) == 0, "pause: %s", err.msg);
    H_ASSERT(harness_get_session(fx.gw->port, "alice", "alice", &r) == 0);
    expect_503_within(&r, 2000 + 2500);
    H_ASSERT_MSG(demo_dovecot_resume(fx.dovecot, &err) == 0, "resume: %s", err.msg);
    json_decref(harness_session_ok(fx.gw->port, "alice", "alice"));
}

/* Starts a gateway whose IMAP backend is 127.0.0.1:port (plaintext). */
static struct harness_gateway *gateway_for_port(uint16_t port, const char *connect_timeout,
                                                const char *command_timeout)
{
    struct harness_gateway_opts opts = { 0 };
    char p[16];
    const char *args[] = { "--imap-host", "127.0.0.1", "--imap-port", p, "--imap-tls", "none",
                           "--connect-timeout", connect_timeout, "--command-timeout",
                           command_timeout, NULL };

    snprintf(p, sizeof(p), "%u", port);
    opts.args = args;
    return harness_gateway_start(&opts);
}

static void stop_side_gateway(struct harness_gateway **gw)
{
    H_ASSERT(harness_gateway_alive(*gw));
    H_ASSERT_MSG(harness_gateway_stop(*gw) == 0, "gateway did not exit 0 on SIGTERM");
    harness_gateway_free(gw);
    harness_set_current_gateway(fx.gw);
}

static void test_nobody_listening(void **state)
{
    struct harness_gateway *gw = gateway_for_port(harness_free_port(), "1s", "1s");
    struct harness_response r;

    (void)state;
    H_ASSERT(gw != NULL);
    H_ASSERT(harness_get_session(gw->port, "demo", "demo", &r) == 0);
    expect_503_within(&r, 1000 + 2000);
    stop_side_gateway(&gw);
}

/* One gateway against a fake server in mode; a session GET must give 503
 * within max_ms. */
static void fake_gives_503(enum harness_fake_imap_mode mode, int64_t max_ms)
{
    struct harness_fake_imap *fake = harness_fake_imap_start(mode);
    struct harness_gateway *gw;
    struct harness_response r;

    H_ASSERT(fake != NULL);
    gw = gateway_for_port(fake->port, "1s", "500ms");
    H_ASSERT(gw != NULL);
    H_ASSERT(harness_get_session(gw->port, "demo", "demo", &r) == 0);
    expect_503_within(&r, max_ms);
    /* And again: a failed backend leaves nothing stuck behind. */
    H_ASSERT(harness_get_session(gw->port, "demo", "demo", &r) == 0);
    expect_503_within(&r, max_ms);
    stop_side_gateway(&gw);
    harness_fake_imap_free(&fake);
}

static void test_fake_hang(void **state)
{
    (void)state;
    fake_gives_503(HARNESS_FAKE_GREET_THEN_HANG, 4000);
}

static void test_fake_no_greeting(void **state)
{
    (void)state;
    fake_gives_503(HARNESS_FAKE_NO_GREETING, 4000);
}

static void test_fake_drop_mid_command(void **state)
{
    (void)state;
    fake_gives_503(HARNESS_FAKE_DROP_MID_COMMAND, 3000);
}

static void test_fake_no_unavailable(void **state)
{
    (void)state;
    /* NO [UNAVAILABLE] is the server being down, not the password being wrong. */
    fake_gives_503(HARNESS_FAKE_NO_UNAVAILABLE, 3000);
}

static void test_hanging_backend_does_not_stall_others(void **state)
{
    static const char *const users[] = { "demo", "alice" };
    struct harness_fake_imap *fake = harness_fake_imap_start(HARNESS_FAKE_GREET_THEN_HANG);
    struct harness_gateway *gw;
    struct harness_response r;
    int64_t start;
    int fd[2];

    (void)state;
    H_ASSERT(fake != NULL);
    gw = gateway_for_port(fake->port, "1s", "3s");
    H_ASSERT(gw != NULL);
    start = harness_now_ms();
    /* Two users' requests stuck on the backend at once (two users, so no
     * per-account queueing stretches the wait). */
    for (size_t i = 0; i < 2; i++) {
        char head[512], *auth = harness_basic_auth(users[i], users[i]);
        int n = snprintf(head, sizeof(head),
                         "GET /.well-known/jmap HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n"
                         "Connection: close\r\n\r\n", auth);

        free(auth);
        H_ASSERT(n > 0 && (size_t)n < sizeof(head));
        fd[i] = harness_connect(gw->port);
        H_ASSERT(fd[i] >= 0);
        H_ASSERT(harness_send_all(fd[i], head, (size_t)n) == 0);
    }
    usleep(300 * 1000);
    for (size_t i = 0; i < 5; i++) {
        H_ASSERT(harness_http_request(gw->port, "GET", "/no/such/path", NULL, NULL, 0, &r) == 0);
        H_ASSERT_MSG(r.elapsed_ms < 1000, "404 took %lld ms while a backend hangs",
                     (long long)r.elapsed_ms);
        json_decref(H_ASSERT_PROBLEM(&r, 404, NULL));
        harness_response_free(&r);
    }
    /* The proof holds only if the stuck requests were still stuck meanwhile. */
    for (size_t i = 0; i < 2; i++)
        H_ASSERT_MSG(!harness_fd_readable(fd[i], 0) || harness_now_ms() - start >= 2500,
                     "the hanging request finished before its command timeout");
    for (size_t i = 0; i < 2; i++) {
        H_ASSERT(harness_http_read_response(fd[i], start, &r) == 0);
        expect_503_within(&r, 1000 + 3000 + 3000);
        close(fd[i]);
    }
    stop_side_gateway(&gw);
    harness_fake_imap_free(&fake);
}

static void test_gateway_stops_cleanly(void **state)
{
    (void)state;
    H_ASSERT(harness_gateway_alive(fx.gw));
    H_ASSERT_MSG(harness_gateway_stop(fx.gw) == 0,
                 "gateway did not exit with status 0 within 5 s of SIGTERM");
}

#define T(f) cmocka_unit_test_teardown(f, harness_teardown_check_alive)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_missing_and_malformed_credentials),
        T(test_wrong_password_and_unknown_user),
        T(test_dovecot_down_then_back),
        T(test_nobody_listening),
        T(test_fake_hang),
        T(test_fake_no_greeting),
        T(test_fake_drop_mid_command),
        T(test_fake_no_unavailable),
        T(test_hanging_backend_does_not_stall_others),
        cmocka_unit_test(test_gateway_stops_cleanly),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("auth_backend", tests, group_setup, group_teardown);
}
