/* test_cors_http.c - CORS, routing (placeholders, unknown paths, wrong
 * methods) and HTTP robustness: malformed requests and many connections. */
#define _GNU_SOURCE 1
#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "demo_dovecot.h"

#define APP "https://app.example"

static struct {
    struct demo_dovecot *dovecot;
    char *dovecot_dir;
    struct harness_gateway *gw;         /* --cors-origins https://app.example */
    struct harness_gateway *gw_any;     /* default CORS */
    char *account_id;
} fx;

static int group_setup(void **state)
{
    static const char *const cors[] = { "--cors-origins", APP, NULL };
    struct harness_response r;
    json_t *s;

    (void)state;
    fx.dovecot = harness_dovecot_start(NULL, &fx.dovecot_dir);
    if (fx.dovecot == NULL)
        return -1;
    fx.gw_any = harness_gateway_for_dovecot(fx.dovecot, "starttls", true, NULL);
    fx.gw = harness_gateway_for_dovecot(fx.dovecot, "starttls", true, cors);
    if (fx.gw == NULL || fx.gw_any == NULL)
        return -1;
    if (harness_get_session(fx.gw->port, "demo", "demo", &r) != 0 || r.status != 200) {
        harness_print_current_log();
        harness_response_free(&r);
        return -1;
    }
    s = harness_response_json(&r);
    harness_response_free(&r);
    fx.account_id = harness_session_account_id(s) != NULL ? strdup(harness_session_account_id(s))
                                                          : NULL;
    json_decref(s);
    return fx.account_id != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    int rc = 0;

    (void)state;
    if (fx.gw != NULL && fx.gw->pid > 0)
        rc |= harness_gateway_stop(fx.gw);
    if (fx.gw_any != NULL && fx.gw_any->pid > 0)
        rc |= harness_gateway_stop(fx.gw_any);
    harness_gateway_free(&fx.gw);
    harness_gateway_free(&fx.gw_any);
    harness_dovecot_free(&fx.dovecot, &fx.dovecot_dir);
    free(fx.account_id);
    return rc;
}

static void preflight(uint16_t port, const char *path, const char *origin, const char *method,
                      struct harness_response *r)
{
    char o[256], m[128];
    const char *headers[] = { o, m, "Access-Control-Request-Headers: authorization, content-type",
                              NULL };

    snprintf(o, sizeof(o), "Origin: %s", origin);
    snprintf(m, sizeof(m), "Access-Control-Request-Method: %s", method);
    H_ASSERT(harness_http_request(port, "OPTIONS", path, headers, NULL, 0, r) == 0);
}

static void expect_preflight_ok(const struct harness_response *r, const char *allow_origin,
                                const char *method)
{
    const char *methods = harness_response_header(r, "Access-Control-Allow-Methods");
    const char *hdrs = harness_response_header(r, "Access-Control-Allow-Headers");

    H_ASSERT_MSG(r->status == 200 || r->status == 204, "preflight status %d", r->status);
    H_ASSERT_HEADER_EQ(r, "Access-Control-Allow-Origin", allow_origin);
    H_ASSERT_MSG(harness_response_header_count(r, "Access-Control-Allow-Methods") == 1 &&
                     harness_response_header_count(r, "Access-Control-Allow-Headers") == 1,
                 "Allow-Methods/Allow-Headers must each appear once");
    H_ASSERT_MSG(methods != NULL && harness_header_has_token(methods, method),
                 "Allow-Methods %s lacks %s", methods != NULL ? methods : "absent", method);
    H_ASSERT_MSG(hdrs != NULL && harness_header_has_token(hdrs, "authorization") &&
                     harness_header_has_token(hdrs, "content-type"),
                 "Allow-Headers %s", hdrs != NULL ? hdrs : "absent");
}

static void test_preflight_allowed_origin(void **state)
{
    struct harness_response r;

    (void)state;
    preflight(fx.gw->port, "/jmap/api", APP, "POST", &r);
    expect_preflight_ok(&r, APP, "POST");
    harness_response_free(&r);
    preflight(fx.gw->port, "/.well-known/jmap", APP, "GET", &r);
    expect_preflight_ok(&r, APP, "GET");
    harness_response_free(&r);
}

static void test_preflight_disallowed_origin(void **state)
{
    struct harness_response r;

    (void)state;
    preflight(fx.gw->port, "/jmap/api", "https://evil.example", "POST", &r);
    H_ASSERT_MSG(harness_response_header(&r, "Access-Control-Allow-Origin") == NULL,
                 "a disallowed origin got Access-Control-Allow-Origin: %s",
                 harness_response_header(&r, "Access-Control-Allow-Origin"));
    harness_response_free(&r);
    /* Same for the look-alike that only shares a prefix. */
    preflight(fx.gw->port, "/jmap/api", APP ".evil.example", "POST", &r);
    H_ASSERT(harness_response_header(&r, "Access-Control-Allow-Origin") == NULL);
    harness_response_free(&r);
}

