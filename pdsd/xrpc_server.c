/*
 * com.atproto.server.*: the server's own description, accounts and
 * sessions.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>
#include <sodium.h>

#include "auth.h"
#include "http.h"
#include "log.h"
#include "pdsd.h"
#include "ratelimit.h"
#include "xrpc.h"

#define BLOB_UPLOAD_LIMIT	5242880
#define LOGIN_PASSWORD_MAX	512	/* the reference's, at login */

static void	server_describe(struct http_request *);
static void	session_create(struct http_request *);
static void	session_get(struct http_request *);
static void	session_refresh(struct http_request *);
static void	session_delete(struct http_request *);
static void	apppass_create(struct http_request *);
static void	apppass_list_all(struct http_request *);
static void	apppass_revoke_one(struct http_request *);

const struct xrpc_method xrpc_server_methods[] = {
	{ "com.atproto.server.describeServer", XRPC_QUERY, server_describe },
	{ "com.atproto.server.createAccount", XRPC_PROCEDURE, account_create },
	/* sessions */
	{ "com.atproto.server.createSession", XRPC_PROCEDURE, session_create },
	{ "com.atproto.server.getSession", XRPC_QUERY, session_get },
	{ "com.atproto.server.refreshSession", XRPC_PROCEDURE,
	    session_refresh },
	{ "com.atproto.server.deleteSession", XRPC_PROCEDURE, session_delete },
	/* app passwords */
	{ "com.atproto.server.createAppPassword", XRPC_PROCEDURE,
	    apppass_create },
	{ "com.atproto.server.listAppPasswords", XRPC_QUERY,
	    apppass_list_all },
	{ "com.atproto.server.revokeAppPassword", XRPC_PROCEDURE,
	    apppass_revoke_one },
	/* invites (invite.c) */
	{ "com.atproto.server.createInviteCode", XRPC_PROCEDURE,
	    invite_xrpc_create },
	{ "com.atproto.server.createInviteCodes", XRPC_PROCEDURE,
	    invite_xrpc_create_many },
	{ "com.atproto.server.getAccountInviteCodes", XRPC_QUERY,
	    invite_xrpc_account_codes },
	/* lifecycle (lifecycle.c, servauth.c) */
	{ "com.atproto.server.deactivateAccount", XRPC_PROCEDURE,
	    lifecycle_deactivate },
	{ "com.atproto.server.activateAccount", XRPC_PROCEDURE,
	    lifecycle_activate },
	{ "com.atproto.server.checkAccountStatus", XRPC_QUERY,
	    lifecycle_check_status },
	{ "com.atproto.server.requestAccountDelete", XRPC_PROCEDURE,
	    lifecycle_request_delete },
	{ "com.atproto.server.deleteAccount", XRPC_PROCEDURE,
	    lifecycle_delete },
	{ "com.atproto.server.getServiceAuth", XRPC_QUERY, servauth_get },
	{ "com.atproto.server.requestEmailConfirmation", XRPC_PROCEDURE,
	    lifecycle_no_mail },
	{ "com.atproto.server.confirmEmail", XRPC_PROCEDURE,
	    lifecycle_no_mail },
	{ "com.atproto.server.requestEmailUpdate", XRPC_PROCEDURE,
	    lifecycle_no_mail },
	{ "com.atproto.server.updateEmail", XRPC_PROCEDURE, lifecycle_no_mail },
	{ "com.atproto.server.requestPasswordReset", XRPC_PROCEDURE,
	    lifecycle_no_mail },
	{ "com.atproto.server.resetPassword", XRPC_PROCEDURE,
	    lifecycle_no_mail },
	{ NULL, 0, NULL },
};

