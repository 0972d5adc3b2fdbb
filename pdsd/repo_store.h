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
int	rstore_del_block(struct sqlite3 *, const char *, const struct cid *);
int	rstore_get_root(struct sqlite3 *, const char *, struct repo_root *);
int	rstore_set_root(struct sqlite3 *, const char *,
	    const struct repo_root *);
int	rstore_put_record(struct sqlite3 *, const char *, const char *,
	    const char *, const struct cid *, const char *);
int	rstore_del_record(struct sqlite3 *, const char *, const char *,
	    const char *);
int	rstore_get_record(struct sqlite3 *, const char *, const char *,
	    const char *, struct cid *);
int	rstore_cid_referenced(struct sqlite3 *, const char *,
	    const struct cid *);
int	rstore_foreach_block(struct sqlite3 *, const char *,
	    int (*)(void *, const struct cid *, const uint8_t *, size_t),
	    void *);
void	rstore_blockstore(struct rstore_bs *, struct blockstore *);

#endif
