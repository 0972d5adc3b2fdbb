/*
 * The firehose: com.atproto.sync.subscribeRepos.  Every frame is the
 * stored event row sent as it is, behind a small header; the payload
 * is never decoded or encoded again.
 *
 * A consumer with a cursor first replays the log from the database in
 * pages, each read only once the previous one has drained from its
 * socket, so a slow reader never holds more than a page in memory and
 * never blocks the loop.  When a page comes back short it is caught up
 * and joins the live consumers.  Live events are read from the log once
 * per commit (after the writer's transaction), framed once, and that
 * one buffer is queued by reference on every live consumer (all the
 * events that came since the last fan-out in one write each); each
 * connection remembers the last seq it was sent, which is what keeps
 * the switch from replay to live free of gaps and duplicates.  A live
 * consumer with FH_MAX_QUEUED events not yet written to its socket (the
 * reference's bound), or FH_MAX_PENDING bytes (the frames it pins), is
 * told ConsumerTooSlow and dropped: it never slows writers or the
 * others.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <errno.h>
#include <event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "cbor.h"
#include "dm.h"
#include "firehose.h"
#include "http.h"
#include "log.h"
#include "pdsd.h"
#include "repo.h"
#include "websocket.h"
#include "xrpc.h"

#define FH_PAGE_ROWS	500		/* rows per replay read */
#define FH_FILL_HIWAT	(1024 * 1024)	/* replay: stop a page here */
#define FH_MAX_QUEUED	500		/* live: ConsumerTooSlow */
#define FH_MAX_PENDING	(16 * 1024 * 1024) /* and on the bytes pinned */
#define FH_PRUNE_SEC	600		/* between prune runs */
#define FH_PRUNE_FIRST	1		/* first run after start */
#define FH_PRUNE_ROWS	1000		/* rows deleted per statement */
#define FH_CURSOR_LEN	32
#define FH_MAX_CONSUMERS 4096		/* past the HTTP layer's cap */
#define FH_BATCH	64		/* live events per fan-out */

struct fh_conn {
	TAILQ_ENTRY(fh_conn)	 entry;
	struct ws		*ws;
	int64_t			 last;	/* seq of the last event sent */
	int			 live;	/* caught up: fed by the broadcast */
};

static TAILQ_HEAD(, fh_conn)	 conns = TAILQ_HEAD_INITIALIZER(conns);
static unsigned int		 nconns;
static int			 started;
static int64_t			 hub_last;	/* last seq broadcast */
static struct event		*ev_notify, *ev_prune;
static struct dm_buf		 frame;		/* the frame being sent */

/* Headers, encoded once: index by fh_types; the last is the error one. */
static const char	*fh_types[] = {
	"#commit", "#sync", "#identity", "#account", "#info", NULL
};
#define FH_NHDR	(sizeof(fh_types) / sizeof(fh_types[0]))
static struct dm_buf	 fh_hdr[FH_NHDR];

static void	fh_subscribe(struct http_request *);

const struct xrpc_method xrpc_firehose_methods[] = {
	{ "com.atproto.sync.subscribeRepos", XRPC_SUBSCRIPTION,
	    fh_subscribe },
	{ NULL, 0, NULL },
};

/* {"t": type, "op": 1}, or {"op": -1} for type NULL. */
static int
hdr_encode(const char *type, struct dm_buf *b)
{
	struct dm	*m;
	int		 rv;

	if ((m = dm_map()) == NULL)
		return -1;
	if (type != NULL)
		dm_map_set(m, "t", dm_str(type));
	dm_map_set(m, "op", dm_int(type != NULL ? 1 : -1));
	rv = dm_cbor_encode(m, b);
	dm_free(m);
	return rv;
}

static const struct dm_buf *
hdr_for(const char *type)
{
	size_t	 i;

	for (i = 0; fh_types[i] != NULL; i++)
		if (strcmp(fh_types[i], type) == 0)
			return &fh_hdr[i];
	return NULL;
}

/* Header and a two-string map body, for #info and errors. */
static int
small_frame(const struct dm_buf *hdr, const char *k1, const char *v1,
    const char *k2, const char *v2, struct dm_buf *out)
{
	struct dm	*m;
	int		 rv;

	if ((m = dm_map()) == NULL)
		return -1;
	dm_map_set(m, k1, dm_str(v1));
	dm_map_set(m, k2, dm_str(v2));
	rv = dm_buf_add(out, hdr->p, hdr->len) == -1 ? -1 :
	    dm_cbor_encode(m, out);
	dm_free(m);
	return rv;
}

