/* SPDX-License-Identifier: ISC */
/* test and [: POSIX argument-count rules, then a small precedence parser for -a, -o, ! and parentheses. */
#include "c_test.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "options.h"
#include "shell.h"

static const char *const unary_ops[] = {
	"-b", "-c", "-d", "-e", "-f", "-g", "-h", "-k", "-L", "-n", "-p", "-r", "-s", "-S",
	"-t", "-u", "-w", "-x", "-z", "-O", "-G", "-o", NULL,
};
static const char *const binary_ops[] = {
	"=", "==", "!=", "<", ">", "-eq", "-ne", "-lt", "-le", "-gt", "-ge", "-nt", "-ot", "-ef", NULL,
};

static bool in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (strcmp(*l, s) == 0)
			return true;
	return false;
}

bool test_unary_op(const char *op)
{
	return in_list(unary_ops, op);
}

bool test_binary_op(const char *op)
{
	return in_list(binary_ops, op);
}

static bool to_int(const char *who, const char *s, long long *v, bool *err)
{
	const char *p = s;
	while (*p == ' ' || *p == '\t')
		p++;
	char *end;
	errno = 0;
	*v = strtoll(p, &end, 10);
	while (*end == ' ' || *end == '\t')
		end++;
	if (end == p || *end || errno) {
		sh_warnf("%s: %s: bad number", who, s);
		*err = true;
		return false;
	}
	return true;
}

bool test_unary(const char *who, const char *op, const char *arg, bool *err)
{
	struct stat st;
	switch (op[1]) {
	case 'z':
		return arg[0] == '\0';
	case 'n':
		return arg[0] != '\0';
	case 't': {
		long long fd;
		if (!to_int(who, arg, &fd, err))
			return false;
		return fd >= 0 && fd <= INT_MAX && isatty((int)fd);
	}
	case 'o': {
		int o = opt_by_name(arg);
		return o >= 0 && opt[o];
	}
	/* The effective ids: under a decision's runuser the builtin answers for that user. */
	case 'r':
		return faccessat(AT_FDCWD, arg, R_OK, AT_EACCESS) == 0;
	case 'w':
		return faccessat(AT_FDCWD, arg, W_OK, AT_EACCESS) == 0;
	case 'x':
		/* root: access says yes for any file; require an x bit as the other shells do. */
		if (faccessat(AT_FDCWD, arg, X_OK, AT_EACCESS) != 0)
			return false;
		if (geteuid() == 0 && stat(arg, &st) == 0 && !S_ISDIR(st.st_mode))
			return (st.st_mode & 0111) != 0;
		return true;
	case 'h':
	case 'L':
		return lstat(arg, &st) == 0 && S_ISLNK(st.st_mode);
	}
	if (stat(arg, &st) != 0)
		return false;
	switch (op[1]) {
	case 'b': return S_ISBLK(st.st_mode);
	case 'c': return S_ISCHR(st.st_mode);
	case 'd': return S_ISDIR(st.st_mode);
	case 'e': return true;
	case 'f': return S_ISREG(st.st_mode);
	case 'g': return (st.st_mode & S_ISGID) != 0;
	case 'k': return (st.st_mode & S_ISVTX) != 0;
	case 'p': return S_ISFIFO(st.st_mode);
	case 's': return st.st_size > 0;
	case 'S': return S_ISSOCK(st.st_mode);
	case 'u': return (st.st_mode & S_ISUID) != 0;
	case 'O': return st.st_uid == geteuid();
	case 'G': return st.st_gid == getegid();
	}
	return false;
}

static int cmp_time(const struct stat *a, const struct stat *b)
{
	if (a->st_mtim.tv_sec != b->st_mtim.tv_sec)
		return a->st_mtim.tv_sec < b->st_mtim.tv_sec ? -1 : 1;
	if (a->st_mtim.tv_nsec != b->st_mtim.tv_nsec)
		return a->st_mtim.tv_nsec < b->st_mtim.tv_nsec ? -1 : 1;
	return 0;
}

