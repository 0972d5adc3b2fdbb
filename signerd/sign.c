/*
 * The requests signerd answers.  Each is decoded strictly and checked
 * against what signerd itself knows (the DID a key is bound to, the
 * last rev and PLC operations it signed) before any key is used; every
 * refusal is an IMSG_SIGN_ERROR with a short reason, never a signature.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commit.h"
#include "crypto.h"
#include "dm.h"
#include "dmjson.h"
#include "encoding.h"
#include "log.h"
#include "pds_imsg.h"
#include "signer_proto.h"
#include "signerd.h"
#include "tid.h"

static struct key	*rotation;

static void	sign_key_create(uint32_t, size_t);
static void	sign_commit(uint32_t, const uint8_t *, size_t);
static void	sign_plc(uint32_t, const uint8_t *, size_t);
static void	sign_jwt(uint32_t, const uint8_t *, size_t);
static void	sign_rev_raise(uint32_t, const uint8_t *, size_t);
static const char *plc_genesis(struct key *, const struct cid *,
		    const char *);
static const char *plc_follows(const struct binding *, const struct cid *);
static const char *plc_record(struct binding *, const struct cid *);
static const char *jwt_check(const char *, const char *, size_t,
		    const struct key *);

void
sign_init(struct key *rot)
{
	rotation = rot;
}

void
sign_dispatch(uint32_t type, uint32_t id, const uint8_t *data, size_t len)
{
	switch (type) {
	case IMSG_SIGN_KEY_CREATE:
		sign_key_create(id, len);
		break;
	case IMSG_SIGN_COMMIT:
		sign_commit(id, data, len);
		break;
	case IMSG_SIGN_PLC_OP:
		sign_plc(id, data, len);
		break;
	case IMSG_SIGN_JWT:
		sign_jwt(id, data, len);
		break;
	case IMSG_SIGN_REV_RAISE:
		sign_rev_raise(id, data, len);
		break;
	default:
		log_warnx("unexpected imsg %u from frontend", type);
		signerd_refuse(id, "unknown request");
		break;
	}
}

static void
sign_key_create(uint32_t id, size_t len)
{
	struct key	*k;

	if (len != 0) {
		signerd_refuse(id, "key create: bad length");
		return;
	}
	if ((k = keystore_create()) == NULL) {
		signerd_refuse(id, "key create: failed");
		return;
	}
	signerd_reply(id, k->didkey, strlen(k->didkey) + 1);
}

/* A rev far ahead of our clock would be a commit saved for later. */
static int
rev_too_new(const char *rev)
{
	uint64_t	 v;
	time_t		 now = time(NULL);

	if (tid_parse(rev, strlen(rev), &v) == -1)
		return 1;
	return tid_timestamp(v) / 1000000 > (uint64_t)now + SIGNERD_REV_AHEAD;
}

static void
sign_commit(uint32_t id, const uint8_t *data, size_t len)
{
	struct commit		 c;
	struct binding		*b;
	const char		*why;
	char			 old[TID_BUFSZ];
	uint8_t			 sig[SIG_LEN];

	if (signer_commit_decode(data, len, &c, &why) == -1) {
		signerd_refuse(id, why);
		return;
	}
	if ((b = state_find(c.did)) == NULL) {
		signerd_refuse(id, "commit: unknown did");
		return;
	}
	if (b->rev[0] != '\0' && tid_compare(c.rev, b->rev) <= 0) {
		log_warnx("refused rev %s for %s: last signed %s", c.rev,
		    c.did, b->rev);
		signerd_refuse(id, "commit: rev is not newer than the last");
		return;
	}
	if (rev_too_new(c.rev)) {
		signerd_refuse(id, "commit: rev is in the future");
		return;
	}
	if (privkey_sign(b->key->priv, data, len, sig) == -1) {
		signerd_refuse(id, "commit: signing failed");
		return;
	}
	/* Answered by journal_flush(), once the rev is on disk. */
	strlcpy(old, b->rev, sizeof(old));
	strlcpy(b->rev, c.rev, sizeof(b->rev));
	if (journal_add(b, id, sig) == -1) {
		strlcpy(b->rev, old, sizeof(b->rev));
		signerd_refuse(id, "commit: cannot save state");
	}
}

