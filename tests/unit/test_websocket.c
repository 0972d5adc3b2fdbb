/*
 * WebSocket connections: the handshake's accept key (RFC 6455's own
 * vector), the upgrade through the real HTTP layer, and frames both
 * ways over a socketpair, with the client side written by hand here so
 * that the bytes on the wire are what is checked.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "http.h"
#include "log.h"
#include "websocket.h"

struct wt {
	struct event_base	*base;
	int			 sv[2];		/* server, client */
	struct ws		*ws;
	int			 closed;
	int			 drained;
	int			 nmsg;
	int			 opcode;
	uint8_t			 msg[256];
	size_t			 msglen;
	struct http_server	*srv;
	int			 port;
};

static void
t_drain(struct ws *ws, void *arg)
{
	struct wt	*t = arg;

	t->drained++;
}

static void
t_message(struct ws *ws, int opcode, const uint8_t *p, size_t len, void *arg)
{
	struct wt	*t = arg;

	t->nmsg++;
	t->opcode = opcode;
	t->msglen = len < sizeof(t->msg) ? len : sizeof(t->msg);
	memcpy(t->msg, p, t->msglen);
}

static void
t_closed(struct ws *ws, void *arg)
{
	struct wt	*t = arg;

	t->closed++;
	t->ws = NULL;
}

static const struct ws_cbs	t_cbs = { t_drain, t_message, t_closed };

static long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void
pump(struct wt *t, int ms)
{
	long	 end = now_ms() + ms;

	while (now_ms() < end) {
		event_base_loop(t->base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

/* Read exactly n bytes from the client side, running the loop. */
static void
cread(struct wt *t, int fd, void *buf, size_t n)
{
	long	 end = now_ms() + 3000;
	size_t	 got = 0;
	ssize_t	 r;

	while (got < n) {
		event_base_loop(t->base, EVLOOP_NONBLOCK);
		r = recv(fd, (char *)buf + got, n - got, MSG_DONTWAIT);
		if (r > 0)
			got += r;
		else if (r == 0)
			fail_msg("peer closed after %zu of %zu bytes", got, n);
		else if (errno != EAGAIN)
			fail_msg("recv: %s", strerror(errno));
		if (now_ms() > end)
			fail_msg("timeout after %zu of %zu bytes", got, n);
	}
}

/* 1 if the peer closed the socket within ms (any data before it dropped). */
static int
peer_closed(struct wt *t, int fd, int ms)
{
	long	 end = now_ms() + ms;
	char	 buf[4096];
	ssize_t	 r;

	while (now_ms() < end) {
		event_base_loop(t->base, EVLOOP_NONBLOCK);
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return 1;
		usleep(1000);
	}
	return 0;
}

/* A masked client frame. */
static void
csend(int fd, int fin_op, const void *p, size_t len)
{
	static const uint8_t	 mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	uint8_t			*f;
	size_t			 h = 0, i;

	f = malloc(len + 14);
	assert_non_null(f);
	f[h++] = fin_op;
	if (len < 126)
		f[h++] = 0x80 | len;
	else if (len < 65536) {
		f[h++] = 0x80 | 126;
		f[h++] = len >> 8;
		f[h++] = len & 0xff;
	} else {
		f[h++] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			f[h++] = (uint64_t)len >> (56 - 8 * i);
	}
	memcpy(f + h, mask, 4);
	h += 4;
	for (i = 0; i < len; i++)
		f[h + i] = ((const uint8_t *)p)[i] ^ mask[i % 4];
	assert_int_equal(write(fd, f, h + len), (ssize_t)(h + len));
	free(f);
}

/* Read one unmasked server frame header: opcode byte and length. */
static size_t
cread_head(struct wt *t, int fd, uint8_t *op)
{
	uint8_t		 b[8];
	uint64_t	 len = 0;
	int		 i;

	cread(t, fd, b, 2);
	*op = b[0];
	assert_int_equal(b[1] & 0x80, 0);	/* servers never mask */
	len = b[1] & 0x7f;
	if (len == 126) {
		cread(t, fd, b, 2);
		len = (b[0] << 8) | b[1];
		assert_true(len >= 126);	/* shortest form */
	} else if (len == 127) {
		cread(t, fd, b, 8);
		for (len = 0, i = 0; i < 8; i++)
			len = (len << 8) | b[i];
		assert_true(len >= 65536);
	}
	return len;
}

/* Read one server frame and check its opcode byte and payload. */
static void
expect_frame(struct wt *t, uint8_t wantop, const void *want, size_t wantlen)
{
	uint8_t		*got, op;
	size_t		 len;

	len = cread_head(t, t->sv[1], &op);
	assert_int_equal(op, wantop);
	assert_int_equal(len, wantlen);
	assert_non_null(got = malloc(len + 1));
	cread(t, t->sv[1], got, len);
	assert_memory_equal(got, want, len);
	free(got);
}

static int
setup_pair(void **state)
{
	struct wt		*t;
	struct bufferevent	*bev;

	log_init(1, 0, LOG_DAEMON);
	t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->base = event_base_new();
	assert_non_null(t->base);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, t->sv), 0);
	evutil_make_socket_nonblocking(t->sv[0]);
	bev = bufferevent_socket_new(t->base, t->sv[0], BEV_OPT_CLOSE_ON_FREE);
	assert_non_null(bev);
	t->ws = ws_new(bev, &t_cbs, t);
	assert_non_null(t->ws);
	*state = t;
	return 0;
}

static int
teardown_pair(void **state)
{
	struct wt	*t = *state;

	if (t->ws != NULL) {
		ws_abort(t->ws);
		pump(t, 10);
	}
	assert_null(t->ws);
	if (t->sv[1] != -1)
		close(t->sv[1]);
	if (t->srv != NULL)
		http_server_free(t->srv);
	event_base_free(t->base);
	free(t);
	return 0;
}

static void
test_accept_key(void **state)
{
	char	 out[WS_ACCEPT_LEN + 1];

	/* RFC 6455, section 1.3 (checked with openssl sha1 | base64). */
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	/* Not 16 bytes, not base64, no room. */
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZQ==", out,
	    sizeof(out)), -1);
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=", out,
	    sizeof(out)), -1);
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25j!Q==", out,
	    sizeof(out)), -1);
	assert_int_equal(ws_accept_key("", out, sizeof(out)), -1);
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out,
	    WS_ACCEPT_LEN), -1);
}

