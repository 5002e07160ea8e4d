/* header_date.c - RFC 5322 §3.3 date-time (with §4.3 obsolete forms) ->
 * RFC 3339.
 *
 * The offset is kept as written, because Date is the sender's wall clock
 * and clients show it. Zones that carry no reliable offset ("-0000", the
 * military letters that RFC 822 got backwards, and unknown alphabetic
 * zones like "CEST") are "-00:00", which RFC 3339 §4.3 defines as "UTC
 * known, local offset unknown" — the exact meaning RFC 5322 gives "-0000".
 * Trailing text after the zone is ignored (best effort: "+0200 CEST").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jmap_message.h"
#include "message_private.h"

struct date_parts {
    int year, month, day, hour, minute, second;
    int offset;      /* minutes east of UTC */
    bool unknown;    /* offset not known: -0000 */
};

static const char *const day_names[] = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
};
static const char *const month_names[] = {
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december"
};

/* 1-based index of a 3-letter or full name in names, 0 when none. */
static int name_index(const struct msg_tok *t, const char *const *names, int count)
{
    for (int i = 0; i < count; i++) {
        size_t full = strlen(names[i]);
        if ((t->n == 3 || t->n == full) && strncasecmp(t->p, names[i], t->n) == 0)
            return i + 1;
    }
    return 0;
}

/* Value of an all-digit atom of min..max digits, -1 otherwise. */
static int number(const struct msg_tok *t, size_t min, size_t max)
{
    int v = 0;
    if (t->type != MSG_TOK_ATOM || t->n < min || t->n > max)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        if (t->p[i] < '0' || t->p[i] > '9')
            return -1;
        v = v * 10 + (t->p[i] - '0');
    }
    return v;
}

static bool is_colon(const struct msg_tok *t)
{
    return t->type == MSG_TOK_SPECIAL && t->c == ':';
}

static int zone(const struct msg_tok *t, struct date_parts *d)
{
    static const struct {
        const char *name;
        int hours;
    } named[] = {
        { "UT", 0 }, { "GMT", 0 }, { "EST", -5 }, { "EDT", -4 }, { "CST", -6 },
        { "CDT", -5 }, { "MST", -7 }, { "MDT", -6 }, { "PST", -8 }, { "PDT", -7 },
    };
    if (t->type != MSG_TOK_ATOM)
        return -1;
    if (t->p[0] == '+' || t->p[0] == '-') {
        struct msg_tok digits = *t;
        /* "+-0500" is a known mailer bug for "-0500". */
        bool negative = t->p[0] == '-' || (t->n > 1 && t->p[1] == '-');
        size_t skip = t->n > 1 && t->p[0] == '+' && t->p[1] == '-' ? 2 : 1;
        digits.p += skip;
        digits.n -= skip;
        int v = number(&digits, 4, 4);
        if (v < 0 || v % 100 > 59 || v / 100 > 23)
            return -1;
        d->offset = (v / 100) * 60 + v % 100;
        if (negative)
            d->offset = -d->offset;
        d->unknown = negative && v == 0;
        return 0;
    }
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        if (strlen(named[i].name) == t->n && strncasecmp(t->p, named[i].name, t->n) == 0) {
            d->offset = named[i].hours * 60;
            return 0;
        }
    }
    for (size_t i = 0; i < t->n; i++) {
        char c = t->p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return -1;
    }
    d->offset = 0;
    d->unknown = true;
    return 0;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int parse_parts(const char *value, size_t len, struct date_parts *d)
{
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    struct msg_tok t[12];
    struct msg_lex lx;
    size_t n = 0, i = 0;
    int rc = -1;
    size_t tlen = 0, year_digits;
    char *text = msg_header_prepare(value, len, &tlen);

    if (text == NULL)
        return -1;
    memset(d, 0, sizeof(*d));
    msg_lex_init(&lx, text, tlen);
    /* Twelve tokens hold the longest date-time; the rest is ignored. */
    while (n < sizeof(t) / sizeof(t[0])) {
        msg_lex_next(&lx, &t[n]);
        if (t[n].type == MSG_TOK_END)
            break;
        if (t[n].type != MSG_TOK_COMMENT)
            n++;
    }
    if (n > 0 && t[0].type == MSG_TOK_ATOM && number(&t[0], 1, 9) < 0) {
        if (name_index(&t[0], day_names, 7) == 0)
            goto out;
        i = 1;
        if (i < n && t[i].type == MSG_TOK_SPECIAL && t[i].c == ',')
            i++;
    }
    if (n < i + 6)
        goto out;
    d->day = number(&t[i], 1, 2);
    d->month = t[i + 1].type == MSG_TOK_ATOM ? name_index(&t[i + 1], month_names, 12) : 0;
    d->year = number(&t[i + 2], 2, 4);
    year_digits = t[i + 2].n;
    d->hour = number(&t[i + 3], 1, 2);
    if (d->day < 1 || d->month == 0 || d->year < 0 || d->hour < 0 || d->hour > 23 ||
        !is_colon(&t[i + 4]))
        goto out;
    d->minute = number(&t[i + 5], 1, 2);
    i += 6;
    if (i + 1 < n && is_colon(&t[i])) {
        d->second = number(&t[i + 1], 1, 2);
        i += 2;
    }
    if (d->minute < 0 || d->minute > 59 || d->second < 0 || d->second > 60 || i >= n ||
        zone(&t[i], d) != 0)
        goto out;
    /* RFC 5322 §4.3: two-digit years are 1950-2049, three-digit ones add
     * 1900. Those come from printing tm_year; padded to four ("0102") they
     * are the same bug and get the same rule. */
    if (year_digits == 2)
        d->year += d->year < 50 ? 2000 : 1900;
    else if (d->year < 1000)
        d->year += 1900;
    if (d->year < 1900)
        goto out;
    int dim = mdays[d->month - 1] + (d->month == 2 && leap(d->year));
    if (d->day > dim)
        goto out;
    rc = 0;
out:
    free(text);
    return rc;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's
 * days_from_civil), so no timegm() and no TZ environment is involved. */
static long long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int jmap_header_parse_date(const char *value, size_t len, long long *utc, int *offset_min)
{
    struct date_parts d;
    if (parse_parts(value, len, &d) != 0)
        return -1;
    long long local = days_from_civil(d.year, d.month, d.day) * 86400LL +
                      d.hour * 3600LL + d.minute * 60LL + d.second;
    if (utc)
        *utc = local - d.offset * 60LL;
    if (offset_min)
        *offset_min = d.offset;
    return 0;
}

json_t *jmap_header_as_date(const char *value, size_t len)
{
    struct date_parts d;
    char s[32];
    int w;

    if (parse_parts(value, len, &d) != 0)
        return json_null();
    int off = d.offset < 0 ? -d.offset : d.offset;
    w = snprintf(s, sizeof(s), "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", d.year, d.month,
                 d.day, d.hour, d.minute, d.second, d.offset < 0 || d.unknown ? '-' : '+',
                 off / 60, off % 60);
    if (w < 0 || (size_t)w >= sizeof(s))
        abort();   /* every field is range-checked: cannot overflow */
    return json_string(s);
}
