/* method_args.c - the standard argument checks of RFC 8620 §5 (see
 * include/jmap_args.h). */
#include "jmap_args.h"

#include <stdio.h>
#include <string.h>

/* RFC 8620 §1.3: Int and UnsignedInt are limited to ±2^53-1. */
#define JMAP_INT_MAX 9007199254740991LL

bool jmap_args_name_in(const char *name, const char *const *list)
{
    for (; list != NULL && *list != NULL; list++) {
        if (strcmp(name, *list) == 0)
            return true;
    }
    return false;
}

json_t *jmap_args_invalid(const char *argument, const char *what)
{
    char desc[200];
    snprintf(desc, sizeof(desc), "\"%.60s\" %s.", argument, what);
    return jmap_error_invalid_arguments(argument, desc);
}

/* Every argument must be one the method knows. */
static json_t *check_names(json_t *args, const char *const *standard, const char *const *extra)
{
    const char *key;
    json_t *value;
    json_object_foreach(args, key, value) {
        if (strcmp(key, "accountId") != 0 && !jmap_args_name_in(key, standard) && !jmap_args_name_in(key, extra))
            return jmap_args_invalid(key, "is not an argument of this method");
    }
    return NULL;
}

static json_t *optional_string(json_t *args, const char *name, bool required, const char **out)
{
    json_t *v = json_object_get(args, name);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return required ? jmap_args_invalid(name, "is required") : NULL;
    if (!json_is_string(v))
        return jmap_args_invalid(name, "must be a string");
    *out = json_string_value(v);
    return NULL;
}

/* An Int (or UnsignedInt when min is 0, positive when min is 1). */
static json_t *optional_int(json_t *args, const char *name, long long min, bool *present,
                            int64_t *out)
{
    json_t *v = json_object_get(args, name);
    *present = false;
    if (v == NULL || json_is_null(v))
        return NULL;
    if (!json_is_integer(v) || json_integer_value(v) < min ||
        json_integer_value(v) > JMAP_INT_MAX || json_integer_value(v) < -JMAP_INT_MAX)
        return jmap_args_invalid(name, min > 0 ? "must be a positive integer"
                             : min == 0 ? "must be a non-negative integer"
                                        : "must be an integer");
    *present = true;
    *out = json_integer_value(v);
    return NULL;
}

static json_t *optional_bool(json_t *args, const char *name, bool *out)
{
    json_t *v = json_object_get(args, name);
    *out = false;
    if (v == NULL || json_is_null(v))
        return NULL;
    if (!json_is_boolean(v))
        return jmap_args_invalid(name, "must be true or false");
    *out = json_is_true(v);
    return NULL;
}

static json_t *filter_and_sort(json_t *args, json_t **filter, json_t **sort)
{
    *filter = json_object_get(args, "filter");
    *sort = json_object_get(args, "sort");
    if (json_is_null(*filter))
        *filter = NULL;
    if (json_is_null(*sort))
        *sort = NULL;
    if (*filter != NULL && !json_is_object(*filter))
        return jmap_args_invalid("filter", "must be an object or null");
    if (*sort == NULL)
        return NULL;
    if (!json_is_array(*sort))
        return jmap_args_invalid("sort", "must be an array of Comparators or null");
    size_t i;
    json_t *c;
    json_array_foreach(*sort, i, c) {
        json_t *asc = json_object_get(c, "isAscending");
        json_t *collation = json_object_get(c, "collation");
        if (!json_is_object(c) || !json_is_string(json_object_get(c, "property")) ||
            (asc != NULL && !json_is_boolean(asc)) ||
            (collation != NULL && !json_is_string(collation)))
            return jmap_args_invalid("sort", "has a malformed Comparator");
    }
    return NULL;
}

