/* jmap_request.h - the Request object (RFC 8620 §3.3), validated. */
#ifndef JMAP_REQUEST_H
#define JMAP_REQUEST_H

#include <jansson.h>
#include <stdbool.h>

#include "jmap_api.h"

struct jmap_request {
    json_t *root;           /* the parsed body; owns everything below */
    json_t *using;          /* borrowed from root: array of strings */
    json_t *method_calls;   /* borrowed from root: array of [name, args, callId] */
    json_t *created_ids;    /* borrowed from root, or NULL if not given */
};

/* A request-level failure: HTTP status, problem type and detail. */
struct jmap_request_problem {
    int status;
    const char *type;       /* full URN */
    const char *limit;      /* for error:limit, else NULL */
    char detail[256];
};

/* Parses and validates body. Returns 0 with req filled (free with
 * jmap_request_clear()), or -1 with problem filled. I-JSON is enforced:
 * invalid UTF-8, NUL in strings, duplicate member names and trailing
 * bytes are all notJSON. */
int jmap_request_parse(const char *body, size_t len, const struct jmap_core_limits *limits,
                       struct jmap_request *req, struct jmap_request_problem *problem);

/* True when `using` names cap (core counts as always named). */
bool jmap_request_uses(const struct jmap_request *req, const char *cap);

void jmap_request_clear(struct jmap_request *req);

#endif
