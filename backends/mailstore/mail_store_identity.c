/* mail_store_identity.c - which Email and Thread a new location belongs to
 * (mail_store_identity.h; the rules are in include/mail_store.h).
 *
 * Why a content key at all: without a server identity (no OBJECTID, no
 * X-GUID) a message another client moved is an expunge in one mailbox and
 * a new uid in another. Matching the two inside one sync, one to one,
 * keeps the Email's id without ever merging two distinct messages: a key
 * can only take over a location that vanished, and each vanished location
 * is taken at most once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "mail_store_identity.h"

/* A server identity column: its lookup and how a destroyed row gives it
 * up (so the message can come back under a new id). */
struct server_id {
    const char *find, *forget;
};

static const struct server_id by_emailid = {
    "SELECT email_id, destroyed_modseq IS NOT NULL FROM emails"
    " WHERE account_id = ?1 AND emailid = ?2",
    "UPDATE emails SET emailid = NULL WHERE account_id = ?1 AND email_id = ?2",
};
static const struct server_id by_guid = {
    "SELECT email_id, destroyed_modseq IS NOT NULL FROM emails"
    " WHERE account_id = ?1 AND guid = ?2",
    "UPDATE emails SET guid = NULL WHERE account_id = ?1 AND email_id = ?2",
};
static const struct server_id by_threadid = {
    "SELECT thread_id, destroyed_modseq IS NOT NULL FROM threads"
    " WHERE account_id = ?1 AND server_thread_id = ?2",
    "UPDATE threads SET server_thread_id = NULL WHERE account_id = ?1 AND thread_id = ?2",
};

static const char *const sql_lost MAIL_STORE_SQL =
    "SELECT e.email_id, e.size, e.headers FROM email_locations l JOIN emails e"
    " ON e.account_id = l.account_id AND e.email_id = l.email_id"
    " WHERE l.account_id = ?1 AND l.mailbox_id = ?2 AND l.uid = ?3";
static const char *const sql_locations MAIL_STORE_SQL =
    "SELECT count(*) FROM email_locations INDEXED BY email_locations_email"
    " WHERE account_id = ?1 AND email_id = ?2";
/* OR IGNORE: an identity another Email holds stays there. */
static const char *const sql_adopt MAIL_STORE_SQL =
    "UPDATE OR IGNORE emails SET emailid = coalesce(?3, emailid), guid = coalesce(?4, guid)"
    " WHERE account_id = ?1 AND email_id = ?2";
static const char *const sql_live MAIL_STORE_SQL =
    "SELECT 1 FROM emails WHERE account_id = ?1 AND email_id = ?2 AND destroyed_modseq IS NULL";
static const char *const sql_bind_thread MAIL_STORE_SQL =
    "UPDATE threads SET server_thread_id = ?3 WHERE account_id = ?1 AND thread_id = ?2";

void mail_identity_init(struct mail_identity *idn, struct mail_store *ms, const char *account_id)
{
    memset(idn, 0, sizeof(*idn));
    idn->ms = ms;
    idn->account_id = account_id;
    idn->use_guid = !ms->opts.ignore_xguid;
}

void mail_identity_clear(struct mail_identity *idn)
{
    free(idn->lost);
    idn->lost = NULL;
    idn->n_lost = idn->cap_lost = 0;
}

bool mail_identity_key(uint64_t size, const char *headers, size_t len,
                       unsigned char key[MAIL_IDENTITY_KEY_LEN])
{
    if (headers == NULL || len == 0)
        return false;
    char prefix[32];
    int n = snprintf(prefix, sizeof(prefix), "%llu\n", (unsigned long long)size);
    if (n < 0 || n >= (int)sizeof(prefix))
        abort();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(c, prefix, (size_t)n) == 1 &&
              EVP_DigestUpdate(c, headers, len) == 1 && EVP_DigestFinal_ex(c, md, &md_len) == 1 &&
              md_len >= MAIL_IDENTITY_KEY_LEN;
    EVP_MD_CTX_free(c);
    if (ok)
        memcpy(key, md, MAIL_IDENTITY_KEY_LEN);
    return ok;
}

static sqlite3_stmt *stmt(struct mail_identity *idn, const char *sql, struct gw_error *err)
{
    sqlite3_stmt *st = mail_store_stmt(idn->ms, sql, err);
    if (st != NULL)
        sqlite3_bind_text(st, 1, idn->account_id, -1, SQLITE_STATIC);
    return st;
}

static int run(struct mail_identity *idn, sqlite3_stmt *st, const char *what, struct gw_error *err)
{
    if (st == NULL)
        return -1;
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    return step == SQLITE_DONE ? 0 : mail_store_db_fail(idn->ms, err, what);
}

int mail_identity_note_lost(struct mail_identity *idn, const char *mailbox_id, uint32_t uid,
                            struct gw_error *err)
{
    sqlite3_stmt *st = stmt(idn, sql_lost, err);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 2, mailbox_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, uid);
    int step = sqlite3_step(st);
    int rc = 0;
    if (step == SQLITE_ROW) {
        struct mail_identity_lost x = { .claimed = false };
        snprintf(x.email_id, sizeof(x.email_id), "%s", (const char *)sqlite3_column_text(st, 0));
        const char *h = sqlite3_column_blob(st, 2);
        size_t len = (size_t)sqlite3_column_bytes(st, 2);
        if (mail_identity_key((uint64_t)sqlite3_column_int64(st, 1), h, len, x.key)) {
            if (idn->n_lost == idn->cap_lost) {
                size_t cap = idn->cap_lost ? idn->cap_lost * 2 : 16;
                struct mail_identity_lost *nv = realloc(idn->lost, cap * sizeof(*nv));
                if (nv == NULL) {
                    rc = gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
                    goto out;
                }
                idn->lost = nv;
                idn->cap_lost = cap;
            }
            idn->lost[idn->n_lost++] = x;
        }
    } else if (step != SQLITE_DONE) {
        rc = mail_store_db_fail(idn->ms, err, "lost location");
    }
