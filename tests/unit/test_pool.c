/* test_pool.c - the per-account connection pool against the scripted fake
 * IMAP server: reuse, the size limit with its bounded wait, broken
 * connections, trimming, adoption. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <time.h>

#include "backend-private.h"
#include "fake_imap.h"

static const struct backend_credentials good = { "test", "secret" };

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct backend_endpoint endpoint(uint16_t port, unsigned command_timeout_ms)
{
    struct backend_endpoint ep = {
        .host = "127.0.0.1", .port = port, .tls = GW_TLS_NONE,
        .connect_timeout_ms = 2000, .command_timeout_ms = command_timeout_ms,
    };
    return ep;
}

/* The server reports accepts asynchronously: give it a moment to settle. */
static unsigned accepted_settled(struct fake_imap *f)
{
    usleep(50000);
    return fake_imap_accepted(f);
}

static void test_reuse(void **state)
{
    (void)state;
    struct fake_imap f;
    struct gw_error err = { 0 };
    struct mail_backend *a = NULL, *b = NULL;
    assert_int_equal(fake_imap_start(&f, FAKE_IMAP_GOOD), 0);
    struct backend_endpoint ep = endpoint(f.port, 2000);
    struct backend_pool *p = backend_pool_new(&ep, &good, 2);
    assert_non_null(p);
    assert_int_equal(backend_pool_size(p), 0);

    assert_int_equal(backend_pool_acquire(p, &a, &err), 0);
    assert_non_null(a);
    assert_int_equal(backend_pool_size(p), 1);
    struct mail_backend *first = a;
    backend_pool_release(p, &a);
    assert_null(a);
    assert_int_equal(backend_pool_acquire(p, &a, &err), 0);
    assert_ptr_equal(a, first);
    assert_int_equal(accepted_settled(&f), 1);

    /* A second concurrent user gets a second connection. */
    assert_int_equal(backend_pool_acquire(p, &b, &err), 0);
    assert_ptr_not_equal(a, b);
    assert_int_equal(backend_pool_size(p), 2);
    assert_int_equal(accepted_settled(&f), 2);
    assert_int_equal(backend_noop(b, &err), 0);
    backend_pool_release(p, &a);
    backend_pool_release(p, &b);
    assert_int_equal(backend_pool_size(p), 2);

    backend_pool_free(&p);
    assert_null(p);
    fake_imap_stop(&f);
}

struct releaser {
    struct backend_pool *p;
    struct mail_backend *b;
};

static void *release_later(void *arg)
{
    struct releaser *r = arg;
    usleep(100000);
    backend_pool_release(r->p, &r->b);
    return NULL;
}

static void test_limit_waits_then_times_out(void **state)
{
    (void)state;
    struct fake_imap f;
    struct gw_error err = { 0 };
    struct mail_backend *a = NULL, *b = NULL;
    assert_int_equal(fake_imap_start(&f, FAKE_IMAP_GOOD), 0);
    struct backend_endpoint ep = endpoint(f.port, 300);
    struct backend_pool *p = backend_pool_new(&ep, &good, 1);
    assert_non_null(p);

    assert_int_equal(backend_pool_acquire(p, &a, &err), 0);
    uint64_t t0 = now_ms();
    assert_int_equal(backend_pool_acquire(p, &b, &err), -1);
    uint64_t waited = now_ms() - t0;
    assert_null(b);
    assert_int_equal(err.code, GW_ERR_UNAVAILABLE);
    assert_true(waited >= 250 && waited < 1500);

    /* A release by another thread wakes the waiter with that connection. */
    struct releaser r = { p, a };
    struct mail_backend *held = a;
    a = NULL;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, release_later, &r), 0);
    t0 = now_ms();
    assert_int_equal(backend_pool_acquire(p, &b, &err), 0);
    assert_true(now_ms() - t0 < 300);
    assert_ptr_equal(b, held);
    pthread_join(t, NULL);
    assert_int_equal(accepted_settled(&f), 1);
    backend_pool_release(p, &b);
    backend_pool_free(&p);
    fake_imap_stop(&f);
}

static void test_broken_closed_on_release(void **state)
{
    (void)state;
    struct fake_imap f;
    struct gw_error err = { 0 };
    struct mail_backend *a = NULL;
    assert_int_equal(fake_imap_start(&f, FAKE_IMAP_DROP_ON_NOOP), 0);
    struct backend_endpoint ep = endpoint(f.port, 1000);
    struct backend_pool *p = backend_pool_new(&ep, &good, 1);

    assert_int_equal(backend_pool_acquire(p, &a, &err), 0);
    assert_int_equal(backend_noop(a, &err), -1);
    assert_true(backend_is_broken(a));
    backend_pool_release(p, &a);
    assert_int_equal(backend_pool_size(p), 0);

    /* The next acquire opens a fresh connection in the freed slot. */
    assert_int_equal(backend_pool_acquire(p, &a, &err), 0);
    assert_false(backend_is_broken(a));
    assert_int_equal(accepted_settled(&f), 2);
    backend_pool_release(p, &a);
    backend_pool_free(&p);
    fake_imap_stop(&f);
}

