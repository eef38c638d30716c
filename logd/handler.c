/* SPDX-License-Identifier: ISC */
/* logd's protocol handler: one state machine per connection, a switch on the ClientMessage oneof with a state check before each handler. */
#include "handler.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "debug.h"
#include "err.h"
#include "json.h"
#include "log.pb-c.h"
#include "syncer.h"

/*
 * States (sudo_logsrv.proto(5), "Protocol flow of control"):
 *
 *   INIT     hello sent; the client may send ClientHello (once, first),
 *            admin requests, then Accept, Reject, Restart or Alert.
 *   EVENTS   an Accept without I/O or a Reject was stored: more events
 *            (sub-commands, alerts, their finish) and Exit may follow.
 *   RUNNING  an I/O log is open (Accept with expect_iobufs, or Restart):
 *            I/O records, window and suspend events, sub-command events,
 *            alerts, then Exit.
 *   EXITED   Exit stored and answered: nothing more is accepted.
 *   FAILED   an error was sent; the connection is closing.
 */
enum conn_state {
	ST_INIT,
	ST_EVENTS,
	ST_RUNNING,
	ST_EXITED,
	ST_FAILED,
};

static const char *const state_names[] = {
	[ST_INIT] = "init",
	[ST_EVENTS] = "events",
	[ST_RUNNING] = "running",
	[ST_EXITED] = "exited",
	[ST_FAILED] = "failed",
};

struct commit_job;

struct logd_conn {
	struct logd_ctx *ctx;
	const struct logd_transport *tr;
	void *io;
	struct logd_conn *next, *prev;
	enum conn_state state;
	bool hello_seen;
	bool in_frame;		/* inside logd_conn_frame: the server closes on our return value */
	bool seen_any;		/* a message other than hello arrived */
	bool watch;		/* an admin's connection following a normal stop (AdminStop.watch) */
	char *peer, *addr;
	char session[64];	/* id grouping this connection's events (random, or an events-only log id) */
	char *log_id;		/* I/O log id, when one is open */
	/*
	 * Extension "event-acks" (the client's hello named it): an events-only
	 * session gets a log id ('@' + where its first event lies in the event
	 * log, see events_begin) and its durable event count (events_stored).
	 */
	bool evacks;		/* the client uses event-acks */
	bool evsess;		/* this is such a session: session[] is its log id */
	bool evended;		/* a restarted session whose Exit is stored already */
	/*
	 * An I/O-logged session of a client using event-acks counts its event
	 * messages too (evcount, evacked, evskip as above; its events carry the
	 * log id as session), and log.json records where its first event lies
	 * ("pbevents"), so a restart counts them in the event log.
	 */
	bool ioev;
	bool exit_stored;	/* after a restart: the Exit resent is stored already, only the log is to finish */
	uint64_t evcount;	/* event messages of the session stored (from its first, across restarts) */
	uint64_t evacked;	/* the last events_stored sent */
	uint64_t evskip;	/* after a restart: resent event messages still to drop (stored already) */
	struct logd_evsess *ent;	/* what the context keeps of the session, or NULL */
	struct iolog_w *w;
	struct timespec committed;	/* last commit point sent */
	bool uncommitted;	/* records written since */
	struct commit_job *cjob;	/* a commit whose sync is in flight (syncer) */
	struct commit_job *fjob;	/* the Exit's finish in flight (syncer) */
	char *user, *host, *command;
	int64_t start;
	uint64_t messages;
};

/*
 * What logd keeps of an events-only session (event-acks) while it runs and
 * after (the most recent EVSESS_KEEP without a connection), so a restart
 * of it on another connection needs no reading of the event log. Those
 * evicted, and all after a restart of logd, are found in the event log.
 */
struct logd_evsess {
	struct logd_evsess *next, *prev;
	struct logd_conn *conn;	/* its connection now, or NULL */
	uint64_t count;		/* its events stored (appended: in the file) */
	bool ended;
	char *peer, *user, *host, *command;
	char id[64];
};

#define EVSESS_KEEP 4096

static void evsess_unlink(struct logd_ctx *ctx, struct logd_evsess *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		ctx->evsess = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	e->next = e->prev = NULL;
	ctx->n_evsess--;
}

static void evsess_push(struct logd_ctx *ctx, struct logd_evsess *e)
{
	e->prev = NULL;
	e->next = ctx->evsess;
	if (ctx->evsess != NULL)
		ctx->evsess->prev = e;
	ctx->evsess = e;
	ctx->n_evsess++;
}

static void evsess_free(struct logd_evsess *e)
{
	if (e->conn != NULL)
		e->conn->ent = NULL;
	free(e->peer);
	free(e->user);
	free(e->host);
	free(e->command);
	free(e);
}

/* evsess_find: the session id, made the most recent; NULL when not kept. */
static struct logd_evsess *evsess_find(struct logd_ctx *ctx, const char *id)
{
	for (struct logd_evsess *e = ctx->evsess; e != NULL; e = e->next) {
		if (strcmp(e->id, id) != 0)
			continue;
		evsess_unlink(ctx, e);
		evsess_push(ctx, e);
		return e;
	}
	return NULL;
}

/* evsess_add: keep a session (strings copied); the oldest ones without a connection go. NULL: out of memory. */
static struct logd_evsess *evsess_add(struct logd_ctx *ctx, const char *id, const char *peer, const char *user,
				      const char *host, const char *command)
{
	struct logd_evsess *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->peer = strdup(peer != NULL ? peer : "");
	e->user = strdup(user != NULL ? user : "");
	e->host = strdup(host != NULL ? host : "");
	e->command = strdup(command != NULL ? command : "");
	if (e->peer == NULL || e->user == NULL || e->host == NULL || e->command == NULL) {
		evsess_free(e);
		return NULL;
	}
	evsess_push(ctx, e);
	struct logd_evsess *old = ctx->evsess;
	while (old->next != NULL)
		old = old->next;
	while (ctx->n_evsess > EVSESS_KEEP && old != NULL) {
		struct logd_evsess *prev = old->prev;
		if (old->conn == NULL) {
			evsess_unlink(ctx, old);
			evsess_free(old);
		}
		old = prev;
	}
	return e;
}

void logd_ctx_forget_sessions(struct logd_ctx *ctx)
{
	while (ctx->evsess != NULL) {
		struct logd_evsess *e = ctx->evsess;
		evsess_unlink(ctx, e);
		evsess_free(e);
	}
}

static void list_add(struct logd_ctx *ctx, struct logd_conn *c)
{
	c->next = ctx->conns;
	if (ctx->conns != NULL)
		ctx->conns->prev = c;
	ctx->conns = c;
}

static void list_del(struct logd_ctx *ctx, struct logd_conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (ctx->conns == c)
		ctx->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
}

