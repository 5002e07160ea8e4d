/* email_header_cache.c - immutable header properties of Emails
 * (email_header_cache.h). Parsing From/To/Subject out of the cached
 * header block was a third of Email/get for the inbox page: with this,
 * a page seen before costs a hash lookup per property. */
#include "email_header_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gw_hash.h"

/* 16,384 slots of ~140 bytes plus the values: a few MiB at most, enough
 * for the list properties of a few thousand Emails. */
#define HEADER_CACHE_SLOTS 16384
#define HEADER_CACHE_KEY 112
/* Set-associative: with one way, two Emails of the same page whose keys
 * shared a slot evicted each other on every view. */
#define HEADER_CACHE_WAYS 2

struct slot {
    char key[HEADER_CACHE_KEY];
    json_t *value;
};

static struct {
    pthread_mutex_t lock;
    struct slot slots[HEADER_CACHE_SLOTS];
} cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Builds "account\nemail\nprop"; false when it does not fit. */
static bool make_key(char out[HEADER_CACHE_KEY], const char *account_id, const char *email_id,
                     const char *prop)
{
    int n = snprintf(out, HEADER_CACHE_KEY, "%s\n%s\n%s", account_id, email_id, prop);
    return n > 0 && n < HEADER_CACHE_KEY;
}

/* FNV-1a; the first slot of the key's set. */
static size_t slot_of(const char *key)
{
    uint64_t h = gw_hash_str(GW_HASH_INIT, key);
    return (size_t)(h % (HEADER_CACHE_SLOTS / HEADER_CACHE_WAYS)) * HEADER_CACHE_WAYS;
}

json_t *email_header_cache_get(const char *account_id, const char *email_id, const char *prop)
{
    char key[HEADER_CACHE_KEY];
    json_t *v = NULL;
    if (!make_key(key, account_id, email_id, prop))
        return NULL;
    struct slot *set = &cache.slots[slot_of(key)];
    pthread_mutex_lock(&cache.lock);
    for (int w = 0; w < HEADER_CACHE_WAYS && v == NULL; w++) {
        if (set[w].value != NULL && strcmp(set[w].key, key) == 0)
            v = json_incref(set[w].value);
    }
    pthread_mutex_unlock(&cache.lock);
    return v;
}

void email_header_cache_put(const char *account_id, const char *email_id, const char *prop,
                            json_t *value)
{
    char key[HEADER_CACHE_KEY];
    if (value == NULL || !make_key(key, account_id, email_id, prop))
        return;
    struct slot *set = &cache.slots[slot_of(key)];
    json_t *old = NULL;
    pthread_mutex_lock(&cache.lock);
    /* The same key in place; else the newest goes first and the older way
     * falls out, so two keys of one set no longer evict each other. */
    int w = 0;
    while (w < HEADER_CACHE_WAYS - 1 && !(set[w].value != NULL && strcmp(set[w].key, key) == 0))
        w++;
    if (!(set[w].value != NULL && strcmp(set[w].key, key) == 0)) {
        old = set[HEADER_CACHE_WAYS - 1].value;
        memmove(&set[1], &set[0], (HEADER_CACHE_WAYS - 1) * sizeof(*set));
        w = 0;
    } else {
        old = set[w].value;
    }
    memcpy(set[w].key, key, sizeof(key));
    set[w].value = json_incref(value);
    pthread_mutex_unlock(&cache.lock);
    json_decref(old);
}

void email_header_cache_clear(void)
{
    pthread_mutex_lock(&cache.lock);
    for (size_t i = 0; i < HEADER_CACHE_SLOTS; i++) {
        json_decref(cache.slots[i].value);
        cache.slots[i].value = NULL;
    }
    pthread_mutex_unlock(&cache.lock);
}
