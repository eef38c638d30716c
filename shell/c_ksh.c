/* SPDX-License-Identifier: ISC */
/* The Korn shell builtins that declare and show: typeset (and integer), print, whence. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alias.h"
#include "arith.h"
#include "builtin.h"
#include "exec.h"
#include "expand.h"
#include "parse.h"
#include "session.h"
#include "shell.h"
#include "var.h"

/* ---- typeset ---- */

/* The letters of typeset and the attribute each one sets, in the order `typeset -p` prints them. */
static const struct {
	char letter;
	unsigned flag;
} attr_letters[] = {
	{'i', V_INTEGER}, {'l', V_LOWER}, {'u', V_UPPER}, {'L', V_LJUST}, {'R', V_RJUST},
	{'Z', V_ZFILL}, {'n', V_NAMEREF}, {'r', V_READONLY}, {'x', V_EXPORT},
};

struct tsopts {
	unsigned on, off;   /* attributes named with - and with + */
	int width, base;    /* -L/-R/-Z n, -i n */
	bool func, print;   /* -f, -p */
	bool plus_list;     /* +attr without operands: list names only */
};

/* Print one variable as a typeset command that recreates it. */
static void print_decl(struct var *v)
{
	struct strbuf sb;
	sb_init(&sb);
	for (size_t i = 0; i < sizeof attr_letters / sizeof attr_letters[0]; i++) {
		unsigned f = attr_letters[i].flag;
		if (!(v->flags & f))
			continue;
		sb_printf(&sb, " -%c", attr_letters[i].letter);
		if (f == V_INTEGER && v->base && v->base != 10)
			sb_printf(&sb, "%d", v->base);
		if ((f == V_LJUST || f == V_RJUST || (f == V_ZFILL && !(v->flags & (V_LJUST | V_RJUST)))) && v->width)
			sb_printf(&sb, "%u", v->width);
	}
	const char *attrs = sb_str(&sb);
	size_t n = var_array_count(v);
	if ((v->flags & V_ARRAY) && v->arr && v->arr->n > 0) {
		out_printf("set -A %.*s\n", (int)v->nlen, v->text);
		for (size_t i = 0; i < n; i++) {
			long idx;
			const char *val = var_array_nth(v, i, &idx);
			out_printf("typeset%s %.*s[%ld]=", attrs, (int)v->nlen, v->text, idx);
			var_print_value(val);
			out_char('\n');
		}
		return;
	}
	const char *val = var_value(v);
	out_printf("typeset%s %.*s", attrs, (int)v->nlen, v->text);
	if (val) {
		out_char('=');
		var_print_value(val);
	}
	out_char('\n');
}

struct listctx {
	const struct tsopts *o;
};

/* typeset without operands: the variables that have every attribute asked for. */
static void list_cb(struct var *v, void *ctx)
{
	const struct tsopts *o = ((struct listctx *)ctx)->o;
	unsigned want = o->on | o->off;
	if ((v->flags & want) != want)
		return;
	if ((v->flags & V_UNSET) && !(v->flags & V_ARRAY) && want == 0)
		return;
	if (o->print || want == 0) {
		print_decl(v);
		return;
	}
	if (o->plus_list) {
		out_printf("%.*s\n", (int)v->nlen, v->text);
		return;
	}
	const char *val = var_value(v);
	if (val == NULL) {
		out_printf("%.*s\n", (int)v->nlen, v->text);
		return;
	}
	out_printf("%.*s=", (int)v->nlen, v->text);
	var_print_value(val);
	out_char('\n');
}

static void func_name_cb(struct func *f, void *ctx)
{
	(void)ctx;
	out_printf("%s\n", f->name);
}

static void func_body_cb(struct func *f, void *ctx)
{
	(void)ctx;
	func_print(f);
}

/* typeset -f [names]: function definitions (+f: names only). */
static int typeset_functions(const struct tsopts *o, char **names)
{
	if (*names == NULL) {
		func_foreach(o->plus_list ? func_name_cb : func_body_cb, NULL);
		return 0;
	}
	int ret = 0;
	for (; *names; names++) {
		struct func *f = func_lookup(*names);
		if (f == NULL) {
			ret = 1;
			continue;
		}
		if (o->plus_list)
			out_printf("%s\n", f->name);
		else
			func_print(f);
	}
	return ret;
}

