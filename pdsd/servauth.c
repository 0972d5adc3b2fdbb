/*
 * com.atproto.server.getServiceAuth: a short-lived ES256K JWT, signed by
 * signerd with the account's repo key, that lets another service act for
 * the account on one method (lxm) or, briefly, on any.  The rules on
 * lifetime and on which methods may be named are the reference PDS's.
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
#include "jwt.h"
#include "log.h"
#include "pdsd.h"
#include "syntax.h"
#include "xrpc.h"

#define NSID		"com.atproto.server.getServiceAuth"
#define SERVAUTH_AUTH	(AUTH_ACCESS_APP | AUTH_SCOPE_TAKENDOWN)
#define SERVAUTH_TTL	60		/* no exp given */
#define SERVAUTH_MAX	(60 * 60)	/* any token */
#define SERVAUTH_ANY	60		/* a token for every method */
#define FRAGMENT_MAX	64
#define AUD_MAX		(DID_MAX + 1 + FRAGMENT_MAX)
#define JTI_BYTES	16

/*
 * Account management must be done by the account itself, never by a
 * service holding a token for it.  Sorted.
 */
static const char *const protected_methods[] = {
	"com.atproto.admin.sendEmail",
	"com.atproto.identity.requestPlcOperationSignature",
	"com.atproto.identity.signPlcOperation",
	"com.atproto.identity.updateHandle",
	"com.atproto.server.activateAccount",
	"com.atproto.server.confirmEmail",
	"com.atproto.server.createAppPassword",
	"com.atproto.server.deactivateAccount",
	"com.atproto.server.getAccountInviteCodes",
	"com.atproto.server.getSession",
	"com.atproto.server.listAppPasswords",
	"com.atproto.server.requestAccountDelete",
	"com.atproto.server.requestEmailConfirmation",
	"com.atproto.server.requestEmailUpdate",
	"com.atproto.server.revokeAppPassword",
	"com.atproto.server.updateEmail",
};

/* Methods an ordinary app password may not get a token for.  Sorted. */
static const char *const privileged_methods[] = {
	"chat.bsky.actor.deleteAccount",
	"chat.bsky.actor.exportAccountData",
	"chat.bsky.convo.deleteMessageForSelf",
	"chat.bsky.convo.getConvo",
	"chat.bsky.convo.getConvoForMembers",
	"chat.bsky.convo.getLog",
	"chat.bsky.convo.getMessages",
	"chat.bsky.convo.leaveConvo",
	"chat.bsky.convo.listConvos",
	"chat.bsky.convo.muteConvo",
	"chat.bsky.convo.sendMessage",
	"chat.bsky.convo.sendMessageBatch",
	"chat.bsky.convo.unmuteConvo",
	"chat.bsky.convo.updateRead",
	"com.atproto.server.createAccount",
};

struct servauth {
	struct http_request	*req;
	char			*input;		/* the signing input */
	servauth_cb		 cb;
	void			*arg;
};

static int
nsid_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

/* The lists above are sorted, for bsearch. */
static int
listed(const char *s, const char *const *list, size_t n)
{
	return bsearch(s, list, n, sizeof(list[0]), nsid_cmp) != NULL;
}

