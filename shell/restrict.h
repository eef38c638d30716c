/* SPDX-License-Identifier: ISC */
/* Shell settings the policy may turn on at start (DESIGN §3.3): variables made read-only, the restricted shell. */
#ifndef PB_SH_RESTRICT_H
#define PB_SH_RESTRICT_H

#include <stdbool.h>

#include "options.h"

/*
 * restrict_readonly: shellreadonly. The variable name becomes read-only for
 * the rest of the shell's life (and its subshells): no assignment of any
 * kind, unset, typeset (attributes, +r, a local of the same name, -n), read,
 * for, select, getopts, arithmetic assignment or `name=x cmd` prefix can
 * change it. It keeps the value it has now; an unset variable stays unset.
 * An invalid name is reported on stderr and ignored.
 */
void restrict_readonly(const char *name);

/*
 * restrict_enable: shellrestricted, also `-r` / `-o restricted` (applied
 * after the profile and ENV files, as ksh and mksh do). The option can never
 * be turned off. SHELL, ENV, PATH and HISTFILE (and FPATH when set) become
 * read-only; cd, command names with a '/', `command -p`, `exec` of a
 * program and redirections that create or truncate files (> >| >> <>) are
 * refused (see the restrict_* checks below and pbsh(1)).
 */
void restrict_enable(void);

/*
 * restrict_pending: -r / -o restricted was given on the command line; sh_main
 * calls restrict_enable() once the profile and ENV files have been read.
 */
extern bool restrict_pending;

/* restrict_on: is the shell restricted? (one load: callers test it before the checks below) */
static inline bool restrict_on(void)
{
	return opt[OPT_RESTRICTED];
}

/*
 * restrict_command: may the program named name (as typed, before the PATH
 * search) run? In a restricted shell a name with a '/' is refused with a
 * message naming it; returns false then.
 */
bool restrict_command(const char *name);

/*
 * restrict_refuse: print "what: restricted" for an action the restricted
 * shell refuses (cd, command -p, exec, a redirection to path) and return
 * false, so callers write `if (restrict_on() && !restrict_refuse(..))`.
 */
bool restrict_refuse(const char *what);

#endif
