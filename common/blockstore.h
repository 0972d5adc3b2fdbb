/*
 * Block stores: where MST nodes, commits and records live, addressed by
 * CID. The MST and commit code see only the vtable; SQLite implements it
 * in the daemon, and memstore (a hash table) in tests, tools and as a
 * CID-keyed set of blocks (proof and diff output).
 */
#ifndef PDS_BLOCKSTORE_H
#define PDS_BLOCKSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "cid.h"

struct blockstore {
	/*
	 * 0 found (*data malloc'd, caller frees), 1 not found, -1 error.
	 * NULL in a store with a view: blockstore_get copies the view.
	 */
	int	(*get)(void *arg, const struct cid *, uint8_t **data,
		    size_t *len);
	/* store bytes under cid (already computed by the caller); 0 or -1 */
	int	(*put)(void *arg, const struct cid *, const uint8_t *data,
		    size_t len);
	/*
	 * Optional (NULL: get is used): like get, but *data is the
	 * store's own bytes, not to be freed, good until the next call on
	 * the store.  A store that holds its blocks in memory or maps them
	 * (memstore, an import's CAR) saves a copy per block read.
	 */
	int	(*view)(void *arg, const struct cid *, const uint8_t **data,
		    size_t *len);
	void	*arg;
};

int	blockstore_get(const struct blockstore *, const struct cid *,
	    uint8_t **, size_t *);
int	blockstore_put(const struct blockstore *, const struct cid *,
	    const uint8_t *, size_t);

/*
 * In memory: blocks are copied in, kept in insertion order, and a put of
 * a CID already present is a no-op (so it doubles as a block set).
 */
struct memstore;

struct memstore	*memstore_new(void);
void		 memstore_free(struct memstore *);
void		 memstore_blockstore(struct memstore *, struct blockstore *);
int		 memstore_put(struct memstore *, const struct cid *,
		    const uint8_t *, size_t);
/* Like the vtable get but without a copy: 0 found, 1 not found. */
int		 memstore_peek(const struct memstore *, const struct cid *,
		    const uint8_t **, size_t *);
int		 memstore_has(const struct memstore *, const struct cid *);
size_t		 memstore_count(const struct memstore *);
/* Total bytes of block data held. */
size_t		 memstore_bytes(const struct memstore *);
/*
 * Calls back for every block in insertion order; a non-zero return stops
 * the walk and is returned.
 */
int		 memstore_foreach(struct memstore *,
		    int (*)(void *, const struct cid *, const uint8_t *, size_t),
		    void *);

#endif
