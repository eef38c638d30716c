/* SPDX-License-Identifier: ISC */
/* Evaluation: walks the tree (lists, pipelines, compound commands), runs read-eval loops, applies errexit and traps. */
#include "eval.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <regex.h>
#include <string.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>

#include "arith.h"
#include "builtin.h"
#include "c_test.h"
#include "exec.h"
#include "expand.h"
#include "input.h"
#include "jobs.h"
#include "match.h"
#include "options.h"
#include "parse.h"
#include "redir.h"
#include "session.h"
#include "shell.h"
#include "trap.h"
#include "tree.h"
#include "var.h"

/* Nesting of eval / dot / trap text, bounded so input cannot exhaust the C stack. */
#define MAX_EVAL_DEPTH 500
static int eval_depth;

/* Text of a command for `jobs` (only kept when job control is on). */
static char *job_text(union node *n, bool always)
{
	if (!always && !jobs_control())
		return NULL;
	char *t = tree_text(n, TREE_ONELINE);
	char *s = ststrdup(t);
	free(t);
	return s;
}

/* Run n in a forked child that exits with its status (the child never returns). */
static _Noreturn void run_in_child(union node *n, int flags)
{
	int st = eval_tree(n, EV_EXIT | (flags & EV_TESTED));
	sh_unwind(SH_EXIT, st);
}

static int eval_pipe(struct n_pipe *p, int flags)
{
	struct job *j = job_new(job_text((union node *)p, false));
	int prev = -1;
	for (union node *c = p->cmds; c; c = c->head.next) {
		int pfd[2] = {-1, -1};
		if (c->head.next && pipe2(pfd, O_CLOEXEC) < 0) {
			int e = errno;
			if (prev >= 0)
				close(prev);
			job_wait(j);
			sh_errorf(2, "cannot create pipe: %s", strerror(e));
		}
		out_flush();
		hash_prefetch(c);
		pid_t pid = job_fork(j, false);
		if (pid == 0) {
			if (prev >= 0) {
				dup2(prev, 0);
				close(prev);
			}
			if (pfd[1] >= 0) {
				close(pfd[0]);
				dup2(pfd[1], 1);
				close(pfd[1]);
			}
			run_in_child(c, flags);
		}
		if (prev >= 0)
			close(prev);
		if (pfd[1] >= 0)
			close(pfd[1]);
		prev = pfd[0];
	}
	int status = job_wait(j);
	if (p->negate)
		status = !status;
	return status;
}

static int eval_subshell(union node *body, int flags)
{
	if ((flags & EV_EXIT) && !trap_any()) {
		/* The shell ends after this anyway: no need for another process. */
		return eval_tree(body, flags);
	}
	out_flush();
	struct job *j = job_new(NULL);
	if (job_fork(j, false) == 0)
		run_in_child(body, flags);
	return job_wait(j);
}

static int eval_async(union node *body)
{
	out_flush();
	hash_prefetch(body);
	struct job *j = job_new(job_text(body, true));
	if (job_fork(j, true) == 0) {
		if (opt[OPT_BGNICE])
			(void)!nice(4); /* ksh bgnice: background jobs at a lower priority */
		if (!opt[OPT_MONITOR] && !jobs_control()) {
			/* Without job control, a background job's stdin is /dev/null (POSIX). */
			int fd = open("/dev/null", O_RDONLY);
			if (fd > 0) {
				dup2(fd, 0);
				close(fd);
			}
		}
		run_in_child(body, 0);
	}
	job_background(j);
	return 0;
}

/*
 * A coprocess (cmd |&): a background job whose stdin and stdout are pipes
 * to the shell, which keeps its ends (close-on-exec, above 9) for print -p,
 * read -p, >&p and <&p. A new coprocess replaces the old one's descriptors.
 */
static int eval_coproc(union node *body)
{
	int to[2], from[2];
	if (pipe(to) < 0)
		sh_errorf(2, "|&: %s", strerror(errno));
	if (pipe(from) < 0) {
		close(to[0]);
		close(to[1]);
		sh_errorf(2, "|&: %s", strerror(errno));
	}
	if (coproc_wfd >= 0)
		close(coproc_wfd);
	if (coproc_rfd >= 0)
		close(coproc_rfd);
	coproc_wfd = sh_move_fd_high(to[1]);
	coproc_rfd = sh_move_fd_high(from[0]);
	out_flush();
	hash_prefetch(body);
	struct job *j = job_new(job_text(body, true));
	if (job_fork(j, true) == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		close(to[0]);
		close(from[1]);
		close(coproc_wfd);
		close(coproc_rfd);
		coproc_wfd = coproc_rfd = -1;
		run_in_child(body, 0);
	}
	close(to[0]);
	close(from[1]);
	job_background(j);
	return 0;
}

