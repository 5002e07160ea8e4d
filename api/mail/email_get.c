/* email_get.c - Email/get (RFC 8621 §4.2).
 *
 * The list properties come from the mail cache without any IMAP traffic:
 * metadata, hasAttachment, the server's preview, and the header
 * properties of the fields the cache keeps (MAIL_STORE_HEADER_FIELDS, as a
 * raw header block). Only an Email asking for more (bodyStructure, the
 * body lists, bodyValues, headers, header:* of another field, a preview
 * the cache lacks) costs one fetch of the whole message, which is parsed
 * by the MIME parser (include/jmap_mime.h). Those fetches share one
 * backend connection and are ordered by mailbox, so each mailbox is
 * selected once.
 *
 * An Email of list properties only, built once, is kept whole
 * (email_object_cache.h) with its row's values: while those stay the
 * same, a list view asked again builds nothing and its reply copies each
 * Email's text.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "email_header_cache.h"
#include "email_object_cache.h"
#include "gw_hash.h"
#include "gw_log.h"
#include "jmap_args.h"
#include "jmap_blob.h"
#include "jmap_mail.h"
#include "jmap_query.h"
#include "jmap_methods_all.h"
#include "jmap_mime.h"

/* The largest message whose body properties we build: it is held in
 * memory (twice, while decoding) for the time of one Email. */
#define EMAIL_GET_MAX_MESSAGE ((size_t)64 << 20)

static const char *const default_properties[] = {
    "id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt", "messageId",
    "inReplyTo", "references", "sender", "from", "to", "cc", "bcc", "replyTo", "subject",
    "sentAt", "hasAttachment", "preview", "bodyValues", "textBody", "htmlBody", "attachments",
    NULL,
};

static const char *const cached_fields[] = { MAIL_STORE_HEADER_FIELDS, NULL };

/* The row properties whose value depends only on the Email's message and
 * its version (email_object_cache.h): an Email of these and header
 * properties the header block answers is kept whole. */
static const char *const object_cache_props[] = {
    "id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt", "hasAttachment",
    "preview", NULL,
};

/* One Email of the answer. */
struct item {
    const struct mail_store_email *e;   /* borrowed from the store's list */
    json_t *obj;                        /* the Email being built, or the cached one */
    json_t *pending;                    /* properties that need the message */
    bool gone;
    bool hit;                           /* obj came from the object cache: shared */
};

struct get_call {
    struct jmap_mail m;
    json_t *props;                      /* names asked for (with "id") */
    struct jmap_email_body_opts opts;
    bool *header_prop;                  /* per props entry: answered by the header block */
    bool cacheable;                     /* every property may come from the object cache */
    struct email_object_key key;        /* when cacheable */
};

static bool is_cached_field(const char *name)
{
    for (const char *const *f = cached_fields; *f != NULL; f++) {
        if (strcasecmp(*f, name) == 0)
            return true;
    }
    return false;
}

/* A header property the cached header block can answer. */
static bool from_cached_header(const char *prop)
{
    char field[256];
    return jmap_email_property_field(prop, field, sizeof(field)) && is_cached_field(field);
}

static json_t *set_of(char *const *v, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < n; i++)
        json_object_set_new(o, v[i], json_true());
    return o;
}

static json_t *utc_date(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char buf[32];
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return json_null();
    return json_string(buf);
}

/* A property from the Email's row, or NULL when the row does not hold it
 * (header properties: header_property(); the rest needs the message). */
static json_t *row_property(const struct get_call *c, const struct mail_store_email *e,
                            const char *prop)
{
    char blob[JMAP_BLOB_ID_MAX];
    if (strcmp(prop, "id") == 0)
        return json_string(e->id);
    if (strcmp(prop, "blobId") == 0)
        return jmap_blob_id_make(e->id, NULL, blob) ? json_string(blob) : json_null();
    if (strcmp(prop, "threadId") == 0)
        return json_string(e->thread_id);
    if (strcmp(prop, "mailboxIds") == 0)
        return set_of(e->mailbox_ids, e->n_mailbox_ids);
    if (strcmp(prop, "keywords") == 0)
        return set_of(e->keywords, e->n_keywords);
    if (strcmp(prop, "size") == 0)
        return json_integer((json_int_t)e->size);
    if (strcmp(prop, "receivedAt") == 0)
        return utc_date(e->received_at);
    if (strcmp(prop, "hasAttachment") == 0)
        return json_boolean(e->has_attachment);
    if (strcmp(prop, "preview") == 0)
        return e->preview != NULL ? json_string(e->preview) : NULL;
    /* No fetch*BodyValues: the map is empty whatever the message holds. */
    if (strcmp(prop, "bodyValues") == 0 && !c->opts.fetch_text_values &&
        !c->opts.fetch_html_values && !c->opts.fetch_all_values)
        return json_object();
    return NULL;
}

