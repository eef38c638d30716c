/* SPDX-License-Identifier: ISC */
/* The monitor's session: channels from the shell and its subshells, decisions relayed or made in
 * native root mode, the log, the end. */
#include "mon.h"
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan.h"
#include "debug.h"
#include "err.h"

/* Channels served at once; each holds a descriptor (the limit is raised to fit). */
#define MAX_CHANNELS 4000

/* Exec'd commands of closed subshell channels remembered for their FINISH. */
#define ORPHANS 64

/* In native root mode, the policy servers are tried again at most this often. */
#define NATIVE_RETRY_MS 30000

/* One process's channel (the shell's root channel or a subshell's). */
struct chan {
	struct chan *next;
	struct mon *m;
	uint64_t serial; /* replies find their channel by serial: it may be gone by then */
	int fd;
	pid_t pid;
	bool root;
	struct mon_watch w;
	/* The last command accepted on it, for a FINISH without uniqueid and an exec'd last
	 * command. */
	char *last_uid;
	bool last_finished;
	bool last_execd; /* the process said it execs last_uid in place (EXEC event) */
	char *last_cmd; /* its command and runuser, for a SessionIoStart's log */
	char *last_runuser;
	char *last_iolog;
};

/* A command whose own I/O is relayed (SessionIoStart): its pty and its own log session. */
struct cmdio {
	struct cmdio *next;
	struct mon *m;
	char *uniqueid;
	struct relay *relay;
	struct mlog *log;
	struct timespec last; /* the previous record, for delays */
	struct timespec start;
	int fds[3];
};

struct mon {
	const struct mon_args *a;
	struct pb_conf *conf;
	struct mon_net net;
	int epfd, sigfd;
	struct mon_watch sigw, factw;
	struct chan *chans;
	int nchans;
	uint64_t next_serial;
	SessionRequest *startreq; /* owns the PolicyShellStart the policy client re-sends */
	const PolicyShellStart *st;
	const char *program;
	char host[256];
	bool started, native_root, root;
	struct mpol *pol;
	struct mlog *log;
	const char *logserver; /* what mlog_begin said */
	/* The session's log servers: the configuration's, or the start decision's `logservers`. */
	const struct pb_hostport *lhp;
	size_t nl;
	struct pb_hostport *dec_lhp; /* owned: the decision's, parsed */
	char *dec_text;              /* owned: their host and port strings */
	struct relay *pty;
	struct cmdio *cmdios;
	struct timespec t0;      /* session start, monotonic */
	struct timespec last_io; /* the previous I/O record of the session log */
	bool shell_done;
	int wstatus;
	bool exit_seen; /* the shell sent EXIT: it did not exec a last command */
	int exit_status; /* and with this status */
	int pidfd;       /* --adopt: the shell's pidfd, readable once it ended */
	struct mon_watch pidw;
	bool ended;      /* an administrator ended the session (pbctl kill-session) */
	char ended_why[600];
	int64_t kill_at; /* then: when a shell that ignored the hang-up is killed (0: not pending) */
	pid_t forwarder; /* the spool forwarder (forward_leftovers), not the session's; 0: none */
	/*
	 * Subshell channels that closed with their last command unfinished (it
	 * was exec'd): its FINISH comes from the parent that reaps the pid,
	 * after the channel is gone. A small ring; the oldest is forgotten.
	 */
	struct {
		pid_t pid;
		char *uid;
	} orphans[ORPHANS];
	unsigned norphan;
	char *exec_uid; /* the root channel closed with this command unfinished */
	bool quit;
};

static const char *mode_name(PolicyMode m)
{
	switch (m) {
	case POLICY_MODE__POLICY_MODE_SHELL_START:
		return "shell start";
	case POLICY_MODE__POLICY_MODE_SHELL_COMMAND:
		return "shell command";
	case POLICY_MODE__POLICY_MODE_SHELL_BUILTIN:
		return "shell builtin";
	case POLICY_MODE__POLICY_MODE_SHELL_REDIRECT:
		return "shell redirect";
	default:
		return "unknown";
	}
}

static struct timespec now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

static Pblog__TimeSpec ts_of(struct timespec t)
{
	Pblog__TimeSpec r = PBLOG__TIME_SPEC__INIT;
	r.tv_sec = t.tv_sec;
	r.tv_nsec = (int32_t)t.tv_nsec;
	return r;
}

/* ---- InfoMessages ---- */

#define INFO_MAX 32
struct infos {
	Pblog__InfoMessage m[INFO_MAX];
	Pblog__InfoMessage *p[INFO_MAX];
	Pblog__InfoMessage__StringList sl[2];
	size_t n, nsl;
};

static Pblog__InfoMessage *info_add(struct infos *in, const char *key)
{
	if (in->n == INFO_MAX)
		return NULL;
	Pblog__InfoMessage *m = &in->m[in->n];
	*m = (Pblog__InfoMessage)PBLOG__INFO_MESSAGE__INIT;
	m->key = (char *)key;
	in->p[in->n++] = m;
	return m;
}

static void info_str(struct infos *in, const char *key, const char *v)
{
	Pblog__InfoMessage *m;
	if (v == NULL || v[0] == '\0' || (m = info_add(in, key)) == NULL)
		return;
	m->value_case = PBLOG__INFO_MESSAGE__VALUE_STRVAL;
	m->strval = (char *)v;
}

static void info_num(struct infos *in, const char *key, int64_t v)
{
	Pblog__InfoMessage *m = info_add(in, key);
	if (m == NULL)
		return;
	m->value_case = PBLOG__INFO_MESSAGE__VALUE_NUMVAL;
	m->numval = v;
}

static void info_strs(struct infos *in, const char *key, char **v, size_t n)
{
	Pblog__InfoMessage *m;
	if (in->nsl == 2 || (m = info_add(in, key)) == NULL)
		return;
	Pblog__InfoMessage__StringList *sl = &in->sl[in->nsl++];
	*sl = (Pblog__InfoMessage__StringList)PBLOG__INFO_MESSAGE__STRING_LIST__INIT;
	sl->strings = v;
	sl->n_strings = n;
	m->value_case = PBLOG__INFO_MESSAGE__VALUE_STRLISTVAL;
	m->strlistval = sl;
}

/* info_session: who, where: the same on every event of the session. */
static void info_session(struct mon *m, struct infos *in)
{
	const PolicyShellStart *st = m->st;
	/* A monitor that took over a root session whose first monitor ended: its events say so. */
	if (m->a->adopt)
		info_num(in, "pbtakeover", 1);
	info_str(in, "submituser", st->user);
	info_num(in, "submituid", st->uid);
	info_str(in, "submitgroup", st->group);
	info_num(in, "submitgid", st->gid);
	info_str(in, "submithost", m->host);
	info_str(in, "ttyname", st->tty);
	info_num(in, "pid", st->pid);
}

static void info_decision(struct infos *in, const PolicyDecision *d, const char *user)
{
	info_str(in, "uniqueid", d->uniqueid);
	info_str(in, "rule", d->rule);
	info_str(in, "runuser", d->runuser && d->runuser[0] ? d->runuser : user);
	info_str(in, "rungroup", d->rungroup);
	for (size_t i = 0; i < d->n_set; i++)
		if (strcmp(d->set[i], "runumask") == 0)
			info_num(in, "runumask", d->runumask);
	info_str(in, "iolog", d->iolog);
	if (d->policy_hash && d->policy_hash[0])
		info_str(in, "policy_hash", d->policy_hash);
}

