/* SPDX-License-Identifier: ISC */
/* Jobs: the processes the shell started, grouped per pipeline, waited for, and controlled (fg, bg, kill, %n). */
#ifndef PB_SH_JOBS_H
#define PB_SH_JOBS_H

#include <stdbool.h>
#include <sys/types.h>

struct proc {
	pid_t pid;
	int status;   /* shell exit status once done (128+n for a signal) */
	int sig;      /* the signal that killed it, or 0 */
	bool done;
	bool stopped;
};

struct job {
	struct job *next;
	int id;            /* %n */
	pid_t pgid;        /* process group with job control, else 0 */
	int nproc, cap;
	struct proc *procs;
	bool bg;           /* started with & (or bg) */
	bool changed;      /* state changed since last reported */
	bool foreign;      /* inherited by a subshell: listed by `jobs`, but not our child */
	char *cmd;         /* command text for `jobs`, malloc'd (may be NULL) */
};

/* $!: the pid of the last background command. */
extern pid_t sh_lastbg;

/*
 * job_new: a job about to get processes; cmd (copied) is its text for
 * `jobs`. The job belongs to the job table; job_wait or job_background
 * decide its life.
 */
struct job *job_new(const char *cmd);

/*
 * job_fork: fork a process of job j. In the child (returns 0): traps are
 * reset for a subshell, the parent's jobs become foreign (listed, never
 * waited for), and with job control
 * the child joins the job's process group (taking the terminal if fg).
 * bg says the job runs in the background. In the parent returns the pid
 * (added to j). A fork failure is a shell error.
 */
pid_t job_fork(struct job *j, bool bg);

/* job_add: record a process made by the caller (vfork) in j. */
void job_add(struct job *j, pid_t pid);

/*
 * job_wait: wait for foreground job j to finish (or stop) and free it
 * unless stopped. Returns the exit status of the last process, or with
 * pipefail the last non-zero one.
 */
int job_wait(struct job *j);

/* job_background: the job was started with &: set $! and keep it for `wait`/`jobs`. */
void job_background(struct job *j);

/* jobs_control: is job control on (process groups, terminal hand-over)? */
bool jobs_control(void);

/* jobs_vfork_child: in a vfork child of job j: join its process group (system calls only). */
void jobs_vfork_child(struct job *j, bool bg);

/* jobs_set_control: turn job control (process groups, terminal) on or off. */
void jobs_set_control(bool on);

/*
 * jobs_exit_blocked: the interactive shell is asked to exit (exit, ^D); cmdno is the
 * number of the command being read (hist_number()). With stopped jobs, the first
 * attempt warns and returns true (stay); a second attempt with no other command in
 * between (the exit command itself aside) returns false, after sending the stopped jobs SIGHUP and SIGCONT.
 * Always false without job control or in a subshell.
 */
bool jobs_exit_blocked(int cmdno);

/* jobs_notify: report jobs that finished or stopped (interactive prompt, or `jobs`). */
void jobs_notify(void);

/* jobs_reap_nohang: collect children that ended, without blocking. */
void jobs_reap_nohang(void);

/* jobs_hangup: send SIGHUP (and SIGCONT to stopped ones) to every process of the shell's unfinished jobs. */
void jobs_hangup(void);

int c_jobs(int argc, char **argv);
int c_fg(int argc, char **argv);
int c_bg(int argc, char **argv);
int c_wait(int argc, char **argv);
int c_kill(int argc, char **argv);

#endif
