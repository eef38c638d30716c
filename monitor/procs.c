/* SPDX-License-Identifier: ISC */
/* A session's processes: what descends from the monitor (or from an adopted shell), found in /proc
 * and signalled through pidfds, so an ended session leaves nothing running behind it. */
#include "mon.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct proc {
	pid_t pid, ppid;
	bool in; /* descends from the root */
	int pidfd;
};

/*
 * stat_ppid: the parent of pid from /proc/PID/stat, or -1 when it is gone
 * or already dead (a zombie waits only to be reaped: nothing to signal).
 */
static pid_t stat_ppid(int procfd, const char *name)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "%s/stat", name);
	int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* "PID (COMM) STATE PPID ...": COMM may hold anything, ')' too; the last ')' ends it. */
	char *p = strrchr(buf, ')'), state;
	long ppid;
	if (p == NULL || sscanf(p + 1, " %c %ld", &state, &ppid) != 2)
		return -1;
	if (state == 'Z' || state == 'X')
		return -1;
	return (pid_t)ppid;
}

/* list: every living process and its parent; NULL when /proc cannot be read. */
static struct proc *list(int procfd, size_t *np)
{
	DIR *d = fdopendir(dup(procfd));
	struct proc *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	*np = 0;
	if (d == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (pid <= 0 || *end != '\0')
			continue;
		pid_t ppid = stat_ppid(procfd, e->d_name);
		if (ppid < 0)
			continue;
		if (n == cap) {
			struct proc *nv = realloc(v, (cap = cap ? cap * 2 : 256) * sizeof(*v));
			if (nv == NULL) {
				free(v);
				closedir(d);
				return NULL;
			}
			v = nv;
		}
		v[n++] = (struct proc){(pid_t)pid, ppid, false, -1};
	}
	closedir(d);
	*np = n;
	return v != NULL ? v : calloc(1, sizeof(*v));
}

static int by_pid(const void *a, const void *b)
{
	pid_t x = ((const struct proc *)a)->pid, y = ((const struct proc *)b)->pid;
	return (x > y) - (x < y);
}

static bool skipped(pid_t pid, const pid_t *skip, size_t nskip)
{
	for (size_t i = 0; i < nskip; i++)
		if (skip[i] == pid)
			return true;
	return false;
}

/*
 * hold: a pidfd for one process found in the tree, unless its pid names
 * another by now: the pidfd holds the process, whose parent is read again
 * (the one found, or us if it was orphaned meanwhile). Every process is
 * held before any is signalled, so none is orphaned out of the tree by the
 * signal its parent got. -1: gone; -2: no pidfds here (kill by pid).
 */
static int hold(int procfd, const struct proc *p)
{
	char name[24];
	int pfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	if (pfd < 0)
		return errno == ENOSYS ? -2 : -1;
	snprintf(name, sizeof(name), "%ld", (long)p->pid);
	pid_t now = stat_ppid(procfd, name);
	if (now != p->ppid && now != getpid()) {
		close(pfd);
		return -1;
	}
	return pfd;
}

size_t mon_procs_signal(pid_t root, pid_t spare, const pid_t *skip, size_t nskip, int sig)
{
	int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t n, sent = 0;
	if (procfd < 0)
		return 0;
	struct proc *v = list(procfd, &n);
	if (v == NULL) {
		close(procfd);
		return 0;
	}
	/* Mark the descendants: each pass reaches at least one generation further, until none is new. */
	qsort(v, n, sizeof(*v), by_pid);
	for (bool grew = true; grew;) {
		grew = false;
		for (size_t i = 0; i < n; i++) {
			if (v[i].in || v[i].pid == root || skipped(v[i].pid, skip, nskip))
				continue;
			struct proc key = {.pid = v[i].ppid};
			const struct proc *parent = bsearch(&key, v, n, sizeof(*v), by_pid);
			if (v[i].ppid == root || (parent != NULL && parent->in))
				v[i].in = grew = true;
		}
	}
	for (size_t i = 0; i < n; i++)
		v[i].pidfd = v[i].in && v[i].pid != spare ? hold(procfd, &v[i]) : -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i].pidfd >= 0) {
			if (syscall(SYS_pidfd_send_signal, v[i].pidfd, sig, NULL, 0) == 0)
				sent++;
			close(v[i].pidfd);
		} else if (v[i].pidfd == -2 && kill(v[i].pid, sig) == 0) {
			sent++;
		}
	}
	free(v);
	close(procfd);
	return sent;
}
