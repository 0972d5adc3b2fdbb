/*
 * Compact JWS: HS256 round trip, a MAC computed by OpenSSL as a second
 * opinion, and every way a token can be bad.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "encoding.h"
#include "jwt.h"

static const uint8_t	key[JWT_KEYLEN] = "0123456789abcdef0123456789abcde";
static const char	*hdr = "{\"typ\":\"at+jwt\",\"alg\":\"HS256\"}";
static const char	*claims = "{\"scope\":\"com.atproto.access\","
			    "\"aud\":\"did:web:pds.test\","
			    "\"sub\":\"did:plc:aaaaaaaaaaaaaaaaaaaaaaaa\","
			    "\"iat\":1700000000,\"exp\":1700007200}";

/* A token over arbitrary header and payload, MAC'd with key. */
static char *
forge(const char *h, const char *p)
{
	char	*t = jwt_hs256_sign(key, h, p);

	assert_non_null(t);
	return t;
}

static int
verify(const char *t, struct jwt_claims *c)
{
	return jwt_hs256_verify(key, t, strlen(t), c);
}

static void
test_roundtrip(void **state)
{
	struct jwt_claims	 c;
	char			*t = forge(hdr, claims);

	assert_int_equal(verify(t, &c), 0);
	assert_string_equal(c.typ, "at+jwt");
	assert_string_equal(c.scope, "com.atproto.access");
	assert_string_equal(c.aud, "did:web:pds.test");
	assert_string_equal(c.sub, "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa");
	assert_string_equal(c.jti, "");
	assert_int_equal(c.iat, 1700000000);
	assert_int_equal(c.exp, 1700007200);
	assert_false(c.has_lxm);
	assert_false(jwt_expired(&c, 1700007199));
	assert_true(jwt_expired(&c, 1700007200));
	free(t);
}

/* The MAC is HMAC-SHA256 over the signing input, as OpenSSL makes it. */
static void
test_mac_matches_openssl(void **state)
{
	uint8_t		 mac[32];
	unsigned int	 maclen = sizeof(mac);
	char		*t = forge(hdr, claims), *input, *want;

	input = jwt_signing_input(hdr, claims);
	assert_non_null(input);
	assert_non_null(HMAC(EVP_sha256(), key, sizeof(key),
	    (const uint8_t *)input, strlen(input), mac, &maclen));
	want = jwt_join(input, mac, maclen);
	assert_string_equal(t, want);
	assert_null(strchr(t, '='));
	free(t);
	free(input);
	free(want);
}

/* xrpc.md's worked service-token example, signed elsewhere. */
static void
test_service_signing_input(void **state)
{
	const char	*h = "{\"typ\":\"JWT\",\"alg\":\"ES256K\"}";
	const char	*p = "{\"iat\":1704067200,\"iss\":"
			    "\"did:plc:6adr3q2labdllanslzhqkqd3\",\"aud\":"
			    "\"did:web:api.bsky.app#bsky_appview\",\"exp\":"
			    "1704067260,\"lxm\":\"app.bsky.feed.getTimeline\","
			    "\"jti\":\"0123456789abcdef0123456789abcdef\"}";
	const char	*want_in = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NksifQ."
			    "eyJpYXQiOjE3MDQwNjcyMDAsImlzcyI6ImRpZDpwbGM6NmFk"
			    "cjNxMmxhYmRsbGFuc2x6aHFrcWQzIiwiYXVkIjoiZGlkOndl"
			    "YjphcGkuYnNreS5hcHAjYnNreV9hcHB2aWV3IiwiZXhwIjox"
			    "NzA0MDY3MjYwLCJseG0iOiJhcHAuYnNreS5mZWVkLmdldFRp"
			    "bWVsaW5lIiwianRpIjoiMDEyMzQ1Njc4OWFiY2RlZjAxMjM0"
			    "NTY3ODlhYmNkZWYifQ";
	const char	*sighex = "65814b26f51381a8061115416d75d7911b83f962"
			    "6e04b020f55132d79ed5eab8037bd7e05401efbe4f1e2a00"
			    "cc2569aca49d3408de7ff7c7f5e03e9c47e15396";
	const char	*want_sig = "ZYFLJvUTgagGERVBbXXXkRuD-WJuBLAg9VEy157V"
			    "6rgDe9fgVAHvvk8eKgDMJWmspJ00CN5_98f14D6cR-FTlg";
	uint8_t		 sig[64];
	char		*in, *tok, want[1024];
	int		 i;

	for (i = 0; i < 64; i++)
		sscanf(sighex + 2 * i, "%2hhx", &sig[i]);
	in = jwt_signing_input(h, p);
	assert_string_equal(in, want_in);
	tok = jwt_join(in, sig, sizeof(sig));
	snprintf(want, sizeof(want), "%s.%s", want_in, want_sig);
	assert_string_equal(tok, want);
	free(in);
	free(tok);
}

