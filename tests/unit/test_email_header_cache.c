/* test_email_header_cache.c - the Email header property cache
 * (api/mail/email_header_cache.c): hits only for the same account, Email
 * and property, values shared not copied, replacement in a slot, keys too
 * long refused, clear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../api/mail/email_header_cache.h"

static void test_hit_and_miss(void **state)
{
    (void)state;
    email_header_cache_clear();
    json_t *v = json_pack("[{s:s, s:s}]", "name", "A", "email", "a@example.net");
    email_header_cache_put("Aacc", "Eone", "from", v);
    json_t *got = email_header_cache_get("Aacc", "Eone", "from");
    assert_ptr_equal(got, v);       /* shared, not copied */
    json_decref(got);
    assert_null(email_header_cache_get("Aacc", "Eone", "to"));
    assert_null(email_header_cache_get("Aother", "Eone", "from"));
    assert_null(email_header_cache_get("Aacc", "Etwo", "from"));
    assert_null(email_header_cache_get("Aacc", "Eone", "header:From:asAddresses"));
    json_decref(v);
    /* The cache keeps its own reference. */
    got = email_header_cache_get("Aacc", "Eone", "from");
    assert_non_null(got);
    assert_string_equal(json_string_value(json_object_get(json_array_get(got, 0), "email")),
                        "a@example.net");
    json_decref(got);
    email_header_cache_clear();
    assert_null(email_header_cache_get("Aacc", "Eone", "from"));
}

static void test_replace_and_long_keys(void **state)
{
    (void)state;
    json_t *a = json_string("first"), *b = json_string("second");
    email_header_cache_put("Aacc", "Eone", "subject", a);
    email_header_cache_put("Aacc", "Eone", "subject", b);
    json_t *got = email_header_cache_get("Aacc", "Eone", "subject");
    assert_string_equal(json_string_value(got), "second");
    json_decref(got);
    char prop[300];
    memset(prop, 'x', sizeof(prop) - 1);
    prop[sizeof(prop) - 1] = '\0';
    email_header_cache_put("Aacc", "Eone", prop, a);
    assert_null(email_header_cache_get("Aacc", "Eone", prop));
    email_header_cache_put("Aacc", "Eone", "sentAt", NULL);   /* ignored */
    assert_null(email_header_cache_get("Aacc", "Eone", "sentAt"));
    json_decref(a);
    json_decref(b);
    email_header_cache_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_and_miss),
        cmocka_unit_test(test_replace_and_long_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
