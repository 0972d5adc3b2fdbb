/*
 * Muting, answered here when no AppView is configured (with one, the
 * reference sends these calls there and xrpc.c does the same): mutes
 * are private, kept in the service tables (0009_prefs.sql), never in
 * the repository.  app.bsky.graph.muteActor, unmuteActor, getMutes,
 * muteActorList and unmuteActorList.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>
#include <sqlite3.h>

#include "auth.h"
#include "cbor.h"
#include "cid.h"
#include "dm.h"
#include "http.h"
#include "log.h"
#include "pdsd.h"
#include "repo_store.h"
#include "syntax.h"
#include "xrpc.h"

#define MUTE_AUTH	AUTH_ACCESS_APP
#define GETMUTES	"app.bsky.graph.getMutes"

static void	mute_actor(struct http_request *);
static void	unmute_actor(struct http_request *);
static void	mute_list(struct http_request *);
static void	unmute_list(struct http_request *);
static void	get_mutes(struct http_request *);

const struct xrpc_method xrpc_mute_methods[] = {
	{ "app.bsky.graph.muteActor", XRPC_PROCEDURE, mute_actor },
	{ "app.bsky.graph.unmuteActor", XRPC_PROCEDURE, unmute_actor },
	{ "app.bsky.graph.muteActorList", XRPC_PROCEDURE, mute_list },
	{ "app.bsky.graph.unmuteActorList", XRPC_PROCEDURE, unmute_list },
	{ GETMUTES, XRPC_QUERY, get_mutes },
	{ NULL, 0, NULL },
};

/*
 * The displayName and avatar of a local account's profile record,
 * added to view.  The index (0008) can answer this later; until then
 * the record is read from the repository.
 */
static void
profile_from_repo(struct json_object *view, const char *did)
{
	struct dm		*rec = NULL, *av;
	const struct cid	*ref;
	struct cid		 c;
	uint8_t			*buf = NULL;
	size_t			 len;
	const char		*name;
	char			 cs[CID_STRSZ], url[PDSD_HOST_MAX + DID_MAX +
				    CID_STRSZ + 64];

	if (rstore_get_record(fe->db, did, "app.bsky.actor.profile", "self",
	    &c) != 0 || rstore_get_block(fe->db, did, &c, &buf, &len) != 0 ||
	    dm_cbor_decode(buf, len, &rec, NULL) == -1)
		goto out;
	if ((name = dm_map_get_str(rec, "displayName", NULL)) != NULL)
		json_object_object_add(view, "displayName",
		    json_object_new_string(name));
	if ((av = dm_map_get(rec, "avatar")) != NULL &&
	    (ref = dm_map_get_link(av, "ref")) != NULL &&
	    cid_to_str(ref, cs, sizeof(cs)) == 0) {
		snprintf(url, sizeof(url), "%s/xrpc/com.atproto.sync.getBlob"
		    "?did=%s&cid=%s", identity_endpoint(), did, cs);
		json_object_object_add(view, "avatar",
		    json_object_new_string(url));
	}
 out:
	dm_free(rec);
	free(buf);
}

/*
 * app.bsky.actor.defs#profileView of an actor as far as this server
 * knows it: a hosted account's handle and profile; any other DID with
 * the handle the reference gives an unknown one.
 */
struct json_object *
profile_view_basic(const char *did)
{
	struct json_object	*o;
	struct auth_account	 acct;
	int			 local;

	local = auth_account_find(fe->db, did, &acct) == 0;
	o = json_object_new_object();
	json_object_object_add(o, "did", json_object_new_string(did));
	json_object_object_add(o, "handle", json_object_new_string(local ?
	    acct.handle : "handle.invalid"));
	if (local)
		profile_from_repo(o, did);
	auth_account_clear(&acct);
	return o;
}

/* The actor of a mute request as a DID: 0, or -1 answered. */
static int
mute_subject(struct http_request *req, struct json_object *o,
    const struct auth *a, char *did, size_t len)
{
	struct auth_account	 acct;
	const char		*actor;
	int			 rc;

	if (xrpc_field_str(req, o, "$", "actor", XRPC_FMT_ATID, 1,
	    &actor) == -1)
		return -1;
	if (strncmp(actor, "did:", 4) == 0)
		strlcpy(did, actor, len);
	else {
		/* A handle: only ours resolve without the network. */
		if ((rc = auth_account_find(fe->db, actor, &acct)) == 0)
			strlcpy(did, acct.did, len);
		auth_account_clear(&acct);
		if (rc == -1) {
			xrpc_internal_error(req);
			return -1;
		}
		if (rc == 1 || strchr(actor, '@') != NULL) {
			xrpc_error(req, 400, "InvalidRequest",
			    "Actor not found");
			return -1;
		}
	}
	if (strcmp(did, a->did) == 0) {
		xrpc_error(req, 400, "InvalidRequest", "Cannot mute oneself");
		return -1;
	}
	return 0;
}

