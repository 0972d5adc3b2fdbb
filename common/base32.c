/*
 * RFC 4648 base32 in the lowercase alphabet without padding: the only
 * multibase form atproto generates for CIDs.
 */
#include <stddef.h>
#include <stdint.h>

#include "encoding.h"

static const char b32alpha[] = "abcdefghijklmnopqrstuvwxyz234567";

size_t
base32_encode(const void *src, size_t len, char *dst, size_t dstsz)
{
	const uint8_t	*p = src;
	size_t		 i, o = 0, need = BASE32_ENCLEN(len);
	uint64_t	 acc = 0;
	int		 bits = 0;

	if (dstsz < need + 1)
		return 0;
	for (i = 0; i < len; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			dst[o++] = b32alpha[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		dst[o++] = b32alpha[(acc << (5 - bits)) & 31];
	dst[o] = '\0';
	return o;
}

/*
 * Each character's value plus one, 0 outside the alphabet: a CID's text
 * is decoded for every block an export sends, so this is a table.
 */
static const uint8_t b32val[256] = {
	['a'] = 1, ['b'] = 2, ['c'] = 3, ['d'] = 4, ['e'] = 5, ['f'] = 6,
	['g'] = 7, ['h'] = 8, ['i'] = 9, ['j'] = 10, ['k'] = 11, ['l'] = 12,
	['m'] = 13, ['n'] = 14, ['o'] = 15, ['p'] = 16, ['q'] = 17,
	['r'] = 18, ['s'] = 19, ['t'] = 20, ['u'] = 21, ['v'] = 22,
	['w'] = 23, ['x'] = 24, ['y'] = 25, ['z'] = 26, ['2'] = 27,
	['3'] = 28, ['4'] = 29, ['5'] = 30, ['6'] = 31, ['7'] = 32,
};

int
base32_decode(const char *src, size_t len, void *dst, size_t dstsz)
{
	const uint8_t	*s = (const uint8_t *)src;
	uint8_t		*out = dst;
	uint64_t	 acc = 0;
	size_t		 i, j, o = 0, rem = len % 8;
	int		 bits = 0, bad = 0;

	/* Lengths 1, 3 and 6 mod 8 cannot come from whole bytes. */
	if (rem == 1 || rem == 3 || rem == 6)
		return -1;
	if (BASE32_DECLEN(len) > dstsz || len > (size_t)INT32_MAX)
		return -1;
	/* Whole groups: 8 characters are 40 bits, 5 bytes. */
	for (i = 0; i + 8 <= len; i += 8) {
		acc = 0;
		for (j = 0; j < 8; j++) {
			bad |= b32val[s[i + j]] == 0;
			acc = (acc << 5) | (uint64_t)(b32val[s[i + j]] - 1);
		}
		if (bad)
			return -1;
		out[o++] = acc >> 32;
		out[o++] = acc >> 24;
		out[o++] = acc >> 16;
		out[o++] = acc >> 8;
		out[o++] = acc;
	}
	acc = 0;
	for (; i < len; i++) {
		if (b32val[s[i]] == 0)
			return -1;
		acc = (acc << 5) | (uint64_t)(b32val[s[i]] - 1);
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (acc >> bits) & 0xff;
		}
	}
	/* Left-over bits must be zero, so each byte string has one text. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (int)o;
}
