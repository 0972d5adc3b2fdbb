/*
 * Signing and verification: the interop signature fixtures (including
 * the high-S and DER cases that must fail), round trips on both curves,
 * tampering, and key loading.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <sodium.h>

#include "crypto.h"
#include "didkey.h"
#include "interop.h"

static const uint8_t k256_n[32] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
	0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
	0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
};
static const uint8_t p256_n[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
	0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

/* Standard base64, no padding, as the fixtures write it. */
static size_t
unb64(const char *s, uint8_t *out, size_t outsz)
{
	size_t n;

	assert_int_equal(sodium_base642bin(out, outsz, s, strlen(s), NULL, &n,
	    NULL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING), 0);
	return n;
}

/* x = n - x over 32 big-endian bytes. */
static void
negate_mod(uint8_t x[32], const uint8_t n[32])
{
	int i, borrow = 0, d;

	for (i = 31; i >= 0; i--) {
		d = n[i] - x[i] - borrow;
		borrow = d < 0;
		x[i] = (uint8_t)(d + (borrow ? 256 : 0));
	}
}

/* A DER ECDSA-Sig-Value to r || s, for checking the DER fixtures. */
static void
der_to_compact(const uint8_t *der, size_t len, uint8_t out[SIG_LEN])
{
	size_t off = 2, part, n;

	assert_true(len > 8 && der[0] == 0x30 && der[1] == len - 2);
	memset(out, 0, SIG_LEN);
	for (part = 0; part < 2; part++) {
		assert_true(off + 2 <= len && der[off] == 0x02);
		n = der[off + 1];
		off += 2;
		assert_true(off + n <= len);
		while (n > 32 && der[off] == 0) {
			off++;
			n--;
		}
		assert_true(n <= 32);
		memcpy(out + part * 32 + 32 - n, der + off, n);
		off += n;
	}
	assert_int_equal(off, len);
}

static void
check_sig_case(json_object *c)
{
	uint8_t msg[64], sig[128], fixed[SIG_LEN];
	struct pubkey pk, pk2;
	const char *did, *alg, *tag = "";
	json_object *v, *tags;
	size_t mlen, slen;
	bool valid;

	did = interop_str(c, "publicKeyDid");
	alg = interop_str(c, "algorithm");
	mlen = unb64(interop_str(c, "messageBase64"), msg, sizeof(msg));
	slen = unb64(interop_str(c, "signatureBase64"), sig, sizeof(sig));
	assert_true(json_object_object_get_ex(c, "validSignature", &v));
	valid = json_object_get_boolean(v);
	if (json_object_object_get_ex(c, "tags", &tags) &&
	    json_object_array_length(tags) > 0)
		tag = json_object_get_string(json_object_array_get_idx(tags,
		    0));

	assert_int_equal(didkey_decode(did, strlen(did), &pk), 0);
	assert_string_equal(key_type_jwt_alg(pk.type), alg);

	/* The legacy bare-point multibase names the same key. */
	assert_int_equal(multibase_key_decode(pk.type,
	    interop_str(c, "publicKeyMultibase"),
	    strlen(interop_str(c, "publicKeyMultibase")), &pk2), 0);
	assert_true(pubkey_equal(&pk, &pk2));

	assert_int_equal(pubkey_verify(&pk, msg, mlen, sig, slen),
	    valid ? 0 : -1);

	/*
	 * The bad cases are sound ECDSA in another encoding: fixed up they
	 * verify, so the rejection above is for the encoding alone.
	 */
	if (strcmp(tag, "high-s") == 0) {
		assert_int_equal(slen, SIG_LEN);
		memcpy(fixed, sig, SIG_LEN);
		negate_mod(fixed + 32, pk.type == KEY_K256 ? k256_n : p256_n);
		assert_int_equal(pubkey_verify(&pk, msg, mlen, fixed,
		    SIG_LEN), 0);
	} else if (strcmp(tag, "der-encoded") == 0) {
		assert_true(slen == 70 || slen == 71);
		der_to_compact(sig, slen, fixed);
		assert_int_equal(pubkey_verify(&pk, msg, mlen, fixed,
		    SIG_LEN), 0);
	} else
		assert_true(valid);
}

static void
test_signature_fixtures(void **state)
{
	json_object *arr;
	size_t i, n;

	arr = interop_json_array("crypto", "signature-fixtures.json");
	n = json_object_array_length(arr);
	assert_int_equal(n, 6);
	for (i = 0; i < n; i++)
		check_sig_case(json_object_array_get_idx(arr, i));
	json_object_put(arr);
}

