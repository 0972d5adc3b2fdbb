/*
 * The atproto data model: a tree of values that maps one to one onto
 * DAG-CBOR (cbor.h) and onto the atproto JSON form (dmjson.h).
 *
 * Maps keep their entries in DAG-CBOR canonical order (shorter key first,
 * then bytewise), so encoding never sorts and lookups are a binary search.
 *
 * Ownership: constructors return a new value (NULL if out of memory);
 * dm_array_push() and dm_map_set() take ownership of the value they are
 * given, even when they fail. A container that was handed a NULL value
 * remembers it (it is "broken"), and encoding it fails, so builder code
 * can chain calls and check once, at the end:
 *
 *	m = dm_map();
 *	dm_map_set(m, "did", dm_str(did));
 *	dm_map_set(m, "version", dm_int(3));
 *	if (dm_cbor_encode(m, &buf) == -1) ...
 */
#ifndef PDS_DM_H
#define PDS_DM_H

#include <stddef.h>
#include <stdint.h>

#include "cid.h"

enum dm_type {
	DM_NULL,
	DM_BOOL,
	DM_INT,
	DM_STR,
	DM_BYTES,
	DM_LINK,
	DM_ARRAY,
	DM_MAP,
};

/* Limits on values built from outside input (CBOR and JSON). */
#define DM_MAXDEPTH	128		/* nesting of arrays and maps */
#define DM_MAXELEMS	131072		/* entries in one array or map */
#define DM_MAXKEYLEN	8192		/* bytes in one map key */
#define DM_SAFEINT	9007199254740991LL	/* 2^53 - 1, JSON range */

struct dm;

struct dm_ent {
	char		*key;		/* NUL-terminated; may hold NULs */
	size_t		 klen;
	struct dm	*val;
};

struct dm {
	enum dm_type	 type;
	int		 broken;	/* a NULL was added to this container */
	union {
		int		 b;
		int64_t		 i;
		struct {
			char	*p;	/* NUL-terminated (bytes too) */
			size_t	 len;
		} s;
		struct cid	 link;
		struct {
			struct dm	**v;
			size_t		  n, cap;
		} arr;
		struct {
			struct dm_ent	 *e;
			size_t		  n, cap;
		} map;
	} u;
};

/* Growable byte buffer, used for encoder output. */
struct dm_buf {
	uint8_t		*p;
	size_t		 len, cap;
};

struct dm	*dm_null(void);
struct dm	*dm_bool(int);
struct dm	*dm_int(int64_t);
struct dm	*dm_str(const char *);
struct dm	*dm_strn(const char *, size_t);
struct dm	*dm_bytes(const void *, size_t);
struct dm	*dm_link(const struct cid *);
struct dm	*dm_array(void);
struct dm	*dm_map(void);
struct dm	*dm_copy(const struct dm *);
void		 dm_free(struct dm *);

int		 dm_equal(const struct dm *, const struct dm *);
size_t		 dm_len(const struct dm *);	/* array/map entries */
/* 0 if the tree has no broken container, -1 if it has. */
int		 dm_check_complete(const struct dm *);

int		 dm_array_push(struct dm *, struct dm *);
struct dm	*dm_array_get(const struct dm *, size_t);

/* Sets or replaces key; the key is copied. */
int		 dm_map_set(struct dm *, const char *, struct dm *);
int		 dm_map_setn(struct dm *, const char *, size_t, struct dm *);
struct dm	*dm_map_get(const struct dm *, const char *);
struct dm	*dm_map_getn(const struct dm *, const char *, size_t);
/* Removes and frees; returns 0, or -1 if the key was absent. */
int		 dm_map_del(struct dm *, const char *);
/* Typed lookups: NULL / -1 if the key is missing or of another type. */
const char	*dm_map_get_str(const struct dm *, const char *, size_t *);
int		 dm_map_get_int(const struct dm *, const char *, int64_t *);
const struct cid *dm_map_get_link(const struct dm *, const char *);

/*
 * The data model's rules for reserved keys, checked over the whole tree:
 * "$type", where present, is a non-empty string, and a map whose $type is
 * "blob" has a link "ref", a string "mimeType" and an integer "size" >= 0.
 */
int		 dm_check_types(const struct dm *, const char **);

/* The canonical key order: length first, then bytewise. */
int		 dm_keycmp(const char *, size_t, const char *, size_t);
/* 1 if the bytes are valid UTF-8 (no surrogates, no overlongs). */
int		 dm_utf8_valid(const uint8_t *, size_t);

int		 dm_buf_reserve(struct dm_buf *, size_t);
int		 dm_buf_add(struct dm_buf *, const void *, size_t);
void		 dm_buf_free(struct dm_buf *);

#endif
