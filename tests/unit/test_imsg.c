/*
 * imsg and ibuf over real socketpairs: framing, split and batched reads,
 * size limits, descriptor passing and the bounds of the buffer toolkit.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "imsg.h"

struct pair {
	int		 sv[2];
	struct imsgbuf	 tx;
	struct imsgbuf	 rx;
};

static void
pair_open(struct pair *p, int fdpass)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p->sv), 0);
	assert_int_equal(imsgbuf_init(&p->tx, p->sv[0]), 0);
	assert_int_equal(imsgbuf_init(&p->rx, p->sv[1]), 0);
	if (fdpass)
		imsgbuf_allow_fdpass(&p->rx);
}

static void
pair_close(struct pair *p)
{
	imsgbuf_clear(&p->tx);
	imsgbuf_clear(&p->rx);
	if (p->sv[0] != -1)
		close(p->sv[0]);
	if (p->sv[1] != -1)
		close(p->sv[1]);
}

static int
count_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	assert_non_null(d = opendir("/proc/self/fd"));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static size_t
raw_hdr(unsigned char *out, uint32_t type, uint32_t len, uint32_t peerid,
    uint32_t pid)
{
	struct imsg_hdr	 h = { type, len, peerid, pid };

	memcpy(out, &h, sizeof(h));
	return sizeof(h);
}

static void
write_all(int fd, const void *data, size_t len)
{
	assert_int_equal(write(fd, data, len), (ssize_t)len);
}

/* Send bytes with one descriptor attached to the first of them. */
static void
send_with_fd(int sock, const void *data, size_t len, int fd)
{
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(sizeof(int))];
	}		 cm;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*c;

	memset(&msg, 0, sizeof(msg));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = (void *)data;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_len = CMSG_LEN(sizeof(int));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	assert_int_equal(sendmsg(sock, &msg, 0), (ssize_t)len);
}

/* A pipe whose read end yields one marker byte. */
static int
marked_pipe(char mark)
{
	int	 p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], &mark, 1), 1);
	close(p[1]);
	return p[0];
}

static void
assert_fd_mark(int fd, char mark)
{
	char	 c = 0;

	assert_true(fd >= 0);
	assert_int_equal(read(fd, &c, 1), 1);
	assert_int_equal(c, mark);
	close(fd);
}

static void
test_roundtrip(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	unsigned char	 big[100], got[100];
	size_t		 i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = i * 7;
	pair_open(&p, 0);
	assert_int_equal(imsg_compose(&p.tx, 1, 7, 0, -1, "hello", 6), 1);
	assert_int_equal(imsg_compose(&p.tx, 2, 8, 1234, -1, NULL, 0), 1);
	assert_int_equal(imsg_compose(&p.tx, 3, 9, 0, -1, big, sizeof(big)),
	    1);
	assert_int_equal(imsgbuf_queuelen(&p.tx), 3);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	assert_int_equal(imsgbuf_queuelen(&p.tx), 0);
	assert_int_equal(imsgbuf_read(&p.rx), 1);

	assert_int_equal(imsg_get(&p.rx, &imsg), IMSG_HEADER_SIZE + 6);
	assert_int_equal(imsg_get_type(&imsg), 1);
	assert_int_equal(imsg_get_id(&imsg), 7);
	assert_int_equal(imsg_get_pid(&imsg), getpid());
	assert_int_equal(imsg_get_len(&imsg), 6);
	assert_string_equal(imsg.data, "hello");
	assert_int_equal(imsg_get_fd(&imsg), -1);
	imsg_free(&imsg);

	assert_int_equal(imsgbuf_get(&p.rx, &imsg), 1);
	assert_int_equal(imsg_get_type(&imsg), 2);
	assert_int_equal(imsg_get_id(&imsg), 8);
	assert_int_equal(imsg_get_pid(&imsg), 1234);
	assert_int_equal(imsg_get_len(&imsg), 0);
	assert_null(imsg.data);
	imsg_free(&imsg);

	assert_int_equal(imsg_get(&p.rx, &imsg), IMSG_HEADER_SIZE + 100);
	assert_int_equal(imsg_get_type(&imsg), 3);
	assert_int_equal(imsg_get_data(&imsg, got, sizeof(got)), 0);
	assert_memory_equal(got, big, sizeof(big));
	imsg_free(&imsg);

	assert_int_equal(imsg_get(&p.rx, &imsg), 0);
	assert_int_equal(imsgbuf_get(&p.rx, &imsg), 0);
	pair_close(&p);
}

