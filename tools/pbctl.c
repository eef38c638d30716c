/* SPDX-License-Identifier: ISC */
/* pbctl: status, start/stop, reload, enable/disable, tracing and sessions of policyd and logd, locally and on remote hosts. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "conf.h"
#include "err.h"
#include "pbctl_args.h"
#include "pbctl_conn.h"
#include "spool.h"
#include "tls.h"

#ifndef PBCTL_SBINDIR
#define PBCTL_SBINDIR "/usr/sbin"
#endif

/* How long after its stop timeout a daemon may take to close its last connection. */
#define STOP_SLACK_MS 5000
/* How often a watched stop asks for the sessions still connected. */
#define STOP_POLL_MS 500
/* stop --cancel: TERM, then KILL after this unless -t says otherwise. */
#define CANCEL_GRACE_S 10

/* One daemon on one host. */
struct target {
	enum pbctl_daemon d;
	const char *name;	/* "policyd", "logd" */
	char host[256];
	char port[12];
	char server[300];	/* host:port, for output and messages */
	bool local;		/* no -h: the daemons of this host (pidfile, systemd) */
	struct pbctl_conn *c;
	enum pbctl_fail why;
	char err[512];
	int64_t pid;		/* from status, 0 when unknown */
	size_t n_sessions;	/* watched stop: sessions last seen */
	bool done;
};

struct pbctl {
	struct pbctl_args a;
	struct pb_conf *conf;
	struct pb_tls_ctx *tls;
	int connect_ms, request_ms;
	struct target *t;
	size_t n;
};

static const char *const dnames[] = {[PBCTL_D_POLICYD] = "policyd", [PBCTL_D_LOGD] = "logd"};

