/* jmap_mailbox.h - the pure part of Mailbox/query (RFC 8621 §2.3): filter
 * conditions, comparators, sortAsTree and filterAsTree over a cached
 * mailbox list (api/mail/mailbox_query.c). No I/O, so it is unit-tested
 * table-driven; api/mail/mailbox.c wraps it in the methods. */
#ifndef JMAP_MAILBOX_H
#define JMAP_MAILBOX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "mail_store.h"

/* filter and sort are borrowed and already shape-checked by
 * jmap_args_query (filter an object or NULL, sort an array of Comparators
 * or NULL). Fills ids (room for l->n, borrowed from l) with the ids of the
 * matching mailboxes in query order, *n_ids their number:
 * - conditions parentId (null: top level), name (contains, case
 *   insensitive), role (null: no role), hasAnyRole, isSubscribed, under
 *   AND/OR/NOT;
 * - comparators sortOrder and name (case-insensitive), ties by id;
 * - sort_as_tree: every mailbox right after its parent's subtree starts,
 *   siblings in comparator order; one whose parent is not in the result is
 *   placed as a root;
 * - filter_as_tree: a mailbox only when all its ancestors match too.
 * Returns NULL, or a method error (new reference): unsupportedFilter,
 * unsupportedSort, invalidArguments, serverFail. */
json_t *jmap_mailbox_query_run(const struct mail_store_mailbox_list *l, json_t *filter,
                               json_t *sort, bool sort_as_tree, bool filter_as_tree,
                               const char **ids, size_t *n_ids);

/* For Mailbox/queryChanges: every property a Mailbox/query reads is
 * mutable, so each mailbox whose place may differ from the old state must
 * be reported. That is a mailbox created or updated since then (changed,
 * any order) and, because sortAsTree and filterAsTree read the ancestors,
 * every live mailbox below one: a mailbox outside this set has the same
 * own properties and the same ancestors as before, so it matches and
 * orders as before relative to the others. Fills moved (room for l->n,
 * ids borrowed from l) in list order and returns how many, or SIZE_MAX
 * when memory runs out. */
size_t jmap_mailbox_moved(const struct mail_store_mailbox_list *l, const char *const *changed,
                          size_t n_changed, const char **moved);

#endif
