/* imap_wire.c - building, sending and reading raw IMAP commands on the
 * session's stream (see imap_wire.h for why). */
#include "imap_wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WIRE_MAX_RESPONSE (64u << 20)
#define WIRE_READ_CHUNK 65536

/* Room for n more bytes and the NUL after them. */
static int bytes_reserve(struct imap_bytes *b, size_t n)
{
    if (b->cap - b->len <= n) {
        size_t cap = b->cap != 0 ? b->cap : 256;
        while (cap - b->len <= n) {
            if (cap > SIZE_MAX / 2)
                return -1;
            cap *= 2;
        }
        char *d = realloc(b->data, cap);
        if (d == NULL)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    return 0;
}

int imap_bytes_append(struct imap_bytes *b, const void *p, size_t n)
{
    if (bytes_reserve(b, n) < 0)
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void imap_bytes_free(struct imap_bytes *b)
{
    free(b->data);
    *b = (struct imap_bytes){ 0 };
}

void imap_cmd_init(struct imap_cmd *c, struct imap_backend *ib)
{
    *c = (struct imap_cmd){ .literal_plus = backend_has_capability(&ib->base, "LITERAL+") };
}

void imap_cmd_free(struct imap_cmd *c)
{
    imap_bytes_free(&c->buf);
    free(c->sync);
    c->sync = NULL;
    free(c->refs);
    c->refs = NULL;
}

static void cmd_append(struct imap_cmd *c, const char *p, size_t n)
{
    if (!c->failed && imap_bytes_append(&c->buf, p, n) < 0)
        c->failed = true;
}

void imap_cmd_add(struct imap_cmd *c, const char *text)
{
    cmd_append(c, text, strlen(text));
}

void imap_cmd_addf(struct imap_cmd *c, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(small)) {
        c->failed = true;   /* only short protocol fragments go through here */
        return;
    }
    cmd_append(c, small, (size_t)n);
}

/* "{N}" or "{N+}" and, for a synchronising literal, the offset where the
 * sender must wait for the server's "+". */
static void literal_header(struct imap_cmd *c, size_t len)
{
    imap_cmd_addf(c, c->literal_plus ? "{%zu+}\r\n" : "{%zu}\r\n", len);
    if (c->literal_plus || c->failed)
        return;
    if (c->n_sync == c->cap_sync) {
        size_t cap = c->cap_sync != 0 ? c->cap_sync * 2 : 4;
        size_t *ns = realloc(c->sync, cap * sizeof(*ns));
        if (ns == NULL) {
            c->failed = true;
            return;
        }
        c->sync = ns;
        c->cap_sync = cap;
    }
    c->sync[c->n_sync++] = c->buf.len;
}

void imap_cmd_add_string(struct imap_cmd *c, const char *p, size_t len)
{
    bool quotable = len < 1024;
    for (size_t i = 0; i < len && quotable; i++) {
        unsigned char ch = (unsigned char)p[i];
        quotable = ch >= 0x20 && ch < 0x7f;
    }
    if (quotable) {
        cmd_append(c, "\"", 1);
        for (size_t i = 0; i < len; i++) {
            if (p[i] == '"' || p[i] == '\\')
                cmd_append(c, "\\", 1);
            cmd_append(c, &p[i], 1);
        }
        cmd_append(c, "\"", 1);
        return;
    }
    literal_header(c, len);
    cmd_append(c, p, len);
}

void imap_cmd_add_literal_ref(struct imap_cmd *c, const char *p, size_t len)
{
    literal_header(c, len);
    if (c->failed)
        return;
    if (c->n_refs == c->cap_refs) {
        size_t cap = c->cap_refs != 0 ? c->cap_refs * 2 : 2;
        struct imap_cmd_ref *nr = realloc(c->refs, cap * sizeof(*nr));
        if (nr == NULL) {
            c->failed = true;
            return;
        }
        c->refs = nr;
        c->cap_refs = cap;
    }
    c->refs[c->n_refs++] = (struct imap_cmd_ref){ .at = c->buf.len, .p = p, .len = len };
}

/* Reads exactly n bytes into raw. */
static int read_exact(struct imap_backend *ib, struct imap_bytes *raw, size_t n)
{
    char chunk[WIRE_READ_CHUNK];
    while (n > 0) {
        size_t want = n < sizeof(chunk) ? n : sizeof(chunk);
        ssize_t r = mailstream_read(ib->imap->imap_stream, chunk, want);
        if (r <= 0 || imap_bytes_append(raw, chunk, (size_t)r) < 0)
            return -1;
        n -= (size_t)r;
    }
    return 0;
}

/* A literal announced at the end of the line just read ("{N}\r\n"). */
static bool line_literal(const struct imap_bytes *raw, size_t line_start, size_t *n)
{
    size_t end = raw->len;
    if (end - line_start < 5 || raw->data[end - 3] != '}')
        return false;
    size_t i = end - 4, v = 0, mul = 1;
    while (i > line_start && raw->data[i] >= '0' && raw->data[i] <= '9' && mul <= 1000000000000u) {
        v += (size_t)(raw->data[i] - '0') * mul;
        mul *= 10;
        i--;
    }
    if (raw->data[i] != '{' || i == end - 4)
        return false;
    *n = v;
    return true;
}

/* Appends one line, through its LF, to raw: a run of the stream's read
 * buffer at a time. libetpan moves what is left of that buffer to its
 * front on every mailstream_read(), so reading a byte at a time cost the
 * buffer's size per byte (most of the CPU of reading a FETCH of the
 * newest 128 messages). 0, -1 on transport failure, -2 when the line
 * (without its LF) takes raw past max. */
static int read_line(mailstream *s, struct imap_bytes *raw, size_t max)
{
    for (;;) {
        ssize_t avail = mailstream_feed_read_buffer(s);
        if (avail <= 0)
            return -1;
        const char *nl = memchr(s->read_buffer, '\n', (size_t)avail);
        size_t take = nl != NULL ? (size_t)(nl - s->read_buffer) + 1 : (size_t)avail;
        if (bytes_reserve(raw, take) < 0)
            return -2;
        if (mailstream_read(s, raw->data + raw->len, take) != (ssize_t)take)
            return -1;
        raw->len += take;
        raw->data[raw->len] = '\0';
        if (raw->len - (nl != NULL) > max)
            return -2;
        if (nl != NULL)
            return 0;
    }
}

/* Reads one whole response (lines and the literals they announce) into raw.
 * Returns 0, -1 on transport failure, -2 when it exceeds max. */
static int read_response(struct imap_backend *ib, struct imap_bytes *raw, size_t max)
{
    raw->len = 0;
    for (;;) {
        size_t line_start = raw->len;
        int rc = read_line(ib->imap->imap_stream, raw, max);
        if (rc < 0)
            return rc;
        size_t lit;
        if (!line_literal(raw, line_start, &lit))
            return 0;
        if (lit > max || raw->len + lit > max)
            return -2;
        if (read_exact(ib, raw, lit) < 0)
            return -1;
    }
}

static int transport_error(struct imap_backend *ib, const char *what, struct gw_error *err)
{
    return imap_cmd_end(ib, MAILIMAP_ERROR_STREAM, what, GW_ERR_UNAVAILABLE, err);
}

static int write_all(struct imap_backend *ib, const char *p, size_t n)
{
    return n == 0 || mailstream_write(ib->imap->imap_stream, p, n) == (ssize_t)n ? 0 : -1;
}

/* Borrowed literal data may be large: each chunk gets its own time budget,
 * so a big message that keeps flowing is fine and a stalled peer is not. */
static int write_chunked(struct imap_backend *ib, const char *p, size_t n)
{
    while (n > 0) {
        size_t k = n < WIRE_READ_CHUNK ? n : WIRE_READ_CHUNK;
        imap_cmd_begin(ib);
        if (write_all(ib, p, k) < 0)
            return -1;
        p += k;
        n -= k;
    }
    return 0;
}

struct run_state {
    struct imap_backend *ib;
    const char *what;
    char tag[16];
    imap_untagged_fn fn;
    void *ctx;
    struct gw_error first;  /* first error met while draining */
    bool protocol_broken;
    char tagged_code[32];
    bool pass_tagged;       /* hand the tagged OK to fn too */
};

enum step { STEP_UNTAGGED, STEP_CONTINUE, STEP_TAGGED_OK, STEP_FAIL };

/* Reads and handles one response. STEP_FAIL means the command is over
 * (tagged NO/BAD, transport failure or BYE) with err set. */
static enum step run_step(struct run_state *rs, struct imap_bytes *raw, size_t max,
                          struct gw_error *err)
{
    struct imap_arena arena = { 0 };
    struct imap_untagged u;
    enum step st = STEP_FAIL;
    size_t tag_len = strlen(rs->tag);

    imap_cmd_begin(rs->ib);     /* the budget bounds the wait for each response */
    int r = read_response(rs->ib, raw, max);
    if (r == -1) {
        transport_error(rs->ib, rs->what, err);
        goto out;
    }
    if (r == -2) {
        net_io_disarm(&rs->ib->io);
        rs->ib->base.broken = true;
        gw_error_set(err, GW_ERR_TOO_LARGE, "%s: response larger than %zu bytes", rs->what, max);
        goto out;
    }
    if (raw->len >= 1 && raw->data[0] == '+') {
        st = STEP_CONTINUE;
        goto out;
    }
    if (raw->len >= 2 && memcmp(raw->data, "* ", 2) == 0) {
        if (imap_parse_response(raw->data + 2, raw->len - 2, &arena, &u) < 0) {
            rs->protocol_broken = true;
            if (rs->first.code == GW_OK)
                gw_error_set(&rs->first, GW_ERR_PROTOCOL, "%s: cannot parse the server's response",
                             rs->what);
        } else if (imap_value_is(&u.v[0], "BYE")) {
            net_io_disarm(&rs->ib->io);
            rs->ib->base.broken = true;
            gw_error_set(err, GW_ERR_UNAVAILABLE, "%s: server closed the session: %s", rs->what,
                         u.text);
            goto out;
        } else if (rs->fn != NULL && rs->first.code == GW_OK &&
                   rs->fn(rs->ctx, &u, &rs->first) < 0 && rs->first.code == GW_OK) {
            gw_error_set(&rs->first, GW_ERR_INTERNAL, "%s: handler failed", rs->what);
        }
        st = STEP_UNTAGGED;
        goto out;
    }
    if (raw->len <= tag_len || memcmp(raw->data, rs->tag, tag_len) != 0 ||
        raw->data[tag_len] != ' ' ||
        imap_parse_response(raw->data + tag_len + 1, raw->len - tag_len - 1, &arena, &u) < 0 ||
        u.n != 1) {
        net_io_disarm(&rs->ib->io);
        rs->ib->base.broken = true;
        gw_error_set(err, GW_ERR_PROTOCOL, "%s: unexpected response from the server", rs->what);
        goto out;
    }
    net_io_disarm(&rs->ib->io);
    if (imap_value_is(&u.v[0], "OK")) {
        if (u.n_code != 0 && u.code[0].type == IMAP_V_ATOM &&
            u.code[0].len < sizeof(rs->tagged_code))
            memcpy(rs->tagged_code, u.code[0].s, u.code[0].len + 1);
        u.tagged = true;
        if (rs->pass_tagged && rs->fn != NULL && rs->first.code == GW_OK &&
            rs->fn(rs->ctx, &u, &rs->first) < 0 && rs->first.code == GW_OK)
            gw_error_set(&rs->first, GW_ERR_INTERNAL, "%s: handler failed", rs->what);
        st = STEP_TAGGED_OK;
        goto out;
    }
    enum gw_error_code code = u.n_code != 0 && u.code[0].type == IMAP_V_ATOM
                                  ? imap_resp_code_error(u.code[0].s) : GW_OK;
    if (code == GW_OK)
        code = imap_value_is(&u.v[0], "NO") ? GW_ERR_BACKEND_NO : GW_ERR_PROTOCOL;
    gw_error_set(err, code, "%s failed: %s", rs->what, u.text);
out:
    imap_arena_free(&arena);
    return st;
}

int imap_wire_run(struct imap_backend *ib, struct imap_cmd *c, const char *what,
                  size_t max_response, imap_untagged_fn fn, void *ctx, struct gw_error *err)
{
    struct run_state rs = { .ib = ib, .what = what, .fn = fn, .ctx = ctx,
                            .pass_tagged = c->want_tagged_ok };
    struct imap_bytes raw = { 0 };
    size_t max = max_response != 0 ? max_response : WIRE_MAX_RESPONSE;
    size_t sent = 0;
    enum step st;
    int ret = -1;

    if (c->failed)
        return gw_error_set(err, GW_ERR_NOMEM, "%s: out of memory", what);
    if (ib->base.broken || ib->imap->imap_stream == NULL)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "connection is no longer usable");
    if (snprintf(rs.tag, sizeof(rs.tag), "J%u", ++ib->wire_tag) >= (int)sizeof(rs.tag))
        abort();    /* an unsigned always fits: a broken invariant */
    memcpy(c->tag, rs.tag, sizeof(c->tag));

    imap_cmd_begin(ib);
    if (write_all(ib, rs.tag, strlen(rs.tag)) < 0 || write_all(ib, " ", 1) < 0)
        goto transport;
    for (size_t si = 0, ri = 0; si < c->n_sync || ri < c->n_refs;) {
        /* At one offset, a literal's "+" comes before its borrowed bytes. */
        bool sync = si < c->n_sync && (ri == c->n_refs || c->sync[si] <= c->refs[ri].at);
        size_t at = sync ? c->sync[si] : c->refs[ri].at;
        if (write_all(ib, c->buf.data + sent, at - sent) < 0)
            goto transport;
        sent = at;
        if (!sync) {
            if (write_chunked(ib, c->refs[ri].p, c->refs[ri].len) < 0)
                goto transport;
            ri++;
            continue;
        }
        si++;
        /* A synchronising literal: wait for "+" (untagged data may come first). */
        if (mailstream_flush(ib->imap->imap_stream) < 0)
            goto transport;
        while ((st = run_step(&rs, &raw, max, err)) == STEP_UNTAGGED)
            ;
        if (st == STEP_FAIL)
            goto out;
        if (st != STEP_CONTINUE) {
            ib->base.broken = true;
            gw_error_set(err, GW_ERR_PROTOCOL, "%s: server ended the command early", what);
            goto out;
        }
        imap_cmd_begin(ib);
    }
    if (write_all(ib, c->buf.data + sent, c->buf.len - sent) < 0 || write_all(ib, "\r\n", 2) < 0 ||
        mailstream_flush(ib->imap->imap_stream) < 0)
        goto transport;
    while ((st = run_step(&rs, &raw, max, err)) == STEP_UNTAGGED)
        ;
    if (st == STEP_CONTINUE) {
        ib->base.broken = true;
        gw_error_set(err, GW_ERR_PROTOCOL, "%s: unexpected continuation request", what);
    } else if (st == STEP_TAGGED_OK) {
        memcpy(c->tagged_code, rs.tagged_code, sizeof(c->tagged_code));
        if (rs.first.code != GW_OK) {
            /* A server that sent nonsense once is not trusted again. */
            if (rs.protocol_broken || rs.first.code == GW_ERR_PROTOCOL)
                ib->base.broken = true;
            if (err != NULL)
                *err = rs.first;
        } else {
            ret = 0;
        }
    }
    goto out;
transport:
    transport_error(ib, what, err);
out:
    imap_bytes_free(&raw);
    return ret;
}

int imap_wire_simple(struct imap_backend *ib, const char *command, struct gw_error *err)
{
    struct imap_cmd c;
    imap_cmd_init(&c, ib);
    imap_cmd_add(&c, command);
    /* The command's first word names it in errors. */
    size_t sp = strcspn(command, " ");
    char what[32];
    if (sp >= sizeof(what))
        sp = sizeof(what) - 1;
    memcpy(what, command, sp);
    what[sp] = '\0';
    int r = imap_wire_run(ib, &c, what, 0, NULL, NULL, err);
    imap_cmd_free(&c);
    return r;
}
