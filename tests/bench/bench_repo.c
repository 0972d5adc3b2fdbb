/*
 * Write cost against repository size, one run on this machine.
 *
 * For each size n, a repository of n records is built in one go
 * (mst_build_from_sorted), then single-record writes are timed one at a
 * time, each the way the daemon does it: an MST transaction opened on
 * the current root, one key put, the changed nodes committed, and the
 * new blocks counted.  Two kinds of write: a create with a fresh TID
 * (the right edge of the tree, what a client's posts do) and an update
 * of a random existing record (a path through the middle).
 *
 * Stores: memstore (the MST alone) and the daemon's SQLite tables
 * through repo_store.c, one SQLite transaction per write holding the
 * new node blocks, the record block, a commit-sized block, the record
 * row and the new root (signing and the event log are left out: their
 * cost does not depend on n), checkpointed as the daemon does, as
 * SQLite does by default, and not at all.  Blocks written and block
 * reads per write should grow like log4(n); time per write should too,
 * plus whatever SQLite's own B-tree adds.
 *
 * Numbers only: nothing here passes or fails.  Sizes 1k, 10k, 100k
 * and 1M records (1M in memstore only: loading it into SQLite would
 * take longer than the rest together); BENCH_REPO_MAX caps n (1M adds
 * about 25 s and 250 MB).
 */
#include <err.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench.h"
#include "blockstore.h"
#include "cid.h"
#include "crypto.h"
#include "mst.h"
#include "pdsd.h"
#include "repo_store.h"
#include "tid.h"

#define COLL		"app.bsky.feed.post"
#define DID		"did:plc:benchbenchbenchbenchbenc"
#define WRITES		400		/* timed writes per size and kind */
#define SQL_MAX		100000		/* largest n put through SQLite */

struct wstat {
	double		 us;		/* mean per write */
	double		 p50us, p99us;
	double		 blocks;	/* node blocks written per write */
	double		 bytes;		/* node bytes written per write */
	double		 loads;		/* block reads per write */
};

struct counter {
	size_t		 blocks, bytes;
};

static uint64_t	rng = 0x2545f4914f6cdd1dULL;

/* "app.bsky.feed.post/<tid>" for the i-th record; increasing in i. */
static void
key_of(uint64_t base, size_t i, char *buf, size_t len)
{
	char	tid[TID_BUFSZ];

	tid_encode(tid_make(base + (uint64_t)i * 1000, 7), tid);
	snprintf(buf, len, "%s/%s", COLL, tid);
}

/* A record-sized block standing for the record written. */
static void
record_block(uint64_t seed, uint8_t *blk, size_t len, struct cid *c)
{
	size_t	i;

	for (i = 0; i < len; i++)
		blk[i] = (uint8_t)(seed >> ((i % 8) * 8)) ^ (uint8_t)i;
	cid_of_bytes(c, CID_CODEC_DAGCBOR, blk, len);
}

static int
count_block(void *arg, enum mst_block_kind kind, const struct cid *c,
    const uint8_t *data, size_t len)
{
	struct counter	*k = arg;

	if (kind != MST_BLOCK_NEW)
		return 0;
	/* mst_tx_commit has put it into the store already. */
	k->blocks++;
	k->bytes += len;
	return 0;
}

/* Builds the n-record tree into bs; returns the root. */
static void
build(const struct blockstore *bs, uint64_t base, size_t n, struct cid *root)
{
	char		**keys;
	struct cid	 *vals;
	char		  k[64];
	uint8_t		  blk[150];
	size_t		  i;

	if ((keys = calloc(n, sizeof(*keys))) == NULL ||
	    (vals = calloc(n, sizeof(*vals))) == NULL)
		err(1, NULL);
	for (i = 0; i < n; i++) {
		key_of(base, i, k, sizeof(k));
		if ((keys[i] = strdup(k)) == NULL)
			err(1, NULL);
		record_block(i, blk, sizeof(blk), &vals[i]);
	}
	if (mst_build_from_sorted(bs, (const char *const *)keys, vals, n,
	    root) == -1)
		errx(1, "mst_build_from_sorted (%zu keys)", n);
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(vals);
}

/*
 * One write: open on root, put key, commit.  With an rstore, the whole
 * of it is one SQLite transaction as in the daemon's write_store().
 */
