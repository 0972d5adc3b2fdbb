/*
 * MST keys and the node block format: heights, key syntax, and the
 * DAG-CBOR node {"e": [{"k", "p", "t", "v"}...], "l"} with prefix
 * compression of each key against the one before it in the node.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cbor.h"
#include "cid.h"
#include "dm.h"
#include "mst.h"

int
mst_key_height(const char *key, size_t len)
{
	uint8_t	h[32];
	int	z = 0, i;

	cid_sha256(key, len, h);
	for (i = 0; i < 32; i++) {
		if (h[i] == 0) {
			z += 8;
			continue;
		}
		z += __builtin_clz(h[i]) - 24;
		break;
	}
	return z / 2;
}

static int
key_segment_ok(const char *s, size_t len)
{
	size_t	i;
	char	c;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '~' ||
		    c == '-' || c == ':' || c == '.')
			continue;
		return 0;
	}
	return 1;
}

int
mst_key_valid(const char *key, size_t len)
{
	const char	*slash;
	size_t		 clen, rlen;

	if (len == 0 || len > MST_KEY_MAX)
		return 0;
	if ((slash = memchr(key, '/', len)) == NULL)
		return 0;
	clen = (size_t)(slash - key);
	rlen = len - clen - 1;
	if (!key_segment_ok(key, clen) || !key_segment_ok(slash + 1, rlen))
		return 0;
	if ((rlen == 1 && slash[1] == '.') ||
	    (rlen == 2 && slash[1] == '.' && slash[2] == '.'))
		return 0;
	return 1;
}

size_t
mst_common_prefix(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t	i, n = alen < blen ? alen : blen;

	for (i = 0; i < n && a[i] == b[i]; i++)
		;
	return i;
}

void
mst_node_free(struct mst_node *n)
{
	size_t	i;

	if (n == NULL)
		return;
	mst_node_free(n->l.node);
	for (i = 0; i < n->n; i++) {
		free(n->e[i].key);
		mst_node_free(n->e[i].t.node);
	}
	free(n->e);
	free(n);
}

static const struct cid *
ref_cid(const struct mst_ref *r)
{
	return r->node != NULL ? &r->node->cid : &r->cid;
}

static struct dm *
ref_value(const struct mst_ref *r)
{
	if (r->node == NULL && r->cid.len == 0)
		return dm_null();
	return dm_link(ref_cid(r));
}

static struct dm *
node_value(const struct mst_node *n)
{
	struct dm	*m, *arr, *ent;
	const char	*prev = "";
	size_t		 i, plen = 0, p;

	m = dm_map();
	arr = dm_array();
	for (i = 0; i < n->n; i++) {
		p = mst_common_prefix(prev, plen, n->e[i].key, n->e[i].klen);
		ent = dm_map();
		dm_map_set(ent, "k", dm_bytes(n->e[i].key + p,
		    n->e[i].klen - p));
		dm_map_set(ent, "p", dm_int((int64_t)p));
		dm_map_set(ent, "t", ref_value(&n->e[i].t));
		dm_map_set(ent, "v", dm_link(&n->e[i].val));
		dm_array_push(arr, ent);
		prev = n->e[i].key;
		plen = n->e[i].klen;
	}
	dm_map_set(m, "e", arr);
	dm_map_set(m, "l", ref_value(&n->l));
	return m;
}

int
mst_node_encode(const struct mst_node *n, struct dm_buf *b)
{
	struct dm	*v;
	int		 rc;

	if ((v = node_value(n)) == NULL)
		return -1;
	rc = dm_cbor_encode(v, b);
	dm_free(v);
	return rc;
}

void
mst_empty_root(struct cid *c)
{
	static const uint8_t	empty[] = { 0xa2, 0x61, 0x65, 0x80, 0x61, 0x6c,
	    0xf6 };

	cid_of_bytes(c, CID_CODEC_DAGCBOR, empty, sizeof(empty));
}

static int
seterr(const char **errstr, const char *msg)
{
	if (errstr != NULL)
		*errstr = msg;
	return -1;
}

/* The node format's map keys are all one letter. */
static int
key_is(const struct dm_ent *ent, char c)
{
	return ent->klen == 1 && ent->key[0] == c;
}

static int
decode_ref(const struct dm *v, struct mst_ref *r)
{
	memset(r, 0, sizeof(*r));
	if (v->type == DM_NULL)
		return 0;
	if (v->type != DM_LINK)
		return -1;
	r->cid = v->u.link;
	return 0;
}

