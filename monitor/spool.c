/* SPDX-License-Identifier: ISC */
/* The spool journal of a session whose log server is away, and its forwarding with no loss and no
 * duplicates. */
#include "mon.h"
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debug.h"
#include "err.h"

#define JOURNAL_SUFFIX ".journal"

struct spool_journal {
	int fd;
	char *path;
};

/* mkdirs: make dir and its missing parents, the last one mode 0700. */
static int mkdirs(const char *dir)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
		return PB_ERR_INVAL;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return PB_ERR_IO;
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return PB_ERR_IO;
	return 0;
}

/* check_dir: the spool holds root's records: only its owner may write there. */
static int check_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(dir, &st) < 0) {
		snprintf(err, errlen, "spool directory %s: %s", dir, strerror(errno));
		return errno == ENOENT ? PB_ERR_NOTFOUND : PB_ERR_IO;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		snprintf(err, errlen,
		         "spool directory %s must be a directory owned by uid %ld that "
		         "only its owner may write",
		         dir, (long)geteuid());
		return PB_ERR_DENIED;
	}
	return 0;
}

int spool_journal_create(const char *dir, struct spool_journal **jp, char *err, size_t errlen)
{
	struct spool_journal *j = NULL;
	char id[33], path[4096];
	int rc;

	*jp = NULL;
	if (dir == NULL) {
		snprintf(err, errlen, "no spooldir configured");
		return PB_ERR_CONF;
	}
	if (mkdirs(dir) < 0) {
		snprintf(err, errlen, "cannot make spool directory %s: %s", dir, strerror(errno));
		return PB_ERR_IO;
	}
	if ((rc = check_dir(dir, err, errlen)) < 0)
		return rc;
	mon_uniqueid(id);
	id[12] = '\0';
	snprintf(path, sizeof(path), "%s/%lld-%ld-%s" JOURNAL_SUFFIX, dir, (long long)time(NULL),
	         (long)getpid(), id);
	j = calloc(1, sizeof(*j));
	if (j == NULL || (j->path = strdup(path)) == NULL) {
		free(j);
		snprintf(err, errlen, "out of memory");
		return PB_ERR_NOMEM;
	}
	j->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (j->fd < 0 || flock(j->fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "cannot create journal %s: %s", path, strerror(errno));
		spool_journal_close(j);
		return PB_ERR_IO;
	}
	PB_TRACE(PB_SS_MONITOR, 2, "spooling to %s", path);
	*jp = j;
	return 0;
}

/* put_record: one SpoolRecord as a frame, written through (the journal is the only copy). */
static int put_record(int fd, const SpoolRecord *r)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = pb_frame_pack(&r->base, 0, &buf, &len);
	if (rc < 0)
		return rc;
	ssize_t w;
	do
		w = write(fd, buf, len);
	while (w < 0 && errno == EINTR);
	free(buf);
	if (w < 0)
		return errno == ENOSPC ? PB_ERR_NOSPC : PB_ERR_IO;
	return (size_t)w == len ? 0 : PB_ERR_NOSPC;
}

int spool_journal_frame(struct spool_journal *j, const uint8_t *cm, size_t len)
{
	SpoolRecord r = SPOOL_RECORD__INIT;
	r.type_case = SPOOL_RECORD__TYPE_FRAME;
	r.frame.data = (uint8_t *)cm;
	r.frame.len = len;
	return put_record(j->fd, &r);
}

int spool_journal_end(struct spool_journal *j)
{
	SpoolRecord r = SPOOL_RECORD__INIT;
	r.type_case = SPOOL_RECORD__TYPE_END;
	r.end = true;
	int rc = put_record(j->fd, &r);
	if (rc == 0 && fdatasync(j->fd) < 0)
		rc = PB_ERR_IO;
	return rc;
}

const char *spool_journal_path(const struct spool_journal *j)
{
	return j->path;
}

void spool_journal_close(struct spool_journal *j)
{
	if (j == NULL)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j);
}

/* ---- reading and forwarding ---- */

/* A journal as read back: its frames and the last marks. */
struct jdata {
	ProtobufCBinaryData *frames;
	size_t n, cap;
	char *log_id;
	uint64_t stored;
	struct timespec commit;
	uint64_t events; /* the last events_stored recorded (events-only sessions) */
	const char *where; /* ... its events_where (in recs), or NULL */
	bool evmark;     /* ... there is one */
	bool end;
	SpoolRecord **recs; /* unpacked records own the frame bytes */
	size_t nrecs, caprecs;
};

static void jdata_free(struct jdata *d)
{
	for (size_t i = 0; i < d->nrecs; i++)
		spool_record__free_unpacked(d->recs[i], NULL);
	free(d->recs);
	free(d->frames);
	memset(d, 0, sizeof(*d));
}

/* grow: make room for one more element of size sz in *arr. */
static bool grow(void **arr, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return true;
	size_t nc = *cap ? *cap * 2 : 64;
	void *p = realloc(*arr, nc * sz);
	if (p == NULL)
		return false;
	*arr = p;
	*cap = nc;
	return true;
}

