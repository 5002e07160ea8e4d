/* email_body_args.c - the Email arguments Email/get and Email/parse share:
 * properties (header:* forms checked against their fields),
 * bodyProperties, the fetch*BodyValues switches and maxBodyValueBytes. */
#include <stdio.h>
#include <string.h>

#include "jmap_method.h"
#include "jmap_mime.h"

/* RFC 8620 §1.3: UnsignedInt is at most 2^53-1. */
#define JMAP_UNSIGNED_MAX 9007199254740991LL

static json_t *invalid(const char *argument, const char *what, const char *detail)
{
    char desc[300];
    int n = snprintf(desc, sizeof(desc), "\"%s\" %s%s%.200s.", argument, what,
                     detail != NULL && detail[0] != '\0' ? ": " : "", detail != NULL ? detail : "");
    if (n < 0)
        desc[0] = '\0';
    return jmap_error_invalid_arguments(argument, desc);
}

static json_t *bool_arg(json_t *args, const char *name, bool *out)
{
    json_t *v = json_object_get(args, name);
    *out = false;
    if (v == NULL || json_is_null(v))
        return NULL;
    if (!json_is_boolean(v))
        return invalid(name, "must be true or false", NULL);
    *out = json_is_true(v);
    return NULL;
}

/* A list of property names, each checked by valid(). */
static json_t *name_list(json_t *list, const char *argument,
                         bool (*valid)(const char *name, struct gw_error *err))
{
    size_t i;
    json_t *v;
    if (!json_is_array(list))
        return invalid(argument, "must be an array of property names or null", NULL);
    json_array_foreach(list, i, v) {
        struct gw_error err = { 0 };
        if (!json_is_string(v))
            return invalid(argument, "must be an array of property names or null", NULL);
        if (!valid(json_string_value(v), &err)) {
            char detail[GW_ERROR_MSG_MAX + 80];
            snprintf(detail, sizeof(detail), "%.60s (%s)", json_string_value(v), err.msg);
            return invalid(argument, "names a property that cannot be fetched", detail);
        }
    }
    return NULL;
}

json_t *jmap_email_body_args(json_t *args, struct jmap_email_body_opts *opts)
{
    json_t *bp = json_object_get(args, "bodyProperties");
    json_t *max = json_object_get(args, "maxBodyValueBytes");
    json_t *err = NULL;

    opts->body_properties = NULL;
    opts->max_body_value_bytes = 0;
    if (bp != NULL && !json_is_null(bp)) {
        err = name_list(bp, "bodyProperties", jmap_email_body_property_valid);
        if (err != NULL)
            return err;
        opts->body_properties = bp;
    }
    if ((err = bool_arg(args, "fetchTextBodyValues", &opts->fetch_text_values)) != NULL ||
        (err = bool_arg(args, "fetchHTMLBodyValues", &opts->fetch_html_values)) != NULL ||
        (err = bool_arg(args, "fetchAllBodyValues", &opts->fetch_all_values)) != NULL)
        return err;
    if (max != NULL && !json_is_null(max)) {
        if (!json_is_integer(max) || json_integer_value(max) < 0 ||
            json_integer_value(max) > JMAP_UNSIGNED_MAX)
            return invalid("maxBodyValueBytes", "must be a non-negative integer", NULL);
        opts->max_body_value_bytes = (size_t)json_integer_value(max);
    }
    return NULL;
}

json_t *jmap_email_properties_arg(json_t *args, const char *const *defaults, json_t **out)
{
    json_t *props = json_object_get(args, "properties");
    json_t *err = NULL;
    bool has_id = false;
    size_t i;
    json_t *v;

    *out = NULL;
    if (props != NULL && !json_is_null(props)) {
        if ((err = name_list(props, "properties", jmap_email_property_valid)) != NULL)
            return err;
        *out = json_copy(props);
    } else {
        *out = json_array();
        for (; *out != NULL && *defaults != NULL; defaults++)
            json_array_append_new(*out, json_string(*defaults));
    }
    if (*out == NULL)
        return jmap_error_new("serverFail", NULL);
    json_array_foreach(*out, i, v) {
        has_id |= strcmp(json_string_value(v), "id") == 0;
    }
    if (!has_id && json_array_insert_new(*out, 0, json_string("id")) != 0) {
        json_decref(*out);
        *out = NULL;
        return jmap_error_new("serverFail", NULL);
    }
    return NULL;
}
