/* SPDX-License-Identifier: ISC */
/* Builtins that act on the shell itself: control flow, variables, options, positional parameters, dot, eval, cd. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alias.h"
#include "arith.h"
#include "builtin.h"
#include "eval.h"
#include "exec.h"
#include "input.h"
#include "jobs.h"
#include "options.h"
#include "parse.h"
#include "restrict.h"
#include "session.h"
#include "shell.h"
#include "var.h"

/* Parse a non-negative decimal count for exit/return/shift/break; -1 if invalid. */
static long parse_count(const char *s)
{
	char *end;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (*s == '\0' || *end || errno || n < 0)
		return -1;
	return n;
}

int c_exit(int argc, char **argv)
{
	int st = sh_exitstatus;
	if (argc > 1) {
		long n = parse_count(argv[1]);
		if (n < 0)
			sh_errorf(2, "exit: %s: bad number", argv[1]);
		st = (int)(n & 0xff);
	}
	/* An interactive shell with stopped jobs warns once before leaving them. */
	if (opt[OPT_INTERACTIVE] && jobs_exit_blocked(hist_number()))
		return 1;
	sh_unwind(SH_EXIT, st);
}

int c_return(int argc, char **argv)
{
	int st = sh_exitstatus;
	if (argc > 1) {
		long n = parse_count(argv[1]);
		if (n < 0)
			sh_errorf(2, "return: %s: bad number", argv[1]);
		st = (int)(n & 0xff);
	}
	sh_unwind(SH_RETURN, st);
}

static int loop_ctl(int argc, char **argv, int kind)
{
	long n = 1;
	if (argc > 1) {
		n = parse_count(argv[1]);
		if (n < 1)
			sh_errorf(2, "%s: %s: bad number", argv[0], argv[1]);
	}
	if (sh_loopdepth == 0)
		return 0;
	sh_loop_count = n > sh_loopdepth ? sh_loopdepth : (int)n;
	sh_unwind(kind, 0);
}

int c_break(int argc, char **argv)
{
	return loop_ctl(argc, argv, SH_BREAK);
}

int c_continue(int argc, char **argv)
{
	return loop_ctl(argc, argv, SH_CONTINUE);
}

int c_eval(int argc, char **argv)
{
	if (argc < 2)
		return 0;
	struct strbuf sb;
	sb_init(&sb);
	for (int i = 1; i < argc; i++) {
		if (i > 1)
			sb_putc(&sb, ' ');
		sb_puts(&sb, argv[i]);
	}
	return eval_string(sb_str(&sb), NULL, sh_builtin_flags & EV_TESTED);
}

/* Find a dot script: a name with a slash as is, else the first readable file in PATH. */
static char *find_dot(const char *name)
{
	if (strchr(name, '/'))
		return ststrdup(name);
	const char *path = var_get("PATH");
	struct strbuf sb;
	for (const char *p = path ? path : ""; ;) {
		const char *colon = strchr(p, ':');
		size_t dl = colon ? (size_t)(colon - p) : strlen(p);
		sb_init(&sb);
		sb_putn(&sb, dl ? p : ".", dl ? dl : 1);
		sb_putc(&sb, '/');
		sb_puts(&sb, name);
		struct stat st;
		if (stat(sb_str(&sb), &st) == 0 && S_ISREG(st.st_mode) && faccessat(AT_FDCWD, sb_str(&sb), R_OK, AT_EACCESS) == 0)
			return sb_str(&sb);
		if (!colon)
			break;
		p = colon + 1;
	}
	return NULL;
}

