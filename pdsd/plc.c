/*
 * Outbound HTTP for identity: the PLC directory (submitting signed
 * operations) and https://HANDLE/.well-known/atproto-did.  libcurl's
 * multi interface runs on the frontend's event loop: curl tells us
 * which sockets to watch and when to wake it, libevent does the
 * watching, so no request ever blocks the loop.  Every request has a
 * deadline and a bound on the answer it will read.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json.h>

#include "cbor.h"
#include "dm.h"
#include "dmjson.h"
#include "log.h"
#include "pdsd.h"

#define PLC_TIMEOUT_MS		10000
#define PLC_CONNECT_MS		5000
#define PLC_MAX_REDIRS		3
#define PLC_MAX_PENDING		256
#define PLC_CA_MAX		(4 * 1024 * 1024)

/* Where the systems we run on keep their trusted roots. */
static const char *const ca_files[] = {
	"/etc/ssl/certs/ca-certificates.crt",	/* Debian */
	"/etc/ssl/cert.pem",			/* OpenBSD */
	"/etc/pki/tls/certs/ca-bundle.crt",	/* Fedora */
};

struct plc_req {
	TAILQ_ENTRY(plc_req)	 entry;
	CURL			*easy;
	struct curl_slist	*headers;
	struct curl_slist	*connect_to;
	char			*body;		/* the answer, NUL-terminated */
	size_t			 len;
	size_t			 max;
	int			 toobig;
	char			 errbuf[CURL_ERROR_SIZE];
	plc_fetch_cb		 cb;
	void			*arg;
};
TAILQ_HEAD(plc_req_list, plc_req);

/* What a socket curl gave us is waiting for. */
struct plc_sock {
	struct event		 ev;
	curl_socket_t		 fd;
};

struct plc_submit {
	plc_submit_cb		 cb;
	void			*arg;
};

static struct {
	CURLM			*multi;
	struct event		 timer;
	struct plc_req_list	 reqs;
	size_t			 nreqs;
	struct curl_blob	 ca;	/* read before a chroot */
} plc;

static void	plc_check_done(void);

static size_t
plc_write(char *data, size_t size, size_t n, void *arg)
{
	struct plc_req	*r = arg;
	char		*p;

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

static void
plc_sock_event(int fd, short what, void *arg)
{
	int	 running, flags = 0;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(plc.multi, fd, flags, &running);
	plc_check_done();
}

static void
plc_timer_event(int fd, short what, void *arg)
{
	int	 running;

	curl_multi_socket_action(plc.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	plc_check_done();
}

/* CURLMOPT_SOCKETFUNCTION: watch a socket as curl asks, or stop. */
static int
plc_sock_cb(CURL *easy, curl_socket_t fd, int what, void *uarg,
    void *sockp)
{
	struct plc_sock	*s = sockp;
	short		 ev = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			event_del(&s->ev);
			free(s);
			curl_multi_assign(plc.multi, fd, NULL);
		}
		return 0;
	}
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return -1;
		s->fd = fd;
		curl_multi_assign(plc.multi, fd, s);
	} else
		event_del(&s->ev);
	if (what & CURL_POLL_IN)
		ev |= EV_READ;
	if (what & CURL_POLL_OUT)
		ev |= EV_WRITE;
	event_set(&s->ev, fd, ev, plc_sock_event, NULL);
	event_base_set(fe->base, &s->ev);
	return event_add(&s->ev, NULL);
}

/* CURLMOPT_TIMERFUNCTION: one timer for the whole multi handle. */
static int
plc_timer_cb(CURLM *multi, long ms, void *uarg)
{
	struct timeval	 tv;

	evtimer_del(&plc.timer);
	if (ms < 0)
		return 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return evtimer_add(&plc.timer, &tv);
}