/* log_decision: an accept or reject event for a decision the monitor relayed or made. */
static void log_decision(struct mon *m, const PolicyCheck *chk, const PolicyDecision *d, pid_t pid)
{
	struct infos in = {.n = 0};
	Pblog__ClientMessage cm = PBLOG__CLIENT_MESSAGE__INIT;
	Pblog__AcceptMessage am = PBLOG__ACCEPT_MESSAGE__INIT;
	Pblog__RejectMessage rm = PBLOG__REJECT_MESSAGE__INIT;
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	Pblog__TimeSpec ts = ts_of(wall);
	/* logd needs a command: a redirection's is its kind ("shell redirect write"). */
	const char *cmd = chk->command && chk->command[0] ? chk->command
	                  : chk->n_argv > 0               ? chk->argv[0]
	                                                  : mode_name(chk->mode);
	info_str(&in, "command", cmd);
	info_strs(&in, "runargv", chk->argv, chk->n_argv);
	info_str(&in, "submitcwd", chk->cwd);
	info_str(&in, "pbclientmode", mode_name(chk->mode));
	info_session(m, &in);
	info_decision(&in, d, m->st->user);
	if (pid > 0)
		info_num(&in, "pbpid", pid);
	if (m->native_root)
		info_num(&in, "pbnativeroot", 1);
	if (d->accept) {
		am.submit_time = &ts;
		am.info_msgs = in.p;
		am.n_info_msgs = in.n;
		cm.type_case = PBLOG__CLIENT_MESSAGE__TYPE_ACCEPT_MSG;
		cm.accept_msg = &am;
	} else {
		rm.submit_time = &ts;
		rm.reason = d->reason ? d->reason : (char *)"";
		rm.info_msgs = in.p;
		rm.n_info_msgs = in.n;
		cm.type_case = PBLOG__CLIENT_MESSAGE__TYPE_REJECT_MSG;
		cm.reject_msg = &rm;
	}
	mlog_send(m->log, &cm);
}

/* io_delay: the time since the session log's previous I/O record. */
static Pblog__TimeSpec io_delay(struct timespec *last)
{
	struct timespec now = now_mono();
	Pblog__TimeSpec d = ts_of(mon_ts_sub(now, *last));
	*last = now;
	return d;
}

/* ---- channels ---- */

static void chan_cb(void *arg, uint32_t events);

static struct chan *chan_add(struct mon *m, int fd, pid_t pid, bool root)
{
	struct chan *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return NULL;
	}
	c->m = m;
	c->fd = fd;
	c->pid = pid;
	c->root = root;
	c->serial = ++m->next_serial;
	c->w.cb = chan_cb;
	c->w.arg = c;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &c->w};
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		pb_log(PB_LV_ERROR, "epoll: %s", strerror(errno));
		close(fd);
		free(c);
		return NULL;
	}
	c->next = m->chans;
	m->chans = c;
	m->nchans++;
	PB_TRACE(PB_SS_MONITOR, 4, "channel %llu for pid %ld", (unsigned long long)c->serial,
	         (long)pid);
	return c;
}

/*
 * execd_unfinished: the channel's process went away after it said it execs its last accepted
 * command in place, and that command has not finished: the process's own end is the command's.
 * A process that ends with a command unfinished and without that word (killed while holding
 * the FINISH, or leaving a job running) tells nothing about the command's end: no finish is
 * made up from the process's.
 */
static bool execd_unfinished(const struct chan *c)
{
	if (c->last_uid == NULL || c->last_finished)
		return false;
	if (!c->last_execd)
		PB_TRACE(PB_SS_MONITOR, 3, "pid %ld went away with command %s unfinished: its end is unknown",
		         (long)c->pid, c->last_uid);
	return c->last_execd;
}

static void chan_del(struct mon *m, struct chan *c)
{
	/* The shell's channel closes at its exit, or at the exec of its last command. */
	if (c->root && execd_unfinished(c)) {
		free(m->exec_uid);
		m->exec_uid = strdup(c->last_uid);
	} else if (!c->root && execd_unfinished(c)) {
		unsigned i = m->norphan++ % ORPHANS;
		free(m->orphans[i].uid);
		m->orphans[i].pid = c->pid;
		m->orphans[i].uid = c->last_uid;
		c->last_uid = NULL;
	}
	for (struct chan **pp = &m->chans; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			m->nchans--;
			break;
		}
	mon_unwatch(m->epfd, c->fd, &c->w);
	close(c->fd);
	free(c->last_uid);
	free(c->last_cmd);
	free(c->last_runuser);
	free(c->last_iolog);
	free(c);
}

static struct chan *chan_find(struct mon *m, uint64_t serial)
{
	for (struct chan *c = m->chans; c != NULL; c = c->next)
		if (c->serial == serial)
			return c;
	return NULL;
}

static void reply_send(struct chan *c, SessionReply *r, const int *fds, int nfds)
{
	int rc = pb_chan_send(c->fd, &r->base, fds, nfds, c->m->net.max);
	if (rc < 0)
		PB_TRACE(PB_SS_MONITOR, 2, "channel of pid %ld: reply %llu lost: %s", (long)c->pid,
		         (unsigned long long)r->id, pb_strerror(rc));
}

static void reply_error(struct chan *c, uint64_t id, int code, const char *msg)
{
	SessionReply r = SESSION_REPLY__INIT;
	PolicyError e = POLICY_ERROR__INIT;
	e.code = code;
	e.message = (char *)msg;
	r.id = id;
	r.type_case = SESSION_REPLY__TYPE_ERROR;
	r.error = &e;
	reply_send(c, &r, NULL, 0);
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v != NULL ? strdup(v) : NULL;
}

static void remember_accept(struct chan *c, const PolicyCheck *chk, const PolicyDecision *d)
{
	if (!d->accept || d->uniqueid == NULL || d->uniqueid[0] == '\0')
		return;
	set_str(&c->last_uid, d->uniqueid);
	set_str(&c->last_cmd, chk->command);
	set_str(&c->last_runuser, d->runuser);
	set_str(&c->last_iolog, d->iolog);
	c->last_finished = false;
	c->last_execd = false;
}

/*
 * native_decision: native root mode (no policy server, real uid 0): the
 * monitor accepts locally; the decision is logged like any other.
 */
static void native_decision(PolicyDecision *d, char uid[33], PolicyMode mode)
{
	mon_uniqueid(uid);
	*d = (PolicyDecision)POLICY_DECISION__INIT;
	d->accept = true;
	d->uniqueid = uid;
	d->rule = (char *)"native-root";
	d->reason = (char *)"native root mode: no policy server answered";
	d->runlocalmode = true;
	d->mode = mode;
}

static void decide_native(struct mon *m, struct chan *c, uint64_t id, const PolicyCheck *chk)
{
	PolicyDecision d;
	char uid[33];
	SessionReply r = SESSION_REPLY__INIT;
	native_decision(&d, uid, chk->mode);
	r.id = id;
	r.type_case = SESSION_REPLY__TYPE_DECISION;
	r.decision = &d;
	reply_send(c, &r, NULL, 0);
	remember_accept(c, chk, &d);
	log_decision(m, chk, &d, c->pid);
}

/*
 * signal_shell: sig to the session's shell. A shell we adopted is not our
 * child: its pid could be reused once it ended, its pidfd cannot.
 */
static void signal_shell(struct mon *m, int sig)
{
	if (m->shell_done && m->pidfd < 0)
		return; /* reaped: its pid may be another process's now */
	if (m->pidfd >= 0)
		(void)syscall(SYS_pidfd_send_signal, m->pidfd, sig, NULL, 0);
	else
		(void)kill(m->a->shell_pid, sig);
}

/* A shell that ignores the hang-up of an ended session is killed this long after it. */
#define ENDED_GRACE_MS 3000

/*
 * session_procs: sig to the session's processes but the shell (signal_shell
 * serves it), what the shell started and what they did: below the monitor,
 * which is their subreaper (orphans come to it, not to init), the spool
 * forwarder aside; below an adopted shell, what is still its own. Returns
 * how many (sig 0: counts).
 */
