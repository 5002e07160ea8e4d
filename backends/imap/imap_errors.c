/* imap_errors.c - the one table from IMAP response codes to gateway errors
 * (design.md "Errors") and the mapping of libetpan results. */
#include "imap_internal.h"

#include <strings.h>

static const struct {
    const char *code;
    enum gw_error_code error;
} resp_codes[] = {
    /* RFC 5530 */
    { "UNAVAILABLE", GW_ERR_UNAVAILABLE },
    { "AUTHENTICATIONFAILED", GW_ERR_AUTH },
    { "AUTHORIZATIONFAILED", GW_ERR_AUTH },
    { "EXPIRED", GW_ERR_AUTH },
    { "PRIVACYREQUIRED", GW_ERR_TLS },
    { "CONTACTADMIN", GW_ERR_FORBIDDEN },
    { "NOPERM", GW_ERR_FORBIDDEN },
    { "INUSE", GW_ERR_UNAVAILABLE },
    { "EXPUNGEISSUED", GW_ERR_NOTFOUND },
    { "CORRUPTION", GW_ERR_BACKEND_NO },
    { "SERVERBUG", GW_ERR_BACKEND_NO },
    { "CLIENTBUG", GW_ERR_PROTOCOL },
    { "CANNOT", GW_ERR_INVALID },
    { "LIMIT", GW_ERR_LIMIT },
    { "OVERQUOTA", GW_ERR_OVERQUOTA },
    { "ALREADYEXISTS", GW_ERR_EXISTS },
    { "NONEXISTENT", GW_ERR_NOTFOUND },
    /* RFC 3501 */
    { "TRYCREATE", GW_ERR_NOTFOUND },
    /* RFC 9051: DELETE of a mailbox that has children */
    { "HASCHILDREN", GW_ERR_INVALID },
    /* RFC 6154: a special-use attribute the server does not take */
    { "USEATTR", GW_ERR_INVALID },
    /* RFC 4469 / RFC 7889 */
    { "TOOBIG", GW_ERR_TOO_LARGE },
};

enum gw_error_code imap_resp_code_error(const char *code)
{
    if (code == NULL)
        return GW_OK;
    for (size_t i = 0; i < sizeof(resp_codes) / sizeof(resp_codes[0]); i++) {
        if (strcasecmp(resp_codes[i].code, code) == 0)
            return resp_codes[i].error;
    }
    return GW_OK;
}

void imap_cmd_begin(struct imap_backend *ib)
{
    net_io_arm(&ib->io, ib->command_timeout_ms);
}

/* The response code of the last tagged reply: libetpan keeps unknown codes
 * as an atom and TRYCREATE as a flag. */
static enum gw_error_code last_resp_code(const mailimap *imap)
{
    const struct mailimap_response_info *info = imap->imap_response_info;
    if (info == NULL)
        return GW_OK;
    if (info->rsp_trycreate)
        return GW_ERR_NOTFOUND;
    return imap_resp_code_error(info->rsp_atom);
}

static const char *server_text(const mailimap *imap)
{
    return imap->imap_response != NULL ? imap->imap_response : "";
}

int imap_cmd_end(struct imap_backend *ib, int r, const char *what, enum gw_error_code no_code,
                 struct gw_error *err)
{
    enum gw_error_code code;

    net_io_disarm(&ib->io);
    if (r == MAILIMAP_NO_ERROR || r == MAILIMAP_NO_ERROR_AUTHENTICATED ||
        r == MAILIMAP_NO_ERROR_NON_AUTHENTICATED)
        return 0;
    if (ib->io.fail_code != GW_OK) {
        ib->base.broken = true;
        return gw_error_set(err, ib->io.fail_code, "%s: %s", what, ib->io.fail_msg);
    }
    switch (r) {
    case MAILIMAP_ERROR_STREAM:
    case MAILIMAP_ERROR_CONNECTION_REFUSED:
        ib->base.broken = true;
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "%s: connection lost", what);
    case MAILIMAP_ERROR_FATAL:
    case MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION:
        ib->base.broken = true;
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "%s: server closed the session: %s", what,
                            server_text(ib->imap));
    case MAILIMAP_ERROR_PARSE:
    case MAILIMAP_ERROR_NEEDS_MORE_DATA:
        ib->base.broken = true;
        return gw_error_set(err, GW_ERR_PROTOCOL, "%s: cannot parse the server's response", what);
    case MAILIMAP_ERROR_MEMORY:
        ib->base.broken = true;     /* the parser stopped at an unknown point */
        return gw_error_set(err, GW_ERR_NOMEM, "%s: out of memory", what);
    case MAILIMAP_ERROR_SSL:
        ib->base.broken = true;
        return gw_error_set(err, GW_ERR_TLS, "%s: TLS failure", what);
    case MAILIMAP_ERROR_BAD_STATE:
    case MAILIMAP_ERROR_INVAL:
        return gw_error_set(err, GW_ERR_INTERNAL, "%s: not allowed in this session state", what);
    case MAILIMAP_ERROR_PROTOCOL:
        /* A tagged BAD, or a reply with the wrong tag: we cannot tell them
         * apart, and after the latter the stream is out of step. */
        ib->base.broken = true;
        code = last_resp_code(ib->imap);
        return gw_error_set(err, code != GW_OK ? code : GW_ERR_PROTOCOL, "%s rejected: %s", what,
                            server_text(ib->imap));
    default:
        code = last_resp_code(ib->imap);
        if (code == GW_OK)
            code = no_code;
        if (code == GW_ERR_AUTH)
            return gw_error_set(err, code, "authentication failed");
        return gw_error_set(err, code, "%s failed: %s", what, server_text(ib->imap));
    }
}
