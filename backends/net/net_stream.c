/* net_stream.c - mailstream_low drivers: plain socket and OpenSSL, both
 * bounded by the session's struct net_io deadline (see net.h). */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "gw_log.h"

struct net_low {
    int fd;
    SSL *ssl;               /* NULL: plaintext */
    struct net_io *io;
};

static void io_fail(struct net_io *io, enum gw_error_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the first transport failure; later operations fail fast on it so
 * that e.g. a LOGOUT after a timeout does not wait a second time. */
static void io_fail(struct net_io *io, enum gw_error_code code, const char *fmt, ...)
{
    if (io->fail_code != GW_OK)
        return;
    io->fail_code = code;
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(io->fail_msg, sizeof(io->fail_msg), fmt, ap) < 0)
        io->fail_msg[0] = '\0';
    va_end(ap);
}

/* Waits until fd is ready for events or the budget runs out.
 * Returns 0 when ready, -1 (failure recorded in io) otherwise. */
static int wait_fd(int fd, short events, struct net_io *io)
{
    uint64_t now = net_now_ms();
    uint64_t until = io->deadline_ms != 0 ? io->deadline_ms : now + io->wait_ms;
    if (io->deadline_ms != 0 && now + io->wait_ms < until)
        until = now + io->wait_ms;

    for (;;) {
        if (now >= until) {
            io_fail(io, GW_ERR_UNAVAILABLE, "timed out waiting for the server");
            return -1;
        }
        struct pollfd p = { .fd = fd, .events = events };
        int r = poll(&p, 1, (int)(until - now));
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR) {
            io_fail(io, GW_ERR_UNAVAILABLE, "poll failed: %s", strerror(errno));
            return -1;
        }
        now = net_now_ms();
    }
}

static void ssl_error_text(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    if (e == 0)
        snprintf(buf, len, "unknown TLS error");
    else
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
}

/* --- plaintext driver --------------------------------------------------- */

static ssize_t plain_read(mailstream_low *s, void *buf, size_t count)
{
    struct net_low *nl = s->data;
    if (nl->io->fail_code != GW_OK)
        return -1;
    for (;;) {
        ssize_t r = recv(nl->fd, buf, count, 0);
        if (r > 0)
            return r;
        if (r == 0) {
            io_fail(nl->io, GW_ERR_UNAVAILABLE, "connection closed by the server");
            return -1;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            io_fail(nl->io, GW_ERR_UNAVAILABLE, "read failed: %s", strerror(errno));
            return -1;
        }
        if (wait_fd(nl->fd, POLLIN, nl->io) < 0)
            return -1;
    }
}

static ssize_t plain_write(mailstream_low *s, const void *buf, size_t count)
{
    struct net_low *nl = s->data;
    size_t done = 0;
    if (nl->io->fail_code != GW_OK)
        return -1;
    while (done < count) {
        ssize_t r = send(nl->fd, (const char *)buf + done, count - done, MSG_NOSIGNAL);
        if (r > 0) {
            done += (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            io_fail(nl->io, GW_ERR_UNAVAILABLE, "write failed: %s", strerror(errno));
            return -1;
        }
        if (wait_fd(nl->fd, POLLOUT, nl->io) < 0)
            return -1;
    }
    return (ssize_t)done;
}

/* --- TLS driver ----------------------------------------------------------- */

/* Turns an SSL_get_error() result into "wait for this" or a failure. */
static int tls_wait(struct net_low *nl, int ret, const char *op)
{
    int e = SSL_get_error(nl->ssl, ret);
    if (e == SSL_ERROR_WANT_READ)
        return wait_fd(nl->fd, POLLIN, nl->io);
    if (e == SSL_ERROR_WANT_WRITE)
        return wait_fd(nl->fd, POLLOUT, nl->io);
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
        io_fail(nl->io, GW_ERR_UNAVAILABLE, "connection closed by the server");
    } else {
        char text[120];
        ssl_error_text(text, sizeof(text));
        io_fail(nl->io, GW_ERR_TLS, "TLS %s failed: %s", op, text);
    }
    return -1;
}

static ssize_t tls_read(mailstream_low *s, void *buf, size_t count)
{
    struct net_low *nl = s->data;
    int n = count > INT_MAX ? INT_MAX : (int)count;
    if (nl->io->fail_code != GW_OK)
        return -1;
    for (;;) {
        ERR_clear_error();
        int r = SSL_read(nl->ssl, buf, n);
        if (r > 0)
            return r;
        if (tls_wait(nl, r, "read") < 0)
            return -1;
    }
}