static size_t session_procs(struct mon *m, int sig)
{
	if (m->a->adopt)
		return m->shell_done ? 0 : mon_procs_signal(m->a->shell_pid, 0, NULL, 0, sig);
	return mon_procs_signal(getpid(), m->shell_done ? 0 : m->a->shell_pid, &m->forwarder, m->forwarder > 0,
	                        sig);
}

/*
 * ended_cb: an administrator ended the session (pbctl kill-session; policyd
 * said so unasked): the user reads why on the session's standard error, the
 * shell gets a hang-up (an interactive one passes it to its jobs) and is
 * killed if it is still there ENDED_GRACE_MS later; every later check is
 * refused with the message, also those a shell asks meanwhile.
 */
static void ended_cb(void *arg, const char *why)
{
	struct mon *m = arg;
	if (m->ended || m->shell_done)
		return;
	m->ended = true;
	snprintf(m->ended_why, sizeof(m->ended_why), "%s", why);
	PB_TRACE(PB_SS_MONITOR, 1, "the session was ended: %s", why);
	/* A relayed terminal is in raw mode: the line needs its carriage return. */
	dprintf(2, "%s: the session was ended: %s%s", m->program, why, m->pty != NULL ? "\r\n" : "\n");
	signal_shell(m, SIGHUP);
	session_procs(m, SIGHUP);
	m->kill_at = mon_now_ms() + ENDED_GRACE_MS;
}

static void check_reply_cb(void *arg, uint64_t serial, uint64_t shell_id, const PolicyCheck *chk,
                           const PolicyReply *reply, const char *why)
{
	struct mon *m = arg;
	struct chan *c = chan_find(m, serial);
	if (c == NULL)
		return; /* the process went away meanwhile */
	if (reply == NULL) {
		if (m->root) {
			/* Real uid 0 and no policy server: native root mode (DESIGN §6). */
			if (!m->native_root) {
				pb_log(PB_LV_WARN, "%s: native root mode", why);
				/* Try the servers again only now and then: each try may cost a
				 * connect timeout. */
				mpol_backoff(m->pol, NATIVE_RETRY_MS);
			}
			m->native_root = true;
			decide_native(m, c, shell_id, chk);
			return;
		}
		char msg[1200];
		snprintf(msg, sizeof(msg), "no policy server answered: %s", why);
		reply_error(c, shell_id, PB_ERR_IO, msg);
		return;
	}
	if (m->native_root) {
		pb_log(PB_LV_NOTICE, "policy server %s answers again: native root mode ends",
		       mpol_server(m->pol));
		m->native_root = false;
		mpol_backoff(m->pol, 0);
	}
	SessionReply r = SESSION_REPLY__INIT;
	r.id = shell_id;
	if (reply->type_case == POLICY_REPLY__TYPE_DECISION) {
		r.type_case = SESSION_REPLY__TYPE_DECISION;
		r.decision = reply->decision;
		reply_send(c, &r, NULL, 0);
		remember_accept(c, chk, reply->decision);
		log_decision(m, chk, reply->decision, c->pid);
		return;
	}
	if (reply->type_case == POLICY_REPLY__TYPE_ERROR) {
		r.type_case = SESSION_REPLY__TYPE_ERROR;
		r.error = reply->error;
		reply_send(c, &r, NULL, 0);
		return;
	}
	reply_error(c, shell_id, PB_ERR_PROTO, "unexpected reply from the policy server");
}

/* ---- the session's own pty ---- */

/*
 * log_iobuf: one I/O record: the terminal's (ttyin/ttyout) for the session,
 * standard input/output for a relayed command; *last times the delays.
 */
static void log_iobuf(struct mlog *l, struct timespec *last, bool tty, bool input,
                      const uint8_t *buf, size_t n)
{
	Pblog__ClientMessage cm = PBLOG__CLIENT_MESSAGE__INIT;
	Pblog__IoBuffer io = PBLOG__IO_BUFFER__INIT;
	Pblog__TimeSpec d = io_delay(last);
	io.delay = &d;
	io.data.data = (uint8_t *)buf;
	io.data.len = n;
	cm.type_case = tty ? (input ? PBLOG__CLIENT_MESSAGE__TYPE_TTYIN_BUF
	                            : PBLOG__CLIENT_MESSAGE__TYPE_TTYOUT_BUF)
	                   : (input ? PBLOG__CLIENT_MESSAGE__TYPE_STDIN_BUF
	                            : PBLOG__CLIENT_MESSAGE__TYPE_STDOUT_BUF);
	/* The oneof's members share one pointer slot: any of them carries io. */
	cm.ttyin_buf = &io;
	mlog_send(l, &cm);
}

static void session_data_cb(void *arg, bool input, const uint8_t *buf, size_t n)
{
	struct mon *m = arg;
	log_iobuf(m->log, &m->last_io, true, input, buf, n);
}

static void session_winsize_cb(void *arg, int rows, int cols)
{
	struct mon *m = arg;
	Pblog__ClientMessage cm = PBLOG__CLIENT_MESSAGE__INIT;
	Pblog__ChangeWindowSize ws = PBLOG__CHANGE_WINDOW_SIZE__INIT;
	Pblog__TimeSpec d = io_delay(&m->last_io);
	ws.delay = &d;
	ws.rows = rows;
	ws.cols = cols;
	cm.type_case = PBLOG__CLIENT_MESSAGE__TYPE_WINSIZE_EVENT;
	cm.winsize_event = &ws;
	mlog_send(m->log, &cm);
}

static const struct relay_ops session_relay_ops = {
    .data = session_data_cb,
    .winsize = session_winsize_cb,
};

/* ---- one command's relayed I/O (SessionIoStart) ---- */

static void cmd_data_cb(void *arg, bool input, const uint8_t *buf, size_t n)
{
	struct cmdio *ci = arg;
	log_iobuf(ci->log, &ci->last, false, input, buf, n);
}

static const struct relay_ops cmd_relay_ops = {
    .data = cmd_data_cb,
};

static void cmdio_free(struct cmdio *ci)
{
	relay_free(ci->relay);
	mlog_free(ci->log);
	for (int i = 0; i < 3; i++)
		if (ci->fds[i] >= 0)
			close(ci->fds[i]);
	free(ci->uniqueid);
	free(ci);
}

/* cmdio_end: the command finished: its last output, its exit, its log closed. */
static void cmdio_end(struct mon *m, struct cmdio *ci, const SessionEvent *ev)
{
	Pblog__ClientMessage cm = PBLOG__CLIENT_MESSAGE__INIT;
	Pblog__ExitMessage em = PBLOG__EXIT_MESSAGE__INIT;
	Pblog__TimeSpec rt = ts_of(mon_ts_sub(now_mono(), ci->start));
	relay_drain(ci->relay, 100);
	em.run_time = &rt;
	if (ev != NULL && ev->signal > 0) {
		const char *name = sigabbrev_np(ev->signal);
		em.signal = (char *)(name ? name : "KILL");
		em.dumped_core = ev->core_dumped;
	} else {
		em.exit_value = ev != NULL ? ev->exit_status & 0xff : 0;
	}
	if (ev == NULL)
		em.error = (char *)"the session ended before the command's finish";
	cm.type_case = PBLOG__CLIENT_MESSAGE__TYPE_EXIT_MSG;
	cm.exit_msg = &em;
	mlog_send(ci->log, &cm);
	mlog_finish(ci->log);
	for (struct cmdio **pp = &m->cmdios; *pp != NULL; pp = &(*pp)->next)
		if (*pp == ci) {
			*pp = ci->next;
			break;
		}
	cmdio_free(ci);
}

