/* test_blob_id.c - blob ids round-trip and reject everything else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "jmap_blob.h"

static void test_round_trip(void **state)
{
    (void)state;
    static const struct { const char *email, *part, *blob; } cases[] = {
        { "Eabcdefghijklm", NULL, "BEabcdefghijklm" },
        { "Eabcdefghijklm", "", "BEabcdefghijklm" },
        { "Eabcdefghijklm", "1", "BEabcdefghijklm_1" },
        { "Eabcdefghijklm", "1.2.10", "BEabcdefghijklm_1-2-10" },
        { "E-x", "3", "BE-x_3" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char blob[JMAP_BLOB_ID_MAX], email[JMAP_BLOB_ID_MAX], part[JMAP_BLOB_ID_MAX];
        assert_true(jmap_blob_id_make(cases[i].email, cases[i].part, blob));
        assert_string_equal(blob, cases[i].blob);
        assert_true(jmap_blob_id_parse(blob, email, part));
        assert_string_equal(email, cases[i].email);
        assert_string_equal(part, cases[i].part != NULL ? cases[i].part : "");
    }
}

static void test_rejects(void **state)
{
    (void)state;
    char blob[JMAP_BLOB_ID_MAX], email[JMAP_BLOB_ID_MAX], part[JMAP_BLOB_ID_MAX];
    static const char *const bad_parts[] = { "1.", ".1", "1..2", "a", "1.x", "-1" };
    for (size_t i = 0; i < sizeof(bad_parts) / sizeof(bad_parts[0]); i++)
        assert_false(jmap_blob_id_make("Eabc", bad_parts[i], blob));
    assert_false(jmap_blob_id_make("", "1", blob));
    assert_false(jmap_blob_id_make("E_b", "1", blob));
    assert_false(jmap_blob_id_make("E.b", NULL, blob));
    char long_id[JMAP_BLOB_ID_MAX];
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    assert_false(jmap_blob_id_make(long_id, NULL, blob));

    static const char *const bad_blobs[] = {
        "", "B", "X", "Eabc", "B_1", "BEabc_", "BEabc_1-", "BEabc_-1", "BEabc_1--2",
        "BEabc_1_2", "BEa.c", "BEabc_1.2", "bEabc",
    };
    for (size_t i = 0; i < sizeof(bad_blobs) / sizeof(bad_blobs[0]); i++)
        assert_false(jmap_blob_id_parse(bad_blobs[i], email, part));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
