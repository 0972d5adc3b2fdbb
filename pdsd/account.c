/*
 * com.atproto.server.createAccount: check the request as the reference
 * does, hash the password off the loop, have signerd make the repo key
 * and sign the did:plc genesis operation, then create the empty
 * repository; the account row lands in the same transaction as the
 * first commit, so there is never an account without a repo.
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

#include "cbor.h"
#include "dm.h"
#include "http.h"
#include "log.h"
#include "pdsd.h"
#include "repo.h"
#include "signer_proto.h"
#include "syntax.h"
#include "auth.h"
#include "xrpc.h"

#define HANDLE_FIRST_MIN	3
#define HANDLE_FIRST_MAX	18
#define EMAIL_MAX		254

struct acct_new {
	struct http_request	*req;
	char			 handle[HANDLE_MAX + 1];
	char			 email[EMAIL_MAX + 1];
	char			 recovery[128];
	char			*password;	/* wiped */
	char			*pwhash;
	char			 didkey[128];
	char			 did[DID_MAX + 1];
	uint8_t			*op;		/* signed genesis op */
	size_t			 oplen;
};

/* First labels the reference keeps for itself, and a few more. */
static const char *const reserved_handles[] = {
	"about", "abuse", "account", "accounts", "admin", "administrator",
	"api", "app", "atproto", "auth", "blog", "bluesky", "bsky", "contact",
	"dev", "did", "docs", "email", "feed", "feeds", "help", "helpdesk",
	"hostmaster", "info", "invite", "localhost", "login", "mail", "mod",
	"moderation", "moderator", "news", "noreply", "official", "owner",
	"pds", "plc", "postmaster", "register", "relay", "root", "security",
	"server", "settings", "signup", "staff", "status", "support",
	"system", "team", "test", "webmaster", "well-known", "www", "xrpc",
};

/* Throwaway mail domains: the reference refuses them too. */
static const char *const disposable_domains[] = {
	"10minutemail.com", "dispostable.com", "getnada.com",
	"guerrillamail.com", "mailinator.com", "maildrop.cc",
	"sharklasers.com", "temp-mail.org", "tempmail.com",
	"throwawaymail.com", "trashmail.com", "yopmail.com",
};

static void	acct_free(struct acct_new *);
static void	acct_fail(struct acct_new *, int, const char *, const char *);
static void	acct_hashed(void *, const char *);
static void	acct_keyed(void *, const char *, const char *);
static void	acct_plc_signed(void *, const uint8_t *, const char *,
		    const char *);
static void	acct_repo_done(struct repo_write *, int, const char *,
		    const char *);

