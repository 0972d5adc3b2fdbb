/*
 * Blobs (blob.c): files named by CID in one directory under the data
 * directory, shared by every account that uploaded the same bytes, and
 * rows in SQLite that say which account holds which blob and which of
 * its records use it.
 *
 * An upload streams into dir/tmp while it is hashed, then is synced and
 * renamed to dir/<cid>, so a file under its CID name is always whole.
 * A blob no record uses is removed once it has been idle (since its
 * upload or its last release) for the expiry; a file goes when the last
 * account's row for it goes, after that transaction has committed
 * (blob_orphan rows carry the news across a crash).
 */
#ifndef PDSD_BLOB_H
#define PDSD_BLOB_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cid.h"

#define BLOB_DIR		"blobs"
#define BLOB_MAX_SIZE_LIMIT	(1LL << 40)
#define BLOB_EXPIRY_LIMIT	(10LL * 366 * 24 * 3600)
#define BLOB_MIME_MAX		128
#define BLOB_SNIFF_LEN		64		/* head bytes the sniffer reads */
#define BLOB_GC_BATCH		500		/* rows per collection pass */
#define BLOB_GC_QUEUE		16		/* pdsctl requests waiting */

struct dm;
struct event_base;
struct repo_write;
struct sqlite3;

struct blob_info {
	struct cid	 cid;
	char		 mime[BLOB_MIME_MAX];
	int64_t		 size;
};

/*
 * The MIME type the first bytes of a file show, or NULL.  blob_mime
 * chooses as the reference does: the sniffed type, else the client's
 * Content-Type (parameters dropped, lower-cased, if it looks like a
 * type), else application/octet-stream.
 */
const char	*blob_sniff(const uint8_t *, size_t);
void		 blob_mime(const uint8_t *, size_t, const char *, char *,
		    size_t);

/* Creates dir and dir/tmp, empties dir/tmp.  0, or -1 (logged). */
int		 blob_init(const char *);
const char	*blob_dir(void);
/* dir/<cid> into buf: 0, or -1 if it does not fit. */
int		 blob_path(const struct cid *, char *, size_t);

/*
 * An upload in progress.  write gives 0, 1 once more than max bytes
 * came (the temporary file is gone then), -1 on an I/O error.  finish
 * syncs and renames the file and records the blob for the account:
 * 0 with its description, -1 on error; the upload is freed either way.
 */
struct blob_upload;
struct blob_upload *blob_upload_new(int64_t);
int		 blob_upload_write(struct blob_upload *, const uint8_t *,
		    size_t);
int64_t		 blob_upload_size(const struct blob_upload *);
int		 blob_upload_finish(struct blob_upload *, struct sqlite3 *,
		    const char *, const char *, struct blob_info *);
void		 blob_upload_abort(struct blob_upload *);

/*
 * A scratch file in dir/tmp, already unlinked, for a request body too
 * large to hold in memory (importRepo): its fd, or -1 (logged).
 */
int		 blob_scratch(void);
/* All of the bytes to fd: 0, or -1 with errno set. */
int		 blob_write_all(int, const uint8_t *, size_t);
/*
 * The first len bytes of a regular file, copied into a scratch file:
 * its fd, or -1 (logged).  Fewer if the file is shorter by then.
 */
int		 blob_scratch_copy(int, off_t);

/* An account's blob: 0 found, 1 none, -1 error. */
int		 blob_get(struct sqlite3 *, const char *, const struct cid *,
		    struct blob_info *);
/* Bytes of blobs the account holds, or -1. */
int64_t		 blob_usage(struct sqlite3 *, const char *);
/*
 * The blobs an account's records name, by CID after the cursor (NULL:
 * from the start), at most limit: each once, with one record that
 * names it.  since (NULL: any) keeps those named by records of later
 * revs (listBlobs); missing keeps those not uploaded (listMissingBlobs).
 * cb returns 0 to go on; 0 at the end, -1 on error or cb's -1.
 */
enum blob_list {
	BLOB_LIST_ALL,
	BLOB_LIST_MISSING,
};
/* The blob's CID and the record's "collection/rkey". */
typedef int	(*blob_list_fn)(void *, const char *, const char *);
int		 blob_list(struct sqlite3 *, const char *, enum blob_list,
		    const char *, const char *, int, blob_list_fn, void *);

/*
 * Inside a write's transaction: releases the blobs of the records an
 * update or delete replaces, and takes those the new records name.  A
 * blob the account never uploaded, or one whose type or size differ
 * from the reference, fails the write (-1, w->fail_* filled in).
 */
int		 blob_write_refs(struct sqlite3 *, struct repo_write *);
/* Calls cb on every blob reference in a record; its value stops it. */
int		 blob_refs_walk(const struct dm *,
		    int (*)(void *, const struct cid *, const char *,
		    int64_t), void *);
/* Import: forget every reference, then note those of each record. */
int		 blob_repo_reset(struct sqlite3 *, const char *, time_t);
int		 blob_import_refs(struct sqlite3 *, const char *, const char *,
		    const struct dm *);
/* deleteAccount, inside its transaction. */
int		 blob_account_delete(struct sqlite3 *, const char *);

/*
 * Collection: rows no record names and idle since before a cutoff go,
 * then the files no row names any more.  blob_gc_step does one bounded
 * pass, adding to the counts: 1 if there is more to do, 0 done, -1 on
 * error.  blob_gc runs passes until done, for rows idle longer than
 * expiry at now.
 */
struct blob_gc_stats {
	int64_t		 blobs;		/* accounts' blobs dropped */
	int64_t		 bytes;		/* their sizes, summed */
	int64_t		 files;		/* files unlinked */
	int64_t		 file_bytes;	/* their sizes: the disk freed */
};
int		 blob_gc_step(struct sqlite3 *, int64_t,
		    struct blob_gc_stats *);
int		 blob_gc(struct sqlite3 *, time_t, int64_t,
		    struct blob_gc_stats *);
/* The periodic collection in the frontend, by fe->cfg. */
void		 blob_gc_start(struct event_base *);
/*
 * A whole run now for control client id, of blobs idle longer than
 * expiry seconds (-1: as configured); it is answered when done.
 * -1 if too many are queued.
 */
int		 blob_gc_request(uint32_t, int64_t);

#endif
