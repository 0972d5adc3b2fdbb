/*
 * WebSocket server connections: the opening handshake on a request of
 * our HTTP layer, then libwslay's event API over the bufferevent the
 * layer hands us.  wslay frames and unframes; we move bytes between it
 * and the bufferevent, answer nothing the client says but control
 * frames, ping to notice dead peers, and bound what a client can make
 * us hold.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <wslay/wslay.h>

#include "encoding.h"
#include "http.h"
#include "log.h"
#include "websocket.h"

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_RAW	16		/* decoded Sec-WebSocket-Key */
#define JSON_TYPE	"application/json; charset=utf-8"
#define WS_SEND_IOV	64		/* frames per direct write */

enum ws_state {
	WS_OPEN,
	WS_CLOSING,		/* our close frame is queued or out */
	WS_DEAD,		/* waiting for the loop to free it */
};

struct ws {
	struct bufferevent	*bev;
	wslay_event_context_ptr	 ctx;
	struct event		*tick;	/* ping, linger, teardown */
	struct ws_cbs		 cbs;
	void			*arg;
	enum ws_state		 state;
	int			 lingering; /* our close is out */
	size_t			 nframes; /* shared frames in the output */
};

/* Server frames are not masked, so the wire bytes suit every peer. */
struct ws_frame {
	unsigned int		 refs;
	size_t			 hlen;		/* of the frame head */
	size_t			 len;		/* of the whole frame */
	uint8_t			 wire[];	/* frame head, then payload */
};

static void	ws_teardown(struct ws *);

int
ws_accept_key(const char *key, char *out, size_t outlen)
{
	uint8_t		 raw[WS_KEY_RAW + 2];
	uint8_t		 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen;
	char		 buf[64];
	size_t		 klen = strlen(key);

	/* RFC 6455 4.2.1: the key is 16 random bytes, base64. */
	if (klen != 24 || base64_decode(key, klen, raw, sizeof(raw)) !=
	    WS_KEY_RAW || outlen < WS_ACCEPT_LEN + 1)
		return -1;
	snprintf(buf, sizeof(buf), "%s%s", key, WS_GUID);
	if (EVP_Digest(buf, strlen(buf), md, &mdlen, EVP_sha1(), NULL) != 1 ||
	    mdlen != 20)
		return -1;
	if (base64_encode(md, mdlen, out, outlen) != 27)
		return -1;
	/* base64_encode leaves out padding; the header wants it. */
	out[27] = '=';
	out[28] = '\0';
	return 0;
}

/* Is tok one of the comma-separated tokens of v (no case)? */
static int
has_token(const char *v, const char *tok)
{
	size_t	 n, tl = strlen(tok);

	while (v != NULL && *v != '\0') {
		v += strspn(v, " \t,");
		n = strcspn(v, ",");
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		if (n == tl && strncasecmp(v, tok, n) == 0)
			return 1;
		v += strcspn(v, ",");
	}
	return 0;
}

static void
refuse(struct http_request *req, int status, const char *name,
    const char *msg, const char *hname, const char *hvalue)
{
	char	 body[256];

	snprintf(body, sizeof(body), "{\"error\":\"%s\",\"message\":\"%s\"}",
	    name, msg);
	if (http_response_start(req, status, JSON_TYPE) == -1)
		return;
	if (hname != NULL)
		http_add_header(req, hname, hvalue);
	http_response_body(req, body, strlen(body));
	http_response_end(req);
}

/* 0 and the accept value, or the client has been answered. */
static int
check_handshake(struct http_request *req, char *accept, size_t len)
{
	const struct http_head	*h = http_request_head(req);
	const char		*up, *ver, *key;

	if (strcmp(http_request_method(req), "GET") != 0) {
		refuse(req, 405, "InvalidRequest", "Incorrect HTTP method "
		    "expected GET", "Allow", "GET");
		return -1;
	}
	up = http_request_header(req, "Upgrade");
	if (http_request_is_head(req) || up == NULL ||
	    !has_token(up, "websocket")) {
		refuse(req, 426, "UpgradeRequired", "This endpoint is a "
		    "WebSocket: send Upgrade: websocket", "Upgrade",
		    "websocket");
		return -1;
	}
	ver = http_request_header(req, "Sec-WebSocket-Version");
	if (ver == NULL || strcmp(ver, "13") != 0) {
		refuse(req, 426, "UpgradeRequired", "Unsupported "
		    "Sec-WebSocket-Version", "Sec-WebSocket-Version", "13");
		return -1;
	}
	key = http_request_header(req, "Sec-WebSocket-Key");
	if (!h->upgrade || http_request_content_length(req) != 0 ||
	    key == NULL || ws_accept_key(key, accept, len) == -1) {
		refuse(req, 400, "InvalidRequest", "Bad WebSocket handshake",
		    NULL, NULL);
		return -1;
	}
	return 0;
}

