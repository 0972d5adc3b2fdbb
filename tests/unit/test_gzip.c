/*
 * gzip.c: which Accept-Encoding values allow gzip, which types are
 * compressed, and that streamed and whole compression inflate back to
 * the same bytes, also when made of pieces compressed apart.
 */
#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <zlib.h>

#include "http.h"

static void
test_accepted(void **state)
{
	static const struct {
		const char	*ae;
		int		 ok;
	} t[] = {
		{ "gzip", 1 },
		{ "GZIP", 1 },
		{ "x-gzip", 1 },
		{ "gzip, deflate, br", 1 },
		{ "br, gzip;q=0.5", 1 },
		{ "deflate,gzip", 1 },
		{ "  gzip  ", 1 },
		{ "gzip;q=0", 0 },
		{ "gzip; q=0.000", 0 },
		{ "gzip;q=0.001", 1 },
		{ "gzip;q=1.0", 1 },
		{ "*", 1 },
		{ "*;q=0", 0 },
		{ "*, gzip;q=0", 0 },
		{ "gzip;q=0, *", 0 },
		{ "identity", 0 },
		{ "deflate, br", 0 },
		{ "gzipx", 0 },
		{ "gzi", 0 },
		{ "", 0 },
		{ ",,,", 0 },
		{ ";q=1", 0 },
		{ "gzip;level=0", 1 },
		{ "gzip;q", 1 },
		{ "gzip;q=", 1 },
	};
	size_t	 i;

	assert_int_equal(http_gzip_accepted(NULL), 0);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (http_gzip_accepted(t[i].ae) != t[i].ok)
			fail_msg("Accept-Encoding \"%s\": want %d", t[i].ae,
			    t[i].ok);
	}
}

static void
test_types(void **state)
{
	int	 json = http_gzip_type("application/json");
	int	 car = http_gzip_type("application/vnd.ipld.car");

	/* zlib levels: CPU is dearer than bytes, both at the fastest. */
	assert_int_equal(json, 1);
	assert_int_equal(car, 1);
	assert_int_equal(http_gzip_type("application/json; charset=utf-8"),
	    json);
	assert_int_equal(http_gzip_type("Application/JSON;charset=utf-8"),
	    json);
	assert_int_equal(http_gzip_type("application/vnd.ipld.car; "
	    "version=1"), car);
	assert_int_equal(http_gzip_type("application/jsonx"), 0);
	assert_int_equal(http_gzip_type("image/jpeg"), 0);
	assert_int_equal(http_gzip_type("application/octet-stream"), 0);
	assert_int_equal(http_gzip_type("text/plain"), 0);
	assert_int_equal(http_gzip_type(""), 0);
	assert_int_equal(http_gzip_type(NULL), 0);
}

/* Inflate a gzip stream whole; the caller frees. */
static uint8_t *
gunzip(const uint8_t *in, size_t inlen, size_t *outlen)
{
	z_stream	 z;
	uint8_t		*out;
	size_t		 cap = 1 << 22;
	int		 rc;

	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	out = malloc(cap);
	assert_non_null(out);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = inlen;
	z.next_out = out;
	z.avail_out = cap;
	rc = inflate(&z, Z_FINISH);
	assert_int_equal(rc, Z_STREAM_END);
	assert_int_equal(z.avail_in, 0);
	*outlen = cap - z.avail_out;
	inflateEnd(&z);
	return out;
}

static uint8_t *
sample(size_t len)
{
	uint8_t	*p = malloc(len);
	size_t	 i;

	assert_non_null(p);
	/* Text-like with some noise: compressible, not trivially. */
	for (i = 0; i < len; i++)
		p[i] = (i % 7 == 0) ? (uint8_t)(i * 2654435761u >> 24) :
		    (uint8_t)"{\"uri\":\"at://did:plc:x/app.bsky\"}"[i % 33];
	return p;
}

static void
check_roundtrip(struct evbuffer *z, const uint8_t *want, size_t len)
{
	uint8_t	*got;
	size_t	 n, zlen = evbuffer_get_length(z);

	got = gunzip(evbuffer_pullup(z, -1), zlen, &n);
	assert_int_equal(n, len);
	assert_memory_equal(got, want, len);
	free(got);
}

