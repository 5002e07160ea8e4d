/* pool.c - per-account IMAP connection pool (include/backend.h).
 *
 * The lock guards only the bookkeeping; every open, NOOP and LOGOUT runs
 * with it released, so one slow server never blocks other threads' access
 * to the pool longer than a few instructions.
 */
#include "backend-private.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "net/net.h"
#include "gw_log.h"

/* A connection idle for longer than this is NOOPed before reuse: servers
 * and NAT boxes drop quiet connections, and a failing first command would
 * otherwise surface as a client-visible error. */
#define POOL_STALE_MS 30000u

struct pool_idle {
    struct mail_backend *b;
    uint64_t since_ms;
};

struct backend_pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;        /* signalled when a connection or slot frees up */
    struct backend_endpoint ep;
    char *username;
    char *password;
    size_t password_len;
    unsigned max;
    unsigned stale_ms;
    unsigned open;              /* idle + in use + being opened */
    unsigned n_idle;
    struct pool_idle *idle;     /* capacity max; most recently released last */
};

struct backend_pool *backend_pool_new(const struct backend_endpoint *ep,
                                      const struct backend_credentials *cred,
                                      unsigned max_connections)
{
    struct backend_pool *p = NULL;
    pthread_condattr_t ca;

    if (ep == NULL || cred == NULL || cred->username == NULL || cred->password == NULL)
        return NULL;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->ep = *ep;
    backend_endpoint_fill_defaults(&p->ep);
    p->stale_ms = POOL_STALE_MS;
    p->max = max_connections > 0 ? max_connections : 1;
    p->username = strdup(cred->username);
    p->password_len = strlen(cred->password);
    p->password = malloc(p->password_len + 1);
    p->idle = calloc(p->max, sizeof(*p->idle));
    if (p->username == NULL || p->password == NULL || p->idle == NULL) {
        free(p->username);
        free(p->password);
        free(p->idle);
        free(p);
        return NULL;
    }
    memcpy(p->password, cred->password, p->password_len + 1);
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);
    return p;
}

void backend_pool_set_stale_ms(struct backend_pool *p, unsigned ms)
{
    pthread_mutex_lock(&p->lock);
    p->stale_ms = ms;
    pthread_mutex_unlock(&p->lock);
}

