/*
 * The database: one SQLite file in WAL mode, its schema brought up to
 * date from the migrations embedded at build time (sql/NNNN_*.sql),
 * tracked by PRAGMA user_version.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pdsd.h"

#define DB_MAX_STMTS	256
/*
 * SQLite's page cache, in KiB (negative: a size, not a page count).
 * Its default of 2 MiB sends every view of the app.bsky index, which
 * touches many pages of large tables, to read(2) for pages the kernel
 * holds anyway; 64 MiB keeps the hot part of a large index in the
 * process (docs/bench.md).
 */

/* Prepared statements kept for the life of the connection. */
static sqlite3_stmt	**stmt_cache[DB_MAX_STMTS];
static size_t		  nstmt_cache;

static int	db_user_version(sqlite3 *, int *);

int
db_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char	*msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s", msg != NULL ? msg :
		    sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
db_user_version(sqlite3 *db, int *version)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/*
 * Apply every migration newer than the database, each in its own
 * transaction together with its user_version bump.  A database written
 * by a newer pdsd is refused: we would not know its tables.
 */
int
db_migrate(sqlite3 *db, char *err, size_t errlen)
{
	char	 sql[64];
	int	 version;
	size_t	 i;

	if (db_user_version(db, &version) == -1) {
		snprintf(err, errlen, "cannot read schema version: %s",
		    sqlite3_errmsg(db));
		return -1;
	}
	if (version < 0 || (size_t)version > nmigrations) {
		snprintf(err, errlen, "database schema version %d is newer "
		    "than this pdsd knows (%zu): use a newer pdsd",
		    version, nmigrations);
		return -1;
	}
	for (i = (size_t)version; i < nmigrations; i++) {
		if (db_exec(db, "BEGIN IMMEDIATE", err, errlen) == -1)
			return -1;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		    migrations[i].version);
		if (db_exec(db, migrations[i].sql, err, errlen) == -1 ||
		    db_exec(db, sql, err, errlen) == -1) {
			char	 e2[256];

			(void)db_exec(db, "ROLLBACK", e2, sizeof(e2));
			log_warnx("migration %s failed", migrations[i].name);
			return -1;
		}
		if (db_exec(db, "COMMIT", err, errlen) == -1)
			return -1;
		log_info("database: applied migration %s",
		    migrations[i].name);
	}
	return 0;
}

/*
 * SQLite's own busy handler sleeps longer and longer, up to 100 ms at
 * a time: for a lock held 20 ms (a checkpoint's syncs) it sleeps 33,
 * and the frontend's only thread with it.  This one tries again every millisecond,
 * ms times (arg) at most.
 */
int
db_busy_handler(void *arg, int n)
{
	struct timespec	 ts = { 0, 1000000 };

	if (n >= (int)(intptr_t)arg)
		return 0;
	nanosleep(&ts, NULL);
	return 1;
}

void
db_busy_wait(sqlite3 *db, int ms)
{
	sqlite3_busy_handler(db, db_busy_handler, (void *)(intptr_t)ms);
}

sqlite3 *
db_open(const char *path, char *err, size_t errlen)
{
	sqlite3	*db;

	db_pcache_install();
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, db != NULL ?
		    sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	db_busy_wait(db, 5000);
	if (db_exec(db, "PRAGMA journal_mode = WAL", err, errlen) == -1 ||
	    db_exec(db, "PRAGMA synchronous = NORMAL", err, errlen) == -1 ||
	    db_exec(db, "PRAGMA foreign_keys = ON", err, errlen) == -1 ||
	    db_exec(db, "PRAGMA cache_size = " DB_CACHE_KIB, err,
	    errlen) == -1 ||
	    db_migrate(db, err, errlen) == -1) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

void
db_close(sqlite3 *db)
{
	size_t	 i;

	for (i = 0; i < nstmt_cache; i++) {
		sqlite3_finalize(*stmt_cache[i]);
		*stmt_cache[i] = NULL;
	}
	nstmt_cache = 0;
	if (db != NULL)
		sqlite3_close(db);
}

/*
 * A statement prepared once and kept in *cache (a static at the call
 * site), reset and unbound for its next use.  NULL on error, logged.
 */
sqlite3_stmt *
db_stmt(sqlite3 *db, sqlite3_stmt **cache, const char *sql)
{
	if (*cache == NULL) {
		if (nstmt_cache == DB_MAX_STMTS)
			fatalx("db_stmt: too many cached statements");
		if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT,
		    cache, NULL) != SQLITE_OK) {
			log_warnx("prepare: %s: %s", sqlite3_errmsg(db), sql);
			*cache = NULL;
			return NULL;
		}
		stmt_cache[nstmt_cache++] = cache;
	}
	sqlite3_reset(*cache);
	sqlite3_clear_bindings(*cache);
	return *cache;
}

