/* mail_store_changes.c - /changes answered from the modseq columns
 * (include/mail_store.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail_store_db.h"

static void ids_clear(struct mail_store_ids *ids)
{
    for (size_t i = 0; i < ids->n; i++)
        free(ids->v[i]);
    free(ids->v);
    ids->v = NULL;
    ids->n = 0;
}

void mail_store_changes_clear(struct mail_store_changes *c)
{
    ids_clear(&c->created);
    ids_clear(&c->updated);
    ids_clear(&c->destroyed);
    c->new_state[0] = '\0';
    c->has_more = 0;
}

static int ids_push(struct mail_store_ids *ids, const char *id)
{
    char **nv = realloc(ids->v, (ids->n + 1) * sizeof(*nv));
    if (!nv)
        return -1;
    ids->v = nv;
    if (!(ids->v[ids->n] = strdup(id)))
        return -1;
    ids->n++;
    return 0;
}

/* States are canonical decimals: no sign, no leading zero, no junk. */
static bool parse_state(const char *s, uint64_t *out)
{
    if (!s || !*s || (s[0] == '0' && s[1]) || strspn(s, "0123456789") != strlen(s))
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

/* Reads the type's state, the account modseq and the type's horizon. */
static int counters(struct mail_store *ms, const char *account_id, enum mail_store_type type,
                    uint64_t *type_state, uint64_t *state, uint64_t *horizon, struct gw_error *err)
{
    sqlite3_stmt *st = ms->state;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, (int)type);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *type_state = (uint64_t)sqlite3_column_int64(st, 0);
        *state = (uint64_t)sqlite3_column_int64(st, 1);
        *horizon = (uint64_t)sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    if (step == SQLITE_ROW)
        return 0;
    if (step == SQLITE_DONE)
        return gw_error_set(err, GW_ERR_NOTFOUND, "mail store: no account %s", account_id);
    return mail_store_db_fail(ms, err, "counters");
}

/* Walks rows in modseq order; a cut only falls between two modseqs, so a
 * reported state never splits one sync's changes. */
static int collect(struct mail_store *ms, sqlite3_stmt *st, uint64_t since, size_t max,
                   struct mail_store_changes *out, uint64_t *last, struct gw_error *err)
{
    size_t n = 0;
    uint64_t group = 0;     /* modseq of the rows being read */
    size_t group_start[3] = { 0, 0, 0 };
    int step;
    *last = since;          /* the newest modseq whose rows are all reported */
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t upd = (uint64_t)sqlite3_column_int64(st, 3);
        if (upd != group) {
            if (group)
                *last = group;
            if (max && n >= max) {
                out->has_more = 1;
                return 0;
            }
            group = upd;
            group_start[0] = out->created.n;
            group_start[1] = out->updated.n;
            group_start[2] = out->destroyed.n;
        }
        const char *id = (const char *)sqlite3_column_text(st, 0);
        uint64_t created = (uint64_t)sqlite3_column_int64(st, 1);
        bool destroyed = sqlite3_column_type(st, 2) != SQLITE_NULL;
        struct mail_store_ids *to = destroyed ? (created > since ? NULL : &out->destroyed)
                                   : created > since ? &out->created : &out->updated;
        if (to) {
            if (ids_push(to, id) < 0)
                return gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
            n++;
        }
        if (max && n > max) {
            /* This modseq does not fit: report up to the previous one. */
            if (*last == since)
                return MAIL_STORE_CANNOT_CALCULATE;
            while (out->created.n > group_start[0])
                free(out->created.v[--out->created.n]);
            while (out->updated.n > group_start[1])
                free(out->updated.v[--out->updated.n]);
            while (out->destroyed.n > group_start[2])
                free(out->destroyed.v[--out->destroyed.n]);
            out->has_more = 1;
            return 0;
        }
    }
    return step == SQLITE_DONE ? 0 : mail_store_db_fail(ms, err, "changes");
}

int mail_store_changes(struct mail_store *ms, const char *account_id, enum mail_store_type type,
                       const char *since_state, size_t max_changes, struct mail_store_changes *out,
                       struct gw_error *err)
{
    uint64_t since = 0, now = 0, horizon = 0, type_state = 0;
    int rc;
    memset(out, 0, sizeof(*out));
    if ((unsigned)type > MAIL_STORE_THREAD)
        return gw_error_set(err, GW_ERR_INVALID, "mail store: bad type");
    /* Backfilled rows are stamped in the past (include/mail_store.h, "Cold
     * start"): a window must not be cut before they are all in. */
    if (mail_store_backfill_wait(ms, account_id, err) < 0)
        return -1;
    pthread_mutex_lock(store_db_lock(ms->st));
    rc = counters(ms, account_id, type, &type_state, &now, &horizon, err);
    if (rc < 0)
        goto out;
    if (!parse_state(since_state, &since) || since > now || since < horizon) {
        gw_error_set(err, GW_ERR_INVALID, "mail store: cannot calculate changes from %s",
                     since_state ? since_state : "(null)");
        rc = MAIL_STORE_CANNOT_CALCULATE;
        goto out;
    }
    sqlite3_stmt *st = ms->changes[type];
    uint64_t last = since;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)since);
    rc = collect(ms, st, since, max_changes, out, &last, err);
    sqlite3_reset(st);
    if (rc == MAIL_STORE_CANNOT_CALCULATE)
        gw_error_set(err, GW_ERR_LIMIT, "mail store: one change exceeds maxChanges");
    /* Without a cut the new state is what /get reports for the type (or
     * since itself when that is newer: any account modseq is a state). */
    uint64_t full = type_state > since ? type_state : since;
    if (rc == 0 && snprintf(out->new_state, sizeof(out->new_state), "%llu",
                            (unsigned long long)(out->has_more ? last : full)) < 0)
        abort();
out:
    pthread_mutex_unlock(store_db_lock(ms->st));
    if (rc != 0)
        mail_store_changes_clear(out);
    return rc;
}
