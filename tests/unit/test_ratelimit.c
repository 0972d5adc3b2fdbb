/*
 * Rate limits: the reference's windows (5 minutes and a day for logins,
 * an hour and a day of write points), refusals that still count, fixed
 * windows that reset, and a table that never holds more counters than
 * its size, forgetting the least recently used first.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "pdsd.h"
#include "ratelimit.h"

#define T0	((time_t)1704067200)

static int
setup(void **state)
{
	fe->cfg.ratelimit_off = 0;
	return ratelimit_init(0);
}

static int
teardown(void **state)
{
	ratelimit_free();
	return 0;
}

static void
test_session_window(void **state)
{
	struct rl_verdict	 v;
	int			 i;

	for (i = 1; i <= 30; i++) {
		assert_int_equal(ratelimit_take(RL_CREATE_SESSION,
		    "alice.test\n10.0.0.1", 1, T0 + i, &v), 0);
		assert_false(v.limited);
	}
	/* The 5-minute window has the fewest left: it is the one shown. */
	assert_int_equal(v.limit, 30);
	assert_int_equal(v.remaining, 0);
	assert_int_equal(v.window, 300);
	assert_int_equal(v.reset, T0 + 1 + 300);

	assert_int_equal(ratelimit_take(RL_CREATE_SESSION,
	    "alice.test\n10.0.0.1", 1, T0 + 31, &v), -1);
	assert_true(v.limited);
	assert_int_equal(v.limit, 30);
	assert_int_equal(v.remaining, 0);
	assert_int_equal(v.reset, T0 + 301);

	/* Another identifier, or the same from another address: apart. */
	assert_int_equal(ratelimit_take(RL_CREATE_SESSION,
	    "bob.test\n10.0.0.1", 1, T0 + 31, &v), 0);
	assert_int_equal(v.remaining, 29);
	assert_int_equal(ratelimit_take(RL_CREATE_SESSION,
	    "alice.test\n10.0.0.2", 1, T0 + 31, &v), 0);

	/* The window ends at its reset time, not before. */
	assert_int_equal(ratelimit_take(RL_CREATE_SESSION,
	    "alice.test\n10.0.0.1", 1, T0 + 300, &v), -1);
	assert_int_equal(ratelimit_take(RL_CREATE_SESSION,
	    "alice.test\n10.0.0.1", 1, T0 + 301, &v), 0);
	assert_int_equal(v.reset, T0 + 601);
	assert_int_equal(v.remaining, 29);
}

/* 300 a day: ten full 5-minute windows, then the day refuses. */
static void
test_session_day(void **state)
{
	struct rl_verdict	 v;
	time_t			 t;
	int			 w, i;

	for (w = 0; w < 10; w++) {
		t = T0 + w * 300;
		for (i = 0; i < 30; i++)
			assert_int_equal(ratelimit_take(RL_CREATE_SESSION,
			    "carol.test\n10.0.0.3", 1, t, &v), 0);
	}
	assert_int_equal(ratelimit_take(RL_CREATE_SESSION,
	    "carol.test\n10.0.0.3", 1, T0 + 3000, &v), -1);
	assert_int_equal(v.limit, 300);
	assert_int_equal(v.window, 86400);
	assert_int_equal(v.reset, T0 + 86400);
	assert_int_equal(ratelimit_take(RL_CREATE_SESSION,
	    "carol.test\n10.0.0.3", 1, T0 + 86400, &v), 0);
}

/* 5000 points an hour: 1666 creates fit, the next does not. */
static void
test_repo_points(void **state)
{
	struct rl_verdict	 v;
	const char		*did = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
	int			 i;

	for (i = 0; i < 1666; i++)
		assert_int_equal(ratelimit_take(RL_REPO_WRITE, did,
		    RL_POINTS_CREATE, T0, &v), 0);
	assert_int_equal(v.limit, 5000);
	assert_int_equal(v.remaining, 2);
	assert_int_equal(ratelimit_take(RL_REPO_WRITE, did, RL_POINTS_CREATE,
	    T0, &v), -1);
	assert_int_equal(v.window, 3600);
	/* The refused create counted: no room for a delete either. */
	assert_int_equal(ratelimit_take(RL_REPO_WRITE, did, RL_POINTS_DELETE,
	    T0, &v), -1);
	/* A new hour: writes go on, and the day has 35000. */
	assert_int_equal(ratelimit_take(RL_REPO_WRITE, did, RL_POINTS_UPDATE,
	    T0 + 3600, &v), 0);
	assert_int_equal(v.limit, 5000);
	assert_int_equal(v.remaining, 4998);
	assert_int_equal(ratelimit_take(RL_REPO_WRITE, did, 35000 - 5004,
	    T0 + 3600, &v), -1);
	assert_int_equal(ratelimit_take(RL_REPO_WRITE, did, 1, T0 + 7200,
	    &v), -1);
	assert_int_equal(v.limit, 35000);
	assert_int_equal(v.window, 86400);
}

