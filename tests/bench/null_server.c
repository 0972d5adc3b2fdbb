/*
 * null_server: the client's ceiling for make bench.
 *
 * bench.mjs is one Node process on the same 2-CPU machine as the server
 * it measures, and it spends more CPU per request than pdsd does.  This
 * server answers the requests of bench.mjs's accounts, write, read and
 * applywrites phases with answers of the same shape and size as pdsd's,
 * copied from memory and doing no work at all, so that the same client
 * run against it shows how far any server could go on this machine:
 * the figure beside which pdsd's ratios are to be read.
 *
 *	null_server PORT
 *
 * Loopback only.  HTTP/1.1 with keep-alive and Content-Length bodies,
 * which is all bench.mjs sends; anything else closes the connection.
 * It stops by itself after an hour.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <err.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#define MAX_HEAD	16384
#define MAX_BODY	(1 << 20)
#define LIFETIME	3600

#define DID	"did:plc:nullnullnullnullnullnull"
#define CID1	"bafyreid7n7qq6vyzue6yiqfwyv7cqxzqy3bhvq6chlpryiuki6gxj4nzra"
#define CID2	"bafyreicp7y4kgfbe64mv5valqn4poxpx4cvm44njpri2t4j67e2sshgzu4"
#define TEXT	"bench post 50 from run 1a2b3c4d: the quick brown fox " \
		"jumps over the lazy dog"
#define VALUE	"{\"text\":\"" TEXT "\",\"$type\":\"app.bsky.feed.post\"," \
		"\"createdAt\":\"2026-11-26T02:20:00.123Z\"}"
#define URI	"at://" DID "/app.bsky.feed.post/3n36lyafbx7pm"
#define JWT	"eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJIUzI1NiJ9.eyJzY29wZSI6ImNv" \
		"bS5hdHByb3RvLmFjY2VzcyIsImF1ZCI6ImRpZDp3ZWI6bG9jYWxob3N0Iiwi" \
		"c3ViIjoiZGlkOnBsYzppbDZrdTJjcXZ5cGJ1dWJ3b3VpbWlxemQiLCJpYXQi" \
		"OjE3OTU2NTkxODMsImV4cCI6MTc5NTY2NjM4M30.I-gfmdo2rTkWscptyjbm" \
		"oj0KGhw5t0lIu1cKCyiggng"

struct answer {
	const char	*method;	/* after /xrpc/ */
	int		 status;
	char		*body;
	size_t		 len;
};

static struct answer answers[] = {
	{ "_health", 200, NULL, 0 },
	{ "com.atproto.server.describeServer", 200, NULL, 0 },
	{ "com.atproto.server.createAccount", 200, NULL, 0 },
	{ "com.atproto.repo.createRecord", 200, NULL, 0 },
	{ "com.atproto.repo.getRecord", 200, NULL, 0 },
	{ "com.atproto.repo.listRecords", 200, NULL, 0 },
	{ "com.atproto.repo.applyWrites", 200, NULL, 0 },
	{ NULL, 501, NULL, 0 },
};

static char	 datehdr[64];

static void
set(struct answer *a, const char *s)
{
	if ((a->body = strdup(s)) == NULL)
		err(1, NULL);
	a->len = strlen(s);
}

/* A list of n elements made of the same item. */
static void
set_list(struct answer *a, const char *pre, const char *item, int n,
    const char *post)
{
	size_t	 len, il;
	char	*p;
	int	 i;

	il = strlen(item);
	len = strlen(pre) + n * (il + 1) + strlen(post) + 1;
	if ((p = a->body = malloc(len)) == NULL)
		err(1, NULL);
	p += strlcpy(p, pre, len);
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		memcpy(p, item, il);
		p += il;
	}
	strlcpy(p, post, len - (p - a->body));
	a->len = strlen(a->body);
}

static void
init_answers(void)
{
	set(&answers[0], "{\"version\":\"null\"}");
	set(&answers[1], "{\"did\":\"did:web:localhost\","
	    "\"availableUserDomains\":[\".test\"],"
	    "\"inviteCodeRequired\":false,\"phoneVerificationRequired\":false,"
	    "\"links\":{},\"contact\":{}}");
	set(&answers[2], "{\"handle\":\"null.test\",\"did\":\"" DID "\","
	    "\"didDoc\":{\"@context\":[\"https://www.w3.org/ns/did/v1\","
	    "\"https://w3id.org/security/multikey/v1\","
	    "\"https://w3id.org/security/suites/secp256k1-2019/v1\"],"
	    "\"id\":\"" DID "\",\"alsoKnownAs\":[\"at://null.test\"],"
	    "\"verificationMethod\":[{\"id\":\"" DID "#atproto\","
	    "\"type\":\"Multikey\",\"controller\":\"" DID "\","
	    "\"publicKeyMultibase\":"
	    "\"zQ3shqju6u2HUNZk3FLM4H3KU3nKQ76PA23FLSqAoe8bs1U6C\"}],"
	    "\"service\":[{\"id\":\"#atproto_pds\","
	    "\"type\":\"AtprotoPersonalDataServer\","
	    "\"serviceEndpoint\":\"http://localhost\"}]},"
	    "\"accessJwt\":\"" JWT "\",\"refreshJwt\":\"" JWT "\"}");
	set(&answers[3], "{\"uri\":\"" URI "\",\"cid\":\"" CID1 "\","
	    "\"commit\":{\"cid\":\"" CID2 "\",\"rev\":\"3n36lxwkuhupm\"},"
	    "\"validationStatus\":\"valid\"}");
	set(&answers[4], "{\"uri\":\"" URI "\",\"cid\":\"" CID1 "\","
	    "\"value\":" VALUE "}");
	set_list(&answers[5], "{\"records\":[", "{\"uri\":\"" URI "\","
	    "\"cid\":\"" CID1 "\",\"value\":" VALUE "}", 50,
	    "],\"cursor\":\"3n36lxwkuehpm\"}");
	set_list(&answers[6], "{\"commit\":{\"cid\":\"" CID2 "\","
	    "\"rev\":\"3n36lyb6oxppm\"},\"results\":[", "{\"cid\":\"" CID1
	    "\",\"uri\":\"" URI "\",\"validationStatus\":\"valid\","
	    "\"$type\":\"com.atproto.repo.applyWrites#createResult\"}", 10,
	    "]}");
	set(&answers[7], "{\"error\":\"MethodNotImplemented\","
	    "\"message\":\"Method Not Implemented\"}");
}

