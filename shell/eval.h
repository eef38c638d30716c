/* SPDX-License-Identifier: ISC */
/* Evaluation of syntax trees and of shell text (read-eval loops for scripts, eval, dot scripts, traps). */
#ifndef PB_SH_EVAL_H
#define PB_SH_EVAL_H

#include <stdbool.h>

#include "node.h"

struct func;

enum {
	EV_EXIT = 1,   /* the process ends after this command: the last program may replace it (no fork) */
	EV_TESTED = 2, /* the exit status is tested (if/while condition, && || left side, !): no errexit */
};

/* Non-zero while a command's status is being tested: `set -e` does not apply. */
extern int sh_tested;

/* eval_tree: run a tree; returns its exit status (also in sh_exitstatus). Errors unwind (error.h). */
int eval_tree(union node *n, int flags);

/*
 * eval_string: run text command by command (aliases defined early apply
 * later), as `eval` does; name is for messages (NULL: the caller's source).
 * Returns the status of the last command (0 if none).
 */
int eval_string(const char *text, const char *name, int flags);

/* eval_string_trap: run a trap action; an `exit` in it exits the shell, other unwinds are contained. */
void eval_string_trap(const char *cmd);

/*
 * eval_input: the read-eval loop over the current input source until EOF:
 * parse one command, run it, reset the arena. With interactive, errors
 * are reported and the loop goes on; otherwise they unwind to the caller.
 * evflags (EV_TESTED) apply to every command; EV_EXIT says the caller exits
 * when the input ends, so the last command may replace the shell. Returns the status of the last command.
 */
int eval_input(int parse_flags, bool interactive, int evflags);

/* call_function: run f with argv as $1..., catching `return`. */
int call_function(struct func *f, int argc, char **argv, int flags);

#endif