static void
fh_unlive(struct fh_conn *c)
{
	c->live = 0;
	c->last = INT64_MAX;	/* nothing more is for it */
}

/* An error frame, then close 1008 with the error's name. */
static void
fh_error(struct fh_conn *c, const char *name, const char *msg)
{
	struct dm_buf	 b = { NULL, 0, 0 };

	fh_unlive(c);
	if (small_frame(&fh_hdr[FH_NHDR - 1], "error", name, "message", msg,
	    &b) == 0)
		ws_send_binary(c->ws, b.p, b.len);
	dm_buf_free(&b);
	ws_close(c->ws, WS_CODE_POLICY, name);
}

static void
fh_info(struct fh_conn *c, const char *name, const char *msg)
{
	struct dm_buf	 b = { NULL, 0, 0 };

	if (small_frame(hdr_for("#info"), "name", name, "message", msg,
	    &b) == 0)
		ws_send_binary(c->ws, b.p, b.len);
	dm_buf_free(&b);
}

/* The frame of the current row into `frame'; 0, or -1 to skip it. */
static int
frame_row(sqlite3_stmt *st)
{
	const struct dm_buf	*hdr;
	const char		*type;
	const void		*p;
	int			 len;

	type = (const char *)sqlite3_column_text(st, 1);
	p = sqlite3_column_blob(st, 2);
	len = sqlite3_column_bytes(st, 2);
	if (type == NULL || (hdr = hdr_for(type)) == NULL || len <= 0) {
		log_warnx("firehose: event %lld: bad row",
		    (long long)sqlite3_column_int64(st, 0));
		return -1;
	}
	frame.len = 0;
	if (dm_buf_add(&frame, hdr->p, hdr->len) == -1 ||
	    dm_buf_add(&frame, p, (size_t)len) == -1)
		return -1;
	return 0;
}

static sqlite3_stmt *
page_stmt(int64_t after)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;

	if ((st = db_stmt(fe->db, &cache, "SELECT seq, type, payload "
	    "FROM repo_seq WHERE seq > ? ORDER BY seq LIMIT ?")) == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, FH_PAGE_ROWS);
	return st;
}

/*
 * One replay page.  Returns 1 if there may be more, 0 when caught up,
 * -1 on a database error.
 */
static int
fh_page(struct fh_conn *c)
{
	sqlite3_stmt	*st;
	int64_t		 seq;
	int		 rc, n = 0;

	if ((st = page_stmt(c->last)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n++;
		seq = sqlite3_column_int64(st, 0);
		if (frame_row(st) == 0 &&
		    ws_send_binary(c->ws, frame.p, frame.len) == -1)
			break;
		c->last = seq;
		if (ws_pending(c->ws) > FH_FILL_HIWAT)
			break;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_warnx("firehose replay: %s", sqlite3_errmsg(fe->db));
		return -1;
	}
	return rc == SQLITE_DONE && n < FH_PAGE_ROWS ? 0 : 1;
}

/* Replay until the socket has enough to chew on, or go live. */
static void
fh_fill(struct fh_conn *c)
{
	int	 r;

	while (!c->live && ws_is_open(c->ws)) {
		if ((r = fh_page(c)) == -1) {
			fh_error(c, "InternalServerError",
			    "Internal Server Error");
			return;
		}
		if (r == 0) {
			/* Nothing after c->last is stored: all that comes
			 * next is the broadcast's. */
			c->live = 1;
			return;
		}
		if (ws_pending(c->ws) > 0)
			return;		/* the drain callback goes on */
	}
}

static void
fh_drain(struct ws *ws, void *arg)
{
	struct fh_conn	*c = arg;

	if (!c->live)
		fh_fill(c);
}

static void
fh_closed(struct ws *ws, void *arg)
{
	struct fh_conn	*c = arg;

	TAILQ_REMOVE(&conns, c, entry);
	nconns--;
	free(c);
}

/*
 * A consumer's share of a batch, frame by frame as each came: before
 * each, the bound on what it has not yet taken.
 */
static void
fh_send_each(struct fh_conn *c, struct ws_frame **f, const int64_t *seq,
    size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (ws_queued_frames(c->ws) >= FH_MAX_QUEUED ||
		    ws_pending(c->ws) > FH_MAX_PENDING) {
			log_info("firehose: consumer too slow, dropped");
			fh_error(c, "ConsumerTooSlow", "Stream consumer too "
			    "slow");
			return;
		}
		if (ws_send_frame(c->ws, f[i]) == 0)
			c->last = seq[i];
	}
}

