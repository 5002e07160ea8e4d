/* net.h - backends-internal: bounded TCP connects and the mailstream_low
 * drivers (plain socket and OpenSSL) every libetpan session runs on.
 *
 * Why our own drivers: libetpan's TLS is GnuTLS without certificate checks,
 * and its socket driver blocks for the library-wide timeout. Ours poll()
 * before every read/write against a per-operation deadline, so a silent or
 * slow server yields GW_ERR_UNAVAILABLE instead of a hang, and ours verify
 * the chain and host name with OpenSSL.
 */
#ifndef BACKENDS_NET_H
#define BACKENDS_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <libetpan/libetpan.h>

#include "backend.h"
#include "gw_error.h"

/* Time budget and failure state shared by the low drivers of one session.
 * It outlives a STARTTLS driver swap, so the owner (the session) keeps it. */
struct net_io {
    uint64_t deadline_ms;       /* monotonic; 0: none armed */
    unsigned wait_ms;           /* bound on any single wait when no deadline */
    enum gw_error_code fail_code;   /* GW_OK until the transport failed */
    char fail_msg[160];
};

/* Monotonic clock in milliseconds. */
uint64_t net_now_ms(void);

/* *ts = the CLOCK_MONOTONIC time ms from now, for pthread_cond_timedwait()
 * on a condition made with that clock. */
void net_deadline_in(struct timespec *ts, unsigned ms);

/* Sets the deadline of the next operation(s) to now + ms. */
void net_io_arm(struct net_io *io, unsigned ms);

/* Clears the deadline (waits are then bounded by wait_ms only). */
void net_io_disarm(struct net_io *io);


/* True when fd's peer address is a loopback address. */
bool net_peer_is_loopback(int fd);

/* Connects to host:port trying each address getaddrinfo() returns, the whole
 * connect bounded by timeout_ms. Returns a non-blocking, close-on-exec fd
 * owned by the caller, or -1 with err (GW_ERR_UNAVAILABLE). */
int net_tcp_connect(const char *host, uint16_t port, unsigned timeout_ms, struct gw_error *err);

/* A plaintext low driver on fd; takes fd (closed by mailstream_low_close).
 * Returns NULL on ENOMEM (fd is then still the caller's). */
mailstream_low *net_low_plain_new(int fd, struct net_io *io);

/* Runs a TLS handshake on fd (bounded by io's deadline) with the checks of
 * ep (TLS >= 1.2, chain against ep->ca_file or the system store, host name
 * or IP; SNI for names; none of it when ep->tls_insecure) and returns a low
 * driver owning fd in *out. On failure fd stays the caller's and err says
 * GW_ERR_TLS (handshake or verification, with OpenSSL's reason) or
 * GW_ERR_UNAVAILABLE (timeout, connection lost). */
int net_low_tls_new(int fd, const struct backend_endpoint *ep, struct net_io *io,
                    mailstream_low **out, struct gw_error *err);

/* Replaces the plaintext low driver of stream by a TLS one on the same fd
 * (STARTTLS). Refuses (GW_ERR_TLS) when the server already sent bytes after
 * its STARTTLS reply, which would otherwise be read as if protected. On
 * failure the stream is unchanged and the caller should close it. */
int net_stream_starttls(mailstream *stream, const struct backend_endpoint *ep,
                        struct net_io *io, struct gw_error *err);

/* Overwrites the stream's write buffer (it may have held a password). */
void net_stream_wipe_write_buffer(mailstream *stream);

#endif
