#define _GNU_SOURCE /* memmem */
/* compose_body.c - the MIME entities of the message builder: the tree
 * from bodyStructure or from textBody/htmlBody/attachments, each leaf's
 * content and transfer encoding, and multiparts with boundaries that no
 * child contains. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "compose_private.h"

static const char *const part_keys[] = {
    "partId", "blobId", "size", "name", "type", "charset", "disposition",
    "cid", "language", "location", "subParts",
};

static bool member_present(json_t *o, const char *key)
{
    return json_object_get(o, key) != NULL;
}

static bool str_or_null(json_t *v)
{
    return v == NULL || json_is_null(v) || json_is_string(v);
}

/* A media type "type/subtype" of token characters. */
static bool media_type_ok(const char *t)
{
    const char *slash = strchr(t, '/');
    if (slash == NULL || slash == t || slash[1] == '\0' || strlen(t) > 120)
        return false;
    for (const char *p = t; *p != '\0'; p++) {
        if (p == slash)
            continue;
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
            strchr("()<>@,;:\\\"/[]?=", *p) != NULL)
            return false;
    }
    return true;
}

static bool plain_string(json_t *v)
{
    const char *s = json_string_value(v);
    return s != NULL && s[0] != '\0' && compose_header_plain(s, json_string_length(v)) &&
           strpbrk(s, " <>") == NULL;
}

void compose_node_free(struct compose_node *n)
{
    for (size_t i = 0; i < n->n; i++)
        compose_node_free(&n->kids[i]);
    free(n->kids);
    n->kids = NULL;
    n->n = 0;
}

int compose_node_container(struct compose_node *n, const char *type, size_t kids)
{
    memset(n, 0, sizeof(*n));
    n->type = type;
    n->kids = calloc(kids ? kids : 1, sizeof(*n->kids));
    n->n = kids;
    return n->kids != NULL ? 0 : -1;
}

void compose_node_leaf(struct compose_node *n, json_t *part, const char *default_type,
                       const char *path)
{
    memset(n, 0, sizeof(*n));
    n->part = part;
    n->type = default_type;
    snprintf(n->path, sizeof(n->path), "%s", path);
}

int compose_node_from_structure(struct compose_ctx *c, json_t *part, const char *path,
                                unsigned depth, struct compose_node *n)
{
    compose_node_leaf(n, part, NULL, path);
    json_t *sub = json_object_get(part, "subParts");
    if (sub == NULL || json_is_null(sub))
        return 0;
    if (!json_is_array(sub) || json_array_size(sub) == 0 || depth >= COMPOSE_MAX_DEPTH) {
        compose_invalid(c, path, "subParts");
        return 0;
    }
    n->kids = calloc(json_array_size(sub), sizeof(*n->kids));
    if (n->kids == NULL) {
        compose_fail(c, GW_ERR_NOMEM, "out of memory");
        return -1;
    }
    n->n = json_array_size(sub);
    for (size_t i = 0; i < n->n; i++) {
        char kid_path[COMPOSE_PATH_MAX];
        int w = snprintf(kid_path, sizeof(kid_path), "%s/subParts/%zu", path, i);
        if (w < 0 || (size_t)w >= sizeof(kid_path)) {
            compose_invalid(c, path, "subParts");
            continue;
        }
        if (!json_is_object(json_array_get(sub, i))) {
            compose_invalid(c, "", kid_path);
            continue;
        }
        if (compose_node_from_structure(c, json_array_get(sub, i), kid_path, depth + 1,
                                        &n->kids[i]) != 0)
            return -1;
    }
    return 0;
}

/* ---- leaves ------------------------------------------------------------- */

struct leaf {
    const char *type;
    char *data;             /* new: the encoded body */
    size_t len;
    const char *encoding;   /* Content-Transfer-Encoding, NULL for 7bit */
    const char *charset;
};

