/* harness_assert.c - assertions on HTTP responses that show the response
 * and the gateway log when they fail. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void print_response(const struct harness_response *r)
{
    fprintf(stderr, "----- response: HTTP %d, %zu header(s), %zu body bytes, %lld ms -----\n",
            r->status, r->header_count, r->body_len, (long long)r->elapsed_ms);
    for (size_t i = 0; i < r->header_count; i++)
        fprintf(stderr, "%s: %s\n", r->headers[i].name, r->headers[i].value);
    if (r->body != NULL)
        fprintf(stderr, "\n%.*s\n", r->body_len > 4000 ? 4000 : (int)r->body_len, r->body);
    fprintf(stderr, "----- end of response -----\n");
}

void harness_assert_status(const char *file, int line, const struct harness_response *r,
                           int status)
{
    if (r->status != status) {
        print_response(r);
        harness_fail(file, line, "HTTP status %d, expected %d", r->status, status);
    }
}

json_t *harness_assert_problem(const char *file, int line, const struct harness_response *r,
                               int status, const char *type)
{
    const char *ct = harness_response_header(r, "Content-Type");
    json_t *body = NULL;
    const char *why = NULL;

    harness_assert_status(file, line, r, status);
    if (ct == NULL || strncasecmp(ct, "application/problem+json", 24) != 0 ||
        (ct[24] != '\0' && ct[24] != ';' && ct[24] != ' ')) {
        why = "Content-Type is not application/problem+json";
        goto fail;
    }
    body = harness_response_json(r);
    if (!json_is_object(body)) {
        why = "body is not a JSON object";
        goto fail;
    }
    if (json_integer_value(json_object_get(body, "status")) != status) {
        why = "problem \"status\" missing or not the HTTP status";
        goto fail;
    }
    if (!json_is_string(json_object_get(body, "type"))) {
        why = "problem \"type\" missing";
        goto fail;
    }
    if (type != NULL && strcmp(json_string_value(json_object_get(body, "type")), type) != 0) {
        why = "problem \"type\" differs";
        goto fail;
    }
    return body;
fail:
    json_decref(body);
    print_response(r);
    harness_fail(file, line, "%s (expected type %s)", why, type != NULL ? type : "any");
}

void harness_assert_header_eq(const char *file, int line, const struct harness_response *r,
                              const char *name, const char *value)
{
    const char *v = harness_response_header(r, name);

    if (v == NULL || strcmp(v, value) != 0) {
        print_response(r);
        harness_fail(file, line, "header %s is %s%s%s, expected \"%s\"", name,
                     v != NULL ? "\"" : "", v != NULL ? v : "absent", v != NULL ? "\"" : "",
                     value);
    }
    if (harness_response_header_count(r, name) != 1) {
        print_response(r);
        harness_fail(file, line, "header %s appears %zu times, expected once", name,
                     harness_response_header_count(r, name));
    }
}

void harness_assert_str_eq(const char *file, int line, const char *got, const char *want)
{
    if (got == NULL || want == NULL || strcmp(got, want) != 0)
        harness_fail(file, line, "got %s%s%s, expected \"%s\"", got != NULL ? "\"" : "",
                     got != NULL ? got : "NULL", got != NULL ? "\"" : "",
                     want != NULL ? want : "NULL");
}

void harness_assert_int_eq(const char *file, int line, long long got, long long want)
{
    if (got != want)
        harness_fail(file, line, "got %lld, expected %lld", got, want);
}
