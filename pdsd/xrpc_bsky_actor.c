/*
 * app.bsky.actor.*, app.bsky.graph.* and app.bsky.notification.*
 * reads answered from the local index (appindex.c), and updateSeen.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>
#include <sqlite3.h>

#include "appview.h"
#include "http.h"
#include "log.h"
#include "pdsd.h"
#include "syntax.h"
#include "xrpc.h"

#define ACTOR		"app.bsky.actor."
#define GRAPH		"app.bsky.graph."
#define NOTIF		"app.bsky.notification."
#define PROFILES_MAX	25
#define TERM_MAX	256

static void	actor_profile(struct http_request *);
static void	actor_profiles(struct http_request *);
static void	actor_search(struct http_request *);
static void	actor_typeahead(struct http_request *);
static void	graph_followers(struct http_request *);
static void	graph_follows(struct http_request *);
static void	graph_blocks(struct http_request *);
static void	notif_list(struct http_request *);
static void	notif_unread(struct http_request *);
static void	notif_seen(struct http_request *);

const struct xrpc_method xrpc_bsky_actor_methods[] = {
	{ ACTOR "getProfile",		XRPC_QUERY,	actor_profile },
	{ ACTOR "getProfiles",		XRPC_QUERY,	actor_profiles },
	{ ACTOR "searchActors",		XRPC_QUERY,	actor_search },
	{ ACTOR "searchActorsTypeahead", XRPC_QUERY,	actor_typeahead },
	{ GRAPH "getFollowers",		XRPC_QUERY,	graph_followers },
	{ GRAPH "getFollows",		XRPC_QUERY,	graph_follows },
	{ GRAPH "getBlocks",		XRPC_QUERY,	graph_blocks },
	{ NOTIF "listNotifications",	XRPC_QUERY,	notif_list },
	{ NOTIF "getUnreadCount",	XRPC_QUERY,	notif_unread },
	{ NOTIF "updateSeen",		XRPC_PROCEDURE,	notif_seen },
	{ NULL,				0,		NULL },
};

static const char *
col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static void
actor_profile(struct http_request *req)
{
	struct json_object	*o;
	char			 viewer[DID_MAX + 1], did[DID_MAX + 1];

	if (av_viewer(req, viewer) == -1 ||
	    av_actor(req, ACTOR "getProfile", "actor", did) == -1)
		return;
	if ((o = av_profile(did, viewer, AV_PROFILE_DETAILED)) == NULL) {
		xrpc_internal_error(req);
		return;
	}
	xrpc_reply_json(req, 200, o);
}

/* Unknown actors are left out, as the reference does. */
static void
actor_profiles(struct http_request *req)
{
	struct json_object	*o, *arr, *p;
	const char		*q = http_request_query(req), *bad;
	char			 viewer[DID_MAX + 1], who[DID_MAX + 1];
	char			 did[DID_MAX + 1];
	size_t			 iter = 0, n = 0;
	int			 r;

	if (av_viewer(req, viewer) == -1)
		return;
	arr = json_object_new_array();
	while ((r = http_query_next(q, "actors", &iter, who,
	    sizeof(who))) == 1) {
		if (++n > PROFILES_MAX ||
		    (bad = xrpc_fmt_check(XRPC_FMT_ATID, who)) != NULL) {
			json_object_put(arr);
			if (n > PROFILES_MAX)
				xrpc_error(req, 400, "InvalidRequest", "Invalid "
				    ACTOR "getProfiles params: actors must not "
				    "have more than 25 elements");
			else
				xrpc_error(req, 400, "InvalidRequest", "Invalid "
				    ACTOR "getProfiles params: Invalid %s (got "
				    "\"%.256s\")", bad, who);
			return;
		}
		if (av_resolve(who, did) == 0 &&
		    (p = av_profile(did, viewer, AV_PROFILE_DETAILED)) != NULL)
			json_object_array_add(arr, p);
	}
	if (r == -1 || n == 0) {
		json_object_put(arr);
		xrpc_error(req, 400, "InvalidRequest", r == -1 ? "Invalid "
		    ACTOR "getProfiles params: malformed \"actors\"" :
		    "Invalid " ACTOR "getProfiles params: Missing required "
		    "key \"actors\"");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "profiles", arr);
	xrpc_reply_json(req, 200, o);
}

/*
 * Actor search: handles and display names holding the term (typeahead:
 * starting with it), by handle; the cursor is the last handle.
 */
