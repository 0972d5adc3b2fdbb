/*
 * The input is what a hostile peer writes into an imsg socket.  It goes
 * through a real socketpair in uneven chunks, so headers and bodies get
 * split across reads; every message that comes out is picked apart and
 * its invariants checked.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

#define FUZZ_MAXINPUT	(1024 * 1024)
#define FUZZ_CHUNK	997

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int ok)
{
	if (!ok)
		abort();
}

static void
pick_apart(struct imsg *imsg, ssize_t n, uint32_t maxsize,
    struct imsgbuf *sink)
{
	static unsigned char	 copy[MAX_IMSGSIZE];
	struct ibuf		 view;
	uint32_t		 v;
	size_t			 len;
	char			*s;

	len = imsg_get_len(imsg);
	check(n >= (ssize_t)IMSG_HEADER_SIZE && n <= (ssize_t)maxsize);
	check((size_t)n == IMSG_HEADER_SIZE + len);
	check(imsg->hdr.len == (uint32_t)n);
	/* No descriptor was ever sent. */
	check(imsg_get_fd(imsg) == -1);
	(void)imsg_get_type(imsg);
	(void)imsg_get_id(imsg);
	(void)imsg_get_pid(imsg);

	check(imsg_get_ibuf(imsg, &view) == 0);
	while (ibuf_get_n32(&view, &v) == 0)
		;
	check(ibuf_size(&view) < sizeof(v));
	imsg_get_ibuf(imsg, &view);
	if ((s = ibuf_get_string(&view, len < 64 ? len : 64)) != NULL)
		free(s);
	if (len > 0) {
		check(imsg_get_data(imsg, copy, len) == 0);
		check(memcmp(copy, imsg->data, len) == 0);
		check(imsg_get_data(imsg, copy, len - 1) == -1 ||
		    len == 1);
	}
	check(imsg_forward(sink, imsg) == 1);
}

/* Read once and take out every complete message. */
static int
read_and_drain(struct imsgbuf *rx, struct imsgbuf *sink, int *err)
{
	struct imsg	 imsg;
	ssize_t		 n;
	int		 r;

	r = imsgbuf_read(rx);
	*err = errno;
	while ((n = imsg_get(rx, &imsg)) > 0) {
		pick_apart(&imsg, n, rx->maxsize, sink);
		imsg_free(&imsg);
	}
	check(n == 0);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imsgbuf	 rx, sink;
	size_t		 off = 0, n;
	ssize_t		 w;
	int		 sv[2], r = 1, err = 0;

	if (size > FUZZ_MAXINPUT)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(sv[1], F_SETFL, O_NONBLOCK) == -1)
		abort();
	if (imsgbuf_init(&rx, sv[1]) == -1 || imsgbuf_init(&sink, -1) == -1)
		abort();
	imsgbuf_allow_fdpass(&rx);

	while (off < size && r == 1) {
		n = size - off < FUZZ_CHUNK ? size - off : FUZZ_CHUNK;
		w = write(sv[0], data + off, n);
		if (w == -1 && errno != EAGAIN)
			abort();
		if (w > 0)
			off += w;
		r = read_and_drain(&rx, &sink, &err);
	}
	close(sv[0]);
	while (r == 1)
		r = read_and_drain(&rx, &sink, &err);
	/* A stream that ended cleanly left nothing half-parsed behind. */
	check(r == 0 || r == -1);
	if (r == -1)
		check(err == ERANGE);

	imsgbuf_clear(&sink);
	imsgbuf_clear(&rx);
	close(sv[1]);
	return 0;
}
