/* request.c - parsing and validating the Request object (see
 * include/jmap_request.h). */
#include "jmap_request.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_hash.h"

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

/* Parsed bodies: clients repeat the same request (a list view refreshed),
 * and parsing was the largest cost of a cached page after the store. A
 * parsed tree is shared and read only: dispatch copies the arguments it
 * hands a method (jmap_json_copy_containers) and shares only strings.
 * Small bodies only, in a few direct-mapped slots. */
#define PARSED_SLOTS 32
#define PARSED_MAX_BODY 8192

static struct {
    pthread_mutex_t lock;
    struct parsed {
        uint64_t hash;
        char *body;
        size_t len;
        json_t *root;
    } slots[PARSED_SLOTS];
} parsed = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The tree parsed from the same bytes before (new reference), or NULL. */
static json_t *parsed_get(const char *body, size_t len, uint64_t hash)
{
    struct parsed *p = &parsed.slots[hash % PARSED_SLOTS];
    json_t *root = NULL;
    pthread_mutex_lock(&parsed.lock);
    if (p->root != NULL && p->hash == hash && p->len == len && memcmp(p->body, body, len) == 0)
        root = json_incref(p->root);
    pthread_mutex_unlock(&parsed.lock);
    return root;
}

static void parsed_put(const char *body, size_t len, uint64_t hash, json_t *root)
{
    struct parsed fresh = { .hash = hash, .len = len, .body = malloc(len + 1) };
    if (fresh.body == NULL)
        return;
    memcpy(fresh.body, body, len);
    fresh.root = json_incref(root);
    struct parsed *p = &parsed.slots[hash % PARSED_SLOTS];
    pthread_mutex_lock(&parsed.lock);
    struct parsed old = *p;
    *p = fresh;
    pthread_mutex_unlock(&parsed.lock);
    json_decref(old.root);
    free(old.body);
}

void jmap_request_cache_clear(void)
{
    for (size_t i = 0; i < PARSED_SLOTS; i++) {
        pthread_mutex_lock(&parsed.lock);
        struct parsed old = parsed.slots[i];
        memset(&parsed.slots[i], 0, sizeof(parsed.slots[i]));
        pthread_mutex_unlock(&parsed.lock);
        json_decref(old.root);
        free(old.body);
    }
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
    if (body == NULL)
        body = "";
    bool keep = len <= PARSED_MAX_BODY;
    uint64_t hash = keep ? gw_hash_bytes(GW_HASH_INIT, body, len) : 0;
    if (keep)
        req->root = parsed_get(body, len, hash);
    if (req->root == NULL) {
        req->root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        if (req->root == NULL)
            return problem_set(problem, URN_NOT_JSON, NULL, "The request is not valid I-JSON: "
                               "%s (at byte %d).", jerr.text, jerr.position);
        if (keep)
            parsed_put(body, len, hash, req->root);
    }
    /* The checks run every time: they are cheap, and the limits are the
     * caller's. */
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