static void
search(struct http_request *req, const char *nsid, int typeahead)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct json_object	*o, *arr, *p;
	struct av_cursor	 c;
	char			 viewer[DID_MAX + 1], term[TERM_MAX];
	char			 last[HANDLE_MAX + 1];
	long long		 limit;
	int			 r, n = 0, rc;

	if (av_viewer(req, viewer) == -1 ||
	    (r = xrpc_param(req, "q", nsid, term, sizeof(term))) == -1 ||
	    (r == 0 && xrpc_param(req, "term", nsid, term,
	    sizeof(term)) == -1) ||
	    av_limit(req, nsid, typeahead ? 10 : 25, &limit) == -1)
		return;
	memset(&c, 0, sizeof(c));
	if (!typeahead && av_cursor(req, nsid, &c) == -1)
		return;
	if (r == 0 && strlen(term) == 0)
		term[0] = '\0';
	arr = json_object_new_array();
	last[0] = '\0';
	if (term[0] == '\0')
		goto done;
	st = db_stmt(fe->db, &cache, "SELECT a.did, a.handle FROM account a "
	    "LEFT JOIN bsky_profile p ON p.did = a.did WHERE a.status = "
	    "'active' AND CASE WHEN ?2 THEN "
	    "instr(lower(a.handle), lower(?1)) = 1 OR "
	    "instr(lower(coalesce(p.display_name, '')), lower(?1)) = 1 OR "
	    "instr(lower(coalesce(p.display_name, '')), ' ' || lower(?1)) > 0 "
	    "ELSE instr(lower(a.handle), lower(?1)) > 0 OR "
	    "instr(lower(coalesce(p.display_name, '')), lower(?1)) > 0 END "
	    "AND (?3 IS NULL OR a.handle > ?3) ORDER BY a.handle LIMIT ?4");
	if (db_bind_strs(st, 1, term, NULL) == -1 ||
	    sqlite3_bind_int(st, 2, typeahead) != SQLITE_OK ||
	    (c.set ? db_bind_strs(st, 3, c.key, NULL) :
	    sqlite3_bind_null(st, 3)) != 0 ||
	    sqlite3_bind_int64(st, 4, limit) != SQLITE_OK) {
		json_object_put(arr);
		xrpc_internal_error(req);
		return;
	}
	while ((rc = db_step_row(fe->db, st, "search")) == 1) {
		strlcpy(last, col(st, 1), sizeof(last));
		n++;
		if ((p = av_profile(col(st, 0), viewer, typeahead ?
		    AV_PROFILE_BASIC : AV_PROFILE_VIEW)) != NULL)
			json_object_array_add(arr, p);
	}
	sqlite3_reset(st);
done:
	o = json_object_new_object();
	if (!typeahead && n == limit)
		av_set_cursor(o, "h", last);
	json_object_object_add(o, "actors", arr);
	xrpc_reply_json(req, 200, o);
}

static void
actor_search(struct http_request *req)
{
	search(req, ACTOR "searchActors", 0);
}

static void
actor_typeahead(struct http_request *req)
{
	search(req, ACTOR "searchActorsTypeahead", 1);
}

/*
 * Graph lists: which is 0 followers, 1 follows, 2 blocks (the viewer's).
 */
static void
graph_list(struct http_request *req, const char *nsid, int which)
{
	static sqlite3_stmt	*cache[3];
	static const char	*sql[3] = {
		"SELECT uri, did, indexed_at FROM bsky_follow WHERE "
		    "subject = ?1 AND (?2 IS NULL OR (indexed_at, uri) < "
		    "(?2, ?3)) ORDER BY indexed_at DESC, uri DESC LIMIT ?4",
		"SELECT uri, subject, indexed_at FROM bsky_follow WHERE "
		    "did = ?1 AND (?2 IS NULL OR (indexed_at, uri) < "
		    "(?2, ?3)) ORDER BY indexed_at DESC, uri DESC LIMIT ?4",
		"SELECT uri, subject, indexed_at FROM bsky_block WHERE "
		    "did = ?1 AND (?2 IS NULL OR (indexed_at, uri) < "
		    "(?2, ?3)) ORDER BY indexed_at DESC, uri DESC LIMIT ?4",
	};
	static const char	*key[3] = { "followers", "follows", "blocks" };
	sqlite3_stmt		*st;
	struct json_object	*o, *arr, *p, *subject = NULL;
	struct av_cursor	 c;
	char			 viewer[DID_MAX + 1], did[DID_MAX + 1];
	char			 at[64], uri[ATURI_MAX];
	long long		 limit, n = 0;
	int			 rc;

	if (av_viewer(req, viewer) == -1 ||
	    (which != 2 && av_actor(req, nsid, "actor", did) == -1) ||
	    av_limit(req, nsid, AV_LIMIT_DEF, &limit) == -1 ||
	    av_cursor(req, nsid, &c) == -1)
		return;
	if (which == 2)
		strlcpy(did, viewer, sizeof(did));
	else if ((subject = av_profile(did, viewer, AV_PROFILE_VIEW)) ==
	    NULL) {
		xrpc_internal_error(req);
		return;
	}
	st = db_stmt(fe->db, &cache[which], sql[which]);
	if (db_bind_strs(st, 1, did, NULL) == -1 ||
	    (c.set ? db_bind_strs(st, 2, c.at, c.key, NULL) :
	    sqlite3_bind_null(st, 2)) != 0 ||
	    sqlite3_bind_int64(st, 4, limit) != SQLITE_OK) {
		json_object_put(subject);
		xrpc_internal_error(req);
		return;
	}
	arr = json_object_new_array();
	at[0] = uri[0] = '\0';
	while ((rc = db_step_row(fe->db, st, "graph")) == 1) {
		n++;
		strlcpy(uri, col(st, 0), sizeof(uri));
		strlcpy(at, col(st, 2), sizeof(at));
		if ((p = av_profile(col(st, 1), viewer,
		    AV_PROFILE_VIEW)) != NULL)
			json_object_array_add(arr, p);
	}
	sqlite3_reset(st);
	o = json_object_new_object();
	if (subject != NULL)
		json_object_object_add(o, "subject", subject);
	if (n == limit)
		av_set_cursor(o, at, uri);
	json_object_object_add(o, key[which], arr);
	xrpc_reply_json(req, 200, o);
}

