/*
 * pdsd's HTTP/1.1 server: a request parser with no I/O (http_parse.c)
 * and a connection layer on libevent bufferevents (http.c).
 *
 * A request goes through these steps:
 *
 *  1. The head (request line and headers) arrives.  The layer checks it
 *     and calls the server's request callback with a struct http_request.
 *  2. Inside that callback the handler either
 *     (a) asks for the body in memory: http_request_body_max(); a declared
 *         Content-Length over the limit is answered 413 at once, without
 *         reading the body, and the connection closes; a chunked body is
 *         answered 413 as soon as it passes the limit.  The body callback
 *         then receives the whole body;
 *     (b) asks for the body streamed: http_request_body_stream(); a chunk
 *         callback sees each piece as it arrives, then a done callback;
 *     (c) or asks for nothing (GET): any body is left unread, and the
 *         connection closes after the response.
 *     "100 Continue" is sent only in cases (a) and (b), when the client
 *     asked for it.
 *  3. The handler answers, at once or later (after a signer reply, say):
 *     http_response_start(), http_add_header(), http_response_body*(),
 *     http_response_end(); or http_reply() / http_reply_json_error().
 *
 * Lifetime of a struct http_request (read this before keeping one):
 *  - It is valid from the request callback until http_response_end()
 *    (which http_reply* call) returns, or until http_request_detach()
 *    returns.  After that the pointer must not be used.
 *  - If the connection dies (peer gone, timeout, layer error) before the
 *    response has ended:
 *      - when the handler set an abort callback (http_request_on_abort),
 *        the layer calls it and frees the request when it returns; the
 *        handler forgets the pointer inside the callback (anything it
 *        writes there is discarded);
 *      - otherwise, if the layer was still reading the body for the
 *        handler, the request is freed at once: the body or done
 *        callback will never come;
 *      - otherwise (the handler holds the request to answer later) the
 *        request becomes an orphan: it stays allocated, writes to it are
 *        discarded, and the handler's http_response_end() frees it.
 *    So a handler that answers asynchronously after its callbacks
 *    returned needs no abort callback, as long as it always ends the
 *    response; one that keeps the pointer while the body is still being
 *    read, or that wants to cancel its work early, sets one.
 *
 * Pipelined requests are answered in order: the next request is parsed
 * only once the current response has ended.  While a request is with
 * the handler, at most HTTP_PIPELINE_MAX further input bytes are read;
 * while a streamed body is read, up to HTTP_STREAM_READ at a time
 * (libevent alone reads 4 KB a wakeup).
 *
 * Connection cap: when max_conns connections are open the server stops
 * accepting (the kernel's listen queue holds the rest) and starts again
 * when one closes.  Detached connections no longer count.
 */
#ifndef PDSD_HTTP_H
#define PDSD_HTTP_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evbuffer;
struct bufferevent;

/* Bounds on a request head.  Lengths exclude the CRLF that ends a line. */
#define HTTP_REQLINE_MAX	8192	/* request line; over: 414 */
#define HTTP_HDRLINE_MAX	8192	/* one header line; over: 431 */
#define HTTP_HDRBLOCK_MAX	32768	/* all header lines; over: 431 */
#define HTTP_HEADERS_MAX	100	/* header lines; over: 431 */
#define HTTP_CHUNKLINE_MAX	1024	/* chunk-size line */
#define HTTP_BODY_MAX		(1LL << 50) /* Content-Length, chunk */
#define HTTP_PIPELINE_MAX	65536	/* input held while one waits */
#define HTTP_STREAM_READ	262144	/* input read at once, streamed body */

/*
 * The pure parser.  Feed it bytes with http_parse(); it never keeps a
 * pointer to the caller's input except in the DATA result, which points
 * into the bytes just given.  The head's strings live in the parser.
 */
struct http_hdr {
	const char	*name;
	const char	*value;		/* outer blanks removed */
};

struct http_head {
	const char	*method;	/* as sent, e.g. "GET", "HEAD" */
	const char	*target;	/* request-target as sent */
	const char	*path;		/* up to '?', not decoded */
	const char	*query;		/* after "?"; NULL: none */
	int		 minor;		/* HTTP/1.<minor>: 0 or 1 */
	struct http_hdr	 hdr[HTTP_HEADERS_MAX];
	int		 nhdr;
	int64_t		 content_length; /* -1: chunked, 0: none */
	int		 keepalive;	/* per version and Connection: */
	int		 expect_continue;
	int		 upgrade;	/* "upgrade" in Connection: */
};

enum http_pev {
	HTTP_PEV_MORE,		/* all input consumed; give more */
	HTTP_PEV_HEAD,		/* head complete: see p->head */
	HTTP_PEV_DATA,		/* body bytes at *data, *datalen */
	HTTP_PEV_DONE,		/* message complete */
	HTTP_PEV_ERROR,		/* p->status and p->error say why */
};

