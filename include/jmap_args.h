/* jmap_args.h - validation of the standard method arguments of RFC 8620
 * §5 (/get, /changes, /query, /queryChanges), done once here so every data
 * type rejects bad arguments the same way.
 *
 * Each function returns NULL when the arguments are valid (out filled with
 * borrowed references into args), or a method error (new reference):
 * invalidArguments naming the argument, or requestTooLarge for more ids
 * than maxObjectsInGet. Unknown argument names are invalidArguments too;
 * a method with arguments of its own lists them in extra (NULL-terminated,
 * may be NULL). accountId is checked by the dispatcher, not here.
 */
#ifndef JMAP_ARGS_H
#define JMAP_ARGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "jmap_method.h"

struct jmap_get_args {
    json_t *ids;            /* array of Id strings, or NULL for "all" */
    json_t *properties;     /* array of known property names, or NULL for the default */
};

/* Whether name is one of the NULL-terminated list (NULL: an empty list). */
bool jmap_args_name_in(const char *name, const char *const *list);

/* invalidArguments naming argument: "<argument>" <what>. New reference. */
json_t *jmap_args_invalid(const char *argument, const char *what);

/* known: the type's property names (NULL-terminated). "#creationId" ids are
 * resolved through inv->created_ids into a fresh array owned by args. */
json_t *jmap_args_get(struct jmap_invocation *inv, json_t *args, const char *const *known,
                      const char *const *extra, struct jmap_get_args *out);

struct jmap_changes_args {
    const char *since_state;
    uint64_t max_changes;   /* 0: no limit given */
};

json_t *jmap_args_changes(json_t *args, const char *const *extra, struct jmap_changes_args *out);

struct jmap_query_args {
    json_t *filter;         /* object or NULL; its content is the type's to check */
    json_t *sort;           /* array of Comparator objects, or NULL */
    int64_t position;       /* may be negative: from the end */
    const char *anchor;     /* NULL: none */
    int64_t anchor_offset;
    bool has_limit;
    uint64_t limit;
    bool calculate_total;
};

json_t *jmap_args_query(json_t *args, const char *const *extra, struct jmap_query_args *out);

struct jmap_query_changes_args {
    json_t *filter;
    json_t *sort;
    const char *since_query_state;
    uint64_t max_changes;   /* 0: no limit given */
    const char *up_to_id;   /* NULL: none */
    bool calculate_total;
};

json_t *jmap_args_query_changes(json_t *args, const char *const *extra,
                                struct jmap_query_changes_args *out);

#endif
