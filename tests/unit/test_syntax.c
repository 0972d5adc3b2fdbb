/*
 * Syntax validators against every interop fixture file, plus the
 * AT-URI splitter and the handle helpers.
 */
#include <sys/types.h>

#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "syntax.h"
#include "interop.h"

typedef bool (*validator)(const char *, size_t);

struct fixture {
	const char	*file;
	validator	 fn;
	bool		 expect;
	int		 cases;		/* from the fixture README */
};

static const struct fixture fixtures[] = {
	{ "atidentifier_syntax_invalid.txt", syntax_is_atid, false, 22 },
	{ "atidentifier_syntax_valid.txt", syntax_is_atid, true, 11 },
	{ "aturi_syntax_invalid.txt", syntax_is_aturi, false, 72 },
	{ "aturi_syntax_valid.txt", syntax_is_aturi, true, 23 },
	{ "cid_syntax_invalid.txt", syntax_is_cid, false, 10 },
	{ "cid_syntax_valid.txt", syntax_is_cid, true, 8 },
	{ "datetime_parse_invalid.txt", syntax_is_datetime, false, 7 },
	{ "datetime_syntax_invalid.txt", syntax_is_datetime, false, 45 },
	{ "datetime_syntax_valid.txt", syntax_is_datetime, true, 35 },
	{ "did_syntax_invalid.txt", syntax_is_did, false, 18 },
	{ "did_syntax_valid.txt", syntax_is_did, true, 24 },
	{ "handle_syntax_invalid.txt", syntax_is_handle, false, 48 },
	{ "handle_syntax_valid.txt", syntax_is_handle, true, 71 },
	{ "language_parse_invalid.txt", syntax_is_language, false, 4 },
	{ "language_syntax_invalid.txt", syntax_is_language, false, 7 },
	{ "language_syntax_valid.txt", syntax_is_language, true, 18 },
	{ "nsid_syntax_invalid.txt", syntax_is_nsid, false, 27 },
	{ "nsid_syntax_valid.txt", syntax_is_nsid, true, 25 },
	{ "recordkey_syntax_invalid.txt", syntax_is_rkey, false, 11 },
	{ "recordkey_syntax_valid.txt", syntax_is_rkey, true, 16 },
	{ "tid_syntax_invalid.txt", syntax_is_tid, false, 9 },
	{ "tid_syntax_valid.txt", syntax_is_tid, true, 4 },
	{ "uri_syntax_invalid.txt", syntax_is_uri, false, 12 },
	{ "uri_syntax_valid.txt", syntax_is_uri, true, 9 },
};
#define NFIXTURES	(sizeof(fixtures) / sizeof(fixtures[0]))

static int
run_fixture(const struct fixture *fx)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	int cases = 0, bad = 0;

	f = interop_open("syntax", fx->file);
	while ((n = getline(&line, &cap, f)) != -1) {
		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		cases++;
		if (fx->fn(line, (size_t)n) != fx->expect) {
			print_message("%s:%zu: %s wrongly %s\n", fx->file,
			    lineno, n > 120 ? "(long line)" : line,
			    fx->expect ? "rejected" : "accepted");
			bad++;
		}
	}
	free(line);
	fclose(f);
	if (cases != fx->cases) {
		print_message("%s: %d cases, expected %d\n", fx->file, cases,
		    fx->cases);
		bad++;
	}
	return bad;
}

static void
test_fixtures(void **state)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < NFIXTURES; i++)
		bad += run_fixture(&fixtures[i]);
	assert_int_equal(bad, 0);
}

/* Every fixture file in the directory must be covered by the table. */
static void
test_fixture_set_complete(void **state)
{
	const char *dir;
	char path[1024];
	struct dirent *de;
	DIR *d;
	size_t i, n, seen = 0;

	if ((dir = getenv("PDS_INTEROP")) == NULL)
		dir = "../shared/interop";
	snprintf(path, sizeof(path), "%s/syntax", dir);
	if ((d = opendir(path)) == NULL)
		fail_msg("missing fixture dir %s", path);
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 4 || strcmp(de->d_name + n - 4, ".txt") != 0)
			continue;
		for (i = 0; i < NFIXTURES; i++)
			if (strcmp(fixtures[i].file, de->d_name) == 0)
				break;
		if (i == NFIXTURES)
			print_message("fixture %s not tested\n", de->d_name);
		assert_true(i < NFIXTURES);
		seen++;
	}
	closedir(d);
	assert_int_equal(seen, NFIXTURES);
}

#define S(x)	x, sizeof(x) - 1

