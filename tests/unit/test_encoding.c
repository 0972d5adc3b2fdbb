/*
 * base32, base64 and varint against RFC 4648 vectors and bad input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "encoding.h"

static const char *rfc_in[] = { "", "f", "fo", "foo", "foob", "fooba",
    "foobar" };
static const char *rfc_b32[] = { "", "my", "mzxq", "mzxw6", "mzxw6yq",
    "mzxw6ytb", "mzxw6ytboi" };
static const char *rfc_b64[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg",
    "Zm9vYmE", "Zm9vYmFy" };
static const char *rfc_b64pad[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==",
    "Zm9vYmE=", "Zm9vYmFy" };

static void
test_base32_rfc4648(void **state)
{
	char	out[64];
	uint8_t	dec[64];
	size_t	i, n;
	int	m;

	for (i = 0; i < sizeof(rfc_in) / sizeof(rfc_in[0]); i++) {
		n = base32_encode(rfc_in[i], strlen(rfc_in[i]), out,
		    sizeof(out));
		assert_int_equal(n, strlen(rfc_b32[i]));
		assert_string_equal(out, rfc_b32[i]);
		m = base32_decode(rfc_b32[i], strlen(rfc_b32[i]), dec,
		    sizeof(dec));
		assert_int_equal(m, strlen(rfc_in[i]));
		assert_memory_equal(dec, rfc_in[i], m);
	}
}

static void
test_base32_bad(void **state)
{
	uint8_t	dec[64];
	char	small[4];

	assert_int_equal(base32_decode("MY", 2, dec, sizeof(dec)), -1);
	assert_int_equal(base32_decode("my======", 8, dec, sizeof(dec)), -1);
	assert_int_equal(base32_decode("m1", 2, dec, sizeof(dec)), -1);
	assert_int_equal(base32_decode("m", 1, dec, sizeof(dec)), -1);
	assert_int_equal(base32_decode("mzx", 3, dec, sizeof(dec)), -1);
	/* 'mz' leaves non-zero trailing bits: not canonical. */
	assert_int_equal(base32_decode("mz", 2, dec, sizeof(dec)), -1);
	assert_int_equal(base32_decode("mzxw6ytb", 8, dec, 4), -1);
	assert_int_equal(base32_encode("foo", 3, small, sizeof(small)), 0);
}

/*
 * The decoder takes whole groups of 8 characters apart from the tail:
 * every length round-trips, and a bad character is caught at every
 * position, including bytes above 0x7f.
 */
static void
test_base32_groups(void **state)
{
	uint8_t		in[40], dec[40];
	char		txt[80], bad[] = { '1', 'A', '=', '\x80', '\xff' };
	size_t		len, n, pos, k;

	for (k = 0; k < sizeof(in); k++)
		in[k] = (uint8_t)(k * 37 + 11);
	for (len = 0; len <= sizeof(in); len++) {
		n = base32_encode(in, len, txt, sizeof(txt));
		assert_int_equal(n, BASE32_ENCLEN(len));
		assert_int_equal(base32_decode(txt, n, dec, sizeof(dec)),
		    (int)len);
		assert_memory_equal(dec, in, len);
		for (pos = 0; pos < n; pos++)
			for (k = 0; k < sizeof(bad); k++) {
				char	c = txt[pos];

				txt[pos] = bad[k];
				assert_int_equal(base32_decode(txt, n, dec,
				    sizeof(dec)), -1);
				txt[pos] = c;
			}
	}
}

static void
test_base64_rfc4648(void **state)
{
	char	out[64];
	uint8_t	dec[64];
	size_t	i, n;
	int	m;

	for (i = 0; i < sizeof(rfc_in) / sizeof(rfc_in[0]); i++) {
		n = base64_encode(rfc_in[i], strlen(rfc_in[i]), out,
		    sizeof(out));
		assert_int_equal(n, strlen(rfc_b64[i]));
		assert_string_equal(out, rfc_b64[i]);
		m = base64_decode(rfc_b64[i], strlen(rfc_b64[i]), dec,
		    sizeof(dec));
		assert_int_equal(m, strlen(rfc_in[i]));
		assert_memory_equal(dec, rfc_in[i], m);
		m = base64_decode(rfc_b64pad[i], strlen(rfc_b64pad[i]), dec,
		    sizeof(dec));
		assert_int_equal(m, strlen(rfc_in[i]));
		assert_memory_equal(dec, rfc_in[i], m);
	}
}

