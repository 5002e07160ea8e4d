/* jmap_submission.h - the urn:ietf:params:jmap:submission side of the API
 * (RFC 8621 §1.3.3, §6, §7): process-wide settings set once at startup,
 * the account capability (with the SMTP server's EHLO extensions), and the
 * default identity of a login.
 */
#ifndef JMAP_SUBMISSION_H
#define JMAP_SUBMISSION_H

#include <jansson.h>
#include <stddef.h>

#include "backend.h"

#define JMAP_CAPABILITY_SUBMISSION "urn:ietf:params:jmap:submission"

struct jmap_submission_config {
    /* Domain of the default identity of a login without "@"; NULL: the
     * login is used as it is. */
    const char *mail_domain;
    /* The submission server (strings are copied); host NULL: none. */
    struct backend_endpoint smtp;
    /* maxDelayedSend in seconds (0: no delayed sending). */
    unsigned max_delayed_send;
};

/* Copies c; call before serving (not thread-safe against the getters).
 * Returns 0, or -1 on ENOMEM. */
int jmap_submission_configure(const struct jmap_submission_config *c);

/* Frees what configure copied (at shutdown). */
void jmap_submission_reset(void);

/* The account capability object {maxDelayedSend, submissionExtensions}
 * (new reference). The extensions come from the server's EHLO, asked at
 * the first call and kept; when the server cannot be reached they are {}
 * and the server is asked again at most once a minute. */
json_t *jmap_submission_account_capability(void);

/* A number that changes whenever jmap_submission_account_capability() may
 * answer differently (configuration, a successful probe); asks nothing. */
unsigned jmap_submission_capability_generation(void);

/* The submission server (borrowed until jmap_submission_reset), or NULL
 * when none is configured. */
const struct backend_endpoint *jmap_submission_smtp(void);

/* maxDelayedSend in seconds (0: none). */
unsigned jmap_submission_max_delayed_send(void);

/* The background sender of delayed and retried submissions (RFC 8621
 * §7.5 sendAt): a thread sending what is due for the accounts this
 * gateway holds in memory. Start before serving, stop before the account
 * registry is freed (it drops its account references). 0, or -1. */
int jmap_submission_sender_start(void);
void jmap_submission_sender_stop(void);

struct account;

/* A request of account a is being served: the first one since start looks
 * for submissions queued before a restart and hands them to the sender
 * (their credentials only live in memory, so they wait for this). */
void jmap_submission_account_seen(struct account *a);

/* The email of login's default identity into out: the login when it has
 * an "@", else login@mail_domain (or the bare login without a domain).
 * -1 when it does not fit. */
int jmap_submission_default_email(const char *login, char *out, size_t size);

#endif
