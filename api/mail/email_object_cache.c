/* email_object_cache.c - whole Email objects of Email/get
 * (email_object_cache.h). Building the inbox page's fifty Emails (a dozen
 * properties each) and then dumping and freeing them was most of the API
 * layer's cost of a page seen before: with this, that page costs a lookup
 * per Email, and its reply copies each Email's text in one go. */
#include "email_object_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gw_hash.h"
#include "gw_json.h"

/* 4,096 Emails of a couple of KiB each (object, frozen text, key): about
 * ten MiB at most, a few hundred list pages. */
#define OBJECT_CACHE_SLOTS 4096
/* Set-associative, as the header cache: two Emails of one page whose keys
 * share a set do not evict each other on every view. */
#define OBJECT_CACHE_WAYS 2

struct slot {
    uint64_t hash;
    char *key;                          /* account NUL id NUL props version */
    size_t id_off, props_off, version_off, version_len;
    json_t *obj;
};

/* Locks by set: the fifty lookups of a page from several workers at once
 * seldom wait for each other. */
#define OBJECT_CACHE_LOCKS 16

static struct {
    pthread_mutex_t locks[OBJECT_CACHE_LOCKS];
    struct slot slots[OBJECT_CACHE_SLOTS];
} cache = { .locks = { [0 ... OBJECT_CACHE_LOCKS - 1] = PTHREAD_MUTEX_INITIALIZER } };

int email_object_key_init(struct email_object_key *k, const char *account_id, json_t *props)
{
    size_t i, len = 0;
    json_t *v;
    memset(k, 0, sizeof(*k));
    k->account_id = account_id;
    json_array_foreach(props, i, v) {
        if (strlen(json_string_value(v)) != json_string_length(v))
            return -1;
        len += json_string_length(v) + 1;
    }
    if ((k->props = malloc(len + 1)) == NULL)
        return -1;
    json_array_foreach(props, i, v) {
        memcpy(k->props + k->props_len, json_string_value(v), json_string_length(v) + 1);
        k->props_len += json_string_length(v) + 1;
    }
    k->hash = gw_hash_bytes(gw_hash_bytes(GW_HASH_INIT, account_id, strlen(account_id) + 1),
                            k->props, k->props_len);
    return 0;
}

void email_object_key_clear(struct email_object_key *k)
{
    free(k->props);
    free(k->version);
    memset(k, 0, sizeof(*k));
}

static bool version_put(struct email_object_key *k, const char *s, size_t n)
{
    if (n > k->version_cap - k->version_len) {
        size_t cap = k->version_cap * 2 + n + 256;
        char *v = realloc(k->version, cap);
        if (v == NULL)
            return false;
        k->version = v;
        k->version_cap = cap;
    }
    memcpy(k->version + k->version_len, s, n);
    k->version_len += n;
    return true;
}

/* e's version into k->version: the row's size, receivedAt,
 * hasAttachment and threadId, its keywords and mailbox ids, each
 * NUL-terminated, a \1 after each list (neither holds one), then whether
 * it has a preview and the preview. False when out of memory. */
static bool version_of(struct email_object_key *k, const struct mail_store_email *e)
{
    unsigned char fixed[2 * sizeof(uint64_t) + 1];
    uint64_t size = e->size, received = (uint64_t)e->received_at;
    memcpy(fixed, &size, sizeof(size));
    memcpy(fixed + sizeof(size), &received, sizeof(received));
    fixed[sizeof(fixed) - 1] = e->has_attachment ? 1 : 0;
    k->version_len = 0;
    bool ok = version_put(k, (const char *)fixed, sizeof(fixed)) &&
              version_put(k, e->thread_id, strlen(e->thread_id) + 1);
    for (size_t i = 0; ok && i < e->n_keywords; i++)
        ok = version_put(k, e->keywords[i], strlen(e->keywords[i]) + 1);
    ok = ok && version_put(k, "\1", 1);
    for (size_t i = 0; ok && i < e->n_mailbox_ids; i++)
        ok = version_put(k, e->mailbox_ids[i], strlen(e->mailbox_ids[i]) + 1);
    ok = ok && version_put(k, "\1", 1);
    if (ok && e->preview != NULL)
        ok = version_put(k, "P", 1) && version_put(k, e->preview, strlen(e->preview));
    return ok;
}

