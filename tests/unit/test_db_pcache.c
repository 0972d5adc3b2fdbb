/*
 * The page cache layer (db_pcache.c): with page splits swapping pages
 * through the spare number, a rollback that grew the file and a cache
 * too small for the table, and another connection's writes, every row
 * reads back as written and the file stays sound, on either connection.
 */
#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "pdsd.h"

static void
exec(sqlite3 *db, const char *sql)
{
	char	*err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

static long long
one(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*st;
	long long	 v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
check_ok(sqlite3 *db)
{
	sqlite3_stmt	*st;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1,
	    &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
}

/* n rows of random keys (every insert lands on a random leaf). */
static void
fill(sqlite3 *db, int n, int tag)
{
	sqlite3_stmt	*st;
	int		 i;

	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO t (k, tag, v) "
	    "VALUES (randomblob(36), ?1, zeroblob(150 + abs(random() % 200)))",
	    -1, &st, NULL), SQLITE_OK);
	for (i = 0; i < n; i++) {
		sqlite3_bind_int(st, 1, tag);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
}

static void
test_splits_and_rollback(void **state)
{
	char		 dir[] = "/tmp/test_db_pcache.XXXXXX", path[64];
	char		 err[256];
	sqlite3		*db, *other;
	long long	 bytes, pages;
	int		 round;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.db", dir);
	assert_non_null(db = db_open(path, err, sizeof(err)));
	/* 64 pages: the table outgrows it, pages are evicted and reused. */
	exec(db, "PRAGMA cache_size = 64; CREATE TABLE t (k BLOB PRIMARY KEY, "
	    "tag INTEGER, v BLOB) WITHOUT ROWID");
	for (round = 0; round < 8; round++) {
		exec(db, "BEGIN");
		fill(db, 400, round);
		exec(db, "COMMIT");
	}
	bytes = one(db, "SELECT sum(length(v)) FROM t");
	pages = one(db, "PRAGMA page_count");
	assert_true(pages > 64);

	/* A transaction that grows the file, then rolls back. */
	exec(db, "BEGIN");
	fill(db, 3000, 100);
	assert_true(one(db, "PRAGMA page_count") > pages);
	exec(db, "ROLLBACK");
	assert_int_equal(one(db, "SELECT count(*) FROM t"), 3200);
	assert_int_equal(one(db, "SELECT count(*) FROM t WHERE tag = 100"), 0);
	assert_int_equal(one(db, "SELECT sum(length(v)) FROM t"), bytes);
	assert_int_equal(one(db, "PRAGMA page_count"), pages);

	/* The pages past the old end are made again, from nothing. */
	exec(db, "BEGIN");
	fill(db, 800, 200);
	exec(db, "COMMIT");
	exec(db, "BEGIN; DELETE FROM t WHERE tag % 2 = 1; COMMIT");
	assert_int_equal(one(db, "SELECT count(*) FROM t"), 2400);
	assert_int_equal(one(db, "SELECT count(*) FROM t WHERE tag = 200"),
	    800);
	check_ok(db);

	assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
	assert_int_equal(one(other, "SELECT count(*) FROM t"), 2400);
	assert_int_equal(one(other, "SELECT sum(length(v)) FROM t"),
	    one(db, "SELECT sum(length(v)) FROM t"));
	check_ok(other);
	/* Changed elsewhere: the first connection drops what it held. */
	exec(other, "BEGIN; DELETE FROM t WHERE tag = 200; COMMIT");
	fill(other, 500, 300);
	assert_int_equal(one(db, "SELECT count(*) FROM t"), 2100);
	assert_int_equal(one(db, "SELECT count(*) FROM t WHERE tag = 300"),
	    500);
	check_ok(db);
	sqlite3_close(other);
	db_close(db);

	snprintf(err, sizeof(err), "rm -rf %s", dir);
	assert_int_equal(system(err), 0);
}

/*
 * SQLite keeps no memory statistics (each allocation would take a
 * global mutex to count itself): after real work they still read 0.
 */
static void
test_no_memstatus(void **state)
{
	sqlite3	*db;

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x); INSERT INTO t "
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
	    "WHERE i < 100) SELECT zeroblob(1000) FROM n", NULL, NULL,
	    NULL), SQLITE_OK);
	assert_true(sqlite3_memory_used() == 0);
	assert_true(sqlite3_memory_highwater(0) == 0);
	sqlite3_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_splits_and_rollback),
		cmocka_unit_test(test_no_memstatus),
	};

	/* Before SQLite initializes, as pdsd's first db_open does. */
	db_pcache_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
