/*
 * Authentication in the frontend: session tokens (auth.c), app
 * passwords, and password hashing off the event loop (pwhash.c).
 */
#ifndef PDSD_AUTH_H
#define PDSD_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "syntax.h"

struct event_base;
struct http_request;
struct sqlite3;

/*
 * What a method accepts: a set of token scopes, plus checks on the
 * account.  The reference's tiers are the first four.
 */
#define AUTH_SCOPE_ACCESS	0x0001	/* com.atproto.access */
#define AUTH_SCOPE_APPPASS	0x0002	/* com.atproto.appPass */
#define AUTH_SCOPE_APPPRIV	0x0004	/* com.atproto.appPassPrivileged */
#define AUTH_SCOPE_REFRESH	0x0008	/* com.atproto.refresh */
#define AUTH_SCOPE_TAKENDOWN	0x0010	/* com.atproto.takendown */
#define AUTH_SCOPES		0x00ff

#define AUTH_ACCESS_FULL	AUTH_SCOPE_ACCESS
#define AUTH_ACCESS_PRIVILEGED	(AUTH_SCOPE_ACCESS | AUTH_SCOPE_APPPRIV)
#define AUTH_ACCESS_APP		(AUTH_ACCESS_PRIVILEGED | AUTH_SCOPE_APPPASS)
#define AUTH_REFRESH		AUTH_SCOPE_REFRESH

#define AUTH_ALLOW_EXPIRED	0x0100	/* deleteSession's refresh token */
#define AUTH_CHECK_TAKEDOWN	0x0200	/* 401 AccountTakedown */
#define AUTH_CHECK_DEACTIVATED	0x0400	/* 401 AccountDeactivated */

#define AUTH_ACCESS_TTL		(2 * 60 * 60)
#define AUTH_REFRESH_TTL	(90 * 24 * 60 * 60)
#define AUTH_REFRESH_GRACE	(2 * 60 * 60)
#define AUTH_JTI_LEN		43	/* base64 of 32 bytes, unpadded */
#define AUTH_KEY_FILE		"jwt.key"
#define AUTH_APPPASS_NAME_MAX	256
#define AUTH_APPPASS_LEN	19	/* xxxx-xxxx-xxxx-xxxx */

/* An authenticated request. */
struct auth {
	char		 did[DID_MAX + 1];
	int		 scope;		/* one AUTH_SCOPE_* */
	char		 jti[AUTH_JTI_LEN + 1];	/* refresh tokens */
};

/* A fresh session: both tokens malloc'd, freed by auth_tokens_free. */
struct auth_tokens {
	char		*access;
	char		*refresh;
};

/* The account fields a session answer needs. */
struct auth_account {
	char		 did[DID_MAX + 1];
	char		 handle[HANDLE_MAX + 1];
	char		 email[512];	/* "" when none */
	char		 status[16];	/* active, deactivated, ... */
	char		*password_hash;	/* malloc'd; NULL when none */
};

/*
 * auth.c.  The key lives in dir/jwt.key (0600), made on first use;
 * without auth_init the first token operation loads it from the
 * directory of the frontend's database.
 */
int		 auth_init(const char *);
int		 auth_init_default(void);
void		 auth_shutdown(void);
const char	*auth_service_did(void);
/*
 * The one check every authenticated method makes.  On failure it has
 * answered the request with the reference's error and returns -1.
 */
int		 auth_check(struct http_request *, int, struct auth *);
/*
 * Verify a token against a set as auth_check does, without a request:
 * 0, or -1 with the status, error name and message to answer.
 */
int		 auth_verify_token(struct sqlite3 *, const char *, size_t, int,
		    time_t, struct auth *, int *, const char **,
		    const char **);
/* New tokens for did; app is the app password's name or NULL. */
int		 auth_session_create(struct sqlite3 *, const char *,
		    const char *, int, time_t, struct auth_tokens *);
/*
 * Rotate refresh token jti: 0 with a new pair (the same successor jti
 * within the grace period), 1 if revoked, spent or expired, -1 error.
 */
int		 auth_session_refresh(struct sqlite3 *, const char *, time_t,
		    struct auth_tokens *);
int		 auth_session_revoke(struct sqlite3 *, const char *);
void		 auth_tokens_free(struct auth_tokens *);
/* Account by handle, email or DID (lower-cased): 0, 1 none, -1 error. */
int		 auth_account_find(struct sqlite3 *, const char *,
		    struct auth_account *);
void		 auth_account_clear(struct auth_account *);
/* A password's new hash, unless the old one changed meanwhile: 0, -1. */
int		 auth_password_rehash(struct sqlite3 *, const char *,
		    const char *, const char *);
/* "active" status: 1; "takendown"/"suspended": the soft-deleted ones. */
int		 auth_account_active(const struct auth_account *);
int		 auth_account_takendown(const struct auth_account *);

/* App passwords (auth.c). */
int		 apppass_generate(char [AUTH_APPPASS_LEN + 1]);
int		 apppass_shaped(const char *);
void		 apppass_salt(const char *, uint8_t [16]);
/* 0, 1 name taken, -1 error; createdAt written into the buffer. */
int		 apppass_store(struct sqlite3 *, const char *, const char *,
		    const uint8_t *, int, char *, size_t);
/*
 * The app password whose derived hash matches: 0 found, 1 none, -1;
 * old: the hash is at the old limits (pwhash_derive_async).
 */
int		 apppass_find(struct sqlite3 *, const char *, const uint8_t *,
		    int, char *, size_t, int *);
int		 apppass_count(struct sqlite3 *, const char *);
int		 apppass_count_old(struct sqlite3 *, const char *);
int		 apppass_revoke(struct sqlite3 *, const char *, const char *);
struct json_object;
struct json_object *apppass_list(struct sqlite3 *, const char *);

/*
 * pwhash.c: argon2id (m=12 MiB, t=3, p=1) on a small pool of threads;
 * callbacks run on the event loop.  The password copies are wiped.  The
 * _async calls return -1 when the queue is full or on allocation
 * failure, and then never call back.
 */
#define PWHASH_OPSLIMIT		3
#define PWHASH_MEMLIMIT		((size_t)12 << 20)
#define PWHASH_DERIVED_LEN	32
#define PWHASH_SALT_LEN		16
#define PWHASH_PW_MAX		4096
typedef void	(*pwhash_str_cb)(void *, const char *);	/* NULL: error */
typedef void	(*pwhash_verify_cb)(void *, int);	/* 1, 0, -1 */
typedef void	(*pwhash_derive_cb)(void *, const uint8_t *);	/* NULL: err */
int		 pwhash_init(struct event_base *);
void		 pwhash_shutdown(void);
int		 pwhash_hash_async(const char *, pwhash_str_cb, void *);
int		 pwhash_verify_async(const char *, const char *,
		    pwhash_verify_cb, void *);
/* A verify; rehash is the password hashed again at our limits, or NULL. */
typedef void	(*pwhash_login_cb)(void *, int, const char *);
int		 pwhash_login_async(const char *, const char *,
		    pwhash_login_cb, void *);
/*
 * Deterministic raw argon2id of a password with a given salt; old: at
 * the limits before m=12 MiB (libsodium's interactive: t=2, 64 MiB).
 */
int		 pwhash_derive_async(const uint8_t [PWHASH_SALT_LEN],
		    const char *, int, pwhash_derive_cb, void *);
/* A hash no password matches in practice: for unknown accounts. */
extern const char	 pwhash_dummy[];

#endif
