/* collation.c - Comparator collations (include/jmap_collation.h). */
#define _GNU_SOURCE 1 /* newlocale, towlower_l */
#include "jmap_collation.h"

#include <locale.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <wctype.h>

#include "jmap_method.h"

/* Code points above Unicode: where bytes that are not UTF-8 go, so they
 * compare by value and never equal a real character. */
#define NOT_UTF8_BASE 0x110000u

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

/* A private locale object, not setlocale(): the process locale stays "C"
 * for every other thread. Without C.UTF-8 folding falls back to ASCII. */
static void open_locale(void)
{
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* The code point at *p (advanced past it); end bounds the string. */
static uint32_t next_code_point(const unsigned char **p, const unsigned char *end)
{
    const unsigned char *s = *p;
    uint32_t c = s[0];
    size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                              : (c & 0xf8) == 0xf0 ? 4 : 0;
    uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (len == 1) {
        *p = s + 1;
        return c;
    }
    if (len != 0 && (size_t)(end - s) >= len) {
        uint32_t v = c & (0x7fu >> len);
        size_t i = 1;
        for (; i < len && (s[i] & 0xc0) == 0x80; i++)
            v = v << 6 | (s[i] & 0x3f);
        if (i == len && v >= min && v <= 0x10ffff && (v < 0xd800 || v > 0xdfff)) {
            *p = s + len;
            return v;
        }
    }
    *p = s + 1;
    return NOT_UTF8_BASE + c;
}

static uint32_t fold(uint32_t c)
{
    if (c < 0x80)
        return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
    if (c >= NOT_UTF8_BASE || utf8_locale == (locale_t)0)
        return c;
    return (uint32_t)towlower_l((wint_t)c, utf8_locale);
}

static int unicode_casemap(const char *a, size_t la, const char *b, size_t lb)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    const unsigned char *xe = x + la, *ye = y + lb;
    pthread_once(&utf8_once, open_locale);
    while (x < xe && y < ye) {
        uint32_t cx = fold(next_code_point(&x, xe)), cy = fold(next_code_point(&y, ye));
        if (cx != cy)
            return cx < cy ? -1 : 1;
    }
    return (x < xe) - (y < ye);
}

static int ascii_casemap(const char *a, size_t la, const char *b, size_t lb)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    for (size_t i = 0; i < la && i < lb; i++) {
        unsigned cx = x[i] >= 'A' && x[i] <= 'Z' ? x[i] + 32u : x[i];
        unsigned cy = y[i] >= 'A' && y[i] <= 'Z' ? y[i] + 32u : y[i];
        if (cx != cy)
            return cx < cy ? -1 : 1;
    }
    return la < lb ? -1 : la > lb;
}

static size_t leading_digits(const char *s, size_t len)
{
    size_t n = 0;
    while (n < len && s[n] >= '0' && s[n] <= '9')
        n++;
    return n;
}

/* The numbers are compared as digit strings, so any length works. */
static int ascii_numeric(const char *a, size_t la, const char *b, size_t lb)
{
    size_t na = leading_digits(a, la), nb = leading_digits(b, lb);
    if (na == 0 || nb == 0)
        return (na == 0) - (nb == 0);   /* no number: +infinity */
    while (na > 1 && *a == '0') {
        a++;
        na--;
    }
    while (nb > 1 && *b == '0') {
        b++;
        nb--;
    }
    if (na != nb)
        return na < nb ? -1 : 1;
    int c = memcmp(a, b, na);
    return c < 0 ? -1 : c > 0;
}

json_t *jmap_collation_parse(const char *name, enum jmap_collation *out)
{
    static const struct {
        const char *name;
        enum jmap_collation c;
    } known[] = {
        { "i;unicode-casemap", JMAP_COLLATION_UNICODE_CASEMAP },
        { "i;ascii-casemap", JMAP_COLLATION_ASCII_CASEMAP },
        { "i;ascii-numeric", JMAP_COLLATION_ASCII_NUMERIC },
    };
    *out = JMAP_COLLATION_UNICODE_CASEMAP;
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(name, known[i].name) == 0) {
            *out = known[i].c;
            return NULL;
        }
    return jmap_error_new("unsupportedSort", "Unknown collation.");
}

int jmap_collation_compare_n(enum jmap_collation c, const char *a, size_t la, const char *b,
                             size_t lb)
{
    switch (c) {
    case JMAP_COLLATION_ASCII_CASEMAP:
        return ascii_casemap(a, la, b, lb);
    case JMAP_COLLATION_ASCII_NUMERIC:
        return ascii_numeric(a, la, b, lb);
    case JMAP_COLLATION_UNICODE_CASEMAP:
        break;
    }
    return unicode_casemap(a, la, b, lb);
}

int jmap_collation_compare(enum jmap_collation c, const char *a, const char *b)
{
    return jmap_collation_compare_n(c, a, strlen(a), b, strlen(b));
}

/* Whether needle matches (folded) at the start of h. */
static bool starts_with_folded(const unsigned char *h, const unsigned char *he,
                               const unsigned char *needle, const unsigned char *ne)
{
    while (needle < ne) {
        if (h == he || fold(next_code_point(&h, he)) != fold(next_code_point(&needle, ne)))
            return false;
    }
    return true;
}

bool jmap_collation_contains(const char *haystack, const char *needle)
{
    const unsigned char *h = (const unsigned char *)haystack;
    const unsigned char *n = (const unsigned char *)needle;
    const unsigned char *he = h + strlen(haystack), *ne = n + strlen(needle);
    pthread_once(&utf8_once, open_locale);
    if (n == ne)
        return true;
    /* Every start is a code point boundary; names are short, so the
     * quadratic scan is cheaper than folding copies. */
    while (h < he) {
        if (starts_with_folded(h, he, n, ne))
            return true;
        next_code_point(&h, he);
    }
    return false;
}
