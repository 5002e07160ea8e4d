/* mailbox.c - Mailbox/get, /changes, /query, /queryChanges (RFC 8621 §2)
 * from the mail cache. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jmap_args.h"
#include "jmap_mail.h"
#include "jmap_mailbox.h"
#include "jmap_methods_all.h"
#include "jmap_query.h"
#include "mailbox_query_cache.h"

static const char *const mailbox_properties[] = {
    "id", "name", "parentId", "role", "sortOrder", "totalEmails", "unreadEmails",
    "totalThreads", "unreadThreads", "myRights", "isSubscribed", NULL,
};

static json_t *rights_json(unsigned r)
{
    static const struct { const char *name; unsigned bit; } names[] = {
        { "mayReadItems", MAIL_STORE_MAY_READ_ITEMS }, { "mayAddItems", MAIL_STORE_MAY_ADD_ITEMS },
        { "mayRemoveItems", MAIL_STORE_MAY_REMOVE_ITEMS }, { "maySetSeen", MAIL_STORE_MAY_SET_SEEN },
        { "maySetKeywords", MAIL_STORE_MAY_SET_KEYWORDS },
        { "mayCreateChild", MAIL_STORE_MAY_CREATE_CHILD }, { "mayRename", MAIL_STORE_MAY_RENAME },
        { "mayDelete", MAIL_STORE_MAY_DELETE }, { "maySubmit", MAIL_STORE_MAY_SUBMIT },
    };
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < sizeof(names) / sizeof(names[0]); i++)
        json_object_set_new(o, names[i].name, json_boolean((r & names[i].bit) != 0));
    return o;
}

static json_t *opt_string(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

/* Every property (the caller drops what was not asked for). */
static json_t *mailbox_json(const struct mail_store_mailbox *x)
{
    return json_pack("{s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:o, s:b}", "id", x->id,
                     "name", x->name, "parentId", opt_string(x->parent_id), "role",
                     opt_string(x->role), "sortOrder", (json_int_t)x->sort_order, "totalEmails",
                     (json_int_t)x->total_emails, "unreadEmails", (json_int_t)x->unread_emails,
                     "totalThreads", (json_int_t)x->total_threads, "unreadThreads",
                     (json_int_t)x->unread_threads, "myRights", rights_json(x->rights),
                     "isSubscribed", x->subscribed != 0);
}

static bool property_wanted(json_t *properties, const char *name)
{
    if (properties == NULL || strcmp(name, "id") == 0)
        return true;
    size_t i;
    json_t *p;
    json_array_foreach(properties, i, p)
        if (strcmp(json_string_value(p), name) == 0)
            return true;
    return false;
}

/* The cache's mailboxes after a sync, or a method error. It does not
 * wait for a backfill: a mailbox being backfilled shows IMAP's counts
 * until it is done (include/mail_store.h, "Cold start"). */
static json_t *load(struct jmap_invocation *inv, struct jmap_mail *m,
                    struct mail_store_mailbox_list **list, char state[MAIL_STORE_STATE_MAX])
{
    struct gw_error err = { 0 };
    json_t *error = jmap_mail_begin(inv, m);
    if (error != NULL)
        return error;
    if ((error = jmap_mail_state(m, MAIL_STORE_MAILBOX, state)) != NULL)
        return error;
    if (mail_store_list_mailboxes(m->ms, m->account_id, list, &err) != 0)
        return jmap_error_from_gw(&err);
    return NULL;
}

static const struct mail_store_mailbox *find(const struct mail_store_mailbox_list *l,
                                             const char *id)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].id, id) == 0)
            return &l->v[i];
    return NULL;
}

/* Whether ids[i] occurred before: a repeated id is answered once
 * (RFC 8620 §5.1). */
static bool repeated(json_t *ids, size_t i)
{
    const char *id = json_string_value(json_array_get(ids, i));
    for (size_t k = 0; k < i; k++)
        if (strcmp(json_string_value(json_array_get(ids, k)), id) == 0)
            return true;
    return false;
}

static json_t *append_mailbox(json_t *list, const struct mail_store_mailbox *x, json_t *properties)
{
    json_t *o = mailbox_json(x);
    if (o == NULL)
        return NULL;
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(o, tmp, key, v)
        if (!property_wanted(properties, key))
            json_object_del(o, key);
    return json_array_append_new(list, o) == 0 ? list : NULL;
}