/* The cached header block's fields, parsed once per Email on first need,
 * and the Email's header-cache hits looked up before the store was read
 * (per props entry, owned references taken as used; NULL: none). */
struct header_fields {
    struct jmap_mime_field *v;
    size_t n;
    bool parsed;
    json_t **cached;
    const char *block;                  /* the header block, NULL when not read */
    size_t block_len;
};

/* A header property from the cached header block, through the header
 * cache (the value depends only on the immutable message). NULL with
 * *failed false: not answerable here. */
static json_t *header_property(const struct get_call *c, const struct mail_store_email *e,
                               size_t idx, const char *prop, struct header_fields *hf,
                               bool *failed, struct gw_error *err)
{
    *failed = false;
    if (!c->header_prop[idx])
        return NULL;
    json_t *v = hf->cached != NULL ? hf->cached[idx] : NULL;
    if (v != NULL) {
        hf->cached[idx] = NULL;
        return v;
    }
    if (hf->block == NULL)
        return NULL;
    if (!hf->parsed) {
        if (jmap_mime_fields_parse(hf->block, hf->block_len, &hf->v, &hf->n, err) != 0) {
            *failed = true;
            return NULL;
        }
        hf->parsed = true;
    }
    v = jmap_email_header_property(hf->v, hf->n, prop);
    email_header_cache_put(c->m.account_id, e->id, prop, v);
    return v;
}

