/*
 * The event log: every change a relay must hear of, written as the
 * frame body it will be sent as, inside the transaction of the change
 * itself, so nothing is sent that was not committed and nothing
 * committed is missing.  Sequence numbers come from the log's own
 * maximum: all writers are this one process, one transaction at a time.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "blockstore.h"
#include "car.h"
#include "cbor.h"
#include "cid.h"
#include "dm.h"
#include "log.h"
#include "pdsd.h"
#include "repo.h"

static int64_t	last_seq = -1;	/* cached after the first read */

static int64_t
next_seq(sqlite3 *db)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;

	if (last_seq < 0) {
		if ((st = db_stmt(db, &cache,
		    "SELECT coalesce(max(seq), 0) FROM repo_seq")) == NULL ||
		    sqlite3_step(st) != SQLITE_ROW) {
			log_warnx("event seq: %s", sqlite3_errmsg(db));
			return -1;
		}
		last_seq = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	return last_seq + 1;
}

/* A rolled-back transaction must not leave the cache ahead: reread. */
void
events_forget_seq(void)
{
	last_seq = -1;
}

int64_t
events_last_seq(sqlite3 *db)
{
	int64_t	 n;

	if ((n = next_seq(db)) == -1)
		return -1;
	return n - 1;
}

static int
events_insert(sqlite3 *db, int64_t seq, const char *did, const char *type,
    struct dm *payload)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	uint8_t			*p;
	size_t			 len;
	char			 now[32];
	int			 rv;

	if (dm_map_set(payload, "seq", dm_int(seq)) == -1 ||
	    (p = dm_cbor_encode_mem(payload, &len)) == NULL)
		return -1;
	db_now(now, sizeof(now));
	st = db_stmt(db, &cache, "INSERT INTO repo_seq "
	    "(seq, did, type, payload, created_at) VALUES (?, ?, ?, ?, ?)");
	if (st == NULL) {
		free(p);
		return -1;
	}
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_text(st, 2, did, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, p, (int)len, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	rv = db_step_done(db, st);
	free(p);
	if (rv == 0)
		last_seq = seq;
	return rv;
}

static struct dm *
event_base(const char *didkey, const char *did, int64_t *seq, sqlite3 *db)
{
	struct dm	*m;
	char		 now[32];

	if ((*seq = next_seq(db)) == -1 || (m = dm_map()) == NULL)
		return NULL;
	db_now(now, sizeof(now));
	dm_map_set(m, didkey, dm_str(did));
	dm_map_set(m, "time", dm_str(now));
	return m;
}

int
events_identity(sqlite3 *db, const char *did, const char *handle)
{
	struct dm	*m;
	int64_t		 seq;
	int		 rv;

	if ((m = event_base("did", did, &seq, db)) == NULL)
		return -1;
	if (handle != NULL)
		dm_map_set(m, "handle", dm_str(handle));
	rv = events_insert(db, seq, did, "#identity", m);
	dm_free(m);
	return rv;
}

/* status NULL: active. */
int
events_account(sqlite3 *db, const char *did, const char *status)
{
	struct dm	*m;
	int64_t		 seq;
	int		 rv;

	if ((m = event_base("did", did, &seq, db)) == NULL)
		return -1;
	dm_map_set(m, "active", dm_bool(status == NULL));
	if (status != NULL)
		dm_map_set(m, "status", dm_str(status));
	rv = events_insert(db, seq, did, "#account", m);
	dm_free(m);
	return rv;
}

static int
car_block_once(struct dm_buf *car, struct memstore *seen,
    const struct cid *c, const uint8_t *data, size_t len)
{
	if (memstore_has(seen, c))
		return 0;
	if (memstore_put(seen, c, (const uint8_t *)"", 0) == -1)
		return -1;
	return car_write_block(car_sink_dmbuf, car, c, data, len);
}

struct car_ctx {
	struct dm_buf	*car;
	struct memstore	*seen;
};

static int
car_add(void *arg, const struct cid *c, const uint8_t *data, size_t len)
{
	struct car_ctx	*cc = arg;

	return car_block_once(cc->car, cc->seen, c, data, len) == 0 ? 0 : -1;
}

/*
 * The commit's CAR slice: the commit first, then the MST nodes a
 * consumer needs to invert the ops (new nodes and covering proofs),
 * then the records written.
 */