/* Text from bodyValues[partId]. */
static void leaf_from_value(struct compose_ctx *c, struct compose_node *n, struct leaf *l)
{
    json_t *part = n->part;
    const char *part_id = json_string_value(json_object_get(part, "partId"));
    json_t *bv = part_id != NULL ? json_object_get(c->body_values, part_id) : NULL;
    if (part_id == NULL || !json_is_object(bv) || !json_is_string(json_object_get(bv, "value"))) {
        compose_invalid(c, n->path, "partId");
        return;
    }
    if (member_present(part, "blobId"))
        compose_invalid(c, n->path, "blobId");
    if (member_present(part, "charset"))
        compose_invalid(c, n->path, "charset");
    if (member_present(part, "size"))
        compose_invalid(c, n->path, "size");
    size_t text_len = 0;
    json_t *value = json_object_get(bv, "value");
    char *text = compose_crlf(json_string_value(value), json_string_length(value), &text_len);
    if (text == NULL) {
        compose_fail(c, GW_ERR_NOMEM, "out of memory");
        return;
    }
    if (strncasecmp(l->type, "text/", 5) == 0)
        l->charset = "utf-8";
    if (compose_is_7bit(text, text_len, COMPOSE_LINE_HARD)) {
        l->data = text;
        l->len = text_len;
        return;
    }
    struct msg_buf b = MSG_BUF_INIT;
    compose_qp(&b, text, text_len);
    free(text);
    l->encoding = "quoted-printable";
    if ((l->data = msg_buf_finish(&b, &l->len)) == NULL)
        compose_fail(c, GW_ERR_NOMEM, "out of memory");
}

static void leaf_from_blob(struct compose_ctx *c, struct compose_node *n, struct leaf *l)
{
    json_t *part = n->part;
    const char *blob_id = json_string_value(json_object_get(part, "blobId"));
    if (blob_id == NULL) {
        compose_invalid(c, n->path, "blobId");
        return;
    }
    json_t *charset = json_object_get(part, "charset");
    if (!str_or_null(charset) || (json_is_string(charset) && !plain_string(charset)))
        compose_invalid(c, n->path, "charset");
    else if (json_is_string(charset) && strncasecmp(l->type, "text/", 5) == 0)
        l->charset = json_string_value(charset);
    char *data = NULL;
    size_t len = 0;
    struct gw_error err = { 0 };
    if (c->opts->blob == NULL ||
        c->opts->blob(c->opts->blob_ctx, blob_id, &data, &len, &err) != 0) {
        if (c->opts->blob != NULL && err.code != GW_ERR_NOTFOUND) {
            compose_fail(c, err.code, err.msg);
            return;
        }
        size_t i;
        json_t *v;
        json_array_foreach(c->not_found, i, v)
            if (strcmp(json_string_value(v), blob_id) == 0)
                return;
        if (json_array_append_new(c->not_found, json_string(blob_id)) != 0)
            compose_fail(c, GW_ERR_NOMEM, "out of memory");
        return;
    }
    bool clean = compose_is_7bit(data, len, COMPOSE_LINE_HARD);
    bool message = strcasecmp(l->type, "message/rfc822") == 0 ||
                   strcasecmp(l->type, "message/global") == 0;
    if (message && !clean && memchr(data, '\0', len) == NULL) {
        /* An attached message goes as it is (RFC 2046 §5.2.1: no base64),
         * its line ends made CRLF as RFC 5322 has them (a Unix mbox export
         * has LF); 8bit when it is not plain ASCII. */
        size_t crlf_len = 0;
        char *crlf = compose_crlf(data, len, &crlf_len);
        free(data);
        if (crlf == NULL) {
            compose_fail(c, GW_ERR_NOMEM, "out of memory");
            return;
        }
        l->data = crlf;
        l->len = crlf_len;
        l->encoding = compose_is_7bit(crlf, crlf_len, COMPOSE_LINE_HARD) ? NULL : "8bit";
        return;
    }
    if (message && clean) {
        l->data = data;
        l->len = len;
        return;
    }
    if (clean && strncasecmp(l->type, "text/", 5) == 0) {
        l->data = data;
        l->len = len;
        return;
    }
    struct msg_buf b = MSG_BUF_INIT;
    compose_base64(&b, (const unsigned char *)data, len);
    free(data);
    l->encoding = "base64";
    if ((l->data = msg_buf_finish(&b, &l->len)) == NULL)
        compose_fail(c, GW_ERR_NOMEM, "out of memory");
}

/* ---- entities ----------------------------------------------------------- */

static bool boundary_new(const struct msg_buf *kids, size_t n, char out[64])
{
    for (int attempt = 0; attempt < 16; attempt++) {
        unsigned char r[12];
        if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
            return false;
        int w = snprintf(out, 64, "=_gw%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x", r[0],
                         r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11]);
        if (w < 0 || w >= 64)
            return false;
        bool clash = false;
        for (size_t i = 0; i < n && !clash; i++)
            clash = kids[i].len > 0 && memmem(kids[i].data, kids[i].len, out, (size_t)w) != NULL;
        if (!clash)
            return true;
    }
    return false;
}

