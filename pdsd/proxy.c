/*
 * The AppView proxy, as the reference PDS does it: a call this server
 * does not answer itself goes on to the configured AppView, or to the
 * service an atproto-proxy header names ("did:web:host#bsky_appview"),
 * with a service token signed by signerd for the caller's account (iss
 * the account, aud the service's DID, lxm the method).  The answer
 * streams back as it arrives; at most PROXY_OUT_MAX bytes of it wait
 * for a slow client before the upstream transfer pauses.
 *
 * xrpc.c decides which calls come here (xrpc_proxied).
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json.h>

#include "auth.h"
#include "http.h"
#include "log.h"
#include "pdsd.h"
#include "syntax.h"
#include "xrpc.h"

#define PROXY_BODY_MAX		(1024 * 1024)	/* a forwarded POST body */
#define PROXY_DOC_MAX		(64 * 1024)	/* a DID document */
#define PROXY_ERR_MAX		(64 * 1024)	/* an upstream error body */
#define PROXY_OUT_MAX		(256 * 1024)	/* waiting for the client */
#define PROXY_WAIT_MS		20		/* look again after a pause */
#define PROXY_TOKEN_TTL		60
#define PROXY_CACHE_TTL		60		/* a resolved service URL */
#define PROXY_CACHE_SIZE	64
#define PROXY_TO_MAX		(DID_MAX + 1 + 64)
#define PROXY_HDR_MAX		1024		/* an answer header passed on */
#define PROXY_URL_MAX		(PDSD_URL_MAX + HTTP_REQLINE_MAX)
#define PROXY_AUTH		AUTH_ACCESS_APP

/* Request headers the upstream sees, as the reference passes them. */
static const char *const fwd_req[] = {
	"Accept-Language", "Atproto-Accept-Labelers", "X-Bsky-Topics",
};
static const char *const fwd_post[] = {
	"Content-Type", "Content-Encoding",
};
/* Answer headers the client sees, beside Content-Type. */
static const char *const fwd_res[] = {
	"Content-Language", "Content-Encoding", "Atproto-Repo-Rev",
	"Atproto-Content-Labelers", "Retry-After",
};
#define NFWD(a)	(sizeof(a) / sizeof((a)[0]))

struct proxy {
	struct http_request	*req;		/* NULL: the client left */
	struct fetch_req	*fr;		/* the upstream exchange */
	struct event		 wait;
	int			 waiting;
	int			 busy;		/* a resolution or the signer */
	char			 lxm[NSID_MAX + 1];
	char			 did[DID_MAX + 1];	/* the caller */
	char			 aud[DID_MAX + 1];
	char			 to[PROXY_TO_MAX];	/* header; "" none */
	char			 base[PDSD_URL_MAX];	/* service URL */
	char			*body;
	size_t			 bodylen;
	char			*err;		/* an upstream error body */
	size_t			 errlen;
	int			 status;
};

struct cache_ent {
	char		 to[PROXY_TO_MAX];
	char		 url[PDSD_URL_MAX];
	time_t		 at;
};
static struct cache_ent	cache[PROXY_CACHE_SIZE];

static void	proxy_resolved(struct proxy *, const char *);
static void	proxy_signed(void *, const char *);

static void
proxy_free(struct proxy *p)
{
	if (p->waiting)
		evtimer_del(&p->wait);
	free(p->body);
	free(p->err);
	free(p);
}

static void
proxy_abort(struct http_request *req)
{
	struct proxy	*p = http_request_data(req);

	p->req = NULL;
	if (p->fr != NULL)
		fetch_cancel(p->fr);
	/* A resolution or the signer holds p: its callback frees it. */
	if (!p->busy)
		proxy_free(p);
}

/* Answer an error and forget the request. */
static void
proxy_fail(struct proxy *p, int status, const char *name, const char *msg)
{
	if (p->req != NULL) {
		http_request_on_abort(p->req, NULL);
		http_reply_json_error(p->req, status, name, msg);
	}
	proxy_free(p);
}

