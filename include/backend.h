/* backend.h - the mail backend interface handlers and the HTTP layer use.
 *
 * A struct mail_backend is one authenticated connection to a mail server
 * (IMAP now, POP3 later: design.md "Layering"). Callers never see libetpan;
 * they call these wrappers, which validate, log, and dispatch to b->v.
 *
 * Threading: a connection is used by one thread at a time (the pool hands
 * it out exclusively). Every call is bounded by the endpoint's timeouts and
 * never blocks forever, whatever the server does.
 */
#ifndef BACKEND_H
#define BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "gw_config.h"
#include "gw_error.h"

/* How to reach a server and how to check it. Strings are borrowed and must
 * outlive every connection and pool made from it (they come from the
 * process-wide struct gw_config). */
struct backend_endpoint {
    const char *host;
    uint16_t port;
    enum gw_tls_mode tls;
    const char *ca_file;            /* NULL: system trust store */
    bool tls_insecure;              /* skip chain and host name checks */
    unsigned connect_timeout_ms;    /* TCP connect + TLS handshake + greeting */
    unsigned command_timeout_ms;    /* any single command's reply */
};

/* Fills ep from the config's IMAP settings. */
void backend_endpoint_from_config(struct backend_endpoint *ep, const struct gw_config *cfg,
                                  const struct gw_endpoint *server);

/* Credentials are borrowed for the duration of the call only. They are
 * never logged and never written anywhere. */
struct backend_credentials {
    const char *username;
    const char *password;
};

struct mail_backend;

/* Connects, secures (STARTTLS/implicit TLS with chain + host name verified
 * unless tls_insecure), and logs in (AUTHENTICATE PLAIN when advertised,
 * else LOGIN; never LOGIN over plaintext to a non-loopback host).
 * Errors: GW_ERR_AUTH (credentials refused), GW_ERR_UNAVAILABLE (refused,
 * unreachable, timed out, dropped), GW_ERR_TLS (handshake or verification
 * failed, or STARTTLS configured but not offered), GW_ERR_PROTOCOL.
 * On success *out is a new connection owned by the caller. */
int backend_imap_open(const struct backend_endpoint *ep, const struct backend_credentials *cred,
                      struct mail_backend **out, struct gw_error *err);

/* Logs out (bounded by the command timeout), closes and frees; sets *b NULL. */
void backend_close(struct mail_backend **b);

/* Round trip to check the connection is alive (IMAP NOOP). On failure the
 * connection is marked broken. */
int backend_noop(struct mail_backend *b, struct gw_error *err);

/* True once an I/O error, timeout or BYE was seen: the connection must not
 * be reused (the pool closes it instead). */
bool backend_is_broken(const struct mail_backend *b);

/* Case-insensitive check of the server's post-login capability list
 * (e.g. "CONDSTORE", "AUTH=PLAIN"). */
bool backend_has_capability(const struct mail_backend *b, const char *capability);

/* A small set of authenticated connections for one account.
 * The pool keeps the password in memory (never on disk) so it can open more
 * connections; it is wiped with OPENSSL_cleanse when the pool is freed. */
struct backend_pool;

/* Creates an empty pool. Copies username and password. Returns NULL on ENOMEM. */
struct backend_pool *backend_pool_new(const struct backend_endpoint *ep,
                                      const struct backend_credentials *cred,
                                      unsigned max_connections);

/* Replaces the password used for new connections, after a login with a
 * changed password succeeded. Copies it and wipes the old one. Returns 0,
 * or -1 on ENOMEM (the old credentials stay). */
int backend_pool_set_credentials(struct backend_pool *p, const struct backend_credentials *cred);

/* Copies the pool's credentials (EmailSubmission authenticates to SMTP
 * with the account's own login). *password must be wiped and freed with
 * backend_credentials_wipe(). 0, or -1 on ENOMEM. */
int backend_pool_credentials_copy(struct backend_pool *p, char **username, char **password);

/* OPENSSL_cleanse()s and frees *s; sets it NULL. */
void backend_credentials_wipe(char **s);

/* Hands a connection to the pool (e.g. the one the login check opened).
 * Takes ownership and sets *b NULL. */
void backend_pool_adopt(struct backend_pool *p, struct mail_backend **b);

/* Takes an idle connection, or opens one if fewer than max exist, or waits
 * (at most the command timeout) for one to be released. The caller has
 * exclusive use until backend_pool_release(). Errors as backend_imap_open(),
 * plus GW_ERR_UNAVAILABLE when the wait times out. */
int backend_pool_acquire(struct backend_pool *p, struct mail_backend **out,
                         struct gw_error *err);

/* Gives the connection back (closing it if broken); sets *b NULL. */
void backend_pool_release(struct backend_pool *p, struct mail_backend **b);

/* Closes idle connections unused for at least idle_ms milliseconds. */
void backend_pool_trim(struct backend_pool *p, unsigned idle_ms);

/* Number of connections open (idle + in use). */
unsigned backend_pool_size(struct backend_pool *p);

/* Closes every connection (none may be in use) and frees; sets *p NULL. */
void backend_pool_free(struct backend_pool **p);

#endif