static void
one_write(const struct blockstore *bs, struct rstore_bs *rb, struct cid *root,
    const char *key, uint64_t seed, struct counter *k, size_t *loads)
{
	struct mst_tx	*tx;
	struct cid	 rec, commit;
	uint8_t		 blk[150], cblk[330];
	const char	*rkey = strchr(key, '/') + 1;

	record_block(seed, blk, sizeof(blk), &rec);
	if (rb != NULL && sqlite3_exec(rb->db, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL) != SQLITE_OK)
		errx(1, "begin: %s", sqlite3_errmsg(rb->db));
	if ((tx = mst_tx_open(bs, root)) == NULL ||
	    mst_tx_put(tx, key, strlen(key), &rec) == -1 ||
	    mst_tx_commit(tx, root, count_block, k) == -1)
		errx(1, "mst write of %s", key);
	*loads += mst_tx_loads(tx);
	mst_tx_free(tx);
	if (rb != NULL) {
		struct repo_root	rr;

		/* The record and a signed-commit-sized block. */
		record_block(seed ^ 0x5555, cblk, sizeof(cblk), &commit);
		memset(&rr, 0, sizeof(rr));
		rr.commit = commit;
		rr.data = *root;
		tid_next(rr.rev);
		if (rstore_ref_block(rb->db, rb->did, rr.rev, &rec, blk,
		    sizeof(blk), 1) == -1 ||
		    rstore_put_block(rb->db, rb->did, rr.rev, &commit, cblk,
		    sizeof(cblk)) == -1 ||
		    rstore_put_record(rb->db, rb->did, COLL, rkey, &rec,
		    rr.rev) == -1 ||
		    rstore_set_root(rb->db, rb->did, &rr) == -1 ||
		    sqlite3_exec(rb->db, "COMMIT", NULL, NULL, NULL) !=
		    SQLITE_OK)
			errx(1, "sqlite write: %s", sqlite3_errmsg(rb->db));
	}
}

/* WRITES writes of one kind; create: fresh keys past the end. */
static void
timed_writes(const struct blockstore *bs, struct rstore_bs *rb,
    struct cid *root, uint64_t base, size_t n, int create, struct wstat *ws)
{
	struct counter	 k;
	double		 lat[WRITES], t0, sum = 0;
	char		 key[64];
	size_t		 i, loads = 0;

	memset(&k, 0, sizeof(k));
	for (i = 0; i < WRITES; i++) {
		if (create)
			key_of(base, n + i, key, sizeof(key));
		else
			key_of(base, bench_rnd(&rng) % n, key, sizeof(key));
		t0 = bench_now_us();
		one_write(bs, rb, root, key, bench_rnd(&rng), &k, &loads);
		lat[i] = bench_now_us() - t0;
		sum += lat[i];
	}
	qsort(lat, WRITES, sizeof(lat[0]), bench_cmp_double);
	ws->us = sum / WRITES;
	ws->p50us = lat[WRITES / 2];
	ws->p99us = lat[WRITES * 99 / 100];
	ws->blocks = (double)k.blocks / WRITES;
	ws->bytes = (double)k.bytes / WRITES;
	ws->loads = (double)loads / WRITES;
}

static void
row(const char *store, size_t n, const char *kind, const struct wstat *ws)
{
	printf("%-9s %8zu  %-6s %9.1f %9.1f %9.1f %8.2f %8.0f %8.2f %7.2f\n",
	    store, n, kind, ws->us, ws->p50us, ws->p99us, ws->blocks,
	    ws->bytes, ws->loads, log((double)n) / log(4.0));
}

static void
bench_mem(size_t n)
{
	struct memstore		*ms;
	struct blockstore	 bs;
	struct cid		 root;
	struct wstat		 ws;
	uint64_t		 base = 1700000000000000ULL;

	if ((ms = memstore_new()) == NULL)
		err(1, NULL);
	memstore_blockstore(ms, &bs);
	build(&bs, base, n, &root);
	timed_writes(&bs, NULL, &root, base, n, 1, &ws);
	row("memstore", n, "create", &ws);
	timed_writes(&bs, NULL, &root, base, n, 0, &ws);
	row("memstore", n, "update", &ws);
	memstore_free(ms);
}

static int
copy_block(void *arg, const struct cid *c, const uint8_t *d, size_t len)
{
	struct rstore_bs	*rb = arg;

	return rstore_put_block(rb->db, rb->did, rb->rev, c, d, len);
}

