/*
 * Invite codes: made by the admin (XRPC with HTTP Basic admin:PASSWORD,
 * or pdsctl), spent by createAccount under "registration invite".  A
 * code is "<hostname, dots as dashes>-xxxxx-xxxxx" in lower-case
 * base32, as the reference makes them, so that it does not read as a
 * link.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>
#include <sodium.h>
#include <sqlite3.h>

#include "auth.h"
#include "encoding.h"
#include "http.h"
#include "log.h"
#include "pds_imsg.h"
#include "pdsd.h"
#include "syntax.h"
#include "xrpc.h"

#define INVITE_TOKEN_BYTES	8	/* 13 base32 characters; we keep 10 */
#define INVITE_BATCH_MAX	1000	/* codes one createInviteCodes makes */
#define INVITE_ACCOUNTS_MAX	100	/* forAccounts */
#define ADMIN_AUTH_MAX		1024	/* "admin:password", decoded */

#define NSID_CODES	"com.atproto.server.getAccountInviteCodes"

int
invite_generate(char *buf, size_t len)
{
	uint8_t	 rnd[INVITE_TOKEN_BYTES];
	char	 tok[BASE32_ENCLEN(INVITE_TOKEN_BYTES) + 1];
	char	*p;
	int	 n;

	randombytes_buf(rnd, sizeof(rnd));
	base32_encode(rnd, sizeof(rnd), tok, sizeof(tok));
	n = snprintf(buf, len, "%s-%.5s-%.5s", fe->cfg.hostname, tok, tok + 5);
	if (n < 0 || (size_t)n >= len)
		return -1;
	for (p = buf; p < buf + n - 12; p++)
		if (*p == '.')
			*p = '-';
	return 0;
}

