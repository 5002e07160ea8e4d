/* harness_imap_client.c - a stateful second IMAP client for the
 * integration tests: one plain IMAP session over a raw socket (independent
 * of the gateway's own IMAP code, so a bug there cannot hide itself) that a
 * test keeps open between commands and whose answers it reads (literals
 * included). harness_imap_session() in harness_imap.c is the one-shot form.
 * Every read is bounded by the socket timeouts of harness_connect() and by
 * an overall deadline. */
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
    uint16_t port;      /* to listen for the change a command makes */
    char *user, *pass;
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
    c->port = port;
    c->user = strdup(user);
    c->pass = strdup(pass);
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

static int send_tagged(struct harness_imap *c, char *tag, size_t tag_size, const char *cmd)
{
    int n = snprintf(tag, tag_size, "h%u", ++c->tag);
    if (n < 0 || (size_t)n >= tag_size)
        return -1;
    c->last_len = 0;
    return harness_send_all(c->fd, tag, strlen(tag)) == 0 &&
                   harness_send_all(c->fd, " ", 1) == 0 &&
                   harness_send_all(c->fd, cmd, strlen(cmd)) == 0
               ? 0
               : -1;
}

/* Listens for the announcement of a change the command is about to make. */
static struct harness_notify *notify_for(struct harness_imap *c, const char *cmd)
{
    if (c->user == NULL || c->pass == NULL || !harness_imap_changes(cmd))
        return NULL;
    return harness_notify_begin(c->port, c->user, c->pass);
}

int harness_imap_cmd(struct harness_imap *c, const char *fmt, ...)
{
    char tag[16];
    char *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    int rc = vasprintf(&cmd, fmt, ap) < 0 ? -1 : 0;
    va_end(ap);
    if (rc < 0)
        return -1;
    struct harness_notify *notify = notify_for(c, cmd);
    rc = send_tagged(c, tag, sizeof(tag), cmd);
    free(cmd);
    if (rc == 0)
        rc = harness_send_all(c->fd, "\r\n", 2);
    rc = rc == 0 ? read_answer(c, tag) : -1;
    harness_notify_wait(&notify);
    return rc;
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
    struct harness_notify *notify = notify_for(c, "APPEND");
    int n = snprintf(tag, sizeof(tag), "h%u", ++c->tag);
    c->last_len = 0;
    if (n > 0 && (size_t)n < sizeof(tag) && harness_send_all(c->fd, tag, strlen(tag)) == 0 &&
        harness_send_all(c->fd, " ", 1) == 0 && harness_send_all(c->fd, head, strlen(head)) == 0 &&
        harness_send_all(c->fd, msg, len) == 0 && harness_send_all(c->fd, "\r\n", 2) == 0)
        rc = read_answer(c, tag);
    free(head);
    harness_notify_wait(&notify);
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
    free(c->user);
    free(c->pass);
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
