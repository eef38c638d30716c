/* SPDX-License-Identifier: ISC */
/* Tests of lib/daemon: pidfile locking, detaching with readiness, privilege drop, notify socket, log set-up. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "debug.h"
#include "err.h"
#include "tlstest.h"

static char tmp[256];

static void setup(void)
{
	snprintf(tmp, sizeof(tmp), "%s/pbsh-daemon-XXXXXX",
		 getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	cr_assert_not_null(mkdtemp(tmp));
}

static void teardown(void)
{
	char cmd[300];

	pb_daemon_cleanup();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmp);
}

TestSuite(daemon, .init = setup, .fini = teardown, .timeout = 20);

static char *path(const char *name)
{
	static char b[4][320];
	static unsigned n;
	char *p = b[n++ % 4];

	snprintf(p, 320, "%s/%s", tmp, name);
	return p;
}

static char *slurp(const char *file)
{
	static char buf[4096];
	int fd = open(file, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

Test(daemon, pidfile_refuses_second_instance)
{
	const char *pf = path("d.pid"), *err = NULL;
	int p[2], q[2];
	pid_t pid;
	char c, want[64];

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(pipe(q), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* The "running instance": lock, write, tell the test, wait to be told to go. */
		if (pb_daemon_pidfile_lock(pf, NULL) != 0 || pb_daemon_pidfile_write() != 0)
			_exit(1);
		if (write(p[1], "L", 1) != 1 || read(q[0], &c, 1) != 1)
			_exit(2);
		_exit(0); /* dies without cleanup: a stale file stays */
	}
	cr_assert_eq(read(p[0], &c, 1), 1);
	snprintf(want, sizeof(want), "%ld\n", (long)pid);
	cr_expect_str_eq(slurp(pf), want);
	cr_expect_eq(pb_daemon_pidfile_lock(pf, &err), PB_ERR_EXISTS);
	snprintf(want, sizeof(want), "pid %ld", (long)pid);
	cr_expect(err != NULL && strstr(err, want) != NULL, "%s", err);
	cr_assert_eq(write(q[1], "G", 1), 1);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	/* The file is still there, but nobody holds it: taken over. */
	cr_expect_not_null(slurp(pf));
	cr_assert_eq(pb_daemon_pidfile_lock(pf, &err), 0, "%s", err);
	cr_assert_eq(pb_daemon_pidfile_write(), 0);
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	cr_expect_str_eq(slurp(pf), want);
	pb_daemon_cleanup();
	cr_expect_eq(access(pf, F_OK), -1, "cleanup removes the pidfile");
	cr_expect_eq(pb_daemon_pidfile_lock(path("nodir/x.pid"), &err), PB_ERR_IO);
	cr_expect(strstr(err, "nodir/x.pid") != NULL, "%s", err);
	cr_expect_eq(pb_daemon_pidfile_lock(NULL, &err), 0, "no pidfile configured");
}

static int notify_listener(const char *name, bool abstract)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (abstract) {
		snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "%s", name);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	} else {
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", name);
		len = sizeof(sa);
	}
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, len), 0, "bind: %s", strerror(errno));
	return fd;
}

static void expect_msg(int fd, const char *want)
{
	char buf[256];
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	ssize_t n;

	cr_assert_eq(poll(&pfd, 1, 2000), 1, "no notification");
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_expect_str_eq(buf, want);
}

Test(daemon, notify_socket)
{
	char abs_name[64];
	int fd;

	unsetenv("NOTIFY_SOCKET");
	cr_expect_eq(pb_daemon_notify("READY=1"), 0, "no socket: nothing to do");

	fd = notify_listener(path("notify"), false);
	setenv("NOTIFY_SOCKET", path("notify"), 1);
	cr_expect_eq(pb_daemon_ready(), 0);
	expect_msg(fd, "READY=1");
	pb_daemon_stopping();
	expect_msg(fd, "STOPPING=1");
	close(fd);

	snprintf(abs_name, sizeof(abs_name), "pbsh-test-%ld", (long)getpid());
	fd = notify_listener(abs_name, true);
	snprintf(abs_name, sizeof(abs_name), "@pbsh-test-%ld", (long)getpid());
	setenv("NOTIFY_SOCKET", abs_name, 1);
	cr_expect_eq(pb_daemon_notify("STATUS=serving"), 0);
	expect_msg(fd, "STATUS=serving");
	close(fd);
	setenv("NOTIFY_SOCKET", "relative", 1);
	cr_expect_eq(pb_daemon_notify("READY=1"), PB_ERR_INVAL);
	unsetenv("NOTIFY_SOCKET");
}

/*
 * A little daemon: lock, detach, then either become ready (and record its
 * session and pid) or fail before that with status 7.
 */
