/*
 * The rev journal ("rev.journal" in the key directory): the last
 * signed rev of each DID, and the rev lease.
 *
 * The lease is a TID a little ahead of the clock, on disk before it is
 * used: any commit whose rev lies below it may be signed and answered
 * without a sync of its own, because after a restart no rev at or below
 * the last lease on disk is signed again, whatever the journal lost.
 * A rev at or above the lease waits for a sync that records it.  The
 * lease is moved on (one write and one fdatasync) while commits flow,
 * before it runs out, after the answers of that turn have left.
 *
 * The file is a sequence of batches, each one write(2):
 *
 *	rev <did> <tid>\n	zero or more
 *	lease <tid>\n		in a synced batch: the new lease
 *	end <hash>\n		synced before any of its commits is answered
 *	lazy <hash>\n		or: not synced, every rev below a lease
 *
 * <hash> is the BLAKE2b-128 (hex) of the lines above it.  A crash can
 * tear the last synced batch, whose signatures never left, and any lazy
 * batch after it, whose revs lie below the lease: damage with only lazy
 * batches after it is dropped.  A synced batch after damage means the
 * damage is in synced data, and stops signerd, as a bad state file
 * does.  The rev of a DID is the newest of its state file's and the
 * journal's, and never at or below the floor, the newest lease found at
 * start.  At start and when the journal grows past a bound it is
 * replaced by one batch holding every DID's rev and the lease (written
 * aside, synced and renamed).
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto.h"
#include "log.h"
#include "signerd.h"
#include "syntax.h"
#include "tid.h"

#define JOURNAL_NAME		"rev.journal"
#define JOURNAL_HASHLEN		16
#define JOURNAL_HEXLEN		(2 * JOURNAL_HASHLEN)
#define JOURNAL_COMPACT_MIN	(1024 * 1024)
#define JOURNAL_READ_MAX	(64 * 1024 * 1024)

struct answer {
	uint32_t	 id;
	uint8_t		 sig[SIG_LEN];
};

static int		 jfd = -1;
static off_t		 jsize;		/* whole batches written */
static off_t		 jbase;		/* its size after the last compaction */
static char		*batch;		/* lines not yet written */
static size_t		 batchlen, batchcap;
static int		 batch_sync;	/* a rev in it is not below the lease */
static struct answer	*answers;	/* held until the batch is written */
static size_t		 nanswers, answercap;
static uint64_t		 lease;		/* on disk: revs below need no sync */
static uint64_t		 floor_tid;	/* the lease found at start */

static int	batch_append(const char *, size_t);
static int	batch_seal(int);
static int	batch_lease(uint64_t);
static int	hash_hex(const char *, size_t, char *, size_t);
static void	replay(char *, size_t);
static void	replay_batch(char *, char *);
static void	compact(void);
static uint64_t	lease_next(void);
static void	lease_extend(void);

static int
hash_hex(const char *p, size_t len, char *out, size_t outsz)
{
	uint8_t	 h[JOURNAL_HASHLEN];

	if (crypto_generichash(h, sizeof(h), (const uint8_t *)p, len, NULL,
	    0) != 0 || sodium_bin2hex(out, outsz, h, sizeof(h)) == NULL)
		return -1;
	return 0;
}

static int
batch_append(const char *p, size_t len)
{
	char	*nb;
	size_t	 cap;

	if (batchlen + len > batchcap) {
		cap = batchcap ? batchcap : 4096;
		while (cap < batchlen + len)
			cap *= 2;
		if ((nb = realloc(batch, cap)) == NULL)
			return -1;
		batch = nb;
		batchcap = cap;
	}
	memcpy(batch + batchlen, p, len);
	batchlen += len;
	return 0;
}

/* The end line over what the batch holds so far. */
static int
batch_seal(int synced)
{
	char		 line[8 + JOURNAL_HEXLEN];
	const char	*tag = synced ? "end " : "lazy ";
	size_t		 tl = strlen(tag);

	memcpy(line, tag, tl);
	if (hash_hex(batch, batchlen, line + tl, sizeof(line) - tl) == -1)
		return -1;
	line[tl + JOURNAL_HEXLEN] = '\n';
	return batch_append(line, tl + JOURNAL_HEXLEN + 1);
}

static int
batch_lease(uint64_t v)
{
	char	 line[8 + TID_BUFSZ], tid[TID_BUFSZ];
	int	 n;

	tid_encode(v, tid);
	n = snprintf(line, sizeof(line), "lease %s\n", tid);
	return batch_append(line, n);
}

