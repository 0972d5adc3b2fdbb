/*
 * An imsgbuf tied to a libevent event: the glue every process uses.
 */
#ifndef PDS_IMSGEV_H
#define PDS_IMSGEV_H

#include <sys/types.h>
#include <event.h>

#include "imsg.h"

struct imsgev {
	struct imsgbuf	 ibuf;
	struct event	 ev;
	struct event	 flush;		/* end of this loop turn */
	void		(*handler)(int, short, void *);
	short		 events;
	void		*data;
};

int	imsgev_init(struct imsgev *, int, int, void (*)(int, short, void *),
	    void *);
void	imsgev_add(struct imsgev *);
void	imsgev_clear(struct imsgev *);
int	imsgev_compose(struct imsgev *, uint32_t, uint32_t, pid_t, int,
	    const void *, size_t);
int	imsgev_handle_io(struct imsgev *, short);
int	imsg_get_string(struct imsg *, char *, size_t);

#endif
