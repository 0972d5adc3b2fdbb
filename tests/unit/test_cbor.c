/*
 * Strict DAG-CBOR: every rejection rule, canonical encoding, round trips,
 * and the interop fixtures read from the CBOR side.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json.h>

#include "cbor.h"
#include "dm.h"
#include "dmjson.h"
#include "encoding.h"
#include "interop.h"

#define D32 "9dfefe61dd76ea3dcae5023880b08379d57adf20482d6fdbe2759289f647677b"

static size_t
unhex(const char *s, uint8_t *out)
{
	size_t		n = 0;
	unsigned int	x;

	for (; s[0] != '\0' && s[1] != '\0'; s += 2) {
		sscanf(s, "%2x", &x);
		out[n++] = (uint8_t)x;
	}
	return n;
}

struct bad {
	const char	*hex;
	const char	*why;
};

static const struct bad bad_cases[] = {
	{ "", "empty" },
	{ "9fff", "indefinite array" },
	{ "bfff", "indefinite map" },
	{ "7f6161ff", "indefinite text" },
	{ "5f4101ff", "indefinite bytes" },
	{ "ff", "break" },
	{ "1805", "non-shortest uint 1" },
	{ "1900ff", "non-shortest uint 2" },
	{ "1a0000ffff", "non-shortest uint 4" },
	{ "1b00000000ffffffff", "non-shortest uint 8" },
	{ "3817", "non-shortest negint" },
	{ "780161", "non-shortest text length" },
	{ "590001" "00", "non-shortest bytes length" },
	{ "9801" "00", "non-shortest array length" },
	{ "b801" "616100", "non-shortest map length" },
	{ "d8" "2a" "5800", "non-shortest tag payload length" },
	{ "1c", "reserved additional info" },
	{ "a2616201616102", "unsorted keys" },
	{ "a2626161016162" "02", "longer key first" },
	{ "a2616101616102", "duplicate keys" },
	{ "a10102", "integer key" },
	{ "a1416101", "bytes key" },
	{ "f93c00", "half float" },
	{ "fa3f800000", "single float" },
	{ "fb3ff0000000000000", "double float" },
	{ "f7", "undefined" },
	{ "f0", "simple 16" },
	{ "f820", "simple 32" },
	{ "c000", "tag 0" },
	{ "c100", "tag 1" },
	{ "c240", "bignum tag" },
	{ "d82b4100", "tag 43" },
	{ "d90100" "00", "tag 256" },
	{ "d82a60", "tag 42 over text" },
	{ "d82a40", "tag 42 over empty bytes" },
	{ "d82a4100", "tag 42 without a CID" },
	{ "d82a5825" "01" "01711220" D32, "tag 42 without 0x00 prefix" },
	{ "d82a5823" "00" "1220" D32, "tag 42 over CIDv0" },
	{ "d82a5824" "00" "01711220" "9dfefe61dd76ea3dcae5023880b08379d57adf"
	    "20482d6fdbe2759289f64767", "tag 42 over a truncated CID" },
	{ "d82a5826" "00" "01711220" D32 "00", "tag 42 CID with extra byte" },
	{ "d82a01", "tag 42 over an integer" },
	{ "62c328", "invalid UTF-8" },
	{ "61ff", "invalid UTF-8 byte" },
	{ "63eda080", "UTF-16 surrogate" },
	{ "62c080", "overlong UTF-8" },
	{ "a162c3280a", "invalid UTF-8 key" },
	{ "0100", "trailing byte" },
	{ "a0a0", "two items" },
	{ "1bffffffffffffffff", "uint above int64" },
	{ "1b8000000000000000", "uint 2^63" },
	{ "3b8000000000000000", "negint below int64" },
	{ "6261", "truncated text" },
	{ "a16161", "truncated map" },
	{ "83010203" "04", "array with extra item" },
	{ "8301", "truncated array" },
	{ "19", "truncated head" },
	{ "9bffffffffffffffff", "huge array length" },
	{ "bbffffffffffffffff", "huge map length" },
	{ "5bffffffffffffffff", "huge bytes length" },
};

static void
test_cbor_reject(void **state)
{
	struct dm	*v;
	uint8_t		 buf[256];
	size_t		 i, n;
	const char	*err;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		n = unhex(bad_cases[i].hex, buf);
		err = NULL;
		v = NULL;
		if (dm_cbor_decode(buf, n, &v, &err) != -1)
			fail_msg("accepted %s (%s)", bad_cases[i].why,
			    bad_cases[i].hex);
		assert_null(v);
		assert_non_null(err);
		if (dm_cbor_check(buf, n, &err) != -1)
			fail_msg("check accepted %s", bad_cases[i].why);
	}
}

static const char *good_cases[] = {
	"00", "17", "1818", "18ff", "190100", "19ffff", "1a00010000",
	"1affffffff", "1b0000000100000000", "1b7fffffffffffffff",
	"20", "37", "3818", "38ff", "390100", "3b7fffffffffffffff",
	"f4", "f5", "f6", "40", "4401020304", "60", "6161",
	"67" "f09f9880" "c3b6" "7e", "80", "a0", "8301820203820405",
	"a3" "6161" "01" "6162" "02" "626161" "03",
	"a2" "6174" "01" "626f70" "02",
	"a1" "60" "00",
	"d82a5825" "00" "01711220" D32,
	"d82a5825" "00" "01701220" D32,
	"a2616165" "68656c6c6f" "6162" "82d82a5825" "0001551220" D32 "f6",
};

static void
test_cbor_roundtrip(void **state)
{
	struct dm	*v;
	struct dm_buf	 b = { NULL, 0, 0 };
	uint8_t		 buf[256];
	size_t		 i, n;
	const char	*err;

	for (i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		n = unhex(good_cases[i], buf);
		err = NULL;
		if (dm_cbor_decode(buf, n, &v, &err) == -1)
			fail_msg("rejected %s: %s", good_cases[i], err);
		assert_int_equal(dm_cbor_check(buf, n, &err), 0);
		b.len = 0;
		assert_int_equal(dm_cbor_encode(v, &b), 0);
		assert_int_equal(b.len, n);
		assert_memory_equal(b.p, buf, n);
		dm_free(v);
	}
	dm_buf_free(&b);
}

static void
test_cbor_int_bounds(void **state)
{
	const uint8_t	max[] = { 0x1b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff };
	const uint8_t	min[] = { 0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff };
	const struct { int64_t v; const char *hex; } vec[] = {
		{ 0, "00" }, { 23, "17" }, { 24, "1818" }, { 123, "187b" },
		{ 10000, "192710" }, { -1, "20" }, { -24, "37" },
		{ -25, "3818" }, { 4294967295LL, "1affffffff" },
		{ 4294967296LL, "1b0000000100000000" },
	};
	struct dm	*v;
	uint8_t		*enc, want[16];
	size_t		 len, i, n;

	assert_int_equal(dm_cbor_decode(max, sizeof(max), &v, NULL), 0);
	assert_true(v->u.i == INT64_MAX);
	dm_free(v);
	assert_int_equal(dm_cbor_decode(min, sizeof(min), &v, NULL), 0);
	assert_true(v->u.i == INT64_MIN);
	enc = dm_cbor_encode_mem(v, &len);
	assert_int_equal(len, sizeof(min));
	assert_memory_equal(enc, min, len);
	free(enc);
	dm_free(v);
	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		n = unhex(vec[i].hex, want);
		v = dm_int(vec[i].v);
		enc = dm_cbor_encode_mem(v, &len);
		assert_int_equal(len, n);
		assert_memory_equal(enc, want, n);
		free(enc);
		dm_free(v);
	}
}

static struct dm *
nest(int depth)
{
	struct dm	*v = dm_int(0), *a;
	int		 i;

	for (i = 0; i < depth; i++) {
		a = dm_array();
		dm_array_push(a, v);
		v = a;
	}
	return v;
}

static void
test_cbor_depth(void **state)
{
	struct dm	*v;
	uint8_t		 buf[DM_MAXDEPTH + 8];
	size_t		 n;
	const char	*err;

	/* DM_MAXDEPTH containers deep is fine, one more is not. */
	memset(buf, 0x81, sizeof(buf));
	n = DM_MAXDEPTH + 1;
	buf[n - 1] = 0x00;
	assert_int_equal(dm_cbor_decode(buf, n, &v, &err), 0);
	dm_free(v);
	memset(buf, 0x81, sizeof(buf));
	n = DM_MAXDEPTH + 2;
	buf[n - 1] = 0x00;
	assert_int_equal(dm_cbor_decode(buf, n, &v, &err), -1);
	assert_string_equal(err, "nesting too deep");

	v = nest(DM_MAXDEPTH + 5);
	assert_null(dm_cbor_encode_mem(v, &n));
	dm_free(v);
}

