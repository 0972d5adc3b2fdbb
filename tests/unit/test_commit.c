/*
 * Commits: the spec's worked example byte for byte (k256 key from the
 * interop fixtures, RFC 6979 signature), round trips with k256 and
 * p256 keys, tampering, and every malformed shape we refuse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cbor.h"
#include "cid.h"
#include "commit.h"
#include "crypto.h"
#include "didkey.h"
#include "dm.h"
#include "mst.h"
#include "interop.h"

#define DID	"did:plc:6adr3q2labdllanslzhqkqd3"
#define REV	"3jzfcijpj2z2a"

static const char unsigned_hex[] =
    "a56364696478206469643a706c633a366164723371326c6162646c6c616e736c7a68"
    "716b71643363726576"
    "6d336a7a6663696a706a327a32616464617461d82a582500017112209dfefe61dd76"
    "ea3dcae5023880b08379d57adf20482d6fdbe2759289f647677b6470726576f6677665"
    "7273696f6e03";
static const char sig_hex[] =
    "b667683946e82c96db595eebb828f518dd8d216c3cd173272087034d364b78f6"
    "4932a7a8abf1c8545a13d1f4615636889242f469a1b0b46dbfb029daa34761a1";
static const char digest_hex[] =
    "8ec22649a7af6910398772c528392a11e75d44d7643a7b567ffae5de7e6f00a3";

static size_t
unhex(const char *s, uint8_t *out, size_t max)
{
	size_t	i, n = strlen(s) / 2;

	assert_true(n <= max);
	for (i = 0; i < n; i++)
		assert_int_equal(sscanf(s + 2 * i, "%2hhx", &out[i]), 1);
	return n;
}

/* The first k256 key of the interop fixture and its did:key. */
static struct privkey *
fixture_key(struct pubkey *pub)
{
	struct json_object	*j, *o, *f;
	uint8_t			 raw[PRIVKEY_LEN];
	struct privkey		*k;
	const char		*dk;

	j = interop_json_array("crypto", "w3c_didkey_K256.json");
	o = json_object_array_get_idx(j, 0);
	assert_true(json_object_object_get_ex(o, "privateKeyBytesHex", &f));
	assert_int_equal(unhex(json_object_get_string(f), raw, sizeof(raw)),
	    PRIVKEY_LEN);
	assert_true(json_object_object_get_ex(o, "publicDidKey", &f));
	dk = json_object_get_string(f);
	assert_int_equal(didkey_decode(dk, strlen(dk), pub), 0);
	assert_non_null(k = privkey_load(KEY_K256, raw, sizeof(raw)));
	json_object_put(j);
	return k;
}

static void
test_spec_example(void **state)
{
	struct privkey	*k;
	struct pubkey	 pub, pub2;
	struct commit	 c;
	struct cid	 empty, cid;
	uint8_t		 want[512], sig[SIG_LEN], dgst[SHA256_LEN];
	uint8_t		*u, *s, *s2;
	size_t		 wlen, ulen, slen, s2len;
	char		 buf[CID_STRSZ];
	const char	*err = NULL;

	k = fixture_key(&pub);
	assert_int_equal(privkey_public(k, &pub2), 0);
	assert_true(pubkey_equal(&pub, &pub2));
	mst_empty_root(&empty);

	wlen = unhex(unsigned_hex, want, sizeof(want));
	assert_int_equal(commit_unsigned_encode(DID, &empty, REV, &u, &ulen),
	    0);
	assert_int_equal(ulen, wlen);
	assert_memory_equal(u, want, wlen);
	sha256(u, ulen, dgst);
	unhex(digest_hex, want, sizeof(want));
	assert_memory_equal(dgst, want, SHA256_LEN);

	/* libsecp256k1 signs with RFC 6979 nonces, as the example did. */
	assert_int_equal(privkey_sign(k, u, ulen, sig), 0);
	unhex(sig_hex, want, sizeof(want));
	assert_memory_equal(sig, want, SIG_LEN);

	assert_int_equal(commit_decode_unsigned(u, ulen, &c, &err), 0);
	assert_string_equal(c.did, DID);
	assert_string_equal(c.rev, REV);
	assert_int_equal(commit_decode(u, ulen, &c, &err), -1);
	assert_int_equal(commit_signed_encode(u, ulen, sig, &s, &slen), 0);
	assert_int_equal(commit_decode_unsigned(s, slen, &c, &err), -1);
	assert_int_equal(slen, 188);
	cid_of_bytes(&cid, CID_CODEC_DAGCBOR, s, slen);
	assert_true(cid_to_str(&cid, buf, sizeof(buf)) > 0);
	assert_string_equal(buf,
	    "bafyreic6rwfag62b75rqbu5sjjrpdadomlxjuk5u6sgnrw6yw7mi6ryefm");

	assert_int_equal(commit_decode(s, slen, &c, &err), 0);
	assert_string_equal(c.did, DID);
	assert_string_equal(c.rev, REV);
	assert_true(cid_equal(&c.data, &empty));
	assert_false(c.has_prev);
	assert_memory_equal(c.sig, sig, SIG_LEN);
	assert_int_equal(commit_verify(&c, &pub), 0);

	/* The same bytes from the struct, and from commit_sign. */
	assert_int_equal(commit_encode(&c, &s2, &s2len), 0);
	assert_int_equal(s2len, slen);
	assert_memory_equal(s2, s, slen);
	free(s2);
	memset(c.sig, 0, SIG_LEN);
	assert_int_equal(commit_verify(&c, &pub), -1);
	assert_int_equal(commit_sign(&c, k), 0);
	assert_memory_equal(c.sig, sig, SIG_LEN);

	free(u);
	free(s);
	privkey_free(k);
}

