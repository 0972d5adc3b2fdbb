/*
 * Repositories in SQLite (repo_store.c).
 */
#ifndef PDSD_REPO_STORE_H
#define PDSD_REPO_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "blockstore.h"
#include "cid.h"

struct sqlite3;

struct repo_root {
	struct cid	 commit;
	struct cid	 data;
	char		 rev[16];	/* a TID, 13 characters */
};

struct rstore_bs {
	struct sqlite3	*db;
	const char	*did;
	const char	*rev;		/* stamped on blocks put */
};

int	rstore_get_block(struct sqlite3 *, const char *, const struct cid *,
	    uint8_t **, size_t *);
int	rstore_put_block(struct sqlite3 *, const char *, const char *,
	    const struct cid *, const uint8_t *, size_t);
int	rstore_ref_block(struct sqlite3 *, const char *, const char *,
	    const struct cid *, const uint8_t *, size_t, int);
int	rstore_unref_block(struct sqlite3 *, const char *, const struct cid *,
	    int);
int	rstore_get_root(struct sqlite3 *, const char *, struct repo_root *);
int	rstore_set_root(struct sqlite3 *, const char *,
	    const struct repo_root *);
int	rstore_put_record(struct sqlite3 *, const char *, const char *,
	    const char *, const struct cid *, const char *);
int	rstore_load_record(struct sqlite3 *, const char *, const char *,
	    const char *, const char *, const char *, const char *);
int	rstore_del_record(struct sqlite3 *, const char *, const char *,
	    const char *);
int	rstore_get_record(struct sqlite3 *, const char *, const char *,
	    const char *, struct cid *);
int	rstore_foreach_block(struct sqlite3 *, const char *,
	    int (*)(void *, const struct cid *, const uint8_t *, size_t),
	    void *);
void	rstore_blockstore(struct rstore_bs *, struct blockstore *);
/* Everything of one repository: blocks, record rows and its root. */
int	rstore_delete_repo(struct sqlite3 *, const char *);

/*
 * Listings.  Callbacks return 0 to go on; a non-zero value stops the
 * walk and is returned.  -1 on a database error.  A record comes with
 * its key, its CID in the text form it is stored in, and its block.
 */
typedef int	(*rstore_record_fn)(void *, const char *, const char *,
		    const uint8_t *, size_t);
typedef int	(*rstore_repo_fn)(void *, const char *, const char *,
		    const struct repo_root *);
/*
 * At most limit records of a collection with their blocks, by record
 * key: descending, or ascending if reverse; only keys after the cursor
 * (NULL: from the start) in that order.
 */
int	rstore_list_records(struct sqlite3 *, const char *, const char *,
	    const char *, int, int, rstore_record_fn, void *);
/* The collections the repository has records in, in order. */
int	rstore_collections(struct sqlite3 *, const char *,
	    int (*)(void *, const char *), void *);
/* At most limit hosted repositories after the cursor DID (or NULL). */
int	rstore_list_repos(struct sqlite3 *, const char *, int,
	    rstore_repo_fn, void *);

/*
 * An export: one repository's blocks read in steps from a snapshot
 * that later writes do not disturb (a read transaction on a connection
 * of its own).  since (NULL: all) keeps only blocks of later revs.
 * open: 0 with the export and the root it belongs to, 1 no such
 * repository, -1 error.  next: at least one block and about max bytes
 * of them to cb; 1 if more remain, 0 at the end, -1 on error or when
 * cb fails.
 */
struct rstore_export;
int	rstore_export_open(const char *, const char *, const char *,
	    struct repo_root *, struct rstore_export **);
int	rstore_export_next(struct rstore_export *, size_t,
	    int (*)(void *, const struct cid *, const uint8_t *, size_t),
	    void *);
void	rstore_export_close(struct rstore_export *);

#endif
