/*
 * Reading a CAR file for pdsctl's offline tools (inspect, unpack, the
 * DID lookup of import): streams it through the CAR reader, keeps the
 * root block and, when asked, every block.  A fault exits with one line
 * that names the file, the block and its byte offset.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blockstore.h"
#include "car.h"
#include "cid.h"
#include "commit.h"
#include "encoding.h"
#include "pdsctl.h"

#define CAR_LOAD_CHUNK	(256 * 1024)

static int
on_header(void *arg, const struct cid *roots, size_t n)
{
	struct car_load	*l = arg;

	memcpy(l->roots, roots, n * sizeof(*roots));
	l->nroots = n;
	l->have_header = 1;
	return 0;
}

static int
on_block(void *arg, const struct cid *c, const uint8_t *p, size_t len)
{
	struct car_load	*l = arg;
	uint8_t		 v[VARINT_MAXLEN];

	l->pos += varint_encode(c->len + len, v) + c->len + len;
	l->nblocks++;
	l->bytes += len;
	if (l->root == NULL && l->nroots > 0 &&
	    cid_equal(c, &l->roots[0])) {
		if ((l->root = malloc(len + 1)) == NULL)
			err(1, "%s", l->cmd);
		memcpy(l->root, p, len);
		l->rootlen = len;
	}
	if (l->store != NULL &&
	    memstore_bytes(l->store) + len > l->maxstore) {
		if (l->need_all)
			errx(1, "%s: %s: more than %zu bytes of blocks",
			    l->cmd, l->path, l->maxstore);
		memstore_free(l->store);
		l->store = NULL;	/* the caller copes without */
	}
	if (l->store != NULL && memstore_put(l->store, c, p, len) == -1)
		err(1, "%s", l->cmd);
	return 0;
}

/* The CID a section at pos claims, read again from the file. */
static const char *
section_cid(struct car_load *l, uint64_t pos)
{
	static char	 s[CID_STRSZ];
	uint8_t		 b[VARINT_MAXLEN + CID_MAXLEN];
	struct cid	 c;
	uint64_t	 seclen;
	size_t		 used;
	ssize_t		 n;
	int		 vl;

	n = pread(l->fd, b, sizeof(b), (off_t)pos);
	if (n <= 0 || (vl = varint_decode(b, (size_t)n, &seclen)) <= 0 ||
	    cid_from_bin(&c, b + vl, (size_t)n - (size_t)vl, &used, NULL) ==
	    -1)
		return NULL;
	cid_to_str(&c, s, sizeof(s));
	return s;
}

__dead static void
car_fault(struct car_load *l, const struct car_reader *r)
{
	const char	*cs;

	if (!l->have_header)
		errx(1, "%s: %s: %s (header at byte 0)", l->cmd, l->path,
		    car_reader_error(r));
	cs = section_cid(l, l->pos);
	errx(1, "%s: %s: %s: block %llu at byte %llu%s%s", l->cmd, l->path,
	    car_reader_error(r), (unsigned long long)l->nblocks,
	    (unsigned long long)l->pos, cs != NULL ? ", cid " : "",
	    cs != NULL ? cs : "");
}

/* The header's length is at the front: blocks start right after it. */
static void
note_header_len(struct car_load *l, const uint8_t *p, size_t n)
{
	uint64_t	hlen;
	int		vl;

	if ((vl = varint_decode(p, n, &hlen)) > 0)
		l->pos = (uint64_t)vl + hlen;
}

void
car_load(struct car_load *l)
{
	struct car_reader	*r;
	uint8_t			*buf;
	ssize_t			 n;
	int			 rc = 0;

	if ((l->fd = open(l->path, O_RDONLY | O_CLOEXEC)) == -1)
		err(1, "%s: %s", l->cmd, l->path);
	if ((r = car_reader_new(on_header, on_block, l)) == NULL ||
	    (buf = malloc(CAR_LOAD_CHUNK)) == NULL)
		err(1, "%s", l->cmd);
	while (rc == 0 && (n = read(l->fd, buf, CAR_LOAD_CHUNK)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			err(1, "%s: %s", l->cmd, l->path);
		if (l->size == 0)
			note_header_len(l, buf, (size_t)n);
		l->size += (uint64_t)n;
		rc = car_reader_feed(r, buf, (size_t)n);
	}
	if (rc == -1 || car_reader_end(r) == -1)
		car_fault(l, r);
	car_reader_free(r);
	free(buf);
}

/* Fills rc from the root block; returns NULL or why it is no commit. */
const char *
car_load_commit(const struct car_load *l, struct root_commit *rc)
{
	const char	*errstr;

	memset(rc, 0, sizeof(*rc));
	if (l->nroots == 0)
		return "the CAR has no root";
	rc->cid = l->roots[0];
	if (l->root == NULL)
		return "the root block is not in the CAR";
	if (commit_decode(l->root, l->rootlen, &rc->c, &errstr) == -1)
		return errstr;
	return NULL;
}

void
car_load_free(struct car_load *l)
{
	free(l->root);
	l->root = NULL;
	memstore_free(l->store);
	l->store = NULL;
	if (l->fd != -1)
		close(l->fd);
	l->fd = -1;
}
