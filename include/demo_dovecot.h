/* demo_dovecot.h - a private Dovecot on loopback, for `jmap-gateway --demo`
 * and for the integration tests and the benchmark.
 *
 * Everything lives under one base directory of ours (config, TLS CA and
 * certificate, users, mail, logs, pid); nothing of the system's Dovecot
 * configuration or service is read or touched. Servers listen on 127.0.0.1
 * only. Works as root (mail owned by an unprivileged system user) and as
 * an ordinary user (everything runs as that user).
 */
#ifndef DEMO_DOVECOT_H
#define DEMO_DOVECOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_error.h"

struct demo_user {
    const char *username;   /* login name, e.g. "demo" */
    const char *password;   /* stored hashed in the private passwd-file */
    const char *address;    /* e.g. "demo@jmap-gateway.test" */
};

/* The demo's two accounts: demo/demo and alice/alice. */
extern const struct demo_user demo_dovecot_default_users[];
extern const size_t demo_dovecot_default_user_count;

struct demo_dovecot_options {
    const char *base_dir;       /* created if missing; reused if it exists */
    /* Ports on 127.0.0.1; 0 picks a free one (read it back with the getters). */
    uint16_t imap_port;         /* plaintext + STARTTLS (when tls is on) */
    uint16_t imaps_port;        /* implicit TLS; unused when tls is off */
    uint16_t pop3_port;
    uint16_t lmtp_port;
    uint16_t sieve_port;        /* ManageSieve, when dovecot-managesieved is installed */
    /* Dovecot's SASL auth protocol on TCP, for an MTA's SMTP AUTH (Postfix
     * smtpd_sasl_type = dovecot) against the same users. */
    uint16_t auth_port;
    const struct demo_user *users;  /* NULL: demo_dovecot_default_users */
    size_t user_count;
    bool tls;                   /* offer STARTTLS and implicit TLS (default on) */
    /* Names the server certificate is issued for (SAN); NULL: {"localhost",
     * "127.0.0.1"}. A test gives other names to provoke a host name mismatch. */
    const char *const *cert_names;
    bool seed_demo_mail;        /* deliver the demo messages to each user's INBOX once */
};

struct demo_dovecot;

/* Writes the private configuration (first run only for users/mail/certs),
 * starts Dovecot in the foreground-less daemon mode under base_dir, and
 * waits until the IMAP port accepts connections (at most 15 s).
 * Errors: GW_ERR_UNAVAILABLE (dovecot missing or did not come up; msg says
 * why, with the tail of its log), GW_ERR_INVALID. */
int demo_dovecot_start(const struct demo_dovecot_options *opts, struct demo_dovecot **out,
                       struct gw_error *err);

/* Stops the server (SIGTERM, wait, then SIGKILL) but keeps its data and
 * ports so demo_dovecot_resume() can bring the same server back. */
int demo_dovecot_pause(struct demo_dovecot *d, struct gw_error *err);
int demo_dovecot_resume(struct demo_dovecot *d, struct gw_error *err);

/* Stops the server if running and frees; keeps base_dir. Sets *d NULL. */
void demo_dovecot_free(struct demo_dovecot **d);

/* A TCP port free on 127.0.0.1 now, chosen at random below the kernel's
 * ephemeral range (ip_local_port_range), or 0. Not a port bind(0) gives:
 * the kernel hands those to outgoing connections as their local ports
 * too, and one taken that way between the pick and a server's own bind
 * makes the server fail with "Address already in use" (seen with tests
 * run in parallel). Never one it returned among its last 256 answers, so
 * the ports of one configuration differ. Falls back to bind(0) when 32
 * random tries fail. */
uint16_t demo_free_port(void);

uint16_t demo_dovecot_imap_port(const struct demo_dovecot *d);
uint16_t demo_dovecot_imaps_port(const struct demo_dovecot *d);
uint16_t demo_dovecot_pop3_port(const struct demo_dovecot *d);
uint16_t demo_dovecot_lmtp_port(const struct demo_dovecot *d);
uint16_t demo_dovecot_sieve_port(const struct demo_dovecot *d);
uint16_t demo_dovecot_auth_port(const struct demo_dovecot *d);
/* PEM file of the private CA that signed the server certificate (NULL when tls is off). */
const char *demo_dovecot_ca_file(const struct demo_dovecot *d);

#endif
