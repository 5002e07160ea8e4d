/* email_parse.c - Email/parse (RFC 8621 §4.9): message blobs to Email
 * objects without storing anything, through the same MIME parser and
 * Email mapping as Email/get.
 *
 * Three kinds of blob:
 * - a whole stored Email ("B" + id): its parts get that Email's blob ids;
 * - an attached message of a stored Email ("B" + id + "_2"): the whole
 *   message is parsed and the embedded one mapped in place, so part ids
 *   and blob ids stay fetchable from the outer Email (jmap_mime.h);
 *   a part that is not message/rfc822 is notParsable;
 * - an upload: parsed as it is; its parts have no blob ids of their own
 *   (null), as nothing addresses bytes inside an upload.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "email_create.h"
#include "jmap_blob.h"
#include "jmap_download.h"
#include "jmap_mime.h"
#include "upload_store.h"

static const char *const default_properties[] = {
    "messageId", "inReplyTo", "references", "sender", "from", "to", "cc", "bcc", "replyTo",
    "subject", "sentAt", "hasAttachment", "preview", "bodyValues", "textBody", "htmlBody",
    "attachments", NULL,
};

/* Metadata the RFC has null for a parsed blob. */
static const char *const null_properties[] = {
    "id", "mailboxIds", "keywords", "receivedAt", "threadId",
};

enum parse_outcome { PARSED, NOT_FOUND, NOT_PARSABLE, FAILED };

struct parse_call {
    struct jmap_mail m;
    json_t *props;
    bool asked_id;
    struct jmap_email_body_opts opts;
};

static int set_metadata(struct parse_call *c, json_t *email, const char *blob_id, size_t size)
{
    size_t i;
    json_t *p;
    int rc = 0;
    json_array_foreach(c->props, i, p) {
        const char *name = json_string_value(p);
        for (size_t k = 0; k < sizeof(null_properties) / sizeof(null_properties[0]); k++)
            if (strcmp(name, null_properties[k]) == 0 && (k > 0 || c->asked_id))
                rc |= json_object_set_new(email, name, json_null());
        if (strcmp(name, "blobId") == 0)
            rc |= json_object_set_new(email, name, json_string(blob_id));
        if (strcmp(name, "size") == 0)
            rc |= json_object_set_new(email, name, json_integer((json_int_t)size));
    }
    return rc;
}

static enum parse_outcome parse_one(struct parse_call *c, const char *blob_id, json_t **out,
                                    struct gw_error *err)
{
    char email_id[JMAP_BLOB_ID_MAX], section[JMAP_BLOB_ID_MAX], whole[JMAP_BLOB_ID_MAX];
    char *data = NULL;
    size_t len = 0;
    struct jmap_mime_message *msg = NULL;
    enum parse_outcome res = FAILED;
    struct jmap_email_body_opts opts = c->opts;
    bool stored = !upload_blob_id_is(blob_id) && jmap_blob_id_parse(blob_id, email_id, section);
    int rc;
    if (stored) {
        /* always the whole message: an attached one is mapped in place */
        struct jmap_blob_bytes bytes = { 0 };
        if (!jmap_blob_id_make(email_id, NULL, whole))
            return NOT_FOUND;
        rc = jmap_download_blob(c->m.account, whole, &bytes, err);
        data = bytes.data;
        len = bytes.len;
        opts.blob_id = jmap_email_blob_id_of_section;
        opts.blob_ctx = email_id;
    } else {
        rc = email_blob_fetch(&c->m, blob_id, &data, &len, err);
        opts.blob_id = NULL;
    }
    if (rc != 0)
        return err->code == GW_ERR_NOTFOUND ? NOT_FOUND : FAILED;
    if (jmap_mime_parse(data, len, &msg, err) != 0)
        goto out;
    json_t *email = json_object();
    if (email == NULL)
        goto out;
    const struct jmap_mime_part *top = &msg->root;
    size_t size = len;
    if (stored && section[0] != '\0') {
        const struct jmap_mime_part *p = jmap_mime_find_section(msg, section);
        if (p == NULL || p->kind != JMAP_MIME_MESSAGE || p->n_children != 1) {
            json_decref(email);
            res = p == NULL ? NOT_FOUND : NOT_PARSABLE;
            goto out;
        }
        top = &p->children[0];
        size = p->body_len;
        rc = jmap_email_from_mime_part(msg, top, c->props, &opts, email, err);
    } else if (msg->root.n_fields == 0) {
        /* no header at all: not a message (RFC 5322 needs at least one) */
        json_decref(email);
        res = NOT_PARSABLE;
        goto out;
    } else {
        rc = jmap_email_from_mime(msg, c->props, &opts, email, err);
    }
    if (rc != 0 || set_metadata(c, email, blob_id, size) != 0) {
        json_decref(email);
        goto out;
    }
    *out = email;
    res = PARSED;
out:
    jmap_mime_message_free(&msg);
    free(data);
    return res;
}

