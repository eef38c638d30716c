/* SPDX-License-Identifier: ISC */
/* logd's sync worker: one thread runs the blocking half of commits (fsync) off the event loop and hands each finished job back through an eventfd. */
#ifndef LOGD_SYNCER_H
#define LOGD_SYNCER_H

#include <stdbool.h>

/*
 * The event loop must not wait for the disk (lib/server.h), yet a commit
 * point may only be sent once what it covers is durable. So a commit is
 * cut in two: the loop writes the buffers to the kernel and submits a job
 * (descriptors to fdatasync, or an I/O log to finish); a worker does the
 * blocking part; the loop, woken through the eventfd, runs the job's done
 * callback, which sends the commit point.
 *
 * A few workers sync at once (the disk merges their flushes), but done
 * callbacks run strictly in submission order: a job's done runs only after
 * the done of every job submitted before it. logd relies on that (a commit
 * point whose events an earlier job syncs is sent after that job's sync).
 */

struct logd_job {
	struct logd_job *next, *onext;		/* the syncer's queue links */
	bool finished;				/* the syncer's: work has returned */
	void (*work)(struct logd_job *j);	/* in a worker thread: the blocking part */
	void (*done)(struct logd_job *j);	/* back in the loop's thread, after work */
};

struct logd_syncer;

/*
 * logd_syncer_new: start the workers (with every signal blocked in them, so
 * the loop's signalfd gets them). Returns 0 with *out, or PB_ERR_NOMEM /
 * PB_ERR_IO (eventfd or thread creation failed).
 */
int logd_syncer_new(struct logd_syncer **out);

/* logd_syncer_fd: the eventfd that becomes readable when jobs are done (for pb_server_watch_fd). */
int logd_syncer_fd(const struct logd_syncer *s);

/* logd_syncer_submit: queue j (owned by the caller until its done runs). Loop thread only. */
void logd_syncer_submit(struct logd_syncer *s, struct logd_job *j);

/*
 * logd_syncer_complete: read the eventfd and run done for the finished jobs
 * that no unfinished job precedes, in submission order. Loop thread only.
 */
void logd_syncer_complete(struct logd_syncer *s);

/* logd_syncer_pending: jobs submitted whose done has not run yet. */
unsigned logd_syncer_pending(const struct logd_syncer *s);

/*
 * logd_syncer_free: let the workers finish every queued job, stop them, run
 * the remaining done callbacks, and release. NULL accepted.
 */
void logd_syncer_free(struct logd_syncer *s);

#endif