struct http_parser {
	int		 state;
	int		 status;	/* on error: the status to answer */
	const char	*error;		/* on error: a short reason */
	char		*buf;		/* the head, NUL-terminated */
	size_t		 len;
	size_t		 cap;
	size_t		 line;		/* where this line starts */
	size_t		 lineoff[HTTP_HEADERS_MAX + 1];
	int		 nlines;
	int		 nblank;	/* empty lines before the request */
	size_t		 hdrbytes;
	int64_t		 remain;	/* of body or chunk */
	char		 cline[HTTP_CHUNKLINE_MAX + 2];
	size_t		 clen;
	size_t		 trailer;	/* trailer bytes so far */
	int		 cr;		/* saw CR, expecting LF */
	struct http_head head;
};

void		 http_parser_init(struct http_parser *);
void		 http_parser_free(struct http_parser *);
/* Parse from in; *used says how much was consumed, in every case. */
enum http_pev	 http_parse(struct http_parser *, const char *, size_t,
		    size_t *, const char **, size_t *);
int		 http_parser_done(const struct http_parser *);
/* First value of a header, names compared without case; NULL if absent. */
const char	*http_head_get(const struct http_head *, const char *);
/* Every value of a header: *i starts at 0. */
const char	*http_head_next(const struct http_head *, const char *,
		    int *);

/*
 * Percent-decode inlen bytes into out (NUL-terminated); plus != 0 turns
 * '+' into a space, as in query strings.  Returns the decoded length, or
 * -1 for a bad escape, an encoded NUL, or no room.
 */
ssize_t		 http_pct_decode(const char *, size_t, char *, size_t,
		    int);
/*
 * Query parameters named name, decoded ('+' is a space) into buf.
 * http_query_next iterates repeated parameters: *iter starts at 0.
 * Both return 1 with a value, 0 when there is no (further) value, -1 if
 * a value is malformed or does not fit in buf.  query may be NULL.
 */
int		 http_query_next(const char *, const char *, size_t *,
		    char *, size_t);
int		 http_query_get(const char *, const char *, char *, size_t);
/* Append s as a JSON string (quoted); bad UTF-8 becomes U+FFFD. */
int		 http_json_escape(struct evbuffer *, const char *);
const char	*http_status_text(int);

/*
 * The server.
 */
struct http_limits {
	unsigned int	 max_conns;
	unsigned int	 idle_ms;	/* wait for a request */
	unsigned int	 header_ms;	/* whole head, from 1st byte */
	unsigned int	 read_ms;	/* longest pause in a body */
	unsigned int	 write_ms;	/* longest write stall */
	unsigned int	 linger_ms;	/* drain input before a close */
};

struct http_server;
struct http_request;

typedef void	(*http_request_cb)(struct http_request *, void *);
typedef void	(*http_body_cb)(struct http_request *, const uint8_t *,
		    size_t);
/* Return 0 to go on, -1 to stop reading (then answer, and it closes). */
typedef int	(*http_chunk_cb)(struct http_request *, const uint8_t *,
		    size_t);
typedef void	(*http_done_cb)(struct http_request *);
typedef void	(*http_abort_cb)(struct http_request *);

void		 http_limits_default(struct http_limits *);
/* cb gets every request with arg; limits are copied. */
struct http_server *http_server_new(struct event_base *,
		    const struct http_limits *, http_request_cb, void *);
/* Accept on a bound, listening socket; the server owns fd from now on. */
int		 http_server_listen_fd(struct http_server *, int);
/*
 * hook(req, arg) runs for every response, the layer's own errors too,
 * just before its head is sent.  It may only call http_add_header and
 * the accessors (CORS headers, say).
 */
void		 http_server_set_response_hook(struct http_server *,
		    http_request_cb);
/* Close every connection (calling abort callbacks) and the listeners. */
void		 http_server_free(struct http_server *);
unsigned int	 http_server_nconns(const struct http_server *);

/*
 * The request.  HEAD requests show method "GET" (answer them as GET; no
 * body goes out); see http_request_is_head.  In the response hook, for
 * the layer's own errors on a head it could not parse, method, path and
 * headers may be NULL.
 */
const char	*http_request_method(const struct http_request *);
const char	*http_request_path(const struct http_request *);
const char	*http_request_query(const struct http_request *);
const char	*http_request_header(const struct http_request *,
		    const char *);
const struct http_head *http_request_head(const struct http_request *);
int64_t		 http_request_content_length(
		    const struct http_request *);
int		 http_request_is_head(const struct http_request *);
const char	*http_request_remote(const struct http_request *);
void		 http_request_set_data(struct http_request *, void *);
void		*http_request_data(const struct http_request *);

/*
 * Only inside the request callback, once; the callbacks must not be
 * NULL.  Without either, the body is never read.
 */