/* Run a statement that returns no rows; 0 or -1 (logged). */
int
db_step_done(sqlite3 *db, sqlite3_stmt *st)
{
	int	 rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_warnx("sqlite: %s", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/*
 * Bind NUL-terminated strings (kept by the caller until the step) to
 * parameters first, first + 1, ...; the list ends with NULL.  0 or -1.
 */
int
db_bind_strs(sqlite3_stmt *st, int first, ...)
{
	va_list		 ap;
	const char	*s;
	int		 i = first, rv = 0;

	if (st == NULL)
		return -1;
	va_start(ap, first);
	while ((s = va_arg(ap, const char *)) != NULL)
		if (sqlite3_bind_text(st, i++, s, -1, SQLITE_STATIC) !=
		    SQLITE_OK)
			rv = -1;
	va_end(ap);
	return rv;
}

/*
 * Step a statement that yields at most the row it is asked for:
 * 1 with a row (reset it after reading), 0 with none, -1 on an error,
 * logged with what (both reset).
 */
int
db_step_row(sqlite3 *db, sqlite3_stmt *st, const char *what)
{
	int	 rc;

	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		log_warnx("%s: %s", what, sqlite3_errmsg(db));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Transaction control on the frontend's connection runs statements
 * prepared once: sqlite3_exec would parse "BEGIN" and "COMMIT" again
 * for every write.  Other connections (the checkpoint thread, tools)
 * fall back to sqlite3_exec, since the statement cache is the
 * frontend's.
 */
enum { TX_BEGIN, TX_BEGIN_READ, TX_COMMIT, TX_ROLLBACK, TX_MAX };

static int
db_tx(sqlite3 *db, int which)
{
	static sqlite3_stmt	*cache[TX_MAX];
	static const char	*sql[TX_MAX] = {
		"BEGIN IMMEDIATE", "BEGIN DEFERRED", "COMMIT", "ROLLBACK",
	};
	sqlite3_stmt		*st;
	char			 err[256];
	int			 rc;

	if (fe == NULL || db != fe->db) {
		if (db_exec(db, sql[which], err, sizeof(err)) == -1) {
			log_warnx("%s: %s", sql[which], err);
			return -1;
		}
		return 0;
	}
	if ((st = db_stmt(db, &cache[which], sql[which])) == NULL)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_warnx("%s: %s", sql[which], sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

int
db_begin(sqlite3 *db)
{
	return db_tx(db, TX_BEGIN);
}

int
db_commit(sqlite3 *db)
{
	if (db_tx(db, TX_COMMIT) == -1) {
		if (sqlite3_get_autocommit(db) == 0)
			(void)db_tx(db, TX_ROLLBACK);
		return -1;
	}
	return 0;
}

void
db_rollback(sqlite3 *db)
{
	if (sqlite3_get_autocommit(db) == 0)
		(void)db_tx(db, TX_ROLLBACK);
}

/*
 * A read transaction around a run of statements: outside one, each
 * statement takes and drops SQLite's WAL read lock (two fcntl(2)) by
 * itself, and the run may see two snapshots.  1 if this call opened
 * it (end it with db_read_end), 0 if a transaction was open already
 * or none could be opened (the statements then run on their own).
 */
int
db_read_begin(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db) || db_tx(db, TX_BEGIN_READ) == -1)
		return 0;
	return 1;
}

void
db_read_end(sqlite3 *db, int opened)
{
	if (opened && !sqlite3_get_autocommit(db))
		(void)db_tx(db, TX_COMMIT);
}

/* -1 on error. */
int64_t
db_count(sqlite3 *db, const char *table)
{
	sqlite3_stmt	*st;
	char		 sql[128];
	int64_t		 n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* The main file and its WAL, in bytes; -1 if the main file is gone. */
int64_t
db_size(const char *path)
{
	struct stat	 sb;
	char		 wal[PATH_MAX];
	int64_t		 n;

	if (stat(path, &sb) == -1)
		return -1;
	n = sb.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &sb) == 0)
		n += sb.st_size;
	return n;
}

/* Now as RFC 3339 in UTC with milliseconds, as the reference stores it. */
void
db_now(char *buf, size_t len)
{
	struct timespec	 ts;
	struct tm	 tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (len < 25 || strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		if (len > 0)
			buf[0] = '\0';
		return;
	}
	snprintf(buf + 19, len - 19, ".%03dZ", (int)(ts.tv_nsec / 1000000));
}

/* A cheap liveness check for _health. */
int
db_ping(sqlite3 *db)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (db == NULL || sqlite3_prepare_v2(db, "SELECT 1", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}
