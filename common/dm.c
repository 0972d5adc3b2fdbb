/*
 * Data model values: construction, lookup, comparison, freeing.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"

static struct dm *
dm_new(enum dm_type t, size_t extra)
{
	struct dm	*v;

	if ((v = calloc(1, sizeof(*v) + extra)) == NULL)
		return NULL;
	v->type = t;
	return v;
}

struct dm *
dm_null(void)
{
	return dm_new(DM_NULL, 0);
}

struct dm *
dm_bool(int b)
{
	struct dm	*v;

	if ((v = dm_new(DM_BOOL, 0)) != NULL)
		v->u.b = b != 0;
	return v;
}

struct dm *
dm_int(int64_t i)
{
	struct dm	*v;

	if ((v = dm_new(DM_INT, 0)) != NULL)
		v->u.i = i;
	return v;
}

/* Strings and bytes live in the same allocation as their node. */
static struct dm *
dm_blob(enum dm_type t, const void *p, size_t len)
{
	struct dm	*v;

	if (len > SIZE_MAX - sizeof(*v) - 1)
		return NULL;
	if ((v = malloc(sizeof(*v) + len + 1)) == NULL)
		return NULL;
	v->type = t;
	v->broken = 0;
	v->u.s.p = (char *)(v + 1);
	if (len > 0)
		memcpy(v->u.s.p, p, len);
	v->u.s.p[len] = '\0';
	v->u.s.len = len;
	return v;
}

struct dm *
dm_str(const char *s)
{
	if (s == NULL)
		return NULL;
	return dm_blob(DM_STR, s, strlen(s));
}

struct dm *
dm_strn(const char *s, size_t len)
{
	return dm_blob(DM_STR, s, len);
}

struct dm *
dm_bytes(const void *p, size_t len)
{
	return dm_blob(DM_BYTES, p, len);
}

struct dm *
dm_link(const struct cid *c)
{
	struct dm	*v;

	if (c == NULL)
		return NULL;
	if ((v = dm_new(DM_LINK, 0)) != NULL)
		v->u.link = *c;
	return v;
}

struct dm *
dm_array(void)
{
	return dm_new(DM_ARRAY, 0);
}

struct dm *
dm_map(void)
{
	return dm_new(DM_MAP, 0);
}

void
dm_free(struct dm *v)
{
	size_t	i;

	if (v == NULL)
		return;
	if (v->type == DM_ARRAY) {
		for (i = 0; i < v->u.arr.n; i++)
			dm_free(v->u.arr.v[i]);
		free(v->u.arr.v);
	} else if (v->type == DM_MAP) {
		for (i = 0; i < v->u.map.n; i++) {
			free(v->u.map.e[i].key);
			dm_free(v->u.map.e[i].val);
		}
		free(v->u.map.e);
	}
	free(v);
}

static struct dm *
dm_copy_container(const struct dm *v)
{
	struct dm	*c;
	size_t		 i;

	c = v->type == DM_ARRAY ? dm_array() : dm_map();
	if (c == NULL)
		return NULL;
	c->broken = v->broken;
	for (i = 0; i < dm_len(v); i++) {
		if (v->type == DM_ARRAY)
			dm_array_push(c, dm_copy(v->u.arr.v[i]));
		else
			dm_map_setn(c, v->u.map.e[i].key, v->u.map.e[i].klen,
			    dm_copy(v->u.map.e[i].val));
	}
	if (c->broken && !v->broken) {
		dm_free(c);
		return NULL;
	}
	return c;
}

struct dm *
dm_copy(const struct dm *v)
{
	struct dm	*c;

	if (v == NULL)
		return NULL;
	switch (v->type) {
	case DM_STR:
	case DM_BYTES:
		return dm_blob(v->type, v->u.s.p, v->u.s.len);
	case DM_ARRAY:
	case DM_MAP:
		return dm_copy_container(v);
	default:
		if ((c = dm_new(v->type, 0)) != NULL)
			c->u = v->u;
		return c;
	}
}

size_t
dm_len(const struct dm *v)
{
	if (v == NULL)
		return 0;
	if (v->type == DM_ARRAY)
		return v->u.arr.n;
	if (v->type == DM_MAP)
		return v->u.map.n;
	return 0;
}

