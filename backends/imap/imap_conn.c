/* imap_conn.c - IMAP connections: connect, secure, log in, NOOP, close
 * (backend_imap_open() and the IMAP vtable of include/backend-private.h). */
#include "imap_internal.h"
#include "imap_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "gw_log.h"

#define IMAP_STREAM_BUFSIZE 8192

static int imap_vt_noop(struct mail_backend *b, struct gw_error *err);
static void imap_vt_destroy(struct mail_backend *b);
static bool imap_vt_peer_spoke(struct mail_backend *b);

static const struct mail_backend_vtable imap_vtable = {
    .name = "imap",
    .noop = imap_vt_noop,
    .peer_spoke = imap_vt_peer_spoke,
    .destroy = imap_vt_destroy,
    .list_mailboxes = imap_list_mailboxes,
    .select = imap_select,
    .fetch_summaries = imap_fetch_summaries,
    .uid_search = imap_uid_search,
    .uid_sort = imap_uid_sort,
    .multi_search = imap_multi_search,
    .fetch_part = imap_fetch_part,
};

struct imap_backend *imap_backend_from(struct mail_backend *b)
{
    if (b == NULL || b->v != &imap_vtable)
        abort();    /* an IMAP call on a non-IMAP backend is a programming error */
    return (struct imap_backend *)b;
}

static bool session_has_cap(const mailimap *imap, const char *name)
{
    const struct mailimap_connection_info *ci = imap->imap_connection_info;
    if (ci == NULL || ci->imap_capability == NULL)
        return false;
    for (clistiter *it = clist_begin(ci->imap_capability->cap_list); it != NULL;
         it = clist_next(it)) {
        const struct mailimap_capability *c = clist_content(it);
        if (c->cap_type == MAILIMAP_CAPABILITY_NAME && strcasecmp(c->cap_data.cap_name, name) == 0)
            return true;
        if (c->cap_type == MAILIMAP_CAPABILITY_AUTH_TYPE && strncasecmp(name, "AUTH=", 5) == 0 &&
            strcasecmp(c->cap_data.cap_auth_type, name + 5) == 0)
            return true;
    }
    return false;
}

/* Forgets what the server said before a state change (STARTTLS, login):
 * pre-TLS capabilities may have been forged, pre-login ones are stale. */
static void session_forget_caps(mailimap *imap)
{
    struct mailimap_connection_info *ci = imap->imap_connection_info;
    if (ci != NULL && ci->imap_capability != NULL) {
        mailimap_capability_data_free(ci->imap_capability);
        ci->imap_capability = NULL;
    }
}

/* Makes sure libetpan holds a capability list (from a [CAPABILITY] code it
 * already saw, else by asking). */
static int session_load_caps(struct imap_backend *ib, struct gw_error *err)
{
    const struct mailimap_connection_info *ci = ib->imap->imap_connection_info;
    if (ci != NULL && ci->imap_capability != NULL)
        return 0;
    /* Not mailimap_capability(): it dereferences the stored list without a
     * check and crashes when the server's OK came without CAPABILITY data. */
    imap_cmd_begin(ib);
    int r = mailimap_custom_command(ib->imap, "CAPABILITY");
    return imap_cmd_end(ib, r, "CAPABILITY", GW_ERR_PROTOCOL, err);
}

