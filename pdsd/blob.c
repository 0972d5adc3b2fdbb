/*
 * Blob storage: the content-addressed directory, the rows that track
 * who holds which blob and which records use it, and the collection of
 * blobs nobody uses.  See blob.h.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "blob.h"
#include "cid.h"
#include "dm.h"
#include "log.h"
#include "pds_imsg.h"
#include "pdsd.h"
#include "repo.h"

#define TMP_DIR		"tmp"
#define GC_PERIOD_MAX	60		/* seconds between collections */

/*
 * Bytes gathered before they go to the file.  Pieces come off the
 * socket a few KB at a time; written as they came, each cost a system
 * call and a partial page the kernel zeroes first.
 */
#define UPLOAD_BUF	(256 * 1024)

/*
 * Written data is sent on to the disk every UPLOAD_SYNC_STEP bytes
 * while the upload goes on, so that the fsync at the end, which holds
 * the event loop, waits for the last stretch only rather than the whole
 * file (about 0.1 s for 50 MiB here).  Steps of a few MiB keep ext4's
 * extents large.
 */
#define UPLOAD_SYNC_STEP	(4 * 1024 * 1024)

struct blob_upload {
	int				 fd;
	char				 tmp[PATH_MAX];
	struct cid_hash			*sha;
	int64_t				 size;
	int64_t				 max;
	uint8_t				 head[BLOB_SNIFF_LEN];
	size_t				 nhead;
	uint8_t				*buf;		/* UPLOAD_BUF */
	size_t				 nbuf;
	int64_t				 written;	/* to the file */
	int64_t				 synced;	/* sent to disk */
};

static char		 dir[PATH_MAX];
static struct event	*gc_ev;

/*
 * Sniffing.
 */

struct magic {
	size_t		 off;
	const char	*bytes;
	size_t		 len;
	const char	*mime;
};

static const struct magic magics[] = {
	{ 0, "\x89PNG\r\n\x1a\n", 8,	"image/png" },
	{ 0, "\xff\xd8\xff", 3,		"image/jpeg" },
	{ 0, "GIF87a", 6,		"image/gif" },
	{ 0, "GIF89a", 6,		"image/gif" },
	{ 0, "II*\0", 4,		"image/tiff" },
	{ 0, "MM\0*", 4,		"image/tiff" },
	{ 0, "%PDF-", 5,		"application/pdf" },
	{ 0, "ID3", 3,			"audio/mpeg" },
	{ 0, "OggS", 4,			"audio/ogg" },
	{ 0, "fLaC", 4,			"audio/x-flac" },
};

/* ISO base media files ("ftyp" box) by their major brand. */
static const struct {
	const char	*brand;
	const char	*mime;
} brands[] = {
	{ "avif", "image/avif" }, { "avis", "image/avif" },
	{ "heic", "image/heic" }, { "heix", "image/heic" },
	{ "heim", "image/heic" }, { "heis", "image/heic" },
	{ "hevc", "image/heic-sequence" }, { "hevx", "image/heic-sequence" },
	{ "mif1", "image/heif" }, { "msf1", "image/heif-sequence" },
	{ "qt  ", "video/quicktime" },
	{ "M4A ", "audio/x-m4a" },
	{ "M4V ", "video/x-m4v" },
};

static const char *
sniff_ftyp(const uint8_t *p, size_t len)
{
	size_t	 i;

	if (len < 12 || memcmp(p + 4, "ftyp", 4) != 0)
		return NULL;
	for (i = 0; i < sizeof(brands) / sizeof(brands[0]); i++)
		if (memcmp(p + 8, brands[i].brand, 4) == 0)
			return brands[i].mime;
	return "video/mp4";
}

/* Matroska's EBML header; its DocType says whether it is WebM. */
static const char *
sniff_ebml(const uint8_t *p, size_t len)
{
	if (len < 4 || memcmp(p, "\x1a\x45\xdf\xa3", 4) != 0)
		return NULL;
	if (memmem(p, len, "webm", 4) != NULL)
		return "video/webm";
	return "video/x-matroska";
}

const char *
blob_sniff(const uint8_t *p, size_t len)
{
	const struct magic	*m;
	const char		*t;
	size_t			 i;

	if (len >= 12 && memcmp(p, "RIFF", 4) == 0) {
		if (memcmp(p + 8, "WEBP", 4) == 0)
			return "image/webp";
		if (memcmp(p + 8, "WAVE", 4) == 0)
			return "audio/wav";
		if (memcmp(p + 8, "AVI ", 4) == 0)
			return "video/vnd.avi";
	}
	if ((t = sniff_ftyp(p, len)) != NULL || (t = sniff_ebml(p, len)) != NULL)
		return t;
	for (i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
		m = &magics[i];
		if (len >= m->off + m->len &&
		    memcmp(p + m->off, m->bytes, m->len) == 0)
			return m->mime;
	}
	return NULL;
}