static void
test_whole(void **state)
{
	struct http_gzip	*gz;
	struct evbuffer		*in, *z;
	size_t			 len = 200000;
	uint8_t			*p = sample(len);

	in = evbuffer_new();
	z = evbuffer_new();
	assert_non_null(in);
	assert_non_null(z);
	/* Several chains in the input: the peek loop sees them all. */
	evbuffer_add(in, p, 1000);
	evbuffer_add(in, p + 1000, len - 1000);
	gz = http_gzip_new(http_gzip_type("application/json"));
	assert_non_null(gz);
	assert_int_equal(http_gzip_write(gz, in, z, 1), 0);
	assert_int_equal(evbuffer_get_length(in), 0);
	assert_true(evbuffer_get_length(z) < len / 2);
	check_roundtrip(z, p, len);
	http_gzip_free(gz);
	evbuffer_free(in);
	evbuffer_free(z);
	free(p);
}

static void
stream_at(int level)
{
	struct http_gzip	*gz;
	struct evbuffer		*in, *z;
	size_t			 len = 300000, off = 0, step;
	uint8_t			*p = sample(len);

	in = evbuffer_new();
	z = evbuffer_new();
	gz = http_gzip_new(level);
	assert_non_null(gz);
	for (step = 1; off < len; step = step * 3 + 1) {
		if (step > len - off)
			step = len - off;
		evbuffer_add(in, p + off, step);
		off += step;
		assert_int_equal(http_gzip_write(gz, in, z, 0), 0);
		assert_int_equal(evbuffer_get_length(in), 0);
	}
	/* An empty last piece ends the stream. */
	assert_int_equal(http_gzip_write(gz, in, z, 1), 0);
	check_roundtrip(z, p, len);
	http_gzip_free(gz);
	http_gzip_free(NULL);
	evbuffer_free(in);
	evbuffer_free(z);
	free(p);
}

/* Fed in pieces of growing size, at the levels the types use. */
static void
test_stream(void **state)
{
	stream_at(http_gzip_type("application/json"));
	stream_at(http_gzip_type("application/vnd.ipld.car"));
}

static void
test_empty(void **state)
{
	struct http_gzip	*gz;
	struct evbuffer		*in, *z;
	uint8_t			*got;
	size_t			 n;

	in = evbuffer_new();
	z = evbuffer_new();
	gz = http_gzip_new(1);
	assert_int_equal(http_gzip_write(gz, in, z, 1), 0);
	got = gunzip(evbuffer_pullup(z, -1), evbuffer_get_length(z), &n);
	assert_int_equal(n, 0);
	free(got);
	http_gzip_free(gz);
	evbuffer_free(in);
	evbuffer_free(z);
}

/*
 * A compressor that is done with is kept and reset for the next one at
 * its level, whether its stream ended or was cut short: each stream
 * made with it inflates to its own input.
 */
static void
test_reuse(void **state)
{
	struct http_gzip	*gz, *first, *other;
	struct evbuffer		*in, *z;
	size_t			 len = 50000;
	uint8_t			*p = sample(len);
	int			 i;

	in = evbuffer_new();
	z = evbuffer_new();
	assert_non_null(first = http_gzip_new(1));
	http_gzip_free(first);
	for (i = 0; i < 4; i++) {
		gz = http_gzip_new(1);
		assert_ptr_equal(gz, first);
		/* Another level gets another compressor. */
		assert_non_null(other = http_gzip_new(6));
		assert_ptr_not_equal(other, gz);
		evbuffer_add(in, p + i, len - i);
		assert_int_equal(http_gzip_write(other, in, z, 1), 0);
		check_roundtrip(z, p + i, len - i);
		evbuffer_drain(z, evbuffer_get_length(z));
		http_gzip_free(other);
		evbuffer_add(in, p + i, len - i);
		/* Every other one is left mid-stream. */
		assert_int_equal(http_gzip_write(gz, in, z, i % 2 == 0), 0);
		if (i % 2 == 0)
			check_roundtrip(z, p + i, len - i);
		evbuffer_drain(z, evbuffer_get_length(z));
		http_gzip_free(gz);
	}
	evbuffer_free(in);
	evbuffer_free(z);
	free(p);
}

