/* SPDX-License-Identifier: ISC */
/* Unit tests of pbksh's completion (which words finish the one under the cursor) and of the history file format. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "complete.h"
#include "eval.h"
#include "history.h"
#include "trap.h"
#include "var.h"

static char dir[64];

static void touch(const char *name, int mode)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	cr_assert(fd >= 0);
	close(fd);
}

static void setup(void)
{
	strcpy(dir, "/tmp/pbcomplXXXXXX");
	cr_assert(mkdtemp(dir) != NULL);
	char path[128], home[128];
	snprintf(path, sizeof path, "PATH=%s/bin", dir);
	snprintf(home, sizeof home, "HOME=%s", dir);
	char *env[] = {path, home, NULL};
	var_init(env);
	trap_init();
	char p[256];
	snprintf(p, sizeof p, "%s/bin", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/sub dir", dir);
	mkdir(p, 0755);
	touch("bin/zzprog", 0755);
	touch("bin/zzdata", 0644);
	touch("file one", 0644);
	touch("file two", 0644);
	touch(".hidden", 0644);
	cr_assert(chdir(dir) == 0);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_expect(system(cmd) == 0);
}

TestSuite(complete, .init = setup, .fini = teardown);

/* The candidates for the line (cursor at its end), joined by '|'. */
static char *cands(const char *line, enum complete_kind *kind)
{
	struct completion c;
	complete_line(line, strlen(line), &c);
	static char buf[1024];
	buf[0] = '\0';
	for (size_t i = 0; i < c.n; i++) {
		strcat(buf, i ? "|" : "");
		strcat(buf, c.v[i]);
	}
	if (kind)
		*kind = c.kind;
	complete_free(&c);
	return buf;
}

Test(complete, commands_from_path_builtins_functions_aliases)
{
	enum complete_kind k;
	/* Only executables of PATH. */
	cr_expect_str_eq(cands("zz", &k), "zzprog ");
	cr_expect_eq(k, COMPLETE_COMMAND);
	eval_string("zzfunc() { :; }; alias zzal=true", "t", 0);
	cr_expect_str_eq(cands("echo x; zz", NULL), "zzal |zzfunc |zzprog ");
	cr_expect_str_eq(cands("ex", NULL), "exec |exit |export ");
	/* After a command keyword and after assignments, still a command. */
	cr_expect_str_eq(cands("if zzp", NULL), "zzprog ");
	cr_expect_str_eq(cands("A=1 B=2 zzp", NULL), "zzprog ");
	cr_expect_str_eq(cands("x=$(zzp", NULL), "zzprog ");
}

Test(complete, files_after_the_command_word)
{
	enum complete_kind k;
	cr_expect_str_eq(cands("cat fi", &k), "file one |file two ");
	cr_expect_eq(k, COMPLETE_FILE);
	/* Folders end in '/', hidden files only when asked for. */
	cr_expect_str_eq(cands("ls s", NULL), "sub dir/");
	cr_expect_str_eq(cands("ls .h", NULL), ".hidden ");
	/* A quoted or escaped prefix is matched without its quoting. */
	cr_expect_str_eq(cands("cat 'file o", NULL), "file one ");
	cr_expect_str_eq(cands("cat file\\ t", NULL), "file two ");
	cr_expect_str_eq(cands("cat ~/file\\ t", NULL), "~/file two ");
	/* Redirection targets are files even where a command could start. */
	cr_expect_str_eq(cands("echo x >fi", NULL), "file one |file two ");
	cr_expect_str_eq(cands("cat nothing", NULL), "");
}

Test(complete, variables)
{
	enum complete_kind k;
	eval_string("zzvar_a=1 zzvar_b=2", "t", 0);
	cr_expect_str_eq(cands("echo $zzv", &k), "zzvar_a|zzvar_b");
	cr_expect_eq(k, COMPLETE_VARIABLE);
	cr_expect_str_eq(cands("echo \"${zzvar_", NULL), "zzvar_a|zzvar_b");
	/* An escaped dollar is no variable. */
	cr_expect_eq((cands("echo \\$zzv", &k), k), COMPLETE_FILE);
}

Test(complete, common_prefix_and_quoting)
{
	struct completion c;
	complete_line("cat fi", 6, &c);
	cr_expect_eq(complete_common(&c), strlen("file "));
	complete_free(&c);
	char *q = complete_quote("a b$c ");
	cr_expect_str_eq(q, "a\\ b\\$c ");
	free(q);
}

Test(complete, history_file_round_trip)
{
	char hf[128];
	snprintf(hf, sizeof hf, "%s/hist", dir);
	var_set("HISTFILE", hf, 0);
	var_set("HISTSIZE", "3", 0);
	FILE *f = fopen(hf, "w");
	cr_assert(f != NULL);
	/* Eight entries, one of two lines: more than twice HISTSIZE, so the file is cut back. */
	fputs("e1\ne2\ne3\ne4\nfor i in 1\n\tdo :; done\ne6\ne7\n", f);
	fclose(f);
	hist_load();
	cr_expect_eq(hist_number(), 4); /* three entries kept: the next command is the 4th */
	hist_add("echo a\n  b\n");
	f = fopen(hf, "r");
	cr_assert(f != NULL);
	char buf[256] = "";
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	cr_expect_str_eq(buf, "for i in 1\n\tdo :; done\ne6\ne7\necho a\n\t  b\n");
}
