/*
 * DAG-CBOR encoder and strict decoder.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cbor/encoding.h>

#include "cbor.h"
#include "dm.h"
#include "dmjson.h"

#define MT_UINT		0
#define MT_NEGINT	1
#define MT_BYTES	2
#define MT_TEXT		3
#define MT_ARRAY	4
#define MT_MAP		5
#define MT_TAG		6
#define MT_SIMPLE	7

#define TAG_CID		42
#define HEAD_MAX	9

/*
 * Encoder.
 */

static int
enc_head(struct dm_buf *b, int major, uint64_t arg)
{
	uint8_t	*p;
	size_t	 n = 0;

	if (dm_buf_reserve(b, HEAD_MAX) == -1)
		return -1;
	p = b->p + b->len;
	switch (major) {
	case MT_UINT:
		n = cbor_encode_uint(arg, p, HEAD_MAX);
		break;
	case MT_NEGINT:
		n = cbor_encode_negint(arg, p, HEAD_MAX);
		break;
	case MT_BYTES:
		n = cbor_encode_bytestring_start(arg, p, HEAD_MAX);
		break;
	case MT_TEXT:
		n = cbor_encode_string_start(arg, p, HEAD_MAX);
		break;
	case MT_ARRAY:
		n = cbor_encode_array_start(arg, p, HEAD_MAX);
		break;
	case MT_MAP:
		n = cbor_encode_map_start(arg, p, HEAD_MAX);
		break;
	case MT_TAG:
		n = cbor_encode_tag(arg, p, HEAD_MAX);
		break;
	}
	if (n == 0)
		return -1;
	b->len += n;
	return 0;
}

static int
enc_string(struct dm_buf *b, int major, const void *p, size_t len)
{
	if (enc_head(b, major, len) == -1)
		return -1;
	return dm_buf_add(b, p, len);
}

static int
enc_link(struct dm_buf *b, const struct cid *c)
{
	static const uint8_t	zero = 0;

	if (enc_head(b, MT_TAG, TAG_CID) == -1 ||
	    enc_head(b, MT_BYTES, (uint64_t)c->len + 1) == -1 ||
	    dm_buf_add(b, &zero, 1) == -1)
		return -1;
	return dm_buf_add(b, c->b, c->len);
}

static int
enc_value(const struct dm *v, struct dm_buf *b, int depth)
{
	uint8_t	simple;
	size_t	i;

	if (v == NULL || v->broken || depth > DM_MAXDEPTH)
		return -1;
	switch (v->type) {
	case DM_NULL:
	case DM_BOOL:
		simple = v->type == DM_NULL ? 0xf6 : v->u.b ? 0xf5 : 0xf4;
		return dm_buf_add(b, &simple, 1);
	case DM_INT:
		if (v->u.i >= 0)
			return enc_head(b, MT_UINT, (uint64_t)v->u.i);
		return enc_head(b, MT_NEGINT, (uint64_t)(-1 - v->u.i));
	case DM_STR:
		return enc_string(b, MT_TEXT, v->u.s.p, v->u.s.len);
	case DM_BYTES:
		return enc_string(b, MT_BYTES, v->u.s.p, v->u.s.len);
	case DM_LINK:
		return enc_link(b, &v->u.link);
	case DM_ARRAY:
		if (enc_head(b, MT_ARRAY, v->u.arr.n) == -1)
			return -1;
		for (i = 0; i < v->u.arr.n; i++)
			if (enc_value(v->u.arr.v[i], b, depth + 1) == -1)
				return -1;
		return 0;
	case DM_MAP:
		if (enc_head(b, MT_MAP, v->u.map.n) == -1)
			return -1;
		for (i = 0; i < v->u.map.n; i++) {
			if (enc_string(b, MT_TEXT, v->u.map.e[i].key,
			    v->u.map.e[i].klen) == -1 ||
			    enc_value(v->u.map.e[i].val, b, depth + 1) == -1)
				return -1;
		}
		return 0;
	}
	return -1;
}

int
dm_cbor_encode(const struct dm *v, struct dm_buf *b)
{
	size_t	start = b->len;

	if (enc_value(v, b, 0) == -1) {
		b->len = start;
		return -1;
	}
	return 0;
}

