/*
 * Routing of HTTP requests: the few plain paths, then /xrpc/<nsid> by
 * the method tables of the namespace files; and the helpers that shape
 * XRPC answers.
 */
#include <sys/types.h>

#include <event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json.h>

#include "appview.h"
#include "http.h"
#include "log.h"
#include "pdsd.h"
#include "ratelimit.h"
#include "xrpc.h"

#define XRPC_PREFIX	"/xrpc/"
#define JSON_TYPE	"application/json; charset=utf-8"
#define XRPC_MSG_MAX	2048	/* a Lexicon message quotes 256 characters */

static void	xrpc_request(struct http_request *, void *);
static void	xrpc_response_hook(struct http_request *, void *);
static void	xrpc_preflight(struct http_request *);
static void	xrpc_health(struct http_request *);
static void	serve_banner(struct http_request *);
static void	serve_robots(struct http_request *);

static const struct xrpc_method xrpc_core_methods[] = {
	{ "_health",	XRPC_QUERY,	xrpc_health },
	{ NULL,		0,		NULL },
};

static const struct xrpc_method *xrpc_tables[] = {
	xrpc_core_methods,
	xrpc_server_methods,
	xrpc_identity_methods,
	xrpc_repo_methods,
	xrpc_sync_methods,
	xrpc_firehose_methods,
	xrpc_blob_methods,
	xrpc_import_methods,
	xrpc_bsky_feed_methods,
	xrpc_bsky_actor_methods,
	xrpc_prefs_methods,
	xrpc_mute_methods,
};

int
xrpc_start(void)
{
	struct http_limits	 limits;
	struct listen_addr	*la;

	http_limits_default(&limits);
	if ((fe->http = http_server_new(fe->base, &limits, xrpc_request,
	    NULL)) == NULL)
		return -1;
	http_server_set_response_hook(fe->http, xrpc_response_hook);
	TAILQ_FOREACH(la, &fe->listens, entry) {
		if (http_server_listen_fd(fe->http, la->fd) == -1) {
			log_warn("listen on %s port %u", la->host, la->port);
			return -1;
		}
		log_info("listening on %s port %u", la->host, la->port);
	}
	return 0;
}

/*
 * Every answer, errors too: any web page may call us (CORS, as the
 * reference allows), and an answer to a logged-in request is for that
 * client only, never for a shared cache.
 */
static void
xrpc_response_hook(struct http_request *req, void *arg)
{
	http_add_header(req, "Access-Control-Allow-Origin", "*");
	if (http_request_header(req, "Authorization") != NULL &&
	    !http_response_has_header(req, "Cache-Control")) {
		http_add_header(req, "Cache-Control", "private");
		http_add_header(req, "Vary", "Authorization");
	}
}

/* A CORS preflight, on any path: the reference's answer. */
static void
xrpc_preflight(struct http_request *req)
{
	const char	*want;

	want = http_request_header(req, "Access-Control-Request-Headers");
	http_response_start(req, 204, NULL);
	http_add_header(req, "Access-Control-Allow-Methods",
	    "GET,HEAD,PUT,PATCH,POST,DELETE");
	if (want != NULL)
		http_add_header(req, "Access-Control-Allow-Headers", want);
	http_add_header(req, "Vary", "Access-Control-Request-Headers");
	http_add_header(req, "Access-Control-Max-Age", "86400");
	http_response_end(req);
}

static void
reply_text(struct http_request *req, const char *type, const char *text)
{
	http_reply(req, 200, type, text, strlen(text));
}

static void
xrpc_health(struct http_request *req)
{
	const char	*ok = "{\"version\":\"" PDS_VERSION "\"}";
	const char	*bad = "{\"version\":\"" PDS_VERSION "\","
			    "\"error\":\"Service Unavailable\"}";

	if (db_ping(fe->db) == -1) {
		http_reply(req, 503, JSON_TYPE, bad,
		    strlen(bad));
		return;
	}
	http_reply(req, 200, JSON_TYPE, ok,
	    strlen(ok));
}

