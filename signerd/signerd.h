/*
 * signerd: the only holder of private keys.
 */
#ifndef SIGNERD_H
#define SIGNERD_H

#include <sys/types.h>
#include <sys/tree.h>

#include <stddef.h>
#include <stdint.h>

#include "cid.h"
#include "didkey.h"
#include "signer_proto.h"
#include "tid.h"

#define SIGNERD_ROTATION_KEY	"rotation.key"
#define SIGNERD_KEY_LEN		32
#define SIGNERD_KEY_SUFFIX	".key"
#define SIGNERD_STATE_SUFFIX	".state"
#define SIGNERD_STATE_MAX	1024	/* bytes in a state file */
#define SIGNERD_OPS_KEPT	4	/* PLC op CIDs remembered per DID */
#define SIGNERD_REV_AHEAD	(10 * 60)	/* seconds a rev may lead */
#define SIGNERD_JWT_LIFETIME	3600	/* seconds */

struct privkey;
struct binding;

struct key {
	RB_ENTRY(key)	 entry;
	struct privkey	*priv;
	char		 didkey[DIDKEY_BUFSZ];
	struct binding	*binding;	/* the DID it signs for, if any */
};

/* What signerd knows of one DID: its key, and what it signed last. */
struct binding {
	RB_ENTRY(binding) entry;
	char		 did[SIGNER_DID_BUFSZ];
	struct key	*key;
	char		 rev[TID_BUFSZ];	/* "" before the first commit */
	struct cid	 ops[SIGNERD_OPS_KEPT];	/* newest first */
	size_t		 nops;
};

/* keystore.c */
int		 keystore_open(const char *, const char *);
int		 keystore_load_or_create(const char *, struct key *);
void		 keystore_load_all(void);
struct key	*keystore_create(void);
struct key	*keystore_find(const char *);
void		 keystore_free_all(void);
void		 key_free(struct key *);
int		 keystore_scan(const char *, void (*)(const char *));
int		 keystore_read_file(const char *, char *, size_t, size_t *);
int		 keystore_write_file(const char *, const void *, size_t);
int		 keystore_open_file(const char *, int);

/* state.c */
void		 state_load_all(void);
struct binding	*state_find(const char *);
struct binding	*state_bind(const char *, struct key *, const struct cid *);
int		 state_save(const struct binding *);
void		 state_free_all(void);
struct binding	*state_first(void);
struct binding	*state_next(struct binding *);
int		 state_filename(const char *, char *, size_t);

/* journal.c */
void		 journal_init(void);
int		 journal_add(const struct binding *, uint32_t, const uint8_t *);
void		 journal_flush(void);

/* sign.c */
void		 sign_init(struct key *);
void		 sign_dispatch(uint32_t, uint32_t, const uint8_t *, size_t);

/* signerd.c */
void		 signerd_reply(uint32_t, const void *, size_t);
void		 signerd_refuse(uint32_t, const char *);

/* sandbox.c */
void		 sandbox_signerd(const char *);

#endif
