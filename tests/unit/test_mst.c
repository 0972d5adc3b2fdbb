/*
 * The MST: interop fixtures (key heights, common prefixes, the commit
 * proof cases with their root CIDs and proof blocks), the spec's worked
 * node examples, transactions against bulk builds in many orders, the
 * number of blocks a change reads, diffs, and node decoding.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "blockstore.h"
#include "cbor.h"
#include "cid.h"
#include "dm.h"
#include "mst.h"
#include "interop.h"

/* A block store over a memstore that counts reads and writes. */
struct counting {
	struct memstore		*ms;
	struct blockstore	 inner;
	size_t			 gets, puts;
};

static int
count_get(void *arg, const struct cid *c, uint8_t **p, size_t *len)
{
	struct counting	*cs = arg;

	cs->gets++;
	return blockstore_get(&cs->inner, c, p, len);
}

static int
count_put(void *arg, const struct cid *c, const uint8_t *p, size_t len)
{
	struct counting	*cs = arg;

	cs->puts++;
	assert_true(cid_verify(c, p, len));
	return blockstore_put(&cs->inner, c, p, len);
}

static void
counting_init(struct counting *cs, struct blockstore *bs)
{
	memset(cs, 0, sizeof(*cs));
	assert_non_null(cs->ms = memstore_new());
	memstore_blockstore(cs->ms, &cs->inner);
	bs->get = count_get;
	bs->put = count_put;
	bs->view = NULL;
	bs->arg = cs;
}

static void
cid_parse(struct cid *c, const char *s)
{
	assert_int_equal(cid_from_str(c, s, strlen(s), NULL), 0);
}

