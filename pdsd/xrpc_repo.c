/*
 * com.atproto.repo.*: record writes through the one write path
 * (repo.c), and reads of the record index.  Errors are worded as the
 * reference PDS words them (../shared/bench/error-examples.json).
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "auth.h"
#include "cbor.h"
#include "cid.h"
#include "dm.h"
#include "dmjson.h"
#include "http.h"
#include "log.h"
#include "pdsd.h"
#include "ratelimit.h"
#include "repo.h"
#include "repo_store.h"
#include "syntax.h"
#include "tid.h"
#include "xrpc.h"

/*
 * LEXICON: record validation is wired here once common/lexicon.h
 * exists; until then every collection is "unknown".
 */
#if defined(__has_include)
#if __has_include("lexicon.h")
#include "lexicon.h"
#define HAVE_LEXICON	1
#endif
#endif

#define NS		"com.atproto.repo."
#define AW_TYPE		NS "applyWrites"
#define LIST_DEFAULT	50
#define LIST_MAX	100
#define WRITE_AUTH	(AUTH_ACCESS_APP | AUTH_CHECK_TAKEDOWN | \
			    AUTH_CHECK_DEACTIVATED)

enum vstatus {
	V_NONE,			/* validate: false */
	V_VALID,
	V_UNKNOWN,
};

enum wkind {
	W_CREATE,
	W_PUT,
	W_DELETE,
	W_APPLY,
};

/* A write waiting for its commit. */
struct rwrite {
	struct http_request	*req;
	enum wkind		 kind;
	enum vstatus		 vs[REPO_MAX_OPS];
};

static void	repo_create(struct http_request *);
static void	repo_put(struct http_request *);
static void	repo_delete(struct http_request *);
static void	repo_apply(struct http_request *);
static void	repo_get(struct http_request *);
static void	repo_list(struct http_request *);
static void	repo_describe(struct http_request *);

const struct xrpc_method xrpc_repo_methods[] = {
	{ NS "createRecord",	XRPC_PROCEDURE,	repo_create },
	{ NS "putRecord",	XRPC_PROCEDURE,	repo_put },
	{ NS "deleteRecord",	XRPC_PROCEDURE,	repo_delete },
	{ NS "applyWrites",	XRPC_PROCEDURE,	repo_apply },
	{ NS "getRecord",	XRPC_QUERY,	repo_get },
	{ NS "listRecords",	XRPC_QUERY,	repo_list },
	{ NS "describeRepo",	XRPC_QUERY,	repo_describe },
	{ NULL,			0,		NULL },
};

void
xrpc_internal_error(struct http_request *req)
{
	xrpc_error(req, 500, "InternalServerError", "Internal Server Error");
}

/*
 * Formats of strings, shared with xrpc_sync.c.
 */

/* NULL if s has the format, else the format's name for the error. */
const char *
xrpc_fmt_check(enum xrpc_fmt fmt, const char *s)
{
	size_t		 n = strlen(s);
	struct cid	 c;

	switch (fmt) {
	case XRPC_FMT_ANY:
		return NULL;
	case XRPC_FMT_DID:
		return syntax_is_did(s, n) ? NULL : "DID";
	case XRPC_FMT_ATID:
		if (strncmp(s, "did:", 4) == 0)
			return syntax_is_did(s, n) ? NULL : "DID";
		return syntax_is_handle(s, n) ? NULL : "handle";
	case XRPC_FMT_NSID:
		return syntax_is_nsid(s, n) ? NULL : "NSID";
	case XRPC_FMT_RKEY:
		return syntax_is_rkey(s, n) ? NULL : "record key";
	case XRPC_FMT_CID:
		return cid_from_str(&c, s, n, NULL) == 0 ? NULL : "CID";
	case XRPC_FMT_TID:
		return syntax_is_tid(s, n) ? NULL : "TID";
	}
	return "value";
}

int
xrpc_param_fmt(struct http_request *req, const char *nsid, const char *name,
    enum xrpc_fmt fmt, int required, char *buf, size_t len)
{
	const char	*bad;
	int		 r;