/* Fills what the cache knows; the rest goes to it->pending. */
static int fill_from_cache(const struct get_call *c, struct item *it, json_t **cached,
                           const struct mail_store_email *with_headers, struct gw_error *err)
{
    const struct mail_store_email *h = with_headers != NULL ? with_headers : it->e;
    struct header_fields hf = { .cached = cached, .block = h->headers, .block_len = h->headers_len };
    size_t i;
    json_t *v;
    int rc = 0;

    it->obj = json_object();
    it->pending = json_array();
    if (it->obj == NULL || it->pending == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    json_array_foreach(c->props, i, v) {
        const char *prop = json_string_value(v);
        bool failed = false;
        json_t *value = row_property(c, it->e, prop);
        if (value == NULL)
            value = header_property(c, it->e, i, prop, &hf, &failed, err);
        if (failed) {
            rc = -1;
            break;
        }
        if (value != NULL)
            rc = json_object_set_new(it->obj, prop, value);
        else
            rc = json_array_append(it->pending, v);
        if (rc != 0) {
            rc = gw_error_set(err, GW_ERR_NOMEM, "out of memory");
            break;
        }
    }
    free(hf.v);
    return rc;
}

/* The mailbox an Email is fetched from (for ordering only). */
static const char *first_mailbox(const struct item *it)
{
    return it->e->n_mailbox_ids > 0 ? it->e->mailbox_ids[0] : "";
}

static int by_mailbox(const void *a, const void *b)
{
    const struct item *const *x = a, *const *y = b;
    int c = strcmp(first_mailbox(*x), first_mailbox(*y));
    return c != 0 ? c : (*x < *y ? -1 : *x > *y);
}

/* Fetches and parses one message, then builds its pending properties.
 * Returns NULL (it->gone set when it vanished) or a method error. */
static json_t *fill_from_message(struct get_call *c, struct mail_backend *b, struct item *it)
{
    struct gw_error err = { 0 };
    struct backend_part_data *data = NULL;
    struct jmap_mime_message *msg = NULL;
    json_t *error = NULL;
    uint32_t uid = 0;

    error = jmap_mail_select_email(&c->m, b, it->e->id, &uid, &it->gone);
    if (error != NULL || it->gone)
        goto out;
    if (backend_fetch_part(b, uid, NULL, 0, EMAIL_GET_MAX_MESSAGE, false, &data, &err) != 0) {
        if (err.code == GW_ERR_NOTFOUND) {
            it->gone = true;   /* expunged since the last sync */
        } else {
            gw_log_warn("account %s: Email %s: fetch failed: %s", c->m.account_id, it->e->id,
                        err.msg);
            error = jmap_error_from_gw(&err);
        }
        goto out;
    }
    c->opts.blob_ctx = (void *)it->e->id;
    if (jmap_mime_parse(data->data, data->len, &msg, &err) != 0 ||
        jmap_email_from_mime(msg, it->pending, &c->opts, it->obj, &err) != 0)
        error = jmap_error_from_gw(&err);
out:
    jmap_mime_message_free(&msg);
    backend_part_data_free(&data);
    return error;
}

static json_t *fetch_messages(struct get_call *c, struct item *items, size_t n)
{
    struct item **todo = calloc(n ? n : 1, sizeof(*todo));
    struct mail_backend *b = NULL;
    json_t *error = NULL;
    size_t k = 0;

    if (todo == NULL)
        return jmap_error_new("serverFail", NULL);
    for (size_t i = 0; i < n; i++) {
        if (json_array_size(items[i].pending) > 0)
            todo[k++] = &items[i];
    }
    if (k > 0) {
        qsort(todo, k, sizeof(*todo), by_mailbox);
        error = jmap_mail_backend_acquire(&c->m, &b);
    }
    for (size_t i = 0; error == NULL && i < k; i++)
        error = fill_from_message(c, b, todo[i]);
    jmap_mail_backend_release(&c->m, &b);
    free(todo);
    return error;
}

/* Ids without duplicates, in the order first asked: a hash set of the
 * ids kept, as a page's fifty ids compared pairwise cost more than the
 * rest of a cached answer. */
static const char **unique_ids(json_t *ids, size_t *n)
{
    size_t n_in = json_array_size(ids), cap = 16;
    while (cap < 2 * n_in)
        cap *= 2;
    const char **v = calloc(n_in + 1, sizeof(*v));
    const char **seen = calloc(cap, sizeof(*seen));
    size_t i;
    json_t *id;
    *n = 0;
    if (v == NULL || seen == NULL) {
        free(v);
        free(seen);
        return NULL;
    }
    json_array_foreach(ids, i, id) {
        const char *s = json_string_value(id);
        size_t k = (size_t)gw_hash_str(GW_HASH_INIT, s) & (cap - 1);
        while (seen[k] != NULL && strcmp(seen[k], s) != 0)
            k = (k + 1) & (cap - 1);
        if (seen[k] == NULL)
            v[(*n)++] = seen[k] = s;
    }
    free(seen);
    return v;
}

/* ids NULL asks for every Email: allowed up to maxObjectsInGet. */
static json_t *all_ids(struct get_call *c, json_t **out)
{
    struct mail_store_email_list *l = NULL;
    struct gw_error err = { 0 };
    *out = NULL;
    if (mail_store_list_emails(c->m.ms, c->m.account_id, NULL, 0, &l, &err) != 0)
        return jmap_error_from_gw(&err);
    json_t *error = NULL;
    if (l->n > c->m.inv->ctx->limits->max_objects_in_get) {
        error = jmap_error_new("requestTooLarge",
                               "The account has more Emails than maxObjectsInGet; pass ids.");
    } else if ((*out = json_array()) == NULL) {
        error = jmap_error_new("serverFail", NULL);
    }
    for (size_t i = 0; error == NULL && i < l->n; i++)
        json_array_append_new(*out, json_string(l->v[i].id));
    mail_store_email_list_free(&l);
    return error;
}

static bool in_list(const char *const *list, const char *name)
{
    for (; *list != NULL; list++) {
        if (strcmp(*list, name) == 0)
            return true;
    }
    return false;
}

/* Which properties the header block answers, and whether the Emails may
 * come from the object cache (then with its key), decided once per call
 * rather than per Email; true when any property reads the header block. */
static bool classify_props(struct get_call *c)
{
    size_t i;
    json_t *v;
    bool any = false, cacheable = true;
    json_array_foreach(c->props, i, v) {
        const char *prop = json_string_value(v);
        c->header_prop[i] = from_cached_header(prop);
        any = any || c->header_prop[i];
        cacheable = cacheable && (c->header_prop[i] || in_list(object_cache_props, prop));
    }
    c->cacheable = cacheable && email_object_key_init(&c->key, c->m.account_id, c->props) == 0;
    return any;
}

/* Keeps the Emails built whole from the mail cache (no property left for
 * the message) for the next call; they are shared from here on. */
static void remember_objects(struct get_call *c, const struct item *items, size_t n)
{
    for (size_t i = 0; c->cacheable && i < n; i++) {
        const struct item *it = &items[i];
        if (!it->hit && !it->gone && json_array_size(it->pending) == 0)
            email_object_cache_put(&c->key, it->e, it->obj);
    }
}

static void header_cache_release(json_t **cached, size_t n)
{
    for (size_t i = 0; cached != NULL && i < n; i++)
        json_decref(cached[i]);
    free(cached);
}

/* The header properties asked for, of every id, from the header cache
 * (n_ids rows of one slot per props entry; NULL when out of memory). The
 * ids with any miss are listed in need (new, *n_need of them): only their
 * header blocks must be read from the store. */
static json_t **header_cache_lookup(const struct get_call *c, const char *const *idv,
                                    size_t n_ids, const char ***need, size_t *n_need)
{
    size_t n_props = json_array_size(c->props);
    json_t **cached = calloc(n_ids * n_props + 1, sizeof(*cached));
    *need = calloc(n_ids + 1, sizeof(**need));
    *n_need = 0;
    if (cached == NULL || *need == NULL) {
        free(cached);
        free(*need);
        *need = NULL;
        return NULL;
    }
    for (size_t i = 0; i < n_ids; i++) {
        bool missed = false;
        for (size_t k = 0; k < n_props; k++) {
            if (!c->header_prop[k])
                continue;
            const char *prop = json_string_value(json_array_get(c->props, k));
            cached[i * n_props + k] = email_header_cache_get(c->m.account_id, idv[i], prop);
            missed = missed || cached[i * n_props + k] == NULL;
        }
        if (missed)
            (*need)[(*n_need)++] = idv[i];
    }
    return cached;
}

/* The entry of l (ordered like the ids asked, from *pos on) for id, or NULL. */
static const struct mail_store_email *find_from(const struct mail_store_email_list *l,
                                                size_t *pos, const char *id)
{
    for (size_t p = *pos; l != NULL && p < l->n; p++) {
        if (strcmp(l->v[p].id, id) == 0) {
            *pos = p + 1;
            return &l->v[p];
        }
    }
    return NULL;
}

/* Builds the Emails the object cache did not have (misses lists their
 * ids, in items' order): the header properties from the header cache, the
 * header blocks read only for the Emails it cannot fully answer. */
static json_t *build_misses(struct get_call *c, struct item *items, size_t n,
                            const char *const *misses, size_t n_miss, bool want_headers)
{
    struct mail_store_email_list *lh = NULL;
    struct gw_error err = { 0 };
    size_t n_props = json_array_size(c->props), n_need = 0;
    json_t **cached = NULL, *error = NULL;
    const char **need = NULL;

    if (want_headers &&
        (cached = header_cache_lookup(c, misses, n_miss, &need, &n_need)) == NULL)
        return jmap_error_new("serverFail", NULL);
    if (n_need > 0 && mail_store_get_emails(c->m.ms, c->m.account_id, need, n_need,
                                            MAIL_STORE_WITH_HEADERS, &lh, &err) != 0) {
        error = jmap_error_from_gw(&err);
        goto out;
    }
    for (size_t i = 0, m = 0, h = 0; i < n; i++) {
        if (items[i].hit)
            continue;
        json_t **row = cached != NULL ? cached + m * n_props : NULL;
        m++;
        if (fill_from_cache(c, &items[i], row, find_from(lh, &h, items[i].e->id), &err) != 0) {
            error = jmap_error_from_gw(&err);
            goto out;
        }
    }
out:
    header_cache_release(cached, n_miss * n_props);
    free(need);
    mail_store_email_list_free(&lh);
    return error;
}

static json_t *answer(struct get_call *c, json_t *ids, json_t **error)
{
    struct mail_store_email_list *l = NULL;
    struct item *items = NULL;
    struct gw_error err = { 0 };
    char state[MAIL_STORE_STATE_MAX];
    json_t *list = json_array(), *not_found = json_array(), *result = NULL;
    size_t n_ids = 0, n_miss = 0;
    const char **idv = unique_ids(ids, &n_ids);
    const char **misses = NULL;
    bool want_headers = false;

    c->header_prop = calloc(json_array_size(c->props) + 1, sizeof(*c->header_prop));
    if (list == NULL || not_found == NULL || idv == NULL || c->header_prop == NULL) {
        *error = jmap_error_new("serverFail", NULL);
        goto out;
    }
    if ((*error = jmap_mail_state(&c->m, MAIL_STORE_EMAIL, state)) != NULL)
        goto out;
    want_headers = classify_props(c);
    if (mail_store_get_emails(c->m.ms, c->m.account_id, idv, n_ids, 0, &l, &err) != 0) {
        *error = jmap_error_from_gw(&err);
        goto out;
    }
    items = calloc(l->n ? l->n : 1, sizeof(*items));
    misses = calloc(l->n + 1, sizeof(*misses));
    if (items == NULL || misses == NULL) {
        *error = jmap_error_new("serverFail", NULL);
        goto out;
    }
    /* A list view seen before, unchanged, is all hits: nothing is built. */
    for (size_t i = 0; i < l->n; i++) {
        items[i].e = &l->v[i];
        items[i].obj = c->cacheable ? email_object_cache_get(&c->key, items[i].e) : NULL;
        items[i].hit = items[i].obj != NULL;
        if (!items[i].hit)
            misses[n_miss++] = l->v[i].id;
    }
    if (n_miss > 0 &&
        (*error = build_misses(c, items, l->n, misses, n_miss, want_headers)) != NULL)
        goto out;
    if ((*error = fetch_messages(c, items, l->n)) != NULL)
        goto out;
    remember_objects(c, items, l->n);

    /* The store answers in the order asked, leaving unknown ids out. */
    size_t j = 0;
    for (size_t i = 0; i < n_ids; i++) {
        if (j < l->n && strcmp(l->v[j].id, idv[i]) == 0) {
            if (!items[j].gone)
                json_array_append(list, items[j].obj);
            else
                json_array_append_new(not_found, json_string(idv[i]));
            j++;
        } else {
            json_array_append_new(not_found, json_string(idv[i]));
        }
    }
    result = json_object();
    if (result == NULL ||
        json_object_set_new(result, "accountId", json_string(c->m.account_id)) != 0 ||
        json_object_set_new(result, "state", json_string(state)) != 0 ||
        json_object_set(result, "list", list) != 0 ||
        json_object_set(result, "notFound", not_found) != 0) {
        json_decref(result);
        result = NULL;
        *error = jmap_error_new("serverFail", NULL);
    }
out:
    for (size_t i = 0; items != NULL && l != NULL && i < l->n; i++) {
        json_decref(items[i].obj);
        json_decref(items[i].pending);
    }
    free(items);
    free(misses);
    mail_store_email_list_free(&l);
    free(idv);
    free(c->header_prop);
    c->header_prop = NULL;
    email_object_key_clear(&c->key);
    json_decref(list);
    json_decref(not_found);
    return result;
}

static json_t *email_get(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    static const char *const extra[] = { "bodyProperties", "fetchTextBodyValues",
                                         "fetchHTMLBodyValues", "fetchAllBodyValues",
                                         "maxBodyValueBytes", NULL };
    static const char *const none[] = { NULL };
    struct get_call c = { .opts = { .blob_id = jmap_email_blob_id_of_section } };
    struct jmap_get_args ga;
    json_t *result = NULL, *all = NULL;
    /* "properties" holds header:* names no fixed list has: it is checked
     * here, the rest by the generic /get validation on a copy. */
    json_t *std = json_copy(args);

    if (std == NULL) {
        *error = jmap_error_new("serverFail", NULL);
        return NULL;
    }
    json_object_del(std, "properties");
    if ((*error = jmap_args_get(inv, std, none, extra, &ga)) != NULL ||
        (*error = jmap_email_properties_arg(args, default_properties, &c.props)) != NULL ||
        (*error = jmap_email_body_args(args, &c.opts)) != NULL ||
        (*error = jmap_mail_begin(inv, &c.m)) != NULL)
        goto out;
    if (ga.ids == NULL && (*error = all_ids(&c, &all)) != NULL)
        goto out;
    result = answer(&c, ga.ids != NULL ? ga.ids : all, error);
out:
    json_decref(all);
    json_decref(c.props);
    json_decref(std);
    return result;
}

static json_t *email_changes(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    return jmap_mail_changes(inv, args, MAIL_STORE_EMAIL, false, error);
}

const struct jmap_method jmap_email_methods[] = {
    { "Email/changes", JMAP_CAPABILITY_MAIL, JMAP_METHOD_NEEDS_ACCOUNT, email_changes },
    { "Email/get", JMAP_CAPABILITY_MAIL, JMAP_METHOD_NEEDS_ACCOUNT, email_get },
};
const size_t jmap_email_method_count = sizeof(jmap_email_methods) / sizeof(jmap_email_methods[0]);
