/* compose_headers.c - header fields of the message builder: which
 * properties name which field (RFC 8621 §4.1.3, the §4.6 create rules),
 * and each parsed form written back as RFC 5322 text with RFC 2047
 * encoded-words, RFC 2231 parameters and folding. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "compose_private.h"
#include "jmap_message.h"

/* The convenience properties of an Email (RFC 8621 §4.1.3). */
static const struct {
    const char *prop, *field;
    enum jmap_header_form form;
} email_props[] = {
    { "from", "From", JMAP_HEADER_FORM_ADDRESSES },
    { "sender", "Sender", JMAP_HEADER_FORM_ADDRESSES },
    { "replyTo", "Reply-To", JMAP_HEADER_FORM_ADDRESSES },
    { "to", "To", JMAP_HEADER_FORM_ADDRESSES },
    { "cc", "Cc", JMAP_HEADER_FORM_ADDRESSES },
    { "bcc", "Bcc", JMAP_HEADER_FORM_ADDRESSES },
    { "subject", "Subject", JMAP_HEADER_FORM_TEXT },
    { "sentAt", "Date", JMAP_HEADER_FORM_DATE },
    { "messageId", "Message-ID", JMAP_HEADER_FORM_MESSAGE_IDS },
    { "inReplyTo", "In-Reply-To", JMAP_HEADER_FORM_MESSAGE_IDS },
    { "references", "References", JMAP_HEADER_FORM_MESSAGE_IDS },
};

/* Fields a body part writes from its own properties: a header:* property
 * for them would be a second source for the same field. */
static const char *const part_owned_fields[] = {
    "content-type", "content-disposition", "content-id", "content-language",
    "content-location", "content-transfer-encoding", "mime-version",
};

void compose_invalid(struct compose_ctx *c, const char *prefix, const char *name)
{
    char path[COMPOSE_PATH_MAX];
    int n = prefix[0] != '\0' ? snprintf(path, sizeof(path), "%s/%s", prefix, name)
                              : snprintf(path, sizeof(path), "%s", name);
    if (n < 0 || (size_t)n >= sizeof(path))
        n = snprintf(path, sizeof(path), "%.*s", (int)(sizeof(path) - 1), prefix);
    size_t i;
    json_t *v;
    json_array_foreach(c->invalid, i, v)
        if (strcmp(json_string_value(v), path) == 0)
            return;
    if (json_array_append_new(c->invalid, json_string(path)) != 0)
        compose_fail(c, GW_ERR_NOMEM, "out of memory");
}

void compose_fail(struct compose_ctx *c, enum gw_error_code code, const char *msg)
{
    if (!c->failed)
        gw_error_set(c->err, code, "%s", msg);
    c->failed = true;
}

static void lower_copy(char *out, size_t size, const char *name)
{
    size_t i = 0;
    for (; name[i] != '\0' && i + 1 < size; i++)
        out[i] = (char)tolower((unsigned char)name[i]);
    out[i] = '\0';
}

/* Records field for prop in taken; a field already there is a conflict. */
static bool claim(struct compose_ctx *c, json_t *taken, const char *prefix, const char *field,
                  const char *prop)
{
    char lower[80];
    lower_copy(lower, sizeof(lower), field);
    json_t *other = json_object_get(taken, lower);
    if (other != NULL) {
        compose_invalid(c, prefix, prop);
        /* the earlier property is part of the same conflict, reported
         * under its own level's path (it is a string "path/prop") */
        size_t i;
        json_t *v;
        bool seen = false;
        json_array_foreach(c->invalid, i, v)
            seen |= strcmp(json_string_value(v), json_string_value(other)) == 0;
        if (!seen && json_array_append(c->invalid, other) != 0)
            compose_fail(c, GW_ERR_NOMEM, "out of memory");
        return false;
    }
    char path[COMPOSE_PATH_MAX];
    int n = prefix[0] != '\0' ? snprintf(path, sizeof(path), "%s/%s", prefix, prop)
                              : snprintf(path, sizeof(path), "%s", prop);
    if (n < 0 || (size_t)n >= sizeof(path) ||
        json_object_set_new(taken, lower, json_string(path)) != 0)
        compose_fail(c, GW_ERR_NOMEM, "out of memory");
    return true;
}

