/*
 * The views of the local app.bsky index, in the lexicons' shapes
 * (app.bsky.actor.defs, app.bsky.feed.defs, app.bsky.embed.*), and the
 * parameter checks every method of xrpc_bsky_*.c shares.  Views read
 * the index and the records themselves (the repo's blocks); URLs of
 * avatars and images point at our own getBlob.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json.h>
#include <sqlite3.h>

#include "appview.h"
#include "auth.h"
#include "cbor.h"
#include "cid.h"
#include "dm.h"
#include "dmjson.h"
#include "http.h"
#include "log.h"
#include "pdsd.h"
#include "syntax.h"
#include "xrpc.h"

#define FEED_DEFS	"app.bsky.feed.defs#"
#define URL_MAX		(PDSD_HOST_MAX + 2 * DID_MAX + 256)

static struct json_object *post_view(const char *, const char *,
		    enum av_post_kind, int);
static const char	*jstr(struct json_object *, const char *);
static struct json_object *jget(struct json_object *, const char *);

const char *
av_blob_url(const char *did, const char *cid, char *buf, size_t len)
{
	if (snprintf(buf, len, "%s/xrpc/com.atproto.sync.getBlob?did=%s&cid=%s",
	    identity_endpoint(), did, cid) >= (int)len)
		return NULL;
	return buf;
}

void
av_add_str(struct json_object *o, const char *key, const char *s)
{
	if (s != NULL)
		json_object_object_add(o, key, json_object_new_string(s));
}

static void
add_int(struct json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

static const char *
col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* A column copied (NULL stays NULL), so the statement can be reset. */
static char *
dupcol(sqlite3_stmt *st, int i)
{
	const char	*s = col(st, i);

	return s != NULL ? strdup(s) : NULL;
}

/*
 * Within one answer (av_read_begin) the same authors come back again
 * and again (a reply's root and parent, the reposters): their views are
 * built once and shared, by reference count, in the answer's tree.
 * Nothing changes a profile view once built.  Cleared at each end of
 * an answer, so no view outlives the snapshot it was read in.
 */
#define PCACHE_MAX	64

static struct pcache {
	char			 did[DID_MAX + 1];
	char			 viewer[DID_MAX + 1];
	int			 kind;
	struct json_object	*o;
} pcache[PCACHE_MAX];
static size_t	 npcache;
static int	 pcache_on;

static void
pcache_clear(void)
{
	size_t	 i;

	for (i = 0; i < npcache; i++)
		json_object_put(pcache[i].o);
	npcache = 0;
}

/*
 * One read transaction around the building of an answer: a page of
 * views runs hundreds of small statements, and outside a transaction
 * each takes and drops SQLite's WAL read lock by itself (a third of a
 * timeline's time at 1,000 accounts, docs/bench.md).  The answer then
 * also reads one snapshot.  1 if this call opened it (close it with
 * av_read_end), 0 if one was open already.
 */
int
av_read_begin(void)
{
	if (!db_read_begin(fe->db))
		return 0;
	pcache_clear();
	pcache_on = 1;
	return 1;
}

void
av_read_end(int opened)
{
	if (!opened)
		return;
	pcache_on = 0;
	pcache_clear();
	db_read_end(fe->db, opened);
}

/* The DID an at:// URI names, copied into did; NULL if it names none. */
const char *
av_uri_did(const char *uri, char did[DID_MAX + 1])
{
	size_t	 n;

	did[0] = '\0';
	if (uri == NULL || strncmp(uri, "at://", 5) != 0)
		return NULL;
	n = strcspn(uri + 5, "/");
	if (n == 0 || n > DID_MAX || !syntax_is_did(uri + 5, n))
		return NULL;
	memcpy(did, uri + 5, n);
	did[n] = '\0';
	return did;
}

/*
 * The host of a URL ("https://www.Example.com:8080/x" or a bare
 * "example.com"), lower case and without "www.", as searchPosts'
 * domain compares them; NULL if there is none.
 */
