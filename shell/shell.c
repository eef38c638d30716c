/* SPDX-License-Identifier: ISC */
/* The shell's start-up and exit: command-line options, the choice of input, the top-level read-eval loop, and shared services. */
#include "shell.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eval.h"
#include "exec.h"
#include "input.h"
#include "jobs.h"
#include "options.h"
#include "parse.h"
#include "policy.h"
#include "restrict.h"
#include "session.h"
#include "trap.h"
#include "var.h"

int sh_exitstatus;
pid_t sh_rootpid;
int sh_subshell;
bool (*sh_edit_hook)(void);

static struct outbuf stdout_buf = {.fd = 1};
struct outbuf *sh_out = &stdout_buf;

void out_write(const char *s, size_t n)
{
	struct outbuf *o = sh_out;
	if (n == 0)
		return;
	if (o->len + n > o->cap) {
		if (o->fd >= 0 && o->len > 0 && n < 4096) {
			out_flush();
		}
		if (o->len + n > o->cap) {
			size_t nc = o->cap ? o->cap : 4096;
			while (nc < o->len + n)
				nc *= 2;
			o->buf = xrealloc(o->buf, nc);
			o->cap = nc;
		}
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

void out_str(const char *s)
{
	out_write(s, strlen(s));
}

void out_char(int c)
{
	char ch = (char)c;
	out_write(&ch, 1);
}

void out_printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof buf) {
		out_write(buf, (size_t)n);
		return;
	}
	char *big = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	out_write(big, (size_t)n);
	free(big);
}

int out_flush(void)
{
	struct outbuf *o = sh_out;
	if (o->fd < 0)
		return 0;
	size_t off = 0;
	while (off < o->len) {
		ssize_t w = write(o->fd, o->buf + off, o->len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			o->error = true;
			o->err = errno;
			break;
		}
		off += (size_t)w;
	}
	o->len = 0;
	if (o->error) {
		o->error = false;
		errno = o->err;
		return -1;
	}
	return 0;
}

int fmt_ll(char *buf, long long v)
{
	char tmp[24];
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	int n = 0;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	int len = 0;
	if (v < 0)
		buf[len++] = '-';
	while (n)
		buf[len++] = tmp[--n];
	buf[len] = '\0';
	return len;
}

void sh_forked_child(void)
{
	sh_subshell++;
	/* The parent's session channel is the parent's (DESIGN §8): a channel of our own on first need. */
	session_forked();
	/* Unwinds in the child must end the child, never resume the parent's loops. */
	sh_handler = NULL;
	/* sh_funcdepth stays: the child still runs inside those calls, and the bound must hold across $(f). */
	sh_loopdepth = 0;
	stdout_buf.len = 0;
	sh_out = &stdout_buf;
}

int sh_move_fd_high(int fd)
{
	if (fd >= 10)
		return fd;
	int n = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	if (n < 0)
		return fd;
	close(fd);
	return n;
}

