/* harness_http.c - a small HTTP/1.1 client over raw sockets, so tests can
 * also send what no well-behaved client library would (a Content-Length
 * without its body, a body in pieces, a garbage request line). */
#define _GNU_SOURCE 1
#include "harness.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define DEFAULT_IO_TIMEOUT_S 5
#define MAX_RESPONSE (16u * 1024 * 1024)
#define MAX_HEADERS 128

static int io_timeout_s = DEFAULT_IO_TIMEOUT_S;

void harness_http_set_timeout(int seconds)
{
    io_timeout_s = seconds > 0 ? seconds : DEFAULT_IO_TIMEOUT_S;
}

struct buf {
    char *data;
    size_t len;
    size_t cap;
};

static int buf_append(struct buf *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap != 0 ? b->cap : 4096;
        char *p;

        while (cap < b->len + len + 1)
            cap *= 2;
        p = realloc(b->data, cap);
        if (p == NULL)
            return -1;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int harness_connect(uint16_t port)
{
    struct timeval tv = { .tv_sec = io_timeout_s, .tv_usec = 0 };
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int harness_send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int harness_fd_readable(int fd, int timeout_ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    return poll(&pfd, 1, timeout_ms) > 0 ? 1 : 0;
}

/* Decodes a chunked body from data. Returns 1 complete (out filled, *used
 * set to the bytes consumed), 0 needs more data, -1 malformed. */
static int chunked_decode(const char *data, size_t len, struct buf *out, size_t *used)
{
    size_t pos = 0;

    out->len = 0;
    for (;;) {
        const char *eol = memmem(data + pos, len - pos, "\r\n", 2);
        char *end;
        unsigned long size;

        if (eol == NULL)
            return 0;
        errno = 0;
        size = strtoul(data + pos, &end, 16);
        if (end == data + pos || errno != 0 || size > MAX_RESPONSE)
            return -1;
        pos = (size_t)(eol - data) + 2;
        if (size == 0) {
            /* Trailers, then an empty line. */
            for (;;) {
                eol = memmem(data + pos, len - pos, "\r\n", 2);
                if (eol == NULL)
                    return 0;
                if (eol == data + pos) {
                    *used = pos + 2;
                    return 1;
                }
                pos = (size_t)(eol - data) + 2;
            }
        }
        if (len - pos < size + 2)
            return 0;
        if (buf_append(out, data + pos, size) != 0)
            return -1;
        if (memcmp(data + pos + size, "\r\n", 2) != 0)
            return -1;
        pos += size + 2;
    }
}

static char *trim_dup(const char *s, size_t len)
{
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
        len--;
    return strndup(s, len);
}

/* Parses the status line and headers in [head, head+len). 0 or -1. */
static int parse_head(const char *head, size_t len, struct harness_response *r)
{
    const char *p = head, *end = head + len, *eol;

    eol = memmem(p, (size_t)(end - p), "\r\n", 2);
    if (eol == NULL || eol - p < 12 || strncmp(p, "HTTP/1.", 7) != 0)
        return -1;
    if (!isdigit((unsigned char)p[9]) || !isdigit((unsigned char)p[10]) ||
        !isdigit((unsigned char)p[11]))
        return -1;
    r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    p = eol + 2;
    r->headers = calloc(MAX_HEADERS, sizeof(*r->headers));
    if (r->headers == NULL)
        return -1;
    while (p < end && (eol = memmem(p, (size_t)(end - p), "\r\n", 2)) != NULL && eol != p) {
        const char *colon = memchr(p, ':', (size_t)(eol - p));

        if (colon == NULL || r->header_count >= MAX_HEADERS)
            return -1;
        r->headers[r->header_count].name = strndup(p, (size_t)(colon - p));
        r->headers[r->header_count].value = trim_dup(colon + 1, (size_t)(eol - colon - 1));
        if (r->headers[r->header_count].name == NULL || r->headers[r->header_count].value == NULL)
            return -1;
        r->header_count++;
        p = eol + 2;
    }
    return 0;
}

static void free_headers(struct harness_response *r)
{
    for (size_t i = 0; i < r->header_count; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    r->headers = NULL;
    r->header_count = 0;
}

/* Reads more bytes into in; 1 got some, 0 EOF, -1 error/timeout. */
static int read_more(int fd, struct buf *in, int64_t deadline)
{
    char chunk[16384];
    ssize_t n;

    if (harness_now_ms() > deadline || in->len > MAX_RESPONSE)
        return -1;
    do {
        n = recv(fd, chunk, sizeof(chunk), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    if (n == 0)
        return 0;
    return buf_append(in, chunk, (size_t)n) == 0 ? 1 : -1;
}

int harness_http_read_response(int fd, int64_t start_ms, struct harness_response *resp)
{
    int64_t deadline = harness_now_ms() + 3000 * (int64_t)io_timeout_s;
    struct buf in = { 0 }, body = { 0 };
    size_t head_len = 0, used = 0;
    const char *te, *cl;
    char *hend;
    int rc = -1, got;

    memset(resp, 0, sizeof(*resp));
    for (;;) {
        hend = in.data != NULL ? memmem(in.data, in.len, "\r\n\r\n", 4) : NULL;
        if (hend != NULL) {
            head_len = (size_t)(hend - in.data) + 4;
            free_headers(resp);
            if (parse_head(in.data, head_len, resp) != 0)
                goto out;
            if (resp->status >= 200 || resp->status < 100)
                break;
            /* An interim 1xx: drop it and read the real response. */
            memmove(in.data, in.data + head_len, in.len - head_len);
            in.len -= head_len;
            continue;
        }
        if (read_more(fd, &in, deadline) != 1)
            goto out;
    }

    te = harness_response_header(resp, "Transfer-Encoding");
    cl = harness_response_header(resp, "Content-Length");
    if (resp->status == 204 || resp->status == 304) {
        got = 1;
    } else if (te != NULL && harness_header_has_token(te, "chunked")) {
        while ((got = chunked_decode(in.data + head_len, in.len - head_len, &body, &used)) == 0)
            if (read_more(fd, &in, deadline) != 1)
                goto out;
        if (got < 0)
            goto out;
    } else if (cl != NULL) {
        char *end;
        unsigned long long want = strtoull(cl, &end, 10);

        if (end == cl || want > MAX_RESPONSE)
            goto out;
        while (in.len - head_len < want)
            if (read_more(fd, &in, deadline) != 1)
                goto out;
        if (buf_append(&body, in.data + head_len, (size_t)want) != 0)
            goto out;
    } else {
        /* No framing: the body runs to the end of the connection. */
        while ((got = read_more(fd, &in, deadline)) == 1)
            ;
        if (got < 0)
            goto out;
        if (buf_append(&body, in.data + head_len, in.len - head_len) != 0)
            goto out;
    }
    if (body.data == NULL && buf_append(&body, "", 0) != 0)
        goto out;
    resp->body = body.data;
    resp->body_len = body.len;
    body.data = NULL;
    resp->elapsed_ms = harness_now_ms() - start_ms;
    rc = 0;
out:
    if (rc != 0)
        harness_response_free(resp);
    free(in.data);
    free(body.data);
    return rc;
}

int harness_http_request(uint16_t port, const char *method, const char *path,
                         const char *const *headers, const char *body, size_t body_len,
                         struct harness_response *resp)
{
    struct buf req = { 0 };
    char line[512];
    int64_t start = harness_now_ms();
    int fd = -1, rc = -1, n;

    memset(resp, 0, sizeof(*resp));
    n = snprintf(line, sizeof(line),
                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n", method, path,
                 port);
    if (n < 0 || (size_t)n >= sizeof(line) || buf_append(&req, line, (size_t)n) != 0)
        goto out;
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        if (buf_append(&req, headers[i], strlen(headers[i])) != 0 ||
            buf_append(&req, "\r\n", 2) != 0)
            goto out;
    if (body != NULL) {
        n = snprintf(line, sizeof(line), "Content-Length: %zu\r\n", body_len);
        if (n < 0 || (size_t)n >= sizeof(line) || buf_append(&req, line, (size_t)n) != 0)
            goto out;
    }
    if (buf_append(&req, "\r\n", 2) != 0 || (body != NULL && buf_append(&req, body, body_len) != 0))
        goto out;
    fd = harness_connect(port);
    if (fd < 0 || harness_send_all(fd, req.data, req.len) != 0)
        goto out;
    rc = harness_http_read_response(fd, start, resp);
out:
    if (fd >= 0)
        close(fd);
    free(req.data);
    return rc;
}

const char *harness_response_header(const struct harness_response *r, const char *name)
{
    for (size_t i = 0; r != NULL && i < r->header_count; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

size_t harness_response_header_count(const struct harness_response *r, const char *name)
{
    size_t n = 0;

    for (size_t i = 0; r != NULL && i < r->header_count; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            n++;
    return n;
}

json_t *harness_response_json(const struct harness_response *r)
{
    json_error_t jerr;

    if (r == NULL || r->body == NULL)
        return NULL;
    return json_loadb(r->body, r->body_len, 0, &jerr);
}

void harness_response_free(struct harness_response *r)
{
    if (r == NULL)
        return;
    free_headers(r);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

char *harness_basic_auth(const char *user, const char *pass)
{
    static const char prefix[] = "Authorization: Basic ";
    size_t plain_len = strlen(user) + 1 + strlen(pass);
    unsigned char *plain = malloc(plain_len + 1);
    char *out = malloc(sizeof(prefix) + 4 * ((plain_len + 2) / 3) + 1);

    if (plain == NULL || out == NULL) {
        free(plain);
        free(out);
        return NULL;
    }
    memcpy(plain, user, strlen(user));
    plain[strlen(user)] = ':';
    memcpy(plain + strlen(user) + 1, pass, strlen(pass));
    memcpy(out, prefix, sizeof(prefix) - 1);
    EVP_EncodeBlock((unsigned char *)out + sizeof(prefix) - 1, plain, (int)plain_len);
    free(plain);
    return out;
}

bool harness_header_has_token(const char *value, const char *token)
{
    size_t tlen = strlen(token);
    const char *p = value;

    while (p != NULL && *p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);

        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == tlen && strncasecmp(p, token, tlen) == 0)
            return true;
        p = comma != NULL ? comma + 1 : NULL;
    }
    return false;
}
