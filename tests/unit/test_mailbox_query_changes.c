/* test_mailbox_query_changes.c - Mailbox/queryChanges built from the change
 * log (jmap_mailbox_moved + jmap_query_changes_response) replayed the way
 * RFC 8620 §5.6 tells a client to: splice the removed ids out of the old
 * result, splice the added ones in, lowest index first. The outcome must be
 * exactly the new result, for random mailbox trees changed at random
 * (renames, moves to another parent, role/subscription/sortOrder/count
 * changes, creations, deletions that move the children up) and every
 * filter, sort and tree flag combination below. A table case pins the
 * response shape and tooManyChanges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jmap_mailbox.h"
#include "jmap_query.h"

#define MAX_BOXES 24
#define ROUNDS 1500

static const char *const names[] = { "Inbox", "alpha", "Alpha", "beta", "\xc3\x89t\xc3\xa9",
                                     "\xc3\xa9t\xc3\xa9", "zeta", "10", "9", "Work" };
static const char *const roles[] = { NULL, NULL, NULL, "inbox", "trash", "archive" };

/* Queries checked each round: filter, sort, sortAsTree, filterAsTree. */
static const char *const filters[] = {
    NULL,
    "{\"isSubscribed\":true}",
    "{\"name\":\"A\"}",
    "{\"parentId\":null}",
    "{\"operator\":\"NOT\",\"conditions\":[{\"hasAnyRole\":true}]}",
    "{\"operator\":\"OR\",\"conditions\":[{\"role\":\"trash\"},{\"name\":\"\xc3\xa9\"}]}",
};
static const char *const sorts[] = {
    NULL,
    "[{\"property\":\"name\"}]",
    "[{\"property\":\"sortOrder\"},{\"property\":\"name\",\"isAscending\":false}]",
    "[{\"property\":\"name\",\"collation\":\"i;ascii-numeric\"}]",
};

struct box {
    char id[8];
    int parent;             /* index in the same array, or -1 */
    const char *name, *role;
    int subscribed;
    uint32_t sort_order, total;
    bool live;
};

struct world {
    struct box b[MAX_BOXES];
    size_t n;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static unsigned rnd(unsigned bound)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % bound);
}

static void random_fields(struct box *x)
{
    x->name = names[rnd(sizeof(names) / sizeof(names[0]))];
    x->role = roles[rnd(sizeof(roles) / sizeof(roles[0]))];
    x->subscribed = (int)rnd(2);
    x->sort_order = rnd(3);
    x->total = rnd(5);
}

static void add_box(struct world *w, char prefix, int parent)
{
    struct box *x = &w->b[w->n];
    snprintf(x->id, sizeof(x->id), "%c%02zu", prefix, w->n);
    x->parent = parent;
    x->live = true;
    random_fields(x);
    w->n++;
}

static bool is_below(const struct world *w, int x, int ancestor)
{
    for (int hops = 0; x >= 0 && hops <= MAX_BOXES; x = w->b[x].parent, hops++)
        if (x == ancestor)
            return true;
    return false;
}

static int random_live_parent(const struct world *w, int self)
{
    int p = (int)rnd((unsigned)w->n + 1) - 1;
    if (p < 0 || !w->b[p].live || (self >= 0 && is_below(w, p, self)))
        return -1;
    return p;
}

/* The live boxes as the store lists them (strings borrowed from w). */
static void to_list(const struct world *w, struct mail_store_mailbox *v,
                    struct mail_store_mailbox_list *l)
{
    l->v = v;
    l->n = 0;
    for (size_t i = 0; i < w->n; i++) {
        const struct box *x = &w->b[i];
        if (!x->live)
            continue;
        v[l->n++] = (struct mail_store_mailbox){
            .id = (char *)x->id, .name = (char *)x->name, .name_raw = (char *)x->name,
            .parent_id = x->parent >= 0 ? (char *)w->b[x->parent].id : NULL,
            .role = (char *)x->role, .subscribed = x->subscribed, .sort_order = x->sort_order,
            .total_emails = x->total, .rights = MAIL_STORE_RIGHTS_ALL,
        };
    }
}