static void random_hex(char *out, size_t nbytes)
{
	unsigned char r[16];
	if (nbytes > sizeof(r))
		nbytes = sizeof(r);
	if (getrandom(r, nbytes, 0) != (ssize_t)nbytes) {
		/* getrandom on Linux does not fail once the pool is ready; fall back to time. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		memcpy(r, &ts, nbytes < sizeof(ts) ? nbytes : sizeof(ts));
	}
	for (size_t i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/* ---- sending ---- */

static int send_server(struct logd_conn *c, Pblog__ServerMessage *sm)
{
	return c->tr->send(c->io, &sm->base);
}

/*
 * fail: send an error (a fatal server-side error per the protocol), count
 * it, log it, and close. Returns PB_ERR_PROTO or rc for the caller to return.
 */
static int fail(struct logd_conn *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct logd_conn *c, int rc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pb_log(PB_LV_WARN, "%s (%s): %s", c->addr, c->peer[0] ? c->peer : "no identity", msg);
	c->ctx->n_errors++;
	if (c->state != ST_FAILED) {
		Pblog__ServerMessage sm = PBLOG__SERVER_MESSAGE__INIT;
		sm.type_case = PBLOG__SERVER_MESSAGE__TYPE_ERROR;
		sm.error = msg;
		send_server(c, &sm);
		c->state = ST_FAILED;
		/* Closing from inside a frame would free c under the caller; the return value closes then. */
		if (!c->in_frame)
			c->tr->close(c->io);
	}
	return rc < 0 ? rc : PB_ERR_PROTO;
}

static int send_commit(struct logd_conn *c, struct timespec point)
{
	Pblog__ServerMessage sm = PBLOG__SERVER_MESSAGE__INIT;
	Pblog__TimeSpec ts = PBLOG__TIME_SPEC__INIT;
	ts.tv_sec = point.tv_sec;
	ts.tv_nsec = (int32_t)point.tv_nsec;
	sm.type_case = PBLOG__SERVER_MESSAGE__TYPE_COMMIT_POINT;
	sm.commit_point = &ts;
	c->committed = point;
	c->ctx->n_commits++;
	PB_TRACE(PB_SS_LOG, 6, "%s: commit point %lld.%09ld", c->addr, (long long)point.tv_sec,
		 point.tv_nsec);
	return send_server(c, &sm);
}

/*
 * ev_where: the event log's end now, as "DAY.SEQ.OFFSET": every event of a
 * session counted so far lies before it, and each one stored later after it.
 */
static void ev_where(struct logd_ctx *ctx, char *buf, size_t len)
{
	int day;
	unsigned seq;
	uint64_t off;
	evlog_where(ctx->ev, &day, &seq, &off);
	snprintf(buf, len, "%08d.%u.%" PRIu64, day, seq, off);
}

/*
 * send_events: the event messages of an events-only session durable so far
 * (extension event-acks), with where the event log ended when n were
 * counted (NULL: now, when n is the count now): a restart that sends it
 * back is counted from there, not from the session's first event.
 */
static int send_events(struct logd_conn *c, uint64_t n, const char *where)
{
	Pblog__ServerMessage sm = PBLOG__SERVER_MESSAGE__INIT;
	char now[48];
	if (n <= c->evacked)
		return 0;
	if (where == NULL) {
		ev_where(c->ctx, now, sizeof(now));
		where = now;
	}
	sm.type_case = PBLOG__SERVER_MESSAGE__TYPE_EVENTS_STORED;
	sm.events_stored = n;
	sm.events_where = (char *)where;
	c->evacked = n;
	PB_TRACE(PB_SS_LOG, 6, "%s: events stored %" PRIu64, c->addr, n);
	return send_server(c, &sm);
}

/*
 * With a syncer (the daemon), a commit is cut in two (syncer.h): the loop
 * writes the records to the kernel and takes duplicates of the descriptors
 * to sync, the worker fdatasyncs them (and the event log's), and
 * commit_done sends the commit point. One commit per connection is in
 * flight at a time; an Exit's finish (the rest of the log, log.json, the
 * completion mark) runs in the worker too, and its done sends the final
 * commit point and closes. A connection that goes away meanwhile only
 * detaches its jobs (logd_conn_free). Jobs complete in submission order, so
 * a job that found the event log already handed to an earlier job's sync
 * is done after it. A new log is a job too (create): the loop makes the
 * directory and files, the worker fsyncs them and the accept event, and
 * its done sends the log id; it holds cjob meanwhile, so no commit of that
 * log is submitted (or acknowledged) before the id.
 */
struct commit_job {
	struct logd_job base;
	struct logd_ctx *ctx;
	struct logd_conn *conn;		/* NULL once the connection is gone */
	int evfd;			/* event log to sync first, or -1 */
	int fds[IOLOG_CREATE_FDS > IOLOG_SYNC_FDS ? IOLOG_CREATE_FDS : IOLOG_SYNC_FDS]; /* then these, in order */
	size_t nfds;
	bool create;			/* a new log: fsync fds (directories too), then send the log id */
	struct iolog_w *finish;		/* an Exit: the log to finish (the job owns it) */
	uint64_t events;		/* events-only session: the events_stored to send (0: none) */
	char where[48];			/* ... and the event log's end when they were counted (job_events) */
	bool evend;			/* ... and it has ended: close after sending */
	char *members;			/* its exit members for log.json */
	struct timespec point;		/* the commit point to announce */
	int ev_rc, rc;			/* the worker's results */
};

static int sync_errno(void)
{
	return errno == ENOSPC || errno == EDQUOT ? PB_ERR_NOSPC : PB_ERR_IO;
}

/* commit_work: the worker's half (no logd state but the job's is touched here). */
static void commit_work(struct logd_job *j)
{
	struct commit_job *cj = (struct commit_job *)j;
	if (cj->evfd >= 0) {
		if (fdatasync(cj->evfd) != 0)
			cj->ev_rc = sync_errno();
		close(cj->evfd);
		cj->evfd = -1;
	}
	for (size_t i = 0; i < cj->nfds; i++) {
		if (cj->rc == 0 && (cj->create ? fsync(cj->fds[i]) : fdatasync(cj->fds[i])) != 0)
			cj->rc = sync_errno();
		close(cj->fds[i]);
	}
	cj->nfds = 0;
	if (cj->finish != NULL && cj->rc == 0 && cj->ev_rc == 0)
		cj->rc = cj->ctx->store->finish(cj->finish, cj->members);
}

static void commit_job_free(struct commit_job *cj)
{
	if (cj->evfd >= 0)
		close(cj->evfd);
	for (size_t i = 0; i < cj->nfds; i++)
		close(cj->fds[i]);
	if (cj->finish != NULL)
		cj->ctx->store->close(cj->finish);
	free(cj->members);
	free(cj);
}

/* commit_done: back in the loop: acknowledge what is durable now, or fail the connection. */
static void commit_done(struct logd_job *j)
{
	struct commit_job *cj = (struct commit_job *)j;
	struct logd_ctx *ctx = cj->ctx;
	struct logd_conn *c = cj->conn;
	if (cj->ev_rc < 0 && ctx->ev_error == 0) {
		/*
		 * A failed fsync may have dropped events that later syncs will not
		 * write again: nothing is acknowledged from here on until a
		 * reload opens the event log again.
		 */
		ctx->ev_error = cj->ev_rc;
		pb_log(PB_LV_ERROR, "event log %s: %s; acknowledgements stop until a reload",
		       evlog_path(ctx->ev), pb_strerror(cj->ev_rc));
	}
	if (c == NULL)
		goto done;
	if (cj->finish != NULL || cj->evend)
		c->fjob = NULL;
	else
		c->cjob = NULL;
	if (ctx->ev_error < 0) {
		fail(c, ctx->ev_error, "cannot store the event log: %s", pb_strerror(ctx->ev_error));
		goto done;
	}
	if (cj->rc < 0) {
		fail(c, cj->rc, "cannot %s the I/O log: %s",
		     cj->finish != NULL ? "complete" : cj->create ? "create" : "store", pb_strerror(cj->rc));
		goto done;
	}
	if (cj->create) {
		/* The log's directory, files and accept event are durable: hand out its id. */
		if (c->state == ST_FAILED)
			goto done;
		Pblog__ServerMessage sm = PBLOG__SERVER_MESSAGE__INIT;
		sm.type_case = PBLOG__SERVER_MESSAGE__TYPE_LOG_ID;
		sm.log_id = c->log_id;
		pb_log(PB_LV_INFO, "%s (%s): I/O log %s for %s", c->addr, c->peer, c->log_id, c->user);
		send_server(c, &sm);
		if (cj->events > 0)
			send_events(c, cj->events, cj->where); /* the accept (event-acks) */
	} else if (cj->finish != NULL) {
		send_commit(c, cj->point);
		if (cj->events > 0)
			send_events(c, cj->events, cj->where);
		pb_log(PB_LV_INFO, "%s (%s): I/O log %s complete", c->addr, c->peer, c->log_id);
		/* The session is over: close once the final commit point is written. */
		c->tr->close(c->io);
	} else {
		/* A commit of an I/O log, and with event-acks the events the same sync made durable. */
		if (c->state == ST_RUNNING && ts_cmp(cj->point, c->committed) > 0)
			send_commit(c, cj->point);
		if (cj->events > 0 && c->state != ST_FAILED)
			send_events(c, cj->events, cj->where);
		if (cj->evend)
			c->tr->close(c->io); /* the session is over and all of it acknowledged */
	}
done:
	commit_job_free(cj);
}

static struct commit_job *commit_job_new(struct logd_conn *c)
{
	struct commit_job *cj = calloc(1, sizeof(*cj));
	if (cj == NULL)
		return NULL;
	cj->base.work = commit_work;
	cj->base.done = commit_done;
	cj->ctx = c->ctx;
	cj->conn = c;
	cj->evfd = -1;
	return cj;
}

/* job_events: the events_stored a job sends, and where the event log ends as they are counted. */
static void job_events(struct commit_job *cj, struct logd_conn *c, uint64_t n)
{
	cj->events = n;
	ev_where(c->ctx, cj->where, sizeof(cj->where));
}

/* commit_async: the loop's half of a commit (see struct commit_job). */
static int commit_async(struct logd_conn *c)
{
	struct commit_job *cj;
	int rc;
	if (c->cjob != NULL)
		return 0; /* the next tick commits what came since */
	if ((cj = commit_job_new(c)) == NULL)
		return fail(c, PB_ERR_NOMEM, "out of memory");
	if ((rc = evlog_sync_begin(c->ctx->ev, &cj->evfd)) < 0) {
		commit_job_free(cj);
		return fail(c, rc, "cannot store the event log: %s", pb_strerror(rc));
	}
	rc = c->ctx->store->commit_begin(c->w, cj->fds, &cj->nfds, &cj->point);
	if (rc < 0) {
		commit_job_free(cj);
		return fail(c, rc, "cannot store the I/O log: %s", pb_strerror(rc));
	}
	c->uncommitted = false;
	job_events(cj, c, c->ioev ? c->evcount : 0); /* appended before the sync began */
	c->cjob = cj;
	logd_syncer_submit(c->ctx->syncer, &cj->base);
	return 0;
}

/*
 * commit: make this connection's records and the event log durable, then
 * send the commit point. Nothing is acknowledged before it is on disk.
 */
static int commit(struct logd_conn *c)
{
	struct timespec point;
	int rc;
	if (c->w == NULL || !c->uncommitted)
		return 0;
	if (c->ctx->syncer != NULL)
		return commit_async(c);
	if ((rc = evlog_sync(c->ctx->ev)) < 0)
		return fail(c, rc, "cannot store the event log: %s", pb_strerror(rc));
	rc = c->ctx->store->commit(c->w, &point);
	if (rc < 0)
		return fail(c, rc, "cannot store the I/O log: %s", pb_strerror(rc));
	c->uncommitted = false;
	if (ts_cmp(point, c->committed) > 0 && (rc = send_commit(c, point)) < 0)
		return rc;
	return c->ioev ? send_events(c, c->evcount, NULL) : 0;
}

struct logd_conn *logd_conn_new(struct logd_ctx *ctx, const struct logd_transport *tr, void *io,
				const char *peer, const char *addr)
{
	struct logd_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->ctx = ctx;
	c->tr = tr;
	c->io = io;
	c->peer = strdup(peer != NULL ? peer : "");
	c->addr = strdup(addr != NULL ? addr : "?");
	if (c->peer == NULL || c->addr == NULL) {
		free(c->peer);
		free(c->addr);
		free(c);
		return NULL;
	}
	random_hex(c->session, 8);
	c->start = (int64_t)time(NULL);
	ctx->n_conns_total++;

	/* The server speaks first: sudo clients wait for this before their first event. */
	static const char *const exts[] = {"subcommand-exit", "admin", "event-acks"};
	Pblog__ServerHello hello = PBLOG__SERVER_HELLO__INIT;
	hello.server_id = ctx->server_id;
	hello.n_servers = ctx->nservers;
	hello.servers = ctx->servers;
	hello.subcommands = true;
	hello.n_extensions = sizeof(exts) / sizeof(exts[0]);
	hello.extensions = (char **)exts;
	Pblog__ServerMessage sm = PBLOG__SERVER_MESSAGE__INIT;
	sm.type_case = PBLOG__SERVER_MESSAGE__TYPE_HELLO;
	sm.hello = &hello;
	if (tr->send(io, &sm.base) < 0) {
		free(c->peer);
		free(c->addr);
		free(c);
		return NULL;
	}
	list_add(ctx, c);
	return c;
}

/* ---- event log ---- */

/* Keys the server sets itself; a client's InfoMessage of that name is kept as "client_<key>". */
static bool reserved_key(const char *k)
{
	static const char *const keys[] = {
		"event", "time", "server_time", "session", "log_id", "peer", "peeraddr", "reason",
		"submit_time", "claimedhost", "exit_value", "signal", "dumped_core", "error",
		"run_time", "alert_time", NULL,
	};
	for (int i = 0; keys[i] != NULL; i++)
		if (strcmp(k, keys[i]) == 0)
			return true;
	return false;
}

static const Pblog__InfoMessage *info_find(Pblog__InfoMessage **msgs, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (msgs[i] != NULL && msgs[i]->key != NULL && strcmp(msgs[i]->key, key) == 0)
			return msgs[i];
	return NULL;
}

static const char *info_str(Pblog__InfoMessage **msgs, size_t n, const char *key)
{
	const Pblog__InfoMessage *m = info_find(msgs, n, key);
	if (m == NULL || m->value_case != PBLOG__INFO_MESSAGE__VALUE_STRVAL)
		return NULL;
	return m->strval;
}

static int64_t info_num(Pblog__InfoMessage **msgs, size_t n, const char *key, int64_t dflt)
{
	const Pblog__InfoMessage *m = info_find(msgs, n, key);
	if (m == NULL || m->value_case != PBLOG__INFO_MESSAGE__VALUE_NUMVAL)
		return dflt;
	return m->numval;
}

/* info_value: one InfoMessage's value as JSON. */
static void info_value(struct jbuf *b, const Pblog__InfoMessage *m)
{
	switch (m->value_case) {
	case PBLOG__INFO_MESSAGE__VALUE_NUMVAL: {
		char num[32];
		int l = snprintf(num, sizeof(num), "%" PRId64, m->numval);
		jbuf_raw(b, num, (size_t)l);
		break;
	}
	case PBLOG__INFO_MESSAGE__VALUE_STRVAL:
		jbuf_str(b, m->strval, strlen(m->strval));
		break;
	case PBLOG__INFO_MESSAGE__VALUE_STRLISTVAL:
		jbuf_open(b, '[');
		if (m->strlistval != NULL)
			for (size_t i = 0; i < m->strlistval->n_strings; i++)
				jbuf_vstr(b, m->strlistval->strings[i]);
		jbuf_close(b, ']');
		break;
	case PBLOG__INFO_MESSAGE__VALUE_NUMLISTVAL:
		jbuf_open(b, '[');
		if (m->numlistval != NULL)
			for (size_t i = 0; i < m->numlistval->n_numbers; i++)
				jbuf_vint(b, m->numlistval->numbers[i]);
		jbuf_close(b, ']');
		break;
	default:
		jbuf_raw(b, "null", 4);
		break;
	}
	b->need_comma = true;
}

/*
 * info_members: every InfoMessage as a member; submithost is the host the
 * server established (the certificate identity under TLS), never the
 * client's claim. Duplicate keys keep their first value.
 */
static void info_members(struct jbuf *b, Pblog__InfoMessage **msgs, size_t n, const char *host)
{
	for (size_t i = 0; i < n; i++) {
		const Pblog__InfoMessage *m = msgs[i];
		if (m == NULL || m->key == NULL || m->key[0] == '\0')
			continue;
		if (info_find(msgs, i, m->key) != NULL)
			continue;
		if (strcmp(m->key, "submithost") == 0)
			continue;
		if (reserved_key(m->key)) {
			char k[300];
			snprintf(k, sizeof(k), "client_%s", m->key);
			jbuf_key(b, k);
		} else {
			jbuf_key(b, m->key);
		}
		info_value(b, m);
	}
	if (host != NULL)
		jbuf_kstr(b, "submithost", host);
}

/* event_open: the members every event starts with. */
static void event_open(struct jbuf *b, struct logd_conn *c, const char *kind)
{
	struct timespec now;
	struct tm tm;
	char iso[48];
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	size_t l = strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(iso + l, sizeof(iso) - l, ".%03ldZ", now.tv_nsec / 1000000);
	jbuf_reset(b);
	jbuf_open(b, '{');
	jbuf_kstr(b, "event", kind);
	jbuf_kstr(b, "time", iso);
	jbuf_ktime(b, "server_time", now.tv_sec, (int32_t)now.tv_nsec);
	jbuf_kstr(b, "session", c->log_id != NULL ? c->log_id : c->session);
	if (c->log_id != NULL)
		jbuf_kstr(b, "log_id", c->log_id);
	jbuf_kstr(b, "peer", c->peer);
	jbuf_kstr(b, "peeraddr", c->addr);
}

static int event_store(struct logd_conn *c, struct jbuf *b)
{
	jbuf_close(b, '}');
	if (b->oom)
		return fail(c, PB_ERR_NOMEM, "out of memory");
	int rc = evlog_append(c->ctx->ev, b->s, b->len);
	if (rc < 0)
		return fail(c, rc, "cannot store the event: %s", pb_strerror(rc));
	if (c->evsess || c->ioev) {
		c->evcount++;
		if (c->ent != NULL)
			c->ent->count = c->evcount;
	}
	return 0;
}

/*
 * events_begin: the first event of an events-only session of a client
 * using event-acks: its log id says where in the event log the session's
 * first event lies at the earliest ("@DAY.SEQ.OFFSET." and 16 random hex
 * digits), so a restart finds its events by reading on from there.
 */
static void events_begin(struct logd_conn *c)
{
	int day;
	unsigned seq;
	uint64_t off;
	char rnd[17];
	if (!c->evacks || c->state != ST_INIT)
		return;
	evlog_where(c->ctx->ev, &day, &seq, &off);
	random_hex(rnd, 8);
	snprintf(c->session, sizeof(c->session), "@%08d.%u.%" PRIu64 ".%s", day, seq, off, rnd);
	c->evsess = true;
	c->ent = evsess_add(c->ctx, c->session, c->peer, c->user, c->host, c->command);
	if (c->ent != NULL)
		c->ent->conn = c;
}

/* events_id: after the first event is stored: hand out the session's log id. */
static int events_id(struct logd_conn *c)
{
	Pblog__ServerMessage sm = PBLOG__SERVER_MESSAGE__INIT;
	sm.type_case = PBLOG__SERVER_MESSAGE__TYPE_LOG_ID;
	sm.log_id = c->session;
	return send_server(c, &sm);
}

/*
 * events_end: an events-only session with event-acks ended (Exit, or a
 * refused start): once its events are durable the final events_stored goes
 * out and the connection closes. Returns 0 (a syncer job does that) or
 * PB_ERR_EOF (done here: close once written).
 */
static int events_end(struct logd_conn *c)
{
	int rc;
	c->state = ST_EXITED;
	if (c->ent != NULL)
		c->ent->ended = true;
	if (c->ctx->ev_error < 0)
		return fail(c, c->ctx->ev_error, "cannot store the event log: %s", pb_strerror(c->ctx->ev_error));
	if (c->ctx->syncer != NULL) {
		struct commit_job *cj = commit_job_new(c);
		if (cj == NULL)
			return fail(c, PB_ERR_NOMEM, "out of memory");
		if ((rc = evlog_sync_begin(c->ctx->ev, &cj->evfd)) < 0) {
			commit_job_free(cj);
			return fail(c, rc, "cannot store the event log: %s", pb_strerror(rc));
		}
		/* Jobs complete in order: an earlier job that took the log's sync covers ours. */
		job_events(cj, c, c->evcount);
		cj->evend = true;
		c->fjob = cj;
		logd_syncer_submit(c->ctx->syncer, &cj->base);
		return 0;
	}
	if ((rc = evlog_sync(c->ctx->ev)) < 0)
		return fail(c, rc, "cannot store the event log: %s", pb_strerror(rc));
	send_events(c, c->evcount, NULL);
	return PB_ERR_EOF;
}

static bool ts_ok(const Pblog__TimeSpec *t)
{
	return t != NULL && t->tv_nsec >= 0 && t->tv_nsec < 1000000000;
}

/*
 * establish_host: the submitting host of an event. Under TLS it is the
 * client certificate's identity: a claim that the certificate does not
 * cover is refused (strict) or recorded beside it. Returns the host or
 * NULL after fail().
 */
static const char *establish_host(struct logd_conn *c, Pblog__InfoMessage **msgs, size_t n,
				  const char **claimed)
{
	const char *claim = info_str(msgs, n, "submithost");
	*claimed = NULL;
	if (c->ctx->plain) {
		if (claim == NULL || claim[0] == '\0') {
			fail(c, PB_ERR_PROTO, "required InfoMessage submithost is missing");
			return NULL;
		}
		return claim;
	}
	if (claim == NULL || claim[0] == '\0' || strcmp(claim, c->peer) == 0 ||
	    c->tr->peer_matches(c->io, claim))
		return c->peer;
	/* A short host name ("host1") for the certificate's "host1.test" is the same host. */
	size_t cl = strlen(claim);
	if (strchr(claim, '.') == NULL && strncmp(c->peer, claim, cl) == 0 && c->peer[cl] == '.')
		return c->peer;
	if (c->ctx->hostcheck == LOGD_HOSTCHECK_STRICT) {
		fail(c, PB_ERR_DENIED, "submithost \"%.100s\" does not match the client certificate (%.100s)",
		     claim, c->peer);
		return NULL;
	}
	*claimed = claim;
	return c->peer;
}

static bool check_required(struct logd_conn *c, Pblog__InfoMessage **msgs, size_t n)
{
	static const char *const req[] = {"command", "runuser", "submituser"};
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		const char *v = info_str(msgs, n, req[i]);
		if (v == NULL || v[0] == '\0') {
			fail(c, PB_ERR_PROTO, "required InfoMessage %s is missing", req[i]);
			return false;
		}
	}
	return true;
}

static void remember_session(struct logd_conn *c, Pblog__InfoMessage **msgs, size_t n, const char *host)
{
	if (c->user != NULL)
		return;
	const char *u = info_str(msgs, n, "submituser");
	const char *cmd = info_str(msgs, n, "command");
	c->user = strdup(u != NULL ? u : "");
	c->host = strdup(host != NULL ? host : "");
	c->command = strdup(cmd != NULL ? cmd : "");
}

/* ---- I/O log creation ---- */

/* log_text: sudo's "log" file: time:user:runuser:rungroup:tty:lines:cols, cwd, command line. */
static void log_text(struct jbuf *t, const Pblog__AcceptMessage *am)
{
	Pblog__InfoMessage **m = am->info_msgs;
	size_t n = am->n_info_msgs;
	char head[64];
	const char *fields[] = {
		info_str(m, n, "submituser"), info_str(m, n, "runuser"), info_str(m, n, "rungroup"),
		info_str(m, n, "ttyname"),
	};
	snprintf(head, sizeof(head), "%lld", (long long)(am->submit_time ? am->submit_time->tv_sec : 0));
	jbuf_raw(t, head, strlen(head));
	for (size_t i = 0; i < 4; i++) {
		jbuf_raw(t, ":", 1);
		const char *f = fields[i] != NULL ? fields[i] : "";
		for (; *f; f++) {
			/* The format has no escapes: separators inside a field become '_'. */
			char ch = (*f == ':' || *f == '\n' || *f == '\r') ? '_' : *f;
			jbuf_raw(t, &ch, 1);
		}
	}
	snprintf(head, sizeof(head), ":%lld:%lld\n", (long long)info_num(m, n, "lines", 24),
		 (long long)info_num(m, n, "columns", 80));
	jbuf_raw(t, head, strlen(head));
	const char *cwd = info_str(m, n, "submitcwd");
	if (cwd == NULL)
		cwd = info_str(m, n, "runcwd");
	for (const char *f = cwd ? cwd : "/"; *f; f++) {
		char ch = *f == '\n' ? ' ' : *f;
		jbuf_raw(t, &ch, 1);
	}
	jbuf_raw(t, "\n", 1);
	const char *cmd = info_str(m, n, "command");
	for (const char *f = cmd; *f; f++) {
		char ch = *f == '\n' ? ' ' : *f;
		jbuf_raw(t, &ch, 1);
	}
	const Pblog__InfoMessage *argv = info_find(m, n, "runargv");
	if (argv != NULL && argv->value_case == PBLOG__INFO_MESSAGE__VALUE_STRLISTVAL && argv->strlistval) {
		for (size_t i = 1; i < argv->strlistval->n_strings; i++) {
			jbuf_raw(t, " ", 1);
			for (const char *f = argv->strlistval->strings[i]; *f; f++) {
				char ch = *f == '\n' ? ' ' : *f;
				jbuf_raw(t, &ch, 1);
			}
		}
	}
	jbuf_raw(t, "\n", 1);
}

/*
 * pretty_members: compact JSON object text -> its members in sudo's layout
 * (json_pretty_members). Returns false when out of memory.
 */
static bool pretty_members(struct jbuf *out, const struct jbuf *compact)
{
	const char *errstr;
	size_t off;
	if (compact->oom)
		return false;
	struct jval *v = json_parse(compact->s, compact->len, &errstr, &off);
	if (v == NULL)
		return false;
	json_pretty_members(out, v);
	json_free(v);
	return !out->oom;
}

/*
 * log_json: log.json for the I/O log, laid out as sudo writes it (its
 * reader needs the whitespace). "pbpeer" comes first on its own line: a
 * restart must come from the same certificate identity (store_iolog.c).
 * With evwhere (a client using event-acks), "pbevents" follows on the
 * next line: where in the event log the session's first event lies.
 */
static void log_json(struct jbuf *j, const Pblog__AcceptMessage *am, const char *peer, const char *host,
		     const char *evwhere)
{
	struct jbuf m = {0};
	jbuf_open(&m, '{');
	jbuf_ktime(&m, "timestamp", am->submit_time ? am->submit_time->tv_sec : 0,
		   am->submit_time ? am->submit_time->tv_nsec : 0);
	info_members(&m, am->info_msgs, am->n_info_msgs, host);
	jbuf_close(&m, '}');
	jbuf_raw(j, "{\n    \"pbpeer\": ", strlen("{\n    \"pbpeer\": "));
	jbuf_str(j, peer, strlen(peer));
	jbuf_raw(j, ",\n", 2);
	if (evwhere != NULL) {
		/* event-acks: where the session's first event lies, on the line after (ioev_where). */
		jbuf_raw(j, "    \"pbevents\": ", strlen("    \"pbevents\": "));
		jbuf_str(j, evwhere, strlen(evwhere));
		jbuf_raw(j, ",\n", 2);
	}
	if (!pretty_members(j, &m))
		j->oom = true;
	jbuf_raw(j, "\n}\n", 3);
	jbuf_free(&m);
}

/*
 * next_seq: the next %{seq}, kept in iolog_dir/seq across restarts. It only
 * orders logs (the random suffix makes ids unique), so it is not fsync'ed.
 */
static uint64_t next_seq(struct logd_ctx *ctx)
{
	uint64_t n = ++ctx->seq;
	if (ctx->seqfd >= 0) {
		char buf[32];
		int l = snprintf(buf, sizeof(buf), "%06" PRIu64 "\n", n);
		if (pwrite(ctx->seqfd, buf, (size_t)l, 0) != l)
			PB_TRACE(PB_SS_STORE, 2, "cannot update the seq file");
	}
	return n;
}

/*
 * create_iolog: make the log directory. With cj (a syncer), the fsyncs that
 * make it durable are left in cj for the worker (create_begin).
 */
static int create_iolog(struct logd_conn *c, const Pblog__AcceptMessage *am, const char *host,
			struct commit_job *cj, const char *evwhere)
{
	struct logd_ctx *ctx = c->ctx;
	Pblog__InfoMessage **m = am->info_msgs;
	size_t n = am->n_info_msgs;
	struct iolog_vars v = {
		.user = info_str(m, n, "submituser"),
		.group = info_str(m, n, "submitgroup"),
		.runuser = info_str(m, n, "runuser"),
		.rungroup = info_str(m, n, "rungroup"),
		.host = host,
		.command = info_str(m, n, "command"),
		.when = time(NULL),
		.seq = next_seq(ctx),
	};
	struct jbuf t = {0}, j = {0};
	char id[IOLOG_ID_MAX + 1];
	const char *errstr = NULL;
	int rc;
	log_text(&t, am);
	log_json(&j, am, c->ctx->plain ? "(plain)" : c->peer, host, evwhere);
	if (t.oom || j.oom) {
		rc = fail(c, PB_ERR_NOMEM, "out of memory");
		goto done;
	}
	/*
	 * The policy may name the log's place (decision variable "iolog", which
	 * pbksh passes on as an InfoMessage); it is expanded like the configured
	 * template, so it stays a relative, unguessable id under the root.
	 */
	const char *tmpl = info_str(m, n, "iolog");
	if (tmpl == NULL || tmpl[0] == '\0')
		tmpl = ctx->path_template;
	/* Random ids collide only in theory; try a few before giving up. */
	for (int tries = 0; tries < 4; tries++) {
		rc = iolog_expand_path(tmpl, &v, id, sizeof(id), &errstr);
		if (rc < 0) {
			rc = fail(c, rc, "cannot name the I/O log: %s", errstr);
			goto done;
		}
		if (cj != NULL)
			rc = ctx->store->create_begin(ctx->iolog_rootfd, id, ctx->iolog_mode, t.s, j.s, &c->w,
						      cj->fds, &cj->nfds, &errstr);
		else
			rc = ctx->store->create(ctx->iolog_rootfd, id, ctx->iolog_mode, t.s, j.s, &c->w, &errstr);
		if (rc != PB_ERR_EXISTS)
			break;
	}
	if (rc < 0) {
		rc = fail(c, rc, "cannot create the I/O log: %s (%s)", errstr, pb_strerror(rc));
		goto done;
	}
	c->log_id = strdup(id);
	if (c->log_id == NULL) {
		rc = fail(c, PB_ERR_NOMEM, "out of memory");
		goto done;
	}
	ctx->n_iologs++;
	rc = 0;
done:
	jbuf_free(&t);
	jbuf_free(&j);
	return rc;
}

/* ---- message handlers ---- */

static int handle_hello(struct logd_conn *c, const Pblog__ClientHello *m)
{
	if (c->hello_seen || c->seen_any)
		return fail(c, PB_ERR_PROTO, "ClientHello must be the first message, once");
	c->hello_seen = true;
	for (size_t i = 0; i < m->n_extensions; i++)
		if (m->extensions[i] != NULL && strcmp(m->extensions[i], "event-acks") == 0)
			c->evacks = true;
	PB_TRACE(PB_SS_LOG, 4, "%s: client %s%s", c->addr, m->client_id ? m->client_id : "",
		 c->evacks ? " (event-acks)" : "");
	return 0;
}

static int handle_accept(struct logd_conn *c, const Pblog__AcceptMessage *am)
{
	struct jbuf b = {0};
	struct commit_job *cj = NULL;
	const char *claimed;
	int rc;
	if (c->state == ST_INIT && !c->ctx->enabled)
		return fail(c, PB_ERR_DENIED, "log server is disabled: new sessions are refused");
	if (!ts_ok(am->submit_time))
		return fail(c, PB_ERR_PROTO, "AcceptMessage: invalid submit_time");
	if (!check_required(c, am->info_msgs, am->n_info_msgs))
		return PB_ERR_PROTO;
	const char *host = establish_host(c, am->info_msgs, am->n_info_msgs, &claimed);
	if (host == NULL)
		return PB_ERR_DENIED;
	bool sub = c->state != ST_INIT;
	if (am->expect_iobufs) {
		if (sub)
			return fail(c, PB_ERR_PROTO, "a sub-command cannot start a second I/O log");
		/* With a syncer, a job makes the log durable and its done sends the id (commit_done). */
		if (c->ctx->syncer != NULL) {
			if ((cj = commit_job_new(c)) == NULL)
				return fail(c, PB_ERR_NOMEM, "out of memory");
			cj->create = true;
		}
		char evwhere[64], *ew = NULL;
		if (c->evacks) {
			/* Before the accept is appended: its place, at the earliest. */
			int day;
			unsigned seq;
			uint64_t off;
			evlog_where(c->ctx->ev, &day, &seq, &off);
			snprintf(evwhere, sizeof(evwhere), "%08d.%u.%" PRIu64, day, seq, off);
			ew = evwhere;
		}
		if ((rc = create_iolog(c, am, host, cj, ew)) < 0)
			goto fail_job;
		c->ioev = ew != NULL;
	}
	remember_session(c, am->info_msgs, am->n_info_msgs, host);
	if (!am->expect_iobufs)
		events_begin(c);
	event_open(&b, c, "accept");
	if (sub)
		jbuf_kbool(&b, "subcommand", true);
	jbuf_ktime(&b, "submit_time", am->submit_time->tv_sec, am->submit_time->tv_nsec);
	if (claimed != NULL)
		jbuf_kstr(&b, "claimedhost", claimed);
	if (c->log_id != NULL && !sub)
		jbuf_kstr(&b, "iolog_path", c->log_id);
	info_members(&b, am->info_msgs, am->n_info_msgs, host);
	rc = event_store(c, &b);
	jbuf_free(&b);
	if (rc < 0)
		goto fail_job;
	c->ctx->n_accept++;
	if (am->expect_iobufs) {
		/* The log id is an acknowledgement: the event and the directory are durable first. */
		if (c->ctx->ev_error < 0) {
			rc = fail(c, c->ctx->ev_error, "cannot store the event log: %s",
				  pb_strerror(c->ctx->ev_error));
			goto fail_job;
		}
		if (cj != NULL) {
			if ((rc = evlog_sync_begin(c->ctx->ev, &cj->evfd)) < 0) {
				rc = fail(c, rc, "cannot store the event log: %s", pb_strerror(rc));
				goto fail_job;
			}
			/*
			 * Records may come before the id goes out: they are written
			 * as usual, and no commit point is sent before the id (this
			 * job holds cjob, and jobs complete in order).
			 */
			c->state = ST_RUNNING;
			c->cjob = cj;
			job_events(cj, c, c->ioev ? c->evcount : 0);
			logd_syncer_submit(c->ctx->syncer, &cj->base);
			return 0;
		}
		if ((rc = evlog_sync(c->ctx->ev)) < 0)
			return fail(c, rc, "cannot store the event log: %s", pb_strerror(rc));
		Pblog__ServerMessage sm = PBLOG__SERVER_MESSAGE__INIT;
		sm.type_case = PBLOG__SERVER_MESSAGE__TYPE_LOG_ID;
		sm.log_id = c->log_id;
		c->state = ST_RUNNING;
		pb_log(PB_LV_INFO, "%s (%s): I/O log %s for %s", c->addr, c->peer, c->log_id, c->user);
		if ((rc = send_server(c, &sm)) < 0 || !c->ioev)
			return rc;
		return send_events(c, c->evcount, NULL);
	}
	if (c->state == ST_INIT) {
		c->state = ST_EVENTS;
		if (c->evsess)
			return events_id(c);
	}
	return 0;
fail_job:
	if (cj != NULL) {
		/* New directories stay: sync them now, or a later log under them would not. */
		for (size_t i = 0; i < cj->nfds; i++)
			(void)fsync(cj->fds[i]);
		commit_job_free(cj);
	}
	return rc;
}

static int handle_reject(struct logd_conn *c, const Pblog__RejectMessage *rm)
{
	struct jbuf b = {0};
	const char *claimed;
	int rc;
	if (c->state == ST_INIT && !c->ctx->enabled)
		return fail(c, PB_ERR_DENIED, "log server is disabled: new sessions are refused");
	if (!ts_ok(rm->submit_time))
		return fail(c, PB_ERR_PROTO, "RejectMessage: invalid submit_time");
	if (!check_required(c, rm->info_msgs, rm->n_info_msgs))
		return PB_ERR_PROTO;
	const char *host = establish_host(c, rm->info_msgs, rm->n_info_msgs, &claimed);
	if (host == NULL)
		return PB_ERR_DENIED;
	remember_session(c, rm->info_msgs, rm->n_info_msgs, host);
	events_begin(c);
	event_open(&b, c, "reject");
	if (c->state != ST_INIT)
		jbuf_kbool(&b, "subcommand", true);
	jbuf_ktime(&b, "submit_time", rm->submit_time->tv_sec, rm->submit_time->tv_nsec);
	jbuf_kstr(&b, "reason", rm->reason != NULL ? rm->reason : "");
	if (claimed != NULL)
		jbuf_kstr(&b, "claimedhost", claimed);
	info_members(&b, rm->info_msgs, rm->n_info_msgs, host);
	rc = event_store(c, &b);
	jbuf_free(&b);
	if (rc < 0)
		return rc;
	c->ctx->n_reject++;
	if (c->state == ST_INIT) {
		/*
		 * A rejected command never runs: the session ends here, and sudo
		 * clients wait for the server to close. (A reject of a sub-command
		 * inside a session leaves it open.) The event is synced at the
		 * next commit tick, as for an Exit without I/O log (with
		 * event-acks: acknowledged first).
		 */
		if (c->evsess) {
			if ((rc = events_id(c)) < 0)
				return rc;
			return events_end(c);
		}
		c->state = ST_EXITED;
		return PB_ERR_EOF;
	}
	return 0;
}

static int handle_alert(struct logd_conn *c, const Pblog__AlertMessage *am)
{
	struct jbuf b = {0};
	const char *claimed = NULL;
	const char *host = c->host;
	int rc;
	if (!ts_ok(am->alert_time))
		return fail(c, PB_ERR_PROTO, "AlertMessage: invalid alert_time");
	if (am->n_info_msgs > 0) {
		host = establish_host(c, am->info_msgs, am->n_info_msgs, &claimed);
		if (host == NULL)
			return PB_ERR_DENIED;
	} else if (host == NULL && !c->ctx->plain) {
		host = c->peer;
	}
	event_open(&b, c, "alert");
	jbuf_ktime(&b, "alert_time", am->alert_time->tv_sec, am->alert_time->tv_nsec);
	jbuf_kstr(&b, "reason", am->reason != NULL ? am->reason : "");
	if (claimed != NULL)
		jbuf_kstr(&b, "claimedhost", claimed);
	info_members(&b, am->info_msgs, am->n_info_msgs, host);
	rc = event_store(c, &b);
	jbuf_free(&b);
	if (rc == 0)
		c->ctx->n_alert++;
	return rc;
}

/* valid_signame: a signal name without "SIG": upper-case letters and digits, 1-31 of them. */
static bool valid_signame(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= IOLOG_SIG_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

static void exit_members(struct jbuf *b, const Pblog__TimeSpec *run_time, int32_t exit_value,
			 const char *signal, bool dumped_core, const char *error)
{
	if (run_time != NULL)
		jbuf_ktime(b, "run_time", run_time->tv_sec, run_time->tv_nsec);
	if (signal != NULL && signal[0] != '\0') {
		jbuf_kstr(b, "signal", signal);
		jbuf_kbool(b, "dumped_core", dumped_core);
	} else {
		jbuf_kint(b, "exit_value", exit_value);
	}
	if (error != NULL && error[0] != '\0')
		jbuf_kstr(b, "error", error);
}

static int handle_exit(struct logd_conn *c, const Pblog__ExitMessage *em)
{
	struct jbuf b = {0};
	int rc;
	if (em->run_time != NULL && !ts_ok(em->run_time))
		return fail(c, PB_ERR_PROTO, "ExitMessage: invalid run_time");
	if (em->signal != NULL && em->signal[0] != '\0' && !valid_signame(em->signal))
		return fail(c, PB_ERR_PROTO, "ExitMessage: invalid signal name");
	if ((em->signal == NULL || em->signal[0] == '\0') && (em->exit_value < 0 || em->exit_value > 255))
		return fail(c, PB_ERR_PROTO, "ExitMessage: exit_value out of range 0-255");
	event_open(&b, c, "exit");
	if (c->user != NULL) {
		jbuf_kstr(&b, "submituser", c->user);
		jbuf_kstr(&b, "submithost", c->host);
		jbuf_kstr(&b, "command", c->command);
	}
	exit_members(&b, em->run_time, em->exit_value, em->signal, em->dumped_core, em->error);
	/* (Resent after a restart and stored already: only the I/O log is left to finish.) */
	rc = c->exit_stored ? 0 : event_store(c, &b);
	if (rc < 0)
		goto done;
	c->ctx->n_exit++;
	if (c->w != NULL) {
		/* The members for log.json, in sudo's layout (one per line, four spaces). */
		struct jbuf cx = {0}, x = {0};
		jbuf_open(&cx, '{');
		exit_members(&cx, em->run_time, em->exit_value, em->signal, em->dumped_core, em->error);
		jbuf_close(&cx, '}');
		bool ok = pretty_members(&x, &cx);
		jbuf_free(&cx);
		if (!ok) {
			jbuf_free(&x);
			rc = fail(c, PB_ERR_NOMEM, "out of memory");
			goto done;
		}
		if (c->ctx->syncer != NULL) {
			/* The worker finishes the log; commit_done sends the final point and closes. */
			struct commit_job *cj = commit_job_new(c);
			if (cj == NULL || (rc = evlog_sync_begin(c->ctx->ev, &cj->evfd)) < 0) {
				if (cj != NULL)
					commit_job_free(cj);
				jbuf_free(&x);
				rc = fail(c, cj == NULL ? PB_ERR_NOMEM : rc, "cannot store the event log: %s",
					  pb_strerror(cj == NULL ? PB_ERR_NOMEM : rc));
				goto done;
			}
			cj->members = x.s; /* the job owns it now */
			cj->finish = c->w;
			cj->point = c->ctx->store->elapsed(c->w);
			job_events(cj, c, c->ioev ? c->evcount : 0);
			c->w = NULL;
			c->uncommitted = false;
			c->fjob = cj;
			c->state = ST_EXITED;
			logd_syncer_submit(c->ctx->syncer, &cj->base);
			rc = 0;
			goto done;
		}
		if ((rc = evlog_sync(c->ctx->ev)) < 0) {
			jbuf_free(&x);
			rc = fail(c, rc, "cannot store the event log: %s", pb_strerror(rc));
			goto done;
		}
		rc = c->ctx->store->finish(c->w, x.s);
		jbuf_free(&x);
		if (rc < 0) {
			rc = fail(c, rc, "cannot complete the I/O log: %s", pb_strerror(rc));
			goto done;
		}
		struct timespec point = c->ctx->store->elapsed(c->w);
		c->uncommitted = false;
		rc = send_commit(c, point);
		if (rc == 0 && c->ioev)
			rc = send_events(c, c->evcount, NULL);
		c->ctx->store->close(c->w);
		c->w = NULL;
		pb_log(PB_LV_INFO, "%s (%s): I/O log %s complete", c->addr, c->peer, c->log_id);
	}
	/* With event-acks the end is acknowledged once durable. */
	if (c->evsess) {
		rc = events_end(c);
		goto done;
	}
	/*
	 * Without an I/O log nothing is acknowledged (no commit point): the
	 * event log is synced at the next commit tick, together with every
	 * other connection's events, instead of once per session.
	 */
	c->state = ST_EXITED;
	/* The session is over: the caller closes once the final commit point is written. */
	rc = PB_ERR_EOF;
done:
	jbuf_free(&b);
	return rc;
}

static int handle_subcmd_exit(struct logd_conn *c, const Pblog__SubcommandExit *se)
{
	struct jbuf b = {0};
	int rc;
	if (se->uniqueid == NULL || se->uniqueid[0] == '\0')
		return fail(c, PB_ERR_PROTO, "SubcommandExit: uniqueid is missing");
	if ((se->run_time != NULL && !ts_ok(se->run_time)) || (se->end_time != NULL && !ts_ok(se->end_time)))
		return fail(c, PB_ERR_PROTO, "SubcommandExit: invalid time");
	if (se->signal != NULL && se->signal[0] != '\0' && !valid_signame(se->signal))
		return fail(c, PB_ERR_PROTO, "SubcommandExit: invalid signal name");
	if ((se->signal == NULL || se->signal[0] == '\0') && (se->exit_value < 0 || se->exit_value > 255))
		return fail(c, PB_ERR_PROTO, "SubcommandExit: exit_value out of range 0-255");
	event_open(&b, c, "finish");
	jbuf_kstr(&b, "uniqueid", se->uniqueid);
	if (c->user != NULL) {
		jbuf_kstr(&b, "submituser", c->user);
		jbuf_kstr(&b, "submithost", c->host);
	}
	if (se->end_time != NULL)
		jbuf_ktime(&b, "end_time", se->end_time->tv_sec, se->end_time->tv_nsec);
	exit_members(&b, se->run_time, se->exit_value, se->signal, se->dumped_core, se->error);
	rc = event_store(c, &b);
	jbuf_free(&b);
	if (rc == 0)
		c->ctx->n_finish++;
	return rc;
}

/*
 * where_parse: a place in the event log, "DAY.SEQ.OFFSET" (eight digits,
 * then numbers), at p: the end of it, or NULL when it is not one.
 */
static const char *where_parse(const char *p, int *day, unsigned *seq, uint64_t *off)
{
	char *end;
	*day = 0;
	for (int i = 0; i < 8; i++, p++) {
		if (*p < '0' || *p > '9')
			return NULL;
		*day = *day * 10 + (*p - '0');
	}
	if (*p++ != '.' || *p < '0' || *p > '9')
		return NULL;
	unsigned long sq = strtoul(p, &end, 10);
	if (*end != '.' || sq > 1000000)
		return NULL;
	p = end + 1;
	if (*p < '0' || *p > '9')
		return NULL;
	errno = 0;
	unsigned long long o = strtoull(p, &end, 10);
	if (errno != 0)
		return NULL;
	*seq = (unsigned)sq;
	*off = (uint64_t)o;
	return end;
}

/* events_id_parse: an events-only log id (events_begin) -> where its first event lies. */
static bool events_id_parse(const char *id, int *day, unsigned *seq, uint64_t *off)
{
	if (*id != '@' || (id = where_parse(id + 1, day, seq, off)) == NULL || *id++ != '.')
		return false;
	return strspn(id, "0123456789abcdef") == 16 && id[16] == '\0';
}

/* What a scan of the event log found of one events-only session. */
struct evscan {
	const char *id;
	uint64_t count;		/* its events */
	bool ended;		/* the last one ends it (an exit, or a refused start) */
	char *peer, *user, *host, *command;	/* from its first event */
	bool first_only;	/* stop at its first event */
	bool tail;		/* the scan starts after its first event */
};

static void evscan_free(struct evscan *st)
{
	free(st->peer);
	free(st->user);
	free(st->host);
	free(st->command);
}

static char *dup_member(const struct jval *v, const char *key)
{
	const char *s = json_str(v, key);
	return strdup(s != NULL ? s : "");
}

static int evscan_line(void *arg, const char *line, size_t len)
{
	struct evscan *st = arg;
	const char *errstr;
	size_t off;
	/* Cheap first: only lines holding the id are parsed. */
	if (memmem(line, len, st->id, strlen(st->id)) == NULL)
		return 0;
	struct jval *v = json_parse(line, len, &errstr, &off);
	if (v == NULL)
		return 0; /* a line a crash cut short: readers skip it too */
	const char *sess = json_str(v, "session");
	const char *ev = json_str(v, "event");
	int rc = 0;
	if (sess != NULL && strcmp(sess, st->id) == 0 && ev != NULL) {
		if (st->count++ == 0 && !st->tail) {
			st->peer = dup_member(v, "peer");
			st->user = dup_member(v, "submituser");
			st->host = dup_member(v, "submithost");
			st->command = dup_member(v, "command");
			if (st->peer == NULL || st->user == NULL || st->host == NULL || st->command == NULL) {
				json_free(v);
				return PB_ERR_NOMEM;
			}
			st->ended = strcmp(ev, "reject") == 0;
		} else {
			st->ended = strcmp(ev, "exit") == 0;
		}
		if (st->first_only)
			rc = 1; /* stop here */
	}
	json_free(v);
	return rc;
}

/* where_cmp: the order of two places in the event log. */
static int where_cmp(int d1, unsigned s1, uint64_t o1, int d2, unsigned s2, uint64_t o2)
{
	if (d1 != d2)
		return d1 < d2 ? -1 : 1;
	if (s1 != s2)
		return s1 < s2 ? -1 : 1;
	return o1 < o2 ? -1 : o1 > o2;
}

/*
 * evscan_from: what the event log holds of session st->id, whose first
 * event lies at (day, seq, off) at the earliest: read from there to the
 * end; or, when the client sent back the events_where of its last
 * acknowledgement (acked: that acknowledgement's count), its first event
 * only (whose it is) and then from where on: acked plus those found there.
 * So a restart reads what came after the last acknowledgement, not the
 * whole session again. 0 (st->count 0: no such session) or an error.
 */
static int evscan_from(struct logd_ctx *ctx, struct evscan *st, int day, unsigned seq, uint64_t off,
		       const char *where, uint64_t acked)
{
	int wd, ed;
	unsigned ws, es;
	uint64_t wo, eo;
	const char *e = where != NULL && *where != '\0' && acked > 0 ? where_parse(where, &wd, &ws, &wo) : NULL;
	evlog_where(ctx->ev, &ed, &es, &eo);
	bool tail = e != NULL && *e == '\0' && where_cmp(day, seq, off, wd, ws, wo) <= 0 &&
		    where_cmp(wd, ws, wo, ed, es, eo) <= 0;
	st->first_only = tail;
	int rc = evlog_scan(ctx->ev, day, seq, off, evscan_line, st);
	if (rc < 0 || !tail || st->count == 0)
		return rc < 0 ? rc : 0;
	st->first_only = false;
	st->tail = true;
	st->count = 0;
	if ((rc = evlog_scan(ctx->ev, wd, ws, wo, evscan_line, st)) < 0)
		return rc;
	PB_TRACE(PB_SS_LOG, 4, "session %s: %" PRIu64 " events after %s, %" PRIu64 " acknowledged before",
		 st->id, st->count, where, acked);
	st->count += acked;
	return 0;
}

/*
 * handle_events_restart: extension event-acks: go on with an events-only
 * session after its connection was lost. The count of its events comes
 * from the event log itself (read on from where the id says its first
 * event lies, each file synced first), so it is exact after any crash of
 * logd: the client resends everything after events_acked, and the first
 * (stored - events_acked) of those are dropped here (logd_conn_frame).
 */
static int handle_events_restart(struct logd_conn *c, const Pblog__RestartMessage *rm)
{
	struct evscan st = {.id = rm->log_id};
	struct logd_evsess *ent;
	int day;
	unsigned seq;
	uint64_t off;
	int rc = 0;
	if (!c->evacks)
		return fail(c, PB_ERR_PROTO, "RestartMessage: log_id of an events-only session needs the "
			    "client's event-acks extension");
	if (!events_id_parse(rm->log_id, &day, &seq, &off))
		return fail(c, PB_ERR_PROTO, "RestartMessage: invalid log_id");
	if ((ent = evsess_find(c->ctx, rm->log_id)) != NULL) {
		/* Known here: what its connections appended is in the file (and synced before it is acknowledged). */
		st.count = ent->count;
		st.ended = ent->ended;
		st.peer = strdup(ent->peer);
		st.user = strdup(ent->user);
		st.host = strdup(ent->host);
		st.command = strdup(ent->command);
		if (st.peer == NULL || st.user == NULL || st.host == NULL || st.command == NULL) {
			rc = fail(c, PB_ERR_NOMEM, "out of memory");
			goto done;
		}
	} else if ((rc = evscan_from(c->ctx, &st, day, seq, off, rm->events_where, rm->events_acked)) < 0) {
		/* (A connection of the session still open stores nothing while this frame is handled.) */
		rc = fail(c, rc, "cannot read the event log: %s", pb_strerror(rc));
		goto done;
	}
	if (st.count == 0) {
		rc = fail(c, PB_ERR_NOTFOUND, "RestartMessage: unknown log_id %.100s", rm->log_id);
		goto done;
	}
	if (strcmp(st.peer, c->peer) != 0) {
		rc = fail(c, PB_ERR_DENIED, "RestartMessage: log_id %.100s belongs to another client (%.100s)",
			  rm->log_id, st.peer);
		goto done;
	}
	if (rm->events_acked > st.count) {
		rc = fail(c, PB_ERR_PROTO, "RestartMessage: events_acked %" PRIu64 " is more than the %" PRIu64
			  " events stored of %.100s", rm->events_acked, st.count, rm->log_id);
		goto done;
	}
	/* A connection of the session still open here (its client lost it first) ends now: this one takes over. */
	for (struct logd_conn *o = c->ctx->conns; o != NULL; o = o->next) {
		if (o == c || !o->evsess || strcmp(o->session, rm->log_id) != 0 || o->state == ST_FAILED)
			continue;
		pb_log(PB_LV_INFO, "%s: session %s continues on %s", o->addr, o->session, c->addr);
		o->state = ST_FAILED;
		if (o->ent != NULL)
			o->ent->conn = NULL;
		o->ent = NULL;
		o->tr->close(o->io);
	}
	if (ent == NULL && (ent = evsess_add(c->ctx, rm->log_id, st.peer, st.user, st.host, st.command)) != NULL) {
		ent->count = st.count;
		ent->ended = st.ended;
	}
	if (ent != NULL)
		ent->conn = c;
	c->ent = ent;
	snprintf(c->session, sizeof(c->session), "%s", rm->log_id);
	c->evsess = true;
	c->evcount = st.count;
	c->evacked = rm->events_acked; /* the next tick acknowledges the rest, once synced */
	c->evskip = st.count - rm->events_acked;
	c->evended = st.ended;
	c->user = st.user;
	c->host = st.host;
	c->command = st.command;
	st.user = st.host = st.command = NULL;
	c->state = ST_EVENTS;
	c->ctx->n_restart++;
	pb_log(PB_LV_INFO, "%s (%s): session %s restarted: %" PRIu64 " events stored, %" PRIu64 " acknowledged%s",
	       c->addr, c->peer, c->session, st.count, rm->events_acked,
	       st.tail ? " (the event log read from the last acknowledgement)" : "");
	if (c->evended && c->evskip == 0)
		rc = events_end(c); /* nothing more can come: acknowledged once synced, and closed */
done:
	evscan_free(&st);
	return rc;
}

/*
 * events_skip: after an events-only restart, an event message resent that
 * is stored already is dropped. Returns 1 when dropped (*rc: what to
 * return), 0 when the message is to be handled.
 */
static int events_skip(struct logd_conn *c, Pblog__ClientMessage__TypeCase type, int *rc)
{
	bool event = type == PBLOG__CLIENT_MESSAGE__TYPE_ACCEPT_MSG || type == PBLOG__CLIENT_MESSAGE__TYPE_REJECT_MSG ||
		     type == PBLOG__CLIENT_MESSAGE__TYPE_ALERT_MSG || type == PBLOG__CLIENT_MESSAGE__TYPE_EXIT_MSG ||
		     type == PBLOG__CLIENT_MESSAGE__TYPE_SUBCMD_EXIT;
	*rc = 0;
	if (c->ioev && event && c->evskip > 0) {
		/* An I/O log's: dropped, but its Exit still finishes the log (handle_exit). */
		c->evskip--;
		if (type != PBLOG__CLIENT_MESSAGE__TYPE_EXIT_MSG)
			return 1;
		c->exit_stored = true;
		return 0;
	}
	if (!c->evsess || !event)
		return 0;
	if (c->evskip == 0) {
		if (c->evended) {
			*rc = fail(c, PB_ERR_PROTO, "no message may follow the end of the session");
			return 1;
		}
		return 0;
	}
	c->evskip--;
	if (c->evskip == 0 && c->evended) {
		/* The last one stored was the end: acknowledged once synced, and closed. */
		*rc = events_end(c);
	}
	return 1;
}

/*
 * ioev_where: where the first event of I/O log id lies (log.json's line
 * "pbevents" after "pbpeer", written by log_json for a client using event-acks; a
 * client's values cannot begin a line). False when the log has none.
 */
static bool ioev_where(struct logd_conn *c, const char *id, int *day, unsigned *seq, uint64_t *off)
{
	char buf[4096], *p;
	static const char key[] = "    \"pbevents\": \"";
	int dfd = iolog_open_beneath(c->ctx->iolog_rootfd, id, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return false;
	ssize_t n = iolog_read_json(dfd, buf, sizeof(buf));
	close(dfd);
	if (n < 0)
		return false;
	/* "{", then the "pbpeer" line, then ours. */
	if ((p = strchr(buf, '\n')) == NULL || (p = strchr(p + 1, '\n')) == NULL ||
	    strncmp(p + 1, key, sizeof(key) - 1) != 0)
		return false;
	p += sizeof(key); /* p was at the newline before the key */
	const char *end = where_parse(p, day, seq, off);
	return end != NULL && *end == '"';
}

/*
 * io_events_restart: extension event-acks on an I/O log's restart: its
 * events are counted in the event log (from where log.json says its first
 * lies), and the first (stored - events_acked) event messages resent are
 * dropped (events_skip), as for an events-only session.
 */
static int io_events_restart(struct logd_conn *c, const Pblog__RestartMessage *rm, bool *tail)
{
	struct evscan st = {.id = rm->log_id};
	int day;
	unsigned seq;
	uint64_t off;
	int rc = 0;
	if (!ioev_where(c, rm->log_id, &day, &seq, &off))
		return fail(c, PB_ERR_PROTO, "RestartMessage: events_acked for I/O log %.100s, whose events "
			    "are not counted (created without event-acks)", rm->log_id);
	if ((rc = evscan_from(c->ctx, &st, day, seq, off, rm->events_where, rm->events_acked)) < 0) {
		rc = fail(c, rc, "cannot read the event log: %s", pb_strerror(rc));
		goto done;
	}
	if (rm->events_acked > st.count) {
		rc = fail(c, PB_ERR_PROTO, "RestartMessage: events_acked %" PRIu64 " is more than the %" PRIu64
			  " events stored of %.100s", rm->events_acked, st.count, rm->log_id);
		goto done;
	}
	*tail = st.tail;
	c->ioev = true;
	c->evcount = st.count;
	c->evacked = rm->events_acked; /* the next tick acknowledges the rest, once synced */
	c->evskip = st.count - rm->events_acked;
	if (c->user == NULL) {
		c->user = st.user;
		c->host = st.host;
		c->command = st.command;
		st.user = st.host = st.command = NULL;
	}
done:
	evscan_free(&st);
	return rc;
}

static int handle_restart(struct logd_conn *c, const Pblog__RestartMessage *rm)
{
	const char *errstr = "";
	struct timespec resume;
	if (rm->log_id != NULL && rm->log_id[0] == '@')
		return handle_events_restart(c, rm);
	if (rm->events_acked != 0 && !c->evacks)
		return fail(c, PB_ERR_PROTO, "RestartMessage: events_acked needs the client's event-acks extension");
	if (rm->log_id == NULL || !iolog_id_valid(rm->log_id))
		return fail(c, PB_ERR_PROTO, "RestartMessage: invalid log_id");
	if (rm->resume_point == NULL || !ts_valid_delay(rm->resume_point->tv_sec, rm->resume_point->tv_nsec))
		return fail(c, PB_ERR_PROTO, "RestartMessage: invalid resume_point");
	resume.tv_sec = (time_t)rm->resume_point->tv_sec;
	resume.tv_nsec = rm->resume_point->tv_nsec;
	int rc = c->ctx->store->restart(c->ctx->iolog_rootfd, rm->log_id, resume,
					c->ctx->plain ? "(plain)" : c->peer, &c->w, &errstr);
	if (rc < 0)
		return fail(c, rc, "cannot restart log %.200s: %s", rm->log_id, errstr);
	c->log_id = strdup(rm->log_id);
	if (c->log_id == NULL)
		return fail(c, PB_ERR_NOMEM, "out of memory");
	c->committed = resume;
	/* events_acked 0: the client does not resume events (none is dropped, none acknowledged). */
	bool tail = false;
	if (rm->events_acked != 0 && (rc = io_events_restart(c, rm, &tail)) < 0)
		return rc;
	c->state = ST_RUNNING;
	c->ctx->n_restart++;
	pb_log(PB_LV_INFO, "%s (%s): I/O log %s restarted at %lld.%09ld, %" PRIu64 " of %" PRIu64
	       " events acknowledged%s", c->addr, c->peer, c->log_id, (long long)resume.tv_sec, resume.tv_nsec,
	       rm->events_acked, c->evcount, tail ? " (the event log read from the last acknowledgement)" : "");
	return 0;
}

static int store_record(struct logd_conn *c, const struct iolog_rec *rec, const void *data)
{
	int rc = c->ctx->store->write(c->w, rec, data);
	if (rc < 0)
		return fail(c, rc, "cannot store the I/O log: %s", pb_strerror(rc));
	c->uncommitted = true;
	c->ctx->n_records++;
	c->ctx->n_bytes += rec->len;
	return 0;
}

static int handle_iobuf(struct logd_conn *c, int type, const Pblog__IoBuffer *ib)
{
	struct iolog_rec rec = {.type = type};
	if (ib->delay == NULL || !ts_valid_delay(ib->delay->tv_sec, ib->delay->tv_nsec))
		return fail(c, PB_ERR_PROTO, "IoBuffer: invalid delay");
	rec.delay.tv_sec = (time_t)ib->delay->tv_sec;
	rec.delay.tv_nsec = ib->delay->tv_nsec;
	rec.len = ib->data.len;
	return store_record(c, &rec, ib->data.data);
}

static int handle_winsize(struct logd_conn *c, const Pblog__ChangeWindowSize *ws)
{
	struct iolog_rec rec = {.type = IOLOG_WINSIZE};
	if (ws->delay == NULL || !ts_valid_delay(ws->delay->tv_sec, ws->delay->tv_nsec))
		return fail(c, PB_ERR_PROTO, "ChangeWindowSize: invalid delay");
	if (ws->rows < 0 || ws->cols < 0 || ws->rows > 65535 || ws->cols > 65535)
		return fail(c, PB_ERR_PROTO, "ChangeWindowSize: invalid size");
	rec.delay.tv_sec = (time_t)ws->delay->tv_sec;
	rec.delay.tv_nsec = ws->delay->tv_nsec;
	rec.rows = ws->rows;
	rec.cols = ws->cols;
	return store_record(c, &rec, NULL);
}

static int handle_suspend(struct logd_conn *c, const Pblog__CommandSuspend *cs)
{
	struct iolog_rec rec = {.type = IOLOG_SUSPEND};
	if (cs->delay == NULL || !ts_valid_delay(cs->delay->tv_sec, cs->delay->tv_nsec))
		return fail(c, PB_ERR_PROTO, "CommandSuspend: invalid delay");
	if (cs->signal == NULL || !valid_signame(cs->signal))
		return fail(c, PB_ERR_PROTO, "CommandSuspend: invalid signal name");
	rec.delay.tv_sec = (time_t)cs->delay->tv_sec;
	rec.delay.tv_nsec = cs->delay->tv_nsec;
	snprintf(rec.signame, sizeof(rec.signame), "%s", cs->signal);
	return store_record(c, &rec, NULL);
}

/*
 * store_admin_event: an admin action as an event (DESIGN §5), with who
 * asked, from where, what and the outcome; refusals too. Queries that
 * change nothing (status, sessions) are only in logd's log: a watched stop
 * asks for sessions twice a second. A failure to store is logged, not
 * fatal: the admin reply still goes out.
 */
static void store_admin_event(struct logd_conn *c, const AdminRequest *req, const AdminReply *r)
{
	struct jbuf b = {0};
	char what[128];
	bool refused = r->type_case == ADMIN_REPLY__TYPE_ERROR && r->error->code == PB_ERR_DENIED;
	if (!refused && (req->type_case == ADMIN_REQUEST__TYPE_STATUS ||
			 req->type_case == ADMIN_REQUEST__TYPE_SESSIONS))
		return;
	event_open(&b, c, "admin");
	jbuf_kstr(&b, "request", pb_admin_request_text(req, what, sizeof(what)));
	jbuf_kstr(&b, "outcome", refused ? "refused"
				 : r->type_case == ADMIN_REPLY__TYPE_ERROR ? "failed"
									     : "done");
	if (r->type_case == ADMIN_REPLY__TYPE_ERROR)
		jbuf_kstr(&b, "message", r->error->message);
	else if (r->type_case == ADMIN_REPLY__TYPE_DONE)
		jbuf_kstr(&b, "message", r->done->message);
	jbuf_close(&b, '}');
	int rc = b.oom ? PB_ERR_NOMEM : evlog_append(c->ctx->ev, b.s, b.len);
	if (rc < 0)
		pb_log(PB_LV_ERROR, "%s: admin event not stored: %s", c->addr, pb_strerror(rc));
	jbuf_free(&b);
}

static int handle_admin(struct logd_conn *c, const AdminRequest *req)
{
	AdminReply *r;
	if (c->ctx->admin == NULL || c->ctx->plain)
		r = pb_admin_error_reply(req->id, PB_ERR_DENIED, "administration needs a TLS client certificate");
	else
		r = pb_admin_handle_conn(c->ctx->admin, c->peer, c->addr, req, c);
	if (r == NULL)
		return fail(c, PB_ERR_NOMEM, "out of memory");
	store_admin_event(c, req, r);
	Pblog__ServerMessage sm = PBLOG__SERVER_MESSAGE__INIT;
	sm.type_case = PBLOG__SERVER_MESSAGE__TYPE_ADMIN_REPLY;
	sm.admin_reply = r;
	int rc = send_server(c, &sm);
	pb_admin_reply_free(r);
	return rc;
}

/* ---- strings with NUL ---- */

static bool wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0)
			return true;
	}
	return false;
}

