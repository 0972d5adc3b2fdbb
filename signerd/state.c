/*
 * What signerd remembers per DID, in one small text file each in the
 * key directory ("did_plc_<id>.state"):
 *
 *	did <did>
 *	key <multikey>
 *	rev <tid>		the last commit signed, if any
 *	op <cid>		PLC operations signed, newest first, up to 4
 *
 * The binding of a DID to its key is made by the genesis operation
 * signerd itself signed, never by the frontend's word; the rev is what
 * stops a frontend from rolling a repository back.  Each file is
 * rewritten whole and synced before signerd answers; a commit's rev
 * goes to the rev journal instead (journal.c), and the newer of the
 * two counts.  A file we cannot
 * parse stops signerd at start: dropping a binding silently would
 * also drop its rollback protection.
 */
#include <sys/types.h>
#include <sys/tree.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cid.h"
#include "didkey.h"
#include "log.h"
#include "signerd.h"
#include "syntax.h"

RB_HEAD(binding_tree, binding);

static int	binding_cmp(const struct binding *, const struct binding *);
static int	state_format(const struct binding *, char *, size_t);
static int	state_parse(char *, struct binding *, char *, size_t);
static void	state_load_one(const char *);

RB_GENERATE_INTERNAL(binding_tree, binding, entry, binding_cmp,
    __attribute__((__unused__)) static)

static struct binding_tree	 bindings = RB_INITIALIZER(&bindings);

static int
binding_cmp(const struct binding *a, const struct binding *b)
{
	return strcmp(a->did, b->did);
}

/*
 * "did:plc:x" -> "did_plc_x.state": ':' never appears elsewhere in a
 * file name and '_' never in a DID, so the mapping is one to one, and
 * a DID has no '/' to escape the directory.
 */
int
state_filename(const char *did, char *out, size_t outsz)
{
	size_t	 i, len = strlen(did);

	if (len == 0 || len > SIGNER_DID_MAX || !syntax_is_did(did, len) ||
	    len + strlen(SIGNERD_STATE_SUFFIX) >= outsz)
		return -1;
	for (i = 0; i < len; i++)
		out[i] = did[i] == ':' ? '_' : did[i];
	strlcpy(out + len, SIGNERD_STATE_SUFFIX, outsz - len);
	return 0;
}

static int
state_format(const struct binding *b, char *buf, size_t bufsz)
{
	char	 cid[CID_STRSZ];
	size_t	 i, n;

	n = snprintf(buf, bufsz, "did %s\nkey %s\n", b->did,
	    b->key->didkey + strlen(DIDKEY_PREFIX));
	if (b->rev[0] != '\0' && n < bufsz)
		n += snprintf(buf + n, bufsz - n, "rev %s\n", b->rev);
	for (i = 0; i < b->nops && n < bufsz; i++) {
		if (cid_to_str(&b->ops[i], cid, sizeof(cid)) == -1)
			return -1;
		n += snprintf(buf + n, bufsz - n, "op %s\n", cid);
	}
	return n < bufsz ? (int)n : -1;
}

int
state_save(const struct binding *b)
{
	char	 buf[SIGNERD_STATE_MAX], name[NAME_MAX + 1];
	int	 n;

	if (state_filename(b->did, name, sizeof(name)) == -1 ||
	    (n = state_format(b, buf, sizeof(buf))) == -1)
		return -1;
	return keystore_write_file(name, buf, (size_t)n);
}

/* Takes the next "word value\n" line off *p; value is NUL-terminated. */
static char *
state_line(char **p, const char *word)
{
	char	*nl, *v;
	size_t	 wl = strlen(word);

	if ((nl = strchr(*p, '\n')) == NULL || strncmp(*p, word, wl) != 0 ||
	    (*p)[wl] != ' ')
		return NULL;
	*nl = '\0';
	v = *p + wl + 1;
	*p = nl + 1;
	return v;
}

