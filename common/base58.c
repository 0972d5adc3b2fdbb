/*
 * base58btc by schoolbook base conversion: each leading zero byte is a
 * leading '1', the rest is the big-endian number in base 58.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base58.h"

static const char b58[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

static int
b58_value(int c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b58, c)) == NULL)
		return -1;
	return (int)(p - b58);
}

int
base58_encode(const uint8_t *in, size_t len, char *out, size_t outsz)
{
	uint8_t digits[BASE58_ENCLEN(BASE58_MAX_BYTES)];
	size_t zeros, ndig = 0, i, j, n;
	unsigned int carry;

	if (len > BASE58_MAX_BYTES)
		return -1;
	for (zeros = 0; zeros < len && in[zeros] == 0; zeros++)
		;
	/* digits[] holds the base-58 number, least significant first. */
	for (i = zeros; i < len; i++) {
		carry = in[i];
		for (j = 0; j < ndig; j++) {
			carry += (unsigned int)digits[j] << 8;
			digits[j] = carry % 58;
			carry /= 58;
		}
		while (carry > 0) {
			digits[ndig++] = carry % 58;
			carry /= 58;
		}
	}
	n = zeros + ndig;
	if (n + 1 > outsz)
		return -1;
	memset(out, '1', zeros);
	for (j = 0; j < ndig; j++)
		out[zeros + j] = b58[digits[ndig - 1 - j]];
	out[n] = '\0';
	return (int)n;
}

int
base58_decode(const char *in, size_t len, uint8_t *out, size_t outsz)
{
	uint8_t bytes[BASE58_MAX_CHARS];
	size_t zeros, nbytes = 0, i, j, n;
	unsigned int carry;
	int v;

	if (len > BASE58_MAX_CHARS)
		return -1;
	for (zeros = 0; zeros < len && in[zeros] == '1'; zeros++)
		;
	/* bytes[] holds the number base 256, least significant first. */
	for (i = zeros; i < len; i++) {
		if ((v = b58_value((unsigned char)in[i])) < 0)
			return -1;
		carry = (unsigned int)v;
		for (j = 0; j < nbytes; j++) {
			carry += (unsigned int)bytes[j] * 58;
			bytes[j] = carry & 0xff;
			carry >>= 8;
		}
		while (carry > 0) {
			bytes[nbytes++] = carry & 0xff;
			carry >>= 8;
		}
	}
	n = zeros + nbytes;
	if (n > outsz)
		return -1;
	memset(out, 0, zeros);
	for (j = 0; j < nbytes; j++)
		out[zeros + j] = bytes[nbytes - 1 - j];
	return (int)n;
}
