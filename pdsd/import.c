/*
 * Import: replace an account's repository with a CAR file, in one
 * SQLite transaction.  Both `pdsctl import` (control.c) and
 * com.atproto.repo.importRepo (xrpc_import.c, which first spools the
 * request body to a scratch file) come here.
 *
 * The old blocks, records and root are deleted first; each block of
 * the CAR, checked against its CID by the reader as it streams, is
 * staged as where it lies in the file (the connection's temporary
 * database, keyed by CID), not as a copy: the file is there until the
 * import ends, and a copy was most of the import's memory.  Then the
 * tree is walked from the commit's data root: every node must decode
 * strictly and sit in its place, every record must be a data-model map,
 * and each block reached is stored once, under the commit's
 * rev; what the walk does not reach was not part of the repository and
 * never enters it.  The reached blocks go in after the walk, in one
 * statement and in key order, and the app.bsky index loads in batches
 * (appindex.c): row-at-a-time inserts were most of the import's time.
 * The repository's rev is the commit's, even when it is older than the
 * old head's (the same migration run twice, an older backup): the head,
 * getLatestCommit and the #sync event must all say the rev the commit
 * block says.  Any fault rolls it all back, so memory stays flat (a bit
 * per block aside) however large the repository, and a bad CAR changes
 * nothing.
 * The same transaction logs a #sync event for the relays.
 *
 * Then signerd is asked to move its last signed rev for the DID up to
 * the imported one (it never moves down, so it stays at or above the old
 * head's), and our next commit, on our clock, is newer than both; the
 * import stands either way, and a refusal is a warning in the summary.
 *
 * As the reference does, a commit for another DID or signed by another
 * key is taken (an account migrating in brings a commit its old host
 * signed), with a warning in the log and the summary.
 *
 * The import runs to its end inside one event callback: the database
 * has one connection, and no other write may land inside our
 * transaction.  The fd must be a regular file, so no read can stall.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "appview.h"
#include "blob.h"
#include "blockstore.h"
#include "car.h"
#include "cbor.h"
#include "cid.h"
#include "commit.h"
#include "crypto.h"
#include "didkey.h"
#include "dm.h"
#include "log.h"
#include "mst.h"
#include "pds_imsg.h"
#include "pdsd.h"
#include "repo.h"
#include "repo_store.h"
#include "signer_proto.h"
#include "syntax.h"

#define IMPORT_CHUNK	(256 * 1024)
#define IMPORT_REPLY_MAX	512	/* what pdsctl reads */
#define IMPORT_WARN_MAX		320
/* Negative: KiB, not pages.  What an import adds to the frontend. */
#define IMPORT_CACHE_KIB	"-20480"	/* main: 10k records, no spill */
#define IMPORT_STAGE_KIB	"-2048"		/* temp: where the blocks are */
#define IMPORT_IDLE_KIB		"-2048"		/* temp, between imports */
#define STAGE_TABLE	"CREATE TEMP TABLE IF NOT EXISTS import_block " \
			"(cid TEXT PRIMARY KEY NOT NULL, off INTEGER NOT NULL, " \
			"len INTEGER NOT NULL, seq INTEGER NOT NULL, " \
			"dups INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID"

struct import;
static int	import_fail(struct import *, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));
static int	import_error(struct import *, const char *);

struct import {
	char			 did[DID_MAX + 1];
	char			 key[DIDKEY_BUFSZ];	/* the account's */
	int			 fd;
	int			 have_root;
	struct cid		 root;		/* the commit's CID */
	uint64_t		 nblocks;	/* kept */
	uint64_t		 records;
	struct commit		 c;
	char			 warn[IMPORT_WARN_MAX];
	char			 at[32];	/* indexed_at of every record */
	struct blockstore	 store;
	struct car_reader	*car;		/* while it streams */
	uint8_t			*win;		/* a window on the file */
	off_t			 win_off;
	size_t			 win_len;
	off_t			 last_end;	/* of the last block read */
	uint64_t		 nstaged;	/* blocks in the CAR */
	uint8_t			*kept;		/* a bit per block reached */
	uint8_t			*recs;		/* and per record block */
	size_t			 keptlen;	/* of each */
	int			 node_missing;
	struct cid		 missing;
	char			*msg;
	size_t			 msglen;
	enum import_status	 failed;	/* msg says why */
};

