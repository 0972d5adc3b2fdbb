/*
 * fanout_null: the most any server could do for firehose.mjs here.
 *
 * firehose.mjs's subscribers are Node processes on the same 2-CPU
 * machine as the server they measure, and reading a frame costs them
 * CPU too.  This server has no database and no writes: it makes events
 * by the clock, RATE a second, each a frame of SIZE payload bytes shaped
 * enough like pdsd's #commit frames for the probe to time it (the same
 * header and a "time" key), and sends each to every WebSocket
 * subscriber straight from one buffer, the way pdsd's fan-out does.
 * With "coalesce", the events due at one tick of its 1 ms timer go to
 * each subscriber in one writev instead of one send each.  The same
 * client against it shows the CPU a fan-out of that rate costs the
 * server and the subscribers, with nothing else in the way.
 *
 *	fanout_null PORT RATE [SIZE [coalesce]]
 *
 * Loopback only.  GET /xrpc/_health answers 200; any other GET with
 * a Sec-WebSocket-Key is a subscriber.  A subscriber that falls 32 MB
 * behind is dropped.  It stops by itself after an hour.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "websocket.h"

#define MAX_HEAD	4096
#define MAX_BEHIND	(32 * 1024 * 1024)
#define MAX_DUE		64		/* events per tick at most */
#define LIFETIME	3600
#define TIME_LEN	24		/* 2026-11-26T05:15:41.123Z */

struct sub {
	int		 fd;
	int		 open;		/* handshake done */
	char		 head[MAX_HEAD];
	size_t		 hlen;
	struct evbuffer	*behind;	/* what the socket did not take */
	struct event	*rev, *wev;
	struct sub	*next, **prevp;
};

static struct event_base	*base;
static struct sub		*subs, **subs_tail = &subs;	/* oldest first */
static unsigned int		 nsubs;
static double			 rate;
static int			 coalesce;
static size_t			 size;
static uint8_t			*frames[MAX_DUE];	/* wire bytes */
static size_t			 flen, toff;		/* time's offset */
static struct timespec		 t0;
static unsigned long long	 sent;

static void
sub_free(struct sub *s)
{
	if (s->open)
		nsubs--;
	if ((*s->prevp = s->next) != NULL)
		s->next->prevp = s->prevp;
	else
		subs_tail = s->prevp;
	event_free(s->rev);
	event_free(s->wev);
	evbuffer_free(s->behind);
	close(s->fd);
	free(s);
}

static void
sub_handshake(struct sub *s)
{
	char	 out[256], accept[WS_ACCEPT_LEN + 1], key[64];
	char	*k, *e;
	int	 n;

	if (strncmp(s->head, "GET /xrpc/_health ", 18) == 0) {
		n = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\n"
		    "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
		(void)send(s->fd, out, n, MSG_NOSIGNAL);
		sub_free(s);
		return;
	}
	if ((k = strcasestr(s->head, "\r\nSec-WebSocket-Key:")) == NULL) {
		sub_free(s);
		return;
	}
	k += 20;
	k += strspn(k, " \t");
	if ((e = strstr(k, "\r\n")) == NULL || (size_t)(e - k) >= sizeof(key)) {
		sub_free(s);
		return;
	}
	memcpy(key, k, e - k);
	key[e - k] = '\0';
	if (ws_accept_key(key, accept, sizeof(accept)) == -1) {
		sub_free(s);
		return;
	}
	n = snprintf(out, sizeof(out), "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
	if (send(s->fd, out, n, MSG_NOSIGNAL) != n) {
		sub_free(s);
		return;
	}
	s->open = 1;
	nsubs++;
}

/* Handshake bytes, then whatever the client says (pongs): ignored. */
static void
sub_read(evutil_socket_t fd, short ev, void *arg)
{
	struct sub	*s = arg;
	char		 buf[4096];
	ssize_t		 n;

	if (s->open) {
		if ((n = recv(fd, buf, sizeof(buf), 0)) == 0 ||
		    (n == -1 && errno != EAGAIN && errno != EINTR))
			sub_free(s);
		return;
	}
	n = recv(fd, s->head + s->hlen, sizeof(s->head) - 1 - s->hlen, 0);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			sub_free(s);
		return;
	}
	s->hlen += n;
	s->head[s->hlen] = '\0';
	if (strstr(s->head, "\r\n\r\n") != NULL)
		sub_handshake(s);
	else if (s->hlen == sizeof(s->head) - 1)
		sub_free(s);
}

static void
sub_write(evutil_socket_t fd, short ev, void *arg)
{
	struct sub	*s = arg;

	if (evbuffer_write(s->behind, fd) == -1 && errno != EAGAIN) {
		sub_free(s);
		return;
	}
	if (evbuffer_get_length(s->behind) == 0)
		event_del(s->wev);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct sub	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->behind = evbuffer_new()) == NULL ||
	    (s->rev = event_new(base, fd, EV_READ | EV_PERSIST, sub_read,
	    s)) == NULL ||
	    (s->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, sub_write,
	    s)) == NULL)
		err(1, "accept");
	s->fd = fd;
	/* The newest last, as in pdsd's fan-out: the probe connects last. */
	s->prevp = subs_tail;
	*subs_tail = s;
	subs_tail = &s->next;
	event_add(s->rev, NULL);
}

