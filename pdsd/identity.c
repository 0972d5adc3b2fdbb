/*
 * Identity: the server's public URL, the accounts' DID documents, the
 * PLC operations signed for them, handle resolution and /.well-known.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json.h>
#include <sqlite3.h>

#include "auth.h"
#include "cbor.h"
#include "cid.h"
#include "crypto.h"
#include "dm.h"
#include "encoding.h"
#include "http.h"
#include "log.h"
#include "pdsd.h"
#include "repo.h"
#include "syntax.h"
#include "xrpc.h"

#define WELLKNOWN_MAX	2048	/* an atproto-did answer */

/* updateHandle in flight: signerd signs, the directory takes it. */
struct handle_upd {
	struct http_request	*req;
	char			 did[DID_MAX + 1];
	char			 handle[HANDLE_MAX + 1];
	uint8_t			*op;	/* unsigned, then signed */
	size_t			 oplen;
	char			 prev[CID_STRSZ];	/* op follows */
};

/* resolveHandle of a handle hosted elsewhere. */
struct handle_res {
	struct http_request	*req;
	struct handle_upd	*upd;	/* set for updateHandle */
};

static void	identity_resolve_handle(struct http_request *);
static void	identity_update_handle(struct http_request *);
static void	identity_recommended(struct http_request *);
static void	upd_resolved(struct handle_upd *, const char *);
static void	upd_signed(void *, const uint8_t *, const char *,
		    const char *);
static void	upd_submitted(void *, const char *);

const struct xrpc_method xrpc_identity_methods[] = {
	{ "com.atproto.identity.resolveHandle", XRPC_QUERY,
	    identity_resolve_handle },
	{ "com.atproto.identity.updateHandle", XRPC_PROCEDURE,
	    identity_update_handle },
	{ "com.atproto.identity.getRecommendedDidCredentials", XRPC_QUERY,
	    identity_recommended },
	{ NULL, 0, NULL },
};

/* Top-level domains the handle spec never resolves. */
static const char *const banned_tlds[] = {
	".alt", ".arpa", ".example", ".internal", ".invalid", ".local",
	".localhost", ".onion",
};

/*
 * Where clients reach us: https://HOSTNAME, or, for the built-in
 * "localhost", plain http on the first listening port, as the
 * reference does in development.
 */
const char *
identity_endpoint(void)
{
	static char		 url[PDSD_HOST_MAX + 32];
	struct listen_addr	*la;

	if (strcmp(fe->cfg.hostname, "localhost") == 0) {
		la = TAILQ_FIRST(&fe->listens);
		snprintf(url, sizeof(url), "http://localhost:%u",
		    la != NULL ? la->port : PDSD_DEFAULT_PORT);
	} else
		snprintf(url, sizeof(url), "https://%s", fe->cfg.hostname);
	return url;
}

void
identity_now(char *buf, size_t len)
{
	db_now(buf, len);
}

/*
 * The operation in *op replaced by the same with its signature, "sig":
 * base64url, re-encoded.  On failure *op is left as it was.
 */
int
identity_sign_op(uint8_t **op, size_t *len, const uint8_t *sig)
{
	struct dm	*m;
	uint8_t		*out;
	size_t		 outlen;
	char		 b64[BASE64_ENCLEN(SIG_LEN) + 1];

	if (dm_cbor_decode(*op, *len, &m, NULL) == -1)
		return -1;
	base64url_encode(sig, SIG_LEN, b64, sizeof(b64));
	if (dm_map_set(m, "sig", dm_str(b64)) == -1 ||
	    (out = dm_cbor_encode_mem(m, &outlen)) == NULL) {
		dm_free(m);
		return -1;
	}
	dm_free(m);
	free(*op);
	*op = out;
	*len = outlen;
	return 0;
}

