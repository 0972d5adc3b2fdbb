/*
 * The blob methods: com.atproto.repo.uploadBlob and listMissingBlobs,
 * com.atproto.sync.getBlob and listBlobs.  Uploads stream to disk as
 * they arrive (blob.c); downloads leave as file segments, never read
 * into memory.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json.h>

#include "auth.h"
#include "blob.h"
#include "cid.h"
#include "http.h"
#include "log.h"
#include "pdsd.h"
#include "syntax.h"
#include "xrpc.h"

#define REPO_NS		"com.atproto.repo."
#define SYNC_NS		"com.atproto.sync."
#define LIST_DEFAULT	500
#define LIST_MAX	1000
#define CT_MAX		256		/* Content-Type kept of an upload */

static void	blob_upload(struct http_request *);
static void	blob_list_missing(struct http_request *);
static void	blob_get_blob(struct http_request *);
static void	blob_list_blobs(struct http_request *);

const struct xrpc_method xrpc_blob_methods[] = {
	{ REPO_NS "uploadBlob",		XRPC_PROCEDURE,	blob_upload },
	{ REPO_NS "listMissingBlobs",	XRPC_QUERY,	blob_list_missing },
	{ SYNC_NS "getBlob",		XRPC_QUERY,	blob_get_blob },
	{ SYNC_NS "listBlobs",		XRPC_QUERY,	blob_list_blobs },
	{ NULL,				0,		NULL },
};

/*
 * uploadBlob.
 */

struct upload {
	struct blob_upload	*bu;
	char			 did[DID_MAX + 1];
	char			 ct[CT_MAX];
	int			 by_quota;	/* the quota is the limit */
};

static void
upload_free(struct upload *u)
{
	blob_upload_abort(u->bu);
	free(u);
}

static void
upload_abort(struct http_request *req)
{
	upload_free(http_request_data(req));
}

static void
too_large(struct http_request *req, int by_quota)
{
	http_response_close(req);
	xrpc_error(req, 413, "PayloadTooLargeError", "%s", by_quota ?
	    "blob storage quota exceeded" : "request entity too large");
}

static int
upload_chunk(struct http_request *req, const uint8_t *p, size_t len)
{
	struct upload	*u = http_request_data(req);

	switch (blob_upload_write(u->bu, p, len)) {
	case 0:
		return 0;
	case 1:
		too_large(req, u->by_quota);
		break;
	default:
		xrpc_internal_error(req);
		break;
	}
	upload_free(u);
	return -1;
}

static void
no_body(struct http_request *req)
{
	xrpc_error(req, 400, "InvalidRequest",
	    "A request body is expected but none was provided");
}

/* {"blob":{"$type":"blob","ref":{"$link":...},"mimeType":...,"size":...}} */
static void
upload_reply(struct http_request *req, const struct blob_info *bi)
{
	struct json_object	*o, *b, *ref;
	char			 cs[CID_STRSZ];

	if (cid_to_str(&bi->cid, cs, sizeof(cs)) == -1) {
		xrpc_internal_error(req);
		return;
	}
	ref = json_object_new_object();
	json_object_object_add(ref, "$link", json_object_new_string(cs));
	b = json_object_new_object();
	json_object_object_add(b, "$type", json_object_new_string("blob"));
	json_object_object_add(b, "ref", ref);
	json_object_object_add(b, "mimeType",
	    json_object_new_string(bi->mime));
	json_object_object_add(b, "size", json_object_new_int64(bi->size));
	o = json_object_new_object();
	json_object_object_add(o, "blob", b);
	xrpc_reply_json(req, 200, o);
}

static void
upload_done(struct http_request *req)
{
	struct upload		*u = http_request_data(req);
	struct blob_info	 bi;
	struct blob_upload	*bu = u->bu;

	u->bu = NULL;
	if (blob_upload_size(bu) == 0) {
		blob_upload_abort(bu);
		no_body(req);
	} else if (blob_upload_finish(bu, fe->db, u->did, u->ct, &bi) == -1)
		xrpc_internal_error(req);
	else {
		log_debug("%s: blob %s, %s, %lld bytes", u->did,
		    cid_fmt(&bi.cid), bi.mime, (long long)bi.size);
		upload_reply(req, &bi);
	}
	free(u);
}

/*
 * The most this upload may bring: the size limit, or what is left of
 * the account's quota.  -1 if answered.
 */
static int64_t
upload_limit(struct http_request *req, const char *did, int *by_quota)
{
	int64_t	 max = fe->cfg.blob_max_size, used, left;

	*by_quota = 0;
	if (fe->cfg.blob_quota <= 0)
		return max;
	if ((used = blob_usage(fe->db, did)) == -1) {
		xrpc_internal_error(req);
		return -1;
	}
	left = fe->cfg.blob_quota - used;
	if (left < 0)
		left = 0;
	if (left < max) {
		*by_quota = 1;
		return left;
	}
	return max;
}

