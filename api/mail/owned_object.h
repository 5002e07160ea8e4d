/* owned_object.h - api-internal: the /get and /changes responses of the
 * JMAP types the gateway itself owns (Identity, EmailSubmission), whose
 * store gives every live object at once (backends/store/object_table.h). */
#ifndef API_MAIL_OWNED_OBJECT_H
#define API_MAIL_OWNED_OBJECT_H

#include <jansson.h>
#include <stdbool.h>

#include "gw_error.h"
#include "jmap_args.h"

/* The /get response over all (borrowed: every live object, each with
 * "id"): the ids asked for in ga (all when none; each once) projected to
 * ga's properties, the others in notFound. New reference, or NULL with
 * *error set. */
json_t *owned_object_get(const char *account_id, const char *state, json_t *all,
                         const struct jmap_get_args *ga, json_t **error);

/* The /changes response (arrays borrowed), or NULL with *error set. */
json_t *owned_object_changes(const char *account_id, const char *old_state,
                             const char *new_state, bool has_more, json_t *created,
                             json_t *updated, json_t *destroyed, json_t **error);

/* The method error for a failed store /changes: cannotCalculateChanges
 * for a state the store does not know (GW_ERR_INVALID). New reference. */
json_t *owned_object_changes_error(const struct gw_error *err, const char *type_name);

#endif
