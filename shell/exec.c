/* SPDX-License-Identifier: ISC */
/* Command dispatch: simple commands from expansion to gate to execution; functions; the command hash; command substitution. */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alias.h"
#include "eval.h"
#include "expand.h"
#include "gate.h"
#include "jobs.h"
#include "options.h"
#include "parse.h"
#include "policy.h"
#include "priv.h"
#include "redir.h"
#include "restrict.h"
#include "session.h"
#include "shell.h"
#include "trap.h"
#include "tree.h"
#include "var.h"

const char *sh_self_path = "/bin/sh";
int sh_funcdepth;
int sh_loopdepth;

#define DEFPATH "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"

/* ---- functions ---- */

#define FUNC_BUCKETS 64
static struct func *functab[FUNC_BUCKETS];

static unsigned hash_str(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct func *func_lookup(const char *name)
{
	for (struct func *f = functab[hash_str(name) % FUNC_BUCKETS]; f; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

static void func_release(struct func *f)
{
	if (--f->refs > 0)
		return;
	node_free(f->body);
	free(f->name);
	free(f);
}

static void func_remove(const char *name)
{
	struct func **pp = &functab[hash_str(name) % FUNC_BUCKETS];
	for (struct func *f = *pp; f; pp = &f->next, f = *pp) {
		if (strcmp(f->name, name) == 0) {
			*pp = f->next;
			func_release(f);
			return;
		}
	}
}

void func_define(const char *name, union node *body, bool ksh)
{
	func_remove(name);
	struct func *f = xmalloc(sizeof *f);
	f->name = xstrdup(name);
	/* node_copy copies the whole next chain: detach the body from its siblings first. */
	union node *saved = body->head.next;
	body->head.next = NULL;
	f->body = node_copy(body);
	body->head.next = saved;
	f->refs = 1;
	f->ksh = ksh;
	unsigned b = hash_str(name) % FUNC_BUCKETS;
	f->next = functab[b];
	functab[b] = f;
}

void func_foreach(void (*fn)(struct func *f, void *ctx), void *ctx)
{
	for (int b = 0; b < FUNC_BUCKETS; b++)
		for (struct func *f = functab[b]; f; f = f->next)
			fn(f, ctx);
}

void func_print(struct func *f)
{
	union node n = {0};
	n.func.kind = NFUNC;
	n.func.name = f->name;
	n.func.body = f->body;
	n.func.ksh = f->ksh;
	char *t = tree_text(&n, 0);
	out_str(t);
	out_char('\n');
	free(t);
}

int func_unset(const char *name)
{
	if (func_lookup(name) == NULL)
		return -1;
	func_remove(name);
	return 0;
}

/* ---- the command hash table ---- */

#define HASH_BUCKETS 128
struct hentry {
	struct hentry *next;
	char *name;
	char *path;
	unsigned gen;
	int hits;
};
static struct hentry *hashtab[HASH_BUCKETS];

void hash_clear(void)
{
	for (int i = 0; i < HASH_BUCKETS; i++) {
		while (hashtab[i]) {
			struct hentry *e = hashtab[i];
			hashtab[i] = e->next;
			free(e->name);
			free(e->path);
			free(e);
		}
	}
}

void hash_print(void)
{
	for (int i = 0; i < HASH_BUCKETS; i++)
		for (struct hentry *e = hashtab[i]; e; e = e->next)
			if (e->gen == var_path_gen)
				out_printf("%s\n", e->path);
}

static bool is_exec_file(const char *path, bool *exists)
{
	struct stat st;
	if (stat(path, &st) != 0 || S_ISDIR(st.st_mode))
		return false;
	*exists = true;
	return access(path, X_OK) == 0;
}

char *path_search(const char *name, const char *path)
{
	if (path == NULL)
		return NULL;
	struct strbuf sb;
	char *noexec = NULL;
	size_t nl = strlen(name);
	const char *p = path;
	for (;;) {
		const char *colon = strchr(p, ':');
		size_t dl = colon ? (size_t)(colon - p) : strlen(p);
		sb_init(&sb);
		if (dl == 0)
			sb_putn(&sb, ".", 1);
		else
			sb_putn(&sb, p, dl);
		sb_putc(&sb, '/');
		sb_putn(&sb, name, nl);
		char *full = sb_str(&sb);
		bool exists = false;
		if (is_exec_file(full, &exists))
			return full;
		if (exists && noexec == NULL)
			noexec = full;
		if (colon == NULL)
			break;
		p = colon + 1;
	}
	/* A file that exists but is not executable: exec reports EACCES (126). */
	return noexec;
}

static const char *hash_lookup(const char *name)
{
	unsigned b = hash_str(name) % HASH_BUCKETS;
	struct hentry *e;
	for (e = hashtab[b]; e; e = e->next)
		if (strcmp(e->name, name) == 0)
			break;
	if (e && e->gen == var_path_gen) {
		e->hits++;
		return e->path;
	}
	char *p = path_search(name, var_get("PATH"));
	if (p == NULL || p[0] != '/')
		return p; /* relative PATH entries are not remembered */
	if (e == NULL) {
		e = xmalloc(sizeof *e);
		e->name = xstrdup(name);
		e->path = NULL;
		e->next = hashtab[b];
		hashtab[b] = e;
	}
	free(e->path);
	e->path = xstrdup(p);
	e->gen = var_path_gen;
	e->hits = 0;
	return e->path;
}

int hash_add(const char *name)
{
	return hash_lookup(name) ? 0 : -1;
}

void hash_prefetch(union node *cmd)
{
	if (cmd == NULL || cmd->kind != NCMD || cmd->cmd.args == NULL)
		return;
	union node *p = cmd->cmd.args->word.parts;
	if (p == NULL || p->head.next || p->kind != NLIT)
		return;
	const char *name = p->lit.text;
	if (strchr(name, '/') || builtin_lookup(name) || func_lookup(name))
		return;
	(void)hash_lookup(name);
}

void find_command(const char *name, struct cmdentry *ce, int flags)
{
	memset(ce, 0, sizeof *ce);
	if (strchr(name, '/')) {
		ce->kind = CMD_EXTERNAL;
		ce->path = name;
		return;
	}
	const struct builtin *bi = builtin_lookup(name);
	if (bi && (bi->flags & BI_SPECIAL)) {
		ce->kind = CMD_BUILTIN;
		ce->bi = bi;
		return;
	}
	if (!(flags & FC_NOFUNC)) {
		struct func *f = func_lookup(name);
		if (f) {
			ce->kind = CMD_FUNCTION;
			ce->fn = f;
			return;
		}
	}
	if (bi) {
		ce->kind = CMD_BUILTIN;
		ce->bi = bi;
		return;
	}
	const char *p = (flags & FC_DEFPATH) ? path_search(name, DEFPATH) : hash_lookup(name);
	if (p) {
		ce->kind = CMD_EXTERNAL;
		ce->path = p;
		return;
	}
	ce->kind = CMD_NOTFOUND;
}

/* ---- running programs ---- */

/* Written by a vfork child (shared memory) when its execve failed, or it could not take the run identity. */
static volatile int vfork_errno;
static volatile bool vfork_priv_failed;

static int exec_failure_status(int e)
{
	return (e == ENOENT || e == ENOTDIR) ? 127 : 126;
}

static void report_exec_error(const char *name, int e)
{
	if (e == ENOENT || e == ENOTDIR)
		sh_warnf("%s: not found", name);
	else
		sh_warnf("%s: %s", name, strerror(e));
}

/*
 * The interpreter of a file the kernel cannot execute (no #!, not a binary):
 * EXECSHELL, else SHELL, else /bin/sh (issue #5), each only when absolute.
 * Reads variables without allocating, so a vfork child may call it.
 */
static const char *exec_shell(void)
{
	const char *sh = var_get("EXECSHELL");
	if (sh == NULL || sh[0] != '/')
		sh = var_get("SHELL");
	if (sh == NULL || sh[0] != '/')
		sh = "/bin/sh";
	return sh;
}

/*
 * Replace the process by the program: the descriptor that was checked when
 * fd >= 0, else path. Only returns on failure (errno set).
 */
static void do_execve(const char *path, int fd, char **argv, char **envp)
{
	if (fd >= 0)
		fexecve(fd, argv, envp);
	else
		execve(path, argv, envp);
	if (errno == ENOEXEC) {
		/* A script without #!: run it with the user's shell. */
		int n = 0;
		while (argv[n])
			n++;
		char *nargv[n + 2];
		const char *sh = exec_shell();
		nargv[0] = (char *)sh;
		nargv[1] = (char *)path;
		for (int i = 1; i <= n; i++)
			nargv[i + 1] = argv[i];
		execve(sh, nargv, envp);
		errno = ENOEXEC;
	}
}

static int wait_pid(pid_t pid)
{
	int st;
	if (session_nheld)
		session_flush();
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return 127;
	}
	if (session_on)
		session_reaped(pid, st);
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st)) {
		int sig = WTERMSIG(st);
		if (sig != SIGINT && sig != SIGPIPE)
			fprintf(stderr, "%s%s\n", strsignal(sig), WCOREDUMP(st) ? " (core dumped)" : "");
		return 128 + sig;
	}
	return 1;
}

