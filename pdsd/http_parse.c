/*
 * The HTTP/1.1 request parser: no I/O, no allocation beyond the head
 * buffer, every size bounded.  It is strict where leniency would let a
 * proxy in front of us and this parser disagree on where a request ends
 * (request smuggling): CRLF line ends only, no obs-fold, no bare CR, one
 * Content-Length made of digits, chunked as the only transfer-coding and
 * never together with Content-Length.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

enum pstate {
	P_HEAD,
	P_BODY,		/* Content-Length body */
	P_CH_SIZE,
	P_CH_DATA,
	P_CH_CRLF,
	P_CH_TRAILER,
	P_DONE,
	P_ERROR,
};

#define BLANK_LINES_MAX	8	/* CRLFs allowed before a request */
#define QNAME_MAX	256	/* longest query parameter name we match */

static enum http_pev	 fail(struct http_parser *, int, const char *);
static int		 is_tchar(int);
static int		 is_token(const char *, size_t);
static int		 is_vchar_ws(int);
static int		 grow(struct http_parser *, size_t);
static enum http_pev	 head_bytes(struct http_parser *, const char *,
			    size_t, size_t *);
static enum http_pev	 head_line(struct http_parser *);
static enum http_pev	 head_finish(struct http_parser *);
static size_t		 line_len(const struct http_parser *, int);
static enum http_pev	 request_line(struct http_parser *, char *, size_t);
static int		 split_target(struct http_parser *, const char *,
			    size_t);
static enum http_pev	 header_line(struct http_parser *, char *, size_t);
static enum http_pev	 head_semantics(struct http_parser *);
static enum http_pev	 framing(struct http_parser *);
static int		 connection_tokens(struct http_head *, const char *);
static enum http_pev	 body_bytes(struct http_parser *, const char *,
			    size_t, size_t *, const char **, size_t *);
static enum http_pev	 chunk_size_line(struct http_parser *);
static enum http_pev	 chunk_bytes(struct http_parser *, const char *,
			    size_t, size_t *, const char **, size_t *);
static enum http_pev	 trailer_byte(struct http_parser *, int);
static int		 hexval(int);

void
http_parser_init(struct http_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->state = P_HEAD;
}

void
http_parser_free(struct http_parser *p)
{
	free(p->buf);
	http_parser_init(p);
}

int
http_parser_done(const struct http_parser *p)
{
	return p->state == P_DONE;
}

static enum http_pev
fail(struct http_parser *p, int status, const char *why)
{
	p->state = P_ERROR;
	p->status = status;
	p->error = why;
	return HTTP_PEV_ERROR;
}

static int
is_tchar(int c)
{
	if (isascii(c) && isalnum(c))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
is_token(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_tchar((unsigned char)s[i]))
			return 0;
	return 1;
}

