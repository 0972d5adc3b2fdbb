/*
 * Repositories in SQLite: blocks, roots and the record index (sql/0002).
 * A struct blockstore reads one repository's blocks from here, so the
 * MST code never knows where they live.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "blockstore.h"
#include "cid.h"
#include "log.h"
#include "pdsd.h"
#include "repo_store.h"

static int	rs_bs_get(void *, const struct cid *, uint8_t **, size_t *);
static int	rs_bs_put(void *, const struct cid *, const uint8_t *, size_t);

static int
bind_cid(sqlite3_stmt *st, int i, const struct cid *c)
{
	char	 s[CID_STRSZ];

	if (cid_to_str(c, s, sizeof(s)) == -1)
		return -1;
	return sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) ==
	    SQLITE_OK ? 0 : -1;
}

static int
column_cid(sqlite3_stmt *st, int i, struct cid *c)
{
	const char	*s = (const char *)sqlite3_column_text(st, i);

	if (s == NULL || cid_from_str(c, s, strlen(s), NULL) == -1) {
		log_warnx("database: bad CID in column %d", i);
		return -1;
	}
	return 0;
}

/* Columns i .. i + 2: commit CID, data CID, rev. */
static int
column_root(sqlite3_stmt *st, int i, struct repo_root *root)
{
	const char	*rev = (const char *)sqlite3_column_text(st, i + 2);

	if (column_cid(st, i, &root->commit) == -1 ||
	    column_cid(st, i + 1, &root->data) == -1 || rev == NULL ||
	    strlcpy(root->rev, rev, sizeof(root->rev)) >= sizeof(root->rev))
		return -1;
	return 0;
}

/* 0 found, 1 not found, -1 error. */
int
rstore_get_block(sqlite3 *db, const char *did, const struct cid *cid,
    uint8_t **data, size_t *len)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	const void		*p;
	int			 rc, n;

	st = db_stmt(db, &cache,
	    "SELECT data FROM repo_block WHERE did = ? AND cid = ?");
	if (db_bind_strs(st, 1, did, NULL) == -1 || bind_cid(st, 2, cid) == -1)
		return -1;
	if ((rc = db_step_row(db, st, "get block")) != 1)
		return rc == 0 ? 1 : -1;
	p = sqlite3_column_blob(st, 0);
	n = sqlite3_column_bytes(st, 0);
	if ((*data = malloc(n > 0 ? n : 1)) == NULL) {
		sqlite3_reset(st);
		return -1;
	}
	memcpy(*data, p, n);
	*len = n;
	sqlite3_reset(st);
	return 0;
}

/*
 * Keeps an existing block as it is: the same CID is the same bytes.  A
 * new one has no record pointing at it (rstore_ref_block for those).
 */
int
rstore_put_block(sqlite3 *db, const char *did, const char *rev,
    const struct cid *cid, const uint8_t *data, size_t len)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;

	st = db_stmt(db, &cache, "INSERT OR IGNORE INTO repo_block "
	    "(did, cid, rev, data) VALUES (?, ?, ?, ?)");
	if (st == NULL || sqlite3_bind_text(st, 1, did, -1,
	    SQLITE_STATIC) != SQLITE_OK || bind_cid(st, 2, cid) == -1 ||
	    sqlite3_bind_text(st, 3, rev, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 4, data, (int)len, SQLITE_STATIC) !=
	    SQLITE_OK)
		return -1;
	return db_step_done(db, st);
}

/*
 * n more records point at a record block: stored with that count, or
 * the count of the one there raised (the same CID is the same bytes).
 */
