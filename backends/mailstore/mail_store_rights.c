/* mail_store_rights.c - Mailbox myRights from RFC 4314 MYRIGHTS
 * (include/mail_store.h, mail_store_identity.h).
 *
 * IMAP has no way to list every mailbox's rights in one round trip short
 * of RFC 8440 LIST-MYRIGHTS (rare), and ACL changes leave no trace in
 * LIST-STATUS, so rights are asked one mailbox at a time, only when due:
 * at once for a mailbox new under its name, else once per TTL. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mail_store_identity.h"

#define RIGHTS_TTL_DEFAULT_S 300

static const char *const sql_checked MAIL_STORE_SQL =
    "SELECT name_raw, rights_checked FROM mailboxes"
    " WHERE account_id = ?1 AND destroyed_modseq IS NULL";

unsigned mail_store_rights_from_imap(const char *letters)
{
    static const struct {
        char letter;
        unsigned rights;
    } map[] = {
        { 'i', MAIL_STORE_MAY_ADD_ITEMS },
        { 's', MAIL_STORE_MAY_SET_SEEN },
        { 'w', MAIL_STORE_MAY_SET_KEYWORDS },
        { 'k', MAIL_STORE_MAY_CREATE_CHILD },
        { 'c', MAIL_STORE_MAY_CREATE_CHILD },   /* RFC 2086 create */
        { 'x', MAIL_STORE_MAY_RENAME | MAIL_STORE_MAY_DELETE },
        { 'p', MAIL_STORE_MAY_SUBMIT },
    };
    unsigned out = 0;
    bool l = false, r = false, t = false, e = false;
    for (const char *p = letters; p != NULL && *p != '\0'; p++) {
        switch (*p) {
        case 'l': l = true; break;
        case 'r': r = true; break;
        case 't': t = true; break;
        case 'e': e = true; break;
        case 'd': t = e = true; break;  /* RFC 2086 delete messages */
        default:
            for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (map[i].letter == *p)
                    out |= map[i].rights;
        }
    }
    if (l && r)
        out |= MAIL_STORE_MAY_READ_ITEMS;
    /* Removing a message is flagging it \Deleted and expunging it. */
    if (t && e)
        out |= MAIL_STORE_MAY_REMOVE_ITEMS;
    return out;
}

void mail_rights_round_clear(struct mail_rights_round *r)
{
    free(r->mask);
    free(r->state);
    memset(r, 0, sizeof(*r));
}

/* Which listed mailboxes are due, by the cache. Lock held. */
static int mark_due(struct mail_store *ms, const char *account_id,
                    const struct backend_mailbox_list *list, struct mail_rights_round *r,
                    bool *due, struct gw_error *err)
{
    int64_t ttl = ms->opts.rights_ttl_s != 0 ? ms->opts.rights_ttl_s : RIGHTS_TTL_DEFAULT_S;
    for (size_t i = 0; i < list->n; i++)
        due[i] = true;
    sqlite3_stmt *st = mail_store_stmt(ms, sql_checked, err);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        int64_t checked = sqlite3_column_int64(st, 1);
        bool fresh = checked != 0 && r->now - checked < ttl && r->now >= checked;
        for (size_t i = 0; fresh && name != NULL && i < list->n; i++)
            if (strcmp(list->items[i].name_raw, name) == 0)
                due[i] = false;
    }
    sqlite3_reset(st);
    return step == SQLITE_DONE ? 0 : mail_store_db_fail(ms, err, "rights due");
}

int mail_rights_fetch(struct mail_store *ms, const char *account_id, struct mail_backend *b,
                      const struct backend_mailbox_list *list, struct mail_rights_round *r,
                      struct gw_error *err)
{
    bool *due = NULL;
    int rc = -1;
    memset(r, 0, sizeof(*r));
    r->acl = backend_has_capability(b, "ACL");
    r->now = (int64_t)time(NULL);
    if (!r->acl || list->n == 0)
        return 0;
    r->mask = calloc(list->n, sizeof(*r->mask));
    r->state = calloc(list->n, sizeof(*r->state));
    due = calloc(list->n, sizeof(*due));
    if (r->mask == NULL || r->state == NULL || due == NULL) {
        gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
        goto out;
    }
    pthread_mutex_lock(store_db_lock(ms->st));
    int m = mark_due(ms, account_id, list, r, due, err);
    pthread_mutex_unlock(store_db_lock(ms->st));
    if (m < 0)
        goto out;
    for (size_t i = 0; i < list->n; i++) {
        if (!due[i] || (list->items[i].flags & BACKEND_MBOX_NONEXISTENT))
            continue;
        char *letters = NULL;
        struct gw_error e = { 0 };
        if (backend_mailbox_myrights(b, list->items[i].name_raw, &letters, &e) == 0) {
            r->mask[i] = mail_store_rights_from_imap(letters);
            r->state[i] = MAIL_RIGHTS_ANSWERED;
            free(letters);
            continue;
        }
        /* A mailbox may refuse (\Noselect, or gone since the LIST); a
         * broken connection fails the sync. */
        if (backend_is_broken(b) || e.code == GW_ERR_NOMEM || e.code == GW_ERR_UNAVAILABLE) {
            if (err != NULL)
                *err = e;
            goto out;
        }
        r->state[i] = MAIL_RIGHTS_REFUSED;
    }
    rc = 0;
out:
    free(due);
    if (rc < 0)
        mail_rights_round_clear(r);
    return rc;
}
