/* net_tcp.c - bounded TCP connect and address helpers (see net.h). */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

uint64_t net_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void net_deadline_in(struct timespec *ts, unsigned ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

void net_io_arm(struct net_io *io, unsigned ms)
{
    io->deadline_ms = net_now_ms() + ms;
}

void net_io_disarm(struct net_io *io)
{
    io->deadline_ms = 0;
}

bool net_peer_is_loopback(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return false;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
        return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
        if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
            return true;
        /* ::ffff:127.x.y.z */
        return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && sin6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

/* Waits for fd to become writable (connected) until deadline.
 * Returns 0 when connected, else an errno value (ETIMEDOUT on timeout). */
static int wait_connected(int fd, uint64_t deadline)
{
    for (;;) {
        uint64_t now = net_now_ms();
        if (now >= deadline)
            return ETIMEDOUT;
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int r = poll(&p, 1, (int)(deadline - now));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno;
        if (r == 0)
            return ETIMEDOUT;
        int soerr = 0;
        socklen_t len = sizeof(soerr);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
            return errno;
        return soerr;
    }
}

int net_tcp_connect(const char *host, uint16_t port, unsigned timeout_ms, struct gw_error *err)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    char service[8];
    int fd = -1;
    int last_error = ECONNREFUSED;
    uint64_t deadline = net_now_ms() + timeout_ms;

    if (snprintf(service, sizeof(service), "%u", (unsigned)port) >= (int)sizeof(service))
        return gw_error_set(err, GW_ERR_INTERNAL, "port out of range");
    /* getaddrinfo() cannot be bounded without a thread; hosts are operator
     * configured and normally literals or /etc/hosts names. */
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "cannot resolve %s: %s", host,
                            gai_strerror(rc));

    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            last_error = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        last_error = errno == EINPROGRESS ? wait_connected(fd, deadline) : errno;
        if (last_error == 0)
            break;
        close(fd);
        fd = -1;
        if (last_error == ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);

    if (fd < 0) {
        if (last_error == ETIMEDOUT)
            return gw_error_set(err, GW_ERR_UNAVAILABLE, "connecting to %s:%u timed out after %u ms",
                                host, (unsigned)port, timeout_ms);
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "cannot connect to %s:%u: %s", host,
                            (unsigned)port, strerror(last_error));
    }
    int one = 1;
    /* Commands are small request/response lines: do not let Nagle delay them. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}
