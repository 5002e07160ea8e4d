/* mailbox.c - Mailbox/get, /changes, /query, /queryChanges (RFC 8621 §2)
 * from the mail cache. */
#include <stdlib.h>
#include <string.h>

#include "jmap_args.h"
#include "jmap_mail.h"
#include "jmap_mailbox.h"
#include "jmap_methods_all.h"
#include "jmap_query.h"

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

/* The cache's mailboxes after a sync, or a method error. */
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
        (*error = load(inv, &m, &l, state)) != NULL)
        goto out;
    if ((ids = calloc(l->n + 1, sizeof(*ids))) == NULL) {
        *error = jmap_error_new("serverFail", "out of memory");
        goto out;
    }
    if ((*error = run_query(l, args, qa.filter, qa.sort, ids, &n)) != NULL ||
        (*error = jmap_query_window(&qa, ids, n, &start, &count)) != NULL)
        goto out;
    res = jmap_query_response(m.account_id, state, false, ids, start, count, n,
                              qa.calculate_total);
    if (res == NULL)
        *error = jmap_error_new("serverFail", "out of memory");
out:
    free(ids);
    mail_store_mailbox_list_free(&l);
    return res;
}

/* The result of an older state is not kept: only "nothing changed" can be
 * answered exactly; anything else is cannotCalculateChanges, which RFC 8620
 * §5.6 allows and clients answer with a fresh query. */
static json_t *mailbox_query_changes(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    struct jmap_query_changes_args qa;
    struct jmap_mail m;
    struct mail_store_mailbox_list *l = NULL;
    char state[MAIL_STORE_STATE_MAX];
    const char **ids = NULL;
    size_t n = 0;
    json_t *res = NULL;
    if ((*error = jmap_args_query_changes(args, query_extra, &qa)) != NULL ||
        (*error = load(inv, &m, &l, state)) != NULL)
        goto out;
    if ((ids = calloc(l->n + 1, sizeof(*ids))) == NULL) {
        *error = jmap_error_new("serverFail", "out of memory");
        goto out;
    }
    if ((*error = run_query(l, args, qa.filter, qa.sort, ids, &n)) != NULL)
        goto out;
    if (strcmp(qa.since_query_state, state) != 0) {
        *error = jmap_error_new("cannotCalculateChanges", NULL);
        goto out;
    }
    res = json_pack("{s:s, s:s, s:s, s:[], s:[]}", "accountId", m.account_id, "oldQueryState",
                    state, "newQueryState", state, "removed", "added");
    if (res != NULL && qa.calculate_total)
        json_object_set_new(res, "total", json_integer((json_int_t)n));
    if (res == NULL)
        *error = jmap_error_new("serverFail", "out of memory");
out:
    free(ids);
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