/* The select menu on stderr: "N) word" in columns across COLUMNS (default 80), filled down first, as mksh. */
static void select_menu(struct arglist *words)
{
	int n = words->n;
	int nw = 1;
	for (int k = n; k >= 10; k /= 10)
		nw++;
	size_t maxw = 0;
	for (int i = 0; i < n; i++)
		if (strlen(words->v[i]) > maxw)
			maxw = strlen(words->v[i]);
	long width = (long)(nw + 2 + maxw);
	const char *cv = var_get("COLUMNS");
	long xc = cv ? strtol(cv, NULL, 10) : 0;
	if (xc < 12)
		xc = 80;
	int cols = (int)((xc + 1) / (width + 2)), rows = n;
	if (cols < 2) {
		cols = 1;
	} else {
		rows = (n + cols - 1) / cols;
		if (cols > rows) {
			cols = rows;
			rows = (n + cols - 1) / cols;
		}
		long sp = (xc - width * cols) / cols;
		width += sp < 2 ? 2 : sp;
	}
	struct strbuf sb;
	sb_init(&sb);
	for (int r = 0; r < rows; r++) {
		for (int c = 0; c < cols; c++) {
			int i = c * rows + r;
			if (i >= n)
				break;
			size_t start = sb.len;
			sb_printf(&sb, "%*d) %s", nw, i + 1, words->v[i]);
			if (c + 1 < cols && i + rows < n)
				while (sb.len - start < (size_t)width)
					sb_putc(&sb, ' ');
		}
		sb_putc(&sb, '\n');
	}
	out_flush();
	(void)!write(2, sb.buf, sb.len);
}

/*
 * One round of select: the menu when asked, the PS3 prompt, a line from
 * stdin into REPLY and the chosen word (or "") into var. An empty line shows
 * the menu again. Returns false at end of input.
 */
static bool select_next(const char *var, struct arglist *words, bool menu)
{
	for (;;) {
		if (menu)
			select_menu(words);
		const char *ps3 = prompt_expand("PS3", "#? ");
		(void)!write(2, ps3, strlen(ps3));
		struct strbuf line;
		sb_init(&line);
		char c;
		ssize_t r;
		if (session_nheld)
			session_flush();
		/* A byte at a time: the rest of stdin belongs to the commands of the body. */
		while ((r = read(0, &c, 1)) == 1 && c != '\n')
			sb_putc(&line, c);
		if (r < 0 && errno == EINTR && !trap_pending)
			continue;
		if (r <= 0 && line.len == 0)
			return false;
		const char *reply = sb_str(&line);
		var_set("REPLY", reply, 0);
		if (reply[0] == '\0') {
			menu = true;
			continue;
		}
		char *end;
		long k = strtol(reply, &end, 10);
		while (*end == ' ' || *end == '\t')
			end++;
		bool ok = end != reply && *end == '\0' && k >= 1 && k <= words->n;
		var_set(var, ok ? words->v[k - 1] : "", 0);
		return true;
	}
}

/*
 * Loops: one handler catches break/continue for the whole loop; after a
 * caught `continue` the loop resumes where it was (the for-loop index has
 * already moved on). The arena is reset each iteration.
 */