static size_t set_index(uint64_t hash)
{
    return (size_t)(hash % (OBJECT_CACHE_SLOTS / OBJECT_CACHE_WAYS));
}

static struct slot *set_of(uint64_t hash)
{
    return &cache.slots[set_index(hash) * OBJECT_CACHE_WAYS];
}

static pthread_mutex_t *lock_of(uint64_t hash)
{
    return &cache.locks[set_index(hash) % OBJECT_CACHE_LOCKS];
}

/* The same account, Email and properties (any version). */
static bool same_key(const struct slot *s, uint64_t hash, const struct email_object_key *k,
                     const char *email_id)
{
    return s->obj != NULL && s->hash == hash && strcmp(s->key + s->id_off, email_id) == 0 &&
           strcmp(s->key, k->account_id) == 0 &&
           s->version_off - s->props_off == k->props_len &&
           memcmp(s->key + s->props_off, k->props, k->props_len) == 0;
}

json_t *email_object_cache_get(struct email_object_key *k, const struct mail_store_email *e)
{
    if (k->props == NULL || !version_of(k, e))
        return NULL;
    uint64_t hash = gw_hash_str(k->hash, e->id);
    struct slot *set = set_of(hash);
    json_t *v = NULL;
    pthread_mutex_lock(lock_of(hash));
    for (int w = 0; w < OBJECT_CACHE_WAYS; w++) {
        const struct slot *s = &set[w];
        if (same_key(s, hash, k, e->id)) {
            if (s->version_len == k->version_len &&
                memcmp(s->key + s->version_off, k->version, k->version_len) == 0)
                v = json_incref(s->obj);
            break;
        }
    }
    pthread_mutex_unlock(lock_of(hash));
    return v;
}

void email_object_cache_put(struct email_object_key *k, const struct mail_store_email *e,
                            json_t *obj)
{
    if (obj == NULL || k->props == NULL || !version_of(k, e))
        return;
    const char *email_id = e->id;
    size_t a = strlen(k->account_id) + 1, i = strlen(email_id) + 1;
    uint64_t hash = gw_hash_str(k->hash, email_id);
    struct slot fresh = {
        .hash = hash, .id_off = a, .props_off = a + i, .version_off = a + i + k->props_len,
        .version_len = k->version_len, .obj = obj,
    };
    if ((fresh.key = malloc(fresh.version_off + k->version_len + 1)) == NULL)
        return;
    memcpy(fresh.key, k->account_id, a);
    memcpy(fresh.key + a, email_id, i);
    memcpy(fresh.key + fresh.props_off, k->props, k->props_len);
    memcpy(fresh.key + fresh.version_off, k->version, k->version_len);
    /* A failed freeze only costs speed: the object is dumped as any other. */
    (void)gw_json_freeze(obj);
    json_incref(obj);

    struct slot *set = set_of(hash), old;
    pthread_mutex_lock(lock_of(hash));
    /* The same key (another version) in place; else the newest goes first
     * and the older way falls out. */
    int w = 0;
    while (w < OBJECT_CACHE_WAYS - 1 && !same_key(&set[w], hash, k, email_id))
        w++;
    if (!same_key(&set[w], hash, k, email_id)) {
        w = OBJECT_CACHE_WAYS - 1;
        old = set[w];
        memmove(&set[1], &set[0], (OBJECT_CACHE_WAYS - 1) * sizeof(*set));
        w = 0;
    } else {
        old = set[w];
    }
    set[w] = fresh;
    pthread_mutex_unlock(lock_of(hash));
    if (old.obj != NULL) {
        gw_json_unfreeze(old.obj);
        json_decref(old.obj);
    }
    free(old.key);
}

void email_object_cache_clear(void)
{
    for (size_t i = 0; i < OBJECT_CACHE_SLOTS; i++) {
        pthread_mutex_t *lock = &cache.locks[(i / OBJECT_CACHE_WAYS) % OBJECT_CACHE_LOCKS];
        pthread_mutex_lock(lock);
        struct slot old = cache.slots[i];
        memset(&cache.slots[i], 0, sizeof(cache.slots[i]));
        pthread_mutex_unlock(lock);
        if (old.obj != NULL) {
            gw_json_unfreeze(old.obj);
            json_decref(old.obj);
        }
        free(old.key);
    }
}
