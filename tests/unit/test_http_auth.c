/* test_http_auth.c - Basic credential parsing, table-driven; the same
 * credentials as a Bearer token (what jmap-jam sends). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "http_gateway.h"

static void test_valid(void **state)
{
    static const struct {
        const char *header, *user, *password;
    } cases[] = {
        { "Basic ZGVtbzpkZW1v", "demo", "demo" },                          /* demo:demo */
        { "basic   ZGVtbzpkZW1v  ", "demo", "demo" },                       /* case, spaces */
        { "Basic YTo=", "a", "" },                                          /* a: */
        { "Basic dTpwOnc6", "u", "p:w:" },                                  /* u:p:w: */
        { "Basic w6l0w6k6bcO2dA==", "\xc3\xa9t\xc3\xa9", "m\xc3\xb6t" },    /* UTF-8 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *user = NULL, *password = NULL;
        assert_int_equal(http_auth_parse_basic(cases[i].header, &user, &password), 0);
        assert_string_equal(user, cases[i].user);
        assert_string_equal(password, cases[i].password);
        free(user);
        http_auth_free_password(&password);
        assert_null(password);
    }
}

static void test_invalid(void **state)
{
    static const char *const cases[] = {
        NULL, "", "Basic", "Basic ", "Bearer abc", "Basic ZGVtbw==", /* no colon */
        "Basic OmRlbW8=",   /* empty user ":demo" */
        "Basic ZGVtbzpkZW1", /* bad length */
        "Basic ZG!tbzpkZW1v", /* bad alphabet */
        "Basic ZGVtbwA6eA==", /* NUL inside "demo\0:x" */
        "Digest username=x",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *user = (char *)"x", *password = (char *)"y";
        if (http_auth_parse_basic(cases[i], &user, &password) != -1)
            fail_msg("accepted \"%s\"", cases[i] ? cases[i] : "(null)");
        assert_null(user);
        assert_null(password);
    }
}

/* http_auth_parse: both schemes; Basic stays Basic-only. */
static void test_bearer(void **state)
{
    static const struct {
        const char *header, *user; /* user NULL: refused */
    } cases[] = {
        { "Bearer ZGVtbzpkZW1v", "demo" },
        { "bearer  ZGVtbzpkZW1v ", "demo" },
        { "Basic ZGVtbzpkZW1v", "demo" },
        { "Bearer dTpwOnc6", "u" },
        { "Bearer abc", NULL },
        { "Bearer ZGVtbw==", NULL },        /* no colon */
        { "Bearer ", NULL },
        { "Bearer", NULL },
        { "BearerZGVtbzpkZW1v", NULL },
        { "Token ZGVtbzpkZW1v", NULL },
        { NULL, NULL },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *user = (char *)"x", *password = (char *)"y";
        int rc = http_auth_parse(cases[i].header, &user, &password);
        if (cases[i].user == NULL) {
            if (rc != -1)
                fail_msg("accepted \"%s\"", cases[i].header ? cases[i].header : "(null)");
            assert_null(user);
            assert_null(password);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_string_equal(user, cases[i].user);
        free(user);
        http_auth_free_password(&password);
    }
    char *user = NULL, *password = NULL;
    assert_int_equal(http_auth_parse_basic("Bearer ZGVtbzpkZW1v", &user, &password), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_bearer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
