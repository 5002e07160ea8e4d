/* test_mailbox_query_cache.c - Mailbox/query results by Mailbox state
 * (api/mail/mailbox_query_cache.c): a hit only for the same account,
 * state and query (filter, sort and both tree flags), ids copied both
 * ways, empty results, clear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../api/mail/mailbox_query_cache.h"

static char *key_of(const char *args_text)
{
    json_t *args = json_loads(args_text, 0, NULL);
    assert_non_null(args);
    char *key = mailbox_query_cache_key(args, json_object_get(args, "filter"),
                                        json_object_get(args, "sort"));
    assert_non_null(key);
    json_decref(args);
    return key;
}

static void assert_miss(const char *account, const char *state, const char *key)
{
    char **ids = NULL;
    size_t n = 7;
    assert_int_equal(mailbox_query_cache_get(account, state, key, &ids, &n), -1);
    assert_null(ids);
    assert_int_equal(n, 0);
}

static void test_hit_and_miss(void **state)
{
    (void)state;
    mailbox_query_cache_clear();
    char *role = key_of("{\"filter\": {\"role\": \"inbox\"}}");
    /* Member order does not matter; values do. */
    char *same = key_of("{\"accountId\": \"x\", \"filter\": {\"role\": \"inbox\"}}");
    assert_string_equal(role, same);
    char *other_role = key_of("{\"filter\": {\"role\": \"junk\"}}");
    char *sorted = key_of("{\"filter\": {\"role\": \"inbox\"}, \"sort\": [{\"property\": \"name\"}]}");
    char *tree = key_of("{\"filter\": {\"role\": \"inbox\"}, \"sortAsTree\": true}");
    char *ftree = key_of("{\"filter\": {\"role\": \"inbox\"}, \"filterAsTree\": true}");
    const char *const keys[] = { other_role, sorted, tree, ftree };
    for (size_t i = 0; i < 4; i++)
        assert_string_not_equal(role, keys[i]);

    char id[] = "Minbox";
    const char *one[] = { id };
    mailbox_query_cache_put("Aacc", "s1", role, one, 1);
    id[0] = 'X';                       /* copied on put */
    char **ids = NULL;
    size_t n = 0;
    assert_int_equal(mailbox_query_cache_get("Aacc", "s1", role, &ids, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], "Minbox");
    ids[0][0] = 'Y';                   /* copied on get */
    free(ids);
    assert_int_equal(mailbox_query_cache_get("Aacc", "s1", same, &ids, &n), 0);
    assert_string_equal(ids[0], "Minbox");
    free(ids);

    assert_miss("Aacc", "s2", role);
    assert_miss("Aother", "s1", role);
    for (size_t i = 0; i < 4; i++)
        assert_miss("Aacc", "s1", keys[i]);

    /* Another state is another entry; an empty result is a hit too. */
    mailbox_query_cache_put("Aacc", "s2", role, NULL, 0);
    assert_int_equal(mailbox_query_cache_get("Aacc", "s2", role, &ids, &n), 0);
    assert_int_equal(n, 0);
    free(ids);

    mailbox_query_cache_clear();
    assert_miss("Aacc", "s2", role);
    free(role);
    free(same);
    free(other_role);
    free(sorted);
    free(tree);
    free(ftree);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_and_miss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