/* One entry; prev is the previous full key (plen 0 for the first). */
static int
decode_entry(const struct dm *v, const char *prev, size_t plen,
    struct mst_entry *e, const char **errstr)
{
	const struct dm	*k, *p, *t, *val;
	size_t		 klen;

	if (v->type != DM_MAP || v->u.map.n != 4 ||
	    !key_is(&v->u.map.e[0], 'k') || !key_is(&v->u.map.e[1], 'p') ||
	    !key_is(&v->u.map.e[2], 't') || !key_is(&v->u.map.e[3], 'v'))
		return seterr(errstr, "entry is not {k, p, t, v}");
	k = v->u.map.e[0].val;
	p = v->u.map.e[1].val;
	t = v->u.map.e[2].val;
	val = v->u.map.e[3].val;
	if (k->type != DM_BYTES || p->type != DM_INT || val->type != DM_LINK)
		return seterr(errstr, "entry field of wrong type");
	if (p->u.i < 0 || (uint64_t)p->u.i > plen)
		return seterr(errstr, "prefix longer than previous key");
	if ((size_t)p->u.i < plen && k->u.s.len > 0 &&
	    (uint8_t)k->u.s.p[0] == (uint8_t)prev[p->u.i])
		return seterr(errstr, "prefix compression not maximal");
	klen = (size_t)p->u.i + k->u.s.len;
	if (klen > MST_KEY_MAX)
		return seterr(errstr, "key too long");
	if (decode_ref(t, &e->t) == -1)
		return seterr(errstr, "subtree is not a link or null");
	if ((e->key = malloc(klen + 1)) == NULL)
		return seterr(errstr, "out of memory");
	memcpy(e->key, prev, (size_t)p->u.i);
	memcpy(e->key + p->u.i, k->u.s.p, k->u.s.len);
	e->key[klen] = '\0';
	e->klen = klen;
	e->val = val->u.link;
	return 0;
}

int
mst_keycmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int	r;

	r = memcmp(a, b, alen < blen ? alen : blen);
	if (r != 0)
		return r;
	return alen < blen ? -1 : alen > blen;
}

static int
decode_entries(const struct dm *arr, struct mst_node *n, const char **errstr)
{
	struct mst_entry	*e;
	const char		*prev = "";
	size_t			 i, plen = 0;
	int			 h;

	if (arr->u.arr.n > MST_NODE_MAXENTRIES)
		return seterr(errstr, "too many entries");
	if (arr->u.arr.n == 0)
		return 0;
	if ((n->e = calloc(arr->u.arr.n, sizeof(*n->e))) == NULL)
		return seterr(errstr, "out of memory");
	n->cap = arr->u.arr.n;
	for (i = 0; i < arr->u.arr.n; i++) {
		e = &n->e[i];
		if (decode_entry(arr->u.arr.v[i], prev, plen, e, errstr) == -1)
			return -1;
		n->n++;
		if (i > 0 && mst_keycmp(prev, plen, e->key, e->klen) >= 0)
			return seterr(errstr, "keys out of order");
		if (!mst_key_valid(e->key, e->klen))
			return seterr(errstr, "invalid key");
		h = mst_key_height(e->key, e->klen);
		if (i == 0)
			n->layer = h;
		else if (h != n->layer)
			return seterr(errstr, "key on the wrong layer");
		prev = e->key;
		plen = e->klen;
	}
	return 0;
}

int
mst_node_decode(const uint8_t *p, size_t len, struct mst_node **out,
    const char **errstr)
{
	struct mst_node	*n;
	struct dm	*v;
	const struct dm	*e, *l;

	*out = NULL;
	if (dm_cbor_decode(p, len, &v, errstr) == -1)
		return -1;
	if (v->type != DM_MAP || v->u.map.n != 2 ||
	    !key_is(&v->u.map.e[0], 'e') || !key_is(&v->u.map.e[1], 'l')) {
		dm_free(v);
		return seterr(errstr, "node is not {e, l}");
	}
	e = v->u.map.e[0].val;
	l = v->u.map.e[1].val;
	if (e->type != DM_ARRAY) {
		dm_free(v);
		return seterr(errstr, "entries are not an array");
	}
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		dm_free(v);
		return seterr(errstr, "out of memory");
	}
	n->layer = -1;
	if (decode_ref(l, &n->l) == -1) {
		seterr(errstr, "left subtree is not a link or null");
		goto fail;
	}
	if (decode_entries(e, n, errstr) == -1)
		goto fail;
	dm_free(v);
	*out = n;
	return 0;
 fail:
	dm_free(v);
	mst_node_free(n);
	return -1;
}