static void
test_cbor_size_bounds(void **state)
{
	uint8_t		*buf;
	struct dm	*v;
	const char	*err;
	uint8_t		*p;
	size_t		 i, n;

	/* One array with one element too many. */
	n = 5 + DM_MAXELEMS + 1;
	buf = malloc(n);
	buf[0] = 0x9a;
	buf[1] = (DM_MAXELEMS + 1) >> 24;
	buf[2] = ((DM_MAXELEMS + 1) >> 16) & 0xff;
	buf[3] = ((DM_MAXELEMS + 1) >> 8) & 0xff;
	buf[4] = (DM_MAXELEMS + 1) & 0xff;
	memset(buf + 5, 0xf6, n - 5);
	assert_int_equal(dm_cbor_decode(buf, n, &v, &err), -1);
	assert_string_equal(err, "too many elements in container");
	/* Exactly DM_MAXELEMS is accepted. */
	buf[4] -= 1;
	assert_int_equal(dm_cbor_decode(buf, n - 1, &v, &err), 0);
	dm_free(v);
	free(buf);

	/* Total input size. */
	n = DM_CBOR_MAXLEN + 1;
	buf = calloc(1, n);
	buf[0] = 0x5a;
	buf[1] = (uint8_t)((n - 5) >> 24);
	buf[2] = (uint8_t)((n - 5) >> 16);
	buf[3] = (uint8_t)((n - 5) >> 8);
	buf[4] = (uint8_t)(n - 5);
	assert_int_equal(dm_cbor_decode(buf, n, &v, &err), -1);
	assert_string_equal(err, "input too large");
	free(buf);

	/* Total items: nested arrays of DM_MAXELEMS each, 9 of them. */
	n = 5 + 9 * (5 + DM_MAXELEMS);
	buf = malloc(n);
	buf[0] = 0x89;
	for (i = 0; i < 9; i++) {
		p = buf + 1 + i * (5 + DM_MAXELEMS);
		p[0] = 0x9a;
		p[1] = DM_MAXELEMS >> 24;
		p[2] = (DM_MAXELEMS >> 16) & 0xff;
		p[3] = (DM_MAXELEMS >> 8) & 0xff;
		p[4] = DM_MAXELEMS & 0xff;
		memset(p + 5, 0xf6, DM_MAXELEMS);
	}
	n = 1 + 9 * (5 + DM_MAXELEMS);
	assert_int_equal(dm_cbor_check(buf, n, &err), -1);
	assert_string_equal(err, "too many items");
	free(buf);
}