out:
    sqlite3_reset(st);
    return rc;
}

/* The live row a server identity names, into id; a destroyed one forgets
 * it (id ""). */
static int find_server_id(struct mail_identity *idn, const struct server_id *sid,
                          const char *value, char id[MAIL_STORE_ID_MAX], struct gw_error *err)
{
    id[0] = '\0';
    if (value == NULL || *value == '\0')
        return 0;
    sqlite3_stmt *st = stmt(idn, sid->find, err);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    bool destroyed = false;
    if (step == SQLITE_ROW) {
        snprintf(id, MAIL_STORE_ID_MAX, "%s", (const char *)sqlite3_column_text(st, 0));
        destroyed = sqlite3_column_int(st, 1) != 0;
    }
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return mail_store_db_fail(idn->ms, err, "server id lookup");
    if (!destroyed)
        return 0;
    st = stmt(idn, sid->forget, err);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    id[0] = '\0';
    return run(idn, st, "forget server id", err);
}

static int location_count(struct mail_identity *idn, const char *id, long long *n,
                          struct gw_error *err)
{
    sqlite3_stmt *st = stmt(idn, sql_locations, err);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    *n = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return step == SQLITE_ROW ? 0 : mail_store_db_fail(idn->ms, err, "location count");
}

/* A lost location with m's content key, taken over (one to one). With a
 * server identity on m, only an Email left with no location qualifies:
 * the server calls it another message, so it must not gain a second
 * location under a different identity. */
static int claim_lost(struct mail_identity *idn, const struct backend_message_summary *m,
                      bool identified, char id[MAIL_STORE_ID_MAX], struct gw_error *err)
{
    unsigned char key[MAIL_IDENTITY_KEY_LEN];
    if (idn->n_lost == 0 || !mail_identity_key(m->size, m->headers, m->headers_len, key))
        return 0;
    for (size_t i = 0; i < idn->n_lost; i++) {
        struct mail_identity_lost *x = &idn->lost[i];
        if (x->claimed || memcmp(x->key, key, sizeof(key)) != 0)
            continue;
        if (identified) {
            long long n = 0;
            if (location_count(idn, x->email_id, &n, err) < 0)
                return -1;
            if (n > 0)
                continue;
        }
        x->claimed = true;
        memcpy(id, x->email_id, MAIL_STORE_ID_MAX);
        return 0;
    }
    return 0;
}

int mail_identity_email(struct mail_identity *idn, const struct backend_message_summary *m,
                        char id[MAIL_STORE_ID_MAX], struct gw_error *err)
{
    const char *guid = idn->use_guid && m->guid != NULL && *m->guid != '\0' ? m->guid : NULL;
    const char *emailid = m->emailid != NULL && *m->emailid != '\0' ? m->emailid : NULL;
    char by_guid_id[MAIL_STORE_ID_MAX] = "";
    if (find_server_id(idn, &by_emailid, emailid, id, err) < 0 ||
        find_server_id(idn, &by_guid, guid, by_guid_id, err) < 0)
        return -1;
    if (id[0] != '\0')
        return 0;   /* the server's own id is the strongest word */
    memcpy(id, by_guid_id, MAIL_STORE_ID_MAX);
    if (id[0] == '\0' && claim_lost(idn, m, emailid != NULL || guid != NULL, id, err) < 0)
        return -1;
    if (id[0] == '\0' || (emailid == NULL && guid == NULL))
        return 0;
    sqlite3_stmt *st = stmt(idn, sql_adopt, err);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    if (emailid != NULL)
        sqlite3_bind_text(st, 3, emailid, -1, SQLITE_STATIC);
    if (guid != NULL)
        sqlite3_bind_text(st, 4, guid, -1, SQLITE_STATIC);
    return run(idn, st, "adopt server id", err);
}

int mail_identity_expected(struct mail_identity *idn, const char *mailbox_id,
                           uint32_t uidvalidity, uint32_t uid, char id[MAIL_STORE_ID_MAX],
                           struct gw_error *err)
{
    if (!mail_store_take_expected(idn->ms, idn->account_id, mailbox_id, uidvalidity, uid, id))
        return 0;
    sqlite3_stmt *st = stmt(idn, sql_live, err);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return mail_store_db_fail(idn->ms, err, "live email");
    if (step == SQLITE_DONE) {
        id[0] = '\0';     /* destroyed meanwhile: the usual rules decide */
        return 0;
    }
    /* A move: the location it left must not go to another message. */
    for (size_t i = 0; i < idn->n_lost; i++) {
        if (strcmp(idn->lost[i].email_id, id) == 0)
            idn->lost[i].claimed = true;
    }
    return 0;
}

int mail_identity_thread(struct mail_identity *idn, const char *threadid,
                         char thread[MAIL_STORE_ID_MAX], struct gw_error *err)
{
    return find_server_id(idn, &by_threadid, threadid, thread, err);
}

int mail_identity_bind_thread(struct mail_identity *idn, const char *threadid, const char *thread,
                              struct gw_error *err)
{
    sqlite3_stmt *st = stmt(idn, sql_bind_thread, err);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 2, thread, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, threadid, -1, SQLITE_STATIC);
    return run(idn, st, "bind thread", err);
}
