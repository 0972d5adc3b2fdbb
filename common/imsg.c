/*
 * imsg framing on top of the msgbuf queues: a 16-byte host-order header
 * per message, lengths checked against a per-buffer maximum on both the
 * sending and the receiving side.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

static int
imsg_parse_hdr(const void *data, void *arg, size_t *len, int *wantfd)
{
	struct imsgbuf	*imsgbuf = arg;
	struct imsg_hdr	 hdr;
	uint32_t	 n;

	memcpy(&hdr, data, sizeof(hdr));
	n = hdr.len & ~IMSG_FD_MARK;
	if (n < IMSG_HEADER_SIZE || n > imsgbuf->maxsize) {
		errno = ERANGE;
		return -1;
	}
	*len = n;
	*wantfd = (hdr.len & IMSG_FD_MARK) != 0;
	return 0;
}

int
imsgbuf_init(struct imsgbuf *imsgbuf, int fd)
{
	memset(imsgbuf, 0, sizeof(*imsgbuf));
	if ((imsgbuf->w = msgbuf_new_reader(IMSG_HEADER_SIZE,
	    imsg_parse_hdr)) == NULL)
		return -1;
	imsgbuf->pid = getpid();
	imsgbuf->maxsize = MAX_IMSGSIZE;
	imsgbuf->fd = fd;
	return 0;
}

void
imsgbuf_allow_fdpass(struct imsgbuf *imsgbuf)
{
	imsgbuf->flags |= IMSG_ALLOW_FDPASS;
}

/* max is the largest payload; the header comes on top. */
int
imsgbuf_set_maxsize(struct imsgbuf *imsgbuf, uint32_t max)
{
	if (max > (IMSG_FD_MARK - 1) - IMSG_HEADER_SIZE) {
		errno = ERANGE;
		return -1;
	}
	imsgbuf->maxsize = max + IMSG_HEADER_SIZE;
	return 0;
}

int
imsgbuf_read(struct imsgbuf *imsgbuf)
{
	if (imsgbuf->w == NULL) {
		errno = EBADF;
		return -1;
	}
	if (imsgbuf->flags & IMSG_ALLOW_FDPASS)
		return msgbuf_read(imsgbuf->fd, imsgbuf->w, imsgbuf);
	return ibuf_read(imsgbuf->fd, imsgbuf->w, imsgbuf);
}

int
imsgbuf_write(struct imsgbuf *imsgbuf)
{
	if (imsgbuf->w == NULL) {
		errno = EBADF;
		return -1;
	}
	return msgbuf_write(imsgbuf->fd, imsgbuf->w);
}

/* Write until the queue is empty, waiting on a non-blocking socket. */
int
imsgbuf_flush(struct imsgbuf *imsgbuf)
{
	struct pollfd	 pfd;

	pfd.fd = imsgbuf->fd;
	pfd.events = POLLOUT;
	while (imsgbuf_queuelen(imsgbuf) > 0) {
		if (imsgbuf_write(imsgbuf) == -1)
			return -1;
		if (imsgbuf_queuelen(imsgbuf) > 0 &&
		    poll(&pfd, 1, -1) == -1 && errno != EINTR)
			return -1;
	}
	return 0;
}

/* Drop everything queued and read; the caller still owns imsgbuf->fd. */
void
imsgbuf_clear(struct imsgbuf *imsgbuf)
{
	msgbuf_free(imsgbuf->w);
	imsgbuf->w = NULL;
}

uint32_t
imsgbuf_queuelen(struct imsgbuf *imsgbuf)
{
	if (imsgbuf->w == NULL)
		return 0;
	return msgbuf_queuelen(imsgbuf->w);
}

/* The next message: its total length, 0 if none is complete, -1. */
ssize_t
imsg_get(struct imsgbuf *imsgbuf, struct imsg *imsg)
{
	struct ibuf	*buf;

	if (imsgbuf->w == NULL || (buf = msgbuf_get(imsgbuf->w)) == NULL)
		return 0;
	if (ibuf_get(buf, &imsg->hdr, sizeof(imsg->hdr)) == -1) {
		ibuf_free(buf);
		return -1;
	}
	imsg->hdr.len &= ~IMSG_FD_MARK;
	imsg->buf = buf;
	imsg->data = ibuf_size(buf) > 0 ? ibuf_data(buf) : NULL;
	return imsg->hdr.len;
}

int
imsgbuf_get(struct imsgbuf *imsgbuf, struct imsg *imsg)
{
	ssize_t	 n;

	if ((n = imsg_get(imsgbuf, imsg)) <= 0)
		return n;
	return 1;
}

/* A view of the payload; reading it does not consume the message. */
int
imsg_get_ibuf(struct imsg *imsg, struct ibuf *ibuf)
{
	ibuf_from_ibuf(ibuf, imsg->buf);
	return 0;
}

/* Copy the payload, which must be exactly len bytes long. */
int
imsg_get_data(struct imsg *imsg, void *data, size_t len)
{
	struct ibuf	 view;

	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	if (ibuf_size(imsg->buf) != len) {
		errno = EBADMSG;
		return -1;
	}
	ibuf_from_ibuf(&view, imsg->buf);
	return ibuf_get(&view, data, len);
}

/* Consume the next len bytes of the payload. */
int
imsg_get_buf(struct imsg *imsg, void *data, size_t len)
{
	return ibuf_get(imsg->buf, data, len);
}

