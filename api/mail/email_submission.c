/* email_submission.c - EmailSubmission/get, /changes, /query,
 * /queryChanges (RFC 8621 §7.1-7.4) from the gateway's store, and the
 * method table (/set: email_submission_set.c). */
#define _GNU_SOURCE 1 /* qsort_r */
#include "email_submission.h"
#include "email_submission_dsn.h"

#include <stdlib.h>
#include <string.h>

#include "jmap_args.h"
#include "jmap_methods_all.h"
#include "jmap_query.h"
#include "jmap_submission.h"
#include "owned_object.h"
#include "submission_store.h"

static const char *const submission_properties[] = {
    "id", "identityId", "emailId", "threadId", "envelope", "sendAt", "undoStatus",
    "deliveryStatus", "dsnBlobIds", "mdnBlobIds", NULL,
};

json_t *email_submission_begin(struct jmap_invocation *inv, struct jmap_mail *m)
{
    json_t *error = jmap_mail_begin(inv, m);

    if (error == NULL) {
        email_submission_run_queue(m);
        email_submission_dsn_scan(m);
    }
    return error;
}

/* Every live submission and the state; NULL or a method error. */
static json_t *load_all(struct jmap_mail *m, json_t **all, char state[SUBMISSION_STATE_MAX])
{
    struct gw_error err = {0};

    if (submission_store_list(m->ms, m->account_id, all, state, &err) != 0)
        return jmap_error_from_gw(&err);
    return NULL;
}

static json_t *submission_get(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    struct jmap_get_args ga;
    struct jmap_mail m;
    char state[SUBMISSION_STATE_MAX];
    json_t *all = NULL, *res = NULL;

    if ((*error = jmap_args_get(inv, args, submission_properties, NULL, &ga)) == NULL &&
        (*error = email_submission_begin(inv, &m)) == NULL &&
        (*error = load_all(&m, &all, state)) == NULL)
        res = owned_object_get(m.account_id, state, all, &ga, error);
    json_decref(all);
    return res;
}

static json_t *submission_changes(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    struct jmap_changes_args ca;
    struct jmap_mail m;
    struct submission_changes ch;
    struct gw_error err = {0};

    if ((*error = jmap_args_changes(args, NULL, &ca)) != NULL ||
        (*error = email_submission_begin(inv, &m)) != NULL)
        return NULL;
    if (submission_store_changes(m.ms, m.account_id, ca.since_state,
                                 ca.max_changes ? (size_t)ca.max_changes : SIZE_MAX, &ch,
                                 &err) != 0) {
        *error = owned_object_changes_error(&err, "EmailSubmission");
        return NULL;
    }
    json_t *res = owned_object_changes(m.account_id, ca.since_state, ch.new_state, ch.has_more,
                                       ch.created, ch.updated, ch.destroyed, error);
    submission_changes_clear(&ch);
    return res;
}

/* ---- Query ------------------------------------------------------------- */

static const char *const id_list_filters[] = {"identityIds", "emailIds", "threadIds"};
static const char *const id_list_props[] = {"identityId", "emailId", "threadId"};

static json_t *check_condition(void *ctx, json_t *c)
{
    const char *key;
    json_t *v;

    (void)ctx;
    json_object_foreach(c, key, v) {
        bool ok = false, known = false;
        for (size_t i = 0; i < 3; i++) {
            if (strcmp(key, id_list_filters[i]) != 0)
                continue;
            known = true;
            size_t k;
            json_t *x;
            ok = json_is_array(v);
            json_array_foreach(v, k, x)
                ok = ok && json_is_string(x);
        }
        if (strcmp(key, "undoStatus") == 0) {
            known = true;
            const char *s = json_string_value(v);
            ok = s != NULL && (strcmp(s, "pending") == 0 || strcmp(s, "final") == 0 ||
                               strcmp(s, "canceled") == 0);
        } else if (strcmp(key, "before") == 0 || strcmp(key, "after") == 0) {
            known = true;
            ok = json_is_string(v) && json_string_length(v) == 20;
        }
        if (!known)
            return jmap_error_new("unsupportedFilter", key);
        if (!ok)
            return jmap_error_invalid_arguments("filter", key);
    }
    return NULL;
}

