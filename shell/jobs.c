/* SPDX-License-Identifier: ISC */
/* Jobs: the job table, reaping children, foreground waits, process groups and the job builtins. */
#include "jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "options.h"
#include "session.h"
#include "shell.h"
#include "trap.h"

pid_t sh_lastbg;

static struct job *jobs;        /* every live job, newest first */
static struct job *cur_job, *prev_job; /* %+ and %- */
static bool jobctl;
static int ttyfd = -1;
static pid_t shell_pgid;

static int status_of(int wst)
{
	if (WIFEXITED(wst))
		return WEXITSTATUS(wst);
	if (WIFSIGNALED(wst))
		return 128 + WTERMSIG(wst);
	if (WIFSTOPPED(wst))
		return 128 + WSTOPSIG(wst);
	return 1;
}

static bool job_done(const struct job *j)
{
	for (int i = 0; i < j->nproc; i++)
		if (!j->procs[i].done)
			return false;
	return true;
}

static bool job_stopped(const struct job *j)
{
	bool any = false;
	for (int i = 0; i < j->nproc; i++) {
		if (!j->procs[i].done && !j->procs[i].stopped)
			return false;
		if (j->procs[i].stopped)
			any = true;
	}
	return any;
}

static int job_status(const struct job *j)
{
	if (j->nproc == 0)
		return 0;
	int st = j->procs[j->nproc - 1].status;
	if (opt[OPT_PIPEFAIL])
		for (int i = j->nproc - 1; i >= 0; i--)
			if (j->procs[i].status != 0)
				return j->procs[i].status;
	return st;
}

struct job *job_new(const char *cmd)
{
	struct job *j = xmalloc(sizeof *j);
	memset(j, 0, sizeof *j);
	int id = 1;
	for (bool again = true; again;) {
		again = false;
		for (struct job *k = jobs; k; k = k->next)
			if (k->id == id) {
				id++;
				again = true;
			}
	}
	j->id = id;
	j->cmd = cmd ? xstrdup(cmd) : NULL;
	j->next = jobs;
	jobs = j;
	return j;
}

