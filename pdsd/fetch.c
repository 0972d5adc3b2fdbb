/*
 * Outbound HTTP for the frontend: the PLC directory, handle and DID
 * resolution, relays, and the AppView proxy.  libcurl's multi interface
 * runs on the frontend's event loop: curl tells us which sockets to
 * watch and when to wake it, libevent does the watching, so no request
 * ever blocks the loop.  Every request has a deadline.
 *
 * Two ways to take an answer: whole, bounded (fetch_buffered), or
 * streamed (fetch_stream): the status and headers once, then the body
 * piece by piece, with the reader able to pause the transfer while it
 * cannot take more.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <ctype.h>
#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "log.h"
#include "pdsd.h"

#define FETCH_TIMEOUT_MS	10000
#define FETCH_STREAM_MS		60000	/* a streamed answer, whole */
#define FETCH_CONNECT_MS	5000
#define FETCH_MAX_PENDING	256
#define FETCH_CA_MAX		(4 * 1024 * 1024)
#define FETCH_HEADERS_MAX	(16 * 1024)	/* of the answer's head */

/* Where the systems we run on keep their trusted roots. */
static const char *const ca_files[] = {
	"/etc/ssl/certs/ca-certificates.crt",	/* Debian */
	"/etc/ssl/cert.pem",			/* OpenBSD */
	"/etc/pki/tls/certs/ca-bundle.crt",	/* Fedora */
};

struct fetch_req {
	TAILQ_ENTRY(fetch_req)	 entry;
	CURL			*easy;
	struct curl_slist	*headers;
	char			*post;		/* our copy of the body */
	/* buffered */
	char			*body;		/* the answer, NUL-terminated */
	size_t			 len;
	size_t			 max;
	int			 toobig;
	fetch_cb		 cb;
	/* streamed */
	const struct fetch_stream_cbs *scb;
	char			*head;		/* answer header lines */
	size_t			 headlen;
	int			 head_done;
	int			 aborted;
	void			*arg;
	char			 errbuf[CURL_ERROR_SIZE];
};
TAILQ_HEAD(fetch_req_list, fetch_req);

/* What a socket curl gave us is waiting for. */
struct fetch_sock {
	struct event		 ev;
	curl_socket_t		 fd;
};

static struct {
	CURLM			*multi;
	struct event		 timer;
	struct fetch_req_list	 reqs;
	size_t			 nreqs;
	struct curl_blob	 ca;	/* read before a chroot */
} fx;

static void	fetch_check_done(void);

static size_t
fetch_write(char *data, size_t size, size_t n, void *arg)
{
	struct fetch_req	*r = arg;
	char			*p;

	n *= size;
	if (n > r->max - r->len) {
		r->toobig = 1;
		return 0;	/* curl stops with CURLE_WRITE_ERROR */
	}
	if ((p = realloc(r->body, r->len + n + 1)) == NULL)
		return 0;
	memcpy(p + r->len, data, n);
	r->body = p;
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* The answer's head, kept (bounded) until the body starts. */
static size_t
fetch_header(char *data, size_t size, size_t n, void *arg)
{
	struct fetch_req	*r = arg;
	char			*p;

	n *= size;
	/* A redirect or a 100 Continue starts a new head. */
	if (n > 5 && strncmp(data, "HTTP/", 5) == 0)
		r->headlen = 0;
	if (n > FETCH_HEADERS_MAX - r->headlen)
		return 0;
	if ((p = realloc(r->head, r->headlen + n + 1)) == NULL)
		return 0;
	memcpy(p + r->headlen, data, n);
	r->head = p;
	r->headlen += n;
	r->head[r->headlen] = '\0';
	return n;
}

/*
 * The value of header name in the answer's head, copied into buf; NULL
 * if absent.  Names compare without case.
 */
const char *
fetch_header_get(struct fetch_req *r, const char *name, char *buf,
    size_t len)
{
	const char	*p, *e, *v;
	size_t		 nl = strlen(name), vl;

	for (p = r->head; p != NULL && *p != '\0'; p = e + (*e != '\0')) {
		if ((e = strchr(p, '\n')) == NULL)
			e = p + strlen(p);
		if ((size_t)(e - p) <= nl || p[nl] != ':' ||
		    strncasecmp(p, name, nl) != 0)
			continue;
		for (v = p + nl + 1; v < e && (*v == ' ' || *v == '\t'); v++)
			;
		for (vl = e - v; vl > 0 && isspace((unsigned char)v[vl - 1]);
		    vl--)
			;
		if (vl >= len)
			return NULL;
		memcpy(buf, v, vl);
		buf[vl] = '\0';
		return buf;
	}
	return NULL;
}

static void
fetch_head_ready(struct fetch_req *r)
{
	long	 status = 0;

	if (r->head_done)
		return;
	r->head_done = 1;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (r->scb->head(r->arg, r, (int)status) == -1)
		r->aborted = 1;
}

static size_t
fetch_stream_write(char *data, size_t size, size_t n, void *arg)
{
	struct fetch_req	*r = arg;
	int			 rv;

	n *= size;
	fetch_head_ready(r);
	if (r->aborted)
		return 0;
	if ((rv = r->scb->data(r->arg, data, n)) == -1) {
		r->aborted = 1;
		return 0;
	}
	return rv == 1 ? CURL_WRITEFUNC_PAUSE : n;
}

static void
fetch_sock_event(int fd, short what, void *arg)
{
	int	 running, flags = 0;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(fx.multi, fd, flags, &running);
	fetch_check_done();
}

static void
fetch_timer_event(int fd, short what, void *arg)
{
	int	 running;

	curl_multi_socket_action(fx.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	fetch_check_done();
}

/* CURLMOPT_SOCKETFUNCTION: watch a socket as curl asks, or stop. */
static int
fetch_sock_cb(CURL *easy, curl_socket_t fd, int what, void *uarg,
    void *sockp)
{
	struct fetch_sock	*s = sockp;
	short			 ev = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			event_del(&s->ev);
			free(s);
			curl_multi_assign(fx.multi, fd, NULL);
		}
		return 0;
	}
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return -1;
		s->fd = fd;
		curl_multi_assign(fx.multi, fd, s);
	} else
		event_del(&s->ev);
	if (what & CURL_POLL_IN)
		ev |= EV_READ;
	if (what & CURL_POLL_OUT)
		ev |= EV_WRITE;
	event_set(&s->ev, fd, ev, fetch_sock_event, NULL);
	event_base_set(fe->base, &s->ev);
	return event_add(&s->ev, NULL);
}