static void
roundtrip(enum key_type t)
{
	static const char msg[] = "the quick brown fox";
	uint8_t sig[SIG_LEN], sig2[SIG_LEN], dgst[SHA256_LEN];
	struct privkey *k;
	struct pubkey pk;
	int i;

	for (i = 0; i < 20; i++) {
		assert_non_null(k = privkey_generate(t));
		assert_int_equal(privkey_type(k), t);
		assert_int_equal(privkey_public(k, &pk), 0);
		assert_int_equal(pk.type, t);
		assert_true(pk.point[0] == 2 || pk.point[0] == 3);
		assert_int_equal(privkey_sign(k, msg, sizeof(msg), sig), 0);
		assert_int_equal(pubkey_verify(&pk, msg, sizeof(msg), sig,
		    SIG_LEN), 0);
		/* Low S, always: the top half of s never exceeds n / 2. */
		assert_true(sig[32] <= 0x7f);

		sha256(msg, sizeof(msg), dgst);
		assert_int_equal(pubkey_verify_digest(&pk, dgst, sig, SIG_LEN),
		    0);
		assert_int_equal(privkey_sign_digest(k, dgst, sig2), 0);
		assert_int_equal(pubkey_verify(&pk, msg, sizeof(msg), sig2,
		    SIG_LEN), 0);

		/* Tampering with message, signature or length fails. */
		assert_int_equal(pubkey_verify(&pk, msg, sizeof(msg) - 1, sig,
		    SIG_LEN), -1);
		sig[i % SIG_LEN] ^= 0x01;
		assert_int_equal(pubkey_verify(&pk, msg, sizeof(msg), sig,
		    SIG_LEN), -1);
		sig[i % SIG_LEN] ^= 0x01;
		assert_int_equal(pubkey_verify(&pk, msg, sizeof(msg), sig,
		    SIG_LEN - 1), -1);
		privkey_free(k);
	}
}

static void
test_roundtrip_k256(void **state)
{
	roundtrip(KEY_K256);
}

static void
test_roundtrip_p256(void **state)
{
	roundtrip(KEY_P256);
}

/* A key of one curve does not verify a signature made on the other. */
static void
test_wrong_key(void **state)
{
	uint8_t sig[SIG_LEN];
	struct privkey *a, *b;
	struct pubkey pa, pb;

	assert_non_null(a = privkey_generate(KEY_K256));
	assert_non_null(b = privkey_generate(KEY_K256));
	assert_int_equal(privkey_public(a, &pa), 0);
	assert_int_equal(privkey_public(b, &pb), 0);
	assert_int_equal(privkey_sign(a, "x", 1, sig), 0);
	assert_int_equal(pubkey_verify(&pb, "x", 1, sig, SIG_LEN), -1);
	privkey_free(b);
	assert_non_null(b = privkey_generate(KEY_P256));
	assert_int_equal(privkey_public(b, &pb), 0);
	assert_int_equal(pubkey_verify(&pb, "x", 1, sig, SIG_LEN), -1);
	privkey_free(a);
	privkey_free(b);
}

/* r or s of zero, or at or above n, must fail without crashing. */
static void
test_out_of_range_sig(void **state)
{
	uint8_t sig[SIG_LEN];
	struct privkey *k;
	struct pubkey pk;
	int t;

	for (t = KEY_K256; t <= KEY_P256; t++) {
		assert_non_null(k = privkey_generate(t));
		assert_int_equal(privkey_public(k, &pk), 0);
		assert_int_equal(privkey_sign(k, "m", 1, sig), 0);
		memset(sig, 0, 32);
		assert_int_equal(pubkey_verify(&pk, "m", 1, sig, SIG_LEN), -1);
		memcpy(sig, t == KEY_K256 ? k256_n : p256_n, 32);
		assert_int_equal(pubkey_verify(&pk, "m", 1, sig, SIG_LEN), -1);
		memset(sig + 32, 0, 32);
		assert_int_equal(pubkey_verify(&pk, "m", 1, sig, SIG_LEN), -1);
		memset(sig, 0xff, SIG_LEN);
		assert_int_equal(pubkey_verify(&pk, "m", 1, sig, SIG_LEN), -1);
		privkey_free(k);
	}
}

static void
test_load_export(void **state)
{
	uint8_t raw[PRIVKEY_LEN], out[PRIVKEY_LEN], sig[SIG_LEN];
	struct privkey *k, *k2;
	struct pubkey p1, p2;
	int t;

	for (t = KEY_K256; t <= KEY_P256; t++) {
		assert_non_null(k = privkey_generate(t));
		assert_int_equal(privkey_export(k, raw), 0);
		assert_non_null(k2 = privkey_load(t, raw, sizeof(raw)));
		assert_int_equal(privkey_export(k2, out), 0);
		assert_memory_equal(raw, out, PRIVKEY_LEN);
		assert_int_equal(privkey_public(k, &p1), 0);
		assert_int_equal(privkey_public(k2, &p2), 0);
		assert_true(pubkey_equal(&p1, &p2));
		assert_int_equal(privkey_sign(k2, "m", 1, sig), 0);
		assert_int_equal(pubkey_verify(&p1, "m", 1, sig, SIG_LEN), 0);
		privkey_free(k);
		privkey_free(k2);
		sodium_memzero(raw, sizeof(raw));

		/* Zero, n, all-ones and short scalars are refused. */
		assert_null(privkey_load(t, raw, sizeof(raw)));
		assert_null(privkey_load(t, t == KEY_K256 ? k256_n : p256_n,
		    32));
		memset(raw, 0xff, sizeof(raw));
		assert_null(privkey_load(t, raw, sizeof(raw)));
		raw[0] = 0x01;
		assert_null(privkey_load(t, raw, 31));
	}
	assert_null(privkey_load(KEY_NONE, raw, sizeof(raw)));
	assert_null(privkey_generate(KEY_NONE));
	privkey_free(NULL);
}

