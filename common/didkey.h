/*
 * did:key and Multikey strings for k256 and p256 public keys:
 * "z" + base58btc(multicodec prefix || compressed point), with
 * "did:key:" in front for the DID form.  Only compressed points are
 * written or read, as in the atproto reference.
 */
#ifndef PDS_DIDKEY_H
#define PDS_DIDKEY_H

#include <stddef.h>

#include "crypto.h"

#define DIDKEY_PREFIX	"did:key:"
#define MULTIKEY_MAX	64	/* longest multikey string we accept */
#define MULTIKEY_BUFSZ	(MULTIKEY_MAX + 1)
#define DIDKEY_MAX	(MULTIKEY_MAX + 8)
#define DIDKEY_BUFSZ	(DIDKEY_MAX + 1)

/* Encoders write a NUL-terminated string and return its length or -1. */
int	multikey_encode(const struct pubkey *, char *, size_t);
int	didkey_encode(const struct pubkey *, char *, size_t);

/* Decoders return 0 and fill the key (type and point), or -1. */
int	multikey_decode(const char *, size_t, struct pubkey *);
int	didkey_decode(const char *, size_t, struct pubkey *);

/*
 * The legacy DID-document "publicKeyMultibase" with no multicodec
 * prefix: "z" + base58btc of a 33- or 65-byte point; the curve comes
 * from the verification method type.
 */
int	multibase_key_decode(enum key_type, const char *, size_t,
	    struct pubkey *);

#endif
