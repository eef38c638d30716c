/* SPDX-License-Identifier: ISC */
/* Unit tests of the setuid model (shell/priv.c): ids after a setuid start, run identities for programs, builtins and redirections. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eval.h"
#include "gate.h"
#include "priv.h"
#include "shell.h"
#include "trap.h"
#include "var.h"

/*
 * Two users the tests create when they run as root (CI does): the user who
 * starts the shell, and the one a decision's runuser names.
 */
#define USER_NAME "pbsh-priv-user"
#define RUN_NAME "pbsh-priv-run"

struct who {
	uid_t uid;
	gid_t gid;
};

static void need_root(void)
{
	if (getuid() != 0)
		cr_skip_test("not run as root: these tests create users and a setuid copy of pbsh (CI runs them as root)");
}

/* The user called name, created with useradd when missing. */
static struct who ensure_user(const char *name)
{
	struct passwd *pw = getpwnam(name);
	if (pw == NULL) {
		char cmd[256];
		snprintf(cmd, sizeof cmd, "useradd -M -d /nonexistent -s /usr/sbin/nologin %s >/dev/null 2>&1", name);
		int st = system(cmd);
		pw = getpwnam(name);
		cr_assert(pw != NULL, "useradd %s failed (status %d)", name, st);
	}
	return (struct who){pw->pw_uid, pw->pw_gid};
}

/* This test process becomes w as a setuid-root program started by w would be: real w, effective and saved root. */
static void become_setuid_start(struct who w)
{
	cr_assert(setgroups(1, &w.gid) == 0);
	cr_assert(setresgid(w.gid, w.gid, w.gid) == 0);
	cr_assert(setresuid(w.uid, 0, 0) == 0);
}

/* A directory everyone may create files in (sticky, like /tmp). */
static char *shared_dir(void)
{
	static char path[64];
	strcpy(path, "/tmp/pbsh-priv-XXXXXX");
	cr_assert(mkdtemp(path) != NULL);
	cr_assert(chmod(path, 01777) == 0);
	return path;
}

static void expect_ids(uid_t u, uid_t e, uid_t s)
{
	uid_t r, ee, ss;
	cr_assert(getresuid(&r, &ee, &ss) == 0);
	cr_expect(r == u && ee == e && ss == s, "uids %u %u %u, expected %u %u %u", r, ee, ss, u, e, s);
}

Test(priv, setuid_start_keeps_only_the_saved_root)
{
	need_root();
	struct who u = ensure_user(USER_NAME);
	become_setuid_start(u);
	priv_init();
	expect_ids(u.uid, u.uid, 0);
	cr_expect_eq(getegid(), u.gid);
	cr_expect_eq(prctl(PR_GET_DUMPABLE), 0, "the shell must not be dumpable");
	cr_expect(priv_privileged());
	cr_expect(priv_setuid);
}

