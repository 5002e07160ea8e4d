/* jmap_set.h - the generic part of every /set method (RFC 8620 §5.3):
 * argument validation, creation-id references, PatchObjects, property
 * checks from a table, and the response with its SetErrors.
 *
 * A data type's handler does:
 *   jmap_set_args_parse()            -> method error or args
 *   its current state; jmap_set_check_if_in_state()
 *   jmap_set_run() with its create/update/destroy callbacks
 *   bring its cache up to date, read the new state
 *   jmap_set_response_finish()
 * Every SetError of a gateway error goes through jmap_set_error_from_gw(),
 * which uses the one table of api/errors.c (jmap_set_error_type_from_gw).
 */
#ifndef JMAP_SET_H
#define JMAP_SET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "gw_error.h"
#include "jmap_method.h"

/* ---- Arguments ---------------------------------------------------------- */

struct jmap_set_args {
    const char *if_in_state;    /* borrowed; NULL when not given */
    json_t *create;             /* borrowed object (creation id -> object), or NULL */
    json_t *update;             /* borrowed object (id -> PatchObject), or NULL */
    json_t *destroy;            /* borrowed array of id strings, or NULL */
};

/* Checks ifInState (String|null), create (Id[Object]|null: keys must be
 * valid Ids, values objects), update (Id[PatchObject]|null: keys Ids or
 * "#creationId", values objects), destroy (Id[]|null, same) and that no
 * other argument than accountId and extra (NULL-terminated, may be NULL)
 * is present. More than maxObjectsInSet entries in all is requestTooLarge.
 * Returns NULL (out filled) or a method error (new reference). */
json_t *jmap_set_args_parse(struct jmap_invocation *inv, json_t *args, const char *const *extra,
                            struct jmap_set_args *out);

/* stateMismatch (new reference) when ifInState was given and differs from
 * state, else NULL. */
json_t *jmap_set_check_if_in_state(const struct jmap_set_args *a, const char *state);

/* ---- Creation ids --------------------------------------------------------- */

/* id itself, or for "#cid" the id created for cid earlier in the request
 * (inv->created_ids); NULL when cid is unknown. Borrowed. */
const char *jmap_set_resolve_id(struct jmap_invocation *inv, const char *id);

/* ---- SetErrors ------------------------------------------------------------ */

/* {"type": type, "description": description} (description may be NULL).
 * New reference. */
json_t *jmap_set_error_new(const char *type, const char *description);

/* invalidProperties naming one property (property may be NULL: none
 * named). New reference. */
json_t *jmap_set_error_invalid_property(const char *property, const char *description);

/* The SetError for a gateway error: its type from the one table
 * (GW_ERR_NOTFOUND -> notFound, GW_ERR_EXISTS -> alreadyExists,
 * GW_ERR_FORBIDDEN -> forbidden, GW_ERR_OVERQUOTA -> overQuota,
 * GW_ERR_TOO_LARGE -> tooLarge, GW_ERR_LIMIT -> rateLimit, GW_ERR_INVALID
 * -> invalidProperties, the rest serverFail), with err's message as
 * description when it is safe to show, else a generic one. New reference. */
json_t *jmap_set_error_from_gw(const struct gw_error *err);

/* ---- Properties and patches ----------------------------------------------- */

enum jmap_set_prop_flags {
    JMAP_PROP_SERVER_SET = 1u << 0,     /* the client may not set it (it may
                                         * repeat the current value in an update) */
    JMAP_PROP_IMMUTABLE = 1u << 1,      /* set at create only */
};

struct jmap_set_prop {
    const char *name;
    unsigned flags;
};

/* Checks the top-level properties of obj (a create object, or the patched
 * object of an update when current is non-NULL) against table (ends with a
 * NULL name): unknown names, server-set properties on create, server-set
 * or immutable ones changed by an update. Returns NULL, or invalidProperties
 * naming every offending property (new reference). */
json_t *jmap_set_check_properties(const struct jmap_set_prop *table, json_t *obj, json_t *current);

/* Applies a PatchObject (RFC 8620 §5.3) to a copy of current: each key is a
 * JSON Pointer without its leading "/" ("~1" is "/", "~0" is "~"); a null
 * value removes a nested member and sets a top-level property to null; every
 * segment but the last must name an existing object member. One path being
 * a prefix of another, an empty path or a bad escape is invalidPatch.
 * Returns the patched object (new reference), or NULL with *set_error (new
 * reference). */
json_t *jmap_set_patch_apply(json_t *current, json_t *patch, json_t **set_error);

/* ---- Running and answering ------------------------------------------------ */

struct jmap_set_response {
    json_t *created;            /* creation id -> object */
    json_t *updated;            /* id -> object or null */
    json_t *destroyed;          /* ids */
    json_t *not_created, *not_updated, *not_destroyed;   /* id -> SetError */
};

/* What a data type does per entry. Each callback returns 0 on success or
 * -1 with *set_error (new reference) for that entry only; a method-level
 * failure (connection lost for good...) is still reported per entry, so
 * the client learns the fate of each. */
struct jmap_set_ops {
    void *ctx;
    /* obj borrowed; *result: new reference, the created object's id and
     * server-set properties ("id" required). */
    int (*create)(void *ctx, const char *creation_id, json_t *obj, json_t **result,
                  json_t **set_error);
    /* id already resolved; patch borrowed; *result: new reference, the
     * properties that changed other than as asked, or NULL (reported as
     * null). */
    int (*update)(void *ctx, const char *id, json_t *patch, json_t **result, json_t **set_error);
    int (*destroy)(void *ctx, const char *id, json_t **set_error);
};

void jmap_set_response_init(struct jmap_set_response *r);
void jmap_set_response_clear(struct jmap_set_response *r);

/* Runs every create (in the order given), then every update, then every
 * destroy, filling r. A created object's id is registered in
 * inv->created_ids under its creation id at once, so later entries of the
 * same call and later calls can reference it. An update of an id that is
 * also destroyed is willDestroy; "#cid" that resolves to nothing is
 * notFound. Returns 0, or -1 on memory exhaustion. */
int jmap_set_run(struct jmap_invocation *inv, const struct jmap_set_args *a,
                 const struct jmap_set_ops *ops, struct jmap_set_response *r);

/* The response arguments (new reference): accountId, oldState (null when
 * old_state is NULL), newState, and the six maps/lists with every empty one
 * null (never {} or []). Empties r. */
json_t *jmap_set_response_finish(struct jmap_set_response *r, const char *account_id,
                                 const char *old_state, const char *new_state);

#endif