	if ((r = xrpc_param(req, name, nsid, buf, len)) == -1)
		return -1;
	if (r == 0) {
		if (!required)
			return 0;
		xrpc_error(req, 400, "InvalidRequest", "Invalid %s params: "
		    "Missing required key \"%s\"", nsid, name);
		return -1;
	}
	if ((bad = xrpc_fmt_check(fmt, buf)) != NULL) {
		xrpc_error(req, 400, "InvalidRequest", "Invalid %s params: "
		    "Invalid %s (got \"%.256s\")", nsid, bad, buf);
		return -1;
	}
	return 1;
}

int
xrpc_param_int(struct http_request *req, const char *nsid, const char *name,
    long long min, long long max, long long def, long long *out)
{
	char		 buf[32], *end;
	long long	 v;
	int		 r;

	*out = def;
	if ((r = xrpc_param(req, name, nsid, buf, sizeof(buf))) <= 0)
		return r;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (buf[0] == '\0' || *end != '\0' || errno != 0) {
		xrpc_error(req, 400, "InvalidRequest", "Invalid %s params: "
		    "Expected integer value type (got \"%s\")", nsid, buf);
		return -1;
	}
	if (v > max) {
		xrpc_error(req, 400, "InvalidRequest", "Invalid %s params: "
		    "integer too big (maximum %lld, got %lld)", nsid, max, v);
		return -1;
	}
	if (v < min) {
		xrpc_error(req, 400, "InvalidRequest", "Invalid %s params: "
		    "integer too small (minimum %lld, got %lld)", nsid, min, v);
		return -1;
	}
	*out = v;
	return 1;
}

int
xrpc_param_bool(struct http_request *req, const char *nsid, const char *name,
    int *out)
{
	char	 buf[8];
	int	 r;

	*out = 0;
	if ((r = xrpc_param(req, name, nsid, buf, sizeof(buf))) <= 0)
		return r;
	if (strcmp(buf, "true") != 0 && strcmp(buf, "false") != 0) {
		xrpc_error(req, 400, "InvalidRequest", "Invalid %s params: "
		    "Expected boolean value type (got \"%s\")", nsid, buf);
		return -1;
	}
	*out = strcmp(buf, "true") == 0;
	return 1;
}

/*
 * Input fields.  path is where the object sits ("$", "$.writes[0]").
 */

static int
field_type_error(struct http_request *req, const char *path,
    const char *key, const char *want, struct json_object *v)
{
	xrpc_error(req, 400, "InvalidRequest", "Expected %s value type "
	    "(got %.128s) at %s.%s", want, json_object_to_json_string_ext(v,
	    JSON_C_TO_STRING_PLAIN), path, key);
	return -1;
}

/* A string field of a format: 1 present, 0 absent, -1 answered. */
static int
field_str(struct http_request *req, struct json_object *o, const char *path,
    const char *key, enum xrpc_fmt fmt, int required, const char **out)
{
	struct json_object	*v;
	const char		*bad;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL) {
		if (!required)
			return 0;
		xrpc_error(req, 400, "InvalidRequest",
		    "Missing required key \"%s\" at %s", key, path);
		return -1;
	}
	if (!json_object_is_type(v, json_type_string))
		return field_type_error(req, path, key, "string", v);
	*out = json_object_get_string(v);
	if ((bad = xrpc_fmt_check(fmt, *out)) != NULL) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Invalid %s (got \"%.256s\") at %s.%s", bad, *out, path,
		    key);
		return -1;
	}
	return 1;
}

/* field_str for the other namespace files. */
int
xrpc_field_str(struct http_request *req, struct json_object *o,
    const char *path, const char *key, enum xrpc_fmt fmt, int required,
    const char **out)
{
	return field_str(req, o, path, key, fmt, required, out);
}

/* The "validate" flag: -1 unset, 0 false, 1 true; -2 answered. */
static int
field_validate(struct http_request *req, struct json_object *o)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, "validate", &v) || v == NULL)
		return -1;
	if (!json_object_is_type(v, json_type_boolean)) {
		field_type_error(req, "$", "validate", "boolean", v);
		return -2;
	}
	return json_object_get_boolean(v);
}

/* swapCommit, if given, into the write. */
static int
field_swap_commit(struct http_request *req, struct json_object *o,
    struct repo_write *w)
{
	const char	*s;
	int		 r;

	if ((r = field_str(req, o, "$", "swapCommit", XRPC_FMT_CID, 0,
	    &s)) != 1)
		return r;
	cid_from_str(&w->swap_commit, s, strlen(s), NULL);
	w->has_swap_commit = 1;
	return 1;
}

