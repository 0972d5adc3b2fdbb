/*
 * Bounded byte buffers and the queues that move them over a stream
 * socket, with at most one passed descriptor per sendmsg(2).
 *
 * Every operation that could run past the end of a buffer fails with
 * errno set instead: ERANGE when writing past the limit, EBADMSG when
 * reading past the data, EINVAL for a bad argument.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

/* A view made by ibuf_from_buffer(): read-only, never freed. */
#define IBUF_FD_VIEW	(-2)

/*
 * A reader keeps at most one descriptor waiting for its header (see
 * msgbuf_dropfds()), plus the one that arrives with the next read.
 */
#define MSGBUF_MAXFDS	2

TAILQ_HEAD(ibufq, ibuf);

struct msgbuf {
	struct ibufq	 bufs;		/* to write */
	uint32_t	 queued;
	struct ibufq	 rbufs;		/* complete messages read */
	unsigned char	*rbuf;		/* IBUF_READ_SIZE bytes, readers only */
	size_t		 rlen;
	struct ibuf	*rpmsg;		/* message being read */
	size_t		 hdrsz;
	msgbuf_hdr_cb	 readhdr;
	int		 rfds[MSGBUF_MAXFDS];
	int		 nrfds;
	int		 rerr;		/* a bad header kills the stream */
};

static int
ibuf_is_view(const struct ibuf *buf)
{
	return buf->fd == IBUF_FD_VIEW;
}

struct ibuf *
ibuf_open(size_t len)
{
	struct ibuf	*buf;

	if (len == 0) {
		errno = EINVAL;
		return NULL;
	}
	if ((buf = calloc(1, sizeof(*buf))) == NULL)
		return NULL;
	if ((buf->buf = calloc(len, 1)) == NULL) {
		free(buf);
		return NULL;
	}
	buf->size = buf->max = len;
	buf->fd = -1;
	return buf;
}

struct ibuf *
ibuf_dynamic(size_t len, size_t max)
{
	struct ibuf	*buf;

	if (max == 0 || max < len) {
		errno = EINVAL;
		return NULL;
	}
	/* Keep buf->buf non-NULL so ibuf_data() is always a real pointer. */
	if ((buf = ibuf_open(len > 0 ? len : 1)) == NULL)
		return NULL;
	buf->max = max;
	return buf;
}

static int
ibuf_grow(struct ibuf *buf, size_t need)
{
	unsigned char	*b;
	size_t		 nsize;

	nsize = buf->size > buf->max / 2 ? buf->max : buf->size * 2;
	if (nsize < need)
		nsize = need;
	if ((b = realloc(buf->buf, nsize)) == NULL)
		return -1;
	memset(b + buf->size, 0, nsize - buf->size);
	buf->buf = b;
	buf->size = nsize;
	return 0;
}

void *
ibuf_reserve(struct ibuf *buf, size_t len)
{
	unsigned char	*b;

	if (ibuf_is_view(buf)) {
		errno = EINVAL;
		return NULL;
	}
	if (len > buf->max - buf->wpos) {
		errno = ERANGE;
		return NULL;
	}
	if (buf->wpos + len > buf->size &&
	    ibuf_grow(buf, buf->wpos + len) == -1)
		return NULL;
	b = buf->buf + buf->wpos;
	memset(b, 0, len);
	buf->wpos += len;
	return b;
}

int
ibuf_add(struct ibuf *buf, const void *data, size_t len)
{
	void	*b;

	if ((b = ibuf_reserve(buf, len)) == NULL)
		return -1;
	if (len > 0)
		memcpy(b, data, len);
	return 0;
}

int
ibuf_add_ibuf(struct ibuf *buf, const struct ibuf *from)
{
	return ibuf_add(buf, ibuf_data(from), ibuf_size(from));
}

int
ibuf_add_zero(struct ibuf *buf, size_t len)
{
	return ibuf_reserve(buf, len) == NULL ? -1 : 0;
}

