/*
 * The index behind the local app.bsky view.  A record's index rows are
 * a function of the record and its row in "record" alone, so the one
 * routine appindex_record serves the write path, import and rebuild
 * alike, and a rebuild gives back exactly the rows the writes made.
 * Fields a client left out or got wrong are indexed as absent: the
 * repo took the record, and the index never refuses what it took.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "appview.h"
#include "cbor.h"
#include "cid.h"
#include "dm.h"
#include "log.h"
#include "pdsd.h"
#include "repo.h"
#include "syntax.h"

#define C_POST		"app.bsky.feed.post"
#define C_LIKE		"app.bsky.feed.like"
#define C_REPOST	"app.bsky.feed.repost"
#define C_FOLLOW	"app.bsky.graph.follow"
#define C_BLOCK		"app.bsky.graph.block"
#define C_PROFILE	"app.bsky.actor.profile"
#define TAG_MAX		640
#define LANGS_MAX	256
#define URL_REF_MAX	2048

struct rec {
	const char	*did;
	const char	*coll;
	const char	*rkey;
	char		 uri[ATURI_MAX];
	const char	*cid;
	const char	*at;		/* indexed_at */
	struct dm	*v;
};

#define POST_COLS	"uri, did, rkey, cid, text, created_at, indexed_at, " \
			"reply_root, reply_parent, embed_uri, media, langs"

/*
 * The full-text rows.  FTS5 writes the terms a statement gave it out as
 * a new segment when the statement ends, and merges segments as they
 * pile up, so migration 0008's trigger (a post's terms in the statement
 * inserting it) made a segment a statement.  Posts now go into
 * bsky_post alone, and a run of them enters bsky_post_fts afterwards in
 * one INSERT ... SELECT: a write's posts, or all of an import's or
 * rebuild's (fewer segments to merge: a series of 10k-post imports
 * took about 9 % fewer instructions than with the trigger, 3-6 % fewer
 * than a statement every 2048 posts, docs/bench.md; FTS5 still writes a
 * segment whenever its pending terms pass its hash size, about 1 MB, so
 * its memory stays bounded).  A post indexed alone
 * (appindex_record) is its own run.  The run is the rows from the id of
 * its first: id is bsky_post's INTEGER PRIMARY KEY and this connection
 * the only writer, so a row inserted later in the transaction takes a
 * larger id than any row there.  The run must be in before anything
 * deletes one of its rows: the delete trigger tells FTS5 to take out
 * the row's terms, and taking out terms it never had lowers its row
 * count, which its integrity-check does not see but a later delete
 * fails on as corrupt.  Only unindex deletes, for a post's update or
 * delete, and appindex_write flushes before one.
 */
static int		 loading;	/* flush at appindex_load_end */
static int		 writing;	/* flush in appindex_write */
static sqlite3_int64	 fts_from;	/* the run's first id, 0: none */

static int
fts_flush(sqlite3 *db)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;

	if (fts_from == 0)
		return 0;
	if ((st = db_stmt(db, &cache, "INSERT INTO bsky_post_fts (rowid, "
	    "text) SELECT id, text FROM bsky_post WHERE id >= ?1")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, fts_from);
	fts_from = 0;
	return db_step_done(db, st);
}

/*
 * While a repository loads (import, rebuild), posts gather in a
 * temporary table and enter bsky_post LOAD_BATCH at a time, in one
 * statement: fewer instructions than a statement a post into a table
 * of five indexes (1.35 G against 1.38 G for a 10k-post import), and
 * the batch bounds the temporary table however large the repository.
 * Their full-text rows go in at appindex_load_end.
 * The rows and their ids come out as one at a time would.
 */
#define LOAD_BATCH	2048

static size_t	 nloaded;		/* in the temporary table */

static int	 load_flush(sqlite3 *);

static const char *const collections[] = {
	C_POST, C_LIKE, C_REPOST, C_FOLLOW, C_BLOCK, C_PROFILE,
};