/* n frames to one subscriber in one call; what it does not take waits. */
static void
sub_send(struct sub *s, uint8_t **fr, size_t n)
{
	struct iovec	 iov[MAX_DUE];
	size_t		 i;
	ssize_t		 w = 0;

	if (evbuffer_get_length(s->behind) == 0) {
		for (i = 0; i < n; i++) {
			iov[i].iov_base = fr[i];
			iov[i].iov_len = flen;
		}
		if (n == 1)
			w = send(s->fd, fr[0], flen, MSG_DONTWAIT |
			    MSG_NOSIGNAL);
		else
			w = writev(s->fd, iov, n);
		if (w == (ssize_t)(n * flen))
			return;
		if (w < 0)
			w = 0;
	}
	for (i = 0; i < n; i++) {
		if ((size_t)w >= flen) {
			w -= flen;
			continue;
		}
		evbuffer_add(s->behind, fr[i] + w, flen - w);
		w = 0;
	}
	if (evbuffer_get_length(s->behind) > MAX_BEHIND) {
		warnx("subscriber %d too slow, dropped", s->fd);
		sub_free(s);
		return;
	}
	event_add(s->wev, NULL);
}

static void
stamp(uint8_t *f)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 t[64];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(t + 19, sizeof(t) - 19, ".%03dZ",
	    (int)(ts.tv_nsec / 1000000));
	memcpy(f + toff, t, TIME_LEN);
}

static void
tick(evutil_socket_t fd, short ev, void *arg)
{
	struct timespec	 now;
	struct sub	*s, *next;
	double		 el;
	size_t		 due, i;

	clock_gettime(CLOCK_MONOTONIC, &now);
	el = (now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9;
	if (el > LIFETIME)
		event_base_loopbreak(base);
	if (nsubs == 0) {
		/* The clock starts with the first subscriber. */
		t0 = now;
		sent = 0;
		return;
	}
	due = (size_t)(el * rate) - sent;
	if (due > MAX_DUE)
		due = MAX_DUE;
	if (due == 0)
		return;
	for (i = 0; i < due; i++)
		stamp(frames[i]);
	/* All due to each at once, or event after event to everyone. */
	for (i = 0; i < due; i += coalesce ? due : 1)
		for (s = subs; s != NULL; s = next) {
			next = s->next;
			if (s->open)
				sub_send(s, frames + i, coalesce ? due : 1);
		}
	sent += due;
}

/* {"t":"#commit","op":1} then "time": the ISO time, then filler. */
static void
make_frames(void)
{
	static const uint8_t	 hdr[] = { 0xa2, 0x61, 't', 0x67, '#', 'c',
	    'o', 'm', 'm', 'i', 't', 0x62, 'o', 'p', 0x01 };
	static const uint8_t	 tkey[] = { 0x64, 't', 'i', 'm', 'e', 0x78,
	    TIME_LEN };
	size_t			 h, i;
	uint8_t			*f;

	if (size < sizeof(hdr) + sizeof(tkey) + TIME_LEN || size > 65535)
		errx(1, "SIZE: %zu to 65535", sizeof(hdr) + sizeof(tkey) +
		    TIME_LEN);
	h = size < 126 ? 2 : 4;
	flen = h + size;
	for (i = 0; i < MAX_DUE; i++) {
		if ((f = frames[i] = calloc(1, flen)) == NULL)
			err(1, NULL);
		f[0] = 0x82;
		if (h == 2)
			f[1] = size;
		else {
			f[1] = 126;
			f[2] = size >> 8;
			f[3] = size & 0xff;
		}
		memcpy(f + h, hdr, sizeof(hdr));
		memcpy(f + h + sizeof(hdr), tkey, sizeof(tkey));
		toff = h + sizeof(hdr) + sizeof(tkey);
		memset(f + toff + TIME_LEN, 'x', flen - toff - TIME_LEN);
	}
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in	 sin;
	struct evconnlistener	*l;
	struct event		*t;
	struct timeval		 ms = { 0, 1000 };
	struct event_config	*cfg;

	if (argc < 3 || argc > 5 || (argc == 5 &&
	    strcmp(argv[4], "coalesce") != 0))
		errx(1, "usage: fanout_null PORT RATE [SIZE [coalesce]]");
	rate = strtod(argv[2], NULL);
	size = argc >= 4 ? strtoul(argv[3], NULL, 10) : 2884;
	coalesce = argc == 5;
	if (rate <= 0 || rate > 100000)
		errx(1, "RATE: 1 to 100000 events a second");
	make_frames();
	signal(SIGPIPE, SIG_IGN);
	if ((cfg = event_config_new()) == NULL)
		err(1, NULL);
	/* A 1 ms tick wants a timer finer than epoll's milliseconds. */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	if ((base = event_base_new_with_config(cfg)) == NULL)
		errx(1, "event_base_new");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l = evconnlistener_new_bind(base, accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
	    (struct sockaddr *)&sin, sizeof(sin))) == NULL)
		err(1, "listen on 127.0.0.1:%s", argv[1]);
	if ((t = event_new(base, -1, EV_PERSIST, tick, NULL)) == NULL)
		err(1, NULL);
	event_add(t, &ms);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	event_base_dispatch(base);
	return 0;
}
