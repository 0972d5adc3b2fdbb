/*
 * Password hashing off the event loop.  argon2id at libsodium's
 * interactive limits costs tens of milliseconds and 64 MB per hash, so
 * a small pool of threads does it while the loop goes on serving; a
 * pipe wakes the loop when a job is done, and its callback runs there.
 * The queue is bounded: a flood of logins is refused, not buffered.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "log.h"

#define PWHASH_THREADS		2
#define PWHASH_QUEUE_MAX	64	/* queued and running jobs */

/*
 * Nobody knows its password: unknown accounts are checked against it so
 * that they take as long to refuse as known ones.
 */
const char pwhash_dummy[] = "$argon2id$v=19$m=65536,t=2,p=1$"
    "iLLiqcwnhxUhyK3dxPV2yw$S8XTPXDHJUwzuM4K0kwXK7dYFL4+xJOm8fykASNaNDo";

enum pwjob_kind {
	PWJOB_HASH,
	PWJOB_VERIFY,
	PWJOB_DERIVE,
};

struct pwjob {
	TAILQ_ENTRY(pwjob)	 entry;
	enum pwjob_kind		 kind;
	char			*pw;		/* sodium_malloc'd */
	size_t			 pwlen;
	char			 hash[crypto_pwhash_STRBYTES];
	uint8_t			 salt[PWHASH_SALT_LEN];
	uint8_t			 out[PWHASH_DERIVED_LEN];
	int			 result;	/* 0 ok, 1 mismatch, -1 */
	void			(*cb)(void);
	void			*arg;
};
TAILQ_HEAD(pwjob_list, pwjob);

static struct {
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct pwjob_list	 todo;
	struct pwjob_list	 done;
	size_t			 njobs;
	int			 stopping;
	int			 started;
	int			 pipe[2];
	pthread_t		 threads[PWHASH_THREADS];
	struct event		 ev;
} pool = {
	.mtx = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.pipe = { -1, -1 },
};

static void	*pwhash_worker(void *);
static void	 pwhash_run(struct pwjob *);
static void	 pwhash_wakeup(int, short, void *);
static void	 pwjob_free(struct pwjob *);
static struct pwjob *pwjob_new(enum pwjob_kind, const char *, void (*)(void),
		    void *);
static int	 pwjob_submit(struct pwjob *);