/* The trusted roots, in memory: a chrooted frontend cannot open them. */
static void
plc_load_ca(void)
{
	FILE	*f;
	size_t	 i, n;
	char	*p;

	for (i = 0; i < sizeof(ca_files) / sizeof(ca_files[0]); i++) {
		if ((f = fopen(ca_files[i], "re")) == NULL)
			continue;
		if ((p = malloc(PLC_CA_MAX)) != NULL &&
		    (n = fread(p, 1, PLC_CA_MAX, f)) > 0 && n < PLC_CA_MAX) {
			plc.ca.data = p;
			plc.ca.len = n;
			plc.ca.flags = CURL_BLOB_COPY;
			p = NULL;
		}
		free(p);
		fclose(f);
		if (plc.ca.data != NULL)
			return;
	}
	log_warnx("no CA bundle found: https requests use curl's default");
}

/*
 * Called lazily on first use; the frontend may call it before chroot
 * so that the trusted roots are still there to read.
 */
int
plc_init(void)
{
	if (plc.multi != NULL)
		return 0;
	if (plc.ca.data == NULL)
		plc_load_ca();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (plc.multi = curl_multi_init()) == NULL)
		return -1;
	TAILQ_INIT(&plc.reqs);
	evtimer_set(&plc.timer, plc_timer_event, NULL);
	event_base_set(fe->base, &plc.timer);
	curl_multi_setopt(plc.multi, CURLMOPT_SOCKETFUNCTION, plc_sock_cb);
	curl_multi_setopt(plc.multi, CURLMOPT_TIMERFUNCTION, plc_timer_cb);
	return 0;
}

static void
plc_req_free(struct plc_req *r)
{
	if (r->easy != NULL) {
		curl_multi_remove_handle(plc.multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->headers);
	curl_slist_free_all(r->connect_to);
	free(r->body);
	free(r);
}

/* Finished transfers: take each off the list, then call back. */
static void
plc_check_done(void)
{
	struct plc_req	*r;
	CURLMsg		*m;
	CURL		*easy;
	CURLcode	 rc;
	long		 status = 0;
	int		 left;
	char		 why[CURL_ERROR_SIZE + 64];

	while ((m = curl_multi_info_read(plc.multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		easy = m->easy_handle;
		rc = m->data.result;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
		TAILQ_REMOVE(&plc.reqs, r, entry);
		plc.nreqs--;
		if (rc == CURLE_OK)
			curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE,
			    &status);
		else if (r->toobig)
			snprintf(why, sizeof(why), "answer longer than %zu "
			    "bytes", r->max);
		else
			snprintf(why, sizeof(why), "%s", r->errbuf[0] != '\0' ?
			    r->errbuf : curl_easy_strerror(rc));
		r->cb(r->arg, rc == CURLE_OK ? (int)status : 0,
		    r->body != NULL ? r->body : "", r->len,
		    rc == CURLE_OK ? NULL : why);
		plc_req_free(r);
	}
}

/*
 * GET url, or POST post (JSON) to it; read at most max bytes of the
 * answer.  The callback always comes later, from the loop; -1 means
 * it never will.
 */
int
plc_fetch(const char *url, const char *post, size_t max, int redirects,
    plc_fetch_cb cb, void *arg)
{
	return plc_fetch_via(url, NULL, post, max, redirects, 0, cb, arg);
}

/*
 * plc_fetch within timeout ms (0: the default), connecting where via
 * says ("HOST:PORT:ADDR:PORT", curl's CURLOPT_CONNECT_TO; NULL: where
 * the URL's host resolves).
 */
int
plc_fetch_via(const char *url, const char *via, const char *post,
    size_t max, int redirects, long timeout, plc_fetch_cb cb, void *arg)
{
	struct plc_req	*r;
	CURL		*e;

	if (plc_init() == -1 || plc.nreqs >= PLC_MAX_PENDING ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->max = max;
	r->cb = cb;
	r->arg = arg;
	if ((r->easy = e = curl_easy_init()) == NULL)
		goto fail;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout > 0 ? timeout :
	    (long)PLC_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)PLC_CONNECT_MS);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "pdsd/" PDS_VERSION);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, plc_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	if (plc.ca.data != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &plc.ca);
	if (via != NULL) {
		if ((r->connect_to = curl_slist_append(NULL, via)) == NULL)
			goto fail;
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, r->connect_to);
	}
	if (redirects > 0) {
		curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)redirects);
	}
	if (post != NULL) {
		if ((r->headers = curl_slist_append(NULL,
		    "Content-Type: application/json")) == NULL)
			goto fail;
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, post);
	}
	if (curl_multi_add_handle(plc.multi, e) != CURLM_OK)
		goto fail;
	TAILQ_INSERT_TAIL(&plc.reqs, r, entry);
	plc.nreqs++;
	return 0;
 fail:
	if (r->easy != NULL)
		curl_easy_cleanup(r->easy);
	r->easy = NULL;
	plc_req_free(r);
	return -1;
}