uint8_t *
dm_cbor_encode_mem(const struct dm *v, size_t *len)
{
	struct dm_buf	b = { NULL, 0, 0 };

	if (dm_cbor_encode(v, &b) == -1) {
		dm_buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

int
dm_cbor_cid(const struct dm *v, struct cid *c)
{
	struct dm_buf	b = { NULL, 0, 0 };

	if (dm_cbor_encode(v, &b) == -1) {
		dm_buf_free(&b);
		return -1;
	}
	cid_of_bytes(c, CID_CODEC_DAGCBOR, b.p, b.len);
	dm_buf_free(&b);
	return 0;
}

/*
 * Strict decoder. With build == 0 it only checks and allocates nothing;
 * with json set too, it writes the value's JSON form there as it reads,
 * which is what a read answer needs, without a tree to build and free.
 */

struct dec {
	const uint8_t	*p;
	const uint8_t	*end;
	const char	*err;
	size_t		 items;
	int		 build;
	struct dm_buf	*json;
};

static int
dec_fail(struct dec *d, const char *msg)
{
	if (d->err == NULL)
		d->err = msg;
	return -1;
}

static int	dec_value(struct dec *, struct dm **, int);

/* Appends JSON punctuation or a literal, in JSON mode. */
static int
dec_put(struct dec *d, const char *s, size_t len)
{
	if (d->json != NULL && dm_buf_add(d->json, s, len) == -1)
		return dec_fail(d, "out of memory");
	return 0;
}

/* Reads a head whose argument must be in shortest form. */
static int
dec_head(struct dec *d, int *major, uint64_t *arg)
{
	uint8_t		ib, ai;
	size_t		n, i;
	uint64_t	v;

	if (d->p >= d->end)
		return dec_fail(d, "truncated");
	ib = *d->p++;
	*major = ib >> 5;
	ai = ib & 0x1f;
	if (ai < 24) {
		*arg = ai;
		return 0;
	}
	if (ai == 31)
		return dec_fail(d, "indefinite length not allowed");
	if (ai > 27)
		return dec_fail(d, "reserved additional information");
	n = (size_t)1 << (ai - 24);
	if ((size_t)(d->end - d->p) < n)
		return dec_fail(d, "truncated");
	for (v = 0, i = 0; i < n; i++)
		v = (v << 8) | d->p[i];
	d->p += n;
	if ((n == 1 && v < 24) || (n == 2 && v <= 0xff) ||
	    (n == 4 && v <= 0xffff) || (n == 8 && v <= 0xffffffffULL))
		return dec_fail(d, "non-shortest integer or length");
	*arg = v;
	return 0;
}

static int
dec_simple(struct dec *d, struct dm **out)
{
	uint8_t	ib = *d->p;

	if (ib >= 0xf9 && ib <= 0xfb)
		return dec_fail(d, "floats not allowed");
	if (ib == 0xff)
		return dec_fail(d, "indefinite length not allowed");
	if (ib < 0xf4 || ib > 0xf6)
		return dec_fail(d, "simple value not allowed");
	d->p++;
	if (!d->build)
		return ib == 0xf6 ? dec_put(d, "null", 4) : ib == 0xf5 ?
		    dec_put(d, "true", 4) : dec_put(d, "false", 5);
	*out = ib == 0xf6 ? dm_null() : dm_bool(ib == 0xf5);
	return *out == NULL ? dec_fail(d, "out of memory") : 0;
}

static int
dec_link(struct dec *d, struct dm **out)
{
	struct cid	 c;
	uint64_t	 len;
	int		 major;
	const char	*err = NULL;

	if (dec_head(d, &major, &len) == -1)
		return -1;
	if (major != MT_BYTES)
		return dec_fail(d, "tag 42 not over a byte string");
	if (len > (uint64_t)(d->end - d->p))
		return dec_fail(d, "truncated");
	if (len < 1 || d->p[0] != 0x00)
		return dec_fail(d, "CID link without 0x00 prefix");
	if (cid_from_bin(&c, d->p + 1, len - 1, NULL, &err) == -1)
		return dec_fail(d, err);
	d->p += len;
	if (!d->build) {
		if (d->json != NULL && dmjson_put_link(d->json, &c) == -1)
			return dec_fail(d, "out of memory");
		return 0;
	}
	if ((*out = dm_link(&c)) == NULL)
		return dec_fail(d, "out of memory");
	return 0;
}

static int
dec_string(struct dec *d, int major, uint64_t len, struct dm **out)
{
	const uint8_t	*s = d->p;

	if (len > (uint64_t)(d->end - d->p))
		return dec_fail(d, "truncated");
	if (major == MT_TEXT && !dm_utf8_valid(s, len))
		return dec_fail(d, "invalid UTF-8");
	d->p += len;
	if (!d->build) {
		if (d->json != NULL && (major == MT_TEXT ?
		    dmjson_put_str(d->json, (const char *)s, len) :
		    dmjson_put_bytes(d->json, s, len)) == -1)
			return dec_fail(d, "out of memory");
		return 0;
	}
	*out = major == MT_TEXT ? dm_strn((const char *)s, len) :
	    dm_bytes(s, len);
	return *out == NULL ? dec_fail(d, "out of memory") : 0;
}

static int
dec_count(struct dec *d, uint64_t n, size_t minsize)
{
	if (n > DM_MAXELEMS)
		return dec_fail(d, "too many elements in container");
	if (n * minsize > (uint64_t)(d->end - d->p))
		return dec_fail(d, "truncated");
	if (n > DM_CBOR_MAXITEMS - d->items)
		return dec_fail(d, "too many items");
	d->items += n;
	return 0;
}

static int
dec_array(struct dec *d, uint64_t n, struct dm **out, int depth)
{
	struct dm	*a = NULL, *v = NULL;
	uint64_t	 i;

	if (dec_count(d, n, 1) == -1)
		return -1;
	if (d->build) {
		if ((a = dm_array()) == NULL || (n > 0 &&
		    (a->u.arr.v = calloc(n, sizeof(*a->u.arr.v))) == NULL)) {
			dm_free(a);
			return dec_fail(d, "out of memory");
		}
		a->u.arr.cap = n;
	} else if (dec_put(d, "[", 1) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if ((i > 0 && dec_put(d, ",", 1) == -1) ||
		    dec_value(d, &v, depth + 1) == -1) {
			dm_free(a);
			return -1;
		}
		if (a != NULL)
			a->u.arr.v[a->u.arr.n++] = v;
	}
	*out = a;
	return a == NULL ? dec_put(d, "]", 1) : 0;
}

/* Reads one map key, checking it sorts strictly after the previous one. */
static int
dec_key(struct dec *d, const uint8_t **prev, size_t *prevlen,
    const uint8_t **key, size_t *klen)
{
	uint64_t	len;
	int		major;

	if (dec_head(d, &major, &len) == -1)
		return -1;
	if (major != MT_TEXT)
		return dec_fail(d, "map key is not a string");
	if (len > DM_MAXKEYLEN)
		return dec_fail(d, "map key too long");
	if (len > (uint64_t)(d->end - d->p))
		return dec_fail(d, "truncated");
	if (!dm_utf8_valid(d->p, len))
		return dec_fail(d, "invalid UTF-8");
	if (*prev != NULL) {
		int r = dm_keycmp((const char *)*prev, *prevlen,
		    (const char *)d->p, len);
		if (r == 0)
			return dec_fail(d, "duplicate map key");
		if (r > 0)
			return dec_fail(d, "map keys not in canonical order");
	}
	*key = *prev = d->p;
	*klen = *prevlen = len;
	d->p += len;
	return 0;
}

static int
dec_map(struct dec *d, uint64_t n, struct dm **out, int depth)
{
	struct dm	*m = NULL;
	struct dm_ent	*e;
	const uint8_t	*prev = NULL, *key;
	size_t		 prevlen = 0, klen;
	uint64_t	 i;

	if (dec_count(d, n, 2) == -1)
		return -1;
	if (d->build) {
		if ((m = dm_map()) == NULL || (n > 0 &&
		    (m->u.map.e = calloc(n, sizeof(*m->u.map.e))) == NULL)) {
			dm_free(m);
			return dec_fail(d, "out of memory");
		}
		m->u.map.cap = n;
	} else if (dec_put(d, "{", 1) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if ((i > 0 && dec_put(d, ",", 1) == -1) ||
		    dec_key(d, &prev, &prevlen, &key, &klen) == -1)
			goto fail;
		if (d->json != NULL && (dmjson_put_str(d->json,
		    (const char *)key, klen) == -1 || dec_put(d, ":", 1) == -1)) {
			dec_fail(d, "out of memory");
			goto fail;
		}
		if (m != NULL) {
			e = &m->u.map.e[m->u.map.n];
			if ((e->key = malloc(klen + 1)) == NULL) {
				dec_fail(d, "out of memory");
				goto fail;
			}
			memcpy(e->key, key, klen);
			e->key[klen] = '\0';
			e->klen = klen;
			m->u.map.n++;
		}
		if (dec_value(d, m != NULL ? &e->val : NULL, depth + 1) == -1)
			goto fail;
	}
	*out = m;
	return m == NULL ? dec_put(d, "}", 1) : 0;
 fail:
	dm_free(m);
	return -1;
}

static int
dec_value(struct dec *d, struct dm **out, int depth)
{
	struct dm	*dummy;
	uint64_t	 arg;
	int		 major;

	if (out == NULL)
		out = &dummy;
	*out = NULL;
	if (depth > DM_MAXDEPTH)
		return dec_fail(d, "nesting too deep");
	if (d->p >= d->end)
		return dec_fail(d, "truncated");
	if ((*d->p >> 5) == MT_SIMPLE)
		return dec_simple(d, out);
	if (dec_head(d, &major, &arg) == -1)
		return -1;
	switch (major) {
	case MT_UINT:
	case MT_NEGINT:
		if (arg > INT64_MAX)
			return dec_fail(d, "integer out of range");
		if (!d->build)
			return d->json == NULL ? 0 : dmjson_put_int(d->json,
			    major == MT_UINT ? (int64_t)arg :
			    -1 - (int64_t)arg) == 0 ? 0 :
			    dec_fail(d, "out of memory");
		*out = dm_int(major == MT_UINT ? (int64_t)arg :
		    -1 - (int64_t)arg);
		return *out == NULL ? dec_fail(d, "out of memory") : 0;
	case MT_BYTES:
	case MT_TEXT:
		return dec_string(d, major, arg, out);
	case MT_ARRAY:
		return dec_array(d, arg, out, depth);
	case MT_MAP:
		return dec_map(d, arg, out, depth);
	case MT_TAG:
		if (arg != TAG_CID)
			return dec_fail(d, "tag other than 42");
		return dec_link(d, out);
	}
	return dec_fail(d, "bad major type");
}

static int
dec_run(const uint8_t *buf, size_t len, struct dm **out, size_t *used,
    const char **errstr, int build, struct dm_buf *json)
{
	struct dec	 d;
	struct dm	*v = NULL;

	memset(&d, 0, sizeof(d));
	d.p = buf;
	d.end = buf + (len > DM_CBOR_MAXLEN ? DM_CBOR_MAXLEN : len);
	d.build = build;
	d.json = json;
	if (len > DM_CBOR_MAXLEN && used == NULL)
		dec_fail(&d, "input too large");
	else if (dec_value(&d, &v, 0) == 0 && used == NULL && d.p != d.end)
		dec_fail(&d, "trailing bytes");
	if (d.err != NULL) {
		dm_free(v);
		if (errstr != NULL)
			*errstr = d.err;
		return -1;
	}
	if (used != NULL)
		*used = (size_t)(d.p - buf);
	if (out != NULL)
		*out = v;
	return 0;
}

int
dm_cbor_decode(const uint8_t *buf, size_t len, struct dm **out,
    const char **errstr)
{
	return dec_run(buf, len, out, NULL, errstr, 1, NULL);
}

int
dm_cbor_decode_prefix(const uint8_t *buf, size_t len, struct dm **out,
    size_t *used, const char **errstr)
{
	return dec_run(buf, len, out, used, errstr, 1, NULL);
}

int
dm_cbor_check(const uint8_t *buf, size_t len, const char **errstr)
{
	return dec_run(buf, len, NULL, NULL, errstr, 0, NULL);
}

int
dm_cbor_to_json(const uint8_t *buf, size_t len, struct dm_buf *json,
    const char **errstr)
{
	size_t	start = json->len;

	if (dec_run(buf, len, NULL, NULL, errstr, 0, json) == -1) {
		json->len = start;
		return -1;
	}
	return 0;
}
