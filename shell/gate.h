/* SPDX-License-Identifier: ISC */
/* The policy gate: the one choke point in command dispatch where a policy decision is asked for. */
#ifndef PB_SH_GATE_H
#define PB_SH_GATE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * What is about to happen (DESIGN §3.1 request kinds):
 *   GATE_COMMAND   a program is executed: name is the full path after PATH
 *                  search, argv the argument vector incl. argv[0]
 *   GATE_BUILTIN   a builtin runs: name is the builtin, argv its arguments
 *   GATE_REDIRECT  a file is opened for a redirection: name is the path,
 *                  argv is {"shell redirect read"|"shell redirect write", path, NULL}
 */
enum gate_kind {
	GATE_COMMAND,
	GATE_BUILTIN,
	GATE_REDIRECT,
};

/* Result of gate_check. */
enum gate_verdict {
	GATE_ALLOW = 0,
	GATE_DENY = 1,
};

/*
 * gate_check: ask whether the action may go ahead. It is called from exactly
 * three places in exec.c, after every expansion, alias and function lookup
 * and PATH search, immediately before the builtin runs, the file is opened
 * or the program is executed; it is never called from a builtin itself.
 * On GATE_DENY it has already printed the reason and the caller skips the
 * action with exit status 126 (command) or 1 (builtin, redirection).
 * Strings are borrowed for the call. With no policy configured (an
 * ungoverned shell) every action is allowed.
 */
enum gate_verdict gate_check(enum gate_kind kind, const char *name, char *const argv[]);

/* The policy client registers its decision function here (NULL: allow everything). */
typedef enum gate_verdict (*gate_fn)(enum gate_kind kind, const char *name, char *const argv[]);
void gate_set_policy(gate_fn fn);

/*
 * gate_enabled: is a decision function installed (a governed session)? The
 * exec path then opens the program first so that the file checked is the
 * file executed; with no policy it keeps its plain execve.
 */
extern gate_fn gate_policy;
static inline bool gate_enabled(void)
{
	return gate_policy != NULL;
}

#endif
