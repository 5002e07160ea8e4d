/* download.c - the downloadUrl (RFC 8620 §6.2):
 *   GET /jmap/download/{accountId}/{blobId}/{name}?type={type}
 * with the blob's bytes, the asked Content-Type, a Content-Disposition
 * naming the file, and single byte ranges (RFC 9110 §14). */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_gateway.h"
#include "jmap_download.h"
#include "upload_store.h"

/* A media type we can put in a header: printable ASCII, a '/', no CR/LF,
 * and short. Anything else is the client's mistake (400). */
static bool media_type_ok(const char *t)
{
    size_t len = strlen(t);
    if (len == 0 || len > 200 || strchr(t, '/') == NULL)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)t[i] < 0x20 || (unsigned char)t[i] > 0x7e)
            return false;
    return true;
}

/* attachment; filename="..." (ASCII, quotes and backslashes escaped,
 * others as '_') plus filename*=UTF-8''... (RFC 8187) when the name is not
 * plain ASCII. */
static int disposition(const char *name, char *out, size_t size)
{
    char ascii[256], ext[800];
    size_t a = 0, e = 0;
    bool plain = true;
    for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
        if (*p < 0x20 || *p >= 0x7f)
            plain = false;
        if (a + 2 < sizeof(ascii)) {
            if (*p == '"' || *p == '\\')
                ascii[a++] = '\\';
            ascii[a++] = (*p < 0x20 || *p >= 0x7f) ? '_' : (char)*p;
        }
        if (e + 4 < sizeof(ext)) {
            if (isalnum(*p) || strchr("!#$&+-.^_`|~", *p) != NULL) {
                ext[e++] = (char)*p;
            } else {
                static const char hex[] = "0123456789ABCDEF";
                ext[e++] = '%';
                ext[e++] = hex[*p >> 4];
                ext[e++] = hex[*p & 15];
            }
        }
    }
    ascii[a] = '\0';
    ext[e] = '\0';
    int n = plain ? snprintf(out, size, "attachment; filename=\"%s\"", ascii)
                  : snprintf(out, size, "attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii,
                             ext);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

enum range_result { RANGE_NONE, RANGE_OK, RANGE_UNSATISFIABLE };

/* One "bytes=" range against a body of total bytes; several ranges, other
 * units or garbage are ignored (the whole body is sent, as RFC 9110
 * allows). */