/* RFC 6838 restricted-name characters. */
static int
mime_char(int c)
{
	return isalnum(c) || strchr("!#$&^_.+-", c) != NULL;
}

/* The client's type/subtype, lower-cased, parameters dropped; or 0. */
static int
mime_from_header(const char *ct, char *out, size_t outlen)
{
	size_t	 n, i, slash = 0;

	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, ";");
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= outlen)
		return 0;
	for (i = 0; i < n; i++) {
		if (ct[i] == '/' && slash == 0 && i > 0)
			slash = i;
		else if (!mime_char((unsigned char)ct[i]))
			return 0;
		out[i] = tolower((unsigned char)ct[i]);
	}
	out[n] = '\0';
	return slash != 0 && slash + 1 < n;
}

void
blob_mime(const uint8_t *head, size_t len, const char *ct, char *out,
    size_t outlen)
{
	const char	*t;

	if ((t = blob_sniff(head, len)) != NULL)
		strlcpy(out, t, outlen);
	else if (!mime_from_header(ct, out, outlen))
		strlcpy(out, "application/octet-stream", outlen);
}

/*
 * The directory.
 */

static int
make_dir(const char *path)
{
	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		log_warn("mkdir %s", path);
		return -1;
	}
	return 0;
}

/* An upload cut short by a crash is no blob: its bytes go. */
static void
empty_tmp(const char *path)
{
	DIR		*d;
	struct dirent	*de;

	if ((d = opendir(path)) == NULL) {
		log_warn("opendir %s", path);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == -1)
			log_warn("unlink %s/%s", path, de->d_name);
	}
	closedir(d);
}

int
blob_init(const char *path)
{
	char	 tmp[PATH_MAX];

	if (strlcpy(dir, path, sizeof(dir)) >= sizeof(dir) ||
	    snprintf(tmp, sizeof(tmp), "%s/%s", dir, TMP_DIR) >=
	    (int)sizeof(tmp)) {
		log_warnx("blob directory path too long");
		return -1;
	}
	if (make_dir(dir) == -1 || make_dir(tmp) == -1)
		return -1;
	empty_tmp(tmp);
	return 0;
}

const char *
blob_dir(void)
{
	return dir;
}

int
blob_path(const struct cid *c, char *buf, size_t len)
{
	char	 s[CID_STRSZ];

	if (cid_to_str(c, s, sizeof(s)) == -1)
		return -1;
	return snprintf(buf, len, "%s/%s", dir, s) < (int)len ? 0 : -1;
}

/*
 * Uploads.
 */

struct blob_upload *
blob_upload_new(int64_t max)
{
	struct blob_upload	*u;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return NULL;
	u->max = max;
	if ((u->buf = malloc(UPLOAD_BUF)) == NULL) {
		free(u);
		return NULL;
	}
	if (snprintf(u->tmp, sizeof(u->tmp), "%s/%s/upload.XXXXXXXXXX", dir,
	    TMP_DIR) >= (int)sizeof(u->tmp) || (u->fd = mkstemp(u->tmp)) == -1) {
		log_warn("blob temporary file in %s", dir);
		free(u->buf);
		free(u);
		return NULL;
	}
	if ((u->sha = cid_hash_new()) == NULL) {
		close(u->fd);
		unlink(u->tmp);
		free(u->buf);
		free(u);
		return NULL;
	}
	return u;
}

void
blob_upload_abort(struct blob_upload *u)
{
	if (u == NULL)
		return;
	if (u->fd != -1) {
		close(u->fd);
		unlink(u->tmp);
	}
	cid_hash_free(u->sha);
	free(u->buf);
	free(u);
}

int64_t
blob_upload_size(const struct blob_upload *u)
{
	return u->size;
}

int
blob_scratch(void)
{
	char	 path[PATH_MAX];
	int	 fd, saved;

	fd = -1;
	if (snprintf(path, sizeof(path), "%s/%s/scratch.XXXXXXXXXX", dir,
	    TMP_DIR) >= (int)sizeof(path))
		errno = ENAMETOOLONG;
	else
		fd = mkstemp(path);
	if (fd == -1) {
		saved = errno;
		log_warn("scratch file in %s", dir);
		errno = saved;
		return -1;
	}
	unlink(path);
	return fd;
}

#define SCRATCH_CHUNK	(256 * 1024)

/*
 * In the kernel where it can (copy_file_range shares the extents on a
 * file system that can), else through a buffer.
 */