static int
indexed(const char *coll)
{
	size_t	 i;

	for (i = 0; i < sizeof(collections) / sizeof(collections[0]); i++)
		if (strcmp(coll, collections[i]) == 0)
			return 1;
	return 0;
}

static const char *
str_at(const struct dm *m, const char *key)
{
	if (m == NULL || m->type != DM_MAP)
		return NULL;
	return dm_map_get_str(m, key, NULL);
}

static const char *
type_of(const struct dm *m)
{
	return str_at(m, "$type");
}

/* Runs one cached statement with text parameters (NULLs bind NULL). */
static int
run(sqlite3 *db, sqlite3_stmt **cache, const char *sql, int n, ...)
{
	sqlite3_stmt	*st;
	va_list		 ap;
	const char	*s;
	int		 i, rv = 0;

	if ((st = db_stmt(db, cache, sql)) == NULL)
		return -1;
	va_start(ap, n);
	for (i = 1; i <= n; i++) {
		s = va_arg(ap, const char *);
		if ((s == NULL ? sqlite3_bind_null(st, i) :
		    sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC)) !=
		    SQLITE_OK)
			rv = -1;
	}
	va_end(ap);
	if (rv == -1) {
		sqlite3_reset(st);
		return -1;
	}
	return db_step_done(db, st);
}

/* One notification, unless the recipient has one for this record. */
static int
notify(sqlite3 *db, const struct rec *r, const char *to, const char *why,
    const char *subject)
{
	static sqlite3_stmt	*cache;

	if (to == NULL || strcmp(to, r->did) == 0)
		return 0;
	return run(db, &cache, "INSERT INTO bsky_notif (recipient, uri, "
	    "reason, author, cid, subject, indexed_at) SELECT ?1, ?2, ?3, ?4, "
	    "?5, ?6, ?7 WHERE NOT EXISTS (SELECT 1 FROM bsky_notif WHERE "
	    "recipient = ?1 AND uri = ?2)", 7, to, r->uri, why, r->did,
	    r->cid, subject, r->at);
}

static int
notify_uri(sqlite3 *db, const struct rec *r, const char *uri,
    const char *why)
{
	char	 did[DID_MAX + 1];

	return notify(db, r, av_uri_did(uri, did), why, uri);
}

static int
add_tag(sqlite3 *db, const struct rec *r, const char *tag)
{
	static sqlite3_stmt	*cache;
	char			 t[TAG_MAX + 1];
	size_t			 i;

	if (tag == NULL || *tag == '\0' || strlen(tag) > TAG_MAX)
		return 0;
	for (i = 0; tag[i] != '\0'; i++)
		t[i] = (char)tolower((unsigned char)tag[i]);
	t[i] = '\0';
	return run(db, &cache, "INSERT OR IGNORE INTO bsky_tag (tag, uri) "
	    "VALUES (?1, ?2)", 2, t, r->uri);
}

static int
add_ref(sqlite3 *db, const struct rec *r, const char *kind, const char *v)
{
	static sqlite3_stmt	*cache;

	return run(db, &cache, "INSERT OR IGNORE INTO bsky_post_ref (kind, "
	    "value, uri) VALUES (?1, ?2, ?3)", 3, kind, v, r->uri);
}

/* A link: its URL, and its host in the form searchPosts' domain asks. */
static int
add_link(sqlite3 *db, const struct rec *r, const char *url)
{
	char	 host[256];

	if (url == NULL || strlen(url) > URL_REF_MAX)
		return 0;
	if (add_ref(db, r, "url", url) == -1)
		return -1;
	if (av_url_host(url, host, sizeof(host)) == NULL)
		return 0;
	return add_ref(db, r, "domain", host);
}