static bool field_is(const char *field, const char *lower)
{
    return strcasecmp(field, lower) == 0;
}

int compose_fields_collect(struct compose_ctx *c, json_t *obj, bool is_email, const char *prefix,
                           json_t *taken, struct compose_field **out, size_t *n)
{
    size_t cap = json_object_size(obj), count = 0;
    struct compose_field *f = calloc(cap + 1, sizeof(*f));
    if (f == NULL) {
        compose_fail(c, GW_ERR_NOMEM, "out of memory");
        return -1;
    }
    for (size_t i = 0; is_email && i < sizeof(email_props) / sizeof(email_props[0]); i++) {
        json_t *v = json_object_get(obj, email_props[i].prop);
        if (v == NULL)
            continue;
        if (!claim(c, taken, prefix, email_props[i].field, email_props[i].prop))
            continue;
        f[count] = (struct compose_field){ .prop = email_props[i].prop, .form = email_props[i].form,
                                           .value = v };
        snprintf(f[count].name, sizeof(f[count].name), "%s", email_props[i].field);
        count++;
    }
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        if (strncmp(key, "header:", 7) != 0)
            continue;
        struct jmap_header_prop hp;
        if (jmap_header_prop_parse(key, &hp, NULL) != 0 || hp.name_len >= sizeof(f->name)) {
            compose_invalid(c, prefix, key);
            continue;
        }
        char field[80];
        memcpy(field, hp.name, hp.name_len);
        field[hp.name_len] = '\0';
        bool bad = field_is(field, "content-transfer-encoding") ||
                   (is_email && strncasecmp(field, "content-", 8) == 0);
        size_t n_owned = sizeof(part_owned_fields) / sizeof(part_owned_fields[0]);
        for (size_t k = 0; !is_email && k < n_owned; k++)
            bad |= field_is(field, part_owned_fields[k]);
        if (bad) {
            compose_invalid(c, prefix, key);
            continue;
        }
        if (!claim(c, taken, prefix, field, key))
            continue;
        f[count] = (struct compose_field){ .prop = key, .form = (int)hp.form, .all = hp.all,
                                           .value = v };
        memcpy(f[count].name, field, hp.name_len + 1);
        count++;
    }
    *out = f;
    *n = count;
    return c->failed ? -1 : 0;
}

bool compose_header_plain(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch < 0x20 || ch > 0x7e)
            return false;
        if (ch == '=' && i + 1 < len && text[i + 1] == '?')
            return false;
    }
    return true;
}

void compose_encoded_words(struct msg_buf *b, const char *text, size_t len)
{
    /* 42 octets are 56 base64 characters: "=?UTF-8?B?" + 56 + "?=" = 68,
     * so a first word still fits after "Subject: ". */
    size_t i = 0;
    bool first = true;
    while (i < len || first) {
        size_t end = i;
        while (end < len) {
            size_t step = 1;
            unsigned char ch = (unsigned char)text[end];
            if (ch >= 0xf0)
                step = 4;
            else if (ch >= 0xe0)
                step = 3;
            else if (ch >= 0xc0)
                step = 2;
            if (end + step > len)
                step = len - end;
            if (end + step - i > 42 && end > i)
                break;
            end += step;
        }
        if (!first)
            msg_buf_putc(b, ' ');
        msg_buf_put(b, "=?UTF-8?B?", 10);
        size_t mark = b->len;
        compose_base64(b, (const unsigned char *)text + i, end - i);
        if (!b->failed && b->len >= mark + 2)
            b->len -= 2;    /* one line of base64: drop its CRLF */
        msg_buf_put(b, "?=", 2);
        first = false;
        i = end;
    }
}

/* atext (RFC 5322 §3.2.3) */
static bool is_atext(unsigned char ch)
{
    return isalnum(ch) || (ch != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL);
}

