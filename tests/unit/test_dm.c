/*
 * Data model values: builders, canonical key order, lookup, copy, compare.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cbor.h"
#include "dm.h"

static void
test_dm_map_order(void **state)
{
	const char	*keys[] = { "createdAt", "$type", "text", "t", "op",
	    "sig", "did", "rev", "data", "b", "a" };
	const char	*want[] = { "a", "b", "t", "op", "did", "rev", "sig",
	    "data", "text", "$type", "createdAt" };
	struct dm	*m;
	size_t		 i;

	m = dm_map();
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_int_equal(dm_map_set(m, keys[i], dm_int((int64_t)i)),
		    0);
	assert_int_equal(dm_len(m), sizeof(want) / sizeof(want[0]));
	for (i = 0; i < dm_len(m); i++)
		assert_string_equal(m->u.map.e[i].key, want[i]);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_int_equal(dm_map_get(m, keys[i])->u.i, (int64_t)i);
	assert_null(dm_map_get(m, "missing"));
	assert_null(dm_map_get(m, "tex"));
	dm_free(m);
}

static void
test_dm_map_replace_del(void **state)
{
	struct dm	*m;
	int64_t		 i;
	size_t		 len;

	m = dm_map();
	dm_map_set(m, "k", dm_int(1));
	dm_map_set(m, "k", dm_str("two"));
	assert_int_equal(dm_len(m), 1);
	assert_string_equal(dm_map_get_str(m, "k", &len), "two");
	assert_int_equal(len, 3);
	assert_int_equal(dm_map_get_int(m, "k", &i), -1);
	assert_int_equal(dm_map_del(m, "k"), 0);
	assert_int_equal(dm_map_del(m, "k"), -1);
	assert_int_equal(dm_len(m), 0);
	/* Keys are byte strings: an embedded NUL is part of the key. */
	assert_int_equal(dm_map_setn(m, "a\0b", 3, dm_int(7)), 0);
	assert_null(dm_map_get(m, "a"));
	assert_non_null(dm_map_getn(m, "a\0b", 3));
	dm_free(m);
}

static void
test_dm_equal_copy(void **state)
{
	struct dm	*a, *b, *arr;
	struct cid	 c;

	cid_of_bytes(&c, CID_CODEC_RAW, "x", 1);
	a = dm_map();
	arr = dm_array();
	dm_array_push(arr, dm_null());
	dm_array_push(arr, dm_bool(1));
	dm_array_push(arr, dm_bytes("\0\1", 2));
	dm_array_push(arr, dm_link(&c));
	dm_map_set(a, "arr", arr);
	dm_map_set(a, "n", dm_int(-5));
	b = dm_copy(a);
	assert_non_null(b);
	assert_true(dm_equal(a, b));
	dm_map_set(b, "n", dm_int(-6));
	assert_false(dm_equal(a, b));
	dm_map_set(b, "n", dm_int(-5));
	assert_true(dm_equal(a, b));
	dm_array_push(dm_map_get(b, "arr"), dm_null());
	assert_false(dm_equal(a, b));
	dm_free(b);

	/* Different types never compare equal. */
	b = dm_str("1");
	assert_false(dm_equal(dm_map_get(a, "n"), b));
	dm_free(b);
	b = dm_bytes("1", 1);
	assert_false(dm_equal(dm_map_get(a, "n"), b));
	dm_free(b);
	dm_free(a);
}

static void
test_dm_broken_builder(void **state)
{
	struct dm	*m, *a;
	struct dm_buf	 b = { NULL, 0, 0 };

	m = dm_map();
	a = dm_array();
	assert_int_equal(dm_array_push(a, NULL), -1);
	dm_map_set(m, "a", a);
	dm_map_set(m, "ok", dm_int(1));
	assert_int_equal(dm_check_complete(m), -1);
	assert_int_equal(dm_cbor_encode(m, &b), -1);
	assert_int_equal(b.len, 0);
	dm_free(m);

	m = dm_map();
	assert_int_equal(dm_map_set(m, "x", NULL), -1);
	assert_int_equal(dm_cbor_encode(m, &b), -1);
	dm_free(m);
	/* Setters on the wrong type fail and free what they were given. */
	m = dm_int(1);
	assert_int_equal(dm_map_set(m, "x", dm_int(2)), -1);
	assert_int_equal(dm_array_push(m, dm_int(2)), -1);
	assert_int_equal(dm_map_set(NULL, "x", dm_int(2)), -1);
	dm_free(m);
	dm_buf_free(&b);
}

static void
test_dm_utf8(void **state)
{
	assert_true(dm_utf8_valid((const uint8_t *)"", 0));
	assert_true(dm_utf8_valid((const uint8_t *)"plain ascii text!", 17));
	assert_true(dm_utf8_valid((const uint8_t *)"\xc3\xb6\xe2\xbd\x98"
	    "\xf0\x9f\x98\x80", 9));
	assert_true(dm_utf8_valid((const uint8_t *)"\xf4\x8f\xbf\xbf", 4));
	assert_false(dm_utf8_valid((const uint8_t *)"\xc3", 1));
	assert_false(dm_utf8_valid((const uint8_t *)"\xc0\x80", 2));
	assert_false(dm_utf8_valid((const uint8_t *)"\xe0\x80\xaf", 3));
	assert_false(dm_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));
	assert_false(dm_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4));
	assert_false(dm_utf8_valid((const uint8_t *)"\xf5\x80\x80\x80", 4));
	assert_false(dm_utf8_valid((const uint8_t *)"\x80", 1));
	assert_false(dm_utf8_valid((const uint8_t *)"abcdefgh\xff", 9));
	assert_false(dm_utf8_valid((const uint8_t *)"\xc3\x28", 2));
}

static void
test_dm_check_types(void **state)
{
	struct dm	*m, *blob;
	struct cid	 c;
	const char	*err;

	cid_of_bytes(&c, CID_CODEC_RAW, "x", 1);
	m = dm_map();
	dm_map_set(m, "$type", dm_str("app.bsky.feed.post"));
	assert_int_equal(dm_check_types(m, &err), 0);
	dm_map_set(m, "$type", dm_str(""));
	assert_int_equal(dm_check_types(m, &err), -1);
	dm_map_set(m, "$type", dm_int(1));
	assert_int_equal(dm_check_types(m, &err), -1);
	dm_map_set(m, "$type", dm_str("x"));

	blob = dm_map();
	dm_map_set(blob, "$type", dm_str("blob"));
	dm_map_set(blob, "mimeType", dm_str("image/png"));
	dm_map_set(blob, "size", dm_int(10));
	dm_map_set(m, "img", blob);
	assert_int_equal(dm_check_types(m, &err), -1);	/* no ref */
	dm_map_set(blob, "ref", dm_link(&c));
	assert_int_equal(dm_check_types(m, &err), 0);
	dm_map_set(blob, "size", dm_str("10"));
	assert_int_equal(dm_check_types(m, &err), -1);
	dm_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dm_map_order),
		cmocka_unit_test(test_dm_map_replace_del),
		cmocka_unit_test(test_dm_equal_copy),
		cmocka_unit_test(test_dm_broken_builder),
		cmocka_unit_test(test_dm_utf8),
		cmocka_unit_test(test_dm_check_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