size_t
plc_pending(void)
{
	return plc.nreqs;
}

/* Drop whatever is in flight, without calling back: we are exiting. */
void
plc_shutdown(void)
{
	struct plc_req	*r;

	if (plc.multi == NULL)
		return;
	while ((r = TAILQ_FIRST(&plc.reqs)) != NULL) {
		TAILQ_REMOVE(&plc.reqs, r, entry);
		plc_req_free(r);
	}
	plc.nreqs = 0;
	evtimer_del(&plc.timer);
	curl_multi_cleanup(plc.multi);
	plc.multi = NULL;
	free(plc.ca.data);
	plc.ca.data = NULL;
	curl_global_cleanup();
}

int
plc_configured(void)
{
	return fe->cfg.plc[0] != '\0';
}

/* The directory's URL for a DID, with any trailing slash dropped. */
int
plc_url(const char *did, const char *suffix, char *buf, size_t len)
{
	size_t	 n = strlen(fe->cfg.plc);

	while (n > 0 && fe->cfg.plc[n - 1] == '/')
		n--;
	if (n == 0)
		return -1;
	return snprintf(buf, len, "%.*s/%s%s", (int)n, fe->cfg.plc, did,
	    suffix) >= (int)len ? -1 : 0;
}

/* The JSON the directory takes: the signed operation, field for field. */
char *
plc_op_json(const uint8_t *op, size_t len)
{
	struct dm	*m;
	char		*s;

	if (dm_cbor_decode(op, len, &m, NULL) == -1)
		return NULL;
	s = dmjson_encode_str(m, NULL);
	dm_free(m);
	return s;
}

/* The directory's reason, from its {"message": ...}, bounded. */
void
plc_reason(const char *body, size_t len, char *buf, size_t buflen)
{
	struct json_object	*o, *msg;

	buf[0] = '\0';
	if ((o = json_tokener_parse(body)) != NULL &&
	    json_object_object_get_ex(o, "message", &msg) &&
	    json_object_is_type(msg, json_type_string))
		snprintf(buf, buflen, "%.200s", json_object_get_string(msg));
	json_object_put(o);
	if (buf[0] == '\0')
		snprintf(buf, buflen, "%.*s", len > 200 ? 200 : (int)len,
		    body);
}

static void
plc_submitted(void *arg, int status, const char *body, size_t len,
    const char *err)
{
	struct plc_submit	*s = arg;
	char			 why[512], reason[256];

	if (err != NULL)
		snprintf(why, sizeof(why), "PLC directory unreachable: %s",
		    err);
	else if (status < 200 || status > 299) {
		plc_reason(body, len, reason, sizeof(reason));
		snprintf(why, sizeof(why), "PLC directory refused the "
		    "operation (%d): %s", status, reason);
	}
	s->cb(s->arg, err == NULL && status >= 200 && status <= 299 ?
	    NULL : why);
	free(s);
}

/*
 * POST a signed operation (DAG-CBOR) to the configured directory; the
 * callback gets NULL once the directory took it, else the reason.
 */
int
plc_submit(const char *did, const uint8_t *op, size_t len,
    plc_submit_cb cb, void *arg)
{
	struct plc_submit	*s;
	char			 url[PDSD_URL_MAX + 64], *json;
	int			 rv;

	if (plc_url(did, "", url, sizeof(url)) == -1 ||
	    (json = plc_op_json(op, len)) == NULL)
		return -1;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		free(json);
		return -1;
	}
	s->cb = cb;
	s->arg = arg;
	rv = plc_fetch(url, json, PLC_ANSWER_MAX, 0, plc_submitted, s);
	free(json);
	if (rv == -1)
		free(s);
	return rv;
}
