/* test_upload_store.c - the upload store (include/upload_store.h): spool,
 * size limit while writing, commit and read per account, expiry by count,
 * bytes and age, leftovers removed on open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upload_store.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/jmapgw-upload-XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void put(struct upload_store *s, const char *account, const char *data, size_t len,
                struct upload_info *info)
{
    struct upload_spool *sp = NULL;
    struct gw_error err = { 0 };
    assert_int_equal(upload_spool_begin(s, &sp, &err), 0);
    /* in pieces, as HTTP delivers it */
    for (size_t i = 0; i < len; i += 3)
        assert_int_equal(upload_spool_write(sp, data + i, len - i < 3 ? len - i : 3, &err), 0);
    assert_int_equal(upload_spool_size(sp), len);
    assert_int_equal(upload_spool_commit(sp, account, "text/plain", info, &err), 0);
    upload_spool_abort(&sp);
    assert_null(sp);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct upload_store_limits l = { .max_size = 100, .max_count = 10, .max_bytes = 1000,
                                     .max_age_s = 3600 };
    struct upload_store *s = NULL;
    struct gw_error err = { 0 };
    assert_int_equal(upload_store_open(dir, &l, &s, &err), 0);
    struct upload_info info, got;
    put(s, "acct1", "hello\0world", 11, &info);
    assert_true(upload_blob_id_is(info.blob_id));
    assert_int_equal(info.size, 11);
    assert_string_equal(info.type, "text/plain");
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(upload_store_read(s, "acct1", info.blob_id, &data, &len, &got, &err), 0);
    assert_int_equal(len, 11);
    assert_memory_equal(data, "hello\0world", 11);
    assert_string_equal(got.type, "text/plain");
    free(data);
    /* another account does not see it; malformed ids are simply unknown */
    assert_int_equal(upload_store_read(s, "acct2", info.blob_id, &data, &len, NULL, &err), -1);
    assert_int_equal(err.code, GW_ERR_NOTFOUND);
    assert_int_equal(upload_store_read(s, "acct1", "U../../etc/passwd", &data, &len, NULL, &err), -1);
    assert_int_equal(upload_store_read(s, "../x", info.blob_id, &data, &len, NULL, &err), -1);
    assert_false(upload_blob_id_is("Bxyz"));

    /* over max_size: refused while writing, and abort leaves nothing */
    struct upload_spool *sp = NULL;
    char big[60] = { 0 };
    assert_int_equal(upload_spool_begin(s, &sp, &err), 0);
    assert_int_equal(upload_spool_write(sp, big, sizeof(big), &err), 0);
    assert_int_equal(upload_spool_write(sp, big, sizeof(big), &err), -1);
    assert_int_equal(err.code, GW_ERR_TOO_LARGE);
    upload_spool_abort(&sp);
    char tmp[128];
    snprintf(tmp, sizeof(tmp), "%s/tmp", dir);
    DIR *d = opendir(tmp);
    assert_non_null(d);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)) != NULL)
        files += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(files, 0);
    upload_store_free(&s);
    assert_null(s);
}