int
pwhash_init(struct event_base *base)
{
	sigset_t	 all, old;
	int		 i, fl;

	if (pool.started)
		return 0;
	if (sodium_init() == -1 || pipe(pool.pipe) == -1)
		return -1;
	for (i = 0; i < 2; i++) {
		fl = fcntl(pool.pipe[i], F_GETFL);
		if (fl == -1 || fcntl(pool.pipe[i], F_SETFL, fl | O_NONBLOCK)
		    == -1 || fcntl(pool.pipe[i], F_SETFD, FD_CLOEXEC) == -1)
			goto fail;
	}
	TAILQ_INIT(&pool.todo);
	TAILQ_INIT(&pool.done);
	pool.stopping = 0;
	event_set(&pool.ev, pool.pipe[0], EV_READ | EV_PERSIST,
	    pwhash_wakeup, NULL);
	if (event_base_set(base, &pool.ev) == -1 ||
	    event_add(&pool.ev, NULL) == -1)
		goto fail;
	/* Signals are the loop's business, not the workers'. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < PWHASH_THREADS; i++)
		if (pthread_create(&pool.threads[i], NULL, pwhash_worker,
		    NULL) != 0)
			fatalx("pwhash: cannot start a thread");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pool.started = 1;
	return 0;
 fail:
	close(pool.pipe[0]);
	close(pool.pipe[1]);
	pool.pipe[0] = pool.pipe[1] = -1;
	return -1;
}

/* Stop the workers; jobs not yet run are dropped without a callback. */
void
pwhash_shutdown(void)
{
	struct pwjob	*j;
	int		 i;

	if (!pool.started)
		return;
	pthread_mutex_lock(&pool.mtx);
	pool.stopping = 1;
	pthread_cond_broadcast(&pool.cond);
	pthread_mutex_unlock(&pool.mtx);
	for (i = 0; i < PWHASH_THREADS; i++)
		pthread_join(pool.threads[i], NULL);
	event_del(&pool.ev);
	while ((j = TAILQ_FIRST(&pool.todo)) != NULL) {
		TAILQ_REMOVE(&pool.todo, j, entry);
		pwjob_free(j);
	}
	while ((j = TAILQ_FIRST(&pool.done)) != NULL) {
		TAILQ_REMOVE(&pool.done, j, entry);
		pwjob_free(j);
	}
	pool.njobs = 0;
	close(pool.pipe[0]);
	close(pool.pipe[1]);
	pool.pipe[0] = pool.pipe[1] = -1;
	pool.started = 0;
}

static void
pwjob_free(struct pwjob *j)
{
	if (j->pw != NULL)
		sodium_free(j->pw);	/* wipes it */
	sodium_memzero(j->out, sizeof(j->out));
	free(j);
}

static struct pwjob *
pwjob_new(enum pwjob_kind kind, const char *pw, void (*cb)(void), void *arg)
{
	struct pwjob	*j;
	size_t		 len = strnlen(pw, PWHASH_PW_MAX + 1);

	if (len > PWHASH_PW_MAX || (j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	if ((j->pw = sodium_malloc(len + 1)) == NULL) {
		free(j);
		return NULL;
	}
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
	if (!pool.started) {
		pwjob_free(j);
		return -1;
	}
	pthread_mutex_lock(&pool.mtx);
	if (pool.njobs >= PWHASH_QUEUE_MAX) {
		pthread_mutex_unlock(&pool.mtx);
		pwjob_free(j);
		return -1;
	}
	pool.njobs++;
	TAILQ_INSERT_TAIL(&pool.todo, j, entry);
	pthread_cond_signal(&pool.cond);
	pthread_mutex_unlock(&pool.mtx);
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

int
pwhash_derive_async(const uint8_t salt[PWHASH_SALT_LEN], const char *pw,
    pwhash_derive_cb cb, void *arg)
{
	struct pwjob	*j;

	if ((j = pwjob_new(PWJOB_DERIVE, pw, (void (*)(void))cb, arg)) == NULL)
		return -1;
	memcpy(j->salt, salt, sizeof(j->salt));
	return pwjob_submit(j);
}

/* In a worker thread: only the job, no loop state. */
static void
pwhash_run(struct pwjob *j)
{
	switch (j->kind) {
	case PWJOB_HASH:
		j->result = crypto_pwhash_str(j->hash, j->pw, j->pwlen,
		    crypto_pwhash_OPSLIMIT_INTERACTIVE,
		    crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0 ? 0 : -1;
		break;
	case PWJOB_VERIFY:
		if (j->hash[0] == '\0')
			j->result = 1;
		else
			j->result = crypto_pwhash_str_verify(j->hash, j->pw,
			    j->pwlen) == 0 ? 0 : 1;
		break;
	case PWJOB_DERIVE:
		j->result = crypto_pwhash(j->out, sizeof(j->out), j->pw,
		    j->pwlen, j->salt, crypto_pwhash_OPSLIMIT_INTERACTIVE,
		    crypto_pwhash_MEMLIMIT_INTERACTIVE,
		    crypto_pwhash_ALG_ARGON2ID13) == 0 ? 0 : -1;
		break;
	}
	sodium_memzero(j->pw, j->pwlen);
}

static void *
pwhash_worker(void *arg)
{
	struct pwjob	*j;
	char		 c = 0;

	for (;;) {
		pthread_mutex_lock(&pool.mtx);
		while (TAILQ_EMPTY(&pool.todo) && !pool.stopping)
			pthread_cond_wait(&pool.cond, &pool.mtx);
		if (pool.stopping) {
			pthread_mutex_unlock(&pool.mtx);
			return NULL;
		}
		j = TAILQ_FIRST(&pool.todo);
		TAILQ_REMOVE(&pool.todo, j, entry);
		pthread_mutex_unlock(&pool.mtx);

		pwhash_run(j);

		pthread_mutex_lock(&pool.mtx);
		TAILQ_INSERT_TAIL(&pool.done, j, entry);
		pthread_mutex_unlock(&pool.mtx);
		/* A full pipe already holds a wakeup: EAGAIN is fine. */
		(void)write(pool.pipe[1], &c, 1);
	}
}

/* On the loop: every finished job's callback. */
static void
pwhash_wakeup(int fd, short event, void *arg)
{
	struct pwjob_list	 done;
	struct pwjob		*j;
	char			 buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	TAILQ_INIT(&done);
	pthread_mutex_lock(&pool.mtx);
	TAILQ_CONCAT(&done, &pool.done, entry);
	pthread_mutex_unlock(&pool.mtx);
	while ((j = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, j, entry);
		pthread_mutex_lock(&pool.mtx);
		pool.njobs--;
		pthread_mutex_unlock(&pool.mtx);
		switch (j->kind) {
		case PWJOB_HASH:
			((pwhash_str_cb)j->cb)(j->arg,
			    j->result == 0 ? j->hash : NULL);
			break;
		case PWJOB_VERIFY:
			((pwhash_verify_cb)j->cb)(j->arg,
			    j->result == 0 ? 1 : 0);
			break;
		case PWJOB_DERIVE:
			((pwhash_derive_cb)j->cb)(j->arg,
			    j->result == 0 ? j->out : NULL);
			break;
		}
		sodium_memzero(j->hash, sizeof(j->hash));
		pwjob_free(j);
	}
}