/* The CAR, or the account named, is at fault. */
static int
import_fail(struct import *im, const char *fmt, ...)
{
	va_list	 ap;

	if (im->failed == IMPORT_OK) {
		va_start(ap, fmt);
		vsnprintf(im->msg, im->msglen, fmt, ap);
		va_end(ap);
		im->failed = IMPORT_BAD;
	}
	return -1;
}

/* We are. */
static int
import_error(struct import *im, const char *what)
{
	if (im->failed == IMPORT_OK) {
		strlcpy(im->msg, what, im->msglen);
		im->failed = IMPORT_ERROR;
	}
	return -1;
}

/* The account, by DID or handle: 0, or -1 with msg set. */
static int
import_account(struct import *im, const char *who)
{
	static sqlite3_stmt	*by_did, *by_handle;
	sqlite3_stmt		*st;
	const char		*did, *key;
	int			 rc, rv = -1;

	if (strncmp(who, "did:", 4) == 0)
		st = db_stmt(fe->db, &by_did,
		    "SELECT did, signing_key FROM account WHERE did = ?");
	else
		st = db_stmt(fe->db, &by_handle,
		    "SELECT did, signing_key FROM account WHERE handle = ?");
	if (st == NULL || sqlite3_bind_text(st, 1, who, -1,
	    SQLITE_STATIC) != SQLITE_OK)
		return import_error(im, "database error");
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		did = (const char *)sqlite3_column_text(st, 0);
		key = (const char *)sqlite3_column_text(st, 1);
		if (did != NULL && strlcpy(im->did, did, sizeof(im->did)) <
		    sizeof(im->did)) {
			if (key != NULL)
				strlcpy(im->key, key, sizeof(im->key));
			rv = 0;
		} else
			import_error(im, "database error");
	} else if (rc == SQLITE_DONE)
		import_fail(im, "no such account: %.256s", who);
	else
		import_error(im, "database error");
	sqlite3_reset(st);
	return rv;
}

static int
on_header(void *arg, const struct cid *roots, size_t n)
{
	struct import	*im = arg;

	if (n == 0)
		return import_fail(im, "the CAR has no root");
	if (n > 1)
		return import_fail(im, "the CAR has %zu roots; expected one",
		    n);
	im->root = roots[0];
	im->have_root = 1;
	return 0;
}

/* The import the SQL function import_data() reads for, or NULL. */
static struct import	*reading;
static sqlite3		*registered;		/* the function's connection */

static void	sql_import_data(sqlite3_context *, int, sqlite3_value **);
static void	sql_import_kept(sqlite3_context *, int, sqlite3_value **);
static void	sql_import_refs(sqlite3_context *, int, sqlite3_value **);

/*
 * The staging table, keyed by the CID's text form: where each block of
 * the CAR lies in the file, and whether the walk reached it.  It lives
 * as long as the connection, empty between imports; made outside any
 * transaction, so that a rollback does not take it away from the
 * cached statements.  While an import runs, main's page cache is set
 * a little larger than the frontend's own (a 10k-record import dirties
 * about 17 MB of pages, and spilled ones are written to the WAL
 * twice); the temporary database keeps SQLite's default, about 75
 * bytes a block.  Both are bounds: a larger repository spills to the
 * WAL and to a temporary file, and the frontend's memory does not grow
 * with it.
 */
static int
stage_init(struct import *im)
{
	char	 err[256];

	if (appindex_load_init(fe->db) == -1)
		return -1;
	if (db_exec(fe->db, STAGE_TABLE, err, sizeof(err)) == -1 ||
	    db_exec(fe->db, "PRAGMA main.cache_size = " IMPORT_CACHE_KIB ";"
	    "PRAGMA temp.cache_size = " IMPORT_STAGE_KIB, err,
	    sizeof(err)) == -1) {
		log_warnx("import: staging table: %s", err);
		return -1;
	}
	/* Once per connection: a new function expires every statement. */
	if (registered != fe->db) {
		if (sqlite3_create_function_v2(fe->db, "import_data", 3,
		    SQLITE_UTF8, NULL, sql_import_data, NULL, NULL, NULL) !=
		    SQLITE_OK || sqlite3_create_function_v2(fe->db,
		    "import_kept", 1, SQLITE_UTF8, NULL, sql_import_kept, NULL,
		    NULL, NULL) != SQLITE_OK || sqlite3_create_function_v2(
		    fe->db, "import_refs", 1, SQLITE_UTF8, NULL,
		    sql_import_refs, NULL, NULL, NULL) != SQLITE_OK) {
			log_warnx("import: import_data: %s",
			    sqlite3_errmsg(fe->db));
			return -1;
		}
		registered = fe->db;
	}
	reading = im;
	return 0;
}

