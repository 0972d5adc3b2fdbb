/*
 * An account's life after createAccount: deactivateAccount,
 * activateAccount, checkAccountStatus, requestAccountDelete and
 * deleteAccount; and the email methods, which need a mail transport
 * this server does not have yet.  Every change of status lands in one
 * transaction with the firehose events that announce it.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>
#include <sodium.h>
#include <sqlite3.h>

#include "auth.h"
#include "appview.h"
#include "blob.h"
#include "cid.h"
#include "http.h"
#include "log.h"
#include "pdsd.h"
#include "ratelimit.h"
#include "repo.h"
#include "xrpc.h"

#define DELETE_TOKEN_MAX	64
#define DELETE_PASSWORD_MAX	256	/* the reference's, when set */

#define DEACTIVATE_AUTH		(AUTH_ACCESS_FULL | AUTH_SCOPE_TAKENDOWN)
#define ACTIVATE_AUTH		AUTH_ACCESS_FULL
#define STATUS_AUTH		(AUTH_ACCESS_APP | AUTH_SCOPE_TAKENDOWN)
#define REQUEST_DELETE_AUTH	(AUTH_ACCESS_FULL | AUTH_CHECK_TAKEDOWN)

static void
internal_error(struct http_request *req)
{
	xrpc_error(req, 500, "InternalServerError", "Internal Server Error");
}

/*
 * The account's status column ("active", "deactivated", "takendown",
 * "suspended"): 0 found, 1 no such account, -1 error.  The repository
 * endpoints refuse writes and reads of accounts that are not active.
 */
int
account_status(const char *did, char *status, size_t len)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	int			 rc, rv = -1;

	st = db_stmt(fe->db, &cache, "SELECT status FROM account WHERE did = ?");
	if (st == NULL || sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC) !=
	    SQLITE_OK)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_DONE)
		rv = 1;
	else if (rc == SQLITE_ROW) {
		strlcpy(status, (const char *)sqlite3_column_text(st, 0), len);
		rv = 0;
	}
	sqlite3_reset(st);
	return rv;
}

/* UPDATE account SET status = to WHERE did AND status = from. */
static int
status_move(const char *did, const char *from, const char *to)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;

	st = db_stmt(fe->db, &cache, "UPDATE account SET status = ? "
	    "WHERE did = ? AND status = ?");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, to, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, did, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, from, -1, SQLITE_STATIC);
	return db_step_done(fe->db, st);
}

/* The #account event of the account's current status. */
static int
account_event(const char *did, const char *status)
{
	return events_account(fe->db, did, strcmp(status, "active") == 0 ?
	    NULL : status);
}

static void
finish_tx(struct http_request *req, int ok)
{
	if (!ok || db_commit(fe->db) == -1) {
		if (ok == 0)
			db_rollback(fe->db);
		events_forget_seq();
		internal_error(req);
		return;
	}
	events_notify();
	http_reply(req, 200, NULL, NULL, 0);
}

/*
 * deactivateAccount.  A taken-down account stays taken down (its
 * status wins) but still hears its #account event, as in the
 * reference.  deleteAfter is accepted and not acted on: nothing
 * schedules deletions here.
 */
static void
deactivate_body(struct http_request *req, struct json_object *o)
{
	struct auth	 a;
	char		 status[16];
	int		 ok;

	json_object_put(o);
	if (auth_check(req, DEACTIVATE_AUTH, &a) == -1)
		return;
	if (db_begin(fe->db) == -1) {
		internal_error(req);
		return;
	}
	ok = status_move(a.did, "active", "deactivated") == 0 &&
	    account_status(a.did, status, sizeof(status)) == 0 &&
	    account_event(a.did, status) == 0;
	if (ok)
		log_info("account %s: %s", a.did, status);
	finish_tx(req, ok);
}

void
lifecycle_deactivate(struct http_request *req)
{
	struct auth	 a;

	if (auth_check(req, DEACTIVATE_AUTH, &a) == 0)
		xrpc_read_json(req, XRPC_JSON_MAX, deactivate_body);
}

