/*
 * A handle's DNS proof: the TXT record at _atproto.HANDLE holding
 * "did=DID".  libevent's evdns asks no TXT questions, so the lookup is
 * glibc's res_nquery on a work queue of its own (workq.c): the resolver
 * library does the transport (random query ids, TCP on truncation,
 * retries under a deadline), its ns_parserr splits the answer into
 * records, and the only parsing of ours is the TXT payload below,
 * bounded by the record's length.  That is less code exposed to the
 * network than a DNS client of our own on the event loop would be.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <event.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pdsd.h"
#include "syntax.h"

#define RESOLVE_THREADS		2
#define RESOLVE_QUEUE_MAX	32	/* lookups queued and running */
#define RESOLVE_RETRANS		1	/* seconds before a retry... */
#define RESOLVE_RETRY		2	/* ...of this many tries a server */
#define RESOLVE_ANSWER_MAX	8192
#define TXT_MAX			1024	/* one record's joined strings */

struct txt_job {
	char			 name[HANDLE_MAX + 16];
	struct sockaddr_in	 ns[MAXNS];	/* none: the system's */
	int			 nns;
	char			 did[DID_MAX + 1];	/* "": none */
	resolve_cb		 cb;
	void			*arg;
};

static struct {
	struct workq		*q;
	struct sockaddr_in	 sys[MAXNS];	/* resolv.conf, before chroot */
	int			 nsys;
} rs;

static void	txt_run(void *);
static void	txt_done(void *);

/*
 * The workers, and the system's name servers read now: a chrooted
 * frontend finds no /etc/resolv.conf later.
 */
int
resolve_init(struct event_base *base)
{
	struct __res_state	 st;
	int			 i;

	if (rs.q != NULL)
		return 0;
	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) == 0) {
		for (i = 0; i < st.nscount && i < MAXNS; i++)
			if (st.nsaddr_list[i].sin_family == AF_INET)
				rs.sys[rs.nsys++] = st.nsaddr_list[i];
		res_nclose(&st);
	}
	if ((rs.q = workq_new(base, "resolve", RESOLVE_THREADS,
	    RESOLVE_QUEUE_MAX, 0, free)) == NULL)
		return -1;
	return 0;
}

void
resolve_shutdown(void)
{
	workq_free(rs.q);
	rs.q = NULL;
}

/*
 * The DID in a TXT answer to a query of ours: exactly one record that
 * starts "did=" (its strings joined), as the reference takes it, and a
 * DID by the syntax rules.  0, or -1 with did untouched.
 */
int
resolve_txt_did(const uint8_t *msg, size_t len, char *did, size_t didlen)
{
	ns_msg		 h;
	ns_rr		 rr;
	const uint8_t	*p, *end;
	char		 txt[TXT_MAX + 1], found[DID_MAX + 1];
	size_t		 tl, n;
	int		 i, count, nfound = 0;

	if (len > RESOLVE_ANSWER_MAX || ns_initparse(msg, (int)len, &h) == -1)
		return -1;
	count = ns_msg_count(h, ns_s_an);
	for (i = 0; i < count; i++) {
		if (ns_parserr(&h, ns_s_an, i, &rr) == -1)
			return -1;
		if (ns_rr_type(rr) != ns_t_txt || ns_rr_class(rr) != ns_c_in)
			continue;
		p = ns_rr_rdata(rr);
		end = p + ns_rr_rdlen(rr);
		tl = 0;
		while (p < end) {
			n = *p++;
			if (n > (size_t)(end - p) || n > TXT_MAX - tl)
				return -1;
			memcpy(txt + tl, p, n);
			tl += n;
			p += n;
		}
		txt[tl] = '\0';
		if (tl < 4 || memcmp(txt, "did=", 4) != 0)
			continue;
		if (++nfound > 1)
			return -1;
		if (tl - 4 > DID_MAX || memchr(txt, '\0', tl) != NULL ||
		    !syntax_is_did(txt + 4, tl - 4))
			return -1;
		memcpy(found, txt + 4, tl - 4 + 1);
	}
	if (nfound != 1 || strlcpy(did, found, didlen) >= didlen)
		return -1;
	return 0;
}

/* On a worker: one query, its own resolver state, no loop state. */
static void
txt_run(void *arg)
{
	struct txt_job		*j = arg;
	struct __res_state	 st;
	uint8_t			*ans;
	int			 i, n;

	if ((ans = malloc(RESOLVE_ANSWER_MAX)) == NULL)
		return;
	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) == -1) {
		free(ans);
		return;
	}
	if (j->nns > 0) {
		for (i = 0; i < j->nns; i++)
			st.nsaddr_list[i] = j->ns[i];
		st.nscount = j->nns;
	}
	/* The name is whole: no search domains, no dots counting. */
	st.options &= ~(RES_DEFNAMES | RES_DNSRCH);
	st.retrans = RESOLVE_RETRANS;
	st.retry = RESOLVE_RETRY;
	n = res_nquery(&st, j->name, ns_c_in, ns_t_txt, ans,
	    RESOLVE_ANSWER_MAX);
	if (n > 0 && n <= RESOLVE_ANSWER_MAX)
		(void)resolve_txt_did(ans, (size_t)n, j->did, sizeof(j->did));
	res_nclose(&st);
	free(ans);
}

static void
txt_done(void *arg)
{
	struct txt_job	*j = arg;

	j->cb(j->arg, j->did[0] != '\0' ? j->did : NULL);
	free(j);
}

/*
 * Look up _atproto.HANDLE (a normalized handle); cb gets the DID or
 * NULL, later, on the loop.  -1: no lookup, no callback.
 */
int
resolve_handle_dns(const char *handle, resolve_cb cb, void *arg)
{
	struct txt_job	*j;

	if ((rs.q == NULL && resolve_init(fe->base) == -1) ||
	    (j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	if (snprintf(j->name, sizeof(j->name), "_atproto.%s", handle) >=
	    (int)sizeof(j->name)) {
		free(j);
		return -1;
	}
	if (fe->cfg.resolver[0] != '\0') {
		j->ns[0].sin_family = AF_INET;
		j->ns[0].sin_port = htons(fe->cfg.resolver_port);
		if (inet_pton(AF_INET, fe->cfg.resolver,
		    &j->ns[0].sin_addr) != 1) {
			free(j);
			return -1;
		}
		j->nns = 1;
	} else if (fe->cfg.user[0] != '\0') {
		/* Chrooted: the servers read before. */
		memcpy(j->ns, rs.sys, sizeof(rs.sys));
		j->nns = rs.nsys;
	}
	j->cb = cb;
	j->arg = arg;
	if (workq_submit(rs.q, txt_run, txt_done, j) == -1) {
		free(j);
		return -1;
	}
	return 0;
}
