/* SPDX-License-Identifier: ISC */
/* The builtin table (sorted by name for a binary search) and the common way to run a builtin. */
#include "builtin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_test.h"
#include "gate.h"
#include "jobs.h"
#include "priv.h"
#include "shell.h"
#include "trap.h"

#define SP BI_SPECIAL
#define RG BI_REGULAR

/* Sorted by strcmp order. */
static const struct builtin table[] = {
	{".", c_dot, SP},
	{":", c_true, SP | BI_PURE},
	{"[", c_test, RG},
	{"alias", c_alias, RG},
	{"bg", c_bg, RG},
	{"break", c_break, SP},
	{"cd", c_cd, RG},
	{"command", c_command, RG},
	{"continue", c_continue, SP},
	{"echo", c_echo, RG | BI_PURE},
	{"eval", c_eval, SP},
	{"exec", c_exec, SP},
	{"exit", c_exit, SP},
	{"export", c_export, SP | BI_ASSIGN},
	{"false", c_false, RG | BI_PURE},
	{"fc", c_fc, RG},
	{"fg", c_fg, RG},
	{"getopts", c_getopts, RG},
	{"hash", c_hash, RG},
	{"integer", c_integer, RG | BI_ASSIGN},
	{"jobs", c_jobs, RG},
	{"kill", c_kill, RG},
	{"let", c_let, RG},
	{"local", c_local, RG | BI_ASSIGN},
	{"print", c_print, RG},
	{"printf", c_printf, RG | BI_PURE},
	{"pwd", c_pwd, RG | BI_PURE},
	{"read", c_read, RG},
	{"readonly", c_readonly, SP | BI_ASSIGN},
	{"return", c_return, SP},
	{"set", c_set, SP},
	{"shift", c_shift, SP},
	{"test", c_test, RG},
	{"times", c_times, SP},
	{"trap", c_trap, SP},
	{"true", c_true, RG | BI_PURE},
	{"type", c_type, RG},
	{"typeset", c_typeset, RG | BI_ASSIGN},
	{"ulimit", c_ulimit, RG},
	{"umask", c_umask, RG},
	{"unalias", c_unalias, RG},
	{"unset", c_unset, SP},
	{"wait", c_wait, RG},
	{"whence", c_whence, RG},
};

static int cmp_name(const void *key, const void *elem)
{
	return strcmp(key, ((const struct builtin *)elem)->name);
}

const struct builtin *builtin_lookup(const char *name)
{
	return bsearch(name, table, sizeof table / sizeof table[0], sizeof table[0], cmp_name);
}

void builtin_foreach(void (*cb)(const struct builtin *b, void *ctx), void *ctx)
{
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		cb(&table[i], ctx);
}

/* A builtin under the decision's runuser/rungroup/runumask: the identity is given back also when it unwinds. */
static int run_as(const struct builtin *b, int argc, char **argv, const struct priv_run *run)
{
	struct priv_saved sv;
	int in = priv_enter(run, &sv);
	if (in < 0)
		return 1;
	if (in == 0)
		return b->fn(argc, argv);
	volatile int st = 0;
	struct sh_jmp j;
	sh_push(&j);
	if (setjmp(j.jb) != 0) {
		priv_leave(&sv);
		sh_unwind(j.kind, j.status);
	}
	st = b->fn(argc, argv);
	sh_pop(&j);
	priv_leave(&sv);
	return st;
}

int builtin_run(const struct builtin *b, int argc, char **argv)
{
	/* Every builtin runs through here: the policy gate for builtins (never inside a builtin). */
	if (gate_check(GATE_BUILTIN, b->name, argv) != GATE_ALLOW)
		return 1;
	int st = priv_run_current ? run_as(b, argc, argv, priv_run_current) : b->fn(argc, argv);
	if (out_flush() < 0) {
		sh_warnf("%s: write error: %s", argv[0], strerror(errno));
		if (st == 0)
			st = 1;
	}
	return st;
}

int builtin_flags(int argc, char **argv, const char *letters, unsigned *set)
{
	int i = 1;
	*set = 0;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "--") == 0)
			return i + 1;
		for (const char *p = argv[i] + 1; *p; p++) {
			const char *k = strchr(letters, *p);
			if (k == NULL) {
				sh_warnf("%s: -%c: unknown option", argv[0], *p);
				return -1;
			}
			*set |= 1u << (k - letters);
		}
	}
	return i;
}

int c_true(int argc, char **argv)
{
	return 0;
}

int c_false(int argc, char **argv)
{
	return 1;
}
