/* backend_submit.h - SMTP submission (RFC 6409) as neutral primitives: one
 * call hands one message to the submission server with the account's own
 * credentials, and says per recipient what the server answered.
 *
 * No libetpan type crosses this header. Every SMTP reply is mapped by one
 * table (backends/smtp/smtp_errors.c) to a submit_error, which EmailSubmission
 * turns into its SetError; the server's own words are kept in the reply so
 * the client can be told what the server said.
 *
 * Connection rules are the IMAP side's (backend_endpoint): implicit TLS or
 * STARTTLS (required when configured: a server that does not offer it is
 * refused), certificate chain and host name verified, plaintext only to a
 * loopback host. Credentials are never logged.
 */
#ifndef BACKEND_SUBMIT_H
#define BACKEND_SUBMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "gw_error.h"

/* Why the server did not take (all of) a message; the RFC 8621 §7.5
 * SetErrors, plus what has no SetError of its own. */
enum submit_error {
    SUBMIT_OK = 0,
    SUBMIT_ERR_INVALID_EMAIL,         /* the message itself was refused (x.6.x) */
    SUBMIT_ERR_TOO_MANY_RECIPIENTS,   /* x.5.3 */
    SUBMIT_ERR_NO_RECIPIENTS,         /* none given, or every RCPT refused */
    SUBMIT_ERR_INVALID_RECIPIENTS,    /* a recipient was refused (per recipient) */
    SUBMIT_ERR_FORBIDDEN_MAIL_FROM,   /* MAIL FROM refused */
    SUBMIT_ERR_FORBIDDEN_FROM,        /* the content (From header) refused by policy */
    SUBMIT_ERR_FORBIDDEN_TO_SEND,     /* AUTH refused, or not allowed to send at all */
    SUBMIT_ERR_TOO_LARGE,             /* over the server's SIZE, or refused as too big */
    SUBMIT_ERR_SERVER,                /* any other refusal (temporary or not) */
    SUBMIT_ERR_UNAVAILABLE,           /* no answer: connect, TLS, timeout, dropped */
};

/* RFC 8621 SetError type for e ("invalidEmail", ...; "serverFail" for
 * SUBMIT_ERR_SERVER/UNAVAILABLE; NULL for SUBMIT_OK). */
const char *submit_error_name(enum submit_error e);

/* DSN (RFC 3461) NOTIFY bits; 0 leaves NOTIFY out. */
enum {
    SUBMIT_NOTIFY_NEVER = 1,
    SUBMIT_NOTIFY_SUCCESS = 2,
    SUBMIT_NOTIFY_FAILURE = 4,
    SUBMIT_NOTIFY_DELAY = 8,
};

enum submit_ret {
    SUBMIT_RET_DEFAULT = 0,     /* no RET parameter */
    SUBMIT_RET_FULL,
    SUBMIT_RET_HDRS,
};

struct submit_rcpt {
    const char *address;        /* bare addr-spec, no angle brackets */
    unsigned notify;            /* SUBMIT_NOTIFY_* bits; sent only when the server has DSN */
};

/* What goes into MAIL FROM and RCPT TO. DSN parameters are passed only
 * when the server advertises DSN (and silently dropped otherwise). */
struct submit_envelope {
    const char *mail_from;      /* addr-spec; "" for the null reverse path */
    const char *envid;          /* ENVID, xtext-safe printable ASCII; NULL: none */
    enum submit_ret ret;
    const struct submit_rcpt *rcpts;
    size_t rcpt_count;
};

/* One SMTP reply as the server gave it. */
struct submit_reply {
    int code;                   /* 250, 550, ...; 0 when there was no reply */
    char enhanced[16];          /* RFC 3463 "5.1.1", or "" */
    char *text;                 /* the text after the code(s), malloc'd; may be NULL */
};

struct submit_rcpt_result {
    bool accepted;
    enum submit_error error;    /* SUBMIT_OK when accepted */
    struct submit_reply reply;  /* the RCPT reply */
};

struct submit_result {
    bool sent;                  /* the server accepted the data: it is the server's now */
    enum submit_error error;    /* SUBMIT_OK when sent with every recipient */
    bool temporary;             /* a 4xx (or no answer): the same send may work later */
    struct submit_reply reply;  /* the reply that decided the outcome */
    struct submit_rcpt_result *rcpts;   /* env->rcpt_count entries, in order */
    size_t rcpt_count;
    size_t server_max_size;     /* the server's SIZE (0: none advertised) */
};

/* Connects (ep's TLS rules), EHLO, AUTH PLAIN or LOGIN as cred, checks the
 * message against SIZE before MAIL, sends MAIL FROM (SIZE, RET, ENVID),
 * each RCPT TO (NOTIFY), and DATA when at least one recipient was accepted;
 * QUIT. msg is the complete RFC 5322 message with CRLF line ends (dot
 * stuffing is done here).
 * Returns 0 when the server accepted the message for at least one
 * recipient (res->sent; res->error SUBMIT_ERR_INVALID_RECIPIENTS when some
 * were refused), else -1 with res->error saying why and err the transport
 * view: GW_ERR_UNAVAILABLE (connect, timeout, dropped, temporary refusal),
 * GW_ERR_TLS, GW_ERR_AUTH (credentials refused), GW_ERR_BACKEND_NO (an SMTP
 * refusal), GW_ERR_TOO_LARGE, GW_ERR_INVALID (bad envelope, nothing sent).
 * res is always initialised; free it with submit_result_clear(). */
int backend_submit_send(const struct backend_endpoint *ep, const struct backend_credentials *cred,
                        const struct submit_envelope *env, const char *msg, size_t msg_len,
                        struct submit_result *res, struct gw_error *err);

/* Frees what res owns and zeroes it. */
void submit_result_clear(struct submit_result *res);

/* The server's EHLO extensions (after STARTTLS when configured; no login):
 * keyword -> arguments, e.g. "SIZE" -> {"10240000"}, "DSN" -> {}. */
struct submit_extension {
    char *keyword;              /* upper case as the server sent it */
    char **args;                /* arg_count strings */
    size_t arg_count;
};

struct submit_server_info {
    struct submit_extension *ext;
    size_t ext_count;
};

/* Connects and asks EHLO (the same TLS rules); 0, or -1 with err. */
int backend_submit_probe(const struct backend_endpoint *ep, struct submit_server_info *info,
                         struct gw_error *err);

void submit_server_info_clear(struct submit_server_info *info);

#endif
