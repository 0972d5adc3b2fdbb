/*
 * The XRPC layer: each namespace file (xrpc_server.c, xrpc_repo.c, ...)
 * exports one method table, terminated by a NULL nsid, that xrpc.c
 * routes to.  Helpers here shape every answer the way the reference PDS
 * does.
 */
#ifndef PDSD_XRPC_H
#define PDSD_XRPC_H

#include <stddef.h>

#include "syntax.h"

struct http_request;
struct json_object;

/* Body limits, the reference's. */
#define XRPC_JSON_MAX		(150 * 1024)
#define XRPC_WRITE_MAX		1000000	/* createRecord, putRecord, ... */

enum xrpc_kind {
	XRPC_QUERY,		/* GET */
	XRPC_PROCEDURE,		/* POST */
	XRPC_SUBSCRIPTION,	/* WebSocket; the handler checks the method */
};

struct xrpc_method {
	const char	*nsid;
	enum xrpc_kind	 kind;
	void		(*fn)(struct http_request *);
};

extern const struct xrpc_method	xrpc_server_methods[];
extern const struct xrpc_method	xrpc_identity_methods[];
extern const struct xrpc_method	xrpc_repo_methods[];
extern const struct xrpc_method	xrpc_sync_methods[];
extern const struct xrpc_method	xrpc_firehose_methods[];
extern const struct xrpc_method	xrpc_blob_methods[];
extern const struct xrpc_method	xrpc_import_methods[];
extern const struct xrpc_method	xrpc_bsky_feed_methods[];
extern const struct xrpc_method	xrpc_bsky_actor_methods[];
extern const struct xrpc_method	xrpc_prefs_methods[];
extern const struct xrpc_method	xrpc_mute_methods[];

/*
 * xrpc_repo.c: parameters checked by their lexicon format, as the
 * reference words the errors; shared with xrpc_sync.c.  Each gives 1
 * present, 0 absent (optional ones), -1 answered.
 */
enum xrpc_fmt {
	XRPC_FMT_ANY,
	XRPC_FMT_DID,
	XRPC_FMT_ATID,		/* at-identifier: a DID or a handle */
	XRPC_FMT_NSID,
	XRPC_FMT_RKEY,
	XRPC_FMT_CID,
	XRPC_FMT_TID,
};
void	xrpc_internal_error(struct http_request *);
const char *xrpc_fmt_check(enum xrpc_fmt, const char *);
int	xrpc_param_fmt(struct http_request *, const char *, const char *,
	    enum xrpc_fmt, int, char *, size_t);
int	xrpc_param_int(struct http_request *, const char *, const char *,
	    long long, long long, long long, long long *);
int	xrpc_param_bool(struct http_request *, const char *, const char *,
	    int *);
/* A string field of a JSON body, checked as the reference words it. */
int	xrpc_field_str(struct http_request *, struct json_object *,
	    const char *, const char *, enum xrpc_fmt, int, const char **);
/*
 * xrpc_sync.c: the "did" parameter of a repository served to everyone
 * (known, not taken down, suspended or deactivated); 0, or -1 answered.
 */
int	xrpc_sync_repo(struct http_request *, const char *,
	    char [DID_MAX + 1]);

/*
 * xrpc_lex.c: the Lexicon checks of every method with a known schema.
 * Each returns 0 valid, -1 invalid (the message for a 400
 * InvalidRequest in err), 1 nothing to check.
 */
int	xrpc_lex_params(const char *, const char *, char *, size_t);
int	xrpc_lex_input(const char *, struct json_object *, char *, size_t);

/* xrpc.c */
void	xrpc_reply_json(struct http_request *, int, struct json_object *);
/* An answer already written as JSON text, len bytes of it. */
void	xrpc_reply_json_text(struct http_request *, int, const void *,
	    size_t);
void	xrpc_error(struct http_request *, int, const char *, const char *,
	    ...) __attribute__((__format__ (printf, 4, 5)));
/*
 * The request has a body of that Content-Type (parameters aside): 0, or
 * -1 answered with the reference's words.
 */
int	xrpc_content_type(struct http_request *, const char *);
/* 413 PayloadTooLargeError with that message; the connection closes. */
void	xrpc_too_large(struct http_request *, const char *);
/*
 * Read a JSON object body (at most max bytes) and call cb with it; cb
 * owns the object (json_object_put).  A wrong Content-Type, bad JSON or
 * a non-object answers the client itself, as the reference does.
 */
void	xrpc_read_json(struct http_request *, size_t,
	    void (*)(struct http_request *, struct json_object *));
/*
 * Query parameter name as a string: 1 present, 0 absent; a malformed
 * one is answered 400 and gives -1 (the handler just returns).
 */
int	xrpc_param(struct http_request *, const char *, const char *, char *,
	    size_t);
/* JSON object field as a string, or NULL if absent or not a string. */
const char *xrpc_json_str(struct json_object *, const char *);

#endif
