/*
 * signerd: the only holder of private keys.
 */
#ifndef SIGNERD_H
#define SIGNERD_H

#include <stddef.h>
#include <stdint.h>

#define SIGNERD_ROTATION_KEY	"rotation.key"
#define SIGNERD_KEY_LEN		32

struct privkey;

struct key {
	struct privkey	*priv;
	char		 didkey[128];
};

/* keystore.c */
int	keystore_open(const char *, const char *);
int	keystore_load_or_create(const char *, struct key *);
void	key_free(struct key *);

/* sandbox.c */
void	sandbox_signerd(const char *);

#endif
