/* test_dispatch.c - the dispatcher: method lookup, capabilities, accountId,
 * createdIds, error responses, and the gateway-error tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "jmap_method.h"

static const struct jmap_core_limits limits = {
    .max_size_upload = 1000, .max_concurrent_upload = 1, .max_size_request = 100000,
    .max_concurrent_requests = 1, .max_calls_in_request = 16, .max_objects_in_get = 10,
    .max_objects_in_set = 10,
};
static const struct jmap_request_ctx ctx = {
    .limits = &limits, .session_state = "state-7", .account_id = "A1",
};

/* Test/create: records creation id "new" -> "X<n>" in createdIds. */
static json_t *test_create(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    json_object_set_new(inv->created_ids, "new", json_string("X1"));
    return json_pack("{s:s}", "accountId", json_string_value(json_object_get(args, "accountId")));
}

static json_t *test_fail(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    struct gw_error err;
    gw_error_set(&err, GW_ERR_UNAVAILABLE, "imap.example.com:993 timed out");
    *error = jmap_error_from_gw(&err);
    return NULL;
}

static json_t *test_echo(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    return json_deep_copy(args);
}

static const struct jmap_method test_methods[] = {
    { "Core/echo", JMAP_CAPABILITY_CORE, 0, test_echo },
    { "Test/create", JMAP_CAPABILITY_CORE, JMAP_METHOD_NEEDS_ACCOUNT, test_create },
    { "Test/fail", JMAP_CAPABILITY_CORE, 0, test_fail },
    { "Test/mail", JMAP_CAPABILITY_MAIL, JMAP_METHOD_NEEDS_ACCOUNT, test_echo },
};

static const struct jmap_method *test_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof(test_methods) / sizeof(test_methods[0]); i++) {
        if (strcmp(test_methods[i].name, name) == 0)
            return &test_methods[i];
    }
    return NULL;
}

static json_t *run(const char *body)
{
    struct jmap_http_result out = { 0 };
    assert_int_equal(jmap_api_run(&ctx, body, strlen(body), test_lookup, &out), 0);
    if (out.status != 200) {
        char *t = json_dumps(out.body, 0);
        fail_msg("status %d: %s", out.status, t);
    }
    assert_string_equal(json_string_value(json_object_get(out.body, "sessionState")), "state-7");
    return out.body;
}

static json_t *response_at(json_t *resp, size_t i, const char *name, const char *call_id)
{
    json_t *inv = json_array_get(json_object_get(resp, "methodResponses"), i);
    assert_non_null(inv);
    assert_string_equal(json_string_value(json_array_get(inv, 0)), name);
    assert_string_equal(json_string_value(json_array_get(inv, 2)), call_id);
    return json_array_get(inv, 1);
}

static void expect_error_at(json_t *resp, size_t i, const char *call_id, const char *type)
{
    json_t *args = response_at(resp, i, "error", call_id);
    assert_string_equal(json_string_value(json_object_get(args, "type")), type);
}

static void test_calls_run_in_order_after_errors(void **state)
{
    json_t *resp = run("{\"using\":[\"urn:ietf:params:jmap:core\"],\"methodCalls\":["
                       "[\"Nope/get\",{},\"c1\"],"
                       "[\"Core/echo\",{\"a\":[1,{\"b\":null}]},\"c2\"],"
                       "[\"Test/fail\",{},\"c3\"],"
                       "[\"Core/echo\",{\"#x\":{\"resultOf\":\"c2\",\"name\":\"Core/echo\","
                       "\"path\":\"/a/1/b\"}},\"c4\"]]}");
    assert_int_equal(json_array_size(json_object_get(resp, "methodResponses")), 4);
    expect_error_at(resp, 0, "c1", "unknownMethod");
    json_t *echo = response_at(resp, 1, "Core/echo", "c2");
    assert_true(json_is_null(json_object_get(json_array_get(json_object_get(echo, "a"), 1), "b")));
    expect_error_at(resp, 2, "c3", "serverUnavailable");
    /* The backend's host name never reaches the client. */
    json_t *fail = response_at(resp, 2, "error", "c3");
    assert_null(strstr(json_string_value(json_object_get(fail, "description")), "example.com"));
    json_t *ref = response_at(resp, 3, "Core/echo", "c4");
    assert_true(json_is_null(json_object_get(ref, "x")));
    assert_null(json_object_get(resp, "createdIds"));   /* not given, not returned */
    json_decref(resp);
}

