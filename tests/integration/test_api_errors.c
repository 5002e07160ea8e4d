/* test_api_errors.c - the API endpoint (RFC 8620 §3): Core/echo, result
 * references, request-level problems (§3.6.1) and method-level errors
 * (§3.6.2), and the request size limit enforced before the body is read. */
#define _GNU_SOURCE 1
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "demo_dovecot.h"

#define MAX_SIZE 20000
#define MAX_CALLS 4
#define CORE "\"urn:ietf:params:jmap:core\""
#define ERR "urn:ietf:params:jmap:error:"

static struct {
    struct demo_dovecot *dovecot;
    char *dovecot_dir;
    struct harness_gateway *gw;
    char *account_id;
} fx;

static int group_setup(void **state)
{
    static const char *const args[] = { "--max-size-request", "20000",
                                        "--max-calls-in-request", "4",
                                        "--max-objects-in-get", "3", NULL };
    json_t *s;
    int rc = -1;

    (void)state;
    fx.dovecot = harness_dovecot_start(NULL, &fx.dovecot_dir);
    if (fx.dovecot == NULL)
        return -1;
    fx.gw = harness_gateway_for_dovecot(fx.dovecot, "starttls", true, args);
    if (fx.gw == NULL)
        return -1;
    {
        struct harness_response r;

        if (harness_get_session(fx.gw->port, "demo", "demo", &r) == 0 && r.status == 200 &&
            (s = harness_response_json(&r)) != NULL) {
            const char *id = harness_session_account_id(s);

            fx.account_id = id != NULL ? strdup(id) : NULL;
            rc = fx.account_id != NULL ? 0 : -1;
            json_decref(s);
        } else {
            fprintf(stderr, "group setup: no session for demo (HTTP %d)\n", r.status);
            harness_print_current_log();
        }
        harness_response_free(&r);
    }
    return rc;
}

static int group_teardown(void **state)
{
    int rc = 0;

    (void)state;
    if (fx.gw != NULL && fx.gw->pid > 0)
        rc = harness_gateway_stop(fx.gw);
    harness_gateway_free(&fx.gw);
    harness_dovecot_free(&fx.dovecot, &fx.dovecot_dir);
    free(fx.account_id);
    return rc;
}

/* POSTs body and checks the problem; content_type NULL = application/json. */
static void expect_problem(const char *content_type, const char *body, int status,
                           const char *type, const char *limit)
{
    struct harness_response r;
    json_t *p;

    H_ASSERT(harness_api_post(fx.gw->port, "demo", "demo", content_type, body, &r) == 0);
    p = H_ASSERT_PROBLEM(&r, status, type);
    if (limit != NULL)
        H_ASSERT_MSG(json_is_string(json_object_get(p, "limit")) &&
                         strcmp(json_string_value(json_object_get(p, "limit")), limit) == 0,
                     "problem \"limit\" is not %s: %s", limit, r.body);
    json_decref(p);
    harness_response_free(&r);
}

/* methodResponses[i] of resp, checked to be a 3-element invocation. */
static json_t *invocation(json_t *resp, size_t i, const char *name, const char *call_id)
{
    json_t *inv = json_array_get(json_object_get(resp, "methodResponses"), i);
    char *dump = json_dumps(resp, JSON_COMPACT);

    H_ASSERT_MSG(json_is_array(inv) && json_array_size(inv) == 3, "response %zu malformed: %s", i,
                 dump);
    H_ASSERT_MSG(json_is_string(json_array_get(inv, 0)) &&
                     strcmp(json_string_value(json_array_get(inv, 0)), name) == 0,
                 "response %zu is not %s: %s", i, name, dump);
    H_ASSERT_MSG(json_is_string(json_array_get(inv, 2)) &&
                     strcmp(json_string_value(json_array_get(inv, 2)), call_id) == 0,
                 "response %zu has not call id %s: %s", i, call_id, dump);
    H_ASSERT_MSG(json_is_object(json_array_get(inv, 1)), "response %zu args not an object: %s", i,
                 dump);
    free(dump);
    return json_array_get(inv, 1);
}

