/*
 * atproto JSON <-> data model: the interop fixtures from the JSON side,
 * the valid/invalid lists, and each conversion rule.
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

static void
test_json_fixtures(void **state)
{
	struct json_object	*all, *c;
	struct dm		*v, *w;
	struct dm_buf		 b = { NULL, 0, 0 };
	struct cid		 cid;
	const char		*b64, *err, *text;
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
		/* JSON tree -> value -> exactly the fixture's CBOR. */
		if (dmjson_from_object(json_object_object_get(c, "json"), &v,
		    &err) == -1)
			fail_msg("fixture %zu: %s", i, err);
		b.len = 0;
		assert_int_equal(dm_cbor_encode(v, &b), 0);
		assert_int_equal(b.len, (size_t)n);
		assert_memory_equal(b.p, bytes, (size_t)n);
		assert_int_equal(dm_cbor_cid(v, &cid), 0);
		assert_string_equal(cid_fmt(&cid), json_object_get_string(
		    json_object_object_get(c, "cid")));
		/* The same from JSON text through our parser. */
		text = json_object_to_json_string_ext(json_object_object_get(c,
		    "json"), JSON_C_TO_STRING_PRETTY);
		assert_int_equal(dmjson_parse_record(text, strlen(text), &w,
		    &err), 0);
		assert_true(dm_equal(v, w));
		dm_free(w);
		dm_free(v);
	}
	json_object_put(all);
	dm_buf_free(&b);
}

static void
run_list(const char *name, int expect)
{
	struct json_object	*all, *c;
	struct dm		*v;
	const char		*text, *err, *note;
	size_t			 i;
	int			 rc, bad = 0;

	all = interop_json_array("data-model", name);
	assert_true(json_object_array_length(all) > 0);
	for (i = 0; i < json_object_array_length(all); i++) {
		c = json_object_array_get_idx(all, i);
		note = json_object_get_string(json_object_object_get(c,
		    "note"));
		text = json_object_to_json_string_ext(json_object_object_get(c,
		    "json"), JSON_C_TO_STRING_PLAIN);
		err = NULL;
		rc = dmjson_parse_record(text, strlen(text), &v, &err);
		if ((rc == 0) != expect) {
			print_error("%s case %zu (%s): %s\n", name, i, note,
			    rc == 0 ? "accepted" : err);
			bad++;
		}
		if (rc == 0)
			dm_free(v);
		else
			assert_non_null(err);
	}
	json_object_put(all);
	assert_int_equal(bad, 0);
}

static void
test_json_valid(void **state)
{
	run_list("data-model-valid.json", 1);
}

static void
test_json_invalid(void **state)
{
	run_list("data-model-invalid.json", 0);
}

static int
parse(const char *s, struct dm **v)
{
	const char	*err;

	return dmjson_parse(s, strlen(s), v, &err);
}

static void
test_json_numbers(void **state)
{
	struct dm	*v;

	assert_int_equal(parse("9007199254740991", &v), 0);
	assert_true(v->type == DM_INT && v->u.i == DM_SAFEINT);
	dm_free(v);
	assert_int_equal(parse("-9007199254740991", &v), 0);
	assert_true(v->u.i == -DM_SAFEINT);
	dm_free(v);
	assert_int_equal(parse("9007199254740992", &v), -1);
	assert_int_equal(parse("-9007199254740992", &v), -1);
	assert_int_equal(parse("18446744073709551615", &v), -1);
	assert_int_equal(parse("1e300", &v), -1);
	assert_int_equal(parse("1.5", &v), -1);
	assert_int_equal(parse("-0.25", &v), -1);
	assert_int_equal(parse("123.0", &v), 0);
	assert_true(v->type == DM_INT && v->u.i == 123);
	dm_free(v);
	assert_int_equal(parse("1e2", &v), 0);
	assert_true(v->type == DM_INT && v->u.i == 100);
	dm_free(v);
	assert_int_equal(parse("NaN", &v), -1);
	assert_int_equal(parse("Infinity", &v), -1);
}

static void
test_json_special_objects(void **state)
{
	struct dm	*v;

	assert_int_equal(parse("{\"$bytes\":\"AQID\"}", &v), 0);
	assert_true(v->type == DM_BYTES && v->u.s.len == 3);
	assert_memory_equal(v->u.s.p, "\1\2\3", 3);
	dm_free(v);
	assert_int_equal(parse("{\"$bytes\":\"AQ==\"}", &v), 0);
	assert_true(v->type == DM_BYTES && v->u.s.len == 1);
	dm_free(v);
	assert_int_equal(parse("{\"$bytes\":\"AQ\"}", &v), 0);
	dm_free(v);
	assert_int_equal(parse("{\"$bytes\":\"\"}", &v), 0);
	assert_true(v->type == DM_BYTES && v->u.s.len == 0);
	dm_free(v);
	assert_int_equal(parse("{\"$bytes\":\"A-_\"}", &v), -1);
	assert_int_equal(parse("{\"$bytes\":\"A\"}", &v), -1);
	assert_int_equal(parse("{\"$bytes\":null}", &v), -1);
	assert_int_equal(parse("{\"$link\":\"bafyreie5737gdxlw5i64vzichcalba3z"
	    "2v5n6icifvx5xytvske7mr3hpm\"}", &v), 0);
	assert_true(v->type == DM_LINK);
	dm_free(v);
	assert_int_equal(parse("{\"$link\":\"QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMi"
	    "MPL8wBuTGsMnR\"}", &v), -1);
	assert_int_equal(parse("{\"$link\":\"\"}", &v), -1);
	/* Other $ keys are ordinary map keys. */
	assert_int_equal(parse("{\"$other\":\"x\"}", &v), 0);
	assert_true(v->type == DM_MAP);
	dm_free(v);
}