static bool match_condition(void *ctx, json_t *c, const void *item)
{
    json_t *o = (json_t *)item;
    const char *key;
    json_t *v;

    (void)ctx;
    json_object_foreach(c, key, v) {
        for (size_t i = 0; i < 3; i++) {
            if (strcmp(key, id_list_filters[i]) != 0)
                continue;
            const char *have = json_string_value(json_object_get(o, id_list_props[i]));
            bool any = false;
            size_t k;
            json_t *x;
            json_array_foreach(v, k, x)
                any = any || (have != NULL && strcmp(have, json_string_value(x)) == 0);
            if (!any)
                return false;
        }
        const char *send_at = json_string_value(json_object_get(o, "sendAt"));
        /* UTCDate strings of one fixed form compare as times. */
        if (strcmp(key, "undoStatus") == 0 &&
            strcmp(json_string_value(json_object_get(o, "undoStatus")), json_string_value(v)) != 0)
            return false;
        if (strcmp(key, "before") == 0 && strcmp(send_at, json_string_value(v)) >= 0)
            return false;
        if (strcmp(key, "after") == 0 && strcmp(send_at, json_string_value(v)) < 0)
            return false;
    }
    return true;
}

struct sort_ctx {
    json_t *sort;
};

static int compare(const void *a, const void *b, void *ctx)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_t *sort = ((struct sort_ctx *)ctx)->sort;
    size_t i;
    json_t *c;

    json_array_foreach(sort, i, c) {
        const char *prop = json_string_value(json_object_get(c, "property"));
        json_t *asc = json_object_get(c, "isAscending");
        const char *p = strcmp(prop, "sentAt") == 0 ? "sendAt" : prop;
        int r = strcmp(json_string_value(json_object_get(x, p)),
                       json_string_value(json_object_get(y, p)));
        if (r != 0)
            return asc == NULL || json_is_true(asc) ? r : -r;
    }
    return strcmp(json_string_value(json_object_get(x, "id")),
                  json_string_value(json_object_get(y, "id")));
}

static json_t *check_sort(json_t *sort)
{
    size_t i;
    json_t *c;

    json_array_foreach(sort, i, c) {
        const char *p = json_string_value(json_object_get(c, "property"));
        if (p == NULL || (strcmp(p, "emailId") != 0 && strcmp(p, "threadId") != 0 &&
                          strcmp(p, "sentAt") != 0))
            return jmap_error_new("unsupportedSort", p);
    }
    return NULL;
}

/* The ids of the query's results, in order (ids borrowed from all;
 * *ids malloc'd). NULL or a method error. */
static json_t *run_query(json_t *all, json_t *filter, json_t *sort, const char ***ids,
                         size_t *n)
{
    size_t cnt = json_array_size(all), k = 0, i;
    json_t **v = calloc(cnt ? cnt : 1, sizeof(*v));
    json_t *o;

    *ids = calloc(cnt ? cnt : 1, sizeof(**ids));
    if (v == NULL || *ids == NULL) {
        free(v);
        free(*ids);
        *ids = NULL;
        return jmap_error_new("serverFail", "out of memory");
    }
    json_array_foreach(all, i, o)
        if (jmap_filter_matches(filter, match_condition, NULL, o))
            v[k++] = o;
    struct sort_ctx sc = {sort};
    qsort_r(v, k, sizeof(*v), compare, &sc);
    for (i = 0; i < k; i++)
        (*ids)[i] = json_string_value(json_object_get(v[i], "id"));
    *n = k;
    free(v);
    return NULL;
}

static json_t *submission_query(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    struct jmap_query_args qa;
    struct jmap_mail m;
    char state[SUBMISSION_STATE_MAX];
    json_t *all = NULL, *res = NULL;
    const char **ids = NULL;
    size_t n = 0, start = 0, count = 0;

    if ((*error = jmap_args_query(args, NULL, &qa)) != NULL ||
        (*error = jmap_filter_check(qa.filter, check_condition, NULL)) != NULL ||
        (*error = check_sort(qa.sort)) != NULL ||
        (*error = email_submission_begin(inv, &m)) != NULL ||
        (*error = load_all(&m, &all, state)) != NULL ||
        (*error = run_query(all, qa.filter, qa.sort, &ids, &n)) != NULL ||
        (*error = jmap_query_window(&qa, ids, n, &start, &count)) != NULL)
        goto out;
    res = jmap_query_response(m.account_id, state, true, ids, start, count, n,
                              qa.calculate_total);
    if (res == NULL)
        *error = jmap_error_new("serverFail", "out of memory");
out:
    free(ids);
    json_decref(all);
    return res;
}

