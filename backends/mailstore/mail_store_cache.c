/* mail_store_cache.c - answers the read path gives again and again without
 * asking SQLite (mail_store_read.h): an account's states, its mailbox list
 * and its Email rows (a list view asks for the same fifty Emails on every
 * refresh), read once per write rather than once per call.
 *
 * Exactness: an entry is stamped with the store's commit generation
 * (store_db_generation(), which moves only once a commit is visible to
 * every connection) taken before it was read, and is used only while the
 * generation is unchanged. A commit visible before the stamp was taken is
 * in what was read; one made later moves the generation and retires the
 * entry. Every write of the database goes through the store's one writer
 * connection (one gateway per database file). Uncommitted writes are
 * never seen: readers see commits only, and the writer reading inside its
 * own write transaction gets stamp 0 (never cached). Writes elsewhere in
 * the database retire more than they need to, which costs one read each.
 * Entries are copied in and out under the cache's own lock. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail_store_read.h"

#define STATE_SLOTS 64
#define MAILBOX_SLOTS 16
/* Direct-mapped: a few megabytes at most (a row is well under 1 KiB
 * without its header block, which is never cached). */
#define EMAIL_SLOTS 4096
/* Longer account ids are simply not cached. */
#define ACCOUNT_MAX 64

struct state_slot {
    char account_id[ACCOUNT_MAX];
    uint64_t stamp;     /* 0: empty */
    uint64_t states[3];
};

struct mailbox_slot {
    char account_id[ACCOUNT_MAX];
    uint64_t stamp;
    struct mail_store_mailbox_list *list;   /* owned */
};

struct email_slot {
    char account_id[ACCOUNT_MAX];
    uint64_t stamp;
    struct mail_store_email e;  /* e.mem owned, mem_size bytes */
    size_t mem_size;
};

struct mail_read_cache {
    pthread_mutex_t lock;
    struct state_slot states[STATE_SLOTS];
    struct mailbox_slot boxes[MAILBOX_SLOTS];
    struct email_slot *emails;  /* EMAIL_SLOTS, allocated at first use */
};

int mail_read_cache_new(struct mail_read_cache **out)
{
    *out = calloc(1, sizeof(**out));
    if (*out == NULL)
        return -1;
    pthread_mutex_init(&(*out)->lock, NULL);
    return 0;
}

void mail_read_cache_free(struct mail_read_cache **cp)
{
    struct mail_read_cache *c = *cp;
    if (c == NULL)
        return;
    for (size_t i = 0; i < MAILBOX_SLOTS; i++)
        mail_store_mailbox_list_free(&c->boxes[i].list);
    for (size_t i = 0; c->emails != NULL && i < EMAIL_SLOTS; i++)
        free(c->emails[i].e.mem);
    free(c->emails);
    pthread_mutex_destroy(&c->lock);
    free(c);
    *cp = NULL;
}

static uint64_t hash_more(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        h = (h ^ *p) * 1099511628211ull;   /* FNV-1a */
    return h;
}

static size_t slot_of(const char *account_id, size_t n)
{
    return (size_t)(hash_more(1469598103934665603ull, account_id) % n);
}

static bool key_fits(const char *account_id)
{
    return strlen(account_id) < ACCOUNT_MAX;
}

/* account_id into a slot's key; checked by key_fits() first. */
static void key_set(char key[ACCOUNT_MAX], const char *account_id)
{
    size_t len = strlen(account_id);
    if (len >= ACCOUNT_MAX)
        abort();
    memcpy(key, account_id, len + 1);
}

