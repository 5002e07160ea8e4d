/* identity_set.c - Identity/set (RFC 8620 §5.3, RFC 8621 §6.3) on the
 * generic /set framework (include/jmap_set.h): arguments, creation ids,
 * PatchObjects and the response are the framework's; here only what an
 * Identity is.
 *
 * Policy: an identity may only use the account's own address (the one the
 * submission server lets this login send as); any other email is
 * forbiddenFrom. email is immutable after creation; id and mayDelete are
 * the server's.
 */
#include "identity.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "identity_store.h"
#include "jmap_set.h"

static const struct jmap_set_prop identity_props[] = {
    { "id", JMAP_PROP_SERVER_SET | JMAP_PROP_IMMUTABLE },
    { "mayDelete", JMAP_PROP_SERVER_SET },
    { "email", JMAP_PROP_IMMUTABLE },
    { "name", 0 },
    { "replyTo", 0 },
    { "bcc", 0 },
    { "textSignature", 0 },
    { "htmlSignature", 0 },
    { NULL, 0 },
};

/* The defaults a created identity gets for what the client left out. */
static json_t *defaults(void)
{
    return json_pack("{s:s, s:n, s:n, s:s, s:s}", "name", "", "replyTo", "bcc",
                     "textSignature", "", "htmlSignature", "");
}

/* null or an array of {name: String|null, email: String}. */
static bool address_list_ok(json_t *v)
{
    size_t i;
    json_t *a;

    if (json_is_null(v))
        return true;
    if (!json_is_array(v))
        return false;
    json_array_foreach(v, i, a) {
        const char *key;
        json_t *x;
        if (!json_is_object(a) || !json_is_string(json_object_get(a, "email")))
            return false;
        json_object_foreach(a, key, x) {
            if (strcmp(key, "email") == 0)
                continue;
            if (strcmp(key, "name") != 0 || !(json_is_string(x) || json_is_null(x)))
                return false;
        }
    }
    return true;
}

/* The value types of the client-settable properties in obj; the names
 * themselves were checked against identity_props. */
static json_t *check_types(json_t *obj)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        bool addresses = strcmp(key, "replyTo") == 0 || strcmp(key, "bcc") == 0;
        bool server = strcmp(key, "id") == 0 || strcmp(key, "mayDelete") == 0;
        if (!server && !(addresses ? address_list_ok(v) : json_is_string(v)))
            return jmap_set_error_invalid_property(key, addresses
                                                            ? "must be null or EmailAddress[]."
                                                            : "must be a string.");
    }
    return NULL;
}

struct identity_set_ctx {
    struct jmap_mail *m;
    const char *own_email;
};

static int identity_create(void *ctx, const char *cid, json_t *obj, json_t **result,
                           json_t **set_error)
{
    struct identity_set_ctx *c = ctx;
    struct gw_error err = { 0 };
    char id[24];
    (void)cid;
    if ((*set_error = jmap_set_check_properties(identity_props, obj, NULL)) != NULL ||
        (*set_error = check_types(obj)) != NULL)
        return -1;
    const char *email = json_string_value(json_object_get(obj, "email"));
    if (email == NULL) {
        *set_error = jmap_set_error_invalid_property("email", "is required.");
        return -1;
    }
    if (strcasecmp(email, c->own_email) != 0) {
        *set_error = jmap_set_error_new("forbiddenFrom",
                                        "This account may only send as its own address.");
        return -1;
    }
    if (identity_store_create(c->m->ms, c->m->account_id, obj, id, &err) != 0) {
        *set_error = jmap_set_error_from_gw(&err);
        return -1;
    }
    /* The server-set and defaulted properties the client did not send. */
    json_t *out = defaults();
    const char *key;
    json_t *v;
    if (out == NULL) {
        *set_error = jmap_set_error_new("serverFail", NULL);
        return -1;
    }
    json_object_foreach(obj, key, v)
        json_object_del(out, key);
    json_object_set_new(out, "id", json_string(id));
    json_object_set_new(out, "mayDelete", json_true());
    *result = out;
    return 0;
}

