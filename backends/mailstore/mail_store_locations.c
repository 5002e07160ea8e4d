/* mail_store_locations.c - every location of one Email
 * (mail_store_email_locations() in include/mail_store.h), for the write
 * path: a keyword change or a destroy must reach each copy. */
#include <stdlib.h>
#include <string.h>

#include "mail_store_db.h"

static const char *const sql_locations =
    "SELECT l.mailbox_id, m.name_raw, l.uidvalidity, l.uid FROM email_locations l"
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
