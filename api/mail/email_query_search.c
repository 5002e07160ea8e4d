/* email_query_search.c - the IMAP side of Email/query: the text conditions
 * that need the message (text, body, from, to, cc, bcc, header) become
 * IMAP searches and their uids the matching Email ids.
 *
 * A query over the whole account on a server with MULTISEARCH (RFC 7377)
 * costs one ESEARCH IN (personal) per condition; otherwise, and for a
 * query limited to one mailbox, each mailbox in scope is selected and
 * searched on its own. */
#include <stdlib.h>
#include <string.h>

#include "email_query.h"

bool email_query_needs_search(const char *key)
{
    static const char *const keys[] = { "text", "from", "to", "cc", "bcc", "body", "header" };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(key, keys[i]) == 0)
            return true;
    return false;
}

bool email_query_tree_needs_search(json_t *f, int depth)
{
    if (f == NULL || depth > 40)
        return false;
    if (json_object_get(f, "operator") != NULL) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(f, "conditions"), i, c)
            if (email_query_tree_needs_search(c, depth + 1))
                return true;
        return false;
    }
    const char *key;
    json_t *v;
    json_object_foreach(f, key, v)
        if (email_query_needs_search(key))
            return true;
    return false;
}

/* The IMAP search of one text condition (all borrowed from v). */
static void to_search(const char *key, json_t *v, struct backend_search *s)
{
    static const struct { const char *key; enum backend_search_op op; } ops[] = {
        { "text", BACKEND_SEARCH_TEXT }, { "from", BACKEND_SEARCH_FROM },
        { "to", BACKEND_SEARCH_TO }, { "cc", BACKEND_SEARCH_CC }, { "bcc", BACKEND_SEARCH_BCC },
        { "body", BACKEND_SEARCH_BODY },
    };
    memset(s, 0, sizeof(*s));
    if (strcmp(key, "header") == 0) {
        s->op = BACKEND_SEARCH_HEADER;
        s->header_name = json_string_value(json_array_get(v, 0));
        s->text = json_array_size(v) > 1 ? json_string_value(json_array_get(v, 1)) : "";
        return;
    }
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(key, ops[i].key) == 0)
            s->op = ops[i].op;
    s->text = json_string_value(v);
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Adds the Email ids of uids (one search answer for box) to h; uids the
 * cache does not know are left out. */