/*
 * The caches shrink back, whatever became of the import: main to the
 * frontend's own, the temporary database's (empty now) to SQLite's
 * default.
 */
static void
stage_done(void)
{
	char	 err[256];

	reading = NULL;
	if (db_exec(fe->db, "PRAGMA main.cache_size = " DB_CACHE_KIB ";"
	    "PRAGMA temp.cache_size = " IMPORT_IDLE_KIB, err,
	    sizeof(err)) == -1)
		log_warnx("import: cache size: %s", err);
#ifdef __GLIBC__
	/* The pages SQLite let go of sit in the heap until trimmed. */
	malloc_trim(0);
#endif
}

static int
stage_put(struct import *im, const struct cid *c, uint64_t off, size_t len)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	char			 s[CID_STRSZ];

	st = db_stmt(fe->db, &cache, "INSERT OR IGNORE INTO "
	    "temp.import_block (cid, off, len, seq) VALUES (?, ?, ?, ?)");
	if (st == NULL || cid_to_str(c, s, sizeof(s)) == -1 ||
	    sqlite3_bind_text(st, 1, s, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (sqlite3_int64)off) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)len) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, (sqlite3_int64)im->nstaged++) !=
	    SQLITE_OK)
		return -1;
	return db_step_done(fe->db, st);
}

/* All of len at off, or -1. */
static int
read_at(int fd, uint8_t *p, size_t len, off_t off)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = pread(fd, p, len, off)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/*
 * A staged block, read back from the file and checked against its CID
 * once more: the reader checked what it streamed, but a file another
 * process holds could change underneath.  One of the two passes reads
 * in the file's order (a CAR in tree order for the walk, one in CID
 * order, as getRepo writes, for the final pass in key order): a block
 * right after the last one fills a window of the file that serves the
 * next ones without a read; any other is read alone.  0, or -1 with
 * the failure set.
 */
static int
block_read(struct import *im, const struct cid *c, int64_t off, int64_t len,
    uint8_t **data, size_t *n)
{
	int	 ahead;

	uint8_t	*p;
	ssize_t	 got;

	if (off < 0 || len < 0 || len > CAR_MAXBLOCK)
		return import_error(im, "database error");
	if ((p = malloc(len > 0 ? (size_t)len : 1)) == NULL)
		return import_error(im, "out of memory");
	ahead = off >= im->last_end && off - im->last_end < 512;
	im->last_end = off + len;
	if (off >= im->win_off && off + len <= im->win_off +
	    (off_t)im->win_len)
		memcpy(p, im->win + (off - im->win_off), (size_t)len);
	else if (ahead && len <= IMPORT_CHUNK) {
		im->win_len = 0;
		while ((got = pread(im->fd, im->win, IMPORT_CHUNK, off)) ==
		    -1 && errno == EINTR)
			;
		if (got < len) {
			free(p);
			log_warn("import: read");
			return import_error(im, "read error");
		}
		im->win_off = off;
		im->win_len = (size_t)got;
		memcpy(p, im->win, (size_t)len);
	} else if (read_at(im->fd, p, (size_t)len, off) == -1) {
		free(p);
		log_warn("import: read");
		return import_error(im, "read error");
	}
	if (!cid_verify(c, p, (size_t)len)) {
		free(p);
		return import_fail(im, "the CAR changed while it was read: "
		    "block %s", cid_fmt(c));
	}
	*data = p;
	*n = (size_t)len;
	return 0;
}

/*
 * One more record points at a block another record points at already:
 * rare, so counted in the staging table, not in memory.
 */
