/*
 * DAG-CBOR straight to JSON text (dm_cbor_to_json), which the record
 * reads answer with, against the path it replaced: decode to a value,
 * build a json-c tree, print it plain.  Same text for every value the
 * interop fixtures hold and for random values, and the same inputs
 * refused.
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
#include "cid.h"
#include "dm.h"
#include "dmjson.h"
#include "encoding.h"
#include "interop.h"

#define PREFIX	"[1,"	/* the writer appends: what was there stays */

static int
has_nul_key(const struct dm *v)
{
	size_t	i;

	for (i = 0; v->type == DM_MAP && i < v->u.map.n; i++)
		if (memchr(v->u.map.e[i].key, '\0', v->u.map.e[i].klen) !=
		    NULL || has_nul_key(v->u.map.e[i].val))
			return 1;
	for (i = 0; v->type == DM_ARRAY && i < v->u.arr.n; i++)
		if (has_nul_key(v->u.arr.v[i]))
			return 1;
	return 0;
}

/*
 * The old answer path; a malloc'd string, or NULL if decoding fails.
 * json-c cuts a map key at a NUL (see test_nul_key): for such a value
 * the writer must agree with dmjson_encode instead.
 */
static char *
old_json(const uint8_t *p, size_t n)
{
	struct json_object	*o;
	struct dm		*v;
	const char		*s, *err;
	char			*copy;
	size_t			 len;

	if (dm_cbor_decode(p, n, &v, &err) == -1)
		return NULL;
	if (has_nul_key(v)) {
		assert_non_null(copy = dmjson_encode_str(v, NULL));
		dm_free(v);
		return copy;
	}
	assert_int_equal(dmjson_to_object(v, &o), 0);
	dm_free(v);
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	assert_non_null(s);
	assert_non_null(copy = strndup(s, len));
	assert_int_equal(strlen(copy), len);
	json_object_put(o);
	return copy;
}

/*
 * Both paths over one input: the same text, or both refuse it (and the
 * new one leaves the buffer as it was).  Returns whether it was taken.
 */
static int
same(const uint8_t *p, size_t n, const char *what)
{
	struct dm_buf	 b = { NULL, 0, 0 };
	char		*want;
	const char	*err = NULL;
	int		 rc;

	want = old_json(p, n);
	assert_int_equal(dm_buf_add(&b, PREFIX, strlen(PREFIX)), 0);
	rc = dm_cbor_to_json(p, n, &b, &err);
	if (want == NULL) {
		if (rc != -1)
			fail_msg("%s: taken by the new path only", what);
		assert_non_null(err);
		assert_int_equal(b.len, strlen(PREFIX));
		assert_int_equal(dm_cbor_check(p, n, NULL), -1);
		dm_buf_free(&b);
		return 0;
	}
	if (rc != 0)
		fail_msg("%s: refused by the new path only: %s", what, err);
	assert_true(b.len >= strlen(PREFIX));
	assert_memory_equal(b.p, PREFIX, strlen(PREFIX));
	if (b.len - strlen(PREFIX) != strlen(want) ||
	    memcmp(b.p + strlen(PREFIX), want, strlen(want)) != 0)
		fail_msg("%s: differs\nold %s\nnew %.*s", what, want,
		    (int)(b.len - strlen(PREFIX)), b.p + strlen(PREFIX));
	free(want);
	dm_buf_free(&b);
	return 1;
}

static void
same_value(const struct dm *v, const char *what)
{
	struct dm_buf	b = { NULL, 0, 0 };

	assert_int_equal(dm_cbor_encode(v, &b), 0);
	assert_true(same(b.p, b.len, what));
	dm_buf_free(&b);
}