/*
 * The repository a write goes to: the caller's own, by handle or DID.
 * 0, or -1 answered.
 */
static int
write_repo(struct http_request *req, struct json_object *o,
    const struct auth *auth, char did[DID_MAX + 1])
{
	struct auth_account	 a;
	const char		*repo;
	int			 r;

	if (field_str(req, o, "$", "repo", XRPC_FMT_ATID, 1, &repo) == -1)
		return -1;
	if ((r = auth_account_find(fe->db, repo, &a)) == -1) {
		xrpc_internal_error(req);
		return -1;
	}
	auth_account_clear(&a);
	if (r == 1) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Could not find repo: %.256s", repo);
		return -1;
	}
	if (strcmp(a.status, "deactivated") == 0) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Account is deactivated");
		return -1;
	}
	if (strcmp(a.did, auth->did) != 0) {
		xrpc_error(req, 401, "AuthenticationRequired",
		    "Authentication Required");
		return -1;
	}
	strlcpy(did, a.did, DID_MAX + 1);
	return 0;
}

/*
 * 0 valid, -1 invalid (err filled), 1 no lexicon for the collection.
 * path is where the record sits in the request.
 */
static int
record_validate(const char *collection, const struct dm *rec,
    const char *path, char *err, size_t errlen)
{
#ifdef HAVE_LEXICON
	static int	 loaded;

	/* Built in: parsed on first use unless the frontend did already. */
	if (!loaded && lexicon_count() == 0 && lexicon_load_builtin() == -1)
		log_warnx("lexicons: some schemas did not load");
	loaded = 1;
	return lexicon_validate_record_at(collection, rec, path, err, errlen);
#else
	return 1;
#endif
}

/*
 * The record of a create or update: its $type filled in and checked
 * against the collection, then validated as validate asks.  0, or -1
 * answered.
 */
static int
op_record(struct http_request *req, struct repo_op *op,
    struct json_object *rec, const char *path, const char *key,
    int validate, enum vstatus *vs)
{
	const char	*errstr, *type;
	char		 err[512], at[64];
	int		 r;

	if (!json_object_is_type(rec, json_type_object))
		return field_type_error(req, path, key, "object", rec);
	if (dmjson_from_object(rec, &op->record, &errstr) == -1) {
		xrpc_error(req, 400, "InvalidRequest", "Invalid record: %s",
		    errstr);
		return -1;
	}
	if ((type = dm_map_get_str(op->record, "$type", NULL)) == NULL) {
		if (dm_map_set(op->record, "$type",
		    dm_str(op->collection)) == -1) {
			xrpc_internal_error(req);
			return -1;
		}
	} else if (validate != 0 && strcmp(type, op->collection) != 0) {
		xrpc_error(req, 400, "InvalidRequest", "Invalid $type: "
		    "expected %s, got %.256s", op->collection, type);
		return -1;
	}
	*vs = V_NONE;
	if (validate == 0)
		return 0;
	snprintf(at, sizeof(at), "%s.%s", path, key);
	r = record_validate(op->collection, op->record, at, err, sizeof(err));
	if (r == -1) {
		xrpc_error(req, 400, "InvalidRequest", "%s", err);
		return -1;
	}
	if (r == 1 && validate == 1) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Unknown lexicon type: %s", op->collection);
		return -1;
	}
	*vs = r == 0 ? V_VALID : V_UNKNOWN;
	return 0;
}

/*
 * Answers.
 */

static void
add_str(struct json_object *o, const char *key, const char *s)
{
	json_object_object_add(o, key, json_object_new_string(s));
}

static void
add_cid(struct json_object *o, const char *key, const struct cid *c)
{
	char	 s[CID_STRSZ];

	if (cid_to_str(c, s, sizeof(s)) == -1)
		s[0] = '\0';
	add_str(o, key, s);
}

static void
add_uri(struct json_object *o, const char *did, const struct repo_op *op)
{
	char	 uri[8 + DID_MAX + NSID_MAX + RKEY_MAX];

	snprintf(uri, sizeof(uri), "at://%s/%s/%s", did, op->collection,
	    op->rkey);
	add_str(o, "uri", uri);
}

static void
add_vstatus(struct json_object *o, enum vstatus vs)
{
	if (vs != V_NONE)
		add_str(o, "validationStatus", vs == V_VALID ? "valid" :
		    "unknown");
}

