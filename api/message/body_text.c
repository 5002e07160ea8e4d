/* body_text.c - HTML to text, preview lines and snippet highlighting (see
 * include/jmap_text.h). A tolerant single pass: mail HTML is rarely valid,
 * so nothing here can fail on bad markup, only degrade. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jmap_text.h"
#include "message_private.h"

/* Elements whose content is not text. */
static const char *const skipped_elements[] = { "script", "style", "head", "title", NULL };

/* Elements that end a line of text. */
static const char *const block_elements[] = {
    "br", "p", "div", "li", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "hr", "ul", "ol", "dd", "dt", NULL,
};

static const struct {
    const char *name;
    uint32_t cp;
} named_refs[] = {
    { "amp", '&' },     { "lt", '<' },       { "gt", '>' },       { "quot", '"' },
    { "apos", '\'' },   { "nbsp", 0xa0 },    { "copy", 0xa9 },    { "reg", 0xae },
    { "euro", 0x20ac }, { "pound", 0xa3 },   { "hellip", 0x2026 }, { "mdash", 0x2014 },
    { "ndash", 0x2013 }, { "lsquo", 0x2018 }, { "rsquo", 0x2019 }, { "ldquo", 0x201c },
    { "rdquo", 0x201d }, { "bull", 0x2022 },  { "trade", 0x2122 }, { "middot", 0xb7 },
};

static bool name_in_list(const char *name, size_t len, const char *const *list)
{
    for (; *list != NULL; list++) {
        if (strlen(*list) == len && strncasecmp(name, *list, len) == 0)
            return true;
    }
    return false;
}

/* Decodes a character reference at p ('&'); returns bytes used, 0 if it
 * is not one we can decode. */
static size_t char_ref(const char *p, size_t n, uint32_t *cp)
{
    const char *semi = memchr(p, ';', n < 12 ? n : 12);
    if (semi == NULL || semi - p < 2)
        return 0;
    size_t len = (size_t)(semi - p) - 1;
    const char *body = p + 1;
    if (body[0] == '#') {
        bool hex = len > 1 && (body[1] == 'x' || body[1] == 'X');
        char *end = NULL;
        char digits[12];
        memcpy(digits, body + (hex ? 2 : 1), len - (hex ? 2 : 1));
        digits[len - (hex ? 2 : 1)] = '\0';
        unsigned long v = strtoul(digits, &end, hex ? 16 : 10);
        if (digits[0] == '\0' || *end != '\0' || v == 0 || v > 0x10ffff ||
            (v >= 0xd800 && v <= 0xdfff))
            return 0;
        *cp = (uint32_t)v;
        return len + 2;
    }
    for (size_t i = 0; i < sizeof(named_refs) / sizeof(named_refs[0]); i++) {
        if (strlen(named_refs[i].name) == len && strncmp(body, named_refs[i].name, len) == 0) {
            *cp = named_refs[i].cp;
            return len + 2;
        }
    }
    return 0;
}

/* Parses the tag at p ('<'); returns its length (to '>' or the end) and
 * the element name; *closing for "</x>". */
static size_t tag_at(const char *p, size_t n, const char **name, size_t *name_len, bool *closing)
{
    size_t i = 1;
    *closing = i < n && p[i] == '/';
    if (*closing)
        i++;
    *name = p + i;
    while (i < n && (isalnum((unsigned char)p[i])))
        i++;
    *name_len = (size_t)(p + i - *name);
    const char *gt = memchr(p + i, '>', n - i);
    return gt != NULL ? (size_t)(gt - p) + 1 : n;
}

/* Skips from p to just after "</name>", or to the end. */
static size_t skip_element(const char *p, size_t n, const char *name, size_t name_len)
{
    for (size_t i = 0; i + 2 + name_len <= n; i++) {
        if (p[i] == '<' && p[i + 1] == '/' && strncasecmp(p + i + 2, name, name_len) == 0) {
            const char *gt = memchr(p + i, '>', n - i);
            return gt != NULL ? (size_t)(gt - p) + 1 : n;
        }
    }
    return n;
}

char *jmap_html_to_text(const char *html, size_t len)
{
    struct msg_buf b = MSG_BUF_INIT;
    size_t i = 0;
    while (i < len) {
        char c = html[i];
        if (c == '<' && i + 3 < len && strncmp(html + i, "<!--", 4) == 0) {
            const char *end = NULL;
            for (size_t k = i + 4; k + 3 <= len && end == NULL; k++)
                if (strncmp(html + k, "-->", 3) == 0)
                    end = html + k + 3;
            i = end != NULL ? (size_t)(end - html) : len;
        } else if (c == '<' && i + 1 < len &&
                   (isalpha((unsigned char)html[i + 1]) || html[i + 1] == '/' ||
                    html[i + 1] == '!' || html[i + 1] == '?')) {
            const char *name;
            size_t name_len;
            bool closing;
            size_t used = tag_at(html + i, len - i, &name, &name_len, &closing);
            if (!closing && name_in_list(name, name_len, skipped_elements))
                used += skip_element(html + i + used, len - i - used, name, name_len);
            else if (name_in_list(name, name_len, block_elements))
                msg_buf_putc(&b, '\n');
            i += used;
        } else if (c == '&') {
            uint32_t cp;
            size_t used = char_ref(html + i, len - i, &cp);
            if (used > 0) {
                msg_buf_put_cp(&b, cp == 0xa0 ? ' ' : cp);
                i += used;
            } else {
                msg_buf_putc(&b, c);
                i++;
            }
        } else {
            /* HTML white space is not significant: newlines come from tags. */
            msg_buf_putc(&b, (c == '\r' || c == '\n' || c == '\t') ? ' ' : c);
            i++;
        }
    }
    return msg_buf_finish(&b, NULL);
}

