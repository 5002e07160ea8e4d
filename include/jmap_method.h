/* jmap_method.h - the contract between the dispatcher (api/dispatch.c) and
 * the method modules (api/core_echo.c, later the api/mail/ modules).
 *
 * A module exports a table of struct jmap_method (declared in
 * include/jmap_methods_all.h); api/methods.c lists every table once, sorts
 * the union by name at first use and binary-searches it per call.
 */
#ifndef JMAP_METHOD_H
#define JMAP_METHOD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "gw_error.h"
#include "jmap_api.h"

/* The method takes an "accountId" argument the dispatcher validates. */
#define JMAP_METHOD_NEEDS_ACCOUNT 0x1u

/* What the calls of one API request share (owned by the dispatcher). */
struct jmap_request_run {
    bool mail_synced;           /* the mail cache was synced for this request */
    /* [name, args] pairs a method adds to follow its own response with the
     * same call id (RFC 8621 §7.5's implicit Email/set); NULL until used. */
    json_t *implicit;
};

/* One method call being run. All members are borrowed. */
struct jmap_invocation {
    const struct jmap_request_ctx *ctx;
    const char *name;           /* "Core/echo" */
    const char *call_id;
    json_t *created_ids;        /* the request's creation id -> id map; handlers add to it */
    struct jmap_request_run *run;
};

/* A handler returns the response arguments (new reference) and leaves
 * *error NULL, or returns NULL and sets *error to a method error object
 * (new reference, from the jmap_error_* helpers). args is borrowed and has
 * its result references already resolved. */
typedef json_t *(*jmap_method_fn)(struct jmap_invocation *inv, json_t *args, json_t **error);

struct jmap_method {
    const char *name;
    const char *capability;     /* the capability `using` must name (core is implicit) */
    unsigned flags;
    jmap_method_fn handler;
};

/* Finds a method by exact name, or NULL. */
const struct jmap_method *jmap_method_find(const char *name);

typedef const struct jmap_method *(*jmap_method_lookup_fn)(const char *name);

/* jmap_api_handle() with the method table given by lookup (unit tests give
 * their own methods; the gateway uses jmap_method_find). */
int jmap_api_run(const struct jmap_request_ctx *ctx, const char *body, size_t len,
                 jmap_method_lookup_fn lookup, struct jmap_http_result *out);

/* Method errors (RFC 8620 §3.6.2): {"type": type, "description": ...}.
 * description may be NULL. New reference. */
json_t *jmap_error_new(const char *type, const char *description);

/* invalidArguments naming the offending argument in "arguments" too. */
json_t *jmap_error_invalid_arguments(const char *argument, const char *description);

/* The method error for a gateway error (one table: unavailable ->
 * serverUnavailable, forbidden -> forbidden, internal -> serverFail with a
 * generic description ...). */
json_t *jmap_error_from_gw(const struct gw_error *err);

/* The SetError type for a gateway error ("notFound", "overQuota",
 * "tooLarge", "forbidden", "alreadyExists", ...), never NULL. */
const char *jmap_set_error_type_from_gw(enum gw_error_code code);

/* RFC 8620 §1.2 Id: 1-255 octets of A-Za-z0-9-_. */
bool jmap_id_is_valid(const char *id);

#endif