static struct json_object *
commit_meta(const struct repo_root *root)
{
	struct json_object	*c = json_object_new_object();

	add_cid(c, "cid", &root->commit);
	add_str(c, "rev", root->rev);
	return c;
}

static void
apply_reply(struct rwrite *rw, struct repo_write *w, struct json_object *o)
{
	struct json_object	*a, *r;
	struct repo_op		*op;
	size_t			 i;

	json_object_object_add(o, "commit", commit_meta(&w->new_root));
	a = json_object_new_array();
	for (i = 0; i < w->nops; i++) {
		op = &w->ops[i];
		r = json_object_new_object();
		if (op->action == REPO_DELETE)
			add_str(r, "$type", AW_TYPE "#deleteResult");
		else {
			add_cid(r, "cid", &op->cid);
			add_uri(r, w->did, op);
			add_vstatus(r, rw->vs[i]);
			add_str(r, "$type", op->action == REPO_CREATE ?
			    AW_TYPE "#createResult" : AW_TYPE "#updateResult");
		}
		json_object_array_add(a, r);
	}
	json_object_object_add(o, "results", a);
}

static void
write_done(struct repo_write *w, int status, const char *name,
    const char *msg)
{
	struct rwrite		*rw = w->arg;
	struct json_object	*o;

	if (status != 0)
		xrpc_error(rw->req, status, name, "%s", msg);
	else {
		o = json_object_new_object();
		switch (rw->kind) {
		case W_CREATE:
		case W_PUT:
			add_uri(o, w->did, &w->ops[0]);
			add_cid(o, "cid", &w->ops[0].cid);
			json_object_object_add(o, "commit",
			    commit_meta(&w->new_root));
			add_vstatus(o, rw->vs[0]);
			break;
		case W_DELETE:
			json_object_object_add(o, "commit",
			    commit_meta(&w->new_root));
			break;
		case W_APPLY:
			apply_reply(rw, w, o);
			break;
		}
		xrpc_reply_json(rw->req, 200, o);
	}
	repo_write_free(w);
	free(rw);
}

/*
 * The start every write shares: the caller's token, the repository,
 * swapCommit and a write of nops operations.  NULL if answered.
 */
static struct repo_write *
write_begin(struct http_request *req, struct json_object *o,
    enum wkind kind, size_t nops)
{
	struct auth		 auth;
	struct repo_write	*w;
	struct rwrite		*rw;
	char			 did[DID_MAX + 1];

	if (auth_check(req, WRITE_AUTH, &auth) == -1 ||
	    write_repo(req, o, &auth, did) == -1)
		return NULL;
	if (nops > REPO_MAX_OPS) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Too many writes. Max: %d", REPO_MAX_OPS);
		return NULL;
	}
	if ((w = repo_write_new(did, nops)) == NULL ||
	    (rw = calloc(1, sizeof(*rw))) == NULL) {
		repo_write_free(w);
		xrpc_internal_error(req);
		return NULL;
	}
	rw->req = req;
	rw->kind = kind;
	w->done = write_done;
	w->arg = rw;
	if (field_swap_commit(req, o, w) == -1) {
		free(rw);
		repo_write_free(w);
		return NULL;
	}
	return w;
}

static void	write_abandon(struct repo_write *);

/*
 * Writes cost the reference's points against the repo's hourly and
 * daily budgets (create 3, update 2, delete 1); over them, 429.
 */
static void
write_submit(struct http_request *req, struct repo_write *w)
{
	uint32_t	 points = 0;
	size_t		 i;

	for (i = 0; i < w->nops; i++)
		points += w->ops[i].action == REPO_CREATE ? RL_POINTS_CREATE :
		    w->ops[i].action == REPO_UPDATE ? RL_POINTS_UPDATE :
		    RL_POINTS_DELETE;
	if (ratelimit_repo_write(w->did, points) == -1) {
		ratelimit_reply(req);
		write_abandon(w);
		return;
	}
	repo_write_submit(w);
}

static void
write_abandon(struct repo_write *w)
{
	free(w->arg);
	repo_write_free(w);
}

/* collection and rkey of an operation; rkey NULL: a new TID. */
static int
op_key(struct http_request *req, struct json_object *o, const char *path,
    struct repo_op *op, int rkey_required)
{
	const char	*coll, *rkey;
	int		 r;