static json_t *mailbox_get(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    struct jmap_get_args ga;
    struct jmap_mail m;
    struct mail_store_mailbox_list *l = NULL;
    char state[MAIL_STORE_STATE_MAX];
    json_t *res = NULL;
    if ((*error = jmap_args_get(inv, args, mailbox_properties, NULL, &ga)) != NULL ||
        (*error = load(inv, &m, &l, state)) != NULL)
        goto out;
    /* "All" only up to maxObjectsInGet (RFC 8620 §5.1). */
    const struct jmap_core_limits *limits = inv->ctx->limits;
    if (ga.ids == NULL && limits != NULL && l->n > limits->max_objects_in_get) {
        *error = jmap_error_new("requestTooLarge", "More mailboxes than maxObjectsInGet.");
        goto out;
    }
    json_t *list = json_array(), *not_found = json_array();
    bool ok = list != NULL && not_found != NULL;
    if (ga.ids == NULL) {
        for (size_t i = 0; ok && i < l->n; i++)
            ok = append_mailbox(list, &l->v[i], ga.properties) != NULL;
    } else {
        size_t i;
        json_t *id;
        json_array_foreach(ga.ids, i, id) {
            const struct mail_store_mailbox *x = find(l, json_string_value(id));
            if (!ok)
                break;
            if (repeated(ga.ids, i))
                continue;
            ok = x != NULL ? append_mailbox(list, x, ga.properties) != NULL
                           : json_array_append(not_found, id) == 0;
        }
    }
    if (ok)
        res = json_pack("{s:s, s:s, s:o, s:o}", "accountId", m.account_id, "state", state, "list",
                        list, "notFound", not_found);
    else {
        json_decref(list);
        json_decref(not_found);
    }
    if (res == NULL)
        *error = jmap_error_new("serverFail", "out of memory");
out:
    mail_store_mailbox_list_free(&l);
    return res;
}

static json_t *mailbox_changes(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    return jmap_mail_changes(inv, args, MAIL_STORE_MAILBOX, true, error);
}

/* ---- Mailbox/query (the logic: api/mail/mailbox_query.c) ------------ */

/* Filter and sort of a Mailbox/query over the cached list into ids (room
 * for l->n). */
static json_t *run_query(const struct mail_store_mailbox_list *l, json_t *args, json_t *filter,
                         json_t *sort, const char **ids, size_t *n_ids)
{
    static const char *const flags[] = { "sortAsTree", "filterAsTree" };
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        json_t *v = json_object_get(args, flags[i]);
        if (v != NULL && !json_is_boolean(v))
            return jmap_error_invalid_arguments(flags[i], "must be a boolean");
    }
    return jmap_mailbox_query_run(l, filter, sort, json_is_true(json_object_get(args, flags[0])),
                                  json_is_true(json_object_get(args, flags[1])), ids, n_ids);
}

static const char *const query_extra[] = { "sortAsTree", "filterAsTree", NULL };

/* The query's ids in order into *ids (new; the strings are in the same
 * block, or in *l, which the caller frees after them): from the result
 * cache while the Mailbox state is the same, else from the mailbox list. */
static json_t *query_ids(struct jmap_mail *m, const char *state, json_t *args,
                         const struct jmap_query_args *qa, const char ***ids, size_t *n,
                         struct mail_store_mailbox_list **l)
{
    struct gw_error err = { 0 };
    char **cached = NULL;
    json_t *error = NULL;
    char *key = mailbox_query_cache_key(args, qa->filter, qa->sort);

    if (key != NULL && mailbox_query_cache_get(m->account_id, state, key, &cached, n) == 0) {
        *ids = (const char **)cached;
    } else if (mail_store_list_mailboxes(m->ms, m->account_id, l, &err) != 0) {
        error = jmap_error_from_gw(&err);
    } else if ((*ids = calloc((*l)->n + 1, sizeof(**ids))) == NULL) {
        error = jmap_error_new("serverFail", "out of memory");
    } else if ((error = run_query(*l, args, qa->filter, qa->sort, *ids, n)) == NULL &&
               key != NULL) {
        mailbox_query_cache_put(m->account_id, state, key, *ids, *n);
    }
    free(key);
    return error;
}

static json_t *mailbox_query(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    struct jmap_query_args qa;
    struct jmap_mail m;
    struct mail_store_mailbox_list *l = NULL;
    char state[MAIL_STORE_STATE_MAX];
    const char **ids = NULL;
    size_t n = 0, start = 0, count = 0;
    json_t *res = NULL;
    if ((*error = jmap_args_query(args, query_extra, &qa)) != NULL ||
        (*error = jmap_mail_begin(inv, &m)) != NULL ||
        (*error = jmap_mail_state(&m, MAIL_STORE_MAILBOX, state)) != NULL ||
        (*error = query_ids(&m, state, args, &qa, &ids, &n, &l)) != NULL ||
        (*error = jmap_query_window(&qa, ids, n, &start, &count)) != NULL)
        goto out;
    res = jmap_query_response(m.account_id, state, true, ids, start, count, n,
                              qa.calculate_total);
    if (res == NULL)
        *error = jmap_error_new("serverFail", "out of memory");
out:
    free(ids);
    mail_store_mailbox_list_free(&l);
    return res;
}

/* The cache as one consistent snapshot for Mailbox/queryChanges: the
 * changes since the client's state and the live mailboxes, both at the
 * state read before and after (another request's sync may land in
 * between; then it is read again, a bounded number of times). */