/*
 * jdata_load: read every record from the start. A frame cut short at the
 * end (the writer died mid-record) ends the journal there.
 */
/* frame_msg: frame i of a loaded journal, unpacked (NULL when it does not decode). */
static Pblog__ClientMessage *frame_msg(const struct jdata *d, size_t i)
{
	return pblog__client_message__unpack(NULL, d->frames[i].len, d->frames[i].data);
}

static int jdata_load(int fd, struct jdata *d)
{
	memset(d, 0, sizeof(*d));
	if (lseek(fd, 0, SEEK_SET) < 0)
		return PB_ERR_IO;
	for (;;) {
		uint8_t *buf = NULL;
		size_t len = 0;
		int rc = pb_frame_read_fd(fd, 0, -1, &buf, &len);
		if (rc == PB_ERR_EOF || rc == PB_ERR_TRUNCATED)
			break;
		if (rc < 0)
			return rc;
		SpoolRecord *r = spool_record__unpack(NULL, len, buf);
		free(buf);
		if (r == NULL)
			return PB_ERR_PROTO;
		if (!grow((void **)&d->recs, &d->caprecs, d->nrecs, sizeof(*d->recs))) {
			spool_record__free_unpacked(r, NULL);
			return PB_ERR_NOMEM;
		}
		d->recs[d->nrecs++] = r;
		switch (r->type_case) {
		case SPOOL_RECORD__TYPE_FRAME:
			if (!grow((void **)&d->frames, &d->cap, d->n, sizeof(*d->frames)))
				return PB_ERR_NOMEM;
			d->frames[d->n++] = r->frame;
			break;
		case SPOOL_RECORD__TYPE_LOG_ID:
			d->log_id = r->log_id;
			break;
		case SPOOL_RECORD__TYPE_STORED:
			d->stored = r->stored->frames;
			d->events = r->stored->events;
			d->where = r->stored->where != NULL && r->stored->where[0] != '\0' ? r->stored->where : NULL;
			d->evmark = true;
			if (r->stored->commit != NULL) {
				d->commit.tv_sec = (time_t)r->stored->commit->tv_sec;
				d->commit.tv_nsec = r->stored->commit->tv_nsec;
			}
			break;
		case SPOOL_RECORD__TYPE_END:
			d->end = true;
			break;
		default:
			break;
		}
	}
	if (d->stored > d->n)
		d->stored = d->n;
	return 0;
}

/*
 * stored_upto: how many frames a commit point covers: every frame up to
 * the last I/O record whose cumulative delay is within the point (a
 * RestartMessage frame sets the elapsed time to its resume point; logd
 * sends only points after which the next record has a positive delay).
 * *total gets the elapsed time after the last frame, *has_io whether there
 * are I/O records at all (then only a point at *total acknowledges the end).
 */
static uint64_t stored_upto(const struct jdata *d, struct timespec point, struct timespec *total,
                            bool *has_io)
{
	struct timespec cum = {0, 0};
	uint64_t k = 0;
	*has_io = false;
	for (size_t i = 0; i < d->n; i++) {
		Pblog__ClientMessage *cm = frame_msg(d, i);
		struct timespec delay;
		if (cm == NULL)
			continue;
		if (cm->type_case == PBLOG__CLIENT_MESSAGE__TYPE_RESTART_MSG &&
		    cm->restart_msg->resume_point) {
			cum.tv_sec = (time_t)cm->restart_msg->resume_point->tv_sec;
			cum.tv_nsec = cm->restart_msg->resume_point->tv_nsec;
		} else if (mon_log_delay(cm, &delay)) {
			*has_io = true;
			cum = mon_ts_add(cum, delay);
			if (mon_ts_cmp(cum, point) <= 0)
				k = i + 1;
		}
		pblog__client_message__free_unpacked(cm, NULL);
	}
	*total = cum;
	return k;
}

static int send_cm(struct pb_tls *t, const struct mon_net *net, const Pblog__ClientMessage *cm)
{
	return mon_send(t, &cm->base, net->max, net->request_ms);
}

/*
 * send_restart: resume session id at the I/O log point resume, or after
 * events_acked events; where: the events_where of that acknowledgement
 * (logd reads its event log from there), or NULL.
 */
static int send_restart(struct pb_tls *t, const struct mon_net *net, const char *id,
                        struct timespec resume, uint64_t events_acked, const char *where)
{
	Pblog__ClientMessage cm = PBLOG__CLIENT_MESSAGE__INIT;
	Pblog__RestartMessage rm = PBLOG__RESTART_MESSAGE__INIT;
	Pblog__TimeSpec ts = PBLOG__TIME_SPEC__INIT;
	ts.tv_sec = resume.tv_sec;
	ts.tv_nsec = (int32_t)resume.tv_nsec;
	rm.log_id = (char *)id;
	rm.resume_point = &ts;
	rm.events_acked = events_acked;
	rm.events_where = (char *)where;
	cm.type_case = PBLOG__CLIENT_MESSAGE__TYPE_RESTART_MSG;
	cm.restart_msg = &rm;
	return send_cm(t, net, &cm);
}

