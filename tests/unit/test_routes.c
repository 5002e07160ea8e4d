/* test_routes.c - routing and the checks made before any backend I/O. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "http_gateway.h"

static const char *reply_header(const struct http_reply *reply, const char *name)
{
    for (unsigned i = 0; i < reply->header_count; i++) {
        if (strcmp(reply->headers[i].name, name) == 0)
            return reply->headers[i].value;
    }
    return NULL;
}

static json_t *reply_json(const struct http_reply *reply)
{
    json_t *j = json_loadb(reply->body, reply->body_len, 0, NULL);
    assert_non_null(j);
    return j;
}

struct fixture {
    struct gw_config cfg;
    struct http_gateway gw;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char *env[] = { NULL };
    char *argv[] = { "jmap-gateway", "--cors-origins", "https://app.example,https://b.example",
                     "--max-size-request", "1000", NULL };
    assert_int_equal(gw_config_load(&f->cfg, 5, argv, env, NULL), 0);
    http_gateway_init(&f->gw, &f->cfg, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    gw_config_free(&f->cfg);
    free(f);
    return 0;
}

static void test_match(void **state)
{
    assert_non_null(http_route_match("/.well-known/jmap"));
    assert_non_null(http_route_match("/jmap/api"));
    assert_non_null(http_route_match("/jmap/upload/A1/"));
    assert_non_null(http_route_match("/jmap/download/A1/b/n"));
    assert_non_null(http_route_match("/jmap/eventsource/"));
    assert_null(http_route_match("/"));
    assert_null(http_route_match("/.well-known/jmapx"));
    assert_null(http_route_match("/jmap/ap"));
    assert_true(http_route_wants_body(http_route_match("/jmap/api")));
    assert_false(http_route_wants_body(http_route_match("/.well-known/jmap")));
}

static void precheck(struct fixture *f, const char *path, struct http_request *req,
                     struct http_reply *reply, bool expect_answer)
{
    const struct http_route *route = http_route_match(path);
    assert_non_null(route);
    assert_int_equal(http_route_precheck(&f->gw, route, req, reply), expect_answer);
}

static void test_preflight(void **state)
{
    struct fixture *f = *state;
    struct http_request req = { .method = HTTP_OPTIONS };
    req.headers.origin = "https://app.example";
    req.headers.acr_method = "POST";
    struct http_reply reply = { 0 };
    precheck(f, "/jmap/api", &req, &reply, true);
    assert_int_equal(reply.status, 204);
    assert_string_equal(reply_header(&reply, "Access-Control-Allow-Origin"), "https://app.example");
    assert_string_equal(reply_header(&reply, "Access-Control-Allow-Credentials"), "true");
    assert_non_null(strstr(reply_header(&reply, "Access-Control-Allow-Methods"), "POST"));
    assert_non_null(strstr(reply_header(&reply, "Access-Control-Allow-Headers"), "Authorization"));
    assert_non_null(strstr(reply_header(&reply, "Access-Control-Allow-Headers"), "Content-Type"));
    http_reply_clear(&reply);

    req.headers.origin = "https://evil.example";
    precheck(f, "/jmap/api", &req, &reply, true);
    assert_int_equal(reply.status, 204);
    assert_null(reply_header(&reply, "Access-Control-Allow-Origin"));
    http_reply_clear(&reply);
}

static void test_cors_wildcard(void **state)
{
    struct gw_config cfg;
    char *env[] = { NULL };
    char *argv[] = { "jmap-gateway", NULL };
    assert_int_equal(gw_config_load(&cfg, 1, argv, env, NULL), 0);
    struct http_request req = { .method = HTTP_GET };
    req.headers.origin = "https://anything.example";
    struct http_reply reply = { 0 };
    cors_apply(&cfg, &req, &reply);
    assert_string_equal(reply_header(&reply, "Access-Control-Allow-Origin"), "*");
    assert_null(reply_header(&reply, "Access-Control-Allow-Credentials"));
    http_reply_clear(&reply);

    req.headers.origin = NULL;   /* same-origin or non-browser: no CORS headers */
    cors_apply(&cfg, &req, &reply);
    assert_int_equal(reply.header_count, 0);
    gw_config_free(&cfg);
}

static void test_method_not_allowed(void **state)
{
    struct fixture *f = *state;
    struct http_request req = { .method = HTTP_GET, .method_name = "GET" };
    struct http_reply reply = { 0 };
    precheck(f, "/jmap/api", &req, &reply, true);
    assert_int_equal(reply.status, 405);
    assert_string_equal(reply.content_type, "application/problem+json");
    assert_non_null(strstr(reply_header(&reply, "Allow"), "POST"));
    http_reply_clear(&reply);

    req.method = HTTP_OTHER;
    req.method_name = "BREW";
    precheck(f, "/.well-known/jmap", &req, &reply, true);
    assert_int_equal(reply.status, 405);
    http_reply_clear(&reply);
}

static void test_body_checks(void **state)
{
    struct fixture *f = *state;
    struct http_request req = { .method = HTTP_POST, .method_name = "POST" };
    struct http_reply reply = { 0 };

    req.headers.content_type = "application/json";
    req.headers.content_length = "1001";
    precheck(f, "/jmap/api", &req, &reply, true);
    assert_int_equal(reply.status, 413);
    json_t *j = reply_json(&reply);
    assert_string_equal(json_string_value(json_object_get(j, "type")),
                        "urn:ietf:params:jmap:error:limit");
    assert_string_equal(json_string_value(json_object_get(j, "limit")), "maxSizeRequest");
    json_decref(j);
    http_reply_clear(&reply);

    req.headers.content_length = "99999999999999999999999999";
    precheck(f, "/jmap/api", &req, &reply, true);
    assert_int_equal(reply.status, 413);
    http_reply_clear(&reply);

    req.headers.content_length = "1000";
    precheck(f, "/jmap/api", &req, &reply, false);

    static const char *const bad_types[] = { NULL, "text/plain", "application/jsonx",
                                             "application/x-www-form-urlencoded" };
    for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
        req.headers.content_type = (char *)bad_types[i];
        precheck(f, "/jmap/api", &req, &reply, true);
        assert_int_equal(reply.status, 400);
        j = reply_json(&reply);
        assert_string_equal(json_string_value(json_object_get(j, "type")),
                            "urn:ietf:params:jmap:error:notJSON");
        json_decref(j);
        http_reply_clear(&reply);
    }
    req.headers.content_type = "Application/JSON; charset=utf-8";
    precheck(f, "/jmap/api", &req, &reply, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_preflight),
        cmocka_unit_test(test_cors_wildcard),
        cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_body_checks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
