/* set.c - the standard /set arguments, creation-id references, SetErrors
 * and the response (include/jmap_set.h). Patches and property tables are
 * in set_patch.c. */
#include "jmap_set.h"

#include "jmap_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const standard_args[] = { "ifInState", "create", "update", "destroy", NULL };

/* An Id, or "#" followed by one (a creation-id reference). */
static bool id_or_reference(const char *s)
{
    return s != NULL && (jmap_id_is_valid(s) || (s[0] == '#' && jmap_id_is_valid(s + 1)));
}

static json_t *optional_map(json_t *args, const char *name, bool references, json_t **out)
{
    json_t *v = json_object_get(args, name);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return NULL;
    if (!json_is_object(v))
        return jmap_args_invalid(name, "must be an object or null");
    const char *key;
    json_t *value;
    json_object_foreach(v, key, value) {
        if (!(references ? id_or_reference(key) : jmap_id_is_valid(key)))
            return jmap_args_invalid(name, "has a key that is not a valid Id");
        if (!json_is_object(value))
            return jmap_args_invalid(name, "has a value that is not an object");
    }
    *out = v;
    return NULL;
}

json_t *jmap_set_args_parse(struct jmap_invocation *inv, json_t *args, const char *const *extra,
                            struct jmap_set_args *out)
{
    memset(out, 0, sizeof(*out));
    const char *key;
    json_t *value;
    json_object_foreach(args, key, value) {
        if (strcmp(key, "accountId") != 0 && !jmap_args_name_in(key, standard_args) && !jmap_args_name_in(key, extra))
            return jmap_args_invalid(key, "is not an argument of this method");
    }
    json_t *v = json_object_get(args, "ifInState");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_string(v))
            return jmap_args_invalid("ifInState", "must be a string or null");
        out->if_in_state = json_string_value(v);
    }
    json_t *error = optional_map(args, "create", false, &out->create);
    if (error == NULL)
        error = optional_map(args, "update", true, &out->update);
    if (error != NULL)
        return error;
    v = json_object_get(args, "destroy");
    if (v != NULL && !json_is_null(v)) {
        size_t i;
        json_t *id;
        if (!json_is_array(v))
            return jmap_args_invalid("destroy", "must be an array of Ids or null");
        json_array_foreach(v, i, id) {
            if (!id_or_reference(json_string_value(id)))
                return jmap_args_invalid("destroy", "holds something that is not a valid Id");
        }
        out->destroy = v;
    }
    size_t total = json_object_size(out->create) + json_object_size(out->update) +
                   json_array_size(out->destroy);
    uint64_t max = inv->ctx->limits != NULL ? inv->ctx->limits->max_objects_in_set : 0;
    if (max != 0 && total > max) {
        char desc[120];
        snprintf(desc, sizeof(desc), "At most %llu objects may be set in one call.",
                 (unsigned long long)max);
        return jmap_error_new("requestTooLarge", desc);
    }
    return NULL;
}

json_t *jmap_set_check_if_in_state(const struct jmap_set_args *a, const char *state)
{
    if (a->if_in_state == NULL || (state != NULL && strcmp(a->if_in_state, state) == 0))
        return NULL;
    return jmap_error_new("stateMismatch", "ifInState does not match the current state.");
}

const char *jmap_set_resolve_id(struct jmap_invocation *inv, const char *id)
{
    if (id == NULL || id[0] != '#')
        return id;
    return json_string_value(json_object_get(inv->created_ids, id + 1));
}

json_t *jmap_set_error_new(const char *type, const char *description)
{
    return jmap_error_new(type, description);
}

json_t *jmap_set_error_invalid_property(const char *property, const char *description)
{
    json_t *e = jmap_error_new("invalidProperties", description);
    if (e != NULL && property != NULL)
        json_object_set_new(e, "properties", json_pack("[s]", property));
    return e;
}

json_t *jmap_set_error_from_gw(const struct gw_error *err)
{
    enum gw_error_code code = err != NULL ? err->code : GW_ERR_INTERNAL;
    const char *type = jmap_set_error_type_from_gw(code);
    const char *description = "The server could not complete this change.";
    if (code == GW_ERR_UNAVAILABLE || code == GW_ERR_TLS)
        description = "The mail server is unavailable; try again later.";
    else if (err != NULL && code != GW_ERR_PROTOCOL && gw_error_is_client_safe(code) &&
             err->msg[0] != '\0')
        description = err->msg;
    return jmap_error_new(type, description);
}

void jmap_set_response_init(struct jmap_set_response *r)
{
    r->created = json_object();
    r->updated = json_object();
    r->destroyed = json_array();
    r->not_created = json_object();
    r->not_updated = json_object();
    r->not_destroyed = json_object();
}

void jmap_set_response_clear(struct jmap_set_response *r)
{
    json_decref(r->created);
    json_decref(r->updated);
    json_decref(r->destroyed);
    json_decref(r->not_created);
    json_decref(r->not_updated);
    json_decref(r->not_destroyed);
    memset(r, 0, sizeof(*r));
}

static bool in_destroy(struct jmap_invocation *inv, const struct jmap_set_args *a, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(a->destroy, i, v) {
        const char *d = jmap_set_resolve_id(inv, json_string_value(v));
        if (d != NULL && strcmp(d, id) == 0)
            return true;
    }
    return false;
}

/* A callback that failed without saying why must still give the client a
 * SetError. */