bool same_file(const char *a, const char *b)
{
	struct stat x, y;
	return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* The end of the shell (or of a subshell): EXIT trap, flush, _exit. */
static _Noreturn void sh_exit(int code)
{
	volatile int status = code;
	sh_exitstatus = code;
	struct sh_jmp j;
	sh_handler = NULL;
	sh_push(&j);
	if (setjmp(j.jb) == 0) {
		trap_run_exit();
		sh_pop(&j);
		/* set +o nohup: an interactive shell's jobs get SIGHUP when it exits (ksh93). */
		if (!opt[OPT_NOHUP] && opt[OPT_INTERACTIVE] && getpid() == sh_rootpid)
			jobs_hangup();
	} else {
		status = j.status;
		sh_handler = NULL;
	}
	out_flush();
	fflush(stdout);
	fflush(stderr);
	session_exit(status);
	_exit(status & 0xff);
}

static void exit_hook(int status)
{
	sh_exit(status);
}

/* A read of interactive input was interrupted: ^C drops the line; trapped signals run their traps. */
static void intr_cb(void)
{
	if (sh_gotsigint) {
		fputc('\n', stderr);
		trap_run_pending();
	}
	if (trap_pending)
		trap_run_pending();
}

/* The prompt of an interactive shell reading a terminal: PS1 or PS2, expanded, on stderr. */
static void prompt_cb(int level)
{
	if (level == 0)
		jobs_notify();
	const char *p = prompt_expand(level ? "PS2" : "PS1", level ? "> " : "$ ");
	fputs(p, stderr);
	fflush(stderr);
}

static void usage(void)
{
	fprintf(stderr, "usage: %s [-abCefhimnruvx] [-o option] [-c command [name [arg ...]] | -s [arg ...] | file [arg ...]]\n", sh_name);
	_exit(2);
}

static void set_self_path(const char *argv0)
{
	static char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	if (n > 0) {
		buf[n] = '\0';
		sh_self_path = buf;
	} else if (argv0 && strchr(argv0, '/')) {
		sh_self_path = argv0;
	}
}

/* Read the ENV file of an interactive shell (its value is parameter-expanded). */
static void source_env(void)
{
	const char *env = var_get("ENV");
	if (env == NULL || *env == '\0' || getuid() != geteuid())
		return;
	char *cmd = xasprintf(". \"%s\" 2>/dev/null || :", env);
	eval_string(cmd, NULL, 0);
	free(cmd);
}

_Noreturn void sh_main(int argc, char **argv, char **envp)
{
	const char *base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	bool login = base[0] == '-';
	if (login)
		base++;
	if (*base)
		sh_name = base;
	sh_rootpid = getpid();
	set_self_path(argv[0]);
	sh_exit_hook = exit_hook;
	/* The shell's argv as started, for the "shell start" request: the options below are taken out of it. */
	int oargc = 0;
	while (argv[oargc])
		oargc++;
	char **orig_argv = xmalloc(((size_t)oargc + 1) * sizeof *orig_argv);
	memcpy(orig_argv, argv, ((size_t)oargc + 1) * sizeof *orig_argv);
	session_args(argv);
	var_init(envp);
	opt[OPT_HASHALL] = true;
	opt[OPT_NOHUP] = true; /* as mksh: jobs are not sent SIGHUP when a login shell exits */

	char **av = argv + 1;
	bool cflag = false;
	if (opt_parse_args(&av, true, &cflag) < 0)
		usage();
	const char *cmdstr = NULL, *script = NULL;
	if (cflag) {
		if (*av == NULL) {
			sh_warnf("-c requires an argument");
			_exit(2);
		}
		cmdstr = *av++;
		if (*av)
			sh_arg0 = xstrdup(*av++);
	} else if (!opt[OPT_STDIN] && *av) {
		script = *av++;
		sh_arg0 = xstrdup(script);
	}
	if (sh_arg0 == NULL)
		sh_arg0 = xstrdup(argv[0]);
	int n = 0;
	while (av[n])
		n++;
	pos_set(av, n);
	if (cmdstr == NULL && script == NULL) {
		opt[OPT_STDIN] = true;
		if (isatty(0) && isatty(2))
			opt[OPT_INTERACTIVE] = true;
	}
	/*
	 * Governed or not (pbsh.yaml). While the shell may still be privileged:
	 * the monitor is forked here; the shell returns as the child.
	 */
	session_start(orig_argv, opt[OPT_INTERACTIVE]);
	policy_install();
	trap_init();
	if (opt[OPT_INTERACTIVE] && !opt[OPT_MONITOR])
		opt_set(OPT_MONITOR, true);
	if (opt[OPT_INTERACTIVE]) {
		input_prompt_hook = prompt_cb;
		input_intr_hook = intr_cb;
	}

	volatile int status = 0;
	struct sh_jmp j;
	sh_push(&j);
	if (setjmp(j.jb) != 0) {
		/* exit, errors (a non-interactive shell exits on them), return at top level. */
		sh_exit(j.status);
	}
	/* A login shell reads the profiles also when it runs -c or a script (as mksh, bash and dash do). */
	if (login)
		eval_string(". /etc/profile 2>/dev/null; . \"${HOME:-/}/.profile\" 2>/dev/null; :", NULL, 0);
	if (opt[OPT_INTERACTIVE])
		source_env();
	if (restrict_pending)
		restrict_enable();
	int pflags = opt[OPT_INTERACTIVE] ? PARSE_INTERACTIVE : 0;
	if (cmdstr) {
		input_push_string(cmdstr, cflag && sh_arg0 && argv[0] != sh_arg0 && av != argv + 1 ? NULL : NULL, 1);
		status = eval_input(pflags, false, EV_EXIT);
	} else if (script) {
		int fd = open(script, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			sh_warnf("cannot open %s: %s", script, strerror(e));
			sh_exit(e == ENOENT ? 127 : 126);
		}
		fd = sh_move_fd_high(fd);
		input_push_fd(fd, script, 1, 0);
		status = eval_input(pflags, false, EV_EXIT);
	} else {
		if (!opt[OPT_INTERACTIVE] || sh_edit_hook == NULL || !sh_edit_hook())
			input_push_fd(0, NULL, 1, INPUT_SYNC | (opt[OPT_INTERACTIVE] ? INPUT_INTERACTIVE : 0));
		status = eval_input(pflags, opt[OPT_INTERACTIVE], 0);
		if (opt[OPT_INTERACTIVE])
			fputs("\n", stderr);
	}
	sh_pop(&j);
	sh_exit(status);
}
