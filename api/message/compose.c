/* compose.c - jmap_compose(): the Email-level rules of RFC 8621 §4.6,
 * the body tree for textBody/htmlBody/attachments, generated Date and
 * Message-ID, and the SetError for what the client got wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "compose_private.h"

/* Properties the store sets: never given on create. */
static const char *const server_set[] = {
    "id", "blobId", "threadId", "size", "preview", "hasAttachment", "headers",
};
/* Metadata the caller handles, and the body properties handled here. */
static const char *const email_keys[] = {
    "mailboxIds", "keywords", "receivedAt", "bodyStructure", "textBody", "htmlBody",
    "attachments", "bodyValues", "from", "sender", "replyTo", "to", "cc", "bcc", "subject",
    "sentAt", "messageId", "inReplyTo", "references",
};

static void check_keys(struct compose_ctx *c, json_t *email)
{
    const char *key;
    json_t *v;
    json_object_foreach(email, key, v) {
        bool known = strncmp(key, "header:", 7) == 0;
        for (size_t i = 0; i < sizeof(email_keys) / sizeof(email_keys[0]) && !known; i++)
            known = strcmp(key, email_keys[i]) == 0;
        for (size_t i = 0; i < sizeof(server_set) / sizeof(server_set[0]); i++)
            if (strcmp(key, server_set[i]) == 0)
                known = false;
        if (!known)
            compose_invalid(c, "", key);
    }
    json_t *bv = json_object_get(email, "bodyValues");
    if (bv != NULL && !json_is_null(bv) && !json_is_object(bv)) {
        compose_invalid(c, "", "bodyValues");
        return;
    }
    json_object_foreach(bv, key, v) {
        char path[COMPOSE_PATH_MAX];
        int w = snprintf(path, sizeof(path), "bodyValues/%s", key);
        if (w < 0 || (size_t)w >= sizeof(path) || !json_is_object(v)) {
            compose_invalid(c, "", "bodyValues");
            continue;
        }
        static const char *const flags[] = { "isEncodingProblem", "isTruncated" };
        for (size_t i = 0; i < 2; i++) {
            json_t *f = json_object_get(v, flags[i]);
            if (f != NULL && !json_is_false(f))
                compose_invalid(c, path, flags[i]);
        }
        if (!json_is_string(json_object_get(v, "value")))
            compose_invalid(c, path, "value");
    }
}

/* textBody / htmlBody: exactly one part of the given type. */
static json_t *single_body(struct compose_ctx *c, json_t *email, const char *prop,
                           const char *type)
{
    json_t *list = json_object_get(email, prop);
    if (list == NULL || json_is_null(list))
        return NULL;
    json_t *part = json_array_get(list, 0);
    json_t *t = json_object_get(part, "type");
    if (!json_is_array(list) || json_array_size(list) != 1 || !json_is_object(part) ||
        (t != NULL && !json_is_null(t) &&
         (!json_is_string(t) || strcasecmp(json_string_value(t), type) != 0))) {
        compose_invalid(c, "", prop);
        return NULL;
    }
    return part;
}

static bool is_inline(json_t *att)
{
    const char *disp = json_string_value(json_object_get(att, "disposition"));
    return json_is_string(json_object_get(att, "cid")) &&
           (disp == NULL || strcasecmp(disp, "attachment") != 0);
}

/* The tree for textBody/htmlBody/attachments (see jmap_compose.h). */
static int flat_tree(struct compose_ctx *c, json_t *email, struct compose_node *top)
{
    json_t *text = single_body(c, email, "textBody", "text/plain");
    json_t *html = single_body(c, email, "htmlBody", "text/html");
    json_t *atts = json_object_get(email, "attachments");
    if (atts != NULL && !json_is_null(atts) && !json_is_array(atts)) {
        compose_invalid(c, "", "attachments");
        atts = NULL;
    }
    size_t n_att = json_array_size(atts), n_inline = 0;
    for (size_t i = 0; i < n_att; i++) {
        if (!json_is_object(json_array_get(atts, i))) {
            compose_invalid(c, "", "attachments");
            return 0;
        }
        n_inline += html != NULL && is_inline(json_array_get(atts, i));
    }
    struct compose_node body, *html_node = NULL;
    memset(&body, 0, sizeof(body));
    if (text != NULL && html != NULL) {
        if (compose_node_container(&body, "multipart/alternative", 2) != 0)
            goto nomem;
        compose_node_leaf(&body.kids[0], text, "text/plain", "textBody/0");
        html_node = &body.kids[1];
    } else if (html != NULL) {
        html_node = &body;
    } else if (text != NULL) {
        compose_node_leaf(&body, text, "text/plain", "textBody/0");
    }
    if (html_node != NULL && n_inline > 0) {
        if (compose_node_container(html_node, "multipart/related", n_inline + 1) != 0)
            goto nomem;
        compose_node_leaf(&html_node->kids[0], html, "text/html", "htmlBody/0");
        size_t k = 1;
        for (size_t i = 0; i < n_att; i++) {
            char path[COMPOSE_PATH_MAX];
            snprintf(path, sizeof(path), "attachments/%zu", i);
            if (is_inline(json_array_get(atts, i)))
                compose_node_leaf(&html_node->kids[k++], json_array_get(atts, i), NULL, path);
        }
    } else if (html_node != NULL) {
        compose_node_leaf(html_node, html, "text/html", "htmlBody/0");
    }
    if (n_att - n_inline == 0) {
        *top = body;
        return 0;
    }
    if (compose_node_container(top, "multipart/mixed", 1 + n_att - n_inline) != 0) {
        compose_node_free(&body);
        goto nomem;
    }
    top->kids[0] = body;
    size_t k = 1;
    for (size_t i = 0; i < n_att; i++) {
        char path[COMPOSE_PATH_MAX];
        snprintf(path, sizeof(path), "attachments/%zu", i);
        if (!(html != NULL && is_inline(json_array_get(atts, i))))
            compose_node_leaf(&top->kids[k++], json_array_get(atts, i), NULL, path);
    }
    return 0;
nomem:
    compose_node_free(&body);
    compose_fail(c, GW_ERR_NOMEM, "out of memory");
    return -1;
}