/*
 * reply_common: the replies every forward handles alike: a log id is
 * recorded in the journal, an error or abort ends the forward (err says
 * why). Returns 0, or a negative PB_ERR_*.
 */
static int reply_common(int fd, const Pblog__ServerMessage *sm, const char *path, char *err,
                        size_t errlen)
{
	SpoolRecord r = SPOOL_RECORD__INIT;
	switch (sm->type_case) {
	case PBLOG__SERVER_MESSAGE__TYPE_LOG_ID:
		r.type_case = SPOOL_RECORD__TYPE_LOG_ID;
		r.log_id = sm->log_id;
		return put_record(fd, &r);
	case PBLOG__SERVER_MESSAGE__TYPE_ERROR:
	case PBLOG__SERVER_MESSAGE__TYPE_ABORT:
		snprintf(err, errlen, "%s: the log server refused it: %s", path,
		         sm->type_case == PBLOG__SERVER_MESSAGE__TYPE_ERROR ? sm->error
		                                                            : sm->abort);
		return PB_ERR_DENIED;
	default:
		return 0;
	}
}

/* ---- events-only journals with event acknowledgements (extension event-acks) ---- */

/*
 * An events-only journal: frames from the session's first message (base
 * 0), or a continuation whose first frame is a RestartMessage of an
 * events-only log id, after which the events following the first base of
 * the session come.
 */
struct evj {
	bool is;        /* an events-only journal */
	char *id;       /* the log id of a continuation (malloc'd), else NULL */
	uint64_t base;  /* events of the session before the journal's first */
	char *where;    /* the events_where of base (malloc'd), else NULL */
	uint64_t total; /* base + the journal's event frames: the count that ends it */
};

/* restart_where: a copy of a journal's restart's events_where, or NULL. */
static char *restart_where(const Pblog__RestartMessage *rm)
{
	return rm->events_where != NULL && rm->events_where[0] != '\0' ? strdup(rm->events_where) : NULL;
}

static void evj_read(const struct jdata *d, struct evj *e)
{
	memset(e, 0, sizeof(*e));
	if (d->n == 0)
		return;
	Pblog__ClientMessage *cm = frame_msg(d, 0);
	if (cm == NULL)
		return;
	if (cm->type_case == PBLOG__CLIENT_MESSAGE__TYPE_ACCEPT_MSG)
		e->is = !cm->accept_msg->expect_iobufs;
	else if (cm->type_case == PBLOG__CLIENT_MESSAGE__TYPE_REJECT_MSG)
		e->is = true;
	else if (cm->type_case == PBLOG__CLIENT_MESSAGE__TYPE_RESTART_MSG &&
	         cm->restart_msg->log_id != NULL && cm->restart_msg->log_id[0] == '@') {
		e->id = strdup(cm->restart_msg->log_id);
		e->is = e->id != NULL;
		e->base = cm->restart_msg->events_acked;
		e->where = restart_where(cm->restart_msg);
	}
	pblog__client_message__free_unpacked(cm, NULL);
	e->total = e->base;
	for (size_t i = 0; e->is && i < d->n; i++) {
		cm = frame_msg(d, i);
		if (cm != NULL && mon_log_event(cm))
			e->total++;
		if (cm != NULL)
			pblog__client_message__free_unpacked(cm, NULL);
	}
}

/* evj_upto: how many frames (from the journal's first) n acknowledged events cover. */
static uint64_t evj_upto(const struct jdata *d, const struct evj *e, uint64_t n)
{
	uint64_t k = e->id != NULL && n >= e->base ? 1 : 0, evn = e->base;
	for (size_t i = 0; i < d->n && evn < n; i++) {
		Pblog__ClientMessage *cm = frame_msg(d, i);
		if (cm != NULL && mon_log_event(cm) && ++evn <= n)
			k = i + 1;
		if (cm != NULL)
			pblog__client_message__free_unpacked(cm, NULL);
	}
	return k;
}

/*
 * evj_reply: one reply of the server, recorded in the journal as it comes
 * (log id, events stored), so a forward cut short resumes after the
 * acknowledged events. *acked gets the events_stored. Returns 0 or PB_ERR_*.
 */
static int evj_reply(int fd, const struct jdata *d, const struct evj *e,
                     const Pblog__ServerMessage *sm, uint64_t *acked, const char *path, char *err,
                     size_t errlen)
{
	SpoolRecord r = SPOOL_RECORD__INIT;
	SpoolStored st = SPOOL_STORED__INIT;
	if (sm->type_case != PBLOG__SERVER_MESSAGE__TYPE_EVENTS_STORED)
		return reply_common(fd, sm, path, err, errlen);
	if (sm->events_stored > e->total) {
		snprintf(err, errlen, "%s: the log server acknowledged %llu events of %llu", path,
		         (unsigned long long)sm->events_stored, (unsigned long long)e->total);
		return PB_ERR_PROTO;
	}
	*acked = sm->events_stored;
	st.frames = evj_upto(d, e, sm->events_stored);
	st.events = sm->events_stored;
	st.where = sm->events_where != NULL ? sm->events_where : (char *)"";
	r.type_case = SPOOL_RECORD__TYPE_STORED;
	r.stored = &st;
	return put_record(fd, &r);
}

