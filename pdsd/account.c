/*
 * com.atproto.server.createAccount: check the request as the reference
 * does, hash the password off the loop, have signerd make the repo key
 * and sign the did:plc genesis operation, then create the empty
 * repository; the account row lands in the same transaction as the
 * first commit, so there is never an account without a repo.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdarg.h>
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
#include "ratelimit.h"
#include "xrpc.h"

#define HANDLE_FIRST_MIN	3
#define HANDLE_FIRST_MAX	18
#define EMAIL_MAX		254
#define NEW_PASSWORD_MAX	256	/* the reference's, in UTF-16 units */

struct acct_new {
	account_done_cb		 done;
	void			*arg;
	struct account_err	 err;		/* a refusal, before done */
	int			 pending;	/* hash, signerd: running */
	char			 invite[INVITE_CODE_MAX + 1];	/* "": none */
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
static void	acct_plc_submitted(void *, const char *);
static void	acct_commit(struct acct_new *);
static void	acct_abort(struct acct_new *, int, const char *,
		    const char *);
static void	acct_step_done(struct acct_new *);

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
const char *
account_handle_domain(const char *h)
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

static int	refuse(struct account_err *, int, const char *, const char *,
		    ...) __attribute__((__format__ (printf, 4, 5)));

/* Fill in a refusal; -1, for "return refuse(...)". */
static int
refuse(struct account_err *e, int status, const char *name,
    const char *fmt, ...)
{
	va_list	 ap;

	e->status = status;
	e->name = name;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * 0 when the handle, normalized into out, may be given out here; else
 * -1 with the refusal in e.  With external (updateHandle), a handle
 * outside our domains gives 1: the caller must see it resolve first.
 */
int
account_handle_check(const char *raw, char *out, size_t outlen,
    int external, struct account_err *e)
{
	const char	*dom;
	size_t		 first;
	char		 label[HANDLE_MAX + 1];

	if (!syntax_is_handle(raw, strlen(raw)) ||
	    handle_normalize(raw, strlen(raw), out, outlen) == -1)
		return refuse(e, 400, "InvalidRequest",
		    "Invalid handle (got \"%.300s\") at $.handle", raw);
	if ((dom = account_handle_domain(out)) == NULL) {
		if (external)
			return 1;
		return refuse(e, 400, "UnsupportedDomain",
		    "Not a supported handle domain");
	}
	first = strlen(out) - strlen(dom);
	memcpy(label, out, first);
	label[first] = '\0';
	if (strchr(label, '.') != NULL)
		return refuse(e, 400, "InvalidHandle",
		    "Invalid characters in handle");
	if (first < HANDLE_FIRST_MIN)
		return refuse(e, 400, "InvalidHandle", "Handle too short");
	if (first > HANDLE_FIRST_MAX)
		return refuse(e, 400, "InvalidHandle", "Handle too long");
	if (in_list(label, reserved_handles, sizeof(reserved_handles) /
	    sizeof(reserved_handles[0])))
		return refuse(e, 400, "HandleNotAvailable",
		    "Reserved handle");
	return 0;
}

/* account_handle_check, answering the request on -1. */
int
account_check_handle(struct http_request *req, const char *raw, char *out,
    size_t outlen, int external)
{
	struct account_err	 e;
	int			 rv;

	if ((rv = account_handle_check(raw, out, outlen, external, &e)) == -1)
		xrpc_error(req, e.status, e.name, "%s", e.msg);
	return rv;
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

	if ((r = taken("handle", a->handle)) != 0)
		return r == 1 ? refuse(&a->err, 400, "InvalidRequest",
		    "Handle already taken: %s", a->handle) :
		    refuse(&a->err, 500, "InternalServerError",
		    "Internal Server Error");
	if (a->email[0] != '\0' && (r = taken("email", a->email)) != 0)
		return r == 1 ? refuse(&a->err, 400, "InvalidRequest",
		    "Email already taken: %s", a->email) :
		    refuse(&a->err, 500, "InternalServerError",
		    "Internal Server Error");
	return 0;
}

/* The invite, under "registration invite": 0, or -1 refused. */
static int
check_invite(struct acct_new *a, const struct account_params *p)
{
	int	 r;

	if (p->admin || fe->cfg.registration != REG_INVITE)
		return 0;
	if (strlcpy(a->invite, p->invite, sizeof(a->invite)) >=
	    sizeof(a->invite) || (r = invite_available(fe->db,
	    a->invite)) == 0)
		return refuse(&a->err, 400, "InvalidInviteCode",
		    "Provided invite code not available");
	if (r == -1)
		return refuse(&a->err, 500, "InternalServerError",
		    "Internal Server Error");
	return 0;
}

/* A string's length as JavaScript counts it: UTF-16 code units. */
static size_t
utf16_len(const char *s)
{
	const unsigned char	*p;
	size_t			 n = 0;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p & 0xc0) != 0x80)
			n++;
		if (*p >= 0xf0)
			n++;	/* outside the BMP: a surrogate pair */
	}
	return n;
}