static int
in_list(const char *s, const char *const *list, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/*
 * A plain address: local@domain, the domain a hostname with a dot, no
 * spaces or quoting tricks.
 */
static int
email_ok(const char *e)
{
	const char	*at, *p, *dom;

	if (strlen(e) > EMAIL_MAX || (at = strchr(e, '@')) == NULL ||
	    at == e || strchr(at + 1, '@') != NULL)
		return 0;
	for (p = e; p < at; p++)
		if (!isalnum((unsigned char)*p) &&
		    strchr(".!#$%&'*+/=?^_`{|}~-", *p) == NULL)
			return 0;
	dom = at + 1;
	if (strchr(dom, '.') == NULL || !syntax_is_handle(dom, strlen(dom)))
		return 0;
	return !in_list(dom, disposable_domains, sizeof(disposable_domains) /
	    sizeof(disposable_domains[0]));
}

/* The domain of the configured list this handle is under, or NULL. */
static const char *
handle_domain(const char *h)
{
	struct conf_str	*cs;
	size_t		 hl = strlen(h), dl;

	TAILQ_FOREACH(cs, &fe->domains, entry) {
		dl = strlen(cs->str);
		if (hl > dl && strcmp(h + hl - dl, cs->str) == 0)
			return cs->str;
	}
	return NULL;
}

/* 0 when the handle may be given out here; else the answer is sent. */
static int
check_handle(struct acct_new *a, const char *raw)
{
	const char	*dom;
	size_t		 first;
	char		 label[HANDLE_MAX + 1];

	if (!syntax_is_handle(raw, strlen(raw)) ||
	    handle_normalize(raw, strlen(raw), a->handle,
	    sizeof(a->handle)) == -1) {
		xrpc_error(a->req, 400, "InvalidRequest",
		    "Invalid handle (got \"%.300s\") at $.handle", raw);
		return -1;
	}
	if ((dom = handle_domain(a->handle)) == NULL) {
		xrpc_error(a->req, 400, "UnsupportedDomain",
		    "Not a supported handle domain");
		return -1;
	}
	first = strlen(a->handle) - strlen(dom);
	memcpy(label, a->handle, first);
	label[first] = '\0';
	if (strchr(label, '.') != NULL) {
		xrpc_error(a->req, 400, "InvalidHandle",
		    "Invalid characters in handle");
		return -1;
	}
	if (first < HANDLE_FIRST_MIN) {
		xrpc_error(a->req, 400, "InvalidHandle", "Handle too short");
		return -1;
	}
	if (first > HANDLE_FIRST_MAX) {
		xrpc_error(a->req, 400, "InvalidHandle", "Handle too long");
		return -1;
	}
	if (in_list(label, reserved_handles, sizeof(reserved_handles) /
	    sizeof(reserved_handles[0]))) {
		xrpc_error(a->req, 400, "HandleNotAvailable",
		    "Reserved handle");
		return -1;
	}
	return 0;
}

/* 1 if an account already has this value in column (handle, email). */
static int
taken(const char *column, const char *value)
{
	static sqlite3_stmt	*by_handle, *by_email;
	sqlite3_stmt		*st;
	int			 rc;

	if (strcmp(column, "handle") == 0)
		st = db_stmt(fe->db, &by_handle,
		    "SELECT 1 FROM account WHERE handle = ?");
	else
		st = db_stmt(fe->db, &by_email,
		    "SELECT 1 FROM account WHERE email = ?");
	if (st == NULL || sqlite3_bind_text(st, 1, value, -1,
	    SQLITE_STATIC) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int
check_unique(struct acct_new *a)
{
	int	 r;

	if ((r = taken("handle", a->handle)) != 0) {
		if (r == 1)
			xrpc_error(a->req, 400, "InvalidRequest",
			    "Handle already taken: %s", a->handle);
		else
			xrpc_error(a->req, 500, "InternalServerError",
			    "Internal Server Error");
		return -1;
	}
	if ((r = taken("email", a->email)) != 0) {
		if (r == 1)
			xrpc_error(a->req, 400, "InvalidRequest",
			    "Email already taken: %s", a->email);
		else
			xrpc_error(a->req, 500, "InternalServerError",
			    "Internal Server Error");
		return -1;
	}
	return 0;
}

static void
account_create_json(struct http_request *req, struct json_object *body)
{
	struct acct_new	*a;
	const char	*handle, *email, *pw, *rk;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		json_object_put(body);
		xrpc_error(req, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	a->req = req;
	handle = xrpc_json_str(body, "handle");
	email = xrpc_json_str(body, "email");
	pw = xrpc_json_str(body, "password");
	rk = xrpc_json_str(body, "recoveryKey");
	if (handle == NULL) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Missing required key \"handle\" at $");
		goto out;
	}
	if (fe->cfg.registration == REG_CLOSED) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Account registration is closed on this server");
		goto out;
	}
	if (fe->cfg.registration == REG_INVITE) {
		xrpc_error(req, 400, "InvalidInviteCode",
		    "This server requires an invite code, and invites are "
		    "not yet supported");
		goto out;
	}
	if (check_handle(a, handle) == -1)
		goto out;
	if (email == NULL) {
		xrpc_error(req, 400, "InvalidRequest", "Email is required");
		goto out;
	}
	if (!email_ok(email)) {
		xrpc_error(req, 400, "InvalidRequest", "This email address "
		    "is not supported, please use a different email.");
		goto out;
	}
	strlcpy(a->email, email, sizeof(a->email));
	if (rk != NULL && (strncmp(rk, "did:key:", 8) != 0 ||
	    strlcpy(a->recovery, rk, sizeof(a->recovery)) >=
	    sizeof(a->recovery))) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Invalid recoveryKey: a did:key is expected");
		goto out;
	}
	if (check_unique(a) == -1)
		goto out;
	if (pw != NULL && strlen(pw) > PWHASH_PW_MAX) {
		xrpc_error(req, 400, "InvalidRequest", "Password too long");
		goto out;
	}
	if (pw != NULL && (a->password = strdup(pw)) == NULL) {
		xrpc_error(req, 500, "InternalServerError",
		    "Internal Server Error");
		goto out;
	}
	/* pw pointed into body: from here on only our copy. */
	json_object_put(body);
	if (a->password == NULL)
		acct_hashed(a, NULL);
	else if (pwhash_hash_async(a->password, acct_hashed, a) == -1)
		acct_fail(a, 503, "InternalServerError",
		    "Server busy, try again");
	return;
out:
	json_object_put(body);
	acct_free(a);
}