/* Parse the option words; returns the index of the first operand, or -1 after a message. */
static int typeset_options(int argc, char **argv, struct tsopts *o)
{
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if ((a[0] != '-' && a[0] != '+') || a[1] == '\0')
			break;
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		bool on = a[0] == '-';
		for (const char *p = a + 1; *p; p++) {
			unsigned f = 0;
			for (size_t k = 0; k < sizeof attr_letters / sizeof attr_letters[0]; k++)
				if (attr_letters[k].letter == *p)
					f = attr_letters[k].flag;
			if (*p == 'f') {
				o->func = true;
				o->plus_list |= !on;
				continue;
			}
			if (*p == 'p') {
				o->print = true;
				continue;
			}
			if (*p == 'a')
				continue; /* ksh93/bash "indexed array": every variable already is one */
			if (f == 0) {
				sh_warnf("%s: %c%c: unknown option", argv[0], a[0], *p);
				return -1;
			}
			if (on) {
				o->on |= f;
				o->off &= ~f;
			} else {
				o->off |= f;
				o->on &= ~f;
				o->plus_list = true;
			}
			if (on && (*p == 'i' || *p == 'L' || *p == 'R' || *p == 'Z') && p[1] >= '0' && p[1] <= '9') {
				char *end;
				long n = strtol(p + 1, &end, 10);
				if (*p == 'i') {
					if (n < 2 || n > 64) {
						sh_warnf("%s: %ld: bad base", argv[0], n);
						return -1;
					}
					o->base = (int)n;
				} else {
					o->width = n > 0xffff ? 0xffff : (int)n;
				}
				p = end - 1;
			}
		}
	}
	return i;
}

/* One operand name[=value] (or name[sub]=value). */
static int typeset_one(const char *who, const char *arg, const struct tsopts *o, bool local)
{
	const char *eq = strchr(arg, '=');
	size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
	const char *br = memchr(arg, '[', nl);
	long idx = -1;
	if (br) {
		/* typeset -i a[3] / typeset a[2]=x: an element (the attributes are the array's). */
		if (arg[nl - 1] != ']') {
			sh_warnf("%s: %s: bad variable name", who, arg);
			return 1;
		}
		idx = var_check_index(arith_eval(ststrndup(br + 1, (size_t)(arg + nl - 1 - br - 1))));
		nl = (size_t)(br - arg);
	}
	if (!var_valid_name(arg, nl)) {
		sh_warnf("%s: %s: bad variable name", who, arg);
		return 1;
	}
	char *name = ststrndup(arg, nl);
	if (o->print && !eq && (o->on | o->off) == 0) {
		struct var *v = var_raw_lookup(name);
		if (v == NULL)
			return 1;
		print_decl(v);
		return 0;
	}
	if (local && var_make_local(name)) {
		/* A new local starts unset; only what this command gives it. */
		struct var *v = var_raw_lookup(name);
		if (v && !(v->flags & V_READONLY)) {
			var_unset(name);
			var_set(name, NULL, 0);
			v = var_raw_lookup(name);
			v->flags &= V_UNSET | V_EXPORT;
		}
	}
	unsigned on = o->on & ~V_READONLY, off = o->off;
	if ((on | off) || o->width || o->base)
		if (var_set_attrs(name, on, off, o->width, o->base) < 0)
			return 1;
	if (eq) {
		if (o->on & V_NAMEREF) {
			if (!var_valid_name(eq + 1, (size_t)-1) || strcmp(eq + 1, name) == 0) {
				sh_warnf("%s: %s: bad reference name", who, eq + 1);
				return 1;
			}
			var_setn(name, nl, eq + 1, V_NAMEREF | V_NOERR);
		} else if (idx > 0) {
			var_set_elem(name, idx, eq + 1);
		} else if (var_set(name, eq + 1, V_NOERR) < 0) {
			return 1;
		}
	} else if (var_raw_lookup(name) == NULL) {
		var_set(name, NULL, 0);
	}
	if (o->on & V_READONLY)
		var_set_attrs(name, V_READONLY, 0, 0, 0);
	return 0;
}

static int typeset_with(int argc, char **argv, struct tsopts *o)
{
	int i = typeset_options(argc, argv, o);
	if (i < 0)
		return 2;
	if (o->func)
		return typeset_functions(o, argv + i);
	if (i >= argc) {
		struct listctx c = {o};
		var_foreach(list_cb, &c);
		return 0;
	}
	/* In a function, typeset makes the variables local (mksh: in both kinds of function). */
	bool local = sh_funcdepth > 0 && var_in_function();
	int ret = 0;
	for (; i < argc; i++)
		ret |= typeset_one(argv[0], argv[i], o, local);
	return ret;
}

int c_typeset(int argc, char **argv)
{
	struct tsopts o = {0};
	return typeset_with(argc, argv, &o);
}

int c_integer(int argc, char **argv)
{
	struct tsopts o = {.on = V_INTEGER};
	return typeset_with(argc, argv, &o);
}

/* ---- print ---- */

