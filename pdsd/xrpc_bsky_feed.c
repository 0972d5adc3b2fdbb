/*
 * app.bsky.feed.*: timelines, author feeds, threads, posts, likes,
 * reposts and post search, answered from the local index (appindex.c)
 * when no AppView is configured.  Every list pages by a time keyset
 * (indexed_at, then URI), so rows written between two pages neither
 * repeat nor hide others.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>
#include <sqlite3.h>

#include "appview.h"
#include "dm.h"
#include "http.h"
#include "log.h"
#include "pdsd.h"
#include "xrpc.h"

#define NS		"app.bsky.feed."
#define GETPOSTS_MAX	25
#define THREAD_MAX	1000		/* posts in one thread answer */
#define QUERY_MAX	2048
#define TAG_MAX		640		/* as appindex.c keeps them */

static void	feed_timeline(struct http_request *);
static void	feed_author(struct http_request *);
static void	feed_thread(struct http_request *);
static void	feed_posts(struct http_request *);
static void	feed_likes(struct http_request *);
static void	feed_reposted_by(struct http_request *);
static void	feed_actor_likes(struct http_request *);
static void	feed_search(struct http_request *);

const struct xrpc_method xrpc_bsky_feed_methods[] = {
	{ NS "getTimeline",	XRPC_QUERY,	feed_timeline },
	{ NS "getAuthorFeed",	XRPC_QUERY,	feed_author },
	{ NS "getPostThread",	XRPC_QUERY,	feed_thread },
	{ NS "getPosts",	XRPC_QUERY,	feed_posts },
	{ NS "getLikes",	XRPC_QUERY,	feed_likes },
	{ NS "getRepostedBy",	XRPC_QUERY,	feed_reposted_by },
	{ NS "getActorLikes",	XRPC_QUERY,	feed_actor_likes },
	{ NS "searchPosts",	XRPC_QUERY,	feed_search },
	{ NULL,			0,		NULL },
};

/* One row of a feed query: item (post or repost URI), post, by, at. */
struct row {
	char	*item, *post, *by, *at;
};

struct rows {
	struct row	 v[AV_LIMIT_MAX];
	size_t		 n;
};

static void
rows_free(struct rows *r)
{
	size_t	 i;

	for (i = 0; i < r->n; i++) {
		free(r->v[i].item);
		free(r->v[i].post);
		free(r->v[i].by);
		free(r->v[i].at);
	}
	r->n = 0;
}

static char *
dup(sqlite3_stmt *st, int i)
{
	const char	*s = (const char *)sqlite3_column_text(st, i);

	return s != NULL ? strdup(s) : NULL;
}

/*
 * Steps st (already bound) into rows; the statement's columns are
 * item, post, by, at.  Copied out first: the views use statements of
 * their own.
 */
static int
rows_read(sqlite3_stmt *st, struct rows *r)
{
	int	 rc;

	r->n = 0;
	while (r->n < AV_LIMIT_MAX &&
	    (rc = db_step_row(fe->db, st, "feed")) == 1) {
		r->v[r->n].item = dup(st, 0);
		r->v[r->n].post = dup(st, 1);
		r->v[r->n].by = dup(st, 2);
		r->v[r->n].at = dup(st, 3);
		r->n++;
	}
	sqlite3_reset(st);
	return rc == -1 ? -1 : 0;
}

/* Binds the keyset: ?2 the cursor's time (NULL: none), ?3 its key. */
static int
bind_page(sqlite3_stmt *st, const struct av_cursor *c, long long limit)
{
	if (c->set) {
		if (db_bind_strs(st, 2, c->at, c->key, NULL) == -1)
			return -1;
	} else if (sqlite3_bind_null(st, 2) != SQLITE_OK ||
	    sqlite3_bind_null(st, 3) != SQLITE_OK)
		return -1;
	return sqlite3_bind_int64(st, 4, limit) == SQLITE_OK ? 0 : -1;
}