/*
 * An imported repository's head was signed elsewhere: what we sign for
 * the DID next must still be newer than it.  The rev only ever goes
 * up, so a frontend can delay its own writes with this but never make
 * us sign a rollback; a rev far ahead is refused as for a commit.
 */
static void
sign_rev_raise(uint32_t id, const uint8_t *data, size_t len)
{
	struct binding	*b;
	const char	*did, *rev, *why;
	char		 old[TID_BUFSZ];

	if (signer_rev_raise_decode(data, len, &did, &rev, &why) == -1) {
		signerd_refuse(id, why);
		return;
	}
	if ((b = state_find(did)) == NULL) {
		signerd_refuse(id, "rev raise: unknown did");
		return;
	}
	if (rev_too_new(rev)) {
		signerd_refuse(id, "rev raise: rev is in the future");
		return;
	}
	if (b->rev[0] == '\0' || tid_compare(rev, b->rev) > 0) {
		strlcpy(old, b->rev, sizeof(old));
		strlcpy(b->rev, rev, sizeof(b->rev));
		if (state_save(b) == -1) {
			strlcpy(b->rev, old, sizeof(b->rev));
			signerd_refuse(id, "rev raise: cannot save state");
			return;
		}
		log_info("%s: last signed rev raised to %s", b->did, b->rev);
	}
	signerd_reply(id, b->rev, strlen(b->rev) + 1);
}

static int
listed(const struct signer_plc *p, const char *didkey)
{
	size_t	 i;

	for (i = 0; i < p->nrotation; i++)
		if (strcmp(p->rotation[i], didkey) == 0)
			return 1;
	return 0;
}

static void
sign_plc(uint32_t id, const uint8_t *data, size_t len)
{
	struct signer_plc	 p;
	struct dm		*op;
	struct key		*k;
	struct cid		 cid;
	const char		*why;
	char			 did[PLC_DID_BUFSZ];
	uint8_t			 sig[SIG_LEN], reply[SIGNER_PLC_REPLY_MAX];
	size_t			 n;

	if (signer_plc_decode(data, len, &op, &p, &why) == -1) {
		signerd_refuse(id, why);
		return;
	}
	why = NULL;
	if (!listed(&p, rotation->didkey))
		why = "plc: the PDS rotation key is not listed";
	else if ((k = keystore_find(p.atproto)) == NULL)
		why = "plc: atproto key not held by signerd";
	else if (!p.genesis && k->binding == NULL)
		why = "plc: atproto key is bound to no did";
	else if (!p.genesis && (why = plc_follows(k->binding,
	    &p.prev)) != NULL)
		;
	else if (privkey_sign(rotation->priv, data, len, sig) == -1 ||
	    signer_plc_signed(op, sig, &cid, did) == -1)
		why = "plc: signing failed";
	else if (p.genesis)
		why = plc_genesis(k, &cid, did);
	else
		why = plc_record(k->binding, &cid);
	dm_free(op);
	if (why != NULL) {
		signerd_refuse(id, why);
		return;
	}
	n = signer_plc_reply_encode(sig, p.genesis ? did : NULL, reply);
	signerd_reply(id, reply, n);
}

/*
 * The genesis operation is what binds a DID to its key.  Signing the
 * same operation again gives the same DID (RFC 6979), so a retry is
 * answered; any other DID for a bound key is not.
 */
static const char *
plc_genesis(struct key *k, const struct cid *cid, const char *did)
{
	if (k->binding != NULL)
		return strcmp(k->binding->did, did) == 0 ? NULL :
		    "plc: atproto key is bound to another did";
	if (state_find(did) != NULL)
		return "plc: did is bound to another key";
	if (state_bind(did, k, cid) == NULL)
		return "plc: cannot save state";
	return NULL;
}

/*
 * An update must follow an operation signerd signed for the DID its
 * atproto key is bound to: the operation does not name its DID, so
 * this is what ties it to one.
 */
static const char *
plc_follows(const struct binding *b, const struct cid *prev)
{
	size_t	 i;

	for (i = 0; i < b->nops; i++)
		if (cid_equal(&b->ops[i], prev))
			return NULL;
	return "plc: prev is not an operation signed for this did";
}