static enum range_result parse_range(const char *h, size_t total, size_t *first, size_t *last)
{
    if (h == NULL || strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
        return RANGE_NONE;
    const char *p = h + 6;
    char *end = NULL;
    if (*p == '-') {                        /* the last n bytes */
        uintmax_t n = strtoumax(p + 1, &end, 10);
        if (end == p + 1 || *end != '\0')
            return RANGE_NONE;
        if (n == 0 || total == 0)
            return RANGE_UNSATISFIABLE;
        *first = n >= total ? 0 : total - (size_t)n;
        *last = total - 1;
        return RANGE_OK;
    }
    if (!isdigit((unsigned char)*p))
        return RANGE_NONE;
    uintmax_t a = strtoumax(p, &end, 10);
    if (*end != '-')
        return RANGE_NONE;
    p = end + 1;
    uintmax_t b = total > 0 ? total - 1 : 0;
    if (*p != '\0') {
        b = strtoumax(p, &end, 10);
        if (end == p || *end != '\0' || b < a)
            return RANGE_NONE;
    }
    if (a >= total)
        return RANGE_UNSATISFIABLE;
    *first = (size_t)a;
    *last = b >= total ? total - 1 : (size_t)b;
    return RANGE_OK;
}

/* jmap_download_blob_from() for uploaded blobs too (include/upload_store.h). */
static int blob_from(const struct http_gateway *gw, struct account *account, const char *blob_id,
                     uint64_t start, struct jmap_blob_bytes *out, uint64_t *total,
                     struct gw_error *err)
{
    if (!upload_blob_id_is(blob_id))
        return jmap_download_blob_from(account, blob_id, start, out, total, err);
    if (upload_store_read(gw->uploads, account_id(account), blob_id, &out->data, &out->len, NULL,
                          err) != 0)
        return -1;
    *total = out->len;
    size_t skip = start < out->len ? (size_t)start : out->len;
    memmove(out->data, out->data + skip, out->len - skip + 1);
    out->len -= skip;
    return 0;
}

void download_handle(const struct http_gateway *gw, struct account *account,
                     const struct http_request *req, struct http_reply *reply)
{
    char header[1100];
    struct jmap_blob_bytes blob = { 0 };
    struct gw_error err = { 0 };
    /* {accountId}/{blobId}/{name}: the name may itself hold slashes. */
    const char *rest = req->path + strlen("/jmap/download/");
    const char *s1 = strchr(rest, '/');
    const char *s2 = s1 != NULL ? strchr(s1 + 1, '/') : NULL;
    if (s2 == NULL || s2[1] == '\0' || (size_t)(s2 - s1 - 1) >= 128) {
        http_reply_problem(reply, 404, "about:blank",
                           "Use /jmap/download/{accountId}/{blobId}/{name}?type={type}.", NULL);
        return;
    }
    char blob_id[128];
    memcpy(blob_id, s1 + 1, (size_t)(s2 - s1 - 1));
    blob_id[s2 - s1 - 1] = '\0';
    const char *name = s2 + 1;
    if ((size_t)(s1 - rest) != strlen(account_id(account)) ||
        strncmp(rest, account_id(account), (size_t)(s1 - rest)) != 0) {
        http_reply_problem(reply, 404, "about:blank", "No such account for these credentials.",
                           NULL);
        return;
    }
    const char *type = req->query_type != NULL ? req->query_type : "application/octet-stream";
    if (!media_type_ok(type)) {
        http_reply_problem(reply, 400, "about:blank", "The type parameter is not a media type.",
                           NULL);
        return;
    }
    if (disposition(name, header, sizeof(header)) < 0) {
        http_reply_problem(reply, 400, "about:blank", "The file name is too long.", NULL);
        return;
    }
    /* A range "first-[last]" needs only the bytes from first on: the
     * whole message is then fetched from there (a resumed download). */
    size_t start = 0, first = 0, last = 0;
    uint64_t total = 0;
    const char *range = req->headers.range;
    if (range != NULL && strncmp(range, "bytes=", 6) == 0 && isdigit((unsigned char)range[6]) &&
        parse_range(range, SIZE_MAX, &first, &last) == RANGE_OK)
        start = first;
    if (blob_from(gw, account, blob_id, start, &blob, &total, &err) < 0) {
        if (err.code == GW_ERR_NOTFOUND)
            http_reply_problem(reply, 404, "about:blank", "No such blob.", NULL);
        else if (err.code == GW_ERR_TOO_LARGE)
            http_reply_problem(reply, 500, "about:blank",
                               "The blob is larger than this gateway serves.", NULL);
        else
            http_reply_backend_error(reply, &err);
        return;
    }
    /* Blob ids are immutable: the bytes never change. */
    http_reply_add_header(reply, "Cache-Control", "private, immutable, max-age=31536000");
    http_reply_add_header(reply, "Content-Disposition", header);
    http_reply_add_header(reply, "Content-Type", type);
    http_reply_add_header(reply, "Accept-Ranges", "bytes");
    switch (parse_range(range, (size_t)total, &first, &last)) {
    case RANGE_UNSATISFIABLE:
        snprintf(header, sizeof(header), "bytes */%" PRIu64, total);
        http_reply_add_header(reply, "Content-Range", header);
        free(blob.data);
        http_reply_problem(reply, 416, "about:blank", "The range is outside the blob.", NULL);
        return;
    case RANGE_OK:
        /* blob holds the bytes from start on, and first == start when
         * start > 0 (the same header, now against the real size) */
        if (first < start || last - start >= blob.len) {
            free(blob.data);
            http_reply_problem(reply, 500, "about:blank", "Internal server error.", NULL);
            return;
        }
        snprintf(header, sizeof(header), "bytes %zu-%zu/%" PRIu64, first, last, total);
        http_reply_add_header(reply, "Content-Range", header);
        memmove(blob.data, blob.data + (first - start), last - first + 1);
        blob.len = last - first + 1;
        reply->status = 206;
        break;
    case RANGE_NONE:
        if (start > 0) {    /* cannot happen: the header parsed as a range above */
            free(blob.data);
            http_reply_problem(reply, 500, "about:blank", "Internal server error.", NULL);
            return;
        }
        reply->status = 200;
        break;
    }
    free(reply->body);
    reply->body = blob.data;
    reply->body_len = blob.len;
    reply->content_type = NULL;
}