/*
 * The batch (events seq[0..n-1], framed, `bytes' long together) to every
 * live consumer, each its share behind its last.  A consumer holding
 * nothing unsent cannot cross a bound within the batch (fewer frames
 * than FH_MAX_QUEUED, fewer bytes than FH_MAX_PENDING), so its share
 * goes in one write; any other takes the frames one at a time, the
 * bound checked before each.
 */
static void
fh_fanout(struct ws_frame **f, const int64_t *seq, size_t n, size_t bytes)
{
	struct fh_conn	*c;
	size_t		 i;

	TAILQ_FOREACH(c, &conns, entry) {
		if (!c->live || c->last >= seq[n - 1])
			continue;
		for (i = 0; seq[i] <= c->last; i++)
			;
		if (bytes > FH_MAX_PENDING || ws_queued_frames(c->ws) > 0 ||
		    ws_pending(c->ws) > 0) {
			fh_send_each(c, f + i, seq + i, n - i);
			continue;
		}
		if (ws_send_frames(c->ws, f + i, n - i) == 0)
			c->last = seq[n - 1];
	}
}

/*
 * After commits: read the new rows once and send them to all.  All the
 * rows there are go out together: those that came while the loop was
 * busy with the last batch cost each consumer one write, not one each,
 * and nothing waits for more to come.
 */
static void
fh_broadcast(evutil_socket_t fd, short ev, void *arg)
{
	struct ws_frame	*f[FH_BATCH];
	int64_t		 seq[FH_BATCH];
	sqlite3_stmt	*st;
	size_t		 i, n = 0, bytes = 0;
	int		 rc = SQLITE_DONE, rows = 0;

	if (TAILQ_EMPTY(&conns)) {
		if ((seq[0] = events_last_seq(fe->db)) >= 0)
			hub_last = seq[0];
		return;
	}
	if ((st = page_stmt(hub_last)) == NULL)
		return;
	while (n < FH_BATCH && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rows++;
		seq[n] = sqlite3_column_int64(st, 0);
		hub_last = seq[n];
		if (frame_row(st) == -1)
			continue;
		if ((f[n] = ws_frame_new(frame.p, frame.len)) == NULL) {
			log_warn("firehose: event %lld", (long long)seq[n]);
			continue;
		}
		bytes += frame.len + 10;	/* and at most its head */
		n++;
	}
	sqlite3_reset(st);
	if (n > 0)
		fh_fanout(f, seq, n, bytes);
	for (i = 0; i < n; i++)
		ws_frame_unref(f[i]);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		log_warnx("firehose: %s", sqlite3_errmsg(fe->db));
	else if (n == FH_BATCH || rows == FH_PAGE_ROWS)
		/* A big burst: the rest on the next loop turn. */
		event_active(ev_notify, EV_TIMEOUT, 0);
}

static void
fh_notify(void)
{
	/* Not from inside the writer: coalesce and run from the loop. */
	event_active(ev_notify, EV_TIMEOUT, 0);
}