/* The bytes on the wire: host-order header, bit 31 of len for an fd. */
static void
test_wire_format(void **state)
{
	struct pair	 p;
	struct imsg_hdr	 h;
	unsigned char	 raw[64];

	pair_open(&p, 0);
	assert_int_equal(imsg_compose(&p.tx, 0x01020304, 0xa0b0c0d0, 77, -1,
	    "xyz", 3), 1);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	assert_int_equal(read(p.sv[1], raw, sizeof(raw)), 19);
	memcpy(&h, raw, sizeof(h));
	assert_int_equal(h.type, 0x01020304);
	assert_int_equal(h.len, 19);
	assert_int_equal(h.peerid, 0xa0b0c0d0);
	assert_int_equal(h.pid, 77);
	assert_memory_equal(raw + 16, "xyz", 3);

	assert_int_equal(imsg_compose(&p.tx, 5, 0, 1, marked_pipe('m'),
	    "a", 1), 1);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	/* A plain read drops the descriptor; the header still says so. */
	assert_int_equal(read(p.sv[1], raw, sizeof(raw)), 17);
	memcpy(&h, raw, sizeof(h));
	assert_int_equal(h.len, IMSG_FD_MARK | 17);
	pair_close(&p);
}

/* Two messages arriving one byte per read. */
static void
test_split_writes(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	unsigned char	 wire[64];
	size_t		 n = 0, i, first, got = 0;

	n += raw_hdr(wire, 10, 16 + 5, 1, 2);
	memcpy(wire + n, "abcde", 5);
	n += 5;
	first = n;
	n += raw_hdr(wire + n, 11, 16, 3, 4);

	pair_open(&p, 1);
	for (i = 0; i < n; i++) {
		write_all(p.sv[0], wire + i, 1);
		assert_int_equal(imsgbuf_read(&p.rx), 1);
		if (i + 1 < first || (i + 1 > first && i + 1 < n)) {
			assert_int_equal(imsg_get(&p.rx, &imsg), 0);
			continue;
		}
		assert_true(imsg_get(&p.rx, &imsg) > 0);
		if (got++ == 0) {
			assert_int_equal(imsg_get_type(&imsg), 10);
			assert_int_equal(imsg_get_len(&imsg), 5);
			assert_memory_equal(imsg.data, "abcde", 5);
			assert_int_equal(imsg_get_pid(&imsg), 2);
		} else {
			assert_int_equal(imsg_get_type(&imsg), 11);
			assert_int_equal(imsg_get_id(&imsg), 3);
			assert_int_equal(imsg_get_len(&imsg), 0);
		}
		imsg_free(&imsg);
	}
	assert_int_equal(got, 2);
	pair_close(&p);
}

static void
test_many_in_one_read(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	uint32_t	 i, v;

	pair_open(&p, 1);
	for (i = 0; i < 1000; i++)
		assert_int_equal(imsg_compose(&p.tx, 42, i, 0, -1, &i,
		    sizeof(i)), 1);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	/* 20000 bytes: one read takes them all. */
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(imsg_get(&p.rx, &imsg), 20);
		assert_int_equal(imsg_get_id(&imsg), i);
		assert_int_equal(imsg_get_data(&imsg, &v, sizeof(v)), 0);
		assert_int_equal(v, i);
		imsg_free(&imsg);
	}
	assert_int_equal(imsg_get(&p.rx, &imsg), 0);
	pair_close(&p);
}