static json_t *or_server_fail(json_t *set_error)
{
    return set_error != NULL ? set_error : jmap_error_new("serverFail", NULL);
}

static int run_creates(struct jmap_invocation *inv, const struct jmap_set_args *a,
                       const struct jmap_set_ops *ops, struct jmap_set_response *r)
{
    const char *cid;
    json_t *obj;
    json_object_foreach(a->create, cid, obj) {
        json_t *result = NULL, *set_error = NULL;
        if (ops->create == NULL) {
            set_error = jmap_error_new("forbidden", "This type cannot be created.");
        } else if (ops->create(ops->ctx, cid, obj, &result, &set_error) == 0) {
            const char *id = json_string_value(json_object_get(result, "id"));
            if (id == NULL)
                abort();   /* a create callback must report the new id */
            if (inv->created_ids != NULL &&
                json_object_set_new(inv->created_ids, cid, json_string(id)) != 0) {
                json_decref(result);
                return -1;
            }
            json_object_set_new(r->created, cid, result);
            continue;
        }
        json_object_set_new(r->not_created, cid, or_server_fail(set_error));
    }
    return 0;
}

static void run_updates(struct jmap_invocation *inv, const struct jmap_set_args *a,
                        const struct jmap_set_ops *ops, struct jmap_set_response *r)
{
    const char *key;
    json_t *patch;
    json_object_foreach(a->update, key, patch) {
        const char *id = jmap_set_resolve_id(inv, key);
        json_t *result = NULL, *set_error = NULL;
        if (id == NULL)
            set_error = jmap_error_new("notFound", "No object was created with this creation id.");
        else if (in_destroy(inv, a, id))
            set_error = jmap_error_new("willDestroy", "The object is destroyed in this call.");
        else if (ops->update == NULL)
            set_error = jmap_error_new("forbidden", "This type cannot be updated.");
        else if (ops->update(ops->ctx, id, patch, &result, &set_error) == 0) {
            json_object_set_new(r->updated, id, result != NULL ? result : json_null());
            continue;
        }
        json_object_set_new(r->not_updated, id != NULL ? id : key, or_server_fail(set_error));
    }
}

static bool already_answered(const struct jmap_set_response *r, const char *id)
{
    size_t j;
    json_t *d;
    if (json_object_get(r->not_destroyed, id) != NULL)
        return true;
    json_array_foreach(r->destroyed, j, d) {
        if (strcmp(json_string_value(d), id) == 0)
            return true;
    }
    return false;
}

static void run_destroys(struct jmap_invocation *inv, const struct jmap_set_args *a,
                         const struct jmap_set_ops *ops, struct jmap_set_response *r)
{
    size_t i;
    json_t *v;
    json_array_foreach(a->destroy, i, v) {
        const char *key = json_string_value(v);
        const char *id = jmap_set_resolve_id(inv, key);
        json_t *set_error = NULL;
        if (id == NULL)
            set_error = jmap_error_new("notFound", "No object was created with this creation id.");
        else if (already_answered(r, id))
            continue;   /* a repeated id is answered once */
        if (set_error == NULL) {
            if (ops->destroy == NULL)
                set_error = jmap_error_new("forbidden", "This type cannot be destroyed.");
            else if (ops->destroy(ops->ctx, id, &set_error) == 0) {
                json_array_append_new(r->destroyed, json_string(id));
                continue;
            }
        }
        json_object_set_new(r->not_destroyed, id != NULL ? id : key, or_server_fail(set_error));
    }
}

int jmap_set_run(struct jmap_invocation *inv, const struct jmap_set_args *a,
                 const struct jmap_set_ops *ops, struct jmap_set_response *r)
{
    if (r->created == NULL || r->updated == NULL || r->destroyed == NULL ||
        r->not_created == NULL || r->not_updated == NULL || r->not_destroyed == NULL)
        return -1;
    if (run_creates(inv, a, ops, r) != 0)
        return -1;
    run_updates(inv, a, ops, r);
    run_destroys(inv, a, ops, r);
    return 0;
}

/* Empty maps and lists are answered null: clients read {} as a failure. */
static json_t *or_null(json_t **v)
{
    json_t *x = *v;
    *v = NULL;
    if (x == NULL || (json_is_object(x) && json_object_size(x) == 0) ||
        (json_is_array(x) && json_array_size(x) == 0)) {
        json_decref(x);
        return json_null();
    }
    return x;
}

json_t *jmap_set_response_finish(struct jmap_set_response *r, const char *account_id,
                                 const char *old_state, const char *new_state)
{
    json_t *o = json_object();
    if (o == NULL) {
        jmap_set_response_clear(r);
        return NULL;
    }
    json_object_set_new(o, "accountId", json_string(account_id));
    json_object_set_new(o, "oldState", old_state != NULL ? json_string(old_state) : json_null());
    json_object_set_new(o, "newState", json_string(new_state != NULL ? new_state : ""));
    json_object_set_new(o, "created", or_null(&r->created));
    json_object_set_new(o, "updated", or_null(&r->updated));
    json_object_set_new(o, "destroyed", or_null(&r->destroyed));
    json_object_set_new(o, "notCreated", or_null(&r->not_created));
    json_object_set_new(o, "notUpdated", or_null(&r->not_updated));
    json_object_set_new(o, "notDestroyed", or_null(&r->not_destroyed));
    jmap_set_response_clear(r);
    return o;
}
