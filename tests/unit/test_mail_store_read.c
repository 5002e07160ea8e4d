/* test_mail_store_read.c - the mail cache's read path on rows written
 * straight into the database (no IMAP): one mail_store_get_emails call
 * answering many ids in the order asked, with unknown, duplicate,
 * destroyed and malformed ids; every field of a decoded row (keywords and
 * mailboxIds sorted, null preview, the header block only when asked);
 * a list of a mailbox; states and the mailbox list asked twice; and the
 * read cache never older than the data: a write on the store's own
 * connection (what a sync does) is seen at once, and what a transaction
 * wrote is never kept once it is rolled back, also with readers racing a
 * writer thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "../../backends/mailstore/mail_store_db.h"
#include "../../backends/mailstore/mail_store_read.h"
#include "mail_store.h"
#include "store.h"
#include "store_fixture.h"

#define N_MANY 300

struct fx {
    struct store_fixture *db;
    struct store *st;
    struct mail_store *ms;
};

static const char rows_sql[] =
    "INSERT INTO mailboxes(account_id, mailbox_id, name_raw, name_utf8, uidvalidity,"
    " created_modseq, updated_modseq) VALUES ('a1','Mbbb','Bbb','Bbb',7,1,1),"
    " ('a1','Maaa','INBOX','INBOX',7,1,1);"
    "INSERT INTO emails(account_id, email_id, thread_id, size, received_at, sent_utc, subject,"
    " from_sort, to_sort, cc_sort, has_attachment, preview, keywords, headers, created_modseq,"
    " updated_modseq, destroyed_modseq) VALUES"
    " ('a1','Ea','Ta',1234,2000,1999,'Sa','fa','ta','ca',1,'pa',' zeta $seen alpha ',"
    "  CAST('From: a' || char(13,10) AS BLOB),1,1,NULL),"
    " ('a1','Eb','Tb',10,3000,0,NULL,'','','',0,NULL,'',NULL,1,1,NULL),"
    " ('a1','Ec','Tc',10,4000,0,'Sc','','','',0,NULL,' ',NULL,1,5,5);"
    "INSERT INTO email_locations(account_id, email_id, mailbox_id, uidvalidity, uid) VALUES"
    " ('a1','Ea','Mbbb',7,1), ('a1','Ea','Maaa',7,1), ('a1','Eb','Maaa',7,2);"
    /* N_MANY more, E0000.. in Mbbb, newest last. */
    "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 299)"
    " INSERT INTO emails(account_id, email_id, thread_id, received_at, keywords, created_modseq,"
    " updated_modseq) SELECT 'a1', printf('E%04d', i), 'Tm', 100 + i, ' $seen ', 1, 1 FROM n;"
    "INSERT INTO email_locations(account_id, email_id, mailbox_id, uidvalidity, uid)"
    " SELECT 'a1', email_id, 'Mbbb', 7, 10 + received_at FROM emails WHERE thread_id = 'Tm';"
    "UPDATE accounts SET modseq = 5, mailbox_state = 1, email_state = 5, thread_state = 4;";

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct gw_error err = { 0 };
    assert_non_null(f);
    f->db = store_fixture_new("msread");
    assert_int_equal(store_open(f->db->path, &f->st, &err), 0);
    assert_int_equal(store_account_ensure(f->st, "a1", "test", &err), 0);
    store_close(&f->st);
    assert_int_equal(store_fixture_exec(f->db->path, rows_sql, true), SQLITE_OK);
    assert_int_equal(store_open(f->db->path, &f->st, &err), 0);
    assert_int_equal(mail_store_open(f->st, &f->ms, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    mail_store_close(&f->ms);
    store_close(&f->st);
    store_fixture_free(f->db);
    free(f);
    return 0;
}

static struct mail_store_email_list *get(struct fx *f, const char *const *ids, size_t n,
                                         unsigned fields)
{
    struct mail_store_email_list *l = NULL;
    struct gw_error err = { 0 };
    if (mail_store_get_emails(f->ms, "a1", ids, n, fields, &l, &err) != 0)
        fail_msg("get: %s", err.msg);
    assert_non_null(l);
    return l;
}

static void expect_ea(const struct mail_store_email *e, bool with_headers)
{
    assert_string_equal(e->id, "Ea");
    assert_string_equal(e->thread_id, "Ta");
    assert_int_equal(e->size, 1234);
    assert_int_equal(e->received_at, 2000);
    assert_int_equal(e->sent_at, 1999);
    assert_string_equal(e->subject, "Sa");
    assert_string_equal(e->from_sort, "fa");
    assert_string_equal(e->to_sort, "ta");
    assert_string_equal(e->cc_sort, "ca");
    assert_true(e->has_attachment);
    assert_string_equal(e->preview, "pa");
    assert_int_equal(e->n_keywords, 3);
    assert_string_equal(e->keywords[0], "$seen");
    assert_string_equal(e->keywords[1], "alpha");
    assert_string_equal(e->keywords[2], "zeta");
    assert_int_equal(e->n_mailbox_ids, 2);
    assert_string_equal(e->mailbox_ids[0], "Maaa");
    assert_string_equal(e->mailbox_ids[1], "Mbbb");
    if (with_headers) {
        assert_int_equal(e->headers_len, 9);
        assert_memory_equal(e->headers, "From: a\r\n", 9);
        assert_int_equal(e->headers[9], '\0');
    } else {
        assert_null(e->headers);
        assert_int_equal(e->headers_len, 0);
    }
}

static void expect_eb(const struct mail_store_email *e)
{
    assert_string_equal(e->id, "Eb");
    assert_string_equal(e->subject, "");
    assert_null(e->preview);
    assert_false(e->has_attachment);
    assert_int_equal(e->n_keywords, 0);
    assert_int_equal(e->n_mailbox_ids, 1);
    assert_string_equal(e->mailbox_ids[0], "Maaa");
}

/* Unknown, destroyed, malformed and repeated ids in one call: the found
 * ones in the order asked, a repeated id answered each time. */
static void test_get_mixed_ids(void **state)
{
    struct fx *f = *state;
    const char *ids[] = { "Eb", "Enope", "Ea", "Eb", "E\"q", "", "E\\", "Eaaaaaaaaaaaaaaaaaaaaaaaaa",
                          "Ec", "E\x01", "Ea" };
    for (int pass = 0; pass < 2; pass++) {   /* the second from any cache */
        unsigned fields = pass == 0 ? MAIL_STORE_WITH_HEADERS : 0;
        struct mail_store_email_list *l = get(f, ids, sizeof(ids) / sizeof(ids[0]), fields);
        assert_int_equal(l->n, 4);
        expect_eb(&l->v[0]);
        expect_ea(&l->v[1], fields != 0);
        expect_eb(&l->v[2]);
        expect_ea(&l->v[3], fields != 0);
        mail_store_email_list_free(&l);
        assert_null(l);
    }
    struct mail_store_email_list *l = get(f, ids, 0, 0);
    assert_int_equal(l->n, 0);
    mail_store_email_list_free(&l);
}

/* More ids than a page, every other one unknown. */
static void test_get_many(void **state)
{
    struct fx *f = *state;
    static char names[2 * N_MANY][8];
    const char *ids[2 * N_MANY];
    for (size_t i = 0; i < 2 * N_MANY; i++) {
        /* Asked newest first, unknown ids between. */
        size_t k = N_MANY - 1 - i / 2;
        assert_true(snprintf(names[i], sizeof(names[i]), "%c%04zu", i % 2 ? 'X' : 'E', k) <
                    (int)sizeof(names[i]));
        ids[i] = names[i];
    }
    struct mail_store_email_list *l = get(f, ids, 2 * N_MANY, 0);
    assert_int_equal(l->n, N_MANY);
    for (size_t i = 0; i < N_MANY; i++) {
        assert_string_equal(l->v[i].id, names[2 * i]);
        assert_int_equal(l->v[i].received_at, 100 + (N_MANY - 1 - (int64_t)i));
        assert_int_equal(l->v[i].n_keywords, 1);
        assert_string_equal(l->v[i].keywords[0], "$seen");
        assert_string_equal(l->v[i].mailbox_ids[0], "Mbbb");
    }
    mail_store_email_list_free(&l);
}

static void test_list_mailbox(void **state)
{
    struct fx *f = *state;
    struct mail_store_email_list *l = NULL;
    struct gw_error err = { 0 };
    assert_int_equal(mail_store_list_emails(f->ms, "a1", "Maaa", 0, &l, &err), 0);
    assert_int_equal(l->n, 2);
    expect_eb(&l->v[0]);   /* newest first */
    expect_ea(&l->v[1], false);
    mail_store_email_list_free(&l);
    assert_int_equal(mail_store_list_emails(f->ms, "a1", NULL, 0, &l, &err), 0);
    assert_int_equal(l->n, N_MANY + 2);
    mail_store_email_list_free(&l);
}

static void test_states_and_mailboxes(void **state)
{
    struct fx *f = *state;
    struct gw_error err = { 0 };
    static const char *const want[] = { "1", "5", "4" };
    for (int pass = 0; pass < 2; pass++) {
        for (int t = MAIL_STORE_MAILBOX; t <= MAIL_STORE_THREAD; t++) {
            char s[MAIL_STORE_STATE_MAX];
            assert_int_equal(mail_store_state(f->ms, "a1", (enum mail_store_type)t, s, &err), 0);
            assert_string_equal(s, want[t]);
        }
        char s[MAIL_STORE_STATE_MAX];
        assert_int_equal(mail_store_state(f->ms, "nobody", MAIL_STORE_EMAIL, s, &err), -1);
        assert_int_equal(err.code, GW_ERR_NOTFOUND);
        struct mail_store_mailbox_list *ml = NULL;
        assert_int_equal(mail_store_list_mailboxes(f->ms, "a1", &ml, &err), 0);
        assert_int_equal(ml->n, 2);
        assert_string_equal(ml->v[0].id, "Mbbb");   /* by name: "Bbb" < "INBOX" */
        assert_string_equal(ml->v[1].name, "INBOX");
        assert_string_equal(ml->v[1].name_raw, "INBOX");
        assert_null(ml->v[1].parent_id);
        mail_store_mailbox_list_free(&ml);
        assert_int_equal(mail_store_list_mailboxes(f->ms, "nobody", &ml, &err), 0);
        assert_int_equal(ml->n, 0);
        mail_store_mailbox_list_free(&ml);
    }
}

/* SQL on the store's own connection, as the sync runs it. */
static void own_exec(struct fx *f, const char *sql)
{
    pthread_mutex_lock(store_db_lock(f->st));
    int rc = sqlite3_exec(store_db_handle(f->st), sql, NULL, NULL, NULL);
    pthread_mutex_unlock(store_db_lock(f->st));
    assert_int_equal(rc, SQLITE_OK);
}

static void expect_state(struct fx *f, enum mail_store_type t, const char *want)
{
    struct gw_error err = { 0 };
    char s[MAIL_STORE_STATE_MAX];
    assert_int_equal(mail_store_state(f->ms, "a1", t, s, &err), 0);
    assert_string_equal(s, want);
}

static void expect_mailbox_name(struct fx *f, size_t i, const char *want)
{
    struct mail_store_mailbox_list *ml = NULL;
    struct gw_error err = { 0 };
    assert_int_equal(mail_store_list_mailboxes(f->ms, "a1", &ml, &err), 0);
    assert_true(ml->n > i);
    assert_string_equal(ml->v[i].name, want);
    mail_store_mailbox_list_free(&ml);
}

/* Ea's keywords and mailboxes after a read that filled the cache. */
static void expect_ea_now(struct fx *f, size_t n_kw, const char *kw0, size_t n_box)
{
    const char *ids[] = { "Ea" };
    struct mail_store_email_list *l = get(f, ids, 1, 0);
    assert_int_equal(l->n, 1);
    assert_int_equal(l->v[0].n_keywords, n_kw);
    if (n_kw > 0)
        assert_string_equal(l->v[0].keywords[0], kw0);
    assert_int_equal(l->v[0].n_mailbox_ids, n_box);
    mail_store_email_list_free(&l);
}

static void test_cache_follows_writes(void **state)
{
    struct fx *f = *state;
    /* Fill every cache. */
    expect_ea_now(f, 3, "$seen", 2);
    expect_state(f, MAIL_STORE_EMAIL, "5");
    expect_mailbox_name(f, 1, "INBOX");

    /* Committed writes: seen by the next read. */
    own_exec(f, "UPDATE emails SET keywords = ' $flagged ' WHERE email_id = 'Ea';"
                "UPDATE accounts SET modseq = 6, email_state = 6;");
    expect_ea_now(f, 1, "$flagged", 2);
    expect_state(f, MAIL_STORE_EMAIL, "6");
    own_exec(f, "DELETE FROM email_locations WHERE email_id = 'Ea' AND mailbox_id = 'Mbbb'");
    expect_ea_now(f, 1, "$flagged", 1);
    own_exec(f, "UPDATE mailboxes SET name_utf8 = 'Zzz' WHERE mailbox_id = 'Mbbb'");
    expect_mailbox_name(f, 1, "Zzz");
    own_exec(f, "UPDATE emails SET destroyed_modseq = 7 WHERE email_id = 'Ea'");
    const char *ids[] = { "Ea", "Eb" };
    struct mail_store_email_list *l = get(f, ids, 2, 0);
    assert_int_equal(l->n, 1);
    assert_string_equal(l->v[0].id, "Eb");
    mail_store_email_list_free(&l);
    own_exec(f, "UPDATE emails SET destroyed_modseq = NULL WHERE email_id = 'Ea'");

    /* An open write transaction is not seen (readers see commits), and
     * what it wrote is never kept: after the rollback the old values,
     * after a commit the new ones. */
    expect_ea_now(f, 1, "$flagged", 1);
    own_exec(f, "BEGIN;"
                "UPDATE emails SET keywords = '' WHERE email_id = 'Ea';"
                "UPDATE accounts SET email_state = 9;"
                "UPDATE mailboxes SET name_utf8 = 'Aaa' WHERE mailbox_id = 'Mbbb';");
    expect_ea_now(f, 1, "$flagged", 1);
    expect_state(f, MAIL_STORE_EMAIL, "6");
    expect_mailbox_name(f, 1, "Zzz");
    own_exec(f, "ROLLBACK");
    expect_ea_now(f, 1, "$flagged", 1);
    expect_state(f, MAIL_STORE_EMAIL, "6");
    expect_mailbox_name(f, 1, "Zzz");
    own_exec(f, "BEGIN;"
                "UPDATE emails SET keywords = '' WHERE email_id = 'Ea';"
                "UPDATE accounts SET email_state = 9;"
                "UPDATE mailboxes SET name_utf8 = 'Aaa' WHERE mailbox_id = 'Mbbb';"
                "COMMIT;");
    expect_ea_now(f, 0, NULL, 1);
    expect_state(f, MAIL_STORE_EMAIL, "9");
    expect_mailbox_name(f, 0, "Aaa");   /* now first by name */
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

#define HOLD_MS 3000

struct holder {
    struct fx *f;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool holding;
};

/* What a backfill batch does: the store lock and a write transaction
 * held for a long while, then undone. */
static void *hold_writer(void *arg)
{
    struct holder *h = arg;
    pthread_mutex_t *store = store_db_lock(h->f->st);
    sqlite3 *db = store_db_handle(h->f->st);
    pthread_mutex_lock(store);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE;"
                                      "UPDATE emails SET keywords = '' WHERE email_id = 'Ea';",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    pthread_mutex_lock(&h->lock);
    h->holding = true;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    struct timespec pause = { HOLD_MS / 1000, (HOLD_MS % 1000) * 1000000L };
    nanosleep(&pause, NULL);
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    pthread_mutex_unlock(store);
    return NULL;
}

/* Reads one at a time get the same reader connection (its statements
 * prepared, its pages cached); one held meanwhile sends the next to
 * another. */
static void test_sequential_reads_share_a_reader(void **state)
{
    struct fx *f = *state;
    struct mail_store *a = mail_read_acquire(f->ms);
    assert_ptr_not_equal(a, f->ms);     /* a file store has readers */
    mail_read_release(f->ms, a);
    for (int i = 0; i < 8; i++) {
        struct mail_store *b = mail_read_acquire(f->ms);
        assert_ptr_equal(b, a);
        struct mail_store *c = mail_read_acquire(f->ms);
        assert_ptr_not_equal(c, b);
        mail_read_release(f->ms, c);
        mail_read_release(f->ms, b);
    }
}

static size_t prepared(const struct mail_store *c)
{
    size_t n = 0;
    while (n < MAIL_STORE_STMT_SLOTS && c->cache[n].sql != NULL)
        n++;
    return n;
}

/* The writer prepares every MAIL_STORE_SQL statement when the store
 * opens, a reader each one that writes nothing: reads then prepare none. */
static void test_statements_prepared_at_open(void **state)
{
    struct fx *f = *state;
    size_t all = (size_t)(__stop_mail_store_sql - __start_mail_store_sql);
    assert_true(all > 20);
    assert_int_equal(prepared(f->ms), all);
    for (size_t i = 0; i < all; i++)
        assert_ptr_equal(f->ms->cache[i].sql, __start_mail_store_sql[i]);

    struct mail_store *rv = mail_read_acquire(f->ms);
    size_t reads = prepared(rv);
    for (size_t i = 0; i < reads; i++)
        assert_true(sqlite3_stmt_readonly(rv->cache[i].st));
    assert_true(reads > 5 && reads < all);
    mail_read_release(f->ms, rv);

    const char *ids[] = { "Ea", "Eb" };
    struct mail_store_email_list *l = get(f, ids, 2, MAIL_STORE_WITH_HEADERS);
    mail_store_email_list_free(&l);
    struct gw_error err = { 0 };
    assert_int_equal(mail_store_list_emails(f->ms, "a1", "Maaa", 0, &l, &err), 0);
    mail_store_email_list_free(&l);
    char st[MAIL_STORE_STATE_MAX];
    assert_int_equal(mail_store_state(f->ms, "a1", MAIL_STORE_EMAIL, st, &err), 0);
    rv = mail_read_acquire(f->ms);
    assert_int_equal(prepared(rv), reads);
    mail_read_release(f->ms, rv);
}

/* Every read of the read path answers while the writer holds the store:
 * none waits for it. */
static void test_reads_do_not_wait_for_writer(void **state)
{
    struct fx *f = *state;
    struct holder h = { .f = f, .lock = PTHREAD_MUTEX_INITIALIZER,
                        .cond = PTHREAD_COND_INITIALIZER };
    struct gw_error err = { 0 };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, hold_writer, &h), 0);
    pthread_mutex_lock(&h.lock);
    while (!h.holding)
        pthread_cond_wait(&h.cond, &h.lock);
    pthread_mutex_unlock(&h.lock);
    double start = now_ms();

    expect_state(f, MAIL_STORE_THREAD, "4");
    expect_mailbox_name(f, 1, "INBOX");
    const char *ids[] = { "Ea", "Eb" };
    struct mail_store_email_list *l = get(f, ids, 2, MAIL_STORE_WITH_HEADERS);
    assert_int_equal(l->n, 2);
    expect_ea(&l->v[0], true);      /* the committed row, not the open write */
    mail_store_email_list_free(&l);
    assert_int_equal(mail_store_list_emails(f->ms, "a1", "Maaa", 0, &l, &err), 0);
    assert_int_equal(l->n, 2);
    mail_store_email_list_free(&l);
    const char *tids[] = { "Ta", "Tm" };
    struct mail_store_thread_list *tl = NULL;
    assert_int_equal(mail_store_get_threads(f->ms, "a1", tids, 2, &tl, &err), 0);
    assert_int_equal(tl->n, 2);
    assert_int_equal(tl->v[1].n_email_ids, N_MANY);
    mail_store_thread_list_free(&tl);
    char *name_raw = NULL;
    uint32_t uv = 0, uid = 0;
    assert_int_equal(mail_store_email_locate(f->ms, "a1", "Eb", &name_raw, &uv, &uid, &err), 0);
    assert_string_equal(name_raw, "INBOX");
    assert_int_equal(uid, 2);
    free(name_raw);
    char found[2][MAIL_STORE_ID_MAX];
    const uint32_t uids[] = { 2, 99 };
    assert_int_equal(mail_store_emails_by_uid(f->ms, "a1", "Maaa", uids, 2, found, &err), 0);
    assert_string_equal(found[0], "Eb");
    assert_string_equal(found[1], "");

    double took = now_ms() - start;
    assert_int_equal(pthread_join(t, NULL), 0);
    if (took > HOLD_MS / 2)
        fail_msg("reads waited %.0f ms for the writer", took);
}