static void test_expiry(void **state)
{
    (void)state;
    struct upload_store_limits l = { .max_size = 100, .max_count = 3, .max_bytes = 25,
                                     .max_age_s = 60 };
    struct upload_store *s = NULL;
    struct gw_error err = { 0 };
    assert_int_equal(upload_store_open(dir, &l, &s, &err), 0);
    struct upload_info info[5];
    char *data = NULL;
    size_t len = 0;
    /* count: the oldest of four goes at the fourth commit (mtimes set
     * apart explicitly) */
    for (int i = 0; i < 4; i++) {
        put(s, "cnt", "12345", 5, &info[i]);
        char path[2048];
        int n = snprintf(path, sizeof(path), "%s/cnt/%s", dir, info[i].blob_id);
        assert_true(n > 0 && (size_t)n < sizeof(path));
        struct timespec t[2] = { { .tv_sec = time(NULL) - 40 + i }, { .tv_sec = time(NULL) - 40 + i } };
        assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
    }
    assert_int_equal(upload_store_expire(s, time(NULL)), 0);
    assert_int_equal(upload_store_read(s, "cnt", info[0].blob_id, &data, &len, NULL, &err), -1);
    for (int i = 1; i < 4; i++) {
        assert_int_equal(upload_store_read(s, "cnt", info[i].blob_id, &data, &len, NULL, &err), 0);
        free(data);
    }
    /* bytes: 10 + 10 + 10 > 25, the oldest goes at the next commit */
    put(s, "bytes", "0123456789", 10, &info[0]);
    sleep(1);
    put(s, "bytes", "0123456789", 10, &info[1]);
    sleep(1);
    put(s, "bytes", "0123456789", 10, &info[2]);
    assert_int_equal(upload_store_read(s, "bytes", info[0].blob_id, &data, &len, NULL, &err), -1);
    assert_int_equal(upload_store_read(s, "bytes", info[2].blob_id, &data, &len, NULL, &err), 0);
    free(data);
    /* age: everything older than a minute */
    assert_int_equal(upload_store_expire(s, time(NULL) + 61), 5);
    assert_int_equal(upload_store_read(s, "cnt", info[3].blob_id, &data, &len, NULL, &err), -1);
    char emptied[128];
    snprintf(emptied, sizeof(emptied), "%s/cnt", dir);
    assert_int_equal(access(emptied, F_OK), -1);
    put(s, "cnt", "again", 5, &info[4]);
    assert_int_equal(upload_store_read(s, "cnt", info[4].blob_id, &data, &len, NULL, &err), 0);
    free(data);
    upload_store_free(&s);

    /* a spool left behind by a crash is removed on open */
    char stale[128];
    snprintf(stale, sizeof(stale), "%s/tmp/Uleft", dir);
    FILE *f = fopen(stale, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(upload_store_open(dir, &l, &s, &err), 0);
    assert_int_equal(access(stale, F_OK), -1);
    upload_store_free(&s);
}

/* maxConcurrentUpload: open spools are counted per owner until committed
 * or aborted. */
static void test_concurrent_limit(void **state)
{
    (void)state;
    struct upload_store_limits l = { .max_size = 100, .max_count = 10, .max_bytes = 1000,
                                     .max_age_s = 3600 };
    struct upload_store *s = NULL;
    struct gw_error err = { 0 };
    struct upload_spool *a1 = NULL, *a2 = NULL, *a3 = NULL, *b1 = NULL;
    struct upload_info info;
    assert_int_equal(upload_store_open(dir, &l, &s, &err), 0);
    assert_int_equal(upload_spool_begin_for(s, "Basic alice", 2, &a1, &err), 0);
    assert_int_equal(upload_spool_begin_for(s, "Basic alice", 2, &a2, &err), 0);
    assert_int_equal(upload_spool_begin_for(s, "Basic alice", 2, &a3, &err), -1);
    assert_int_equal(err.code, GW_ERR_LIMIT);
    assert_null(a3);
    /* another owner is not held up by alice */
    assert_int_equal(upload_spool_begin_for(s, "Basic bob", 2, &b1, &err), 0);
    /* a committed spool is no longer arriving: its slot is free at once,
     * and letting it go later does not free a second one */
    assert_int_equal(upload_spool_write(a1, "x", 1, &err), 0);
    assert_int_equal(upload_spool_commit(a1, "acct", NULL, &info, &err), 0);
    assert_int_equal(upload_spool_begin_for(s, "Basic alice", 2, &a3, &err), 0);
    upload_spool_abort(&a1);
    struct upload_spool *a4 = NULL;
    assert_int_equal(upload_spool_begin_for(s, "Basic alice", 2, &a4, &err), -1);
    assert_null(a4);
    /* uncounted spools never hit the limit */
    struct upload_spool *u = NULL;
    assert_int_equal(upload_spool_begin(s, &u, &err), 0);
    upload_spool_abort(&u);
    upload_spool_abort(&a2);
    upload_spool_abort(&a3);
    upload_spool_abort(&b1);
    upload_store_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_limit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
