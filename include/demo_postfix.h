/* demo_postfix.h - a private Postfix on loopback: SMTP submission for the
 * demo and the integration tests, next to the private Dovecot.
 *
 * Everything lives under one base directory of ours (main.cf, master.cf,
 * queue, data, log); nothing of the system's Postfix configuration or
 * service is read or touched, and the master runs in the foreground as our
 * child. Listeners on 127.0.0.1 only:
 *  - submission: plaintext greeting, STARTTLS required before AUTH and MAIL;
 *  - smtps: implicit TLS.
 * AUTH PLAIN/LOGIN is checked by the private Dovecot's auth service (its
 * auth_port), mail for the configured domain goes to Dovecot over LMTP, an
 * authenticated user may only use its own address as envelope sender, and
 * every other domain is refused at RCPT (nothing ever leaves the machine).
 * Postfix's master needs root; as an ordinary user start fails with
 * GW_ERR_UNAVAILABLE.
 */
#ifndef DEMO_POSTFIX_H
#define DEMO_POSTFIX_H

#include <stddef.h>
#include <stdint.h>

#include "gw_error.h"

struct demo_user;

struct demo_postfix_options {
    const char *base_dir;           /* created if missing; the queue is reset at start */
    uint16_t submission_port;       /* 0 picks a free one */
    uint16_t smtps_port;            /* 0 picks a free one */
    const char *cert_file;          /* server certificate chain (PEM) */
    const char *key_file;           /* its private key (PEM, read as root) */
    uint16_t lmtp_port;             /* Dovecot LMTP on 127.0.0.1 */
    uint16_t auth_port;             /* Dovecot auth service on 127.0.0.1 */
    const char *domain;             /* NULL: "jmap-gateway.test" */
    const struct demo_user *users;  /* NULL: demo_dovecot_default_users */
    size_t user_count;
    size_t message_size_limit;      /* bytes; 0: 10 MiB */
};

struct demo_postfix;

/* Writes the configuration and queue, starts the master and waits (at most
 * 15 s) until both ports accept. Errors: GW_ERR_UNAVAILABLE (not root,
 * Postfix missing or did not come up; msg has the tail of its log),
 * GW_ERR_INVALID. */
int demo_postfix_start(const struct demo_postfix_options *opts, struct demo_postfix **out,
                       struct gw_error *err);

/* Stops the server (as free does) but keeps its configuration, queue and
 * ports, so demo_postfix_resume() brings the same server back: a test's
 * "submission server down, then up again". */
int demo_postfix_pause(struct demo_postfix *p, struct gw_error *err);
int demo_postfix_resume(struct demo_postfix *p, struct gw_error *err);

/* Stops the master and its children (SIGTERM to the process group, at most
 * 5 s, then SIGKILL), frees and sets *p NULL. Keeps base_dir. */
void demo_postfix_free(struct demo_postfix **p);

uint16_t demo_postfix_submission_port(const struct demo_postfix *p);
uint16_t demo_postfix_smtps_port(const struct demo_postfix *p);
/* Postfix's own log (postlogd writes it). */
const char *demo_postfix_log_path(const struct demo_postfix *p);

#endif
