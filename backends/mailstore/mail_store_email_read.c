/* mail_store_email_read.c - reading cached Emails and Threads for the JMAP
 * read path (include/mail_store.h). */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail_store_backfill.h"
#include "mail_store_read.h"

/* ?3 is a JSON array of ids: the outer loop walks it, each id one seek
 * (the CROSS JOIN keeps that order); the last column is the id's index. */
static const char *const sql_get_emails MAIL_STORE_SQL =
    "SELECT " MAIL_STORE_EMAIL_COLUMNS ", j.key FROM json_each(?3) j CROSS JOIN emails e"
    " WHERE e.account_id = ?1 AND e.email_id = j.value AND e.destroyed_modseq IS NULL";
static const char *const sql_list_mailbox MAIL_STORE_SQL =
    "SELECT " MAIL_STORE_EMAIL_COLUMNS " FROM email_locations l JOIN emails e"
    " ON e.account_id = l.account_id AND e.email_id = l.email_id"
    " WHERE l.account_id = ?1 AND l.mailbox_id = ?3 AND e.destroyed_modseq IS NULL"
    " ORDER BY e.received_at DESC, e.email_id";
/* The ids only: the rows come from the read cache when it has them. */
static const char *const sql_newest_ids MAIL_STORE_SQL =
    "SELECT e.email_id FROM email_locations l JOIN emails e"
    " ON e.account_id = l.account_id AND e.email_id = l.email_id"
    " WHERE l.account_id = ?1 AND l.mailbox_id = ?2 AND e.destroyed_modseq IS NULL"
    " AND e.received_at > ?3 ORDER BY e.received_at DESC, e.email_id LIMIT ?4";
static const char *const sql_list_account MAIL_STORE_SQL =
    "SELECT " MAIL_STORE_EMAIL_COLUMNS " FROM emails e"
    " WHERE e.account_id = ?1 AND e.destroyed_modseq IS NULL"
    " ORDER BY e.received_at DESC, e.email_id";
/* INDEXED BY: without it SQLite walks every location of the account by
 * the primary key's account prefix (7 ms per opened Email at 30,000). */
static const char *const sql_locate MAIL_STORE_SQL =
    "SELECT m.name_raw, l.uidvalidity, l.uid FROM email_locations l"
    " INDEXED BY email_locations_email JOIN mailboxes m"
    " ON m.account_id = l.account_id AND m.mailbox_id = l.mailbox_id"
    " JOIN emails e ON e.account_id = l.account_id AND e.email_id = l.email_id"
    " WHERE l.account_id = ?1 AND l.email_id = ?2 AND e.destroyed_modseq IS NULL"
    " AND m.destroyed_modseq IS NULL AND m.uidvalidity = l.uidvalidity"
    " ORDER BY m.role IS NULL, l.uid LIMIT 1";
static const char *const sql_by_uid MAIL_STORE_SQL =
    "SELECT email_id FROM email_locations WHERE account_id = ?1 AND mailbox_id = ?2 AND uid = ?3";
static const char *const sql_thread MAIL_STORE_SQL =
    "SELECT e.email_id FROM emails e INDEXED BY emails_thread"
    " WHERE e.account_id = ?1 AND e.thread_id = ?2"
    " AND e.destroyed_modseq IS NULL ORDER BY e.received_at, e.email_id";

static int nomem(struct gw_error *err)
{
    return gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
}

/* Binds what every Email list statement takes first: ?1 the account, ?2
 * whether the header block is wanted. */
static void bind_list(sqlite3_stmt *st, const char *account_id, unsigned fields)
{
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, (fields & MAIL_STORE_WITH_HEADERS) != 0);
}

/* Releases rv and hands l to *out when rc is 0, else frees it. */
static int list_done(struct mail_store *ms, struct mail_store *rv, int rc,
                     struct mail_store_email_list *l, struct mail_store_email_list **out)
{
    mail_read_release(ms, rv);
    if (rc == 0)
        *out = l;
    else
        mail_store_email_list_free(&l);
    return rc;
}

/* Whether id can name a stored Email and goes into a JSON string as it
 * is: every id this store mints is "E" + base32, so an id that needs
 * escaping (or is too long) is simply not found. */