/* run_program flag: `exec prog`: replace the shell whatever traps or jobs there are. */
#define RUN_REPLACE 0x100

/*
 * A governed session: what is checked is what runs. The file is opened
 * first, the policy is asked about its real path (the kernel's name for the
 * opened inode: no symbolic link left in it), and that descriptor is what
 * gets executed. A #! script is executed by that real path instead (the
 * kernel hands the interpreter the script's name, and /dev/fd/N would leak
 * the descriptor and show as $0). Returns 0 with *pathp, *fdp set, or the
 * command's status after a message.
 */
static int open_checked(const char **pathp, char **argv, int *fdp)
{
	const char *path = *pathp;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	bool readable = fd >= 0;
	if (fd < 0 && errno == EACCES)
		fd = open(path, O_PATH | O_CLOEXEC);
	struct stat st;
	int e = errno;
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		e = S_ISDIR(st.st_mode) ? EISDIR : EACCES;
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		report_exec_error(argv[0], e);
		return exec_failure_status(e);
	}
	char link[32], *real = stalloc(PATH_MAX);
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, real, PATH_MAX - 1);
	if (n > 0 && real[0] == '/') {
		real[n] = '\0';
	} else if (realpath(path, real) == NULL) {
		snprintf(real, PATH_MAX, "%s", path);
	}
	char hdr[2];
	bool script = readable && pread(fd, hdr, 2, 0) == 2 && hdr[0] == '#' && hdr[1] == '!';
	if (gate_check(GATE_COMMAND, real, argv) != GATE_ALLOW) {
		close(fd);
		return 126;
	}
	if (script) {
		close(fd);
		fd = -1;
	}
	*pathp = real;
	*fdp = fd;
	return 0;
}