/* A display name or group name as a phrase: atoms, a quoted string, or
 * encoded-words. */
static void put_phrase(struct msg_buf *b, const char *s)
{
    size_t len = strlen(s);
    if (!compose_header_plain(s, len)) {
        compose_encoded_words(b, s, len);
        return;
    }
    bool atoms = len > 0 && s[0] != ' ' && s[len - 1] != ' ';
    for (size_t i = 0; atoms && i < len; i++)
        atoms = is_atext((unsigned char)s[i]) || (s[i] == ' ' && s[i + 1] != ' ');
    if (atoms) {
        msg_buf_put(b, s, len);
        return;
    }
    msg_buf_putc(b, '"');
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            msg_buf_putc(b, '\\');
        msg_buf_putc(b, s[i]);
    }
    msg_buf_putc(b, '"');
}

/* An addr-spec as given: no white space, controls, or brackets. */
static bool email_ok(const char *e)
{
    if (e[0] == '\0')
        return false;
    for (const unsigned char *p = (const unsigned char *)e; *p != '\0'; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>' || *p == ',')
            return false;
    return true;
}

static bool put_addresses(struct msg_buf *b, json_t *list)
{
    size_t i;
    json_t *a;
    if (!json_is_array(list))
        return false;
    json_array_foreach(list, i, a) {
        json_t *name = json_object_get(a, "name");
        const char *email = json_string_value(json_object_get(a, "email"));
        if (!json_is_object(a) || email == NULL || !email_ok(email) ||
            (name != NULL && !json_is_null(name) && !json_is_string(name)))
            return false;
        if (i > 0)
            msg_buf_put(b, ", ", 2);
        const char *n = json_string_value(name);
        if (n != NULL && n[0] != '\0') {
            put_phrase(b, n);
            msg_buf_put(b, " <", 2);
            msg_buf_put(b, email, strlen(email));
            msg_buf_putc(b, '>');
        } else {
            msg_buf_put(b, email, strlen(email));
        }
    }
    return true;
}

static bool put_grouped(struct msg_buf *b, json_t *groups)
{
    size_t i;
    json_t *g;
    if (!json_is_array(groups))
        return false;
    json_array_foreach(groups, i, g) {
        json_t *name = json_object_get(g, "name");
        json_t *addrs = json_object_get(g, "addresses");
        if (!json_is_object(g) || (name != NULL && !json_is_null(name) && !json_is_string(name)))
            return false;
        if (i > 0)
            msg_buf_put(b, ", ", 2);
        if (json_is_string(name)) {
            put_phrase(b, json_string_value(name));
            msg_buf_put(b, ": ", 2);
            if (!put_addresses(b, addrs))
                return false;
            msg_buf_putc(b, ';');
        } else if (!put_addresses(b, addrs)) {
            return false;
        }
    }
    return true;
}

static bool put_message_ids(struct msg_buf *b, json_t *ids)
{
    size_t i;
    json_t *id;
    if (!json_is_array(ids) || json_array_size(ids) == 0)
        return false;
    json_array_foreach(ids, i, id) {
        const char *s = json_string_value(id);
        if (s == NULL || s[0] == '\0' || !compose_header_plain(s, strlen(s)) ||
            strpbrk(s, "<> ") != NULL)
            return false;
        if (i > 0)
            msg_buf_putc(b, ' ');
        msg_buf_putc(b, '<');
        msg_buf_put(b, s, strlen(s));
        msg_buf_putc(b, '>');
    }
    return true;
}

static bool put_urls(struct msg_buf *b, json_t *urls)
{
    size_t i;
    json_t *u;
    if (!json_is_array(urls))
        return false;
    json_array_foreach(urls, i, u) {
        const char *s = json_string_value(u);
        if (s == NULL || !compose_header_plain(s, strlen(s)) || strpbrk(s, "<> ") != NULL)
            return false;
        if (i > 0)
            msg_buf_put(b, ", ", 2);
        msg_buf_putc(b, '<');
        msg_buf_put(b, s, strlen(s));
        msg_buf_putc(b, '>');
    }
    return true;
}

/* RFC 3339 with an offset ("2014-10-30T14:12:00+08:00", "...Z") to the
 * RFC 5322 date-time of the same instant in the same zone. */
static bool put_date(struct msg_buf *b, json_t *v)
{
    static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    const char *s = json_string_value(v);
    int y, mo, d, h, mi, sec, n = 0;
    if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
        n != 19 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
        y < 1900)
        return false;
    const char *z = s + n;
    if (*z == '.') {                        /* fractions of a second are dropped */
        z++;
        while (isdigit((unsigned char)*z))
            z++;
    }
    int off = 0;
    if (*z == 'Z' || *z == 'z') {
        z++;
    } else {
        int oh, om, m = 0;
        if ((*z != '+' && *z != '-') || sscanf(z + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5 ||
            oh > 23 || om > 59)
            return false;
        off = (*z == '-' ? -1 : 1) * (oh * 60 + om);
        z += 6;
    }
    if (*z != '\0')
        return false;
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                     .tm_min = mi, .tm_sec = sec };
    time_t t = timegm(&tm);     /* normalises and gives the weekday */
    struct tm norm;
    if (t == (time_t)-1 || gmtime_r(&t, &norm) == NULL || norm.tm_mday != d)
        return false;
    char out[64];
    int w = snprintf(out, sizeof(out), "%s, %d %s %04d %02d:%02d:%02d %c%02d%02d",
                     days[norm.tm_wday], d, months[mo - 1], y, h, mi, sec, off < 0 ? '-' : '+',
                     abs(off) / 60, abs(off) % 60);
    if (w < 0 || (size_t)w >= sizeof(out))
        return false;
    msg_buf_put(b, out, (size_t)w);
    return true;
}