static void expect_method_error(const char *body, const char *type)
{
    json_t *resp = harness_api_ok(fx.gw->port, "demo", "demo", body);
    json_t *args = invocation(resp, 0, "error", "c1");
    const char *got = json_string_value(json_object_get(args, "type"));

    H_ASSERT_MSG(got != NULL && strcmp(got, type) == 0, "error type %s, expected %s",
                 got != NULL ? got : "(none)", type);
    H_ASSERT_MSG(json_array_size(json_object_get(resp, "methodResponses")) == 1,
                 "expected exactly one method response");
    json_decref(resp);
}

static void test_echo(void **state)
{
    static const char body[] =
        "{\"using\":[" CORE "],\"methodCalls\":["
        "[\"Core/echo\",{\"hello\":true,\"n\":[1,2,{\"x\":null}],\"s\":\"\\u00e9\"},\"c1\"],"
        "[\"Core/echo\",{},\"second\"]]}";
    json_t *resp = harness_api_ok(fx.gw->port, "demo", "demo", body);
    json_t *want = json_pack("{s:b, s:[i,i,{s:n}], s:s}", "hello", 1, "n", 1, 2, "x", "s",
                             "\xc3\xa9");

    (void)state;
    H_ASSERT_MSG(json_equal(invocation(resp, 0, "Core/echo", "c1"), want),
                 "Core/echo did not return its arguments");
    H_ASSERT(json_object_size(invocation(resp, 1, "Core/echo", "second")) == 0);
    H_ASSERT(json_array_size(json_object_get(resp, "methodResponses")) == 2);
    H_ASSERT(json_is_string(json_object_get(resp, "sessionState")));
    json_decref(want);
    json_decref(resp);
}

static void test_echo_charset_and_without_core(void **state)
{
    struct harness_response r;
    json_t *resp;

    (void)state;
    H_ASSERT(harness_api_post(fx.gw->port, "demo", "demo", "application/json; charset=utf-8",
                              "{\"using\":[" CORE "],\"methodCalls\":[[\"Core/echo\",{\"a\":1},\"c1\"]]}",
                              &r) == 0);
    H_ASSERT_STATUS(&r, 200);
    harness_response_free(&r);
    /* `using` without core: Core/echo is still served (RFC 8620 §3.3). */
    resp = harness_api_ok(fx.gw->port, "demo", "demo",
                          "{\"using\":[],\"methodCalls\":[[\"Core/echo\",{\"a\":1},\"c1\"]]}");
    H_ASSERT(json_integer_value(json_object_get(invocation(resp, 0, "Core/echo", "c1"), "a")) == 1);
    json_decref(resp);
}

static void test_result_references(void **state)
{
    static const char good[] =
        "{\"using\":[" CORE "],\"methodCalls\":["
        "[\"Core/echo\",{\"list\":[{\"id\":\"a\"},{\"id\":\"b\"}]},\"c0\"],"
        "[\"Core/echo\",{\"#ids\":{\"resultOf\":\"c0\",\"name\":\"Core/echo\","
        "\"path\":\"/list/*/id\"}},\"c1\"]]}";
    json_t *resp = harness_api_ok(fx.gw->port, "demo", "demo", good);
    json_t *args = invocation(resp, 1, "Core/echo", "c1");
    json_t *want = json_pack("[s,s]", "a", "b");

    (void)state;
    H_ASSERT_MSG(json_equal(json_object_get(args, "ids"), want), "/list/*/id did not resolve");
    H_ASSERT_MSG(json_object_get(args, "#ids") == NULL, "the #ids key was not replaced");
    json_decref(want);
    json_decref(resp);

    /* resultOf a call that does not exist. */
    expect_method_error("{\"using\":[" CORE "],\"methodCalls\":[[\"Core/echo\",{\"#x\":"
                        "{\"resultOf\":\"nope\",\"name\":\"Core/echo\",\"path\":\"/a\"}},\"c1\"]]}",
                        "invalidResultReference");
    /* Right call id, wrong name, then a path that is not there. */
    resp = harness_api_ok(fx.gw->port, "demo", "demo",
                          "{\"using\":[" CORE "],\"methodCalls\":["
                          "[\"Core/echo\",{\"a\":1},\"c0\"],"
                          "[\"Core/echo\",{\"#x\":{\"resultOf\":\"c0\",\"name\":\"Foo/get\","
                          "\"path\":\"/a\"}},\"c1\"],"
                          "[\"Core/echo\",{\"#x\":{\"resultOf\":\"c0\",\"name\":\"Core/echo\","
                          "\"path\":\"/missing\"}},\"c2\"]]}");
    args = invocation(resp, 1, "error", "c1");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(args, "type")), "invalidResultReference");
    args = invocation(resp, 2, "error", "c2");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(args, "type")), "invalidResultReference");
    json_decref(resp);
}