struct ws *
ws_upgrade(struct http_request *req, const struct ws_cbs *cbs, void *arg)
{
	struct bufferevent	*bev;
	struct ws		*ws;
	char			 accept[WS_ACCEPT_LEN + 1];

	if (check_handshake(req, accept, sizeof(accept)) == -1)
		return NULL;
	if ((bev = http_request_detach(req)) == NULL) {
		http_reply_json_error(req, 500, "InternalServerError",
		    "Internal Server Error");
		return NULL;
	}
	if (evbuffer_add_printf(bufferevent_get_output(bev),
	    "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", accept) < 0 ||
	    (ws = ws_new(bev, cbs, arg)) == NULL) {
		bufferevent_free(bev);
		return NULL;
	}
	return ws;
}

/*
 * wslay's side of the bufferevent: it reads from our input buffer and
 * writes into our output buffer, which takes everything (the bound on
 * it is the owner's business, see ws_pending).
 */
static ssize_t
ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
    void *arg)
{
	struct ws	*ws = arg;
	int		 n;

	n = evbuffer_remove(bufferevent_get_input(ws->bev), buf, len);
	if (n <= 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	return n;
}

static ssize_t
ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    int flags, void *arg)
{
	struct ws	*ws = arg;

	if (evbuffer_add(bufferevent_get_output(ws->bev), data, len) == -1) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)len;
}

static void
ws_msg_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_msg_recv_arg *m, void *arg)
{
	struct ws	*ws = arg;

	/* wslay answers ping and close itself. */
	if (m->opcode != WSLAY_TEXT_FRAME && m->opcode != WSLAY_BINARY_FRAME)
		return;
	if (ws->cbs.message != NULL && ws->state != WS_DEAD)
		ws->cbs.message(ws, m->opcode, m->msg, m->msg_length, ws->arg);
}

static void
ws_flush(struct ws *ws)
{
	if (ws->state == WS_DEAD || !wslay_event_want_write(ws->ctx))
		return;
	if (wslay_event_send(ws->ctx) != 0)
		ws_teardown(ws);
}

/* The close handshake is over when both closes went and ours is out. */
static void
ws_check_done(struct ws *ws)
{
	struct timeval	 tv = { WS_LINGER_MS / 1000, 0 };

	if (ws->state == WS_DEAD || !wslay_event_get_close_sent(ws->ctx) ||
	    evbuffer_get_length(bufferevent_get_output(ws->bev)) != 0)
		return;
	if (wslay_event_get_close_received(ws->ctx)) {
		ws_teardown(ws);
		return;
	}
	if (!ws->lingering) {
		ws->lingering = 1;
		ws->state = WS_CLOSING;
		/* The peer has WS_LINGER_MS to answer our close. */
		evtimer_del(ws->tick);
		evtimer_add(ws->tick, &tv);
	}
}

static void
ws_read(struct bufferevent *bev, void *arg)
{
	struct ws	*ws = arg;

	if (ws->state == WS_DEAD)
		return;
	if (wslay_event_recv(ws->ctx) != 0) {
		ws_teardown(ws);
		return;
	}
	if (!wslay_event_want_read(ws->ctx))
		/* Keep draining the socket but nothing more is parsed. */
		evbuffer_drain(bufferevent_get_input(bev),
		    evbuffer_get_length(bufferevent_get_input(bev)));
	ws_flush(ws);
	/* A client that sends pings but never reads our pongs. */
	if (ws_pending(ws) > WS_OUT_HARD) {
		log_debug("websocket: peer not reading, dropped");
		ws_teardown(ws);
		return;
	}
	ws_check_done(ws);
}

static void
ws_write(struct bufferevent *bev, void *arg)
{
	struct ws	*ws = arg;

	if (ws->state == WS_DEAD)
		return;
	if (wslay_event_get_close_sent(ws->ctx)) {
		ws_check_done(ws);
		return;
	}
	if (ws->cbs.drain != NULL)
		ws->cbs.drain(ws, ws->arg);
}

static void
ws_event(struct bufferevent *bev, short what, void *arg)
{
	struct ws	*ws = arg;

	if (what & BEV_EVENT_TIMEOUT)
		log_debug("websocket: %s timeout", (what & BEV_EVENT_READING) ?
		    "idle" : "write");
	ws_teardown(ws);
}

