/* SPDX-License-Identifier: ISC */
/* The shell's one non-local exit: errors, exit, return, break/continue and interrupts unwind through here. */
#ifndef PBSH_ERROR_H
#define PBSH_ERROR_H

#include <setjmp.h>
#include <stdarg.h>

/*
 * Unwinding
 * ---------
 * Code that must regain control (the read-eval loop, a function call catching
 * SH_RETURN, a loop catching SH_BREAK/SH_CONTINUE, eval/`.`, a subshell, a parser
 * that must pop its input sources) pushes a handler:
 *
 *	struct sh_jmp j;
 *	sh_push(&j);
 *	if (setjmp(j.jb) == 0) {
 *		... work that may call sh_unwind() ...
 *		sh_pop(&j);
 *	} else {
 *		// sh_unwind already made j.prev the current handler again.
 *		// j.kind / j.status say why (also in sh_unwind_kind / sh_unwind_status).
 *		if (j.kind != what_i_handle)
 *			sh_unwind(j.kind, j.status);   // pass it on outwards
 *	}
 *
 * Locals changed between setjmp and the unwind that are read afterwards must be
 * `volatile`. A handler must be popped (or unwound through) before its function
 * returns.
 *
 * If no handler is installed, sh_unwind() calls exit(status) (through
 * sh_exit_hook when the back end set it, so EXIT traps and flushing happen).
 */
enum sh_unwind_kind {
	SH_ERROR = 1,  /* an error already reported; status is the exit status (2 for syntax) */
	SH_EXIT,       /* `exit n` or end of the shell */
	SH_RETURN,     /* `return n` from a function or a dot script */
	SH_BREAK,      /* `break n`: count in sh_loop_count */
	SH_CONTINUE,   /* `continue n`: count in sh_loop_count */
	SH_INTERRUPT,  /* SIGINT noticed at a safe point */
};

struct sh_jmp {
	jmp_buf jb;
	struct sh_jmp *prev;
	int kind;   /* set by sh_unwind before the longjmp */
	int status; /* ditto */
};

/* The innermost handler, NULL when none. */
extern struct sh_jmp *sh_handler;

/* Kind and status of the last unwind (the same values as the handler's fields). */
extern int sh_unwind_kind;
extern int sh_unwind_status;

/* Levels still to break/continue (`break 2`): the back end sets it before unwinding. */
extern int sh_loop_count;

/* sh_push: make j the innermost handler (j->prev = old). Call setjmp(j->jb) next. */
void sh_push(struct sh_jmp *j);

/* sh_pop: remove j, which must be the innermost handler, on the normal path. */
void sh_pop(struct sh_jmp *j);

/* sh_unwind: jump to the innermost handler with kind and status (popping it). */
_Noreturn void sh_unwind(int kind, int status);

/* Called instead of exit() when there is no handler; must not return. */
extern void (*sh_exit_hook)(int status);

/*
 * Messages
 * --------
 * The shell's name for messages ("pbsh", "pbksh", or argv[0]'s basename); the back
 * end sets it at start-up. Default "pbsh".
 */
extern const char *sh_name;

/*
 * The line to report for run-time errors: the back end sets it to the line of the
 * command being executed (also $LINENO). When 0, the input's current line is used.
 */
extern int sh_errline;

/*
 * Message prefix rules (like dash/mksh, in bash's shape):
 *   "NAME: FILE: line N: " when the current input source has a name (script file,
 *                          the -c string's $0, a dot script),
 *   "NAME: line N: "        for unnamed sources (interactive input),
 *   "NAME: "                when there is no input source at all.
 */

/*
 * sh_syntax_error: print "PREFIX syntax error: MESSAGE" to stderr, at `line` (0 =
 * the input's current line), and unwind with SH_ERROR, status 2. The interactive
 * read-eval loop catches it, calls input_flush() and goes on; a script shell exits.
 */
_Noreturn void sh_syntax_error(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* sh_errorf: print "PREFIX MESSAGE" and unwind with SH_ERROR and the given status. */
_Noreturn void sh_errorf(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* sh_warnf: print "PREFIX MESSAGE" and return. */
void sh_warnf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* sh_vmessage: the printer behind the three above; no unwind. */
void sh_vmessage(int line, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#endif
