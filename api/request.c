/* request.c - parsing and validating the Request object (see
 * include/jmap_request.h). */
#include "jmap_request.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define URN_NOT_JSON "urn:ietf:params:jmap:error:notJSON"
#define URN_NOT_REQUEST "urn:ietf:params:jmap:error:notRequest"
#define URN_UNKNOWN_CAPABILITY "urn:ietf:params:jmap:error:unknownCapability"
#define URN_LIMIT "urn:ietf:params:jmap:error:limit"

__attribute__((format(printf, 4, 5)))
static int problem_set(struct jmap_request_problem *p, const char *type, const char *limit,
                       const char *fmt, ...)
{
    va_list ap;
    p->status = 400;
    p->type = type;
    p->limit = limit;
    va_start(ap, fmt);
    if (vsnprintf(p->detail, sizeof(p->detail), fmt, ap) < 0)
        p->detail[0] = '\0';
    va_end(ap);
    return -1;
}

static int check_invocation(json_t *call, size_t index, struct jmap_request_problem *problem)
{
    if (!json_is_array(call) || json_array_size(call) != 3)
        return problem_set(problem, URN_NOT_REQUEST, NULL,
                           "methodCalls[%zu] is not an array of 3 elements", index);
    if (!json_is_string(json_array_get(call, 0)))
        return problem_set(problem, URN_NOT_REQUEST, NULL,
                           "methodCalls[%zu][0] (the method name) is not a string", index);
    if (!json_is_object(json_array_get(call, 1)))
        return problem_set(problem, URN_NOT_REQUEST, NULL,
                           "methodCalls[%zu][1] (the arguments) is not an object", index);
    if (!json_is_string(json_array_get(call, 2)))
        return problem_set(problem, URN_NOT_REQUEST, NULL,
                           "methodCalls[%zu][2] (the method call id) is not a string", index);
    return 0;
}

static int check_shape(struct jmap_request *req, struct jmap_request_problem *problem)
{
    json_t *root = req->root;
    if (!json_is_object(root))
        return problem_set(problem, URN_NOT_REQUEST, NULL, "the request is not a JSON object");
    req->using = json_object_get(root, "using");
    req->method_calls = json_object_get(root, "methodCalls");
    req->created_ids = json_object_get(root, "createdIds");
    if (!json_is_array(req->using))
        return problem_set(problem, URN_NOT_REQUEST, NULL, "\"using\" is missing or not an array");
    size_t i;
    json_t *v;
    json_array_foreach(req->using, i, v) {
        if (!json_is_string(v))
            return problem_set(problem, URN_NOT_REQUEST, NULL, "using[%zu] is not a string", i);
    }
    if (!json_is_array(req->method_calls))
        return problem_set(problem, URN_NOT_REQUEST, NULL,
                           "\"methodCalls\" is missing or not an array");
    json_array_foreach(req->method_calls, i, v) {
        if (check_invocation(v, i, problem) != 0)
            return -1;
    }
    if (req->created_ids != NULL) {
        const char *key;
        if (!json_is_object(req->created_ids))
            return problem_set(problem, URN_NOT_REQUEST, NULL, "\"createdIds\" is not an object");
        json_object_foreach(req->created_ids, key, v) {
            if (!json_is_string(v))
                return problem_set(problem, URN_NOT_REQUEST, NULL,
                                   "createdIds[\"%.100s\"] is not a string", key);
        }
    }
    return 0;
}

int jmap_request_parse(const char *body, size_t len, const struct jmap_core_limits *limits,
                       struct jmap_request *req, struct jmap_request_problem *problem)
{
    memset(req, 0, sizeof(*req));
    if (len > limits->max_size_request) {
        problem_set(problem, URN_LIMIT, "maxSizeRequest",
                    "The request is larger than maxSizeRequest (%llu bytes).",
                    (unsigned long long)limits->max_size_request);
        problem->status = 413;
        return -1;
    }
    json_error_t jerr;
    req->root = json_loadb(body != NULL ? body : "", len,
                           JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (req->root == NULL)
        return problem_set(problem, URN_NOT_JSON, NULL, "The request is not valid I-JSON: %s "
                           "(at byte %d).", jerr.text, jerr.position);
    if (check_shape(req, problem) != 0)
        goto fail;

    size_t i;
    json_t *v;
    json_array_foreach(req->using, i, v) {
        if (!jmap_capability_is_known(json_string_value(v))) {
            problem_set(problem, URN_UNKNOWN_CAPABILITY, NULL,
                        "The request used capability \"%.150s\", which this server does not "
                        "support.", json_string_value(v));
            goto fail;
        }
    }
    if (json_array_size(req->method_calls) > limits->max_calls_in_request) {
        problem_set(problem, URN_LIMIT, "maxCallsInRequest",
                    "The request has %zu method calls; maxCallsInRequest is %llu.",
                    json_array_size(req->method_calls),
                    (unsigned long long)limits->max_calls_in_request);
        goto fail;
    }
    return 0;
fail:
    jmap_request_clear(req);
    return -1;
}

bool jmap_request_uses(const struct jmap_request *req, const char *cap)
{
    /* Some clients omit core; every request implicitly uses it. */
    if (strcmp(cap, JMAP_CAPABILITY_CORE) == 0)
        return true;
    size_t i;
    json_t *v;
    json_array_foreach(req->using, i, v) {
        if (strcmp(json_string_value(v), cap) == 0)
            return true;
    }
    return false;
}

void jmap_request_clear(struct jmap_request *req)
{
    json_decref(req->root);
    memset(req, 0, sizeof(*req));
}