static void
test_json_syntax(void **state)
{
	struct dm	*v;

	assert_int_equal(parse("{}", &v), 0);
	dm_free(v);
	assert_int_equal(parse(" {} \n", &v), 0);
	dm_free(v);
	assert_int_equal(parse("null", &v), 0);
	assert_true(v->type == DM_NULL);
	dm_free(v);
	assert_int_equal(parse("", &v), -1);
	assert_int_equal(parse("{", &v), -1);
	assert_int_equal(parse("{}x", &v), -1);
	assert_int_equal(parse("{}{}", &v), -1);
	assert_int_equal(parse("{'a':1}", &v), -1);
	assert_int_equal(parse("[1,]", &v), -1);
	assert_int_equal(parse("[1.]", &v), -1);
	assert_int_equal(parse("[1.e5]", &v), -1);
	assert_int_equal(parse("[\"a\tb\"]", &v), -1);
	assert_int_equal(parse("[\"it's \\\"ok\\\"\"]", &v), 0);
	dm_free(v);
	assert_int_equal(parse("\"\xc3\x28\"", &v), -1);
	/* json-c turns a lone surrogate into U+FFFD. */
	assert_int_equal(parse("\"\\ud800\"", &v), 0);
	assert_true(v->type == DM_STR && v->u.s.len == 3);
	assert_memory_equal(v->u.s.p, "\xef\xbf\xbd", 3);
	dm_free(v);
	assert_int_equal(parse("12 3", &v), -1);
	assert_int_equal(parse("-", &v), -1);
	assert_int_equal(parse("7", &v), 0);
	assert_true(v->type == DM_INT && v->u.i == 7);
	dm_free(v);
	assert_int_equal(parse("\"\\ud83d\\ude00\"", &v), 0);
	assert_true(v->type == DM_STR && v->u.s.len == 4);
	assert_memory_equal(v->u.s.p, "\xf0\x9f\x98\x80", 4);
	dm_free(v);
	assert_int_equal(dmjson_parse_record("[]", 2, &v, NULL), -1);
	assert_int_equal(dmjson_parse_record("\"s\"", 3, &v, NULL), -1);
}

static void
test_json_depth(void **state)
{
	char		buf[2 * DM_MAXDEPTH + 8];
	struct dm	*v;
	size_t		n;

	n = DM_MAXDEPTH + 1;
	memset(buf, '[', n);
	memset(buf + n, ']', n);
	assert_int_equal(dmjson_parse(buf, 2 * n, &v, NULL), 0);
	dm_free(v);
	n++;
	memset(buf, '[', n);
	memset(buf + n, ']', n);
	assert_int_equal(dmjson_parse(buf, 2 * n, &v, NULL), -1);
}

static void
test_json_output(void **state)
{
	struct dm	*m, *a;
	struct cid	 c;
	char		*s;
	size_t		 len;

	cid_of_bytes(&c, CID_CODEC_RAW, "hello world", 11);
	m = dm_map();
	dm_map_set(m, "text", dm_str("q\"b\\s/\n\t\x01\xc3\xb6"));
	dm_map_set(m, "$type", dm_str("t"));
	dm_map_set(m, "n", dm_int(-42));
	a = dm_array();
	dm_array_push(a, dm_null());
	dm_array_push(a, dm_bool(0));
	dm_array_push(a, dm_bytes("\xfb\xff", 2));
	dm_array_push(a, dm_link(&c));
	dm_map_set(m, "a", a);
	s = dmjson_encode_str(m, &len);
	assert_string_equal(s, "{\"a\":[null,false,{\"$bytes\":\"+/8\"},"
	    "{\"$link\":\"bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66w"
	    "of36n5e\"}],\"n\":-42,\"text\":\"q\\\"b\\\\s/\\n\\t\\u0001\xc3\xb6"
	    "\",\"$type\":\"t\"}");
	assert_int_equal(len, strlen(s));
	free(s);
	dm_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_fixtures),
		cmocka_unit_test(test_json_valid),
		cmocka_unit_test(test_json_invalid),
		cmocka_unit_test(test_json_numbers),
		cmocka_unit_test(test_json_special_objects),
		cmocka_unit_test(test_json_syntax),
		cmocka_unit_test(test_json_depth),
		cmocka_unit_test(test_json_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
