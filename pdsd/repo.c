/*
 * The write path.  A write reads the current root, applies its
 * operations to an MST transaction whose new blocks stay in memory,
 * asks signerd to sign the new commit, and only then stores everything
 * in one SQLite transaction: blocks, record rows and the new root.
 * Nothing is written before the signature arrives, so a failure leaves
 * the repository as it was.  Writes to one repository are serialized;
 * writes to different ones only share the signer and the database.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "appview.h"
#include "blob.h"
#include "blockstore.h"
#include "cbor.h"
#include "cid.h"
#include "commit.h"
#include "dm.h"
#include "log.h"
#include "mst.h"
#include "pdsd.h"
#include "repo.h"
#include "tid.h"

struct repo_cid_list {
	struct cid	*v;
	size_t		 n;
	size_t		 cap;
};

/* What a commit changes in the count of records pointing at a block. */
struct repo_ref {
	struct cid	 cid;
	int		 n;
};

/*
 * The MST nodes writes read most: every write to a repository reads its
 * root and the path to the new key, which the previous write made.  A
 * block's bytes never change under its CID, so a small cache of them,
 * filled with what was read and with the nodes each commit makes, can
 * only be stale in holding a block the repository dropped, which the
 * MST of the current root never asks for.
 */
#define NODE_CACHE_SLOTS	1024
#define NODE_CACHE_MAX		4096	/* bytes of one node kept */

static struct node_slot {
	struct cid	 cid;
	uint8_t		*data;
	size_t		 len;
} node_cache[NODE_CACHE_SLOTS];

/* Writes in flight or waiting, in submission order. */
static TAILQ_HEAD(, repo_write)	 writes = TAILQ_HEAD_INITIALIZER(writes);
static size_t			 nwrites;

static void	write_start(struct repo_write *);
static void	write_finish(struct repo_write *, int, const char *,
		    const char *);
static void	write_signed(void *, const uint8_t *, const char *);
static int	resign(struct repo_write *);

struct repo_write *
repo_write_new(const char *did, size_t nops)
{
	struct repo_write	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if (strlcpy(w->did, did, sizeof(w->did)) >= sizeof(w->did) ||
	    (nops > 0 && (w->ops = calloc(nops, sizeof(*w->ops))) == NULL) ||
	    (w->removed = calloc(1, sizeof(*w->removed))) == NULL) {
		free(w->ops);
		free(w);
		return NULL;
	}
	w->nops = nops;
	return w;
}

static void
write_release(struct repo_write *w)
{
	mst_tx_free(w->tx);
	w->tx = NULL;
	memstore_free(w->overlay);
	w->overlay = NULL;
	free(w->unsigned_commit);
	w->unsigned_commit = NULL;
}

void
repo_write_free(struct repo_write *w)
{
	size_t	 i;

	if (w == NULL)
		return;
	write_release(w);
	for (i = 0; i < w->nops; i++)
		dm_free(w->ops[i].record);
	free(w->ops);
	if (w->removed != NULL)
		free(w->removed->v);
	free(w->removed);
	memstore_free(w->blocks);
	memstore_free(w->proof);
	free(w);
}

size_t
repo_writes_pending(void)
{
	return nwrites;
}

size_t
repo_writes_pending_for(const char *did)
{
	struct repo_write	*w;
	size_t			 n = 0;

	TAILQ_FOREACH(w, &writes, entry)
		if (strcmp(w->did, did) == 0)
			n++;
	return n;
}

static int
busy(const char *did, const struct repo_write *until)
{
	struct repo_write	*w;

	TAILQ_FOREACH(w, &writes, entry) {
		if (w == until)
			break;
		if (strcmp(w->did, did) == 0)
			return 1;
	}
	return 0;
}

/*
 * Stage times of a write, taken only when asked for (-vv): where the
 * latency of a write goes when it is slow.
 */
#define SPAN(a, b)	((a) != 0 && (b) != 0 ? (long long)((b) - (a)) : -1LL)

static void
timing_log(const struct repo_write *w, int status)
{
	if (w->t_submit == 0)
		return;
	log_debug("write %s status %d: %lld us: queued %lld prepared %lld "
	    "signer %lld lock %lld stored %lld committed %lld", w->did,
	    status, SPAN(w->t_submit, w->t_end),
	    SPAN(w->t_submit, w->t_start), SPAN(w->t_start, w->t_asked),
	    SPAN(w->t_asked, w->t_signed), SPAN(w->t_signed, w->t_begin),
	    SPAN(w->t_begin, w->t_commit), SPAN(w->t_commit, w->t_end));
}

