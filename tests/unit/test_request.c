/* test_request.c - the Request envelope: every request-level error, every
 * prefix of a valid request, and allocation failure at every step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "jmap_api.h"
#include "jmap_method.h"

#define URN "urn:ietf:params:jmap:error:"
#define CORE "\"urn:ietf:params:jmap:core\""

static const struct jmap_core_limits limits = {
    .max_size_upload = 1000, .max_concurrent_upload = 1, .max_size_request = 4000,
    .max_concurrent_requests = 1, .max_calls_in_request = 3, .max_objects_in_get = 10,
    .max_objects_in_set = 10,
};
static const struct jmap_request_ctx ctx = {
    .limits = &limits, .session_state = "s1", .account_id = "A1",
};

static struct jmap_http_result run(const char *body, size_t len)
{
    struct jmap_http_result out = { 0 };
    jmap_api_handle(&ctx, body, len, &out);
    assert_non_null(out.body);
    return out;
}

static void expect_problem(const char *body, size_t len, int status, const char *type,
                           const char *limit)
{
    struct jmap_http_result out = run(body, len);
    if (out.status != status)
        fail_msg("status %d, expected %d for %.80s", out.status, status, body);
    assert_string_equal(json_string_value(json_object_get(out.body, "type")), type);
    assert_int_equal(json_integer_value(json_object_get(out.body, "status")), status);
    assert_non_null(json_string_value(json_object_get(out.body, "detail")));
    if (limit != NULL)
        assert_string_equal(json_string_value(json_object_get(out.body, "limit")), limit);
    else
        assert_null(json_object_get(out.body, "limit"));
    json_decref(out.body);
}

static void test_request_level_errors(void **state)
{
    static const struct {
        const char *body;
        const char *type;
    } cases[] = {
        { "", URN "notJSON" },
        { "not json", URN "notJSON" },
        { "{\"using\":[]", URN "notJSON" },
        { "{\"using\":[],\"methodCalls\":[]} trailing", URN "notJSON" },
        { "{\"using\":[],\"methodCalls\":[]}{}", URN "notJSON" },
        { "{\"using\":[],\"using\":[],\"methodCalls\":[]}", URN "notJSON" },   /* I-JSON */
        { "{\"using\":[\"\xff\"],\"methodCalls\":[]}", URN "notJSON" },      /* bad UTF-8 */
        { "{\"using\":[\"\\u0000\"],\"methodCalls\":[]}", URN "notJSON" },   /* NUL */
        { "[]", URN "notRequest" },
        { "\"string\"", URN "notRequest" },
        { "42", URN "notRequest" },
        { "null", URN "notRequest" },
        { "{}", URN "notRequest" },
        { "{\"methodCalls\":[]}", URN "notRequest" },
        { "{\"using\":{},\"methodCalls\":[]}", URN "notRequest" },
        { "{\"using\":[1],\"methodCalls\":[]}", URN "notRequest" },
        { "{\"using\":[]}", URN "notRequest" },
        { "{\"using\":[],\"methodCalls\":{}}", URN "notRequest" },
        { "{\"using\":[],\"methodCalls\":[1]}", URN "notRequest" },
        { "{\"using\":[],\"methodCalls\":[[\"Core/echo\",{}]]}", URN "notRequest" },
        { "{\"using\":[],\"methodCalls\":[[\"Core/echo\",{},\"c\",1]]}", URN "notRequest" },
        { "{\"using\":[],\"methodCalls\":[[1,{},\"c\"]]}", URN "notRequest" },
        { "{\"using\":[],\"methodCalls\":[[\"Core/echo\",[],\"c\"]]}", URN "notRequest" },
        { "{\"using\":[],\"methodCalls\":[[\"Core/echo\",{},7]]}", URN "notRequest" },
        { "{\"using\":[],\"methodCalls\":[],\"createdIds\":[]}", URN "notRequest" },
        { "{\"using\":[],\"methodCalls\":[],\"createdIds\":{\"a\":1}}", URN "notRequest" },
        { "{\"using\":[\"urn:example:nope\"],\"methodCalls\":[]}", URN "unknownCapability" },
        { "{\"using\":[" CORE ",\"urn:ietf:params:jmap:mail \"],\"methodCalls\":[]}",
          URN "unknownCapability" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_problem(cases[i].body, strlen(cases[i].body), 400, cases[i].type, NULL);
    /* A NUL byte in the body itself. */
    static const char with_nul[] = "{\"using\":[],\"methodCalls\":[]}\0";
    expect_problem(with_nul, sizeof(with_nul) - 1, 400, URN "notJSON", NULL);
}

