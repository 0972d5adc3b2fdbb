/*
 * The atproto JSON form of data model values, on json-c.
 *
 * JSON to value: {"$link": "b..."} (exactly that one key) is a CID link,
 * {"$bytes": "<base64>"} (exactly that one key; standard alphabet,
 * padding optional) is a byte string, every other object is a map.
 * Numbers must be integers within +-(2^53-1); an integral float such as
 * 123.0 is the integer 123, any other float is rejected. Strings must be
 * valid UTF-8. The result passes dm_check_types() ($type and blob rules).
 *
 * Value to JSON: compact text, map keys in the value's (canonical)
 * order, bytes as unpadded standard base64. Integers outside the safe
 * range are written as they are.
 */
#ifndef PDS_DMJSON_H
#define PDS_DMJSON_H

#include <stddef.h>
#include <stdint.h>

#include "dm.h"

struct json_object;

#define DMJSON_MAXLEN	(8 * 1024 * 1024)	/* input bytes */

/* Parses any JSON value. Returns 0 or -1 with a reason in *errstr. */
int	dmjson_parse(const char *, size_t, struct dm **, const char **);
/* As dmjson_parse, but the top level must be an object (a record). */
int	dmjson_parse_record(const char *, size_t, struct dm **, const char **);
/* Converts an already parsed json-c tree. */
int	dmjson_from_object(struct json_object *, struct dm **, const char **);

/*
 * The writer's pieces: one JSON string, {"$bytes": ...}, {"$link": ...},
 * one integer.  Each appends to buf; -1 if out of memory.
 */
int	dmjson_put_str(struct dm_buf *, const char *, size_t);
int	dmjson_put_bytes(struct dm_buf *, const uint8_t *, size_t);
int	dmjson_put_link(struct dm_buf *, const struct cid *);
int	dmjson_put_int(struct dm_buf *, int64_t);

/* Appends compact JSON text (no NUL) to buf. */
int	dmjson_encode(const struct dm *, struct dm_buf *);
/* A malloc'd NUL-terminated string, or NULL. */
char	*dmjson_encode_str(const struct dm *, size_t *);
/*
 * A new json-c tree in *out (caller puts it; NULL is JSON null, as in
 * json-c). Returns 0 or -1.
 */
int	dmjson_to_object(const struct dm *, struct json_object **);

#endif
