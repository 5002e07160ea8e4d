/* test_charset.c - charset labels, decoding to UTF-8, UTF-8 sanitising.
 *
 * Expected outputs were produced by an independent decoder (CPython's
 * codecs) from the Unicode text, not by the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jmap_message.h"

/* A byte string literal with its length (inputs may hold NUL). */
#define B(s) s, sizeof(s) - 1

struct decode_case {
    const char *label;
    const char *in;
    size_t in_len;
    const char *out;
    size_t out_len;
    bool problem;
};

static const struct decode_case decode_cases[] = {
    /* UTF-8 and its labels */
    { "utf-8", B("caf\xc3\xa9"), B("caf\xc3\xa9"), false },
    { "UTF8", B("caf\xc3\xa9"), B("caf\xc3\xa9"), false },
    { "unicode-1-1-utf-8", B("\xe2\x82\xac"), B("\xe2\x82\xac"), false },
    { "utf-8", B("a\xff" "b"), B("a\xef\xbf\xbd" "b"), true },
    { "utf-8", B("\xe2\x82"), B("\xef\xbf\xbd"), true },
    { "utf-8", B("\xc0\xaf"), B("\xef\xbf\xbd\xef\xbf\xbd"), true },
    { "utf-8", B("\xed\xa0\x80"), B("\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"), true },
    { "utf-8", B("\xf4\x90\x80\x80"), B("\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"), true },
    { "utf-8", B("a\0b"), B("ab"), false },
    /* Latin-1 labels read as windows-1252 (WHATWG) */
    { "latin1", B("caf\xe9"), B("caf\xc3\xa9"), false },
    { "iso_8859-1", B("caf\xe9"), B("caf\xc3\xa9"), false },
    { "ISO_8859-1:1987", B("\xe9"), B("\xc3\xa9"), false },
    { "ISO-8859-1", B("\x93quoted\x94"), B("\xe2\x80\x9cquoted\xe2\x80\x9d"), false },
    { "cp1252", B("\x80 5"), B("\xe2\x82\xac 5"), false },
    { "windows-1252", B("a\x81" "b"), B("a\xef\xbf\xbd" "b"), true },
    { "windows-1252", B("\xc3\xa9"), B("\xc3\x83\xc2\xa9"), false },
    /* us-ascii: 8-bit fallback */
    { "us-ascii", B("plain"), B("plain"), false },
    { "US-ASCII", B("caf\xc3\xa9"), B("caf\xc3\xa9"), false },
    { "us-ascii", B("caf\xe9"), B("caf\xc3\xa9"), true },
    /* WHATWG supersets */
    { "iso-8859-9", B("\xfd\x80"), B("\xc4\xb1\xe2\x82\xac"), false },
    { "tis-620", B("\xa1"), B("\xe0\xb8\x81"), false },
    { "gb2312", B("\xc4\xe3\xba\xc3"), B("\xe4\xbd\xa0\xe5\xa5\xbd"), false },
    { "GBK", B("\x81@"), B("\xe4\xb8\x82"), false },
    { "gb2312", B("\x81@"), B("\xe4\xb8\x82"), false },
    { "GB18030", B("\xa2\xe3\x94" "9\xfc" "6"), B("\xe2\x82\xac\xf0\x9f\x98\x80"), false },
    { "big5", B("\xa4\xa4\xa4\xe5"), B("\xe4\xb8\xad\xe6\x96\x87"), false },
    { "Big5", B("\xad\xbb\xb4\xe4"), B("\xe9\xa6\x99\xe6\xb8\xaf"), false },
    { "Shift_JIS", B("\x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd"), B("\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf"), false },
    { "shift_jis", B("\x87@"), B("\xe2\x91\xa0"), false },
    { "EUC-JP", B("\xc6\xfc\xcb\xdc\xb8\xec"), B("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"), false },
    { "ISO-2022-JP", B("\x1b$B$3$s$K$A$O@$3&\x1b(B"), B("\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf\xe4\xb8\x96\xe7\x95\x8c"), false },
    { "EUC-KR", B("\xc7\xd1\xb1\xdb"), B("\xed\x95\x9c\xea\xb8\x80"), false },
    { "ks_c_5601-1987", B("\xc7\xd1\xb1\xdb"), B("\xed\x95\x9c\xea\xb8\x80"), false },
    { "ks_c_5601-1987", B("\x81" "A"), B("\xea\xb0\x82"), false },
    { "KOI8-R", B("\xf0\xd2\xc9\xd7\xc5\xd4"), B("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"), false },
    { "koi8-u", B("\xf5\xcb\xd2\xc1\xa7\xce\xc1 \xa4"), B("\xd0\xa3\xd0\xba\xd1\x80\xd0\xb0\xd1\x97\xd0\xbd\xd0\xb0 \xd1\x94"), false },
    { "windows-1251", B("\xcf\xf0\xe8\xe2\xe5\xf2"), B("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"), false },
    { "windows-1250", B("\xa3\xf3" "d\x9f"), B("\xc5\x81\xc3\xb3" "d\xc5\xba"), false },
    { "iso-8859-2", B("\xb1\xea"), B("\xc4\x85\xc4\x99"), false },
    { "iso-8859-5", B("\xbf\xe0\xd8\xd2\xd5\xe2"), B("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"), false },
    { "ISO-8859-7", B("\xc3\xe5\xe9\xdc"), B("\xce\x93\xce\xb5\xce\xb9\xce\xac"), false },
    { "ISO-8859-8-i", B("\xf9\xec\xe5\xed"), B("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d"), false },
    { "iso-8859-15", B("\xa4"), B("\xe2\x82\xac"), false },
    { "utf-7", B("Hi Mom -+Jjo--!"), B("Hi Mom -\xe2\x98\xba-!"), false },
    { "unicode-1-1-utf-7", B("+ZeVnLA-"), B("\xe6\x97\xa5\xe6\x9c\xac"), false },
    /* UTF-16 and its byte order marks (RFC 2781) */
    { "utf-16", B("\xff\xfeh\0i\0"), B("hi"), false },
    { "UTF-16", B("\xfe\xff\0h\0i"), B("hi"), false },
    { "utf-16", B("\0h\0i"), B("hi"), false },
    { "utf-16le", B("h\0i\0"), B("hi"), false },
    { "utf-16be", B("\0h\0i"), B("hi"), false },
    { "utf-16", B("\0h\0"), B("h\xef\xbf\xbd"), true },
    { "utf-16be", B("\xd8\x3d\xde\x00"), B("\xf0\x9f\x98\x80"), false },
    { "utf-16be", B("\0a\0\0\0b"), B("ab"), false },
    /* Broken multibyte input */
    { "gb2312", B("\xc4\xe3\xba"), B("\xe4\xbd\xa0\xef\xbf\xbd"), true },
    { "Shift_JIS", B("\x82\xb1\xff\x82\xf1"), B("\xe3\x81\x93\xef\xbf\xbd\xe3\x82\x93"), true },
    { "euc-kr", B("\xc7"), B("\xef\xbf\xbd"), true },
    /* glibc names beyond our table */
    { "IBM850", B("\x82"), B("\xc3\xa9"), false },
    /* Unknown labels: 8-bit fallback, always a problem */
    { "x-unknown", B("plain"), B("plain"), true },
    { "unknown-8bit", B("caf\xc3\xa9"), B("caf\xc3\xa9"), true },
    { "x-unknown", B("caf\xe9"), B("caf\xc3\xa9"), true },
    { "utf-8//TRANSLIT", B("caf\xc3\xa9"), B("caf\xc3\xa9"), true },
    { "", B("a"), B("a"), true },
    { NULL, B("caf\xc3\xa9"), B("caf\xc3\xa9"), false },
    { NULL, B("caf\xe9"), B("caf\xc3\xa9"), true },
};

