/* email_submission_dsn_parse.c - RFC 3464 message/delivery-status bodies
 * into struct dsn_report. Reports come from other servers: every length is
 * checked and nothing in the input can make it fail other than by
 * returning -1. */
#include "email_submission_dsn.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest field value we keep; report fields are short. */
#define DSN_VALUE_MAX 998
/* Recipient groups kept from one report. */
#define DSN_MAX_RECIPIENTS 1000

/* Length of the line starting at p (without its end), *next after it. */
static size_t line_at(const char *p, const char *end, const char **next)
{
    const char *e = memchr(p, '\n', (size_t)(end - p));

    if (e == NULL) {
        *next = end;
        e = end;
    } else {
        *next = e + 1;
    }
    if (e > p && e[-1] == '\r')
        e--;
    return (size_t)(e - p);
}

static char *trimmed_copy(const char *s, size_t len)
{
    while (len > 0 && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    if (len > DSN_VALUE_MAX)
        return NULL;
    char *out = malloc(len + 1);
    if (out != NULL) {
        memcpy(out, s, len);
        out[len] = '\0';
    }
    return out;
}

/* "rfc822; a@b" -> "a@b" (a value without a type is kept whole). */
static char *address_value(const char *v, size_t len)
{
    const char *semi = memchr(v, ';', len);

    if (semi != NULL) {
        len -= (size_t)(semi + 1 - v);
        v = semi + 1;
    }
    return trimmed_copy(v, len);
}

static void set_once(char **slot, char *value)
{
    if (*slot == NULL)
        *slot = value;
    else
        free(value);
}

/* One "Name: value" field (continuation lines already joined by the
 * caller's bounds) into the group. */
static void take_field(const char *name, size_t name_len, const char *v, size_t v_len,
                       struct dsn_report *r, struct dsn_recipient *rc)
{
#define IS(lit) (name_len == sizeof(lit) - 1 && strncasecmp(name, lit, name_len) == 0)
    if (rc == NULL) {
        if (IS("Original-Envelope-Id"))
            set_once(&r->envelope_id, trimmed_copy(v, v_len));
        return;
    }
    if (IS("Final-Recipient")) {
        set_once(&rc->final_recipient, address_value(v, v_len));
    } else if (IS("Original-Recipient")) {
        set_once(&rc->original_recipient, address_value(v, v_len));
    } else if (IS("Action")) {
        char *a = trimmed_copy(v, v_len);
        for (char *p = a; p != NULL && *p != '\0'; p++)
            *p = (char)tolower((unsigned char)*p);
        /* "failed (bad address)": a comment after the token */
        char *sp = a != NULL ? strpbrk(a, " \t(") : NULL;
        if (sp != NULL)
            *sp = '\0';
        set_once(&rc->action, a);
    } else if (IS("Status")) {
        set_once(&rc->status, trimmed_copy(v, v_len));
    }
#undef IS
}

/* Parses one group data[0..len) (no blank line inside). */
static void parse_group(const char *p, const char *end, struct dsn_report *r,
                        struct dsn_recipient *rc)
{
    while (p < end) {
        const char *next, *line = p;
        size_t n = line_at(p, end, &next);
        /* Unfold: a value goes on over lines starting with white space. */
        while (next < end && (*next == ' ' || *next == '\t')) {
            const char *after;
            line_at(next, end, &after);
            n = (size_t)(after - line);
            next = after;
        }
        const char *colon = memchr(line, ':', n);
        if (colon != NULL && colon > line)
            take_field(line, (size_t)(colon - line), colon + 1, n - (size_t)(colon + 1 - line),
                       r, rc);
        p = next;
    }
}

int email_submission_dsn_parse(const char *data, size_t len, struct dsn_report *out)
{
    const char *p = data, *end = data + len;
    bool first = true;

    memset(out, 0, sizeof(*out));
    if (data == NULL)
        return -1;
    while (p < end) {
        /* Skip blank lines, then the group runs to the next blank line. */
        const char *next;
        if (line_at(p, end, &next) == 0) {
            p = next;
            continue;
        }
        const char *g = p;
        while (p < end && line_at(p, end, &next) > 0)
            p = next;
        if (first) {
            parse_group(g, p, out, NULL);
            first = false;
            continue;
        }
        if (out->n_rcpts >= DSN_MAX_RECIPIENTS)
            break;
        struct dsn_recipient *v = realloc(out->rcpts, (out->n_rcpts + 1) * sizeof(*v));
        if (v == NULL)
            return -1;
        out->rcpts = v;
        memset(&v[out->n_rcpts], 0, sizeof(*v));
        parse_group(g, p, out, &v[out->n_rcpts++]);
    }
    for (size_t i = 0; i < out->n_rcpts; i++)
        if (out->rcpts[i].action != NULL &&
            (out->rcpts[i].final_recipient != NULL || out->rcpts[i].original_recipient != NULL))
            return 0;
    return -1;
}

void email_submission_dsn_clear(struct dsn_report *r)
{
    for (size_t i = 0; i < r->n_rcpts; i++) {
        free(r->rcpts[i].final_recipient);
        free(r->rcpts[i].original_recipient);
        free(r->rcpts[i].action);
        free(r->rcpts[i].status);
    }
    free(r->rcpts);
    free(r->envelope_id);
    memset(r, 0, sizeof(*r));
}

const char *email_submission_dsn_delivered(const char *action)
{
    if (action == NULL)
        return "unknown";
    if (strcmp(action, "delivered") == 0)
        return "yes";
    if (strcmp(action, "failed") == 0)
        return "no";
    if (strcmp(action, "delayed") == 0)
        return "queued";
    return "unknown";
}
