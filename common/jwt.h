/*
 * Compact JWS (RFC 7515) as atproto uses it: HS256 session tokens signed
 * and checked here with the server's secret, and the signing input of
 * ES256K service tokens that signerd signs.
 */
#ifndef PDS_JWT_H
#define PDS_JWT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define JWT_MAX		4096	/* longest token we look at, in bytes */
#define JWT_KEYLEN	32	/* HS256 secret */
#define JWT_CLAIM_MAX	2049	/* a DID (DID_MAX) and its NUL */
#define JWT_JTI_MAX	129
#define JWT_SCOPE_MAX	64
#define JWT_TYP_MAX	32

/* The header fields and claims the PDS looks at, all checked for type. */
struct jwt_claims {
	char	 typ[JWT_TYP_MAX];	/* "" when absent */
	char	 scope[JWT_SCOPE_MAX];	/* "" when absent */
	char	 sub[JWT_CLAIM_MAX];	/* "" when absent */
	char	 aud[JWT_CLAIM_MAX];	/* "" when absent */
	char	 jti[JWT_JTI_MAX];	/* "" when absent */
	int64_t	 iat;			/* 0 when absent */
	int64_t	 exp;			/* required */
	int	 has_lxm;		/* a service token's claim */
	int	 has_cnf;		/* a proof-of-possession token's */
};

/*
 * "b64url(header).b64url(payload)" of two JSON texts, NUL-terminated and
 * malloc'd; NULL on allocation failure.
 */
char	*jwt_signing_input(const char *, const char *);
/* signing input + "." + b64url(sig), malloc'd; NULL on failure. */
char	*jwt_join(const char *, const uint8_t *, size_t);
/* A whole HS256 token over header and payload JSON, malloc'd. */
char	*jwt_hs256_sign(const uint8_t [JWT_KEYLEN], const char *,
	    const char *);
/*
 * Check an HS256 token of len bytes: exactly three parts, canonical
 * base64url, a header naming HS256 (nothing else: no "none"), a valid
 * MAC (constant time), a JSON object payload with a numeric exp and
 * string claims where claims are strings.  Fills *c; 0 or -1.  Expiry
 * is the caller's decision: see jwt_expired.
 */
int	 jwt_hs256_verify(const uint8_t [JWT_KEYLEN], const char *, size_t,
	    struct jwt_claims *);
/* 1 if exp is at or before now, as jose counts it. */
int	 jwt_expired(const struct jwt_claims *, time_t);

#endif