static void
test_send_lengths(void **state)
{
	struct wt	*t = *state;
	static uint8_t	 big[70000];
	size_t		 sizes[] = { 0, 5, 125, 126, 300, 65535, 65536, 70000 };
	size_t		 i, j;

	for (i = 0; i < sizeof(big); i++)
		big[i] = i * 7;
	for (j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
		assert_int_equal(ws_send_binary(t->ws, big, sizes[j]), 0);
		expect_frame(t, 0x82, big, sizes[j]);	/* FIN, binary */
	}
	pump(t, 20);
	assert_true(t->drained > 0);
	assert_int_equal(ws_pending(t->ws), 0);
	assert_int_equal(t->closed, 0);
}

/* A shared frame: the same bytes as a copied one, in order with them. */
static void
test_shared_lengths(void **state)
{
	struct wt	*t = *state;
	static uint8_t	 big[70000];
	size_t		 sizes[] = { 0, 5, 125, 126, 300, 65535, 65536, 70000 };
	struct ws_frame	*f;
	size_t		 i, j;

	for (i = 0; i < sizeof(big); i++)
		big[i] = i * 13;
	for (j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
		f = ws_frame_new(big, sizes[j]);
		assert_non_null(f);
		assert_int_equal(ws_send_frame(t->ws, f), 0);
		assert_int_equal(ws_send_binary(t->ws, "z", 1), 0);
		ws_frame_unref(f);	/* the connection keeps its own */
		expect_frame(t, 0x82, big, sizes[j]);
		expect_frame(t, 0x82, "z", 1);
	}
	pump(t, 20);
	assert_int_equal(ws_queued_frames(t->ws), 0);
	assert_int_equal(ws_pending(t->ws), 0);
}

/*
 * Frames not yet written are counted, and a connection torn down with
 * frames still queued lets go of them (ASan and the sanitizer build
 * check the references).
 */
