/*
 * The HTTP layer: the pure parser on good and bad input, then the
 * connection layer end to end on a loopback socket.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "http.h"
#include "log.h"

/*
 * Parser driver: feeds input, records each message.
 */
#define NMSG	4

struct pmsg {
	int	 head;
	int	 done;
	char	 method[16];
	char	 path[256];
	char	 query[256];
	char	 hdrs[2048];	/* "name=value\n"... */
	int	 minor;
	int	 keepalive;
	int	 expect;
	int64_t	 cl;
	char	 body[4096];
	size_t	 bodylen;
};

struct pdrv {
	struct http_parser	 p;
	struct pmsg		 m[NMSG];
	int			 n;
	int			 status;	/* error status, 0 if none */
};

static void
drv_init(struct pdrv *d)
{
	memset(d, 0, sizeof(*d));
	http_parser_init(&d->p);
}

static void
drv_free(struct pdrv *d)
{
	http_parser_free(&d->p);
}

static void
drv_head(struct pmsg *m, const struct http_head *h)
{
	int	 i;
	size_t	 n = 0;

	m->head++;
	snprintf(m->method, sizeof(m->method), "%s", h->method);
	snprintf(m->path, sizeof(m->path), "%s", h->path);
	snprintf(m->query, sizeof(m->query), "%s",
	    h->query ? h->query : "(null)");
	for (i = 0; i < h->nhdr && n < sizeof(m->hdrs); i++)
		n += snprintf(m->hdrs + n, sizeof(m->hdrs) - n, "%s=%s\n",
		    h->hdr[i].name, h->hdr[i].value);
	m->minor = h->minor;
	m->keepalive = h->keepalive;
	m->expect = h->expect_continue;
	m->cl = h->content_length;
}

static void
drv_feed(struct pdrv *d, const char *in, size_t len)
{
	const char	*data;
	size_t		 used, dlen, off = 0;
	enum http_pev	 ev;
	struct pmsg	*m;

	while (d->status == 0 && d->n < NMSG) {
		m = &d->m[d->n];
		ev = http_parse(&d->p, in + off, len - off, &used, &data,
		    &dlen);
		off += used;
		assert_true(off <= len);
		switch (ev) {
		case HTTP_PEV_MORE:
			assert_int_equal(off, len);
			return;
		case HTTP_PEV_ERROR:
			d->status = d->p.status;
			assert_non_null(d->p.error);
			return;
		case HTTP_PEV_HEAD:
			drv_head(m, &d->p.head);
			break;
		case HTTP_PEV_DATA:
			assert_true(dlen > 0);
			assert_true(m->bodylen + dlen <= sizeof(m->body));
			memcpy(m->body + m->bodylen, data, dlen);
			m->bodylen += dlen;
			break;
		case HTTP_PEV_DONE:
			m->done = 1;
			d->n++;
			http_parser_free(&d->p);
			if (off == len)
				return;
			break;
		}
	}
}

/* Parse s in one piece; return the error status, 0 if none. */
static int
parse_status(const char *s, size_t len)
{
	struct pdrv	 d;
	int		 st;

	drv_init(&d);
	drv_feed(&d, s, len);
	st = d.status;
	drv_free(&d);
	return st;
}

#define PSTATUS(s)	parse_status((s), sizeof(s) - 1)

static void
test_parse_get(void **state)
{
	static const char req[] = "GET /xrpc/x.y?a=1&b=%20 HTTP/1.1\r\n"
	    "Host: example.test\r\n"
	    "X-Thing:   spaced value \t\r\n"
	    "x-thing: second\r\n"
	    "Empty:\r\n"
	    "\r\n";
	struct pdrv	 d;
	const char	*v;
	int		 i = 0;

	drv_init(&d);
	drv_feed(&d, req, sizeof(req) - 1);
	assert_int_equal(d.status, 0);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.m[0].method, "GET");
	assert_string_equal(d.m[0].path, "/xrpc/x.y");
	assert_string_equal(d.m[0].query, "a=1&b=%20");
	assert_int_equal(d.m[0].minor, 1);
	assert_int_equal(d.m[0].keepalive, 1);
	assert_int_equal(d.m[0].cl, 0);
	assert_int_equal(d.m[0].bodylen, 0);
	drv_free(&d);

	/* Keep the head to look headers up. */
	http_parser_init(&d.p);
	{
		const char	*data;
		size_t		 used, dlen;

		assert_int_equal(http_parse(&d.p, req, sizeof(req) - 1, &used,
		    &data, &dlen), HTTP_PEV_HEAD);
		assert_int_equal(used, sizeof(req) - 1);
	}
	assert_string_equal(d.p.head.target, "/xrpc/x.y?a=1&b=%20");
	assert_string_equal(http_head_get(&d.p.head, "HOST"), "example.test");
	assert_string_equal(http_head_next(&d.p.head, "X-THING", &i),
	    "spaced value");
	assert_string_equal(http_head_next(&d.p.head, "X-THING", &i),
	    "second");
	assert_null(http_head_next(&d.p.head, "X-THING", &i));
	assert_string_equal(http_head_get(&d.p.head, "empty"), "");
	assert_null(http_head_get(&d.p.head, "missing"));
	v = http_head_get(&d.p.head, "Host");
	assert_non_null(v);
	assert_true(http_parser_done(&d.p));
	http_parser_free(&d.p);
}

static void
test_parse_targets(void **state)
{
	static const char in[] =
	    "GET http://h.test:80/p/q?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"
	    "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"
	    "GET https://h.test?z HTTP/1.1\r\nHost: h\r\n\r\n"
	    "GET /? HTTP/1.1\r\nHost: h\r\n\r\n";
	struct pdrv	 d;

	drv_init(&d);
	drv_feed(&d, in, sizeof(in) - 1);
	assert_int_equal(d.status, 0);
	assert_int_equal(d.n, 4);
	assert_string_equal(d.m[0].path, "/p/q");
	assert_string_equal(d.m[0].query, "x=1");
	assert_string_equal(d.m[1].path, "*");
	assert_string_equal(d.m[1].query, "(null)");
	assert_string_equal(d.m[2].path, "/");
	assert_string_equal(d.m[2].query, "z");
	assert_string_equal(d.m[3].path, "/");
	assert_string_equal(d.m[3].query, "");
	drv_free(&d);
}