static const char *
cache_get(const char *to)
{
	time_t	 now = time(NULL);
	size_t	 i;

	for (i = 0; i < PROXY_CACHE_SIZE; i++)
		if (cache[i].to[0] != '\0' && strcmp(cache[i].to, to) == 0 &&
		    now - cache[i].at < PROXY_CACHE_TTL)
			return cache[i].url;
	return NULL;
}

static void
cache_put(const char *to, const char *url)
{
	size_t	 i, old = 0;

	for (i = 0; i < PROXY_CACHE_SIZE; i++) {
		if (strcmp(cache[i].to, to) == 0) {
			old = i;
			break;
		}
		if (cache[i].at < cache[old].at)
			old = i;
	}
	strlcpy(cache[old].to, to, sizeof(cache[old].to));
	strlcpy(cache[old].url, url, sizeof(cache[old].url));
	cache[old].at = time(NULL);
}

/*
 * The reference's checks of an atproto-proxy value, in its words; NULL
 * if well-formed.
 */
static const char *
proxy_header_problem(const char *to)
{
	const char	*h = strchr(to, '#');

	if (h == to)
		return "no did specified in proxy header";
	if (h == NULL || h[1] == '\0')
		return "no service id specified in proxy header";
	if (strchr(h + 1, '#') != NULL)
		return "invalid proxy header format";
	if (strchr(to, ' ') != NULL)
		return "proxy header cannot contain spaces";
	if (strlen(to) >= PROXY_TO_MAX)
		return "could not resolve proxy did";
	return NULL;
}

/*
 * The endpoint of service "#id" in a DID document: an http(s) URL, in
 * buf without a trailing slash.  0, or -1.
 */
static int
doc_service(struct json_object *doc, const char *did, const char *id,
    char *buf, size_t len)
{
	struct json_object	*svcs, *s;
	const char		*sid, *ep, *docid;
	size_t			 i, n, dl = strlen(did);

	docid = xrpc_json_str(doc, "id");
	if (docid == NULL || strcmp(docid, did) != 0 ||
	    !json_object_object_get_ex(doc, "service", &svcs) ||
	    !json_object_is_type(svcs, json_type_array))
		return -1;
	for (i = 0; i < json_object_array_length(svcs); i++) {
		s = json_object_array_get_idx(svcs, i);
		if ((sid = xrpc_json_str(s, "id")) == NULL)
			continue;
		if (strncmp(sid, did, dl) == 0)
			sid += dl;
		if (strcmp(sid, id) != 0 ||
		    (ep = xrpc_json_str(s, "serviceEndpoint")) == NULL)
			continue;
		if (strncmp(ep, "https://", 8) != 0 &&
		    strncmp(ep, "http://", 7) != 0)
			return -1;
		n = strlen(ep);
		while (n > 0 && ep[n - 1] == '/')
			n--;
		if (n >= len || strcspn(ep, " \t\r\n\"") < n)
			return -1;
		memcpy(buf, ep, n);
		buf[n] = '\0';
		return 0;
	}
	return -1;
}

/* A DID document arrived (or not): find the service the header names. */
static void
proxy_doc(struct proxy *p, struct json_object *doc)
{
	char	 did[DID_MAX + 1], url[PDSD_URL_MAX];
	char	*h;

	strlcpy(did, p->to, sizeof(did));
	if ((h = strchr(did, '#')) != NULL)
		*h = '\0';
	if (doc == NULL) {
		proxy_fail(p, 400, "InvalidRequest",
		    "could not resolve proxy did");
		return;
	}
	if (doc_service(doc, did, strchr(p->to, '#'), url,
	    sizeof(url)) == -1) {
		proxy_fail(p, 400, "InvalidRequest",
		    "could not resolve proxy did service url");
		return;
	}
	cache_put(p->to, url);
	proxy_resolved(p, url);
}

static void
proxy_doc_fetched(void *arg, int status, const char *body, size_t len,
    const char *err)
{
	struct proxy		*p = arg;
	struct json_object	*doc = NULL;

	p->busy = 0;
	if (p->req == NULL) {
		proxy_free(p);
		return;
	}
	if (err != NULL)
		log_info("proxy: DID document for %s: %s", p->to, err);
	else if (status == 200)
		doc = json_tokener_parse(body);
	proxy_doc(p, doc);
	json_object_put(doc);
}