static void
round_trip(enum key_type type)
{
	struct privkey	*k, *other;
	struct pubkey	 pub, opub;
	struct commit	 c, d;
	struct cid	 data;
	uint8_t		*u, *s, sig[SIG_LEN];
	size_t		 ulen, slen;
	char		 rev[TID_BUFSZ];

	assert_non_null(k = privkey_generate(type));
	assert_non_null(other = privkey_generate(type));
	assert_int_equal(privkey_public(k, &pub), 0);
	assert_int_equal(privkey_public(other, &opub), 0);
	cid_of_bytes(&data, CID_CODEC_DAGCBOR, "some node", 9);
	tid_next(rev);

	assert_int_equal(commit_unsigned_encode("did:web:example.com", &data,
	    rev, &u, &ulen), 0);
	assert_int_equal(privkey_sign(k, u, ulen, sig), 0);
	assert_int_equal(commit_signed_encode(u, ulen, sig, &s, &slen), 0);
	assert_int_equal(commit_decode(s, slen, &c, NULL), 0);
	assert_int_equal(commit_verify(&c, &pub), 0);
	assert_int_equal(commit_verify(&c, &opub), -1);

	/* Any changed field breaks the signature. */
	d = c;
	d.rev[12] = d.rev[12] == '2' ? '3' : '2';
	assert_int_equal(commit_verify(&d, &pub), -1);
	d = c;
	d.data.b[10] ^= 1;
	assert_int_equal(commit_verify(&d, &pub), -1);
	d = c;
	d.did[4] = 'x';
	assert_int_equal(commit_verify(&d, &pub), -1);
	d = c;
	d.has_prev = 1;
	d.prev = data;
	assert_int_equal(commit_verify(&d, &pub), -1);
	d = c;
	d.sig[5] ^= 0x40;
	assert_int_equal(commit_verify(&d, &pub), -1);

	/* A tampered block fails too, whether it decodes or not. */
	s[slen - 40] ^= 1;
	if (commit_decode(s, slen, &d, NULL) == 0)
		assert_int_equal(commit_verify(&d, &pub), -1);

	free(u);
	free(s);
	privkey_free(k);
	privkey_free(other);
}

static void
test_round_trip_k256(void **state)
{
	round_trip(KEY_K256);
}

static void
test_round_trip_p256(void **state)
{
	round_trip(KEY_P256);
}

/* A well-formed signed commit as a value, to break one field at a time. */
static struct dm *
good_value(void)
{
	struct dm	*m = dm_map();
	struct cid	 data;
	uint8_t		 sig[SIG_LEN];

	mst_empty_root(&data);
	memset(sig, 7, sizeof(sig));
	dm_map_set(m, "did", dm_str(DID));
	dm_map_set(m, "rev", dm_str(REV));
	dm_map_set(m, "sig", dm_bytes(sig, SIG_LEN));
	dm_map_set(m, "data", dm_link(&data));
	dm_map_set(m, "prev", dm_null());
	dm_map_set(m, "version", dm_int(3));
	return m;
}

