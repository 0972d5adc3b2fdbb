/*
 * com.atproto.sync.*: what relays and other servers read of our
 * repositories.  Whole repositories leave as CAR files streamed from a
 * snapshot of the database, a step at a time between other work.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event.h>
#include <json.h>

#include "auth.h"
#include "blockstore.h"
#include "car.h"
#include "cid.h"
#include "dm.h"
#include "http.h"
#include "log.h"
#include "mst.h"
#include "pdsd.h"
#include "repo_store.h"
#include "syntax.h"
#include "xrpc.h"

#define NS		"com.atproto.sync."
#define CAR_TYPE	"application/vnd.ipld.car"
#define EXPORT_STEP	(256 * 1024)	/* block bytes per loop turn */
#define BLOCKS_MAX	1000		/* cids in one getBlocks */
#define REPOS_DEFAULT	500
#define REPOS_MAX	1000

static void	sync_get_repo(struct http_request *);
static void	sync_latest_commit(struct http_request *);
static void	sync_get_record(struct http_request *);
static void	sync_repo_status(struct http_request *);
static void	sync_list_repos(struct http_request *);
static void	sync_get_blocks(struct http_request *);

const struct xrpc_method xrpc_sync_methods[] = {
	{ NS "getRepo",		XRPC_QUERY,	sync_get_repo },
	{ NS "getLatestCommit",	XRPC_QUERY,	sync_latest_commit },
	{ NS "getRecord",	XRPC_QUERY,	sync_get_record },
	{ NS "getRepoStatus",	XRPC_QUERY,	sync_repo_status },
	{ NS "listRepos",	XRPC_QUERY,	sync_list_repos },
	{ NS "getBlocks",	XRPC_QUERY,	sync_get_blocks },
	{ NULL,			0,		NULL },
};

/*
 * The "did" parameter of a repository we serve to everyone: an account
 * of ours that is neither taken down nor deactivated.  0, or -1
 * answered.
 */
int
xrpc_sync_repo(struct http_request *req, const char *nsid,
    char did[DID_MAX + 1])
{
	struct auth_account	 a;
	int			 r;

	if (xrpc_param_fmt(req, nsid, "did", XRPC_FMT_DID, 1, did,
	    DID_MAX + 1) == -1)
		return -1;
	if ((r = auth_account_find(fe->db, did, &a)) == -1) {
		xrpc_internal_error(req);
		return -1;
	}
	auth_account_clear(&a);
	if (r == 1)
		xrpc_error(req, 400, "RepoNotFound",
		    "Could not find repo for DID: %s", did);
	else if (strcmp(a.status, "takendown") == 0)
		xrpc_error(req, 400, "RepoTakendown",
		    "Repo has been takendown: %s", did);
	else if (strcmp(a.status, "suspended") == 0)
		xrpc_error(req, 400, "RepoSuspended",
		    "Repo has been suspended: %s", did);
	else if (strcmp(a.status, "deactivated") == 0)
		xrpc_error(req, 400, "RepoDeactivated",
		    "Repo has been deactivated: %s", did);
	else
		return 0;
	return -1;
}

/* The root of a served repository: 0, or -1 answered. */
static int
sync_root(struct http_request *req, const char *did, struct repo_root *root)
{
	int	 r;

	if ((r = rstore_get_root(fe->db, did, root)) == -1)
		xrpc_internal_error(req);
	else if (r == 1)
		xrpc_error(req, 400, "RepoNotFound",
		    "Could not find root for DID: %s", did);
	return r == 0 ? 0 : -1;
}

/* CAR output into the response. */
static int
car_to_response(void *arg, const void *p, size_t len)
{
	return http_response_body(arg, p, len);
}

static int
block_to_response(void *arg, const struct cid *c, const uint8_t *data,
    size_t len)
{
	return car_write_block(car_to_response, arg, c, data, len);
}

static int
block_to_dmbuf(void *arg, const struct cid *c, const uint8_t *data,
    size_t len)
{
	return car_write_block(car_sink_dmbuf, arg, c, data, len);
}