/*
 * Where a DID's document is: https://HOST/.well-known/did.json for
 * did:web (plain http for localhost, as the reference resolver does),
 * the PLC directory for did:plc.  0, 1 for a local did:plc with no
 * directory, -1 for none.
 */
static int
doc_url(const char *did, char *buf, size_t len)
{
	char	 host[PDSD_HOST_MAX + 8];
	ssize_t	 n;

	if (strncmp(did, "did:plc:", 8) == 0)
		return plc_configured() ? plc_url(did, "", buf, len) : 1;
	if (strncmp(did, "did:web:", 8) != 0 || strchr(did + 8, ':') != NULL)
		return -1;
	if ((n = http_pct_decode(did + 8, strlen(did + 8), host, sizeof(host),
	    0)) <= 0 || strcspn(host, "/?#@ ") != (size_t)n)
		return -1;
	return snprintf(buf, len, "%s://%s/.well-known/did.json",
	    strcmp(host, "localhost") == 0 ||
	    strncmp(host, "localhost:", 10) == 0 ? "http" : "https", host) >=
	    (int)len ? -1 : 0;
}

/* The header's target: cached, configured, local or fetched. */
static void
proxy_resolve(struct proxy *p)
{
	struct json_object	*doc;
	const char		*url;
	char			 did[DID_MAX + 1], docurl[PDSD_URL_MAX + 64];
	char			*h;
	int			 r;

	strlcpy(did, p->to, sizeof(did));
	if ((h = strchr(did, '#')) != NULL)
		*h = '\0';
	strlcpy(p->aud, did, sizeof(p->aud));
	if (proxy_is_appview(p->to)) {
		proxy_resolved(p, fe->cfg.appview);
		return;
	}
	if ((url = cache_get(p->to)) != NULL) {
		proxy_resolved(p, url);
		return;
	}
	if (h == NULL || !syntax_is_did(did, strlen(did)) ||
	    (r = doc_url(did, docurl, sizeof(docurl))) == -1) {
		proxy_doc(p, NULL);
		return;
	}
	if (r == 1) {
		doc = identity_did_doc(did);
		proxy_doc(p, doc);
		json_object_put(doc);
		return;
	}
	if (fetch_buffered(docurl, NULL, PROXY_DOC_MAX, 0, proxy_doc_fetched,
	    p) == -1)
		proxy_fail(p, 503, "NotEnoughResources",
		    "too many outbound requests; try again");
	else
		p->busy = 1;
}

static void
proxy_resolved(struct proxy *p, const char *url)
{
	strlcpy(p->base, url, sizeof(p->base));
	if (servauth_sign(p->did, p->aud, p->lxm, time(NULL) +
	    PROXY_TOKEN_TTL, proxy_signed, p) == -1)
		proxy_fail(p, 503, "NotEnoughResources",
		    "Signer unavailable; try again");
	else
		p->busy = 1;
}

/* The upstream's answer head: pass it on, or keep its error. */
static int
proxy_head(void *arg, struct fetch_req *fr, int status)
{
	struct proxy	*p = arg;
	char		 v[PROXY_HDR_MAX];
	size_t		 i;

	p->status = status;
	if (status >= 400)
		return 0;
	if (fetch_header_get(fr, "Content-Encoding", v, sizeof(v)) != NULL)
		http_request_no_gzip(p->req);
	http_response_start(p->req, status, fetch_header_get(fr,
	    "Content-Type", v, sizeof(v)) != NULL ? v : "application/json");
	for (i = 0; i < NFWD(fwd_res); i++)
		if (fetch_header_get(fr, fwd_res[i], v, sizeof(v)) != NULL)
			http_add_header(p->req, fwd_res[i], v);
	return 0;
}

