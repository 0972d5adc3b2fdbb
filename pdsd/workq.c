/*
 * Blocking work off the event loop: a few threads take jobs from a
 * bounded queue, run them, and a pipe wakes the loop, where each job's
 * done callback runs.  A job's run function sees only its own argument,
 * never loop state.  A full queue refuses: a flood is turned away, not
 * buffered.  Password hashing (pwhash.c) and DNS lookups (resolve.c)
 * each have a queue of their own, so a slow name server never holds up
 * a login and a burst of logins never delays a lookup.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>

#include <event.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "pdsd.h"

#define WORKQ_THREADS_MAX	8

struct workq_job {
	TAILQ_ENTRY(workq_job)	 entry;
	void			(*run)(void *);
	void			(*done)(void *);
	void			*arg;
};
TAILQ_HEAD(workq_list, workq_job);

struct workq {
	const char		*name;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct workq_list	 todo;
	struct workq_list	 done;
	size_t			 njobs;		/* queued, running, done */
	size_t			 max;
	int			 nice;
	int			 stopping;
	int			 nthreads;
	int			 pipe[2];
	pthread_t		 threads[WORKQ_THREADS_MAX];
	struct event		 ev;
	void			(*drop)(void *);
};

static void	*workq_worker(void *);
static void	 workq_wakeup(int, short, void *);

static void *
workq_worker(void *arg)
{
	struct workq		*q = arg;
	struct workq_job	*j;
	char			 c = 0;

#ifdef __linux__
	/*
	 * Below the loop thread: on a machine with as many busy workers
	 * as cores, the loop still gets a core as soon as it wakes, so
	 * requests that need no work here are not held up by those that
	 * do.  Linux sets nice per thread; elsewhere it is the process's.
	 */
	if (q->nice != 0)
		(void)setpriority(PRIO_PROCESS, gettid(), q->nice);
#endif
	for (;;) {
		pthread_mutex_lock(&q->mtx);
		while (TAILQ_EMPTY(&q->todo) && !q->stopping)
			pthread_cond_wait(&q->cond, &q->mtx);
		if (q->stopping) {
			pthread_mutex_unlock(&q->mtx);
			return NULL;
		}
		j = TAILQ_FIRST(&q->todo);
		TAILQ_REMOVE(&q->todo, j, entry);
		pthread_mutex_unlock(&q->mtx);

		j->run(j->arg);

		pthread_mutex_lock(&q->mtx);
		TAILQ_INSERT_TAIL(&q->done, j, entry);
		pthread_mutex_unlock(&q->mtx);
		/* A full pipe already holds a wakeup: EAGAIN is fine. */
		(void)write(q->pipe[1], &c, 1);
	}
}

/*
 * nthreads workers at nice (0: as the loop), at most max jobs at once;
 * drop frees a job's argument that never ran, at workq_free.
 */
struct workq *
workq_new(struct event_base *base, const char *name, int nthreads,
    size_t max, int nice, void (*drop)(void *))
{
	struct workq	*q;
	sigset_t	 all, old;
	int		 i;

	if (nthreads < 1 || nthreads > WORKQ_THREADS_MAX ||
	    (q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->name = name;
	q->max = max;
	q->nice = nice;
	q->drop = drop;
	TAILQ_INIT(&q->todo);
	TAILQ_INIT(&q->done);
	pthread_mutex_init(&q->mtx, NULL);
	pthread_cond_init(&q->cond, NULL);
	if (pipe2(q->pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		free(q);
		return NULL;
	}
	event_set(&q->ev, q->pipe[0], EV_READ | EV_PERSIST, workq_wakeup, q);
	if (event_base_set(base, &q->ev) == -1 ||
	    event_add(&q->ev, NULL) == -1) {
		close(q->pipe[0]);
		close(q->pipe[1]);
		free(q);
		return NULL;
	}
	/* Signals are the loop's business, not the workers'. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&q->threads[i], NULL, workq_worker, q) != 0)
			fatalx("%s: cannot start a thread", name);
		q->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return q;
}

/* Stop the workers; jobs not yet called back are dropped. */
void
workq_free(struct workq *q)
{
	struct workq_job	*j;
	int			 i;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mtx);
	q->stopping = 1;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->mtx);
	for (i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	event_del(&q->ev);
	TAILQ_CONCAT(&q->todo, &q->done, entry);
	while ((j = TAILQ_FIRST(&q->todo)) != NULL) {
		TAILQ_REMOVE(&q->todo, j, entry);
		if (q->drop != NULL)
			q->drop(j->arg);
		free(j);
	}
	close(q->pipe[0]);
	close(q->pipe[1]);
	pthread_mutex_destroy(&q->mtx);
	pthread_cond_destroy(&q->cond);
	free(q);
}

/*
 * run(arg) on a worker, then done(arg) on the loop.  -1 (queue full or
 * no memory): neither will be called.
 */
int
workq_submit(struct workq *q, void (*run)(void *), void (*done)(void *),
    void *arg)
{
	struct workq_job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	j->run = run;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&q->mtx);
	if (q->njobs >= q->max) {
		pthread_mutex_unlock(&q->mtx);
		free(j);
		return -1;
	}
	q->njobs++;
	TAILQ_INSERT_TAIL(&q->todo, j, entry);
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->mtx);
	return 0;
}

/* On the loop: every finished job's callback. */
static void
workq_wakeup(int fd, short event, void *arg)
{
	struct workq		*q = arg;
	struct workq_list	 done;
	struct workq_job	*j;
	char			 buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	TAILQ_INIT(&done);
	pthread_mutex_lock(&q->mtx);
	TAILQ_CONCAT(&done, &q->done, entry);
	pthread_mutex_unlock(&q->mtx);
	while ((j = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, j, entry);
		pthread_mutex_lock(&q->mtx);
		q->njobs--;
		pthread_mutex_unlock(&q->mtx);
		j->done(j->arg);
		free(j);
	}
}