/*
 * getRepo.  The blocks are read EXPORT_STEP bytes at a time on a worker
 * thread (the export has a database connection of its own); the loop
 * only sends.  One read per export is in flight at a time, since the
 * cursor is one.  Compressed, each step is a piece of the gzip stream
 * deflated apart (http_gzip_piece) on a worker too, up to EXPORT_SLOTS
 * at once, so reading, deflating and sending a large repository overlap
 * over the cores instead of taking turns on the loop; the pieces are
 * sent in the order read.  The next read starts only while a slot is
 * free and the client keeps up: past HTTP_OUT_HIGH bytes waiting for
 * it, the export waits for the connection to drain.  So a slow reader
 * costs the frontend about HTTP_OUT_HIGH, the step read and, with gzip,
 * EXPORT_SLOTS steps with their compressed copies and zlib streams
 * (about 2.5 MB at most in all), not the repository.  When the queue
 * is full of other exports' work, a read or a deflate runs on the loop,
 * a read in a turn of its own.
 */
#define EXPORT_THREADS	2
#define EXPORT_JOBS	64
#define EXPORT_SLOTS	2

struct export;

struct export_slot {
	struct export		*x;
	struct http_gzip	*gz;
	struct evbuffer		*raw;
	struct evbuffer		*z;
	uint32_t		 crc;
	size_t			 len;
	int			 last;
	int			 busy;		/* holds a step */
	int			 done;		/* compressed */
	int			 failed;
};

struct export {
	struct http_request	*req;	/* NULL once the client is gone */
	struct rstore_export	*ex;
	struct event		*ev;	/* a read on the loop, or the end */
	struct evbuffer		*piece;	/* the step read */
	int			 r;	/* what rstore_export_next said */
	int			 reading;
	int			 eof;	/* all read */
	int			 waiting;	/* for the client to drain */
	int			 level;	/* zlib's; 0: not compressed */
	int			 deflating;	/* slots on a worker */
	uint64_t		 filled;	/* steps handed to slots */
	uint64_t		 sent;		/* and sent, in order */
	uint32_t		 crc;
	uint64_t		 total;
	struct export_slot	 slot[EXPORT_SLOTS];
};

static struct workq	*exportq;

static void	export_read(struct export *);
static void	export_drained(struct http_request *);

int
xrpc_sync_init(struct event_base *base)
{
	exportq = workq_new(base, "export", EXPORT_THREADS, EXPORT_JOBS, 0,
	    NULL);
	return exportq == NULL ? -1 : 0;
}

static void
export_free(struct export *x)
{
	struct export_slot	*s;
	int			 i;

	rstore_export_close(x->ex);
	if (x->ev != NULL)
		event_free(x->ev);
	if (x->piece != NULL)
		evbuffer_free(x->piece);
	for (i = 0; i < EXPORT_SLOTS; i++) {
		s = &x->slot[i];
		http_gzip_free(s->gz);
		if (s->raw != NULL)
			evbuffer_free(s->raw);
		if (s->z != NULL)
			evbuffer_free(s->z);
	}
	free(x);
}

/* Once the client is gone or the answer ended: free when idle. */
static void
export_gone(struct export *x)
{
	if (!x->reading && x->deflating == 0)
		export_free(x);
}

/* Cut the answer short: closing early marks the CAR cut. */
static void
export_fail(struct export *x, const char *what)
{
	log_warnx("getRepo: %s failed", what);
	http_response_close(x->req);
	http_response_end(x->req);
	x->req = NULL;
	export_gone(x);
}

/* Start the next read if a slot is free and the client keeps up. */
static void
export_pump(struct export *x, size_t held)
{
	if (x->req == NULL || x->reading || x->eof || x->waiting ||
	    (x->level != 0 && x->filled - x->sent >= EXPORT_SLOTS))
		return;
	if (held > HTTP_OUT_HIGH &&
	    http_response_on_drain(x->req, export_drained) == 0) {
		x->waiting = 1;
		return;
	}
	export_read(x);
}

