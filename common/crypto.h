/*
 * atproto signing keys: secp256k1 ("k256", libsecp256k1) and NIST P-256
 * ("p256", OpenSSL libcrypto).  Signatures are ECDSA over SHA-256 of the
 * message, written as 64 bytes r || s with low S.  Verification takes
 * only that form: high-S and DER signatures are refused.
 *
 * Functions returning int give 0 on success and -1 on failure.
 */
#ifndef PDS_CRYPTO_H
#define PDS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

enum key_type {
	KEY_NONE = 0,
	KEY_K256,
	KEY_P256,
};

#define SHA256_LEN	32
#define PRIVKEY_LEN	32	/* the raw scalar */
#define PUBKEY_LEN	33	/* compressed SEC1 point */
#define PUBKEY_FULL_LEN	65	/* uncompressed: 04 || X || Y */
#define SIG_LEN		64	/* r || s, big-endian */

struct pubkey {
	enum key_type	type;
	uint8_t		point[PUBKEY_LEN];
};

/* The scalar lives in sodium_malloc memory and is wiped on free. */
struct privkey;

/*
 * Initialises libsodium and the secp256k1 and P-256 contexts, once.
 * Everything below calls it too, but a sandboxed process should call it
 * before it drops privileges.
 */
int		 crypto_init(void);

void		 sha256(const void *, size_t, uint8_t [SHA256_LEN]);

const char	*key_type_name(enum key_type);		/* "k256", "p256" */
const char	*key_type_jwt_alg(enum key_type);	/* "ES256K", "ES256" */

struct privkey	*privkey_generate(enum key_type);
struct privkey	*privkey_load(enum key_type, const uint8_t *, size_t);
void		 privkey_free(struct privkey *);
enum key_type	 privkey_type(const struct privkey *);
int		 privkey_export(const struct privkey *, uint8_t [PRIVKEY_LEN]);
int		 privkey_public(const struct privkey *, struct pubkey *);
int		 privkey_sign(const struct privkey *, const void *, size_t,
		    uint8_t [SIG_LEN]);
int		 privkey_sign_digest(const struct privkey *,
		    const uint8_t [SHA256_LEN], uint8_t [SIG_LEN]);

/* A SEC1 point, compressed (33) or uncompressed (65), checked on-curve. */
int		 pubkey_parse(enum key_type, const uint8_t *, size_t,
		    struct pubkey *);
int		 pubkey_uncompressed(const struct pubkey *,
		    uint8_t [PUBKEY_FULL_LEN]);
/* 1 if both are the same key, else 0. */
int		 pubkey_equal(const struct pubkey *, const struct pubkey *);
int		 pubkey_verify(const struct pubkey *, const void *, size_t,
		    const uint8_t *, size_t);
int		 pubkey_verify_digest(const struct pubkey *,
		    const uint8_t [SHA256_LEN], const uint8_t *, size_t);

#endif
