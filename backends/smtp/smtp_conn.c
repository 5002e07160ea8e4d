/* smtp_conn.c - an SMTP session on our own stream drivers (backends/net):
 * bounded connect, implicit TLS or required STARTTLS with the same
 * certificate and host name checks as IMAP, EHLO, and the EHLO keywords.
 */
#include "smtp_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend-private.h"
#include "gw_log.h"

#define SMTP_STREAM_BUFSIZE 8192
/* Bounds on what we keep of an EHLO reply. */
#define SMTP_MAX_EXTENSIONS 64
#define SMTP_MAX_EXT_ARGS 16

void smtp_conn_begin(struct smtp_conn *c)
{
    c->smtp->response_code = 0;
    net_io_arm(&c->io, c->command_timeout_ms);
}

static int conn_fail(struct smtp_conn *c, enum gw_error_code code, struct gw_error *err,
                     const char *what, int r)
{
    net_io_disarm(&c->io);
    if (c->io.fail_code != GW_OK)
        return gw_error_set(err, c->io.fail_code, "SMTP %s: %s", what, c->io.fail_msg);
    return gw_error_set(err, code, "SMTP %s: %s (%d %s)", what, mailsmtp_strerror(r),
                        c->smtp->response_code,
                        c->smtp->response != NULL ? c->smtp->response : "");
}

static int conn_ehlo(struct smtp_conn *c, struct gw_error *err)
{
    smtp_conn_begin(c);
    int r = mailesmtp_ehlo(c->smtp);
    net_io_disarm(&c->io);
    if (r != MAILSMTP_NO_ERROR)
        return conn_fail(c, GW_ERR_PROTOCOL, err, "EHLO", r);
    return 0;
}

static int conn_starttls(struct smtp_conn *c, const struct backend_endpoint *ep,
                         struct gw_error *err)
{
    if (!(c->smtp->esmtp & MAILSMTP_ESMTP_STARTTLS))
        return gw_error_set(err, GW_ERR_TLS, "SMTP server does not offer STARTTLS");
    smtp_conn_begin(c);
    int r = mailesmtp_starttls(c->smtp);
    if (r != MAILSMTP_NO_ERROR)
        return conn_fail(c, GW_ERR_TLS, err, "STARTTLS", r);
    r = net_stream_starttls(c->smtp->stream, ep, &c->io, err);
    net_io_disarm(&c->io);
    if (r < 0)
        return -1;
    /* RFC 3207: forget everything learnt before TLS and ask again. */
    return conn_ehlo(c, err);
}

static int conn_connect(struct smtp_conn *c, const struct backend_endpoint *ep,
                        struct gw_error *err)
{
    mailstream_low *low = NULL;
    mailstream *stream;

    net_io_arm(&c->io, ep->connect_timeout_ms);
    int fd = net_tcp_connect(ep->host, ep->port, ep->connect_timeout_ms, err);
    if (fd < 0)
        return -1;
    if (ep->tls == GW_TLS_NONE && !net_peer_is_loopback(fd)) {
        close(fd);
        return gw_error_set(err, GW_ERR_TLS, "refusing plaintext SMTP: %s is not loopback",
                            ep->host);
    }
    if (ep->tls == GW_TLS_IMPLICIT) {
        if (net_low_tls_new(fd, ep, &c->io, &low, err) < 0) {
            close(fd);
            return -1;
        }
    } else if ((low = net_low_plain_new(fd, &c->io)) == NULL) {
        close(fd);
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    }
    stream = mailstream_new(low, SMTP_STREAM_BUFSIZE);
    if (stream == NULL) {
        mailstream_low_close(low);
        mailstream_low_free(low);
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    }
    c->smtp->response_code = 0;
    int r = mailsmtp_connect(c->smtp, stream);
    /* On failure libetpan has closed the stream already. */
    if (r != MAILSMTP_NO_ERROR)
        return conn_fail(c, GW_ERR_UNAVAILABLE, err, "greeting", r);
    net_io_disarm(&c->io);
    return 0;
}

int smtp_conn_open(struct smtp_conn *c, const struct backend_endpoint *endpoint,
                   struct gw_error *err)
{
    struct backend_endpoint ep = *endpoint;

    memset(c, 0, sizeof(*c));
    if (ep.host == NULL)
        return gw_error_set(err, GW_ERR_INVALID, "SMTP endpoint not configured");
    backend_endpoint_fill_defaults(&ep);
    if (ep.tls == GW_TLS_NONE && !gw_host_is_loopback(ep.host))
        return gw_error_set(err, GW_ERR_TLS, "refusing plaintext SMTP to non-loopback host %s",
                            ep.host);
    c->command_timeout_ms = ep.command_timeout_ms;
    c->io.wait_ms = ep.command_timeout_ms > ep.connect_timeout_ms ? ep.command_timeout_ms
                                                                   : ep.connect_timeout_ms;
    c->smtp = mailsmtp_new(0, NULL);
    if (c->smtp == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    if (conn_connect(c, &ep, err) < 0 || conn_ehlo(c, err) < 0 ||
        (ep.tls == GW_TLS_STARTTLS && conn_starttls(c, &ep, err) < 0)) {
        gw_log_debug("SMTP %s:%u: %s", ep.host, (unsigned)ep.port, err ? err->msg : "failed");
        smtp_conn_close(c, false);
        return -1;
    }
    return 0;
}

void smtp_conn_close(struct smtp_conn *c, bool say_quit)
{
    if (c->smtp == NULL)
        return;
    if (say_quit && c->smtp->stream != NULL && c->io.fail_code == GW_OK) {
        smtp_conn_begin(c);
        mailsmtp_quit(c->smtp);
        net_io_disarm(&c->io);
    }
    mailsmtp_free(c->smtp);
    c->smtp = NULL;
}

/* Splits one "KEYWORD arg arg" line into e. */
static int ext_parse_line(const char *line, size_t len, struct submit_extension *e)
{
    size_t i = 0;

    memset(e, 0, sizeof(*e));
    while (i < len) {
        while (i < len && line[i] == ' ')
            i++;
        size_t start = i;
        while (i < len && line[i] != ' ')
            i++;
        if (i == start)
            break;
        char *word = strndup(line + start, i - start);
        if (word == NULL)
            return -1;
        if (e->keyword == NULL) {
            e->keyword = word;
            continue;
        }
        if (e->arg_count == SMTP_MAX_EXT_ARGS) {
            free(word);
            break;
        }
        char **args = realloc(e->args, (e->arg_count + 1) * sizeof(*args));
        if (args == NULL) {
            free(word);
            return -1;
        }
        e->args = args;
        e->args[e->arg_count++] = word;
    }
    return 0;
}

int smtp_conn_extensions(struct smtp_conn *c, struct submit_server_info *info,
                         struct gw_error *err)
{
    const char *p = c->smtp->response;
    bool first = true;

    memset(info, 0, sizeof(*info));
    info->ext = calloc(SMTP_MAX_EXTENSIONS, sizeof(*info->ext));
    if (info->ext == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    /* The first line is the server's name, then one extension per line. */
    while (p != NULL && *p != '\0' && info->ext_count < SMTP_MAX_EXTENSIONS) {
        size_t len = strcspn(p, "\r\n");
        if (!first && len > 0) {
            struct submit_extension *e = &info->ext[info->ext_count];
            if (ext_parse_line(p, len, e) < 0) {
                info->ext_count++;
                submit_server_info_clear(info);
                return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
            }
            if (e->keyword != NULL)
                info->ext_count++;
        }
        first = false;
        p += len;
        p += strspn(p, "\r\n");
    }
    return 0;
}
