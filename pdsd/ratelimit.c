/*
 * Abuse limits: fixed windows, as the reference PDS counts them (a key's
 * window starts at its first request and lasts the window's length).
 *
 * Counters are keyed by a keyed BLAKE2b hash of (window, key), so a key
 * of any length costs the same 16 bytes, and nobody who does not know
 * the per-process secret can aim many keys at one hash bucket.  The
 * table never grows past its size: a new key takes a free slot or, when
 * none is left, the least recently used one.  An attacker who floods the
 * table with keys can make us forget counters, never make us allocate.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "http.h"
#include "log.h"
#include "pdsd.h"
#include "ratelimit.h"

#define RL_IDLEN	16
#define RL_KEY_MAX	2400	/* identifier + address, more is cut */
#define RL_ADDR_MAX	64

struct rl_window {
	enum rl_group	 group;
	const char	*name;
	uint32_t	 limit;		/* points per window */
	uint32_t	 secs;
};

/* The reference's defaults. */
static const struct rl_window windows[] = {
	{ RL_GLOBAL,		"global",		3000,	300 },
	{ RL_CREATE_SESSION,	"session-5m",		30,	300 },
	{ RL_CREATE_SESSION,	"session-day",		300,	86400 },
	{ RL_CREATE_ACCOUNT,	"account",		100,	300 },
	{ RL_DELETE_ACCOUNT,	"delete",		50,	300 },
	{ RL_UPDATE_HANDLE,	"handle-5m",		10,	300 },
	{ RL_UPDATE_HANDLE,	"handle-day",		50,	86400 },
	{ RL_REPO_WRITE,	"write-hour",		5000,	3600 },
	{ RL_REPO_WRITE,	"write-day",		35000,	86400 },
};
#define NWINDOWS	(sizeof(windows) / sizeof(windows[0]))

struct rl_entry {
	LIST_ENTRY(rl_entry)	 hash;
	TAILQ_ENTRY(rl_entry)	 lru;
	uint8_t			 id[RL_IDLEN];
	int64_t			 reset;
	uint32_t		 count;
	int			 used;
};
LIST_HEAD(rl_bucket, rl_entry);
TAILQ_HEAD(rl_lru, rl_entry);

static struct rl_entry	*entries;
static struct rl_bucket	*buckets;
static size_t		 nentries, nbuckets, nused;
static struct rl_lru	 lru = TAILQ_HEAD_INITIALIZER(lru);
static uint8_t		 secret[crypto_generichash_KEYBYTES];
static struct rl_verdict last;	/* of the last refusal */

void
ratelimit_free(void)
{
	free(entries);
	free(buckets);
	entries = NULL;
	buckets = NULL;
	nentries = nbuckets = nused = 0;
	TAILQ_INIT(&lru);
}

int
ratelimit_init(size_t max)
{
	size_t	 i;

	ratelimit_free();
	if (sodium_init() == -1)
		return -1;
	if (max == 0)
		max = RL_ENTRIES_DEFAULT;
	for (nbuckets = 1; nbuckets < max; nbuckets <<= 1)
		;
	if ((entries = calloc(max, sizeof(*entries))) == NULL ||
	    (buckets = calloc(nbuckets, sizeof(*buckets))) == NULL) {
		ratelimit_free();
		return -1;
	}
	nentries = max;
	for (i = 0; i < nbuckets; i++)
		LIST_INIT(&buckets[i]);
	/* Free slots wait at the head, where eviction looks first. */
	for (i = 0; i < nentries; i++)
		TAILQ_INSERT_TAIL(&lru, &entries[i], lru);
	randombytes_buf(secret, sizeof(secret));
	return 0;
}

size_t
ratelimit_count(void)
{
	return nused;
}

static void
entry_id(size_t w, const char *key, uint8_t id[RL_IDLEN])
{
	crypto_generichash_state	 st;
	uint8_t				 wb = (uint8_t)w;

	crypto_generichash_init(&st, secret, sizeof(secret), RL_IDLEN);
	crypto_generichash_update(&st, &wb, 1);
	crypto_generichash_update(&st, (const uint8_t *)key, strlen(key));
	crypto_generichash_final(&st, id, RL_IDLEN);
}

static struct rl_bucket *
bucket_of(const uint8_t id[RL_IDLEN])
{
	uint64_t	 h;

	memcpy(&h, id, sizeof(h));
	return &buckets[h & (nbuckets - 1)];
}

/* The counter of id, made (from a free or the oldest slot) if new. */
static struct rl_entry *
entry_get(const uint8_t id[RL_IDLEN])
{
	struct rl_bucket	*b = bucket_of(id);
	struct rl_entry		*e;

	LIST_FOREACH(e, b, hash)
		if (memcmp(e->id, id, RL_IDLEN) == 0)
			break;
	if (e == NULL) {
		e = TAILQ_FIRST(&lru);
		if (e->used)
			LIST_REMOVE(e, hash);
		else
			nused++;
		memcpy(e->id, id, RL_IDLEN);
		e->used = 1;
		e->count = 0;
		e->reset = 0;
		LIST_INSERT_HEAD(b, e, hash);
	}
	TAILQ_REMOVE(&lru, e, lru);
	TAILQ_INSERT_TAIL(&lru, e, lru);
	return e;
}

