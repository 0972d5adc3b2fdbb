/*
 * WebSocket frames from a client: arbitrary bytes go into a connection
 * (websocket.c over libwslay) through a bufferevent pair, split in two
 * at a point taken from the first byte so that frames cut anywhere are
 * explored too.  Whatever arrives, the connection must answer control
 * frames, close on protocol errors and free everything.
 */
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "websocket.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct event_base	*base;
static int			 closed;
static int			 drains;
static volatile uint8_t		 sink;

static void
on_message(struct ws *ws, int op, const uint8_t *p, size_t len, void *arg)
{
	size_t	 i;

	if (len > WS_RECV_MAX)
		__builtin_trap();
	for (i = 0; i < len; i++)	/* the message must be readable */
		sink ^= p[i];
}

static void
on_drain(struct ws *ws, void *arg)
{
	/* Like a replay: more output each time there is room, a while. */
	if (drains++ < 3)
		ws_send_binary(ws, "\xa1\x62op\x20", 5);
}

static void
on_closed(struct ws *ws, void *arg)
{
	closed = 1;
}

static void
spin(struct bufferevent *peer)
{
	int	 i;

	for (i = 0; i < 8; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		evbuffer_drain(bufferevent_get_input(peer),
		    evbuffer_get_length(bufferevent_get_input(peer)));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ws_cbs	 cbs = { on_drain, on_message,
					    on_closed };
	struct bufferevent		*pair[2];
	struct ws			*ws;
	size_t				 cut;

	if (base == NULL) {
		log_init(1, 0, 0);
		log_setverbose(0);
		if ((base = event_base_new()) == NULL)
			abort();
	}
	if (bufferevent_pair_new(base, BEV_OPT_DEFER_CALLBACKS, pair) != 0)
		abort();
	bufferevent_enable(pair[1], EV_READ | EV_WRITE);
	if ((ws = ws_new(pair[0], &cbs, NULL)) == NULL)
		abort();
	closed = 0;
	drains = 0;
	cut = size > 0 ? data[0] % (size + 1) : 0;
	ws_send_binary(ws, "\xa2\x61t\x67#commit\x62op\x01", 15);
	bufferevent_write(pair[1], data, cut);
	spin(pair[1]);
	bufferevent_write(pair[1], data + cut, size - cut);
	spin(pair[1]);
	if (!closed)
		ws_abort(ws);
	spin(pair[1]);
	if (!closed)
		__builtin_trap();	/* a connection that was never freed */
	bufferevent_free(pair[1]);
	return 0;
}
