/*
 * com.atproto.repo.importRepo: the logged-in account's repository
 * replaced by the CAR file in the body.  The body streams to a scratch
 * file as it arrives (never whole in memory), up to `import max size`;
 * then the one import of import.c reads it, as it reads the file of
 * `pdsctl import`, and the answer waits for signerd to move the
 * account's last signed rev up.
 *
 * As the reference does, a deactivated account may import (that is how
 * an account migrates in: created deactivated, filled, then activated);
 * a taken-down one may not.
 */
#include <sys/types.h>

#include <event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "blob.h"
#include "http.h"
#include "log.h"
#include "pdsd.h"
#include "repo.h"
#include "syntax.h"
#include "xrpc.h"

#define CAR_TYPE	"application/vnd.ipld.car"
#define BUSY_WAIT_MS	50	/* while writes to the repository land */
#define BUSY_TRIES	200	/* 10 s */
#define IMPORT_MSG_MAX	512

static void	import_repo_xrpc(struct http_request *);

const struct xrpc_method xrpc_import_methods[] = {
	{ "com.atproto.repo.importRepo", XRPC_PROCEDURE, import_repo_xrpc },
	{ NULL,				0,		NULL },
};

enum ir_state {
	IR_BODY,		/* reading the body */
	IR_BUSY,		/* waiting for the repository's writes */
	IR_SIGNER,		/* imported; waiting for signerd */
};

struct import_req {
	struct http_request	*req;		/* NULL: the client left */
	enum ir_state		 state;
	char			 did[DID_MAX + 1];
	int			 fd;
	int64_t			 size;
	int64_t			 max;
	struct event		*retry;
	int			 tries;
};

static void	ir_run(struct import_req *);

static void
ir_free(struct import_req *ir)
{
	if (ir->retry != NULL)
		event_free(ir->retry);
	if (ir->fd != -1)
		close(ir->fd);
	free(ir);
}

/* The connection died: what is left waits for signerd, or goes. */
static void
ir_abort(struct http_request *req)
{
	struct import_req	*ir = http_request_data(req);

	if (ir->state == IR_SIGNER)
		ir->req = NULL;
	else
		ir_free(ir);
}

static int
ir_chunk(struct http_request *req, const uint8_t *p, size_t len)
{
	struct import_req	*ir = http_request_data(req);

	if ((uint64_t)len > (uint64_t)(ir->max - ir->size)) {
		/* The abort callback must not see it once we answered. */
		http_request_on_abort(req, NULL);
		ir_free(ir);
		xrpc_too_large(req, "request entity too large");
		return -1;
	}
	if (blob_write_all(ir->fd, p, len) == -1) {
		log_warn("importRepo: scratch write");
		http_request_on_abort(req, NULL);
		ir_free(ir);
		xrpc_internal_error(req);
		return -1;
	}
	ir->size += len;
	return 0;
}

static void
ir_imported(void *arg, const char *summary)
{
	struct import_req	*ir = arg;
	struct http_request	*req = ir->req;

	ir->req = NULL;
	if (req != NULL) {
		http_request_on_abort(req, NULL);
		http_reply(req, 200, NULL, NULL, 0);
	}
	ir_free(ir);
}

static void
ir_retry(int fd, short ev, void *arg)
{
	ir_run(arg);
}

/* Every answer but the signerd wait ends the request here. */
static void
ir_answer(struct import_req *ir, int status, const char *name,
    const char *msg)
{
	struct http_request	*req = ir->req;

	http_request_on_abort(req, NULL);
	ir_free(ir);
	xrpc_error(req, status, name, "%s", msg);
}

static void
ir_run(struct import_req *ir)
{
	struct timeval	 tv = { 0, BUSY_WAIT_MS * 1000 };
	char		 msg[IMPORT_MSG_MAX];

	ir->state = IR_SIGNER;
	switch (import_repo(ir->fd, ir->did, msg, sizeof(msg), ir_imported,
	    ir)) {
	case IMPORT_OK:
		/* ir_imported may have run already and freed ir. */
		return;
	case IMPORT_BAD:
		ir_answer(ir, 400, "InvalidRequest", msg);
		return;
	case IMPORT_BUSY:
		if (++ir->tries <= BUSY_TRIES && (ir->retry != NULL ||
		    (ir->retry = evtimer_new(fe->base, ir_retry,
		    ir)) != NULL)) {
			ir->state = IR_BUSY;
			evtimer_add(ir->retry, &tv);
			return;
		}
		ir_answer(ir, 503, "ServiceUnavailable", msg);
		return;
	default:
		ir_answer(ir, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
}

static void
ir_body_done(struct http_request *req)
{
	ir_run(http_request_data(req));
}

static void
import_repo_xrpc(struct http_request *req)
{
	struct auth		 auth;
	struct import_req	*ir;
	int64_t			 max = fe->cfg.import_max_size;

	if (auth_check(req, AUTH_ACCESS_FULL | AUTH_CHECK_TAKEDOWN,
	    &auth) == -1 || xrpc_content_type(req, CAR_TYPE) == -1)
		return;
	if (http_request_content_length(req) > max) {
		/* Known too big: answered before a byte of it is read. */
		xrpc_too_large(req, "request entity too large");
		return;
	}
	if ((ir = calloc(1, sizeof(*ir))) == NULL) {
		xrpc_internal_error(req);
		return;
	}
	if ((ir->fd = blob_scratch()) == -1) {
		free(ir);
		xrpc_internal_error(req);
		return;
	}
	ir->req = req;
	ir->state = IR_BODY;
	ir->max = max;
	strlcpy(ir->did, auth.did, sizeof(ir->did));
	http_request_set_data(req, ir);
	http_request_on_abort(req, ir_abort);
	http_request_body_stream(req, ir_chunk, ir_body_done);
}
