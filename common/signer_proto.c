/*
 * IMSG_SIGN_* payloads.  Requests carry DAG-CBOR exactly as it will be
 * signed: the strict decoder accepts only canonical bytes, so what
 * signerd checked is what it signs.
 */
#include <stdlib.h>
#include <string.h>

#include "cbor.h"
#include "commit.h"
#include "cid.h"
#include "crypto.h"
#include "didkey.h"
#include "dm.h"
#include "encoding.h"
#include "signer_proto.h"
#include "syntax.h"
#include "tid.h"

#define PLC_NAME_MAX	64	/* a verification method or service name */
#define PLC_STR_MAX	512	/* an alsoKnownAs entry, a service field */

static int	plc_rotation(const struct dm *, struct signer_plc *,
		    const char **);
static int	plc_methods(const struct dm *, struct signer_plc *,
		    const char **);
static int	plc_aka(const struct dm *, const char **);
static int	plc_services(const struct dm *, const char **);
static int	plc_prev(const struct dm *, struct signer_plc *,
		    const char **);
static int	fail(const char **, const char *);

static int
fail(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return -1;
}

int
signer_map_str_is(const struct dm *m, const char *key, const char *want)
{
	const char	*s;
	size_t		 len;

	return want != NULL && (s = dm_map_get_str(m, key, &len)) != NULL &&
	    len == strlen(want) && memcmp(s, want, len) == 0;
}

/* The unsigned commit signerd is asked to sign: commit.c checks it. */
int
signer_commit_decode(const uint8_t *p, size_t len, struct commit *c,
    const char **why)
{
	if (len == 0 || len > SIGNER_COMMIT_MAXLEN)
		return fail(why, "commit: bad length");
	if (commit_decode_unsigned(p, len, c, why) == -1)
		return -1;
	if (strlen(c->did) > SIGNER_DID_MAX)
		return fail(why, "commit: bad did");
	return 0;
}

/* A did:key string, copied out when it decodes to a usable key. */
static int
didkey_str(const struct dm *v, char out[DIDKEY_BUFSZ])
{
	struct pubkey	 pk;

	if (v == NULL || v->type != DM_STR || v->u.s.len > DIDKEY_MAX ||
	    didkey_decode(v->u.s.p, v->u.s.len, &pk) == -1)
		return -1;
	memcpy(out, v->u.s.p, v->u.s.len);
	out[v->u.s.len] = '\0';
	return 0;
}

/* Names of methods and services become "#name" fragments. */
static int
name_ok(const struct dm_ent *e)
{
	return e->klen > 0 && e->klen <= PLC_NAME_MAX &&
	    memchr(e->key, '#', e->klen) == NULL &&
	    memchr(e->key, '\0', e->klen) == NULL;
}

static int
plc_rotation(const struct dm *a, struct signer_plc *p, const char **why)
{
	size_t	 i, j;

	if (a == NULL || a->type != DM_ARRAY || dm_len(a) == 0 ||
	    dm_len(a) > PLC_MAX_ROTATION)
		return fail(why, "plc: rotationKeys must hold 1 to 5 keys");
	for (i = 0; i < dm_len(a); i++) {
		if (didkey_str(dm_array_get(a, i), p->rotation[i]) == -1)
			return fail(why, "plc: bad rotation key");
		for (j = 0; j < i; j++)
			if (strcmp(p->rotation[i], p->rotation[j]) == 0)
				return fail(why, "plc: duplicate rotation key");
	}
	p->nrotation = dm_len(a);
	return 0;
}

static int
plc_methods(const struct dm *m, struct signer_plc *p, const char **why)
{
	const struct dm_ent	*e;
	char			 key[DIDKEY_BUFSZ];
	size_t			 i;

	if (m == NULL || m->type != DM_MAP || dm_len(m) > PLC_MAX_METHODS)
		return fail(why, "plc: bad verificationMethods");
	for (i = 0; i < dm_len(m); i++) {
		e = &m->u.map.e[i];
		if (!name_ok(e))
			return fail(why, "plc: bad verification method name");
		if (didkey_str(e->val, key) == -1)
			return fail(why, "plc: bad verification method key");
	}
	if (didkey_str(dm_map_get(m, "atproto"), p->atproto) == -1)
		return fail(why, "plc: no atproto verification method");
	return 0;
}

static int
plc_aka(const struct dm *a, const char **why)
{
	const struct dm	*v;
	size_t		 i;

	if (a == NULL || a->type != DM_ARRAY || dm_len(a) > PLC_MAX_AKA)
		return fail(why, "plc: bad alsoKnownAs");
	for (i = 0; i < dm_len(a); i++) {
		v = dm_array_get(a, i);
		if (v->type != DM_STR || v->u.s.len > PLC_STR_MAX ||
		    !syntax_is_uri(v->u.s.p, v->u.s.len))
			return fail(why, "plc: bad alsoKnownAs entry");
	}
	return 0;
}