static void test_limits(void **state)
{
    const char *four = "{\"using\":[" CORE "],\"methodCalls\":[[\"Core/echo\",{},\"a\"],"
                       "[\"Core/echo\",{},\"b\"],[\"Core/echo\",{},\"c\"],[\"Core/echo\",{},\"d\"]]}";
    expect_problem(four, strlen(four), 400, URN "limit", "maxCallsInRequest");

    char *big = malloc(limits.max_size_request + 2);
    memset(big, ' ', limits.max_size_request + 1);
    big[limits.max_size_request + 1] = '\0';
    expect_problem(big, limits.max_size_request + 1, 413, URN "limit", "maxSizeRequest");
    free(big);
}

static void test_deep_nesting(void **state)
{
    size_t n = 100000;
    char *deep = malloc(n + 1);
    memset(deep, '[', n);
    deep[n] = '\0';
    struct jmap_core_limits roomy = limits;
    roomy.max_size_request = n + 1;
    struct jmap_request_ctx c = ctx;
    c.limits = &roomy;
    struct jmap_http_result out = { 0 };
    jmap_api_handle(&c, deep, n, &out);
    assert_int_equal(out.status, 400);
    assert_string_equal(json_string_value(json_object_get(out.body, "type")), URN "notJSON");
    json_decref(out.body);
    free(deep);
}

static const char valid[] =
    "{\"using\":[" CORE "],\"methodCalls\":[[\"Core/echo\",{\"x\":[1,\"two\",null]},\"c1\"]],"
    "\"createdIds\":{\"k\":\"Mabc\"}}";

static void test_valid_and_every_prefix(void **state)
{
    struct jmap_http_result out = run(valid, sizeof(valid) - 1);
    assert_int_equal(out.status, 200);
    assert_string_equal(json_string_value(json_object_get(out.body, "sessionState")), "s1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(out.body, "createdIds"),
                                                          "k")),
                        "Mabc");
    json_decref(out.body);

    /* Every proper prefix is an incomplete document: notJSON, never a crash. */
    for (size_t len = 0; len < sizeof(valid) - 1; len++) {
        char *copy = malloc(len + 1);   /* exact size so ASan sees any over-read */
        memcpy(copy, valid, len);
        out = run(copy, len);
        if (out.status != 400)
            fail_msg("prefix of %zu bytes gave %d", len, out.status);
        assert_string_equal(json_string_value(json_object_get(out.body, "type")), URN "notJSON");
        json_decref(out.body);
        free(copy);
    }
}

/* Allocation failure: the Nth allocation fails, for every N until a run
 * needs no failure; each run must end in a 200 or a 500 problem, no leak. */
static long alloc_budget;
static void *failing_malloc(size_t size)
{
    if (alloc_budget-- == 0)
        return NULL;
    return malloc(size);
}

static void test_allocation_failures(void **state)
{
    for (long n = 0; n < 100000; n++) {
        alloc_budget = n;
        json_set_alloc_funcs(failing_malloc, free);
        struct jmap_http_result out = { 0 };
        int rc = jmap_api_handle(&ctx, valid, sizeof(valid) - 1, &out);
        bool exhausted = alloc_budget >= 0;
        alloc_budget = -1;   /* never fail again while checking */
        json_set_alloc_funcs(malloc, free);
        if (rc != 0 || out.status == 500) {
            assert_int_equal(rc, -1);
            assert_int_equal(out.status, 500);
        } else {
            assert_true(out.status == 200 || out.status == 400);
        }
        json_decref(out.body);
        if (exhausted && rc == 0 && out.status == 200)
            return;   /* ran to completion without hitting the failure */
    }
    fail_msg("never completed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_level_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_valid_and_every_prefix),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
