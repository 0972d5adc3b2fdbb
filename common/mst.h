/*
 * The Merkle Search Tree of a repository (repository spec, format 3):
 * a sorted map from "collection/rkey" keys to record CIDs, stored as
 * DAG-CBOR nodes {"e": [{"k", "p", "t", "v"}...], "l"} in a block store.
 * A key's layer is the number of leading zero bit pairs of its SHA-256
 * (fanout 4); the tree is a pure function of its key set, so any order
 * of inserts and deletes gives the root CID a bulk build gives.
 *
 * Functions returning int give 0 on success and -1 on error unless
 * they say otherwise.
 */
#ifndef PDS_MST_H
#define PDS_MST_H

#include <stddef.h>
#include <stdint.h>

#include "blockstore.h"
#include "cid.h"
#include "dm.h"

#define MST_KEY_MAX		1024	/* bytes in one key */
#define MST_NODE_MAXENTRIES	8192	/* entries in one node */
#define MST_MAXDEPTH		130	/* nodes on a root-to-leaf path */

/* Leading zero 2-bit groups of sha256(key). */
int	mst_key_height(const char *, size_t);
/*
 * The reference's MST key rule: "collection/rkey", exactly one '/',
 * both parts non-empty and of A-Za-z0-9 . - _ : ~, the rkey not "." or
 * "..", at most MST_KEY_MAX bytes. 1 if valid, else 0.
 */
int	mst_key_valid(const char *, size_t);
/* Bytes two keys share at their start (plain byte compare). */
size_t	mst_common_prefix(const char *, size_t, const char *, size_t);
/* Tree order: bytewise, a prefix before its extensions. */
int	mst_keycmp(const char *, size_t, const char *, size_t);

/*
 * A decoded node. Within a transaction, subtrees are loaded on demand
 * and linked through mst_ref.node; a decoded node has them all NULL.
 */
struct mst_node;

struct mst_ref {
	struct cid	 cid;		/* len 0 and node NULL: no subtree */
	struct mst_node	*node;		/* loaded copy, or NULL */
};

struct mst_entry {
	char		*key;		/* full key, NUL-terminated */
	size_t		 klen;
	struct cid	 val;
	struct mst_ref	 t;		/* subtree right of this entry */
};

struct mst_node {
	int		 layer;		/* -1: no entries, from the parent */
	struct mst_ref	 l;		/* subtree left of every entry */
	struct mst_entry *e;
	size_t		 n, cap;
	int		 dirty;		/* changed since load or commit */
	struct cid	 cid;		/* when clean: this node's CID */
};

/*
 * Strict: exactly the encoder's output is accepted (maximal prefix
 * compression, keys valid and strictly increasing, one layer per node),
 * so an accepted node re-encodes to the same bytes.
 */
int	mst_node_decode(const uint8_t *, size_t, struct mst_node **,
	    const char **);
/* Every subtree must be clean (its CID known). Appends to the buffer. */
int	mst_node_encode(const struct mst_node *, struct dm_buf *);
/* Frees the node and every loaded subtree under it. */
void	mst_node_free(struct mst_node *);
/* The CID of the empty tree's root node {"e":[],"l":null}. */
void	mst_empty_root(struct cid *);

/*
 * Read-only access. root NULL means the empty tree. The walk is in key
 * order; the callback returns 0 to go on or non-zero to stop, and that
 * value is returned (-1 on a store or format error).
 */
int	mst_walk(const struct blockstore *, const struct cid *root,
	    int (*cb)(void *arg, const char *key, size_t klen,
	    const struct cid *val), void *arg);
/* 0 found (*val set), 1 not found, -1 error. */
int	mst_get(const struct blockstore *, const struct cid *root,
	    const char *key, size_t klen, struct cid *val);

/*
 * Record-level difference from old_root to new_root (either NULL for
 * the empty tree), in key order: old NULL for a create, new NULL for a
 * delete, both set for an update. Subtrees with equal CIDs are skipped,
 * so the work follows the size of the change, not of the trees.
 * The callback returns 0 to go on; a non-zero value stops and is
 * returned.
 */
int	mst_diff(const struct blockstore *, const struct cid *old_root,
	    const struct cid *new_root,
	    int (*cb)(void *arg, const char *key, size_t klen,
	    const struct cid *old, const struct cid *new), void *arg);

/*
 * Sync 1.1 covering proof of one key in a tree (the key present or
 * not): the nodes on the path to the key and to its nearest neighbours
 * on each side. The node blocks are added to out, a block set.
 */
int	mst_covering_proof(const struct blockstore *, const struct cid *root,
	    const char *key, size_t klen, struct memstore *out);

/*
 * Builds a tree bottom-up from keys in strictly increasing byte order,
 * putting every node into the store.
 */
int	mst_build_from_sorted(const struct blockstore *,
	    const char *const *keys, const struct cid *vals, size_t n,
	    struct cid *root);

/*
 * Incremental changes. A transaction loads and rewrites only the nodes
 * on the paths to the keys it changes, caching them until it is freed.
 * After an error the transaction refuses further work.
 */
struct mst_tx;

enum mst_block_kind {
	MST_BLOCK_NEW,		/* a node of the new tree, not in the old */
	MST_BLOCK_REMOVED,	/* a node of the old tree, not in the new */
};

/* data is NULL for a removed node. Return 0 to go on, -1 to fail. */
typedef int	(*mst_block_fn)(void *arg, enum mst_block_kind,
		    const struct cid *, const uint8_t *data, size_t len);

/* root NULL opens the empty tree. NULL if out of memory or unreadable. */
struct mst_tx	*mst_tx_open(const struct blockstore *, const struct cid *);
void		 mst_tx_free(struct mst_tx *);
/* Insert or replace. */
int		 mst_tx_put(struct mst_tx *, const char *, size_t,
		    const struct cid *);
/* 0 deleted, 1 not there, -1 error. */
int		 mst_tx_del(struct mst_tx *, const char *, size_t);
/* 0 found (*val set), 1 not found, -1 error; sees uncommitted changes. */
int		 mst_tx_get(struct mst_tx *, const char *, size_t,
		    struct cid *);
/*
 * Encodes the changed nodes, puts the new ones into the store and
 * reports the new root. cb (may be NULL) hears of every new node block
 * and every removed node CID. The transaction stays usable; its next
 * commit reports changes relative to this one.
 */
int		 mst_tx_commit(struct mst_tx *, struct cid *, mst_block_fn,
		    void *);
/*
 * After a commit: the sync 1.1 proof blocks of the changes committed,
 * added to out: every new node plus the covering proof, in the new
 * tree, of every key put or deleted since the previous commit.
 */
int		 mst_tx_proof(struct mst_tx *, struct memstore *);
/* Block store reads done by this transaction (for tests and stats). */
size_t		 mst_tx_loads(const struct mst_tx *);

#endif