/* Date and Message-ID when the client gave none (RFC 8621 §4.6). */
static void generated_fields(struct compose_ctx *c, json_t *taken, struct msg_buf *b)
{
    char line[200];
    int w;
    if (json_object_get(taken, "date") == NULL) {
        time_t now = c->opts->now != 0 ? c->opts->now : time(NULL);
        struct tm tm;
        if (gmtime_r(&now, &tm) == NULL ||
            strftime(line, sizeof(line), "Date: %a, %d %b %Y %H:%M:%S +0000\r\n", &tm) == 0) {
            compose_fail(c, GW_ERR_INTERNAL, "cannot format the date");
            return;
        }
        msg_buf_put(b, line, strlen(line));
    }
    if (json_object_get(taken, "message-id") == NULL) {
        unsigned char r[16];
        const char *domain = c->opts->domain != NULL ? c->opts->domain : "jmap-gateway.invalid";
        if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
            compose_fail(c, GW_ERR_INTERNAL, "no random bytes for a Message-ID");
            return;
        }
        char hex[33];
        for (size_t i = 0; i < sizeof(r); i++)
            snprintf(hex + 2 * i, 3, "%02x", r[i]);
        w = snprintf(line, sizeof(line), "Message-ID: <%s@%.100s>\r\n", hex, domain);
        if (w < 0 || (size_t)w >= sizeof(line)) {
            compose_fail(c, GW_ERR_INTERNAL, "Message-ID too long");
            return;
        }
        msg_buf_put(b, line, (size_t)w);
    }
    if (json_object_get(taken, "mime-version") == NULL)
        msg_buf_put(b, "MIME-Version: 1.0\r\n", 19);
}

static json_t *set_error_of(struct compose_ctx *c)
{
    if (json_array_size(c->invalid) > 0)
        return json_pack("{s:s, s:O}", "type", "invalidProperties", "properties", c->invalid);
    return json_pack("{s:s, s:O}", "type", "blobNotFound", "notFound", c->not_found);
}

int jmap_compose(json_t *email, const struct jmap_compose_opts *opts, char **out, size_t *out_len,
                 json_t **set_error, struct gw_error *err)
{
    struct compose_ctx c = { .opts = opts, .err = err };
    struct compose_node top;
    struct compose_field *fields = NULL;
    size_t n_fields = 0;
    struct msg_buf b = MSG_BUF_INIT;
    json_t *taken = json_object();
    int rc = -1;

    memset(&top, 0, sizeof(top));
    *out = NULL;
    *set_error = NULL;
    c.invalid = json_array();
    c.not_found = json_array();
    if (taken == NULL || c.invalid == NULL || c.not_found == NULL) {
        gw_error_set(err, GW_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (!json_is_object(email)) {
        compose_invalid(&c, "", "email");
        goto report;
    }
    c.body_values = json_object_get(email, "bodyValues");
    check_keys(&c, email);
    if (compose_fields_collect(&c, email, true, "", taken, &fields, &n_fields) != 0)
        goto out;
    json_t *structure = json_object_get(email, "bodyStructure");
    if (structure != NULL && !json_is_null(structure)) {
        static const char *const flat[] = { "textBody", "htmlBody", "attachments" };
        bool clash = false;
        for (size_t i = 0; i < 3; i++) {
            if (json_object_get(email, flat[i]) != NULL) {
                compose_invalid(&c, "", flat[i]);
                clash = true;
            }
        }
        if (!json_is_object(structure))
            compose_invalid(&c, "", "bodyStructure");
        else if (!clash &&
                 compose_node_from_structure(&c, structure, "bodyStructure", 0, &top) != 0)
            goto out;
    } else if (flat_tree(&c, email, &top) != 0) {
        goto out;
    }
    compose_fields_write(&c, fields, n_fields, "", &b);
    generated_fields(&c, taken, &b);
    if (json_array_size(c.invalid) == 0)
        compose_render(&c, &top, taken, &b);
    if (c.failed)
        goto out;
report:
    if (json_array_size(c.invalid) > 0 || json_array_size(c.not_found) > 0) {
        if ((*set_error = set_error_of(&c)) == NULL)
            gw_error_set(err, GW_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((*out = msg_buf_finish(&b, out_len)) == NULL) {
        gw_error_set(err, GW_ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    compose_node_free(&top);
    free(fields);
    msg_buf_free(&b);
    json_decref(taken);
    json_decref(c.invalid);
    json_decref(c.not_found);
    return rc;
}
