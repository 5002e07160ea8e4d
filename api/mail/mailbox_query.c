/* mailbox_query.c - Mailbox/query filtering, sorting and tree order
 * (include/jmap_mailbox.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jmap_collation.h"
#include "jmap_mailbox.h"
#include "jmap_method.h"
#include "jmap_query.h"

#define NO_PARENT SIZE_MAX

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
        if (strcmp(key, "name") == 0 && !jmap_collation_contains(x->name, json_string_value(v)))
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
    enum jmap_collation collation;  /* for name */
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
        if (s->n == sizeof(s->keys) / sizeof(s->keys[0]))
            return jmap_error_invalid_arguments("sort", "too many comparators");
        json_t *error = jmap_collation_parse(collation, &s->keys[s->n].collation);
        if (error != NULL)
            return error;
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
        const struct sort_key *k = &s->keys[i];
        int c = k->by_name ? jmap_collation_compare(k->collation, a->name, b->name)
                : a->sort_order < b->sort_order ? -1
                : a->sort_order > b->sort_order ? 1 : 0;
        if (c != 0)
            return k->ascending ? c : -c;
    }
    return strcmp(a->id, b->id);
}

/* Insertion sort of indexes into l: mailbox lists are short, and it needs
 * no global for the comparator's arguments. */
static void sort_indexes(const struct sorting *s, const struct mail_store_mailbox_list *l,
                         size_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && compare(s, &l->v[v[j - 1]], &l->v[v[j]]) > 0; j--) {
            size_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

static size_t index_of(const struct mail_store_mailbox_list *l, const char *id)
{
    for (size_t i = 0; id != NULL && i < l->n; i++)
        if (strcmp(l->v[i].id, id) == 0)
            return i;
    return NO_PARENT;
}

struct tree {
    const size_t *parent;       /* index of each mailbox's parent in l, or NO_PARENT */
    const size_t *sorted;       /* the result's indexes in comparator order */
    size_t n_sorted;
    bool *placed;
    size_t *out;
    size_t n_out;
};

/* Places p's children (in comparator order), each followed by its own
 * subtree. placed[] stops a parent cycle, which would recurse forever;
 * the depth is bounded by the number of mailboxes. */
static void place_children(struct tree *t, size_t p)
{
    for (size_t i = 0; i < t->n_sorted; i++) {
        size_t x = t->sorted[i];
        if (t->parent[x] != p || t->placed[x])
            continue;
        t->placed[x] = true;
        t->out[t->n_out++] = x;
        place_children(t, x);
    }
}

/* Tree order of sorted: roots are the mailboxes whose parent is not in
 * the result (top level, or a filtered-out parent). */
static void tree_order(struct tree *t, const bool *in)
{
    for (size_t i = 0; i < t->n_sorted; i++) {
        size_t x = t->sorted[i];
        if (t->placed[x] || (t->parent[x] != NO_PARENT && in[t->parent[x]]))
            continue;
        t->placed[x] = true;
        t->out[t->n_out++] = x;
        place_children(t, x);
    }
}

json_t *jmap_mailbox_query_run(const struct mail_store_mailbox_list *l, json_t *filter,
                               json_t *sort, bool sort_as_tree, bool filter_as_tree,
                               const char **ids, size_t *n_ids)
{
    struct sorting sorting;
    json_t *error = jmap_filter_check(filter, check_condition, NULL);
    if (error == NULL)
        error = parse_sort(sort, &sorting);
    if (error != NULL)
        return error;
    size_t cap = l->n + 1, n = 0;
    bool *in = calloc(cap, sizeof(*in)), *placed = calloc(cap, sizeof(*placed));
    size_t *parent = calloc(cap, sizeof(*parent)), *sorted = calloc(cap, sizeof(*sorted));
    size_t *out = calloc(cap, sizeof(*out));
    if (in == NULL || placed == NULL || parent == NULL || sorted == NULL || out == NULL) {
        error = jmap_error_new("serverFail", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < l->n; i++) {
        parent[i] = index_of(l, l->v[i].parent_id);
        in[i] = jmap_filter_matches(filter, match_condition, NULL, &l->v[i]);
    }
    if (filter_as_tree) {
        /* Only with every ancestor matching too (RFC 8621 §2.3); at most
         * l->n hops, whatever the parent links. */
        bool *matched = placed;
        memcpy(matched, in, l->n * sizeof(*in));
        for (size_t i = 0; i < l->n; i++)
            for (size_t p = parent[i], hops = 0; in[i] && p != NO_PARENT && hops < l->n;
                 p = parent[p], hops++)
                in[i] = matched[p];
        memset(placed, 0, cap * sizeof(*placed));
    }
    for (size_t i = 0; i < l->n; i++)
        if (in[i])
            sorted[n++] = i;
    sort_indexes(&sorting, l, sorted, n);
    struct tree t = { .parent = parent, .sorted = sorted, .n_sorted = n, .placed = placed,
                      .out = out };
    if (sort_as_tree)
        tree_order(&t, in);
    const size_t *order = sort_as_tree ? out : sorted;
    *n_ids = sort_as_tree ? t.n_out : n;
    for (size_t i = 0; i < *n_ids; i++)
        ids[i] = l->v[order[i]].id;
out:
    free(in);
    free(placed);
    free(parent);
    free(sorted);
    free(out);
    return error;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t jmap_mailbox_moved(const struct mail_store_mailbox_list *l, const char *const *changed,
                          size_t n_changed, const char **moved)
{
    const char **sorted = calloc(n_changed + 1, sizeof(*sorted));
    size_t *parent = calloc(l->n + 1, sizeof(*parent)), n = 0;
    if (sorted == NULL || parent == NULL) {
        n = SIZE_MAX;
        goto out;
    }
    if (n_changed > 0)
        memcpy(sorted, changed, n_changed * sizeof(*sorted));
    qsort(sorted, n_changed, sizeof(*sorted), compare_strings);
    for (size_t i = 0; i < l->n; i++)
        parent[i] = index_of(l, l->v[i].parent_id);
    for (size_t i = 0; i < l->n; i++) {
        /* Itself, then its ancestors: at most l->n steps, whatever the
         * parent links. */
        bool hit = false;
        for (size_t x = i, hops = 0; !hit && x != NO_PARENT && hops <= l->n;
             x = parent[x], hops++)
            hit = bsearch(&l->v[x].id, sorted, n_changed, sizeof(*sorted), compare_strings) != NULL;
        if (hit)
            moved[n++] = l->v[i].id;
    }
out:
    free(sorted);
    free(parent);
    return n;
}
