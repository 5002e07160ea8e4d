/* cors.c - Cross-Origin Resource Sharing for browser JMAP clients.
 *
 * With the default allow-list "*" any origin may call, but without
 * credentials mode (Access-Control-Allow-Origin: *): a page must send the
 * Authorization header itself, so a browser's cached Basic login cannot be
 * ridden by a foreign page. Named origins are echoed back with
 * Access-Control-Allow-Credentials. */
#include <string.h>

#include "http_gateway.h"

#define CORS_ALLOW_METHODS "GET, HEAD, POST, OPTIONS"
#define CORS_ALLOW_HEADERS "Authorization, Content-Type, Accept, Last-Event-ID"
#define CORS_EXPOSE_HEADERS "WWW-Authenticate, Retry-After, Location"
#define CORS_MAX_AGE "600"

/* NULL: not allowed; "*": any; else the origin itself. */
static const char *allowed_origin(const struct gw_config *cfg, const char *origin)
{
    if (origin == NULL || cfg->cors_origins == NULL)
        return NULL;
    for (char **o = cfg->cors_origins; *o != NULL; o++) {
        if (strcmp(*o, "*") == 0)
            return "*";
        if (strcmp(*o, origin) == 0)
            return origin;
    }
    return NULL;
}

static void add_origin_headers(struct http_reply *reply, const char *allowed)
{
    http_reply_add_header(reply, "Access-Control-Allow-Origin", allowed);
    if (strcmp(allowed, "*") != 0) {
        http_reply_add_header(reply, "Access-Control-Allow-Credentials", "true");
        http_reply_add_header(reply, "Vary", "Origin");
    }
}

void cors_apply(const struct gw_config *cfg, const struct http_request *req,
                struct http_reply *reply)
{
    const char *allowed = allowed_origin(cfg, req->headers.origin);
    if (allowed == NULL)
        return;
    add_origin_headers(reply, allowed);
    http_reply_add_header(reply, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
}

void cors_preflight(const struct gw_config *cfg, const struct http_request *req,
                    struct http_reply *reply)
{
    reply->status = 204;
    const char *allowed = allowed_origin(cfg, req->headers.origin);
    if (allowed == NULL || req->headers.acr_method == NULL)
        return;   /* not a preflight we accept: the browser will refuse the call */
    add_origin_headers(reply, allowed);
    http_reply_add_header(reply, "Access-Control-Allow-Methods", CORS_ALLOW_METHODS);
    http_reply_add_header(reply, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
    http_reply_add_header(reply, "Access-Control-Max-Age", CORS_MAX_AGE);
}