int
ibuf_add_n8(struct ibuf *buf, uint64_t value)
{
	uint8_t	 v;

	if (value > UINT8_MAX) {
		errno = EINVAL;
		return -1;
	}
	v = value;
	return ibuf_add(buf, &v, sizeof(v));
}

int
ibuf_add_n16(struct ibuf *buf, uint64_t value)
{
	uint16_t	 v;

	if (value > UINT16_MAX) {
		errno = EINVAL;
		return -1;
	}
	v = htobe16(value);
	return ibuf_add(buf, &v, sizeof(v));
}

int
ibuf_add_n32(struct ibuf *buf, uint64_t value)
{
	uint32_t	 v;

	if (value > UINT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	v = htobe32(value);
	return ibuf_add(buf, &v, sizeof(v));
}

int
ibuf_add_n64(struct ibuf *buf, uint64_t value)
{
	value = htobe64(value);
	return ibuf_add(buf, &value, sizeof(value));
}

int
ibuf_add_h16(struct ibuf *buf, uint64_t value)
{
	uint16_t	 v;

	if (value > UINT16_MAX) {
		errno = EINVAL;
		return -1;
	}
	v = value;
	return ibuf_add(buf, &v, sizeof(v));
}

int
ibuf_add_h32(struct ibuf *buf, uint64_t value)
{
	uint32_t	 v;

	if (value > UINT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	v = value;
	return ibuf_add(buf, &v, sizeof(v));
}

int
ibuf_add_h64(struct ibuf *buf, uint64_t value)
{
	return ibuf_add(buf, &value, sizeof(value));
}

/* A fixed-width, NUL-padded string field; the NUL must fit. */
int
ibuf_add_strbuf(struct ibuf *buf, const char *str, size_t len)
{
	char	*b;
	size_t	 n;

	if ((n = strnlen(str, len)) >= len) {
		errno = EOVERFLOW;
		return -1;
	}
	if ((b = ibuf_reserve(buf, len)) == NULL)
		return -1;
	memcpy(b, str, n);
	return 0;
}

/* Positions are relative to the read position, within the data. */
void *
ibuf_seek(struct ibuf *buf, size_t pos, size_t len)
{
	if (pos > ibuf_size(buf) || len > ibuf_size(buf) - pos) {
		errno = ERANGE;
		return NULL;
	}
	return (unsigned char *)ibuf_data(buf) + pos;
}

int
ibuf_set(struct ibuf *buf, size_t pos, const void *data, size_t len)
{
	void	*b;

	if (ibuf_is_view(buf)) {
		errno = EINVAL;
		return -1;
	}
	if ((b = ibuf_seek(buf, pos, len)) == NULL)
		return -1;
	if (len > 0)
		memcpy(b, data, len);
	return 0;
}

int
ibuf_set_n8(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint8_t	 v;

	if (value > UINT8_MAX) {
		errno = EINVAL;
		return -1;
	}
	v = value;
	return ibuf_set(buf, pos, &v, sizeof(v));
}

int
ibuf_set_n16(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint16_t	 v;

	if (value > UINT16_MAX) {
		errno = EINVAL;
		return -1;
	}
	v = htobe16(value);
	return ibuf_set(buf, pos, &v, sizeof(v));
}

int
ibuf_set_n32(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint32_t	 v;

	if (value > UINT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	v = htobe32(value);
	return ibuf_set(buf, pos, &v, sizeof(v));
}

int
ibuf_set_n64(struct ibuf *buf, size_t pos, uint64_t value)
{
	value = htobe64(value);
	return ibuf_set(buf, pos, &value, sizeof(value));
}

int
ibuf_set_h16(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint16_t	 v;

	if (value > UINT16_MAX) {
		errno = EINVAL;
		return -1;
	}
	v = value;
	return ibuf_set(buf, pos, &v, sizeof(v));
}

int
ibuf_set_h32(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint32_t	 v;

	if (value > UINT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	v = value;
	return ibuf_set(buf, pos, &v, sizeof(v));
}

int
ibuf_set_h64(struct ibuf *buf, size_t pos, uint64_t value)
{
	return ibuf_set(buf, pos, &value, sizeof(value));
}

void *
ibuf_data(const struct ibuf *buf)
{
	/* A view of nothing may have no memory behind it. */
	if (buf->buf == NULL)
		return NULL;
	return buf->buf + buf->rpos;
}

size_t
ibuf_size(const struct ibuf *buf)
{
	return buf->wpos - buf->rpos;
}

size_t
ibuf_left(const struct ibuf *buf)
{
	if (ibuf_is_view(buf))
		return 0;
	return buf->max - buf->wpos;
}

/* Cut the data to len bytes, or pad it with zeros up to len. */
int
ibuf_truncate(struct ibuf *buf, size_t len)
{
	if (ibuf_size(buf) >= len) {
		buf->wpos = buf->rpos + len;
		return 0;
	}
	return ibuf_add_zero(buf, len - ibuf_size(buf));
}

void
ibuf_rewind(struct ibuf *buf)
{
	buf->rpos = 0;
}

void
ibuf_from_buffer(struct ibuf *buf, void *data, size_t len)
{
	memset(buf, 0, sizeof(*buf));
	buf->buf = data;
	buf->size = buf->max = buf->wpos = len;
	buf->fd = IBUF_FD_VIEW;
}

void
ibuf_from_ibuf(struct ibuf *buf, const struct ibuf *from)
{
	ibuf_from_buffer(buf, ibuf_data(from), ibuf_size(from));
}

int
ibuf_get(struct ibuf *buf, void *data, size_t len)
{
	if (ibuf_size(buf) < len) {
		errno = EBADMSG;
		return -1;
	}
	if (len > 0)
		memcpy(data, ibuf_data(buf), len);
	buf->rpos += len;
	return 0;
}

int
ibuf_get_ibuf(struct ibuf *buf, size_t len, struct ibuf *new)
{
	if (ibuf_size(buf) < len) {
		errno = EBADMSG;
		return -1;
	}
	ibuf_from_buffer(new, ibuf_data(buf), len);
	buf->rpos += len;
	return 0;
}

int
ibuf_get_n8(struct ibuf *buf, uint8_t *value)
{
	return ibuf_get(buf, value, sizeof(*value));
}

int
ibuf_get_n16(struct ibuf *buf, uint16_t *value)
{
	if (ibuf_get(buf, value, sizeof(*value)) == -1)
		return -1;
	*value = be16toh(*value);
	return 0;
}

int
ibuf_get_n32(struct ibuf *buf, uint32_t *value)
{
	if (ibuf_get(buf, value, sizeof(*value)) == -1)
		return -1;
	*value = be32toh(*value);
	return 0;
}

int
ibuf_get_n64(struct ibuf *buf, uint64_t *value)
{
	if (ibuf_get(buf, value, sizeof(*value)) == -1)
		return -1;
	*value = be64toh(*value);
	return 0;
}

int
ibuf_get_h16(struct ibuf *buf, uint16_t *value)
{
	return ibuf_get(buf, value, sizeof(*value));
}

int
ibuf_get_h32(struct ibuf *buf, uint32_t *value)
{
	return ibuf_get(buf, value, sizeof(*value));
}

int
ibuf_get_h64(struct ibuf *buf, uint64_t *value)
{
	return ibuf_get(buf, value, sizeof(*value));
}

/*
 * Consume len bytes and return them as a new string, cut at the first
 * NUL if there is one.
 */
char *
ibuf_get_string(struct ibuf *buf, size_t len)
{
	char	*str;

	if (ibuf_size(buf) < len) {
		errno = EBADMSG;
		return NULL;
	}
	if (len == 0)
		return strdup("");
	if ((str = strndup(ibuf_data(buf), len)) == NULL)
		return NULL;
	buf->rpos += len;
	return str;
}

/* The counterpart of ibuf_add_strbuf(): the field must hold a NUL. */
int
ibuf_get_strbuf(struct ibuf *buf, char *str, size_t len)
{
	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	if (ibuf_get(buf, str, len) == -1)
		return -1;
	if (str[len - 1] != '\0') {
		str[len - 1] = '\0';
		errno = EOVERFLOW;
		return -1;
	}
	return 0;
}

int
ibuf_skip(struct ibuf *buf, size_t len)
{
	if (ibuf_size(buf) < len) {
		errno = EBADMSG;
		return -1;
	}
	buf->rpos += len;
	return 0;
}

void
ibuf_free(struct ibuf *buf)
{
	int	 saved;

	if (buf == NULL || ibuf_is_view(buf))
		return;
	saved = errno;
	if (buf->fd >= 0)
		close(buf->fd);
	free(buf->buf);
	free(buf);
	errno = saved;
}

int
ibuf_fd_avail(const struct ibuf *buf)
{
	return buf->fd >= 0;
}

/* Hand the descriptor over to the caller: the buffer forgets it. */
int
ibuf_fd_get(struct ibuf *buf)
{
	int	 fd;

	if (buf->fd < 0)
		return -1;
	fd = buf->fd;
	buf->fd = -1;
	return fd;
}

void
ibuf_fd_set(struct ibuf *buf, int fd)
{
	if (ibuf_is_view(buf))
		return;
	if (buf->fd >= 0)
		close(buf->fd);
	buf->fd = fd >= 0 ? fd : -1;
}

struct msgbuf *
msgbuf_new(void)
{
	struct msgbuf	*mb;

	if ((mb = calloc(1, sizeof(*mb))) == NULL)
		return NULL;
	TAILQ_INIT(&mb->bufs);
	TAILQ_INIT(&mb->rbufs);
	return mb;
}

/*
 * A reader splits the stream into messages: readhdr gets each hdrsz-byte
 * header and returns the whole message's length and whether it claims
 * the next passed descriptor, or -1 with errno set to reject it.
 */
struct msgbuf *
msgbuf_new_reader(size_t hdrsz, msgbuf_hdr_cb readhdr)
{
	struct msgbuf	*mb;

	if (hdrsz == 0 || hdrsz >= IBUF_READ_SIZE || readhdr == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((mb = msgbuf_new()) == NULL)
		return NULL;
	if ((mb->rbuf = malloc(IBUF_READ_SIZE)) == NULL) {
		free(mb);
		return NULL;
	}
	mb->hdrsz = hdrsz;
	mb->readhdr = readhdr;
	return mb;
}

static void
msgbuf_dequeue(struct msgbuf *mb, struct ibuf *buf)
{
	TAILQ_REMOVE(&mb->bufs, buf, entry);
	mb->queued--;
	ibuf_free(buf);
}

void
msgbuf_clear(struct msgbuf *mb)
{
	struct ibuf	*buf;

	while ((buf = TAILQ_FIRST(&mb->bufs)) != NULL)
		msgbuf_dequeue(mb, buf);
}

void
msgbuf_free(struct msgbuf *mb)
{
	struct ibuf	*buf;
	int		 i;

	if (mb == NULL)
		return;
	msgbuf_clear(mb);
	while ((buf = TAILQ_FIRST(&mb->rbufs)) != NULL) {
		TAILQ_REMOVE(&mb->rbufs, buf, entry);
		ibuf_free(buf);
	}
	ibuf_free(mb->rpmsg);
	for (i = 0; i < mb->nrfds; i++)
		close(mb->rfds[i]);
	free(mb->rbuf);
	free(mb);
}

uint32_t
msgbuf_queuelen(const struct msgbuf *mb)
{
	return mb->queued;
}

void
ibuf_close(struct msgbuf *mb, struct ibuf *buf)
{
	if (buf == NULL)
		return;
	TAILQ_INSERT_TAIL(&mb->bufs, buf, entry);
	mb->queued++;
}

static void
msgbuf_drain(struct msgbuf *mb, size_t n)
{
	struct ibuf	*buf;

	while ((buf = TAILQ_FIRST(&mb->bufs)) != NULL) {
		if (n < ibuf_size(buf)) {
			buf->rpos += n;
			return;
		}
		n -= ibuf_size(buf);
		msgbuf_dequeue(mb, buf);
	}
}

/*
 * Gather the head of the queue into iov.  With fdpass, stop before a
 * second buffer that carries a descriptor, so each send holds at most
 * one and it rides on the first byte of the buffer that owns it.
 */
static int
msgbuf_gather(struct msgbuf *mb, struct iovec *iov, int fdpass,
    struct ibuf **fdbuf)
{
	struct ibuf	*buf;
	int		 i = 0;

	*fdbuf = NULL;
	TAILQ_FOREACH(buf, &mb->bufs, entry) {
		if (i >= IOV_MAX)
			break;
		if (fdpass && buf->fd >= 0) {
			if (i > 0)
				break;
			*fdbuf = buf;
		}
		iov[i].iov_base = ibuf_data(buf);
		iov[i].iov_len = ibuf_size(buf);
		i++;
	}
	return i;
}

static int
msgbuf_send(int fd, struct msgbuf *mb, int fdpass)
{
	struct iovec	 iov[IOV_MAX];
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(sizeof(int))];
	}		 cmsgbuf;
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct ibuf	*fdbuf;
	ssize_t		 n;

	memset(&msg, 0, sizeof(msg));
	if ((msg.msg_iovlen = msgbuf_gather(mb, iov, fdpass, &fdbuf)) == 0)
		return 0;
	msg.msg_iov = iov;
	if (fdbuf != NULL) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), &fdbuf->fd, sizeof(int));
	}
	do {
		n = fdpass ? sendmsg(fd, &msg, MSG_NOSIGNAL) :
		    writev(fd, iov, msg.msg_iovlen);
	} while (n == -1 && errno == EINTR);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == ENOBUFS)
			return 0;
		return -1;
	}
	if (fdbuf != NULL) {
		/* The peer holds its own copy now. */
		close(fdbuf->fd);
		fdbuf->fd = -1;
	}
	msgbuf_drain(mb, n);
	return 0;
}