static void handle_io_start(struct mon *m, struct chan *c, uint64_t id, const SessionIoStart *io,
                            int *fds, int nfds)
{
	char err[512];
	int slave = -1;
	if (nfds != 3 || io->uniqueid == NULL || io->uniqueid[0] == '\0') {
		reply_error(c, id, PB_ERR_INVAL, "io_start needs a uniqueid and 3 descriptors");
		return;
	}
	struct cmdio *ci = calloc(1, sizeof(*ci));
	if (ci == NULL) {
		reply_error(c, id, PB_ERR_NOMEM, "out of memory");
		return;
	}
	ci->m = m;
	ci->fds[0] = ci->fds[1] = ci->fds[2] = -1;
	ci->uniqueid = strdup(io->uniqueid);
	ci->start = ci->last = now_mono();
	size_t nlog = 0;
	const struct pb_hostport *lhp = m->lhp;
	nlog = m->nl;
	ci->log = mlog_new(&m->net, lhp, nlog, pb_conf_str(m->conf, "spooldir"), m->epfd);
	if (ci->uniqueid == NULL || ci->log == NULL ||
	    relay_open(&ci->relay, m->epfd, fds[0], fds[1], false, &cmd_relay_ops, ci, &slave, err,
	               sizeof(err)) < 0) {
		reply_error(c, id, PB_ERR_IO, ci->relay == NULL ? err : "out of memory");
		cmdio_free(ci);
		return;
	}
	for (int i = 0; i < 3; i++) {
		ci->fds[i] = fds[i];
		fds[i] = -1;
	}
	/* Its own log session, as sudo keeps one per command: logd gives it its own I/O log. */
	bool same = c->last_uid != NULL && strcmp(c->last_uid, io->uniqueid) == 0;
	struct infos in = {.n = 0};
	Pblog__ClientMessage cm = PBLOG__CLIENT_MESSAGE__INIT;
	Pblog__AcceptMessage am = PBLOG__ACCEPT_MESSAGE__INIT;
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	Pblog__TimeSpec ts = ts_of(wall);
	info_str(&in, "command", same && c->last_cmd && c->last_cmd[0] ? c->last_cmd : "unknown");
	info_str(&in, "uniqueid", io->uniqueid);
	info_str(&in, "pbclientmode", "shell command");
	info_session(m, &in);
	info_str(&in, "runuser",
	         same && c->last_runuser && c->last_runuser[0] ? c->last_runuser : m->st->user);
	if (same)
		info_str(&in, "iolog", c->last_iolog);
	am.submit_time = &ts;
	am.info_msgs = in.p;
	am.n_info_msgs = in.n;
	am.expect_iobufs = true;
	cm.type_case = PBLOG__CLIENT_MESSAGE__TYPE_ACCEPT_MSG;
	cm.accept_msg = &am;
	(void)mlog_begin(ci->log, &cm);
	ci->next = m->cmdios;
	m->cmdios = ci;

	PolicyDecision d = POLICY_DECISION__INIT;
	SessionReply r = SESSION_REPLY__INIT;
	d.accept = true;
	d.uniqueid = io->uniqueid;
	d.mode = POLICY_MODE__POLICY_MODE_SHELL_COMMAND;
	r.id = id;
	r.type_case = SESSION_REPLY__TYPE_DECISION;
	r.decision = &d;
	reply_send(c, &r, &slave, 1);
	close(slave);
}

/* ---- events ---- */

/* log_finish: end_ns is when the command ended by the shell's clock (0: now). */
static void log_finish(struct mon *m, const char *uid, int status, int sig, bool core,
                       uint64_t run_ns, uint64_t end_ns)
{
	Pblog__ClientMessage cm = PBLOG__CLIENT_MESSAGE__INIT;
	Pblog__SubcommandExit se = PBLOG__SUBCOMMAND_EXIT__INIT;
	struct timespec wall;
	if (end_ns != 0) {
		wall.tv_sec = (time_t)(end_ns / 1000000000u);
		wall.tv_nsec = (long)(end_ns % 1000000000u);
	} else {
		clock_gettime(CLOCK_REALTIME, &wall);
	}
	Pblog__TimeSpec end = ts_of(wall);
	Pblog__TimeSpec rt = PBLOG__TIME_SPEC__INIT;
	if (!mlog_subcmd_exit(m->log))
		return; /* a server without the extension has no place for it */
	rt.tv_sec = (int64_t)(run_ns / 1000000000u);
	rt.tv_nsec = (int32_t)(run_ns % 1000000000u);
	se.uniqueid = (char *)uid;
	se.run_time = &rt;
	se.end_time = &end;
	if (sig > 0) {
		const char *name = sigabbrev_np(sig);
		se.signal = (char *)(name ? name : "KILL");
		se.dumped_core = core;
	} else {
		se.exit_value = status & 0xff;
	}
	cm.type_case = PBLOG__CLIENT_MESSAGE__TYPE_SUBCMD_EXIT;
	cm.subcmd_exit = &se;
	mlog_send(m->log, &cm);
}

/*
 * log_include: a file the shell read with `.` (shelllogincludefiles): an
 * event of mode "shell include" naming the file, with its text when it is
 * text (logd refuses NUL bytes in strings), and in an I/O-logged session the
 * text also as standard input of the I/O log, where replays keep it apart
 * from the terminal.
 */
static void log_include(struct mon *m, const SessionEvent *ev)
{
	struct infos in = {.n = 0};
	Pblog__ClientMessage cm = PBLOG__CLIENT_MESSAGE__INIT;
	Pblog__AcceptMessage am = PBLOG__ACCEPT_MESSAGE__INIT;
	struct timespec wall;
	char *text = NULL;
	clock_gettime(CLOCK_REALTIME, &wall);
	Pblog__TimeSpec ts = ts_of(wall);
	info_str(&in, "command", ev->file && ev->file[0] ? ev->file : "(unnamed)");
	info_str(&in, "pbclientmode", "shell include");
	info_str(&in, "submitcwd", ev->cwd);
	info_session(m, &in);
	info_str(&in, "runuser", ev->runuser && ev->runuser[0] ? ev->runuser : m->st->user);
	info_num(&in, "pbpid", ev->pid);
	info_num(&in, "textbytes", (int64_t)ev->text.len);
	if (ev->text.len > 0 && memchr(ev->text.data, '\0', ev->text.len) == NULL &&
	    (text = malloc(ev->text.len + 1)) != NULL) {
		memcpy(text, ev->text.data, ev->text.len);
		text[ev->text.len] = '\0';
		info_str(&in, "text", text);
	}
	am.submit_time = &ts;
	am.info_msgs = in.p;
	am.n_info_msgs = in.n;
	cm.type_case = PBLOG__CLIENT_MESSAGE__TYPE_ACCEPT_MSG;
	cm.accept_msg = &am;
	mlog_send(m->log, &cm);
	free(text);
	if (m->pty != NULL && ev->text.len > 0)
		log_iobuf(m->log, &m->last_io, false, true, ev->text.data, ev->text.len);
}

static struct chan *chan_of_pid(struct mon *m, pid_t pid)
{
	for (struct chan *c = m->chans; c != NULL; c = c->next)
		if (c->pid == pid)
			return c;
	return NULL;
}

