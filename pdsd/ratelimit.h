/*
 * Abuse limits (ratelimit.c): fixed-window counters with the reference
 * PDS's defaults, kept in a table of bounded size.
 */
#ifndef PDSD_RATELIMIT_H
#define PDSD_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct http_request;

/* What is counted; a group may have several windows (5 min and a day). */
enum rl_group {
	RL_GLOBAL,		/* every XRPC request, per client address */
	RL_CREATE_SESSION,	/* per identifier and client address */
	RL_CREATE_ACCOUNT,	/* per client address */
	RL_DELETE_ACCOUNT,	/* per client address */
	RL_UPDATE_HANDLE,	/* per DID */
	RL_REPO_WRITE,		/* per DID, in points */
	RL_NGROUPS
};

/* Points of a repository write, as the reference counts them. */
#define RL_POINTS_CREATE	3
#define RL_POINTS_UPDATE	2
#define RL_POINTS_DELETE	1

/*
 * At most this many counters live at once: about 64 bytes each, so
 * under 5 MB with the hash buckets.  Past it the least recently used
 * counter is forgotten.
 */
#define RL_ENTRIES_DEFAULT	65536

/* The state of the window that decided, for the RateLimit-* headers. */
struct rl_verdict {
	int		 limited;
	uint32_t	 limit;
	uint32_t	 remaining;
	int64_t		 reset;		/* Unix seconds: the window ends */
	uint32_t	 window;	/* its length in seconds */
};

/*
 * The core, with no HTTP and no configuration: usable in tests.
 * ratelimit_init sets the table size (0: the default) and forgets every
 * counter; the first ratelimit_take calls it if nobody did.
 * ratelimit_take counts points against each window of the group for
 * key: 0 allowed, -1 over a limit (v says which window), -2 on error.
 */
int	 ratelimit_init(size_t);
void	 ratelimit_free(void);
int	 ratelimit_take(enum rl_group, const char *, uint32_t, time_t,
	    struct rl_verdict *);
size_t	 ratelimit_count(void);

/*
 * For handlers: nothing is counted when the configuration says
 * "rate limits off".  These return 0 to go on, or -1 when they have
 * answered 429 RateLimitExceeded with the RateLimit-* headers.  key
 * NULL counts by client address alone.
 */
int	 ratelimit_request(struct http_request *, enum rl_group,
	    const char *);
int	 ratelimit_global(struct http_request *);
/*
 * A repository write of points (RL_POINTS_*) for did: 0, or -1 when
 * over the limit; then answer with ratelimit_reply (429 and headers of
 * that refusal) before doing anything else on the event loop.
 */
int	 ratelimit_repo_write(const char *, uint32_t);
void	 ratelimit_reply(struct http_request *);
/* The client's address: the peer, or a local proxy's X-Forwarded-For. */
const char *ratelimit_client(struct http_request *);

#endif
