/*
 * CIDs: hashing, binary and text forms, the spec's worked examples.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cid.h"

static size_t
unhex(const char *s, uint8_t *out)
{
	size_t		n = 0;
	unsigned int	x;

	for (; s[0] != '\0' && s[1] != '\0'; s += 2) {
		if (s[0] == ' ') {
			s--;
			continue;
		}
		sscanf(s, "%2x", &x);
		out[n++] = (uint8_t)x;
	}
	return n;
}

static void
test_cid_examples(void **state)
{
	const uint8_t	node[] = { 0xa2, 0x61, 0x65, 0x80, 0x61, 0x6c, 0xf6 };
	struct cid	c, p;
	uint8_t		bin[64];
	char		s[CID_STRSZ];
	size_t		n;

	cid_of_bytes(&c, CID_CODEC_DAGCBOR, node, sizeof(node));
	assert_int_equal(cid_to_str(&c, s, sizeof(s)), CID_BLESSED_STRLEN);
	assert_string_equal(s,
	    "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm");
	n = unhex("017112209dfefe61dd76ea3dcae5023880b08379d57adf20482d6fdb"
	    "e2759289f647677b", bin);
	assert_int_equal(c.len, n);
	assert_memory_equal(c.b, bin, n);
	assert_true(cid_is_blessed(&c));
	assert_int_equal(cid_codec(&c), CID_CODEC_DAGCBOR);
	assert_true(cid_verify(&c, node, sizeof(node)));
	assert_false(cid_verify(&c, node, sizeof(node) - 1));

	cid_of_bytes(&c, CID_CODEC_RAW, "hello world", 11);
	assert_string_equal(cid_fmt(&c),
	    "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
	assert_int_equal(cid_codec(&c), CID_CODEC_RAW);

	assert_int_equal(cid_from_str(&p, s, strlen(s), NULL), 0);
	cid_of_bytes(&c, CID_CODEC_DAGCBOR, node, sizeof(node));
	assert_true(cid_equal(&c, &p));
	assert_int_equal(cid_cmp(&c, &p), 0);
	assert_int_equal(cid_from_bin(&p, bin, n, NULL, NULL), 0);
	assert_true(cid_equal(&c, &p));
}

static void
test_cid_prefix(void **state)
{
	struct cid	c;
	uint8_t		bin[64];
	size_t		n, used;

	n = unhex("017112209dfefe61dd76ea3dcae5023880b08379d57adf20482d6fdb"
	    "e2759289f647677b", bin);
	bin[n++] = 0xaa;
	assert_int_equal(cid_from_bin(&c, bin, n, NULL, NULL), -1);
	assert_int_equal(cid_from_bin(&c, bin, n, &used, NULL), 0);
	assert_int_equal(used, 36);
}

static void
test_cid_reject(void **state)
{
	const char	*bad_str[] = {
		"",
		"b",
		"Bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm",
		"BAFYREIE5737GDXLW5I64VZICHCALBA3Z2V5N6ICIFVX5XYTVSKE7MR3HPM",
		"zdj7WhuEjrB52m1BisYCtmjH1hSKa7yZ3jEZ9JcXaFRD51wVz",
		"QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR",
		"bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hp",
		"bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpma",
		".",
	};
	const char	*bad_hex[] = {
		/* CIDv0 */
		"12209dfefe61dd76ea3dcae5023880b08379d57adf20482d6fdbe2759289"
		"f647677b",
		/* version 2 */
		"027112209dfefe61dd76ea3dcae5023880b08379d57adf20482d6fdbe275"
		"9289f647677b",
		/* sha2-256 with a 31-byte digest */
		"017112" "1f9dfefe61dd76ea3dcae5023880b08379d57adf20482d6fdbe275"
		"9289f647677b",
		/* truncated */
		"017112209dfefe61",
		/* digest longer than 64 bytes */
		"0171134100",
		/* non-minimal varint */
		"81007112209dfefe61dd76ea3dcae5023880b08379d57adf20482d6fdbe2"
		"759289f647677b",
		"",
	};
	struct cid	 c;
	uint8_t		 bin[128];
	size_t		 i, n;
	const char	*err;

	for (i = 0; i < sizeof(bad_str) / sizeof(bad_str[0]); i++) {
		err = NULL;
		assert_int_equal(cid_from_str(&c, bad_str[i],
		    strlen(bad_str[i]), &err), -1);
		assert_non_null(err);
	}
	for (i = 0; i < sizeof(bad_hex) / sizeof(bad_hex[0]); i++) {
		n = unhex(bad_hex[i], bin);
		err = NULL;
		assert_int_equal(cid_from_bin(&c, bin, n, NULL, &err), -1);
		assert_non_null(err);
	}
}

static void
test_cid_other_codec(void **state)
{
	struct cid	c;
	uint8_t		bin[64];
	size_t		n;

	/* dag-pb sha2-256: a valid CIDv1 we keep, but not a blessed one. */
	n = unhex("017012209dfefe61dd76ea3dcae5023880b08379d57adf20482d6fdb"
	    "e2759289f647677b", bin);
	assert_int_equal(cid_from_bin(&c, bin, n, NULL, NULL), 0);
	assert_false(cid_is_blessed(&c));
	assert_false(cid_verify(&c, "", 0));
	assert_int_equal(cid_codec(&c), 0x70);
}

/*
 * cid_text_key orders as the text forms: CIDs of both blessed codecs,
 * with every base32 character in the key's positions (the digits sort
 * before the letters in the text, not in the bits).
 */
static void
test_cid_text_key(void **state)
{
	struct cid	 c[600];
	char		 s[2][CID_STRSZ];
	uint8_t		 data[8];
	int		 i, j, cmp, differ = 0;

	for (i = 0; i < 600; i++) {
		memcpy(data, &i, sizeof(i));
		memset(data + sizeof(i), 0, sizeof(data) - sizeof(i));
		cid_of_bytes(&c[i], i % 3 == 0 ? CID_CODEC_RAW :
		    CID_CODEC_DAGCBOR, data, sizeof(data));
	}
	for (i = 0; i < 600; i++)
		for (j = i + 1; j < 600; j += 7) {
			assert_int_not_equal(cid_to_str(&c[i], s[0],
			    sizeof(s[0])), -1);
			assert_int_not_equal(cid_to_str(&c[j], s[1],
			    sizeof(s[1])), -1);
			cmp = strcmp(s[0], s[1]);
			if (cid_text_key(&c[i]) == cid_text_key(&c[j]))
				continue;
			differ++;
			if (cmp < 0)
				assert_true(cid_text_key(&c[i]) <
				    cid_text_key(&c[j]));
			else
				assert_true(cid_text_key(&c[i]) >
				    cid_text_key(&c[j]));
		}
	assert_true(differ > 20000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cid_examples),
		cmocka_unit_test(test_cid_prefix),
		cmocka_unit_test(test_cid_reject),
		cmocka_unit_test(test_cid_other_codec),
		cmocka_unit_test(test_cid_text_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