/* Append a signed operation to the DID's log (inside a transaction). */
int
identity_store_op(const char *did, const uint8_t *op, size_t len)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct cid		 c;
	char			 cs[CID_STRSZ], now[32];

	cid_of_bytes(&c, CID_CODEC_DAGCBOR, op, len);
	if (cid_to_str(&c, cs, sizeof(cs)) == -1)
		return -1;
	db_now(now, sizeof(now));
	st = db_stmt(fe->db, &cache, "INSERT INTO plc_op "
	    "(did, seq, cid, op, created_at) VALUES (?1, "
	    "(SELECT coalesce(max(seq), 0) + 1 FROM plc_op WHERE did = ?1), "
	    "?2, ?3, ?4)");
	if (st == NULL ||
	    sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, cs, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 3, op, (int)len, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_text(st, 4, now, -1, SQLITE_TRANSIENT) != SQLITE_OK)
		return -1;
	return db_step_done(fe->db, st);
}

/* did, handle and signing key of a hosted account: 0, 1 none, -1. */
static int
account_identity(const char *key, int by_handle, char *did, size_t didlen,
    char *handle, size_t hlen, char *didkey, size_t klen)
{
	static sqlite3_stmt	*by_did_c, *by_handle_c;
	sqlite3_stmt		*st;
	int			 rc;

	if (by_handle)
		st = db_stmt(fe->db, &by_handle_c, "SELECT did, handle, "
		    "signing_key FROM account WHERE handle = ?");
	else
		st = db_stmt(fe->db, &by_did_c, "SELECT did, handle, "
		    "signing_key FROM account WHERE did = ?");
	if (db_bind_strs(st, 1, key, NULL) == -1 ||
	    (rc = db_step_row(fe->db, st, "account")) == -1)
		return -1;
	if (rc == 0)
		return 1;
	strlcpy(did, (const char *)sqlite3_column_text(st, 0), didlen);
	strlcpy(handle, (const char *)sqlite3_column_text(st, 1), hlen);
	strlcpy(didkey, (const char *)sqlite3_column_text(st, 2), klen);
	sqlite3_reset(st);
	return 0;
}