/* Facet features: hashtags, mentions and links indexed, mentions told. */
static int
post_facets(sqlite3 *db, const struct rec *r)
{
	struct dm	*facets, *feats, *f, *tags;
	const char	*t;
	size_t		 i, j;

	if ((facets = dm_map_get(r->v, "facets")) != NULL &&
	    facets->type == DM_ARRAY) {
		for (i = 0; i < dm_len(facets); i++) {
			feats = dm_map_get(dm_array_get(facets, i), "features");
			if (feats == NULL || feats->type != DM_ARRAY)
				continue;
			for (j = 0; j < dm_len(feats); j++) {
				f = dm_array_get(feats, j);
				if ((t = type_of(f)) == NULL)
					continue;
				if (strcmp(t, "app.bsky.richtext.facet#tag") ==
				    0 && add_tag(db, r, str_at(f, "tag")) == -1)
					return -1;
				if (strcmp(t, "app.bsky.richtext.facet#mention")
				    == 0 && str_at(f, "did") != NULL &&
				    syntax_is_did(str_at(f, "did"),
				    strlen(str_at(f, "did"))) &&
				    (add_ref(db, r, "mention", str_at(f, "did"))
				    == -1 || notify(db, r, str_at(f, "did"),
				    "mention", NULL) == -1))
					return -1;
				if (strcmp(t, "app.bsky.richtext.facet#link") ==
				    0 && add_link(db, r, str_at(f, "uri")) == -1)
					return -1;
			}
		}
	}
	if ((tags = dm_map_get(r->v, "tags")) != NULL &&
	    tags->type == DM_ARRAY)
		for (i = 0; i < dm_len(tags); i++) {
			f = dm_array_get(tags, i);
			if (f->type == DM_STR && add_tag(db, r, f->u.s.p) == -1)
				return -1;
		}
	return 0;
}

static const char *
media_kind(const char *type)
{
	if (type == NULL)
		return NULL;
	if (strcmp(type, "app.bsky.embed.images") == 0)
		return "images";
	if (strcmp(type, "app.bsky.embed.video") == 0)
		return "video";
	if (strcmp(type, "app.bsky.embed.external") == 0)
		return "external";
	return NULL;
}

static void
post_langs(const struct dm *v, char *buf, size_t len)
{
	struct dm	*l = dm_map_get(v, "langs"), *e;
	size_t		 i;

	buf[0] = '\0';
	if (l == NULL || l->type != DM_ARRAY)
		return;
	for (i = 0; i < dm_len(l); i++) {
		e = dm_array_get(l, i);
		if (e->type != DM_STR)
			continue;
		if (buf[0] != '\0')
			strlcat(buf, ",", len);
		strlcat(buf, e->u.s.p, len);
	}
}

static int
index_post(sqlite3 *db, const struct rec *r)
{
	static sqlite3_stmt	*cache, *lcache;
	struct dm		*reply, *embed;
	const char		*root, *parent, *quote = NULL, *media = NULL;
	const char		*text, *t;
	char			 langs[LANGS_MAX];

	if ((text = str_at(r->v, "text")) == NULL)
		text = "";
	reply = dm_map_get(r->v, "reply");
	root = str_at(dm_map_get(reply, "root"), "uri");
	parent = str_at(dm_map_get(reply, "parent"), "uri");
	embed = dm_map_get(r->v, "embed");
	if ((t = type_of(embed)) != NULL) {
		if (strcmp(t, "app.bsky.embed.record") == 0)
			quote = str_at(dm_map_get(embed, "record"), "uri");
		else if (strcmp(t, "app.bsky.embed.recordWithMedia") == 0) {
			quote = str_at(dm_map_get(dm_map_get(embed, "record"),
			    "record"), "uri");
			media = media_kind(type_of(dm_map_get(embed,
			    "media")));
		} else
			media = media_kind(t);
	}
	post_langs(r->v, langs, sizeof(langs));
	if (run(db, loading ? &lcache : &cache, loading ?
	    "INSERT INTO temp.bsky_post_load (" POST_COLS ") VALUES (?1, ?2, "
	    "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)" :
	    "INSERT INTO bsky_post (" POST_COLS ") VALUES (?1, ?2, ?3, ?4, "
	    "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)", 12, r->uri, r->did, r->rkey,
	    r->cid, text, str_at(r->v, "createdAt"), r->at, root, parent,
	    quote, media, langs[0] != '\0' ? langs : NULL) == -1)
		return -1;
	if (loading) {
		if (++nloaded >= LOAD_BATCH && load_flush(db) == -1)
			return -1;
	} else {
		if (fts_from == 0)
			fts_from = sqlite3_last_insert_rowid(db);
		if (!writing && fts_flush(db) == -1)
			return -1;
	}
	if (notify_uri(db, r, parent, "reply") == -1 ||
	    notify_uri(db, r, root, "reply") == -1 ||
	    notify_uri(db, r, quote, "quote") == -1)
		return -1;
	if (media != NULL && strcmp(media, "external") == 0 &&
	    add_link(db, r, str_at(dm_map_get(strcmp(t,
	    "app.bsky.embed.external") == 0 ? embed : dm_map_get(embed,
	    "media"), "external"), "uri")) == -1)
		return -1;
	return post_facets(db, r);
}

