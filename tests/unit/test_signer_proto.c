/*
 * The IMSG_SIGN_* payloads: every encoder against its decoder, the
 * decoders against bad lengths and bad fields, and the PLC DID formula
 * against the worked example of the identity spec.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cbor.h"
#include "cid.h"
#include "crypto.h"
#include "didkey.h"
#include "dm.h"
#include "commit.h"
#include "signer_proto.h"

#define K1	"did:key:zQ3shmWf4f6ZwzNyjUDYw4oFQjgHWZoYZDjJYtz75YfYYrphB"
#define K2	"did:key:zQ3shr2PwdoF6kbuYYymyZq6YbGWShiTXAkdMioCPdSdPL9NV"
#define K3	"did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"
#define P1	"did:key:zDnaeTiq1PdzvZXUaMdezchcMJQpBdH2VN4pgrrEhMCCbmwSb"

static const char example_sig[] =
    "6739dbc478a7a412373601185b35d45cb03ae6cd94d5ecc9a28ade665b1c1d84"
    "117dde043258a3aa1a6290631a6ecfbcd53b32e0cb7d22c7299a4ed4cf5dda02";

static void
unhex(const char *h, uint8_t *out, size_t n)
{
	size_t		 i;
	unsigned int	 v;

	assert_int_equal(strlen(h), n * 2);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static uint8_t *
enc(const struct dm *v, size_t *len)
{
	uint8_t	*p;

	assert_non_null(p = dm_cbor_encode_mem(v, len));
	return p;
}

static struct dm *
commit_map(const char *did, const char *rev)
{
	struct dm	*m = dm_map();
	struct cid	 c;

	cid_of_bytes(&c, CID_CODEC_DAGCBOR, "root", 4);
	dm_map_set(m, "did", dm_str(did));
	dm_map_set(m, "rev", dm_str(rev));
	dm_map_set(m, "data", dm_link(&c));
	dm_map_set(m, "prev", dm_null());
	dm_map_set(m, "version", dm_int(3));
	return m;
}

static int
commit_ok(const struct dm *m)
{
	struct commit		 c;
	uint8_t			*p;
	size_t			 len;
	int			 rv;

	p = enc(m, &len);
	rv = signer_commit_decode(p, len, &c, NULL);
	free(p);
	return rv == 0;
}

static void
test_commit_roundtrip(void **state)
{
	struct commit		 d;
	struct cid		 data;
	struct dm		*m;
	uint8_t			*p, *b;
	size_t			 len, blen;
	const char		*why;

	cid_of_bytes(&data, CID_CODEC_DAGCBOR, "root", 4);
	assert_int_equal(commit_unsigned_encode(
	    "did:plc:6adr3q2labdllanslzhqkqd3", &data, "3jzfcijpj2z2a", &b,
	    &blen), 0);
	assert_int_equal(signer_commit_decode(b, blen, &d, &why), 0);
	assert_string_equal(d.did, "did:plc:6adr3q2labdllanslzhqkqd3");
	assert_string_equal(d.rev, "3jzfcijpj2z2a");
	assert_true(cid_equal(&d.data, &data));
	assert_false(d.has_prev);
	/* The same bytes as the data model's own encoding of the map. */
	m = commit_map(d.did, d.rev);
	p = enc(m, &len);
	assert_int_equal(len, blen);
	assert_memory_equal(p, b, len);
	free(p);
	/* Spec section 4: the unsigned commit starts a5 63 "did". */
	assert_int_equal(b[0], 0xa5);
	free(b);
	dm_free(m);
}

