/* SPDX-License-Identifier: ISC */
/* What policyd's and logd's main share: pidfile, detaching, privilege drop, logging, readiness. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "debug.h"
#include "err.h"
#include "server.h"
#include "tls.h"

/* One daemon per process: the state of this module is the process's. */
static char *pid_path;
static int pid_fd = -1;
static int ready_fd = -1;	/* detached child: tells the waiting parent we serve */
static bool detached;
static char errbuf[512];

static const char *seterr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *seterr(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return errbuf;
}

static void put_err(const char **errstr, const char *s)
{
	if (errstr != NULL)
		*errstr = s;
}

int pb_daemon_log_setup(const char *ident, const char *dest, bool foreground,
			const char **errstr)
{
	enum pb_log_dest d;
	const char *path = NULL;

	if (dest == NULL || *dest == '\0')
		d = foreground ? PB_LOG_STDERR : PB_LOG_SYSLOG;
	else if (strcmp(dest, "stderr") == 0)
		d = PB_LOG_STDERR;
	else if (strcmp(dest, "syslog") == 0)
		d = PB_LOG_SYSLOG;
	else if (dest[0] == '/') {
		d = PB_LOG_FILE;
		path = dest;
	} else {
		put_err(errstr, seterr("log destination \"%s\": want syslog, stderr or an "
				       "absolute file path", dest));
		return PB_ERR_INVAL;
	}
	if (pb_log_open(ident, d, path) < 0) {
		put_err(errstr, seterr("log %s: %s", dest, strerror(errno)));
		return PB_ERR_IO;
	}
	return 0;
}

/* The pid written in a pidfile, or 0. */
static long read_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

int pb_daemon_pidfile_lock(const char *path, const char **errstr)
{
	int fd;

	if (path == NULL || *path == '\0')
		return 0;
	if (pid_fd >= 0) {
		put_err(errstr, seterr("pidfile %s: this process already holds %s", path, pid_path));
		return PB_ERR_EXISTS;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		put_err(errstr, seterr("pidfile %s: %s", path, strerror(errno)));
		return PB_ERR_IO;
	}
	/*
	 * flock belongs to the open file description, so it survives the fork
	 * in pb_daemon_detach and goes away only when the daemon dies: a
	 * stale file left by a crash is simply locked again.
	 */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		long pid = read_pid(fd);

		close(fd);
		if (e == EWOULDBLOCK) {
			if (pid > 0)
				put_err(errstr, seterr("pidfile %s: another instance is running "
						       "(pid %ld)", path, pid));
			else
				put_err(errstr, seterr("pidfile %s: another instance is running",
						       path));
			return PB_ERR_EXISTS;
		}
		put_err(errstr, seterr("pidfile %s: lock: %s", path, strerror(e)));
		return PB_ERR_IO;
	}
	pid_path = strdup(path);
	if (pid_path == NULL) {
		close(fd);
		put_err(errstr, seterr("pidfile %s: out of memory", path));
		return PB_ERR_NOMEM;
	}
	pid_fd = fd;
	return 0;
}

int pb_daemon_pidfile_write(void)
{
	char buf[32];
	int n;

	if (pid_fd < 0)
		return 0;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(pid_fd, 0) < 0 || pwrite(pid_fd, buf, (size_t)n, 0) != n) {
		pb_log(PB_LV_ERROR, "pidfile %s: %s", pid_path, strerror(errno));
		return PB_ERR_IO;
	}
	return 0;
}