bool compose_write_folded(struct msg_buf *b, const char *name, const char *value, size_t len)
{
    size_t col = strlen(name) + 1;
    msg_buf_put(b, name, col - 1);
    msg_buf_putc(b, ':');
    /* value starts with its leading space; a fold point is each space. */
    size_t i = 0;
    while (i < len) {
        size_t end = i + 1;
        while (end < len && value[end] != ' ')
            end++;
        size_t w = end - i;
        if (w > COMPOSE_LINE_HARD - 1)
            return false;
        if (col + w > COMPOSE_LINE_SOFT && col > 1 && value[i] == ' ') {
            msg_buf_put(b, "\r\n", 2);
            col = 0;
        }
        msg_buf_put(b, value + i, w);
        col += w;
        i = end;
    }
    msg_buf_put(b, "\r\n", 2);
    return true;
}

/* Raw values go out exactly as given: only line breaks that fold (CRLF
 * followed by white space) are allowed, and lines must fit. */
static bool raw_ok(const char *s, size_t len)
{
    size_t col = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\0')
            return false;
        if (s[i] == '\r' || s[i] == '\n') {
            bool folds = s[i] == '\r' && i + 2 < len && s[i + 1] == '\n' &&
                         (s[i + 2] == ' ' || s[i + 2] == '\t');
            if (!folds)
                return false;
            i++;
            col = 0;
        } else if (++col > COMPOSE_LINE_HARD - 80) {
            return false;
        }
    }
    return true;
}

