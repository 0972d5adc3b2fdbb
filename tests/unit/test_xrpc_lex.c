/*
 * The Lexicon step of the XRPC router (pdsd/xrpc_lex.c): query
 * parameters and JSON inputs against the embedded schemas.  Every
 * expected message below is what the reference PDS 0.5.35 (its
 * @atproto/lex-schema 0.2.7 and compiled lexicons) answers for the same
 * input; "" means it accepts the input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <json.h>

#include "lexicon.h"
#include "xrpc.h"

struct lcase {
	const char	*nsid;
	int		 input;		/* 1: arg is a JSON body */
	const char	*arg;
	const char	*want;
};

static const struct lcase cases[] = {
	{ "com.atproto.repo.getRecord", 0,
	    "repo=a.test&collection=a.b.c",
	    "Invalid com.atproto.repo.getRecord params: Missing required key \"rkey\"" },
	{ "com.atproto.repo.getRecord", 0,
	    "repo=a.test&collection=a.b.c&rkey=",
	    "Invalid com.atproto.repo.getRecord params: Missing required key \"rkey\"" },
	{ "com.atproto.repo.getRecord", 0,
	    "repo=a.test&collection=not%20nsid&rkey=x",
	    "Invalid com.atproto.repo.getRecord params: Invalid NSID (got \"not nsid\")" },
	{ "com.atproto.repo.getRecord", 0,
	    "repo=did:bad&collection=a.b.c&rkey=x",
	    "Invalid com.atproto.repo.getRecord params: Invalid AT identifier (got \"did:bad\")" },
	{ "com.atproto.repo.getRecord", 0,
	    "repo=a.test&collection=a.b.c&rkey=x&rkey=y",
	    "Invalid com.atproto.repo.getRecord params: Expected string value type (got [\"x\", \"y\"])" },
	{ "com.atproto.repo.getRecord", 0,
	    "repo=a.test&collection=a.b.c&rkey=x&other=1&other=2",
	    "" },
	{ "com.atproto.repo.listRecords", 0,
	    "repo=a.test&collection=a.b.c&limit=1000",
	    "Invalid com.atproto.repo.listRecords params: integer too big (maximum 100, got 1000)" },
	{ "com.atproto.repo.listRecords", 0,
	    "repo=a.test&collection=a.b.c&limit=0",
	    "Invalid com.atproto.repo.listRecords params: integer too small (minimum 1, got 0)" },
	{ "com.atproto.repo.listRecords", 0,
	    "repo=a.test&collection=a.b.c&limit=-5",
	    "Invalid com.atproto.repo.listRecords params: integer too small (minimum 1, got -5)" },
	{ "com.atproto.repo.listRecords", 0,
	    "repo=a.test&collection=a.b.c&limit=1.5",
	    "Invalid com.atproto.repo.listRecords params: Expected integer value type (got \"1.5\")" },
	{ "com.atproto.repo.listRecords", 0,
	    "repo=a.test&collection=a.b.c&limit=+5",
	    "Invalid com.atproto.repo.listRecords params: Expected integer value type (got \" 5\")" },
	{ "com.atproto.repo.listRecords", 0,
	    "limit=abc",
	    "Invalid com.atproto.repo.listRecords params: Expected integer value type (got \"abc\")" },
	{ "com.atproto.repo.listRecords", 0,
	    "reverse=maybe&limit=abc",
	    "Invalid com.atproto.repo.listRecords params: Expected boolean value type (got \"maybe\")" },
	{ "com.atproto.repo.listRecords", 0,
	    "repo=a.test&collection=a.b.c&reverse=TRUE",
	    "Invalid com.atproto.repo.listRecords params: Expected boolean value type (got \"TRUE\")" },
	{ "com.atproto.repo.listRecords", 0,
	    "repo=a.test&collection=a.b.c&reverse=true&limit=100",
	    "" },
	{ "com.atproto.sync.getBlocks", 0,
	    "did=did:plc:abc",
	    "Invalid com.atproto.sync.getBlocks params: Missing required key \"cids\"" },
	{ "com.atproto.sync.getBlocks", 0,
	    "did=did:plc:abc&cids=bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm&cids=nope",
	    "Invalid com.atproto.sync.getBlocks params: Invalid CID string (got \"nope\")" },
	{ "com.atproto.sync.listRepos", 0,
	    "limit=1001",
	    "Invalid com.atproto.sync.listRepos params: integer too big (maximum 1000, got 1001)" },
	{ "com.atproto.sync.getRepo", 0,
	    "did=not-a-did",
	    "Invalid com.atproto.sync.getRepo params: Invalid DID (got \"not-a-did\")" },
	{ "com.atproto.identity.resolveHandle", 0,
	    "handle=bad%20handle",
	    "Invalid com.atproto.identity.resolveHandle params: Invalid handle (got \"bad handle\")" },
	{ "com.atproto.server.getServiceAuth", 0,
	    "aud=did:web:x&exp=abc",
	    "Invalid com.atproto.server.getServiceAuth params: Expected integer value type (got \"abc\")" },
	{ "com.atproto.server.getServiceAuth", 0,
	    "aud=did:web:x&lxm=no",
	    "Invalid com.atproto.server.getServiceAuth params: Invalid NSID (got \"no\")" },
	{ "com.atproto.admin.getInviteCodes", 0,
	    "sort=bogus",
	    "" },
	{ "com.atproto.admin.getInviteCodes", 0,
	    "sort=recent&limit=5",
	    "" },
	{ "com.atproto.repo.createRecord", 1,
	    "{}",
	    "Missing required key \"repo\" at $" },
	{ "com.atproto.repo.createRecord", 1,
	    "{\"repo\":\"a.test\",\"collection\":\"a.b.c\"}",
	    "Missing required key \"record\" at $" },
	{ "com.atproto.repo.createRecord", 1,
	    "{\"repo\":\"a.test\",\"collection\":\"a.b.c\",\"record\":{},\"validate\":\"yes\"}",
	    "Expected boolean value type (got \"yes\") at $.validate" },
	{ "com.atproto.repo.createRecord", 1,
	    "{\"repo\":\"a.test\",\"collection\":\"a.b.c\",\"record\":{},\"swapCommit\":\"nope\"}",
	    "Invalid CID string (got \"nope\") at $.swapCommit" },
	{ "com.atproto.repo.createRecord", 1,
	    "{\"repo\":\"a.test\",\"collection\":\"a.b.c\",\"record\":[1,2,3]}",
	    "Expected object value type (got [1, 2, ...]) at $.record" },
	{ "com.atproto.repo.createRecord", 1,
	    "{\"repo\":\"a.test\",\"collection\":\"a.b.c\",\"record\":{},\"rkey\":\"\"}",
	    "Invalid record key (got \"\") at $.rkey" },
	{ "com.atproto.repo.putRecord", 1,
	    "{\"repo\":\"a.test\",\"collection\":\"a.b.c\",\"rkey\":\"x\",\"record\":{},\"swapRecord\":null}",
	    "" },
	{ "com.atproto.repo.putRecord", 1,
	    "{\"repo\":\"a.test\",\"collection\":\"a.b.c\",\"rkey\":\"x\",\"record\":{},\"swapRecord\":\"bad\"}",
	    "Invalid CID string (got \"bad\") at $.swapRecord" },
	{ "com.atproto.repo.applyWrites", 1,
	    "{\"repo\":\"a.test\",\"writes\":\"x\"}",
	    "Expected array value type (got \"x\") at $.writes" },
	{ "com.atproto.repo.applyWrites", 1,
	    "{\"repo\":\"a.test\",\"writes\":[{}]}",
	    "Expected an object which includes the \"$type\" property value type (got {}) at $.writes[0]" },
	{ "com.atproto.repo.applyWrites", 1,
	    "{\"repo\":\"a.test\",\"writes\":[{\"$type\":\"com.atproto.repo.applyWrites#create\",\"collection\":\"a.b.c\"}]}",
	    "Missing required key \"value\" at $.writes[0]" },
	{ "com.atproto.repo.applyWrites", 1,
	    "{\"repo\":\"a.test\",\"writes\":[{\"$type\":\"com.atproto.repo.applyWrites#delete\",\"collection\":\"a.b.c\",\"rkey\":\"a b\"}]}",
	    "Invalid record key (got \"a b\") at $.writes[0].rkey" },
	{ "com.atproto.server.createAccount", 1,
	    "{\"handle\":\"bad handle!.test\"}",
	    "Invalid handle (got \"bad handle!.test\") at $.handle" },
	{ "com.atproto.server.createAccount", 1,
	    "{\"handle\":\"ok.test\",\"email\":5}",
	    "Expected string value type (got 5) at $.email" },
	{ "com.atproto.server.createSession", 1,
	    "{\"identifier\":\"a\",\"password\":\"b\",\"allowTakendown\":\"no\"}",
	    "Expected boolean value type (got \"no\") at $.allowTakendown" },
	{ "com.atproto.server.createInviteCodes", 1,
	    "{\"useCount\":\"1\"}",
	    "Expected integer value type (got \"1\") at $.useCount" },
	{ "com.atproto.server.createInviteCodes", 1,
	    "{\"useCount\":1,\"forAccounts\":\"did:plc:x\"}",
	    "Expected array value type (got \"did:plc:x\") at $.forAccounts" },
	{ "com.atproto.identity.updateHandle", 1,
	    "{\"handle\":\"no\"}",
	    "Invalid handle (got \"no\") at $.handle" },
	{ "com.atproto.server.createAppPassword", 1,
	    "{\"name\":\"x\",\"privileged\":1}",
	    "Expected boolean value type (got 1) at $.privileged" },
};