static size_t run(const struct world *w, json_t *filter, json_t *sort, bool tree, bool ftree,
                  const char **ids)
{
    struct mail_store_mailbox v[MAX_BOXES];
    struct mail_store_mailbox_list l;
    size_t n = 0;
    to_list(w, v, &l);
    json_t *e = jmap_mailbox_query_run(&l, filter, sort, tree, ftree, ids, &n);
    assert_null(e);
    return n;
}

/* Changes the world the way a sync would see it and records what the
 * change log would say. */
static void mutate(struct world *w, bool *created, bool *updated, bool *destroyed)
{
    size_t before = w->n;
    for (size_t i = 0; i < before; i++) {
        struct box *x = &w->b[i];
        if (!x->live)
            continue;
        switch (rnd(8)) {
        case 0: /* deleted: its children move up to its parent */
            x->live = false;
            destroyed[i] = true;
            for (size_t k = 0; k < w->n; k++)
                if (w->b[k].live && w->b[k].parent == (int)i) {
                    w->b[k].parent = x->parent;
                    updated[k] = true;
                }
            break;
        case 1:
            random_fields(x);
            updated[i] = true;
            break;
        case 2:
            x->parent = random_live_parent(w, (int)i);
            updated[i] = true;
            break;
        case 3:
            x->total++;     /* a count change is an update too */
            updated[i] = true;
            break;
        default:
            break;
        }
    }
    for (unsigned k = rnd(3); k > 0 && w->n < MAX_BOXES; k--) {
        created[w->n] = true;
        add_box(w, 'N', random_live_parent(w, -1));
    }
}

/* The client's splice (RFC 8620 §5.6) of a response onto old[0..n). */
static size_t replay(const char **old, size_t n, json_t *res)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(res, "removed"), i, v) {
        for (size_t k = 0; k < n; k++)
            if (strcmp(old[k], json_string_value(v)) == 0) {
                memmove(&old[k], &old[k + 1], (n - k - 1) * sizeof(*old));
                n--;
                break;
            }
    }
    json_array_foreach(json_object_get(res, "added"), i, v) {
        size_t at = (size_t)json_integer_value(json_object_get(v, "index"));
        assert_true(at <= n && n < 2 * MAX_BOXES);
        memmove(&old[at + 1], &old[at], (n - at) * sizeof(*old));
        old[at] = json_string_value(json_object_get(v, "id"));
        n++;
    }
    return n;
}

static void check_round(const struct world *old_w, const struct world *new_w,
                        const bool *created, const bool *updated, const bool *destroyed)
{
    const char *changed[MAX_BOXES], *moved[MAX_BOXES], *removed[MAX_BOXES];
    size_t n_changed = 0, n_removed = 0;
    struct mail_store_mailbox v[MAX_BOXES];
    struct mail_store_mailbox_list l;
    to_list(new_w, v, &l);
    for (size_t i = 0; i < new_w->n; i++)
        if (created[i] || (updated[i] && new_w->b[i].live))
            changed[n_changed++] = new_w->b[i].id;
    size_t n_moved = jmap_mailbox_moved(&l, changed, n_changed, moved);
    assert_true(n_moved <= l.n);
    for (size_t i = 0; i < new_w->n; i++)
        if (destroyed[i])
            removed[n_removed++] = new_w->b[i].id;
    for (size_t i = 0; i < n_moved; i++)
        if (moved[i][0] != 'N')
            removed[n_removed++] = moved[i];

    for (size_t f = 0; f < sizeof(filters) / sizeof(filters[0]); f++)
        for (size_t s = 0; s < sizeof(sorts) / sizeof(sorts[0]); s++)
            for (int flags = 0; flags < 4; flags++) {
                json_t *filter = filters[f] ? json_loads(filters[f], 0, NULL) : NULL;
                json_t *sort = sorts[s] ? json_loads(sorts[s], 0, NULL) : NULL;
                const char *before[2 * MAX_BOXES], *after[MAX_BOXES];
                size_t nb = run(old_w, filter, sort, flags & 1, flags & 2, before);
                size_t na = run(new_w, filter, sort, flags & 1, flags & 2, after);
                json_t *error = NULL;
                json_t *res = jmap_query_changes_response("A1", "1", "2", after, na, removed,
                                                          n_removed, moved, n_moved, 0, true,
                                                          &error);
                assert_null(error);
                assert_non_null(res);
                assert_int_equal(json_integer_value(json_object_get(res, "total")), na);
                size_t got = replay(before, nb, res);
                if (got != na) {
                    print_error("filter %s sort %s flags %d: %zu ids, want %zu\n",
                                filters[f] ? filters[f] : "-", sorts[s] ? sorts[s] : "-",
                                flags, got, na);
                    fail();
                }
                for (size_t k = 0; k < na; k++)
                    assert_string_equal(before[k], after[k]);
                json_decref(res);
                json_decref(filter);
                json_decref(sort);
            }
}

