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
/* A cached result shared without copying (a 30,000-Email mailbox is
 * 480 KB of ids, plus a pointer array the window code wants): immutable
 * while referenced. ptrs[i] points at ids[i]; ptrs[n] is NULL. */
struct email_query_ids {
    size_t n;
    char (*ids)[MAIL_STORE_ID_MAX];
    const char **ptrs;
    unsigned refs;          /* guarded by the cache lock */
};

/* On a hit, a reference to the entry (release it with
 * email_query_cache_release()); NULL on a miss. Thread-safe. */
const struct email_query_ids *email_query_cache_share(const char *key);
/* Drops a reference from share() or ids_new(); sets *r NULL. */
void email_query_cache_release(const struct email_query_ids **r);
/* A new entry holding a copy of result[0..n), one reference (the
 * caller's), not yet in the cache; NULL when memory runs out. */
struct email_query_ids *email_query_ids_new(const char (*result)[MAIL_STORE_ID_MAX], size_t n);
/* Puts r under key (the cache takes its own reference), evicting the
 * least recently used entry when full. */
void email_query_cache_put_shared(const char *key, struct email_query_ids *r);

/* Frees every entry (process exit, tests). */
void email_query_cache_clear(void);

#endif