static int eval_loop(union node *n, int flags)
{
	struct arglist words = {0};
	bool is_for = n->kind == NFOR;
	if (is_for) {
		if (n->fors.has_in) {
			expand_args(n->fors.words, &words);
		} else {
			for (int i = 0; i < sh_pos.n; i++)
				arglist_add(&words, ststrdup(sh_pos.v[i]));
		}
	}
	struct arena_mark m;
	arena_mark(&m);
	volatile int status = 0;
	volatile int idx = 0;
	volatile bool menu = true;
	bool select = is_for && n->fors.select;
	if (select && words.n == 0)
		return 0;
	struct sh_jmp j;
	sh_loopdepth++;
	int body_flags = flags & ~EV_EXIT;
	for (;;) {
		sh_push(&j);
		if (setjmp(j.jb) == 0) {
			for (;;) {
				arena_reset(&m);
				if (session_nheld)
					session_tick(); /* a governed shell holding FINISH events: not for long */
				if (select) {
					bool more = select_next(n->fors.var, &words, menu);
					menu = false;
					if (!more) {
						status = 1;
						break;
					}
				} else if (is_for) {
					if (idx >= words.n)
						break;
					var_set(n->fors.var, words.v[idx++], 0);
				} else {
					int c = eval_tree(n->loop.cond, body_flags | EV_TESTED);
					if (n->loop.until ? c == 0 : c != 0)
						break;
				}
				status = eval_tree(is_for ? n->fors.body : n->loop.body, body_flags);
			}
			sh_pop(&j);
			break;
		}
		arena_reset(&m);
		if (j.kind == SH_BREAK || j.kind == SH_CONTINUE) {
			if (--sh_loop_count > 0) {
				sh_loopdepth--;
				sh_unwind(j.kind, j.status);
			}
			status = 0;
			if (j.kind == SH_BREAK)
				break;
			continue;
		}
		sh_loopdepth--;
		sh_unwind(j.kind, j.status);
	}
	sh_loopdepth--;
	return status;
}

static int eval_case(struct n_cases *c, int flags)
{
	const char *w = expand_str(c->word);
	for (union node *it = c->items; it; it = it->head.next) {
		for (union node *p = it->caseitem.patterns; p; p = p->head.next) {
			const char *pat = expand_pattern(p);
			if (!pb_match(pat, w, PB_MATCH_EXTGLOB))
				continue;
			int status = 0;
			for (;;) {
				status = eval_tree(it->caseitem.body, flags);
				if (!it->caseitem.fallthrough || it->head.next == NULL)
					break;
				it = it->head.next;
			}
			return status;
		}
	}
	return 0;
}

static int eval_redircmd(struct n_redircmd *r, int flags)
{
	struct redirsave *save = NULL;
	if (redir_apply(r->redirs, &save) < 0) {
		redir_restore(save);
		return 2;
	}
	volatile int status = 0;
	struct sh_jmp j;
	sh_push(&j);
	if (setjmp(j.jb) == 0) {
		status = eval_tree(r->body, flags & ~EV_EXIT);
		sh_pop(&j);
	} else {
		/* break/return/errors leaving a redirected loop or group: put the fds back first. */
		redir_restore(save);
		sh_unwind(j.kind, j.status);
	}
	redir_restore(save);
	return status;
}

static double tv_seconds(clock_t t)
{
	static long hz;
	if (hz == 0)
		hz = sysconf(_SC_CLK_TCK);
	return (double)t / (double)hz;
}

static int eval_time(struct n_time *t, int flags)
{
	struct timespec a, b;
	struct tms ta, tb;
	clock_gettime(CLOCK_MONOTONIC, &a);
	times(&ta);
	int status = t->body ? eval_tree(t->body, flags & ~EV_EXIT) : 0;
	clock_gettime(CLOCK_MONOTONIC, &b);
	times(&tb);
	double real = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	double user = tv_seconds(tb.tms_utime - ta.tms_utime + tb.tms_cutime - ta.tms_cutime);
	double sys = tv_seconds(tb.tms_stime - ta.tms_stime + tb.tms_cstime - ta.tms_cstime);
	if (t->posix)
		fprintf(stderr, "real %.2f\nuser %.2f\nsys %.2f\n", real, user, sys);
	else
		fprintf(stderr, "\nreal\t%dm%.2fs\nuser\t%dm%.2fs\nsys\t%dm%.2fs\n",
			(int)(real / 60), real - 60 * (int)(real / 60), (int)(user / 60),
			user - 60 * (int)(user / 60), (int)(sys / 60), sys - 60 * (int)(sys / 60));
	return status;
}

/* [[ s =~ re ]]: POSIX extended regular expression search (ksh93); a bad expression is an error (status 2). */
static bool regex_match(const char *s, const char *re, bool *err)
{
	regex_t rx;
	int rc = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		char msg[128];
		regerror(rc, &rx, msg, sizeof msg);
		sh_warnf("[[: %s: %s", re, msg);
		*err = true;
		return false;
	}
	bool m = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	return m;
}