#define RACE_WRITES 300

/* Ea's keyword "k<N>" becomes k1, k2, ... with the email state following
 * it in the same locked step. */
static void *race_writer(void *arg)
{
    struct fx *f = arg;
    for (int k = 1; k <= RACE_WRITES; k++) {
        char sql[256];
        assert_true(snprintf(sql, sizeof(sql),
                             "UPDATE emails SET keywords = ' k%d ' WHERE email_id = 'Ea';"
                             "UPDATE accounts SET email_state = %d;", k, 100 + k) <
                    (int)sizeof(sql));
        own_exec(f, sql);
    }
    return NULL;
}

/* A reader never sees an Email older than a state it read before, and
 * never goes back in time. */
static void *race_reader(void *arg)
{
    struct fx *f = arg;
    const char *ids[] = { "Ea" };
    long last_state = 0, last_k = 0;
    for (int bounded = 0; bounded < 100000 && last_k < RACE_WRITES; bounded++) {
        struct gw_error err = { 0 };
        char st[MAIL_STORE_STATE_MAX];
        struct mail_store_email_list *l = NULL;
        assert_int_equal(mail_store_state(f->ms, "a1", MAIL_STORE_EMAIL, st, &err), 0);
        assert_int_equal(mail_store_get_emails(f->ms, "a1", ids, 1, 0, &l, &err), 0);
        assert_int_equal(l->n, 1);
        long state = strtol(st, NULL, 10), k = 0;
        if (l->v[0].n_keywords == 1 && l->v[0].keywords[0][0] == 'k')
            k = strtol(l->v[0].keywords[0] + 1, NULL, 10);
        mail_store_email_list_free(&l);
        assert_true(state >= last_state);
        assert_true(k >= last_k);
        if (state > 100)
            assert_true(k >= state - 100);
        last_state = state;
        last_k = k;
    }
    assert_int_equal(last_k, RACE_WRITES);
    return NULL;
}

static void test_cache_races_writer(void **state)
{
    struct fx *f = *state;
    pthread_t w, r[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&r[i], NULL, race_reader, f), 0);
    assert_int_equal(pthread_create(&w, NULL, race_writer, f), 0);
    assert_int_equal(pthread_join(w, NULL), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(r[i], NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_mixed_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_mailbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_states_and_mailboxes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_follows_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_races_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_do_not_wait_for_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequential_reads_share_a_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statements_prepared_at_open, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
