/* mailbox_query_cache.c - Mailbox/query results by Mailbox state
 * (mailbox_query_cache.h). Reading and freeing the account's mailbox list
 * was most of the cost of the role query every inbox page starts with. */
#include "mailbox_query_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_hash.h"

/* Clients ask few distinct mailbox queries; a few per account of a few
 * dozen active accounts. */
#define MAILBOX_QUERY_SLOTS 256

struct slot {
    uint64_t hash;
    char *key;                          /* account NUL state NUL query NUL */
    size_t key_len;
    char **ids;                         /* one block with the strings */
    size_t n;
};

static struct {
    pthread_mutex_t lock;
    struct slot slots[MAILBOX_QUERY_SLOTS];
} cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

char *mailbox_query_cache_key(json_t *args, json_t *filter, json_t *sort)
{
    json_t *q = json_pack("[O?, O?, O?, O?]", filter, sort, json_object_get(args, "sortAsTree"),
                          json_object_get(args, "filterAsTree"));
    char *text = q != NULL ? json_dumps(q, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(q);
    return text;
}

/* The full key (new) and its length and hash; NULL when out of memory. */
static char *full_key(const char *account_id, const char *state, const char *key, size_t *len,
                      uint64_t *hash)
{
    size_t a = strlen(account_id) + 1, s = strlen(state) + 1, k = strlen(key) + 1;
    char *full = malloc(a + s + k);
    if (full == NULL)
        return NULL;
    memcpy(full, account_id, a);
    memcpy(full + a, state, s);
    memcpy(full + a + s, key, k);
    *len = a + s + k;
    *hash = gw_hash_bytes(GW_HASH_INIT, full, *len);
    return full;
}

/* One block: the pointer array, then the strings. */
static char **copy_ids(const char *const *ids, size_t n)
{
    size_t bytes = (n + 1) * sizeof(char *);
    for (size_t i = 0; i < n; i++)
        bytes += strlen(ids[i]) + 1;
    char **v = malloc(bytes);
    if (v == NULL)
        return NULL;
    char *p = (char *)(v + n + 1);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(ids[i]) + 1;
        memcpy(p, ids[i], len);
        v[i] = p;
        p += len;
    }
    v[n] = NULL;
    return v;
}

int mailbox_query_cache_get(const char *account_id, const char *state, const char *key,
                            char ***ids, size_t *n)
{
    size_t len;
    uint64_t hash;
    char *full = full_key(account_id, state, key, &len, &hash);
    int rc = -1;
    *ids = NULL;
    *n = 0;
    if (full == NULL)
        return -1;
    struct slot *s = &cache.slots[hash % MAILBOX_QUERY_SLOTS];
    pthread_mutex_lock(&cache.lock);
    if (s->key != NULL && s->hash == hash && s->key_len == len && memcmp(s->key, full, len) == 0 &&
        (*ids = copy_ids((const char *const *)s->ids, s->n)) != NULL) {
        *n = s->n;
        rc = 0;
    }
    pthread_mutex_unlock(&cache.lock);
    free(full);
    return rc;
}

void mailbox_query_cache_put(const char *account_id, const char *state, const char *key,
                             const char *const *ids, size_t n)
{
    struct slot fresh = { .n = n };
    fresh.key = full_key(account_id, state, key, &fresh.key_len, &fresh.hash);
    fresh.ids = copy_ids(ids, n);
    if (fresh.key == NULL || fresh.ids == NULL) {
        free(fresh.key);
        free(fresh.ids);
        return;
    }
    struct slot *s = &cache.slots[fresh.hash % MAILBOX_QUERY_SLOTS];
    pthread_mutex_lock(&cache.lock);
    struct slot old = *s;
    *s = fresh;
    pthread_mutex_unlock(&cache.lock);
    free(old.key);
    free(old.ids);
}

void mailbox_query_cache_clear(void)
{
    pthread_mutex_lock(&cache.lock);
    for (size_t i = 0; i < MAILBOX_QUERY_SLOTS; i++) {
        free(cache.slots[i].key);
        free(cache.slots[i].ids);
        memset(&cache.slots[i], 0, sizeof(cache.slots[i]));
    }
    pthread_mutex_unlock(&cache.lock);
}