static void
test_commit_bad(void **state)
{
	struct commit		 c;
	struct dm		*m;
	uint8_t			 big[SIGNER_COMMIT_MAXLEN + 1];
	const char		*why;
	uint8_t			*p;
	size_t			 len;

	m = commit_map("did:plc:6adr3q2labdllanslzhqkqd3", "3jzfcijpj2z2a");
	assert_true(commit_ok(m));
	dm_map_set(m, "version", dm_int(2));
	assert_false(commit_ok(m));
	dm_map_set(m, "version", dm_str("3"));
	assert_false(commit_ok(m));
	dm_map_set(m, "version", dm_int(3));
	dm_map_set(m, "sig", dm_bytes("x", 1));
	assert_false(commit_ok(m));
	dm_map_del(m, "sig");
	dm_map_del(m, "prev");
	assert_false(commit_ok(m));
	dm_map_set(m, "prev", dm_int(0));
	assert_false(commit_ok(m));
	dm_map_set(m, "prev", dm_null());
	dm_map_set(m, "did", dm_str("did:PLC:x"));
	assert_false(commit_ok(m));
	dm_map_set(m, "did", dm_strn("did:plc:a\0b", 11));
	assert_false(commit_ok(m));
	dm_map_set(m, "did", dm_str("did:plc:6adr3q2labdllanslzhqkqd3"));
	dm_map_set(m, "rev", dm_str("3jzfcijpj2z2"));
	assert_false(commit_ok(m));
	dm_map_set(m, "rev", dm_str("3jzfcijpj2z2a"));
	dm_map_set(m, "data", dm_null());
	assert_false(commit_ok(m));
	dm_free(m);

	assert_int_equal(signer_commit_decode(NULL, 0, &c, &why), -1);
	assert_non_null(strstr(why, "length"));
	memset(big, 0xa5, sizeof(big));
	assert_int_equal(signer_commit_decode(big, sizeof(big), &c, &why), -1);
	assert_non_null(strstr(why, "length"));
	/* An array is not a commit. */
	m = dm_array();
	p = enc(m, &len);
	assert_int_equal(signer_commit_decode(p, len, &c, &why), -1);
	free(p);
	dm_free(m);
}

/* The first operation of the spec's worked example, unsigned. */
static struct dm *
example_op(void)
{
	struct dm	*op = dm_map(), *a = dm_array(), *aka = dm_array();

	dm_array_push(a, dm_str(K1));
	dm_array_push(a, dm_str(K2));
	dm_array_push(aka, dm_str("at://op0"));
	dm_map_set(op, "prev", dm_null());
	dm_map_set(op, "type", dm_str("plc_operation"));
	dm_map_set(op, "services", dm_map());
	dm_map_set(op, "alsoKnownAs", aka);
	dm_map_set(op, "rotationKeys", a);
	dm_map_set(op, "verificationMethods", dm_map());
	assert_int_equal(dm_check_complete(op), 0);
	return op;
}

static void
test_plc_example(void **state)
{
	struct dm	*op = example_op();
	struct pubkey	 pk;
	struct cid	 cid;
	uint8_t		 sig[SIG_LEN], *p;
	char		 did[PLC_DID_BUFSZ], s[CID_STRSZ];
	size_t		 len;

	unhex(example_sig, sig, sizeof(sig));
	p = enc(op, &len);
	assert_int_equal(didkey_decode(K2, strlen(K2), &pk), 0);
	assert_int_equal(pubkey_verify(&pk, p, len, sig, sizeof(sig)), 0);
	free(p);
	assert_int_equal(signer_plc_signed(op, sig, &cid, did), 0);
	assert_string_equal(did, "did:plc:6adr3q2labdllanslzhqkqd3");
	assert_int_not_equal(cid_to_str(&cid, s, sizeof(s)), -1);
	assert_string_equal(s,
	    "bafyreihqa4o4gsyai22ydms6j4cua6yr6tuc7trq2temvnycadk2daniru");
	/* Either output alone. */
	memset(did, 0, sizeof(did));
	assert_int_equal(signer_plc_signed(op, sig, NULL, did), 0);
	assert_string_equal(did, "did:plc:6adr3q2labdllanslzhqkqd3");
	assert_int_equal(signer_plc_signed(op, sig, &cid, NULL), 0);
	/* The op itself is left unsigned. */
	assert_null(dm_map_get(op, "sig"));
	dm_free(op);
}

