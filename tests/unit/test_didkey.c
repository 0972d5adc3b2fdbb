/*
 * did:key and Multikey: the W3C-derived interop fixtures (private key ->
 * did:key), decoding back to the same point, and malformed strings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <sodium.h>

#include "base58.h"
#include "crypto.h"
#include "didkey.h"
#include "interop.h"

/* private scalar -> public point -> did:key, and did:key -> same point. */
static void
check_didkey(enum key_type t, const uint8_t raw[PRIVKEY_LEN],
    const char *want)
{
	char did[DIDKEY_BUFSZ], mk[MULTIKEY_BUFSZ];
	struct privkey *k;
	struct pubkey pk, back;
	int n;

	assert_non_null(k = privkey_load(t, raw, PRIVKEY_LEN));
	assert_int_equal(privkey_public(k, &pk), 0);
	n = didkey_encode(&pk, did, sizeof(did));
	assert_int_equal(n, strlen(want));
	assert_string_equal(did, want);
	assert_int_equal(didkey_decode(want, strlen(want), &back), 0);
	assert_true(pubkey_equal(&pk, &back));

	n = multikey_encode(&pk, mk, sizeof(mk));
	assert_string_equal(mk, want + strlen(DIDKEY_PREFIX));
	assert_int_equal(multikey_decode(mk, (size_t)n, &back), 0);
	assert_true(pubkey_equal(&pk, &back));
	privkey_free(k);
}

static void
test_w3c_k256(void **state)
{
	json_object *arr, *c;
	uint8_t raw[PRIVKEY_LEN];
	const char *hex;
	size_t i, n;

	arr = interop_json_array("crypto", "w3c_didkey_K256.json");
	n = json_object_array_length(arr);
	assert_int_equal(n, 5);
	for (i = 0; i < n; i++) {
		c = json_object_array_get_idx(arr, i);
		hex = interop_str(c, "privateKeyBytesHex");
		assert_int_equal(sodium_hex2bin(raw, sizeof(raw), hex,
		    strlen(hex), NULL, NULL, NULL), 0);
		check_didkey(KEY_K256, raw, interop_str(c, "publicDidKey"));
	}
	json_object_put(arr);
}

static void
test_w3c_p256(void **state)
{
	json_object *arr, *c;
	uint8_t raw[PRIVKEY_LEN + 1];
	const char *b58;
	size_t i, n;

	arr = interop_json_array("crypto", "w3c_didkey_P256.json");
	n = json_object_array_length(arr);
	assert_int_equal(n, 1);
	for (i = 0; i < n; i++) {
		c = json_object_array_get_idx(arr, i);
		b58 = interop_str(c, "privateKeyBytesBase58");
		assert_int_equal(base58_decode(b58, strlen(b58), raw,
		    sizeof(raw)), PRIVKEY_LEN);
		check_didkey(KEY_P256, raw, interop_str(c, "publicDidKey"));
	}
	json_object_put(arr);
}

/* The spec's legacy-vs-current example: one k256 key, two encodings. */
static void
test_legacy_multibase(void **state)
{
	static const char *legacy = "zQYEBzXeuTM9UR3rfvNag6L3RNAs5pQZyYPsomTsg"
	    "QhsxLdEgCrPTLgFna8yqCnxPpNT7DBk6Ym3dgPKNu86vt9GR";
	static const char *multikey =
	    "zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF";
	struct pubkey a, b;

	assert_int_equal(multibase_key_decode(KEY_K256, legacy,
	    strlen(legacy), &a), 0);
	assert_int_equal(multikey_decode(multikey, strlen(multikey), &b), 0);
	assert_int_equal(b.type, KEY_K256);
	assert_true(pubkey_equal(&a, &b));
	/* A multikey is not a bare point, and vice versa. */
	assert_int_equal(multibase_key_decode(KEY_K256, multikey,
	    strlen(multikey), &a), -1);
	assert_int_equal(multikey_decode(legacy, strlen(legacy), &a), -1);
}

static void
test_malformed(void **state)
{
	static const char *good =
	    "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme";
	static const char *bad[] = {
		"",
		"did:key:",
		"did:key:z",
		"did:web:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
		"did:key:QQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
		"did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBm",
		"did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBmee",
		"did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBm0",
		"DID:KEY:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
		/* ed25519 (0xed 0x01): a prefix we do not take. */
		"did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
	};
	char buf[256];
	struct pubkey pk;
	size_t i;

	assert_int_equal(didkey_decode(good, strlen(good), &pk), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (didkey_decode(bad[i], strlen(bad[i]), &pk) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_int_equal(pk.type, KEY_NONE);
	}
	/* Trailing NUL inside the length. */
	assert_int_equal(didkey_decode(good, strlen(good) + 1, &pk), -1);

	/* Over-long input is refused before any decoding. */
	memset(buf, 'z', sizeof(buf));
	memcpy(buf, "did:key:", 8);
	assert_int_equal(didkey_decode(buf, sizeof(buf), &pk), -1);
}

/* A prefixed point that is not on the curve. */
static void
test_off_curve(void **state)
{
	uint8_t bytes[35];
	char b58[80], did[96];
	struct pubkey pk;
	int prefix;

	for (prefix = 0; prefix < 2; prefix++) {
		bytes[0] = prefix == 0 ? 0xe7 : 0x80;
		bytes[1] = prefix == 0 ? 0x01 : 0x24;
		bytes[2] = 0x02;
		/* x = 2^256 - 1 exceeds both field primes. */
		memset(bytes + 3, 0xff, 32);
		assert_true(base58_encode(bytes, sizeof(bytes), b58,
		    sizeof(b58)) > 0);
		snprintf(did, sizeof(did), "did:key:z%s", b58);
		assert_int_equal(didkey_decode(did, strlen(did), &pk), -1);
	}
}

static void
test_encode_small_buffer(void **state)
{
	struct privkey *k;
	struct pubkey pk;
	char buf[DIDKEY_BUFSZ];
	int n;

	assert_non_null(k = privkey_generate(KEY_K256));
	assert_int_equal(privkey_public(k, &pk), 0);
	n = didkey_encode(&pk, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(didkey_encode(&pk, buf, (size_t)n), -1);
	assert_int_equal(didkey_encode(&pk, buf, (size_t)n + 1), n);
	pk.type = KEY_NONE;
	assert_int_equal(didkey_encode(&pk, buf, sizeof(buf)), -1);
	privkey_free(k);
}

static int
setup(void **state)
{
	return crypto_init();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_w3c_k256),
		cmocka_unit_test(test_w3c_p256),
		cmocka_unit_test(test_legacy_multibase),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_off_curve),
		cmocka_unit_test(test_encode_small_buffer),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