static struct json_object *
json_strings(const char *const *v, size_t n)
{
	struct json_object	*a = json_object_new_array();
	size_t			 i;

	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/* The "service" list of a DID document: this server as the PDS. */
static struct json_object *
pds_services(void)
{
	struct json_object	*svc, *a;

	svc = json_object_new_object();
	json_object_object_add(svc, "id", json_object_new_string("#atproto_pds"));
	json_object_object_add(svc, "type",
	    json_object_new_string("AtprotoPersonalDataServer"));
	json_object_object_add(svc, "serviceEndpoint",
	    json_object_new_string(identity_endpoint()));
	a = json_object_new_array();
	json_object_array_add(a, svc);
	return a;
}

/*
 * The DID document of a hosted account, as the reference serves it, or
 * NULL.  The caller owns it.
 */
struct json_object *
identity_did_doc(const char *did)
{
	static const char *const ctx[] = {
		"https://www.w3.org/ns/did/v1",
		"https://w3id.org/security/multikey/v1",
		"https://w3id.org/security/suites/secp256k1-2019/v1",
	};
	struct json_object	*doc, *vm, *a;
	char			 d[DID_MAX + 1], h[HANDLE_MAX + 1], k[128];
	char			 id[DID_MAX + 16], aka[HANDLE_MAX + 8];
	const char		*akav[1];

	if (account_identity(did, 0, d, sizeof(d), h, sizeof(h), k,
	    sizeof(k)) != 0 || strncmp(k, "did:key:", 8) != 0)
		return NULL;
	doc = json_object_new_object();
	json_object_object_add(doc, "@context", json_strings(ctx, 3));
	json_object_object_add(doc, "id", json_object_new_string(d));
	snprintf(aka, sizeof(aka), "at://%s", h);
	akav[0] = aka;
	json_object_object_add(doc, "alsoKnownAs", json_strings(akav, 1));
	vm = json_object_new_object();
	snprintf(id, sizeof(id), "%s#atproto", d);
	json_object_object_add(vm, "id", json_object_new_string(id));
	json_object_object_add(vm, "type", json_object_new_string("Multikey"));
	json_object_object_add(vm, "controller", json_object_new_string(d));
	json_object_object_add(vm, "publicKeyMultibase",
	    json_object_new_string(k + 8));
	a = json_object_new_array();
	json_object_array_add(a, vm);
	json_object_object_add(doc, "verificationMethod", a);
	json_object_object_add(doc, "service", pds_services());
	return doc;
}

/*
 * The DID in a /.well-known/atproto-did answer: its first line, trimmed,
 * if that is a DID.  0 or -1.
 */
int
identity_wellknown_parse(const char *body, size_t len, char *did,
    size_t didlen)
{
	size_t	 n;

	while (len > 0 && (*body == ' ' || *body == '\t' || *body == '\r' ||
	    *body == '\n')) {
		body++;
		len--;
	}
	for (n = 0; n < len && body[n] != '\n' && body[n] != '\r'; n++)
		;
	while (n > 0 && (body[n - 1] == ' ' || body[n - 1] == '\t'))
		n--;
	if (n < 4 || n >= didlen || memcmp(body, "did:", 4) != 0 ||
	    memchr(body, '\0', n) != NULL || !syntax_is_did(body, n))
		return -1;
	memcpy(did, body, n);
	did[n] = '\0';
	return 0;
}

/* A lookup is over: did is what the handle named, or NULL. */
static void
res_done(struct handle_res *r, const char *did)
{
	struct json_object	*o;

	if (r->upd != NULL)
		upd_resolved(r->upd, did);
	else if (did == NULL)
		xrpc_error(r->req, 400, "HandleNotFound",
		    "Unable to resolve handle");
	else {
		o = json_object_new_object();
		json_object_object_add(o, "did", json_object_new_string(did));
		xrpc_reply_json(r->req, 200, o);
	}
	free(r);
}

static void
res_fetched(void *arg, int status, const char *body, size_t len,
    const char *err)
{
	char	 did[DID_MAX + 1];

	if (err != NULL || status < 200 || status > 299 ||
	    identity_wellknown_parse(body, len, did, sizeof(did)) == -1) {
		log_debug("handle resolution: %s", err != NULL ? err :
		    "no DID in the answer");
		res_done(arg, NULL);
		return;
	}
	res_done(arg, did);
}

/*
 * Only https://HANDLE/.well-known/atproto-did, through plc.c: the DNS
 * TXT lookup the spec also names would need the blocking resolver on a
 * thread of its own (and a resolv.conf inside the chroot), so handles
 * proved only by DNS do not resolve here yet.  0, or -1 (not started).
 */
static int
resolve_external(struct http_request *req, struct handle_upd *u,
    const char *handle)
{
	struct handle_res	*r;
	char			 url[HANDLE_MAX + 64];

	if (handle_has_suffix(handle, strlen(handle), banned_tlds,
	    sizeof(banned_tlds) / sizeof(banned_tlds[0])))
		return -1;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->req = req;
	r->upd = u;
	snprintf(url, sizeof(url), "https://%s/.well-known/atproto-did",
	    handle);
	if (fetch_buffered(url, NULL, WELLKNOWN_MAX, 3, res_fetched, r) == -1) {
		free(r);
		return -1;
	}
	return 0;
}

static void
identity_resolve_handle(struct http_request *req)
{
	const char		*nsid = "com.atproto.identity.resolveHandle";
	struct json_object	*o;
	char			 raw[HANDLE_MAX + 2], handle[HANDLE_MAX + 1];
	char			 did[DID_MAX + 1], h[HANDLE_MAX + 1], k[128];
	int			 r;

	if ((r = xrpc_param(req, "handle", nsid, raw, sizeof(raw))) == -1)
		return;
	if (r == 0) {
		xrpc_error(req, 400, "InvalidRequest", "Invalid %s params: "
		    "Missing required key \"handle\"", nsid);
		return;
	}
	if (handle_normalize(raw, strlen(raw), handle, sizeof(handle)) ==
	    -1) {
		xrpc_error(req, 400, "InvalidRequest", "Invalid %s params: "
		    "Invalid handle (got \"%s\")", nsid, raw);
		return;
	}
	if ((r = account_identity(handle, 1, did, sizeof(did), h, sizeof(h),
	    k, sizeof(k))) == -1) {
		xrpc_error(req, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	/* Ours would be in the table: only others are looked up. */
	if (r == 1 && (account_handle_domain(handle) != NULL ||
	    resolve_external(req, NULL, handle) == -1)) {
		xrpc_error(req, 400, "HandleNotFound",
		    "Unable to resolve handle");
		return;
	}
	if (r == 1)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "did", json_object_new_string(did));
	xrpc_reply_json(req, 200, o);
}

/*
 * /.well-known/atproto-did: the DID of the local handle the request's
 * Host names, as plain text.
 */
void
identity_well_known_did(struct http_request *req)
{
	const char	*host = http_request_header(req, "Host");
	char		 handle[HANDLE_MAX + 1], did[DID_MAX + 1];
	char		 h[HANDLE_MAX + 1], k[128];
	size_t		 n;

	if (host == NULL || (n = strcspn(host, ":")) == 0 ||
	    handle_normalize(host, n, handle, sizeof(handle)) == -1 ||
	    account_identity(handle, 1, did, sizeof(did), h, sizeof(h), k,
	    sizeof(k)) != 0) {
		http_reply(req, 404, "text/plain; charset=utf-8",
		    "User not found\n", 15);
		return;
	}
	http_reply(req, 200, "text/plain; charset=utf-8", did, strlen(did));
}

/* /.well-known/did.json: the server's own did:web document. */
void
identity_well_known_doc(struct http_request *req)
{
	struct json_object	*doc, *a;
	char			 did[8 + PDSD_HOST_MAX + 1];

	snprintf(did, sizeof(did), "did:web:%s", fe->cfg.hostname);
	doc = json_object_new_object();
	a = json_object_new_array();
	json_object_array_add(a,
	    json_object_new_string("https://www.w3.org/ns/did/v1"));
	json_object_object_add(doc, "@context", a);
	json_object_object_add(doc, "id", json_object_new_string(did));
	json_object_object_add(doc, "service", pds_services());
	xrpc_reply_json(req, 200, doc);
}

/*
 * com.atproto.identity.updateHandle: a new PLC operation that differs
 * from the last in alsoKnownAs, signed by signerd with the rotation
 * key, sent to the directory when there is one, then the handle, the
 * operation and the #identity event in one transaction.
 */
#define UPD_AUTH	(AUTH_ACCESS_APP | AUTH_CHECK_TAKEDOWN)

static void
upd_free(struct handle_upd *u)
{
	free(u->op);
	free(u);
}

static void
upd_fail(struct handle_upd *u, int status, const char *name,
    const char *msg)
{
	xrpc_error(u->req, status, name, "%s", msg);
	upd_free(u);
}

static int
tld_banned(const char *handle)
{
	return handle_has_suffix(handle, strlen(handle), banned_tlds,
	    sizeof(banned_tlds) / sizeof(banned_tlds[0]));
}

static void
upd_body(struct http_request *req, struct json_object *o)
{
	struct handle_upd	*u;
	struct auth		 a;
	const char		*h;
	int			 r;

	if (auth_check(req, UPD_AUTH, &a) == -1)
		goto out;
	if ((h = xrpc_json_str(o, "handle")) == NULL) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Input must have the property \"handle\"");
		goto out;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL) {
		xrpc_error(req, 500, "InternalServerError",
		    "Internal Server Error");
		goto out;
	}
	u->req = req;
	strlcpy(u->did, a.did, sizeof(u->did));
	if ((r = account_check_handle(req, h, u->handle, sizeof(u->handle),
	    1)) == -1)
		upd_free(u);
	else if (r == 1 && tld_banned(u->handle))
		upd_fail(u, 400, "InvalidHandle",
		    "Handle TLD is invalid or disallowed");
	else if (r == 0)
		upd_resolved(u, u->did);
	else if (resolve_external(req, u, u->handle) == -1)
		upd_resolved(u, NULL);
 out:
	json_object_put(o);
}

