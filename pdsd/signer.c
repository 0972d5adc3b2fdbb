/*
 * The frontend's client for signerd: requests go out with a fresh id
 * in peerid, and the answer, matched by that id, goes to the callback
 * given with the request.  Every answer is decoded before a callback
 * sees it.  A callback runs exactly once for each request that was
 * accepted (signer_request() returned 0): with the answer, with
 * signerd's refusal, or with a failure when signerd goes away.
 */
#include <sys/types.h>
#include <sys/tree.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imsg.h"
#include "imsgev.h"
#include "log.h"
#include "pds_imsg.h"
#include "pdsd.h"
#include "signer_proto.h"
#include "tid.h"

#define SIGNER_MAX_PENDING	1024

struct pending {
	RB_ENTRY(pending)	 entry;
	uint32_t		 id;
	uint32_t		 type;
	signer_cb		 cb;	/* raw answer, or NULL: typed */
	union {
		signer_key_cb	 key;
		signer_sig_cb	 sig;
		signer_plc_cb	 plc;
	} typed;
	void			*arg;
};
RB_HEAD(pending_tree, pending);

static int	pending_cmp(const struct pending *, const struct pending *);
static int	reply_valid(uint32_t, const uint8_t *, size_t);
static void	complete(struct pending *, int, const uint8_t *, size_t,
		    const char *);
static void	complete_typed(struct pending *, int, const uint8_t *,
		    size_t, const char *);
static int	request(struct pending *, const void *, size_t);
static int	typed_request(uint32_t, const void *, size_t, void *,
		    void *);

RB_GENERATE_INTERNAL(pending_tree, pending, entry, pending_cmp,
    __attribute__((__unused__)) static)

static struct pending_tree	 pendings = RB_INITIALIZER(&pendings);
static struct imsgev		*iev_signerd;
static size_t			 npending;
static uint32_t			 lastid;
static uint64_t			 signer_floor_tid;

static int
pending_cmp(const struct pending *a, const struct pending *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}

int
signer_init(struct imsgev *iev)
{
	iev_signerd = iev;
	return 0;
}

size_t
signer_pending(void)
{
	return npending;
}

/* Takes p (malloc'd) and queues it; frees it on failure. */
static int
request(struct pending *p, const void *payload, size_t len)
{
	struct pending	 want;

	if (iev_signerd == NULL || npending >= SIGNER_MAX_PENDING ||
	    len > PDS_IMSG_MAXSIZE - IMSG_HEADER_SIZE) {
		free(p);
		return -1;
	}
	/* Ids wrap after 2^32 requests: skip any still in flight. */
	do {
		want.id = ++lastid;
	} while (want.id == 0 || RB_FIND(pending_tree, &pendings, &want));
	p->id = want.id;
	if (imsgev_compose(iev_signerd, p->type, p->id, 0, -1, payload,
	    len) == -1) {
		log_warn("signer request");
		free(p);
		return -1;
	}
	RB_INSERT(pending_tree, &pendings, p);
	npending++;
	return 0;
}

