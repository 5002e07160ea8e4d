/* mail_store_email_new.c - the email apply's new-message path: a message
 * no cached Email claims becomes an Email row with the header facts the
 * cache sorts and searches by, in the Thread the rules of
 * include/mail_store.h give it. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jmap_message.h"
#include "jmap_mime.h"
#include "jmap_text.h"
#include "mail_store_apply.h"

static const char *const sql_thread_of_key MAIL_STORE_SQL =
    "SELECT k.thread_id, t.created_modseq FROM thread_keys k JOIN threads t"
    " ON t.account_id = k.account_id AND t.thread_id = k.thread_id"
    " WHERE k.account_id = ?1 AND k.message_id = ?2 AND t.destroyed_modseq IS NULL";
static const char *const sql_new_thread MAIL_STORE_SQL =
    "INSERT INTO threads(account_id, thread_id, created_modseq, updated_modseq)"
    " VALUES (?1, ?2, ?3, ?3)";
static const char *const sql_key MAIL_STORE_SQL =
    "INSERT INTO thread_keys(account_id, message_id, thread_id) VALUES (?1, ?2, ?3)"
    " ON CONFLICT(account_id, message_id) DO UPDATE SET thread_id = excluded.thread_id"
    " WHERE NOT EXISTS (SELECT 1 FROM threads t WHERE t.account_id = thread_keys.account_id"
    "   AND t.thread_id = thread_keys.thread_id AND t.destroyed_modseq IS NULL)";
static const char *const sql_new_email MAIL_STORE_SQL =
    "INSERT INTO emails(account_id, email_id, guid, thread_id, size, received_at, sent_utc,"
    " subject, message_id, has_attachment, preview, headers, from_sort, to_sort, cc_sort,"
    " keywords, created_modseq, updated_modseq, emailid)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
    " coalesce(?19, ' '), ?16, CASE WHEN ?17 THEN 0 ELSE ?16 END, ?18)";

/* RFC 8621 hasAttachment as the BODYSTRUCTURE shows it: a part marked
 * attachment, or a non-text leaf not marked inline. */
static bool has_attachment(const struct backend_mime_part *p, int depth)
{
    if (p == NULL || depth > 64)
        return false;
    bool multipart = p->type != NULL && strcasecmp(p->type, "multipart") == 0;
    if (!multipart && p->n_children == 0) {
        if (p->disposition != NULL && strcasecmp(p->disposition, "attachment") == 0)
            return true;
        bool inline_ = p->disposition != NULL && strcasecmp(p->disposition, "inline") == 0;
        return !inline_ && p->type != NULL && strcasecmp(p->type, "text") != 0;
    }
    if (!multipart && p->disposition != NULL && strcasecmp(p->disposition, "attachment") == 0)
        return true;    /* an attached message */
    for (size_t i = 0; i < p->n_children; i++)
        if (has_attachment(&p->children[i], depth + 1))
            return true;
    return false;
}

/* What the cache keeps of a new message's header fields. */
struct header_facts {
    char *subject;
    long long sent_utc;
    char *from_sort, *to_sort, *cc_sort;
    json_t *message_ids;    /* Message-ID, then References and In-Reply-To */
    size_t n_own;           /* how many of message_ids are the Message-ID */
};

static const struct jmap_mime_field *field(const struct jmap_mime_field *f, size_t n,
                                           const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].name_len == strlen(name) && strncasecmp(f[i].name, name, f[i].name_len) == 0)
            return &f[i];
    return NULL;
}

