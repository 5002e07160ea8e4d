/* email_query_diff.c - the removed/added lists of Email/queryChanges
 * (RFC 8620 §5.6) from two complete results. An Email stays put when it is
 * in both and in the longest run of Emails whose relative order did not
 * change; every other Email of the old result is removed and every other
 * one of the new result added at its index, so a client replaying the
 * changes on its copy of the old result gets the new one exactly. */
#include <stdlib.h>
#include <string.h>

#include "email_query.h"

struct pos_id {
    const char *id;
    size_t pos;
};

static int cmp_pos_id(const void *x, const void *y)
{
    return strcmp(((const struct pos_id *)x)->id, ((const struct pos_id *)y)->id);
}

/* Position of id in the by-id index, or SIZE_MAX. */
static size_t find(const struct pos_id *index, size_t n, const char *id)
{
    struct pos_id k = { id, 0 };
    const struct pos_id *hit = n > 0 ? bsearch(&k, index, n, sizeof(*index), cmp_pos_id) : NULL;
    return hit != NULL ? hit->pos : SIZE_MAX;
}

static struct pos_id *index_ids(const char (*ids)[MAIL_STORE_ID_MAX], size_t n)
{
    struct pos_id *index = calloc(n + 1, sizeof(*index));
    if (index == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        index[i] = (struct pos_id){ ids[i], i };
    qsort(index, n, sizeof(*index), cmp_pos_id);
    return index;
}

/* Marks kept[i] for the new positions i on a longest increasing run of old
 * positions (patience sorting, O(n log n)). */
static int mark_kept(const size_t *old_pos, size_t n, bool *kept)
{
    size_t *tail = calloc(n + 1, sizeof(*tail));   /* new index ending a run of length k+1 */
    size_t *prev = calloc(n + 1, sizeof(*prev));
    if (tail == NULL || prev == NULL) {
        free(tail);
        free(prev);
        return -1;
    }
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (old_pos[i] == SIZE_MAX)
            continue;
        size_t lo = 0, hi = len;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (old_pos[tail[mid]] < old_pos[i])
                lo = mid + 1;
            else
                hi = mid;
        }
        prev[i] = lo > 0 ? tail[lo - 1] : SIZE_MAX;
        tail[lo] = i;
        if (lo == len)
            len++;
    }
    for (size_t i = len > 0 ? tail[len - 1] : SIZE_MAX, k = 0; i != SIZE_MAX && k < n; k++) {
        kept[i] = true;
        i = prev[i];
    }
    free(tail);
    free(prev);
    return 0;
}

json_t *email_query_diff(const char (*old)[MAIL_STORE_ID_MAX], size_t n_old,
                         const char (*now)[MAIL_STORE_ID_MAX], size_t n_now,
                         uint64_t max_changes, json_t **removed, json_t **added)
{
    json_t *error = NULL;
    struct pos_id *old_index = index_ids(old, n_old);
    size_t *old_pos = calloc(n_now + 1, sizeof(*old_pos));
    bool *kept = calloc(n_now + 1, sizeof(*kept));
    bool *old_kept = calloc(n_old + 1, sizeof(*old_kept));
    *removed = json_array();
    *added = json_array();
    if (old_index == NULL || old_pos == NULL || kept == NULL || old_kept == NULL ||
        *removed == NULL || *added == NULL)
        goto nomem;
    for (size_t i = 0; i < n_now; i++)
        old_pos[i] = find(old_index, n_old, now[i]);
    if (mark_kept(old_pos, n_now, kept) < 0)
        goto nomem;
    size_t changes = 0;
    for (size_t i = 0; i < n_now; i++)
        if (kept[i])
            old_kept[old_pos[i]] = true;
    for (size_t i = 0; i < n_old; i++)
        changes += !old_kept[i];
    for (size_t i = 0; i < n_now; i++)
        changes += !kept[i];
    if (max_changes > 0 && changes > max_changes) {
        error = jmap_error_new("tooManyChanges", NULL);
        goto fail;
    }
    for (size_t i = 0; i < n_old; i++)
        if (!old_kept[i] && json_array_append_new(*removed, json_string(old[i])) < 0)
            goto nomem;
    for (size_t i = 0; i < n_now; i++)
        if (!kept[i] &&
            json_array_append_new(*added, json_pack("{s:s, s:I}", "id", now[i], "index",
                                                    (json_int_t)i)) < 0)
            goto nomem;
    goto out;
nomem:
    error = jmap_error_new("serverFail", "out of memory");
fail:
    json_decref(*removed);
    json_decref(*added);
    *removed = *added = NULL;
out:
    free(old_index);
    free(old_pos);
    free(kept);
    free(old_kept);
    return error;
}
