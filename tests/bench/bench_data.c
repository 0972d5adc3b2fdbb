/*
 * Data-layer throughput on this machine, one run: each measurement loops
 * for about a second and is printed beside its ceiling.  The ceiling of
 * the byte-stream paths is raw sha2-256 through cid_sha256() (every block
 * we read or write is hashed once, so nothing that hashes can beat it);
 * the ceiling of signing and verifying is libsecp256k1 called directly.
 * Numbers only: nothing here passes or fails.
 */
#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <secp256k1.h>

#include "bench.h"
#include "car.h"
#include "cbor.h"
#include "cid.h"
#include "crypto.h"
#include "dm.h"
#include "tid.h"

#define NRECORDS	20000		/* the record mix */
#define CAR_TARGET	(64 * 1024 * 1024)
#define MEASURE_NS	1000000000LL

#define MB(n)		((double)(n) / (1024.0 * 1024.0))

struct mix {
	struct dm	*v[NRECORDS];
	uint8_t		*enc[NRECORDS];
	size_t		 len[NRECORDS];
	size_t		 bytes;
};

struct meter {
	struct timespec	 t0;
	long long	 ns;
	uint64_t	 ops, bytes;
};

static uint64_t	rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	return bench_rnd(&rng);
}

static void
meter_start(struct meter *m)
{
	memset(m, 0, sizeof(*m));
	clock_gettime(CLOCK_MONOTONIC, &m->t0);
}

/* Counts one pass; returns 1 while the second is not yet up. */
static int
meter_more(struct meter *m, uint64_t bytes)
{
	struct timespec	t;

	m->ops++;
	m->bytes += bytes;
	clock_gettime(CLOCK_MONOTONIC, &t);
	m->ns = (t.tv_sec - m->t0.tv_sec) * 1000000000LL +
	    (t.tv_nsec - m->t0.tv_nsec);
	return m->ns < MEASURE_NS;
}

static double
meter_mbs(const struct meter *m)
{
	return MB(m->bytes) / ((double)m->ns / 1e9);
}

static double
meter_rate(const struct meter *m)
{
	return (double)m->ops / ((double)m->ns / 1e9);
}

static void
words(char *buf, size_t n)
{
	static const char *w[] = { "the", "atproto", "repo", "of", "a",
	    "data", "server", "\303\274ber", "caf\xc3\xa9", "post",
	    "\xf0\x9f\x98\x80", "sky", "merkle", "tree", "and", "signed" };
	size_t	 len = 0, k;

	while (len + 12 < n) {
		k = rnd() % (sizeof(w) / sizeof(w[0]));
		len += (size_t)snprintf(buf + len, n - len, "%s%s",
		    len ? " " : "", w[k]);
	}
}

static struct dm *
strong_ref(const char *did)
{
	struct dm	*r;
	struct cid	 c;
	char		 uri[160], tid[TID_BUFSZ];
	uint64_t	 x = rnd();

	tid_encode(rnd() >> 1, tid);
	snprintf(uri, sizeof(uri), "at://%s/app.bsky.feed.post/%s", did, tid);
	cid_of_bytes(&c, CID_CODEC_DAGCBOR, &x, sizeof(x));
	r = dm_map();
	dm_map_set(r, "uri", dm_str(uri));
	dm_map_set(r, "cid", dm_link(&c));
	return r;
}

static struct dm *
image_embed(void)
{
	struct dm	*e, *imgs, *img, *blob;
	struct cid	 c;
	uint64_t	 x = rnd();

	cid_of_bytes(&c, CID_CODEC_RAW, &x, sizeof(x));
	blob = dm_map();
	dm_map_set(blob, "$type", dm_str("blob"));
	dm_map_set(blob, "ref", dm_link(&c));
	dm_map_set(blob, "mimeType", dm_str("image/jpeg"));
	dm_map_set(blob, "size", dm_int((int64_t)(rnd() % 900000)));
	img = dm_map();
	dm_map_set(img, "alt", dm_str("a picture"));
	dm_map_set(img, "image", blob);
	imgs = dm_array();
	dm_array_push(imgs, img);
	e = dm_map();
	dm_map_set(e, "$type", dm_str("app.bsky.embed.images"));
	dm_map_set(e, "images", imgs);
	return e;
}

