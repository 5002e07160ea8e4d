/* encoded_words.c - RFC 2047 encoded-words with the RFC 8621 rules.
 *
 * A word is decoded only when it is an encoded-word from end to end (in
 * unstructured text: a whole run between white space; in a phrase: a whole
 * atom). Anything else that merely looks like one, sits inside a
 * quoted-string, is malformed, or names an unknown charset stays verbatim,
 * as RFC 8621 §4.1.2.2 step 4 demands. The 75-octet limit of RFC 2047 §2 is
 * not enforced: overlong words are common in real mail and unambiguous.
 *
 * Adjacent encoded-words (only white space between them) lose that white
 * space (RFC 2047 §6.2). When they share a charset their octets are joined
 * before conversion, because senders split multibyte characters across
 * words (RFC 2047 forbids it; mailers do it anyway).
 */
#include <string.h>
#include <strings.h>

#include "jmap_message.h"
#include "message_private.h"

struct encoded_word {
    const char *charset;     /* without the RFC 2231 "*lang" suffix */
    size_t charset_len;
    char encoding;           /* 'B' or 'Q' */
    const char *text;
    size_t text_len;
};

static bool is_especial(char c)
{
    return strchr("()<>@,;:\"/[]?.=", c) != NULL;
}

/* True when p[0..n) is exactly one encoded-word (RFC 2047 §2). */
static bool ew_parse(const char *p, size_t n, struct encoded_word *ew)
{
    size_t i = 2, cs, lang = 0;

    if (n < 8 || p[0] != '=' || p[1] != '?' || p[n - 2] != '?' || p[n - 1] != '=')
        return false;
    cs = i;
    while (i < n && p[i] != '?') {
        unsigned char c = (unsigned char)p[i];
        if (c <= ' ' || c >= 0x7F || (is_especial(p[i]) && p[i] != '.'))
            return false;
        if (c == '*' && lang == 0)
            lang = i;
        i++;
    }
    /* '.' is an especial, but RFC 2231 language tags never need it and
     * some charset names in the wild carry one; be lenient there only. */
    ew->charset = p + cs;
    ew->charset_len = (lang ? lang : i) - cs;
    if (ew->charset_len == 0 || i + 3 >= n || p[i + 2] != '?')
        return false;
    ew->encoding = p[i + 1];
    if (ew->encoding == 'b')
        ew->encoding = 'B';
    else if (ew->encoding == 'q')
        ew->encoding = 'Q';
    if (ew->encoding != 'B' && ew->encoding != 'Q')
        return false;
    ew->text = p + i + 3;
    ew->text_len = n - 2 - (i + 3);
    if (ew->text_len == 0)
        return false;
    for (size_t k = 0; k < ew->text_len; k++) {
        unsigned char c = (unsigned char)ew->text[k];
        if (c <= ' ' || c >= 0x7F || c == '?')
            return false;
    }
    return true;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;   /* RFC 2047 says upper case; mailers disagree */
    return -1;
}

/* Appends the octets of the encoded-text; -1 when it is malformed (then the
 * caller keeps the word verbatim, so nothing must have been appended). */
static int ew_octets(const struct encoded_word *ew, struct msg_buf *b)
{
    const char *t = ew->text;
    size_t n = ew->text_len, start = b->len;

    if (ew->encoding == 'Q') {
        for (size_t i = 0; i < n; i++) {
            if (t[i] == '_') {
                msg_buf_putc(b, ' ');
            } else if (t[i] != '=') {
                msg_buf_putc(b, t[i]);
            } else if (i + 2 < n && hex_value(t[i + 1]) >= 0 && hex_value(t[i + 2]) >= 0) {
                msg_buf_putc(b, (char)(hex_value(t[i + 1]) * 16 + hex_value(t[i + 2])));
                i += 2;
            } else {
                goto bad;
            }
        }
        return 0;
    }
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t pad = 0, digits = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '=') {
            pad++;
            continue;
        }
        int v = msg_b64_value((unsigned char)t[i]);
        if (v < 0 || pad > 0)
            goto bad;
        digits++;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            msg_buf_putc(b, (char)((acc >> bits) & 0xFF));
        }
    }
    /* Missing padding is tolerated; a lone trailing sextet is not data. */
    if (digits % 4 == 1 || pad > 2 || (pad > 0 && (digits + pad) % 4 != 0))
        goto bad;
    return 0;
bad:
    b->len = start;
    return -1;
}

void msg_words_init(struct msg_words *w, struct msg_buf *out)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
}

static void words_flush(struct msg_words *w)
{
    if (!w->have_pending)
        return;
    /* NULs and controls smuggled in through encoding are dropped (RFC 8621
     * §4.1.2.2 step 4); bad octets for the charset become U+FFFD. */
    msg_charset_decode_into(w->out, w->charset, w->charset_len, w->pending.data ? w->pending.data : "",
                            w->pending.len, MSG_DROP_CONTROLS, NULL);
    if (w->pending.failed)
        w->out->failed = true;
    w->pending.len = 0;
    w->pending.failed = false;
    w->have_pending = false;
}

static bool same_charset(const struct msg_words *w, const struct encoded_word *ew)
{
    if (!w->have_pending || w->charset_len != ew->charset_len)
        return false;
    return strncasecmp(w->charset, ew->charset, ew->charset_len) == 0;
}

void msg_words_add(struct msg_words *w, const char *ws, size_t ws_len,
                   const char *word, size_t word_len, bool ew_ok)
{
    struct encoded_word ew;

    if (ew_ok && ew_parse(word, word_len, &ew) && ew.charset_len < sizeof(w->charset) &&
        msg_charset_known(ew.charset, ew.charset_len)) {
        struct msg_buf octets = MSG_BUF_INIT;
        if (ew_octets(&ew, &octets) == 0) {
            if (!same_charset(w, &ew)) {
                bool after_ew = w->have_pending;
                words_flush(w);
                if (!after_ew)
                    msg_buf_put(w->out, ws, ws_len);
                memcpy(w->charset, ew.charset, ew.charset_len);
                w->charset_len = ew.charset_len;
                w->have_pending = true;
            }
            msg_buf_put(&w->pending, octets.data, octets.len);
            if (octets.failed)
                w->pending.failed = true;
            msg_buf_free(&octets);
            return;
        }
        msg_buf_free(&octets);
    }
    words_flush(w);
    msg_buf_put(w->out, ws, ws_len);
    msg_buf_put(w->out, word, word_len);
}

void msg_words_finish(struct msg_words *w)
{
    words_flush(w);
    msg_buf_free(&w->pending);
}

void msg_decode_unstructured(struct msg_buf *b, const char *p, size_t n)
{
    struct msg_words w;
    size_t i = 0;

    msg_words_init(&w, b);
    while (i < n) {
        size_t ws = i;
        while (i < n && msg_is_wsp(p[i]))
            i++;
        size_t word = i;
        while (i < n && !msg_is_wsp(p[i]))
            i++;
        msg_words_add(&w, p + ws, word - ws, p + word, i - word, true);
    }
    msg_words_finish(&w);
}

char *jmap_encoded_words_decode(const char *bytes, size_t len)
{
    struct msg_buf text = MSG_BUF_INIT, b = MSG_BUF_INIT;

    msg_append_8bit(&text, bytes, len, 0, NULL);
    msg_decode_unstructured(&b, text.data ? text.data : "", text.len);
    if (text.failed)
        b.failed = true;
    msg_buf_free(&text);
    return msg_buf_finish(&b, NULL);
}