const char *
av_url_host(const char *url, char *buf, size_t len)
{
	const char	*p;
	size_t		 n, i;

	if ((p = strstr(url, "://")) != NULL)
		url = p + 3;
	if ((p = strchr(url, '@')) != NULL && p < url + strcspn(url, "/?#"))
		url = p + 1;
	n = strcspn(url, ":/?#");
	if (strncasecmp(url, "www.", 4) == 0 && n > 4) {
		url += 4;
		n -= 4;
	}
	if (n == 0 || n >= len)
		return NULL;
	for (i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)url[i]);
	buf[n] = '\0';
	return buf;
}

int
av_viewer(struct http_request *req, char did[DID_MAX + 1])
{
	struct auth	 auth;

	if (auth_check(req, AUTH_ACCESS_APP, &auth) == -1)
		return -1;
	strlcpy(did, auth.did, DID_MAX + 1);
	return 0;
}

/* The DID of an account here, by DID or handle: 0, 1 none, -1 error. */
int
av_resolve(const char *who, char did[DID_MAX + 1])
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	int			 rc;

	st = db_stmt(fe->db, &cache, "SELECT did FROM account WHERE "
	    "(did = ?1 OR handle = ?1) AND status = 'active'");
	if (db_bind_strs(st, 1, who, NULL) == -1)
		return -1;
	if ((rc = db_step_row(fe->db, st, "resolve")) != 1)
		return rc == 0 ? 1 : -1;
	strlcpy(did, col(st, 0), DID_MAX + 1);
	sqlite3_reset(st);
	return 0;
}

int
av_actor(struct http_request *req, const char *nsid, const char *name,
    char did[DID_MAX + 1])
{
	char	 who[DID_MAX + 1];
	int	 r;

	if (xrpc_param_fmt(req, nsid, name, XRPC_FMT_ATID, 1, who,
	    sizeof(who)) == -1)
		return -1;
	if ((r = av_resolve(who, did)) == -1) {
		xrpc_internal_error(req);
		return -1;
	}
	if (r == 1) {
		xrpc_error(req, 400, "InvalidRequest", "Profile not found");
		return -1;
	}
	return 0;
}

int
av_limit(struct http_request *req, const char *nsid, long long def,
    long long *limit)
{
	return xrpc_param_int(req, nsid, "limit", 1, AV_LIMIT_MAX, def,
	    limit) == -1 ? -1 : 0;
}

/*
 * "<indexed_at>__<key>": two parts joined by "__" as the reference's
 * keysets are (the time has no "_", so the first "__" splits them).
 */
int
av_cursor(struct http_request *req, const char *nsid, struct av_cursor *c)
{
	char		 buf[AV_CURSOR_MAX];
	const char	*sep;
	int		 r;

	memset(c, 0, sizeof(*c));
	if ((r = xrpc_param(req, "cursor", nsid, buf, sizeof(buf))) <= 0)
		return r;
	if ((sep = strstr(buf, "__")) == NULL ||
	    (size_t)(sep - buf) >= sizeof(c->at) || sep == buf ||
	    sep[2] == '\0' || strlcpy(c->key, sep + 2, sizeof(c->key)) >=
	    sizeof(c->key)) {
		xrpc_error(req, 400, "InvalidRequest", "Malformed cursor");
		return -1;
	}
	memcpy(c->at, buf, (size_t)(sep - buf));
	c->at[sep - buf] = '\0';
	c->set = 1;
	return 1;
}

void
av_set_cursor(struct json_object *o, const char *at, const char *key)
{
	char	 buf[AV_CURSOR_MAX];

	if (at == NULL || key == NULL)
		return;
	snprintf(buf, sizeof(buf), "%s__%s", at, key);
	av_add_str(o, "cursor", buf);
}

/* The record's JSON form, from its block. */
struct json_object *
av_record_json(const char *did, const char *cid)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct json_object	*o = NULL;
	struct dm		*v;
	const char		*errstr;

	st = db_stmt(fe->db, &cache, "SELECT data FROM repo_block WHERE "
	    "did = ?1 AND cid = ?2");
	if (db_bind_strs(st, 1, did, cid, NULL) == -1 ||
	    db_step_row(fe->db, st, "record") != 1)
		return NULL;
	if (dm_cbor_decode(sqlite3_column_blob(st, 0),
	    (size_t)sqlite3_column_bytes(st, 0), &v, &errstr) == 0) {
		if (dmjson_to_object(v, &o) == -1)
			o = NULL;
		dm_free(v);
	}
	sqlite3_reset(st);
	return o;
}