void backend_pool_adopt(struct backend_pool *p, struct mail_backend **b)
{
    struct mail_backend *extra = *b;

    *b = NULL;
    if (extra == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    if (!extra->broken && p->open < p->max) {
        p->idle[p->n_idle++] = (struct pool_idle){ extra, net_now_ms() };
        p->open++;
        extra = NULL;
        pthread_cond_signal(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
    backend_close(&extra);
}

/* Drops one connection from the count (after closing it outside the lock). */
static void pool_forget(struct backend_pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->open--;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

/* Copies the password under the lock: backend_pool_set_credentials() may
 * replace it while a connection is being opened outside the lock. */
static char *password_copy(struct backend_pool *p)
{
    pthread_mutex_lock(&p->lock);
    char *copy = malloc(p->password_len + 1);
    if (copy != NULL)
        memcpy(copy, p->password, p->password_len + 1);
    pthread_mutex_unlock(&p->lock);
    return copy;
}

int backend_pool_credentials_copy(struct backend_pool *p, char **username, char **password)
{
    *username = strdup(p->username);
    *password = password_copy(p);
    if (*username == NULL || *password == NULL) {
        free(*username);
        *username = NULL;
        backend_credentials_wipe(password);
        return -1;
    }
    return 0;
}

void backend_credentials_wipe(char **s)
{
    if (*s == NULL)
        return;
    OPENSSL_cleanse(*s, strlen(*s));
    free(*s);
    *s = NULL;
}

/* Opens one connection with the pool's current credentials. */
static int open_with_credentials(struct backend_pool *p, struct mail_backend **out,
                                 struct gw_error *err)
{
    char *password = password_copy(p);
    if (password == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    struct backend_credentials cred = { p->username, password };
    int rc = backend_imap_open(&p->ep, &cred, out, err);
    backend_credentials_wipe(&password);
    return rc;
}

static int pool_open(struct backend_pool *p, struct mail_backend **out, struct gw_error *err)
{
    if (open_with_credentials(p, out, err) < 0) {
        pool_forget(p);
        return -1;
    }
    return 0;
}

int backend_pool_open_extra(struct backend_pool *p, struct mail_backend **out,
                            struct gw_error *err)
{
    *out = NULL;
    return open_with_credentials(p, out, err);
}

int backend_pool_set_credentials(struct backend_pool *p, const struct backend_credentials *cred)
{
    size_t len = strlen(cred->password);
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, cred->password, len + 1);
    pthread_mutex_lock(&p->lock);
    char *old = p->password;
    size_t old_len = p->password_len;
    p->password = copy;
    p->password_len = len;
    pthread_mutex_unlock(&p->lock);
    OPENSSL_cleanse(old, old_len);
    free(old);
    return 0;
}

int backend_pool_acquire(struct backend_pool *p, struct mail_backend **out, struct gw_error *err)
{
    uint64_t deadline = net_now_ms() + p->ep.command_timeout_ms;
    struct timespec until = { .tv_sec = (time_t)(deadline / 1000),
                              .tv_nsec = (long)(deadline % 1000) * 1000000L };

    *out = NULL;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (p->n_idle > 0) {
            struct pool_idle e = p->idle[--p->n_idle];
            unsigned stale_ms = p->stale_ms;
            pthread_mutex_unlock(&p->lock);
            /* A connection the server spoke on (or closed) while it sat
             * idle is proven with a NOOP too: typically a BYE. */
            if ((net_now_ms() - e.since_ms >= stale_ms || backend_peer_spoke(e.b)) &&
                backend_noop(e.b, NULL) < 0) {
                backend_close(&e.b);
                /* Keep the slot: open a fresh connection in its place. */
                return pool_open(p, out, err);
            }
            *out = e.b;
            return 0;
        }
        if (p->open < p->max) {
            p->open++;
            pthread_mutex_unlock(&p->lock);
            return pool_open(p, out, err);
        }
        int r = pthread_cond_timedwait(&p->cond, &p->lock, &until);
        if (r == ETIMEDOUT && p->n_idle == 0 && p->open >= p->max) {
            pthread_mutex_unlock(&p->lock);
            return gw_error_set(err, GW_ERR_UNAVAILABLE,
                                "no IMAP connection became free within %u ms",
                                p->ep.command_timeout_ms);
        }
    }
}

void backend_pool_release(struct backend_pool *p, struct mail_backend **b)
{
    struct mail_backend *conn = *b;

    *b = NULL;
    if (conn == NULL)
        return;
    if (conn->broken) {
        backend_close(&conn);
        pool_forget(p);
        return;
    }
    pthread_mutex_lock(&p->lock);
    if (p->n_idle >= p->open || p->n_idle >= p->max) {
        /* Not one of ours (more released than handed out). */
        pthread_mutex_unlock(&p->lock);
        gw_log_error("connection released to a pool that did not hand it out");
        abort();
    }
    p->idle[p->n_idle++] = (struct pool_idle){ conn, net_now_ms() };
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

void backend_pool_trim(struct backend_pool *p, unsigned idle_ms)
{
    struct mail_backend **victims = NULL;
    unsigned n = 0;
    uint64_t now = net_now_ms();

    pthread_mutex_lock(&p->lock);
    victims = calloc(p->n_idle + 1, sizeof(*victims));
    if (victims != NULL) {
        unsigned kept = 0;
        for (unsigned i = 0; i < p->n_idle; i++) {
            if (now - p->idle[i].since_ms >= idle_ms)
                victims[n++] = p->idle[i].b;
            else
                p->idle[kept++] = p->idle[i];
        }
        p->n_idle = kept;
        p->open -= n;
        if (n > 0)
            pthread_cond_broadcast(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < n; i++)
        backend_close(&victims[i]);
    free(victims);
}

unsigned backend_pool_size(struct backend_pool *p)
{
    pthread_mutex_lock(&p->lock);
    unsigned n = p->open;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void backend_pool_free(struct backend_pool **pp)
{
    struct backend_pool *p = *pp;

    if (p == NULL)
        return;
    *pp = NULL;
    if (p->open != p->n_idle) {
        gw_log_error("backend pool freed with %u connection(s) in use", p->open - p->n_idle);
        abort();
    }
    for (unsigned i = 0; i < p->n_idle; i++)
        backend_close(&p->idle[i].b);
    OPENSSL_cleanse(p->password, p->password_len);
    free(p->password);
    free(p->username);
    free(p->idle);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