/* The account key and PDS endpoint of the DID document are ours. */
static const char *
did_doc_problem(const char *did)
{
	static sqlite3_stmt	*cache;
	struct json_object	*doc, *v, *e;
	sqlite3_stmt		*st;
	const char		*problem = NULL, *key = NULL, *url = NULL;
	char			 mine[128] = "";

	if ((doc = identity_did_doc(did)) == NULL)
		return "Could not resolve DID";
	if ((st = db_stmt(fe->db, &cache,
	    "SELECT signing_key FROM account WHERE did = ?")) != NULL) {
		sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			strlcpy(mine, (const char *)sqlite3_column_text(st, 0),
			    sizeof(mine));
		sqlite3_reset(st);
	}
	if (json_object_object_get_ex(doc, "service", &v) &&
	    (e = json_object_array_get_idx(v, 0)) != NULL)
		url = xrpc_json_str(e, "serviceEndpoint");
	if (json_object_object_get_ex(doc, "verificationMethod", &v) &&
	    (e = json_object_array_get_idx(v, 0)) != NULL)
		key = xrpc_json_str(e, "publicKeyMultibase");
	if (url == NULL || strcmp(url, identity_endpoint()) != 0)
		problem = "DID document atproto_pds service endpoint does not "
		    "match PDS public url";
	else if (key == NULL || strncmp(mine, "did:key:", 8) != 0 ||
	    strcmp(key, mine + 8) != 0)
		problem = "DID document verification method does not match "
		    "expected signing key";
	json_object_put(doc);
	return problem;
}

/* #sync with the repository's current commit (inside the transaction). */
static int
sync_event(const char *did)
{
	struct repo_root	 root;
	uint8_t			*data;
	size_t			 len;
	int			 rv;

	if (rstore_get_root(fe->db, did, &root) != 0 ||
	    rstore_get_block(fe->db, did, &root.commit, &data, &len) != 0)
		return -1;
	rv = events_sync(fe->db, did, &root.commit, data, len, root.rev);
	free(data);
	return rv;
}

/* The reference's order: #account, #identity, then #sync. */
void
lifecycle_activate(struct http_request *req)
{
	struct auth		 a;
	struct auth_account	 acct;
	const char		*problem;
	int			 rc, ok;

	if (auth_check(req, ACTIVATE_AUTH, &a) == -1)
		return;
	if ((problem = did_doc_problem(a.did)) != NULL) {
		xrpc_error(req, 400, "InvalidRequest", "%s", problem);
		return;
	}
	if ((rc = auth_account_find(fe->db, a.did, &acct)) != 0) {
		if (rc == 1)
			xrpc_error(req, 400, "AccountNotFound",
			    "user not found");
		else
			internal_error(req);
		return;
	}
	auth_account_clear(&acct);
	if (db_begin(fe->db) == -1) {
		internal_error(req);
		return;
	}
	ok = status_move(a.did, "deactivated", "active") == 0 &&
	    account_status(a.did, acct.status, sizeof(acct.status)) == 0 &&
	    account_event(a.did, acct.status) == 0 &&
	    events_identity(fe->db, a.did, acct.handle[0] != '\0' ?
	    acct.handle : "handle.invalid") == 0 &&
	    sync_event(a.did) == 0;
	if (ok)
		log_info("account %s: %s", a.did, acct.status);
	finish_tx(req, ok);
}

