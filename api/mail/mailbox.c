/* mailbox.c - Mailbox/get, /changes, /query, /queryChanges (RFC 8621 §2)
 * from the mail cache. */
#define _GNU_SOURCE 1 /* strcasestr */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jmap_args.h"
#include "jmap_mail.h"
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

/* ---- Mailbox/query --------------------------------------------------- */

static json_t *check_condition(void *ctx, json_t *cond)
{
    (void)ctx;
    const char *key;
    json_t *v;
    json_object_foreach(cond, key, v) {
        bool ok;
        if (strcmp(key, "parentId") == 0 || strcmp(key, "role") == 0)
            ok = json_is_null(v) || json_is_string(v);
        else if (strcmp(key, "name") == 0)
            ok = json_is_string(v);
        else if (strcmp(key, "hasAnyRole") == 0 || strcmp(key, "isSubscribed") == 0)
            ok = json_is_boolean(v);
        else
            return jmap_error_new("unsupportedFilter", key);
        if (!ok)
            return jmap_error_invalid_arguments("filter", key);
    }
    return NULL;
}

static bool strings_equal(const char *a, json_t *b)
{
    return json_is_null(b) ? a == NULL : a != NULL && strcmp(a, json_string_value(b)) == 0;
}

static bool match_condition(void *ctx, json_t *cond, const void *item)
{
    (void)ctx;
    const struct mail_store_mailbox *x = item;
    const char *key;
    json_t *v;
    json_object_foreach(cond, key, v) {
        if (strcmp(key, "parentId") == 0 && !strings_equal(x->parent_id, v))
            return false;
        if (strcmp(key, "role") == 0 && !strings_equal(x->role, v))
            return false;
        if (strcmp(key, "name") == 0 && strcasestr(x->name, json_string_value(v)) == NULL)
            return false;
        if (strcmp(key, "hasAnyRole") == 0 && (x->role != NULL) != json_is_true(v))
            return false;
        if (strcmp(key, "isSubscribed") == 0 && (x->subscribed != 0) != json_is_true(v))
            return false;
    }
    return true;
}

struct sort_key {
    bool by_name;
    bool ascending;
};

struct sorting {
    struct sort_key keys[4];
    size_t n;
};

static json_t *parse_sort(json_t *sort, struct sorting *s)
{
    size_t i;
    json_t *c;
    s->n = 0;
    json_array_foreach(sort, i, c) {
        const char *p = json_string_value(json_object_get(c, "property"));
        const char *collation = json_string_value(json_object_get(c, "collation"));
        if (strcmp(p, "name") != 0 && strcmp(p, "sortOrder") != 0)
            return jmap_error_new("unsupportedSort", p);
        if (collation != NULL && strcmp(collation, "i;unicode-casemap") != 0 &&
            strcmp(collation, "i;ascii-casemap") != 0 && strcmp(collation, "i;ascii-numeric") != 0)
            return jmap_error_new("unsupportedSort", collation);
        if (s->n == sizeof(s->keys) / sizeof(s->keys[0]))
            return jmap_error_invalid_arguments("sort", "too many comparators");
        s->keys[s->n].by_name = strcmp(p, "name") == 0;
        s->keys[s->n].ascending = !json_is_false(json_object_get(c, "isAscending"));
        s->n++;
    }
    return NULL;
}

static int compare(const struct sorting *s, const struct mail_store_mailbox *a,
                   const struct mail_store_mailbox *b)
{
    for (size_t i = 0; i < s->n; i++) {
        int c = s->keys[i].by_name ? strcasecmp(a->name, b->name)
                : a->sort_order < b->sort_order ? -1
                : a->sort_order > b->sort_order ? 1 : 0;
        if (c != 0)
            return s->keys[i].ascending ? c : -c;
    }
    return strcmp(a->id, b->id);
}

/* Insertion sort: mailbox lists are short, and it needs no global for the
 * comparator's arguments. */
static void sort_mailboxes(const struct sorting *s, const struct mail_store_mailbox **v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && compare(s, v[j - 1], v[j]) > 0; j--) {
            const struct mail_store_mailbox *t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

struct query {
    const struct mail_store_mailbox_list *l;
    const struct sorting *sorting;
    const bool *included;
    const char **out;
    size_t n_out;
};

/* Appends the included children of parent (NULL: roots) in comparator
 * order, each followed by its own subtree (sortAsTree). A child whose
 * parent is not included is reached through its nearest listed ancestor
 * only when filterAsTree is off, which the caller handles by flat sort. */
static void walk_tree(struct query *q, const char *parent, int depth)
{
    const struct mail_store_mailbox *level[256];
    size_t n = 0;
    if (depth > 64)
        return;
    for (size_t i = 0; i < q->l->n && n < 256; i++) {
        const struct mail_store_mailbox *x = &q->l->v[i];
        if ((parent == NULL) ? x->parent_id == NULL
                             : x->parent_id != NULL && strcmp(x->parent_id, parent) == 0)
            level[n++] = x;
    }
    sort_mailboxes(q->sorting, level, n);
    for (size_t i = 0; i < n; i++) {
        if (q->included[level[i] - q->l->v])
            q->out[q->n_out++] = level[i]->id;
        walk_tree(q, level[i]->id, depth + 1);
    }
}

/* Runs the filter and sort of a Mailbox/query over the cached list into
 * ids (l->n slots). */
static json_t *run_query(const struct mail_store_mailbox_list *l, json_t *args, json_t *filter,
                         json_t *sort, const char **ids, size_t *n_ids)
{
    struct sorting sorting;
    json_t *error = jmap_filter_check(filter, check_condition, NULL);
    if (error == NULL)
        error = parse_sort(sort, &sorting);
    json_t *as_tree = json_object_get(args, "sortAsTree");
    json_t *filter_tree = json_object_get(args, "filterAsTree");
    if (error == NULL && ((as_tree != NULL && !json_is_boolean(as_tree)) ||
                          (filter_tree != NULL && !json_is_boolean(filter_tree))))
        error = jmap_error_invalid_arguments("sortAsTree", "must be a boolean");
    if (error != NULL)
        return error;
    bool *included = calloc(l->n + 1, sizeof(*included));
    const struct mail_store_mailbox **flat = calloc(l->n + 1, sizeof(*flat));
    if (included == NULL || flat == NULL) {
        free(included);
        free(flat);
        return jmap_error_new("serverFail", "out of memory");
    }
    for (size_t i = 0; i < l->n; i++)
        included[i] = jmap_filter_matches(filter, match_condition, NULL, &l->v[i]);
    if (json_is_true(filter_tree)) {
        /* Only with every ancestor included too (RFC 8621 §2.3). */
        for (size_t i = 0; i < l->n; i++) {
            const struct mail_store_mailbox *x = &l->v[i];
            for (int hops = 0; included[i] && x->parent_id != NULL && hops < 64; hops++) {
                x = find(l, x->parent_id);
                if (x == NULL)
                    break;
                included[i] = jmap_filter_matches(filter, match_condition, NULL, x);
            }
        }
    }
    struct query q = { .l = l, .sorting = &sorting, .included = included, .out = ids };
    if (json_is_true(as_tree)) {
        walk_tree(&q, NULL, 0);
    } else {
        size_t n = 0;
        for (size_t i = 0; i < l->n; i++)
            if (included[i])
                flat[n++] = &l->v[i];
        sort_mailboxes(&sorting, flat, n);
        for (size_t i = 0; i < n; i++)
            ids[q.n_out++] = flat[i]->id;
    }
    *n_ids = q.n_out;
    free(included);
    free(flat);
    return NULL;
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
