/* SPDX-License-Identifier: ISC */
/* monitor/procs.c: a session's processes found below a root and signalled; what is skipped or spared is not. */
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mon.h"

/*
 * tree: a child that starts a grandchild, and both sleep; pids[0] the child,
 * pids[1] the grandchild (read back through a pipe).
 */
static void tree(pid_t pids[2])
{
	int p[2];
	cr_assert(pipe(p) == 0);
	pid_t c = fork();
	cr_assert(c >= 0);
	if (c == 0) {
		pid_t g = fork();
		if (g == 0) {
			for (;;)
				pause();
		}
		(void)write(p[1], &g, sizeof(g));
		for (;;)
			pause();
	}
	pids[0] = c;
	cr_assert(read(p[0], &pids[1], sizeof(pids[1])) == (ssize_t)sizeof(pids[1]));
	close(p[0]);
	close(p[1]);
}

static bool alive(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	bool ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	char *p = ok ? strrchr(buf, ')') : NULL;
	return p != NULL && p[2] != 'Z' && p[2] != 'X';
}

static void gone(pid_t pid)
{
	for (int i = 0; i < 200 && alive(pid); i++)
		usleep(10000);
	cr_assert(!alive(pid), "pid %ld is still there", (long)pid);
}

Test(procs, counts_and_kills_the_whole_tree)
{
	pid_t t[2];
	tree(t);
	cr_assert_eq(mon_procs_signal(getpid(), 0, NULL, 0, 0), 2);
	cr_assert_eq(mon_procs_signal(getpid(), 0, NULL, 0, SIGKILL), 2);
	gone(t[0]);
	gone(t[1]);
	waitpid(t[0], NULL, 0);
	cr_assert_eq(mon_procs_signal(getpid(), 0, NULL, 0, 0), 0);
}

Test(procs, spare_is_not_signalled_but_its_children_are)
{
	pid_t t[2];
	tree(t);
	cr_assert_eq(mon_procs_signal(getpid(), t[0], NULL, 0, SIGKILL), 1);
	gone(t[1]);
	cr_assert(alive(t[0]));
	kill(t[0], SIGKILL);
	waitpid(t[0], NULL, 0);
}

Test(procs, skip_keeps_a_subtree_out)
{
	pid_t a[2], b[2];
	tree(a);
	tree(b);
	cr_assert_eq(mon_procs_signal(getpid(), 0, &a[0], 1, 0), 2);
	cr_assert_eq(mon_procs_signal(getpid(), 0, &a[0], 1, SIGKILL), 2);
	gone(b[0]);
	gone(b[1]);
	cr_assert(alive(a[0]) && alive(a[1]));
	kill(a[1], SIGKILL);
	kill(a[0], SIGKILL);
	waitpid(a[0], NULL, 0);
	waitpid(b[0], NULL, 0);
}

Test(procs, orphans_below_a_subreaper_are_found)
{
	pid_t t[2];
	cr_assert(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
	tree(t);
	/* The child ends: its child is an orphan, now ours, and still part of the tree. */
	kill(t[0], SIGKILL);
	waitpid(t[0], NULL, 0);
	cr_assert_eq(mon_procs_signal(getpid(), 0, NULL, 0, 0), 1);
	cr_assert_eq(mon_procs_signal(getpid(), 0, NULL, 0, SIGKILL), 1);
	gone(t[1]);
	waitpid(t[1], NULL, 0);
}

Test(procs, a_root_below_us_counts_only_its_own)
{
	pid_t a[2], b[2];
	tree(a);
	tree(b);
	cr_assert_eq(mon_procs_signal(a[0], 0, NULL, 0, 0), 1);
	cr_assert_eq(mon_procs_signal(a[0], 0, NULL, 0, SIGKILL), 1);
	gone(a[1]);
	cr_assert(alive(a[0]) && alive(b[0]) && alive(b[1]));
	kill(a[0], SIGKILL);
	kill(b[1], SIGKILL);
	kill(b[0], SIGKILL);
	waitpid(a[0], NULL, 0);
	waitpid(b[0], NULL, 0);
}