/* Deterministic k256 signing (RFC 6979) and the spec's worked key. */
static void
test_k256_known_key(void **state)
{
	static const char *hex =
	    "9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c";
	static const char *pubhex = "03"
	    "874c15c7fda20e539c6e5ba573c139884c351188799f5458b4b41f7924f235cd";
	uint8_t raw[PRIVKEY_LEN], want[PUBKEY_LEN], s1[SIG_LEN], s2[SIG_LEN];
	uint8_t full[PUBKEY_FULL_LEN];
	struct privkey *k;
	struct pubkey pk, pk2;

	assert_int_equal(sodium_hex2bin(raw, sizeof(raw), hex, 64, NULL, NULL,
	    NULL), 0);
	assert_int_equal(sodium_hex2bin(want, sizeof(want), pubhex, 66, NULL,
	    NULL, NULL), 0);
	assert_non_null(k = privkey_load(KEY_K256, raw, sizeof(raw)));
	assert_int_equal(privkey_public(k, &pk), 0);
	assert_memory_equal(pk.point, want, PUBKEY_LEN);
	assert_int_equal(privkey_sign(k, "abc", 3, s1), 0);
	assert_int_equal(privkey_sign(k, "abc", 3, s2), 0);
	assert_memory_equal(s1, s2, SIG_LEN);

	/* Uncompressed and back. */
	assert_int_equal(pubkey_uncompressed(&pk, full), 0);
	assert_int_equal(full[0], 0x04);
	assert_memory_equal(full + 1, want + 1, 32);
	assert_int_equal(pubkey_parse(KEY_K256, full, sizeof(full), &pk2), 0);
	assert_true(pubkey_equal(&pk, &pk2));
	full[0] = 0x06;		/* hybrid encoding: refused */
	assert_int_equal(pubkey_parse(KEY_K256, full, sizeof(full), &pk2), -1);
	full[0] = 0x04;
	full[64] ^= 1;		/* off the curve */
	assert_int_equal(pubkey_parse(KEY_K256, full, sizeof(full), &pk2), -1);
	privkey_free(k);
}

static void
test_p256_uncompressed(void **state)
{
	uint8_t full[PUBKEY_FULL_LEN];
	struct privkey *k;
	struct pubkey pk, pk2;

	assert_non_null(k = privkey_generate(KEY_P256));
	assert_int_equal(privkey_public(k, &pk), 0);
	assert_int_equal(pubkey_uncompressed(&pk, full), 0);
	assert_int_equal(full[0], 0x04);
	assert_memory_equal(full + 1, pk.point + 1, 32);
	assert_int_equal(pubkey_parse(KEY_P256, full, sizeof(full), &pk2), 0);
	assert_true(pubkey_equal(&pk, &pk2));
	full[64] ^= 1;
	assert_int_equal(pubkey_parse(KEY_P256, full, sizeof(full), &pk2), -1);
	/* A k256 point is (almost surely) not a p256 one, or not the same. */
	pk2.type = KEY_K256;
	assert_false(pubkey_equal(&pk, &pk2));
	privkey_free(k);
}

static void
test_sha256(void **state)
{
	static const uint8_t msg[] = { 0xa1, 0x65, 'h', 'e', 'l', 'l', 'o',
	    0x65, 'w', 'o', 'r', 'l', 'd' };
	uint8_t d[SHA256_LEN], want[SHA256_LEN];

	assert_int_equal(sodium_hex2bin(want, sizeof(want),
	    "785197229dc8bb1152945da58e2348f7e279eeded06cc2ca736d0e879858b501",
	    64, NULL, NULL, NULL), 0);
	sha256(msg, sizeof(msg), d);
	assert_memory_equal(d, want, SHA256_LEN);
	assert_string_equal(key_type_name(KEY_K256), "k256");
	assert_string_equal(key_type_name(KEY_P256), "p256");
	assert_null(key_type_jwt_alg(KEY_NONE));
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
		cmocka_unit_test(test_signature_fixtures),
		cmocka_unit_test(test_roundtrip_k256),
		cmocka_unit_test(test_roundtrip_p256),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_out_of_range_sig),
		cmocka_unit_test(test_load_export),
		cmocka_unit_test(test_k256_known_key),
		cmocka_unit_test(test_p256_uncompressed),
		cmocka_unit_test(test_sha256),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
