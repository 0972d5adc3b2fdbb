/*
 * Session tokens as the reference PDS makes them: HS256 JWTs under a
 * per-server secret, access tokens for two hours, refresh tokens for 90
 * days whose ids are kept in the database and rotated on use.  And
 * auth_check, the one gate every authenticated method goes through.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json.h>
#include <sodium.h>
#include <sqlite3.h>

#include "auth.h"
#include "encoding.h"
#include "http.h"
#include "jwt.h"
#include "log.h"
#include "pdsd.h"

#define TYP_ACCESS	"at+jwt"
#define TYP_REFRESH	"refresh+jwt"

static uint8_t	*jwt_key;	/* sodium_malloc'd, read-only */

static const struct {
	int		 bit;
	const char	*name;
} scopes[] = {
	{ AUTH_SCOPE_ACCESS,	"com.atproto.access" },
	{ AUTH_SCOPE_APPPASS,	"com.atproto.appPass" },
	{ AUTH_SCOPE_APPPRIV,	"com.atproto.appPassPrivileged" },
	{ AUTH_SCOPE_REFRESH,	"com.atproto.refresh" },
	{ AUTH_SCOPE_TAKENDOWN,	"com.atproto.takendown" },
};

static int	 key_read(int, uint8_t *);
static int	 key_create(const char *, uint8_t *);
static const uint8_t *auth_key(void);
static int	 scope_bit(const char *);
static const char *scope_name(int);
static char	*mint(const char *, const char *, int, const char *, time_t,
		    time_t);
static int	 mint_pair(const char *, int, const char *, time_t,
		    struct auth_tokens *);
static int	 refresh_store(struct sqlite3 *, const char *, const char *,
		    const char *, time_t);
static void	 new_jti(char [AUTH_JTI_LEN + 1]);
static int	 verify_claims(const struct jwt_claims *, int, struct auth *,
		    const char **);
static int	 verify_account(struct sqlite3 *, const char *, int, int *,
		    const char **, const char **);
static int	 rotate_locked(struct sqlite3 *, const char *, time_t,
		    struct auth_tokens *);

/*
 * The secret.
 */
static int
key_read(int fd, uint8_t *key)
{
	ssize_t	 n;
	uint8_t	 extra;

	if ((n = read(fd, key, JWT_KEYLEN)) != JWT_KEYLEN ||
	    read(fd, &extra, 1) != 0) {
		log_warnx("jwt key: not %d bytes", JWT_KEYLEN);
		return -1;
	}
	return 0;
}

static int
key_create(const char *path, uint8_t *key)
{
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1) {
		log_warn("create %s", path);
		return -1;
	}
	randombytes_buf(key, JWT_KEYLEN);
	if (write(fd, key, JWT_KEYLEN) != JWT_KEYLEN || fsync(fd) == -1) {
		log_warn("write %s", path);
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	log_info("created the session token key %s", path);
	return 0;
}

int
auth_init(const char *dir)
{
	char		 path[PATH_MAX];
	struct stat	 st;
	int		 fd, rc;

	if (jwt_key != NULL)
		return 0;
	if (sodium_init() == -1 ||
	    snprintf(path, sizeof(path), "%s/%s", dir, AUTH_KEY_FILE) >=
	    (int)sizeof(path) || (jwt_key = sodium_malloc(JWT_KEYLEN)) == NULL)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		rc = errno == ENOENT ? key_create(path, jwt_key) : -1;
		if (rc == -1 && errno != ENOENT)
			log_warn("open %s", path);
	} else {
		if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0)
			log_warnx("%s is readable by others: fix its mode",
			    path);
		rc = key_read(fd, jwt_key);
		close(fd);
	}
	if (rc == -1) {
		sodium_free(jwt_key);
		jwt_key = NULL;
		return -1;
	}
	sodium_mprotect_readonly(jwt_key);
	return 0;
}

void
auth_shutdown(void)
{
	if (jwt_key != NULL)
		sodium_free(jwt_key);
	jwt_key = NULL;
}

/* The key of the frontend: next to its database (chrooted or not). */
int
auth_init_default(void)
{
	char	 path[PATH_MAX];

	if (jwt_key != NULL)
		return 0;
	strlcpy(path, fe->dbpath, sizeof(path));
	return auth_init(dirname(path));
}

