/*
 * Routing of HTTP requests: the few plain paths, then /xrpc/<nsid> by
 * method table.  Later issues add their methods to xrpc_methods[].
 */
#include <sys/types.h>

#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "pdsd.h"

#define XRPC_PREFIX	"/xrpc/"

enum xrpc_kind {
	XRPC_QUERY,		/* GET */
	XRPC_PROCEDURE,		/* POST */
};

struct xrpc_method {
	const char	*nsid;
	enum xrpc_kind	 kind;
	void		(*fn)(struct http_request *);
};

static void	xrpc_request(struct http_request *, void *);
static void	xrpc_health(struct http_request *);
static void	serve_banner(struct http_request *);
static void	serve_robots(struct http_request *);

static const struct xrpc_method xrpc_methods[] = {
	{ "_health",	XRPC_QUERY,	xrpc_health },
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
	TAILQ_FOREACH(la, &fe->listens, entry) {
		if (http_server_listen_fd(fe->http, la->fd) == -1) {
			log_warn("listen on %s port %u", la->host, la->port);
			return -1;
		}
		log_info("listening on %s port %u", la->host, la->port);
	}
	return 0;
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
		http_reply(req, 503, "application/json; charset=utf-8", bad,
		    strlen(bad));
		return;
	}
	http_reply(req, 200, "application/json; charset=utf-8", ok,
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
	size_t	 i;

	for (i = 0; i < sizeof(xrpc_methods) / sizeof(xrpc_methods[0]); i++)
		if (strcmp(xrpc_methods[i].nsid, nsid) == 0)
			return &xrpc_methods[i];
	return NULL;
}

static void
xrpc_dispatch(struct http_request *req, const char *nsid)
{
	const struct xrpc_method	*m;
	const char			*method = http_request_method(req);
	char				 msg[512];

	if ((m = xrpc_lookup(nsid)) == NULL) {
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
	m->fn(req);
}

static void
xrpc_request(struct http_request *req, void *arg)
{
	const char	*path = http_request_path(req);
	const char	*method = http_request_method(req);

	log_debug("%s %s %s", http_request_remote(req), method, path);
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
	else
		http_reply_json_error(req, 404, "NotFound", "Not Found");
}