static int
plc_ok(const struct dm *op, const char *want)
{
	struct signer_plc	 info;
	struct dm		*back;
	const char		*why = NULL;
	uint8_t			*p;
	size_t			 len;
	int			 rv;

	p = enc(op, &len);
	rv = signer_plc_decode(p, len, &back, &info, &why);
	free(p);
	if (rv == 0) {
		assert_true(dm_equal(back, op));
		dm_free(back);
	} else {
		assert_null(back);
		if (want != NULL && strstr(why, want) == NULL)
			fail_msg("refused with \"%s\", expected \"%s\"", why,
			    want);
	}
	return rv == 0;
}

static struct dm *
service(const char *type, const char *endpoint)
{
	struct dm	*s = dm_map();

	dm_map_set(s, "type", dm_str(type));
	dm_map_set(s, "endpoint", dm_str(endpoint));
	return s;
}

static void
test_plc_check(void **state)
{
	struct signer_plc	 info;
	struct dm		*op = example_op(), *vm, *sv, *a;
	struct cid		 c;
	char			 s[CID_STRSZ];
	int			 i;

	assert_false(plc_ok(op, "atproto"));
	vm = dm_map_get(op, "verificationMethods");
	dm_map_set(vm, "atproto", dm_str(K3));
	assert_true(plc_ok(op, NULL));
	assert_int_equal(signer_plc_check(op, &info, NULL), 0);
	assert_int_equal(info.nrotation, 2);
	assert_string_equal(info.rotation[0], K1);
	assert_string_equal(info.rotation[1], K2);
	assert_string_equal(info.atproto, K3);
	assert_true(info.genesis);

	/* p256 keys are keys too. */
	dm_map_set(vm, "other", dm_str(P1));
	assert_true(plc_ok(op, NULL));
	dm_map_set(vm, "bad#name", dm_str(K1));
	assert_false(plc_ok(op, "name"));
	dm_map_del(vm, "bad#name");
	dm_map_set(vm, "other", dm_str("did:key:zQ3shnotakey"));
	assert_false(plc_ok(op, "verification method key"));
	dm_map_del(vm, "other");

	sv = dm_map_get(op, "services");
	dm_map_set(sv, "atproto_pds", service("AtprotoPersonalDataServer",
	    "https://pds.test"));
	assert_true(plc_ok(op, NULL));
	dm_map_set(sv, "atproto_pds", service("AtprotoPersonalDataServer",
	    "no uri"));
	assert_false(plc_ok(op, "endpoint"));
	dm_map_set(sv, "atproto_pds", dm_str("https://pds.test"));
	assert_false(plc_ok(op, "service"));
	dm_map_del(sv, "atproto_pds");

	a = dm_map_get(op, "rotationKeys");
	dm_array_push(a, dm_str(K1));
	assert_false(plc_ok(op, "duplicate"));
	a = dm_array();
	for (i = 0; i < 6; i++)
		dm_array_push(a, dm_str(i % 2 ? K1 : P1));
	dm_map_set(op, "rotationKeys", a);
	assert_false(plc_ok(op, "1 to 5"));
	dm_map_set(op, "rotationKeys", dm_array());
	assert_false(plc_ok(op, "1 to 5"));
	a = dm_array();
	dm_array_push(a, dm_str(K1));
	dm_map_set(op, "rotationKeys", a);
	assert_true(plc_ok(op, NULL));

	a = dm_array();
	dm_array_push(a, dm_str("alice.test"));
	dm_map_set(op, "alsoKnownAs", a);
	assert_false(plc_ok(op, "alsoKnownAs"));
	dm_map_set(op, "alsoKnownAs", dm_array());
	assert_true(plc_ok(op, NULL));

	cid_of_bytes(&c, CID_CODEC_DAGCBOR, "prev", 4);
	assert_int_not_equal(cid_to_str(&c, s, sizeof(s)), -1);
	dm_map_set(op, "prev", dm_str(s));
	assert_true(plc_ok(op, NULL));
	assert_int_equal(signer_plc_check(op, &info, NULL), 0);
	assert_false(info.genesis);
	assert_true(cid_equal(&info.prev, &c));
	dm_map_set(op, "prev", dm_link(&c));
	assert_false(plc_ok(op, "prev"));
	cid_of_bytes(&c, CID_CODEC_RAW, "prev", 4);
	assert_int_not_equal(cid_to_str(&c, s, sizeof(s)), -1);
	dm_map_set(op, "prev", dm_str(s));
	assert_false(plc_ok(op, "prev"));
	dm_map_set(op, "prev", dm_null());

	dm_map_set(op, "type", dm_str("create"));
	assert_false(plc_ok(op, "type"));
	dm_map_set(op, "type", dm_str("plc_operation"));
	dm_map_set(op, "sig", dm_str("x"));
	assert_false(plc_ok(op, "6 fields"));
	dm_map_del(op, "sig");
	dm_map_del(op, "services");
	assert_false(plc_ok(op, "6 fields"));
	dm_free(op);
}

