/* mime_decode.c - Content-Transfer-Encoding decoders (RFC 2045 §6.7, §6.8),
 * tolerant of what real mail does wrong: line breaks and blanks anywhere
 * in base64, concatenated base64 blocks with padding in the middle, a
 * missing final padding, lower-case hex and trailing blanks in
 * quoted-printable. Each decoder runs with out == NULL to count only.
 */
#include <stdlib.h>

#include "jmap_mime.h"
#include "message_private.h"

int msg_b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

static void emit(struct msg_buf *out, size_t *count, char c)
{
    if (out != NULL)
        msg_buf_putc(out, c);
    (*count)++;
}

/* Flushes a partial quantum of k sextets (at '=' or the end). */
static void b64_flush(struct msg_buf *out, size_t *count, uint32_t acc, int k, bool *problem)
{
    if (k == 1 && problem != NULL)
        *problem = true;   /* six bits make no octet */
    if (k >= 2)
        emit(out, count, (char)((acc >> (k * 6 - 8)) & 0xFF));
    if (k == 3)
        emit(out, count, (char)((acc >> 2) & 0xFF));
}

static size_t base64(const char *in, size_t len, struct msg_buf *out, bool *problem)
{
    uint32_t acc = 0;
    int k = 0;
    size_t count = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        int v = msg_b64_value(c);
        if (v < 0) {
            if (c == '=') {
                b64_flush(out, &count, acc, k, problem);
                acc = 0;
                k = 0;
            } else if (c != '\r' && c != '\n' && c != ' ' && c != '\t' && problem != NULL) {
                *problem = true;
            }
            continue;
        }
        acc = (acc << 6) | (uint32_t)v;
        if (++k == 4) {
            emit(out, &count, (char)(acc >> 16));
            emit(out, &count, (char)((acc >> 8) & 0xFF));
            emit(out, &count, (char)(acc & 0xFF));
            acc = 0;
            k = 0;
        }
    }
    b64_flush(out, &count, acc, k, problem);
    return count;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static size_t quoted_printable(const char *in, size_t len, struct msg_buf *out, bool *problem)
{
    size_t count = 0, i = 0;
    while (i < len) {
        /* Blanks before a line break were added in transport (§6.7 (3)). */
        if (in[i] == ' ' || in[i] == '\t') {
            size_t j = i;
            while (j < len && (in[j] == ' ' || in[j] == '\t'))
                j++;
            if (j == len || in[j] == '\n' || (in[j] == '\r' && j + 1 < len && in[j + 1] == '\n')) {
                i = j;
                continue;
            }
            for (; i < j; i++)
                emit(out, &count, in[i]);
            continue;
        }
        if (in[i] != '=') {
            emit(out, &count, in[i++]);
            continue;
        }
        int h = i + 1 < len ? hex_value((unsigned char)in[i + 1]) : -1;
        int l = i + 2 < len ? hex_value((unsigned char)in[i + 2]) : -1;
        if (h >= 0 && l >= 0) {
            emit(out, &count, (char)(h * 16 + l));
            i += 3;
            continue;
        }
        /* A soft line break: '=' then blanks then the line end. */
        size_t j = i + 1;
        while (j < len && (in[j] == ' ' || in[j] == '\t'))
            j++;
        if (j == len) {
            i = j;
            continue;
        }
        if (in[j] == '\n' || (in[j] == '\r' && j + 1 < len && in[j + 1] == '\n')) {
            i = j + (in[j] == '\r' ? 2 : 1);
            continue;
        }
        if (problem != NULL)
            *problem = true;
        emit(out, &count, in[i++]);
    }
    return count;
}

static size_t run(enum jmap_mime_encoding enc, const char *in, size_t len, struct msg_buf *out,
                  bool *problem)
{
    switch (enc) {
    case JMAP_MIME_ENC_BASE64:
        return base64(in, len, out, problem);
    case JMAP_MIME_ENC_QP:
        return quoted_printable(in, len, out, problem);
    case JMAP_MIME_ENC_UNKNOWN:
        if (problem != NULL)
            *problem = true;
        break;
    case JMAP_MIME_ENC_IDENTITY:
        break;
    }
    if (out != NULL)
        msg_buf_put(out, in, len);
    return len;
}

char *jmap_mime_decode(enum jmap_mime_encoding enc, const char *in, size_t len,
                       size_t *out_len, bool *problem)
{
    struct msg_buf b = MSG_BUF_INIT;
    run(enc, in, len, &b, problem);
    return msg_buf_finish(&b, out_len);
}

size_t jmap_mime_decoded_size(enum jmap_mime_encoding enc, const char *in, size_t len)
{
    return run(enc, in, len, NULL, NULL);
}