int
imsg_get_strbuf(struct imsg *imsg, char *str, size_t len)
{
	return ibuf_get_strbuf(imsg->buf, str, len);
}

/* The passed descriptor, now the caller's to close, or -1. */
int
imsg_get_fd(struct imsg *imsg)
{
	return ibuf_fd_get(imsg->buf);
}

uint32_t
imsg_get_id(struct imsg *imsg)
{
	return imsg->hdr.peerid;
}

size_t
imsg_get_len(struct imsg *imsg)
{
	return ibuf_size(imsg->buf);
}

pid_t
imsg_get_pid(struct imsg *imsg)
{
	return imsg->hdr.pid;
}

uint32_t
imsg_get_type(struct imsg *imsg)
{
	return imsg->hdr.type;
}

/* Send a received message on unchanged, except for its descriptor. */
int
imsg_forward(struct imsgbuf *imsgbuf, struct imsg *imsg)
{
	struct ibuf	*wbuf;

	if ((wbuf = imsg_create(imsgbuf, imsg->hdr.type, imsg->hdr.peerid,
	    imsg->hdr.pid, ibuf_size(imsg->buf))) == NULL)
		return -1;
	if (ibuf_add_ibuf(wbuf, imsg->buf) == -1) {
		ibuf_free(wbuf);
		return -1;
	}
	imsg_close(imsgbuf, wbuf);
	return 1;
}

/*
 * Queue one message.  The descriptor, if any, belongs to the queue from
 * here on, even when composing fails.
 */
int
imsg_compose(struct imsgbuf *imsgbuf, uint32_t type, uint32_t id, pid_t pid,
    int fd, const void *data, size_t datalen)
{
	struct ibuf	*wbuf;

	if ((wbuf = imsg_create(imsgbuf, type, id, pid, datalen)) == NULL)
		goto fail;
	if (imsg_add(wbuf, data, datalen) == -1)
		goto fail;
	ibuf_fd_set(wbuf, fd);
	imsg_close(imsgbuf, wbuf);
	return 1;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

int
imsg_composev(struct imsgbuf *imsgbuf, uint32_t type, uint32_t id,
    pid_t pid, int fd, const struct iovec *iov, int iovcnt)
{
	struct ibuf	*wbuf;
	size_t		 datalen = 0;
	int		 i;

	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > SIZE_MAX - datalen) {
			errno = ERANGE;
			goto fail;
		}
		datalen += iov[i].iov_len;
	}
	if ((wbuf = imsg_create(imsgbuf, type, id, pid, datalen)) == NULL)
		goto fail;
	for (i = 0; i < iovcnt; i++)
		if (imsg_add(wbuf, iov[i].iov_base, iov[i].iov_len) == -1)
			goto fail;
	ibuf_fd_set(wbuf, fd);
	imsg_close(imsgbuf, wbuf);
	return 1;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Queue buf, descriptor included, as the payload; buf is consumed. */
int
imsg_compose_ibuf(struct imsgbuf *imsgbuf, uint32_t type, uint32_t id,
    pid_t pid, struct ibuf *buf)
{
	struct ibuf	*wbuf;

	if ((wbuf = imsg_create(imsgbuf, type, id, pid,
	    ibuf_size(buf))) == NULL)
		goto fail;
	if (imsg_add(wbuf, ibuf_data(buf), ibuf_size(buf)) == -1)
		goto fail;
	ibuf_fd_set(wbuf, ibuf_fd_get(buf));
	ibuf_free(buf);
	imsg_close(imsgbuf, wbuf);
	return 1;
fail:
	ibuf_free(buf);
	return -1;
}

/*
 * Start a message of datalen bytes (a hint: it may grow up to the
 * buffer's maximum).  The length is filled in by imsg_close().
 */
struct ibuf *
imsg_create(struct imsgbuf *imsgbuf, uint32_t type, uint32_t id, pid_t pid,
    size_t datalen)
{
	struct ibuf	*wbuf;
	struct imsg_hdr	 hdr;

	if (datalen > imsgbuf->maxsize - IMSG_HEADER_SIZE) {
		errno = ERANGE;
		return NULL;
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.peerid = id;
	hdr.pid = pid != 0 ? (uint32_t)pid : (uint32_t)imsgbuf->pid;
	if ((wbuf = ibuf_dynamic(IMSG_HEADER_SIZE + datalen,
	    imsgbuf->maxsize)) == NULL)
		return NULL;
	if (ibuf_add(wbuf, &hdr, sizeof(hdr)) == -1) {
		ibuf_free(wbuf);
		return NULL;
	}
	return wbuf;
}

/* Append to a message; on failure the message is freed. */
int
imsg_add(struct ibuf *msg, const void *data, size_t datalen)
{
	if (msg == NULL)
		return -1;
	if (datalen > 0 && ibuf_add(msg, data, datalen) == -1) {
		ibuf_free(msg);
		return -1;
	}
	return (int)datalen;
}

void
imsg_close(struct imsgbuf *imsgbuf, struct ibuf *msg)
{
	uint32_t	 len;

	if (msg == NULL)
		return;
	len = ibuf_size(msg);
	if (ibuf_fd_avail(msg))
		len |= IMSG_FD_MARK;
	(void)ibuf_set_h32(msg, offsetof(struct imsg_hdr, len), len);
	ibuf_close(imsgbuf->w, msg);
}

void
imsg_free(struct imsg *imsg)
{
	ibuf_free(imsg->buf);
	imsg->buf = NULL;
	imsg->data = NULL;
}