static void
blob_upload(struct http_request *req)
{
	struct auth	 auth;
	struct upload	*u;
	const char	*ct;
	int64_t		 cl, max;
	int		 by_quota;

	if (auth_check(req, AUTH_ACCESS_APP | AUTH_CHECK_TAKEDOWN,
	    &auth) == -1)
		return;
	cl = http_request_content_length(req);
	ct = http_request_header(req, "Content-Type");
	if (cl == 0) {
		no_body(req);
		return;
	}
	if (ct == NULL || *ct == '\0') {
		xrpc_error(req, 400, "InvalidRequest",
		    "Request encoding (Content-Type) required but not provided");
		return;
	}
	if ((max = upload_limit(req, auth.did, &by_quota)) == -1)
		return;
	if (cl > max) {
		/* Known too big: answered before a byte of it is read. */
		too_large(req, by_quota);
		return;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL ||
	    (u->bu = blob_upload_new(max)) == NULL) {
		free(u);
		xrpc_internal_error(req);
		return;
	}
	u->by_quota = by_quota;
	strlcpy(u->did, auth.did, sizeof(u->did));
	if (strlcpy(u->ct, ct, sizeof(u->ct)) >= sizeof(u->ct))
		u->ct[0] = '\0';
	http_request_set_data(req, u);
	http_request_on_abort(req, upload_abort);
	http_request_body_stream(req, upload_chunk, upload_done);
}

/*
 * Listings.
 */

struct listing {
	const char		*did;
	struct json_object	*arr;
	int			 missing;
	char			 last[CID_STRSZ];
};

static int
list_one(void *arg, const char *cid, const char *key)
{
	struct listing		*l = arg;
	struct json_object	*o;
	char			 uri[ATURI_MAX];

	strlcpy(l->last, cid, sizeof(l->last));
	if (!l->missing)
		return json_object_array_add(l->arr,
		    json_object_new_string(cid));
	snprintf(uri, sizeof(uri), "at://%s/%s", l->did, key);
	o = json_object_new_object();
	json_object_object_add(o, "cid", json_object_new_string(cid));
	json_object_object_add(o, "recordUri", json_object_new_string(uri));
	return json_object_array_add(l->arr, o);
}

static void
list_reply(struct http_request *req, const char *did, enum blob_list which,
    const char *since, const char *cursor, long long limit, const char *key)
{
	struct json_object	*o;
	struct listing		 l;

	memset(&l, 0, sizeof(l));
	l.did = did;
	l.missing = which == BLOB_LIST_MISSING;
	l.arr = json_object_new_array();
	if (blob_list(fe->db, did, which, since, cursor, (int)limit, list_one,
	    &l) == -1) {
		json_object_put(l.arr);
		xrpc_internal_error(req);
		return;
	}
	o = json_object_new_object();
	if (l.last[0] != '\0')
		json_object_object_add(o, "cursor",
		    json_object_new_string(l.last));
	json_object_object_add(o, key, l.arr);
	xrpc_reply_json(req, 200, o);
}

static void
blob_list_missing(struct http_request *req)
{
	const char	*nsid = REPO_NS "listMissingBlobs";
	struct auth	 auth;
	char		 cursor[CID_STRSZ];
	long long	 limit;
	int		 hascur;

	if (auth_check(req, AUTH_ACCESS_APP, &auth) == -1 ||
	    xrpc_param_int(req, nsid, "limit", 1, LIST_MAX, LIST_DEFAULT,
	    &limit) == -1 || (hascur = xrpc_param_fmt(req, nsid, "cursor",
	    XRPC_FMT_ANY, 0, cursor, sizeof(cursor))) == -1)
		return;
	list_reply(req, auth.did, BLOB_LIST_MISSING, NULL,
	    hascur ? cursor : NULL, limit, "blobs");
}

static void
blob_list_blobs(struct http_request *req)
{
	const char	*nsid = SYNC_NS "listBlobs";
	char		 did[DID_MAX + 1], since[TID_LEN + 2];
	char		 cursor[CID_STRSZ];
	long long	 limit;
	int		 hascur, hassince;

	if (xrpc_param_fmt(req, nsid, "did", XRPC_FMT_DID, 1, did,
	    sizeof(did)) == -1 || (hassince = xrpc_param_fmt(req, nsid,
	    "since", XRPC_FMT_TID, 0, since, sizeof(since))) == -1 ||
	    xrpc_param_int(req, nsid, "limit", 1, LIST_MAX, LIST_DEFAULT,
	    &limit) == -1 || (hascur = xrpc_param_fmt(req, nsid, "cursor",
	    XRPC_FMT_ANY, 0, cursor, sizeof(cursor))) == -1 ||
	    xrpc_sync_repo(req, nsid, did) == -1)
		return;
	list_reply(req, did, BLOB_LIST_ALL, hassince ? since : NULL,
	    hascur ? cursor : NULL, limit, "cids");
}

/*
 * getBlob.
 */