static void test_method_errors(void **state)
{
    (void)state;
    expect_method_error("{\"using\":[" CORE "],\"methodCalls\":[[\"Foo/bar\",{},\"c1\"]]}",
                        "unknownMethod");
    /* A mail method: an account that is not the caller's, a missing one,
     * and the mail capability left out of using (Core/echo takes no
     * accountId; accountNotSupportedByMethod is in tests/unit/test_dispatch.c). */
    expect_method_error("{\"using\":[" CORE ",\"urn:ietf:params:jmap:mail\"],\"methodCalls\":"
                        "[[\"Mailbox/get\",{\"accountId\":\"x\",\"ids\":[]},\"c1\"]]}",
                        "accountNotFound");
    expect_method_error("{\"using\":[" CORE ",\"urn:ietf:params:jmap:mail\"],\"methodCalls\":"
                        "[[\"Mailbox/get\",{\"ids\":[]},\"c1\"]]}",
                        "invalidArguments");
    expect_method_error("{\"using\":[" CORE "],\"methodCalls\":"
                        "[[\"Mailbox/get\",{\"accountId\":\"x\",\"ids\":[]},\"c1\"]]}",
                        "unknownMethod");
}

/* A Mailbox/get Request of our account with the given ids JSON. */
static void mailbox_get_body(char *body, size_t size, const char *ids)
{
    int n = snprintf(body, size,
                     "{\"using\":[" CORE ",\"urn:ietf:params:jmap:mail\"],\"methodCalls\":"
                     "[[\"Mailbox/get\",{\"accountId\":\"%s\",\"ids\":%s},\"c1\"]]}",
                     fx.account_id, ids);
    H_ASSERT(n > 0 && (size_t)n < size);
}

/* maxObjectsInGet is 3 here and the demo account has more mailboxes:
 * "all" and four ids are too many, three are not. */
static void test_max_objects_in_get(void **state)
{
    char body[512];
    json_t *resp;

    (void)state;
    mailbox_get_body(body, sizeof(body), "null");
    expect_method_error(body, "requestTooLarge");
    mailbox_get_body(body, sizeof(body), "[\"Ma\",\"Mb\",\"Mc\",\"Md\"]");
    expect_method_error(body, "requestTooLarge");
    mailbox_get_body(body, sizeof(body), "[\"Ma\",\"Mb\",\"Mc\"]");
    resp = harness_api_ok(fx.gw->port, "demo", "demo", body);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(
                        invocation(resp, 0, "Mailbox/get", "c1"), "notFound")), 3);
    json_decref(resp);
}

static void test_not_json(void **state)
{
    static const char echo[] = "{\"using\":[" CORE "],\"methodCalls\":[[\"Core/echo\",{},\"c1\"]]}";

    (void)state;
    expect_problem(NULL, "{not json", 400, ERR "notJSON", NULL);
    expect_problem(NULL, "", 400, ERR "notJSON", NULL);
    expect_problem(NULL, "{\"using\":[] \"methodCalls\":[]}", 400, ERR "notJSON", NULL);
    /* Valid JSON, wrong Content-Type. */
    expect_problem("text/plain", echo, 400, ERR "notJSON", NULL);
    expect_problem("application/x-www-form-urlencoded", echo, 400, ERR "notJSON", NULL);
}

static void test_not_request(void **state)
{
    (void)state;
    expect_problem(NULL, "[1,2]", 400, ERR "notRequest", NULL);
    expect_problem(NULL, "{\"methodCalls\":[]}", 400, ERR "notRequest", NULL);
    expect_problem(NULL, "{\"using\":[" CORE "]}", 400, ERR "notRequest", NULL);
    expect_problem(NULL, "{\"using\":\"x\",\"methodCalls\":[]}", 400, ERR "notRequest", NULL);
    expect_problem(NULL, "{\"using\":[" CORE "],\"methodCalls\":[[\"Core/echo\",{}]]}", 400,
                   ERR "notRequest", NULL);
    expect_problem(NULL, "{\"using\":[" CORE "],\"methodCalls\":[[\"Core/echo\",[],\"c1\"]]}", 400,
                   ERR "notRequest", NULL);
    expect_problem(NULL, "{\"using\":[" CORE "],\"methodCalls\":[[1,{},\"c1\"]]}", 400,
                   ERR "notRequest", NULL);
}

