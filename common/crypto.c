/*
 * ECDSA for atproto on two libraries: libsecp256k1 for k256 and
 * OpenSSL 3 (EVP and EC_POINT, no deprecated EC_KEY) for p256.  Both
 * sign the SHA-256 digest directly, so the message is hashed exactly
 * once, here, with libsodium.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <secp256k1.h>
#include <sodium.h>

#include "crypto.h"

struct privkey {
	enum key_type	type;
	uint8_t		sk[PRIVKEY_LEN];
};

#define P256_DER_MAX	72

static secp256k1_context	*k256_ctx;
static EC_GROUP			*p256_group;
static BIGNUM			*p256_half;	/* floor(n / 2) */

static int	p256_init(void);

int
crypto_init(void)
{
	uint8_t seed[32];
	static int done;

	if (done)
		return 0;
	if (sodium_init() < 0)
		return -1;
	if (k256_ctx == NULL) {
		k256_ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
		if (k256_ctx == NULL)
			return -1;
		/* Blinding against side channels. */
		randombytes_buf(seed, sizeof(seed));
		if (!secp256k1_context_randomize(k256_ctx, seed)) {
			secp256k1_context_destroy(k256_ctx);
			k256_ctx = NULL;
			return -1;
		}
		sodium_memzero(seed, sizeof(seed));
	}
	if (p256_init() == -1)
		return -1;
	done = 1;
	return 0;
}

static int
p256_init(void)
{
	if (p256_group != NULL)
		return 0;
	if ((p256_group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)) ==
	    NULL)
		return -1;
	if ((p256_half = BN_dup(EC_GROUP_get0_order(p256_group))) == NULL ||
	    !BN_rshift1(p256_half, p256_half)) {
		EC_GROUP_free(p256_group);
		p256_group = NULL;
		return -1;
	}
	return 0;
}

void
sha256(const void *msg, size_t len, uint8_t out[SHA256_LEN])
{
	crypto_hash_sha256(out, msg, len);
}

const char *
key_type_name(enum key_type t)
{
	switch (t) {
	case KEY_K256:
		return "k256";
	case KEY_P256:
		return "p256";
	default:
		return "none";
	}
}

const char *
key_type_jwt_alg(enum key_type t)
{
	switch (t) {
	case KEY_K256:
		return "ES256K";
	case KEY_P256:
		return "ES256";
	default:
		return NULL;
	}
}

/*
 * P-256 helpers.  Scalars pass through BIGNUMs only briefly and are
 * cleared on the way out.
 */

static BIGNUM *
p256_scalar(const uint8_t sk[PRIVKEY_LEN])
{
	BIGNUM *k;

	if ((k = BN_secure_new()) == NULL)
		return NULL;
	if (BN_bin2bn(sk, PRIVKEY_LEN, k) == NULL || BN_is_zero(k) ||
	    BN_cmp(k, EC_GROUP_get0_order(p256_group)) >= 0) {
		BN_clear_free(k);
		return NULL;
	}
	return k;
}

static int
p256_seckey_ok(const uint8_t sk[PRIVKEY_LEN])
{
	BIGNUM *k;

	if ((k = p256_scalar(sk)) == NULL)
		return -1;
	BN_clear_free(k);
	return 0;
}

static int
p256_public(const uint8_t sk[PRIVKEY_LEN], uint8_t out[PUBKEY_LEN])
{
	EC_POINT *pt = NULL;
	BIGNUM *k;
	int rv = -1;

	if ((k = p256_scalar(sk)) == NULL)
		return -1;
	if ((pt = EC_POINT_new(p256_group)) != NULL &&
	    EC_POINT_mul(p256_group, pt, k, NULL, NULL, NULL) &&
	    EC_POINT_point2oct(p256_group, pt, POINT_CONVERSION_COMPRESSED,
	    out, PUBKEY_LEN, NULL) == PUBKEY_LEN)
		rv = 0;
	EC_POINT_free(pt);
	BN_clear_free(k);
	return rv;
}

/* An EVP_PKEY for a public point and, if k is not NULL, its scalar. */
static EVP_PKEY *
p256_pkey(const uint8_t pub[PUBKEY_LEN], const BIGNUM *k)
{
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		return NULL;
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pub, PUBKEY_LEN) ||
	    (k != NULL && !OSSL_PARAM_BLD_push_BN(bld,
	    OSSL_PKEY_PARAM_PRIV_KEY, k)))
		goto done;
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, k != NULL ? EVP_PKEY_KEYPAIR :
	    EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
 done:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