/* Send what one sendmsg(2) can: 0 when done or to be retried, -1 error. */
int
msgbuf_write(int fd, struct msgbuf *mb)
{
	return msgbuf_send(fd, mb, 1);
}

/* The same over writev(2), for descriptors that are not sockets. */
int
ibuf_write(int fd, struct msgbuf *mb)
{
	return msgbuf_send(fd, mb, 0);
}

static void
msgbuf_pushfd(struct msgbuf *mb, int fd)
{
	if (mb->nrfds >= MSGBUF_MAXFDS) {
		close(fd);
		return;
	}
	mb->rfds[mb->nrfds++] = fd;
}

static int
msgbuf_popfd(struct msgbuf *mb)
{
	int	 fd;

	if (mb->nrfds == 0)
		return -1;
	fd = mb->rfds[0];
	memmove(mb->rfds, mb->rfds + 1, --mb->nrfds * sizeof(int));
	return fd;
}

/*
 * A descriptor arrives with the first byte of the header that claims
 * it.  Only while that header is still incomplete may one wait for it;
 * any other unclaimed descriptor came from a peer that did not mark it,
 * so close it rather than let them pile up.
 */
static void
msgbuf_dropfds(struct msgbuf *mb)
{
	int	 keep = -1;

	if (mb->rpmsg == NULL && mb->rlen > 0 && mb->nrfds > 0)
		keep = mb->rfds[--mb->nrfds];
	while (mb->nrfds > 0)
		close(msgbuf_popfd(mb));
	if (keep != -1)
		msgbuf_pushfd(mb, keep);
}

