/* SPDX-License-Identifier: ISC */
/* The session's log client: one logd session, written asynchronously, switched to the spool journal
 * when logd goes away. */
#include "mon.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "debug.h"
#include "err.h"

/* Output waiting for the server is bounded; past this the server is treated as gone. */
#define MLOG_QUEUE_MAX (8u * 1024u * 1024u)

/*
 * Messages are written in batches: at most this long after the first one
 * queued, or at once when this much is queued. One TLS record and one
 * wake-up of logd then carry the accepts and finishes of several commands.
 */
#define MLOG_BATCH_MS 5
#define MLOG_BATCH_BYTES (16u * 1024u)

enum mlog_mode {
	ML_OFF, /* no log server configured */
	ML_LIVE,
	ML_SPOOL,
};

/* One framed ClientMessage: queued (not yet written), or written and kept until committed. */
struct qframe {
	struct qframe *next;
	uint8_t *buf;        /* header + payload */
	size_t len;
	bool io;             /* an I/O record: kept until a commit point covers it */
	bool ev;             /* an event message (mon_log_event) */
	bool exit;           /* the session's ExitMessage */
	uint64_t evn;        /* ev: its number in the session (from 1), what events_stored counts */
	struct timespec cum; /* the I/O log's elapsed time after this record */
};

struct qlist {
	struct qframe *head, *tail;
};

struct mlog {
	const struct mon_net *net;
	const struct pb_hostport *hp;
	size_t nhp;
	const char *spooldir;
	int epfd;
	enum mlog_mode mode;
	struct pb_tls *t;
	char server[128];
	unsigned exts; /* MON_EXT_* the server announced */
	bool iosess;   /* the session has an I/O log (its first Accept expects I/O) */
	struct mon_watch w;
	bool want_write;
	int64_t retry_at;  /* spooling: when to try the log servers again */
	int64_t flush_at;  /* live: when the batch queued must be written (0: none) */
	struct qlist q;    /* not yet written */
	struct qlist kept; /* written I/O records after the last commit point; with event
	                    * acknowledgements (evkeep), written events not yet acknowledged */
	uint64_t evsent;   /* event messages of the session queued so far (the last evn) */
	uint64_t evacked;  /* the last events_stored: events the server has made durable */
	char evwhere[48];  /* the events_where that came with events_stored evwhere_n (restarts
	                    * send it back: the server reads its log from there) */
	uint64_t evwhere_n;
	size_t qbytes;
	/* The frames at the head of q being written, copied into one buffer: one TLS record
	 * and one write for a batch instead of one per message. */
	uint8_t *wbuf;
	size_t wcap, wlen, woff, wframes;
	struct timespec cum; /* elapsed time of the I/O records so far */
	struct timespec committed;
	char *log_id;
	uint8_t *first; /* the session's first message, for a continuation */
	size_t first_len;
	bool ended;        /* Exit (or a rejected start) queued: the server closes next */
	bool closed;       /* the server closed after the end: all delivered */
	bool has_io;       /* I/O records were sent: the end needs a commit point for all */
	uint8_t *exit_msg; /* the Exit written to the server, for a continuation */
	size_t exit_len;
	struct spool_journal *j;
};

static void qlist_push(struct qlist *l, struct qframe *f)
{
	f->next = NULL;
	if (l->tail)
		l->tail->next = f;
	else
		l->head = f;
	l->tail = f;
}

static struct qframe *qlist_pop(struct qlist *l)
{
	struct qframe *f = l->head;
	if (f != NULL) {
		l->head = f->next;
		if (l->head == NULL)
			l->tail = NULL;
	}
	return f;
}

static void qframe_free(struct qframe *f)
{
	if (f != NULL) {
		free(f->buf);
		free(f);
	}
}

static void qlist_clear(struct qlist *l)
{
	struct qframe *f;
	while ((f = qlist_pop(l)) != NULL)
		qframe_free(f);
}

static void mlog_io_cb(void *arg, uint32_t events);