/*
 * strings_clean: false when a string field anywhere in the message holds a
 * NUL byte. protobuf-c hands strings over NUL-terminated, so "/bin/ls\0; rm"
 * would be logged as "/bin/ls": such messages are refused instead. The walk
 * follows the descriptors; malformed wire data is left to the unpacker.
 */
static bool strings_clean(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len, int depth)
{
	const uint8_t *end = p + len;
	if (depth > 16)
		return true;
	while (p < end) {
		uint64_t key, v;
		if (!wire_varint(&p, end, &key))
			return true;
		switch (key & 7) {
		case 0:
			if (!wire_varint(&p, end, &v))
				return true;
			break;
		case 1:
			p += (end - p < 8) ? end - p : 8;
			break;
		case 5:
			p += (end - p < 4) ? end - p : 4;
			break;
		case 2: {
			if (!wire_varint(&p, end, &v) || v > (uint64_t)(end - p))
				return true;
			const ProtobufCFieldDescriptor *f =
				protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3));
			if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING && memchr(p, 0, (size_t)v) != NULL)
				return false;
			if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE &&
			    !strings_clean(f->descriptor, p, (size_t)v, depth + 1))
				return false;
			p += v;
			break;
		}
		default:
			return true;
		}
	}
	return true;
}

/* Which states each message is allowed in (one bit per enum conn_state). */
#define S(x) (1u << (x))
static const struct {
	Pblog__ClientMessage__TypeCase type;
	const char *name;
	unsigned states;
} allowed[] = {
	{PBLOG__CLIENT_MESSAGE__TYPE_HELLO_MSG, "ClientHello", S(ST_INIT)},
	{PBLOG__CLIENT_MESSAGE__TYPE_ACCEPT_MSG, "AcceptMessage", S(ST_INIT) | S(ST_EVENTS) | S(ST_RUNNING)},
	{PBLOG__CLIENT_MESSAGE__TYPE_REJECT_MSG, "RejectMessage", S(ST_INIT) | S(ST_EVENTS) | S(ST_RUNNING)},
	{PBLOG__CLIENT_MESSAGE__TYPE_RESTART_MSG, "RestartMessage", S(ST_INIT)},
	{PBLOG__CLIENT_MESSAGE__TYPE_ALERT_MSG, "AlertMessage", S(ST_INIT) | S(ST_EVENTS) | S(ST_RUNNING)},
	{PBLOG__CLIENT_MESSAGE__TYPE_EXIT_MSG, "ExitMessage", S(ST_EVENTS) | S(ST_RUNNING)},
	{PBLOG__CLIENT_MESSAGE__TYPE_TTYIN_BUF, "IoBuffer", S(ST_RUNNING)},
	{PBLOG__CLIENT_MESSAGE__TYPE_TTYOUT_BUF, "IoBuffer", S(ST_RUNNING)},
	{PBLOG__CLIENT_MESSAGE__TYPE_STDIN_BUF, "IoBuffer", S(ST_RUNNING)},
	{PBLOG__CLIENT_MESSAGE__TYPE_STDOUT_BUF, "IoBuffer", S(ST_RUNNING)},
	{PBLOG__CLIENT_MESSAGE__TYPE_STDERR_BUF, "IoBuffer", S(ST_RUNNING)},
	{PBLOG__CLIENT_MESSAGE__TYPE_WINSIZE_EVENT, "ChangeWindowSize", S(ST_RUNNING)},
	{PBLOG__CLIENT_MESSAGE__TYPE_SUSPEND_EVENT, "CommandSuspend", S(ST_RUNNING)},
	{PBLOG__CLIENT_MESSAGE__TYPE_SUBCMD_EXIT, "SubcommandExit", S(ST_EVENTS) | S(ST_RUNNING)},
	{PBLOG__CLIENT_MESSAGE__TYPE_ADMIN_REQ, "AdminRequest", S(ST_INIT)},
};
#undef S