/* Length of the UTF-8 character starting at p (1 for stray bytes). */
static size_t char_len(const char *p, size_t n)
{
    uint32_t cp;
    return msg_utf8_next((const unsigned char *)p, n, &cp);
}

char *jmap_preview_from_text(const char *text, size_t len, size_t max_chars)
{
    struct msg_buf b = MSG_BUF_INIT;
    size_t chars = 0;
    bool pending_space = false;
    size_t i = 0;
    while (i < len && chars < max_chars) {
        /* At a line start: skip quoted lines, stop at a signature. */
        if (i == 0 || text[i - 1] == '\n') {
            if (len - i >= 4 && strncmp(text + i, "-- \n", 4) == 0)
                break;
            if (len - i >= 5 && strncmp(text + i, "-- \r\n", 5) == 0)
                break;
            if (text[i] == '>') {
                const char *nl = memchr(text + i, '\n', len - i);
                i = nl != NULL ? (size_t)(nl - text) + 1 : len;
                continue;
            }
        }
        unsigned char c = (unsigned char)text[i];
        if (isspace(c)) {
            pending_space = b.len > 0;
            i++;
            continue;
        }
        if (pending_space) {
            msg_buf_putc(&b, ' ');
            chars++;
            pending_space = false;
            if (chars == max_chars)
                break;
        }
        size_t n = char_len(text + i, len - i);
        msg_buf_put(&b, text + i, n);
        chars++;
        i += n;
    }
    return msg_buf_finish(&b, NULL);
}

/* Length of the first term matching at p (ASCII case-insensitive), or 0. */
static size_t match_at(const char *p, size_t n, const char *const *terms, size_t nterms)
{
    for (size_t t = 0; t < nterms; t++) {
        size_t tl = strlen(terms[t]);
        if (tl > 0 && tl <= n && strncasecmp(p, terms[t], tl) == 0)
            return tl;
    }
    return 0;
}

/* Appends one character of text, escaped; returns the octets it takes. */
static size_t escaped_len(char c)
{
    return c == '&' ? 5 : (c == '<' || c == '>') ? 4 : 1;
}

static void put_escaped(struct msg_buf *b, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '&')
            msg_buf_put(b, "&amp;", 5);
        else if (p[i] == '<')
            msg_buf_put(b, "&lt;", 4);
        else if (p[i] == '>')
            msg_buf_put(b, "&gt;", 4);
        else
            msg_buf_putc(b, p[i]);
    }
}

#define SNIPPET_CONTEXT_CHARS 20
#define MARK_OPEN "<mark>"
#define MARK_CLOSE "</mark>"

char *jmap_snippet_highlight(const char *text, size_t len, const char *const *terms,
                             size_t nterms, size_t max_octets, bool *matched)
{
    size_t first = len;
    *matched = false;
    for (size_t i = 0; i < len && first == len; i++) {
        if (match_at(text + i, len - i, terms, nterms) > 0)
            first = i;
    }
    if (first == len)
        return NULL;
    *matched = true;

    /* Start a few characters before the first match, on a character start. */
    size_t start = first;
    for (unsigned back = 0; start > 0 && back < SNIPPET_CONTEXT_CHARS; back++) {
        start--;
        while (start > 0 && ((unsigned char)text[start] & 0xc0) == 0x80)
            start--;
    }
    /* A short text is shown whole (half the budget leaves room for markup). */
    if (len <= max_octets / 2)
        start = 0;

    struct msg_buf b = MSG_BUF_INIT;
    size_t i = start;
    while (i < len) {
        size_t m = match_at(text + i, len - i, terms, nterms);
        size_t need = 0;
        if (m > 0) {
            for (size_t k = 0; k < m; k++)
                need += escaped_len(text[i + k]);
            need += strlen(MARK_OPEN) + strlen(MARK_CLOSE);
            if (b.len + need > max_octets)
                break;
            msg_buf_put(&b, MARK_OPEN, strlen(MARK_OPEN));
            put_escaped(&b, text + i, m);
            msg_buf_put(&b, MARK_CLOSE, strlen(MARK_CLOSE));
            i += m;
            continue;
        }
        size_t n = char_len(text + i, len - i);
        for (size_t k = 0; k < n; k++)
            need += escaped_len(text[i + k]);
        if (b.len + need > max_octets)
            break;
        put_escaped(&b, text + i, n);
        i += n;
    }
    return msg_buf_finish(&b, NULL);
}