/*
 * Everything that can be checked before the password is hashed, in the
 * reference's order, so that a request with several faults gets the
 * same refusal.
 */
static int
acct_check(struct acct_new *a, const struct account_params *p)
{
	struct account_err	*e = &a->err;

	if (p->handle == NULL)
		return refuse(e, 400, "InvalidRequest",
		    "Missing required key \"handle\" at $");
	if (!p->admin && fe->cfg.registration == REG_CLOSED)
		return refuse(e, 400, "InvalidRequest",
		    "Account registration is closed on this server");
	if (p->password != NULL && utf16_len(p->password) > NEW_PASSWORD_MAX)
		return refuse(e, 400, "InvalidRequest", "Password too long. "
		    "Maximum length is %d characters.", NEW_PASSWORD_MAX);
	if (!p->admin && fe->cfg.registration == REG_INVITE &&
	    (p->invite == NULL || p->invite[0] == '\0'))
		return refuse(e, 400, "InvalidInviteCode",
		    "No invite code provided");
	/* Only pdsctl may make an account without an email. */
	if (p->email == NULL && !p->admin)
		return refuse(e, 400, "InvalidRequest", "Email is required");
	if (p->email != NULL && !email_ok(p->email))
		return refuse(e, 400, "InvalidRequest", "This email address "
		    "is not supported, please use a different email.");
	if (p->email != NULL)
		strlcpy(a->email, p->email, sizeof(a->email));
	if (account_handle_check(p->handle, a->handle, sizeof(a->handle), 0,
	    e) == -1)
		return -1;
	if (p->recovery_key != NULL &&
	    (strncmp(p->recovery_key, "did:key:", 8) != 0 ||
	    strlcpy(a->recovery, p->recovery_key, sizeof(a->recovery)) >=
	    sizeof(a->recovery)))
		return refuse(e, 400, "InvalidRequest",
		    "Invalid recoveryKey: a did:key is expected");
	if (check_invite(a, p) == -1 || check_unique(a) == -1)
		return -1;
	if (p->password != NULL && (a->password = strdup(p->password)) ==
	    NULL)
		return refuse(e, 500, "InternalServerError",
		    "Internal Server Error");
	return 0;
}

void
account_create_start(const struct account_params *p, account_done_cb done,
    void *arg)
{
	struct acct_new	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		done(arg, 500, "InternalServerError", "Internal Server Error",
		    NULL, NULL);
		return;
	}
	a->done = done;
	a->arg = arg;
	if (acct_check(a, p) == -1) {
		acct_fail(a, a->err.status, a->err.name, a->err.msg);
		return;
	}
	/*
	 * The hash (a worker thread) and signerd's key, genesis signature
	 * and the directory's answer are independent: run them side by
	 * side, so the account costs the slower of the two, not the sum.
	 */
	if (a->password != NULL) {
		if (pwhash_hash_async(a->password, acct_hashed, a) == -1) {
			acct_fail(a, 503, "InternalServerError",
			    "Server busy, try again");
			return;
		}
		a->pending++;
	}
	a->pending++;
	if (signer_key_create(acct_keyed, a) == -1)
		acct_abort(a, 503, "InternalServerError",
		    "Signer unavailable");
}

/* One of the two branches is over: the commit once both are. */
static void
acct_step_done(struct acct_new *a)
{
	if (--a->pending > 0)
		return;
	if (a->err.status != 0)
		acct_fail(a, a->err.status, a->err.name, a->err.msg);
	else
		acct_commit(a);
}

/* A branch failed: the first reason is the answer, once both are over. */
static void
acct_abort(struct acct_new *a, int status, const char *name,
    const char *msg)
{
	if (a->err.status == 0)
		refuse(&a->err, status, name, "%s", msg);
	acct_step_done(a);
}