static void handle_event(struct mon *m, struct chan *c, const SessionEvent *ev)
{
	switch (ev->kind) {
	case SESSION_EVENT__KIND__SESSION_EVENT_FINISH: {
		const char *uid = ev->uniqueid && ev->uniqueid[0] ? ev->uniqueid : NULL;
		char *orphan = NULL;
		if (uid == NULL) {
			/*
			 * A subshell or pipeline stage asked and exec'd in its own
			 * process; its parent reaped the pid: the last command
			 * accepted on that process's channel, if still unfinished.
			 */
			struct chan *owner = ev->pid > 0 ? chan_of_pid(m, (pid_t)ev->pid) : NULL;
			if (owner != NULL && owner->last_uid != NULL && !owner->last_finished)
				uid = owner->last_uid;
			for (unsigned i = 0; uid == NULL && owner == NULL && i < ORPHANS; i++)
				if (m->orphans[i].uid != NULL &&
				    m->orphans[i].pid == (pid_t)ev->pid) {
					uid = orphan = m->orphans[i].uid;
					m->orphans[i].uid = NULL;
				}
		}
		if (uid == NULL) {
			PB_TRACE(PB_SS_MONITOR, 5,
			         "finish of pid %lld: no unfinished command to attach it to",
			         (long long)ev->pid);
			return;
		}
		for (struct chan *o = m->chans; o != NULL; o = o->next)
			if (o->last_uid != NULL && strcmp(o->last_uid, uid) == 0)
				o->last_finished = true;
		log_finish(m, uid, ev->exit_status, ev->signal, ev->core_dumped, ev->run_ns,
		           ev->end_ns);
		for (struct cmdio *ci = m->cmdios; ci != NULL; ci = ci->next)
			if (strcmp(ci->uniqueid, uid) == 0) {
				cmdio_end(m, ci, ev);
				break;
			}
		free(orphan);
		return;
	}
	case SESSION_EVENT__KIND__SESSION_EVENT_EXIT:
		/* The shell ends by itself (no exec'd last command): its exit is logged when it is
		 * reaped. A subshell's EXIT (sent with an id, answered) only says its events are all
		 * in, before its parent reports its end. */
		if (c->root) {
			m->exit_seen = true;
			m->exit_status = ev->exit_status & 0xff;
		}
		return;
	case SESSION_EVENT__KIND__SESSION_EVENT_ACCEPT:
	case SESSION_EVENT__KIND__SESSION_EVENT_REJECT: {
		/* Decisions the shell made itself and wants on record (the monitor logs its own
		 * relays). */
		PolicyCheck chk = POLICY_CHECK__INIT;
		PolicyDecision d = POLICY_DECISION__INIT;
		chk.mode = ev->mode;
		chk.command = ev->command;
		chk.argv = ev->argv;
		chk.n_argv = ev->n_argv;
		chk.cwd = ev->cwd;
		d.accept = ev->kind == SESSION_EVENT__KIND__SESSION_EVENT_ACCEPT;
		d.reason = ev->reason;
		d.uniqueid = ev->uniqueid;
		d.runuser = ev->runuser;
		d.rule = (char *)"shell";
		log_decision(m, &chk, &d, (pid_t)ev->pid);
		return;
	}
	case SESSION_EVENT__KIND__SESSION_EVENT_INCLUDE:
		log_include(m, ev);
		return;
	case SESSION_EVENT__KIND__SESSION_EVENT_EXEC:
		if (c->last_uid != NULL && ev->uniqueid != NULL && strcmp(c->last_uid, ev->uniqueid) == 0)
			c->last_execd = true;
		return;
	default:
		PB_TRACE(PB_SS_MONITOR, 2, "event of unknown kind %d ignored", (int)ev->kind);
		return;
	}
}

/* ---- the start ---- */

/* real_uid_of: the real uid of a process, from /proc; -1 when unknown. */
static long real_uid_of(pid_t pid)
{
	char path[64], line[256];
	long uid = -1;
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "Uid:", 4) == 0) {
			uid = strtol(line + 4, NULL, 10);
			break;
		}
	fclose(f);
	return uid;
}

/* peer_pid: the process at the other end of a channel (SO_PEERCRED), or -1. */
static pid_t peer_pid(int fd)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0)
		return -1;
	return cr.pid;
}

/*
 * forward_leftovers: journals that earlier sessions left in the spool go to
 * the log server now, in a child of the monitor so the session does not wait.
 */
static void forward_leftovers(struct mon *m)
{
	if (pb_conf_hostports(m->conf, "logservers", NULL) == NULL)
		return;
	pid_t pid = fork();
	if (pid != 0) {
		if (pid < 0)
			pb_log(PB_LV_WARN, "cannot fork the spool forwarder: %s", strerror(errno));
		else
			m->forwarder = pid; /* not one of the session's processes (session_procs) */
		return;
	}
	/*
	 * The forwarder holds nothing of the session: not its channels, pty or
	 * connections, and not the user's terminal (it may outlive the session).
	 */
	int logfd = pb_log_fd(), null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3 && null >= 0; fd++)
		(void)dup2(null, fd);
	if (logfd != 3)
		(void)close_range(3, logfd > 3 ? (unsigned)logfd - 1 : ~0U, 0);
	if (logfd >= 3)
		(void)close_range((unsigned)logfd + 1, ~0U, 0);
	char err[1024];
	unsigned fw = 0, left = 0;
	int rc = pb_spool_forward(m->conf, &fw, &left, err, sizeof(err));
	PB_TRACE(PB_SS_MONITOR, 2, "forwarded %u spooled session%s", fw, fw == 1 ? "" : "s");
	if (rc < 0 && rc != PB_ERR_AGAIN)
		PB_TRACE(PB_SS_MONITOR, 2, "spool: %s", err);
	_exit(0);
}

static void log_start(struct mon *m, const PolicyDecision *d, const char *reason, bool iobufs)
{
	const SessionStart *ss = m->startreq->start;
	const PolicyShellStart *st = m->st;
	struct infos in = {.n = 0};
	Pblog__ClientMessage cm = PBLOG__CLIENT_MESSAGE__INIT;
	Pblog__AcceptMessage am = PBLOG__ACCEPT_MESSAGE__INIT;
	Pblog__RejectMessage rm = PBLOG__REJECT_MESSAGE__INIT;
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	Pblog__TimeSpec ts = ts_of(wall);
	info_str(&in, "command", st->shell && st->shell[0] ? st->shell : m->program);
	info_strs(&in, "runargv", st->argv, st->n_argv);
	info_str(&in, "submitcwd", st->cwd);
	info_str(&in, "pbclientmode", "shell start");
	info_str(&in, "pbprogram", ss->program);
	info_session(m, &in);
	info_num(&in, "ppid", st->ppid);
	if (d != NULL) {
		info_decision(&in, d, st->user);
	} else {
		info_str(&in, "runuser", st->user);
	}
	if (m->native_root)
		info_num(&in, "pbnativeroot", 1);
	if (m->pty != NULL) {
		int rows, cols;
		relay_size(m->pty, &rows, &cols);
		/* A size of 0 (a terminal that never had one) would stop sudoreplay: leave logd's
		 * default. */
		if (rows > 0 && cols > 0) {
			info_num(&in, "lines", rows);
			info_num(&in, "columns", cols);
		}
	}
	if (d != NULL && d->accept) {
		am.submit_time = &ts;
		am.info_msgs = in.p;
		am.n_info_msgs = in.n;
		am.expect_iobufs = iobufs;
		cm.type_case = PBLOG__CLIENT_MESSAGE__TYPE_ACCEPT_MSG;
		cm.accept_msg = &am;
	} else {
		rm.submit_time = &ts;
		rm.reason = (char *)reason;
		rm.info_msgs = in.p;
		rm.n_info_msgs = in.n;
		cm.type_case = PBLOG__CLIENT_MESSAGE__TYPE_REJECT_MSG;
		cm.reject_msg = &rm;
	}
	m->logserver = mlog_begin(m->log, &cm);
}

/*
 * decision_logservers: the start decision set `logservers`: parse them into
 * m->lhp/m->nl (owned by m). Returns 0 when they replace the configuration's,
 * -1 when the decision names none or one is malformed (logged; the
 * configuration's stay).
 */