/* field-vchar, SP, HTAB and obs-text: what a header value may hold. */
static int
is_vchar_ws(int c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int
grow(struct http_parser *p, size_t need)
{
	size_t	 ncap;
	char	*nbuf;

	if (p->len + need <= p->cap)
		return 0;
	ncap = p->cap ? p->cap : 512;
	while (ncap < p->len + need)
		ncap *= 2;
	if ((nbuf = realloc(p->buf, ncap)) == NULL)
		return -1;
	p->buf = nbuf;
	p->cap = ncap;
	return 0;
}

enum http_pev
http_parse(struct http_parser *p, const char *in, size_t len, size_t *used,
    const char **data, size_t *datalen)
{
	*used = 0;
	*data = NULL;
	*datalen = 0;
	switch (p->state) {
	case P_HEAD:
		return head_bytes(p, in, len, used);
	case P_DONE:
		return HTTP_PEV_DONE;
	case P_ERROR:
		return HTTP_PEV_ERROR;
	default:
		return body_bytes(p, in, len, used, data, datalen);
	}
}

/*
 * Copy input up to each LF into the head buffer, checking the line's
 * bound before copying so that a flood without LF costs nothing.
 */
static enum http_pev
head_bytes(struct http_parser *p, const char *in, size_t len, size_t *used)
{
	const char	*nl;
	size_t		 n, max, have;
	enum http_pev	 ev;

	while (*used < len) {
		nl = memchr(in + *used, '\n', len - *used);
		n = nl != NULL ? (size_t)(nl - (in + *used)) : len - *used;
		have = p->len - p->line;
		max = p->nlines == 0 ? HTTP_REQLINE_MAX : HTTP_HDRLINE_MAX;
		if (have + n > max + 1) {
			if (p->nlines == 0)
				return fail(p, 414, "request line too long");
			return fail(p, 431, "header line too long");
		}
		if (p->nlines > 0 && p->hdrbytes + have + n >
		    HTTP_HDRBLOCK_MAX + 1)
			return fail(p, 431, "header block too large");
		if (grow(p, n + 1) == -1)
			return fail(p, 500, "out of memory");
		memcpy(p->buf + p->len, in + *used, n);
		p->len += n;
		*used += n;
		if (nl == NULL)
			break;
		(*used)++;
		if ((ev = head_line(p)) != HTTP_PEV_MORE)
			return ev;
	}
	return HTTP_PEV_MORE;
}

static enum http_pev
head_line(struct http_parser *p)
{
	size_t	 n = p->len - p->line;

	if (n == 0 || p->buf[p->len - 1] != '\r')
		return fail(p, 400, "line not ended by CRLF");
	n--;
	p->len--;
	if (n == 0) {
		if (p->nlines > 0)
			return head_finish(p);
		if (++p->nblank > BLANK_LINES_MAX)
			return fail(p, 400, "empty lines before request");
		return HTTP_PEV_MORE;
	}
	if (p->nlines == 0 && n > HTTP_REQLINE_MAX)
		return fail(p, 414, "request line too long");
	if (p->nlines > 0) {
		if (n > HTTP_HDRLINE_MAX)
			return fail(p, 431, "header line too long");
		p->hdrbytes += n;
		if (p->hdrbytes > HTTP_HDRBLOCK_MAX)
			return fail(p, 431, "header block too large");
		if (p->nlines > HTTP_HEADERS_MAX)
			return fail(p, 431, "too many headers");
	}
	p->lineoff[p->nlines++] = p->line;
	p->buf[p->len++] = '\0';
	p->line = p->len;
	return HTTP_PEV_MORE;
}

static size_t
line_len(const struct http_parser *p, int i)
{
	size_t	 end;

	end = i + 1 < p->nlines ? p->lineoff[i + 1] : p->line;
	return end - p->lineoff[i] - 1;
}

static enum http_pev
head_finish(struct http_parser *p)
{
	enum http_pev	 ev;
	int		 i;

	/* Room for split_target's copy, so that no pointer moves. */
	if (grow(p, line_len(p, 0) + 2) == -1)
		return fail(p, 500, "out of memory");
	if ((ev = request_line(p, p->buf + p->lineoff[0], line_len(p, 0))) !=
	    HTTP_PEV_MORE)
		return ev;
	for (i = 1; i < p->nlines; i++) {
		ev = header_line(p, p->buf + p->lineoff[i], line_len(p, i));
		if (ev != HTTP_PEV_MORE)
			return ev;
	}
	if ((ev = head_semantics(p)) != HTTP_PEV_MORE)
		return ev;
	return HTTP_PEV_HEAD;
}

/* method SP request-target SP HTTP-version, single spaces. */
static enum http_pev
request_line(struct http_parser *p, char *s, size_t n)
{
	char	*sp1, *sp2, *v;
	size_t	 i, tlen;

	if ((sp1 = memchr(s, ' ', n)) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', n - (sp1 + 1 - s))) == NULL)
		return fail(p, 400, "malformed request line");
	if (!is_token(s, sp1 - s))
		return fail(p, 400, "bad method");
	tlen = sp2 - (sp1 + 1);
	for (i = 0; i < tlen; i++)
		if (sp1[1 + i] <= 0x20 || sp1[1 + i] >= 0x7f ||
		    sp1[1 + i] == '#')
			return fail(p, 400, "bad request target");
	v = sp2 + 1;
	if (n - (v - s) != 8 || strncmp(v, "HTTP/", 5) != 0 ||
	    !isdigit((unsigned char)v[5]) || v[6] != '.' ||
	    !isdigit((unsigned char)v[7]))
		return fail(p, 400, "malformed HTTP version");
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return fail(p, 505, "HTTP version not supported");
	p->head.minor = v[7] - '0';
	*sp1 = '\0';
	*sp2 = '\0';
	p->head.method = s;
	p->head.target = sp1 + 1;
	if (split_target(p, sp1 + 1, tlen) == -1)
		return fail(p, 400, "bad request target");
	return HTTP_PEV_MORE;
}

/*
 * Keep the target as sent and split a copy into path and query.  The
 * absolute form (a proxy's) is reduced to its path.  head_finish has
 * reserved room for the copy: the buffer must not move now.
 */
static int
split_target(struct http_parser *p, const char *t, size_t n)
{
	const char	*s = t, *e = t + n;
	char		*copy, *q;
	size_t		 k = 0;

	if (n > 7 && strncasecmp(t, "http://", 7) == 0)
		s = t + 7;
	else if (n > 8 && strncasecmp(t, "https://", 8) == 0)
		s = t + 8;
	else if (n == 0 || (t[0] != '/' && !(n == 1 && t[0] == '*')))
		return -1;
	copy = p->buf + p->len;
	if (s != t) {
		while (s < e && *s != '/' && *s != '?')
			s++;
		if (s == e || *s == '?')
			copy[k++] = '/';
	}
	memcpy(copy + k, s, e - s);
	k += e - s;
	copy[k] = '\0';
	p->len += k + 1;
	p->head.path = copy;
	if ((q = memchr(copy, '?', k)) != NULL) {
		*q = '\0';
		p->head.query = q + 1;
	}
	return 0;
}

static enum http_pev
header_line(struct http_parser *p, char *s, size_t n)
{
	struct http_hdr	*h;
	char		*colon, *v, *e;
	size_t		 i;

	if (s[0] == ' ' || s[0] == '\t')
		return fail(p, 400, "obsolete line folding");
	if ((colon = memchr(s, ':', n)) == NULL || !is_token(s, colon - s))
		return fail(p, 400, "malformed header");
	for (i = colon - s + 1; i < n; i++)
		if (!is_vchar_ws((unsigned char)s[i]))
			return fail(p, 400, "bad character in header");
	*colon = '\0';
	v = colon + 1;
	e = s + n;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = '\0';
	h = &p->head.hdr[p->head.nhdr++];
	h->name = s;
	h->value = v;
	return HTTP_PEV_MORE;
}

static enum http_pev
head_semantics(struct http_parser *p)
{
	struct http_head	*h = &p->head;
	const char		*v;
	int			 i, n, close = 0;
	enum http_pev		 ev;

	for (n = 0, i = 0; http_head_next(h, "Host", &i) != NULL; n++)
		;
	if (n > 1 || (n == 0 && h->minor == 1))
		return fail(p, 400, "need exactly one Host header");
	h->keepalive = h->minor == 1;
	for (i = 0; (v = http_head_next(h, "Connection", &i)) != NULL; )
		close |= connection_tokens(h, v);
	if (close)
		h->keepalive = 0;
	if ((v = http_head_get(h, "Expect")) != NULL && h->minor == 1) {
		if (strcasecmp(v, "100-continue") != 0)
			return fail(p, 417, "unsupported expectation");
		h->expect_continue = 1;
	}
	if ((ev = framing(p)) != HTTP_PEV_MORE)
		return ev;
	if (h->content_length == -1)
		p->state = P_CH_SIZE;
	else if (h->content_length > 0) {
		p->remain = h->content_length;
		p->state = P_BODY;
	} else
		p->state = P_DONE;
	return HTTP_PEV_MORE;
}

/* Where the body ends: Content-Length, chunked, or no body. */
static enum http_pev
framing(struct http_parser *p)
{
	struct http_head	*h = &p->head;
	const char		*cl, *te, *s;
	int			 i = 0, ncl = 0, nte = 0;

	while ((cl = http_head_next(h, "Content-Length", &i)) != NULL)
		ncl++;
	i = 0;
	while ((te = http_head_next(h, "Transfer-Encoding", &i)) != NULL)
		nte++;
	cl = http_head_get(h, "Content-Length");
	te = http_head_get(h, "Transfer-Encoding");
	if (ncl > 1)
		return fail(p, 400, "more than one Content-Length");
	if (nte > 0 && (ncl > 0 || h->minor == 0))
		return fail(p, 400, "Transfer-Encoding not allowed here");
	if (nte > 0) {
		if (nte > 1 || strcasecmp(te, "chunked") != 0)
			return fail(p, 501, "unsupported transfer-coding");
		h->content_length = -1;
		return HTTP_PEV_MORE;
	}
	h->content_length = 0;
	if (cl == NULL)
		return HTTP_PEV_MORE;
	if (*cl == '\0')
		return fail(p, 400, "bad Content-Length");
	for (s = cl; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return fail(p, 400, "bad Content-Length");
		h->content_length = h->content_length * 10 + (*s - '0');
		if (h->content_length > HTTP_BODY_MAX)
			return fail(p, 413, "Content-Length too large");
	}
	return HTTP_PEV_MORE;
}

/* Returns 1 if the list holds "close"; notes keep-alive and upgrade. */
static int
connection_tokens(struct http_head *h, const char *v)
{
	const char	*s, *e;
	size_t		 n;
	int		 close = 0;

	for (s = v; *s != '\0'; s = *e != '\0' ? e + 1 : e) {
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strcspn(s, ",");
		n = e - s;
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n == 5 && strncasecmp(s, "close", 5) == 0)
			close = 1;
		else if (n == 10 && strncasecmp(s, "keep-alive", 10) == 0 &&
		    h->minor == 0)
			h->keepalive = 1;
		else if (n == 7 && strncasecmp(s, "upgrade", 7) == 0)
			h->upgrade = 1;
	}
	return close;
}

const char *
http_head_get(const struct http_head *h, const char *name)
{
	int	 i = 0;

	return http_head_next(h, name, &i);
}

const char *
http_head_next(const struct http_head *h, const char *name, int *i)
{
	for (; *i < h->nhdr; (*i)++)
		if (strcasecmp(h->hdr[*i].name, name) == 0)
			return h->hdr[(*i)++].value;
	return NULL;
}

static enum http_pev
body_bytes(struct http_parser *p, const char *in, size_t len, size_t *used,
    const char **data, size_t *datalen)
{
	size_t	 n;

	if (p->state != P_BODY)
		return chunk_bytes(p, in, len, used, data, datalen);
	if (len == 0)
		return HTTP_PEV_MORE;
	n = (uint64_t)p->remain < len ? (size_t)p->remain : len;
	p->remain -= n;
	if (p->remain == 0)
		p->state = P_DONE;
	*data = in;
	*datalen = n;
	*used = n;
	return HTTP_PEV_DATA;
}

static enum http_pev
chunk_bytes(struct http_parser *p, const char *in, size_t len, size_t *used,
    const char **data, size_t *datalen)
{
	enum http_pev	 ev;
	size_t		 n;
	int		 c;

	while (*used < len) {
		c = (unsigned char)in[*used];
		switch (p->state) {
		case P_CH_SIZE:
			(*used)++;
			if (c != '\n') {
				if (p->clen >= HTTP_CHUNKLINE_MAX + 1)
					return fail(p, 400,
					    "chunk size line too long");
				p->cline[p->clen++] = c;
				break;
			}
			if ((ev = chunk_size_line(p)) != HTTP_PEV_MORE)
				return ev;
			break;
		case P_CH_DATA:
			n = len - *used;
			if ((uint64_t)p->remain < n)
				n = (size_t)p->remain;
			p->remain -= n;
			if (p->remain == 0) {
				p->state = P_CH_CRLF;
				p->cr = 0;
			}
			*data = in + *used;
			*datalen = n;
			*used += n;
			return HTTP_PEV_DATA;
		case P_CH_CRLF:
			(*used)++;
			if (!p->cr && c == '\r')
				p->cr = 1;
			else if (p->cr && c == '\n') {
				p->state = P_CH_SIZE;
				p->clen = 0;
			} else
				return fail(p, 400, "chunk not ended by CRLF");
			break;
		case P_CH_TRAILER:
			(*used)++;
			if ((ev = trailer_byte(p, c)) != HTTP_PEV_MORE)
				return ev;
			break;
		default:
			return HTTP_PEV_DONE;
		}
	}
	return HTTP_PEV_MORE;
}

/* chunk-size [ BWS ";" extensions ] CRLF; extensions are ignored. */
static enum http_pev
chunk_size_line(struct http_parser *p)
{
	size_t		 i, n;
	int64_t		 size = 0;
	int		 h;

	if (p->clen == 0 || p->cline[p->clen - 1] != '\r')
		return fail(p, 400, "chunk size line not ended by CRLF");
	n = p->clen - 1;
	for (i = 0; i < n && (h = hexval((unsigned char)p->cline[i])) != -1;
	    i++) {
		size = size * 16 + h;
		if (size > HTTP_BODY_MAX)
			return fail(p, 413, "chunk too large");
	}
	if (i == 0)
		return fail(p, 400, "bad chunk size");
	while (i < n && (p->cline[i] == ' ' || p->cline[i] == '\t'))
		i++;
	if (i < n && p->cline[i] != ';')
		return fail(p, 400, "bad chunk size");
	for (; i < n; i++)
		if (!is_vchar_ws((unsigned char)p->cline[i]))
			return fail(p, 400, "bad chunk extension");
	p->clen = 0;
	if (size == 0) {
		p->state = P_CH_TRAILER;
		p->cr = 0;
		p->trailer = 0;
		return HTTP_PEV_MORE;
	}
	p->remain = size;
	p->state = P_CH_DATA;
	return HTTP_PEV_MORE;
}

/* Trailer fields are checked for framing, then dropped. */
static enum http_pev
trailer_byte(struct http_parser *p, int c)
{
	if (p->cr && c != '\n')
		return fail(p, 400, "bare CR in trailer");
	if (c == '\r') {
		p->cr = 1;
		return HTTP_PEV_MORE;
	}
	if (c == '\n') {
		if (!p->cr)
			return fail(p, 400, "trailer line not ended by CRLF");
		p->cr = 0;
		if (p->clen == 0) {
			p->state = P_DONE;
			return HTTP_PEV_DONE;
		}
		p->clen = 0;
		return HTTP_PEV_MORE;
	}
	if (!is_vchar_ws(c))
		return fail(p, 400, "bad character in trailer");
	p->clen++;
	if (p->clen > HTTP_HDRLINE_MAX || ++p->trailer > HTTP_HDRBLOCK_MAX)
		return fail(p, 431, "trailer too large");
	return HTTP_PEV_MORE;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

ssize_t
http_pct_decode(const char *in, size_t inlen, char *out, size_t outsz,
    int plus)
{
	size_t	 i, o = 0;
	int	 c, hi, lo;

	if (outsz == 0)
		return -1;
	for (i = 0; i < inlen; i++) {
		c = (unsigned char)in[i];
		if (c == '%') {
			if (inlen - i < 3 ||
			    (hi = hexval((unsigned char)in[i + 1])) == -1 ||
			    (lo = hexval((unsigned char)in[i + 2])) == -1)
				return -1;
			c = hi << 4 | lo;
			i += 2;
		} else if (c == '+' && plus)
			c = ' ';
		if (c == '\0' || o + 1 >= outsz)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return o;
}

int
http_query_next(const char *query, const char *name, size_t *iter,
    char *buf, size_t bufsz)
{
	char		 qname[QNAME_MAX];
	const char	*s, *eq;
	size_t		 qlen, plen, nlen;

	if (query == NULL)
		return 0;
	qlen = strlen(query);
	while (*iter <= qlen) {
		s = query + *iter;
		plen = strcspn(s, "&");
		*iter += plen + 1;
		if (plen == 0)
			continue;
		eq = memchr(s, '=', plen);
		nlen = eq != NULL ? (size_t)(eq - s) : plen;
		if (http_pct_decode(s, nlen, qname, sizeof(qname), 1) == -1 ||
		    strcmp(qname, name) != 0)
			continue;
		if (eq == NULL)
			return http_pct_decode("", 0, buf, bufsz, 1) == -1 ?
			    -1 : 1;
		if (http_pct_decode(eq + 1, plen - nlen - 1, buf, bufsz, 1) ==
		    -1)
			return -1;
		return 1;
	}
	return 0;
}

int
http_query_get(const char *query, const char *name, char *buf, size_t bufsz)
{
	size_t	 iter = 0;

	return http_query_next(query, name, &iter, buf, bufsz);
}