void		 http_request_body_max(struct http_request *, size_t,
		    http_body_cb);
void		 http_request_body_stream(struct http_request *,
		    http_chunk_cb, http_done_cb);
/* The in-memory body, valid until the response ends; NULL before. */
const uint8_t	*http_request_body(const struct http_request *, size_t *);
void		 http_request_on_abort(struct http_request *,
		    http_abort_cb);

/*
 * Response.  The body is held until http_response_end(), which sends it
 * with Content-Length; http_response_flush() sends what is held so far
 * and turns the rest into chunked encoding (close-delimited for an
 * HTTP/1.0 client).  For HEAD requests no body bytes go out.  All
 * return 0, or -1 if called out of order or with a bad header.
 */
int		 http_response_start(struct http_request *, int,
		    const char *);
int		 http_add_header(struct http_request *, const char *,
		    const char *);
int		 http_response_body(struct http_request *, const void *,
		    size_t);
/* Moves the buffer's contents (file segments too) into the response. */
int		 http_response_body_buffer(struct http_request *,
		    struct evbuffer *);
int		 http_response_flush(struct http_request *);
/*
 * Flow control for a response made in steps (a repository export, a
 * proxied answer): a producer writes while http_response_pending()
 * (bytes held for the client, in the response and on the connection,
 * not yet taken by the kernel; 0 once the connection is gone) is at most
 * HTTP_OUT_HIGH, and otherwise asks with http_response_on_drain() to
 * be called back, once, when the connection's output has fallen to
 * HTTP_OUT_LOW.  So a slow reader holds the frontend to about
 * HTTP_OUT_HIGH plus one step, and a fast one never waits.  The
 * callback runs inside the layer: it may write and end the response.
 * If the connection dies first, the abort callback comes instead.
 * on_drain returns -1 if the connection is gone (an orphan).
 */
#define HTTP_OUT_HIGH		(256 * 1024)
#define HTTP_OUT_LOW		(64 * 1024)
typedef void	(*http_drain_cb)(struct http_request *);
size_t		 http_response_pending(const struct http_request *);
int		 http_response_on_drain(struct http_request *,
		    http_drain_cb);
/* Ask for Connection: close after this response. */
void		 http_response_close(struct http_request *);
int		 http_response_end(struct http_request *);
int		 http_reply(struct http_request *, int, const char *,
		    const void *, size_t);
/* {"error":"<name>","message":"<message>"}; message may be NULL. */
int		 http_reply_json_error(struct http_request *, int,
		    const char *, const char *);

/*
 * gzip.  A response of a compressible type (JSON, CAR) to a client
 * whose Accept-Encoding allows gzip goes out compressed when it is
 * streamed (flushed) or longer than HTTP_GZIP_MIN; the layer adds
 * Content-Encoding and Vary.  http_request_no_gzip, before the answer
 * starts, opts a request out (blobs sent as file segments must).
 */
#define HTTP_GZIP_MIN		1024
void		 http_request_no_gzip(struct http_request *);
/*
 * For a producer that compresses a streamed answer itself: after
 * http_response_start, the zlib level if the answer should go out
 * gzipped (the layer then adds Content-Encoding, and compresses
 * nothing more), 0 if it goes as it is.
 */
int		 http_response_gzip_own(struct http_request *);
/* Whether the response already has a header of that name. */
int		 http_response_has_header(struct http_request *,
		    const char *);

/* gzip.c: the pieces, on zlib. */
struct http_gzip;
int		 http_gzip_accepted(const char *);
int		 http_gzip_type(const char *);
struct http_gzip *http_gzip_new(int);
int		 http_gzip_write(struct http_gzip *, struct evbuffer *,
		    struct evbuffer *, int);
void		 http_gzip_free(struct http_gzip *);
/* A gzip stream in pieces compressed apart (in parallel). */
#define HTTP_GZIP_HEADER	10
#define HTTP_GZIP_TRAILER	8
struct http_gzip *http_gzip_new_raw(int);
int		 http_gzip_piece(struct http_gzip *, struct evbuffer *,
		    struct evbuffer *, int, uint32_t *, size_t *);
uint32_t	 http_gzip_crc_combine(uint32_t, uint32_t, size_t);
void		 http_gzip_header(uint8_t [HTTP_GZIP_HEADER]);
void		 http_gzip_trailer(uint8_t [HTTP_GZIP_TRAILER], uint32_t,
		    uint64_t);

/*
 * Hand the connection to another protocol (WebSocket).  Allowed while
 * no response has started and the body is not being read.  Returns the
 * bufferevent with no callbacks or timeouts set; bytes sent after the
 * request head are still in its input buffer.  The caller now owns it
 * (freeing it closes the socket), with Nagle back on; the request is
 * freed.  NULL if not allowed now.
 */
struct bufferevent *http_request_detach(struct http_request *);

#endif