/* A [[ ]] integer operand: a decimal number (leading zeros allowed), else an arithmetic expression. */
static long long dbr_number(const char *s)
{
	const char *p = s + (*s == '-' || *s == '+');
	if (*p && strspn(p, "0123456789") == strlen(p) && strlen(p) < 19)
		return strtoll(s, NULL, 10);
	return arith_eval(s);
}

static bool eval_dbracket(union node *e, bool *err)
{
	switch (e->kind) {
	case NTNOT:
		return !eval_dbracket(e->tnot.arg, err);
	case NTANDOR: {
		bool l = eval_dbracket(e->tandor.left, err);
		if (e->tandor.op == ANDOR_AND ? !l : l)
			return l;
		return eval_dbracket(e->tandor.right, err);
	}
	case NTUNARY:
		return test_unary("[[", e->tunary.op, expand_str(e->tunary.arg), err);
	case NTBINARY: {
		const char *op = e->tbinary.op;
		const char *l = expand_str(e->tbinary.left);
		if (strcmp(op, "=~") == 0)
			return regex_match(l, expand_regex(e->tbinary.right), err);
		if (strcmp(op, "=") == 0 || strcmp(op, "==") == 0 || strcmp(op, "!=") == 0) {
			bool m = pb_match(expand_pattern(e->tbinary.right), l, PB_MATCH_EXTGLOB);
			return op[0] == '!' ? !m : m;
		}
		const char *r = expand_str(e->tbinary.right);
		static const char int_ops[] = "-eq-ne-lt-le-gt-ge";
		if (op[0] == '-' && strlen(op) == 3 && strstr(int_ops, op) && (strstr(int_ops, op) - int_ops) % 3 == 0) {
			/* ksh: the operands of -eq -ne -lt -le -gt -ge are arithmetic expressions (decimal constants stay decimal). */
			long long a = dbr_number(l), b = dbr_number(r);
			switch (op[1] + op[2]) {
			case 'e' + 'q': return a == b;
			case 'n' + 'e': return a != b;
			case 'l' + 't': return a < b;
			case 'l' + 'e': return a <= b;
			case 'g' + 't': return a > b;
			default: return a >= b;
			}
		}
		return test_binary("[[", l, op, r, err);
	}
	default:
		return false;
	}
}

int eval_tree(union node *n, int flags)
{
	int status = 0;
	if (n == NULL) {
		sh_exitstatus = 0;
		return 0;
	}
	bool check_e = false;
	switch (n->kind) {
	case NCMD:
		status = exec_simple(n, flags);
		check_e = true;
		break;
	case NLIST:
		for (union node *c = n->list.items; c; c = c->head.next) {
			status = eval_tree(c, c->head.next ? flags & ~EV_EXIT : flags);
			if (trap_pending)
				trap_run_pending();
		}
		break;
	case NPIPE:
		if (n->pipe.cmds && n->pipe.cmds->head.next == NULL) {
			/* `! cmd`: the status is tested, so errexit does not apply inside. */
			status = eval_tree(n->pipe.cmds, (flags & ~EV_EXIT) | (n->pipe.negate ? EV_TESTED : 0));
			if (n->pipe.negate)
				status = !status;
		} else {
			status = eval_pipe(&n->pipe, flags);
		}
		check_e = !n->pipe.negate;
		break;
	case NANDOR:
		status = eval_tree(n->andor.left, (flags & ~EV_EXIT) | EV_TESTED);
		if (n->andor.op == ANDOR_AND ? status == 0 : status != 0)
			status = eval_tree(n->andor.right, flags);
		break;
	case NASYNC:
		status = eval_async(n->async.body);
		break;
	case NCOPROC:
		status = eval_coproc(n->coproc.body);
		break;
	case NSUBSHELL:
		sh_lineno = n->head.line;
		status = eval_subshell(n->subshell.body, flags);
		check_e = true;
		break;
	case NBRACE:
		status = eval_tree(n->brace.body, flags);
		break;
	case NREDIRCMD:
		sh_lineno = sh_errline = n->head.line;
		status = eval_redircmd(&n->redircmd, flags);
		break;
	case NIF:
		if (eval_tree(n->ifs.cond, (flags & ~EV_EXIT) | EV_TESTED) == 0)
			status = eval_tree(n->ifs.thenp, flags);
		else if (n->ifs.elsep)
			status = eval_tree(n->ifs.elsep, flags);
		else
			status = 0;
		break;
	case NWHILE:
	case NFOR:
		sh_lineno = n->head.line;
		status = eval_loop(n, flags);
		break;
	case NCASE:
		sh_lineno = sh_errline = n->head.line;
		status = eval_case(&n->cases, flags);
		break;
	case NFUNC:
		func_define(n->func.name, n->func.body, n->func.ksh);
		status = 0;
		break;
	case NTIME:
		status = eval_time(&n->time, flags);
		break;
	case NDBRACKET: {
		sh_lineno = sh_errline = n->head.line;
		bool err = false;
		bool r = eval_dbracket(n->dbracket.expr, &err);
		status = err ? 2 : !r;
		check_e = true;
		break;
	}
	case NARITHCMD:
		sh_lineno = sh_errline = n->head.line;
		status = arith_eval(expand_str(n->arithcmd.expr)) ? 0 : 1;
		check_e = true;
		break;
	default:
		sh_errorf(2, "cannot run a %s node", node_name(n->kind));
	}
	sh_exitstatus = status;
	if (trap_pending)
		trap_run_pending();
	if (check_e && status != 0 && !(flags & EV_TESTED)) {
		/* ksh: the ERR trap runs where set -e would apply, before set -e exits. */
		trap_run_err(status);
		if (opt[OPT_ERREXIT])
			sh_unwind(SH_EXIT, status);
	}
	return status;
}