/* 1 if a blocks b. */
int
av_blocking(const char *a, const char *b)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	int			 rc;

	if (a == NULL || b == NULL || strcmp(a, b) == 0)
		return 0;
	st = db_stmt(fe->db, &cache, "SELECT 1 FROM bsky_block WHERE "
	    "did = ?1 AND subject = ?2");
	if (db_bind_strs(st, 1, a, b, NULL) == -1)
		return 0;
	rc = db_step_row(fe->db, st, "blocked");
	sqlite3_reset(st);
	return rc == 1;
}

/* 1 if viewer muted did (mutes.c keeps them). */
int
av_muted(const char *viewer, const char *did)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	int			 rc;

	if (viewer == NULL || did == NULL || strcmp(viewer, did) == 0)
		return 0;
	st = db_stmt(fe->db, &cache, "SELECT 1 FROM actor_mute WHERE "
	    "did = ?1 AND subject = ?2");
	if (db_bind_strs(st, 1, viewer, did, NULL) == -1)
		return 0;
	rc = db_step_row(fe->db, st, "muted");
	sqlite3_reset(st);
	return rc == 1;
}

/* 1 if either of a and b blocks the other. */
int
av_blocked(const char *a, const char *b)
{
	return av_blocking(a, b) || av_blocking(b, a);
}

/* app.bsky.actor.defs#viewerState of viewer toward did. */
static struct json_object *
actor_viewer(const char *did, const char *viewer)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct json_object	*v;

	v = json_object_new_object();
	st = db_stmt(fe->db, &cache, "SELECT "
	    "(SELECT uri FROM bsky_follow WHERE did = ?2 AND subject = ?1), "
	    "(SELECT uri FROM bsky_follow WHERE did = ?1 AND subject = ?2), "
	    "(SELECT uri FROM bsky_block WHERE did = ?2 AND subject = ?1), "
	    "EXISTS (SELECT 1 FROM bsky_block WHERE did = ?1 AND "
	    "subject = ?2), "
	    "EXISTS (SELECT 1 FROM actor_mute WHERE did = ?2 AND "
	    "subject = ?1)");
	if (db_bind_strs(st, 1, did, viewer, NULL) == -1 ||
	    db_step_row(fe->db, st, "viewer") != 1) {
		json_object_object_add(v, "muted",
		    json_object_new_boolean(0));
		return v;
	}
	json_object_object_add(v, "muted",
	    json_object_new_boolean(sqlite3_column_int(st, 4)));
	json_object_object_add(v, "blockedBy",
	    json_object_new_boolean(sqlite3_column_int(st, 3)));
	av_add_str(v, "blocking", col(st, 2));
	av_add_str(v, "following", col(st, 0));
	av_add_str(v, "followedBy", col(st, 1));
	sqlite3_reset(st);
	return v;
}

static void
add_counts(struct json_object *o, const char *did)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;

	st = db_stmt(fe->db, &cache, "SELECT "
	    "(SELECT count(*) FROM bsky_follow f INDEXED BY "
	    "bsky_follow_subject_did CROSS JOIN account a ON a.did = f.did "
	    "WHERE f.subject = ?1 AND a.status = 'active'), "
	    "(SELECT count(*) FROM bsky_follow WHERE did = ?1), "
	    "(SELECT count(*) FROM bsky_post WHERE did = ?1)");
	if (db_bind_strs(st, 1, did, NULL) == -1 ||
	    db_step_row(fe->db, st, "counts") != 1)
		return;
	add_int(o, "followersCount", sqlite3_column_int64(st, 0));
	add_int(o, "followsCount", sqlite3_column_int64(st, 1));
	add_int(o, "postsCount", sqlite3_column_int64(st, 2));
	sqlite3_reset(st);
}

/*
 * The post did pinned on its profile (its own, as the reference
 * requires), from the profile record: 0, or -1 if none.
 */