	if (field_str(req, o, path, "collection", XRPC_FMT_NSID, 1,
	    &coll) == -1 || (r = field_str(req, o, path, "rkey",
	    XRPC_FMT_RKEY, rkey_required, &rkey)) == -1)
		return -1;
	if (strlcpy(op->collection, coll, sizeof(op->collection)) >=
	    sizeof(op->collection) || (r == 1 && strlcpy(op->rkey, rkey,
	    sizeof(op->rkey)) >= sizeof(op->rkey))) {
		xrpc_error(req, 400, "InvalidRequest", "Invalid record key "
		    "(got \"%.64s...\") at %s.rkey", rkey, path);
		return -1;
	}
	if (r == 0)
		tid_next(op->rkey);
	return 0;
}

static int
op_value(struct http_request *req, struct json_object *o, const char *path,
    const char *key, struct repo_op *op, int validate, enum vstatus *vs)
{
	struct json_object	*rec;

	if (!json_object_object_get_ex(o, key, &rec) || rec == NULL) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Missing required key \"%s\" at %s", key, path);
		return -1;
	}
	return op_record(req, op, rec, path, key, validate, vs);
}

/*
 * The reference authenticates before it reads and checks the input;
 * the body callback checks again (write_begin), for the account the
 * body names.
 */
static void
write_read(struct http_request *req, size_t max,
    void (*cb)(struct http_request *, struct json_object *))
{
	struct auth	auth;

	if (auth_check(req, WRITE_AUTH, &auth) == -1)
		return;
	xrpc_read_json(req, max, cb);
}

/*
 * createRecord, putRecord
 */

/* swapRecord: a CID, or null for "must not exist". */
static int
put_swap(struct http_request *req, struct json_object *o, struct repo_op *op)
{
	struct json_object	*v;
	const char		*s;

	if (!json_object_object_get_ex(o, "swapRecord", &v))
		return 0;
	op->has_swap = 1;
	if (v == NULL) {
		op->swap_null = 1;
		return 0;
	}
	if (field_str(req, o, "$", "swapRecord", XRPC_FMT_CID, 1, &s) == -1)
		return -1;
	cid_from_str(&op->swap, s, strlen(s), NULL);
	return 0;
}

/* The same record again is no change: no commit, as the reference. */
static int
put_unchanged(struct http_request *req, struct repo_write *w)
{
	struct rwrite		*rw = w->arg;
	struct repo_op		*op = &w->ops[0];
	struct json_object	*o;
	struct cid		 cur;
	int			 r;

	if ((r = rstore_get_record(fe->db, w->did, op->collection, op->rkey,
	    &cur)) == -1 || dm_cbor_cid(op->record, &op->cid) == -1) {
		xrpc_internal_error(req);
		return -1;
	}
	if (r == 1 || !cid_equal(&cur, &op->cid))
		return 0;
	o = json_object_new_object();
	add_uri(o, w->did, op);
	add_cid(o, "cid", &op->cid);
	add_vstatus(o, rw->vs[0]);
	xrpc_reply_json(req, 200, o);
	return 1;
}

/* createRecord and putRecord: one record written. */
static void
one_record(struct http_request *req, struct json_object *o, enum wkind kind)
{
	struct repo_write	*w;
	struct rwrite		*rw;
	int			 validate, put = kind == W_PUT;

	if ((w = write_begin(req, o, kind, 1)) == NULL)
		goto out;
	rw = w->arg;
	w->ops[0].action = put ? REPO_UPDATE : REPO_CREATE;
	if ((validate = field_validate(req, o)) == -2 ||
	    op_key(req, o, "$", &w->ops[0], put) == -1 ||
	    op_value(req, o, "$", "record", &w->ops[0], validate,
	    &rw->vs[0]) == -1 || (put && (put_swap(req, o,
	    &w->ops[0]) == -1 || put_unchanged(req, w) != 0))) {
		write_abandon(w);
		goto out;
	}
	write_submit(req, w);
out:
	json_object_put(o);
}

static void
repo_create_body(struct http_request *req, struct json_object *o)
{
	one_record(req, o, W_CREATE);
}

static void
repo_put_body(struct http_request *req, struct json_object *o)
{
	one_record(req, o, W_PUT);
}

static void
repo_create(struct http_request *req)
{
	write_read(req, XRPC_WRITE_MAX, repo_create_body);
}

static void
repo_put(struct http_request *req)
{
	write_read(req, XRPC_WRITE_MAX, repo_put_body);
}

