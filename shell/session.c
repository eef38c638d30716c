/* SPDX-License-Identifier: ISC */
/* A governed session, shell side: pbsh.yaml, the monitor's start, this process's channel, and the events it sends. */
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "chan.h"
#include "conf.h"
#include "debug.h"
#include "err.h"
#include "error.h"
#include "exec.h"
#include "priv.h"
#include "session.pb-c.h"
#include "shell.h"

#ifndef PB_MONITOR_PATH
#define PB_MONITOR_PATH "/usr/local/libexec/pbsh-monitor"
#endif

/* The shell's own descriptors start here, out of reach of `exec 9>file` and of most programs' guesses. */
#define HIGH_FD 1000

/* A file `.` reads is logged whole (shelllogincludefiles) up to this size; longer ones are refused. */
#define INCLUDE_MAX (1024 * 1024)

bool session_on;

static const char *conf_override; /* --config FILE */
static const char *debug_spec;    /* --debug=SPEC */

static int chan_fd = -1;  /* this process's channel, or -1 (a subshell makes one on first use) */
static pid_t chan_pid;    /* the process chan_fd belongs to */
static pid_t self_pid;    /* this process (set at the start and in each forked child: no getpid per check) */
static char *cwd_cache;   /* the working directory sent with checks; NULL after a cd */
static int fact_fd = -1;  /* the factory: subshells hand their new channel over on it */
static pid_t root_pid;    /* the session's shell (EXIT is its event only) */
static bool chan_broken;  /* the monitor went away: every later check fails at once */
static uint64_t next_id;
static int reply_ms = -1; /* how long a reply may take (the monitor itself times out servers) */
static SessionReply *start_reply; /* owns the "shell start" decision */
static char errbuf[1300];

/* What starting a monitor takes, kept for a root session's takeover (takeover()). */
static struct {
	const char *prog;
	char *conf;
	char **argv;
	bool interactive, ksh;
	pid_t ppid;
	unsigned count; /* monitors that took over so far */
} mon_start;
#define TAKEOVER_MAX 8

/*
 * FINISH events held back: each goes with this process's next request on
 * the channel (SessionRequest.before) instead of a message of its own, or
 * alone at session_flush, which the shell calls wherever it may block or
 * end, and at the latest HOLD_MS after the reap (session_tick).
 */
#define HELD_MAX 16
#define HOLD_MS 20
struct held {
	char *uid; /* NULL: the command last accepted on the channel of pid */
	pid_t pid;
	int status, sig;
	bool core;
	uint64_t run_ns, end_ns;
	struct timespec at; /* the reap, CLOCK_MONOTONIC_COARSE */
};
static struct held held[HELD_MAX];
size_t session_nheld;

/* Children whose end is reported (FINISH) when they are reaped. */
struct child {
	pid_t pid;
	char *uid; /* NULL: a forked subshell */
	bool io;   /* its I/O is relayed by the monitor: wait until its output is out */
	struct timespec t0;
};
static struct child *children;
static size_t nchildren, capchildren;

/* No privilege beyond the real user's: --config and PBSH_MONITOR are honoured only then. */
static bool unprivileged(void)
{
	return getuid() == geteuid() && getgid() == getegid() && getauxval(AT_SECURE) == 0;
}

/* Move fd to a high descriptor (close-on-exec), out of the way of redirections. Returns the new fd. */
static int high_fd(int fd)
{
	struct rlimit rl;
	int min = HIGH_FD;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur <= HIGH_FD)
		min = rl.rlim_cur > 64 ? (int)rl.rlim_cur - 32 : 10;
	int n = fcntl(fd, F_DUPFD_CLOEXEC, min);
	if (n < 0)
		n = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	if (n < 0)
		return fd;
	close(fd);
	return n;
}

/*
 * A channel end of this process: moved out of reach of redirections, and a
 * receive timeout of reply_ms on the socket itself, so that waiting for a
 * reply is the recvmsg alone (no poll before it).
 */
static int chan_own(int fd)
{
	fd = high_fd(fd);
	if (reply_ms >= 0) {
		struct timeval tv = {.tv_sec = reply_ms / 1000, .tv_usec = (reply_ms % 1000) * 1000};
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	}
	return fd;
}

bool session_fd_reserved(int fd)
{
	return fd >= 0 && (fd == chan_fd || fd == fact_fd || fd == pb_log_fd());
}

/* ---- options and configuration ---- */

