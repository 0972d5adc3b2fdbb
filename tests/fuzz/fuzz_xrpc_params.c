/*
 * The router's Lexicon step (pdsd/xrpc_lex.c) on arbitrary input: the
 * first byte picks a method, the second whether the rest is its query
 * string or its JSON body.  Whatever comes in must be accepted or
 * refused with a message, never crash, and give the same verdict twice
 * (the schemas' reference cache must not change it).  Without a
 * message buffer the verdict must not change either.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "lexicon.h"
#include "xrpc.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Queries and procedures with parameters, arrays, enums, unions. */
static const char *methods[] = {
	"com.atproto.repo.getRecord", "com.atproto.repo.listRecords",
	"com.atproto.repo.describeRepo", "com.atproto.repo.createRecord",
	"com.atproto.repo.putRecord", "com.atproto.repo.deleteRecord",
	"com.atproto.repo.applyWrites", "com.atproto.sync.getBlocks",
	"com.atproto.sync.getRepo", "com.atproto.sync.listRepos",
	"com.atproto.sync.listBlobs", "com.atproto.server.createAccount",
	"com.atproto.server.createSession", "com.atproto.server.getServiceAuth",
	"com.atproto.server.createInviteCodes",
	"com.atproto.admin.getInviteCodes", "com.atproto.identity.updateHandle",
	"com.atproto.identity.resolveHandle", "app.bsky.feed.getTimeline",
	"app.bsky.feed.searchPosts", "com.example.unknown",
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (lexicon_load_builtin() == -1 || lexicon_count() == 0)
		abort();
	return 0;
}

static int
one_params(const char *nsid, const char *q, char *err, size_t errlen)
{
	return xrpc_lex_params(nsid, q, err, errlen);
}

static int
one_input(const char *nsid, const char *s, size_t len, char *err,
    size_t errlen)
{
	struct json_tokener	*tok;
	struct json_object	*o;
	int			 r;

	if ((tok = json_tokener_new_ex(64)) == NULL)
		abort();
	o = json_tokener_parse_ex(tok, s, (int)len);
	json_tokener_free(tok);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -2;
	}
	r = xrpc_lex_input(nsid, o, err, errlen);
	json_object_put(o);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const char	*nsid;
	char		*s, err[2048];
	size_t		 n;
	int		 r, again, input;

	if (len < 2 || len > 65536)
		return 0;
	nsid = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
	input = data[1] & 1;
	n = len - 2;
	/* The HTTP layer hands over NUL-terminated text. */
	if ((s = malloc(n + 1)) == NULL)
		return 0;
	memcpy(s, data + 2, n);
	s[n] = '\0';
	if (!input)
		n = strlen(s);
	err[0] = '\0';
	r = input ? one_input(nsid, s, n, err, sizeof(err)) :
	    one_params(nsid, s, err, sizeof(err));
	if (r == -1 && err[0] == '\0')
		abort();
	if (r == -1 && memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	again = input ? one_input(nsid, s, n, NULL, 0) :
	    one_params(nsid, s, NULL, 0);
	if (again != r)
		abort();
	free(s);
	return 0;
}