/*
 * evkeep: a session on a server with event-acks: written events are kept
 * until events_stored covers them, and a continuation resumes after the
 * last one acknowledged (logd restarts the session and drops what it
 * stored already). An I/O-logged session keeps them in order with its I/O
 * records, and its continuation resumes both: the I/O log at its commit
 * point, the events after the acknowledged ones.
 */
static bool evkeep(const struct mlog *l)
{
	return (l->exts & MON_EXT_EVACKS) != 0;
}

/* acked: a kept frame the server has acknowledged (commit point, or events_stored). */
static bool acked(const struct mlog *l, const struct qframe *f)
{
	return f->io ? mon_ts_cmp(f->cum, l->committed) <= 0 : !f->ev || f->evn <= l->evacked;
}

struct mlog *mlog_new(const struct mon_net *net, const struct pb_hostport *hp, size_t n,
                      const char *spooldir, int epfd)
{
	struct mlog *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->net = net;
	l->hp = hp;
	l->nhp = n;
	l->spooldir = spooldir;
	l->epfd = epfd;
	l->mode = n > 0 ? ML_LIVE : ML_OFF;
	l->w.cb = mlog_io_cb;
	l->w.arg = l;
	return l;
}

static void watch_update(struct mlog *l, int op)
{
	struct epoll_event ev = {.events = EPOLLIN | (l->want_write ? EPOLLOUT : 0),
	                         .data.ptr = &l->w};
	if (l->t != NULL && l->epfd >= 0)
		(void)epoll_ctl(l->epfd, op, pb_tls_fd(l->t), &ev);
}

static void drop_conn(struct mlog *l)
{
	if (l->t == NULL)
		return;
	if (l->epfd >= 0)
		mon_unwatch(l->epfd, pb_tls_fd(l->t), &l->w);
	pb_tls_free(l->t);
	l->t = NULL;
	/* What was staged is still at the head of q: written again (or journaled) whole. */
	l->wlen = l->woff = l->wframes = 0;
}

/* journal_cm: write one payload (frame header stripped) to the journal. */
static void journal_frame(struct mlog *l, const uint8_t *payload, size_t len)
{
	int rc = spool_journal_frame(l->j, payload, len);
	if (rc < 0)
		pb_log(PB_LV_ERROR, "spool journal %s: %s", spool_journal_path(l->j),
		       pb_strerror(rc));
}

/*
 * start_continuation: the journal of a session whose log server went away
 * mid-session starts where the server's acknowledgement ended: a restart
 * of the I/O log at its last commit point, or (events only) the session's
 * first message again, marked as a continuation.
 */
