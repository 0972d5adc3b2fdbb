/*
 * CIDv1 (content identifiers). atproto generates only the "blessed"
 * form: version 1, codec dag-cbor (0x71) or raw (0x55), sha2-256 with a
 * 32-byte digest, printed as multibase 'b' (lowercase base32, no padding).
 * Parsing accepts any CIDv1 with a multihash digest of at most
 * CID_MAXDIGEST bytes, so links inside user records are kept byte-exact;
 * code that builds or checks repository structure uses cid_is_blessed().
 * CIDv0 is always rejected.
 */
#ifndef PDS_CID_H
#define PDS_CID_H

#include <stddef.h>
#include <stdint.h>

#define CID_MAXLEN		100	/* binary bytes, spec's hard cap */
#define CID_MAXDIGEST		64
#define CID_SHA256_LEN		36	/* binary length of a blessed CID */
#define CID_STRSZ		(1 + (CID_MAXLEN * 8 + 4) / 5 + 1)
#define CID_BLESSED_STRLEN	59

#define CID_CODEC_RAW		0x55
#define CID_CODEC_DAGCBOR	0x71
#define CID_HASH_SHA256		0x12

struct cid {
	uint8_t		len;
	uint8_t		b[CID_MAXLEN];
};

/*
 * Sets up the SHA-256 context. It happens on first use anyway; call it
 * before entering a sandbox, since OpenSSL may read its configuration.
 */
void	cid_init(void);
/* CIDv1(codec, sha2-256(data)). */
void	cid_of_bytes(struct cid *, uint64_t, const void *, size_t);
void	cid_sha256(const void *, size_t, uint8_t [32]);
/*
 * SHA-256 of data that comes in pieces (a blob as it arrives), by the
 * same fast code.  new gives NULL when out of memory; final frees.
 */
struct cid_hash;
struct cid_hash	*cid_hash_new(void);
void		 cid_hash_update(struct cid_hash *, const void *, size_t);
void		 cid_hash_final(struct cid_hash *, uint8_t [32]);
void		 cid_hash_free(struct cid_hash *);
/*
 * Binary form. With used == NULL the whole buffer must be one CID;
 * otherwise the CID is a prefix and its length is stored in *used.
 * Returns 0 or -1 with a reason in *errstr (if errstr is not NULL).
 */
int	cid_from_bin(struct cid *, const uint8_t *, size_t, size_t *,
	    const char **);
/* Text form "b<base32>". */
int	cid_from_str(struct cid *, const char *, size_t, const char **);
/* Writes the text form and a NUL into buf (CID_STRSZ is always enough). */
int	cid_to_str(const struct cid *, char *, size_t);
/* The text form in a static buffer, for log messages only. */
const char *cid_fmt(const struct cid *);

int	cid_cmp(const struct cid *, const struct cid *);
int	cid_equal(const struct cid *, const struct cid *);
/* A number that orders as the text form does, where two differ. */
uint64_t cid_text_key(const struct cid *);
int	cid_is_blessed(const struct cid *);
uint64_t cid_codec(const struct cid *);
/* 1 if data hashes to this (blessed) CID, 0 if not or not blessed. */
int	cid_verify(const struct cid *, const void *, size_t);

#endif
