/* identity.c - Identity/get and Identity/changes (RFC 8621 §6) from the
 * gateway's store, and the method table (Identity/set: identity_set.c). */
#include "identity.h"

#include <stdint.h>
#include <string.h>

#include "account.h"
#include "identity_store.h"
#include "jmap_args.h"
#include "jmap_methods_all.h"
#include "jmap_submission.h"

static const char *const identity_properties[] = {
    "id", "name", "email", "replyTo", "bcc", "textSignature", "htmlSignature", "mayDelete", NULL,
};

json_t *identity_begin(struct jmap_invocation *inv, struct jmap_mail *m,
                       char email[IDENTITY_EMAIL_MAX])
{
    struct gw_error err = {0};

    if (jmap_mail_open(inv->ctx->account, m, &err) != 0)
        return jmap_error_from_gw(&err);
    m->inv = inv;
    if (jmap_submission_default_email(account_username(m->account), email, IDENTITY_EMAIL_MAX) < 0)
        return jmap_error_new("serverFail", "login name too long for an address");
    if (identity_store_ensure_default(m->ms, m->account_id, email, "", &err) != 0)
        return jmap_error_from_gw(&err);
    return NULL;
}

static json_t *find_identity(json_t *list, const char *id)
{
    size_t i;
    json_t *o;

    json_array_foreach(list, i, o)
        if (strcmp(json_string_value(json_object_get(o, "id")), id) == 0)
            return o;
    return NULL;
}

/* o without the properties not asked for (id always stays). */
static json_t *project(json_t *o, json_t *properties)
{
    json_t *out = json_object();
    size_t i;
    json_t *p;

    if (out == NULL)
        return NULL;
    json_object_set(out, "id", json_object_get(o, "id"));
    if (properties == NULL) {
        json_object_update(out, o);
        return out;
    }
    json_array_foreach(properties, i, p) {
        json_t *v = json_object_get(o, json_string_value(p));
        if (v != NULL)
            json_object_set(out, json_string_value(p), v);
    }
    return out;
}

static json_t *identity_get(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    struct jmap_get_args ga;
    struct jmap_mail m;
    struct gw_error err = {0};
    char email[IDENTITY_EMAIL_MAX], state[IDENTITY_STATE_MAX];
    json_t *all = NULL, *list = NULL, *not_found = NULL, *res = NULL;

    if ((*error = jmap_args_get(inv, args, identity_properties, NULL, &ga)) != NULL ||
        (*error = identity_begin(inv, &m, email)) != NULL)
        return NULL;
    if (identity_store_list(m.ms, m.account_id, &all, state, &err) != 0) {
        *error = jmap_error_from_gw(&err);
        return NULL;
    }
    list = json_array();
    not_found = json_array();
    if (list == NULL || not_found == NULL)
        goto out;
    if (ga.ids == NULL) {
        size_t i;
        json_t *o;
        json_array_foreach(all, i, o)
            json_array_append_new(list, project(o, ga.properties));
    } else {
        size_t i;
        json_t *id;
        json_array_foreach(ga.ids, i, id) {
            json_t *o = find_identity(all, json_string_value(id));
            if (o == NULL)
                json_array_append(not_found, id);
            else if (find_identity(list, json_string_value(id)) == NULL)
                json_array_append_new(list, project(o, ga.properties));
        }
    }
    res = json_pack("{s:s, s:s, s:O, s:O}", "accountId", m.account_id, "state", state, "list",
                    list, "notFound", not_found);
out:
    if (res == NULL)
        *error = jmap_error_new("serverFail", "out of memory");
    json_decref(all);
    json_decref(list);
    json_decref(not_found);
    return res;
}

static json_t *identity_changes(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    struct jmap_changes_args ca;
    struct jmap_mail m;
    struct identity_changes ch;
    struct gw_error err = {0};
    char email[IDENTITY_EMAIL_MAX];

    if ((*error = jmap_args_changes(args, NULL, &ca)) != NULL ||
        (*error = identity_begin(inv, &m, email)) != NULL)
        return NULL;
    if (identity_store_changes(m.ms, m.account_id, ca.since_state,
                               ca.max_changes ? (size_t)ca.max_changes : SIZE_MAX, &ch,
                               &err) != 0) {
        *error = err.code == GW_ERR_INVALID
                     ? jmap_error_new("cannotCalculateChanges", "Unknown Identity state.")
                     : jmap_error_from_gw(&err);
        return NULL;
    }
    json_t *res = json_pack("{s:s, s:s, s:s, s:b, s:O, s:O, s:O}", "accountId", m.account_id,
                            "oldState", ca.since_state, "newState", ch.new_state,
                            "hasMoreChanges", ch.has_more, "created", ch.created, "updated",
                            ch.updated, "destroyed", ch.destroyed);
    identity_changes_clear(&ch);
    if (res == NULL)
        *error = jmap_error_new("serverFail", "out of memory");
    return res;
}

const struct jmap_method jmap_identity_methods[] = {
    {"Identity/changes", JMAP_CAPABILITY_SUBMISSION, JMAP_METHOD_NEEDS_ACCOUNT, identity_changes},
    {"Identity/get", JMAP_CAPABILITY_SUBMISSION, JMAP_METHOD_NEEDS_ACCOUNT, identity_get},
    {"Identity/set", JMAP_CAPABILITY_SUBMISSION, JMAP_METHOD_NEEDS_ACCOUNT, identity_set},
};
const size_t jmap_identity_method_count = sizeof(jmap_identity_methods) /
                                          sizeof(jmap_identity_methods[0]);