static void
server_describe(struct http_request *req)
{
	struct json_object	*o, *domains;
	struct conf_str		*cs;
	char			 did[8 + sizeof(fe->cfg.hostname)];

	snprintf(did, sizeof(did), "did:web:%s", fe->cfg.hostname);
	o = json_object_new_object();
	domains = json_object_new_array();
	TAILQ_FOREACH(cs, &fe->domains, entry)
		json_object_array_add(domains, json_object_new_string(cs->str));
	json_object_object_add(o, "did", json_object_new_string(did));
	json_object_object_add(o, "availableUserDomains", domains);
	json_object_object_add(o, "inviteCodeRequired",
	    json_object_new_boolean(fe->cfg.registration == REG_INVITE));
	json_object_object_add(o, "blobUploadLimit",
	    json_object_new_int64(BLOB_UPLOAD_LIMIT));
	json_object_object_add(o, "links", json_object_new_object());
	json_object_object_add(o, "contact", json_object_new_object());
	xrpc_reply_json(req, 200, o);
}

/*
 * Sessions: createSession, getSession, refreshSession, deleteSession.
 */

/* A login in flight, while its password is hashed off the loop. */
struct login {
	struct http_request	*req;
	struct auth_account	 acct;
	int			 found;
	int			 allow_takendown;
	char			*apppw;		/* sodium_malloc'd, or NULL */
	int			 old;		/* derived at the old limits */
};

static void	login_verified(void *, int, const char *);
static void	login_derived(void *, const uint8_t *);
static void	login_finish(struct login *, const char *, int);
static void	login_free(struct login *);

/* The DID document in session answers; NULL leaves the field out. */
static struct json_object *
session_did_doc(const char *did)
{
	return identity_did_doc(did);
}

/* The password pool and the token key: started on first use. */
static int
session_ready(struct http_request *req)
{
	if (pwhash_init(fe->base) == -1 || auth_init_default() == -1) {
		xrpc_error(req, 500, "InternalServerError",
		    "Internal Server Error");
		return -1;
	}
	return 0;
}

static void
internal_error(struct http_request *req)
{
	xrpc_error(req, 500, "InternalServerError", "Internal Server Error");
}

/*
 * A body field as the reference's lexicon check words its errors: 1
 * present, 0 absent (and optional), -1 answered.
 */
static int
body_field(struct http_request *req, struct json_object *o, const char *key,
    json_type type, int required, struct json_object **v)
{
	if (!json_object_object_get_ex(o, key, v) || *v == NULL) {
		if (!required)
			return 0;
		xrpc_error(req, 400, "InvalidRequest",
		    "Input must have the property \"%s\"", key);
		return -1;
	}
	if (!json_object_is_type(*v, type)) {
		xrpc_error(req, 400, "InvalidRequest", "Input/%s must be %s",
		    key, type == json_type_boolean ? "a boolean" : "a string");
		return -1;
	}
	return 1;
}

static void
empty_reply(struct http_request *req)
{
	http_reply(req, 200, NULL, NULL, 0);
}

/* The session answer; tokens NULL for getSession. */
static void
session_reply(struct http_request *req, const struct auth_account *a,
    const struct auth_tokens *t)
{
	struct json_object	*o, *doc;

	o = json_object_new_object();
	if (t != NULL) {
		json_object_object_add(o, "accessJwt",
		    json_object_new_string(t->access));
		json_object_object_add(o, "refreshJwt",
		    json_object_new_string(t->refresh));
	}
	json_object_object_add(o, "did", json_object_new_string(a->did));
	if ((doc = session_did_doc(a->did)) != NULL)
		json_object_object_add(o, "didDoc", doc);
	json_object_object_add(o, "handle", json_object_new_string(
	    a->handle[0] != '\0' ? a->handle : "handle.invalid"));
	if (a->email[0] != '\0')
		json_object_object_add(o, "email",
		    json_object_new_string(a->email));
	json_object_object_add(o, "emailConfirmed",
	    json_object_new_boolean(0));
	json_object_object_add(o, "active",
	    json_object_new_boolean(auth_account_active(a)));
	if (!auth_account_active(a))
		json_object_object_add(o, "status",
		    json_object_new_string(a->status));
	xrpc_reply_json(req, 200, o);
}

static void
login_free(struct login *l)
{
	auth_account_clear(&l->acct);
	if (l->apppw != NULL)
		sodium_free(l->apppw);
	free(l);
}

static void
login_refused(struct http_request *req)
{
	xrpc_error(req, 401, "AuthenticationRequired",
	    "Invalid identifier or password");
}

