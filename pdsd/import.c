/*
 * Import: replace an account's repository with a CAR file, in one
 * SQLite transaction.  Both `pdsctl import` (control.c) and
 * com.atproto.repo.importRepo (xrpc_import.c, which first spools the
 * request body to a scratch file) come here.
 *
 * The file is mapped, read only, for the length of the import, or if
 * larger than 8 MiB read through a window (see import_map below); a
 * block is used where it lies, never copied out of either.  The old
 * blocks, records and root are deleted first; each block of the CAR,
 * checked against its CID by the reader as it streams, is staged as
 * where it lies in the file (in memory up to a bound, past it in
 * SQLite's temporary database: see the stage below): the file is there
 * until the import ends, and a copy was most of the import's memory.
 * Then the tree is walked from the commit's data root: every node must
 * decode strictly and sit in its place, every record must be a
 * data-model map, and each block reached is stored once, under the
 * commit's rev; what the walk does not reach was not part of the
 * repository and never enters it.  The reached blocks go in after the
 * walk, in the order of repo_block's key, and the app.bsky index loads
 * in batches (appindex.c): row-at-a-time inserts were most of the
 * import's time.  At -vv the stages' times are logged.
 * The repository's rev is the commit's, even when it is older than the
 * old head's (the same migration run twice, an older backup): the head,
 * getLatestCommit and the #sync event must all say the rev the commit
 * block says.  Any fault rolls it all back, so memory stays flat (a bit
 * or two per block aside) however large the repository, and a bad CAR
 * changes nothing.
 * The same transaction logs a #sync event for the relays.
 *
 * Then signerd is asked to move its last signed rev for the DID up to
 * the imported one (it never moves down, so it stays at or above the old
 * head's), and our next commit, on our clock, is newer than both; the
 * import stands either way, and a refusal is a warning in the summary.
 *
 * As the reference does, a commit for another DID or signed by another
 * key is taken (an account migrating in brings a commit its old host
 * signed), with a warning in the log and the summary.
 *
 * The import runs to its end inside one event callback: the database
 * has one connection, and no other write may land inside our
 * transaction.  The fd must be a regular file, so no read can stall,
 * and one no other process can change: importRepo's body is in an
 * unlinked scratch file of ours, and `pdsctl import` copies the user's
 * file into one first (control_import).  That is what lets a block be
 * checked against its CID once, as it streams: the bytes the walk and
 * the store read later are the same, and a truncation by someone else
 * cannot fault the mapping (SIGBUS) under us.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "appview.h"
#include "blob.h"
#include "blockstore.h"
#include "car.h"
#include "cbor.h"
#include "cid.h"
#include "commit.h"
#include "crypto.h"
#include "didkey.h"
#include "dm.h"
#include "log.h"
#include "mst.h"
#include "pds_imsg.h"
#include "pdsd.h"
#include "repo.h"
#include "repo_store.h"
#include "signer_proto.h"
#include "syntax.h"

#define IMPORT_CHUNK	(1024 * 1024)	/* fed to the reader at a time */
#ifndef IMPORT_WINDOW
#define IMPORT_WINDOW	(64 * 1024)	/* read ahead of the walk */
#endif
#define IMPORT_REPLY_MAX	512	/* what pdsctl reads */
#define IMPORT_WARN_MAX		320
/* Negative: KiB, not pages.  What an import adds to the frontend. */
#define IMPORT_CACHE_KIB	"-20480"	/* main: 10k records, no spill */

struct import;
struct stage_ent;
static int	import_fail(struct import *, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));
static int	import_error(struct import *, const char *);

struct import {
	char			 did[DID_MAX + 1];
	char			 key[DIDKEY_BUFSZ];	/* the account's */
	int			 fd;
	size_t			 size;		/* of the file */
	const uint8_t		*map;		/* all of it, or NULL */
	uint8_t			*win;		/* else: a window on it */
	uint64_t		 win_off;
	size_t			 win_len;
	uint64_t		 last_end;	/* of the last block read */
	uint8_t			*one;		/* a block read alone */
	size_t			 onecap;
	int			 have_root;
	struct cid		 root;		/* the commit's CID */
	uint64_t		 nblocks;	/* kept */
	uint64_t		 records;
	struct commit		 c;
	char			 warn[IMPORT_WARN_MAX];
	char			 at[32];	/* indexed_at of every record */
	struct blockstore	 store;
	struct car_reader	*car;		/* while it streams */
	struct stage_ent	*ents;		/* the blocks of the CAR */
	uint64_t		 nstaged;
	size_t			 entcap;
	uint32_t		*slots;		/* ents' index + 1, 0 free */
	unsigned int		 slotbits;	/* 1 << slotbits of them */
	uint8_t			*kept;		/* a bit per block reached */
	uint8_t			*recs;		/* and per record block */
	uint32_t		*dups;		/* ents' index, a record more */
	size_t			 ndups, dupcap;
	int			 spilled;	/* into the table */
	int			 node_missing;
	struct cid		 missing;
	char			*msg;
	size_t			 msglen;
	enum import_status	 failed;	/* msg says why */
	int64_t			 t[7];		/* -vv: stage ends, us */
};

