/* SPDX-License-Identifier: ISC */
/* logd's sync workers: a queue of jobs, a few threads that run them, an eventfd that tells the event loop which are done, in order. */
#include "syncer.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "err.h"

/*
 * Workers: enough that the syncs of a few sessions overlap (fsync spends its
 * time waiting for the disk, not on a CPU); more would only queue in the
 * block layer.
 */
#define NWORKERS 4

struct logd_syncer {
	pthread_t thread[NWORKERS];
	unsigned nthreads;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int efd;
	bool stop;
	struct logd_job *todo, **todo_tail;	/* submitted, not yet taken by a worker */
	struct logd_job *order, **order_tail;	/* submitted, done not yet run: submission order */
	unsigned pending;			/* loop thread only */
};

static void *worker(void *arg)
{
	struct logd_syncer *s = arg;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (s->todo == NULL && !s->stop)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->todo == NULL)
			break; /* stopping, and the queue is empty */
		struct logd_job *j = s->todo;
		s->todo = j->next;
		if (s->todo == NULL)
			s->todo_tail = &s->todo;
		pthread_mutex_unlock(&s->mu);
		j->work(j);
		pthread_mutex_lock(&s->mu);
		j->finished = true;
		if (s->order == j) {
			/* Only a finished head lets done callbacks run: later ones wait for it. */
			uint64_t one = 1;
			/* Cannot fail short of a counter overflow; the loop reads it at every wake-up. */
			if (write(s->efd, &one, sizeof(one)) != sizeof(one)) {
			}
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void stop_workers(struct logd_syncer *s)
{
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	for (unsigned i = 0; i < s->nthreads; i++)
		pthread_join(s->thread[i], NULL);
	s->nthreads = 0;
}

int logd_syncer_new(struct logd_syncer **out)
{
	struct logd_syncer *s = calloc(1, sizeof(*s));
	sigset_t all, old;
	int e = 0;
	if (s == NULL)
		return PB_ERR_NOMEM;
	s->todo_tail = &s->todo;
	s->order_tail = &s->order;
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->efd < 0) {
		free(s);
		return PB_ERR_IO;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	/* Threads inherit this mask: SIGTERM, SIGHUP ... must reach the loop's signalfd, never a worker. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i < NWORKERS && e == 0; i++) {
		e = pthread_create(&s->thread[i], NULL, worker, s);
		if (e == 0)
			s->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		stop_workers(s);
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		close(s->efd);
		free(s);
		return e == ENOMEM || e == EAGAIN ? PB_ERR_NOMEM : PB_ERR_IO;
	}
	*out = s;
	return 0;
}

int logd_syncer_fd(const struct logd_syncer *s)
{
	return s->efd;
}

void logd_syncer_submit(struct logd_syncer *s, struct logd_job *j)
{
	j->next = j->onext = NULL;
	j->finished = false;
	pthread_mutex_lock(&s->mu);
	*s->todo_tail = j;
	s->todo_tail = &j->next;
	*s->order_tail = j;
	s->order_tail = &j->onext;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	s->pending++;
}

void logd_syncer_complete(struct logd_syncer *s)
{
	uint64_t n;
	if (read(s->efd, &n, sizeof(n)) < 0) {
		/* EAGAIN: nothing new since the last call; the list below says what is done. */
	}
	/* Take the finished prefix of the submission order; the rest waits for its head. */
	pthread_mutex_lock(&s->mu);
	struct logd_job *list = s->order, **tail = &list;
	while (*tail != NULL && (*tail)->finished)
		tail = &(*tail)->onext;
	s->order = *tail;
	if (s->order == NULL)
		s->order_tail = &s->order;
	*tail = NULL;
	/* The new head is unfinished: its worker writes the eventfd when it is done. */
	pthread_mutex_unlock(&s->mu);
	while (list != NULL) {
		struct logd_job *j = list;
		list = j->onext;
		s->pending--;
		j->done(j); /* may free j */
	}
}

unsigned logd_syncer_pending(const struct logd_syncer *s)
{
	return s->pending;
}

void logd_syncer_free(struct logd_syncer *s)
{
	if (s == NULL)
		return;
	stop_workers(s);
	logd_syncer_complete(s);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	close(s->efd);
	free(s);
}