static void
test_shared_queued(void **state)
{
	struct wt	*t = *state;
	static uint8_t	 big[65536];
	struct ws_frame	*f;
	int		 i, sndbuf = 4096;

	setsockopt(t->sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	f = ws_frame_new(big, sizeof(big));
	assert_non_null(f);
	for (i = 0; i < 20; i++)
		assert_int_equal(ws_send_frame(t->ws, f), 0);
	pump(t, 20);
	/* The peer reads nothing: most are still ours. */
	assert_true(ws_queued_frames(t->ws) > 10);
	assert_true(ws_queued_frames(t->ws) <= 20);
	ws_close(t->ws, WS_CODE_POLICY, "ConsumerTooSlow");
	assert_int_equal(ws_send_frame(t->ws, f), -1);
	ws_abort(t->ws);
	pump(t, 20);
	assert_int_equal(t->closed, 1);
	ws_frame_unref(f);
}

/*
 * Several shared frames in one call: in order and whole, written
 * straight to the socket until it is full (a small send buffer cuts the
 * write inside a frame), then behind what it did not take, with a
 * copied message after.
 */
static void
test_shared_batch(void **state)
{
	struct wt	*t = *state;
	/* Each frame starts j bytes in: room for the last one's start. */
	static uint8_t	 big[70000 + 8];
	size_t		 sizes[] = { 5, 300, 70000, 126, 65536, 0, 1000 };
	struct ws_frame	*f[7];
	size_t		 i, j, k, n = sizeof(sizes) / sizeof(sizes[0]);
	int		 round, sndbuf = 4096;

	for (i = 0; i < sizeof(big); i++)
		big[i] = i * 7 + 1;
	for (j = 0; j < n; j++) {
		f[j] = ws_frame_new(big + j, sizes[j]);
		assert_non_null(f[j]);
	}
	setsockopt(t->sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	/* The socket takes the first frames and part of the big one. */
	assert_int_equal(ws_send_frames(t->ws, f, n), 0);
	k = ws_queued_frames(t->ws);
	assert_true(k > 0 && k < n - 1);
	/* Behind them: all by reference, then a copied message. */
	assert_int_equal(ws_send_frames(t->ws, f, n), 0);
	assert_int_equal(ws_queued_frames(t->ws), k + n);
	assert_int_equal(ws_send_binary(t->ws, "z", 1), 0);
	for (j = 0; j < n; j++)
		ws_frame_unref(f[j]);	/* the connection keeps its own */
	for (round = 0; round < 2; round++)
		for (j = 0; j < n; j++)
			expect_frame(t, 0x82, big + j, sizes[j]);
	expect_frame(t, 0x82, "z", 1);
	pump(t, 20);
	assert_int_equal(ws_queued_frames(t->ws), 0);
	assert_int_equal(ws_pending(t->ws), 0);
	assert_int_equal(t->closed, 0);
}

static void
test_client_messages(void **state)
{
	struct wt	*t = *state;

	csend(t->sv[1], 0x82, "hello", 5);
	pump(t, 20);
	assert_int_equal(t->nmsg, 1);
	assert_int_equal(t->opcode, 2);
	assert_int_equal(t->msglen, 5);
	assert_memory_equal(t->msg, "hello", 5);
	/* Fragmented text: one message. */
	csend(t->sv[1], 0x01, "ab", 2);
	csend(t->sv[1], 0x80, "cd", 2);
	pump(t, 20);
	assert_int_equal(t->nmsg, 2);
	assert_int_equal(t->opcode, 1);
	assert_memory_equal(t->msg, "abcd", 4);
	/* Ping is answered with the same payload. */
	csend(t->sv[1], 0x89, "xy", 2);
	expect_frame(t, 0x8a, "xy", 2);
	/* An unsolicited pong is fine. */
	csend(t->sv[1], 0x8a, "", 0);
	pump(t, 20);
	assert_int_equal(t->closed, 0);
	assert_true(ws_is_open(t->ws));
}

/* Expect a close frame with this code; return its reason's length. */
static size_t
expect_close(struct wt *t, uint16_t code, char *reason, size_t rlen)
{
	uint8_t		 buf[128], op;
	size_t		 len;

	len = cread_head(t, t->sv[1], &op);
	assert_int_equal(op, 0x88);
	assert_true(len >= 2 && len <= 125);
	cread(t, t->sv[1], buf, len);
	assert_int_equal((buf[0] << 8) | buf[1], code);
	if (reason != NULL) {
		assert_true(len - 2 < rlen);
		memcpy(reason, buf + 2, len - 2);
		reason[len - 2] = '\0';
	}
	return len - 2;
}

static void
test_server_close(void **state)
{
	struct wt	*t = *state;
	char		 reason[128];
	uint8_t		 code[2] = { 0x03, 0xf0 };

	ws_close(t->ws, WS_CODE_POLICY, "FutureCursor");
	assert_false(ws_is_open(t->ws));
	assert_int_equal(ws_send_binary(t->ws, "x", 1), -1);
	expect_close(t, 1008, reason, sizeof(reason));
	assert_string_equal(reason, "FutureCursor");
	pump(t, 20);
	assert_int_equal(t->closed, 0);		/* waits for the answer */
	csend(t->sv[1], 0x88, code, 2);
	assert_true(peer_closed(t, t->sv[1], 1000));
	assert_int_equal(t->closed, 1);
}

static void
test_server_close_linger(void **state)
{
	struct wt	*t = *state;

	/* A peer that never answers our close is dropped after a while. */
	ws_close(t->ws, WS_CODE_NORMAL, NULL);
	expect_close(t, 1000, NULL, 0);
	assert_true(peer_closed(t, t->sv[1], WS_LINGER_MS + 1000));
	assert_int_equal(t->closed, 1);
}

static void
test_client_close(void **state)
{
	struct wt	*t = *state;
	uint8_t		 code[2] = { 0x03, 0xe8 };

	csend(t->sv[1], 0x88, code, 2);
	expect_close(t, 1000, NULL, 0);
	assert_true(peer_closed(t, t->sv[1], 1000));
	assert_int_equal(t->closed, 1);
}

static void
test_abrupt(void **state)
{
	struct wt	*t = *state;

	close(t->sv[1]);
	t->sv[1] = -1;
	pump(t, 50);
	assert_int_equal(t->closed, 1);
}

static void
test_unmasked(void **state)
{
	struct wt	*t = *state;
	uint8_t		 f[] = { 0x82, 0x02, 'h', 'i' };

	/* RFC 6455 5.1: a client frame must be masked. */
	assert_int_equal(write(t->sv[1], f, sizeof(f)), (ssize_t)sizeof(f));
	expect_close(t, 1002, NULL, 0);
	assert_int_equal(t->nmsg, 0);
}

static void
test_oversized(void **state)
{
	struct wt	*t = *state;
	uint8_t		*p;

	p = calloc(1, WS_RECV_MAX + 1);
	assert_non_null(p);
	csend(t->sv[1], 0x82, p, WS_RECV_MAX + 1);
	free(p);
	expect_close(t, 1009, NULL, 0);
	assert_int_equal(t->nmsg, 0);
}

static void
test_bad_opcode(void **state)
{
	struct wt	*t = *state;

	csend(t->sv[1], 0x83, "x", 1);	/* reserved opcode */
	expect_close(t, 1002, NULL, 0);
	assert_int_equal(t->nmsg, 0);
}

/*
 * The upgrade through the HTTP layer.
 */
static void
upgrade_handler(struct http_request *req, void *arg)
{
	struct wt	*t = arg;

	t->ws = ws_upgrade(req, &t_cbs, t);
}

static void
loopback(struct sockaddr_in *sin, int port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons(port);
}

static int
setup_http(void **state)
{
	struct wt		*t;
	struct http_limits	 lim;
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof(sin);
	int			 fd, one = 1;

	log_init(1, 0, LOG_DAEMON);
	t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->sv[0] = t->sv[1] = -1;
	t->base = event_base_new();
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	loopback(&sin, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	t->port = ntohs(sin.sin_port);
	evutil_make_socket_nonblocking(fd);
	http_limits_default(&lim);
	t->srv = http_server_new(t->base, &lim, upgrade_handler, t);
	assert_non_null(t->srv);
	assert_int_equal(http_server_listen_fd(t->srv, fd), 0);
	*state = t;
	return 0;
}

static int
connect_client(struct wt *t)
{
	struct sockaddr_in	 sin;
	int			 fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	loopback(&sin, t->port);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Send a request, read the response head into buf. */
static void
request(struct wt *t, const char *req, char *buf, size_t len)
{
	size_t	 got = 0;
	long	 end = now_ms() + 3000;
	ssize_t	 r;

	if (t->sv[1] != -1)
		close(t->sv[1]);
	t->sv[1] = connect_client(t);
	assert_int_equal(write(t->sv[1], req, strlen(req)),
	    (ssize_t)strlen(req));
	/* Byte by byte: what follows the head is the WebSocket's. */
	while (got < len - 1 && (got < 4 ||
	    memcmp(buf + got - 4, "\r\n\r\n", 4) != 0)) {
		event_base_loop(t->base, EVLOOP_NONBLOCK);
		r = recv(t->sv[1], buf + got, 1, MSG_DONTWAIT);
		if (r == 1)
			got++;
		else if (r == 0)
			break;
		if (now_ms() > end)
			fail_msg("no response head");
	}
	buf[got] = '\0';
}

#define GOOD_REQ(extra) \
	"GET /xrpc/x HTTP/1.1\r\nHost: localhost\r\n" \
	"Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" \
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" extra "\r\n"

static void
test_upgrade(void **state)
{
	struct wt	*t = *state;
	char		 head[2048];
	uint8_t		 buf[8], op;

	request(t, GOOD_REQ("Sec-WebSocket-Version: 13\r\n"), head,
	    sizeof(head));
	assert_non_null(strstr(head, "HTTP/1.1 101 Switching Protocols\r\n"));
	assert_non_null(strstr(head, "\r\nUpgrade: websocket\r\n"));
	assert_non_null(strstr(head, "\r\nConnection: Upgrade\r\n"));
	assert_non_null(strstr(head,
	    "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
	assert_non_null(t->ws);
	assert_int_equal(ws_send_binary(t->ws, "abc", 3), 0);
	assert_int_equal(cread_head(t, t->sv[1], &op), 3);
	assert_int_equal(op, 0x82);
	cread(t, t->sv[1], buf, 3);
	assert_memory_equal(buf, "abc", 3);
	/* Detached: no longer counted against the HTTP cap. */
	assert_int_equal(http_server_nconns(t->srv), 0);
	close(t->sv[1]);
	t->sv[1] = -1;
	pump(t, 50);
	assert_int_equal(t->closed, 1);
}

static void
test_upgrade_refused(void **state)
{
	struct wt	*t = *state;
	char		 head[2048];

	request(t, "POST /xrpc/x HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 0\r\n\r\n", head, sizeof(head));
	assert_non_null(strstr(head, "HTTP/1.1 405 "));
	assert_non_null(strstr(head, "\r\nAllow: GET\r\n"));
	request(t, "GET /xrpc/x HTTP/1.1\r\nHost: x\r\n\r\n", head,
	    sizeof(head));
	assert_non_null(strstr(head, "HTTP/1.1 426 "));
	assert_non_null(strstr(head, "\r\nUpgrade: websocket\r\n"));
	request(t, GOOD_REQ("Sec-WebSocket-Version: 8\r\n"), head,
	    sizeof(head));
	assert_non_null(strstr(head, "HTTP/1.1 426 "));
	assert_non_null(strstr(head, "\r\nSec-WebSocket-Version: 13\r\n"));
	request(t, "GET /xrpc/x HTTP/1.1\r\nHost: x\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Key: c2hvcnQ=\r\n\r\n", head, sizeof(head));
	assert_non_null(strstr(head, "HTTP/1.1 400 "));
	/* No "Connection: Upgrade". */
	request(t, "GET /xrpc/x HTTP/1.1\r\nHost: x\r\n"
	    "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", head,
	    sizeof(head));
	assert_non_null(strstr(head, "HTTP/1.1 400 "));
	assert_null(t->ws);
	assert_int_equal(t->closed, 0);
}

/* Frames that arrive glued to the handshake are not lost. */
static void
test_upgrade_early_frame(void **state)
{
	struct wt	*t = *state;
	char		 req[1024], head[2048];
	uint8_t		 ping[] = { 0x89, 0x81, 1, 2, 3, 4, 'z' ^ 1 };
	uint8_t		 buf[4], op;
	size_t		 n;

	n = strlcpy(req, GOOD_REQ("Sec-WebSocket-Version: 13\r\n"),
	    sizeof(req));
	memcpy(req + n, ping, sizeof(ping));
	req[n + sizeof(ping)] = '\0';
	request(t, req, head, sizeof(head));
	assert_non_null(strstr(head, " 101 "));
	assert_int_equal(cread_head(t, t->sv[1], &op), 1);
	assert_int_equal(op, 0x8a);
	cread(t, t->sv[1], buf, 1);
	assert_int_equal(buf[0], 'z');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_key),
		cmocka_unit_test_setup_teardown(test_send_lengths,
		    setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_shared_lengths,
		    setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_shared_queued,
		    setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_shared_batch,
		    setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_client_messages,
		    setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_server_close,
		    setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_server_close_linger,
		    setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_client_close,
		    setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_abrupt,
		    setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_unmasked,
		    setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_oversized,
		    setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_bad_opcode,
		    setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_upgrade,
		    setup_http, teardown_pair),
		cmocka_unit_test_setup_teardown(test_upgrade_refused,
		    setup_http, teardown_pair),
		cmocka_unit_test_setup_teardown(test_upgrade_early_frame,
		    setup_http, teardown_pair),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