static void start_continuation(struct mlog *l)
{
	Pblog__ClientMessage cm = PBLOG__CLIENT_MESSAGE__INIT;
	uint8_t *buf = NULL;
	size_t len = 0;
	/*
	 * Events-only with acknowledgements but no log id yet: nothing was
	 * acknowledged, and the kept and queued frames hold the whole session
	 * from its first message, which to_spool writes.
	 */
	if (evkeep(l) && l->log_id == NULL)
		return;
	if (l->log_id != NULL) {
		Pblog__RestartMessage rm = PBLOG__RESTART_MESSAGE__INIT;
		Pblog__TimeSpec ts = PBLOG__TIME_SPEC__INIT;
		ts.tv_sec = l->committed.tv_sec;
		ts.tv_nsec = (int32_t)l->committed.tv_nsec;
		rm.log_id = l->log_id;
		rm.resume_point = &ts;
		if (evkeep(l)) {
			rm.events_acked = l->evacked; /* the unacknowledged events follow */
			if (l->evwhere_n == l->evacked && l->evwhere[0] != '\0')
				rm.events_where = l->evwhere;
		}
		cm.type_case = PBLOG__CLIENT_MESSAGE__TYPE_RESTART_MSG;
		cm.restart_msg = &rm;
		if (pb_frame_pack(&cm.base, l->net->max, &buf, &len) == 0)
			journal_frame(l, buf + PB_FRAME_HDR, len - PB_FRAME_HDR);
		free(buf);
		return;
	}
	if (l->first == NULL)
		return;
	Pblog__ClientMessage *f = pblog__client_message__unpack(NULL, l->first_len, l->first);
	if (f == NULL)
		return;
	if (f->type_case == PBLOG__CLIENT_MESSAGE__TYPE_ACCEPT_MSG) {
		Pblog__AcceptMessage *am = f->accept_msg;
		Pblog__InfoMessage info = PBLOG__INFO_MESSAGE__INIT, **msgs;
		info.key = (char *)"continued";
		info.value_case = PBLOG__INFO_MESSAGE__VALUE_NUMVAL;
		info.numval = 1;
		msgs = malloc((am->n_info_msgs + 1) * sizeof(*msgs));
		if (msgs != NULL) {
			memcpy(msgs, am->info_msgs, am->n_info_msgs * sizeof(*msgs));
			msgs[am->n_info_msgs] = &info;
			Pblog__InfoMessage **old = am->info_msgs;
			am->info_msgs = msgs;
			am->n_info_msgs++;
			if (pb_frame_pack(&f->base, l->net->max, &buf, &len) == 0)
				journal_frame(l, buf + PB_FRAME_HDR, len - PB_FRAME_HDR);
			free(buf);
			am->info_msgs = old;
			am->n_info_msgs--;
			free(msgs);
		}
	}
	pblog__client_message__free_unpacked(f, NULL);
}

/*
 * to_spool: the server is gone (or never answered): from now on the session
 * goes to a journal, beginning with what the server has not acknowledged.
 */
static void to_spool(struct mlog *l, const char *why)
{
	char err[512];
	bool fresh = l->mode == ML_LIVE && l->first != NULL && l->t == NULL && l->server[0] == '\0';
	if (l->mode == ML_SPOOL)
		return;
	if (l->j != NULL) {
		/* Lost again while the journal was being sent (mlog_tick): the journal still holds
		 * it all. */
		drop_conn(l);
		l->mode = ML_SPOOL;
		qlist_clear(&l->q);
		qlist_clear(&l->kept);
		l->qbytes = 0;
		return;
	}
	if (why != NULL)
		pb_log(PB_LV_WARN, "log server %s: %s; spooling the session",
		       l->server[0] ? l->server : "", why);
	drop_conn(l);
	l->mode = ML_SPOOL;
	l->retry_at = mon_now_ms() + l->net->spool_retry_ms;
	if (spool_journal_create(l->spooldir, &l->j, err, sizeof(err)) < 0) {
		pb_log(PB_LV_ERROR, "%s: the session's log is lost", err);
		l->mode = ML_OFF;
		qlist_clear(&l->q);
		qlist_clear(&l->kept);
		return;
	}
	if (fresh)
		journal_frame(l, l->first, l->first_len);
	else
		start_continuation(l);
	for (struct qframe *f = l->kept.head; f != NULL; f = f->next)
		if (!acked(l, f)) /* (behind one not acknowledged: see prune) */
			journal_frame(l, f->buf + PB_FRAME_HDR, f->len - PB_FRAME_HDR);
	for (struct qframe *f = l->q.head; f != NULL; f = f->next)
		journal_frame(l, f->buf + PB_FRAME_HDR, f->len - PB_FRAME_HDR);
	/* An Exit already written but not acknowledged ends the continuation too. */
	if (!fresh && l->exit_msg != NULL)
		journal_frame(l, l->exit_msg + PB_FRAME_HDR, l->exit_len - PB_FRAME_HDR);
	qlist_clear(&l->q);
	qlist_clear(&l->kept);
	l->qbytes = 0;
}

/* flush: write queued frames until the socket is full. */
/* Largest write buffer: a batch is at most MLOG_BATCH_BYTES plus the message that crossed it. */
#define MLOG_WBUF_MAX (64u * 1024u)