/* Applies the lines of one checked batch, [p, end). */
static void
replay_batch(char *p, char *end)
{
	struct binding	*b;
	char		*nl, *did, *rev;
	uint64_t	 v;

	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', end - p);
		*nl = '\0';
		if (strncmp(p, "lease ", 6) == 0) {
			if (tid_parse(p + 6, strlen(p + 6), &v) == -1)
				fatalx("%s: bad lease %s", JOURNAL_NAME, p + 6);
			if (v > floor_tid)
				floor_tid = v;
			continue;
		}
		if (strncmp(p, "rev ", 4) != 0 ||
		    (rev = strchr(p + 4, ' ')) == NULL)
			fatalx("%s: malformed line", JOURNAL_NAME);
		did = p + 4;
		*rev++ = '\0';
		if (!syntax_is_tid(rev, strlen(rev)))
			fatalx("%s: bad rev %s", JOURNAL_NAME, rev);
		if ((b = state_find(did)) == NULL)
			fatalx("%s: rev of unknown did %s", JOURNAL_NAME, did);
		if (b->rev[0] == '\0' || tid_compare(rev, b->rev) > 0)
			strlcpy(b->rev, rev, sizeof(b->rev));
	}
}

/*
 * The next end line at a line start at or after p, or NULL; *synced
 * says which kind.
 */
static char *
next_end(char *buf, char *p, char *lim, int *synced)
{
	size_t	 tl;

	for (;;) {
		if (p >= lim)
			return NULL;
		if (p == buf || p[-1] == '\n') {
			*synced = memcmp(p, "end ", 4) == 0;
			tl = *synced ? 4 : 5;
			if ((*synced || (lim - p >= 5 &&
			    memcmp(p, "lazy ", 5) == 0)) &&
			    (size_t)(lim - p) >= tl + JOURNAL_HEXLEN + 1 &&
			    p[tl + JOURNAL_HEXLEN] == '\n')
				return p;
		}
		if ((p = memchr(p, '\n', lim - p)) == NULL)
			return NULL;
		p++;
	}
}

/* The batch [start, end) against the hash of its end line at end. */
static int
batch_good(char *start, char *end, int synced)
{
	char	 want[JOURNAL_HEXLEN + 1];

	return end > start && hash_hex(start, end - start, want,
	    sizeof(want)) == 0 && memcmp(end + (synced ? 4 : 5), want,
	    JOURNAL_HEXLEN) == 0;
}

#define END_LEN(synced)	(((synced) ? 4 : 5) + JOURNAL_HEXLEN + 1)

static void
replay(char *buf, size_t len)
{
	char	*lim = buf + len, *p = buf, *e, *bad;
	int	 synced;

	while ((e = next_end(buf, p, lim, &synced)) != NULL &&
	    batch_good(p, e, synced)) {
		replay_batch(p, e);
		p = e + END_LEN(synced);
	}
	if (p == lim)
		return;
	/*
	 * A torn last batch, and lazy batches after it, unless a synced one
	 * follows the damage: every batch before a synced one was synced.
	 */
	bad = p;
	while ((e = next_end(buf, p, lim, &synced)) != NULL) {
		p = e + END_LEN(synced);
		if ((e = next_end(buf, p, lim, &synced)) != NULL && synced &&
		    batch_good(p, e, synced))
			fatalx("%s: damaged at byte %zu", JOURNAL_NAME,
			    (size_t)(bad - buf));
	}
	log_warnx("%s: dropped %zu bytes at its end (a torn or unsynced "
	    "batch)", JOURNAL_NAME, (size_t)(lim - bad));
}

/* Every DID's rev and the lease as one batch, replacing the journal. */
static void
compact(void)
{
	struct binding	*b;
	char		 line[SIGNER_DID_BUFSZ + TID_BUFSZ + 8];
	int		 n;

	batchlen = 0;
	for (b = state_first(); b != NULL; b = state_next(b)) {
		if (b->rev[0] == '\0')
			continue;
		n = snprintf(line, sizeof(line), "rev %s %s\n", b->did, b->rev);
		if (batch_append(line, n) == -1)
			fatal("journal");
	}
	if (batch_lease(lease) == -1 || batch_seal(1) == -1)
		fatal("journal");
	if (keystore_write_file(JOURNAL_NAME, batch, batchlen) == -1)
		fatalx("cannot write %s", JOURNAL_NAME);
	if (jfd != -1)
		close(jfd);
	if ((jfd = keystore_open_file(JOURNAL_NAME, O_WRONLY | O_APPEND)) ==
	    -1)
		fatal("open %s", JOURNAL_NAME);
	jsize = jbase = batchlen;
	batchlen = 0;
}

