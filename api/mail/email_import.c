/* email_import.c - Email/import (RFC 8621 §4.8): uploaded (or stored)
 * message blobs APPENDed with their mailboxIds, keywords and receivedAt;
 * Email/copy (§4.7); and the method table of the Email write methods
 * that are not Email/set (Email/parse lives in email_parse.c). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "email_create.h"
#include "gw_log.h"
#include "jmap_message.h"
#include "jmap_methods_all.h"
#include "jmap_mime.h"

/* Arguments not in allowed (NULL-terminated; accountId always is) are
 * invalidArguments. */
json_t *email_args_known(json_t *args, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(args, key, v) {
        bool ok = strcmp(key, "accountId") == 0;
        for (const char *const *a = allowed; !ok && *a != NULL; a++)
            ok = strcmp(key, *a) == 0;
        if (!ok)
            return jmap_error_invalid_arguments(key, "unknown argument");
    }
    return NULL;
}

/* RFC 8621 §4.8: receivedAt defaults to the time of the most recent
 * Received header field (the topmost: each relay prepends its own), the
 * date after its last ';' (RFC 5321 §4.4). 0 when there is none. */
static time_t received_time(const char *data, size_t len)
{
    struct jmap_mime_message *msg = NULL;
    time_t res = 0;
    if (jmap_mime_parse(data, len, &msg, NULL) != 0)
        return 0;
    for (size_t i = 0; i < msg->root.n_fields; i++) {
        const struct jmap_mime_field *f = &msg->root.fields[i];
        if (f->name_len != 8 || strncasecmp(f->name, "Received", 8) != 0)
            continue;
        const char *semi = NULL;
        for (size_t k = 0; k < f->value_len; k++)
            if (f->value[k] == ';')
                semi = f->value + k;
        long long utc = 0;
        int offset = 0;
        if (semi != NULL &&
            jmap_header_parse_date(semi + 1, f->value_len - (size_t)(semi + 1 - f->value), &utc,
                                   &offset) == 0 && utc > 0)
            res = (time_t)utc;
        break;
    }
    jmap_mime_message_free(&msg);
    return res;
}

static json_t *import_one(struct jmap_mail *m, json_t *obj, json_t **fail)
{
    static const char *const keys[] = { "blobId", "mailboxIds", "keywords", "receivedAt" };
    struct email_meta meta;
    struct gw_error err = { 0 };
    char *data = NULL;
    size_t len = 0;
    json_t *set_error = NULL, *res = NULL;
    memset(&meta, 0, sizeof(meta));
    if (!json_is_object(obj))
        return json_pack("{s:s, s:[]}", "type", "invalidProperties", "properties");
    json_t *bad = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        bool ok = false;
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            ok |= strcmp(key, keys[i]) == 0;
        if (!ok)
            json_array_append_new(bad, json_string(key));
    }
    if (!json_is_string(json_object_get(obj, "blobId")))
        json_array_append_new(bad, json_string("blobId"));
    if (json_array_size(bad) > 0)
        return json_pack("{s:s, s:o}", "type", "invalidProperties", "properties", bad);
    json_decref(bad);
    if ((set_error = email_meta_parse(m, obj, &meta, fail)) != NULL || *fail != NULL)
        goto out;
    if (email_blob_fetch(m, json_string_value(json_object_get(obj, "blobId")), &data, &len,
                         &err) != 0) {
        if (err.code == GW_ERR_NOTFOUND)
            set_error = json_pack("{s:s, s:[s], s:s}", "type", "invalidProperties", "properties",
                                  "blobId", "description", "No blob with this id.");
        else
            set_error = email_set_error_from_gw(&err);
        goto out;
    }
    /* RFC 5322 messages have no NUL: the server would refuse or mangle it. */
    if (len == 0 || memchr(data, '\0', len) != NULL) {
        set_error = json_pack("{s:s, s:s}", "type", "invalidEmail", "description",
                              "The blob is not a message (empty, or holds NUL octets).");
        goto out;
    }
    json_t *received = json_object_get(obj, "receivedAt");
    if (received == NULL || json_is_null(received))
        meta.received_at = received_time(data, len);
    res = email_append_message(m, &meta, data, len, &set_error);
out:
    free(data);
    email_meta_clear(&meta);
    return res != NULL ? res : set_error;
}