Test(priv, child_drops_the_saved_root_before_exec)
{
	need_root();
	struct who u = ensure_user(USER_NAME);
	become_setuid_start(u);
	priv_init();
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		if (priv_exec_prepare(NULL) < 0)
			_exit(2);
		uid_t r, e, s;
		getresuid(&r, &e, &s);
		_exit(r == u.uid && e == u.uid && s == u.uid ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child kept root (status %#x)", st);
	/* The shell itself still can take root. */
	expect_ids(u.uid, u.uid, 0);
}

Test(priv, redirection_creates_the_file_as_the_run_identity)
{
	need_root();
	struct who u = ensure_user(USER_NAME), run = ensure_user(RUN_NAME);
	char *dir = shared_dir();
	become_setuid_start(u);
	priv_init();
	char path[128];
	snprintf(path, sizeof path, "%s/created", dir);
	struct priv_run r = {.user = RUN_NAME, .group = NULL, .umask = 027};
	mode_t old = umask(022);
	int fd = priv_open(&r, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	cr_assert(fd >= 0, "priv_open: %s", strerror(errno));
	close(fd);
	struct stat st;
	cr_assert(stat(path, &st) == 0);
	cr_expect_eq(st.st_uid, run.uid);
	cr_expect_eq(st.st_gid, run.gid);
	cr_expect_eq(st.st_mode & 07777, 0640, "mode %o", st.st_mode & 07777);
	/* Privilege was released right after, and the umask is the shell's again. */
	expect_ids(u.uid, u.uid, 0);
	cr_expect_eq(getegid(), u.gid);
	cr_expect_eq(umask(old), 022);
	cr_expect_eq(prctl(PR_GET_DUMPABLE), 0);
	/* Also on error: a file in a directory that does not exist. */
	snprintf(path, sizeof path, "%s/nodir/f", dir);
	cr_expect_lt(priv_open(&r, path, O_WRONLY | O_CREAT, 0666), 0);
	expect_ids(u.uid, u.uid, 0);
}

Test(priv, builtin_runs_as_the_run_identity_and_comes_back)
{
	need_root();
	struct who u = ensure_user(USER_NAME), run = ensure_user(RUN_NAME);
	become_setuid_start(u);
	priv_init();
	struct priv_run r = {.user = RUN_NAME, .group = NULL, .umask = -1};
	struct priv_saved sv;
	cr_assert_eq(priv_enter(&r, &sv), 1);
	expect_ids(u.uid, run.uid, 0);
	cr_expect_eq(getegid(), run.gid);
	/* Nested: a builtin run as root inside one run as the run user. */
	struct priv_run root = {.user = "root", .group = NULL, .umask = 077};
	struct priv_saved sv2;
	cr_assert_eq(priv_enter(&root, &sv2), 1);
	cr_expect_eq(geteuid(), 0);
	priv_leave(&sv2);
	cr_expect_eq(geteuid(), run.uid);
	priv_leave(&sv);
	expect_ids(u.uid, u.uid, 0);
	cr_expect_eq(getegid(), u.gid);
	gid_t g[8];
	int n = getgroups(8, g);
	cr_expect(n == 1 && g[0] == u.gid, "groups not given back (%d)", n);
}

Test(priv, not_privileged_refuses_another_user)
{
	need_root();
	struct who u = ensure_user(USER_NAME);
	char *dir = shared_dir();
	cr_assert(setgroups(1, &u.gid) == 0);
	cr_assert(setresgid(u.gid, u.gid, u.gid) == 0);
	cr_assert(setresuid(u.uid, u.uid, u.uid) == 0);
	priv_init();
	cr_expect(!priv_privileged());
	struct priv_ids ids;
	struct priv_run other = {.user = RUN_NAME, .group = NULL, .umask = -1};
	cr_expect_lt(priv_resolve(&other, &ids), 0);
	char path[128];
	snprintf(path, sizeof path, "%s/refused", dir);
	cr_expect_lt(priv_open(&other, path, O_WRONLY | O_CREAT, 0666), 0);
	cr_expect_eq(errno, EPERM);
	cr_expect_neq(access(path, F_OK), 0, "a refused redirection created its file");
	/* Its own name, and a umask alone, can be honoured. */
	struct priv_run self = {.user = USER_NAME, .group = NULL, .umask = 077};
	int fd = priv_open(&self, path, O_WRONLY | O_CREAT, 0666);
	cr_assert(fd >= 0);
	close(fd);
	struct stat st;
	cr_assert(stat(path, &st) == 0);
	cr_expect_eq(st.st_mode & 0777, 0600);
	cr_expect_eq(st.st_uid, u.uid);
}

Test(priv, root_start_runs_a_program_as_runuser_for_good)
{
	need_root();
	struct who run = ensure_user(RUN_NAME);
	priv_init();
	cr_expect(priv_privileged());
	cr_expect(!priv_setuid);
	struct priv_run r = {.user = RUN_NAME, .group = "#0", .umask = -1};
	struct priv_ids ids;
	cr_assert_eq(priv_resolve(&r, &ids), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		if (priv_exec_prepare(&ids) < 0)
			_exit(2);
		uid_t a, b, c;
		gid_t x, y, z;
		getresuid(&a, &b, &c);
		getresgid(&x, &y, &z);
		_exit(a == run.uid && b == run.uid && c == run.uid && x == 0 && y == 0 && z == 0 ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
}

Test(priv, monitor_takes_root_for_good)
{
	need_root();
	struct who u = ensure_user(USER_NAME);
	become_setuid_start(u);
	priv_init();
	cr_assert_eq(priv_monitor(), 0);
	expect_ids(0, 0, 0);
	gid_t r, e, s;
	getresgid(&r, &e, &s);
	cr_expect(r == 0 && e == 0 && s == 0);
}

/* The wiring: a decision with runuser/runumask reaches the program, the builtin and the redirection. */
static struct priv_run decision = {.user = RUN_NAME, .group = NULL, .umask = 077};

static enum gate_verdict run_as_cb(enum gate_kind kind, const char *name, char *const argv[])
{
	(void)kind, (void)name, (void)argv;
	priv_run_current = &decision;
	return GATE_ALLOW;
}

Test(priv, gate_decision_applies_to_commands_builtins_and_redirections)
{
	need_root();
	struct who u = ensure_user(USER_NAME), run = ensure_user(RUN_NAME);
	char *dir = shared_dir();
	char secret[128];
	snprintf(secret, sizeof secret, "%s/secret", dir);
	int fd = open(secret, O_WRONLY | O_CREAT, 0600);
	cr_assert(fd >= 0);
	close(fd);
	cr_assert(chown(secret, run.uid, run.gid) == 0);
	become_setuid_start(u);
	priv_init();
	char *env[] = {"PATH=/usr/bin:/bin", NULL};
	var_init(env);
	trap_init();
	gate_set_policy(run_as_cb);
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
	    "echo x >%s/by-redir; touch %s/by-program; if test -r %s; then r=readable; else r=no; fi", dir, dir, secret);
	int st = eval_string(cmd, "t", 0);
	gate_set_policy(NULL);
	cr_expect_eq(st, 0);
	struct stat sb;
	char path[160];
	snprintf(path, sizeof path, "%s/by-redir", dir);
	cr_assert(stat(path, &sb) == 0);
	cr_expect(sb.st_uid == run.uid && (sb.st_mode & 0777) == 0600, "redirection: uid %u mode %o", sb.st_uid, sb.st_mode & 0777);
	snprintf(path, sizeof path, "%s/by-program", dir);
	cr_assert(stat(path, &sb) == 0);
	cr_expect(sb.st_uid == run.uid && (sb.st_mode & 0777) == 0600, "program: uid %u mode %o", sb.st_uid, sb.st_mode & 0777);
	/* test -r ran as the run user, who may read the secret the shell's user may not. */
	cr_expect_str_eq(var_get("r"), "readable");
	expect_ids(u.uid, u.uid, 0);
}

/*
 * The installed shape: a setuid-root copy of pbsh started by a user. The
 * shell keeps only the saved root and is not dumpable; a program it runs
 * has all four uids the user's and no capabilities.
 */
Test(priv, setuid_pbsh_started_by_a_user)
{
	need_root();
	const char *pbsh = getenv("PBSH");
	cr_assert(pbsh != NULL, "PBSH (the built pbsh) not set");
	struct who u = ensure_user(USER_NAME);
	char dir[] = "/tmp/pbsh-suid-XXXXXX";
	cr_assert(mkdtemp(dir) != NULL);
	cr_assert(chmod(dir, 0755) == 0);
	struct statvfs fs;
	if (statvfs(dir, &fs) == 0 && (fs.f_flag & ST_NOSUID)) {
		rmdir(dir);
		cr_skip_test("/tmp is mounted nosuid: a setuid copy of pbsh cannot be tried there");
	}
	char copy[128], cmd[512];
	snprintf(copy, sizeof copy, "%s/pbsh", dir);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s' && chown root:root '%s' && chmod 4755 '%s'", pbsh, copy, copy, copy);
	cr_assert_eq(system(cmd), 0);
	int p[2];
	cr_assert(pipe(p) == 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		if (setgroups(1, &u.gid) || setresgid(u.gid, u.gid, u.gid) || setresuid(u.uid, u.uid, u.uid))
			_exit(3);
		char *argv[] = {copy, "-c",
		    "grep -E '^(Uid|CapEff):' /proc/self/status; grep '^Uid:' /proc/$$/status; stat -c %u /proc/$$/mem", NULL};
		char *envp[] = {"PATH=/usr/bin:/bin", NULL};
		execve(copy, argv, envp);
		_exit(4);
	}
	close(p[1]);
	char out[1024] = "";
	size_t n = 0;
	ssize_t k;
	while (n < sizeof out - 1 && (k = read(p[0], out + n, sizeof out - 1 - n)) > 0)
		n += (size_t)k;
	out[n] = '\0';
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	char want[512];
	snprintf(want, sizeof want,
	    "Uid:\t%u\t%u\t%u\t%u\nCapEff:\t0000000000000000\nUid:\t%u\t%u\t0\t%u\n0\n",
	    u.uid, u.uid, u.uid, u.uid, u.uid, u.uid, u.uid);
	cr_expect_str_eq(out, want);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	system(cmd);
}
