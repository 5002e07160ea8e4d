/* message_private.h - helpers shared by the files of api/message/ only.
 *
 * struct msg_buf is a growable byte buffer that never fails loudly: after an
 * allocation failure every append is a no-op and msg_buf_finish() returns
 * NULL, so parsers append freely and check once at the end.
 */
#ifndef MESSAGE_PRIVATE_H
#define MESSAGE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct msg_buf {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
};

#define MSG_BUF_INIT { NULL, 0, 0, false }
#define MSG_UTF8_INVALID UINT32_MAX

void msg_buf_put(struct msg_buf *b, const void *p, size_t n);
void msg_buf_putc(struct msg_buf *b, char c);
/* Appends the UTF-8 encoding of a code point (caller guarantees validity). */
void msg_buf_put_cp(struct msg_buf *b, uint32_t cp);
/* NUL-terminates and hands the data over (new, free()); NULL after an
 * allocation failure. The buffer is reset either way. */
char *msg_buf_finish(struct msg_buf *b, size_t *out_len);
void msg_buf_free(struct msg_buf *b);

/* Decodes one UTF-8 sequence at p (n > 0 bytes). Returns the bytes used
 * (>= 1). *cp is the code point, or MSG_UTF8_INVALID when p starts a maximal
 * invalid subpart of the returned length. */
size_t msg_utf8_next(const unsigned char *p, size_t n, uint32_t *cp);

/* Flags for msg_utf8_append(). NUL is always dropped. */
enum {
    MSG_DROP_CONTROLS = 1 << 0   /* also drop C0 (incl. TAB/CR/LF), DEL, C1 */
};

/* Appends UTF-8 text with invalid subparts replaced by U+FFFD (setting
 * *problem, which may be NULL) and NUL/controls dropped per flags. */
void msg_utf8_append(struct msg_buf *b, const char *p, size_t n, unsigned flags, bool *problem);

/* Appends 8-bit text read as UTF-8 when it is valid UTF-8, else as
 * windows-1252 (the WHATWG reading of latin1/us-ascii labels and the de facto
 * charset of unlabelled 8-bit mail). *problem set when not plain ASCII and
 * not UTF-8, or when windows-1252 has a hole. */
void msg_append_8bit(struct msg_buf *b, const char *p, size_t n, unsigned flags, bool *problem);

/* Decodes p[0..n) from the charset label[0..label_len) into b. Returns -1
 * (appending nothing) when the charset is unknown. */
int msg_charset_decode_into(struct msg_buf *b, const char *label, size_t label_len,
                            const char *p, size_t n, unsigned flags, bool *problem);
bool msg_charset_known(const char *label, size_t label_len);

/* Header value -> UTF-8 text: CR and LF removed (unfolding keeps the WSP),
 * NUL dropped, 8-bit read as UTF-8 or windows-1252. New string or NULL. */
char *msg_header_prepare(const char *raw, size_t n, size_t *out_len);

/* ---- word sequences with RFC 2047 encoded-words (encoded_words.c) ------ */

struct msg_words {
    struct msg_buf *out;          /* borrowed: decoded text goes here */
    struct msg_buf pending;       /* bytes of adjacent encoded-words */
    char charset[64];             /* charset of pending (no *lang) */
    size_t charset_len;
    bool have_pending;
};

void msg_words_init(struct msg_words *w, struct msg_buf *out);
/* One word preceded by white space ws (emitted as is unless both sides are
 * encoded-words). ew_ok: the word may be an encoded-word (an atom, a run of
 * unstructured text), not quoted-string content. word_len 0 only flushes. */
void msg_words_add(struct msg_words *w, const char *ws, size_t ws_len,
                   const char *word, size_t word_len, bool ew_ok);
void msg_words_finish(struct msg_words *w);

/* The value of one base64 alphabet character (RFC 4648 §4), or -1. */
int msg_b64_value(unsigned char c);

/* Decodes RFC 2047 encoded-words in UTF-8 unstructured text into b. */
void msg_decode_unstructured(struct msg_buf *b, const char *p, size_t n);

/* ---- structured header lexer (header_lex.c) ----------------------------- */

/* Linear white space, folding included (CR/LF survive in unprepared text). */
static inline bool msg_is_wsp(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

enum msg_tok_type {
    MSG_TOK_END = 0,
    MSG_TOK_ATOM,      /* run of atext, '.' and 8-bit octets */
    MSG_TOK_QUOTED,    /* p/n: content between the DQUOTEs, still escaped */
    MSG_TOK_COMMENT,   /* p/n: content between the outer parentheses */
    MSG_TOK_LITERAL,   /* p/n: "[...]" including the brackets */
    MSG_TOK_SPECIAL    /* c: one of < > : ; @ , */
};

struct msg_tok {
    enum msg_tok_type type;
    const char *p;
    size_t n;
    char c;
    bool ws_before;    /* white space or a comment separates it from the previous token */
};

struct msg_lex {
    const char *p;
    size_t n;
    size_t pos;
};

void msg_lex_init(struct msg_lex *lx, const char *p, size_t n);
/* Next token; an unterminated quoted-string, comment or domain literal
 * loses its opening delimiter, which then counts as white space. */
void msg_lex_next(struct msg_lex *lx, struct msg_tok *t);
/* Appends quoted-string/comment content with quoted-pairs decoded. */
void msg_unquote(struct msg_buf *b, const char *p, size_t n);
/* Skips white space and comments, for scanners that do not tokenise. */
size_t msg_skip_cfws(const char *p, size_t n, size_t pos);

#endif