bool test_binary(const char *who, const char *l, const char *op, const char *r, bool *err)
{
	if (op[0] != '-') {
		int c = strcmp(l, r);
		if (strcmp(op, "=") == 0 || strcmp(op, "==") == 0)
			return c == 0;
		if (strcmp(op, "!=") == 0)
			return c != 0;
		if (strcmp(op, "<") == 0)
			return c < 0;
		return c > 0;
	}
	if (op[1] == 'n' && op[2] == 't') {
		struct stat a, b;
		if (stat(l, &a) != 0)
			return false;
		if (stat(r, &b) != 0)
			return true;
		return cmp_time(&a, &b) > 0;
	}
	if (op[1] == 'o' && op[2] == 't') {
		struct stat a, b;
		if (stat(r, &b) != 0)
			return false;
		if (stat(l, &a) != 0)
			return true;
		return cmp_time(&a, &b) < 0;
	}
	if (op[1] == 'e' && op[2] == 'f') {
		struct stat a, b;
		return stat(l, &a) == 0 && stat(r, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	}
	long long x, y;
	if (!to_int(who, l, &x, err) || !to_int(who, r, &y, err))
		return false;
	if (strcmp(op, "-eq") == 0) return x == y;
	if (strcmp(op, "-ne") == 0) return x != y;
	if (strcmp(op, "-lt") == 0) return x < y;
	if (strcmp(op, "-le") == 0) return x <= y;
	if (strcmp(op, "-gt") == 0) return x > y;
	return x >= y;
}

/* The general parser, for more than four arguments (or nested parentheses). */
struct tp {
	char **av;
	int n, i;
	bool err;
	const char *who;
};

static bool t_or(struct tp *t);

static bool t_prim(struct tp *t)
{
	if (t->i >= t->n) {
		sh_warnf("%s: argument expected", t->who);
		t->err = true;
		return false;
	}
	const char *a = t->av[t->i];
	if (strcmp(a, "!") == 0) {
		t->i++;
		return !t_prim(t);
	}
	if (strcmp(a, "(") == 0) {
		t->i++;
		bool v = t_or(t);
		if (t->i >= t->n || strcmp(t->av[t->i], ")") != 0) {
			sh_warnf("%s: ')' expected", t->who);
			t->err = true;
			return false;
		}
		t->i++;
		return v;
	}
	if (t->i + 2 < t->n + 0 && test_binary_op(t->av[t->i + 1])) {
		bool v = test_binary(t->who, a, t->av[t->i + 1], t->av[t->i + 2], &t->err);
		t->i += 3;
		return v;
	}
	if (t->i + 2 == t->n && test_binary_op(t->av[t->i + 1])) {
		sh_warnf("%s: %s: argument expected", t->who, t->av[t->i + 1]);
		t->err = true;
		return false;
	}
	if (test_unary_op(a) && t->i + 1 < t->n) {
		bool v = test_unary(t->who, a, t->av[t->i + 1], &t->err);
		t->i += 2;
		return v;
	}
	t->i++;
	return a[0] != '\0';
}

static bool t_and(struct tp *t)
{
	bool v = t_prim(t);
	while (!t->err && t->i < t->n && strcmp(t->av[t->i], "-a") == 0) {
		t->i++;
		bool r = t_prim(t);
		v = v && r;
	}
	return v;
}

static bool t_or(struct tp *t)
{
	bool v = t_and(t);
	while (!t->err && t->i < t->n && strcmp(t->av[t->i], "-o") == 0) {
		t->i++;
		bool r = t_and(t);
		v = v || r;
	}
	return v;
}

/* POSIX's rules for 0 to 4 arguments; -1 means "use the general parser". */
static int posix_rules(struct tp *t, char **av, int n)
{
	switch (n) {
	case 0:
		return 0;
	case 1:
		return av[0][0] != '\0';
	case 2:
		if (strcmp(av[0], "!") == 0)
			return av[1][0] == '\0';
		if (test_unary_op(av[0]))
			return test_unary(t->who, av[0], av[1], &t->err);
		break;
	case 3:
		if (test_binary_op(av[1]))
			return test_binary(t->who, av[0], av[1], av[2], &t->err);
		if (strcmp(av[1], "-a") == 0)
			return av[0][0] != '\0' && av[2][0] != '\0';
		if (strcmp(av[1], "-o") == 0)
			return av[0][0] != '\0' || av[2][0] != '\0';
		if (strcmp(av[0], "!") == 0) {
			int r = posix_rules(t, av + 1, 2);
			return r < 0 ? r : !r;
		}
		if (strcmp(av[0], "(") == 0 && strcmp(av[2], ")") == 0)
			return av[1][0] != '\0';
		break;
	case 4:
		if (strcmp(av[0], "!") == 0) {
			int r = posix_rules(t, av + 1, 3);
			return r < 0 ? r : !r;
		}
		if (strcmp(av[0], "(") == 0 && strcmp(av[3], ")") == 0)
			return posix_rules(t, av + 1, 2);
		break;
	}
	return -1;
}

int c_test(int argc, char **argv)
{
	struct tp t = {.who = argv[0]};
	if (strcmp(argv[0], "[") == 0) {
		if (strcmp(argv[argc - 1], "]") != 0) {
			sh_warnf("[: missing ]");
			return 2;
		}
		argc--;
	}
	t.av = argv + 1;
	t.n = argc - 1;
	int r = posix_rules(&t, t.av, t.n);
	if (r < 0 && !t.err) {
		r = t_or(&t);
		if (!t.err && t.i < t.n) {
			sh_warnf("%s: %s: unexpected operator", t.who, t.av[t.i]);
			t.err = true;
		}
	}
	if (t.err)
		return 2;
	return r ? 0 : 1;
}
