/*
 * CAR v1: write then stream back in chunks of every size, header bytes,
 * truncation at every offset, hash mismatch, bounds, bad headers, where
 * each block's data lies in the input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "car.h"
#include "cbor.h"
#include "dm.h"
#include "encoding.h"

#define NBLOCKS	5

struct blocks {
	struct cid	 cid[NBLOCKS];
	uint8_t		*data[NBLOCKS];
	size_t		 len[NBLOCKS];
};

struct seen {
	struct cid	 roots[4];
	size_t		 nroots;
	int		 headers;
	struct cid	 cid[NBLOCKS * 2];
	size_t		 len[NBLOCKS * 2];
	int		 n;
	int		 stop_at;	/* block index to refuse, or -1 */
};

static int
on_header(void *arg, const struct cid *roots, size_t n)
{
	struct seen	*s = arg;

	s->headers++;
	s->nroots = n;
	memcpy(s->roots, roots, n * sizeof(*roots));
	return 0;
}

static int
on_block(void *arg, const struct cid *c, const uint8_t *p, size_t len)
{
	struct seen	*s = arg;

	if (s->n == s->stop_at)
		return -1;
	assert_true(s->n < NBLOCKS * 2);
	assert_true(cid_verify(c, p, len));
	s->cid[s->n] = *c;
	s->len[s->n] = len;
	s->n++;
	return 0;
}

static void
make_blocks(struct blocks *b)
{
	struct dm	*m;
	size_t		 i;

	for (i = 0; i < NBLOCKS; i++) {
		if (i % 2 == 0) {
			m = dm_map();
			dm_map_set(m, "i", dm_int((int64_t)i));
			dm_map_set(m, "text", dm_str("a block of DAG-CBOR"));
			b->data[i] = dm_cbor_encode_mem(m, &b->len[i]);
			cid_of_bytes(&b->cid[i], CID_CODEC_DAGCBOR, b->data[i],
			    b->len[i]);
			dm_free(m);
		} else {
			b->len[i] = 1000 * i + 300;	/* 2-byte varints */
			b->data[i] = malloc(b->len[i]);
			memset(b->data[i], (int)i, b->len[i]);
			cid_of_bytes(&b->cid[i], CID_CODEC_RAW, b->data[i],
			    b->len[i]);
		}
	}
}

static void
free_blocks(struct blocks *b)
{
	size_t	i;

	for (i = 0; i < NBLOCKS; i++)
		free(b->data[i]);
}

/* Writes a CAR; bounds[] gets the offset after the header and each block. */
static void
write_car(struct blocks *b, struct dm_buf *out, size_t *bounds)
{
	size_t	i;

	assert_int_equal(car_write_header(car_sink_dmbuf, out, &b->cid[0],
	    1), 0);
	bounds[0] = out->len;
	for (i = 0; i < NBLOCKS; i++) {
		assert_int_equal(car_write_block(car_sink_dmbuf, out,
		    &b->cid[i], b->data[i], b->len[i]), 0);
		bounds[i + 1] = out->len;
	}
}

static void
check_seen(struct seen *s, struct blocks *b)
{
	int	i;

	assert_int_equal(s->headers, 1);
	assert_int_equal(s->nroots, 1);
	assert_true(cid_equal(&s->roots[0], &b->cid[0]));
	assert_int_equal(s->n, NBLOCKS);
	for (i = 0; i < NBLOCKS; i++) {
		assert_true(cid_equal(&s->cid[i], &b->cid[i]));
		assert_int_equal(s->len[i], b->len[i]);
	}
}