void
account_create(struct http_request *req)
{
	xrpc_read_json(req, XRPC_JSON_MAX, account_create_json);
}

static void
acct_free(struct acct_new *a)
{
	if (a->password != NULL) {
		sodium_memzero(a->password, strlen(a->password));
		free(a->password);
	}
	free(a->pwhash);
	free(a->op);
	free(a);
}

static void
acct_fail(struct acct_new *a, int status, const char *name, const char *msg)
{
	xrpc_error(a->req, status, name, "%s", msg);
	acct_free(a);
}

static void
acct_hashed(void *arg, const char *hash)
{
	struct acct_new	*a = arg;

	if (a->password != NULL) {
		if (hash == NULL) {
			acct_fail(a, 500, "InternalServerError",
			    "Internal Server Error");
			return;
		}
		if ((a->pwhash = strdup(hash)) == NULL) {
			acct_fail(a, 500, "InternalServerError",
			    "Internal Server Error");
			return;
		}
	}
	if (signer_key_create(acct_keyed, a) == -1)
		acct_fail(a, 503, "InternalServerError", "Signer unavailable");
}

/* The genesis operation, unsigned, as DAG-CBOR. */
static int
genesis_op(struct acct_new *a, uint8_t **out, size_t *outlen)
{
	struct dm	*op, *rot, *vm, *aka, *svc, *pds;
	char		 aturi[8 + HANDLE_MAX + 1];
	int		 rv;

	op = dm_map();
	rot = dm_array();
	if (a->recovery[0] != '\0')
		dm_array_push(rot, dm_str(a->recovery));
	dm_array_push(rot, dm_str(fe->rotation_key));
	vm = dm_map();
	dm_map_set(vm, "atproto", dm_str(a->didkey));
	aka = dm_array();
	snprintf(aturi, sizeof(aturi), "at://%s", a->handle);
	dm_array_push(aka, dm_str(aturi));
	pds = dm_map();
	dm_map_set(pds, "type", dm_str("AtprotoPersonalDataServer"));
	dm_map_set(pds, "endpoint", dm_str(identity_endpoint()));
	svc = dm_map();
	dm_map_set(svc, "atproto_pds", pds);
	dm_map_set(op, "type", dm_str("plc_operation"));
	dm_map_set(op, "rotationKeys", rot);
	dm_map_set(op, "verificationMethods", vm);
	dm_map_set(op, "alsoKnownAs", aka);
	dm_map_set(op, "services", svc);
	dm_map_set(op, "prev", dm_null());
	rv = (*out = dm_cbor_encode_mem(op, outlen)) != NULL ? 0 : -1;
	dm_free(op);
	return rv;
}

