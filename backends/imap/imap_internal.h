/* imap_internal.h - backends-internal: the IMAP instance of struct
 * mail_backend and the helpers every IMAP command implementation uses. */
#ifndef BACKENDS_IMAP_INTERNAL_H
#define BACKENDS_IMAP_INTERNAL_H

#include <libetpan/libetpan.h>

#include "../net/net.h"
#include "backend-private.h"

struct imap_backend {
    struct mail_backend base;   /* first: (struct mail_backend *) casts */
    mailimap *imap;
    struct net_io io;           /* shared by the stream's low drivers */
    unsigned command_timeout_ms;
};

/* The IMAP session behind a struct mail_backend made by backend_imap_open(). */
struct imap_backend *imap_backend_from(struct mail_backend *b);

/* Maps an IMAP response code atom (RFC 5530, RFC 3501 TRYCREATE, RFC 4469
 * TOOBIG, case-insensitive, without brackets) to a gateway error code.
 * Returns GW_OK when the code is NULL or not in the table. */
enum gw_error_code imap_resp_code_error(const char *code);

/* Starts a command's time budget (the command timeout). */
void imap_cmd_begin(struct imap_backend *ib);

/* Turns a libetpan result r of the command named what into 0 (success) or
 * -1 with err. A tagged NO/BAD is mapped through imap_resp_code_error() on
 * the response code the server gave, else to no_code (e.g. GW_ERR_AUTH for
 * LOGIN, GW_ERR_BACKEND_NO in general). Transport failures, BYE, parse
 * errors and protocol violations mark the connection broken. Also ends the
 * command's time budget. */
int imap_cmd_end(struct imap_backend *ib, int r, const char *what, enum gw_error_code no_code,
                 struct gw_error *err);

#endif
