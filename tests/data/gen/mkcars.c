/*
 * Writes the repository CAR files tests/regress/tools.sh reads.  Run by
 * hand when they need to change; the CARs it writes are committed, this
 * program is not built by the Makefile.  Signatures are deterministic
 * (RFC 6979 nonces), so running it again writes the same bytes.
 *
 *	make O=/tmp/gen /tmp/gen/obj/libcommon.a
 *	cc -Icommon -D_GNU_SOURCE $(pkg-config --cflags json-c libbsd-overlay) \
 *	    -o /tmp/gen/mkcars tests/data/gen/mkcars.c /tmp/gen/obj/libcommon.a \
 *	    $(pkg-config --libs libevent libcbor libsodium libsecp256k1 \
 *	    json-c libbsd-overlay libcrypto)
 *	/tmp/gen/mkcars tests/data
 *
 * The repository: did:plc:6adr3q2labdllanslzhqkqd3, three posts and two
 * likes, signed with the first k256 key of the interop fixture
 * crypto/w3c_didkey_K256.json (did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1
 * ZdCEJwekUDPQiYBme).  Every key is chosen to have MST height 0, so the
 * tree is one node.
 *
 *	good.car	the repository, blocks in the preferred order
 *	corrupt.car	one byte of the first record block changed
 *	truncated.car	cut inside the last block
 *	badsig.car	the same commit signed with the fixture's second key
 *	nocommit.car	the root is a record, not a commit
 *	norecord.car	the last record's block left out
 *	nonode.car	the MST node left out
 *	badmst.car	signed, but the node's keys are in reverse order
 */
#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "car.h"
#include "cbor.h"
#include "cid.h"
#include "crypto.h"
#include "dm.h"
#include "tid.h"

#define DID	"did:plc:6adr3q2labdllanslzhqkqd3"
#define REV	"3kxyzabcde222"
#define KEY1	"9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c"
#define KEY2	"f0f4df55a2b3ff13051ea814a8f24ad00f2e469af73c363ac7e9fb999a9072ed"
#define NREC	5

struct block {
	struct cid	 cid;
	uint8_t		*p;
	size_t		 len;
};

struct repo {
	char		 keys[NREC][64];
	struct block	 rec[NREC];
	struct block	 node;
	struct block	 commit;
};

static int
height(const char *key)
{
	uint8_t	h[32];
	int	z = 0, i;

	sha256(key, strlen(key), h);
	for (i = 0; i < 32 && h[i] == 0; i++)
		z += 8;
	if (i < 32)
		z += __builtin_clz(h[i]) - 24;
	return z / 2;
}

static void
block_of(struct block *b, const struct dm *v)
{
	if ((b->p = dm_cbor_encode_mem(v, &b->len)) == NULL)
		errx(1, "encode");
	cid_of_bytes(&b->cid, CID_CODEC_DAGCBOR, b->p, b->len);
}

/* A fresh height-0 key in the collection, after *t. */
static void
next_key(char *key, size_t sz, const char *coll, uint64_t *t)
{
	char	tid[TID_BUFSZ];

	do {
		tid_encode(tid_make(1704067200000000ULL + (*t)++ * 1000, 7),
		    tid);
		snprintf(key, sz, "%s/%s", coll, tid);
	} while (height(key) != 0);
}

static struct dm *
make_record(int i, const struct repo *r)
{
	struct dm	*v, *subj;
	char		 s[128];

	v = dm_map();
	snprintf(s, sizeof(s), "2024-01-01T00:00:0%dZ", i);
	dm_map_set(v, "createdAt", dm_str(s));
	if (i < 3) {
		dm_map_set(v, "$type", dm_str("app.bsky.feed.post"));
		snprintf(s, sizeof(s), "hello, world %d", i);
		dm_map_set(v, "text", dm_str(s));
		return v;
	}
	dm_map_set(v, "$type", dm_str("app.bsky.feed.like"));
	subj = dm_map();
	snprintf(s, sizeof(s), "at://%s/%s", DID, r->keys[i - 3]);
	dm_map_set(subj, "uri", dm_str(s));
	dm_map_set(subj, "cid", dm_link(&r->rec[i - 3].cid));
	dm_map_set(v, "subject", subj);
	return v;
}

static int
keycmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static size_t
common_prefix(const char *a, const char *b)
{
	size_t	n = 0;

	while (a[n] != '\0' && a[n] == b[n])
		n++;
	return n;
}

/* One MST node holding every key (all of height 0), sorted or not. */
static void
make_node(struct repo *r, int unsorted)
{
	struct dm	*node, *ents, *e;
	const char	*prev = "";
	size_t		 i, p, order[NREC], j;

	for (i = 0; i < NREC; i++)
		order[i] = i;
	/* Sort indexes by key: a handful of items, insertion sort. */
	for (i = 1; i < NREC; i++)
		for (j = i; j > 0 && keycmp(r->keys[order[j - 1]],
		    r->keys[order[j]]) * (unsorted ? -1 : 1) > 0; j--) {
			p = order[j];
			order[j] = order[j - 1];
			order[j - 1] = p;
		}
	ents = dm_array();
	for (i = 0; i < NREC; i++) {
		const char *k = r->keys[order[i]];

		p = common_prefix(prev, k);
		e = dm_map();
		dm_map_set(e, "k", dm_bytes(k + p, strlen(k) - p));
		dm_map_set(e, "p", dm_int((int64_t)p));
		dm_map_set(e, "t", dm_null());
		dm_map_set(e, "v", dm_link(&r->rec[order[i]].cid));
		dm_array_push(ents, e);
		prev = k;
	}
	node = dm_map();
	dm_map_set(node, "e", ents);
	dm_map_set(node, "l", dm_null());
	block_of(&r->node, node);
	dm_free(node);
}