void session_args(char **argv)
{
	int o = 1, i = 1;
	for (; argv[i] && strncmp(argv[i], "--", 2) == 0 && argv[i][2]; i++) {
		const char **dst;
		const char *a = argv[i] + 2;
		size_t n;
		if (strncmp(a, "config", 6) == 0) {
			dst = &conf_override;
			n = 6;
		} else if (strncmp(a, "debug", 5) == 0) {
			dst = &debug_spec;
			n = 5;
		} else {
			break;
		}
		if (a[n] == '=') {
			*dst = a + n + 1;
		} else if (a[n] == '\0' && argv[i + 1]) {
			*dst = argv[++i];
		} else {
			fprintf(stderr, "%s: %s: bad option (--config FILE, --debug=SPEC)\n", sh_name, argv[i]);
			_exit(2);
		}
		if (**dst == '\0') {
			fprintf(stderr, "%s: %s needs a value\n", sh_name, argv[i]);
			_exit(2);
		}
	}
	while (argv[i])
		argv[o++] = argv[i++];
	argv[o] = NULL;
}

bool session_trace_dir_ok(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	struct stat st;
	bool ok = stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 0 && !(st.st_mode & 022);
	free(dir);
	return ok;
}

/*
 * The trace file of --debug lives in a directory only root may change when
 * the shell is privileged: otherwise the user could point it at a file of
 * their choosing through a link, or read what the trace says.
 */
static void trace_open(const struct pb_conf *conf, bool ksh)
{
	const char *errstr;
	if (pb_debug_parse(debug_spec, &errstr) < 0) {
		fprintf(stderr, "%s: --debug=%s: %s\n", sh_name, debug_spec, errstr);
		_exit(2);
	}
	const char *key = ksh ? "kshlog" : "shlog";
	const char *path = conf ? pb_conf_str(conf, key) : NULL;
	if (path == NULL)
		return; /* standard error, as for the daemons run in the foreground */
	if (!unprivileged() && !session_trace_dir_ok(path)) {
		fprintf(stderr, "%s: --debug: the directory of %s (%s) must be owned by root and writable by root only\n",
		        sh_name, key, path);
		_exit(2);
	}
	/* A privileged shell writes its trace in root's directory as root (the file is root's, 0600). */
	struct priv_saved sv;
	int in = priv_privileged() ? priv_enter(&(struct priv_run){"#0", NULL, -1}, &sv) : 0;
	int rc = pb_log_open(sh_name, PB_LOG_FILE, path);
	int e = errno;
	if (in > 0)
		priv_leave(&sv);
	errno = e;
	if (rc < 0) {
		fprintf(stderr, "%s: --debug: cannot open %s: %s\n", sh_name, path, strerror(errno));
		_exit(2);
	}
	pb_log_move_fd(HIGH_FD);
}

/* ---- the monitor ---- */

/* In the parent after the fork: become the monitor (channels on 3 and 4, empty environment). */
static _Noreturn void exec_monitor(const char *prog, const char *conf, int rootfd, int factfd, pid_t shell,
                                    bool adopt)
{
	int a = fcntl(rootfd, F_DUPFD_CLOEXEC, 10), b = fcntl(factfd, F_DUPFD_CLOEXEC, 10);
	if (a < 0 || b < 0 || dup2(a, 3) < 0 || dup2(b, 4) < 0) {
		fprintf(stderr, "%s: session monitor: %s\n", sh_name, strerror(errno));
		_exit(1);
	}
	/* Nothing else of the shell's: the child's channel ends must close here for the monitor to see EOF. */
	close_range(5, ~0U, 0);
	char pid[24];
	snprintf(pid, sizeof pid, "%ld", (long)shell);
	char *argv[8], **ap = argv;
	*ap++ = (char *)prog;
	*ap++ = "--config";
	*ap++ = (char *)conf;
	*ap++ = "--shell-pid";
	*ap++ = pid;
	if (adopt)
		*ap++ = "--adopt";
	if (debug_spec) {
		*ap++ = "--debug";
		*ap++ = (char *)debug_spec;
	}
	*ap = NULL;
	char *envp[] = {NULL};
	execve(prog, argv, envp);
	fprintf(stderr, "%s: cannot run the session monitor %s: %s\n", sh_name, prog, strerror(errno));
	_exit(1);
}

static char *user_name(uid_t uid)
{
	struct passwd *pw = getpwuid(uid);
	return pw ? xstrdup(pw->pw_name) : xasprintf("%ld", (long)uid);
}

static char *group_name(gid_t gid)
{
	struct group *gr = getgrgid(gid);
	return gr ? xstrdup(gr->gr_name) : xasprintf("%ld", (long)gid);
}

