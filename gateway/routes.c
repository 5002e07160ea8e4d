/* routes.c - the gateway's HTTP resources: which paths exist, what is
 * checked on the event loop, and what runs on a worker (see
 * include/http_gateway.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_log.h"
#include "http_gateway.h"

#define METHOD_BIT(m) (1u << (m))

typedef void (*route_handler)(const struct http_gateway *gw, struct account *account,
                              const struct http_request *req, struct http_reply *reply);

struct http_route {
    const char *path;
    bool prefix;            /* path matches as a prefix (".../") */
    unsigned methods;       /* METHOD_BIT()s allowed besides OPTIONS */
    const char *allow;      /* Allow header for 405 */
    route_handler handler;
};

static void handle_session(const struct http_gateway *gw, struct account *account,
                           const struct http_request *req, struct http_reply *reply)
{
    json_t *session = session_build(gw, account, NULL);
    if (session == NULL) {
        http_reply_problem(reply, 500, "about:blank", "Internal server error.", NULL);
        return;
    }
    http_reply_set_json(reply, 200, session, "application/json");
    /* RFC 8620 §2: clients refetch on a sessionState change, not by HTTP caching. */
    http_reply_add_header(reply, "Cache-Control", "no-cache, no-store, must-revalidate");
}

static void handle_api(const struct http_gateway *gw, struct account *account,
                       const struct http_request *req, struct http_reply *reply)
{
    char state[SESSION_STATE_LEN + 1];
    if (session_state(gw, account, state) != 0) {
        http_reply_problem(reply, 500, "about:blank", "Internal server error.", NULL);
        return;
    }
    if (!account_request_begin(account, gw->limits.max_concurrent_requests)) {
        http_reply_problem(reply, 429, "urn:ietf:params:jmap:error:limit",
                           "Too many concurrent requests for this account.",
                           "maxConcurrentRequests");
        return;
    }
    struct jmap_request_ctx ctx = {
        .limits = &gw->limits,
        .session_state = state,
        .account_id = account_id(account),
        .account = account,
    };
    struct jmap_http_result result = { 0 };
    jmap_api_handle(&ctx, req->body, req->body_len, &result);
    account_request_end(account);
    http_reply_set_json(reply, result.status, result.body,
                        result.status == 200 ? "application/json" : "application/problem+json");
    http_reply_add_header(reply, "Cache-Control", "no-store");
}

/* Resources whose issues have not landed yet: a clear answer, not a hang. */
static void handle_not_yet(const struct http_gateway *gw, struct account *account,
                           const struct http_request *req, struct http_reply *reply)
{
    http_reply_problem(reply, 404, "about:blank",
                       "Push (EventSource) is not available in this version of the gateway.",
                       NULL);
}

static const struct http_route routes[] = {
    { "/.well-known/jmap", false, METHOD_BIT(HTTP_GET) | METHOD_BIT(HTTP_HEAD),
      "GET, HEAD, OPTIONS", handle_session },
    { "/jmap/session", false, METHOD_BIT(HTTP_GET) | METHOD_BIT(HTTP_HEAD), "GET, HEAD, OPTIONS",
      handle_session },
    { "/jmap/api", false, METHOD_BIT(HTTP_POST), "POST, OPTIONS", handle_api },
    { "/jmap/api/", false, METHOD_BIT(HTTP_POST), "POST, OPTIONS", handle_api },
    { "/jmap/upload/", true, METHOD_BIT(HTTP_POST), "POST, OPTIONS", upload_handle },
    { "/jmap/download/", true, METHOD_BIT(HTTP_GET) | METHOD_BIT(HTTP_HEAD), "GET, HEAD, OPTIONS",
      download_handle },
    { "/jmap/eventsource/", true, METHOD_BIT(HTTP_GET), "GET, OPTIONS", handle_not_yet },
    { "/jmap/eventsource", false, METHOD_BIT(HTTP_GET), "GET, OPTIONS", handle_not_yet },
};

void http_gateway_init(struct http_gateway *gw, const struct gw_config *cfg,
                       struct account_registry *accounts)
{
    gw->cfg = cfg;
    gw->accounts = accounts;
    gw->limits = cfg->limits;
    gw->uploads = NULL;
}

