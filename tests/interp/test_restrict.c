/* SPDX-License-Identifier: ISC */
/* Unit tests of shell/restrict.c: a variable the policy makes read-only (shellreadonly) and the restricted shell (shellrestricted). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "eval.h"
#include "options.h"
#include "restrict.h"
#include "shell.h"
#include "trap.h"
#include "var.h"

static void setup(void)
{
	char *env[] = {"PATH=/usr/bin:/bin", "POLICY_VAR=from-start", "SHELL=/bin/sh", NULL};
	var_init(env);
	trap_init();
}

TestSuite(restrict, .init = setup);

/*
 * Every way of changing a variable, each in a subshell (an error may end it);
 * the value is then read in the shell itself.
 */
static const char *const attempts[] = {
	"POLICY_VAR=x",
	"unset POLICY_VAR",
	"unset 'POLICY_VAR[0]'",
	"typeset POLICY_VAR=x",
	"typeset +r POLICY_VAR; POLICY_VAR=x",
	"typeset -i POLICY_VAR",
	"typeset -n POLICY_VAR=OTHER; OTHER=x",
	"typeset -n r=POLICY_VAR; r=x",
	"f() { typeset POLICY_VAR=x; g; }; g() { printf %s \"$POLICY_VAR\" >/dev/null; POLICY_VAR=y; }; f",
	"f() { local POLICY_VAR; POLICY_VAR=x; }; f",
	"echo x | read POLICY_VAR",
	"for POLICY_VAR in x; do :; done",
	"echo 1 | { select POLICY_VAR in x; do break; done; }",
	"export POLICY_VAR=x",
	"getopts a POLICY_VAR -a",
	"(( POLICY_VAR = 1 ))",
	": $(( POLICY_VAR = 1 ))",
	"POLICY_VAR+=x",
	"POLICY_VAR[1]=x",
	"POLICY_VAR=(x y)",
	"set -A POLICY_VAR x",
	"POLICY_VAR=x true",
	"eval POLICY_VAR=x",
	"trap POLICY_VAR=x EXIT",
};

Test(restrict, readonly_variable_cannot_change)
{
	restrict_readonly("POLICY_VAR");
	for (size_t i = 0; i < sizeof attempts / sizeof attempts[0]; i++) {
		char cmd[512];
		snprintf(cmd, sizeof cmd, "( %s ) 2>/dev/null; s=$( { %s; } 2>/dev/null; printf %%s \"${POLICY_VAR-unset}\" )", attempts[i], attempts[i]);
		eval_string(cmd, "t", 0);
		cr_expect_str_eq(var_get("POLICY_VAR"), "from-start", "after `%s`", attempts[i]);
		/* The subshell prints the value, unless the refused change ended it (a special builtin's error). */
		const char *sub = var_get("s");
		cr_expect(strcmp(sub, "from-start") == 0 || *sub == '\0', "in the subshell of `%s`: %s", attempts[i], sub);
		struct var *v = var_lookup("POLICY_VAR");
		cr_expect(v && (v->flags & V_READONLY) && v->arr == NULL, "after `%s`", attempts[i]);
	}
}

Test(restrict, unset_variable_stays_unset)
{
	restrict_readonly("NOT_SET");
	eval_string("(NOT_SET=x) 2>/dev/null; (: ${NOT_SET:=x}) 2>/dev/null; (typeset NOT_SET=x) 2>/dev/null", "t", 0);
	cr_expect_null(var_get("NOT_SET"));
	int st = eval_string("(NOT_SET=x) 2>/dev/null", "t", 0);
	cr_expect_eq(st, 2, "the status of an assignment to a read-only variable");
}

Test(restrict, invalid_name_is_ignored)
{
	restrict_readonly("not-a-name");
	restrict_readonly("");
	cr_expect_null(var_lookup("not-a-name"));
}

Test(restrict, enable_locks_the_variables_and_cannot_be_undone)
{
	restrict_enable();
	cr_expect(restrict_on());
	const char *locked[] = {"PATH", "SHELL", "ENV", "HISTFILE"};
	for (size_t i = 0; i < 4; i++) {
		struct var *v = var_lookup(locked[i]);
		cr_expect(v && (v->flags & V_READONLY), "%s not read-only", locked[i]);
	}
	opt_set(OPT_RESTRICTED, false);
	cr_expect(restrict_on(), "opt_set turned the restricted shell off");
	int st = eval_string("(set +o restricted) 2>&-", "t", 0);
	cr_expect_neq(st, 0);
	cr_expect(restrict_on());
	cr_expect(!restrict_command("/bin/true"));
	cr_expect(restrict_command("true"));
	char dir[] = "/tmp/pbsh-restrict-XXXXXX";
	cr_assert(mkdtemp(dir) != NULL);
	char cmd[512], file[64];
	snprintf(file, sizeof file, "%s/f", dir);
	snprintf(cmd, sizeof cmd, "echo x >%s; echo x >>%s; echo x <>%s; cd %s", file, file, file, dir);
	eval_string(cmd, "t", 0);
	eval_string("(/bin/true) 2>&-", "t", 0);
	cr_expect_eq(sh_exitstatus, 1, "a name with a slash ran");
	cr_expect_neq(access(file, F_OK), 0, "a restricted redirection created %s", file);
	char *cwd = getcwd(NULL, 0);
	cr_expect(cwd && strcmp(cwd, dir) != 0, "cd worked in the restricted shell");
	free(cwd);
	rmdir(dir);
}
