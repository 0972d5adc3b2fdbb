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

static int
b32val(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

int
base32_decode(const char *src, size_t len, void *dst, size_t dstsz)
{
	uint8_t		*out = dst;
	uint64_t	 acc = 0;
	size_t		 i, o = 0, rem = len % 8;
	int		 bits = 0, v;

	/* Lengths 1, 3 and 6 mod 8 cannot come from whole bytes. */
	if (rem == 1 || rem == 3 || rem == 6)
		return -1;
	if (BASE32_DECLEN(len) > dstsz || len > (size_t)INT32_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = b32val(src[i])) == -1)
			return -1;
		acc = (acc << 5) | (uint64_t)v;
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