/* Receive the reply to request id on this process's channel (older replies are dropped). */
static SessionReply *await_reply(uint64_t id, int *fds, int *nfds, int *rcp)
{
	for (;;) {
		uint8_t *buf;
		size_t len;
		int n = 0, got[PB_CHAN_MAX_FDS];
		/* Blocks in recvmsg: the channel's SO_RCVTIMEO (chan_own) is reply_ms. */
		int rc = pb_chan_recv(chan_fd, &buf, &len, got, &n, -1, 0);
		if (rc < 0) {
			*rcp = rc;
			return NULL;
		}
		SessionReply *r = session_reply__unpack(NULL, len, buf);
		free(buf);
		if (r != NULL && r->id == id) {
			for (int i = 0; i < n; i++) {
				if (fds && i < *nfds)
					fds[i] = got[i];
				else
					close(got[i]);
			}
			if (nfds)
				*nfds = fds ? (n < *nfds ? n : *nfds) : 0;
			return r;
		}
		for (int i = 0; i < n; i++)
			close(got[i]);
		if (r == NULL) {
			*rcp = PB_ERR_PROTO;
			return NULL;
		}
		session_reply__free_unpacked(r, NULL);
	}
}

static const char *chan_error(int rc)
{
	if (rc == PB_ERR_EOF || rc == PB_ERR_TRUNCATED) {
		chan_broken = true;
		return "the session monitor is gone";
	}
	if (rc == PB_ERR_TIMEOUT)
		return "the session monitor did not answer in time";
	snprintf(errbuf, sizeof errbuf, "session channel: %s", pb_strerror(rc));
	return errbuf;
}

/* The pty the monitor relays becomes our terminal: controlling tty and the standard fds that were a terminal. */
static void take_pty(int slave)
{
	bool tty[3];
	for (int fd = 0; fd < 3; fd++)
		tty[fd] = isatty(fd);
	if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) {
		fprintf(stderr, "%s: cannot take the session's terminal: %s\n", sh_name, strerror(errno));
		_exit(1);
	}
	for (int fd = 0; fd < 3; fd++)
		if (tty[fd])
			dup2(slave, fd);
	close(slave);
}

/*
 * ask_start: send the SessionStart (has_tty: the monitor may relay the
 * session's terminal) and wait for the monitor's answer: the STARTED
 * reply (*fdp: the pty it sent, or -1), or NULL with *err.
 */
static SessionReply *ask_start(char **argv, bool interactive, bool ksh, pid_t ppid, bool has_tty, int *fdp,
                               const char **err)
{
	PolicyShellStart st = POLICY_SHELL_START__INIT;
	SessionStart ss = SESSION_START__INIT;
	SessionRequest req = SESSION_REQUEST__INIT;
	char cwd[PATH_MAX];
	*fdp = -1;
	st.user = user_name(getuid());
	st.uid = getuid();
	st.group = group_name(getgid());
	st.gid = getgid();
	int ng = getgroups(0, NULL);
	gid_t *gl = xmalloc(((size_t)(ng > 0 ? ng : 0) + 1) * sizeof *gl);
	ng = getgroups(ng > 0 ? ng : 0, gl);
	st.groups = xmalloc(((size_t)(ng > 0 ? ng : 0) + 1) * sizeof *st.groups);
	for (int i = 0; i < ng; i++)
		st.groups[st.n_groups++] = group_name(gl[i]);
	free(gl);
	st.pid = getpid();
	st.ppid = ppid;
	const char *tty = isatty(0) ? ttyname(0) : NULL;
	st.tty = (char *)(tty ? tty : "");
	st.cwd = getcwd(cwd, sizeof cwd) ? cwd : "";
	st.shell = (char *)(sh_self_path ? sh_self_path : argv[0]);
	for (st.n_argv = 0; argv[st.n_argv]; st.n_argv++)
		;
	st.argv = argv;
	ss.start = &st;
	ss.program = ksh ? "pbksh" : "pbsh";
	ss.interactive = interactive;
	ss.has_tty = has_tty;
	req.id = ++next_id;
	req.type_case = SESSION_REQUEST__TYPE_START;
	req.start = &ss;
	int rc = pb_chan_send(chan_fd, &req.base, NULL, 0, 0);
	for (size_t i = 0; i < st.n_groups; i++)
		free(st.groups[i]);
	free(st.groups);
	free(st.user);
	free(st.group);
	int fds[1], nfds = 1;
	SessionReply *r = rc < 0 ? NULL : await_reply(req.id, fds, &nfds, &rc);
	if (r == NULL) {
		*err = chan_error(rc);
		return NULL;
	}
	if (nfds > 0)
		*fdp = fds[0];
	if (r->type_case == SESSION_REPLY__TYPE_ERROR) {
		snprintf(errbuf, sizeof errbuf, "%s",
		         r->error->message && *r->error->message ? r->error->message : pb_strerror(r->error->code));
		*err = errbuf;
	} else if (r->type_case != SESSION_REPLY__TYPE_STARTED || r->started->decision == NULL) {
		*err = "unexpected reply from the monitor";
	} else {
		return r;
	}
	if (*fdp >= 0)
		close(*fdp);
	*fdp = -1;
	session_reply__free_unpacked(r, NULL);
	return NULL;
}

