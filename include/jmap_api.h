/* jmap_api.h - the JMAP API layer (RFC 8620 §3): request envelope, method
 * table and dispatcher, result references, errors, capabilities.
 *
 * Knows nothing of HTTP: the gateway hands it a request body and gets back
 * an HTTP status and a JSON body (a Response object, or an RFC 7807 problem
 * details object for request-level errors).
 */
#ifndef JMAP_API_H
#define JMAP_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JMAP_CAPABILITY_CORE "urn:ietf:params:jmap:core"
#define JMAP_CAPABILITY_MAIL "urn:ietf:params:jmap:mail"

/* The urn:ietf:params:jmap:core limits, advertised in the session and enforced. */
struct jmap_core_limits {
    uint64_t max_size_upload;
    uint64_t max_concurrent_upload;
    uint64_t max_size_request;
    uint64_t max_concurrent_requests;
    uint64_t max_calls_in_request;
    uint64_t max_objects_in_get;
    uint64_t max_objects_in_set;
};

struct account;   /* include/account.h; opaque here */

/* Everything a request needs to know about who is asking. All borrowed. */
struct jmap_request_ctx {
    const struct jmap_core_limits *limits;
    const char *session_state;      /* goes into Response.sessionState */
    const char *account_id;         /* the authenticated user's only account */
    struct account *account;        /* its state (may be NULL in unit tests) */
};

/* Result of jmap_api_handle(). body is a new reference owned by the caller. */
struct jmap_http_result {
    int status;                     /* 200, or the problem's status */
    json_t *body;                   /* Response object, or problem details */
};

/* Parses and runs one API request (the POST body of the apiUrl).
 * Always fills out (never returns a NULL body): request-level errors
 * (notJSON, notRequest, unknownCapability, limit) become problem details
 * with status 400; method-level errors go in methodResponses.
 * Returns 0, or -1 only if memory ran out (out is then a 500 problem). */
int jmap_api_handle(const struct jmap_request_ctx *ctx, const char *body, size_t len,
                    struct jmap_http_result *out);

/* RFC 7807 problem details: {"type", "status", "detail"} plus
 * "limit" when limit is non-NULL. type is a full URI, e.g.
 * "urn:ietf:params:jmap:error:notJSON" or "about:blank". New reference. */
json_t *jmap_problem_new(const char *type, int status, const char *detail, const char *limit);

/* The session's "capabilities" object: every capability this server
 * supports, core with all eight limits. New reference. */
json_t *jmap_capabilities_server(const struct jmap_core_limits *limits);

/* An account's "accountCapabilities" object (core and mail). New reference. */
json_t *jmap_capabilities_account(void);

/* Changes whenever jmap_capabilities_account() may answer differently (the
 * submission server's extensions once probed); cheap, asks no server. */
unsigned jmap_capabilities_account_generation(void);

/* True if uri is a capability this server knows (so `using` may name it). */
bool jmap_capability_is_known(const char *uri);

#endif
