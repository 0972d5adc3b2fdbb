/*
 * Password hashing off the event loop: argon2id costs tens of
 * milliseconds per hash, so a work queue of its own (workq.c) runs it
 * on a thread while the loop goes on serving.
 *
 * The parameters are OWASP's argon2id minimum in its 12 MiB form
 * (m=12 MiB, t=3, p=1; the same cost as its m=19 MiB, t=2): libsodium's
 * interactive limits take 64 MiB per hash, on their own the whole
 * memory pdsd means to use.  One thread, so one hash at a time: 12 MiB
 * at most beside the rest of the frontend, and at about 40 ms a hash
 * it still answers more logins a second than two threads did at the
 * old limits.  Hashes carry their parameters, so those made at the old
 * limits go on verifying (64 MiB each, one at a time all the same),
 * and a login with one stores the password hashed again at ours.
 */
#include <sys/types.h>

#include <event.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth.h"
#include "log.h"
#include "pdsd.h"

#define PWHASH_THREADS		1
#define PWHASH_QUEUE_MAX	64	/* queued and running jobs */
/*
 * The hashes yield to the loop thread: with both cores hashing, a
 * request that needs no hash still gets a core at once.
 */
#define PWHASH_NICE		10
#define PWSLOT_SIZE		(PWHASH_PW_MAX + 1)
/* Before this version: libsodium's interactive limits. */
#define PWHASH_OPSLIMIT_OLD	2
#define PWHASH_MEMLIMIT_OLD	((size_t)64 << 20)

/*
 * Nobody knows its password: unknown accounts are checked against it so
 * that they take as long to refuse as known ones.
 */
const char pwhash_dummy[] = "$argon2id$v=19$m=12288,t=3,p=1$"
    "TOaKhdqlM9qelnQp9SmJKQ$z3Z7P62e6BbjB839swF8FrnFgJSp44ARBICfew4tJCU";

enum pwjob_kind {
	PWJOB_HASH,
	PWJOB_VERIFY,
	PWJOB_LOGIN,	/* a verify that may hash again */
	PWJOB_DERIVE,
};

struct pwjob {
	enum pwjob_kind		 kind;
	char			*pw;		/* a slot */
	int			 slot;
	size_t			 pwlen;
	char			 hash[crypto_pwhash_STRBYTES];
	char			 rehash[crypto_pwhash_STRBYTES];
	uint8_t			 salt[PWHASH_SALT_LEN];
	uint8_t			 out[PWHASH_DERIVED_LEN];
	int			 result;	/* 0 ok, 1 mismatch, -1 */
	int			 old;		/* derive at the old limits */
	void			(*cb)(void);
	void			*arg;
};

static struct workq	*pool;

/*
 * The passwords of the jobs, in one sodium_malloc'd area made at start:
 * sodium_malloc per job would map, lock and guard pages on the loop
 * thread each time, and every such call waits for the process's mmap
 * lock while a worker maps or unmaps argon2's 64 MiB.  Slots are taken
 * and given back on the loop thread only.
 */
static char		*slots;
static int		 slot_free[PWHASH_QUEUE_MAX];
static int		 nslot_free;

static void	 pwhash_run(void *);
static void	 pwhash_done(void *);
static void	 pwjob_free(struct pwjob *);
static void	 pwjob_drop(void *);
static struct pwjob *pwjob_new(enum pwjob_kind, const char *, void (*)(void),
		    void *);
static int	 pwjob_submit(struct pwjob *);

int
pwhash_init(struct event_base *base)
{
	if (pool != NULL)
		return 0;
	if (sodium_init() == -1 || (slots = sodium_allocarray(
	    PWHASH_QUEUE_MAX, PWSLOT_SIZE)) == NULL)
		return -1;
	for (nslot_free = 0; nslot_free < PWHASH_QUEUE_MAX; nslot_free++)
		slot_free[nslot_free] = nslot_free;
	if ((pool = workq_new(base, "pwhash", PWHASH_THREADS,
	    PWHASH_QUEUE_MAX, PWHASH_NICE, pwjob_drop)) == NULL) {
		sodium_free(slots);
		slots = NULL;
		return -1;
	}
	return 0;
}

/* Stop the workers; jobs not yet run are dropped without a callback. */
void
pwhash_shutdown(void)
{
	workq_free(pool);
	pool = NULL;
	sodium_free(slots);	/* wipes them */
	slots = NULL;
	nslot_free = 0;
}

static void
pwjob_free(struct pwjob *j)
{
	if (j->pw != NULL) {
		sodium_memzero(j->pw, j->pwlen + 1);
		slot_free[nslot_free++] = j->slot;
	}
	sodium_memzero(j->out, sizeof(j->out));
	free(j);
}

static void
pwjob_drop(void *arg)
{
	pwjob_free(arg);
}