static void send_start(char **argv, bool interactive, bool ksh, pid_t ppid)
{
	const char *err;
	int fd;
	SessionReply *r = ask_start(argv, interactive, ksh, ppid, isatty(0), &fd, &err);
	if (r == NULL) {
		fprintf(stderr, "%s: cannot start a governed session: %s\n", sh_name, err);
		_exit(1);
	}
	const PolicyDecision *d = r->started->decision;
	if (!d->accept) {
		fprintf(stderr, "%s: refused by policy: %s\n", sh_name,
		        d->reason && *d->reason ? d->reason : "no reason given");
		_exit(1);
	}
	if (r->started->pty) {
		if (fd < 0) {
			fprintf(stderr, "%s: the session must be I/O logged, but the monitor sent no terminal\n", sh_name);
			_exit(1);
		}
		take_pty(fd);
	} else if (fd >= 0) {
		close(fd);
	}
	if (r->started->native_root)
		fprintf(stderr, "%s: no policy server answered: native root mode (everything runs, and is logged)\n",
		        sh_name);
	start_reply = r;
}

/*
 * The compiled-in pbsh.yaml may be readable by root only (it names the host
 * key): a privileged shell reads it as root, and only it (never --config,
 * which a privileged shell refuses anyway).
 */
static int load_conf(const char *path, struct pb_conf **confp, struct pb_conf_err *err)
{
	if (conf_override || !priv_privileged())
		return pb_conf_load(path, confp, err);
	struct priv_saved sv;
	int in = priv_enter(&(struct priv_run){"#0", NULL, -1}, &sv);
	int rc = pb_conf_load(path, confp, err);
	if (in > 0)
		priv_leave(&sv);
	return rc;
}

void session_start(char **argv, bool interactive)
{
	bool ksh = sh_edit_hook != NULL;
	const char *errstr;
	if (conf_override && !pb_conf_path_allowed(conf_override, &errstr)) {
		fprintf(stderr, "%s: --config %s: %s\n", sh_name, conf_override, errstr);
		_exit(2);
	}
	const char *path = conf_override ? conf_override : pb_conf_default_path();
	struct pb_conf *conf = NULL;
	struct pb_conf_err cerr;
	int rc = load_conf(path, &conf, &cerr);
	if (rc == PB_ERR_NOTFOUND && conf_override == NULL) {
		conf = NULL; /* no configuration: an ungoverned shell */
	} else if (rc < 0) {
		fprintf(stderr, "%s: %s\n", sh_name, cerr.msg);
		if (conf_override)
			_exit(2); /* the test's own file: nothing to fall back on */
		if (getuid() != 0)
			_exit(1); /* the file says this host is governed: fail closed */
		fprintf(stderr, "%s: root: going on without policy or logging\n", sh_name);
		conf = NULL;
	}
	if (debug_spec)
		trace_open(conf, ksh);
	size_t np = 0, nl = 0;
	if (conf) {
		pb_conf_hostports(conf, "policyservers", &np);
		pb_conf_hostports(conf, "logservers", &nl);
	}
	if (np == 0 && nl == 0) {
		pb_conf_free(conf);
		return;
	}
	int64_t wait = (pb_conf_ms(conf, "timeouts.connect") + pb_conf_ms(conf, "timeouts.request")) *
	               (int64_t)(np + nl + 1) + 5000;
	reply_ms = wait > INT_MAX ? INT_MAX : (int)wait;
	const char *monitor = PB_MONITOR_PATH;
	const char *env = getenv("PBSH_MONITOR");
	if (env && *env && unprivileged())
		monitor = env;

	int rootp[2], factp[2];
	if (pb_chan_pair(rootp) < 0 || pb_chan_pair(factp) < 0) {
		fprintf(stderr, "%s: cannot make the session channels: %s\n", sh_name, strerror(errno));
		_exit(1);
	}
	pid_t ppid = getppid();
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: cannot fork the session monitor: %s\n", sh_name, strerror(errno));
		_exit(1);
	}
	if (pid > 0) {
		/* The monitor holds the host key: it is root for good (a setuid start), the shell is not. */
		if (priv_privileged() && priv_monitor() < 0) {
			fprintf(stderr, "%s: session monitor: cannot take root: %s\n", sh_name, strerror(errno));
			_exit(1);
		}
		exec_monitor(monitor, pb_conf_file(conf), rootp[0], factp[0], pid, false);
	}
	close(rootp[0]);
	close(factp[0]);
	mon_start.prog = monitor;
	mon_start.conf = xstrdup(pb_conf_file(conf));
	mon_start.argv = argv;
	mon_start.interactive = interactive;
	mon_start.ksh = ksh;
	mon_start.ppid = ppid;
	pb_conf_free(conf);
	chan_fd = chan_own(rootp[1]);
	fact_fd = high_fd(factp[1]);
	chan_pid = root_pid = self_pid = sh_rootpid = getpid();
	session_on = true;
	send_start(argv, interactive, ksh, ppid);
	PB_TRACE(PB_SS_GATE, 2, "governed session started");
}

