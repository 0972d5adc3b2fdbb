/*
 * Repository commits: encoding, signing, decoding and verification.
 * The unsigned and the signed form are one map with or without "sig",
 * built by one function, so what is verified is what was signed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cbor.h"
#include "cid.h"
#include "commit.h"
#include "crypto.h"
#include "dm.h"
#include "syntax.h"
#include "tid.h"

static int
seterr(const char **errstr, const char *msg)
{
	if (errstr != NULL)
		*errstr = msg;
	return -1;
}

static struct dm *
commit_value(const struct commit *c, int with_sig)
{
	struct dm	*m;

	if ((m = dm_map()) == NULL)
		return NULL;
	dm_map_set(m, "did", dm_str(c->did));
	dm_map_set(m, "rev", dm_str(c->rev));
	dm_map_set(m, "data", dm_link(&c->data));
	dm_map_set(m, "prev", c->has_prev ? dm_link(&c->prev) : dm_null());
	dm_map_set(m, "version", dm_int(COMMIT_VERSION));
	if (with_sig)
		dm_map_set(m, "sig", dm_bytes(c->sig, SIG_LEN));
	return m;
}

static int
encode(const struct commit *c, int with_sig, uint8_t **out, size_t *outlen)
{
	struct dm	*m;

	if ((m = commit_value(c, with_sig)) == NULL)
		return -1;
	*out = dm_cbor_encode_mem(m, outlen);
	dm_free(m);
	return *out == NULL ? -1 : 0;
}

static int
data_ok(const struct cid *c)
{
	return cid_is_blessed(c) && cid_codec(c) == CID_CODEC_DAGCBOR;
}

/* The fields of either form; want_sig tells which one. */
static int
commit_fields(const struct dm *m, int want_sig, struct commit *c,
    const char **errstr)
{
	const struct dm	*prev, *sig;
	const struct cid *data;
	const char	*did, *rev;
	size_t		 didlen, revlen;
	int64_t		 version;

	if (m->type != DM_MAP || dm_len(m) != (want_sig ? 6u : 5u))
		return seterr(errstr, "commit is not a map of its fields");
	if ((did = dm_map_get_str(m, "did", &didlen)) == NULL ||
	    didlen > DID_MAX || !syntax_is_did(did, didlen))
		return seterr(errstr, "commit did is not a DID");
	if ((rev = dm_map_get_str(m, "rev", &revlen)) == NULL ||
	    !syntax_is_tid(rev, revlen))
		return seterr(errstr, "commit rev is not a TID");
	if ((data = dm_map_get_link(m, "data")) == NULL || !data_ok(data))
		return seterr(errstr, "commit data is not a dag-cbor CID");
	if ((prev = dm_map_get(m, "prev")) == NULL ||
	    (prev->type != DM_NULL && prev->type != DM_LINK))
		return seterr(errstr, "commit prev is not a link or null");
	if (dm_map_get_int(m, "version", &version) == -1 ||
	    version != COMMIT_VERSION)
		return seterr(errstr, "commit version is not 3");
	sig = dm_map_get(m, "sig");
	if (want_sig && (sig == NULL || sig->type != DM_BYTES ||
	    sig->u.s.len != SIG_LEN))
		return seterr(errstr, "commit sig is not 64 bytes");
	memset(c, 0, sizeof(*c));
	memcpy(c->did, did, didlen);
	memcpy(c->rev, rev, revlen);
	c->data = *data;
	if (prev->type == DM_LINK) {
		c->has_prev = 1;
		c->prev = prev->u.link;
	}
	if (want_sig)
		memcpy(c->sig, sig->u.s.p, SIG_LEN);
	return 0;
}

static int
decode(const uint8_t *p, size_t len, int want_sig, struct commit *c,
    const char **errstr)
{
	struct dm	*m;
	int		 rc;

	if (len == 0 || len > COMMIT_MAXLEN)
		return seterr(errstr, "commit of a bad length");
	if (dm_cbor_decode(p, len, &m, errstr) == -1)
		return -1;
	rc = commit_fields(m, want_sig, c, errstr);
	dm_free(m);
	return rc;
}

int
commit_unsigned_encode(const char *did, const struct cid *data,
    const char *rev, uint8_t **out, size_t *outlen)
{
	struct commit	c;
	size_t		didlen = strlen(did), revlen = strlen(rev);

	if (didlen > DID_MAX || !syntax_is_did(did, didlen) ||
	    revlen != TID_STRLEN || !syntax_is_tid(rev, revlen) ||
	    !data_ok(data))
		return -1;
	memset(&c, 0, sizeof(c));
	memcpy(c.did, did, didlen);
	memcpy(c.rev, rev, revlen);
	c.data = *data;
	return encode(&c, 0, out, outlen);
}

int
commit_signed_encode(const uint8_t *unsig, size_t unsiglen,
    const uint8_t sig[SIG_LEN], uint8_t **out, size_t *outlen)
{
	struct commit	c;

	if (decode(unsig, unsiglen, 0, &c, NULL) == -1)
		return -1;
	memcpy(c.sig, sig, SIG_LEN);
	return encode(&c, 1, out, outlen);
}

int
commit_encode(const struct commit *c, uint8_t **out, size_t *outlen)
{
	return encode(c, 1, out, outlen);
}

int
commit_decode(const uint8_t *p, size_t len, struct commit *c,
    const char **errstr)
{
	return decode(p, len, 1, c, errstr);
}

int
commit_decode_unsigned(const uint8_t *p, size_t len, struct commit *c,
    const char **errstr)
{
	return decode(p, len, 0, c, errstr);
}

int
commit_verify(const struct commit *c, const struct pubkey *pk)
{
	uint8_t	*p;
	size_t	 len;
	int	 rc;

	if (encode(c, 0, &p, &len) == -1)
		return -1;
	rc = pubkey_verify(pk, p, len, c->sig, SIG_LEN);
	free(p);
	return rc == 0 ? 0 : -1;
}

int
commit_sign(struct commit *c, const struct privkey *k)
{
	uint8_t	*p;
	size_t	 len;
	int	 rc;

	if (encode(c, 0, &p, &len) == -1)
		return -1;
	rc = privkey_sign(k, p, len, c->sig);
	free(p);
	return rc;
}
