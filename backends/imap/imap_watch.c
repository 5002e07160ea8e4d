/* imap_watch.c - the per-account NOTIFY watcher (imap_watch.h).
 *
 * Between commands the watcher poll()s its socket together with a wake
 * pipe, so stopping it never waits for the server. Bytes already read
 * into libetpan's buffer count as readable without asking poll(). */
#define _GNU_SOURCE 1
#include "imap_watch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw_log.h"
#include "imap_wire.h"

/* Dovecot logs idle sessions out after 30 min, NAT boxes forget quiet
 * flows sooner: a NOOP every minute keeps the connection provably alive
 * (and flushes announcements Dovecot holds back until a command). */
#define WATCH_KEEPALIVE_MS 60000
#define WATCH_RETRY_MIN_MS 500
#define WATCH_RETRY_MAX_MS 60000
/* A session that stayed up this long was healthy: retry quickly again. */
#define WATCH_HEALTHY_MS 30000

/* Every mailbox of the user's own namespace; all the events that change
 * what the cache holds. MessageNew needs MessageExpunge and FlagChange
 * needs both (RFC 5465 5.2). */
static const char notify_set[] =
    "NOTIFY SET (personal (MessageNew MessageExpunge FlagChange MailboxName"
    " SubscriptionChange))";

struct imap_watch {
    pthread_t thread;
    pthread_mutex_t lock;
    bool stopping;          /* guarded by lock */
    int wake[2];            /* pipe: stop() writes one byte */
    struct backend_pool *pool;
    imap_watch_fn fn;
    void *ctx;
    char label[40];
};

enum session_end { END_STOPPED, END_LOST, END_UNSUPPORTED };

static bool is_stopping(struct imap_watch *w)
{
    pthread_mutex_lock(&w->lock);
    bool s = w->stopping;
    pthread_mutex_unlock(&w->lock);
    return s;
}

/* Sleeps up to ms; true when stop() was called. */
static bool wait_stop(struct imap_watch *w, unsigned ms)
{
    struct pollfd p = { .fd = w->wake[0], .events = POLLIN };
    int r;
    do {
        r = poll(&p, 1, (int)ms);
    } while (r < 0 && errno == EINTR);
    return is_stopping(w);
}

static int count_untagged(void *ctx, const struct imap_untagged *u, struct gw_error *err)
{
    (void)u;
    (void)err;
    (*(unsigned *)ctx)++;
    return 0;
}

/* NOOP: reads (and counts) whatever the server queued before its answer. */
static int drain(struct imap_backend *ib, unsigned *seen, struct gw_error *err)
{
    struct imap_cmd c;
    imap_cmd_init(&c, ib);
    imap_cmd_add(&c, "NOOP");
    int rc = imap_wire_run(ib, &c, "NOOP", 0, count_untagged, seen, err);
    imap_cmd_free(&c);
    return rc;
}

static int by_name(const void *p, const void *q)
{
    return strcmp(*(const char *const *)p, *(const char *const *)q);
}

/* A name twice means an announcement (MailboxName, RFC 5465 5.4) arrived
 * inside the LIST answer: which of the two is current is unknown. */
static bool names_unique(const struct backend_mailbox_list *l)
{
    const char **names = malloc((l->n ? l->n : 1) * sizeof(*names));
    bool unique = names != NULL;
    for (size_t i = 0; unique && i < l->n; i++)
        names[i] = l->items[i].name_raw;
    if (unique)
        qsort(names, l->n, sizeof(*names), by_name);
    for (size_t i = 1; unique && i < l->n; i++)
        unique = strcmp(names[i - 1], names[i]) != 0;
    free(names);
    return unique;
}

/* The baseline: LIST-STATUS once NOTIFY is in force, so every change
 * after it is reported. A STATUS announcement inside the answer only
 * updates its mailbox to newer numbers. 0 with *out NULL when there is
 * none to give (refused, or ambiguous); -1 when the connection broke. */
static int take_baseline(struct mail_backend *b, struct backend_mailbox_list **out,
                         struct gw_error *err)
{
    *out = NULL;
    if (backend_list_mailboxes(b, out, err) < 0)
        return backend_is_broken(b) ? -1 : 0;
    if (!names_unique(*out))
        backend_mailbox_list_free(out);
    return 0;
}

/* 1: the server sent something (or the connection ended), 0: timeout,
 * -1: stop() was called. */
static int wait_readable(struct imap_watch *w, struct imap_backend *ib, unsigned ms)
{
    mailstream *s = ib->imap->imap_stream;
    if (s->read_buffer_len > 0)
        return 1;
    struct pollfd p[2] = {
        { .fd = w->wake[0], .events = POLLIN },
        { .fd = mailstream_low_get_fd(mailstream_get_low(s)), .events = POLLIN },
    };
    int r;
    do {
        r = poll(p, 2, (int)ms);
    } while (r < 0 && errno == EINTR);
    if (p[0].revents != 0 || is_stopping(w))
        return -1;
    return r > 0 ? 1 : 0;
}

