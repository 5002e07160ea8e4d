/* header_lex.c - tokens of RFC 5322 structured header fields.
 *
 * The input is already unfolded UTF-8 (msg_header_prepare()), so 8-bit
 * octets are simply atext (RFC 6532). '.' is folded into atoms: a phrase
 * ("Joe Q. Public", obs-phrase) and a dot-atom ("john.doe") then need no
 * special casing, and addr-spec reconstruction just concatenates tokens.
 *
 * Broken input is the norm, so an unterminated quoted-string, comment or
 * domain literal does not swallow the rest of the field: its opening
 * delimiter is treated as white space and lexing goes on after it. That
 * keeps '"Unbalanced <a@example.com>' an address with a name.
 */
#include <string.h>

#include "message_private.h"

char *msg_header_prepare(const char *raw, size_t n, size_t *out_len)
{
    struct msg_buf unfolded = MSG_BUF_INIT, b = MSG_BUF_INIT;
    size_t run = 0;

    /* RFC 5322 §2.2.3 unfolding removes CRLF before WSP; a CR or LF left
     * anywhere else is broken input and is dropped the same way. */
    for (size_t i = 0; i < n; i++) {
        if (raw[i] == '\r' || raw[i] == '\n') {
            msg_buf_put(&unfolded, raw + run, i - run);
            run = i + 1;
        }
    }
    msg_buf_put(&unfolded, raw + run, n - run);
    msg_append_8bit(&b, unfolded.data ? unfolded.data : "", unfolded.len, 0, NULL);
    if (unfolded.failed)
        b.failed = true;
    msg_buf_free(&unfolded);
    return msg_buf_finish(&b, out_len);
}

void msg_lex_init(struct msg_lex *lx, const char *p, size_t n)
{
    lx->p = p;
    lx->n = n;
    lx->pos = 0;
}

static bool is_special(char c)
{
    return c == '(' || c == ')' || c == '<' || c == '>' || c == '[' || c == ']' ||
           c == ':' || c == ';' || c == '@' || c == ',' || c == '"';
}

/* End of a delimited run starting after `open` at pos, or 0 when it is not
 * terminated. Comments nest; quoted-pairs escape anything. */
static size_t delimited_end(const char *p, size_t n, size_t pos, char open, char close)
{
    unsigned depth = 1;
    for (size_t i = pos + 1; i < n; i++) {
        if (p[i] == '\\' && open != '[') {
            i++;
            continue;
        }
        if (open == '(' && p[i] == '(') {
            depth++;
        } else if (p[i] == close && --depth == 0) {
            return i;
        }
    }
    return 0;
}

size_t msg_skip_cfws(const char *p, size_t n, size_t pos)
{
    while (pos < n) {
        if (msg_is_wsp(p[pos])) {
            pos++;
        } else if (p[pos] == '(') {
            size_t end = delimited_end(p, n, pos, '(', ')');
            pos = end ? end + 1 : pos + 1;
        } else {
            break;
        }
    }
    return pos;
}

/* Length of the encoded-word shape "=?cs?e?text?=" at p, else 0. Such a
 * word stays one atom even when its text holds specials (Q-encoded
 * "=?utf-8?q?Smith,_John?=" is forbidden in a phrase by RFC 2047 §5 (3) but
 * common; cutting it at ',' would destroy the whole address). */
static size_t encoded_word_span(const char *p, size_t n)
{
    size_t i = 2, marks = 0;
    if (n < 8 || p[0] != '=' || p[1] != '?')
        return 0;
    for (; i < n && marks < 3; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= ' ' || c >= 0x7F)
            return 0;
        if (c == '?')
            marks++;
    }
    return marks == 3 && i < n && p[i] == '=' ? i + 1 : 0;
}

void msg_lex_next(struct msg_lex *lx, struct msg_tok *t)
{
    const char *p = lx->p;
    size_t n = lx->n;

    memset(t, 0, sizeof(*t));
    while (lx->pos < n) {
        size_t i = lx->pos;
        char c = p[i];
        if (msg_is_wsp(c) || c == ')' || c == ']') {
            /* Stray closers carry no meaning; skipping them keeps going. */
            t->ws_before = true;
            lx->pos++;
            continue;
        }
        if (c == '(' || c == '"' || c == '[') {
            char close = c == '(' ? ')' : c == '"' ? '"' : ']';
            size_t end = delimited_end(p, n, i, c, close);
            if (end == 0) {
                t->ws_before = true;
                lx->pos++;
                continue;
            }
            lx->pos = end + 1;
            if (c == '[') {
                t->type = MSG_TOK_LITERAL;
                t->p = p + i;
                t->n = end + 1 - i;
            } else {
                t->type = c == '(' ? MSG_TOK_COMMENT : MSG_TOK_QUOTED;
                t->p = p + i + 1;
                t->n = end - i - 1;
            }
            return;
        }
        if (is_special(c)) {
            t->type = MSG_TOK_SPECIAL;
            t->c = c;
            t->p = p + i;
            t->n = 1;
            lx->pos++;
            return;
        }
        size_t end = i + encoded_word_span(p + i, n - i);
        while (end < n && !msg_is_wsp(p[end]) && !is_special(p[end]))
            end++;
        t->type = MSG_TOK_ATOM;
        t->p = p + i;
        t->n = end - i;
        lx->pos = end;
        return;
    }
    t->type = MSG_TOK_END;
}

void msg_unquote(struct msg_buf *b, const char *p, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\' && i + 1 < n) {
            msg_buf_put(b, p + run, i - run);
            run = i + 1;   /* the escaped character starts the next run */
            i++;
        }
    }
    msg_buf_put(b, p + run, n - run);
}