/* The XRPC answer: the new account's first session. */
static void
acct_http_done(void *arg, int status, const char *name, const char *msg,
    const char *did, const char *handle)
{
	struct http_request	*req = arg;
	struct auth_tokens	 tok = { NULL, NULL };
	struct json_object	*o, *doc;

	if (status != 0) {
		xrpc_error(req, status, name, "%s", msg);
		return;
	}
	if (auth_session_create(fe->db, did, NULL, AUTH_SCOPE_ACCESS,
	    time(NULL), &tok) == -1) {
		xrpc_error(req, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "handle", json_object_new_string(handle));
	json_object_object_add(o, "did", json_object_new_string(did));
	if ((doc = identity_did_doc(did)) != NULL)
		json_object_object_add(o, "didDoc", doc);
	json_object_object_add(o, "accessJwt",
	    json_object_new_string(tok.access));
	json_object_object_add(o, "refreshJwt",
	    json_object_new_string(tok.refresh));
	auth_tokens_free(&tok);
	xrpc_reply_json(req, 200, o);
}

static void
account_create_json(struct http_request *req, struct json_object *body)
{
	struct account_params	 p;

	memset(&p, 0, sizeof(p));
	p.handle = xrpc_json_str(body, "handle");
	p.email = xrpc_json_str(body, "email");
	p.password = xrpc_json_str(body, "password");
	p.invite = xrpc_json_str(body, "inviteCode");
	p.recovery_key = xrpc_json_str(body, "recoveryKey");
	/* The strings point into body: account_create_start copies them. */
	account_create_start(&p, acct_http_done, req);
	json_object_put(body);
}

void
account_create(struct http_request *req)
{
	if (ratelimit_request(req, RL_CREATE_ACCOUNT, NULL) == -1)
		return;
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
	a->done(a->arg, status, name, msg, NULL, NULL);
	acct_free(a);
}

static void
acct_hashed(void *arg, const char *hash)
{
	struct acct_new	*a = arg;

	if (hash == NULL || (a->pwhash = strdup(hash)) == NULL) {
		acct_abort(a, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	acct_step_done(a);
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
		acct_abort(a, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	strlcpy(a->didkey, didkey, sizeof(a->didkey));
	if (fe->rotation_key[0] == '\0' || genesis_op(a, &op, &len) == -1) {
		acct_abort(a, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	a->op = op;
	a->oplen = len;
	if (signer_sign_plc_op(op, len, acct_plc_signed, a) == -1)
		acct_abort(a, 503, "InternalServerError", "Signer unavailable");
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
	if (a->email[0] != '\0')
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
	/* The use lands with the account, or neither does. */
	if (a->invite[0] != '\0' && (rc = invite_use(fe->db, a->invite,
	    a->did)) != 0) {
		if (rc == 1) {
			w->fail_status = 400;
			w->fail_name = "InvalidInviteCode";
			strlcpy(w->fail_msg, "Provided invite code not "
			    "available", sizeof(w->fail_msg));
		}
		return -1;
	}
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

	if (sig == NULL || did == NULL || did[0] == '\0') {
		log_warnx("createAccount: PLC operation not signed: %s",
		    err != NULL ? err : "no DID");
		acct_abort(a, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	strlcpy(a->did, did, sizeof(a->did));
	if (identity_sign_op(&a->op, &a->oplen, sig) == -1) {
		acct_abort(a, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	/* The directory first: a refusal there leaves nothing behind. */
	if (plc_configured()) {
		if (plc_submit(a->did, a->op, a->oplen, acct_plc_submitted,
		    a) == -1)
			acct_abort(a, 500, "InternalServerError",
			    "Internal Server Error");
		return;
	}
	acct_step_done(a);
}

static void
acct_plc_submitted(void *arg, const char *err)
{
	struct acct_new	*a = arg;

	if (err != NULL) {
		log_warnx("createAccount %s: %s", a->did, err);
		acct_abort(a, 502, "UpstreamFailure", err);
		return;
	}
	acct_step_done(a);
}

static void
acct_commit(struct acct_new *a)
{
	struct repo_write	*w;

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

	repo_write_free(w);
	if (status != 0) {
		acct_fail(a, status, name, msg);
		return;
	}
	log_info("account created: %s %s", a->handle, a->did);
	a->done(a->arg, 0, NULL, NULL, a->did, a->handle);
	acct_free(a);
}
