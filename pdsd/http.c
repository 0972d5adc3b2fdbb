/*
 * The HTTP/1.1 connection layer: accept, read a request with the pure
 * parser, hand it to the handler, write its response, then either read
 * the next request (keep-alive) or close.  See http.h for the handler's
 * side of the contract, in particular the lifetime of a request.
 *
 * The handler may answer from inside a callback or much later; it may
 * also answer another connection's request from inside one.  So nothing
 * a handler calls frees the connection or the request it is in: while a
 * callback runs (c->in_cb), finishing is recorded and done after it
 * returns, and moving on to a pipelined request goes through a deferred
 * event (c->kick).
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "http.h"
#include "log.h"

/*
 * Streamed bodies: each direct read asks for STREAM_FILL bytes (a
 * little under HTTP_STREAM_READ, so libevent's chain, header and all,
 * stays within it) when less than STREAM_FILL_BELOW is buffered, at
 * most STREAM_FILLS times a wakeup.
 */
#define STREAM_FILL		(HTTP_STREAM_READ - 4096)
#define STREAM_FILL_BELOW	(HTTP_STREAM_READ / 4)
#define STREAM_FILLS		4

enum conn_state {
	CS_HEAD,	/* reading a request head */
	CS_BODY,	/* reading the body for the handler */
	CS_HANDLER,	/* the request is with the handler */
	CS_CLOSING,	/* writing the last response */
	CS_LINGER,	/* write side shut; draining input briefly */
};

enum body_mode {
	BODY_NONE,
	BODY_MEM,
	BODY_STREAM,
};

struct http_listener {
	TAILQ_ENTRY(http_listener)	 entry;
	struct evconnlistener		*lev;
};

struct http_conn;

struct http_request {
	struct http_conn	*conn;		/* NULL: orphan */
	struct http_parser	 p;
	const char		*method;
	int			 is_head;
	int			 handed;	/* the handler has seen it */
	int			 deciding;	/* in the request cb */
	int			 in_abort;
	void			*data;

	enum body_mode		 bmode;
	size_t			 body_max;
	struct evbuffer		*body;
	http_body_cb		 body_cb;
	http_chunk_cb		 chunk_cb;
	http_done_cb		 done_cb;
	http_abort_cb		 abort_cb;
	http_drain_cb		 drain_cb;	/* waits for the output */

	int			 status;	/* 0: not started */
	int			 head_sent;
	int			 chunked;	/* response is chunked */
	int			 until_close;	/* ends at close */
	int			 ended;
	int			 close;		/* then close */
	int			 gz_type;	/* its zlib level, or 0 */
	int			 no_gzip;
	struct http_gzip	*gz;		/* compressing */
	struct evbuffer		*hdrs;
	struct evbuffer		*out;
};

struct http_conn {
	TAILQ_ENTRY(http_conn)	 entry;
	struct http_server	*srv;
	struct bufferevent	*bev;
	struct event		*timer;
	struct event		*kick;
	struct http_request	*req;
	enum conn_state		 state;
	int			 in_cb;		/* in a handler cb */
	int			 processing;	/* inside conn_process */
	int			 dead;		/* free after cbs */
	int			 finish;	/* ended in a cb */
	int			 started;	/* request begun */
	char			 addr[NI_MAXHOST];
};

struct http_server {
	struct event_base		*base;
	struct http_limits		 lim;
	http_request_cb			 cb;
	http_request_cb			 hook;	/* all responses */
	void				*arg;
	TAILQ_HEAD(, http_listener)	 listeners;
	TAILQ_HEAD(, http_conn)		 conns;
	unsigned int			 nconns;
	int				 paused;	/* accept errors */
	struct event			*resume;
};

static void	 set_timeouts(struct http_conn *, unsigned int);
static void	 ms_tv(struct timeval *, unsigned int);
static void	 accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	 accept_error_cb(struct evconnlistener *, void *);
static void	 resume_cb(evutil_socket_t, short, void *);
static void	 listeners_enable(struct http_server *, int);
static struct http_conn *conn_new(struct http_server *, evutil_socket_t,
		    struct sockaddr *, int);
static struct http_request *request_new(struct http_conn *);
static void	 request_free(struct http_request *);
static void	 conn_wait_request(struct http_conn *);
static void	 conn_free(struct http_conn *);
static void	 conn_destroy(struct http_conn *);
static void	 conn_read_cb(struct bufferevent *, void *);
static void	 conn_write_cb(struct bufferevent *, void *);
static void	 conn_event_cb(struct bufferevent *, short, void *);
static void	 conn_timer_cb(evutil_socket_t, short, void *);
static void	 conn_kick_cb(evutil_socket_t, short, void *);
static void	 conn_process(struct http_conn *);
static int	 conn_step(struct http_conn *);
static int	 conn_event(struct http_conn *, enum http_pev, const char *,
		    size_t);
