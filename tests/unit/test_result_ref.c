/* test_result_ref.c - JSON Pointer with JMAP's "*" and result references,
 * including the examples of RFC 8620 §3.7; what a reference takes is a
 * copy of the containers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "jmap_result_ref.h"

static void assert_json(json_t *got, const char *want_text)
{
    json_t *want = json_loads(want_text, JSON_DECODE_ANY, NULL);
    assert_non_null(want);
    if (got == NULL || !json_equal(got, want)) {
        char *g = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;
        fail_msg("got %s, want %s", g ? g : "(null)", want_text);
    }
    json_decref(want);
}

static void test_pointer(void **state)
{
    json_t *doc = json_loads("{\"a\":{\"b\":[10,20,{\"c\":\"x\"}]},\"m~n\":1,\"s/t\":2,\"\":3,"
                             "\"list\":[{\"ids\":[\"1\",\"2\"]},{\"ids\":[\"3\"]},{\"ids\":\"4\"}]}",
                             0, NULL);
    static const struct {
        const char *pointer, *want;
    } ok[] = {
        { "", NULL },   /* whole document, checked below */
        { "/a/b/0", "10" },
        { "/a/b/2/c", "\"x\"" },
        { "/m~0n", "1" },
        { "/s~1t", "2" },
        { "/", "3" },
        { "/list/*/ids", "[\"1\",\"2\",\"3\",\"4\"]" },   /* flattened, scalars kept */
        { "/a/b/*", "[10,20,{\"c\":\"x\"}]" },
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        json_t *r = jmap_pointer_eval(doc, ok[i].pointer);
        if (ok[i].want == NULL)
            assert_true(json_equal(r, doc));
        else
            assert_json(r, ok[i].want);
        json_decref(r);
    }
    static const char *const bad[] = {
        "a", "/nope", "/a/b/3", "/a/b/01", "/a/b/-", "/a/b/x", "/m~2n", "/m~", "/list/*/nope",
        "/a/*",   /* * on an object */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *r = jmap_pointer_eval(doc, bad[i]);
        if (r != NULL)
            fail_msg("pointer %s resolved", bad[i]);
    }
    json_decref(doc);
}

static json_t *responses_rfc(void)
{
    /* Shaped like the RFC 8620 §3.7 examples. */
    return json_loads(
        "[[\"Foo/changes\",{\"accountId\":\"A1\",\"oldState\":\"abcdef\",\"newState\":\"123456\","
        "\"hasMoreChanges\":false,\"created\":[\"f1\",\"f4\"],\"updated\":[],\"destroyed\":[]},\"t0\"],"
        "[\"Email/query\",{\"ids\":[\"m1\",\"m2\"],\"position\":0},\"t1\"],"
        "[\"Email/get\",{\"list\":[{\"id\":\"m1\",\"threadId\":\"T1\"},{\"id\":\"m2\","
        "\"threadId\":\"T2\"}],\"notFound\":[]},\"t2\"],"
        "[\"Thread/get\",{\"list\":[{\"id\":\"T1\",\"emailIds\":[\"m1\",\"m3\"]},{\"id\":\"T2\","
        "\"emailIds\":[\"m2\"]}],\"notFound\":[]},\"t3\"]]",
        0, NULL);
}

static void resolve_ok(const char *args_text, const char *want_text)
{
    json_t *responses = responses_rfc();
    json_t *args = json_loads(args_text, 0, NULL);
    json_t *err = jmap_result_refs_resolve(args, responses);
    if (err != NULL)
        fail_msg("error %s for %s", json_string_value(json_object_get(err, "type")), args_text);
    assert_json(args, want_text);
    json_decref(args);
    json_decref(responses);
}