static int
plc_services(const struct dm *m, const char **why)
{
	const struct dm_ent	*e;
	const char		*s;
	size_t			 i, len;

	if (m == NULL || m->type != DM_MAP || dm_len(m) > PLC_MAX_SERVICES)
		return fail(why, "plc: bad services");
	for (i = 0; i < dm_len(m); i++) {
		e = &m->u.map.e[i];
		if (!name_ok(e))
			return fail(why, "plc: bad service name");
		if (e->val->type != DM_MAP || dm_len(e->val) != 2)
			return fail(why, "plc: bad service");
		if ((s = dm_map_get_str(e->val, "type", &len)) == NULL ||
		    len == 0 || len > PLC_STR_MAX)
			return fail(why, "plc: bad service type");
		if ((s = dm_map_get_str(e->val, "endpoint", &len)) == NULL ||
		    len > PLC_STR_MAX || !syntax_is_uri(s, len))
			return fail(why, "plc: bad service endpoint");
	}
	return 0;
}

static int
plc_prev(const struct dm *v, struct signer_plc *p, const char **why)
{
	if (v != NULL && v->type == DM_NULL) {
		p->genesis = 1;
		return 0;
	}
	if (v == NULL || v->type != DM_STR ||
	    v->u.s.len != CID_BLESSED_STRLEN ||
	    cid_from_str(&p->prev, v->u.s.p, v->u.s.len, NULL) == -1 ||
	    !cid_is_blessed(&p->prev) ||
	    cid_codec(&p->prev) != CID_CODEC_DAGCBOR)
		return fail(why, "plc: bad prev");
	return 0;
}

int
signer_plc_check(const struct dm *op, struct signer_plc *p, const char **why)
{
	memset(p, 0, sizeof(*p));
	if (op == NULL || op->type != DM_MAP || dm_len(op) != 6)
		return fail(why, "plc: not a map of 6 fields");
	if (!signer_map_str_is(op, "type", "plc_operation"))
		return fail(why, "plc: type is not plc_operation");
	if (plc_rotation(dm_map_get(op, "rotationKeys"), p, why) == -1 ||
	    plc_methods(dm_map_get(op, "verificationMethods"), p, why) == -1 ||
	    plc_aka(dm_map_get(op, "alsoKnownAs"), why) == -1 ||
	    plc_services(dm_map_get(op, "services"), why) == -1 ||
	    plc_prev(dm_map_get(op, "prev"), p, why) == -1)
		return -1;
	return 0;
}

int
signer_plc_decode(const uint8_t *b, size_t len, struct dm **op,
    struct signer_plc *p, const char **why)
{
	*op = NULL;
	if (len == 0 || len > PLC_OP_MAXLEN)
		return fail(why, "plc: bad length");
	if (dm_cbor_decode(b, len, op, NULL) == -1)
		return fail(why, "plc: not DAG-CBOR");
	if (signer_plc_check(*op, p, why) == -1) {
		dm_free(*op);
		*op = NULL;
		return -1;
	}
	return 0;
}

int
signer_plc_signed(const struct dm *op, const uint8_t sig[SIG_LEN],
    struct cid *cid, char did[PLC_DID_BUFSZ])
{
	struct dm	*signed_op;
	uint8_t		*bytes, dgst[SHA256_LEN];
	char		 b64[BASE64_ENCLEN(SIG_LEN) + 1];
	char		 b32[BASE32_ENCLEN(SHA256_LEN) + 1];
	size_t		 len;

	if ((signed_op = dm_copy(op)) == NULL)
		return -1;
	base64url_encode(sig, SIG_LEN, b64, sizeof(b64));
	dm_map_set(signed_op, "sig", dm_str(b64));
	bytes = dm_cbor_encode_mem(signed_op, &len);
	dm_free(signed_op);
	if (bytes == NULL)
		return -1;
	if (cid != NULL)
		cid_of_bytes(cid, CID_CODEC_DAGCBOR, bytes, len);
	sha256(bytes, len, dgst);
	free(bytes);
	if (did != NULL) {
		base32_encode(dgst, sizeof(dgst), b32, sizeof(b32));
		memcpy(did, "did:plc:", 8);
		memcpy(did + 8, b32, 24);
		did[PLC_DID_LEN] = '\0';
	}
	return 0;
}

int
signer_jwt_encode(const char *did, const char *input, uint8_t **out,
    size_t *outlen)
{
	size_t	 dl = strlen(did), il = strlen(input);

	*out = NULL;
	if (dl == 0 || dl > SIGNER_DID_MAX || il == 0 ||
	    il > SIGNER_JWT_MAXLEN)
		return -1;
	if ((*out = malloc(dl + 1 + il)) == NULL)
		return -1;
	memcpy(*out, did, dl + 1);
	memcpy(*out + dl + 1, input, il);
	*outlen = dl + 1 + il;
	return 0;
}

