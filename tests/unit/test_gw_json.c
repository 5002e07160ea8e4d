/* test_gw_json.c - the reply writer gives exactly json_dumps(JSON_COMPACT)'s
 * bytes, on hand-picked edge cases and on random trees, and fails where
 * json_dumps fails; frozen values are written from their text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gw_json.h"

static void assert_same_as_jansson(const json_t *json)
{
    char *want = json_dumps(json, JSON_COMPACT);
    size_t len = 0;
    char *got = gw_json_dump_compact(json, &len);
    assert_non_null(want);
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_int_equal(len, strlen(want));
    free(want);
    free(got);
}

static void test_edge_cases(void **state)
{
    (void)state;
    json_t *obj = json_object();
    json_object_set_new(obj, "z", json_integer(-9223372036854775807LL - 1));
    json_object_set_new(obj, "a", json_integer(9223372036854775807LL));
    json_object_set_new(obj, "quote\"back\\slash/", json_string("tab\there\nnl\r\b\f"));
    json_object_set_new(obj, "ctl", json_stringn("\x01\x1f\x7f\0end", 8));
    json_object_set_new(obj, "utf8", json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x80\xa8"));
    json_object_set_new(obj, "empty", json_string(""));
    json_object_set_new(obj, "obj", json_object());
    json_object_set_new(obj, "arr", json_pack("[[], {}, null, true, false, 0, 1.5, -2.25e-10, 1e300]"));
    json_object_setn_new(obj, "nul\0key", 7, json_true());
    json_object_set_new(obj, "0", json_real(3.0));
    assert_same_as_jansson(obj);
    json_decref(obj);

    json_t *arr = json_array();
    assert_same_as_jansson(arr);
    json_array_append_new(arr, json_string("only"));
    assert_same_as_jansson(arr);
    json_decref(arr);
}

static json_t *random_value(unsigned *seed, int depth)
{
    int kind = depth > 4 ? rand_r(seed) % 6 : rand_r(seed) % 8;
    switch (kind) {
    case 0: return json_null();
    case 1: return json_boolean(rand_r(seed) & 1);
    case 2: return json_integer((json_int_t)rand_r(seed) * (rand_r(seed) & 1 ? 1 : -99991));
    case 3: return json_real((double)rand_r(seed) / 7.0);
    case 4:
    case 5: {
        static const char *const pieces[] = { "a", "\"", "\\", "\n", "\x02", "\xc3\xa9",
                                              "\xe6\x97\xa5", "\xf0\x9f\x8e\x89", "/", " ", "\t" };
        char buf[64] = "";
        int n = rand_r(seed) % 12;
        for (int i = 0; i < n; i++)
            strcat(buf, pieces[rand_r(seed) % (sizeof(pieces) / sizeof(pieces[0]))]);
        return json_string(buf);
    }
    case 6: {
        json_t *a = json_array();
        int n = rand_r(seed) % 6;
        for (int i = 0; i < n; i++)
            json_array_append_new(a, random_value(seed, depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        int n = rand_r(seed) % 6;
        for (int i = 0; i < n; i++) {
            char key[16];
            snprintf(key, sizeof(key), "k%d\"%c", rand_r(seed) % 50, 'a' + i);
            json_object_set_new(o, key, random_value(seed, depth + 1));
        }
        return o;
    }
    }
}

static void test_random_trees(void **state)
{
    (void)state;
    unsigned seed = 12345;
    for (int i = 0; i < 500; i++) {
        json_t *root = json_object();
        for (int k = 0; k < 4; k++) {
            char key[8];
            snprintf(key, sizeof(key), "r%d", k);
            json_object_set_new(root, key, random_value(&seed, 0));
        }
        assert_same_as_jansson(root);
        json_decref(root);
    }
}

static void test_failures(void **state)
{
    (void)state;
    size_t len = 7;
    assert_null(gw_json_dump_compact(NULL, &len));
    json_t *s = json_string("x");
    assert_null(gw_json_dump_compact(s, &len));
    json_decref(s);

    /* Strings Jansson never validated: json_dumps refuses them, so do we. */
    static const char *const bad[] = { "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *a = json_array();
        json_array_append_new(a, json_stringn_nocheck(bad[i], strlen(bad[i])));
        char *want = json_dumps(a, JSON_COMPACT);
        assert_null(want);
        assert_null(gw_json_dump_compact(a, &len));
        json_decref(a);
    }

    json_t *root = json_array(), *cur = root;
    for (int i = 0; i < GW_JSON_MAX_DEPTH + 5; i++) {
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    assert_null(gw_json_dump_compact(root, &len));
    json_decref(root);
    assert_int_equal(len, 7);
}

static void test_frozen(void **state)
{
    (void)state;
    json_t *shared = json_pack("{s:s, s:[i, {s:b}], s:{}}", "subject", "caf\xc3\xa9 \"x\"",
                               "list", 1, "flag", 1, "empty");
    json_t *root = json_pack("{s:[O, O], s:O}", "list", shared, shared, "again", shared);
    assert_non_null(root);
    assert_int_equal(gw_json_freeze(shared), 0);
    assert_int_equal(gw_json_freeze(shared), 0);   /* again: a no-op, no extra reference */
    assert_same_as_jansson(root);
    assert_same_as_jansson(shared);

    /* The frozen text is what is written: a change (which the contract
     * forbids) does not show until the value is unfrozen. */
    json_object_set_new(shared, "late", json_true());
    char *text = gw_json_dump_compact(root, NULL);
    assert_non_null(text);
    assert_null(strstr(text, "late"));
    free(text);
    gw_json_unfreeze(shared);
    gw_json_unfreeze(shared);                     /* not frozen: ignored */
    gw_json_unfreeze(NULL);
    assert_same_as_jansson(root);
    text = gw_json_dump_compact(root, NULL);
    assert_non_null(strstr(text, "late"));
    free(text);

    /* Only containers that can be dumped are frozen. */
    json_t *s = json_string("x");
    assert_int_equal(gw_json_freeze(s), -1);
    json_decref(s);
    json_t *bad = json_array();
    json_array_append_new(bad, json_stringn_nocheck("\xff", 1));
    assert_int_equal(gw_json_freeze(bad), -1);
    json_decref(bad);
    json_decref(root);
    json_decref(shared);
}

static void test_frozen_bounded(void **state)
{
    (void)state;
    json_t **v = calloc(GW_JSON_FROZEN_MAX + 1, sizeof(*v));
    assert_non_null(v);
    for (size_t i = 0; i <= GW_JSON_FROZEN_MAX; i++) {
        v[i] = json_pack("[i]", (json_int_t)i);
        assert_int_equal(gw_json_freeze(v[i]), i < GW_JSON_FROZEN_MAX ? 0 : -1);
    }
    /* Room again once one is unfrozen; each dumps as its own. */
    gw_json_unfreeze(v[7]);
    assert_int_equal(gw_json_freeze(v[GW_JSON_FROZEN_MAX]), 0);
    for (size_t i = 0; i <= GW_JSON_FROZEN_MAX; i += 997)
        assert_same_as_jansson(v[i]);
    for (size_t i = 0; i <= GW_JSON_FROZEN_MAX; i++) {
        gw_json_unfreeze(v[i]);
        json_decref(v[i]);
    }
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_random_trees),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_frozen),
        cmocka_unit_test(test_frozen_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