/* The CAR, or the account named, is at fault. */
static int
import_fail(struct import *im, const char *fmt, ...)
{
	va_list	 ap;

	if (im->failed == IMPORT_OK) {
		va_start(ap, fmt);
		vsnprintf(im->msg, im->msglen, fmt, ap);
		va_end(ap);
		im->failed = IMPORT_BAD;
	}
	return -1;
}

/* We are. */
static int
import_error(struct import *im, const char *what)
{
	if (im->failed == IMPORT_OK) {
		strlcpy(im->msg, what, im->msglen);
		im->failed = IMPORT_ERROR;
	}
	return -1;
}

/* The account, by DID or handle: 0, or -1 with msg set. */
static int
import_account(struct import *im, const char *who)
{
	static sqlite3_stmt	*by_did, *by_handle;
	sqlite3_stmt		*st;
	const char		*did, *key;
	int			 rc, rv = -1;

	if (strncmp(who, "did:", 4) == 0)
		st = db_stmt(fe->db, &by_did,
		    "SELECT did, signing_key FROM account WHERE did = ?");
	else
		st = db_stmt(fe->db, &by_handle,
		    "SELECT did, signing_key FROM account WHERE handle = ?");
	if (st == NULL || sqlite3_bind_text(st, 1, who, -1,
	    SQLITE_STATIC) != SQLITE_OK)
		return import_error(im, "database error");
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		did = (const char *)sqlite3_column_text(st, 0);
		key = (const char *)sqlite3_column_text(st, 1);
		if (did != NULL && strlcpy(im->did, did, sizeof(im->did)) <
		    sizeof(im->did)) {
			if (key != NULL)
				strlcpy(im->key, key, sizeof(im->key));
			rv = 0;
		} else
			import_error(im, "database error");
	} else if (rc == SQLITE_DONE)
		import_fail(im, "no such account: %.256s", who);
	else
		import_error(im, "database error");
	sqlite3_reset(st);
	return rv;
}

static int
on_header(void *arg, const struct cid *roots, size_t n)
{
	struct import	*im = arg;

	if (n == 0)
		return import_fail(im, "the CAR has no root");
	if (n > 1)
		return import_fail(im, "the CAR has %zu roots; expected one",
		    n);
	im->root = roots[0];
	im->have_root = 1;
	return 0;
}

/*
 * The stage: where each block of the CAR lies in the file, not a copy
 * (the file is there until the import ends), found by CID; the walk
 * marks in two bitmaps, by the block's number in the CAR, the blocks it
 * reached and those that are records.  Two kinds sit behind the same
 * few functions (stage_put, stage_take, stage_keep, stage_clear), so
 * the walk and its checks are written once.
 *
 * Up to STAGE_MEM_BLOCKS blocks, in memory: a key made from the CID
 * and where the CID and data lie, in 16 bytes, and an open addressing
 * table of indexes, at most twice as many slots of 4 bytes: at most
 * 262144 * (16 + 8) bytes, 6 MiB, while the import runs.  Its inserts
 * and lookups cost a tenth of what the SQLite table's by the CID's
 * text did.  The key is not the CID, but the CID lies in the file just
 * before the block's data: a candidate is read back with it, and one
 * whose CID differs only moves the search on.
 *
 * A CAR with more blocks (some 200,000 records) moves what is staged
 * into a table of the connection's temporary database, keyed by the
 * CID's text, and goes on there.  Its cache is bounded (2 MiB, then a
 * temporary file), so the frontend's memory stays flat however large
 * the repository, the bitmaps (2 bits a block) aside.  The table is
 * made outside any transaction, so that a rollback does not take it
 * away from the cached statements.
 *
 * Both kinds put the reached blocks into repo_block in the order of
 * the CID's text, its key (the memory's key orders the same, see
 * cid_text_key): the B-tree fills page after page instead of splitting
 * pages all over.
 */
#define STAGE_MEM_BLOCKS	262144
#define STAGE_MAXOFF	((UINT64_C(1) << 35) - 1)	/* a 32 GiB CAR */
#define STAGE_MAX	(UINT32_MAX / 4)
#define IMPORT_STAGE_KIB	"-2048"		/* temp: where the blocks are */
#define IMPORT_IDLE_KIB		"-2048"		/* temp, between imports */
#define STAGE_TABLE	"CREATE TEMP TABLE IF NOT EXISTS import_block " \
	"(cid TEXT PRIMARY KEY NOT NULL, off INTEGER NOT NULL, " \
	"len INTEGER NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID"

struct stage_ent {
	uint64_t	 key;
	uint64_t	 off:35;	/* of the block's data */
	uint64_t	 len:22;	/* CAR_MAXBLOCK fits */
	uint64_t	 cidlen:7;	/* the CID is just before */
};

static int
stage_init(struct import *im)
{
	char	 err[256];

	if (appindex_load_init(fe->db) == -1)
		return -1;
	if (db_exec(fe->db, STAGE_TABLE, err, sizeof(err)) == -1 ||
	    db_exec(fe->db, "PRAGMA main.cache_size = " IMPORT_CACHE_KIB ";"
	    "PRAGMA temp.cache_size = " IMPORT_STAGE_KIB, err,
	    sizeof(err)) == -1) {
		log_warnx("import: staging table: %s", err);
		return -1;
	}
	return 0;
}