/* CURLMOPT_TIMERFUNCTION: one timer for the whole multi handle. */
static int
fetch_timer_cb(CURLM *multi, long ms, void *uarg)
{
	struct timeval	 tv;

	evtimer_del(&fx.timer);
	if (ms < 0)
		return 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return evtimer_add(&fx.timer, &tv);
}

/* The trusted roots, in memory: a chrooted frontend cannot open them. */
static void
fetch_load_ca(void)
{
	FILE	*f;
	size_t	 i, n;
	char	*p;

	for (i = 0; i < sizeof(ca_files) / sizeof(ca_files[0]); i++) {
		if ((f = fopen(ca_files[i], "re")) == NULL)
			continue;
		if ((p = malloc(FETCH_CA_MAX)) != NULL &&
		    (n = fread(p, 1, FETCH_CA_MAX, f)) > 0 &&
		    n < FETCH_CA_MAX) {
			fx.ca.data = p;
			fx.ca.len = n;
			fx.ca.flags = CURL_BLOB_COPY;
			p = NULL;
		}
		free(p);
		fclose(f);
		if (fx.ca.data != NULL)
			return;
	}
	log_warnx("no CA bundle found: https requests use curl's default");
}

/*
 * Called lazily on first use; the frontend calls it before chroot so
 * that the trusted roots are still there to read.
 */
int
fetch_init(void)
{
	if (fx.multi != NULL)
		return 0;
	if (fx.ca.data == NULL)
		fetch_load_ca();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (fx.multi = curl_multi_init()) == NULL)
		return -1;
	TAILQ_INIT(&fx.reqs);
	evtimer_set(&fx.timer, fetch_timer_event, NULL);
	event_base_set(fe->base, &fx.timer);
	curl_multi_setopt(fx.multi, CURLMOPT_SOCKETFUNCTION, fetch_sock_cb);
	curl_multi_setopt(fx.multi, CURLMOPT_TIMERFUNCTION, fetch_timer_cb);
	return 0;
}