/* Messages bigger than the read buffer span several reads. */
static void
test_large_messages(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	unsigned char	*data;
	size_t		 len = 200000, i;
	int		 got = 0;

	assert_non_null(data = malloc(len));
	for (i = 0; i < len; i++)
		data[i] = i % 251;
	pair_open(&p, 0);
	assert_int_equal(imsgbuf_set_maxsize(&p.tx, len), 0);
	assert_int_equal(imsgbuf_set_maxsize(&p.rx, len), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(imsg_compose(&p.tx, i, 0, 0, -1, data, len),
		    1);
	assert_int_equal(fcntl(p.sv[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(p.sv[1], F_SETFL, O_NONBLOCK), 0);
	while (got < 3) {
		assert_int_equal(imsgbuf_write(&p.tx), 0);
		assert_int_equal(imsgbuf_read(&p.rx), 1);
		while (imsg_get(&p.rx, &imsg) > 0) {
			assert_int_equal(imsg_get_type(&imsg), got);
			assert_int_equal(imsg_get_len(&imsg), len);
			assert_memory_equal(imsg.data, data, len);
			imsg_free(&imsg);
			got++;
		}
	}
	assert_int_equal(imsgbuf_queuelen(&p.tx), 0);
	free(data);
	pair_close(&p);
}

static void
test_max_size(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	unsigned char	*data, hdr[16];

	assert_non_null(data = calloc(1, MAX_IMSGSIZE));
	pair_open(&p, 0);
	/* Exactly the default maximum, header included: fine. */
	assert_int_equal(imsg_compose(&p.tx, 1, 0, 0, -1, data,
	    MAX_IMSGSIZE - IMSG_HEADER_SIZE), 1);
	/* One byte more is refused by the sender... */
	errno = 0;
	assert_int_equal(imsg_compose(&p.tx, 1, 0, 0, -1, data,
	    MAX_IMSGSIZE - IMSG_HEADER_SIZE + 1), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	while (imsg_get(&p.rx, &imsg) == 0)
		assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get_len(&imsg), MAX_IMSGSIZE - 16);
	imsg_free(&imsg);

	/* ...and by the receiver, for good. */
	raw_hdr(hdr, 1, MAX_IMSGSIZE + 1, 0, 0);
	write_all(p.sv[0], hdr, sizeof(hdr));
	write_all(p.sv[0], data, 100);
	errno = 0;
	assert_int_equal(imsgbuf_read(&p.rx), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(imsg_get(&p.rx, &imsg), 0);
	write_all(p.sv[0], data, 100);
	errno = 0;
	assert_int_equal(imsgbuf_read(&p.rx), -1);
	assert_int_equal(errno, ERANGE);
	pair_close(&p);
	free(data);
}

static void
test_set_maxsize(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	unsigned char	 data[1001], hdr[16];

	memset(data, 'x', sizeof(data));
	pair_open(&p, 0);
	assert_int_equal(imsgbuf_set_maxsize(&p.tx, 1000), 0);
	assert_int_equal(imsgbuf_set_maxsize(&p.rx, 1000), 0);
	assert_int_equal(imsgbuf_set_maxsize(&p.rx, UINT32_MAX), -1);
	assert_int_equal(imsg_compose(&p.tx, 1, 0, 0, -1, data, 1001), -1);
	assert_int_equal(imsg_compose(&p.tx, 1, 0, 0, -1, data, 1000), 1);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	while (imsg_get(&p.rx, &imsg) == 0)
		assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get_len(&imsg), 1000);
	imsg_free(&imsg);
	raw_hdr(hdr, 1, 1017, 0, 0);
	write_all(p.sv[0], hdr, sizeof(hdr));
	errno = 0;
	assert_int_equal(imsgbuf_read(&p.rx), -1);
	assert_int_equal(errno, ERANGE);
	pair_close(&p);
}

static void
test_short_len(void **state)
{
	static const uint32_t	 lens[] = { 0, 1, 15, IMSG_FD_MARK | 15,
	    IMSG_FD_MARK, 0x7fffffff, 0xffffffff };
	struct pair		 p;
	struct imsg		 imsg;
	unsigned char		 hdr[16];
	size_t			 i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		pair_open(&p, 1);
		raw_hdr(hdr, 1, lens[i], 0, 0);
		write_all(p.sv[0], hdr, sizeof(hdr));
		errno = 0;
		assert_int_equal(imsgbuf_read(&p.rx), -1);
		assert_int_equal(errno, ERANGE);
		assert_int_equal(imsg_get(&p.rx, &imsg), 0);
		pair_close(&p);
	}
}

/* A burst of five where the third and fifth carry descriptors. */
static void
test_fd_burst(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	int		 fds[5], i, got = 0, fd;

	pair_open(&p, 1);
	for (i = 0; i < 5; i++) {
		fds[i] = (i == 2 || i == 4) ? marked_pipe('0' + i) : -1;
		assert_int_equal(imsg_compose(&p.tx, 100 + i, i, 0, fds[i],
		    &i, sizeof(i)), 1);
	}
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	/* The sender's copies are gone once sent. */
	errno = 0;
	assert_int_equal(fcntl(fds[2], F_GETFD), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(fcntl(fds[4], F_GETFD), -1);

	while (got < 5) {
		assert_int_equal(imsgbuf_read(&p.rx), 1);
		while (imsg_get(&p.rx, &imsg) > 0) {
			assert_int_equal(imsg_get_type(&imsg), 100 + got);
			fd = imsg_get_fd(&imsg);
			if (got == 2 || got == 4)
				assert_fd_mark(fd, '0' + got);
			else
				assert_int_equal(fd, -1);
			/* Taken once: the message forgets it. */
			assert_int_equal(imsg_get_fd(&imsg), -1);
			imsg_free(&imsg);
			got++;
		}
	}
	pair_close(&p);
}

/* A reader that did not allow fd passing gets none and leaks none. */
static void
test_fd_not_allowed(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	int		 before;

	pair_open(&p, 0);
	assert_int_equal(imsg_compose(&p.tx, 1, 0, 0, marked_pipe('x'),
	    NULL, 0), 1);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	before = count_fds();
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get(&p.rx, &imsg), 16);
	assert_int_equal(imsg_get_fd(&imsg), -1);
	imsg_free(&imsg);
	assert_int_equal(count_fds(), before);
	pair_close(&p);
}

/* The fd comes with a header whose rest only arrives in a later read. */
static void
test_fd_split_header(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	unsigned char	 wire[20];

	raw_hdr(wire, 9, IMSG_FD_MARK | 20, 0, 0);
	memcpy(wire + 16, "data", 4);
	pair_open(&p, 1);
	send_with_fd(p.sv[0], wire, 5, marked_pipe('s'));
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get(&p.rx, &imsg), 0);
	write_all(p.sv[0], wire + 5, sizeof(wire) - 5);
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get(&p.rx, &imsg), 20);
	assert_fd_mark(imsg_get_fd(&imsg), 's');
	imsg_free(&imsg);
	pair_close(&p);
}

