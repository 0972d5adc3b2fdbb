/*
 * WebSocket (RFC 6455) server connections on the HTTP layer's
 * bufferevents, with libwslay's event API doing the framing.  One
 * implementation for every WebSocket endpoint (the firehose today).
 *
 * Lifetime: a struct ws lives from ws_upgrade()/ws_new() until its
 * closed callback returns; the layer frees it then.  The closed
 * callback is never called from inside a ws_* call, only from the event
 * loop, so a caller may use the pointer freely until that callback.
 */
#ifndef PDSD_WEBSOCKET_H
#define PDSD_WEBSOCKET_H

#include <stddef.h>
#include <stdint.h>

struct bufferevent;
struct http_request;
struct ws;
struct ws_frame;

#define WS_ACCEPT_LEN	28		/* base64 of a SHA-1 */
#define WS_RECV_MAX	16384		/* longest client message kept */
#define WS_OUT_LOWAT	(64 * 1024)	/* drain callback below this */
#define WS_OUT_HARD	(32 * 1024 * 1024) /* client not reading: drop */
#define WS_PING_MS	30000		/* keepalive ping interval */
#define WS_IDLE_MS	(3 * WS_PING_MS) /* nothing read for this long */
#define WS_WRITE_MS	60000		/* longest write stall */
#define WS_LINGER_MS	2000		/* wait for the peer's close */

/* Close codes we send. */
#define WS_CODE_NORMAL	1000
#define WS_CODE_POLICY	1008

struct ws_cbs {
	/* Output fell below WS_OUT_LOWAT: room for more.  May be NULL. */
	void	(*drain)(struct ws *, void *);
	/* A complete client message (control frames excluded).  NULL ok. */
	void	(*message)(struct ws *, int, const uint8_t *, size_t,
		    void *);
	/* The connection is gone; ws is freed when this returns. */
	void	(*closed)(struct ws *, void *);
};

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key; -1 on a bad key. */
int		 ws_accept_key(const char *, char *, size_t);
/*
 * Check an upgrade request and switch it to WebSocket: answers 101 and
 * returns the connection, or answers the client an XRPC error (405,
 * 426, 400) and returns NULL.  req is gone either way.
 */
struct ws	*ws_upgrade(struct http_request *, const struct ws_cbs *,
		    void *);
/* A connection whose handshake is done; takes the bufferevent. */
struct ws	*ws_new(struct bufferevent *, const struct ws_cbs *, void *);
/* Queue one binary message; -1 if the connection is closing or broken. */
int		 ws_send_binary(struct ws *, const void *, size_t);
/*
 * A binary message framed once and shared by any number of
 * connections: each send adds a reference to the same bytes, no copy.
 * ws_frame_new copies p and returns it with one reference, the
 * caller's; each connection holds one until the message is written.
 */
struct ws_frame	*ws_frame_new(const void *, size_t);
void		 ws_frame_unref(struct ws_frame *);
/* Queue a shared message; -1 if the connection is closing or broken. */
int		 ws_send_frame(struct ws *, struct ws_frame *);
/* Several, in order, in one write to the socket when it is idle. */
int		 ws_send_frames(struct ws *, struct ws_frame **, size_t);
/* Shared messages queued and not yet all written to the socket. */
size_t		 ws_queued_frames(const struct ws *);
/* Send a close frame, then drop the connection once it is out. */
void		 ws_close(struct ws *, uint16_t, const char *);
/* Drop the connection now (the closed callback still comes). */
void		 ws_abort(struct ws *);
/* Bytes accepted but not yet written to the socket. */
size_t		 ws_pending(const struct ws *);
int		 ws_is_open(const struct ws *);

#endif
