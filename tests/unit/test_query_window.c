/* test_query_window.c - the RFC 8620 §5.5 window of a /query result
 * (position, anchor, anchorOffset, limit) and the /query response built
 * from it, table-driven over one five-id result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "jmap_query.h"

static const char *const ids[] = { "a", "b", "c", "d", "e" };
#define N_IDS (sizeof(ids) / sizeof(ids[0]))

struct window_case {
    const char *name;
    int64_t position;
    const char *anchor;
    int64_t anchor_offset;
    bool has_limit;
    uint64_t limit;
    size_t n;                   /* ids considered: a prefix of ids[] */
    const char *error;          /* expected method error type, or NULL */
    size_t start, count;
};

static const struct window_case cases[] = {
    { "everything", 0, NULL, 0, false, 0, 5, NULL, 0, 5 },
    { "position", 2, NULL, 0, false, 0, 5, NULL, 2, 3 },
    { "position and limit", 1, NULL, 0, true, 2, 5, NULL, 1, 2 },
    { "limit zero", 0, NULL, 0, true, 0, 5, NULL, 0, 0 },
    { "limit past the end", 3, NULL, 0, true, 10, 5, NULL, 3, 2 },
    { "position at the end", 5, NULL, 0, false, 0, 5, NULL, 5, 0 },
    { "position past the end", 9, NULL, 0, false, 0, 5, NULL, 5, 0 },
    { "negative position", -2, NULL, 0, false, 0, 5, NULL, 3, 2 },
    { "negative position, limit", -4, NULL, 0, true, 1, 5, NULL, 1, 1 },
    { "negative past the start", -9, NULL, 0, false, 0, 5, NULL, 0, 5 },
    { "most negative position", INT64_MIN, NULL, 0, false, 0, 5, NULL, 0, 5 },
    { "anchor", 0, "c", 0, false, 0, 5, NULL, 2, 3 },
    { "anchor overrides position", 4, "b", 0, true, 2, 5, NULL, 1, 2 },
    { "anchor, negative offset", 0, "d", -2, true, 2, 5, NULL, 1, 2 },
    { "anchor, offset before start", 0, "b", -7, false, 0, 5, NULL, 0, 5 },
    { "anchor, positive offset", 0, "a", 3, false, 0, 5, NULL, 3, 2 },
    { "anchor, offset past end", 0, "e", 4, false, 0, 5, NULL, 5, 0 },
    { "anchor, most negative offset", 0, "e", INT64_MIN, false, 0, 5, NULL, 0, 5 },
    { "anchor not found", 0, "z", 0, false, 0, 5, "anchorNotFound", 0, 0 },
    { "anchor outside the result", 0, "e", 0, false, 0, 3, "anchorNotFound", 0, 0 },
    { "empty result", 0, NULL, 0, false, 0, 0, NULL, 0, 0 },
    { "empty result, negative", -1, NULL, 0, true, 3, 0, NULL, 0, 0 },
    { "anchor in an empty result", 0, "a", 0, false, 0, 0, "anchorNotFound", 0, 0 },
};

static void test_window_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct window_case *c = &cases[i];
        struct jmap_query_args q = { .position = c->position, .anchor = c->anchor,
                                     .anchor_offset = c->anchor_offset,
                                     .has_limit = c->has_limit, .limit = c->limit };
        size_t start = 77, count = 77;
        json_t *e = jmap_query_window(&q, ids, c->n, &start, &count);
        print_message("case: %s\n", c->name);
        if (c->error != NULL) {
            assert_non_null(e);
            assert_string_equal(json_string_value(json_object_get(e, "type")), c->error);
            json_decref(e);
            continue;
        }
        assert_null(e);
        assert_int_equal(start, c->start);
        assert_int_equal(count, c->count);
        assert_true(start + count <= c->n);
    }
}

/* The response carries exactly the window, the position and (only when
 * asked) the total of the whole result. */
static void test_response(void **state)
{
    (void)state;
    json_t *r = jmap_query_response("A1", "42", false, ids, 1, 3, N_IDS, true);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "accountId")), "A1");
    assert_string_equal(json_string_value(json_object_get(r, "queryState")), "42");
    assert_true(json_is_false(json_object_get(r, "canCalculateChanges")));
    assert_int_equal(json_integer_value(json_object_get(r, "position")), 1);
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 5);
    json_t *list = json_object_get(r, "ids");
    assert_int_equal(json_array_size(list), 3);
    assert_string_equal(json_string_value(json_array_get(list, 0)), "b");
    assert_string_equal(json_string_value(json_array_get(list, 2)), "d");
    json_decref(r);

    r = jmap_query_response("A1", "7", true, ids, 5, 0, N_IDS, false);
    assert_non_null(r);
    assert_null(json_object_get(r, "total"));
    assert_true(json_is_true(json_object_get(r, "canCalculateChanges")));
    assert_int_equal(json_array_size(json_object_get(r, "ids")), 0);
    assert_int_equal(json_integer_value(json_object_get(r, "position")), 5);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_table),
        cmocka_unit_test(test_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