json_t *jmap_args_get(struct jmap_invocation *inv, json_t *args, const char *const *known,
                      const char *const *extra, struct jmap_get_args *out)
{
    static const char *const standard[] = { "ids", "properties", NULL };
    json_t *err = check_names(args, standard, extra);
    if (err != NULL)
        return err;
    out->ids = json_object_get(args, "ids");
    out->properties = json_object_get(args, "properties");
    if (json_is_null(out->ids))
        out->ids = NULL;
    if (json_is_null(out->properties))
        out->properties = NULL;

    size_t i;
    json_t *v;
    if (out->ids != NULL) {
        if (!json_is_array(out->ids))
            return jmap_args_invalid("ids", "must be an array of ids or null");
        if (json_array_size(out->ids) > inv->ctx->limits->max_objects_in_get)
            return jmap_error_new("requestTooLarge", "More ids than maxObjectsInGet.");
        json_t *resolved = json_array();
        if (resolved == NULL)
            return jmap_error_new("serverFail", NULL);
        json_array_foreach(out->ids, i, v) {
            json_t *idv = v;
            const char *id = json_string_value(v);
            /* "#c1" names an object created earlier in this request. */
            if (id != NULL && id[0] == '#' && inv->created_ids != NULL) {
                idv = json_object_get(inv->created_ids, id + 1);
                id = json_string_value(idv);
            }
            if (id == NULL || !jmap_id_is_valid(id)) {
                json_decref(resolved);
                return jmap_args_invalid("ids", "holds something that is not a valid id");
            }
            /* Shared, not copied: strings are never modified in place. */
            json_array_append(resolved, idv);
        }
        json_object_set_new(args, "ids", resolved);
        out->ids = resolved;
    }
    if (out->properties != NULL) {
        if (!json_is_array(out->properties))
            return jmap_args_invalid("properties", "must be an array of property names or null");
        json_array_foreach(out->properties, i, v) {
            if (!json_is_string(v) || !jmap_args_name_in(json_string_value(v), known))
                return jmap_args_invalid("properties", "names an unknown property");
        }
    }
    return NULL;
}

json_t *jmap_args_changes(json_t *args, const char *const *extra, struct jmap_changes_args *out)
{
    static const char *const standard[] = { "sinceState", "maxChanges", NULL };
    bool present = false;
    int64_t max = 0;
    json_t *err = check_names(args, standard, extra);
    if (err == NULL)
        err = optional_string(args, "sinceState", true, &out->since_state);
    if (err == NULL)
        err = optional_int(args, "maxChanges", 1, &present, &max);
    out->max_changes = present ? (uint64_t)max : 0;
    return err;
}

json_t *jmap_args_query(json_t *args, const char *const *extra, struct jmap_query_args *out)
{
    static const char *const standard[] = { "filter", "sort", "position", "anchor",
                                            "anchorOffset", "limit", "calculateTotal", NULL };
    bool present = false;
    int64_t limit = 0;
    memset(out, 0, sizeof(*out));
    json_t *err = check_names(args, standard, extra);
    if (err == NULL)
        err = filter_and_sort(args, &out->filter, &out->sort);
    if (err == NULL)
        err = optional_int(args, "position", -JMAP_INT_MAX, &present, &out->position);
    if (err == NULL)
        err = optional_string(args, "anchor", false, &out->anchor);
    if (err == NULL && out->anchor != NULL && !jmap_id_is_valid(out->anchor))
        err = jmap_args_invalid("anchor", "is not a valid id");
    if (err == NULL)
        err = optional_int(args, "anchorOffset", -JMAP_INT_MAX, &present, &out->anchor_offset);
    if (err == NULL)
        err = optional_int(args, "limit", 0, &out->has_limit, &limit);
    if (err == NULL)
        err = optional_bool(args, "calculateTotal", &out->calculate_total);
    out->limit = (uint64_t)limit;
    /* RFC 8620 §5.5: with an anchor the position is ignored, and without
     * one the anchorOffset is. */
    if (out->anchor != NULL)
        out->position = 0;
    else
        out->anchor_offset = 0;
    return err;
}

json_t *jmap_args_query_changes(json_t *args, const char *const *extra,
                                struct jmap_query_changes_args *out)
{
    static const char *const standard[] = { "filter", "sort", "sinceQueryState", "maxChanges",
                                            "upToId", "calculateTotal", NULL };
    bool present = false;
    int64_t max = 0;
    memset(out, 0, sizeof(*out));
    json_t *err = check_names(args, standard, extra);
    if (err == NULL)
        err = filter_and_sort(args, &out->filter, &out->sort);
    if (err == NULL)
        err = optional_string(args, "sinceQueryState", true, &out->since_query_state);
    if (err == NULL)
        err = optional_int(args, "maxChanges", 1, &present, &max);
    if (err == NULL)
        err = optional_string(args, "upToId", false, &out->up_to_id);
    if (err == NULL && out->up_to_id != NULL && !jmap_id_is_valid(out->up_to_id))
        err = jmap_args_invalid("upToId", "is not a valid id");
    if (err == NULL)
        err = optional_bool(args, "calculateTotal", &out->calculate_total);
    out->max_changes = present ? (uint64_t)max : 0;
    return err;
}
