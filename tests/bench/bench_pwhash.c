/*
 * The floor under createAccount and createSession: one bare argon2id
 * hash and one verify at pdsd's limits (PWHASH_OPSLIMIT and
 * PWHASH_MEMLIMIT in pdsd/auth.h, what pwhash.c uses), on this machine,
 * in this run.
 *
 *	bench_pwhash [-j file] [rounds]
 *
 * Prints the figures for people and, with -j, writes them as JSON for
 * tests/bench/session.mjs --report.  rounds defaults to 15.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "bench.h"

#define RUNS_DEFAULT	15
#define RUNS_MAX	1000

static double
now_ms(void)
{
	return bench_now_us() / 1e3;
}

struct q {
	double	p50, mean, min, max;
};

static void
summarize(double *v, size_t n, struct q *q)
{
	size_t	i;

	qsort(v, n, sizeof(*v), bench_cmp_double);
	q->mean = 0;
	for (i = 0; i < n; i++)
		q->mean += v[i] / (double)n;
	q->p50 = v[n / 2];
	q->min = v[0];
	q->max = v[n - 1];
}

static void
write_json(const char *path, int runs, const struct q *h, const struct q *v)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL)
		err(1, "%s", path);
	fprintf(f, "{\"opslimit\": %llu, \"memlimit\": %zu, \"runs\": %d,\n"
	    " \"str_ms\": {\"p50\": %.2f, \"mean\": %.2f, \"min\": %.2f, "
	    "\"max\": %.2f},\n \"verify_ms\": {\"p50\": %.2f, \"mean\": "
	    "%.2f, \"min\": %.2f, \"max\": %.2f}}\n",
	    (unsigned long long)PWHASH_OPSLIMIT,
	    (size_t)PWHASH_MEMLIMIT, runs,
	    h->p50, h->mean, h->min, h->max, v->p50, v->mean, v->min, v->max);
	if (fclose(f) == EOF)
		err(1, "%s", path);
}

int
main(int argc, char *argv[])
{
	static const char	 pw[] = "bench-password-1";
	static double		 hs[RUNS_MAX], vs[RUNS_MAX];
	char			 hash[crypto_pwhash_STRBYTES];
	const char		*json = NULL, *e;
	double			 t0;
	struct q		 h, v;
	int			 ch, i, runs = RUNS_DEFAULT;

	while ((ch = getopt(argc, argv, "j:")) != -1) {
		switch (ch) {
		case 'j':
			json = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench_pwhash [-j file] "
			    "[rounds]\n");
			return 1;
		}
	}
	if (optind < argc) {
		runs = (int)strtonum(argv[optind], 1, RUNS_MAX, &e);
		if (e != NULL)
			errx(1, "rounds %s: %s", argv[optind], e);
	}
	if (sodium_init() == -1)
		errx(1, "sodium_init");
	for (i = 0; i < runs; i++) {
		t0 = now_ms();
		if (crypto_pwhash_str(hash, pw, strlen(pw),
		    PWHASH_OPSLIMIT, PWHASH_MEMLIMIT) != 0)
			errx(1, "crypto_pwhash_str: out of memory");
		hs[i] = now_ms() - t0;
	}
	for (i = 0; i < runs; i++) {
		t0 = now_ms();
		if (crypto_pwhash_str_verify(hash, pw, strlen(pw)) != 0)
			errx(1, "crypto_pwhash_str_verify failed");
		vs[i] = now_ms() - t0;
	}
	summarize(hs, runs, &h);
	summarize(vs, runs, &v);
	printf("argon2id (opslimit %llu, memlimit %zu MiB), "
	    "%d runs, one thread:\n",
	    (unsigned long long)PWHASH_OPSLIMIT,
	    (size_t)PWHASH_MEMLIMIT >> 20, runs);
	printf("  crypto_pwhash_str         p50 %7.1f ms  mean %7.1f  "
	    "min %7.1f  max %7.1f\n", h.p50, h.mean, h.min, h.max);
	printf("  crypto_pwhash_str_verify  p50 %7.1f ms  mean %7.1f  "
	    "min %7.1f  max %7.1f\n", v.p50, v.mean, v.min, v.max);
	if (json != NULL)
		write_json(json, runs, &h, &v);
	return 0;
}
