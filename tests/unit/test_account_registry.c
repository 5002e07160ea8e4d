/* test_account_registry.c - accounts found by credential HMAC: the cache
 * fast path, password checks, stable ids, idle eviction, shared syncs and
 * the syncs the change watcher's listing spares. Against the product's
 * own private Dovecot (demo_dovecot). */
#define _GNU_SOURCE   /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account.h"
#include "backend_mail.h"
#include "demo_dovecot.h"

struct fixture {
    char dir[64];
    struct demo_dovecot *dovecot;
    struct account_registry_options opts;
};

static int setup(void **state)
{
    static struct fixture f;
    struct gw_error err = { 0 };
    snprintf(f.dir, sizeof(f.dir), "/tmp/jmapgw-acct-XXXXXX");
    assert_non_null(mkdtemp(f.dir));
    assert_int_equal(chmod(f.dir, 0755), 0);
    struct demo_dovecot_options o = { .base_dir = f.dir, .tls = false };
    if (demo_dovecot_start(&o, &f.dovecot, &err) != 0)
        fail_msg("dovecot: %s", err.msg);
    f.opts = (struct account_registry_options){
        .imap = { .host = "127.0.0.1", .port = demo_dovecot_imap_port(f.dovecot),
                  .tls = GW_TLS_NONE,
                  /* Roomy: after a wrong password Dovecot delays logins from
                   * the same address for a few seconds (its auth penalty). */
                  .connect_timeout_ms = 10000, .command_timeout_ms = 10000 },
        .pool_size = 2,
        .idle_timeout_s = 3600,
        .auth_cache_ttl_s = 3600,
    };
    *state = &f;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    demo_dovecot_free(&f->dovecot);
    nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static struct account *login(struct account_registry *r, const char *user, const char *pw,
                             enum gw_error_code expect)
{
    struct account *a = NULL;
    struct gw_error err = { 0 };
    int rc = account_registry_authenticate(r, user, pw, &a, &err);
    if (expect == GW_OK) {
        if (rc != 0)
            fail_msg("login %s failed: %s", user, err.msg);
        assert_non_null(a);
    } else {
        assert_int_equal(rc, -1);
        assert_null(a);
        assert_int_equal(err.code, expect);
        /* The password never appears in what we would log. */
        assert_null(strstr(err.msg, pw));
    }
    return a;
}

static void test_cache_and_passwords(void **state)
{
    struct fixture *f = *state;
    struct account_registry *r = account_registry_new(&f->opts, NULL);
    struct account *a = login(r, "demo", "demo", GW_OK);
    struct account *again;

    assert_string_equal(account_username(a), "demo");
    assert_int_equal(account_registry_count(r), 1);
    /* The login connection waits for the account's first sync. */
    assert_int_equal(backend_pool_size(account_sync_pool(a)), 1);
    assert_int_equal(backend_pool_size(account_pool(a)), 0);

    /* The fast path needs no IMAP: it works while the server is down. */
    struct gw_error err = { 0 };
    assert_int_equal(demo_dovecot_pause(f->dovecot, &err), 0);
    again = login(r, "demo", "demo", GW_OK);
    assert_ptr_equal(again, a);
    account_unref(&again);
    /* A different password is checked with IMAP, which is down now. */
    login(r, "demo", "wrong", GW_ERR_UNAVAILABLE);
    assert_int_equal(demo_dovecot_resume(f->dovecot, &err), 0);
    login(r, "demo", "wrong", GW_ERR_AUTH);
    /* The cached account still answers to the right password. */
    again = login(r, "demo", "demo", GW_OK);
    assert_ptr_equal(again, a);
    account_unref(&again);
    /* Another user is another account. */
    struct account *b = login(r, "alice", "alice", GW_OK);
    assert_ptr_not_equal(a, b);
    assert_string_not_equal(account_id(a), account_id(b));
    assert_int_equal(account_registry_count(r), 2);

    account_unref(&a);
    account_unref(&b);
    account_registry_free(&r);
    assert_null(r);
}

static void test_ids_stable_across_registries(void **state)
{
    struct fixture *f = *state;
    char first[64];
    struct account_registry *r = account_registry_new(&f->opts, NULL);
    struct account *a = login(r, "demo", "demo", GW_OK);
    snprintf(first, sizeof(first), "%s", account_id(a));
    account_unref(&a);
    account_registry_free(&r);

    r = account_registry_new(&f->opts, NULL);   /* a "restart": new HMAC key */
    a = login(r, "demo", "demo", GW_OK);
    assert_string_equal(account_id(a), first);
    account_unref(&a);
    account_registry_free(&r);

    struct account_registry_options other = f->opts;
    other.imap.host = "localhost";   /* another server name, another account id */
    r = account_registry_new(&other, NULL);
    a = login(r, "demo", "demo", GW_OK);
    assert_string_not_equal(account_id(a), first);
    account_unref(&a);
    account_registry_free(&r);
}

static void test_ttl_and_eviction(void **state)
{
    struct fixture *f = *state;
    struct account_registry_options opts = f->opts;
    opts.auth_cache_ttl_s = 1;
    opts.idle_timeout_s = 1;
    struct account_registry *r = account_registry_new(&opts, NULL);
    struct account *a = login(r, "demo", "demo", GW_OK);

    /* In use: never evicted, however old. */
    sleep(2);
    assert_int_equal(account_registry_evict_idle(r), 0);
    /* Past the TTL the password is checked again, so a server that is down
     * now answers 503 even for the cached password. */
    struct gw_error err = { 0 };
    assert_int_equal(demo_dovecot_pause(f->dovecot, &err), 0);
    login(r, "demo", "demo", GW_ERR_UNAVAILABLE);
    assert_int_equal(demo_dovecot_resume(f->dovecot, &err), 0);
    account_unref(&a);

    sleep(2);
    assert_int_equal(account_registry_evict_idle(r), 1);
    assert_int_equal(account_registry_count(r), 0);
    a = login(r, "demo", "demo", GW_OK);
    assert_int_equal(account_registry_count(r), 1);
    account_unref(&a);
    account_registry_free(&r);
}

static void test_concurrency_limit(void **state)
{
    struct fixture *f = *state;
    struct account_registry *r = account_registry_new(&f->opts, NULL);
    struct account *a = login(r, "demo", "demo", GW_OK);
    assert_true(account_request_begin(a, 2));
    assert_true(account_request_begin(a, 2));
    assert_false(account_request_begin(a, 2));
    account_request_end(a);
    assert_true(account_request_begin(a, 2));
    account_request_end(a);
    account_request_end(a);
    account_unref(&a);
    account_registry_free(&r);
}

/* A model of the server for account_sync: "changes" counts changes made
 * on the server, a sync copies what it read when it began into "cached". */
struct sync_model {
    pthread_mutex_t lock;
    unsigned changes, cached, syncs, fail_next;
};

static int model_sync(void *ctx, const struct backend_mailbox_list *listing,
                      struct gw_error *err)
{
    struct sync_model *m = ctx;
    assert_null(listing);   /* account_sync() never hands out the watcher's */
    pthread_mutex_lock(&m->lock);
    unsigned seen = m->changes;
    bool fail = m->fail_next > 0;
    if (fail)
        m->fail_next--;
    m->syncs++;
    pthread_mutex_unlock(&m->lock);
    usleep(20000);      /* the round trip other callers pile up behind */
    if (fail)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "backend down");
    pthread_mutex_lock(&m->lock);
    if (seen > m->cached)
        m->cached = seen;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

struct sync_caller {
    struct account *account;
    struct sync_model *model;
    int rc;
    bool fresh;     /* the cache held this caller's change when it returned */
};

static void *sync_caller_run(void *arg)
{
    struct sync_caller *c = arg;
    struct gw_error err = { 0 };
    pthread_mutex_lock(&c->model->lock);
    unsigned mine = ++c->model->changes;
    pthread_mutex_unlock(&c->model->lock);
    c->rc = account_sync(c->account, model_sync, c->model, &err);
    pthread_mutex_lock(&c->model->lock);
    c->fresh = c->model->cached >= mine;
    pthread_mutex_unlock(&c->model->lock);
    return NULL;
}

static void test_sync_is_shared_and_fresh(void **state)
{
    struct fixture *f = *state;
    struct account_registry *r = account_registry_new(&f->opts, NULL);
    struct account *a = login(r, "demo", "demo", GW_OK);
    struct sync_model model = { .lock = PTHREAD_MUTEX_INITIALIZER };
    enum { CALLERS = 16 };
    struct sync_caller callers[CALLERS];
    pthread_t threads[CALLERS];
    for (int i = 0; i < CALLERS; i++) {
        callers[i] = (struct sync_caller){ .account = a, .model = &model };
        assert_int_equal(pthread_create(&threads[i], NULL, sync_caller_run, &callers[i]), 0);
    }
    for (int i = 0; i < CALLERS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(callers[i].rc, 0);
        /* Never answered by a sync that may have read the server before
         * the caller's own change. */
        assert_true(callers[i].fresh);
    }
    /* A burst shares round trips: with 20 ms each, 16 callers fit in a few. */
    assert_true(model.syncs >= 1 && model.syncs < CALLERS);

    /* A failing sync is reported to its caller; the next call tries again. */
    struct gw_error err = { 0 };
    model.fail_next = 1;
    assert_int_equal(account_sync(a, model_sync, &model, &err), -1);
    assert_int_equal(err.code, GW_ERR_UNAVAILABLE);
    assert_int_equal(account_sync(a, model_sync, &model, &err), 0);
    account_unref(&a);
    account_registry_free(&r);
}

/* What the syncs of a stale account were given. */
struct listing_seen {
    unsigned calls;
    bool listed;        /* the last one got a listing */
    bool inbox_status;  /* ... holding INBOX with its STATUS numbers */
};

static int listing_sync(void *ctx, const struct backend_mailbox_list *listing,
                        struct gw_error *err)
{
    (void)err;
    struct listing_seen *seen = ctx;
    seen->calls++;
    seen->listed = listing != NULL;
    seen->inbox_status = false;
    for (size_t i = 0; listing != NULL && i < listing->n; i++)
        if (strcmp(listing->items[i].name_raw, "INBOX") == 0)
            seen->inbox_status = listing->items[i].status.valid &&
                                 listing->items[i].status.uidvalidity != 0;
    return 0;
}

/* A new account's watcher starts at its authentication and, its NOTIFY
 * in force, takes a listing: the account's first stale sync gets it
 * (sending no LIST-STATUS of its own) and leaves the cache clean; the
 * listing serves once, and never account_sync(). */
static void test_sync_from_watcher_baseline(void **state)
{
    struct fixture *f = *state;
    struct account_registry_options o = f->opts;
    o.watch_max = 1;
    o.watch_idle_s = 3600;
    o.watch_max_age_ms = 60000;
    struct account_registry *r = account_registry_new(&o, NULL);
    struct account *a = login(r, "demo", "demo", GW_OK);
    for (int i = 0; i < 500 && !account_watch_live(a); i++)
        usleep(20000);
    assert_true(account_watch_live(a));
    assert_true(account_baseline_coming(a));

    struct gw_error err = { 0 };
    struct listing_seen seen = { 0 };
    assert_int_equal(account_sync_if_stale(a, listing_sync, &seen, &err), 0);
    assert_int_equal(seen.calls, 1);
    assert_true(seen.listed);
    assert_true(seen.inbox_status);
    assert_int_equal(account_sync_if_stale(a, listing_sync, &seen, &err), 0);
    assert_int_equal(seen.calls, 1);    /* clean: no sync at all */

    struct sync_model model = { .lock = PTHREAD_MUTEX_INITIALIZER };
    assert_int_equal(account_sync(a, model_sync, &model, &err), 0);
    assert_int_equal(model.syncs, 1);
    account_unref(&a);
    account_registry_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_and_passwords),
        cmocka_unit_test(test_ids_stable_across_registries),
        cmocka_unit_test(test_ttl_and_eviction),
        cmocka_unit_test(test_concurrency_limit),
        cmocka_unit_test(test_sync_is_shared_and_fresh),
        cmocka_unit_test(test_sync_from_watcher_baseline),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
