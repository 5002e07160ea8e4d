/* mail_store_mailbox.c - mailbox sync and listing (include/mail_store.h:
 * the id rules are documented there). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend_mail.h"
#include "mail_store_identity.h"
#include "mail_store_read.h"

/* Server identity and rights, written only when they moved. */
static const char *const sql_set_ids MAIL_STORE_SQL =
    "UPDATE mailboxes SET mailboxid = nullif(?3,''), rights = ?4, rights_checked = ?5"
    " WHERE account_id = ?1 AND mailbox_id = ?2";

/* A live cached row. */
struct cached {
    char id[16];
    char *name_raw, *name_utf8, *parent, *role;
    char *mailboxid;    /* RFC 8474, "" when none */
    uint32_t uidvalidity, total, unseen;
    int subscribed;
    unsigned rights;
    int64_t rights_checked;
    bool used;
};

/* A listed mailbox and what it maps to. */
struct listed {
    const struct backend_mailbox *mb;
    struct cached *old;     /* NULL: new */
    char id[16];
    const char *role, *parent;  /* parent: an id in this round, or "" */
    unsigned rights;
    int64_t rights_checked;
};

static void cached_free(struct cached *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(c[i].name_raw);
        free(c[i].name_utf8);
        free(c[i].parent);
        free(c[i].role);
        free(c[i].mailboxid);
    }
    free(c);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return strdup(t ? (const char *)t : "");
}

static int load_cached(struct mail_store *ms, const char *account_id, struct cached **out,
                       size_t *n_out, struct gw_error *err)
{
    struct cached *v = NULL;
    size_t n = 0, cap = 0;
    int step;
    sqlite3_stmt *st = ms->live_mailboxes;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            struct cached *nv = realloc(v, cap * sizeof(*v));
            if (!nv)
                goto nomem;
            v = nv;
        }
        struct cached *c = &v[n++];
        memset(c, 0, sizeof(*c));
        snprintf(c->id, sizeof(c->id), "%s", (const char *)sqlite3_column_text(st, 0));
        c->name_raw = col_dup(st, 1);
        c->uidvalidity = (uint32_t)sqlite3_column_int64(st, 2);
        c->name_utf8 = col_dup(st, 3);
        c->parent = col_dup(st, 4);
        c->role = col_dup(st, 5);
        c->subscribed = sqlite3_column_int(st, 6);
        c->total = (uint32_t)sqlite3_column_int64(st, 7);
        c->unseen = (uint32_t)sqlite3_column_int64(st, 8);
        c->mailboxid = col_dup(st, 9);
        c->rights = (unsigned)sqlite3_column_int64(st, 10);
        c->rights_checked = sqlite3_column_int64(st, 11);
        if (!c->name_raw || !c->name_utf8 || !c->parent || !c->role || !c->mailboxid)
            goto nomem;
    }
    sqlite3_reset(st);
    if (step != SQLITE_DONE) {
        cached_free(v, n);
        return mail_store_db_fail(ms, err, "load mailboxes");
    }
    *out = v;
    *n_out = n;
    return 0;
nomem:
    sqlite3_reset(st);
    cached_free(v, n);
    return gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
}

static const char *role_of(const struct backend_mailbox *mb, unsigned uses_seen)
{
    static const char *const by_use[] = {
        [BACKEND_USE_INBOX] = "inbox", [BACKEND_USE_DRAFTS] = "drafts",
        [BACKEND_USE_SENT] = "sent", [BACKEND_USE_TRASH] = "trash",
        [BACKEND_USE_JUNK] = "junk", [BACKEND_USE_ARCHIVE] = "archive",
        [BACKEND_USE_ALL] = "all", [BACKEND_USE_FLAGGED] = "flagged",
    };
    static const struct { const char *name; enum backend_special_use use; } by_name[] = {
        { "INBOX", BACKEND_USE_INBOX }, { "Sent", BACKEND_USE_SENT },
        { "Sent Items", BACKEND_USE_SENT }, { "Sent Messages", BACKEND_USE_SENT },
        { "Drafts", BACKEND_USE_DRAFTS }, { "Trash", BACKEND_USE_TRASH },
        { "Deleted Items", BACKEND_USE_TRASH }, { "Junk", BACKEND_USE_JUNK },
        { "Spam", BACKEND_USE_JUNK }, { "Archive", BACKEND_USE_ARCHIVE },
    };
    if (mb->special_use != BACKEND_USE_NONE)
        return by_use[mb->special_use];
    /* Usual names only fill roles no mailbox claims by SPECIAL-USE. */
    for (size_t i = 0; i < sizeof(by_name) / sizeof(by_name[0]); i++)
        if (strcasecmp(mb->name_raw, by_name[i].name) == 0 && !(uses_seen & (1u << by_name[i].use)))
            return by_use[by_name[i].use];
    return "";
}