/* The author of an at:// URI, or "". */
static void
uri_did(const char *uri, char did[DID_MAX + 1])
{
	size_t	 n;

	did[0] = '\0';
	if (uri == NULL || strncmp(uri, "at://", 5) != 0)
		return;
	n = strcspn(uri + 5, "/");
	if (n <= DID_MAX) {
		memcpy(did, uri + 5, n);
		did[n] = '\0';
	}
}

/* {"feed": [feedViewPost...], "cursor"} from the rows of one page. */
static void
reply_feed(struct http_request *req, struct rows *r, const char *viewer,
    long long limit, const char *key)
{
	struct json_object	*o, *arr, *it;
	char			 author[DID_MAX + 1];
	size_t			 i;

	arr = json_object_new_array();
	for (i = 0; i < r->n; i++) {
		uri_did(r->v[i].post, author);
		if (av_blocked(viewer, author) ||
		    av_blocked(viewer, r->v[i].by))
			continue;
		if ((it = av_feed_item(r->v[i].post, viewer, r->v[i].by,
		    r->v[i].by != NULL ? r->v[i].item : NULL,
		    r->v[i].at)) != NULL)
			json_object_array_add(arr, it);
	}
	o = json_object_new_object();
	if (r->n > 0 && (long long)r->n == limit)
		av_set_cursor(o, r->v[r->n - 1].at, r->v[r->n - 1].item);
	json_object_object_add(o, key, arr);
	rows_free(r);
	xrpc_reply_json(req, 200, o);
}

/* Page parameters, then the viewer: -1 if answered. */
static int
page_params(struct http_request *req, const char *nsid, long long *limit,
    struct av_cursor *c, long long def)
{
	if (av_limit(req, nsid, def, limit) == -1 ||
	    av_cursor(req, nsid, c) == -1)
		return -1;
	return 0;
}

#define KEYSET	"(?2 IS NULL OR (at, item) < (?2, ?3)) " \
		"ORDER BY at DESC, item DESC LIMIT ?4"

static void
feed_timeline(struct http_request *req)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct av_cursor	 c;
	struct rows		 r;
	char			 viewer[DID_MAX + 1];
	long long		 limit;

	if (av_viewer(req, viewer) == -1 ||
	    page_params(req, NS "getTimeline", &limit, &c, AV_LIMIT_DEF) == -1)
		return;
	st = db_stmt(fe->db, &cache, "WITH who (did) AS (SELECT ?1 UNION "
	    "SELECT subject FROM bsky_follow WHERE did = ?1), "
	    "items (item, post, by, at) AS ("
	    "SELECT uri, uri, NULL, indexed_at FROM bsky_post "
	    "WHERE did IN who UNION ALL "
	    "SELECT r.uri, r.subject, r.did, r.indexed_at FROM bsky_repost r "
	    "WHERE r.did IN who AND EXISTS (SELECT 1 FROM bsky_post p "
	    "WHERE p.uri = r.subject)) "
	    "SELECT item, post, by, at FROM items WHERE " KEYSET);
	if (db_bind_strs(st, 1, viewer, NULL) == -1 ||
	    bind_page(st, &c, limit) == -1 || rows_read(st, &r) == -1) {
		rows_free(&r);
		xrpc_internal_error(req);
		return;
	}
	reply_feed(req, &r, viewer, limit, "feed");
}

static const char *const author_filters[] = {
	"posts_with_replies", "posts_no_replies", "posts_with_media",
	"posts_and_author_threads", "posts_with_video",
};