static void
test_car_roundtrip_chunks(void **state)
{
	struct blocks		 b;
	struct dm_buf		 car = { NULL, 0, 0 };
	struct car_reader	*r;
	struct seen		 s;
	size_t			 bounds[NBLOCKS + 1], chunk, off, n;
	const char		*err;

	make_blocks(&b);
	write_car(&b, &car, bounds);

	memset(&s, 0, sizeof(s));
	s.stop_at = -1;
	assert_int_equal(car_read_mem(car.p, car.len, on_header, on_block, &s,
	    &err), 0);
	check_seen(&s, &b);

	for (chunk = 1; chunk < 700; chunk += chunk < 40 ? 1 : 97) {
		memset(&s, 0, sizeof(s));
		s.stop_at = -1;
		r = car_reader_new(on_header, on_block, &s);
		for (off = 0; off < car.len; off += n) {
			n = car.len - off < chunk ? car.len - off : chunk;
			assert_int_equal(car_reader_feed(r, car.p + off, n), 0);
		}
		assert_int_equal(car_reader_end(r), 0);
		check_seen(&s, &b);
		car_reader_free(r);
	}
	dm_buf_free(&car);
	free_blocks(&b);
}

/* Where a block's data lies, fed in chunks: the import reads it there. */
struct at {
	struct car_reader	*r;
	const uint8_t		*car;
	size_t			 carlen;
	int			 n;
};

static int
on_block_at(void *arg, const struct cid *c, const uint8_t *p, size_t len)
{
	struct at	*a = arg;
	uint64_t	 off;

	off = car_reader_block_offset(a->r);
	assert_true(off + len <= a->carlen);
	assert_memory_equal(a->car + off, p, len);
	assert_true(cid_verify(c, a->car + off, len));
	a->n++;
	return 0;
}

static void
test_car_block_offset(void **state)
{
	struct blocks		 b;
	struct dm_buf		 car = { NULL, 0, 0 };
	struct at		 a;
	size_t			 bounds[NBLOCKS + 1], chunk, off, n;

	make_blocks(&b);
	write_car(&b, &car, bounds);
	for (chunk = 1; chunk < 6000; chunk += chunk < 40 ? 1 : 397) {
		memset(&a, 0, sizeof(a));
		a.car = car.p;
		a.carlen = car.len;
		a.r = car_reader_new(NULL, on_block_at, &a);
		for (off = 0; off < car.len; off += n) {
			n = car.len - off < chunk ? car.len - off : chunk;
			assert_int_equal(car_reader_feed(a.r, car.p + off, n),
			    0);
		}
		assert_int_equal(car_reader_end(a.r), 0);
		assert_int_equal(a.n, NBLOCKS);
		car_reader_free(a.r);
	}
	dm_buf_free(&car);
	free_blocks(&b);
}

static void
test_car_header_bytes(void **state)
{
	struct dm_buf	 car = { NULL, 0, 0 };
	struct cid	 c;
	const uint8_t	 want[] = { 0x3a, 0xa2, 0x65, 'r', 'o', 'o', 't', 's',
	    0x81, 0xd8, 0x2a, 0x58, 0x25, 0x00, 0x01, 0x71, 0x12, 0x20 };
	const uint8_t	 tail[] = { 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n',
	    0x01 };

	cid_of_bytes(&c, CID_CODEC_DAGCBOR, "x", 1);
	assert_int_equal(car_write_header(car_sink_dmbuf, &car, &c, 1), 0);
	assert_int_equal(car.len, 59);	/* varint + 58-byte header */
	assert_memory_equal(car.p, want, sizeof(want));
	assert_memory_equal(car.p + sizeof(want), c.b + 4, 32);
	assert_memory_equal(car.p + sizeof(want) + 32, tail, sizeof(tail));
	dm_buf_free(&car);
}

static void
test_car_truncated(void **state)
{
	struct blocks	 b;
	struct dm_buf	 car = { NULL, 0, 0 };
	struct seen	 s;
	size_t		 bounds[NBLOCKS + 1], len, i;
	const char	*err;
	int		 boundary, rc;

	make_blocks(&b);
	write_car(&b, &car, bounds);
	for (len = 0; len < car.len; len++) {
		boundary = 0;
		for (i = 0; i <= NBLOCKS; i++)
			if (len == bounds[i])
				boundary = 1;
		memset(&s, 0, sizeof(s));
		s.stop_at = -1;
		err = NULL;
		rc = car_read_mem(car.p, len, on_header, on_block, &s, &err);
		if (boundary)
			assert_int_equal(rc, 0);
		else {
			assert_int_equal(rc, -1);
			assert_true(strcmp(err, "truncated CAR") == 0 ||
			    strcmp(err, "CAR has no header") == 0);
		}
	}
	dm_buf_free(&car);
	free_blocks(&b);
}