const PolicyDecision *session_decision(void)
{
	return start_reply ? start_reply->started->decision : NULL;
}

/* ---- this process's channel ---- */

const char *session_cwd(void)
{
	/* Only this process's own chdir changes it (session_cwd_changed): one getcwd per cd, not per check. */
	if (cwd_cache == NULL) {
		char buf[PATH_MAX];
		if (getcwd(buf, sizeof buf) == NULL)
			return "";
		cwd_cache = xstrdup(buf);
	}
	return cwd_cache;
}

void session_cwd_changed(void)
{
	free(cwd_cache);
	cwd_cache = NULL;
}

/* A subshell's first need: a channel of its own, handed to the monitor on the factory (no reply). */
static int ensure_chan(void)
{
	if (chan_fd >= 0 && chan_pid == self_pid)
		return 0;
	if (chan_broken)
		return PB_ERR_EOF;
	if (chan_fd >= 0)
		close(chan_fd); /* the parent's: never ours to use */
	chan_fd = -1;
	int sv[2];
	if (pb_chan_pair(sv) < 0)
		return PB_ERR_IO;
	SessionChannel ch = SESSION_CHANNEL__INIT;
	SessionRequest req = SESSION_REQUEST__INIT;
	ch.pid = self_pid;
	req.type_case = SESSION_REQUEST__TYPE_CHANNEL;
	req.channel = &ch;
	int rc = pb_chan_send(fact_fd, &req.base, &sv[1], 1, 0);
	close(sv[1]);
	if (rc < 0) {
		close(sv[0]);
		return rc;
	}
	chan_fd = chan_own(sv[0]);
	chan_pid = self_pid;
	return 0;
}

static void held_clear(void)
{
	for (size_t i = 0; i < session_nheld; i++)
		free(held[i].uid);
	session_nheld = 0;
}

/* held_event: the FINISH event of a held end (pointing into h). */
static void held_event(const struct held *h, SessionEvent *ev)
{
	*ev = (SessionEvent)SESSION_EVENT__INIT;
	ev->kind = SESSION_EVENT__KIND__SESSION_EVENT_FINISH;
	ev->uniqueid = h->uid ? h->uid : "";
	ev->pid = h->pid;
	ev->exit_status = h->status;
	ev->signal = h->sig;
	ev->core_dumped = h->core;
	ev->run_ns = h->run_ns;
	ev->end_ns = h->end_ns;
}

/* send_request: req on this process's channel (ensure_chan first), the held events before it. */
static int send_request(SessionRequest *req, const int *fds, int nfds)
{
	SessionEvent evs[HELD_MAX], *evp[HELD_MAX];
	size_t n = session_nheld;
	for (size_t i = 0; i < n; i++) {
		held_event(&held[i], &evs[i]);
		evp[i] = &evs[i];
	}
	req->n_before = n;
	req->before = n ? evp : NULL;
	int rc = pb_chan_send(chan_fd, &req->base, fds, nfds, 0);
	req->n_before = 0;
	req->before = NULL;
	if (rc < 0 && n > 0)
		PB_TRACE(PB_SS_GATE, 2, "%zu finish event%s not sent: %s", n, n == 1 ? "" : "s", pb_strerror(rc));
	held_clear(); /* sent, or lost with the channel: never twice */
	return rc;
}