static void
export_drained(struct http_request *req)
{
	struct export	*x = http_request_data(req);

	x->waiting = 0;
	export_pump(x, http_response_pending(req));
}

static int
block_to_evbuffer(void *arg, const struct cid *c, const uint8_t *data,
    size_t len)
{
	return car_write_block(car_sink_evbuffer, arg, c, data, len);
}

/* On a worker: each job touches only its export's cursor or slot. */
static void
export_run(void *arg)
{
	struct export	*x = arg;

	x->r = rstore_export_next(x->ex, EXPORT_STEP, block_to_evbuffer,
	    x->piece);
}

static void
export_deflate_run(void *arg)
{
	struct export_slot	*s = arg;

	s->failed = (s->gz == NULL && (s->gz =
	    http_gzip_new_raw(s->x->level)) == NULL) ||
	    http_gzip_piece(s->gz, s->raw, s->z, s->last, &s->crc,
	    &s->len) == -1;
}

/* On the loop: send what is compressed, in order. */
static void
export_deflate_done(void *arg)
{
	struct export_slot	*s = arg;
	struct export		*x = s->x;
	uint8_t			 t[HTTP_GZIP_TRAILER];
	size_t			 held;

	s->done = 1;
	x->deflating--;
	if (x->req == NULL) {
		export_gone(x);
		return;
	}
	held = http_response_pending(x->req);
	while (x->sent < x->filled &&
	    (s = &x->slot[x->sent % EXPORT_SLOTS])->done) {
		if (s->failed) {
			export_fail(x, "compression");
			return;
		}
		x->crc = http_gzip_crc_combine(x->crc, s->crc, s->len);
		x->total += s->len;
		http_response_body_buffer(x->req, s->z);
		s->busy = s->done = 0;
		x->sent++;
		if (s->last) {
			http_gzip_trailer(t, x->crc, x->total);
			http_response_body(x->req, t, sizeof(t));
			http_response_end(x->req);
			x->req = NULL;
			export_gone(x);
			return;
		}
	}
	export_pump(x, held);
	http_response_flush(x->req);
}

static void
export_deflate(struct export *x)
{
	struct export_slot	*s = &x->slot[x->filled % EXPORT_SLOTS];

	s->x = x;
	if (s->raw == NULL && ((s->raw = evbuffer_new()) == NULL ||
	    (s->z = evbuffer_new()) == NULL)) {
		export_fail(x, "compression");
		return;
	}
	evbuffer_add_buffer(s->raw, x->piece);
	s->last = x->eof;
	s->busy = 1;
	x->filled++;
	x->deflating++;
	/* Reading the next step goes on while this one is compressed. */
	export_pump(x, http_response_pending(x->req));
	if (workq_submit(exportq, export_deflate_run, export_deflate_done,
	    s) == -1) {
		export_deflate_run(s);
		export_deflate_done(s);
	}
}

/* On the loop: a step is read. */
static void
export_done(void *arg)
{
	struct export		*x = arg;
	struct http_request	*req = x->req;
	size_t			 held;

	x->reading = 0;
	if (req == NULL) {
		export_gone(x);
		return;
	}
	if (x->r == -1) {
		export_fail(x, "export");
		return;
	}
	x->eof = x->r == 0;
	if (x->level != 0) {
		export_deflate(x);
		return;
	}
	held = http_response_pending(req);
	http_response_body_buffer(req, x->piece);
	if (x->eof) {
		http_response_end(req);
		x->req = NULL;
		export_gone(x);
		return;
	}
	export_pump(x, held);
	http_response_flush(req);
}

static void
export_read(struct export *x)
{
	x->reading = 1;
	if (workq_submit(exportq, export_run, export_done, x) == -1)
		event_active(x->ev, EV_TIMEOUT, 0);
}

/* A read on the loop, or the end of an export whose client is gone. */
static void
export_step(evutil_socket_t fd, short ev, void *arg)
{
	struct export	*x = arg;

	if (!x->reading) {
		export_gone(x);
		return;
	}
	if (x->req != NULL)
		export_run(x);
	export_done(x);
}

