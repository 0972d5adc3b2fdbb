/*
 * The schema migrations: applied in order, idempotent, newer refused.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "appview.h"
#include "dm.h"
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

static off_t
file_size(const char *path)
{
	struct stat	 sb;

	return stat(path, &sb) == -1 ? -1 : sb.st_size;
}

static void
exec_ok(sqlite3 *db, const char *sql)
{
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
}

/*
 * The loop's connection never checkpoints, and the thread keeps the
 * WAL bounded anyway: 160 MB written in small transactions (about 320
 * MB of WAL pages), and the WAL stays under its size limit
 * (checkpoint.c's CKPT_SIZE_LIMIT, 128 MiB) once a checkpoint has
 * caught up.
 */
static void
test_checkpointer(void **state)
{
	char		 dir[] = "/tmp/pdsd-dbtest.XXXXXX", path[256], wal[300];
	char		 err[256];
	sqlite3		*db;
	sqlite3_stmt	*st;
	int		 i, ok = 0;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/pdsd.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_non_null(db = db_open(path, err, sizeof(err)));
	assert_int_equal(db_checkpointer_start(db, path, err, sizeof(err)),
	    0);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA wal_autocheckpoint",
	    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
	exec_ok(db, "CREATE TABLE t (x BLOB)");
	for (i = 0; i < 40000; i++)
		exec_ok(db, "INSERT INTO t VALUES (randomblob(4000))");
	/* Bounded: 20 s for the thread to catch up on a busy machine. */
	for (i = 0; i < 400 && !ok; i++) {
		exec_ok(db, "INSERT INTO t VALUES (1)");
		ok = file_size(wal) <= 128 * 1024 * 1024;
		if (!ok)
			usleep(50000);
	}
	assert_true(ok);
	assert_int_equal(db_count(db, "t"), 40000 + i);
	db_checkpointer_stop();
	db_close(db);
	/* The last close checkpointed and removed the WAL. */
	assert_int_equal(file_size(wal), -1);
	unlink(path);
	rmdir(dir);
}

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The busy handler tries again every millisecond (never SQLite's own
 * sleeps of up to 100 ms, long after a lock is free) and gives up
 * after as many tries as milliseconds asked for.
 */
static void
test_busy_wait(void **state)
{
	char		 dir[] = "/tmp/pdsd-dbtest.XXXXXX", path[256];
	char		 err[256];
	sqlite3		*a, *b;
	int64_t		 t0, dt;
	int		 n;

	/* Each try sleeps about 1 ms, never 100. */
	t0 = now_ms();
	for (n = 0; n < 20; n++)
		assert_int_equal(db_busy_handler((void *)(intptr_t)20, n), 1);
	dt = now_ms() - t0;
	assert_true(dt >= 20);
	assert_true(dt < 1000);
	assert_int_equal(db_busy_handler((void *)(intptr_t)20, 20), 0);

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/pdsd.db", dir);
	assert_non_null(a = db_open(path, err, sizeof(err)));
	assert_non_null(b = db_open(path, err, sizeof(err)));
	exec_ok(a, "CREATE TABLE t (x)");
	exec_ok(a, "BEGIN IMMEDIATE");
	db_busy_wait(b, 50);
	t0 = now_ms();
	assert_int_equal(sqlite3_exec(b, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL), SQLITE_BUSY);
	dt = now_ms() - t0;
	assert_true(dt >= 50);
	assert_true(dt < 2000);
	exec_ok(a, "COMMIT");
	exec_ok(b, "BEGIN IMMEDIATE");
	exec_ok(b, "INSERT INTO t VALUES (1)");
	exec_ok(b, "COMMIT");
	db_close(b);
	db_close(a);
	unlink(path);
	rmdir(dir);
}