int c_dot(int argc, char **argv)
{
	int i = 1;
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc)
		sh_errorf(2, ".: filename argument required");
	static int dot_depth;
	if (dot_depth >= 500)
		sh_errorf(2, ".: %s: nesting too deep", argv[i]);
	char *path = find_dot(argv[i]);
	if (path == NULL)
		sh_errorf(2, ".: %s: not found", argv[i]);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		sh_errorf(2, ".: cannot open %s: %s", path, strerror(errno));
	fd = sh_move_fd_high(fd);
	int depth = input_depth();
	/* shelllogincludefiles: the text logged is exactly the text run. */
	char *text = session_on ? session_include(path, fd) : NULL;
	if (text)
		input_push_string(text, path, 1);
	else
		input_push_fd(fd, path, 1, 0);
	struct posparams saved;
	bool args = i + 1 < argc;
	if (args)
		pos_save(&saved, argv + i + 1, argc - i - 1);
	volatile int status = 0, kind = 0, st = 0;
	int evflags = sh_builtin_flags & EV_TESTED;
	struct sh_jmp j;
	dot_depth++;
	sh_push(&j);
	if (setjmp(j.jb) == 0) {
		status = eval_input(0, false, evflags);
		sh_pop(&j);
	} else if (j.kind == SH_RETURN) {
		status = j.status;
	} else {
		kind = j.kind;
		st = j.status;
	}
	dot_depth--;
	input_pop_to(depth);
	close(fd);
	free(text);
	if (args)
		pos_restore(&saved);
	if (kind)
		sh_unwind(kind, st);
	return status;
}

/* export / readonly: name[=value] operands, or -p to list. */
static int declare(int argc, char **argv, unsigned flag, int listmode)
{
	int i = 1;
	bool print = false;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "-p") == 0)
			print = true;
		else
			sh_errorf(2, "%s: %s: bad option", argv[0], argv[i]);
	}
	if (i >= argc) {
		(void)print;
		var_list(listmode);
		return 0;
	}
	for (; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		size_t nl = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
		if (!var_valid_name(argv[i], nl))
			sh_errorf(2, "%s: %s: bad variable name", argv[0], argv[i]);
		if (eq)
			var_setn(argv[i], nl, eq + 1, flag);
		else
			var_setn(argv[i], nl, NULL, flag);
	}
	return 0;
}

int c_export(int argc, char **argv)
{
	return declare(argc, argv, V_EXPORT, 'x');
}

int c_readonly(int argc, char **argv)
{
	return declare(argc, argv, V_READONLY, 'r');
}

int c_local(int argc, char **argv)
{
	if (!var_in_function()) {
		sh_warnf("local: not in a function");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		size_t nl = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
		if (!var_valid_name(argv[i], nl)) {
			sh_warnf("local: %s: bad variable name", argv[i]);
			return 1;
		}
		char *name = ststrndup(argv[i], nl);
		var_make_local(name);
		if (eq) {
			var_set(name, eq + 1, 0);
		} else if (var_get(name) != NULL) {
			/* A local without a value starts out unset. */
			var_unset(name);
		}
	}
	return 0;
}

int c_unset(int argc, char **argv)
{
	int mode = 'v';
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		for (const char *p = argv[i] + 1; *p; p++) {
			if (*p == 'f' || *p == 'v')
				mode = *p;
			else
				sh_errorf(2, "unset: -%c: bad option", *p);
		}
	}
	int ret = 0;
	for (; i < argc; i++) {
		if (mode == 'f') {
			func_unset(argv[i]);
			continue;
		}
		const char *br = strchr(argv[i], '[');
		size_t len = strlen(argv[i]);
		if (br && len > 0 && argv[i][len - 1] == ']' && var_valid_name(argv[i], (size_t)(br - argv[i]))) {
			/* unset a[i] (ksh); a[@] and a[*] unset the whole array. */
			char *name = ststrndup(argv[i], (size_t)(br - argv[i]));
			char *sub = ststrndup(br + 1, (size_t)(argv[i] + len - 1 - br - 1));
			struct var *v = var_lookup(name);
			if (v && (v->flags & V_READONLY))
				sh_errorf(2, "unset: %s: is read only", name);
			if (strcmp(sub, "@") == 0 || strcmp(sub, "*") == 0)
				var_unset(v ? ststrndup(v->text, v->nlen) : name);
			else
				var_unset_elem(name, var_check_index(arith_eval(sub)));
			continue;
		}
		if (!var_valid_name(argv[i], (size_t)-1)) {
			sh_warnf("unset: %s: bad variable name", argv[i]);
			ret = 1;
			continue;
		}
		struct var *v = var_lookup(argv[i]);
		if (v && (v->flags & V_READONLY))
			sh_errorf(2, "unset: %s: is read only", argv[i]);
		var_unset(argv[i]);
	}
	return ret;
}

