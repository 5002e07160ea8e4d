/* test_mailbox_query.c - Mailbox/query's filter, sort, sortAsTree and
 * filterAsTree (RFC 8621 §2.3) over a fixed mailbox tree, table-driven:
 *
 *   INBOX (inbox, 1)        Archive (archive, 3)    Drafts (drafts, 2, unsubscribed)
 *     Lists                 Projects
 *                             alpha
 *                             Beta (unsubscribed)
 *                               gamma
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "jmap_mailbox.h"

#define MB(i, n, parent, r, order, sub) \
    { .id = (char *)i, .name = (char *)n, .parent_id = (char *)parent, .role = (char *)r, \
      .name_raw = (char *)n, .subscribed = sub, .sort_order = order, \
      .rights = MAIL_STORE_RIGHTS_ALL }

static struct mail_store_mailbox boxes[] = {
    MB("M1", "INBOX", NULL, "inbox", 1, 1),
    MB("M2", "Archive", NULL, "archive", 3, 1),
    MB("M3", "Drafts", NULL, "drafts", 2, 0),
    MB("M4", "Projects", NULL, NULL, 0, 1),
    MB("M5", "alpha", "M4", NULL, 0, 1),
    MB("M6", "Beta", "M4", NULL, 0, 0),
    MB("M7", "gamma", "M6", NULL, 0, 1),
    MB("M8", "Lists", "M1", NULL, 0, 1),
};
static const struct mail_store_mailbox_list list = { boxes, sizeof(boxes) / sizeof(boxes[0]) };

#define BY_NAME "[{\"property\":\"name\"}]"

struct query_case {
    const char *filter;     /* JSON or NULL */
    const char *sort;       /* JSON or NULL */
    bool sort_as_tree, filter_as_tree;
    const char *want;       /* ids joined by ",", or the error type */
};

static const struct query_case cases[] = {
    { NULL, BY_NAME, false, false, "M5,M2,M6,M3,M7,M1,M8,M4" },
    { NULL, "[{\"property\":\"name\",\"isAscending\":false}]", false, false,
      "M4,M8,M1,M7,M3,M6,M2,M5" },
    { NULL, "[{\"property\":\"sortOrder\"},{\"property\":\"name\"}]", false, false,
      "M5,M6,M7,M8,M4,M1,M3,M2" },
    { NULL, "[{\"property\":\"name\",\"collation\":\"i;unicode-casemap\"}]", false, false,
      "M5,M2,M6,M3,M7,M1,M8,M4" },
    { "{\"parentId\":null}", BY_NAME, false, false, "M2,M3,M1,M4" },
    { "{\"parentId\":\"M4\"}", BY_NAME, false, false, "M5,M6" },
    { "{\"parentId\":\"M9\"}", BY_NAME, false, false, "" },
    { "{\"name\":\"TA\"}", BY_NAME, false, false, "M6" },
    { "{\"name\":\"ts\"}", BY_NAME, false, false, "M3,M8,M4" },
    { "{\"role\":\"inbox\"}", NULL, false, false, "M1" },
    { "{\"role\":null}", BY_NAME, false, false, "M5,M6,M7,M8,M4" },
    { "{\"hasAnyRole\":true}", BY_NAME, false, false, "M2,M3,M1" },
    { "{\"isSubscribed\":false}", BY_NAME, false, false, "M6,M3" },
    { "{\"hasAnyRole\":false,\"isSubscribed\":true}", BY_NAME, false, false, "M5,M7,M8,M4" },
    { "{\"operator\":\"AND\",\"conditions\":[{\"hasAnyRole\":false},{\"isSubscribed\":true}]}",
      BY_NAME, false, false, "M5,M7,M8,M4" },
    { "{\"operator\":\"OR\",\"conditions\":[{\"role\":\"inbox\"},{\"name\":\"alp\"}]}", BY_NAME,
      false, false, "M5,M1" },
    { "{\"operator\":\"NOT\",\"conditions\":[{\"parentId\":null}]}", BY_NAME, false, false,
      "M5,M6,M7,M8" },
    { "{\"operator\":\"NOT\",\"conditions\":[{\"operator\":\"OR\",\"conditions\":"
      "[{\"parentId\":null},{\"parentId\":\"M4\"}]}]}",
      BY_NAME, false, false, "M7,M8" },
    { "{\"operator\":\"AND\",\"conditions\":[]}", BY_NAME, false, false,
      "M5,M2,M6,M3,M7,M1,M8,M4" },
    { "{\"operator\":\"OR\",\"conditions\":[]}", BY_NAME, false, false, "" },
    /* sortAsTree: parents before their children, siblings sorted. */
    { NULL, BY_NAME, true, false, "M2,M3,M1,M8,M4,M5,M6,M7" },
    { NULL, "[{\"property\":\"sortOrder\"}]", true, false, "M4,M5,M6,M7,M1,M8,M3,M2" },
    /* filterAsTree drops gamma, whose parent Beta is unsubscribed. */
    { "{\"isSubscribed\":true}", BY_NAME, true, true, "M2,M1,M8,M4,M5" },
    { "{\"isSubscribed\":true}", BY_NAME, true, false, "M2,M7,M1,M8,M4,M5" },
    { "{\"isSubscribed\":true}", BY_NAME, false, true, "M5,M2,M1,M8,M4" },
    { "{\"name\":\"a\"}", BY_NAME, true, true, "M2,M3" },
    /* Errors. */
    { "{\"foo\":1}", NULL, false, false, "unsupportedFilter" },
    { "{\"operator\":\"AND\",\"conditions\":[{\"bogus\":true}]}", NULL, false, false,
      "unsupportedFilter" },
    { "{\"name\":5}", NULL, false, false, "invalidArguments" },
    { "{\"hasAnyRole\":\"yes\"}", NULL, false, false, "invalidArguments" },
    { "{\"operator\":\"XOR\",\"conditions\":[]}", NULL, false, false, "invalidArguments" },
    { "{\"operator\":\"OR\",\"conditions\":[5]}", NULL, false, false, "invalidArguments" },
    { NULL, "[{\"property\":\"totalEmails\"}]", false, false, "unsupportedSort" },
    { NULL, "[{\"property\":\"name\",\"collation\":\"i;octet-bogus\"}]", false, false,
      "unsupportedSort" },
};