/* Pairs listed mailboxes with cached rows: by the server's MAILBOXID,
 * then by name, then renames by UIDVALIDITY among rows whose name
 * vanished; the rest get new ids. */
static int match(struct listed *l, size_t nl, struct cached *c, size_t nc, struct gw_error *err)
{
    for (size_t i = 0; i < nl; i++)
        for (size_t j = 0; j < nc && !l[i].old && l[i].mb->mailboxid; j++)
            if (!c[j].used && strcmp(c[j].mailboxid, l[i].mb->mailboxid) == 0) {
                l[i].old = &c[j];
                c[j].used = true;
            }
    for (size_t i = 0; i < nl; i++)
        for (size_t j = 0; j < nc && !l[i].old; j++)
            /* A row the server names otherwise is another mailbox. */
            if (!c[j].used && strcmp(c[j].name_raw, l[i].mb->name_raw) == 0 &&
                !(l[i].mb->mailboxid && *c[j].mailboxid)) {
                l[i].old = &c[j];
                c[j].used = true;
            }
    for (size_t i = 0; i < nl; i++)
        for (size_t j = 0; j < nc && !l[i].old && l[i].mb->status.uidvalidity; j++)
            if (!c[j].used && c[j].uidvalidity == l[i].mb->status.uidvalidity &&
                !(l[i].mb->mailboxid && *c[j].mailboxid)) {
                l[i].old = &c[j];
                c[j].used = true;
            }
    for (size_t i = 0; i < nl; i++) {
        if (l[i].old)
            memcpy(l[i].id, l[i].old->id, sizeof(l[i].id));
        else if (mail_store_mint_id('M', l[i].id, err) < 0)
            return -1;
    }
    return 0;
}

static void resolve_parents(struct listed *l, size_t nl)
{
    for (size_t i = 0; i < nl; i++) {
        const struct backend_mailbox *mb = l[i].mb;
        l[i].parent = "";
        const char *cut = mb->delimiter ? strrchr(mb->name_raw, mb->delimiter) : NULL;
        if (!cut)
            continue;
        size_t plen = (size_t)(cut - mb->name_raw);
        for (size_t j = 0; j < nl; j++)
            if (strlen(l[j].mb->name_raw) == plen && memcmp(l[j].mb->name_raw, mb->name_raw, plen) == 0)
                l[i].parent = l[j].id;
    }
}

static bool differs(const struct listed *x)
{
    const struct cached *o = x->old;
    const struct backend_mailbox *mb = x->mb;
    return strcmp(o->name_raw, mb->name_raw) != 0 || strcmp(o->name_utf8, mb->name_utf8) != 0 ||
           strcmp(o->parent, x->parent) != 0 || strcmp(o->role, x->role) != 0 ||
           o->subscribed != !!(mb->flags & BACKEND_MBOX_SUBSCRIBED) ||
           o->uidvalidity != mb->status.uidvalidity || o->total != mb->status.messages ||
           o->unseen != mb->status.unseen || o->rights != x->rights;
}

/* The rights a listed mailbox ends the round with (see mail_rights_fetch). */
static void settle_rights(struct listed *x, const struct mail_rights_round *r, size_t i)
{
    const struct cached *o = x->old;
    x->rights = o != NULL ? o->rights : MAIL_STORE_RIGHTS_ALL;
    x->rights_checked = o != NULL ? o->rights_checked : 0;
    if (!r->acl) {
        x->rights = MAIL_STORE_RIGHTS_ALL;
        x->rights_checked = 0;
    } else if (r->state[i] == MAIL_RIGHTS_ANSWERED) {
        x->rights = r->mask[i];
        x->rights_checked = r->now;
    } else if (r->state[i] == MAIL_RIGHTS_REFUSED) {
        x->rights_checked = r->now;
    }
}