/* The tree built in memory, then its blocks and rows loaded in bulk. */
static void
load_sqlite(struct rstore_bs *rb, uint64_t base, size_t n, struct cid *root)
{
	struct memstore		*ms;
	struct blockstore	 bs;
	struct repo_root	 rr;
	struct cid		 rec;
	uint8_t			 blk[150];
	char			 key[64];
	size_t			 i;

	if ((ms = memstore_new()) == NULL)
		err(1, NULL);
	memstore_blockstore(ms, &bs);
	build(&bs, base, n, root);
	if (sqlite3_exec(rb->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    memstore_foreach(ms, copy_block, rb) != 0)
		errx(1, "load blocks: %s", sqlite3_errmsg(rb->db));
	for (i = 0; i < n; i++) {
		key_of(base, i, key, sizeof(key));
		record_block(i, blk, sizeof(blk), &rec);
		if (rstore_ref_block(rb->db, rb->did, rb->rev, &rec, blk,
		    sizeof(blk), 1) == -1 || rstore_put_record(rb->db, rb->did,
		    COLL, strchr(key, '/') + 1, &rec, rb->rev) == -1)
			errx(1, "load records: %s", sqlite3_errmsg(rb->db));
	}
	memset(&rr, 0, sizeof(rr));
	rr.commit = rr.data = *root;
	strlcpy(rr.rev, rb->rev, sizeof(rr.rev));
	if (rstore_set_root(rb->db, rb->did, &rr) == -1 ||
	    sqlite3_exec(rb->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		errx(1, "load: %s", sqlite3_errmsg(rb->db));
	memstore_free(ms);
}

/*
 * How the WAL is checkpointed: CKPT_THREAD as the daemon does it (on a
 * thread of its own, checkpoint.c), CKPT_AUTO as SQLite does by default
 * (inside whichever commit crosses 1000 pages), CKPT_NONE not at all
 * (the floor: what any checkpointing costs the writes).
 */
enum ckpt { CKPT_THREAD, CKPT_AUTO, CKPT_NONE };
static const char *const ckpt_label[] = {
	"sqlite", "sqlite-ac", "sqlite-nc"
};

static void
bench_sqlite(const char *dir, size_t n, enum ckpt mode)
{
	struct rstore_bs	 rb;
	struct blockstore	 bs;
	struct cid		 root;
	struct wstat		 ws;
	sqlite3			*db;
	char			 path[1024], e[256], rev[TID_BUFSZ];
	uint64_t		 base = 1700000000000000ULL;

	snprintf(path, sizeof(path), "%s/repo-%zu.db", dir, n);
	if ((db = db_open(path, e, sizeof(e))) == NULL)
		errx(1, "%s", e);
	tid_encode(tid_make(base, 1), rev);
	rb.db = db;
	rb.did = DID;
	rb.rev = rev;
	load_sqlite(&rb, base, n, &root);
	if (sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
	    NULL) != SQLITE_OK || (mode == CKPT_NONE && sqlite3_exec(db,
	    "PRAGMA wal_autocheckpoint = 0", NULL, NULL, NULL) != SQLITE_OK))
		errx(1, "checkpoint: %s", sqlite3_errmsg(db));
	if (mode == CKPT_THREAD && db_checkpointer_start(db, path, e,
	    sizeof(e)) == -1)
		errx(1, "%s", e);
	rstore_blockstore(&rb, &bs);
	timed_writes(&bs, &rb, &root, base, n, 1, &ws);
	row(ckpt_label[mode], n, "create", &ws);
	timed_writes(&bs, &rb, &root, base, n, 0, &ws);
	row(ckpt_label[mode], n, "update", &ws);
	db_checkpointer_stop();
	db_close(db);
	unlink(path);
	snprintf(path, sizeof(path), "%s/repo-%zu.db-wal", dir, n);
	unlink(path);
	snprintf(path, sizeof(path), "%s/repo-%zu.db-shm", dir, n);
	unlink(path);
}

int
main(void)
{
	static const size_t	 sizes[] = { 1000, 10000, 100000, 1000000 };
	const char		*s;
	char			 dir[] = "/tmp/pdsd-bench-repo.XXXXXX";
	size_t			 i, max = 1000000;

	if ((s = getenv("BENCH_REPO_MAX")) != NULL)
		max = strtoul(s, NULL, 10);
	if (crypto_init() == -1)
		errx(1, "crypto_init");
	cid_init();
	if (mkdtemp(dir) == NULL)
		err(1, "mkdtemp");
	printf("pdsd write cost against repository size "
	    "(%d single-record writes per row)\n", WRITES);
	printf("%-9s %8s  %-6s %9s %9s %9s %8s %8s %8s %7s\n", "store", "n",
	    "write", "mean us", "p50 us", "p99 us", "blocks", "bytes",
	    "reads", "log4 n");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (sizes[i] > max)
			break;
		bench_mem(sizes[i]);
		if (sizes[i] <= SQL_MAX) {
			bench_sqlite(dir, sizes[i], CKPT_THREAD);
			bench_sqlite(dir, sizes[i], CKPT_AUTO);
			bench_sqlite(dir, sizes[i], CKPT_NONE);
		}
		fflush(stdout);
	}
	printf("blocks, bytes: MST node blocks written per write (sqlite "
	    "adds 2: record and commit)\nreads: blocks read from the store "
	    "per write\nsqlite: the daemon's settings (WAL, synchronous "
	    "NORMAL, checkpoints on a thread)\nsqlite-ac: SQLite's automatic "
	    "checkpoints, in the writing thread\nsqlite-nc: no checkpoints "
	    "at all (the floor)\n");
	rmdir(dir);
	return 0;
}
