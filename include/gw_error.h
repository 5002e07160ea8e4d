/* gw_error.h - the one error type every layer returns its reasons in.
 *
 * Convention (design.md "Errors"): functions return 0 on success and -1 on
 * failure, filling a caller-owned struct gw_error. A NULL err is allowed
 * everywhere and means "caller does not care". The message is for logs and
 * for the client's "detail"/"description" only when the code says the text
 * is safe to show (see gw_error_is_client_safe()).
 */
#ifndef GW_ERROR_H
#define GW_ERROR_H

#include <stdarg.h>
#include <stdbool.h>

enum gw_error_code {
    GW_OK = 0,
    GW_ERR_INTERNAL,      /* broken invariant or library failure: log it, say little */
    GW_ERR_NOMEM,         /* allocation failed */
    GW_ERR_INVALID,       /* bad input from the client or the operator */
    GW_ERR_AUTH,          /* backend refused the credentials */
    GW_ERR_UNAVAILABLE,   /* backend unreachable, timed out or dropped the connection */
    GW_ERR_TLS,           /* certificate/host name check failed, or STARTTLS not offered */
    GW_ERR_PROTOCOL,      /* backend answered something we cannot parse or did not expect */
    GW_ERR_NOTFOUND,      /* object does not exist (IMAP [NONEXISTENT] ...) */
    GW_ERR_EXISTS,        /* object already exists (IMAP [ALREADYEXISTS]) */
    GW_ERR_FORBIDDEN,     /* not allowed (IMAP [NOPERM]) */
    GW_ERR_OVERQUOTA,     /* IMAP [OVERQUOTA] */
    GW_ERR_LIMIT,         /* a server limit was hit (IMAP [LIMIT], our own limits) */
    GW_ERR_TOO_LARGE,     /* object too large */
    GW_ERR_BACKEND_NO,    /* backend said NO/BAD without a code we map */
    GW_ERR__COUNT
};

#define GW_ERROR_MSG_MAX 256

struct gw_error {
    enum gw_error_code code;
    char msg[GW_ERROR_MSG_MAX];
};

/* Sets err (if non-NULL) and returns -1, so callers can `return gw_error_set(...)`.
 * The message is truncated to GW_ERROR_MSG_MAX - 1 bytes. */
int gw_error_set(struct gw_error *err, enum gw_error_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int gw_error_setv(struct gw_error *err, enum gw_error_code code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Resets err to GW_OK with an empty message. */
void gw_error_clear(struct gw_error *err);

/* Stable lower-case name of a code ("unavailable", "auth" ...), never NULL. */
const char *gw_error_code_name(enum gw_error_code code);

/* True when msg may be shown to a JMAP client (it names no internal detail:
 * everything except GW_ERR_INTERNAL and GW_ERR_NOMEM). */
bool gw_error_is_client_safe(enum gw_error_code code);

#endif
