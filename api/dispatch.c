/* dispatch.c - running a Request: each call in order, result references
 * resolved, accountId checked, the handler called, its response appended
 * (RFC 8620 §3.3-3.7). */
#include <stdio.h>
#include <string.h>

#include "jmap_method.h"
#include "jmap_request.h"
#include "jmap_result_ref.h"

/* The capabilities the (single) account of a request supports. */
static bool account_supports(const char *capability)
{
    /* The single account has every capability the server knows (the
     * session lists them all in accountCapabilities). */
    return jmap_capability_is_known(capability);
}

static json_t *check_account(const struct jmap_request_ctx *ctx, const struct jmap_method *m,
                             json_t *args)
{
    json_t *account = json_object_get(args, "accountId");
    if (!json_is_string(account))
        return jmap_error_invalid_arguments("accountId", "accountId is missing or not a string.");
    if (ctx->account_id == NULL || strcmp(json_string_value(account), ctx->account_id) != 0)
        return jmap_error_new("accountNotFound", "No such account for these credentials.");
    if (!account_supports(m->capability))
        return jmap_error_new("accountNotSupportedByMethod", NULL);
    return NULL;
}

/* Runs one call; returns the response triple's name and args (new ref). */
static json_t *run_call(const struct jmap_request_ctx *ctx, const struct jmap_request *req,
                        jmap_method_lookup_fn lookup, json_t *call, json_t *responses,
                        json_t *created_ids, struct jmap_request_run *run,
                        const char **response_name)
{
    const char *name = json_string_value(json_array_get(call, 0));
    const char *call_id = json_string_value(json_array_get(call, 2));
    json_t *error = NULL;
    json_t *result = NULL;
    char desc[200];

    *response_name = "error";
    const struct jmap_method *m = lookup(name);
    if (m == NULL)
        return jmap_error_new("unknownMethod", NULL);
    if (!jmap_request_uses(req, m->capability)) {
        snprintf(desc, sizeof(desc), "%s needs \"%s\" in using.", m->name, m->capability);
        return jmap_error_new("unknownMethod", desc);
    }
    /* Resolve on a copy: the request's own arguments stay as sent. */
    json_t *args = jmap_json_copy_containers(json_array_get(call, 1));
    if (args == NULL)
        return jmap_error_new("serverFail", "out of memory");
    error = jmap_result_refs_resolve(args, responses);
    if (error == NULL && (m->flags & JMAP_METHOD_NEEDS_ACCOUNT))
        error = check_account(ctx, m, args);
    if (error == NULL) {
        struct jmap_invocation inv = {
            .ctx = ctx, .name = m->name, .call_id = call_id, .created_ids = created_ids,
            .run = run,
        };
        result = m->handler(&inv, args, &error);
        if (result == NULL && error == NULL)
            error = jmap_error_new("serverFail", NULL);
    }
    json_decref(args);
    if (error != NULL) {
        json_decref(result);
        return error;
    }
    *response_name = m->name;
    return result;
}

/* [name, args, callId]: args stolen, even on failure (NULL). Built by
 * hand: json_pack's format parsing cost more than the array. */
static json_t *response_new(const char *name, json_t *args, json_t *call_id)
{
    json_t *r = json_array();
    if (r == NULL) {
        json_decref(args);
        return NULL;
    }
    /* Each append runs: append_new takes its value even when it fails. */
    int rc = json_array_append_new(r, json_string(name));
    rc |= json_array_append_new(r, args);
    rc |= json_array_append(r, call_id);
    if (rc != 0) {
        json_decref(r);
        return NULL;
    }
    return r;
}

/* Appends the responses the call just run asked to follow it, and forgets
 * them. 0, or -1 on ENOMEM. */
static int append_implicit(struct jmap_request_run *run, json_t *responses, json_t *call_id)
{
    size_t i;
    json_t *pair;
    int ret = 0;

    json_array_foreach(run->implicit, i, pair) {
        json_t *triple = json_pack("[O,O,O]", json_array_get(pair, 0), json_array_get(pair, 1),
                                   call_id);
        if (triple == NULL || json_array_append_new(responses, triple) != 0)
            ret = -1;
    }
    json_decref(run->implicit);
    run->implicit = NULL;
    return ret;
}

static void result_from_problem(struct jmap_http_result *out,
                                const struct jmap_request_problem *p)
{
    out->status = p->status;
    out->body = jmap_problem_new(p->type, p->status, p->detail, p->limit);
}

static int out_of_memory(struct jmap_http_result *out)
{
    out->status = 500;
    out->body = jmap_problem_new("about:blank", 500, "out of memory", NULL);
    return -1;
}

int jmap_api_handle(const struct jmap_request_ctx *ctx, const char *body, size_t len,
                    struct jmap_http_result *out)
{
    return jmap_api_run(ctx, body, len, jmap_method_find, out);
}

int jmap_api_run(const struct jmap_request_ctx *ctx, const char *body, size_t len,
                 jmap_method_lookup_fn lookup, struct jmap_http_result *out)
{
    struct jmap_request req;
    struct jmap_request_problem problem;
    json_t *responses = NULL;
    json_t *created_ids = NULL;
    json_t *response = NULL;

    out->status = 0;
    out->body = NULL;
    if (jmap_request_parse(body, len, ctx->limits, &req, &problem) != 0) {
        /* jansson's parse errors and ours look alike when memory ran out;
         * a problem we could not even allocate is a 500. */
        result_from_problem(out, &problem);
        return out->body != NULL ? 0 : out_of_memory(out);
    }
    responses = json_array();
    created_ids = req.created_ids != NULL ? json_deep_copy(req.created_ids) : json_object();
    if (responses == NULL || created_ids == NULL)
        goto nomem;

    size_t i;
    json_t *call;
    struct jmap_request_run run = { 0 };
    json_array_foreach(req.method_calls, i, call) {
        const char *name;
        json_t *args = run_call(ctx, &req, lookup, call, responses, created_ids, &run, &name);
        json_t *triple = args != NULL ? response_new(name, args, json_array_get(call, 2)) : NULL;
        if (triple == NULL || json_array_append_new(responses, triple) != 0) {
            json_decref(run.implicit);
            goto nomem;
        }
        if (append_implicit(&run, responses, json_array_get(call, 2)) != 0)
            goto nomem;
    }
    response = json_pack("{s:o, s:s}", "methodResponses", responses, "sessionState",
                         ctx->session_state != NULL ? ctx->session_state : "");
    responses = NULL;   /* stolen, even on failure */
    if (response == NULL)
        goto nomem;
    if (req.created_ids != NULL) {
        if (json_object_set_new(response, "createdIds", created_ids) != 0) {
            created_ids = NULL;
            goto nomem;
        }
        created_ids = NULL;
    }
    json_decref(created_ids);
    jmap_request_clear(&req);
    out->status = 200;
    out->body = response;
    return 0;
nomem:
    json_decref(response);
    json_decref(responses);
    json_decref(created_ids);
    jmap_request_clear(&req);
    return out_of_memory(out);
}
