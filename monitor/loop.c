/* SPDX-License-Identifier: ISC */
/* The monitor's event loop dispatch: a watch taken out of the epoll set gets no callback from the
 * batch being dispatched, even when its event is already in that batch. */
#include "mon.h"

#include <stddef.h>
#include <sys/epoll.h>

/* The batch being dispatched (the monitor is one thread with one loop). */
static struct epoll_event *batch;
static int batch_n, batch_i;

void mon_dispatch(struct epoll_event *evs, int n)
{
	batch = evs;
	batch_n = n;
	for (batch_i = 0; batch_i < batch_n; batch_i++) {
		struct mon_watch *w = evs[batch_i].data.ptr;
		if (w != NULL)
			w->cb(w->arg, evs[batch_i].events);
	}
	batch = NULL;
	batch_n = 0;
}

void mon_unwatch(int epfd, int fd, struct mon_watch *w)
{
	(void)epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	/* Its owner may be freed next: events of it still waiting in this batch are dropped. */
	for (int i = batch_i + 1; i < batch_n; i++)
		if (batch[i].data.ptr == w)
			batch[i].data.ptr = NULL;
}
