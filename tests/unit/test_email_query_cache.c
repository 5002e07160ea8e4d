/* test_email_query_cache.c - the recent Email/query results: canonical
 * keys, copies in and out, least-recently-used eviction, and concurrent
 * use by several threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../api/mail/email_query_cache.h"

static char *key_of(const char *account, const char *state, const char *filter,
                    const char *sort, bool collapse)
{
    json_t *f = filter != NULL ? json_loads(filter, 0, NULL) : NULL;
    json_t *s = sort != NULL ? json_loads(sort, 0, NULL) : NULL;
    char *k = email_query_cache_key(account, state, f, s, collapse);
    assert_non_null(k);
    json_decref(f);
    json_decref(s);
    return k;
}

static void test_keys(void **state)
{
    (void)state;
    char *a = key_of("A1", "5", "{\"inMailbox\": \"m\", \"hasKeyword\": \"$seen\"}", NULL, false);
    char *b = key_of("A1", "5", "{\"hasKeyword\": \"$seen\", \"inMailbox\": \"m\"}", NULL, false);
    char *c = key_of("A1", "5", "{\"hasKeyword\": \"$seen\", \"inMailbox\": \"m\"}", NULL, true);
    char *d = key_of("A1", "6", "{\"hasKeyword\": \"$seen\", \"inMailbox\": \"m\"}", NULL, false);
    char *e = key_of("A2", "5", "{\"hasKeyword\": \"$seen\", \"inMailbox\": \"m\"}", NULL, false);
    char *f = key_of("A1", "5", "{\"hasKeyword\": \"$seen\", \"inMailbox\": \"m\"}",
                     "[{\"property\": \"size\"}]", false);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, d);
    assert_string_not_equal(a, e);
    assert_string_not_equal(a, f);
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
    free(f);
}

/* A result of n ids named after key. */
static void put_named(const char *key, size_t n)
{
    char (*ids)[MAIL_STORE_ID_MAX] = calloc(n + 1, sizeof(*ids));
    assert_non_null(ids);
    for (size_t i = 0; i < n; i++)
        snprintf(ids[i], MAIL_STORE_ID_MAX, "%.6s-%u", key, (unsigned)(i % 1000));
    email_query_cache_put(key, (const char (*)[MAIL_STORE_ID_MAX])ids, n);
    free(ids);
}

/* Whether key is cached with the ids put_named gave it. */
static bool has_named(const char *key, size_t n_want)
{
    char (*ids)[MAIL_STORE_ID_MAX] = NULL;
    size_t n = 0;
    if (!email_query_cache_get(key, &ids, &n))
        return false;
    bool ok = n == n_want;
    for (size_t i = 0; ok && i < n; i++) {
        char want[MAIL_STORE_ID_MAX];
        snprintf(want, sizeof(want), "%.6s-%u", key, (unsigned)(i % 1000));
        ok = strcmp(ids[i], want) == 0;
    }
    free(ids);
    return ok;
}

/* A shared result outlives its eviction and is never copied. */
static void test_share(void **state)
{
    (void)state;
    email_query_cache_clear();
    put_named("shared", 3);
    const struct email_query_ids *r = email_query_cache_share("shared");
    assert_non_null(r);
    const struct email_query_ids *again = email_query_cache_share("shared");
    assert_ptr_equal(r, again);
    email_query_cache_release(&again);
    assert_null(again);
    assert_null(email_query_cache_share("absent"));
    for (int i = 0; i < 40; i++) {
        char key[32];
        snprintf(key, sizeof(key), "evict%d", i);
        put_named(key, 2);
    }
    assert_false(has_named("shared", 3));   /* evicted ... */
    assert_int_equal(r->n, 3);              /* ... but still ours */
    assert_string_equal(r->ids[2], "shared-2");
    assert_ptr_equal(r->ptrs[1], r->ids[1]);
    assert_null(r->ptrs[3]);
    email_query_cache_release(&r);
    email_query_cache_clear();
}

static void test_lru(void **state)
{
    (void)state;
    char key[32];
    assert_false(has_named("absent", 0));
    put_named("empty", 0);
    assert_true(has_named("empty", 0));
    email_query_cache_clear();
    assert_false(has_named("empty", 0));
    /* The capacity: the most entries after which the first is still there. */
    size_t slots = 0;
    for (size_t m = 1; m < 1000 && slots == 0; m++) {
        email_query_cache_clear();
        for (size_t i = 0; i < m; i++) {
            snprintf(key, sizeof(key), "k%zu", i);
            put_named(key, i + 1);
        }
        if (!has_named("k0", 1))
            slots = m - 1;
    }
    assert_true(slots >= 8);
    /* Full; use the first again, add one more: the second (least recently
     * used) goes, the first stays. */
    email_query_cache_clear();
    for (size_t i = 0; i < slots; i++) {
        snprintf(key, sizeof(key), "k%zu", i);
        put_named(key, i + 1);
    }
    assert_true(has_named("k0", 1));
    put_named("extra", 3);
    assert_true(has_named("k0", 1));
    assert_false(has_named("k1", 2));
    assert_true(has_named("k2", 3));
    assert_true(has_named("extra", 3));
    email_query_cache_clear();
}

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int i = 0; i < 2000; i++) {
        char key[32];
        size_t k = (size_t)rand_r(&seed) % 24;
        snprintf(key, sizeof(key), "t%zu", k);
        if (rand_r(&seed) % 2) {
            put_named(key, k * 10);
        } else {
            char (*ids)[MAIL_STORE_ID_MAX] = NULL;
            size_t n = 0;
            if (email_query_cache_get(key, &ids, &n))
                free(ids);
        }
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)(i + 1)), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    /* Whatever survived is whole. */
    for (size_t k = 0; k < 24; k++) {
        char key[32];
        snprintf(key, sizeof(key), "t%zu", k);
        char (*ids)[MAIL_STORE_ID_MAX] = NULL;
        size_t n = 0;
        if (email_query_cache_get(key, &ids, &n)) {
            free(ids);
            assert_true(has_named(key, k * 10));
        }
    }
    email_query_cache_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_lru),
        cmocka_unit_test(test_share),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
