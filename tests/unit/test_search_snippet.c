/* test_search_snippet.c - the terms SearchSnippet/get highlights: tokens
 * and quoted phrases of text/subject/body conditions, none under NOT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../api/mail/email_query.h"

static const struct {
    const char *filter;
    const char *want;   /* terms joined by '|' */
} cases[] = {
    { "{\"text\": \"hello\"}", "hello" },
    { "{\"text\": \"  hello   world \"}", "hello|world" },
    { "{\"subject\": \"\\\"budget plan\\\" q3\"}", "budget plan|q3" },
    { "{\"body\": \"'it\\\\'s here'\"}", "it's here" },
    { "{\"text\": \"\\\"a \\\\\\\" b\\\"\"}", "a \" b" },
    { "{\"text\": \"\\\"unclosed phrase\"}", "unclosed phrase" },
    { "{\"text\": \"\\\"\\\" ''\"}", "" },
    { "{\"from\": \"alice\", \"header\": [\"X\", \"y\"]}", "" },
    { "{\"operator\": \"OR\", \"conditions\": [{\"text\": \"a\"}, {\"operator\": \"AND\","
      " \"conditions\": [{\"body\": \"b c\"}]}]}", "a|b|c" },
    { "{\"operator\": \"AND\", \"conditions\": [{\"text\": \"keep\"}, {\"operator\": \"NOT\","
      " \"conditions\": [{\"text\": \"drop\"}]}]}", "keep" },
};

static void test_terms(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *f = json_loads(cases[i].filter, 0, NULL);
        assert_non_null(f);
        char *terms[SEARCH_SNIPPET_MAX_TERMS];
        size_t n = search_snippet_terms(f, terms, 0, 0);
        char joined[256] = "";
        size_t used = 0;
        for (size_t t = 0; t < n; t++) {
            int len = snprintf(joined + used, sizeof(joined) - used, "%s%s", t ? "|" : "",
                               terms[t]);
            assert_true(len >= 0 && (size_t)len < sizeof(joined) - used);
            used += (size_t)len;
            free(terms[t]);
        }
        if (strcmp(joined, cases[i].want) != 0)
            fail_msg("terms of %s: \"%s\", want \"%s\"", cases[i].filter, joined, cases[i].want);
        json_decref(f);
    }
}

/* Never more than SEARCH_SNIPPET_MAX_TERMS, whatever the filter holds. */
static void test_bounded(void **state)
{
    (void)state;
    char text[4 * 100 + 1];
    for (size_t i = 0; i < 100; i++)
        memcpy(text + 4 * i, "ab  ", 4);
    text[sizeof(text) - 1] = '\0';
    json_t *f = json_pack("{s:s}", "text", text);
    char *terms[SEARCH_SNIPPET_MAX_TERMS];
    size_t n = search_snippet_terms(f, terms, 0, 0);
    assert_int_equal(n, SEARCH_SNIPPET_MAX_TERMS);
    for (size_t t = 0; t < n; t++) {
        assert_string_equal(terms[t], "ab");
        free(terms[t]);
    }
    json_decref(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_terms),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