static const char *
blob_cid(const struct dm *blob, char *buf, size_t len)
{
	const struct cid	*c;

	if (blob == NULL || blob->type != DM_MAP ||
	    (c = dm_map_get_link(blob, "ref")) == NULL ||
	    cid_to_str(c, buf, len) == -1)
		return NULL;
	return buf;
}

static int
index_profile(sqlite3 *db, const struct rec *r)
{
	static sqlite3_stmt	*cache;
	char			 av[CID_STRSZ], ban[CID_STRSZ];

	if (strcmp(r->rkey, "self") != 0)
		return 0;
	return run(db, &cache, "INSERT INTO bsky_profile (did, cid, "
	    "display_name, description, avatar, banner, created_at, "
	    "indexed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", 8, r->did,
	    r->cid, str_at(r->v, "displayName"), str_at(r->v, "description"),
	    blob_cid(dm_map_get(r->v, "avatar"), av, sizeof(av)),
	    blob_cid(dm_map_get(r->v, "banner"), ban, sizeof(ban)),
	    str_at(r->v, "createdAt"), r->at);
}

/* Follows and blocks: the subject is a DID. */
static int
index_graph(sqlite3 *db, const struct rec *r, int follow)
{
	static sqlite3_stmt	*fcache, *bcache;
	const char		*subject = str_at(r->v, "subject");

	if (subject == NULL || !syntax_is_did(subject, strlen(subject)))
		return 0;
	if (!follow)
		return run(db, &bcache, "INSERT INTO bsky_block (uri, did, "
		    "subject, indexed_at) VALUES (?1, ?2, ?3, ?4)", 4, r->uri,
		    r->did, subject, r->at);
	if (run(db, &fcache, "INSERT INTO bsky_follow (uri, did, subject, "
	    "indexed_at) VALUES (?1, ?2, ?3, ?4)", 4, r->uri, r->did, subject,
	    r->at) == -1)
		return -1;
	return notify(db, r, subject, "follow", NULL);
}

/* Likes and reposts: the subject is a strong reference. */
static int
index_subject(sqlite3 *db, const struct rec *r, int like)
{
	static sqlite3_stmt	*lcache, *rcache;
	struct dm		*s = dm_map_get(r->v, "subject");
	const char		*uri = str_at(s, "uri");
	int			 rc;

	if (uri == NULL || !syntax_is_aturi(uri, strlen(uri)))
		return 0;
	if (like)
		rc = run(db, &lcache, "INSERT INTO bsky_like (uri, did, "
		    "subject, subject_cid, created_at, indexed_at) VALUES (?1, "
		    "?2, ?3, ?4, ?5, ?6)", 6, r->uri, r->did, uri,
		    str_at(s, "cid"), str_at(r->v, "createdAt"), r->at);
	else
		rc = run(db, &rcache, "INSERT INTO bsky_repost (uri, did, "
		    "subject, subject_cid, created_at, indexed_at) VALUES (?1, "
		    "?2, ?3, ?4, ?5, ?6)", 6, r->uri, r->did, uri,
		    str_at(s, "cid"), str_at(r->v, "createdAt"), r->at);
	if (rc == -1)
		return -1;
	return notify_uri(db, r, uri, like ? "like" : "repost");
}

