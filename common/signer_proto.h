/*
 * The payloads the frontend and signerd exchange (IMSG_SIGN_* in
 * pds_imsg.h), each encoder beside its decoder.  signerd decodes every
 * request as hostile input; the frontend decodes every reply as well,
 * so a confused signerd cannot hand it a short signature.
 *
 * Requests (frontend -> signerd), request id in peerid:
 *	IMSG_SIGN_KEY_CREATE	empty
 *	IMSG_SIGN_COMMIT	DAG-CBOR of the unsigned commit
 *	IMSG_SIGN_PLC_OP	DAG-CBOR of the unsigned PLC operation
 *	IMSG_SIGN_JWT		did, NUL, "b64url(header).b64url(payload)"
 *	IMSG_SIGN_REV_RAISE	did, NUL, rev (a TID), NUL
 * Replies (signerd -> frontend), same peerid:
 *	IMSG_SIGN_RESULT	KEY_CREATE: the did:key, NUL-terminated
 *				COMMIT, JWT: the 64-byte signature
 *				PLC_OP: the 64-byte signature, then for a
 *				genesis operation the 32-character DID
 *				REV_RAISE: the last signed rev, NUL-terminated
 *	IMSG_SIGN_ERROR		a short NUL-terminated reason
 *
 * Functions returning int give 0 on success and -1 on failure, with a
 * reason in *why where they take one.
 */
#ifndef PDS_SIGNER_PROTO_H
#define PDS_SIGNER_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "cid.h"
#include "crypto.h"
#include "didkey.h"
#include "dm.h"
#include "tid.h"

#define SIGNER_DID_MAX		200	/* a DID signerd binds a key to */
#define SIGNER_DID_BUFSZ	(SIGNER_DID_MAX + 1)
#define PLC_DID_LEN		32	/* "did:plc:" + 24 */
#define PLC_DID_BUFSZ		(PLC_DID_LEN + 1)
#define PLC_OP_MAXLEN		7500	/* the directory's limit */
#define PLC_MAX_ROTATION	5
#define PLC_MAX_METHODS		10
#define PLC_MAX_AKA		16
#define PLC_MAX_SERVICES	16
#define SIGNER_COMMIT_MAXLEN	1024
#define SIGNER_JWT_MAXLEN	8192	/* the signing input */
#define SIGNER_ERR_MAX		200	/* reason, without the NUL */
#define SIGNER_PLC_REPLY_MAX	(SIG_LEN + PLC_DID_LEN)

/* What signerd needs to know of a checked unsigned PLC operation. */
struct signer_plc {
	char		rotation[PLC_MAX_ROTATION][DIDKEY_BUFSZ];
	size_t		nrotation;
	char		atproto[DIDKEY_BUFSZ];	/* verificationMethods */
	int		genesis;		/* prev is null */
	struct cid	prev;
};

struct commit;
/* An unsigned v3 commit (commit_unsigned_encode makes one). */
int	signer_commit_decode(const uint8_t *, size_t, struct commit *,
	    const char **);

/*
 * Decodes and checks an unsigned operation of type "plc_operation";
 * the tree is returned too (the DID is computed over it).
 */
int	signer_plc_decode(const uint8_t *, size_t, struct dm **,
	    struct signer_plc *, const char **);
int	signer_plc_check(const struct dm *, struct signer_plc *,
	    const char **);
/*
 * The signed operation's CID and, for a genesis operation, its DID:
 * "did:plc:" + the first 24 characters of base32(sha256(signed op)).
 * Either output may be NULL.
 */
int	signer_plc_signed(const struct dm *, const uint8_t [SIG_LEN],
	    struct cid *, char [PLC_DID_BUFSZ]);

/* 1 if the map has key as a string equal to want (NUL-terminated). */
int	signer_map_str_is(const struct dm *, const char *, const char *);

/* IMSG_SIGN_JWT: the buffer is malloc'd. */
int	signer_jwt_encode(const char *, const char *, uint8_t **, size_t *);
/* Points into the payload: the did and the signing input and its length. */
int	signer_jwt_decode(const uint8_t *, size_t, const char **,
	    const char **, size_t *, const char **);

/*
 * IMSG_SIGN_REV_RAISE: out needs SIGNER_REV_RAISE_MAX bytes; the
 * decoder points into the payload.
 */
#define SIGNER_REV_RAISE_MAX	(SIGNER_DID_BUFSZ + TID_BUFSZ)
int	signer_rev_raise_encode(const char *, const char *, uint8_t *,
	    size_t *);
int	signer_rev_raise_decode(const uint8_t *, size_t, const char **,
	    const char **, const char **);

/* Replies. */
int	signer_rev_decode(const uint8_t *, size_t, char [TID_BUFSZ]);
int	signer_didkey_decode(const uint8_t *, size_t, char [DIDKEY_BUFSZ]);
int	signer_sig_decode(const uint8_t *, size_t, uint8_t [SIG_LEN]);
/* The buffer needs SIGNER_PLC_REPLY_MAX bytes; the did may be NULL. */
size_t	signer_plc_reply_encode(const uint8_t [SIG_LEN], const char *,
	    uint8_t *);
int	signer_plc_reply_decode(const uint8_t *, size_t, uint8_t [SIG_LEN],
	    char [PLC_DID_BUFSZ]);
/* A printable reason of at most SIGNER_ERR_MAX bytes, NUL-terminated. */
int	signer_error_decode(const uint8_t *, size_t, char *, size_t);

#endif