int logd_conn_frame(struct logd_conn *c, const uint8_t *msg, size_t len)
{
	Pblog__ClientMessage *cm;
	int rc;
	if (c->state == ST_FAILED || c->state == ST_EXITED)
		return fail(c, PB_ERR_PROTO, "no message may follow the end of the session");
	c->messages++;
	c->in_frame = true;
	cm = pblog__client_message__unpack(NULL, len, msg);
	if (cm == NULL) {
		rc = fail(c, PB_ERR_PROTO, "invalid ClientMessage (cannot decode)");
		c->in_frame = false;
		return rc;
	}
	if (!strings_clean(&pblog__client_message__descriptor, msg, len, 0)) {
		rc = fail(c, PB_ERR_PROTO, "invalid ClientMessage: NUL byte inside a string");
		goto done;
	}
	size_t i;
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (allowed[i].type == cm->type_case)
			break;
	if (i == sizeof(allowed) / sizeof(allowed[0])) {
		rc = fail(c, PB_ERR_PROTO, "ClientMessage of unknown or no type (%d)", (int)cm->type_case);
		goto done;
	}
	if ((allowed[i].states & (1u << c->state)) == 0) {
		rc = fail(c, PB_ERR_PROTO, "%s not allowed in state %s", allowed[i].name, state_names[c->state]);
		goto done;
	}
	PB_TRACE(PB_SS_PROTO, 7, "%s: %s in state %s", c->addr, allowed[i].name, state_names[c->state]);
	if (events_skip(c, cm->type_case, &rc))
		goto done;
	if (cm->type_case != PBLOG__CLIENT_MESSAGE__TYPE_HELLO_MSG &&
	    cm->type_case != PBLOG__CLIENT_MESSAGE__TYPE_ADMIN_REQ)
		c->seen_any = true;

	switch (cm->type_case) {
	case PBLOG__CLIENT_MESSAGE__TYPE_HELLO_MSG:
		rc = handle_hello(c, cm->hello_msg);
		break;
	case PBLOG__CLIENT_MESSAGE__TYPE_ACCEPT_MSG:
		rc = handle_accept(c, cm->accept_msg);
		break;
	case PBLOG__CLIENT_MESSAGE__TYPE_REJECT_MSG:
		rc = handle_reject(c, cm->reject_msg);
		break;
	case PBLOG__CLIENT_MESSAGE__TYPE_RESTART_MSG:
		rc = handle_restart(c, cm->restart_msg);
		break;
	case PBLOG__CLIENT_MESSAGE__TYPE_ALERT_MSG:
		rc = handle_alert(c, cm->alert_msg);
		break;
	case PBLOG__CLIENT_MESSAGE__TYPE_EXIT_MSG:
		rc = handle_exit(c, cm->exit_msg);
		break;
	case PBLOG__CLIENT_MESSAGE__TYPE_STDIN_BUF:
		rc = handle_iobuf(c, IOLOG_STDIN, cm->stdin_buf);
		break;
	case PBLOG__CLIENT_MESSAGE__TYPE_STDOUT_BUF:
		rc = handle_iobuf(c, IOLOG_STDOUT, cm->stdout_buf);
		break;
	case PBLOG__CLIENT_MESSAGE__TYPE_STDERR_BUF:
		rc = handle_iobuf(c, IOLOG_STDERR, cm->stderr_buf);
		break;
	case PBLOG__CLIENT_MESSAGE__TYPE_TTYIN_BUF:
		rc = handle_iobuf(c, IOLOG_TTYIN, cm->ttyin_buf);
		break;
	case PBLOG__CLIENT_MESSAGE__TYPE_TTYOUT_BUF:
		rc = handle_iobuf(c, IOLOG_TTYOUT, cm->ttyout_buf);
		break;
	case PBLOG__CLIENT_MESSAGE__TYPE_WINSIZE_EVENT:
		rc = handle_winsize(c, cm->winsize_event);
		break;
	case PBLOG__CLIENT_MESSAGE__TYPE_SUSPEND_EVENT:
		rc = handle_suspend(c, cm->suspend_event);
		break;
	case PBLOG__CLIENT_MESSAGE__TYPE_SUBCMD_EXIT:
		rc = handle_subcmd_exit(c, cm->subcmd_exit);
		break;
	case PBLOG__CLIENT_MESSAGE__TYPE_ADMIN_REQ:
		rc = handle_admin(c, cm->admin_req);
		break;
	default:
		rc = fail(c, PB_ERR_PROTO, "unexpected ClientMessage");
		break;
	}
done:
	pblog__client_message__free_unpacked(cm, NULL);
	c->in_frame = false;
	return rc;
}