int
rstore_ref_block(sqlite3 *db, const char *did, const char *rev,
    const struct cid *cid, const uint8_t *data, size_t len, int n)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;

	st = db_stmt(db, &cache, "INSERT INTO repo_block "
	    "(did, cid, rev, data, refs) VALUES (?1, ?2, ?3, ?4, ?5) "
	    "ON CONFLICT (did, cid) DO UPDATE SET refs = refs + ?5");
	if (st == NULL || sqlite3_bind_text(st, 1, did, -1,
	    SQLITE_STATIC) != SQLITE_OK || bind_cid(st, 2, cid) == -1 ||
	    sqlite3_bind_text(st, 3, rev, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 4, data, (int)len, SQLITE_STATIC) !=
	    SQLITE_OK || sqlite3_bind_int(st, 5, n) != SQLITE_OK)
		return -1;
	return db_step_done(db, st);
}

/*
 * n fewer records point at a block: it goes when none is left, else
 * its count drops.  With n 0, a block goes if no record points at it
 * (an MST node the tree let go of).
 */
int
rstore_unref_block(sqlite3 *db, const char *did, const struct cid *cid,
    int n)
{
	static sqlite3_stmt	*del, *dec;
	sqlite3_stmt		*st;

	st = db_stmt(db, &del, "DELETE FROM repo_block "
	    "WHERE did = ?1 AND cid = ?2 AND refs <= ?3");
	if (st == NULL || sqlite3_bind_text(st, 1, did, -1,
	    SQLITE_STATIC) != SQLITE_OK || bind_cid(st, 2, cid) == -1 ||
	    sqlite3_bind_int(st, 3, n) != SQLITE_OK ||
	    db_step_done(db, st) == -1)
		return -1;
	if (n == 0 || sqlite3_changes(db) > 0)
		return 0;
	st = db_stmt(db, &dec, "UPDATE repo_block SET refs = refs - ?3 "
	    "WHERE did = ?1 AND cid = ?2");
	if (st == NULL || sqlite3_bind_text(st, 1, did, -1,
	    SQLITE_STATIC) != SQLITE_OK || bind_cid(st, 2, cid) == -1 ||
	    sqlite3_bind_int(st, 3, n) != SQLITE_OK)
		return -1;
	return db_step_done(db, st);
}

/* 0 found, 1 no repository, -1 error. */
int
rstore_get_root(sqlite3 *db, const char *did, struct repo_root *root)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	int			 rc = -1, rv;

	st = db_stmt(db, &cache, "SELECT commit_cid, data_cid, rev "
	    "FROM repo_root WHERE did = ?");
	if (db_bind_strs(st, 1, did, NULL) == -1 ||
	    (rc = db_step_row(db, st, "get root")) != 1)
		return rc == 0 ? 1 : -1;
	rv = column_root(st, 0, root);
	sqlite3_reset(st);
	return rv;
}

int
rstore_set_root(sqlite3 *db, const char *did, const struct repo_root *root)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	char			 now[32];

	db_now(now, sizeof(now));
	st = db_stmt(db, &cache, "INSERT INTO repo_root "
	    "(did, commit_cid, data_cid, rev, updated_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (did) DO UPDATE SET "
	    "commit_cid = ?2, data_cid = ?3, rev = ?4, updated_at = ?5");
	if (st == NULL || sqlite3_bind_text(st, 1, did, -1,
	    SQLITE_STATIC) != SQLITE_OK ||
	    bind_cid(st, 2, &root->commit) == -1 ||
	    bind_cid(st, 3, &root->data) == -1 ||
	    sqlite3_bind_text(st, 4, root->rev, -1, SQLITE_STATIC) !=
	    SQLITE_OK || sqlite3_bind_text(st, 5, now, -1,
	    SQLITE_TRANSIENT) != SQLITE_OK)
		return -1;
	return db_step_done(db, st);
}