/* stage: copy the frames at the head of q into the write buffer (at least one). */
static bool stage(struct mlog *l)
{
	size_t n = 0, k = 0;
	for (struct qframe *f = l->q.head; f != NULL; f = f->next) {
		if (k > 0 && n + f->len > MLOG_WBUF_MAX)
			break;
		n += f->len;
		k++;
	}
	if (k == 0)
		return false;
	if (n > l->wcap) {
		uint8_t *b = realloc(l->wbuf, n);
		if (b == NULL)
			return false;
		l->wbuf = b;
		l->wcap = n;
	}
	n = 0;
	struct qframe *f = l->q.head;
	for (size_t i = 0; i < k; i++, f = f->next) {
		memcpy(l->wbuf + n, f->buf, f->len);
		n += f->len;
	}
	l->wlen = n;
	l->woff = 0;
	l->wframes = k;
	return true;
}

/* written: the frame at the head of q is on the wire: keep it until acknowledged, or free it. */
static void written(struct mlog *l)
{
	struct qframe *f = qlist_pop(&l->q);
	l->qbytes -= f->len;
	if (f->io || (f->ev && evkeep(l))) {
		l->has_io |= f->io;
		qlist_push(&l->kept, f);
	} else if (f->exit && l->exit_msg == NULL) {
		/* Kept whole: the frame's buffer becomes the copy (header skipped when used). */
		l->exit_msg = f->buf;
		l->exit_len = f->len;
		free(f);
	} else {
		qframe_free(f);
	}
}

/* flush: write queued frames, a batch at a time, until the socket is full. */
static void flush(struct mlog *l)
{
	l->flush_at = 0;
	while (l->mode == ML_LIVE && (l->wlen > 0 || stage(l))) {
		ssize_t r = pb_tls_write(l->t, l->wbuf + l->woff, l->wlen - l->woff);
		if (r == PB_ERR_WANT_WRITE || r == PB_ERR_WANT_READ)
			break;
		if (r < 0) {
			to_spool(l, pb_strerror((int)r));
			return;
		}
		l->woff += (size_t)r;
		if (l->woff < l->wlen)
			continue;
		for (size_t i = 0; i < l->wframes; i++)
			written(l);
		l->wlen = l->woff = l->wframes = 0;
	}
	bool want = l->mode == ML_LIVE && l->q.head != NULL;
	if (want != l->want_write) {
		l->want_write = want;
		watch_update(l, EPOLL_CTL_MOD);
	}
}

/*
 * prune: drop the acknowledged frames at the head of the kept ones. (I/O
 * records and events are acknowledged separately: one acknowledged behind
 * one that is not stays until that one is, and is left out of a
 * continuation.)
 */
static void prune(struct mlog *l)
{
	struct qframe *f;
	while ((f = l->kept.head) != NULL && acked(l, f))
		qframe_free(qlist_pop(&l->kept));
}

/* committed_to: drop the kept records a commit point covers. */
static void committed_to(struct mlog *l, struct timespec point)
{
	l->committed = point;
	prune(l);
}

/* set_where: the server's events_where for acknowledgement n (NULL or too long: none). */
static void set_where(struct mlog *l, const char *where, uint64_t n)
{
	l->evwhere_n = 0;
	if (where != NULL && strlen(where) < sizeof(l->evwhere)) {
		memcpy(l->evwhere, where, strlen(where) + 1);
		l->evwhere_n = n;
	}
}

/* events_acked: drop the kept events the server has made durable (extension event-acks). */
static void events_acked(struct mlog *l, uint64_t n, const char *where)
{
	if (n > l->evacked) {
		l->evacked = n;
		set_where(l, where, n);
	}
	prune(l);
}