void logd_conn_frame_error(struct logd_conn *c, int err)
{
	/* The server closes after this callback. */
	c->in_frame = true;
	switch (err) {
	case PB_ERR_FRAME_ZERO:
		fail(c, err, "message of length zero");
		break;
	case PB_ERR_FRAME_BIG:
		fail(c, err, "message too large");
		break;
	case PB_ERR_TIMEOUT:
		fail(c, err, "timed out inside a message");
		break;
	default:
		fail(c, err, "framing error: %s", pb_strerror(err));
		break;
	}
}

void logd_conn_free(struct logd_conn *c)
{
	if (c == NULL)
		return;
	if (c->ent != NULL)
		c->ent->conn = NULL; /* kept: the session may go on on another connection */
	/* A sync in flight finishes without us: its done sees no connection. */
	if (c->cjob != NULL)
		c->cjob->conn = NULL;
	if (c->fjob != NULL)
		c->fjob->conn = NULL;
	if (c->w != NULL) {
		/* Keep what arrived: the client may restart from its last commit point. */
		struct timespec point;
		c->ctx->store->commit(c->w, &point);
		c->ctx->store->close(c->w);
	}
	list_del(c->ctx, c);
	free(c->peer);
	free(c->addr);
	free(c->log_id);
	free(c->user);
	free(c->host);
	free(c->command);
	free(c);
}