static void
export_abort(struct http_request *req)
{
	struct export	*x = http_request_data(req);

	x->req = NULL;
	/* Work under way frees it when done; a drain would never come. */
	if (!x->reading && x->deflating == 0)
		event_active(x->ev, EV_TIMEOUT, 0);
}

static void
sync_get_repo(struct http_request *req)
{
	const char		*nsid = NS "getRepo";
	struct export		*x;
	struct repo_root	 root;
	uint8_t			 gzh[HTTP_GZIP_HEADER];
	char			 did[DID_MAX + 1], since[TID_LEN + 2];
	int			 r, hassince;

	if (xrpc_sync_repo(req, nsid, did) == -1 ||
	    (hassince = xrpc_param_fmt(req, nsid, "since", XRPC_FMT_TID, 0,
	    since, sizeof(since))) == -1)
		return;
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		xrpc_internal_error(req);
		return;
	}
	if ((r = rstore_export_open(fe->dbpath, did, hassince ? since : NULL,
	    &root, &x->ex)) != 0 ||
	    (x->ev = evtimer_new(fe->base, export_step, x)) == NULL ||
	    (x->piece = evbuffer_new()) == NULL) {
		if (r == 1)
			xrpc_error(req, 400, "RepoNotFound",
			    "Could not find root for DID: %s", did);
		else
			xrpc_internal_error(req);
		export_free(x);
		return;
	}
	x->req = req;
	http_request_set_data(req, x);
	http_request_on_abort(req, export_abort);
	http_response_start(req, 200, CAR_TYPE);
	if ((x->level = http_response_gzip_own(req)) != 0) {
		http_gzip_header(gzh);
		http_response_body(req, gzh, sizeof(gzh));
	}
	car_write_header(car_sink_evbuffer, x->piece, &root.commit, 1);
	export_read(x);
	/*
	 * The head now, not with the first step: the client learns the
	 * status and starts reading some 2 ms (identity) or 4-8 ms (gzip:
	 * two steps read and deflated) sooner.
	 */
	http_response_flush(req);
}

static void
sync_latest_commit(struct http_request *req)
{
	struct json_object	*o;
	struct repo_root	 root;
	char			 did[DID_MAX + 1], cs[CID_STRSZ];

	if (xrpc_sync_repo(req, NS "getLatestCommit", did) == -1 ||
	    sync_root(req, did, &root) == -1)
		return;
	cid_to_str(&root.commit, cs, sizeof(cs));
	o = json_object_new_object();
	json_object_object_add(o, "cid", json_object_new_string(cs));
	json_object_object_add(o, "rev", json_object_new_string(root.rev));
	xrpc_reply_json(req, 200, o);
}

/*
 * getRecord: the commit, the MST nodes that prove the key present or
 * absent, and the record if there is one.
 */
static int
record_car(const char *did, const struct repo_root *root, const char *key,
    struct dm_buf *b)
{
	struct rstore_bs	 rb;
	struct blockstore	 bs;
	struct memstore		*proof;
	struct cid		 rc;
	uint8_t			*data = NULL;
	size_t			 len;
	int			 r, rv = -1;

	rb.db = fe->db;
	rb.did = did;
	rb.rev = "";
	rstore_blockstore(&rb, &bs);
	if ((proof = memstore_new()) == NULL)
		return -1;
	if (mst_covering_proof(&bs, &root->data, key, strlen(key),
	    proof) == -1 || (r = mst_get(&bs, &root->data, key, strlen(key),
	    &rc)) == -1)
		goto out;
	if (r == 0 && (blockstore_get(&bs, &rc, &data, &len) != 0 ||
	    memstore_put(proof, &rc, data, len) == -1))
		goto out;
	free(data);
	data = NULL;
	if (blockstore_get(&bs, &root->commit, &data, &len) != 0 ||
	    car_write_header(car_sink_dmbuf, b, &root->commit, 1) == -1 ||
	    car_write_block(car_sink_dmbuf, b, &root->commit, data,
	    len) == -1 || memstore_foreach(proof, block_to_dmbuf, b) != 0)
		goto out;
	rv = 0;
out:
	free(data);
	memstore_free(proof);
	return rv;
}