static int decision_logservers(struct mon *m, const PolicyDecision *d)
{
	bool named = false;
	for (size_t i = 0; i < d->n_set; i++)
		if (strcmp(d->set[i], "logservers") == 0)
			named = true;
	if (!named || d->n_logservers == 0)
		return -1;
	size_t n = d->n_logservers, room = 0;
	for (size_t i = 0; i < n; i++)
		room += 2 * strlen(d->logservers[i]) + 16;
	struct pb_hostport *hp = calloc(n, sizeof(*hp));
	char *text = malloc(room), *p = text;
	if (hp == NULL || text == NULL) {
		free(hp);
		free(text);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const char *errstr;
		unsigned port;
		size_t left = room - (size_t)(p - text);
		if (pb_conf_parse_hostport(d->logservers[i], false, p, left, &port, &errstr) < 0) {
			pb_log(PB_LV_WARN, "the start decision's logservers: '%s': %s; the configuration's are used",
			       d->logservers[i], errstr);
			free(hp);
			free(text);
			return -1;
		}
		hp[i].host = p;
		p += strlen(p) + 1;
		hp[i].port = p;
		p += sprintf(p, "%u", port) + 1;
		hp[i].portnum = port;
		hp[i].text = p;
		p += sprintf(p, "%s", d->logservers[i]) + 1;
	}
	free(m->dec_lhp);
	free(m->dec_text);
	m->dec_lhp = hp;
	m->dec_text = text;
	m->lhp = hp;
	m->nl = n;
	PB_TRACE(PB_SS_MONITOR, 3, "start: the decision's log servers (%zu) replace the configuration's", n);
	return 0;
}

/* handle_start: the shell's first request: the policy's "shell start" decision, the log, the pty.
 */
static void handle_start(struct mon *m, struct chan *c, SessionRequest *req)
{
	char err[1024], msg[1200], uid[33];
	PolicyReply *pr = NULL;
	PolicyDecision local;
	const PolicyDecision *d = NULL;
	PolicyError fail_e = POLICY_ERROR__INIT;
	const PolicyError *perr = NULL;
	int slave = -1;

	if (!c->root || m->startreq != NULL || req->start->start == NULL) {
		reply_error(c, req->id, PB_ERR_PROTO,
		            "start: only once, on the shell's channel, with its details");
		session_request__free_unpacked(req, NULL);
		return;
	}
	m->startreq = req;
	m->st = req->start->start;
	m->program = req->start->program && req->start->program[0] ? req->start->program : "pbsh";
	if (m->a->debug) {
		/* Traces join the shell's (DESIGN §7 kshlog/shlog), not the user's terminal. */
		const char *path =
		    pb_conf_str(m->conf, strcmp(m->program, "pbksh") == 0 ? "kshlog" : "shlog");
		if (path != NULL && pb_log_open("pbsh-monitor", PB_LOG_FILE, path) < 0)
			pb_log(PB_LV_WARN, "cannot open %s: %s", path, strerror(errno));
	}
	if (m->st->host && m->st->host[0])
		snprintf(m->host, sizeof(m->host), "%s", m->st->host);
	else if (pb_conf_bool(m->conf, "tls.plaintext_for_tests") &&
	         gethostname(m->host, sizeof(m->host)) < 0)
		m->host[0] = '\0';
	/*
	 * Root is the shell process's real uid, not what it claims. SO_PEERCRED
	 * cannot tell: the shell made the channel with euid 0 before it forked.
	 */
	long ruid = real_uid_of(m->a->shell_pid);
	m->root = m->st->uid == 0 && ruid == 0;
	if (ruid < 0 || ruid != m->st->uid) {
		char why[160];
		snprintf(why, sizeof(why), "start: uid %lld is not the shell's real uid (%ld)",
		         (long long)m->st->uid, ruid);
		pb_log(PB_LV_ERROR, "%s", why);
		reply_error(c, req->id, PB_ERR_DENIED, why);
		m->startreq = NULL;
		m->st = NULL;
		session_request__free_unpacked(req, NULL);
		return;
	}
	PB_TRACE(PB_SS_MONITOR, 3, "start: user %s uid %lld%s", m->st->user, (long long)m->st->uid,
	         m->root ? " (root)" : "");

	size_t np = 0, nl = 0;
	const struct pb_hostport *php = pb_conf_hostports(m->conf, "policyservers", &np);
	const struct pb_hostport *lhp = pb_conf_hostports(m->conf, "logservers", &nl);
	m->lhp = lhp;
	m->nl = nl;
	m->pol = mpol_new(&m->net, php, np, m->epfd, m->st, m->program, check_reply_cb, m);
	if (m->pol == NULL)
		pb_fatal(1, "out of memory");
	mpol_on_ended(m->pol, ended_cb);
	if (np > 0)
		pr = mpol_start(m->pol, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "no policyservers in %s", pb_conf_file(m->conf));
	if (pr != NULL && pr->type_case == POLICY_REPLY__TYPE_DECISION) {
		d = pr->decision;
	} else if (pr != NULL && pr->type_case == POLICY_REPLY__TYPE_ERROR && !m->root) {
		perr = pr->error;
	} else if (m->root) {
		/* A server that cannot decide (it answered with an error) is no policy server for
		 * root. */
		if (pr != NULL) {
			snprintf(err, sizeof(err), "policy server %s: %s", mpol_server(m->pol),
			         pr->error->message);
			mpol_close(m->pol);
		}
		pb_log(PB_LV_WARN, "%s: native root mode", err);
		mpol_backoff(m->pol, NATIVE_RETRY_MS);
		m->native_root = true;
		native_decision(&local, uid, POLICY_MODE__POLICY_MODE_SHELL_START);
		d = &local;
	} else {
		snprintf(msg, sizeof(msg), "no policy server answered: %s", err);
		fail_e.code = PB_ERR_IO;
		fail_e.message = msg;
		perr = &fail_e;
	}

	/* A start decision that names log servers sends the session there (DESIGN §3.3). */
	if (d != NULL && d->accept && !m->native_root && decision_logservers(m, d) == 0) {
		lhp = m->lhp;
		nl = m->nl;
	}
	m->log = mlog_new(&m->net, lhp, nl, pb_conf_str(m->conf, "spooldir"), m->epfd);
	if (m->log == NULL)
		pb_fatal(1, "out of memory");

	/* The whole session's terminal I/O is logged when the start decision says so (or in native
	 * root mode). */
	bool iolog = d != NULL && d->accept && req->start->has_tty &&
	             (m->native_root || (d->iolog != NULL && d->iolog[0] != '\0'));
	if (iolog && nl == 0)
		iolog = false; /* no log server configured: nowhere to send it */
	if (iolog && relay_open(&m->pty, m->epfd, 0, 1, true, &session_relay_ops, m, &slave, err,
	                        sizeof(err)) < 0) {
		pb_log(PB_LV_ERROR, "I/O log: %s", err);
		if (!m->root) {
			snprintf(msg, sizeof(msg), "the session must be I/O logged, but %s", err);
			fail_e.code = PB_ERR_IO;
			fail_e.message = msg;
			perr = &fail_e;
			d = NULL;
		}
		iolog = false;
	}
	log_start(m, d, perr ? perr->message : d && d->reason ? d->reason : "", iolog);
	m->t0 = m->last_io = now_mono();

	SessionReply r = SESSION_REPLY__INIT;
	SessionStarted ss = SESSION_STARTED__INIT;
	r.id = req->id;
	if (d != NULL) {
		ss.decision = (PolicyDecision *)d;
		ss.native_root = m->native_root;
		ss.pty = iolog;
		ss.policyserver = (char *)mpol_server(m->pol);
		ss.logserver = (char *)m->logserver;
		r.type_case = SESSION_REPLY__TYPE_STARTED;
		r.started = &ss;
		m->started = d->accept;
	} else {
		r.type_case = SESSION_REPLY__TYPE_ERROR;
		r.error = (PolicyError *)perr;
	}
	reply_send(c, &r, iolog ? &slave : NULL, iolog ? 1 : 0);
	if (slave >= 0)
		close(slave);
	if (pr != NULL)
		policy_reply__free_unpacked(pr, NULL);
	if (m->started)
		forward_leftovers(m);
}