/* The part's own properties, checked: returns the type to write. */
static const char *part_type(struct compose_ctx *c, struct compose_node *n)
{
    json_t *part = n->part;
    const char *key;
    json_t *v;
    json_object_foreach(part, key, v) {
        bool known = strncmp(key, "header:", 7) == 0;
        for (size_t i = 0; i < sizeof(part_keys) / sizeof(part_keys[0]) && !known; i++)
            known = strcmp(key, part_keys[i]) == 0;
        if (!known)
            compose_invalid(c, n->path, key);
    }
    json_t *type = json_object_get(part, "type");
    if (type != NULL && !json_is_null(type)) {
        if (!json_is_string(type) || !media_type_ok(json_string_value(type))) {
            compose_invalid(c, n->path, "type");
            return "application/octet-stream";
        }
        return json_string_value(type);
    }
    if (n->type != NULL)
        return n->type;
    if (n->n > 0)
        return "multipart/mixed";
    return member_present(part, "blobId") ? "application/octet-stream" : "text/plain";
}

static void write_part_headers(struct compose_ctx *c, struct compose_node *n, const struct leaf *l,
                               const char *boundary, struct msg_buf *b)
{
    json_t *part = n->part;
    const char *name = json_string_value(json_object_get(part, "name"));
    json_t *disp = json_object_get(part, "disposition");
    json_t *cid = json_object_get(part, "cid");
    json_t *lang = json_object_get(part, "language");
    json_t *loc = json_object_get(part, "location");
    if (!str_or_null(json_object_get(part, "name")))
        compose_invalid(c, n->path, "name");
    msg_buf_put(b, "Content-Type: ", 14);
    msg_buf_put(b, l->type, strlen(l->type));
    if (l->charset != NULL)
        compose_param(b, "charset", l->charset);
    if (boundary != NULL)
        compose_param(b, "boundary", boundary);
    if (name != NULL)
        compose_param(b, "name", name);
    msg_buf_put(b, "\r\n", 2);
    if (disp != NULL && !json_is_null(disp)) {
        if (!json_is_string(disp) || !plain_string(disp) ||
            strpbrk(json_string_value(disp), "/;=\"") != NULL) {
            compose_invalid(c, n->path, "disposition");
        } else {
            msg_buf_put(b, "Content-Disposition: ", 21);
            msg_buf_put(b, json_string_value(disp), json_string_length(disp));
            if (name != NULL)
                compose_param(b, "filename", name);
            msg_buf_put(b, "\r\n", 2);
        }
    }
    if (cid != NULL && !json_is_null(cid)) {
        if (!plain_string(cid) || json_string_length(cid) > 900) {
            compose_invalid(c, n->path, "cid");
        } else {
            msg_buf_put(b, "Content-ID: <", 13);
            msg_buf_put(b, json_string_value(cid), json_string_length(cid));
            msg_buf_put(b, ">\r\n", 3);
        }
    }
    if (lang != NULL && !json_is_null(lang)) {
        struct msg_buf v = MSG_BUF_INIT;
        size_t i;
        json_t *t;
        bool ok = json_is_array(lang) && json_array_size(lang) > 0;
        json_array_foreach(lang, i, t) {
            ok = ok && plain_string(t) && strchr(json_string_value(t), ',') == NULL;
            msg_buf_put(&v, i > 0 ? ", " : " ", i > 0 ? 2 : 1);
            if (ok)
                msg_buf_put(&v, json_string_value(t), json_string_length(t));
        }
        if (!ok || v.failed || !compose_write_folded(b, "Content-Language", v.data, v.len))
            compose_invalid(c, n->path, "language");
        msg_buf_free(&v);
    }
    if (loc != NULL && !json_is_null(loc)) {
        if (!plain_string(loc) || json_string_length(loc) > 900) {
            compose_invalid(c, n->path, "location");
        } else {
            msg_buf_put(b, "Content-Location: ", 18);
            msg_buf_put(b, json_string_value(loc), json_string_length(loc));
            msg_buf_put(b, "\r\n", 2);
        }
    }
    if (l->encoding != NULL) {
        msg_buf_put(b, "Content-Transfer-Encoding: ", 27);
        msg_buf_put(b, l->encoding, strlen(l->encoding));
        msg_buf_put(b, "\r\n", 2);
    }
}