static int write_ids(struct mail_store *ms, const char *account_id, const struct listed *x,
                     struct gw_error *err)
{
    const char *mailboxid = x->mb->mailboxid != NULL ? x->mb->mailboxid : "";
    const struct cached *o = x->old;
    if (o != NULL && strcmp(o->mailboxid, mailboxid) == 0 && o->rights == x->rights &&
        o->rights_checked == x->rights_checked)
        return 0;
    sqlite3_stmt *st = mail_store_stmt(ms, sql_set_ids, err);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, x->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, mailboxid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, x->rights);
    sqlite3_bind_int64(st, 5, x->rights_checked);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    return step == SQLITE_DONE ? 0 : mail_store_db_fail(ms, err, "mailbox ids");
}

static int write_row(sqlite3_stmt *st, const char *account_id,
                     const struct listed *x, uint64_t stamp)
{
    const struct backend_mailbox *mb = x->mb;
    char delim[2] = { mb->delimiter, '\0' };
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, x->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, mb->name_raw, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, mb->name_utf8, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, x->parent, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, delim, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, x->role, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 8, !!(mb->flags & BACKEND_MBOX_SUBSCRIBED));
    sqlite3_bind_int64(st, 9, mb->status.uidvalidity);
    sqlite3_bind_int64(st, 10, mb->status.uidnext);
    sqlite3_bind_int64(st, 11, (sqlite3_int64)mb->status.highestmodseq);
    sqlite3_bind_int64(st, 12, mb->status.messages);
    sqlite3_bind_int64(st, 13, mb->status.unseen);
    sqlite3_bind_int64(st, 14, (sqlite3_int64)stamp);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int run_id(sqlite3_stmt *st, const char *account_id, const char *id,
                  uint64_t stamp)
{
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(st) >= 3)
        sqlite3_bind_int64(st, 3, (sqlite3_int64)stamp);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int current_modseq(struct mail_store *ms, const char *account_id, uint64_t *out,
                          struct gw_error *err)
{
    sqlite3_stmt *st = ms->state;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, MAIL_STORE_MAILBOX);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(st, 1);
    sqlite3_reset(st);
    if (step == SQLITE_ROW)
        return 0;
    if (step == SQLITE_DONE)
        return gw_error_set(err, GW_ERR_NOTFOUND, "mail store: no account %s", account_id);
    return mail_store_db_fail(ms, err, "modseq");
}