static json_t *load_changes(struct jmap_mail *m, const char *since,
                            struct mail_store_changes *c, struct mail_store_mailbox_list **l)
{
    struct gw_error err = { 0 };
    char before[MAIL_STORE_STATE_MAX], after[MAIL_STORE_STATE_MAX];
    json_t *error = NULL;
    for (int attempt = 0; attempt < 4; attempt++) {
        mail_store_changes_clear(c);
        mail_store_mailbox_list_free(l);
        if ((error = jmap_mail_state(m, MAIL_STORE_MAILBOX, before)) != NULL)
            return error;
        int rc = mail_store_changes(m->ms, m->account_id, MAIL_STORE_MAILBOX, since, 0, c, &err);
        if (rc == MAIL_STORE_CANNOT_CALCULATE)
            return jmap_error_new("cannotCalculateChanges",
                                  "That query state is unknown or older than this server "
                                  "remembers.");
        if (rc != 0 || mail_store_list_mailboxes(m->ms, m->account_id, l, &err) != 0)
            return jmap_error_from_gw(&err);
        if ((error = jmap_mail_state(m, MAIL_STORE_MAILBOX, after)) != NULL)
            return error;
        if (strcmp(before, after) == 0)
            return NULL;
    }
    return jmap_error_new("serverUnavailable", "The mailboxes keep changing; try again.");
}

static bool id_in(const struct mail_store_ids *ids, const char *id)
{
    for (size_t i = 0; i < ids->n; i++)
        if (strcmp(ids->v[i], id) == 0)
            return true;
    return false;
}

/* Exact from the change log (RFC 8620 §5.6 for mutable properties): the
 * mailboxes created, updated or below an updated one (jmap_mailbox_moved)
 * are removed and re-added at their current index; destroyed ones are
 * removed. Every other mailbox keeps its relative order, so the client's
 * splice gives the new result. */
static json_t *mailbox_query_changes(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    struct jmap_query_changes_args qa;
    struct jmap_mail m;
    struct mail_store_changes c = { 0 };
    struct mail_store_mailbox_list *l = NULL;
    const char **ids = NULL, **changed = NULL, **moved = NULL, **removed = NULL;
    size_t n = 0, n_moved = 0, n_removed = 0;
    json_t *res = NULL;
    if ((*error = jmap_args_query_changes(args, query_extra, &qa)) != NULL ||
        (*error = jmap_mail_begin(inv, &m)) != NULL ||
        (*error = load_changes(&m, qa.since_query_state, &c, &l)) != NULL)
        goto out;
    size_t n_changed = c.created.n + c.updated.n;
    ids = calloc(l->n + 1, sizeof(*ids));
    moved = calloc(l->n + 1, sizeof(*moved));
    changed = calloc(n_changed + 1, sizeof(*changed));
    removed = calloc(l->n + c.destroyed.n + 1, sizeof(*removed));
    if (ids == NULL || moved == NULL || changed == NULL || removed == NULL)
        goto out;
    if ((*error = run_query(l, args, qa.filter, qa.sort, ids, &n)) != NULL)
        goto out;
    for (size_t i = 0; i < c.created.n; i++)
        changed[i] = c.created.v[i];
    for (size_t i = 0; i < c.updated.n; i++)
        changed[c.created.n + i] = c.updated.v[i];
    if ((n_moved = jmap_mailbox_moved(l, changed, n_changed, moved)) == SIZE_MAX)
        goto out;
    /* A created mailbox was in no old result: only added. */
    for (size_t i = 0; i < c.destroyed.n; i++)
        removed[n_removed++] = c.destroyed.v[i];
    for (size_t i = 0; i < n_moved; i++)
        if (!id_in(&c.created, moved[i]))
            removed[n_removed++] = moved[i];
    res = jmap_query_changes_response(m.account_id, qa.since_query_state, c.new_state, ids, n,
                                      removed, n_removed, moved, n_moved, qa.max_changes,
                                      qa.calculate_total, error);
out:
    if (res == NULL && *error == NULL)
        *error = jmap_error_new("serverFail", "out of memory");
    free(ids);
    free(changed);
    free(moved);
    free(removed);
    mail_store_changes_clear(&c);
    mail_store_mailbox_list_free(&l);
    return res;
}

const struct jmap_method jmap_mailbox_methods[] = {
    { "Mailbox/changes", JMAP_CAPABILITY_MAIL, JMAP_METHOD_NEEDS_ACCOUNT, mailbox_changes },
    { "Mailbox/get", JMAP_CAPABILITY_MAIL, JMAP_METHOD_NEEDS_ACCOUNT, mailbox_get },
    { "Mailbox/query", JMAP_CAPABILITY_MAIL, JMAP_METHOD_NEEDS_ACCOUNT, mailbox_query },
    { "Mailbox/queryChanges", JMAP_CAPABILITY_MAIL, JMAP_METHOD_NEEDS_ACCOUNT,
      mailbox_query_changes },
};
const size_t jmap_mailbox_method_count =
    sizeof(jmap_mailbox_methods) / sizeof(jmap_mailbox_methods[0]);