static void
proxy_wait_cb(int fd, short ev, void *arg)
{
	struct proxy	*p = arg;
	struct timeval	 tv = { 0, PROXY_WAIT_MS * 1000 };

	p->waiting = 0;
	if (http_response_pending(p->req) > PROXY_OUT_MAX) {
		p->waiting = 1;
		evtimer_add(&p->wait, &tv);
		return;
	}
	/* May call back and finish, freeing p: nothing after this. */
	fetch_resume(p->fr);
}

static int
proxy_data(void *arg, const char *data, size_t len)
{
	struct proxy	*p = arg;
	struct timeval	 tv = { 0, PROXY_WAIT_MS * 1000 };
	char		*e;

	if (p->status >= 400) {
		if (len > PROXY_ERR_MAX - p->errlen)
			len = PROXY_ERR_MAX - p->errlen;
		if ((e = realloc(p->err, p->errlen + len + 1)) == NULL)
			return -1;
		memcpy(e + p->errlen, data, len);
		p->err = e;
		p->errlen += len;
		p->err[p->errlen] = '\0';
		return 0;
	}
	if (http_response_pending(p->req) > PROXY_OUT_MAX) {
		if (!p->waiting) {
			p->waiting = 1;
			evtimer_set(&p->wait, proxy_wait_cb, p);
			event_base_set(fe->base, &p->wait);
			evtimer_add(&p->wait, &tv);
		}
		return 1;
	}
	http_response_body(p->req, data, len);
	http_response_flush(p->req);
	return 0;
}

/* The reference's names for the statuses an upstream may answer. */
static const char *
status_name(int status)
{
	switch (status) {
	case 401:
		return "AuthenticationRequired";
	case 403:
		return "Forbidden";
	case 404:
		return "XRPCNotSupported";
	case 406:
		return "NotAcceptable";
	case 413:
		return "PayloadTooLarge";
	case 415:
		return "UnsupportedMediaType";
	case 429:
		return "RateLimitExceeded";
	case 501:
		return "MethodNotImplemented";
	case 503:
		return "NotEnoughResources";
	case 504:
		return "UpstreamTimeout";
	default:
		return status >= 500 ? "UpstreamFailure" : "InvalidRequest";
	}
}

/* An upstream error, as the reference re-raises it: 500 becomes 502. */
static void
proxy_upstream_error(struct proxy *p)
{
	struct json_object	*o;
	const char		*name = NULL, *msg = NULL;
	int			 status = p->status == 500 ? 502 : p->status;

	o = p->err != NULL ? json_tokener_parse(p->err) : NULL;
	if (o != NULL && json_object_is_type(o, json_type_object)) {
		name = xrpc_json_str(o, "error");
		msg = xrpc_json_str(o, "message");
	}
	http_request_on_abort(p->req, NULL);
	http_reply_json_error(p->req, status, name != NULL ? name :
	    status_name(status), msg);
	json_object_put(o);
}

static void
proxy_done(void *arg, const char *err)
{
	struct proxy	*p = arg;

	p->fr = NULL;
	if (err != NULL && p->status == 0) {
		log_info("proxy: %s: %s", p->base, err);
		proxy_fail(p, 502, "UpstreamFailure",
		    "Upstream service unreachable");
		return;
	}
	if (p->status >= 400)
		proxy_upstream_error(p);
	else {
		if (err != NULL) {
			/* Cut short: the client must not take it as whole. */
			log_info("proxy: %s: %s", p->base, err);
			http_response_close(p->req);
		}
		http_request_on_abort(p->req, NULL);
		http_response_end(p->req);
	}
	proxy_free(p);
}

static const struct fetch_stream_cbs proxy_cbs = {
	proxy_head, proxy_data, proxy_done,
};