static int
commit_car(struct repo_write *w, struct dm_buf *car)
{
	struct car_ctx	 cc;
	const uint8_t	*p;
	size_t		 len;
	int		 rv = -1;

	cc.car = car;
	if ((cc.seen = memstore_new()) == NULL)
		return -1;
	if (memstore_peek(w->blocks, &w->new_root.commit, &p, &len) != 0 ||
	    car_write_header(car_sink_dmbuf, car, &w->new_root.commit,
	    1) == -1 ||
	    car_block_once(car, cc.seen, &w->new_root.commit, p, len) == -1)
		goto out;
	if (w->proof != NULL && memstore_foreach(w->proof, car_add, &cc) != 0)
		goto out;
	if (memstore_foreach(w->blocks, car_add, &cc) != 0)
		goto out;
	rv = 0;
out:
	memstore_free(cc.seen);
	return rv;
}

static struct dm *
commit_ops(struct repo_write *w)
{
	struct dm	*ops, *o;
	struct repo_op	*op;
	char		 path[NSID_MAX + RKEY_MAX + 2];
	size_t		 i;

	ops = dm_array();
	for (i = 0; i < w->nops; i++) {
		op = &w->ops[i];
		snprintf(path, sizeof(path), "%s/%s", op->collection,
		    op->rkey);
		o = dm_map();
		dm_map_set(o, "path", dm_str(path));
		if (op->action == REPO_DELETE) {
			dm_map_set(o, "action", dm_str("delete"));
			dm_map_set(o, "cid", dm_null());
		} else {
			dm_map_set(o, "action", dm_str(op->has_prev ?
			    "update" : "create"));
			dm_map_set(o, "cid", dm_link(&op->cid));
		}
		if (op->has_prev)
			dm_map_set(o, "prev", dm_link(&op->prev));
		dm_array_push(ops, o);
	}
	return ops;
}

/* The #commit event of a write (inside its transaction). */
int
events_commit(sqlite3 *db, struct repo_write *w)
{
	struct dm_buf	 car = { NULL, 0, 0 };
	struct dm	*m;
	int64_t		 seq;
	int		 rv = -1;

	if ((m = event_base("repo", w->did, &seq, db)) == NULL)
		return -1;
	if (commit_car(w, &car) == -1)
		goto out;
	dm_map_set(m, "rebase", dm_bool(0));
	dm_map_set(m, "tooBig", dm_bool(0));
	dm_map_set(m, "commit", dm_link(&w->new_root.commit));
	dm_map_set(m, "rev", dm_str(w->new_root.rev));
	dm_map_set(m, "since", w->has_old ? dm_str(w->old_root.rev) :
	    dm_null());
	dm_map_set(m, "blocks", dm_bytes(car.p, car.len));
	dm_map_set(m, "ops", commit_ops(w));
	dm_map_set(m, "blobs", dm_array());
	if (w->has_old)
		dm_map_set(m, "prevData", dm_link(&w->old_root.data));
	rv = events_insert(db, seq, w->did, "#commit", m);
out:
	dm_buf_free(&car);
	dm_free(m);
	return rv;
}

/* #sync: the repository's current commit, alone (inside a transaction). */
int
events_sync(sqlite3 *db, const char *did, const struct cid *commit,
    const uint8_t *data, size_t len, const char *rev)
{
	struct dm_buf	 car = { NULL, 0, 0 };
	struct dm	*m;
	int64_t		 seq;
	int		 rv = -1;

	if ((m = event_base("did", did, &seq, db)) == NULL)
		return -1;
	if (car_write_header(car_sink_dmbuf, &car, commit, 1) == -1 ||
	    car_write_block(car_sink_dmbuf, &car, commit, data, len) == -1)
		goto out;
	dm_map_set(m, "rev", dm_str(rev));
	dm_map_set(m, "blocks", dm_bytes(car.p, car.len));
	rv = events_insert(db, seq, did, "#sync", m);
out:
	dm_buf_free(&car);
	dm_free(m);
	return rv;
}

/* Hooks for the firehose: called after every commit of new events. */
static void	(*notify_cb)(void);

void
events_set_notify(void (*cb)(void))
{
	notify_cb = cb;
}

void
events_notify(void)
{
	if (notify_cb != NULL)
		notify_cb();
}