/*
 * deleteRecord: deleting what is not there succeeds, with no commit.
 */
static void
repo_delete_body(struct http_request *req, struct json_object *o)
{
	struct repo_write	*w;
	struct repo_op		*op;
	struct cid		 cur;
	const char		*s;
	int			 r;

	if ((w = write_begin(req, o, W_DELETE, 1)) == NULL)
		goto out;
	op = &w->ops[0];
	op->action = REPO_DELETE;
	if (op_key(req, o, "$", op, 1) == -1 || (r = field_str(req, o, "$",
	    "swapRecord", XRPC_FMT_CID, 0, &s)) == -1)
		goto fail;
	if (r == 1) {
		op->has_swap = 1;
		cid_from_str(&op->swap, s, strlen(s), NULL);
	}
	if ((r = rstore_get_record(fe->db, w->did, op->collection, op->rkey,
	    &cur)) == -1) {
		xrpc_internal_error(req);
		goto fail;
	}
	if (r == 1) {
		xrpc_reply_json(req, 200, json_object_new_object());
		goto fail;
	}
	write_submit(req, w);
	goto out;
fail:
	write_abandon(w);
out:
	json_object_put(o);
}

static void
repo_delete(struct http_request *req)
{
	write_read(req, XRPC_JSON_MAX, repo_delete_body);
}

/*
 * applyWrites: up to REPO_MAX_OPS operations in one commit.
 */
static int
apply_op(struct http_request *req, struct json_object *wo, size_t i,
    struct repo_op *op, int validate, enum vstatus *vs)
{
	const char	*type;
	char		 path[32];

	snprintf(path, sizeof(path), "$.writes[%zu]", i);
	if (!json_object_is_type(wo, json_type_object)) {
		xrpc_error(req, 400, "InvalidRequest", "Expected object value "
		    "type (got %.128s) at %s", json_object_to_json_string_ext(wo,
		    JSON_C_TO_STRING_PLAIN), path);
		return -1;
	}
	if (field_str(req, wo, path, "$type", XRPC_FMT_ANY, 1, &type) == -1)
		return -1;
	if (strcmp(type, AW_TYPE "#create") == 0)
		op->action = REPO_CREATE;
	else if (strcmp(type, AW_TYPE "#update") == 0)
		op->action = REPO_UPDATE;
	else if (strcmp(type, AW_TYPE "#delete") == 0)
		op->action = REPO_DELETE;
	else {
		xrpc_error(req, 400, "InvalidRequest",
		    "Action not supported: %.128s", type);
		return -1;
	}
	if (op_key(req, wo, path, op, op->action != REPO_CREATE) == -1)
		return -1;
	if (op->action == REPO_DELETE)
		return 0;
	return op_value(req, wo, path, "value", op, validate, vs);
}

static void
repo_apply_body(struct http_request *req, struct json_object *o)
{
	struct json_object	*writes;
	struct repo_write	*w;
	struct rwrite		*rw;
	size_t			 i, n;
	int			 validate;

	if (!json_object_object_get_ex(o, "writes", &writes) ||
	    writes == NULL) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Missing required key \"writes\" at $");
		goto out;
	}
	if (!json_object_is_type(writes, json_type_array)) {
		field_type_error(req, "$", "writes", "array", writes);
		goto out;
	}
	n = json_object_array_length(writes);
	if ((w = write_begin(req, o, W_APPLY, n)) == NULL)
		goto out;
	rw = w->arg;
	if ((validate = field_validate(req, o)) == -2)
		goto fail;
	for (i = 0; i < n; i++)
		if (apply_op(req, json_object_array_get_idx(writes, i), i,
		    &w->ops[i], validate, &rw->vs[i]) == -1)
			goto fail;
	write_submit(req, w);
	goto out;
fail:
	write_abandon(w);
out:
	json_object_put(o);
}

static void
repo_apply(struct http_request *req)
{
	write_read(req, XRPC_WRITE_MAX, repo_apply_body);
}

/*
 * Reads.
 */

/* The DID of a hosted repository named by handle or DID: 0, 1, -1. */
static int
repo_did(const char *repo, char did[DID_MAX + 1])
{
	struct auth_account	 a;
	int			 r;

	if ((r = auth_account_find(fe->db, repo, &a)) != 0)
		return r;
	auth_account_clear(&a);
	strlcpy(did, a.did, DID_MAX + 1);
	return 0;
}