static void
test_tampered(void **state)
{
	struct jwt_claims	 c;
	char			*t = forge(hdr, claims), *dot, save;
	size_t			 n = strlen(t);

	/* A signature character. */
	save = t[n - 2];
	t[n - 2] = save == 'A' ? 'B' : 'A';
	assert_int_equal(verify(t, &c), -1);
	t[n - 2] = save;
	assert_int_equal(verify(t, &c), 0);
	/* A payload byte. */
	dot = strchr(t, '.');
	dot[2] = dot[2] == 'x' ? 'y' : 'x';
	assert_int_equal(verify(t, &c), -1);
	assert_string_equal(c.sub, "");
	free(t);
	/* Right token, wrong key. */
	t = forge(hdr, claims);
	assert_int_equal(jwt_hs256_verify((const uint8_t *)
	    "another key, another key, anothe", t, strlen(t), &c), -1);
	free(t);
}

static void
test_alg(void **state)
{
	struct jwt_claims	 c;
	char			*in, *t;

	/* alg none, no signature. */
	in = jwt_signing_input("{\"alg\":\"none\"}", claims);
	assert_non_null(in);
	t = malloc(strlen(in) + 2);
	snprintf(t, strlen(in) + 2, "%s.", in);
	assert_int_equal(verify(t, &c), -1);
	free(t);
	free(in);
	/* alg none even with a good MAC; and other algs; and no alg. */
	t = forge("{\"alg\":\"none\"}", claims);
	assert_int_equal(verify(t, &c), -1);
	free(t);
	t = forge("{\"typ\":\"at+jwt\",\"alg\":\"HS512\"}", claims);
	assert_int_equal(verify(t, &c), -1);
	free(t);
	t = forge("{\"typ\":\"at+jwt\"}", claims);
	assert_int_equal(verify(t, &c), -1);
	free(t);
	t = forge("{\"alg\":\"HS256\",\"crit\":[\"b64\"]}", claims);
	assert_int_equal(verify(t, &c), -1);
	free(t);
	/* typ is passed up for the caller to judge; absent is "". */
	t = forge("{\"alg\":\"HS256\"}", claims);
	assert_int_equal(verify(t, &c), 0);
	assert_string_equal(c.typ, "");
	free(t);
	t = forge("{\"typ\":\"refresh+jwt\",\"alg\":\"HS256\"}", claims);
	assert_int_equal(verify(t, &c), 0);
	assert_string_equal(c.typ, "refresh+jwt");
	free(t);
}

static void
test_claims_types(void **state)
{
	struct jwt_claims	 c;
	const char		*bad[] = {
		"{\"sub\":\"did:plc:x\"}",			/* no exp */
		"{\"exp\":\"1700000000\"}",			/* exp text */
		"{\"exp\":1.5}",				/* not whole */
		"{\"exp\":1,\"sub\":7}",			/* sub number */
		"{\"exp\":1,\"aud\":[\"did:web:x\"]}",		/* aud array */
		"{\"exp\":1,\"scope\":null}",
		"{\"exp\":1,\"sub\":\"a\\u0000b\"}",		/* NUL */
		"[1,2]",
		"\"exp\"",
		"{\"exp\":1,}",
		"{\"exp\":1}x",
	};
	char			*t;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = forge(hdr, bad[i]);
		if (verify(t, &c) != -1)
			fail_msg("accepted payload %s", bad[i]);
		free(t);
	}
	t = forge(hdr, "{\"exp\":1,\"lxm\":\"com.x.y\",\"cnf\":{}}");
	assert_int_equal(verify(t, &c), 0);
	assert_true(c.has_lxm);
	assert_true(c.has_cnf);
	free(t);
}

static void
test_malformed(void **state)
{
	struct jwt_claims	 c;
	char			*t = forge(hdr, claims), buf[JWT_MAX + 64];
	const char		*bad[] = {
		"", ".", "..", "...", "a.b", "a.b.c.d", "not-a-jwt",
	};
	size_t			 i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(verify(bad[i], &c), -1);
	n = strlen(t);
	/* Padding is not base64url as JWS uses it. */
	snprintf(buf, sizeof(buf), "%s=", t);
	assert_int_equal(verify(buf, &c), -1);
	/* A character outside the URL alphabet. */
	snprintf(buf, sizeof(buf), "%s", t);
	buf[3] = '+';
	assert_int_equal(verify(buf, &c), -1);
	/* An extra part. */
	snprintf(buf, sizeof(buf), "%s.%s", t, "AAAA");
	assert_int_equal(verify(buf, &c), -1);
	/* Embedded NUL inside the given length. */
	memcpy(buf, t, n);
	buf[5] = '\0';
	assert_int_equal(jwt_hs256_verify(key, buf, n, &c), -1);
	free(t);
}

/* Oversized tokens are refused before any decoding. */
static void
test_oversized(void **state)
{
	struct jwt_claims	 c;
	char			*p, *t;
	size_t			 n = JWT_MAX;

	p = malloc(n + 64);
	snprintf(p, n + 64, "{\"exp\":1,\"x\":\"%0*d\"}", (int)n, 0);
	t = forge(hdr, p);
	assert_true(strlen(t) > JWT_MAX);
	assert_int_equal(verify(t, &c), -1);
	free(t);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_mac_matches_openssl),
		cmocka_unit_test(test_service_signing_input),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_alg),
		cmocka_unit_test(test_claims_types),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_oversized),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