static json_t *add_to(json_t **list, const char *id)
{
    if (*list == NULL)
        *list = json_array();
    return *list != NULL && json_array_append_new(*list, json_string(id)) == 0 ? *list : NULL;
}

json_t *email_parse_method(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    static const char *const allowed[] = { "blobIds", "properties", "bodyProperties",
                                           "fetchTextBodyValues", "fetchHTMLBodyValues",
                                           "fetchAllBodyValues", "maxBodyValueBytes", NULL };
    struct parse_call c;
    json_t *blob_ids = json_object_get(args, "blobIds");
    json_t *parsed = NULL, *not_parsable = NULL, *not_found = NULL, *res = NULL;
    memset(&c, 0, sizeof(c));
    if ((*error = email_args_known(args, allowed)) != NULL)
        return NULL;
    if (!json_is_array(blob_ids)) {
        *error = jmap_error_invalid_arguments("blobIds", "blobIds must be an array of Ids");
        return NULL;
    }
    for (size_t i = 0; i < json_array_size(blob_ids); i++) {
        if (!json_is_string(json_array_get(blob_ids, i))) {
            *error = jmap_error_invalid_arguments("blobIds", "blobIds must be an array of Ids");
            return NULL;
        }
    }
    if (json_array_size(blob_ids) > inv->ctx->limits->max_objects_in_get) {
        *error = jmap_error_new("requestTooLarge", "More blobs than maxObjectsInGet.");
        return NULL;
    }
    json_t *asked = json_object_get(args, "properties");
    for (size_t i = 0; i < json_array_size(asked); i++)
        c.asked_id |= json_is_string(json_array_get(asked, i)) &&
                      strcmp(json_string_value(json_array_get(asked, i)), "id") == 0;
    if ((*error = jmap_email_properties_arg(args, default_properties, &c.props)) != NULL ||
        (*error = jmap_email_body_args(args, &c.opts)) != NULL ||
        (*error = jmap_mail_begin(inv, &c.m)) != NULL)
        goto out;
    for (size_t i = 0; i < json_array_size(blob_ids); i++) {
        const char *id = json_string_value(json_array_get(blob_ids, i));
        struct gw_error err = { 0 };
        json_t *email = NULL;
        bool ok = true;
        if (json_object_get(parsed, id) != NULL)
            continue;       /* asked twice: answered once */
        switch (parse_one(&c, id, &email, &err)) {
        case PARSED:
            if (parsed == NULL)
                parsed = json_object();
            ok = parsed != NULL && json_object_set_new(parsed, id, email) == 0;
            break;
        case NOT_FOUND:
            ok = add_to(&not_found, id) != NULL;
            break;
        case NOT_PARSABLE:
            ok = add_to(&not_parsable, id) != NULL;
            break;
        case FAILED:
            *error = jmap_error_from_gw(&err);
            goto out;
        }
        if (!ok) {
            *error = jmap_error_new("serverFail", "out of memory");
            goto out;
        }
    }
    res = json_pack("{s:s, s:O?, s:O?, s:O?}", "accountId", c.m.account_id, "parsed", parsed,
                    "notParsable", not_parsable, "notFound", not_found);
    if (res == NULL)
        *error = jmap_error_new("serverFail", "out of memory");
out:
    json_decref(c.props);
    json_decref(parsed);
    json_decref(not_parsable);
    json_decref(not_found);
    return res;
}