static int
index_rec(sqlite3 *db, const struct rec *r)
{
	if (strcmp(r->coll, C_POST) == 0)
		return index_post(db, r);
	if (strcmp(r->coll, C_PROFILE) == 0)
		return index_profile(db, r);
	if (strcmp(r->coll, C_FOLLOW) == 0)
		return index_graph(db, r, 1);
	if (strcmp(r->coll, C_BLOCK) == 0)
		return index_graph(db, r, 0);
	if (strcmp(r->coll, C_LIKE) == 0)
		return index_subject(db, r, 1);
	if (strcmp(r->coll, C_REPOST) == 0)
		return index_subject(db, r, 0);
	return 0;
}

/* Every row one record made. */
static int
unindex(sqlite3 *db, const char *did, const char *coll, const char *rkey,
    const char *uri)
{
	static sqlite3_stmt	*post, *tag, *prof, *fol, *blk, *lik, *rep;
	static sqlite3_stmt	*ntf, *ref;

	if (run(db, &ntf, "DELETE FROM bsky_notif WHERE uri = ?1", 1,
	    uri) == -1)
		return -1;
	if (strcmp(coll, C_POST) == 0)
		return run(db, &post, "DELETE FROM bsky_post WHERE uri = ?1",
		    1, uri) == -1 || run(db, &tag, "DELETE FROM bsky_tag "
		    "WHERE uri = ?1", 1, uri) == -1 || run(db, &ref, "DELETE "
		    "FROM bsky_post_ref WHERE uri = ?1", 1, uri) == -1 ? -1 : 0;
	if (strcmp(coll, C_PROFILE) == 0)
		return strcmp(rkey, "self") != 0 ? 0 : run(db, &prof,
		    "DELETE FROM bsky_profile WHERE did = ?1", 1, did);
	if (strcmp(coll, C_FOLLOW) == 0)
		return run(db, &fol, "DELETE FROM bsky_follow WHERE uri = ?1",
		    1, uri);
	if (strcmp(coll, C_BLOCK) == 0)
		return run(db, &blk, "DELETE FROM bsky_block WHERE uri = ?1",
		    1, uri);
	if (strcmp(coll, C_LIKE) == 0)
		return run(db, &lik, "DELETE FROM bsky_like WHERE uri = ?1",
		    1, uri);
	return run(db, &rep, "DELETE FROM bsky_repost WHERE uri = ?1", 1,
	    uri);
}

/* Names the record: -1 when it is not one the index holds. */
static int
rec_init(struct rec *r, const char *did, const char *coll, const char *rkey)
{
	/* Not memset: uri is large, and snprintf writes it. */
	r->cid = r->at = NULL;
	r->v = NULL;
	r->did = did;
	r->coll = coll;
	r->rkey = rkey;
	if (!indexed(coll) || snprintf(r->uri, sizeof(r->uri),
	    "at://%s/%s/%s", did, coll, rkey) >= (int)sizeof(r->uri))
		return -1;
	return 0;
}

/*
 * fresh: no record was at this key before the write, so no row names
 * its URI and there is nothing to take out first.  While loading, the
 * repository's rows are known gone (dropped before an import, all of
 * them before a rebuild): every record is fresh.
 */