/* evj_recv: read one reply and record it; PB_ERR_EOF when the server closed. */
/* recv_server: the log server's next message; *got_id set when it is the session's log id. */
static int recv_server(struct pb_tls *t, const struct mon_net *net, bool *got_id,
                       Pblog__ServerMessage **out, const char *path, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = pb_tls_recv_frame(t, net->max, net->request_ms, &buf, &len);
	if (rc < 0)
		return rc;
	Pblog__ServerMessage *sm = pblog__server_message__unpack(NULL, len, buf);
	free(buf);
	if (sm == NULL) {
		snprintf(err, errlen, "%s: undecodable reply from the log server", path);
		return PB_ERR_PROTO;
	}
	if (sm->type_case == PBLOG__SERVER_MESSAGE__TYPE_LOG_ID && got_id != NULL)
		*got_id = true;
	*out = sm;
	return 0;
}

static int evj_recv(struct pb_tls *t, const struct mon_net *net, int fd, const struct jdata *d,
                    const struct evj *e, uint64_t *acked, bool *got_id, const char *path, char *err,
                    size_t errlen)
{
	Pblog__ServerMessage *sm;
	int rc = recv_server(t, net, got_id, &sm, path, err, errlen);
	if (rc < 0)
		return rc;
	rc = evj_reply(fd, d, e, sm, acked, path, err, errlen);
	pblog__server_message__free_unpacked(sm, NULL);
	return rc;
}

/*
 * forward_events: forward an events-only journal to a server with
 * event-acks, exactly once: a journal forwarded before (or a continuation)
 * restarts its session after the acknowledged events, and logd drops the
 * ones it stored already. A fresh session's log id is recorded before more
 * than its first message goes out. Done when every event is acknowledged.
 */
static int forward_events(struct pb_tls *t, int fd, struct jdata *d, const struct evj *e,
                          const struct mon_net *net, const char *path, char *err, size_t errlen)
{
	const char *id = d->log_id != NULL ? d->log_id : e->id;
	uint64_t acked = d->evmark ? d->events : e->base;
	const char *where = d->evmark ? d->where : e->where;
	size_t start = 0;
	int rc;
	if (id != NULL) {
		if ((rc = send_restart(t, net, id, (struct timespec){0, 0}, acked, where)) < 0)
			return rc;
		start = (size_t)evj_upto(d, e, acked);
		if (start == 0 && e->id != NULL)
			start = 1; /* our restart replaces the journal's */
	}
	PB_TRACE(PB_SS_MONITOR, 2,
	         "forwarding %s (events) from frame %zu of %zu, %llu of %llu acknowledged", path,
	         start, d->n, (unsigned long long)acked, (unsigned long long)e->total);
	for (size_t i = start; i < d->n; i++) {
		if ((rc = pb_tls_send_frame(t, d->frames[i].data, d->frames[i].len,
		                            net->request_ms)) < 0)
			return rc;
		if (id == NULL && i == 0) {
			/* A new session: its id first, or a forward cut now could not resume it. */
			bool got_id = false;
			while (!got_id) {
				rc = evj_recv(t, net, fd, d, e, &acked, &got_id, path, err, errlen);
				if (rc < 0)
					return rc == PB_ERR_EOF ? PB_ERR_TRUNCATED : rc;
			}
		}
	}
	for (;;) {
		rc = evj_recv(t, net, fd, d, e, &acked, NULL, path, err, errlen);
		if (rc == PB_ERR_EOF)
			break;
		if (rc < 0)
			return rc;
	}
	if (acked < e->total) {
		snprintf(err, errlen,
		         "%s: the log server closed after acknowledging %llu of %llu events", path,
		         (unsigned long long)acked, (unsigned long long)e->total);
		return PB_ERR_TRUNCATED;
	}
	return 0;
}

/* ---- I/O-logged journals with event acknowledgements (extension event-acks) ---- */

/*
 * An I/O-logged journal that resumes events too: frames from the session's
 * first message (an Accept expecting I/O), or a continuation whose first
 * frame restarts an I/O log at resume after its first base events. Its I/O
 * records are acknowledged by commit points, its events by events_stored.
 */
struct ioj {
	bool is;
	char *id;               /* a continuation's log id (malloc'd), else NULL */
	struct timespec resume; /* ... and its resume point */
	uint64_t base;          /* events of the session before the journal's first */
	char *where;            /* the events_where of base (malloc'd), else NULL */
	uint64_t events;        /* base + the journal's event frames: the count that ends it */
	struct timespec total;  /* the elapsed time after its last I/O record */
	bool has_io;
};

/*
 * ioj_walk: the journal's frames in order with, for each, whether commit
 * and events acknowledge it; returns how many from the first are all
 * acknowledged. x->events, x->total and x->has_io are filled in on the way.
 * With send (a forward), every frame not acknowledged goes to t (the
 * journal's own restart is left out: the forward sends its own).
 */