int
av_pinned(const char *did, char uri[ATURI_MAX], char cid[CID_STRSZ])
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct json_object	*rec = NULL, *pin;
	char			 author[DID_MAX + 1];
	int			 rv = -1;

	st = db_stmt(fe->db, &cache, "SELECT cid FROM bsky_profile "
	    "WHERE did = ?1");
	if (db_bind_strs(st, 1, did, NULL) == -1 ||
	    db_step_row(fe->db, st, "pinned") != 1)
		return -1;
	if (col(st, 0) != NULL)
		rec = av_record_json(did, col(st, 0));
	sqlite3_reset(st);
	pin = jget(rec, "pinnedPost");
	if (jstr(pin, "uri") != NULL && jstr(pin, "cid") != NULL &&
	    av_uri_did(jstr(pin, "uri"), author) != NULL &&
	    strcmp(author, did) == 0 &&
	    strlcpy(uri, jstr(pin, "uri"), ATURI_MAX) < ATURI_MAX &&
	    strlcpy(cid, jstr(pin, "cid"), CID_STRSZ) < CID_STRSZ)
		rv = 0;
	json_object_put(rec);
	return rv;
}

static void
add_pinned(struct json_object *o, const char *did)
{
	struct json_object	*p;
	char			 uri[ATURI_MAX], cid[CID_STRSZ];

	if (av_pinned(did, uri, cid) == -1)
		return;
	p = json_object_new_object();
	av_add_str(p, "uri", uri);
	av_add_str(p, "cid", cid);
	json_object_object_add(o, "pinnedPost", p);
}

/* profileViewBasic, profileView or profileViewDetailed; NULL: none. */
static struct json_object *
profile_build(const char *did, const char *viewer, int kind)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct json_object	*o;
	char			 url[URL_MAX];

	st = db_stmt(fe->db, &cache, "SELECT a.handle, p.display_name, "
	    "p.description, p.avatar, p.banner, p.indexed_at, a.created_at "
	    "FROM account a LEFT JOIN bsky_profile p ON p.did = a.did "
	    "WHERE a.did = ?1");
	if (db_bind_strs(st, 1, did, NULL) == -1 ||
	    db_step_row(fe->db, st, "profile") != 1)
		return NULL;
	o = json_object_new_object();
	av_add_str(o, "did", did);
	av_add_str(o, "handle", col(st, 0));
	av_add_str(o, "displayName", col(st, 1));
	if (kind != AV_PROFILE_BASIC)
		av_add_str(o, "description", col(st, 2));
	if (col(st, 3) != NULL)
		av_add_str(o, "avatar", av_blob_url(did, col(st, 3), url,
		    sizeof(url)));
	if (kind == AV_PROFILE_DETAILED && col(st, 4) != NULL)
		av_add_str(o, "banner", av_blob_url(did, col(st, 4), url,
		    sizeof(url)));
	if (kind != AV_PROFILE_BASIC)
		av_add_str(o, "indexedAt", col(st, 5));
	av_add_str(o, "createdAt", col(st, 6));
	sqlite3_reset(st);
	if (kind == AV_PROFILE_DETAILED) {
		add_counts(o, did);
		add_pinned(o, did);
	}
	if (viewer != NULL)
		json_object_object_add(o, "viewer", actor_viewer(did, viewer));
	json_object_object_add(o, "labels", json_object_new_array());
	return o;
}

struct json_object *
av_profile(const char *did, const char *viewer, int kind)
{
	struct json_object	*o;
	struct pcache		*c;
	size_t			 i;

	if (viewer == NULL)
		viewer = "";
	if (!pcache_on || kind == AV_PROFILE_DETAILED)
		return profile_build(did, *viewer != '\0' ? viewer : NULL,
		    kind);
	for (i = 0; i < npcache; i++) {
		c = &pcache[i];
		if (c->kind == kind && strcmp(c->did, did) == 0 &&
		    strcmp(c->viewer, viewer) == 0)
			return json_object_get(c->o);
	}
	o = profile_build(did, *viewer != '\0' ? viewer : NULL, kind);
	if (o != NULL && npcache < PCACHE_MAX &&
	    strlen(did) <= DID_MAX && strlen(viewer) <= DID_MAX) {
		c = &pcache[npcache++];
		strlcpy(c->did, did, sizeof(c->did));
		strlcpy(c->viewer, viewer, sizeof(c->viewer));
		c->kind = kind;
		c->o = json_object_get(o);
	}
	return o;
}

