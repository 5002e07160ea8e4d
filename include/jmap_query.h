/* jmap_query.h - what every /query and /changes of the mail types share:
 * the window of a query result (RFC 8620 §5.5 position, anchor,
 * anchorOffset, limit), the /query and /changes response objects. */
#ifndef JMAP_QUERY_H
#define JMAP_QUERY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jmap_args.h"
#include "mail_store.h"

/* Picks the window of ids[0..n) the arguments ask for: *start and *count.
 * A negative position counts from the end (clamped to 0); an anchor
 * overrides position and is looked up in ids (anchorNotFound when it is not
 * there), anchorOffset moves from it (clamped to 0). Returns NULL or a
 * method error (new reference). */
json_t *jmap_query_window(const struct jmap_query_args *q, const char *const *ids, size_t n,
                          size_t *start, size_t *count);

/* The /query response: accountId, queryState, canCalculateChanges,
 * position, ids (the window) and total when asked. New reference or NULL
 * when memory runs out. */
json_t *jmap_query_response(const char *account_id, const char *query_state, bool can_calculate,
                            const char *const *ids, size_t start, size_t count, size_t total,
                            bool with_total);

/* The /queryChanges response (RFC 8620 §5.6) of a query whose filter or
 * sort reads mutable properties, built from the type's change log:
 * "removed" lists removed[0..n_removed) (objects that may have left the
 * results or moved in them), "added" every id of the current results
 * ids[0..n) that is in moved[0..n_moved), with its index, lowest first.
 * Exact when every current result not in moved keeps its order relative to
 * the others since old_state (the caller's proof). upToId cannot cut it
 * short: the properties are mutable. Returns the response (new reference),
 * or NULL with *error: tooManyChanges when removed + added exceed
 * max_changes (0: no limit), serverFail when memory runs out. */
json_t *jmap_query_changes_response(const char *account_id, const char *old_state,
                                    const char *new_state, const char *const *ids, size_t n,
                                    const char *const *removed, size_t n_removed,
                                    const char *const *moved, size_t n_moved,
                                    uint64_t max_changes, bool with_total, json_t **error);

/* ---- Filters (RFC 8620 §5.5 FilterOperator / FilterCondition) ---- */

/* Checks one FilterCondition object: NULL, or a method error (new
 * reference): unsupportedFilter for an unknown property, invalidArguments
 * for a bad value. */
typedef json_t *(*jmap_filter_check_fn)(void *ctx, json_t *condition);

/* Walks a filter tree (object; depth bounded): operators are checked here
 * ("operator" AND/OR/NOT with a "conditions" array, nothing else), every
 * condition by check. Returns NULL or a method error (new reference). */
json_t *jmap_filter_check(json_t *filter, jmap_filter_check_fn check, void *ctx);

/* Whether item matches one condition. */
typedef bool (*jmap_filter_match_fn)(void *ctx, json_t *condition, const void *item);

/* Evaluates a checked filter tree for item (NULL filter: true). */
bool jmap_filter_matches(json_t *filter, jmap_filter_match_fn match, void *ctx, const void *item);

/* Runs a /changes method for one mail type (RFC 8620 §5.2): argument
 * checks, the store's change log, cannotCalculateChanges past the horizon.
 * with_updated_properties adds "updatedProperties": null (Mailbox/changes,
 * RFC 8621 §2.2). Method handler contract (include/jmap_method.h). */
json_t *jmap_mail_changes(struct jmap_invocation *inv, json_t *args, enum mail_store_type type,
                          bool with_updated_properties, json_t **error);

#endif
