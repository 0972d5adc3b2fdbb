/*
 * App passwords: random, shown once, "xxxx-xxxx-xxxx-xxxx".  Each is
 * kept as argon2id (the limits of account passwords) with a salt fixed
 * per account, as the reference salts its scrypt: a login then costs
 * one hash to match any of the account's app passwords, by equality.
 * The 80 random bits make a per-password salt unnecessary.
 *
 * The stored hash is hex behind APPPASS_TAG, which names the limits;
 * bare hex is one derived at the old limits (libsodium's interactive),
 * still matched, with a second hash, while an account has any.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>
#include <sodium.h>
#include <sqlite3.h>

#include "auth.h"
#include "crypto.h"
#include "encoding.h"
#include "log.h"
#include "pdsd.h"

#define APPPASS_TAG	"m12t3$"
#define KEYLEN		(sizeof(APPPASS_TAG) - 1 + PWHASH_DERIVED_LEN * 2 + 1)

/* What the column holds for a derived hash, at the old limits or not. */
static void
apppass_key(const uint8_t *derived, int old, char key[KEYLEN])
{
	size_t	 off = old ? 0 : sizeof(APPPASS_TAG) - 1;

	memcpy(key, APPPASS_TAG, off);
	sodium_bin2hex(key + off, KEYLEN - off, derived, PWHASH_DERIVED_LEN);
}

int
apppass_generate(char pw[AUTH_APPPASS_LEN + 1])
{
	uint8_t	 r[10];
	char	 b[BASE32_ENCLEN(10) + 1];
	int	 i;

	randombytes_buf(r, sizeof(r));
	base32_encode(r, sizeof(r), b, sizeof(b));
	for (i = 0; i < 4; i++) {
		memcpy(pw + i * 5, b + i * 4, 4);
		pw[i * 5 + 4] = i < 3 ? '-' : '\0';
	}
	sodium_memzero(r, sizeof(r));
	sodium_memzero(b, sizeof(b));
	return 0;
}

/* Could this be one of ours?  Others need not be hashed a second time. */
int
apppass_shaped(const char *pw)
{
	int	 i;

	if (strlen(pw) != AUTH_APPPASS_LEN)
		return 0;
	for (i = 0; i < AUTH_APPPASS_LEN; i++) {
		if (i % 5 == 4) {
			if (pw[i] != '-')
				return 0;
		} else if (!((pw[i] >= 'a' && pw[i] <= 'z') ||
		    (pw[i] >= '2' && pw[i] <= '7')))
			return 0;
	}
	return 1;
}

void
apppass_salt(const char *did, uint8_t salt[PWHASH_SALT_LEN])
{
	uint8_t	 h[SHA256_LEN];

	sha256(did, strlen(did), h);
	memcpy(salt, h, PWHASH_SALT_LEN);
}

int
apppass_store(struct sqlite3 *db, const char *did, const char *name,
    const uint8_t *derived, int privileged, char *created, size_t len)
{
	static sqlite3_stmt	*st;
	sqlite3_stmt		*s;
	char			 key[KEYLEN];
	int			 rc;

	if ((s = db_stmt(db, &st, "INSERT INTO app_password (did, name, "
	    "password_hash, privileged, created_at) VALUES (?, ?, ?, ?, "
	    "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) ON CONFLICT DO NOTHING "
	    "RETURNING created_at")) == NULL)
		return -1;
	apppass_key(derived, 0, key);
	sqlite3_bind_text(s, 1, did, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, key, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, privileged != 0);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		strlcpy(created, (const char *)sqlite3_column_text(s, 0), len);
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = 1;
	else {
		log_warnx("app password: %s", sqlite3_errmsg(db));
		rc = -1;
	}
	sqlite3_reset(s);
	return rc;
}

int
apppass_find(struct sqlite3 *db, const char *did, const uint8_t *derived,
    int old, char *name, size_t len, int *privileged)
{
	static sqlite3_stmt	*st;
	sqlite3_stmt		*s;
	char			 key[KEYLEN];
	int			 rc;

	if ((s = db_stmt(db, &st, "SELECT name, privileged FROM app_password "
	    "WHERE did = ? AND password_hash = ?")) == NULL)
		return -1;
	apppass_key(derived, old, key);
	sqlite3_bind_text(s, 1, did, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		strlcpy(name, (const char *)sqlite3_column_text(s, 0), len);
		*privileged = sqlite3_column_int(s, 1);
		rc = 0;
	} else
		rc = rc == SQLITE_DONE ? 1 : -1;
	sqlite3_reset(s);
	return rc;
}

/* The one number a count(*) query of the account's rows gives, or -1. */
static int
count_rows(struct sqlite3 *db, sqlite3_stmt **cache, const char *sql,
    const char *did)
{
	sqlite3_stmt	*s;
	int		 n = -1;

	if ((s = db_stmt(db, cache, sql)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, did, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	return n;
}

int
apppass_count(struct sqlite3 *db, const char *did)
{
	static sqlite3_stmt	*st;

	return count_rows(db, &st, "SELECT count(*) FROM app_password "
	    "WHERE did = ?", did);
}

/* How many of the account's app passwords are at the old limits. */
int
apppass_count_old(struct sqlite3 *db, const char *did)
{
	static sqlite3_stmt	*st;

	return count_rows(db, &st, "SELECT count(*) FROM app_password "
	    "WHERE did = ? AND instr(password_hash, '$') = 0", did);
}

/* The app password and every session made with it, together. */
int
apppass_revoke(struct sqlite3 *db, const char *did, const char *name)
{
	static sqlite3_stmt	*del_pw, *del_tok;
	sqlite3_stmt		*s;

	if (db_begin(db) == -1)
		return -1;
	if ((s = db_stmt(db, &del_pw, "DELETE FROM app_password WHERE "
	    "did = ? AND name = ?")) == NULL)
		goto fail;
	sqlite3_bind_text(s, 1, did, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	if (db_step_done(db, s) == -1)
		goto fail;
	if ((s = db_stmt(db, &del_tok, "DELETE FROM refresh_token WHERE "
	    "did = ? AND app_password_name = ?")) == NULL)
		goto fail;
	sqlite3_bind_text(s, 1, did, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	if (db_step_done(db, s) == -1)
		goto fail;
	return db_commit(db);
 fail:
	db_rollback(db);
	return -1;
}

/* [{name, createdAt, privileged}], newest first; NULL on error. */
struct json_object *
apppass_list(struct sqlite3 *db, const char *did)
{
	static sqlite3_stmt	*st;
	sqlite3_stmt		*s;
	struct json_object	*a, *o;
	int			 rc;

	if ((s = db_stmt(db, &st, "SELECT name, created_at, privileged FROM "
	    "app_password WHERE did = ? ORDER BY created_at DESC")) == NULL)
		return NULL;
	sqlite3_bind_text(s, 1, did, -1, SQLITE_STATIC);
	a = json_object_new_array();
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(
		    (const char *)sqlite3_column_text(s, 0)));
		json_object_object_add(o, "createdAt", json_object_new_string(
		    (const char *)sqlite3_column_text(s, 1)));
		json_object_object_add(o, "privileged",
		    json_object_new_boolean(sqlite3_column_int(s, 2)));
		json_object_array_add(a, o);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		json_object_put(a);
		return NULL;
	}
	return a;
}
