/* store_fixture.h - a temporary directory holding one SQLite database
 * file, for the store's unit tests (header-only: every tests/unit/test_*.c
 * is its own program), and raw access to that file outside the store. */
#ifndef TESTS_STORE_FIXTURE_H
#define TESTS_STORE_FIXTURE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sqlite3.h>

struct store_fixture {
    char dir[64];
    char path[128];     /* <dir>/gateway.db, not created */
};

/* A new fixture in /tmp/jmapgw-<tag>-XXXXXX (tag short). */
static inline struct store_fixture *store_fixture_new(const char *tag)
{
    struct store_fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_true(snprintf(f->dir, sizeof(f->dir), "/tmp/jmapgw-%s-XXXXXX", tag) <
                (int)sizeof(f->dir));
    assert_non_null(mkdtemp(f->dir));
    assert_true(snprintf(f->path, sizeof(f->path), "%s/gateway.db", f->dir) < (int)sizeof(f->path));
    return f;
}

/* Removes the database (with its WAL files) and the directory; frees f. */
static inline void store_fixture_free(struct store_fixture *f)
{
    static const char *const suffixes[] = { "", "-wal", "-shm" };
    for (size_t i = 0; i < 3; i++) {
        char p[160];
        snprintf(p, sizeof(p), "%s%s", f->path, suffixes[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
}

/* Runs sql on the raw file, outside the store; the SQLite result code. */
static inline int store_fixture_exec(const char *path, const char *sql, bool foreign_keys)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    int rc = foreign_keys ? sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL)
                          : SQLITE_OK;
    assert_int_equal(rc, SQLITE_OK);
    rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

/* The single integer a query on the raw file answers. */
static inline long long store_fixture_query_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

#endif