static int ioj_walk(const struct jdata *d, struct ioj *x, struct timespec commit, uint64_t events,
                    uint64_t *upto, struct pb_tls *t, const struct mon_net *net)
{
	struct timespec cum = x->resume, delay;
	uint64_t evn = x->base;
	bool prefix = true;
	*upto = 0;
	x->has_io = false;
	for (size_t i = 0; i < d->n; i++) {
		Pblog__ClientMessage *cm = frame_msg(d, i);
		bool done = true;
		if (cm == NULL)
			return PB_ERR_PROTO;
		if (i == 0 && x->id != NULL) {
			done = true;
		} else if (mon_log_delay(cm, &delay)) {
			x->has_io = true;
			cum = mon_ts_add(cum, delay);
			done = mon_ts_cmp(cum, commit) <= 0;
		} else if (mon_log_event(cm)) {
			done = ++evn <= events;
		}
		pblog__client_message__free_unpacked(cm, NULL);
		if (!done && t != NULL) {
			int rc = pb_tls_send_frame(t, d->frames[i].data, d->frames[i].len,
			                           net->request_ms);
			if (rc < 0)
				return rc;
		}
		prefix = prefix && done;
		if (prefix)
			*upto = i + 1;
	}
	x->events = evn;
	x->total = cum;
	return 0;
}

static void ioj_read(const struct jdata *d, struct ioj *x)
{
	uint64_t upto;
	memset(x, 0, sizeof(*x));
	if (d->n == 0)
		return;
	Pblog__ClientMessage *cm = frame_msg(d, 0);
	if (cm == NULL)
		return;
	if (cm->type_case == PBLOG__CLIENT_MESSAGE__TYPE_ACCEPT_MSG) {
		x->is = cm->accept_msg->expect_iobufs;
	} else if (cm->type_case == PBLOG__CLIENT_MESSAGE__TYPE_RESTART_MSG &&
	           cm->restart_msg->log_id != NULL && cm->restart_msg->log_id[0] != '@' &&
	           cm->restart_msg->events_acked > 0 && cm->restart_msg->resume_point != NULL) {
		x->id = strdup(cm->restart_msg->log_id);
		x->is = x->id != NULL;
		x->base = cm->restart_msg->events_acked;
		x->where = restart_where(cm->restart_msg);
		x->resume.tv_sec = (time_t)cm->restart_msg->resume_point->tv_sec;
		x->resume.tv_nsec = cm->restart_msg->resume_point->tv_nsec;
	}
	pblog__client_message__free_unpacked(cm, NULL);
	if (x->is && ioj_walk(d, x, x->resume, x->base, &upto, NULL, NULL) < 0)
		x->is = false;
}

/* What a forward of an I/O-logged journal has had acknowledged: the commit point, the events and their place. */
struct iomark {
	struct timespec commit;
	uint64_t events;
	char where[48]; /* the events_where of events ("": unknown) */
};

static void mark_where(struct iomark *m, const char *where)
{
	m->where[0] = '\0';
	if (where != NULL && strlen(where) < sizeof(m->where))
		memcpy(m->where, where, strlen(where) + 1);
}

/*
 * ioj_reply: one reply of the server, recorded in the journal as it comes
 * (log id; a commit point or events_stored, each mark with both latest), so
 * a forward cut short resumes after what is acknowledged.
 */
static int ioj_reply(int fd, const struct jdata *d, struct ioj *x, const Pblog__ServerMessage *sm,
                     struct iomark *m, const char *path, char *err, size_t errlen)
{
	SpoolRecord r = SPOOL_RECORD__INIT;
	SpoolStored st = SPOOL_STORED__INIT;
	Pblog__TimeSpec ts = PBLOG__TIME_SPEC__INIT;
	uint64_t upto;
	int rc;
	switch (sm->type_case) {
	case PBLOG__SERVER_MESSAGE__TYPE_COMMIT_POINT:
		m->commit.tv_sec = (time_t)sm->commit_point->tv_sec;
		m->commit.tv_nsec = sm->commit_point->tv_nsec;
		break;
	case PBLOG__SERVER_MESSAGE__TYPE_EVENTS_STORED:
		if (sm->events_stored > x->events) {
			snprintf(err, errlen, "%s: the log server acknowledged %llu events of %llu",
			         path, (unsigned long long)sm->events_stored,
			         (unsigned long long)x->events);
			return PB_ERR_PROTO;
		}
		if (sm->events_stored > m->events) {
			m->events = sm->events_stored;
			mark_where(m, sm->events_where);
		}
		break;
	default:
		return reply_common(fd, sm, path, err, errlen);
	}
	if ((rc = ioj_walk(d, x, m->commit, m->events, &upto, NULL, NULL)) < 0)
		return rc;
	ts.tv_sec = m->commit.tv_sec;
	ts.tv_nsec = (int32_t)m->commit.tv_nsec;
	st.frames = upto;
	st.commit = &ts;
	st.events = m->events;
	st.where = m->where;
	r.type_case = SPOOL_RECORD__TYPE_STORED;
	r.stored = &st;
	return put_record(fd, &r);
}