/*
 * Embeds.
 */

static const char *
jstr(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *
jget(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* The URL of a blob the record names ({"ref": {"$link": cid}}). */
static const char *
blob_url(const char *did, struct json_object *blob, char *buf, size_t len)
{
	const char	*cid = jstr(jget(blob, "ref"), "$link");

	return cid != NULL ? av_blob_url(did, cid, buf, len) : NULL;
}

static struct json_object *
images_view(const char *did, struct json_object *e)
{
	struct json_object	*imgs = jget(e, "images"), *arr, *im, *v, *ar;
	char			 url[URL_MAX];
	const char		*u;
	size_t			 i;

	if (imgs == NULL || !json_object_is_type(imgs, json_type_array))
		return NULL;
	arr = json_object_new_array();
	for (i = 0; i < json_object_array_length(imgs); i++) {
		im = json_object_array_get_idx(imgs, i);
		if ((u = blob_url(did, jget(im, "image"), url,
		    sizeof(url))) == NULL)
			continue;
		v = json_object_new_object();
		av_add_str(v, "thumb", u);
		av_add_str(v, "fullsize", u);
		av_add_str(v, "alt", jstr(im, "alt") != NULL ?
		    jstr(im, "alt") : "");
		if ((ar = jget(im, "aspectRatio")) != NULL)
			json_object_object_add(v, "aspectRatio",
			    json_object_get(ar));
		json_object_array_add(arr, v);
	}
	v = json_object_new_object();
	av_add_str(v, "$type", "app.bsky.embed.images#view");
	json_object_object_add(v, "images", arr);
	return v;
}

static struct json_object *
external_view(const char *did, struct json_object *e)
{
	struct json_object	*x = jget(e, "external"), *v, *o;
	char			 url[URL_MAX];

	if (jstr(x, "uri") == NULL)
		return NULL;
	v = json_object_new_object();
	av_add_str(v, "uri", jstr(x, "uri"));
	av_add_str(v, "title", jstr(x, "title") ? jstr(x, "title") : "");
	av_add_str(v, "description", jstr(x, "description") ?
	    jstr(x, "description") : "");
	av_add_str(v, "thumb", blob_url(did, jget(x, "thumb"), url,
	    sizeof(url)));
	o = json_object_new_object();
	av_add_str(o, "$type", "app.bsky.embed.external#view");
	json_object_object_add(o, "external", v);
	return o;
}

/*
 * The reference AppView's playlist and thumbnail are HLS files a video
 * service makes from the upload; with none here, the playlist is the
 * uploaded blob itself and there is no thumbnail.
 */
static struct json_object *
video_view(const char *did, struct json_object *e)
{
	struct json_object	*o, *ar;
	const char		*cid = jstr(jget(jget(e, "video"), "ref"),
				    "$link");
	char			 url[URL_MAX];

	if (cid == NULL || av_blob_url(did, cid, url, sizeof(url)) == NULL)
		return NULL;
	o = json_object_new_object();
	av_add_str(o, "$type", "app.bsky.embed.video#view");
	av_add_str(o, "cid", cid);
	av_add_str(o, "playlist", url);
	av_add_str(o, "alt", jstr(e, "alt"));
	if ((ar = jget(e, "aspectRatio")) != NULL)
		json_object_object_add(o, "aspectRatio", json_object_get(ar));
	av_add_str(o, "presentation", jstr(e, "presentation"));
	return o;
}

static struct json_object *
media_view(const char *did, struct json_object *e)
{
	const char	*t = jstr(e, "$type");

	if (t == NULL)
		return NULL;
	if (strcmp(t, "app.bsky.embed.images") == 0)
		return images_view(did, e);
	if (strcmp(t, "app.bsky.embed.external") == 0)
		return external_view(did, e);
	if (strcmp(t, "app.bsky.embed.video") == 0)
		return video_view(did, e);
	return NULL;
}

/* app.bsky.embed.record#view of a strong reference. */
static struct json_object *
record_view(struct json_object *strong, const char *viewer)
{
	struct json_object	*o, *r;
	const char		*uri = jstr(strong, "uri");

	if (uri == NULL)
		return NULL;
	if ((r = post_view(uri, viewer, AV_POST_RECORD, 1)) == NULL) {
		r = json_object_new_object();
		av_add_str(r, "$type", "app.bsky.embed.record#viewNotFound");
		av_add_str(r, "uri", uri);
		json_object_object_add(r, "notFound",
		    json_object_new_boolean(1));
	}
	o = json_object_new_object();
	av_add_str(o, "$type", "app.bsky.embed.record#view");
	json_object_object_add(o, "record", r);
	return o;
}

/* A quoted post's own quotes are not shown: depth bounds the walk. */
static struct json_object *
embed_view(const char *did, struct json_object *e, const char *viewer,
    int depth)
{
	struct json_object	*o, *rec, *media;
	const char		*t = jstr(e, "$type");

	if (t == NULL)
		return NULL;
	if (strcmp(t, "app.bsky.embed.record") == 0)
		return depth > 0 ? NULL : record_view(jget(e, "record"),
		    viewer);
	if (strcmp(t, "app.bsky.embed.recordWithMedia") == 0) {
		if (depth > 0 || (media = media_view(did,
		    jget(e, "media"))) == NULL)
			return NULL;
		if ((rec = record_view(jget(jget(e, "record"), "record"),
		    viewer)) == NULL) {
			json_object_put(media);
			return NULL;
		}
		o = json_object_new_object();
		av_add_str(o, "$type", "app.bsky.embed.recordWithMedia#view");
		json_object_object_add(o, "record", rec);
		json_object_object_add(o, "media", media);
		return o;
	}
	return media_view(did, e);
}

/*
 * Posts.
 */

struct post_row {
	char	*did, *cid, *at, *like, *repost;
	int64_t	 replies, reposts, likes, quotes;
};

static void
post_row_free(struct post_row *r)
{
	free(r->did);
	free(r->cid);
	free(r->at);
	free(r->like);
	free(r->repost);
}

static int
post_row(const char *uri, const char *viewer, struct post_row *r)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;

	memset(r, 0, sizeof(*r));
	st = db_stmt(fe->db, &cache, "SELECT p.did, p.cid, p.indexed_at, "
	    "(SELECT count(*) FROM bsky_post WHERE reply_parent = p.uri), "
	    "(SELECT count(*) FROM bsky_repost WHERE subject = p.uri), "
	    "(SELECT count(*) FROM bsky_like WHERE subject = p.uri), "
	    "(SELECT count(*) FROM bsky_post WHERE embed_uri = p.uri), "
	    "(SELECT uri FROM bsky_like WHERE subject = p.uri AND did = ?2), "
	    "(SELECT uri FROM bsky_repost WHERE subject = p.uri AND did = ?2) "
	    "FROM bsky_post p JOIN account a ON a.did = p.did AND "
	    "a.status = 'active' WHERE p.uri = ?1");
	if (db_bind_strs(st, 1, uri, viewer != NULL ? viewer : "", NULL) ==
	    -1 || db_step_row(fe->db, st, "post") != 1)
		return -1;
	r->did = dupcol(st, 0);
	r->cid = dupcol(st, 1);
	r->at = dupcol(st, 2);
	r->replies = sqlite3_column_int64(st, 3);
	r->reposts = sqlite3_column_int64(st, 4);
	r->likes = sqlite3_column_int64(st, 5);
	r->quotes = sqlite3_column_int64(st, 6);
	r->like = dupcol(st, 7);
	r->repost = dupcol(st, 8);
	sqlite3_reset(st);
	if (r->did == NULL || r->cid == NULL || r->at == NULL) {
		post_row_free(r);
		return -1;
	}
	return 0;
}

/* postView, or embed.record#viewRecord; NULL if there is no such post. */
static struct json_object *
post_view(const char *uri, const char *viewer, enum av_post_kind kind,
    int depth)
{
	struct post_row		 r;
	struct json_object	*o, *rec, *author, *emb, *v, *arr;

	if (post_row(uri, viewer, &r) == -1)
		return NULL;
	if ((rec = av_record_json(r.did, r.cid)) == NULL ||
	    (author = av_profile(r.did, viewer, AV_PROFILE_BASIC)) == NULL) {
		json_object_put(rec);
		post_row_free(&r);
		return NULL;
	}
	o = json_object_new_object();
	if (kind == AV_POST_RECORD)
		av_add_str(o, "$type", "app.bsky.embed.record#viewRecord");
	av_add_str(o, "uri", uri);
	av_add_str(o, "cid", r.cid);
	json_object_object_add(o, "author", author);
	emb = embed_view(r.did, jget(rec, "embed"), viewer, depth);
	json_object_object_add(o, kind == AV_POST_RECORD ? "value" : "record",
	    rec);
	if (emb != NULL && kind == AV_POST_RECORD) {
		arr = json_object_new_array();
		json_object_array_add(arr, emb);
		json_object_object_add(o, "embeds", arr);
	} else if (emb != NULL)
		json_object_object_add(o, "embed", emb);
	add_int(o, "replyCount", r.replies);
	add_int(o, "repostCount", r.reposts);
	add_int(o, "likeCount", r.likes);
	add_int(o, "quoteCount", r.quotes);
	av_add_str(o, "indexedAt", r.at);
	if (kind == AV_POST_VIEW && viewer != NULL) {
		v = json_object_new_object();
		av_add_str(v, "like", r.like);
		av_add_str(v, "repost", r.repost);
		json_object_object_add(o, "viewer", v);
	}
	json_object_object_add(o, "labels", json_object_new_array());
	post_row_free(&r);
	return o;
}

struct json_object *
av_post(const char *uri, const char *viewer, int typed)
{
	struct json_object	*o;

	if ((o = post_view(uri, viewer, AV_POST_VIEW, 0)) != NULL && typed)
		json_object_object_add(o, "$type",
		    json_object_new_string(FEED_DEFS "postView"));
	return o;
}

/* A member of the feed.defs unions: a postView or notFoundPost. */
struct json_object *
av_post_or_missing(const char *uri, const char *viewer)
{
	struct json_object	*o;

	if ((o = av_post(uri, viewer, 1)) != NULL)
		return o;
	o = json_object_new_object();
	av_add_str(o, "$type", FEED_DEFS "notFoundPost");
	av_add_str(o, "uri", uri);
	json_object_object_add(o, "notFound", json_object_new_boolean(1));
	return o;
}

/*
 * feed.defs#feedViewPost: the post, its reply context, and for a
 * repost who reposted it; NULL if the post is gone.
 */
struct json_object *
av_feed_item(const char *uri, const char *viewer, const char *by,
    const char *repost_uri, const char *repost_at)
{
	struct json_object	*o, *p, *rec, *reply, *rr, *who, *par;
	const char		*root, *parent;
	char			 gp[DID_MAX + 1];

	if ((p = av_post(uri, viewer, 0)) == NULL)
		return NULL;
	o = json_object_new_object();
	rec = jget(p, "record");
	reply = jget(rec, "reply");
	root = jstr(jget(reply, "root"), "uri");
	parent = jstr(jget(reply, "parent"), "uri");
	json_object_object_add(o, "post", p);
	if (root != NULL && parent != NULL) {
		rr = json_object_new_object();
		json_object_object_add(rr, "root",
		    av_post_or_missing(root, viewer));
		json_object_object_add(rr, "parent",
		    (par = av_post_or_missing(parent, viewer)));
		/* The author of what the parent answers. */
		if (av_uri_did(jstr(jget(jget(jget(par, "record"), "reply"),
		    "parent"), "uri"), gp) != NULL && !av_blocked(viewer, gp) &&
		    (who = av_profile(gp, viewer, AV_PROFILE_BASIC)) != NULL)
			json_object_object_add(rr, "grandparentAuthor", who);
		json_object_object_add(o, "reply", rr);
	}
	if (by != NULL && (who = av_profile(by, viewer,
	    AV_PROFILE_BASIC)) != NULL) {
		rr = json_object_new_object();
		av_add_str(rr, "$type", FEED_DEFS "reasonRepost");
		json_object_object_add(rr, "by", who);
		av_add_str(rr, "uri", repost_uri);
		av_add_str(rr, "indexedAt", repost_at);
		json_object_object_add(o, "reason", rr);
	}
	return o;
}