static void
sync_get_record(struct http_request *req)
{
	const char		*nsid = NS "getRecord";
	struct repo_root	 root;
	struct dm_buf		 b = { NULL, 0, 0 };
	char			 did[DID_MAX + 1], coll[NSID_MAX + 1];
	char			 rkey[RKEY_MAX + 1], key[NSID_MAX + RKEY_MAX + 2];

	if (xrpc_sync_repo(req, nsid, did) == -1 ||
	    xrpc_param_fmt(req, nsid, "collection", XRPC_FMT_NSID, 1, coll,
	    sizeof(coll)) == -1 || xrpc_param_fmt(req, nsid, "rkey",
	    XRPC_FMT_RKEY, 1, rkey, sizeof(rkey)) == -1 ||
	    sync_root(req, did, &root) == -1)
		return;
	snprintf(key, sizeof(key), "%s/%s", coll, rkey);
	if (record_car(did, &root, key, &b) == -1)
		xrpc_internal_error(req);
	else
		http_reply(req, 200, CAR_TYPE, b.p, b.len);
	dm_buf_free(&b);
}

static void
sync_repo_status(struct http_request *req)
{
	const char		*nsid = NS "getRepoStatus";
	struct json_object	*o;
	struct auth_account	 a;
	struct repo_root	 root;
	char			 did[DID_MAX + 1];
	int			 r, active;

	if (xrpc_param_fmt(req, nsid, "did", XRPC_FMT_DID, 1, did,
	    sizeof(did)) == -1)
		return;
	if ((r = auth_account_find(fe->db, did, &a)) == -1) {
		xrpc_internal_error(req);
		return;
	}
	auth_account_clear(&a);
	if (r == 1) {
		xrpc_error(req, 400, "RepoNotFound",
		    "Could not find repo for DID: %s", did);
		return;
	}
	active = auth_account_active(&a);
	if (active && (r = rstore_get_root(fe->db, a.did, &root)) == -1) {
		xrpc_internal_error(req);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "did", json_object_new_string(a.did));
	json_object_object_add(o, "active", json_object_new_boolean(active));
	if (!active)
		json_object_object_add(o, "status",
		    json_object_new_string(a.status));
	else if (r == 0)
		json_object_object_add(o, "rev",
		    json_object_new_string(root.rev));
	xrpc_reply_json(req, 200, o);
}

struct repo_listing {
	struct json_object	*repos;
	char			 last[DID_MAX + 1];
};

static int
list_repo(void *arg, const char *did, const char *status,
    const struct repo_root *root)
{
	struct repo_listing	*l = arg;
	struct json_object	*r;
	char			 cs[CID_STRSZ];
	int			 active = strcmp(status, "active") == 0;

	if (cid_to_str(&root->commit, cs, sizeof(cs)) == -1)
		return -1;
	r = json_object_new_object();
	json_object_object_add(r, "did", json_object_new_string(did));
	json_object_object_add(r, "head", json_object_new_string(cs));
	json_object_object_add(r, "rev", json_object_new_string(root->rev));
	json_object_object_add(r, "active", json_object_new_boolean(active));
	if (!active)
		json_object_object_add(r, "status",
		    json_object_new_string(status));
	json_object_array_add(l->repos, r);
	strlcpy(l->last, did, sizeof(l->last));
	return 0;
}

static void
sync_list_repos(struct http_request *req)
{
	const char		*nsid = NS "listRepos";
	struct json_object	*o;
	struct repo_listing	 l;
	char			 cursor[DID_MAX + 1];
	long long		 limit;
	int			 hascur;

	if (xrpc_param_int(req, nsid, "limit", 1, REPOS_MAX, REPOS_DEFAULT,
	    &limit) == -1 || (hascur = xrpc_param_fmt(req, nsid, "cursor",
	    XRPC_FMT_ANY, 0, cursor, sizeof(cursor))) == -1)
		return;
	memset(&l, 0, sizeof(l));
	l.repos = json_object_new_array();
	if (rstore_list_repos(fe->db, hascur ? cursor : NULL, (int)limit,
	    list_repo, &l) != 0) {
		json_object_put(l.repos);
		xrpc_internal_error(req);
		return;
	}
	o = json_object_new_object();
	if (l.last[0] != '\0')
		json_object_object_add(o, "cursor",
		    json_object_new_string(l.last));
	json_object_object_add(o, "repos", l.repos);
	xrpc_reply_json(req, 200, o);
}

