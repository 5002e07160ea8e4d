/* http_reply.c - building replies (see include/http_request.h). */
#include "http_request.h"

#include <stdlib.h>
#include <string.h>

#include "gw_json.h"
#include "jmap_api.h"
#include "upload_store.h"

void http_request_clear(struct http_request *req)
{
    free(req->method_name);
    free(req->path);
    free(req->headers.authorization);
    free(req->headers.content_type);
    free(req->headers.content_length);
    free(req->headers.origin);
    free(req->headers.acr_method);
    free(req->headers.acr_headers);
    free(req->headers.range);
    free(req->query_type);
    free(req->body);
    upload_spool_abort(&req->upload);
    memset(req, 0, sizeof(*req));
}

void http_reply_clear(struct http_reply *reply)
{
    free(reply->body);
    for (unsigned i = 0; i < reply->header_count; i++)
        free(reply->headers[i].value);
    memset(reply, 0, sizeof(*reply));
}

int http_reply_add_header(struct http_reply *reply, const char *name, const char *value)
{
    if (reply->header_count >= HTTP_REPLY_MAX_HEADERS)
        return -1;
    char *copy = strdup(value);
    if (copy == NULL)
        return -1;
    reply->headers[reply->header_count].name = name;
    reply->headers[reply->header_count].value = copy;
    reply->header_count++;
    return 0;
}

int http_reply_set_json(struct http_reply *reply, int status, json_t *json,
                        const char *content_type)
{
    int rc = -1;
    size_t text_len = 0;
    char *text = gw_json_dump_compact(json, &text_len);
    json_decref(json);
    free(reply->body);
    reply->body = NULL;
    reply->body_len = 0;
    if (text == NULL) {
        /* Out of memory: still answer something well-formed. */
        static const char fallback[] =
            "{\"type\":\"about:blank\",\"status\":500,\"detail\":\"out of memory\"}";
        reply->status = 500;
        reply->content_type = "application/problem+json";
        reply->body = strdup(fallback);
        reply->body_len = reply->body != NULL ? strlen(fallback) : 0;
        goto out;
    }
    reply->status = status;
    reply->content_type = content_type;
    reply->body = text;
    reply->body_len = text_len;
    rc = 0;
out:
    return rc;
}

int http_reply_problem(struct http_reply *reply, int status, const char *type,
                       const char *detail, const char *limit)
{
    return http_reply_set_json(reply, status, jmap_problem_new(type, status, detail, limit),
                               "application/problem+json");
}

int http_reply_unauthorized(struct http_reply *reply, const char *detail)
{
    http_reply_add_header(reply, "WWW-Authenticate", "Basic realm=\"jmap-gateway\", charset=\"UTF-8\"");
    return http_reply_problem(reply, 401, "about:blank", detail, NULL);
}

int http_reply_backend_error(struct http_reply *reply, const struct gw_error *err)
{
    switch (err->code) {
    case GW_ERR_AUTH:
        return http_reply_unauthorized(reply, "The user name or password is not accepted by the mail server.");
    case GW_ERR_UNAVAILABLE:
        http_reply_add_header(reply, "Retry-After", "5");
        return http_reply_problem(reply, 503, "about:blank",
                                  "The mail server is unavailable; try again later.", NULL);
    case GW_ERR_TLS:
        return http_reply_problem(reply, 502, "about:blank",
                                  "The mail server's TLS could not be verified.", NULL);
    case GW_ERR_PROTOCOL:
        return http_reply_problem(reply, 502, "about:blank",
                                  "The mail server gave an unexpected answer.", NULL);
    default:
        return http_reply_problem(reply, 500, "about:blank", "Internal server error.", NULL);
    }
}

enum http_method http_method_parse(const char *name)
{
    static const struct {
        const char *name;
        enum http_method method;
    } methods[] = {
        { "GET", HTTP_GET },       { "HEAD", HTTP_HEAD },     { "POST", HTTP_POST },
        { "PUT", HTTP_PUT },       { "DELETE", HTTP_DELETE }, { "OPTIONS", HTTP_OPTIONS },
    };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcmp(name, methods[i].name) == 0)
            return methods[i].method;
    }
    return HTTP_OTHER;
}
