/*
 * Unsigned LEB128, as multiformats and CAR use it. Decoding insists on
 * the minimal form so that every number has exactly one encoding.
 */
#include <stddef.h>
#include <stdint.h>

#include "encoding.h"

size_t
varint_encode(uint64_t v, uint8_t *dst)
{
	size_t	n = 0;

	while (v >= 0x80) {
		dst[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	dst[n++] = (uint8_t)v;
	return n;
}

int
varint_decode(const uint8_t *p, size_t len, uint64_t *out)
{
	uint64_t	v = 0;
	size_t		i;

	for (i = 0; i < len && i < VARINT_MAXLEN; i++) {
		if (i == 9 && p[i] > 1)
			return -1;		/* more than 64 bits */
		v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			if (i > 0 && p[i] == 0)
				return -1;	/* not minimal */
			*out = v;
			return (int)(i + 1);
		}
	}
	return i == VARINT_MAXLEN ? -1 : 0;
}
