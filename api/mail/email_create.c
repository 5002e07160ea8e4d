/* email_create.c - adding one Email to the account (email_create.h):
 * metadata checks shared by Email/set create, Email/import and
 * Email/copy, the APPEND + COPY that stores the message, and
 * email_create_one(), which builds the message with the composer
 * (include/jmap_compose.h) first. */
#define _GNU_SOURCE 1 /* timegm */
#include "email_create.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend_mail_write.h"
#include "gw_log.h"
#include "jmap_blob.h"
#include "jmap_compose.h"
#include "jmap_download.h"
#include "jmap_set.h"
#include "jmap_text.h"
#include "upload_store.h"

/* More mailboxes or keywords than this on one Email is refused. */
#define EMAIL_MAX_MAILBOXES 64
#define EMAIL_MAX_KEYWORDS 128

json_t *email_set_error_from_gw(const struct gw_error *err)
{
    enum gw_error_code code = err != NULL ? err->code : GW_ERR_INTERNAL;
    const char *description = gw_error_is_client_safe(code) && err != NULL && err->msg[0] != '\0'
                                  ? err->msg
                                  : "The server could not store the message.";
    return json_pack("{s:s, s:s}", "type", jmap_set_error_type_from_gw(code), "description",
                     description);
}

static json_t *invalid(const char *property)
{
    return json_pack("{s:s, s:[s]}", "type", "invalidProperties", "properties", property);
}

/* "#c1" -> the id created for c1 in this request, else the id itself. */
static const char *resolve_ref(struct jmap_mail *m, const char *id)
{
    if (id == NULL || id[0] != '#' || m->inv == NULL)
        return id;
    return json_string_value(json_object_get(m->inv->created_ids, id + 1));
}

/* RFC 8620 UTCDate "2014-10-30T06:12:00Z" (fractions allowed). */
static int parse_utc_date(const char *s, time_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = s != NULL ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (end == NULL)
        return -1;
    if (*end == '.') {
        end++;
        while (*end >= '0' && *end <= '9')
            end++;
    }
    if (strcmp(end, "Z") != 0)
        return -1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *out = t;
    return 0;
}

void email_meta_clear(struct email_meta *meta)
{
    for (size_t i = 0; i < meta->n_mailboxes; i++) {
        free(meta->mailboxes_raw[i]);
        free(meta->mailbox_ids[i]);
    }
    for (size_t i = 0; i < meta->n_flags; i++)
        free(meta->flags[i]);
    free(meta->mailboxes_raw);
    free(meta->mailbox_ids);
    free(meta->flags);
    memset(meta, 0, sizeof(*meta));
}

