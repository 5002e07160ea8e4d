/* email_query_cache.c - recent Email/query results, so a repeated view
 * (the inbox page a client reloads, the next page of the same list) costs
 * no sort and no scan. A result is keyed by the account, its Email state
 * and the canonical filter, sort and collapseThreads: any change to the
 * account changes the state, so a stale result is never found. */
#define _GNU_SOURCE 1 /* asprintf */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "email_query_cache.h"

#define CACHE_SLOTS 16

struct slot {
    char *key;
    char (*ids)[MAIL_STORE_ID_MAX];
    size_t n;
    uint64_t used;      /* LRU clock */
};

static struct {
    pthread_mutex_t lock;
    struct slot slots[CACHE_SLOTS];
    uint64_t clock;
} cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

char *email_query_cache_key(const char *account_id, const char *state, json_t *filter,
                            json_t *sort, bool collapse)
{
    char *f = filter != NULL ? json_dumps(filter, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char *s = sort != NULL ? json_dumps(sort, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char *key = NULL;
    if ((filter == NULL || f != NULL) && (sort == NULL || s != NULL) &&
        asprintf(&key, "%s\n%s\n%s\n%s\n%d", account_id, state, f != NULL ? f : "",
                 s != NULL ? s : "", collapse) < 0)
        key = NULL;
    free(f);
    free(s);
    return key;
}

bool email_query_cache_get(const char *key, char (**ids)[MAIL_STORE_ID_MAX], size_t *n)
{
    bool hit = false;
    pthread_mutex_lock(&cache.lock);
    for (size_t i = 0; i < CACHE_SLOTS && !hit; i++) {
        struct slot *s = &cache.slots[i];
        if (s->key == NULL || strcmp(s->key, key) != 0)
            continue;
        *ids = malloc((s->n + 1) * sizeof(**ids));
        if (*ids != NULL) {
            memcpy(*ids, s->ids, s->n * sizeof(**ids));
            *n = s->n;
            s->used = ++cache.clock;
            hit = true;
        }
    }
    pthread_mutex_unlock(&cache.lock);
    return hit;
}

void email_query_cache_put(const char *key, const char (*result)[MAIL_STORE_ID_MAX], size_t n)
{
    char *k = strdup(key);
    char (*ids)[MAIL_STORE_ID_MAX] = malloc((n + 1) * sizeof(*ids));
    if (k == NULL || ids == NULL) {
        free(k);
        free(ids);
        return;     /* only a cache */
    }
    if (n > 0)
        memcpy(ids, result, n * sizeof(*ids));
    pthread_mutex_lock(&cache.lock);
    struct slot *victim = &cache.slots[0];
    for (size_t i = 1; i < CACHE_SLOTS; i++)
        if (cache.slots[i].used < victim->used)
            victim = &cache.slots[i];
    free(victim->key);
    free(victim->ids);
    *victim = (struct slot){ .key = k, .ids = ids, .n = n, .used = ++cache.clock };
    pthread_mutex_unlock(&cache.lock);
}

void email_query_cache_clear(void)
{
    pthread_mutex_lock(&cache.lock);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        free(cache.slots[i].key);
        free(cache.slots[i].ids);
        cache.slots[i] = (struct slot){ 0 };
    }
    pthread_mutex_unlock(&cache.lock);
}
