/* imap_internal.h - backends-internal: the IMAP instance of struct
 * mail_backend and the helpers every IMAP command implementation uses. */
#ifndef BACKENDS_IMAP_INTERNAL_H
#define BACKENDS_IMAP_INTERNAL_H

#include <libetpan/libetpan.h>

#include "../net/net.h"
#include "backend-private.h"

/* Whether the server answers the X-GUID fetch item (Dovecot does without
 * advertising it, so the first request finds out). */
enum imap_xguid { IMAP_XGUID_UNKNOWN, IMAP_XGUID_YES, IMAP_XGUID_NO };

struct imap_backend {
    struct mail_backend base;   /* first: (struct mail_backend *) casts */
    mailimap *imap;
    struct net_io io;           /* shared by the stream's low drivers */
    unsigned command_timeout_ms;
    /* Read path (imap_wire.c, imap_select.c). */
    unsigned wire_tag;          /* our own command tags, "J<n>" */
    bool enable_done;           /* ENABLE QRESYNC tried once */
    bool qresync;               /* ENABLE QRESYNC accepted */
    bool selected_ok;           /* selected[] names the open mailbox */
    bool selected_ro;           /* it was opened with EXAMINE */
    char selected[512];         /* raw name; longer names are never cached */
    uint32_t sel_uidvalidity, sel_uidnext, sel_exists;  /* as of that selection */
    uint64_t sel_highestmodseq;
    enum imap_xguid xguid;
    /* Write path (imap_write.c): the mailbox opened read-write for the last
     * write command, trusted only while no other wire command ran since
     * (wire_tag == wsel_tag), so any SELECT/EXAMINE by the read path or a
     * failed one voids it. */
    char wsel[512];
    unsigned wsel_tag;          /* 0: nothing */
    uint32_t wsel_uidvalidity;
    bool wsel_perm_known;       /* the server sent PERMANENTFLAGS */
    bool wsel_perm_keywords;    /* ... with \* */
    char wsel_perm[512];        /* its flags, each followed by a space;
                                 * wsel_perm_known is false when they do not fit */
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