static void
graph_followers(struct http_request *req)
{
	graph_list(req, GRAPH "getFollowers", 0);
}

static void
graph_follows(struct http_request *req)
{
	graph_list(req, GRAPH "getFollows", 1);
}

static void
graph_blocks(struct http_request *req)
{
	graph_list(req, GRAPH "getBlocks", 2);
}

/*
 * Notifications.  Likes and reposts of posts that do not exist (yet)
 * and notes from accounts either side blocks are left out here, at
 * read time, so the index stays a function of the records.
 */
#define NOTIF_VISIBLE \
	"n.recipient = ?1 AND (n.reason NOT IN ('like', 'repost') OR " \
	"EXISTS (SELECT 1 FROM bsky_post p WHERE p.uri = n.subject)) AND " \
	"NOT EXISTS (SELECT 1 FROM bsky_block b WHERE (b.did = ?1 AND " \
	"b.subject = n.author) OR (b.did = n.author AND b.subject = ?1)) " \
	"AND EXISTS (SELECT 1 FROM account a WHERE a.did = n.author AND " \
	"a.status = 'active')"

/* The viewer's seen time, or "" if never. */
static int
seen_at(const char *did, char *buf, size_t len)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	int			 rc;

	buf[0] = '\0';
	st = db_stmt(fe->db, &cache, "SELECT seen_at FROM bsky_seen WHERE "
	    "did = ?1");
	if (db_bind_strs(st, 1, did, NULL) == -1 ||
	    (rc = db_step_row(fe->db, st, "seen")) == -1)
		return -1;
	if (rc == 1) {
		strlcpy(buf, col(st, 0), len);
		sqlite3_reset(st);
	}
	return 0;
}

static struct json_object *
notif_one(sqlite3_stmt *st, const char *viewer, const char *seen)
{
	struct json_object	*o, *a, *rec;
	char			 did[DID_MAX + 1];

	/* uri, reason, author, cid, subject, indexed_at */
	strlcpy(did, col(st, 2), sizeof(did));
	if ((a = av_profile(did, viewer, AV_PROFILE_VIEW)) == NULL)
		return NULL;
	if ((rec = av_record_json(did, col(st, 3))) == NULL) {
		json_object_put(a);
		return NULL;
	}
	o = json_object_new_object();
	av_add_str(o, "uri", col(st, 0));
	av_add_str(o, "cid", col(st, 3));
	json_object_object_add(o, "author", a);
	av_add_str(o, "reason", col(st, 1));
	av_add_str(o, "reasonSubject", col(st, 4));
	json_object_object_add(o, "record", rec);
	json_object_object_add(o, "isRead", json_object_new_boolean(
	    seen[0] != '\0' && strcmp(col(st, 5), seen) <= 0));
	av_add_str(o, "indexedAt", col(st, 5));
	json_object_object_add(o, "labels", json_object_new_array());
	return o;
}