static void job_free(struct job *j)
{
	for (struct job **pp = &jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	if (cur_job == j)
		cur_job = prev_job, prev_job = NULL;
	if (prev_job == j)
		prev_job = NULL;
	free(j->procs);
	free(j->cmd);
	free(j);
}

void job_add(struct job *j, pid_t pid)
{
	if (j->nproc == j->cap) {
		j->cap = j->cap ? j->cap * 2 : 4;
		j->procs = xrealloc(j->procs, (size_t)j->cap * sizeof *j->procs);
	}
	j->procs[j->nproc++] = (struct proc){.pid = pid};
	if (jobctl) {
		if (j->pgid == 0)
			j->pgid = pid;
		setpgid(pid, j->pgid);
	}
}

bool jobs_control(void)
{
	return jobctl;
}

void jobs_vfork_child(struct job *j, bool bg)
{
	if (jobctl && j) {
		pid_t pg = j->pgid ? j->pgid : getpid();
		setpgid(0, pg);
		if (!bg && ttyfd >= 0)
			tcsetpgrp(ttyfd, pg);
	}
}

pid_t job_fork(struct job *j, bool bg)
{
	/*
	 * Signals stay blocked until the child has its own dispositions: a kill sent
	 * right after `cmd &` would otherwise hit the SIGTERM the interactive shell
	 * ignores, and be lost (a blocked signal stays pending even when ignored).
	 */
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid_t pid = fork();
	if (pid < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		sh_errorf(2, "cannot fork: %s", strerror(errno));
	}
	if (pid == 0) {
		sh_forked_child();
		if (jobctl && j) {
			pid_t pg = j->pgid ? j->pgid : getpid();
			setpgid(0, pg);
			if (!bg && ttyfd >= 0)
				tcsetpgrp(ttyfd, pg);
		}
		jobctl = false;
		/* The parent's jobs are not our children: `jobs` still lists them, nothing waits for them. */
		for (struct job *k = jobs; k; k = k->next)
			k->foreign = true;
		trap_subshell();
		if (bg && !opt[OPT_MONITOR]) {
			signal(SIGINT, SIG_IGN);
			signal(SIGQUIT, SIG_IGN);
		}
		opt[OPT_MONITOR] = false;
		sigprocmask(SIG_SETMASK, &old, NULL);
		return 0;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (session_on)
		session_child(pid, NULL, false); /* its FINISH names the command its own channel last had accepted */
	if (j)
		job_add(j, pid);
	return pid;
}

/* Record the status of one child; returns false if it belongs to no job. */
static bool record(pid_t pid, int wst)
{
	for (struct job *j = jobs; j; j = j->next)
		for (int i = 0; i < j->nproc; i++) {
			struct proc *p = &j->procs[i];
			if (p->pid != pid)
				continue;
			if (WIFSTOPPED(wst)) {
				p->stopped = true;
			} else if (WIFCONTINUED(wst)) {
				p->stopped = false;
			} else {
				p->done = true;
				p->stopped = false;
				p->status = status_of(wst);
			}
			p->status = status_of(wst);
			p->sig = WIFSIGNALED(wst) ? WTERMSIG(wst) : 0;
			j->changed = true;
			return true;
		}
	return false;
}

/* Wait for one child; returns its pid, 0 if none is ready (nohang), or -1 (ECHILD or EINTR). */
static pid_t reap_one(bool block)
{
	int wst;
	int flags = (block ? 0 : WNOHANG) | (jobctl ? WUNTRACED | WCONTINUED : 0);
	pid_t pid = waitpid(-1, &wst, flags);
	if (pid > 0) {
		if (session_on)
			session_reaped(pid, wst);
		record(pid, wst);
	}
	return pid;
}

void jobs_hangup(void)
{
	for (struct job *j = jobs; j; j = j->next) {
		if (j->foreign)
			continue;
		for (int i = 0; i < j->nproc; i++) {
			struct proc *p = &j->procs[i];
			if (p->done)
				continue;
			kill(p->pid, SIGHUP);
			if (p->stopped)
				kill(p->pid, SIGCONT);
		}
	}
}

void jobs_reap_nohang(void)
{
	while (jobs && reap_one(false) > 0)
		;
}

int job_wait(struct job *j)
{
	/* A one-process job is waited for directly: no other child can be reaped by mistake. */
	while (!job_done(j) && !(jobctl && job_stopped(j))) {
		pid_t pid = reap_one(true);
		if (pid < 0 && errno == ECHILD) {
			for (int i = 0; i < j->nproc; i++)
				j->procs[i].done = true;
			break;
		}
	}
	int st = job_status(j);
	if (jobctl && ttyfd >= 0)
		tcsetpgrp(ttyfd, shell_pgid);
	if (job_stopped(j) && !job_done(j)) {
		j->bg = true;
		prev_job = cur_job;
		cur_job = j;
		fprintf(stderr, "\n[%d]+  Stopped  %s\n", j->id, j->cmd ? j->cmd : "");
		j->changed = false;
		return st;
	}
	/* A foreground job killed by a signal is reported, as other shells do (not for INT and PIPE). */
	int sig = j->nproc ? j->procs[j->nproc - 1].sig : 0;
	if (sig && sig != SIGINT && sig != SIGPIPE)
		fprintf(stderr, "%s\n", strsignal(sig));
	else if (sig == SIGINT && opt[OPT_INTERACTIVE]) {
		/* The job took the ^C; the shell abandons the rest of the command line as if it had too. */
		fputc('\n', stderr);
		sh_gotsigint = 1;
		trap_pending = 1;
	}
	job_free(j);
	return st;
}

void job_background(struct job *j)
{
	j->bg = true;
	if (j->nproc)
		sh_lastbg = j->procs[j->nproc - 1].pid;
	if (opt[OPT_INTERACTIVE])
		fprintf(stderr, "[%d] %ld\n", j->id, (long)sh_lastbg);
	prev_job = cur_job;
	cur_job = j;
	/* Reap what already ended so a script starting many jobs does not accumulate them. */
	jobs_reap_nohang();
	/* Remember finished jobs for `wait pid` (POSIX), but only the newest few hundred. */
	int n = 0;
	for (struct job *k = jobs, *nx; k; k = nx) {
		nx = k->next;
		if (++n > 256 && k->bg && job_done(k))
			job_free(k);
	}
}

void jobs_set_control(bool on)
{
	if (on == jobctl)
		return;
	if (on) {
		int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			sh_warnf("can't access tty; job control turned off");
			opt[OPT_MONITOR] = false;
			return;
		}
		ttyfd = sh_move_fd_high(fd);
		shell_pgid = getpgrp();
		/* Wait until we are in the foreground, then take our own group. */
		for (;;) {
			pid_t fg = tcgetpgrp(ttyfd);
			if (fg < 0 || fg == shell_pgid)
				break;
			kill(0, SIGTTIN);
			shell_pgid = getpgrp();
		}
		signal(SIGTSTP, SIG_IGN);
		signal(SIGTTIN, SIG_IGN);
		signal(SIGTTOU, SIG_IGN);
		if (setpgid(0, 0) == 0)
			shell_pgid = getpid();
		tcsetpgrp(ttyfd, shell_pgid);
		jobctl = true;
	} else {
		if (ttyfd >= 0)
			close(ttyfd);
		ttyfd = -1;
		jobctl = false;
	}
}

static const char *state_text(const struct job *j, char *buf, size_t n)
{
	if (job_done(j)) {
		int st = j->procs[j->nproc - 1].status;
		if (st == 0)
			return "Done";
		if (st > 128)
			return strsignal(st - 128);
		snprintf(buf, n, "Done(%d)", st);
		return buf;
	}
	if (job_stopped(j))
		return "Stopped";
	return "Running";
}

static void print_job(struct job *j, int mode)
{
	char buf[32];
	char mark = j == cur_job ? '+' : j == prev_job ? '-' : ' ';
	if (mode == 'p') {
		out_printf("%ld\n", (long)(j->pgid ? j->pgid : j->procs[0].pid));
		return;
	}
	if (mode == 'l')
		out_printf("[%d]%c %ld %-24s %s\n", j->id, mark, (long)j->procs[0].pid, state_text(j, buf, sizeof buf), j->cmd ? j->cmd : "");
	else
		out_printf("[%d]%c  %-24s %s\n", j->id, mark, state_text(j, buf, sizeof buf), j->cmd ? j->cmd : "");
	j->changed = false;
}

void jobs_notify(void)
{
	jobs_reap_nohang();
	for (struct job *j = jobs, *nx; j; j = nx) {
		nx = j->next;
		if (!j->bg || !j->changed)
			continue;
		/* A job that was only continued (bg, SIGCONT) is not news; its end or stop is. */
		if (!job_done(j) && !job_stopped(j)) {
			j->changed = false;
			continue;
		}
		out_flush();
		char buf[32];
		fprintf(stderr, "[%d]%c  %-24s %s\n", j->id, j == cur_job ? '+' : j == prev_job ? '-' : ' ', state_text(j, buf, sizeof buf), j->cmd ? j->cmd : "");
		j->changed = false;
		if (job_done(j))
			job_free(j);
	}
}

bool jobs_exit_blocked(int cmdno)
{
	static int warned_at = -10;
	if (!jobctl || getpid() != sh_rootpid)
		return false;
	jobs_reap_nohang();
	bool stopped = false;
	for (struct job *j = jobs; j; j = j->next)
		if (!j->foreign && job_stopped(j))
			stopped = true;
	if (!stopped)
		return false;
	/* The exit command itself counts as one command: allow it right after the warning. */
	if (cmdno != warned_at && cmdno != warned_at + 1) {
		warned_at = cmdno;
		fputs("You have stopped jobs.\n", stderr);
		return true;
	}
	/* Leaving anyway: stopped jobs would wait forever; let them see the hang-up. */
	for (struct job *j = jobs; j; j = j->next)
		if (!j->foreign && job_stopped(j) && j->pgid > 0) {
			killpg(j->pgid, SIGHUP);
			killpg(j->pgid, SIGCONT);
		}
	return false;
}

/* Find a job by %spec or pid; NULL after a message. */
static struct job *find_job(const char *spec, const char *who)
{
	if (spec[0] != '%') {
		char *end;
		long pid = strtol(spec, &end, 10);
		if (*end == '\0' && pid > 0) {
			for (struct job *j = jobs; j; j = j->next)
				for (int i = 0; i < j->nproc; i++)
					if (j->procs[i].pid == pid)
						return j;
		}
		sh_warnf("%s: %s: no such job", who, spec);
		return NULL;
	}
	const char *s = spec + 1;
	struct job *found = NULL;
	if (*s == '\0' || strcmp(s, "%") == 0 || strcmp(s, "+") == 0) {
		found = cur_job;
	} else if (strcmp(s, "-") == 0) {
		found = prev_job;
	} else if (*s >= '0' && *s <= '9') {
		int id = atoi(s);
		for (struct job *j = jobs; j; j = j->next)
			if (j->id == id)
				found = j;
	} else {
		bool sub = *s == '?';
		if (sub)
			s++;
		for (struct job *j = jobs; j; j = j->next) {
			if (!j->cmd)
				continue;
			if (sub ? strstr(j->cmd, s) != NULL : strncmp(j->cmd, s, strlen(s)) == 0) {
				if (found) {
					sh_warnf("%s: %s: ambiguous", who, spec);
					return NULL;
				}
				found = j;
			}
		}
	}
	if (found == NULL)
		sh_warnf("%s: %s: no such job", who, spec);
	return found;
}

int c_jobs(int argc, char **argv)
{
	int mode = 0;
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		for (const char *p = argv[i] + 1; *p; p++) {
			if (*p == 'l' || *p == 'p')
				mode = *p;
			else {
				sh_warnf("jobs: -%c: unknown option", *p);
				return 2;
			}
		}
	}
	jobs_reap_nohang();
	if (i < argc) {
		int ret = 0;
		for (; i < argc; i++) {
			struct job *j = find_job(argv[i], "jobs");
			if (j)
				print_job(j, mode);
			else
				ret = 1;
		}
		return ret;
	}
	/* Oldest first, as the ids go. */
	int n = 0;
	for (struct job *j = jobs; j; j = j->next)
		n++;
	struct job **v = xmalloc(((size_t)n + 1) * sizeof *v);
	n = 0;
	for (struct job *j = jobs; j; j = j->next)
		v[n++] = j;
	for (int k = n - 1; k >= 0; k--) {
		if (!v[k]->bg)
			continue;
		print_job(v[k], mode);
		if (job_done(v[k]))
			job_free(v[k]);
	}
	free(v);
	return 0;
}

