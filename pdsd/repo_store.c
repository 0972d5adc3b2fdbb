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
	if (st == NULL || sqlite3_bind_text(st, 1, did, -1,
	    SQLITE_STATIC) != SQLITE_OK || bind_cid(st, 2, cid) == -1)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_DONE) {
		sqlite3_reset(st);
		return 1;
	}
	if (rc != SQLITE_ROW) {
		log_warnx("get block: %s", sqlite3_errmsg(db));
		sqlite3_reset(st);
		return -1;
	}
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

/* Keeps an existing block as it is: the same CID is the same bytes. */
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

int
rstore_del_block(sqlite3 *db, const char *did, const struct cid *cid)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;

	st = db_stmt(db, &cache,
	    "DELETE FROM repo_block WHERE did = ? AND cid = ?");
	if (st == NULL || sqlite3_bind_text(st, 1, did, -1,
	    SQLITE_STATIC) != SQLITE_OK || bind_cid(st, 2, cid) == -1)
		return -1;
	return db_step_done(db, st);
}

/* 0 found, 1 no repository, -1 error. */
int
rstore_get_root(sqlite3 *db, const char *did, struct repo_root *root)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	const char		*rev;
	int			 rc, rv = -1;

	st = db_stmt(db, &cache, "SELECT commit_cid, data_cid, rev "
	    "FROM repo_root WHERE did = ?");
	if (st == NULL || sqlite3_bind_text(st, 1, did, -1,
	    SQLITE_STATIC) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		rv = 1;
	else if (rc == SQLITE_ROW) {
		rev = (const char *)sqlite3_column_text(st, 2);
		if (column_cid(st, 0, &root->commit) == 0 &&
		    column_cid(st, 1, &root->data) == 0 && rev != NULL &&
		    strlcpy(root->rev, rev, sizeof(root->rev)) <
		    sizeof(root->rev))
			rv = 0;
	} else
		log_warnx("get root: %s", sqlite3_errmsg(db));
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
	int			 rc, rv = -1;

	st = db_stmt(db, &cache, "SELECT cid FROM record "
	    "WHERE did = ? AND collection = ? AND rkey = ?");
	if (st == NULL ||
	    sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, collection, -1, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_text(st, 3, rkey, -1, SQLITE_STATIC) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		rv = 1;
	else if (rc == SQLITE_ROW)
		rv = column_cid(st, 0, cid);
	else
		log_warnx("get record: %s", sqlite3_errmsg(db));
	sqlite3_reset(st);
	return rv;
}

/* 1 if a record of the repository has this CID, 0 if none, -1 error. */
int
rstore_cid_referenced(sqlite3 *db, const char *did, const struct cid *cid)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	int			 rc, rv = -1;

	st = db_stmt(db, &cache,
	    "SELECT 1 FROM record WHERE did = ? AND cid = ? LIMIT 1");
	if (st == NULL || sqlite3_bind_text(st, 1, did, -1,
	    SQLITE_STATIC) != SQLITE_OK || bind_cid(st, 2, cid) == -1)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rv = 1;
	else if (rc == SQLITE_DONE)
		rv = 0;
	else
		log_warnx("record cid: %s", sqlite3_errmsg(db));
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
	bs->arg = rb;
}