static json_t *parse_mailboxes(struct jmap_mail *m, json_t *ids, struct email_meta *meta,
                               json_t **fail)
{
    struct mail_store_mailbox_list *l = NULL;
    struct gw_error err = { 0 };
    json_t *set_error = NULL;
    size_t n = json_object_size(ids);
    if (!json_is_object(ids) || n == 0 || n > EMAIL_MAX_MAILBOXES)
        return n > EMAIL_MAX_MAILBOXES ? json_pack("{s:s}", "type", "tooManyMailboxes")
                                       : invalid("mailboxIds");
    if (mail_store_list_mailboxes(m->ms, m->account_id, &l, &err) != 0) {
        *fail = jmap_error_from_gw(&err);
        return NULL;
    }
    meta->mailboxes_raw = calloc(n, sizeof(char *));
    meta->mailbox_ids = calloc(n, sizeof(char *));
    if (meta->mailboxes_raw == NULL || meta->mailbox_ids == NULL) {
        *fail = jmap_error_new("serverFail", "out of memory");
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(ids, key, v) {
        const char *id = resolve_ref(m, key);
        size_t k = 0;
        while (id != NULL && k < l->n && strcmp(l->v[k].id, id) != 0)
            k++;
        if (!json_is_true(v) || id == NULL || k == l->n) {
            set_error = invalid("mailboxIds");
            goto out;
        }
        size_t i = meta->n_mailboxes;
        meta->mailboxes_raw[i] = strdup(l->v[k].name_raw);
        meta->mailbox_ids[i] = strdup(id);
        meta->n_mailboxes++;
        if (meta->mailboxes_raw[i] == NULL || meta->mailbox_ids[i] == NULL) {
            *fail = jmap_error_new("serverFail", "out of memory");
            goto out;
        }
    }
out:
    mail_store_mailbox_list_free(&l);
    return set_error;
}

json_t *email_meta_parse(struct jmap_mail *m, json_t *obj, struct email_meta *meta,
                         json_t **fail)
{
    memset(meta, 0, sizeof(*meta));
    *fail = NULL;
    json_t *set_error = parse_mailboxes(m, json_object_get(obj, "mailboxIds"), meta, fail);
    if (set_error != NULL || *fail != NULL)
        return set_error;
    json_t *kw = json_object_get(obj, "keywords");
    if (kw != NULL && !json_is_null(kw)) {
        size_t n = json_object_size(kw);
        if (!json_is_object(kw))
            return invalid("keywords");
        if (n > EMAIL_MAX_KEYWORDS)
            return json_pack("{s:s}", "type", "tooManyKeywords");
        if ((meta->flags = calloc(n + 1, sizeof(char *))) == NULL) {
            *fail = jmap_error_new("serverFail", "out of memory");
            return NULL;
        }
        const char *key;
        json_t *v;
        json_object_foreach(kw, key, v) {
            if (!json_is_true(v) || !jmap_keyword_is_valid(key))
                return invalid("keywords");
            /* keywords are case-insensitive: "$Seen" is "$seen" */
            char lower[256];
            size_t i = 0;
            for (; key[i] != '\0' && i + 1 < sizeof(lower); i++)
                lower[i] = (key[i] >= 'A' && key[i] <= 'Z') ? (char)(key[i] + 32) : key[i];
            lower[i] = '\0';
            if ((meta->flags[meta->n_flags] = jmap_keyword_to_imap(lower)) == NULL)
                return invalid("keywords");
            meta->n_flags++;
        }
    }
    json_t *received = json_object_get(obj, "receivedAt");
    if (received != NULL && !json_is_null(received) &&
        parse_utc_date(json_string_value(received), &meta->received_at) != 0)
        return invalid("receivedAt");
    return NULL;
}

/* The Email the cache now has at (mailbox_id, uid): its report. */
static json_t *created_report(struct jmap_mail *m, const char *mailbox_id, uint32_t uid,
                              struct gw_error *err)
{
    char ids[1][MAIL_STORE_ID_MAX];
    struct mail_store_email_list *l = NULL;
    json_t *res = NULL;
    if (mail_store_emails_by_uid(m->ms, m->account_id, mailbox_id, &uid, 1, ids, err) != 0)
        return NULL;
    const char *id = ids[0];
    if (id[0] == '\0') {
        gw_error_set(err, GW_ERR_INTERNAL, "the new message is not in the cache after a sync");
        return NULL;
    }
    if (mail_store_get_emails(m->ms, m->account_id, &id, 1, 0, &l, err) != 0)
        return NULL;
    char blob[JMAP_BLOB_ID_MAX];
    if (l->n != 1 || !jmap_blob_id_make(id, NULL, blob)) {
        gw_error_set(err, GW_ERR_INTERNAL, "the new message vanished");
    } else {
        res = json_pack("{s:s, s:s, s:s, s:I}", "id", id, "blobId", blob, "threadId",
                        l->v[0].thread_id, "size", (json_int_t)l->v[0].size);
        if (res == NULL)
            gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    }
    mail_store_email_list_free(&l);
    return res;
}

/* Where the new message was put: every copy, to take back when it cannot
 * be reported. */
struct placed {
    const char *mailbox_raw;    /* borrowed from the meta */
    uint32_t uidvalidity, uid;
};

/* Test hook: while the file named by this variable exists, the sync after
 * an APPEND fails, as a dropped connection would make it. */
static bool sync_fails_for_test(void)
{
    const char *path = getenv("JMAPGW_TEST_FAIL_SYNC_AFTER_APPEND");
    return path != NULL && path[0] != '\0' && access(path, F_OK) == 0;
}

static json_t *report_after_sync(struct jmap_mail *m, const struct email_meta *meta,
                                 uint32_t uid, struct gw_error *err)
{
    if (sync_fails_for_test()) {
        gw_error_set(err, GW_ERR_UNAVAILABLE, "sync failed (test hook)");
        return NULL;
    }
    if (jmap_mail_sync_now(m, err) != 0)
        return NULL;
    return created_report(m, meta->mailbox_ids[0], uid, err);
}

/* Expunges every copy made. 0 when all are gone. */
static int take_back(struct jmap_mail *m, const struct placed *v, size_t n)
{
    struct mail_backend *b = NULL;
    struct gw_error err = { 0 };
    json_t *e = jmap_mail_backend_acquire(m, &b);
    int rc = 0;
    if (e != NULL) {
        json_decref(e);
        return -1;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct backend_msgset set = { .mailbox_raw = v[i].mailbox_raw,
                                      .uidvalidity = v[i].uidvalidity, .uids = &v[i].uid,
                                      .n_uids = 1 };
        if ((rc = backend_expunge_uids(b, &set, &err)) != 0)
            gw_log_warn("account %s: removing a message that could not be reported: %s",
                        m->account_id, err.msg);
    }
    jmap_mail_backend_release(m, &b);
    return rc;
}

json_t *email_append_message(struct jmap_mail *m, const struct email_meta *meta,
                             const char *data, size_t len, json_t **set_error)
{
    struct mail_backend *b = NULL;
    struct gw_error err = { 0 };
    struct backend_append_result appended = { 0 };
    struct placed *placed = calloc(meta->n_mailboxes + 1, sizeof(*placed));
    size_t n_placed = 0;
    json_t *res = NULL;
    if (placed == NULL) {
        *set_error = jmap_set_error_new("serverFail", "out of memory");
        return NULL;
    }
    *set_error = jmap_mail_backend_acquire(m, &b);
    if (*set_error != NULL) {
        /* a method error has the same {type, description} shape */
        goto out;
    }
    struct backend_append_req req = {
        .mailbox_raw = meta->mailboxes_raw[0],
        .flags = (const char *const *)meta->flags,
        .n_flags = meta->n_flags,
        .internaldate = meta->received_at,
        .data = data,
        .len = len,
    };
    if (backend_append(b, &req, &appended, &err) != 0) {
        gw_log_info("account %s: APPEND refused: %s", m->account_id, err.msg);
        *set_error = email_set_error_from_gw(&err);
        goto out;
    }
    if (appended.uid == 0) {
        /* Without UIDPLUS the new message cannot be named for certain. */
        gw_error_set(&err, GW_ERR_INTERNAL, "the server sent no APPENDUID");
        *set_error = email_set_error_from_gw(&err);
        goto out;
    }
    placed[n_placed++] = (struct placed){ meta->mailboxes_raw[0], appended.uidvalidity,
                                          appended.uid };
    for (size_t i = 1; i < meta->n_mailboxes; i++) {
        struct backend_copy_result *copied = NULL;
        struct backend_msgset set = { .mailbox_raw = meta->mailboxes_raw[0],
                                      .uidvalidity = appended.uidvalidity,
                                      .uids = &appended.uid, .n_uids = 1 };
        int rc = backend_copy(b, &set, meta->mailboxes_raw[i], &copied, &err);
        if (rc == 0 && copied->n == 1)
            placed[n_placed++] = (struct placed){ meta->mailboxes_raw[i],
                                                  copied->dest_uidvalidity,
                                                  copied->dest_uids[0] };
        backend_copy_result_free(&copied);
        if (rc != 0) {
            /* The message exists in the first mailbox: say so rather than
             * leave an Email the client does not know of. */
            gw_log_warn("account %s: COPY of a new message failed: %s", m->account_id, err.msg);
            *set_error = email_set_error_from_gw(&err);
            jmap_mail_backend_release(m, &b);
            take_back(m, placed, n_placed);
            goto out;
        }
    }
    jmap_mail_backend_release(m, &b);
    /* The message is stored; only the cache can name it. A failed sync is
     * tried once more; after that the copies are taken back, so the error
     * the client gets is true and a retry makes no duplicate. */
    for (int attempt = 0; attempt < 2 && res == NULL; attempt++)
        res = report_after_sync(m, meta, appended.uid, &err);
    if (res == NULL) {
        gw_log_warn("account %s: a new message cannot be reported: %s", m->account_id, err.msg);
        *set_error = take_back(m, placed, n_placed) == 0
                         ? jmap_set_error_new("serverFail",
                                              "The message could not be stored; nothing was kept, "
                                              "so it is safe to try again.")
                         : jmap_set_error_new("serverFail",
                                              "The message was stored but could not be read back; "
                                              "look for it before trying again.");
    }
out:
    jmap_mail_backend_release(m, &b);
    free(placed);
    return res;
}

int email_blob_fetch(struct jmap_mail *m, const char *blob_id, char **data, size_t *len,
                     struct gw_error *err)
{
    const char *id = resolve_ref(m, blob_id);
    char whole[JMAP_BLOB_ID_MAX];
    if (id == NULL)
        return gw_error_set(err, GW_ERR_NOTFOUND, "no such blob");
    /* "#cid" of an Email created earlier names that Email's message. */
    if (id != blob_id && !upload_blob_id_is(id) && jmap_blob_id_make(id, NULL, whole))
        id = whole;
    if (upload_blob_id_is(id))
        return upload_store_read(upload_store_default(), m->account_id, id, data, len, NULL, err);
    struct jmap_blob_bytes bytes = { 0 };
    if (jmap_download_blob(m->account, id, &bytes, err) != 0)
        return -1;
    *data = bytes.data;
    *len = bytes.len;
    return 0;
}

static int compose_blob(void *ctx, const char *blob_id, char **data, size_t *len,
                        struct gw_error *err)
{
    return email_blob_fetch(ctx, blob_id, data, len, err);
}

json_t *email_create_one(struct jmap_mail *m, json_t *obj, json_t **set_error)
{
    struct email_meta meta;
    struct gw_error err = { 0 };
    char *msg = NULL;
    size_t len = 0;
    json_t *fail = NULL, *res = NULL;
    *set_error = email_meta_parse(m, obj, &meta, &fail);
    if (fail != NULL) {
        *set_error = fail;
        goto out;
    }
    if (*set_error != NULL)
        goto out;
    /* A generated Message-ID takes the sender's domain, as mail clients do. */
    const char *from = json_string_value(
        json_object_get(json_array_get(json_object_get(obj, "from"), 0), "email"));
    const char *at = from != NULL ? strrchr(from, '@') : NULL;
    bool domain_ok = at != NULL && at[1] != '\0' && strlen(at + 1) < 100;
    for (const char *p = domain_ok ? at + 1 : ""; *p != '\0'; p++)
        domain_ok &= (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '.';
    struct jmap_compose_opts opts = { .blob = compose_blob, .blob_ctx = m,
                                      .domain = domain_ok ? at + 1 : NULL };
    if (jmap_compose(obj, &opts, &msg, &len, set_error, &err) != 0) {
        if (*set_error == NULL)
            *set_error = email_set_error_from_gw(&err);
        goto out;
    }
    res = email_append_message(m, &meta, msg, len, set_error);
out:
    free(msg);
    email_meta_clear(&meta);
    return res;
}