static int devnull_to(int target, int flags)
{
	int fd = open("/dev/null", flags | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fd != target) {
		if (dup2(fd, target) < 0) {
			close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

int pb_daemon_detach(void)
{
	int p[2];
	pid_t pid;
	char c;

	fflush(NULL);
	if (pipe2(p, O_CLOEXEC) < 0)
		return PB_ERR_IO;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return PB_ERR_IO;
	}
	if (pid > 0) {
		ssize_t r;
		int status;

		/* Wait for readiness, so the caller sees a serving daemon or a failure. */
		close(p[1]);
		do
			r = read(p[0], &c, 1);
		while (r < 0 && errno == EINTR);
		if (r == 1)
			_exit(0);
		/* The child closed the pipe without saying ready: it failed (its log says why). */
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) != 0)
			_exit(WEXITSTATUS(status));
		_exit(1);
	}
	close(p[0]);
	ready_fd = p[1];
	detached = true;
	setsid();
	if (chdir("/") < 0)
		pb_log(PB_LV_WARN, "chdir /: %s", strerror(errno));
	/*
	 * stdin and stdout go now; stderr stays until pb_daemon_ready so
	 * that start-up errors (a port in use, a bad key) still reach the
	 * terminal of whoever started us.
	 */
	if (devnull_to(0, O_RDONLY) < 0 || devnull_to(1, O_WRONLY) < 0)
		pb_log(PB_LV_WARN, "/dev/null: %s", strerror(errno));
	return 0;
}

int pb_daemon_drop_privs(const char *user, const char *group, const char **errstr)
{
	struct passwd *pw;
	struct group *gr;
	uid_t uid, ru, eu, su;
	gid_t gid, rg, eg, sg;

	if (user == NULL || *user == '\0' || geteuid() != 0)
		return 0;
	errno = 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		put_err(errstr, seterr("user %s: %s", user, errno ? strerror(errno) : "no such user"));
		return errno ? PB_ERR_IO : PB_ERR_NOTFOUND;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (group != NULL && *group != '\0') {
		errno = 0;
		gr = getgrnam(group);
		if (gr == NULL) {
			put_err(errstr, seterr("group %s: %s", group,
					       errno ? strerror(errno) : "no such group"));
			return errno ? PB_ERR_IO : PB_ERR_NOTFOUND;
		}
		gid = gr->gr_gid;
	}
	/* Groups first: once the uid is gone, the groups can no longer be changed. */
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		put_err(errstr, seterr("switching to %s: %s", user, strerror(errno)));
		return PB_ERR_IO;
	}
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != uid ||
	    eu != uid || su != uid || rg != gid || eg != gid || sg != gid ||
	    (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))) {
		put_err(errstr, seterr("switching to %s: root privileges were not given up", user));
		return PB_ERR_IO;
	}
	pb_log(PB_LV_INFO, "running as %s (uid %ld, gid %ld)", user, (long)uid, (long)gid);
	return 0;
}

int pb_daemon_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t len;
	size_t pl;
	int fd, rc = 0;

	if (path == NULL || *path == '\0')
		return 0;
	pl = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || pl >= sizeof(sa.sun_path)) {
		pb_log(PB_LV_WARN, "NOTIFY_SOCKET %s: not a socket path", path);
		return PB_ERR_INVAL;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, pl);
	if (path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace: no trailing NUL counted */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + pl + (path[0] == '@' ? 0 : 1));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return PB_ERR_IO;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0) {
		pb_log(PB_LV_WARN, "NOTIFY_SOCKET %s: %s", path, strerror(errno));
		rc = PB_ERR_IO;
	}
	close(fd);
	return rc;
}

int pb_daemon_ready(void)
{
	int rc = pb_daemon_pidfile_write();

	if (ready_fd >= 0) {
		char c = 'R';

		if (write(ready_fd, &c, 1) != 1)
			rc = PB_ERR_IO;
		close(ready_fd);
		ready_fd = -1;
	}
	if (detached && devnull_to(2, O_WRONLY) < 0)
		rc = PB_ERR_IO;
	if (pb_daemon_notify("READY=1") < 0)
		rc = PB_ERR_IO;
	return rc;
}

void pb_daemon_stopping(void)
{
	pb_daemon_notify("STOPPING=1");
}

void pb_daemon_cleanup(void)
{
	if (pid_fd < 0)
		return;
	if (unlink(pid_path) < 0 && errno != ENOENT)
		pb_log(PB_LV_INFO, "pidfile %s stays (%s); its lock is released", pid_path,
		       strerror(errno));
	close(pid_fd);
	pid_fd = -1;
	free(pid_path);
	pid_path = NULL;
}