static void
test_cbor_key_len(void **state)
{
	uint8_t		*buf;
	struct dm	*v;
	const char	*err;
	size_t		 n;

	n = 1 + 3 + DM_MAXKEYLEN + 1 + 1;
	buf = malloc(n);
	buf[0] = 0xa1;
	buf[1] = 0x79;
	buf[2] = (DM_MAXKEYLEN + 1) >> 8;
	buf[3] = (DM_MAXKEYLEN + 1) & 0xff;
	memset(buf + 4, 'k', DM_MAXKEYLEN + 1);
	buf[n - 1] = 0x00;
	assert_int_equal(dm_cbor_decode(buf, n, &v, &err), -1);
	assert_string_equal(err, "map key too long");
	buf[3] -= 1;
	buf[4 + DM_MAXKEYLEN] = 0x00;
	assert_int_equal(dm_cbor_decode(buf, n - 1, &v, &err), 0);
	dm_free(v);
	free(buf);
}

static void
test_cbor_prefix(void **state)
{
	const uint8_t	two[] = { 0xa1, 0x61, 0x61, 0x01, 0x82, 0x01, 0x02 };
	struct dm	*v;
	size_t		 used;

	assert_int_equal(dm_cbor_decode(two, sizeof(two), &v, NULL), -1);
	assert_int_equal(dm_cbor_decode_prefix(two, sizeof(two), &v, &used,
	    NULL), 0);
	assert_int_equal(used, 4);
	dm_free(v);
	assert_int_equal(dm_cbor_decode_prefix(two + 4, 3, &v, &used, NULL),
	    0);
	assert_int_equal(used, 3);
	dm_free(v);
}

