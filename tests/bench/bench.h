/*
 * Small helpers shared by the benchmarks in tests/bench/: a fast
 * deterministic generator (the same figures every run) and a clock.
 */
#ifndef PDS_BENCH_H
#define PDS_BENCH_H

#include <stdint.h>
#include <time.h>

/* xorshift64: not for secrets, only for repeatable test data. */
static inline uint64_t
bench_rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static inline double
bench_now_us(void)
{
	struct timespec	t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* qsort order for doubles. */
static inline int
bench_cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#endif