static void
identity_update_handle(struct http_request *req)
{
	struct auth	 a;

	/* Refuse before reading the body; the body callback checks again. */
	if (auth_check(req, UPD_AUTH, &a) == 0)
		xrpc_read_json(req, XRPC_JSON_MAX, upd_body);
}

/* The last operation in a DID's log, decoded, and its CID: 0, 1, -1. */
static int
last_op(const char *did, struct dm **op, char *cid, size_t cidlen)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	const char		*c;
	int			 rc, rv = -1;

	st = db_stmt(fe->db, &cache, "SELECT cid, op FROM plc_op "
	    "WHERE did = ? ORDER BY seq DESC LIMIT 1");
	if (st == NULL || sqlite3_bind_text(st, 1, did, -1,
	    SQLITE_STATIC) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		rv = 1;
	else if (rc == SQLITE_ROW &&
	    (c = (const char *)sqlite3_column_text(st, 0)) != NULL &&
	    strlcpy(cid, c, cidlen) < cidlen &&
	    dm_cbor_decode(sqlite3_column_blob(st, 1),
	    (size_t)sqlite3_column_bytes(st, 1), op, NULL) == 0)
		rv = 0;
	sqlite3_reset(st);
	return rv;
}

static int
is_aturi(const struct dm *v)
{
	return v->type == DM_STR && strncmp(v->u.s.p, "at://", 5) == 0;
}