static void test_rfc_examples(void **state)
{
    resolve_ok("{\"accountId\":\"A1\",\"#ids\":{\"resultOf\":\"t0\",\"name\":\"Foo/changes\","
               "\"path\":\"/created\"}}",
               "{\"accountId\":\"A1\",\"ids\":[\"f1\",\"f4\"]}");
    resolve_ok("{\"#ids\":{\"resultOf\":\"t1\",\"name\":\"Email/query\",\"path\":\"/ids\"}}",
               "{\"ids\":[\"m1\",\"m2\"]}");
    resolve_ok("{\"#ids\":{\"resultOf\":\"t2\",\"name\":\"Email/get\","
               "\"path\":\"/list/*/threadId\"}}",
               "{\"ids\":[\"T1\",\"T2\"]}");
    resolve_ok("{\"#ids\":{\"resultOf\":\"t3\",\"name\":\"Thread/get\","
               "\"path\":\"/list/*/emailIds\"}}",
               "{\"ids\":[\"m1\",\"m3\",\"m2\"]}");
    /* Two references in one call. */
    resolve_ok("{\"#a\":{\"resultOf\":\"t1\",\"name\":\"Email/query\",\"path\":\"/position\"},"
               "\"#b\":{\"resultOf\":\"t0\",\"name\":\"Foo/changes\",\"path\":\"/newState\"}}",
               "{\"a\":0,\"b\":\"123456\"}");
}

/* What a reference takes is the method's to change: its containers are
 * copies, so changing them leaves the earlier response as it was. */
static void test_copies(void **state)
{
    (void)state;
    json_t *responses = responses_rfc();
    char *before = json_dumps(responses, JSON_COMPACT);
    json_t *args = json_loads("{\"#e\":{\"resultOf\":\"t2\",\"name\":\"Email/get\","
                              "\"path\":\"/list\"},\"#ids\":{\"resultOf\":\"t1\","
                              "\"name\":\"Email/query\",\"path\":\"/ids\"}}", 0, NULL);
    assert_null(jmap_result_refs_resolve(args, responses));
    json_t *list = json_object_get(args, "e");
    json_t *taken = json_array_get(list, 0);
    assert_ptr_not_equal(taken, json_array_get(json_object_get(json_array_get(
                                                   json_array_get(responses, 2), 1), "list"), 0));
    json_object_set_new(taken, "threadId", json_string("changed"));
    json_array_append_new(list, json_true());
    json_array_clear(json_object_get(args, "ids"));
    char *after = json_dumps(responses, JSON_COMPACT);
    assert_string_equal(before, after);
    free(before);
    free(after);

    json_t *deep = json_loads("{\"a\":[{\"b\":[1,\"x\"]}],\"c\":null}", 0, NULL);
    json_t *copy = jmap_json_copy_containers(deep);
    assert_true(json_equal(copy, deep));
    assert_ptr_not_equal(json_array_get(json_object_get(copy, "a"), 0),
                         json_array_get(json_object_get(deep, "a"), 0));
    json_decref(copy);
    json_decref(deep);
    assert_null(jmap_json_copy_containers(NULL));
    json_decref(args);
    json_decref(responses);
}

static void resolve_fails(const char *args_text, const char *type)
{
    json_t *responses = responses_rfc();
    json_t *args = json_loads(args_text, 0, NULL);
    assert_non_null(args);
    json_t *err = jmap_result_refs_resolve(args, responses);
    if (err == NULL)
        fail_msg("resolved %s", args_text);
    assert_string_equal(json_string_value(json_object_get(err, "type")), type);
    json_decref(err);
    json_decref(args);
    json_decref(responses);
}

static void test_failures(void **state)
{
    const char *const invalid_ref[] = {
        "{\"#ids\":{\"resultOf\":\"nope\",\"name\":\"Email/query\",\"path\":\"/ids\"}}",
        "{\"#ids\":{\"resultOf\":\"t1\",\"name\":\"Email/get\",\"path\":\"/ids\"}}",
        "{\"#ids\":{\"resultOf\":\"t1\",\"name\":\"Email/query\",\"path\":\"/missing\"}}",
        "{\"#ids\":{\"resultOf\":\"t1\",\"name\":\"Email/query\"}}",
        "{\"#ids\":{\"resultOf\":1,\"name\":\"Email/query\",\"path\":\"/ids\"}}",
        "{\"#ids\":\"t1\"}",
        "{\"#ids\":{\"resultOf\":\"t1\",\"name\":\"Email/query\",\"path\":\"ids\"}}",
    };
    for (size_t i = 0; i < sizeof(invalid_ref) / sizeof(invalid_ref[0]); i++)
        resolve_fails(invalid_ref[i], "invalidResultReference");
    resolve_fails("{\"ids\":[],\"#ids\":{\"resultOf\":\"t1\",\"name\":\"Email/query\","
                  "\"path\":\"/ids\"}}",
                  "invalidArguments");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pointer),
        cmocka_unit_test(test_rfc_examples),
        cmocka_unit_test(test_copies),
        cmocka_unit_test(test_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
