/* email_query_methods.c - Email/query and Email/queryChanges (RFC 8621
 * §4.4, §4.5) on the query engine (email_query.h). */
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
        (*error = jmap_mail_state(&m, MAIL_STORE_EMAIL, state)) != NULL ||
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