/* ioj_recv: read one reply and record it; PB_ERR_EOF when the server closed. */
static int ioj_recv(struct pb_tls *t, const struct mon_net *net, int fd, const struct jdata *d,
                    struct ioj *x, struct iomark *m, bool *got_id, const char *path, char *err,
                    size_t errlen)
{
	Pblog__ServerMessage *sm;
	int rc = recv_server(t, net, got_id, &sm, path, err, errlen);
	if (rc < 0)
		return rc;
	rc = ioj_reply(fd, d, x, sm, m, path, err, errlen);
	pblog__server_message__free_unpacked(sm, NULL);
	return rc;
}

/*
 * forward_io: forward an I/O-logged journal to a server with event-acks,
 * exactly once: once its log id is known, the log restarts at the last
 * commit point after the acknowledged events (naming their place when it
 * is known), and only the I/O records and events not acknowledged go (logd
 * drops the events it stored already). Done when the final commit point and
 * every event are acknowledged.
 */
static int forward_io(struct pb_tls *t, int fd, struct jdata *d, struct ioj *x,
                      const struct mon_net *net, const char *path, char *err, size_t errlen)
{
	const char *id = d->log_id != NULL ? d->log_id : x->id;
	struct iomark m = {.commit = x->resume, .events = x->base};
	uint64_t upto;
	int rc;
	mark_where(&m, x->where);
	if (d->evmark && mon_ts_cmp(d->commit, m.commit) > 0)
		m.commit = d->commit;
	if (d->evmark && d->events > m.events) {
		m.events = d->events;
		mark_where(&m, d->where);
	}
	if (d->log_id != NULL && m.events == 0)
		m.events = 1; /* the log id came once the Accept was durable */
	if (id != NULL) {
		if ((rc = send_restart(t, net, id, m.commit, m.events, m.where[0] ? m.where : NULL)) < 0)
			return rc;
	} else {
		/* A new log: its id first, or a forward cut now could not resume it. */
		bool got_id = false;
		if ((rc = pb_tls_send_frame(t, d->frames[0].data, d->frames[0].len,
		                            net->request_ms)) < 0)
			return rc;
		while (!got_id) {
			rc = ioj_recv(t, net, fd, d, x, &m, &got_id, path, err, errlen);
			if (rc < 0)
				return rc == PB_ERR_EOF ? PB_ERR_TRUNCATED : rc;
		}
		if (m.events == 0)
			m.events = 1;
	}
	PB_TRACE(PB_SS_MONITOR, 2,
	         "forwarding %s (I/O log) after %lld.%09ld, %llu of %llu events acknowledged", path,
	         (long long)m.commit.tv_sec, m.commit.tv_nsec, (unsigned long long)m.events,
	         (unsigned long long)x->events);
	if ((rc = ioj_walk(d, x, m.commit, m.events, &upto, t, net)) < 0)
		return rc;
	for (;;) {
		rc = ioj_recv(t, net, fd, d, x, &m, NULL, path, err, errlen);
		if (rc == PB_ERR_EOF)
			break;
		if (rc < 0)
			return rc;
	}
	if ((x->has_io && mon_ts_cmp(m.commit, x->total) < 0) || m.events < x->events) {
		snprintf(
		    err, errlen,
		    "%s: the log server closed after acknowledging the I/O log to %lld.%09ld of "
		    "%lld.%09ld and %llu of %llu events",
		    path, (long long)m.commit.tv_sec, m.commit.tv_nsec, (long long)x->total.tv_sec,
		    x->total.tv_nsec, (unsigned long long)m.events, (unsigned long long)x->events);
		return PB_ERR_TRUNCATED;
	}
	return 0;
}

/* end_journal: a journal whose monitor died before the end gets its Exit, in the journal, so every
 * forward sends the same one. */
static int end_journal(int fd)
{
	Pblog__ClientMessage cm = PBLOG__CLIENT_MESSAGE__INIT;
	Pblog__ExitMessage em = PBLOG__EXIT_MESSAGE__INIT;
	SpoolRecord r = SPOOL_RECORD__INIT;
	uint8_t *buf = NULL;
	size_t len = 0;
	em.error = (char *)"the session monitor ended before the session did";
	cm.type_case = PBLOG__CLIENT_MESSAGE__TYPE_EXIT_MSG;
	cm.exit_msg = &em;
	int rc = pb_frame_pack(&cm.base, 0, &buf, &len);
	if (rc < 0)
		return rc;
	r.type_case = SPOOL_RECORD__TYPE_FRAME;
	r.frame.data = buf + PB_FRAME_HDR;
	r.frame.len = len - PB_FRAME_HDR;
	rc = put_record(fd, &r);
	free(buf);
	if (rc == 0) {
		SpoolRecord end = SPOOL_RECORD__INIT;
		end.type_case = SPOOL_RECORD__TYPE_END;
		end.end = true;
		rc = put_record(fd, &end);
	}
	return rc == 0 && fdatasync(fd) < 0 ? PB_ERR_IO : rc;
}