int c_set(int argc, char **argv)
{
	if (argc == 1) {
		var_list(0);
		return 0;
	}
	if ((argv[1][0] == '-' || argv[1][0] == '+') && argv[1][1] == 'A' && argv[1][2] == '\0') {
		/* set -A name values (ksh): the array becomes the values; set +A only overwrites the first ones. */
		if (argc < 3 || !var_valid_name(argv[2], (size_t)-1))
			sh_errorf(2, "set: %s: %s", argv[1], argc < 3 ? "name expected" : "bad variable name");
		int first = argc > 3 && strcmp(argv[3], "--") == 0 ? 4 : 3; /* set -A a -- -x: values may start with - */
		var_set_array(argv[2], argv + first, argc - first, argv[1][0] == '-');
		return 0;
	}
	char **av = argv + 1;
	int r = opt_parse_args(&av, false, NULL);
	if (r < 0)
		sh_unwind(SH_ERROR, 2);
	bool setpos = *av != NULL || (av > argv + 1 && (strcmp(av[-1], "--") == 0 || strcmp(av[-1], "-") == 0));
	if (setpos) {
		int n = 0;
		while (av[n])
			n++;
		pos_set(av, n);
	}
	return 0;
}

int c_shift(int argc, char **argv)
{
	long n = 1;
	if (argc > 1) {
		n = parse_count(argv[1]);
		if (n < 0)
			sh_errorf(2, "shift: %s: bad number", argv[1]);
	}
	if (n > sh_pos.n)
		sh_errorf(2, "shift: can't shift that many");
	if (n == 0)
		return 0;
	if (sh_pos.owned) {
		for (long i = 0; i < n; i++)
			free(sh_pos.v[i]);
		memmove(sh_pos.v, sh_pos.v + n, (size_t)(sh_pos.n - n + 1) * sizeof *sh_pos.v);
	} else {
		sh_pos.v += n;
	}
	sh_pos.n -= (int)n;
	return 0;
}

int c_let(int argc, char **argv)
{
	if (argc < 2) {
		sh_warnf("let: expression expected");
		return 1;
	}
	long long v = 0;
	for (int i = 1; i < argc; i++)
		v = arith_eval(argv[i]);
	return v == 0;
}

/* ---- aliases ---- */

static void print_alias(const struct alias *a, void *ctx)
{
	/* ctx: list only tracked aliases (alias -t), else only ordinary ones. */
	if (ctx && ((a->flags & ALIAS_TRACKED) != 0) != *(bool *)ctx)
		return;
	out_printf("%s='", a->name);
	for (const char *s = a->value; *s; s++) {
		if (*s == '\'')
			out_str("'\\''");
		else
			out_char(*s);
	}
	out_str("'\n");
}

/* alias -t name...: remember each program's path as a tracked alias (ksh); -t alone lists them. */
static int track_aliases(char **names)
{
	bool tracked = true;
	if (*names == NULL) {
		alias_foreach(print_alias, &tracked);
		return 0;
	}
	int ret = 0;
	for (; *names; names++) {
		const char *name = *names;
		struct alias *a = alias_lookup(name);
		if (a && !(a->flags & ALIAS_TRACKED))
			continue; /* an ordinary alias of that name stays */
		char *path = strchr(name, '/') || builtin_lookup(name) || func_lookup(name) ? NULL :
			     path_search(name, var_get("PATH"));
		if (path == NULL) {
			sh_warnf("alias: %s: not found", name);
			ret = 1;
			continue;
		}
		alias_set(name, path, ALIAS_TRACKED);
	}
	return ret;
}

int c_alias(int argc, char **argv)
{
	/* -x: ksh88's exported aliases; accepted and ignored, as mksh does */
	unsigned f;
	int i = builtin_flags(argc, argv, "tx", &f);
	if (i < 0)
		return 2;
	if (f & 1)
		return track_aliases(argv + i);
	if (i >= argc) {
		bool tracked = false;
		alias_foreach(print_alias, &tracked);
		return 0;
	}
	int ret = 0;
	for (; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (eq == NULL) {
			struct alias *a = alias_lookup(argv[i]);
			if (a)
				print_alias(a, NULL);
			else {
				sh_warnf("alias: %s: not found", argv[i]);
				ret = 1;
			}
			continue;
		}
		char *name = ststrndup(argv[i], (size_t)(eq - argv[i]));
		if (alias_set(name, eq + 1, 0) < 0) {
			sh_warnf("alias: %s: invalid alias name", name);
			ret = 1;
		}
	}
	return ret;
}