/* A descriptor no header claims is closed, not kept. */
static void
test_fd_unmarked(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	unsigned char	 wire[16];
	int		 before, fd;

	raw_hdr(wire, 9, 16, 0, 0);
	pair_open(&p, 1);
	fd = marked_pipe('u');
	send_with_fd(p.sv[0], wire, sizeof(wire), fd);
	close(fd);
	before = count_fds();
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get(&p.rx, &imsg), 16);
	assert_int_equal(imsg_get_fd(&imsg), -1);
	imsg_free(&imsg);
	assert_int_equal(count_fds(), before);
	pair_close(&p);
}

/* Out of descriptor slots: the message still arrives, without its fd. */
static void
test_fd_no_slots(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	struct rlimit	 saved, rl;
	int		 fill[64], nfill = 0, fd, r;

	pair_open(&p, 1);
	assert_int_equal(imsg_compose(&p.tx, 3, 0, 0, marked_pipe('z'),
	    "q", 1), 1);
	assert_int_equal(imsg_compose(&p.tx, 4, 0, 0, -1, "r", 1), 1);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_true((fd = open("/dev/null", O_RDONLY)) >= 0);
	rl = saved;
	rl.rlim_cur = fd + 16;
	close(fd);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	while (nfill < 64 && (fd = open("/dev/null", O_RDONLY)) != -1)
		fill[nfill++] = fd;
	assert_int_equal(errno, EMFILE);
	r = imsgbuf_read(&p.rx);
	while (nfill > 0)
		close(fill[--nfill]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_int_equal(r, 1);

	assert_int_equal(imsg_get(&p.rx, &imsg), 17);
	assert_int_equal(imsg_get_type(&imsg), 3);
	assert_int_equal(imsg_get_fd(&imsg), -1);
	imsg_free(&imsg);
	if (imsg_get(&p.rx, &imsg) == 0)
		assert_int_equal(imsgbuf_read(&p.rx), 1);
	else
		imsg_free(&imsg);
	pair_close(&p);
}

static void
test_eof_mid_message(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	unsigned char	 wire[26];

	raw_hdr(wire, 1, 100, 0, 0);
	memset(wire + 16, 'p', 10);
	pair_open(&p, 1);
	write_all(p.sv[0], wire, sizeof(wire));
	close(p.sv[0]);
	p.sv[0] = -1;
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get(&p.rx, &imsg), 0);
	assert_int_equal(imsgbuf_read(&p.rx), 0);
	assert_int_equal(imsg_get(&p.rx, &imsg), 0);
	pair_close(&p);

	/* Mid-header too. */
	pair_open(&p, 0);
	write_all(p.sv[0], wire, 7);
	close(p.sv[0]);
	p.sv[0] = -1;
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsgbuf_read(&p.rx), 0);
	assert_int_equal(imsg_get(&p.rx, &imsg), 0);
	pair_close(&p);
}