/*
 * Run a program (path or the checked descriptor xfd; io: the pty slave of an
 * I/O logged command; run: the decision's run identity, or NULL).
 */
static int spawn_program(const char *path, int xfd, int io, const char *uid, const struct priv_ids *run,
                         char **argv, int flags)
{
	char **envp = var_environ();
	out_flush();
	/* A relayed command (io) is waited for, so that its FINISH ends its own log properly. */
	if ((flags & RUN_REPLACE) || ((flags & EV_EXIT) && io < 0 && !trap_any() && !jobs_control())) {
		trap_child(false);
		/* The channel closes at the exec: the held events go now, and word that this process's
		 * end is the command's. */
		session_exec(uid);
		if (priv_exec_prepare(run) < 0) {
			sh_warnf("%s: cannot take the run identity: %s", argv[0], strerror(errno));
			session_exec_failed(uid, 126);
			sh_unwind(SH_EXIT, 126);
		}
		if (io >= 0)
			for (int fd = 0; fd < 3; fd++)
				dup2(io, fd);
		do_execve(path, xfd, argv, envp);
		int e = errno;
		if (xfd >= 0)
			close(xfd);
		session_exec_failed(uid, exec_failure_status(e));
		report_exec_error(argv[0], e);
		if ((flags & RUN_REPLACE) && opt[OPT_INTERACTIVE])
			return exec_failure_status(e);
		sh_unwind(SH_EXIT, exec_failure_status(e));
	}
	struct job *j = NULL;
	if (jobs_control()) {
		struct strbuf sb;
		sb_init(&sb);
		for (char **a = argv; *a; a++) {
			if (a != argv)
				sb_putc(&sb, ' ');
			sb_puts(&sb, *a);
		}
		j = job_new(sb_str(&sb));
	}
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	vfork_errno = 0;
	vfork_priv_failed = false;
	pid_t pid = vfork();
	if (pid == 0) {
		/* Only system calls here: the child shares our memory until execve. */
		jobs_vfork_child(j, false);
		trap_child(false);
		sigprocmask(SIG_SETMASK, &old, NULL);
		/* Never exec with the saved root of a setuid start; as the run identity when one is given. */
		if (priv_exec_prepare(run) < 0) {
			vfork_errno = errno;
			vfork_priv_failed = true;
			_exit(126);
		}
		if (io >= 0)
			for (int fd = 0; fd < 3; fd++)
				dup2(io, fd);
		do_execve(path, xfd, argv, envp);
		vfork_errno = errno;
		_exit(exec_failure_status(errno));
	}
	int e = vfork_errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (xfd >= 0)
		close(xfd);
	if (io >= 0)
		close(io);
	if (pid < 0) {
		e = errno;
		if (j)
			job_wait(j);
		sh_errorf(2, "cannot fork: %s", strerror(e));
	}
	if (uid)
		session_child(pid, uid, io >= 0);
	int status;
	if (j) {
		job_add(j, pid);
		status = job_wait(j);
	} else {
		status = wait_pid(pid);
	}
	if (e && vfork_priv_failed) {
		sh_warnf("%s: cannot take the run identity: %s", argv[0], strerror(e));
		status = 126;
	} else if (e) {
		report_exec_error(argv[0], e);
		status = exec_failure_status(e);
	}
	return status;
}