static int resume(int argc, char **argv, bool fg)
{
	const char *who = fg ? "fg" : "bg";
	if (!jobctl) {
		sh_warnf("%s: no job control", who);
		return 1;
	}
	int i = 1;
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	int ret = 0;
	do {
		struct job *j = find_job(i < argc ? argv[i] : "%%", who);
		if (j == NULL)
			return 1;
		for (int k = 0; k < j->nproc; k++)
			j->procs[k].stopped = false;
		/* The job has the terminal before the line naming it shows: a key typed after it reaches the job. */
		if (fg) {
			j->bg = false;
			if (ttyfd >= 0)
				tcsetpgrp(ttyfd, j->pgid);
			killpg(j->pgid, SIGCONT);
			out_printf("%s\n", j->cmd ? j->cmd : "");
			out_flush();
			return job_wait(j);
		}
		killpg(j->pgid, SIGCONT);
		out_printf("[%d] %s\n", j->id, j->cmd ? j->cmd : "");
		out_flush();
		j->bg = true;
		prev_job = cur_job;
		cur_job = j;
		i++;
	} while (i < argc);
	return ret;
}

int c_fg(int argc, char **argv)
{
	return resume(argc, argv, true);
}

int c_bg(int argc, char **argv)
{
	return resume(argc, argv, false);
}

