/*
 * Strict DAG-CBOR (the atproto/DRISL profile) for data model values.
 *
 * The encoder emits the canonical form: shortest heads, definite
 * lengths, map keys in length-then-bytewise order, CIDs as tag 42 over a
 * byte string holding 0x00 and the binary CID. Heads are written with
 * libcbor's encoding functions.
 *
 * The decoder is our own strict reader (libcbor 0.8 accepts non-canonical
 * input and builds a tree we would copy again), and it accepts only what
 * the encoder would produce, so decode then encode gives the same bytes.
 * It rejects, with a reason: indefinite lengths, non-shortest integers or
 * lengths, unsorted or duplicate map keys, non-string keys, floats,
 * simple values other than false/true/null, tags other than 42, tag 42
 * not over bytes starting 0x00 with a valid CIDv1, invalid UTF-8,
 * integers outside int64, trailing bytes, and input past the bounds
 * below.
 */
#ifndef PDS_CBOR_H
#define PDS_CBOR_H

#include <stddef.h>
#include <stdint.h>

#include "dm.h"

#define DM_CBOR_MAXLEN		(8 * 1024 * 1024)	/* input bytes */
#define DM_CBOR_MAXITEMS	(1024 * 1024)		/* values in one item */

/* Appends the encoding to buf; -1 if the value is broken or no memory. */
int	dm_cbor_encode(const struct dm *, struct dm_buf *);
/* Encodes into a new malloc'd buffer. */
uint8_t	*dm_cbor_encode_mem(const struct dm *, size_t *);
/* CID (dag-cbor, sha2-256) of the canonical encoding. */
int	dm_cbor_cid(const struct dm *, struct cid *);

/* Decodes exactly one item filling the whole buffer. */
int	dm_cbor_decode(const uint8_t *, size_t, struct dm **, const char **);
/* Decodes one item at the start of the buffer; *used is its length. */
int	dm_cbor_decode_prefix(const uint8_t *, size_t, struct dm **,
	    size_t *, const char **);
/* Checks that the buffer is one strict DAG-CBOR item without building it. */
int	dm_cbor_check(const uint8_t *, size_t, const char **);
/*
 * As dm_cbor_check, and appends the item's JSON form (dmjson.h) to
 * buf, the same text as decoding it and encoding that as JSON; on
 * failure buf is left as it was.
 */
int	dm_cbor_to_json(const uint8_t *, size_t, struct dm_buf *,
	    const char **);

#endif
