/*
 * Blob storage: MIME sniffing and the client's type, streamed uploads
 * into the content-addressed directory, references taken and released
 * by record writes, import references and the missing listing, and the
 * collection of what no record uses.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "blob.h"
#include "cid.h"
#include "dm.h"
#include "pdsd.h"
#include "repo.h"

static const char	*alice = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
static const char	*bob = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb";
static const uint8_t	 png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a,
			    '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R' };

struct fixture {
	sqlite3	*db;
	char	 top[32];
	char	 dir[PATH_MAX];
};

static int
setup(void **state)
{
	struct fixture	*f;
	char		 err[256], tmpl[] = "/tmp/test_blob.XXXXXX";

	if ((f = calloc(1, sizeof(*f))) == NULL || mkdtemp(tmpl) == NULL)
		return -1;
	strlcpy(f->top, tmpl, sizeof(f->top));
	snprintf(f->dir, sizeof(f->dir), "%s/blobs", tmpl);
	if (sqlite3_open(":memory:", &f->db) != SQLITE_OK ||
	    db_migrate(f->db, err, sizeof(err)) == -1 ||
	    blob_init(f->dir) == -1)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	char		 cmd[64];

	db_close(f->db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->top);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Regular files in dir (not below it). */
static int
nfiles(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (de->d_type == DT_REG)
			n++;
	closedir(d);
	return n;
}

