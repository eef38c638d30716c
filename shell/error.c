/* SPDX-License-Identifier: ISC */
/* Unwind handlers (setjmp/longjmp frames) and the shell's error and syntax-error messages. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "input.h"

struct sh_jmp *sh_handler;
int sh_unwind_kind;
int sh_unwind_status;
int sh_loop_count;
void (*sh_exit_hook)(int status);
const char *sh_name = "pbsh";
int sh_errline;

void sh_push(struct sh_jmp *j)
{
	j->prev = sh_handler;
	j->kind = 0;
	j->status = 0;
	sh_handler = j;
}

void sh_pop(struct sh_jmp *j)
{
	/* Popping out of order would leave a dangling frame: find the bug early. */
	if (sh_handler != j)
		abort();
	sh_handler = j->prev;
}

_Noreturn void sh_unwind(int kind, int status)
{
	sh_unwind_kind = kind;
	sh_unwind_status = status;
	struct sh_jmp *j = sh_handler;
	if (j == NULL) {
		if (sh_exit_hook != NULL)
			sh_exit_hook(status);
		exit(status);
	}
	sh_handler = j->prev;
	j->kind = kind;
	j->status = status;
	longjmp(j->jb, 1);
}

static void prefix(FILE *f, int line)
{
	const char *name = input_name();
	if (line <= 0)
		line = input_lineno();
	if (input_depth() == 0)
		fprintf(f, "%s: ", sh_name);
	else if (name != NULL)
		fprintf(f, "%s: %s: line %d: ", sh_name, name, line);
	else
		fprintf(f, "%s: line %d: ", sh_name, line);
}

void sh_vmessage(int line, const char *fmt, va_list ap)
{
	fflush(stdout);
	prefix(stderr, line);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
}

_Noreturn void sh_syntax_error(int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fflush(stdout);
	prefix(stderr, line);
	fputs("syntax error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
	va_end(ap);
	sh_unwind(SH_ERROR, 2);
}

_Noreturn void sh_errorf(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sh_vmessage(sh_errline, fmt, ap);
	va_end(ap);
	sh_unwind(SH_ERROR, status);
}

void sh_warnf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sh_vmessage(sh_errline, fmt, ap);
	va_end(ap);
}