int c_print(int argc, char **argv)
{
	bool nl = true, escapes = true, history = false;
	int fd = 1;
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-')
			break;
		if (strcmp(a, "--") == 0 || strcmp(a, "-") == 0) {
			i++; /* `print - args`: the - ends the options and is not printed (ksh) */
			break;
		}
		bool raw_bsd = false;
		for (const char *p = a + 1; *p; p++) {
			switch (*p) {
			case 'n': nl = false; break;
			case 'r': escapes = false; break;
			case 'R': escapes = false; raw_bsd = true; break;
			case 'e': escapes = true; break;
			case 's': history = true; break;
			case 'p':
				if (coproc_wfd < 0) {
					sh_warnf("print: -p: no coprocess");
					return 1;
				}
				fd = coproc_wfd;
				break;
			case 'u':
				if (p[1] >= '0' && p[1] <= '9') {
					fd = (int)strtol(p + 1, NULL, 10);
					p += strspn(p + 1, "0123456789");
				} else if (i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9') {
					fd = (int)strtol(argv[++i], NULL, 10);
					goto next_word; /* the rest of this word is done */
				} else {
					fd = 1;
				}
				break;
			default:
				sh_warnf("print: -%c: unknown option", *p);
				return 2;
			}
		}
	next_word:
		if (raw_bsd) {
			/* -R: only -n is an option after it (BSD echo). */
			for (i++; i < argc && strcmp(argv[i], "-n") == 0; i++)
				nl = false;
			break;
		}
	}
	if (history) {
		/* print -s: the text becomes a history entry (for fc and the editor), nothing is written. */
		struct outbuf mem = {.fd = -1};
		struct outbuf *saved_out = sh_out;
		sh_out = &mem;
		echo_words(argv + i, escapes, false);
		out_char('\0');
		sh_out = saved_out;
		hist_add(mem.buf);
		free(mem.buf);
		return 0;
	}
	if (session_fd_reserved(fd) || fcntl(fd, F_GETFD) < 0) {
		sh_warnf("print: %d: bad file descriptor", fd);
		return 1;
	}
	if (fd == 1)
		return echo_words(argv + i, escapes, nl);
	/* Another descriptor: write through the same buffer, flushed to that fd. */
	out_flush();
	int saved = sh_out->fd;
	sh_out->fd = fd;
	echo_words(argv + i, escapes, nl);
	int r = out_flush();
	sh_out->fd = saved;
	if (r < 0) {
		sh_warnf("print: write error: %s", strerror(errno));
		return 1;
	}
	return 0;
}

/* ---- whence ---- */

/* Every program called name in PATH (whence -a). */
static int path_all(const char *name, bool verbose)
{
	const char *path = var_get("PATH");
	int found = 0;
	if (path == NULL)
		return 0;
	for (const char *p = path;;) {
		const char *c = strchr(p, ':');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		char *file = n ? stprintf("%.*s/%s", (int)n, p, name) : stprintf("%s", name);
		struct stat st;
		if (stat(file, &st) == 0 && S_ISREG(st.st_mode) && access(file, X_OK) == 0) {
			if (verbose)
				out_printf("%s is %s\n", name, file);
			else
				out_printf("%s\n", file);
			found++;
		}
		if (c == NULL)
			break;
		p = c + 1;
	}
	return found;
}

/* whence -p: the program only; 0 if found. */
static int whence_path(const char *name, bool verbose)
{
	char *file = strchr(name, '/') ? (access(name, X_OK) == 0 ? (char *)name : NULL) : path_search(name, var_get("PATH"));
	if (file == NULL)
		return 1;
	if (verbose)
		out_printf("%s is %s\n", name, file);
	else
		out_printf("%s\n", file);
	return 0;
}

/* whence -a: every interpretation of name, in the order they are tried. */
static int whence_all(const char *name, bool verbose)
{
	int found = 0;
	struct alias *al = alias_lookup(name);
	if (al) {
		if (verbose)
			out_printf("%s is an alias for %s\n", name, al->value);
		else
			out_printf("%s\n", al->value);
		found++;
	}
	if (is_reserved_word(name)) {
		out_printf(verbose ? "%s is a shell keyword\n" : "%s\n", name);
		found++;
	}
	const struct builtin *b = builtin_lookup(name);
	if (b && (b->flags & BI_SPECIAL)) {
		out_printf(verbose ? "%s is a special shell builtin\n" : "%s\n", name);
		found++;
	}
	if (func_lookup(name)) {
		out_printf(verbose ? "%s is a function\n" : "%s\n", name);
		found++;
	}
	if (b && !(b->flags & BI_SPECIAL)) {
		out_printf(verbose ? "%s is a shell builtin\n" : "%s\n", name);
		found++;
	}
	found += path_all(name, verbose);
	return found ? 0 : 1;
}

int c_whence(int argc, char **argv)
{
	unsigned f;
	int i = builtin_flags(argc, argv, "vpa", &f);
	if (i < 0)
		return 2;
	bool verbose = f & 1, path_only = f & 2, all = f & 4;
	int ret = 0;
	for (; i < argc; i++) {
		const char *name = argv[i];
		int r;
		if (all)
			r = path_only ? (path_all(name, verbose) ? 0 : 1) : whence_all(name, verbose);
		else if (path_only)
			r = whence_path(name, verbose);
		else if (!verbose && alias_lookup(name)) {
			var_print_value(alias_lookup(name)->value);
			out_char('\n');
			r = 0;
		}
		else
			r = describe_command(name, verbose ? 'V' : 'v', 0);
		if (r != 0)
			ret = 1;
	}
	return ret;
}