/*
 * forward_fd: forward one locked journal. Returns 0 when the server has
 * acknowledged all of it (the caller deletes it); *no_server is set when no
 * log server answered at all.
 */
static int forward_fd(int fd, const char *path, const struct mon_net *net,
                      const struct pb_hostport *hp, size_t nhp, bool *no_server, char *err,
                      size_t errlen)
{
	struct jdata d;
	struct evj e = {0};
	struct ioj x = {0};
	struct pb_tls *t = NULL;
	unsigned exts = 0;
	int rc = jdata_load(fd, &d);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot read the journal: %s", path, pb_strerror(rc));
		goto done;
	}
	evj_read(&d, &e);
	if (d.n == 0 || (d.end && d.stored >= d.n) ||
	    (e.is && d.end && d.evmark && d.events >= e.total)) {
		rc = 0; /* nothing, or everything acknowledged: only the deletion was missing */
		goto done;
	}
	t = mon_log_open(net, hp, nhp, &exts, NULL, err, errlen);
	if (t == NULL) {
		*no_server = true;
		rc = PB_ERR_IO;
		goto done;
	}
	bool subcmd = exts & MON_EXT_SUBCMD;
	ioj_read(&d, &x);
	if ((e.is || x.is) && (exts & MON_EXT_EVACKS) && subcmd) {
		if (!d.end) {
			/* The monitor that wrote it died: its end, once, in the journal. */
			if ((rc = end_journal(fd)) < 0 ||
			    (jdata_free(&d), rc = jdata_load(fd, &d)) < 0) {
				snprintf(err, errlen, "%s: cannot end the journal: %s", path,
				         pb_strerror(rc));
				goto done;
			}
			free(e.id);
			free(e.where);
			evj_read(&d, &e);
			free(x.id);
			free(x.where);
			ioj_read(&d, &x);
		}
		err[0] = '\0';
		if (e.is)
			rc = forward_events(t, fd, &d, &e, net, path, err, errlen);
		else
			rc = forward_io(t, fd, &d, &x, net, path, err, errlen);
		if (rc < 0 && err[0] == '\0')
			goto io_fail;
		goto done;
	}
	if (e.id != NULL || (e.is && d.log_id != NULL)) {
		/* Resuming it needs event-acks: a whole resend would duplicate what is stored. */
		snprintf(err, errlen,
		         "%s: the log server cannot resume an events-only session (no event-acks)",
		         path);
		rc = PB_ERR_PROTO;
		goto done;
	}
	size_t start = d.stored;
	if (start > 0 && d.log_id != NULL) {
		if ((rc = send_restart(t, net, d.log_id, d.commit, 0, NULL)) < 0)
			goto io_fail;
	} else {
		start = 0; /* nothing to resume from: the whole session again */
	}
	PB_TRACE(PB_SS_MONITOR, 2, "forwarding %s from frame %zu of %zu", path, start, d.n);
	for (size_t i = start; i < d.n; i++) {
		Pblog__ClientMessage *cm = frame_msg(&d, i);
		bool skip = cm == NULL ||
		            (cm->type_case == PBLOG__CLIENT_MESSAGE__TYPE_SUBCMD_EXIT && !subcmd);
		if (cm != NULL)
			pblog__client_message__free_unpacked(cm, NULL);
		if (skip)
			continue;
		if ((rc = pb_tls_send_frame(t, d.frames[i].data, d.frames[i].len,
		                            net->request_ms)) < 0)
			goto io_fail;
	}
	if (!d.end) {
		/* The monitor that wrote it died: close the session so the server ends it cleanly.
		 */
		Pblog__ClientMessage cm = PBLOG__CLIENT_MESSAGE__INIT;
		Pblog__ExitMessage em = PBLOG__EXIT_MESSAGE__INIT;
		em.error = (char *)"the session monitor ended before the session did";
		cm.type_case = PBLOG__CLIENT_MESSAGE__TYPE_EXIT_MSG;
		cm.exit_msg = &em;
		if ((rc = send_cm(t, net, &cm)) < 0)
			goto io_fail;
	}
	/* The server ends a finished session by closing; what it says before is recorded. */
	struct timespec total, last = d.commit;
	bool has_io;
	(void)stored_upto(&d, last, &total, &has_io);
	for (;;) {
		uint8_t *buf = NULL;
		size_t len = 0;
		rc = pb_tls_recv_frame(t, net->max, net->request_ms, &buf, &len);
		if (rc == PB_ERR_EOF) {
			/* An I/O log is delivered when a commit point covers all of it, not by a
			 * close alone. */
			if (has_io && mon_ts_cmp(last, total) < 0) {
				snprintf(err, errlen,
				         "%s: the log server closed before acknowledging the whole "
				         "I/O log",
				         path);
				rc = PB_ERR_TRUNCATED;
				goto done;
			}
			rc = 0;
			break;
		}
		if (rc < 0)
			goto io_fail;
		Pblog__ServerMessage *sm = pblog__server_message__unpack(NULL, len, buf);
		free(buf);
		if (sm == NULL) {
			snprintf(err, errlen, "%s: undecodable reply from the log server", path);
			rc = PB_ERR_PROTO;
			goto done;
		}
		SpoolRecord r = SPOOL_RECORD__INIT;
		SpoolStored st = SPOOL_STORED__INIT;
		Pblog__TimeSpec ts = PBLOG__TIME_SPEC__INIT;
		switch (sm->type_case) {
		case PBLOG__SERVER_MESSAGE__TYPE_COMMIT_POINT: {
			struct timespec p = {(time_t)sm->commit_point->tv_sec,
			                     sm->commit_point->tv_nsec};
			ts.tv_sec = p.tv_sec;
			ts.tv_nsec = (int32_t)p.tv_nsec;
			last = p;
			st.frames = stored_upto(&d, p, &total, &has_io);
			st.commit = &ts;
			r.type_case = SPOOL_RECORD__TYPE_STORED;
			r.stored = &st;
			rc = put_record(fd, &r);
			break;
		}
		default:
			rc = reply_common(fd, sm, path, err, errlen);
			break;
		}
		pblog__server_message__free_unpacked(sm, NULL);
		if (rc < 0)
			goto done;
	}
	goto done;