static void
acct_keyed(void *arg, const char *didkey, const char *err)
{
	struct acct_new	*a = arg;
	uint8_t		*op;
	size_t		 len;

	if (didkey == NULL) {
		log_warnx("createAccount: no key: %s", err);
		acct_fail(a, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	strlcpy(a->didkey, didkey, sizeof(a->didkey));
	if (fe->rotation_key[0] == '\0' || genesis_op(a, &op, &len) == -1) {
		acct_fail(a, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	a->op = op;
	a->oplen = len;
	if (signer_sign_plc_op(op, len, acct_plc_signed, a) == -1)
		acct_fail(a, 503, "InternalServerError", "Signer unavailable");
}

static int
acct_insert(struct repo_write *w)
{
	static sqlite3_stmt	*cache;
	struct acct_new		*a = w->arg;
	sqlite3_stmt		*st;
	char			 now[32];
	int			 rc;

	identity_now(now, sizeof(now));
	st = db_stmt(fe->db, &cache, "INSERT INTO account (did, handle, "
	    "email, password_hash, signing_key, created_at) "
	    "VALUES (?, ?, ?, ?, ?, ?)");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, a->did, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->handle, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->email, -1, SQLITE_STATIC);
	if (a->pwhash != NULL)
		sqlite3_bind_text(st, 4, a->pwhash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a->didkey, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT) {
		/* Someone took the handle or email while we signed. */
		w->fail_status = 400;
		w->fail_name = "InvalidRequest";
		snprintf(w->fail_msg, sizeof(w->fail_msg),
		    "Handle or email already taken: %.200s", a->handle);
		return -1;
	}
	if (rc != SQLITE_DONE)
		return -1;
	/* The reference's order: #identity, #account, then the commit. */
	if (identity_store_op(a->did, a->op, a->oplen) == -1 ||
	    events_identity(fe->db, a->did, a->handle) == -1 ||
	    events_account(fe->db, a->did, NULL) == -1)
		return -1;
	return 0;
}

static void
acct_plc_signed(void *arg, const uint8_t *sig, const char *did,
    const char *err)
{
	struct acct_new		*a = arg;
	struct repo_write	*w;
	uint8_t			*signed_op;
	size_t			 len;

	if (sig == NULL || did == NULL || did[0] == '\0') {
		log_warnx("createAccount: PLC operation not signed: %s",
		    err != NULL ? err : "no DID");
		acct_fail(a, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	strlcpy(a->did, did, sizeof(a->did));
	if (identity_sign_op(a->op, a->oplen, sig, &signed_op, &len) == -1) {
		acct_fail(a, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	free(a->op);
	a->op = signed_op;
	a->oplen = len;
	if ((w = repo_write_new(a->did, 0)) == NULL) {
		acct_fail(a, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	w->init = 1;
	w->done = acct_repo_done;
	w->arg = a;
	w->in_tx = acct_insert;
	repo_write_submit(w);
}

static void
acct_repo_done(struct repo_write *w, int status, const char *name,
    const char *msg)
{
	struct acct_new		*a = w->arg;
	struct auth_tokens	 tok = { NULL, NULL };
	struct json_object	*o, *doc;

	repo_write_free(w);
	if (status != 0) {
		acct_fail(a, status, name, msg);
		return;
	}
	log_info("account created: %s %s", a->handle, a->did);
	if (auth_session_create(fe->db, a->did, NULL, AUTH_SCOPE_ACCESS, time(NULL),
	    &tok) == -1) {
		acct_fail(a, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "handle", json_object_new_string(a->handle));
	json_object_object_add(o, "did", json_object_new_string(a->did));
	if ((doc = identity_did_doc(a->did)) != NULL)
		json_object_object_add(o, "didDoc", doc);
	json_object_object_add(o, "accessJwt",
	    json_object_new_string(tok.access));
	json_object_object_add(o, "refreshJwt",
	    json_object_new_string(tok.refresh));
	auth_tokens_free(&tok);
	xrpc_reply_json(a->req, 200, o);
	acct_free(a);
}