static bool conn_idle(const struct logd_conn *c)
{
	/*
	 * During a graceful stop a running I/O log is served to its Exit, and
	 * a connection waits for its syncs to be acknowledged (bounded by
	 * drain_ms).
	 */
	return c->state != ST_RUNNING && c->cjob == NULL && c->fjob == NULL;
}

bool logd_conn_idle(const struct logd_conn *c)
{
	if (!conn_idle(c))
		return false;
	/* An admin watching a stop stays until every other connection may close. */
	if (c->watch)
		for (const struct logd_conn *o = c->ctx->conns; o != NULL; o = o->next)
			if (o != c && !conn_idle(o))
				return false;
	return true;
}

void logd_conn_set_watch(struct logd_conn *c)
{
	c->watch = true;
}

bool logd_conn_is_session(const struct logd_conn *c)
{
	return c->state == ST_EVENTS || c->state == ST_RUNNING;
}

int logd_conn_kill(struct logd_conn *c, const char *why)
{
	Pblog__ServerMessage sm = PBLOG__SERVER_MESSAGE__INIT;

	if (!logd_conn_is_session(c))
		return PB_ERR_NOTFOUND;
	pb_log(PB_LV_NOTICE, "%s (%s): session of %s aborted: %s", c->addr,
	       c->peer[0] ? c->peer : "no identity", c->user != NULL ? c->user : "?", why);
	/* sudo's abort: the client is to end its command; what arrived is committed as the connection is freed. */
	sm.type_case = PBLOG__SERVER_MESSAGE__TYPE_ABORT;
	sm.abort = (char *)why;
	send_server(c, &sm);
	c->state = ST_FAILED;
	if (!c->in_frame)
		c->tr->close(c->io);
	return 0;
}