/* Is n a simple command naming a program (no builtin or function of that name)? */
static bool names_program(union node *n)
{
	if (n->kind != NCMD || n->cmd.args == NULL)
		return false;
	union node *p = n->cmd.args->word.parts;
	if (p == NULL || p->head.next || p->kind != NLIT)
		return false;
	return builtin_lookup(p->lit.text) == NULL && func_lookup(p->lit.text) == NULL;
}

int eval_input(int pflags, bool interactive, int evflags)
{
	volatile int status = 0;
	struct arena_mark m;
	arena_mark(&m);
	for (;;) {
		struct sh_jmp j;
		if (interactive) {
			sh_push(&j);
			if (setjmp(j.jb) != 0) {
				if (j.kind != SH_ERROR && j.kind != SH_INTERRUPT)
					sh_unwind(j.kind, j.status);
				input_flush();
				arena_reset(&m);
				sh_exitstatus = j.status ? j.status : 1;
				status = sh_exitstatus;
				continue;
			}
			jobs_notify();
		}
		union node *n = parse_command(pflags);
		if (n == NULL) {
			if (interactive)
				sh_pop(&j);
			break;
		}
		int f = evflags & ~EV_EXIT;
		if ((evflags & EV_EXIT) && !interactive && names_program(n)) {
			/*
			 * The shell exits after its last command: a program may replace it
			 * (sh -c 'prog'). Only a program is worth the look-ahead, and it
			 * cannot turn on set -v, which must see the next line as it is read.
			 */
			int c = input_getc();
			if (c == INPUT_EOF)
				f |= EV_EXIT;
			else
				input_ungetc(c);
		}
		if (interactive) {
			char *text = tree_text(n, 0);
			hist_add(text);
			free(text);
		}
		if (!opt[OPT_NOEXEC] || interactive)
			status = eval_tree(n, f);
		arena_reset(&m);
		if (interactive)
			sh_pop(&j);
	}
	return status;
}

int eval_string(const char *text, const char *name, int flags)
{
	if (eval_depth >= MAX_EVAL_DEPTH)
		sh_errorf(2, "eval: nesting too deep");
	int depth = input_depth();
	input_push_string(text, name, sh_lineno > 0 ? sh_lineno : 1);
	eval_depth++;
	volatile int status = 0;
	struct sh_jmp j;
	sh_push(&j);
	if (setjmp(j.jb) == 0) {
		struct arena_mark m;
		arena_mark(&m);
		union node *n;
		int saved_line = sh_lineno;
		while ((n = parse_command(0)) != NULL) {
			status = eval_tree(n, flags & ~EV_EXIT);
			arena_reset(&m);
		}
		sh_lineno = saved_line;
		sh_pop(&j);
	} else {
		eval_depth--;
		input_pop_to(depth);
		sh_unwind(j.kind, j.status);
	}
	eval_depth--;
	input_pop_to(depth);
	sh_exitstatus = status;
	return status;
}

void eval_string_trap(const char *cmd)
{
	eval_string(cmd, NULL, 0);
}