/* Keep the first descriptor of the control data, close any others. */
static void
msgbuf_takefds(struct msgbuf *mb, struct msghdr *msg)
{
	struct cmsghdr	*cmsg;
	size_t		 i, nfds;
	int		 fd, kept = 0;

	for (cmsg = CMSG_FIRSTHDR(msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS ||
		    cmsg->cmsg_len < CMSG_LEN(0))
			continue;
		nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfds; i++) {
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(int));
			if (kept)
				close(fd);
			else
				msgbuf_pushfd(mb, fd);
			kept = 1;
		}
	}
}

static ssize_t
msgbuf_recv(int fd, struct msgbuf *mb, int fdpass)
{
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(sizeof(int))];
	}		 cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	ssize_t		 n;
	int		 noctl = 0;

	if (!fdpass) {
		do {
			n = read(fd, mb->rbuf + mb->rlen,
			    IBUF_READ_SIZE - mb->rlen);
		} while (n == -1 && errno == EINTR);
		return n;
	}
	for (;;) {
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = mb->rbuf + mb->rlen;
		iov.iov_len = IBUF_READ_SIZE - mb->rlen;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		if (!noctl) {
			msg.msg_control = cmsgbuf.buf;
			msg.msg_controllen = sizeof(cmsgbuf.buf);
		}
		if ((n = recvmsg(fd, &msg, 0)) != -1)
			break;
		if (errno == EINTR)
			continue;
		/* Out of descriptor slots: take the bytes, lose the fd. */
		if (errno == EMSGSIZE && !noctl) {
			noctl = 1;
			continue;
		}
		return -1;
	}
	if (!noctl)
		msgbuf_takefds(mb, &msg);
	return n;
}