static int	 conn_head(struct http_conn *);
static void	 body_reads(struct http_conn *, int);
static ssize_t	 stream_fill(struct http_conn *);
static int	 conn_data(struct http_conn *, const char *, size_t);
static int	 conn_body_done(struct http_conn *);
static int	 conn_after_cb(struct http_conn *);
static void	 conn_finish(struct http_conn *);
static void	 conn_fail(struct http_conn *, int, const char *);
static void	 conn_linger(struct http_conn *);
static void	 send_continue(struct http_conn *);
static int	 no_body(int);
static void	 send_head(struct http_request *);
static void	 send_out(struct http_request *, int);
static int	 gzip_wanted(struct http_request *);
static void	 gzip_start(struct http_request *);
static const char *error_name(int);
static size_t	 utf8_len(const unsigned char *);

void
http_limits_default(struct http_limits *lim)
{
	lim->max_conns = 512;
	lim->idle_ms = 60 * 1000;
	lim->header_ms = 20 * 1000;
	lim->read_ms = 30 * 1000;
	lim->write_ms = 60 * 1000;
	lim->linger_ms = 2 * 1000;
}

struct http_server *
http_server_new(struct event_base *base, const struct http_limits *lim,
    http_request_cb cb, void *arg)
{
	struct http_server	*srv;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	srv->base = base;
	srv->lim = *lim;
	if (srv->lim.max_conns == 0)
		srv->lim.max_conns = 1;
	srv->cb = cb;
	srv->arg = arg;
	TAILQ_INIT(&srv->listeners);
	TAILQ_INIT(&srv->conns);
	if ((srv->resume = evtimer_new(base, resume_cb, srv)) == NULL) {
		free(srv);
		return NULL;
	}
	return srv;
}

int
http_server_listen_fd(struct http_server *srv, int fd)
{
	struct http_listener	*l;

	if (evutil_make_socket_nonblocking(fd) == -1)
		return -1;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return -1;
	l->lev = evconnlistener_new(srv->base, accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (l->lev == NULL) {
		free(l);
		return -1;
	}
	evconnlistener_set_error_cb(l->lev, accept_error_cb);
	TAILQ_INSERT_TAIL(&srv->listeners, l, entry);
	if (srv->paused || srv->nconns >= srv->lim.max_conns)
		evconnlistener_disable(l->lev);
	return 0;
}

void
http_server_free(struct http_server *srv)
{
	struct http_listener	*l;
	struct http_conn	*c;

	if (srv == NULL)
		return;
	while ((l = TAILQ_FIRST(&srv->listeners)) != NULL) {
		TAILQ_REMOVE(&srv->listeners, l, entry);
		evconnlistener_free(l->lev);
		free(l);
	}
	while ((c = TAILQ_FIRST(&srv->conns)) != NULL)
		conn_destroy(c);
	event_free(srv->resume);
	free(srv);
}

void
http_server_set_response_hook(struct http_server *srv, http_request_cb hook)
{
	srv->hook = hook;
}

unsigned int
http_server_nconns(const struct http_server *srv)
{
	return srv->nconns;
}

static void
listeners_enable(struct http_server *srv, int on)
{
	struct http_listener	*l;

	TAILQ_FOREACH(l, &srv->listeners, entry) {
		if (on)
			evconnlistener_enable(l->lev);
		else
			evconnlistener_disable(l->lev);
	}
}

/* Out of fds, most likely: stop accepting for a second. */
static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct http_server	*srv = arg;
	struct timeval		 tv = { 1, 0 };

	log_warn("http: accept");
	srv->paused = 1;
	listeners_enable(srv, 0);
	evtimer_add(srv->resume, &tv);
}

static void
resume_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct http_server	*srv = arg;

	srv->paused = 0;
	if (srv->nconns < srv->lim.max_conns)
		listeners_enable(srv, 1);
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct http_server	*srv = arg;
	struct http_conn	*c;

	if ((c = conn_new(srv, fd, sa, salen)) == NULL) {
		log_warnx("http: out of memory for a connection");
		return;
	}
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	if (++srv->nconns >= srv->lim.max_conns)
		listeners_enable(srv, 0);
	conn_wait_request(c);
}

