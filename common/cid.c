/*
 * CIDv1 parsing, formatting and hashing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "cid.h"
#include "encoding.h"

/*
 * Hashing is most of the cost of reading a CAR. OpenSSL's SHA-256 uses
 * the CPU's SHA extensions where libsodium's portable code does not
 * (about 5x faster here), provided the digest and its context are set
 * up once, not per call. They are per thread; libsodium is the fallback.
 */
static __thread EVP_MD		*sha_md;
static __thread EVP_MD_CTX	*sha_ctx;
static __thread int		 sha_failed;

void
cid_init(void)
{
	if (sha_ctx != NULL || sha_failed)
		return;
	if ((sha_md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (sha_ctx = EVP_MD_CTX_new()) == NULL) {
		EVP_MD_free(sha_md);
		sha_md = NULL;
		sha_failed = 1;
	}
}

void
cid_sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned int	n;

	cid_init();
	if (sha_ctx != NULL && EVP_DigestInit_ex2(sha_ctx, sha_md, NULL) &&
	    EVP_DigestUpdate(sha_ctx, data, len) &&
	    EVP_DigestFinal_ex(sha_ctx, out, &n) && n == 32)
		return;
	crypto_hash_sha256(out, data, len);
}

struct cid_hash {
	EVP_MD_CTX			*ctx;	/* NULL: libsodium's */
	crypto_hash_sha256_state	 st;
};

struct cid_hash *
cid_hash_new(void)
{
	struct cid_hash	*h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	cid_init();
	if (sha_md != NULL && ((h->ctx = EVP_MD_CTX_new()) == NULL ||
	    !EVP_DigestInit_ex2(h->ctx, sha_md, NULL))) {
		EVP_MD_CTX_free(h->ctx);
		h->ctx = NULL;
	}
	if (h->ctx == NULL)
		crypto_hash_sha256_init(&h->st);
	return h;
}

void
cid_hash_update(struct cid_hash *h, const void *data, size_t len)
{
	/* A failure here is an out-of-memory of OpenSSL's: none is expected. */
	if (h->ctx != NULL)
		EVP_DigestUpdate(h->ctx, data, len);
	else
		crypto_hash_sha256_update(&h->st, data, len);
}

void
cid_hash_final(struct cid_hash *h, uint8_t out[32])
{
	unsigned int	 n;

	if (h->ctx != NULL)
		EVP_DigestFinal_ex(h->ctx, out, &n);
	else
		crypto_hash_sha256_final(&h->st, out);
	cid_hash_free(h);
}

void
cid_hash_free(struct cid_hash *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	sodium_memzero(&h->st, sizeof(h->st));
	free(h);
}

void
cid_of_bytes(struct cid *c, uint64_t codec, const void *data, size_t len)
{
	size_t	n;

	n = 0;
	c->b[n++] = 0x01;
	n += varint_encode(codec, c->b + n);
	c->b[n++] = CID_HASH_SHA256;
	c->b[n++] = 32;
	cid_sha256(data, len, c->b + n);
	c->len = (uint8_t)(n + 32);
}

static int
seterr(const char **errstr, const char *msg)
{
	if (errstr != NULL)
		*errstr = msg;
	return -1;
}

/* Reads one varint field of a CID; returns its length or -1. */
static int
cid_field(const uint8_t *p, size_t len, uint64_t *v)
{
	int	n;

	n = varint_decode(p, len, v);
	return n <= 0 ? -1 : n;
}