static void
test_fixtures(void **state)
{
	struct json_object	*all, *c;
	struct dm		*v;
	const char		*b64, *err, *text;
	uint8_t			 bytes[4096];
	size_t			 i;
	int			 n;

	all = interop_json_array("data-model", "data-model-fixtures.json");
	assert_true(json_object_array_length(all) > 0);
	for (i = 0; i < json_object_array_length(all); i++) {
		c = json_object_array_get_idx(all, i);
		b64 = interop_str(c, "cbor_base64");
		n = base64_decode(b64, strlen(b64), bytes, sizeof(bytes));
		assert_true(n > 0);
		assert_true(same(bytes, (size_t)n, "fixture"));
	}
	json_object_put(all);

	/* Every valid data-model case, through its CBOR. */
	all = interop_json_array("data-model", "data-model-valid.json");
	assert_true(json_object_array_length(all) > 0);
	for (i = 0; i < json_object_array_length(all); i++) {
		c = json_object_array_get_idx(all, i);
		text = json_object_to_json_string_ext(json_object_object_get(c,
		    "json"), JSON_C_TO_STRING_PLAIN);
		if (dmjson_parse_record(text, strlen(text), &v, &err) == -1)
			fail_msg("valid case %zu: %s", i, err);
		same_value(v, interop_str(c, "note"));
		dm_free(v);
	}
	json_object_put(all);
}

/* Every JSON escape and the characters next to them. */
static void
test_strings(void **state)
{
	static const char	 s[] = "a\"b\\c/d\b\f\n\r\t\x01\x1f\x7f "
	    "\xc3\xb6\xe2\x82\xac\xf0\x9f\x98\x80</script>";
	struct dm		*m;
	char			 all[32];
	int			 i;

	m = dm_map();
	dm_map_set(m, s, dm_strn(s, sizeof(s) - 1));
	dm_map_set(m, "nul", dm_strn("x\0y", 3));
	dm_map_set(m, "", dm_str(""));
	for (i = 0; i < 31; i++)
		all[i] = (char)(i + 1);
	dm_map_set(m, "ctl", dm_strn(all, 31));
	same_value(m, "escapes");
	dm_free(m);
}

static void
test_scalars(void **state)
{
	static const int64_t	 ints[] = { 0, 1, -1, 9, 10, -10, 23, 24,
	    255, 256, 65535, 65536, 4294967295LL, 4294967296LL, DM_SAFEINT,
	    -DM_SAFEINT, INT64_MAX, INT64_MIN, INT64_MIN + 1 };
	static const uint8_t	 raw[] = { 0, 1, 2, 0xfb, 0xff, 0x3e, 0x3f };
	struct dm		*a;
	struct cid		 c;
	size_t			 i;

	a = dm_array();
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		dm_array_push(a, dm_int(ints[i]));
	for (i = 0; i <= sizeof(raw); i++)
		dm_array_push(a, dm_bytes(raw, i));
	cid_of_bytes(&c, CID_CODEC_DAGCBOR, raw, sizeof(raw));
	dm_array_push(a, dm_link(&c));
	cid_of_bytes(&c, CID_CODEC_RAW, raw, sizeof(raw));
	dm_array_push(a, dm_link(&c));
	dm_array_push(a, dm_null());
	dm_array_push(a, dm_bool(0));
	dm_array_push(a, dm_bool(1));
	dm_array_push(a, dm_array());
	dm_array_push(a, dm_map());
	same_value(a, "scalars");
	for (i = 0; i < dm_len(a); i++)
		same_value(dm_array_get(a, i), "one scalar");
	dm_free(a);
}

/*
 * A map key holding a NUL: json-c cut such keys short, the writer keeps
 * the whole key (as the reference does), which is the one difference.
 */
static void
test_nul_key(void **state)
{
	struct dm	*m;
	struct dm_buf	 b = { NULL, 0, 0 }, j = { NULL, 0, 0 };
	const char	 want[] = "{\"a\\u0000b\":1}";

	m = dm_map();
	dm_map_setn(m, "a\0b", 3, dm_int(1));
	assert_int_equal(dm_cbor_encode(m, &b), 0);
	assert_int_equal(dm_cbor_to_json(b.p, b.len, &j, NULL), 0);
	assert_int_equal(j.len, sizeof(want) - 1);
	assert_memory_equal(j.p, want, j.len);
	dm_free(m);
	dm_buf_free(&b);
	dm_buf_free(&j);
}