static void
fetch_req_free(struct fetch_req *r)
{
	if (r->easy != NULL) {
		curl_multi_remove_handle(fx.multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->headers);
	free(r->post);
	free(r->body);
	free(r->head);
	free(r);
}

static void
fetch_why(struct fetch_req *r, CURLcode rc, char *why, size_t len)
{
	if (r->toobig)
		snprintf(why, len, "answer longer than %zu bytes", r->max);
	else
		snprintf(why, len, "%s", r->errbuf[0] != '\0' ? r->errbuf :
		    curl_easy_strerror(rc));
}

/* Finished transfers: take each off the list, then call back. */
static void
fetch_check_done(void)
{
	struct fetch_req	*r;
	CURLMsg			*m;
	CURL			*easy;
	CURLcode		 rc;
	long			 status = 0;
	int			 left;
	char			 why[CURL_ERROR_SIZE + 64];

	while ((m = curl_multi_info_read(fx.multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		easy = m->easy_handle;
		rc = m->data.result;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
		TAILQ_REMOVE(&fx.reqs, r, entry);
		fx.nreqs--;
		if (rc != CURLE_OK)
			fetch_why(r, rc, why, sizeof(why));
		if (r->scb != NULL) {
			if (rc == CURLE_OK)
				fetch_head_ready(r);
			if (!r->aborted)
				r->scb->done(r->arg, rc == CURLE_OK ? NULL :
				    why);
		} else {
			if (rc == CURLE_OK)
				curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE,
				    &status);
			r->cb(r->arg, rc == CURLE_OK ? (int)status : 0,
			    r->body != NULL ? r->body : "", r->len,
			    rc == CURLE_OK ? NULL : why);
		}
		fetch_req_free(r);
	}
}

static struct fetch_req *
fetch_new(const struct fetch_opts *o, void *arg)
{
	struct fetch_req	*r;
	CURL			*e;
	size_t			 i;

	if (fetch_init() == -1 || fx.nreqs >= FETCH_MAX_PENDING ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->arg = arg;
	if ((r->easy = e = curl_easy_init()) == NULL)
		goto fail;
	curl_easy_setopt(e, CURLOPT_URL, o->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms > 0 ?
	    o->timeout_ms : (long)FETCH_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)FETCH_CONNECT_MS);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "pdsd/" PDS_VERSION);
	if (fx.ca.data != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &fx.ca);
	if (o->redirects > 0) {
		curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)o->redirects);
	}
	for (i = 0; o->headers != NULL && o->headers[i] != NULL; i++) {
		struct curl_slist	*l;

		if ((l = curl_slist_append(r->headers, o->headers[i])) ==
		    NULL)
			goto fail;
		r->headers = l;
	}
	if (o->post != NULL) {
		if ((r->post = malloc(o->postlen + 1)) == NULL)
			goto fail;
		memcpy(r->post, o->post, o->postlen);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)o->postlen);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->post);
		/* Never "Expect: 100-continue": one round trip less. */
		if ((r->headers = curl_slist_append(r->headers, "Expect:")) ==
		    NULL)
			goto fail;
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	return r;
 fail:
	fetch_req_free(r);
	return NULL;
}

static int
fetch_add(struct fetch_req *r)
{
	if (curl_multi_add_handle(fx.multi, r->easy) != CURLM_OK) {
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
		fetch_req_free(r);
		return -1;
	}
	TAILQ_INSERT_TAIL(&fx.reqs, r, entry);
	fx.nreqs++;
	return 0;
}

/*
 * GET url, or POST post (JSON) to it; read at most max bytes of the
 * answer.  The callback always comes later, from the loop; -1 means
 * it never will.
 */
int
fetch_buffered(const char *url, const char *post, size_t max,
    int redirects, fetch_cb cb, void *arg)
{
	static const char *const json[] = {
		"Content-Type: application/json", NULL
	};
	struct fetch_opts	 o;
	struct fetch_req	*r;

	memset(&o, 0, sizeof(o));
	o.url = url;
	o.redirects = redirects;
	if (post != NULL) {
		o.headers = json;
		o.post = post;
		o.postlen = strlen(post);
	}
	if ((r = fetch_new(&o, arg)) == NULL)
		return -1;
	r->max = max;
	r->cb = cb;
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, fetch_write);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	return fetch_add(r);
}

/*
 * A streamed exchange.  Callbacks come from the loop, never from inside
 * this call: head once (return -1 to drop the answer: no more
 * callbacks), data for each piece (0 taken, 1 not now: pause, -1
 * drop), then done with NULL or the reason it failed.  The request
 * pointer given to head stays valid until done returns or until
 * fetch_cancel.
 */
struct fetch_req *
fetch_stream(const struct fetch_opts *o, const struct fetch_stream_cbs *cbs,
    void *arg)
{
	struct fetch_req	*r;

	if ((r = fetch_new(o, arg)) == NULL)
		return NULL;
	r->scb = cbs;
	if (o->timeout_ms <= 0)
		curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS,
		    (long)FETCH_STREAM_MS);
	curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, fetch_header);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, fetch_stream_write);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	if (fetch_add(r) == -1)
		return NULL;
	return r;
}

/* Go on after a data callback asked for a pause. */
void
fetch_resume(struct fetch_req *r)
{
	curl_easy_pause(r->easy, CURLPAUSE_CONT);
	fetch_check_done();
}

/* Stop a streamed exchange now, without any further callback. */
void
fetch_cancel(struct fetch_req *r)
{
	TAILQ_REMOVE(&fx.reqs, r, entry);
	fx.nreqs--;
	fetch_req_free(r);
}

size_t
fetch_pending(void)
{
	return fx.nreqs;
}

/* Drop whatever is in flight, without calling back: we are exiting. */
void
fetch_shutdown(void)
{
	struct fetch_req	*r;

	if (fx.multi == NULL)
		return;
	while ((r = TAILQ_FIRST(&fx.reqs)) != NULL) {
		TAILQ_REMOVE(&fx.reqs, r, entry);
		fetch_req_free(r);
	}
	fx.nreqs = 0;
	evtimer_del(&fx.timer);
	curl_multi_cleanup(fx.multi);
	fx.multi = NULL;
	free(fx.ca.data);
	fx.ca.data = NULL;
	curl_global_cleanup();
}