static void
assert_cid_str(const struct cid *c, const char *s)
{
	char	buf[CID_STRSZ];

	assert_true(cid_to_str(c, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, s);
}

static void
value_cid(struct cid *c, unsigned int i)
{
	char	buf[32];

	snprintf(buf, sizeof(buf), "record %u", i);
	cid_of_bytes(c, CID_CODEC_DAGCBOR, buf, strlen(buf));
}

static int
strp_cmp(const void *a, const void *b)
{
	const char	*x = *(const char *const *)a, *y = *(const char *const *)b;

	return mst_keycmp(x, strlen(x), y, strlen(y));
}

/* Bulk build of a key set in any order, all with one value. */
static void
build(const struct blockstore *bs, char **keys, size_t n,
    const struct cid *same, struct cid *root)
{
	char		**sorted;
	struct cid	 *vals;
	size_t		  i;

	sorted = calloc(n + 1, sizeof(*sorted));
	vals = calloc(n + 1, sizeof(*vals));
	assert_non_null(sorted);
	assert_non_null(vals);
	memcpy(sorted, keys, n * sizeof(*keys));
	qsort(sorted, n, sizeof(*sorted), strp_cmp);
	for (i = 0; i < n; i++)
		vals[i] = *same;
	assert_int_equal(mst_build_from_sorted(bs, (const char *const *)sorted,
	    vals, n, root), 0);
	free(sorted);
	free(vals);
}

static void
test_key_heights(void **state)
{
	struct json_object	*j, *o, *k, *h;
	size_t			 i;

	j = interop_json_array("mst", "key_heights.json");
	assert_true(json_object_array_length(j) >= 9);
	for (i = 0; i < json_object_array_length(j); i++) {
		o = json_object_array_get_idx(j, i);
		assert_true(json_object_object_get_ex(o, "key", &k));
		assert_true(json_object_object_get_ex(o, "height", &h));
		assert_int_equal(mst_key_height(json_object_get_string(k),
		    (size_t)json_object_get_string_len(k)),
		    json_object_get_int(h));
	}
	json_object_put(j);
}

static void
test_common_prefix(void **state)
{
	struct json_object	*j, *o, *l, *r, *n;
	size_t			 i;

	j = interop_json_array("mst", "common_prefix.json");
	assert_true(json_object_array_length(j) >= 13);
	for (i = 0; i < json_object_array_length(j); i++) {
		o = json_object_array_get_idx(j, i);
		assert_true(json_object_object_get_ex(o, "left", &l));
		assert_true(json_object_object_get_ex(o, "right", &r));
		assert_true(json_object_object_get_ex(o, "len", &n));
		assert_int_equal(mst_common_prefix(json_object_get_string(l),
		    (size_t)json_object_get_string_len(l),
		    json_object_get_string(r),
		    (size_t)json_object_get_string_len(r)),
		    json_object_get_int(n));
	}
	json_object_put(j);
}

static void
test_key_valid(void **state)
{
	static const char *const good[] = {
		"app.bsky.feed.post/3jzfcijpj2z2a", "A0/374913", "a/b",
		"com.example.x/self", "x/a:b~c_d-e.f", "x/..a",
	};
	static const char *const bad[] = {
		"", "/", "a/", "/b", "a/b/c", "noslash", "a b/c", "a/.",
		"a/..", "a/\xc3\xa9", "a/b#", "a/b\n",
	};
	char	long_key[MST_KEY_MAX + 2];
	size_t	i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(mst_key_valid(good[i], strlen(good[i])));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(mst_key_valid(bad[i], strlen(bad[i])));
	memset(long_key, 'a', sizeof(long_key));
	long_key[1] = '/';
	assert_true(mst_key_valid(long_key, MST_KEY_MAX));
	assert_false(mst_key_valid(long_key, MST_KEY_MAX + 1));
	assert_false(mst_key_valid("a/b\0c", 5));
}

static void
test_empty_tree(void **state)
{
	struct memstore		*ms;
	struct blockstore	 bs;
	struct mst_tx		*tx;
	struct cid		 root, e, v;
	const char		*want =
	    "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm";

	assert_non_null(ms = memstore_new());
	memstore_blockstore(ms, &bs);
	mst_empty_root(&e);
	assert_cid_str(&e, want);
	assert_int_equal(mst_build_from_sorted(&bs, NULL, NULL, 0, &root), 0);
	assert_true(cid_equal(&root, &e));
	assert_non_null(tx = mst_tx_open(&bs, NULL));
	assert_int_equal(mst_tx_commit(tx, &root, NULL, NULL), 0);
	assert_true(cid_equal(&root, &e));
	mst_tx_free(tx);
	assert_int_equal(mst_get(&bs, &root, "a/b", 3, &v), 1);
	assert_int_equal(mst_walk(&bs, &root, NULL, NULL), 0);

	/* Add a key and delete it: back to the empty node. */
	value_cid(&v, 1);
	assert_non_null(tx = mst_tx_open(&bs, &root));
	assert_int_equal(mst_tx_put(tx, "a/b", 3, &v), 0);
	assert_int_equal(mst_tx_commit(tx, &root, NULL, NULL), 0);
	assert_false(cid_equal(&root, &e));
	assert_int_equal(mst_tx_del(tx, "a/b", 3), 0);
	assert_int_equal(mst_tx_del(tx, "a/b", 3), 1);
	assert_int_equal(mst_tx_commit(tx, &root, NULL, NULL), 0);
	assert_true(cid_equal(&root, &e));
	mst_tx_free(tx);
	memstore_free(ms);
}

/* repository.md section 3: the worked node examples. */
static void
test_spec_examples(void **state)
{
	static const uint8_t	rec[] = {
		0x01, 0x71, 0x12, 0x20, 0x80, 0xb4, 0xd8, 0x7f, 0x9e, 0xc5,
		0x8c, 0x1e, 0x06, 0x41, 0x4e, 0x1e, 0x41, 0xd8, 0xfb, 0x41,
		0x09, 0x4f, 0x22, 0x3c, 0x9a, 0x46, 0x29, 0x29, 0x9a, 0xe7,
		0x30, 0x4e, 0x8f, 0x07, 0x4b, 0x2a,
	};
	static const char	*one[] = {
	    "app.bsky.feed.post/3jzfcijpj2z2a" };
	static const char	*two[] = { "app.bsky.feed.post/3jzfcijpj2z22",
	    "app.bsky.feed.post/3jzfcijpj2z25" };
	static const char	*layers[] = { "app.bsky.feed.post/3jzfcijpj2z2a",
	    "app.bsky.feed.post/3jzfcijpj2z2b" };
	struct memstore		*ms;
	struct blockstore	 bs;
	struct cid		 v, vals[2], root;
	const uint8_t		*p;
	size_t			 len;

	assert_non_null(ms = memstore_new());
	memstore_blockstore(ms, &bs);
	assert_int_equal(cid_from_bin(&v, rec, sizeof(rec), NULL, NULL), 0);
	vals[0] = vals[1] = v;
	assert_int_equal(mst_key_height(layers[1], strlen(layers[1])), 1);
	assert_int_equal(mst_build_from_sorted(&bs, one, vals, 1, &root), 0);
	assert_cid_str(&root,
	    "bafyreiefjrptb55x3tbtpxsauvyvuijuoio4nxdfegevrbmdt7mbr2qfmq");
	assert_int_equal(memstore_peek(ms, &root, &p, &len), 0);
	assert_int_equal(len, 93);
	assert_memory_equal(p, "\xa2\x61\x65\x81\xa4\x61\x6b\x58\x20", 9);
	assert_int_equal(mst_build_from_sorted(&bs, two, vals, 2, &root), 0);
	assert_cid_str(&root,
	    "bafyreiaxutqlhwefn3vkiuhnlrpjlu6mx4rtjhri7jsl5xyw5vr6gwtile");
	assert_int_equal(memstore_peek(ms, &root, &p, &len), 0);
	/* second entry: k = "5", p = 31 */
	assert_non_null(memmem(p, len, "\xa4\x61\x6b\x41\x35\x61\x70\x18\x1f",
	    9));
	assert_int_equal(mst_build_from_sorted(&bs, layers, vals, 2, &root),
	    0);
	assert_cid_str(&root,
	    "bafyreicsryd62dbxcb26lrrg4xrzsuzare5qowtzrtniokee6eoqnkcjoa");
	memstore_free(ms);
}

/* Node CIDs of a whole tree, read through the node decoder. */
static void
collect_nodes(struct memstore *src, const struct cid *c, struct memstore *out)
{
	struct mst_node	*n;
	const uint8_t	*p;
	size_t		 len, i;

	assert_int_equal(memstore_peek(src, c, &p, &len), 0);
	assert_int_equal(memstore_put(out, c, p, len), 0);
	assert_int_equal(mst_node_decode(p, len, &n, NULL), 0);
	if (n->l.cid.len)
		collect_nodes(src, &n->l.cid, out);
	for (i = 0; i < n->n; i++)
		if (n->e[i].t.cid.len)
			collect_nodes(src, &n->e[i].t.cid, out);
	mst_node_free(n);
}

struct blocks_seen {
	struct memstore	*fresh;
	struct memstore	*removed;
};

static int
on_block(void *arg, enum mst_block_kind k, const struct cid *c,
    const uint8_t *p, size_t len)
{
	struct blocks_seen	*bs = arg;

	if (k == MST_BLOCK_NEW) {
		assert_true(cid_verify(c, p, len));
		assert_int_equal(memstore_put(bs->fresh, c, p, len), 0);
	} else {
		assert_null(p);
		assert_false(memstore_has(bs->removed, c));
		assert_int_equal(memstore_put(bs->removed, c, NULL, 0), 0);
	}
	return 0;
}

/* a \ b has exactly the CIDs of want, and no others. */
static int
count_missing(void *arg, const struct cid *c, const uint8_t *p, size_t len)
{
	return memstore_has(arg, c) ? 0 : 1;
}

static void
assert_set_equal(struct memstore *a, struct memstore *b)
{
	assert_int_equal(memstore_count(a), memstore_count(b));
	assert_int_equal(memstore_foreach(a, count_missing, b), 0);
}

struct minus {
	struct memstore	*sub, *out;
};

static int
minus_one(void *arg, const struct cid *c, const uint8_t *p, size_t len)
{
	struct minus	*m = arg;

	if (!memstore_has(m->sub, c))
		assert_int_equal(memstore_put(m->out, c, p, len), 0);
	return 0;
}

static struct memstore *
set_minus(struct memstore *a, struct memstore *b)
{
	struct minus	m;

	assert_non_null(m.out = memstore_new());
	m.sub = b;
	memstore_foreach(a, minus_one, &m);
	return m.out;
}

/*
 * The commit's new and removed node reports must be exactly the
 * difference between the node sets of the two trees.
 */
static void
check_node_reports(struct memstore *ms, const struct cid *before,
    const struct cid *after, struct blocks_seen *seen)
{
	struct memstore	*old, *new, *d;

	assert_non_null(old = memstore_new());
	assert_non_null(new = memstore_new());
	collect_nodes(ms, before, old);
	collect_nodes(ms, after, new);
	d = set_minus(new, old);
	assert_set_equal(d, seen->fresh);
	memstore_free(d);
	d = set_minus(old, new);
	assert_set_equal(d, seen->removed);
	memstore_free(d);
	memstore_free(old);
	memstore_free(new);
}

static char **
json_strings(struct json_object *o, const char *field, size_t *n)
{
	struct json_object	*a;
	char			**v;
	size_t			  i;

	assert_true(json_object_object_get_ex(o, field, &a));
	*n = json_object_array_length(a);
	assert_non_null(v = calloc(*n + 1, sizeof(*v)));
	for (i = 0; i < *n; i++)
		v[i] = (char *)json_object_get_string(
		    json_object_array_get_idx(a, i));
	return v;
}

static const char *
json_str(struct json_object *o, const char *field)
{
	struct json_object	*s;

	assert_true(json_object_object_get_ex(o, field, &s));
	return json_object_get_string(s);
}

static void
proof_case(struct json_object *o)
{
	struct memstore		*ms, *proof, *want;
	struct blockstore	 bs;
	struct blocks_seen	 seen;
	struct mst_tx		*tx;
	struct cid		 leaf, root, after, c;
	char			**keys, **adds, **dels, **expect, **all;
	size_t			 nk, na, nd, ne, i, j, nall;

	assert_non_null(ms = memstore_new());
	memstore_blockstore(ms, &bs);
	cid_parse(&leaf, json_str(o, "leafValue"));
	keys = json_strings(o, "keys", &nk);
	adds = json_strings(o, "adds", &na);
	dels = json_strings(o, "dels", &nd);
	expect = json_strings(o, "blocksInProof", &ne);

	build(&bs, keys, nk, &leaf, &root);
	assert_cid_str(&root, json_str(o, "rootBeforeCommit"));

	seen.fresh = memstore_new();
	seen.removed = memstore_new();
	assert_non_null(tx = mst_tx_open(&bs, &root));
	for (i = 0; i < na; i++)
		assert_int_equal(mst_tx_put(tx, adds[i], strlen(adds[i]),
		    &leaf), 0);
	for (i = 0; i < nd; i++)
		assert_int_equal(mst_tx_del(tx, dels[i], strlen(dels[i])), 0);
	assert_int_equal(mst_tx_commit(tx, &after, on_block, &seen), 0);
	assert_cid_str(&after, json_str(o, "rootAfterCommit"));
	check_node_reports(ms, &root, &after, &seen);

	/* The proof: exactly the fixture's blocks, each with its bytes. */
	assert_non_null(proof = memstore_new());
	assert_non_null(want = memstore_new());
	assert_int_equal(mst_tx_proof(tx, proof), 0);
	for (i = 0; i < ne; i++) {
		cid_parse(&c, expect[i]);
		assert_int_equal(memstore_put(want, &c, NULL, 0), 0);
	}
	assert_set_equal(proof, want);
	mst_tx_free(tx);

	/* The final key set built from scratch has the same root. */
	assert_non_null(all = calloc(nk + na + 1, sizeof(*all)));
	for (i = nall = 0; i < nk + na; i++) {
		all[nall] = i < nk ? keys[i] : adds[i - nk];
		for (j = 0; j < nd; j++)
			if (strcmp(all[nall], dels[j]) == 0)
				break;
		if (j == nd)
			nall++;
	}
	build(&bs, all, nall, &leaf, &c);
	assert_true(cid_equal(&c, &after));

	free(all);
	free(keys);
	free(adds);
	free(dels);
	free(expect);
	memstore_free(proof);
	memstore_free(want);
	memstore_free(seen.fresh);
	memstore_free(seen.removed);
	memstore_free(ms);
}

static void
test_commit_proof_fixtures(void **state)
{
	struct json_object	*j;
	size_t			 i;

	j = interop_json_array("firehose", "commit-proof-fixtures.json");
	assert_true(json_object_array_length(j) >= 6);
	for (i = 0; i < json_object_array_length(j); i++) {
		print_message("# proof case %zu: %s\n", i,
		    json_str(json_object_array_get_idx(j, i), "comment"));
		proof_case(json_object_array_get_idx(j, i));
	}
	json_object_put(j);
}

/* A deterministic generator, so failures reproduce. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
shuffle(char **v, size_t n, uint64_t *seed)
{
	size_t	i, j;
	char	*t;

	for (i = n; i > 1; i--) {
		j = rnd(seed) % i;
		t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

static char **
read_example_keys(size_t *n)
{
	FILE	*f;
	char	 line[256], **v = NULL;
	size_t	 cap = 0;

	f = interop_open("mst", "example_keys.txt");
	*n = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			assert_non_null(v = reallocarray(v, cap, sizeof(*v)));
		}
		assert_non_null(v[(*n)++] = strdup(line));
	}
	fclose(f);
	return v;
}

static char **
gen_keys(size_t n, uint64_t *seed)
{
	static const char	*cols[] = { "app.bsky.feed.post",
	    "app.bsky.feed.like", "app.bsky.graph.follow", "x.y.z" };
	static const char	 b32[] = "234567abcdefghijklmnopqrstuvwxyz";
	char			**v, rkey[14];
	size_t			  i, j;

	assert_non_null(v = calloc(n, sizeof(*v)));
	for (i = 0; i < n; i++) {
		for (j = 0; j < 13; j++)
			rkey[j] = b32[rnd(seed) % 32];
		rkey[13] = '\0';
		assert_true(asprintf(&v[i], "%s/%s", cols[rnd(seed) % 4],
		    rkey) > 0);
	}
	return v;
}

static void
free_keys(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
value_of(const char *key, struct cid *c)
{
	cid_of_bytes(c, CID_CODEC_DAGCBOR, key, strlen(key));
}

/* Puts keys[0..n) (value = value_of(key)) in one or more commits. */
static void
tx_apply(const struct blockstore *bs, struct cid *root, int have_root,
    char **keys, size_t n, size_t per_commit, int del)
{
	struct mst_tx	*tx;
	struct cid	 v;
	size_t		 i;

	assert_non_null(tx = mst_tx_open(bs, have_root ? root : NULL));
	for (i = 0; i < n; i++) {
		if (del)
			assert_int_equal(mst_tx_del(tx, keys[i],
			    strlen(keys[i])), 0);
		else {
			value_of(keys[i], &v);
			assert_int_equal(mst_tx_put(tx, keys[i],
			    strlen(keys[i]), &v), 0);
		}
		if (per_commit && (i + 1) % per_commit == 0)
			assert_int_equal(mst_tx_commit(tx, root, NULL, NULL),
			    0);
	}
	assert_int_equal(mst_tx_commit(tx, root, NULL, NULL), 0);
	mst_tx_free(tx);
}

static void
build_valued(const struct blockstore *bs, char **keys, size_t n,
    struct cid *root)
{
	char		**sorted;
	struct cid	 *vals;
	size_t		  i;

	assert_non_null(sorted = calloc(n + 1, sizeof(*sorted)));
	assert_non_null(vals = calloc(n + 1, sizeof(*vals)));
	memcpy(sorted, keys, n * sizeof(*keys));
	qsort(sorted, n, sizeof(*sorted), strp_cmp);
	for (i = 0; i < n; i++)
		value_of(sorted[i], &vals[i]);
	assert_int_equal(mst_build_from_sorted(bs, (const char *const *)sorted,
	    vals, n, root), 0);
	free(sorted);
	free(vals);
}

struct walkcheck {
	char		**sorted;
	size_t		  n, i;
};

static int
walk_cb(void *arg, const char *key, size_t klen, const struct cid *val)
{
	struct walkcheck	*w = arg;
	struct cid		 v;

	assert_true(w->i < w->n);
	assert_int_equal(klen, strlen(w->sorted[w->i]));
	assert_memory_equal(key, w->sorted[w->i], klen);
	value_of(w->sorted[w->i], &v);
	assert_true(cid_equal(&v, val));
	w->i++;
	return 0;
}

static void
check_contents(const struct blockstore *bs, const struct cid *root,
    char **keys, size_t n)
{
	struct walkcheck	w;
	struct cid		v, want;
	size_t			i;

	assert_non_null(w.sorted = calloc(n + 1, sizeof(char *)));
	memcpy(w.sorted, keys, n * sizeof(char *));
	qsort(w.sorted, n, sizeof(char *), strp_cmp);
	w.n = n;
	w.i = 0;
	assert_int_equal(mst_walk(bs, root, walk_cb, &w), 0);
	assert_int_equal(w.i, n);
	for (i = 0; i < n; i += 7) {
		assert_int_equal(mst_get(bs, root, keys[i], strlen(keys[i]),
		    &v), 0);
		value_of(keys[i], &want);
		assert_true(cid_equal(&v, &want));
	}
	assert_int_equal(mst_get(bs, root, "zz/none", 7, &v), 1);
	free(w.sorted);
}

/* Same key set, any order of inserts and deletes: one root. */
static void
order_independence(char **keys, size_t n, uint64_t seed)
{
	struct memstore		*ms;
	struct blockstore	 bs;
	struct cid		 want, root, half;
	int			 round;

	assert_non_null(ms = memstore_new());
	memstore_blockstore(ms, &bs);
	build_valued(&bs, keys, n, &want);
	for (round = 0; round < 3; round++) {
		shuffle(keys, n, &seed);
		tx_apply(&bs, &root, 0, keys, n, round == 2 ? 97 : 0, 0);
		assert_true(cid_equal(&root, &want));
	}
	check_contents(&bs, &root, keys, n);

	/* Delete half in random order: the build of the rest. */
	shuffle(keys, n, &seed);
	tx_apply(&bs, &root, 1, keys, n / 2, 31, 1);
	build_valued(&bs, keys + n / 2, n - n / 2, &half);
	assert_true(cid_equal(&root, &half));
	check_contents(&bs, &root, keys + n / 2, n - n / 2);

	/* Put them back: the full tree again. Then remove everything. */
	tx_apply(&bs, &root, 1, keys, n / 2, 0, 0);
	assert_true(cid_equal(&root, &want));
	shuffle(keys, n, &seed);
	tx_apply(&bs, &root, 1, keys, n, 0, 1);
	mst_empty_root(&want);
	assert_true(cid_equal(&root, &want));
	memstore_free(ms);
}

static void
test_example_keys(void **state)
{
	char	**keys;
	size_t	  n;

	keys = read_example_keys(&n);
	assert_int_equal(n, 156);
	order_independence(keys, n, 0x9e3779b97f4a7c15ULL);
	free_keys(keys, n);
}

static void
test_random_orders(void **state)
{
	char		**keys;
	uint64_t	  seed = 42;

	keys = gen_keys(2000, &seed);
	order_independence(keys, 2000, seed);
	free_keys(keys, 2000);
}

static int
height_cmp(const void *a, const void *b)
{
	const char	*x = *(const char *const *)a, *y = *(const char *const *)b;

	return mst_key_height(y, strlen(y)) - mst_key_height(x, strlen(x));
}

/*
 * Removing the highest keys one by one lowers the root layer by layer
 * (the top is trimmed); putting them back raises it again. After each
 * step the root must be the bulk build's.
 */
static void
test_delete_top(void **state)
{
	struct memstore		*ms;
	struct blockstore	 bs;
	struct cid		 root, want;
	char			**keys;
	uint64_t		  seed = 77;
	size_t			  n = 400, i, steps = 40;

	keys = gen_keys(n, &seed);
	qsort(keys, n, sizeof(*keys), height_cmp);
	assert_true(mst_key_height(keys[0], strlen(keys[0])) >
	    mst_key_height(keys[steps], strlen(keys[steps])));
	assert_non_null(ms = memstore_new());
	memstore_blockstore(ms, &bs);
	build_valued(&bs, keys, n, &root);
	for (i = 0; i < steps; i++) {
		tx_apply(&bs, &root, 1, keys + i, 1, 0, 1);
		build_valued(&bs, keys + i + 1, n - i - 1, &want);
		assert_true(cid_equal(&root, &want));
	}
	check_contents(&bs, &root, keys + steps, n - steps);
	for (i = steps; i-- > 0;) {
		tx_apply(&bs, &root, 1, keys + i, 1, 0, 0);
		build_valued(&bs, keys + i, n - i, &want);
		assert_true(cid_equal(&root, &want));
	}
	free_keys(keys, n);
	memstore_free(ms);
}

/* Nodes met looking for key: root down to where it is or would be. */
static void
search_path(struct memstore *ms, const struct cid *root, const char *key,
    struct memstore *out)
{
	struct mst_node	*n;
	const uint8_t	*p;
	size_t		 len, i;
	struct cid	 c = *root, next;

	for (;;) {
		assert_int_equal(memstore_peek(ms, &c, &p, &len), 0);
		assert_int_equal(memstore_put(out, &c, p, len), 0);
		assert_int_equal(mst_node_decode(p, len, &n, NULL), 0);
		for (i = 0; i < n->n && strcmp(n->e[i].key, key) < 0; i++)
			;
		next = i == 0 ? n->l.cid : n->e[i - 1].t.cid;
		if ((i < n->n && strcmp(n->e[i].key, key) == 0) ||
		    next.len == 0) {
			mst_node_free(n);
			return;
		}
		mst_node_free(n);
		c = next;
	}
}

/*
 * The covering proof of a key, present or absent, is the search path
 * to it and to its neighbours on either side, and nothing more.
 */
static void
test_covering_proof(void **state)
{
	struct memstore		*ms, *got, *want;
	struct blockstore	 bs;
	struct cid		 root;
	char			**keys, **sorted, probe[64];
	uint64_t		  seed = 31337;
	size_t			  n = 700, i, j;

	keys = gen_keys(n, &seed);
	assert_non_null(ms = memstore_new());
	memstore_blockstore(ms, &bs);
	build_valued(&bs, keys, n, &root);
	assert_non_null(sorted = calloc(n, sizeof(*sorted)));
	memcpy(sorted, keys, n * sizeof(*keys));
	qsort(sorted, n, sizeof(*sorted), strp_cmp);
	for (i = 0; i < n; i++) {
		for (j = 0; j < 2; j++) {
			const char	*k = sorted[i];

			if (j == 1) {	/* absent: just after sorted[i] */
				snprintf(probe, sizeof(probe), "%s0", k);
				k = probe;
			}
			assert_non_null(got = memstore_new());
			assert_non_null(want = memstore_new());
			assert_int_equal(mst_covering_proof(&bs, &root, k,
			    strlen(k), got), 0);
			search_path(ms, &root, k, want);
			if (i > 0 && j == 0)
				search_path(ms, &root, sorted[i - 1], want);
			if (j == 1)
				search_path(ms, &root, sorted[i], want);
			if (i + 1 < n)
				search_path(ms, &root, sorted[i + 1], want);
			assert_set_equal(got, want);
			memstore_free(got);
			memstore_free(want);
		}
	}
	free(sorted);
	free_keys(keys, n);
	memstore_free(ms);
}

/* Each commit's reports against the node sets, over random changes. */
static void
test_commit_reports(void **state)
{
	struct memstore		*ms;
	struct blockstore	 bs;
	struct blocks_seen	 seen;
	struct mst_tx		*tx;
	struct cid		 root, prev, v;
	char			**keys;
	uint64_t		  seed = 7;
	size_t			  i, k, n = 600;

	keys = gen_keys(n, &seed);
	assert_non_null(ms = memstore_new());
	memstore_blockstore(ms, &bs);
	build_valued(&bs, keys, n / 2, &root);
	for (i = 0; i < 40; i++) {
		prev = root;
		seen.fresh = memstore_new();
		seen.removed = memstore_new();
		assert_non_null(tx = mst_tx_open(&bs, &root));
		for (k = 0; k < 1 + i % 5; k++) {
			const char *key = keys[rnd(&seed) % n];

			value_cid(&v, (unsigned int)rnd(&seed));
			if (rnd(&seed) % 3 == 0)
				assert_int_not_equal(mst_tx_del(tx, key,
				    strlen(key)), -1);
			else
				assert_int_equal(mst_tx_put(tx, key,
				    strlen(key), &v), 0);
		}
		assert_int_equal(mst_tx_commit(tx, &root, on_block, &seen), 0);
		mst_tx_free(tx);
		check_node_reports(ms, &prev, &root, &seen);
		memstore_free(seen.fresh);
		memstore_free(seen.removed);
	}
	free_keys(keys, n);
	memstore_free(ms);
}

static int
depth_of(struct memstore *ms, const struct cid *root)
{
	struct mst_node	*n;
	const uint8_t	*p;
	size_t		 len;
	int		 d;

	assert_int_equal(memstore_peek(ms, root, &p, &len), 0);
	assert_int_equal(mst_node_decode(p, len, &n, NULL), 0);
	d = n->layer + 1;
	mst_node_free(n);
	return d;
}

static int
count_ops(void *arg, const char *key, size_t klen, const struct cid *old,
    const struct cid *new)
{
	(*(int *)arg)++;
	return 0;
}

/* A change reads and writes only the nodes along its path. */
static void
test_change_cost(void **state)
{
	struct counting		 cs;
	struct blockstore	 bs;
	struct mst_tx		*tx;
	struct cid		 root, v, got, before;
	char			**keys;
	uint64_t		  seed = 99;
	size_t			  n = 10000, i, depth;
	int			  ops = 0;

	keys = gen_keys(n, &seed);
	counting_init(&cs, &bs);
	build_valued(&bs, keys, n, &root);
	depth = (size_t)depth_of(cs.ms, &root);
	assert_true(depth >= 5 && depth <= 12);
	for (i = 0; i < 50; i++) {
		const char *key = keys[rnd(&seed) % n];

		/* update */
		cs.gets = cs.puts = 0;
		assert_non_null(tx = mst_tx_open(&bs, &root));
		value_cid(&v, (unsigned int)i);
		assert_int_equal(mst_tx_put(tx, key, strlen(key), &v), 0);
		assert_int_equal(mst_tx_commit(tx, &root, NULL, NULL), 0);
		assert_true(cs.gets <= depth);
		assert_int_equal(mst_tx_loads(tx), cs.gets);
		assert_true(cs.puts <= depth);
		mst_tx_free(tx);
		assert_int_equal(mst_get(&bs, &root, key, strlen(key), &got),
		    0);
		assert_true(cid_equal(&got, &v));

		/* delete, which may merge the neighbours' paths */
		cs.gets = cs.puts = 0;
		assert_non_null(tx = mst_tx_open(&bs, &root));
		assert_int_equal(mst_tx_del(tx, key, strlen(key)), 0);
		assert_int_equal(mst_tx_commit(tx, &root, NULL, NULL), 0);
		assert_true(cs.gets <= 3 * depth);
		assert_true(cs.puts <= 2 * depth);
		mst_tx_free(tx);

		/* insert, which may split a path */
		cs.gets = cs.puts = 0;
		assert_non_null(tx = mst_tx_open(&bs, &root));
		assert_int_equal(mst_tx_put(tx, key, strlen(key), &v), 0);
		assert_int_equal(mst_tx_commit(tx, &root, NULL, NULL), 0);
		assert_true(cs.gets <= 2 * depth);
		assert_true(cs.puts <= 3 * depth);
		mst_tx_free(tx);
	}
	/* A diff of one change reads about two paths, not the tree. */
	before = root;
	assert_non_null(tx = mst_tx_open(&bs, &root));
	value_cid(&v, 123456);
	assert_int_equal(mst_tx_put(tx, keys[5], strlen(keys[5]), &v), 0);
	assert_int_equal(mst_tx_commit(tx, &root, NULL, NULL), 0);
	mst_tx_free(tx);
	cs.gets = 0;
	assert_int_equal(mst_diff(&bs, &before, &root, count_ops, &ops), 0);
	assert_int_equal(ops, 1);
	assert_true(cs.gets <= 2 * depth);
	free_keys(keys, n);
	memstore_free(cs.ms);
}

struct op {
	char		*key;
	int		 has_old, has_new;
	struct cid	 old, new;
};

struct oplist {
	struct op	 v[4096];
	size_t		 n;
};

static int
diff_cb(void *arg, const char *key, size_t klen, const struct cid *old,
    const struct cid *new)
{
	struct oplist	*ol = arg;
	struct op	*o;

	assert_true(ol->n < 4096);
	o = &ol->v[ol->n++];
	assert_non_null(o->key = strndup(key, klen));
	if ((o->has_old = old != NULL))
		o->old = *old;
	if ((o->has_new = new != NULL))
		o->new = *new;
	assert_true(old != NULL || new != NULL);
	return 0;
}

struct kv {
	char		**k;
	struct cid	 *v;
	size_t		  n;
};

static int
collect_kv(void *arg, const char *key, size_t klen, const struct cid *val)
{
	struct kv	*kv = arg;

	kv->k[kv->n] = strndup(key, klen);
	kv->v[kv->n++] = *val;
	return 0;
}

/* The ops a diff must give, from two full listings. */
static void
naive_diff(struct kv *a, struct kv *b, struct oplist *ol)
{
	size_t	i = 0, j = 0;
	int	c;

	while (i < a->n || j < b->n) {
		if (i == a->n)
			c = 1;
		else if (j == b->n)
			c = -1;
		else
			c = strcmp(a->k[i], b->k[j]);
		if (c < 0) {
			diff_cb(ol, a->k[i], strlen(a->k[i]), &a->v[i], NULL);
			i++;
		} else if (c > 0) {
			diff_cb(ol, b->k[j], strlen(b->k[j]), NULL, &b->v[j]);
			j++;
		} else {
			if (!cid_equal(&a->v[i], &b->v[j]))
				diff_cb(ol, a->k[i], strlen(a->k[i]), &a->v[i],
				    &b->v[j]);
			i++;
			j++;
		}
	}
}

static void
listing(const struct blockstore *bs, const struct cid *root, struct kv *kv,
    size_t max)
{
	assert_non_null(kv->k = calloc(max, sizeof(char *)));
	assert_non_null(kv->v = calloc(max, sizeof(struct cid)));
	kv->n = 0;
	assert_int_equal(mst_walk(bs, root, collect_kv, kv), 0);
}

static void
kv_free(struct kv *kv)
{
	size_t	i;

	for (i = 0; i < kv->n; i++)
		free(kv->k[i]);
	free(kv->k);
	free(kv->v);
}

static void
oplist_clear(struct oplist *ol)
{
	size_t	i;

	for (i = 0; i < ol->n; i++)
		free(ol->v[i].key);
	ol->n = 0;
}

static void
test_diff(void **state)
{
	struct memstore		*ms;
	struct blockstore	 bs;
	struct mst_tx		*tx;
	struct cid		 a, b, v;
	struct kv		 la, lb;
	struct oplist		*got, *want;
	char			**keys;
	uint64_t		  seed = 1234;
	size_t			  n = 1500, i, k, nops;

	keys = gen_keys(n, &seed);
	assert_non_null(ms = memstore_new());
	memstore_blockstore(ms, &bs);
	assert_non_null(got = calloc(1, sizeof(*got)));
	assert_non_null(want = calloc(1, sizeof(*want)));
	build_valued(&bs, keys, n / 2, &a);
	for (i = 0; i < 12; i++) {
		assert_non_null(tx = mst_tx_open(&bs, &a));
		nops = i < 6 ? 1 + i : 50 * i;
		for (k = 0; k < nops; k++) {
			const char *key = keys[rnd(&seed) % n];

			value_cid(&v, (unsigned int)rnd(&seed));
			if (rnd(&seed) % 2)
				assert_int_not_equal(mst_tx_del(tx, key,
				    strlen(key)), -1);
			else
				assert_int_equal(mst_tx_put(tx, key,
				    strlen(key), &v), 0);
		}
		assert_int_equal(mst_tx_commit(tx, &b, NULL, NULL), 0);
		mst_tx_free(tx);
		listing(&bs, &a, &la, n);
		listing(&bs, &b, &lb, n);
		naive_diff(&la, &lb, want);
		assert_int_equal(mst_diff(&bs, &a, &b, diff_cb, got), 0);
		assert_int_equal(got->n, want->n);
		for (k = 0; k < got->n; k++) {
			assert_string_equal(got->v[k].key, want->v[k].key);
			assert_int_equal(got->v[k].has_old, want->v[k].has_old);
			assert_int_equal(got->v[k].has_new, want->v[k].has_new);
			if (got->v[k].has_old)
				assert_true(cid_equal(&got->v[k].old,
				    &want->v[k].old));
			if (got->v[k].has_new)
				assert_true(cid_equal(&got->v[k].new,
				    &want->v[k].new));
		}
		oplist_clear(got);
		/* Reversed, and from and to the empty tree. */
		assert_int_equal(mst_diff(&bs, &b, &a, diff_cb, got), 0);
		assert_int_equal(got->n, want->n);
		oplist_clear(got);
		assert_int_equal(mst_diff(&bs, NULL, &b, diff_cb, got), 0);
		assert_int_equal(got->n, lb.n);
		oplist_clear(got);
		assert_int_equal(mst_diff(&bs, &a, NULL, diff_cb, got), 0);
		assert_int_equal(got->n, la.n);
		oplist_clear(got);
		assert_int_equal(mst_diff(&bs, &a, &a, diff_cb, got), 0);
		assert_int_equal(got->n, 0);
		oplist_clear(want);
		kv_free(&la);
		kv_free(&lb);
		a = b;
	}
	free(got);
	free(want);
	free_keys(keys, n);
	memstore_free(ms);
}

static int
stop_at_three(void *arg, const char *key, size_t klen, const struct cid *v)
{
	int	*n = arg;

	return ++*n == 3 ? 42 : 0;
}

static void
test_walk_stop_and_missing(void **state)
{
	struct memstore		*ms, *partial;
	struct blockstore	 bs, pbs;
	struct cid		 root, v;
	char			**keys;
	uint64_t		  seed = 5;
	int			  n = 0;

	keys = gen_keys(300, &seed);
	assert_non_null(ms = memstore_new());
	memstore_blockstore(ms, &bs);
	build_valued(&bs, keys, 300, &root);
	assert_int_equal(mst_walk(&bs, &root, stop_at_three, &n), 42);
	assert_int_equal(n, 3);

	/* Only the root: reads below it fail, they never crash. */
	assert_non_null(partial = memstore_new());
	memstore_blockstore(partial, &pbs);
	{
		const uint8_t	*p;
		size_t		 len;

		assert_int_equal(memstore_peek(ms, &root, &p, &len), 0);
		assert_int_equal(memstore_put(partial, &root, p, len), 0);
	}
	n = 0;
	assert_int_equal(mst_walk(&pbs, &root, stop_at_three, &n), -1);
	assert_int_equal(mst_get(&pbs, &root, keys[0], strlen(keys[0]), &v),
	    -1);
	cid_of_bytes(&v, CID_CODEC_DAGCBOR, "absent", 6);
	assert_null(mst_tx_open(&pbs, &v));
	assert_int_equal(mst_get(&pbs, &v, "a/b", 3, &v), -1);
	memstore_free(partial);
	free_keys(keys, 300);
	memstore_free(ms);
}

/*
 * A store with a view and no get (the import's over its CAR): each
 * node is read once, without a copy, and the walk lists what the
 * copying store's does; a node the view lacks fails the walk.
 */
struct viewonly {
	struct memstore	*ms;
	size_t		 views;
};

static int
vo_get(void *arg, const struct cid *c, uint8_t **p, size_t *len)
{
	fail_msg("get called on a store with a view");
	return -1;
}

static int
vo_view(void *arg, const struct cid *c, const uint8_t **p, size_t *len)
{
	struct viewonly	*vo = arg;

	vo->views++;
	return memstore_peek(vo->ms, c, p, len) == 0 ? 0 : 1;
}

static void
test_walk_view(void **state)
{
	struct viewonly		 vo;
	struct memstore		*ms;
	struct blockstore	 bs, vbs;
	struct kv		 a, b;
	struct cid		 root;
	char			**keys;
	const uint8_t		 *v;
	uint8_t			 *p;
	uint64_t		  seed = 17;
	size_t			  i, n = 3000, len, vlen;

	keys = gen_keys(n, &seed);
	assert_non_null(ms = memstore_new());
	memstore_blockstore(ms, &bs);
	build_valued(&bs, keys, n, &root);
	listing(&bs, &root, &a, n);
	vo.ms = ms;
	vo.views = 0;
	vbs.get = vo_get;
	vbs.put = NULL;
	vbs.view = vo_view;
	vbs.arg = &vo;
	listing(&vbs, &root, &b, n);
	assert_int_equal(a.n, n);
	assert_int_equal(b.n, n);
	for (i = 0; i < n; i++) {
		assert_string_equal(a.k[i], b.k[i]);
		assert_true(cid_equal(&a.v[i], &b.v[i]));
	}
	assert_int_equal(vo.views, memstore_count(ms));
	kv_free(&a);
	kv_free(&b);

	/* With no get, blockstore_get hands out a copy of the view. */
	vbs.get = NULL;
	assert_int_equal(blockstore_get(&vbs, &root, &p, &len), 0);
	assert_int_equal(memstore_peek(ms, &root, &v, &vlen), 0);
	assert_int_equal(len, vlen);
	assert_memory_equal(p, v, len);
	assert_ptr_not_equal(p, v);
	free(p);
	vbs.get = vo_get;

	/* Without the root: the view says not found, the walk fails. */
	assert_non_null(vo.ms = memstore_new());
	assert_int_equal(mst_walk(&vbs, &root, NULL, NULL), -1);
	memstore_free(vo.ms);
	free_keys(keys, n);
	memstore_free(ms);
}

/* Encodes a hand-made node value and tries to decode it. */
static int
decode_value(struct dm *m)
{
	struct mst_node	*n;
	uint8_t		*p;
	size_t		 len;
	const char	*err = NULL;
	int		 rc;

	assert_non_null(p = dm_cbor_encode_mem(m, &len));
	dm_free(m);
	rc = mst_node_decode(p, len, &n, &err);
	if (rc == 0)
		mst_node_free(n);
	else
		assert_non_null(err);
	free(p);
	return rc;
}

static struct dm *
entry_value(const char *k, int64_t p, const struct cid *v, int tnull)
{
	struct dm	*e = dm_map();

	dm_map_set(e, "k", dm_bytes(k, strlen(k)));
	dm_map_set(e, "p", dm_int(p));
	dm_map_set(e, "t", tnull ? dm_null() : dm_link(v));
	dm_map_set(e, "v", dm_link(v));
	return e;
}

static struct dm *
node_value2(struct dm *e0, struct dm *e1)
{
	struct dm	*m = dm_map(), *a = dm_array();

	if (e0 != NULL)
		dm_array_push(a, e0);
	if (e1 != NULL)
		dm_array_push(a, e1);
	dm_map_set(m, "e", a);
	dm_map_set(m, "l", dm_null());
	return m;
}

static void
test_node_decode(void **state)
{
	struct cid	 v;
	struct dm	*m;
	/* height 0 keys, from the spec's two-entry example */
	const char	*k1 = "app.bsky.feed.post/3jzfcijpj2z22";

	value_cid(&v, 1);
	assert_int_equal(decode_value(node_value2(entry_value(k1, 0, &v, 1),
	    entry_value("5", 31, &v, 1))), 0);
	/* prefix not maximal */
	assert_int_equal(decode_value(node_value2(entry_value(k1, 0, &v, 1),
	    entry_value("25", 30, &v, 1))), -1);
	/* prefix past the previous key */
	assert_int_equal(decode_value(node_value2(entry_value(k1, 0, &v, 1),
	    entry_value("5", 40, &v, 1))), -1);
	/* first entry with a prefix */
	assert_int_equal(decode_value(node_value2(entry_value(k1, 3, &v, 1),
	    NULL)), -1);
	/* out of order, duplicate */
	assert_int_equal(decode_value(node_value2(entry_value(k1, 0, &v, 1),
	    entry_value("1", 31, &v, 1))), -1);
	assert_int_equal(decode_value(node_value2(entry_value(k1, 0, &v, 1),
	    entry_value("", 32, &v, 1))), -1);
	/* keys of two layers in one node (2z2b has height 1) */
	assert_int_equal(decode_value(node_value2(entry_value(
	    "app.bsky.feed.post/3jzfcijpj2z2a", 0, &v, 1),
	    entry_value("b", 31, &v, 1))), -1);
	/* invalid key */
	assert_int_equal(decode_value(node_value2(entry_value("nokey", 0, &v,
	    1), NULL)), -1);
	/* negative prefix, wrong types, extra fields */
	assert_int_equal(decode_value(node_value2(entry_value(k1, -1, &v, 1),
	    NULL)), -1);
	m = entry_value(k1, 0, &v, 1);
	dm_map_set(m, "k", dm_str(k1));
	assert_int_equal(decode_value(node_value2(m, NULL)), -1);
	m = entry_value(k1, 0, &v, 1);
	dm_map_set(m, "x", dm_null());
	assert_int_equal(decode_value(node_value2(m, NULL)), -1);
	m = entry_value(k1, 0, &v, 1);
	dm_map_set(m, "v", dm_null());
	assert_int_equal(decode_value(node_value2(m, NULL)), -1);
	m = node_value2(NULL, NULL);
	dm_map_set(m, "l", dm_int(1));
	assert_int_equal(decode_value(m), -1);
	m = node_value2(NULL, NULL);
	dm_map_del(m, "l");
	assert_int_equal(decode_value(m), -1);
	m = node_value2(NULL, NULL);
	dm_map_set(m, "e", dm_map());
	assert_int_equal(decode_value(m), -1);
	assert_int_equal(decode_value(dm_array()), -1);
	assert_int_equal(mst_node_decode((const uint8_t *)"\xa2", 1,
	    &(struct mst_node *){ NULL }, NULL), -1);
}

/* An empty node may only be a root; subtrees must be one layer down. */
static void
test_bad_shapes(void **state)
{
	struct memstore		*ms;
	struct blockstore	 bs;
	struct mst_node		*n;
	struct dm_buf		 b = { NULL, 0, 0 };
	struct cid		 empty, mid, top, v;
	int			 dummy = 0;

	assert_non_null(ms = memstore_new());
	memstore_blockstore(ms, &bs);
	/* {e: [], l: null} as a subtree of a root over it: untrimmed */
	assert_non_null(n = calloc(1, sizeof(*n)));
	assert_int_equal(mst_node_encode(n, &b), 0);
	cid_of_bytes(&empty, CID_CODEC_DAGCBOR, b.p, b.len);
	memstore_put(ms, &empty, b.p, b.len);
	n->l.cid = empty;
	b.len = 0;
	assert_int_equal(mst_node_encode(n, &b), 0);
	cid_of_bytes(&mid, CID_CODEC_DAGCBOR, b.p, b.len);
	memstore_put(ms, &mid, b.p, b.len);
	assert_int_equal(mst_walk(&bs, &mid, stop_at_three, &dummy), -1);
	assert_int_equal(mst_get(&bs, &mid, "a/b", 3, &v), -1);
	assert_null(mst_tx_open(&bs, &mid));

	/* A layer 0 key over a subtree: nothing is below layer 0. */
	assert_non_null(n->e = calloc(1, sizeof(*n->e)));
	n->n = n->cap = 1;
	assert_non_null(n->e[0].key = strdup("A0/374913"));
	n->e[0].klen = strlen(n->e[0].key);
	assert_int_equal(mst_key_height(n->e[0].key, n->e[0].klen), 0);
	value_cid(&n->e[0].val, 1);
	b.len = 0;
	assert_int_equal(mst_node_encode(n, &b), 0);
	cid_of_bytes(&top, CID_CODEC_DAGCBOR, b.p, b.len);
	memstore_put(ms, &top, b.p, b.len);
	assert_int_equal(mst_walk(&bs, &top, stop_at_three, &dummy), -1);
	mst_node_free(n);
	dm_buf_free(&b);
	memstore_free(ms);
}

static void
test_memstore(void **state)
{
	struct memstore		*ms;
	struct blockstore	 bs;
	struct cid		 c;
	uint8_t			*p;
	size_t			 len, i;
	char			 buf[32];

	assert_non_null(ms = memstore_new());
	memstore_blockstore(ms, &bs);
	for (i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "block %zu", i);
		cid_of_bytes(&c, CID_CODEC_RAW, buf, strlen(buf));
		assert_int_equal(bs.put(bs.arg, &c, (uint8_t *)buf,
		    strlen(buf)), 0);
		assert_int_equal(memstore_put(ms, &c, (uint8_t *)buf,
		    strlen(buf)), 0);
	}
	assert_int_equal(memstore_count(ms), 5000);
	for (i = 0; i < 5000; i += 111) {
		snprintf(buf, sizeof(buf), "block %zu", i);
		cid_of_bytes(&c, CID_CODEC_RAW, buf, strlen(buf));
		assert_int_equal(bs.get(bs.arg, &c, &p, &len), 0);
		assert_int_equal(len, strlen(buf));
		assert_memory_equal(p, buf, len);
		free(p);
	}
	cid_of_bytes(&c, CID_CODEC_RAW, "absent", 6);
	assert_int_equal(bs.get(bs.arg, &c, &p, &len), 1);
	assert_false(memstore_has(ms, &c));
	memstore_free(ms);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_heights),
		cmocka_unit_test(test_common_prefix),
		cmocka_unit_test(test_key_valid),
		cmocka_unit_test(test_empty_tree),
		cmocka_unit_test(test_spec_examples),
		cmocka_unit_test(test_commit_proof_fixtures),
		cmocka_unit_test(test_example_keys),
		cmocka_unit_test(test_random_orders),
		cmocka_unit_test(test_delete_top),
		cmocka_unit_test(test_covering_proof),
		cmocka_unit_test(test_commit_reports),
		cmocka_unit_test(test_change_cost),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_walk_stop_and_missing),
		cmocka_unit_test(test_walk_view),
		cmocka_unit_test(test_node_decode),
		cmocka_unit_test(test_bad_shapes),
		cmocka_unit_test(test_memstore),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
