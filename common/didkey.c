/*
 * did:key encoding.  The multicodec prefixes are the unsigned-varint
 * forms of secp256k1-pub (0xe7) and p256-pub (0x1200); there are only
 * two, so they are spelled out as bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base58.h"
#include "crypto.h"
#include "didkey.h"

struct codec {
	enum key_type	type;
	uint8_t		prefix[2];
};

static const struct codec codecs[] = {
	{ KEY_K256, { 0xe7, 0x01 } },
	{ KEY_P256, { 0x80, 0x24 } },
};

#define NCODECS		(sizeof(codecs) / sizeof(codecs[0]))
#define PREFIXED_LEN	(2 + PUBKEY_LEN)

int
multikey_encode(const struct pubkey *pk, char *out, size_t outsz)
{
	uint8_t buf[PREFIXED_LEN];
	size_t i;
	int n;

	for (i = 0; i < NCODECS && codecs[i].type != pk->type; i++)
		;
	if (i == NCODECS || outsz < 2)
		return -1;
	memcpy(buf, codecs[i].prefix, 2);
	memcpy(buf + 2, pk->point, PUBKEY_LEN);
	out[0] = 'z';
	if ((n = base58_encode(buf, sizeof(buf), out + 1, outsz - 1)) == -1)
		return -1;
	return n + 1;
}

int
didkey_encode(const struct pubkey *pk, char *out, size_t outsz)
{
	size_t plen = strlen(DIDKEY_PREFIX);
	int n;

	if (outsz <= plen)
		return -1;
	memcpy(out, DIDKEY_PREFIX, plen);
	if ((n = multikey_encode(pk, out + plen, outsz - plen)) == -1)
		return -1;
	return n + (int)plen;
}

int
multikey_decode(const char *s, size_t len, struct pubkey *pk)
{
	uint8_t buf[MULTIKEY_MAX];
	size_t i;
	int n;

	memset(pk, 0, sizeof(*pk));
	if (len < 2 || len > MULTIKEY_MAX || s[0] != 'z')
		return -1;
	if ((n = base58_decode(s + 1, len - 1, buf, sizeof(buf))) !=
	    PREFIXED_LEN)
		return -1;
	for (i = 0; i < NCODECS; i++)
		if (memcmp(buf, codecs[i].prefix, 2) == 0)
			return pubkey_parse(codecs[i].type, buf + 2,
			    PUBKEY_LEN, pk);
	return -1;
}

int
didkey_decode(const char *s, size_t len, struct pubkey *pk)
{
	size_t plen = strlen(DIDKEY_PREFIX);

	memset(pk, 0, sizeof(*pk));
	if (len <= plen || memcmp(s, DIDKEY_PREFIX, plen) != 0)
		return -1;
	return multikey_decode(s + plen, len - plen, pk);
}

int
multibase_key_decode(enum key_type t, const char *s, size_t len,
    struct pubkey *pk)
{
	uint8_t buf[PUBKEY_FULL_LEN];
	int n;

	memset(pk, 0, sizeof(*pk));
	if (len < 2 || len > 2 * PUBKEY_FULL_LEN || s[0] != 'z')
		return -1;
	if ((n = base58_decode(s + 1, len - 1, buf, sizeof(buf))) == -1)
		return -1;
	return pubkey_parse(t, buf, (size_t)n, pk);
}