static int
stage_dup(struct import *im, const char *cid)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;

	st = db_stmt(fe->db, &cache, "UPDATE temp.import_block "
	    "SET dups = dups + 1 WHERE cid = ?");
	if (db_bind_strs(st, 1, cid, NULL) == -1 ||
	    db_step_done(fe->db, st) == -1)
		return import_error(im, "database error");
	return 0;
}

/*
 * A staged block the walk reached, read and marked to be kept, and as
 * a record's if it is one: 0, 1 not in the CAR, -1 with the failure
 * set.  The marks are bits per block of the CAR in memory (128 KiB
 * each for a million blocks): an UPDATE of the staging table per block
 * cost more than the rest of the stage.  A block's count of records is
 * its record bit plus the dups stage_dup counted.
 */
static int
stage_take(struct import *im, const struct cid *c, int record,
    uint8_t **data, size_t *len)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	int64_t			 off, n, seq;
	uint8_t			*nk, bit;
	size_t			 need;
	char			 s[CID_STRSZ];
	int			 rc;

	st = db_stmt(fe->db, &cache, "SELECT off, len, seq FROM "
	    "temp.import_block WHERE cid = ?");
	if (st == NULL || cid_to_str(c, s, sizeof(s)) == -1 ||
	    sqlite3_bind_text(st, 1, s, -1, SQLITE_STATIC) != SQLITE_OK)
		return import_error(im, "database error");
	if ((rc = db_step_row(fe->db, st, "staged block")) != 1)
		return rc == 0 ? 1 : import_error(im, "database error");
	off = sqlite3_column_int64(st, 0);
	n = sqlite3_column_int64(st, 1);
	seq = sqlite3_column_int64(st, 2);
	sqlite3_reset(st);
	if (seq < 0 || (uint64_t)seq >= im->nstaged)
		return import_error(im, "database error");
	if ((need = (size_t)seq / 8 + 1) > im->keptlen) {
		need = need < im->nstaged / 8 + 1 ? im->nstaged / 8 + 1 : need;
		if ((nk = recallocarray(im->kept, im->keptlen, need, 1)) ==
		    NULL)
			return import_error(im, "out of memory");
		im->kept = nk;
		if ((nk = recallocarray(im->recs, im->keptlen, need, 1)) ==
		    NULL)
			return import_error(im, "out of memory");
		im->recs = nk;
		im->keptlen = need;
	}
	bit = 1 << (seq % 8);
	im->kept[seq / 8] |= bit;
	if (record && (im->recs[seq / 8] & bit) != 0 &&
	    stage_dup(im, s) == -1)
		return -1;
	if (record)
		im->recs[seq / 8] |= bit;
	return block_read(im, c, off, n, data, len);
}

/* import_data(cid, off, len): a kept block's bytes, for stage_keep. */
static void
sql_import_data(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct import	*im = reading;
	struct cid	 c;
	const char	*s, *errstr;
	uint8_t		*p;
	size_t		 n;

	s = (const char *)sqlite3_value_text(argv[0]);
	if (im == NULL || s == NULL ||
	    cid_from_str(&c, s, strlen(s), &errstr) == -1) {
		sqlite3_result_error(ctx, "import_data: no block", -1);
		return;
	}
	if (block_read(im, &c, sqlite3_value_int64(argv[1]),
	    sqlite3_value_int64(argv[2]), &p, &n) == -1) {
		sqlite3_result_error(ctx, "import_data: unreadable", -1);
		return;
	}
	sqlite3_result_blob64(ctx, p, n, free);
}

/* The mark of the block numbered argv[0] in one of the bitmaps. */
static int
marked(const uint8_t *bits, sqlite3_value **argv)
{
	int64_t	 seq;

	seq = sqlite3_value_int64(argv[0]);
	return reading != NULL && bits != NULL && seq >= 0 &&
	    (uint64_t)seq / 8 < reading->keptlen &&
	    (bits[seq / 8] & (1 << (seq % 8))) != 0;
}

/* import_kept(seq): whether the walk reached that block. */
static void
sql_import_kept(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	sqlite3_result_int(ctx, reading != NULL &&
	    marked(reading->kept, argv));
}