static void test_random_replay(void **state)
{
    (void)state;
    for (int round = 0; round < ROUNDS; round++) {
        struct world old_w = { .n = 0 }, new_w;
        bool created[MAX_BOXES] = { false }, updated[MAX_BOXES] = { false },
             destroyed[MAX_BOXES] = { false };
        for (unsigned k = rnd(14); k > 0; k--)
            add_box(&old_w, 'M', random_live_parent(&old_w, -1));
        new_w = old_w;
        mutate(&new_w, created, updated, destroyed);
        check_round(&old_w, &new_w, created, updated, destroyed);
    }
}

/* A child under a renamed parent moves with it although it did not change
 * itself: it is reported, its untouched sibling tree is not. */
static void test_moved_subtree(void **state)
{
    (void)state;
    struct mail_store_mailbox v[] = {
        { .id = (char *)"P", .name = (char *)"p", .name_raw = (char *)"p" },
        { .id = (char *)"C", .name = (char *)"c", .name_raw = (char *)"p/c",
          .parent_id = (char *)"P" },
        { .id = (char *)"G", .name = (char *)"g", .name_raw = (char *)"p/c/g",
          .parent_id = (char *)"C" },
        { .id = (char *)"Q", .name = (char *)"q", .name_raw = (char *)"q" },
        { .id = (char *)"R", .name = (char *)"r", .name_raw = (char *)"q/r",
          .parent_id = (char *)"Q" },
    };
    const struct mail_store_mailbox_list l = { v, 5 };
    const char *changed[] = { "P", "Unknown" }, *moved[5];
    size_t n = jmap_mailbox_moved(&l, changed, 2, moved);
    assert_int_equal(n, 3);
    assert_string_equal(moved[0], "P");
    assert_string_equal(moved[1], "C");
    assert_string_equal(moved[2], "G");
    assert_int_equal(jmap_mailbox_moved(&l, changed, 0, moved), 0);
}

static void test_response_shape(void **state)
{
    (void)state;
    const char *ids[] = { "a", "b", "c", "d" }, *removed[] = { "x", "c" }, *moved[] = { "d", "c" };
    json_t *error = NULL;
    json_t *res = jmap_query_changes_response("A1", "5", "7", ids, 4, removed, 2, moved, 2, 0,
                                              false, &error);
    json_t *want = json_loads("{\"accountId\":\"A1\",\"oldQueryState\":\"5\",\"newQueryState\":"
                              "\"7\",\"removed\":[\"x\",\"c\"],\"added\":[{\"id\":\"c\","
                              "\"index\":2},{\"id\":\"d\",\"index\":3}]}",
                              0, NULL);
    assert_null(error);
    assert_true(json_equal(res, want));
    json_decref(res);
    json_decref(want);
    /* Four changes: a maxChanges of 4 passes, 3 is tooManyChanges. */
    res = jmap_query_changes_response("A1", "5", "7", ids, 4, removed, 2, moved, 2, 4, true,
                                      &error);
    assert_non_null(res);
    assert_int_equal(json_integer_value(json_object_get(res, "total")), 4);
    json_decref(res);
    res = jmap_query_changes_response("A1", "5", "7", ids, 4, removed, 2, moved, 2, 3, true,
                                      &error);
    assert_null(res);
    assert_string_equal(json_string_value(json_object_get(error, "type")), "tooManyChanges");
    json_decref(error);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_replay),
        cmocka_unit_test(test_moved_subtree),
        cmocka_unit_test(test_response_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