/* SELECT count(*) ... WHERE did = ?: the count, or -1. */
static int64_t
count_of(sqlite3_stmt **cache, const char *sql, const char *did)
{
	sqlite3_stmt	*st;
	int64_t		 n = -1;

	if ((st = db_stmt(fe->db, cache, sql)) == NULL ||
	    sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

/*
 * checkAccountStatus.  Blobs are not kept yet, so both blob counts are
 * zero; nothing is private state.
 */
void
lifecycle_check_status(struct http_request *req)
{
	static sqlite3_stmt	*blocks_c, *records_c;
	struct auth		 a;
	struct repo_root	 root;
	struct json_object	*o;
	char			 status[16], cid[CID_STRSZ];
	int64_t			 nblocks, nrecords;
	int			 rc;

	if (auth_check(req, STATUS_AUTH, &a) == -1)
		return;
	if ((rc = account_status(a.did, status, sizeof(status))) == 1 ||
	    (rc == 0 && (rc = rstore_get_root(fe->db, a.did, &root)) == 1)) {
		xrpc_error(req, 400, "RepoNotFound",
		    "Could not find repo for DID: %s", a.did);
		return;
	}
	nblocks = count_of(&blocks_c,
	    "SELECT count(*) FROM repo_block WHERE did = ?", a.did);
	nrecords = count_of(&records_c,
	    "SELECT count(*) FROM record WHERE did = ?", a.did);
	if (rc == -1 || nblocks == -1 || nrecords == -1 ||
	    cid_to_str(&root.commit, cid, sizeof(cid)) == -1) {
		internal_error(req);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "activated",
	    json_object_new_boolean(strcmp(status, "deactivated") != 0));
	json_object_object_add(o, "validDid",
	    json_object_new_boolean(did_doc_problem(a.did) == NULL));
	json_object_object_add(o, "repoCommit", json_object_new_string(cid));
	json_object_object_add(o, "repoRev", json_object_new_string(root.rev));
	json_object_object_add(o, "repoBlocks", json_object_new_int64(nblocks));
	json_object_object_add(o, "indexedRecords",
	    json_object_new_int64(nrecords));
	json_object_object_add(o, "privateStateValues",
	    json_object_new_int64(0));
	json_object_object_add(o, "expectedBlobs", json_object_new_int64(0));
	json_object_object_add(o, "importedBlobs", json_object_new_int64(0));
	xrpc_reply_json(req, 200, o);
}

/*
 * requestAccountDelete.  With no mail to send the token in, the
 * operator hands it out: pdsctl account delete-token HANDLE.
 */
void
lifecycle_request_delete(struct http_request *req)
{
	struct auth		 a;
	struct json_object	*o;

	if (auth_check(req, REQUEST_DELETE_AUTH, &a) == -1)
		return;
	log_info("account %s asks to be deleted: give it the token of "
	    "\"pdsctl account delete-token\"", a.did);
	o = json_object_new_object();
	json_object_object_add(o, "message", json_object_new_string(
	    "This server sends no email: ask its operator for the account "
	    "deletion token (pdsctl account delete-token HANDLE), then call "
	    "com.atproto.server.deleteAccount with it."));
	xrpc_reply_json(req, 200, o);
}

/*
 * deleteAccount: {did, password, token}, no session needed.
 */
struct acct_del {
	struct http_request	*req;
	char			 did[DID_MAX + 1];
	char			 token[DELETE_TOKEN_MAX + 1];
};

/* A required string field of the body; NULL when answered. */
static const char *
body_str(struct http_request *req, struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		xrpc_error(req, 400, "InvalidRequest",
		    "Input must have the property \"%s\"", key);
	else if (!json_object_is_type(v, json_type_string))
		xrpc_error(req, 400, "InvalidRequest",
		    "Input/%s must be a string", key);
	else
		return json_object_get_string(v);
	return NULL;
}

/*
 * The operator's token for did: 0 valid, 1 wrong, 2 expired, -1 error.
 * expires_at may be Unix seconds or an RFC 3339 time.
 */
static int
token_check(const char *did, const char *token)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	const char		*t;
	char			 now[32];
	size_t			 n = strlen(token);
	int			 rc, rv = 1;

	st = db_stmt(fe->db, &cache, "SELECT token, expires_at FROM "
	    "account_delete_token WHERE did = ?");
	if (st == NULL || sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC) !=
	    SQLITE_OK)
		return -1;
	db_now(now, sizeof(now));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		t = (const char *)sqlite3_column_text(st, 0);
		if (t == NULL || strlen(t) != n ||
		    sodium_memcmp(t, token, n) != 0)
			continue;
		if (sqlite3_column_type(st, 1) == SQLITE_INTEGER)
			rv = sqlite3_column_int64(st, 1) > time(NULL) ? 0 : 2;
		else
			rv = strcmp((const char *)sqlite3_column_text(st, 1),
			    now) > 0 ? 0 : 2;
		break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		rv = -1;
	sqlite3_reset(st);
	return rv;
}