static void
feed_author(struct http_request *req)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct av_cursor	 c;
	struct rows		 r;
	char			 viewer[DID_MAX + 1], did[DID_MAX + 1];
	char			 filter[64];
	long long		 limit;
	size_t			 i;
	int			 f;

	if (av_viewer(req, viewer) == -1 ||
	    av_actor(req, NS "getAuthorFeed", "actor", did) == -1 ||
	    page_params(req, NS "getAuthorFeed", &limit, &c,
	    AV_LIMIT_DEF) == -1 ||
	    (f = xrpc_param(req, "filter", NS "getAuthorFeed", filter,
	    sizeof(filter))) == -1)
		return;
	if (f == 0)
		strlcpy(filter, author_filters[0], sizeof(filter));
	for (i = 0; i < sizeof(author_filters) / sizeof(author_filters[0]);
	    i++)
		if (strcmp(filter, author_filters[i]) == 0)
			break;
	if (i == sizeof(author_filters) / sizeof(author_filters[0]))
		strlcpy(filter, author_filters[0], sizeof(filter));
	if (av_blocking(viewer, did)) {
		xrpc_error(req, 400, "BlockedActor",
		    "Requester has blocked actor");
		return;
	}
	if (av_blocking(did, viewer)) {
		xrpc_error(req, 400, "BlockedByActor",
		    "Requester is blocked by actor");
		return;
	}
	st = db_stmt(fe->db, &cache, "WITH items (item, post, by, at) AS ("
	    "SELECT uri, uri, NULL, indexed_at FROM bsky_post WHERE did = ?1 "
	    "AND (?5 = 'posts_with_replies' OR "
	    "(?5 = 'posts_no_replies' AND reply_parent IS NULL) OR "
	    "(?5 = 'posts_with_media' AND media = 'images') OR "
	    "(?5 = 'posts_with_video' AND media = 'video') OR "
	    "(?5 = 'posts_and_author_threads' AND (reply_parent IS NULL OR "
	    "reply_root LIKE 'at://' || ?1 || '/%'))) "
	    "UNION ALL "
	    "SELECT r.uri, r.subject, r.did, r.indexed_at FROM bsky_repost r "
	    "WHERE r.did = ?1 AND ?5 IN ('posts_with_replies', "
	    "'posts_no_replies', 'posts_and_author_threads') AND EXISTS "
	    "(SELECT 1 FROM bsky_post p WHERE p.uri = r.subject)) "
	    "SELECT item, post, by, at FROM items WHERE " KEYSET);
	if (db_bind_strs(st, 1, did, NULL) == -1 ||
	    db_bind_strs(st, 5, filter, NULL) == -1 ||
	    bind_page(st, &c, limit) == -1 || rows_read(st, &r) == -1) {
		rows_free(&r);
		xrpc_internal_error(req);
		return;
	}
	reply_feed(req, &r, viewer, limit, "feed");
}

/*
 * getPostThread: the post, its parents up to parentHeight, its replies
 * down to depth, each a threadViewPost; a missing parent is a
 * notFoundPost, a blocked reply a blockedPost.
 */
struct thread {
	const char	*viewer;
	int		 nodes;
};

static struct json_object *
missing(const char *uri)
{
	struct json_object	*o = json_object_new_object();

	av_add_str(o, "$type", "app.bsky.feed.defs#notFoundPost");
	av_add_str(o, "uri", uri);
	json_object_object_add(o, "notFound", json_object_new_boolean(1));
	return o;
}

static struct json_object *
blocked(const char *uri, const char *author)
{
	struct json_object	*o = json_object_new_object(), *a;

	av_add_str(o, "$type", "app.bsky.feed.defs#blockedPost");
	av_add_str(o, "uri", uri);
	json_object_object_add(o, "blocked", json_object_new_boolean(1));
	a = json_object_new_object();
	av_add_str(a, "did", author);
	json_object_object_add(o, "author", a);
	return o;
}

/* The URIs of a post's direct replies, oldest first (at most 100). */
static int
replies_of(const char *uri, struct rows *r)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;

	st = db_stmt(fe->db, &cache, "SELECT uri, uri, did, indexed_at "
	    "FROM bsky_post WHERE reply_parent = ?1 ORDER BY indexed_at, uri "
	    "LIMIT 100");
	if (db_bind_strs(st, 1, uri, NULL) == -1)
		return -1;
	return rows_read(st, r);
}

