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
    struct email_query_ids *r;      /* the slot's reference */
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

/* Drops one reference; cache lock held. Returns the entry to free
 * (outside the lock) when that was the last one. */
static struct email_query_ids *unref_locked(struct email_query_ids *r)
{
    if (r == NULL || --r->refs > 0)
        return NULL;
    return r;
}

static void ids_free(struct email_query_ids *r)
{
    if (r == NULL)
        return;
    free(r->ids);
    free(r->ptrs);
    free(r);
}

static struct slot *find_locked(const char *key)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        struct slot *s = &cache.slots[i];
        if (s->key != NULL && strcmp(s->key, key) == 0)
            return s;
    }
    return NULL;
}

const struct email_query_ids *email_query_cache_share(const char *key)
{
    struct email_query_ids *r = NULL;
    pthread_mutex_lock(&cache.lock);
    struct slot *s = find_locked(key);
    if (s != NULL) {
        r = s->r;
        r->refs++;
        s->used = ++cache.clock;
    }
    pthread_mutex_unlock(&cache.lock);
    return r;
}

void email_query_cache_release(const struct email_query_ids **rp)
{
    struct email_query_ids *r = (struct email_query_ids *)*rp;
    *rp = NULL;
    if (r == NULL)
        return;
    pthread_mutex_lock(&cache.lock);
    r = unref_locked(r);
    pthread_mutex_unlock(&cache.lock);
    ids_free(r);
}

bool email_query_cache_get(const char *key, char (**ids)[MAIL_STORE_ID_MAX], size_t *n)
{
    const struct email_query_ids *r = email_query_cache_share(key);
    if (r == NULL)
        return false;
    bool hit = false;
    *ids = malloc((r->n + 1) * sizeof(**ids));
    if (*ids != NULL) {
        if (r->n > 0)
            memcpy(*ids, r->ids, r->n * sizeof(**ids));
        *n = r->n;
        hit = true;
    }
    email_query_cache_release(&r);
    return hit;
}

struct email_query_ids *email_query_ids_new(const char (*result)[MAIL_STORE_ID_MAX], size_t n)
{
    struct email_query_ids *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->ids = malloc((n + 1) * sizeof(*r->ids));
    r->ptrs = malloc((n + 1) * sizeof(*r->ptrs));
    if (r->ids == NULL || r->ptrs == NULL) {
        ids_free(r);
        return NULL;
    }
    if (n > 0)
        memcpy(r->ids, result, n * sizeof(*r->ids));
    for (size_t i = 0; i < n; i++)
        r->ptrs[i] = r->ids[i];
    r->ptrs[n] = NULL;
    r->n = n;
    r->refs = 1;
    return r;
}

void email_query_cache_put_shared(const char *key, struct email_query_ids *r)
{
    char *k = strdup(key);
    if (k == NULL)
        return;     /* only a cache */
    pthread_mutex_lock(&cache.lock);
    r->refs++;
    struct slot *victim = &cache.slots[0];
    for (size_t i = 1; i < CACHE_SLOTS; i++)
        if (cache.slots[i].used < victim->used)
            victim = &cache.slots[i];
    char *old_key = victim->key;
    struct email_query_ids *old = unref_locked(victim->r);
    *victim = (struct slot){ .key = k, .r = r, .used = ++cache.clock };
    pthread_mutex_unlock(&cache.lock);
    free(old_key);
    ids_free(old);
}

void email_query_cache_put(const char *key, const char (*result)[MAIL_STORE_ID_MAX], size_t n)
{
    struct email_query_ids *r = email_query_ids_new(result, n);
    if (r == NULL)
        return;
    email_query_cache_put_shared(key, r);
    const struct email_query_ids *mine = r;
    email_query_cache_release(&mine);
}

void email_query_cache_clear(void)
{
    struct email_query_ids *doomed[CACHE_SLOTS];
    char *keys[CACHE_SLOTS];
    pthread_mutex_lock(&cache.lock);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        keys[i] = cache.slots[i].key;
        doomed[i] = unref_locked(cache.slots[i].r);
        cache.slots[i] = (struct slot){ 0 };
    }
    pthread_mutex_unlock(&cache.lock);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        free(keys[i]);
        ids_free(doomed[i]);
    }
}
