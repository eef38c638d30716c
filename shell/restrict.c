/* SPDX-License-Identifier: ISC */
/* Read-only variables from the policy (shellreadonly) and the restricted shell (shellrestricted, -r). */
#include "restrict.h"

#include <string.h>

#include "shell.h"
#include "var.h"

bool restrict_pending;

void restrict_readonly(const char *name)
{
	if (!var_valid_name(name, (size_t)-1)) {
		sh_warnf("shellreadonly: %s: not a valid variable name, ignored", name);
		return;
	}
	/*
	 * A name reference would make the reference read-only rather than what
	 * it names; at start-up there are none, but take the variable itself.
	 */
	struct var *v = var_raw_lookup(name);
	if (v == NULL) {
		var_set(name, NULL, V_READONLY | V_NOERR);
		return;
	}
	v->flags |= V_READONLY;
}

void restrict_enable(void)
{
	/*
	 * The variables that decide what runs and which files are read or
	 * written: the search path, the start-up file, the shell that programs
	 * start, the history file (pbksh appends to it: without this a
	 * restricted user could append to any file the user may write, as
	 * bash -r also prevents).
	 */
	static const char *const locked[] = {"SHELL", "ENV", "PATH", "HISTFILE"};
	for (size_t i = 0; i < sizeof locked / sizeof locked[0]; i++)
		restrict_readonly(locked[i]);
	if (var_get("FPATH") != NULL)
		restrict_readonly("FPATH");
	opt[OPT_RESTRICTED] = true;
}

bool restrict_refuse(const char *what)
{
	sh_warnf("%s: restricted", what);
	return false;
}

bool restrict_command(const char *name)
{
	if (!opt[OPT_RESTRICTED] || strchr(name, '/') == NULL)
		return true;
	return restrict_refuse(name);
}
