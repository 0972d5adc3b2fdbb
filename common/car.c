/*
 * CAR v1 streaming reader and writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "car.h"
#include "cbor.h"
#include "cid.h"
#include "dm.h"
#include "encoding.h"

struct car_reader {
	car_header_fn	 hdr_cb;
	car_block_fn	 blk_cb;
	void		*arg;
	const char	*err;
	uint64_t	 off;		/* input bytes consumed */
	int		 have_header;
	int		 in_body;	/* reading a section, not its length */
	uint8_t		 vbuf[VARINT_MAXLEN];
	size_t		 vlen;
	size_t		 need;		/* section length */
	uint64_t	 sect;		/* where that section starts */
	uint64_t	 data;		/* where the current block's data does */
	uint8_t		*buf;		/* a section split across chunks */
	size_t		 have, cap;
};

static int
car_fail(struct car_reader *r, const char *msg)
{
	if (r->err == NULL)
		r->err = msg;
	return -1;
}

struct car_reader *
car_reader_new(car_header_fn hdr, car_block_fn blk, void *arg)
{
	struct car_reader	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->hdr_cb = hdr;
	r->blk_cb = blk;
	r->arg = arg;
	return r;
}

void
car_reader_free(struct car_reader *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r);
}

const char *
car_reader_error(const struct car_reader *r)
{
	return r->err != NULL ? r->err : "no error";
}

uint64_t
car_reader_offset(const struct car_reader *r)
{
	return r->off;
}

uint64_t
car_reader_block_offset(const struct car_reader *r)
{
	return r->data;
}

static int
car_header(struct car_reader *r, const uint8_t *p, size_t len)
{
	struct cid	 roots[CAR_MAXROOTS];
	struct dm	*h, *a, *v;
	const char	*err;
	int64_t		 version;
	size_t		 i, n;
	int		 rc;

	if (dm_cbor_decode(p, len, &h, &err) == -1)
		return car_fail(r, "bad CAR header: not DAG-CBOR");
	rc = -1;
	if (h->type != DM_MAP)
		car_fail(r, "bad CAR header: not a map");
	else if (dm_map_get_int(h, "version", &version) == -1 || version != 1)
		car_fail(r, "unsupported CAR version");
	else if ((a = dm_map_get(h, "roots")) == NULL || a->type != DM_ARRAY)
		car_fail(r, "bad CAR header: no roots");
	else if ((n = dm_len(a)) > CAR_MAXROOTS)
		car_fail(r, "too many CAR roots");
	else {
		for (i = 0; i < n; i++) {
			v = dm_array_get(a, i);
			if (v->type != DM_LINK)
				break;
			roots[i] = v->u.link;
		}
		if (i < n)
			car_fail(r, "bad CAR header: root is not a link");
		else if (r->hdr_cb != NULL && r->hdr_cb(r->arg, roots, n) == -1)
			car_fail(r, "stopped by header callback");
		else
			rc = 0;
	}
	dm_free(h);
	r->have_header = 1;
	return rc;
}

static int
car_block(struct car_reader *r, const uint8_t *p, size_t len)
{
	struct cid	 c;
	size_t		 used;
	const char	*err;

	if (cid_from_bin(&c, p, len, &used, &err) == -1)
		return car_fail(r, "bad CID in CAR block");
	if (!cid_is_blessed(&c))
		return car_fail(r, "CAR block CID is not CIDv1 sha2-256");
	if (!cid_verify(&c, p + used, len - used))
		return car_fail(r, "CAR block does not match its CID");
	r->data = r->sect + used;
	if (r->blk_cb != NULL && r->blk_cb(r->arg, &c, p + used,
	    len - used) == -1)
		return car_fail(r, "stopped by block callback");
	return 0;
}

static int
car_section(struct car_reader *r, const uint8_t *p, size_t len)
{
	r->in_body = 0;
	r->have = 0;
	if (!r->have_header)
		return car_header(r, p, len);
	return car_block(r, p, len);
}

/* Takes length bytes from p; returns the count used, or -1. */
static ssize_t
car_length(struct car_reader *r, const uint8_t *p, size_t n)
{
	uint64_t	len;
	size_t		i;
	int		rc;

	for (i = 0; i < n; i++) {
		r->vbuf[r->vlen++] = p[i];
		if (p[i] & 0x80) {
			if (r->vlen == VARINT_MAXLEN)
				return car_fail(r, "bad CAR section length");
			continue;
		}
		rc = varint_decode(r->vbuf, r->vlen, &len);
		r->vlen = 0;
		if (rc <= 0)
			return car_fail(r, "bad CAR section length");
		if (len == 0)
			return car_fail(r, "empty CAR section");
		if (!r->have_header && len > CAR_MAXHEADER)
			return car_fail(r, "CAR header too large");
		if (r->have_header && len > CAR_MAXBLOCK)
			return car_fail(r, "CAR block too large");
		r->need = (size_t)len;
		r->sect = r->off + i + 1;
		r->in_body = 1;
		return (ssize_t)(i + 1);
	}
	return (ssize_t)n;
}