static void
count(size_t w, const char *key, uint32_t points, time_t now,
    struct rl_verdict *v)
{
	struct rl_entry	*e;
	uint8_t		 id[RL_IDLEN];

	entry_id(w, key, id);
	e = entry_get(id);
	if (now >= e->reset) {
		e->count = 0;
		e->reset = (int64_t)now + windows[w].secs;
	}
	/* Refused requests count too, as the reference's do. */
	e->count = e->count > UINT32_MAX - points ? UINT32_MAX :
	    e->count + points;
	v->limited = e->count > windows[w].limit;
	v->limit = windows[w].limit;
	v->remaining = v->limited ? 0 : windows[w].limit - e->count;
	v->reset = e->reset;
	v->window = windows[w].secs;
}

/*
 * Every window of the group counts the points.  The verdict shown is
 * the refusing window that ends last, or, when none refuses, the one
 * with the fewest points left.
 */
int
ratelimit_take(enum rl_group g, const char *key, uint32_t points,
    time_t now, struct rl_verdict *out)
{
	struct rl_verdict	 v;
	size_t			 w;
	int			 have = 0;

	if (entries == NULL && ratelimit_init(0) == -1)
		return -2;
	memset(out, 0, sizeof(*out));
	for (w = 0; w < NWINDOWS; w++) {
		if (windows[w].group != g)
			continue;
		count(w, key, points, now, &v);
		if (!have || (v.limited && (!out->limited ||
		    v.reset > out->reset)) || (!v.limited && !out->limited &&
		    v.remaining < out->remaining))
			*out = v;
		have = 1;
	}
	if (!have)
		return -2;
	return out->limited ? -1 : 0;
}

/*
 * HTTP.
 */
static int
enabled(void)
{
	return fe != NULL && !fe->cfg.ratelimit_off;
}

static int
loopback(const char *a)
{
	return strcmp(a, "127.0.0.1") == 0 || strcmp(a, "::1") == 0 ||
	    strcmp(a, "local") == 0;
}

/*
 * TLS ends in a proxy in front of us; when that proxy is on this host
 * the peer is always loopback, and the client is the last address the
 * proxy appended to X-Forwarded-For.  From any other peer the header is
 * the client's own word and is ignored.
 */
const char *
ratelimit_client(struct http_request *req)
{
	static char	 addr[RL_ADDR_MAX + 1];
	const char	*peer = http_request_remote(req), *xff, *p;
	size_t		 n;

	if (!loopback(peer) ||
	    (xff = http_request_header(req, "X-Forwarded-For")) == NULL)
		return peer;
	p = (p = strrchr(xff, ',')) != NULL ? p + 1 : xff;
	p += strspn(p, " \t");
	n = strcspn(p, " \t");
	if (n == 0 || n > RL_ADDR_MAX)
		return peer;
	memcpy(addr, p, n);
	addr[n] = '\0';
	return addr;
}

void
ratelimit_reply(struct http_request *req)
{
	const char	*body = "{\"error\":\"RateLimitExceeded\","
			    "\"message\":\"Rate Limit Exceeded\"}";
	char		 b[64];
	int64_t		 wait;

	if (http_response_start(req, 429, "application/json; charset=utf-8")
	    == -1)
		return;
	snprintf(b, sizeof(b), "%" PRIu32, last.limit);
	http_add_header(req, "RateLimit-Limit", b);
	snprintf(b, sizeof(b), "%" PRIu32, last.remaining);
	http_add_header(req, "RateLimit-Remaining", b);
	snprintf(b, sizeof(b), "%" PRId64, last.reset);
	http_add_header(req, "RateLimit-Reset", b);
	snprintf(b, sizeof(b), "%" PRIu32 ";w=%" PRIu32, last.limit,
	    last.window);
	http_add_header(req, "RateLimit-Policy", b);
	wait = last.reset - (int64_t)time(NULL);
	snprintf(b, sizeof(b), "%" PRId64, wait > 0 ? wait : 0);
	http_add_header(req, "Retry-After", b);
	http_response_body(req, body, strlen(body));
	http_response_end(req);
}

/* 0 go on, -1 refused (last holds why). */
static int
take(enum rl_group g, const char *key, uint32_t points)
{
	struct rl_verdict	 v;
	int			 rc;

	if (!enabled())
		return 0;
	if ((rc = ratelimit_take(g, key, points, time(NULL), &v)) == -2) {
		/* Out of memory: limits are a defence, not a gate. */
		log_warnx("rate limits: no memory for the counters");
		return 0;
	}
	if (rc == -1)
		last = v;
	return rc;
}

int
ratelimit_request(struct http_request *req, enum rl_group g,
    const char *key)
{
	char	 k[RL_KEY_MAX];

	snprintf(k, sizeof(k), "%s\n%s", key != NULL ? key : "",
	    ratelimit_client(req));
	if (take(g, k, 1) == -1) {
		log_info("rate limit: %s over %" PRIu32 " per %" PRIu32 " s",
		    ratelimit_client(req), last.limit, last.window);
		ratelimit_reply(req);
		return -1;
	}
	return 0;
}

int
ratelimit_global(struct http_request *req)
{
	return ratelimit_request(req, RL_GLOBAL, NULL);
}

int
ratelimit_repo_write(const char *did, uint32_t points)
{
	return take(RL_REPO_WRITE, did, points);
}