int
invite_create(sqlite3 *db, const char *for_account, const char *created_by,
    int uses, char *code, size_t len)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	char			 now[32];

	if (uses < 0 || uses > INVITE_USES_MAX ||
	    invite_generate(code, len) == -1)
		return -1;
	db_now(now, sizeof(now));
	if ((st = db_stmt(db, &cache, "INSERT INTO invite_code (code, "
	    "available_uses, disabled, for_account, created_by, created_at) "
	    "VALUES (?, ?, 0, ?, ?, ?)")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, uses);
	sqlite3_bind_text(st, 3, for_account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, created_by, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	return db_step_done(db, st);
}

int
invite_available(sqlite3 *db, const char *code)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	int			 rc, ok = 0;

	/* A code given by an account that was since taken down is void. */
	if ((st = db_stmt(db, &cache, "SELECT c.available_uses > "
	    "(SELECT count(*) FROM invite_use u WHERE u.code = c.code) "
	    "FROM invite_code c LEFT JOIN account a ON a.did = c.for_account "
	    "WHERE c.code = ? AND c.disabled = 0 AND "
	    "(a.status IS NULL OR a.status <> 'takendown')")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		ok = sqlite3_column_int(st, 0) != 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	return ok;
}

int
invite_use(sqlite3 *db, const char *code, const char *did)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	char			 now[32];
	int			 r;

	/* Checked again here: another account may have spent it meanwhile. */
	if ((r = invite_available(db, code)) != 1)
		return r == 0 ? 1 : -1;
	db_now(now, sizeof(now));
	if ((st = db_stmt(db, &cache, "INSERT INTO invite_use (code, used_by, "
	    "used_at) VALUES (?, ?, ?)")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, did, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	return db_step_done(db, st);
}

#define INVITE_COLUMNS	"SELECT c.code, c.available_uses, c.disabled, " \
	"c.for_account, c.created_by, c.created_at, (SELECT count(*) FROM " \
	"invite_use u WHERE u.code = c.code) FROM invite_code c "

/*
 * The admin endpoints.  Without "admin password" in pdsd.conf nobody is
 * the admin: every request is refused as one with a wrong password.
 */
static int
admin_check(struct http_request *req)
{
	const char	*h, *colon;
	char		 dec[ADMIN_AUTH_MAX + 1];
	uint8_t		 want[32], got[32];
	const char	*pw = fe->cfg.admin_password;
	size_t		 hl;
	int		 n, ok;

	h = http_request_header(req, "Authorization");
	if (h == NULL || strncmp(h, "Basic ", 6) != 0 || pw[0] == '\0' ||
	    strnlen(pw, sizeof(fe->cfg.admin_password)) ==
	    sizeof(fe->cfg.admin_password))
		goto refuse;
	h += 6;
	hl = strlen(h);
	if (hl > BASE64_ENCLEN(ADMIN_AUTH_MAX) + 2 ||
	    (n = base64_decode(h, hl, dec, ADMIN_AUTH_MAX)) == -1)
		goto refuse;
	dec[n] = '\0';
	if ((colon = memchr(dec, ':', n)) == NULL ||
	    colon - dec != 5 || strncmp(dec, "admin", 5) != 0)
		goto refuse;
	/* Equal-length digests: the comparison says nothing of the length. */
	crypto_generichash(want, sizeof(want), (const uint8_t *)pw,
	    strlen(pw), NULL, 0);
	crypto_generichash(got, sizeof(got), (const uint8_t *)colon + 1,
	    n - (colon + 1 - dec), NULL, 0);
	ok = sodium_memcmp(want, got, sizeof(want)) == 0;
	sodium_memzero(dec, sizeof(dec));
	if (ok)
		return 0;
 refuse:
	xrpc_error(req, 401, "AuthenticationRequired",
	    "Authentication Required");
	return -1;
}

/* An integer body field: 1 present, 0 absent (def), -1 answered. */
static int
body_int(struct http_request *req, struct json_object *o, const char *key,
    int required, int min, int max, int *out)
{
	struct json_object	*v;
	int64_t			 n;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL) {
		if (!required)
			return 0;
		xrpc_error(req, 400, "InvalidRequest",
		    "Missing required key \"%s\" at $", key);
		return -1;
	}
	if (!json_object_is_type(v, json_type_int)) {
		xrpc_error(req, 400, "InvalidRequest", "Expected integer value "
		    "type (got %.64s) at $.%s", json_object_to_json_string_ext(v,
		    JSON_C_TO_STRING_PLAIN), key);
		return -1;
	}
	n = json_object_get_int64(v);
	if (n < min || n > max) {
		xrpc_error(req, 400, "InvalidRequest", "integer %s (%s %d, got "
		    "%lld) at $.%s", n < min ? "too small" : "too big",
		    n < min ? "minimum" : "maximum", n < min ? min : max,
		    (long long)n, key);
		return -1;
	}
	*out = (int)n;
	return 1;
}

/* A DID in the body (path names it in errors); NULL when answered. */
static const char *
body_did(struct http_request *req, struct json_object *v, const char *path)
{
	const char	*s;

	if (!json_object_is_type(v, json_type_string)) {
		xrpc_error(req, 400, "InvalidRequest", "Expected string value "
		    "type (got %.64s) at %s", json_object_to_json_string_ext(v,
		    JSON_C_TO_STRING_PLAIN), path);
		return NULL;
	}
	s = json_object_get_string(v);
	if (!syntax_is_did(s, strlen(s))) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Invalid DID (got \"%.256s\") at %s", s, path);
		return NULL;
	}
	return s;
}

static void
invite_create_body(struct http_request *req, struct json_object *o)
{
	struct json_object	*v, *res;
	const char		*acct = "admin";
	char			 code[INVITE_CODE_MAX + 1];
	int			 uses;

	if (admin_check(req) == -1 || body_int(req, o, "useCount", 1, 0,
	    INVITE_USES_MAX, &uses) == -1)
		goto out;
	if (json_object_object_get_ex(o, "forAccount", &v) && v != NULL &&
	    (acct = body_did(req, v, "$.forAccount")) == NULL)
		goto out;
	if (invite_create(fe->db, acct, "admin", uses, code,
	    sizeof(code)) == -1) {
		xrpc_error(req, 500, "InternalServerError",
		    "Internal Server Error");
		goto out;
	}
	res = json_object_new_object();
	json_object_object_add(res, "code", json_object_new_string(code));
	xrpc_reply_json(req, 200, res);
 out:
	json_object_put(o);
}

void
invite_xrpc_create(struct http_request *req)
{
	/* Refuse before reading the body; the body callback checks again. */
	if (admin_check(req) == 0)
		xrpc_read_json(req, XRPC_JSON_MAX, invite_create_body);
}

/* forAccounts, checked: 0 (*list NULL when absent), -1 answered. */
static int
invite_accounts(struct http_request *req, struct json_object *o,
    struct json_object **list)
{
	char	 path[48];
	size_t	 i, n;

	*list = NULL;
	if (!json_object_object_get_ex(o, "forAccounts", list) ||
	    *list == NULL)
		return 0;
	if (!json_object_is_type(*list, json_type_array)) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Expected array value type at $.forAccounts");
		return -1;
	}
	if ((n = json_object_array_length(*list)) > INVITE_ACCOUNTS_MAX) {
		xrpc_error(req, 400, "InvalidRequest", "Array too long "
		    "(maximum %d, got %zu) at $.forAccounts",
		    INVITE_ACCOUNTS_MAX, n);
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "$.forAccounts[%zu]", i);
		if (body_did(req, json_object_array_get_idx(*list, i),
		    path) == NULL)
			return -1;
	}
	return 0;
}

/* codeCount codes for one account into out; -1 on a database error. */
static int
invite_batch(const char *acct, int count, int uses, struct json_object *out)
{
	struct json_object	*entry, *codes;
	char			 code[INVITE_CODE_MAX + 1];
	int			 i;

	entry = json_object_new_object();
	codes = json_object_new_array();
	json_object_object_add(entry, "account", json_object_new_string(acct));
	json_object_object_add(entry, "codes", codes);
	json_object_array_add(out, entry);
	for (i = 0; i < count; i++) {
		if (invite_create(fe->db, acct, "admin", uses, code,
		    sizeof(code)) == -1)
			return -1;
		json_object_array_add(codes, json_object_new_string(code));
	}
	return 0;
}