int c_unalias(int argc, char **argv)
{
	int i = 1;
	if (i < argc && strcmp(argv[i], "-a") == 0) {
		alias_clear(false);
		return 0;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc) {
		sh_warnf("unalias: usage: unalias [-a] name...");
		return 2;
	}
	int ret = 0;
	for (; i < argc; i++) {
		if (alias_unset(argv[i]) < 0) {
			sh_warnf("unalias: %s: not found", argv[i]);
			ret = 1;
		}
	}
	return ret;
}

/* ---- directories ---- */

/* Make an absolute path canonical without looking at the file system: drop ".", "..", and duplicate slashes. */
static char *canon_path(const char *path)
{
	size_t n = strlen(path);
	char *out = stalloc(n + 2);
	size_t o = 0;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = p;
		while (*e && *e != '/')
			e++;
		size_t len = (size_t)(e - p);
		if (len == 0)
			break;
		if (len == 1 && p[0] == '.') {
			/* skip */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			out[o++] = '/';
			memcpy(out + o, p, len);
			o += len;
		}
		p = e;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	/* POSIX keeps a leading "//" as is; other shells do too. */
	return out;
}

static int do_chdir(const char *dir, bool physical, bool print)
{
	const char *pwd = var_get("PWD");
	char *target;
	if (!physical) {
		if (dir[0] == '/')
			target = canon_path(dir);
		else if (pwd && pwd[0] == '/')
			target = canon_path(stprintf("%s/%s", pwd, dir));
		else
			target = (char *)dir;
		if (chdir(target) != 0) {
			/* The logical path failed (e.g. .. through a symlink that vanished): try the physical one. */
			if (chdir(dir) != 0)
				return -1;
			physical = true;
		}
	} else if (chdir(dir) != 0) {
		return -1;
	}
	char *newpwd;
	if (physical) {
		char *cwd = getcwd(NULL, 0);
		newpwd = cwd ? ststrdup(cwd) : (char *)dir;
		free(cwd);
	} else {
		newpwd = target;
	}
	var_set("OLDPWD", pwd ? pwd : "", V_EXPORT);
	var_set("PWD", newpwd, V_EXPORT);
	if (print)
		out_printf("%s\n", newpwd);
	return 0;
}

int c_cd(int argc, char **argv)
{
	if (restrict_on()) {
		restrict_refuse("cd");
		return 2;
	}
	bool physical = false;
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		bool ok = true;
		for (const char *p = argv[i] + 1; *p; p++) {
			if (*p == 'L')
				physical = false;
			else if (*p == 'P')
				physical = true;
			else
				ok = false;
		}
		if (!ok) {
			sh_warnf("cd: %s: bad option", argv[i]);
			return 2;
		}
	}
	const char *dir = i < argc ? argv[i] : NULL;
	bool print = false;
	if (dir == NULL) {
		dir = var_get("HOME");
		if (dir == NULL || *dir == '\0') {
			sh_warnf("cd: HOME not set");
			return 1;
		}
	} else if (strcmp(dir, "-") == 0) {
		dir = var_get("OLDPWD");
		if (dir == NULL || *dir == '\0') {
			sh_warnf("cd: OLDPWD not set");
			return 1;
		}
		print = true;
	}
	/* CDPATH applies to names that do not start with /, . or .. */
	const char *cdpath = var_get("CDPATH");
	if (cdpath && *cdpath && dir[0] != '/' && strncmp(dir, "./", 2) != 0 && strcmp(dir, ".") != 0
	    && strncmp(dir, "../", 3) != 0 && strcmp(dir, "..") != 0) {
		for (const char *p = cdpath;;) {
			const char *colon = strchr(p, ':');
			size_t dl = colon ? (size_t)(colon - p) : strlen(p);
			char *cand = dl ? stprintf("%.*s/%s", (int)dl, p, dir) : stprintf("./%s", dir);
			struct stat st;
			if (stat(cand, &st) == 0 && S_ISDIR(st.st_mode)) {
				if (do_chdir(cand, physical, dl != 0) == 0)
					return 0;
			}
			if (!colon)
				break;
			p = colon + 1;
		}
	}
	if (do_chdir(dir, physical, print) != 0) {
		sh_warnf("cd: %s: %s", dir, strerror(errno));
		return 1;
	}
	return 0;
}