int
rstore_put_record(sqlite3 *db, const char *did, const char *collection,
    const char *rkey, const struct cid *cid, const char *rev)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	char			 now[32];

	db_now(now, sizeof(now));
	st = db_stmt(db, &cache, "INSERT INTO record "
	    "(did, collection, rkey, cid, rev, indexed_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
	    "ON CONFLICT (did, collection, rkey) DO UPDATE SET "
	    "cid = ?4, rev = ?5, indexed_at = ?6");
	if (st == NULL ||
	    sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, collection, -1, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_text(st, 3, rkey, -1, SQLITE_STATIC) != SQLITE_OK ||
	    bind_cid(st, 4, cid) == -1 ||
	    sqlite3_bind_text(st, 5, rev, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 6, now, -1, SQLITE_TRANSIENT) != SQLITE_OK)
		return -1;
	return db_step_done(db, st);
}

/*
 * Import: the repository is empty, and every row has the load's time;
 * the import counts the records of each block itself.
 */
int
rstore_load_record(sqlite3 *db, const char *did, const char *collection,
    const char *rkey, const char *cid, const char *rev, const char *at)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;

	st = db_stmt(db, &cache, "INSERT INTO record "
	    "(did, collection, rkey, cid, rev, indexed_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	if (db_bind_strs(st, 1, did, collection, rkey, cid, rev, at,
	    NULL) == -1)
		return -1;
	return db_step_done(db, st);
}

int
rstore_del_record(sqlite3 *db, const char *did, const char *collection,
    const char *rkey)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;

	st = db_stmt(db, &cache, "DELETE FROM record "
	    "WHERE did = ? AND collection = ? AND rkey = ?");
	if (st == NULL ||
	    sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, collection, -1, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_text(st, 3, rkey, -1, SQLITE_STATIC) != SQLITE_OK)
		return -1;
	return db_step_done(db, st);
}

/* 0 found, 1 not found, -1 error. */
int
rstore_get_record(sqlite3 *db, const char *did, const char *collection,
    const char *rkey, struct cid *cid)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	int			 rc = -1, rv;

	st = db_stmt(db, &cache, "SELECT cid FROM record "
	    "WHERE did = ? AND collection = ? AND rkey = ?");
	if (db_bind_strs(st, 1, did, collection, rkey, NULL) == -1 ||
	    (rc = db_step_row(db, st, "get record")) != 1)
		return rc == 0 ? 1 : -1;
	rv = column_cid(st, 0, cid);
	sqlite3_reset(st);
	return rv;
}

/*
 * Every block of a repository, in the order of their text CIDs (the
 * reference's export order), to cb; a non-zero return stops the walk and
 * is returned.  -1 on a database error.
 */
int
rstore_foreach_block(sqlite3 *db, const char *did,
    int (*cb)(void *, const struct cid *, const uint8_t *, size_t),
    void *arg)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct cid		 c;
	int			 rc, r = 0;

	st = db_stmt(db, &cache, "SELECT cid, data FROM repo_block "
	    "WHERE did = ? ORDER BY cid");
	if (st == NULL || sqlite3_bind_text(st, 1, did, -1,
	    SQLITE_STATIC) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (column_cid(st, 0, &c) == -1) {
			r = -1;
			break;
		}
		if ((r = cb(arg, &c, sqlite3_column_blob(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1))) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE) {
		log_warnx("blocks: %s", sqlite3_errmsg(db));
		r = -1;
	}
	sqlite3_reset(st);
	return r;
}

static int
rs_bs_get(void *arg, const struct cid *cid, uint8_t **data, size_t *len)
{
	struct rstore_bs	*rb = arg;

	return rstore_get_block(rb->db, rb->did, cid, data, len);
}

static int
rs_bs_put(void *arg, const struct cid *cid, const uint8_t *data, size_t len)
{
	struct rstore_bs	*rb = arg;

	return rstore_put_block(rb->db, rb->did, rb->rev, cid, data, len);
}

/*
 * A blockstore over one repository; puts are stamped with rb->rev.
 * rb must outlive bs.
 */
void
rstore_blockstore(struct rstore_bs *rb, struct blockstore *bs)
{
	bs->get = rs_bs_get;
	bs->put = rs_bs_put;
	bs->view = NULL;
	bs->arg = rb;
}

/*
 * Listings.
 */