static void test_decode_table(void **state)
{
    for (size_t i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++) {
        const struct decode_case *c = &decode_cases[i];
        bool problem = false;
        size_t len = 0;
        char *out = jmap_charset_decode(c->label, c->in, c->in_len, &len, &problem);
        assert_non_null(out);
        if (len != c->out_len || memcmp(out, c->out, len) != 0 || problem != c->problem) {
            print_error("case %zu (%s): got %zu bytes \"%s\" problem=%d\n", i,
                        c->label ? c->label : "(null)", len, out, problem);
            fail();
        }
        assert_int_equal(strlen(out), len);
        free(out);
    }
}

static void test_known_labels(void **state)
{
    static const char *const known[] = {
        "utf-8", "UTF8", "latin1", "iso_8859-1", "cp1252", "unicode-1-1-utf-7", "ks_c_5601-1987",
        "gb2312", "ISO-8859-8-i", "us-ascii", "ISO-8859-16", "koi8-r", "Windows-1258", "csISO2022JP",
        "ibm866", "utf-16", "UTF-32",
    };
    static const char *const unknown[] = {
        "x-unknown", "unknown-8bit", "", "iso-8859-12", "iso-8859-17", "utf-8//TRANSLIT",
        "foo bar baz", "x-user-defined", "../../etc/passwd", "default",
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (!jmap_charset_is_known(known[i]))
            fail_msg("%s should be known", known[i]);
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        if (jmap_charset_is_known(unknown[i]))
            fail_msg("%s should be unknown", unknown[i]);
    assert_false(jmap_charset_is_known(NULL));
}

static void test_utf8_valid(void **state)
{
    assert_true(jmap_utf8_valid(B("")));
    assert_true(jmap_utf8_valid(B("plain ascii")));
    assert_true(jmap_utf8_valid(B("\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf")));
    assert_true(jmap_utf8_valid(B("a\0b")));
    assert_false(jmap_utf8_valid(B("\x80")));
    assert_false(jmap_utf8_valid(B("\xc1\xbf")));          /* overlong */
    assert_false(jmap_utf8_valid(B("\xe0\x9f\xbf")));      /* overlong */
    assert_false(jmap_utf8_valid(B("\xed\xbf\xbf")));      /* surrogate */
    assert_false(jmap_utf8_valid(B("\xf4\x90\x80\x80")));  /* > U+10FFFF */
    assert_false(jmap_utf8_valid(B("\xf5\x80\x80\x80")));
    assert_false(jmap_utf8_valid(B("\xe2\x82")));          /* truncated */
}

static void test_utf8_sanitize(void **state)
{
    static const struct {
        const char *in;
        size_t in_len;
        const char *out;
        bool problem;
    } cases[] = {
        { B("hello"), "hello", false },
        { B("nul\0dropped"), "nuldropped", false },
        { B("\xe2\x82\xac"), "\xe2\x82\xac", false },
        { B("\xe2\x82" "x"), "\xef\xbf\xbd" "x", true },
        { B("\xf0\x9f\x98"), "\xef\xbf\xbd", true },
        { B("\xfe\xff"), "\xef\xbf\xbd\xef\xbf\xbd", true },
        { B("\x80\x80"), "\xef\xbf\xbd\xef\xbf\xbd", true },
        { B("\xe0\x80\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", true },
        { B("tab\tand\r\nnewline"), "tab\tand\r\nnewline", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool problem = false;
        size_t len;
        char *s = jmap_utf8_sanitize(cases[i].in, cases[i].in_len, &len, &problem);
        assert_non_null(s);
        assert_string_equal(s, cases[i].out);
        assert_int_equal(len, strlen(cases[i].out));
        assert_int_equal(problem, cases[i].problem);
        free(s);
    }
}

/* Fixed-seed xorshift: reproducible "random" bytes. */
static uint32_t rng_next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void test_decode_fuzz(void **state)
{
    static const char *const labels[] = {
        "utf-8", "windows-1252", "us-ascii", "gb2312", "big5", "shift_jis", "euc-jp",
        "iso-2022-jp", "euc-kr", "utf-16", "utf-16le", "utf-7", "koi8-r", "iso-8859-8-i",
        "x-unknown", NULL,
    };
    size_t nlabels = sizeof(labels) / sizeof(labels[0]);
    uint32_t seed = 0x6a6d6170;
    unsigned char buf[64];

    for (int round = 0; round < 3000; round++) {
        size_t len = rng_next(&seed) % sizeof(buf);
        for (size_t i = 0; i < len; i++) {
            uint32_t r = rng_next(&seed);
            /* Bias towards the bytes that matter: ESC, '+', '-', high bit. */
            buf[i] = (r & 0x300) == 0 ? (unsigned char)"\x1b+-$B(\x80\xff"[r % 8] : (unsigned char)r;
        }
        const char *label = labels[round % nlabels];
        size_t out_len = 0;
        bool problem = false;
        char *out = jmap_charset_decode(label, (const char *)buf, len, &out_len, &problem);
        assert_non_null(out);
        assert_true(jmap_utf8_valid(out, out_len));
        assert_null(memchr(out, '\0', out_len));
        free(out);
    }
}

static void test_decode_prefixes(void **state)
{
    for (size_t i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++) {
        const struct decode_case *c = &decode_cases[i];
        for (size_t k = 0; k <= c->in_len; k++) {
            size_t len = 0;
            char *out = jmap_charset_decode(c->label, c->in, k, &len, NULL);
            assert_non_null(out);
            assert_true(jmap_utf8_valid(out, len));
            free(out);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_table),
        cmocka_unit_test(test_known_labels),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_sanitize),
        cmocka_unit_test(test_decode_prefixes),
        cmocka_unit_test(test_decode_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
