/*
 * The rev journal ("rev.journal" in the key directory): the last
 * signed rev of each DID, appended as commits are signed, so that a
 * signature costs one fdatasync shared by every commit signed in the
 * same turn of the event loop (group commit), not a rewrite, a rename
 * and a directory sync of the DID's state file.
 *
 * The file is a sequence of batches, each one write(2):
 *
 *	rev <did> <tid>\n	one or more
 *	end <hash>\n		BLAKE2b-128 (hex) of the rev lines above
 *
 * A signature is sent only after its batch is synced.  A crash can tear
 * only the last batch, whose signatures never left: a bad batch at the
 * end is dropped.  A bad batch with a good one after it is damage to
 * synced data, and stops signerd, as a bad state file does.  The rev of
 * a DID is the newest of its state file's and the journal's.  At start
 * and when the journal grows past a bound it is replaced by one batch
 * holding every DID's rev (written aside, synced and renamed).
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto.h"
#include "log.h"
#include "signerd.h"
#include "syntax.h"
#include "tid.h"

#define JOURNAL_NAME		"rev.journal"
#define JOURNAL_HASHLEN		16
#define JOURNAL_COMPACT_MIN	(1024 * 1024)
#define JOURNAL_READ_MAX	(64 * 1024 * 1024)

struct answer {
	uint32_t	 id;
	uint8_t		 sig[SIG_LEN];
};

static int		 jfd = -1;
static off_t		 jsize;		/* synced and whole */
static off_t		 jbase;		/* its size after the last compaction */
static char		*batch;		/* rev lines not yet written */
static size_t		 batchlen, batchcap;
static struct answer	*answers;	/* held until the batch is synced */
static size_t		 nanswers, answercap;

static int	batch_append(const char *, size_t);
static int	batch_seal(void);
static int	hash_hex(const char *, size_t, char *, size_t);
static void	replay(char *, size_t);
static void	replay_batch(char *, char *);
static void	compact(void);

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
batch_seal(void)
{
	char	 line[8 + 2 * JOURNAL_HASHLEN + 2];

	memcpy(line, "end ", 4);
	if (hash_hex(batch, batchlen, line + 4, sizeof(line) - 4) == -1)
		return -1;
	line[4 + 2 * JOURNAL_HASHLEN] = '\n';
	return batch_append(line, 5 + 2 * JOURNAL_HASHLEN);
}

/* Applies the rev lines of one checked batch, [p, end). */
static void
replay_batch(char *p, char *end)
{
	struct binding	*b;
	char		*nl, *did, *rev;

	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', end - p);
		*nl = '\0';
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
 * The position of the next "end" line at a line start at or after p,
 * or NULL.
 */
static char *
next_end(char *buf, char *p, char *lim)
{
	for (;;) {
		if (p >= lim)
			return NULL;
		if ((p == buf || p[-1] == '\n') && lim - p >= 5 +
		    2 * JOURNAL_HASHLEN && memcmp(p, "end ", 4) == 0 &&
		    p[4 + 2 * JOURNAL_HASHLEN] == '\n')
			return p;
		if ((p = memchr(p, '\n', lim - p)) == NULL)
			return NULL;
		p++;
	}
}

static int
batch_good(char *start, char *end)
{
	char	 want[2 * JOURNAL_HASHLEN + 1];

	return end > start && hash_hex(start, end - start, want,
	    sizeof(want)) == 0 && memcmp(end + 4, want,
	    2 * JOURNAL_HASHLEN) == 0;
}

static void
replay(char *buf, size_t len)
{
	char	*lim = buf + len, *p = buf, *e, *bad;

	while ((e = next_end(buf, p, lim)) != NULL && batch_good(p, e)) {
		replay_batch(p, e);
		p = e + 5 + 2 * JOURNAL_HASHLEN;
	}
	if (p == lim)
		return;
	/* A torn last batch, unless a good one follows the damage. */
	bad = p;
	while ((e = next_end(buf, p, lim)) != NULL) {
		p = e + 5 + 2 * JOURNAL_HASHLEN;
		if (p < lim && (e = next_end(buf, p, lim)) != NULL &&
		    batch_good(p, e))
			fatalx("%s: damaged at byte %zu", JOURNAL_NAME,
			    (size_t)(bad - buf));
	}
	log_warnx("%s: dropped a torn last batch of %zu bytes", JOURNAL_NAME,
	    (size_t)(lim - bad));
}

/* Every DID's rev as one batch, replacing the journal. */
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
	if (batchlen > 0 && batch_seal() == -1)
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
	compact();
}

/* Rev of b (already raised in memory) and the answer held for later. */
int
journal_add(const struct binding *b, uint32_t id, const uint8_t *sig)
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
	answers[nanswers].id = id;
	memcpy(answers[nanswers].sig, sig, SIG_LEN);
	nanswers++;
	return 0;
}

/*
 * One write and one fdatasync for every commit signed since the last
 * flush, then their answers.  If the batch cannot be made durable every
 * one is refused; the revs stay raised in memory, which only makes
 * signerd stricter.
 */
void
journal_flush(void)
{
	size_t	 i;
	int	 ok;

	if (nanswers == 0)
		return;
	ok = batch_seal() == 0 && write(jfd, batch, batchlen) ==
	    (ssize_t)batchlen && fdatasync(jfd) == 0;
	if (ok)
		jsize += batchlen;
	else {
		log_warn("%s", JOURNAL_NAME);
		/* No torn batch in the middle for the next start to see. */
		if (ftruncate(jfd, jsize) == -1)
			log_warn("ftruncate %s", JOURNAL_NAME);
	}
	for (i = 0; i < nanswers; i++) {
		if (ok)
			signerd_reply(answers[i].id, answers[i].sig, SIG_LEN);
		else
			signerd_refuse(answers[i].id,
			    "commit: cannot save state");
	}
	sodium_memzero(answers, nanswers * sizeof(*answers));
	nanswers = 0;
	batchlen = 0;
	if (ok && jsize > JOURNAL_COMPACT_MIN && jsize > 4 * jbase)
		compact();
}