static void
test_other_groups(void **state)
{
	struct rl_verdict	 v;
	int			 i;

	for (i = 0; i < 3000; i++)
		assert_int_equal(ratelimit_take(RL_GLOBAL, "\n10.0.0.9", 1, T0,
		    &v), 0);
	assert_int_equal(ratelimit_take(RL_GLOBAL, "\n10.0.0.9", 1, T0, &v),
	    -1);
	for (i = 0; i < 100; i++)
		assert_int_equal(ratelimit_take(RL_CREATE_ACCOUNT, "\n10.0.0.9",
		    1, T0, &v), 0);
	assert_int_equal(ratelimit_take(RL_CREATE_ACCOUNT, "\n10.0.0.9", 1,
	    T0, &v), -1);
	for (i = 0; i < 10; i++)
		assert_int_equal(ratelimit_take(RL_UPDATE_HANDLE, "did:x:y", 1,
		    T0, &v), 0);
	assert_int_equal(ratelimit_take(RL_UPDATE_HANDLE, "did:x:y", 1, T0,
	    &v), -1);
	assert_int_equal(v.limit, 10);
	/* Points past 2^32 saturate instead of wrapping to "allowed". */
	assert_int_equal(ratelimit_take(RL_REPO_WRITE, "did:x:z", UINT32_MAX,
	    T0, &v), -1);
	assert_int_equal(ratelimit_take(RL_REPO_WRITE, "did:x:z", UINT32_MAX,
	    T0, &v), -1);
	assert_int_equal(v.remaining, 0);
}

/* A table of 4: the fifth key evicts the least recently used. */
static void
test_bounded(void **state)
{
	struct rl_verdict	 v;
	const char		*k[] = { "a", "b", "c", "d", "e" };
	int			 i;

	assert_int_equal(ratelimit_init(4), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(ratelimit_take(RL_GLOBAL, k[i], 10, T0, &v),
		    0);
		assert_int_equal(ratelimit_count(), (size_t)i + 1);
	}
	/* Touch "a": now "b" is the oldest. */
	assert_int_equal(ratelimit_take(RL_GLOBAL, "a", 10, T0, &v), 0);
	assert_int_equal(v.remaining, 2980);
	assert_int_equal(ratelimit_take(RL_GLOBAL, "e", 10, T0, &v), 0);
	assert_int_equal(ratelimit_count(), 4);
	/* "a" kept its count; "b" was forgotten and starts again. */
	assert_int_equal(ratelimit_take(RL_GLOBAL, "a", 10, T0, &v), 0);
	assert_int_equal(v.remaining, 2970);
	assert_int_equal(ratelimit_take(RL_GLOBAL, "b", 10, T0, &v), 0);
	assert_int_equal(v.remaining, 2990);
	assert_int_equal(ratelimit_count(), 4);
	/* Many more keys than slots: still 4, and no growth. */
	for (i = 0; i < 1000; i++) {
		char	key[16];

		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(ratelimit_take(RL_GLOBAL, key, 1, T0, &v), 0);
	}
	assert_int_equal(ratelimit_count(), 4);
	/* Two windows of a group are two counters. */
	assert_int_equal(ratelimit_init(4), 0);
	assert_int_equal(ratelimit_take(RL_CREATE_SESSION, "x", 1, T0, &v), 0);
	assert_int_equal(ratelimit_count(), 2);
}

/* The wrappers count nothing with "rate limits off". */
static void
test_off(void **state)
{
	int	 i;

	for (i = 0; i < 2000; i++)
		assert_int_equal(ratelimit_repo_write("did:x:off",
		    RL_POINTS_CREATE), i < 1666 ? 0 : -1);
	fe->cfg.ratelimit_off = 1;
	assert_int_equal(ratelimit_repo_write("did:x:off", RL_POINTS_CREATE),
	    0);
	assert_int_equal(ratelimit_repo_write("did:x:other", 100000), 0);
	fe->cfg.ratelimit_off = 0;
	assert_int_equal(ratelimit_repo_write("did:x:other", 100000), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_session_window, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_session_day, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_repo_points, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_other_groups, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_off, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