static void
serve_banner(struct http_request *req)
{
	reply_text(req, "text/plain; charset=utf-8",
	    "This is an AT Protocol Personal Data Server (pdsd " PDS_VERSION
	    "): it hosts the signed data repositories of its accounts and "
	    "serves them over XRPC at /xrpc/. Most API routes are under "
	    "/xrpc/; see https://atproto.com for the protocol.\n");
}

static void
serve_robots(struct http_request *req)
{
	reply_text(req, "text/plain; charset=utf-8",
	    "# Crawling the public API is allowed.\n"
	    "User-agent: *\nAllow: /\n");
}

static const struct xrpc_method *
xrpc_lookup(const char *nsid)
{
	const struct xrpc_method	*m;
	size_t				 i;

	for (i = 0; i < sizeof(xrpc_tables) / sizeof(xrpc_tables[0]); i++)
		for (m = xrpc_tables[i]; m->nsid != NULL; m++)
			if (strcmp(m->nsid, nsid) == 0)
				return m;
	return NULL;
}

void
xrpc_reply_json(struct http_request *req, int status, struct json_object *o)
{
	const char	*s;
	size_t		 len;

	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s == NULL)
		http_reply_json_error(req, 500, "InternalServerError",
		    "Internal Server Error");
	else
		http_reply(req, status, JSON_TYPE, s, len);
	json_object_put(o);
}

void
xrpc_reply_json_text(struct http_request *req, int status, const void *s,
    size_t len)
{
	http_reply(req, status, JSON_TYPE, s, len);
}

void
xrpc_error(struct http_request *req, int status, const char *error,
    const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_reply_json_error(req, status, error, msg);
}

static void
xrpc_json_body(struct http_request *req, const uint8_t *body, size_t len)
{
	void			(*cb)(struct http_request *,
				    struct json_object *);
	struct json_tokener	*tok;
	struct json_object	*o;
	char			 msg[XRPC_MSG_MAX];

	cb = (void (*)(struct http_request *, struct json_object *))
	    http_request_data(req);
	if ((tok = json_tokener_new_ex(64)) == NULL) {
		xrpc_error(req, 500, "InternalServerError",
		    "Internal Server Error");
		return;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, (const char *)body, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		xrpc_error(req, 400, "SyntaxError", "Invalid JSON at position "
		    "%zu: %s", json_tokener_get_parse_end(tok),
		    json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(o);
		json_tokener_free(tok);
		return;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(o, json_type_object)) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Request body must be a JSON object");
		json_object_put(o);
		return;
	}
	if (xrpc_lex_input(http_request_path(req) + strlen(XRPC_PREFIX), o,
	    msg, sizeof(msg)) == -1) {
		http_reply_json_error(req, 400, "InvalidRequest", msg);
		json_object_put(o);
		return;
	}
	cb(req, o);
}

int
xrpc_content_type(struct http_request *req, const char *type)
{
	const char	*ct = http_request_header(req, "Content-Type");
	size_t		 n;

	if (ct == NULL || http_request_content_length(req) == 0) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Request encoding (Content-Type) required but not "
		    "provided");
		return -1;
	}
	n = strcspn(ct, ";");
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	if (n != strlen(type) || strncasecmp(ct, type, n) != 0) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Wrong request encoding (Content-Type): %.*s", (int)n, ct);
		return -1;
	}
	return 0;
}

void
xrpc_too_large(struct http_request *req, const char *msg)
{
	http_response_close(req);
	xrpc_error(req, 413, "PayloadTooLargeError", "%s", msg);
}

void
xrpc_read_json(struct http_request *req, size_t max,
    void (*cb)(struct http_request *, struct json_object *))
{
	if (xrpc_content_type(req, "application/json") == -1)
		return;
	http_request_set_data(req, (void *)cb);
	http_request_body_max(req, max, xrpc_json_body);
}

int
xrpc_param(struct http_request *req, const char *name, const char *nsid,
    char *buf, size_t len)
{
	int	 r;

	r = http_query_get(http_request_query(req), name, buf, len);
	if (r == -1)
		xrpc_error(req, 400, "InvalidRequest", "Invalid %s params: "
		    "malformed or too long \"%s\"", nsid, name);
	return r;
}