int c_wait(int argc, char **argv)
{
	int i = 1;
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc) {
		/* Wait for every job; a trapped signal interrupts with 128+n. */
		for (;;) {
			bool any = false;
			for (struct job *j = jobs; j; j = j->next)
				if (!job_done(j) && !j->foreign)
					any = true;
			if (!any)
				break;
			/* A trapped signal that arrived while we reaped another child also ends the wait. */
			if (trap_pending)
				return 128 + trap_lastsig;
			pid_t pid = reap_one(true);
			if (pid < 0 && errno == EINTR && trap_pending)
				return 128 + trap_lastsig;
			if (pid < 0 && errno == ECHILD)
				break;
		}
		/* The finished jobs stay known: `wait pid` still gives their status (POSIX). */
		return 0;
	}
	int ret = 0;
	for (; i < argc; i++) {
		struct job *j = NULL;
		pid_t want = 0;
		if (argv[i][0] == '%') {
			j = find_job(argv[i], "wait");
			if (j == NULL || j->foreign) {
				ret = 127;
				continue;
			}
		} else {
			char *end;
			long p = strtol(argv[i], &end, 10);
			if (*end || p <= 0) {
				sh_warnf("wait: %s: invalid process id", argv[i]);
				ret = 2;
				continue;
			}
			want = (pid_t)p;
			for (struct job *k = jobs; k && !j; k = k->next)
				for (int n = 0; n < k->nproc; n++)
					if (k->procs[n].pid == want && !k->foreign)
						j = k;
			if (j == NULL) {
				/* Not a child of ours (or already waited for). */
				ret = 127;
				continue;
			}
		}
		while (!job_done(j)) {
			if (trap_pending)
				return 128 + trap_lastsig;
			pid_t pid = reap_one(true);
			if (pid < 0 && errno == EINTR && trap_pending)
				return 128 + trap_lastsig;
			if (pid < 0 && errno == ECHILD)
				break;
		}
		ret = job_status(j);
		if (want) {
			for (int n = 0; n < j->nproc; n++)
				if (j->procs[n].pid == want)
					ret = j->procs[n].status;
		}
		job_free(j);
	}
	return ret;
}