/* The table empty again, outside the import's transaction. */
static void
stage_clear(void)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;

	st = db_stmt(fe->db, &cache, "DELETE FROM temp.import_block");
	if (db_step_done(fe->db, st) == -1)
		log_warnx("import: staging table not cleared");
}

/*
 * The stage goes, and the caches shrink back, whatever became of the
 * import: main to the frontend's own, the temporary database's (empty
 * now) to SQLite's default.
 */
static void
stage_done(struct import *im)
{
	char	 err[256];

	if (im->spilled)
		stage_clear();
	free(im->ents);
	free(im->slots);
	free(im->kept);
	free(im->recs);
	free(im->dups);
	im->ents = NULL;
	im->slots = NULL;
	im->kept = NULL;
	im->recs = NULL;
	im->dups = NULL;
	if (db_exec(fe->db, "PRAGMA main.cache_size = " DB_CACHE_KIB ";"
	    "PRAGMA temp.cache_size = " IMPORT_IDLE_KIB, err,
	    sizeof(err)) == -1)
		log_warnx("import: cache size: %s", err);
#ifdef __GLIBC__

	/* The pages SQLite let go of sit in the heap until trimmed. */
	malloc_trim(0);
#endif
}

static int
marked(const uint8_t *bits, size_t i)
{
	return (bits[i / 8] & (1 << (i % 8))) != 0;
}

/*
 * Where the blocks are read.  A CAR of up to IMPORT_MAP_MAX bytes (some
 * 30,000 records) is mapped, and every block is read where it lies: no
 * read, no copy.  Its pages are the file's in the page cache (it was
 * just written) and count in the frontend's resident memory as file
 * pages, up to the whole CAR: that is why the bound.  A larger one is
 * read through a window, as before the map: the walk reads blocks in
 * tree order, all over the file, and a mapping larger than the bound
 * would have to let pages go and fault them back, which costs more
 * than a read (a 100k-record CAR: 160,000 faults and 40 % more CPU
 * with the pages dropped past 8 MiB; docs/bench.md).  Either way a
 * block is handed out where it lies, good until the next one is asked
 * for (every caller is done with it by then), and not hashed again: the
 * reader checked it as it streamed, and the file does not change.
 */
#ifndef IMPORT_MAP_MAX
#define IMPORT_MAP_MAX	(8 * 1024 * 1024)
#endif

static int
import_map(struct import *im, int fd, off_t size)
{
	void	*p;

	im->fd = fd;
	if ((uint64_t)size > SIZE_MAX / 2 || (uint64_t)size > STAGE_MAXOFF)
		return import_fail(im, "the CAR is too large");
	im->size = (size_t)size;
	if (size == 0)
		return 0;	/* the reader says what is wrong with it */
	if (im->size <= IMPORT_MAP_MAX) {
		if ((p = mmap(NULL, im->size, PROT_READ, MAP_PRIVATE, fd,
		    0)) != MAP_FAILED) {
			im->map = p;
			return 0;
		}
		/* Out of address space, say: the window does as well. */
		log_warn("import: mmap of %zu bytes; reading instead",
		    im->size);
	}
	if ((im->win = malloc(IMPORT_WINDOW)) == NULL)
		return import_error(im, "out of memory");
	return 0;
}

static void
import_unmap(struct import *im)
{
	if (im->map != NULL && munmap((void *)im->map, im->size) == -1)
		log_warn("import: munmap");
	free(im->win);
	free(im->one);
	im->map = NULL;
	im->win = NULL;
	im->one = NULL;
}

/* All of len at off into p, or -1. */
static int
read_at(int fd, uint8_t *p, size_t len, uint64_t off)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = pread(fd, p, len, (off_t)off)) == -1 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/*
 * len bytes at off, which the reader found in the file: where they lie
 * in the map or the window, or NULL with the failure set.  Without the
 * map, a block right after the last one fills the window from there
 * (the walk reads a CAR in tree order that way, the final insert one
 * in CID order, as getRepo writes); any other is read alone.
 */
static const uint8_t *
blk_at(struct import *im, uint64_t off, size_t len)
{
	uint8_t	*p;
	ssize_t	 got;
	int	 ahead;

	if (off > im->size || len > im->size - off) {
		import_error(im, "bad block offset");
		return NULL;
	}
	if (im->map != NULL)
		return im->map + off;
	ahead = off >= im->last_end && off - im->last_end < 512;
	im->last_end = off + len;
	if (off >= im->win_off && off + len <= im->win_off + im->win_len)
		return im->win + (off - im->win_off);
	if (ahead && len <= IMPORT_WINDOW) {
		im->win_len = 0;
		while ((got = pread(im->fd, im->win, IMPORT_WINDOW,
		    (off_t)off)) == -1 && errno == EINTR)
			;
		if (got < (ssize_t)len)
			goto fail;
		im->win_off = off;
		im->win_len = (size_t)got;
		return im->win;
	}
	if (len > im->onecap) {
		if ((p = realloc(im->one, len)) == NULL) {
			import_error(im, "out of memory");
			return NULL;
		}
		im->one = p;
		im->onecap = len;
	}
	if (read_at(im->fd, im->one, len, off) == -1)
		goto fail;
	return im->one;
fail:
	log_warn("import: read");
	import_error(im, "read error");
	return NULL;
}