static int run_daemon(bool fail)
{
	pid_t pid = fork();
	int status;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char line[64];
		int fd;

		if (pb_daemon_pidfile_lock(path("d.pid"), NULL) != 0)
			_exit(5);
		if (pb_daemon_detach() != 0)
			_exit(6);
		/* Only the detached child gets here. */
		if (fail)
			_exit(7);
		usleep(100000); /* the parent must wait for readiness, not for this child */
		if (pb_daemon_ready() != 0)
			_exit(8);
		snprintf(line, sizeof(line), "%ld %ld %ld\n", (long)getpid(), (long)getsid(0),
			 (long)(fcntl(0, F_GETFD) >= 0));
		fd = open(path("info.tmp"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write(fd, line, strlen(line)) < 0)
			_exit(9);
		close(fd);
		rename(path("info.tmp"), path("info"));
		/* Stay alive a moment holding the lock, then leave cleanly. */
		usleep(300000);
		pb_daemon_cleanup();
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

Test(daemon, detach_waits_for_ready)
{
	long long t0 = ms_now();
	long dpid = 0, dsid = 0, dummy;
	char *info = NULL;
	const char *err = NULL;
	int i;

	cr_expect_eq(run_daemon(false), 0, "the parent exits 0 once the daemon is ready");
	cr_expect_geq(ms_now() - t0, 90, "the parent returned before readiness");
	for (i = 0; i < 100 && (info = slurp(path("info"))) == NULL; i++)
		usleep(10000);
	cr_assert_not_null(info);
	cr_assert_eq(sscanf(info, "%ld %ld %ld", &dpid, &dsid, &dummy), 3);
	cr_expect_eq(dpid, dsid, "the daemon leads a session of its own");
	cr_expect_neq(dsid, (long)getsid(0));
	/* While it runs, its pidfile names it and a second start is refused. */
	{
		char want[32];

		snprintf(want, sizeof(want), "%ld\n", dpid);
		cr_expect_str_eq(slurp(path("d.pid")), want);
	}
	cr_expect_eq(pb_daemon_pidfile_lock(path("d.pid"), &err), PB_ERR_EXISTS);
	for (i = 0; i < 200 && kill((pid_t)dpid, 0) == 0; i++)
		usleep(10000);
	cr_expect_eq(access(path("d.pid"), F_OK), -1, "the daemon removed its pidfile");
}

Test(daemon, detach_reports_failure_before_ready)
{
	cr_expect_eq(run_daemon(true), 7, "the parent reports the daemon's failure");
}

Test(daemon, drop_privileges)
{
	const char *err = NULL;
	struct passwd *pw;
	pid_t pid;
	int status;

	cr_expect_eq(pb_daemon_drop_privs(NULL, NULL, &err), 0);
	if (geteuid() != 0) {
		cr_expect_eq(pb_daemon_drop_privs("nobody", NULL, &err), 0, "not root: nothing to do");
		cr_expect_eq(geteuid(), getuid());
		return;
	}
	cr_expect_eq(pb_daemon_drop_privs("no-such-user-pbsh", NULL, &err), PB_ERR_NOTFOUND);
	cr_expect(strstr(err, "no-such-user-pbsh") != NULL, "%s", err);
	cr_expect_eq(pb_daemon_drop_privs("nobody", "no-such-group-pbsh", &err), PB_ERR_NOTFOUND);
	cr_expect_eq(geteuid(), 0, "a failed lookup changes nothing");
	pw = getpwnam("nobody");
	cr_assert_not_null(pw);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		gid_t groups[8];

		if (pb_daemon_drop_privs("nobody", NULL, NULL) != 0)
			_exit(1);
		if (getuid() != pw->pw_uid || geteuid() != pw->pw_uid || getgid() != pw->pw_gid)
			_exit(2);
		if (setuid(0) == 0 || seteuid(0) == 0)
			_exit(3);
		if (getgroups(8, groups) != 1 || groups[0] != pw->pw_gid)
			_exit(4);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
}

Test(daemon, log_destinations)
{
	const char *err = NULL;
	char *log;

	cr_expect_eq(pb_daemon_log_setup("pbtest", "relative/path", false, &err), PB_ERR_INVAL);
	cr_expect(strstr(err, "relative/path") != NULL, "%s", err);
	cr_expect_eq(pb_daemon_log_setup("pbtest", path("nodir/log"), false, &err), PB_ERR_IO);
	cr_assert_eq(pb_daemon_log_setup("pbtest", path("log"), false, &err), 0, "%s", err);
	pb_log(PB_LV_WARN, "hello from the test %d", 42);
	pb_log_close();
	log = slurp(path("log"));
	cr_assert_not_null(log);
	cr_expect(strstr(log, "hello from the test 42") != NULL, "log: %s", log);
	cr_expect_eq(pb_daemon_log_setup("pbtest", "stderr", true, &err), 0);
	cr_expect_eq(pb_daemon_log_setup("pbtest", NULL, true, &err), 0);
}

Test(daemon, raise_nofile)
{
	long n = pb_daemon_raise_nofile();

	cr_expect_gt(n, 0);
}