/* import_refs(seq): 1 if a record points at that block, else 0. */
static void
sql_import_refs(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	sqlite3_result_int(ctx, reading != NULL &&
	    marked(reading->recs, argv));
}

/*
 * What the walk reached goes into the repository in one statement, in
 * the order of its key: the B-tree fills page after page instead of
 * splitting pages all over, the larger part of an import's time.
 */
static int
stage_keep(struct import *im)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;

	st = db_stmt(fe->db, &cache, "INSERT OR IGNORE INTO repo_block "
	    "(did, cid, rev, data, refs) SELECT ?1, cid, ?2, import_data(cid, "
	    "off, len), import_refs(seq) + dups FROM temp.import_block "
	    "WHERE import_kept(seq) ORDER BY cid");
	if (db_bind_strs(st, 1, im->did, im->c.rev, NULL) == -1 ||
	    db_step_done(fe->db, st) == -1)
		return -1;
	im->nblocks = sqlite3_changes(fe->db);
	return 0;
}

static int
stage_clear(void)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;

	st = db_stmt(fe->db, &cache, "DELETE FROM temp.import_block");
	return st == NULL ? -1 : db_step_done(fe->db, st);
}

static int
on_block(void *arg, const struct cid *c, const uint8_t *p, size_t len)
{
	struct import	*im = arg;

	if (stage_put(im, c, car_reader_block_offset(im->car), len) == -1)
		return import_error(im, "database error");
	return 0;
}

/* Streams the file into the stage; the reader checks every block. */
static int
import_stream(struct import *im)
{
	struct car_reader	*r;
	uint8_t			*buf = im->win;
	off_t			 off = 0;
	ssize_t			 n;
	int			 rc = 0;

	if ((r = car_reader_new(on_header, on_block, im)) == NULL)
		return import_error(im, "out of memory");
	im->car = r;
	while (rc == 0) {
		if ((n = pread(im->fd, buf, IMPORT_CHUNK, off)) == -1 &&
		    errno == EINTR)
			continue;
		if (n == -1) {
			log_warn("import: read");
			rc = import_error(im, "read error");
			break;
		}
		if (n == 0) {
			rc = car_reader_end(r);
			break;
		}
		off += n;
		rc = car_reader_feed(r, buf, (size_t)n);
	}
	if (rc == -1 && !im->failed)
		import_fail(im, "bad CAR: %s (at byte %llu)",
		    car_reader_error(r),
		    (unsigned long long)car_reader_offset(r));
	car_reader_free(r);
	im->car = NULL;
	im->win_len = 0;	/* the window starts empty */
	return rc;
}

/* The walk reads nodes through here: each one reached is kept. */
static int
import_get(void *arg, const struct cid *c, uint8_t **data, size_t *len)
{
	struct import	*im = arg;
	int		 rc;

	rc = stage_take(im, c, 0, data, len);
	if (rc == 1 && !im->node_missing) {
		im->node_missing = 1;
		im->missing = *c;
	}
	return rc;
}

/* A record is a data-model map: decoded into *v, or -1. */
static int
import_check_record(struct import *im, const char *key, const uint8_t *p,
    size_t len, struct dm **v)
{
	const char	*errstr;

	if (dm_cbor_decode(p, len, v, &errstr) == -1)
		return import_fail(im, "record %.512s: %s", key, errstr);
	if ((*v)->type != DM_MAP)
		errstr = "not a map";
	else if (dm_check_types(*v, &errstr) == 0)
		return 0;
	dm_free(*v);
	return import_fail(im, "record %.512s: %s", key, errstr);
}

/*
 * Its row, the blobs it names (listMissingBlobs shows those not here)
 * and its index rows; key is cut into collection and rkey.
 */
static int
import_index(struct import *im, char *key, const struct cid *val,
    const struct dm *v)
{
	char	 cid[CID_STRSZ], *rkey;

	if ((rkey = strchr(key, '/')) == NULL)
		return import_fail(im, "bad MST key %.512s", key);
	if (blob_import_refs(fe->db, im->did, key, v) == -1 ||
	    cid_to_str(val, cid, sizeof(cid)) == -1)
		return import_error(im, "database error");
	*rkey++ = '\0';
	if (rstore_load_record(fe->db, im->did, key, rkey, cid, im->c.rev,
	    im->at) == -1 || appindex_load_record(fe->db, im->did, key, rkey,
	    cid, im->at, v) == -1)
		return import_error(im, "database error");
	return 0;
}