static void render_multipart(struct compose_ctx *c, struct compose_node *n, const char *type,
                             struct msg_buf *b)
{
    struct msg_buf *kids = calloc(n->n, sizeof(*kids));
    if (kids == NULL) {
        compose_fail(c, GW_ERR_NOMEM, "out of memory");
        return;
    }
    for (size_t i = 0; i < n->n && !c->failed; i++)
        compose_render(c, &n->kids[i], NULL, &kids[i]);
    char boundary[64];
    if (!c->failed && !boundary_new(kids, n->n, boundary))
        compose_fail(c, GW_ERR_INTERNAL, "no usable MIME boundary");
    if (!c->failed) {
        struct leaf l = { .type = type };
        if (n->part != NULL)
            write_part_headers(c, n, &l, boundary, b);
        else {
            msg_buf_put(b, "Content-Type: ", 14);
            msg_buf_put(b, type, strlen(type));
            compose_param(b, "boundary", boundary);
            msg_buf_put(b, "\r\n", 2);
        }
    }
    if (!c->failed && n->part != NULL)
        compose_fields_write(c, n->fields, n->n_fields, n->path, b);
    msg_buf_put(b, "\r\n", 2);
    size_t blen = strlen(boundary);
    for (size_t i = 0; i < n->n && !c->failed; i++) {
        msg_buf_put(b, "--", 2);
        msg_buf_put(b, boundary, blen);
        msg_buf_put(b, "\r\n", 2);
        msg_buf_put(b, kids[i].data, kids[i].len);
        msg_buf_put(b, "\r\n", 2);
    }
    msg_buf_put(b, "--", 2);
    msg_buf_put(b, boundary, blen);
    msg_buf_put(b, "--\r\n", 4);
    for (size_t i = 0; i < n->n; i++)
        msg_buf_free(&kids[i]);
    free(kids);
}

void compose_render(struct compose_ctx *c, struct compose_node *n, json_t *taken,
                    struct msg_buf *b)
{
    if (c->failed)
        return;
    if (n->part == NULL) {
        if (n->n > 0) {
            render_multipart(c, n, n->type, b);
        } else {                /* no body given: an empty text part */
            msg_buf_put(b, "Content-Type: text/plain; charset=utf-8\r\n\r\n", 43);
        }
        return;
    }
    const char *type = part_type(c, n);
    bool multipart = strncasecmp(type, "multipart/", 10) == 0;
    json_t *own_taken = taken != NULL ? json_deep_copy(taken) : json_object();
    struct compose_field *fields = NULL;
    size_t n_fields = 0;
    if (own_taken == NULL || compose_fields_collect(c, n->part, false, n->path, own_taken,
                                                    &fields, &n_fields) != 0) {
        compose_fail(c, GW_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (json_object_get(n->part, "headers") != NULL)
        compose_invalid(c, n->path, "headers");
    if (multipart != (n->n > 0)) {
        compose_invalid(c, n->path, multipart ? "subParts" : "type");
        goto out;
    }
    if (multipart) {
        static const char *const leaf_only[] = { "partId", "blobId", "charset", "size" };
        for (size_t i = 0; i < sizeof(leaf_only) / sizeof(leaf_only[0]); i++)
            if (member_present(n->part, leaf_only[i]))
                compose_invalid(c, n->path, leaf_only[i]);
        n->fields = fields;
        n->n_fields = n_fields;
        render_multipart(c, n, type, b);
        goto out;
    }
    struct leaf l = { .type = type };
    if (member_present(n->part, "partId"))
        leaf_from_value(c, n, &l);
    else
        leaf_from_blob(c, n, &l);
    if (!c->failed) {
        write_part_headers(c, n, &l, NULL, b);
        compose_fields_write(c, fields, n_fields, n->path, b);
        msg_buf_put(b, "\r\n", 2);
        msg_buf_put(b, l.data, l.len);
    }
    free(l.data);
out:
    n->fields = NULL;
    n->n_fields = 0;
    free(fields);
    json_decref(own_taken);
    if (b->failed)
        compose_fail(c, GW_ERR_NOMEM, "out of memory");
}
