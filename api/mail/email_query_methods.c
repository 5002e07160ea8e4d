/* email_query_methods.c - Email/query and Email/queryChanges (RFC 8621
 * §4.4, §4.5) on the query engine (email_query.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "email_query.h"
#include "jmap_methods_all.h"
#include "jmap_query.h"
#include "jmap_text.h"

static const char *const query_extra[] = { "collapseThreads", NULL };

static json_t *collapse_arg(json_t *args, bool *collapse)
{
    json_t *c = json_object_get(args, "collapseThreads");
    if (c != NULL && !json_is_boolean(c) && !json_is_null(c))
        return jmap_error_invalid_arguments("collapseThreads", "must be a boolean");
    *collapse = json_is_true(c);
    return NULL;
}

/* The complete result of a query in the current state: from the cache of
 * recent results, else computed (and then cached). *ids is new (free()). */
/* The whole result of a query in the current state, shared with the
 * cache when it can be (release with email_query_cache_release()). */
static json_t *current_result(struct jmap_mail *m, const char *state, json_t *filter,
                              json_t *sort, bool collapse, const struct email_query_ids **out)
{
    struct email_query q = { .m = m };
    json_t *error = NULL;
    char (*ids)[MAIL_STORE_ID_MAX] = NULL;
    char *key = email_query_cache_key(m->account_id, state, filter, sort, collapse);
    *out = NULL;
    if (key != NULL && (*out = email_query_cache_share(key)) != NULL)
        goto out;
    if ((error = email_query_run(&q, filter, sort, collapse)) != NULL)
        goto out;
    if ((ids = malloc((q.n_result + 1) * sizeof(*ids))) == NULL)
        goto nomem;
    for (size_t i = 0; i < q.n_result; i++)
        memcpy(ids[i], q.result[i]->id, MAIL_STORE_ID_MAX);
    struct email_query_ids *r = email_query_ids_new((const char (*)[MAIL_STORE_ID_MAX])ids,
                                                    q.n_result);
    if (r == NULL)
        goto nomem;
    if (key != NULL)
        email_query_cache_put_shared(key, r);
    *out = r;
    goto out;
nomem:
    error = jmap_error_new("serverFail", "out of memory");
out:
    free(ids);
    free(key);
    email_query_clear(&q);
    return error;
}

/* The mailbox of the one query answered while the cache is still being
 * filled (include/mail_store.h, "Cold start"): {inMailbox: X} alone,
 * sorted by receivedAt descending alone, no collapseThreads, a window
 * from a non-negative position with a limit. NULL for any other. */
static const char *early_mailbox(const struct jmap_query_args *qa, bool collapse)
{
    json_t *box = json_object_get(qa->filter, "inMailbox");
    json_t *key = json_array_get(qa->sort, 0);
    json_t *asc = json_object_get(key, "isAscending");
    const char *prop = json_string_value(json_object_get(key, "property"));
    bool shape = !collapse && qa->anchor == NULL && qa->position >= 0 && qa->has_limit &&
                 json_object_size(qa->filter) == 1 && json_is_string(box) &&
                 json_array_size(qa->sort) == 1 && prop != NULL &&
                 strcmp(prop, "receivedAt") == 0 && json_is_false(asc);
    return shape ? json_string_value(box) : NULL;
}

/* The early answer when the query has that shape and the page lies in
 * what the first batch covers: *res set (or *error). Else neither. */
static void early_query(struct jmap_mail *m, const struct jmap_query_args *qa, bool collapse,
                        const char *state, json_t **res, json_t **error)
{
    const char *box = early_mailbox(qa, collapse);
    struct mail_store_email_list *l = NULL;
    const char **ids = NULL;
    struct gw_error err = { 0 };
    uint64_t total = 0;
    size_t start = 0, count = 0;
    if (box == NULL || qa->limit > SIZE_MAX - (uint64_t)qa->position)
        return;
    int rc = mail_store_list_newest(m->ms, m->account_id, box,
                                    (size_t)qa->position + (size_t)qa->limit, qa->calculate_total,
                                    0, &l, &total, &err);
    if (rc < 0) {
        *error = jmap_error_from_gw(&err);
        return;
    }
    if (rc == 0)
        return;
    if ((ids = calloc(l->n + 1, sizeof(*ids))) == NULL)
        goto nomem;
    for (size_t i = 0; i < l->n; i++)
        ids[i] = l->v[i].id;
    /* Not put in the result cache: it is a prefix, not the result. */
    if ((*error = jmap_query_window(qa, ids, l->n, &start, &count)) != NULL)
        goto out;
    *res = jmap_query_response(m->account_id, state, true, ids, start, count, (size_t)total,
                               qa->calculate_total);
    if (*res != NULL)
        goto out;
nomem:
    *error = jmap_error_new("serverFail", "out of memory");
out:
    free(ids);
    mail_store_email_list_free(&l);
}

