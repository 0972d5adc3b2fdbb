/*
 * The local app.bsky view: the index of our accounts' records
 * (appindex.c), the views built from it (appview.c) and the methods
 * that answer from it (xrpc_bsky_feed.c, xrpc_bsky_actor.c).
 */
#ifndef PDSD_APPVIEW_H
#define PDSD_APPVIEW_H

#include <stddef.h>

#include "cid.h"
#include "syntax.h"

struct dm;
struct http_request;
struct json_object;
struct repo_write;
struct sqlite3;

/*
 * appindex.c.  Each is called inside the caller's transaction; -1 only
 * for a database fault: a record the repo took is never refused here.
 */
int	appindex_write(struct sqlite3 *, const struct repo_write *);
/* Reindexes one record from its row in "record" (gone: unindexed). */
int	appindex_record(struct sqlite3 *, const char *, const char *,
	    const char *);
/* Forgets every row of one repository (before an import). */
int	appindex_drop_repo(struct sqlite3 *, const char *);
/*
 * Loading a whole repository whose rows are gone: init outside any
 * transaction, then inside one begin, a record at a time (decoded
 * already; cid and indexed_at as in its "record" row), end (keep 0:
 * the load failed and the transaction will roll back).
 */
int	appindex_load_init(struct sqlite3 *);
void	appindex_load_begin(void);
int	appindex_load_record(struct sqlite3 *, const char *, const char *,
	    const char *, const char *, const char *, const struct dm *);
int	appindex_load_end(struct sqlite3 *, int);
/* Recomputes the whole index from the repos, in one transaction. */
int	appindex_rebuild(struct sqlite3 *, long long *);

/* appview.c: views shared by the method files. */
#define AV_LIMIT_MAX	100
#define AV_LIMIT_DEF	50
#define AV_CURSOR_MAX	(ATURI_MAX + 64)

enum av_post_kind {
	AV_POST_VIEW,		/* app.bsky.feed.defs#postView */
	AV_POST_RECORD,		/* app.bsky.embed.record#viewRecord */
};

struct av_cursor {
	int	 set;
	char	 at[40];		/* indexed_at */
	char	 key[ATURI_MAX];	/* the row's URI (or handle) */
};

const char	*av_blob_url(const char *, const char *, char *, size_t);
int		 av_read_begin(void);
void		 av_read_end(int);
const char	*av_uri_did(const char *, char [DID_MAX + 1]);
const char	*av_url_host(const char *, char *, size_t);
int		 av_pinned(const char *, char [ATURI_MAX], char [CID_STRSZ]);
int		 av_actor(struct http_request *, const char *, const char *,
		    char [DID_MAX + 1]);
int		 av_resolve(const char *, char [DID_MAX + 1]);
int		 av_viewer(struct http_request *, char [DID_MAX + 1]);
int		 av_limit(struct http_request *, const char *, long long,
		    long long *);
int		 av_cursor(struct http_request *, const char *,
		    struct av_cursor *);
void		 av_set_cursor(struct json_object *, const char *,
		    const char *);
struct json_object *av_profile(const char *, const char *, int);
struct json_object *av_post(const char *, const char *, int);
struct json_object *av_post_or_missing(const char *, const char *);
struct json_object *av_feed_item(const char *, const char *,
		    const char *, const char *, const char *);
int		 av_blocked(const char *, const char *);
int		 av_blocking(const char *, const char *);
int		 av_muted(const char *, const char *);
struct json_object *av_record_json(const char *, const char *);
void		 av_add_str(struct json_object *, const char *, const char *);

#define AV_PROFILE_BASIC	0
#define AV_PROFILE_VIEW		1
#define AV_PROFILE_DETAILED	2

#endif
