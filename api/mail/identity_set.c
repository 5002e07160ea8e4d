/* identity_set.c - Identity/set (RFC 8620 §5.3, RFC 8621 §6.3), small and
 * self-contained until the generic /set framework (jmap_set.h) is on main.
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

/* The properties a client may set, and whether each takes EmailAddress[]. */
static const struct {
    const char *name;
    bool addresses;
} settable[] = {
    {"name", false},          {"email", false},         {"replyTo", true},
    {"bcc", true},            {"textSignature", false}, {"htmlSignature", false},
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

/* The names of the invalid properties of a create/update object (new
 * reference; empty when all is well). */
static json_t *invalid_properties(json_t *obj, bool creating)
{
    json_t *bad = json_array();
    const char *key;
    json_t *v;

    if (bad == NULL)
        return NULL;
    json_object_foreach(obj, key, v) {
        bool ok = false;
        for (size_t i = 0; i < sizeof(settable) / sizeof(settable[0]); i++) {
            if (strcmp(key, settable[i].name) != 0)
                continue;
            ok = settable[i].addresses ? address_list_ok(v) : json_is_string(v);
            /* email is set once, at creation. */
            if (strcmp(key, "email") == 0 && !creating)
                ok = false;
        }
        if (!ok)
            json_array_append_new(bad, json_string(key));
    }
    if (creating && json_object_get(obj, "email") == NULL)
        json_array_append_new(bad, json_string("email"));
    return bad;
}

static json_t *set_error(const char *type, const char *description, json_t *properties)
{
    json_t *e = json_pack("{s:s}", "type", type);

    if (e != NULL && description != NULL)
        json_object_set_new(e, "description", json_string(description));
    if (e != NULL && properties != NULL)
        json_object_set(e, "properties", properties);
    return e;
}

/* A SetError for obj's properties, or NULL when they are fine. */
static json_t *check_object(json_t *obj, bool creating, const char *own_email)
{
    if (!json_is_object(obj))
        return set_error("invalidArguments", "not an object", NULL);
    json_t *bad = invalid_properties(obj, creating);
    if (bad == NULL)
        return set_error("serverFail", "out of memory", NULL);
    if (json_array_size(bad) > 0) {
        json_t *e = set_error("invalidProperties", NULL, bad);
        json_decref(bad);
        return e;
    }
    json_decref(bad);
    const char *email = json_string_value(json_object_get(obj, "email"));
    if (creating && strcasecmp(email, own_email) != 0)
        return set_error("forbiddenFrom", "This account may only send as its own address.",
                         NULL);
    return NULL;
}

struct set_run {
    struct jmap_invocation *inv;
    struct jmap_mail *m;
    const char *own_email;
    json_t *created, *not_created, *updated, *not_updated, *destroyed, *not_destroyed;
};

static void set_create(struct set_run *r, const char *cid, json_t *obj)
{
    struct gw_error err = {0};
    char id[24];
    json_t *e = check_object(obj, true, r->own_email);

    if (e == NULL && identity_store_create(r->m->ms, r->m->account_id, obj, id, &err) != 0)
        e = set_error(jmap_set_error_type_from_gw(err.code), err.msg, NULL);
    if (e != NULL) {
        json_object_set_new(r->not_created, cid, e);
        return;
    }
    /* The server-set and defaulted properties the client did not send. */
    json_t *out = defaults();
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
        json_object_del(out, key);
    json_object_set_new(out, "id", json_string(id));
    json_object_set_new(out, "mayDelete", json_true());
    json_object_set_new(r->created, cid, out);
    if (r->inv->created_ids != NULL)
        json_object_set_new(r->inv->created_ids, cid, json_string(id));
}

/* An id, or "#creationId" of an object created earlier in the request
 * (RFC 8620 §5.3); NULL when the creation id is unknown. */
static const char *resolve_id(const struct set_run *r, const char *id)
{
    if (id[0] != '#')
        return id;
    return json_string_value(json_object_get(r->inv->created_ids, id + 1));
}

static void set_update(struct set_run *r, const char *key, json_t *patch)
{
    struct gw_error err = {0};
    const char *id = resolve_id(r, key);
    json_t *e = id == NULL ? set_error("notFound", "unknown creation id", NULL)
                           : check_object(patch, false, r->own_email);

    if (e == NULL && identity_store_update(r->m->ms, r->m->account_id, id, patch, &err) != 0)
        e = set_error(jmap_set_error_type_from_gw(err.code), NULL, NULL);
    if (e != NULL)
        json_object_set_new(r->not_updated, key, e);
    else
        json_object_set_new(r->updated, id, json_null());
}

static void set_destroy(struct set_run *r, const char *key)
{
    struct gw_error err = {0};
    const char *id = resolve_id(r, key);

    if (id == NULL) {
        json_object_set_new(r->not_destroyed, key,
                            set_error("notFound", "unknown creation id", NULL));
        return;
    }
    if (identity_store_destroy(r->m->ms, r->m->account_id, id, &err) == 0) {
        json_array_append_new(r->destroyed, json_string(id));
        return;
    }
    json_object_set_new(r->not_destroyed, key,
                        set_error(jmap_set_error_type_from_gw(err.code),
                                  err.code == GW_ERR_FORBIDDEN
                                      ? "The account's default identity cannot be destroyed."
                                      : NULL,
                                  NULL));
}

/* create/update/destroy shapes and the maxObjectsInSet limit. */
static json_t *check_args(struct jmap_invocation *inv, json_t *args)
{
    static const char *const known[] = {"accountId", "ifInState", "create", "update",
                                        "destroy"};
    const char *key;
    json_t *v;
    size_t total = 0;

    json_object_foreach(args, key, v) {
        bool ok = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            ok = ok || strcmp(key, known[i]) == 0;
        if (!ok)
            return jmap_error_invalid_arguments(key, "unknown argument");
    }
    v = json_object_get(args, "ifInState");
    if (v != NULL && !json_is_null(v) && !json_is_string(v))
        return jmap_error_invalid_arguments("ifInState", "must be a string or null");
    for (int i = 0; i < 3; i++) {
        const char *name = i == 0 ? "create" : i == 1 ? "update" : "destroy";
        v = json_object_get(args, name);
        if (v == NULL || json_is_null(v))
            continue;
        if (i < 2 ? !json_is_object(v) : !json_is_array(v))
            return jmap_error_invalid_arguments(name, i < 2 ? "must be an object or null"
                                                            : "must be an array or null");
        total += i < 2 ? json_object_size(v) : json_array_size(v);
    }
    json_t *ids = json_object_get(args, "destroy");
    size_t i;
    json_array_foreach(ids, i, v)
        if (!json_is_string(v))
            return jmap_error_invalid_arguments("destroy", "must hold ids");
    if (inv->ctx->limits != NULL && total > inv->ctx->limits->max_objects_in_set)
        return jmap_error_new("requestTooLarge", "More objects than maxObjectsInSet.");
    return NULL;
}

static json_t *or_null(json_t *o)
{
    if ((json_is_object(o) && json_object_size(o) > 0) || (json_is_array(o) && json_array_size(o)))
        return json_incref(o);
    return json_null();
}

json_t *identity_set(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    struct jmap_mail m;
    struct gw_error err = {0};
    char email[IDENTITY_EMAIL_MAX], old_state[IDENTITY_STATE_MAX], new_state[IDENTITY_STATE_MAX];
    struct set_run r = {.inv = inv, .m = &m, .own_email = email};
    json_t *res = NULL;
    const char *key;
    json_t *v;
    size_t i;

    if ((*error = check_args(inv, args)) != NULL || (*error = identity_begin(inv, &m, email)))
        return NULL;
    if (identity_store_state(m.ms, m.account_id, old_state, &err) != 0) {
        *error = jmap_error_from_gw(&err);
        return NULL;
    }
    v = json_object_get(args, "ifInState");
    if (json_is_string(v) && strcmp(json_string_value(v), old_state) != 0) {
        *error = jmap_error_new("stateMismatch", NULL);
        return NULL;
    }
    r.created = json_object();
    r.not_created = json_object();
    r.updated = json_object();
    r.not_updated = json_object();
    r.destroyed = json_array();
    r.not_destroyed = json_object();
    json_object_foreach(json_object_get(args, "create"), key, v)
        set_create(&r, key, v);
    json_object_foreach(json_object_get(args, "update"), key, v)
        set_update(&r, key, v);
    json_array_foreach(json_object_get(args, "destroy"), i, v)
        set_destroy(&r, json_string_value(v));
    if (identity_store_state(m.ms, m.account_id, new_state, &err) != 0)
        *error = jmap_error_from_gw(&err);
    else
        res = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "accountId",
                        m.account_id, "oldState", old_state, "newState", new_state, "created",
                        or_null(r.created), "updated", or_null(r.updated), "destroyed",
                        or_null(r.destroyed), "notCreated", or_null(r.not_created),
                        "notUpdated", or_null(r.not_updated), "notDestroyed",
                        or_null(r.not_destroyed));
    if (res == NULL && *error == NULL)
        *error = jmap_error_new("serverFail", "out of memory");
    json_decref(r.created);
    json_decref(r.not_created);
    json_decref(r.updated);
    json_decref(r.not_updated);
    json_decref(r.destroyed);
    json_decref(r.not_destroyed);
    return res;
}