int
blob_scratch_copy(int in, off_t len)
{
	uint8_t	*buf = NULL;
	off_t	 off = 0;
	ssize_t	 n;
	int	 out, kernel = 1, saved;

	if ((out = blob_scratch()) == -1)
		return -1;
	while (off < len) {
		if (kernel) {
			n = copy_file_range(in, &off, out, NULL,
			    (size_t)(len - off), 0);
			if (n == -1 && (errno == EXDEV || errno == EINVAL ||
			    errno == ENOSYS || errno == EOPNOTSUPP ||
			    errno == EPERM)) {
				kernel = 0;
				continue;
			}
		} else {
			if (buf == NULL &&
			    (buf = malloc(SCRATCH_CHUNK)) == NULL)
				goto fail;
			n = pread(in, buf, (size_t)(len - off) < SCRATCH_CHUNK ?
			    (size_t)(len - off) : SCRATCH_CHUNK, off);
			if (n > 0 && blob_write_all(out, buf, (size_t)n) == -1)
				goto fail;
			if (n > 0)
				off += n;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;	/* shorter than it was */
	}
	free(buf);
	return out;
fail:
	saved = errno;
	log_warn("copy into a scratch file");
	free(buf);
	close(out);
	errno = saved;	/* for the caller's message */
	return -1;
}

int
blob_write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* Hashed and written; then maybe on to the disk (see above). */
static int
upload_put(struct blob_upload *u, const uint8_t *p, size_t len)
{
	cid_hash_update(u->sha, p, len);
	if (blob_write_all(u->fd, p, len) == -1) {
		log_warn("blob write %s", u->tmp);
		return -1;
	}
	u->written += len;
#ifdef SYNC_FILE_RANGE_WRITE
	/* Only a start: the fsync in place_file is what makes it durable. */
	if (u->written - u->synced >= UPLOAD_SYNC_STEP) {
		sync_file_range(u->fd, u->synced, u->written - u->synced,
		    SYNC_FILE_RANGE_WRITE);
		u->synced = u->written;
	}
#endif
	return 0;
}

/* What is gathered goes out. */
static int
upload_flush(struct blob_upload *u)
{
	if (u->nbuf == 0)
		return 0;
	if (upload_put(u, u->buf, u->nbuf) == -1)
		return -1;
	u->nbuf = 0;
	return 0;
}

int
blob_upload_write(struct blob_upload *u, const uint8_t *p, size_t len)
{
	size_t	 n;

	if (u->fd == -1)
		return -1;
	if ((uint64_t)len > (uint64_t)(u->max - u->size)) {
		close(u->fd);
		unlink(u->tmp);
		u->fd = -1;
		return 1;
	}
	if (u->nhead < sizeof(u->head)) {
		n = sizeof(u->head) - u->nhead;
		n = n < len ? n : len;
		memcpy(u->head + u->nhead, p, n);
		u->nhead += n;
	}
	u->size += len;
	/* A large piece with nothing gathered goes as it is. */
	if (u->nbuf == 0 && len >= UPLOAD_BUF / 2) {
		if (upload_put(u, p, len) == -1) {
			close(u->fd);
			unlink(u->tmp);
			u->fd = -1;
			return -1;
		}
		return 0;
	}
	while (len > 0) {
		n = UPLOAD_BUF - u->nbuf;
		n = n < len ? n : len;
		memcpy(u->buf + u->nbuf, p, n);
		u->nbuf += n;
		p += n;
		len -= n;
		if (u->nbuf == UPLOAD_BUF && upload_flush(u) == -1) {
			close(u->fd);
			unlink(u->tmp);
			u->fd = -1;
			return -1;
		}
	}
	return 0;
}

/* CIDv1, raw codec, over a SHA-256 digest we already have. */
static void
raw_cid(struct cid *c, const uint8_t digest[32])
{
	c->b[0] = 1;
	c->b[1] = CID_CODEC_RAW;
	c->b[2] = CID_HASH_SHA256;
	c->b[3] = 32;
	memcpy(c->b + 4, digest, 32);
	c->len = CID_SHA256_LEN;
}

/* The file under its name, durably: data, then the directory entry. */
static int
place_file(struct blob_upload *u, const struct cid *c)
{
	char	 path[PATH_MAX];
	int	 dfd, rv = 0;

	if (fsync(u->fd) == -1 || close(u->fd) == -1) {
		log_warn("blob sync %s", u->tmp);
		close(u->fd);
		u->fd = -1;
		unlink(u->tmp);
		return -1;
	}
	u->fd = -1;
	if (blob_path(c, path, sizeof(path)) == -1 ||
	    rename(u->tmp, path) == -1) {
		log_warn("blob rename %s", u->tmp);
		unlink(u->tmp);
		return -1;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY)) == -1 ||
	    fsync(dfd) == -1) {
		log_warn("blob sync %s", dir);
		rv = -1;
	}
	if (dfd != -1)
		close(dfd);
	return rv;
}