/* A DID, or a DID and a service id: "did:web:api.bsky.app#bsky_appview". */
static int
aud_ok(const char *aud)
{
	const char	*h = strchr(aud, '#');
	size_t		 n = h != NULL ? (size_t)(h - aud) : strlen(aud);

	if (!syntax_is_did(aud, n))
		return 0;
	if (h == NULL)
		return 1;
	n = strlen(h + 1);
	return n > 0 && n <= FRAGMENT_MAX &&
	    strspn(h + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._~-") == n;
}

int
servauth_protected(const char *lxm)
{
	return listed(lxm, protected_methods, sizeof(protected_methods) /
	    sizeof(protected_methods[0]));
}

int
servauth_privileged(const char *lxm)
{
	return listed(lxm, privileged_methods, sizeof(privileged_methods) /
	    sizeof(privileged_methods[0]));
}

/* NULL when the request may have its token, else why not (and the name). */
static const char *
refusal(const struct auth *a, long long exp, time_t now, const char *lxm,
    const char **name)
{
	static char	 msg[128 + NSID_MAX];

	*name = "BadExpiration";
	if (a->scope == AUTH_SCOPE_TAKENDOWN && (lxm == NULL ||
	    strcmp(lxm, "com.atproto.server.createAccount") != 0)) {
		*name = "InvalidToken";
		return "Bad token scope";
	}
	if (exp != 0 && exp < now)
		return "expiration is in past";
	if (exp != 0 && exp - now > SERVAUTH_MAX)
		return "cannot request a token with an expiration more than "
		    "an hour in the future";
	if (exp != 0 && lxm == NULL && exp - now > SERVAUTH_ANY)
		return "cannot request a method-less token with an expiration "
		    "more than a minute in the future";
	*name = "InvalidRequest";
	if (lxm != NULL && servauth_protected(lxm)) {
		snprintf(msg, sizeof(msg), "cannot request a service auth "
		    "token for the following protected method: %s", lxm);
		return msg;
	}
	if (lxm != NULL && a->scope == AUTH_SCOPE_APPPASS &&
	    servauth_privileged(lxm)) {
		snprintf(msg, sizeof(msg), "insufficient access to request a "
		    "service auth token for the following method: %s", lxm);
		return msg;
	}
	return NULL;
}

/* The unsigned token, claims in the reference's order. */
static char *
signing_input(const char *did, const char *aud, const char *lxm, time_t iat,
    time_t exp)
{
	struct json_object	*h, *p;
	uint8_t			 r[JTI_BYTES];
	char			 jti[JTI_BYTES * 2 + 1];
	char			*input;
	int			 flags = JSON_C_TO_STRING_PLAIN |
				    JSON_C_TO_STRING_NOSLASHESCAPE;

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(jti, sizeof(jti), r, sizeof(r));
	h = json_object_new_object();
	json_object_object_add(h, "typ", json_object_new_string("JWT"));
	json_object_object_add(h, "alg", json_object_new_string("ES256K"));
	p = json_object_new_object();
	json_object_object_add(p, "iat", json_object_new_int64(iat));
	json_object_object_add(p, "iss", json_object_new_string(did));
	json_object_object_add(p, "aud", json_object_new_string(aud));
	json_object_object_add(p, "exp", json_object_new_int64(exp));
	if (lxm != NULL)
		json_object_object_add(p, "lxm", json_object_new_string(lxm));
	json_object_object_add(p, "jti", json_object_new_string(jti));
	input = jwt_signing_input(json_object_to_json_string_ext(h, flags),
	    json_object_to_json_string_ext(p, flags));
	json_object_put(h);
	json_object_put(p);
	return input;
}

static void
servauth_signed(void *arg, const uint8_t *sig, const char *err)
{
	struct servauth	*s = arg;
	char		*tok = NULL;

	if (sig == NULL)
		log_warnx("service token not signed: %s", err);
	else if ((tok = jwt_join(s->input, sig, 64)) == NULL)
		log_warnx("service token: out of memory");
	s->cb(s->arg, tok);
	free(tok);
	free(s->input);
	free(s);
}

/*
 * A service token of did for aud (and lxm, if not NULL) until exp,
 * signed by signerd.  cb gets the token, or NULL (logged), always
 * later; -1 if it never will.
 */
int
servauth_sign(const char *did, const char *aud, const char *lxm, time_t exp,
    servauth_cb cb, void *arg)
{
	struct servauth	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL || (s->input =
	    signing_input(did, aud, lxm, time(NULL), exp)) == NULL) {
		free(s);
		return -1;
	}
	s->cb = cb;
	s->arg = arg;
	if (signer_sign_jwt(did, s->input, servauth_signed, s) == -1) {
		free(s->input);
		free(s);
		return -1;
	}
	return 0;
}

static void
servauth_answer(void *arg, const char *tok)
{
	struct http_request	*req = arg;
	struct json_object	*o;

	if (tok == NULL) {
		xrpc_error(req, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "token", json_object_new_string(tok));
	xrpc_reply_json(req, 200, o);
}

void
servauth_get(struct http_request *req)
{
	struct auth	 a;
	const char	*why, *name;
	char		 aud[AUD_MAX + 1], lxm[NSID_MAX + 1];
	long long	 exp;
	time_t		 now = time(NULL);
	int		 r, has_lxm;

	if (auth_check(req, SERVAUTH_AUTH, &a) == -1)
		return;
	if ((r = xrpc_param(req, "aud", NSID, aud, sizeof(aud))) == -1)
		return;
	if (r == 0) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Invalid %s params: Missing required key \"aud\"", NSID);
		return;
	}
	if (!aud_ok(aud)) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Invalid %s params: Invalid DID (got \"%.256s\")", NSID,
		    aud);
		return;
	}
	if ((has_lxm = xrpc_param_fmt(req, NSID, "lxm", XRPC_FMT_NSID, 0, lxm,
	    sizeof(lxm))) == -1 || xrpc_param_int(req, NSID, "exp",
	    -(1LL << 53), 1LL << 53, 0, &exp) == -1)
		return;
	if ((why = refusal(&a, exp, now, has_lxm ? lxm : NULL, &name)) !=
	    NULL) {
		xrpc_error(req, 400, name, "%s", why);
		return;
	}
	if (servauth_sign(a.did, aud, has_lxm ? lxm : NULL,
	    exp != 0 ? (time_t)exp : now + SERVAUTH_TTL, servauth_answer,
	    req) == -1)
		xrpc_error(req, 503, "NotEnoughResources",
		    "Signer unavailable; try again");
}