const char *
xrpc_json_str(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/*
 * Whether a call goes on to another service (proxy.c), as the reference
 * PDS decides: what we answer ourselves stays here, except app.bsky and
 * chat.bsky, which go to the service an atproto-proxy header names, or
 * else to the configured AppView; the preferences stay here unless the
 * header names another AppView.  Without a header or an AppView, the
 * local tables answer (or say no service is configured).  m is the
 * local method, NULL if none.
 */
static int
xrpc_proxied(struct http_request *req, const char *nsid,
    const struct xrpc_method *m)
{
	const char	*to = http_request_header(req, "atproto-proxy");
	int		 bsky, prefs;

	bsky = strncmp(nsid, "app.bsky.", 9) == 0 ||
	    strncmp(nsid, "chat.bsky.", 10) == 0;
	prefs = strcmp(nsid, "app.bsky.actor.getPreferences") == 0 ||
	    strcmp(nsid, "app.bsky.actor.putPreferences") == 0;
	if (m != NULL && !bsky)
		return 0;
	if (to != NULL)
		return !prefs || !proxy_is_appview(to);
	return fe->cfg.appview[0] != '\0' && !prefs;
}

static void
xrpc_dispatch(struct http_request *req, const char *nsid)
{
	const struct xrpc_method	*m;
	const char			*method = http_request_method(req);
	char				 msg[XRPC_MSG_MAX];
	int				 rd;

	m = xrpc_lookup(nsid);
	if (xrpc_proxied(req, nsid, m)) {
		if (ratelimit_global(req) == 0)
			proxy_forward(req, nsid);
		return;
	}
	if (m == NULL) {
		snprintf(msg, sizeof(msg), "No service configured for %s",
		    nsid);
		http_reply_json_error(req, 400, "InvalidRequest", msg);
		return;
	}
	if (m->kind == XRPC_QUERY && strcmp(method, "GET") != 0) {
		snprintf(msg, sizeof(msg), "Incorrect HTTP method (%s) "
		    "expected GET", method);
		http_reply_json_error(req, 400, "InvalidRequest", msg);
		return;
	}
	if (m->kind == XRPC_PROCEDURE && strcmp(method, "POST") != 0) {
		snprintf(msg, sizeof(msg), "Incorrect HTTP method (%s) "
		    "expected POST", method);
		http_reply_json_error(req, 400, "InvalidRequest", msg);
		return;
	}
	if (m->fn != xrpc_health && ratelimit_global(req) == -1)
		return;
	/* Subscriptions answer in frames, once upgraded: theirs to check. */
	if (m->kind != XRPC_SUBSCRIPTION && xrpc_lex_params(nsid,
	    http_request_query(req), msg, sizeof(msg)) == -1) {
		http_reply_json_error(req, 400, "InvalidRequest", msg);
		return;
	}
	/* Blobs go out as file segments, which zlib cannot read. */
	if (strcmp(nsid, "com.atproto.sync.getBlob") == 0)
		http_request_no_gzip(req);
	/* The local view's reads build their answer in one snapshot. */
	rd = m->kind == XRPC_QUERY && strncmp(nsid, "app.bsky.", 9) == 0 ?
	    av_read_begin() : 0;
	m->fn(req);
	av_read_end(rd);
}

static void
xrpc_request(struct http_request *req, void *arg)
{
	const char	*path = http_request_path(req);
	const char	*method = http_request_method(req);

	log_debug("%s %s %s", http_request_remote(req), method, path);
	if (strcmp(method, "OPTIONS") == 0) {
		xrpc_preflight(req);
		return;
	}
	if (strncmp(path, XRPC_PREFIX, strlen(XRPC_PREFIX)) == 0) {
		xrpc_dispatch(req, path + strlen(XRPC_PREFIX));
		return;
	}
	if (strcmp(method, "GET") != 0) {
		http_reply_json_error(req, 404, "NotFound", "Not Found");
		return;
	}
	if (strcmp(path, "/") == 0)
		serve_banner(req);
	else if (strcmp(path, "/robots.txt") == 0)
		serve_robots(req);
	else if (strcmp(path, "/.well-known/atproto-did") == 0)
		identity_well_known_did(req);
	else if (strcmp(path, "/.well-known/did.json") == 0)
		identity_well_known_doc(req);
	else
		http_reply_json_error(req, 404, "NotFound", "Not Found");
}