static bool id_plain(const char *id)
{
    size_t len = 0;
    for (; id[len] != '\0'; len++)
        if (len + 1 >= MAIL_STORE_ID_MAX || (unsigned char)id[len] < 0x20 ||
            (unsigned char)id[len] > 0x7e || id[len] == '"' || id[len] == '\\')
            return false;
    return len > 0;
}

/* One call's work: the plain ids asked (borrowed), the slots they fill
 * in the order asked, and which of them the read cache did not answer. */
struct get_call {
    struct mail_store *ms, *rv;     /* the store, the view read on */
    uint64_t stamp;                 /* of the read (mail_read_stamp()) */
    const char *account_id;
    unsigned fields;
    const char **ids;
    struct mail_store_email *v;
    size_t n;
    size_t *miss;       /* indexes into ids/v */
    size_t n_miss;
    bool cacheable;     /* no header block asked */
};

/* The JSON array of the missed ids (new, NUL-terminated, *len_out long),
 * or NULL when out of memory. */
static char *misses_json(const struct get_call *c, size_t *len_out)
{
    char *json = malloc(c->n_miss * (MAIL_STORE_ID_MAX + 3) + 3), *p = json;
    if (json == NULL)
        return NULL;
    *p++ = '[';
    for (size_t i = 0; i < c->n_miss; i++) {
        const char *id = c->ids[c->miss[i]];
        size_t len = strlen(id);
        if (i > 0)
            *p++ = ',';
        *p++ = '"';
        memcpy(p, id, len);
        p += len;
        *p++ = '"';
    }
    *p++ = ']';
    *p = '\0';
    *len_out = (size_t)(p - json);
    return json;
}

/* Steps the statement of sql_get_emails, each row into the slot of the
 * miss its key names (each position of the array matches at most one
 * Email: keys are unique); -1 with err. */
static int get_rows(struct get_call *c, sqlite3_stmt *st, struct gw_error *err)
{
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_int64 key = sqlite3_column_int64(st, MAIL_STORE_EMAIL_NCOLS);
        struct mail_store_email *e = NULL;
        size_t mem_size = 0;
        if (key >= 0 && (uint64_t)key < c->n_miss)
            e = &c->v[c->miss[key]];
        if (e == NULL || e->mem != NULL) {
            sqlite3_reset(st);
            return gw_error_set(err, GW_ERR_INTERNAL, "mail store: bad row for id %lld",
                                (long long)key);
        }
        if (mail_store_email_decode(st, e, &mem_size) < 0) {
            sqlite3_reset(st);
            return nomem(err);
        }
        if (c->cacheable)
            mail_read_cache_put_email(c->ms, c->stamp, c->account_id, e, mem_size);
    }
    sqlite3_reset(st);
    return step == SQLITE_DONE ? 0 : mail_store_db_fail(c->rv, err, "read emails");
}

/* Fills the slots of the misses in one statement. */
static int query_misses(struct get_call *c, struct gw_error *err)
{
    size_t json_len = 0;
    char *json = misses_json(c, &json_len);
    if (json == NULL)
        return nomem(err);
    if (json_len > INT_MAX) {   /* SQLite takes an int length */
        free(json);
        return gw_error_set(err, GW_ERR_LIMIT, "mail store: too many ids in one call");
    }
    int rc = -1;
    sqlite3_stmt *st = mail_store_stmt(c->rv, sql_get_emails, err);
    if (st != NULL) {
        bind_list(st, c->account_id, c->fields);
        sqlite3_bind_text(st, 3, json, (int)json_len, SQLITE_STATIC);
        rc = get_rows(c, st, err);
        sqlite3_clear_bindings(st);     /* json is freed now */
    }
    free(json);
    return rc;
}

/* Fills the slots of c, from the read cache when it can, the rest in one
 * statement on c->rv. */
