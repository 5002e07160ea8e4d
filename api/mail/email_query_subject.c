/* email_query_subject.c - the subject sort of Email/query (RFC 8621
 * §4.4.2): Emails compare by the base subject of RFC 5256 §2.1, so a reply
 * sorts with what it answers. */
#include <string.h>
#include <strings.h>

#include "email_query.h"

static bool is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* A leading "re", "fw" or "fwd", blobs, then ":" (RFC 5256 subj-refwd):
 * the length to drop, 0 when there is none. */
static size_t refwd_len(const char *s, const char *end)
{
    static const char *const words[] = { "fwd", "fw", "re" };
    for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
        size_t n = strlen(words[w]);
        if ((size_t)(end - s) < n || strncasecmp(s, words[w], n) != 0)
            continue;
        const char *p = s + n;
        while (p < end && (is_wsp(*p) || *p == '[')) {
            if (*p == '[') {
                const char *close = memchr(p, ']', (size_t)(end - p));
                if (close == NULL)
                    return 0;
                p = close;
            }
            p++;
        }
        return p < end && *p == ':' ? (size_t)(p + 1 - s) : 0;
    }
    return 0;
}

const char *email_query_base_subject(const char *s, size_t *len)
{
    const char *end = s + strlen(s);
    /* Each round removes something, so the subject's length bounds it. */
    for (bool changed = true; changed;) {
        changed = false;
        while (end > s && is_wsp(end[-1]))
            end--;
        if (end - s >= 5 && strncasecmp(end - 5, "(fwd)", 5) == 0) {
            end -= 5;
            changed = true;
            continue;
        }
        while (s < end && is_wsp(*s))
            s++;
        size_t drop = refwd_len(s, end);
        if (drop > 0) {
            s += drop;
            changed = true;
            continue;
        }
        /* A leading [blob] goes unless it is all there is. */
        const char *close = *s == '[' ? memchr(s, ']', (size_t)(end - s)) : NULL;
        if (close != NULL) {
            const char *rest = close + 1;
            while (rest < end && is_wsp(*rest))
                rest++;
            if (rest < end) {
                s = rest;
                changed = true;
                continue;
            }
        }
        if (end - s >= 6 && strncasecmp(s, "[fwd:", 5) == 0 && end[-1] == ']') {
            s += 5;
            end--;
            changed = true;
        }
    }
    *len = (size_t)(end - s);
    return s;
}