/*
 * getBlocks: the blocks asked for, all or none, in a CAR with no root.
 */
static int
blocks_params(struct http_request *req, const char *nsid, struct cid *cids,
    size_t *n)
{
	char		 s[CIDSTR_MAX + 2];
	size_t		 iter = 0;
	int		 r;

	*n = 0;
	while ((r = http_query_next(http_request_query(req), "cids", &iter,
	    s, sizeof(s))) == 1) {
		if (*n == BLOCKS_MAX) {
			xrpc_error(req, 400, "InvalidRequest", "Invalid %s "
			    "params: Array too long (maximum %d)", nsid,
			    BLOCKS_MAX);
			return -1;
		}
		if (cid_from_str(&cids[*n], s, strlen(s), NULL) == -1) {
			xrpc_error(req, 400, "InvalidRequest", "Invalid %s "
			    "params: Invalid CID (got \"%s\")", nsid, s);
			return -1;
		}
		(*n)++;
	}
	if (r == -1)
		xrpc_error(req, 400, "InvalidRequest", "Invalid %s params: "
		    "malformed or too long \"cids\"", nsid);
	else if (*n == 0)
		xrpc_error(req, 400, "InvalidRequest", "Invalid %s params: "
		    "Missing required key \"cids\"", nsid);
	return r == -1 || *n == 0 ? -1 : 0;
}

/* Names the missing blocks in the error; 0 if all are there. */
static int
blocks_missing(struct http_request *req, const char *did,
    const struct cid *cids, size_t n)
{
	struct dm_buf	 b = { NULL, 0, 0 };
	uint8_t		*data;
	size_t		 i, len;
	int		 r;

	for (i = 0; i < n; i++) {
		if ((r = rstore_get_block(fe->db, did, &cids[i], &data,
		    &len)) == -1) {
			dm_buf_free(&b);
			xrpc_internal_error(req);
			return -1;
		}
		if (r == 0) {
			free(data);
			continue;
		}
		if ((b.len > 0 && dm_buf_add(&b, ",", 1) == -1) ||
		    dm_buf_add(&b, cid_fmt(&cids[i]),
		    strlen(cid_fmt(&cids[i]))) == -1)
			break;
	}
	if (b.len > 0)
		xrpc_error(req, 400, "InvalidRequest",
		    "Could not find cids: %.*s", (int)b.len, b.p);
	r = b.len > 0 ? -1 : 0;
	dm_buf_free(&b);
	return r;
}

static void
sync_get_blocks(struct http_request *req)
{
	const char	*nsid = NS "getBlocks";
	struct cid	*cids;
	uint8_t		*data;
	char		 did[DID_MAX + 1];
	size_t		 i, n, len;

	if (xrpc_sync_repo(req, nsid, did) == -1)
		return;
	if ((cids = calloc(BLOCKS_MAX, sizeof(*cids))) == NULL) {
		xrpc_internal_error(req);
		return;
	}
	if (blocks_params(req, nsid, cids, &n) == -1 ||
	    blocks_missing(req, did, cids, n) == -1)
		goto out;
	http_response_start(req, 200, CAR_TYPE);
	car_write_header(car_to_response, req, NULL, 0);
	for (i = 0; i < n; i++) {
		if (rstore_get_block(fe->db, did, &cids[i], &data, &len) != 0)
			break;
		block_to_response(req, &cids[i], data, len);
		free(data);
		http_response_flush(req);
	}
	if (i < n)
		http_response_close(req);
	http_response_end(req);
out:
	free(cids);
}
