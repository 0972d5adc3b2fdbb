/*
 * WAL checkpoints off the event loop.  Left to SQLite, the commit that
 * takes the WAL past 1000 pages copies it back into the database and
 * syncs both, inside the frontend's only thread, and every request in
 * flight waits for it.  Instead the frontend's connection checkpoints
 * nothing itself; its WAL hook tells a thread, which has a connection
 * of its own, how long the WAL is, and the thread checkpoints it.
 *
 * PASSIVE checkpoints never take the write lock, so the loop never
 * waits for them.  When one has copied the whole WAL before the next
 * commit, SQLite writes the WAL from its start again: with pauses
 * between writes the WAL stays near CKPT_PAGES.  Under sustained
 * writes, or with a reader holding an old snapshot, a passive
 * checkpoint never quite catches up and the WAL keeps growing; past
 * CKPT_HARD pages the thread runs a RESTART checkpoint, which holds the
 * loop's next write back while it copies the little left and waits for
 * readers (at most CKPT_BUSY_MS), and the next commit writes the WAL
 * from its start.  One such pause per 64 MB of WAL instead of a whole
 * checkpoint inside every 1000th page's commit, and the WAL is bounded.
 *
 * The WAL file keeps its size (journal_size_limit is the bound): a
 * page written over an old one costs the kernel about half of one that
 * extends the file, which a truncated WAL must do again on every page.
 * Checkpoints far apart (CKPT_PAGES) write a page changed by many
 * commits once, and sync twice per run, not twice per few commits.
 * The limit is well past the CKPT_HARD pages (4120 bytes a frame) and
 * what comes while the thread catches up: at 72 MiB, under sustained
 * writes, the WAL reached 80-90 MB before each RESTART, and the commit
 * that began it again truncated it inside the loop, where ext4 mounted
 * with discard took its blocks back synchronously.
 */
#include <sys/types.h>

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pdsd.h"

#define CKPT_PAGES	4000
#define CKPT_IDLE_MS	1000	/* then also whatever is left */
#define CKPT_HARD	16000	/* about 64 MB of 4 KB pages */
#define CKPT_BUSY_MS	2000
#define CKPT_LEFT	512	/* pages a RESTART may copy, holding writes */
#define CKPT_PASSES	8	/* passive passes at most before it */
#define CKPT_SIZE_LIMIT	"134217728"	/* 128 MiB: past what the WAL reaches */

static struct {
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;
	pthread_t	 thread;
	sqlite3		*db;		/* the thread's own connection */
	int		 frames;	/* WAL pages after the last commit */
	int		 copied;	/* of them, in the database already */
	struct timespec	 last;		/* when the last checkpoint ended */
	int		 stop;
	int		 started;
} ck = {
	.mtx = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static int64_t
ms_since(const struct timespec *t)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - t->tv_sec) * 1000 +
	    (now.tv_nsec - t->tv_nsec) / 1000000;
}

/*
 * On the loop's connection, after each commit: cheap, never blocks
 * long.  A checkpoint is asked for once CKPT_PAGES pages have come
 * since the last one copied the WAL: asked after every commit, under
 * sustained writes the thread ran one small checkpoint (two fsyncs)
 * for every few commits.  What a burst leaves behind is copied at the
 * first commit CKPT_IDLE_MS later.
 */
static int
ckpt_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	int	 behind;

	if (frames < CKPT_PAGES)
		return SQLITE_OK;
	pthread_mutex_lock(&ck.mtx);
	/* A shorter WAL than was copied: SQLite began it again. */
	if (frames < ck.copied)
		ck.copied = 0;
	behind = frames - ck.copied;
	if (behind >= CKPT_PAGES ||
	    (behind > 0 && ms_since(&ck.last) >= CKPT_IDLE_MS)) {
		ck.frames = frames;
		pthread_cond_signal(&ck.cond);
	}
	pthread_mutex_unlock(&ck.mtx);
	return SQLITE_OK;
}

/*
 * A RESTART checkpoint holds the write lock while it copies and syncs,
 * and so every write, and the frontend's only thread in its busy
 * handler.  Under sustained writes (createRecord from 32 clients: one
 * RESTART every 500 or so writes) it had the thousands of pages that
 * came since the last passive run to copy, and held the loop 50 to
 * 190 ms (docs/bench.md).  Passive runs first, each copying what came
 * during the one before, until one had at most CKPT_LEFT pages to
 * copy: copying is many times faster than writes grow the WAL, so a
 * few runs do, and the RESTART has about as little left: its two
 * syncs are most of what it holds writes for.
 */