static void test_unknown_capability(void **state)
{
    (void)state;
    expect_problem(NULL, "{\"using\":[" CORE ",\"urn:example:nope\"],\"methodCalls\":"
                         "[[\"Core/echo\",{},\"c1\"]]}",
                   400, ERR "unknownCapability", NULL);
}

static void test_max_calls(void **state)
{
    static const char call[] = "[\"Core/echo\",{},\"c\"]";
    char body[1024];
    json_t *resp;
    int n;

    (void)state;
    n = snprintf(body, sizeof(body), "{\"using\":[" CORE "],\"methodCalls\":[%s,%s,%s,%s]}", call,
                 call, call, call);
    H_ASSERT(n > 0 && (size_t)n < sizeof(body));
    resp = harness_api_ok(fx.gw->port, "demo", "demo", body);
    H_ASSERT_INT_EQ(json_array_size(json_object_get(resp, "methodResponses")), MAX_CALLS);
    json_decref(resp);
    n = snprintf(body, sizeof(body), "{\"using\":[" CORE "],\"methodCalls\":[%s,%s,%s,%s,%s]}",
                 call, call, call, call, call);
    H_ASSERT(n > 0 && (size_t)n < sizeof(body));
    expect_problem(NULL, body, 400, ERR "limit", "maxCallsInRequest");
}

/* An echo Request padded to exactly total bytes. */
static char *padded_echo(size_t total)
{
    static const char head[] = "{\"using\":[" CORE "],\"methodCalls\":[[\"Core/echo\",{\"p\":\"";
    static const char tail[] = "\"},\"c1\"]]}";
    size_t fixed = sizeof(head) - 1 + sizeof(tail) - 1;
    char *body = malloc(total + 1);

    H_ASSERT(body != NULL && total > fixed);
    memcpy(body, head, sizeof(head) - 1);
    memset(body + sizeof(head) - 1, 'a', total - fixed);
    memcpy(body + total - (sizeof(tail) - 1), tail, sizeof(tail));
    return body;
}

static void test_size_limit_boundary(void **state)
{
    char *body = padded_echo(MAX_SIZE);
    json_t *resp = harness_api_ok(fx.gw->port, "demo", "demo", body);

    (void)state;
    json_decref(resp);
    free(body);
    body = padded_echo(MAX_SIZE + 1);
    expect_problem(NULL, body, 413, ERR "limit", "maxSizeRequest");
    free(body);
}

/* Sends the head of a POST /jmap/api (with auth) on a new socket. */
static int send_api_head(const char *framing)
{
    char head[1024], *auth = harness_basic_auth("demo", "demo");
    int fd = harness_connect(fx.gw->port);
    int n = snprintf(head, sizeof(head),
                     "POST /jmap/api HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n"
                     "Content-Type: application/json\r\n%s\r\n\r\n",
                     auth, framing);

    free(auth);
    H_ASSERT(fd >= 0 && n > 0 && (size_t)n < sizeof(head));
    H_ASSERT(harness_send_all(fd, head, (size_t)n) == 0);
    return fd;
}

static void expect_limit_response(int fd, int64_t start, int64_t max_ms)
{
    struct harness_response r;
    json_t *p;

    H_ASSERT_MSG(harness_http_read_response(fd, start, &r) == 0,
                 "no 413 response (the gateway closed the connection, or waited for the body)");
    H_ASSERT_MSG(r.elapsed_ms <= max_ms, "413 came after %lld ms", (long long)r.elapsed_ms);
    p = H_ASSERT_PROBLEM(&r, 413, ERR "limit");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(p, "limit")), "maxSizeRequest");
    json_decref(p);
    harness_response_free(&r);
}

static void test_size_limit_from_content_length(void **state)
{
    int64_t start = harness_now_ms();
    int fd = send_api_head("Content-Length: 100000000");

    (void)state;
    /* No body follows: the answer must come from the header alone. */
    expect_limit_response(fd, start, 3000);
    close(fd);
}

/* A chunked body has no length up front. libmicrohttpd cannot queue a reply
 * while a body is still arriving, so the gateway stops buffering at the
 * limit, discards the rest, and answers 413 once the body ends. */