static ssize_t tls_write(mailstream_low *s, const void *buf, size_t count)
{
    struct net_low *nl = s->data;
    size_t done = 0;
    if (nl->io->fail_code != GW_OK)
        return -1;
    while (done < count) {
        size_t left = count - done;
        ERR_clear_error();
        int r = SSL_write(nl->ssl, (const char *)buf + done, left > INT_MAX ? INT_MAX : (int)left);
        if (r > 0) {
            done += (size_t)r;
            continue;
        }
        if (tls_wait(nl, r, "write") < 0)
            return -1;
    }
    return (ssize_t)done;
}

/* --- shared driver entry points ------------------------------------------ */

static int low_close(mailstream_low *s)
{
    struct net_low *nl = s->data;
    if (nl->ssl != NULL && nl->io->fail_code == GW_OK) {
        /* One non-blocking close_notify; never wait for the peer's. */
        ERR_clear_error();
        (void)SSL_shutdown(nl->ssl);
        ERR_clear_error();
    }
    if (nl->fd >= 0)
        close(nl->fd);
    nl->fd = -1;
    return 0;
}

static int low_get_fd(mailstream_low *s)
{
    struct net_low *nl = s->data;
    return nl->fd;
}

/* libetpan's contract: the driver's free releases the low itself, and never
 * closes the fd (STARTTLS frees the plaintext low and keeps the fd). */
static void low_free(mailstream_low *s)
{
    struct net_low *nl = s->data;
    if (nl != NULL)
        SSL_free(nl->ssl);
    free(nl);
    free(s);
}

static void low_cancel(mailstream_low *s)
{
    (void)s;
}

static struct mailstream_cancel *low_get_cancel(mailstream_low *s)
{
    (void)s;
    return NULL;
}

static carray *low_get_certificate_chain(mailstream_low *s)
{
    struct net_low *nl = s->data;
    if (nl->ssl == NULL)
        return NULL;
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(nl->ssl);
    if (chain == NULL)
        return NULL;
    carray *out = carray_new(4);
    if (out == NULL)
        return NULL;
    for (int i = 0; i < sk_X509_num(chain); i++) {
        unsigned char *der = NULL;
        int len = i2d_X509(sk_X509_value(chain, i), &der);
        if (len <= 0)
            continue;
        MMAPString *str = mmap_string_new_len((const char *)der, (size_t)len);
        OPENSSL_free(der);
        if (str == NULL || carray_add(out, str, NULL) < 0) {
            if (str != NULL)
                mmap_string_free(str);
            mailstream_certificate_chain_free(out);
            return NULL;
        }
    }
    return out;
}

/* IDLE wake-ups are not driver-assisted: -1 makes libetpan poll the fd. */
static int low_idle_unsupported(mailstream_low *s)
{
    (void)s;
    return -1;
}

/* One driver for both: the connection's own SSL (or none) picks the I/O. */
static ssize_t low_read(mailstream_low *s, void *buf, size_t count)
{
    struct net_low *nl = s->data;
    return nl->ssl != NULL ? tls_read(s, buf, count) : plain_read(s, buf, count);
}

static ssize_t low_write(mailstream_low *s, const void *buf, size_t count)
{
    struct net_low *nl = s->data;
    return nl->ssl != NULL ? tls_write(s, buf, count) : plain_write(s, buf, count);
}

static mailstream_low_driver net_driver = {
    .mailstream_read = low_read,
    .mailstream_write = low_write,
    .mailstream_close = low_close,
    .mailstream_get_fd = low_get_fd,
    .mailstream_free = low_free,
    .mailstream_cancel = low_cancel,
    .mailstream_get_cancel = low_get_cancel,
    .mailstream_get_certificate_chain = low_get_certificate_chain,
    .mailstream_setup_idle = low_idle_unsupported,
    .mailstream_unsetup_idle = low_idle_unsupported,
    .mailstream_interrupt_idle = low_idle_unsupported,
};

static mailstream_low *low_new(int fd, SSL *ssl, struct net_io *io)
{
    struct net_low *nl = calloc(1, sizeof(*nl));
    if (nl == NULL)
        return NULL;
    nl->fd = fd;
    nl->ssl = ssl;
    nl->io = io;
    mailstream_low *low = mailstream_low_new(nl, &net_driver);
    if (low == NULL) {
        free(nl);
        return NULL;
    }
    return low;
}

