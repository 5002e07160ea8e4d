/* utf8.c - byte buffer and UTF-8 validation/sanitising for api/message/.
 *
 * Header and body text reaches JSON, and Jansson refuses invalid UTF-8, so
 * every string leaving this module passes through msg_utf8_append(). The
 * replacement rule is the Unicode "maximal subpart" one (also WHATWG's):
 * one U+FFFD per maximal prefix of a would-be sequence, so a truncated
 * 3-byte sequence costs one U+FFFD, not three.
 */
#include <stdlib.h>
#include <string.h>

#include "jmap_message.h"
#include "message_private.h"

static bool buf_reserve(struct msg_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (extra > SIZE_MAX / 2 - b->len - 1) {
        b->failed = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (d == NULL) {
        b->failed = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

void msg_buf_put(struct msg_buf *b, const void *p, size_t n)
{
    if (n == 0 || !buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void msg_buf_putc(struct msg_buf *b, char c)
{
    msg_buf_put(b, &c, 1);
}

void msg_buf_put_cp(struct msg_buf *b, uint32_t cp)
{
    char s[4];
    size_t n;
    if (cp < 0x80) {
        s[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        s[0] = (char)(0xC0 | (cp >> 6));
        s[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        s[0] = (char)(0xE0 | (cp >> 12));
        s[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        s[0] = (char)(0xF0 | (cp >> 18));
        s[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        s[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    msg_buf_put(b, s, n);
}

char *msg_buf_finish(struct msg_buf *b, size_t *out_len)
{
    char *res = NULL;
    if (buf_reserve(b, 0)) {
        b->data[b->len] = '\0';
        res = b->data;
        if (out_len)
            *out_len = b->len;
        b->data = NULL;
    }
    msg_buf_free(b);
    return res;
}

void msg_buf_free(struct msg_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = false;
}

size_t msg_utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned char c = p[0];
    size_t need;
    uint32_t v;
    /* Bounds of the second byte per RFC 3629 table: they exclude overlongs,
     * surrogates and code points above U+10FFFF in one check. */
    unsigned char lo = 0x80, hi = 0xBF;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        v = c & 0x0F;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        v = c & 0x07;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        *cp = MSG_UTF8_INVALID;
        return 1;
    }
    for (size_t i = 1; i <= need; i++) {
        if (i >= n || p[i] < lo || p[i] > hi) {
            *cp = MSG_UTF8_INVALID;
            return i;
        }
        v = (v << 6) | (p[i] & 0x3F);
        lo = 0x80;
        hi = 0xBF;
    }
    *cp = v;
    return need + 1;
}

bool jmap_utf8_valid(const char *bytes, size_t len)
{
    const unsigned char *p = (const unsigned char *)bytes;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        i += msg_utf8_next(p + i, len - i, &cp);
        if (cp == MSG_UTF8_INVALID)
            return false;
    }
    return true;
}

static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

void msg_utf8_append(struct msg_buf *b, const char *p, size_t n, unsigned flags, bool *problem)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t i = 0, run = 0;

    /* Valid stretches are copied in one go; only the exceptions cost. */
    while (i < n) {
        uint32_t cp;
        size_t k = msg_utf8_next(u + i, n - i, &cp);
        bool drop = cp == 0 || ((flags & MSG_DROP_CONTROLS) && is_control(cp));
        if (cp == MSG_UTF8_INVALID || drop) {
            msg_buf_put(b, p + run, i - run);
            if (!drop) {
                msg_buf_put_cp(b, 0xFFFD);
                if (problem)
                    *problem = true;
            }
            run = i + k;
        }
        i += k;
    }
    msg_buf_put(b, p + run, n - run);
}

char *jmap_utf8_sanitize(const char *bytes, size_t len, size_t *out_len, bool *had_problem)
{
    struct msg_buf b = MSG_BUF_INIT;
    msg_utf8_append(&b, bytes, len, 0, had_problem);
    return msg_buf_finish(&b, out_len);
}