void session_tick(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	int64_t ms = (now.tv_sec - held[0].at.tv_sec) * 1000 + (now.tv_nsec - held[0].at.tv_nsec) / 1000000;
	if (ms >= HOLD_MS)
		session_flush();
}

void session_forked(void)
{
	if (!session_on)
		return;
	self_pid = getpid();
	if (chan_fd >= 0)
		close(chan_fd);
	chan_fd = -1;
	/* The parent flushed before the fork (session_flush): what it still holds is its own. */
	held_clear();
	/* The parent's children are not ours to report. */
	for (size_t i = 0; i < nchildren; i++)
		free(children[i].uid);
	nchildren = 0;
}

/*
 * takeover: the monitor of a root session is gone (DESIGN §6: root can
 * always repair the machine): the session's shell starts a new one, which
 * adopts it (it is not the new monitor's child: the monitor is started by
 * a child that leaves at once), opens a new log session and answers from
 * then on; the start decision kept is the first one. Not for a subshell
 * (its parent takes over), a session whose terminal the monitor relayed
 * (that terminal ended with it), or anyone but root, who fail closed.
 * True when a new monitor answers.
 */
static bool takeover(void)
{
	if (getuid() != 0 || self_pid != root_pid || mon_start.prog == NULL || start_reply == NULL ||
	    start_reply->started->pty || mon_start.count >= TAKEOVER_MAX)
		return false;
	mon_start.count++;
	int rootp[2], factp[2];
	if (pb_chan_pair(rootp) < 0)
		return false;
	if (pb_chan_pair(factp) < 0) {
		close(rootp[0]);
		close(rootp[1]);
		return false;
	}
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		if (fork() == 0) {
			sigset_t none;
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			close(rootp[1]);
			close(factp[1]);
			exec_monitor(mon_start.prog, mon_start.conf, rootp[0], factp[0], root_pid, true);
		}
		_exit(0);
	}
	close(rootp[0]);
	close(factp[0]);
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	if (chan_fd >= 0)
		close(chan_fd);
	if (fact_fd >= 0)
		close(fact_fd);
	chan_fd = chan_own(rootp[1]);
	fact_fd = high_fd(factp[1]);
	chan_pid = self_pid;
	chan_broken = false;
	held_clear(); /* the old monitor's commands: the new one never saw them accepted */
	const char *err = NULL;
	int fd = -1;
	SessionReply *r = pid < 0 ? NULL
	                          : ask_start(mon_start.argv, mon_start.interactive, mon_start.ksh, mon_start.ppid,
	                                      false, &fd, &err);
	if (r == NULL || !r->started->decision->accept) {
		fprintf(stderr, "%s: the session monitor is gone, and a new one could not take over: %s\n", sh_name,
		        r == NULL ? (err ? err : strerror(errno)) : "the policy refused the start");
		if (r != NULL)
			session_reply__free_unpacked(r, NULL);
		if (fd >= 0)
			close(fd);
		chan_broken = true;
		return false;
	}
	if (fd >= 0)
		close(fd);
	fprintf(stderr, "%s: the session monitor was gone; a new one took over (%s)\n", sh_name,
	        r->started->native_root ? "native root mode" : "a new log session");
	session_reply__free_unpacked(r, NULL);
	return true;
}

/* gone: the channel says its monitor went away. */
static bool gone(int rc)
{
	return rc == PB_ERR_EOF || rc == PB_ERR_TRUNCATED;
}