static uint32_t	rng = 12345;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* Random text: ASCII with escapes, multibyte UTF-8, no NUL in keys. */
static struct dm *
rnd_str(int key)
{
	static const char	*pieces[] = { "a", "Z", "0", " ", "\"", "\\",
	    "/", "\n", "\t", "\x01", "\x1f", "\x7f", "\xc3\xa9",
	    "\xe2\x82\xac", "\xf0\x9f\x98\x80", "$type", "$link", "\0" };
	char			 s[64];
	size_t			 n = 0, l, i, want = rnd() % 12;
	const char		*p;

	for (i = 0; i < want; i++) {
		p = pieces[rnd() % (sizeof(pieces) / sizeof(pieces[0]) -
		    (key ? 1 : 0))];
		l = p[0] == '\0' ? 1 : strlen(p);
		memcpy(s + n, p, l);
		n += l;
	}
	return dm_strn(s, n);
}

static struct dm *
rnd_value(int depth)
{
	struct dm	*v, *k;
	struct cid	 c;
	uint8_t		 raw[40];
	size_t		 i, n;
	int		 t = rnd() % (depth > 4 ? 7 : 9);

	switch (t) {
	case 0:
		return dm_null();
	case 1:
		return dm_bool(rnd() & 1);
	case 2:
		n = rnd() % 64;
		return dm_int((int64_t)(((uint64_t)rnd() << 32 | rnd()) >>
		    n) * (rnd() & 1 ? -1 : 1));
	case 3:
	case 4:
		return rnd_str(0);
	case 5:
		n = rnd() % sizeof(raw);
		for (i = 0; i < n; i++)
			raw[i] = rnd();
		return dm_bytes(raw, n);
	case 6:
		for (i = 0; i < sizeof(raw); i++)
			raw[i] = rnd();
		cid_of_bytes(&c, rnd() & 1 ? CID_CODEC_RAW : CID_CODEC_DAGCBOR,
		    raw, sizeof(raw));
		return dm_link(&c);
	case 7:
		v = dm_array();
		for (n = rnd() % 6, i = 0; i < n; i++)
			dm_array_push(v, rnd_value(depth + 1));
		return v;
	default:
		v = dm_map();
		for (n = rnd() % 6, i = 0; i < n; i++) {
			k = rnd_str(1);
			dm_map_setn(v, k->u.s.p, k->u.s.len,
			    rnd_value(depth + 1));
			dm_free(k);
		}
		return v;
	}
}

static void
test_random(void **state)
{
	struct dm	*v;
	struct dm_buf	 b = { NULL, 0, 0 };
	uint8_t		*bad;
	size_t		 n, j;
	int		 i, taken = 0, refused = 0;

	for (i = 0; i < 3000; i++) {
		v = rnd_value(0);
		b.len = 0;
		assert_int_equal(dm_cbor_encode(v, &b), 0);
		assert_true(same(b.p, b.len, "random value"));
		dm_free(v);
		/* Broken copies: cut short, a byte changed. */
		assert_non_null(bad = malloc(b.len + 1));
		memcpy(bad, b.p, b.len);
		n = b.len > 1 ? rnd() % b.len : 0;
		if (same(bad, n, "cut short"))
			taken++;
		else
			refused++;
		for (j = 0; j < 3 && b.len > 0; j++)
			bad[rnd() % b.len] = rnd();
		if (same(bad, b.len, "changed"))
			taken++;
		else
			refused++;
		free(bad);
	}
	dm_buf_free(&b);
	/* Both kinds happened: the refusals were compared too. */
	assert_true(taken > 100);
	assert_true(refused > 100);
}

/* Too deep is refused by both, at the same depth. */
static void
test_depth(void **state)
{
	uint8_t	buf[DM_MAXDEPTH + 3];
	size_t	n;

	for (n = DM_MAXDEPTH; n <= DM_MAXDEPTH + 2; n++) {
		memset(buf, 0x81, n);
		buf[n] = 0x00;
		assert_int_equal(same(buf, n + 1, "deep"), n <= DM_MAXDEPTH);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_nul_key),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_depth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