/*
 * Run a program: exec in place when the shell ends anyway, else vfork +
 * execve + wait. This is the one place a program is executed, so the
 * policy gate for commands is here, after every lookup and just before
 * the exec.
 */
static int run_program(const char *path, char **argv, int flags)
{
	/* argv[0] is the name as typed: the restricted shell refuses one with a '/'. */
	if (restrict_on() && !restrict_command(argv[0]))
		return 1;
	if (!gate_enabled())
		return spawn_program(path, -1, -1, NULL, NULL, argv, flags);
	int xfd = -1, io = -1;
	const char *uid = NULL;
	int st = open_checked(&path, argv, &xfd);
	if (st)
		return st;
	/* The decision's runuser/rungroup/runumask, resolved here: the vfork child only makes system calls. */
	struct priv_ids ids, *run = NULL;
	if (priv_run_current) {
		if (priv_resolve(priv_run_current, &ids) < 0) {
			if (xfd >= 0)
				close(xfd);
			return 126;
		}
		run = &ids;
	}
	bool iolog;
	policy_accepted(&uid, &iolog);
	if (iolog && uid) {
		const char *err;
		io = session_io_start(uid, &err);
		if (io < 0) {
			if (xfd >= 0)
				close(xfd);
			sh_warnf("%s: not run: %s", argv[0], err);
			return 126;
		}
	}
	return spawn_program(path, xfd, io, uid, run, argv, flags);
}

/* ---- simple commands ---- */

const char *prompt_expand(const char *var, const char *dflt)
{
	const char *v = var_get(var);
	if (v == NULL)
		return dflt;
	if (strpbrk(v, "$`") == NULL)
		return v;
	/* Expansion errors in a prompt must not end the command being traced. */
	static int busy;
	if (busy)
		return v;
	busy++;
	volatile const char *res = v;
	struct sh_jmp j;
	sh_push(&j);
	if (setjmp(j.jb) == 0) {
		union node *w = parse_word_string(v, NULL, 0);
		res = expand_str(w);
		sh_pop(&j);
	} else if (j.kind != SH_ERROR) {
		busy--;
		sh_unwind(j.kind, j.status);
	}
	busy--;
	return (const char *)res;
}

/* Write the xtrace line: PS4, then each word quoted when needed. */
static void xtrace_words(struct arglist *assigns, char **argv)
{
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, prompt_expand("PS4", "+ "));
	bool first = true;
	for (int pass = 0; pass < 2; pass++) {
		char **v = pass == 0 ? (assigns ? assigns->v : NULL) : argv;
		for (; v && *v; v++) {
			if (!first)
				sb_putc(&sb, ' ');
			first = false;
			const char *s = *v;
			bool plain = *s != '\0';
			for (const char *q = s; *q; q++)
				if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=./:,@%^", *q))
					plain = false;
			if (plain || (pass == 0 && strchr(s, '=') && strchr(s, '\'') == NULL && false)) {
				sb_puts(&sb, s);
				continue;
			}
			if (pass == 0) {
				const char *eq = strchr(s, '=');
				sb_putn(&sb, s, (size_t)(eq - s + 1));
				s = eq + 1;
			}
			sb_putc(&sb, '\'');
			for (; *s; s++) {
				if (*s == '\'')
					sb_puts(&sb, "'\\''");
				else
					sb_putc(&sb, *s);
			}
			sb_putc(&sb, '\'');
		}
	}
	sb_putc(&sb, '\n');
	out_flush();
	(void)!write(2, sb.buf, sb.len);
}

/* Status of the last command substitution during this command's expansion (-1: none). */
int sh_cmdsub_status = -1;

/* NAME=(words): the words, expanded like command arguments, become the array; += appends after the last element. */
static __attribute__((noinline)) void assign_list(struct n_assign *as, unsigned vflags, struct arglist *trace)
{
	struct arglist words = {0};
	expand_args(as->list, &words);
	if (trace)
		arglist_add(trace, stprintf("%s%s=(%d words)", as->name, as->append ? "+" : "", words.n));
	if (vflags & V_EXPORT)
		var_make_local(as->name);
	if (!as->append) {
		var_set_array(as->name, words.v, words.n, true);
		return;
	}
	struct var *v = var_lookup(as->name);
	size_t n = var_array_count(v);
	long next = 0;
	if (n > 0)
		(void)var_array_nth(v, n - 1, &next), next++;
	for (int i = 0; i < words.n; i++)
		var_set_elem(as->name, var_check_index(next + i), words.v[i]);
}