static int
import_record(void *arg, const char *key, size_t klen, const struct cid *val)
{
	struct import	*im = arg;
	struct dm	*v;
	char		 k[MST_KEY_MAX + 1];
	uint8_t		*p;
	size_t		 len;
	int		 rc;

	/* The node decoder took only valid keys: collection/rkey. */
	if (klen > MST_KEY_MAX)
		return import_fail(im, "bad MST key");
	memcpy(k, key, klen);
	k[klen] = '\0';
	if ((rc = stage_take(im, val, 1, &p, &len)) == 1)
		return import_fail(im, "record block missing: %.512s, cid %s",
		    k, cid_fmt(val));
	if (rc == -1)
		return -1;
	if ((rc = import_check_record(im, k, p, len, &v)) == 0) {
		rc = import_index(im, k, val, v);
		dm_free(v);
	}
	free(p);
	if (rc == -1)
		return -1;
	im->records++;
	return 0;
}

/* The root commit: present and well formed. */
static int
import_commit(struct import *im)
{
	uint8_t		*p;
	size_t		 len;
	const char	*errstr;
	int		 rc;

	if (!im->have_root)
		return import_fail(im, "the CAR has no root");
	if ((rc = stage_take(im, &im->root, 0, &p, &len)) == 1)
		return import_fail(im, "the root block is not in the CAR");
	if (rc == -1)
		return -1;
	if (commit_decode(p, len, &im->c, &errstr) == -1) {
		free(p);
		return import_fail(im, "the root %s is not a commit: %s",
		    cid_fmt(&im->root), errstr);
	}
	free(p);
	return 0;
}

static int
import_tree(struct import *im)
{
	int	 rc;

	im->store.get = import_get;
	im->store.put = NULL;
	im->store.arg = im;
	rc = mst_walk(&im->store, &im->c.data, import_record, im);
	if (rc == 0)
		return 0;
	if (im->failed)
		return -1;
	if (im->node_missing)
		return import_fail(im, "MST node missing: cid %s",
		    cid_fmt(&im->missing));
	return import_fail(im, "bad MST under data %s", cid_fmt(&im->c.data));
}

/*
 * Relays learn of the new state as a #sync of the commit alone, under
 * the commit's own rev: the event's rev must be the block's.
 */
static int
import_sync_event(struct import *im)
{
	uint8_t	*p;
	size_t	 len;
	int	 rv;

	if (rstore_get_block(fe->db, im->did, &im->root, &p, &len) != 0)
		return -1;
	rv = events_sync(fe->db, im->did, &im->root, p, len, im->c.rev);
	free(p);
	return rv;
}

/* Everything inside the transaction; -1 rolls it back. */
static int
import_tx(struct import *im)
{
	struct repo_root	 root;

	if (rstore_delete_repo(fe->db, im->did) == -1 ||
	    appindex_drop_repo(fe->db, im->did) == -1 ||
	    blob_repo_reset(fe->db, im->did, time(NULL)) == -1)
		return import_error(im, "database error");
	if (import_stream(im) == -1 || import_commit(im) == -1)
		return -1;
	db_now(im->at, sizeof(im->at));
	appindex_load_begin();
	if (import_tree(im) == -1) {
		appindex_load_end(fe->db, 0);
		return -1;
	}
	if (appindex_load_end(fe->db, 1) == -1)
		return import_error(im, "database error");
	if (stage_keep(im) == -1 || stage_clear() == -1)
		return import_error(im, "database error");
	root.commit = im->root;
	root.data = im->c.data;
	strlcpy(root.rev, im->c.rev, sizeof(root.rev));
	if (rstore_set_root(fe->db, im->did, &root) == -1 ||
	    import_sync_event(im) == -1)
		return import_error(im, "database error");
	return 0;
}