long pb_daemon_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return PB_ERR_IO;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t want = rl.rlim_max == RLIM_INFINITY ? 1048576 : rl.rlim_max;

		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return PB_ERR_IO;
	}
	return (long)rl.rlim_cur;
}

static int write_port_file(const char *path, int port)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return PB_ERR_INVAL;
	f = fopen(tmp, "w");
	if (f == NULL)
		return PB_ERR_IO;
	fprintf(f, "%d\n", port);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return PB_ERR_IO;
	return 0;
}

int pb_daemon_listen(struct pb_server *srv, const struct pb_hostport *listen, size_t n,
		     const char *portfile)
{
	const char *errstr = NULL;

	for (size_t i = 0; i < n; i++) {
		int rc = pb_server_listen(srv, listen[i].text, &errstr);
		if (rc < 0) {
			pb_log(PB_LV_ERROR, "listen %s: %s", listen[i].text, errstr);
			return rc;
		}
	}
	if (portfile != NULL && write_port_file(portfile, pb_server_port(srv, 0)) < 0) {
		pb_log_warn("port file %s", portfile);
		return PB_ERR_IO;
	}
	return 0;
}

static int clamp_ms(int64_t ms)
{
	return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

int pb_daemon_settings_read(const struct pb_conf *c, const char *section,
			    struct pb_daemon_settings *ds, struct pb_conf_err *err)
{
	char k[64];
#define KEY(name) (snprintf(k, sizeof(k), "%s." name, section), k)

	memset(ds, 0, sizeof(*ds));
	ds->listen = pb_conf_hostports(c, KEY("listen"), &ds->n_listen);
	ds->pidfile = pb_conf_str(c, KEY("pidfile"));
	ds->user = pb_conf_str(c, KEY("user"));
	ds->group = pb_conf_str(c, KEY("group"));
	ds->log = pb_conf_str(c, KEY("log"));
	ds->debug = pb_conf_str(c, KEY("debug"));
	ds->plain = pb_conf_bool(c, "tls.plaintext_for_tests");
	ds->ca = pb_conf_str(c, "tls.ca");
	ds->cert = pb_conf_str(c, "tls.cert");
	ds->key = pb_conf_str(c, "tls.key");
	ds->admins = (char *const *)pb_conf_list(c, "admins", &ds->n_admins);
	ds->limits.max_frame = (uint32_t)pb_conf_size(c, "max_frame");
	ds->limits.max_conns = (unsigned)pb_conf_int(c, KEY("max_connections"));
	ds->limits.max_conns_per_peer = (unsigned)pb_conf_int(c, KEY("max_connections_per_peer"));
	ds->limits.handshake_ms = clamp_ms(pb_conf_ms(c, KEY("handshake_timeout")));
	ds->limits.frame_ms = clamp_ms(pb_conf_ms(c, KEY("frame_timeout")));
	ds->limits.idle_ms = clamp_ms(pb_conf_ms(c, KEY("idle_timeout")));
	if (ds->limits.idle_ms == 0)
		ds->limits.idle_ms = -1; /* 0 in the file disables the idle timeout */
	ds->limits.drain_ms = clamp_ms(pb_conf_ms(c, KEY("stop_timeout")));
#undef KEY
	if (ds->n_listen == 0)
		return pb_yaml_errf(err, NULL, "%s: %s.listen: no listen address configured",
				    pb_conf_file(c), section);
	if (!ds->plain && (ds->ca == NULL || ds->cert == NULL || ds->key == NULL))
		return pb_yaml_errf(err, NULL, "%s: tls: ca, cert and key are required by %s",
				    pb_conf_file(c), section);
	return 0;
}

struct pb_tls_ctx *pb_daemon_tls_new(const struct pb_daemon_settings *ds, const char *sid,
				     const char **errstr)
{
	struct pb_tls_conf tc;

	memset(&tc, 0, sizeof(tc));
	tc.ca = ds->ca;
	tc.cert = ds->cert;
	tc.key = ds->key;
	tc.sid_ctx = sid;
	tc.plain = ds->plain;
	return pb_tls_ctx_new(PB_TLS_SERVER, &tc, errstr);
}