/* Writes one round under the lock, in one transaction. */
static int apply(struct mail_store *ms, const char *account_id, const struct backend_mailbox_list *list,
                 const struct mail_rights_round *rights, struct gw_error *err)
{
    struct cached *c = NULL;
    size_t nc = 0;
    struct listed *l = calloc(list->n ? list->n : 1, sizeof(*l));
    uint64_t m = 0;
    bool changed = false, in_tx = false;
    int rc = -1;

    if (!l)
        return gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
    if (sqlite3_exec(ms->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        mail_store_db_fail(ms, err, "begin");
        goto out;
    }
    in_tx = true;
    if (current_modseq(ms, account_id, &m, err) < 0 || load_cached(ms, account_id, &c, &nc, err) < 0)
        goto out;
    m++;
    unsigned uses = 0;
    for (size_t i = 0; i < list->n; i++)
        uses |= 1u << list->items[i].special_use;
    for (size_t i = 0; i < list->n; i++) {
        l[i].mb = &list->items[i];
        l[i].role = role_of(l[i].mb, uses);
    }
    if (match(l, list->n, c, nc, err) < 0)
        goto out;
    resolve_parents(l, list->n);
    for (size_t i = 0; i < list->n; i++)
        settle_rights(&l[i], rights, i);
    for (size_t i = 0; i < list->n; i++) {
        const struct listed *x = &l[i];
        int w;
        if (!x->old) {
            w = write_row(ms->insert_mailbox, account_id, x, m);
            changed = true;
        } else {
            bool d = differs(x);
            /* A new UIDVALIDITY voids every uid cached for it. */
            if (x->old->uidvalidity != x->mb->status.uidvalidity &&
                run_id(ms->drop_locations, account_id, x->id, 0) < 0) {
                mail_store_db_fail(ms, err, "drop locations");
                goto out;
            }
            w = write_row(ms->update_mailbox, account_id, x, d ? m : 0);
            changed |= d;
        }
        if (w < 0) {
            mail_store_db_fail(ms, err, "write mailbox");
            goto out;
        }
        if (write_ids(ms, account_id, x, err) < 0)
            goto out;
    }
    for (size_t j = 0; j < nc; j++) {
        if (c[j].used)
            continue;
        if (run_id(ms->drop_locations, account_id, c[j].id, 0) < 0 ||
            run_id(ms->destroy_mailbox, account_id, c[j].id, m) < 0) {
            mail_store_db_fail(ms, err, "destroy mailbox");
            goto out;
        }
        changed = true;
    }
    if (changed) {
        sqlite3_reset(ms->bump);
        sqlite3_bind_text(ms->bump, 1, account_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ms->bump, 2, (sqlite3_int64)m);
        int step = sqlite3_step(ms->bump);
        sqlite3_reset(ms->bump);
        if (step != SQLITE_DONE) {
            mail_store_db_fail(ms, err, "bump");
            goto out;
        }
    }
    if (sqlite3_exec(ms->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        mail_store_db_fail(ms, err, "commit");
        goto out;
    }
    in_tx = false;
    rc = 0;
out:
    if (in_tx)
        sqlite3_exec(ms->db, "ROLLBACK", NULL, NULL, NULL);
    cached_free(c, nc);
    free(l);
    return rc;
}

int mail_store_sync_mailboxes_listed(struct mail_store *ms, const char *account_id,
                                     struct mail_backend *b,
                                     const struct backend_mailbox_list *listing,
                                     struct gw_error *err)
{
    struct backend_mailbox_list *asked = NULL;
    struct mail_rights_round rights = { 0 };
    /* The IMAP round trips run without the lock. */
    if (listing == NULL) {
        if (backend_list_mailboxes(b, &asked, err) < 0)
            return -1;
        listing = asked;
    }
    int rc = mail_rights_fetch(ms, account_id, b, listing, &rights, err);
    if (rc == 0) {
        pthread_mutex_lock(store_db_lock(ms->st));
        rc = apply(ms, account_id, listing, &rights, err);
        pthread_mutex_unlock(store_db_lock(ms->st));
    }
    mail_rights_round_clear(&rights);
    backend_mailbox_list_free(&asked);
    return rc;
}

int mail_store_sync_mailboxes(struct mail_store *ms, const char *account_id,
                              struct mail_backend *b, struct gw_error *err)
{
    return mail_store_sync_mailboxes_listed(ms, account_id, b, NULL, err);
}

void mail_store_mailbox_list_free(struct mail_store_mailbox_list **lp)
{
    struct mail_store_mailbox_list *l = *lp;
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].id);
        free(l->v[i].name);
        free(l->v[i].name_raw);
        free(l->v[i].parent_id);
        free(l->v[i].role);
    }
    free(l->v);
    free(l);
    *lp = NULL;
}

static char *opt_dup(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NULL : col_dup(st, i);
}

/* Role mailboxes first, in the order mail apps show them; the rest share
 * one value and sort by name (RFC 8621 §2). */
static uint32_t sort_order_of(const char *role)
{
    static const char *const order[] = { "inbox", "drafts", "sent", "archive", "junk", "trash" };
    for (size_t i = 0; role != NULL && i < sizeof(order) / sizeof(order[0]); i++)
        if (strcmp(role, order[i]) == 0)
            return (uint32_t)i + 1;
    return 10;
}

/* JMAP's name is the last hierarchy level. */
static char *leaf_name(sqlite3_stmt *st)
{
    const char *full = (const char *)sqlite3_column_text(st, 1);
    const char *d = (const char *)sqlite3_column_text(st, 2);
    const char *cut = full && d && *d ? strrchr(full, *d) : NULL;
    return strdup(cut ? cut + 1 : full ? full : "");
}