static const uint8_t *
auth_key(void)
{
	if (jwt_key == NULL && auth_init_default() == -1)
		return NULL;
	return jwt_key;
}

const char *
auth_service_did(void)
{
	static char	 did[8 + PDSD_HOST_MAX + 1];

	snprintf(did, sizeof(did), "did:web:%s", fe->cfg.hostname);
	return did;
}

/*
 * Minting.
 */
static int
scope_bit(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
		if (strcmp(scopes[i].name, name) == 0)
			return scopes[i].bit;
	return 0;
}

static const char *
scope_name(int bit)
{
	size_t	 i;

	for (i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
		if (scopes[i].bit == bit)
			return scopes[i].name;
	return NULL;
}

static void
new_jti(char jti[AUTH_JTI_LEN + 1])
{
	uint8_t	 r[32];

	randombytes_buf(r, sizeof(r));
	base64_encode(r, sizeof(r), jti, AUTH_JTI_LEN + 1);
}

/* One token; the claims in the reference's order.  jti: refresh only. */
static char *
mint(const char *typ, const char *did, int scope, const char *jti,
    time_t now, time_t ttl)
{
	struct json_object	*h, *p;
	const uint8_t		*key;
	char			*tok = NULL;

	if ((key = auth_key()) == NULL)
		return NULL;
	h = json_object_new_object();
	json_object_object_add(h, "typ", json_object_new_string(typ));
	json_object_object_add(h, "alg", json_object_new_string("HS256"));
	p = json_object_new_object();
	json_object_object_add(p, "scope",
	    json_object_new_string(scope_name(scope)));
	json_object_object_add(p, "aud",
	    json_object_new_string(auth_service_did()));
	json_object_object_add(p, "sub", json_object_new_string(did));
	if (jti != NULL)
		json_object_object_add(p, "jti", json_object_new_string(jti));
	json_object_object_add(p, "iat", json_object_new_int64(now));
	json_object_object_add(p, "exp", json_object_new_int64(now + ttl));
	tok = jwt_hs256_sign(key, json_object_to_json_string_ext(h,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
	    json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(h);
	json_object_put(p);
	return tok;
}

static int
mint_pair(const char *did, int scope, const char *jti, time_t now,
    struct auth_tokens *t)
{
	t->access = mint(TYP_ACCESS, did, scope, NULL, now, AUTH_ACCESS_TTL);
	t->refresh = mint(TYP_REFRESH, did, AUTH_SCOPE_REFRESH, jti, now,
	    AUTH_REFRESH_TTL);
	if (t->access == NULL || t->refresh == NULL) {
		auth_tokens_free(t);
		return -1;
	}
	return 0;
}

void
auth_tokens_free(struct auth_tokens *t)
{
	free(t->access);
	free(t->refresh);
	t->access = t->refresh = NULL;
}

/* A refresh id; kept as it is when it exists (a reuse in the grace). */
static int
refresh_store(struct sqlite3 *db, const char *jti, const char *did,
    const char *app, time_t expires)
{
	static sqlite3_stmt	*st;
	sqlite3_stmt		*s;

	s = db_stmt(db, &st, "INSERT OR IGNORE INTO refresh_token "
	    "(id, did, app_password_name, expires_at) VALUES (?, ?, ?, ?)");
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, jti, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, did, -1, SQLITE_STATIC);
	if (app != NULL)
		sqlite3_bind_text(s, 3, app, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, expires);
	return db_step_done(db, s);
}

/*
 * A new session.  A taken-down account's refresh token is not stored,
 * so it cannot be rotated, as in the reference.
 */
int
auth_session_create(struct sqlite3 *db, const char *did, const char *app,
    int scope, time_t now, struct auth_tokens *t)
{
	char	 jti[AUTH_JTI_LEN + 1];

	memset(t, 0, sizeof(*t));
	new_jti(jti);
	if (scope_name(scope) == NULL || scope == AUTH_SCOPE_REFRESH ||
	    mint_pair(did, scope, jti, now, t) == -1)
		return -1;
	if (scope != AUTH_SCOPE_TAKENDOWN &&
	    refresh_store(db, jti, did, app, now + AUTH_REFRESH_TTL) == -1) {
		auth_tokens_free(t);
		return -1;
	}
	return 0;
}

/* Inside the transaction: see auth_session_refresh. */
static int
rotate_locked(struct sqlite3 *db, const char *jti, time_t now,
    struct auth_tokens *t)
{
	static sqlite3_stmt	*sel, *del, *upd;
	sqlite3_stmt		*s;
	char			 did[DID_MAX + 1], next[AUTH_JTI_LEN + 1];
	char			 app[AUTH_APPPASS_NAME_MAX + 1];
	int64_t			 expires;
	int			 scope, rc;

	if ((s = db_stmt(db, &sel, "SELECT r.did, r.app_password_name, "
	    "r.expires_at, r.next_id, a.privileged FROM refresh_token r "
	    "LEFT JOIN app_password a ON a.did = r.did AND "
	    "a.name = r.app_password_name WHERE r.id = ?")) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, jti, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		sqlite3_reset(s);
		return rc == SQLITE_DONE ? 1 : -1;
	}
	strlcpy(did, (const char *)sqlite3_column_text(s, 0), sizeof(did));
	app[0] = '\0';
	scope = AUTH_SCOPE_ACCESS;
	if (sqlite3_column_type(s, 1) != SQLITE_NULL) {
		strlcpy(app, (const char *)sqlite3_column_text(s, 1),
		    sizeof(app));
		scope = sqlite3_column_int(s, 4) ? AUTH_SCOPE_APPPRIV :
		    AUTH_SCOPE_APPPASS;
	}
	expires = sqlite3_column_int64(s, 2);
	if (sqlite3_column_type(s, 3) != SQLITE_NULL)
		strlcpy(next, (const char *)sqlite3_column_text(s, 3),
		    sizeof(next));
	else
		new_jti(next);
	sqlite3_reset(s);

	/* Tidy the account's dead tokens while we are here. */
	if ((s = db_stmt(db, &del, "DELETE FROM refresh_token WHERE did = ? "
	    "AND expires_at <= ?")) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, did, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	if (db_step_done(db, s) == -1)
		return -1;
	/* Spent: it lives on only for the grace period. */
	if (expires > now + AUTH_REFRESH_GRACE)
		expires = now + AUTH_REFRESH_GRACE;
	if (expires <= now)
		return 1;
	if ((s = db_stmt(db, &upd, "UPDATE refresh_token SET expires_at = ?, "
	    "next_id = ? WHERE id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, expires);
	sqlite3_bind_text(s, 2, next, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, jti, -1, SQLITE_STATIC);
	if (db_step_done(db, s) == -1 ||
	    mint_pair(did, scope, next, now, t) == -1)
		return -1;
	if (refresh_store(db, next, did, app[0] != '\0' ? app : NULL,
	    now + AUTH_REFRESH_TTL) == -1) {
		auth_tokens_free(t);
		return -1;
	}
	return 0;
}

/*
 * Rotation as the reference does it: the spent token's life is cut to
 * the grace period and it remembers its successor, so a second use
 * within the grace (two tabs refreshing at once) gets the same
 * successor id instead of a failure.
 */
int
auth_session_refresh(struct sqlite3 *db, const char *jti, time_t now,
    struct auth_tokens *t)
{
	int	 rc;

	memset(t, 0, sizeof(*t));
	if (db_begin(db) == -1)
		return -1;
	rc = rotate_locked(db, jti, now, t);
	if (rc == -1) {
		db_rollback(db);
		return -1;
	}
	if (db_commit(db) == -1) {
		auth_tokens_free(t);
		return -1;
	}
	return rc;
}

int
auth_session_revoke(struct sqlite3 *db, const char *jti)
{
	static sqlite3_stmt	*st;
	sqlite3_stmt		*s;

	if ((s = db_stmt(db, &st, "DELETE FROM refresh_token WHERE id = ?"))
	    == NULL)
		return -1;
	sqlite3_bind_text(s, 1, jti, -1, SQLITE_STATIC);
	return db_step_done(db, s);
}

/*
 * Verification.
 */
#define E_INVALID	"Token could not be verified"
#define E_MALFORMED	"Malformed token"

static int	column_copy(sqlite3_stmt *, int, char *, size_t);

static int
verify_claims(const struct jwt_claims *c, int want, struct auth *a,
    const char **msg)
{
	const char	*typ = (want & AUTH_SCOPE_REFRESH) ? TYP_REFRESH :
			    TYP_ACCESS;

	/* The reference lets a token without typ through to the scope. */
	if ((c->typ[0] != '\0' && strcmp(c->typ, typ) != 0) ||
	    strcmp(c->aud, auth_service_did()) != 0) {
		*msg = E_INVALID;
		return -1;
	}
	if (c->has_lxm || c->has_cnf ||
	    !syntax_is_did(c->sub, strlen(c->sub)) ||
	    strlen(c->jti) > AUTH_JTI_LEN) {
		*msg = E_MALFORMED;
		return -1;
	}
	if ((a->scope = scope_bit(c->scope)) == 0 ||
	    (a->scope & want & AUTH_SCOPES) == 0) {
		*msg = "Bad token scope";
		return -1;
	}
	strlcpy(a->did, c->sub, sizeof(a->did));
	strlcpy(a->jti, c->jti, sizeof(a->jti));
	return 0;
}

/*
 * Only the status, by primary key: behind every authenticated request,
 * so no handle lookup and no copy of the password hash.
 */
static int
status_by_did(struct sqlite3 *db, const char *did, struct auth_account *a)
{
	static sqlite3_stmt	*st;
	sqlite3_stmt		*s;
	int			 rc;

	memset(a, 0, sizeof(*a));
	if ((s = db_stmt(db, &st, "SELECT status FROM account "
	    "WHERE did = ?1")) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, did, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		strlcpy(a->did, did, sizeof(a->did));
		rc = column_copy(s, 0, a->status, sizeof(a->status));
	} else
		rc = rc == SQLITE_DONE ? 1 : -1;
	sqlite3_reset(s);
	return rc;
}

/* The account checks a method asked for. */
static int
verify_account(struct sqlite3 *db, const char *did, int want, int *status,
    const char **err, const char **msg)
{
	struct auth_account	 acct;
	int			 rc;

	if ((want & (AUTH_CHECK_TAKEDOWN | AUTH_CHECK_DEACTIVATED)) == 0)
		return 0;
	rc = status_by_did(db, did, &acct);
	if (rc == -1) {
		*status = 500;
		*err = "InternalServerError";
		*msg = "Internal Server Error";
	} else if (rc == 1) {
		*status = 403;
		*err = "AccountNotFound";
		*msg = "Account not found";
	} else if ((want & AUTH_CHECK_TAKEDOWN) &&
	    auth_account_takendown(&acct)) {
		*status = 401;
		*err = "AccountTakedown";
		*msg = "Account has been taken down";
	} else if ((want & AUTH_CHECK_DEACTIVATED) &&
	    strcmp(acct.status, "deactivated") == 0) {
		*status = 401;
		*err = "AccountDeactivated";
		*msg = "Account is deactivated";
	} else
		return 0;
	return -1;
}

int
auth_verify_token(struct sqlite3 *db, const char *tok, size_t len, int want,
    time_t now, struct auth *a, int *status, const char **err,
    const char **msg)
{
	struct jwt_claims	 c;
	const uint8_t		*key;

	memset(a, 0, sizeof(*a));
	*status = 400;
	*err = "InvalidToken";
	*msg = E_INVALID;
	if ((key = auth_key()) == NULL) {
		*status = 500;
		*err = "InternalServerError";
		*msg = "Internal Server Error";
		return -1;
	}
	if (jwt_hs256_verify(key, tok, len, &c) == -1)
		return -1;
	if (!(want & AUTH_ALLOW_EXPIRED) && jwt_expired(&c, now)) {
		*err = "ExpiredToken";
		*msg = "Token has expired";
		return -1;
	}
	if (verify_claims(&c, want, a, msg) == -1)
		return -1;
	if ((want & AUTH_SCOPE_REFRESH) && a->jti[0] == '\0') {
		*status = 401;
		*err = "MissingTokenId";
		*msg = "Unexpected missing refresh token id";
		return -1;
	}
	return verify_account(db, a->did, want, status, err, msg);
}

int
auth_check(struct http_request *req, int want, struct auth *a)
{
	const char	*h = http_request_header(req, "Authorization");
	const char	*sp, *err, *msg;
	char		 m[128];
	int		 status;

	memset(a, 0, sizeof(*a));
	if (h == NULL || *h == '\0') {
		http_reply_json_error(req, 401, "AuthMissing",
		    "Authentication Required");
		return -1;
	}
	/* "<scheme> <token>": exactly one space, as the reference splits. */
	if ((sp = strchr(h, ' ')) == NULL || strchr(sp + 1, ' ') != NULL) {
		http_reply_json_error(req, 400, "InvalidToken",
		    "Malformed authorization header");
		return -1;
	}
	if (sp - h != 6 || strncasecmp(h, "Bearer", 6) != 0) {
		if ((sp - h == 5 && strncasecmp(h, "Basic", 5) == 0) ||
		    (sp - h == 4 && strncasecmp(h, "DPoP", 4) == 0))
			snprintf(m, sizeof(m), "Unexpected authorization type");
		else
			snprintf(m, sizeof(m), "Unsupported authorization "
			    "type: %.*s", (int)(sp - h > 64 ? 64 : sp - h), h);
		http_reply_json_error(req, 400, "InvalidToken", m);
		return -1;
	}
	if (auth_verify_token(fe->db, sp + 1, strlen(sp + 1), want,
	    time(NULL), a, &status, &err, &msg) == -1) {
		http_reply_json_error(req, status, err, msg);
		return -1;
	}
	return 0;
}

/*
 * Accounts, as sessions see them.
 */
static int
column_copy(sqlite3_stmt *s, int col, char *buf, size_t len)
{
	const unsigned char	*t = sqlite3_column_text(s, col);

	buf[0] = '\0';
	if (t != NULL && strlcpy(buf, (const char *)t, len) >= len)
		return -1;
	return 0;
}

int
auth_account_find(struct sqlite3 *db, const char *ident,
    struct auth_account *a)
{
	static sqlite3_stmt	*by_email, *by_did, *by_name;
	sqlite3_stmt		*s;
	char			 id[DID_MAX + 1];
	size_t			 i;
	int			 rc;

	memset(a, 0, sizeof(*a));
	if (strlcpy(id, ident, sizeof(id)) >= sizeof(id))
		return 1;
	for (i = 0; id[i] != '\0'; i++)
		if (id[i] >= 'A' && id[i] <= 'Z')
			id[i] += 'a' - 'A';
	if (strchr(id, '@') != NULL)
		s = db_stmt(db, &by_email, "SELECT did, handle, email, status, "
		    "password_hash FROM account WHERE email = ?1");
	else if (strncmp(id, "did:", 4) == 0)	/* never a handle */
		s = db_stmt(db, &by_did, "SELECT did, handle, email, status, "
		    "password_hash FROM account WHERE did = ?1");
	else
		s = db_stmt(db, &by_name, "SELECT did, handle, email, status, "
		    "password_hash FROM account WHERE did = ?1 OR handle = ?1");
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		sqlite3_reset(s);
		return rc == SQLITE_DONE ? 1 : -1;
	}
	rc = 0;
	if (column_copy(s, 0, a->did, sizeof(a->did)) == -1 ||
	    column_copy(s, 1, a->handle, sizeof(a->handle)) == -1 ||
	    column_copy(s, 2, a->email, sizeof(a->email)) == -1 ||
	    column_copy(s, 3, a->status, sizeof(a->status)) == -1)
		rc = -1;
	if (rc == 0 && sqlite3_column_type(s, 4) != SQLITE_NULL &&
	    (a->password_hash = strdup((const char *)
	    sqlite3_column_text(s, 4))) == NULL)
		rc = -1;
	sqlite3_reset(s);
	if (rc == -1)
		auth_account_clear(a);
	return rc;
}

int
auth_password_rehash(struct sqlite3 *db, const char *did, const char *old,
    const char *hash)
{
	static sqlite3_stmt	*st;
	sqlite3_stmt		*s;

	if ((s = db_stmt(db, &st, "UPDATE account SET password_hash = ?3 "
	    "WHERE did = ?1 AND password_hash = ?2")) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, did, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, old, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, hash, -1, SQLITE_STATIC);
	return db_step_done(db, s);
}

void
auth_account_clear(struct auth_account *a)
{
	free(a->password_hash);
	a->password_hash = NULL;
}

int
auth_account_active(const struct auth_account *a)
{
	return strcmp(a->status, "active") == 0;
}

int
auth_account_takendown(const struct auth_account *a)
{
	return strcmp(a->status, "takendown") == 0 ||
	    strcmp(a->status, "suspended") == 0;
}