/* The live identity id as a full object (new reference), or NULL with
 * *set_error. */
static json_t *current_identity(struct identity_set_ctx *c, const char *id, json_t **set_error)
{
    struct gw_error err = { 0 };
    char state[IDENTITY_STATE_MAX];
    json_t *all = NULL, *found = NULL, *x;
    size_t i;
    if (identity_store_list(c->m->ms, c->m->account_id, &all, state, &err) != 0) {
        *set_error = jmap_set_error_from_gw(&err);
        return NULL;
    }
    json_array_foreach(all, i, x) {
        const char *xid = json_string_value(json_object_get(x, "id"));
        if (found == NULL && xid != NULL && strcmp(xid, id) == 0)
            found = json_incref(x);
    }
    json_decref(all);
    if (found == NULL)
        *set_error = jmap_set_error_new("notFound", NULL);
    return found;
}

static int identity_update(void *ctx, const char *id, json_t *patch, json_t **result,
                           json_t **set_error)
{
    struct identity_set_ctx *c = ctx;
    struct gw_error err = { 0 };
    json_t *next = NULL, *changed = NULL;
    int rc = -1;
    (void)result;
    json_t *cur = current_identity(c, id, set_error);
    if (cur == NULL ||
        (next = jmap_set_patch_apply(cur, patch, set_error)) == NULL ||
        (*set_error = jmap_set_check_properties(identity_props, next, cur)) != NULL ||
        (*set_error = check_types(next)) != NULL)
        goto out;
    /* Only what differs goes to the store: email, id and mayDelete cannot. */
    if ((changed = json_object()) == NULL) {
        *set_error = jmap_set_error_new("serverFail", NULL);
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(next, key, v) {
        if (!json_equal(v, json_object_get(cur, key)))
            json_object_set(changed, key, v);
    }
    if (json_object_size(changed) != 0 &&
        identity_store_update(c->m->ms, c->m->account_id, id, changed, &err) != 0) {
        *set_error = jmap_set_error_from_gw(&err);
        goto out;
    }
    rc = 0;
out:
    json_decref(cur);
    json_decref(next);
    json_decref(changed);
    return rc;
}

static int identity_destroy(void *ctx, const char *id, json_t **set_error)
{
    struct identity_set_ctx *c = ctx;
    struct gw_error err = { 0 };
    if (identity_store_destroy(c->m->ms, c->m->account_id, id, &err) == 0)
        return 0;
    *set_error = err.code == GW_ERR_FORBIDDEN
                     ? jmap_set_error_new("forbidden",
                                          "The account's default identity cannot be destroyed.")
                     : jmap_set_error_from_gw(&err);
    return -1;
}

json_t *identity_set(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    struct jmap_mail m;
    struct jmap_set_args a;
    struct jmap_set_response r = { 0 };
    struct gw_error err = { 0 };
    char email[IDENTITY_EMAIL_MAX], old_state[IDENTITY_STATE_MAX], new_state[IDENTITY_STATE_MAX];
    struct identity_set_ctx c = { .m = &m, .own_email = email };
    json_t *out = NULL;

    if ((*error = jmap_set_args_parse(inv, args, NULL, &a)) != NULL ||
        (*error = identity_begin(inv, &m, email)) != NULL)
        return NULL;
    if (identity_store_state(m.ms, m.account_id, old_state, &err) != 0) {
        *error = jmap_error_from_gw(&err);
        return NULL;
    }
    if ((*error = jmap_set_check_if_in_state(&a, old_state)) != NULL)
        return NULL;
    const struct jmap_set_ops ops = { &c, identity_create, identity_update, identity_destroy };
    jmap_set_response_init(&r);
    if (jmap_set_run(inv, &a, &ops, &r) != 0)
        *error = jmap_error_new("serverFail", "out of memory");
    else if (identity_store_state(m.ms, m.account_id, new_state, &err) != 0)
        *error = jmap_error_from_gw(&err);
    else
        out = jmap_set_response_finish(&r, m.account_id, old_state, new_state);
    jmap_set_response_clear(&r);
    return out;
}
