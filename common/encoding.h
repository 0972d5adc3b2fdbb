/*
 * Byte encodings used by the data layer: RFC 4648 base32 (lowercase, the
 * multibase 'b' form), base64 (standard and URL alphabets) and unsigned
 * LEB128 varints (multiformats, CAR section lengths).
 */
#ifndef PDS_ENCODING_H
#define PDS_ENCODING_H

#include <stddef.h>
#include <stdint.h>

/* Output sizes without padding and without the terminating NUL. */
#define BASE32_ENCLEN(n)	(((n) * 8 + 4) / 5)
#define BASE64_ENCLEN(n)	(((n) * 4 + 2) / 3)
/* Upper bound on decoded size for an encoded length. */
#define BASE32_DECLEN(n)	(((n) * 5) / 8)
#define BASE64_DECLEN(n)	(((n) * 3) / 4)

#define VARINT_MAXLEN		10

/*
 * Encoders write exactly ENCLEN characters plus a NUL, so dst needs
 * ENCLEN + 1 bytes; they return the length written (without NUL).
 * Decoders return the decoded length, or -1 if the input is not the
 * canonical encoding (bad character, impossible length, non-zero
 * trailing bits, misplaced padding, or dst too small).
 */
size_t	base32_encode(const void *, size_t, char *, size_t);
int	base32_decode(const char *, size_t, void *, size_t);

size_t	base64_encode(const void *, size_t, char *, size_t);
size_t	base64url_encode(const void *, size_t, char *, size_t);
/* Padding ('=') is optional on input; if present it must be complete. */
int	base64_decode(const char *, size_t, void *, size_t);
int	base64url_decode(const char *, size_t, void *, size_t);

/*
 * varint_encode writes at most VARINT_MAXLEN bytes and returns the count.
 * varint_decode returns the bytes consumed, 0 if the input ends before the
 * varint does (more data may complete it), or -1 if it is not a minimal
 * encoding or does not fit in 64 bits.
 */
size_t	varint_encode(uint64_t, uint8_t *);
int	varint_decode(const uint8_t *, size_t, uint64_t *);

#endif