static void get_with_origin(uint16_t port, const char *origin, bool auth,
                            struct harness_response *r)
{
    char o[256], *a = auth ? harness_basic_auth("demo", "demo") : NULL;
    const char *headers[] = { o, a, NULL };

    snprintf(o, sizeof(o), "Origin: %s", origin);
    H_ASSERT(harness_http_request(port, "GET", "/.well-known/jmap", headers, NULL, 0, r) == 0);
    free(a);
}

static void test_actual_responses_carry_cors(void **state)
{
    struct harness_response r;

    (void)state;
    get_with_origin(fx.gw->port, APP, false, &r);
    H_ASSERT_STATUS(&r, 401);
    H_ASSERT_HEADER_EQ(&r, "Access-Control-Allow-Origin", APP);
    harness_response_free(&r);
    get_with_origin(fx.gw->port, APP, true, &r);
    H_ASSERT_STATUS(&r, 200);
    H_ASSERT_HEADER_EQ(&r, "Access-Control-Allow-Origin", APP);
    harness_response_free(&r);
    get_with_origin(fx.gw->port, "https://evil.example", true, &r);
    H_ASSERT_STATUS(&r, 200);
    H_ASSERT(harness_response_header(&r, "Access-Control-Allow-Origin") == NULL);
    harness_response_free(&r);
}

static void test_default_cors_is_any(void **state)
{
    struct harness_response r;

    (void)state;
    get_with_origin(fx.gw_any->port, "https://whatever.example", true, &r);
    H_ASSERT_STATUS(&r, 200);
    H_ASSERT_HEADER_EQ(&r, "Access-Control-Allow-Origin", "*");
    harness_response_free(&r);
    preflight(fx.gw_any->port, "/jmap/api", "https://whatever.example", "POST", &r);
    expect_preflight_ok(&r, "*", "POST");
    harness_response_free(&r);
}

static void expect_404(const char *method, const char *path, bool auth)
{
    char *a = auth ? harness_basic_auth("demo", "demo") : NULL;
    const char *headers[] = { a, NULL };
    struct harness_response r;

    H_ASSERT(harness_http_request(fx.gw->port, method, path, headers,
                                  strcmp(method, "POST") == 0 ? "x" : NULL, 1, &r) == 0);
    if (r.status != 404)
        fprintf(stderr, "%s %s:\n", method, path);
    json_decref(H_ASSERT_PROBLEM(&r, 404, NULL));
    harness_response_free(&r);
    free(a);
}

static void test_placeholders_and_unknown_paths(void **state)
{
    char path[512];

    (void)state;
    /* uploads work (test_email_write.c); another account's URL is 404 */
    expect_404("POST", "/jmap/upload/Anobody/", true);
    snprintf(path, sizeof(path), "/jmap/upload/%s/", fx.account_id);
    /* GET on the upload URL may instead be refused as the wrong method (the
     * RFC's upload is POST only): 404 or 405 with Allow naming POST. */
    {
        char *a = harness_basic_auth("demo", "demo");
        const char *headers[] = { a, NULL };
        struct harness_response r;

        H_ASSERT(harness_http_request(fx.gw->port, "GET", path, headers, NULL, 0, &r) == 0);
        if (r.status == 405)
            H_ASSERT(harness_header_has_token(harness_response_header(&r, "Allow"), "POST"));
        else
            json_decref(H_ASSERT_PROBLEM(&r, 404, NULL));
        harness_response_free(&r);
        free(a);
    }
    snprintf(path, sizeof(path), "/jmap/download/%s/Bxyz/file.txt?type=text/plain",
             fx.account_id);
    expect_404("GET", path, true);
    expect_404("GET", "/jmap/eventsource/?types=*&closeafter=no&ping=0", true);
    expect_404("GET", "/no/such/path", false);
    expect_404("GET", "/no/such/path", true);
    expect_404("GET", "/", false);
    expect_404("POST", "/jmap/api/extra", true);
}

static void expect_405(const char *method, const char *path, const char *allowed)
{
    char *a = harness_basic_auth("demo", "demo");
    const char *headers[] = { a, NULL };
    struct harness_response r;
    const char *allow;

    H_ASSERT(harness_http_request(fx.gw->port, method, path, headers, NULL, 0, &r) == 0);
    H_ASSERT_STATUS(&r, 405);
    allow = harness_response_header(&r, "Allow");
    H_ASSERT_MSG(allow != NULL && harness_header_has_token(allow, allowed),
                 "%s %s: Allow is %s, expected to include %s", method, path,
                 allow != NULL ? allow : "absent", allowed);
    harness_response_free(&r);
    free(a);
}

