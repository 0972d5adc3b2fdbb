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

#include "cbor.h"
#include "cid.h"
#include "crypto.h"
#include "dm.h"
#include "encoding.h"
#include "http.h"
#include "log.h"
#include "pdsd.h"
#include "syntax.h"
#include "xrpc.h"

static void	identity_resolve_handle(struct http_request *);

const struct xrpc_method xrpc_identity_methods[] = {
	{ "com.atproto.identity.resolveHandle", XRPC_QUERY,
	    identity_resolve_handle },
	{ NULL, 0, NULL },
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

/* The operation with its signature, "sig": base64url, re-encoded. */
int
identity_sign_op(const uint8_t *op, size_t len, const uint8_t *sig,
    uint8_t **out, size_t *outlen)
{
	struct dm	*m;
	char		 b64[BASE64_ENCLEN(SIG_LEN) + 1];

	if (dm_cbor_decode(op, len, &m, NULL) == -1)
		return -1;
	base64url_encode(sig, SIG_LEN, b64, sizeof(b64));
	if (dm_map_set(m, "sig", dm_str(b64)) == -1 ||
	    (*out = dm_cbor_encode_mem(m, outlen)) == NULL) {
		dm_free(m);
		return -1;
	}
	dm_free(m);
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
	int			 rc, rv = -1;

	if (by_handle)
		st = db_stmt(fe->db, &by_handle_c, "SELECT did, handle, "
		    "signing_key FROM account WHERE handle = ?");
	else
		st = db_stmt(fe->db, &by_did_c, "SELECT did, handle, "
		    "signing_key FROM account WHERE did = ?");
	if (st == NULL || sqlite3_bind_text(st, 1, key, -1,
	    SQLITE_STATIC) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		rv = 1;
	else if (rc == SQLITE_ROW) {
		strlcpy(did, (const char *)sqlite3_column_text(st, 0), didlen);
		strlcpy(handle, (const char *)sqlite3_column_text(st, 1),
		    hlen);
		strlcpy(didkey, (const char *)sqlite3_column_text(st, 2),
		    klen);
		rv = 0;
	}
	sqlite3_reset(st);
	return rv;
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
	if (r == 1) {
		xrpc_error(req, 400, "HandleNotFound",
		    "Unable to resolve handle");
		return;
	}
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
