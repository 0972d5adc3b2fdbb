/*
 * base58btc against known vectors, random round trips and the bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "base58.h"

struct vec {
	const char	*hex;
	const char	*b58;
};

static const struct vec vecs[] = {
	{ "", "" },
	{ "61", "2g" },
	{ "626262", "a3gV" },
	{ "636363", "aPEr" },
	{ "73696d706c792061206c6f6e6720737472696e67",
	    "2cFupjhnEsSn59qHXstmK2ffpLv2" },
	{ "00eb15231dfceb60925886b67d065299925915aeb172c06647",
	    "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L" },
	{ "516b6fcd0f", "ABnLTmg" },
	{ "bf4f89001e670274dd", "3SEo3LWLoPntC" },
	{ "572e4794", "3EFU7m" },
	{ "ecac89cad93923c02321", "EJDM8drfXA6uyA" },
	{ "10c8511e", "Rt5zm" },
	{ "00000000000000000000", "1111111111" },
	{ "48656c6c6f20576f726c6421", "2NEpo7TZRRrLZSi2U" },
	/* The P-256 private key of crypto/w3c_didkey_P256.json. */
	{ "82ebbd63ebbd9ff60141a69bd4c9be282f2415e8eafa9d42c0ed396daccca979",
	    "9p4VRzdmhsnq869vQjVCTrRry7u4TtfRxhvBFJTGU2Cp" },
};

static size_t
unhex(const char *hex, uint8_t *out, size_t outsz)
{
	size_t n;

	assert_int_equal(sodium_hex2bin(out, outsz, hex, strlen(hex), NULL,
	    &n, NULL), 0);
	return n;
}

static void
test_vectors(void **state)
{
	uint8_t bin[64], dec[64];
	char enc[128];
	size_t i, n;

	for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		n = unhex(vecs[i].hex, bin, sizeof(bin));
		assert_int_equal(base58_encode(bin, n, enc, sizeof(enc)),
		    strlen(vecs[i].b58));
		assert_string_equal(enc, vecs[i].b58);
		assert_int_equal(base58_decode(vecs[i].b58,
		    strlen(vecs[i].b58), dec, sizeof(dec)), n);
		assert_memory_equal(dec, bin, n);
	}
}

static void
test_bad_input(void **state)
{
	uint8_t out[64];

	/* 0, O, I and l are not in the alphabet. */
	assert_int_equal(base58_decode("2g0", 3, out, sizeof(out)), -1);
	assert_int_equal(base58_decode("O", 1, out, sizeof(out)), -1);
	assert_int_equal(base58_decode("I", 1, out, sizeof(out)), -1);
	assert_int_equal(base58_decode("l", 1, out, sizeof(out)), -1);
	assert_int_equal(base58_decode("a b", 3, out, sizeof(out)), -1);
	assert_int_equal(base58_decode("a\0b", 3, out, sizeof(out)), -1);
	assert_int_equal(base58_decode("a\xc3\xa9", 3, out, sizeof(out)),
	    -1);
}

static void
test_bounds(void **state)
{
	uint8_t in[BASE58_MAX_BYTES + 1], out[BASE58_MAX_BYTES + 1];
	char enc[BASE58_ENCLEN(BASE58_MAX_BYTES + 1) + 1];
	char big[BASE58_MAX_CHARS + 1];
	int n;

	memset(in, 0xff, sizeof(in));
	n = base58_encode(in, BASE58_MAX_BYTES, enc, sizeof(enc));
	assert_true(n > 0);
	assert_true((size_t)n <= BASE58_MAX_CHARS);
	assert_int_equal(base58_decode(enc, (size_t)n, out, sizeof(out)),
	    BASE58_MAX_BYTES);
	assert_memory_equal(out, in, BASE58_MAX_BYTES);
	assert_int_equal(base58_encode(in, sizeof(in), enc, sizeof(enc)), -1);

	/* Output buffers that are one too small. */
	assert_int_equal(base58_encode((const uint8_t *)"bbb", 3, enc, 4), -1);
	assert_int_equal(base58_encode((const uint8_t *)"bbb", 3, enc, 5), 4);
	assert_int_equal(base58_decode("a3gV", 4, out, 2), -1);
	assert_int_equal(base58_decode("1111", 4, out, 3), -1);

	memset(big, 'z', sizeof(big));
	assert_int_equal(base58_decode(big, sizeof(big), out, sizeof(out)),
	    -1);
}

static void
test_random_roundtrip(void **state)
{
	uint8_t in[64], out[64];
	char enc[BASE58_ENCLEN(64) + 1];
	size_t len;
	int i, n;

	for (i = 0; i < 2000; i++) {
		len = randombytes_uniform(sizeof(in) + 1);
		randombytes_buf(in, len);
		if (len > 0 && i % 4 == 0)
			in[0] = 0;
		n = base58_encode(in, len, enc, sizeof(enc));
		assert_true(n >= 0);
		assert_int_equal(base58_decode(enc, (size_t)n, out,
		    sizeof(out)), len);
		assert_memory_equal(out, in, len);
	}
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
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_random_roundtrip),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
