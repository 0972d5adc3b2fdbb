/*
 * TIDs: encoding against the spec's worked examples, parsing, and a
 * generator that stays strictly increasing under a mocked clock that
 * stalls and steps backwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "syntax.h"
#include "tid.h"

#define JAN2024	UINT64_C(1704067200000000)

static uint64_t	mock_now;

static uint64_t
mock_clock(void)
{
	return mock_now;
}

static void
test_encode_examples(void **state)
{
	char buf[TID_BUFSZ];

	assert_int_equal(tid_from_time(JAN2024, 0, buf), 0);
	assert_string_equal(buf, "3khuwc44c2222");
	assert_int_equal(tid_from_time(JAN2024, 1, buf), 0);
	assert_string_equal(buf, "3khuwc44c2223");
	assert_int_equal(tid_from_time(JAN2024, 1023, buf), 0);
	assert_string_equal(buf, "3khuwc44c22zz");
	assert_int_equal(tid_from_time(0, 0, buf), 0);
	assert_string_equal(buf, "2222222222222");
	assert_int_equal(tid_from_time(TID_US_MAX, TID_CLOCKID_MAX, buf), 0);
	assert_string_equal(buf, "bzzzzzzzzzzzz");
	assert_true(syntax_is_tid(buf, strlen(buf)));

	assert_int_equal(tid_from_time(TID_US_MAX + 1, 0, buf), -1);
	assert_int_equal(tid_from_time(0, 1024, buf), -1);
}

static void
test_parse(void **state)
{
	uint64_t v;

	assert_int_equal(tid_parse("3jzfcijpj2z2a", 13, &v), 0);
	assert_true(tid_timestamp(v) == UINT64_C(1688137381887007));
	assert_int_equal(tid_clockid(v), 6);

	assert_int_equal(tid_parse("3khuwc44c22zz", 13, &v), 0);
	assert_true(tid_timestamp(v) == JAN2024);
	assert_int_equal(tid_clockid(v), 1023);

	assert_int_equal(tid_parse("kjzfcijpj2z2a", 13, &v), -1);
	assert_int_equal(tid_parse("3jzfcijpj2z21", 13, &v), -1);
	assert_int_equal(tid_parse("3jzfcijpj2z2", 12, &v), -1);
	assert_int_equal(tid_parse("3JZFCIJPJ2Z2A", 13, &v), -1);
}

static void
test_roundtrip(void **state)
{
	char buf[TID_BUFSZ];
	uint64_t v, w;
	int i;

	for (i = 0; i < 1000; i++) {
		randombytes_buf(&v, sizeof(v));
		v &= ~(UINT64_C(1) << 63);
		tid_encode(v, buf);
		assert_true(syntax_is_tid(buf, TID_STRLEN));
		assert_int_equal(tid_parse(buf, TID_STRLEN, &w), 0);
		assert_true(v == w);
	}
}

static void
test_compare(void **state)
{
	char a[TID_BUFSZ], b[TID_BUFSZ];

	tid_encode(tid_make(JAN2024, 5), a);
	tid_encode(tid_make(JAN2024 + 1, 0), b);
	assert_int_equal(tid_compare(a, b), -1);
	assert_int_equal(tid_compare(b, a), 1);
	assert_int_equal(tid_compare(a, a), 0);
	/* String order is numeric order, even across character changes. */
	tid_encode(UINT64_C(31), a);
	tid_encode(UINT64_C(32), b);
	assert_int_equal(tid_compare(a, b), -1);
}

static void
test_monotonic_mock_clock(void **state)
{
	char prev[TID_BUFSZ], cur[TID_BUFSZ];
	uint64_t v, first;
	int i;

	tid_reset();
	tid_set_clock(mock_clock);
	mock_now = JAN2024;
	first = tid_next_value();
	assert_true(tid_timestamp(first) == JAN2024);
	tid_encode(first, prev);

	for (i = 0; i < 500; i++) {
		/* Stall, jump back an hour, creep forward, jump ahead. */
		if (i % 100 == 50)
			mock_now -= UINT64_C(3600000000);
		else if (i % 100 == 99)
			mock_now += UINT64_C(7200000000);
		else if (i % 3 == 0)
			mock_now += 1;
		tid_next(cur);
		assert_true(syntax_is_tid(cur, TID_STRLEN));
		assert_int_equal(tid_compare(prev, cur), -1);
		assert_int_equal(tid_parse(cur, TID_STRLEN, &v), 0);
		/* The clock id stays fixed for the process. */
		assert_int_equal(tid_clockid(v), tid_clockid(first));
		memcpy(prev, cur, sizeof(prev));
	}

	/* After a backward step it follows the clock again once caught up. */
	mock_now += UINT64_C(86400000000);
	v = tid_next_value();
	assert_true(tid_timestamp(v) == mock_now);
	tid_set_clock(NULL);
	tid_reset();
}

static void
test_real_clock(void **state)
{
	uint64_t a, b;

	tid_reset();
	a = tid_next_value();
	b = tid_next_value();
	assert_true(b > a);
	/* Later than 2024, earlier than 2100. */
	assert_true(tid_timestamp(a) > JAN2024);
	assert_true(tid_timestamp(a) < UINT64_C(4102444800000000));
}

static int
setup(void **state)
{
	return sodium_init() < 0 ? -1 : 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_examples),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_compare),
		cmocka_unit_test(test_monotonic_mock_clock),
		cmocka_unit_test(test_real_clock),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