static void do_assignments(union node *assigns, unsigned vflags, struct arglist *trace)
{
	for (union node *a = assigns; a; a = a->head.next) {
		struct n_assign *as = &a->assign;
		if (as->list) {
			assign_list(as, vflags, trace);
			continue;
		}
		char *val = expand_str(as->value);
		long idx = as->index ? expand_index(as->index) : 0;
		if (as->append) {
			struct var *v = var_lookup(as->name);
			const char *old = var_get_elem(v, idx);
			/* += on an integer variable adds (ksh). */
			if (old && (v->flags & V_INTEGER))
				val = stprintf("%s+(%s)", old, val);
			else if (old)
				val = stprintf("%s%s", old, val);
		}
		if (trace)
			arglist_add(trace, as->index ? stprintf("%s[%ld]=%s", as->name, idx, val) : stprintf("%s=%s", as->name, val));
		if (vflags & V_EXPORT)
			var_make_local(as->name);
		if (as->index)
			var_set_elem(as->name, idx, val);
		else
			var_set(as->name, val, vflags);
	}
}

int exec_argv(int argc, char **argv, int fcflags, bool replace)
{
	struct cmdentry ce;
	if (argc == 0)
		return 0;
	find_command(argv[0], &ce, fcflags);
	switch (ce.kind) {
	case CMD_BUILTIN:
		return builtin_run(ce.bi, argc, argv);
	case CMD_FUNCTION:
		return call_function(ce.fn, argc, argv, 0);
	case CMD_EXTERNAL:
		return run_program(ce.path, argv, replace ? EV_EXIT : 0);
	default:
		sh_warnf("%s: not found", argv[0]);
		if (replace)
			sh_unwind(SH_EXIT, 127);
		return 127;
	}
}

/* A command of assignments and redirections only: redirections first (POSIX 2.9.1), assignments are permanent. */
static int assign_only(struct n_cmd *c, struct arglist *tr)
{
	struct redirsave *save = NULL;
	if (redir_apply(c->redirs, &save) < 0) {
		redir_restore(save);
		return 2;
	}
	if (save) {
		struct sh_jmp j;
		sh_push(&j);
		if (setjmp(j.jb) == 0) {
			do_assignments(c->assigns, 0, tr);
			sh_pop(&j);
		} else {
			redir_restore(save);
			sh_unwind(j.kind, j.status);
		}
	} else {
		do_assignments(c->assigns, 0, tr);
	}
	if (tr)
		xtrace_words(tr, NULL);
	redir_restore(save);
	return sh_cmdsub_status >= 0 ? sh_cmdsub_status : 0;
}

char *sh_lastarg;
static size_t lastarg_cap;
int coproc_wfd = -1, coproc_rfd = -1;

static void set_lastarg(const char *s)
{
	size_t n = strlen(s) + 1;
	if (n > lastarg_cap) {
		lastarg_cap = n < 64 ? 64 : n;
		sh_lastarg = xrealloc(sh_lastarg, lastarg_cap);
	}
	memcpy(sh_lastarg, s, n);
}

int sh_builtin_flags;

/* Is the command word a plain `export`, `readonly` or `local` (declaration utilities, POSIX 2024)? */
static bool is_decl_utility(union node *w)
{
	union node *p = w->word.parts;
	if (p == NULL || p->head.next || p->kind != NLIT)
		return false;
	const char *t = p->lit.text;
	/* Every simple command comes here: at most one strcmp, none for most names. */
	const char *decl;
	switch (t[0]) {
	case 'e': decl = "export"; break;
	case 'r': decl = "readonly"; break;
	case 'l': decl = "local"; break;
	case 't': decl = "typeset"; break;
	case 'i': decl = "integer"; break;
	default: return false;
	}
	if (strcmp(t, decl) != 0)
		return false;
	const struct builtin *bi = builtin_lookup(t);
	return bi && (bi->flags & BI_ASSIGN) && !func_lookup(t);
}