static void
test_write_closed_peer(void **state)
{
	struct pair	 p;

	pair_open(&p, 0);
	close(p.sv[1]);
	p.sv[1] = -1;
	assert_int_equal(imsg_compose(&p.tx, 1, 0, 0, -1, "x", 1), 1);
	errno = 0;
	assert_int_equal(imsgbuf_write(&p.tx), -1);
	assert_int_equal(errno, EPIPE);
	pair_close(&p);
}

static void
test_get_data(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	uint64_t	 v = 0x1122334455667788ULL, out = 0;
	uint32_t	 half;
	unsigned char	 big[12];

	pair_open(&p, 0);
	assert_int_equal(imsg_compose(&p.tx, 1, 0, 0, -1, &v, sizeof(v)), 1);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get(&p.rx, &imsg), 24);
	errno = 0;
	assert_int_equal(imsg_get_data(&imsg, &half, sizeof(half)), -1);
	assert_int_equal(errno, EBADMSG);
	errno = 0;
	assert_int_equal(imsg_get_data(&imsg, big, sizeof(big)), -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(imsg_get_data(&imsg, &out, 0), -1);
	assert_int_equal(imsg_get_data(&imsg, &out, sizeof(out)), 0);
	assert_true(out == v);
	/* It does not consume: the same call works twice. */
	out = 0;
	assert_int_equal(imsg_get_data(&imsg, &out, sizeof(out)), 0);
	assert_true(out == v);
	/* imsg_get_buf does. */
	assert_int_equal(imsg_get_buf(&imsg, &half, sizeof(half)), 0);
	assert_int_equal(imsg_get_len(&imsg), 4);
	assert_int_equal(imsg_get_buf(&imsg, big, 5), -1);
	imsg_free(&imsg);
	pair_close(&p);
}