static void
test_lengths(void **state)
{
	char buf[ATURI_MAX + 2];
	size_t n;

	/* A length, not a NUL, ends the string. */
	assert_true(syntax_is_handle("john.test", 9));
	assert_false(syntax_is_handle("john.test\0x", 11));
	assert_false(syntax_is_did("did:plc:a\0b", 11));
	assert_false(syntax_is_rkey("a\0", 2));
	assert_false(syntax_is_tid("3jzfcijpj2z2\0", 13));
	assert_false(syntax_is_handle("", 0));
	assert_false(syntax_is_rkey("", 0));

	memset(buf, 'o', sizeof(buf));
	assert_true(syntax_is_rkey(buf, RKEY_MAX));
	assert_false(syntax_is_rkey(buf, RKEY_MAX + 1));

	/* did: exactly at and over 2048 chars. */
	memcpy(buf, "did:plc:", 8);
	assert_true(syntax_is_did(buf, DID_MAX));
	assert_false(syntax_is_did(buf, DID_MAX + 1));

	/* An AT-URI whose rkey makes it exactly 8192 / 8193 bytes. */
	n = strlen("at://did:plc:a/a.b.c/");
	memcpy(buf, "at://did:plc:a/a.b.c/", n);
	memset(buf + n, 'x', sizeof(buf) - n);
	assert_false(syntax_is_aturi(buf, ATURI_MAX + 1));
}

static void
test_aturi_parse(void **state)
{
	struct aturi u;
	const char *s = "at://did:plc:abc/app.bsky.feed.post/3jzfcijpj2z2a";

	assert_int_equal(aturi_parse(s, strlen(s), &u), 0);
	assert_int_equal(u.authority_len, 11);
	assert_memory_equal(u.authority, "did:plc:abc", 11);
	assert_int_equal(u.collection_len, 18);
	assert_memory_equal(u.collection, "app.bsky.feed.post", 18);
	assert_int_equal(u.rkey_len, 13);
	assert_memory_equal(u.rkey, "3jzfcijpj2z2a", 13);

	assert_int_equal(aturi_parse(S("at://alice.test"), &u), 0);
	assert_int_equal(u.authority_len, 10);
	assert_null(u.collection);
	assert_null(u.rkey);

	assert_int_equal(aturi_parse(S("at://alice.test/a.b.c"), &u), 0);
	assert_int_equal(u.collection_len, 5);
	assert_null(u.rkey);

	assert_int_equal(aturi_parse(S("at://alice.test/a.b.c/"), &u), -1);
	assert_null(u.authority);
}

static void
test_datetime_ranges(void **state)
{
	assert_true(syntax_is_datetime(S("2024-02-29T00:00:00Z")));
	assert_false(syntax_is_datetime(S("2023-02-29T00:00:00Z")));
	assert_true(syntax_is_datetime(S("2000-02-29T00:00:00Z")));
	assert_false(syntax_is_datetime(S("1900-02-29T00:00:00Z")));
	assert_false(syntax_is_datetime(S("2024-04-31T00:00:00Z")));
	assert_true(syntax_is_datetime(S("0000-01-01T01:00:00+01:00")));
	assert_true(syntax_is_datetime(S("0000-01-01T00:00:00-01:00")));
	assert_false(syntax_is_datetime(S("2024-01-01T00:00:00+24:00")));
	assert_false(syntax_is_datetime(S("2024-01-01T00:00:00+01:60")));
}

static void
test_language_more(void **state)
{
	assert_true(syntax_is_language(S("zh-yue-HK")));
	assert_true(syntax_is_language(S("x-whatever")));
	assert_true(syntax_is_language(S("en-US-x-twain")));
	assert_false(syntax_is_language(S("en-x")));
	assert_false(syntax_is_language(S("en--US")));
	assert_false(syntax_is_language(S("en-a")));
	assert_false(syntax_is_language(S("en-a-x-foo")));
	assert_false(syntax_is_language(S("en-US-US")));
	assert_true(syntax_is_language(S("en-US-1901-a-bc-b-de")));
}

static void
test_handle_normalize(void **state)
{
	char out[HANDLE_MAX + 1];

	assert_int_equal(handle_normalize(S("Alice.TEST"), out, sizeof(out)),
	    0);
	assert_string_equal(out, "alice.test");
	assert_int_equal(handle_normalize(S("Alice.TEST"), out, 10), -1);
	assert_int_equal(handle_normalize(S("Alice.TEST"), out, 11), 0);
	assert_int_equal(handle_normalize(S("bad_handle.test"), out,
	    sizeof(out)), -1);
}

static void
test_handle_suffix(void **state)
{
	const char *const doms[] = { ".test", "example.com" };

	assert_true(handle_has_suffix(S("alice.test"), doms, 2));
	assert_true(handle_has_suffix(S("Alice.TEST"), doms, 2));
	assert_true(handle_has_suffix(S("a.b.example.com"), doms, 2));
	assert_true(handle_has_suffix(S("bob.example.com"), doms, 2));
	assert_false(handle_has_suffix(S("example.com"), doms, 2));
	assert_false(handle_has_suffix(S("aliceexample.com"), doms, 2));
	assert_false(handle_has_suffix(S("alice.testing"), doms, 2));
	assert_false(handle_has_suffix(S("alice.other"), doms, 2));
	assert_false(handle_has_suffix(S("al_ice.test"), doms, 2));
	assert_false(handle_has_suffix(S("alice.test"), doms, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_fixture_set_complete),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_aturi_parse),
		cmocka_unit_test(test_datetime_ranges),
		cmocka_unit_test(test_language_more),
		cmocka_unit_test(test_handle_normalize),
		cmocka_unit_test(test_handle_suffix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