/* read_server: everything the server has sent. */
static void read_server(struct mlog *l)
{
	do {
		uint8_t *buf = NULL;
		size_t len = 0;
		int rc = pb_tls_recv_frame(l->t, l->net->max, l->net->request_ms, &buf, &len);
		/*
		 * The server closes a finished session. An I/O log is delivered
		 * only when a commit point covers all of it: a server that dies
		 * after our Exit closes too.
		 */
		if (rc == PB_ERR_EOF && l->ended && l->q.head == NULL &&
		    (!l->has_io || mon_ts_cmp(l->committed, l->cum) >= 0) &&
		    (!evkeep(l) || l->evacked >= l->evsent)) {
			l->closed = true;
			drop_conn(l);
			return;
		}
		if (rc < 0) {
			to_spool(l, rc == PB_ERR_EOF ? "connection closed" : pb_strerror(rc));
			return;
		}
		Pblog__ServerMessage *sm = pblog__server_message__unpack(NULL, len, buf);
		free(buf);
		if (sm == NULL) {
			to_spool(l, "undecodable message");
			return;
		}
		switch (sm->type_case) {
		case PBLOG__SERVER_MESSAGE__TYPE_LOG_ID:
			free(l->log_id);
			l->log_id = strdup(sm->log_id);
			PB_TRACE(PB_SS_MONITOR, 3, "log id %s", sm->log_id);
			/* An I/O log's id comes once its Accept (event 1) is durable. */
			if (l->iosess && evkeep(l))
				events_acked(l, 1, NULL);
			break;
		case PBLOG__SERVER_MESSAGE__TYPE_EVENTS_STORED:
			events_acked(l, sm->events_stored, sm->events_where);
			break;
		case PBLOG__SERVER_MESSAGE__TYPE_COMMIT_POINT:
			committed_to(l, (struct timespec){(time_t)sm->commit_point->tv_sec,
			                                  sm->commit_point->tv_nsec});
			break;
		case PBLOG__SERVER_MESSAGE__TYPE_ERROR:
		case PBLOG__SERVER_MESSAGE__TYPE_ABORT: {
			/* The server refused our log: keep it in the spool for an administrator. */
			char why[300];
			snprintf(why, sizeof(why), "refused the log: %.250s",
			         sm->type_case == PBLOG__SERVER_MESSAGE__TYPE_ERROR ? sm->error
			                                                            : sm->abort);
			pblog__server_message__free_unpacked(sm, NULL);
			to_spool(l, why);
			return;
		}
		default:
			break;
		}
		pblog__server_message__free_unpacked(sm, NULL);
	} while (l->t != NULL && pb_tls_pending(l->t) > 0);
}

static void mlog_io_cb(void *arg, uint32_t events)
{
	struct mlog *l = arg;
	if (l->t != NULL && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		read_server(l);
	if (l->t != NULL && (events & EPOLLOUT))
		flush(l);
}

const char *mlog_begin(struct mlog *l, const Pblog__ClientMessage *first)
{
	char err[512];
	size_t which = 0;
	size_t n = protobuf_c_message_get_packed_size(&first->base);
	if (l->mode == ML_OFF)
		return "";
	/* A refused start is the whole session: the server closes after it. */
	l->ended = first->type_case == PBLOG__CLIENT_MESSAGE__TYPE_REJECT_MSG;
	l->iosess = first->type_case == PBLOG__CLIENT_MESSAGE__TYPE_ACCEPT_MSG &&
	            first->accept_msg->expect_iobufs;
	l->first = malloc(n ? n : 1);
	if (l->first != NULL) {
		protobuf_c_message_pack(&first->base, l->first);
		l->first_len = n;
	}
	l->t = mon_log_open(l->net, l->hp, l->nhp, &l->exts, &which, err, sizeof(err));
	if (l->t == NULL) {
		to_spool(l, err);
		return l->mode == ML_SPOOL ? "spool" : "";
	}
	snprintf(l->server, sizeof(l->server), "%s", l->hp[which].text);
	watch_update(l, EPOLL_CTL_ADD);
	mlog_send(l, first);
	return l->server;
}

/* queue: one message for the live server, written as soon as the socket takes it. */
static void queue(struct mlog *l, const Pblog__ClientMessage *cm)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	struct timespec delay;
	int rc = pb_frame_pack(&cm->base, l->net->max, &buf, &len);
	if (rc < 0) {
		pb_log(PB_LV_ERROR, "log message dropped: %s", pb_strerror(rc));
		return;
	}
	struct qframe *f = calloc(1, sizeof(*f));
	if (f == NULL) {
		free(buf);
		to_spool(l, "out of memory");
		return;
	}
	f->buf = buf;
	f->len = len;
	f->exit = cm->type_case == PBLOG__CLIENT_MESSAGE__TYPE_EXIT_MSG;
	if ((f->ev = mon_log_event(cm)))
		f->evn = ++l->evsent;
	if ((f->io = mon_log_delay(cm, &delay))) {
		l->cum = mon_ts_add(l->cum, delay);
		f->cum = l->cum;
	}
	qlist_push(&l->q, f);
	l->qbytes += len;
	if (l->qbytes > MLOG_QUEUE_MAX) {
		to_spool(l, "not reading fast enough");
		return;
	}
	if (l->qbytes >= MLOG_BATCH_BYTES || l->ended) {
		flush(l);
		return;
	}
	if (l->flush_at == 0 && !l->want_write)
		l->flush_at = mon_now_ms() + MLOG_BATCH_MS;
}