int exec_simple(union node *n, int flags)
{
	struct n_cmd *c = &n->cmd;
	/* set -n takes effect at once, even later on the same line (an interactive shell ignores it). */
	if (opt[OPT_NOEXEC] && !opt[OPT_INTERACTIVE])
		return 0;
	sh_lineno = sh_errline = c->line;
	sh_cmdsub_status = -1;
	struct arglist args = {0};
	if (c->args) {
		if (is_decl_utility(c->args)) {
			arglist_add(&args, c->args->word.parts->lit.text);
			expand_decl_args(c->args->head.next, &args);
		} else {
			expand_args(c->args, &args);
		}
	}
	int argc = args.n;
	char **argv = args.v;
	struct arglist trace = {0};
	struct arglist *tr = opt[OPT_XTRACE] ? &trace : NULL;

	if (argc == 0)
		return assign_only(c, tr);

	struct cmdentry ce;
	int fcflags = 0;
	find_command(argv[0], &ce, fcflags);
	set_lastarg(argv[argc - 1]);

	bool special = ce.kind == CMD_BUILTIN && (ce.bi->flags & BI_SPECIAL);
	bool scoped = false;
	if (c->assigns) {
		if (special) {
			/* x=1 exec prog: the program sees x. */
			do_assignments(c->assigns, ce.bi->fn == c_exec ? V_EXPORT : 0, tr);
		} else {
			var_push_scope();
			scoped = true;
			do_assignments(c->assigns, V_EXPORT, tr);
			/* PATH=... cmd: the search uses the new PATH. */
			if (ce.kind == CMD_EXTERNAL && !strchr(argv[0], '/'))
				find_command(argv[0], &ce, fcflags);
		}
	}
	if (tr)
		xtrace_words(tr, argv);

	int status;
	struct redirsave *save = NULL;
	switch (ce.kind) {
	case CMD_BUILTIN: {
		bool is_exec = ce.bi->fn == c_exec;
		if (redir_apply(c->redirs, is_exec ? NULL : &save) < 0) {
			redir_restore(save);
			if (scoped)
				var_pop_scope();
			if (special && !opt[OPT_INTERACTIVE])
				sh_unwind(SH_ERROR, 2);
			return 2;
		}
		sh_builtin_flags = flags;
		if (save == NULL && !scoped) {
			status = builtin_run(ce.bi, argc, argv);
		} else {
			struct sh_jmp j;
			sh_push(&j);
			if (setjmp(j.jb) == 0) {
				status = builtin_run(ce.bi, argc, argv);
				sh_pop(&j);
			} else {
				/* exit, return, break, errors: put the descriptors and variables back first. */
				redir_restore(save);
				if (scoped)
					var_pop_scope();
				sh_unwind(j.kind, j.status);
			}
		}
		break;
	}
	case CMD_FUNCTION:
		if (redir_apply(c->redirs, &save) < 0) {
			status = 2;
			break;
		}
		if (save == NULL && !scoped) {
			status = call_function(ce.fn, argc, argv, flags);
		} else {
			struct sh_jmp j;
			sh_push(&j);
			if (setjmp(j.jb) == 0) {
				status = call_function(ce.fn, argc, argv, flags);
				sh_pop(&j);
			} else {
				redir_restore(save);
				if (scoped)
					var_pop_scope();
				sh_unwind(j.kind, j.status);
			}
		}
		break;
	case CMD_EXTERNAL: {
		/* When the program will replace the shell, nothing needs saving. */
		bool replaces = (flags & EV_EXIT) && !trap_any() && !jobs_control();
		if (redir_apply(c->redirs, replaces ? NULL : &save) < 0) {
			status = 2;
			break;
		}
		status = run_program(ce.path, argv, flags);
		break;
	}
	default:
		if (redir_apply(c->redirs, &save) < 0) {
			status = 2;
			break;
		}
		sh_warnf("%s: not found", argv[0]);
		status = 127;
		break;
	}
	redir_restore(save);
	if (scoped)
		var_pop_scope();
	return status;
}

/* ---- command substitution ---- */

/* Is this word free of side effects on the shell (safe to expand without a subshell)? */
static bool word_is_pure(union node *w)
{
	for (; w; w = w->head.next) {
		switch (w->kind) {
		case NWORD:
			if (!word_is_pure(w->word.parts))
				return false;
			break;
		case NDQ:
			if (!word_is_pure(w->dq.parts))
				return false;
			break;
		case NLIT:
		case NTILDE:
			break;
		case NPARAM:
			if (w->param.op == PO_ASSIGN || w->param.op == PO_QUESTION || w->param.op == PO_SUBSTR)
				return false;
			if (w->param.arg && !word_is_pure(w->param.arg))
				return false;
			if (w->param.arg2 && !word_is_pure(w->param.arg2))
				return false;
			break;
		default:
			return false;
		}
	}
	return true;
}

/*
 * $(builtin args) for a builtin without side effects: run it here with its
 * output collected in memory, saving a fork. Anything else forks.
 */