static struct json_object *
thread_node(struct thread *t, const char *uri, int depth, int height,
    int down)
{
	struct json_object	*o, *p, *arr;
	struct rows		*r;
	const char		*parent;
	char			 author[DID_MAX + 1];
	size_t			 i;

	uri_did(uri, author);
	if (av_blocked(t->viewer, author))
		return blocked(uri, author);
	if (++t->nodes > THREAD_MAX || (p = av_post(uri, t->viewer, 0)) ==
	    NULL)
		return missing(uri);
	o = json_object_new_object();
	av_add_str(o, "$type", "app.bsky.feed.defs#threadViewPost");
	json_object_object_add(o, "post", p);
	parent = NULL;
	if (!down && height > 0) {
		struct json_object	*rec, *reply, *par, *u;

		if (json_object_object_get_ex(p, "record", &rec) &&
		    json_object_object_get_ex(rec, "reply", &reply) &&
		    json_object_object_get_ex(reply, "parent", &par) &&
		    json_object_object_get_ex(par, "uri", &u))
			parent = json_object_get_string(u);
		if (parent != NULL)
			json_object_object_add(o, "parent", thread_node(t,
			    parent, 0, height - 1, 0));
	}
	if (depth > 0 && (r = calloc(1, sizeof(*r))) != NULL) {
		arr = json_object_new_array();
		if (replies_of(uri, r) == 0)
			for (i = 0; i < r->n; i++)
				json_object_array_add(arr, thread_node(t,
				    r->v[i].item, depth - 1, 0, 1));
		rows_free(r);
		free(r);
		json_object_object_add(o, "replies", arr);
	}
	return o;
}

static void
feed_thread(struct http_request *req)
{
	struct json_object	*o;
	struct thread		 t;
	char			 viewer[DID_MAX + 1], uri[ATURI_MAX];
	long long		 depth, height;

	if (av_viewer(req, viewer) == -1 ||
	    xrpc_param_fmt(req, NS "getPostThread", "uri", XRPC_FMT_ANY, 1,
	    uri, sizeof(uri)) == -1 ||
	    xrpc_param_int(req, NS "getPostThread", "depth", 0, 1000, 6,
	    &depth) == -1 ||
	    xrpc_param_int(req, NS "getPostThread", "parentHeight", 0, 1000,
	    80, &height) == -1)
		return;
	if (!syntax_is_aturi(uri, strlen(uri))) {
		xrpc_error(req, 400, "InvalidRequest", "Invalid "
		    NS "getPostThread params: uri must be a valid at-uri");
		return;
	}
	t.viewer = viewer;
	t.nodes = 0;
	if ((o = av_post(uri, viewer, 0)) == NULL) {
		xrpc_error(req, 400, "NotFound", "Post not found: %s", uri);
		return;
	}
	json_object_put(o);
	o = json_object_new_object();
	json_object_object_add(o, "thread", thread_node(&t, uri, (int)depth,
	    (int)height, 0));
	xrpc_reply_json(req, 200, o);
}

static void
feed_posts(struct http_request *req)
{
	struct json_object	*o, *arr, *p;
	const char		*q = http_request_query(req);
	char			 viewer[DID_MAX + 1], uri[ATURI_MAX];
	size_t			 iter = 0, n = 0;
	int			 r;

	if (av_viewer(req, viewer) == -1)
		return;
	arr = json_object_new_array();
	while ((r = http_query_next(q, "uris", &iter, uri, sizeof(uri))) ==
	    1) {
		if (++n > GETPOSTS_MAX || !syntax_is_aturi(uri, strlen(uri))) {
			json_object_put(arr);
			xrpc_error(req, 400, "InvalidRequest", n > GETPOSTS_MAX ?
			    "Invalid " NS "getPosts params: uris must not have "
			    "more than 25 elements" : "Invalid " NS "getPosts "
			    "params: uris/%zu must be a valid at-uri", n - 1);
			return;
		}
		if ((p = av_post(uri, viewer, 0)) != NULL)
			json_object_array_add(arr, p);
	}
	if (r == -1 || n == 0) {
		json_object_put(arr);
		xrpc_error(req, 400, "InvalidRequest", r == -1 ? "Invalid "
		    NS "getPosts params: malformed \"uris\"" : "Invalid "
		    NS "getPosts params: Missing required key \"uris\"");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "posts", arr);
	xrpc_reply_json(req, 200, o);
}

