/*
 * The block store vtable helpers and the in-memory store: an array of
 * blocks in insertion order with an open-addressed index over it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blockstore.h"

struct mblock {
	struct cid	 cid;
	uint8_t		*data;
	size_t		 len;
};

struct memstore {
	struct mblock	*b;
	size_t		 n, cap;
	uint32_t	*slot;		/* index + 1, 0 is empty */
	size_t		 nslot;		/* a power of two */
	size_t		 bytes;
};

int
blockstore_get(const struct blockstore *bs, const struct cid *c,
    uint8_t **data, size_t *len)
{
	const uint8_t	*v;
	int		 rc;

	if (bs->get != NULL)
		return bs->get(bs->arg, c, data, len);
	/* A store with a view alone: a copy for the caller to own. */
	if ((rc = bs->view(bs->arg, c, &v, len)) != 0)
		return rc;
	if ((*data = malloc(*len > 0 ? *len : 1)) == NULL)
		return -1;
	memcpy(*data, v, *len);
	return 0;
}

int
blockstore_put(const struct blockstore *bs, const struct cid *c,
    const uint8_t *data, size_t len)
{
	return bs->put(bs->arg, c, data, len);
}

/* CIDs end in a hash digest already; fold its last bytes. */
static uint64_t
cid_hash(const struct cid *c)
{
	uint64_t	h = 1469598103934665603ULL;
	size_t		i;

	if (c->len >= 8) {
		memcpy(&h, c->b + c->len - 8, 8);
		return h ^ (h >> 29);
	}
	for (i = 0; i < c->len; i++)
		h = (h ^ c->b[i]) * 1099511628211ULL;
	return h;
}

static size_t
ms_find(const struct memstore *ms, const struct cid *c, int *found)
{
	size_t		i, mask = ms->nslot - 1;
	uint32_t	s;

	*found = 0;
	for (i = cid_hash(c) & mask;; i = (i + 1) & mask) {
		if ((s = ms->slot[i]) == 0)
			return i;
		if (cid_equal(&ms->b[s - 1].cid, c)) {
			*found = 1;
			return i;
		}
	}
}

static int
ms_grow(struct memstore *ms)
{
	uint32_t	*old = ms->slot;
	size_t		 i, oldn = ms->nslot, j;
	int		 found;

	if ((ms->slot = calloc(oldn * 2, sizeof(*ms->slot))) == NULL) {
		ms->slot = old;
		return -1;
	}
	ms->nslot = oldn * 2;
	for (i = 0; i < oldn; i++) {
		if (old[i] == 0)
			continue;
		j = ms_find(ms, &ms->b[old[i] - 1].cid, &found);
		ms->slot[j] = old[i];
	}
	free(old);
	return 0;
}

struct memstore *
memstore_new(void)
{
	struct memstore	*ms;

	if ((ms = calloc(1, sizeof(*ms))) == NULL)
		return NULL;
	ms->nslot = 64;
	if ((ms->slot = calloc(ms->nslot, sizeof(*ms->slot))) == NULL) {
		free(ms);
		return NULL;
	}
	return ms;
}

void
memstore_free(struct memstore *ms)
{
	size_t	i;

	if (ms == NULL)
		return;
	for (i = 0; i < ms->n; i++)
		free(ms->b[i].data);
	free(ms->b);
	free(ms->slot);
	free(ms);
}

int
memstore_put(struct memstore *ms, const struct cid *c, const uint8_t *data,
    size_t len)
{
	struct mblock	*nb;
	size_t		 i, ncap;
	int		 found;

	i = ms_find(ms, c, &found);
	if (found)
		return 0;
	if (ms->n >= UINT32_MAX - 1)
		return -1;
	if ((ms->n + 1) * 4 > ms->nslot * 3) {
		if (ms_grow(ms) == -1)
			return -1;
		i = ms_find(ms, c, &found);
	}
	if (ms->n == ms->cap) {
		ncap = ms->cap ? ms->cap * 2 : 32;
		if ((nb = reallocarray(ms->b, ncap, sizeof(*nb))) == NULL)
			return -1;
		ms->b = nb;
		ms->cap = ncap;
	}
	nb = &ms->b[ms->n];
	if ((nb->data = malloc(len ? len : 1)) == NULL)
		return -1;
	if (len)
		memcpy(nb->data, data, len);
	nb->len = len;
	nb->cid = *c;
	ms->slot[i] = (uint32_t)++ms->n;
	ms->bytes += len;
	return 0;
}

int
memstore_peek(const struct memstore *ms, const struct cid *c,
    const uint8_t **data, size_t *len)
{
	size_t	i;
	int	found;

	i = ms_find(ms, c, &found);
	if (!found)
		return 1;
	*data = ms->b[ms->slot[i] - 1].data;
	*len = ms->b[ms->slot[i] - 1].len;
	return 0;
}

int
memstore_has(const struct memstore *ms, const struct cid *c)
{
	int	found;

	ms_find(ms, c, &found);
	return found;
}

size_t
memstore_count(const struct memstore *ms)
{
	return ms->n;
}

size_t
memstore_bytes(const struct memstore *ms)
{
	return ms->bytes;
}

int
memstore_foreach(struct memstore *ms,
    int (*cb)(void *, const struct cid *, const uint8_t *, size_t), void *arg)
{
	size_t	i;
	int	rc;

	for (i = 0; i < ms->n; i++)
		if ((rc = cb(arg, &ms->b[i].cid, ms->b[i].data,
		    ms->b[i].len)) != 0)
			return rc;
	return 0;
}

static int
ms_vget(void *arg, const struct cid *c, uint8_t **data, size_t *len)
{
	const uint8_t	*p;
	size_t		 n;

	if (memstore_peek(arg, c, &p, &n) != 0)
		return 1;
	if ((*data = malloc(n ? n : 1)) == NULL)
		return -1;
	if (n)
		memcpy(*data, p, n);
	*len = n;
	return 0;
}

static int
ms_vview(void *arg, const struct cid *c, const uint8_t **data, size_t *len)
{
	return memstore_peek(arg, c, data, len) == 0 ? 0 : 1;
}

static int
ms_vput(void *arg, const struct cid *c, const uint8_t *data, size_t len)
{
	return memstore_put(arg, c, data, len);
}

void
memstore_blockstore(struct memstore *ms, struct blockstore *bs)
{
	bs->get = ms_vget;
	bs->put = ms_vput;
	bs->view = ms_vview;
	bs->arg = ms;
}