const struct http_route *http_route_match(const char *path)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct http_route *r = &routes[i];
        size_t len = strlen(r->path);
        if (r->prefix ? strncmp(path, r->path, len) == 0 : strcmp(path, r->path) == 0)
            return r;
    }
    return NULL;
}

bool http_route_wants_body(const struct http_route *route)
{
    return (route->methods & METHOD_BIT(HTTP_POST)) != 0;
}

bool http_route_spools_body(const struct http_route *route)
{
    return route->handler == upload_handle;
}

void http_reply_not_found(struct http_reply *reply, const char *path)
{
    http_reply_problem(reply, 404, "about:blank", "No such resource on this server.", NULL);
}

/* "application/json" with optional parameters ("; charset=utf-8"). */
static bool content_type_is_json(const char *type)
{
    static const char json_type[] = "application/json";
    if (type == NULL || strncasecmp(type, json_type, sizeof(json_type) - 1) != 0)
        return false;
    char next = type[sizeof(json_type) - 1];
    return next == '\0' || next == ';' || next == ' ';
}

bool http_route_precheck(const struct http_gateway *gw, const struct http_route *route,
                         const struct http_request *req, struct http_reply *reply)
{
    if (req->method == HTTP_OPTIONS) {
        cors_preflight(gw->cfg, req, reply);
        http_reply_add_header(reply, "Allow", route->allow);
        return true;
    }
    if (req->method == HTTP_OTHER || (route->methods & METHOD_BIT(req->method)) == 0) {
        char detail[160];
        snprintf(detail, sizeof(detail), "Method %.40s is not allowed here; use %s.",
                 req->method_name ? req->method_name : "?", route->allow);
        http_reply_problem(reply, 405, "about:blank", detail, NULL);
        http_reply_add_header(reply, "Allow", route->allow);
        return true;
    }
    if (route->handler == upload_handle) {
        if (gw->uploads == NULL) {
            http_reply_problem(reply, 404, "about:blank",
                               "Blob upload is not available on this gateway.", NULL);
            return true;
        }
        uintmax_t len = 0;
        char *end = NULL;
        if (req->headers.content_length != NULL)
            len = strtoumax(req->headers.content_length, &end, 10);
        if (len > gw->limits.max_size_upload) {
            http_reply_problem(reply, 413, "urn:ietf:params:jmap:error:limit",
                               "The upload is larger than maxSizeUpload.", "maxSizeUpload");
            return true;
        }
        return false;
    }
    if (route->handler != handle_api)
        return false;
    if (req->headers.content_length != NULL) {
        char *end = NULL;
        uintmax_t len = strtoumax(req->headers.content_length, &end, 10);
        if (end == req->headers.content_length || *end != '\0' ||
            len > gw->limits.max_size_request) {
            http_reply_problem(reply, 413, "urn:ietf:params:jmap:error:limit",
                               "The request is larger than maxSizeRequest.", "maxSizeRequest");
            return true;
        }
    }
    if (!content_type_is_json(req->headers.content_type)) {
        http_reply_problem(reply, 400, "urn:ietf:params:jmap:error:notJSON",
                           "The request's Content-Type must be application/json.", NULL);
        return true;
    }
    return false;
}

void http_route_run(const struct http_gateway *gw, const struct http_route *route,
                    const struct http_request *req, struct http_reply *reply)
{
    char *user = NULL;
    char *password = NULL;
    struct account *account = NULL;
    struct gw_error err = { 0 };

    if (req->headers.authorization == NULL) {
        http_reply_unauthorized(reply, "Authentication is required.");
        goto out;
    }
    if (http_auth_parse(req->headers.authorization, &user, &password) != 0) {
        http_reply_unauthorized(reply, "The Authorization header is not valid Basic (or Bearer)"
                                       " credentials.");
        goto out;
    }
    if (account_registry_authenticate(gw->accounts, user, password, &account, &err) != 0) {
        http_reply_backend_error(reply, &err);
        goto out;
    }
    route->handler(gw, account, req, reply);
out:
    account_unref(&account);
    free(user);
    http_auth_free_password(&password);
}