static void test_account_checks(void **state)
{
    json_t *resp = run("{\"using\":[\"urn:ietf:params:jmap:core\"],\"methodCalls\":["
                       "[\"Test/create\",{},\"m\"],"
                       "[\"Test/create\",{\"accountId\":5},\"n\"],"
                       "[\"Test/create\",{\"accountId\":\"B2\"},\"o\"],"
                       "[\"Test/create\",{\"accountId\":\"A1\"},\"p\"]],"
                       "\"createdIds\":{\"old\":\"Y9\"}}");
    expect_error_at(resp, 0, "m", "invalidArguments");
    json_t *args = response_at(resp, 0, "error", "m");
    assert_string_equal(json_string_value(json_array_get(json_object_get(args, "arguments"), 0)),
                        "accountId");
    expect_error_at(resp, 1, "n", "invalidArguments");
    expect_error_at(resp, 2, "o", "accountNotFound");
    args = response_at(resp, 3, "Test/create", "p");
    assert_string_equal(json_string_value(json_object_get(args, "accountId")), "A1");
    json_t *created = json_object_get(resp, "createdIds");
    assert_string_equal(json_string_value(json_object_get(created, "old")), "Y9");
    assert_string_equal(json_string_value(json_object_get(created, "new")), "X1");
    json_decref(resp);
}

static void test_capability_must_be_used(void **state)
{
    /* Core is implicit; mail is not. */
    json_t *resp = run("{\"using\":[],\"methodCalls\":[[\"Core/echo\",{},\"a\"],"
                       "[\"Test/mail\",{\"accountId\":\"A1\"},\"b\"]]}");
    response_at(resp, 0, "Core/echo", "a");
    expect_error_at(resp, 1, "b", "unknownMethod");
    json_decref(resp);
    resp = run("{\"using\":[\"urn:ietf:params:jmap:mail\"],\"methodCalls\":["
               "[\"Test/mail\",{\"accountId\":\"A1\"},\"b\"]]}");
    response_at(resp, 0, "Test/mail", "b");
    json_decref(resp);
}

static void test_real_table(void **state)
{
    assert_non_null(jmap_method_find("Core/echo"));
    assert_null(jmap_method_find("core/echo"));
    assert_null(jmap_method_find(""));
    struct jmap_http_result out = { 0 };
    const char *body = "{\"using\":[],\"methodCalls\":[[\"Core/echo\",{\"k\":\"v\"},\"e\"]]}";
    assert_int_equal(jmap_api_handle(&ctx, body, strlen(body), &out), 0);
    json_t *args = response_at(out.body, 0, "Core/echo", "e");
    assert_string_equal(json_string_value(json_object_get(args, "k")), "v");
    json_decref(out.body);
}

static void test_error_tables(void **state)
{
    static const struct {
        enum gw_error_code code;
        const char *method_error, *set_error;
    } table[] = {
        { GW_ERR_INTERNAL, "serverFail", "serverFail" },
        { GW_ERR_NOMEM, "serverFail", "serverFail" },
        { GW_ERR_UNAVAILABLE, "serverUnavailable", "serverFail" },
        { GW_ERR_TLS, "serverUnavailable", "serverFail" },
        { GW_ERR_FORBIDDEN, "forbidden", "forbidden" },
        { GW_ERR_INVALID, "invalidArguments", "invalidProperties" },
        { GW_ERR_NOTFOUND, "invalidArguments", "notFound" },
        { GW_ERR_EXISTS, "invalidArguments", "alreadyExists" },
        { GW_ERR_OVERQUOTA, "serverPartialFail", "overQuota" },
        { GW_ERR_TOO_LARGE, "requestTooLarge", "tooLarge" },
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        struct gw_error err;
        gw_error_set(&err, table[i].code, "detail %zu", i);
        json_t *e = jmap_error_from_gw(&err);
        assert_string_equal(json_string_value(json_object_get(e, "type")), table[i].method_error);
        const char *desc = json_string_value(json_object_get(e, "description"));
        assert_non_null(desc);
        /* Internal detail is shown only where it is safe. */
        if (table[i].code == GW_ERR_INTERNAL || table[i].code == GW_ERR_NOMEM)
            assert_null(strstr(desc, "detail"));
        json_decref(e);
        assert_string_equal(jmap_set_error_type_from_gw(table[i].code), table[i].set_error);
    }
    assert_string_equal(jmap_set_error_type_from_gw((enum gw_error_code)999), "serverFail");
    assert_true(jmap_id_is_valid("Ab-_9"));
    assert_false(jmap_id_is_valid(""));
    assert_false(jmap_id_is_valid("a b"));
    assert_false(jmap_id_is_valid("a/b"));
    char long_id[257];
    memset(long_id, 'a', 256);
    long_id[256] = '\0';
    assert_false(jmap_id_is_valid(long_id));
    long_id[255] = '\0';
    assert_true(jmap_id_is_valid(long_id));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calls_run_in_order_after_errors),
        cmocka_unit_test(test_account_checks),
        cmocka_unit_test(test_capability_must_be_used),
        cmocka_unit_test(test_real_table),
        cmocka_unit_test(test_error_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