static void
test_plc_length(void **state)
{
	struct signer_plc	 info;
	struct dm		*op, *aka, *back;
	const char		*why;
	char			 uri[501];
	uint8_t			*p;
	size_t			 len;
	int			 i;

	op = example_op();
	dm_map_set(dm_map_get(op, "verificationMethods"), "atproto",
	    dm_str(K3));
	aka = dm_map_get(op, "alsoKnownAs");
	memset(uri, 'a', sizeof(uri) - 1);
	uri[sizeof(uri) - 1] = '\0';
	memcpy(uri, "at://", 5);
	for (i = 0; i < 15; i++)
		dm_array_push(aka, dm_str(uri));
	p = enc(op, &len);
	assert_true(len > PLC_OP_MAXLEN);
	assert_int_equal(signer_plc_decode(p, len, &back, &info, &why), -1);
	assert_non_null(strstr(why, "length"));
	assert_null(back);
	assert_int_equal(signer_plc_decode(p, 0, &back, &info, &why), -1);
	/* Truncated CBOR. */
	assert_int_equal(signer_plc_decode(p, 100, &back, &info, &why), -1);
	assert_non_null(strstr(why, "DAG-CBOR"));
	free(p);
	dm_free(op);
}

static void
test_jwt_payload(void **state)
{
	const char	*did, *in, *why;
	uint8_t		*p, big[SIGNER_JWT_MAXLEN + 40];
	size_t		 len, inlen;

	assert_int_equal(signer_jwt_encode("did:plc:abc", "aGk.eW8", &p, &len),
	    0);
	assert_int_equal(len, 12 + 7);
	assert_int_equal(signer_jwt_decode(p, len, &did, &in, &inlen, &why),
	    0);
	assert_string_equal(did, "did:plc:abc");
	assert_int_equal(inlen, 7);
	assert_memory_equal(in, "aGk.eW8", 7);
	/* Without the signing input, or with a NUL in it. */
	assert_int_equal(signer_jwt_decode(p, 12, &did, &in, &inlen, &why),
	    -1);
	p[14] = '\0';
	assert_int_equal(signer_jwt_decode(p, len, &did, &in, &inlen, &why),
	    -1);
	assert_int_equal(signer_jwt_decode(p, 11, &did, &in, &inlen, &why),
	    -1);
	free(p);
	assert_int_equal(signer_jwt_decode((const uint8_t *)"\0x", 2, &did,
	    &in, &inlen, &why), -1);
	assert_int_equal(signer_jwt_decode((const uint8_t *)"did:x\0x", 7,
	    &did, &in, &inlen, &why), -1);
	assert_non_null(strstr(why, "did"));
	assert_int_equal(signer_jwt_encode("", "x", &p, &len), -1);
	assert_int_equal(signer_jwt_encode("did:plc:abc", "", &p, &len), -1);
	memset(big, 'a', sizeof(big));
	memcpy(big, "did:plc:abc", 12);
	assert_int_equal(signer_jwt_decode(big, 12 + SIGNER_JWT_MAXLEN, &did,
	    &in, &inlen, &why), 0);
	assert_int_equal(signer_jwt_decode(big, 13 + SIGNER_JWT_MAXLEN, &did,
	    &in, &inlen, &why), -1);
}