/* DER ECDSA-Sig-Value to r || s, folding s into the low half. */
static int
p256_der_to_compact(const uint8_t *der, size_t len, uint8_t out[SIG_LEN])
{
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	BIGNUM *ls = NULL;
	ECDSA_SIG *sig;
	int rv = -1;

	if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL)
		return -1;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_cmp(s, p256_half) > 0) {
		if ((ls = BN_new()) == NULL ||
		    !BN_sub(ls, EC_GROUP_get0_order(p256_group), s))
			goto done;
		s = ls;
	}
	if (BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(s, out + 32, 32) ==
	    32)
		rv = 0;
 done:
	BN_free(ls);
	ECDSA_SIG_free(sig);
	return rv;
}

static int
p256_sign(const uint8_t sk[PRIVKEY_LEN], const uint8_t dgst[SHA256_LEN],
    uint8_t out[SIG_LEN])
{
	uint8_t pub[PUBKEY_LEN], der[P256_DER_MAX];
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *k;
	size_t derlen = sizeof(der);
	int rv = -1;

	if (p256_public(sk, pub) == -1 || (k = p256_scalar(sk)) == NULL)
		return -1;
	pkey = p256_pkey(pub, k);
	BN_clear_free(k);
	if (pkey == NULL)
		return -1;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) != NULL &&
	    EVP_PKEY_sign_init(ctx) > 0 &&
	    EVP_PKEY_sign(ctx, der, &derlen, dgst, SHA256_LEN) > 0)
		rv = p256_der_to_compact(der, derlen, out);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return rv;
}

/* r || s to DER, refusing r or s outside [1, n-1] and s above n/2. */
static int
p256_compact_to_der(const uint8_t sig[SIG_LEN], uint8_t der[P256_DER_MAX],
    size_t *derlen)
{
	const BIGNUM *n = EC_GROUP_get0_order(p256_group);
	BIGNUM *r, *s;
	ECDSA_SIG *es;
	unsigned char *p = der;
	int len, rv = -1;

	r = BN_bin2bn(sig, 32, NULL);
	s = BN_bin2bn(sig + 32, 32, NULL);
	if (r == NULL || s == NULL || BN_is_zero(r) || BN_is_zero(s) ||
	    BN_cmp(r, n) >= 0 || BN_cmp(s, p256_half) > 0 ||
	    (es = ECDSA_SIG_new()) == NULL) {
		BN_free(r);
		BN_free(s);
		return -1;
	}
	ECDSA_SIG_set0(es, r, s);
	if ((len = i2d_ECDSA_SIG(es, NULL)) > 0 && len <= P256_DER_MAX &&
	    i2d_ECDSA_SIG(es, &p) == len) {
		*derlen = (size_t)len;
		rv = 0;
	}
	ECDSA_SIG_free(es);
	return rv;
}

static int
p256_verify(const uint8_t pub[PUBKEY_LEN], const uint8_t dgst[SHA256_LEN],
    const uint8_t sig[SIG_LEN])
{
	uint8_t der[P256_DER_MAX];
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey;
	size_t derlen;
	int rv = -1;

	if (p256_compact_to_der(sig, der, &derlen) == -1)
		return -1;
	if ((pkey = p256_pkey(pub, NULL)) == NULL)
		return -1;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) != NULL &&
	    EVP_PKEY_verify_init(ctx) > 0 &&
	    EVP_PKEY_verify(ctx, der, derlen, dgst, SHA256_LEN) == 1)
		rv = 0;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return rv;
}

static int
p256_parse(const uint8_t *in, size_t len, uint8_t out[PUBKEY_LEN])
{
	EC_POINT *pt;
	int rv = -1;

	if ((pt = EC_POINT_new(p256_group)) == NULL)
		return -1;
	if (EC_POINT_oct2point(p256_group, pt, in, len, NULL) &&
	    !EC_POINT_is_at_infinity(p256_group, pt) &&
	    EC_POINT_is_on_curve(p256_group, pt, NULL) == 1 &&
	    EC_POINT_point2oct(p256_group, pt, POINT_CONVERSION_COMPRESSED,
	    out, PUBKEY_LEN, NULL) == PUBKEY_LEN)
		rv = 0;
	EC_POINT_free(pt);
	return rv;
}