/*
 * alsoKnownAs with the handle in place of the first at:// entry, or in
 * front when there is none, as the reference changes it.
 */
static struct dm *
aka_with(const struct dm *old, const char *handle)
{
	struct dm	*aka;
	char		 uri[8 + HANDLE_MAX + 1];
	size_t		 i, n;
	int		 put = 0;

	n = old != NULL && old->type == DM_ARRAY ? old->u.arr.n : 0;
	snprintf(uri, sizeof(uri), "at://%s", handle);
	aka = dm_array();
	for (i = 0; i < n && !put; i++)
		put = is_aturi(old->u.arr.v[i]);
	if (!put)
		dm_array_push(aka, dm_str(uri));
	for (i = 0; i < n; i++) {
		if (put && is_aturi(old->u.arr.v[i])) {
			dm_array_push(aka, dm_str(uri));
			put = 0;
		} else
			dm_array_push(aka, dm_copy(old->u.arr.v[i]));
	}
	return aka;
}

/* The unsigned update operation into u->op: 0, 1 no log here, -1. */
static int
update_op(struct handle_upd *u)
{
	struct dm	*m;
	const char	*type;
	int		 r;

	if ((r = last_op(u->did, &m, u->prev, sizeof(u->prev))) != 0)
		return r;
	r = -1;
	if ((type = dm_map_get_str(m, "type", NULL)) != NULL &&
	    strcmp(type, "plc_operation") == 0) {
		dm_map_del(m, "sig");
		if (dm_map_set(m, "prev", dm_str(u->prev)) == 0 &&
		    dm_map_set(m, "alsoKnownAs", aka_with(dm_map_get(m,
		    "alsoKnownAs"), u->handle)) == 0 &&
		    (u->op = dm_cbor_encode_mem(m, &u->oplen)) != NULL)
			r = 0;
	}
	dm_free(m);
	return r;
}

/*
 * Another update of the DID landed while this one was signed or sent:
 * storing this one too would fork the log.
 */
static int
upd_overtaken(struct handle_upd *u)
{
	struct dm	*m;
	char		 cid[CID_STRSZ];

	if (last_op(u->did, &m, cid, sizeof(cid)) != 0)
		return 1;
	dm_free(m);
	return strcmp(cid, u->prev) != 0;
}

/* Inside the transaction: 0, 1 taken or overtaken meanwhile, -1. */
static int
upd_store(struct handle_upd *u)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	int			 rc;

	if (u->op != NULL && upd_overtaken(u))
		return 1;

	st = db_stmt(fe->db, &cache,
	    "UPDATE account SET handle = ? WHERE did = ?");
	if (st == NULL ||
	    sqlite3_bind_text(st, 1, u->handle, -1, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_text(st, 2, u->did, -1, SQLITE_STATIC) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT)
		return 1;
	if (rc != SQLITE_DONE ||
	    (u->op != NULL && identity_store_op(u->did, u->op,
	    u->oplen) == -1) ||
	    events_identity(fe->db, u->did, u->handle) == -1)
		return -1;
	return 0;
}

static void
upd_commit(struct handle_upd *u)
{
	int	 r = -1;

	if (db_begin(fe->db) == 0 && (r = upd_store(u)) == 0 &&
	    (r = db_commit(fe->db)) == 0) {
		events_notify();
		log_info("handle of %s is now %s", u->did, u->handle);
		http_reply(u->req, 200, NULL, NULL, 0);
		upd_free(u);
		return;
	}
	db_rollback(fe->db);
	if (r == 1) {
		xrpc_error(u->req, 400, "InvalidRequest", "Handle already "
		    "taken or changed meanwhile: %s", u->handle);
		upd_free(u);
	} else
		upd_fail(u, 500, "InternalServerError",
		    "Internal Server Error");
}

