/* test_mailbox_collation.c - the Comparator collations Mailbox/query (and
 * later Email/query) sort names with, and the case-insensitive "contains"
 * of the Mailbox name filter: table-driven over ASCII, Latin, Greek and
 * Cyrillic text, numbers, and bytes that are not UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "jmap_collation.h"

#define U JMAP_COLLATION_UNICODE_CASEMAP
#define A JMAP_COLLATION_ASCII_CASEMAP
#define N JMAP_COLLATION_ASCII_NUMERIC

struct compare_case {
    enum jmap_collation c;
    const char *a, *b;
    int want;               /* -1, 0 or 1 */
};

static const struct compare_case compares[] = {
    { U, "abc", "ABC", 0 },
    { U, "abc", "abd", -1 },
    { U, "ab", "abc", -1 },
    { U, "", "", 0 },
    { U, "\xc3\x84rger", "\xc3\xa4RGER", 0 },              /* Ärger / äRGER */
    { U, "\xce\xa3\xce\x95\xce\xa1", "\xcf\x83\xce\xb5\xcf\x81", 0 }, /* ΣΕΡ / σερ */
    { U, "\xd0\x9f\xd0\xb0\xd0\xbf\xd0\xba\xd0\xb0", "\xd0\xbf\xd0\x90\xd0\x9f\xd0\x9a\xd0\x90", 0 },
    { U, "z", "\xc3\xa9", -1 },                           /* ASCII before é */
    { U, "\xff", "\xfe", 1 },                             /* not UTF-8: by byte */
    { U, "\xc3", "\xc3\xa9", 1 },                         /* truncated sequence */
    { A, "abc", "ABC", 0 },
    { A, "\xc3\x84", "\xc3\xa4", -1 },                    /* ASCII only: Ä != ä */
    { A, "Zeta", "alpha", 1 },
    { N, "10", "9", 1 },
    { N, "009", "9", 0 },
    { N, "9x", "9y", 0 },                                 /* only the digits count */
    { N, "123456789012345678901234567890", "99", 1 },     /* no overflow */
    { N, "abc", "5", 1 },                                 /* no number: infinity */
    { N, "abc", "def", 0 },
    { N, "0", "", -1 },
};

static int sign(int x)
{
    return (x > 0) - (x < 0);
}

static void test_compare(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(compares) / sizeof(compares[0]); i++) {
        const struct compare_case *t = &compares[i];
        print_message("compare %zu\n", i);
        assert_int_equal(sign(jmap_collation_compare(t->c, t->a, t->b)), t->want);
        assert_int_equal(sign(jmap_collation_compare(t->c, t->b, t->a)), -t->want);
    }
}

struct contains_case {
    const char *haystack, *needle;
    bool want;
};

static const struct contains_case contains[] = {
    { "Projects", "JEC", true },
    { "Projects", "", true },
    { "", "a", false },
    { "Projects", "projectss", false },
    { "Caf\xc3\xa9 Cr\xc3\x88me", "\xc3\xa9 cr\xc3\xa8", true },  /* é cr è in Café CrÈme */
    { "\xce\x9c\xce\x95\xce\x99\xce\x9b", "\xce\xb5\xce\xb9", true }, /* ει in ΜΕΙΛ */
    { "abc", "\xc3\xa9", false },
    { "a\xff" "b", "\xff" "B", true },
};

static void test_contains(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(contains) / sizeof(contains[0]); i++) {
        print_message("contains %zu\n", i);
        assert_int_equal(jmap_collation_contains(contains[i].haystack, contains[i].needle),
                         contains[i].want);
    }
}

static void test_parse(void **state)
{
    (void)state;
    enum jmap_collation c = N;
    assert_null(jmap_collation_parse(NULL, &c));
    assert_int_equal(c, U);
    assert_null(jmap_collation_parse("i;ascii-numeric", &c));
    assert_int_equal(c, N);
    assert_null(jmap_collation_parse("i;ascii-casemap", &c));
    assert_int_equal(c, A);
    assert_null(jmap_collation_parse("i;unicode-casemap", &c));
    assert_int_equal(c, U);
    json_t *e = jmap_collation_parse("i;octet", &c);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "type")), "unsupportedSort");
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_contains),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