static int
index_one(sqlite3 *db, const char *did, const char *coll, const char *rkey,
    int fresh)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct rec		 r;
	const char		*errstr;
	int			 rc, rv;

	if (rec_init(&r, did, coll, rkey) == -1)
		return 0;
	if (!fresh && !loading && unindex(db, did, coll, rkey, r.uri) == -1)
		return -1;
	st = db_stmt(db, &cache, "SELECT r.cid, r.indexed_at, b.data FROM "
	    "record r JOIN repo_block b ON b.did = r.did AND b.cid = r.cid "
	    "WHERE r.did = ?1 AND r.collection = ?2 AND r.rkey = ?3");
	if (db_bind_strs(st, 1, did, coll, rkey, NULL) == -1)
		return -1;
	if ((rc = db_step_row(db, st, "appindex")) <= 0)
		return rc;
	r.cid = (const char *)sqlite3_column_text(st, 0);
	r.at = (const char *)sqlite3_column_text(st, 1);
	rv = 0;
	if (r.cid != NULL && r.at != NULL &&
	    dm_cbor_decode(sqlite3_column_blob(st, 2),
	    (size_t)sqlite3_column_bytes(st, 2), &r.v, &errstr) == 0) {
		if (r.v->type == DM_MAP)
			rv = index_rec(db, &r);
		dm_free(r.v);
	}
	sqlite3_reset(st);
	return rv;
}

int
appindex_record(sqlite3 *db, const char *did, const char *coll,
    const char *rkey)
{
	return index_one(db, did, coll, rkey, 0);
}

/*
 * Whether op i of the write finds no rows for its record: none was
 * there before the write, and no earlier op of it (a create then
 * deleted and made again) indexed one.
 */
static int
op_fresh(const struct repo_write *w, size_t i)
{
	const struct repo_op	*op = &w->ops[i];
	size_t			 j;

	if (op->action == REPO_DELETE || op->has_prev)
		return 0;
	for (j = 0; j < i; j++)
		if (strcmp(w->ops[j].rkey, op->rkey) == 0 &&
		    strcmp(w->ops[j].collection, op->collection) == 0)
			return 0;
	return 1;
}

int
appindex_load_init(sqlite3 *db)
{
	char	 err[256];

	if (db_exec(db, "CREATE TEMP TABLE IF NOT EXISTS bsky_post_load ("
	    POST_COLS ")", err, sizeof(err)) == -1) {
		log_warnx("appindex: load table: %s", err);
		return -1;
	}
	return 0;
}