static void
test_create_add_close(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	struct ibuf	*wbuf, view;
	uint32_t	 n32;
	uint16_t	 n16;
	char		*s, field[8];
	unsigned char	 junk[MAX_IMSGSIZE];

	pair_open(&p, 0);
	assert_non_null(wbuf = imsg_create(&p.tx, 7, 1, 0, 4));
	assert_int_equal(ibuf_add_n32(wbuf, 0xdeadbeef), 0);
	assert_int_equal(ibuf_add_n16(wbuf, 513), 0);
	assert_int_equal(imsg_add(wbuf, "str", 3), 3);
	assert_int_equal(ibuf_add_strbuf(wbuf, "ab", sizeof(field)), 0);
	imsg_close(&p.tx, wbuf);

	/* Growing past the maximum fails and frees the message. */
	memset(junk, 0, sizeof(junk));
	assert_non_null(wbuf = imsg_create(&p.tx, 8, 0, 0, 0));
	assert_int_equal(imsg_add(wbuf, junk, sizeof(junk)), -1);
	assert_int_equal(imsgbuf_queuelen(&p.tx), 1);

	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get(&p.rx, &imsg), 16 + 4 + 2 + 3 + 8);
	assert_int_equal(imsg_get_ibuf(&imsg, &view), 0);
	assert_int_equal(ibuf_get_n32(&view, &n32), 0);
	assert_int_equal(n32, 0xdeadbeef);
	assert_int_equal(ibuf_get_n16(&view, &n16), 0);
	assert_int_equal(n16, 513);
	assert_non_null(s = ibuf_get_string(&view, 3));
	assert_string_equal(s, "str");
	free(s);
	assert_int_equal(ibuf_get_strbuf(&view, field, sizeof(field)), 0);
	assert_string_equal(field, "ab");
	assert_int_equal(ibuf_size(&view), 0);
	assert_int_equal(ibuf_get_n8(&view, (uint8_t *)field), -1);
	/* The view did not consume the message. */
	assert_int_equal(imsg_get_len(&imsg), 17);
	assert_int_equal(imsg_get_buf(&imsg, &n32, 4), 0);
	assert_int_equal(be32toh(n32), 0xdeadbeef);
	imsg_free(&imsg);
	assert_int_equal(imsg_get(&p.rx, &imsg), 0);
	pair_close(&p);
}

static void
test_composev_forward(void **state)
{
	struct pair	 a, b;
	struct imsg	 imsg;
	struct iovec	 iov[3];
	struct ibuf	*pb;

	iov[0].iov_base = "one";
	iov[0].iov_len = 3;
	iov[1].iov_base = "";
	iov[1].iov_len = 0;
	iov[2].iov_base = "two";
	iov[2].iov_len = 4;
	pair_open(&a, 1);
	pair_open(&b, 1);
	assert_int_equal(imsg_composev(&a.tx, 21, 5, 99, -1, iov, 3), 1);
	assert_non_null(pb = ibuf_open(2));
	assert_int_equal(ibuf_add(pb, "pb", 2), 0);
	ibuf_fd_set(pb, marked_pipe('i'));
	assert_int_equal(imsg_compose_ibuf(&a.tx, 22, 6, 0, pb), 1);
	assert_int_equal(imsgbuf_flush(&a.tx), 0);
	while (imsg_get(&a.rx, &imsg) == 0)
		assert_int_equal(imsgbuf_read(&a.rx), 1);
	assert_int_equal(imsg_get_len(&imsg), 7);
	assert_memory_equal(imsg.data, "onetwo", 7);
	assert_int_equal(imsg_forward(&b.tx, &imsg), 1);
	imsg_free(&imsg);
	while (imsg_get(&a.rx, &imsg) == 0)
		assert_int_equal(imsgbuf_read(&a.rx), 1);
	assert_int_equal(imsg_get_type(&imsg), 22);
	assert_memory_equal(imsg.data, "pb", 2);
	/* Forwarding keeps the descriptor here. */
	assert_int_equal(imsg_forward(&b.tx, &imsg), 1);
	assert_fd_mark(imsg_get_fd(&imsg), 'i');
	imsg_free(&imsg);

	assert_int_equal(imsgbuf_flush(&b.tx), 0);
	while (imsg_get(&b.rx, &imsg) == 0)
		assert_int_equal(imsgbuf_read(&b.rx), 1);
	assert_int_equal(imsg_get_type(&imsg), 21);
	assert_int_equal(imsg_get_id(&imsg), 5);
	assert_int_equal(imsg_get_pid(&imsg), 99);
	assert_memory_equal(imsg.data, "onetwo", 7);
	imsg_free(&imsg);
	while (imsg_get(&b.rx, &imsg) == 0)
		assert_int_equal(imsgbuf_read(&b.rx), 1);
	assert_int_equal(imsg_get_type(&imsg), 22);
	assert_int_equal(imsg_get_pid(&imsg), getpid());
	assert_int_equal(imsg_get_fd(&imsg), -1);
	imsg_free(&imsg);
	pair_close(&a);
	pair_close(&b);
}