/* Run a statement binding did, inside the transaction. */
static int
exec_did(sqlite3_stmt **cache, const char *sql, const char *did,
    int64_t seq)
{
	sqlite3_stmt	*st;

	if ((st = db_stmt(fe->db, cache, sql)) == NULL ||
	    sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC) != SQLITE_OK)
		return -1;
	if (seq >= 0)
		sqlite3_bind_int64(st, 2, seq);
	return db_step_done(fe->db, st);
}

/*
 * Everything of the account, then its tombstone event, then every
 * older event of that DID: relays that replay the log find nothing of
 * the account but its deletion.
 */
static int
delete_all(const char *did)
{
	static sqlite3_stmt	*c[5];
	int64_t			 seq;

	if (rstore_delete_repo(fe->db, did) == -1 ||
	    appindex_drop_repo(fe->db, did) == -1 ||
	    blob_account_delete(fe->db, did) == -1 ||
	    exec_did(&c[0], "DELETE FROM refresh_token WHERE did = ?", did,
	    -1) == -1 ||
	    exec_did(&c[1], "DELETE FROM app_password WHERE did = ?", did,
	    -1) == -1 ||
	    exec_did(&c[2], "DELETE FROM account_delete_token WHERE did = ?",
	    did, -1) == -1 ||
	    exec_did(&c[3], "DELETE FROM account WHERE did = ?", did,
	    -1) == -1 ||
	    events_account(fe->db, did, "deleted") == -1 ||
	    (seq = events_last_seq(fe->db)) == -1)
		return -1;
	return exec_did(&c[4], "DELETE FROM repo_seq WHERE did = ? AND "
	    "seq < ?", did, seq);
}

/*
 * deleteAccount and pdsctl account delete: the whole account in one
 * transaction, its tombstone announced.  -1 leaves it as it was.
 */
int
account_delete(const char *did)
{
	if (db_begin(fe->db) == -1)
		return -1;
	if (delete_all(did) == -1 || db_commit(fe->db) == -1) {
		db_rollback(fe->db);
		events_forget_seq();
		return -1;
	}
	events_notify();
	log_info("account %s deleted", did);
	return 0;
}

static void
acct_del_verified(void *arg, int ok)
{
	struct acct_del	*d = arg;
	int		 rc;

	if (ok != 1) {
		if (ok == -1)
			internal_error(d->req);
		else
			xrpc_error(d->req, 401, "AuthenticationRequired",
			    "Invalid did or password");
		goto out;
	}
	if ((rc = token_check(d->did, d->token)) != 0) {
		if (rc == 1)
			xrpc_error(d->req, 400, "InvalidToken",
			    "Token is invalid");
		else if (rc == 2)
			xrpc_error(d->req, 400, "ExpiredToken",
			    "Token is expired");
		else
			internal_error(d->req);
		goto out;
	}
	if (account_delete(d->did) == -1)
		internal_error(d->req);
	else
		http_reply(d->req, 200, NULL, NULL, 0);
 out:
	sodium_memzero(d->token, sizeof(d->token));
	free(d);
}

/* Tokens are upper-case base32 with a dash; accept them in any case. */
static int
token_copy(char *dst, const char *src)
{
	size_t	 i;

	if (strlen(src) > DELETE_TOKEN_MAX)
		return -1;
	for (i = 0; src[i] != '\0'; i++)
		dst[i] = toupper((unsigned char)src[i]);
	dst[i] = '\0';
	return 0;
}

