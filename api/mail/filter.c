/* filter.c - FilterOperator trees of /query (include/jmap_query.h). */
#include "jmap_query.h"

#include <string.h>

#include "jmap_method.h"

/* Deeper trees are refused: no client needs them, recursion stays bounded. */
#define FILTER_MAX_DEPTH 32

static bool is_operator(json_t *f)
{
    return json_object_get(f, "operator") != NULL;
}

static json_t *check(json_t *f, jmap_filter_check_fn fn, void *ctx, int depth)
{
    if (!json_is_object(f))
        return jmap_error_invalid_arguments("filter", "a filter must be an object");
    if (depth > FILTER_MAX_DEPTH)
        return jmap_error_invalid_arguments("filter", "the filter is nested too deeply");
    if (!is_operator(f))
        return fn(ctx, f);
    const char *op = json_string_value(json_object_get(f, "operator"));
    json_t *conditions = json_object_get(f, "conditions");
    if (op == NULL || (strcmp(op, "AND") != 0 && strcmp(op, "OR") != 0 && strcmp(op, "NOT") != 0))
        return jmap_error_invalid_arguments("filter", "operator must be AND, OR or NOT");
    if (!json_is_array(conditions) || json_object_size(f) != 2)
        return jmap_error_invalid_arguments(
            "filter", "a FilterOperator has exactly an operator and a conditions array");
    size_t i;
    json_t *c;
    json_array_foreach(conditions, i, c) {
        json_t *e = check(c, fn, ctx, depth + 1);
        if (e != NULL)
            return e;
    }
    return NULL;
}

json_t *jmap_filter_check(json_t *filter, jmap_filter_check_fn fn, void *ctx)
{
    return filter == NULL ? NULL : check(filter, fn, ctx, 0);
}

bool jmap_filter_matches(json_t *f, jmap_filter_match_fn match, void *ctx, const void *item)
{
    if (f == NULL)
        return true;
    if (!is_operator(f))
        return match(ctx, f, item);
    const char *op = json_string_value(json_object_get(f, "operator"));
    json_t *conditions = json_object_get(f, "conditions");
    size_t i;
    json_t *c;
    if (strcmp(op, "AND") == 0) {
        json_array_foreach(conditions, i, c)
            if (!jmap_filter_matches(c, match, ctx, item))
                return false;
        return true;
    }
    bool any = false;
    json_array_foreach(conditions, i, c)
        if (jmap_filter_matches(c, match, ctx, item)) {
            any = true;
            break;
        }
    return strcmp(op, "OR") == 0 ? any : !any;
}