/* Display name, else address, of the first address; lower case ASCII. */
static char *sort_key(const struct jmap_mime_field *f)
{
    json_t *list = f != NULL ? jmap_header_as_addresses(f->value, f->value_len) : NULL;
    json_t *first = json_array_get(list, 0);
    const char *name = json_string_value(json_object_get(first, "name"));
    if (name == NULL || *name == '\0')
        name = json_string_value(json_object_get(first, "email"));
    char *out = strdup(name != NULL ? name : "");
    json_decref(list);
    for (char *p = out; p != NULL && *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    return out;
}

static void append_ids(json_t *to, const struct jmap_mime_field *f)
{
    json_t *ids = f != NULL ? jmap_header_as_message_ids(f->value, f->value_len) : NULL;
    if (json_is_array(ids))
        json_array_extend(to, ids);
    json_decref(ids);
}

static int header_facts(const struct backend_message_summary *m, struct header_facts *h,
                        struct gw_error *err)
{
    struct jmap_mime_field *f = NULL;
    size_t n = 0;
    memset(h, 0, sizeof(*h));
    if (m->headers != NULL && jmap_mime_fields_parse(m->headers, m->headers_len, &f, &n, err) < 0)
        return -1;
    const struct jmap_mime_field *subject = field(f, n, "Subject");
    const struct jmap_mime_field *date = field(f, n, "Date");
    h->subject = subject != NULL ? jmap_header_as_text(subject->value, subject->value_len)
                                 : strdup("");
    int offset = 0;
    if (date == NULL || jmap_header_parse_date(date->value, date->value_len, &h->sent_utc,
                                               &offset) != 0)
        h->sent_utc = 0;
    h->from_sort = sort_key(field(f, n, "From"));
    h->to_sort = sort_key(field(f, n, "To"));
    h->cc_sort = sort_key(field(f, n, "Cc"));
    h->message_ids = json_array();
    if (h->message_ids != NULL) {
        append_ids(h->message_ids, field(f, n, "Message-ID"));
        h->n_own = json_array_size(h->message_ids) > 0 ? 1 : 0;
        while (json_array_size(h->message_ids) > h->n_own)  /* only the first is its own */
            json_array_remove(h->message_ids, h->n_own);
        append_ids(h->message_ids, field(f, n, "References"));
        append_ids(h->message_ids, field(f, n, "In-Reply-To"));
    }
    free(f);
    if (!h->subject || !h->from_sort || !h->to_sort || !h->cc_sort || !h->message_ids)
        return gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
    return 0;
}

static void header_facts_clear(struct header_facts *h)
{
    free(h->subject);
    free(h->from_sort);
    free(h->to_sort);
    free(h->cc_sort);
    json_decref(h->message_ids);
}

/* With a server THREADID, the thread mapped to it (or a new one mapped
 * to it). Otherwise the oldest live thread any of the message's ids
 * already belongs to, or a new one; then every id points at it unless it
 * names a live thread. */
static int assign_thread(struct mail_apply *a, const struct header_facts *h, const char *threadid,
                         char thread[MAIL_STORE_ID_MAX])
{
    long long best_created = -1;
    thread[0] = '\0';
    size_t i;
    json_t *v;
    if (threadid != NULL && mail_identity_thread(&a->idn, threadid, thread, a->err) < 0)
        return -1;
    if (threadid != NULL && thread[0] != '\0') {
        a->threads_changed = true;
        return mail_apply_touch(a, mail_apply_sql_touch_thread, thread);
    }
    /* When the server threads, its id alone decides: no Message-ID keys
     * (json_array_foreach over NULL runs no step). */
    json_t *ids = threadid != NULL ? NULL : h->message_ids;
    json_array_foreach(ids, i, v) {
        sqlite3_stmt *st = mail_apply_stmt(a, sql_thread_of_key);
        if (st == NULL)
            return -1;
        sqlite3_bind_text(st, 2, json_string_value(v), -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            long long created = sqlite3_column_int64(st, 1);
            const char *id = (const char *)sqlite3_column_text(st, 0);
            if (best_created < 0 || created < best_created ||
                (created == best_created && strcmp(id, thread) < 0)) {
                best_created = created;
                snprintf(thread, MAIL_STORE_ID_MAX, "%s", id);
            }
        }
        sqlite3_reset(st);
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            return mail_apply_fail(a, "thread lookup");
    }
    if (thread[0] == '\0') {
        if (mail_store_mint_id('T', thread, a->err) < 0)
            return -1;
        sqlite3_stmt *st = mail_apply_stmt(a, sql_new_thread);
        if (st == NULL)
            return -1;
        sqlite3_bind_text(st, 2, thread, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)a->created_modseq);
        if (mail_apply_run(a, st, "new thread") < 0)
            return -1;
        if (threadid != NULL && mail_identity_bind_thread(&a->idn, threadid, thread, a->err) < 0)
            return -1;
    }
    json_array_foreach(ids, i, v) {
        sqlite3_stmt *st = mail_apply_stmt(a, sql_key);
        if (st == NULL)
            return -1;
        sqlite3_bind_text(st, 2, json_string_value(v), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, thread, -1, SQLITE_STATIC);
        if (mail_apply_run(a, st, "thread key") < 0)
            return -1;
    }
    a->threads_changed |= !a->backfill;
    return mail_apply_touch(a, mail_apply_sql_touch_thread, thread);
}

int mail_apply_insert_email(struct mail_apply *a, const struct backend_message_summary *m,
                            const char *keywords, char id[MAIL_STORE_ID_MAX])
{
    struct header_facts h;
    char thread[MAIL_STORE_ID_MAX];
    int rc = -1;
    if (header_facts(m, &h, a->err) < 0)
        goto out;
    if (mail_store_mint_id('E', id, a->err) < 0 ||
        assign_thread(a, &h, m->threadid != NULL && *m->threadid ? m->threadid : NULL, thread) < 0)
        goto out;
    sqlite3_stmt *st = mail_apply_stmt(a, sql_new_email);
    if (st == NULL)
        goto out;
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    if (a->idn.use_guid && m->guid != NULL && *m->guid != '\0')
        sqlite3_bind_text(st, 3, m->guid, -1, SQLITE_STATIC);
    if (m->emailid != NULL && *m->emailid != '\0')
        sqlite3_bind_text(st, 18, m->emailid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, thread, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)m->size);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)m->internaldate);
    sqlite3_bind_int64(st, 7, h.sent_utc);
    sqlite3_bind_text(st, 8, h.subject, -1, SQLITE_STATIC);
    if (h.n_own > 0)
        sqlite3_bind_text(st, 9, json_string_value(json_array_get(h.message_ids, 0)), -1,
                          SQLITE_STATIC);
    sqlite3_bind_int(st, 10, has_attachment(m->body, 0));
    if (m->preview != NULL)
        sqlite3_bind_text(st, 11, m->preview, -1, SQLITE_STATIC);
    if (m->headers != NULL)
        sqlite3_bind_blob(st, 12, m->headers, (int)m->headers_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, h.from_sort, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 14, h.to_sort, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 15, h.cc_sort, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 16, (sqlite3_int64)a->created_modseq);
    sqlite3_bind_int(st, 17, a->backfill);
    if (keywords != NULL)
        sqlite3_bind_text(st, 19, keywords, -1, SQLITE_STATIC);
    rc = mail_apply_run(a, st, "new email");
out:
    header_facts_clear(&h);
    return rc;
}