static void
test_cbor_record_example(void **state)
{
	struct dm	*m;
	struct cid	 c;
	uint8_t		*enc, want[128];
	size_t		 len, n;

	m = dm_map();
	dm_map_set(m, "$type", dm_str("app.bsky.feed.post"));
	dm_map_set(m, "text", dm_str("hello world"));
	dm_map_set(m, "createdAt", dm_str("2024-01-01T00:00:00.000Z"));
	n = unhex("a3" "6474657874" "6b68656c6c6f20776f726c64"
	    "652474797065" "726170702e62736b792e666565642e706f7374"
	    "69637265617465644174"
	    "7818323032342d30312d30315430303a30303a30302e3030305a", want);
	enc = dm_cbor_encode_mem(m, &len);
	assert_int_equal(len, 79);
	assert_int_equal(len, n);
	assert_memory_equal(enc, want, n);
	assert_int_equal(dm_cbor_cid(m, &c), 0);
	assert_string_equal(cid_fmt(&c),
	    "bafyreieawtmh7hwfrqpamqkodza5r62bbfhsepe2iyustgxhgbhi6b2lfi");
	free(enc);
	dm_free(m);
}

static void
test_cbor_fixtures(void **state)
{
	struct json_object	*all, *c, *want, *got;
	struct dm		*v, *w;
	struct dm_buf		 b = { NULL, 0, 0 };
	struct cid		 cid;
	const char		*b64, *err;
	uint8_t			 bytes[4096];
	size_t			 i;
	int			 n;

	all = interop_json_array("data-model", "data-model-fixtures.json");
	assert_int_equal(json_object_array_length(all), 3);
	for (i = 0; i < json_object_array_length(all); i++) {
		c = json_object_array_get_idx(all, i);
		b64 = json_object_get_string(json_object_object_get(c,
		    "cbor_base64"));
		n = base64_decode(b64, strlen(b64), bytes, sizeof(bytes));
		assert_true(n > 0);
		/* CBOR -> value, and back to identical bytes. */
		if (dm_cbor_decode(bytes, (size_t)n, &v, &err) == -1)
			fail_msg("fixture %zu: %s", i, err);
		b.len = 0;
		assert_int_equal(dm_cbor_encode(v, &b), 0);
		assert_int_equal(b.len, (size_t)n);
		assert_memory_equal(b.p, bytes, (size_t)n);
		/* The CID of the bytes. */
		cid_of_bytes(&cid, CID_CODEC_DAGCBOR, bytes, (size_t)n);
		assert_string_equal(cid_fmt(&cid), json_object_get_string(
		    json_object_object_get(c, "cid")));
		/* value -> JSON equals the fixture's JSON as a JSON value. */
		want = json_object_object_get(c, "json");
		assert_int_equal(dmjson_to_object(v, &got), 0);
		assert_true(json_object_equal(got, want));
		json_object_put(got);
		/* ... and so does our own JSON text, read back. */
		{
			char	*text;
			size_t	 tlen;

			text = dmjson_encode_str(v, &tlen);
			assert_non_null(text);
			got = json_tokener_parse(text);
			assert_true(json_object_equal(got, want));
			json_object_put(got);
			assert_int_equal(dmjson_parse(text, tlen, &w, &err),
			    0);
			assert_true(dm_equal(v, w));
			dm_free(w);
			free(text);
		}
		dm_free(v);
	}
	json_object_put(all);
	dm_buf_free(&b);
}

static void
test_cbor_fixture_key_order(void **state)
{
	struct json_object	*all, *c;
	struct dm		*v;
	const char		*b64;
	const char		*order[] = { "bool", "null", "array", "object",
	    "string", "integer", "unicode" };
	uint8_t			 bytes[4096];
	size_t			 i;
	int			 n;

	all = interop_json_array("data-model", "data-model-fixtures.json");
	c = json_object_array_get_idx(all, 0);
	b64 = json_object_get_string(json_object_object_get(c,
	    "cbor_base64"));
	n = base64_decode(b64, strlen(b64), bytes, sizeof(bytes));
	assert_int_equal(dm_cbor_decode(bytes, (size_t)n, &v, NULL), 0);
	assert_int_equal(dm_len(v), 7);
	for (i = 0; i < 7; i++)
		assert_string_equal(v->u.map.e[i].key, order[i]);
	dm_free(v);
	json_object_put(all);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cbor_reject),
		cmocka_unit_test(test_cbor_roundtrip),
		cmocka_unit_test(test_cbor_int_bounds),
		cmocka_unit_test(test_cbor_depth),
		cmocka_unit_test(test_cbor_size_bounds),
		cmocka_unit_test(test_cbor_key_len),
		cmocka_unit_test(test_cbor_prefix),
		cmocka_unit_test(test_cbor_record_example),
		cmocka_unit_test(test_cbor_fixtures),
		cmocka_unit_test(test_cbor_fixture_key_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