/* The handle names did (NULL: it did not resolve); on to the op. */
static void
upd_resolved(struct handle_upd *u, const char *did)
{
	char	 owner[DID_MAX + 1], h[HANDLE_MAX + 1], k[128];
	int	 r;

	if (did == NULL || strcmp(did, u->did) != 0) {
		upd_fail(u, 400, "InvalidRequest",
		    "External handle did not resolve to DID");
		return;
	}
	if ((r = account_identity(u->handle, 1, owner, sizeof(owner), h,
	    sizeof(h), k, sizeof(k))) == 0 && strcmp(owner, u->did) != 0) {
		xrpc_error(u->req, 400, "InvalidRequest",
		    "Handle already taken: %s", u->handle);
		upd_free(u);
		return;
	}
	/* Already ours: the reference only announces it again. */
	if (r == 0) {
		upd_commit(u);
		return;
	}
	if (r == -1 || (r = update_op(u)) == -1) {
		upd_fail(u, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	if (r == 1) {
		upd_fail(u, 400, "InvalidRequest",
		    "This account's DID is not managed by this server");
		return;
	}
	if (signer_sign_plc_op(u->op, u->oplen, upd_signed, u) == -1)
		upd_fail(u, 503, "InternalServerError", "Signer unavailable");
}

static void
upd_signed(void *arg, const uint8_t *sig, const char *did, const char *err)
{
	struct handle_upd	*u = arg;

	if (sig == NULL) {
		log_warnx("updateHandle %s: PLC operation not signed: %s",
		    u->did, err != NULL ? err : "?");
		upd_fail(u, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	if (identity_sign_op(&u->op, &u->oplen, sig) == -1) {
		upd_fail(u, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	if (!plc_configured())
		upd_commit(u);
	else if (plc_submit(u->did, u->op, u->oplen, upd_submitted, u) == -1)
		upd_fail(u, 500, "InternalServerError",
		    "Internal Server Error");
}

static void
upd_submitted(void *arg, const char *err)
{
	struct handle_upd	*u = arg;

	if (err != NULL) {
		log_warnx("updateHandle %s: %s", u->did, err);
		upd_fail(u, 502, "UpstreamFailure", err);
		return;
	}
	upd_commit(u);
}

/*
 * com.atproto.identity.getRecommendedDidCredentials: what a DID should
 * hold to move here (a migration's target account is deactivated, so
 * deactivated accounts may ask).
 */
static void
identity_recommended(struct http_request *req)
{
	struct json_object	*o, *vm, *svc, *pds;
	struct auth		 a;
	char			 d[DID_MAX + 1], h[HANDLE_MAX + 1], k[128];
	char			 aka[HANDLE_MAX + 8];
	const char		*v[1];

	if (auth_check(req, AUTH_ACCESS_APP, &a) == -1)
		return;
	if (account_identity(a.did, 0, d, sizeof(d), h, sizeof(h), k,
	    sizeof(k)) != 0) {
		xrpc_error(req, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	o = json_object_new_object();
	snprintf(aka, sizeof(aka), "at://%s", h);
	v[0] = aka;
	json_object_object_add(o, "alsoKnownAs", json_strings(v, 1));
	vm = json_object_new_object();
	json_object_object_add(vm, "atproto", json_object_new_string(k));
	json_object_object_add(o, "verificationMethods", vm);
	v[0] = fe->rotation_key;
	json_object_object_add(o, "rotationKeys", json_strings(v, 1));
	pds = json_object_new_object();
	json_object_object_add(pds, "type",
	    json_object_new_string("AtprotoPersonalDataServer"));
	json_object_object_add(pds, "endpoint",
	    json_object_new_string(identity_endpoint()));
	svc = json_object_new_object();
	json_object_object_add(svc, "atproto_pds", pds);
	json_object_object_add(o, "services", svc);
	xrpc_reply_json(req, 200, o);
}