/* Strings of a JSON array as a malloc'd vector (borrowed), or NULL. */
static const char **strings(json_t *a, json_t *b, size_t *n)
{
    size_t k = 0, i;
    json_t *x;
    const char **v = calloc(json_array_size(a) + json_array_size(b) + 1, sizeof(*v));

    if (v == NULL)
        return NULL;
    json_array_foreach(a, i, x)
        v[k++] = json_string_value(x);
    json_array_foreach(b, i, x)
        v[k++] = json_string_value(x);
    *n = k;
    return v;
}

static json_t *submission_query_changes(struct jmap_invocation *inv, json_t *args,
                                        json_t **error)
{
    struct jmap_query_changes_args qa;
    struct jmap_mail m;
    struct submission_changes ch = {0};
    struct gw_error err = {0};
    char state[SUBMISSION_STATE_MAX];
    json_t *all = NULL, *res = NULL;
    const char **ids = NULL, **removed = NULL, **moved = NULL;
    size_t n = 0, n_removed = 0, n_moved = 0;

    if ((*error = jmap_args_query_changes(args, NULL, &qa)) != NULL ||
        (*error = jmap_filter_check(qa.filter, check_condition, NULL)) != NULL ||
        (*error = check_sort(qa.sort)) != NULL ||
        (*error = email_submission_begin(inv, &m)) != NULL ||
        (*error = load_all(&m, &all, state)) != NULL ||
        (*error = run_query(all, qa.filter, qa.sort, &ids, &n)) != NULL)
        goto out;
    if (submission_store_changes(m.ms, m.account_id, qa.since_query_state, SIZE_MAX, &ch,
                                 &err) != 0) {
        *error = err.code == GW_ERR_INVALID
                     ? jmap_error_new("cannotCalculateChanges", "Unknown query state.")
                     : jmap_error_from_gw(&err);
        goto out;
    }
    /* undoStatus changes: every changed one may have moved or left. */
    removed = strings(ch.updated, ch.destroyed, &n_removed);
    moved = strings(ch.created, ch.updated, &n_moved);
    if (removed == NULL || moved == NULL) {
        *error = jmap_error_new("serverFail", "out of memory");
        goto out;
    }
    res = jmap_query_changes_response(m.account_id, qa.since_query_state, state, ids, n,
                                      removed, n_removed, moved, n_moved, qa.max_changes,
                                      qa.calculate_total, error);
out:
    submission_changes_clear(&ch);
    free(ids);
    free(removed);
    free(moved);
    json_decref(all);
    return res;
}

const struct jmap_method jmap_email_submission_methods[] = {
    {"EmailSubmission/changes", JMAP_CAPABILITY_SUBMISSION, JMAP_METHOD_NEEDS_ACCOUNT,
     submission_changes},
    {"EmailSubmission/get", JMAP_CAPABILITY_SUBMISSION, JMAP_METHOD_NEEDS_ACCOUNT,
     submission_get},
    {"EmailSubmission/query", JMAP_CAPABILITY_SUBMISSION, JMAP_METHOD_NEEDS_ACCOUNT,
     submission_query},
    {"EmailSubmission/queryChanges", JMAP_CAPABILITY_SUBMISSION, JMAP_METHOD_NEEDS_ACCOUNT,
     submission_query_changes},
    {"EmailSubmission/set", JMAP_CAPABILITY_SUBMISSION, JMAP_METHOD_NEEDS_ACCOUNT,
     email_submission_set},
};
const size_t jmap_email_submission_method_count =
    sizeof(jmap_email_submission_methods) / sizeof(jmap_email_submission_methods[0]);
