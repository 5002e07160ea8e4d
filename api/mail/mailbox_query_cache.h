/* mailbox_query_cache.h - api/mail internal: Mailbox/query results
 * (mailbox_query_cache.c), so the mailbox list a client asks for on every
 * page ("the inbox's id") costs no read of the mailbox list while the
 * account's Mailbox state stays the same.
 *
 * A result depends only on the mailboxes' names, parents, roles,
 * subscriptions and sort orders, and any change of those is a new Mailbox
 * state; so the key is account, Mailbox state and the query (filter,
 * sort, sortAsTree, filterAsTree as canonical JSON). Only successful
 * queries are kept. Bounded: a small direct-mapped table.
 */
#ifndef API_MAIL_MAILBOX_QUERY_CACHE_H
#define API_MAIL_MAILBOX_QUERY_CACHE_H

#include <jansson.h>
#include <stddef.h>

/* The query's key text (new, free() it) for args (borrowed) with its
 * filter and sort, or NULL when out of memory. */
char *mailbox_query_cache_key(json_t *args, json_t *filter, json_t *sort);

/* The ids of the cached result (*ids new: one block, free(*ids) frees the
 * strings too) and their number; -1 on a miss. */
int mailbox_query_cache_get(const char *account_id, const char *state, const char *key,
                            char ***ids, size_t *n);

/* Remembers the n ids (copied) as the result of key at state. */
void mailbox_query_cache_put(const char *account_id, const char *state, const char *key,
                             const char *const *ids, size_t n);

/* Drops every entry (tests, process exit). */
void mailbox_query_cache_clear(void);

#endif
