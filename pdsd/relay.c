/*
 * Telling relays we exist: com.atproto.sync.requestCrawl with our
 * hostname to every "relay" of pdsd.conf.  A relay that has heard of
 * us subscribes to our firehose and needs no more; the reference
 * repeats the request at most every 20 minutes, and only when there
 * are new events, in case the relay dropped us.  We do the same, ask
 * once at start, and retry a failed request with back-off, since a
 * relay that never heard of us will not come by itself.
 *
 * com.atproto.sync.notifyOfUpdate is not sent: the reference PDS
 * stopped sending it (its crawler "notifyOfUpdate" now posts
 * requestCrawl), and relays treat requestCrawl as the one way in.
 *
 * The relays are matched to the configured list by URL on every tick,
 * so a reload that adds or drops one needs no hook.  Requests go out
 * through the event loop's libcurl client (plc.c), never blocking.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "log.h"
#include "pdsd.h"
#include "repo.h"

#define RELAY_TICK_SEC		5
#define RELAY_INTERVAL_SEC	(20 * 60)	/* the reference's rhythm */
#define RELAY_RETRY_MIN_SEC	5
#define RELAY_RETRY_MAX_SEC	RELAY_INTERVAL_SEC
#define RELAY_ANSWER_MAX	4096
#define RELAY_PATH		"/xrpc/com.atproto.sync.requestCrawl"

struct relay {
	TAILQ_ENTRY(relay)	 entry;
	char			 url[PDSD_URL_MAX];
	time_t			 last_attempt;	/* wall clock, for pdsctl */
	time_t			 last_success;
	time_t			 attempt_mono;	/* the schedule's clock */
	time_t			 next_mono;	/* retry after a failure */
	int64_t			 seq;		/* newest event when asked */
	int			 failures;
	int			 in_flight;
	int			 due;		/* ask on the next tick */
	int			 gone;		/* left the configuration */
	char			 error[256];
};
TAILQ_HEAD(relay_list, relay);

static struct relay_list	 relays = TAILQ_HEAD_INITIALIZER(relays);
static struct event		*relay_ev;

static time_t
mono_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static struct relay *
relay_find(const char *url)
{
	struct relay	*r;

	TAILQ_FOREACH(r, &relays, entry)
		if (!r->gone && strcmp(r->url, url) == 0)
			return r;
	return NULL;
}

static int
relay_configured(const char *url)
{
	struct conf_str	*cs;

	TAILQ_FOREACH(cs, &fe->relays, entry)
		if (strcmp(cs->str, url) == 0)
			return 1;
	return 0;
}

/* Follow the configuration: new relays are asked at once. */
static void
relay_sync(void)
{
	struct relay	*r, *next;
	struct conf_str	*cs;

	TAILQ_FOREACH_SAFE(r, &relays, entry, next) {
		if (r->gone || relay_configured(r->url))
			continue;
		/* In flight: the answer frees it. */
		r->gone = 1;
		if (!r->in_flight) {
			TAILQ_REMOVE(&relays, r, entry);
			free(r);
		}
	}
	TAILQ_FOREACH(cs, &fe->relays, entry) {
		if (relay_find(cs->str) != NULL)
			continue;
		if ((r = calloc(1, sizeof(*r))) == NULL) {
			log_warn("relay");
			return;
		}
		strlcpy(r->url, cs->str, sizeof(r->url));
		r->due = 1;
		TAILQ_INSERT_TAIL(&relays, r, entry);
	}
}

/* What went wrong, for the log and pdsctl. */
static void
relay_failed(struct relay *r, const char *why)
{
	int	 backoff = RELAY_RETRY_MIN_SEC;
	int	 i;

	for (i = 0; i < r->failures && backoff < RELAY_RETRY_MAX_SEC; i++)
		backoff *= 2;
	if (backoff > RELAY_RETRY_MAX_SEC)
		backoff = RELAY_RETRY_MAX_SEC;
	r->failures++;
	r->next_mono = mono_now() + backoff;
	strlcpy(r->error, why, sizeof(r->error));
	log_warnx("relay %s: requestCrawl failed (%d in a row, next in "
	    "%d s): %s", r->url, r->failures, backoff, why);
}

