/* test_worker_pool.c - jobs run, all of them, and shutdown drains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdatomic.h>

#include "worker_pool.h"

static atomic_int counter;

static void bump(void *arg)
{
    atomic_fetch_add(&counter, *(int *)arg);
}

static void test_runs_every_job_before_free(void **state)
{
    static int one = 1;
    atomic_store(&counter, 0);
    struct worker_pool *pool = worker_pool_new(3);
    assert_non_null(pool);
    for (int i = 0; i < 1000; i++)
        assert_true(worker_pool_submit(pool, bump, &one));
    worker_pool_free(&pool);
    assert_null(pool);
    assert_int_equal(atomic_load(&counter), 1000);
}

static void test_zero_threads_means_one(void **state)
{
    static int two = 2;
    atomic_store(&counter, 0);
    struct worker_pool *pool = worker_pool_new(0);
    assert_non_null(pool);
    assert_true(worker_pool_submit(pool, bump, &two));
    worker_pool_free(&pool);
    assert_int_equal(atomic_load(&counter), 2);
    worker_pool_free(&pool);   /* NULL is fine */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_every_job_before_free),
        cmocka_unit_test(test_zero_threads_means_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