static void
test_car_mismatch(void **state)
{
	struct blocks	 b;
	struct dm_buf	 car = { NULL, 0, 0 };
	struct seen	 s;
	size_t		 bounds[NBLOCKS + 1];
	const char	*err;

	make_blocks(&b);
	write_car(&b, &car, bounds);
	car.p[bounds[2] - 1] ^= 1;	/* last data byte of block 2 */
	memset(&s, 0, sizeof(s));
	s.stop_at = -1;
	assert_int_equal(car_read_mem(car.p, car.len, on_header, on_block, &s,
	    &err), -1);
	assert_string_equal(err, "CAR block does not match its CID");
	assert_int_equal(s.n, 1);	/* block 1 was delivered, not 2 */

	/* A callback can stop the read. */
	car.p[bounds[2] - 1] ^= 1;
	memset(&s, 0, sizeof(s));
	s.stop_at = 3;
	assert_int_equal(car_read_mem(car.p, car.len, on_header, on_block, &s,
	    &err), -1);
	assert_string_equal(err, "stopped by block callback");
	dm_buf_free(&car);
	free_blocks(&b);
}

static int
read_hex(const char *hex, const char **err)
{
	uint8_t		buf[512];
	size_t		n = 0;
	unsigned int	x;
	struct seen	s;

	for (; hex[0] != '\0' && hex[1] != '\0'; hex += 2) {
		sscanf(hex, "%2x", &x);
		buf[n++] = (uint8_t)x;
	}
	memset(&s, 0, sizeof(s));
	s.stop_at = -1;
	return car_read_mem(buf, n, on_header, on_block, &s, err);
}

#define HDR_ROOT "d82a58250001711220" \
	"9dfefe61dd76ea3dcae5023880b08379d57adf20482d6fdbe2759289f647677b"

static void
test_car_bad_headers(void **state)
{
	const struct { const char *hex, *err; } cases[] = {
		{ "", "CAR has no header" },
		{ "00", "empty CAR section" },
		{ "0201ff", "bad CAR header: not DAG-CBOR" },
		{ "0180", "bad CAR header: not a map" },
		{ "0aa16776657273696f6e01", "bad CAR header: no roots" },
		{ "3aa265726f6f747381" HDR_ROOT "6776657273696f6e02",
		    "unsupported CAR version" },
		{ "13a265726f6f7473816161" "6776657273696f6e01",
		    "bad CAR header: root is not a link" },
		{ "3aa265726f6f747381" HDR_ROOT "6776657273696f6e01" "00",
		    "empty CAR section" },
		{ "818004", "CAR header too large" },
		{ "8080808080808080808001", "bad CAR section length" },
		{ "8000", "bad CAR section length" },
		/* A block whose CID is dag-pb: it cannot be checked. */
		{ "3aa265726f6f747381" HDR_ROOT "6776657273696f6e01"
		    "24017012209dfefe61dd76ea3dcae5023880b08379d57adf20482d6fd"
		    "be2759289f647677b",
		    "CAR block CID is not CIDv1 sha2-256" },
		{ "3aa265726f6f747381" HDR_ROOT "6776657273696f6e01" "0312200a",
		    "bad CID in CAR block" },
		{ "3aa265726f6f747381" HDR_ROOT "6776657273696f6e01"
		    "81808001", "CAR block too large" },
	};
	const char	*err;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err = NULL;
		if (read_hex(cases[i].hex, &err) != -1)
			fail_msg("case %zu accepted", i);
		if (strcmp(err, cases[i].err) != 0)
			fail_msg("case %zu: \"%s\", want \"%s\"", i, err,
			    cases[i].err);
	}
	/* The header alone, zero roots, is a valid (empty) CAR. */
	assert_int_equal(read_hex("11a265726f6f7473806776657273696f6e01",
	    &err), 0);
}

