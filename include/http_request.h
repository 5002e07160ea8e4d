/* http_request.h - one HTTP request as the gateway's handlers see it, and
 * the reply they fill. No libmicrohttpd types here: http_server.c copies
 * what handlers need out of MHD and turns the reply back into an MHD
 * response, so handlers can run on worker threads and in unit tests. */
#ifndef HTTP_REQUEST_H
#define HTTP_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "gw_error.h"

enum http_method {
    HTTP_OTHER = 0, HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_DELETE, HTTP_OPTIONS,
};

/* Request headers the gateway uses; NULL when absent. Owned by the request. */
struct http_request_headers {
    char *authorization;
    char *content_type;
    char *content_length;
    char *origin;
    char *acr_method;       /* Access-Control-Request-Method */
    char *acr_headers;      /* Access-Control-Request-Headers */
    char *range;            /* Range */
};

struct http_request {
    enum http_method method;
    char *method_name;      /* as sent, for 405 messages */
    char *path;             /* without the query string, percent-decoded */
    char *query_type;       /* the "type" query parameter (downloadUrl), or NULL */
    struct http_request_headers headers;
    char *body;             /* NUL-terminated copy of the body (may contain NULs) */
    size_t body_len;
    /* The upload route's body: spooled to a file of the upload store
     * instead of body (include/upload_store.h); NULL otherwise. */
    struct upload_spool *upload;
};

#define HTTP_REPLY_MAX_HEADERS 12

struct http_reply {
    int status;
    char *body;             /* owned; NULL for an empty body */
    size_t body_len;
    const char *content_type;   /* static string */
    unsigned header_count;
    struct {
        const char *name;   /* static string */
        char *value;        /* owned */
    } headers[HTTP_REPLY_MAX_HEADERS];
};

/* Frees what req owns (not req itself) and zeroes it. */
void http_request_clear(struct http_request *req);

/* Frees what reply owns and zeroes it. */
void http_reply_clear(struct http_reply *reply);

/* Adds a header (value copied). Returns 0, or -1 if full or out of memory. */
int http_reply_add_header(struct http_reply *reply, const char *name, const char *value);

/* Sets status and a JSON body (serialised compactly); steals json.
 * content_type is "application/json" or "application/problem+json". */
int http_reply_set_json(struct http_reply *reply, int status, json_t *json,
                        const char *content_type);

/* An RFC 7807 problem reply: {"type","status","detail"} (+ "limit"). */
int http_reply_problem(struct http_reply *reply, int status, const char *type,
                       const char *detail, const char *limit);

/* Problem reply for a backend failure: 401 for GW_ERR_AUTH (with
 * WWW-Authenticate), 503 + Retry-After for GW_ERR_UNAVAILABLE, 502 for a
 * TLS or protocol failure, 500 otherwise. Never leaks internal detail. */
int http_reply_backend_error(struct http_reply *reply, const struct gw_error *err);

/* 401 with WWW-Authenticate: Basic realm="jmap-gateway", charset="UTF-8". */
int http_reply_unauthorized(struct http_reply *reply, const char *detail);

/* Maps a method name ("GET") to the enum. */
enum http_method http_method_parse(const char *name);

#endif
