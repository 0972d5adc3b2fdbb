/*
 * TID generation and encoding.  Commit revs must increase strictly per
 * repo, and record keys must not collide, so the generator never hands
 * out a value at or below the last one, whatever the wall clock does.
 * pdsd is single-threaded per process, so there is no locking.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "log.h"
#include "syntax.h"
#include "tid.h"

static const char s32[] = "234567abcdefghijklmnopqrstuvwxyz";

static uint64_t	real_clock(void);

static tid_clock_fn	tid_clock = real_clock;
static uint64_t		tid_last;
static int		tid_clockid_cur = -1;

static uint64_t
real_clock(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1 || ts.tv_sec < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void
tid_set_clock(tid_clock_fn fn)
{
	tid_clock = fn != NULL ? fn : real_clock;
}

void
tid_reset(void)
{
	tid_last = 0;
	tid_clockid_cur = -1;
}

uint64_t
tid_make(uint64_t us, unsigned int clockid)
{
	return ((us & TID_US_MAX) << 10) | (clockid & TID_CLOCKID_MAX);
}

uint64_t
tid_timestamp(uint64_t v)
{
	return (v >> 10) & TID_US_MAX;
}

unsigned int
tid_clockid(uint64_t v)
{
	return (unsigned int)(v & TID_CLOCKID_MAX);
}

void
tid_encode(uint64_t v, char out[TID_BUFSZ])
{
	int i;

	for (i = TID_STRLEN - 1; i >= 0; i--) {
		out[i] = s32[v & 31];
		v >>= 5;
	}
	out[TID_STRLEN] = '\0';
}

int
tid_from_time(uint64_t us, unsigned int clockid, char out[TID_BUFSZ])
{
	if (us > TID_US_MAX || clockid > TID_CLOCKID_MAX)
		return -1;
	tid_encode(tid_make(us, clockid), out);
	return 0;
}

int
tid_parse(const char *s, size_t len, uint64_t *v)
{
	const char *p;
	size_t i;

	if (!syntax_is_tid(s, len))
		return -1;
	*v = 0;
	for (i = 0; i < TID_STRLEN; i++) {
		p = strchr(s32, s[i]);
		*v = (*v << 5) | (uint64_t)(p - s32);
	}
	return 0;
}

int
tid_compare(const char *a, const char *b)
{
	int c;

	c = strcmp(a, b);
	return c < 0 ? -1 : c > 0;
}

uint64_t
tid_next_value(void)
{
	uint64_t us, v;

	if (tid_clockid_cur < 0) {
		if (sodium_init() < 0)
			fatalx("tid: cannot initialise libsodium");
		tid_clockid_cur = (int)randombytes_uniform(TID_CLOCKID_MAX + 1);
	}
	us = tid_clock();
	if (us > TID_US_MAX)
		us = TID_US_MAX;
	v = tid_make(us, (unsigned int)tid_clockid_cur);
	/* A stalled or stepped-back clock: move one microsecond on. */
	if (v <= tid_last)
		v = tid_last + (UINT64_C(1) << 10);
	tid_last = v;
	return v;
}

void
tid_raise(uint64_t floor)
{
	if (floor > tid_last)
		tid_last = floor;
}

void
tid_next(char out[TID_BUFSZ])
{
	tid_encode(tid_next_value(), out);
}