int c_pwd(int argc, char **argv)
{
	bool physical = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-P") == 0)
			physical = true;
		else if (strcmp(argv[i], "-L") == 0)
			physical = false;
		else {
			sh_warnf("pwd: %s: bad option", argv[i]);
			return 2;
		}
	}
	const char *pwd = var_get("PWD");
	if (!physical && pwd && pwd[0] == '/' && same_file(pwd, ".")) {
		out_printf("%s\n", pwd);
		return 0;
	}
	char *cwd = getcwd(NULL, 0);
	if (cwd == NULL) {
		sh_warnf("pwd: %s", strerror(errno));
		return 1;
	}
	out_printf("%s\n", cwd);
	free(cwd);
	return 0;
}

/* ---- getopts ---- */

int c_getopts(int argc, char **argv)
{
	if (argc < 3) {
		sh_warnf("getopts: usage: getopts optstring name [arg ...]");
		return 2;
	}
	const char *optstr = argv[1];
	const char *name = argv[2];
	char **args = argc > 3 ? argv + 3 : sh_pos.v;
	int nargs = argc > 3 ? argc - 3 : sh_pos.n;
	bool silent = optstr[0] == ':';
	struct var *rv = var_lookup(name);
	if (rv && (rv->flags & V_READONLY)) {
		sh_warnf("getopts: %s: is read only", name);
		return 2;
	}
	const char *oi = var_get("OPTIND");
	long optind = oi ? strtol(oi, NULL, 10) : 1;
	if (optind < 1) {
		optind = 1;
		getopts_offset = 0;
	}
	int offset = getopts_offset;
	char cbuf[2] = {0, 0};
	/* End of options: no more words, a word not starting with -, "-" alone, or "--". */
	if (optind > nargs || args[optind - 1][0] != '-' || args[optind - 1][1] == '\0'
	    || (offset == 0 && strcmp(args[optind - 1], "--") == 0)) {
		if (optind <= nargs && offset == 0 && strcmp(args[optind - 1], "--") == 0)
			optind++;
		var_set_int("OPTIND", optind);
		getopts_offset = 0;
		var_unset("OPTARG");
		var_set(name, "?", 0);
		return 1;
	}
	const char *word = args[optind - 1];
	if (offset == 0)
		offset = 1;
	char c = word[offset];
	cbuf[0] = c;
	const char *spec = c != ':' ? strchr(optstr + silent, c) : NULL;
	offset++;
	bool next_word = word[offset] == '\0';
	int ret = 0;
	if (spec == NULL) {
		if (silent) {
			var_set("OPTARG", cbuf, 0);
		} else {
			sh_warnf("getopts: illegal option -- %c", c);
			var_unset("OPTARG");
		}
		var_set(name, "?", 0);
	} else if (spec[1] == ':') {
		if (!next_word) {
			var_set("OPTARG", word + offset, 0);
			next_word = true;
			var_set(name, cbuf, 0);
		} else if (optind < nargs) {
			var_set("OPTARG", args[optind], 0);
			optind++;
			var_set(name, cbuf, 0);
		} else {
			if (silent) {
				var_set("OPTARG", cbuf, 0);
				var_set(name, ":", 0);
			} else {
				sh_warnf("getopts: option requires an argument -- %c", c);
				var_unset("OPTARG");
				var_set(name, "?", 0);
			}
		}
	} else {
		var_unset("OPTARG");
		var_set(name, cbuf, 0);
	}
	if (next_word) {
		optind++;
		offset = 0;
	}
	var_set_int("OPTIND", optind);
	/* Set after OPTIND: assigning OPTIND resets the offset. */
	getopts_offset = offset;
	return ret;
}