/* Clearing a queue closes the descriptors it still held. */
static void
test_clear_closes_fds(void **state)
{
	struct pair	 p;
	int		 before, i;

	before = count_fds();
	pair_open(&p, 1);
	for (i = 0; i < 3; i++)
		assert_int_equal(imsg_compose(&p.tx, 1, 0, 0,
		    marked_pipe('c'), NULL, 0), 1);
	assert_int_equal(count_fds(), before + 5);
	pair_close(&p);
	assert_int_equal(count_fds(), before);

	/* A failed compose closes the fd it was given. */
	pair_open(&p, 1);
	assert_int_equal(imsg_compose(&p.tx, 1, 0, 0, marked_pipe('c'),
	    NULL, MAX_IMSGSIZE), -1);
	pair_close(&p);
	assert_int_equal(count_fds(), before);
}

static void
test_ibuf_bounds(void **state)
{
	struct ibuf	*b, view;
	unsigned char	 raw[] = { 0x01, 0x02, 0x03 }, *d;
	unsigned char	 s1[] = { 'a', 'b', 'c', 0 }, s2[] = { 'a', 'b', 'c', 'd' };
	uint8_t		 u8;
	uint16_t	 u16;
	uint32_t	 u32;
	uint64_t	 u64;
	char		 str[4], *s;

	errno = 0;
	assert_null(ibuf_open(0));
	assert_int_equal(errno, EINVAL);
	assert_null(ibuf_dynamic(10, 5));
	assert_null(ibuf_dynamic(0, 0));

	assert_non_null(b = ibuf_open(4));
	assert_int_equal(ibuf_add(b, "abcd", 4), 0);
	assert_int_equal(ibuf_left(b), 0);
	errno = 0;
	assert_int_equal(ibuf_add(b, "e", 1), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(ibuf_size(b), 4);
	ibuf_free(b);

	assert_non_null(b = ibuf_dynamic(0, 16));
	assert_int_equal(ibuf_add_n32(b, 0x01020304), 0);
	assert_int_equal(ibuf_add_n16(b, 0x0506), 0);
	assert_int_equal(ibuf_add_n8(b, 7), 0);
	assert_int_equal(ibuf_add_h16(b, 0x0809), 0);
	d = ibuf_data(b);
	assert_memory_equal(d, "\x01\x02\x03\x04\x05\x06\x07", 7);
	assert_int_equal(d[7] | d[8] << 8, 0x0809);
	assert_int_equal(ibuf_add_n8(b, 256), -1);
	assert_int_equal(ibuf_add_n16(b, 65536), -1);
	assert_int_equal(ibuf_add_n32(b, 1ULL << 32), -1);
	assert_int_equal(ibuf_add_h32(b, 1ULL << 32), -1);
	assert_int_equal(ibuf_size(b), 9);
	errno = 0;
	assert_int_equal(ibuf_add_n64(b, 1), -1);	/* 9 + 8 > 16 */
	assert_int_equal(errno, ERANGE);
	assert_int_equal(ibuf_add_zero(b, 7), 0);
	assert_int_equal(ibuf_left(b), 0);
	assert_int_equal(ibuf_set_n16(b, 0, 0xaabb), 0);
	assert_int_equal(ibuf_set_n16(b, 15, 1), -1);
	assert_null(ibuf_seek(b, 17, 0));
	assert_null(ibuf_seek(b, 8, SIZE_MAX));
	assert_int_equal(ibuf_get_n16(b, &u16), 0);
	assert_int_equal(u16, 0xaabb);
	assert_int_equal(ibuf_skip(b, 14), 0);
	assert_int_equal(ibuf_skip(b, 1), -1);
	ibuf_rewind(b);
	assert_int_equal(ibuf_size(b), 16);
	assert_int_equal(ibuf_truncate(b, 3), 0);
	assert_int_equal(ibuf_size(b), 3);
	ibuf_free(b);

	assert_non_null(b = ibuf_dynamic(1, 64));
	assert_int_equal(ibuf_add_n64(b, 0x0102030405060708ULL), 0);
	assert_int_equal(ibuf_add_h64(b, 0x0102030405060708ULL), 0);
	assert_int_equal(ibuf_add_h32(b, 0xcafe), 0);
	assert_memory_equal(ibuf_data(b), "\x01\x02\x03\x04\x05\x06\x07\x08",
	    8);
	assert_int_equal(ibuf_get_n64(b, &u64), 0);
	assert_true(u64 == 0x0102030405060708ULL);
	assert_int_equal(ibuf_get_h64(b, &u64), 0);
	assert_true(u64 == 0x0102030405060708ULL);
	assert_int_equal(ibuf_get_h32(b, &u32), 0);
	assert_int_equal(u32, 0xcafe);
	assert_int_equal(ibuf_get_h16(b, &u16), -1);
	errno = 0;
	assert_int_equal(ibuf_add_strbuf(b, "hello", 5), -1);
	assert_int_equal(errno, EOVERFLOW);
	ibuf_free(b);

	/* A view: reads stop at its end, writes are refused. */
	ibuf_from_buffer(&view, raw, sizeof(raw));
	assert_int_equal(ibuf_left(&view), 0);
	assert_null(ibuf_reserve(&view, 1));
	assert_int_equal(ibuf_get_n16(&view, &u16), 0);
	assert_int_equal(u16, 0x0102);
	errno = 0;
	assert_int_equal(ibuf_get_n32(&view, &u32), -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(ibuf_size(&view), 1);
	assert_int_equal(ibuf_skip(&view, 2), -1);
	assert_null(ibuf_get_string(&view, 2));
	assert_int_equal(ibuf_get_n8(&view, &u8), 0);
	assert_int_equal(u8, 3);
	assert_int_equal(ibuf_get_n8(&view, &u8), -1);
	assert_int_equal(ibuf_get(&view, NULL, 0), 0);
	ibuf_free(&view);	/* a no-op for views */

	ibuf_from_buffer(&view, s1, sizeof(s1));
	assert_int_equal(ibuf_get_strbuf(&view, str, sizeof(str)), 0);
	assert_string_equal(str, "abc");
	ibuf_from_buffer(&view, s2, sizeof(s2));
	errno = 0;
	assert_int_equal(ibuf_get_strbuf(&view, str, sizeof(str)), -1);
	assert_int_equal(errno, EOVERFLOW);
	ibuf_from_buffer(&view, s2, sizeof(s2));
	assert_non_null(s = ibuf_get_string(&view, 4));
	assert_string_equal(s, "abcd");
	free(s);
	ibuf_from_buffer(&view, NULL, 0);
	assert_null(ibuf_data(&view));
	assert_int_equal(ibuf_get_n8(&view, &u8), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_wire_format),
		cmocka_unit_test(test_split_writes),
		cmocka_unit_test(test_many_in_one_read),
		cmocka_unit_test(test_large_messages),
		cmocka_unit_test(test_max_size),
		cmocka_unit_test(test_set_maxsize),
		cmocka_unit_test(test_short_len),
		cmocka_unit_test(test_fd_burst),
		cmocka_unit_test(test_fd_not_allowed),
		cmocka_unit_test(test_fd_split_header),
		cmocka_unit_test(test_fd_unmarked),
		cmocka_unit_test(test_fd_no_slots),
		cmocka_unit_test(test_eof_mid_message),
		cmocka_unit_test(test_write_closed_peer),
		cmocka_unit_test(test_get_data),
		cmocka_unit_test(test_create_add_close),
		cmocka_unit_test(test_composev_forward),
		cmocka_unit_test(test_clear_closes_fds),
		cmocka_unit_test(test_ibuf_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