/* The token is here: send the call on. */
static void
proxy_signed(void *arg, const char *tok)
{
	struct proxy		*p = arg;
	struct fetch_opts	 o;
	const char		*v, *hv[NFWD(fwd_req) + NFWD(fwd_post) + 2];
	char			 url[PROXY_URL_MAX];
	char			 hbuf[NFWD(fwd_req) + NFWD(fwd_post) + 1]
				    [HTTP_HDRLINE_MAX + 64];
	size_t			 i, n = 0;

	p->busy = 0;
	if (p->req == NULL) {
		proxy_free(p);
		return;
	}
	if (tok == NULL) {
		proxy_fail(p, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	if (snprintf(url, sizeof(url), "%s%s", p->base,
	    http_request_head(p->req)->target) >= (int)sizeof(url)) {
		proxy_fail(p, 414, "URITooLong", "URI Too Long");
		return;
	}
	for (i = 0; i < NFWD(fwd_req) + NFWD(fwd_post); i++) {
		const char	*name = i < NFWD(fwd_req) ? fwd_req[i] :
				    fwd_post[i - NFWD(fwd_req)];

		if (i >= NFWD(fwd_req) && p->body == NULL)
			break;
		if ((v = http_request_header(p->req, name)) == NULL)
			continue;
		snprintf(hbuf[n], sizeof(hbuf[n]), "%s: %s", name, v);
		hv[n] = hbuf[n];
		n++;
	}
	snprintf(hbuf[n], sizeof(hbuf[n]), "Authorization: Bearer %s", tok);
	hv[n] = hbuf[n];
	hv[++n] = NULL;
	memset(&o, 0, sizeof(o));
	o.url = url;
	o.headers = hv;
	o.post = p->body;
	o.postlen = p->bodylen;
	if ((p->fr = fetch_stream(&o, &proxy_cbs, p)) == NULL)
		proxy_fail(p, 503, "NotEnoughResources",
		    "too many outbound requests; try again");
}

static void
proxy_go(struct proxy *p)
{
	if (p->to[0] != '\0')
		proxy_resolve(p);
	else {
		strlcpy(p->aud, fe->cfg.appview_did, sizeof(p->aud));
		proxy_resolved(p, fe->cfg.appview);
	}
}

static void
proxy_body(struct http_request *req, const uint8_t *body, size_t len)
{
	struct proxy	*p = http_request_data(req);

	/* A copy: ours outlives nothing, but the layer's is the layer's. */
	if ((p->body = malloc(len + 1)) == NULL) {
		proxy_fail(p, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	memcpy(p->body, body, len);
	p->bodylen = len;
	proxy_go(p);
}

/*
 * Send req (method nsid) on: to the service its atproto-proxy header
 * names, else to the configured AppView.
 */
void
proxy_forward(struct http_request *req, const char *nsid)
{
	struct proxy	*p;
	struct auth	 a;
	const char	*method = http_request_method(req);
	const char	*to = http_request_header(req, "atproto-proxy");
	const char	*why;
	int		 post = strcmp(method, "POST") == 0;

	if (!post && strcmp(method, "GET") != 0) {
		http_reply_json_error(req, 400, "InvalidRequest",
		    "XRPC requests only supports GET and POST");
		return;
	}
	if (servauth_protected(nsid)) {
		http_reply_json_error(req, 400, "InvalidToken",
		    "Bad token method");
		return;
	}
	if (to != NULL && (why = proxy_header_problem(to)) != NULL) {
		http_reply_json_error(req, 400, "InvalidRequest", why);
		return;
	}
	if (auth_check(req, PROXY_AUTH, &a) == -1)
		return;
	if (a.scope == AUTH_SCOPE_APPPASS && servauth_privileged(nsid)) {
		http_reply_json_error(req, 400, "InvalidToken",
		    "Bad token method");
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		http_reply_json_error(req, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	p->req = req;
	strlcpy(p->lxm, nsid, sizeof(p->lxm));
	strlcpy(p->did, a.did, sizeof(p->did));
	if (to != NULL)
		strlcpy(p->to, to, sizeof(p->to));
	http_request_set_data(req, p);
	http_request_on_abort(req, proxy_abort);
	if (post)
		http_request_body_max(req, PROXY_BODY_MAX, proxy_body);
	else
		proxy_go(p);
}

/* Whether an atproto-proxy value names the configured AppView. */
int
proxy_is_appview(const char *to)
{
	size_t	 n = strlen(fe->cfg.appview_did);

	return fe->cfg.appview[0] != '\0' &&
	    strncmp(to, fe->cfg.appview_did, n) == 0 &&
	    strcmp(to + n, "#bsky_appview") == 0;
}