/* Takes fd in every case. */
static struct http_conn *
conn_new(struct http_server *srv, evutil_socket_t fd, struct sockaddr *sa,
    int salen)
{
	struct http_conn	*c;
	int			 one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return NULL;
	}
	c->srv = srv;
	/*
	 * Answers leave in whole pieces already; Nagle would hold a
	 * streamed answer's short tail until the client's delayed ACK.
	 */
	if (sa->sa_family != AF_UNIX)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	if (sa->sa_family == AF_UNIX || getnameinfo(sa, salen, c->addr,
	    sizeof(c->addr), NULL, 0, NI_NUMERICHOST) != 0)
		strlcpy(c->addr, "local", sizeof(c->addr));
	if ((c->bev = bufferevent_socket_new(srv->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		close(fd);
	c->timer = evtimer_new(srv->base, conn_timer_cb, c);
	c->kick = event_new(srv->base, -1, 0, conn_kick_cb, c);
	/*
	 * libevent writes 16 KiB a loop turn by default: a 2.7 MB getRepo
	 * took 165 turns of epoll_wait and writev.  A producer's step at a
	 * time leaves in one call instead.
	 */
	if (c->bev != NULL)
		(void)bufferevent_set_max_single_write(c->bev, HTTP_OUT_HIGH);
	if (c->bev == NULL || c->timer == NULL || c->kick == NULL ||
	    (c->req = request_new(c)) == NULL) {
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		if (c->timer != NULL)
			event_free(c->timer);
		if (c->kick != NULL)
			event_free(c->kick);
		free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	body_reads(c, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return c;
}

static void
ms_tv(struct timeval *tv, unsigned int ms)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

/* A read timeout of 0 means none: the handler may take its time. */
static void
set_timeouts(struct http_conn *c, unsigned int read_ms)
{
	struct timeval	 rtv, wtv;

	ms_tv(&rtv, read_ms);
	ms_tv(&wtv, c->srv->lim.write_ms);
	bufferevent_set_timeouts(c->bev, read_ms ? &rtv : NULL, &wtv);
}

static struct http_request *
request_new(struct http_conn *c)
{
	struct http_request	*req;

	if ((req = calloc(1, sizeof(*req))) == NULL)
		return NULL;
	req->conn = c;
	http_parser_init(&req->p);
	return req;
}

static void
request_free(struct http_request *req)
{
	if (req == NULL)
		return;
	http_parser_free(&req->p);
	if (req->body != NULL)
		evbuffer_free(req->body);
	if (req->hdrs != NULL)
		evbuffer_free(req->hdrs);
	if (req->out != NULL)
		evbuffer_free(req->out);
	http_gzip_free(req->gz);
	free(req);
}

/* Ready for the next request: the idle timeout runs until it starts. */
static void
conn_wait_request(struct http_conn *c)
{
	c->state = CS_HEAD;
	c->started = 0;
	evtimer_del(c->timer);
	set_timeouts(c, c->srv->lim.idle_ms);
	event_active(c->kick, EV_READ, 1);
}

/*
 * The connection is over.  What becomes of a request the handler has
 * not finished is described in http.h.
 */
static void
conn_destroy(struct http_conn *c)
{
	struct http_request	*req = c->req;
	struct http_server	*srv = c->srv;

	c->req = NULL;
	if (req != NULL && req->handed && !req->ended) {
		req->conn = NULL;
		if (req->abort_cb != NULL) {
			req->in_abort = 1;
			req->abort_cb(req);
			request_free(req);
		} else if (c->state != CS_HANDLER)
			request_free(req);
		/* else: an orphan, freed by http_response_end */
	} else
		request_free(req);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	event_free(c->timer);
	event_free(c->kick);
	TAILQ_REMOVE(&srv->conns, c, entry);
	if (srv->nconns-- >= srv->lim.max_conns && !srv->paused)
		listeners_enable(srv, 1);
	free(c);
}

static void
conn_free(struct http_conn *c)
{
	if (c->in_cb > 0 || c->processing)
		c->dead = 1;
	else
		conn_destroy(c);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);

	if (c->state == CS_LINGER) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	conn_process(c);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn	*c = arg;
	struct http_request	*req = c->req;
	http_drain_cb		 cb;

	if (c->state == CS_CLOSING) {
		conn_linger(c);
		return;
	}
	if (req == NULL || req->drain_cb == NULL ||
	    evbuffer_get_length(bufferevent_get_output(bev)) > HTTP_OUT_LOW)
		return;
	cb = req->drain_cb;
	req->drain_cb = NULL;
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	c->in_cb++;
	cb(req);
	c->in_cb--;
	conn_after_cb(c);
	if (c->dead && c->in_cb == 0 && !c->processing)
		conn_destroy(c);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn	*c = arg;

	/* A client may shut its side and still wait for our answer. */
	if (c->state == CS_CLOSING && (what & BEV_EVENT_EOF)) {
		bufferevent_disable(c->bev, EV_READ);
		return;
	}
	if (c->state != CS_LINGER && (what & BEV_EVENT_TIMEOUT))
		log_debug("http: %s: %s timeout", c->addr,
		    (what & BEV_EVENT_READING) ? "read" : "write");
	else if (c->state != CS_LINGER && (what & BEV_EVENT_ERROR))
		log_debug("http: %s: %s", c->addr,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	conn_free(c);
}

static void
conn_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct http_conn	*c = arg;

	if (c->state == CS_HEAD)
		log_debug("http: %s: request head timeout", c->addr);
	conn_free(c);
}

static void
conn_kick_cb(evutil_socket_t fd, short ev, void *arg)
{
	conn_process(arg);
}

/* After the last response: shut our side, drain theirs for a moment. */
static void
conn_linger(struct http_conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	struct timeval	 tv;

	c->state = CS_LINGER;
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	bufferevent_enable(c->bev, EV_READ);
	ms_tv(&tv, c->srv->lim.linger_ms);
	evtimer_add(c->timer, &tv);
}

static void
conn_process(struct http_conn *c)
{
	struct timeval	 tv;
	ssize_t		 n;
	int		 nfill;

	c->processing = 1;
	nfill = 0;
	while (!c->dead && (c->state == CS_HEAD || c->state == CS_BODY)) {
		/* A few large reads a wakeup, so others get their turn. */
		if (c->state == CS_BODY && c->req->bmode == BODY_STREAM &&
		    nfill < STREAM_FILLS && (n = stream_fill(c)) != -1)
			nfill = n > 0 ? nfill + 1 : STREAM_FILLS;
		if (c->state == CS_HEAD && !c->started &&
		    evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
			c->started = 1;
			set_timeouts(c, c->srv->lim.read_ms);
			ms_tv(&tv, c->srv->lim.header_ms);
			evtimer_add(c->timer, &tv);
		}
		if (conn_step(c) == 0)
			break;
	}
	c->processing = 0;
	if (c->dead && c->in_cb == 0)
		conn_destroy(c);
}

/* Feed the parser once.  Returns 0 to wait for more input. */
static int
conn_step(struct http_conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer_iovec	 v;
	const char		*data;
	size_t			 used, datalen;
	enum http_pev		 ev;
	int			 more;

	if (evbuffer_peek(in, -1, NULL, &v, 1) < 1) {
		v.iov_base = NULL;
		v.iov_len = 0;
	}
	ev = http_parse(&c->req->p, v.iov_base, v.iov_len, &used, &data,
	    &datalen);
	if (ev == HTTP_PEV_MORE) {
		evbuffer_drain(in, used);
		return evbuffer_get_length(in) > 0;
	}
	/*
	 * Body data points into the input: drain it after use.  A head is
	 * drained first, so that a detached connection keeps only what
	 * follows it.
	 */
	if (ev != HTTP_PEV_DATA)
		evbuffer_drain(in, used);
	more = conn_event(c, ev, data, datalen);
	if (ev == HTTP_PEV_DATA && !c->dead)
		evbuffer_drain(in, used);
	return more;
}

static int
conn_event(struct http_conn *c, enum http_pev ev, const char *data,
    size_t len)
{
	switch (ev) {
	case HTTP_PEV_HEAD:
		return conn_head(c);
	case HTTP_PEV_DATA:
		return conn_data(c, data, len);
	case HTTP_PEV_DONE:
		return conn_body_done(c);
	default:
		conn_fail(c, c->req->p.status, c->req->p.error);
		return 0;
	}
}

/* While a body streams, more input may wait than between requests. */
static void
body_reads(struct http_conn *c, int stream)
{
	bufferevent_setwatermark(c->bev, EV_READ, 0, stream ?
	    HTTP_STREAM_READ : HTTP_PIPELINE_MAX);
}

/*
 * libevent 2.1 reads a socket 4 KB at a time, one read per wakeup, so a
 * large upload cost a wakeup, an ioctl and a handler call per 4 KB.  A
 * streamed body is topped up here with one large read straight into the
 * input buffer instead.  Returns the bytes read; 0 when nothing more is
 * there now (end of file and errors are left for libevent to see on its
 * next read); -1 when enough is buffered already.
 */
static ssize_t
stream_fill(struct http_conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer_iovec	 v;
	ssize_t			 n = 0;

	if (evbuffer_get_length(in) >= STREAM_FILL_BELOW)
		return -1;
	/* libevent freezes the end of the input, as we do after. */
	evbuffer_unfreeze(in, 0);
	if (evbuffer_reserve_space(in, STREAM_FILL, &v, 1) == 1) {
		if (v.iov_len > STREAM_FILL)
			v.iov_len = STREAM_FILL;
		do
			n = read(bufferevent_getfd(c->bev), v.iov_base,
			    v.iov_len);
		while (n == -1 && errno == EINTR);
		if (n > 0) {
			v.iov_len = n;
			if (evbuffer_commit_space(in, &v, 1) == -1)
				n = 0;
		}
	}
	evbuffer_freeze(in, 0);
	return n > 0 ? n : 0;
}

static int
conn_head(struct http_conn *c)
{
	struct http_request	*req = c->req;
	struct http_head	*h = &req->p.head;

	evtimer_del(c->timer);
	req->method = h->method;
	if (strcmp(h->method, "HEAD") == 0) {
		req->is_head = 1;
		req->method = "GET";
	}
	req->handed = 1;
	c->state = CS_HANDLER;
	set_timeouts(c, 0);
	c->in_cb++;
	req->deciding = 1;
	c->srv->cb(req, c->srv->arg);
	req->deciding = 0;
	c->in_cb--;
	if (c->dead || req->ended)
		return conn_after_cb(c);
	if (req->bmode == BODY_MEM && h->content_length >= 0 &&
	    (uint64_t)h->content_length > req->body_max) {
		conn_fail(c, 413, "request entity too large");
		return 0;
	}
	if (req->bmode != BODY_NONE) {
		c->state = CS_BODY;
		if (req->bmode == BODY_STREAM)
			body_reads(c, 1);
		set_timeouts(c, c->srv->lim.read_ms);
		if (h->expect_continue && !http_parser_done(&req->p))
			send_continue(c);
	}
	return c->state == CS_BODY;
}

static int
conn_data(struct http_conn *c, const char *data, size_t len)
{
	struct http_request	*req = c->req;
	int			 rv;

	if (req->bmode == BODY_MEM) {
		if (len > req->body_max - evbuffer_get_length(req->body)) {
			conn_fail(c, 413, "request entity too large");
			return 0;
		}
		if (evbuffer_add(req->body, data, len) == -1) {
			conn_fail(c, 500, "out of memory");
			return 0;
		}
		return 1;
	}
	c->in_cb++;
	rv = req->chunk_cb(req, (const uint8_t *)data, len);
	c->in_cb--;
	if (c->dead || req->ended)
		return conn_after_cb(c);
	if (rv == -1) {
		/* The handler will answer; the rest stays unread. */
		c->state = CS_HANDLER;
		body_reads(c, 0);
		set_timeouts(c, 0);
		return 0;
	}
	return 1;
}

static int
conn_body_done(struct http_conn *c)
{
	struct http_request	*req = c->req;
	const uint8_t		*body;
	size_t			 len;

	c->state = CS_HANDLER;
	if (req->bmode == BODY_STREAM)
		body_reads(c, 0);
	set_timeouts(c, 0);
	c->in_cb++;
	if (req->bmode == BODY_MEM) {
		body = http_request_body(req, &len);
		req->body_cb(req, body, len);
	} else
		req->done_cb(req);
	c->in_cb--;
	conn_after_cb(c);
	return 0;
}

/*
 * A callback has returned: do what it asked for while it ran.  A dead
 * connection is destroyed by conn_process, further up the stack.
 */
static int
conn_after_cb(struct http_conn *c)
{
	if (c->dead)
		return 0;
	if (c->finish) {
		c->finish = 0;
		conn_finish(c);
	}
	return 0;
}

/* The response has ended: next request or close. */
static void
conn_finish(struct http_conn *c)
{
	struct http_request	*req = c->req;
	int			 keep = !req->close;

	/* A producer's watermark must not outlive its response. */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	request_free(req);
	if ((c->req = request_new(c)) == NULL) {
		log_warnx("http: out of memory");
		keep = 0;
	}
	if (!keep) {
		c->state = CS_CLOSING;
		set_timeouts(c, 0);
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
			conn_linger(c);
		return;
	}
	conn_wait_request(c);
}

/*
 * The layer answers by itself (bad request, body too large, ...) and
 * closes.  A handler still holding the request hears of it first.
 */
static void
conn_fail(struct http_conn *c, int status, const char *msg)
{
	struct http_request	*req = c->req;

	log_debug("http: %s: %d %s", c->addr, status, msg);
	evtimer_del(c->timer);
	if (req->handed && req->abort_cb != NULL && !req->ended) {
		/* As in conn_destroy: what it writes now goes nowhere. */
		req->in_abort = 1;
		req->conn = NULL;
		c->in_cb++;
		req->abort_cb(req);
		c->in_cb--;
		req->conn = c;
		req->in_abort = 0;
		if (c->dead)
			return;
	}
	if (req->status != 0 || req->ended) {
		/* Too late for an error response: just close. */
		conn_free(c);
		return;
	}
	req->close = 1;
	req->is_head = 0;
	c->in_cb++;
	http_reply_json_error(req, status, error_name(status), msg);
	c->in_cb--;
	c->finish = 0;
	conn_finish(c);
}

static const char *
error_name(int status)
{
	switch (status) {
	case 408:
		return "RequestTimeout";
	case 413:
		return "PayloadTooLargeError";
	case 414:
		return "URITooLong";
	case 417:
		return "ExpectationFailed";
	case 431:
		return "RequestHeaderFieldsTooLarge";
	case 500:
		return "InternalServerError";
	case 501:
		return "NotImplemented";
	case 505:
		return "HTTPVersionNotSupported";
	default:
		return "InvalidRequest";
	}
}

static void
send_continue(struct http_conn *c)
{
	static const char	 msg[] = "HTTP/1.1 100 Continue\r\n\r\n";

	bufferevent_write(c->bev, msg, sizeof(msg) - 1);
}

/*
 * Accessors.
 */
const char *
http_request_method(const struct http_request *req)
{
	return req->method;
}

const char *
http_request_path(const struct http_request *req)
{
	return req->p.head.path;
}

const char *
http_request_query(const struct http_request *req)
{
	return req->p.head.query;
}

const char *
http_request_header(const struct http_request *req, const char *name)
{
	return http_head_get(&req->p.head, name);
}

const struct http_head *
http_request_head(const struct http_request *req)
{
	return &req->p.head;
}

int64_t
http_request_content_length(const struct http_request *req)
{
	return req->p.head.content_length;
}

int
http_request_is_head(const struct http_request *req)
{
	return req->is_head;
}

const char *
http_request_remote(const struct http_request *req)
{
	return req->conn != NULL ? req->conn->addr : "gone";
}

void
http_request_set_data(struct http_request *req, void *data)
{
	req->data = data;
}

void *
http_request_data(const struct http_request *req)
{
	return req->data;
}

void
http_request_body_max(struct http_request *req, size_t max, http_body_cb cb)
{
	if (!req->deciding || req->bmode != BODY_NONE)
		return;
	if ((req->body = evbuffer_new()) == NULL)
		return;
	req->bmode = BODY_MEM;
	req->body_max = max;
	req->body_cb = cb;
}

void
http_request_body_stream(struct http_request *req, http_chunk_cb chunk,
    http_done_cb done)
{
	if (!req->deciding || req->bmode != BODY_NONE)
		return;
	req->bmode = BODY_STREAM;
	req->chunk_cb = chunk;
	req->done_cb = done;
}

const uint8_t *
http_request_body(const struct http_request *req, size_t *len)
{
	*len = 0;
	if (req->body == NULL || !http_parser_done(&req->p))
		return NULL;
	*len = evbuffer_get_length(req->body);
	return evbuffer_pullup(req->body, -1);
}

void
http_request_on_abort(struct http_request *req, http_abort_cb cb)
{
	req->abort_cb = cb;
}

struct bufferevent *
http_request_detach(struct http_request *req)
{
	struct http_conn	*c = req->conn;
	struct bufferevent	*bev;

	if (c == NULL || c->state != CS_HANDLER || req->status != 0 ||
	    req->in_abort)
		return NULL;
	bev = c->bev;
	c->bev = NULL;
	bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
	bufferevent_set_timeouts(bev, NULL, NULL);
	bufferevent_setwatermark(bev, EV_READ | EV_WRITE, 0, 0);
	/*
	 * TCP_NODELAY was for answers that leave whole; the protocol
	 * taking over (a stream of small frames to many consumers) gets
	 * the kernel's coalescing back: with 1,000 firehose subscribers
	 * the frontend spent 2.5 times the system time per write without.
	 */
	(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY,
	    &(int){ 0 }, sizeof(int));
	req->ended = 1;		/* nothing more to do for it */
	conn_free(c);
	return bev;
}

/*
 * Responses.
 */
int
http_response_start(struct http_request *req, int status, const char *ctype)
{
	if (req->status != 0 || req->ended || status < 100 || status > 999)
		return -1;
	req->status = status;
	req->gz_type = http_gzip_type(ctype);
	if ((req->hdrs = evbuffer_new()) == NULL ||
	    (req->out = evbuffer_new()) == NULL)
		return -1;
	if (ctype != NULL)
		return http_add_header(req, "Content-Type", ctype);
	return 0;
}

int
http_add_header(struct http_request *req, const char *name,
    const char *value)
{
	size_t	 i;

	if (req->status == 0 || req->head_sent || req->hdrs == NULL)
		return -1;
	for (i = 0; name[i] != '\0'; i++)
		if (name[i] <= 0x20 || name[i] >= 0x7f || name[i] == ':')
			return -1;
	if (i == 0 || strpbrk(value, "\r\n") != NULL)
		return -1;
	return evbuffer_add_printf(req->hdrs, "%s: %s\r\n", name, value) < 0 ?
	    -1 : 0;
}

int
http_response_body(struct http_request *req, const void *data, size_t len)
{
	if (req->status == 0 || req->ended || req->out == NULL)
		return -1;
	if (req->conn == NULL)
		return 0;	/* an orphan's body goes nowhere */
	return evbuffer_add(req->out, data, len);
}

int
http_response_body_buffer(struct http_request *req, struct evbuffer *buf)
{
	if (req->status == 0 || req->ended || req->out == NULL)
		return -1;
	if (req->conn == NULL)
		return evbuffer_drain(buf, evbuffer_get_length(buf));
	return evbuffer_add_buffer(req->out, buf);
}

void
http_response_close(struct http_request *req)
{
	req->close = 1;
}

/* 1xx, 204 and 304 responses never carry a body. */
static int
no_body(int status)
{
	return status < 200 || status == 204 || status == 304;
}

static void
send_head(struct http_request *req)
{
	struct http_conn	*c = req->conn;
	struct evbuffer		*o = bufferevent_get_output(c->bev);
	char			 date[64];
	struct tm		 tm;
	time_t			 now = time(NULL);

	if (c->srv->hook != NULL)
		c->srv->hook(req, c->srv->arg);
	gzip_start(req);
	/* A body left unread would be taken for the next request. */
	if (!req->p.head.keepalive || !http_parser_done(&req->p) ||
	    req->until_close)
		req->close = 1;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	evbuffer_add_printf(o, "HTTP/1.1 %d %s\r\nDate: %s\r\n", req->status,
	    http_status_text(req->status), date);
	evbuffer_add_buffer(o, req->hdrs);
	if (no_body(req->status))
		;
	else if (req->chunked)
		evbuffer_add_printf(o, "Transfer-Encoding: chunked\r\n");
	else if (!req->until_close)
		evbuffer_add_printf(o, "Content-Length: %zu\r\n",
		    evbuffer_get_length(req->out));
	if (req->close)
		evbuffer_add_printf(o, "Connection: close\r\n");
	else if (req->p.head.minor == 0)
		evbuffer_add_printf(o, "Connection: keep-alive\r\n");
	evbuffer_add(o, "\r\n", 2);
	req->head_sent = 1;
}

/* The client takes gzip, and nothing has encoded the answer yet. */
static int
gzip_wanted(struct http_request *req)
{
	return !req->no_gzip && http_gzip_accepted(http_request_header(req,
	    "Accept-Encoding")) && !http_response_has_header(req,
	    "Content-Encoding");
}

/*
 * Compress when it pays and the client can take it: a streamed answer
 * (chunked or until close) always, a whole one above HTTP_GZIP_MIN,
 * compressed here at once since its Content-Length comes next.  If
 * zlib fails, the answer goes out as it is.
 */
static void
gzip_start(struct http_request *req)
{
	struct evbuffer	*z;
	int		 stream = req->chunked || req->until_close;

	if (!req->gz_type || req->is_head || no_body(req->status))
		return;
	http_add_header(req, "Vary", "Accept-Encoding");
	if (!gzip_wanted(req))
		return;
	if (!stream && evbuffer_get_length(req->out) <= HTTP_GZIP_MIN)
		return;
	if ((req->gz = http_gzip_new(req->gz_type)) == NULL)
		return;
	if (!stream) {
		if ((z = evbuffer_new()) == NULL ||
		    http_gzip_write(req->gz, req->out, z, 1) == -1) {
			/* req->out may be half drained: nothing to send. */
			if (z != NULL)
				evbuffer_free(z);
			http_gzip_free(req->gz);
			req->gz = NULL;
			req->close = 1;
			evbuffer_drain(req->out, evbuffer_get_length(req->out));
			log_warnx("gzip failed");
			return;
		}
		evbuffer_free(req->out);
		req->out = z;
		http_gzip_free(req->gz);
		req->gz = NULL;
	}
	http_add_header(req, "Content-Encoding", "gzip");
}

int
http_response_gzip_own(struct http_request *req)
{
	if (req->status == 0 || req->head_sent || !req->gz_type ||
	    req->is_head || no_body(req->status) || !gzip_wanted(req) ||
	    http_add_header(req, "Content-Encoding", "gzip") == -1)
		return 0;
	return req->gz_type;
}

/* Move the held body out, as a chunk if chunked; last ends a stream. */
static void
send_out(struct http_request *req, int last)
{
	struct evbuffer	*o = bufferevent_get_output(req->conn->bev);
	struct evbuffer	*z;
	size_t		 n = evbuffer_get_length(req->out);

	if (req->is_head || no_body(req->status)) {
		evbuffer_drain(req->out, n);
		return;
	}
	if (req->gz != NULL) {
		if ((z = evbuffer_new()) == NULL ||
		    http_gzip_write(req->gz, req->out, z, last) == -1) {
			/* The stream is broken: cut it short. */
			log_warnx("gzip failed");
			evbuffer_drain(req->out, evbuffer_get_length(req->out));
			http_gzip_free(req->gz);
			req->gz = NULL;
			req->close = 1;
		} else
			evbuffer_add_buffer(req->out, z);
		if (z != NULL)
			evbuffer_free(z);
		n = evbuffer_get_length(req->out);
	}
	if (n == 0)
		return;
	if (req->chunked)
		evbuffer_add_printf(o, "%zx\r\n", n);
	evbuffer_add_buffer(o, req->out);
	if (req->chunked)
		evbuffer_add(o, "\r\n", 2);
}

int
http_response_flush(struct http_request *req)
{
	if (req->status == 0 || req->ended)
		return -1;
	if (req->conn == NULL) {
		evbuffer_drain(req->out, evbuffer_get_length(req->out));
		return 0;
	}
	if (!req->head_sent) {
		if (req->p.head.minor == 1)
			req->chunked = 1;
		else
			req->until_close = 1;
		send_head(req);
	}
	send_out(req, 0);
	return 0;
}

size_t
http_response_pending(const struct http_request *req)
{
	if (req->conn == NULL)
		return 0;
	return evbuffer_get_length(req->out) +
	    evbuffer_get_length(bufferevent_get_output(req->conn->bev));
}

int
http_response_on_drain(struct http_request *req, http_drain_cb cb)
{
	if (req->conn == NULL || req->ended || cb == NULL ||
	    req->conn->state != CS_HANDLER)
		return -1;
	req->drain_cb = cb;
	/* The write callback comes when the output falls to the mark. */
	bufferevent_setwatermark(req->conn->bev, EV_WRITE, HTTP_OUT_LOW, 0);
	return 0;
}

int
http_response_end(struct http_request *req)
{
	struct http_conn	*c = req->conn;

	if (req->status == 0 || req->ended)
		return -1;
	req->ended = 1;
	if (c == NULL) {
		/* An orphan: the connection is gone. */
		if (!req->in_abort)
			request_free(req);
		return 0;
	}
	if (!req->head_sent)
		send_head(req);
	send_out(req, 1);
	if (req->chunked && !req->is_head)
		evbuffer_add(bufferevent_get_output(c->bev), "0\r\n\r\n", 5);
	if (c->in_cb > 0)
		c->finish = 1;
	else
		conn_finish(c);
	return 0;
}

void
http_request_no_gzip(struct http_request *req)
{
	req->no_gzip = 1;
}

int
http_response_has_header(struct http_request *req, const char *name)
{
	const char	*p, *q, *end;
	size_t		 n = strlen(name), len;

	if (req->hdrs == NULL || (len = evbuffer_get_length(req->hdrs)) == 0)
		return 0;
	/* A few short lines, written by us: "Name: value\r\n" each. */
	if ((p = (const char *)evbuffer_pullup(req->hdrs, -1)) == NULL)
		return 0;
	for (end = p + len; p < end; p = q + 1) {
		if ((size_t)(end - p) > n && p[n] == ':' &&
		    strncasecmp(p, name, n) == 0)
			return 1;
		if ((q = memchr(p, '\n', end - p)) == NULL)
			break;
	}
	return 0;
}

int
http_reply(struct http_request *req, int status, const char *ctype,
    const void *body, size_t len)
{
	if (http_response_start(req, status, ctype) == -1)
		return -1;
	if (len > 0 && http_response_body(req, body, len) == -1)
		return -1;
	return http_response_end(req);
}

int
http_reply_json_error(struct http_request *req, int status,
    const char *name, const char *msg)
{
	if (http_response_start(req, status, "application/json; charset=utf-8") == -1)
		return -1;
	evbuffer_add_printf(req->out, "{\"error\":");
	http_json_escape(req->out, name);
	if (msg != NULL) {
		evbuffer_add_printf(req->out, ",\"message\":");
		http_json_escape(req->out, msg);
	}
	evbuffer_add(req->out, "}", 1);
	return http_response_end(req);
}

/* Length of a valid UTF-8 sequence at s (RFC 3629), 0 if invalid. */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

int
http_json_escape(struct evbuffer *b, const char *str)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 n;
	int			 rv = 0;

	rv |= evbuffer_add(b, "\"", 1);
	while (*s != '\0') {
		if (*s == '"' || *s == '\\') {
			rv |= evbuffer_add_printf(b, "\\%c", *s) < 0;
			s++;
		} else if (*s == '\n' || *s == '\r' || *s == '\t') {
			rv |= evbuffer_add_printf(b, "\\%c",
			    *s == '\n' ? 'n' : *s == '\r' ? 'r' : 't') < 0;
			s++;
		} else if (*s < 0x20 || *s == 0x7f) {
			rv |= evbuffer_add_printf(b, "\\u%04x", *s) < 0;
			s++;
		} else if (*s < 0x80) {
			rv |= evbuffer_add(b, s, 1);
			s++;
		} else if ((n = utf8_len(s)) == 0) {
			rv |= evbuffer_add(b, "\xef\xbf\xbd", 3);
			s++;
		} else {
			rv |= evbuffer_add(b, s, n);
			s += n;
		}
	}
	rv |= evbuffer_add(b, "\"", 1);
	return rv ? -1 : 0;
}

const char *
http_status_text(int status)
{
	static const struct {
		int		 code;
		const char	*text;
	} tab[] = {
		{ 100, "Continue" }, { 101, "Switching Protocols" },
		{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
		{ 204, "No Content" }, { 206, "Partial Content" },
		{ 301, "Moved Permanently" }, { 302, "Found" },
		{ 303, "See Other" }, { 304, "Not Modified" },
		{ 307, "Temporary Redirect" }, { 308, "Permanent Redirect" },
		{ 400, "Bad Request" }, { 401, "Unauthorized" },
		{ 403, "Forbidden" }, { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 408, "Request Timeout" },
		{ 409, "Conflict" }, { 410, "Gone" },
		{ 411, "Length Required" }, { 413, "Payload Too Large" },
		{ 414, "URI Too Long" }, { 415, "Unsupported Media Type" },
		{ 417, "Expectation Failed" }, { 426, "Upgrade Required" },
		{ 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 502, "Bad Gateway" }, { 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
		{ 505, "HTTP Version Not Supported" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].code == status)
			return tab[i].text;
	return "Unknown";
}
