/*
 * pdsctl: the administration tool.
 */
#ifndef PDSCTL_H
#define PDSCTL_H

#include <stddef.h>
#include <stdint.h>

#include "car.h"
#include "cid.h"
#include "commit.h"

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif

struct cmd {
	const char	*name;
	const char	*args;		/* for usage */
	int		 minargs;
	int		 maxargs;
	int		 online;	/* needs the daemon */
	int		(*fn)(int, char **);
};

/* pdsctl.c */
int	ctl_connect(void);
void	ctl_send(int, const void *, size_t);
void	ctl_send_fd(int, int, const void *, size_t);
int	ctl_wait_ok(void);
struct imsg;
int	ctl_next(struct imsg *);

/*
 * car_load.c: a CAR file read whole.  The caller sets cmd, path, fd = -1
 * and, to keep every block, store and maxstore (past which the store is
 * dropped, or with need_all the command fails).
 */
struct memstore;
struct car_load {
	const char	*cmd;		/* names the command in messages */
	const char	*path;
	int		 fd;
	struct memstore	*store;		/* NULL: keep only the root block */
	size_t		 maxstore;
	int		 need_all;
	uint64_t	 pos;		/* start of the next section */
	uint64_t	 size;		/* bytes read */
	uint64_t	 nblocks;
	uint64_t	 bytes;		/* block data, without CIDs */
	struct cid	 roots[CAR_MAXROOTS];
	size_t		 nroots;
	int		 have_header;
	uint8_t		*root;		/* the block of roots[0] */
	size_t		 rootlen;
};

/* The root block, when it is a commit. */
struct root_commit {
	struct cid	 cid;
	struct commit	 c;
};

void		 car_load(struct car_load *);
const char	*car_load_commit(const struct car_load *, struct root_commit *);
void		 car_load_free(struct car_load *);

/* ctl_car.c: offline, no daemon */
int	cmd_cbor2json(int, char **);
int	cmd_json2cbor(int, char **);
int	cmd_inspect(int, char **);

/* ctl_repo.c: unpack and pack offline, import through the daemon */
int	cmd_import(int, char **);
int	cmd_pack(int, char **);
int	cmd_unpack(int, char **);

/* ctl_account.c: accounts and invites, through the daemon */
int	cmd_account(int, char **);
int	cmd_invite(int, char **);

/* ctl_blob.c: blob collection, through the daemon */
int	cmd_blob(int, char **);

/* ctl_daemon.c */
int	cmd_status(int, char **);
int	cmd_reload(int, char **);
int	cmd_log(int, char **);
int	cmd_relay(int, char **);
int	cmd_crawl(int, char **);
int	cmd_index(int, char **);

#endif
