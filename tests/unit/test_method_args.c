/* test_method_args.c - the standard /get /changes /query /queryChanges
 * argument checks, table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "jmap_args.h"

static const struct jmap_core_limits limits = { .max_objects_in_get = 3,
                                                 .max_size_request = 1000,
                                                 .max_calls_in_request = 4 };
static const struct jmap_request_ctx ctx = { .limits = &limits, .account_id = "A1" };
static const char *const known[] = { "id", "name", "role", NULL };
static const char *const extra[] = { "fetchThing", NULL };

enum kind { GET, CHANGES, QUERY, QUERY_CHANGES };

static json_t *check(enum kind kind, json_t *args, json_t *created)
{
    struct jmap_invocation inv = { .ctx = &ctx, .created_ids = created };
    struct jmap_get_args g;
    struct jmap_changes_args c;
    struct jmap_query_args q;
    struct jmap_query_changes_args qc;
    switch (kind) {
    case GET:
        return jmap_args_get(&inv, args, known, extra, &g);
    case CHANGES:
        return jmap_args_changes(args, extra, &c);
    case QUERY:
        return jmap_args_query(args, extra, &q);
    case QUERY_CHANGES:
        return jmap_args_query_changes(args, extra, &qc);
    }
    return NULL;
}

static void test_table(void **state)
{
    static const struct {
        enum kind kind;
        const char *args;
        const char *error;      /* NULL: valid */
        const char *argument;   /* named in "arguments" */
    } cases[] = {
        { GET, "{\"accountId\":\"A1\"}", NULL, NULL },
        { GET, "{\"ids\":null,\"properties\":null}", NULL, NULL },
        { GET, "{\"ids\":[\"a\",\"b-_9\"],\"properties\":[\"name\"]}", NULL, NULL },
        { GET, "{\"fetchThing\":true}", NULL, NULL },
        { GET, "{\"ids\":\"a\"}", "invalidArguments", "ids" },
        { GET, "{\"ids\":[1]}", "invalidArguments", "ids" },
        { GET, "{\"ids\":[\"a b\"]}", "invalidArguments", "ids" },
        { GET, "{\"ids\":[\"#nope\"]}", "invalidArguments", "ids" },
        { GET, "{\"ids\":[\"a\",\"b\",\"c\",\"d\"]}", "requestTooLarge", NULL },
        { GET, "{\"properties\":[\"bogus\"]}", "invalidArguments", "properties" },
        { GET, "{\"properties\":\"name\"}", "invalidArguments", "properties" },
        { GET, "{\"unknownArg\":1}", "invalidArguments", "unknownArg" },
        { CHANGES, "{\"sinceState\":\"5\"}", NULL, NULL },
        { CHANGES, "{\"sinceState\":\"5\",\"maxChanges\":null}", NULL, NULL },
        { CHANGES, "{}", "invalidArguments", "sinceState" },
        { CHANGES, "{\"sinceState\":5}", "invalidArguments", "sinceState" },
        { CHANGES, "{\"sinceState\":\"5\",\"maxChanges\":0}", "invalidArguments", "maxChanges" },
        { CHANGES, "{\"sinceState\":\"5\",\"maxChanges\":-1}", "invalidArguments", "maxChanges" },
        { CHANGES, "{\"sinceState\":\"5\",\"maxChanges\":1.5}", "invalidArguments", "maxChanges" },
        { QUERY, "{}", NULL, NULL },
        { QUERY, "{\"filter\":{\"role\":\"inbox\"},\"sort\":[{\"property\":\"name\"}],"
                 "\"position\":-5,\"limit\":0,\"calculateTotal\":true}", NULL, NULL },
        { QUERY, "{\"anchor\":\"m1\",\"anchorOffset\":-2}", NULL, NULL },
        { QUERY, "{\"filter\":[]}", "invalidArguments", "filter" },
        { QUERY, "{\"sort\":{}}", "invalidArguments", "sort" },
        { QUERY, "{\"sort\":[{\"isAscending\":true}]}", "invalidArguments", "sort" },
        { QUERY, "{\"sort\":[{\"property\":\"a\",\"isAscending\":1}]}", "invalidArguments", "sort" },
        { QUERY, "{\"limit\":-1}", "invalidArguments", "limit" },
        { QUERY, "{\"position\":\"0\"}", "invalidArguments", "position" },
        { QUERY, "{\"position\":9007199254740992}", "invalidArguments", "position" },
        { QUERY, "{\"anchor\":\"\"}", "invalidArguments", "anchor" },
        { QUERY, "{\"calculateTotal\":\"yes\"}", "invalidArguments", "calculateTotal" },
        { QUERY_CHANGES, "{\"sinceQueryState\":\"q1\",\"upToId\":\"m9\"}", NULL, NULL },
        { QUERY_CHANGES, "{}", "invalidArguments", "sinceQueryState" },
        { QUERY_CHANGES, "{\"sinceQueryState\":\"q\",\"upToId\":\"a/b\"}", "invalidArguments",
          "upToId" },
        { QUERY_CHANGES, "{\"sinceQueryState\":\"q\",\"position\":1}", "invalidArguments",
          "position" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *args = json_loads(cases[i].args, 0, NULL);
        assert_non_null(args);
        json_t *err = check(cases[i].kind, args, NULL);
        if (cases[i].error == NULL) {
            if (err != NULL)
                fail_msg("case %zu %s: %s", i, cases[i].args,
                         json_string_value(json_object_get(err, "description")));
        } else {
            if (err == NULL)
                fail_msg("case %zu %s accepted", i, cases[i].args);
            assert_string_equal(json_string_value(json_object_get(err, "type")), cases[i].error);
            if (cases[i].argument != NULL)
                assert_string_equal(
                    json_string_value(json_array_get(json_object_get(err, "arguments"), 0)),
                    cases[i].argument);
        }
        json_decref(err);
        json_decref(args);
    }
}

static void test_query_values_and_rules(void **state)
{
    json_t *args = json_loads("{\"anchor\":\"m1\",\"anchorOffset\":-2,\"position\":7,"
                              "\"limit\":50}", 0, NULL);
    struct jmap_query_args q;
    assert_null(jmap_args_query(args, NULL, &q));
    assert_string_equal(q.anchor, "m1");
    assert_int_equal(q.anchor_offset, -2);
    assert_int_equal(q.position, 0);   /* ignored with an anchor */
    assert_true(q.has_limit);
    assert_int_equal(q.limit, 50);
    json_decref(args);

    args = json_loads("{\"anchorOffset\":-2,\"position\":7}", 0, NULL);
    assert_null(jmap_args_query(args, NULL, &q));
    assert_null(q.anchor);
    assert_int_equal(q.anchor_offset, 0);   /* ignored without an anchor */
    assert_int_equal(q.position, 7);
    assert_false(q.has_limit);
    json_decref(args);
}

static void test_get_creation_ids(void **state)
{
    json_t *created = json_pack("{s:s}", "c1", "Mreal");
    json_t *args = json_loads("{\"ids\":[\"#c1\",\"Mother\"]}", 0, NULL);
    struct jmap_invocation inv = { .ctx = &ctx, .created_ids = created };
    struct jmap_get_args g;
    assert_null(jmap_args_get(&inv, args, known, NULL, &g));
    assert_int_equal(json_array_size(g.ids), 2);
    assert_string_equal(json_string_value(json_array_get(g.ids, 0)), "Mreal");
    assert_string_equal(json_string_value(json_array_get(g.ids, 1)), "Mother");
    json_decref(args);
    json_decref(created);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_query_values_and_rules),
        cmocka_unit_test(test_get_creation_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