int session_check(const PolicyCheck *chk, PolicyDecision **dp, const char **errmsg)
{
	int rc = ensure_chan();
	if (rc < 0 && gone(rc) && takeover())
		rc = 0;
	if (rc < 0) {
		*errmsg = chan_error(rc);
		return rc;
	}
	SessionRequest req = SESSION_REQUEST__INIT;
	req.id = ++next_id;
	req.type_case = SESSION_REQUEST__TYPE_CHECK;
	req.check = (PolicyCheck *)chk;
	rc = send_request(&req, NULL, 0);
	SessionReply *r = rc < 0 ? NULL : await_reply(req.id, NULL, NULL, &rc);
	if (r == NULL && gone(rc) && takeover()) {
		/* Asked again of the new monitor (the old one's answer, if any, never came). */
		req.id = ++next_id;
		rc = send_request(&req, NULL, 0);
		r = rc < 0 ? NULL : await_reply(req.id, NULL, NULL, &rc);
	}
	if (r == NULL) {
		*errmsg = chan_error(rc);
		return rc;
	}
	if (r->type_case == SESSION_REPLY__TYPE_DECISION && r->decision) {
		*dp = r->decision;
		r->decision = NULL;
		r->type_case = SESSION_REPLY__TYPE__NOT_SET;
		session_reply__free_unpacked(r, NULL);
		return 0;
	}
	rc = PB_ERR_PROTO;
	snprintf(errbuf, sizeof errbuf, "unexpected reply from the session monitor");
	if (r->type_case == SESSION_REPLY__TYPE_ERROR && r->error) {
		rc = r->error->code < 0 ? r->error->code : PB_ERR_IO;
		snprintf(errbuf, sizeof errbuf, "%s",
		         r->error->message && *r->error->message ? r->error->message : pb_strerror(rc));
	}
	session_reply__free_unpacked(r, NULL);
	*errmsg = errbuf;
	return rc;
}

void session_event(SessionEvent *ev)
{
	if (ensure_chan() < 0)
		return;
	SessionRequest req = SESSION_REQUEST__INIT;
	req.type_case = SESSION_REQUEST__TYPE_EVENT;
	req.event = ev;
	int rc = send_request(&req, NULL, 0);
	if (rc < 0)
		PB_TRACE(PB_SS_GATE, 2, "event not sent: %s", pb_strerror(rc));
}

/* ---- children and their ends ---- */

void session_child(pid_t pid, const char *uid, bool io)
{
	if (!session_on)
		return;
	if (nchildren == capchildren) {
		capchildren = capchildren ? capchildren * 2 : 8;
		children = xrealloc(children, capchildren * sizeof *children);
	}
	struct child *c = &children[nchildren++];
	c->pid = pid;
	c->uid = uid && *uid ? xstrdup(uid) : NULL;
	c->io = io;
	clock_gettime(CLOCK_MONOTONIC, &c->t0);
}

/* Send ev with an id and wait for the monitor's empty answer: everything sent before it is handled. */
static void event_sync(SessionEvent *ev)
{
	if (ensure_chan() < 0)
		return;
	SessionRequest req = SESSION_REQUEST__INIT;
	req.id = ++next_id;
	req.type_case = SESSION_REQUEST__TYPE_EVENT;
	req.event = ev;
	int rc = send_request(&req, NULL, 0);
	SessionReply *r = rc < 0 ? NULL : await_reply(req.id, NULL, NULL, &rc);
	if (r == NULL)
		PB_TRACE(PB_SS_GATE, 2, "event not acknowledged: %s", chan_error(rc));
	else
		session_reply__free_unpacked(r, NULL);
}

/*
 * send_held: the held events now, the last as the request itself and the
 * others before it; sync: with an id, and wait for the monitor's empty
 * answer (everything sent before it is handled).
 */
static void send_held(bool sync)
{
	if (session_nheld == 0)
		return;
	if (ensure_chan() < 0) {
		held_clear();
		return;
	}
	struct held last = held[--session_nheld];
	SessionEvent ev;
	held_event(&last, &ev);
	if (sync)
		event_sync(&ev);
	else
		session_event(&ev);
	free(last.uid);
}

void session_flush(void)
{
	send_held(false);
}

void session_reaped(pid_t pid, int wst)
{
	if (!session_on || !(WIFEXITED(wst) || WIFSIGNALED(wst)))
		return;
	for (size_t i = 0; i < nchildren; i++) {
		if (children[i].pid != pid)
			continue;
		struct timespec t1, wall;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		clock_gettime(CLOCK_REALTIME, &wall);
		struct held h = {
		    .uid = children[i].uid,
		    .pid = pid,
		    .status = WIFEXITED(wst) ? WEXITSTATUS(wst) : 0,
		    .sig = WIFSIGNALED(wst) ? WTERMSIG(wst) : 0,
		    .core = WIFSIGNALED(wst) && WCOREDUMP(wst),
		    .run_ns = (uint64_t)((t1.tv_sec - children[i].t0.tv_sec) * 1000000000LL +
		                         (t1.tv_nsec - children[i].t0.tv_nsec)),
		    .end_ns = (uint64_t)wall.tv_sec * 1000000000u + (uint64_t)wall.tv_nsec,
		};
		bool io = children[i].io;
		children[i] = children[--nchildren];
		if (session_nheld == HELD_MAX)
			session_flush();
		clock_gettime(CLOCK_MONOTONIC_COARSE, &h.at);
		held[session_nheld++] = h;
		/* A relayed command's FINISH is answered once its pty is drained: our next output cannot overtake it. */
		if (io)
			send_held(true);
		return;
	}
}

