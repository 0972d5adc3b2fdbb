/*
 * CAR v1 (content-addressable archive): a varint-prefixed DAG-CBOR
 * header {"roots": [links], "version": 1}, then sections of
 * varint(len) || binary CID || block bytes.
 *
 * The reader is push-driven: feed it chunks of any size as they arrive
 * and it calls back once for the header and once per block, holding at
 * most one section in memory, so a CAR of any length streams in constant
 * space. Every block is checked against its CID (sha2-256) before the
 * callback sees it; only blessed CIDs (CIDv1, dag-cbor or raw,
 * sha2-256) are accepted for blocks, since no others can be checked.
 */
#ifndef PDS_CAR_H
#define PDS_CAR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cid.h"

#define CAR_MAXHEADER	(64 * 1024)		/* header section bytes */
#define CAR_MAXROOTS	64
#define CAR_MAXBLOCK	(2 * 1024 * 1024)	/* CID + data of one block */

/* Callbacks return 0 to go on, -1 to stop reading (an error). */
typedef int	(*car_header_fn)(void *, const struct cid *, size_t);
typedef int	(*car_block_fn)(void *, const struct cid *, const uint8_t *,
		    size_t);
/* Writes all of the buffer or returns -1. */
typedef int	(*car_write_fn)(void *, const void *, size_t);

struct car_reader;

/* Either callback may be NULL. */
struct car_reader *car_reader_new(car_header_fn, car_block_fn, void *);
/* Returns 0, or -1 once the input is bad (see car_reader_error()). */
int		 car_reader_feed(struct car_reader *, const void *, size_t);
/* Call at end of input: -1 if it stopped inside a section or header. */
int		 car_reader_end(struct car_reader *);
const char	*car_reader_error(const struct car_reader *);
/* Offset in the input where the error was found. */
uint64_t	 car_reader_offset(const struct car_reader *);
/* In a block callback: where the block's data starts in the input. */
uint64_t	 car_reader_block_offset(const struct car_reader *);
void		 car_reader_free(struct car_reader *);

/* Whole-input conveniences; errstr gets the reason on failure. */
int	car_read_mem(const void *, size_t, car_header_fn, car_block_fn,
	    void *, const char **);
int	car_read_fd(int, car_header_fn, car_block_fn, void *, const char **);
int	car_read_file(const char *, car_header_fn, car_block_fn, void *,
	    const char **);

int	car_write_header(car_write_fn, void *, const struct cid *, size_t);
int	car_write_block(car_write_fn, void *, const struct cid *,
	    const void *, size_t);
/* Ready-made sinks: arg is a struct evbuffer *, a FILE *, a dm_buf *. */
int	car_sink_evbuffer(void *, const void *, size_t);
int	car_sink_stdio(void *, const void *, size_t);
int	car_sink_dmbuf(void *, const void *, size_t);

#endif