static struct dm *
post(const char *did, const char *now)
{
	struct dm	*v, *langs, *reply;
	char		 text[301];

	words(text, 40 + rnd() % 260);
	v = dm_map();
	dm_map_set(v, "$type", dm_str("app.bsky.feed.post"));
	dm_map_set(v, "text", dm_str(text));
	dm_map_set(v, "createdAt", dm_str(now));
	langs = dm_array();
	dm_array_push(langs, dm_str("en"));
	dm_map_set(v, "langs", langs);
	if (rnd() % 3 == 0) {
		reply = dm_map();
		dm_map_set(reply, "root", strong_ref(did));
		dm_map_set(reply, "parent", strong_ref(did));
		dm_map_set(v, "reply", reply);
	}
	if (rnd() % 5 == 0)
		dm_map_set(v, "embed", image_embed());
	return v;
}

/* Likes, posts, follows and reposts, in about the proportions seen. */
static struct dm *
record(void)
{
	static const char	*did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
	const char		*now = "2024-11-25T18:44:01.123Z";
	struct dm		*v;
	unsigned		 k = rnd() % 100;

	if (k < 35)
		return post(did, now);
	v = dm_map();
	dm_map_set(v, "createdAt", dm_str(now));
	if (k < 75) {
		dm_map_set(v, "$type", dm_str("app.bsky.feed.like"));
		dm_map_set(v, "subject", strong_ref(did));
	} else if (k < 90) {
		dm_map_set(v, "$type", dm_str("app.bsky.graph.follow"));
		dm_map_set(v, "subject", dm_str(did));
	} else {
		dm_map_set(v, "$type", dm_str("app.bsky.feed.repost"));
		dm_map_set(v, "subject", strong_ref(did));
	}
	return v;
}

static void
make_mix(struct mix *m)
{
	size_t	i;

	for (i = 0; i < NRECORDS; i++) {
		m->v[i] = record();
		if ((m->enc[i] = dm_cbor_encode_mem(m->v[i], &m->len[i])) ==
		    NULL)
			errx(1, "encode");
		m->bytes += m->len[i];
	}
}

static double
bench_sha256(void)
{
	struct meter	 m;
	uint8_t		*buf, h[32];
	size_t		 len = 1024 * 1024;

	if ((buf = malloc(len)) == NULL)
		err(1, NULL);
	memset(buf, 0xa5, len);
	meter_start(&m);
	do
		cid_sha256(buf, len, h);
	while (meter_more(&m, len));
	free(buf);
	return meter_mbs(&m);
}

static double
bench_decode(const struct mix *mx)
{
	struct meter	 m;
	struct dm	*v;
	const char	*e;
	size_t		 i;

	meter_start(&m);
	do {
		for (i = 0; i < NRECORDS; i++) {
			if (dm_cbor_decode(mx->enc[i], mx->len[i], &v, &e) ==
			    -1)
				errx(1, "decode: %s", e);
			dm_free(v);
		}
	} while (meter_more(&m, mx->bytes));
	return meter_mbs(&m);
}

static double
bench_encode(const struct mix *mx)
{
	struct meter	 m;
	struct dm_buf	 b = { NULL, 0, 0 };
	size_t		 i;

	meter_start(&m);
	do {
		for (i = 0; i < NRECORDS; i++) {
			b.len = 0;
			if (dm_cbor_encode(mx->v[i], &b) == -1)
				errx(1, "encode");
		}
	} while (meter_more(&m, mx->bytes));
	dm_buf_free(&b);
	return meter_mbs(&m);
}

/* A CAR of about CAR_TARGET bytes: the mix, each copy made unique. */
static void
make_car(const struct mix *mx, struct dm_buf *car, size_t *nblocks)
{
	struct cid	 c, root;
	uint8_t		 blk[4096];
	size_t		 i, len;
	uint32_t	 n = 0;

	memset(&root, 0, sizeof(root));
	cid_of_bytes(&root, CID_CODEC_DAGCBOR, "root", 4);
	if (dm_buf_reserve(car, CAR_TARGET + 8192) == -1 ||
	    car_write_header(car_sink_dmbuf, car, &root, 1) == -1)
		errx(1, "car");
	for (i = 0; car->len < CAR_TARGET; i = (i + 1) % NRECORDS, n++) {
		/* A counter in a trailing text makes every block distinct. */
		len = mx->len[i];
		if (len + 8 > sizeof(blk))
			continue;
		memcpy(blk, mx->enc[i], len);
		memcpy(blk + len, &n, sizeof(n));
		cid_of_bytes(&c, CID_CODEC_RAW, blk, len + sizeof(n));
		if (car_write_block(car_sink_dmbuf, car, &c, blk,
		    len + sizeof(n)) == -1)
			errx(1, "car");
	}
	*nblocks = n;
}