/*
 * One byte range, "bytes=a-b", "bytes=a-" or "bytes=-n": 1 with it in
 * *off and *len, 0 to send the whole file (no header, or one we do not
 * serve: several ranges, bad syntax), -1 if it lies past the end.
 */
static int
parse_range(const char *h, int64_t size, int64_t *off, int64_t *len)
{
	const char	*p;
	char		*end;
	long long	 a, b;

	if (h == NULL || strncmp(h, "bytes=", 6) != 0 ||
	    strchr(h, ',') != NULL)
		return 0;
	p = h + 6;
	errno = 0;
	if (*p == '-') {
		b = strtoll(p + 1, &end, 10);
		if (end == p + 1 || *end != '\0' || errno != 0 || b < 0)
			return 0;
		if (b == 0)
			return -1;
		*len = b < size ? b : size;
		*off = size - *len;
		return 1;
	}
	a = strtoll(p, &end, 10);
	if (end == p || *end != '-' || errno != 0 || a < 0)
		return 0;
	p = end + 1;
	b = size - 1;
	if (*p != '\0') {
		b = strtoll(p, &end, 10);
		if (*end != '\0' || errno != 0 || b < a)
			return 0;
		if (b > size - 1)
			b = size - 1;
	}
	if (a >= size)
		return -1;
	*off = a;
	*len = b - a + 1;
	return 1;
}

static void
blob_headers(struct http_request *req, const char *cs)
{
	char	 disp[CID_STRSZ + 64];

	snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", cs);
	http_add_header(req, "X-Content-Type-Options", "nosniff");
	http_add_header(req, "Content-Security-Policy",
	    "default-src 'none'; sandbox");
	http_add_header(req, "Content-Disposition", disp);
	http_add_header(req, "Accept-Ranges", "bytes");
}

static void
unsatisfiable(struct http_request *req, int64_t size)
{
	char	 cr[64];

	snprintf(cr, sizeof(cr), "bytes */%lld", (long long)size);
	http_response_start(req, 416, NULL);
	http_add_header(req, "Content-Range", cr);
	http_response_end(req);
}

/* The file from off for len bytes, as a segment; fd is ours to close. */
static void
send_file(struct http_request *req, const struct blob_info *bi,
    const char *cs, int fd, int64_t size)
{
	struct evbuffer	*b;
	int64_t		 off = 0, len = size;
	char		 cr[96];
	int		 r;

	if ((r = parse_range(http_request_header(req, "Range"), size, &off,
	    &len)) == -1) {
		close(fd);
		unsatisfiable(req, size);
		return;
	}
	/*
	 * The body goes to the socket untouched (no gzip), so the segment
	 * may be sent with sendfile rather than mapped into our memory.
	 */
	if ((b = evbuffer_new()) == NULL ||
	    evbuffer_set_flags(b, EVBUFFER_FLAG_DRAINS_TO_FD) == -1 ||
	    evbuffer_add_file(b, fd, off, len) == -1) {
		close(fd);
		if (b != NULL)
			evbuffer_free(b);
		xrpc_internal_error(req);
		return;
	}
	http_request_no_gzip(req);
	http_response_start(req, r == 1 ? 206 : 200, bi->mime);
	blob_headers(req, cs);
	if (r == 1) {
		snprintf(cr, sizeof(cr), "bytes %lld-%lld/%lld",
		    (long long)off, (long long)(off + len - 1),
		    (long long)size);
		http_add_header(req, "Content-Range", cr);
	}
	http_response_body_buffer(req, b);
	evbuffer_free(b);
	http_response_end(req);
}

static void
blob_get_blob(struct http_request *req)
{
	const char		*nsid = SYNC_NS "getBlob";
	struct blob_info	 bi;
	struct stat		 st;
	struct cid		 c;
	char			 did[DID_MAX + 1], cs[CID_STRSZ];
	char			 path[PATH_MAX];
	int			 r, fd;

	if (xrpc_param_fmt(req, nsid, "did", XRPC_FMT_DID, 1, did,
	    sizeof(did)) == -1 || xrpc_param_fmt(req, nsid, "cid",
	    XRPC_FMT_CID, 1, cs, sizeof(cs)) == -1 ||
	    xrpc_sync_repo(req, nsid, did) == -1)
		return;
	cid_from_str(&c, cs, strlen(cs), NULL);
	if ((r = blob_get(fe->db, did, &c, &bi)) == -1 ||
	    blob_path(&c, path, sizeof(path)) == -1) {
		xrpc_internal_error(req);
		return;
	}
	fd = -1;
	if (r == 0 && (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 &&
	    errno != ENOENT) {
		log_warn("blob %s", path);
		xrpc_internal_error(req);
		return;
	}
	if (fd == -1) {
		xrpc_error(req, 400, "BlobNotFound", "Blob not found");
		return;
	}
	if (fstat(fd, &st) == -1) {
		close(fd);
		xrpc_internal_error(req);
		return;
	}
	cid_to_str(&c, cs, sizeof(cs));
	send_file(req, &bi, cs, fd, st.st_size);
}
