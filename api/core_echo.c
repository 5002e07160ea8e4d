/* core_echo.c - Core/echo (RFC 8620 §4): returns its arguments unchanged. */
#include "jmap_methods_all.h"

static json_t *core_echo(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    json_t *copy = json_deep_copy(args);
    if (copy == NULL)
        *error = jmap_error_new("serverFail", "out of memory");
    return copy;
}

const struct jmap_method jmap_core_methods[] = {
    { "Core/echo", JMAP_CAPABILITY_CORE, 0, core_echo },
};
const size_t jmap_core_method_count = sizeof(jmap_core_methods) / sizeof(jmap_core_methods[0]);
