/* query_window.c - query windows and the shared /query and /changes
 * responses (include/jmap_query.h). */
#include "jmap_query.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jmap_mail.h"

/* from + delta clamped to [0, n]. The argument checks bound delta to
 * ±2^53-1, but the window must not overflow even for INT64_MIN. */
static size_t move_clamped(size_t from, int64_t delta, size_t n)
{
    if (delta < 0) {
        uint64_t back = (uint64_t)0 - (uint64_t)delta;
        return back >= from ? 0 : from - (size_t)back;
    }
    return (uint64_t)delta >= n - from ? n : from + (size_t)delta;
}

json_t *jmap_query_window(const struct jmap_query_args *q, const char *const *ids, size_t n,
                          size_t *start, size_t *count)
{
    size_t first;
    if (q->anchor != NULL) {
        size_t at = n;
        for (size_t i = 0; i < n; i++)
            if (strcmp(ids[i], q->anchor) == 0) {
                at = i;
                break;
            }
        if (at == n)
            return jmap_error_new("anchorNotFound", NULL);
        first = move_clamped(at, q->anchor_offset, n);
    } else if (q->position < 0) {
        first = move_clamped(n, q->position, n);
    } else {
        first = move_clamped(0, q->position, n);
    }
    size_t rest = n - first;
    *start = first;
    *count = q->has_limit && q->limit < rest ? (size_t)q->limit : rest;
    return NULL;
}

json_t *jmap_query_response(const char *account_id, const char *query_state, bool can_calculate,
                            const char *const *ids, size_t start, size_t count, size_t total,
                            bool with_total)
{
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < count; i++)
        if (json_array_append_new(list, json_string(ids[start + i])) != 0) {
            json_decref(list);
            list = NULL;
        }
    if (list == NULL)
        return NULL;
    json_t *res = json_pack("{s:s, s:s, s:b, s:I, s:o}", "accountId", account_id, "queryState",
                            query_state, "canCalculateChanges", can_calculate, "position",
                            (json_int_t)start, "ids", list);
    if (res != NULL && with_total &&
        json_object_set_new(res, "total", json_integer((json_int_t)total)) != 0) {
        json_decref(res);
        res = NULL;
    }
    return res;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The removed array and the added AddedItems into res; false when memory
 * runs out. */
static bool fill_query_changes(json_t *res, const char *const *ids, size_t n,
                               const char *const *removed, size_t n_removed,
                               const char **moved_sorted, size_t n_moved)
{
    json_t *r = json_array(), *a = json_array();
    bool ok = r != NULL && a != NULL;
    for (size_t i = 0; ok && i < n_removed; i++)
        ok = json_array_append_new(r, json_string(removed[i])) == 0;
    for (size_t i = 0; ok && i < n; i++)
        if (bsearch(&ids[i], moved_sorted, n_moved, sizeof(*moved_sorted), compare_strings))
            ok = json_array_append_new(a, json_pack("{s:s, s:I}", "id", ids[i], "index",
                                                    (json_int_t)i)) == 0;
    ok = ok && json_object_set_new(res, "removed", r) == 0;
    r = NULL;
    ok = ok && json_object_set_new(res, "added", a) == 0;
    a = NULL;
    json_decref(r);
    json_decref(a);
    return ok;
}

json_t *jmap_query_changes_response(const char *account_id, const char *old_state,
                                    const char *new_state, const char *const *ids, size_t n,
                                    const char *const *removed, size_t n_removed,
                                    const char *const *moved, size_t n_moved,
                                    uint64_t max_changes, bool with_total, json_t **error)
{
    const char **sorted = calloc(n_moved + 1, sizeof(*sorted));
    json_t *res = NULL;
    *error = NULL;
    if (sorted == NULL)
        goto out;
    if (n_moved > 0)
        memcpy(sorted, moved, n_moved * sizeof(*sorted));
    qsort(sorted, n_moved, sizeof(*sorted), compare_strings);
    res = json_pack("{s:s, s:s, s:s}", "accountId", account_id, "oldQueryState", old_state,
                    "newQueryState", new_state);
    if (res == NULL || !fill_query_changes(res, ids, n, removed, n_removed, sorted, n_moved) ||
        (with_total && json_object_set_new(res, "total", json_integer((json_int_t)n)) != 0)) {
        json_decref(res);
        res = NULL;
        goto out;
    }
    /* Each removed id and each AddedItem is one change (RFC 8620 §5.6). */
    if (max_changes != 0 &&
        n_removed + json_array_size(json_object_get(res, "added")) > max_changes) {
        json_decref(res);
        res = NULL;
        *error = jmap_error_new("tooManyChanges", NULL);
    }
out:
    if (res == NULL && *error == NULL)
        *error = jmap_error_new("serverFail", "out of memory");
    free(sorted);
    return res;
}

static json_t *id_array(const struct mail_store_ids *ids)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < ids->n; i++)
        if (json_array_append_new(a, json_string(ids->v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

json_t *jmap_mail_changes(struct jmap_invocation *inv, json_t *args, enum mail_store_type type,
                          bool with_updated_properties, json_t **error)
{
    struct jmap_changes_args ca;
    struct jmap_mail m;
    struct mail_store_changes c = { 0 };
    struct gw_error err = { 0 };
    char old_state[MAIL_STORE_STATE_MAX];
    json_t *res = NULL;
    if ((*error = jmap_args_changes(args, NULL, &ca)) != NULL ||
        (*error = jmap_mail_begin(inv, &m)) != NULL)
        return NULL;
    int rc = mail_store_changes(m.ms, m.account_id, type, ca.since_state, (size_t)ca.max_changes,
                                &c, &err);
    if (rc == MAIL_STORE_CANNOT_CALCULATE) {
        *error = jmap_error_new("cannotCalculateChanges",
                                "That state is unknown or older than this server remembers.");
        return NULL;
    }
    if (rc != 0) {
        *error = jmap_error_from_gw(&err);
        return NULL;
    }
    snprintf(old_state, sizeof(old_state), "%s", ca.since_state);
    res = json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:o}", "accountId", m.account_id, "oldState",
                    old_state, "newState", c.new_state, "hasMoreChanges", c.has_more != 0,
                    "created", id_array(&c.created), "updated", id_array(&c.updated),
                    "destroyed", id_array(&c.destroyed));
    if (res != NULL && with_updated_properties)
        json_object_set_new(res, "updatedProperties", json_null());
    mail_store_changes_clear(&c);
    if (res == NULL)
        *error = jmap_error_new("serverFail", "out of memory");
    return res;
}