/* getLikes and getRepostedBy: the actors of likes or reposts of uri. */
static void
subject_list(struct http_request *req, const char *nsid, int likes)
{
	static sqlite3_stmt	*lcache, *rcache;
	sqlite3_stmt		*st;
	struct json_object	*o, *arr, *a, *l;
	struct av_cursor	 c;
	struct rows		 r;
	char			 viewer[DID_MAX + 1], uri[ATURI_MAX];
	char			 cid[128];
	long long		 limit;
	size_t			 i;
	int			 hc;

	if (av_viewer(req, viewer) == -1 ||
	    xrpc_param_fmt(req, nsid, "uri", XRPC_FMT_ANY, 1, uri,
	    sizeof(uri)) == -1 ||
	    (hc = xrpc_param_fmt(req, nsid, "cid", XRPC_FMT_CID, 0, cid,
	    sizeof(cid))) == -1 ||
	    page_params(req, nsid, &limit, &c, AV_LIMIT_DEF) == -1)
		return;
	if (!syntax_is_aturi(uri, strlen(uri))) {
		xrpc_error(req, 400, "InvalidRequest", "Invalid %s params: "
		    "uri must be a valid at-uri", nsid);
		return;
	}
	/* by holds created_at for likes. */
	if (likes)
		st = db_stmt(fe->db, &lcache, "SELECT uri AS item, did, "
		    "coalesce(created_at, indexed_at), indexed_at AS at "
		    "FROM bsky_like WHERE subject = ?1 AND "
		    "(?5 IS NULL OR subject_cid = ?5) AND " KEYSET);
	else
		st = db_stmt(fe->db, &rcache, "SELECT uri AS item, did, NULL, "
		    "indexed_at AS at FROM bsky_repost WHERE subject = ?1 AND "
		    "(?5 IS NULL OR subject_cid = ?5) AND " KEYSET);
	if (db_bind_strs(st, 1, uri, NULL) == -1 ||
	    (hc ? db_bind_strs(st, 5, cid, NULL) :
	    sqlite3_bind_null(st, 5)) != 0 ||
	    bind_page(st, &c, limit) == -1 || rows_read(st, &r) == -1) {
		rows_free(&r);
		xrpc_internal_error(req);
		return;
	}
	arr = json_object_new_array();
	for (i = 0; i < r.n; i++) {
		if (av_blocked(viewer, r.v[i].post) ||
		    (a = av_profile(r.v[i].post, viewer,
		    AV_PROFILE_VIEW)) == NULL)
			continue;
		if (!likes) {
			json_object_array_add(arr, a);
			continue;
		}
		l = json_object_new_object();
		av_add_str(l, "indexedAt", r.v[i].at);
		av_add_str(l, "createdAt", r.v[i].by);
		json_object_object_add(l, "actor", a);
		json_object_array_add(arr, l);
	}
	o = json_object_new_object();
	av_add_str(o, "uri", uri);
	if (hc)
		av_add_str(o, "cid", cid);
	if (r.n > 0 && (long long)r.n == limit)
		av_set_cursor(o, r.v[r.n - 1].at, r.v[r.n - 1].item);
	json_object_object_add(o, likes ? "likes" : "repostedBy", arr);
	rows_free(&r);
	xrpc_reply_json(req, 200, o);
}