static void
ws_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct ws		*ws = arg;
	struct timeval		 tv = { WS_PING_MS / 1000, 0 };
	struct wslay_event_msg	 m = { WSLAY_PING, NULL, 0 };

	switch (ws->state) {
	case WS_DEAD:
		if (ws->cbs.closed != NULL)
			ws->cbs.closed(ws, ws->arg);
		/*
		 * Release the shared frames now: their cleanup points at ws,
		 * and the bufferevent may free its buffers only later.  The
		 * bufferevent keeps its output's start frozen; it is done.
		 */
		evbuffer_unfreeze(bufferevent_get_output(ws->bev), 1);
		if (evbuffer_drain(bufferevent_get_output(ws->bev),
		    evbuffer_get_length(bufferevent_get_output(ws->bev))) == -1)
			fatalx("websocket: cannot release queued frames");
		wslay_event_context_free(ws->ctx);
		event_free(ws->tick);
		bufferevent_free(ws->bev);
		free(ws);
		return;
	case WS_CLOSING:
		/* The peer never answered our close. */
		ws_teardown(ws);
		return;
	case WS_OPEN:
		if (wslay_event_queue_msg(ws->ctx, &m) == 0)
			ws_flush(ws);
		if (ws->state == WS_OPEN)
			evtimer_add(ws->tick, &tv);
		return;
	}
}