/*
 * events_ack: the tick's acknowledgement of an events-only session (event-acks):
 * with a syncer a job behind the tick's event log sync sends it (jobs
 * complete in order); without, the log was synced just now.
 */
static void events_ack(struct logd_conn *c)
{
	if (c->ctx->ev_error < 0)
		return;
	if (c->ctx->syncer == NULL) {
		send_events(c, c->evcount, NULL);
		return;
	}
	if (c->cjob != NULL)
		return; /* the next tick */
	struct commit_job *cj = commit_job_new(c);
	if (cj == NULL)
		return;
	job_events(cj, c, c->evcount);
	c->cjob = cj;
	logd_syncer_submit(c->ctx->syncer, &cj->base);
}

void logd_ctx_tick(struct logd_ctx *ctx)
{
	bool synced = true;
	if (ctx->syncer != NULL) {
		/* Events of sessions without I/O log: their own job, nothing to acknowledge. */
		int fd = -1;
		int rc = evlog_sync_begin(ctx->ev, &fd);
		if (rc == 0 && fd >= 0) {
			struct commit_job *cj = calloc(1, sizeof(*cj));
			if (cj == NULL) {
				rc = evlog_sync(ctx->ev);
				close(fd);
			} else {
				cj->base.work = commit_work;
				cj->base.done = commit_done;
				cj->ctx = ctx;
				cj->evfd = fd;
				logd_syncer_submit(ctx->syncer, &cj->base);
			}
		}
		if (rc < 0) {
			pb_log(PB_LV_ERROR, "event log %s: %s", evlog_path(ctx->ev), pb_strerror(rc));
			synced = false;
		}
	} else {
		int rc = evlog_sync(ctx->ev);
		if (rc < 0) {
			pb_log(PB_LV_ERROR, "event log %s: %s", evlog_path(ctx->ev), pb_strerror(rc));
			synced = false;
		}
	}
	for (struct logd_conn *c = ctx->conns, *next; c != NULL; c = next) {
		next = c->next;
		if (c->state == ST_RUNNING && c->uncommitted)
			commit(c);
		else if (synced && c->evcount > c->evacked &&
			 ((c->evsess && c->state == ST_EVENTS) || (c->ioev && c->state == ST_RUNNING)))
			events_ack(c);
	}
}

void logd_ctx_sync_done(struct logd_ctx *ctx)
{
	if (ctx->syncer != NULL)
		logd_syncer_complete(ctx->syncer);
}

const char *logd_conn_peer(const struct logd_conn *c) { return c->peer; }
const char *logd_conn_addr(const struct logd_conn *c) { return c->addr; }
const char *logd_conn_user(const struct logd_conn *c) { return c->user ? c->user : ""; }
const char *logd_conn_host(const struct logd_conn *c) { return c->host ? c->host : ""; }
const char *logd_conn_command(const struct logd_conn *c) { return c->command ? c->command : ""; }
const char *logd_conn_log_id(const struct logd_conn *c) { return c->log_id ? c->log_id : c->evsess ? c->session : ""; }
const char *logd_conn_state_name(const struct logd_conn *c) { return state_names[c->state]; }
int64_t logd_conn_start(const struct logd_conn *c) { return c->start; }
uint64_t logd_conn_messages(const struct logd_conn *c) { return c->messages; }