static void
feed_likes(struct http_request *req)
{
	subject_list(req, NS "getLikes", 1);
}

static void
feed_reposted_by(struct http_request *req)
{
	subject_list(req, NS "getRepostedBy", 0);
}

/* Only the actor may see what they liked, as the reference has it. */
static void
feed_actor_likes(struct http_request *req)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct av_cursor	 c;
	struct rows		 r;
	char			 viewer[DID_MAX + 1], did[DID_MAX + 1];
	long long		 limit;

	if (av_viewer(req, viewer) == -1 ||
	    av_actor(req, NS "getActorLikes", "actor", did) == -1 ||
	    page_params(req, NS "getActorLikes", &limit, &c,
	    AV_LIMIT_DEF) == -1)
		return;
	if (strcmp(viewer, did) != 0) {
		xrpc_error(req, 400, "InvalidRequest", "Profile not found");
		return;
	}
	st = db_stmt(fe->db, &cache, "SELECT l.uri AS item, l.subject, NULL, "
	    "l.indexed_at AS at FROM bsky_like l WHERE l.did = ?1 AND EXISTS "
	    "(SELECT 1 FROM bsky_post p WHERE p.uri = l.subject) AND " KEYSET);
	if (db_bind_strs(st, 1, did, NULL) == -1 ||
	    bind_page(st, &c, limit) == -1 || rows_read(st, &r) == -1) {
		rows_free(&r);
		xrpc_internal_error(req);
		return;
	}
	reply_feed(req, &r, viewer, limit, "feed");
}

/*
 * searchPosts.  Words of q are matched by the full-text index, each as
 * a quoted phrase so that no FTS5 syntax reaches it; "#tag" words and
 * the tag parameters ask for hashtags, "from:actor" for an author.
 */
struct search {
	struct dm_buf	 fts;
	json_object	*tags;
	char		 author[DID_MAX + 1];
	int		 no_author;	/* one was named and is unknown */
};

/* Tags are indexed in lower case (appindex.c). */
static void
search_tag(struct search *s, const char *t, size_t n)
{
	char	 buf[TAG_MAX + 1];
	size_t	 i;

	if (n > TAG_MAX)
		n = TAG_MAX;
	for (i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)t[i]);
	json_object_array_add(s->tags, json_object_new_string_len(buf,
	    (int)n));
}