/*
 * One record as {"uri":...,"cid":...,"value":...} appended to b, the
 * value written straight from its stored DAG-CBOR: the same text as
 * json-c made of the decoded value, without a tree built twice.
 */
static int
record_json(struct dm_buf *b, const char *uri, const char *cid,
    const uint8_t *data, size_t len)
{
	const char	*errstr;

	if (dm_buf_add(b, "{\"uri\":", 7) == -1 ||
	    dmjson_put_str(b, uri, strlen(uri)) == -1 ||
	    dm_buf_add(b, ",\"cid\":", 7) == -1 ||
	    dmjson_put_str(b, cid, strlen(cid)) == -1 ||
	    dm_buf_add(b, ",\"value\":", 9) == -1)
		return -1;
	if (dm_cbor_to_json(data, len, b, &errstr) == -1) {
		log_warnx("stored record: %s", errstr);
		return -1;
	}
	return dm_buf_add(b, "}", 1);
}

static void
repo_get(struct http_request *req)
{
	const char		*nsid = NS "getRecord";
	struct dm_buf		 b = { NULL, 0, 0 };
	struct cid		 cur, want;
	char			 repo[DID_MAX + 1], coll[NSID_MAX + 1];
	char			 rkey[RKEY_MAX + 1], cs[CID_STRSZ];
	char			 did[DID_MAX + 1], uri[ATURI_MAX];
	uint8_t			*data = NULL;
	size_t			 len;
	int			 r, hascid, tx;

	if (xrpc_param_fmt(req, nsid, "repo", XRPC_FMT_ATID, 1, repo,
	    sizeof(repo)) == -1 || xrpc_param_fmt(req, nsid, "collection",
	    XRPC_FMT_NSID, 1, coll, sizeof(coll)) == -1 ||
	    xrpc_param_fmt(req, nsid, "rkey", XRPC_FMT_RKEY, 1, rkey,
	    sizeof(rkey)) == -1 || (hascid = xrpc_param_fmt(req, nsid, "cid",
	    XRPC_FMT_CID, 0, cs, sizeof(cs))) == -1)
		return;
	/*
	 * One WAL read lock (and snapshot) for the three lookups.  r: 0
	 * found, 1 no such repository, 2 no such record, -1 error.
	 */
	tx = db_read_begin(fe->db);
	if ((r = repo_did(repo, did)) == 0) {
		snprintf(uri, sizeof(uri), "at://%s/%s/%s", did, coll, rkey);
		r = rstore_get_record(fe->db, did, coll, rkey, &cur);
		if (r == 0 && hascid) {
			cid_from_str(&want, cs, strlen(cs), NULL);
			r = !cid_equal(&want, &cur);
		}
		if (r == 0)
			r = rstore_get_block(fe->db, did, &cur, &data, &len);
		if (r == 1)
			r = 2;
	}
	db_read_end(fe->db, tx);
	if (r == -1)
		goto internal;
	if (r == 1) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Could not locate record");
		return;
	}
	if (r == 2) {
		xrpc_error(req, 400, "RecordNotFound",
		    "Could not locate record: %s", uri);
		return;
	}
	if (cid_to_str(&cur, cs, sizeof(cs)) == -1)
		r = -1;
	else
		r = record_json(&b, uri, cs, data, len);
	free(data);
	if (r == -1)
		goto internal;
	xrpc_reply_json_text(req, 200, b.p, b.len);
	dm_buf_free(&b);
	return;
internal:
	dm_buf_free(&b);
	xrpc_internal_error(req);
}

/*
 * The answer is written in one buffer kept from one listing to the
 * next (a page of 50 posts is about 16 KB), unless it grew past this.
 */
#define LIST_KEEP	(1024 * 1024)

struct listing {
	struct dm_buf		*out;
	char			 uri[ATURI_MAX];	/* at://did/coll/ */
	size_t			 urilen;
	char			 last[RKEY_MAX + 1];
};

static int
list_one(void *arg, const char *rkey, const char *c, const uint8_t *data,
    size_t len)
{
	struct listing		*l = arg;
	size_t			 n = strlen(rkey);

	if (n >= sizeof(l->uri) - l->urilen)
		return -1;
	memcpy(l->uri + l->urilen, rkey, n + 1);
	if ((l->last[0] != '\0' && dm_buf_add(l->out, ",", 1) == -1) ||
	    record_json(l->out, l->uri, c, data, len) == -1)
		return -1;
	strlcpy(l->last, rkey, sizeof(l->last));
	return 0;
}