/* Stop all I/O now; the loop frees it (and tells the owner) next. */
static void
ws_teardown(struct ws *ws)
{
	if (ws->state == WS_DEAD)
		return;
	ws->state = WS_DEAD;
	bufferevent_disable(ws->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(ws->bev, NULL, NULL, NULL, NULL);
	evtimer_del(ws->tick);
	event_active(ws->tick, EV_TIMEOUT, 0);
}

struct ws *
ws_new(struct bufferevent *bev, const struct ws_cbs *cbs, void *arg)
{
	struct wslay_event_callbacks	 wcb = {
		ws_recv_cb, ws_send_cb, NULL, NULL, NULL, NULL, ws_msg_cb
	};
	struct timeval			 rtv = { WS_IDLE_MS / 1000, 0 };
	struct timeval			 wtv = { WS_WRITE_MS / 1000, 0 };
	struct timeval			 ptv = { WS_PING_MS / 1000, 0 };
	struct ws			*ws;

	if ((ws = calloc(1, sizeof(*ws))) == NULL)
		return NULL;
	ws->bev = bev;
	ws->cbs = *cbs;
	ws->arg = arg;
	ws->state = WS_OPEN;
	if (wslay_event_context_server_init(&ws->ctx, &wcb, ws) != 0) {
		free(ws);
		return NULL;
	}
	wslay_event_config_set_max_recv_msg_length(ws->ctx, WS_RECV_MAX);
	if ((ws->tick = evtimer_new(bufferevent_get_base(bev), ws_tick,
	    ws)) == NULL) {
		wslay_event_context_free(ws->ctx);
		free(ws);
		return NULL;
	}
	bufferevent_setcb(bev, ws_read, ws_write, ws_event, ws);
	bufferevent_setwatermark(bev, EV_WRITE, WS_OUT_LOWAT, 0);
	bufferevent_set_timeouts(bev, &rtv, &wtv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	evtimer_add(ws->tick, &ptv);
	/* Frames the client sent right behind its handshake. */
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		bufferevent_trigger(bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
	return ws;
}

int
ws_send_binary(struct ws *ws, const void *p, size_t len)
{
	struct wslay_event_msg	 m;

	if (ws->state != WS_OPEN || wslay_event_get_close_sent(ws->ctx))
		return -1;
	m.opcode = WSLAY_BINARY_FRAME;
	m.msg = p;
	m.msg_length = len;
	if (wslay_event_queue_msg(ws->ctx, &m) != 0)
		return -1;
	ws_flush(ws);
	return ws->state == WS_DEAD ? -1 : 0;
}

struct ws_frame *
ws_frame_new(const void *p, size_t len)
{
	struct ws_frame	*f;
	size_t		 h;

	if (len > SIZE_MAX - sizeof(*f) - 10)
		return NULL;
	if ((f = malloc(sizeof(*f) + 10 + len)) == NULL)
		return NULL;
	/* RFC 6455 5.2: FIN and binary, then the shortest length form. */
	f->wire[0] = 0x82;
	if (len < 126) {
		f->wire[1] = len;
		h = 2;
	} else if (len <= 0xffff) {
		f->wire[1] = 126;
		f->wire[2] = len >> 8;
		f->wire[3] = len;
		h = 4;
	} else {
		f->wire[1] = 127;
		for (h = 0; h < 8; h++)
			f->wire[2 + h] = (uint64_t)len >> (56 - 8 * h);
		h = 10;
	}
	if (len > 0)
		memcpy(f->wire + h, p, len);
	f->hlen = h;
	f->len = h + len;
	f->refs = 1;
	return f;
}

void
ws_frame_unref(struct ws_frame *f)
{
	if (f != NULL && --f->refs == 0)
		free(f);
}

/* The output buffer let go of a frame: written, or dropped. */
static void
ws_frame_done(const void *data, size_t len, void *arg)
{
	struct ws	*ws = arg;

	ws->nframes--;
	ws_frame_unref((struct ws_frame *)((uintptr_t)data -
	    offsetof(struct ws_frame, wire)));
}

/* One more shared frame in the output, by reference. */
static int
ws_queue_ref(struct ws *ws, struct ws_frame *f)
{
	f->refs++;
	if (evbuffer_add_reference(bufferevent_get_output(ws->bev), f->wire,
	    f->len, ws_frame_done, ws) == -1) {
		f->refs--;
		return -1;
	}
	ws->nframes++;
	return 0;
}

/*
 * Frames that fit the socket now go straight to it, all in one write:
 * with many consumers, queueing them would cost each one a trip through
 * the loop (arm the write event, wake, write, disarm) for the same one
 * write, and a write apiece would cost a system call per frame.  What
 * the socket does not take waits in the output, in order: a frame cut
 * short has its tail copied, the rest are referenced.
 */
int
ws_send_frames(struct ws *ws, struct ws_frame **f, size_t n)
{
	struct iovec	 iov[WS_SEND_IOV];
	struct msghdr	 msg;
	ssize_t		 w = 0;
	size_t		 i, k = 0;

	if (ws->state != WS_OPEN || wslay_event_get_close_sent(ws->ctx))
		return -1;
	/* What wslay holds (pings, pongs) goes first, whole. */
	ws_flush(ws);
	if (ws->state != WS_OPEN)
		return -1;
	if (wslay_event_get_queued_msg_count(ws->ctx) > 0) {
		for (i = 0; i < n; i++)
			if (ws_send_binary(ws, f[i]->wire + f[i]->hlen,
			    f[i]->len - f[i]->hlen) == -1)
				return -1;
		return 0;
	}
	if (evbuffer_get_length(bufferevent_get_output(ws->bev)) == 0) {
		k = n < WS_SEND_IOV ? n : WS_SEND_IOV;
		for (i = 0; i < k; i++) {
			iov[i].iov_base = f[i]->wire;
			iov[i].iov_len = f[i]->len;
		}
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = k;
		/* Full, or broken: the bufferevent finds out which. */
		if ((w = sendmsg(bufferevent_getfd(ws->bev), &msg,
		    MSG_DONTWAIT | MSG_NOSIGNAL)) < 0)
			w = 0;
	}
	for (i = 0; i < n; i++) {
		if (i < k && (size_t)w >= f[i]->len) {
			w -= f[i]->len;
			continue;
		}
		if (i < k && w > 0) {
			if (evbuffer_add(bufferevent_get_output(ws->bev),
			    f[i]->wire + w, f[i]->len - w) == -1) {
				ws_teardown(ws);
				return -1;
			}
			w = 0;
			continue;
		}
		if (ws_queue_ref(ws, f[i]) == -1)
			return -1;
	}
	return 0;
}

int
ws_send_frame(struct ws *ws, struct ws_frame *f)
{
	return ws_send_frames(ws, &f, 1);
}

size_t
ws_queued_frames(const struct ws *ws)
{
	return ws->nframes;
}

void
ws_close(struct ws *ws, uint16_t code, const char *reason)
{
	size_t	 len = reason != NULL ? strlen(reason) : 0;

	if (ws->state != WS_OPEN)
		return;
	/* A control frame's payload is at most 125 bytes, code included. */
	if (len > 123)
		len = 123;
	ws->state = WS_CLOSING;
	evtimer_del(ws->tick);
	if (wslay_event_queue_close(ws->ctx, code, (const uint8_t *)reason,
	    len) != 0) {
		ws_teardown(ws);
		return;
	}
	/* Our close must wake us when it is fully out. */
	bufferevent_setwatermark(ws->bev, EV_WRITE, 0, 0);
	ws_flush(ws);
}

void
ws_abort(struct ws *ws)
{
	ws_teardown(ws);
}

size_t
ws_pending(const struct ws *ws)
{
	return evbuffer_get_length(bufferevent_get_output(ws->bev)) +
	    wslay_event_get_queued_msg_length(ws->ctx);
}

int
ws_is_open(const struct ws *ws)
{
	return ws->state == WS_OPEN;
}