void mlog_send(struct mlog *l, const Pblog__ClientMessage *cm)
{
	if (l->mode == ML_OFF)
		return;
	if (cm->type_case == PBLOG__CLIENT_MESSAGE__TYPE_EXIT_MSG)
		l->ended = true;
	if (l->mode == ML_LIVE) {
		queue(l, cm);
		return;
	}
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = pb_frame_pack(&cm->base, l->net->max, &buf, &len);
	if (rc < 0) {
		pb_log(PB_LV_ERROR, "log message dropped: %s", pb_strerror(rc));
		return;
	}
	journal_frame(l, buf + PB_FRAME_HDR, len - PB_FRAME_HDR);
	free(buf);
}

int mlog_timeout(const struct mlog *l)
{
	int64_t at;
	if (l == NULL)
		return -1;
	if (l->mode == ML_LIVE && l->flush_at != 0)
		at = l->flush_at;
	else if (l->mode == ML_SPOOL && l->j != NULL && !l->ended)
		at = l->retry_at;
	else
		return -1;
	int64_t left = at - mon_now_ms();
	return left < 0 ? 0 : (int)left;
}

/* requeue_cb: one journal frame goes to the live server as if it were new. */
static void requeue_cb(void *arg, const uint8_t *payload, size_t len)
{
	struct mlog *l = arg;
	if (l->mode != ML_LIVE)
		return; /* the server went away again: the journal stays */
	Pblog__ClientMessage *cm = pblog__client_message__unpack(NULL, len, payload);
	if (cm == NULL)
		return;
	if (cm->type_case == PBLOG__CLIENT_MESSAGE__TYPE_RESTART_MSG &&
	    cm->restart_msg->resume_point) {
		/* A continuation resumes the I/O log: elapsed time and acknowledgement start there.
		 */
		l->cum.tv_sec = (time_t)cm->restart_msg->resume_point->tv_sec;
		l->cum.tv_nsec = cm->restart_msg->resume_point->tv_nsec;
		l->committed = l->cum;
	}
	if (cm->type_case == PBLOG__CLIENT_MESSAGE__TYPE_RESTART_MSG && cm->restart_msg->log_id &&
	    (cm->restart_msg->log_id[0] == '@' || cm->restart_msg->events_acked > 0)) {
		/* A continuation with event-acks: the events after the acknowledged ones follow. */
		l->evsent = l->evacked = cm->restart_msg->events_acked;
		set_where(l, cm->restart_msg->events_where, l->evacked);
		free(l->log_id);
		l->log_id = strdup(cm->restart_msg->log_id);
	}
	if (cm->type_case != PBLOG__CLIENT_MESSAGE__TYPE_SUBCMD_EXIT || (l->exts & MON_EXT_SUBCMD))
		queue(l, cm);
	pblog__client_message__free_unpacked(cm, NULL);
}