static int get_some(struct get_call *c, struct gw_error *err)
{
    size_t hits = 0;
    for (size_t i = 0; i < c->n; i++) {
        int hit = c->cacheable ? mail_read_cache_email(c->ms, c->stamp, c->account_id, c->ids[i],
                                                       &c->v[i])
                               : 0;
        if (hit < 0)
            return nomem(err);
        if (hit == 0)
            c->miss[c->n_miss++] = i;
        hits += (size_t)hit;
    }
    if (c->n_miss == 0 || query_misses(c, err) < 0)
        return c->n_miss == 0 ? 0 : -1;
    if (hits == 0 || mail_read_stamp(c->ms, c->rv) == c->stamp)
        return 0;
    /* A commit between the cache's answers and the statement's: one answer
     * must not mix two states, so all again in one statement. */
    c->n_miss = 0;
    for (size_t i = 0; i < c->n; i++) {
        mail_store_email_clear(&c->v[i]);
        c->miss[c->n_miss++] = i;
    }
    c->cacheable = false;   /* newer than the stamp */
    return query_misses(c, err);
}

/* Appends the live Emails of ids (plain ids, n of them) to the empty
 * list l, in the order given, reading on rv (stamp: mail_read_stamp()
 * before rv's snapshot began). */
static int fill_by_ids(struct mail_store *ms, struct mail_store *rv, uint64_t stamp,
                       const char *account_id, unsigned fields, const char **ids, size_t n,
                       struct mail_store_email_list *l, struct gw_error *err)
{
    struct get_call c = { .ms = ms, .rv = rv, .stamp = stamp,
                          .account_id = account_id, .fields = fields, .ids = ids, .n = n,
                          .cacheable = (fields & MAIL_STORE_WITH_HEADERS) == 0 };
    if (n == 0)
        return 0;
    /* Slots in the order asked, filled by key; the unfilled stay zero
     * (safe to clear), then are squeezed out. */
    c.v = l->v = calloc(n, sizeof(*l->v));
    c.miss = malloc(n * sizeof(*c.miss));
    if (l->v == NULL || c.miss == NULL) {
        free(c.miss);
        return nomem(err);
    }
    l->n = n;
    int rc = get_some(&c, err);
    free(c.miss);
    size_t found = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (l->v[i].mem != NULL)
            l->v[found++] = l->v[i];
    if (rc == 0)
        l->n = found;
    return rc;
}

int mail_store_get_emails(struct mail_store *ms, const char *account_id, const char *const *ids,
                          size_t n_ids, unsigned fields, struct mail_store_email_list **out,
                          struct gw_error *err)
{
    struct mail_store_email_list *l = calloc(1, sizeof(*l));
    const char **plain = malloc((n_ids + 1) * sizeof(*plain));
    size_t n = 0;
    int rc = -1;
    *out = NULL;
    if (l == NULL || plain == NULL) {
        nomem(err);
        goto out;
    }
    for (size_t i = 0; i < n_ids; i++)
        if (id_plain(ids[i]))
            plain[n++] = ids[i];
    struct mail_store *rv = mail_read_acquire(ms);
    rc = fill_by_ids(ms, rv, mail_read_stamp(ms, rv), account_id, fields, plain, n, l, err);
    mail_read_release(ms, rv);
out:
    free(plain);
    if (rc == 0)
        *out = l;
    else
        mail_store_email_list_free(&l);
    return rc;
}

int mail_store_list_emails(struct mail_store *ms, const char *account_id, const char *mailbox_id,
                           unsigned fields, struct mail_store_email_list **out,
                           struct gw_error *err)
{
    *out = NULL;
    if (mail_store_backfill_wait(ms, account_id, err) < 0)    /* needs every message */
        return -1;
    struct mail_store_email_list *l = calloc(1, sizeof(*l));
    size_t cap = 0;
    int rc = -1;
    if (l == NULL)
        return nomem(err);
    struct mail_store *rv = mail_read_acquire(ms);
    sqlite3_stmt *st =
        mail_store_stmt(rv, mailbox_id != NULL ? sql_list_mailbox : sql_list_account, err);
    if (st != NULL) {
        bind_list(st, account_id, fields);
        if (mailbox_id != NULL)
            sqlite3_bind_text(st, 3, mailbox_id, -1, SQLITE_STATIC);
        rc = mail_store_email_collect(rv, st, l, &cap, err);
    }
    return list_done(ms, rv, rc, l, out);
}

/* The first n live ids of mailbox_id received after cutoff, newest first,
 * into *ids (new, *n_out of them). Call with the store lock held. */