/* Cut the read bytes into messages; leave only a partial header. */
static int
msgbuf_parse(struct msgbuf *mb, void *arg)
{
	size_t	 off = 0, len, n;
	int	 wantfd, rv = 0;

	while (off < mb->rlen) {
		if (mb->rpmsg == NULL) {
			if (mb->rlen - off < mb->hdrsz)
				break;
			wantfd = 0;
			if (mb->readhdr(mb->rbuf + off, arg, &len,
			    &wantfd) == -1) {
				rv = -1;
				break;
			}
			if (len < mb->hdrsz) {
				errno = ERANGE;
				rv = -1;
				break;
			}
			if ((mb->rpmsg = ibuf_open(len)) == NULL) {
				rv = -1;
				break;
			}
			if (wantfd)
				ibuf_fd_set(mb->rpmsg, msgbuf_popfd(mb));
		}
		n = mb->rlen - off;
		if (n > ibuf_left(mb->rpmsg))
			n = ibuf_left(mb->rpmsg);
		if (ibuf_add(mb->rpmsg, mb->rbuf + off, n) == -1)
			return -1;
		off += n;
		if (ibuf_left(mb->rpmsg) == 0) {
			TAILQ_INSERT_TAIL(&mb->rbufs, mb->rpmsg, entry);
			mb->rpmsg = NULL;
		}
	}
	memmove(mb->rbuf, mb->rbuf + off, mb->rlen - off);
	mb->rlen -= off;
	msgbuf_dropfds(mb);
	return rv;
}

