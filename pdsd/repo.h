/*
 * The one write path for repositories (repo.c): XRPC writes,
 * applyWrites, account creation and import all go through it.
 */
#ifndef PDSD_REPO_H
#define PDSD_REPO_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "cid.h"
#include "repo_store.h"
#include "syntax.h"

#define REPO_MAX_OPS	200	/* applyWrites, as the reference */

struct dm;
struct memstore;

enum repo_action {
	REPO_CREATE,
	REPO_UPDATE,		/* create if absent, as putRecord does */
	REPO_DELETE,
};

struct repo_op {
	enum repo_action	 action;
	char			 collection[NSID_MAX + 1];
	char			 rkey[RKEY_MAX + 1];
	struct dm		*record;	/* owned; create and update */
	int			 has_swap;	/* swapRecord given */
	int			 swap_null;	/* ... as null: must not exist */
	struct cid		 swap;
	/* results */
	struct cid		 cid;		/* the record written */
	int			 has_prev;
	struct cid		 prev;		/* the record replaced */
};

struct repo_write;
/*
 * status 0 on success; otherwise the HTTP status, the XRPC error name
 * and a message for the client.  The write is the caller's to free
 * (repo_write_free) after the callback.
 */
typedef void	(*repo_done_cb)(struct repo_write *, int, const char *,
		    const char *);

struct repo_write {
	TAILQ_ENTRY(repo_write)	 entry;
	char			 did[DID_MAX + 1];
	struct repo_op		*ops;
	size_t			 nops;
	int			 init;		/* a new, empty repository */
	int			 has_swap_commit;
	struct cid		 swap_commit;
	repo_done_cb		 done;
	void			*arg;
	/*
	 * Called inside the transaction that stores the commit, for rows
	 * that must land with it (a new account).  -1 fails the write with
	 * fail_status, fail_name and fail_msg, or a 500 if those are unset.
	 */
	int			(*in_tx)(struct repo_write *);
	int			 fail_status;
	const char		*fail_name;
	char			 fail_msg[256];

	/* results */
	int			 has_old;
	struct repo_root	 old_root;
	struct repo_root	 new_root;
	struct memstore		*blocks;	/* commit, new nodes, records */
	struct memstore		*proof;		/* sync 1.1 covering proofs */

	/* private */
	struct mst_tx		*tx;
	struct memstore		*overlay;
	struct repo_cid_list	*removed;	/* MST nodes let go of */
	struct repo_ref		*refs;		/* while it is stored */
	size_t			 nrefs;
	struct rstore_bs	 rb;
	struct blockstore	 base;
	struct blockstore	 layered;
	uint8_t			*unsigned_commit;
	size_t			 unsigned_len;
	int			 resigned;	/* asked again above the floor */
	/* stage times (us), taken and logged at -vv only */
	int64_t			 t_submit, t_start, t_asked, t_signed;
	int64_t			 t_begin, t_commit, t_end;
};

struct repo_write *repo_write_new(const char *, size_t);
void	repo_write_free(struct repo_write *);
/* Queues the write behind any other for the same repository. */
void	repo_write_submit(struct repo_write *);
size_t	repo_writes_pending(void);
size_t	repo_writes_pending_for(const char *);

/*
 * import.c: replaces the repository of an account (DID or handle) with
 * the CAR read from fd, a regular file.  IMPORT_OK, and once signerd
 * has moved its last signed rev up, done gets the summary (warnings on
 * further lines); otherwise nothing changed, done is never called, and
 * msg says why.
 */
enum import_status {
	IMPORT_OK,
	IMPORT_BAD,		/* the CAR, or the account named */
	IMPORT_BUSY,		/* writes to that repository in flight */
	IMPORT_ERROR,		/* ours */
};
typedef void	(*import_done_cb)(void *, const char *);
enum import_status import_repo(int, const char *, char *, size_t,
	    import_done_cb, void *);

/* events.c: the event log, written inside a change's transaction. */
struct sqlite3;
int	events_commit(struct sqlite3 *, struct repo_write *);
int	events_sync(struct sqlite3 *, const char *, const struct cid *,
	    const uint8_t *, size_t, const char *);
int	events_identity(struct sqlite3 *, const char *, const char *);
int	events_account(struct sqlite3 *, const char *, const char *);
int64_t	events_last_seq(struct sqlite3 *);
void	events_forget_seq(void);
/* After a commit: wake the firehose (a no-op until it is listening). */
void	events_notify(void);
void	events_set_notify(void (*)(void));

#endif