static void
test_car_block_bound(void **state)
{
	struct dm_buf	 car = { NULL, 0, 0 };
	struct cid	 c;
	uint8_t		*data;
	struct seen	 s;
	size_t		 n;
	const char	*err;

	/* The largest block allowed, CID included, reads back. */
	n = CAR_MAXBLOCK - CID_SHA256_LEN;
	data = calloc(1, n + 1);
	cid_of_bytes(&c, CID_CODEC_RAW, data, n);
	car_write_header(car_sink_dmbuf, &car, &c, 1);
	car_write_block(car_sink_dmbuf, &car, &c, data, n);
	memset(&s, 0, sizeof(s));
	s.stop_at = -1;
	assert_int_equal(car_read_mem(car.p, car.len, on_header, on_block, &s,
	    &err), 0);
	assert_int_equal(s.n, 1);
	/* One byte more is refused, from the length alone. */
	car.len = 0;
	cid_of_bytes(&c, CID_CODEC_RAW, data, n + 1);
	car_write_header(car_sink_dmbuf, &car, &c, 1);
	car_write_block(car_sink_dmbuf, &car, &c, data, n + 1);
	assert_int_equal(car_read_mem(car.p, 59 + 4, on_header, on_block, &s,
	    &err), -1);
	assert_string_equal(err, "CAR block too large");
	free(data);
	dm_buf_free(&car);
}

static void
test_car_file_and_sinks(void **state)
{
	struct blocks	 b;
	struct dm_buf	 car = { NULL, 0, 0 };
	struct evbuffer	*evb;
	struct seen	 s;
	size_t		 bounds[NBLOCKS + 1], i;
	char		 path[] = "/tmp/test_car.XXXXXX";
	const char	*err;
	FILE		*f;
	int		 fd;

	make_blocks(&b);
	write_car(&b, &car, bounds);

	/* The stdio sink writes the same bytes, and the file reads back. */
	assert_true((fd = mkstemp(path)) != -1);
	assert_non_null(f = fdopen(fd, "w"));
	assert_int_equal(car_write_header(car_sink_stdio, f, &b.cid[0], 1),
	    0);
	for (i = 0; i < NBLOCKS; i++)
		assert_int_equal(car_write_block(car_sink_stdio, f, &b.cid[i],
		    b.data[i], b.len[i]), 0);
	fclose(f);
	memset(&s, 0, sizeof(s));
	s.stop_at = -1;
	assert_int_equal(car_read_file(path, on_header, on_block, &s, &err),
	    0);
	check_seen(&s, &b);
	unlink(path);
	assert_int_equal(car_read_file(path, on_header, on_block, &s, &err),
	    -1);

	/* The evbuffer sink too. */
	evb = evbuffer_new();
	assert_int_equal(car_write_header(car_sink_evbuffer, evb, &b.cid[0],
	    1), 0);
	for (i = 0; i < NBLOCKS; i++)
		assert_int_equal(car_write_block(car_sink_evbuffer, evb,
		    &b.cid[i], b.data[i], b.len[i]), 0);
	assert_int_equal(evbuffer_get_length(evb), car.len);
	assert_memory_equal(evbuffer_pullup(evb, -1), car.p, car.len);
	evbuffer_free(evb);
	dm_buf_free(&car);
	free_blocks(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_car_roundtrip_chunks),
		cmocka_unit_test(test_car_block_offset),
		cmocka_unit_test(test_car_header_bytes),
		cmocka_unit_test(test_car_truncated),
		cmocka_unit_test(test_car_mismatch),
		cmocka_unit_test(test_car_bad_headers),
		cmocka_unit_test(test_car_block_bound),
		cmocka_unit_test(test_car_file_and_sinks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