static void test_size_limit_chunked(void **state)
{
    static const char first[] = "{\"using\":[" CORE "],\"methodCalls\":[[\"Core/echo\",{\"p\":\"";
    char chunk[4200];
    char pad[4096];
    int64_t start = harness_now_ms();
    int fd = send_api_head("Transfer-Encoding: chunked");
    size_t sent = 0;
    int n;

    (void)state;
    n = snprintf(chunk, sizeof(chunk), "%zx\r\n%s\r\n", sizeof(first) - 1, first);
    H_ASSERT(harness_send_all(fd, chunk, (size_t)n) == 0);
    sent += sizeof(first) - 1;
    memset(pad, 'a', sizeof(pad));
    while (sent < 2 * MAX_SIZE) {
        n = snprintf(chunk, sizeof(chunk), "%zx\r\n%.*s\r\n", sizeof(pad), (int)sizeof(pad), pad);
        H_ASSERT_MSG(harness_send_all(fd, chunk, (size_t)n) == 0,
                     "gateway closed the connection while the body was within its bound");
        sent += sizeof(pad);
    }
    H_ASSERT(harness_send_all(fd, "0\r\n\r\n", 5) == 0);
    expect_limit_response(fd, start, 5000);
    close(fd);
}

/* A chunked body that never ends is cut off, not read forever: after a
 * bounded amount the gateway closes the connection (loopback socket
 * buffers may still swallow what we send, so we look for the close). */
static void test_size_limit_chunked_endless(void **state)
{
    char chunk[4200];
    char pad[4096];
    int fd = send_api_head("Transfer-Encoding: chunked");
    size_t sent = 0;
    int n;

    (void)state;
    memset(pad, 'a', sizeof(pad));
    n = snprintf(chunk, sizeof(chunk), "%zx\r\n%.*s\r\n", sizeof(pad), (int)sizeof(pad), pad);
    while (sent < 64 * MAX_SIZE && harness_send_all(fd, chunk, (size_t)n) == 0)
        sent += sizeof(pad);
    H_ASSERT_MSG(harness_fd_readable(fd, 5000), "gateway neither answered nor closed");
    char buf[256];
    ssize_t got = recv(fd, buf, sizeof(buf), 0);
    H_ASSERT_MSG(got <= 0, "gateway answered an endless body instead of closing: %.*s",
                 (int)(got > 0 ? got : 0), buf);
    close(fd);
    H_ASSERT(harness_gateway_alive(fx.gw));
}

static void test_body_in_pieces(void **state)
{
    static const char body[] =
        "{\"using\":[" CORE "],\"methodCalls\":[[\"Core/echo\",{\"split\":\"yes\"},\"c1\"]]}";
    char framing[64];
    int64_t start = harness_now_ms();
    struct harness_response r;
    size_t third = (sizeof(body) - 1) / 3;
    int fd;
    json_t *resp;

    (void)state;
    snprintf(framing, sizeof(framing), "Content-Length: %zu", sizeof(body) - 1);
    fd = send_api_head(framing);
    H_ASSERT(harness_send_all(fd, body, third) == 0);
    usleep(150 * 1000);
    H_ASSERT(harness_send_all(fd, body + third, third) == 0);
    usleep(150 * 1000);
    H_ASSERT(harness_send_all(fd, body + 2 * third, sizeof(body) - 1 - 2 * third) == 0);
    H_ASSERT(harness_http_read_response(fd, start, &r) == 0);
    H_ASSERT_STATUS(&r, 200);
    resp = harness_response_json(&r);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(invocation(resp, 0, "Core/echo", "c1"),
                                                          "split")),
                        "yes");
    json_decref(resp);
    harness_response_free(&r);
    close(fd);
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
        T(test_echo),
        T(test_echo_charset_and_without_core),
        T(test_result_references),
        T(test_method_errors),
        T(test_max_objects_in_get),
        T(test_not_json),
        T(test_not_request),
        T(test_unknown_capability),
        T(test_max_calls),
        T(test_size_limit_boundary),
        T(test_size_limit_from_content_length),
        T(test_size_limit_chunked),
        T(test_size_limit_chunked_endless),
        T(test_body_in_pieces),
        cmocka_unit_test(test_gateway_stops_cleanly),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("api_errors", tests, group_setup, group_teardown);
}