static int
search_word(struct search *s, const char *w, size_t n)
{
	char		 who[DID_MAX + 1];
	size_t		 i;

	if (n > 1 && w[0] == '#') {
		search_tag(s, w + 1, n - 1);
		return 0;
	}
	if (n > 5 && strncmp(w, "from:", 5) == 0 && n - 5 <= DID_MAX) {
		memcpy(who, w + 5, n - 5);
		who[n - 5] = '\0';
		s->no_author = av_resolve(who, s->author) != 0;
		return 0;
	}
	if (s->fts.len > 0 && dm_buf_add(&s->fts, " ", 1) == -1)
		return -1;
	if (dm_buf_add(&s->fts, "\"", 1) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if ((w[i] == '"' && dm_buf_add(&s->fts, "\"", 1) == -1) ||
		    dm_buf_add(&s->fts, &w[i], 1) == -1)
			return -1;
	return dm_buf_add(&s->fts, "\"", 1);
}

static int
search_parse(struct search *s, const char *q)
{
	size_t	 n;

	for (;;) {
		q += strspn(q, " \t\r\n");
		if (*q == '\0')
			break;
		n = strcspn(q, " \t\r\n");
		if (search_word(s, q, n) == -1)
			return -1;
		q += n;
	}
	return dm_buf_add(&s->fts, "", 1);
}

static int
search_params(struct http_request *req, struct search *s, char *since,
    char *until, size_t len)
{
	const char	*nsid = NS "searchPosts", *qs;
	char		 q[QUERY_MAX], tag[TAG_MAX + 1], who[DID_MAX + 1];
	size_t		 iter = 0;
	int		 r;

	if (xrpc_param_fmt(req, nsid, "q", XRPC_FMT_ANY, 1, q,
	    sizeof(q)) == -1 ||
	    (r = xrpc_param_fmt(req, nsid, "author", XRPC_FMT_ATID, 0, who,
	    sizeof(who))) == -1 ||
	    xrpc_param(req, "since", nsid, since, len) == -1 ||
	    xrpc_param(req, "until", nsid, until, len) == -1)
		return -1;
	if (r == 1)
		s->no_author = av_resolve(who, s->author) != 0;
	qs = http_request_query(req);
	while ((r = http_query_next(qs, "tag", &iter, tag, sizeof(tag))) == 1)
		search_tag(s, tag, strlen(tag));
	if (r == -1) {
		xrpc_error(req, 400, "InvalidRequest", "Invalid %s params: "
		    "malformed or too long \"tag\"", nsid);
		return -1;
	}
	if (search_parse(s, q) == -1) {
		xrpc_internal_error(req);
		return -1;
	}
	return 0;
}

static void
feed_search(struct http_request *req)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct search		 s;
	struct av_cursor	 c;
	struct rows		 r;
	struct json_object	*o, *arr, *p;
	char			 viewer[DID_MAX + 1], since[64], until[64];
	char			 author[DID_MAX + 1];
	long long		 limit;
	size_t			 i;

	memset(&s, 0, sizeof(s));
	since[0] = until[0] = '\0';
	if (av_viewer(req, viewer) == -1 ||
	    (s.tags = json_object_new_array()) == NULL)
		return;
	if (search_params(req, &s, since, until, sizeof(since)) == -1 ||
	    page_params(req, NS "searchPosts", &limit, &c, 25) == -1)
		goto out;
	st = db_stmt(fe->db, &cache, "SELECT uri AS item, uri, NULL, "
	    "indexed_at AS at FROM bsky_post p WHERE "
	    "(?1 = '' OR id IN (SELECT rowid FROM bsky_post_fts WHERE "
	    "bsky_post_fts MATCH ?1)) AND (?5 = '' OR did = ?5) AND "
	    "(?6 = '' OR indexed_at >= ?6) AND (?7 = '' OR indexed_at < ?7) "
	    "AND (SELECT count(*) FROM json_each(?8) j WHERE EXISTS (SELECT 1 "
	    "FROM bsky_tag t WHERE t.tag = j.value AND t.uri = p.uri)) = "
	    "json_array_length(?8) AND " KEYSET);
	strlcpy(author, s.author, sizeof(author));
	if (s.no_author) {
		o = json_object_new_object();
		json_object_object_add(o, "posts", json_object_new_array());
		xrpc_reply_json(req, 200, o);
		goto out;
	}
	if (db_bind_strs(st, 1, (const char *)s.fts.p, NULL) == -1 ||
	    db_bind_strs(st, 5, author, since, until,
	    json_object_to_json_string(s.tags), NULL) == -1 ||
	    bind_page(st, &c, limit) == -1 || rows_read(st, &r) == -1) {
		rows_free(&r);
		xrpc_internal_error(req);
		goto out;
	}
	arr = json_object_new_array();
	for (i = 0; i < r.n; i++) {
		uri_did(r.v[i].post, author);
		if (!av_blocked(viewer, author) &&
		    (p = av_post(r.v[i].post, viewer, 0)) != NULL)
			json_object_array_add(arr, p);
	}
	o = json_object_new_object();
	if (r.n > 0 && (long long)r.n == limit)
		av_set_cursor(o, r.v[r.n - 1].at, r.v[r.n - 1].item);
	json_object_object_add(o, "posts", arr);
	rows_free(&r);
	xrpc_reply_json(req, 200, o);
out:
	json_object_put(s.tags);
	dm_buf_free(&s.fts);
}