void
repo_write_submit(struct repo_write *w)
{
	w->t_submit = log_stamp();
	TAILQ_INSERT_TAIL(&writes, w, entry);
	nwrites++;
	if (!busy(w->did, w))
		write_start(w);
}

static int
cid_list_add(struct repo_cid_list *l, const struct cid *c)
{
	struct cid	*v;
	size_t		 cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 16;
		if ((v = reallocarray(l->v, cap, sizeof(*v))) == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *c;
	return 0;
}

static struct node_slot *
node_slot(const struct cid *c)
{
	uint32_t	 h = 0;
	size_t		 i;

	/* A CID ends in its digest: its last bytes are as good as any hash. */
	for (i = c->len > 4 ? c->len - 4 : 0; i < c->len; i++)
		h = h << 8 | c->b[i];
	return &node_cache[h % NODE_CACHE_SLOTS];
}

static void
node_cache_put(const struct cid *c, const uint8_t *data, size_t len)
{
	struct node_slot	*sl = node_slot(c);
	uint8_t			*p;

	if (len > NODE_CACHE_MAX || (sl->data != NULL &&
	    cid_equal(&sl->cid, c)))
		return;
	if ((p = malloc(len ? len : 1)) == NULL)
		return;
	memcpy(p, data, len);
	free(sl->data);
	sl->cid = *c;
	sl->data = p;
	sl->len = len;
}

/* A copy of what is found. */
static int
copy_out(const uint8_t *p, size_t n, uint8_t **data, size_t *len)
{
	if ((*data = malloc(n ? n : 1)) == NULL)
		return -1;
	memcpy(*data, p, n);
	*len = n;
	return 0;
}

/*
 * The MST reads our uncommitted nodes, the cache and the database, and
 * writes memory.
 */
static int
layered_get(void *arg, const struct cid *c, uint8_t **data, size_t *len)
{
	struct repo_write	*w = arg;
	struct node_slot	*sl;
	const uint8_t		*p;
	size_t			 n;
	int			 r;

	if (memstore_peek(w->overlay, c, &p, &n) == 0)
		return copy_out(p, n, data, len);
	sl = node_slot(c);
	if (sl->data != NULL && cid_equal(&sl->cid, c))
		return copy_out(sl->data, sl->len, data, len);
	if ((r = blockstore_get(&w->base, c, data, len)) == 0)
		node_cache_put(c, *data, *len);
	return r;
}

static int
layered_put(void *arg, const struct cid *c, const uint8_t *data, size_t len)
{
	struct repo_write	*w = arg;

	return memstore_put(w->overlay, c, data, len);
}

static int
collect_block(void *arg, enum mst_block_kind kind, const struct cid *c,
    const uint8_t *data, size_t len)
{
	struct repo_write	*w = arg;

	if (kind == MST_BLOCK_NEW) {
		node_cache_put(c, data, len);
		return memstore_put(w->blocks, c, data, len);
	}
	return cid_list_add(w->removed, c);
}

/* A rev newer than the head's, even if our clock is behind it. */
static void
next_rev(const char *prev, char rev[TID_BUFSZ])
{
	uint64_t	 p, v;

	v = tid_next_value();
	if (prev != NULL && tid_parse(prev, strlen(prev), &p) == 0 && v <= p)
		v = p + 1;
	tid_encode(v, rev);
}

static int
key_of(const struct repo_op *op, char *key, size_t len)
{
	return snprintf(key, len, "%s/%s", op->collection, op->rkey) <
	    (int)len ? 0 : -1;
}

static int
swap_ok(const struct repo_op *op, int found, const struct cid *cur)
{
	if (!op->has_swap)
		return 1;
	if (op->swap_null)
		return !found;
	return found && cid_equal(cur, &op->swap);
}

/* Apply one operation to the transaction; on error fill status/name/msg. */
static int
apply_op(struct repo_write *w, struct repo_op *op, int *status,
    const char **name, char *msg, size_t msglen)
{
	struct dm_buf	 b = { NULL, 0, 0 };
	struct cid	 cur;
	char		 key[NSID_MAX + RKEY_MAX + 2], cs[CID_STRSZ];
	int		 found;

	if (key_of(op, key, sizeof(key)) == -1 ||
	    !mst_key_valid(key, strlen(key))) {
		*status = 400;
		*name = "InvalidRequest";
		snprintf(msg, msglen, "Invalid record key: %.400s", key);
		return -1;
	}
	if ((found = mst_tx_get(w->tx, key, strlen(key), &cur)) == -1)
		goto internal;
	if (!swap_ok(op, found == 0, &cur)) {
		*status = 400;
		*name = "InvalidSwap";
		if (found == 0 && cid_to_str(&cur, cs, sizeof(cs)) > 0)
			snprintf(msg, msglen, "Record was at %s", cs);
		else
			snprintf(msg, msglen, "Record was at null");
		return -1;
	}
	op->has_prev = found == 0;
	if (found == 0)
		op->prev = cur;
	switch (op->action) {
	case REPO_CREATE:
		if (found == 0) {
			*status = 400;
			*name = "InvalidRequest";
			snprintf(msg, msglen, "Record already exists: %.400s", key);
			return -1;
		}
		/* FALLTHROUGH */
	case REPO_UPDATE:
		if (dm_cbor_encode(op->record, &b) == -1)
			goto internal;
		cid_of_bytes(&op->cid, CID_CODEC_DAGCBOR, b.p, b.len);
		if (memstore_put(w->blocks, &op->cid, b.p, b.len) == -1 ||
		    mst_tx_put(w->tx, key, strlen(key), &op->cid) == -1) {
			dm_buf_free(&b);
			goto internal;
		}
		dm_buf_free(&b);
		break;
	case REPO_DELETE:
		if (found != 0) {
			*status = 400;
			*name = "InvalidRequest";
			snprintf(msg, msglen, "Could not find record: %.400s", key);
			return -1;
		}
		if (mst_tx_del(w->tx, key, strlen(key)) == -1)
			goto internal;
		break;
	}
	return 0;
internal:
	*status = 500;
	*name = "InternalServerError";
	snprintf(msg, msglen, "Internal Server Error");
	return -1;
}

/*
 * Everything up to the request for a signature; -1 fills status, name
 * and msg.
 */
static int
write_prepare(struct repo_write *w, int *statusp, const char **namep,
    char *msg, size_t msglen)
{
	const char	*name = "InternalServerError";
	char		 rev[TID_BUFSZ];
	int		 r, status = 500;
	size_t		 i;

	snprintf(msg, msglen, "Internal Server Error");
	if ((r = rstore_get_root(fe->db, w->did, &w->old_root)) == -1)
		goto fail;
	w->has_old = r == 0;
	if (!w->has_old && !w->init) {
		status = 400;
		name = "RepoNotFound";
		snprintf(msg, msglen, "Could not find repo: %.256s", w->did);
		goto fail;
	}
	if (w->has_old && w->init) {
		status = 400;
		name = "InvalidRequest";
		snprintf(msg, msglen, "Repo already exists: %.256s", w->did);
		goto fail;
	}
	if (w->has_swap_commit && (!w->has_old ||
	    !cid_equal(&w->swap_commit, &w->old_root.commit))) {
		status = 400;
		name = "InvalidSwap";
		snprintf(msg, msglen, "Commit was at %s",
		    w->has_old ? cid_fmt(&w->old_root.commit) : "null");
		goto fail;
	}
	w->rb.db = fe->db;
	w->rb.did = w->did;
	w->rb.rev = "";
	rstore_blockstore(&w->rb, &w->base);
	w->layered.get = layered_get;
	w->layered.put = layered_put;
	w->layered.view = NULL;
	w->layered.arg = w;
	if ((w->overlay = memstore_new()) == NULL ||
	    (w->blocks = memstore_new()) == NULL ||
	    (w->tx = mst_tx_open(&w->layered, w->has_old ?
	    &w->old_root.data : NULL)) == NULL)
		goto fail;
	for (i = 0; i < w->nops; i++)
		if (apply_op(w, &w->ops[i], &status, &name, msg,
		    msglen) == -1)
			goto fail;
	if (mst_tx_commit(w->tx, &w->new_root.data, collect_block, w) == -1 ||
	    (w->proof = memstore_new()) == NULL ||
	    mst_tx_proof(w->tx, w->proof) == -1)
		goto fail;
	next_rev(w->has_old ? w->old_root.rev : NULL, rev);
	strlcpy(w->new_root.rev, rev, sizeof(w->new_root.rev));
	if (commit_unsigned_encode(w->did, &w->new_root.data, rev,
	    &w->unsigned_commit, &w->unsigned_len) == -1)
		goto fail;
	if (signer_sign_commit(w->unsigned_commit, w->unsigned_len,
	    write_signed, w) == -1) {
		status = 503;
		snprintf(msg, msglen, "Signer unavailable");
		goto fail;
	}
	return 0;
fail:
	*statusp = status;
	*namep = name;
	return -1;
}

/*
 * The reads of a write's preparation (its root and the MST nodes on
 * its paths) share one read transaction, closed before anything else
 * can start a write.
 */
static void
write_start(struct repo_write *w)
{
	const char	*name;
	char		 msg[512];
	int		 opened, r, status;

	w->t_start = log_stamp();
	opened = db_read_begin(fe->db);
	r = write_prepare(w, &status, &name, msg, sizeof(msg));
	db_read_end(fe->db, opened);
	w->t_asked = log_stamp();
	if (r == -1)
		write_finish(w, status, name, msg);
}

static void
refs_free(struct repo_write *w)
{
	free(w->refs);
	w->refs = NULL;
	w->nrefs = 0;
}

static int
ref_cmp(const void *a, const void *b)
{
	const struct repo_ref	*x = a, *y = b;

	return cid_cmp(&x->cid, &y->cid);
}

/*
 * The records of the commit, as changes in the count of each record
 * block, sorted by CID: one more for a record written, one fewer for
 * the one it replaced or deleted.  Each operation saw the ones before
 * it, so a key written twice by one applyWrites counts once.
 */
static int
count_refs(struct repo_write *w)
{
	struct repo_op	*op;
	struct repo_ref	*r;
	size_t		 i, j, n = 0;

	if ((r = calloc(w->nops * 2 + 1, sizeof(*r))) == NULL)
		return -1;
	for (i = 0; i < w->nops; i++) {
		op = &w->ops[i];
		if (op->action != REPO_DELETE) {
			r[n].cid = op->cid;
			r[n++].n = 1;
		}
		if (op->has_prev) {
			r[n].cid = op->prev;
			r[n++].n = -1;
		}
	}
	qsort(r, n, sizeof(*r), ref_cmp);
	for (i = j = 0; i < n; i++) {
		if (j > 0 && cid_equal(&r[j - 1].cid, &r[i].cid))
			r[j - 1].n += r[i].n;
		else
			r[j++] = r[i];
	}
	w->refs = r;
	w->nrefs = j;
	return 0;
}

static struct repo_ref *
ref_find(struct repo_write *w, const struct cid *c)
{
	struct repo_ref	 key;

	key.cid = *c;
	return bsearch(&key, w->refs, w->nrefs, sizeof(key), ref_cmp);
}

/*
 * A record block is shared by the records with its content: it goes
 * when its count falls to 0.  An MST node the tree let go of goes
 * unless this commit wrote it again.
 */
static int
drop_unused(struct repo_write *w)
{
	size_t	 i;

	for (i = 0; i < w->removed->n; i++)
		if (!memstore_has(w->blocks, &w->removed->v[i]) &&
		    rstore_unref_block(fe->db, w->did, &w->removed->v[i],
		    0) == -1)
			return -1;
	for (i = 0; i < w->nrefs; i++)
		if (w->refs[i].n < 0 && rstore_unref_block(fe->db, w->did,
		    &w->refs[i].cid, -w->refs[i].n) == -1)
			return -1;
	return 0;
}

/*
 * A record block is stored with its count, or its count raised; one
 * whose count does not grow is left as it is (written and deleted by
 * the same commit, it is not stored at all).
 */
static int
store_block(void *arg, const struct cid *c, const uint8_t *d, size_t len)
{
	struct repo_write	*w = arg;
	struct repo_ref		*r;

	if ((r = ref_find(w, c)) != NULL)
		return r->n > 0 ? rstore_ref_block(fe->db, w->did,
		    w->new_root.rev, c, d, len, r->n) : 0;
	return rstore_put_block(fe->db, w->did, w->new_root.rev, c, d, len);
}

/* Everything of the commit, in one transaction. */
static int
write_store(struct repo_write *w)
{
	struct repo_op	*op;
	const uint8_t	*p;
	size_t		 i, len;

	if (count_refs(w) == -1)
		return -1;
	if (db_begin(fe->db) == -1)
		goto fail_refs;
	w->t_begin = log_stamp();
	if (memstore_foreach(w->blocks, store_block, w) != 0)
		goto fail;
	for (i = 0; i < w->nops; i++) {
		op = &w->ops[i];
		if (op->action == REPO_DELETE) {
			if (rstore_del_record(fe->db, w->did, op->collection,
			    op->rkey) == -1)
				goto fail;
		} else if (rstore_put_record(fe->db, w->did, op->collection,
		    op->rkey, &op->cid, w->new_root.rev) == -1)
			goto fail;
	}
	if (blob_write_refs(fe->db, w) == -1 ||
	    appindex_write(fe->db, w) == -1 || drop_unused(w) == -1 ||
	    rstore_set_root(fe->db, w->did, &w->new_root) == -1 ||
	    (w->in_tx != NULL && w->in_tx(w) == -1) ||
	    events_commit(fe->db, w) == -1)
		goto fail;
	if (w->init) {
		/* A new repo: its state, after the first commit. */
		if (memstore_peek(w->blocks, &w->new_root.commit, &p,
		    &len) != 0 || events_sync(fe->db, w->did,
		    &w->new_root.commit, p, len, w->new_root.rev) == -1)
			goto fail;
	}
	w->t_commit = log_stamp();
	if (db_commit(fe->db) == -1) {
		events_forget_seq();
		goto fail_refs;
	}
	events_notify();
	refs_free(w);
	return 0;
fail:
	db_rollback(fe->db);
	events_forget_seq();
fail_refs:
	refs_free(w);
	return -1;
}

/*
 * A rev made before we learnt signerd's floor (a write taken in the
 * first moments after a restart) is refused; the same commit with a
 * new rev, above the floor now, is not.  Once only.
 */
static int
resign(struct repo_write *w)
{
	uint64_t	 v;

	if (w->resigned || tid_parse(w->new_root.rev,
	    strlen(w->new_root.rev), &v) == -1 || v > signer_floor())
		return -1;
	w->resigned = 1;
	free(w->unsigned_commit);
	w->unsigned_commit = NULL;
	next_rev(w->has_old ? w->old_root.rev : NULL, w->new_root.rev);
	if (commit_unsigned_encode(w->did, &w->new_root.data,
	    w->new_root.rev, &w->unsigned_commit, &w->unsigned_len) == -1 ||
	    signer_sign_commit(w->unsigned_commit, w->unsigned_len,
	    write_signed, w) == -1)
		return -1;
	log_debug("%s: commit asked again above signerd's floor", w->did);
	return 0;
}

static void
write_signed(void *arg, const uint8_t *sig, const char *err)
{
	struct repo_write	*w = arg;
	uint8_t			*signed_commit = NULL;
	size_t			 len;

	w->t_signed = log_stamp();
	if (sig == NULL && resign(w) == 0)
		return;
	if (sig == NULL) {
		log_warnx("commit for %s not signed: %s", w->did, err);
		write_finish(w, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	if (commit_signed_encode(w->unsigned_commit, w->unsigned_len, sig,
	    &signed_commit, &len) == -1) {
		write_finish(w, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	cid_of_bytes(&w->new_root.commit, CID_CODEC_DAGCBOR, signed_commit,
	    len);
	if (memstore_put(w->blocks, &w->new_root.commit, signed_commit,
	    len) == -1 || write_store(w) == -1) {
		free(signed_commit);
		if (w->fail_status != 0)
			write_finish(w, w->fail_status, w->fail_name,
			    w->fail_msg);
		else
			write_finish(w, 500, "InternalServerError",
			    "Internal Server Error");
		return;
	}
	free(signed_commit);
	log_debug("%s: commit %s rev %s", w->did, cid_fmt(&w->new_root.commit),
	    w->new_root.rev);
	write_finish(w, 0, NULL, NULL);
}

/*
 * Start the next write waiting on this repository, then tell the
 * caller, who may submit another: it queues behind the one started.
 */
static void
write_finish(struct repo_write *w, int status, const char *name,
    const char *msg)
{
	struct repo_write	*next;

	for (next = TAILQ_NEXT(w, entry); next != NULL;
	    next = TAILQ_NEXT(next, entry))
		if (strcmp(next->did, w->did) == 0)
			break;
	TAILQ_REMOVE(&writes, w, entry);
	nwrites--;
	w->t_end = log_stamp();
	timing_log(w, status);
	write_release(w);
	if (next != NULL)
		write_start(next);
	w->done(w, status, name, msg);
}