/*
 * A stream made of pieces compressed apart, by two streams in turn as
 * two threads would, with the CRC and length combined: one gzip stream
 * that inflates (and checks its trailer) to the whole.
 */
static void
pieces(int emptylast)
{
	struct http_gzip	*gz[2];
	struct evbuffer		*in, *z;
	uint8_t			 h[HTTP_GZIP_HEADER], t[HTTP_GZIP_TRAILER];
	size_t			 len = 300000, off = 0, step, n;
	uint64_t		 total = 0;
	uint32_t		 crc = 0, c;
	uint8_t			*p = sample(len);
	int			 i, last;

	in = evbuffer_new();
	z = evbuffer_new();
	gz[0] = http_gzip_new_raw(http_gzip_type("application/vnd.ipld.car"));
	gz[1] = http_gzip_new_raw(http_gzip_type("application/json"));
	assert_non_null(gz[0]);
	assert_non_null(gz[1]);
	http_gzip_header(h);
	evbuffer_add(z, h, sizeof(h));
	for (i = 0, step = 7, last = 0; !last; i++, step *= 5) {
		if (step >= len - off) {
			step = len - off;
			last = !emptylast || step == 0;
		}
		evbuffer_add(in, p + off, step);
		off += step;
		assert_int_equal(http_gzip_piece(gz[i % 2], in, z, last, &c,
		    &n), 0);
		assert_int_equal(n, step);
		assert_int_equal(evbuffer_get_length(in), 0);
		crc = http_gzip_crc_combine(crc, c, n);
		total += n;
	}
	assert_true(i > 3);
	http_gzip_trailer(t, crc, total);
	evbuffer_add(z, t, sizeof(t));
	check_roundtrip(z, p, len);
	http_gzip_free(gz[0]);
	http_gzip_free(gz[1]);
	evbuffer_free(in);
	evbuffer_free(z);
	free(p);
}

static void
test_pieces(void **state)
{
	pieces(0);
	pieces(1);
}

/*
 * A piece whose input is many chains (a step of a CAR is built from
 * many small writes) is taken more than one peek at a time, and an
 * empty first piece before it changes nothing.
 */
static void
test_piece_chains(void **state)
{
	struct http_gzip	*gz;
	struct evbuffer		*in, *z;
	uint8_t			 h[HTTP_GZIP_HEADER], t[HTTP_GZIP_TRAILER];
	size_t			 len = 50 * 4096, off, n, total = 0;
	uint32_t		 crc = 0, c;
	uint8_t			*p = sample(len);

	in = evbuffer_new();
	z = evbuffer_new();
	gz = http_gzip_new_raw(http_gzip_type("application/vnd.ipld.car"));
	assert_non_null(gz);
	http_gzip_header(h);
	evbuffer_add(z, h, sizeof(h));
	assert_int_equal(http_gzip_piece(gz, in, z, 0, &c, &n), 0);
	assert_int_equal(n, 0);
	crc = http_gzip_crc_combine(crc, c, n);
	for (off = 0; off < len; off += 4096)
		assert_int_equal(evbuffer_add_reference(in, p + off, 4096,
		    NULL, NULL), 0);
	assert_true(evbuffer_peek(in, -1, NULL, NULL, 0) > 8);
	assert_int_equal(http_gzip_piece(gz, in, z, 1, &c, &n), 0);
	assert_int_equal(n, len);
	assert_int_equal(evbuffer_get_length(in), 0);
	crc = http_gzip_crc_combine(crc, c, n);
	total += n;
	http_gzip_trailer(t, crc, total);
	evbuffer_add(z, t, sizeof(t));
	check_roundtrip(z, p, len);
	http_gzip_free(gz);
	evbuffer_free(in);
	evbuffer_free(z);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_pieces),
		cmocka_unit_test(test_piece_chains),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