/* The account's row: a blob uploaded again is fresh again. */
static int
store_row(struct sqlite3 *db, const char *did, struct blob_info *bi)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	char			 cs[CID_STRSZ], now[32];
	int			 rc;

	if ((st = db_stmt(db, &cache, "INSERT INTO blob (did, cid, mime, "
	    "size, created_at, used, idle_since) VALUES (?, ?, ?, ?, ?, 0, ?) "
	    "ON CONFLICT (did, cid) DO UPDATE SET idle_since = "
	    "excluded.idle_since, mime = CASE WHEN used THEN mime ELSE "
	    "excluded.mime END RETURNING mime")) == NULL ||
	    cid_to_str(&bi->cid, cs, sizeof(cs)) == -1)
		return -1;
	db_now(now, sizeof(now));
	sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, cs, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, bi->mime, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, bi->size);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (int64_t)time(NULL));
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		strlcpy(bi->mime, (const char *)sqlite3_column_text(st, 0),
		    sizeof(bi->mime));
	if (rc != SQLITE_ROW || sqlite3_step(st) != SQLITE_DONE) {
		log_warnx("blob row: %s", sqlite3_errmsg(db));
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	return 0;
}

int
blob_upload_finish(struct blob_upload *u, struct sqlite3 *db,
    const char *did, const char *ct, struct blob_info *bi)
{
	uint8_t	 digest[32];
	int	 rv = -1;

	if (u->fd == -1 || upload_flush(u) == -1)
		goto out;
	cid_hash_final(u->sha, digest);
	u->sha = NULL;
	raw_cid(&bi->cid, digest);
	bi->size = u->size;
	blob_mime(u->head, u->nhead, ct, bi->mime, sizeof(bi->mime));
	if (place_file(u, &bi->cid) == 0 && store_row(db, did, bi) == 0)
		rv = 0;
 out:
	blob_upload_abort(u);
	return rv;
}

/*
 * Lookups.
 */

int
blob_get(struct sqlite3 *db, const char *did, const struct cid *c,
    struct blob_info *bi)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	char			 cs[CID_STRSZ];
	int			 rc;

	if ((st = db_stmt(db, &cache, "SELECT mime, size FROM blob "
	    "WHERE did = ? AND cid = ?")) == NULL ||
	    cid_to_str(c, cs, sizeof(cs)) == -1)
		return -1;
	sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, cs, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		bi->cid = *c;
		strlcpy(bi->mime, (const char *)sqlite3_column_text(st, 0),
		    sizeof(bi->mime));
		bi->size = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? 1 : -1;
}