static void
test_sniff(void **state)
{
	static const struct {
		const char	*bytes;
		size_t		 len;
		const char	*mime;
	} t[] = {
		{ "\x89PNG\r\n\x1a\n", 8, "image/png" },
		{ "\xff\xd8\xff\xe0", 4, "image/jpeg" },
		{ "GIF89a....", 10, "image/gif" },
		{ "GIF87a", 6, "image/gif" },
		{ "RIFF\0\0\0\0WEBPVP8 ", 16, "image/webp" },
		{ "\0\0\0\x20" "ftypavif\0\0\0\0", 16, "image/avif" },
		{ "\0\0\0\x18" "ftypheic\0\0\0\0", 16, "image/heic" },
		{ "\0\0\0\x18" "ftypisom\0\0\0\0", 16, "video/mp4" },
		{ "\0\0\0\x14" "ftypqt  \0\0\0\0", 16, "video/quicktime" },
		{ "\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm",
		    16, "video/webm" },
		{ "\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska",
		    20, "video/x-matroska" },
		{ "%PDF-1.7", 8, "application/pdf" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_string_equal(blob_sniff((const uint8_t *)t[i].bytes,
		    t[i].len), t[i].mime);
	/* Too short to tell, or nothing known. */
	assert_null(blob_sniff((const uint8_t *)"\x89PN", 3));
	assert_null(blob_sniff((const uint8_t *)"RIFF\0\0\0\0WEB", 11));
	assert_null(blob_sniff((const uint8_t *)"\0\0\0\x18" "ftyp", 8));
	assert_null(blob_sniff((const uint8_t *)"hello world", 11));
	assert_null(blob_sniff(NULL, 0));
}

static void
test_mime(void **state)
{
	static const struct {
		const char	*ct;
		const char	*want;
	} t[] = {
		{ "text/plain", "text/plain" },
		{ "Text/Plain; charset=utf-8", "text/plain" },
		{ "  image/svg+xml ;x=y", "image/svg+xml" },
		{ "application/vnd.ms-excel", "application/vnd.ms-excel" },
		{ NULL, "application/octet-stream" },
		{ "", "application/octet-stream" },
		{ "nonsense", "application/octet-stream" },
		{ "/x", "application/octet-stream" },
		{ "x/", "application/octet-stream" },
		{ "a b/c", "application/octet-stream" },
		{ "a/b/c", "application/octet-stream" },
		{ "text/<script>", "application/octet-stream" },
	};
	char	 out[BLOB_MIME_MAX], longct[BLOB_MIME_MAX + 10];
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		blob_mime((const uint8_t *)"plain", 5, t[i].ct, out,
		    sizeof(out));
		assert_string_equal(out, t[i].want);
	}
	/* The bytes win over what the client says. */
	blob_mime(png, sizeof(png), "image/gif", out, sizeof(out));
	assert_string_equal(out, "image/png");
	memset(longct, 'a', sizeof(longct) - 1);
	longct[sizeof(longct) - 1] = '\0';
	longct[3] = '/';
	blob_mime(NULL, 0, longct, out, sizeof(out));
	assert_string_equal(out, "application/octet-stream");
}

/* Uploads data in chunks of step bytes for did; the CID into c. */
static void
put(struct fixture *f, const char *did, const uint8_t *data, size_t len,
    size_t step, const char *ct, struct blob_info *bi)
{
	struct blob_upload	*u;
	size_t			 off, n;

	assert_non_null(u = blob_upload_new(1 << 20));
	for (off = 0; off < len; off += n) {
		n = len - off < step ? len - off : step;
		assert_int_equal(blob_upload_write(u, data + off, n), 0);
	}
	assert_int_equal(blob_upload_size(u), (int64_t)len);
	assert_int_equal(blob_upload_finish(u, f->db, did, ct, bi), 0);
}

static void
test_upload(void **state)
{
	struct fixture		*f = *state;
	struct blob_info	 bi, got;
	struct cid		 want;
	uint8_t			 data[10000], back[10000];
	char			 path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE			*fp;
	size_t			 i;

	memcpy(data, png, sizeof(png));
	for (i = sizeof(png); i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	put(f, alice, data, sizeof(data), 333, "image/jpeg", &bi);
	cid_of_bytes(&want, CID_CODEC_RAW, data, sizeof(data));
	assert_true(cid_equal(&bi.cid, &want));
	assert_string_equal(bi.mime, "image/png");
	assert_int_equal(bi.size, sizeof(data));
	assert_int_equal(blob_path(&bi.cid, path, sizeof(path)), 0);
	assert_non_null(fp = fopen(path, "rb"));
	assert_int_equal(fread(back, 1, sizeof(back), fp), sizeof(data));
	fclose(fp);
	assert_memory_equal(back, data, sizeof(data));
	assert_int_equal(blob_get(f->db, alice, &bi.cid, &got), 0);
	assert_string_equal(got.mime, "image/png");
	assert_int_equal(got.size, sizeof(data));
	assert_int_equal(blob_get(f->db, bob, &bi.cid, &got), 1);

	/* Again, and by another account: one file, a row each. */
	put(f, alice, data, sizeof(data), sizeof(data), "image/png", &bi);
	put(f, bob, data, sizeof(data), 1, NULL, &bi);
	assert_int_equal(nfiles(f->dir), 1);
	assert_int_equal(blob_get(f->db, bob, &bi.cid, &got), 0);
	assert_int_equal(blob_usage(f->db, alice), sizeof(data));
	snprintf(tmp, sizeof(tmp), "%s/tmp", f->dir);
	assert_int_equal(nfiles(tmp), 0);
}

/*
 * Larger than the upload's gathering buffer (256 KiB), in pieces that
 * are gathered, that go straight to the file with nothing gathered, and
 * that come while some is: the file and its CID are the bytes, in order.
 */
static void
test_upload_large(void **state)
{
	static const size_t	 steps[] = { 1, 4095, 200000, 300000, 70000,
				    131072, 262144, 3 };
	struct fixture		*f = *state;
	struct blob_upload	*u;
	struct blob_info	 bi;
	struct cid		 want;
	struct stat		 sb;
	uint8_t			*data, *back;
	char			 path[PATH_MAX];
	size_t			 len = 1500000, off, n, i;
	FILE			*fp;

	assert_non_null(data = malloc(len));
	assert_non_null(back = malloc(len));
	for (i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 31 + (i >> 16));
	assert_non_null(u = blob_upload_new(len));
	for (off = 0, i = 0; off < len; off += n, i++) {
		n = steps[i % (sizeof(steps) / sizeof(steps[0]))];
		n = len - off < n ? len - off : n;
		assert_int_equal(blob_upload_write(u, data + off, n), 0);
	}
	assert_int_equal(blob_upload_finish(u, f->db, alice, NULL, &bi), 0);
	cid_of_bytes(&want, CID_CODEC_RAW, data, len);
	assert_true(cid_equal(&bi.cid, &want));
	assert_int_equal(bi.size, len);
	assert_int_equal(blob_path(&bi.cid, path, sizeof(path)), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, len);
	assert_non_null(fp = fopen(path, "rb"));
	assert_int_equal(fread(back, 1, len, fp), len);
	fclose(fp);
	assert_memory_equal(back, data, len);
	free(data);
	free(back);
}

static void
test_too_big(void **state)
{
	struct fixture		*f = *state;
	struct blob_upload	*u;
	char			 tmp[PATH_MAX + 8];

	snprintf(tmp, sizeof(tmp), "%s/tmp", f->dir);
	assert_non_null(u = blob_upload_new(10));
	assert_int_equal(blob_upload_write(u, png, 6), 0);
	assert_int_equal(nfiles(tmp), 1);
	assert_int_equal(blob_upload_write(u, png, 4), 0);
	/* The byte past the limit: refused, and the file is gone. */
	assert_int_equal(blob_upload_write(u, png, 1), 1);
	assert_int_equal(nfiles(tmp), 0);
	assert_int_equal(blob_upload_write(u, png, 1), -1);
	blob_upload_abort(u);
	/* An abandoned upload leaves nothing either. */
	assert_non_null(u = blob_upload_new(10));
	assert_int_equal(blob_upload_write(u, png, 3), 0);
	blob_upload_abort(u);
	assert_int_equal(nfiles(tmp), 0);
	assert_int_equal(nfiles(f->dir), 0);
	/* A crash's leftovers are cleared when the directory is opened. */
	assert_non_null(u = blob_upload_new(10));
	assert_int_equal(blob_upload_write(u, png, 3), 0);
	assert_int_equal(blob_init(f->dir), 0);
	assert_int_equal(nfiles(tmp), 0);
	blob_upload_abort(u);
}

/* {"$type":"blob","ref":c,"mimeType":mime,"size":size} */
static struct dm *
blobref(const struct cid *c, const char *mime, int64_t size)
{
	struct dm	*b = dm_map();

	dm_map_set(b, "$type", dm_str("blob"));
	dm_map_set(b, "ref", dm_link(c));
	dm_map_set(b, "mimeType", dm_str(mime));
	dm_map_set(b, "size", dm_int(size));
	return b;
}

/* A post with an image embed naming the blob. */
static struct dm *
post(const struct cid *c, const char *mime, int64_t size)
{
	struct dm	*r = dm_map(), *e = dm_map(), *imgs = dm_array();
	struct dm	*img = dm_map();

	dm_map_set(img, "alt", dm_str(""));
	dm_map_set(img, "image", blobref(c, mime, size));
	dm_array_push(imgs, img);
	dm_map_set(e, "$type", dm_str("app.bsky.embed.images"));
	dm_map_set(e, "images", imgs);
	dm_map_set(r, "$type", dm_str("app.bsky.feed.post"));
	dm_map_set(r, "text", dm_str("hi"));
	dm_map_set(r, "embed", e);
	assert_int_equal(dm_check_complete(r), 0);
	return r;
}

static int
count_ref(void *arg, const struct cid *c, const char *mime, int64_t size)
{
	int	*n = arg;

	(*n)++;
	return 0;
}

static void
test_walk(void **state)
{
	struct dm	*r, *legacy, *arr;
	struct cid	 c;
	char		 s[CID_STRSZ];
	int		 n = 0;

	cid_of_bytes(&c, CID_CODEC_RAW, "x", 1);
	r = post(&c, "image/png", 1);
	arr = dm_array();
	dm_array_push(arr, blobref(&c, "image/gif", 2));
	legacy = dm_map();
	cid_to_str(&c, s, sizeof(s));
	dm_map_set(legacy, "cid", dm_str(s));
	dm_map_set(legacy, "mimeType", dm_str("image/jpeg"));
	dm_array_push(arr, legacy);
	dm_array_push(arr, dm_str("not a blob"));
	dm_map_set(r, "more", arr);
	assert_int_equal(blob_refs_walk(r, count_ref, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(blob_refs_walk(NULL, count_ref, &n), 0);
	dm_free(r);
}

/* A write of one operation, as repo.c hands it to the blob step. */
static struct repo_write *
one_op(const char *did, enum repo_action action, const char *rkey,
    struct dm *rec)
{
	struct repo_write	*w;

	assert_non_null(w = repo_write_new(did, 1));
	w->ops[0].action = action;
	strlcpy(w->ops[0].collection, "app.bsky.feed.post",
	    sizeof(w->ops[0].collection));
	strlcpy(w->ops[0].rkey, rkey, sizeof(w->ops[0].rkey));
	w->ops[0].record = rec;
	return w;
}

static int64_t
count(sqlite3 *db, const char *sql)
{
	return db_count(db, sql);
}

static void
write_ok(struct fixture *f, struct repo_write *w)
{
	assert_int_equal(blob_write_refs(f->db, w), 0);
	repo_write_free(w);
}

static void
write_refused(struct fixture *f, struct repo_write *w, const char *name,
    const char *msg)
{
	assert_int_equal(blob_write_refs(f->db, w), -1);
	assert_int_equal(w->fail_status, 400);
	assert_string_equal(w->fail_name, name);
	assert_string_equal(w->fail_msg, msg);
	repo_write_free(w);
}

static void
test_refs(void **state)
{
	struct fixture		*f = *state;
	struct blob_info	 bi;
	struct blob_gc_stats	 gs;
	char			 cs[CID_STRSZ], msg[256];
	time_t			 now = time(NULL);

	put(f, alice, png, sizeof(png), 5, NULL, &bi);
	cid_to_str(&bi.cid, cs, sizeof(cs));
	snprintf(msg, sizeof(msg), "Could not find blob: %s", cs);
	write_refused(f, one_op(bob, REPO_CREATE, "a",
	    post(&bi.cid, "image/png", sizeof(png))), "BlobNotFound", msg);
	write_refused(f, one_op(alice, REPO_CREATE, "a",
	    post(&bi.cid, "image/gif", sizeof(png))), "InvalidMimeType",
	    "Referenced Mimetype does not match stored blob. Expected: "
	    "image/png, Got: image/gif");
	write_refused(f, one_op(alice, REPO_CREATE, "a",
	    post(&bi.cid, "image/png", 1)), "InvalidSize",
	    "Referenced size does not match stored blob. Expected: 16, "
	    "Got: 1");
	write_ok(f, one_op(alice, REPO_CREATE, "a",
	    post(&bi.cid, "image/png", sizeof(png))));
	assert_int_equal(count(f->db, "record_blob"), 1);

	/* Used: long idle, yet kept. */
	assert_int_equal(blob_gc(f->db, now + 100, 10, &gs), 0);
	assert_int_equal(gs.blobs, 0);
	assert_int_equal(nfiles(f->dir), 1);

	/* An update to a record without it, then a delete: released. */
	write_ok(f, one_op(alice, REPO_CREATE, "b",
	    post(&bi.cid, "image/png", sizeof(png))));
	write_ok(f, one_op(alice, REPO_UPDATE, "a", dm_map()));
	assert_int_equal(count(f->db, "record_blob"), 1);
	write_ok(f, one_op(alice, REPO_DELETE, "b", NULL));
	assert_int_equal(count(f->db, "record_blob"), 0);
	/* Not before the expiry since its release. */
	assert_int_equal(blob_gc(f->db, now + 5, 10, &gs), 0);
	assert_int_equal(gs.blobs, 0);
	assert_int_equal(nfiles(f->dir), 1);
	assert_int_equal(blob_gc(f->db, now + 12, 10, &gs), 0);
	assert_int_equal(gs.blobs, 1);
	assert_int_equal(gs.bytes, sizeof(png));
	assert_int_equal(gs.files, 1);
	assert_int_equal(nfiles(f->dir), 0);
	assert_int_equal(count(f->db, "blob"), 0);
	assert_int_equal(count(f->db, "blob_orphan"), 0);
}

static void
test_shared_file(void **state)
{
	struct fixture		*f = *state;
	struct blob_info	 bi;
	struct blob_gc_stats	 gs;
	time_t			 now = time(NULL);

	/* Bob's row outlives Alice's: the file stays until his goes. */
	put(f, alice, png, sizeof(png), 16, NULL, &bi);
	put(f, bob, png, sizeof(png), 16, NULL, &bi);
	write_ok(f, one_op(bob, REPO_CREATE, "a",
	    post(&bi.cid, "image/png", sizeof(png))));
	assert_int_equal(blob_gc(f->db, now + 100, 10, &gs), 0);
	assert_int_equal(gs.blobs, 1);
	assert_int_equal(gs.files, 0);
	assert_int_equal(nfiles(f->dir), 1);
	assert_int_equal(blob_account_delete(f->db, bob), 0);
	assert_int_equal(count(f->db, "blob"), 0);
	assert_int_equal(count(f->db, "record_blob"), 0);
	assert_int_equal(nfiles(f->dir), 1);
	assert_int_equal(blob_gc(f->db, now, 10, &gs), 0);
	assert_int_equal(gs.files, 1);
	assert_int_equal(nfiles(f->dir), 0);

	/* An orphan uploaded again before the sweep keeps its file. */
	put(f, alice, png, sizeof(png), 16, NULL, &bi);
	assert_int_equal(blob_account_delete(f->db, alice), 0);
	put(f, bob, png, sizeof(png), 16, NULL, &bi);
	assert_int_equal(blob_gc(f->db, now, 10, &gs), 0);
	assert_int_equal(gs.files, 0);
	assert_int_equal(nfiles(f->dir), 1);
	assert_int_equal(count(f->db, "blob_orphan"), 0);
}

/*
 * A large sweep goes in bounded passes: each drops at most a batch of
 * rows and unlinks at most a batch of files, and says whether there is
 * more.  A used blob leaves the scan after the first pass that sees it.
 */
static void
test_gc_batches(void **state)
{
	struct fixture		*f = *state;
	struct blob_info	 bi, used;
	struct blob_gc_stats	 gs;
	uint8_t			 data[8];
	int64_t			 cutoff = (int64_t)time(NULL) + 100;
	int			 i, n = BLOB_GC_BATCH * 2 + 7, passes = 0, rc;

	for (i = 0; i < n; i++) {
		memset(data, 0, sizeof(data));
		memcpy(data, &i, sizeof(i));
		put(f, alice, data, sizeof(data), 8, NULL, &bi);
	}
	put(f, alice, png, sizeof(png), 16, NULL, &used);
	write_ok(f, one_op(alice, REPO_CREATE, "a",
	    post(&used.cid, "image/png", sizeof(png))));
	assert_int_equal(nfiles(f->dir), n + 1);

	memset(&gs, 0, sizeof(gs));
	while ((rc = blob_gc_step(f->db, cutoff, &gs)) == 1) {
		passes++;
		assert_true(gs.blobs <= (int64_t)passes * BLOB_GC_BATCH);
		assert_true(gs.files <= (int64_t)passes * BLOB_GC_BATCH);
		assert_true(passes < 10);
	}
	assert_int_equal(rc, 0);
	assert_true(passes >= 2);
	assert_int_equal(gs.blobs, n);
	assert_int_equal(gs.bytes, (int64_t)n * (int64_t)sizeof(data));
	assert_int_equal(gs.files, n);
	assert_int_equal(gs.file_bytes, (int64_t)n * (int64_t)sizeof(data));
	assert_int_equal(nfiles(f->dir), 1);
	assert_int_equal(count(f->db, "blob"), 1);
	assert_int_equal(count(f->db, "blob_orphan"), 0);
	/* The used one no longer lies before any cutoff. */
	memset(&gs, 0, sizeof(gs));
	assert_int_equal(blob_gc_step(f->db, INT64_MAX, &gs), 0);
	assert_int_equal(gs.blobs, 0);
	assert_int_equal(nfiles(f->dir), 1);

	/* Released: it idles from then, and goes after the expiry. */
	write_ok(f, one_op(alice, REPO_DELETE, "a", NULL));
	assert_int_equal(blob_gc(f->db, time(NULL), 10, &gs), 0);
	assert_int_equal(gs.blobs, 0);
	assert_int_equal(blob_gc(f->db, time(NULL) + 11, 10, &gs), 0);
	assert_int_equal(gs.blobs, 1);
	assert_int_equal(gs.files, 1);
	assert_int_equal(nfiles(f->dir), 0);
}

struct listed {
	char	 cid[4][CID_STRSZ];
	char	 key[4][128];
	int	 n;
};

static int
list_cb(void *arg, const char *cid, const char *key)
{
	struct listed	*l = arg;

	assert_true(l->n < 4);
	strlcpy(l->cid[l->n], cid, sizeof(l->cid[0]));
	strlcpy(l->key[l->n], key, sizeof(l->key[0]));
	l->n++;
	return 0;
}

/*
 * The copy pdsctl import maps: the file's first len bytes in a scratch
 * file nobody else holds (unlinked: dir/tmp stays empty), the same
 * bytes however the source changes after; fewer if it is shorter.
 */
static void
test_scratch_copy(void **state)
{
	struct fixture	*f = *state;
	struct stat	 st;
	uint8_t		*buf, *got;
	char		 path[PATH_MAX + 8], tmp[PATH_MAX + 8];
	size_t		 i, n = 700 * 1024 + 3;
	int		 in, out;

	assert_non_null(buf = malloc(n));
	assert_non_null(got = malloc(n));
	for (i = 0; i < n; i++)
		buf[i] = (uint8_t)(i * 7 + i / 251);
	snprintf(path, sizeof(path), "%s/src", f->top);
	snprintf(tmp, sizeof(tmp), "%s/tmp", f->dir);
	assert_true((in = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) >= 0);
	assert_int_equal(blob_write_all(in, buf, n), 0);

	assert_true((out = blob_scratch_copy(in, (off_t)n)) >= 0);
	assert_int_equal(nfiles(tmp), 0);
	assert_int_equal(ftruncate(in, 10), 0);
	assert_int_equal(pwrite(in, "XXXXXXXXXX", 10, 0), 10);
	assert_int_equal(fstat(out, &st), 0);
	assert_int_equal(st.st_size, (off_t)n);
	assert_int_equal(pread(out, got, n, 0), (ssize_t)n);
	assert_memory_equal(got, buf, n);
	close(out);

	/* Asked for more than there is: what there is. */
	assert_true((out = blob_scratch_copy(in, (off_t)n)) >= 0);
	assert_int_equal(fstat(out, &st), 0);
	assert_int_equal(st.st_size, 10);
	close(out);

	/* Asked for less: no more. */
	assert_int_equal(pwrite(in, buf, n, 0), (ssize_t)n);
	assert_true((out = blob_scratch_copy(in, 4097)) >= 0);
	assert_int_equal(fstat(out, &st), 0);
	assert_int_equal(st.st_size, 4097);
	assert_int_equal(pread(out, got, n, 0), 4097);
	assert_memory_equal(got, buf, 4097);
	close(out);
	close(in);

	/*
	 * From another file system (tmpfs to the blob directory's),
	 * where copy_file_range says EXDEV: read and written instead.
	 */
	snprintf(path, sizeof(path), "/dev/shm/test_blob.%d", (int)getpid());
	assert_true((in = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) >= 0);
	unlink(path);
	assert_int_equal(blob_write_all(in, buf, n), 0);
	assert_true((out = blob_scratch_copy(in, (off_t)n)) >= 0);
	assert_int_equal(pread(out, got, n, 0), (ssize_t)n);
	assert_memory_equal(got, buf, n);
	close(out);
	close(in);
	free(buf);
	free(got);
}

static void
test_import_missing(void **state)
{
	struct fixture		*f = *state;
	struct blob_info	 bi;
	struct listed		 l;
	struct cid		 c1, c2;
	struct dm		*r;
	char			 s1[CID_STRSZ], s2[CID_STRSZ];

	cid_of_bytes(&c1, CID_CODEC_RAW, png, sizeof(png));
	cid_of_bytes(&c2, CID_CODEC_RAW, "other", 5);
	cid_to_str(&c1, s1, sizeof(s1));
	cid_to_str(&c2, s2, sizeof(s2));
	r = post(&c1, "image/png", sizeof(png));
	dm_map_set(r, "extra", blobref(&c2, "image/png", 5));
	assert_int_equal(blob_repo_reset(f->db, alice, time(NULL)), 0);
	assert_int_equal(blob_import_refs(f->db, alice,
	    "app.bsky.feed.post/3kaaaaaaaaaa2", r), 0);
	assert_int_equal(blob_import_refs(f->db, alice,
	    "app.bsky.feed.post/3kaaaaaaaaab2", r), 0);
	assert_int_equal(blob_import_refs(f->db, alice, "nokey", r), -1);
	dm_free(r);

	memset(&l, 0, sizeof(l));
	assert_int_equal(blob_list(f->db, alice, BLOB_LIST_MISSING, NULL, NULL,
	    10, list_cb, &l), 0);
	assert_int_equal(l.n, 2);
	assert_true(strcmp(l.cid[0], l.cid[1]) < 0);
	assert_string_equal(l.key[0], "app.bsky.feed.post/3kaaaaaaaaaa2");
	memset(&l, 0, sizeof(l));
	assert_int_equal(blob_list(f->db, alice, BLOB_LIST_MISSING, NULL, s1,
	    10, list_cb, &l), 0);
	assert_int_equal(l.n, strcmp(s1, s2) < 0 ? 1 : 0);

	/* Uploaded: no longer missing, but still listed by listBlobs. */
	put(f, alice, png, sizeof(png), 16, NULL, &bi);
	memset(&l, 0, sizeof(l));
	assert_int_equal(blob_list(f->db, alice, BLOB_LIST_MISSING, NULL, NULL,
	    10, list_cb, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.cid[0], s2);
	memset(&l, 0, sizeof(l));
	assert_int_equal(blob_list(f->db, alice, BLOB_LIST_ALL, NULL, NULL,
	    1, list_cb, &l), 0);
	assert_int_equal(l.n, 1);
	memset(&l, 0, sizeof(l));
	assert_int_equal(blob_list(f->db, bob, BLOB_LIST_ALL, NULL, NULL,
	    10, list_cb, &l), 0);
	assert_int_equal(l.n, 0);

	/* A new import forgets the old references. */
	assert_int_equal(blob_repo_reset(f->db, alice, time(NULL)), 0);
	assert_int_equal(count(f->db, "record_blob"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sniff),
		cmocka_unit_test(test_mime),
		cmocka_unit_test(test_walk),
		cmocka_unit_test_setup_teardown(test_upload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upload_large, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_scratch_copy, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_import_missing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_gc_batches, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
