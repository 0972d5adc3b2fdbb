/*
 * base58btc (the Bitcoin alphabet), as used by multibase 'z' strings
 * such as did:key.  Sizes are bounded: this is for keys and CIDs, not
 * bulk data, and the conversion is quadratic.
 */
#ifndef PDS_BASE58_H
#define PDS_BASE58_H

#include <stddef.h>
#include <stdint.h>

#define BASE58_MAX_BYTES	128	/* longest input to encode */
#define BASE58_MAX_CHARS	176	/* longest input to decode */

/* Worst-case encoded length of n bytes, not counting the NUL. */
#define BASE58_ENCLEN(n)	((n) * 138 / 100 + 1)

/*
 * Encodes into out (NUL-terminated).  Returns the string length, or -1
 * if the input is too long or out too small.
 */
int	base58_encode(const uint8_t *, size_t, char *, size_t);

/*
 * Decodes len characters into out.  Returns the number of bytes, or -1
 * on a character outside the alphabet, too long an input, or too small
 * an output buffer.
 */
int	base58_decode(const char *, size_t, uint8_t *, size_t);

#endif