static void test_trim_and_adopt(void **state)
{
    (void)state;
    struct fake_imap f;
    struct gw_error err = { 0 };
    struct mail_backend *a = NULL, *own = NULL;
    assert_int_equal(fake_imap_start(&f, FAKE_IMAP_GOOD), 0);
    struct backend_endpoint ep = endpoint(f.port, 1000);
    struct backend_pool *p = backend_pool_new(&ep, &good, 2);

    assert_int_equal(backend_pool_acquire(p, &a, &err), 0);
    backend_pool_release(p, &a);
    backend_pool_trim(p, 60000);
    assert_int_equal(backend_pool_size(p), 1);
    backend_pool_trim(p, 0);
    assert_int_equal(backend_pool_size(p), 0);

    assert_int_equal(backend_imap_open(&ep, &good, &own, &err), 0);
    struct mail_backend *adopted = own;
    backend_pool_adopt(p, &own);
    assert_null(own);
    assert_int_equal(backend_pool_size(p), 1);
    assert_int_equal(backend_pool_acquire(p, &a, &err), 0);
    assert_ptr_equal(a, adopted);
    assert_int_equal(accepted_settled(&f), 2);
    backend_pool_release(p, &a);
    backend_pool_free(&p);
    fake_imap_stop(&f);
}

/* A connection idle past the stale limit is NOOPed before reuse: kept when
 * it answers, replaced by a fresh one when it does not. */
static void test_stale_connection_checked(void **state)
{
    (void)state;
    static const enum fake_imap_script scripts[] = { FAKE_IMAP_GOOD, FAKE_IMAP_DROP_ON_NOOP };
    for (size_t i = 0; i < 2; i++) {
        struct fake_imap f;
        struct gw_error err = { 0 };
        struct mail_backend *a = NULL;
        assert_int_equal(fake_imap_start(&f, scripts[i]), 0);
        struct backend_endpoint ep = endpoint(f.port, 1000);
        struct backend_pool *p = backend_pool_new(&ep, &good, 1);
        backend_pool_set_stale_ms(p, 0);
        assert_int_equal(backend_pool_acquire(p, &a, &err), 0);
        struct mail_backend *first = a;
        backend_pool_release(p, &a);
        assert_int_equal(backend_pool_acquire(p, &a, &err), 0);
        assert_false(backend_is_broken(a));
        if (scripts[i] == FAKE_IMAP_GOOD) {
            assert_ptr_equal(a, first);
            assert_int_equal(accepted_settled(&f), 1);
        } else {
            assert_int_equal(accepted_settled(&f), 2);
        }
        assert_int_equal(backend_pool_size(p), 1);
        backend_pool_release(p, &a);
        backend_pool_free(&p);
        fake_imap_stop(&f);
    }
}

/* A pooled connection the server closed while it sat idle (well inside
 * the stale time) is not handed out again: acquire notices the close,
 * and with the server gone it fails instead of returning a dead session
 * (what Dovecot's BYE for a deleted selected mailbox did to the next
 * request). */
static void test_closed_while_idle_not_reused(void **state)
{
    (void)state;
    struct fake_imap f;
    struct gw_error err = { 0 };
    struct mail_backend *a = NULL;
    assert_int_equal(fake_imap_start(&f, FAKE_IMAP_GOOD), 0);
    struct backend_endpoint ep = endpoint(f.port, 1000);
    struct backend_pool *p = backend_pool_new(&ep, &good, 1);
    assert_int_equal(backend_pool_acquire(p, &a, &err), 0);
    assert_false(backend_peer_spoke(a));
    backend_pool_release(p, &a);
    fake_imap_stop(&f);
    usleep(100000);
    assert_int_equal(backend_pool_acquire(p, &a, &err), -1);
    assert_null(a);
    assert_int_equal(backend_pool_size(p), 0);
    backend_pool_free(&p);
}

static void test_open_failure_frees_slot(void **state)
{
    (void)state;
    struct fake_imap f;
    struct gw_error err = { 0 };
    struct mail_backend *a = NULL;
    /* Start and stop a server to get a port nobody listens on. */
    assert_int_equal(fake_imap_start(&f, FAKE_IMAP_GOOD), 0);
    uint16_t port = f.port;
    fake_imap_stop(&f);
    struct backend_endpoint ep = endpoint(port, 500);
    struct backend_pool *p = backend_pool_new(&ep, &good, 1);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(backend_pool_acquire(p, &a, &err), -1);
        assert_int_equal(err.code, GW_ERR_UNAVAILABLE);
        assert_int_equal(backend_pool_size(p), 0);
    }
    backend_pool_free(&p);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reuse),
        cmocka_unit_test(test_limit_waits_then_times_out),
        cmocka_unit_test(test_broken_closed_on_release),
        cmocka_unit_test(test_trim_and_adopt),
        cmocka_unit_test(test_stale_connection_checked),
        cmocka_unit_test(test_open_failure_frees_slot),
        cmocka_unit_test(test_closed_while_idle_not_reused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