int
dm_equal(const struct dm *a, const struct dm *b)
{
	size_t	i;

	if (a == NULL || b == NULL)
		return a == b;
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case DM_NULL:
		return 1;
	case DM_BOOL:
		return a->u.b == b->u.b;
	case DM_INT:
		return a->u.i == b->u.i;
	case DM_STR:
	case DM_BYTES:
		return a->u.s.len == b->u.s.len &&
		    memcmp(a->u.s.p, b->u.s.p, a->u.s.len) == 0;
	case DM_LINK:
		return cid_equal(&a->u.link, &b->u.link);
	case DM_ARRAY:
		if (a->u.arr.n != b->u.arr.n)
			return 0;
		for (i = 0; i < a->u.arr.n; i++)
			if (!dm_equal(a->u.arr.v[i], b->u.arr.v[i]))
				return 0;
		return 1;
	case DM_MAP:
		if (a->u.map.n != b->u.map.n)
			return 0;
		for (i = 0; i < a->u.map.n; i++) {
			if (dm_keycmp(a->u.map.e[i].key, a->u.map.e[i].klen,
			    b->u.map.e[i].key, b->u.map.e[i].klen) != 0 ||
			    !dm_equal(a->u.map.e[i].val, b->u.map.e[i].val))
				return 0;
		}
		return 1;
	}
	return 0;
}

int
dm_check_complete(const struct dm *v)
{
	size_t	i;

	if (v == NULL || v->broken)
		return -1;
	if (v->type == DM_ARRAY) {
		for (i = 0; i < v->u.arr.n; i++)
			if (dm_check_complete(v->u.arr.v[i]) == -1)
				return -1;
	} else if (v->type == DM_MAP) {
		for (i = 0; i < v->u.map.n; i++)
			if (dm_check_complete(v->u.map.e[i].val) == -1)
				return -1;
	}
	return 0;
}

static int
dm_grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t	 ncap;
	void	*np;

	if (n < *cap)
		return 0;
	ncap = *cap == 0 ? 4 : *cap * 2;
	if (ncap > SIZE_MAX / size)
		return -1;
	if ((np = realloc(*p, ncap * size)) == NULL)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

int
dm_array_push(struct dm *a, struct dm *v)
{
	if (a == NULL || a->type != DM_ARRAY) {
		dm_free(v);
		return -1;
	}
	if (v == NULL || dm_grow((void **)&a->u.arr.v, &a->u.arr.cap,
	    a->u.arr.n, sizeof(*a->u.arr.v)) == -1) {
		a->broken = 1;
		dm_free(v);
		return -1;
	}
	a->u.arr.v[a->u.arr.n++] = v;
	return 0;
}

struct dm *
dm_array_get(const struct dm *a, size_t i)
{
	if (a == NULL || a->type != DM_ARRAY || i >= a->u.arr.n)
		return NULL;
	return a->u.arr.v[i];
}

int
dm_keycmp(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return memcmp(a, b, alen);
}

/* Index of key, or -(insertion point) - 1 if absent. */
static ssize_t
dm_map_find(const struct dm *m, const char *key, size_t klen)
{
	size_t	lo = 0, hi = m->u.map.n, mid;
	int	r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		r = dm_keycmp(m->u.map.e[mid].key, m->u.map.e[mid].klen,
		    key, klen);
		if (r == 0)
			return (ssize_t)mid;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(ssize_t)lo - 1;
}

static int
dm_map_insert(struct dm *m, size_t at, const char *key, size_t klen,
    struct dm *v)
{
	struct dm_ent	*e;
	char		*k;

	if (dm_grow((void **)&m->u.map.e, &m->u.map.cap, m->u.map.n,
	    sizeof(*m->u.map.e)) == -1 || (k = malloc(klen + 1)) == NULL)
		return -1;
	memcpy(k, key, klen);
	k[klen] = '\0';
	e = m->u.map.e + at;
	memmove(e + 1, e, (m->u.map.n - at) * sizeof(*e));
	e->key = k;
	e->klen = klen;
	e->val = v;
	m->u.map.n++;
	return 0;
}

int
dm_map_setn(struct dm *m, const char *key, size_t klen, struct dm *v)
{
	ssize_t	i;

	if (m == NULL || m->type != DM_MAP || key == NULL) {
		dm_free(v);
		return -1;
	}
	if (v == NULL)
		goto broken;
	i = dm_map_find(m, key, klen);
	if (i >= 0) {
		dm_free(m->u.map.e[i].val);
		m->u.map.e[i].val = v;
		return 0;
	}
	if (dm_map_insert(m, (size_t)(-i - 1), key, klen, v) == 0)
		return 0;
 broken:
	m->broken = 1;
	dm_free(v);
	return -1;
}

int
dm_map_set(struct dm *m, const char *key, struct dm *v)
{
	if (key == NULL) {
		dm_free(v);
		return -1;
	}
	return dm_map_setn(m, key, strlen(key), v);
}

struct dm *
dm_map_getn(const struct dm *m, const char *key, size_t klen)
{
	ssize_t	i;

	if (m == NULL || m->type != DM_MAP)
		return NULL;
	if ((i = dm_map_find(m, key, klen)) < 0)
		return NULL;
	return m->u.map.e[i].val;
}