static void
make_commit(struct repo *r, const char *hexkey)
{
	struct privkey	*k;
	struct dm	*c;
	uint8_t		 raw[32], sig[SIG_LEN], *p;
	size_t		 len;

	if (sodium_hex2bin(raw, sizeof(raw), hexkey, 64, NULL, NULL,
	    NULL) != 0 || (k = privkey_load(KEY_K256, raw, 32)) == NULL)
		errx(1, "key");
	c = dm_map();
	dm_map_set(c, "did", dm_str(DID));
	dm_map_set(c, "version", dm_int(3));
	dm_map_set(c, "data", dm_link(&r->node.cid));
	dm_map_set(c, "rev", dm_str(REV));
	dm_map_set(c, "prev", dm_null());
	if ((p = dm_cbor_encode_mem(c, &len)) == NULL ||
	    privkey_sign(k, p, len, sig) == -1)
		errx(1, "sign");
	free(p);
	dm_map_set(c, "sig", dm_bytes(sig, sizeof(sig)));
	free(r->commit.p);
	block_of(&r->commit, c);
	dm_free(c);
	privkey_free(k);
}

static void
make_repo(struct repo *r)
{
	struct dm	*v;
	uint64_t	 t = 0;
	int		 i;

	for (i = 0; i < NREC; i++) {
		next_key(r->keys[i], sizeof(r->keys[i]), i < 3 ?
		    "app.bsky.feed.post" : "app.bsky.feed.like", &t);
		v = make_record(i, r);
		block_of(&r->rec[i], v);
		dm_free(v);
	}
	make_node(r, 0);
	make_commit(r, KEY1);
}

#define SKIP_NONE	-1
#define SKIP_NODE	NREC

/*
 * The whole CAR in a buffer, less one block if skip says so; *recoff is
 * where record 0's data starts.
 */
static void
write_car(struct dm_buf *b, const struct repo *r, const struct cid *root,
    size_t *recoff, int skip)
{
	int	i;

	b->len = 0;
	if (car_write_header(car_sink_dmbuf, b, root, 1) == -1 ||
	    car_write_block(car_sink_dmbuf, b, &r->commit.cid, r->commit.p,
	    r->commit.len) == -1)
		errx(1, "write");
	if (skip != SKIP_NODE && car_write_block(car_sink_dmbuf, b,
	    &r->node.cid, r->node.p, r->node.len) == -1)
		errx(1, "write");
	for (i = 0; i < NREC; i++) {
		if (i == skip)
			continue;
		if (car_write_block(car_sink_dmbuf, b, &r->rec[i].cid,
		    r->rec[i].p, r->rec[i].len) == -1)
			errx(1, "write");
		if (i == 0 && recoff != NULL)
			*recoff = b->len - r->rec[i].len;
	}
}

static void
save(const char *dir, const char *name, const void *p, size_t len)
{
	char	 path[1024];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		err(1, "%s", path);
	if (fwrite(p, 1, len, f) != len || fclose(f) == EOF)
		err(1, "%s", path);
}

int
main(int argc, char *argv[])
{
	struct repo	 r;
	struct dm_buf	 b = { NULL, 0, 0 };
	size_t		 off;

	if (argc != 2)
		errx(1, "usage: mkcars dir");
	if (crypto_init() == -1)
		errx(1, "crypto_init");
	memset(&r, 0, sizeof(r));
	make_repo(&r);
	write_car(&b, &r, &r.commit.cid, NULL, NREC - 1);
	save(argv[1], "norecord.car", b.p, b.len);
	write_car(&b, &r, &r.commit.cid, NULL, SKIP_NODE);
	save(argv[1], "nonode.car", b.p, b.len);
	write_car(&b, &r, &r.commit.cid, &off, SKIP_NONE);
	save(argv[1], "good.car", b.p, b.len);
	save(argv[1], "truncated.car", b.p, b.len - r.rec[NREC - 1].len / 2);
	b.p[off + 5] ^= 0x01;
	save(argv[1], "corrupt.car", b.p, b.len);
	write_car(&b, &r, &r.rec[0].cid, NULL, SKIP_NONE);
	save(argv[1], "nocommit.car", b.p, b.len);
	make_commit(&r, KEY2);
	write_car(&b, &r, &r.commit.cid, NULL, SKIP_NONE);
	save(argv[1], "badsig.car", b.p, b.len);
	free(r.node.p);
	make_node(&r, 1);
	make_commit(&r, KEY1);
	write_car(&b, &r, &r.commit.cid, NULL, SKIP_NONE);
	save(argv[1], "badmst.car", b.p, b.len);
	dm_buf_free(&b);
	return 0;
}