static void
session_create_body(struct http_request *req, struct json_object *o)
{
	struct json_object	*ident, *pw, *allow;
	struct login		*l;
	const char		*hash;
	int			 rc;

	if (body_field(req, o, "identifier", json_type_string, 1, &ident) ==
	    -1 || body_field(req, o, "password", json_type_string, 1, &pw) ==
	    -1 || (rc = body_field(req, o, "allowTakendown",
	    json_type_boolean, 0, &allow)) == -1)
		goto out;
	if (ratelimit_request(req, RL_CREATE_SESSION,
	    json_object_get_string(ident)) == -1)
		goto out;
	if (json_object_get_string_len(pw) > LOGIN_PASSWORD_MAX) {
		xrpc_error(req, 401, "AuthenticationRequired",
		    "Password too long. Consider resetting your password.");
		goto out;
	}
	if (session_ready(req) == -1)
		goto out;
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		internal_error(req);
		goto out;
	}
	l->req = req;
	l->allow_takendown = rc == 1 && json_object_get_boolean(allow);
	if ((rc = auth_account_find(fe->db, json_object_get_string(ident),
	    &l->acct)) == -1) {
		internal_error(req);
		login_free(l);
		goto out;
	}
	l->found = rc == 0;
	/* Unknown accounts take as long as known ones to refuse. */
	hash = l->found && l->acct.password_hash != NULL ?
	    l->acct.password_hash : pwhash_dummy;
	if (l->found && !auth_account_takendown(&l->acct) &&
	    apppass_shaped(json_object_get_string(pw)) &&
	    apppass_count(fe->db, l->acct.did) > 0 &&
	    (l->apppw = sodium_malloc(AUTH_APPPASS_LEN + 1)) != NULL)
		memcpy(l->apppw, json_object_get_string(pw),
		    AUTH_APPPASS_LEN + 1);
	if (pwhash_login_async(hash, json_object_get_string(pw),
	    login_verified, l) == -1) {
		xrpc_error(req, 503, "NotEnoughResources",
		    "Too many logins at once; try again");
		login_free(l);
	}
 out:
	json_object_put(o);
}

static void
login_verified(void *arg, int ok, const char *rehash)
{
	struct login	*l = arg;
	uint8_t		 salt[PWHASH_SALT_LEN];

	/* Made at the old limits: stored at ours, the login goes on. */
	if (ok == 1 && l->found && rehash != NULL &&
	    l->acct.password_hash != NULL &&
	    auth_password_rehash(fe->db, l->acct.did, l->acct.password_hash,
	    rehash) == -1)
		log_warnx("account %s: password hash not updated",
		    l->acct.did);
	if (ok == 1 && l->found) {
		login_finish(l, NULL, AUTH_SCOPE_ACCESS);
		return;
	}
	if (l->apppw == NULL) {
		login_refused(l->req);
		login_free(l);
		return;
	}
	apppass_salt(l->acct.did, salt);
	if (pwhash_derive_async(salt, l->apppw, 0, login_derived, l) == -1) {
		xrpc_error(l->req, 503, "NotEnoughResources",
		    "Too many logins at once; try again");
		login_free(l);
	}
}

static void
login_derived(void *arg, const uint8_t *derived)
{
	struct login	*l = arg;
	char		 name[AUTH_APPPASS_NAME_MAX + 1];
	uint8_t		 salt[PWHASH_SALT_LEN];
	int		 nold = 0, priv, rc;

	if (derived == NULL ||
	    (rc = apppass_find(fe->db, l->acct.did, derived, l->old, name,
	    sizeof(name), &priv)) == -1 || (rc == 1 && !l->old &&
	    (nold = apppass_count_old(fe->db, l->acct.did)) == -1)) {
		internal_error(l->req);
		login_free(l);
		return;
	}
	/* Ones made before the limits changed: their hash, too, once. */
	if (rc == 1 && nold > 0) {
		l->old = 1;
		apppass_salt(l->acct.did, salt);
		if (pwhash_derive_async(salt, l->apppw, 1, login_derived,
		    l) == -1) {
			xrpc_error(l->req, 503, "NotEnoughResources",
			    "Too many logins at once; try again");
			login_free(l);
		}
		return;
	}
	if (rc == 1) {
		login_refused(l->req);
		login_free(l);
		return;
	}
	login_finish(l, name, priv ? AUTH_SCOPE_APPPRIV : AUTH_SCOPE_APPPASS);
}