/* Counts of the cache once it holds the whole mailbox; IMAP's STATUS
 * numbers before and while it is backfilled (include/mail_store.h, "Cold
 * start"), thread counts included: they move Mailbox state when they
 * change, the backfill's partial counts do not. */
static const char *const sql_list MAIL_STORE_SQL =
    "SELECT mailbox_id, name_utf8, delimiter, parent_id, role, subscribed,"
    " CASE WHEN whole THEN jmap_total ELSE total END,"
    " CASE WHEN whole THEN jmap_unread ELSE unseen END,"
    " CASE WHEN whole THEN total_threads ELSE total END,"
    " CASE WHEN whole THEN unread_threads ELSE unseen END,"
    " name_raw, rights, synced_uidvalidity"
    " FROM (SELECT *, synced_uidvalidity = uidvalidity AND NOT EXISTS (SELECT 1"
    "   FROM mail_backfill b WHERE b.account_id = m.account_id"
    "   AND b.mailbox_id = m.mailbox_id) AS whole"
    "   FROM mailboxes m WHERE m.account_id = ?1 AND m.destroyed_modseq IS NULL)"
    " ORDER BY name_utf8";

/* rv: the connection to read on (mail_read_acquire()). */
static int fill_list(struct mail_store *rv, const char *account_id,
                     struct mail_store_mailbox_list *l, struct gw_error *err)
{
    sqlite3_stmt *st = mail_store_stmt(rv, sql_list, err);
    size_t cap = 0;
    int step;
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (l->n == cap) {
            cap = cap ? cap * 2 : 16;
            struct mail_store_mailbox *nv = realloc(l->v, cap * sizeof(*nv));
            if (!nv)
                goto nomem;
            l->v = nv;
        }
        struct mail_store_mailbox *x = &l->v[l->n++];
        memset(x, 0, sizeof(*x));
        x->id = col_dup(st, 0);
        x->name = leaf_name(st);
        x->parent_id = opt_dup(st, 3);
        x->role = opt_dup(st, 4);
        x->subscribed = sqlite3_column_int(st, 5);
        x->total_emails = (uint32_t)sqlite3_column_int64(st, 6);
        x->unread_emails = (uint32_t)sqlite3_column_int64(st, 7);
        x->total_threads = (uint32_t)sqlite3_column_int64(st, 8);
        x->unread_threads = (uint32_t)sqlite3_column_int64(st, 9);
        x->name_raw = col_dup(st, 10);
        x->sort_order = sort_order_of(x->role);
        x->rights = (unsigned)sqlite3_column_int64(st, 11);
        x->uidvalidity = (uint32_t)sqlite3_column_int64(st, 12);
        if (!x->id || !x->name || !x->name_raw || (sqlite3_column_type(st, 3) != SQLITE_NULL && !x->parent_id) ||
            (sqlite3_column_type(st, 4) != SQLITE_NULL && !x->role))
            goto nomem;
    }
    sqlite3_reset(st);
    return step == SQLITE_DONE ? 0 : mail_store_db_fail(rv, err, "list mailboxes");
nomem:
    sqlite3_reset(st);
    return gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
}

int mail_store_list_mailboxes(struct mail_store *ms, const char *account_id,
                              struct mail_store_mailbox_list **out, struct gw_error *err)
{
    *out = NULL;
    struct mail_store *rv = mail_read_acquire(ms);
    uint64_t stamp = mail_read_stamp(ms, rv);
    /* A Mailbox/query or /get between two writes copies the last answer. */
    int rc = mail_read_cache_mailboxes(ms, stamp, account_id, out);
    if (rc < 0) {
        gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
    } else if (rc == 0) {
        if ((*out = calloc(1, sizeof(**out))) == NULL)
            rc = gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
        else if ((rc = fill_list(rv, account_id, *out, err)) == 0)
            mail_read_cache_put_mailboxes(ms, stamp, account_id, *out);
    }
    mail_read_release(ms, rv);
    if (rc < 0)
        mail_store_mailbox_list_free(out);
    return rc < 0 ? -1 : 0;
}