static int add_hits(struct email_query *q, struct email_query_hits *h,
                    const struct mail_store_mailbox *box, const uint32_t *uids, size_t n,
                    struct gw_error *err)
{
    if (n == 0)
        return 0;
    char (*ids)[MAIL_STORE_ID_MAX] = calloc(n, sizeof(*ids));
    char (*grown)[MAIL_STORE_ID_MAX] = realloc(h->ids, (h->n + n) * sizeof(*h->ids));
    if (grown != NULL)
        h->ids = grown;
    int rc = -1;
    if (ids == NULL || grown == NULL) {
        gw_error_set(err, GW_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (mail_store_emails_by_uid(q->m->ms, q->m->account_id, box->id, uids, n, ids, err) < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (ids[i][0] != '\0')
            memcpy(h->ids[h->n++], ids[i], MAIL_STORE_ID_MAX);
    rc = 0;
out:
    free(ids);
    return rc;
}

/* One mailbox at a time: SELECT (read-only) and UID SEARCH. */
static json_t *search_each(struct email_query *q, struct email_query_hits *h,
                           const struct backend_search *s)
{
    for (size_t mb = 0; mb < q->mailboxes->n; mb++) {
        const struct mail_store_mailbox *box = &q->mailboxes->v[mb];
        if (q->scope != NULL && strcmp(box->id, q->scope) != 0)
            continue;
        struct backend_select_req req = { .name_raw = box->name_raw, .read_only = true };
        struct backend_selected *sel = NULL;
        struct gw_error err = { 0 };
        uint32_t *uids = NULL;
        size_t n = 0;
        if (backend_select(q->backend, &req, &sel, &err) < 0) {
            if (err.code == GW_ERR_NOTFOUND)
                continue;   /* gone since the sync: nothing to find there */
            return jmap_error_from_gw(&err);
        }
        backend_selected_free(&sel);
        int rc = backend_uid_search(q->backend, s, &uids, &n, &err);
        if (rc == 0)
            rc = add_hits(q, h, box, uids, n, &err);
        free(uids);
        if (rc < 0)
            return jmap_error_from_gw(&err);
    }
    return NULL;
}

struct multi_ctx {
    struct email_query *q;
    struct email_query_hits *h;
};

static int on_mailbox(void *ctx, const char *name_raw, uint32_t uidvalidity, const uint32_t *uids,
                      size_t n, struct gw_error *err)
{
    struct multi_ctx *x = ctx;
    for (size_t mb = 0; mb < x->q->mailboxes->n; mb++) {
        const struct mail_store_mailbox *box = &x->q->mailboxes->v[mb];
        if (strcmp(box->name_raw, name_raw) != 0)
            continue;
        /* Another epoch's uids name other messages than the cached ones:
         * the next sync replaces that mailbox's Emails, none match now. */
        if (uidvalidity != 0 && uidvalidity != box->uidvalidity)
            return 0;
        return add_hits(x->q, x->h, box, uids, n, err);
    }
    return 0;   /* a mailbox the cache does not hold (\Noselect, new since the sync) */
}

/* Runs every text condition of the tree in each mailbox of scope, adding
 * the matching Email ids to q->hits (one sorted set per condition). */
static json_t *search_tree(struct email_query *q, json_t *f, int depth)
{
    if (f == NULL || depth > 40)
        return NULL;
    if (json_object_get(f, "operator") != NULL) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(f, "conditions"), i, c) {
            json_t *e = search_tree(q, c, depth + 1);
            if (e != NULL)
                return e;
        }
        return NULL;
    }
    bool multi = q->scope == NULL && q->mailboxes->n > 1 &&
                 backend_has_capability(q->backend, "MULTISEARCH");
    const char *key;
    json_t *v;
    json_object_foreach(f, key, v) {
        if (!email_query_needs_search(key))
            continue;
        if (q->n_hits == EMAIL_QUERY_MAX_SEARCHES)
            return jmap_error_invalid_arguments("filter", "too many text conditions");
        struct email_query_hits *h = &q->hits[q->n_hits++];
        h->condition = v;
        struct backend_search s;
        to_search(key, v, &s);
        if (multi) {
            struct multi_ctx x = { q, h };
            struct gw_error err = { 0 };
            if (backend_multi_search(q->backend, NULL, 0, &s, on_mailbox, &x, &err) < 0)
                return jmap_error_from_gw(&err);
        } else {
            json_t *e = search_each(q, h, &s);
            if (e != NULL)
                return e;
        }
        if (h->n > 1)
            qsort(h->ids, h->n, sizeof(*h->ids), cmp_id);
    }
    return NULL;
}

json_t *email_query_search_on(struct email_query *q, json_t *filter)
{
    return search_tree(q, filter, 0);
}

json_t *email_query_search(struct email_query *q, json_t *filter)
{
    json_t *error = jmap_mail_backend_acquire(q->m, &q->backend);
    if (error == NULL)
        error = email_query_search_on(q, filter);
    if (error == NULL)
        jmap_mail_backend_release(q->m, &q->backend);
    return error;
}

bool email_query_hit(const struct email_query *q, json_t *condition, const char *email_id)
{
    for (size_t i = 0; i < q->n_hits; i++)
        if (q->hits[i].condition == condition)
            return q->hits[i].n > 0 &&  /* no hits: ids NULL */
                   bsearch(email_id, q->hits[i].ids, q->hits[i].n, sizeof(*q->hits[i].ids),
                           cmp_id) != NULL;
    return false;
}