/* Fills b; the key's did:key goes to keybuf.  buf is NUL-terminated. */
static int
state_parse(char *buf, struct binding *b, char *keybuf, size_t keysz)
{
	struct pubkey	 pk;
	char		*p = buf, *v;

	memset(b, 0, sizeof(*b));
	if ((v = state_line(&p, "did")) == NULL || strlen(v) >
	    SIGNER_DID_MAX || !syntax_is_did(v, strlen(v)))
		return -1;
	strlcpy(b->did, v, sizeof(b->did));
	if ((v = state_line(&p, "key")) == NULL ||
	    multikey_decode(v, strlen(v), &pk) == -1 ||
	    (size_t)snprintf(keybuf, keysz, "%s%s", DIDKEY_PREFIX, v) >= keysz)
		return -1;
	if (strncmp(p, "rev ", 4) == 0) {
		if ((v = state_line(&p, "rev")) == NULL ||
		    !syntax_is_tid(v, strlen(v)))
			return -1;
		strlcpy(b->rev, v, sizeof(b->rev));
	}
	while (*p != '\0') {
		if (b->nops == SIGNERD_OPS_KEPT ||
		    (v = state_line(&p, "op")) == NULL ||
		    cid_from_str(&b->ops[b->nops], v, strlen(v), NULL) == -1)
			return -1;
		b->nops++;
	}
	return 0;
}

static void
state_load_one(const char *name)
{
	struct binding	*b;
	struct key	*k;
	char		 buf[SIGNERD_STATE_MAX + 1], want[NAME_MAX + 1];
	char		 didkey[DIDKEY_BUFSZ];
	size_t		 len;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		fatal("calloc");
	if (keystore_read_file(name, buf, SIGNERD_STATE_MAX, &len) == -1)
		fatalx("%s: cannot read", name);
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL ||
	    state_parse(buf, b, didkey, sizeof(didkey)) == -1)
		fatalx("%s: malformed state file", name);
	if (state_filename(b->did, want, sizeof(want)) == -1 ||
	    strcmp(want, name) != 0)
		fatalx("%s: holds the state of %s", name, b->did);
	if ((k = keystore_find(didkey)) == NULL)
		fatalx("%s: the key %s is missing", name, didkey);
	if (k->binding != NULL)
		fatalx("%s: the key %s is bound to %s too", name, didkey,
		    k->binding->did);
	b->key = k;
	k->binding = b;
	RB_INSERT(binding_tree, &bindings, b);
}

/* After keystore_load_all(): every binding names a loaded key. */
void
state_load_all(void)
{
	if (keystore_scan(SIGNERD_STATE_SUFFIX, state_load_one) == -1)
		fatalx("cannot read the key directory");
}

struct binding *
state_find(const char *did)
{
	struct binding	 want;

	if (strlcpy(want.did, did, sizeof(want.did)) >= sizeof(want.did))
		return NULL;
	return RB_FIND(binding_tree, &bindings, &want);
}

/* A new binding, saved before it is used; NULL if it cannot be. */
struct binding *
state_bind(const char *did, struct key *k, const struct cid *op)
{
	struct binding	*b;

	if (k->binding != NULL || state_find(did) != NULL)
		return NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	if (strlcpy(b->did, did, sizeof(b->did)) >= sizeof(b->did)) {
		free(b);
		return NULL;
	}
	b->key = k;
	if (op != NULL) {
		b->ops[0] = *op;
		b->nops = 1;
	}
	if (state_save(b) == -1) {
		free(b);
		return NULL;
	}
	k->binding = b;
	RB_INSERT(binding_tree, &bindings, b);
	log_info("bound %s to %s", did, k->didkey);
	return b;
}

struct binding *
state_first(void)
{
	return RB_MIN(binding_tree, &bindings);
}

struct binding *
state_next(struct binding *b)
{
	return RB_NEXT(binding_tree, &bindings, b);
}

void
state_free_all(void)
{
	struct binding	*b, *next;

	RB_FOREACH_SAFE(b, binding_tree, &bindings, next) {
		RB_REMOVE(binding_tree, &bindings, b);
		free(b);
	}
}
