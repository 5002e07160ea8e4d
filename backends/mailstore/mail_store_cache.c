/* mail_store_cache.c - answers the read path gives again and again without
 * asking SQLite (mail_store_read.h): an account's states, its mailbox list
 * and its Email rows (a list view asks for the same fifty Emails on every
 * refresh), read once per write rather than once per call.
 *
 * Exactness: an entry is stamped with the connection's count of changed
 * rows (sqlite3_total_changes64) when it was read, and is used only while
 * that count is unchanged and no write transaction is open. Every write
 * of the cached tables goes through this one connection under the store
 * lock (one gateway per database file), and a write that changes anything
 * changes at least one row: so an entry is never older than the data.
 * Writes elsewhere in the database throw away more than they need to,
 * which costs one read each. */
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
    struct state_slot states[STATE_SLOTS];
    struct mailbox_slot boxes[MAILBOX_SLOTS];
    struct email_slot *emails;  /* EMAIL_SLOTS, allocated at first use */
};

int mail_read_cache_new(struct mail_read_cache **out)
{
    *out = calloc(1, sizeof(**out));
    return *out != NULL ? 0 : -1;
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
    free(c);
    *cp = NULL;
}

/* The stamp of what the connection holds now; 0 (never a valid stamp)
 * inside a write transaction, whose writes may still be rolled back (a
 * read transaction changes nothing). */
static uint64_t stamp_now(struct mail_store *ms)
{
    if (sqlite3_txn_state(ms->db, NULL) == SQLITE_TXN_WRITE)
        return 0;
    return (uint64_t)sqlite3_total_changes64(ms->db) + 1;
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

bool mail_read_cache_states(struct mail_store *ms, const char *account_id, uint64_t out[3])
{
    uint64_t now = stamp_now(ms);
    if (ms->read_cache == NULL || now == 0 || !key_fits(account_id))
        return false;
    const struct state_slot *s = &ms->read_cache->states[slot_of(account_id, STATE_SLOTS)];
    if (s->stamp != now || strcmp(s->account_id, account_id) != 0)
        return false;
    memcpy(out, s->states, sizeof(s->states));
    return true;
}

void mail_read_cache_put_states(struct mail_store *ms, const char *account_id,
                                const uint64_t states[3])
{
    uint64_t now = stamp_now(ms);
    if (ms->read_cache == NULL || now == 0 || !key_fits(account_id))
        return;
    struct state_slot *s = &ms->read_cache->states[slot_of(account_id, STATE_SLOTS)];
    key_set(s->account_id, account_id);
    memcpy(s->states, states, sizeof(s->states));
    s->stamp = now;
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

int mail_read_cache_mailboxes(struct mail_store *ms, const char *account_id,
                              struct mail_store_mailbox_list **out)
{
    uint64_t now = stamp_now(ms);
    *out = NULL;
    if (ms->read_cache == NULL || now == 0 || !key_fits(account_id))
        return 0;
    const struct mailbox_slot *s = &ms->read_cache->boxes[slot_of(account_id, MAILBOX_SLOTS)];
    if (s->stamp != now || strcmp(s->account_id, account_id) != 0)
        return 0;
    return (*out = list_copy(s->list)) != NULL ? 1 : -1;
}

void mail_read_cache_put_mailboxes(struct mail_store *ms, const char *account_id,
                                   const struct mail_store_mailbox_list *l)
{
    uint64_t now = stamp_now(ms);
    if (ms->read_cache == NULL || now == 0 || !key_fits(account_id))
        return;
    struct mailbox_slot *s = &ms->read_cache->boxes[slot_of(account_id, MAILBOX_SLOTS)];
    mail_store_mailbox_list_free(&s->list);
    s->stamp = 0;
    if ((s->list = list_copy(l)) == NULL)
        return;     /* out of memory: the next call reads SQLite again */
    key_set(s->account_id, account_id);
    s->stamp = now;
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

int mail_read_cache_email(struct mail_store *ms, const char *account_id, const char *id,
                          struct mail_store_email *out)
{
    uint64_t now = stamp_now(ms);
    if (ms->read_cache == NULL || ms->read_cache->emails == NULL || now == 0 ||
        !key_fits(account_id))
        return 0;
    const struct email_slot *s = email_slot(ms->read_cache, account_id, id);
    if (s->stamp != now || strcmp(s->e.id, id) != 0 || strcmp(s->account_id, account_id) != 0)
        return 0;
    return email_copy(out, &s->e, s->mem_size) == 0 ? 1 : -1;
}

void mail_read_cache_put_email(struct mail_store *ms, const char *account_id,
                               const struct mail_store_email *e, size_t mem_size)
{
    uint64_t now = stamp_now(ms);
    struct mail_read_cache *c = ms->read_cache;
    if (c == NULL || now == 0 || !key_fits(account_id) || e->headers != NULL)
        return;
    if (c->emails == NULL && (c->emails = calloc(EMAIL_SLOTS, sizeof(*c->emails))) == NULL)
        return;     /* out of memory: no cache, every read asks SQLite */
    struct email_slot *s = email_slot(c, account_id, e->id);
    free(s->e.mem);
    s->stamp = 0;
    if (email_copy(&s->e, e, mem_size) < 0) {
        memset(&s->e, 0, sizeof(s->e));
        return;
    }
    key_set(s->account_id, account_id);
    s->mem_size = mem_size;
    s->stamp = now;
}