static int
count_block(void *arg, const struct cid *c, const uint8_t *p, size_t len)
{
	(*(size_t *)arg)++;
	return 0;
}

static double
bench_car(const struct dm_buf *car, size_t nblocks)
{
	struct meter	 m;
	const char	*e;
	size_t		 seen;

	meter_start(&m);
	do {
		seen = 0;
		if (car_read_mem(car->p, car->len, NULL, count_block, &seen,
		    &e) == -1)
			errx(1, "car read: %s", e);
		if (seen != nblocks)
			errx(1, "car read: %zu blocks, not %zu", seen, nblocks);
	} while (meter_more(&m, car->len));
	return meter_mbs(&m);
}

static void
bench_k256(double *sign, double *verify)
{
	struct privkey	*k;
	struct pubkey	 pub;
	struct meter	 m;
	uint8_t		 msg[200], sig[SIG_LEN];

	memset(msg, 7, sizeof(msg));
	if ((k = privkey_generate(KEY_K256)) == NULL ||
	    privkey_public(k, &pub) == -1)
		errx(1, "k256 key");
	meter_start(&m);
	do {
		msg[0]++;
		if (privkey_sign(k, msg, sizeof(msg), sig) == -1)
			errx(1, "sign");
	} while (meter_more(&m, 0));
	*sign = meter_rate(&m);
	meter_start(&m);
	do {
		if (pubkey_verify(&pub, msg, sizeof(msg), sig, SIG_LEN) == -1)
			errx(1, "verify");
	} while (meter_more(&m, 0));
	*verify = meter_rate(&m);
	privkey_free(k);
}

/* libsecp256k1 alone, on a ready digest: what a wrapper can reach. */
static void
bench_secp256k1(double *sign, double *verify)
{
	secp256k1_context	*ctx;
	secp256k1_ecdsa_signature s;
	secp256k1_pubkey	 pub;
	struct meter		 m;
	uint8_t			 sk[32], h[32];

	ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	memset(sk, 0x42, sizeof(sk));
	memset(h, 0x17, sizeof(h));
	if (ctx == NULL || !secp256k1_ec_pubkey_create(ctx, &pub, sk))
		errx(1, "secp256k1");
	meter_start(&m);
	do {
		h[0]++;
		if (!secp256k1_ecdsa_sign(ctx, &s, h, sk, NULL, NULL))
			errx(1, "secp256k1 sign");
	} while (meter_more(&m, 0));
	*sign = meter_rate(&m);
	meter_start(&m);
	do {
		if (!secp256k1_ecdsa_verify(ctx, &s, h, &pub))
			errx(1, "secp256k1 verify");
	} while (meter_more(&m, 0));
	*verify = meter_rate(&m);
	secp256k1_context_destroy(ctx);
}

static void
line_mbs(const char *what, double v, double ceiling)
{
	printf("%-40s %9.1f MB/s  %5.2f x sha2-256\n", what, v, v / ceiling);
}

static void
line_rate(const char *what, double v, double ceiling)
{
	printf("%-40s %9.0f /s    %5.2f x libsecp256k1 (%.0f /s)\n", what, v,
	    v / ceiling, ceiling);
}

int
main(void)
{
	static struct mix	 mx;
	struct dm_buf		 car = { NULL, 0, 0 };
	double			 sha, s, v, cs, cv;
	size_t			 i, nblocks;
	char			 what[64];

	if (crypto_init() == -1)
		errx(1, "crypto_init");
	cid_init();
	make_mix(&mx);
	printf("pdsd data layer, one run on this machine "
	    "(%d records, %.1f MB of DAG-CBOR)\n", NRECORDS, MB(mx.bytes));
	sha = bench_sha256();
	printf("%-40s %9.1f MB/s  ceiling\n", "sha2-256 (cid_sha256)", sha);
	line_mbs("dag-cbor decode (record mix)", bench_decode(&mx), sha);
	line_mbs("dag-cbor encode (record mix)", bench_encode(&mx), sha);
	make_car(&mx, &car, &nblocks);
	snprintf(what, sizeof(what), "car read+verify (%.0f MB, %zu blocks)",
	    MB(car.len), nblocks);
	line_mbs(what, bench_car(&car, nblocks), sha);
	bench_secp256k1(&cs, &cv);
	bench_k256(&s, &v);
	line_rate("k256 sign (privkey_sign, 200 B)", s, cs);
	line_rate("k256 verify (pubkey_verify)", v, cv);
	for (i = 0; i < NRECORDS; i++) {
		dm_free(mx.v[i]);
		free(mx.enc[i]);
	}
	dm_buf_free(&car);
	return 0;
}