/*
 * Past the last valid record key either way: keys are printable ASCII,
 * so "" sorts before every key and DEL after every key.
 */
#define RKEY_BEFORE	""
#define RKEY_AFTER	"\x7f"

int
rstore_list_records(sqlite3 *db, const char *did, const char *collection,
    const char *cursor, int reverse, int limit, rstore_record_fn cb,
    void *arg)
{
	static sqlite3_stmt	*desc, *asc;
	sqlite3_stmt		*st;
	const char		*c;
	int			 rc, r = 0;

	if (reverse)
		st = db_stmt(db, &asc, "SELECT r.rkey, r.cid, b.data "
		    "FROM record r JOIN repo_block b "
		    "ON b.did = r.did AND b.cid = r.cid "
		    "WHERE r.did = ?1 AND r.collection = ?2 AND r.rkey > ?3 "
		    "ORDER BY r.rkey ASC LIMIT ?4");
	else
		st = db_stmt(db, &desc, "SELECT r.rkey, r.cid, b.data "
		    "FROM record r JOIN repo_block b "
		    "ON b.did = r.did AND b.cid = r.cid "
		    "WHERE r.did = ?1 AND r.collection = ?2 AND r.rkey < ?3 "
		    "ORDER BY r.rkey DESC LIMIT ?4");
	if (cursor == NULL)
		cursor = reverse ? RKEY_BEFORE : RKEY_AFTER;
	if (st == NULL ||
	    sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, collection, -1, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_text(st, 3, cursor, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(st, 4, limit) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((c = (const char *)sqlite3_column_text(st, 1)) == NULL) {
			r = -1;
			break;
		}
		if ((r = cb(arg, (const char *)sqlite3_column_text(st, 0), c,
		    sqlite3_column_blob(st, 2),
		    (size_t)sqlite3_column_bytes(st, 2))) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE) {
		log_warnx("list records: %s", sqlite3_errmsg(db));
		r = -1;
	}
	sqlite3_reset(st);
	return r;
}

int
rstore_collections(sqlite3 *db, const char *did,
    int (*cb)(void *, const char *), void *arg)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	int			 rc, r = 0;

	st = db_stmt(db, &cache, "SELECT DISTINCT collection FROM record "
	    "WHERE did = ? ORDER BY collection");
	if (st == NULL || sqlite3_bind_text(st, 1, did, -1,
	    SQLITE_STATIC) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = cb(arg, (const char *)sqlite3_column_text(st,
		    0))) != 0)
			break;
	if (r == 0 && rc != SQLITE_DONE) {
		log_warnx("collections: %s", sqlite3_errmsg(db));
		r = -1;
	}
	sqlite3_reset(st);
	return r;
}