static void
mute_write(struct http_request *req, struct json_object *o, int on)
{
	static sqlite3_stmt	*ins, *del;
	sqlite3_stmt		*st;
	struct auth		 a;
	char			 did[DID_MAX + 1], now[32];

	if (auth_check(req, MUTE_AUTH, &a) == -1 ||
	    mute_subject(req, o, &a, did, sizeof(did)) == -1)
		goto out;
	db_now(now, sizeof(now));
	if (on)
		st = db_stmt(fe->db, &ins, "INSERT OR IGNORE INTO actor_mute "
		    "(did, subject, created_at) VALUES (?, ?, ?)");
	else
		st = db_stmt(fe->db, &del, "DELETE FROM actor_mute "
		    "WHERE did = ? AND subject = ?");
	if (db_bind_strs(st, 1, a.did, did, on ? now : NULL, NULL) == -1 ||
	    db_step_done(fe->db, st) == -1) {
		xrpc_internal_error(req);
		goto out;
	}
	http_reply(req, 200, NULL, NULL, 0);
 out:
	json_object_put(o);
}

static void
mute_on(struct http_request *req, struct json_object *o)
{
	mute_write(req, o, 1);
}

static void
mute_off(struct http_request *req, struct json_object *o)
{
	mute_write(req, o, 0);
}

static void
mute_actor(struct http_request *req)
{
	xrpc_read_json(req, XRPC_JSON_MAX, mute_on);
}

static void
unmute_actor(struct http_request *req)
{
	xrpc_read_json(req, XRPC_JSON_MAX, mute_off);
}

/* A list is muted by its at-uri; the list itself may live anywhere. */
static void
list_write(struct http_request *req, struct json_object *o, int on)
{
	static sqlite3_stmt	*ins, *del;
	sqlite3_stmt		*st;
	struct auth		 a;
	const char		*list;
	char			 now[32];

	if (auth_check(req, MUTE_AUTH, &a) == -1 ||
	    xrpc_field_str(req, o, "$", "list", XRPC_FMT_ANY, 1, &list) == -1)
		goto out;
	if (!syntax_is_aturi(list, strlen(list))) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Invalid AT URI (got \"%.256s\") at $.list", list);
		goto out;
	}
	db_now(now, sizeof(now));
	if (on)
		st = db_stmt(fe->db, &ins, "INSERT OR IGNORE INTO list_mute "
		    "(did, list_uri, created_at) VALUES (?, ?, ?)");
	else
		st = db_stmt(fe->db, &del, "DELETE FROM list_mute "
		    "WHERE did = ? AND list_uri = ?");
	if (db_bind_strs(st, 1, a.did, list, on ? now : NULL, NULL) == -1 ||
	    db_step_done(fe->db, st) == -1) {
		xrpc_internal_error(req);
		goto out;
	}
	http_reply(req, 200, NULL, NULL, 0);
 out:
	json_object_put(o);
}

static void
list_on(struct http_request *req, struct json_object *o)
{
	list_write(req, o, 1);
}

static void
list_off(struct http_request *req, struct json_object *o)
{
	list_write(req, o, 0);
}

static void
mute_list(struct http_request *req)
{
	xrpc_read_json(req, XRPC_JSON_MAX, list_on);
}

static void
unmute_list(struct http_request *req)
{
	xrpc_read_json(req, XRPC_JSON_MAX, list_off);
}

/* Newest first; the cursor is the last row's id. */
static void
get_mutes(struct http_request *req)
{
	static sqlite3_stmt	*c;
	sqlite3_stmt		*st;
	struct auth		 a;
	struct json_object	*o, *list, *v, *viewer;
	long long		 limit, last = 0;
	char			 cur[32], *end, next[32];
	int			 rc, r, n = 0;

	if (auth_check(req, MUTE_AUTH, &a) == -1 ||
	    xrpc_param_int(req, GETMUTES, "limit", 1, 100, 50, &limit) == -1 ||
	    (r = xrpc_param(req, "cursor", GETMUTES, cur, sizeof(cur))) == -1)
		return;
	if (r == 0)
		strlcpy(cur, "9223372036854775807", sizeof(cur));
	else if (strtoll(cur, &end, 10) <= 0 || *end != '\0') {
		xrpc_error(req, 400, "InvalidRequest", "Malformed cursor");
		return;
	}
	st = db_stmt(fe->db, &c, "SELECT id, subject FROM actor_mute "
	    "WHERE did = ? AND id < CAST(? AS INTEGER) ORDER BY id DESC "
	    "LIMIT ?");
	if (db_bind_strs(st, 1, a.did, cur, NULL) == -1 ||
	    sqlite3_bind_int64(st, 3, limit) != SQLITE_OK) {
		xrpc_internal_error(req);
		return;
	}
	list = json_object_new_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		last = sqlite3_column_int64(st, 0);
		v = profile_view_basic((const char *)sqlite3_column_text(st,
		    1));
		viewer = json_object_new_object();
		json_object_object_add(viewer, "muted",
		    json_object_new_boolean(1));
		json_object_object_add(v, "viewer", viewer);
		json_object_array_add(list, v);
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_object_put(list);
		xrpc_internal_error(req);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "mutes", list);
	if (n == limit) {
		snprintf(next, sizeof(next), "%lld", last);
		json_object_object_add(o, "cursor",
		    json_object_new_string(next));
	}
	xrpc_reply_json(req, 200, o);
}