static int
setup(void **state)
{
	return lexicon_load_builtin() == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	lexicon_free_all();
	return 0;
}

static void
test_reference_answers(void **state)
{
	struct json_object	*o;
	char			 err[2048];
	size_t			 i;
	int			 r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (cases[i].input) {
			o = json_tokener_parse(cases[i].arg);
			assert_non_null(o);
			r = xrpc_lex_input(cases[i].nsid, o, err, sizeof(err));
			json_object_put(o);
		} else
			r = xrpc_lex_params(cases[i].nsid, cases[i].arg, err,
			    sizeof(err));
		if (cases[i].want[0] == '\0') {
			if (r != 0)
				fail_msg("%s %s: %s", cases[i].nsid,
				    cases[i].arg, err);
		} else if (r != -1 || strcmp(err, cases[i].want) != 0)
			fail_msg("%s %s: got %d \"%s\", want \"%s\"",
			    cases[i].nsid, cases[i].arg, r, err,
			    cases[i].want);
	}
}

/* No schema, nothing to say: the handler decides. */
static void
test_unknown_method(void **state)
{
	struct json_object	*o;
	char			 err[64];

	assert_int_equal(xrpc_lex_params("com.example.nothing", "a=1", err,
	    sizeof(err)), 1);
	assert_int_equal(xrpc_lex_params("_health", NULL, err, sizeof(err)),
	    1);
	o = json_object_new_object();
	assert_int_equal(xrpc_lex_input("com.example.nothing", o, err,
	    sizeof(err)), 1);
	/* A query has no input schema. */
	assert_int_equal(xrpc_lex_input("com.atproto.repo.getRecord", o,
	    err, sizeof(err)), 1);
	json_object_put(o);
}

/* A bad escape in a parameter of the method is refused, elsewhere not. */
static void
test_bad_escape(void **state)
{
	char	err[256];

	assert_int_equal(xrpc_lex_params("com.atproto.repo.getRecord",
	    "repo=a.test&collection=a.b.c&rkey=%zz", err, sizeof(err)), -1);
	assert_string_equal(err, "Invalid com.atproto.repo.getRecord params: "
	    "malformed or too long \"rkey\"");
	assert_int_equal(xrpc_lex_params("com.atproto.repo.getRecord",
	    "repo=a.test&collection=a.b.c&rkey=x&junk=%zz&&=&%", err,
	    sizeof(err)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_answers),
		cmocka_unit_test(test_unknown_method),
		cmocka_unit_test(test_bad_escape),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