static void test_wrong_method(void **state)
{
    (void)state;
    expect_405("GET", "/jmap/api", "POST");
    expect_405("DELETE", "/jmap/api", "POST");
    expect_405("DELETE", "/.well-known/jmap", "GET");
}

/* Sends raw bytes; the gateway must answer 4xx or close, then keep serving. */
static void expect_rejected(const char *raw, size_t len)
{
    char label[48];
    struct harness_response r;
    int fd = harness_connect(fx.gw->port);
    int64_t start = harness_now_ms();

    H_ASSERT(fd >= 0);
    /* Printable start of the request, for the failure message. */
    for (size_t i = 0; i < sizeof(label) - 1; i++)
        label[i] = i < len && raw[i] >= 0x20 && raw[i] < 0x7f ? raw[i] : '.';
    label[sizeof(label) - 1] = '\0';
    harness_send_all(fd, raw, len);
    if (harness_http_read_response(fd, start, &r) == 0) {
        H_ASSERT_MSG((r.status >= 400 && r.status < 500) || r.status == 505,
                     "malformed request \"%s\" got HTTP %d", label, r.status);
        harness_response_free(&r);
    } else {
        /* No response is acceptable only if the gateway closed on us, promptly. */
        H_ASSERT_MSG(harness_now_ms() - start < 4500,
                     "gateway neither answered nor closed on \"%s\"", label);
    }
    close(fd);
    H_ASSERT(harness_gateway_alive(fx.gw));
    expect_404("GET", "/still/alive", false);
}

static void test_malformed_http(void **state)
{
    /* The start of a TLS ClientHello: someone speaking HTTPS to the HTTP port.
     * (Not a leading NUL: MHD reads that as an empty line before the request
     * line, which RFC 9112 §2.2 lets a server skip, so it just waits.) */
    static const char binary[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n";
    static const char *const raws[] = {
        "GARBAGE\r\n\r\n",
        "GET\r\n\r\n",
        "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
        "POST /jmap/api HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        "POST /jmap/api HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "POST /jmap/api HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    };
    char *huge;

    (void)state;
    for (size_t i = 0; i < sizeof(raws) / sizeof(raws[0]); i++)
        expect_rejected(raws[i], strlen(raws[i]));
    expect_rejected(binary, sizeof(binary) - 1);
    /* A 256 KiB header line. */
    huge = malloc(300000);
    H_ASSERT(huge != NULL);
    memcpy(huge, "GET / HTTP/1.1\r\nX-Big: ", 23);
    memset(huge + 23, 'a', 262144);
    memcpy(huge + 23 + 262144, "\r\n\r\n", 4);
    expect_rejected(huge, 23 + 262144 + 4);
    free(huge);
}

static void test_many_connections(void **state)
{
    enum { N = 50 };
    static const char req[] = "GET /no/such/path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int fds[N];
    int64_t start = harness_now_ms();

    (void)state;
    for (size_t i = 0; i < N; i++) {
        fds[i] = harness_connect(fx.gw->port);
        H_ASSERT_MSG(fds[i] >= 0, "connection %zu refused: %s", i, strerror(errno));
    }
    /* All open before any request, so they are truly concurrent. */
    for (size_t i = 0; i < N; i++)
        H_ASSERT(harness_send_all(fds[i], req, sizeof(req) - 1) == 0);
    for (size_t i = 0; i < N; i++) {
        struct harness_response r;

        H_ASSERT_MSG(harness_http_read_response(fds[i], start, &r) == 0,
                     "connection %zu got no answer", i);
        H_ASSERT_STATUS(&r, 404);
        harness_response_free(&r);
        close(fds[i]);
    }
    H_ASSERT_MSG(harness_now_ms() - start < 5000, "50 requests took %lld ms",
                 (long long)(harness_now_ms() - start));
}

static void test_gateways_stop_cleanly(void **state)
{
    (void)state;
    H_ASSERT(harness_gateway_alive(fx.gw) && harness_gateway_alive(fx.gw_any));
    harness_set_current_gateway(fx.gw);
    H_ASSERT_MSG(harness_gateway_stop(fx.gw) == 0, "gateway did not exit 0 within 5 s of SIGTERM");
    harness_set_current_gateway(fx.gw_any);
    H_ASSERT_MSG(harness_gateway_stop(fx.gw_any) == 0,
                 "gateway did not exit 0 within 5 s of SIGTERM");
}

#define T(f) cmocka_unit_test_teardown(f, harness_teardown_check_alive)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_preflight_allowed_origin),
        T(test_preflight_disallowed_origin),
        T(test_actual_responses_carry_cors),
        T(test_default_cors_is_any),
        T(test_placeholders_and_unknown_paths),
        T(test_wrong_method),
        T(test_malformed_http),
        T(test_many_connections),
        cmocka_unit_test(test_gateways_stop_cleanly),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("cors_http", tests, group_setup, group_teardown);
}