static int
p256_uncompress(const uint8_t in[PUBKEY_LEN], uint8_t out[PUBKEY_FULL_LEN])
{
	EC_POINT *pt;
	int rv = -1;

	if ((pt = EC_POINT_new(p256_group)) == NULL)
		return -1;
	if (EC_POINT_oct2point(p256_group, pt, in, PUBKEY_LEN, NULL) &&
	    EC_POINT_point2oct(p256_group, pt, POINT_CONVERSION_UNCOMPRESSED,
	    out, PUBKEY_FULL_LEN, NULL) == PUBKEY_FULL_LEN)
		rv = 0;
	EC_POINT_free(pt);
	return rv;
}

/* secp256k1 helpers. */

static int
k256_public(const uint8_t sk[PRIVKEY_LEN], uint8_t out[PUBKEY_LEN])
{
	secp256k1_pubkey pk;
	size_t len = PUBKEY_LEN;

	if (!secp256k1_ec_pubkey_create(k256_ctx, &pk, sk) ||
	    !secp256k1_ec_pubkey_serialize(k256_ctx, out, &len, &pk,
	    SECP256K1_EC_COMPRESSED) || len != PUBKEY_LEN)
		return -1;
	return 0;
}

static int
k256_sign(const uint8_t sk[PRIVKEY_LEN], const uint8_t dgst[SHA256_LEN],
    uint8_t out[SIG_LEN])
{
	secp256k1_ecdsa_signature sig;

	/* RFC 6979 nonces; the library always emits low S. */
	if (!secp256k1_ecdsa_sign(k256_ctx, &sig, dgst, sk, NULL, NULL) ||
	    !secp256k1_ecdsa_signature_serialize_compact(k256_ctx, out, &sig))
		return -1;
	return 0;
}

static int
k256_verify(const uint8_t pub[PUBKEY_LEN], const uint8_t dgst[SHA256_LEN],
    const uint8_t sig[SIG_LEN])
{
	secp256k1_ecdsa_signature es;
	secp256k1_pubkey pk;

	if (!secp256k1_ec_pubkey_parse(k256_ctx, &pk, pub, PUBKEY_LEN) ||
	    !secp256k1_ecdsa_signature_parse_compact(k256_ctx, &es, sig))
		return -1;
	/* secp256k1_ecdsa_verify refuses high S: no normalising here. */
	return secp256k1_ecdsa_verify(k256_ctx, &es, dgst, &pk) ? 0 : -1;
}

static int
k256_parse(const uint8_t *in, size_t len, uint8_t out[PUBKEY_LEN],
    unsigned int flags)
{
	secp256k1_pubkey pk;
	size_t outlen = flags == SECP256K1_EC_COMPRESSED ? PUBKEY_LEN :
	    PUBKEY_FULL_LEN;

	if (!secp256k1_ec_pubkey_parse(k256_ctx, &pk, in, len) ||
	    !secp256k1_ec_pubkey_serialize(k256_ctx, out, &outlen, &pk, flags))
		return -1;
	return 0;
}

/* The public interface: dispatch on the key type. */

static int
seckey_ok(enum key_type t, const uint8_t sk[PRIVKEY_LEN])
{
	switch (t) {
	case KEY_K256:
		return secp256k1_ec_seckey_verify(k256_ctx, sk) ? 0 : -1;
	case KEY_P256:
		return p256_seckey_ok(sk);
	default:
		return -1;
	}
}

static struct privkey *
privkey_alloc(enum key_type t)
{
	struct privkey *k;

	if (crypto_init() == -1 || (t != KEY_K256 && t != KEY_P256))
		return NULL;
	if ((k = sodium_malloc(sizeof(*k))) == NULL)
		return NULL;
	k->type = t;
	return k;
}

struct privkey *
privkey_generate(enum key_type t)
{
	struct privkey *k;
	int tries;

	if ((k = privkey_alloc(t)) == NULL)
		return NULL;
	/* A random 256-bit string is out of range with odds near 2^-32. */
	for (tries = 0; tries < 64; tries++) {
		randombytes_buf(k->sk, sizeof(k->sk));
		if (seckey_ok(t, k->sk) == 0)
			return k;
	}
	privkey_free(k);
	return NULL;
}

