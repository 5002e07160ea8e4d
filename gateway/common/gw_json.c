/* gw_json.c - compact JSON writer (see include/gw_json.h). */
#include "gw_json.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jbuf {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
};

/* The first size fits most API replies (a list page is a few dozen
 * KiB), and growth is fourfold: every realloc of a large block copies it
 * and may first consolidate the allocator's free lists. */
#define JBUF_FIRST (32 * 1024)

static bool jbuf_reserve(struct jbuf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (extra <= b->cap - b->len)
        return true;
    size_t cap = b->cap != 0 ? b->cap : JBUF_FIRST;
    while (cap - b->len < extra) {
        if (cap > SIZE_MAX / 4) {
            b->failed = true;
            return false;
        }
        cap *= 4;
    }
    char *data = realloc(b->data, cap);
    if (data == NULL) {
        b->failed = true;
        return false;
    }
    b->data = data;
    b->cap = cap;
    return true;
}

static void jbuf_put(struct jbuf *b, const char *s, size_t n)
{
    if (!jbuf_reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static void jbuf_putc(struct jbuf *b, char c)
{
    if (!jbuf_reserve(b, 1))
        return;
    b->data[b->len++] = c;
}

/* Length of the well-formed UTF-8 sequence at s (lead byte >= 0x80), or 0. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n > avail)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    /* Overlong forms, surrogates and code points past U+10FFFF. */
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static void put_string(struct jbuf *b, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    jbuf_putc(b, '"');
    while (i < len && !b->failed) {
        /* The plain run first, copied in one go. */
        size_t start = i;
        while (i < len && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
            i++;
        if (i > start)
            jbuf_put(b, str + start, i - start);
        if (i >= len)
            break;
        unsigned char c = s[i];
        if (c >= 0x80) {
            size_t n = utf8_seq_len(s + i, len - i);
            if (n == 0) {
                b->failed = true;
                return;
            }
            jbuf_put(b, str + i, n);
            i += n;
            continue;
        }
        char esc[8];
        const char *text = esc;
        size_t tlen = 2;
        switch (c) {
        case '"': text = "\\\""; break;
        case '\\': text = "\\\\"; break;
        case '\b': text = "\\b"; break;
        case '\f': text = "\\f"; break;
        case '\n': text = "\\n"; break;
        case '\r': text = "\\r"; break;
        case '\t': text = "\\t"; break;
        default: {
            static const char hex[] = "0123456789ABCDEF";
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            tlen = 6;
            break;
        }
        }
        jbuf_put(b, text, tlen);
        i++;
    }
    jbuf_putc(b, '"');
}

static void put_scalar_fallback(struct jbuf *b, const json_t *json)
{
    /* Reals: Jansson's own formatting, so the bytes stay the same. */
    char *text = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL) {
        b->failed = true;
        return;
    }
    jbuf_put(b, text, strlen(text));
    free(text);
}

/* Frozen containers: their text, found by address. A chained hash: the
 * table only grows to GW_JSON_FROZEN_MAX entries. Each entry holds a
 * reference, so its address cannot be reused by another value while the
 * entry exists. Locks by bucket: replies written at once seldom wait. */
#define FROZEN_BUCKETS 8192
#define FROZEN_LOCKS 16

struct frozen {
    struct frozen *next;
    json_t *json;
    size_t len;
    char text[];
};

static struct {
    pthread_mutex_t locks[FROZEN_LOCKS];
    size_t n;                           /* atomic; read without a lock only as a hint */
    struct frozen *buckets[FROZEN_BUCKETS];
} frozen = { .locks = { [0 ... FROZEN_LOCKS - 1] = PTHREAD_MUTEX_INITIALIZER } };

static size_t frozen_bucket(const json_t *json)
{
    uint64_t p = (uint64_t)(uintptr_t)json;
    return (size_t)(((p >> 4) * 0x9E3779B97F4A7C15u) >> 40) % FROZEN_BUCKETS;
}

/* The lock of json's bucket, taken. */
static pthread_mutex_t *frozen_lock(const json_t *json)
{
    pthread_mutex_t *lock = &frozen.locks[frozen_bucket(json) % FROZEN_LOCKS];
    pthread_mutex_lock(lock);
    return lock;
}

/* The entry of json; with its bucket's lock held. */
static struct frozen **frozen_find(const json_t *json)
{
    struct frozen **f = &frozen.buckets[frozen_bucket(json)];
    while (*f != NULL && (*f)->json != json)
        f = &(*f)->next;
    return f;
}

/* Copies json's frozen text into b; false when json is not frozen. Only
 * shared containers are looked up: a frozen one has the table's reference
 * and its holder's, a value built for one reply (nearly all) has one. */
static bool put_frozen(struct jbuf *b, const json_t *json)
{
    if (__atomic_load_n(&json->refcount, __ATOMIC_RELAXED) < 2 ||
        __atomic_load_n(&frozen.n, __ATOMIC_RELAXED) == 0)
        return false;
    bool found = false;
    pthread_mutex_t *lock = frozen_lock(json);
    struct frozen *f = *frozen_find(json);
    if (f != NULL) {
        jbuf_put(b, f->text, f->len);
        found = true;
    }
    pthread_mutex_unlock(lock);
    return found;
}

static void put_value(struct jbuf *b, const json_t *json, int depth)
{
    if (b->failed)
        return;
    if (depth > GW_JSON_MAX_DEPTH) {
        b->failed = true;
        return;
    }
    if ((json_is_object(json) || json_is_array(json)) && put_frozen(b, json))
        return;
    switch (json_typeof(json)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *value;
        bool first = true;
        jbuf_putc(b, '{');
        /* Jansson's object API takes non-const; iteration does not modify. */
        json_t *obj = (json_t *)json;
        void *it = json_object_iter(obj);
        while (it != NULL && !b->failed) {
            key = json_object_iter_key(it);
            value = json_object_iter_value(it);
            if (!first)
                jbuf_putc(b, ',');
            first = false;
            put_string(b, key, json_object_iter_key_len(it));
            jbuf_putc(b, ':');
            put_value(b, value, depth + 1);
            it = json_object_iter_next(obj, it);
        }
        jbuf_putc(b, '}');
        break;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(json);
        jbuf_putc(b, '[');
        for (size_t i = 0; i < n && !b->failed; i++) {
            if (i > 0)
                jbuf_putc(b, ',');
            put_value(b, json_array_get(json, i), depth + 1);
        }
        jbuf_putc(b, ']');
        break;
    }
    case JSON_STRING:
        put_string(b, json_string_value(json), json_string_length(json));
        break;
    case JSON_INTEGER: {
        char num[32];
        int n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(json));
        if (n < 0 || (size_t)n >= sizeof(num)) {
            b->failed = true;
            return;
        }
        jbuf_put(b, num, (size_t)n);
        break;
    }
    case JSON_TRUE:
        jbuf_put(b, "true", 4);
        break;
    case JSON_FALSE:
        jbuf_put(b, "false", 5);
        break;
    case JSON_NULL:
        jbuf_put(b, "null", 4);
        break;
    case JSON_REAL:
    default:
        put_scalar_fallback(b, json);
        break;
    }
}