/* In memory: the first slot to look in for a key. */
static size_t
mem_slot(const struct import *im, uint64_t key)
{
	return (size_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >>
	    (64 - im->slotbits));
}

/* Twice the slots, every entry placed again; 0 or -1. */
static int
mem_grow(struct import *im)
{
	uint32_t	*ns;
	size_t		 i, j, mask;
	unsigned int	 bits;

	bits = im->slotbits == 0 ? 12 : im->slotbits + 1;
	if ((ns = calloc((size_t)1 << bits, sizeof(*ns))) == NULL)
		return -1;
	free(im->slots);
	im->slots = ns;
	im->slotbits = bits;
	mask = ((size_t)1 << bits) - 1;
	for (i = 0; i < im->nstaged; i++) {
		for (j = mem_slot(im, im->ents[i].key); ns[j] != 0;
		    j = (j + 1) & mask)
			;
		ns[j] = (uint32_t)i + 1;
	}
	return 0;
}

static int
mem_put(struct import *im, const struct cid *c, uint64_t off, size_t len)
{
	struct stage_ent	*ne, *e;
	size_t			 n, j, mask;

	if (im->nstaged == im->entcap) {
		n = im->entcap == 0 ? 2048 : im->entcap * 2;
		if ((ne = reallocarray(im->ents, n, sizeof(*ne))) == NULL)
			return import_error(im, "out of memory");
		im->ents = ne;
		im->entcap = n;
	}
	if ((im->nstaged + 1) * 2 > ((size_t)1 << im->slotbits) &&
	    mem_grow(im) == -1)
		return import_error(im, "out of memory");
	e = &im->ents[im->nstaged];
	e->key = cid_text_key(c);
	e->off = off;
	e->len = len;
	e->cidlen = c->len;
	mask = ((size_t)1 << im->slotbits) - 1;
	for (j = mem_slot(im, e->key); im->slots[j] != 0; j = (j + 1) & mask)
		;
	im->slots[j] = (uint32_t)++im->nstaged;
	return 0;
}

/*
 * A block's number in the CAR and its data, where it lies: 0, 1 not
 * staged, -1 with the failure set.
 */
static int
mem_find(struct import *im, const struct cid *c, size_t *i,
    const uint8_t **data, size_t *len)
{
	const struct stage_ent	*e;
	const uint8_t		*p;
	uint64_t		 key;
	size_t			 j, mask;

	if (im->nstaged == 0)
		return 1;
	key = cid_text_key(c);
	mask = ((size_t)1 << im->slotbits) - 1;
	for (j = mem_slot(im, key); im->slots[j] != 0; j = (j + 1) & mask) {
		e = &im->ents[im->slots[j] - 1];
		if (e->key != key || e->cidlen != c->len)
			continue;
		if ((p = blk_at(im, e->off - e->cidlen,
		    e->cidlen + e->len)) == NULL)
			return -1;
		if (memcmp(p, c->b, c->len) != 0)
			continue;
		*i = im->slots[j] - 1;
		*data = p + c->len;
		*len = e->len;
		return 0;
	}
	return 1;
}

/* In the table, under the block's number in the CAR: 0, or -1. */
static int
sql_put(struct import *im, const struct cid *c, uint64_t off, size_t len,
    uint64_t seq)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	char			 s[CID_STRSZ];

	st = db_stmt(fe->db, &cache, "INSERT OR IGNORE INTO "
	    "temp.import_block (cid, off, len, seq) VALUES (?, ?, ?, ?)");
	if (st == NULL || cid_to_str(c, s, sizeof(s)) == -1 ||
	    sqlite3_bind_text(st, 1, s, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (sqlite3_int64)off) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)len) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, (sqlite3_int64)seq) != SQLITE_OK ||
	    db_step_done(fe->db, st) == -1)
		return import_error(im, "database error");
	return 0;
}

/* As mem_find, from the table. */
static int
sql_find(struct import *im, const struct cid *c, size_t *i,
    const uint8_t **data, size_t *len)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	int64_t			 off, n, seq;
	char			 s[CID_STRSZ];
	int			 rc;

	st = db_stmt(fe->db, &cache, "SELECT off, len, seq FROM "
	    "temp.import_block WHERE cid = ?");
	if (st == NULL || cid_to_str(c, s, sizeof(s)) == -1 ||
	    sqlite3_bind_text(st, 1, s, -1, SQLITE_STATIC) != SQLITE_OK)
		return import_error(im, "database error");
	if ((rc = db_step_row(fe->db, st, "staged block")) != 1)
		return rc == 0 ? 1 : import_error(im, "database error");
	off = sqlite3_column_int64(st, 0);
	n = sqlite3_column_int64(st, 1);
	seq = sqlite3_column_int64(st, 2);
	sqlite3_reset(st);
	if (off < 0 || n < 0 || n > CAR_MAXBLOCK || seq < 0 ||
	    (uint64_t)seq >= im->nstaged)
		return import_error(im, "database error");
	if ((*data = blk_at(im, (uint64_t)off, (size_t)n)) == NULL)
		return -1;
	*i = (size_t)seq;
	*len = (size_t)n;
	return 0;
}

/*
 * The CID just before a staged entry's data.  The reader took it
 * there, and the file does not change: failing is our fault.
 */
static int
ent_cid(struct import *im, const struct stage_ent *e, const uint8_t *p,
    struct cid *c)
{
	const char	*errstr;