static struct pwjob *
pwjob_new(enum pwjob_kind kind, const char *pw, void (*cb)(void), void *arg)
{
	struct pwjob	*j;
	size_t		 len = strnlen(pw, PWHASH_PW_MAX + 1);

	if (len > PWHASH_PW_MAX || nslot_free == 0 ||
	    (j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->slot = slot_free[--nslot_free];
	j->pw = slots + (size_t)j->slot * PWSLOT_SIZE;
	memcpy(j->pw, pw, len + 1);
	j->pwlen = len;
	j->kind = kind;
	j->cb = cb;
	j->arg = arg;
	return j;
}

static int
pwjob_submit(struct pwjob *j)
{
	if (pool == NULL || workq_submit(pool, pwhash_run, pwhash_done,
	    j) == -1) {
		pwjob_free(j);
		return -1;
	}
	return 0;
}

int
pwhash_hash_async(const char *pw, pwhash_str_cb cb, void *arg)
{
	struct pwjob	*j;

	if ((j = pwjob_new(PWJOB_HASH, pw, (void (*)(void))cb, arg)) == NULL)
		return -1;
	return pwjob_submit(j);
}

int
pwhash_verify_async(const char *hash, const char *pw, pwhash_verify_cb cb,
    void *arg)
{
	struct pwjob	*j;

	if ((j = pwjob_new(PWJOB_VERIFY, pw, (void (*)(void))cb, arg)) == NULL)
		return -1;
	if (strlcpy(j->hash, hash, sizeof(j->hash)) >= sizeof(j->hash)) {
		/* Not a hash we made; it matches nothing. */
		j->hash[0] = '\0';
	}
	return pwjob_submit(j);
}

/*
 * A login's verify: when the password matches a hash made at other
 * limits (the old 64 MiB ones), the worker hashes it again at ours and
 * the callback gets the new hash to store, so each account pays the
 * old cost once.
 */
int
pwhash_login_async(const char *hash, const char *pw, pwhash_login_cb cb,
    void *arg)
{
	struct pwjob	*j;

	if ((j = pwjob_new(PWJOB_LOGIN, pw, (void (*)(void))cb, arg)) == NULL)
		return -1;
	if (strlcpy(j->hash, hash, sizeof(j->hash)) >= sizeof(j->hash))
		j->hash[0] = '\0';
	return pwjob_submit(j);
}

int
pwhash_derive_async(const uint8_t salt[PWHASH_SALT_LEN], const char *pw,
    int old, pwhash_derive_cb cb, void *arg)
{
	struct pwjob	*j;

	if ((j = pwjob_new(PWJOB_DERIVE, pw, (void (*)(void))cb, arg)) == NULL)
		return -1;
	memcpy(j->salt, salt, sizeof(j->salt));
	j->old = old;
	return pwjob_submit(j);
}

/* In a worker thread: only the job, no loop state. */
static void
pwhash_run(void *arg)
{
	struct pwjob	*j = arg;

	switch (j->kind) {
	case PWJOB_HASH:
		j->result = crypto_pwhash_str(j->hash, j->pw, j->pwlen,
		    PWHASH_OPSLIMIT, PWHASH_MEMLIMIT) == 0 ? 0 : -1;
		break;
	case PWJOB_VERIFY:
	case PWJOB_LOGIN:
		if (j->hash[0] == '\0')
			j->result = 1;
		else
			j->result = crypto_pwhash_str_verify(j->hash, j->pw,
			    j->pwlen) == 0 ? 0 : 1;
		if (j->kind == PWJOB_LOGIN && j->result == 0 &&
		    crypto_pwhash_str_needs_rehash(j->hash, PWHASH_OPSLIMIT,
		    PWHASH_MEMLIMIT) == 1 && crypto_pwhash_str(j->rehash,
		    j->pw, j->pwlen, PWHASH_OPSLIMIT, PWHASH_MEMLIMIT) != 0)
			j->rehash[0] = '\0';
		break;
	case PWJOB_DERIVE:
		j->result = crypto_pwhash(j->out, sizeof(j->out), j->pw,
		    j->pwlen, j->salt,
		    j->old ? PWHASH_OPSLIMIT_OLD : PWHASH_OPSLIMIT,
		    j->old ? PWHASH_MEMLIMIT_OLD : PWHASH_MEMLIMIT,
		    crypto_pwhash_ALG_ARGON2ID13) == 0 ? 0 : -1;
		break;
	}
	sodium_memzero(j->pw, j->pwlen);
}

/* On the loop: the job's callback. */
static void
pwhash_done(void *arg)
{
	struct pwjob	*j = arg;

	switch (j->kind) {
	case PWJOB_HASH:
		((pwhash_str_cb)j->cb)(j->arg, j->result == 0 ? j->hash : NULL);
		break;
	case PWJOB_VERIFY:
		((pwhash_verify_cb)j->cb)(j->arg, j->result == 0 ? 1 : 0);
		break;
	case PWJOB_LOGIN:
		((pwhash_login_cb)j->cb)(j->arg, j->result == 0 ? 1 : 0,
		    j->rehash[0] != '\0' ? j->rehash : NULL);
		break;
	case PWJOB_DERIVE:
		((pwhash_derive_cb)j->cb)(j->arg,
		    j->result == 0 ? j->out : NULL);
		break;
	}
	sodium_memzero(j->hash, sizeof(j->hash));
	sodium_memzero(j->rehash, sizeof(j->rehash));
	pwjob_free(j);
}
