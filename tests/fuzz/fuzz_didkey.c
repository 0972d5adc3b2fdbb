/*
 * did:key, Multikey and bare-point multibase parsing on arbitrary bytes.
 * Whatever parses must re-encode to exactly the input: did:key has one
 * spelling per key, so anything else is a parser bug.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base58.h"
#include "crypto.h"
#include "didkey.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_didkey(const char *s, size_t len)
{
	char back[DIDKEY_BUFSZ];
	struct pubkey pk;
	int n;

	if (didkey_decode(s, len, &pk) == -1)
		return;
	n = didkey_encode(&pk, back, sizeof(back));
	if (n < 0 || (size_t)n != len || memcmp(back, s, len) != 0)
		abort();
}

static void
check_multikey(const char *s, size_t len)
{
	char back[MULTIKEY_BUFSZ];
	struct pubkey pk, pk2;
	int n;

	if (multikey_decode(s, len, &pk) == 0) {
		n = multikey_encode(&pk, back, sizeof(back));
		if (n < 0 || (size_t)n != len || memcmp(back, s, len) != 0)
			abort();
	}
	/* A legacy bare point, on either curve, must be a usable key. */
	if (multibase_key_decode(KEY_K256, s, len, &pk) == 0 &&
	    pubkey_parse(KEY_K256, pk.point, PUBKEY_LEN, &pk2) == -1)
		abort();
	if (multibase_key_decode(KEY_P256, s, len, &pk) == 0 &&
	    pubkey_parse(KEY_P256, pk.point, PUBKEY_LEN, &pk2) == -1)
		abort();
}

static void
check_base58(const char *s, size_t len)
{
	uint8_t bin[BASE58_MAX_CHARS];
	char back[BASE58_MAX_CHARS + 1];
	int n;

	if ((n = base58_decode(s, len, bin, sizeof(bin))) == -1 ||
	    n > BASE58_MAX_BYTES)
		return;
	if (base58_encode(bin, (size_t)n, back, sizeof(back)) != (int)len ||
	    memcmp(back, s, len) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (crypto_init() == -1)
		abort();
	if ((s = malloc(size == 0 ? 1 : size)) == NULL)
		return 0;
	memcpy(s, data, size);
	check_didkey(s, size);
	check_multikey(s, size);
	check_base58(s, size);
	free(s);
	return 0;
}