struct privkey *
privkey_load(enum key_type t, const uint8_t *raw, size_t len)
{
	struct privkey *k;

	if (len != PRIVKEY_LEN || (k = privkey_alloc(t)) == NULL)
		return NULL;
	memcpy(k->sk, raw, PRIVKEY_LEN);
	if (seckey_ok(t, k->sk) == -1) {
		privkey_free(k);
		return NULL;
	}
	return k;
}

void
privkey_free(struct privkey *k)
{
	if (k == NULL)
		return;
	sodium_memzero(k, sizeof(*k));
	sodium_free(k);
}

enum key_type
privkey_type(const struct privkey *k)
{
	return k->type;
}

int
privkey_export(const struct privkey *k, uint8_t out[PRIVKEY_LEN])
{
	memcpy(out, k->sk, PRIVKEY_LEN);
	return 0;
}

int
privkey_public(const struct privkey *k, struct pubkey *pk)
{
	int rv;

	memset(pk, 0, sizeof(*pk));
	if (k->type == KEY_K256)
		rv = k256_public(k->sk, pk->point);
	else
		rv = p256_public(k->sk, pk->point);
	if (rv == 0)
		pk->type = k->type;
	return rv;
}

int
privkey_sign_digest(const struct privkey *k, const uint8_t dgst[SHA256_LEN],
    uint8_t sig[SIG_LEN])
{
	if (crypto_init() == -1)
		return -1;
	if (k->type == KEY_K256)
		return k256_sign(k->sk, dgst, sig);
	return p256_sign(k->sk, dgst, sig);
}

int
privkey_sign(const struct privkey *k, const void *msg, size_t len,
    uint8_t sig[SIG_LEN])
{
	uint8_t dgst[SHA256_LEN];

	if (crypto_init() == -1)
		return -1;
	sha256(msg, len, dgst);
	return privkey_sign_digest(k, dgst, sig);
}

int
pubkey_parse(enum key_type t, const uint8_t *in, size_t len,
    struct pubkey *pk)
{
	int rv;

	memset(pk, 0, sizeof(*pk));
	if (crypto_init() == -1)
		return -1;
	/* Only plain SEC1 forms: no hybrid (06/07) or infinity encodings. */
	if (!(len == PUBKEY_LEN && (in[0] == 0x02 || in[0] == 0x03)) &&
	    !(len == PUBKEY_FULL_LEN && in[0] == 0x04))
		return -1;
	if (t == KEY_K256)
		rv = k256_parse(in, len, pk->point, SECP256K1_EC_COMPRESSED);
	else if (t == KEY_P256)
		rv = p256_parse(in, len, pk->point);
	else
		rv = -1;
	if (rv == 0)
		pk->type = t;
	return rv;
}

int
pubkey_uncompressed(const struct pubkey *pk, uint8_t out[PUBKEY_FULL_LEN])
{
	if (crypto_init() == -1)
		return -1;
	if (pk->type == KEY_K256)
		return k256_parse(pk->point, PUBKEY_LEN, out,
		    SECP256K1_EC_UNCOMPRESSED);
	if (pk->type == KEY_P256)
		return p256_uncompress(pk->point, out);
	return -1;
}

int
pubkey_equal(const struct pubkey *a, const struct pubkey *b)
{
	return a->type == b->type &&
	    memcmp(a->point, b->point, PUBKEY_LEN) == 0;
}

int
pubkey_verify_digest(const struct pubkey *pk, const uint8_t dgst[SHA256_LEN],
    const uint8_t *sig, size_t siglen)
{
	if (crypto_init() == -1 || siglen != SIG_LEN)
		return -1;
	if (pk->type == KEY_K256)
		return k256_verify(pk->point, dgst, sig);
	if (pk->type == KEY_P256)
		return p256_verify(pk->point, dgst, sig);
	return -1;
}

int
pubkey_verify(const struct pubkey *pk, const void *msg, size_t len,
    const uint8_t *sig, size_t siglen)
{
	uint8_t dgst[SHA256_LEN];

	if (crypto_init() == -1)
		return -1;
	sha256(msg, len, dgst);
	return pubkey_verify_digest(pk, dgst, sig, siglen);
}