static void
delete_body(struct http_request *req, struct json_object *o)
{
	struct auth_account	 acct;
	struct acct_del		*d = NULL;
	const char		*did, *pw, *token, *hash;
	int			 rc = 1;

	if ((did = body_str(req, o, "did")) == NULL ||
	    (pw = body_str(req, o, "password")) == NULL ||
	    (token = body_str(req, o, "token")) == NULL)
		goto out;
	if (strncmp(did, "did:", 4) != 0 ||
	    (rc = auth_account_find(fe->db, did, &acct)) == 1) {
		xrpc_error(req, 400, "InvalidRequest", "account not found");
		goto out;
	}
	if (rc == -1 || pwhash_init(fe->base) == -1 ||
	    (d = calloc(1, sizeof(*d))) == NULL) {
		if (rc == 0)
			auth_account_clear(&acct);
		internal_error(req);
		goto out;
	}
	d->req = req;
	strlcpy(d->did, acct.did, sizeof(d->did));
	if (strlen(pw) > DELETE_PASSWORD_MAX) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Invalid password length.");
		goto fail;
	}
	if (token_copy(d->token, token) == -1) {
		xrpc_error(req, 400, "InvalidToken", "Token is invalid");
		goto fail;
	}
	/* An account without a password matches none. */
	hash = acct.password_hash != NULL ? acct.password_hash : pwhash_dummy;
	if (pwhash_verify_async(hash, pw, acct_del_verified, d) == -1) {
		xrpc_error(req, 503, "NotEnoughResources",
		    "Too many password checks at once; try again");
		goto fail;
	}
	d = NULL;	/* the callback frees it */
 fail:
	free(d);
	auth_account_clear(&acct);
 out:
	json_object_put(o);
}

void
lifecycle_delete(struct http_request *req)
{
	if (ratelimit_request(req, RL_DELETE_ACCOUNT, NULL) == 0)
		xrpc_read_json(req, XRPC_JSON_MAX, delete_body);
}

/*
 * The methods that mail the user something.  Each checks what the
 * reference checks before it would send, then says what is missing.
 */
static const struct {
	const char	*nsid;
	int		 auth;		/* 0: none */
	const char	*hint;
} no_mail[] = {
	{ "com.atproto.server.requestEmailConfirmation",
	    AUTH_ACCESS_APP | AUTH_CHECK_TAKEDOWN, NULL },
	{ "com.atproto.server.confirmEmail",
	    AUTH_ACCESS_APP | AUTH_CHECK_TAKEDOWN, NULL },
	{ "com.atproto.server.requestEmailUpdate",
	    AUTH_ACCESS_FULL | AUTH_CHECK_TAKEDOWN, NULL },
	{ "com.atproto.server.updateEmail",
	    AUTH_ACCESS_FULL | AUTH_CHECK_TAKEDOWN, NULL },
	{ "com.atproto.server.requestPasswordReset", 0,
	    "pdsctl account password HANDLE" },
	{ "com.atproto.server.resetPassword", 0,
	    "pdsctl account password HANDLE" },
};

void
lifecycle_no_mail(struct http_request *req)
{
	const char	*path = http_request_path(req), *nsid;
	struct auth	 a;
	size_t		 i;

	nsid = (nsid = strrchr(path, '/')) != NULL ? nsid + 1 : path;
	for (i = 0; i < sizeof(no_mail) / sizeof(no_mail[0]); i++)
		if (strcmp(no_mail[i].nsid, nsid) == 0)
			break;
	if (i == sizeof(no_mail) / sizeof(no_mail[0])) {
		internal_error(req);
		return;
	}
	if (no_mail[i].auth != 0 && auth_check(req, no_mail[i].auth, &a) == -1)
		return;
	xrpc_error(req, 501, "MethodNotImplemented",
	    "Email is not configured on this server: it has no mail "
	    "transport, so %s cannot send its email.%s%s%s", nsid,
	    no_mail[i].hint != NULL ? " The server's operator can do it "
	    "instead: " : "", no_mail[i].hint != NULL ? no_mail[i].hint : "",
	    no_mail[i].hint != NULL ? "." : "");
}