static int64_t
int_of(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*st;
	int64_t		 n = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* An in-memory database with the first n migrations, as pdsd left it. */
static sqlite3 *
db_at_version(size_t n)
{
	sqlite3	*db;
	char	 sql[64];
	size_t	 i;

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	for (i = 0; i < n; i++)
		exec_ok(db, migrations[i].sql);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %zu", n);
	exec_ok(db, sql);
	return db;
}

/*
 * 0012 on a database of 0011 with records: each record block gets the
 * number of records of its repository pointing at it, nodes 0, and
 * record_cid goes.
 */
static void
test_migrate_block_refs(void **state)
{
	sqlite3	*db;
	char	 err[256];

	db = db_at_version(11);
	exec_ok(db, "INSERT INTO repo_block (did, cid, rev, data) VALUES "
	    "('did:a', 'bshared', 'r1', x'01'), "
	    "('did:a', 'bone', 'r1', x'02'), "
	    "('did:a', 'bnode', 'r1', x'03'), "
	    "('did:a', 'bcommit', 'r1', x'04'), "
	    "('did:b', 'bshared', 'r2', x'01'), "
	    "('did:b', 'bnode', 'r2', x'03');"
	    "INSERT INTO record (did, collection, rkey, cid, rev, indexed_at) "
	    "VALUES ('did:a', 'c.x', '1', 'bshared', 'r1', 't'), "
	    "('did:a', 'c.x', '2', 'bshared', 'r1', 't'), "
	    "('did:a', 'c.y', '1', 'bshared', 'r1', 't'), "
	    "('did:a', 'c.x', '3', 'bone', 'r1', 't'), "
	    "('did:b', 'c.x', '1', 'bshared', 'r2', 't')");
	assert_int_equal(db_migrate(db, err, sizeof(err)), 0);
	assert_int_equal(user_version(db), (int)nmigrations);
	assert_int_equal(int_of(db, "SELECT refs FROM repo_block WHERE "
	    "did = 'did:a' AND cid = 'bshared'"), 3);
	assert_int_equal(int_of(db, "SELECT refs FROM repo_block WHERE "
	    "did = 'did:a' AND cid = 'bone'"), 1);
	assert_int_equal(int_of(db, "SELECT refs FROM repo_block WHERE "
	    "did = 'did:a' AND cid = 'bnode'"), 0);
	assert_int_equal(int_of(db, "SELECT refs FROM repo_block WHERE "
	    "did = 'did:a' AND cid = 'bcommit'"), 0);
	assert_int_equal(int_of(db, "SELECT refs FROM repo_block WHERE "
	    "did = 'did:b' AND cid = 'bshared'"), 1);
	assert_int_equal(int_of(db, "SELECT refs FROM repo_block WHERE "
	    "did = 'did:b' AND cid = 'bnode'"), 0);
	assert_int_equal(int_of(db, "SELECT count(*) FROM sqlite_schema "
	    "WHERE name = 'record_cid'"), 0);
	/* Every row's count is its records', whatever the order. */
	assert_int_equal(int_of(db, "SELECT count(*) FROM repo_block b "
	    "WHERE refs != (SELECT count(*) FROM record r "
	    "WHERE r.did = b.did AND r.cid = b.cid)"), 0);
	assert_int_equal(int_of(db, "SELECT count(*) FROM repo_block"), 6);
	assert_int_equal(int_of(db, "SELECT count(*) FROM record"), 5);
	assert_int_equal(int_of(db, "SELECT count(*) FROM "
	    "pragma_integrity_check WHERE integrity_check != 'ok'"), 0);
	sqlite3_close(db);
}

/* The ids of the posts the full-text index finds for a query, joined. */
static const char *
fts_ids(sqlite3 *db, const char *q, char *buf, size_t len)
{
	sqlite3_stmt	*st;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT coalesce(group_concat("
	    "rowid, ' '), '') FROM (SELECT rowid FROM bsky_post_fts WHERE "
	    "bsky_post_fts MATCH ?1 ORDER BY rowid)", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	strlcpy(buf, (const char *)sqlite3_column_text(st, 0), len);
	sqlite3_finalize(st);
	return buf;
}

static void
load_post(sqlite3 *db, const char *rkey, const char *text)
{
	struct dm	*v = dm_map();

	assert_non_null(v);
	assert_int_equal(dm_map_set(v, "$type", dm_str("app.bsky.feed.post")),
	    0);
	assert_int_equal(dm_map_set(v, "text", dm_str(text)), 0);
	assert_int_equal(appindex_load_record(db, "did:plc:a",
	    "app.bsky.feed.post", rkey, "bafy", "t", v), 0);
	dm_free(v);
}

/*
 * 0013 on a database of 0012 with posts: the insert trigger goes, the
 * posts indexed before are found as before, and a load after it (which
 * writes the full-text rows itself) adds its posts, and only those.
 */
static void
test_migrate_fts_deferred(void **state)
{
	sqlite3	*db;
	char	 err[256], buf[256];
	size_t	 i;

	db = db_at_version(12);
	exec_ok(db, "INSERT INTO bsky_post (uri, did, rkey, cid, text, "
	    "indexed_at) VALUES "
	    "('at://did:plc:a/app.bsky.feed.post/1', 'did:plc:a', '1', 'c', "
	    "'the quick fox', 't'), "
	    "('at://did:plc:a/app.bsky.feed.post/2', 'did:plc:a', '2', 'c', "
	    "'a slow fox', 't'), "
	    "('at://did:plc:a/app.bsky.feed.post/3', 'did:plc:a', '3', 'c', "
	    "'quick quick', 't')");
	assert_string_equal(fts_ids(db, "fox", buf, sizeof(buf)), "1 2");
	assert_string_equal(fts_ids(db, "quick", buf, sizeof(buf)), "1 3");
	assert_int_equal(db_migrate(db, err, sizeof(err)), 0);
	assert_int_equal(user_version(db), (int)nmigrations);
	assert_int_equal(int_of(db, "SELECT count(*) FROM sqlite_schema "
	    "WHERE name = 'bsky_post_fts_ins'"), 0);
	assert_int_equal(int_of(db, "SELECT count(*) FROM sqlite_schema "
	    "WHERE name = 'bsky_post_fts_del'"), 1);
	assert_string_equal(fts_ids(db, "fox", buf, sizeof(buf)), "1 2");
	assert_string_equal(fts_ids(db, "quick", buf, sizeof(buf)), "1 3");

	/* A load, more rows than one batch of the temporary table. */
	assert_int_equal(appindex_load_init(db), 0);
	exec_ok(db, "BEGIN");
	appindex_load_begin();
	for (i = 0; i < 2100; i++) {
		snprintf(err, sizeof(err), "n%04zu", i);
		load_post(db, err, i == 5 ? "quick badger" : i == 2099 ?
		    "last fox" : "filler");
	}
	assert_int_equal(appindex_load_end(db, 1), 0);
	exec_ok(db, "COMMIT");
	assert_string_equal(fts_ids(db, "fox", buf, sizeof(buf)), "1 2 2103");
	assert_string_equal(fts_ids(db, "quick", buf, sizeof(buf)), "1 3 9");
	assert_string_equal(fts_ids(db, "badger", buf, sizeof(buf)), "9");
	assert_int_equal(int_of(db, "SELECT count(*) FROM bsky_post_fts "
	    "WHERE bsky_post_fts MATCH 'filler'"), 2098);
	/* The delete trigger takes out what the load put in. */
	exec_ok(db, "DELETE FROM bsky_post WHERE id IN (2, 9)");
	assert_string_equal(fts_ids(db, "fox", buf, sizeof(buf)), "1 2103");
	assert_string_equal(fts_ids(db, "quick", buf, sizeof(buf)), "1 3");
	exec_ok(db, "INSERT INTO bsky_post_fts (bsky_post_fts) VALUES "
	    "('integrity-check')");
	/* appindex.c's statements are cached: db_close finalizes them. */
	db_close(db);
}

/*
 * 0014: the index of blocks by rev goes; the rows stay, and the one
 * query by rev (getRepo since) reads the key's range of the DID.
 */
static void
test_migrate_block_rev(void **state)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	char		 err[256];
	int		 found = 0;

	db = db_at_version(13);
	assert_int_equal(int_of(db, "SELECT count(*) FROM sqlite_schema "
	    "WHERE name = 'repo_block_rev'"), 1);
	exec_ok(db, "INSERT INTO repo_block (did, cid, rev, data) VALUES "
	    "('did:a', 'b1', 'r1', x'01'), ('did:a', 'b2', 'r2', x'02')");
	assert_int_equal(db_migrate(db, err, sizeof(err)), 0);
	assert_int_equal(int_of(db, "SELECT count(*) FROM sqlite_schema "
	    "WHERE name = 'repo_block_rev'"), 0);
	assert_int_equal(int_of(db, "SELECT count(*) FROM repo_block "
	    "WHERE did = 'did:a' AND rev > 'r1'"), 1);
	assert_int_equal(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN "
	    "SELECT cid, data FROM repo_block WHERE did = ?1 AND rev > ?2 "
	    "ORDER BY cid", -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		if (strstr((const char *)sqlite3_column_text(st, 3),
		    "USING PRIMARY KEY (did=?)") != NULL)
			found = 1;
	sqlite3_finalize(st);
	assert_true(found);
	sqlite3_close(db);
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
		cmocka_unit_test(test_migrate_block_refs),
		cmocka_unit_test(test_migrate_fts_deferred),
		cmocka_unit_test(test_migrate_block_rev),
		cmocka_unit_test(test_busy_wait),
		cmocka_unit_test(test_open_file_wal),
		cmocka_unit_test(test_open_unwritable),
		cmocka_unit_test(test_checkpointer),
	};

	log_init(1, 0, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