int64_t
blob_usage(struct sqlite3 *db, const char *did)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	int64_t			 n = -1;

	if ((st = db_stmt(db, &cache, "SELECT coalesce(sum(size), 0) FROM "
	    "blob WHERE did = ?")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

static const char *const list_sql[] = {
	/* all */
	"SELECT cid, min(collection || '/' || rkey) FROM record_blob "
	"WHERE did = ?1 AND cid > ?2 GROUP BY cid ORDER BY cid LIMIT ?3",
	/* all, since a rev */
	"SELECT rb.cid, min(rb.collection || '/' || rb.rkey) FROM record_blob rb "
	"JOIN record r ON r.did = rb.did AND r.collection = rb.collection AND "
	"r.rkey = rb.rkey WHERE rb.did = ?1 AND rb.cid > ?2 AND r.rev > ?4 "
	"GROUP BY rb.cid ORDER BY rb.cid LIMIT ?3",
	/* missing */
	"SELECT cid, min(collection || '/' || rkey) FROM record_blob rb "
	"WHERE did = ?1 AND cid > ?2 AND NOT EXISTS (SELECT 1 FROM blob b "
	"WHERE b.did = rb.did AND b.cid = rb.cid) GROUP BY cid ORDER BY cid "
	"LIMIT ?3",
};

int
blob_list(struct sqlite3 *db, const char *did, enum blob_list which,
    const char *since, const char *cursor, int limit, blob_list_fn cb,
    void *arg)
{
	static sqlite3_stmt	*cache[3];
	sqlite3_stmt		*st;
	int			 i, rc;

	i = which == BLOB_LIST_MISSING ? 2 : since != NULL ? 1 : 0;
	if ((st = db_stmt(db, &cache[i], list_sql[i])) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, cursor != NULL ? cursor : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int(st, 3, limit);
	if (i == 1)
		sqlite3_bind_text(st, 4, since, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (cb(arg, (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1)) != 0)
			break;
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * References from records.
 */

static int
walk(const struct dm *v, int (*cb)(void *, const struct cid *, const char *,
    int64_t), void *arg)
{
	const struct cid	*ref;
	const char		*t, *s;
	struct cid		 c;
	int64_t			 size;
	size_t			 i, len;
	int			 rv;

	if (v->type == DM_ARRAY) {
		for (i = 0; i < v->u.arr.n; i++)
			if ((rv = walk(v->u.arr.v[i], cb, arg)) != 0)
				return rv;
		return 0;
	}
	if (v->type != DM_MAP)
		return 0;
	t = dm_map_get_str(v, "$type", &len);
	if (t != NULL && len == 4 && memcmp(t, "blob", 4) == 0 &&
	    (ref = dm_map_get_link(v, "ref")) != NULL) {
		if (dm_map_get_int(v, "size", &size) == -1)
			size = -1;
		return cb(arg, ref, dm_map_get_str(v, "mimeType", NULL), size);
	}
	/* The legacy form: {"cid": "<cid>", "mimeType": "..."} alone. */
	if (v->u.map.n == 2 && (s = dm_map_get_str(v, "cid", &len)) != NULL &&
	    dm_map_get_str(v, "mimeType", NULL) != NULL &&
	    cid_from_str(&c, s, len, NULL) == 0)
		return cb(arg, &c, dm_map_get_str(v, "mimeType", NULL), -1);
	for (i = 0; i < v->u.map.n; i++)
		if ((rv = walk(v->u.map.e[i].val, cb, arg)) != 0)
			return rv;
	return 0;
}

int
blob_refs_walk(const struct dm *v, int (*cb)(void *, const struct cid *,
    const char *, int64_t), void *arg)
{
	return v == NULL ? 0 : walk(v, cb, arg);
}

/* Bind did, collection, rkey at 1..3 and run; 0 or -1. */
static int
exec3(struct sqlite3 *db, sqlite3_stmt **cache, const char *sql,
    const char *a, const char *b, const char *c)
{
	sqlite3_stmt	*st;

	if ((st = db_stmt(db, cache, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b != NULL)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	if (c != NULL)
		sqlite3_bind_text(st, 3, c, -1, SQLITE_STATIC);
	return db_step_done(db, st);
}

/* A record goes or changes: its blobs start to idle now. */
static int
release(struct sqlite3 *db, const char *did, const char *coll,
    const char *rkey, time_t now)
{
	static sqlite3_stmt	*idle_c, *del_c;
	sqlite3_stmt		*st;

	if ((st = db_stmt(db, &idle_c, "UPDATE blob SET idle_since = ?1 "
	    "WHERE did = ?2 AND cid IN (SELECT cid FROM record_blob WHERE "
	    "did = ?2 AND collection = ?3 AND rkey = ?4)")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (int64_t)now);
	sqlite3_bind_text(st, 2, did, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, coll, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, rkey, -1, SQLITE_STATIC);
	if (db_step_done(db, st) == -1)
		return -1;
	return exec3(db, &del_c, "DELETE FROM record_blob WHERE did = ? AND "
	    "collection = ? AND rkey = ?", did, coll, rkey);
}

static int
add_ref(struct sqlite3 *db, const char *did, const char *cs,
    const char *coll, const char *rkey)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;

	if ((st = db_stmt(db, &cache, "INSERT OR IGNORE INTO record_blob "
	    "(did, cid, collection, rkey) VALUES (?, ?, ?, ?)")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, cs, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, coll, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, rkey, -1, SQLITE_STATIC);
	return db_step_done(db, st);
}

struct take {
	struct sqlite3		*db;
	struct repo_write	*w;
	const struct repo_op	*op;
};

static int
refuse(struct repo_write *w, const char *name, const char *fmt, ...)
    __attribute__((__format__ (printf, 3, 4)));

static int
refuse(struct repo_write *w, const char *name, const char *fmt, ...)
{
	va_list	 ap;

	w->fail_status = 400;
	w->fail_name = name;
	va_start(ap, fmt);
	vsnprintf(w->fail_msg, sizeof(w->fail_msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* The stored blob must be the one the reference describes. */
static int
check_ref(struct repo_write *w, sqlite3_stmt *st, const char *cs,
    const char *mime, int64_t size)
{
	const char	*smime = (const char *)sqlite3_column_text(st, 0);
	int64_t		 ssize = sqlite3_column_int64(st, 1);

	if (mime != NULL && strcmp(mime, smime) != 0)
		return refuse(w, "InvalidMimeType", "Referenced Mimetype does "
		    "not match stored blob. Expected: %.100s, Got: %.100s",
		    smime, mime);
	if (size >= 0 && size != ssize)
		return refuse(w, "InvalidSize", "Referenced size does not "
		    "match stored blob. Expected: %lld, Got: %lld",
		    (long long)ssize, (long long)size);
	return 0;
}

static int
take_ref(void *arg, const struct cid *c, const char *mime, int64_t size)
{
	static sqlite3_stmt	*get_c, *use_c;
	struct take		*t = arg;
	sqlite3_stmt		*st;
	char			 cs[CID_STRSZ];
	int			 rc, used;

	if (cid_to_str(c, cs, sizeof(cs)) == -1 || (st = db_stmt(t->db,
	    &get_c, "SELECT mime, size, used FROM blob WHERE did = ? AND "
	    "cid = ?")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, t->w->did, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, cs, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return -1;
		return refuse(t->w, "BlobNotFound", "Could not find blob: %s",
		    cs);
	}
	/* Checked once, as the reference checks a temporary blob. */
	used = sqlite3_column_int(st, 2);
	rc = used ? 0 : check_ref(t->w, st, cs, mime, size);
	sqlite3_reset(st);
	if (rc == -1)
		return -1;
	if (!used && exec3(t->db, &use_c, "UPDATE blob SET used = 1 WHERE "
	    "did = ? AND cid = ?", t->w->did, cs, NULL) == -1)
		return -1;
	return add_ref(t->db, t->w->did, cs, t->op->collection, t->op->rkey);
}

int
blob_write_refs(struct sqlite3 *db, struct repo_write *w)
{
	struct take	 t;
	time_t		 now = time(NULL);
	size_t		 i;

	t.db = db;
	t.w = w;
	for (i = 0; i < w->nops; i++) {
		t.op = &w->ops[i];
		if (t.op->action != REPO_CREATE && release(db, w->did,
		    t.op->collection, t.op->rkey, now) == -1)
			return -1;
		if (t.op->action != REPO_DELETE &&
		    blob_refs_walk(t.op->record, take_ref, &t) != 0)
			return -1;
	}
	return 0;
}

int
blob_repo_reset(struct sqlite3 *db, const char *did, time_t now)
{
	static sqlite3_stmt	*idle_c, *del_c;
	sqlite3_stmt		*st;

	if ((st = db_stmt(db, &idle_c, "UPDATE blob SET idle_since = ? "
	    "WHERE did = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (int64_t)now);
	sqlite3_bind_text(st, 2, did, -1, SQLITE_STATIC);
	if (db_step_done(db, st) == -1)
		return -1;
	return exec3(db, &del_c, "DELETE FROM record_blob WHERE did = ?",
	    did, NULL, NULL);
}

struct imp {
	struct sqlite3	*db;
	const char	*did;
	const char	*coll;
	const char	*rkey;
};

static int
import_ref(void *arg, const struct cid *c, const char *mime, int64_t size)
{
	struct imp	*im = arg;
	char		 cs[CID_STRSZ];

	if (cid_to_str(c, cs, sizeof(cs)) == -1)
		return -1;
	return add_ref(im->db, im->did, cs, im->coll, im->rkey);
}

int
blob_import_refs(struct sqlite3 *db, const char *did, const char *key,
    const struct dm *rec)
{
	struct imp	 im;
	char		 coll[NSID_MAX + 1];
	const char	*slash;

	if ((slash = strchr(key, '/')) == NULL ||
	    (size_t)(slash - key) >= sizeof(coll))
		return -1;
	memcpy(coll, key, slash - key);
	coll[slash - key] = '\0';
	im.db = db;
	im.did = did;
	im.coll = coll;
	im.rkey = slash + 1;
	return blob_refs_walk(rec, import_ref, &im) == 0 ? 0 : -1;
}

int
blob_account_delete(struct sqlite3 *db, const char *did)
{
	static sqlite3_stmt	*c[3];

	if (exec3(db, &c[0], "INSERT OR IGNORE INTO blob_orphan (cid) "
	    "SELECT cid FROM blob WHERE did = ?", did, NULL, NULL) == -1 ||
	    exec3(db, &c[1], "DELETE FROM blob WHERE did = ?", did, NULL,
	    NULL) == -1)
		return -1;
	return exec3(db, &c[2], "DELETE FROM record_blob WHERE did = ?", did,
	    NULL, NULL);
}

/*
 * Collection, in bounded passes so that a large sweep never holds the
 * event loop: each pass marks at most BLOB_GC_BATCH rows in use, drops
 * as many idle ones and unlinks as many files.
 */

/* A used blob's idle_since: out of every cutoff's reach until released. */
#define IN_USE		INT64_MAX

#define REF_EXISTS	"EXISTS (SELECT 1 FROM record_blob r WHERE " \
			"r.did = b.did AND r.cid = b.cid)"

/*
 * Rows past the cutoff that a record names after all (taken again, or
 * uploaded again while used) leave the scan for good: later passes
 * read only rows that may go.
 */
static int
gc_mark_used(struct sqlite3 *db, int64_t cutoff, int *more)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;

	if ((st = db_stmt(db, &cache, "UPDATE blob SET idle_since = ?1 "
	    "WHERE (did, cid) IN (SELECT did, cid FROM blob b WHERE "
	    "idle_since < ?2 AND " REF_EXISTS " LIMIT ?3)")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, IN_USE);
	sqlite3_bind_int64(st, 2, cutoff);
	sqlite3_bind_int(st, 3, BLOB_GC_BATCH);
	if (db_step_done(db, st) == -1)
		return -1;
	if (sqlite3_changes(db) >= BLOB_GC_BATCH)
		*more = 1;
	return 0;
}

/* Idle rows go; the files they named become orphans. */
static int
gc_rows(struct sqlite3 *db, int64_t cutoff, struct blob_gc_stats *gs,
    int *more)
{
	static sqlite3_stmt	*del_c, *orphan_c;
	sqlite3_stmt		*st, *ins;
	int			 rc, n = 0;

	if ((st = db_stmt(db, &del_c, "DELETE FROM blob WHERE (did, cid) IN "
	    "(SELECT did, cid FROM blob b WHERE idle_since < ?1 AND NOT "
	    REF_EXISTS " LIMIT ?2) RETURNING cid, size")) == NULL ||
	    (ins = db_stmt(db, &orphan_c, "INSERT OR IGNORE INTO blob_orphan "
	    "(cid) VALUES (?)")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, cutoff);
	sqlite3_bind_int(st, 2, BLOB_GC_BATCH);
	/* RETURNING rows are all computed at the first step. */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_bind_text(ins, 1, (const char *)sqlite3_column_text(st,
		    0), -1, SQLITE_TRANSIENT);
		if (db_step_done(db, ins) == -1) {
			sqlite3_reset(st);
			return -1;
		}
		gs->blobs++;
		gs->bytes += sqlite3_column_int64(st, 1);
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_warnx("blob collection: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (n >= BLOB_GC_BATCH)
		*more = 1;
	return 0;
}

/* One orphan's file, if no row names it any more: unlinked. */
static void
gc_unlink(const char *cs, struct blob_gc_stats *gs)
{
	struct stat	 sb;
	char		 path[PATH_MAX];

	if (strchr(cs, '/') != NULL || snprintf(path, sizeof(path), "%s/%s",
	    dir, cs) >= (int)sizeof(path))
		return;
	if (lstat(path, &sb) == -1 || !S_ISREG(sb.st_mode))
		return;
	if (unlink(path) == -1) {
		if (errno != ENOENT)
			log_warn("unlink %s", path);
		return;
	}
	gs->files++;
	gs->file_bytes += sb.st_size;
}

/*
 * Orphans: files unlinked unless a row names them again (an upload of
 * the same bytes since), and forgotten either way.
 */
static int
gc_files(struct sqlite3 *db, struct blob_gc_stats *gs, int *more)
{
	static sqlite3_stmt	*del_c;
	sqlite3_stmt		*st;
	int			 rc, n = 0;

	if ((st = db_stmt(db, &del_c, "DELETE FROM blob_orphan WHERE cid IN "
	    "(SELECT cid FROM blob_orphan LIMIT ?) RETURNING cid, EXISTS "
	    "(SELECT 1 FROM blob b WHERE b.cid = blob_orphan.cid)")) == NULL)
		return -1;
	sqlite3_bind_int(st, 1, BLOB_GC_BATCH);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!sqlite3_column_int(st, 1))
			gc_unlink((const char *)sqlite3_column_text(st, 0), gs);
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_warnx("blob collection: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (n >= BLOB_GC_BATCH)
		*more = 1;
	return 0;
}

int
blob_gc_step(struct sqlite3 *db, int64_t cutoff, struct blob_gc_stats *gs)
{
	int	 more = 0;

	if (db_begin(db) == -1)
		return -1;
	if (gc_mark_used(db, cutoff, &more) == -1 ||
	    gc_rows(db, cutoff, gs, &more) == -1) {
		db_rollback(db);
		return -1;
	}
	if (db_commit(db) == -1)
		return -1;
	/*
	 * After the commit: a crash between unlink and forgetting leaves
	 * an orphan row whose file is already gone, which is harmless.
	 */
	if (db_begin(db) == -1)
		return -1;
	if (gc_files(db, gs, &more) == -1) {
		db_rollback(db);
		return -1;
	}
	if (db_commit(db) == -1)
		return -1;
	return more;
}

int
blob_gc(struct sqlite3 *db, time_t now, int64_t expiry,
    struct blob_gc_stats *gs)
{
	int	 rc;

	memset(gs, 0, sizeof(*gs));
	while ((rc = blob_gc_step(db, (int64_t)now - expiry, gs)) == 1)
		;
	return rc;
}

/*
 * The frontend's collection: a pass per timer tick, the next at once
 * while there is more, then a pause.  pdsctl's requests queue and are
 * served in turn, each by a whole run of its own.
 */

struct gc_req {
	TAILQ_ENTRY(gc_req)	 entry;
	uint32_t		 id;
	int64_t			 expiry;
};

static TAILQ_HEAD(, gc_req)	 gc_reqs = TAILQ_HEAD_INITIALIZER(gc_reqs);
static int			 gc_nreqs;
static struct {
	int			 running;
	uint32_t		 id;		/* 0: the periodic run */
	int64_t			 cutoff;
	struct blob_gc_stats	 gs;
} gc_run;

static int
gc_period(void)
{
	int64_t	 p = fe->cfg.blob_expiry / 2;

	return p < 1 ? 1 : p > GC_PERIOD_MAX ? GC_PERIOD_MAX : (int)p;
}

static void
gc_schedule(int secs)
{
	struct timeval	 tv = { secs, 0 };

	evtimer_del(gc_ev);
	evtimer_add(gc_ev, &tv);
}

static void
gc_begin(void)
{
	struct gc_req	*r;
	int64_t		 expiry = fe->cfg.blob_expiry;

	gc_run.id = 0;
	if ((r = TAILQ_FIRST(&gc_reqs)) != NULL) {
		TAILQ_REMOVE(&gc_reqs, r, entry);
		gc_nreqs--;
		gc_run.id = r->id;
		if (r->expiry >= 0)
			expiry = r->expiry;
		free(r);
	}
	gc_run.cutoff = (int64_t)time(NULL) - expiry;
	memset(&gc_run.gs, 0, sizeof(gc_run.gs));
	gc_run.running = 1;
}

static void
gc_end(int rc)
{
	struct blob_gc_stats	*gs = &gc_run.gs;
	struct ctl_blob_gc	 r;
	const char		*why = "blob collection failed";

	gc_run.running = 0;
	if (rc == -1)
		log_warnx("%s", why);
	else if (gs->blobs > 0 || gs->files > 0)
		log_info("blobs collected%s: %lld unused (%lld bytes), "
		    "%lld files removed (%lld bytes)", gc_run.id ?
		    " for pdsctl" : "", (long long)gs->blobs,
		    (long long)gs->bytes, (long long)gs->files,
		    (long long)gs->file_bytes);
	if (gc_run.id == 0)
		return;
	if (rc == -1)
		control_send(gc_run.id, IMSG_CTL_FAIL, why, strlen(why) + 1);
	else {
		memset(&r, 0, sizeof(r));
		r.blobs = gs->blobs;
		r.bytes = gs->bytes;
		r.files = gs->files;
		r.file_bytes = gs->file_bytes;
		control_send(gc_run.id, IMSG_CTL_BLOB_GC_RESULT, &r,
		    sizeof(r));
	}
}

static void
gc_tick(int fd, short ev, void *arg)
{
	int	 rc;

	if (!gc_run.running)
		gc_begin();
	if ((rc = blob_gc_step(fe->db, gc_run.cutoff, &gc_run.gs)) == 1) {
		gc_schedule(0);
		return;
	}
	gc_end(rc);
	gc_schedule(TAILQ_EMPTY(&gc_reqs) ? gc_period() : 0);
}

int
blob_gc_request(uint32_t id, int64_t expiry)
{
	struct gc_req	*r;

	if (gc_ev == NULL || gc_nreqs >= BLOB_GC_QUEUE ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->id = id;
	r->expiry = expiry;
	TAILQ_INSERT_TAIL(&gc_reqs, r, entry);
	gc_nreqs++;
	if (!gc_run.running)
		gc_schedule(0);
	return 0;
}

void
blob_gc_start(struct event_base *base)
{
	if (gc_ev != NULL)
		return;
	if ((gc_ev = evtimer_new(base, gc_tick, NULL)) == NULL)
		fatal("blob collection timer");
	gc_schedule(0);
}