io_fail:
	snprintf(err, errlen, "%s: forwarding broke off: %s", path, pb_strerror(rc));
done:
	pb_tls_free(t);
	jdata_free(&d);
	free(e.id);
	free(e.where);
	free(x.id);
	free(x.where);
	return rc;
}

int spool_journal_forward(struct spool_journal *j, const struct mon_net *net,
                          const struct pb_hostport *hp, size_t n, char *err, size_t errlen)
{
	bool no_server = false;
	int rc = forward_fd(j->fd, j->path, net, hp, n, &no_server, err, errlen);
	if (rc == 0) {
		unlink(j->path);
		PB_TRACE(PB_SS_MONITOR, 2, "journal %s forwarded", j->path);
	}
	return rc;
}

int spool_journal_frames(struct spool_journal *j,
                         void (*cb)(void *arg, const uint8_t *cm, size_t len), void *arg)
{
	struct jdata d;
	int rc = jdata_load(j->fd, &d);
	for (size_t i = 0; rc == 0 && i < d.n; i++)
		cb(arg, d.frames[i].data, d.frames[i].len);
	jdata_free(&d);
	return rc;
}

void spool_journal_discard(struct spool_journal *j)
{
	if (j == NULL)
		return;
	unlink(j->path);
	spool_journal_close(j);
}

/* still_linked: the file fd is open on is still the one at path (not deleted by a forwarder before
 * us). */
static bool still_linked(int fd, const char *path)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino && a.st_nlink > 0;
}

int pb_spool_forward(const struct pb_conf *conf, unsigned *forwarded, unsigned *pending, char *err,
                     size_t errlen)
{
	const char *dir = pb_conf_str(conf, "spooldir");
	size_t nhp = 0;
	const struct pb_hostport *hp = pb_conf_hostports(conf, "logservers", &nhp);
	struct mon_net net = {0};
	unsigned nfw = 0, npend = 0;
	int rc = 0, first = 0;
	bool no_server = false;
	DIR *dp = NULL;

	if (forwarded)
		*forwarded = 0;
	if (pending)
		*pending = 0;
	if (dir == NULL)
		return 0;
	if ((rc = check_dir(dir, err, errlen)) < 0)
		return rc == PB_ERR_NOTFOUND ? 0 : rc;
	if ((dp = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return PB_ERR_IO;
	}
	struct dirent *de;
	while ((de = readdir(dp)) != NULL) {
		size_t l = strlen(de->d_name), sl = strlen(JOURNAL_SUFFIX);
		char path[4096], e[1024];
		if (l <= sl || strcmp(de->d_name + l - sl, JOURNAL_SUFFIX) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0 || !still_linked(fd, path)) {
			/* Its session is still running, or another forwarder has it. */
			if (still_linked(fd, path))
				npend++;
			close(fd);
			continue;
		}
		if (net.ctx == NULL && (rc = mon_net_init(&net, conf, e, sizeof(e))) < 0) {
			snprintf(err, errlen, "%s", e);
			close(fd);
			npend++;
			break;
		}
		if (no_server) {
			/* No log server answered for the one before: the others wait for the next
			 * time. */
			npend++;
			close(fd);
			continue;
		}
		rc = forward_fd(fd, path, &net, hp, nhp, &no_server, e, sizeof(e));
		if (rc == 0) {
			unlink(path);
			nfw++;
		} else {
			npend++;
			if (first == 0) {
				first = rc;
				snprintf(err, errlen, "%s", e);
			}
		}
		close(fd);
	}
	closedir(dp);
	mon_net_free(&net);
	if (forwarded)
		*forwarded = nfw;
	if (pending)
		*pending = npend;
	if (rc < 0 && first == 0)
		first = rc;
	if (npend > 0 && first == 0)
		snprintf(err, errlen,
		         "%u journal%s in use (a running session, or another forwarder)", npend,
		         npend == 1 ? "" : "s");
	return npend > 0 ? (first < 0 ? first : PB_ERR_AGAIN) : 0;
}
