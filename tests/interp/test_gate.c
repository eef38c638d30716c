/* SPDX-License-Identifier: ISC */
/* Unit tests of the policy gate: every program, builtin and redirected file passes gate_check, once, with what is really run. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval.h"
#include "gate.h"
#include "options.h"
#include "shell.h"
#include "trap.h"
#include "var.h"

static char seen[4096];
static const char *deny_name;

static enum gate_verdict record_cb(enum gate_kind kind, const char *name, char *const argv[])
{
	static const char *const k[] = {"command", "builtin", "redirect"};
	char line[256];
	snprintf(line, sizeof line, "%s:%s:%s;", k[kind], name, argv[0] ? argv[0] : "");
	strncat(seen, line, sizeof seen - strlen(seen) - 1);
	if (deny_name && strcmp(name, deny_name) == 0)
		return GATE_DENY;
	return GATE_ALLOW;
}

static void setup(void)
{
	char *env[] = {"PATH=/usr/bin:/bin", NULL};
	var_init(env);
	trap_init();
	seen[0] = '\0';
	deny_name = NULL;
	gate_set_policy(record_cb);
}

TestSuite(gate, .init = setup);

Test(gate, sees_builtins_programs_and_redirections)
{
	eval_string("echo hi >/dev/null; /bin/true a; x=$(printf b); command true", "t", 0);
	cr_expect(strstr(seen, "redirect:/dev/null:shell redirect write;") != NULL, "%s", seen);
	cr_expect(strstr(seen, "builtin:echo:echo;") != NULL, "%s", seen);
	/* A decision function is installed: the program is opened first and its real path is sent. */
	char real[PATH_MAX], want[PATH_MAX + 32];
	cr_assert(realpath("/bin/true", real) != NULL);
	snprintf(want, sizeof want, "command:%s:/bin/true;", real);
	cr_expect(strstr(seen, want) != NULL, "%s", seen);
	cr_expect(strstr(seen, "builtin:printf:printf;") != NULL, "%s", seen);
	cr_expect(strstr(seen, "builtin:command:command;builtin:true:true;") != NULL, "%s", seen);
	cr_expect_str_eq(var_get("x"), "b");
}

Test(gate, full_path_after_path_search)
{
	eval_string("true_alias() { env true; }; true_alias", "t", 0);
	/* the function is resolved, then the program env is found in PATH: the gate sees its path */
	char real[PATH_MAX], want[PATH_MAX + 32];
	cr_assert(realpath("/usr/bin/env", real) != NULL);
	snprintf(want, sizeof want, "command:%s:env;", real);
	cr_expect(strstr(seen, want) != NULL, "%s", seen);
}

Test(gate, denied_program_does_not_run)
{
	static char real[PATH_MAX];
	cr_assert(realpath("/bin/echo", real) != NULL);
	deny_name = real;
	int st = eval_string("/bin/echo no", "t", 0);
	cr_expect_eq(st, 126);
}

Test(gate, denied_redirection_opens_nothing)
{
	char path[] = "/tmp/pbsh-gate-XXXXXX";
	cr_assert(mkdtemp(path) != NULL);
	char file[128], cmd[256];
	snprintf(file, sizeof file, "%s/f", path);
	snprintf(cmd, sizeof cmd, "true >%s", file);
	deny_name = file;
	int st = eval_string(cmd, "t", 0);
	cr_expect_neq(st, 0);
	cr_expect_neq(access(file, F_OK), 0, "the denied file was created");
	rmdir(path);
}

Test(gate, denied_builtin_gives_1)
{
	deny_name = "echo";
	cr_expect_eq(eval_string("echo no", "t", 0), 1);
}
