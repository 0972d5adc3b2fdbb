/*
 * Merkle Search Tree: reads (get, ordered walk, diff, covering proofs),
 * a bottom-up builder, and transactions that change the tree in place
 * along the paths to the changed keys.
 *
 * A node's slots are numbered 0..n: slot 0 is its left subtree "l" and
 * slot i > 0 the subtree "t" of entry i-1, holding the keys between
 * entry i-1 and entry i.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blockstore.h"
#include "cid.h"
#include "dm.h"
#include "mst.h"

static struct mst_ref *
slotp(struct mst_node *n, size_t i)
{
	return i == 0 ? &n->l : &n->e[i - 1].t;
}

static int
ref_present(const struct mst_ref *r)
{
	return r->node != NULL || r->cid.len != 0;
}

/* Index of the first entry >= key; *eq tells if it is the key. */
static size_t
find_gte(const struct mst_node *n, const char *key, size_t klen, int *eq)
{
	size_t	lo = 0, hi = n->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (mst_keycmp(n->e[mid].key, n->e[mid].klen, key, klen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*eq = lo < n->n && mst_keycmp(n->e[lo].key, n->e[lo].klen, key,
	    klen) == 0;
	return lo;
}

/* Reads and decodes a node; keeps the block bytes if asked. */
static int
load_node(const struct blockstore *bs, const struct cid *c,
    struct mst_node **out, uint8_t **bytes, size_t *blen)
{
	const uint8_t	*v;
	uint8_t		*p;
	size_t		 len;

	/* The decoded node owns its keys: the bytes need not stay. */
	if (bytes == NULL && bs->view != NULL) {
		if (bs->view(bs->arg, c, &v, &len) != 0 ||
		    mst_node_decode(v, len, out, NULL) == -1)
			return -1;
		(*out)->cid = *c;
		return 0;
	}
	if (blockstore_get(bs, c, &p, &len) != 0)
		return -1;
	if (mst_node_decode(p, len, out, NULL) == -1) {
		free(p);
		return -1;
	}
	(*out)->cid = *c;
	if (bytes != NULL) {
		*bytes = p;
		*blen = len;
	} else
		free(p);
	return 0;
}

/*
 * A subtree must sit exactly one layer below its parent, and only the
 * root may be an empty node.
 */
static int
check_child(struct mst_node *n, int parent_layer)
{
	if (parent_layer <= 0)
		return -1;
	if (n->n == 0) {
		if (!ref_present(&n->l))
			return -1;
		n->layer = parent_layer - 1;
	}
	return n->layer == parent_layer - 1 ? 0 : -1;
}

/* The root's layer; an entry-less root must be the empty tree. */
static int
check_root(struct mst_node *n)
{
	if (n->n == 0) {
		if (ref_present(&n->l))
			return -1;
		n->layer = 0;
	}
	return 0;
}

static int
load_root(const struct blockstore *bs, const struct cid *root,
    struct mst_node **out, uint8_t **bytes, size_t *blen)
{
	if (load_node(bs, root, out, bytes, blen) == -1)
		return -1;
	if (check_root(*out) == -1) {
		mst_node_free(*out);
		if (bytes != NULL)
			free(*bytes);
		return -1;
	}
	return 0;
}

static int
load_child(const struct blockstore *bs, const struct mst_ref *r,
    int parent_layer, struct mst_node **out, uint8_t **bytes, size_t *blen)
{
	if (parent_layer <= 0)
		return -1;
	if (load_node(bs, &r->cid, out, bytes, blen) == -1)
		return -1;
	if (check_child(*out, parent_layer) == -1) {
		mst_node_free(*out);
		if (bytes != NULL)
			free(*bytes);
		return -1;
	}
	return 0;
}

/*
 * One way down from the root toward a key: to it (get), or along the
 * edge of its left or right neighbours (a covering proof, which also
 * collects each node's block).
 */
enum descent_mode {
	DESCEND_GET,
	DESCEND_LEFT,
	DESCEND_RIGHT,
};

/*
 * The nodes a batch of proofs decoded: the proofs of one commit's keys
 * go down the same root and mostly the same few nodes, two descents a
 * key, so each node is decoded once, not once a descent.  A node found
 * here is already in the proof.
 */
#define PROOF_MEMO	64

struct proof_memo {
	struct mst_node	*n[PROOF_MEMO];
	size_t		 count;
};

struct descent {
	enum descent_mode	 mode;
	const char		*key;
	size_t			 klen;
	struct cid		*val;	/* get: the value found */
	struct memstore		*out;	/* proofs: the nodes met */
	struct proof_memo	*memo;	/* proofs: may be NULL */
};

static struct mst_node *
memo_find(const struct proof_memo *m, const struct cid *c)
{
	size_t	i;

	if (m == NULL)
		return NULL;
	for (i = 0; i < m->count; i++)
		if (cid_equal(&m->n[i]->cid, c))
			return m->n[i];
	return NULL;
}

static void
memo_free(struct proof_memo *m)
{
	size_t	i;

	for (i = 0; i < m->count; i++)
		mst_node_free(m->n[i]);
	m->count = 0;
}

/*
 * The next node of a descent (the root when parent is NULL), checked,
 * its block added to the proof; *kept says the memo owns it.
 */
static int
descent_node(const struct blockstore *bs, struct descent *d,
    const struct cid *c, const struct mst_node *parent, struct mst_node **out,
    int *kept)
{
	struct mst_node	*n;
	uint8_t		*bytes = NULL, **bp = d->out ? &bytes : NULL;
	size_t		 blen = 0;
	int		 rc;

	*kept = 0;
	if ((n = memo_find(d->memo, c)) != NULL) {
		rc = parent == NULL ? check_root(n) :
		    check_child(n, parent->layer);
		if (rc == -1)
			return -1;
		*out = n;
		*kept = 1;
		return 0;
	}
	rc = parent == NULL ? load_root(bs, c, &n, bp, &blen) :
	    load_child(bs, &(struct mst_ref){ .cid = *c }, parent->layer, &n,
	    bp, &blen);
	if (rc == -1)
		return -1;
	if (d->out != NULL && memstore_put(d->out, &n->cid, bytes,
	    blen) == -1) {
		free(bytes);
		mst_node_free(n);
		return -1;
	}
	free(bytes);
	if (d->memo != NULL && d->memo->count < PROOF_MEMO) {
		d->memo->n[d->memo->count++] = n;
		*kept = 1;
	}
	*out = n;
	return 0;
}

/* 0 found (get) or done (proofs), 1 not found, -1 error. */
static int
descend(const struct blockstore *bs, const struct cid *root,
    struct descent *d)
{
	struct mst_node	*n, *next;
	struct mst_ref	*r;
	size_t		 i;
	int		 eq, depth, kept, nkept, rc = -1;

	if (descent_node(bs, d, root, NULL, &n, &kept) == -1)
		return -1;
	for (depth = 0; depth < MST_MAXDEPTH; depth++) {
		i = find_gte(n, d->key, d->klen, &eq);
		if (eq && d->mode == DESCEND_GET) {
			*d->val = n->e[i].val;
			rc = 0;
			break;
		}
		r = eq && d->mode == DESCEND_RIGHT ? &n->e[i].t : slotp(n, i);
		if (!ref_present(r)) {
			rc = d->mode == DESCEND_GET ? 1 : 0;
			break;
		}
		if (descent_node(bs, d, &r->cid, n, &next, &nkept) == -1)
			break;
		if (!kept)
			mst_node_free(n);
		n = next;
		kept = nkept;
	}
	if (!kept)
		mst_node_free(n);
	return rc;
}

int
mst_get(const struct blockstore *bs, const struct cid *root, const char *key,
    size_t klen, struct cid *val)
{
	struct descent	d = { DESCEND_GET, key, klen, val, NULL, NULL };

	if (root == NULL)
		return 1;
	return descend(bs, root, &d);
}

/*
 * A cursor over a tree in key order that yields leaves and subtrees;
 * the caller either steps over a subtree or enters it. Walks enter
 * every subtree, diffs step over those both sides share.
 */
enum item_kind {
	ITEM_END,
	ITEM_LEAF,
	ITEM_TREE,
};

struct item {
	enum item_kind		 kind;
	const struct mst_entry	*leaf;
	const struct cid	*cid;
	int			 layer;
};

struct frame {
	struct mst_node	*node;
	size_t		 pos;	/* even: slot pos/2, odd: entry pos/2 */
};

struct cursor {
	const struct blockstore	*bs;
	struct frame		 st[MST_MAXDEPTH];
	int			 depth;
	int			 rootpending;
	struct cid		 root;
};

static void
cursor_init(struct cursor *c, const struct blockstore *bs,
    const struct cid *root)
{
	memset(c, 0, sizeof(*c));
	c->bs = bs;
	if (root != NULL) {
		c->root = *root;
		c->rootpending = 1;
	}
}

static void
cursor_clear(struct cursor *c)
{
	while (c->depth > 0)
		mst_node_free(c->st[--c->depth].node);
}

static void
cursor_peek(struct cursor *c, struct item *it)
{
	struct frame	*f;
	struct mst_ref	*r;

	memset(it, 0, sizeof(*it));
	if (c->rootpending) {
		it->kind = ITEM_TREE;
		it->cid = &c->root;
		it->layer = 1 << 20;
		return;
	}
	while (c->depth > 0) {
		f = &c->st[c->depth - 1];
		if (f->pos > 2 * f->node->n) {
			mst_node_free(f->node);
			c->depth--;
			continue;
		}
		if (f->pos % 2 == 1) {
			it->kind = ITEM_LEAF;
			it->leaf = &f->node->e[f->pos / 2];
			return;
		}
		r = slotp(f->node, f->pos / 2);
		if (ref_present(r)) {
			it->kind = ITEM_TREE;
			it->cid = &r->cid;
			it->layer = f->node->layer - 1;
			return;
		}
		f->pos++;
	}
	it->kind = ITEM_END;
}

static void
cursor_skip(struct cursor *c)
{
	if (c->rootpending)
		c->rootpending = 0;
	else if (c->depth > 0)
		c->st[c->depth - 1].pos++;
}

/* Enters the subtree cursor_peek() returned. */
static int
cursor_enter(struct cursor *c)
{
	struct frame	*f;
	struct mst_node	*n;

	if (c->depth >= MST_MAXDEPTH)
		return -1;
	if (c->rootpending) {
		if (load_root(c->bs, &c->root, &n, NULL, NULL) == -1)
			return -1;
		c->rootpending = 0;
	} else {
		f = &c->st[c->depth - 1];
		if (load_child(c->bs, slotp(f->node, f->pos / 2),
		    f->node->layer, &n, NULL, NULL) == -1)
			return -1;
		f->pos++;
	}
	c->st[c->depth].node = n;
	c->st[c->depth].pos = 0;
	c->depth++;
	return 0;
}

int
mst_walk(const struct blockstore *bs, const struct cid *root,
    int (*cb)(void *, const char *, size_t, const struct cid *), void *arg)
{
	struct cursor	*c;
	struct item	 it;
	char		*last;
	size_t		 lastlen = 0;
	int		 rc = 0, first = 1;

	if (root == NULL)
		return 0;
	if ((c = malloc(sizeof(*c))) == NULL)
		return -1;
	if ((last = malloc(MST_KEY_MAX)) == NULL) {
		free(c);
		return -1;
	}
	cursor_init(c, bs, root);
	for (;;) {
		cursor_peek(c, &it);
		if (it.kind == ITEM_END)
			break;
		if (it.kind == ITEM_TREE) {
			if ((rc = cursor_enter(c)) == -1)
				break;
			continue;
		}
		/* Each node is sorted; this catches subtrees out of place. */
		if (!first && mst_keycmp(last, lastlen, it.leaf->key,
		    it.leaf->klen) >= 0) {
			rc = -1;
			break;
		}
		first = 0;
		memcpy(last, it.leaf->key, it.leaf->klen);
		lastlen = it.leaf->klen;
		if ((rc = cb(arg, it.leaf->key, it.leaf->klen,
		    &it.leaf->val)) != 0)
			break;
		cursor_skip(c);
	}
	cursor_clear(c);
	free(c);
	free(last);
	return rc;
}

struct diff {
	struct cursor	 a, b;
	int		 (*cb)(void *, const char *, size_t,
			    const struct cid *, const struct cid *);
	void		*arg;
};

/* One step of the merge of the two key streams. 1 when both ended. */
static int
diff_step(struct diff *d)
{
	struct item	ia, ib;
	int		c, rc;

	cursor_peek(&d->a, &ia);
	cursor_peek(&d->b, &ib);
	if (ia.kind == ITEM_END && ib.kind == ITEM_END)
		return 1;
	if (ia.kind == ITEM_TREE && ib.kind == ITEM_TREE) {
		if (cid_equal(ia.cid, ib.cid)) {
			cursor_skip(&d->a);
			cursor_skip(&d->b);
			return 0;
		}
		if (ia.layer >= ib.layer && cursor_enter(&d->a) == -1)
			return -1;
		if (ib.layer >= ia.layer && cursor_enter(&d->b) == -1)
			return -1;
		return 0;
	}
	if (ia.kind == ITEM_TREE)
		return cursor_enter(&d->a);
	if (ib.kind == ITEM_TREE)
		return cursor_enter(&d->b);
	if (ia.kind == ITEM_END)
		c = 1;
	else if (ib.kind == ITEM_END)
		c = -1;
	else
		c = mst_keycmp(ia.leaf->key, ia.leaf->klen, ib.leaf->key,
		    ib.leaf->klen);
	rc = 0;
	if (c < 0) {
		rc = d->cb(d->arg, ia.leaf->key, ia.leaf->klen, &ia.leaf->val,
		    NULL);
		cursor_skip(&d->a);
	} else if (c > 0) {
		rc = d->cb(d->arg, ib.leaf->key, ib.leaf->klen, NULL,
		    &ib.leaf->val);
		cursor_skip(&d->b);
	} else {
		if (!cid_equal(&ia.leaf->val, &ib.leaf->val))
			rc = d->cb(d->arg, ia.leaf->key, ia.leaf->klen,
			    &ia.leaf->val, &ib.leaf->val);
		cursor_skip(&d->a);
		cursor_skip(&d->b);
	}
	return rc;
}

int
mst_diff(const struct blockstore *bs, const struct cid *old_root,
    const struct cid *new_root,
    int (*cb)(void *, const char *, size_t, const struct cid *,
    const struct cid *), void *arg)
{
	struct diff	*d;
	int		 rc;

	if ((d = malloc(sizeof(*d))) == NULL)
		return -1;
	cursor_init(&d->a, bs, old_root);
	cursor_init(&d->b, bs, new_root);
	d->cb = cb;
	d->arg = arg;
	while ((rc = diff_step(d)) == 0)
		;
	if (rc == 1)
		rc = 0;
	cursor_clear(&d->a);
	cursor_clear(&d->b);
	free(d);
	return rc;
}

/*
 * Going left follows the subtree just before the key's position. Going
 * right follows the subtree just after the key if it is present, else
 * the one just before its position, which holds its right neighbour if
 * any key there is greater.
 */
static int
covering_proof(const struct blockstore *bs, const struct cid *root,
    const char *key, size_t klen, struct memstore *out,
    struct proof_memo *memo)
{
	struct descent	d = { DESCEND_LEFT, key, klen, NULL, out, memo };

	if (descend(bs, root, &d) == -1)
		return -1;
	d.mode = DESCEND_RIGHT;
	return descend(bs, root, &d);
}

int
mst_covering_proof(const struct blockstore *bs, const struct cid *root,
    const char *key, size_t klen, struct memstore *out)
{
	struct proof_memo	memo = { .count = 0 };
	int			rc;

	rc = covering_proof(bs, root, key, klen, out, &memo);
	memo_free(&memo);
	return rc;
}

/* Bulk build. */
struct build {
	const struct blockstore	*bs;
	const char *const	*keys;
	const struct cid	*vals;
	int			*height;
	struct dm_buf		 buf;
};

static int
node_push(struct mst_node *n, const char *key, size_t klen,
    const struct cid *val)
{
	struct mst_entry	*e;
	size_t			 ncap;

	if (n->n == n->cap) {
		ncap = n->cap ? n->cap * 2 : 4;
		if ((e = reallocarray(n->e, ncap, sizeof(*e))) == NULL)
			return -1;
		n->e = e;
		n->cap = ncap;
	}
	e = &n->e[n->n];
	memset(e, 0, sizeof(*e));
	if ((e->key = malloc(klen + 1)) == NULL)
		return -1;
	memcpy(e->key, key, klen);
	e->key[klen] = '\0';
	e->klen = klen;
	e->val = *val;
	n->n++;
	return 0;
}

/* Encodes a node whose subtrees are all clean and gives its CID. */
static int
node_block(struct dm_buf *b, struct mst_node *n)
{
	b->len = 0;
	if (mst_node_encode(n, b) == -1)
		return -1;
	cid_of_bytes(&n->cid, CID_CODEC_DAGCBOR, b->p, b->len);
	return 0;
}

static int	build_range(struct build *, size_t, size_t, int, struct cid *);

static int
build_fill(struct build *bd, struct mst_node *n, size_t lo, size_t hi)
{
	size_t	j, run = lo;

	for (j = lo; j <= hi; j++) {
		if (j < hi && bd->height[j] != n->layer)
			continue;
		if (run < j && build_range(bd, run, j, n->layer - 1,
		    &slotp(n, n->n)->cid) == -1)
			return -1;
		if (j < hi && node_push(n, bd->keys[j], strlen(bd->keys[j]),
		    &bd->vals[j]) == -1)
			return -1;
		run = j + 1;
	}
	return 0;
}

static int
build_range(struct build *bd, size_t lo, size_t hi, int layer,
    struct cid *out)
{
	struct mst_node	*n;
	int		 rc = -1;

	if (layer < 0 || (n = calloc(1, sizeof(*n))) == NULL)
		return -1;
	n->layer = layer;
	if (build_fill(bd, n, lo, hi) == 0 && node_block(&bd->buf, n) == 0 &&
	    blockstore_put(bd->bs, &n->cid, bd->buf.p, bd->buf.len) == 0) {
		*out = n->cid;
		rc = 0;
	}
	mst_node_free(n);
	return rc;
}

int
mst_build_from_sorted(const struct blockstore *bs, const char *const *keys,
    const struct cid *vals, size_t n, struct cid *root)
{
	struct build	bd;
	size_t		i;
	int		top = 0, rc;

	memset(&bd, 0, sizeof(bd));
	bd.bs = bs;
	bd.keys = keys;
	bd.vals = vals;
	if ((bd.height = calloc(n ? n : 1, sizeof(int))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (i > 0 && mst_keycmp(keys[i - 1], strlen(keys[i - 1]),
		    keys[i], strlen(keys[i])) >= 0) {
			free(bd.height);
			return -1;
		}
		bd.height[i] = mst_key_height(keys[i], strlen(keys[i]));
		if (bd.height[i] > top)
			top = bd.height[i];
	}
	rc = build_range(&bd, 0, n, top, root);
	free(bd.height);
	dm_buf_free(&bd.buf);
	return rc;
}

/*
 * Transactions. Loaded nodes are linked from their parents' refs and
 * changed in place; a changed node is dirty, and so is every node above
 * it. The CIDs of old nodes changed or dropped are kept in "touched" so
 * a commit can tell new nodes and removed ones apart.
 */
struct keylist {
	char	**k;
	size_t	 *len;
	size_t	  n, cap;
};

struct mst_tx {
	const struct blockstore	*bs;
	struct mst_node		*root;
	struct memstore		*touched;	/* CID set */
	struct memstore		*fresh;		/* new nodes of last commit */
	struct keylist		 pending;	/* keys changed since commit */
	struct keylist		 committed;	/* keys of the last commit */
	struct cid		 rootcid;	/* of the last commit */
	int			 have_commit;
	int			 failed;
	size_t			 loads;
	struct dm_buf		 buf;
};

static void
keylist_clear(struct keylist *kl)
{
	size_t	i;

	for (i = 0; i < kl->n; i++)
		free(kl->k[i]);
	free(kl->k);
	free(kl->len);
	memset(kl, 0, sizeof(*kl));
}

static int
keylist_add(struct keylist *kl, const char *key, size_t klen)
{
	char	**nk;
	size_t	 *nl, ncap;

	if (kl->n == kl->cap) {
		ncap = kl->cap ? kl->cap * 2 : 8;
		if ((nk = reallocarray(kl->k, ncap, sizeof(*nk))) == NULL)
			return -1;
		kl->k = nk;
		if ((nl = reallocarray(kl->len, ncap, sizeof(*nl))) == NULL)
			return -1;
		kl->len = nl;
		kl->cap = ncap;
	}
	if ((kl->k[kl->n] = malloc(klen + 1)) == NULL)
		return -1;
	memcpy(kl->k[kl->n], key, klen);
	kl->k[kl->n][klen] = '\0';
	kl->len[kl->n++] = klen;
	return 0;
}

static struct mst_node *
node_new(int layer)
{
	struct mst_node	*n;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	n->layer = layer;
	n->dirty = 1;
	return n;
}

static int
tx_touch(struct mst_tx *tx, struct mst_node *n)
{
	if (n->dirty)
		return 0;
	if (n->cid.len != 0 &&
	    memstore_put(tx->touched, &n->cid, NULL, 0) == -1)
		return -1;
	n->dirty = 1;
	return 0;
}

/* Frees a node left with no entries and no subtree. */
static int
tx_drop(struct mst_tx *tx, struct mst_node *n)
{
	int	rc;

	rc = tx_touch(tx, n);
	mst_node_free(n);
	return rc;
}

static struct mst_node *
tx_child(struct mst_tx *tx, struct mst_ref *r, int parent_layer)
{
	if (r->node != NULL)
		return r->node;
	tx->loads++;
	if (load_child(tx->bs, r, parent_layer, &r->node, NULL, NULL) == -1) {
		r->node = NULL;
		return NULL;
	}
	return r->node;
}

struct mst_tx *
mst_tx_open(const struct blockstore *bs, const struct cid *root)
{
	struct mst_tx	*tx;

	if ((tx = calloc(1, sizeof(*tx))) == NULL)
		return NULL;
	tx->bs = bs;
	if ((tx->touched = memstore_new()) == NULL)
		goto fail;
	if (root == NULL)
		tx->root = node_new(0);
	else {
		tx->loads++;
		if (load_root(bs, root, &tx->root, NULL, NULL) == -1)
			tx->root = NULL;
	}
	if (tx->root == NULL)
		goto fail;
	return tx;
 fail:
	mst_tx_free(tx);
	return NULL;
}

void
mst_tx_free(struct mst_tx *tx)
{
	if (tx == NULL)
		return;
	mst_node_free(tx->root);
	memstore_free(tx->touched);
	memstore_free(tx->fresh);
	keylist_clear(&tx->pending);
	keylist_clear(&tx->committed);
	dm_buf_free(&tx->buf);
	free(tx);
}

size_t
mst_tx_loads(const struct mst_tx *tx)
{
	return tx->loads;
}

int
mst_tx_get(struct mst_tx *tx, const char *key, size_t klen, struct cid *val)
{
	struct mst_node	*n = tx->root;
	size_t		 i;
	int		 eq;

	if (tx->failed)
		return -1;
	for (;;) {
		i = find_gte(n, key, klen, &eq);
		if (eq) {
			*val = n->e[i].val;
			return 0;
		}
		if (!ref_present(slotp(n, i)))
			return 1;
		if ((n = tx_child(tx, slotp(n, i), n->layer)) == NULL)
			return -1;
	}
}

/*
 * Cuts the subtree in r around key (not in it) into the trees of the
 * smaller and of the greater keys, either possibly empty.
 */
static int
tx_split(struct mst_tx *tx, struct mst_ref *r, int layer, const char *key,
    size_t klen, struct mst_ref *lo, struct mst_ref *hi)
{
	struct mst_node	*n, *right;
	struct mst_ref	 sl, sr;
	size_t		 i, j;
	int		 eq;

	memset(lo, 0, sizeof(*lo));
	memset(hi, 0, sizeof(*hi));
	if (!ref_present(r))
		return 0;
	if ((n = tx_child(tx, r, layer + 1)) == NULL)
		return -1;
	i = find_gte(n, key, klen, &eq);
	if (tx_split(tx, slotp(n, i), layer - 1, key, klen, &sl, &sr) == -1 ||
	    tx_touch(tx, n) == -1 || (right = node_new(layer)) == NULL)
		return -1;
	if (n->n > i && (right->e = calloc(n->n - i, sizeof(*right->e))) ==
	    NULL) {
		free(right);
		return -1;
	}
	right->cap = n->n - i;
	for (j = i; j < n->n; j++)
		right->e[right->n++] = n->e[j];
	right->l = sr;
	n->n = i;
	*slotp(n, i) = sl;
	if (n->n > 0 || ref_present(&n->l))
		lo->node = n;
	else if (tx_drop(tx, n) == -1)
		return -1;
	if (right->n > 0 || ref_present(&right->l))
		hi->node = right;
	else
		mst_node_free(right);
	return 0;
}

static int
entry_insert(struct mst_node *n, size_t i, const char *key, size_t klen,
    const struct cid *val, const struct mst_ref *t)
{
	struct mst_entry	 e;

	if (node_push(n, key, klen, val) == -1)
		return -1;
	e = n->e[n->n - 1];
	memmove(&n->e[i + 1], &n->e[i], (n->n - 1 - i) * sizeof(e));
	e.t = *t;
	n->e[i] = e;
	return 0;
}

static int
tx_insert(struct mst_tx *tx, struct mst_node *n, const char *key,
    size_t klen, int h, const struct cid *val)
{
	struct mst_node	*c;
	struct mst_ref	*r, lo, hi;
	size_t		 i;
	int		 eq;

	i = find_gte(n, key, klen, &eq);
	if (eq) {
		if (cid_equal(&n->e[i].val, val))
			return 0;
		if (tx_touch(tx, n) == -1)
			return -1;
		n->e[i].val = *val;
		return 0;
	}
	r = slotp(n, i);
	if (n->layer == h) {
		if (tx_split(tx, r, h - 1, key, klen, &lo, &hi) == -1 ||
		    tx_touch(tx, n) == -1)
			return -1;
		*slotp(n, i) = lo;
		return entry_insert(n, i, key, klen, val, &hi);
	}
	if (!ref_present(r)) {
		if ((r->node = node_new(n->layer - 1)) == NULL)
			return -1;
		c = r->node;
	} else if ((c = tx_child(tx, r, n->layer)) == NULL)
		return -1;
	if (tx_insert(tx, c, key, klen, h, val) == -1)
		return -1;
	return c->dirty ? tx_touch(tx, n) : 0;
}

/* A key above the root: the old tree splits under a new root. */
static int
tx_raise(struct mst_tx *tx, const char *key, size_t klen, int h,
    const struct cid *val)
{
	struct mst_node	*root, *up;
	struct mst_ref	 top, lo, hi, *side;
	int		 layer, s;

	memset(&top, 0, sizeof(top));
	top.node = tx->root;
	layer = tx->root->layer;
	tx->root = NULL;
	if (tx_split(tx, &top, layer, key, klen, &lo, &hi) == -1)
		return -1;
	for (; layer < h - 1; layer++) {
		for (s = 0; s < 2; s++) {
			side = s == 0 ? &lo : &hi;
			if (!ref_present(side))
				continue;
			if ((up = node_new(layer + 1)) == NULL)
				return -1;
			up->l = *side;
			side->node = up;
		}
	}
	if ((root = node_new(h)) == NULL)
		return -1;
	root->l = lo;
	tx->root = root;
	return entry_insert(root, 0, key, klen, val, &hi);
}

int
mst_tx_put(struct mst_tx *tx, const char *key, size_t klen,
    const struct cid *val)
{
	int	h, rc;

	if (tx->failed || !mst_key_valid(key, klen))
		return -1;
	if (keylist_add(&tx->pending, key, klen) == -1) {
		tx->failed = 1;
		return -1;
	}
	h = mst_key_height(key, klen);
	if (h > tx->root->layer)
		rc = tx_raise(tx, key, klen, h, val);
	else
		rc = tx_insert(tx, tx->root, key, klen, h, val);
	if (rc == -1)
		tx->failed = 1;
	return rc;
}

/* Joins two neighbouring subtrees of one layer into one. */
static int
tx_merge(struct mst_tx *tx, struct mst_ref *a, struct mst_ref *b, int layer,
    struct mst_ref *out)
{
	struct mst_node		*na, *nb;
	struct mst_ref		 m;
	struct mst_entry	*e;
	size_t			 need;

	if (!ref_present(a) || !ref_present(b)) {
		*out = ref_present(a) ? *a : *b;
		return 0;
	}
	if ((na = tx_child(tx, a, layer + 1)) == NULL ||
	    (nb = tx_child(tx, b, layer + 1)) == NULL)
		return -1;
	if (tx_merge(tx, slotp(na, na->n), &nb->l, layer - 1, &m) == -1 ||
	    tx_touch(tx, na) == -1)
		return -1;
	*slotp(na, na->n) = m;
	memset(&nb->l, 0, sizeof(nb->l));
	need = na->n + nb->n;
	if (need > na->cap) {
		if ((e = reallocarray(na->e, need, sizeof(*e))) == NULL)
			return -1;
		na->e = e;
		na->cap = need;
	}
	if (nb->n > 0)
		memcpy(&na->e[na->n], nb->e, nb->n * sizeof(*e));
	na->n = need;
	nb->n = 0;
	b->node = NULL;
	*out = *a;
	return tx_drop(tx, nb);
}

static int
tx_delete(struct mst_tx *tx, struct mst_node *n, const char *key,
    size_t klen, int h)
{
	struct mst_node	*c;
	struct mst_ref	*r, m;
	size_t		 i;
	int		 eq, rc;

	i = find_gte(n, key, klen, &eq);
	if (eq) {
		if (tx_merge(tx, slotp(n, i), &n->e[i].t, n->layer - 1,
		    &m) == -1 || tx_touch(tx, n) == -1)
			return -1;
		free(n->e[i].key);
		memmove(&n->e[i], &n->e[i + 1], (n->n - i - 1) *
		    sizeof(n->e[0]));
		n->n--;
		*slotp(n, i) = m;
		return 0;
	}
	r = slotp(n, i);
	if (n->layer <= h || !ref_present(r))
		return 1;
	if ((c = tx_child(tx, r, n->layer)) == NULL)
		return -1;
	if ((rc = tx_delete(tx, c, key, klen, h)) != 0)
		return rc;
	if (tx_touch(tx, n) == -1)
		return -1;
	if (c->n == 0 && !ref_present(&c->l)) {
		memset(r, 0, sizeof(*r));
		return tx_drop(tx, c);
	}
	return 0;
}

/* A root of no entries over one subtree gives way to the subtree. */
static int
tx_trim(struct mst_tx *tx)
{
	struct mst_node	*root = tx->root, *c;

	while (root->n == 0 && ref_present(&root->l)) {
		if ((c = tx_child(tx, &root->l, root->layer)) == NULL)
			return -1;
		memset(&root->l, 0, sizeof(root->l));
		tx->root = c;
		if (tx_drop(tx, root) == -1)
			return -1;
		root = c;
	}
	if (root->n == 0 && root->layer != 0) {
		root->layer = 0;
		return tx_touch(tx, root);
	}
	return 0;
}

int
mst_tx_del(struct mst_tx *tx, const char *key, size_t klen)
{
	int	rc;

	if (tx->failed)
		return -1;
	if (klen > MST_KEY_MAX)
		return 1;
	if (keylist_add(&tx->pending, key, klen) == -1) {
		tx->failed = 1;
		return -1;
	}
	rc = tx_delete(tx, tx->root, key, klen, mst_key_height(key, klen));
	if (rc == 0)
		rc = tx_trim(tx);
	if (rc == -1)
		tx->failed = 1;
	return rc;
}

struct commit_ctx {
	struct mst_tx	*tx;
	struct memstore	*written;	/* CID set of the new tree's nodes */
	mst_block_fn	 cb;
	void		*arg;
};

static int
commit_node(struct commit_ctx *cc, struct mst_node *n)
{
	struct mst_tx	*tx = cc->tx;
	size_t		 i;

	if (!n->dirty)
		return 0;
	for (i = 0; i <= n->n; i++)
		if (slotp(n, i)->node != NULL &&
		    commit_node(cc, slotp(n, i)->node) == -1)
			return -1;
	if (node_block(&tx->buf, n) == -1)
		return -1;
	n->dirty = 0;
	if (memstore_put(cc->written, &n->cid, NULL, 0) == -1)
		return -1;
	if (memstore_has(tx->touched, &n->cid))
		return 0;
	if (blockstore_put(tx->bs, &n->cid, tx->buf.p, tx->buf.len) == -1 ||
	    memstore_put(tx->fresh, &n->cid, tx->buf.p, tx->buf.len) == -1)
		return -1;
	if (cc->cb != NULL && cc->cb(cc->arg, MST_BLOCK_NEW, &n->cid,
	    tx->buf.p, tx->buf.len) == -1)
		return -1;
	return 0;
}

static int
commit_removed(void *arg, const struct cid *c, const uint8_t *p, size_t len)
{
	struct commit_ctx	*cc = arg;

	if (memstore_has(cc->written, c) || cc->cb == NULL)
		return 0;
	return cc->cb(cc->arg, MST_BLOCK_REMOVED, c, NULL, 0) == -1 ? -1 : 0;
}

int
mst_tx_commit(struct mst_tx *tx, struct cid *root, mst_block_fn cb,
    void *arg)
{
	struct commit_ctx	cc;
	int			rc = -1;

	if (tx->failed)
		return -1;
	memset(&cc, 0, sizeof(cc));
	cc.tx = tx;
	cc.cb = cb;
	cc.arg = arg;
	memstore_free(tx->fresh);
	if ((tx->fresh = memstore_new()) == NULL ||
	    (cc.written = memstore_new()) == NULL)
		goto done;
	if (commit_node(&cc, tx->root) == -1 ||
	    memstore_foreach(tx->touched, commit_removed, &cc) != 0)
		goto done;
	memstore_free(tx->touched);
	if ((tx->touched = memstore_new()) == NULL)
		goto done;
	keylist_clear(&tx->committed);
	tx->committed = tx->pending;
	memset(&tx->pending, 0, sizeof(tx->pending));
	tx->rootcid = tx->root->cid;
	tx->have_commit = 1;
	*root = tx->rootcid;
	rc = 0;
 done:
	memstore_free(cc.written);
	if (rc == -1)
		tx->failed = 1;
	return rc;
}

static int
copy_block(void *arg, const struct cid *c, const uint8_t *p, size_t len)
{
	return memstore_put(arg, c, p, len);
}

int
mst_tx_proof(struct mst_tx *tx, struct memstore *out)
{
	struct proof_memo	memo = { .count = 0 };
	size_t			i;

	if (tx->failed || !tx->have_commit)
		return -1;
	if (memstore_foreach(tx->fresh, copy_block, out) != 0)
		return -1;
	for (i = 0; i < tx->committed.n; i++)
		if (covering_proof(tx->bs, &tx->rootcid, tx->committed.k[i],
		    tx->committed.len[i], out, &memo) == -1) {
			memo_free(&memo);
			return -1;
		}
	memo_free(&memo);
	return 0;
}