static bool cmdsub_fast(union node *tree, struct outbuf *mem, int *status)
{
	if (tree == NULL || tree->kind != NCMD || tree->head.next || tree->cmd.assigns || tree->cmd.redirs)
		return false;
	if (opt[OPT_NOUNSET] || opt[OPT_XTRACE] || opt[OPT_ERREXIT])
		return false;
	union node *first = tree->cmd.args;
	if (first == NULL || first->word.parts == NULL || first->word.parts->head.next || first->word.parts->kind != NLIT)
		return false;
	const char *name = first->word.parts->lit.text;
	const struct builtin *bi = builtin_lookup(name);
	if (bi == NULL || !(bi->flags & BI_PURE) || func_lookup(name))
		return false;
	if (!word_is_pure(tree->cmd.args))
		return false;
	sh_lineno = sh_errline = tree->head.line;
	struct arglist args = {0};
	expand_args(tree->cmd.args, &args);
	if (args.n == 0)
		return false;
	struct outbuf *saved = sh_out;
	out_flush();
	sh_out = mem;
	*status = builtin_run(bi, args.n, args.v);
	sh_out = saved;
	return true;
}

char *exec_cmdsub(union node *tree, size_t *lenp)
{
	struct strbuf sb;
	sb_init(&sb);
	int status;
	struct outbuf mem = {.fd = -1};
	if (cmdsub_fast(tree, &mem, &status)) {
		sb_putn(&sb, mem.buf ? mem.buf : "", mem.len);
		free(mem.buf);
	} else {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0)
			sh_errorf(2, "cannot create pipe: %s", strerror(errno));
		out_flush();
		struct job *j = job_new(NULL);
		pid_t pid = job_fork(j, false);
		if (pid == 0) {
			close(p[0]);
			if (p[1] != 1) {
				dup2(p[1], 1);
				close(p[1]);
			}
			int st = eval_tree(tree, EV_EXIT);
			sh_unwind(SH_EXIT, st);
		}
		close(p[1]);
		char buf[4096];
		for (;;) {
			ssize_t r = read(p[0], buf, sizeof buf);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			sb_putn(&sb, buf, (size_t)r);
		}
		close(p[0]);
		status = job_wait(j);
	}
	sh_cmdsub_status = status;
	while (sb.len > 0 && sb.buf[sb.len - 1] == '\n')
		sb.len--;
	char *s = sb_str(&sb);
	*lenp = sb.len;
	return s;
}

/* ---- builtins that dispatch commands ---- */

int describe_command(const char *name, int mode, int fcflags)
{
	struct alias *al = alias_lookup(name);
	if (al) {
		if (mode == 'v')
			out_printf("alias %s='%s'\n", name, al->value);
		else
			out_printf("%s is an alias for %s\n", name, al->value);
		return 0;
	}
	if (is_reserved_word(name)) {
		if (mode == 'v')
			out_printf("%s\n", name);
		else
			out_printf("%s is a shell keyword\n", name);
		return 0;
	}
	struct cmdentry ce;
	find_command(name, &ce, fcflags & FC_DEFPATH);
	switch (ce.kind) {
	case CMD_BUILTIN:
		if (mode == 'v')
			out_printf("%s\n", name);
		else
			out_printf("%s is a %sshell builtin\n", name, (ce.bi->flags & BI_SPECIAL) ? "special " : "");
		return 0;
	case CMD_FUNCTION:
		if (mode == 'v')
			out_printf("%s\n", name);
		else
			out_printf("%s is a function\n", name);
		return 0;
	case CMD_EXTERNAL: {
		struct stat st;
		if (strchr(name, '/') && (stat(ce.path, &st) != 0 || access(ce.path, X_OK) != 0))
			break;
		if (mode == 'v')
			out_printf("%s\n", ce.path);
		else
			out_printf("%s is %s\n", name, ce.path);
		return 0;
	}
	default:
		break;
	}
	if (mode != 'v')
		sh_warnf("%s: not found", name);
	return 1;
}

/* command removes the special-builtin property: their errors do not end the shell. */
static int command_nofatal(int argc, char **argv, int fcflags)
{
	volatile int status = 0;
	struct sh_jmp j;
	sh_push(&j);
	if (setjmp(j.jb) == 0) {
		status = exec_argv(argc, argv, fcflags, false);
		sh_pop(&j);
	} else {
		if (j.kind != SH_ERROR)
			sh_unwind(j.kind, j.status);
		status = j.status;
	}
	return status;
}

int c_command(int argc, char **argv)
{
	int i = 1;
	int mode = 0;
	int fcflags = FC_NOFUNC;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		for (const char *p = argv[i] + 1; *p; p++) {
			if (*p == 'p')
				fcflags |= FC_DEFPATH;
			else if (*p == 'v' || *p == 'V')
				mode = *p;
			else {
				sh_warnf("command: -%c: unknown option", *p);
				return 2;
			}
		}
	}
	if ((fcflags & FC_DEFPATH) && restrict_on() && !restrict_refuse("command -p"))
		return 1;
	if (mode) {
		int ret = 0;
		for (; i < argc; i++)
			if (describe_command(argv[i], mode, fcflags) != 0)
				ret = 1;
		return ret;
	}
	if (i >= argc)
		return 0;
	return command_nofatal(argc - i, argv + i, fcflags);
}