char *gw_json_dump_compact(const json_t *json, size_t *len_out)
{
    struct jbuf b = { 0 };
    if (json == NULL || (!json_is_object(json) && !json_is_array(json)))
        return NULL;
    put_value(&b, json, 0);
    jbuf_putc(&b, '\0');
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    if (len_out != NULL)
        *len_out = b.len - 1;
    return b.data;
}

int gw_json_freeze(json_t *json)
{
    size_t len = 0;
    char *text = gw_json_dump_compact(json, &len);
    if (text == NULL)
        return -1;
    struct frozen *f = malloc(sizeof(*f) + len);
    if (f == NULL) {
        free(text);
        return -1;
    }
    memcpy(f->text, text, len);
    free(text);
    f->len = len;
    f->json = json;
    int rc = 0;
    pthread_mutex_t *lock = frozen_lock(json);
    struct frozen **slot = frozen_find(json);
    if (*slot != NULL) {
        /* Already frozen: the first text stands, as json cannot change. */
        free(f);
    } else if (__atomic_add_fetch(&frozen.n, 1, __ATOMIC_RELAXED) > GW_JSON_FROZEN_MAX) {
        __atomic_sub_fetch(&frozen.n, 1, __ATOMIC_RELAXED);
        free(f);
        rc = -1;
    } else {
        f->next = NULL;
        *slot = f;
        json_incref(json);
    }
    pthread_mutex_unlock(lock);
    return rc;
}

void gw_json_unfreeze(json_t *json)
{
    struct frozen *f = NULL;
    if (json == NULL)
        return;
    pthread_mutex_t *lock = frozen_lock(json);
    struct frozen **slot = frozen_find(json);
    if (*slot != NULL) {
        f = *slot;
        *slot = f->next;
        __atomic_sub_fetch(&frozen.n, 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(lock);
    if (f != NULL)
        json_decref(f->json);
    free(f);
}
