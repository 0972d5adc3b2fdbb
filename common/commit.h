/*
 * Signed repository commits, format version 3:
 * {did, version: 3, data, rev, prev: null, sig}.  The signature is
 * ECDSA (crypto.h) over the DAG-CBOR of the same map without "sig".
 */
#ifndef PDS_COMMIT_H
#define PDS_COMMIT_H

#include <stddef.h>
#include <stdint.h>

#include "cid.h"
#include "crypto.h"
#include "syntax.h"
#include "tid.h"

#define COMMIT_VERSION	3
#define COMMIT_MAXLEN	8192	/* bytes of an encoded commit */

struct commit {
	char		did[DID_MAX + 1];
	char		rev[TID_BUFSZ];
	struct cid	data;		/* MST root */
	int		has_prev;	/* prev is a link (legacy), not null */
	struct cid	prev;
	uint8_t		sig[SIG_LEN];
};

/*
 * The bytes to sign, {did, rev, data, prev: null, version: 3}, in a new
 * malloc'd buffer. -1 if the DID or the rev (a TID) is malformed.
 */
int	commit_unsigned_encode(const char *did, const struct cid *data,
	    const char *rev, uint8_t **out, size_t *outlen);
/*
 * The signed commit: the unsigned bytes (checked) with the signature
 * added, in a new malloc'd buffer. Its CID is cid_of_bytes(dag-cbor).
 */
int	commit_signed_encode(const uint8_t *unsig, size_t unsiglen,
	    const uint8_t sig[SIG_LEN], uint8_t **out, size_t *outlen);
/* Encodes a filled-in commit, signature included. */
int	commit_encode(const struct commit *, uint8_t **, size_t *);
/*
 * Decodes a signed commit and checks its shape: exactly the six fields,
 * each of its type, version 3, a valid DID, rev a TID, data a dag-cbor
 * CID, a 64-byte sig. The reason for a refusal goes to errstr.
 */
int	commit_decode(const uint8_t *, size_t, struct commit *,
	    const char **errstr);
/* The same checks for the unsigned form (no "sig"), as signerd gets it. */
int	commit_decode_unsigned(const uint8_t *, size_t, struct commit *,
	    const char **errstr);
/* 0 if the signature is the key's over the commit, else -1. */
int	commit_verify(const struct commit *, const struct pubkey *);
/* Signs the commit's fields with the key, filling in sig. */
int	commit_sign(struct commit *, const struct privkey *);

#endif