/* The posts gathered so far go into bsky_post, as one statement. */
static int
load_flush(sqlite3 *db)
{
	static sqlite3_stmt	*first, *move, *clear;
	sqlite3_stmt		*st;

	if (nloaded == 0)
		return 0;
	nloaded = 0;
	if (fts_from == 0) {
		if ((st = db_stmt(db, &first, "SELECT coalesce(max(id), 0) + 1 "
		    "FROM bsky_post")) == NULL ||
		    db_step_row(db, st, "appindex") != 1)
			return -1;
		fts_from = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	if (run(db, &move, "INSERT INTO bsky_post (" POST_COLS ") SELECT "
	    POST_COLS " FROM temp.bsky_post_load ORDER BY rowid", 0) == -1)
		return -1;
	return run(db, &clear, "DELETE FROM temp.bsky_post_load", 0);
}

void
appindex_load_begin(void)
{
	loading = 1;
	nloaded = 0;
	fts_from = 0;
}

int
appindex_load_record(sqlite3 *db, const char *did, const char *coll,
    const char *rkey, const char *cid, const char *at, const struct dm *v)
{
	struct rec	 r;

	if (rec_init(&r, did, coll, rkey) == -1 || v->type != DM_MAP)
		return 0;
	r.cid = cid;
	r.at = at;
	r.v = (struct dm *)v;
	return index_rec(db, &r);
}

/* Without keep, the caller's rollback takes the loaded rows away. */
int
appindex_load_end(sqlite3 *db, int keep)
{
	loading = 0;
	if (keep)
		return load_flush(db) == -1 ? -1 : fts_flush(db);
	nloaded = 0;
	fts_from = 0;
	return 0;
}

/*
 * Only a post's update or delete (not fresh) takes rows out of
 * bsky_post, so the write's posts before one enter the full-text index
 * first; a write that only creates gives it one statement.
 */
int
appindex_write(sqlite3 *db, const struct repo_write *w)
{
	const struct repo_op	*op;
	size_t			 i;
	int			 fresh, rv = 0;

	writing = 1;
	fts_from = 0;
	for (i = 0; i < w->nops && rv == 0; i++) {
		op = &w->ops[i];
		fresh = op_fresh(w, i);
		if (!fresh && strcmp(op->collection, C_POST) == 0 &&
		    fts_flush(db) == -1)
			rv = -1;
		else if (index_one(db, w->did, op->collection, op->rkey,
		    fresh) == -1)
			rv = -1;
	}
	writing = 0;
	if (rv == 0)
		rv = fts_flush(db);
	fts_from = 0;
	return rv;
}

int
appindex_drop_repo(sqlite3 *db, const char *did)
{
	static sqlite3_stmt	*c[9];
	static const char	*sql[9] = {
		("DELETE FROM bsky_tag WHERE uri IN (SELECT uri FROM bsky_post "
		    "WHERE did = ?1)"),
		("DELETE FROM bsky_post_ref WHERE uri IN (SELECT uri FROM "
		    "bsky_post WHERE did = ?1)"),
		"DELETE FROM bsky_post WHERE did = ?1",
		"DELETE FROM bsky_profile WHERE did = ?1",
		"DELETE FROM bsky_follow WHERE did = ?1",
		"DELETE FROM bsky_block WHERE did = ?1",
		"DELETE FROM bsky_like WHERE did = ?1",
		"DELETE FROM bsky_repost WHERE did = ?1",
		"DELETE FROM bsky_notif WHERE author = ?1",
	};
	size_t			 i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (run(db, &c[i], sql[i], 1, did) == -1)
			return -1;
	return 0;
}

static int
rebuild_tx(sqlite3 *db, long long *n)
{
	sqlite3_stmt	*st;
	char		*err = NULL;
	int		 rc, on = 0;

	/*
	 * Every row goes.  The posts' without their delete trigger, which
	 * took each post's terms out of the full-text index one by one (a
	 * third of a rebuild): the DELETE is then a truncation, and
	 * 'delete-all' empties the index at once, whatever state it was
	 * in.  With the trigger (were it not turned off) the same rows go.
	 */
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	rc = sqlite3_exec(db, "DELETE FROM bsky_post", NULL, NULL, &err);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 1, &on);
	if (rc == SQLITE_OK && on != 1) {
		log_warnx("index rebuild: triggers not turned back on");
		return -1;
	}
	if (rc != SQLITE_OK || sqlite3_exec(db, "DELETE FROM bsky_tag; "
	    "DELETE FROM bsky_post_ref; DELETE FROM bsky_profile; "
	    "DELETE FROM bsky_follow; DELETE FROM bsky_block; "
	    "DELETE FROM bsky_like; DELETE FROM bsky_repost; "
	    "DELETE FROM bsky_notif; "
	    "INSERT INTO bsky_post_fts (bsky_post_fts) VALUES ('delete-all')",
	    NULL, NULL, &err) != SQLITE_OK) {
		log_warnx("index rebuild: %s", err);
		sqlite3_free(err);
		return -1;
	}
	/* Not cached: appindex_record uses the cache while we step. */
	if (sqlite3_prepare_v2(db, "SELECT did, collection, rkey FROM record "
	    "WHERE collection IN ('" C_POST "', '" C_LIKE "', '" C_REPOST
	    "', '" C_FOLLOW "', '" C_BLOCK "', '" C_PROFILE "') "
	    "ORDER BY did, collection, rkey", -1, &st, NULL) != SQLITE_OK)
		return -1;
	*n = 0;
	appindex_load_begin();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (appindex_record(db, (const char *)sqlite3_column_text(st,
		    0), (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2)) == -1)
			break;
		(*n)++;
	}
	sqlite3_finalize(st);
	if (appindex_load_end(db, rc == SQLITE_DONE) == -1)
		return -1;
	return rc == SQLITE_DONE ? 0 : -1;
}

int
appindex_rebuild(sqlite3 *db, long long *n)
{
	if (repo_writes_pending() > 0 || appindex_load_init(db) == -1 ||
	    db_begin(db) == -1)
		return -1;
	if (rebuild_tx(db, n) == -1) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db);
}