static uint64_t
now_us(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1 || ts.tv_sec < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* A lease a full term from now, never below the one held. */
static uint64_t
lease_next(void)
{
	uint64_t	 us = now_us() + SIGNERD_LEASE_MS * 1000, v;

	if (us > TID_US_MAX)
		us = TID_US_MAX;
	v = tid_make(us, 0);
	return v > lease ? v : lease;
}

/* After state_load_all(), before the sandbox. */
void
journal_init(void)
{
	struct stat	 sb;
	char		*buf;
	ssize_t		 n;
	int		 fd;

	if ((fd = keystore_open_file(JOURNAL_NAME, O_RDONLY)) == -1) {
		if (errno != ENOENT)
			fatal("open %s", JOURNAL_NAME);
	} else {
		if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
		    sb.st_size > JOURNAL_READ_MAX)
			fatalx("%s: not a regular file of at most %d bytes",
			    JOURNAL_NAME, JOURNAL_READ_MAX);
		if ((buf = malloc(sb.st_size + 1)) == NULL)
			fatal("malloc");
		if ((n = read(fd, buf, sb.st_size)) != sb.st_size)
			fatalx("%s: short read", JOURNAL_NAME);
		close(fd);
		replay(buf, (size_t)n);
		free(buf);
	}
	lease = floor_tid;
	lease = lease_next();
	compact();
}

/* Revs at or below it are refused for every DID. */
uint64_t
journal_floor(void)
{
	return floor_tid;
}

/*
 * Rev of b (already raised in memory) and the answer held for later;
 * rev is b's rev as a number.
 */
int
journal_add(const struct binding *b, uint64_t rev, uint32_t id,
    const uint8_t *sig)
{
	struct answer	*na;
	char		 line[SIGNER_DID_BUFSZ + TID_BUFSZ + 8];
	size_t		 cap;
	int		 n;

	if (nanswers == answercap) {
		cap = answercap ? answercap * 2 : 64;
		if ((na = reallocarray(answers, cap, sizeof(*na))) == NULL)
			return -1;
		answers = na;
		answercap = cap;
	}
	n = snprintf(line, sizeof(line), "rev %s %s\n", b->did, b->rev);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    batch_append(line, n) == -1)
		return -1;
	if (rev >= lease)
		batch_sync = 1;
	answers[nanswers].id = id;
	memcpy(answers[nanswers].sig, sig, SIG_LEN);
	nanswers++;
	return 0;
}

/*
 * Writes the batch: the answers wait for a sync only if a rev in it is
 * not below the lease, and that sync moves the lease on too.
 */
static int
batch_write(void)
{
	uint64_t	 next = 0;
	int		 ok;

	if (batch_sync)
		next = lease_next();
	ok = (!batch_sync || batch_lease(next) == 0) &&
	    batch_seal(batch_sync) == 0 && write(jfd, batch, batchlen) ==
	    (ssize_t)batchlen && (!batch_sync || fdatasync(jfd) == 0);
	if (ok) {
		jsize += batchlen;
		if (batch_sync)
			lease = next;
	} else {
		log_warn("%s", JOURNAL_NAME);
		/* No torn batch in the middle for the next start to see. */
		if (ftruncate(jfd, jsize) == -1)
			log_warn("ftruncate %s", JOURNAL_NAME);
	}
	batchlen = 0;
	batch_sync = 0;
	return ok ? 0 : -1;
}

/* A new lease on disk; the old one holds until it is. */
static void
lease_extend(void)
{
	batchlen = 0;
	batch_sync = 1;
	(void)batch_write();
}

/*
 * The commits signed since the last flush: one write, and one
 * fdatasync if any of them needs it, then their answers.  If the batch
 * cannot be written every one is refused; the revs stay raised in
 * memory, which only makes signerd stricter.  Then, while commits flow,
 * the lease is moved on before it runs out: after the answers have
 * left, so that no answer waits for that sync.
 */
void
journal_flush(void)
{
	size_t	 i;
	int	 ok;

	if (nanswers == 0)
		return;
	ok = batch_write() == 0;
	for (i = 0; i < nanswers; i++) {
		if (ok)
			signerd_reply(answers[i].id, answers[i].sig, SIG_LEN);
		else
			signerd_refuse(answers[i].id,
			    "commit: cannot save state");
	}
	sodium_memzero(answers, nanswers * sizeof(*answers));
	nanswers = 0;
	if (ok && jsize > JOURNAL_COMPACT_MIN && jsize > 4 * jbase)
		compact();
	if (tid_timestamp(lease) < now_us() + SIGNERD_LEASE_MS * 1000 / 2) {
		signerd_send_now();
		lease_extend();
	}
}
