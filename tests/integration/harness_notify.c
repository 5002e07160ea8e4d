/* harness_notify.c - waits until the IMAP server has announced a change
 * made by another client (RFC 5465 NOTIFY), as the gateway's watcher
 * hears it: the gateway serves a quiet account from its cache and only
 * learns of an outside change from that announcement, which Dovecot sends
 * about half a second after the change. */
#define _GNU_SOURCE 1
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Dovecot delays notifications by 0.5 s. */
#define NOTIFY_WAIT_MS 1500
/* The gateway's watcher reads the same announcement; give its thread
 * time to mark the cache dirty. */
#define NOTIFY_MARGIN_MS 150
/* An announcement heard may be a late one of an earlier change, and
 * some never come (Dovecot sends a RENAME's only with its next event;
 * a STORE of a flag already set changes nothing). So the wait also
 * outlasts the time test gateways trust a quiet cache (1 s, set in
 * harness.c), counted from before the change: past it, any request
 * syncs. */
#define NOTIFY_MIN_MS 1200

struct harness_notify {
    int fd;
    int64_t began;
    char buf[8192];
    size_t len;
};

/* Reads until a line starting with prefix arrives; true if it did. */
static bool read_until(struct harness_notify *n, const char *prefix, int64_t deadline)
{
    size_t plen = strlen(prefix);
    while (harness_now_ms() < deadline) {
        char *line = n->buf, *nl;
        while ((nl = memmem(line, n->len - (size_t)(line - n->buf), "\r\n", 2)) != NULL) {
            bool hit = (size_t)(nl - line) >= plen && strncmp(line, prefix, plen) == 0;
            line = nl + 2;
            if (hit) {
                n->len -= (size_t)(line - n->buf);
                memmove(n->buf, line, n->len);
                return true;
            }
        }
        n->len -= (size_t)(line - n->buf);
        memmove(n->buf, line, n->len);
        if (n->len >= sizeof(n->buf) - 1)
            n->len = 0;     /* a long line we do not care about */
        int left = (int)(deadline - harness_now_ms());
        if (left <= 0 || harness_fd_readable(n->fd, left) <= 0)
            return false;
        ssize_t r = read(n->fd, n->buf + n->len, sizeof(n->buf) - 1 - n->len);
        if (r <= 0)
            return false;
        n->len += (size_t)r;
    }
    return false;
}

static bool send_line(struct harness_notify *n, const char *line)
{
    return harness_send_all(n->fd, line, strlen(line)) == 0;
}

struct harness_notify *harness_notify_begin(uint16_t port, const char *user, const char *pass)
{
    struct harness_notify *n = calloc(1, sizeof(*n));
    H_ASSERT(n != NULL);
    n->began = harness_now_ms();
    n->fd = harness_connect(port);
    H_ASSERT(n->fd >= 0);
    int64_t deadline = harness_now_ms() + 10000;
    char login[512];
    H_ASSERT(snprintf(login, sizeof(login), "n1 LOGIN \"%s\" \"%s\"\r\n", user, pass) <
             (int)sizeof(login));
    H_ASSERT(read_until(n, "* OK", deadline));
    H_ASSERT(send_line(n, login) && read_until(n, "n1 OK", deadline));
    H_ASSERT(send_line(n, "n2 ENABLE CONDSTORE\r\n") && read_until(n, "n2 OK", deadline));
    H_ASSERT(send_line(n, "n3 NOTIFY SET (personal (MessageNew MessageExpunge FlagChange"
                          " MailboxName SubscriptionChange))\r\n") &&
             read_until(n, "n3 OK", deadline));
    return n;
}

void harness_notify_wait(struct harness_notify **np)
{
    struct harness_notify *n = *np;
    if (n == NULL)
        return;
    bool heard = read_until(n, "* ", harness_now_ms() + NOTIFY_WAIT_MS);
    int64_t began = n->began;
    send_line(n, "n4 LOGOUT\r\n");
    close(n->fd);
    free(n);
    *np = NULL;
    int64_t left = began + NOTIFY_MIN_MS - harness_now_ms();
    if (heard && left < NOTIFY_MARGIN_MS)
        left = NOTIFY_MARGIN_MS;
    if (left > 0)
        usleep((useconds_t)left * 1000);
}

bool harness_imap_changes(const char *command)
{
    static const char *const verbs[] = { "APPEND", "STORE", "EXPUNGE", "CREATE", "DELETE",
                                         "RENAME", "MOVE", "COPY", "SUBSCRIBE", "UNSUBSCRIBE",
                                         "SETMETADATA" };
    if (strncasecmp(command, "UID ", 4) == 0)
        command += 4;
    size_t len = strcspn(command, " ");
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (strlen(verbs[i]) == len && strncasecmp(command, verbs[i], len) == 0)
            return true;
    return false;
}
