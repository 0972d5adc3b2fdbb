/*
 * imsgbuf + libevent: re-arm EV_READ always, EV_WRITE only while the
 * queue holds something.
 */
#include <sys/types.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "imsgev.h"
#include "log.h"

/*
 * What the turn's callbacks composed, in one write before the loop
 * sleeps: as if EV_WRITE had fired, so the handler sees the queue
 * drain (control closes a connection there).
 */
static void
imsgev_flush(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;

	if (iev->ibuf.fd == -1 || imsgbuf_queuelen(&iev->ibuf) == 0)
		return;
	iev->handler(iev->ibuf.fd, EV_WRITE, iev);
}

int
imsgev_init(struct imsgev *iev, int fd, int fdpass,
    void (*handler)(int, short, void *), void *data)
{
	int	 fl;

	memset(iev, 0, sizeof(*iev));
	/* imsgev_flush writes without waiting for EV_WRITE: never block. */
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	if (imsgbuf_init(&iev->ibuf, fd) == -1)
		return -1;
	if (fdpass)
		imsgbuf_allow_fdpass(&iev->ibuf);
	iev->handler = handler;
	iev->data = data;
	iev->events = EV_READ;
	event_set(&iev->ev, fd, iev->events | EV_PERSIST, handler, iev);
	event_add(&iev->ev, NULL);
	event_set(&iev->flush, -1, 0, imsgev_flush, iev);
	return 0;
}

void
imsgev_add(struct imsgev *iev)
{
	short	 events = EV_READ;

	if (imsgbuf_queuelen(&iev->ibuf) > 0)
		events |= EV_WRITE;
	/*
	 * Persistent, and touched only when EV_WRITE comes or goes: two
	 * epoll_ctl calls per message otherwise.
	 */
	if (events == iev->events && event_pending(&iev->ev, events, NULL) ==
	    events)
		return;
	iev->events = events;
	event_del(&iev->ev);
	event_set(&iev->ev, iev->ibuf.fd, iev->events | EV_PERSIST,
	    iev->handler, iev);
	event_add(&iev->ev, NULL);
}

void
imsgev_clear(struct imsgev *iev)
{
	event_del(&iev->ev);
	event_del(&iev->flush);
	imsgbuf_clear(&iev->ibuf);
	close(iev->ibuf.fd);
	iev->ibuf.fd = -1;
}

int
imsgev_compose(struct imsgev *iev, uint32_t type, uint32_t peerid, pid_t pid,
    int fd, const void *data, size_t len)
{
	int	 r;

	if ((r = imsg_compose(&iev->ibuf, type, peerid, pid, fd, data,
	    len)) == -1)
		return r;
	/*
	 * Sent at the end of this loop turn, not on the next: a request
	 * to signerd and its answer each saved a turn of the sender's
	 * loop and four epoll_ctl calls.  Not at once: what one turn
	 * composes leaves together, so signerd still syncs a burst of
	 * commits above its lease as one batch.
	 */
	if ((iev->events & EV_WRITE) == 0)
		event_active(&iev->flush, EV_WRITE, 1);
	return r;
}

/*
 * Read and write what the event says is ready.  Returns 0 when the peer
 * is still there, -1 when it closed or broke the protocol: the caller
 * decides whether that is fatal (a sibling) or not (a control client).
 */
int
imsgev_handle_io(struct imsgev *iev, short event)
{
	if (event & EV_READ) {
		switch (imsgbuf_read(&iev->ibuf)) {
		case -1:
			log_warn("imsg read");
			goto lost;
		case 0:
			goto lost;
		}
	}
	if (event & EV_WRITE) {
		if (imsgbuf_write(&iev->ibuf) == -1) {
			if (errno != EPIPE)
				log_warn("imsg write");
			goto lost;
		}
	}
	imsgev_add(iev);	/* drop EV_WRITE once the queue is empty */
	return 0;
lost:
	/* A persistent event on a dead channel would fire forever. */
	event_del(&iev->ev);
	return -1;
}

/*
 * The whole payload as one string: 1 to len bytes, NUL-terminated, no
 * NUL before the end.  0, or -1 for a malformed message.
 */
int
imsg_get_string(struct imsg *imsg, char *buf, size_t len)
{
	size_t	 n = imsg_get_len(imsg);

	if (n == 0 || n > len || imsg_get_data(imsg, buf, n) == -1 ||
	    buf[n - 1] != '\0' || strlen(buf) != n - 1)
		return -1;
	return 0;
}