static void
test_replies(void **state)
{
	char	 k[DIDKEY_BUFSZ], did[PLC_DID_BUFSZ], err[SIGNER_ERR_MAX + 1];
	uint8_t	 sig[SIG_LEN], s2[SIG_LEN], buf[SIGNER_PLC_REPLY_MAX];
	char	 long_err[SIGNER_ERR_MAX + 2];
	size_t	 n;

	assert_int_equal(signer_didkey_decode((const uint8_t *)K1,
	    strlen(K1) + 1, k), 0);
	assert_string_equal(k, K1);
	assert_int_equal(signer_didkey_decode((const uint8_t *)K1,
	    strlen(K1), k), -1);
	assert_int_equal(signer_didkey_decode((const uint8_t *)"did:key:z\0",
	    10, k), -1);
	assert_int_equal(signer_didkey_decode((const uint8_t *)"\0\0", 2, k),
	    -1);

	memset(sig, 7, sizeof(sig));
	assert_int_equal(signer_sig_decode(sig, SIG_LEN, s2), 0);
	assert_memory_equal(sig, s2, SIG_LEN);
	assert_int_equal(signer_sig_decode(sig, SIG_LEN - 1, s2), -1);
	assert_int_equal(signer_sig_decode(buf, SIG_LEN + 1, s2), -1);

	n = signer_plc_reply_encode(sig, "did:plc:6adr3q2labdllanslzhqkqd3",
	    buf);
	assert_int_equal(n, SIG_LEN + PLC_DID_LEN);
	assert_int_equal(signer_plc_reply_decode(buf, n, s2, did), 0);
	assert_string_equal(did, "did:plc:6adr3q2labdllanslzhqkqd3");
	assert_memory_equal(sig, s2, SIG_LEN);
	assert_int_equal(signer_plc_reply_decode(buf, n - 1, s2, did), -1);
	buf[SIG_LEN + 9] = 'A';
	assert_int_equal(signer_plc_reply_decode(buf, n, s2, did), -1);
	buf[SIG_LEN + 9] = '1';
	assert_int_equal(signer_plc_reply_decode(buf, n, s2, did), -1);
	n = signer_plc_reply_encode(sig, NULL, buf);
	assert_int_equal(n, SIG_LEN);
	assert_int_equal(signer_plc_reply_decode(buf, n, s2, did), 0);
	assert_string_equal(did, "");

	assert_int_equal(signer_error_decode((const uint8_t *)"no\0", 3, err,
	    sizeof(err)), 0);
	assert_string_equal(err, "no");
	assert_int_equal(signer_error_decode((const uint8_t *)"no", 2, err,
	    sizeof(err)), -1);
	assert_int_equal(signer_error_decode((const uint8_t *)"\0", 1, err,
	    sizeof(err)), -1);
	assert_int_equal(signer_error_decode((const uint8_t *)"a\nb\0", 4,
	    err, sizeof(err)), -1);
	memset(long_err, 'x', sizeof(long_err));
	long_err[sizeof(long_err) - 1] = '\0';
	assert_int_equal(signer_error_decode((const uint8_t *)long_err,
	    sizeof(long_err), err, sizeof(err)), -1);
	assert_int_equal(signer_error_decode((const uint8_t *)long_err + 1,
	    sizeof(long_err) - 1, err, sizeof(err)), 0);
}

static void
test_map_str_is(void **state)
{
	struct dm	*m = dm_map();

	dm_map_set(m, "a", dm_str("JWT"));
	dm_map_set(m, "b", dm_strn("JWT\0x", 5));
	dm_map_set(m, "c", dm_int(1));
	assert_true(signer_map_str_is(m, "a", "JWT"));
	assert_false(signer_map_str_is(m, "a", "JW"));
	assert_false(signer_map_str_is(m, "b", "JWT"));
	assert_false(signer_map_str_is(m, "c", "1"));
	assert_false(signer_map_str_is(m, "d", "JWT"));
	assert_false(signer_map_str_is(m, "a", NULL));
	dm_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commit_roundtrip),
		cmocka_unit_test(test_commit_bad),
		cmocka_unit_test(test_plc_example),
		cmocka_unit_test(test_plc_check),
		cmocka_unit_test(test_plc_length),
		cmocka_unit_test(test_jwt_payload),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_map_str_is),
	};

	if (crypto_init() == -1)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
