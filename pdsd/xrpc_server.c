/*
 * com.atproto.server.*: the server's own description, accounts and
 * sessions.
 */
#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <json.h>

#include "http.h"
#include "log.h"
#include "pdsd.h"
#include "xrpc.h"

#define BLOB_UPLOAD_LIMIT	5242880

static void	server_describe(struct http_request *);

const struct xrpc_method xrpc_server_methods[] = {
	{ "com.atproto.server.describeServer", XRPC_QUERY, server_describe },
	{ NULL, 0, NULL },
};

static void
server_describe(struct http_request *req)
{
	struct json_object	*o, *domains;
	struct conf_str		*cs;
	char			 did[8 + sizeof(fe->cfg.hostname)];

	snprintf(did, sizeof(did), "did:web:%s", fe->cfg.hostname);
	o = json_object_new_object();
	domains = json_object_new_array();
	TAILQ_FOREACH(cs, &fe->domains, entry)
		json_object_array_add(domains, json_object_new_string(cs->str));
	json_object_object_add(o, "did", json_object_new_string(did));
	json_object_object_add(o, "availableUserDomains", domains);
	json_object_object_add(o, "inviteCodeRequired",
	    json_object_new_boolean(fe->cfg.registration == REG_INVITE));
	json_object_object_add(o, "blobUploadLimit",
	    json_object_new_int64(BLOB_UPLOAD_LIMIT));
	json_object_object_add(o, "links", json_object_new_object());
	json_object_object_add(o, "contact", json_object_new_object());
	xrpc_reply_json(req, 200, o);
}