static void
relay_answer(void *arg, int status, const char *body, size_t len,
    const char *err)
{
	struct relay	*r = arg;
	char		 why[300], reason[200];

	r->in_flight = 0;
	if (r->gone) {
		TAILQ_REMOVE(&relays, r, entry);
		free(r);
		return;
	}
	if (err != NULL)
		relay_failed(r, err);
	else if (status < 200 || status > 299) {
		plc_reason(body, len, reason, sizeof(reason));
		snprintf(why, sizeof(why), "HTTP %d: %s", status, reason);
		relay_failed(r, why);
	} else {
		if (r->failures > 0 || r->last_success == 0)
			log_info("relay %s: crawl requested", r->url);
		r->failures = 0;
		r->error[0] = '\0';
		r->last_success = time(NULL);
	}
}

/* {"hostname": ...}, escaped by json-c; NULL on no memory. */
static char *
relay_body(void)
{
	struct json_object	*o, *h;
	char			*s = NULL;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if ((h = json_object_new_string(fe->cfg.hostname)) != NULL &&
	    json_object_object_add(o, "hostname", h) == 0)
		s = strdup(json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

static void
relay_request(struct relay *r, int64_t seq)
{
	char	 url[PDSD_URL_MAX + sizeof(RELAY_PATH)];
	char	*body;
	size_t	 n = strlen(r->url);

	while (n > 0 && r->url[n - 1] == '/')
		n--;
	snprintf(url, sizeof(url), "%.*s%s", (int)n, r->url, RELAY_PATH);
	r->due = 0;
	r->seq = seq;
	r->last_attempt = time(NULL);
	r->attempt_mono = mono_now();
	if ((body = relay_body()) == NULL) {
		relay_failed(r, "out of memory");
		return;
	}
	log_debug("relay %s: requestCrawl for %s", r->url, fe->cfg.hostname);
	if (fetch_buffered(url, body, RELAY_ANSWER_MAX, 0, relay_answer, r) == -1)
		relay_failed(r, "cannot start the request");
	else
		r->in_flight = 1;
	free(body);
}

/*
 * Whether r is to be asked now.  *seq is the newest event, read from
 * the database only once a relay's interval has passed (-1 unread).
 */
static int
relay_wanted(struct relay *r, time_t now, int64_t *seq)
{
	if (r->gone || r->in_flight)
		return 0;
	if (r->due)
		return 1;
	if (r->failures > 0)
		return now >= r->next_mono;
	if (now - r->attempt_mono < RELAY_INTERVAL_SEC)
		return 0;
	if (*seq == -1 && fe->db != NULL)
		*seq = events_last_seq(fe->db);
	return *seq > r->seq;
}

static void
relay_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval	 tv = { RELAY_TICK_SEC, 0 };
	struct relay	*r;
	time_t		 now = mono_now();
	int64_t		 seq = -1;

	relay_sync();
	TAILQ_FOREACH(r, &relays, entry) {
		if (!relay_wanted(r, now, &seq))
			continue;
		/* Later events are what makes the next request due. */
		if (seq == -1 && fe->db != NULL)
			seq = events_last_seq(fe->db);
		relay_request(r, seq);
	}
	if (relay_ev != NULL)
		evtimer_add(relay_ev, &tv);
}

/* Ask every relay at once; then on the usual schedule. */
int
relay_start(void)
{
	if (relay_ev != NULL)
		return 0;
	if ((relay_ev = evtimer_new(fe->base, relay_tick, NULL)) == NULL)
		return -1;
	relay_tick(-1, 0, NULL);
	return 0;
}

/* pdsctl crawl: whatever the schedule says. */
void
relay_crawl_now(void)
{
	struct relay	*r;

	relay_sync();
	TAILQ_FOREACH(r, &relays, entry)
		r->due = 1;
	if (relay_ev != NULL)
		event_active(relay_ev, EV_TIMEOUT, 0);
}

int
relay_foreach(int (*cb)(const struct ctl_relay *, void *), void *arg)
{
	struct ctl_relay	 cr;
	struct relay		*r;
	time_t			 now = mono_now();

	relay_sync();
	TAILQ_FOREACH(r, &relays, entry) {
		if (r->gone)
			continue;
		memset(&cr, 0, sizeof(cr));
		strlcpy(cr.url, r->url, sizeof(cr.url));
		cr.last_attempt = r->last_attempt;
		cr.last_success = r->last_success;
		if (r->failures > 0)
			cr.next_attempt = time(NULL) + (r->next_mono > now ?
			    r->next_mono - now : 0);
		cr.failures = r->failures;
		cr.in_flight = r->in_flight;
		strlcpy(cr.last_error, r->error, sizeof(cr.last_error));
		if (cb(&cr, arg) == -1)
			return -1;
	}
	return 0;
}
