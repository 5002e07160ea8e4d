/* errors.c - method errors, problem details, and the one table from
 * gateway errors to JMAP error types. */
#include <string.h>

#include "jmap_method.h"

json_t *jmap_problem_new(const char *type, int status, const char *detail, const char *limit)
{
    json_t *p = json_pack("{s:s, s:i}", "type", type, "status", status);
    if (p == NULL)
        return NULL;
    if (detail != NULL)
        json_object_set_new(p, "detail", json_string(detail));
    if (limit != NULL)
        json_object_set_new(p, "limit", json_string(limit));
    return p;
}

json_t *jmap_error_new(const char *type, const char *description)
{
    json_t *e = json_pack("{s:s}", "type", type);
    if (e != NULL && description != NULL)
        json_object_set_new(e, "description", json_string(description));
    return e;
}

json_t *jmap_error_invalid_arguments(const char *argument, const char *description)
{
    json_t *e = jmap_error_new("invalidArguments", description);
    if (e != NULL && argument != NULL)
        json_object_set_new(e, "arguments", json_pack("[s]", argument));
    return e;
}

static const struct {
    const char *method_error;   /* RFC 8620 §3.6.2 */
    const char *set_error;      /* RFC 8620 §5.3 / RFC 8621 */
    bool show_message;          /* the gw_error text is safe and useful to show */
} gw_error_map[GW_ERR__COUNT] = {
    [GW_OK] = { "serverFail", "serverFail", false },
    [GW_ERR_INTERNAL] = { "serverFail", "serverFail", false },
    [GW_ERR_NOMEM] = { "serverFail", "serverFail", false },
    [GW_ERR_INVALID] = { "invalidArguments", "invalidProperties", true },
    [GW_ERR_AUTH] = { "forbidden", "forbidden", false },
    [GW_ERR_UNAVAILABLE] = { "serverUnavailable", "serverFail", false },
    [GW_ERR_TLS] = { "serverUnavailable", "serverFail", false },
    [GW_ERR_PROTOCOL] = { "serverFail", "serverFail", false },
    [GW_ERR_NOTFOUND] = { "invalidArguments", "notFound", true },
    [GW_ERR_EXISTS] = { "invalidArguments", "alreadyExists", true },
    [GW_ERR_FORBIDDEN] = { "forbidden", "forbidden", true },
    [GW_ERR_OVERQUOTA] = { "serverPartialFail", "overQuota", true },
    [GW_ERR_LIMIT] = { "requestTooLarge", "rateLimit", true },
    [GW_ERR_TOO_LARGE] = { "requestTooLarge", "tooLarge", true },
    [GW_ERR_BACKEND_NO] = { "serverFail", "serverFail", true },
};

json_t *jmap_error_from_gw(const struct gw_error *err)
{
    enum gw_error_code code = err != NULL ? err->code : GW_ERR_INTERNAL;
    if ((unsigned)code >= GW_ERR__COUNT)
        code = GW_ERR_INTERNAL;
    const char *description = "The server could not complete the request.";
    if (code == GW_ERR_UNAVAILABLE || code == GW_ERR_TLS)
        description = "The mail server is unavailable; try again later.";
    else if (gw_error_map[code].show_message && err->msg[0] != '\0')
        description = err->msg;
    return jmap_error_new(gw_error_map[code].method_error, description);
}

const char *jmap_set_error_type_from_gw(enum gw_error_code code)
{
    if ((unsigned)code >= GW_ERR__COUNT)
        return "serverFail";
    return gw_error_map[code].set_error;
}

bool jmap_id_is_valid(const char *id)
{
    size_t len = id != NULL ? strlen(id) : 0;
    if (len == 0 || len > 255)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}