static void
test_base64_alphabets(void **state)
{
	const uint8_t	in[] = { 0xfb, 0xff, 0xbf };
	char		out[16];
	uint8_t		dec[16];

	base64_encode(in, 3, out, sizeof(out));
	assert_string_equal(out, "+/+/");
	base64url_encode(in, 3, out, sizeof(out));
	assert_string_equal(out, "-_-_");
	assert_int_equal(base64_decode("+/+/", 4, dec, sizeof(dec)), 3);
	assert_memory_equal(dec, in, 3);
	assert_int_equal(base64url_decode("-_-_", 4, dec, sizeof(dec)), 3);
	assert_memory_equal(dec, in, 3);
	/* Each alphabet rejects the other's characters. */
	assert_int_equal(base64_decode("-_-_", 4, dec, sizeof(dec)), -1);
	assert_int_equal(base64url_decode("+/+/", 4, dec, sizeof(dec)), -1);
}

static void
test_base64_bad(void **state)
{
	uint8_t	dec[64];

	assert_int_equal(base64_decode("Z", 1, dec, sizeof(dec)), -1);
	assert_int_equal(base64_decode("Zg=", 3, dec, sizeof(dec)), -1);
	assert_int_equal(base64_decode("Zg===", 5, dec, sizeof(dec)), -1);
	assert_int_equal(base64_decode("Z===", 4, dec, sizeof(dec)), -1);
	assert_int_equal(base64_decode("Zg=a", 4, dec, sizeof(dec)), -1);
	assert_int_equal(base64_decode("Zm 9v", 5, dec, sizeof(dec)), -1);
	assert_int_equal(base64_decode("Zh", 2, dec, sizeof(dec)), -1);
	assert_int_equal(base64_decode("Zm9vYmFy", 8, dec, 5), -1);
}

static void
test_varint(void **state)
{
	const struct { uint64_t v; const char *hex; } vec[] = {
		{ 0, "00" }, { 1, "01" }, { 127, "7f" }, { 128, "8001" },
		{ 255, "ff01" }, { 300, "ac02" }, { 16384, "808001" },
		{ UINT64_MAX, "ffffffffffffffffff01" },
	};
	uint8_t		buf[VARINT_MAXLEN], want[VARINT_MAXLEN];
	uint64_t	v;
	size_t		i, j, n;
	unsigned int	x;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		n = strlen(vec[i].hex) / 2;
		for (j = 0; j < n; j++) {
			sscanf(vec[i].hex + 2 * j, "%2x", &x);
			want[j] = (uint8_t)x;
		}
		assert_int_equal(varint_encode(vec[i].v, buf), n);
		assert_memory_equal(buf, want, n);
		assert_int_equal(varint_decode(want, n, &v), (int)n);
		assert_true(v == vec[i].v);
		/* Every proper prefix is "need more". */
		for (j = 0; j < n; j++)
			assert_int_equal(varint_decode(want, j, &v), 0);
	}
}

static void
test_varint_bad(void **state)
{
	const uint8_t	nonmin1[] = { 0x80, 0x00 };
	const uint8_t	nonmin2[] = { 0xff, 0x80, 0x00 };
	const uint8_t	big[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0x02 };
	const uint8_t	toolong[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	    0x80, 0x80, 0x80, 0x80, 0x01 };
	uint64_t	v;

	assert_int_equal(varint_decode(nonmin1, 2, &v), -1);
	assert_int_equal(varint_decode(nonmin2, 3, &v), -1);
	assert_int_equal(varint_decode(big, 10, &v), -1);
	assert_int_equal(varint_decode(toolong, 11, &v), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base32_rfc4648),
		cmocka_unit_test(test_base32_bad),
		cmocka_unit_test(test_base32_groups),
		cmocka_unit_test(test_base64_rfc4648),
		cmocka_unit_test(test_base64_alphabets),
		cmocka_unit_test(test_base64_bad),
		cmocka_unit_test(test_varint),
		cmocka_unit_test(test_varint_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