static json_t *email_query(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    struct jmap_query_args qa;
    struct jmap_mail m;
    char state[MAIL_STORE_STATE_MAX];
    const struct email_query_ids *result = NULL;
    size_t start = 0, count = 0;
    bool collapse = false;
    json_t *res = NULL;
    if ((*error = jmap_args_query(args, query_extra, &qa)) != NULL ||
        (*error = collapse_arg(args, &collapse)) != NULL ||
        (*error = jmap_mail_begin(inv, &m)) != NULL ||
        (*error = jmap_mail_state(&m, MAIL_STORE_EMAIL, state)) != NULL)
        goto out;
    early_query(&m, &qa, collapse, state, &res, error);
    if (res != NULL || *error != NULL ||
        (*error = current_result(&m, state, qa.filter, qa.sort, collapse, &result)) != NULL)
        goto out;
    if ((*error = jmap_query_window(&qa, result->ptrs, result->n, &start, &count)) != NULL)
        goto out;
    res = jmap_query_response(m.account_id, state, true, result->ptrs, start, count, result->n,
                              qa.calculate_total);
    if (res == NULL)
        *error = jmap_error_new("serverFail", "out of memory");
out:
    email_query_cache_release(&result);
    return res;
}

/* Exact while the result of sinceQueryState is still among the recent
 * results (email_query_cache.c), else cannotCalculateChanges (RFC 8620
 * §5.6 allows it; the client then queries again). upToId is a SHOULD for
 * immutable sorts only and is not used: the full change list is exact. */
static json_t *email_query_changes(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    struct jmap_query_changes_args qa;
    struct jmap_mail m;
    char state[MAIL_STORE_STATE_MAX];
    const struct email_query_ids *now = NULL, *old = NULL;
    char *old_key = NULL;
    bool collapse = false;
    json_t *res = NULL, *removed = NULL, *added = NULL;
    if ((*error = jmap_args_query_changes(args, query_extra, &qa)) != NULL ||
        (*error = collapse_arg(args, &collapse)) != NULL ||
        (*error = jmap_mail_begin(inv, &m)) != NULL ||
        (*error = jmap_mail_state(&m, MAIL_STORE_EMAIL, state)) != NULL ||
        (*error = current_result(&m, state, qa.filter, qa.sort, collapse, &now)) != NULL)
        goto out;
    old_key = email_query_cache_key(m.account_id, qa.since_query_state, qa.filter, qa.sort,
                                    collapse);
    if (old_key == NULL || (old = email_query_cache_share(old_key)) == NULL) {
        *error = jmap_error_new("cannotCalculateChanges", NULL);
        goto out;
    }
    if ((*error = email_query_diff((const char (*)[MAIL_STORE_ID_MAX])old->ids, old->n,
                                   (const char (*)[MAIL_STORE_ID_MAX])now->ids, now->n,
                                   qa.max_changes, &removed, &added)) != NULL)
        goto out;
    res = json_pack("{s:s, s:s, s:s, s:o, s:o}", "accountId", m.account_id, "oldQueryState",
                    qa.since_query_state, "newQueryState", state, "removed", removed, "added",
                    added);
    removed = added = NULL;     /* stolen by json_pack, even when it fails */
    if (res != NULL && qa.calculate_total &&
        json_object_set_new(res, "total", json_integer((json_int_t)now->n)) < 0) {
        json_decref(res);
        res = NULL;
    }
    if (res == NULL)
        *error = jmap_error_new("serverFail", "out of memory");
out:
    email_query_cache_release(&now);
    email_query_cache_release(&old);
    free(old_key);
    return res;
}

const struct jmap_method jmap_email_query_methods[] = {
    { "Email/query", JMAP_CAPABILITY_MAIL, JMAP_METHOD_NEEDS_ACCOUNT, email_query },
    { "Email/queryChanges", JMAP_CAPABILITY_MAIL, JMAP_METHOD_NEEDS_ACCOUNT, email_query_changes },
};
const size_t jmap_email_query_method_count =
    sizeof(jmap_email_query_methods) / sizeof(jmap_email_query_methods[0]);