	if (cid_from_bin(c, p, e->cidlen, NULL, &errstr) == -1) {
		log_warnx("import: staged block at byte %llu: %s",
		    (unsigned long long)e->off, errstr);
		return import_error(im, "bad staged block");
	}
	return 0;
}

/*
 * One block more than memory holds: what is staged moves into the
 * table, each CID read back from the file, and the memory goes.  The
 * reader streams from a buffer of its own, so the window is free.
 */
static int
stage_spill(struct import *im)
{
	const struct stage_ent	*e;
	const uint8_t		*p;
	struct cid		 c;
	size_t			 i;

	for (i = 0; i < im->nstaged; i++) {
		e = &im->ents[i];
		if ((p = blk_at(im, e->off - e->cidlen, e->cidlen)) == NULL ||
		    ent_cid(im, e, p, &c) == -1 ||
		    sql_put(im, &c, e->off, e->len, i) == -1)
			return -1;
	}
	free(im->ents);
	free(im->slots);
	im->ents = NULL;
	im->slots = NULL;
	im->entcap = 0;
	im->slotbits = 0;
	im->spilled = 1;
	log_info("import: more than %d blocks, staged in the temporary "
	    "database", STAGE_MEM_BLOCKS);
	return 0;
}

/* The reader's block: 0, or -1 with the failure set. */
static int
stage_put(struct import *im, const struct cid *c, uint64_t off, size_t len)
{
	if (off > STAGE_MAXOFF)
		return import_fail(im, "the CAR is too large");
	if (im->nstaged >= STAGE_MAX)
		return import_fail(im, "the CAR has too many blocks");
	if (len > CAR_MAXBLOCK || c->len > off || c->len >= 128)
		return import_error(im, "bad block offset");
	if (!im->spilled && im->nstaged == STAGE_MEM_BLOCKS &&
	    stage_spill(im) == -1)
		return -1;
	if (!im->spilled)
		return mem_put(im, c, off, len);
	if (sql_put(im, c, off, len, im->nstaged) == -1)
		return -1;
	im->nstaged++;
	return 0;
}

/*
 * One more record points at a block another record points at already:
 * rare (two records of the same content), so listed, not counted per
 * block.  A block's count of records is its record bit plus its
 * entries here.
 */
static int
stage_dup(struct import *im, size_t i)
{
	uint32_t	*nd;
	size_t		 n;

	if (im->ndups == im->dupcap) {
		n = im->dupcap == 0 ? 64 : im->dupcap * 2;
		if ((nd = reallocarray(im->dups, n, sizeof(*nd))) == NULL)
			return import_error(im, "out of memory");
		im->dups = nd;
		im->dupcap = n;
	}
	im->dups[im->ndups++] = (uint32_t)i;
	return 0;
}

/*
 * A staged block the walk reached, where it lies, marked to be kept,
 * and as a record's if it is one: 0, 1 not in the CAR, -1 with the
 * failure set.  Its data is not hashed again: the reader checked it
 * against its CID as it streamed, and the file has not changed since.
 */
static int
stage_take(struct import *im, const struct cid *c, int record,
    const uint8_t **data, size_t *len)
{
	size_t	 i;
	int	 rc;

	rc = im->spilled ? sql_find(im, c, &i, data, len) :
	    mem_find(im, c, &i, data, len);
	if (rc != 0)
		return rc;
	im->kept[i / 8] |= 1 << (i % 8);
	if (record && marked(im->recs, i) && stage_dup(im, i) == -1)
		return -1;
	if (record)
		im->recs[i / 8] |= 1 << (i % 8);
	return 0;
}