static enum session_end watch_session(struct imap_watch *w, struct mail_backend *b)
{
    struct imap_backend *ib = imap_backend_from(b);
    struct gw_error err = { 0 };
    unsigned seen = 0;

    if (!backend_has_capability(b, "NOTIFY")) {
        gw_log_info("account %s: the IMAP server lacks NOTIFY; every request syncs", w->label);
        return END_UNSUPPORTED;
    }
    if (backend_has_capability(b, "CONDSTORE") && imap_wire_simple(ib, "ENABLE CONDSTORE", &err) < 0)
        goto failed;
    if (imap_wire_simple(ib, notify_set, &err) < 0)
        goto failed;
    struct backend_mailbox_list *baseline = NULL;
    if (take_baseline(b, &baseline, &err) < 0)
        goto failed;
    gw_log_debug("account %s: watching the IMAP account (NOTIFY)%s", w->label,
                 baseline != NULL ? "" : " without a baseline listing");
    gw_error_clear(&err);
    w->fn(w->ctx, IMAP_WATCH_UP, &baseline);
    backend_mailbox_list_free(&baseline);
    for (;;) {
        int r = wait_readable(w, ib, WATCH_KEEPALIVE_MS);
        if (r < 0)
            return END_STOPPED;
        /* Report before reading: a request that starts now must sync. */
        if (r > 0) {
            gw_log_debug("account %s: the IMAP server reports a change", w->label);
            w->fn(w->ctx, IMAP_WATCH_CHANGED, NULL);
        }
        seen = 0;
        if (drain(ib, &seen, &err) < 0)
            goto failed;
        if (seen > 0 && r == 0) {
            gw_log_debug("account %s: a NOOP brought news of a change", w->label);
            w->fn(w->ctx, IMAP_WATCH_CHANGED, NULL);
        }
    }
failed:
    if (backend_is_broken(b)) {
        gw_log_debug("account %s: watcher connection lost: %s", w->label, err.msg);
        return END_LOST;
    }
    gw_log_info("account %s: the IMAP server refused NOTIFY (%s); every request syncs", w->label,
                err.msg);
    return END_UNSUPPORTED;
}

static void *watch_main(void *arg)
{
    struct imap_watch *w = arg;
    unsigned retry = WATCH_RETRY_MIN_MS;
    while (!is_stopping(w)) {
        struct mail_backend *b = NULL;
        struct gw_error err = { 0 };
        if (backend_pool_open_extra(w->pool, &b, &err) < 0) {
            gw_log_debug("account %s: watcher cannot connect: %s", w->label, err.msg);
        } else {
            uint64_t began = net_now_ms();
            enum session_end end = watch_session(w, b);
            backend_close(&b);
            if (end == END_UNSUPPORTED) {
                w->fn(w->ctx, IMAP_WATCH_UNSUPPORTED, NULL);
                break;
            }
            if (end == END_STOPPED)
                break;
            w->fn(w->ctx, IMAP_WATCH_DOWN, NULL);
            if (net_now_ms() - began >= WATCH_HEALTHY_MS)
                retry = WATCH_RETRY_MIN_MS;
        }
        if (wait_stop(w, retry))
            break;
        retry = retry * 2 < WATCH_RETRY_MAX_MS ? retry * 2 : WATCH_RETRY_MAX_MS;
    }
    return NULL;
}

int imap_watch_start(struct backend_pool *pool, const char *label, imap_watch_fn fn, void *ctx,
                     struct imap_watch **out, struct gw_error *err)
{
    struct imap_watch *w = calloc(1, sizeof(*w));
    *out = NULL;
    if (w == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    w->pool = pool;
    w->fn = fn;
    w->ctx = ctx;
    snprintf(w->label, sizeof(w->label), "%s", label);  /* truncation only shortens a log tag */
    if (pipe2(w->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        free(w);
        return gw_error_set(err, GW_ERR_INTERNAL, "watcher: pipe: %s", strerror(errno));
    }
    pthread_mutex_init(&w->lock, NULL);
    int r = pthread_create(&w->thread, NULL, watch_main, w);
    if (r != 0) {
        close(w->wake[0]);
        close(w->wake[1]);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return gw_error_set(err, GW_ERR_INTERNAL, "watcher: cannot start a thread: %s",
                            strerror(r));
    }
    *out = w;
    return 0;
}

void imap_watch_stop(struct imap_watch **wp)
{
    struct imap_watch *w = *wp;
    if (w == NULL)
        return;
    *wp = NULL;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_mutex_unlock(&w->lock);
    /* The pipe holds at most this byte: the write cannot block or fail
     * short, and poll() sees it even if it began before the flag was set. */
    ssize_t n = write(w->wake[1], "x", 1);
    (void)n;
    pthread_join(w->thread, NULL);
    close(w->wake[0]);
    close(w->wake[1]);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