static json_t *email_import(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    static const char *const allowed[] = { "ifInState", "emails", NULL };
    struct jmap_mail m;
    char old_state[MAIL_STORE_STATE_MAX], new_state[MAIL_STORE_STATE_MAX];
    json_t *created = NULL, *not_created = NULL, *res = NULL;
    json_t *emails = json_object_get(args, "emails");
    json_t *if_in_state = json_object_get(args, "ifInState");
    if ((*error = email_args_known(args, allowed)) != NULL)
        return NULL;
    if (!json_is_object(emails)) {
        *error = jmap_error_invalid_arguments("emails", "emails must be an object");
        return NULL;
    }
    if (if_in_state != NULL && !json_is_null(if_in_state) && !json_is_string(if_in_state)) {
        *error = jmap_error_invalid_arguments("ifInState", "ifInState must be a string");
        return NULL;
    }
    if (json_object_size(emails) > inv->ctx->limits->max_objects_in_set) {
        *error = jmap_error_new("requestTooLarge", "More Emails than maxObjectsInSet.");
        return NULL;
    }
    if ((*error = jmap_mail_begin(inv, &m)) != NULL ||
        (*error = jmap_mail_state(&m, MAIL_STORE_EMAIL, old_state)) != NULL)
        return NULL;
    if (json_is_string(if_in_state) && strcmp(json_string_value(if_in_state), old_state) != 0) {
        *error = jmap_error_new("stateMismatch", NULL);
        return NULL;
    }
    created = json_object();
    not_created = json_object();
    const char *cid;
    json_t *obj;
    json_object_foreach(emails, cid, obj) {
        json_t *fail = NULL;
        json_t *one = import_one(&m, obj, &fail);
        if (fail != NULL) {
            json_decref(one);
            *error = fail;
            goto out;
        }
        if (one == NULL) {
            *error = jmap_error_new("serverFail", "out of memory");
            goto out;
        }
        if (json_object_get(one, "id") != NULL) {
            json_object_set(inv->created_ids, cid, json_object_get(one, "id"));
            json_object_set_new(created, cid, one);
        } else {
            json_object_set_new(not_created, cid, one);
        }
    }
    if ((*error = jmap_mail_state(&m, MAIL_STORE_EMAIL, new_state)) != NULL)
        goto out;
    res = json_pack("{s:s, s:s, s:s, s:O, s:O}", "accountId", m.account_id, "oldState", old_state,
                    "newState", new_state, "created",
                    json_object_size(created) > 0 ? created : json_null(), "notCreated",
                    json_object_size(not_created) > 0 ? not_created : json_null());
    if (res == NULL)
        *error = jmap_error_new("serverFail", "out of memory");
out:
    json_decref(created);
    json_decref(not_created);
    return res;
}

/* Email/copy (RFC 8620 §5.4, RFC 8621 §4.7). Each login of this gateway
 * is one account, and /copy needs two different ones: a fromAccountId
 * equal to accountId breaks the RFC's MUST, any other is not an account
 * these credentials reach. */
static json_t *email_copy(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    static const char *const allowed[] = { "fromAccountId", "ifFromInState", "ifInState",
                                           "create", "onSuccessDestroyOriginal",
                                           "destroyFromIfInState", NULL };
    json_t *from = json_object_get(args, "fromAccountId");
    if ((*error = email_args_known(args, allowed)) != NULL)
        return NULL;
    if (!json_is_string(from)) {
        *error = jmap_error_invalid_arguments("fromAccountId", "fromAccountId must be an Id");
        return NULL;
    }
    if (!json_is_object(json_object_get(args, "create"))) {
        *error = jmap_error_invalid_arguments("create", "create must be an object");
        return NULL;
    }
    if (strcmp(json_string_value(from), inv->ctx->account_id) == 0) {
        *error = jmap_error_invalid_arguments("fromAccountId",
                                              "fromAccountId must differ from accountId");
        return NULL;
    }
    *error = jmap_error_new("fromAccountNotFound",
                            "These credentials reach no account with that id.");
    return NULL;
}

const struct jmap_method jmap_email_write_methods[] = {
    { "Email/copy", JMAP_CAPABILITY_MAIL, JMAP_METHOD_NEEDS_ACCOUNT, email_copy },
    { "Email/import", JMAP_CAPABILITY_MAIL, JMAP_METHOD_NEEDS_ACCOUNT, email_import },
    { "Email/parse", JMAP_CAPABILITY_MAIL, JMAP_METHOD_NEEDS_ACCOUNT, email_parse_method },
};
const size_t jmap_email_write_method_count =
    sizeof(jmap_email_write_methods) / sizeof(jmap_email_write_methods[0]);