void session_exec(const char *uid)
{
	if (!session_on)
		return;
	if (uid == NULL || *uid == '\0') {
		if (session_nheld)
			session_flush();
		return;
	}
	SessionEvent ev = SESSION_EVENT__INIT;
	ev.kind = SESSION_EVENT__KIND__SESSION_EVENT_EXEC;
	ev.uniqueid = (char *)uid;
	ev.pid = self_pid;
	session_event(&ev); /* with the held events before it */
}

void session_exec_failed(const char *uid, int status)
{
	if (!session_on || uid == NULL || *uid == '\0')
		return;
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	struct held h = {
	    .uid = (char *)uid,
	    .pid = self_pid,
	    .status = status & 0xff,
	    .end_ns = (uint64_t)wall.tv_sec * 1000000000u + (uint64_t)wall.tv_nsec,
	};
	SessionEvent ev;
	held_event(&h, &ev);
	session_event(&ev);
}

void session_exit(int status)
{
	if (!session_on)
		return;
	SessionEvent ev = SESSION_EVENT__INIT;
	ev.kind = SESSION_EVENT__KIND__SESSION_EVENT_EXIT;
	ev.exit_status = status & 0xff;
	ev.pid = self_pid;
	if (self_pid == root_pid) {
		session_event(&ev);
	} else if ((chan_fd >= 0 && chan_pid == self_pid && !chan_broken) || session_nheld > 0) {
		/*
		 * A subshell that used its own channel (or holds events): its FINISH
		 * events must be in before its parent reaps it and reports its end by
		 * pid, or that report could be taken for the last command it
		 * finished itself.
		 */
		event_sync(&ev);
	}
}

/* ---- include files and per-command I/O ---- */

char *session_include(const char *path, int fd)
{
	const PolicyDecision *d = session_decision();
	if (d == NULL || !d->shelllogincludefiles)
		return NULL;
	size_t len = 0, cap = 8192;
	char *text = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			if (cap > INCLUDE_MAX) {
				free(text);
				close(fd);
				sh_errorf(1, ".: %s: longer than 1 MiB: too long to be logged, not run", path);
			}
			cap *= 2;
			text = xrealloc(text, cap + 1);
		}
		ssize_t r = read(fd, text + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(text);
			close(fd);
			sh_errorf(1, ".: %s: %s", path, strerror(e));
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > INCLUDE_MAX) {
		free(text);
		close(fd);
		sh_errorf(1, ".: %s: longer than 1 MiB: too long to be logged, not run", path);
	}
	text[len] = '\0';
	SessionEvent ev = SESSION_EVENT__INIT;
	ev.kind = SESSION_EVENT__KIND__SESSION_EVENT_INCLUDE;
	ev.file = (char *)path;
	ev.text.data = (uint8_t *)text;
	ev.text.len = len;
	ev.pid = self_pid;
	session_event(&ev);
	return text;
}

int session_io_start(const char *uid, const char **errmsg)
{
	int rc = ensure_chan();
	if (rc < 0) {
		*errmsg = chan_error(rc);
		return -1;
	}
	SessionIoStart io = SESSION_IO_START__INIT;
	SessionRequest req = SESSION_REQUEST__INIT;
	io.uniqueid = (char *)uid;
	req.id = ++next_id;
	req.type_case = SESSION_REQUEST__TYPE_IO_START;
	req.io_start = &io;
	int std[3] = {0, 1, 2};
	rc = send_request(&req, std, 3);
	int fds[1], nfds = 1;
	SessionReply *r = rc < 0 ? NULL : await_reply(req.id, fds, &nfds, &rc);
	if (r == NULL) {
		*errmsg = chan_error(rc);
		return -1;
	}
	int slave = -1;
	if (r->type_case == SESSION_REPLY__TYPE_DECISION && r->decision->accept && nfds == 1) {
		slave = fds[0];
	} else {
		if (nfds == 1)
			close(fds[0]);
		snprintf(errbuf, sizeof errbuf, "the command's I/O log could not start: %s",
		         r->type_case == SESSION_REPLY__TYPE_ERROR && r->error->message ? r->error->message
		                                                                         : "no terminal");
		*errmsg = errbuf;
	}
	session_reply__free_unpacked(r, NULL);
	return slave;
}