/* The callback gets the DID, the account status and the root. */
int
rstore_list_repos(sqlite3 *db, const char *cursor, int limit,
    rstore_repo_fn cb, void *arg)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct repo_root	 root;
	int			 rc, r = 0;

	st = db_stmt(db, &cache, "SELECT a.did, a.status, r.commit_cid, "
	    "r.data_cid, r.rev FROM account a JOIN repo_root r "
	    "ON r.did = a.did WHERE a.did > ?1 ORDER BY a.did LIMIT ?2");
	if (st == NULL || sqlite3_bind_text(st, 1, cursor != NULL ? cursor :
	    "", -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(st, 2, limit) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (column_root(st, 2, &root) == -1) {
			r = -1;
			break;
		}
		if ((r = cb(arg, (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1), &root)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE) {
		log_warnx("list repos: %s", sqlite3_errmsg(db));
		r = -1;
	}
	sqlite3_reset(st);
	return r;
}

/*
 * Exports.  WAL lets this connection keep reading the snapshot its
 * transaction began with while the frontend's connection commits.
 */
struct rstore_export {
	sqlite3		*db;
	sqlite3_stmt	*st;
};

void
rstore_export_close(struct rstore_export *ex)
{
	if (ex == NULL)
		return;
	sqlite3_finalize(ex->st);
	if (ex->db != NULL)
		sqlite3_exec(ex->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(ex->db);
	free(ex);
}

static int
export_root(struct rstore_export *ex, const char *did,
    struct repo_root *root)
{
	sqlite3_stmt	*st;
	int		 rc, rv = -1;

	if (sqlite3_prepare_v2(ex->db, "SELECT commit_cid, data_cid, rev "
	    "FROM repo_root WHERE did = ?", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC) == SQLITE_OK) {
		if ((rc = sqlite3_step(st)) == SQLITE_DONE)
			rv = 1;
		else if (rc == SQLITE_ROW)
			rv = column_root(st, 0, root);
	}
	sqlite3_finalize(st);
	return rv;
}

int
rstore_export_open(const char *path, const char *did, const char *since,
    struct repo_root *root, struct rstore_export **exp)
{
	struct rstore_export	*ex;
	const char		*sql;
	int			 r = -1;

	*exp = NULL;
	if ((ex = calloc(1, sizeof(*ex))) == NULL)
		return -1;
	if (sqlite3_open_v2(path, &ex->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(ex->db, 5000);
	if (sqlite3_exec(ex->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    (r = export_root(ex, did, root)) != 0)
		goto fail;
	r = -1;
	/*
	 * Since a rev: the DID's blocks in key order, those of later
	 * commits kept.  No index by rev (sql/0014): it cost every write,
	 * and this reads what a full export reads.
	 */
	sql = since == NULL ?
	    "SELECT cid, data FROM repo_block WHERE did = ?1 ORDER BY cid" :
	    "SELECT cid, data FROM repo_block WHERE did = ?1 AND rev > ?2 "
	    "ORDER BY cid";
	if (sqlite3_prepare_v2(ex->db, sql, -1, &ex->st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(ex->st, 1, did, -1, SQLITE_TRANSIENT) !=
	    SQLITE_OK || (since != NULL && sqlite3_bind_text(ex->st, 2, since,
	    -1, SQLITE_TRANSIENT) != SQLITE_OK))
		goto fail;
	*exp = ex;
	return 0;
fail:
	if (r == -1)
		log_warnx("export %s: %s", did, ex->db != NULL ?
		    sqlite3_errmsg(ex->db) : "out of memory");
	rstore_export_close(ex);
	return r;
}

int
rstore_export_next(struct rstore_export *ex, size_t max,
    int (*cb)(void *, const struct cid *, const uint8_t *, size_t),
    void *arg)
{
	struct cid	 c;
	size_t		 n = 0, len;
	int		 rc;

	do {
		if ((rc = sqlite3_step(ex->st)) == SQLITE_DONE)
			return 0;
		if (rc != SQLITE_ROW) {
			log_warnx("export: %s", sqlite3_errmsg(ex->db));
			return -1;
		}
		len = (size_t)sqlite3_column_bytes(ex->st, 1);
		if (column_cid(ex->st, 0, &c) == -1 || cb(arg, &c,
		    sqlite3_column_blob(ex->st, 1), len) != 0)
			return -1;
		n += len;
	} while (n < max);
	return 1;
}

int
rstore_delete_repo(sqlite3 *db, const char *did)
{
	static sqlite3_stmt	*cache[3];
	static const char	*sql[3] = {
		"DELETE FROM repo_block WHERE did = ?",
		"DELETE FROM record WHERE did = ?",
		"DELETE FROM repo_root WHERE did = ?",
	};
	sqlite3_stmt		*st;
	size_t			 i;

	for (i = 0; i < 3; i++) {
		st = db_stmt(db, &cache[i], sql[i]);
		if (st == NULL || sqlite3_bind_text(st, 1, did, -1,
		    SQLITE_STATIC) != SQLITE_OK || db_step_done(db, st) == -1)
			return -1;
	}
	return 0;
}