static int
dup_cmp(const void *a, const void *b)
{
	uint32_t	 x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* How many records point at block i; dups is sorted. */
static int
stage_refs(const struct import *im, size_t i)
{
	size_t	 lo = 0, hi = im->ndups, mid;
	int	 n;

	n = marked(im->recs, i);
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (im->dups[mid] < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < im->ndups && im->dups[lo] == i; lo++)
		n++;
	return n;
}

/* A reached block, where it lies, into the repository. */
static int
keep_one(struct import *im, const struct cid *c, const uint8_t *p,
    size_t len, size_t i)
{
	if (rstore_ref_block(fe->db, im->did, im->c.rev, c, p, len,
	    stage_refs(im, i)) == -1)
		return import_error(im, "database error");
	im->nblocks += sqlite3_changes(fe->db);
	return 0;
}

/* The entries mem_cmp sorts indexes of (qsort_r is not portable). */
static const struct stage_ent	*sorting;

static int
mem_cmp(const void *a, const void *b)
{
	const struct stage_ent	*ents = sorting;
	uint64_t		 ka, kb;
	uint32_t		 ia = *(const uint32_t *)a;
	uint32_t		 ib = *(const uint32_t *)b;

	ka = ents[ia].key;
	kb = ents[ib].key;
	if (ka != kb)
		return ka < kb ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

static int
mem_keep(struct import *im)
{
	const struct stage_ent	*e;
	struct cid		 c;
	const uint8_t		*p;
	uint32_t		*order;
	size_t			 i, n = 0;
	int			 rc = 0;

	for (i = 0; i < im->nstaged; i++)
		n += marked(im->kept, i);
	if ((order = reallocarray(NULL, n ? n : 1, sizeof(*order))) == NULL)
		return import_error(im, "out of memory");
	for (i = 0, n = 0; i < im->nstaged; i++)
		if (marked(im->kept, i))
			order[n++] = (uint32_t)i;
	sorting = im->ents;
	qsort(order, n, sizeof(*order), mem_cmp);
	sorting = NULL;
	for (i = 0; i < n && rc == 0; i++) {
		e = &im->ents[order[i]];
		/* One read of both: two would defeat the read ahead. */
		if ((p = blk_at(im, e->off - e->cidlen, e->cidlen +
		    e->len)) == NULL || ent_cid(im, e, p, &c) == -1) {
			rc = -1;
			break;
		}
		rc = keep_one(im, &c, p + e->cidlen, e->len, order[i]);
	}
	free(order);
	return rc;
}

static int
sql_keep(struct import *im)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct cid		 c;
	const char		*s, *errstr;
	const uint8_t		*p;
	int64_t			 off, n, seq;
	int			 rc;

	st = db_stmt(fe->db, &cache, "SELECT cid, off, len, seq FROM "
	    "temp.import_block ORDER BY cid");
	if (st == NULL)
		return import_error(im, "database error");
	while ((rc = db_step_row(fe->db, st, "staged block")) == 1) {
		s = (const char *)sqlite3_column_text(st, 0);
		off = sqlite3_column_int64(st, 1);
		n = sqlite3_column_int64(st, 2);
		seq = sqlite3_column_int64(st, 3);
		if (seq < 0 || (uint64_t)seq >= im->nstaged || off < 0 ||
		    n < 0 || n > CAR_MAXBLOCK || s == NULL ||
		    cid_from_str(&c, s, strlen(s), &errstr) == -1) {
			rc = import_error(im, "database error");
			break;
		}
		if (!marked(im->kept, (size_t)seq))
			continue;
		if ((p = blk_at(im, (uint64_t)off, (size_t)n)) == NULL) {
			rc = -1;
			break;
		}
		rc = keep_one(im, &c, p, (size_t)n, (size_t)seq);
		if (rc == -1)
			break;
	}
	sqlite3_reset(st);
	return rc == 0 ? 0 : rc == -1 && im->failed ? -1 :
	    import_error(im, "database error");
}

/*
 * What the walk reached goes into the repository once, in the order
 * of the CIDs' text, each block straight from the map or the window.
 */
static int
stage_keep(struct import *im)
{
	if (im->ndups > 0)
		qsort(im->dups, im->ndups, sizeof(*im->dups), dup_cmp);
	return im->spilled ? sql_keep(im) : mem_keep(im);
}

/* Bits per block of the CAR, for the walk to mark. */
static int
stage_marks(struct import *im)
{
	if ((im->kept = calloc(im->nstaged / 8 + 1, 1)) == NULL ||
	    (im->recs = calloc(im->nstaged / 8 + 1, 1)) == NULL)
		return import_error(im, "out of memory");
	return 0;
}

static int
on_block(void *arg, const struct cid *c, const uint8_t *p, size_t len)
{
	struct import	*im = arg;

	/* stage_put said why. */
	return stage_put(im, c, car_reader_block_offset(im->car), len);
}

/*
 * Streams the file into the stage; the reader checks every block, and
 * takes a block that lies whole in what it is fed where it lies.  Not
 * mapped, the file is read into a buffer of its own: a spill reads the
 * CIDs back through the window while the reader works.
 */
static int
import_stream(struct import *im)
{
	struct car_reader	*r;
	uint8_t			*buf = NULL;
	size_t			 off, n;
	ssize_t			 got;
	int			 rc = 0;

	if ((r = car_reader_new(on_header, on_block, im)) == NULL ||
	    (im->map == NULL && (buf = malloc(IMPORT_CHUNK)) == NULL)) {
		car_reader_free(r);
		return import_error(im, "out of memory");
	}
	im->car = r;
	for (off = 0; off < im->size && rc == 0; off += n) {
		n = im->size - off < IMPORT_CHUNK ? im->size - off :
		    IMPORT_CHUNK;
		if (im->map != NULL) {
			rc = car_reader_feed(r, im->map + off, n);
			continue;
		}
		while ((got = pread(im->fd, buf, n, (off_t)off)) == -1 &&
		    errno == EINTR)
			;
		if (got <= 0) {
			log_warn("import: read");
			rc = import_error(im, "read error");
			break;
		}
		n = (size_t)got;
		rc = car_reader_feed(r, buf, n);
	}
	if (rc == 0)
		rc = car_reader_end(r);
	if (rc == -1 && !im->failed)
		import_fail(im, "bad CAR: %s (at byte %llu)",
		    car_reader_error(r),
		    (unsigned long long)car_reader_offset(r));
	car_reader_free(r);
	free(buf);
	im->car = NULL;
	return rc;
}

/*
 * The walk reads nodes through here, without a copy (the store's view;
 * it has no get): each one reached is kept.
 */
static int
import_view(void *arg, const struct cid *c, const uint8_t **data,
    size_t *len)
{
	struct import	*im = arg;
	int		 rc;

	rc = stage_take(im, c, 0, data, len);
	if (rc == 1 && !im->node_missing) {
		im->node_missing = 1;
		im->missing = *c;
	}
	return rc;
}

/* A record is a data-model map: decoded into *v, or -1. */
static int
import_check_record(struct import *im, const char *key, const uint8_t *p,
    size_t len, struct dm **v)
{
	const char	*errstr;

	if (dm_cbor_decode(p, len, v, &errstr) == -1)
		return import_fail(im, "record %.512s: %s", key, errstr);
	if ((*v)->type != DM_MAP)
		errstr = "not a map";
	else if (dm_check_types(*v, &errstr) == 0)
		return 0;
	dm_free(*v);
	return import_fail(im, "record %.512s: %s", key, errstr);
}

/*
 * Its row, the blobs it names (listMissingBlobs shows those not here)
 * and its index rows; key is cut into collection and rkey.
 */
static int
import_index(struct import *im, char *key, const struct cid *val,
    const struct dm *v)
{
	char	 cid[CID_STRSZ], *rkey;

	if ((rkey = strchr(key, '/')) == NULL)
		return import_fail(im, "bad MST key %.512s", key);
	if (blob_import_refs(fe->db, im->did, key, v) == -1 ||
	    cid_to_str(val, cid, sizeof(cid)) == -1)
		return import_error(im, "database error");
	*rkey++ = '\0';
	if (rstore_load_record(fe->db, im->did, key, rkey, cid, im->c.rev,
	    im->at) == -1 || appindex_load_record(fe->db, im->did, key, rkey,
	    cid, im->at, v) == -1)
		return import_error(im, "database error");
	return 0;
}

static int
import_record(void *arg, const char *key, size_t klen, const struct cid *val)
{
	struct import	*im = arg;
	struct dm	*v;
	char		 k[MST_KEY_MAX + 1];
	const uint8_t	*p;
	size_t		 len;
	int		 rc;

	/* The node decoder took only valid keys: collection/rkey. */
	if (klen > MST_KEY_MAX)
		return import_fail(im, "bad MST key");
	memcpy(k, key, klen);
	k[klen] = '\0';
	if ((rc = stage_take(im, val, 1, &p, &len)) == 1)
		return import_fail(im, "record block missing: %.512s, cid %s",
		    k, cid_fmt(val));
	if (rc == -1)
		return -1;
	if ((rc = import_check_record(im, k, p, len, &v)) == 0) {
		rc = import_index(im, k, val, v);
		dm_free(v);
	}
	if (rc == -1)
		return -1;
	im->records++;
	return 0;
}

/* The root commit: present and well formed. */
static int
import_commit(struct import *im)
{
	const uint8_t	*p;
	size_t		 len;
	const char	*errstr;
	int		 rc;

	if (!im->have_root)
		return import_fail(im, "the CAR has no root");
	if ((rc = stage_take(im, &im->root, 0, &p, &len)) == 1)
		return import_fail(im, "the root block is not in the CAR");
	if (rc == -1)
		return -1;
	if (commit_decode(p, len, &im->c, &errstr) == -1)
		return import_fail(im, "the root %s is not a commit: %s",
		    cid_fmt(&im->root), errstr);
	return 0;
}

static int
import_tree(struct import *im)
{
	int	 rc;

	im->store.get = NULL;		/* the view alone */
	im->store.put = NULL;
	im->store.view = import_view;
	im->store.arg = im;
	rc = mst_walk(&im->store, &im->c.data, import_record, im);
	if (rc == 0)
		return 0;
	if (im->failed)
		return -1;
	if (im->node_missing)
		return import_fail(im, "MST node missing: cid %s",
		    cid_fmt(&im->missing));
	return import_fail(im, "bad MST under data %s", cid_fmt(&im->c.data));
}

/*
 * Relays learn of the new state as a #sync of the commit alone, under
 * the commit's own rev: the event's rev must be the block's.
 */
static int
import_sync_event(struct import *im)
{
	uint8_t	*p;
	size_t	 len;
	int	 rv;

	if (rstore_get_block(fe->db, im->did, &im->root, &p, &len) != 0)
		return -1;
	rv = events_sync(fe->db, im->did, &im->root, p, len, im->c.rev);
	free(p);
	return rv;
}


/* Everything inside the transaction; -1 rolls it back. */
static int
import_tx(struct import *im)
{
	struct repo_root	 root;

	im->t[0] = log_stamp();
	if (rstore_delete_repo(fe->db, im->did) == -1 ||
	    appindex_drop_repo(fe->db, im->did) == -1 ||
	    blob_repo_reset(fe->db, im->did, time(NULL)) == -1)
		return import_error(im, "database error");
	im->t[1] = log_stamp();
	if (import_stream(im) == -1 || stage_marks(im) == -1 ||
	    import_commit(im) == -1)
		return -1;
	im->t[2] = log_stamp();
	db_now(im->at, sizeof(im->at));
	appindex_load_begin();
	if (import_tree(im) == -1) {
		appindex_load_end(fe->db, 0);
		return -1;
	}
	im->t[3] = log_stamp();
	if (appindex_load_end(fe->db, 1) == -1)
		return import_error(im, "database error");
	im->t[4] = log_stamp();
	if (stage_keep(im) == -1)
		return -1;
	im->t[5] = log_stamp();
	root.commit = im->root;
	root.data = im->c.data;
	strlcpy(root.rev, im->c.rev, sizeof(root.rev));
	if (rstore_set_root(fe->db, im->did, &root) == -1 ||
	    import_sync_event(im) == -1)
		return import_error(im, "database error");
	return 0;
}

/* What is taken, but worth a word: "" when nothing. */
static void
import_warnings(struct import *im)
{
	struct pubkey	 pub;

	if (strcmp(im->c.did, im->did) != 0)
		snprintf(im->warn, sizeof(im->warn), "the commit is for "
		    "%.128s, not for %.128s", im->c.did, im->did);
	else if (didkey_decode(im->key, strlen(im->key), &pub) == -1)
		strlcpy(im->warn, "the account's signing key is unreadable; "
		    "signature not checked", sizeof(im->warn));
	else if (commit_verify(&im->c, &pub) == -1)
		strlcpy(im->warn, "the commit is not signed by the account's "
		    "key", sizeof(im->warn));
}

/* The summary waiting for signerd's answer to the rev raise. */
struct import_reply {
	import_done_cb	 done;
	void		*arg;
	size_t		 msglen;
	char		 msg[];
};

static void
import_reply_send(struct import_reply *r, const char *warn)
{
	if (warn != NULL) {
		strlcat(r->msg, "\nwarning: signerd did not raise its last "
		    "signed rev: ", r->msglen);
		strlcat(r->msg, warn, r->msglen);
		log_warnx("import: signerd did not raise its last signed "
		    "rev: %s", warn);
	}
	r->done(r->arg, r->msg);
	free(r);
}

static void
import_raised(void *arg, int ok, const uint8_t *data, size_t len,
    const char *err)
{
	import_reply_send(arg, ok ? NULL : err);
}

/* Answers the caller now if signerd cannot be asked. */
static void
import_raise(const struct import *im, const char *msg, import_done_cb done,
    void *arg)
{
	struct import_reply	*r;
	uint8_t			 req[SIGNER_REV_RAISE_MAX];
	size_t			 len;

	if ((r = malloc(sizeof(*r) + IMPORT_REPLY_MAX)) == NULL) {
		done(arg, msg);
		return;
	}
	r->done = done;
	r->arg = arg;
	r->msglen = IMPORT_REPLY_MAX;
	strlcpy(r->msg, msg, r->msglen);
	if (signer_rev_raise_encode(im->did, im->c.rev, req, &len) == -1)
		import_reply_send(r, "the DID is too long for signerd");
	else if (signer_request(IMSG_SIGN_REV_RAISE, req, len, import_raised,
	    r) == -1)
		import_reply_send(r, "signerd is not available");
}

enum import_status
import_repo(int fd, const char *who, char *msg, size_t msglen,
    import_done_cb done, void *arg)
{
	struct import		*im;
	struct stat		 st;
	enum import_status	 rv;
	size_t			 i;

	if ((im = calloc(1, sizeof(*im))) == NULL) {
		strlcpy(msg, "out of memory", msglen);
		return IMPORT_ERROR;
	}
	im->msg = msg;
	im->msglen = msglen;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		import_fail(im, "the CAR is not a regular file");
	else if (import_account(im, who) == -1)
		;
	else if (repo_writes_pending_for(im->did) > 0) {
		strlcpy(msg, "repository writes in progress; try again",
		    msglen);
		im->failed = IMPORT_BUSY;
	} else if (import_map(im, fd, st.st_size) == -1)
		;
	else if (stage_init(im) == -1 || db_begin(fe->db) == -1)
		import_error(im, "database error");
	else if (import_tx(im) == -1) {
		db_rollback(fe->db);
		events_forget_seq();
	} else if (db_commit(fe->db) == -1) {
		events_forget_seq();
		import_error(im, "database error");
	} else {
		im->t[6] = log_stamp();
		events_notify();
	}
	stage_done(im);
	import_unmap(im);
	for (i = 0; i < sizeof(im->t) / sizeof(im->t[0]) && im->t[i] != 0; i++)
		;
	if (i == sizeof(im->t) / sizeof(im->t[0]))
		log_debug("import %s: %lld us: cleared %lld streamed %lld "
		    "walked %lld indexed %lld blocks %lld committed %lld",
		    im->did, (long long)(im->t[6] - im->t[0]),
		    (long long)(im->t[1] - im->t[0]),
		    (long long)(im->t[2] - im->t[1]),
		    (long long)(im->t[3] - im->t[2]),
		    (long long)(im->t[4] - im->t[3]),
		    (long long)(im->t[5] - im->t[4]),
		    (long long)(im->t[6] - im->t[5]));
	if ((rv = im->failed) == IMPORT_OK) {
		import_warnings(im);
		snprintf(msg, msglen, "imported %.128s: commit %s, rev %s, "
		    "%llu records, %llu blocks", im->did, cid_fmt(&im->root),
		    im->c.rev, (unsigned long long)im->records,
		    (unsigned long long)im->nblocks);
		if (im->warn[0] != '\0') {
			log_warnx("%s; warning: %s", msg, im->warn);
			strlcat(msg, "\nwarning: ", msglen);
			strlcat(msg, im->warn, msglen);
		} else
			log_info("%s", msg);
		import_raise(im, msg, done, arg);
	} else
		log_warnx("import for %.256s refused: %s", who, msg);
	free(im);
	return rv;
}
