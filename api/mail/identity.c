/* identity.c - Identity/get and Identity/changes (RFC 8621 §6) from the
 * gateway's store, and the method table (Identity/set: identity_set.c). */
#include "identity.h"

#include <stdint.h>

#include "account.h"
#include "identity_store.h"
#include "jmap_args.h"
#include "jmap_methods_all.h"
#include "jmap_submission.h"
#include "owned_object.h"

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

static json_t *identity_get(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    struct jmap_get_args ga;
    struct jmap_mail m;
    struct gw_error err = {0};
    char email[IDENTITY_EMAIL_MAX], state[IDENTITY_STATE_MAX];
    json_t *all = NULL;

    if ((*error = jmap_args_get(inv, args, identity_properties, NULL, &ga)) != NULL ||
        (*error = identity_begin(inv, &m, email)) != NULL)
        return NULL;
    if (identity_store_list(m.ms, m.account_id, &all, state, &err) != 0) {
        *error = jmap_error_from_gw(&err);
        return NULL;
    }
    json_t *res = owned_object_get(m.account_id, state, all, &ga, error);
    json_decref(all);
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
        *error = owned_object_changes_error(&err, "Identity");
        return NULL;
    }
    json_t *res = owned_object_changes(m.account_id, ca.since_state, ch.new_state, ch.has_more,
                                       ch.created, ch.updated, ch.destroyed, error);
    identity_changes_clear(&ch);
    return res;
}

const struct jmap_method jmap_identity_methods[] = {
    {"Identity/changes", JMAP_CAPABILITY_SUBMISSION, JMAP_METHOD_NEEDS_ACCOUNT, identity_changes},
    {"Identity/get", JMAP_CAPABILITY_SUBMISSION, JMAP_METHOD_NEEDS_ACCOUNT, identity_get},
    {"Identity/set", JMAP_CAPABILITY_SUBMISSION, JMAP_METHOD_NEEDS_ACCOUNT, identity_set},
};
const size_t jmap_identity_method_count = sizeof(jmap_identity_methods) /
                                          sizeof(jmap_identity_methods[0]);