/* created_at strings sort as times (db_now's format). */
static void
prune_cutoff(char *buf, size_t len)
{
	time_t		 t = time(NULL);
	struct tm	 tm;

	/* "firehose retention" in pdsd.conf, in hours. */
	if (fe->cfg.fh_retention > 0)
		t -= (time_t)fe->cfg.fh_retention * 3600;
	else
		t -= PDSD_RETENTION_DEFAULT * 3600;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

/*
 * Old events go in small batches, each its own short transaction, so
 * writers wait for at most one.  The newest row always stays: the next
 * seq is its successor, and a seq must never be used twice.
 */
static void
fh_prune(evutil_socket_t fd, short ev, void *arg)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct timeval		 tv = { FH_PRUNE_SEC, 0 };
	char			 cutoff[32];
	int			 n = 0;

	prune_cutoff(cutoff, sizeof(cutoff));
	st = db_stmt(fe->db, &cache, "DELETE FROM repo_seq WHERE seq IN "
	    "(SELECT seq FROM repo_seq WHERE created_at < ? AND "
	    "seq < (SELECT max(seq) FROM repo_seq) "
	    "ORDER BY created_at, seq LIMIT ?)");
	if (st != NULL) {
		sqlite3_bind_text(st, 1, cutoff, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 2, FH_PRUNE_ROWS);
		if (db_step_done(fe->db, st) == 0)
			n = sqlite3_changes(fe->db);
	}
	if (n > 0)
		log_debug("firehose: pruned %d events before %s", n, cutoff);
	if (n == FH_PRUNE_ROWS) {
		tv.tv_sec = 0;
		tv.tv_usec = 100000;
	}
	evtimer_add(ev_prune, &tv);
}

int
firehose_init(void)
{
	struct timeval	 tv = { FH_PRUNE_FIRST, 0 };
	size_t		 i;

	if (started)
		return 0;
	for (i = 0; i < FH_NHDR; i++)
		if (hdr_encode(fh_types[i], &fh_hdr[i]) == -1)
			return -1;
	if ((hub_last = events_last_seq(fe->db)) < 0)
		return -1;
	if ((ev_notify = evtimer_new(fe->base, fh_broadcast, NULL)) == NULL ||
	    (ev_prune = evtimer_new(fe->base, fh_prune, NULL)) == NULL)
		return -1;
	evtimer_add(ev_prune, &tv);
	events_set_notify(fh_notify);
	started = 1;
	return 0;
}

unsigned int
firehose_nconsumers(void)
{
	return nconns;
}

static int64_t
oldest_seq(void)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	int64_t			 n = -1;

	if ((st = db_stmt(fe->db, &cache,
	    "SELECT coalesce(min(seq), 0) FROM repo_seq")) == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

/* 1 and *v, 0 absent, -1 malformed. */
static int
parse_cursor(struct http_request *req, int64_t *v)
{
	char		 buf[FH_CURSOR_LEN];
	char		*end;
	long long	 n;
	int		 r;

	if ((r = http_query_get(http_request_query(req), "cursor", buf,
	    sizeof(buf))) != 1)
		return r;
	if (buf[0] < '0' || buf[0] > '9')
		return -1;
	errno = 0;
	n = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0' || n > DM_SAFEINT)
		return -1;
	*v = n;
	return 1;
}

/* Where a new consumer starts; it may be told why it cannot. */
static void
fh_start(struct fh_conn *c, int has_cursor, int64_t cursor)
{
	int64_t	 last, oldest;

	if ((last = events_last_seq(fe->db)) < 0 ||
	    (has_cursor && (oldest = oldest_seq()) < 0)) {
		fh_error(c, "InternalServerError", "Internal Server Error");
		return;
	}
	if (!has_cursor) {
		c->last = last;
		c->live = 1;
		return;
	}
	if (cursor > last) {
		fh_error(c, "FutureCursor", "Cursor in the future.");
		return;
	}
	if (oldest > 0 && cursor < oldest - 1) {
		fh_info(c, "OutdatedCursor", "Requested cursor exceeded "
		    "limit. Possibly missing events");
		cursor = oldest - 1;
	}
	c->last = cursor;
	fh_fill(c);
}

static void
fh_subscribe(struct http_request *req)
{
	static const struct ws_cbs	 cbs = { fh_drain, NULL, fh_closed };
	struct fh_conn			*c;
	int64_t				 cursor = 0;
	int				 r;

	if (nconns >= FH_MAX_CONSUMERS) {
		http_reply_json_error(req, 503, "NotEnoughResources",
		    "Too many firehose consumers");
		return;
	}
	if (firehose_init() == -1 || (c = calloc(1, sizeof(*c))) == NULL) {
		http_reply_json_error(req, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	/* The parameter is read before the request goes away. */
	r = parse_cursor(req, &cursor);
	if ((c->ws = ws_upgrade(req, &cbs, c)) == NULL) {
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&conns, c, entry);
	nconns++;
	if (r == -1)
		fh_error(c, "InvalidRequest", "cursor must be an integer");
	else
		fh_start(c, r == 1, cursor);
}