static void
tick(evutil_socket_t fd, short ev, void *arg)
{
	struct tm	 tm;
	time_t		 t;

	(void)fd;
	(void)ev;
	(void)arg;
	t = time(NULL);
	gmtime_r(&t, &tm);
	strftime(datehdr, sizeof(datehdr), "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static const struct answer *
route(const char *line, size_t len)
{
	const struct answer	*a;
	const char		*p, *end, *q;
	size_t			 n;

	end = line + len;
	if ((p = memchr(line, ' ', len)) == NULL)
		return NULL;
	p++;
	if ((size_t)(end - p) < 6 || memcmp(p, "/xrpc/", 6) != 0)
		return &answers[7];
	p += 6;
	for (q = p; q < end && *q != '?' && *q != ' '; q++)
		;
	n = q - p;
	for (a = answers; a->method != NULL; a++)
		if (strlen(a->method) == n && memcmp(a->method, p, n) == 0)
			return a;
	return a;
}

/* Content-Length of a request head, or -1 if it has a body of another kind. */
static long
content_length(const char *head, size_t len)
{
	const char	*p, *end, *eol;
	long		 n;

	end = head + len;
	for (p = head; p < end; p = eol + 2) {
		if ((eol = memmem(p, end - p, "\r\n", 2)) == NULL)
			break;
		if (eol - p > 15 && strncasecmp(p, "content-length:", 15) == 0) {
			n = strtol(p + 15, NULL, 10);
			return n < 0 || n > MAX_BODY ? -1 : n;
		}
		if (eol - p > 18 &&
		    strncasecmp(p, "transfer-encoding:", 18) == 0)
			return -1;
	}
	return 0;
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer		*in, *out;
	struct evbuffer_ptr	 ep;
	const struct answer	*a;
	char			*head, *eol;
	size_t			 hlen;
	long			 blen;

	(void)arg;
	in = bufferevent_get_input(bev);
	out = bufferevent_get_output(bev);
	for (;;) {
		ep = evbuffer_search(in, "\r\n\r\n", 4, NULL);
		if (ep.pos == -1) {
			if (evbuffer_get_length(in) > MAX_HEAD)
				goto close;
			return;
		}
		hlen = ep.pos + 4;
		head = (char *)evbuffer_pullup(in, hlen);
		if ((blen = content_length(head, hlen)) == -1)
			goto close;
		if (evbuffer_get_length(in) < hlen + blen)
			return;
		eol = memchr(head, '\r', hlen);
		if ((a = route(head, eol - head)) == NULL)
			goto close;
		evbuffer_drain(in, hlen + blen);
		evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\n"
		    "Content-Type: application/json; charset=utf-8\r\n"
		    "Access-Control-Allow-Origin: *\r\nVary: Accept-Encoding\r\n"
		    "Content-Length: %zu\r\n\r\n", a->status,
		    a->status == 200 ? "OK" : "Not Implemented", datehdr,
		    a->len);
		evbuffer_add_reference(out, a->body, a->len, NULL, NULL);
	}
close:
	bufferevent_free(bev);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	bufferevent_free(bev);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct bufferevent	*bev;

	(void)sa;
	(void)salen;
	(void)arg;
	bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		evutil_closesocket(fd);
		return;
	}
	bufferevent_setcb(bev, on_read, NULL, on_event, NULL);
	bufferevent_enable(bev, EV_READ);
}

static void
on_stop(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	event_base_loopbreak(arg);
}

int
main(int argc, char *argv[])
{
	struct event_base	*base;
	struct evconnlistener	*l;
	struct event		*clock, *stop, *term;
	struct sockaddr_in	 sin;
	struct timeval		 sec = { 1, 0 }, life = { LIFETIME, 0 };
	const char		*errstr;

	if (argc != 2)
		errx(2, "usage: null_server PORT");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(strtonum(argv[1], 1, 65535, &errstr));
	if (errstr != NULL)
		errx(2, "port %s: %s", argv[1], errstr);
	signal(SIGPIPE, SIG_IGN);
	init_answers();
	tick(-1, 0, NULL);
	if ((base = event_base_new()) == NULL)
		errx(1, "event_base_new");
	l = evconnlistener_new_bind(base, on_accept, NULL,
	    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE, 128,
	    (struct sockaddr *)&sin, sizeof(sin));
	if (l == NULL)
		err(1, "listen on 127.0.0.1:%s", argv[1]);
	clock = event_new(base, -1, EV_PERSIST, tick, NULL);
	stop = evtimer_new(base, on_stop, base);
	term = evsignal_new(base, SIGTERM, on_stop, base);
	if (clock == NULL || stop == NULL || term == NULL)
		errx(1, "event_new");
	event_add(clock, &sec);
	event_add(stop, &life);
	event_add(term, NULL);
	event_base_dispatch(base);
	return 0;
}