static int
ckpt_copy(int *logn, int *done)
{
	int	 i, prev = 0, rc = SQLITE_OK;

	for (i = 0; i < CKPT_PASSES; i++) {
		rc = sqlite3_wal_checkpoint_v2(ck.db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, logn, done);
		if (rc != SQLITE_OK || *logn - prev <= CKPT_LEFT)
			break;
		prev = *done;
	}
	return rc;
}

static void
ckpt_run(int frames)
{
	int	 rc, logn = 0, done = 0, mode = SQLITE_CHECKPOINT_PASSIVE;

	if (frames >= CKPT_HARD) {
		mode = SQLITE_CHECKPOINT_RESTART;
		if ((rc = ckpt_copy(&logn, &done)) == SQLITE_OK)
			rc = sqlite3_wal_checkpoint_v2(ck.db, NULL, mode,
			    &logn, &done);
	} else
		rc = sqlite3_wal_checkpoint_v2(ck.db, NULL, mode, &logn,
		    &done);
	pthread_mutex_lock(&ck.mtx);
	ck.copied = mode == SQLITE_CHECKPOINT_RESTART ? 0 : done;
	/* Asked for while it ran, of the WAL it just began again. */
	if (mode == SQLITE_CHECKPOINT_RESTART && rc == SQLITE_OK)
		ck.frames = 0;
	clock_gettime(CLOCK_MONOTONIC, &ck.last);
	pthread_mutex_unlock(&ck.mtx);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		log_warnx("checkpoint: %s", sqlite3_errmsg(ck.db));
	else if (mode == SQLITE_CHECKPOINT_RESTART)
		log_info("checkpoint: WAL of %d pages restarted%s", frames,
		    rc == SQLITE_BUSY ? " (busy, will retry)" : "");
}

static void *
ckpt_thread(void *arg)
{
	int	 frames;

	pthread_mutex_lock(&ck.mtx);
	for (;;) {
		while (ck.frames == 0 && !ck.stop)
			pthread_cond_wait(&ck.cond, &ck.mtx);
		if (ck.stop)
			break;
		frames = ck.frames;
		ck.frames = 0;
		pthread_mutex_unlock(&ck.mtx);
		ckpt_run(frames);
		pthread_mutex_lock(&ck.mtx);
	}
	pthread_mutex_unlock(&ck.mtx);
	return NULL;
}

/*
 * Takes checkpoints of the database at path away from db, the loop's
 * connection.  0, or -1 with err filled.
 */
int
db_checkpointer_start(sqlite3 *db, const char *path, char *err,
    size_t errlen)
{
	sigset_t	 all, old;
	char		*msg = NULL;
	int		 rc;

	if (ck.started)
		return 0;
	if (sqlite3_threadsafe() == 0) {
		snprintf(err, errlen, "SQLite was built without threads");
		return -1;
	}
	if (sqlite3_open_v2(path, &ck.db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_exec(ck.db, "PRAGMA synchronous = NORMAL", NULL, NULL,
	    &msg) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA wal_autocheckpoint = 0; "
	    "PRAGMA journal_size_limit = " CKPT_SIZE_LIMIT, NULL, NULL,
	    &msg) != SQLITE_OK) {
		snprintf(err, errlen, "checkpoint connection: %s",
		    msg != NULL ? msg : ck.db != NULL ?
		    sqlite3_errmsg(ck.db) : "out of memory");
		sqlite3_free(msg);
		sqlite3_close(ck.db);
		ck.db = NULL;
		return -1;
	}
	/*
	 * Waiting for the write lock or for readers, a RESTART holds
	 * writes back: it must not sleep long after the lock is free.
	 */
	db_busy_wait(ck.db, CKPT_BUSY_MS);
	/* After the pragma, which would reset it. */
	sqlite3_wal_hook(db, ckpt_wal_hook, NULL);
	ck.stop = 0;
	ck.frames = 0;
	ck.copied = 0;
	clock_gettime(CLOCK_MONOTONIC, &ck.last);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&ck.thread, NULL, ckpt_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the checkpoint thread");
		sqlite3_wal_hook(db, NULL, NULL);
		sqlite3_close(ck.db);
		ck.db = NULL;
		return -1;
	}
	ck.started = 1;
	return 0;
}

/* Before the loop's connection closes (which checkpoints what is left). */
void
db_checkpointer_stop(void)
{
	if (!ck.started)
		return;
	pthread_mutex_lock(&ck.mtx);
	ck.stop = 1;
	pthread_cond_signal(&ck.cond);
	pthread_mutex_unlock(&ck.mtx);
	pthread_join(ck.thread, NULL);
	sqlite3_close(ck.db);
	ck.db = NULL;
	ck.started = 0;
}
