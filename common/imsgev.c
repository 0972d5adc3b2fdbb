/*
 * imsgbuf + libevent: re-arm EV_READ always, EV_WRITE only while the
 * queue holds something.
 */
#include <sys/types.h>

#include <errno.h>
#include <event.h>
#include <string.h>
#include <unistd.h>

#include "imsgev.h"
#include "log.h"

int
imsgev_init(struct imsgev *iev, int fd, int fdpass,
    void (*handler)(int, short, void *), void *data)
{
	memset(iev, 0, sizeof(*iev));
	if (imsgbuf_init(&iev->ibuf, fd) == -1)
		return -1;
	if (fdpass)
		imsgbuf_allow_fdpass(&iev->ibuf);
	iev->handler = handler;
	iev->data = data;
	iev->events = EV_READ;
	event_set(&iev->ev, fd, iev->events, handler, iev);
	event_add(&iev->ev, NULL);
	return 0;
}

void
imsgev_add(struct imsgev *iev)
{
	short	 events = EV_READ;

	if (imsgbuf_queuelen(&iev->ibuf) > 0)
		events |= EV_WRITE;
	/* Two epoll_ctl calls per message otherwise. */
	if (events == iev->events && event_pending(&iev->ev, events, NULL) ==
	    events)
		return;
	iev->events = events;
	event_del(&iev->ev);
	event_set(&iev->ev, iev->ibuf.fd, iev->events, iev->handler, iev);
	event_add(&iev->ev, NULL);
}

void
imsgev_clear(struct imsgev *iev)
{
	event_del(&iev->ev);
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
	    len)) != -1)
		imsgev_add(iev);
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
			return -1;
		case 0:
			return -1;
		}
	}
	if (event & EV_WRITE) {
		if (imsgbuf_write(&iev->ibuf) == -1) {
			if (errno != EPIPE)
				log_warn("imsg write");
			return -1;
		}
	}
	imsgev_add(iev);	/* the event is not persistent */
	return 0;
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