/* ---- reading channels ---- */

/*
 * recv_request: one SessionRequest from a channel or the factory, with its
 * descriptors. NULL with *rc < 0 when the socket failed or closed, NULL
 * with *rc 0 when the record was not a request.
 */
static SessionRequest *recv_request(int fd, uint32_t max, int *fds, int *nfds, int *rc)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	*nfds = 0;
	*rc = pb_chan_recv(fd, &buf, &len, fds, nfds, 1000, max);
	if (*rc < 0)
		return NULL;
	SessionRequest *req = session_request__unpack(NULL, len, buf);
	free(buf);
	return req;
}

/* request_done: free a request and close the descriptors nobody took (set to -1 when taken). */
static void request_done(SessionRequest *req, int *fds, int nfds)
{
	if (req != NULL)
		session_request__free_unpacked(req, NULL);
	for (int i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void chan_cb(void *arg, uint32_t events)
{
	struct chan *c = arg;
	struct mon *m = c->m;
	int fds[PB_CHAN_MAX_FDS], nfds = 0, rc;
	SessionRequest *req = recv_request(c->fd, m->net.max, fds, &nfds, &rc);
	if (rc < 0) {
		if (rc != PB_ERR_EOF)
			pb_log(PB_LV_WARN, "channel of pid %ld: %s", (long)c->pid, pb_strerror(rc));
		chan_del(m, c);
		return;
	}
	if (req == NULL) {
		reply_error(c, 0, PB_ERR_PROTO, "undecodable request");
		goto done;
	}
	/* Events the shell held back (its FINISH events) happened before this request. */
	for (size_t i = 0; i < req->n_before && m->log != NULL; i++)
		handle_event(m, c, req->before[i]);
	switch (req->type_case) {
	case SESSION_REQUEST__TYPE_START:
		handle_start(m, c, req);
		req = NULL; /* kept by the session, or freed */
		break;
	case SESSION_REQUEST__TYPE_CHECK:
		if (!m->started)
			reply_error(c, req->id, PB_ERR_PROTO, "no check before an accepted start");
		else if (m->ended)
			reply_error(c, req->id, PB_ERR_DENIED, m->ended_why);
		else {
			/* In native root mode too: a server that answers again takes over. The check
			 * leaves the request: the policy client keeps it until it is answered. */
			PolicyCheck *chk = req->check;
			req->check = NULL;
			req->type_case = SESSION_REQUEST__TYPE__NOT_SET;
			mpol_check(m->pol, c->serial, req->id, chk);
		}
		break;
	case SESSION_REQUEST__TYPE_EVENT:
		if (m->log != NULL)
			handle_event(m, c, req->event);
		if (req->id != 0) {
			/* The shell waits for this one: e.g. a relayed command's output is drained (cmdio_end)
			 * before the shell writes its own next output. An empty reply says "handled". */
			SessionReply r = SESSION_REPLY__INIT;
			r.id = req->id;
			reply_send(c, &r, NULL, 0);
		}
		break;
	case SESSION_REQUEST__TYPE_IO_START:
		if (!m->started)
			reply_error(c, req->id, PB_ERR_PROTO,
			            "no io_start before an accepted start");
		else
			handle_io_start(m, c, req->id, req->io_start, fds, nfds);
		break;
	default:
		reply_error(c, req->id, PB_ERR_PROTO, "request of unknown type on a channel");
		break;
	}
done:
	request_done(req, fds, nfds);
}

/* factory_cb: a subshell hands over its new channel (single records, never answered). */
static void factory_cb(void *arg, uint32_t events)
{
	struct mon *m = arg;
	int fds[PB_CHAN_MAX_FDS], nfds = 0, rc;
	SessionRequest *req = recv_request(m->a->factory_fd, m->net.max, fds, &nfds, &rc);
	if (rc < 0) {
		if (rc == PB_ERR_EOF) {
			/* Every process of the session has closed it: no more subshells. */
			mon_unwatch(m->epfd, m->a->factory_fd, &m->factw);
		}
		return;
	}
	if (req != NULL && req->type_case == SESSION_REQUEST__TYPE_CHANNEL && nfds == 1 &&
	    m->startreq != NULL && m->nchans >= MAX_CHANNELS) {
		/* A runaway of subshells: this one gets no channel, so its checks fail (closed). */
		pb_log(PB_LV_WARN, "more than %d channels: a subshell's channel refused",
		       MAX_CHANNELS);
	} else if (req != NULL && req->type_case == SESSION_REQUEST__TYPE_CHANNEL && nfds == 1 &&
	           m->startreq != NULL) {
		pid_t pid = peer_pid(fds[0]);
		if (pid <= 0)
			pid = (pid_t)req->channel->pid;
		if (chan_add(m, fds[0], pid, false) != NULL)
			fds[0] = -1;
	} else {
		pb_log(PB_LV_WARN, "factory: a record that is not a channel was dropped");
	}
	request_done(req, fds, nfds);
}

/* ---- signals and the end ---- */

/*
 * --adopt: the shell we serve (not our child) ended. What it sent before
 * (its EXIT, held FINISH events) is read first: the pidfd may be seen
 * before the channel in the same wait.
 */
static void adopted_end_cb(void *arg, uint32_t events)
{
	(void)events;
	struct mon *m = arg;
	for (int i = 0; i < 64; i++) {
		struct chan *c = m->chans;
		while (c != NULL && !c->root)
			c = c->next;
		struct pollfd p = {.fd = c != NULL ? c->fd : -1, .events = POLLIN};
		if (c == NULL || poll(&p, 1, 0) <= 0)
			break;
		chan_cb(c, EPOLLIN);
	}
	m->shell_done = true;
}

static void sig_cb(void *arg, uint32_t events)
{
	struct mon *m = arg;
	struct signalfd_siginfo si;
	while (read(m->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			for (;;) {
				int st;
				pid_t p = waitpid(-1, &st, WNOHANG);
				if (p <= 0)
					break;
				if (p == m->a->shell_pid) {
					m->shell_done = true;
					m->wstatus = st;
				}
				if (p == m->forwarder)
					m->forwarder = 0;
			}
			break;
		case SIGWINCH:
			if (m->pty != NULL)
				relay_winch(m->pty);
			break;
		default:
			/* A hang-up or termination of the session reaches the shell, as it would
			 * without us. */
			signal_shell(m, (int)si.ssi_signo);
			break;
		}
	}
}

/*
 * drain_channels: the shell is gone: what it and its subshells sent just
 * before (a last FINISH, EXIT, include events) is still in their channels,
 * a message per wake-up of the loop, and is read before the session's end
 * is logged. Bounded: a subshell that lives on may keep sending.
 */
static void drain_channels(struct mon *m)
{
	for (int round = 0; round < 4096; round++) {
		bool any = false;
		for (struct chan *c = m->chans, *next; c != NULL; c = next) {
			next = c->next;
			struct pollfd p = {.fd = c->fd, .events = POLLIN};
			if (poll(&p, 1, 0) > 0) {
				chan_cb(c, EPOLLIN); /* may free c (its end) */
				any = true;
			}
		}
		if (!any)
			return;
	}
}

/*
 * ended_rest: the shell of an ended session is gone; what it started (a
 * script's running command, jobs, what they left behind) got the hang-up
 * too and has until the shell's grace ends to go, then is killed. The
 * monitor waits for it as their subreaper, so none of it escapes to init.
 */
static void ended_rest(struct mon *m)
{
	struct pollfd pfd = {.fd = m->sigfd, .events = POLLIN};
	while (session_procs(m, 0) > 0) {
		int64_t left = m->kill_at != 0 ? m->kill_at - mon_now_ms() : 0;
		if (left <= 0) {
			size_t n = session_procs(m, SIGKILL);
			pb_log(PB_LV_WARN, "%zu process%s of the ended session ignored the hang-up: killed", n,
			       n == 1 ? "" : "es");
			return;
		}
		if (poll(&pfd, 1, left < 50 ? (int)left : 50) > 0)
			sig_cb(m, EPOLLIN); /* reaps those that were our children */
	}
}

/* finish: the shell has been reaped: its last output, its exit on the log, the log delivered. */
static void finish(struct mon *m)
{
	relay_drain(m->pty, 200);
	while (m->cmdios != NULL)
		cmdio_end(m, m->cmdios, NULL);
	if (m->started) {
		/* An adopted shell is not ours to wait for: its end is what it said (EXIT), else unknown. */
		bool unknown = m->a->adopt && !m->exit_seen;
		if (m->a->adopt)
			m->wstatus = (m->exit_status & 0xff) << 8;
		int st = m->wstatus;
		bool sig = WIFSIGNALED(st);
		Pblog__TimeSpec rt = ts_of(mon_ts_sub(now_mono(), m->t0));
		/* The shell's channel may still be open here (its EOF not read yet). */
		for (struct chan *c = m->chans; c != NULL; c = c->next)
			if (c->root && execd_unfinished(c)) {
				free(m->exec_uid);
				m->exec_uid = strdup(c->last_uid);
			}
		if (!m->exit_seen && !unknown && m->exec_uid != NULL) {
			uint64_t ns = (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec;
			log_finish(m, m->exec_uid, sig ? 0 : WEXITSTATUS(st),
			           sig ? WTERMSIG(st) : 0, sig && WCOREDUMP(st), ns, 0);
		}
		Pblog__ClientMessage cm = PBLOG__CLIENT_MESSAGE__INIT;
		Pblog__ExitMessage em = PBLOG__EXIT_MESSAGE__INIT;
		em.run_time = &rt;
		if (unknown) {
			em.error = (char *)"the shell's end was not seen: this monitor took over the session "
			                   "after the first one ended";
		} else if (sig) {
			const char *name = sigabbrev_np(WTERMSIG(st));
			em.signal = (char *)(name ? name : "KILL");
			em.dumped_core = WCOREDUMP(st);
		} else {
			em.exit_value = WEXITSTATUS(st);
		}
		cm.type_case = PBLOG__CLIENT_MESSAGE__TYPE_EXIT_MSG;
		cm.exit_msg = &em;
		mlog_send(m->log, &cm);
	}
	if (m->log != NULL)
		mlog_finish(m->log);
	relay_free(m->pty);
	m->pty = NULL;
}

int mon_run(const struct mon_args *a, struct pb_conf *conf, int *raise_sig)
{
	struct mon mon = {.a = a, .conf = conf, .epfd = -1, .sigfd = -1, .pidfd = -1};
	struct mon *m = &mon;
	char err[1024];
	sigset_t set;
	int status = 1;

	*raise_sig = 0;
	if (mon_net_init(&m->net, conf, err, sizeof(err)) < 0) {
		pb_log(PB_LV_ERROR, "%s", err);
		/* The shell must not run ungoverned: it reads EOF on its channel and refuses. */
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	m->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (m->epfd < 0 || m->sigfd < 0)
		pb_fatal(1, "epoll/signalfd: %s", strerror(errno));
	m->sigw = (struct mon_watch){sig_cb, m};
	m->factw = (struct mon_watch){factory_cb, m};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &m->sigw};
	(void)epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->sigfd, &ev);
	ev.data.ptr = &m->factw;
	(void)epoll_ctl(m->epfd, EPOLL_CTL_ADD, a->factory_fd, &ev);
	if (chan_add(m, a->root_fd, a->shell_pid, true) == NULL)
		pb_fatal(1, "cannot serve the shell's channel");
	/* What the shell starts and leaves behind stays below us while the session lasts (ended_rest). */
	if (!a->adopt && prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		pb_log(PB_LV_WARN, "cannot become the session's subreaper: %s", strerror(errno));

	/* The shell may have ended before we blocked SIGCHLD. */
	int st;
	pid_t reaped = a->adopt ? 0 : waitpid(a->shell_pid, &st, WNOHANG);
	if (a->adopt) {
		/* Not our child: its pidfd becomes readable when it ends. */
		m->pidfd = (int)syscall(SYS_pidfd_open, a->shell_pid, 0);
		if (m->pidfd < 0) {
			pb_log(PB_LV_ERROR, "--adopt: shell pid %ld: %s", (long)a->shell_pid, strerror(errno));
			goto out;
		}
		m->pidw = (struct mon_watch){adopted_end_cb, m};
		ev.data.ptr = &m->pidw;
		(void)epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->pidfd, &ev);
	} else if (reaped == a->shell_pid) {
		m->shell_done = true;
		m->wstatus = st;
	} else if (reaped < 0) {
		/* Only a child can be reaped: without that the session's end would never be seen.
		 */
		pb_log(PB_LV_ERROR, "--shell-pid %ld is not the monitor's child",
		       (long)a->shell_pid);
		goto out;
	}
	while (!m->shell_done) {
		struct epoll_event evs[16];
		int to = m->pol != NULL ? mpol_timeout(m->pol) : -1;
		int lt = m->log != NULL ? mlog_timeout(m->log) : -1;
		if (lt >= 0 && (to < 0 || lt < to))
			to = lt;
		if (m->kill_at != 0) {
			int64_t left = m->kill_at - mon_now_ms();
			int kt = left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
			if (to < 0 || kt < to)
				to = kt;
		}
		int n = epoll_wait(m->epfd, evs, 16, to);
		if (n < 0 && errno != EINTR)
			pb_fatal(1, "epoll_wait: %s", strerror(errno));
		mon_dispatch(evs, n > 0 ? n : 0);
		if (m->pol != NULL)
			mpol_tick(m->pol);
		if (m->log != NULL)
			mlog_tick(m->log);
		if (m->kill_at != 0 && !m->shell_done && mon_now_ms() >= m->kill_at) {
			pb_log(PB_LV_WARN, "the shell of the ended session ignored the hang-up: killed");
			signal_shell(m, SIGKILL);
			session_procs(m, SIGKILL);
			m->kill_at = 0;
		}
	}
	drain_channels(m);
	if (m->ended)
		ended_rest(m);
	finish(m);
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		PB_TRACE(PB_SS_MONITOR, 2, "session over: cpu user %ld.%06lds sys %ld.%06lds",
		         (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec,
		         (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec);
	if (WIFSIGNALED(m->wstatus)) {
		*raise_sig = WTERMSIG(m->wstatus);
		status = 128 + *raise_sig;
	} else {
		status = WEXITSTATUS(m->wstatus);
	}
out:
	while (m->chans != NULL)
		chan_del(m, m->chans);
	mlog_free(m->log);
	mpol_free(m->pol);
	free(m->dec_lhp);
	free(m->dec_text);
	if (m->startreq != NULL)
		session_request__free_unpacked(m->startreq, NULL);
	free(m->exec_uid);
	for (unsigned i = 0; i < ORPHANS; i++)
		free(m->orphans[i].uid);
	mon_net_free(&m->net);
	close(m->sigfd);
	if (m->pidfd >= 0)
		close(m->pidfd);
	close(m->epfd);
	return status;
}
