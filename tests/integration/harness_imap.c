/* harness_imap.c - a second mail client for the integration tests: plain
 * IMAP over a raw socket (independent of the gateway's own IMAP code, so a
 * bug there cannot hide itself) and LMTP delivery, both against the private
 * Dovecot on loopback. Every read is bounded by the socket timeouts of
 * harness_connect() and by an overall deadline. */
#define _GNU_SOURCE 1
#include "harness.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define IMAP_DEADLINE_MS 60000
#define IMAP_MAX_RESPONSE (256u << 20)

struct harness_imap {
    int fd;
    unsigned tag;
    char *in;           /* bytes read and not yet consumed */
    size_t in_len, in_cap;
    char *last;         /* the last command's whole answer */
    size_t last_len, last_cap;
};

static int buf_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
    if (*len + n + 1 > IMAP_MAX_RESPONSE)
        return -1;
    if (*len + n + 1 > *cap) {
        size_t c = *cap != 0 ? *cap : 4096;
        while (c < *len + n + 1)
            c *= 2;
        char *grown = realloc(*buf, c);
        if (grown == NULL)
            return -1;
        *buf = grown;
        *cap = c;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

static int fill(struct harness_imap *c, int64_t deadline)
{
    char chunk[65536];
    if (harness_now_ms() > deadline)
        return -1;
    ssize_t n = read(c->fd, chunk, sizeof(chunk));
    if (n <= 0)
        return -1;
    return buf_append(&c->in, &c->in_len, &c->in_cap, chunk, (size_t)n);
}

static void consume(struct harness_imap *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
    c->in[c->in_len] = '\0';
}

/* Moves one logical response line (literals included) from the input to
 * last; *line_start gets its offset there. */
static int read_logical_line(struct harness_imap *c, size_t *line_start, int64_t deadline)
{
    *line_start = c->last_len;
    for (;;) {
        char *nl;
        while (c->in == NULL || (nl = memmem(c->in, c->in_len, "\r\n", 2)) == NULL) {
            if (fill(c, deadline) != 0)
                return -1;
        }
        size_t n = (size_t)(nl - c->in) + 2;
        size_t literal = 0;
        bool has_literal = false;
        if (n >= 5 && c->in[n - 3] == '}') {
            size_t i = n - 4;
            while (i > 0 && isdigit((unsigned char)c->in[i]))
                i--;
            if (c->in[i] == '{' && i + 1 < n - 3) {
                has_literal = true;
                literal = strtoul(c->in + i + 1, NULL, 10);
            }
        }
        if (buf_append(&c->last, &c->last_len, &c->last_cap, c->in, n) != 0)
            return -1;
        consume(c, n);
        if (!has_literal)
            return 0;
        while (c->in_len < literal) {
            if (fill(c, deadline) != 0)
                return -1;
        }
        if (buf_append(&c->last, &c->last_len, &c->last_cap, c->in, literal) != 0)
            return -1;
        consume(c, literal);
    }
}

/* Reads until the tagged answer of tag; 0 on OK. */
static int read_answer(struct harness_imap *c, const char *tag)
{
    int64_t deadline = harness_now_ms() + IMAP_DEADLINE_MS;
    size_t tlen = strlen(tag);
    for (;;) {
        size_t start = 0;
        if (read_logical_line(c, &start, deadline) != 0)
            return -1;
        const char *line = c->last + start;
        if (strncmp(line, tag, tlen) == 0 && line[tlen] == ' ')
            return strncmp(line + tlen + 1, "OK", 2) == 0 ? 0 : -1;
    }
}

struct harness_imap *harness_imap_login(uint16_t port, const char *user, const char *pass)
{
    struct harness_imap *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->fd = harness_connect(port);
    size_t start = 0;
    if (c->fd < 0 || read_logical_line(c, &start, harness_now_ms() + IMAP_DEADLINE_MS) != 0 ||
        strncmp(c->last, "* OK", 4) != 0 ||
        harness_imap_cmd(c, "LOGIN \"%s\" \"%s\"", user, pass) != 0) {
        fprintf(stderr, "harness: IMAP login as %s on port %u failed: %s\n", user, port,
                c->last != NULL ? c->last : "(no answer)");
        harness_imap_logout(&c);
        return NULL;
    }
    return c;
}

static int send_tagged(struct harness_imap *c, char *tag, size_t tag_size, const char *fmt,
                       va_list ap)
{
    char *cmd = NULL;
    int n = snprintf(tag, tag_size, "h%u", ++c->tag);
    if (n < 0 || (size_t)n >= tag_size || vasprintf(&cmd, fmt, ap) < 0)
        return -1;
    c->last_len = 0;
    int rc = harness_send_all(c->fd, tag, strlen(tag)) == 0 &&
                     harness_send_all(c->fd, " ", 1) == 0 &&
                     harness_send_all(c->fd, cmd, strlen(cmd)) == 0
                 ? 0
                 : -1;
    free(cmd);
    return rc;
}

int harness_imap_cmd(struct harness_imap *c, const char *fmt, ...)
{
    char tag[16];
    va_list ap;
    va_start(ap, fmt);
    int rc = send_tagged(c, tag, sizeof(tag), fmt, ap);
    va_end(ap);
    if (rc == 0)
        rc = harness_send_all(c->fd, "\r\n", 2);
    return rc == 0 ? read_answer(c, tag) : -1;
}

const char *harness_imap_last(const struct harness_imap *c)
{
    return c->last != NULL ? c->last : "";
}

int harness_imap_append(struct harness_imap *c, const char *mailbox, const char *flags,
                        const char *msg, size_t len, uint32_t *uid)
{
    char tag[16];
    char *head = NULL;
    int rc = -1;
    /* A literal+ (RFC 7888) needs no continuation round trip. */
    if (asprintf(&head, "APPEND \"%s\" (%s) {%zu+}\r\n", mailbox, flags != NULL ? flags : "",
                 len) < 0)
        return -1;
    int n = snprintf(tag, sizeof(tag), "h%u", ++c->tag);
    c->last_len = 0;
    if (n > 0 && (size_t)n < sizeof(tag) && harness_send_all(c->fd, tag, strlen(tag)) == 0 &&
        harness_send_all(c->fd, " ", 1) == 0 && harness_send_all(c->fd, head, strlen(head)) == 0 &&
        harness_send_all(c->fd, msg, len) == 0 && harness_send_all(c->fd, "\r\n", 2) == 0)
        rc = read_answer(c, tag);
    free(head);
    if (rc == 0 && uid != NULL) {
        /* [APPENDUID uidvalidity uid] (RFC 4315) */
        const char *p = strstr(c->last, "[APPENDUID ");
        unsigned long v = 0, u = 0;
        if (p == NULL || sscanf(p, "[APPENDUID %lu %lu]", &v, &u) != 2)
            return -1;
        *uid = (uint32_t)u;
    }
    return rc;
}

void harness_imap_logout(struct harness_imap **cp)
{
    struct harness_imap *c = *cp;
    if (c == NULL)
        return;
    if (c->fd >= 0) {
        harness_send_all(c->fd, "z LOGOUT\r\n", 10);
        close(c->fd);
    }
    free(c->in);
    free(c->last);
    free(c);
    *cp = NULL;
}

/* RFC 8621 §4.1.1: system flags to $ keywords, others lower-cased. */
json_t *harness_imap_keywords(const char *flags, size_t len)
{
    static const char *const system[][2] = {
        { "\\Seen", "$seen" }, { "\\Flagged", "$flagged" }, { "\\Answered", "$answered" },
        { "\\Draft", "$draft" },
    };
    json_t *k = json_object();
    char word[128];
    size_t i = 0;
    while (i < len) {
        while (i < len && flags[i] == ' ')
            i++;
        size_t w = 0;
        while (i < len && flags[i] != ' ' && w + 1 < sizeof(word))
            word[w++] = flags[i++];
        word[w] = '\0';
        if (w == 0 || strcasecmp(word, "\\Recent") == 0 || strcasecmp(word, "\\Deleted") == 0)
            continue;
        const char *kw = NULL;
        for (size_t s = 0; s < sizeof(system) / sizeof(system[0]); s++)
            if (strcasecmp(word, system[s][0]) == 0)
                kw = system[s][1];
        if (kw == NULL) {
            for (size_t c = 0; c < w; c++)
                word[c] = (char)tolower((unsigned char)word[c]);
            kw = word;
        }
        json_object_set_new(k, kw, json_true());
    }
    return k;
}

/* ------------------------------------------------------------ LMTP */

/* Reads replies until a final line ("250 ..." not "250-..."); returns
 * its code or -1. */
static int lmtp_reply(int fd, char *buf, size_t size)
{
    size_t len = 0;
    int64_t deadline = harness_now_ms() + IMAP_DEADLINE_MS;
    while (harness_now_ms() < deadline && len + 1 < size) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        /* the last complete line decides */
        char *end = len >= 2 && buf[len - 2] == '\r' && buf[len - 1] == '\n' ? buf + len - 2 : NULL;
        if (end == NULL)
            continue;
        char *line = end;
        while (line > buf && !(line[-1] == '\n'))
            line--;
        if (end - line >= 4 && line[3] == ' ')
            return atoi(line);
    }
    return -1;
}