int c_exec(int argc, char **argv)
{
	int i = 1;
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc)
		return 0;
	struct cmdentry ce;
	find_command(argv[i], &ce, FC_NOFUNC);
	if (ce.kind == CMD_EXTERNAL || ce.kind == CMD_NOTFOUND) {
		if (ce.kind == CMD_NOTFOUND) {
			sh_warnf("exec: %s: not found", argv[i]);
			sh_unwind(SH_EXIT, 127);
		}
		/* The restricted shell cannot be replaced by a program (as bash -r; mksh -r allows it). */
		if (restrict_on())
			sh_errorf(1, "exec: %s: restricted", argv[i]);
		return run_program(ce.path, argv + i, RUN_REPLACE);
	}
	/* exec of a builtin or function: run it, then exit with its status. */
	int st = exec_argv(argc - i, argv + i, FC_NOFUNC, true);
	sh_unwind(SH_EXIT, st);
}

int c_type(int argc, char **argv)
{
	int ret = 0;
	int i = 1;
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	for (; i < argc; i++)
		if (describe_command(argv[i], 'V', 0) != 0)
			ret = 1;
	return ret;
}

int c_hash(int argc, char **argv)
{
	int i = 1;
	if (i < argc && strcmp(argv[i], "-r") == 0) {
		hash_clear();
		return 0;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc) {
		hash_print();
		return 0;
	}
	int ret = 0;
	for (; i < argc; i++) {
		if (strchr(argv[i], '/') || builtin_lookup(argv[i]) || func_lookup(argv[i]))
			continue;
		if (hash_add(argv[i]) < 0) {
			sh_warnf("hash: %s: not found", argv[i]);
			ret = 1;
		}
	}
	return ret;
}

/* ---- function calls ---- */

#define MAX_FUNC_DEPTH 1000

/* What a ksh `function` saves on entry and restores on return. */
struct kshfn_state {
	char *arg0;
	char *optind;          /* the caller's OPTIND (heap) or NULL */
	bool opts[OPT_COUNT];
	char *exit_trap;
};

static void kshfn_enter(struct kshfn_state *ks, char *name)
{
	ks->arg0 = sh_arg0;
	sh_arg0 = name;
	const char *oi = var_get("OPTIND");
	ks->optind = oi ? xstrdup(oi) : NULL;
	var_set("OPTIND", "1", V_NOERR);
	memcpy(ks->opts, opt, sizeof ks->opts);
	ks->exit_trap = trap_enter_function();
}

static void kshfn_leave(struct kshfn_state *ks)
{
	trap_leave_function(ks->exit_trap);
	for (int i = 0; i < OPT_COUNT; i++)
		if (opt[i] != ks->opts[i] && i != OPT_INTERACTIVE && i != OPT_STDIN && i != OPT_MONITOR)
			opt_set(i, ks->opts[i]);
	if (ks->optind) {
		var_set("OPTIND", ks->optind, V_NOERR);
		free(ks->optind);
	}
	sh_arg0 = ks->arg0;
}

int call_function(struct func *f, int argc, char **argv, int flags)
{
	if (sh_funcdepth >= MAX_FUNC_DEPTH)
		sh_errorf(2, "%s: function nesting too deep", argv[0]);
	/* $1... point at the caller's argument vector: no copy (shift just moves the pointer). */
	struct posparams saved = sh_pos;
	sh_pos.n = argc - 1;
	sh_pos.v = argv + 1;
	sh_pos.owned = false;
	var_push_scope();
	f->refs++;
	/* A ksh `function` has its own $0, OPTIND, options and EXIT trap (name() shares the caller's). */
	struct kshfn_state ks;
	if (f->ksh)
		kshfn_enter(&ks, f->name);
	int saved_loop = sh_loopdepth;
	sh_loopdepth = 0;
	sh_funcdepth++;
	volatile int status = 0, kind = 0, st = 0;
	struct sh_jmp j;
	sh_push(&j);
	if (setjmp(j.jb) == 0) {
		status = eval_tree(f->body, flags & ~EV_EXIT);
		sh_pop(&j);
	} else if (j.kind == SH_RETURN) {
		status = j.status;
	} else {
		kind = j.kind;
		st = j.status;
	}
	sh_funcdepth--;
	sh_loopdepth = saved_loop;
	if (f->ksh)
		kshfn_leave(&ks);
	var_pop_scope();
	pos_free(&sh_pos);
	sh_pos = saved;
	func_release(f);
	if (kind)
		sh_unwind(kind, st);
	return status;
}