/* Copies libetpan's capability list into the generic backend. */
static int backend_copy_caps(struct imap_backend *ib, struct gw_error *err)
{
    const struct mailimap_connection_info *ci = ib->imap->imap_connection_info;
    const struct mailimap_capability_data *data = ci != NULL ? ci->imap_capability : NULL;
    size_t n = data != NULL ? (size_t)clist_count(data->cap_list) : 0, i = 0;
    char **caps = calloc(n + 1, sizeof(*caps));
    if (caps == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    for (clistiter *it = data != NULL ? clist_begin(data->cap_list) : NULL; it != NULL;
         it = clist_next(it), i++) {
        const struct mailimap_capability *c = clist_content(it);
        if (c->cap_type == MAILIMAP_CAPABILITY_AUTH_TYPE) {
            size_t len = strlen(c->cap_data.cap_auth_type) + 6;
            caps[i] = malloc(len);
            if (caps[i] != NULL)
                snprintf(caps[i], len, "AUTH=%s", c->cap_data.cap_auth_type);
        } else {
            caps[i] = strdup(c->cap_data.cap_name);
        }
        if (caps[i] == NULL) {
            backend_caps_replace(&ib->base, caps, i);
            return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
        }
    }
    backend_caps_replace(&ib->base, caps, n);
    return 0;
}

/* AUTHENTICATE PLAIN (RFC 4616) by hand: libetpan's mailimap_authenticate
 * goes through Cyrus SASL, which needs its plugins and global state. Uses
 * SASL-IR (RFC 4959) when offered, else waits for the continuation. */
static int imap_authenticate_plain(struct imap_backend *ib, const struct backend_credentials *cred,
                                   struct gw_error *err)
{
    mailimap *imap = ib->imap;
    size_t ulen = strlen(cred->username), plen = strlen(cred->password);
    size_t raw_len = ulen + plen + 2;
    unsigned char *raw = malloc(raw_len);
    char *b64 = malloc(4 * ((raw_len + 2) / 3) + 1);
    struct mailimap_response *resp = NULL;
    int r = MAILIMAP_ERROR_MEMORY;
    bool sasl_ir = session_has_cap(imap, "SASL-IR");

    if (raw == NULL || b64 == NULL)
        goto out;
    raw[0] = '\0';
    memcpy(raw + 1, cred->username, ulen);
    raw[1 + ulen] = '\0';
    memcpy(raw + 2 + ulen, cred->password, plen);
    EVP_EncodeBlock((unsigned char *)b64, raw, (int)raw_len);

    session_forget_caps(imap);     /* the reply's [CAPABILITY] replaces them */
    imap_cmd_begin(ib);
    r = mailimap_send_current_tag(imap);
    if (r != MAILIMAP_NO_ERROR)
        goto out;
    r = MAILIMAP_ERROR_STREAM;
    if (mailstream_write(imap->imap_stream, "AUTHENTICATE PLAIN", 18) < 0)
        goto out;
    bool send_response = true;
    if (!sasl_ir) {
        if (mailstream_write(imap->imap_stream, "\r\n", 2) < 0 ||
            mailstream_flush(imap->imap_stream) < 0)
            goto out;
        const char *line = mailimap_read_line(imap);
        if (line == NULL)
            goto out;
        /* Anything but a continuation is the tagged refusal, now buffered. */
        send_response = line[0] == '+';
    } else if (mailstream_write(imap->imap_stream, " ", 1) < 0) {
        goto out;
    }
    if (send_response &&
        (mailstream_write(imap->imap_stream, b64, strlen(b64)) < 0 ||
         mailstream_write(imap->imap_stream, "\r\n", 2) < 0 ||
         mailstream_flush(imap->imap_stream) < 0 || mailimap_read_line(imap) == NULL))
        goto out;
    r = mailimap_parse_response(imap, &resp);
    if (r != MAILIMAP_NO_ERROR)
        goto out;
    if (resp->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->rsp_type ==
        MAILIMAP_RESP_COND_STATE_OK) {
        imap->imap_state = MAILIMAP_STATE_AUTHENTICATED;
        r = MAILIMAP_NO_ERROR;
    } else {
        r = MAILIMAP_ERROR_LOGIN;
    }
    mailimap_response_free(resp);
out:
    net_stream_wipe_write_buffer(imap->imap_stream);
    if (raw != NULL)
        OPENSSL_cleanse(raw, raw_len);
    if (b64 != NULL)
        OPENSSL_cleanse(b64, strlen(b64));
    free(raw);
    free(b64);
    return imap_cmd_end(ib, r, "AUTHENTICATE", GW_ERR_AUTH, err);
}

static int imap_login(struct imap_backend *ib, const struct backend_endpoint *ep,
                      const struct backend_credentials *cred, struct gw_error *err)
{
    if (session_has_cap(ib->imap, "AUTH=PLAIN"))
        return imap_authenticate_plain(ib, cred, err);
    if (session_has_cap(ib->imap, "LOGINDISABLED")) {
        if (ep->tls == GW_TLS_NONE)
            return gw_error_set(err, GW_ERR_TLS, "server refuses to log in without TLS");
        return gw_error_set(err, GW_ERR_AUTH, "server offers no login method we support");
    }
    session_forget_caps(ib->imap);
    imap_cmd_begin(ib);
    int r = mailimap_login(ib->imap, cred->username, cred->password);
    net_stream_wipe_write_buffer(ib->imap->imap_stream);
    return imap_cmd_end(ib, r, "LOGIN", GW_ERR_AUTH, err);
}

static int imap_starttls(struct imap_backend *ib, const struct backend_endpoint *ep,
                         struct gw_error *err)
{
    if (session_load_caps(ib, err) < 0)
        return -1;
    if (!session_has_cap(ib->imap, "STARTTLS"))
        return gw_error_set(err, GW_ERR_TLS, "server does not offer STARTTLS");
    imap_cmd_begin(ib);
    int r = mailimap_starttls(ib->imap);
    if (r == MAILIMAP_ERROR_STARTTLS && ib->imap->imap_stream->read_buffer_len != 0) {
        /* libetpan >= 1.9.4 refuses this itself (CVE-2020-15953); say why. */
        net_io_disarm(&ib->io);
        ib->base.broken = true;
        return gw_error_set(err, GW_ERR_TLS, "server sent unexpected data after STARTTLS");
    }
    if (imap_cmd_end(ib, r, "STARTTLS", GW_ERR_TLS, err) < 0)
        return -1;
    net_io_arm(&ib->io, ib->command_timeout_ms);
    r = net_stream_starttls(ib->imap->imap_stream, ep, &ib->io, err);
    net_io_disarm(&ib->io);
    if (r < 0) {
        ib->base.broken = true;
        return -1;
    }
    session_forget_caps(ib->imap);
    return 0;
}

/* TCP connect, optional implicit TLS, greeting: all within connect_timeout. */
static int imap_connect(struct imap_backend *ib, const struct backend_endpoint *ep,
                        struct gw_error *err)
{
    mailstream_low *low = NULL;
    mailstream *stream = NULL;

    net_io_arm(&ib->io, ep->connect_timeout_ms);
    int fd = net_tcp_connect(ep->host, ep->port, ep->connect_timeout_ms, err);
    if (fd < 0)
        return -1;
    if (ep->tls == GW_TLS_NONE && !net_peer_is_loopback(fd)) {
        close(fd);
        return gw_error_set(err, GW_ERR_TLS, "refusing plaintext IMAP: %s is not a loopback address",
                            ep->host);
    }
    if (ep->tls == GW_TLS_IMPLICIT) {
        if (net_low_tls_new(fd, ep, &ib->io, &low, err) < 0) {
            close(fd);
            return -1;
        }
    } else if ((low = net_low_plain_new(fd, &ib->io)) == NULL) {
        close(fd);
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    }
    stream = mailstream_new(low, IMAP_STREAM_BUFSIZE);
    if (stream == NULL) {
        mailstream_low_close(low);
        mailstream_low_free(low);
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    }
    /* mailimap_connect() keeps the stream even when it fails: the session
     * owns it from here on and destroy closes it. */
    int r = mailimap_connect(ib->imap, stream);
    if (imap_cmd_end(ib, r, "greeting", GW_ERR_UNAVAILABLE, err) < 0)
        return -1;
    if (r == MAILIMAP_NO_ERROR_AUTHENTICATED && ep->tls == GW_TLS_STARTTLS) {
        /* PREAUTH before STARTTLS would leave the session unprotected. */
        ib->base.broken = true;
        return gw_error_set(err, GW_ERR_TLS, "server pre-authenticated before STARTTLS");
    }
    return 0;
}

int backend_imap_open(const struct backend_endpoint *endpoint,
                      const struct backend_credentials *cred, struct mail_backend **out,
                      struct gw_error *err)
{
    struct imap_backend *ib = NULL;
    struct backend_endpoint fixed;
    const struct backend_endpoint *ep = &fixed;
    int ret = -1;

    *out = NULL;
    if (endpoint == NULL || endpoint->host == NULL || cred == NULL || cred->username == NULL ||
        cred->password == NULL)
        return gw_error_set(err, GW_ERR_INVALID, "IMAP endpoint or credentials missing");
    fixed = *endpoint;
    backend_endpoint_fill_defaults(&fixed);
    if (ep->tls == GW_TLS_NONE && !gw_host_is_loopback(ep->host))
        return gw_error_set(err, GW_ERR_TLS, "refusing plaintext IMAP to non-loopback host %s",
                            ep->host);

    ib = calloc(1, sizeof(*ib));
    if (ib == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    ib->base.v = &imap_vtable;
    ib->command_timeout_ms = ep->command_timeout_ms;
    ib->io.wait_ms = ep->command_timeout_ms > ep->connect_timeout_ms ? ep->command_timeout_ms
                                                                      : ep->connect_timeout_ms;
    ib->imap = mailimap_new(0, NULL);
    if (ib->imap == NULL) {
        gw_error_set(err, GW_ERR_NOMEM, "out of memory");
        goto out;
    }

    if (imap_connect(ib, ep, err) < 0)
        goto out;
    if (ep->tls == GW_TLS_STARTTLS && imap_starttls(ib, ep, err) < 0)
        goto out;
    if (ib->imap->imap_state == MAILIMAP_STATE_NON_AUTHENTICATED) {
        if (session_load_caps(ib, err) < 0 || imap_login(ib, ep, cred, err) < 0)
            goto out;
    }
    /* A login reply may carry [CAPABILITY ...]; libetpan stored it then. */
    if (session_load_caps(ib, err) < 0 || backend_copy_caps(ib, err) < 0)
        goto out;
    ret = 0;
out:
    if (ret < 0) {
        /* Nothing to say goodbye to on a half-open session. */
        ib->base.broken = true;
        gw_log_debug("IMAP %s:%u for %s: %s", ep->host, (unsigned)ep->port, cred->username,
                     err != NULL ? err->msg : "failed");
        imap_vt_destroy(&ib->base);
        return -1;
    }
    gw_log_debug("IMAP %s:%u (%s) logged in as %s", ep->host, (unsigned)ep->port,
                 ep->tls == GW_TLS_NONE ? "plaintext" : "TLS", cred->username);
    *out = &ib->base;
    return 0;
}

static int imap_vt_noop(struct mail_backend *b, struct gw_error *err)
{
    struct imap_backend *ib = imap_backend_from(b);
    imap_cmd_begin(ib);
    int r = mailimap_noop(ib->imap);
    return imap_cmd_end(ib, r, "NOOP", GW_ERR_BACKEND_NO, err);
}

static bool imap_vt_peer_spoke(struct mail_backend *b)
{
    struct imap_backend *ib = imap_backend_from(b);
    mailstream *s = ib->imap != NULL ? ib->imap->imap_stream : NULL;
    if (s == NULL || s->read_buffer_len > 0)
        return true;
    struct pollfd pfd = { .fd = mailstream_low_get_fd(mailstream_get_low(s)), .events = POLLIN };
    if (pfd.fd < 0)
        return true;
    /* Readable here means unread bytes or the peer's close (EOF). */
    return poll(&pfd, 1, 0) != 0;
}

static void imap_vt_destroy(struct mail_backend *b)
{
    struct imap_backend *ib = imap_backend_from(b);
    if (ib->imap != NULL) {
        if (ib->imap->imap_stream != NULL) {
            if (!b->broken) {
                imap_cmd_begin(ib);
                (void)mailimap_logout(ib->imap);    /* closes the stream */
            } else {
                mailstream_close(ib->imap->imap_stream);
            }
            ib->imap->imap_stream = NULL;
        }
        mailimap_free(ib->imap);
    }
    backend_caps_clear(b);
    free(ib);
}