static void
repo_list(struct http_request *req)
{
	const char		*nsid = NS "listRecords";
	static struct dm_buf	 out;
	struct listing		 l;
	char			 repo[DID_MAX + 1], coll[NSID_MAX + 1];
	char			 cursor[RKEY_MAX + 1], did[DID_MAX + 1];
	long long		 limit;
	int			 r, hascur, reverse, tx;

	if (xrpc_param_fmt(req, nsid, "repo", XRPC_FMT_ATID, 1, repo,
	    sizeof(repo)) == -1 || xrpc_param_fmt(req, nsid, "collection",
	    XRPC_FMT_NSID, 1, coll, sizeof(coll)) == -1 ||
	    xrpc_param_int(req, nsid, "limit", 1, LIST_MAX, LIST_DEFAULT,
	    &limit) == -1 || (hascur = xrpc_param_fmt(req, nsid, "cursor",
	    XRPC_FMT_ANY, 0, cursor, sizeof(cursor))) == -1 ||
	    xrpc_param_bool(req, nsid, "reverse", &reverse) == -1)
		return;
	tx = db_read_begin(fe->db);
	if ((r = repo_did(repo, did)) != 0) {
		db_read_end(fe->db, tx);
		if (r == -1)
			xrpc_internal_error(req);
		else
			xrpc_error(req, 400, "InvalidRequest",
			    "Could not find repo: %s", repo);
		return;
	}
	l.out = &out;
	l.out->len = 0;
	l.last[0] = '\0';
	l.urilen = (size_t)snprintf(l.uri, sizeof(l.uri), "at://%s/%s/",
	    did, coll);
	if (l.urilen >= sizeof(l.uri) ||
	    dm_buf_add(l.out, "{\"records\":[", 12) == -1 ||
	    rstore_list_records(fe->db, did, coll, hascur ? cursor : NULL,
	    reverse, (int)limit, list_one, &l) != 0 ||
	    dm_buf_add(l.out, "]", 1) == -1 ||
	    (l.last[0] != '\0' && (dm_buf_add(l.out, ",\"cursor\":", 10) ==
	    -1 || dmjson_put_str(l.out, l.last, strlen(l.last)) == -1)) ||
	    dm_buf_add(l.out, "}", 1) == -1)
		r = -1;
	db_read_end(fe->db, tx);
	if (r == -1)
		xrpc_internal_error(req);
	else
		xrpc_reply_json_text(req, 200, l.out->p, l.out->len);
	if (l.out->cap > LIST_KEEP)
		dm_buf_free(l.out);
}

static int
add_collection(void *arg, const char *collection)
{
	return json_object_array_add(arg,
	    json_object_new_string(collection)) == 0 ? 0 : -1;
}

static void
repo_describe(struct http_request *req)
{
	const char		*nsid = NS "describeRepo";
	struct json_object	*o, *doc, *colls;
	struct auth_account	 a;
	char			 repo[DID_MAX + 1];
	int			 r;

	if (xrpc_param_fmt(req, nsid, "repo", XRPC_FMT_ATID, 1, repo,
	    sizeof(repo)) == -1)
		return;
	if ((r = auth_account_find(fe->db, repo, &a)) == -1) {
		xrpc_internal_error(req);
		return;
	}
	auth_account_clear(&a);
	if (r == 1) {
		xrpc_error(req, 400, "RepoNotFound",
		    "Could not find repo for DID: %s", repo);
		return;
	}
	colls = json_object_new_array();
	if ((doc = identity_did_doc(a.did)) == NULL ||
	    rstore_collections(fe->db, a.did, add_collection, colls) != 0) {
		json_object_put(doc);
		json_object_put(colls);
		xrpc_internal_error(req);
		return;
	}
	o = json_object_new_object();
	add_str(o, "handle", a.handle);
	add_str(o, "did", a.did);
	json_object_object_add(o, "didDoc", doc);
	json_object_object_add(o, "collections", colls);
	/* Our own document names the handle: it resolves both ways. */
	json_object_object_add(o, "handleIsCorrect",
	    json_object_new_boolean(1));
	xrpc_reply_json(req, 200, o);
}