static void errorx(const struct target *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errorx(const struct target *t, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fprintf(stderr, "pbctl: %s %s: ", t->server, t->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A value for a whitespace-separated column: "-" when empty, blanks and controls as '?'. */
static const char *col(const char *s, char *buf, size_t len)
{
	size_t i = 0;
	if (s == NULL || s[0] == '\0')
		return "-";
	for (; s[i] != '\0' && i + 1 < len; i++)
		buf[i] = ((unsigned char)s[i] <= ' ' || s[i] == 0x7f) ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

/* Elapsed seconds as ps(1) shows them: [[DD-]HH:]MM:SS. */
static const char *etime(int64_t secs, char *buf, size_t len)
{
	if (secs < 0)
		secs = 0;
	long long d = secs / 86400, h = secs / 3600 % 24, m = secs / 60 % 60, s = secs % 60;
	if (d > 0)
		snprintf(buf, len, "%lld-%02lld:%02lld:%02lld", d, h, m, s);
	else if (h > 0)
		snprintf(buf, len, "%02lld:%02lld:%02lld", h, m, s);
	else
		snprintf(buf, len, "%02lld:%02lld", m, s);
	return buf;
}

static const char *utc(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		return "-";
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* ---- targets ---- */

/* The host to reach a daemon listening on listen_host: a wildcard means this host, by name "localhost". */
static const char *reach_host(const char *listen_host)
{
	if (listen_host == NULL || listen_host[0] == '\0' || strcmp(listen_host, "*") == 0 ||
	    strcmp(listen_host, "0.0.0.0") == 0 || strcmp(listen_host, "::") == 0)
		return "localhost";
	return listen_host;
}

static int build_targets(struct pbctl *p)
{
	size_t nh = p->a.n_hosts > 0 ? p->a.n_hosts : 1;
	p->t = calloc(nh * 2, sizeof(*p->t));
	if (p->t == NULL)
		return PB_ERR_NOMEM;
	for (size_t h = 0; h < nh; h++) {
		for (int d = PBCTL_D_POLICYD; d <= PBCTL_D_LOGD; d++) {
			unsigned bit = d == PBCTL_D_POLICYD ? PBCTL_POLICYD : PBCTL_LOGD;
			struct target *t = &p->t[p->n];
			const struct pb_hostport *lst;
			char key[32];
			size_t nl = 0;

			if ((p->a.daemons & bit) == 0)
				continue;
			t->d = (enum pbctl_daemon)d;
			t->name = dnames[d];
			snprintf(key, sizeof(key), "%s.listen", t->name);
			lst = pb_conf_hostports(p->conf, key, &nl);
			if (p->a.n_hosts > 0) {
				snprintf(t->host, sizeof(t->host), "%s", p->a.hosts[h].host);
				snprintf(t->port, sizeof(t->port), "%s", p->a.hosts[h].port);
			} else {
				t->local = true;
				snprintf(t->host, sizeof(t->host), "%s", reach_host(nl > 0 ? lst[0].host : NULL));
			}
			if (t->port[0] == '\0' && nl > 0)
				snprintf(t->port, sizeof(t->port), "%s", lst[0].port);
			snprintf(t->server, sizeof(t->server), strchr(t->host, ':') ? "[%s]:%s" : "%s:%s",
				 t->host, t->port);
			if (strcmp(t->port, "0") == 0 || t->port[0] == '\0') {
				fprintf(stderr, "pbctl: %s: %s listens on port 0 (any): give -h HOST:PORT\n",
					pb_conf_file(p->conf), t->name);
				return PB_ERR_CONF;
			}
			p->n++;
		}
	}
	return 0;
}

static bool open_target(struct pbctl *p, struct target *t)
{
	if (t->c != NULL)
		return true;
	t->c = pbctl_conn_open(p->tls, t->d, t->host, t->port, p->connect_ms, &t->why, t->err,
			       sizeof(t->err));
	return t->c != NULL;
}

static void close_target(struct target *t)
{
	pbctl_conn_free(t->c);
	t->c = NULL;
}

/* Send req (an argument-less request gets its empty payload here); NULL: t->why and t->err say why. */
static AdminReply *ask(struct pbctl *p, struct target *t, AdminRequest *req)
{
	static AdminEmpty empty = ADMIN_EMPTY__INIT;
	AdminReply *r;
	if (!open_target(p, t))
		return NULL;
	switch (req->type_case) {
	case ADMIN_REQUEST__TYPE_STATUS:
		req->status = &empty;
		break;
	case ADMIN_REQUEST__TYPE_SESSIONS:
		req->sessions = &empty;
		break;
	case ADMIN_REQUEST__TYPE_RELOAD:
		req->reload = &empty;
		break;
	case ADMIN_REQUEST__TYPE_ENABLE:
		req->enable = &empty;
		break;
	case ADMIN_REQUEST__TYPE_DISABLE:
		req->disable = &empty;
		break;
	default:
		break;
	}
	r = pbctl_conn_request(t->c, req, p->request_ms, &t->why, t->err, sizeof(t->err));
	if (r == NULL)
		close_target(t);
	return r;
}

static AdminReply *ask_simple(struct pbctl *p, struct target *t, AdminRequest__TypeCase tc)
{
	AdminRequest req = ADMIN_REQUEST__INIT;
	req.type_case = tc;
	return ask(p, t, &req);
}

/* An AdminError reply: print it and say so. */
static bool reply_failed(const struct target *t, const AdminReply *r)
{
	if (r->type_case != ADMIN_REPLY__TYPE_ERROR)
		return false;
	if (r->error->code == PB_ERR_DENIED)
		errorx(t, "refused: %s (is this certificate's identity in admins?)", r->error->message);
	else
		errorx(t, "%s", r->error->message);
	return true;
}

/*
 * ask, and print what went wrong: a failed connection or request, or an
 * AdminError. Returns the (non-error) reply, or NULL with *rc set to
 * PBCTL_EXIT_FAIL.
 */
static AdminReply *ask_ok(struct pbctl *p, struct target *t, AdminRequest *req, int *rc)
{
	AdminReply *r = ask(p, t, req);
	if (r == NULL)
		errorx(t, "%s", t->err);
	else if (reply_failed(t, r)) {
		admin_reply__free_unpacked(r, NULL);
		r = NULL;
	}
	if (r == NULL)
		*rc = PBCTL_EXIT_FAIL;
	return r;
}

/* ---- local host: processes, pidfiles, systemd ---- */

static bool pid_alive(pid_t pid)
{
	char path[64], buf[256];
	FILE *f;
	if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM))
		return false;
	/* A zombie (a daemon its starter has not reaped yet) has exited. */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return true;
	bool alive = true;
	if (fgets(buf, sizeof(buf), f) != NULL) {
		const char *rp = strrchr(buf, ')');
		if (rp != NULL && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'))
			alive = false;
	}
	fclose(f);
	return alive;
}

static bool wait_pid_gone(pid_t pid, int ms)
{
	for (int waited = 0; pid_alive(pid); waited += 50) {
		if (waited >= ms)
			return false;
		usleep(50 * 1000);
	}
	return true;
}

/* The pid in the daemon's pidfile, only while the daemon holds its lock (lib/daemon.c flocks it). */
static pid_t pidfile_pid(const struct pbctl *p, const struct target *t)
{
	char key[32], buf[32];
	const char *path;
	pid_t pid = 0;
	ssize_t n;
	int fd;

	snprintf(key, sizeof(key), "%s.pidfile", t->name);
	path = pb_conf_str(p->conf, key);
	if (path == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		/* Nobody holds it: a stale file from a crash, its pid may be anyone's now. */
		close(fd);
		return 0;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		pid = (pid_t)strtol(buf, NULL, 10);
	}
	return pid > 1 ? pid : 0;
}

/* Run argv (argv[0] an absolute path) and wait; quiet sends its output to /dev/null. Returns its exit status or -1. */
static int run(char *const argv[], bool quiet)
{
	int st;
	pid_t pid;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (quiet) {
			int fd = open("/dev/null", O_RDWR);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
		}
		execv(argv[0], argv);
		fprintf(stderr, "pbctl: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* systemctl, when systemd is the running service manager (as sd_booted decides). */
static const char *systemctl(void)
{
	static const char *const paths[] = {"/usr/bin/systemctl", "/bin/systemctl"};
	struct stat st;
	if (stat("/run/systemd/system", &st) < 0 || !S_ISDIR(st.st_mode))
		return NULL;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

static void unit_name(const struct target *t, char *buf, size_t len)
{
	snprintf(buf, len, "pbsh-%s.service", t->name);
}

/* systemctl VERB UNIT, quiet; -1 when systemd does not run here. */
static int unit_run(const struct target *t, const char *verb, bool quiet)
{
	const char *sc = systemctl();
	char unit[64];
	if (sc == NULL)
		return -1;
	unit_name(t, unit, sizeof(unit));
	char *argv[] = {(char *)sc, (char *)"--quiet", (char *)verb, unit, NULL};
	return run(argv, quiet);
}

/* ---- status ---- */

static const char *state_of(const struct target *t, const AdminReply *r)
{
	if (r == NULL)
		return t->why == PBCTL_F_NOTRUNNING ? "NOTRUNNING" : "FAILED";
	if (r->type_case != ADMIN_REPLY__TYPE_STATUS)
		return "FAILED";
	return pb_admin_state_name(r->status->state);
}

static void print_status_long(const struct target *t, const AdminReply *r, const char *state)
{
	char b1[64];
	printf("server: %s\ndaemon: %s\nstate: %s\n", t->server, t->name, state);
	if (r == NULL || r->type_case != ADMIN_REPLY__TYPE_STATUS) {
		printf("error: %s\n\n", r != NULL && r->type_case == ADMIN_REPLY__TYPE_ERROR ? r->error->message : t->err);
		return;
	}
	const AdminStatus *st = r->status;
	printf("program: %s\nversion: %s\npid: %" PRId64 "\nstarted: %s\n", st->program, st->version,
	       st->pid, utc(st->start_time, b1, sizeof(b1)));
	printf("uptime: %" PRIu64 "\nconfig: %s\ndebug: %s\nconnections: %" PRIu64 "\nsessions: %" PRIu64 "\n",
	       st->uptime_s, st->config_path, st->debug, st->connections, st->sessions);
	for (size_t i = 0; i < st->n_counters; i++)
		printf("counter.%s: %" PRIu64 "\n", st->counters[i]->name, st->counters[i]->value);
	for (size_t i = 0; i < st->n_info; i++)
		printf("info.%s: %s\n", st->info[i]->name, st->info[i]->value);
	putchar('\n');
}

static int cmd_status(struct pbctl *p)
{
	bool failed = false, notrunning = false;
	for (size_t i = 0; i < p->n; i++) {
		struct target *t = &p->t[i];
		AdminReply *r = ask_simple(p, t, ADMIN_REQUEST__TYPE_STATUS);
		const char *state = state_of(t, r);
		/* Nothing answers, but systemd says the unit failed: that is FAILED, as sac shows it. */
		if (r == NULL && t->why == PBCTL_F_NOTRUNNING && t->local && unit_run(t, "is-failed", true) == 0) {
			state = "FAILED";
			snprintf(t->err, sizeof(t->err), "the systemd unit failed (systemctl status pbsh-%s)", t->name);
		}
		if (strcmp(state, "NOTRUNNING") == 0)
			notrunning = true;
		else if (strcmp(state, "FAILED") == 0)
			failed = true;
		if (p->a.lng) {
			print_status_long(t, r, state);
		} else {
			printf("%s %s %s ", t->server, t->name, state);
			if (r != NULL && r->type_case == ADMIN_REPLY__TYPE_STATUS)
				printf("%" PRId64 "\n", r->status->pid);
			else
				printf("-\n");
		}
		if (strcmp(state, "FAILED") == 0 && !p->a.lng) {
			if (r == NULL || !reply_failed(t, r))
				errorx(t, "%s", t->err);
		}
		if (r != NULL)
			admin_reply__free_unpacked(r, NULL);
	}
	return failed ? PBCTL_EXIT_FAIL : notrunning ? PBCTL_EXIT_NOTRUNNING : PBCTL_EXIT_OK;
}

/* ---- sessions ---- */

static const char *extra(const AdminSession *s, const char *name)
{
	for (size_t i = 0; i < s->n_extra; i++)
		if (strcmp(s->extra[i]->name, name) == 0)
			return s->extra[i]->value;
	return "";
}

static void print_session(const struct target *t, const AdminSession *s, bool lng, const char *indent)
{
	char b[5][256];
	char pid[32];
	snprintf(pid, sizeof(pid), "%" PRId64, s->pid);
	if (!lng) {
		printf("%s%s %s %" PRIu64 " %s %s %s\n", indent, t->server, t->name, s->id,
		       col(s->host, b[0], sizeof(b[0])), col(s->user, b[1], sizeof(b[1])),
		       s->pid > 0 ? pid : "-");
		return;
	}
	printf("%sserver=%s daemon=%s id=%" PRIu64 " host=%s user=%s pid=%s", indent, t->server, t->name,
	       s->id, col(s->host, b[0], sizeof(b[0])), col(s->user, b[1], sizeof(b[1])),
	       s->pid > 0 ? pid : "-");
	if (s->ppid > 0)
		printf(" ppid=%" PRId64, s->ppid);
	else
		printf(" ppid=-");
	if (s->uid >= 0 && t->d == PBCTL_D_POLICYD)
		printf(" uid=%" PRId64, s->uid);
	else
		printf(" uid=-");
	printf(" tty=%s age=%s program=%s requests=%" PRIu64 " address=%s", col(s->tty, b[2], sizeof(b[2])),
	       s->start_time > 0 ? etime((int64_t)time(NULL) - s->start_time, b[3], sizeof(b[3])) : "-",
	       col(s->shell[0] ? s->shell : extra(s, "command"), b[4], sizeof(b[4])), s->requests,
	       col(s->address, b[0], sizeof(b[0])));
	for (size_t i = 0; i < s->n_extra; i++)
		printf(" %s=%s", s->extra[i]->name, col(s->extra[i]->value, b[1], sizeof(b[1])));
	putchar('\n');
}

static int cmd_sessions(struct pbctl *p)
{
	int rc = PBCTL_EXIT_OK;
	for (size_t i = 0; i < p->n; i++) {
		struct target *t = &p->t[i];
		AdminRequest req = ADMIN_REQUEST__INIT;
		AdminReply *r;
		req.type_case = ADMIN_REQUEST__TYPE_SESSIONS;
		if ((r = ask_ok(p, &p->t[i], &req, &rc)) == NULL)
			continue;
		if (r->type_case == ADMIN_REPLY__TYPE_SESSIONS)
			for (size_t j = 0; j < r->sessions->n_session; j++)
				print_session(t, r->sessions->session[j], p->a.lng, "");
		admin_reply__free_unpacked(r, NULL);
	}
	return rc;
}

/* ---- reload, enable, disable, trace, kill-session ---- */

static int cmd_simple(struct pbctl *p)
{
	int rc = PBCTL_EXIT_OK;
	for (size_t i = 0; i < p->n; i++) {
		struct target *t = &p->t[i];
		AdminRequest req = ADMIN_REQUEST__INIT;
		AdminTrace tr = ADMIN_TRACE__INIT;
		AdminKillSession ks = ADMIN_KILL_SESSION__INIT;
		AdminReply *r;

		switch (p->a.cmd) {
		case PBCTL_RELOAD:
			req.type_case = ADMIN_REQUEST__TYPE_RELOAD;
			break;
		case PBCTL_ENABLE:
			req.type_case = ADMIN_REQUEST__TYPE_ENABLE;
			break;
		case PBCTL_DISABLE:
			req.type_case = ADMIN_REQUEST__TYPE_DISABLE;
			break;
		case PBCTL_TRACE:
			req.type_case = ADMIN_REQUEST__TYPE_TRACE;
			tr.spec = (char *)p->a.spec;
			req.trace = &tr;
			break;
		default:
			req.type_case = ADMIN_REQUEST__TYPE_KILL_SESSION;
			ks.id = p->a.session_id;
			ks.reason = (char *)(p->a.reason != NULL ? p->a.reason : "");
			req.kill_session = &ks;
			break;
		}
		if ((r = ask_ok(p, t, &req, &rc)) == NULL)
			continue;
		if (r->type_case == ADMIN_REPLY__TYPE_DONE)
			printf("%s %s: %s%s\n", t->server, t->name, p->a.cmd == PBCTL_TRACE ? "trace " : "",
			       r->done->message);
		admin_reply__free_unpacked(r, NULL);
	}
	return rc;
}

/* ---- start ---- */

static int cmd_start(struct pbctl *p)
{
	int rc = PBCTL_EXIT_OK;
	for (size_t i = 0; i < p->n; i++) {
		struct target *t = &p->t[i];
		AdminReply *r = ask_simple(p, t, ADMIN_REQUEST__TYPE_STATUS);
		char path[4096];
		int st;

		if (r != NULL && r->type_case == ADMIN_REPLY__TYPE_STATUS) {
			printf("%s %s: already running (pid %" PRId64 ")\n", t->server, t->name, r->status->pid);
			admin_reply__free_unpacked(r, NULL);
			continue;
		}
		if (r != NULL)
			admin_reply__free_unpacked(r, NULL);
		close_target(t);
		if (unit_run(t, "cat", true) == 0) {
			/* The unit is installed and systemd runs: it owns the daemon (restarts, logs). */
			st = unit_run(t, "start", false);
			printf("%s %s: systemctl start pbsh-%s.service: %s\n", t->server, t->name, t->name,
			       st == 0 ? "done" : "failed");
		} else {
			snprintf(path, sizeof(path), "%s/%s", p->a.sbindir != NULL ? p->a.sbindir : PBCTL_SBINDIR,
				 t->name);
			char *argv[] = {path, (char *)"-f", (char *)pb_conf_file(p->conf), NULL};
			/* The daemon detaches and its parent exits only once it serves (lib/daemon.h). */
			st = run(argv, false);
			printf("%s %s: %s: %s\n", t->server, t->name, path,
			       st == 0 ? "started" : "failed");
		}
		if (st != 0) {
			errorx(t, "did not start (exit status %d)", st);
			rc = PBCTL_EXIT_FAIL;
			continue;
		}
		r = ask_simple(p, t, ADMIN_REQUEST__TYPE_STATUS);
		if (r != NULL && r->type_case == ADMIN_REPLY__TYPE_STATUS) {
			printf("%s %s %s %" PRId64 "\n", t->server, t->name, pb_admin_state_name(r->status->state),
			       r->status->pid);
		} else {
			errorx(t, "started, but status does not answer: %s",
			       r != NULL && r->type_case == ADMIN_REPLY__TYPE_ERROR ? r->error->message : t->err);
			rc = PBCTL_EXIT_FAIL;
		}
		if (r != NULL)
			admin_reply__free_unpacked(r, NULL);
	}
	return rc;
}

/* ---- stop ---- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The sessions of t now, or (size_t)-1 when it no longer answers; printed when print. */
static size_t list_sessions(struct pbctl *p, struct target *t, bool print)
{
	AdminReply *r = ask_simple(p, t, ADMIN_REQUEST__TYPE_SESSIONS);
	size_t n;
	if (r == NULL)
		return (size_t)-1;
	if (r->type_case != ADMIN_REPLY__TYPE_SESSIONS) {
		admin_reply__free_unpacked(r, NULL);
		return 0;
	}
	n = r->sessions->n_session;
	if (print)
		for (size_t j = 0; j < n; j++)
			print_session(t, r->sessions->session[j], false, "  ");
	admin_reply__free_unpacked(r, NULL);
	return n;
}

/* Begin the stop of one target; false when it failed (printed). Not running counts as stopped. */
static bool stop_begin(struct pbctl *p, struct target *t, unsigned tmo)
{
	AdminRequest req = ADMIN_REQUEST__INIT;
	AdminStop stop = ADMIN_STOP__INIT;
	AdminReply *r = ask_simple(p, t, ADMIN_REQUEST__TYPE_STATUS);

	if (r == NULL) {
		if (t->why == PBCTL_F_NOTRUNNING) {
			printf("%s %s: not running\n", t->server, t->name);
			t->done = true;
			return true;
		}
		errorx(t, "%s", t->err);
		return false;
	}
	if (reply_failed(t, r)) {
		admin_reply__free_unpacked(r, NULL);
		return false;
	}
	if (r->type_case == ADMIN_REPLY__TYPE_STATUS)
		t->pid = r->status->pid;
	admin_reply__free_unpacked(r, NULL);
	if (!p->a.force) {
		/* Say who is still relying on the daemon before it goes (secons -sc). */
		printf("%s %s: stopping; sessions still connected:\n", t->server, t->name);
		t->n_sessions = list_sessions(p, t, true);
		if (t->n_sessions == (size_t)-1) {
			errorx(t, "%s", t->err);
			return false;
		}
		printf("%s %s: %zu session(s); waiting at most %us for them to end\n", t->server, t->name,
		       t->n_sessions, tmo);
	}
	stop.force = p->a.force;
	stop.timeout_s = p->a.force ? 0 : tmo;
	stop.watch = !p->a.force;
	req.type_case = ADMIN_REQUEST__TYPE_STOP;
	req.stop = &stop;
	int rc = PBCTL_EXIT_OK;
	r = ask_ok(p, t, &req, &rc);
	if (r != NULL)
		admin_reply__free_unpacked(r, NULL);
	return r != NULL;
}

/* The daemon closed our connection: it has let its sessions go; a local one must also be gone. */
static bool stop_finish(struct target *t)
{
	t->done = true;
	close_target(t);
	if (t->local && t->pid > 0 && !wait_pid_gone((pid_t)t->pid, STOP_SLACK_MS)) {
		errorx(t, "closed its connections, but pid %" PRId64 " has not exited", t->pid);
		return false;
	}
	printf("%s %s: stopped\n", t->server, t->name);
	return true;
}

static int cmd_stop(struct pbctl *p)
{
	int rc = PBCTL_EXIT_OK;
	int64_t deadline = 0;
	size_t left = 0;

	for (size_t i = 0; i < p->n; i++) {
		struct target *t = &p->t[i];
		char key[32];
		unsigned tmo = p->a.timeout_s;
		if (!p->a.timeout_set) {
			/* The daemon's own default; a remote one is taken to share this pbsh.yaml. */
			snprintf(key, sizeof(key), "%s.stop_timeout", t->name);
			tmo = (unsigned)(pb_conf_ms(p->conf, key) / 1000);
		}
		if (!stop_begin(p, t, tmo)) {
			t->done = true;
			close_target(t);
			rc = PBCTL_EXIT_FAIL;
			continue;
		}
		if (t->done)
			continue;
		left++;
		int64_t dl = now_ms() + (p->a.force ? 0 : (int64_t)tmo * 1000) + STOP_SLACK_MS;
		if (dl > deadline)
			deadline = dl;
	}
	/* Follow every daemon at once: a stopping daemon answers `sessions` until its last one is gone. */
	while (left > 0 && now_ms() < deadline) {
		for (size_t i = 0; i < p->n; i++) {
			struct target *t = &p->t[i];
			if (t->done)
				continue;
			if (p->a.force) {
				if (!pbctl_conn_wait_close(t->c, (int)(deadline - now_ms())))
					continue;
			} else {
				/* Never reconnect here: a closed connection is the daemon letting us go. */
				size_t n = t->c != NULL ? list_sessions(p, t, false) : (size_t)-1;
				if (t->c == NULL && n == (size_t)-1 && t->why == PBCTL_F_NONE)
					t->why = PBCTL_F_CLOSED;
				if (n != (size_t)-1) {
					if (n != t->n_sessions) {
						printf("%s %s: %zu session(s) still connected\n", t->server, t->name, n);
						list_sessions(p, t, true);
						t->n_sessions = n;
					}
					continue;
				}
				if (t->why != PBCTL_F_CLOSED) {
					/* A timeout or a TLS failure is not the daemon letting us go. */
					errorx(t, "lost the daemon while it was stopping: %s", t->err);
					t->done = true;
					left--;
					rc = PBCTL_EXIT_FAIL;
					continue;
				}
			}
			left--;
			if (!stop_finish(t))
				rc = PBCTL_EXIT_FAIL;
		}
		if (left > 0)
			usleep(STOP_POLL_MS * 1000);
	}
	for (size_t i = 0; i < p->n; i++) {
		struct target *t = &p->t[i];
		if (t->done)
			continue;
		errorx(t, "still running after the stop timeout (pbctl stop -f or --cancel ends it)");
		close_target(t);
		rc = PBCTL_EXIT_FAIL;
	}
	return rc;
}

static int cmd_cancel(struct pbctl *p)
{
	int rc = PBCTL_EXIT_OK;
	unsigned grace = p->a.timeout_set ? p->a.timeout_s : CANCEL_GRACE_S;
	for (size_t i = 0; i < p->n; i++) {
		struct target *t = &p->t[i];
		AdminReply *r = ask_simple(p, t, ADMIN_REQUEST__TYPE_STATUS);
		pid_t pid = 0;
		/* The daemon's own word first; when it cannot answer, the pidfile it holds locked. */
		if (r != NULL && r->type_case == ADMIN_REPLY__TYPE_STATUS)
			pid = (pid_t)r->status->pid;
		if (r != NULL)
			admin_reply__free_unpacked(r, NULL);
		close_target(t);
		if (pid <= 0)
			pid = pidfile_pid(p, t);
		if (pid <= 0 || !pid_alive(pid)) {
			printf("%s %s: not running\n", t->server, t->name);
			continue;
		}
		if (kill(pid, SIGTERM) < 0) {
			errorx(t, "kill -TERM %d: %s", (int)pid, strerror(errno));
			rc = PBCTL_EXIT_FAIL;
			continue;
		}
		printf("%s %s: sent TERM to pid %d\n", t->server, t->name, (int)pid);
		if (wait_pid_gone(pid, (int)grace * 1000)) {
			printf("%s %s: stopped\n", t->server, t->name);
			continue;
		}
		if (kill(pid, SIGKILL) < 0 && errno != ESRCH) {
			errorx(t, "kill -KILL %d: %s", (int)pid, strerror(errno));
			rc = PBCTL_EXIT_FAIL;
			continue;
		}
		printf("%s %s: still running after %us: sent KILL to pid %d\n", t->server, t->name, grace, (int)pid);
		if (!wait_pid_gone(pid, STOP_SLACK_MS)) {
			errorx(t, "pid %d survives KILL", (int)pid);
			rc = PBCTL_EXIT_FAIL;
		} else {
			printf("%s %s: killed\n", t->server, t->name);
		}
	}
	return rc;
}

/* ---- forward ---- */

/*
 * forward: the monitor's forwarder (monitor/spool.c), run on demand or by
 * pbsh-forward.timer. A journal in use (its session still running, or
 * another forwarder busy with it) waits for the next run: that is not a
 * failure.
 */
static int cmd_forward(struct pbctl *p)
{
	unsigned sent = 0, pending = 0;
	char err[512] = "";
	int rc = pb_spool_forward(p->conf, &sent, &pending, err, sizeof(err));

	if (rc == 0 || rc == PB_ERR_AGAIN) {
		printf("forward: %u journal%s sent", sent, sent == 1 ? "" : "s");
		if (pending > 0)
			printf(", %u in use (left for the next run)", pending);
		printf("\n");
		return PBCTL_EXIT_OK;
	}
	fprintf(stderr, "pbctl: forward: %s\n", err[0] != '\0' ? err : pb_strerror(rc));
	if (sent > 0 || pending > 0)
		fprintf(stderr, "pbctl: forward: %u journal%s sent before that, %u in use\n", sent,
			sent == 1 ? "" : "s", pending);
	return PBCTL_EXIT_FAIL;
}

/* ---- main ---- */

static int setup(struct pbctl *p)
{
	struct pb_conf_err cerr;
	struct pb_tls_conf tc;
	const char *errstr = NULL;
	int rc;

	if (p->a.config != NULL && !pb_conf_path_allowed(p->a.config, &errstr)) {
		fprintf(stderr, "pbctl: -f %s: %s\n", p->a.config, errstr);
		return -1;
	}
	/* Where start finds daemons to run is as sensitive as the settings file. */
	if (p->a.sbindir != NULL && !pb_conf_path_allowed(p->a.sbindir, &errstr)) {
		fprintf(stderr, "pbctl: --sbindir %s: %s\n", p->a.sbindir, errstr);
		return -1;
	}
	rc = pb_conf_load(p->a.config, &p->conf, &cerr);
	if (rc < 0) {
		fprintf(stderr, "pbctl: %s\n", cerr.msg);
		return -1;
	}
	memset(&tc, 0, sizeof(tc));
	tc.ca = pb_conf_str(p->conf, "tls.ca");
	tc.cert = pb_conf_str(p->conf, "tls.cert");
	tc.key = pb_conf_str(p->conf, "tls.key");
	tc.plain = pb_conf_bool(p->conf, "tls.plaintext_for_tests");
	if (!tc.plain && (tc.ca == NULL || tc.cert == NULL || tc.key == NULL)) {
		fprintf(stderr, "pbctl: %s: tls.ca, tls.cert and tls.key are needed: the daemons take admin requests only over mutual TLS\n",
			pb_conf_file(p->conf));
		return -1;
	}
	p->tls = pb_tls_ctx_new(PB_TLS_CLIENT, &tc, &errstr);
	if (p->tls == NULL) {
		fprintf(stderr, "pbctl: %s\n", errstr);
		return -1;
	}
	p->connect_ms = (int)pb_conf_ms(p->conf, "timeouts.connect");
	p->request_ms = (int)pb_conf_ms(p->conf, "timeouts.request");
	return build_targets(p) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct pbctl p;
	char err[512];
	int rc;

	memset(&p, 0, sizeof(p));
	signal(SIGPIPE, SIG_IGN);
	if (pbctl_parse_args(argc, argv, &p.a, err, sizeof(err)) < 0) {
		fprintf(stderr, "pbctl: %s\n%s", err, pbctl_usage());
		pbctl_args_free(&p.a);
		return PBCTL_EXIT_USAGE;
	}
	if (p.a.help) {
		fputs(pbctl_usage(), stdout);
		pbctl_args_free(&p.a);
		return PBCTL_EXIT_OK;
	}
	if (setup(&p) < 0) {
		rc = PBCTL_EXIT_USAGE;
		goto done;
	}
	switch (p.a.cmd) {
	case PBCTL_STATUS:
		rc = cmd_status(&p);
		break;
	case PBCTL_START:
		rc = cmd_start(&p);
		break;
	case PBCTL_STOP:
		rc = p.a.cancel ? cmd_cancel(&p) : cmd_stop(&p);
		break;
	case PBCTL_SESSIONS:
		rc = cmd_sessions(&p);
		break;
	case PBCTL_FORWARD:
		rc = cmd_forward(&p);
		break;
	default:
		rc = cmd_simple(&p);
		break;
	}
done:
	for (size_t i = 0; i < p.n; i++)
		close_target(&p.t[i]);
	free(p.t);
	pb_tls_ctx_free(p.tls);
	pb_conf_free(p.conf);
	pbctl_args_free(&p.a);
	fflush(stdout);
	return rc;
}
