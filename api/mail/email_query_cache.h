/* email_query_cache.h - api/mail internal: recent Email/query results
 * (email_query_cache.c), a bounded LRU shared by the worker threads. */
#ifndef API_MAIL_EMAIL_QUERY_CACHE_H
#define API_MAIL_EMAIL_QUERY_CACHE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "mail_store.h"

/* The key (new string, NULL when memory runs out) of a result: account,
 * Email state, canonical (key-sorted) filter and sort, collapseThreads. */
char *email_query_cache_key(const char *account_id, const char *state, json_t *filter,
                            json_t *sort, bool collapse);
/* On a hit copies the result into *ids (new, free()) and *n. Thread-safe. */
bool email_query_cache_get(const char *key, char (**ids)[MAIL_STORE_ID_MAX], size_t *n);
/* Keeps a copy of ids[0..n) under key, evicting the least recently used
 * entry when full; silently keeps nothing when memory runs out. */
void email_query_cache_put(const char *key, const char (*ids)[MAIL_STORE_ID_MAX], size_t n);
/* Frees every entry (process exit, tests). */
void email_query_cache_clear(void);

#endif