int
cid_from_bin(struct cid *c, const uint8_t *p, size_t len, size_t *used,
    const char **errstr)
{
	uint64_t	 ver, codec, hash, dlen;
	size_t		 off = 0, total;
	int		 n;

	if (len >= 2 && p[0] == 0x12 && p[1] == 0x20)
		return seterr(errstr, "CIDv0 not allowed");
	if ((n = cid_field(p, len, &ver)) == -1 || ver != 1)
		return seterr(errstr, "not a CIDv1");
	off += n;
	if ((n = cid_field(p + off, len - off, &codec)) == -1)
		return seterr(errstr, "bad CID codec");
	off += n;
	if ((n = cid_field(p + off, len - off, &hash)) == -1)
		return seterr(errstr, "bad CID multihash code");
	off += n;
	if ((n = cid_field(p + off, len - off, &dlen)) == -1)
		return seterr(errstr, "bad CID digest length");
	off += n;
	if (dlen > CID_MAXDIGEST || (hash == CID_HASH_SHA256 && dlen != 32))
		return seterr(errstr, "bad CID digest length");
	total = off + dlen;
	if (total > len)
		return seterr(errstr, "truncated CID");
	if (total > CID_MAXLEN)
		return seterr(errstr, "CID too long");
	if (used == NULL && total != len)
		return seterr(errstr, "trailing bytes after CID");
	memcpy(c->b, p, total);
	c->len = (uint8_t)total;
	if (used != NULL)
		*used = total;
	return 0;
}

int
cid_from_str(struct cid *c, const char *s, size_t len, const char **errstr)
{
	uint8_t	buf[CID_MAXLEN];
	int	n;

	if (len < 2 || s[0] != 'b')
		return seterr(errstr, "CID string must be base32 ('b')");
	if (len - 1 > BASE32_ENCLEN(CID_MAXLEN))
		return seterr(errstr, "CID string too long");
	if ((n = base32_decode(s + 1, len - 1, buf, sizeof(buf))) == -1)
		return seterr(errstr, "bad base32 in CID");
	return cid_from_bin(c, buf, (size_t)n, NULL, errstr);
}

int
cid_to_str(const struct cid *c, char *buf, size_t bufsz)
{
	if (bufsz < 1 + BASE32_ENCLEN((size_t)c->len) + 1)
		return -1;
	buf[0] = 'b';
	return 1 + (int)base32_encode(c->b, c->len, buf + 1, bufsz - 1);
}

const char *
cid_fmt(const struct cid *c)
{
	static char	buf[CID_STRSZ];

	if (cid_to_str(c, buf, sizeof(buf)) == -1)
		return "(bad cid)";
	return buf;
}

int
cid_cmp(const struct cid *a, const struct cid *b)
{
	int	r;

	r = memcmp(a->b, b->b, a->len < b->len ? a->len : b->len);
	if (r != 0)
		return r;
	return (int)a->len - (int)b->len;
}

/*
 * The text form's characters 1 to 12 (the first is always "b") as a
 * number: two CIDs (of 9 bytes or more) whose keys differ have text
 * forms in the same order, so a sort by key is a sort by text up to
 * equal keys (CIDs of one codec share 28 of the 60 bits; the rest is
 * the digest's).
 */
uint64_t
cid_text_key(const struct cid *c)
{
	uint64_t	 k = 0;
	unsigned int	 i, bit, g;

	for (i = 1; i <= 12; i++) {
		bit = i * 5;
		g = 0;
		if (bit / 8 < c->len)
			g = c->b[bit / 8] << 8;
		if (bit / 8 + 1 < c->len)
			g |= c->b[bit / 8 + 1];
		g = (g >> (11 - bit % 8)) & 31;
		/* Base32's "2".."7" (26..31) sort before its letters. */
		k = k << 5 | ((g + 6) & 31);
	}
	return k;
}

int
cid_equal(const struct cid *a, const struct cid *b)
{
	return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

int
cid_is_blessed(const struct cid *c)
{
	return c->len == CID_SHA256_LEN && c->b[0] == 0x01 &&
	    (c->b[1] == CID_CODEC_DAGCBOR || c->b[1] == CID_CODEC_RAW) &&
	    c->b[2] == CID_HASH_SHA256 && c->b[3] == 32;
}

uint64_t
cid_codec(const struct cid *c)
{
	uint64_t	v;

	if (c->len < 2 || varint_decode(c->b + 1, c->len - 1, &v) <= 0)
		return 0;
	return v;
}

int
cid_verify(const struct cid *c, const void *data, size_t len)
{
	uint8_t	d[32];

	if (!cid_is_blessed(c))
		return 0;
	cid_sha256(data, len, d);
	return memcmp(d, c->b + 4, 32) == 0;
}
