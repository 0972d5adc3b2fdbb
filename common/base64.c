/*
 * RFC 4648 base64, standard (section 4) and URL-safe (section 5)
 * alphabets. We emit no padding, as the reference implementation does,
 * and accept input with or without it.
 */
#include <stddef.h>
#include <stdint.h>

#include "encoding.h"

static const char b64std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t
b64enc(const char *alpha, const uint8_t *p, size_t len, char *dst,
    size_t dstsz)
{
	size_t		 i, o = 0;
	uint32_t	 v;

	if (dstsz < BASE64_ENCLEN(len) + 1)
		return 0;
	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		dst[o++] = alpha[v >> 18];
		dst[o++] = alpha[(v >> 12) & 63];
		dst[o++] = alpha[(v >> 6) & 63];
		dst[o++] = alpha[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)p[i] << 16;
		dst[o++] = alpha[v >> 18];
		dst[o++] = alpha[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		dst[o++] = alpha[v >> 18];
		dst[o++] = alpha[(v >> 12) & 63];
		dst[o++] = alpha[(v >> 6) & 63];
	}
	dst[o] = '\0';
	return o;
}

size_t
base64_encode(const void *src, size_t len, char *dst, size_t dstsz)
{
	return b64enc(b64std, src, len, dst, dstsz);
}

size_t
base64url_encode(const void *src, size_t len, char *dst, size_t dstsz)
{
	return b64enc(b64url, src, len, dst, dstsz);
}

static int
b64val(int url, unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

static int
b64dec(int url, const char *src, size_t len, uint8_t *out, size_t dstsz)
{
	uint32_t	 acc = 0;
	size_t		 i, o = 0;
	int		 bits = 0, v;

	/* Padding, if any, must make the length a multiple of four. */
	if (len > 0 && src[len - 1] == '=') {
		if (len % 4 != 0)
			return -1;
		len--;
		if (src[len - 1] == '=')
			len--;
	}
	if (len % 4 == 1 || len > (size_t)INT32_MAX ||
	    BASE64_DECLEN(len) > dstsz)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = b64val(url, (unsigned char)src[i])) == -1)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (acc >> bits) & 0xff;
		}
	}
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (int)o;
}

int
base64_decode(const char *src, size_t len, void *dst, size_t dstsz)
{
	return b64dec(0, src, len, dst, dstsz);
}

int
base64url_decode(const char *src, size_t len, void *dst, size_t dstsz)
{
	return b64dec(1, src, len, dst, dstsz);
}
