/* test_body_text.c - HTML to text, previews, snippets and keywords,
 * table-driven, plus robustness over every prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "jmap_message.h"
#include "jmap_text.h"

static void test_html_to_text(void **state)
{
    static const struct {
        const char *html, *text;
    } cases[] = {
        { "<p>Hello <b>world</b></p>", "\nHello world\n" },
        { "a<br>b<br/>c", "a\nb\nc" },
        { "<html><head><title>T</title><style>p{}</style></head><body>x</body></html>", "x" },
        { "<script>alert('<p>')</script>ok", "ok" },
        { "<!-- <p>hidden</p> -->shown", "shown" },
        { "&lt;tag&gt; &amp; &quot;q&quot; &#65;&#x42; &euro;", "<tag> & \"q\" AB \xe2\x82\xac" },
        { "a&nbsp;b", "a b" },
        { "&bogus; &#xZZ; & alone &#0;", "&bogus; &#xZZ; & alone &#0;" },
        { "1 < 2 and 3 > 2", "1 < 2 and 3 > 2" },
        { "line\r\nbreak", "line  break" },
        { "<div>unclosed <a href=\"x", "\nunclosed " },
        { "", "" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = jmap_html_to_text(cases[i].html, strlen(cases[i].html));
        assert_non_null(t);
        if (strcmp(t, cases[i].text) != 0)
            fail_msg("case %zu: got \"%s\" want \"%s\"", i, t, cases[i].text);
        free(t);
    }
}

static void test_preview(void **state)
{
    static const struct {
        const char *text;
        size_t max;
        const char *want;
    } cases[] = {
        { "  Hello,\n\n  world  \n", 256, "Hello, world" },
        { "Reply here\n> quoted line\n>> more\nafter", 256, "Reply here after" },
        { "Body\n-- \nSignature", 256, "Body" },
        { "abcdef", 3, "abc" },
        { "\xc3\xa9\xc3\xa9\xc3\xa9", 2, "\xc3\xa9\xc3\xa9" },   /* characters, not bytes */
        { "a b", 2, "a " },
        { "", 256, "" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *p = jmap_preview_from_text(cases[i].text, strlen(cases[i].text), cases[i].max);
        assert_non_null(p);
        if (strcmp(p, cases[i].want) != 0)
            fail_msg("case %zu: got \"%s\" want \"%s\"", i, p, cases[i].want);
        free(p);
    }
}

static void test_snippet(void **state)
{
    const char *money[] = { "money" };
    const char *two[] = { "free", "money" };
    bool matched;
    char *s = jmap_snippet_highlight("Make MONEY fast & <easy>", 24, money, 1, 255, &matched);
    assert_true(matched);
    assert_string_equal(s, "Make <mark>MONEY</mark> fast &amp; &lt;easy&gt;");
    free(s);

    s = jmap_snippet_highlight("free money, free!", 17, two, 2, 255, &matched);
    assert_string_equal(s, "<mark>free</mark> <mark>money</mark>, <mark>free</mark>!");
    free(s);

    s = jmap_snippet_highlight("nothing here", 12, money, 1, 255, &matched);
    assert_null(s);
    assert_false(matched);

    /* A long text: a window around the match, never over 255 octets, never
     * a cut character or entity. */
    char long_text[2000];
    memset(long_text, 'x', sizeof(long_text));
    memcpy(long_text + 1500, " money ", 7);
    for (size_t k = 1507; k + 2 < sizeof(long_text); k += 3)
        memcpy(long_text + k, "\xc3\xa9&", 3);
    s = jmap_snippet_highlight(long_text, sizeof(long_text), money, 1, 255, &matched);
    assert_true(matched);
    assert_true(strlen(s) <= 255);
    assert_non_null(strstr(s, "<mark>money</mark>"));
    assert_true(jmap_utf8_valid(s, strlen(s)));
    size_t sl = strlen(s);
    assert_true(s[sl - 1] == ';' || ((unsigned char)s[sl - 1] & 0x80) != 0);
    free(s);
}

static void test_keywords(void **state)
{
    static const struct {
        const char *imap, *jmap;   /* jmap NULL: skipped */
    } cases[] = {
        { "\\Seen", "$seen" },     { "\\SEEN", "$seen" },   { "\\Flagged", "$flagged" },
        { "\\Answered", "$answered" }, { "\\Draft", "$draft" }, { "\\Recent", NULL },
        { "\\Deleted", NULL },     { "\\Other", NULL },     { "$Forwarded", "$forwarded" },
        { "NonJunk", "nonjunk" },  { "bad(kw", NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool skip;
        char *k = jmap_keyword_from_imap(cases[i].imap, &skip);
        if (cases[i].jmap == NULL) {
            assert_null(k);
            assert_true(skip);
        } else {
            assert_non_null(k);
            assert_string_equal(k, cases[i].jmap);
        }
        free(k);
    }
    char *f = jmap_keyword_to_imap("$seen");
    assert_string_equal(f, "\\Seen");
    free(f);
    f = jmap_keyword_to_imap("$forwarded");
    assert_string_equal(f, "$forwarded");
    free(f);
    assert_null(jmap_keyword_to_imap("a b"));
    assert_null(jmap_keyword_to_imap(""));
    assert_false(jmap_keyword_is_valid("x*y"));
    assert_false(jmap_keyword_is_valid("\xc3\xa9"));
    assert_true(jmap_keyword_is_valid("$junk"));
}

/* Every prefix of awkward inputs, in exact-size copies so ASan sees any
 * over-read; output always valid UTF-8. */
static void test_prefixes(void **state)
{
    static const char *const inputs[] = {
        "<p>a &amp; b<!-- c --><script>x</script>&#x20AC;</p>\xc3\xa9<br",
        "&#1234567890; &am <!-- never ends",
        "> q\n-- \nsig \xe2\x82\xac money",
    };
    const char *terms[] = { "money", "a" };
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        size_t n = strlen(inputs[i]);
        for (size_t len = 0; len <= n; len++) {
            char *copy = malloc(len ? len : 1);
            memcpy(copy, inputs[i], len);
            char *t = jmap_html_to_text(copy, len);
            char *p = jmap_preview_from_text(copy, len, 10);
            bool m;
            char *s = jmap_snippet_highlight(copy, len, terms, 2, 40, &m);
            assert_non_null(t);
            assert_non_null(p);
            assert_true(s == NULL || strlen(s) <= 40);
            free(t);
            free(p);
            free(s);
            free(copy);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_to_text),
        cmocka_unit_test(test_preview),
        cmocka_unit_test(test_snippet),
        cmocka_unit_test(test_keywords),
        cmocka_unit_test(test_prefixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