static int lmtp_step(int fd, const char *line, int want)
{
    char buf[2048];
    if (line != NULL && harness_send_all(fd, line, strlen(line)) != 0)
        return -1;
    int code = lmtp_reply(fd, buf, sizeof(buf));
    if (code != want) {
        fprintf(stderr, "harness: LMTP %s-> %s\n", line != NULL ? line : "(greeting) ", buf);
        return -1;
    }
    return 0;
}

int harness_lmtp_deliver(uint16_t port, const char *from, const char *rcpt, const char *msg,
                         size_t len)
{
    char line[512];
    int rc = -1;
    int fd = harness_connect(port);
    if (fd < 0)
        return -1;
    if (lmtp_step(fd, NULL, 220) != 0 || lmtp_step(fd, "LHLO harness.test\r\n", 250) != 0)
        goto out;
    int n = snprintf(line, sizeof(line), "MAIL FROM:<%s>\r\n", from);
    if (n < 0 || (size_t)n >= sizeof(line) || lmtp_step(fd, line, 250) != 0)
        goto out;
    n = snprintf(line, sizeof(line), "RCPT TO:<%s>\r\n", rcpt);
    if (n < 0 || (size_t)n >= sizeof(line) || lmtp_step(fd, line, 250) != 0 ||
        lmtp_step(fd, "DATA\r\n", 354) != 0)
        goto out;
    /* Dot-stuffing: a line starting with '.' gets one more. */
    const char *p = msg;
    const char *end = msg + len;
    bool line_start = true;
    while (p < end) {
        if (line_start && *p == '.' && harness_send_all(fd, ".", 1) != 0)
            goto out;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t chunk = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        if (harness_send_all(fd, p, chunk) != 0)
            goto out;
        line_start = nl != NULL;
        p += chunk;
    }
    if (!line_start && harness_send_all(fd, "\r\n", 2) != 0)
        goto out;
    /* One reply per recipient after the final dot (RFC 2033). */
    if (lmtp_step(fd, ".\r\n", 250) != 0)
        goto out;
    rc = 0;
out:
    harness_send_all(fd, "QUIT\r\n", 6);
    close(fd);
    return rc;
}