static void
notif_list(struct http_request *req)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct json_object	*o, *arr, *n, *reasons;
	struct av_cursor	 c;
	const char		*nsid = NOTIF "listNotifications";
	const char		*q = http_request_query(req);
	char			 viewer[DID_MAX + 1], seen[64], at[64];
	char			 uri[ATURI_MAX], reason[64];
	long long		 limit, count = 0;
	size_t			 iter = 0;
	int			 r, rc;

	if (av_viewer(req, viewer) == -1 ||
	    av_limit(req, nsid, AV_LIMIT_DEF, &limit) == -1 ||
	    av_cursor(req, nsid, &c) == -1)
		return;
	reasons = json_object_new_array();
	while ((r = http_query_next(q, "reasons", &iter, reason,
	    sizeof(reason))) == 1)
		json_object_array_add(reasons, json_object_new_string(reason));
	if (r == -1 || seen_at(viewer, seen, sizeof(seen)) == -1) {
		json_object_put(reasons);
		if (r == -1)
			xrpc_error(req, 400, "InvalidRequest", "Invalid %s "
			    "params: malformed \"reasons\"", nsid);
		else
			xrpc_internal_error(req);
		return;
	}
	st = db_stmt(fe->db, &cache, "SELECT n.uri, n.reason, n.author, "
	    "n.cid, n.subject, n.indexed_at FROM bsky_notif n WHERE "
	    NOTIF_VISIBLE " AND (json_array_length(?5) = 0 OR n.reason IN "
	    "(SELECT value FROM json_each(?5))) AND (?2 IS NULL OR "
	    "(n.indexed_at, n.uri) < (?2, ?3)) ORDER BY n.indexed_at DESC, "
	    "n.uri DESC LIMIT ?4");
	if (db_bind_strs(st, 1, viewer, NULL) == -1 ||
	    (c.set ? db_bind_strs(st, 2, c.at, c.key, NULL) :
	    sqlite3_bind_null(st, 2)) != 0 ||
	    sqlite3_bind_int64(st, 4, limit) != SQLITE_OK ||
	    db_bind_strs(st, 5, json_object_to_json_string(reasons),
	    NULL) == -1) {
		json_object_put(reasons);
		xrpc_internal_error(req);
		return;
	}
	arr = json_object_new_array();
	at[0] = uri[0] = '\0';
	while ((rc = db_step_row(fe->db, st, "notifications")) == 1) {
		count++;
		strlcpy(uri, col(st, 0), sizeof(uri));
		strlcpy(at, col(st, 5), sizeof(at));
		if ((n = notif_one(st, viewer, seen)) != NULL)
			json_object_array_add(arr, n);
	}
	sqlite3_reset(st);
	json_object_put(reasons);
	o = json_object_new_object();
	if (count == limit)
		av_set_cursor(o, at, uri);
	json_object_object_add(o, "notifications", arr);
	json_object_object_add(o, "priority", json_object_new_boolean(0));
	if (seen[0] != '\0')
		av_add_str(o, "seenAt", seen);
	xrpc_reply_json(req, 200, o);
}

static void
notif_unread(struct http_request *req)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct json_object	*o;
	char			 viewer[DID_MAX + 1], seen[64];

	if (av_viewer(req, viewer) == -1)
		return;
	if (seen_at(viewer, seen, sizeof(seen)) == -1) {
		xrpc_internal_error(req);
		return;
	}
	st = db_stmt(fe->db, &cache, "SELECT count(*) FROM bsky_notif n "
	    "WHERE " NOTIF_VISIBLE " AND n.indexed_at > ?2");
	if (db_bind_strs(st, 1, viewer, seen, NULL) == -1 ||
	    db_step_row(fe->db, st, "unread") != 1) {
		xrpc_internal_error(req);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "count",
	    json_object_new_int64(sqlite3_column_int64(st, 0)));
	sqlite3_reset(st);
	xrpc_reply_json(req, 200, o);
}

static void
seen_body(struct http_request *req, struct json_object *body)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	const char		*at = xrpc_json_str(body, "seenAt");
	char			 did[DID_MAX + 1];

	if (av_viewer(req, did) == -1)
		goto out;
	if (at == NULL || !syntax_is_datetime(at, strlen(at))) {
		xrpc_error(req, 400, "InvalidRequest", "Input/seenAt must be "
		    "a valid datetime");
		goto out;
	}
	st = db_stmt(fe->db, &cache, "INSERT INTO bsky_seen (did, seen_at) "
	    "VALUES (?1, ?2) ON CONFLICT (did) DO UPDATE SET seen_at = ?2");
	if (db_bind_strs(st, 1, did, at, NULL) == -1 ||
	    db_step_done(fe->db, st) == -1)
		xrpc_internal_error(req);
	else
		http_reply(req, 200, NULL, NULL, 0);
out:
	json_object_put(body);
}

static void
notif_seen(struct http_request *req)
{
	char	 viewer[DID_MAX + 1];

	if (av_viewer(req, viewer) == -1)
		return;
	xrpc_read_json(req, XRPC_JSON_MAX, seen_body);
}