static void
login_finish(struct login *l, const char *app, int scope)
{
	struct auth_tokens	 t;

	if (auth_account_takendown(&l->acct)) {
		if (!l->allow_takendown) {
			xrpc_error(l->req, 401, "AccountTakedown",
			    "Account has been taken down");
			login_free(l);
			return;
		}
		scope = AUTH_SCOPE_TAKENDOWN;
	}
	if (auth_session_create(fe->db, l->acct.did, app, scope, time(NULL),
	    &t) == -1) {
		internal_error(l->req);
		login_free(l);
		return;
	}
	session_reply(l->req, &l->acct, &t);
	auth_tokens_free(&t);
	login_free(l);
}

static void
session_create(struct http_request *req)
{
	xrpc_read_json(req, XRPC_JSON_MAX, session_create_body);
}

/* The account behind a token, answered as the reference does if gone. */
static int
session_account(struct http_request *req, const char *did,
    struct auth_account *acct)
{
	int	 rc;

	if ((rc = auth_account_find(fe->db, did, acct)) == -1)
		internal_error(req);
	else if (rc == 1)
		xrpc_error(req, 400, "InvalidRequest",
		    "Could not find user info for account: %s", did);
	return rc == 0 ? 0 : -1;
}

static void
session_get(struct http_request *req)
{
	struct auth		 a;
	struct auth_account	 acct;

	if (auth_check(req, AUTH_ACCESS_APP | AUTH_SCOPE_TAKENDOWN, &a) == -1 ||
	    session_account(req, a.did, &acct) == -1)
		return;
	session_reply(req, &acct, NULL);
	auth_account_clear(&acct);
}

static void
session_refresh(struct http_request *req)
{
	struct auth		 a;
	struct auth_account	 acct;
	struct auth_tokens	 t;
	int			 rc;

	if (auth_check(req, AUTH_REFRESH, &a) == -1 ||
	    session_account(req, a.did, &acct) == -1)
		return;
	if (auth_account_takendown(&acct))
		xrpc_error(req, 401, "AccountTakedown",
		    "Account has been taken down");
	else if ((rc = auth_session_refresh(fe->db, a.jti, time(NULL), &t))
	    == -1)
		internal_error(req);
	else if (rc == 1)
		xrpc_error(req, 400, "ExpiredToken", "Token has been revoked");
	else {
		session_reply(req, &acct, &t);
		auth_tokens_free(&t);
	}
	auth_account_clear(&acct);
}

static void
session_delete(struct http_request *req)
{
	struct auth	 a;

	if (auth_check(req, AUTH_REFRESH | AUTH_ALLOW_EXPIRED, &a) == -1)
		return;
	if (auth_session_revoke(fe->db, a.jti) == -1)
		internal_error(req);
	else
		empty_reply(req);
}

/*
 * App passwords: createAppPassword, listAppPasswords, revokeAppPassword.
 * Only a full session may make one (the reference's ACCESS_FULL); any
 * session may list or revoke, as in the reference.
 */
#define APPPASS_CREATE_AUTH	(AUTH_ACCESS_FULL | AUTH_CHECK_TAKEDOWN)
#define APPPASS_MANAGE_AUTH	(AUTH_ACCESS_APP | AUTH_CHECK_TAKEDOWN)

struct apppass_new {
	struct http_request	*req;
	char			 did[DID_MAX + 1];
	char			 name[AUTH_APPPASS_NAME_MAX + 1];
	int			 privileged;
	char			 pw[AUTH_APPPASS_LEN + 1];
};

static void
apppass_new_free(struct apppass_new *n)
{
	sodium_memzero(n->pw, sizeof(n->pw));
	free(n);
}

