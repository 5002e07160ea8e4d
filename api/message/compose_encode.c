/* compose_encode.c - the transfer encodings the message builder writes
 * (RFC 2045 §6.7 quoted-printable, §6.8 base64) and the line checks that
 * choose between them. */
#include <stdlib.h>
#include <string.h>

#include "compose_private.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void compose_base64(struct msg_buf *b, const unsigned char *data, size_t len)
{
    size_t col = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)data[i] << 16;
        size_t rest = len - i;
        if (rest > 1)
            v |= (unsigned)data[i + 1] << 8;
        if (rest > 2)
            v |= data[i + 2];
        char q[4] = { b64_alphabet[(v >> 18) & 63], b64_alphabet[(v >> 12) & 63],
                      rest > 1 ? b64_alphabet[(v >> 6) & 63] : '=',
                      rest > 2 ? b64_alphabet[v & 63] : '=' };
        msg_buf_put(b, q, 4);
        col += 4;
        if (col == 76) {
            msg_buf_put(b, "\r\n", 2);
            col = 0;
        }
    }
    if (col > 0)
        msg_buf_put(b, "\r\n", 2);
}

/* Quoted-printable of one line (no line break inside). */
static void qp_line(struct msg_buf *b, const unsigned char *p, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        char enc[3];
        size_t w = 1;
        bool last = i + 1 == n;
        /* White space at the end of a line would be stripped in transit. */
        bool literal = (p[i] >= 33 && p[i] <= 126 && p[i] != '=') ||
                       ((p[i] == ' ' || p[i] == '\t') && !last);
        if (literal) {
            enc[0] = (char)p[i];
        } else {
            enc[0] = '=';
            enc[1] = hex[p[i] >> 4];
            enc[2] = hex[p[i] & 15];
            w = 3;
        }
        /* A soft break leaves room for the '=': at most 76 per line, and
         * the last character of the line may use column 76 itself. */
        if (col + w > (last ? 76u : 75u)) {
            msg_buf_put(b, "=\r\n", 3);
            col = 0;
        }
        msg_buf_put(b, enc, w);
        col += w;
    }
}

void compose_qp(struct msg_buf *b, const char *text, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (text[i] == '\r' && text[i + 1] == '\n') {
            qp_line(b, (const unsigned char *)text + start, i - start);
            msg_buf_put(b, "\r\n", 2);
            start = i + 2;
            i++;
        }
    }
    qp_line(b, (const unsigned char *)text + start, len - start);
}

char *compose_crlf(const char *text, size_t len, size_t *out_len)
{
    struct msg_buf b = MSG_BUF_INIT;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\r') {
            if (i + 1 < len && text[i + 1] == '\n')
                i++;
            msg_buf_put(&b, "\r\n", 2);
        } else if (text[i] == '\n') {
            msg_buf_put(&b, "\r\n", 2);
        } else {
            msg_buf_putc(&b, text[i]);
        }
    }
    return msg_buf_finish(&b, out_len);
}

bool compose_is_7bit(const char *data, size_t len, size_t max)
{
    size_t col = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)data[i];
        if (ch == '\r') {
            if (i + 1 >= len || data[i + 1] != '\n')
                return false;
            i++;
            col = 0;
            continue;
        }
        if (ch == '\n' || ch >= 0x7f || (ch < 0x20 && ch != '\t'))
            return false;
        if (++col > max)
            return false;
    }
    return true;
}