int
signer_jwt_decode(const uint8_t *p, size_t len, const char **did,
    const char **input, size_t *inputlen, const char **why)
{
	const uint8_t	*nul;
	size_t		 dl;

	if (len > SIGNER_DID_BUFSZ + SIGNER_JWT_MAXLEN ||
	    (nul = memchr(p, '\0', len)) == NULL)
		return fail(why, "jwt: bad request");
	dl = (size_t)(nul - p);
	if (dl == 0 || dl > SIGNER_DID_MAX || !syntax_is_did((const char *)p,
	    dl))
		return fail(why, "jwt: bad did");
	*inputlen = len - dl - 1;
	if (*inputlen == 0 || *inputlen > SIGNER_JWT_MAXLEN ||
	    memchr(nul + 1, '\0', *inputlen) != NULL)
		return fail(why, "jwt: bad signing input");
	*did = (const char *)p;
	*input = (const char *)nul + 1;
	return 0;
}

int
signer_rev_raise_encode(const char *did, const char *rev, uint8_t *out,
    size_t *outlen)
{
	size_t	 dl = strlen(did), rl = strlen(rev);

	if (dl == 0 || dl > SIGNER_DID_MAX || !syntax_is_did(did, dl) ||
	    rl != TID_STRLEN || !syntax_is_tid(rev, rl))
		return -1;
	memcpy(out, did, dl + 1);
	memcpy(out + dl + 1, rev, rl + 1);
	*outlen = dl + 1 + rl + 1;
	return 0;
}

int
signer_rev_raise_decode(const uint8_t *p, size_t len, const char **did,
    const char **rev, const char **why)
{
	const uint8_t	*nul;
	size_t		 dl;

	if (len < 2 + TID_BUFSZ || len > SIGNER_REV_RAISE_MAX ||
	    (nul = memchr(p, '\0', len)) == NULL)
		return fail(why, "rev raise: bad request");
	dl = (size_t)(nul - p);
	if (dl == 0 || dl > SIGNER_DID_MAX ||
	    !syntax_is_did((const char *)p, dl))
		return fail(why, "rev raise: bad did");
	if (len - dl - 1 != TID_BUFSZ || p[len - 1] != '\0' ||
	    !syntax_is_tid((const char *)nul + 1, TID_STRLEN))
		return fail(why, "rev raise: bad rev");
	*did = (const char *)p;
	*rev = (const char *)nul + 1;
	return 0;
}

int
signer_rev_decode(const uint8_t *p, size_t len, char rev[TID_BUFSZ])
{
	if (len != TID_BUFSZ || p[TID_STRLEN] != '\0' ||
	    !syntax_is_tid((const char *)p, TID_STRLEN))
		return -1;
	memcpy(rev, p, TID_BUFSZ);
	return 0;
}

int
signer_didkey_decode(const uint8_t *p, size_t len, char out[DIDKEY_BUFSZ])
{
	struct pubkey	 pk;

	if (len < 2 || len > DIDKEY_BUFSZ || p[len - 1] != '\0' ||
	    memchr(p, '\0', len - 1) != NULL ||
	    didkey_decode((const char *)p, len - 1, &pk) == -1)
		return -1;
	memcpy(out, p, len);
	return 0;
}

int
signer_sig_decode(const uint8_t *p, size_t len, uint8_t sig[SIG_LEN])
{
	if (len != SIG_LEN)
		return -1;
	memcpy(sig, p, SIG_LEN);
	return 0;
}

size_t
signer_plc_reply_encode(const uint8_t sig[SIG_LEN], const char *did,
    uint8_t *out)
{
	memcpy(out, sig, SIG_LEN);
	if (did == NULL || strlen(did) != PLC_DID_LEN)
		return SIG_LEN;
	memcpy(out + SIG_LEN, did, PLC_DID_LEN);
	return SIGNER_PLC_REPLY_MAX;
}

static int
is_plc_did(const char *s, size_t len)
{
	size_t	 i;

	if (len != PLC_DID_LEN || memcmp(s, "did:plc:", 8) != 0)
		return 0;
	for (i = 8; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '2' &&
		    s[i] <= '7')))
			return 0;
	return 1;
}

int
signer_plc_reply_decode(const uint8_t *p, size_t len, uint8_t sig[SIG_LEN],
    char did[PLC_DID_BUFSZ])
{
	if (len != SIG_LEN && (len != SIGNER_PLC_REPLY_MAX ||
	    !is_plc_did((const char *)p + SIG_LEN, PLC_DID_LEN)))
		return -1;
	memcpy(sig, p, SIG_LEN);
	did[0] = '\0';
	if (len == SIGNER_PLC_REPLY_MAX) {
		memcpy(did, p + SIG_LEN, PLC_DID_LEN);
		did[PLC_DID_LEN] = '\0';
	}
	return 0;
}

int
signer_error_decode(const uint8_t *p, size_t len, char *out, size_t outsz)
{
	size_t	 i;

	if (len < 2 || len > SIGNER_ERR_MAX + 1 || len > outsz ||
	    p[len - 1] != '\0')
		return -1;
	for (i = 0; i < len - 1; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return -1;
	memcpy(out, p, len);
	return 0;
}