/* One instance of a field; false when the value is not of its form. */
static bool write_one(struct msg_buf *b, const struct compose_field *f, json_t *v)
{
    struct msg_buf val = MSG_BUF_INIT;
    bool ok = false;
    msg_buf_putc(&val, ' ');
    switch (f->form) {
    case JMAP_HEADER_FORM_RAW: {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        msg_buf_free(&val);
        if (s == NULL || !raw_ok(s, len))
            return false;
        msg_buf_put(b, f->name, strlen(f->name));
        msg_buf_putc(b, ':');
        msg_buf_put(b, s, len);
        msg_buf_put(b, "\r\n", 2);
        return true;
    }
    case JMAP_HEADER_FORM_TEXT: {
        const char *s = json_string_value(v);
        ok = s != NULL;
        if (ok && compose_header_plain(s, json_string_length(v)))
            msg_buf_put(&val, s, json_string_length(v));
        else if (ok)
            compose_encoded_words(&val, s, json_string_length(v));
        break;
    }
    case JMAP_HEADER_FORM_ADDRESSES:
        ok = put_addresses(&val, v);
        break;
    case JMAP_HEADER_FORM_GROUPED_ADDRESSES:
        ok = put_grouped(&val, v);
        break;
    case JMAP_HEADER_FORM_MESSAGE_IDS:
        ok = put_message_ids(&val, v);
        break;
    case JMAP_HEADER_FORM_DATE:
        ok = put_date(&val, v);
        break;
    case JMAP_HEADER_FORM_URLS:
        ok = put_urls(&val, v);
        break;
    default:
        break;
    }
    ok = ok && !val.failed && compose_write_folded(b, f->name, val.data, val.len);
    msg_buf_free(&val);
    return ok;
}

void compose_fields_write(struct compose_ctx *c, const struct compose_field *f, size_t n,
                          const char *prefix, struct msg_buf *b)
{
    for (size_t i = 0; i < n; i++) {
        json_t *v = f[i].value;
        bool ok = true;
        if (json_is_null(v))
            continue;       /* null: the field is absent */
        if (f[i].all) {
            size_t k;
            json_t *one;
            ok = json_is_array(v);
            json_array_foreach(v, k, one)
                ok = ok && write_one(b, &f[i], one);
        } else {
            ok = write_one(b, &f[i], v);
        }
        if (!ok)
            compose_invalid(c, prefix, f[i].prop);
    }
    if (b->failed)
        compose_fail(c, GW_ERR_NOMEM, "out of memory");
}

void compose_param(struct msg_buf *b, const char *name, const char *value)
{
    size_t len = strlen(value);
    bool token = len > 0;
    for (size_t i = 0; token && i < len; i++)
        token = (unsigned char)value[i] > 0x20 && (unsigned char)value[i] < 0x7f &&
                strchr("()<>@,;:\\\"/[]?=", value[i]) == NULL;
    if (token && len < 60) {
        msg_buf_put(b, ";\r\n ", 4);
        msg_buf_put(b, name, strlen(name));
        msg_buf_putc(b, '=');
        msg_buf_put(b, value, len);
        return;
    }
    if (compose_header_plain(value, len) && len < 60) {
        msg_buf_put(b, ";\r\n ", 4);
        msg_buf_put(b, name, strlen(name));
        msg_buf_put(b, "=\"", 2);
        for (size_t i = 0; i < len; i++) {
            if (value[i] == '"' || value[i] == '\\')
                msg_buf_putc(b, '\\');
            msg_buf_putc(b, value[i]);
        }
        msg_buf_putc(b, '"');
        return;
    }
    /* RFC 2231: name*0*=utf-8''..., name*1*=... with at most ~60
     * characters of percent-encoding per section. */
    static const char hex[] = "0123456789ABCDEF";
    size_t i = 0;
    for (unsigned section = 0; i < len || section == 0; section++) {
        char head[64];
        int w = snprintf(head, sizeof(head), ";\r\n %.40s*%u*=%s", name, section,
                         section == 0 ? "utf-8''" : "");
        if (w < 0 || (size_t)w >= sizeof(head))
            return;
        msg_buf_put(b, head, (size_t)w);
        for (size_t col = 0; i < len && col < 60; i++) {
            unsigned char ch = (unsigned char)value[i];
            /* never split a UTF-8 sequence across sections */
            if (col > 50 && ch >= 0xc0)
                break;
            if (isalnum(ch) || strchr("!#$&+-.^_`|~", ch) != NULL) {
                msg_buf_putc(b, (char)ch);
                col++;
            } else {
                char pct[3] = { '%', hex[ch >> 4], hex[ch & 15] };
                msg_buf_put(b, pct, 3);
                col += 3;
            }
        }
    }
}
