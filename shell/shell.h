/* SPDX-License-Identifier: ISC */
/* The interpreter's global state and the small services every back-end file uses: messages, output buffer, fds. */
#ifndef PB_SH_SHELL_H
#define PB_SH_SHELL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "arena.h"
#include "error.h"

/* $?: the exit status of the last command. */
extern int sh_exitstatus;
/* $$: the pid of the main shell (subshells keep it). */
extern pid_t sh_rootpid;
/* Nesting of forked subshells: 0 in the main shell. */
extern int sh_subshell;
/*
 * sh_edit_hook: set by pbksh's main before sh_main: called when an interactive shell
 * is about to read its terminal; returns true if it pushed its own input source (the
 * line editor), false to read fd 0 as pbsh does.
 */
extern bool (*sh_edit_hook)(void);
/* fmt_ll: decimal text of v into buf (at least 21 bytes); returns the length. Faster than snprintf in hot paths. */
int fmt_ll(char *buf, long long v);

/* sh_forked_child: bookkeeping in a new child process (subshell level, output buffer). */
void sh_forked_child(void);

/* sh_move_fd_high: move fd to a descriptor >= 10 with close-on-exec; returns the new fd (closes the old). */
int sh_move_fd_high(int fd);

/* same_file: do two paths name the same file? */
bool same_file(const char *a, const char *b);

/*
 * Builtin output: buffered, written to fd 1 by out_flush, or collected in
 * memory while a command substitution runs a builtin without forking.
 */
struct outbuf {
	char *buf;
	size_t len, cap;
	int fd;       /* -1: memory only */
	bool error;   /* a write failed (EPIPE, EBADF...) */
	int err;      /* its errno */
};
extern struct outbuf *sh_out;
void out_write(const char *s, size_t n);
void out_str(const char *s);
void out_char(int c);
void out_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* out_flush: write what is buffered; returns 0, or -1 if a write failed since the last flush. */
int out_flush(void);

/*
 * sh_main: the whole shell: options, input (script, -c string or stdin),
 * the read-eval loop; never returns (exits with the shell's status).
 */
_Noreturn void sh_main(int argc, char **argv, char **envp);

/* Status of the last command substitution in the current command (-1: none), for `x=$(cmd)`. */
extern int sh_cmdsub_status;

#endif