static json_t *parse(const char *text)
{
    if (text == NULL)
        return NULL;
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    return j;
}

static void test_query_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct query_case *c = &cases[i];
        json_t *filter = parse(c->filter), *sort = parse(c->sort);
        const char *ids[sizeof(boxes) / sizeof(boxes[0])];
        size_t n = 99;
        char got[256] = "";
        size_t used = 0;

        print_message("case %zu: filter %s sort %s tree %d/%d\n", i,
                      c->filter ? c->filter : "-", c->sort ? c->sort : "-", c->sort_as_tree,
                      c->filter_as_tree);
        json_t *e = jmap_mailbox_query_run(&list, filter, sort, c->sort_as_tree,
                                           c->filter_as_tree, ids, &n);
        if (e != NULL) {
            snprintf(got, sizeof(got), "%s", json_string_value(json_object_get(e, "type")));
            json_decref(e);
        } else {
            assert_true(n <= list.n);
            for (size_t k = 0; k < n; k++) {
                int w = snprintf(got + used, sizeof(got) - used, "%s%s", k ? "," : "", ids[k]);
                assert_true(w > 0 && (size_t)w < sizeof(got) - used);
                used += (size_t)w;
            }
        }
        assert_string_equal(got, c->want);
        json_decref(filter);
        json_decref(sort);
    }
}

/* An empty account answers an empty result in every mode. */
static void test_empty(void **state)
{
    (void)state;
    const struct mail_store_mailbox_list empty = { NULL, 0 };
    const char *ids[1];
    size_t n = 5;
    assert_null(jmap_mailbox_query_run(&empty, NULL, NULL, true, true, ids, &n));
    assert_int_equal(n, 0);
}

/* Names outside ASCII and numbers, under each collation and the name
 * filter: case folding is Unicode-aware, i;ascii-numeric orders numbers by
 * value with the rest after them (ties by id). */
static void test_collations(void **state)
{
    (void)state;
    static struct mail_store_mailbox v[] = {
        MB("M1", "\xc3\x89" "clair", NULL, NULL, 0, 1),    /* Éclair */
        MB("M2", "eclair", NULL, NULL, 0, 1),
        MB("M3", "\xc3\xa9" "clat", NULL, NULL, 0, 1),      /* éclat */
        MB("M4", "10", NULL, NULL, 0, 1),
        MB("M5", "9", NULL, NULL, 0, 1),
        MB("M6", "Zeta", NULL, NULL, 0, 1),
    };
    static const struct {
        const char *filter, *sort, *want;
    } t[] = {
        { NULL, BY_NAME, "M4,M5,M2,M6,M1,M3" },
        { NULL, "[{\"property\":\"name\",\"collation\":\"i;ascii-numeric\"}]",
          "M5,M4,M1,M2,M3,M6" },
        { NULL, "[{\"property\":\"name\",\"collation\":\"i;ascii-casemap\"}]",
          "M4,M5,M2,M6,M1,M3" },
        { "{\"name\":\"\xc3\xa9" "CL\"}", BY_NAME, "M1,M3" },
        { "{\"name\":\"ECL\"}", BY_NAME, "M2" },
    };
    const struct mail_store_mailbox_list l = { v, sizeof(v) / sizeof(v[0]) };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        json_t *filter = parse(t[i].filter), *sort = parse(t[i].sort);
        const char *ids[sizeof(v) / sizeof(v[0])];
        char got[64] = "";
        size_t n = 0, used = 0;
        assert_null(jmap_mailbox_query_run(&l, filter, sort, false, false, ids, &n));
        for (size_t k = 0; k < n; k++) {
            int w = snprintf(got + used, sizeof(got) - used, "%s%s", k ? "," : "", ids[k]);
            assert_true(w > 0 && (size_t)w < sizeof(got) - used);
            used += (size_t)w;
        }
        print_message("collation case %zu\n", i);
        assert_string_equal(got, t[i].want);
        json_decref(filter);
        json_decref(sort);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_table),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_collations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
