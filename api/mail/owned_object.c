/* owned_object.c - api/mail/owned_object.h. */
#include "owned_object.h"

#include <stdio.h>
#include <string.h>

#include "jmap_method.h"

static json_t *find(json_t *list, const char *id)
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

json_t *owned_object_get(const char *account_id, const char *state, json_t *all,
                         const struct jmap_get_args *ga, json_t **error)
{
    json_t *list = json_array(), *not_found = json_array(), *res = NULL;
    size_t i;
    json_t *o;

    if (list == NULL || not_found == NULL)
        goto out;
    json_array_foreach(ga->ids != NULL ? ga->ids : all, i, o) {
        const char *id = ga->ids != NULL ? json_string_value(o)
                                         : json_string_value(json_object_get(o, "id"));
        json_t *found = find(all, id);
        if (found == NULL)
            json_array_append(not_found, o);   /* only an asked id is ever missing */
        else if (find(list, id) == NULL)
            json_array_append_new(list, project(found, ga->properties));
    }
    res = json_pack("{s:s, s:s, s:O, s:O}", "accountId", account_id, "state", state, "list",
                    list, "notFound", not_found);
out:
    if (res == NULL)
        *error = jmap_error_new("serverFail", "out of memory");
    json_decref(list);
    json_decref(not_found);
    return res;
}

json_t *owned_object_changes(const char *account_id, const char *old_state,
                             const char *new_state, bool has_more, json_t *created,
                             json_t *updated, json_t *destroyed, json_t **error)
{
    json_t *res = json_pack("{s:s, s:s, s:s, s:b, s:O, s:O, s:O}", "accountId", account_id,
                            "oldState", old_state, "newState", new_state, "hasMoreChanges",
                            has_more, "created", created, "updated", updated, "destroyed",
                            destroyed);
    if (res == NULL)
        *error = jmap_error_new("serverFail", "out of memory");
    return res;
}

json_t *owned_object_changes_error(const struct gw_error *err, const char *type_name)
{
    char text[80];

    if (err->code != GW_ERR_INVALID)
        return jmap_error_from_gw(err);
    if (snprintf(text, sizeof(text), "Unknown %s state.", type_name) >= (int)sizeof(text))
        return jmap_error_new("cannotCalculateChanges", "Unknown state.");
    return jmap_error_new("cannotCalculateChanges", text);
}