static int newest_ids(struct mail_store *rv, const char *account_id, const char *mailbox_id,
                      int64_t cutoff, size_t n, char (**ids)[MAIL_STORE_ID_MAX], size_t *n_out,
                      struct gw_error *err)
{
    size_t cap = 0;
    int step;
    *ids = NULL;
    *n_out = 0;
    sqlite3_stmt *st = mail_store_stmt(rv, sql_newest_ids, err);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, mailbox_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, cutoff);
    sqlite3_bind_int64(st, 4, n > INT64_MAX ? INT64_MAX : (sqlite3_int64)n);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n_out == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char (*nv)[MAIL_STORE_ID_MAX] = realloc(*ids, ncap * sizeof(*nv));
            if (nv == NULL) {
                sqlite3_reset(st);
                return nomem(err);
            }
            *ids = nv;
            cap = ncap;
        }
        mail_store_copy_id((*ids)[(*n_out)++], st, 0);
    }
    sqlite3_reset(st);
    return step == SQLITE_DONE ? 0 : mail_store_db_fail(rv, err, "newest emails");
}

/* The page of mail_store_list_newest() into l: 1, or 0 when the covered
 * prefix is too short for it. Call with the store lock held. */
static int newest_page(struct mail_store *ms, struct mail_store *rv, uint64_t stamp,
                       const char *account_id, const char *mailbox_id,
                       const struct mail_backfill_cover *cover, size_t n, unsigned fields,
                       struct mail_store_email_list *l, struct gw_error *err)
{
    char (*ids)[MAIL_STORE_ID_MAX] = NULL;
    const char **ptrs = NULL;
    size_t n_ids = 0;
    int rc = newest_ids(rv, account_id, mailbox_id, cover->cutoff, n, &ids, &n_ids, err);
    if (rc == 0 && (ptrs = malloc((n_ids + 1) * sizeof(*ptrs))) == NULL)
        rc = nomem(err);
    for (size_t i = 0; rc == 0 && i < n_ids; i++)
        ptrs[i] = ids[i];
    if (rc == 0)
        rc = fill_by_ids(ms, rv, stamp, account_id, fields, ptrs, n_ids, l, err);
    free(ptrs);
    free(ids);
    if (rc < 0)
        return -1;
    /* Short: the page reaches past what the first batch covers, unless
     * the mailbox is cached whole (then it is the end of the mailbox). */
    return cover->whole || l->n >= n ? 1 : 0;
}

int mail_store_list_newest(struct mail_store *ms, const char *account_id, const char *mailbox_id,
                           size_t n, bool want_total, unsigned fields,
                           struct mail_store_email_list **out, uint64_t *total,
                           struct gw_error *err)
{
    struct mail_backfill_cover cover;
    *out = NULL;
    if (!mail_store_backfill_pending(ms, account_id))
        return 0;   /* the full query does not wait then */
    struct mail_store_email_list *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return nomem(err);
    struct mail_store *rv = mail_read_acquire(ms);
    uint64_t stamp = mail_read_stamp(ms, rv);   /* before the snapshot begins */
    bool tx = mail_store_read_begin(rv);    /* the cover and the page: one snapshot */
    int rc = mail_backfill_cover(rv, account_id, mailbox_id, &cover, err);
    if (rc == 1 && want_total && cover.deleted_at_start != 0)
        rc = 0;
    if (rc == 1)
        rc = newest_page(ms, rv, stamp, account_id, mailbox_id, &cover, n, fields, l, err);
    mail_store_read_end(rv, tx);
    mail_read_release(ms, rv);
    if (rc == 1) {
        *out = l;
        *total = cover.total;
    } else {
        mail_store_email_list_free(&l);
    }
    return rc;
}

int mail_store_email_locate(struct mail_store *ms, const char *account_id, const char *email_id,
                            char **mailbox_name_raw, uint32_t *uidvalidity, uint32_t *uid,
                            struct gw_error *err)
{
    int rc = -1;
    *mailbox_name_raw = NULL;
    struct mail_store *rv = mail_read_acquire(ms);
    sqlite3_stmt *st = mail_store_stmt(rv, sql_locate, err);
    if (st != NULL) {
        sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, email_id, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            const unsigned char *name = sqlite3_column_text(st, 0);
            *mailbox_name_raw = strdup(name != NULL ? (const char *)name : "");
            *uidvalidity = (uint32_t)sqlite3_column_int64(st, 1);
            *uid = (uint32_t)sqlite3_column_int64(st, 2);
            rc = *mailbox_name_raw != NULL ? 0 : nomem(err);
        } else if (step == SQLITE_DONE) {
            gw_error_set(err, GW_ERR_NOTFOUND, "mail store: no email %s", email_id);
        } else {
            mail_store_db_fail(rv, err, "locate");
        }
        sqlite3_reset(st);
    }
    mail_read_release(ms, rv);
    return rc;
}