static int
msgbuf_readmsgs(int fd, struct msgbuf *mb, void *arg, int fdpass)
{
	ssize_t	 n;

	if (mb->rbuf == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (mb->rerr != 0) {
		errno = mb->rerr;
		return -1;
	}
	if ((n = msgbuf_recv(fd, mb, fdpass)) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 1;
		return -1;
	}
	if (n == 0)
		return 0;
	mb->rlen += n;
	if (msgbuf_parse(mb, arg) == -1) {
		mb->rerr = errno;
		return -1;
	}
	return 1;
}

/*
 * One read into the reader: 1 when it went well or would block, 0 at
 * end of file, -1 on error (ERANGE: the peer sent a bad header, and
 * every later read fails the same way).
 */
int
msgbuf_read(int fd, struct msgbuf *mb, void *arg)
{
	return msgbuf_readmsgs(fd, mb, arg, 1);
}

/* The same, accepting no descriptors. */
int
ibuf_read(int fd, struct msgbuf *mb, void *arg)
{
	return msgbuf_readmsgs(fd, mb, arg, 0);
}

/* The next complete message, header included, or NULL. */
struct ibuf *
msgbuf_get(struct msgbuf *mb)
{
	struct ibuf	*buf;

	if ((buf = TAILQ_FIRST(&mb->rbufs)) != NULL)
		TAILQ_REMOVE(&mb->rbufs, buf, entry);
	return buf;
}