static int
decode_value(struct dm *m)
{
	struct commit	 c;
	uint8_t		*p;
	size_t		 len;
	const char	*err = NULL;
	int		 rc;

	assert_non_null(p = dm_cbor_encode_mem(m, &len));
	dm_free(m);
	rc = commit_decode(p, len, &c, &err);
	if (rc == -1)
		assert_non_null(err);
	free(p);
	return rc;
}

static void
test_malformed(void **state)
{
	struct dm	*m;
	struct cid	 raw;
	uint8_t		*p, *out;
	size_t		 len, outlen;
	struct commit	 c;
	char		 longdid[DID_MAX + 16];

	assert_int_equal(decode_value(good_value()), 0);

	m = good_value();
	dm_map_del(m, "sig");
	assert_int_equal(decode_value(m), -1);
	m = good_value();
	dm_map_del(m, "prev");
	assert_int_equal(decode_value(m), -1);
	m = good_value();
	dm_map_set(m, "extra", dm_int(1));
	assert_int_equal(decode_value(m), -1);
	m = good_value();
	dm_map_set(m, "version", dm_int(2));
	assert_int_equal(decode_value(m), -1);
	m = good_value();
	dm_map_set(m, "version", dm_str("3"));
	assert_int_equal(decode_value(m), -1);
	m = good_value();
	dm_map_set(m, "rev", dm_str("notatid"));
	assert_int_equal(decode_value(m), -1);
	m = good_value();
	dm_map_set(m, "rev", dm_int(5));
	assert_int_equal(decode_value(m), -1);
	m = good_value();
	dm_map_set(m, "did", dm_str("plc:abc"));
	assert_int_equal(decode_value(m), -1);
	m = good_value();
	dm_map_set(m, "sig", dm_bytes("short", 5));
	assert_int_equal(decode_value(m), -1);
	m = good_value();
	dm_map_set(m, "sig", dm_str("0123456789012345678901234567890123456789"
	    "012345678901234567890123"));
	assert_int_equal(decode_value(m), -1);
	m = good_value();
	dm_map_set(m, "data", dm_null());
	assert_int_equal(decode_value(m), -1);
	m = good_value();
	cid_of_bytes(&raw, CID_CODEC_RAW, "x", 1);
	dm_map_set(m, "data", dm_link(&raw));
	assert_int_equal(decode_value(m), -1);
	m = good_value();
	dm_map_set(m, "prev", dm_int(0));
	assert_int_equal(decode_value(m), -1);
	m = good_value();
	dm_map_set(m, "prev", dm_link(&raw));
	assert_int_equal(decode_value(m), 0);
	assert_int_equal(decode_value(dm_array()), -1);
	memset(longdid, 'a', sizeof(longdid));
	memcpy(longdid, "did:web:", 8);
	longdid[sizeof(longdid) - 1] = '\0';
	m = good_value();
	dm_map_set(m, "did", dm_str(longdid));
	assert_int_equal(decode_value(m), -1);

	/* Trailing bytes, truncation, empty input. */
	m = good_value();
	assert_non_null(p = dm_cbor_encode_mem(m, &len));
	dm_free(m);
	assert_non_null(p = realloc(p, len + 1));
	p[len] = 0;
	assert_int_equal(commit_decode(p, len + 1, &c, NULL), -1);
	assert_int_equal(commit_decode(p, len - 1, &c, NULL), -1);
	assert_int_equal(commit_decode(p, 0, &c, NULL), -1);
	/* A signed commit is no unsigned one. */
	assert_int_equal(commit_signed_encode(p, len, c.sig, &out, &outlen),
	    -1);
	free(p);

	/* The encoder refuses what the decoder would. */
	mst_empty_root(&raw);
	assert_int_equal(commit_unsigned_encode("did:x", &raw, REV, &out,
	    &outlen), -1);
	assert_int_equal(commit_unsigned_encode(DID, &raw, "3jzfcijpj2z2",
	    &out, &outlen), -1);
	assert_int_equal(commit_unsigned_encode(DID, &raw, "zzzzzzzzzzzzz",
	    &out, &outlen), -1);
	cid_of_bytes(&raw, CID_CODEC_RAW, "x", 1);
	assert_int_equal(commit_unsigned_encode(DID, &raw, REV, &out,
	    &outlen), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_round_trip_k256),
		cmocka_unit_test(test_round_trip_p256),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