static void
test_parse_versions(void **state)
{
	static const char in[] = "GET / HTTP/1.0\r\n\r\n"
	    "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"
	    "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
	    "GET / HTTP/1.0\r\nConnection: close, keep-alive\r\n\r\n";
	struct pdrv	 d;

	drv_init(&d);
	drv_feed(&d, in, sizeof(in) - 1);
	assert_int_equal(d.status, 0);
	assert_int_equal(d.n, 4);
	assert_int_equal(d.m[0].minor, 0);
	assert_int_equal(d.m[0].keepalive, 0);
	assert_int_equal(d.m[1].keepalive, 1);
	assert_int_equal(d.m[2].keepalive, 0);
	assert_int_equal(d.m[3].keepalive, 0);
	drv_free(&d);

	assert_int_equal(PSTATUS("GET / HTTP/1.2\r\nHost: h\r\n\r\n"), 505);
	assert_int_equal(PSTATUS("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), 505);
	assert_int_equal(PSTATUS("GET / HTTP/0.9\r\nHost: h\r\n\r\n"), 505);
	assert_int_equal(PSTATUS("GET / HTTP/1\r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(PSTATUS("GET / http/1.1\r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(PSTATUS("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(PSTATUS("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(PSTATUS("GET /\r\nHost: h\r\n\r\n"), 400);
}

static void
test_parse_bad(void **state)
{
	static const struct {
		const char	*in;
		size_t		 len;
		int		 status;
	} t[] = {
#define B(s, st)	{ s, sizeof(s) - 1, st }
		B("GET / HTTP/1.1\r\nHost: h\r\nA: b\r\n c\r\n\r\n", 400),
		B("GET / HTTP/1.1\r\nHost: h\r\n\tc\r\n\r\n", 400),
		B("GET / HTTP/1.1\r\nHost: h\r\nA: b\rc\r\n\r\n", 400),
		B("GET / HTTP/1.1\r\nHost: h\r\nA: b\0c\r\n\r\n", 400),
		B("GET /\0 HTTP/1.1\r\nHost: h\r\n\r\n", 400),
		B("GET / HTTP/1.1\r\nHost: h\r\nA: \x7f\r\n\r\n", 400),
		B("GET / HTTP/1.1\r\nHost: h\r\nA : b\r\n\r\n", 400),
		B("GET / HTTP/1.1\r\nHost: h\r\n: b\r\n\r\n", 400),
		B("GET / HTTP/1.1\r\nHost: h\r\nA(b: c\r\n\r\n", 400),
		B("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400),
		B("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
		B("GET / HTTP/1.1\nHost: h\r\n\r\n", 400),
		B("GET / HTTP/1.1\r\nHost: h\n\r\n", 400),
		B("GET / HTTP/1.1\r\nHost: h\r\n\n", 400),
		B("GET / HTTP/1.1\r\n\r\n", 400),
		B("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
		B("GET x HTTP/1.1\r\nHost: h\r\n\r\n", 400),
		B("GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", 400),
		B("GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", 400),
		B("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n",
		    400),
		B("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
		    400),
		B("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n",
		    400),
		B("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", 400),
		B("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n",
		    400),
		B("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
		    "Content-Length: 1\r\n\r\n", 400),
		B("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: "
		    "99999999999999999999\r\n\r\n", 413),
		B("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n", 400),
		B("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n"
		    "\r\n", 501),
		B("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, "
		    "chunked\r\n\r\n", 501),
		B("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
		    400),
		B("POST / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n", 417),
		B("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n"
		    "Host: h\r\n\r\n", 400),
#undef B
	};
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (parse_status(t[i].in, t[i].len) != t[i].status)
			fail_msg("case %zu: got %d, want %d", i,
			    parse_status(t[i].in, t[i].len), t[i].status);
	}
	/* A few empty lines before a request are fine. */
	assert_int_equal(PSTATUS("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"),
	    0);
	/* Identical Expect and 1.0 Expect. */
	assert_int_equal(PSTATUS("GET / HTTP/1.0\r\nExpect: x\r\n\r\n"), 0);
}

/* A request whose line is exactly n bytes (without CRLF). */
static char *
reqline(size_t n, size_t *len)
{
	char	*s;
	size_t	 t = n - 4 - 9;	/* "GET " and " HTTP/1.1" */

	s = malloc(n + 32);
	assert_non_null(s);
	memcpy(s, "GET /", 5);
	memset(s + 5, 'a', t - 1);
	memcpy(s + 4 + t, " HTTP/1.1\r\nHost: h\r\n\r\n", 22);
	*len = n + 2 + 9 + 2;
	return s;
}

static void
test_parse_reqline_limit(void **state)
{
	char	*s;
	size_t	 len;

	s = reqline(HTTP_REQLINE_MAX, &len);
	assert_int_equal(parse_status(s, len), 0);
	free(s);
	s = reqline(HTTP_REQLINE_MAX + 1, &len);
	assert_int_equal(parse_status(s, len), 414);
	free(s);
	/* Without any LF, the parser gives up at the bound. */
	s = malloc(3 * HTTP_REQLINE_MAX);
	assert_non_null(s);
	memset(s, 'a', 3 * HTTP_REQLINE_MAX);
	assert_int_equal(parse_status(s, 3 * HTTP_REQLINE_MAX), 414);
	free(s);
}

/* Append a header line of exactly n bytes (without CRLF). */
static size_t
hdrline(char *s, size_t off, int k, size_t n)
{
	int	 m;

	m = snprintf(s + off, 16, "X-%d: ", k);
	memset(s + off + m, 'v', n - m);
	memcpy(s + off + n, "\r\n", 2);
	return off + n + 2;
}

static void
test_parse_header_limits(void **state)
{
	char	*s;
	size_t	 off;
	int	 i;

	s = malloc(HTTP_HDRBLOCK_MAX * 2);
	assert_non_null(s);

	/* One line at its bound, then one past it. */
	off = snprintf(s, 64, "GET / HTTP/1.1\r\nHost: h\r\n");
	off = hdrline(s, off, 1, HTTP_HDRLINE_MAX);
	memcpy(s + off, "\r\n", 2);
	assert_int_equal(parse_status(s, off + 2), 0);
	off = snprintf(s, 64, "GET / HTTP/1.1\r\nHost: h\r\n");
	off = hdrline(s, off, 1, HTTP_HDRLINE_MAX + 1);
	memcpy(s + off, "\r\n", 2);
	assert_int_equal(parse_status(s, off + 2), 431);

	/* The whole block: "Host: h" is 7 bytes. */
	for (i = 0; i < 2; i++) {
		off = snprintf(s, 64, "GET / HTTP/1.1\r\nHost: h\r\n");
		off = hdrline(s, off, 1, HTTP_HDRLINE_MAX);
		off = hdrline(s, off, 2, HTTP_HDRLINE_MAX);
		off = hdrline(s, off, 3, HTTP_HDRLINE_MAX);
		off = hdrline(s, off, 4, HTTP_HDRLINE_MAX - 7 + i);
		memcpy(s + off, "\r\n", 2);
		assert_int_equal(parse_status(s, off + 2), i ? 431 : 0);
	}

	/* The count: Host plus 99 more, then plus 100. */
	for (i = 0; i < 2; i++) {
		int	 k;

		off = snprintf(s, 64, "GET / HTTP/1.1\r\nHost: h\r\n");
		for (k = 0; k < HTTP_HEADERS_MAX - 1 + i; k++)
			off = hdrline(s, off, k, 8);
		memcpy(s + off, "\r\n", 2);
		assert_int_equal(parse_status(s, off + 2), i ? 431 : 0);
	}
	free(s);
}

static void
test_parse_chunked(void **state)
{
	static const char ok[] = "POST /u HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: Chunked\r\n\r\n"
	    "5\r\nhello\r\n"
	    "0006;name=val;x\r\n world\r\n"
	    "A \t;ext\r\n0123456789\r\n"
	    "0\r\nTrailer: x\r\nOther: y\r\n\r\n";
	struct pdrv	 d;

	drv_init(&d);
	drv_feed(&d, ok, sizeof(ok) - 1);
	assert_int_equal(d.status, 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.m[0].cl, -1);
	assert_int_equal(d.m[0].bodylen, 21);
	assert_memory_equal(d.m[0].body, "hello world0123456789", 21);
	drv_free(&d);

#define CH(body)	"POST / HTTP/1.1\r\nHost: h\r\n" \
			"Transfer-Encoding: chunked\r\n\r\n" body
	assert_int_equal(PSTATUS(CH("0\r\n\r\n")), 0);
	/* Incomplete is fine. */
	assert_int_equal(PSTATUS(CH("ff\r\n")), 0);
	assert_int_equal(PSTATUS(CH("g\r\n")), 400);
	assert_int_equal(PSTATUS(CH("\r\n")), 400);
	assert_int_equal(PSTATUS(CH("5x\r\n")), 400);
	assert_int_equal(PSTATUS(CH(";x\r\n")), 400);
	assert_int_equal(PSTATUS(CH("5\n")), 400);
	assert_int_equal(PSTATUS(CH("5\r\nhelloX\r\n")), 400);
	assert_int_equal(PSTATUS(CH("5\r\nhello\n0\r\n\r\n")), 400);
	assert_int_equal(PSTATUS(CH("1;a\x01\r\n")), 400);
	assert_int_equal(PSTATUS(CH("fffffffffffffff\r\n")), 413);
	assert_int_equal(PSTATUS(CH("0\r\nT: a\rb\r\n\r\n")), 400);
	assert_int_equal(PSTATUS(CH("0\r\nT: a\n\r\n")), 400);
	assert_int_equal(PSTATUS(CH("0\r\n\n")), 400);
#undef CH
	{
		char	*s;
		size_t	 off;

		s = malloc(HTTP_CHUNKLINE_MAX + 256);
		assert_non_null(s);
		off = snprintf(s, 128, "POST / HTTP/1.1\r\nHost: h\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n1;");
		memset(s + off, 'e', HTTP_CHUNKLINE_MAX - 2);
		off += HTTP_CHUNKLINE_MAX - 2;
		memcpy(s + off, "\r\nx\r\n0\r\n\r\n", 10);
		assert_int_equal(parse_status(s, off + 10), 0);
		s[off] = 'e';
		memcpy(s + off + 1, "\r\nx\r\n0\r\n\r\n", 10);
		assert_int_equal(parse_status(s, off + 11), 400);
		free(s);
	}
}

static void
test_parse_pipeline(void **state)
{
	static const char two[] = "POST /a HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 5\r\nExpect: 100-continue\r\n\r\nhello"
	    "GET /b?q HTTP/1.1\r\nHost: h\r\n\r\n";
	struct pdrv	 d;

	drv_init(&d);
	drv_feed(&d, two, sizeof(two) - 1);
	assert_int_equal(d.status, 0);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.m[0].method, "POST");
	assert_int_equal(d.m[0].cl, 5);
	assert_int_equal(d.m[0].expect, 1);
	assert_int_equal(d.m[0].bodylen, 5);
	assert_memory_equal(d.m[0].body, "hello", 5);
	assert_string_equal(d.m[1].method, "GET");
	assert_string_equal(d.m[1].path, "/b");
	assert_string_equal(d.m[1].query, "q");
	assert_int_equal(d.m[1].bodylen, 0);
	drv_free(&d);
}

static void
drv_compare(const struct pdrv *a, const struct pdrv *b)
{
	int	 i;

	assert_int_equal(a->status, b->status);
	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		assert_int_equal(a->m[i].head, 1);
		assert_int_equal(b->m[i].head, 1);
		assert_string_equal(a->m[i].method, b->m[i].method);
		assert_string_equal(a->m[i].path, b->m[i].path);
		assert_string_equal(a->m[i].query, b->m[i].query);
		assert_string_equal(a->m[i].hdrs, b->m[i].hdrs);
		assert_int_equal(a->m[i].cl, b->m[i].cl);
		assert_int_equal(a->m[i].keepalive, b->m[i].keepalive);
		assert_int_equal(a->m[i].bodylen, b->m[i].bodylen);
		assert_memory_equal(a->m[i].body, b->m[i].body,
		    a->m[i].bodylen);
	}
}

/* Every split point, and byte by byte, parse as in one piece. */
static void
test_parse_split(void **state)
{
	static const char in[] = "\r\nPOST /up?x=%41&y HTTP/1.1\r\n"
	    "Host: h\r\nTransfer-Encoding: chunked\r\nA: b c\r\n\r\n"
	    "3;e=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\n"
	    "PUT /p HTTP/1.0\r\nContent-Length: 4\r\n"
	    "Connection: keep-alive\r\n\r\nWXYZ"
	    "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
	struct pdrv	 whole, *part;
	size_t		 k, i, n = sizeof(in) - 1;

	drv_init(&whole);
	drv_feed(&whole, in, n);
	assert_int_equal(whole.status, 0);
	assert_int_equal(whole.n, 3);
	assert_int_equal(whole.m[0].bodylen, 19);
	assert_memory_equal(whole.m[2].path, "/", 2);

	part = malloc(sizeof(*part));
	assert_non_null(part);
	for (k = 0; k <= n; k++) {
		drv_init(part);
		drv_feed(part, in, k);
		drv_feed(part, in + k, n - k);
		drv_compare(&whole, part);
		drv_free(part);
	}
	drv_init(part);
	for (i = 0; i < n; i++)
		drv_feed(part, in + i, 1);
	drv_compare(&whole, part);
	drv_free(part);
	free(part);
	drv_free(&whole);
}

static void
test_pct_query(void **state)
{
	char		 buf[16];
	size_t		 it = 0;
	const char	*q = "a=1&b=x%20y+z&a=&a&c=%zz&a=%E2%82%AC&d=%00&"
	    "%61=5&&long=0123456789abcdef";

	assert_int_equal(http_pct_decode("a%2Fb+c", 7, buf, sizeof(buf), 0),
	    5);
	assert_string_equal(buf, "a/b+c");
	assert_int_equal(http_pct_decode("a+c", 3, buf, sizeof(buf), 1), 3);
	assert_string_equal(buf, "a c");
	assert_int_equal(http_pct_decode("%4", 2, buf, sizeof(buf), 0), -1);
	assert_int_equal(http_pct_decode("%g0", 3, buf, sizeof(buf), 0), -1);
	assert_int_equal(http_pct_decode("%00", 3, buf, sizeof(buf), 0), -1);
	assert_int_equal(http_pct_decode("abcd", 4, buf, 4, 0), -1);
	assert_int_equal(http_pct_decode("abc", 3, buf, 4, 0), 3);

	/* Repeated parameters, in order, including empty ones. */
	assert_int_equal(http_query_next(q, "a", &it, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "1");
	assert_int_equal(http_query_next(q, "a", &it, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "");
	assert_int_equal(http_query_next(q, "a", &it, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "");
	assert_int_equal(http_query_next(q, "a", &it, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "\xe2\x82\xac");
	/* "%61" is "a" too. */
	assert_int_equal(http_query_next(q, "a", &it, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "5");
	assert_int_equal(http_query_next(q, "a", &it, buf, sizeof(buf)), 0);
	assert_int_equal(http_query_next(q, "a", &it, buf, sizeof(buf)), 0);

	assert_int_equal(http_query_get(q, "b", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "x y z");
	assert_int_equal(http_query_get(q, "c", buf, sizeof(buf)), -1);
	assert_int_equal(http_query_get(q, "d", buf, sizeof(buf)), -1);
	assert_int_equal(http_query_get(q, "long", buf, sizeof(buf)), -1);
	assert_int_equal(http_query_get(q, "zz", buf, sizeof(buf)), 0);
	assert_int_equal(http_query_get(NULL, "a", buf, sizeof(buf)), 0);
	assert_int_equal(http_query_get("", "a", buf, sizeof(buf)), 0);
}

static void
test_json_escape(void **state)
{
	struct evbuffer	*b = evbuffer_new();
	char		 out[128];
	size_t		 n;

	assert_int_equal(http_json_escape(b,
	    "q\"b\\n\n\x01\x7f\xc3\xa9\xff\xe2\x82\xac\xed\xa0\x80"), 0);
	n = evbuffer_remove(b, out, sizeof(out) - 1);
	out[n] = '\0';
	assert_string_equal(out, "\"q\\\"b\\\\n\\n\\u0001\\u007f\xc3\xa9"
	    "\xef\xbf\xbd\xe2\x82\xac\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	evbuffer_free(b);
}

/*
 * End to end: a server on a loopback socket, clients on plain sockets,
 * the event loop run in short slices between client steps.
 */
struct e2e {
	struct event_base	*base;
	struct http_server	*srv;
	int			 port;
	int			 nreq;
	int			 nabort;
	int			 nchunks;
	size_t			 streamed;
	size_t			 maxchunk;
	struct http_request	*pending;
	struct event		*timer;
	struct bufferevent	*detached;
	int			 detached_nodelay;
	char			 leftover[64];
};

struct client {
	int	 fd;
	char	 buf[65536];
	size_t	 len;
};

struct resp {
	int	 status;
	char	 head[4096];
	char	 body[8192];
	size_t	 bodylen;
};

static struct http_limits	 e2e_limits;

static void
echo_body(struct http_request *req, const uint8_t *body, size_t len)
{
	http_reply(req, 200, "application/octet-stream", body, len);
}

static int
stream_chunk(struct http_request *req, const uint8_t *data, size_t len)
{
	struct e2e	*e = http_request_data(req);

	e->nchunks++;
	e->streamed += len;
	if (len > e->maxchunk)
		e->maxchunk = len;
	return 0;
}

static void
stream_done(struct http_request *req)
{
	struct e2e	*e = http_request_data(req);
	char		 msg[64];

	snprintf(msg, sizeof(msg), "%zu", e->streamed);
	http_reply(req, 200, "text/plain", msg, strlen(msg));
}

static void
async_fire(evutil_socket_t fd, short ev, void *arg)
{
	struct e2e		*e = arg;
	struct http_request	*req = e->pending;

	e->pending = NULL;
	http_response_start(req, 200, "text/plain");
	http_add_header(req, "X-Late", "yes");
	http_response_body(req, "late", 4);
	http_response_end(req);
}

static void
async_abort(struct http_request *req)
{
	struct e2e	*e = http_request_data(req);

	assert_ptr_equal(req, e->pending);
	e->nabort++;
	e->pending = NULL;
	evtimer_del(e->timer);
}

static void
detach(struct e2e *e, struct http_request *req)
{
	struct bufferevent	*bev;
	struct evbuffer		*in;
	size_t			 n;
	socklen_t		 sl = sizeof(e->detached_nodelay);

	bev = http_request_detach(req);
	assert_non_null(bev);
	e->detached = bev;
	assert_int_equal(getsockopt(bufferevent_getfd(bev), IPPROTO_TCP,
	    TCP_NODELAY, &e->detached_nodelay, &sl), 0);
	in = bufferevent_get_input(bev);
	n = evbuffer_copyout(in, e->leftover, sizeof(e->leftover) - 1);
	e->leftover[n] = '\0';
	bufferevent_write(bev, "HTTP/1.1 101 Switching Protocols\r\n\r\n",
	    36);
}

static void
handler(struct http_request *req, void *arg)
{
	struct e2e	*e = arg;
	const char	*path = http_request_path(req);
	char		 v[8];
	struct timeval	 tv = { 0, 50 * 1000 };

	e->nreq++;
	http_request_set_data(req, e);
	assert_non_null(http_request_remote(req));
	if (strcmp(path, "/hello") == 0)
		http_reply(req, 200, "text/plain", "hello world", 11);
	else if (strcmp(path, "/echo") == 0)
		http_request_body_max(req, 1000, echo_body);
	else if (strcmp(path, "/stream") == 0)
		http_request_body_stream(req, stream_chunk, stream_done);
	else if (strcmp(path, "/async") == 0) {
		e->pending = req;
		if (http_query_get(http_request_query(req), "abort", v,
		    sizeof(v)) == 1)
			http_request_on_abort(req, async_abort);
		evtimer_add(e->timer, &tv);
	} else if (strcmp(path, "/err") == 0)
		http_reply_json_error(req, 400, "Bad\"Name",
		    "line1\nline2 \"q\" \\ \x01");
	else if (strcmp(path, "/chunky") == 0) {
		http_response_start(req, 200, "text/plain");
		assert_int_equal(http_add_header(req, "X-Bad", "a\r\nb"), -1);
		assert_int_equal(http_add_header(req, "X Bad", "a"), -1);
		http_response_body(req, "abc", 3);
		http_response_flush(req);
		assert_int_equal(http_add_header(req, "X-Late", "a"), -1);
		http_response_body(req, "def", 3);
		http_response_end(req);
	} else if (strcmp(path, "/detach") == 0)
		detach(e, req);
	else if (strcmp(path, "/early") == 0)
		http_reply(req, 403, NULL, NULL, 0);
	else
		http_reply_json_error(req, 404, "NotFound", NULL);
}

static void
hook(struct http_request *req, void *arg)
{
	struct e2e	*e = arg;

	assert_non_null(e->srv);
	http_add_header(req, "X-Hook", "1");
}

static int
e2e_setup(void **state)
{
	struct e2e		*e;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd, one = 1;

	log_init(1, 0, LOG_DAEMON);
	e = calloc(1, sizeof(*e));
	assert_non_null(e);
	e->base = event_base_new();
	assert_non_null(e->base);
	e->timer = evtimer_new(e->base, async_fire, e);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd != -1);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	e->port = ntohs(sin.sin_port);
	e->srv = http_server_new(e->base, &e2e_limits, handler, e);
	assert_non_null(e->srv);
	assert_int_equal(http_server_listen_fd(e->srv, fd), 0);
	http_server_set_response_hook(e->srv, hook);
	*state = e;
	return 0;
}

static int
e2e_teardown(void **state)
{
	struct e2e	*e = *state;

	http_server_free(e->srv);
	if (e->detached != NULL)
		bufferevent_free(e->detached);
	event_free(e->timer);
	event_base_free(e->base);
	free(e);
	return 0;
}

static int
setup_default(void **state)
{
	http_limits_default(&e2e_limits);
	return e2e_setup(state);
}

static int
setup_small(void **state)
{
	http_limits_default(&e2e_limits);
	e2e_limits.max_conns = 1;
	e2e_limits.idle_ms = 300;
	e2e_limits.header_ms = 300;
	e2e_limits.linger_ms = 100;
	return e2e_setup(state);
}

static void
pump(struct e2e *e, int ms)
{
	struct timeval	 tv = { 0, ms * 1000 };

	event_base_loopexit(e->base, &tv);
	event_base_dispatch(e->base);
}

static struct client *
client_new(struct e2e *e)
{
	struct client		*c;
	struct sockaddr_in	 sin;

	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c->fd != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(e->port);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sin,
	    sizeof(sin)), 0);
	assert_int_equal(fcntl(c->fd, F_SETFL, O_NONBLOCK), 0);
	return c;
}

static void
client_free(struct client *c)
{
	if (c->fd != -1)
		close(c->fd);
	free(c);
}

static void
client_send(struct client *c, const char *s)
{
	size_t	 n = strlen(s);

	assert_int_equal(write(c->fd, s, n), (ssize_t)n);
}

/* Read what is there; returns 0 at EOF. */
static int
client_fill(struct client *c)
{
	ssize_t	 n;

	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n > 0)
		c->len += n;
	if (n == -1 && errno == ECONNRESET)
		return 0;
	assert_true(n >= 0 || errno == EAGAIN);
	return n != 0;
}

/* Take one response off the client's buffer if it is all there. */
static int
take_response(struct client *c, struct resp *r, int head_only)
{
	char		*e, *cl, *p, *end = c->buf + c->len;
	size_t		 hlen, n;
	unsigned long	 sz;

	c->buf[c->len] = '\0';
	if ((e = strstr(c->buf, "\r\n\r\n")) == NULL)
		return 0;
	hlen = e + 4 - c->buf;
	memset(r, 0, sizeof(*r));
	assert_true(hlen < sizeof(r->head));
	memcpy(r->head, c->buf, hlen);
	assert_int_equal(sscanf(r->head, "HTTP/1.1 %d ", &r->status), 1);
	p = c->buf + hlen;
	if (head_only || r->status == 100 || r->status == 204)
		;
	else if (strcasestr(r->head, "\r\nTransfer-Encoding: chunked")) {
		for (;;) {
			if ((e = strstr(p, "\r\n")) == NULL)
				return 0;
			sz = strtoul(p, NULL, 16);
			p = e + 2;
			if (sz == 0) {
				if (end - p < 2)
					return 0;
				p += 2;
				break;
			}
			if ((size_t)(end - p) < sz + 2)
				return 0;
			memcpy(r->body + r->bodylen, p, sz);
			r->bodylen += sz;
			p += sz + 2;
		}
	} else {
		cl = strcasestr(r->head, "\r\nContent-Length: ");
		assert_non_null(cl);
		n = strtoul(cl + 18, NULL, 10);
		if ((size_t)(end - p) < n)
			return 0;
		memcpy(r->body, p, n);
		r->bodylen = n;
		p += n;
	}
	r->body[r->bodylen] = '\0';
	memmove(c->buf, p, end - p);
	c->len = end - p;
	return 1;
}

/* Pump until a response arrives (1), EOF (0), or ms pass (-1). */
static int
client_response(struct e2e *e, struct client *c, struct resp *r,
    int head_only, int ms)
{
	int	 t;

	for (t = 0; t < ms; t += 5) {
		if (take_response(c, r, head_only))
			return 1;
		pump(e, 5);
		if (!client_fill(c))
			return take_response(c, r, head_only) ? 1 : 0;
	}
	return take_response(c, r, head_only) ? 1 : -1;
}

/* Pump until the server closes: returns 1 on EOF, 0 on a timeout. */
static int
client_eof(struct e2e *e, struct client *c, int ms)
{
	int	 t;

	for (t = 0; t < ms; t += 5) {
		pump(e, 5);
		if (!client_fill(c))
			return 1;
	}
	return 0;
}

static void
test_e2e_get(void **state)
{
	struct e2e	*e = *state;
	struct client	*c = client_new(e);
	struct resp	 r;

	client_send(c, "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(client_response(e, c, &r, 0, 2000), 1);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello world");
	assert_non_null(strstr(r.head, "\r\nDate: "));
	assert_non_null(strstr(r.head, "\r\nContent-Length: 11\r\n"));
	assert_non_null(strstr(r.head, "\r\nContent-Type: text/plain\r\n"));
	assert_null(strstr(r.head, "Connection"));
	assert_non_null(strstr(r.head, "\r\nX-Hook: 1\r\n"));

	/* Same connection again, then two pipelined, answered in order. */
	client_send(c, "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(client_response(e, c, &r, 0, 2000), 1);
	assert_int_equal(r.status, 200);
	client_send(c, "GET /nope HTTP/1.1\r\nHost: h\r\n\r\n"
	    "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(client_response(e, c, &r, 0, 2000), 1);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body, "{\"error\":\"NotFound\"}");
	assert_int_equal(client_response(e, c, &r, 0, 2000), 1);
	assert_int_equal(r.status, 200);
	assert_int_equal(e->nreq, 4);

	/* HEAD: the length of the GET body, no body. */
	client_send(c, "HEAD /hello HTTP/1.1\r\nHost: h\r\n\r\n"
	    "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(client_response(e, c, &r, 1, 2000), 1);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.head, "\r\nContent-Length: 11\r\n"));
	assert_int_equal(client_response(e, c, &r, 0, 2000), 1);
	assert_string_equal(r.body, "hello world");
	assert_int_equal(c->len, 0);

	/* HTTP/1.0 closes unless asked. */
	client_send(c, "GET /hello HTTP/1.0\r\n\r\n");
	assert_int_equal(client_response(e, c, &r, 0, 2000), 1);
	assert_non_null(strstr(r.head, "\r\nConnection: close\r\n"));
	assert_int_equal(client_eof(e, c, 2000), 1);
	client_free(c);
	pump(e, 5);
	assert_int_equal(http_server_nconns(e->srv), 0);
}

static void
test_e2e_body(void **state)
{
	struct e2e	*e = *state;
	struct client	*c = client_new(e);
	struct resp	 r;

	client_send(c, "POST /echo HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 5\r\n\r\nhello");
	assert_int_equal(client_response(e, c, &r, 0, 2000), 1);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello");

	client_send(c, "POST /echo HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
	pump(e, 20);
	client_send(c, "2\r\nde\r\n0\r\n\r\n");
	assert_int_equal(client_response(e, c, &r, 0, 2000), 1);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "abcde");

	/* 100 Continue comes before we send the body. */
	client_send(c, "POST /echo HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 3\r\nExpect: 100-continue\r\n\r\n");
	assert_int_equal(client_response(e, c, &r, 1, 2000), 1);
	assert_int_equal(r.status, 100);
	client_send(c, "xyz");
	assert_int_equal(client_response(e, c, &r, 0, 2000), 1);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "xyz");

	/* Streamed. */
	client_send(c, "POST /stream HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n");
	pump(e, 20);
	client_send(c, "6\r\nefghij\r\n0\r\n\r\n");
	assert_int_equal(client_response(e, c, &r, 0, 2000), 1);
	assert_string_equal(r.body, "10");
	assert_true(e->nchunks >= 2);

	/* A chunked response. */
	client_send(c, "GET /chunky HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(client_response(e, c, &r, 0, 2000), 1);
	assert_non_null(strstr(r.head, "Transfer-Encoding: chunked"));
	assert_null(strstr(r.head, "Content-Length"));
	assert_null(strstr(r.head, "X-Bad"));
	assert_null(strstr(r.head, "X-Late"));
	assert_non_null(strstr(r.head, "X-Hook"));
	assert_string_equal(r.body, "abcdef");
	/* Still usable. */
	client_send(c, "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(client_response(e, c, &r, 0, 2000), 1);
	assert_string_equal(r.body, "hello world");
	client_free(c);
}

static void
check_json_error(const struct resp *r, const char *name, const char *msg)
{
	struct json_object	*o, *v;

	o = json_tokener_parse(r->body);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "error", &v));
	assert_string_equal(json_object_get_string(v), name);
	if (msg != NULL) {
		assert_true(json_object_object_get_ex(o, "message", &v));
		assert_string_equal(json_object_get_string(v), msg);
	}
	json_object_put(o);
}

static void
test_e2e_too_large(void **state)
{
	struct e2e	*e = *state;
	struct client	*c = client_new(e);
	struct resp	 r;

	/* Declared too large: 413 without reading (or asking for) it. */
	client_send(c, "POST /echo HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 1000000\r\nExpect: 100-continue\r\n\r\n");
	assert_int_equal(client_response(e, c, &r, 0, 2000), 1);
	assert_int_equal(r.status, 413);
	assert_non_null(strstr(r.head, "\r\nConnection: close\r\n"));
	check_json_error(&r, "PayloadTooLargeError", NULL);
	assert_int_equal(client_eof(e, c, 2000), 1);
	client_free(c);

	/* Chunked: 413 once past the limit. */
	c = client_new(e);
	client_send(c, "POST /echo HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n");
	pump(e, 10);
	{
		char	 big[700 + 16];

		memcpy(big, "2bc\r\n", 5);
		memset(big + 5, 'z', 700);
		memcpy(big + 705, "\r\n", 3);
		client_send(c, big);
		assert_int_equal(client_response(e, c, &r, 0, 100), -1);
		client_send(c, big);
	}
	assert_int_equal(client_response(e, c, &r, 0, 2000), 1);
	assert_int_equal(r.status, 413);
	assert_int_equal(client_eof(e, c, 2000), 1);
	client_free(c);

	/* A handler that does not want the body: answered, then closed. */
	c = client_new(e);
	client_send(c, "POST /early HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 10\r\n\r\n0123456789");
	assert_int_equal(client_response(e, c, &r, 0, 2000), 1);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(r.head, "\r\nContent-Length: 0\r\n"));
	assert_non_null(strstr(r.head, "\r\nConnection: close\r\n"));
	assert_int_equal(client_eof(e, c, 2000), 1);
	client_free(c);
}

static void
test_e2e_errors(void **state)
{
	struct e2e	*e = *state;
	struct client	*c;
	struct resp	 r;
	static const struct {
		const char	*req;
		int		 status;
		const char	*name;
	} t[] = {
		{ "GET / HTTP/1.1\r\nHost: h\r\nBad Header\r\n\r\n", 400,
		    "InvalidRequest" },
		{ "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505,
		    "HTTPVersionNotSupported" },
		{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: br\r\n\r\n",
		    501, "NotImplemented" },
		{ "GET / HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n", 400,
		    "InvalidRequest" },
	};
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		c = client_new(e);
		client_send(c, t[i].req);
		assert_int_equal(client_response(e, c, &r, 0, 2000), 1);
		assert_int_equal(r.status, t[i].status);
		assert_non_null(strstr(r.head, "\r\nConnection: close\r\n"));
		assert_non_null(strstr(r.head, "\r\nX-Hook: 1\r\n"));
		assert_non_null(strstr(r.head,
		    "\r\nContent-Type: application/json; charset=utf-8\r\n"));
		check_json_error(&r, t[i].name, NULL);
		assert_int_equal(client_eof(e, c, 2000), 1);
		client_free(c);
	}
	assert_int_equal(e->nreq, 0);

	c = client_new(e);
	client_send(c, "GET /err HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(client_response(e, c, &r, 0, 2000), 1);
	assert_int_equal(r.status, 400);
	check_json_error(&r, "Bad\"Name", "line1\nline2 \"q\" \\ \x01");
	client_free(c);
}

static void
test_e2e_async(void **state)
{
	struct e2e	*e = *state;
	struct client	*c = client_new(e);
	struct resp	 r;

	client_send(c, "GET /async HTTP/1.1\r\nHost: h\r\n\r\n"
	    "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n");
	pump(e, 10);
	assert_non_null(e->pending);
	assert_int_equal(e->nreq, 1);	/* the pipelined one waits */
	assert_int_equal(client_response(e, c, &r, 0, 2000), 1);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "late");
	assert_non_null(strstr(r.head, "\r\nX-Late: yes\r\n"));
	assert_int_equal(client_response(e, c, &r, 0, 2000), 1);
	assert_string_equal(r.body, "hello world");
	assert_int_equal(e->nreq, 2);
	client_free(c);
}

static void
test_e2e_disconnect(void **state)
{
	struct e2e	*e = *state;
	struct client	*c;

	/* No abort callback: the late answer goes to an orphan. */
	c = client_new(e);
	client_send(c, "GET /async HTTP/1.1\r\nHost: h\r\n\r\n");
	pump(e, 10);
	assert_non_null(e->pending);
	client_free(c);
	pump(e, 10);
	assert_int_equal(http_server_nconns(e->srv), 0);
	assert_non_null(e->pending);
	pump(e, 100);
	assert_null(e->pending);	/* answered, and freed (ASan) */
	assert_int_equal(e->nabort, 0);

	/* With one: told at once, and the request is gone. */
	c = client_new(e);
	client_send(c, "GET /async?abort=1 HTTP/1.1\r\nHost: h\r\n\r\n");
	pump(e, 10);
	assert_non_null(e->pending);
	client_free(c);
	pump(e, 20);
	assert_int_equal(e->nabort, 1);
	assert_null(e->pending);
	assert_int_equal(http_server_nconns(e->srv), 0);

	/* Gone in the middle of a streamed body. */
	c = client_new(e);
	client_send(c, "POST /stream HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n4\r\nab");
	pump(e, 10);
	assert_int_equal(e->nchunks, 1);
	client_free(c);
	pump(e, 10);
	assert_int_equal(http_server_nconns(e->srv), 0);

	/* A broken chunk in a streamed body: the layer answers 400. */
	c = client_new(e);
	client_send(c, "POST /stream HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\nzz\r\n");
	{
		struct resp	 r;

		assert_int_equal(client_response(e, c, &r, 0, 2000), 1);
		assert_int_equal(r.status, 400);
		check_json_error(&r, "InvalidRequest", "bad chunk size");
	}
	assert_int_equal(e->nchunks, 2);
	assert_int_equal(client_eof(e, c, 2000), 1);
	client_free(c);

	/* Gone while the server frees everything. */
	c = client_new(e);
	client_send(c, "GET /async?abort=1 HTTP/1.1\r\nHost: h\r\n\r\n");
	pump(e, 10);
	assert_non_null(e->pending);
	http_server_free(e->srv);
	e->srv = NULL;
	assert_int_equal(e->nabort, 2);
	client_free(c);
	e->srv = http_server_new(e->base, &e2e_limits, handler, e);
}

static void
test_e2e_detach(void **state)
{
	struct e2e	*e = *state;
	struct client	*c = client_new(e);
	struct resp	 r;

	client_send(c, "GET /detach HTTP/1.1\r\nHost: h\r\n"
	    "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\nEXTRA");
	pump(e, 20);
	assert_non_null(e->detached);
	assert_string_equal(e->leftover, "EXTRA");
	/* Nagle back on for the protocol that took over. */
	assert_int_equal(e->detached_nodelay, 0);
	assert_int_equal(http_server_nconns(e->srv), 0);
	assert_int_equal(client_response(e, c, &r, 1, 2000), 1);
	assert_int_equal(r.status, 101);
	client_free(c);
}

static void
test_e2e_cap_timeouts(void **state)
{
	struct e2e	*e = *state;
	struct client	*a, *b;
	struct resp	 r;

	a = client_new(e);
	client_send(a, "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(client_response(e, a, &r, 0, 2000), 1);
	assert_int_equal(http_server_nconns(e->srv), 1);

	/* At the cap: b waits in the listen queue. */
	b = client_new(e);
	client_send(b, "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(client_response(e, b, &r, 0, 100), -1);
	client_free(a);
	assert_int_equal(client_response(e, b, &r, 0, 2000), 1);
	assert_int_equal(r.status, 200);

	/* Idle keep-alive timeout closes b. */
	assert_int_equal(client_eof(e, b, 2000), 1);
	client_free(b);

	/* A head that never ends is cut at the header deadline. */
	a = client_new(e);
	client_send(a, "GET /hello HTTP/1.1\r\n");
	pump(e, 200);
	client_send(a, "X: y\r\n");
	assert_int_equal(client_eof(e, a, 2000), 1);
	client_free(a);
	pump(e, 5);
	assert_int_equal(http_server_nconns(e->srv), 0);
}

/*
 * A large streamed body comes in large pieces (libevent alone reads
 * 4 KB at a time), counted exactly, and a request pipelined right
 * behind it in the same writes is still answered.
 */
static void
test_e2e_stream_large(void **state)
{
	struct e2e	*e = *state;
	struct client	*c = client_new(e);
	struct resp	 r;
	const char	*head = "POST /stream HTTP/1.1\r\nHost: h\r\n"
			    "Content-Length: 3000000\r\n\r\n";
	const char	*next = "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n";
	char		*buf;
	size_t		 len, off = 0;
	ssize_t		 n;
	int		 i;

	len = strlen(head) + 3000000 + strlen(next);
	assert_non_null(buf = malloc(len));
	memcpy(buf, head, strlen(head));
	memset(buf + strlen(head), 'x', 3000000);
	memcpy(buf + len - strlen(next), next, strlen(next));
	for (i = 0; off < len && i < 4000; i++) {
		if ((n = write(c->fd, buf + off, len - off)) > 0)
			off += n;
		else
			assert_true(n == -1 && errno == EAGAIN);
		pump(e, 1);
	}
	assert_int_equal(off, len);
	assert_int_equal(client_response(e, c, &r, 0, 5000), 1);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "3000000");
	assert_true(e->maxchunk > 4096);
	assert_int_equal(client_response(e, c, &r, 0, 2000), 1);
	assert_string_equal(r.body, "hello world");
	free(buf);
	client_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_get),
		cmocka_unit_test(test_parse_targets),
		cmocka_unit_test(test_parse_versions),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_reqline_limit),
		cmocka_unit_test(test_parse_header_limits),
		cmocka_unit_test(test_parse_chunked),
		cmocka_unit_test(test_parse_pipeline),
		cmocka_unit_test(test_parse_split),
		cmocka_unit_test(test_pct_query),
		cmocka_unit_test(test_json_escape),
		cmocka_unit_test_setup_teardown(test_e2e_get, setup_default,
		    e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_body, setup_default,
		    e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_too_large,
		    setup_default, e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_errors, setup_default,
		    e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_stream_large,
		    setup_default, e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_async, setup_default,
		    e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_disconnect,
		    setup_default, e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_detach, setup_default,
		    e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_cap_timeouts,
		    setup_small, e2e_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
