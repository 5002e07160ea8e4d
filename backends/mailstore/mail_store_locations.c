/* mail_store_locations.c - every location of one Email
 * (mail_store_email_locations() in include/mail_store.h), for the write
 * path: a keyword change or a destroy must reach each copy. */
#include <stdlib.h>
#include <string.h>

#include "mail_store_db.h"

/* INDEXED BY: as sql_locate in mail_store_email_read.c. */
static const char *const sql_locations MAIL_STORE_SQL =
    "SELECT l.mailbox_id, m.name_raw, l.uidvalidity, l.uid FROM email_locations l"
    " INDEXED BY email_locations_email"
    " JOIN mailboxes m ON m.account_id = l.account_id AND m.mailbox_id = l.mailbox_id"
    " JOIN emails e ON e.account_id = l.account_id AND e.email_id = l.email_id"
    " WHERE l.account_id = ?1 AND l.email_id = ?2 AND e.destroyed_modseq IS NULL"
    " AND m.destroyed_modseq IS NULL AND m.uidvalidity = l.uidvalidity"
    " ORDER BY l.mailbox_id, l.uid";

/* Bounds one Email's copies: more than this is not a mailbox a person uses. */
#define LOCATIONS_MAX 10000

void mail_store_location_list_free(struct mail_store_location_list **l)
{
    if (l == NULL || *l == NULL)
        return;
    for (size_t i = 0; i < (*l)->n; i++)
        free((*l)->v[i].name_raw);
    free((*l)->v);
    free(*l);
    *l = NULL;
}

static int fill(sqlite3_stmt *st, struct mail_store_location_list *l, struct gw_error *err)
{
    size_t cap = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW && l->n < LOCATIONS_MAX) {
        if (l->n == cap) {
            cap = cap ? cap * 2 : 4;
            struct mail_store_location *nv = realloc(l->v, cap * sizeof(*nv));
            if (nv == NULL)
                return gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
            l->v = nv;
        }
        struct mail_store_location *x = &l->v[l->n];
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        if (id == NULL || name == NULL || strlen(id) >= sizeof(x->mailbox_id))
            return gw_error_set(err, GW_ERR_INTERNAL, "mail store: bad location row");
        memset(x, 0, sizeof(*x));
        memcpy(x->mailbox_id, id, strlen(id) + 1);
        x->name_raw = strdup(name);
        if (x->name_raw == NULL)
            return gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
        x->uidvalidity = (uint32_t)sqlite3_column_int64(st, 2);
        x->uid = (uint32_t)sqlite3_column_int64(st, 3);
        l->n++;
    }
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : -2;
}

int mail_store_email_locations(struct mail_store *ms, const char *account_id,
                               const char *email_id, struct mail_store_location_list **out,
                               struct gw_error *err)
{
    int rc = -1;
    struct mail_store_location_list *l = calloc(1, sizeof(*l));
    *out = NULL;
    if (l == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
    pthread_mutex_lock(store_db_lock(ms->st));
    sqlite3_stmt *st = mail_store_stmt(ms, sql_locations, err);
    if (st != NULL) {
        sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, email_id, -1, SQLITE_STATIC);
        rc = fill(st, l, err);
        if (rc == -2)
            rc = mail_store_db_fail(ms, err, "locations");
        sqlite3_reset(st);
    }
    pthread_mutex_unlock(store_db_lock(ms->st));
    if (rc != 0)
        mail_store_location_list_free(&l);
    *out = l;
    return rc;
}

/* Expectations kept at most: past this the oldest are forgotten (the
 * sync after a write consumes them, so only writes whose sync failed
 * linger). */
#define EXPECTED_MAX 1024

int mail_store_expect_location(struct mail_store *ms, const char *account_id,
                               const char *email_id, const char *mailbox_id,
                               uint32_t uidvalidity, uint32_t uid, struct gw_error *err)
{
    struct mail_store_expected x = { .uidvalidity = uidvalidity, .uid = uid };
    if (strlen(account_id) >= sizeof(x.account_id) || strlen(email_id) >= sizeof(x.email_id) ||
        strlen(mailbox_id) >= sizeof(x.mailbox_id) || uid == 0 || uidvalidity == 0)
        return gw_error_set(err, GW_ERR_INVALID, "mail store: not a location");
    memcpy(x.account_id, account_id, strlen(account_id) + 1);
    memcpy(x.email_id, email_id, strlen(email_id) + 1);
    memcpy(x.mailbox_id, mailbox_id, strlen(mailbox_id) + 1);
    int rc = 0;
    pthread_mutex_lock(store_db_lock(ms->st));
    if (ms->n_expected == EXPECTED_MAX) {
        memmove(ms->expected, ms->expected + 1, (EXPECTED_MAX - 1) * sizeof(*ms->expected));
        ms->n_expected--;
    }
    struct mail_store_expected *nv =
        realloc(ms->expected, (ms->n_expected + 1) * sizeof(*ms->expected));
    if (nv == NULL) {
        rc = gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
    } else {
        ms->expected = nv;
        ms->expected[ms->n_expected++] = x;
    }
    pthread_mutex_unlock(store_db_lock(ms->st));
    return rc;
}

bool mail_store_take_expected(struct mail_store *ms, const char *account_id,
                              const char *mailbox_id, uint32_t uidvalidity, uint32_t uid,
                              char email_id[MAIL_STORE_ID_MAX])
{
    email_id[0] = '\0';
    for (size_t i = 0; i < ms->n_expected; i++) {
        const struct mail_store_expected *x = &ms->expected[i];
        if (x->uid != uid || x->uidvalidity != uidvalidity ||
            strcmp(x->mailbox_id, mailbox_id) != 0 || strcmp(x->account_id, account_id) != 0)
            continue;
        memcpy(email_id, x->email_id, MAIL_STORE_ID_MAX);
        ms->expected[i] = ms->expected[--ms->n_expected];
        return true;
    }
    return false;
}