/* Keeps the last few, so a retry after a refused update still follows. */
static const char *
plc_record(struct binding *b, const struct cid *cid)
{
	struct binding	 saved = *b;
	size_t		 i;

	for (i = 0; i < b->nops; i++)
		if (cid_equal(&b->ops[i], cid))
			return NULL;
	if (b->nops < SIGNERD_OPS_KEPT)
		b->nops++;
	memmove(&b->ops[1], &b->ops[0], (b->nops - 1) * sizeof(b->ops[0]));
	b->ops[0] = *cid;
	if (state_save(b) == -1) {
		memcpy(b->ops, saved.ops, sizeof(b->ops));
		b->nops = saved.nops;
		return "plc: cannot save state";
	}
	return NULL;
}

static void
sign_jwt(uint32_t id, const uint8_t *data, size_t len)
{
	struct binding	*b;
	const char	*did, *input, *why;
	size_t		 inputlen;
	uint8_t		 sig[SIG_LEN];

	if (signer_jwt_decode(data, len, &did, &input, &inputlen,
	    &why) == -1) {
		signerd_refuse(id, why);
		return;
	}
	if ((b = state_find(did)) == NULL) {
		signerd_refuse(id, "jwt: unknown did");
		return;
	}
	if ((why = jwt_check(did, input, inputlen, b->key)) != NULL) {
		signerd_refuse(id, why);
		return;
	}
	if (privkey_sign(b->key->priv, input, inputlen, sig) == -1) {
		signerd_refuse(id, "jwt: signing failed");
		return;
	}
	signerd_reply(id, sig, sizeof(sig));
}

/* One base64url part of a JWT as a JSON object. */
static struct dm *
jwt_part(const char *s, size_t len)
{
	struct dm	*m;
	char		*json;
	int		 n;

	if ((json = malloc(BASE64_DECLEN(len) + 1)) == NULL)
		return NULL;
	if ((n = base64url_decode(s, len, json, BASE64_DECLEN(len) + 1)) ==
	    -1 || dmjson_parse_record(json, (size_t)n, &m, NULL) == -1)
		m = NULL;
	free(json);
	return m;
}

static const char *
jwt_claims(const struct dm *pl, const char *did)
{
	const char	*iss;
	size_t		 isslen, dl = strlen(did);
	int64_t		 exp, now = time(NULL);

	if ((iss = dm_map_get_str(pl, "iss", &isslen)) == NULL ||
	    isslen < dl || memcmp(iss, did, dl) != 0 ||
	    (isslen > dl && iss[dl] != '#') ||
	    memchr(iss, '\0', isslen) != NULL)
		return "jwt: iss is not the did";
	if (dm_map_get_int(pl, "exp", &exp) == -1 || exp <= now ||
	    exp > now + SIGNERD_JWT_LIFETIME)
		return "jwt: exp missing or not within the hour";
	return NULL;
}

/*
 * Only a service token for the DID the key is bound to, and a short
 * lived one: a stolen frontend cannot mint long tokens for later.
 */
static const char *
jwt_check(const char *did, const char *input, size_t len,
    const struct key *k)
{
	struct dm	*hd = NULL, *pl = NULL;
	const char	*dot, *why = NULL;
	size_t		 hl;

	if ((dot = memchr(input, '.', len)) == NULL ||
	    memchr(dot + 1, '.', len - (dot + 1 - input)) != NULL)
		return "jwt: not header.payload";
	hl = dot - input;
	if ((hd = jwt_part(input, hl)) == NULL ||
	    (pl = jwt_part(dot + 1, len - hl - 1)) == NULL)
		why = "jwt: bad header or payload";
	else if (!signer_map_str_is(hd, "alg",
	    key_type_jwt_alg(privkey_type(k->priv))))
		why = "jwt: wrong alg";
	else if (!signer_map_str_is(hd, "typ", "JWT"))
		why = "jwt: typ is not JWT";
	else
		why = jwt_claims(pl, did);
	dm_free(hd);
	dm_free(pl);
	return why;
}