struct dm *
dm_map_get(const struct dm *m, const char *key)
{
	return dm_map_getn(m, key, strlen(key));
}

int
dm_map_del(struct dm *m, const char *key)
{
	struct dm_ent	*e;
	ssize_t		 i;

	if (m == NULL || m->type != DM_MAP)
		return -1;
	if ((i = dm_map_find(m, key, strlen(key))) < 0)
		return -1;
	e = m->u.map.e + i;
	free(e->key);
	dm_free(e->val);
	memmove(e, e + 1, (m->u.map.n - (size_t)i - 1) * sizeof(*e));
	m->u.map.n--;
	return 0;
}

const char *
dm_map_get_str(const struct dm *m, const char *key, size_t *len)
{
	struct dm	*v;

	if ((v = dm_map_get(m, key)) == NULL || v->type != DM_STR)
		return NULL;
	if (len != NULL)
		*len = v->u.s.len;
	return v->u.s.p;
}

int
dm_map_get_int(const struct dm *m, const char *key, int64_t *out)
{
	struct dm	*v;

	if ((v = dm_map_get(m, key)) == NULL || v->type != DM_INT)
		return -1;
	*out = v->u.i;
	return 0;
}

const struct cid *
dm_map_get_link(const struct dm *m, const char *key)
{
	struct dm	*v;

	if ((v = dm_map_get(m, key)) == NULL || v->type != DM_LINK)
		return NULL;
	return &v->u.link;
}

/* Length of the UTF-8 sequence at p (n bytes left), or 0 if invalid. */
static size_t
utf8_seq(const uint8_t *p, size_t n)
{
	uint32_t	c;
	size_t		len, i;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;	/* continuation, overlong lead, or > U+10FFFF */
	len = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	if (n < len)
		return 0;
	c = p[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return len;
}

int
dm_utf8_valid(const uint8_t *p, size_t len)
{
	size_t	i = 0, n;

	while (i < len) {
		/* Most text is ASCII: skip it eight bytes at a time. */
		while (i + 8 <= len) {
			uint64_t	w;

			memcpy(&w, p + i, 8);
			if (w & 0x8080808080808080ULL)
				break;
			i += 8;
		}
		if (i >= len)
			break;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = utf8_seq(p + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

int
dm_buf_reserve(struct dm_buf *b, size_t n)
{
	size_t	 ncap;
	uint8_t	*np;

	if (n <= b->cap - b->len)
		return 0;
	if (n > SIZE_MAX / 2 - b->len)
		return -1;
	ncap = b->cap == 0 ? 256 : b->cap;
	while (ncap - b->len < n)
		ncap *= 2;
	if ((np = realloc(b->p, ncap)) == NULL)
		return -1;
	b->p = np;
	b->cap = ncap;
	return 0;
}

int
dm_buf_add(struct dm_buf *b, const void *p, size_t n)
{
	if (dm_buf_reserve(b, n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

void
dm_buf_free(struct dm_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static int
dm_check_blob(const struct dm *m, const char **errstr)
{
	struct dm	*v;

	if (dm_map_get_link(m, "ref") == NULL) {
		*errstr = "blob without a link \"ref\"";
		return -1;
	}
	if (dm_map_get_str(m, "mimeType", NULL) == NULL) {
		*errstr = "blob without a string \"mimeType\"";
		return -1;
	}
	if ((v = dm_map_get(m, "size")) == NULL || v->type != DM_INT ||
	    v->u.i < 0) {
		*errstr = "blob without an integer \"size\"";
		return -1;
	}
	return 0;
}

static int
dm_check_map(const struct dm *m, const char **errstr)
{
	struct dm	*t;
	size_t		 i;

	if ((t = dm_map_get(m, "$type")) != NULL) {
		if (t->type != DM_STR || t->u.s.len == 0) {
			*errstr = "$type is not a non-empty string";
			return -1;
		}
		if (strcmp(t->u.s.p, "blob") == 0 &&
		    dm_check_blob(m, errstr) == -1)
			return -1;
	}
	for (i = 0; i < m->u.map.n; i++)
		if (dm_check_types(m->u.map.e[i].val, errstr) == -1)
			return -1;
	return 0;
}

int
dm_check_types(const struct dm *v, const char **errstr)
{
	const char	*dummy;
	size_t		 i;

	if (errstr == NULL)
		errstr = &dummy;
	if (v == NULL) {
		*errstr = "missing value";
		return -1;
	}
	if (v->type == DM_ARRAY) {
		for (i = 0; i < v->u.arr.n; i++)
			if (dm_check_types(v->u.arr.v[i], errstr) == -1)
				return -1;
	} else if (v->type == DM_MAP)
		return dm_check_map(v, errstr);
	return 0;
}