static void list_signals(void)
{
	for (int s = 1; s < SH_NSIG; s++) {
		const char *n = sig_name(s);
		if (n && strncmp(n, "RTMIN", 5) != 0)
			out_printf("%s\n", n);
	}
}

int c_kill(int argc, char **argv)
{
	int sig = SIGTERM;
	int i = 1;
	if (i >= argc) {
		sh_warnf("kill: usage: kill [-s sigspec | -signum] pid | %%job ... or kill -l [exitstatus]");
		return 2;
	}
	if (strcmp(argv[i], "-l") == 0 || strcmp(argv[i], "-L") == 0) {
		if (i + 1 >= argc) {
			list_signals();
			return 0;
		}
		int ret = 0;
		for (i++; i < argc; i++) {
			if (argv[i][0] >= '0' && argv[i][0] <= '9') {
				int n = atoi(argv[i]);
				if (n > 128)
					n -= 128;
				const char *nm = sig_name(n);
				if (nm && n)
					out_printf("%s\n", nm);
				else {
					sh_warnf("kill: %s: invalid signal number", argv[i]);
					ret = 1;
				}
			} else {
				int n = sig_number(argv[i]);
				if (n <= 0) {
					sh_warnf("kill: %s: invalid signal name", argv[i]);
					ret = 1;
				} else
					out_printf("%d\n", n);
			}
		}
		return ret;
	}
	if (strcmp(argv[i], "-s") == 0 || strcmp(argv[i], "-n") == 0) {
		if (i + 1 >= argc) {
			sh_warnf("kill: -s needs a signal name");
			return 2;
		}
		sig = sig_number(argv[i + 1]);
		if (sig < 0) {
			sh_warnf("kill: %s: invalid signal", argv[i + 1]);
			return 2;
		}
		i += 2;
	} else if (argv[i][0] == '-' && argv[i][1] && strcmp(argv[i], "--") != 0) {
		sig = sig_number(argv[i] + 1);
		if (sig < 0) {
			sh_warnf("kill: %s: invalid signal", argv[i] + 1);
			return 2;
		}
		i++;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc) {
		sh_warnf("kill: no process id given");
		return 2;
	}
	int ret = 0;
	for (; i < argc; i++) {
		pid_t pid;
		if (argv[i][0] == '%') {
			struct job *j = find_job(argv[i], "kill");
			if (j == NULL) {
				ret = 1;
				continue;
			}
			pid = j->pgid ? -j->pgid : j->procs[0].pid;
			/* A stopped job would only see the signal once continued: continue it (as ksh does). */
			if (j->pgid && job_stopped(j) && sig != SIGCONT && sig != SIGSTOP && sig != SIGTSTP &&
			    sig != SIGTTIN && sig != SIGTTOU && kill(-j->pgid, sig) == 0) {
				killpg(j->pgid, SIGCONT);
				continue;
			}
			if (j->pgid == 0) {
				for (int n = 0; n < j->nproc; n++)
					if (!j->procs[n].done && kill(j->procs[n].pid, sig) < 0) {
						sh_warnf("kill: %ld: %s", (long)j->procs[n].pid, strerror(errno));
						ret = 1;
					}
				continue;
			}
		} else {
			char *end;
			long p = strtol(argv[i], &end, 10);
			if (*end || argv[i][0] == '\0') {
				sh_warnf("kill: %s: arguments must be process or job IDs", argv[i]);
				ret = 1;
				continue;
			}
			pid = (pid_t)p;
		}
		if (kill(pid, sig) < 0) {
			sh_warnf("kill: %s: %s", argv[i], strerror(errno));
			ret = 1;
		}
	}
	return ret;
}
