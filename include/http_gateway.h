/* http_gateway.h - the gateway's HTTP resources, independent of the HTTP
 * library: routing, pre-checks that need no I/O, and the handlers that run
 * on worker threads (authentication, session resource, API). */
#ifndef HTTP_GATEWAY_H
#define HTTP_GATEWAY_H

#include <stdbool.h>

#include "account.h"
#include "gw_config.h"
#include "http_request.h"
#include "jmap_api.h"

/* Process-wide state the handlers share; all borrowed. */
struct http_gateway {
    const struct gw_config *cfg;
    struct account_registry *accounts;
    struct jmap_core_limits limits;
    struct upload_store *uploads;   /* the uploadUrl's store; NULL: no uploads */
};

struct http_route;

/* Fills gw->limits from cfg. */
void http_gateway_init(struct http_gateway *gw, const struct gw_config *cfg,
                       struct account_registry *accounts);

/* The route for a path, or NULL (404). */
const struct http_route *http_route_match(const char *path);

/* Checks that need no backend I/O, run on the HTTP event loop once the
 * request headers are in: CORS preflight, method not allowed, content type,
 * declared body size. Returns true if reply now holds the answer. */
bool http_route_precheck(const struct http_gateway *gw, const struct http_route *route,
                         const struct http_request *req, struct http_reply *reply);

/* Whether the route reads a request body (POST). */
bool http_route_wants_body(const struct http_route *route);

/* Whether the route's body goes to the upload store (req->upload) as it
 * arrives, bounded by maxSizeUpload, rather than into memory. */
bool http_route_spools_body(const struct http_route *route);

/* Runs the route on a worker thread: authenticates and answers. Always
 * fills reply. */
void http_route_run(const struct http_gateway *gw, const struct http_route *route,
                    const struct http_request *req, struct http_reply *reply);

/* The downloadUrl (download.c), run on a worker for an authenticated
 * account. */
void download_handle(const struct http_gateway *gw, struct account *account,
                     const struct http_request *req, struct http_reply *reply);

/* The uploadUrl (upload.c): keeps req->upload as a blob of the account
 * and answers {accountId, blobId, type, size}. */
void upload_handle(const struct http_gateway *gw, struct account *account,
                   const struct http_request *req, struct http_reply *reply);

/* Answers 404 with a problem JSON for an unknown path. */
void http_reply_not_found(struct http_reply *reply, const char *path);

/* CORS (cors.c): adds Access-Control-* headers to any reply for an allowed
 * Origin; answers a preflight. */
void cors_apply(const struct gw_config *cfg, const struct http_request *req,
                struct http_reply *reply);
void cors_preflight(const struct gw_config *cfg, const struct http_request *req,
                    struct http_reply *reply);

/* Basic auth (http_auth.c): parses "Basic base64(user:password)". On
 * success *user and *password are new strings; wipe and free the password
 * with http_auth_free_password(). Returns 0, or -1 if malformed. */
int http_auth_parse_basic(const char *header, char **user, char **password);
/* The same for "Basic X" or "Bearer X", X being base64(user:password) in
 * both: what the routes accept. */
int http_auth_parse(const char *header, char **user, char **password);
void http_auth_free_password(char **password);

/* Session resource (session.c): the RFC 8620 §2 Session object for the
 * account (new reference). If state_out is non-NULL the session's state
 * string is copied there (at least SESSION_STATE_LEN + 1 bytes). */
#define SESSION_STATE_LEN 16
json_t *session_build(const struct http_gateway *gw, const struct account *account,
                      char *state_out);
/* Just the session's state (what every API response carries), into state_out
 * (SESSION_STATE_LEN + 1 bytes): the same string session_build gives, but
 * remembered per thread and rebuilt only when the account, the gateway or
 * the account capabilities differ from last time. Returns 0 or -1. */
int session_state(const struct http_gateway *gw, const struct account *account,
                  char *state_out);

#endif