mailstream_low *net_low_plain_new(int fd, struct net_io *io)
{
    return low_new(fd, NULL, io);
}

static bool host_is_ip_literal(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static SSL_CTX *tls_context(const struct backend_endpoint *ep, struct gw_error *err)
{
    static int warned_insecure;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    char text[120];

    if (ctx == NULL)
        goto fail;
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
        goto fail;
    if (ep->tls_insecure) {
        if (!__atomic_exchange_n(&warned_insecure, 1, __ATOMIC_RELAXED))
            gw_log_warn("tls-insecure is set: backend certificates and host names are NOT checked");
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        return ctx;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (ep->ca_file != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, ep->ca_file, NULL) != 1) {
            ssl_error_text(text, sizeof(text));
            SSL_CTX_free(ctx);
            gw_error_set(err, GW_ERR_TLS, "cannot load CA file %s: %s", ep->ca_file, text);
            return NULL;
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        goto fail;
    }
    return ctx;

fail:
    ssl_error_text(text, sizeof(text));
    SSL_CTX_free(ctx);
    gw_error_set(err, GW_ERR_INTERNAL, "cannot set up TLS: %s", text);
    return NULL;
}

/* Name checks go on the SSL so the handshake itself fails on a mismatch. */
static int tls_set_peer_name(SSL *ssl, const struct backend_endpoint *ep)
{
    bool ip = host_is_ip_literal(ep->host);
    if (!ip && SSL_set_tlsext_host_name(ssl, ep->host) != 1)
        return -1;
    if (ep->tls_insecure)
        return 0;
    if (ip)
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ep->host) == 1 ? 0 : -1;
    return SSL_set1_host(ssl, ep->host) == 1 ? 0 : -1;
}

int net_low_tls_new(int fd, const struct backend_endpoint *ep, struct net_io *io,
                    mailstream_low **out, struct gw_error *err)
{
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    int ret = -1;
    struct net_low probe = { .fd = fd, .io = io };

    ctx = tls_context(ep, err);
    if (ctx == NULL)
        goto out;
    ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || tls_set_peer_name(ssl, ep) < 0) {
        gw_error_set(err, GW_ERR_INTERNAL, "cannot set up TLS session for %s", ep->host);
        goto out;
    }
    probe.ssl = ssl;
    for (;;) {
        ERR_clear_error();
        int r = SSL_connect(ssl);
        if (r == 1)
            break;
        long vr = SSL_get_verify_result(ssl);
        if (vr != X509_V_OK) {
            ERR_clear_error();
            gw_error_set(err, GW_ERR_TLS, "certificate of %s not accepted: %s", ep->host,
                         X509_verify_cert_error_string(vr));
            goto out;
        }
        if (tls_wait(&probe, r, "handshake") < 0) {
            gw_error_set(err, io->fail_code, "TLS with %s:%u: %s", ep->host, (unsigned)ep->port,
                         io->fail_msg);
            goto out;
        }
    }
    *out = low_new(fd, ssl, io);
    if (*out == NULL) {
        gw_error_set(err, GW_ERR_NOMEM, "out of memory");
        goto out;
    }
    ssl = NULL;
    ret = 0;
out:
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return ret;
}

int net_stream_starttls(mailstream *stream, const struct backend_endpoint *ep,
                        struct net_io *io, struct gw_error *err)
{
    mailstream_low *plain = mailstream_get_low(stream);
    mailstream_low *tls = NULL;

    /* Bytes already buffered came unprotected (CVE-2020-15953 style
     * injection): they must not be parsed as if they were sent over TLS. */
    if (stream->read_buffer_len != 0)
        return gw_error_set(err, GW_ERR_TLS, "server sent unexpected data after STARTTLS");
    int fd = mailstream_low_get_fd(plain);
    if (fd < 0)
        return gw_error_set(err, GW_ERR_INTERNAL, "STARTTLS on a closed stream");
    if (net_low_tls_new(fd, ep, io, &tls, err) < 0)
        return -1;
    mailstream_low_free(plain);     /* keeps fd: it now belongs to tls */
    mailstream_set_low(stream, tls);
    return 0;
}

void net_stream_wipe_write_buffer(mailstream *stream)
{
    if (stream != NULL && stream->write_buffer != NULL)
        OPENSSL_cleanse(stream->write_buffer, stream->buffer_max_size);
}
