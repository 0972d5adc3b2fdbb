/*
 * The schema migrations: applied in order, idempotent, newer refused.
 */
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

#include "log.h"
#include "pdsd.h"

static int
user_version(sqlite3 *db)
{
	sqlite3_stmt	*st;
	int		 v = -1;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1,
	    &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
test_migrations_numbered(void **state)
{
	size_t	 i;

	assert_true(nmigrations >= 1);
	for (i = 0; i < nmigrations; i++) {
		assert_int_equal(migrations[i].version, (int)i + 1);
		assert_non_null(strstr(migrations[i].name, ".sql"));
		assert_true(strlen(migrations[i].sql) > 0);
	}
}

static void
test_migrate_fresh(void **state)
{
	sqlite3	*db;
	char	 err[256];

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(db_migrate(db, err, sizeof(err)), 0);
	assert_int_equal(user_version(db), (int)nmigrations);
	assert_int_equal(db_count(db, "account"), 0);
	/* Twice: nothing to do, nothing fails. */
	assert_int_equal(db_migrate(db, err, sizeof(err)), 0);
	assert_int_equal(user_version(db), (int)nmigrations);
	assert_int_equal(db_ping(db), 0);
	sqlite3_close(db);
}

static void
test_migrate_newer_refused(void **state)
{
	sqlite3	*db;
	char	 err[256];

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 1000",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(db_migrate(db, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "newer"));
	sqlite3_close(db);
}

static void
test_open_file_wal(void **state)
{
	char	 dir[] = "/tmp/pdsd-dbtest.XXXXXX", path[256], err[256];
	sqlite3	*db;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/pdsd.db", dir);
	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	assert_true(db_size(path) > 0);
	db_close(db);
	/* Reopen: the migrations are not applied twice. */
	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(user_version(db), (int)nmigrations);
	db_close(db);
	unlink(path);
	snprintf(path, sizeof(path), "%s/pdsd.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/pdsd.db-shm", dir);
	unlink(path);
	rmdir(dir);
	assert_int_equal(db_size("/nonexistent/pdsd.db"), -1);
}

static void
test_open_unwritable(void **state)
{
	char	 err[256];

	assert_null(db_open("/nonexistent/dir/pdsd.db", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/dir/pdsd.db"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrations_numbered),
		cmocka_unit_test(test_migrate_fresh),
		cmocka_unit_test(test_migrate_newer_refused),
		cmocka_unit_test(test_open_file_wal),
		cmocka_unit_test(test_open_unwritable),
	};

	log_init(1, 0, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