int
signer_request(uint32_t type, const void *payload, size_t len, signer_cb cb,
    void *arg)
{
	struct pending	*p;

	if (cb == NULL || (p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	p->type = type;
	p->cb = cb;
	p->arg = arg;
	return request(p, payload, len);
}

/* A request whose answer is decoded for a typed callback. */
static int
typed_request(uint32_t type, const void *payload, size_t len, void *cb,
    void *arg)
{
	struct pending	*p;

	if (cb == NULL || (p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	p->type = type;
	p->arg = arg;
	switch (type) {
	case IMSG_SIGN_KEY_CREATE:
		p->typed.key = (signer_key_cb)cb;
		break;
	case IMSG_SIGN_PLC_OP:
		p->typed.plc = (signer_plc_cb)cb;
		break;
	default:
		p->typed.sig = (signer_sig_cb)cb;
		break;
	}
	return request(p, payload, len);
}

int
signer_key_create(signer_key_cb cb, void *arg)
{
	return typed_request(IMSG_SIGN_KEY_CREATE, NULL, 0, cb, arg);
}

int
signer_sign_commit(const uint8_t *commit, size_t len, signer_sig_cb cb,
    void *arg)
{
	return typed_request(IMSG_SIGN_COMMIT, commit, len, cb, arg);
}

int
signer_sign_plc_op(const uint8_t *op, size_t len, signer_plc_cb cb,
    void *arg)
{
	return typed_request(IMSG_SIGN_PLC_OP, op, len, cb, arg);
}

int
signer_sign_jwt(const char *did, const char *input, signer_sig_cb cb,
    void *arg)
{
	uint8_t		*buf;
	size_t		 len;
	int		 rv;

	if (signer_jwt_encode(did, input, &buf, &len) == -1)
		return -1;
	rv = typed_request(IMSG_SIGN_JWT, buf, len, cb, arg);
	free(buf);
	return rv;
}

static int
reply_valid(uint32_t type, const uint8_t *data, size_t len)
{
	char	 didkey[DIDKEY_BUFSZ], did[PLC_DID_BUFSZ], rev[TID_BUFSZ];
	uint8_t	 sig[SIG_LEN];

	switch (type) {
	case IMSG_SIGN_KEY_CREATE:
		return signer_didkey_decode(data, len, didkey) == 0;
	case IMSG_SIGN_PLC_OP:
		return signer_plc_reply_decode(data, len, sig, did) == 0;
	case IMSG_SIGN_COMMIT:
	case IMSG_SIGN_JWT:
		return signer_sig_decode(data, len, sig) == 0;
	case IMSG_SIGN_REV_RAISE:
		return signer_rev_decode(data, len, rev) == 0;
	default:
		/* signer_request() with a type signerd does not know */
		return 0;
	}
}

static void
complete_typed(struct pending *p, int ok, const uint8_t *data, size_t len,
    const char *err)
{
	char	 did[PLC_DID_BUFSZ];
	uint8_t	 sig[SIG_LEN];

	switch (p->type) {
	case IMSG_SIGN_KEY_CREATE:
		p->typed.key(p->arg, ok ? (const char *)data : NULL, err);
		break;
	case IMSG_SIGN_PLC_OP:
		if (ok)
			signer_plc_reply_decode(data, len, sig, did);
		p->typed.plc(p->arg, ok ? sig : NULL, ok ? did : NULL, err);
		break;
	default:
		p->typed.sig(p->arg, ok ? data : NULL, err);
		break;
	}
}

static void
complete(struct pending *p, int ok, const uint8_t *data, size_t len,
    const char *err)
{
	if (p->cb != NULL)
		p->cb(p->arg, ok, data, len, err);
	else
		complete_typed(p, ok, data, len, err);
}

/*
 * signerd's floor: it refuses every rev at or below it (see signerd.8),
 * so our TID clock moves above it, and a restart within signerd's rev
 * lease does not refuse our next write.
 */
static void
floor_set(struct imsg *imsg)
{
	char	 tid[TID_BUFSZ];

	if (imsg_get_string(imsg, tid, sizeof(tid)) == -1 ||
	    tid_parse(tid, strlen(tid), &signer_floor_tid) == -1) {
		log_warnx("malformed floor from signerd");
		return;
	}
	tid_raise(signer_floor_tid);
	log_debug("signerd floor %s", tid);
}

uint64_t
signer_floor(void)
{
	return signer_floor_tid;
}

/* IMSG_SIGN_RESULT, IMSG_SIGN_ERROR and IMSG_SIGN_FLOOR from signerd. */
void
signer_dispatch(struct imsg *imsg)
{
	struct pending	 want, *p;
	const uint8_t	*data = imsg->data;
	size_t		 len = imsg_get_len(imsg);
	char		 err[SIGNER_ERR_MAX + 1];

	if (imsg_get_type(imsg) == IMSG_SIGN_FLOOR) {
		floor_set(imsg);
		return;
	}
	want.id = imsg_get_id(imsg);
	if ((p = RB_FIND(pending_tree, &pendings, &want)) == NULL) {
		log_warnx("signerd answered unknown request %u", want.id);
		return;
	}
	RB_REMOVE(pending_tree, &pendings, p);
	npending--;
	if (imsg_get_type(imsg) == IMSG_SIGN_RESULT) {
		if (reply_valid(p->type, data, len))
			complete(p, 1, data, len, NULL);
		else {
			log_warnx("malformed answer from signerd");
			complete(p, 0, NULL, 0, "malformed answer from signerd");
		}
	} else {
		if (signer_error_decode(data, len, err, sizeof(err)) == -1)
			strlcpy(err, "refused by signerd", sizeof(err));
		complete(p, 0, NULL, 0, err);
	}
	free(p);
}

/* signerd is gone: every request in flight fails, and new ones too. */
void
signer_lost(void)
{
	struct pending	*p;

	iev_signerd = NULL;
	while ((p = RB_MIN(pending_tree, &pendings)) != NULL) {
		RB_REMOVE(pending_tree, &pendings, p);
		npending--;
		complete(p, 0, NULL, 0, "signerd went away");
		free(p);
	}
}
