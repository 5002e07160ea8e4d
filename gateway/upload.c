/* upload.c - the uploadUrl (RFC 8620 §6.1):
 *   POST /jmap/upload/{accountId}/
 * The body has already been spooled to the upload store by the HTTP glue
 * (bounded by maxSizeUpload while it was read); here the account is
 * checked and the blob kept. */
#include <stdio.h>
#include <string.h>

#include "gw_log.h"
#include "http_gateway.h"
#include "upload_store.h"

/* The Content-Type to record: as sent, when it is printable ASCII. */
static const char *upload_type(const char *t)
{
    if (t == NULL || t[0] == '\0' || strlen(t) >= UPLOAD_TYPE_MAX)
        return "application/octet-stream";
    for (const char *p = t; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            return "application/octet-stream";
    return t;
}

void upload_handle(const struct http_gateway *gw, struct account *account,
                   const struct http_request *req, struct http_reply *reply)
{
    (void)gw;
    struct gw_error err = { 0 };
    struct upload_info info;
    const char *rest = req->path + strlen("/jmap/upload/");
    size_t id_len = strcspn(rest, "/");
    const char *id = account_id(account);
    /* {accountId}/ with nothing after it (the slash is optional) */
    if (id_len != strlen(id) || strncmp(rest, id, id_len) != 0 ||
        (rest[id_len] == '/' && rest[id_len + 1] != '\0')) {
        http_reply_problem(reply, 404, "about:blank", "No such account for these credentials.",
                           NULL);
        return;
    }
    /* The spool stays the request's: http_request_clear() frees it. */
    struct upload_spool *spool = req->upload;
    if (spool == NULL) {
        http_reply_problem(reply, 500, "about:blank", "Internal server error.", NULL);
        return;
    }
    if (upload_spool_commit(spool, id, upload_type(req->headers.content_type), &info, &err) != 0) {
        gw_log_error("upload for %s: %s", id, err.msg);
        http_reply_problem(reply, 503, "about:blank",
                           "The upload could not be stored; try again later.", NULL);
        return;
    }
    json_t *body = json_pack("{s:s, s:s, s:s, s:I}", "accountId", id, "blobId", info.blob_id,
                             "type", info.type, "size", (json_int_t)info.size);
    if (body == NULL) {
        http_reply_problem(reply, 500, "about:blank", "Internal server error.", NULL);
        return;
    }
    http_reply_set_json(reply, 201, body, "application/json");
    http_reply_add_header(reply, "Cache-Control", "no-store");
}