static void
invite_create_many_body(struct http_request *req, struct json_object *o)
{
	struct json_object	*accts, *out, *res;
	size_t			 i, n;
	int			 count = 1, uses, rv = 0;

	if (admin_check(req) == -1 || body_int(req, o, "codeCount", 0, 1,
	    INVITE_BATCH_MAX, &count) == -1 || body_int(req, o, "useCount",
	    1, 0, INVITE_USES_MAX, &uses) == -1 ||
	    invite_accounts(req, o, &accts) == -1)
		goto out;
	n = accts != NULL ? json_object_array_length(accts) : 1;
	if ((size_t)count * n > INVITE_BATCH_MAX) {
		xrpc_error(req, 400, "InvalidRequest", "At most %d codes at "
		    "once", INVITE_BATCH_MAX);
		goto out;
	}
	out = json_object_new_array();
	/* All or nothing: one transaction for the batch. */
	if (db_begin(fe->db) == -1)
		rv = -1;
	for (i = 0; i < n && rv == 0; i++)
		rv = invite_batch(accts != NULL ? json_object_get_string(
		    json_object_array_get_idx(accts, i)) : "admin", count,
		    uses, out);
	if (rv == 0 && db_commit(fe->db) == -1)
		rv = -1;
	if (rv == -1) {
		db_rollback(fe->db);
		json_object_put(out);
		xrpc_error(req, 500, "InternalServerError",
		    "Internal Server Error");
		goto out;
	}
	res = json_object_new_object();
	json_object_object_add(res, "codes", out);
	xrpc_reply_json(req, 200, res);
 out:
	json_object_put(o);
}

void
invite_xrpc_create_many(struct http_request *req)
{
	if (admin_check(req) == 0)
		xrpc_read_json(req, XRPC_JSON_MAX, invite_create_many_body);
}

/* The uses of one code, newest first. */
static struct json_object *
invite_uses_json(const char *code)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct json_object	*a, *u;

	if ((st = db_stmt(fe->db, &cache, "SELECT used_by, used_at FROM "
	    "invite_use WHERE code = ? ORDER BY used_at DESC")) == NULL)
		return NULL;
	sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
	a = json_object_new_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		u = json_object_new_object();
		json_object_object_add(u, "usedBy", json_object_new_string(
		    (const char *)sqlite3_column_text(st, 0)));
		json_object_object_add(u, "usedAt", json_object_new_string(
		    (const char *)sqlite3_column_text(st, 1)));
		json_object_array_add(a, u);
	}
	sqlite3_reset(st);
	return a;
}

static void
add_str(struct json_object *o, const char *key, sqlite3_stmt *st, int col)
{
	json_object_object_add(o, key, json_object_new_string(
	    (const char *)sqlite3_column_text(st, col)));
}

/* A row of INVITE_COLUMNS as the lexicon's inviteCode. */
static struct json_object *
invite_json(sqlite3_stmt *st)
{
	struct json_object	*c, *uses;

	if ((uses = invite_uses_json((const char *)sqlite3_column_text(st,
	    0))) == NULL)
		return NULL;
	c = json_object_new_object();
	add_str(c, "code", st, 0);
	json_object_object_add(c, "available",
	    json_object_new_int(sqlite3_column_int(st, 1)));
	json_object_object_add(c, "disabled",
	    json_object_new_boolean(sqlite3_column_int(st, 2)));
	add_str(c, "forAccount", st, 3);
	add_str(c, "createdBy", st, 4);
	add_str(c, "createdAt", st, 5);
	json_object_object_add(c, "uses", uses);
	return c;
}

/*
 * The codes given to the caller.  Codes are never made here on demand
 * (createAvailable): this server has no per-account invite allowance.
 */
void
invite_xrpc_account_codes(struct http_request *req)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct auth		 a;
	struct json_object	*codes, *c, *o;
	int			 used, create, rc;

	if (auth_check(req, AUTH_ACCESS_FULL | AUTH_CHECK_TAKEDOWN, &a) == -1 ||
	    (rc = xrpc_param_bool(req, NSID_CODES, "includeUsed", &used)) ==
	    -1 || xrpc_param_bool(req, NSID_CODES, "createAvailable",
	    &create) == -1)
		return;
	if (rc == 0)
		used = 1;	/* the lexicon's default */
	if ((st = db_stmt(fe->db, &cache, INVITE_COLUMNS
	    "WHERE c.for_account = ? ORDER BY c.created_at, c.code")) == NULL) {
		xrpc_error(req, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	sqlite3_bind_text(st, 1, a.did, -1, SQLITE_TRANSIENT);
	codes = json_object_new_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_int(st, 2) || (!used &&
		    sqlite3_column_int(st, 6) >= sqlite3_column_int(st, 1)))
			continue;
		if ((c = invite_json(st)) == NULL) {
			rc = SQLITE_ERROR;
			break;
		}
		json_object_array_add(codes, c);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_object_put(codes);
		xrpc_error(req, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "codes", codes);
	xrpc_reply_json(req, 200, o);
}