int mail_store_emails_by_uid(struct mail_store *ms, const char *account_id, const char *mailbox_id,
                             const uint32_t *uids, size_t n, char (*ids_out)[MAIL_STORE_ID_MAX],
                             struct gw_error *err)
{
    int rc = 0;
    struct mail_store *rv = mail_read_acquire(ms);
    bool tx = n > 1 && mail_store_read_begin(rv);  /* one WAL read lock, not one per uid */
    sqlite3_stmt *st = mail_store_stmt(rv, sql_by_uid, err);
    if (st == NULL)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, mailbox_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, uids[i]);
        int step = sqlite3_step(st);
        ids_out[i][0] = '\0';
        if (step == SQLITE_ROW)
            mail_store_copy_id(ids_out[i], st, 0);
        else if (step != SQLITE_DONE)
            rc = mail_store_db_fail(rv, err, "uid lookup");
    }
    if (st != NULL)
        sqlite3_reset(st);
    mail_store_read_end(rv, tx);
    mail_read_release(ms, rv);
    return rc;
}

void mail_store_thread_list_free(struct mail_store_thread_list **lp)
{
    struct mail_store_thread_list *l = *lp;
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].email_ids);
    free(l->v);
    free(l);
    *lp = NULL;
}

/* Fills t with the live Emails of thread id; t->n_email_ids 0 when none. */
static int thread_load(struct mail_store *rv, sqlite3_stmt *st, const char *account_id,
                       const char *id, struct mail_store_thread *t, struct gw_error *err)
{
    size_t cap = 0;
    int step;
    memset(t, 0, sizeof(*t));
    snprintf(t->id, sizeof(t->id), "%s", id);
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (t->n_email_ids == cap) {
            cap = cap ? cap * 2 : 4;
            char (*nv)[MAIL_STORE_ID_MAX] = realloc(t->email_ids, cap * sizeof(*nv));
            if (nv == NULL) {
                sqlite3_reset(st);
                return nomem(err);
            }
            t->email_ids = nv;
        }
        mail_store_copy_id(t->email_ids[t->n_email_ids++], st, 0);
    }
    sqlite3_reset(st);
    return step == SQLITE_DONE ? 0 : mail_store_db_fail(rv, err, "read thread");
}

int mail_store_get_threads(struct mail_store *ms, const char *account_id, const char *const *ids,
                           size_t n_ids, struct mail_store_thread_list **out, struct gw_error *err)
{
    *out = NULL;
    if (mail_store_backfill_wait(ms, account_id, err) < 0)    /* threads span the account */
        return -1;
    struct mail_store_thread_list *l = calloc(1, sizeof(*l));
    int rc = -1;
    if (l == NULL || (n_ids > 0 && (l->v = calloc(n_ids, sizeof(*l->v))) == NULL)) {
        free(l);
        return nomem(err);
    }
    struct mail_store *rv = mail_read_acquire(ms);
    bool tx = n_ids > 1 && mail_store_read_begin(rv);  /* one WAL read lock for all */
    sqlite3_stmt *st = mail_store_stmt(rv, sql_thread, err);
    for (size_t i = 0; st != NULL && i < n_ids; i++) {
        struct mail_store_thread *t = &l->v[l->n];
        if (thread_load(rv, st, account_id, ids[i], t, err) < 0)
            goto out;
        if (t->n_email_ids > 0)
            l->n++;
        else
            free(t->email_ids);
    }
    rc = st != NULL ? 0 : -1;
out:
    mail_store_read_end(rv, tx);
    mail_read_release(ms, rv);
    if (rc == 0)
        *out = l;
    else
        mail_store_thread_list_free(&l);
    return rc;
}