/* Takes section bytes from p; returns the count used, or -1. */
static ssize_t
car_body(struct car_reader *r, const uint8_t *p, size_t n)
{
	size_t	 take;
	uint8_t	*nb;

	if (r->have == 0 && n >= r->need) {
		/* The common case: the whole section is in this chunk. */
		take = r->need;
		return car_section(r, p, take) == -1 ? -1 : (ssize_t)take;
	}
	if (r->cap < r->need) {
		if ((nb = realloc(r->buf, r->need)) == NULL)
			return car_fail(r, "out of memory");
		r->buf = nb;
		r->cap = r->need;
	}
	take = r->need - r->have;
	if (take > n)
		take = n;
	memcpy(r->buf + r->have, p, take);
	r->have += take;
	if (r->have == r->need && car_section(r, r->buf, r->need) == -1)
		return -1;
	return (ssize_t)take;
}

int
car_reader_feed(struct car_reader *r, const void *data, size_t n)
{
	const uint8_t	*p = data;
	ssize_t		 used;

	if (r->err != NULL)
		return -1;
	while (n > 0) {
		if (r->in_body)
			used = car_body(r, p, n);
		else
			used = car_length(r, p, n);
		if (used == -1)
			return -1;
		p += used;
		n -= (size_t)used;
		r->off += (uint64_t)used;
	}
	return 0;
}

int
car_reader_end(struct car_reader *r)
{
	if (r->err != NULL)
		return -1;
	if (r->in_body || r->vlen > 0)
		return car_fail(r, "truncated CAR");
	if (!r->have_header)
		return car_fail(r, "CAR has no header");
	return 0;
}

int
car_read_mem(const void *p, size_t len, car_header_fn hdr, car_block_fn blk,
    void *arg, const char **errstr)
{
	struct car_reader	*r;
	int			 rc;

	if ((r = car_reader_new(hdr, blk, arg)) == NULL) {
		*errstr = "out of memory";
		return -1;
	}
	rc = car_reader_feed(r, p, len);
	if (rc == 0)
		rc = car_reader_end(r);
	if (rc == -1)
		*errstr = r->err;
	car_reader_free(r);
	return rc;
}

int
car_read_fd(int fd, car_header_fn hdr, car_block_fn blk, void *arg,
    const char **errstr)
{
	struct car_reader	*r;
	uint8_t			*buf;
	ssize_t			 n;
	int			 rc = 0;

	r = car_reader_new(hdr, blk, arg);
	buf = malloc(256 * 1024);
	if (r == NULL || buf == NULL) {
		car_reader_free(r);
		free(buf);
		*errstr = "out of memory";
		return -1;
	}
	while (rc == 0 && (n = read(fd, buf, 256 * 1024)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			rc = car_fail(r, "read error");
		} else
			rc = car_reader_feed(r, buf, (size_t)n);
	}
	if (rc == 0)
		rc = car_reader_end(r);
	if (rc == -1)
		*errstr = r->err;
	free(buf);
	car_reader_free(r);
	return rc;
}

int
car_read_file(const char *path, car_header_fn hdr, car_block_fn blk,
    void *arg, const char **errstr)
{
	int	fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*errstr = "cannot open CAR file";
		return -1;
	}
	rc = car_read_fd(fd, hdr, blk, arg, errstr);
	close(fd);
	return rc;
}

/*
 * Writer.
 */

static int
car_write_len(car_write_fn fn, void *arg, uint64_t len)
{
	uint8_t	v[VARINT_MAXLEN];

	return fn(arg, v, varint_encode(len, v));
}

int
car_write_header(car_write_fn fn, void *arg, const struct cid *roots,
    size_t n)
{
	struct dm	*h, *a;
	struct dm_buf	 b = { NULL, 0, 0 };
	size_t		 i;
	int		 rc = -1;

	h = dm_map();
	a = dm_array();
	for (i = 0; i < n; i++)
		dm_array_push(a, dm_link(&roots[i]));
	dm_map_set(h, "roots", a);
	dm_map_set(h, "version", dm_int(1));
	if (dm_cbor_encode(h, &b) == 0 &&
	    car_write_len(fn, arg, b.len) == 0)
		rc = fn(arg, b.p, b.len);
	dm_free(h);
	dm_buf_free(&b);
	return rc;
}

int
car_write_block(car_write_fn fn, void *arg, const struct cid *c,
    const void *data, size_t len)
{
	if (car_write_len(fn, arg, (uint64_t)c->len + len) == -1 ||
	    fn(arg, c->b, c->len) == -1)
		return -1;
	return len == 0 ? 0 : fn(arg, data, len);
}

int
car_sink_evbuffer(void *arg, const void *p, size_t len)
{
	return evbuffer_add(arg, p, len);
}

int
car_sink_stdio(void *arg, const void *p, size_t len)
{
	return fwrite(p, 1, len, arg) == len ? 0 : -1;
}

int
car_sink_dmbuf(void *arg, const void *p, size_t len)
{
	return dm_buf_add(arg, p, len);
}
