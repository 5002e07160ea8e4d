/* gw_error.c - see include/gw_error.h */
#include "gw_error.h"

#include <stdio.h>

static const char *const error_names[GW_ERR__COUNT] = {
    [GW_OK] = "ok",
    [GW_ERR_INTERNAL] = "internal",
    [GW_ERR_NOMEM] = "nomem",
    [GW_ERR_INVALID] = "invalid",
    [GW_ERR_AUTH] = "auth",
    [GW_ERR_UNAVAILABLE] = "unavailable",
    [GW_ERR_TLS] = "tls",
    [GW_ERR_PROTOCOL] = "protocol",
    [GW_ERR_NOTFOUND] = "notfound",
    [GW_ERR_EXISTS] = "exists",
    [GW_ERR_FORBIDDEN] = "forbidden",
    [GW_ERR_OVERQUOTA] = "overquota",
    [GW_ERR_LIMIT] = "limit",
    [GW_ERR_TOO_LARGE] = "toolarge",
    [GW_ERR_BACKEND_NO] = "backend-no",
};

int gw_error_setv(struct gw_error *err, enum gw_error_code code, const char *fmt, va_list ap)
{
    if (err == NULL)
        return -1;
    err->code = code;
    /* Truncation of a diagnostic is acceptable; the buffer is always terminated. */
    if (vsnprintf(err->msg, sizeof(err->msg), fmt, ap) < 0)
        err->msg[0] = '\0';
    return -1;
}

int gw_error_set(struct gw_error *err, enum gw_error_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gw_error_setv(err, code, fmt, ap);
    va_end(ap);
    return -1;
}

void gw_error_clear(struct gw_error *err)
{
    if (err == NULL)
        return;
    err->code = GW_OK;
    err->msg[0] = '\0';
}

const char *gw_error_code_name(enum gw_error_code code)
{
    if ((unsigned)code >= GW_ERR__COUNT || error_names[code] == NULL)
        return "unknown";
    return error_names[code];
}

bool gw_error_is_client_safe(enum gw_error_code code)
{
    return code != GW_ERR_INTERNAL && code != GW_ERR_NOMEM;
}