/* What is taken, but worth a word: "" when nothing. */
static void
import_warnings(struct import *im)
{
	struct pubkey	 pub;

	if (strcmp(im->c.did, im->did) != 0)
		snprintf(im->warn, sizeof(im->warn), "the commit is for "
		    "%.128s, not for %.128s", im->c.did, im->did);
	else if (didkey_decode(im->key, strlen(im->key), &pub) == -1)
		strlcpy(im->warn, "the account's signing key is unreadable; "
		    "signature not checked", sizeof(im->warn));
	else if (commit_verify(&im->c, &pub) == -1)
		strlcpy(im->warn, "the commit is not signed by the account's "
		    "key", sizeof(im->warn));
}

/* The summary waiting for signerd's answer to the rev raise. */
struct import_reply {
	import_done_cb	 done;
	void		*arg;
	size_t		 msglen;
	char		 msg[];
};

static void
import_reply_send(struct import_reply *r, const char *warn)
{
	if (warn != NULL) {
		strlcat(r->msg, "\nwarning: signerd did not raise its last "
		    "signed rev: ", r->msglen);
		strlcat(r->msg, warn, r->msglen);
		log_warnx("import: signerd did not raise its last signed "
		    "rev: %s", warn);
	}
	r->done(r->arg, r->msg);
	free(r);
}

static void
import_raised(void *arg, int ok, const uint8_t *data, size_t len,
    const char *err)
{
	import_reply_send(arg, ok ? NULL : err);
}

/* Answers the caller now if signerd cannot be asked. */
static void
import_raise(const struct import *im, const char *msg, import_done_cb done,
    void *arg)
{
	struct import_reply	*r;
	uint8_t			 req[SIGNER_REV_RAISE_MAX];
	size_t			 len;

	if ((r = malloc(sizeof(*r) + IMPORT_REPLY_MAX)) == NULL) {
		done(arg, msg);
		return;
	}
	r->done = done;
	r->arg = arg;
	r->msglen = IMPORT_REPLY_MAX;
	strlcpy(r->msg, msg, r->msglen);
	if (signer_rev_raise_encode(im->did, im->c.rev, req, &len) == -1)
		import_reply_send(r, "the DID is too long for signerd");
	else if (signer_request(IMSG_SIGN_REV_RAISE, req, len, import_raised,
	    r) == -1)
		import_reply_send(r, "signerd is not available");
}

enum import_status
import_repo(int fd, const char *who, char *msg, size_t msglen,
    import_done_cb done, void *arg)
{
	struct import		*im;
	struct stat		 st;
	enum import_status	 rv;

	if ((im = calloc(1, sizeof(*im))) == NULL ||
	    (im->win = malloc(IMPORT_CHUNK)) == NULL) {
		free(im);
		strlcpy(msg, "out of memory", msglen);
		return IMPORT_ERROR;
	}
	im->fd = fd;
	im->msg = msg;
	im->msglen = msglen;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		import_fail(im, "the CAR is not a regular file");
	else if (import_account(im, who) == -1)
		;
	else if (repo_writes_pending_for(im->did) > 0) {
		strlcpy(msg, "repository writes in progress; try again",
		    msglen);
		im->failed = IMPORT_BUSY;
	} else if (stage_init(im) == -1 || db_begin(fe->db) == -1)
		import_error(im, "database error");
	else if (import_tx(im) == -1) {
		db_rollback(fe->db);
		events_forget_seq();
	} else if (db_commit(fe->db) == -1) {
		events_forget_seq();
		import_error(im, "database error");
	} else
		events_notify();
	stage_done();
	if ((rv = im->failed) == IMPORT_OK) {
		import_warnings(im);
		snprintf(msg, msglen, "imported %.128s: commit %s, rev %s, "
		    "%llu records, %llu blocks", im->did, cid_fmt(&im->root),
		    im->c.rev, (unsigned long long)im->records,
		    (unsigned long long)im->nblocks);
		if (im->warn[0] != '\0') {
			log_warnx("%s; warning: %s", msg, im->warn);
			strlcat(msg, "\nwarning: ", msglen);
			strlcat(msg, im->warn, msglen);
		} else
			log_info("%s", msg);
		import_raise(im, msg, done, arg);
	} else
		log_warnx("import for %.256s refused: %s", who, msg);
	free(im->win);
	free(im->kept);
	free(im->recs);
	free(im);
	return rv;
}