bool mail_read_cache_states(struct mail_store *ms, uint64_t stamp, const char *account_id,
                            uint64_t out[3])
{
    struct mail_read_cache *c = ms->read_cache;
    bool hit = false;
    if (c == NULL || stamp == 0 || !key_fits(account_id))
        return false;
    pthread_mutex_lock(&c->lock);
    const struct state_slot *s = &c->states[slot_of(account_id, STATE_SLOTS)];
    if (s->stamp == stamp && strcmp(s->account_id, account_id) == 0) {
        memcpy(out, s->states, sizeof(s->states));
        hit = true;
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

void mail_read_cache_put_states(struct mail_store *ms, uint64_t stamp, const char *account_id,
                                const uint64_t states[3])
{
    struct mail_read_cache *c = ms->read_cache;
    if (c == NULL || stamp == 0 || !key_fits(account_id))
        return;
    pthread_mutex_lock(&c->lock);
    struct state_slot *s = &c->states[slot_of(account_id, STATE_SLOTS)];
    key_set(s->account_id, account_id);
    memcpy(s->states, states, sizeof(s->states));
    s->stamp = stamp;
    pthread_mutex_unlock(&c->lock);
}

static char *dup_opt(const char *s, bool *failed)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    *failed = *failed || d == NULL;
    return d;
}

/* A deep copy of l (new), or NULL when out of memory. */
static struct mail_store_mailbox_list *list_copy(const struct mail_store_mailbox_list *l)
{
    struct mail_store_mailbox_list *c = calloc(1, sizeof(*c));
    bool failed = c == NULL;
    if (!failed && l->n > 0 && (c->v = calloc(l->n, sizeof(*c->v))) == NULL)
        failed = true;
    for (size_t i = 0; !failed && i < l->n; i++) {
        struct mail_store_mailbox *x = &c->v[c->n++];
        *x = l->v[i];
        x->id = dup_opt(l->v[i].id, &failed);
        x->name = dup_opt(l->v[i].name, &failed);
        x->parent_id = dup_opt(l->v[i].parent_id, &failed);
        x->role = dup_opt(l->v[i].role, &failed);
        x->name_raw = dup_opt(l->v[i].name_raw, &failed);
    }
    if (failed && c != NULL)
        mail_store_mailbox_list_free(&c);
    return c;
}

int mail_read_cache_mailboxes(struct mail_store *ms, uint64_t stamp, const char *account_id,
                              struct mail_store_mailbox_list **out)
{
    struct mail_read_cache *c = ms->read_cache;
    int rc = 0;
    *out = NULL;
    if (c == NULL || stamp == 0 || !key_fits(account_id))
        return 0;
    pthread_mutex_lock(&c->lock);
    const struct mailbox_slot *s = &c->boxes[slot_of(account_id, MAILBOX_SLOTS)];
    if (s->stamp == stamp && strcmp(s->account_id, account_id) == 0)
        rc = (*out = list_copy(s->list)) != NULL ? 1 : -1;
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void mail_read_cache_put_mailboxes(struct mail_store *ms, uint64_t stamp, const char *account_id,
                                   const struct mail_store_mailbox_list *l)
{
    struct mail_read_cache *c = ms->read_cache;
    if (c == NULL || stamp == 0 || !key_fits(account_id))
        return;
    /* Copied before taking the lock: readers of other slots do not wait. */
    struct mail_store_mailbox_list *copy = list_copy(l);
    if (copy == NULL)
        return;     /* out of memory: the next call reads SQLite again */
    pthread_mutex_lock(&c->lock);
    struct mailbox_slot *s = &c->boxes[slot_of(account_id, MAILBOX_SLOTS)];
    struct mail_store_mailbox_list *old = s->list;
    s->list = copy;
    key_set(s->account_id, account_id);
    s->stamp = stamp;
    pthread_mutex_unlock(&c->lock);
    mail_store_mailbox_list_free(&old);
}

static void *moved(const void *p, const char *from, char *to)
{
    return p == NULL ? NULL : to + ((const char *)p - from);
}

/* *dst = a copy of src in a new block of size bytes, every pointer moved
 * into it; -1 when out of memory. */
static int email_copy(struct mail_store_email *dst, const struct mail_store_email *src,
                      size_t size)
{
    char *mem = malloc(size), *from = src->mem;
    if (mem == NULL)
        return -1;
    memcpy(mem, from, size);
    *dst = *src;
    dst->mem = mem;
    dst->subject = moved(src->subject, from, mem);
    dst->from_sort = moved(src->from_sort, from, mem);
    dst->to_sort = moved(src->to_sort, from, mem);
    dst->cc_sort = moved(src->cc_sort, from, mem);
    dst->preview = moved(src->preview, from, mem);
    dst->headers = moved(src->headers, from, mem);
    dst->keywords = moved(src->keywords, from, mem);
    dst->mailbox_ids = moved(src->mailbox_ids, from, mem);
    for (size_t i = 0; i < src->n_keywords; i++)
        dst->keywords[i] = moved(src->keywords[i], from, mem);
    for (size_t i = 0; i < src->n_mailbox_ids; i++)
        dst->mailbox_ids[i] = moved(src->mailbox_ids[i], from, mem);
    return 0;
}

static struct email_slot *email_slot(struct mail_read_cache *c, const char *account_id,
                                     const char *id)
{
    uint64_t h = hash_more(hash_more(1469598103934665603ull, account_id), "/");
    return &c->emails[hash_more(h, id) % EMAIL_SLOTS];
}

int mail_read_cache_email(struct mail_store *ms, uint64_t stamp, const char *account_id,
                          const char *id, struct mail_store_email *out)
{
    struct mail_read_cache *c = ms->read_cache;
    int rc = 0;
    if (c == NULL || stamp == 0 || !key_fits(account_id))
        return 0;
    pthread_mutex_lock(&c->lock);
    const struct email_slot *s = c->emails != NULL ? email_slot(c, account_id, id) : NULL;
    if (s != NULL && s->stamp == stamp && strcmp(s->e.id, id) == 0 &&
        strcmp(s->account_id, account_id) == 0)
        rc = email_copy(out, &s->e, s->mem_size) == 0 ? 1 : -1;
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void mail_read_cache_put_email(struct mail_store *ms, uint64_t stamp, const char *account_id,
                               const struct mail_store_email *e, size_t mem_size)
{
    struct mail_read_cache *c = ms->read_cache;
    struct mail_store_email copy;
    if (c == NULL || stamp == 0 || !key_fits(account_id) || e->headers != NULL)
        return;
    if (email_copy(&copy, e, mem_size) < 0)
        return;     /* out of memory: the next call reads SQLite again */
    pthread_mutex_lock(&c->lock);
    if (c->emails == NULL)
        c->emails = calloc(EMAIL_SLOTS, sizeof(*c->emails));
    if (c->emails == NULL) {
        pthread_mutex_unlock(&c->lock);
        free(copy.mem);     /* no table: every read asks SQLite */
        return;
    }
    struct email_slot *s = email_slot(c, account_id, e->id);
    void *old = s->e.mem;
    s->e = copy;
    s->mem_size = mem_size;
    key_set(s->account_id, account_id);
    s->stamp = stamp;
    pthread_mutex_unlock(&c->lock);
    free(old);
}