void mlog_tick(struct mlog *l)
{
	char err[512];
	size_t which = 0;
	if (mlog_timeout(l) != 0)
		return;
	if (l->mode == ML_LIVE) {
		flush(l);
		return;
	}
	l->retry_at = mon_now_ms() + l->net->spool_retry_ms;
	struct pb_tls *t = mon_log_open(l->net, l->hp, l->nhp, &l->exts, &which, err, sizeof(err));
	if (t == NULL) {
		PB_TRACE(PB_SS_MONITOR, 3, "still spooling: %s", err);
		return;
	}
	/* The journal so far opens the server's session; from here on it is the live stream's. */
	l->t = t;
	l->mode = ML_LIVE;
	snprintf(l->server, sizeof(l->server), "%s", l->hp[which].text);
	l->cum = l->committed = (struct timespec){0, 0};
	l->evsent = l->evacked = 0;
	watch_update(l, EPOLL_CTL_ADD);
	int rc = spool_journal_frames(l->j, requeue_cb, l);
	if (rc < 0 || l->mode != ML_LIVE) {
		/* Unreadable, or the server went away again meanwhile: the journal stays where it
		 * is. */
		if (rc < 0)
			pb_log(PB_LV_ERROR, "spool journal %s: %s", spool_journal_path(l->j),
			       pb_strerror(rc));
		return;
	}
	flush(l);
	if (l->mode != ML_LIVE)
		return;
	pb_log(PB_LV_NOTICE,
	       "log server %s answers again: the spooled part of the session was sent", l->server);
	spool_journal_discard(l->j);
	l->j = NULL;
}

bool mlog_subcmd_exit(const struct mlog *l)
{
	return l->mode == ML_SPOOL || (l->mode == ML_LIVE && (l->exts & MON_EXT_SUBCMD));
}

void mlog_finish(struct mlog *l)
{
	char err[1024];
	int64_t deadline = mon_now_ms() + l->net->request_ms;
	while (l->mode == ML_LIVE && l->t != NULL && !l->closed) {
		int left = (int)(deadline - mon_now_ms());
		if (left <= 0) {
			to_spool(l, "no acknowledgement of the session's end");
			break;
		}
		struct pollfd p = {.fd = pb_tls_fd(l->t),
		                   .events = POLLIN | (l->q.head ? POLLOUT : 0)};
		int r = poll(&p, 1, left);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0)
			mlog_io_cb(l, (p.revents & POLLIN ? EPOLLIN : 0) |
			                  (p.revents & POLLOUT ? EPOLLOUT : 0) |
			                  (p.revents & (POLLHUP | POLLERR) ? EPOLLHUP : 0));
	}
	if (l->mode != ML_SPOOL || l->j == NULL)
		return;
	int rc = spool_journal_end(l->j);
	if (rc < 0) {
		pb_log(PB_LV_ERROR, "spool journal %s: %s", spool_journal_path(l->j),
		       pb_strerror(rc));
		return;
	}
	/* A log server may answer again by now: forward at once rather than wait for the next
	 * session. */
	if (spool_journal_forward(l->j, l->net, l->hp, l->nhp, err, sizeof(err)) == 0)
		pb_log(PB_LV_INFO, "the spooled session was forwarded");
	else
		PB_TRACE(PB_SS_MONITOR, 2, "session stays in the spool: %s", err);
}

void mlog_free(struct mlog *l)
{
	if (l == NULL)
		return;
	drop_conn(l);
	qlist_clear(&l->q);
	qlist_clear(&l->kept);
	free(l->wbuf);
	spool_journal_close(l->j);
	free(l->log_id);
	free(l->first);
	free(l->exit_msg);
	free(l);
}