/* The name, checked; NULL when answered. */
static const char *
apppass_name(struct http_request *req, struct json_object *o)
{
	struct json_object	*v;

	if (body_field(req, o, "name", json_type_string, 1, &v) == -1)
		return NULL;
	if (json_object_get_string_len(v) == 0 ||
	    json_object_get_string_len(v) > AUTH_APPPASS_NAME_MAX) {
		xrpc_error(req, 400, "InvalidRequest", "Input/name must be "
		    "1 to %d bytes long", AUTH_APPPASS_NAME_MAX);
		return NULL;
	}
	return json_object_get_string(v);
}

static void
apppass_derived(void *arg, const uint8_t *derived)
{
	struct apppass_new	*n = arg;
	struct json_object	*o;
	char			 created[64];
	int			 rc;

	if (derived == NULL || (rc = apppass_store(fe->db, n->did, n->name,
	    derived, n->privileged, created, sizeof(created))) == -1)
		internal_error(n->req);
	else if (rc == 1)
		xrpc_error(n->req, 400, "InvalidRequest",
		    "An app password named \"%s\" already exists", n->name);
	else {
		o = json_object_new_object();
		json_object_object_add(o, "name",
		    json_object_new_string(n->name));
		json_object_object_add(o, "password",
		    json_object_new_string(n->pw));
		json_object_object_add(o, "createdAt",
		    json_object_new_string(created));
		json_object_object_add(o, "privileged",
		    json_object_new_boolean(n->privileged));
		xrpc_reply_json(n->req, 200, o);
	}
	apppass_new_free(n);
}

static void
apppass_create_body(struct http_request *req, struct json_object *o)
{
	struct json_object	*priv;
	struct apppass_new	*n;
	struct auth		 a;
	const char		*name;
	uint8_t			 salt[PWHASH_SALT_LEN];
	int			 rc;

	if (auth_check(req, APPPASS_CREATE_AUTH, &a) == -1 ||
	    (name = apppass_name(req, o)) == NULL ||
	    (rc = body_field(req, o, "privileged", json_type_boolean, 0,
	    &priv)) == -1 || session_ready(req) == -1)
		goto out;
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		internal_error(req);
		goto out;
	}
	n->req = req;
	strlcpy(n->did, a.did, sizeof(n->did));
	strlcpy(n->name, name, sizeof(n->name));
	n->privileged = rc == 1 && json_object_get_boolean(priv);
	apppass_generate(n->pw);
	apppass_salt(n->did, salt);
	if (pwhash_derive_async(salt, n->pw, 0, apppass_derived, n) == -1) {
		xrpc_error(req, 503, "NotEnoughResources",
		    "Too many password operations at once; try again");
		apppass_new_free(n);
	}
 out:
	json_object_put(o);
}

static void
apppass_create(struct http_request *req)
{
	struct auth	 a;

	/* Refuse before reading the body; the body callback checks again. */
	if (auth_check(req, APPPASS_CREATE_AUTH, &a) == 0)
		xrpc_read_json(req, XRPC_JSON_MAX, apppass_create_body);
}

static void
apppass_list_all(struct http_request *req)
{
	struct auth		 a;
	struct json_object	*o, *l;

	if (auth_check(req, APPPASS_MANAGE_AUTH, &a) == -1)
		return;
	if ((l = apppass_list(fe->db, a.did)) == NULL) {
		internal_error(req);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "passwords", l);
	xrpc_reply_json(req, 200, o);
}

static void
apppass_revoke_body(struct http_request *req, struct json_object *o)
{
	struct auth	 a;
	const char	*name;

	if (auth_check(req, APPPASS_MANAGE_AUTH, &a) == -1 ||
	    (name = apppass_name(req, o)) == NULL)
		goto out;
	if (apppass_revoke(fe->db, a.did, name) == -1)
		internal_error(req);
	else
		empty_reply(req);
 out:
	json_object_put(o);
}

static void
apppass_revoke_one(struct http_request *req)
{
	struct auth	 a;

	if (auth_check(req, APPPASS_MANAGE_AUTH, &a) == 0)
		xrpc_read_json(req, XRPC_JSON_MAX, apppass_revoke_body);
}
